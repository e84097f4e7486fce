/* Growable byte buffer, always NUL-terminated when data != NULL. */
#ifndef GW_BUF_H
#define GW_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/err.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_init(struct buf *b);
void buf_free(struct buf *b);            /* frees the contents; b itself is not freed */
void buf_reset(struct buf *b);           /* len = 0, keeps the allocation */
GW_MUST_CHECK enum gw_err buf_reserve(struct buf *b, size_t extra);
GW_MUST_CHECK enum gw_err buf_append(struct buf *b, const void *p, size_t n);
GW_MUST_CHECK enum gw_err buf_puts(struct buf *b, const char *s);
GW_MUST_CHECK enum gw_err buf_putc(struct buf *b, char c);
GW_MUST_CHECK enum gw_err buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
GW_MUST_CHECK enum gw_err buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
char *buf_detach(struct buf *b);         /* returns data (caller frees), b becomes empty */
/* A malloc'd formatted string (caller frees); NULL on ENOMEM. */
char *buf_strdupf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
char *buf_vstrdupf(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));
/* Replaces the malloc'd string *slot (may be NULL) with a formatted one;
 * out of memory, *slot keeps its older text (for best-effort messages). */
void buf_replacef(char **slot, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Returns "" rather than NULL for an empty buffer. */
const char *buf_cstr(const struct buf *b);

#endif
