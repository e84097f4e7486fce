/*
 * Copilot's identity headers and the per-request facts taken from a
 * payload: x-initiator, vision, request and session ids (copilot.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "upstream/copilot.h"

static pthread_mutex_t ident_mu = PTHREAD_MUTEX_INITIALIZER;

/* Rotates the session id when due; thread-safe. */
static void
copilot_ident_tick(struct copilot_ident *id)
{
	char u[37];
	uint32_t r = 0;
	int64_t now = util_now_ms();

	pthread_mutex_lock(&ident_mu);
	if (id->session_id[0] == '\0' || now >= id->session_expires_ms) {
		if (util_uuid4(u) == GW_OK) {
			snprintf(id->session_id, sizeof(id->session_id), "%s%lld",
			    u, (long long)now);
			/* best effort: r stays 0 on failure (no jitter) */
			GW_IGNORE(util_random(&r, sizeof(r)));
			/* VS Code rotates its session every 60 to 80 minutes. */
			id->session_expires_ms = now + 3600000 + (r % 1200000);
		}
	}
	pthread_mutex_unlock(&ident_mu);
}

void
copilot_machine_id(char out[65])
{
	char path[300], mac[64], u[37];
	struct dirent *de;
	DIR *d;
	FILE *f;
	int found = 0;

	if ((d = opendir("/sys/class/net")) != NULL) {
		while (!found && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' || strcmp(de->d_name, "lo") == 0)
				continue;
			snprintf(path, sizeof(path), "/sys/class/net/%s/address",
			    de->d_name);
			if ((f = fopen(path, "r")) == NULL)
				continue;
			if (fgets(mac, sizeof(mac), f) != NULL) {
				mac[strcspn(mac, "\n")] = '\0';
				if (mac[0] != '\0' &&
				    strcmp(mac, "00:00:00:00:00:00") != 0) {
					util_sha256_hex(mac, strlen(mac), out);
					found = 1;
				}
			}
			fclose(f);
		}
		closedir(d);
	}
	if (!found) {
		if (util_uuid4(u) != GW_OK)
			snprintf(u, sizeof(u), "%lld", (long long)util_now_ms());
		util_sha256_hex(u, strlen(u), out);
	}
}

static GW_MUST_CHECK enum gw_err
add_opencode(const struct copilot_call *c, struct strlist *out)
{
	enum gw_err e = GW_OK;

	if (c->token != NULL)
		e = strlist_addf(out, "Authorization: Bearer %s", c->token);
	if (e == GW_OK)
		e = strlist_add(out, "Accept: application/json");
	if (e == GW_OK && c->json_body)
		e = strlist_add(out, "Content-Type: application/json");
	if (e == GW_OK)
		e = strlist_add(out, "User-Agent: opencode/" OPENCODE_VERSION
		    " ai-sdk/provider-utils/4.0.23 runtime/bun/1.3.13, opencode/"
		    OPENCODE_VERSION);
	if (e == GW_OK)
		e = strlist_add(out, "Openai-Intent: conversation-edits");
	if (e == GW_OK && c->vision)
		e = strlist_add(out, "Copilot-Vision-Request: true");
	if (e == GW_OK && c->initiator != NULL)
		e = strlist_addf(out, "x-initiator: %s", c->initiator);
	return e;
}

enum gw_err
copilot_headers(struct copilot_ident *id, const struct copilot_call *c,
    struct strlist *out)
{
	const char *itype, *intent;
	enum gw_err e = GW_OK;

	if (id->opencode)
		return add_opencode(c, out);
	copilot_ident_tick(id);
	itype = c->interaction_type != NULL ? c->interaction_type :
	    "conversation-agent";
	intent = c->intent != NULL ? c->intent : "conversation-agent";
#define ADD(...) do { if (e == GW_OK) e = strlist_addf(out, __VA_ARGS__); } while (0)
	if (c->token != NULL)
		ADD("Authorization: Bearer %s", c->token);
	if (c->json_body)
		ADD("content-type: application/json");
	if (c->accept != NULL)
		ADD("accept: %s", c->accept);
	if (!c->no_integration_id)
		ADD("copilot-integration-id: vscode-chat");
	ADD("editor-device-id: %s", id->device_id);
	ADD("editor-version: vscode/" COPILOT_VSCODE_VERSION);
	ADD("editor-plugin-version: copilot-chat/" COPILOT_PLUGIN_VERSION);
	ADD("user-agent: %s", c->user_agent != NULL ? c->user_agent :
	    COPILOT_USER_AGENT);
	ADD("openai-intent: %s", intent);
	ADD("x-github-api-version: " COPILOT_API_VERSION);
	if (c->request_id != NULL) {
		ADD("x-request-id: %s", c->request_id);
		ADD("x-agent-task-id: %s", c->request_id);
	}
	ADD("x-interaction-type: %s", itype);
	ADD("x-vscode-user-agent-library-version: electron-fetch");
	if (c->interaction_id != NULL)
		ADD("x-interaction-id: %s", c->interaction_id);
	if (c->initiator != NULL)
		ADD("x-initiator: %s", c->initiator);
	if (c->vision)
		ADD("copilot-vision-request: true");
	if (c->anthropic_beta != NULL)
		ADD("anthropic-beta: %s", c->anthropic_beta);
	ADD("vscode-machineid: %s", id->machine_id);
	pthread_mutex_lock(&ident_mu);
	ADD("vscode-sessionid: %s", id->session_id);
	pthread_mutex_unlock(&ident_mu);
#undef ADD
	return e;
}

