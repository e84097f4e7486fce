/* The MCP stdio server: every method and error reply byte for byte, the
 * line splitter across reads, and the fd loop over pipes. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "cli/mcp.c"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"

#define RPC "{\"jsonrpc\":\"2.0\","
#define OK_(id, result) RPC "\"id\":" id ",\"result\":" result "}\n"
#define ERR_(id, code, msg) RPC "\"id\":" id ",\"error\":{\"code\":" #code \
	",\"message\":\"" msg "\"}}\n"

#define TOOL_JSON "{\"name\":\"search\",\"title\":\"Tool Search Bridge\"," \
	"\"description\":\"Load deferred tools by exact name through the " \
	"Copilot API tool_search bridge.\",\"inputSchema\":{\"type\":\"object\"," \
	"\"properties\":{\"names\":{\"type\":\"string\",\"description\":" \
	"\"Comma-separated exact deferred tool names\"}},\"required\":[\"names\"]}," \
	"\"_meta\":{\"anthropic/alwaysLoad\":true}}"
#define INIT_RESULT(v) "{\"protocolVersion\":\"" v "\",\"capabilities\":" \
	"{\"tools\":{\"listChanged\":false}},\"serverInfo\":{\"name\":" \
	"\"tool_search\",\"version\":\"1.0.0\"}}"
#define TEXT_RESULT(t) "{\"content\":[{\"type\":\"text\",\"text\":\"" t "\"}]}"
#define TOOL_ERROR(t) "{\"content\":[{\"type\":\"text\",\"text\":\"" t \
	"\"}],\"isError\":true}"
#define BAD_NAMES "Invalid arguments for tool search: names must be a " \
	"string of comma-separated tool names"
#define NO_NAMES "Invalid arguments for tool search: names lists no tool; " \
	"give exact deferred tool names, comma-separated"

/* The reply to one line, as a string owned by a static buffer. */
static const char *
reply(const char *line)
{
	static struct buf out = BUF_INIT;

	buf_reset(&out);
	ck_assert_int_eq(mcp_handle_line(line, strlen(line), &out), GW_OK);
	return buf_cstr(&out);
}

static void
expect(const char *line, const char *want)
{
	ck_assert_str_eq(reply(line), want);
}

static void
initialize_with(const char *asked, const char *answered)
{
	struct buf line = BUF_INIT, want = BUF_INIT;

	ck_assert_int_eq(buf_printf(&line,
	    RPC "\"id\":1,\"method\":\"initialize\",\"params\":"
	    "{\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":"
	    "{\"name\":\"t\",\"version\":\"0\"}}}", asked), GW_OK);
	ck_assert_int_eq(buf_printf(&want, OK_("1", INIT_RESULT("%s")),
	    answered), GW_OK);
	expect(buf_cstr(&line), buf_cstr(&want));
	buf_free(&line);
	buf_free(&want);
}

START_TEST(initialize_echoes_supported_versions)
{
	initialize_with("2025-11-25", "2025-11-25");
	initialize_with("2025-06-18", "2025-06-18");
	initialize_with("2025-03-26", "2025-03-26");
	initialize_with("2024-11-05", "2024-11-05");
	ck_assert_str_eq(MCP_PROTOCOL_LATEST, "2025-11-25");
}
END_TEST

START_TEST(initialize_offers_latest_for_other_versions)
{
	initialize_with("2024-10-07", MCP_PROTOCOL_LATEST);
	initialize_with("2099-01-01", MCP_PROTOCOL_LATEST);
	initialize_with("", MCP_PROTOCOL_LATEST);
}
END_TEST

