/* libFuzzer: the whole request path in process (tests/fuzz/fuzz_gateway.h):
 * FastCGI parameters and body -> parser -> guard -> route -> translators ->
 * the upstream call (an in-process fake on loopback) -> the translated
 * answer -> the usage row.
 *
 * Input: NUL-separated NAME=value parameters (REQUEST_METHOD, REQUEST_URI,
 * HTTP_AUTHORIZATION: Bearer sk-fuzz, ...), an empty one, the request body;
 * then optionally "\0--upstream--\0", a line "STATUS CONTENT-TYPE" and the
 * body every upstream call gets for this input (default: 200, "{}"). */
#include "fuzz_gateway.h"

#define FG_MARK "\0--upstream--\0"
#define FG_MARK_LEN (sizeof(FG_MARK) - 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *env[FZ_MAX_PARAMS + 1], *copy, ctype[100] = "application/json";
	const char *body, *up = "{}", *mark;
	size_t blen, uplen = 2;
	int status = 200;

	fg.prune = 1;
	fg_init("");
	if ((copy = fz_split(data, size, env, &body, &blen)) == NULL)
		return 0;
	mark = memmem(body, blen, FG_MARK, FG_MARK_LEN);
	if (mark != NULL) {
		const char *line = mark + FG_MARK_LEN, *end = body + blen, *nl;

		blen = (size_t)(mark - body);
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end;
		if (sscanf(line, "%d %99[^\n]", &status, ctype) < 1 ||
		    status < 100 || status > 599)
			status = 200;
		up = nl < end ? nl + 1 : end;
		uplen = (size_t)(end - up);
	}
	fg_answer(status, ctype, up, uplen);
	(void)fg_serve(env, body, blen, NULL);
	/* a 401 makes the gateway refresh the token from the fake's answer */
	if (status == 401)
		fg_seed();
	free(copy);
	return 0;
}
