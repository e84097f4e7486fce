/*
 * The input convention of the harnesses that build a request: NUL-separated
 * NAME=value FastCGI parameters, an empty one, then the request body.
 */
#ifndef GW_FUZZ_PARAMS_H
#define GW_FUZZ_PARAMS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FZ_MAX_PARAMS 32

/*
 * Splits data into the NUL-separated parameters (at most FZ_MAX_PARAMS,
 * into env, NULL-terminated; they point into copy) and what follows the
 * empty one (*body, *blen).  copy is size + 1 bytes the caller frees.
 */
static char *
fz_split(const uint8_t *data, size_t size, char **env, const char **body,
    size_t *blen)
{
	char *copy = malloc(size + 1), *p, *end;
	size_t n = 0;

	if (copy == NULL)
		return NULL;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	end = copy + size;
	while (p < end && n < FZ_MAX_PARAMS) {
		size_t l = strlen(p);

		if (l == 0) {
			p++;
			break;
		}
		env[n++] = p;
		p += l + 1;
	}
	env[n] = NULL;
	if (p > end)
		p = end;
	*body = p;
	*blen = (size_t)(end - p);
	return copy;
}

#endif