START_TEST(initialize_needs_a_protocol_version)
{
	expect(RPC "\"id\":1,\"method\":\"initialize\",\"params\":{}}",
	    ERR_("1", -32602, "Invalid params: protocolVersion must be a string"));
	expect(RPC "\"id\":1,\"method\":\"initialize\",\"params\":"
	    "{\"protocolVersion\":20250618}}",
	    ERR_("1", -32602, "Invalid params: protocolVersion must be a string"));
	expect(RPC "\"id\":1,\"method\":\"initialize\"}",
	    ERR_("1", -32602, "Invalid params: protocolVersion must be a string"));
	expect(RPC "\"id\":1,\"method\":\"initialize\",\"params\":[\"2025-06-18\"]}",
	    ERR_("1", -32602, "Invalid params: params must be an object"));
}
END_TEST

START_TEST(notifications_get_no_reply)
{
	expect(RPC "\"method\":\"notifications/initialized\"}", "");
	expect(RPC "\"method\":\"notifications/cancelled\",\"params\":"
	    "{\"requestId\":3}}", "");
	expect(RPC "\"method\":\"no/such/thing\"}", "");
	/* bad params or an unknown tool: still a notification */
	expect(RPC "\"method\":\"tools/call\",\"params\":7}", "");
	expect(RPC "\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}", "");
}
END_TEST

START_TEST(ping_answers_empty_result)
{
	expect(RPC "\"id\":7,\"method\":\"ping\"}", OK_("7", "{}"));
	expect(RPC "\"id\":\"p-1\",\"method\":\"ping\",\"params\":{\"_meta\":{}}}",
	    OK_("\"p-1\"", "{}"));
	expect(RPC "\"id\":8,\"method\":\"ping\",\"params\":null}", OK_("8", "{}"));
}
END_TEST

START_TEST(ids_are_echoed)
{
	expect(RPC "\"id\":0,\"method\":\"ping\"}", OK_("0", "{}"));
	expect(RPC "\"id\":-12,\"method\":\"ping\"}", OK_("-12", "{}"));
	expect(RPC "\"id\":1.5,\"method\":\"ping\"}", OK_("1.5", "{}"));
	expect(RPC "\"id\":\"\",\"method\":\"ping\"}", OK_("\"\"", "{}"));
	expect("{\"method\":\"ping\",\"id\":\"a\\\"b\\u00e9\",\"jsonrpc\":\"2.0\"}",
	    OK_("\"a\\\"b\xc3\xa9\"", "{}"));
}
END_TEST

START_TEST(tools_list_is_the_search_tool)
{
	expect(RPC "\"id\":2,\"method\":\"tools/list\"}",
	    OK_("2", "{\"tools\":[" TOOL_JSON "]}"));
	expect(RPC "\"id\":2,\"method\":\"tools/list\",\"params\":{\"cursor\":\"x\"}}",
	    OK_("2", "{\"tools\":[" TOOL_JSON "]}"));
}
END_TEST

#define CALL(args) RPC "\"id\":3,\"method\":\"tools/call\",\"params\":" \
	"{\"name\":\"search\",\"arguments\":" args "}}"
#define SENTINEL(names) "{\\\"type\\\":\\\"copilot_api_tool_search\\\"," \
	"\\\"names\\\":[" names "]}"

START_TEST(tools_call_returns_the_sentinel)
{
	expect(CALL("{\"names\":\"Read, Bash,Read ,\"}"),
	    OK_("3", TEXT_RESULT(SENTINEL("\\\"Read\\\",\\\"Bash\\\""))));
	expect(CALL("{\"names\":\"mcp__github__create_issue\"}"),
	    OK_("3", TEXT_RESULT(SENTINEL("\\\"mcp__github__create_issue\\\""))));
	/* an array of comma lists reads the same way */
	expect(CALL("{\"names\":[\"A,B\",\" C \",\"A\"]}"),
	    OK_("3", TEXT_RESULT(SENTINEL("\\\"A\\\",\\\"B\\\",\\\"C\\\""))));
	/* extra arguments are ignored */
	expect(CALL("{\"names\":\"X\",\"query\":\"Y\"}"),
	    OK_("3", TEXT_RESULT(SENTINEL("\\\"X\\\""))));
}
END_TEST

