/*
 * WebSocket client connections over libcurl CONNECT_ONLY, and their
 * process-wide pool (contract in ws.h).
 */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core/log.h"
#include "core/util.h"
#include "upstream/client.h"
#include "upstream/ws.h"
#include "upstream/wsframe.h"

struct ws_conn {
	CURL *easy;
	curl_socket_t fd;
	struct wsf_decoder dec;
	int64_t idle_since;
};

/* err = "upstream WebSocket: " what [": " detail] */
static void
say(struct buf *err, const char *what, const char *detail)
{
	buf_reset(err);
	/* best effort: the error code is returned all the same */
	GW_IGNORE(buf_printf(err, "upstream WebSocket: %s%s%s", what,
	    detail != NULL ? ": " : "", detail != NULL ? detail : ""));
}

/* Waits for fd to be ready for events, up to ms: 1 ready, 0 not. */
static int
wait_fd(curl_socket_t fd, short events, int ms)
{
	struct pollfd p = { fd, events, 0 };

	return poll(&p, 1, ms < 0 ? 0 : ms) > 0;
}

static GW_MUST_CHECK enum gw_err
send_all(struct ws_conn *c, const char *p, size_t n, struct buf *err)
{
	int64_t deadline = util_mono_ms() + UP_CONNECT_TIMEOUT_S * 1000;
	size_t sent;
	CURLcode rc;

	while (n > 0) {
		rc = curl_easy_send(c->easy, p, n, &sent);
		if (rc == CURLE_AGAIN) {
			if (util_mono_ms() > deadline) {
				say(err, "send timed out", NULL);
				return GW_ETIMEOUT;
			}
			(void)wait_fd(c->fd, POLLOUT, 200);  /* then try again */
			continue;
		}
		if (rc != CURLE_OK) {
			say(err, "send failed",
			    curl_easy_strerror(rc));
			return GW_EUPSTREAM;
		}
		p += sent;
		n -= sent;
	}
	return GW_OK;
}

/* Reads what is there (waiting up to ms when nothing is): 1 got bytes,
 * 0 none yet, -1 closed or failed (err says which). */
static int
recv_some(struct ws_conn *c, int ms, char *tmp, size_t cap, size_t *n,
    struct buf *err)
{
	CURLcode rc;
	int waited = 0;

	for (;;) {
		rc = curl_easy_recv(c->easy, tmp, cap, n);
		if (rc == CURLE_OK && *n == 0) {
			say(err, "the upstream closed the connection", NULL);
			return -1;
		}
		if (rc == CURLE_OK)
			return 1;
		if (rc != CURLE_AGAIN) {
			say(err, "receive failed",
			    curl_easy_strerror(rc));
			return -1;
		}
		if (waited || !wait_fd(c->fd, POLLIN, ms))
			return 0;
		waited = 1;
	}
}

static GW_MUST_CHECK enum gw_err
send_frame(struct ws_conn *c, enum wsf_opcode op, const void *p, size_t n,
    struct buf *err)
{
	struct buf f = BUF_INIT;
	uint8_t mask[4];
	enum gw_err e;

	if ((e = util_random(mask, sizeof(mask))) == GW_OK &&
	    (e = wsf_encode(&f, op, p, n, mask)) == GW_OK)
		e = send_all(c, f.data, f.len, err);
	buf_free(&f);
	return e;
}

/* The upgrade request for url, with headers, key and Host. */
static GW_MUST_CHECK enum gw_err
upgrade_request(const char *url, const char *const *headers, const char *key,
    struct buf *out)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
	enum gw_err e = GW_EINVAL;
	size_t i;

	if (u == NULL)
		return GW_ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
	(void)curl_url_get(u, CURLUPART_QUERY, &query, 0);
	e = buf_printf(out, "GET %s%s%s HTTP/1.1\r\nHost: %s%s%s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
	    path, query != NULL ? "?" : "", query != NULL ? query : "",
	    host, port != NULL ? ":" : "", port != NULL ? port : "", key);
	for (i = 0; e == GW_OK && headers != NULL && headers[i] != NULL; i++) {
		if (strpbrk(headers[i], "\r\n") != NULL)
			e = GW_EINVAL;
		else
			e = buf_printf(out, "%s\r\n", headers[i]);
	}
	if (e == GW_OK)
		e = buf_puts(out, "\r\n");
out:
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return e;
}

/* The value of header name in the answer's head, or NULL; copies into v. */
static const char *
head_value(const char *head, const char *name, char *v, size_t cap)
{
	const char *p = head, *end;
	size_t n = strlen(name), len;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) != 0 || p[n] != ':')
			continue;
		p += n + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		end = strstr(p, "\r\n");
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len >= cap)
			len = cap - 1;
		memcpy(v, p, len);
		v[len] = '\0';
		return v;
	}
	return NULL;
}

/* Reads the upgrade answer and checks it; leftover bytes go to the
 * decoder (the server may send its first frame at once). */
