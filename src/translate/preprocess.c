/*
 * The /v1/messages preprocessing pipeline on the Copilot path
 * (translation spec §1, §2, §8, §9).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "translate/preprocess.h"
#include "translate/stream.h"

#define REMINDER_OPEN "<system-reminder>"
#define REMINDER_CLOSE "</system-reminder>"
#define SUBAGENT_HOOK_PREFIX "SubagentStart hook additional"
#define SUBAGENT_MARKER "__SUBAGENT_MARKER__"
#define TOOL_LOADED "Tool loaded."
#define PDF_READ_PREFIX "PDF file read:"
#define IDE_EXECUTE_CODE "mcp__ide__executeCode"
#define IDE_GET_DIAGNOSTICS "mcp__ide__getDiagnostics"
#define IDE_GET_DIAGNOSTICS_DESCRIPTION \
	"Get language diagnostics from VS Code. Returns errors, warnings, " \
	"information, and hints for files in the workspace."

static const char *const compact_system_starts[] = {
	"You are a helpful AI assistant tasked with summarizing conversations",
	"You are an anchored context summarization assistant for coding sessions.",
};
static const char *const compact_continue_starts[] = {
	"This session is being continued from a previous conversation that ran "
	"out of context. The summary below covers the earlier portion of the "
	"conversation.",
	"Continue if you have next steps, or stop and ask for clarification if "
	"you are unsure how to proceed.",
	"The previous request exceeded the provider's size limit due to large "
	"media attachments. The conversation was compacted and media files were "
	"removed from context.",
};
#define COMPACT_GUARD "CRITICAL: Respond with TEXT ONLY. Do NOT call any tools."
#define COMPACT_SUMMARY \
	"Your task is to create a detailed summary of the conversation so far"
static const char *const compact_sections[] = { "Pending Tasks:", "Current Work:" };

/* ---- small helpers ---------------------------------------------------- */

static const cJSON *
array_or_null(const cJSON *v)
{
	return cJSON_IsArray(v) ? v : NULL;
}

static int
is_type(const cJSON *block, const char *type)
{
	const char *t = json_str(block, "type");

	return t != NULL && strcmp(t, type) == 0;
}