START_TEST(tools_call_sentinel_round_trips)
{
	const char *r = reply(CALL("{\"names\":\" WebSearch ,\\t\\u00e9t\\u00e9, a\\nb ,\"}"));
	cJSON *v = json_parse(r, strlen(r), NULL, NULL), *s;
	const cJSON *content;

	/* one line: the newline inside a name is escaped, twice */
	ck_assert_ptr_eq(strchr(r, '\n'), r + strlen(r) - 1);
	ck_assert_ptr_nonnull(v);
	content = cJSON_GetArrayItem(json_arr(json_obj(v, "result"), "content"), 0);
	ck_assert_str_eq(json_str(content, "type"), "text");
	s = json_parse(json_str(content, "text"), strlen(json_str(content, "text")),
	    NULL, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(json_str(s, "type"), "copilot_api_tool_search");
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(s, "names")), 3);
	ck_assert_str_eq(cJSON_GetArrayItem(json_arr(s, "names"), 0)->valuestring,
	    "WebSearch");
	ck_assert_str_eq(cJSON_GetArrayItem(json_arr(s, "names"), 1)->valuestring,
	    "\xc3\xa9t\xc3\xa9");
	ck_assert_str_eq(cJSON_GetArrayItem(json_arr(s, "names"), 2)->valuestring,
	    "a\nb");
	cJSON_Delete(s);
	cJSON_Delete(v);
}
END_TEST

START_TEST(tools_call_bad_names_are_tool_errors)
{
	expect(CALL("{}"), OK_("3", TOOL_ERROR(BAD_NAMES)));
	expect(CALL("{\"names\":5}"), OK_("3", TOOL_ERROR(BAD_NAMES)));
	expect(CALL("{\"names\":null}"), OK_("3", TOOL_ERROR(BAD_NAMES)));
	expect(CALL("{\"names\":[\"A\",1]}"), OK_("3", TOOL_ERROR(BAD_NAMES)));
	expect(CALL("{\"names\":{\"A\":1}}"), OK_("3", TOOL_ERROR(BAD_NAMES)));
	expect(CALL("null"), OK_("3", TOOL_ERROR(BAD_NAMES)));
	expect(RPC "\"id\":3,\"method\":\"tools/call\",\"params\":"
	    "{\"name\":\"search\"}}", OK_("3", TOOL_ERROR(BAD_NAMES)));
	expect(CALL("{\"names\":\"\"}"), OK_("3", TOOL_ERROR(NO_NAMES)));
	expect(CALL("{\"names\":\" , ,\\t,\"}"), OK_("3", TOOL_ERROR(NO_NAMES)));
	expect(CALL("{\"names\":[]}"), OK_("3", TOOL_ERROR(NO_NAMES)));
}
END_TEST

START_TEST(tools_call_protocol_errors)
{
	expect(RPC "\"id\":4,\"method\":\"tools/call\",\"params\":"
	    "{\"name\":\"nope\",\"arguments\":{}}}",
	    ERR_("4", -32602, "Unknown tool: nope"));
	expect(RPC "\"id\":4,\"method\":\"tools/call\",\"params\":"
	    "{\"name\":\"Search\"}}", ERR_("4", -32602, "Unknown tool: Search"));
	expect(RPC "\"id\":4,\"method\":\"tools/call\",\"params\":{}}",
	    ERR_("4", -32602, "Invalid params: name must be a string"));
	expect(RPC "\"id\":4,\"method\":\"tools/call\"}",
	    ERR_("4", -32602, "Invalid params: name must be a string"));
	expect(RPC "\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":1}}",
	    ERR_("4", -32602, "Invalid params: name must be a string"));
	expect(RPC "\"id\":4,\"method\":\"tools/call\",\"params\":"
	    "{\"name\":\"search\",\"arguments\":\"Read\"}}",
	    ERR_("4", -32602, "Invalid params: arguments must be an object"));
	expect(RPC "\"id\":4,\"method\":\"tools/call\",\"params\":"
	    "{\"name\":\"search\",\"arguments\":[\"Read\"]}}",
	    ERR_("4", -32602, "Invalid params: arguments must be an object"));
	expect(RPC "\"id\":4,\"method\":\"tools/call\",\"params\":\"search\"}",
	    ERR_("4", -32602, "Invalid params: params must be an object"));
}
END_TEST