static GW_MUST_CHECK enum gw_err
read_answer(struct ws_conn *c, const char *key, int64_t deadline,
    long *status, struct buf *err)
{
	struct buf head = BUF_INIT;
	char tmp[4096], v[128], want[29];
	const char *end;
	size_t n;
	enum gw_err e = GW_OK;
	int r;

	while ((end = strstr(buf_cstr(&head), "\r\n\r\n")) == NULL) {
		if (head.len > WS_MAX_HANDSHAKE) {
			say(err, "upgrade answer too long", NULL);
			e = GW_EUPSTREAM;
			goto out;
		}
		if (util_mono_ms() > deadline) {
			say(err, "no upgrade answer in time", NULL);
			e = GW_ETIMEOUT;
			goto out;
		}
		r = recv_some(c, 250, tmp, sizeof(tmp), &n, err);
		if (r < 0) {
			e = GW_EUPSTREAM;
			goto out;
		}
		if (r > 0 && (e = buf_append(&head, tmp, n)) != GW_OK)
			goto out;
	}
	if (sscanf(head.data, "HTTP/1.%*c %ld", status) != 1)
		*status = 0;
	if (*status != 101) {
		buf_reset(err);
		GW_IGNORE(buf_printf(err, "upstream refused the WebSocket upgrade "
		    "(HTTP %ld)", *status));
		e = GW_EUPSTREAM;
		goto out;
	}
	wsf_accept(key, want);
	if (head_value(head.data, "Sec-WebSocket-Accept", v, sizeof(v)) == NULL ||
	    strcmp(v, want) != 0 ||
	    head_value(head.data, "Upgrade", v, sizeof(v)) == NULL ||
	    strcasecmp(v, "websocket") != 0) {
		say(err, "the upstream answered 101 without a valid "
		    "Sec-WebSocket-Accept and Upgrade: websocket", NULL);
		*status = 0;
		e = GW_EUPSTREAM;
		goto out;
	}
	end += 4;
	e = wsf_decoder_feed(&c->dec, end, head.len - (size_t)(end - head.data));
out:
	buf_free(&head);
	return e;
}

enum gw_err
ws_open(const char *url, const char *const *headers, long timeout_s,
    struct ws_conn **out, long *status, struct buf *err)
{
	struct ws_conn *c;
	struct buf rq = BUF_INIT;
	uint8_t nonce[16];
	char key[25];
	curl_socket_t fd;
	void *easy = NULL;
	enum gw_err e;

	*out = NULL;
	*status = 0;
	if (timeout_s <= 0)
		timeout_s = UP_CONNECT_TIMEOUT_S;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return GW_ENOMEM;
	wsf_decoder_init(&c->dec);
	if ((e = util_random(nonce, sizeof(nonce))) != GW_OK)
		goto fail;
	wsf_key(nonce, key);
	if ((e = upgrade_request(url, headers, key, &rq)) != GW_OK) {
		say(err, "bad URL or header", url);
		goto fail;
	}
	if ((e = up_connect_raw(url, timeout_s, &easy, err)) != GW_OK)
		goto fail;
	c->easy = easy;
	if (curl_easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
	    fd == CURL_SOCKET_BAD) {
		say(err, "no socket", NULL);
		e = GW_ECONNECT;
		goto fail;
	}
	c->fd = fd;
	if ((e = send_all(c, rq.data, rq.len, err)) != GW_OK ||
	    (e = read_answer(c, key, util_mono_ms() + timeout_s * 1000, status,
	    err)) != GW_OK)
		goto fail;
	buf_free(&rq);
	*out = c;
	return GW_OK;
fail:
	buf_free(&rq);
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	wsf_decoder_free(&c->dec);
	free(c);
	return e;
}

enum gw_err
ws_send_text(struct ws_conn *c, const char *p, size_t n, struct buf *err)
{
	return send_frame(c, WSF_TEXT, p, n, err);
}

/* A control frame: 1 handled, -1 the server closed (err says so). */
static int
control(struct ws_conn *c, const struct wsf_event *ev, struct buf *err)
{
	char code[16];

	if (ev->op == WSF_PING) {
		/* a failed pong shows on the next read */
		GW_IGNORE(send_frame(c, WSF_PONG, ev->data, ev->len, err));
		return 1;
	}
	if (ev->op == WSF_PONG)
		return 1;
	snprintf(code, sizeof(code), "%d", ev->close_code);
	buf_reset(err);
	GW_IGNORE(buf_printf(err, "upstream closed the WebSocket (code %s%s%.*s)",
	    code, ev->len > 0 ? ": " : "", (int)(ev->len > 200 ? 200 : ev->len),
	    ev->data));
	return -1;
}

