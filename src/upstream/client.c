/*
 * The libcurl client: one easy + multi handle per worker, timeouts, the
 * stall guard, retries only before a byte was sent (contract in client.h).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "upstream/client.h"

struct up_client {
	CURL *easy;
	CURLM *multi;
	char errbuf[CURL_ERROR_SIZE];
};

/* Process-wide DNS cache and TLS sessions; libcurl calls back to lock. */
static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
static int global_ready;
/* COPILOT_API_PROXY_ENV=1 (--proxy-env): libcurl's proxy variables
 * (http_proxy, https_proxy, all_proxy, no_proxy) apply; otherwise every
 * transfer goes direct, as in the original without --proxy-env. */
static int proxy_from_env;

/* State of one up_transfer() call, seen by the libcurl callbacks. */
struct xfer {
	struct up_client *c;
	const struct up_request *req;
	const struct up_hooks *hooks;
	struct up_response *resp;
	int64_t start_ms;
	int64_t last_rx_ms;          /* last byte from the upstream */
	int64_t stall_ms;            /* 0: no stall guard */
	int64_t next_tick_ms;        /* 0: hooks want no tick */
	int headers_done;
	int take_body;               /* body goes to hooks->on_body */
	enum gw_err err;             /* why we aborted, GW_OK if we did not */
	CURLcode code;
	long request_size;           /* request bytes sent in the last attempt */
	long os_errno;
};

static void
lock_cb(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	(void)h;
	(void)access;
	(void)ud;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&share_locks[data]);
}

static void
unlock_cb(CURL *h, curl_lock_data data, void *ud)
{
	(void)h;
	(void)ud;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&share_locks[data]);
}

enum gw_err
up_global_init(void)
{
	int i;

	if (global_ready)
		return GW_OK;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return GW_EINTERNAL;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_locks[i], NULL);
	if ((share = curl_share_init()) == NULL ||
	    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, lock_cb) != CURLSHE_OK ||
	    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, unlock_cb) != CURLSHE_OK ||
	    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
	    curl_share_setopt(share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
		/* Without the share every thread still works, just colder. */
		log_warn("upstream: no shared DNS/TLS cache");
		if (share != NULL)
			curl_share_cleanup(share);
		share = NULL;
	}
	proxy_from_env = getenv("COPILOT_API_PROXY_ENV") != NULL &&
	    strcmp(getenv("COPILOT_API_PROXY_ENV"), "1") == 0;
	global_ready = 1;
	return GW_OK;
}

void
up_global_cleanup(void)
{
	int i;

	if (!global_ready)
		return;
	if (share != NULL)
		curl_share_cleanup(share);
	share = NULL;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&share_locks[i]);
	curl_global_cleanup();
	global_ready = 0;
}

enum gw_err
up_client_new(struct up_client **out)
{
	struct up_client *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return GW_ENOMEM;
	if ((c->easy = curl_easy_init()) == NULL ||
	    (c->multi = curl_multi_init()) == NULL) {
		up_client_free(c);
		return GW_ENOMEM;
	}
	/* A few upstream hosts (GitHub, its API, Copilot, providers). */
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 8L);
	*out = c;
	return GW_OK;
}

void
up_client_free(struct up_client *c)
{
	if (c == NULL)
		return;
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	free(c);
}

