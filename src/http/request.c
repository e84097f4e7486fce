/*
 * Parsing one inbound request from the CGI/FastCGI parameters and its
 * body read to EOF under the size cap (contract in request.h).
 */
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "core/util.h"
#include "http/request.h"

#define READ_CHUNK ((size_t)64 * 1024)
#define DRAIN_FLOOR ((size_t)1024 * 1024)
#define DRAIN_CEILING ((size_t)1024 * 1024 * 1024)

/* Bytes of request bodies held by this process, all threads together. */
static _Atomic size_t inflight;

size_t
http_request_inflight(void)
{
	return atomic_load(&inflight);
}

/* Counts the body as total bytes (it only grows), or GW_EBUSY when that
 * would take the process over its budget. */
static GW_MUST_CHECK enum gw_err
claim(struct http_request *r, size_t total)
{
	size_t cur, more;

	if (total <= r->claimed)
		return GW_OK;
	more = total - r->claimed;
	cur = atomic_load(&inflight);
	do {
		if (cur + more > r->max_inflight)
			return GW_EBUSY;
	} while (!atomic_compare_exchange_weak(&inflight, &cur, cur + more));
	r->claimed = total;
	return GW_OK;
}

static void
unclaim(struct http_request *r)
{
	atomic_fetch_sub(&inflight, r->claimed);
	r->claimed = 0;
}

static const char *
env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* s without prefix when s equals prefix or continues with '/'; else NULL.
 * An empty prefix or "/" never matches: there is nothing to strip. */
static const char *
strip_segment_prefix(const char *s, const char *prefix, size_t plen)
{
	while (plen > 0 && prefix[plen - 1] == '/')
		plen--;
	if (plen == 0 || strncmp(s, prefix, plen) != 0)
		return NULL;
	if (s[plen] != '\0' && s[plen] != '/')
		return NULL;
	return s + plen;
}

static int
has_control_chars(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static const char *
base_path_for(char **envp, const struct http_limits *lim)
{
	const char *b;

	if (lim != NULL && lim->base_path != NULL)
		return lim->base_path;
	if ((b = env_get(envp, "COPILOT_API_BASE_PATH")) != NULL)
		return b;
	return getenv("COPILOT_API_BASE_PATH");
}

static struct stat self_st;
static int self_ok;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

/* Through readlink rather than stat("/proc/self/exe"): valgrind fakes the
 * link for its client, but a stat would find the valgrind tool itself. */
static void
self_init(void)
{
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n > 0) {
		path[n] = '\0';
		self_ok = stat(path, &self_st) == 0;
	} else {
		self_ok = stat("/proc/self/exe", &self_st) == 0;
	}
}

/* 1 when file is the executable running now (through any link or path). */
static int
is_this_program(const char *file)
{
	struct stat st;

	if (file == NULL || *file == '\0')
		return 0;
	pthread_once(&self_once, self_init);
	return self_ok && stat(file, &st) == 0 && st.st_dev == self_st.st_dev &&
	    st.st_ino == self_st.st_ino;
}

/*
 * Servers disagree on SCRIPT_NAME/PATH_INFO but all send REQUEST_URI, so
 * the route is the URI minus a base path.  Only when the web server runs
 * this very program as the script (mod_cgi, mod_cgid, mod_fcgid: its URL
 * is in the URI, perhaps rewritten) is PATH_INFO the route.  SCRIPT_NAME
 * cannot tell: lighttpd mounted at "/" splits "/acme/v1/messages" into
 * SCRIPT_NAME "/acme" and PATH_INFO "/v1/messages".
 */