const char *
copilot_chat_initiator(const cJSON *payload)
{
	const cJSON *msgs = json_arr(payload, "messages");
	const cJSON *last;
	const char *role;

	if (msgs == NULL || (last = cJSON_GetArrayItem(msgs,
	    cJSON_GetArraySize(msgs) - 1)) == NULL)
		return "user";
	role = json_str(last, "role");
	if (role != NULL && (strcmp(role, "assistant") == 0 ||
	    strcmp(role, "tool") == 0))
		return "agent";
	return "user";
}

int
copilot_chat_has_images(const cJSON *payload)
{
	const cJSON *m, *part, *content;
	const char *type;

	cJSON_ArrayForEach(m, json_arr(payload, "messages")) {
		content = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (!cJSON_IsArray(content))
			continue;
		cJSON_ArrayForEach(part, content) {
			type = json_str(part, "type");
			if (type != NULL && strcmp(type, "image_url") == 0)
				return 1;
		}
	}
	return 0;
}

/* The content key of one user message: the string itself, or its
 * non-tool_result blocks serialised with cache_control removed. */
static GW_MUST_CHECK enum gw_err
content_key(const cJSON *content, struct buf *key)
{
	const cJSON *block;
	cJSON *arr = NULL, *copy;
	const char *type;
	enum gw_err e = GW_OK;

	if (cJSON_IsString(content))
		return buf_puts(key, content->valuestring);
	if (!cJSON_IsArray(content))
		return GW_OK;
	if ((arr = cJSON_CreateArray()) == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(block, content) {
		type = json_str(block, "type");
		if (type != NULL && strcmp(type, "tool_result") == 0)
			continue;
		if ((copy = cJSON_Duplicate(block, 1)) == NULL) {
			e = GW_ENOMEM;
			goto out;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(copy, "cache_control");
		cJSON_AddItemToArray(arr, copy);
	}
	if (cJSON_GetArraySize(arr) > 0)
		e = json_append(key, arr);
out:
	cJSON_Delete(arr);
	return e;
}

enum gw_err
copilot_request_id(const cJSON *messages, const char *session_id,
    const char *machine_id, char out[37])
{
	struct buf key = BUF_INIT, all = BUF_INIT;
	const char *role;
	int i;
	enum gw_err e = GW_OK;

	for (i = cJSON_GetArraySize(messages) - 1; i >= 0; i--) {
		const cJSON *m = cJSON_GetArrayItem(messages, i);

		role = json_str(m, "role");
		if (role == NULL || strcmp(role, "user") != 0)
			continue;
		buf_reset(&key);
		if ((e = content_key(cJSON_GetObjectItemCaseSensitive(m,
		    "content"), &key)) != GW_OK)
			goto out;
		if (key.len > 0)
			break;
	}
	if (key.len == 0) {
		e = util_uuid4(out);
		goto out;
	}
	if ((e = buf_printf(&all, "%s%s", session_id ? session_id : "",
	    machine_id ? machine_id : "")) != GW_OK ||
	    (e = buf_append(&all, key.data, key.len)) != GW_OK)
		goto out;
	util_uuid_from_string(all.data, all.len, out);
out:
	buf_free(&key);
	buf_free(&all);
	return e;
}

enum gw_err
copilot_ws_headers(struct copilot_ident *id, const struct copilot_call *c,
    struct strlist *out)
{
	static const char drop[] = "x-vscode-user-agent-library-version:";
	struct copilot_call w = *c;
	struct strlist all = STRLIST_INIT;
	const char *const *h;
	enum gw_err e;

	w.json_body = 0;
	w.accept = NULL;
	w.initiator = NULL;
	w.anthropic_beta = NULL;
	if (!id->opencode)
		w.user_agent = "node";
	e = copilot_headers(id, &w, &all);
	for (h = strlist_view(&all); e == GW_OK && h != NULL && *h != NULL; h++)
		if (strncasecmp(*h, drop, sizeof(drop) - 1) != 0)
			e = strlist_add(out, *h);
	strlist_free(&all);
	return e;
}

/* c onto out unless it is a control character (nothing upstream-made
 * reaches the log able to forge a line). */
static GW_MUST_CHECK enum gw_err
add_printable(struct buf *out, char c)
{
	if ((unsigned char)c < 0x20 || c == 0x7f)
		return GW_OK;
	return buf_append(out, &c, 1);
}

/* value of one key of a URL query (the first, '+' as a space, %XX
 * decoded, control characters dropped) into out; 0 when absent/empty. */
static int
query_get(const char *q, const char *key, struct buf *out)
{
	size_t klen = strlen(key), n;
	const char *p = q, *end, *v;
	char c;

	buf_reset(out);
	while (p != NULL && *p != '\0') {
		end = strchr(p, '&');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			for (v = p + klen + 1; v < p + n; v++) {
				c = *v == '+' ? ' ' : *v;
				if (c == '%' && p + n - v > 2 &&
				    isxdigit((unsigned char)v[1]) &&
				    isxdigit((unsigned char)v[2])) {
					char hex[3] = { v[1], v[2], '\0' };
					c = (char)strtol(hex, NULL, 16);
					v += 2;
				}
				if (add_printable(out, c) != GW_OK)
					return 0;
			}
			return out->len > 0;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return 0;
}

/* One header value's line into out: GW_OK, GW_ENOTFOUND when rem or rst
 * is missing or empty, GW_ENOMEM. */
static GW_MUST_CHECK enum gw_err
copilot_rate_limit_describe(const char *type, const char *value,
    struct buf *out)
{
	struct buf rem = BUF_INIT, rst = BUF_INIT;
	enum gw_err e = GW_ENOTFOUND;

	buf_reset(out);
	if (query_get(value, "rem", &rem) && query_get(value, "rst", &rst))
		e = buf_printf(out, "Copilot %s quota remaining: %s, resets at: %s",
		    type, rem.data, rst.data);
	buf_free(&rem);
	buf_free(&rst);
	return e;
}

void
copilot_log_rate_limits(char *const *headers, size_t n)
{
	static const char *const types[] = { "session", "weekly" };
	static const char prefix[] = "x-usage-ratelimit-";
	struct buf line = BUF_INIT;
	const char *h, *colon;
	size_t t, i, len;

	for (t = 0; t < ARRAY_LEN(types); t++)
		for (i = 0; i < n; i++) {
			h = headers[i];
			len = strlen(types[t]);
			if (strncasecmp(h, prefix, sizeof(prefix) - 1) != 0 ||
			    strncasecmp(h + sizeof(prefix) - 1, types[t], len) != 0 ||
			    (colon = h + sizeof(prefix) - 1 + len)[0] != ':')
				continue;
			for (colon++; *colon == ' ' || *colon == '\t'; colon++)
				;
			if (copilot_rate_limit_describe(types[t], colon, &line) ==
			    GW_OK)
				log_info("%s", line.data);
			break;
		}
	buf_free(&line);
}

void
copilot_log_quota_snapshots(const cJSON *snapshots)
{
	static const char *const keys[][2] = {
		{ "session", "5Hour-Session-RateLimits" },
		{ "weekly", "Weekly-Session-RateLimits" },
	};
	struct buf clean = BUF_INIT;
	const cJSON *s;
	char *pct;
	const char *rst;
	size_t i;

	for (i = 0; i < ARRAY_LEN(keys); i++) {
		s = cJSON_GetObjectItemCaseSensitive(snapshots, keys[i][1]);
		/* the reference's isCopilotQuotaSnapshot */
		if (!cJSON_IsObject(s) || json_str(s, "entitlement") == NULL ||
		    !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(s,
		    "percent_remaining")) ||
		    !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(s,
		    "overage_permitted")) ||
		    !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(s,
		    "overage_count")) ||
		    (rst = json_str(s, "reset_date")) == NULL)
			continue;
		if ((pct = json_print(cJSON_GetObjectItemCaseSensitive(s,
		    "percent_remaining"))) == NULL)
			continue;
		buf_reset(&clean);
		for (; *rst != '\0' && clean.len < 100; rst++)
			if (add_printable(&clean, *rst) != GW_OK)
				break;
		log_info("Copilot %s quota remaining: %s, resets at: %s",
		    keys[i][0], pct, buf_cstr(&clean));
		cJSON_free(pct);
	}
	buf_free(&clean);
}
