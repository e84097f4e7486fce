/*
 * The responder pool, driven the way a web server drives it: the test
 * binds a unix socket, forks a child that serves it on fd 0 through
 * http_server_run(), and talks FastCGI to it with the small client below.
 * CGI mode runs the child with a pipe on fd 0 and CGI variables set.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "http/response.c"
#include "http/server.c"

#define BARRIER_N 4
#define BODY_LIMIT 100000

/* ---- the application under test (runs in the child) ---- */

struct app {
	const char *marks_path;     /* "i" per thread_init, "f" per thread_fini */
	int fail_init;
};

struct tctx {
	const struct app *app;
	long served;
};

static pthread_mutex_t barrier_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t barrier_cv = PTHREAD_COND_INITIALIZER;
static int barrier_in;

static void
mark(const struct app *a, const char *m)
{
	int fd = open(a->marks_path, O_WRONLY | O_APPEND | O_CREAT, 0600);

	if (fd >= 0) {
		if (write(fd, m, 1) != 1)
			perror("thread marker");
		close(fd);
	}
}

static void *
t_init(void *arg)
{
	const struct app *a = arg;
	struct tctx *t;

	if (a->fail_init)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) != NULL) {
		t->app = a;
		mark(a, "i");
	}
	return t;
}

static void
t_fini(void *p)
{
	struct tctx *t = p;

	mark(t->app, "f");
	free(t);
}

/* Waits until BARRIER_N handlers are inside at the same time. */
static int
barrier(void)
{
	struct timespec until;
	int met;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&barrier_mu);
	barrier_in++;
	pthread_cond_broadcast(&barrier_cv);
	while (barrier_in < BARRIER_N &&
	    pthread_cond_timedwait(&barrier_cv, &barrier_mu, &until) == 0)
		;
	met = barrier_in >= BARRIER_N;
	pthread_mutex_unlock(&barrier_mu);
	return met;
}

static void
t_handle(void *p, struct http_conn *c)
{
	struct tctx *t = p;
	const struct http_request *r = c->req;
	const char *ct = http_header(r, "content-type");
	struct buf b = BUF_INIT;
	char data[32];
	int i;

	/* This runs in the server child, where no check assertion can fail
	 * the test: the client checks what arrives (a failure here shows as a
	 * wrong or missing answer), and some tests hang up on purpose. */
	t->served++;
	if (strcmp(r->path, "/echo") == 0) {
		GW_IGNORE(buf_printf(&b, "%s %s body=%zu q=%s ct=%s", r->method,
		    r->path, r->body.len, r->query, ct != NULL ? ct : "-"));
		GW_IGNORE(http_send_text(c, 200, buf_cstr(&b)));
	} else if (strcmp(r->path, "/sse") == 0) {
		GW_IGNORE(http_sse_begin(c));
		for (i = 0; i < 5; i++) {
			util_sleep_ms(150);
			snprintf(data, sizeof(data), "{\"n\":%d}", i);
			GW_IGNORE(http_sse_event(c, "tick", data,
			    strlen(data)));
		}
		snprintf(data, sizeof(data), "stop=%d", http_server_stop_requested());
		GW_IGNORE(http_sse_event(c, "end", data, strlen(data)));
		GW_IGNORE(http_sse_event(c, NULL, "[DONE]", 6));
	} else if (strcmp(r->path, "/barrier") == 0) {
		GW_IGNORE(http_send_text(c, 200,
		    barrier() ? "met" : "timeout"));
	} else if (strcmp(r->path, "/nothing") == 0) {
		/* sends nothing: the server must answer 500 */
	} else {
		GW_IGNORE(http_send_text(c, 404, "404 Not Found"));
	}
	buf_free(&b);
}

static void
app_opts(struct http_server_opts *o, struct app *a, int nthreads)
{
	memset(o, 0, sizeof(*o));
	o->nthreads = nthreads;
	o->arg = a;
	o->thread_init = t_init;
	o->thread_fini = t_fini;
	o->handle = t_handle;
	o->limits.max_body = BODY_LIMIT;
}

/* ---- in-process: http_server_serve over memory ---- */