static GW_MUST_CHECK enum gw_err
derive_path(struct http_request *r, const struct http_limits *lim)
{
	const char *uri = env_get(r->envp, "REQUEST_URI");
	const char *script = env_get(r->envp, "SCRIPT_NAME");
	const char *info = env_get(r->envp, "PATH_INFO");
	const char *q, *rest, *base;
	struct buf p = BUF_INIT;
	enum gw_err e = GW_OK;

	if (uri != NULL) {
		q = strchr(uri, '?');
		e = buf_append(&p, uri, q != NULL ? (size_t)(q - uri) : strlen(uri));
		if (e == GW_OK)
			r->query = strdup(q != NULL ? q + 1 : "");
	} else {
		if (script != NULL)
			e = buf_puts(&p, script);
		if (e == GW_OK && info != NULL)
			e = buf_puts(&p, info);
		q = env_get(r->envp, "QUERY_STRING");
		if (e == GW_OK)
			r->query = strdup(q != NULL ? q : "");
	}
	if (e == GW_OK && r->query == NULL)
		e = GW_ENOMEM;
	if (e != GW_OK)
		goto out;

	rest = NULL;
	if (is_this_program(env_get(r->envp, "SCRIPT_FILENAME")))
		rest = info != NULL ? info : "";
	else if ((base = base_path_for(r->envp, lim)) != NULL)
		rest = strip_segment_prefix(buf_cstr(&p), base, strlen(base));
	if (rest == NULL)
		rest = buf_cstr(&p);
	if (*rest == '\0')
		rest = "/";
	if (has_control_chars(rest)) {
		e = GW_EINVAL;
		goto out;
	}
	if ((r->path = strdup(rest)) == NULL)
		e = GW_ENOMEM;
out:
	buf_free(&p);
	return e;
}

static GW_MUST_CHECK enum gw_err
add_header(struct http_request *r, const char *name, size_t nlen,
    const char *value)
{
	struct http_header_field *h;
	char *n;
	size_t i;

	if ((n = strndup(name, nlen)) == NULL)
		return GW_ENOMEM;
	for (i = 0; i < nlen; i++)
		n[i] = n[i] == '_' ? '-' : (char)tolower((unsigned char)n[i]);
	if (http_header(r, n) != NULL) {
		/* CONTENT_TYPE wins over a stray HTTP_CONTENT_TYPE */
		free(n);
		return GW_OK;
	}
	h = realloc(r->headers, (r->nheaders + 1) * sizeof(*h));
	if (h == NULL) {
		free(n);
		return GW_ENOMEM;
	}
	r->headers = h;
	h[r->nheaders].name = n;
	if ((h[r->nheaders].value = strdup(value)) == NULL) {
		free(n);
		return GW_ENOMEM;
	}
	r->nheaders++;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
collect_headers(struct http_request *r)
{
	static const char *const cgi[] = { "CONTENT_TYPE", "CONTENT_LENGTH" };
	const char *v, *eq;
	char **e;
	enum gw_err err;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cgi); i++)
		if ((v = env_get(r->envp, cgi[i])) != NULL &&
		    (err = add_header(r, cgi[i], strlen(cgi[i]), v)) != GW_OK)
			return err;
	for (e = r->envp; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, "HTTP_", 5) != 0 || (eq = strchr(*e, '=')) == NULL ||
		    eq == *e + 5)
			continue;
		if ((err = add_header(r, *e + 5, (size_t)(eq - *e - 5), eq + 1)) != GW_OK)
			return err;
	}
	return GW_OK;
}

/* 1 when s is an acceptable inbound trace id: <= 64 chars, ^\w[\w.-]*$. */
static int
http_trace_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > HTTP_TRACE_ID_MAX)
		return 0;
	if (!isalnum((unsigned char)s[0]) && s[0] != '_')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("_.-", *s) == NULL)
			return 0;
	return 1;
}

/* <ms since the epoch, base 36>-<6 random base-36 chars>. */
static GW_MUST_CHECK enum gw_err
http_trace_id_new(char out[HTTP_TRACE_ID_MAX + 1])
{
	static const char digits[] = UTIL_ID_BASE36;
	char tmp[16], prefix[24];
	uint64_t ms = (uint64_t)util_now_ms();
	size_t n = 0, i;

	/* "<ms since the epoch in base 36>-<6 random base-36 characters>" */
	do {
		tmp[n++] = digits[ms % 36];
		ms /= 36;
	} while (ms > 0);
	for (i = 0; i < n; i++)
		prefix[i] = tmp[n - 1 - i];
	prefix[n++] = '-';
	prefix[n] = '\0';
	return util_random_id(prefix, UTIL_ID_BASE36, 6, out,
	    HTTP_TRACE_ID_MAX + 1);
}