void
up_response_free(struct up_response *r)
{
	size_t i;

	if (r == NULL)
		return;
	buf_free(&r->body);
	free(r->content_type);
	free(r->retry_after);
	for (i = 0; i < r->npass_headers; i++)
		free(r->pass_headers[i]);
	free(r->pass_headers);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

const char *
up_error_message(const struct up_response *r)
{
	return r != NULL && r->error != NULL ? r->error : "";
}

/* Response headers of an earlier (1xx) response are forgotten. */
static void
drop_headers(struct up_response *r)
{
	size_t i;

	free(r->content_type);
	free(r->retry_after);
	r->content_type = r->retry_after = NULL;
	for (i = 0; i < r->npass_headers; i++)
		free(r->pass_headers[i]);
	free(r->pass_headers);
	r->pass_headers = NULL;
	r->npass_headers = 0;
}

static GW_MUST_CHECK enum gw_err
add_pass_header(struct up_response *r, const char *name, size_t nn,
    const char *value)
{
	struct buf b = BUF_INIT;
	char **v;

	v = realloc(r->pass_headers, (r->npass_headers + 1) * sizeof(*v));
	if (v == NULL)
		return GW_ENOMEM;
	r->pass_headers = v;
	if (buf_append(&b, name, nn) != GW_OK ||
	    buf_printf(&b, ": %s", value) != GW_OK) {
		buf_free(&b);
		return GW_ENOMEM;
	}
	r->pass_headers[r->npass_headers++] = buf_detach(&b);
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
keep_header(struct up_response *r, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);
	size_t nn;
	char *value;
	enum gw_err e = GW_OK;

	if (colon == NULL || colon == line)
		return GW_OK;
	nn = (size_t)(colon - line);
	if ((value = util_strndup_trim(colon + 1, n - nn - 1)) == NULL)
		return GW_ENOMEM;
	if (nn == 12 && strncasecmp(line, "content-type", nn) == 0) {
		free(r->content_type);
		r->content_type = value;
		return GW_OK;
	}
	if (nn == 11 && strncasecmp(line, "retry-after", nn) == 0) {
		e = add_pass_header(r, line, nn, value);
		free(r->retry_after);
		r->retry_after = value;
		return e;
	}
	if (nn > 2 && strncasecmp(line, "x-", 2) == 0)
		e = add_pass_header(r, line, nn, value);
	free(value);
	return e;
}

static void
headers_complete(struct xfer *x)
{
	struct up_response *r = x->resp;
	long code = 0;

	curl_easy_getinfo(x->c->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200)
		return;                 /* end of a 1xx interim response */
	x->headers_done = 1;
	r->status = code;
	r->ttfb_ms = util_mono_ms() - x->start_ms;
	if (x->hooks != NULL && x->hooks->on_headers != NULL)
		x->err = x->hooks->on_headers(x->hooks->ctx, r, &x->take_body);
	if (x->take_body && (x->hooks == NULL || x->hooks->on_body == NULL))
		x->take_body = 0;
}

static size_t
header_cb(char *p, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems, len = n;

	x->last_rx_ms = util_mono_ms();
	if (x->headers_done)
		return n;               /* trailers */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		drop_headers(x->resp);
		return n;
	}
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len == 0)
		headers_complete(x);
	else
		x->err = keep_header(x->resp, p, len);
	return x->err == GW_OK ? n : 0;
}

static size_t
write_cb(char *p, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems;

	x->last_rx_ms = util_mono_ms();
	if (x->take_body)
		x->err = x->hooks->on_body(x->hooks->ctx, p, n);
	else if (x->resp->body.len + n > UP_MAX_BODY)
		x->err = GW_ETOOBIG;
	else
		x->err = buf_append(&x->resp->body, p, n);
	return x->err == GW_OK ? n : 0;
}

/* Header names are tokens; values may not carry CR, LF or other controls
 * (a client-supplied value must not smuggle a second header). */
static int
header_ok(const char *h)
{
	const char *colon = strchr(h, ':');
	const char *s;

	if (colon == NULL || colon == h)
		return 0;
	for (s = h; s < colon; s++)
		if (*s <= ' ' || *s >= 0x7f)
			return 0;
	return !util_unsafe_header_value(h);
}

static GW_MUST_CHECK enum gw_err
build_headers(const struct up_request *req, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *t;
	size_t i;

	*out = NULL;
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		if (!header_ok(req->headers[i])) {
			curl_slist_free_all(l);
			return GW_EINVAL;
		}
		if ((t = curl_slist_append(l, req->headers[i])) == NULL)
			goto nomem;
		l = t;
	}
	/* libcurl would otherwise wait up to 1 s for a "100 Continue". */
	if ((t = curl_slist_append(l, "Expect:")) == NULL)
		goto nomem;
	*out = t;
	return GW_OK;