static char *
serve_mem(char **env, const char *body, size_t blen, size_t *in_left)
{
	struct app a = { "/dev/null", 0 };
	struct http_server_opts o;
	struct http_mem_io m;
	struct http_io io;
	struct tctx t = { &a, 0 };
	char *s;

	app_opts(&o, &a, 1);
	http_mem_io_init(&m, body, blen, env);
	http_io_mem(&io, &m);
	http_server_serve(&o, &t, &io);
	s = strdup(buf_cstr(&m.out));
	*in_left = m.in_len - m.in_pos;
	ck_assert_int_ge(m.flushes, 1);
	http_mem_io_free(&m);
	return s;
}

START_TEST(serve_answers_413_and_drains)
{
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/echo", NULL };
	size_t n = BODY_LIMIT + 50, left;
	char *body = malloc(n), *s;

	ck_assert_ptr_nonnull(body);
	memset(body, 'x', n);
	s = serve_mem(env, body, n, &left);
	ck_assert_uint_eq(left, 0);
	ck_assert(util_has_prefix(s, "Status: 413 Content Too Large\r\n"));
	ck_assert_str_eq(strstr(s, "\r\n\r\n") + 4, "{\"error\":{\"message\":"
	    "\"Request body too large: limit is 100000 bytes\","
	    "\"type\":\"request_too_large\"}}");
	ck_assert_ptr_nonnull(strstr(s, "\r\nx-trace-id: "));
	free(s);
	free(body);
}
END_TEST

