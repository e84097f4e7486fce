/* Small helpers: clocks, randomness and random ids, hex, SHA-256, UUIDs,
 * number parsing, strings. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/util.h"

int64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
util_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

enum gw_err
util_random(void *p, size_t n)
{
	unsigned char *c = p;
	ssize_t r;

	while (n > 0) {
		r = getrandom(c, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return GW_EIO;
		}
		c += r;
		n -= (size_t)r;
	}
	return GW_OK;
}

enum gw_err
util_thread_nosig(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? GW_OK : GW_ENOMEM;
}

enum gw_err
util_random_id(const char *prefix, const char *alphabet, size_t nchars,
    char *out, size_t outsz)
{
	size_t plen = strlen(prefix), alen = strlen(alphabet), i;
	unsigned char *p;
	enum gw_err e;

	if (outsz == 0)
		return GW_EINVAL;
	out[0] = '\0';
	if (alen == 0 || alen > 256 || plen >= outsz || nchars >= outsz - plen)
		return GW_EINVAL;
	/* The random bytes land where their characters go. */
	p = (unsigned char *)out + plen;
	if ((e = util_random(p, nchars)) != GW_OK) {
		out[0] = '\0';
		return e;
	}
	for (i = 0; i < nchars; i++)
		p[i] = (unsigned char)alphabet[p[i] % alen];
	p[nchars] = '\0';
	memcpy(out, prefix, plen);
	return GW_OK;
}

/* Lower-case hex of n bytes into out (2n+1 bytes). */
static void
util_hex(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[c[i] >> 4];
		out[2 * i + 1] = digits[c[i] & 15];
	}
	out[2 * n] = '\0';
}

/* SHA-256 (FIPS 180-4). */

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t blk[64];
	size_t n;
};

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
sha256_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10)) +
		    w[i - 7] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
		    (w[i - 15] >> 3)) + w[i - 16];
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
		    ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
		    ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

void
util_sha256(const void *data, size_t n, uint8_t out[SHA256_LEN])
{
	static const uint32_t init[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	struct sha256 s;
	const uint8_t *p = data;
	uint64_t bits;
	int i;

	memcpy(s.h, init, sizeof(init));
	s.len = n;
	while (n >= 64) {
		sha256_block(&s, p);
		p += 64;
		n -= 64;
	}
	memset(s.blk, 0, sizeof(s.blk));
	if (n > 0)
		memcpy(s.blk, p, n);
	s.blk[n] = 0x80;
	if (n >= 56) {
		sha256_block(&s, s.blk);
		memset(s.blk, 0, sizeof(s.blk));
	}
	bits = s.len * 8;
	for (i = 0; i < 8; i++)
		s.blk[63 - i] = (uint8_t)(bits >> (8 * i));
	sha256_block(&s, s.blk);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s.h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s.h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s.h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s.h[i];
	}
}

void
util_sha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t d[SHA256_LEN];

	util_sha256(p, n, d);
	util_hex(d, sizeof(d), out);
}

int
util_secret_equal(const char *a, const char *b)
{
	uint8_t da[SHA256_LEN], db[SHA256_LEN];
	volatile uint8_t diff = 0;
	size_t i;

	if (a == NULL || b == NULL)
		return 0;
	util_sha256(a, strlen(a), da);
	util_sha256(b, strlen(b), db);
	for (i = 0; i < SHA256_LEN; i++)
		diff |= da[i] ^ db[i];
	return diff == 0;
}

static void
uuid_format(uint8_t b[16], char out[37])
{
	char hex[33];

	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	util_hex(b, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
}

enum gw_err
util_uuid4(char out[37])
{
	uint8_t b[16];
	enum gw_err e;

	if ((e = util_random(b, sizeof(b))) != GW_OK)
		return e;
	uuid_format(b, out);
	return GW_OK;
}

void
util_uuid_from_string(const char *s, size_t n, char out[37])
{
	uint8_t d[SHA256_LEN];

	util_sha256(s, n, d);
	uuid_format(d, out);
}

enum gw_err
util_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return GW_EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return GW_EINVAL;
	*out = v;
	return GW_OK;
}

int
util_streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

int
util_has_prefix(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

int
util_gpt_at_least(const char *model, unsigned long major, unsigned long minor)
{
	unsigned long ma, mi = 0;
	char *end;

	if (!util_has_prefix(model, "gpt-") || !isdigit((unsigned char)model[4]))
		return 0;
	ma = strtoul(model + 4, &end, 10);
	if (*end == '.' && isdigit((unsigned char)end[1]))
		mi = strtoul(end + 1, NULL, 10);
	return ma > major || (ma == major && mi >= minor);
}

char *
util_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

char *
util_strndup_trim(const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

int
util_unsafe_header_value(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return 1;
	return 0;
}