START_TEST(unknown_methods)
{
	expect(RPC "\"id\":5,\"method\":\"resources/list\"}",
	    ERR_("5", -32601, "Method not found: resources/list"));
	expect(RPC "\"id\":\"q\",\"method\":\"prompts/list\",\"params\":{}}",
	    ERR_("\"q\"", -32601, "Method not found: prompts/list"));
	/* a notification method sent as a request */
	expect(RPC "\"id\":5,\"method\":\"notifications/initialized\"}",
	    ERR_("5", -32601, "Method not found: notifications/initialized"));
	expect(RPC "\"id\":5,\"method\":\"Ping\"}",
	    ERR_("5", -32601, "Method not found: Ping"));
}
END_TEST

START_TEST(parse_errors)
{
	expect("{bad", ERR_("null", -32700, "Parse error: invalid JSON at column 3"));
	expect(RPC "\"id\":1,\"method\":\"ping\"} {}",
	    ERR_("null", -32700, "Parse error: invalid JSON at column 42"));
	expect(RPC "\"id\":1", ERR_("null", -32700,
	    "Parse error: invalid JSON at column 23"));
	ck_assert(strstr(reply("\x01"), "\"code\":-32700") != NULL);
}
END_TEST

#define NOT_OBJECT ERR_("null", -32600, "Invalid Request: a message is a JSON object")

START_TEST(invalid_requests)
{
	expect("5", NOT_OBJECT);
	expect("\"ping\"", NOT_OBJECT);
	expect("null", NOT_OBJECT);
	expect("true", NOT_OBJECT);
	expect("{\"id\":1,\"method\":\"ping\"}",
	    ERR_("1", -32600, "Invalid Request: jsonrpc must be \\\"2.0\\\""));
	expect("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",
	    ERR_("1", -32600, "Invalid Request: jsonrpc must be \\\"2.0\\\""));
	expect("{\"jsonrpc\":2.0,\"id\":1,\"method\":\"ping\"}",
	    ERR_("1", -32600, "Invalid Request: jsonrpc must be \\\"2.0\\\""));
	expect(RPC "\"id\":1}",
	    ERR_("1", -32600, "Invalid Request: method must be a string"));
	expect(RPC "\"id\":1,\"method\":7}",
	    ERR_("1", -32600, "Invalid Request: method must be a string"));
	/* no id but not a valid notification either: answered with id null */
	expect(RPC "\"method\":[]}",
	    ERR_("null", -32600, "Invalid Request: method must be a string"));
	expect("{}", ERR_("null", -32600, "Invalid Request: jsonrpc must be \\\"2.0\\\""));
	/* MCP ids are strings or numbers, never null */
	expect(RPC "\"id\":null,\"method\":\"ping\"}",
	    ERR_("null", -32600, "Invalid Request: id must be a string or a number"));
	expect(RPC "\"id\":true,\"method\":\"ping\"}",
	    ERR_("null", -32600, "Invalid Request: id must be a string or a number"));
	expect(RPC "\"id\":{\"a\":1},\"method\":\"ping\"}",
	    ERR_("null", -32600, "Invalid Request: id must be a string or a number"));
}
END_TEST

START_TEST(client_responses_are_ignored)
{
	expect(RPC "\"id\":1,\"result\":{}}", "");
	expect(RPC "\"id\":1,\"error\":{\"code\":-1,\"message\":\"no\"}}", "");
	expect(RPC "\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}", "");
}
END_TEST

