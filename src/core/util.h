/* Small helpers: time, randomness, hex, hashing, ids, strings. */
#ifndef GW_UTIL_H
#define GW_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

int64_t util_now_ms(void);        /* wall clock, ms since the epoch */
int64_t util_mono_ms(void);       /* monotonic clock, ms */
void util_sleep_ms(int64_t ms);

/* Fills p with n bytes from the kernel CSPRNG. */
GW_MUST_CHECK enum gw_err util_random(void *p, size_t n);

/* Constant-time comparison of two NUL-terminated secrets: compares their
 * SHA-256 digests so neither the content nor the length leaks. 1 if equal. */
int util_secret_equal(const char *a, const char *b);

#define SHA256_LEN 32
/* The raw digest (PKCE's S256 challenge). */
void util_sha256(const void *p, size_t n, uint8_t out[SHA256_LEN]);
/* 64 hex chars + NUL */
void util_sha256_hex(const void *p, size_t n, char out[65]);

/* Alphabets for util_random_id. */
#define UTIL_ID_HEX "0123456789abcdef"
#define UTIL_ID_BASE36 "0123456789abcdefghijklmnopqrstuvwxyz"

/*
 * out = prefix + nchars characters drawn from alphabet (1 to 256 chars),
 * one random byte each (byte % length).  GW_EINVAL when that does not fit
 * outsz with its NUL; GW_EIO when the CSPRNG fails: out is then "", never
 * a predictable id.  Thread-safe.
 */
GW_MUST_CHECK enum gw_err util_random_id(const char *prefix, const char *alphabet,
    size_t nchars, char *out, size_t outsz);

/*
 * pthread_create for a background thread of the gateway's own (the usage
 * writer, the config watcher): it starts with every signal blocked, so the
 * kernel never picks it for a SIGTERM, which libfcgi's handler would
 * swallow there and the server's sigwait would never see.  GW_ENOMEM when
 * the thread cannot be made.
 */
GW_MUST_CHECK enum gw_err util_thread_nosig(pthread_t *t, void *(*fn)(void *),
    void *arg);

/* Random version-4 UUID, lower case, 36 chars + NUL. */
GW_MUST_CHECK enum gw_err util_uuid4(char out[37]);
/* The reference project's getUUID(): SHA-256 of s, first 16 bytes, version
 * nibble 4, variant 10, formatted 8-4-4-4-12. */
void util_uuid_from_string(const char *s, size_t n, char out[37]);

/* Parse a decimal integer in [min, max]; the whole string must be used. */
GW_MUST_CHECK enum gw_err util_parse_long(const char *s, long min, long max, long *out);

/* Both non-NULL and equal. */
int util_streq(const char *a, const char *b);
/* s starts with prefix (case-sensitive). */
int util_has_prefix(const char *s, const char *prefix);
/* model is "gpt-<major>[.<minor>]..." (1.14.7's ^gpt-(\d+)(?:\.(\d+))?, a
 * missing minor being 0) at version major.minor or later: gpt-5.4-mini and
 * gpt-6 are at least 5.3, gpt-5-mini and gpt-4.1 are not.  0 for NULL. */
int util_gpt_at_least(const char *model, unsigned long major,
    unsigned long minor);

/* strdup that returns NULL for NULL. */
char *util_strdup(const char *s);
/* Copy of s[0..n) with leading/trailing ASCII whitespace removed. */
char *util_strndup_trim(const char *s, size_t n);

/* 1 when s contains CR, LF or NUL-free control chars unfit for a header. */
int util_unsafe_header_value(const char *s);

#endif
