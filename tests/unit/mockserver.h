/*
 * In-process HTTP/1.1 server for the upstream tests.
 *
 * A thread accepts on 127.0.0.1:<ephemeral>; each connection gets its own
 * thread that reads requests and plays scripted responses: status, extra
 * headers, body pieces with delays before them, chunked or with a
 * Content-Length (true or a lie), then a clean end (keep-alive), an abrupt
 * close, or a hold (connection open, nothing sent).  It records how many
 * connections it accepted, the requests it saw and whether a client closed
 * while the server still had something to send.
 *
 * Header-only: every function is static; include it in one test file.
 */
#ifndef GW_TEST_MOCKSERVER_H
#define GW_TEST_MOCKSERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"

#define MOCK_API static __attribute__((unused))
#define MOCK_MAX_PIECES 64
#define MOCK_MAX_CONNS 32

enum mock_end {
	MOCK_END_DONE,       /* finish the body properly; keep the connection */
	MOCK_END_CLOSE,      /* close right after the pieces, framing unfinished */
	MOCK_END_HOLD,       /* send nothing more, wait for the client to close */
};

struct mock_piece {
	int delay_ms;        /* wait before sending this piece */
	const char *data;    /* NUL-terminated (binary: mock_response.raw) */
};

struct mock_response {
	int status;                  /* 0: 200 */
	const char *headers;         /* extra header lines, each "...\r\n" */
	int header_delay_ms;         /* wait before the status line */
	int chunked;                 /* each piece is one chunk */
	int close_delimited;         /* no length: the body ends at close */
	long content_length;         /* > 0: announce this instead of the sum */
	int hang_up;                 /* read the request, close, answer nothing */
	const char *raw;             /* binary data in place of pieces[0] */
	size_t raw_len;
	struct mock_piece pieces[MOCK_MAX_PIECES];
	enum mock_end end;
};

struct mock_server {
	int fd;
	int port;
	const struct mock_response *script;
	size_t nscript;
	pthread_t acceptor;
	pthread_t conns[MOCK_MAX_CONNS];
	int nconns;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;                    /* read and written atomically */
	/* observations, under mu */
	int accepted;
	int requests;
	int peer_closed_early;       /* client left while we had more to send */
	int pieces_sent;
	int closed;                  /* connections that ended (either side) */
	struct buf last_request;
	struct buf request_lines;    /* each request line + "\n", in order */
};

struct mock_conn {
	struct mock_server *m;
	int fd;
};

static int
mock_stopping(struct mock_server *m)
{
	return __atomic_load_n(&m->stop, __ATOMIC_SEQ_CST);
}

/* Waits up to ms for fd to become readable; 1 readable, 0 timeout or stop. */
static int
mock_wait_readable(struct mock_server *m, int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int64_t end = util_mono_ms() + ms, now;
	int r;

	while (!mock_stopping(m) && (now = util_mono_ms()) <= end) {
		r = poll(&p, 1, (int)(end - now > 50 ? 50 : end - now));
		if (r > 0)
			return 1;
	}
	return 0;
}

/* Sleeps ms while watching fd: 1 if the peer closed meanwhile. */
static int
mock_delay(struct mock_server *m, int fd, int ms)
{
	char c;
	ssize_t r;
	int64_t end = util_mono_ms() + ms, now;

	while (!mock_stopping(m) && (now = util_mono_ms()) < end) {
		if (!mock_wait_readable(m, fd, (int)(end - now)))
			continue;
		r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return 1;
		util_sleep_ms(5);
	}
	return mock_stopping(m);
}

static int
mock_send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one request (headers + Content-Length body).  0 ok, -1 closed. */
static int
mock_read_request(struct mock_server *m, int fd, struct buf *req)
{
	char tmp[4096];
	const char *hend, *cl;
	size_t need = 0;
	long len = 0;
	ssize_t r;

	buf_reset(req);
	for (;;) {
		hend = req->data != NULL ? strstr(req->data, "\r\n\r\n") : NULL;
		if (hend != NULL && need == 0) {
			cl = strcasestr(req->data, "\r\ncontent-length:");
			if (cl != NULL && cl < hend)
				len = strtol(cl + 17, NULL, 10);
			need = (size_t)(hend - req->data) + 4 + (size_t)len;
		}
		if (need != 0 && req->len >= need)
			return 0;
		if (!mock_wait_readable(m, fd, 10000))
			return -1;
		r = recv(fd, tmp, sizeof(tmp), 0);
		if (r <= 0 || buf_append(req, tmp, (size_t)r) != GW_OK)
			return -1;
	}
}

