/*
 * Manual approval: the wait of a held request, and the admin routes that
 * list and decide the pending ones.  The reference asks on its terminal,
 * one process, one prompt at a time; a pool of responders has no
 * terminal, so the pending requests go through the database.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "routes/approval.h"
#include "state/approval.h"
#include "state/config.h"

/* How many words of the prompt the preview shows. */
#define PREVIEW_WORDS 12
/* An entry older than the timeout by this much belongs to a process that
 * died while waiting: the next request removes it. */
#define STALE_MARGIN_MS 60000

static int
enabled(const struct cfg *cfg)
{
	const char *v = getenv("COPILOT_API_MANUAL_APPROVAL");

	return cfg->manual_approval || (v != NULL && strcmp(v, "1") == 0);
}

/* The text of a message's content: a string, or its first text part. */
static const char *
content_text(const cJSON *content)
{
	const cJSON *part;
	const char *t;

	if (cJSON_IsString(content))
		return content->valuestring;
	cJSON_ArrayForEach(part, content) {
		if ((t = json_str(part, "text")) != NULL)
			return t;
	}
	return NULL;
}

/* The last user turn's text: messages (chat, Anthropic) or input
 * (Responses: a string or items). */
static const char *
prompt_text(const cJSON *body)
{
	const cJSON *list = json_arr(body, "messages"), *m;
	const char *t;
	int i;

	if (list == NULL && json_str(body, "input") != NULL)
		return json_str(body, "input");
	if (list == NULL)
		list = json_arr(body, "input");
	for (i = cJSON_GetArraySize(list) - 1; i >= 0; i--) {
		m = cJSON_GetArrayItem(list, i);
		if (json_str(m, "role") != NULL &&
		    strcmp(json_str(m, "role"), "user") == 0 &&
		    (t = content_text(cJSON_GetObjectItemCaseSensitive(m,
		    "content"))) != NULL)
			return t;
	}
	return NULL;
}

/* The first words of the prompt (the last user turn's text) of a chat,
 * messages or responses body, at most n - 1 bytes, "" when none. */
static void
preview_of(const cJSON *body, char *out, size_t n)
{
	const char *p = prompt_text(body);
	size_t len = 0, words = 0;

	if (n == 0)
		return;
	out[0] = '\0';
	while (p != NULL && *p != '\0' && words < PREVIEW_WORDS) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		if (len > 0 && len + 1 < n)
			out[len++] = ' ';
		while (*p != '\0' && !isspace((unsigned char)*p) && len + 1 < n)
			out[len++] = *p++;
		words++;
		if (len + 1 >= n)
			break;
	}
	/* never end inside a UTF-8 sequence */
	if (p != NULL && *p != '\0' && !isspace((unsigned char)*p))
		while (len > 0 && ((unsigned char)out[len] & 0xc0) == 0x80)
			len--;
	out[len] = '\0';
}

/* Ends the wait: the entry goes (best effort: a leftover is pruned). */
static void
forget(struct rctx *r, const char *id)
{
	if (approval_remove(r->w->db, id) != GW_OK)
		log_warn("approval %s: could not remove its entry", id);
}

/* The decision, the timeout or the client's departure: 1 approved, 0
 * answered or gone. */
static int
wait_decision(struct rctx *r, const char *id, long timeout_s)
{
	int64_t deadline = util_mono_ms() + (int64_t)timeout_s * 1000;
	enum approval_state st;
	char msg[96];
	enum gw_err e;

	for (;;) {
		e = approval_get(r->w->db, id, &st);
		if (e == GW_OK && st == APPROVAL_APPROVED) {
			log_info("request %s approved", r->req->trace_id);
			return 1;
		}
		if (e == GW_ENOTFOUND || (e == GW_OK && st == APPROVAL_REJECTED)) {
			log_info("request %s rejected", r->req->trace_id);
			rc_reject_with(r, 403, NULL, "Request rejected", NULL);
			return 0;
		}
		/* a locked database is retried at the next poll */
		if (util_mono_ms() >= deadline) {
			log_info("request %s: no decision within %ld s",
			    r->req->trace_id, timeout_s);
			snprintf(msg, sizeof(msg), "Request rejected: not approved "
			    "within %ld seconds", timeout_s);
			rc_reject_with(r, 403, NULL, msg, NULL);
			return 0;
		}
		if (http_conn_watch(r->c, RC_APPROVAL_POLL_MS)) {
			log_info("request %s: the client left while waiting for "
			    "approval", r->req->trace_id);
			return 0;
		}
	}
}

