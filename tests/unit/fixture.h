/*
 * Golden-file runner for the translators (tests/fixtures/<dir>/...).
 *
 * JSON cases: <case>.in.json -> <case>.out.json, compared as JSON values.
 * Stream cases: <case>.in.sse (raw upstream bytes) -> <case>.out.sse (the
 * client's bytes, "event: X\ndata: Y\n\n" as the SSE writer frames them),
 * compared byte for byte.  Every stream case is fed whole, one byte at a
 * time, in random pieces (fixed seeds), and split inside every multi-byte
 * UTF-8 sequence, and must give the same output each time.
 */
#ifndef GW_FIXTURE_H
#define GW_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/buf.h"
#include "core/json.h"
#include "translate/stream.h"
#include "upstream/sse.h"

static inline char *
fx_path(const char *rel)
{
	const char *root = getenv("GW_TEST_DATA");
	struct buf b = BUF_INIT;

	/* abort, not ck_assert: suites count their cases before Check runs */
	if (buf_printf(&b, "%s/%s", root != NULL ? root : "tests/fixtures",
	    rel) != GW_OK)
		abort();
	return buf_detach(&b);
}

/* Whole file (NUL-terminated); fails the test when missing. */
static inline char *
fx_read(const char *rel, size_t *len)
{
	char *p = fx_path(rel), chunk[8192];
	struct buf b = BUF_INIT;
	FILE *f = fopen(p, "rb");
	size_t n;

	ck_assert_msg(f != NULL, "cannot open fixture %s", p);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ck_assert_int_eq(buf_append(&b, chunk, n), GW_OK);
	fclose(f);
	free(p);
	if (len != NULL)
		*len = b.len;
	return buf_detach(&b);
}

static inline int
fx_exists(const char *rel)
{
	char *p = fx_path(rel);
	FILE *f = fopen(p, "rb");

	free(p);
	if (f != NULL)
		fclose(f);
	return f != NULL;
}

static inline cJSON *
fx_json(const char *rel)
{
	size_t n;
	char *s = fx_read(rel, &n);
	int line = 0, col = 0;
	cJSON *v = json_parse(s, n, &line, &col);

	ck_assert_msg(v != NULL, "fixture %s: bad JSON at %d:%d", rel, line, col);
	free(s);
	return v;
}

/* Fails with both documents printed when they differ. */
static inline void
fx_assert_json_eq(const cJSON *got, const cJSON *want, const char *what)
{
	char *g, *w;

	if (cJSON_Compare(got, want, 1))
		return;
	g = cJSON_Print(got);
	w = cJSON_Print(want);
	ck_abort_msg("%s differs\n--- got:\n%s\n--- want:\n%s", what,
	    g ? g : "(null)", w ? w : "(null)");
}

/* Sorted names of the cases in dir that have the given suffix
 * (".in.json"), without the suffix.  NULL-terminated; free with fx_free_list. */
static inline char **
fx_cases(const char *dir, const char *suffix)
{
	char *p = fx_path(dir), **v = NULL;
	size_t n = 0, sl = strlen(suffix), i, j;
	struct dirent *de;
	DIR *d = opendir(p);

	ck_assert_msg(d != NULL, "no fixture dir %s", p);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l <= sl || strcmp(de->d_name + l - sl, suffix) != 0)
			continue;
		v = realloc(v, (n + 2) * sizeof(*v));
		v[n++] = strndup(de->d_name, l - sl);
		v[n] = NULL;
	}
	closedir(d);
	free(p);
	for (i = 1; i < n; i++)          /* insertion sort: few cases */
		for (j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	if (v == NULL)
		v = calloc(1, sizeof(*v));
	return v;
}