enum gw_err
ws_next(struct ws_conn *c, int timeout_ms, const char **data, size_t *len,
    int *got, struct buf *err)
{
	int64_t deadline = util_mono_ms() + timeout_ms;
	struct wsf_event ev;
	const char *why = NULL;
	char tmp[16384];
	size_t n;
	enum gw_err e;
	int r, have;

	*got = 0;
	for (;;) {
		if ((e = wsf_decoder_next(&c->dec, &ev, &have, &why)) != GW_OK) {
			say(err, why != NULL ? why : gw_strerror(e), NULL);
			return e;
		}
		if (have && (ev.op == WSF_TEXT || ev.op == WSF_BINARY)) {
			*data = ev.data;
			*len = ev.len;
			*got = 1;
			return GW_OK;
		}
		if (have) {
			if (control(c, &ev, err) < 0)
				return GW_EUPSTREAM;
			continue;
		}
		r = recv_some(c, (int)(deadline - util_mono_ms()), tmp,
		    sizeof(tmp), &n, err);
		if (r < 0)
			return GW_EUPSTREAM;
		if (r == 0) {
			if (util_mono_ms() >= deadline)
				return GW_OK;
			continue;
		}
		if ((e = wsf_decoder_feed(&c->dec, tmp, n)) != GW_OK)
			return e;
	}
}

void
ws_close(struct ws_conn *c)
{
	struct buf err = BUF_INIT;
	uint8_t bye[2] = { 1000 >> 8, 1000 & 0xFF };

	if (c == NULL)
		return;
	/* a courtesy: the connection goes either way */
	GW_IGNORE(send_frame(c, WSF_CLOSE, bye, sizeof(bye), &err));
	buf_free(&err);
	curl_easy_cleanup(c->easy);
	wsf_decoder_free(&c->dec);
	free(c);
}

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char *key;
	struct ws_conn *c;
} pool[WS_POOL_MAX];

/* An idle connection with anything to read has been closed (or broken)
 * by the server: it cannot take a request. */
static int
idle_usable(const struct ws_conn *c, int64_t now)
{
	struct pollfd p = { c->fd, POLLIN, 0 };

	if (now - c->idle_since > WS_POOL_IDLE_MS)
		return 0;
	return c->dec.in.len == c->dec.pos && poll(&p, 1, 0) == 0;
}

/* Under the lock: removes from the pool the connections past their idle
 * time or closed by the server (into stale), and the one for key (when
 * key is given; returned). */
static struct ws_conn *
pool_scan(const char *key, struct ws_conn **stale, size_t *nstale)
{
	struct ws_conn *found = NULL;
	int64_t now = util_mono_ms();
	size_t i;

	for (i = 0; i < WS_POOL_MAX; i++) {
		if (pool[i].c == NULL)
			continue;
		if (!idle_usable(pool[i].c, now))
			stale[(*nstale)++] = pool[i].c;
		else if (key != NULL && found == NULL &&
		    strcmp(pool[i].key, key) == 0)
			found = pool[i].c;
		else
			continue;
		free(pool[i].key);
		pool[i].key = NULL;
		pool[i].c = NULL;
	}
	return found;
}

struct ws_conn *
ws_pool_take(const char *key)
{
	struct ws_conn *found, *stale[WS_POOL_MAX];
	size_t i, nstale = 0;

	pthread_mutex_lock(&pool_lock);
	found = pool_scan(key, stale, &nstale);
	pthread_mutex_unlock(&pool_lock);
	for (i = 0; i < nstale; i++)
		ws_close(stale[i]);
	return found;
}

void
ws_pool_put(const char *key, struct ws_conn *c)
{
	struct ws_conn *out = NULL, *stale[WS_POOL_MAX];
	size_t i, slot = WS_POOL_MAX, oldest = 0, nstale = 0;
	char *k = util_strdup(key);

	c->idle_since = util_mono_ms();
	pthread_mutex_lock(&pool_lock);
	(void)pool_scan(NULL, stale, &nstale);   /* only the stale ones */
	for (i = 0; i < WS_POOL_MAX; i++) {
		if (pool[i].c == NULL) {
			if (slot == WS_POOL_MAX)
				slot = i;
			continue;
		}
		if (strcmp(pool[i].key, key) == 0)
			out = c;          /* one per key: the pooled one stays */
		if (pool[oldest].c == NULL ||
		    pool[i].c->idle_since < pool[oldest].c->idle_since)
			oldest = i;
	}
	if (out == NULL && k != NULL) {
		if (slot == WS_POOL_MAX) {
			slot = oldest;
			out = pool[slot].c;
			free(pool[slot].key);
		}
		pool[slot].key = k;
		pool[slot].c = c;
		k = NULL;
	} else if (out == NULL) {
		out = c;                  /* no memory for the key */
	}
	pthread_mutex_unlock(&pool_lock);
	free(k);
	ws_close(out);
	for (i = 0; i < nstale; i++)
		ws_close(stale[i]);
}

void
ws_pool_cleanup(void)
{
	size_t i;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < WS_POOL_MAX; i++) {
		ws_close(pool[i].c);
		free(pool[i].key);
		pool[i].c = NULL;
		pool[i].key = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	log_debug("upstream: WebSocket pool closed");
}