static GW_MUST_CHECK enum gw_err
set_trace_id(struct http_request *r)
{
	const char *in = http_header(r, "x-trace-id");
	char *t;

	if (in != NULL) {
		if ((t = util_strndup_trim(in, strlen(in))) == NULL)
			return GW_ENOMEM;
		if (http_trace_id_valid(t)) {
			snprintf(r->trace_id, sizeof(r->trace_id), "%s", t);
			free(t);
			return GW_OK;
		}
		free(t);
	}
	return http_trace_id_new(r->trace_id);
}

static size_t
drain_ceiling(size_t limit)
{
	if (limit > DRAIN_CEILING / 4)
		return DRAIN_CEILING;
	return limit * 4 < DRAIN_FLOOR ? DRAIN_FLOOR : limit * 4;
}

/*
 * Reads and discards what is left of the body, so that the web server does
 * not see a connection reset (Apache AH00574).  Stops at the declared
 * length, at the end of input, or at a ceiling of 4x the limit (1 MiB at
 * least, 1 GiB at most).  Safe to call more than once.
 */
static GW_MUST_CHECK enum gw_err
http_request_drain(struct http_request *r, struct http_io *io)
{
	char tmp[16384];
	size_t ceiling = drain_ceiling(r->max_body), want;
	long got;

	while (!r->body_done && r->consumed < ceiling) {
		want = sizeof(tmp);
		if (want > ceiling - r->consumed)
			want = ceiling - r->consumed;
		if (r->content_length >= 0) {
			if (r->consumed >= (size_t)r->content_length)
				break;
			if (want > (size_t)r->content_length - r->consumed)
				want = (size_t)r->content_length - r->consumed;
		}
		got = io->read(io->ctx, tmp, want);
		if (got < 0) {
			r->body_done = 1;
			return GW_EIO;
		}
		if (got == 0)
			break;
		r->consumed += (size_t)got;
	}
	r->body_done = 1;
	return GW_OK;
}

/*
 * Reads to the end of input, or to the declared length when there is one
 * (a CGI script must not read past CONTENT_LENGTH).  Caddy sends -1 for a
 * chunked body, so an absent or negative length means "until EOF".
 */
static GW_MUST_CHECK enum gw_err
read_body(struct http_request *r, struct http_io *io)
{
	size_t want;
	long got;
	enum gw_err e;

	if (r->content_length >= 0 && (size_t)r->content_length > r->max_body)
		return GW_ETOOBIG;
	/* the whole declared length at once: a body that cannot fit is
	 * refused before it is read */
	if (r->content_length > 0 &&
	    ((e = claim(r, (size_t)r->content_length)) != GW_OK ||
	    (e = buf_reserve(&r->body, (size_t)r->content_length)) != GW_OK))
		return e;
	for (;;) {
		want = READ_CHUNK;
		if (r->content_length >= 0) {
			if (r->consumed >= (size_t)r->content_length)
				break;
			if (want > (size_t)r->content_length - r->consumed)
				want = (size_t)r->content_length - r->consumed;
		} else if (want > r->max_body + 1 - r->body.len) {
			/* one byte past the limit is enough to know */
			want = r->max_body + 1 - r->body.len;
		}
		if ((e = claim(r, r->body.len + want)) != GW_OK ||
		    (e = buf_reserve(&r->body, want)) != GW_OK)
			return e;
		got = io->read(io->ctx, r->body.data + r->body.len, want);
		if (got < 0) {
			r->body_done = 1;
			return GW_EIO;
		}
		if (got == 0) {
			/* the client gave up in the middle of its upload */
			if (r->content_length >= 0 &&
			    r->consumed < (size_t)r->content_length) {
				r->body_done = 1;
				return GW_EIO;
			}
			break;
		}
		r->consumed += (size_t)got;
		r->body.len += (size_t)got;
		r->body.data[r->body.len] = '\0';
		if (r->body.len > r->max_body)
			return GW_ETOOBIG;
	}
	r->body_done = 1;
	return GW_OK;
}

