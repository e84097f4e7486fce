/*
 * What every Anthropic event stream we write must satisfy, checked on the
 * client's bytes ("event: X\ndata: Y\n\n" frames).  Shared by the unit
 * suite (run over every stream fixture) and the stream fuzz harness.
 *
 * - every event's name equals its JSON "type";
 * - message_start once, before any other non-ping event;
 * - blocks never overlap: start at the next index, deltas of the block's
 *   own kind only to the open block, stop closes it;
 * - tool_use ids are unique and non-empty, names non-empty;
 * - message_delta at most once, with no block open, right before
 *   message_stop; nothing after message_stop or error;
 * - the stream ends with message_stop or error (never a silent close).
 */
#ifndef GW_FUZZ_ANTHROPIC_CHAT_H
#define GW_FUZZ_ANTHROPIC_CHAT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

struct ac_state {
	int started, open, delta_seen, ended, nevents;
	long next;              /* index of the next block */
	char kind[16];          /* type of the open block */
	cJSON *ids;             /* tool_use ids seen */
	char *msg;
	size_t msgsz;
};

static inline int
ac_fail(struct ac_state *st, const char *what, const char *data)
{
	snprintf(st->msg, st->msgsz, "event %d: %s: %.200s", st->nevents, what,
	    data);
	return -1;
}

static inline const char *
ac_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline long
ac_index(const cJSON *o)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "index");

	return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

static inline int
ac_block_start(struct ac_state *st, const cJSON *v, const char *data)
{
	const cJSON *cb = cJSON_GetObjectItemCaseSensitive(v, "content_block");
	const char *type = ac_str(cb, "type"), *id = ac_str(cb, "id");
	const cJSON *seen;

	if (!st->started || st->open || ac_index(v) != st->next || type == NULL)
		return ac_fail(st, "block start out of order", data);
	if (strcmp(type, "tool_use") == 0) {
		if (id == NULL || *id == '\0' || ac_str(cb, "name") == NULL ||
		    *ac_str(cb, "name") == '\0' ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(cb, "input")))
			return ac_fail(st, "bad tool_use block", data);
		cJSON_ArrayForEach(seen, st->ids)
			if (strcmp(seen->valuestring, id) == 0)
				return ac_fail(st, "tool_use id repeated", data);
		cJSON_AddItemToArray(st->ids, cJSON_CreateString(id));
	} else if (strcmp(type, "text") != 0 && strcmp(type, "thinking") != 0)
		return ac_fail(st, "unknown block type", data);
	snprintf(st->kind, sizeof(st->kind), "%s", type);
	st->open = 1;
	return 0;
}

static inline int
ac_block_delta(struct ac_state *st, const cJSON *v, const char *data)
{
	const char *dt = ac_str(cJSON_GetObjectItemCaseSensitive(v, "delta"), "type");
	const char *want = NULL;

	if (!st->open || ac_index(v) != st->next || dt == NULL)
		return ac_fail(st, "delta outside its open block", data);
	if (strcmp(dt, "text_delta") == 0)
		want = "text";
	else if (strcmp(dt, "thinking_delta") == 0 ||
	    strcmp(dt, "signature_delta") == 0)
		want = "thinking";
	else if (strcmp(dt, "input_json_delta") == 0)
		want = "tool_use";
	if (want == NULL || strcmp(want, st->kind) != 0)
		return ac_fail(st, "delta of the wrong kind", data);
	return 0;
}

static inline int
ac_event(struct ac_state *st, const char *event, const char *data)
{
	cJSON *v = cJSON_Parse(data);
	const char *type = ac_str(v, "type");
	int r = 0;

	st->nevents++;
	if (st->ended)
		r = ac_fail(st, "event after the end", data);
	else if (event == NULL || type == NULL || strcmp(event, type) != 0)
		r = ac_fail(st, "event name is not the JSON type", data);
	else if (strcmp(type, "ping") == 0)
		r = 0;
	else if (strcmp(type, "error") == 0) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(v, "error");

		if (ac_str(e, "type") == NULL || ac_str(e, "message") == NULL)
			r = ac_fail(st, "bad error event", data);
		st->ended = 1;
	} else if (st->delta_seen && strcmp(type, "message_stop") != 0)
		r = ac_fail(st, "message_delta not followed by message_stop", data);
	else if (strcmp(type, "message_start") == 0) {
		if (st->started)
			r = ac_fail(st, "second message_start", data);
		st->started = 1;
	} else if (!st->started)
		r = ac_fail(st, "event before message_start", data);
	else if (strcmp(type, "content_block_start") == 0)
		r = ac_block_start(st, v, data);
	else if (strcmp(type, "content_block_delta") == 0)
		r = ac_block_delta(st, v, data);
	else if (strcmp(type, "content_block_stop") == 0) {
		if (!st->open || ac_index(v) != st->next)
			r = ac_fail(st, "stop of a block that is not open", data);
		st->open = 0;
		st->next++;
	} else if (strcmp(type, "message_delta") == 0) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(v, "usage");

		if (st->open || ac_str(cJSON_GetObjectItemCaseSensitive(v, "delta"),
		    "stop_reason") == NULL ||
		    !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(u, "input_tokens")) ||
		    !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(u, "output_tokens")))
			r = ac_fail(st, "bad message_delta", data);
		st->delta_seen = 1;
	} else if (strcmp(type, "message_stop") == 0) {
		if (!st->delta_seen)
			r = ac_fail(st, "message_stop without message_delta", data);
		st->ended = 1;
	} else
		r = ac_fail(st, "unknown event", data);
	cJSON_Delete(v);
	return r;
}

/* 0 when s[0..n) keeps every rule; else -1 with the reason in msg. */
static inline int
ac_check_stream(const char *s, size_t n, char *msg, size_t msgsz)
{
	struct ac_state st;
	const char *p = s, *end = s + n, *ev_end, *line, *nl;
	char *event = NULL, *data = NULL;
	int r = 0;

	memset(&st, 0, sizeof(st));
	st.msg = msg;
	st.msgsz = msgsz;
	st.ids = cJSON_CreateArray();
	msg[0] = '\0';
	while (r == 0 && p < end) {
		ev_end = memmem(p, (size_t)(end - p), "\n\n", 2);
		if (ev_end == NULL) {
			r = ac_fail(&st, "unterminated event", p);
			break;
		}
		for (line = p; line < ev_end; line = nl + 1) {
			nl = memchr(line, '\n', (size_t)(ev_end - line));
			if (nl == NULL)
				nl = ev_end;
			if (strncmp(line, "event: ", 7) == 0)
				event = strndup(line + 7, (size_t)(nl - line - 7));
			else if (strncmp(line, "data: ", 6) == 0)
				data = strndup(line + 6, (size_t)(nl - line - 6));
		}
		if (data != NULL)
			r = ac_event(&st, event, data);
		else if (event != NULL)
			r = ac_fail(&st, "event without data", event);
		free(event);
		free(data);
		event = data = NULL;
		p = ev_end + 2;
	}
	if (r == 0 && !st.ended)
		r = ac_fail(&st, "stream ends without message_stop or error", "");
	cJSON_Delete(st.ids);
	return r;
}

#endif
