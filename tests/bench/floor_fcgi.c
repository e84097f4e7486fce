/*
 * The architecture's floor for `make bench` (tests/bench/side_by_side.sh,
 * column FLOOR): a FastCGI responder on the gateway's own libraries that
 * does the least a gateway must do.  It reads the body whole, sends it
 * unchanged to the same path on the upstream ($FLOOR_UPSTREAM) with libcurl
 * over a kept-alive connection, and relays the answer back chunk by chunk,
 * flushing each one (so a stream's first byte leaves as soon as it came).
 * No parsing, no translation, no usage row, no auth.  Behind the same
 * lighttpd configuration as `copilot-api start`, the CPU and latency it
 * costs are what any gateway in this deployment costs before its own work.
 *
 * Threads: FLOOR_THREADS (default 16; start-floor.sh asks for 256), each with its own request and curl
 * handle, on the FastCGI socket that spawn-fcgi hands over as fd 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <fcgiapp.h>

struct floor_call {
	FCGX_Request *req;
	CURL *h;
	long status;
	char ctype[128];
	int started;
};

static const char *upstream;

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct floor_call *c = arg;
	size_t len = size * n, k = sizeof("content-type:") - 1;

	if (len > k && strncasecmp(p, "content-type:", k) == 0) {
		p += k;
		len -= k;
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n'))
			len--;
		if (len >= sizeof(c->ctype))
			len = sizeof(c->ctype) - 1;
		memcpy(c->ctype, p, len);
		c->ctype[len] = '\0';
	}
	return size * n;
}

static void
start(struct floor_call *c)
{
	if (c->started)
		return;
	c->started = 1;
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &c->status);
	FCGX_FPrintF(c->req->out, "Status: %ld\r\nContent-Type: %s\r\n\r\n",
	    c->status, c->ctype[0] ? c->ctype : "application/json");
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct floor_call *c = arg;

	start(c);
	if (FCGX_PutStr(p, (int)(size * n), c->req->out) < 0 ||
	    FCGX_FFlush(c->req->out) < 0)
		return 0;
	return size * n;
}

/* Reads CONTENT_LENGTH bytes of body into *buf (grown as needed). */
static long
read_body(FCGX_Request *req, char **buf, size_t *cap)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
	long want = cl != NULL ? atol(cl) : 0, got = 0;
	int r;
	char *grown;

	if (want < 0)
		return -1;
	if ((size_t)want + 1 > *cap) {
		if ((grown = realloc(*buf, (size_t)want + 1)) == NULL)
			return -1;
		*buf = grown;
		*cap = (size_t)want + 1;
	}
	while (got < want) {
		r = FCGX_GetStr(*buf + got, (int)(want - got), req->in);
		if (r <= 0)
			return -1;
		got += r;
	}
	return got;
}

static void *
serve(void *unused)
{
	struct curl_slist *hdrs = NULL;
	struct floor_call c;
	CURL *handle;
	FCGX_Request req;
	char *body = NULL, url[2048];
	size_t cap = 0;
	long len;
	const char *uri;

	(void)unused;
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Authorization: Bearer floor");
	if ((handle = curl_easy_init()) == NULL || hdrs == NULL ||
	    FCGX_InitRequest(&req, 0, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&req) >= 0) {
		memset(&c, 0, sizeof(c));
		c.req = &req;
		c.h = handle;
		uri = FCGX_GetParam("REQUEST_URI", req.envp);
		len = read_body(&req, &body, &cap);
		if (uri == NULL || len < 0) {
			FCGX_FPrintF(req.out, "Status: 400\r\n\r\n");
			FCGX_Finish_r(&req);
			continue;
		}
		snprintf(url, sizeof(url), "%s%s", upstream, uri);
		curl_easy_setopt(handle, CURLOPT_URL, url);
		curl_easy_setopt(handle, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body != NULL ? body : "");
		curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
		curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(handle, CURLOPT_HEADERDATA, &c);
		curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(handle, CURLOPT_WRITEDATA, &c);
		if (curl_easy_perform(handle) != CURLE_OK && !c.started)
			FCGX_FPrintF(req.out, "Status: 502\r\n\r\n");
		else
			start(&c);
		FCGX_Finish_r(&req);
	}
	free(body);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(handle);
	return NULL;
}

int
main(void)
{
	const char *t = getenv("FLOOR_THREADS");
	int n = t != NULL && atoi(t) > 0 ? atoi(t) : 16, i;
	pthread_t *tid;

	upstream = getenv("FLOOR_UPSTREAM");
	if (upstream == NULL || *upstream == '\0') {
		fprintf(stderr, "floor_fcgi: set FLOOR_UPSTREAM\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || FCGX_Init() != 0 ||
	    (tid = calloc((size_t)n, sizeof(*tid))) == NULL)
		return 1;
	for (i = 0; i < n; i++)
		if (pthread_create(&tid[i], NULL, serve, NULL) != 0)
			return 1;
	for (i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	return 0;
}
