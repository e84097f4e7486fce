/*
 * `copilot-api mcp`: the tool_search bridge as an MCP server on stdio
 * (surface §9.5, §10).  Newline-delimited JSON-RPC 2.0: one message a line
 * on stdin, one reply a line on stdout, logs on stderr only.
 *
 * One tool, `search`, answers with the sentinel the gateway recognises
 * ({"type":"copilot_api_tool_search","names":[...]}, tr_ts_sentinel_make).
 * Protocol versions 2025-11-25, 2025-06-18, 2025-03-26 and 2024-11-05: the
 * client's is echoed when it is one of them, else the latest is offered.
 * Batches (arrays) get JSON-RPC 2.0 batch replies whatever the version:
 * 2025-03-26 requires them, later versions merely stopped sending them.
 */
#ifndef GW_MCP_H
#define GW_MCP_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

#define MCP_PROTOCOL_LATEST "2025-11-25"
/* A longer line is answered with a parse error and skipped. */
#define MCP_LINE_MAX ((size_t)16 << 20)

/* JSON-RPC error codes used in replies. */
enum {
	MCP_PARSE_ERROR = -32700,
	MCP_INVALID_REQUEST = -32600,
	MCP_METHOD_NOT_FOUND = -32601,
	MCP_INVALID_PARAMS = -32602
};

/* Splits a byte stream into lines (each answered by the protocol core in
 * mcp.c), across reads.  Only mcp.c itself uses it in the gateway; the four
 * functions stay exported for tests/fuzz/fuzz_mcp.c, whose build links
 * every source and so cannot include mcp.c. */
struct mcp_conn {
	struct buf line;        /* the unterminated tail of the input so far */
	size_t max_line;
	int discarding;         /* inside an over-long line: skip to its end */
};

/* max_line 0 means MCP_LINE_MAX. */
void mcp_conn_init(struct mcp_conn *c, size_t max_line);
void mcp_conn_free(struct mcp_conn *c);
/* n more bytes of input; replies to the lines they complete go to out. */
GW_MUST_CHECK enum gw_err mcp_conn_feed(struct mcp_conn *c, const char *p, size_t n,
    struct buf *out);
/* End of input: a last line without a newline still counts. */
GW_MUST_CHECK enum gw_err mcp_conn_finish(struct mcp_conn *c, struct buf *out);

/* The command: `copilot-api mcp` on stdin/stdout; the exit status. */
int mcp_main(int argc, char **argv);

#endif