START_TEST(batches)
{
	expect("[" RPC "\"id\":1,\"method\":\"ping\"}," RPC "\"method\":"
	    "\"notifications/initialized\"},7," RPC "\"id\":\"b\",\"method\":\"x\"}]",
	    "[" RPC "\"id\":1,\"result\":{}}," RPC "\"id\":null,\"error\":{\"code\":"
	    "-32600,\"message\":\"Invalid Request: a message is a JSON object\"}},"
	    RPC "\"id\":\"b\",\"error\":{\"code\":-32601,\"message\":"
	    "\"Method not found: x\"}}]\n");
	/* only notifications: nothing at all */
	expect("[" RPC "\"method\":\"notifications/initialized\"}]", "");
	expect("[]", ERR_("null", -32600, "Invalid Request: empty batch"));
	/* an array inside a batch is not a request */
	expect("[[]]", "[" RPC "\"id\":null,\"error\":{\"code\":-32600,\"message\":"
	    "\"Invalid Request: a message is a JSON object\"}}]\n");
	expect("[" RPC "\"id\":9,\"method\":\"initialize\",\"params\":"
	    "{\"protocolVersion\":\"2025-03-26\"}}]",
	    "[" RPC "\"id\":9,\"error\":{\"code\":-32600,\"message\":\"Invalid "
	    "Request: initialize must not be part of a batch\"}}]\n");
	expect("[" RPC "\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"search\",\"arguments\":{\"names\":\"A\"}}}]",
	    "[" RPC "\"id\":1,\"result\":" TEXT_RESULT(SENTINEL("\\\"A\\\"")) "}]\n");
}
END_TEST

START_TEST(blank_lines_and_crlf)
{
	expect("", "");
	expect("   \t", "");
	expect("\r", "");
	expect(RPC "\"id\":1,\"method\":\"ping\"}\r", OK_("1", "{}"));
	expect("  " RPC "\"id\":1,\"method\":\"ping\"}  ", OK_("1", "{}"));
}
END_TEST

START_TEST(handle_line_appends)
{
	struct buf out = BUF_INIT;
	const char *ping = RPC "\"id\":1,\"method\":\"ping\"}";

	ck_assert_int_eq(buf_puts(&out, "before\n"), GW_OK);
	ck_assert_int_eq(mcp_handle_line(ping, strlen(ping), &out), GW_OK);
	ck_assert_int_eq(mcp_handle_line(ping, strlen(ping), &out), GW_OK);
	ck_assert_str_eq(buf_cstr(&out), "before\n" OK_("1", "{}") OK_("1", "{}"));
	/* the length is honoured: the bytes after it are not read */
	buf_reset(&out);
	ck_assert_int_eq(mcp_handle_line("{}garbage", 2, &out), GW_OK);
	ck_assert_str_eq(buf_cstr(&out),
	    ERR_("null", -32600, "Invalid Request: jsonrpc must be \\\"2.0\\\""));
	buf_free(&out);
}
END_TEST

#define PING(n) RPC "\"id\":" #n ",\"method\":\"ping\"}"

/* cJSON allocations that fail from the n-th on. */
static long alloc_budget = -1;

static void *
tight_malloc(size_t n)
{
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return malloc(n);
}

static void
out_of_memory_with(const char *line)
{
	cJSON_Hooks hooks = { tight_malloc, free };
	struct buf want = BUF_INIT, out = BUF_INIT;
	enum gw_err e;
	long n;

	ck_assert_int_eq(mcp_handle_line(line, strlen(line), &want), GW_OK);
	cJSON_InitHooks(&hooks);
	for (n = 0; n < 100000; n++) {
		buf_reset(&out);
		ck_assert_int_eq(buf_puts(&out, "before\n"), GW_OK);
		alloc_budget = n;
		e = mcp_handle_line(line, strlen(line), &out);
		alloc_budget = -1;
		if (e == GW_ENOMEM) {
			/* nothing of the reply: never half a line */
			ck_assert_str_eq(buf_cstr(&out), "before\n");
			continue;
		}
		ck_assert_int_eq(e, GW_OK);
		ck_assert(strncmp(out.data, "before\n", 7) == 0);
		if (strcmp(out.data + 7, buf_cstr(&want)) == 0)
			break;
		/* cJSON cannot tell a failed allocation from bad JSON */
		ck_assert(strstr(out.data, "\"code\":-32700") != NULL);
	}
	cJSON_InitHooks(NULL);
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, 100000);
	buf_free(&want);
	buf_free(&out);
}

