/*
 * The Codex stream filter: response.done renamed response.completed,
 * codex.rate_limits logged (contract in codex_stream.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "core/log.h"
#include "translate/codex_stream.h"

struct codex_tr {
	struct tr_stream base;
	struct tr_stream *inner;
};

static void
mirror(struct codex_tr *t)
{
	t->base.usage = t->inner->usage;
	t->base.done = t->inner->done;
	t->base.finished = t->inner->finished;
}

/* One window's line, or nothing when the window lacks a number. */
static void
rate_limit_line(const cJSON *ev, const char *scope, struct buf *out)
{
	const cJSON *rl = json_obj(ev, "rate_limits");
	const cJSON *w = json_obj(rl, scope);
	const cJSON *allowed = cJSON_GetObjectItem(rl, "allowed");
	const cJSON *reached = cJSON_GetObjectItem(rl, "limit_reached");
	const char *plan = json_str(ev, "plan_type");
	static const char *const nums[] = { "reset_after_seconds", "reset_at",
	    "used_percent", "window_minutes" };
	char when[32];
	time_t at;
	struct tm tm;
	size_t i;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (!cJSON_IsNumber(cJSON_GetObjectItem(w, nums[i])))
			return;
	at = (time_t)json_num(w, "reset_at", 0);
	gmtime_r(&at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* best effort: a line that cannot be built is not logged */
	GW_IGNORE(buf_printf(out, "Codex %s rate limit", scope));
	if (plan != NULL)
		GW_IGNORE(buf_printf(out, " (%s)", plan));
	GW_IGNORE(buf_puts(out, ":"));
	if (cJSON_IsBool(allowed))
		GW_IGNORE(buf_printf(out, " allowed=%s,",
		    cJSON_IsTrue(allowed) ? "true" : "false"));
	if (cJSON_IsBool(reached))
		GW_IGNORE(buf_printf(out, " limit_reached=%s,",
		    cJSON_IsTrue(reached) ? "true" : "false"));
	GW_IGNORE(buf_printf(out, " used=%g%%, window=%gm, reset_at=%s",
	    json_num(w, "used_percent", 0), json_num(w, "window_minutes", 0),
	    when));
}

static void
log_rate_limits(const cJSON *ev)
{
	static const char *const scopes[] = { "primary", "secondary" };
	struct buf line = BUF_INIT;
	size_t i;

	if (!cJSON_IsObject(json_obj(ev, "rate_limits")))
		return;
	for (i = 0; i < 2; i++) {
		buf_reset(&line);
		rate_limit_line(ev, scopes[i], &line);
		if (line.len > 0)
			log_info("%s", line.data);
	}
	buf_free(&line);
}

static enum gw_err
feed(struct tr_stream *s, const char *event, const char *data, size_t len,
    struct tr_sink *out)
{
	struct codex_tr *t = (struct codex_tr *)s;
	cJSON *ev = NULL;
	const char *type;
	char *renamed = NULL;
	enum gw_err e;

	/* Only the two special events are parsed here. */
	if (strstr(data, "codex.rate_limits") != NULL ||
	    strstr(data, "response.done") != NULL)
		ev = json_parse(data, len, NULL, NULL);
	type = json_str(ev, "type");
	if (type != NULL && strcmp(type, "codex.rate_limits") == 0)
		log_rate_limits(ev);
	else if (type != NULL && strcmp(type, "response.done") == 0) {
		if (json_set(ev, "type", cJSON_CreateString("response.completed"))
		    != GW_OK || (renamed = json_print(ev)) == NULL) {
			cJSON_Delete(ev);
			return GW_ENOMEM;
		}
		event = "response.completed";
		data = renamed;
		len = strlen(renamed);
	}
	e = t->inner->ops->feed(t->inner, event, data, len, out);
	mirror(t);
	cJSON_free(renamed);
	cJSON_Delete(ev);
	return e;
}

static enum gw_err
ping(struct tr_stream *s, struct tr_sink *out)
{
	struct codex_tr *t = (struct codex_tr *)s;

	if (t->inner->ops->ping == NULL)
		return out->comment(out->ctx, "keep-alive");
	return t->inner->ops->ping(t->inner, out);
}

static enum gw_err
finish(struct tr_stream *s, enum gw_err status, const char *message,
    struct tr_sink *out)
{
	struct codex_tr *t = (struct codex_tr *)s;
	enum gw_err e = t->inner->ops->finish(t->inner, status, message, out);

	mirror(t);
	return e;
}

static void
codex_free(struct tr_stream *s)
{
	struct codex_tr *t = (struct codex_tr *)s;

	tr_stream_free(t->inner);
	free(t);
}

static const struct tr_stream_ops codex_ops = {
	"codex", feed, ping, finish, codex_free,
};

enum gw_err
tr_codex_stream_new(struct tr_stream *inner, struct tr_stream **out)
{
	struct codex_tr *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL) {
		tr_stream_free(inner);
		return GW_ENOMEM;
	}
	t->base.ops = &codex_ops;
	t->inner = inner;
	mirror(t);
	*out = &t->base;
	return GW_OK;
}

