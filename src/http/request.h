/*
 * One inbound request, read from the CGI/FastCGI parameters and stdin.
 *
 * The path is REQUEST_URI without its query string (no percent-decoding),
 * with a configured base path stripped; or PATH_INFO when SCRIPT_FILENAME
 * is this very program (mod_cgi, mod_cgid, mod_fcgid run it as the script).
 * Headers come from the HTTP_* parameters; the body is read to the end,
 * size-capped.
 */
#ifndef GW_HTTP_REQUEST_H
#define GW_HTTP_REQUEST_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/io.h"

#define HTTP_DEFAULT_MAX_BODY ((size_t)32 * 1024 * 1024)
#define HTTP_DEFAULT_MAX_INFLIGHT ((size_t)64 * 1024 * 1024)
#define HTTP_TRACE_ID_MAX 64

struct http_limits {
	size_t max_body;        /* bytes; 0 means HTTP_DEFAULT_MAX_BODY */
	/*
	 * Prefix removed from the path at a segment boundary ("/api/gw").
	 * NULL: the COPILOT_API_BASE_PATH request parameter (Apache SetEnv,
	 * Caddy env), else the process environment variable of that name.
	 */
	const char *base_path;
	/*
	 * Bytes of request bodies this process may hold at once, over all its
	 * threads; 0 means HTTP_DEFAULT_MAX_INFLIGHT.  Never below max_body:
	 * a body the size cap admits always fits when it is alone.
	 */
	size_t max_inflight;
};

struct http_header_field {
	char *name;             /* lower case, '-' separated */
	char *value;
};

struct http_request {
	char *method;
	char *path;             /* never NULL after a successful parse; "/" at least */
	char *query;            /* raw, without '?'; "" when none */
	char *remote_addr;      /* "" when unknown */
	struct http_header_field *headers;
	size_t nheaders;
	char trace_id[HTTP_TRACE_ID_MAX + 1];
	struct buf body;
	long content_length;    /* as declared; -1 when absent or -1 (chunked) */
	char **envp;            /* the transport's parameters, borrowed */
	/* body bookkeeping, for http_request_drain() */
	size_t max_body;
	size_t max_inflight;
	size_t consumed;        /* bytes taken from the transport so far */
	int body_done;          /* end of body seen, or reading must stop */
	size_t claimed;         /* of the process's in-flight budget */
};

/*
 * Fills out from io.  Errors: GW_EINVAL (no method, control characters in
 * the path), GW_ETOOBIG (body over the limit, declared or counted),
 * GW_EBUSY (the process holds max_inflight bytes of bodies already: the
 * declared length, or the bytes read so far, do not fit), GW_EIO
 * (reading the body failed, or it ended before CONTENT_LENGTH), GW_ENOMEM.
 * On every error the rest of the body has been drained, and out holds what
 * was parsed (trace_id is always set); out must be released with
 * http_request_free() in every case.
 */
GW_MUST_CHECK enum gw_err http_request_parse(struct http_io *io,
    const struct http_limits *lim, struct http_request *out);
/*
 * A body sent with Content-Encoding: zstd (the Codex CLI compresses its
 * requests so), decoded in place; the header is removed and
 * content_length is the decoded size.  Any other body, or another coding,
 * is left as it is (GW_OK).  The decoded size counts against max_body and
 * the in-flight budget as it grows, so a small bomb is stopped at the
 * limit.  Errors: GW_EINVAL (not zstd, corrupt or cut short),
 * GW_ETOOBIG (decoded, over max_body), GW_EBUSY (over max_inflight),
 * GW_ENOMEM; the body is unchanged then.  Call it once, after the parse.
 */
GW_MUST_CHECK enum gw_err http_request_decode_body(struct http_request *req);
/* Frees everything, and gives the body's bytes back to the in-flight budget. */
void http_request_free(struct http_request *req);
/* Frees the body alone (its bytes stay counted until http_request_free). */
void http_request_drop_body(struct http_request *req);
/* Bytes of request bodies the process holds now (for /readyz and tests). */
size_t http_request_inflight(void);

/* Header value by lower-case name ("x-api-key"); NULL when absent. */
const char *http_header(const struct http_request *req, const char *name);

/*
 * The first query parameter called name, percent-decoded ('+' is a space),
 * as a malloc'd string in *out.  GW_ENOTFOUND when absent, GW_EINVAL when
 * the decoded value would contain a NUL byte.
 */
GW_MUST_CHECK enum gw_err http_query_param(const struct http_request *req, const char *name,
    char **out);

#endif
