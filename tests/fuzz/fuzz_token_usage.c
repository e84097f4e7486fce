/* libFuzzer: the usage pages' query parsing (GET /token-usage,
 * /token-usage/daily, /token-usage/events: period, page, page_size, read
 * the way the reference reads them) through the whole request path, over
 * a database holding rows in today, this week and this month.
 *
 * Input: the first byte picks the page (mod 3), the rest is the query
 * string.  Every answer must be a 200 with a JSON object naming one of
 * the three periods; the events page must keep 1 <= page_size <= 100 and
 * list at most page_size events. */
#include "fuzz_gateway.h"

#include "state/usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
tu_rows(void)
{
	static const long ago_days[] = { 0, 0, 1, 3, 6, 8, 20, 29, 31, 400 };
	struct usage_event ev;
	int64_t now = util_now_ms();
	size_t i;

	for (i = 0; i < sizeof(ago_days) / sizeof(ago_days[0]); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.created_at_ms = now - ago_days[i] * 86400000 - 1000;
		ev.trace_id = "t";
		ev.user_id = "octocat";
		ev.source = "copilot";
		ev.endpoint = i % 2 ? "messages" : "chat_completions";
		ev.model = i % 3 ? "gpt-4o" : "claude-sonnet-4";
		ev.status = 200;
		ev.input_tokens = 10 + (long)i;
		ev.output_tokens = 5;
		ev.total_tokens = -1;
		if (usage_record(fg.w.db, &ev) != GW_OK)
			fg_die("usage_record", "seed row");
	}
}

static void
tu_check(const char *raw, int events)
{
	const char *body = strstr(raw, "\r\n\r\n") + 4;
	cJSON *v = json_parse(body, strlen(body), NULL, NULL);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(v, "period");

	if (strncmp(raw, "Status: 200", 11) != 0 || !cJSON_IsObject(v))
		fg_die("not a 200 with a JSON object", raw);
	if (!cJSON_IsString(p) || (strcmp(p->valuestring, "day") != 0 &&
	    strcmp(p->valuestring, "week") != 0 &&
	    strcmp(p->valuestring, "month") != 0))
		fg_die("bad period", raw);
	if (events) {
		const cJSON *ps = cJSON_GetObjectItemCaseSensitive(v, "page_size");
		const cJSON *ev = cJSON_GetObjectItemCaseSensitive(v, "items");

		if (!cJSON_IsNumber(ps) || ps->valuedouble < 1 ||
		    ps->valuedouble > USAGE_MAX_PAGE_SIZE)
			fg_die("page size out of range", raw);
		if (!cJSON_IsArray(ev) ||
		    cJSON_GetArraySize(ev) > (int)ps->valuedouble)
			fg_die("more events than the page size", raw);
	}
	cJSON_Delete(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const pages[] = { "/token-usage",
		"/token-usage/daily", "/token-usage/events" };
	static int seeded;
	char uri[4200], *env[4], *out = NULL;
	int pick;

	if (size < 1 || size > 4096)
		return 0;
	fg_init("");
	if (!seeded) {
		tu_rows();
		seeded = 1;
	}
	pick = data[0] % 3;
	/* a NUL ends the parameter, as in a FastCGI record it cannot */
	snprintf(uri, sizeof(uri), "REQUEST_URI=%s?%.*s", pages[pick],
	    (int)(size - 1), (const char *)data + 1);
	env[0] = "REQUEST_METHOD=GET";
	env[1] = uri;
	env[2] = "HTTP_AUTHORIZATION=Bearer " FG_API_KEY;
	env[3] = NULL;
	(void)fg_serve(env, "", 0, &out);
	tu_check(out, pick == 2);
	free(out);
	return 0;
}