static const struct mock_response *
mock_next(struct mock_server *m, const struct buf *req)
{
	const struct mock_response *r;

	pthread_mutex_lock(&m->mu);
	r = &m->script[(size_t)m->requests < m->nscript ? (size_t)m->requests :
	    m->nscript - 1];
	m->requests++;
	buf_reset(&m->last_request);
	/* a request it cannot record closes the connection: the test fails */
	if (buf_append(&m->last_request, req->data, req->len) != GW_OK ||
	    buf_append(&m->request_lines, req->data,
	    strcspn(req->data, "\r\n")) != GW_OK ||
	    buf_append(&m->request_lines, "\n", 1) != GW_OK)
		r = NULL;
	pthread_mutex_unlock(&m->mu);
	return r;
}

static void
mock_note(struct mock_server *m, int *field, int v)
{
	pthread_mutex_lock(&m->mu);
	*field += v;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

/* Plays one response; 0 to keep the connection, -1 to close it. */
static size_t
mock_piece_len(const struct mock_response *r, size_t i)
{
	return i == 0 && r->raw != NULL ? r->raw_len : strlen(r->pieces[i].data);
}

static const char *
mock_piece_data(const struct mock_response *r, size_t i)
{
	return i == 0 && r->raw != NULL ? r->raw : r->pieces[i].data;
}

static int
mock_respond(struct mock_server *m, int fd, const struct mock_response *r)
{
	struct buf out = BUF_INIT;
	size_t i, total = 0, np;
	enum gw_err e;
	int rc = -1;

	for (np = 0; np < MOCK_MAX_PIECES && (r->pieces[np].data != NULL ||
	    (np == 0 && r->raw != NULL)); np++)
		total += mock_piece_len(r, np);
	if (r->header_delay_ms > 0 && mock_delay(m, fd, r->header_delay_ms))
		goto early;
	/* a response it cannot build closes the connection: the test fails */
	e = buf_printf(&out, "HTTP/1.1 %d X\r\n%s", r->status ? r->status : 200,
	    r->headers != NULL ? r->headers : "");
	if (e == GW_OK && r->chunked)
		e = buf_puts(&out, "Transfer-Encoding: chunked\r\n");
	else if (e == GW_OK && r->close_delimited)
		e = buf_puts(&out, "Connection: close\r\n");
	else if (e == GW_OK)
		e = buf_printf(&out, "Content-Length: %ld\r\n",
		    r->content_length > 0 ? r->content_length : (long)total);
	if (e == GW_OK)
		e = buf_puts(&out, "\r\n");
	if (e != GW_OK)
		goto done;
	if (mock_send_all(fd, out.data, out.len) < 0)
		goto early;
	for (i = 0; i < np; i++) {
		if (r->pieces[i].delay_ms > 0 &&
		    mock_delay(m, fd, r->pieces[i].delay_ms))
			goto early;
		buf_reset(&out);
		e = GW_OK;
		if (r->chunked)
			e = buf_printf(&out, "%zx\r\n", mock_piece_len(r, i));
		if (e == GW_OK)
			e = buf_append(&out, mock_piece_data(r, i),
			    mock_piece_len(r, i));
		if (e == GW_OK && r->chunked)
			e = buf_puts(&out, "\r\n");
		if (e != GW_OK)
			goto done;
		if (mock_send_all(fd, out.data, out.len) < 0)
			goto early;
		mock_note(m, &m->pieces_sent, 1);
	}
	if (r->end == MOCK_END_HOLD) {
		while (!mock_stopping(m) && !mock_delay(m, fd, 100))
			;
		if (!mock_stopping(m))
			goto early;
	} else if (r->end == MOCK_END_DONE) {
		if (r->chunked && mock_send_all(fd, "0\r\n\r\n", 5) < 0)
			goto early;
		rc = r->close_delimited ? -1 : 0;
	}
done:
	buf_free(&out);
	return rc;
early:
	mock_note(m, &m->peer_closed_early, 1);
	buf_free(&out);
	return -1;
}

static void *
mock_conn_main(void *arg)
{
	struct mock_conn *c = arg;
	struct mock_server *m = c->m;
	const struct mock_response *r;
	struct buf req = BUF_INIT;

	while (!mock_stopping(m) && mock_read_request(m, c->fd, &req) == 0) {
		r = mock_next(m, &req);
		if (r == NULL || r->hang_up || mock_respond(m, c->fd, r) < 0)
			break;
	}
	buf_free(&req);
	close(c->fd);
	mock_note(m, &m->closed, 1);
	free(c);
	return NULL;
}

static void *
mock_accept_main(void *arg)
{
	struct mock_server *m = arg;
	struct mock_conn *c;
	int fd;

	while (!mock_stopping(m)) {
		if (!mock_wait_readable(m, m->fd, 100))
			continue;
		if ((fd = accept(m->fd, NULL, NULL)) < 0)
			continue;
		/* headers and body go out in separate writes: without this the
		 * body waits for the client's delayed ACK (40 ms) */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		c = calloc(1, sizeof(*c));
		c->m = m;
		c->fd = fd;
		pthread_mutex_lock(&m->mu);
		m->accepted++;
		if (m->nconns < MOCK_MAX_CONNS &&
		    pthread_create(&m->conns[m->nconns], NULL, mock_conn_main,
		    c) == 0)
			m->nconns++;
		else {
			close(fd);
			free(c);
		}
		pthread_mutex_unlock(&m->mu);
	}
	return NULL;
}

/* Serves script[0], script[1], ... to successive requests (the last one
 * repeats).  The script must outlive the server. */
MOCK_API struct mock_server *
mock_start(const struct mock_response *script, size_t n)
{
	struct mock_server *m = calloc(1, sizeof(*m));
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int one = 1;

	if (m == NULL)
		return NULL;
	m->script = script;
	m->nscript = n;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	m->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(m->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(m->fd, 16) < 0 ||
	    getsockname(m->fd, (struct sockaddr *)&a, &al) < 0) {
		close(m->fd);
		free(m);
		return NULL;
	}
	m->port = ntohs(a.sin_port);
	pthread_create(&m->acceptor, NULL, mock_accept_main, m);
	return m;
}

MOCK_API void
mock_stop(struct mock_server *m)
{
	int i;

	if (m == NULL)
		return;
	__atomic_store_n(&m->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(m->acceptor, NULL);
	for (i = 0; i < m->nconns; i++)
		pthread_join(m->conns[i], NULL);
	close(m->fd);
	buf_free(&m->last_request);
	buf_free(&m->request_lines);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	free(m);
}

MOCK_API void
mock_url(const struct mock_server *m, const char *path, char *out, size_t n)
{
	snprintf(out, n, "http://127.0.0.1:%d%s", m->port, path);
}

MOCK_API int
mock_get(struct mock_server *m, const int *field)
{
	int v;

	pthread_mutex_lock(&m->mu);
	v = *field;
	pthread_mutex_unlock(&m->mu);
	return v;
}

/* Waits up to ms for *field to reach at least want; returns its value. */
MOCK_API int
mock_wait(struct mock_server *m, const int *field, int want, int ms)
{
	struct timespec ts;
	int v;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->mu);
	while (*field < want &&
	    pthread_cond_timedwait(&m->cv, &m->mu, &ts) == 0)
		;
	v = *field;
	pthread_mutex_unlock(&m->mu);
	return v;
}

MOCK_API char *
mock_copy(struct mock_server *m, const struct buf *b)
{
	char *s;

	pthread_mutex_lock(&m->mu);
	s = strdup(buf_cstr(b));
	pthread_mutex_unlock(&m->mu);
	return s;
}

/* A copy of the last request as received (caller frees). */
MOCK_API char *
mock_last_request(struct mock_server *m)
{
	return mock_copy(m, &m->last_request);
}

/* The request lines seen so far, one "METHOD /path HTTP/1.1" a line, in
 * order (caller frees): which upstream endpoints a client called. */
MOCK_API char *
mock_request_lines(struct mock_server *m)
{
	return mock_copy(m, &m->request_lines);
}

/* A loopback port nothing listens on (bound, then closed). */
MOCK_API int
mock_closed_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

#endif