nomem:
	curl_slist_free_all(l);
	return GW_ENOMEM;
}

static int
method_ok(const char *m)
{
	if (*m == '\0')
		return 0;
	for (; *m != '\0'; m++)
		if (!(*m >= 'A' && *m <= 'Z'))
			return 0;
	return 1;
}

static void
set_method(CURL *h, const struct up_request *req)
{
	const char *m = req->method;

	if (req->body != NULL || (m != NULL && strcmp(m, "POST") == 0)) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
		    req->body != NULL ? req->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body != NULL ? req->body_len : 0));
		if (m != NULL && strcmp(m, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	} else if (m == NULL || strcmp(m, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	}
}

/* Options for one request.  The handle is reset first so nothing of the
 * previous request lingers; its connections live in the multi handle. */
static void
setup_easy(struct xfer *x, struct curl_slist *headers)
{
	CURL *h = x->c->easy;
	long ct = x->req->connect_timeout_s > 0 ? x->req->connect_timeout_s :
	    UP_CONNECT_TIMEOUT_S;
	int stream = x->hooks != NULL && x->hooks->stream;

	curl_easy_reset(h);
	if (share != NULL)
		curl_easy_setopt(h, CURLOPT_SHARE, share);
	curl_easy_setopt(h, CURLOPT_URL, x->req->url);
	if (!proxy_from_env)   /* "": no proxy, whatever the environment says */
		curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->c->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ct * 1000L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 60L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 30L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, stream ? "identity" : "");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	set_method(h, x->req);
}

static GW_MUST_CHECK enum gw_err
tick(struct xfer *x, int64_t now)
{
	const struct up_hooks *h = x->hooks;

	if (h == NULL || h->on_tick == NULL || x->next_tick_ms == 0 ||
	    now < x->next_tick_ms)
		return GW_OK;
	return h->on_tick(h->ctx, now, &x->next_tick_ms);
}

static int64_t
poll_wait(const struct xfer *x, int64_t now)
{
	int64_t w = 1000;

	if (x->stall_ms > 0 && x->last_rx_ms + x->stall_ms - now < w)
		w = x->last_rx_ms + x->stall_ms - now;
	if (x->next_tick_ms != 0 && x->next_tick_ms - now < w)
		w = x->next_tick_ms - now;
	return w < 1 ? 1 : w;
}

/* Drives one attempt to its end, or until we abort it (x->err). */
static GW_MUST_CHECK enum gw_err
run_attempt(struct xfer *x)
{
	struct up_client *c = x->c;
	CURLMsg *msg;
	int running, left, done = 0;
	int64_t now;

	x->code = CURLE_OK;
	x->last_rx_ms = util_mono_ms();
	if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK)
		return GW_EINTERNAL;
	for (;;) {
		if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
			x->err = GW_EINTERNAL;
			break;
		}
		while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->easy) {
				x->code = msg->data.result;
				done = 1;
			}
		if (done || x->err != GW_OK)
			break;
		now = util_mono_ms();
		if (x->stall_ms > 0 && now - x->last_rx_ms >= x->stall_ms) {
			x->err = GW_ETIMEOUT;
			break;
		}
		if ((x->err = tick(x, now)) != GW_OK)
			break;
		if (curl_multi_poll(c->multi, NULL, 0, (int)poll_wait(x, now),
		    NULL) != CURLM_OK) {
			x->err = GW_EINTERNAL;
			break;
		}
	}
	curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &x->request_size);
	curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &x->resp->num_connects);
	curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &x->os_errno);
	/* Removing an unfinished HTTP/1 transfer closes its connection, so
	 * an abandoned upstream stops generating (and billing). */
	curl_multi_remove_handle(c->multi, c->easy);
	return x->err;
}