int
rc_approval(struct rctx *r, const cJSON *body)
{
	const struct cfg *cfg = r->w->cfg;
	const char *model = r->model[0] != '\0' ? r->model :
	    json_str(body, "model");
	char id[37], preview[160], shown[192];
	int64_t now = util_now_ms();
	enum gw_err e;
	int ok;

	if (!enabled(cfg))
		return 1;
	preview_of(body, preview, sizeof(preview));
	if (approval_prune(r->w->db, now - cfg->approval_timeout_s * 1000 -
	    STALE_MARGIN_MS, NULL) != GW_OK)
		log_warn("approvals: could not remove stale entries");
	/* a provider's model says whose, as its alias would */
	snprintf(shown, sizeof(shown), "%s%s%s", r->provider ? r->provider : "",
	    r->provider ? "/" : "", model ? model : "");
	if ((e = util_uuid4(id)) != GW_OK ||
	    (e = approval_add(r->w->db, id, r->req->path, shown, preview,
	    now)) != GW_OK) {
		rc_reject(r, gw_http_status(e), "Manual approval is on and the "
		    "request could not be queued for it");
		return 0;
	}
	log_info("request %s waits for approval: id %s, %s %s \"%s\"",
	    r->req->trace_id, id, r->req->path, shown, preview);
	ok = wait_decision(r, id, cfg->approval_timeout_s);
	forget(r, id);
	return ok;
}

/* ---- the admin routes ---- */

void
route_admin_approvals_get(struct rctx *r)
{
	struct approval_entry *list;
	cJSON *doc, *data, *o;
	int64_t now = util_now_ms();
	size_t i, n;
	enum gw_err e;

	if ((e = approval_list(r->w->db, &list, &n)) != GW_OK) {
		rc_reject(r, gw_http_status(e), "Could not read the pending "
		    "approvals");
		return;
	}
	doc = cJSON_CreateObject();
	data = cJSON_AddArrayToObject(doc, "data");
	for (i = 0; i < n && data != NULL; i++) {
		if ((o = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(data, o))
			break;
		cJSON_AddStringToObject(o, "id", list[i].id);
		cJSON_AddStringToObject(o, "route", list[i].route);
		cJSON_AddStringToObject(o, "model", list[i].model);
		cJSON_AddStringToObject(o, "preview", list[i].preview);
		cJSON_AddNumberToObject(o, "age_seconds", (double)(now >
		    list[i].created_at_ms ? (now - list[i].created_at_ms) / 1000 :
		    0));
	}
	approval_list_free(list, n);
	if (data == NULL || i < n)
		rc_reject(r, 500, gw_strerror(GW_ENOMEM));
	else    /* the answer is decided: a failed write means the client left */
		GW_IGNORE(http_send_json(r->c, 200, doc));
	cJSON_Delete(doc);
}

void
route_admin_approvals_post(struct rctx *r)
{
	const cJSON *v;
	cJSON *body, *doc;
	enum gw_err e;

	if ((body = rc_body_json(r)) == NULL)
		return;
	v = cJSON_GetObjectItemCaseSensitive(body, "approve");
	if (!cJSON_IsBool(v)) {
		rc_reject(r, 400, "\"approve\" must be true or false");
		goto out;
	}
	e = approval_decide(r->w->db, r->param, cJSON_IsTrue(v));
	if (e == GW_ENOTFOUND) {
		rc_reject(r, 404, "No pending request with this id");
		goto out;
	}
	if (e != GW_OK) {
		rc_reject(r, gw_http_status(e), "Could not record the decision");
		goto out;
	}
	log_info("approval %s: %s by an admin request (%s)", r->param,
	    cJSON_IsTrue(v) ? "approved" : "rejected", r->req->trace_id);
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "id", r->param);
	cJSON_AddBoolToObject(doc, "approved", cJSON_IsTrue(v));
	/* decided and stored: a failed write means the client left */
	GW_IGNORE(http_send_json(r->c, 200, doc));
	cJSON_Delete(doc);
out:
	cJSON_Delete(body);
}
