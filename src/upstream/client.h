/*
 * HTTP client for upstream calls, over libcurl.
 *
 * One struct up_client per worker thread: a long-lived easy handle and a
 * multi handle whose connection pool keeps upstream connections (and their
 * TLS sessions) alive across requests.  DNS answers and TLS session tickets
 * are also shared process-wide through one locked share handle.
 *
 * Fixed transport choices:
 *  - connect timeout (default 10 s), no total timeout: a stream may last
 *    as long as the model talks.  Instead a stall guard aborts when the
 *    upstream sends nothing for stall_timeout_s (default 600 s; it covers
 *    the wait for the response headers too).
 *  - HTTP/2 when TLS ALPN offers it, else HTTP/1.1; redirects are never
 *    followed; only http and https URLs; no "Expect: 100-continue".
 *  - Compression: ordinary requests accept every encoding libcurl can
 *    decode, and libcurl decodes it; streamed requests ask for identity so
 *    no compressor sits between an event and its flush (should the upstream
 *    compress anyway, libcurl still decodes).
 *  - Proxy: libcurl's own environment handling: http_proxy (lower case
 *    only: a CGI request's "Proxy:" header becomes HTTP_PROXY, which
 *    libcurl ignores, so httpoxy does not apply), https_proxy/HTTPS_PROXY,
 *    all_proxy, no_proxy.
 *  - Retries: only when the request cannot have reached the upstream
 *    (resolve, connect, TLS handshake failure, or a reset before any
 *    request byte was sent), at most connect_retries times, 250 ms then 1 s
 *    apart.  Nothing is retried once the request was sent: each attempt may
 *    be billed.
 */
#ifndef GW_UP_CLIENT_H
#define GW_UP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define UP_CONNECT_TIMEOUT_S 10
#define UP_STALL_TIMEOUT_S 600
#define UP_CONNECT_RETRIES 2
/* A collected (non-streamed) response body larger than this is GW_ETOOBIG. */
#define UP_MAX_BODY ((size_t)64 << 20)

/* Process-wide: curl_global_init and the share handle.  Call once from
 * main() before any thread starts; cleanup after they have all ended. */
GW_MUST_CHECK enum gw_err up_global_init(void);
void up_global_cleanup(void);

struct up_client;

GW_MUST_CHECK enum gw_err up_client_new(struct up_client **out);
void up_client_free(struct up_client *c);

/*
 * What to send.  Zero means "the default" for the three numeric fields and
 * a negative value means "off" (stall guard) or "none" (retries): a zeroed
 * struct never silently disables the stall guard.
 */
struct up_request {
	const char *method;          /* NULL: GET, or POST when body is set */
	const char *url;
	const char *const *headers;  /* "Name: value", NULL-terminated; may be NULL */
	const char *body;            /* borrowed for the call */
	size_t body_len;
	long stall_timeout_s;        /* 0: 600; < 0: no stall guard */
	long connect_timeout_s;      /* 0: 10 */
	int connect_retries;         /* 0: 2; < 0: none */
};

/* What came back.  A zeroed struct is the empty state. */
struct up_response {
	long status;                 /* 0 when no HTTP response arrived */
	struct buf body;             /* collected body (not for relayed streams) */
	char *content_type;
	char *retry_after;
	/* Every retry-after and x-* header as "name: value", in arrival order:
	 * what a 429 passes through to the client. */
	char **pass_headers;
	size_t npass_headers;
	char *error;                 /* what went wrong; NULL when all went well */
	int attempts;                /* connection attempts made (retries + 1) */
	long num_connects;           /* new connections the last attempt opened */
	int64_t ttfb_ms;             /* start to response headers, -1 if none */
	int64_t total_ms;
};

/* Frees the contents of an initialised response (it is not itself
 * freed) and zeroes it; accepts NULL. */
void up_response_free(struct up_response *r);

/*
 * One-line reason for logs and client error bodies: the transport failure
 * ("could not connect to 127.0.0.1:1234: Connection refused"), or
 * "upstream answered HTTP 503" for a non-2xx status.  "" when none; never
 * NULL.
 */
const char *up_error_message(const struct up_response *r);

/*
 * A whole request, body collected into resp.  resp is overwritten: it must
 * be zeroed or freed.  Returns GW_OK whenever an HTTP response arrived,
 * whatever its status; GW_ECONNECT (resolve, connect, TLS; after retries),
 * GW_ETIMEOUT (stall), GW_EUPSTREAM (dropped mid-response, not HTTP),
 * GW_ETOOBIG (body over UP_MAX_BODY), GW_EINVAL (bad request, e.g. a
 * header with CR or LF), GW_ENOMEM.  resp->error says why.
 */
GW_MUST_CHECK enum gw_err up_perform(struct up_client *c, const struct up_request *req,
    struct up_response *resp);

/*
 * The transfer loop underneath up_perform() and the relay; nothing else
 * should need it.  The hooks run on the calling thread, inside the loop;
 * an error from any of them aborts the transfer (closing the connection)
 * and becomes the result.
 */
struct up_hooks {
	void *ctx;
	int stream;                  /* ask for an uncompressed body */
	/* Response headers are in (status, content_type, pass headers).
	 * Setting *take_body sends the body to on_body instead of resp->body. */
	enum gw_err (*on_headers)(void *ctx, const struct up_response *resp,
	    int *take_body);
	enum gw_err (*on_body)(void *ctx, const char *p, size_t n);
	/* Called at the time it last asked for (and maybe earlier); returns
	 * in *next_ms the monotonic time it next wants to run, 0 for never. */
	enum gw_err (*on_tick)(void *ctx, int64_t now_ms, int64_t *next_ms);
};

GW_MUST_CHECK enum gw_err up_transfer(struct up_client *c, const struct up_request *req,
    const struct up_hooks *hooks, struct up_response *resp);

/*
 * A raw connection to url's host (http or https), for a protocol spoken
 * over it with curl_easy_send/recv (upstream/ws.c): the same proxy,
 * share, timeout and TLS choices as a transfer, HTTP/1.1 only (a
 * WebSocket upgrade is an HTTP/1.1 request), CURLOPT_CONNECT_ONLY.  On
 * success *easy (a CURL *, the caller's to curl_easy_cleanup) is connected;
 * GW_ECONNECT with why in err; GW_ENOMEM.  Thread-safe.
 */
GW_MUST_CHECK enum gw_err up_connect_raw(const char *url, long connect_timeout_s,
    void **easy, struct buf *err);

#endif