/* Nothing of the request can have reached the upstream. */
static int
retryable(const struct xfer *x)
{
	if (x->err != GW_OK || x->headers_done || x->request_size > 0)
		return 0;
	switch (x->code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:   /* no total timeout: connect phase */
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return 1;
	default:
		return 0;
	}
}

static GW_MUST_CHECK enum gw_err
map_curl(const struct xfer *x)
{
	switch (x->code) {
	case CURLE_OK:
		return GW_OK;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return GW_EINVAL;
	case CURLE_OUT_OF_MEMORY:
		return GW_ENOMEM;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_PROXY:
		return GW_ECONNECT;
	default:
		return retryable(x) ? GW_ECONNECT : GW_EUPSTREAM;
	}
}

/* host:port of the URL, for messages. */
static void
url_hostport(const char *url, char *out, size_t n)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;

	snprintf(out, n, "%s", "upstream");
	if (u == NULL)
		return;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK)
		snprintf(out, n, "%s:%s", host, port);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

static void
transport_message(const struct xfer *x, enum gw_err e)
{
	struct up_response *r = x->resp;
	const char *detail = x->c->errbuf[0] != '\0' ? x->c->errbuf :
	    curl_easy_strerror(x->code);
	char hp[300], ebuf[128], tries[32] = "", **msg = &r->error;

	url_hostport(x->req->url, hp, sizeof(hp));
	if (r->attempts > 1)
		snprintf(tries, sizeof(tries), " (%d attempts)", r->attempts);
	if (e == GW_ECONNECT && (x->code == CURLE_COULDNT_RESOLVE_HOST ||
	    x->code == CURLE_COULDNT_RESOLVE_PROXY))
		buf_replacef(msg, "could not resolve %s: %s%s",
		    hp, detail, tries);
	else if (e == GW_ECONNECT && x->code == CURLE_COULDNT_CONNECT &&
	    x->os_errno != 0)
		buf_replacef(msg, "could not connect to %s: %s%s", hp,
		    strerror_r((int)x->os_errno, ebuf, sizeof(ebuf)), tries);
	else if (e == GW_ECONNECT && x->code == CURLE_OPERATION_TIMEDOUT)
		buf_replacef(msg, "could not connect to %s: no answer within "
		    "%ld s%s", hp, x->req->connect_timeout_s > 0 ?
		    x->req->connect_timeout_s : (long)UP_CONNECT_TIMEOUT_S,
		    tries);
	else if (e == GW_ECONNECT)
		buf_replacef(msg, "could not connect to %s: %s%s",
		    hp, detail, tries);
	else if (x->code == CURLE_GOT_NOTHING)
		buf_replacef(msg, "%s closed the connection without answering",
		    hp);
	else if (e == GW_EUPSTREAM && x->headers_done)
		buf_replacef(msg, "upstream connection closed before the "
		    "response completed: %s", detail);
	else
		buf_replacef(msg, "upstream request to %s failed: %s",
		    hp, detail);
}

static void
result_message(const struct xfer *x, enum gw_err e)
{
	struct up_response *r = x->resp;
	long stall = x->stall_ms / 1000;
	char **msg = &r->error;

	if (x->err == GW_OK && e != GW_OK)
		transport_message(x, e);
	else if (e == GW_ETIMEOUT)
		buf_replacef(msg, "upstream sent nothing for %ld s", stall);
	else if (e == GW_ETOOBIG && !x->take_body)
		buf_replacef(msg, "upstream response larger than %zu bytes",
		    UP_MAX_BODY);
	else if (e != GW_OK)
		buf_replacef(msg, "%s", gw_strerror(e));
	else if (r->status < 200 || r->status > 299)
		buf_replacef(msg, "upstream answered HTTP %ld", r->status);
}

