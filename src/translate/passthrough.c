#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "translate/stream.h"

struct passthrough {
	struct tr_stream base;   /* first: the translator is freed through it */
	enum gw_dialect dialect;
};

static void
sniff(struct tr_stream *t, const char *data, size_t len)
{
	const cJSON *usage, *resp;
	const char *model;
	cJSON *v;

	/* Parsing every chunk would double the relay's cost: only chunks that
	 * can carry usage are parsed. */
	if (strstr(data, "\"usage\"") == NULL)
		return;
	if ((v = json_parse(data, len, NULL, NULL)) == NULL)
		return;
	resp = json_obj(v, "response");        /* Responses events */
	usage = json_obj(resp != NULL ? resp : v, "usage");
	if (usage == NULL)
		usage = json_obj(json_obj(v, "message"), "usage"); /* Anthropic */
	if (usage != NULL)
		tr_usage_from_json(&t->usage, usage);
	model = json_str(resp != NULL ? resp : v, "model");
	if (model != NULL) {
		strncpy(t->usage.model, model, sizeof(t->usage.model) - 1);
		t->usage.model[sizeof(t->usage.model) - 1] = '\0';
	}
	cJSON_Delete(v);
}

static enum gw_err
pt_feed(struct tr_stream *t, const char *event, const char *data, size_t len,
    struct tr_sink *out)
{
	if (strcmp(data, "[DONE]") == 0)
		t->done = 1;
	else if (event != NULL && (strcmp(event, "message_stop") == 0 ||
	    strcmp(event, "response.completed") == 0 ||
	    strcmp(event, "response.incomplete") == 0 ||
	    strcmp(event, "response.failed") == 0))
		t->done = 1;
	sniff(t, data, len);
	return out->emit(out->ctx, event, data, len);
}

static enum gw_err
pt_ping(struct tr_stream *t, struct tr_sink *out)
{
	struct passthrough *p = (struct passthrough *)t;
	static const char ping[] = "{\"type\":\"ping\"}";

	if (p->dialect == GW_DIALECT_ANTHROPIC)
		return out->emit(out->ctx, "ping", ping, sizeof(ping) - 1);
	return out->comment(out->ctx, "keep-alive");
}

/* Error event in the client's dialect; message is JSON-escaped by cJSON. */
static enum gw_err
pt_finish(struct tr_stream *t, enum gw_err status, const char *message,
    struct tr_sink *out)
{
	struct passthrough *p = (struct passthrough *)t;
	cJSON *root = NULL, *err;
	char *s = NULL;
	enum gw_err e = GW_ENOMEM;

	if (status == GW_OK)
		return GW_OK;
	if ((root = cJSON_CreateObject()) == NULL)
		goto out;
	if (p->dialect == GW_DIALECT_ANTHROPIC &&
	    cJSON_AddStringToObject(root, "type", "error") == NULL)
		goto out;
	if ((err = cJSON_AddObjectToObject(root, "error")) == NULL)
		goto out;
	if (cJSON_AddStringToObject(err, "type",
	    status == GW_ETIMEOUT ? "timeout_error" : "api_error") == NULL)
		goto out;
	if (cJSON_AddStringToObject(err, "message",
	    message != NULL ? message : gw_strerror(status)) == NULL)
		goto out;
	if ((s = cJSON_PrintUnformatted(root)) == NULL)
		goto out;
	e = out->emit(out->ctx, "error", s, strlen(s));
	if (e == GW_OK && p->dialect == GW_DIALECT_OPENAI && !t->done)
		e = out->emit(out->ctx, NULL, "[DONE]", 6);
out:
	cJSON_free(s);
	cJSON_Delete(root);
	return e;
}

static void
pt_free(struct tr_stream *t)
{
	free(t);
}

static const struct tr_stream_ops passthrough_ops = {
	"passthrough", pt_feed, pt_ping, pt_finish, pt_free,
};

enum gw_err
tr_passthrough_new(enum gw_dialect d, struct tr_stream **out)
{
	struct passthrough *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return GW_ENOMEM;
	p->base.ops = &passthrough_ops;
	tr_usage_init(&p->base.usage);
	p->dialect = d;
	*out = &p->base;
	return GW_OK;
}
