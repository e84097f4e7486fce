/*
 * The byte transports under the HTTP layer: FastCGI streams, CGI stdio and
 * the in-memory pair the tests use (contract in io.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "http/io.h"

extern char **environ;

/*
 * The peer of fd hung up, watched for up to timeout_ms: POLLIN is not
 * asked for, so bytes the web server sends cannot make this spin; a
 * closed socket (POLLHUP) or pipe (POLLERR) ends the wait, and with
 * rdhup a half-closed socket (POLLRDHUP) too.
 */
static int
fd_hangup(int fd, int timeout_ms, int rdhup)
{
	struct pollfd p;
	int n;

	p.fd = fd;
	p.events = rdhup ? POLLRDHUP : 0;
	p.revents = 0;
	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		usleep((useconds_t)timeout_ms * 1000);
		return 0;
	}
	return n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* FastCGI */

static long
fcgi_read(void *ctx, char *p, size_t n)
{
	FCGX_Request *r = ctx;
	int got;

	if (n > INT_MAX)
		n = INT_MAX;
	got = FCGX_GetStr(p, (int)n, r->in);
	if (got > 0)
		return got;
	return FCGX_GetError(r->in) != 0 ? -1 : 0;
}

static int
fcgi_write(void *ctx, const char *p, size_t n)
{
	FCGX_Request *r = ctx;
	int chunk;

	while (n > 0) {
		chunk = n > INT_MAX ? INT_MAX : (int)n;
		/* a short write is a failed write: the stream is in error */
		if (FCGX_PutStr(p, chunk, r->out) != chunk)
			return -1;
		p += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

static int
fcgi_flush(void *ctx)
{
	FCGX_Request *r = ctx;

	return FCGX_FFlush(r->out) == 0 ? 0 : -1;
}

/* The FastCGI stdin ends with an empty record after CONTENT_LENGTH bytes;
 * a responder that closes before reading it races the web server, which
 * then fails to write it (Apache: AH01075, a 503).  Bounded all the same. */
#define STDIN_TAIL_MAX ((long)1 << 30)

/* FCGX_Finish_r sends FCGI_END_REQUEST: the web server ends the client's
 * answer there, whatever this thread does next.  It frees the streams,
 * which is how a second call knows. */
static void
fcgi_finish(void *ctx)
{
	FCGX_Request *r = ctx;
	char buf[16384];
	long total = 0;
	int n;

	if (r->in == NULL)
		return;
	while (total < STDIN_TAIL_MAX &&
	    (n = FCGX_GetStr(buf, sizeof(buf), r->in)) > 0)
		total += n;
	FCGX_Finish_r(r);
}

/* The web server's connection for this request (libfcgi keeps one per
 * request: no multiplexing). */
static int
fcgi_hangup(void *ctx, int timeout_ms)
{
	FCGX_Request *r = ctx;

	/* lighttpd's tcp-fin-propagate half-closes it (deploy/README.md) */
	return fd_hangup(r->ipcFd, timeout_ms, 1);
}

void
http_io_fcgi(struct http_io *io, struct FCGX_Request *r)
{
	io->ctx = r;
	io->read = fcgi_read;
	io->write = fcgi_write;
	io->flush = fcgi_flush;
	io->hangup = fcgi_hangup;
	io->finish = fcgi_finish;
	io->envp = r->envp;
}

/* CGI */

static long
cgi_read(void *ctx, char *p, size_t n)
{
	ssize_t got;

	(void)ctx;
	if (n > LONG_MAX)
		n = LONG_MAX;
	do
		got = read(STDIN_FILENO, p, n);
	while (got < 0 && errno == EINTR);
	return got < 0 ? -1 : (long)got;
}

static int
cgi_write(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

static int
cgi_flush(void *ctx)
{
	(void)ctx;
	return fflush(stdout) == 0 ? 0 : -1;
}

/* SIGUSR2 is how lighttpd's mod_cgi says the client closed its end
 * (cgi.limits "tcp-fin-propagate" => "SIGUSR2"). */
static volatile sig_atomic_t cgi_client_fin;

static void
on_client_fin(int sig)
{
	(void)sig;
	cgi_client_fin = 1;
}

/* stdout, not stdin: the web server closes the body's pipe once it has
 * sent the body, which is no hang-up; and not a half-close of stdout
 * either: under Apache's mod_cgid stdin and stdout are one socket, which
 * the end of the body half-closes. */
static int
cgi_hangup(void *ctx, int timeout_ms)
{
	(void)ctx;
	if (cgi_client_fin)
		return 1;
	return fd_hangup(STDOUT_FILENO, timeout_ms, 0) || cgi_client_fin;
}

/* The web server ends the answer at EOF on our stdout; /dev/null takes
 * its place so the descriptor is not reused by a later open(). */
static void
cgi_finish(void *ctx)
{
	static int done;
	int fd;

	(void)ctx;
	if (done)
		return;
	done = 1;
	fflush(stdout);
	if ((fd = open("/dev/null", O_WRONLY)) >= 0) {
		dup2(fd, STDOUT_FILENO);
		close(fd);
	} else {
		close(STDOUT_FILENO);
	}
}

void
http_io_cgi(struct http_io *io)
{
	io->ctx = NULL;
	io->read = cgi_read;
	io->write = cgi_write;
	io->flush = cgi_flush;
	io->hangup = cgi_hangup;
	io->finish = cgi_finish;
	io->envp = environ;
	signal(SIGUSR2, on_client_fin);
}

/* Memory */

static long
mem_read(void *ctx, char *p, size_t n)
{
	struct http_mem_io *m = ctx;
	size_t left = m->in_len - m->in_pos;

	if (left == 0)
		return m->read_error ? -1 : 0;
	if (n > left)
		n = left;
	if (m->read_chunk > 0 && n > m->read_chunk)
		n = m->read_chunk;
	memcpy(p, m->in + m->in_pos, n);
	m->in_pos += n;
	return (long)n;
}

static int
mem_write(void *ctx, const char *p, size_t n)
{
	struct http_mem_io *m = ctx;

	m->writes++;
	if (m->failed || (m->fail_after >= 0 &&
	    m->out.len + n > (size_t)m->fail_after)) {
		m->failed = 1;
		return -1;
	}
	return buf_append(&m->out, p, n) == GW_OK ? 0 : -1;
}

static int
mem_flush(void *ctx)
{
	struct http_mem_io *m = ctx;

	m->flushes++;
	if (m->fail_flush_at > 0 && m->flushes >= m->fail_flush_at)
		m->failed = 1;
	return m->failed ? -1 : 0;
}

void
http_mem_io_init(struct http_mem_io *m, const char *in, size_t in_len,
    char **env)
{
	m->in = in;
	m->in_len = in != NULL ? in_len : 0;
	m->in_pos = 0;
	m->read_chunk = 0;
	m->read_error = 0;
	buf_init(&m->out);
	m->fail_after = -1;
	m->fail_flush_at = 0;
	m->flushes = 0;
	m->writes = 0;
	m->failed = 0;
	m->hung_up = 0;
	m->finished = 0;
	m->env = env;
}

void
http_mem_io_free(struct http_mem_io *m)
{
	if (m == NULL)
		return;
	buf_free(&m->out);
}

static int
mem_hangup(void *ctx, int timeout_ms)
{
	struct http_mem_io *m = ctx;

	if (!m->hung_up)
		usleep((useconds_t)timeout_ms * 1000);
	return m->hung_up != 0;
}

static void
mem_finish(void *ctx)
{
	struct http_mem_io *m = ctx;

	m->finished = 1;
}

void
http_io_mem(struct http_io *io, struct http_mem_io *m)
{
	io->ctx = m;
	io->read = mem_read;
	io->write = mem_write;
	io->flush = mem_flush;
	io->hangup = mem_hangup;
	io->finish = mem_finish;
	io->envp = m->env;
}