static GW_MUST_CHECK enum gw_err
backoff(struct xfer *x, int64_t ms)
{
	int64_t now, end = util_mono_ms() + ms, next;
	enum gw_err e;

	while ((now = util_mono_ms()) < end) {
		if ((e = tick(x, now)) != GW_OK)
			return e;
		next = end;
		if (x->next_tick_ms != 0 && x->next_tick_ms < next)
			next = x->next_tick_ms;
		util_sleep_ms(next > now ? next - now : 1);
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
check_request(const struct up_request *req)
{
	if (req == NULL || req->url == NULL || req->url[0] == '\0')
		return GW_EINVAL;
	if (req->method != NULL && !method_ok(req->method))
		return GW_EINVAL;
	return GW_OK;
}

enum gw_err
up_transfer(struct up_client *c, const struct up_request *req,
    const struct up_hooks *hooks, struct up_response *resp)
{
	struct curl_slist *headers = NULL;
	struct xfer x;
	int retries;
	enum gw_err e;

	memset(resp, 0, sizeof(*resp));
	resp->ttfb_ms = -1;
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.req = req;
	x.hooks = hooks;
	x.resp = resp;
	x.start_ms = util_mono_ms();
	if ((e = check_request(req)) != GW_OK ||
	    (e = build_headers(req, &headers)) != GW_OK) {
		buf_replacef(&resp->error, "invalid upstream request: %s",
		    e == GW_EINVAL ? "bad method, URL or header" :
		    gw_strerror(e));
		goto out;
	}
	x.stall_ms = req->stall_timeout_s < 0 ? 0 : 1000 *
	    (int64_t)(req->stall_timeout_s > 0 ? req->stall_timeout_s :
	    UP_STALL_TIMEOUT_S);
	retries = req->connect_retries < 0 ? 0 : req->connect_retries > 0 ?
	    req->connect_retries : UP_CONNECT_RETRIES;
	if (hooks != NULL && hooks->on_tick != NULL &&
	    (e = hooks->on_tick(hooks->ctx, x.start_ms, &x.next_tick_ms)) !=
	    GW_OK)
		goto out;
	for (;;) {
		c->errbuf[0] = '\0';
		setup_easy(&x, headers);
		resp->attempts++;
		/* its x->err, or why the attempt could not start */
		x.err = run_attempt(&x);
		if (!retryable(&x) || resp->attempts > retries)
			break;
		log_info("upstream: attempt %d failed (%s), retrying",
		    resp->attempts, c->errbuf[0] ? c->errbuf :
		    curl_easy_strerror(x.code));
		if ((x.err = backoff(&x, resp->attempts == 1 ? 250 : 1000)) !=
		    GW_OK)
			break;
	}
	e = x.err != GW_OK ? x.err : map_curl(&x);
	result_message(&x, e);
out:
	/* The handle keeps pointers to these; do not leave them dangling. */
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	resp->total_ms = util_mono_ms() - x.start_ms;
	return e;
}

enum gw_err
up_perform(struct up_client *c, const struct up_request *req,
    struct up_response *resp)
{
	return up_transfer(c, req, NULL, resp);
}

enum gw_err
up_connect_raw(const char *url, long connect_timeout_s, void **easy,
    struct buf *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h;
	CURLcode rc;

	*easy = NULL;
	if ((h = curl_easy_init()) == NULL)
		return GW_ENOMEM;
	if (share != NULL)
		curl_easy_setopt(h, CURLOPT_SHARE, share);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (!proxy_from_env)
		curl_easy_setopt(h, CURLOPT_PROXY, "");
	/* Through a proxy the connection is a CONNECT tunnel, for ws:// too. */
	curl_easy_setopt(h, CURLOPT_HTTPPROXYTUNNEL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (connect_timeout_s > 0 ?
	    connect_timeout_s : UP_CONNECT_TIMEOUT_S) * 1000L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 60L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 30L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	rc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	if (rc != CURLE_OK) {
		buf_reset(err);
		/* best effort: the error code says it all the same */
		GW_IGNORE(buf_printf(err, "could not connect for %s: %s", url,
		    *errbuf != '\0' ? errbuf : curl_easy_strerror(rc)));
		curl_easy_cleanup(h);
		return GW_ECONNECT;
	}
	*easy = h;
	return GW_OK;
}
