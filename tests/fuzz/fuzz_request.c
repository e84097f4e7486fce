/* libFuzzer: the CGI/FastCGI request parser, then the zstd body decoder
 * (HTTP_CONTENT_ENCODING=zstd).  The input is NUL-separated NAME=value
 * parameters, an empty one, then the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_params.h"
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
	char *copy, *env[FZ_MAX_PARAMS + 1];
	const char *body;
	size_t blen;

	if ((copy = fz_split(data, size, env, &body, &blen)) == NULL)
		return 0;
	http_mem_io_init(&m, body, blen, env);
	m.read_chunk = 7;
	http_io_mem(&io, &m);
	memset(&req, 0, sizeof(req));
	if (http_request_parse(&io, &lim, &req) == 0) {
		char *v = NULL;

		(void)http_header(&req, "authorization");
		/* GW_OK or a refusal, never more than the limit held */
		(void)http_request_decode_body(&req);
		if (http_query_param(&req, "period", &v) == 0)
			free(v);
	}
	http_request_free(&req);
	http_mem_io_free(&m);
	free(copy);
	return 0;
}
