/* libFuzzer: the CGI/FastCGI request parser.  The input is NUL-separated
 * NAME=value parameters, an empty one, then the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/io.h"
#include "http/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_limits lim = { 4096, NULL, 0 };
	struct http_request req;
	struct http_mem_io m;
	struct http_io io;
	char *copy, *env[33], *p, *end;
	size_t n = 0;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	end = copy + size;
	while (p < end && n < 32) {
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
	http_mem_io_init(&m, p, (size_t)(end - p), env);
	m.read_chunk = 7;
	http_io_mem(&io, &m);
	memset(&req, 0, sizeof(req));
	if (http_request_parse(&io, &lim, &req) == 0) {
		char *v = NULL;

		(void)http_header(&req, "authorization");
		if (http_query_param(&req, "period", &v) == 0)
			free(v);
	}
	http_request_free(&req);
	http_mem_io_free(&m);
	free(copy);
	return 0;
}