/* ---- the collector ---------------------------------------------------------- */

struct codex_collect {
	struct tr_stream base;
	char *response;              /* cJSON_PrintUnformatted, or NULL */
	char *error;
};

static int
terminal(const char *type)
{
	return strcmp(type, "response.completed") == 0 ||
	    strcmp(type, "response.done") == 0 ||
	    strcmp(type, "response.incomplete") == 0 ||
	    strcmp(type, "response.failed") == 0;
}

static enum gw_err
collect_feed(struct tr_stream *s, const char *event, const char *data,
    size_t len, struct tr_sink *out)
{
	struct codex_collect *t = (struct codex_collect *)s;
	cJSON *ev = json_parse(data, len, NULL, NULL);
	const cJSON *resp = json_obj(ev, "response");
	const char *type = json_str(ev, "type"), *msg;
	enum gw_err e = GW_OK;

	(void)event;
	(void)out;
	if (type != NULL && terminal(type) && cJSON_IsObject(resp) &&
	    t->response == NULL) {
		if ((t->response = cJSON_PrintUnformatted(resp)) == NULL)
			e = GW_ENOMEM;
		tr_usage_from_json(&t->base.usage, json_obj(resp, "usage"));
		t->base.done = 1;
	} else if (type != NULL && strcmp(type, "error") == 0 &&
	    t->error == NULL) {
		msg = json_str(ev, "message");
		if (msg == NULL)
			msg = json_str(json_obj(ev, "error"), "message");
		t->error = strdup(msg != NULL ? msg : "the Codex backend sent "
		    "an error event");
		e = t->error != NULL ? GW_OK : GW_ENOMEM;
		t->base.done = 1;
	}
	cJSON_Delete(ev);
	return e;
}

static enum gw_err
collect_ping(struct tr_stream *s, struct tr_sink *out)
{
	(void)s;
	(void)out;
	return GW_OK;          /* nothing goes to the client while collecting */
}

static enum gw_err
collect_finish(struct tr_stream *s, enum gw_err status, const char *message,
    struct tr_sink *out)
{
	(void)s;
	(void)status;
	(void)message;
	(void)out;
	return GW_OK;          /* the caller answers from what was kept */
}

static void
collect_free(struct tr_stream *s)
{
	struct codex_collect *t = (struct codex_collect *)s;

	cJSON_free(t->response);
	free(t->error);
	free(t);
}

static const struct tr_stream_ops collect_ops = {
	"codex-collect", collect_feed, collect_ping, collect_finish,
	collect_free,
};

enum gw_err
tr_codex_collect_new(struct tr_stream **out)
{
	struct codex_collect *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return GW_ENOMEM;
	t->base.ops = &collect_ops;
	tr_usage_init(&t->base.usage);
	*out = &t->base;
	return GW_OK;
}

const char *
tr_codex_collected(const struct tr_stream *t)
{
	return t->ops == &collect_ops ?
	    ((const struct codex_collect *)t)->response : NULL;
}

const char *
tr_codex_collect_error(const struct tr_stream *t)
{
	return t->ops == &collect_ops ?
	    ((const struct codex_collect *)t)->error : NULL;
}