START_TEST(out_of_memory_leaves_no_half_reply)
{
	out_of_memory_with(RPC "\"id\":1,\"method\":\"initialize\",\"params\":"
	    "{\"protocolVersion\":\"2025-06-18\"}}");
	out_of_memory_with(RPC "\"id\":2,\"method\":\"tools/list\"}");
	out_of_memory_with(CALL("{\"names\":\"Read, Bash,Read ,\"}"));
	out_of_memory_with(CALL("{\"names\":\" , \"}"));
	out_of_memory_with(RPC "\"id\":4,\"method\":\"tools/call\",\"params\":"
	    "{\"name\":\"nope\"}}");
	out_of_memory_with("[" PING(1) "," RPC "\"method\":\"n\"},7,[]]");
	out_of_memory_with("[]");
	out_of_memory_with("{bad");
}
END_TEST

#define STREAM PING(1) "\n\n" RPC "\"method\":\"notifications/initialized\"}\r\n" \
	"[" PING(2) "]\n{x\n" PING(3)
#define STREAM_OUT OK_("1", "{}") "[" RPC "\"id\":2,\"result\":{}}]\n" \
	ERR_("null", -32700, "Parse error: invalid JSON at column 2") OK_("3", "{}")

START_TEST(conn_splits_lines_across_reads)
{
	const char *in = STREAM;
	size_t n = strlen(in), step, i;
	struct mcp_conn c;
	struct buf out = BUF_INIT;

	for (step = 1; step <= n; step++) {
		mcp_conn_init(&c, 0);
		buf_reset(&out);
		for (i = 0; i < n; i += step)
			ck_assert_int_eq(mcp_conn_feed(&c, in + i,
			    step < n - i ? step : n - i, &out), GW_OK);
		/* the last line has no newline: it waits for EOF */
		ck_assert_ptr_null(strstr(buf_cstr(&out), "\"id\":3"));
		ck_assert_int_eq(mcp_conn_finish(&c, &out), GW_OK);
		ck_assert_str_eq(buf_cstr(&out), STREAM_OUT);
		mcp_conn_free(&c);
	}
	buf_free(&out);
	mcp_conn_free(NULL);
}
END_TEST

#define TOO_LONG(n) ERR_("null", -32700, "Parse error: message longer than " #n " bytes")

START_TEST(conn_skips_over_long_lines)
{
	struct mcp_conn c;
	struct buf out = BUF_INIT;
	const char *fits = PING(1);                 /* 40 bytes */

	ck_assert_uint_eq(strlen(fits), 40);
	mcp_conn_init(&c, 40);
	ck_assert_int_eq(mcp_conn_feed(&c, fits, 40, &out), GW_OK);
	ck_assert_int_eq(mcp_conn_feed(&c, "\n", 1, &out), GW_OK);
	ck_assert_str_eq(buf_cstr(&out), OK_("1", "{}"));
	/* over the limit in pieces: one error, the rest of the line skipped,
	 * the next line served */
	buf_reset(&out);
	ck_assert_int_eq(mcp_conn_feed(&c, "[" PING(2), 20, &out), GW_OK);
	ck_assert_str_eq(buf_cstr(&out), "");
	ck_assert_int_eq(mcp_conn_feed(&c, "0123456789012345678901234567890", 31,
	    &out), GW_OK);
	ck_assert_str_eq(buf_cstr(&out), TOO_LONG(40));
	ck_assert_int_eq(mcp_conn_feed(&c, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    42, &out), GW_OK);
	ck_assert_int_eq(mcp_conn_feed(&c, "yy\n" PING(4) "\n", 3 + 40 + 1, &out),
	    GW_OK);
	ck_assert_str_eq(buf_cstr(&out), TOO_LONG(40) OK_("4", "{}"));
	/* over the limit inside one read */
	buf_reset(&out);
	ck_assert_int_eq(mcp_conn_feed(&c, PING(5) " \n" PING(6) "\n", 83, &out),
	    GW_OK);
	ck_assert_str_eq(buf_cstr(&out), TOO_LONG(40) OK_("6", "{}"));
	/* EOF in the middle of a skipped line: nothing more */
	buf_reset(&out);
	ck_assert_int_eq(mcp_conn_feed(&c, PING(7) "zz", 42, &out), GW_OK);
	ck_assert_int_eq(mcp_conn_finish(&c, &out), GW_OK);
	ck_assert_str_eq(buf_cstr(&out), TOO_LONG(40));
	mcp_conn_free(&c);
	buf_free(&out);
}
END_TEST

