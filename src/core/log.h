/* Levelled logging to stderr (the web server's error log); thread-safe. */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level l);
/* "error", "warn", "info", "debug"; returns -1 when unknown. */
int log_level_parse(const char *s);
void log_msg(enum log_level l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * A secret is never logged whole: "ghu_…abcd" style fingerprint (first 4
 * and last 4 characters, or "***" when too short).  out must hold 16 bytes.
 */
void log_fingerprint(const char *secret, char out[16]);

#endif
