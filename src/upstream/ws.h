/*
 * A WebSocket client connection (RFC 6455) over a libcurl CONNECT_ONLY
 * connection, so TLS, the proxy choice and the shared DNS/TLS cache are
 * the ones every other upstream call uses (Debian 12's libcurl 7.88 has no
 * WebSocket API of its own).  We write the upgrade request and check the
 * server's accept value; frames are upstream/wsframe.c.  Pings are
 * answered with pongs as they arrive; a close from the server is answered
 * and ends the connection.
 *
 * A connection is used by one thread at a time.  Idle ones wait in a
 * process-wide pool under a key (the caller's choice; the Copilot
 * Responses key is in app/copilot_call.c) for WS_POOL_IDLE_MS; the pool is
 * thread-safe.
 */
#ifndef GW_WS_H
#define GW_WS_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* An idle pooled connection older than this is closed, not reused. */
#define WS_POOL_IDLE_MS 60000
#define WS_POOL_MAX 32
/* Longest upgrade answer (status line and headers) read. */
#define WS_MAX_HANDSHAKE 16384

struct ws_conn;

/*
 * Connects to url (http:// or https://: the ws:// or wss:// it stands
 * for) and upgrades with headers ("Name: value", NULL-terminated, may be
 * NULL) added to the upgrade request.  timeout_s bounds the connect and
 * the upgrade answer (0: the client default).  Returns GW_OK and *out;
 * GW_ECONNECT when no connection was made; GW_EUPSTREAM when the server
 * refused the upgrade (*status: its HTTP status, 0 when the answer was
 * not HTTP, or did not prove the upgrade: a wrong Sec-WebSocket-Accept);
 * GW_ETIMEOUT; GW_ENOMEM.  err says why.
 */
GW_MUST_CHECK enum gw_err ws_open(const char *url, const char *const *headers,
    long timeout_s, struct ws_conn **out, long *status, struct buf *err);

/* Sends one text message (a single masked frame).  GW_EUPSTREAM when the
 * connection failed (err says how), GW_ETIMEOUT, GW_ENOMEM. */
GW_MUST_CHECK enum gw_err ws_send_text(struct ws_conn *c, const char *p, size_t n,
    struct buf *err);

/*
 * Waits up to timeout_ms for the next text (or binary) message: GW_OK with
 * *got = 1 and *data and *len (NUL-terminated, borrowed until the next call),
 * or *got = 0 when the time passed.  Pings are answered on the way.
 * GW_EUPSTREAM: the server closed (err names its close code and reason),
 * the connection dropped, or a frame broke the protocol; GW_ETOOBIG: a
 * message over WSF_MAX_MESSAGE; GW_ENOMEM.  After an error the connection
 * is broken: close it.
 */
GW_MUST_CHECK enum gw_err ws_next(struct ws_conn *c, int timeout_ms,
    const char **data, size_t *len, int *got, struct buf *err);

/* Sends a close (1000) as a courtesy and frees c; accepts NULL. */
void ws_close(struct ws_conn *c);

/* The pooled connection for key, removed from the pool, or NULL (none,
 * or every one found had gone stale or been closed by the server). */
struct ws_conn *ws_pool_take(const char *key);

/* Gives c back to the pool under key for the next request with that key;
 * closes it instead when the key already has one, and the oldest when the
 * pool is full. */
void ws_pool_put(const char *key, struct ws_conn *c);

/* Closes every pooled connection (at exit). */
void ws_pool_cleanup(void);

#endif
