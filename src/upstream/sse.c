/*
 * The incremental Server-Sent Events parser: chunks split anywhere, one
 * callback per dispatched event (contract in sse.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "upstream/sse.h"

static const unsigned char bom[3] = { 0xef, 0xbb, 0xbf };

struct sse_parser {
	sse_event_fn *cb;
	void *ctx;
	size_t max;
	struct buf line;      /* a line split across chunks */
	struct buf data;
	struct buf event;
	struct buf id;
	int has_data;         /* a data line was seen (data may still be "") */
	int has_id;
	int pending;          /* field lines since the last blank line */
	int after_cr;         /* last byte was CR: a following LF is its pair */
	int bom_done;
	size_t bom_seen;      /* BOM bytes matched at stream start */
	long events;
	enum gw_err err;      /* sticky */
};

enum gw_err
sse_parser_new(size_t max_event, sse_event_fn *cb, void *ctx,
    struct sse_parser **out)
{
	struct sse_parser *p;

	*out = NULL;
	if (cb == NULL)
		return GW_EINVAL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return GW_ENOMEM;
	p->cb = cb;
	p->ctx = ctx;
	p->max = max_event != 0 ? max_event : SSE_MAX_EVENT_DEFAULT;
	*out = p;
	return GW_OK;
}

void
sse_parser_free(struct sse_parser *p)
{
	if (p == NULL)
		return;
	buf_free(&p->line);
	buf_free(&p->data);
	buf_free(&p->event);
	buf_free(&p->id);
	free(p);
}

/* Events dispatched so far.  No caller in the gateway (test_sse.c includes
 * this file to reach it). */
static __attribute__((unused)) long
sse_parser_events(const struct sse_parser *p)
{
	return p->events;
}

static GW_MUST_CHECK enum gw_err
dispatch(struct sse_parser *p)
{
	enum gw_err e = GW_OK;

	p->pending = 0;
	/* The spec drops an event without data lines, event name included. */
	if (p->has_data) {
		p->events++;
		e = p->cb(p->ctx, p->event.len > 0 ? p->event.data : NULL,
		    buf_cstr(&p->data), p->data.len,
		    p->has_id ? buf_cstr(&p->id) : NULL);
	}
	buf_reset(&p->data);
	buf_reset(&p->event);
	p->has_data = 0;
	return e;
}

static int
field_is(const char *f, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(f, name, n) == 0;
}

static GW_MUST_CHECK enum gw_err
set_buf(struct buf *b, const char *v, size_t n)
{
	buf_reset(b);
	return buf_append(b, v, n);
}

static GW_MUST_CHECK enum gw_err
process_line(struct sse_parser *p, const char *s, size_t n)
{
	const char *colon, *v;
	size_t fn, vn;
	enum gw_err e;

	if (n == 0)
		return dispatch(p);
	if (s[0] == ':')
		return GW_OK;               /* comment */
	p->pending = 1;
	colon = memchr(s, ':', n);
	fn = colon != NULL ? (size_t)(colon - s) : n;
	v = colon != NULL ? colon + 1 : s + n;
	vn = n - (size_t)(v - s);
	if (vn > 0 && v[0] == ' ') {
		v++;
		vn--;
	}
	if (field_is(s, fn, "data")) {
		if (p->data.len + (size_t)p->has_data + vn + p->event.len > p->max)
			return GW_ETOOBIG;
		if (p->has_data && (e = buf_putc(&p->data, '\n')) != GW_OK)
			return e;
		p->has_data = 1;
		return vn > 0 ? buf_append(&p->data, v, vn) : GW_OK;
	}
	if (field_is(s, fn, "event"))
		return set_buf(&p->event, v, vn);
	/* An id with a NUL in it is ignored, per spec. */
	if (field_is(s, fn, "id") && memchr(v, '\0', vn) == NULL) {
		p->has_id = 1;
		return set_buf(&p->id, v, vn);
	}
	return GW_OK;                       /* retry and unknown fields */
}

/* Strips one UTF-8 BOM at the very start; consumes what it matched. */
static size_t
skip_bom(struct sse_parser *p, const unsigned char *s, size_t n)
{
	size_t used = 0;

	while (!p->bom_done && used < n) {
		if (s[used] == bom[p->bom_seen]) {
			used++;
			if (++p->bom_seen == sizeof(bom))
				p->bom_done = 1;
			continue;
		}
		/* Not a BOM after all: what matched is ordinary line bytes. */
		p->bom_done = 1;
		if (p->bom_seen > 0 &&
		    (p->err = buf_append(&p->line, bom, p->bom_seen)) != GW_OK)
			return n;
	}
	return used;
}

enum gw_err
sse_parser_feed(struct sse_parser *p, const void *bytes, size_t n)
{
	const char *s = bytes;
	const char *end;
	size_t i, used;

	if (p->err != GW_OK)
		return p->err;
	used = skip_bom(p, bytes, n);
	if (p->err != GW_OK)
		return p->err;
	s += used;
	n -= used;
	while (n > 0) {
		if (p->after_cr) {
			p->after_cr = 0;
			if (*s == '\n') {
				s++;
				n--;
				continue;
			}
		}
		for (i = 0, end = NULL; i < n; i++)
			if (s[i] == '\n' || s[i] == '\r') {
				end = s + i;
				break;
			}
		if (p->line.len + i > p->max)
			return p->err = GW_ETOOBIG;
		if (end == NULL) {
			p->err = buf_append(&p->line, s, n);
			break;
		}
		if (p->line.len == 0) {
			/* The usual case: the whole line is in this chunk. */
			p->err = process_line(p, s, i);
		} else if ((p->err = buf_append(&p->line, s, i)) == GW_OK) {
			p->err = process_line(p, p->line.data, p->line.len);
			buf_reset(&p->line);
		}
		if (p->err != GW_OK)
			break;
		p->after_cr = *end == '\r';
		s += i + 1;
		n -= i + 1;
	}
	return p->err;
}

enum gw_err
sse_parser_finish(struct sse_parser *p, int *truncated)
{
	if (truncated != NULL)
		*truncated = p->line.len > 0 || p->pending ||
		    (!p->bom_done && p->bom_seen > 0);
	return p->err;
}