START_TEST(conn_default_limit)
{
	struct mcp_conn c;

	mcp_conn_init(&c, 0);
	ck_assert_uint_eq(c.max_line, (size_t)16 * 1024 * 1024);
	ck_assert_uint_eq(MCP_LINE_MAX, (size_t)16 * 1024 * 1024);
	mcp_conn_free(&c);
}
END_TEST

struct writer {
	int fd;
	const char *data;
	size_t len;
	size_t step;
};

/* Writes in small pieces so the server sees partial reads. */
static void *
write_slowly(void *arg)
{
	struct writer *w = arg;
	size_t at = 0, n;

	while (at < w->len) {
		n = w->len - at < w->step ? w->len - at : w->step;
		if (write(w->fd, w->data + at, n) != (ssize_t)n)
			break;
		at += n;
		usleep(200);
	}
	close(w->fd);
	return NULL;
}

static char *
read_all(int fd)
{
	struct buf b = BUF_INIT;
	char tmp[4096];
	ssize_t n;

	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		ck_assert_int_eq(buf_append(&b, tmp, (size_t)n), GW_OK);
	return buf_detach(&b);
}

START_TEST(serve_over_pipes)
{
	struct writer w = { -1, STREAM, strlen(STREAM), 7 };
	int in[2], out[2];
	pthread_t th;
	char *got;

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	w.fd = in[1];
	ck_assert_int_eq(pthread_create(&th, NULL, write_slowly, &w), 0);
	/* the replies fit in the pipe buffer, so serving first is safe */
	ck_assert_int_eq(mcp_serve(in[0], out[1], 0), GW_OK);
	pthread_join(th, NULL);
	close(in[0]);
	close(out[1]);
	got = read_all(out[0]);
	close(out[0]);
	ck_assert_str_eq(got != NULL ? got : "", STREAM_OUT);
	free(got);
}
END_TEST