START_TEST(serve_fills_in_500_and_400)
{
	char *nothing[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/nothing",
		"HTTP_X_TRACE_ID=abc", NULL };
	char *bad[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/a\r\nb", NULL };
	char *ok[] = { "REQUEST_METHOD=PUT", "REQUEST_URI=/echo?z=1",
		"CONTENT_TYPE=text/plain", NULL };
	size_t left;
	char *s;

	s = serve_mem(nothing, NULL, 0, &left);
	ck_assert_str_eq(s, "Status: 500 Internal Server Error\r\n"
	    "Content-Type: application/json\r\nContent-Length: 74\r\n"
	    "Access-Control-Allow-Origin: *\r\nx-trace-id: abc\r\n\r\n"
	    "{\"error\":{\"message\":\"The server produced no response\",\"type\":\"api_error\"}}");
	free(s);
	s = serve_mem(bad, "xyz", 3, &left);
	ck_assert(util_has_prefix(s, "Status: 400 Bad Request\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "\"type\":\"invalid_request_error\""));
	ck_assert_uint_eq(left, 0);
	free(s);
	s = serve_mem(ok, "hello", 5, &left);
	ck_assert_str_eq(strstr(s, "\r\n\r\n") + 4, "PUT /echo body=5 q=z=1 ct=text/plain");
	free(s);
}
END_TEST

/* ---- a minimal FastCGI client ---- */

enum { FCGI_BEGIN = 1, FCGI_END = 3, FCGI_PARAMS = 4, FCGI_STDIN = 5,
	FCGI_STDOUT = 6, FCGI_STDERR = 7 };

static void
rec_header(struct buf *b, int type, int id, size_t len)
{
	unsigned char h[8] = { 1, (unsigned char)type, (unsigned char)(id >> 8),
		(unsigned char)id, (unsigned char)(len >> 8), (unsigned char)len, 0, 0 };

	ck_assert_int_eq(buf_append(b, h, sizeof(h)), GW_OK);
}

static void
records(struct buf *b, int type, int id, const char *p, size_t n)
{
	size_t chunk;

	while (n > 0) {
		chunk = n > 65535 ? 65535 : n;
		rec_header(b, type, id, chunk);
		ck_assert_int_eq(buf_append(b, p, chunk), GW_OK);
		p += chunk;
		n -= chunk;
	}
	rec_header(b, type, id, 0);
}

static void
nv_len(struct buf *b, size_t n)
{
	unsigned char l[4] = { (unsigned char)(n >> 24 | 0x80),
		(unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n };

	if (n < 128)
		ck_assert_int_eq(buf_putc(b, (char)n), GW_OK);
	else
		ck_assert_int_eq(buf_append(b, l, 4), GW_OK);
}

static int
write_all(int fd, const char *p, size_t n)
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

/* params: "NAME=value" strings, NULL-terminated. */
static void
fcgi_send(int fd, int id, int keep, char **params, const char *body, size_t blen)
{
	unsigned char begin[8] = { 0, 1, (unsigned char)(keep ? 1 : 0), 0, 0, 0, 0, 0 };
	struct buf b = BUF_INIT, p = BUF_INIT;
	const char *eq;

	rec_header(&b, FCGI_BEGIN, id, sizeof(begin));
	ck_assert_int_eq(buf_append(&b, begin, sizeof(begin)), GW_OK);
	for (; *params != NULL; params++) {
		eq = strchr(*params, '=');
		nv_len(&p, (size_t)(eq - *params));
		nv_len(&p, strlen(eq + 1));
		ck_assert_int_eq(buf_append(&p, *params,
		    (size_t)(eq - *params)), GW_OK);
		ck_assert_int_eq(buf_puts(&p, eq + 1), GW_OK);
	}
	records(&b, FCGI_PARAMS, id, p.data, p.len);
	records(&b, FCGI_STDIN, id, body, blen);
	ck_assert_int_eq(write_all(fd, b.data, b.len), 0);
	buf_free(&b);
	buf_free(&p);
}

/* 1: n bytes read; 0: EOF before any byte; -1: timeout or error. */
static int
read_full(int fd, void *p, size_t n, int timeout_ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		r = read(fd, (char *)p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return got == 0 ? 0 : -1;
		got += (size_t)r;
	}
	return 1;
}

/* One record; its type in *type, STDOUT content appended to out.
 * For END_REQUEST, *app is the application status. */
static int
fcgi_record(int fd, struct buf *out, int *type, int *app, int timeout_ms)
{
	unsigned char h[8], body[65535 + 255];
	size_t len, pad;
	int r;

	if ((r = read_full(fd, h, 8, timeout_ms)) != 1)
		return r;
	len = (size_t)h[4] << 8 | h[5];
	pad = h[6];
	if (len + pad > 0 && read_full(fd, body, len + pad, timeout_ms) != 1)
		return -1;
	*type = h[1];
	if (*type == FCGI_STDOUT)
		ck_assert_int_eq(buf_append(out, body, len), GW_OK);
	if (*type == FCGI_END && len >= 4)
		*app = body[0] << 24 | body[1] << 16 | body[2] << 8 | body[3];
	return 1;
}

/* Reads until END_REQUEST; returns the application status or -1. */
static int
fcgi_finish(int fd, struct buf *out, int timeout_ms)
{
	int type = 0, app = -1;

	while (fcgi_record(fd, out, &type, &app, timeout_ms) == 1)
		if (type == FCGI_END)
			return app;
	return -1;
}

/* ---- the child server ---- */

struct srv {
	pid_t pid;
	char dir[80];
	char sock[108];             /* sizeof(sun_path) */
	char marks[100];
	struct app app;
};

static void
srv_paths(struct srv *s)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(s->dir, sizeof(s->dir), "%s/gw-http-XXXXXX",
	    tmp != NULL && *tmp != '\0' && strlen(tmp) < 60 ? tmp : P_tmpdir);
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/fcgi.sock", s->dir);
	snprintf(s->marks, sizeof(s->marks), "%s/marks", s->dir);
	s->app.marks_path = s->marks;
	s->app.fail_init = 0;
}

static void
srv_start(struct srv *s, int nthreads, int fail_init)
{
	struct sockaddr_un sa;
	struct http_server_opts o;
	int ls;

	srv_paths(s);
	s->app.fail_init = fail_init;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->sock);
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(ls, 0);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(ls, 64), 0);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		dup2(ls, 0);
		close(ls);
		log_set_level(LOG_WARN);
		app_opts(&o, &s->app, nthreads);
		_exit(http_server_run(&o));
	}
	close(ls);
}

static int
srv_connect(const struct srv *s)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->sock);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* The child's exit status, or -1 if it is still running after timeout_ms. */
static int
srv_wait(struct srv *s, int timeout_ms)
{
	int64_t until = util_mono_ms() + timeout_ms;
	int st;
	pid_t r;

	do {
		r = waitpid(s->pid, &st, WNOHANG);
		if (r == s->pid) {
			s->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		util_sleep_ms(20);
	} while (util_mono_ms() < until);
	return -1;
}

/* How many times m is in the file at path (-1: cannot read it). */
static long
count_marks(const char *path, char m)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int c;

	if (f == NULL)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == m;
	fclose(f);
	return n;
}