static int
starts_with(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Length of the JavaScript white space or line terminator at p, or 0. */
static size_t
js_space_at(const unsigned char *p, size_t n)
{
	if (n >= 1 && (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r')))
		return 1;
	if (n >= 2 && p[0] == 0xC2 && p[1] == 0xA0)
		return 2;
	if (n < 3)
		return 0;
	if ((p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80) ||
	    (p[0] == 0xE2 && p[1] == 0x80 &&
	    ((p[2] >= 0x80 && p[2] <= 0x8A) || p[2] == 0xA8 || p[2] == 0xA9 ||
	    p[2] == 0xAF)) ||
	    (p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) ||
	    (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) ||
	    (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF))
		return 3;
	return 0;
}

/* String.prototype.trim over s[0..n): the trimmed view. */
static void
js_trim(const char *s, size_t n, const char **out, size_t *outn)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t k, i;

	while (n > 0 && (k = js_space_at(p, n)) > 0) {
		p += k;
		n -= k;
	}
	/* trailing: every space is 1 byte or ends a 2/3-byte sequence */
	for (;;) {
		for (i = 1; i <= 3 && i <= n; i++)
			if (js_space_at(p + n - i, i) == i)
				break;
		if (i > 3 || i > n)
			break;
		n -= i;
	}
	*out = (const char *)p;
	*outn = n;
}

static cJSON *
text_block(const char *text)
{
	cJSON *b = cJSON_CreateObject();

	if (b == NULL || cJSON_AddStringToObject(b, "type", "text") == NULL ||
	    cJSON_AddStringToObject(b, "text", text) == NULL) {
		cJSON_Delete(b);
		return NULL;
	}
	return b;
}

static GW_MUST_CHECK enum gw_err
set_str(cJSON *obj, const char *key, const char *s)
{
	return json_set(obj, key, cJSON_CreateString(s));
}

/* The last element; walks rather than trusting child->prev, which not
 * every cJSON operation keeps pointing at the tail. */
static cJSON *
last_child(const cJSON *arr)
{
	cJSON *c = arr != NULL ? arr->child : NULL;

	while (c != NULL && c->next != NULL)
		c = c->next;
	return c;
}

/* Moves every element of src to the end of dst. */
static void
move_children(cJSON *dst, cJSON *src)
{
	cJSON *c;

	while ((c = src->child) != NULL)
		cJSON_AddItemToArray(dst, cJSON_DetachItemViaPointer(src, c));
}

/* obj[key] := base + "\n\n" + add, with either side left out when empty
 * (base may be obj[key]'s own text: it is copied before the replacing). */
static GW_MUST_CHECK enum gw_err
set_joined(cJSON *obj, const char *key, const char *base, const char *add)
{
	struct buf b = BUF_INIT;
	enum gw_err e;

	if (*base == '\0')
		return set_str(obj, key, add);
	if (*add == '\0')
		return set_str(obj, key, base);
	if ((e = buf_printf(&b, "%s\n\n%s", base, add)) == GW_OK)
		e = set_str(obj, key, buf_cstr(&b));
	buf_free(&b);
	return e;
}

/* ---- validation ------------------------------------------------------- */

static GW_MUST_CHECK enum gw_err
validate_blocks(const cJSON *arr, int i, struct buf *errmsg)
{
	const cJSON *b, *c, *inner;
	int j = 0, k;

	cJSON_ArrayForEach(b, arr) {
		if (!cJSON_IsObject(b) || json_str(b, "type") == NULL)
			return tr_invalid(errmsg,
			    "messages[%d].content[%d]: must be "
			    "an object with a string type", i, j);
		if (is_type(b, "text") && json_str(b, "text") == NULL)
			return tr_invalid(errmsg,
			    "messages[%d].content[%d].text: "
			    "must be a string", i, j);
		if (is_type(b, "tool_result")) {
			c = cJSON_GetObjectItemCaseSensitive(b, "content");
			if (c != NULL && !cJSON_IsNull(c) && !cJSON_IsString(c) &&
			    !cJSON_IsArray(c))
				return tr_invalid(errmsg,
				    "messages[%d].content[%d]."
				    "content: must be a string or an array", i, j);
			k = 0;
			cJSON_ArrayForEach(inner, array_or_null(c)) {
				if (!cJSON_IsObject(inner))
					return tr_invalid(errmsg,
					    "messages[%d].content[%d]."
					    "content[%d]: must be an object", i, j,
					    k);
				if (is_type(inner, "text") &&
				    json_str(inner, "text") == NULL)
					return tr_invalid(errmsg,
					    "messages[%d].content[%d]."
					    "content[%d].text: must be a string",
					    i, j, k);
				k++;
			}
		}
		j++;
	}
	return GW_OK;
}

enum gw_err
pp_validate(const cJSON *payload, struct buf *errmsg)
{
	const cJSON *msgs, *m, *c, *sys, *tools, *b;
	const char *model, *role;
	enum gw_err e;
	int i = 0, j = 0;

	if (!cJSON_IsObject(payload))
		return tr_invalid(errmsg, "request body must be a JSON object");
	model = json_str(payload, "model");
	if (model == NULL || *model == '\0')
		return tr_invalid(errmsg, "model: must be a non-empty string");
	msgs = cJSON_GetObjectItemCaseSensitive(payload, "messages");
	if (!cJSON_IsArray(msgs))
		return tr_invalid(errmsg, "messages: must be an array");
	cJSON_ArrayForEach(m, msgs) {
		if (!cJSON_IsObject(m))
			return tr_invalid(errmsg,
			    "messages[%d]: must be an object", i);
		role = json_str(m, "role");
		if (role == NULL || (strcmp(role, "user") != 0 &&
		    strcmp(role, "assistant") != 0 && strcmp(role, "system") != 0))
			return tr_invalid(errmsg,
			    "messages[%d].role: must be user, "
			    "assistant or system", i);
		c = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (!cJSON_IsString(c) && !cJSON_IsArray(c))
			return tr_invalid(errmsg,
			    "messages[%d].content: must be a "
			    "string or an array", i);
		if (cJSON_IsArray(c) &&
		    (e = validate_blocks(c, i, errmsg)) != GW_OK)
			return e;
		i++;
	}
	sys = cJSON_GetObjectItemCaseSensitive(payload, "system");
	if (sys != NULL && !cJSON_IsNull(sys) && !cJSON_IsString(sys) &&
	    !cJSON_IsArray(sys))
		return tr_invalid(errmsg,
		    "system: must be a string or an array");
	cJSON_ArrayForEach(b, array_or_null(sys)) {
		if (!cJSON_IsObject(b))
			return tr_invalid(errmsg,
			    "system[%d]: must be an object", j);
		j++;
	}
	tools = cJSON_GetObjectItemCaseSensitive(payload, "tools");
	if (tools != NULL && !cJSON_IsNull(tools) && !cJSON_IsArray(tools))
		return tr_invalid(errmsg, "tools: must be an array");
	return GW_OK;
}

/* ---- §1 step 3: provider/model aliases -------------------------------- */

enum gw_err
pp_provider_alias(const char *model, char **provider, char **provider_model)
{
	const char *slash, *a, *b;
	size_t an, bn, len;

	*provider = *provider_model = NULL;
	if (model == NULL || (slash = strchr(model, '/')) == NULL)
		return GW_OK;
	len = strlen(model);
	if (slash == model || slash == model + len - 1)
		return GW_OK;
	js_trim(model, (size_t)(slash - model), &a, &an);
	js_trim(slash + 1, len - (size_t)(slash - model) - 1, &b, &bn);
	if (an == 0 || bn == 0)
		return GW_OK;
	*provider = strndup(a, an);
	*provider_model = strndup(b, bn);
	if (*provider == NULL || *provider_model == NULL) {
		free(*provider);
		free(*provider_model);
		*provider = *provider_model = NULL;
		return GW_ENOMEM;
	}
	return GW_OK;
}

/* ---- §2.1 normalizeSystemMessages ------------------------------------- */

/* "<system-reminder>\n<trimmed>\n</system-reminder>" unless already one. */
static char *
wrap_reminder(const char *text, size_t n)
{
	struct buf b = BUF_INIT;
	const char *t;
	size_t tn;

	if (n >= strlen(REMINDER_OPEN) && starts_with(text, REMINDER_OPEN))
		return strndup(text, n);
	js_trim(text, n, &t, &tn);
	if (buf_printf(&b, REMINDER_OPEN "\n%.*s\n" REMINDER_CLOSE, (int)tn,
	    t) != GW_OK) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static GW_MUST_CHECK enum gw_err
add_wrapped_block(cJSON *arr, const char *text, size_t n)
{
	char *w = wrap_reminder(text, n);
	cJSON *blk = w != NULL ? text_block(w) : NULL;

	free(w);
	if (blk == NULL)
		return GW_ENOMEM;
	cJSON_AddItemToArray(arr, blk);
	return GW_OK;
}

/* The content of a system message, wrapped: a new string or block array. */
static GW_MUST_CHECK enum gw_err
system_addition(const cJSON *content, cJSON **out)
{
	const char *s, *nl;
	cJSON *arr = NULL, *b;
	size_t first;
	char *w;

	*out = NULL;
	if (cJSON_IsString(content)) {
		s = content->valuestring;
		if (!starts_with(s, SUBAGENT_HOOK_PREFIX)) {
			if ((w = wrap_reminder(s, strlen(s))) == NULL)
				return GW_ENOMEM;
			*out = cJSON_CreateString(w);
			free(w);
			return *out != NULL ? GW_OK : GW_ENOMEM;
		}
		/* the hook's first line and the rest become two reminders */
		if ((arr = cJSON_CreateArray()) == NULL)
			goto nomem;
		nl = strchr(s, '\n');
		if (nl == NULL) {
			if (add_wrapped_block(arr, s, strlen(s)) != GW_OK)
				goto nomem;
		} else {
			first = (size_t)(nl - s);
			if (first > 0 && s[first - 1] == '\r')
				first--;
			if (add_wrapped_block(arr, s, first) != GW_OK)
				goto nomem;
			if (nl[1] != '\0' &&
			    add_wrapped_block(arr, nl + 1, strlen(nl + 1)) != GW_OK)
				goto nomem;
		}
		*out = arr;
		return GW_OK;
	}
	if ((arr = cJSON_Duplicate(content, 1)) == NULL)
		goto nomem;
	cJSON_ArrayForEach(b, arr) {
		s = json_str(b, "text");
		if (s == NULL || starts_with(s, REMINDER_OPEN))
			continue;
		if ((w = wrap_reminder(s, strlen(s))) == NULL)
			goto nomem;
		if (set_str(b, "text", w) != GW_OK) {
			free(w);
			goto nomem;
		}
		free(w);
	}
	*out = arr;
	return GW_OK;
nomem:
	cJSON_Delete(arr);
	return GW_ENOMEM;
}

/* Appends copies of content as blocks: a string becomes one text block. */
static GW_MUST_CHECK enum gw_err
append_blocks(cJSON *dst, const cJSON *content)
{
	const cJSON *c;
	cJSON *d;

	if (cJSON_IsString(content)) {
		if ((d = text_block(content->valuestring)) == NULL)
			return GW_ENOMEM;
		cJSON_AddItemToArray(dst, d);
		return GW_OK;
	}
	cJSON_ArrayForEach(c, content) {
		if ((d = cJSON_Duplicate(c, 1)) == NULL)
			return GW_ENOMEM;
		cJSON_AddItemToArray(dst, d);
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
merge_into_system(cJSON *payload, const cJSON *add)
{
	cJSON *cur = cJSON_GetObjectItemCaseSensitive(payload, "system"), *arr;
	enum gw_err e;

	if (cur == NULL || cJSON_IsNull(cur))
		return json_set(payload, "system", cJSON_Duplicate(add, 1));
	if (cJSON_IsString(cur) && cJSON_IsString(add))
		return set_joined(payload, "system", cur->valuestring,
		    add->valuestring);
	if ((arr = cJSON_CreateArray()) == NULL)
		return GW_ENOMEM;
	if ((e = append_blocks(arr, cur)) != GW_OK ||
	    (e = append_blocks(arr, add)) != GW_OK) {
		cJSON_Delete(arr);
		return e;
	}
	return json_set(payload, "system", arr);
}

static GW_MUST_CHECK enum gw_err
prepend_to_user(cJSON *msg, const cJSON *add)
{
	cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	cJSON *arr = NULL, *b, *last_tr = NULL, *next;
	enum gw_err e = GW_ENOMEM;

	if (cJSON_IsString(content) && cJSON_IsString(add))
		return set_joined(msg, "content", add->valuestring,
		    content->valuestring);
	if ((arr = cJSON_CreateArray()) == NULL)
		return GW_ENOMEM;
	if (cJSON_IsArray(content))
		cJSON_ArrayForEach(b, content)
			if (is_type(b, "tool_result"))
				last_tr = b;
	if (last_tr != NULL) {
		/* the reminder goes right after the last tool_result */
		for (b = content->child; b != NULL; b = next) {
			next = b->next;
			cJSON_AddItemToArray(arr,
			    cJSON_DetachItemViaPointer(content, b));
			if (b == last_tr && (e = append_blocks(arr, add)) != GW_OK)
				goto fail;
		}
		return json_set(msg, "content", arr);
	}
	if ((e = append_blocks(arr, add)) != GW_OK)
		goto fail;
	if (cJSON_IsString(content)) {
		if ((b = text_block(content->valuestring)) == NULL) {
			e = GW_ENOMEM;
			goto fail;
		}
		cJSON_AddItemToArray(arr, b);
	} else if (cJSON_IsArray(content))
		move_children(arr, content);
	return json_set(msg, "content", arr);
fail:
	cJSON_Delete(arr);
	return e;
}

/* ---- §2.1a Claude Code's billing header (1.11.6) ------------------- */

#define BILLING_PREFIX "x-anthropic-billing-header:"
#define CCH_STABLE "cch=<stable>;"

/* The first "cch=<not ;>+;" segment that follows a ';' and JavaScript
 * white space (/(^|;\s*)cch=[^;]+;/u; the text starts with the billing
 * prefix, so ^ never matches): *at is where "cch=" starts, *len how far its
 * ';' reaches.  0 when there is none. */
static int
find_cch(const char *s, size_t *at, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i, j, k;
	const char *end;

	for (i = 0; i < n; i++) {
		if (p[i] != ';')
			continue;
		for (j = i + 1; j < n && (k = js_space_at(p + j, n - j)) > 0; )
			j += k;
		if (strncmp(s + j, "cch=", 4) != 0 || s[j + 4] == ';' ||
		    s[j + 4] == '\0' || (end = strchr(s + j + 4, ';')) == NULL)
			continue;
		*at = j;
		*len = (size_t)(end + 1 - (s + j));
		return 1;
	}
	return 0;
}

/* Replaces the cch hash of the billing-header text at holder[key]. */
static GW_MUST_CHECK enum gw_err
stabilise_cch(cJSON *holder, const char *key)
{
	const char *s = json_str(holder, key);
	size_t at, len, n;
	char *t;
	enum gw_err e;

	if (!starts_with(s, BILLING_PREFIX) || !find_cch(s, &at, &len))
		return GW_OK;
	n = strlen(s) - len + strlen(CCH_STABLE);
	if ((t = malloc(n + 1)) == NULL)
		return GW_ENOMEM;
	snprintf(t, n + 1, "%.*s%s%s", (int)at, s, CCH_STABLE, s + at + len);
	e = set_str(holder, key, t);
	free(t);
	return e;
}

/* 1.11.6: when system (a string, or its first block's text) is Claude
 * Code's billing-header line, its first "cch=<hash>;" becomes
 * "cch=<stable>;" so requests differing only there share a cache prefix. */
static GW_MUST_CHECK enum gw_err
pp_stabilise_billing_header(cJSON *payload)
{
	cJSON *sys = cJSON_GetObjectItemCaseSensitive(payload, "system");

	if (cJSON_IsString(sys))
		return stabilise_cch(payload, "system");
	if (cJSON_IsArray(sys) && cJSON_IsObject(sys->child))
		return stabilise_cch(sys->child, "text");
	return GW_OK;
}

enum gw_err
pp_normalize_system(cJSON *payload)
{
	cJSON *msgs = json_arr(payload, "messages"), *m, *next, *prev = NULL;
	cJSON *add = NULL, *c;
	const char *role, *prole;
	enum gw_err e;

	if ((e = pp_stabilise_billing_header(payload)) != GW_OK)
		return e;
	cJSON_ArrayForEach(m, msgs)
		if ((role = json_str(m, "role")) != NULL && strcmp(role, "system") == 0)
			break;
	if (m == NULL)
		return GW_OK;
	for (m = msgs->child; m != NULL; m = next) {
		next = m->next;
		role = json_str(m, "role");
		if (role == NULL || strcmp(role, "system") != 0) {
			prev = m;
			continue;
		}
		c = cJSON_GetObjectItemCaseSensitive(m, "content");
		if ((cJSON_IsString(c) || cJSON_IsArray(c)) &&
		    (e = system_addition(c, &add)) != GW_OK)
			return e;
		prole = prev != NULL ? json_str(prev, "role") : NULL;
		if (add != NULL && prev == NULL)
			e = merge_into_system(payload, add);
		else if (add != NULL && prole != NULL && strcmp(prole, "user") == 0)
			e = prepend_to_user(prev, add);
		/* after an assistant turn the system message is dropped */
		cJSON_Delete(add);
		add = NULL;
		if (e != GW_OK)
			return e;
		cJSON_Delete(cJSON_DetachItemViaPointer(msgs, m));
	}
	return GW_OK;
}

/* ---- §2.2 sanitizeIdeTools ------------------------------------------- */

/* §2.2: drops mcp__ide__executeCode (unless defer_loading) and rewrites
 * mcp__ide__getDiagnostics's description. */
static GW_MUST_CHECK enum gw_err
pp_sanitize_ide_tools(cJSON *payload)
{
	cJSON *tools = json_arr(payload, "tools"), *t, *next;
	const char *name;
	enum gw_err e;

	for (t = tools != NULL ? tools->child : NULL; t != NULL; t = next) {
		next = t->next;
		if ((name = json_str(t, "name")) == NULL)
			continue;
		if (strcmp(name, IDE_EXECUTE_CODE) == 0 &&
		    !json_truthy(cJSON_GetObjectItemCaseSensitive(t, "defer_loading")))
			cJSON_Delete(cJSON_DetachItemViaPointer(tools, t));
		else if (strcmp(name, IDE_GET_DIAGNOSTICS) == 0 &&
		    (e = set_str(t, "description",
		    IDE_GET_DIAGNOSTICS_DESCRIPTION)) != GW_OK)
			return e;
	}
	return GW_OK;
}

/* ---- §9.2 subagent marker -------------------------------------------- */

static void
pp_subagent_free(struct pp_subagent *s)
{
	if (s == NULL)
		return;
	free(s->session_id);
	free(s->agent_id);
	free(s->agent_type);
	s->session_id = s->agent_id = s->agent_type = NULL;
}

static const char *
nonempty_str(const cJSON *o, const char *key)
{
	const char *s = json_str(o, key);

	return s != NULL && *s != '\0' ? s : NULL;
}

/* 1 when the JSON text j[0..n) is a complete marker, copied into out. */
static int
marker_json(const char *j, size_t n, struct pp_subagent *out, enum gw_err *e)
{
	const char *t, *sid, *aid, *aty;
	size_t tn;
	cJSON *v;
	int ok = 0;

	js_trim(j, n, &t, &tn);
	if ((v = json_parse(t, tn, NULL, NULL)) == NULL)
		return 0;
	sid = nonempty_str(v, "session_id");
	aid = nonempty_str(v, "agent_id");
	aty = nonempty_str(v, "agent_type");
	if (sid != NULL && aid != NULL && aty != NULL) {
		out->session_id = strdup(sid);
		out->agent_id = strdup(aid);
		out->agent_type = strdup(aty);
		if (out->session_id == NULL || out->agent_id == NULL ||
		    out->agent_type == NULL) {
			pp_subagent_free(out);
			*e = GW_ENOMEM;
		}
		ok = 1;
	}
	cJSON_Delete(v);
	return ok;
}

/* Scans each <system-reminder>…</system-reminder> segment of text. */
static GW_MUST_CHECK enum gw_err
marker_from_text(const char *text, struct pp_subagent *out)
{
	const char *from = text, *rs, *cs, *re, *mk;
	size_t ml = strlen(SUBAGENT_MARKER);
	enum gw_err e = GW_OK;

	while ((rs = strstr(from, REMINDER_OPEN)) != NULL) {
		cs = rs + strlen(REMINDER_OPEN);
		if ((re = strstr(cs, REMINDER_CLOSE)) == NULL)
			break;
		mk = memmem(cs, (size_t)(re - cs), SUBAGENT_MARKER, ml);
		if (mk != NULL &&
		    marker_json(mk + ml, (size_t)(re - mk - (ptrdiff_t)ml), out, &e))
			return e;
		from = re + strlen(REMINDER_CLOSE);
	}
	return GW_OK;
}

/* §9.2: the marker in the first array-content user message.  GW_OK with
 * out all NULL when there is none. */
static GW_MUST_CHECK enum gw_err
pp_parse_subagent_marker(const cJSON *payload, struct pp_subagent *out)
{
	const cJSON *m, *c, *b;
	const char *role, *text;
	enum gw_err e;

	memset(out, 0, sizeof(*out));
	cJSON_ArrayForEach(m, json_arr(payload, "messages")) {
		role = json_str(m, "role");
		c = json_arr(m, "content");
		if (role != NULL && strcmp(role, "user") == 0 && c != NULL)
			break;
	}
	if (m == NULL)
		return GW_OK;
	cJSON_ArrayForEach(b, c) {
		if (!is_type(b, "text") || (text = json_str(b, "text")) == NULL)
			continue;
		if ((e = marker_from_text(text, out)) != GW_OK)
			return e;
		if (out->agent_id != NULL)
			break;
	}
	return GW_OK;
}

/* ---- §9.3 user_id, session id, request id ---------------------------- */

/* /user_([^_]+)_account/ */
static int
legacy_safety(const char *s, const char **p, size_t *n)
{
	const char *u = s, *q;

	while ((u = strstr(u, "user_")) != NULL) {
		q = u + 5;
		while (*q != '\0' && *q != '_')
			q++;
		if (q > u + 5 && strncmp(q, "_account", 8) == 0) {
			*p = u + 5;
			*n = (size_t)(q - *p);
			return 1;
		}
		u++;
	}
	return 0;
}

/* JavaScript's "." does not match \n, \r, U+2028 or U+2029. */
static int
has_line_terminator(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\n' || *s == '\r' || ((unsigned char)s[0] == 0xE2 &&
		    (unsigned char)s[1] == 0x80 &&
		    ((unsigned char)s[2] == 0xA8 || (unsigned char)s[2] == 0xA9)))
			return 1;
	return 0;
}

/* /_session_(.+)$/ */
static const char *
legacy_session(const char *s)
{
	const char *u = s;

	while ((u = strstr(u, "_session_")) != NULL) {
		if (u[9] != '\0' && !has_line_terminator(u + 9))
			return u + 9;
		u++;
	}
	return NULL;
}

enum gw_err
pp_parse_user_id(const char *user_id, char **safety_id, char **session_id)
{
	const char *sp = NULL, *sess = NULL, *js_safety = NULL, *js_sess = NULL;
	size_t sn = 0;
	char *a = NULL, *b = NULL;
	cJSON *v = NULL;
	int have_safety;

	if (safety_id != NULL)
		*safety_id = NULL;
	if (session_id != NULL)
		*session_id = NULL;
	if (user_id == NULL || *user_id == '\0')
		return GW_OK;
	have_safety = legacy_safety(user_id, &sp, &sn);
	sess = legacy_session(user_id);
	if (!have_safety || sess == NULL) {
		v = json_parse(user_id, strlen(user_id), NULL, NULL);
		if (cJSON_IsObject(v)) {
			js_safety = nonempty_str(v, "device_id");
			if (js_safety == NULL)
				js_safety = nonempty_str(v, "account_uuid");
			js_sess = nonempty_str(v, "session_id");
		}
	}
	if (have_safety)
		a = strndup(sp, sn);
	else if (js_safety != NULL)
		a = strdup(js_safety);
	if (sess != NULL)
		b = strdup(sess);
	else if (js_sess != NULL)
		b = strdup(js_sess);
	cJSON_Delete(v);
	if ((a == NULL && (have_safety || js_safety != NULL)) ||
	    (b == NULL && (sess != NULL || js_sess != NULL))) {
		free(a);
		free(b);
		return GW_ENOMEM;
	}
	if (safety_id != NULL)
		*safety_id = a;
	else
		free(a);
	if (session_id != NULL)
		*session_id = b;
	else
		free(b);
	return GW_OK;
}

static const cJSON *
user_id_item(const cJSON *payload)
{
	return cJSON_GetObjectItemCaseSensitive(json_obj(payload, "metadata"),
	    "user_id");
}

/* §9.3 getRootSessionId: getUUID(session of metadata.user_id), or of the
 * x-session-id header when metadata.user_id is absent.  *out NULL when
 * there is none. */
static GW_MUST_CHECK enum gw_err
pp_session_id(const cJSON *payload, const char *x_session_id, char **out)
{
	const cJSON *uid = user_id_item(payload);
	char *sess = NULL, u[37];
	const char *src;
	enum gw_err e;

	*out = NULL;
	if (json_truthy(uid)) {
		/* a user_id without a session does not fall back to the header */
		if (!cJSON_IsString(uid))
			return GW_OK;
		if ((e = pp_parse_user_id(uid->valuestring, NULL, &sess)) != GW_OK)
			return e;
		src = sess;
	} else
		src = x_session_id;
	if (src != NULL && *src != '\0') {
		util_uuid_from_string(src, strlen(src), u);
		if ((*out = strdup(u)) == NULL) {
			free(sess);
			return GW_ENOMEM;
		}
	}
	free(sess);
	return GW_OK;
}

/* §9.3 generateRequestIdFromPayload: getUUID(session + machine + content of
 * the last user message with non-tool_result content), or a random UUID. */
static GW_MUST_CHECK enum gw_err
pp_request_id(const cJSON *payload, const char *session_id,
    const char *machine_id, char out[37])
{
	const cJSON *msgs = json_arr(payload, "messages"), *m, *c, *b;
	const char *role, *key = NULL;
	char *printed = NULL;
	struct buf k = BUF_INIT;
	cJSON *copy, *d;
	enum gw_err e = GW_OK;

	for (m = last_child(msgs); m != NULL && key == NULL;
	    m = m == msgs->child ? NULL : m->prev) {
		role = json_str(m, "role");
		c = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (role == NULL || strcmp(role, "user") != 0 || !json_truthy(c))
			continue;
		if (cJSON_IsString(c)) {
			key = c->valuestring;
			break;
		}
		if (!cJSON_IsArray(c))
			continue;
		if ((copy = cJSON_CreateArray()) == NULL)
			return GW_ENOMEM;
		cJSON_ArrayForEach(b, c) {
			if (is_type(b, "tool_result"))
				continue;
			if ((d = cJSON_Duplicate(b, 1)) == NULL) {
				cJSON_Delete(copy);
				return GW_ENOMEM;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(d, "cache_control");
			cJSON_AddItemToArray(copy, d);
		}
		if (copy->child != NULL) {
			if ((printed = json_print(copy)) == NULL)
				e = GW_ENOMEM;
			key = printed;
		}
		cJSON_Delete(copy);
		if (e != GW_OK)
			return e;
	}
	if (key == NULL)
		return util_uuid4(out);
	if (buf_printf(&k, "%s%s%s", session_id != NULL ? session_id : "",
	    machine_id != NULL ? machine_id : "", key) != GW_OK)
		e = GW_ENOMEM;
	else
		util_uuid_from_string(k.data, k.len, out);
	buf_free(&k);
	cJSON_free(printed);
	return e;
}

/* ---- §2.5 compact detection ------------------------------------------ */

/* The last user turn's text without <system-reminder> blocks. */
static char *
compact_candidate(const cJSON *payload)
{
	const cJSON *msgs = json_arr(payload, "messages"), *m, *c, *b;
	const char *role, *t;
	struct buf out = BUF_INIT;

	m = last_child(msgs);
	role = json_str(m, "role");
	if (role == NULL || strcmp(role, "user") != 0)
		return NULL;
	c = cJSON_GetObjectItemCaseSensitive(m, "content");
	if (cJSON_IsString(c))
		return strdup(c->valuestring);
	cJSON_ArrayForEach(b, array_or_null(c)) {
		if (!is_type(b, "text") || (t = json_str(b, "text")) == NULL ||
		    *t == '\0' || starts_with(t, REMINDER_OPEN))
			continue;
		/* a partial text could be misread: none, as when strdup fails */
		if ((out.len > 0 && buf_puts(&out, "\n\n") != GW_OK) ||
		    buf_puts(&out, t) != GW_OK) {
			buf_free(&out);
			return NULL;
		}
	}
	if (out.data == NULL)
		return strdup("");
	return buf_detach(&out);
}

static int
starts_with_any(const char *s, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (starts_with(s, v[i]))
			return 1;
	return 0;
}

/* §2.5 getCompactType. */
static enum pp_compact
pp_compact_type(const cJSON *payload)
{
	const cJSON *sys, *b;
	char *text = compact_candidate(payload);
	enum pp_compact r = PP_COMPACT_NONE;

	if (text != NULL && *text != '\0') {
		if (strstr(text, COMPACT_GUARD) != NULL &&
		    strstr(text, COMPACT_SUMMARY) != NULL &&
		    (strstr(text, compact_sections[0]) != NULL ||
		    strstr(text, compact_sections[1]) != NULL))
			r = PP_COMPACT_REQUEST;
		else if (starts_with_any(text, compact_continue_starts,
		    ARRAY_LEN(compact_continue_starts)))
			r = PP_COMPACT_CONTINUE;
	}
	free(text);
	if (r != PP_COMPACT_NONE)
		return r;
	sys = cJSON_GetObjectItemCaseSensitive(payload, "system");
	if (cJSON_IsString(sys))
		return starts_with_any(sys->valuestring, compact_system_starts,
		    ARRAY_LEN(compact_system_starts)) ? PP_COMPACT_REQUEST :
		    PP_COMPACT_NONE;
	cJSON_ArrayForEach(b, array_or_null(sys))
		if (starts_with_any(json_str(b, "text"), compact_system_starts,
		    ARRAY_LEN(compact_system_starts)))
			return PP_COMPACT_REQUEST;
	return PP_COMPACT_NONE;
}

/* ---- §2.6 cache_control on the last message --------------------------- */

static cJSON *
last_block(const cJSON *payload)
{
	return last_child(json_arr(last_child(json_arr(payload, "messages")),
	    "content"));
}

/* §2.6: a copy of the cache_control of the last block of the last
 * message (not a thinking block), or *out NULL. */
static GW_MUST_CHECK enum gw_err
pp_capture_cache_control(const cJSON *payload, cJSON **out)
{
	const cJSON *b = last_block(payload), *cc;

	*out = NULL;
	if (b == NULL || is_type(b, "thinking"))
		return GW_OK;
	cc = json_obj(b, "cache_control");
	if (cc == NULL)
		return GW_OK;
	*out = cJSON_Duplicate(cc, 1);
	return *out != NULL ? GW_OK : GW_ENOMEM;
}

/* §2.6: gives the final block of the last message the captured
 * cache_control (or {"type":"ephemeral"}) unless it has one or is thinking. */
static GW_MUST_CHECK enum gw_err
pp_apply_cache_control(cJSON *payload, const cJSON *captured)
{
	cJSON *b = last_block(payload), *cc;

	if (!cJSON_IsObject(b) || is_type(b, "thinking") ||
	    json_truthy(cJSON_GetObjectItemCaseSensitive(b, "cache_control")))
		return GW_OK;
	if (captured != NULL)
		cc = cJSON_Duplicate(captured, 1);
	else if ((cc = cJSON_CreateObject()) != NULL &&
	    cJSON_AddStringToObject(cc, "type", "ephemeral") == NULL) {
		cJSON_Delete(cc);
		cc = NULL;
	}
	return json_set(b, "cache_control", cc);
}

/* ---- §2.3 stripToolReferenceTurnBoundary ------------------------------ */

static int
has_tool_ref(const cJSON *tool_result)
{
	const cJSON *b;

	cJSON_ArrayForEach(b, json_arr(tool_result, "content"))
		if (is_type(b, "tool_reference"))
			return 1;
	return 0;
}

static int
is_user_array(const cJSON *m, cJSON **content)
{
	const char *role = json_str(m, "role");

	*content = json_arr(m, "content");
	return role != NULL && strcmp(role, "user") == 0 && *content != NULL;
}

/* §2.3: removes "Tool loaded." text blocks from user turns whose
 * tool_result carries a tool_reference. */
static void
pp_strip_tool_reference_boundary(cJSON *payload)
{
	cJSON *m, *c, *b, *next;
	const char *t, *tt;
	size_t tn;
	int found;

	cJSON_ArrayForEach(m, json_arr(payload, "messages")) {
		if (!is_user_array(m, &c))
			continue;
		found = 0;
		cJSON_ArrayForEach(b, c)
			if (is_type(b, "tool_result") && has_tool_ref(b))
				found = 1;
		if (!found)
			continue;
		for (b = c->child; b != NULL; b = next) {
			next = b->next;
			if (!is_type(b, "text") || (t = json_str(b, "text")) == NULL)
				continue;
			js_trim(t, strlen(t), &tt, &tn);
			if (tn == strlen(TOOL_LOADED) && memcmp(tt, TOOL_LOADED, tn) == 0)
				cJSON_Delete(cJSON_DetachItemViaPointer(c, b));
		}
	}
}

/* ---- §2.4 mergeToolResultForClaude ------------------------------------ */

/* The blocks of one user turn, sorted by kind (borrowed). */
struct turn {
	cJSON **trs, **texts, **atts;
	size_t ntr, ntext, natt;
	int *owner;              /* per attachment: index into trs, or -1 */
};

static void
turn_free(struct turn *t)
{
	free(t->trs);
	free(t->texts);
	free(t->atts);
	free(t->owner);
}

/* 1 when every block is a tool_result, text, image or document. */
static int
turn_collect(cJSON *content, struct turn *t, enum gw_err *e)
{
	size_t n = (size_t)cJSON_GetArraySize(content);
	cJSON *b;

	memset(t, 0, sizeof(*t));
	cJSON_ArrayForEach(b, content)
		if (!is_type(b, "tool_result") && !is_type(b, "text") &&
		    !is_type(b, "image") && !is_type(b, "document"))
			return 0;
	t->trs = calloc(n, sizeof(*t->trs));
	t->texts = calloc(n, sizeof(*t->texts));
	t->atts = calloc(n, sizeof(*t->atts));
	t->owner = calloc(n, sizeof(*t->owner));
	if (t->trs == NULL || t->texts == NULL || t->atts == NULL ||
	    t->owner == NULL) {
		*e = GW_ENOMEM;
		return 0;
	}
	cJSON_ArrayForEach(b, content) {
		if (is_type(b, "tool_result"))
			t->trs[t->ntr++] = b;
		else if (is_type(b, "text"))
			t->texts[t->ntext++] = b;
		else
			t->atts[t->natt++] = b;
	}
	return 1;
}

/* The tool_result's content as an array to append to: a missing or null
 * content becomes [], a string becomes [{type:text}] when as_text. */
static cJSON *
content_array(cJSON *tr, int string_as_text)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(tr, "content"), *arr, *b;

	if (cJSON_IsArray(c))
		return c;
	if ((arr = cJSON_CreateArray()) == NULL)
		return NULL;
	if (cJSON_IsString(c) && string_as_text) {
		if ((b = text_block(c->valuestring)) == NULL) {
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, b);
	}
	return json_set(tr, "content", arr) == GW_OK ? arr : NULL;
}

static GW_MUST_CHECK enum gw_err
append_stripped(cJSON *arr, const cJSON *block)
{
	cJSON *d = cJSON_Duplicate(block, 1);

	if (d == NULL)
		return GW_ENOMEM;
	cJSON_DeleteItemFromObjectCaseSensitive(d, "cache_control");
	cJSON_AddItemToArray(arr, d);
	return GW_OK;
}

/* Folds n text blocks into one tool_result (§2.4 "text merging"). */
static GW_MUST_CHECK enum gw_err
merge_texts(cJSON *tr, cJSON **texts, size_t n)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(tr, "content"), *arr;
	struct buf b = BUF_INIT;
	enum gw_err e = GW_OK;
	size_t i;

	if (cJSON_IsString(c)) {
		e = buf_puts(&b, c->valuestring);
		for (i = 0; i < n && e == GW_OK; i++)
			e = buf_printf(&b, "\n\n%s",
			    json_str(texts[i], "text"));
		if (e == GW_OK)
			e = b.data != NULL ? set_str(tr, "content", b.data) :
			    GW_ENOMEM;
		buf_free(&b);
		return e;
	}
	/* a tool_reference result cannot take text: it is discarded */
	if (has_tool_ref(tr))
		return GW_OK;
	if ((arr = content_array(tr, 0)) == NULL)
		return GW_ENOMEM;
	for (i = 0; i < n && e == GW_OK; i++)
		e = append_stripped(arr, texts[i]);
	return e;
}

static int
is_pdf_read(const cJSON *tr)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(tr, "content"), *b;

	if (cJSON_IsString(c))
		return starts_with(c->valuestring, PDF_READ_PREFIX);
	if (!cJSON_IsArray(c) || c->child == NULL)
		return 0;
	cJSON_ArrayForEach(b, c)
		if (is_type(b, "document"))
			return 0;
	return is_type(c->child, "text") &&
	    starts_with(json_str(c->child, "text"), PDF_READ_PREFIX);
}

/*
 * §2.4 "attachment merging": documents pair with PDF-read results first,
 * then the rest pair by count with the other mergeable results, else all
 * go to the last mergeable one.  Fills t->owner.
 */
static GW_MUST_CHECK enum gw_err
plan_attachments(struct turn *t)
{
	size_t *mergeable, *pdf, *cm, *rem, nm = 0, np = 0, ncm = 0, nrem = 0;
	size_t i, j, k, matched = 0;
	enum gw_err e = GW_ENOMEM;

	mergeable = calloc(t->ntr + 1, sizeof(*mergeable));
	pdf = calloc(t->ntr + 1, sizeof(*pdf));
	cm = calloc(t->ntr + 1, sizeof(*cm));
	rem = calloc(t->natt + 1, sizeof(*rem));
	if (mergeable == NULL || pdf == NULL || cm == NULL || rem == NULL)
		goto out;
	for (i = 0; i < t->natt; i++)
		t->owner[i] = -1;
	for (i = 0; i < t->ntr; i++) {
		if (json_truthy(cJSON_GetObjectItemCaseSensitive(t->trs[i], "is_error")) ||
		    has_tool_ref(t->trs[i]))
			continue;
		mergeable[nm++] = i;
		if (is_pdf_read(t->trs[i]))
			pdf[np++] = i;
	}
	for (i = 0, k = 0; i < t->natt && k < np; i++)
		if (is_type(t->atts[i], "document"))
			t->owner[i] = (int)pdf[k++];
	matched = k;
	for (i = 0; i < nm; i++) {
		for (j = 0; j < matched && pdf[j] != mergeable[i]; j++)
			;
		if (j == matched)
			cm[ncm++] = mergeable[i];
	}
	for (i = 0; i < t->natt; i++)
		if (t->owner[i] < 0)
			rem[nrem++] = i;
	if (nrem > 0 && ncm > 0 && ncm == nrem) {
		for (i = 0; i < nrem; i++)
			t->owner[rem[i]] = (int)cm[i];
	} else if (nrem > 0 && nm > 0) {
		/* the fallback may be a PDF result that already took one */
		for (i = 0; i < nrem; i++)
			t->owner[rem[i]] = (int)mergeable[nm - 1];
	}
	/* with no mergeable result at all the attachments are dropped */
	e = GW_OK;
out:
	free(mergeable);
	free(pdf);
	free(cm);
	free(rem);
	return e;
}

static GW_MUST_CHECK enum gw_err
apply_attachments(struct turn *t)
{
	cJSON *arr;
	size_t i, j;
	enum gw_err e;

	for (i = 0; i < t->ntr; i++) {
		arr = NULL;
		for (j = 0; j < t->natt; j++) {
			if (t->owner[j] != (int)i)
				continue;
			if (arr == NULL && (arr = content_array(t->trs[i], 1)) == NULL)
				return GW_ENOMEM;
			if ((e = append_stripped(arr, t->atts[j])) != GW_OK)
				return e;
		}
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
merge_turn(cJSON *msg, cJSON *content)
{
	struct turn t;
	cJSON *arr = NULL;
	enum gw_err e = GW_OK;
	size_t i;

	if (!turn_collect(content, &t, &e) || t.ntr == 0 ||
	    (t.ntext == 0 && t.natt == 0))
		goto out;
	if (t.ntext > 0 && t.ntr == t.ntext) {
		for (i = 0; i < t.ntr && e == GW_OK; i++)
			e = merge_texts(t.trs[i], &t.texts[i], 1);
	} else if (t.ntext > 0)
		e = merge_texts(t.trs[t.ntr - 1], t.texts, t.ntext);
	if (e != GW_OK || (e = plan_attachments(&t)) != GW_OK ||
	    (e = apply_attachments(&t)) != GW_OK)
		goto out;
	/* only the tool_results remain, in their order */
	if ((arr = cJSON_CreateArray()) == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	for (i = 0; i < t.ntr; i++)
		cJSON_AddItemToArray(arr,
		    cJSON_DetachItemViaPointer(content, t.trs[i]));
	e = json_set(msg, "content", arr);
out:
	turn_free(&t);
	return e;
}

/* §2.4 mergeToolResultForClaude; skip_last leaves the last message alone
 * (compact requests). */
static GW_MUST_CHECK enum gw_err
pp_merge_tool_results(cJSON *payload, int skip_last)
{
	cJSON *msgs = json_arr(payload, "messages"), *m, *c;
	enum gw_err e;

	cJSON_ArrayForEach(m, msgs) {
		if (skip_last && m->next == NULL)
			break;
		if (is_user_array(m, &c) && (e = merge_turn(m, c)) != GW_OK)
			return e;
	}
	return GW_OK;
}

/* ---- §8 facts of the final payload ------------------------------------ */

/* §8: an image block at top level or inside a tool_result. */
static int
pp_messages_has_images(const cJSON *payload)
{
	const cJSON *m, *b, *inner;

	cJSON_ArrayForEach(m, json_arr(payload, "messages"))
		cJSON_ArrayForEach(b, json_arr(m, "content")) {
			if (is_type(b, "image"))
				return 1;
			if (!is_type(b, "tool_result"))
				continue;
			cJSON_ArrayForEach(inner, json_arr(b, "content"))
				if (is_type(inner, "image"))
					return 1;
		}
	return 0;
}

/* translation.md §7, surface.md §6.4: "user" when the last message is a
 * user turn with string content or any non-tool_result block, else
 * "agent". */
static const char *
pp_native_initiator(const cJSON *payload)
{
	const cJSON *m = last_child(json_arr(payload, "messages")), *c, *b;
	const char *role;

	role = json_str(m, "role");
	if (role == NULL || strcmp(role, "user") != 0)
		return "agent";
	c = cJSON_GetObjectItemCaseSensitive(m, "content");
	if (!cJSON_IsArray(c))
		return "user";
	cJSON_ArrayForEach(b, c)
		if (!is_type(b, "tool_result"))
			return "user";
	return "agent";
}

const char *
pp_final_initiator(const char *base, const struct pp_result *r)
{
	if (r->subagent.agent_id != NULL || r->compact != PP_COMPACT_NONE)
		return "agent";
	return base;
}

/* ---- the pipeline ----------------------------------------------------- */

void
pp_result_free(struct pp_result *r)
{
	if (r == NULL)
		return;
	free(r->provider);
	pp_subagent_free(&r->subagent);
	free(r->session_id);
	free(r->raw_session_id);
	free(r->request_id);
	memset(r, 0, sizeof(*r));
}

static GW_MUST_CHECK enum gw_err
raw_session(const cJSON *payload, char **out)
{
	const cJSON *uid = user_id_item(payload);
	const char *t;
	char *s = NULL;
	size_t tn;
	enum gw_err e;

	*out = NULL;
	if (!cJSON_IsString(uid))
		return GW_OK;
	if ((e = pp_parse_user_id(uid->valuestring, NULL, &s)) != GW_OK ||
	    s == NULL)
		return e;
	js_trim(s, strlen(s), &t, &tn);
	if (tn > 0 && (*out = strndup(t, tn)) == NULL)
		e = GW_ENOMEM;
	free(s);
	return e;
}

static int
has_tools(const cJSON *payload)
{
	const cJSON *t = json_arr(payload, "tools");

	return t != NULL && t->child != NULL;
}

enum gw_err
pp_messages(cJSON *payload, const struct pp_opts *o, struct pp_result *res,
    struct buf *errmsg)
{
	static const struct pp_opts none;
	cJSON *captured = NULL;
	char *pmodel = NULL, rid[37];
	const char *small;
	enum gw_err e;

	memset(res, 0, sizeof(*res));
	if (o == NULL)
		o = &none;
	if ((e = pp_validate(payload, errmsg)) != GW_OK)
		return e;
	if (o->model_mapping != NULL && *o->model_mapping != '\0' &&
	    (e = set_str(payload, "model", o->model_mapping)) != GW_OK)
		return e;
	if ((e = pp_provider_alias(json_str(payload, "model"), &res->provider,
	    &pmodel)) != GW_OK)
		return e;
	if (res->provider != NULL) {
		e = set_str(payload, "model", pmodel);
		free(pmodel);
		return e;
	}
	if ((e = pp_normalize_system(payload)) != GW_OK ||
	    (e = pp_sanitize_ide_tools(payload)) != GW_OK ||
	    (e = pp_parse_subagent_marker(payload, &res->subagent)) != GW_OK ||
	    (e = pp_session_id(payload, o->x_session_id, &res->session_id)) != GW_OK ||
	    (e = raw_session(payload, &res->raw_session_id)) != GW_OK)
		return e;
	res->compact = pp_compact_type(payload);
	if (o->anthropic_beta_present && !has_tools(payload) &&
	    res->compact == PP_COMPACT_NONE) {
		small = o->small_model != NULL && *o->small_model != '\0' ?
		    o->small_model : PP_DEFAULT_SMALL_MODEL;
		if ((e = set_str(payload, "model", small)) != GW_OK)
			return e;
		res->warmup = 1;
	}
	/* 1.14.7 (5e4e4f2, 8a3d4cd): merging turns only saves premium
	 * requests; an account billed by token gets its payload as sent */
	if (!o->token_based_billing) {
		if ((e = pp_capture_cache_control(payload, &captured)) != GW_OK)
			return e;
		pp_strip_tool_reference_boundary(payload);
		if ((e = pp_merge_tool_results(payload,
		    res->compact == PP_COMPACT_REQUEST)) != GW_OK ||
		    (e = pp_apply_cache_control(payload, captured)) != GW_OK)
			goto out;
	}
	if ((e = pp_request_id(payload, res->session_id, o->machine_id,
	    rid)) != GW_OK)
		goto out;
	if ((res->request_id = strdup(rid)) == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	res->has_images = pp_messages_has_images(payload);
	res->initiator = pp_native_initiator(payload);
out:
	cJSON_Delete(captured);
	return e;
}