static void
request_init(struct http_request *r, struct http_io *io,
    const struct http_limits *lim)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body);
	r->content_length = -1;
	r->envp = io->envp;
	r->max_body = lim != NULL && lim->max_body > 0 ? lim->max_body :
	    HTTP_DEFAULT_MAX_BODY;
	r->max_inflight = lim != NULL && lim->max_inflight > 0 ?
	    lim->max_inflight : HTTP_DEFAULT_MAX_INFLIGHT;
	if (r->max_inflight < r->max_body)
		r->max_inflight = r->max_body;
}

enum gw_err
http_request_parse(struct http_io *io, const struct http_limits *lim,
    struct http_request *out)
{
	const char *v;
	long cl;
	enum gw_err e;

	request_init(out, io, lim);
	if ((v = env_get(out->envp, "CONTENT_LENGTH")) != NULL &&
	    util_parse_long(v, 0, LONG_MAX, &cl) == GW_OK)
		out->content_length = cl;
	if ((e = collect_headers(out)) != GW_OK)
		goto fail;
	if ((e = set_trace_id(out)) != GW_OK)
		goto fail;
	v = env_get(out->envp, "REMOTE_ADDR");
	if ((out->remote_addr = strdup(v != NULL ? v : "")) == NULL) {
		e = GW_ENOMEM;
		goto fail;
	}
	v = env_get(out->envp, "REQUEST_METHOD");
	if (v == NULL || *v == '\0' || has_control_chars(v)) {
		e = GW_EINVAL;
		goto fail;
	}
	if ((out->method = strdup(v)) == NULL) {
		e = GW_ENOMEM;
		goto fail;
	}
	if ((e = derive_path(out, lim)) != GW_OK)
		goto fail;
	if ((e = read_body(out, io)) != GW_OK)
		goto fail;
	return GW_OK;
fail:
	/* the body is of no use now, but the server must see it consumed;
	 * best effort: e is returned whatever the drain says */
	buf_free(&out->body);
	unclaim(out);
	GW_IGNORE(http_request_drain(out, io));
	return e;
}

void
http_request_free(struct http_request *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->method);
	free(r->path);
	free(r->query);
	free(r->remote_addr);
	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	buf_free(&r->body);
	unclaim(r);
	r->method = r->path = r->query = r->remote_addr = NULL;
	r->headers = NULL;
	r->nheaders = 0;
}

