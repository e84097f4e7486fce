/* Growable byte buffer: appends, formatted appends, detaching. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

enum gw_err
buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > (size_t)-1 - b->len - 1)
		return GW_ENOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return GW_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > (size_t)-1 / 2 ? need : cap * 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return GW_ENOMEM;
	b->data = p;
	b->cap = cap;
	return GW_OK;
}

enum gw_err
buf_append(struct buf *b, const void *p, size_t n)
{
	enum gw_err e;

	if ((e = buf_reserve(b, n)) != GW_OK)
		return e;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return GW_OK;
}

enum gw_err
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

enum gw_err
buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

enum gw_err
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;
	enum gw_err e;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return GW_EINVAL;
	if ((e = buf_reserve(b, (size_t)n)) != GW_OK)
		return e;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return GW_OK;
}

enum gw_err
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	enum gw_err e;

	va_start(ap, fmt);
	e = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return e;
}

/* Drops the first n bytes.  No caller in the gateway (test_core.c includes
 * this file to reach it). */
static __attribute__((unused)) void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *
buf_detach(struct buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = calloc(1, 1);
	buf_init(b);
	return p;
}

char *
buf_vstrdupf(const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	if (buf_vprintf(&b, fmt, ap) != GW_OK) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

void
buf_replacef(char **slot, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = buf_vstrdupf(fmt, ap);
	va_end(ap);
	if (s != NULL) {
		free(*slot);
		*slot = s;
	}
}

char *
buf_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = buf_vstrdupf(fmt, ap);
	va_end(ap);
	return s;
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}