static void
srv_cleanup(struct srv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	unlink(s->sock);
	unlink(s->marks);
	rmdir(s->dir);
}

/* One request on a fresh connection; the response (headers and body) in out. */
static int
roundtrip(const struct srv *s, char **params, const char *body, size_t blen,
    struct buf *out)
{
	int fd = srv_connect(s), app;

	fcgi_send(fd, 1, 0, params, body, blen);
	app = fcgi_finish(fd, out, 20000);
	close(fd);
	return app;
}

START_TEST(fcgi_requests_and_idle_stop)
{
	char *echo[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/echo?beta=true",
		"SCRIPT_NAME=", "PATH_INFO=/echo", "CONTENT_LENGTH=-1",
		"CONTENT_TYPE=application/json", NULL };
	char *nothing[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/nothing", NULL };
	char *body = malloc(BODY_LIMIT + 1);
	struct buf out = BUF_INIT;
	struct srv s;
	int i;

	ck_assert_ptr_nonnull(body);
	memset(body, 'b', BODY_LIMIT + 1);
	srv_start(&s, 4, 0);
	/* Caddy-style chunked body (CONTENT_LENGTH=-1), several STDIN records */
	for (i = 0; i < 20; i++) {
		buf_reset(&out);
		ck_assert_int_eq(roundtrip(&s, echo, body, i == 0 ? BODY_LIMIT : 5,
		    &out), 0);
		ck_assert(util_has_prefix(buf_cstr(&out), "Status: 200 OK\r\n"));
		ck_assert_str_eq(strstr(out.data, "\r\n\r\n") + 4, i == 0 ?
		    "POST /echo body=100000 q=beta=true ct=application/json" :
		    "POST /echo body=5 q=beta=true ct=application/json");
	}
	buf_reset(&out);
	ck_assert_int_eq(roundtrip(&s, echo, body, BODY_LIMIT + 1, &out), 0);
	ck_assert(util_has_prefix(buf_cstr(&out), "Status: 413 Content Too Large\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "limit is 100000 bytes"));
	buf_reset(&out);
	ck_assert_int_eq(roundtrip(&s, nothing, NULL, 0, &out), 0);
	ck_assert(util_has_prefix(buf_cstr(&out), "Status: 500 "));

	/* idle: SIGTERM ends the process promptly and cleanly */
	ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
	ck_assert_int_eq(srv_wait(&s, 15000), 0);
	/* every thread ran its thread_fini: the 4 spare ones, and any the
	 * pool started while all 4 were busy (under load a thread that has
	 * answered may not be waiting again yet when the next request comes) */
	ck_assert_int_ge(count_marks(s.marks, 'i'), 4);
	ck_assert_int_eq(count_marks(s.marks, 'f'), count_marks(s.marks, 'i'));
	srv_cleanup(&s);
	buf_free(&out);
	free(body);
}
END_TEST

START_TEST(fcgi_concurrent_requests)
{
	char *barrier_req[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/barrier", NULL };
	char *echo[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/echo", NULL };
	struct buf out = BUF_INIT;
	struct srv s;
	int fds[BARRIER_N + 8], i;

	srv_start(&s, BARRIER_N, 0);
	/* every handler waits for the others: only a real pool answers "met" */
	for (i = 0; i < BARRIER_N; i++) {
		fds[i] = srv_connect(&s);
		fcgi_send(fds[i], 1, 0, barrier_req, NULL, 0);
	}
	for (i = 0; i < BARRIER_N; i++) {
		buf_reset(&out);
		ck_assert_int_eq(fcgi_finish(fds[i], &out, 30000), 0);
		ck_assert_str_eq(strstr(buf_cstr(&out), "\r\n\r\n") + 4, "met");
		close(fds[i]);
	}
	/* more connections than workers: they queue and are all served */
	for (i = 0; i < BARRIER_N + 8; i++) {
		fds[i] = srv_connect(&s);
		fcgi_send(fds[i], 1, 0, echo, NULL, 0);
	}
	for (i = 0; i < BARRIER_N + 8; i++) {
		buf_reset(&out);
		ck_assert_int_eq(fcgi_finish(fds[i], &out, 30000), 0);
		ck_assert_str_eq(strstr(buf_cstr(&out), "\r\n\r\n") + 4,
		    "GET /echo body=0 q= ct=-");
		close(fds[i]);
	}
	ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
	ck_assert_int_eq(srv_wait(&s, 15000), 0);
	srv_cleanup(&s);
	buf_free(&out);
}
END_TEST

START_TEST(fcgi_sigterm_lets_stream_finish)
{
	char *sse[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/sse", NULL };
	struct buf out = BUF_INIT;
	struct srv s;
	int fd, type = 0, app = -1, i;
	char want[32];

	srv_start(&s, 2, 0);
	fd = srv_connect(&s);
	fcgi_send(fd, 1, 0, sse, NULL, 0);
	/* headers arrive at once (flushed by http_sse_begin), then the first tick */
	while (strstr(buf_cstr(&out), "event: tick") == NULL)
		ck_assert_int_eq(fcgi_record(fd, &out, &type, &app, 20000), 1);
	ck_assert(util_has_prefix(out.data, "Status: 200 OK\r\n"
	    "Content-Type: text/event-stream\r\n"));
	ck_assert_ptr_null(strstr(out.data, "Content-Length"));
	ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
	ck_assert_int_eq(fcgi_finish(fd, &out, 20000), 0);
	close(fd);
	for (i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), "event: tick\ndata: {\"n\":%d}\n\n", i);
		ck_assert_ptr_nonnull(strstr(out.data, want));
	}
	/* the handler saw the stop request and still finished */
	ck_assert_ptr_nonnull(strstr(out.data,
	    "event: end\ndata: stop=1\n\ndata: [DONE]\n\n"));
	ck_assert_int_eq(srv_wait(&s, 15000), 0);
	ck_assert_int_eq(count_marks(s.marks, 'i'), 2);
	ck_assert_int_eq(count_marks(s.marks, 'f'), 2);
	srv_cleanup(&s);
	buf_free(&out);
}
END_TEST

START_TEST(fcgi_kept_connection_is_closed)
{
	char *echo[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/echo", NULL };
	struct buf out = BUF_INIT;
	struct srv s;
	char c;
	int a, b;

	/* one worker: if it waited on the kept connection, b would starve */
	srv_start(&s, 1, 0);
	a = srv_connect(&s);
	fcgi_send(a, 1, 1, echo, NULL, 0);
	ck_assert_int_eq(fcgi_finish(a, &out, 20000), 0);
	ck_assert_int_eq(read_full(a, &c, 1, 20000), 0);     /* EOF */
	b = srv_connect(&s);
	buf_reset(&out);
	fcgi_send(b, 1, 0, echo, NULL, 0);
	ck_assert_int_eq(fcgi_finish(b, &out, 20000), 0);
	ck_assert_str_eq(strstr(buf_cstr(&out), "\r\n\r\n") + 4,
	    "GET /echo body=0 q= ct=-");
	close(a);
	close(b);
	ck_assert_int_eq(kill(s.pid, SIGUSR1), 0);
	ck_assert_int_eq(srv_wait(&s, 15000), 0);
	srv_cleanup(&s);
	buf_free(&out);
}
END_TEST

START_TEST(fcgi_thread_init_failure)
{
	struct srv s;

	srv_start(&s, 3, 1);
	ck_assert_int_eq(srv_wait(&s, 15000), 1);
	srv_cleanup(&s);
}
END_TEST

/* ---- CGI mode ---- */

/* Runs the server as CGI with env (NAME=value...) and body on stdin;
 * returns the exit status, stdout in out. */
static int
run_cgi(char **env, const char *body, struct buf *out)
{
	struct app a = { "/dev/null", 0 };
	struct http_server_opts o;
	int in[2], outp[2], st;
	char tmp[4096];
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(outp), 0);
	ck_assert_int_eq(write(in[1], body, strlen(body)), (ssize_t)strlen(body));
	close(in[1]);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		close(in[0]);
		close(outp[0]);
		close(outp[1]);
		unsetenv("REQUEST_METHOD");
		for (; *env != NULL; env++)
			putenv(*env);
		log_set_level(LOG_ERROR);
		app_opts(&o, &a, 0);
		_exit(http_server_run(&o));
	}
	close(in[0]);
	close(outp[1]);
	while (read_full(outp[0], tmp, 1, 20000) == 1) {
		ck_assert_int_eq(buf_append(out, tmp, 1), GW_OK);
		n = read(outp[0], tmp, sizeof(tmp));
		if (n > 0)
			ck_assert_int_eq(buf_append(out, tmp, (size_t)n),
			    GW_OK);
	}
	close(outp[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(cgi_one_request)
{
	char *post[] = { "REQUEST_METHOD=POST",
		"REQUEST_URI=/cgi-bin/gw.cgi/echo?x=1", "SCRIPT_NAME=/cgi-bin/gw.cgi",
		"PATH_INFO=/echo", "QUERY_STRING=x=1", "CONTENT_LENGTH=5",
		"CONTENT_TYPE=text/plain", "GATEWAY_INTERFACE=CGI/1.1", NULL };
	char *sse[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/cgi-bin/gw.cgi/sse",
		"SCRIPT_NAME=/cgi-bin/gw.cgi", "PATH_INFO=/sse", NULL };
	char *none[] = { "REQUEST_URI=/echo", NULL };
	struct buf out = BUF_INIT;
	char exe[4096];
	ssize_t n;

	/* mod_cgi: SCRIPT_FILENAME is the program itself, its URL in the URI */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	ck_assert_int_eq(setenv("SCRIPT_FILENAME", exe, 1), 0);

	ck_assert_int_eq(run_cgi(post, "hello, and more", &out), 0);
	ck_assert(util_has_prefix(buf_cstr(&out), "Status: 200 OK\r\n"));
	ck_assert_str_eq(strstr(out.data, "\r\n\r\n") + 4,
	    "POST /echo body=5 q=x=1 ct=text/plain");
	buf_reset(&out);
	ck_assert_int_eq(run_cgi(sse, "", &out), 0);
	ck_assert(util_has_prefix(buf_cstr(&out), "Status: 200 OK\r\n"
	    "Content-Type: text/event-stream\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "event: tick\ndata: {\"n\":4}\n\n"
	    "event: end\ndata: stop=0\n\ndata: [DONE]\n\n"));
	/* started from a shell: no request to answer */
	buf_reset(&out);
	ck_assert_int_eq(run_cgi(none, "", &out), 2);
	ck_assert_uint_eq(out.len, 0);
	unsetenv("SCRIPT_FILENAME");
	buf_free(&out);
}
END_TEST

START_TEST(threads_from_env)
{
	unsetenv("COPILOT_API_THREADS");
	ck_assert_int_eq(http_server_threads_from_env(), 16);
	setenv("COPILOT_API_THREADS", "3", 1);
	ck_assert_int_eq(http_server_threads_from_env(), 3);
	setenv("COPILOT_API_THREADS", "0", 1);
	ck_assert_int_eq(http_server_threads_from_env(), 16);
	setenv("COPILOT_API_THREADS", "257", 1);
	ck_assert_int_eq(http_server_threads_from_env(), 16);
	setenv("COPILOT_API_THREADS", "256", 1);
	ck_assert_int_eq(http_server_threads_from_env(), 256);
	setenv("COPILOT_API_THREADS", "4x", 1);
	ck_assert_int_eq(http_server_threads_from_env(), 16);
	unsetenv("COPILOT_API_THREADS");
}
END_TEST

static Suite *
server_suite(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("server");

	/* real processes and sleeps; valgrind makes them slower still */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, serve_answers_413_and_drains);
	tcase_add_test(tc, serve_fills_in_500_and_400);
	tcase_add_test(tc, fcgi_requests_and_idle_stop);
	tcase_add_test(tc, fcgi_concurrent_requests);
	tcase_add_test(tc, fcgi_sigterm_lets_stream_finish);
	tcase_add_test(tc, fcgi_kept_connection_is_closed);
	tcase_add_test(tc, fcgi_thread_init_failure);
	tcase_add_test(tc, cgi_one_request);
	tcase_add_test(tc, threads_from_env);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(server_suite());
}