START_TEST(serve_big_line_with_small_limit)
{
	struct buf in = BUF_INIT;
	const char *t = getenv("TMPDIR");
	int fd, out[2];
	char path[4096], *file = NULL, *got;
	enum gw_err e;
	size_t i;

	/* a file on disk as stdin: reads of 64 KiB, a line much longer */
	snprintf(path, sizeof(path), "%s/gw-mcp-XXXXXX",
	    t != NULL && *t != '\0' ? t : P_tmpdir);
	ck_assert_ptr_nonnull(mkdtemp(path));
	ck_assert_int_eq(buf_printf(&in, "%s/in", path), GW_OK);
	file = buf_detach(&in);
	e = buf_puts(&in, "{\"pad\":\"");
	for (i = 0; i < 300000 && e == GW_OK; i++)
		e = buf_putc(&in, 'a' + (char)(i % 26));
	if (e == GW_OK)
		e = buf_puts(&in, "\"}\n" PING(1) "\n");
	ck_assert_int_eq(e, GW_OK);
	fd = open(file, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, in.data, in.len), (ssize_t)in.len);
	close(fd);
	fd = open(file, O_RDONLY);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(mcp_serve(fd, out[1], 100000), GW_OK);
	close(fd);
	close(out[1]);
	got = read_all(out[0]);
	close(out[0]);
	ck_assert_str_eq(got, TOO_LONG(100000) OK_("1", "{}"));
	/* and within the default limit the same line is just a request */
	fd = open(file, O_RDONLY);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(mcp_serve(fd, out[1], 0), GW_OK);
	close(fd);
	close(out[1]);
	free(got);
	got = read_all(out[0]);
	close(out[0]);
	ck_assert_str_eq(got, ERR_("null", -32600, "Invalid Request: jsonrpc "
	    "must be \\\"2.0\\\"") OK_("1", "{}"));
	free(got);
	unlink(file);
	rmdir(path);
	free(file);
	buf_free(&in);
}
END_TEST

START_TEST(serve_reports_a_gone_reader)
{
	const char *msg = PING(1) "\n";
	int in[2], out[2];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(write(in[1], msg, strlen(msg)), (ssize_t)strlen(msg));
	close(in[1]);
	close(out[0]);
	ck_assert_int_eq(mcp_serve(in[0], out[1], 0), GW_ECLIENTGONE);
	close(in[0]);
	close(out[1]);
	/* a closed input is a read error, not EOF */
	ck_assert_int_eq(mcp_serve(-1, STDOUT_FILENO, 0), GW_EIO);
}
END_TEST

START_TEST(serve_empty_input)
{
	int in[2], out[2];
	char *got;

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	close(in[1]);
	ck_assert_int_eq(mcp_serve(in[0], out[1], 0), GW_OK);
	close(in[0]);
	close(out[1]);
	got = read_all(out[0]);
	close(out[0]);
	ck_assert_str_eq(got, "");
	free(got);
}
END_TEST

static Suite *
mcp_suite(void)
{
	Suite *s = suite_create("mcp");
	TCase *tc = tcase_create("protocol");
	TCase *io = tcase_create("stream");

	tcase_add_test(tc, initialize_echoes_supported_versions);
	tcase_add_test(tc, initialize_offers_latest_for_other_versions);
	tcase_add_test(tc, initialize_needs_a_protocol_version);
	tcase_add_test(tc, notifications_get_no_reply);
	tcase_add_test(tc, ping_answers_empty_result);
	tcase_add_test(tc, ids_are_echoed);
	tcase_add_test(tc, tools_list_is_the_search_tool);
	tcase_add_test(tc, tools_call_returns_the_sentinel);
	tcase_add_test(tc, tools_call_sentinel_round_trips);
	tcase_add_test(tc, tools_call_bad_names_are_tool_errors);
	tcase_add_test(tc, tools_call_protocol_errors);
	tcase_add_test(tc, unknown_methods);
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, invalid_requests);
	tcase_add_test(tc, client_responses_are_ignored);
	tcase_add_test(tc, batches);
	tcase_add_test(tc, blank_lines_and_crlf);
	tcase_add_test(tc, handle_line_appends);
	tcase_add_test(tc, out_of_memory_leaves_no_half_reply);
	suite_add_tcase(s, tc);
	tcase_add_test(io, conn_splits_lines_across_reads);
	tcase_add_test(io, conn_skips_over_long_lines);
	tcase_add_test(io, conn_default_limit);
	tcase_add_test(io, serve_over_pipes);
	tcase_add_test(io, serve_big_line_with_small_limit);
	tcase_add_test(io, serve_reports_a_gone_reader);
	tcase_add_test(io, serve_empty_input);
	suite_add_tcase(s, io);
	return s;
}

int
main(void)
{
	log_set_level(LOG_ERROR);
	return run_suite(mcp_suite());
}