static inline void
fx_free_list(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* A sink that frames events exactly as the SSE writer does. */
static inline enum gw_err
fx_emit(void *ctx, const char *event, const char *data, size_t len)
{
	struct buf *b = ctx;
	const char *p = data, *end = data + len, *nl;
	enum gw_err e;

	if (event != NULL && (e = buf_printf(b, "event: %s\n", event)) != GW_OK)
		return e;
	for (;;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((e = buf_puts(b, "data: ")) != GW_OK ||
		    (e = buf_append(b, p, nl != NULL ? (size_t)(nl - p) :
		    (size_t)(end - p))) != GW_OK ||
		    (e = buf_putc(b, '\n')) != GW_OK)
			return e;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return buf_putc(b, '\n');
}

static inline enum gw_err
fx_comment(void *ctx, const char *text)
{
	return buf_printf((struct buf *)ctx, ": %s\n\n", text);
}

struct fx_run {
	struct tr_stream *tr;
	struct tr_sink sink;
};

static inline enum gw_err
fx_on_event(void *ctx, const char *event, const char *data, size_t len,
    const char *id)
{
	struct fx_run *r = ctx;

	(void)id;
	return r->tr->ops->feed(r->tr, event, data, len, &r->sink);
}

enum fx_split { FX_WHOLE, FX_BYTES, FX_RANDOM, FX_UTF8 };

/*
 * Feeds in[0..n) through the SSE parser into tr, in pieces chosen by how
 * (seed for FX_RANDOM), then finishes tr the way the relay does: GW_OK
 * when the stream ended cleanly and tr saw its terminal event, else
 * GW_EUPSTREAM.  The client's bytes are appended to out.
 */
static inline void
fx_feed(struct tr_stream *tr, const char *in, size_t n, enum fx_split how,
    unsigned seed, struct buf *out)
{
	struct fx_run r = { tr, { out, fx_emit, fx_comment } };
	struct sse_parser *p = NULL;
	size_t i = 0, step;
	int truncated = 0;

	ck_assert_int_eq(sse_parser_new(0, fx_on_event, &r, &p), GW_OK);
	while (i < n) {
		switch (how) {
		case FX_WHOLE: step = n - i; break;
		case FX_BYTES: step = 1; break;
		case FX_RANDOM:
			seed = seed * 1103515245u + 12345u;
			step = 1 + (seed >> 16) % 97;
			break;
		default:
			/* stop right after every UTF-8 lead byte */
			step = 1;
			while (i + step < n &&
			    ((unsigned char)in[i + step - 1] & 0xC0) != 0xC0)
				step++;
			break;
		}
		if (step > n - i)
			step = n - i;
		ck_assert_int_eq(sse_parser_feed(p, in + i, step), GW_OK);
		i += step;
	}
	ck_assert_int_eq(sse_parser_finish(p, &truncated), GW_OK);
	sse_parser_free(p);
	if (!truncated && tr->done)
		tr->ops->finish(tr, GW_OK, NULL, &r.sink);
	else
		tr->ops->finish(tr, GW_EUPSTREAM,
		    "upstream stream ended without a terminal event", &r.sink);
}

typedef struct tr_stream *(*fx_tr_factory)(const char *dir, const char *name);

/* Runs one stream case in every split mode against <name>.out.sse. */
static inline void
fx_check_stream(const char *dir, const char *name, fx_tr_factory make)
{
	static const enum fx_split modes[] = { FX_WHOLE, FX_BYTES, FX_UTF8,
	    FX_RANDOM, FX_RANDOM, FX_RANDOM };
	struct buf rel = BUF_INIT, got = BUF_INIT;
	char *in, *want;
	size_t n, wn, m;

	ck_assert_int_eq(buf_printf(&rel, "%s/%s.in.sse", dir, name), GW_OK);
	in = fx_read(rel.data, &n);
	buf_reset(&rel);
	ck_assert_int_eq(buf_printf(&rel, "%s/%s.out.sse", dir, name), GW_OK);
	want = fx_read(rel.data, &wn);
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct tr_stream *tr = make(dir, name);

		buf_reset(&got);
		fx_feed(tr, in, n, modes[m], (unsigned)(m * 7919 + 17), &got);
		tr_stream_free(tr);
		ck_assert_msg(got.len == wn && memcmp(buf_cstr(&got), want, wn) == 0,
		    "%s/%s (split mode %zu) differs\n--- got:\n%s\n--- want:\n%s",
		    dir, name, m, buf_cstr(&got), want);
	}
	free(in);
	free(want);
	buf_free(&rel);
	buf_free(&got);
}

#endif
