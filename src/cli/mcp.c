/*
 * The MCP stdio server behind `copilot-api mcp`.  Stateless: every line is
 * answered on its own, so the protocol core (mcp_handle_line) is a pure
 * function of its input and the stdio loop only splits and writes lines.
 *
 * Error placement follows the MCP tools spec: an unknown tool or a
 * malformed tools/call is a JSON-RPC error (-32602); arguments that fail
 * the tool's input schema are a tool result with isError, which the model
 * sees and can correct.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/mcp.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "translate/tool_search.h"

#define SERVER_NAME "tool_search"
#define SERVER_VERSION "1.0.0"
#define TOOL_NAME "search"
#define TOOL_TITLE "Tool Search Bridge"
#define TOOL_DESCRIPTION "Load deferred tools by exact name through the " \
	"Copilot API tool_search bridge."
#define NAMES_DESCRIPTION "Comma-separated exact deferred tool names"

/* Newest first: the first one is what a client with another version gets. */
static const char *const protocol_versions[] = {
	MCP_PROTOCOL_LATEST, "2025-06-18", "2025-03-26", "2024-11-05",
};

/* A JSON-RPC error to send instead of a result (code 0: none). */
struct rpc_error {
	int code;
	struct buf msg;
};

static GW_MUST_CHECK enum gw_err rpc_fail(struct rpc_error *re, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static GW_MUST_CHECK enum gw_err
rpc_fail(struct rpc_error *re, int code, const char *fmt, ...)
{
	va_list ap;
	enum gw_err e;

	re->code = code;
	buf_reset(&re->msg);
	va_start(ap, fmt);
	e = buf_vprintf(&re->msg, fmt, ap);
	va_end(ap);
	return e;
}

/* {"jsonrpc":"2.0","id":...,"result"|"error":...}; takes result. */
static GW_MUST_CHECK enum gw_err
envelope(const cJSON *id, cJSON *result, const struct rpc_error *re,
    cJSON **out)
{
	cJSON *o, *err, *idv;

	if ((o = cJSON_CreateObject()) == NULL)
		goto nomem;
	idv = id != NULL ? cJSON_Duplicate(id, 0) : cJSON_CreateNull();
	if (cJSON_AddStringToObject(o, "jsonrpc", "2.0") == NULL ||
	    idv == NULL || !cJSON_AddItemToObject(o, "id", idv)) {
		cJSON_Delete(idv);
		goto nomem;
	}
	if (result != NULL) {
		if (!cJSON_AddItemToObject(o, "result", result))
			goto nomem;
		result = NULL;
	} else if ((err = cJSON_AddObjectToObject(o, "error")) == NULL ||
	    cJSON_AddNumberToObject(err, "code", re->code) == NULL ||
	    cJSON_AddStringToObject(err, "message", buf_cstr(&re->msg)) == NULL)
		goto nomem;
	*out = o;
	return GW_OK;
nomem:
	cJSON_Delete(result);
	cJSON_Delete(o);
	return GW_ENOMEM;
}

static GW_MUST_CHECK enum gw_err
append_line(struct buf *out, const cJSON *v)
{
	enum gw_err e;

	if ((e = json_append(out, v)) != GW_OK)
		return e;
	return buf_putc(out, '\n');
}

/* An error reply with a null id, as one line. */
static GW_MUST_CHECK enum gw_err
error_line(struct buf *out, const struct rpc_error *re)
{
	cJSON *reply = NULL;
	enum gw_err e;

	if ((e = envelope(NULL, NULL, re, &reply)) == GW_OK)
		e = append_line(out, reply);
	cJSON_Delete(reply);
	return e;
}

/* A tools/call result: one text item, flagged when it reports an error. */
static GW_MUST_CHECK enum gw_err
text_result(const char *text, int is_error, cJSON **result)
{
	cJSON *r, *content, *item;

	if ((r = cJSON_CreateObject()) == NULL ||
	    (content = cJSON_AddArrayToObject(r, "content")) == NULL ||
	    (item = cJSON_CreateObject()) == NULL)
		goto nomem;
	if (!cJSON_AddItemToArray(content, item)) {
		cJSON_Delete(item);
		goto nomem;
	}
	if (cJSON_AddStringToObject(item, "type", "text") == NULL ||
	    cJSON_AddStringToObject(item, "text", text) == NULL ||
	    (is_error && cJSON_AddTrueToObject(r, "isError") == NULL))
		goto nomem;
	*result = r;
	return GW_OK;
nomem:
	cJSON_Delete(r);
	return GW_ENOMEM;
}

static GW_MUST_CHECK enum gw_err
m_initialize(const cJSON *params, cJSON **result, struct rpc_error *re)
{
	const char *asked = json_str(params, "protocolVersion");
	const char *v = protocol_versions[0];
	cJSON *r, *caps, *tools, *info;
	size_t i;

	if (asked == NULL)
		return rpc_fail(re, MCP_INVALID_PARAMS,
		    "Invalid params: protocolVersion must be a string");
	for (i = 0; i < ARRAY_LEN(protocol_versions); i++)
		if (strcmp(asked, protocol_versions[i]) == 0)
			v = protocol_versions[i];
	if ((r = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(r, "protocolVersion", v) == NULL ||
	    (caps = cJSON_AddObjectToObject(r, "capabilities")) == NULL ||
	    (tools = cJSON_AddObjectToObject(caps, "tools")) == NULL ||
	    cJSON_AddFalseToObject(tools, "listChanged") == NULL ||
	    (info = cJSON_AddObjectToObject(r, "serverInfo")) == NULL ||
	    cJSON_AddStringToObject(info, "name", SERVER_NAME) == NULL ||
	    cJSON_AddStringToObject(info, "version", SERVER_VERSION) == NULL) {
		cJSON_Delete(r);
		return GW_ENOMEM;
	}
	log_info("mcp: initialize (client asked %s, answering %s)", asked, v);
	*result = r;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
m_ping(const cJSON *params, cJSON **result, struct rpc_error *re)
{
	return (*result = cJSON_CreateObject()) != NULL ? GW_OK : GW_ENOMEM;
}

static cJSON *
search_tool(void)
{
	cJSON *t, *schema, *props, *names, *req, *meta;

	if ((t = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(t, "name", TOOL_NAME) == NULL ||
	    cJSON_AddStringToObject(t, "title", TOOL_TITLE) == NULL ||
	    cJSON_AddStringToObject(t, "description", TOOL_DESCRIPTION) == NULL ||
	    (schema = cJSON_AddObjectToObject(t, "inputSchema")) == NULL ||
	    cJSON_AddStringToObject(schema, "type", "object") == NULL ||
	    (props = cJSON_AddObjectToObject(schema, "properties")) == NULL ||
	    (names = cJSON_AddObjectToObject(props, "names")) == NULL ||
	    cJSON_AddStringToObject(names, "type", "string") == NULL ||
	    cJSON_AddStringToObject(names, "description", NAMES_DESCRIPTION) == NULL ||
	    (req = cJSON_AddArrayToObject(schema, "required")) == NULL ||
	    !cJSON_AddItemToArray(req, cJSON_CreateString("names")) ||
	    (meta = cJSON_AddObjectToObject(t, "_meta")) == NULL ||
	    cJSON_AddTrueToObject(meta, "anthropic/alwaysLoad") == NULL) {
		cJSON_Delete(t);
		return NULL;
	}
	return t;
}

/* One page holds every tool, so a cursor is ignored. */
static GW_MUST_CHECK enum gw_err
m_tools_list(const cJSON *params, cJSON **result, struct rpc_error *re)
{
	cJSON *r, *tools, *t = NULL;

	if ((r = cJSON_CreateObject()) == NULL ||
	    (tools = cJSON_AddArrayToObject(r, "tools")) == NULL ||
	    (t = search_tool()) == NULL || !cJSON_AddItemToArray(tools, t)) {
		cJSON_Delete(t);
		cJSON_Delete(r);
		return GW_ENOMEM;
	}
	*result = r;
	return GW_OK;
}

/* The schema says a string; an array of strings is taken as well since
 * tr_ts_parse_names reads both the same way. */
static int
names_valid(const cJSON *v)
{
	const cJSON *e;

	if (cJSON_IsString(v))
		return 1;
	if (!cJSON_IsArray(v))
		return 0;
	cJSON_ArrayForEach(e, v)
		if (!cJSON_IsString(e))
			return 0;
	return 1;
}

static GW_MUST_CHECK enum gw_err
m_tools_call(const cJSON *params, cJSON **result, struct rpc_error *re)
{
	const char *name = json_str(params, "name");
	const cJSON *args, *names;
	cJSON *list = NULL;
	char *text = NULL;
	enum gw_err e;

	if (name == NULL)
		return rpc_fail(re, MCP_INVALID_PARAMS,
		    "Invalid params: name must be a string");
	if (strcmp(name, TOOL_NAME) != 0)
		return rpc_fail(re, MCP_INVALID_PARAMS, "Unknown tool: %s", name);
	args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
	if (args != NULL && !cJSON_IsNull(args) && !cJSON_IsObject(args))
		return rpc_fail(re, MCP_INVALID_PARAMS,
		    "Invalid params: arguments must be an object");
	names = cJSON_GetObjectItemCaseSensitive(args, "names");
	if (!names_valid(names))
		return text_result("Invalid arguments for tool search: names must "
		    "be a string of comma-separated tool names", 1, result);
	if ((e = tr_ts_parse_names(names, &list)) != GW_OK)
		return e;
	if (cJSON_GetArraySize(list) == 0)
		e = text_result("Invalid arguments for tool search: names lists "
		    "no tool; give exact deferred tool names, comma-separated", 1,
		    result);
	else if ((e = tr_ts_sentinel_make(names, &text)) == GW_OK)
		e = text_result(text, 0, result);
	cJSON_free(text);
	cJSON_Delete(list);
	return e;
}

static const struct method {
	const char *name;
	enum gw_err (*fn)(const cJSON *params, cJSON **result,
	    struct rpc_error *re);
} methods[] = {
	{ "initialize", m_initialize },
	{ "ping", m_ping },
	{ "tools/list", m_tools_list },
	{ "tools/call", m_tools_call },
};

static GW_MUST_CHECK enum gw_err
dispatch(const char *method, const cJSON *params, int in_batch,
    cJSON **result, struct rpc_error *re)
{
	size_t i;

	/* 2025-03-26, the one version with batches, keeps initialize out. */
	if (in_batch && strcmp(method, "initialize") == 0)
		return rpc_fail(re, MCP_INVALID_REQUEST,
		    "Invalid Request: initialize must not be part of a batch");
	for (i = 0; i < ARRAY_LEN(methods); i++)
		if (strcmp(method, methods[i].name) == 0)
			return methods[i].fn(params, result, re);
	return rpc_fail(re, MCP_METHOD_NOT_FOUND, "Method not found: %s", method);
}

/* A response needs no answer; neither does a valid notification. */
static GW_MUST_CHECK enum gw_err
handle_message(const cJSON *msg, int in_batch, cJSON **reply)
{
	struct rpc_error re = { 0, BUF_INIT };
	const cJSON *id = NULL, *method, *params;
	const char *version;
	cJSON *result = NULL;
	enum gw_err e = GW_OK;

	*reply = NULL;
	if (!cJSON_IsObject(msg)) {
		e = rpc_fail(&re, MCP_INVALID_REQUEST,
		    "Invalid Request: a message is a JSON object");
		goto out;
	}
	method = cJSON_GetObjectItemCaseSensitive(msg, "method");
	if (method == NULL && (cJSON_HasObjectItem(msg, "result") ||
	    cJSON_HasObjectItem(msg, "error")))
		goto out;
	id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	if (id != NULL && !cJSON_IsString(id) && !cJSON_IsNumber(id)) {
		id = NULL;
		e = rpc_fail(&re, MCP_INVALID_REQUEST,
		    "Invalid Request: id must be a string or a number");
		goto out;
	}
	version = json_str(msg, "jsonrpc");
	if (version == NULL || strcmp(version, "2.0") != 0) {
		e = rpc_fail(&re, MCP_INVALID_REQUEST,
		    "Invalid Request: jsonrpc must be \"2.0\"");
		goto out;
	}
	if (!cJSON_IsString(method)) {
		e = rpc_fail(&re, MCP_INVALID_REQUEST,
		    "Invalid Request: method must be a string");
		goto out;
	}
	if (id == NULL) {
		log_debug("mcp: notification %s", method->valuestring);
		goto out;
	}
	params = cJSON_GetObjectItemCaseSensitive(msg, "params");
	if (cJSON_IsNull(params))
		params = NULL;
	if (params != NULL && !cJSON_IsObject(params)) {
		e = rpc_fail(&re, MCP_INVALID_PARAMS,
		    "Invalid params: params must be an object");
		goto out;
	}
	log_debug("mcp: request %s", method->valuestring);
	e = dispatch(method->valuestring, params, in_batch, &result, &re);
out:
	if (e == GW_OK && (result != NULL || re.code != 0))
		e = envelope(id, result, &re, reply);
	else
		cJSON_Delete(result);
	buf_free(&re.msg);
	return e;
}

/* JSON-RPC 2.0 batch: one array of the replies, none when all were
 * notifications; an empty batch is itself an invalid request. */
static GW_MUST_CHECK enum gw_err
handle_batch(const cJSON *batch, struct buf *out)
{
	struct rpc_error re = { 0, BUF_INIT };
	const cJSON *msg;
	cJSON *replies, *r;
	enum gw_err e = GW_OK;

	if (cJSON_GetArraySize(batch) == 0) {
		if ((e = rpc_fail(&re, MCP_INVALID_REQUEST,
		    "Invalid Request: empty batch")) == GW_OK)
			e = error_line(out, &re);
		buf_free(&re.msg);
		return e;
	}
	if ((replies = cJSON_CreateArray()) == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(msg, batch) {
		if ((e = handle_message(msg, 1, &r)) != GW_OK)
			goto out;
		if (r != NULL && !cJSON_AddItemToArray(replies, r)) {
			cJSON_Delete(r);
			e = GW_ENOMEM;
			goto out;
		}
	}
	if (cJSON_GetArraySize(replies) > 0)
		e = append_line(out, replies);
out:
	cJSON_Delete(replies);
	return e;
}

static int
blank(const char *p, size_t n)
{
	for (; n > 0; p++, n--)
		if (*p != ' ' && *p != '\t' && *p != '\r')
			return 0;
	return 1;
}

/*
 * One message (a line without its newline) in; its reply appended to out
 * as one JSON line ending in '\n', or nothing for notifications, client
 * responses and blank lines.  Protocol errors are replies, so the only
 * failure is GW_ENOMEM (out then holds whatever came before the call).
 */
static GW_MUST_CHECK enum gw_err
mcp_handle_line(const char *line, size_t len, struct buf *out)
{
	struct rpc_error re = { 0, BUF_INIT };
	cJSON *v, *reply = NULL;
	size_t mark = out->len;
	enum gw_err e;
	int col = 0;

	if (blank(line, len))
		return GW_OK;
	if ((v = json_parse(line, len, NULL, &col)) == NULL) {
		log_warn("mcp: unparsable message (column %d)", col);
		if ((e = rpc_fail(&re, MCP_PARSE_ERROR,
		    "Parse error: invalid JSON at column %d", col)) == GW_OK)
			e = error_line(out, &re);
		buf_free(&re.msg);
		return e;
	}
	if (cJSON_IsArray(v))
		e = handle_batch(v, out);
	else if ((e = handle_message(v, 0, &reply)) == GW_OK && reply != NULL)
		e = append_line(out, reply);
	cJSON_Delete(reply);
	cJSON_Delete(v);
	/* Never half a line: the stream stays one message per line. */
	if (e != GW_OK && out->data != NULL) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	return e;
}

void
mcp_conn_init(struct mcp_conn *c, size_t max_line)
{
	buf_init(&c->line);
	c->max_line = max_line != 0 ? max_line : MCP_LINE_MAX;
	c->discarding = 0;
}

void
mcp_conn_free(struct mcp_conn *c)
{
	if (c == NULL)
		return;
	buf_free(&c->line);
}

static GW_MUST_CHECK enum gw_err
too_long(const struct mcp_conn *c, struct buf *out)
{
	struct rpc_error re = { 0, BUF_INIT };
	enum gw_err e;

	log_warn("mcp: message longer than %zu bytes skipped", c->max_line);
	if ((e = rpc_fail(&re, MCP_PARSE_ERROR, "Parse error: message longer "
	    "than %zu bytes", c->max_line)) == GW_OK)
		e = error_line(out, &re);
	buf_free(&re.msg);
	return e;
}

enum gw_err
mcp_conn_feed(struct mcp_conn *c, const char *p, size_t n, struct buf *out)
{
	const char *end = p + n, *nl;
	size_t seg;
	enum gw_err e = GW_OK;

	while (p < end && e == GW_OK) {
		nl = memchr(p, '\n', (size_t)(end - p));
		seg = (size_t)((nl != NULL ? nl : end) - p);
		if (c->discarding) {
			c->discarding = nl == NULL;
		} else if (seg > c->max_line - c->line.len) {
			e = too_long(c, out);
			buf_reset(&c->line);
			c->discarding = nl == NULL;
		} else if (nl == NULL) {
			e = buf_append(&c->line, p, seg);
		} else if (c->line.len == 0) {
			e = mcp_handle_line(p, seg, out);
		} else if ((e = buf_append(&c->line, p, seg)) == GW_OK) {
			e = mcp_handle_line(c->line.data, c->line.len, out);
			buf_reset(&c->line);
		}
		p = nl != NULL ? nl + 1 : end;
	}
	/* Keep no megabytes around after one big message. */
	if (c->line.len == 0 && c->line.cap > 65536)
		buf_free(&c->line);
	return e;
}

enum gw_err
mcp_conn_finish(struct mcp_conn *c, struct buf *out)
{
	enum gw_err e = GW_OK;

	if (!c->discarding && c->line.len > 0)
		e = mcp_handle_line(c->line.data, c->line.len, out);
	buf_reset(&c->line);
	c->discarding = 0;
	return e;
}

static GW_MUST_CHECK enum gw_err
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return errno == EPIPE ? GW_ECLIENTGONE : GW_EIO;
		}
		p += w;
		n -= (size_t)w;
	}
	return GW_OK;
}

/*
 * Serves in_fd -> out_fd until end of input: GW_OK at EOF, GW_EIO when a
 * read or write fails, GW_ECLIENTGONE when out_fd's reader left (EPIPE;
 * SIGPIPE must be ignored), GW_ENOMEM.
 */
static GW_MUST_CHECK enum gw_err
mcp_serve(int in_fd, int out_fd, size_t max_line)
{
	struct mcp_conn c;
	struct buf out = BUF_INIT;
	char chunk[65536];
	ssize_t n;
	enum gw_err e = GW_OK;

	mcp_conn_init(&c, max_line);
	for (;;) {
		if ((n = read(in_fd, chunk, sizeof(chunk))) < 0) {
			if (errno == EINTR)
				continue;
			e = GW_EIO;
			break;
		}
		if (n == 0)
			e = mcp_conn_finish(&c, &out);
		else
			e = mcp_conn_feed(&c, chunk, (size_t)n, &out);
		/* Replies go out before the next read blocks. */
		if (e == GW_OK && out.len > 0)
			e = write_all(out_fd, out.data, out.len);
		buf_reset(&out);
		if (e != GW_OK || n == 0)
			break;
	}
	mcp_conn_free(&c);
	buf_free(&out);
	return e;
}

int
mcp_main(int argc, char **argv)
{
	enum gw_err e;

	if (argc > 1) {
		int help = strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0;

		fprintf(help ? stdout : stderr, "usage: copilot-api mcp\n"
		    "Serves the tool_search MCP bridge on stdin/stdout.\n");
		return help ? 0 : 2;
	}
	signal(SIGPIPE, SIG_IGN);
	log_info("mcp: tool_search bridge on stdio");
	e = mcp_serve(STDIN_FILENO, STDOUT_FILENO, 0);
	if (e == GW_OK || e == GW_ECLIENTGONE)
		return 0;
	log_error("mcp: %s", gw_strerror(e));
	return 1;
}