const char *
http_header(const struct http_request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (strcmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* A CGI/FastCGI parameter ("SERVER_NAME"); NULL when absent.  No caller in
 * the gateway (test_http_request.c includes this file to reach it). */
static __attribute__((unused)) const char *
http_request_env(const struct http_request *r, const char *name)
{
	return env_get(r->envp, name);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes s[0..n) ('+' and %XX) into b; a malformed escape stays literal. */
static GW_MUST_CHECK enum gw_err
form_decode(struct buf *b, const char *s, size_t n)
{
	size_t i;
	int hi, lo;
	enum gw_err e;

	buf_reset(b);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n &&
		    (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if ((e = buf_putc(b, c)) != GW_OK)
			return e;
	}
	return buf_append(b, "", 0);     /* "" rather than NULL when empty */
}

enum gw_err
http_query_param(const struct http_request *r, const char *name, char **out)
{
	struct buf key = BUF_INIT, val = BUF_INIT;
	const char *p = r->query != NULL ? r->query : "", *end, *eq;
	enum gw_err e = GW_ENOTFOUND;

	*out = NULL;
	while (*p != '\0') {
		end = p + strcspn(p, "&;");
		eq = memchr(p, '=', (size_t)(end - p));
		e = form_decode(&key, p, (size_t)((eq != NULL ? eq : end) - p));
		if (e != GW_OK)
			goto out;
		if (key.len == strlen(name) && strcmp(buf_cstr(&key), name) == 0) {
			if (eq != NULL)
				e = form_decode(&val, eq + 1, (size_t)(end - eq - 1));
			else
				e = buf_append(&val, "", 0);
			if (e != GW_OK)
				goto out;
			if (strlen(val.data) != val.len) {
				e = GW_EINVAL;
				goto out;
			}
			*out = buf_detach(&val);
			e = GW_OK;
			goto out;
		}
		p = *end != '\0' ? end + 1 : end;
	}
	e = GW_ENOTFOUND;
out:
	buf_free(&key);
	buf_free(&val);
	return e;
}

/* Content-Encoding names the body's coding: zstd alone, trimmed, in any
 * case (what the reference's middleware recognises). */
static int
zstd_coded(const struct http_request *r)
{
	const char *v = http_header(r, "content-encoding");
	size_t n;

	if (v == NULL)
		return 0;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n == 4 && strncasecmp(v, "zstd", 4) == 0;
}

/*
 * Decodes r->body into out, chunk by chunk: every chunk is claimed from
 * the in-flight budget before it is written, and the output stops one byte
 * past max_body, so a small bomb costs at most the limit.
 */
static GW_MUST_CHECK enum gw_err
zstd_decode(struct http_request *r, ZSTD_DStream *ds, struct buf *out)
{
	ZSTD_inBuffer in = { r->body.data, r->body.len, 0 };
	ZSTD_outBuffer ob;
	size_t want, ret;
	enum gw_err e;

	for (;;) {
		want = READ_CHUNK;
		if (want > r->max_body + 1 - out->len)
			want = r->max_body + 1 - out->len;
		if ((e = claim(r, r->body.len + out->len + want)) != GW_OK ||
		    (e = buf_reserve(out, want)) != GW_OK)
			return e;
		ob.dst = out->data + out->len;
		ob.size = want;
		ob.pos = 0;
		ret = ZSTD_decompressStream(ds, &ob, &in);
		if (ZSTD_isError(ret))
			return GW_EINVAL;
		out->len += ob.pos;
		out->data[out->len] = '\0';
		if (out->len > r->max_body)
			return GW_ETOOBIG;
		if (ret == 0 && in.pos == in.size)
			return GW_OK;       /* the last frame ended with the input */
		/* no input left and room unused: the frame was cut short */
		if (in.pos == in.size && ob.pos < ob.size)
			return GW_EINVAL;
	}
}

enum gw_err
http_request_decode_body(struct http_request *r)
{
	struct buf out = BUF_INIT;
	ZSTD_DStream *ds;
	size_t i;
	enum gw_err e;

	if (!zstd_coded(r))
		return GW_OK;
	if ((ds = ZSTD_createDStream()) == NULL)
		return GW_ENOMEM;
	/* a frame may not ask for a window over 128 MiB (zstd's default
	 * limit, stated: the output limit bounds what is kept, this what the
	 * decoder allocates) */
	if (ZSTD_isError(ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, 27))) {
		e = GW_EINTERNAL;
		goto out;
	}
	if ((e = zstd_decode(r, ds, &out)) != GW_OK)
		goto out;
	buf_free(&r->body);
	r->body = out;
	buf_init(&out);
	r->content_length = (long)r->body.len;
	/* the body is plain now: nothing downstream may decode it again */
	for (i = 0; i < r->nheaders; i++)
		if (strcmp(r->headers[i].name, "content-encoding") == 0) {
			free(r->headers[i].name);
			free(r->headers[i].value);
			memmove(&r->headers[i], &r->headers[i + 1],
			    (r->nheaders - i - 1) * sizeof(r->headers[0]));
			r->nheaders--;
			break;
		}
out:
	ZSTD_freeDStream(ds);
	buf_free(&out);
	return e;
}

void
http_request_drop_body(struct http_request *r)
{
	buf_free(&r->body);
}
