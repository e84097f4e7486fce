/*
 * /healthz, /readyz and /metrics: whether the process lives, whether it
 * can serve a model request now, and the pool's counters.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/models.h"
#include "core/buf.h"
#include "core/json.h"
#include "http/request.h"
#include "routes/health.h"
#include "state/db.h"
#include "state/metrics.h"
#include "state/spool.h"
#include "upstream/auth.h"

void
route_healthz(struct rctx *r)
{
	/* The answer is decided: a failed write means the client left (so
	 * for every send below). */
	GW_IGNORE(http_send(r->c, 200, "application/json",
	    "{\"status\":\"ok\"}", 15, NULL));
}

static GW_MUST_CHECK enum gw_err add_database(struct app *a, cJSON *doc,
    int reachable);

static void
not_ready(struct rctx *r, const char *what, enum gw_err e, const struct buf *err)
{
	struct buf reason = BUF_INIT;
	cJSON *doc = cJSON_CreateObject();

	if (buf_printf(&reason, "%s: %s", what, err->len > 0 ? err->data :
	    gw_strerror(e)) != GW_OK || doc == NULL ||
	    cJSON_AddStringToObject(doc, "status", "not ready") == NULL ||
	    cJSON_AddStringToObject(doc, "reason", buf_cstr(&reason)) == NULL ||
	    add_database(r->w->app, doc, e != GW_EDBDOWN) != GW_OK)
		GW_IGNORE(http_send_text(r->c, 503, "not ready"));
	else
		GW_IGNORE(http_send_json(r->c, 503, doc));
	cJSON_Delete(doc);
	buf_free(&reason);
}

/* Adds msg to doc's "warnings" (made on first use). */
static GW_MUST_CHECK enum gw_err
add_warning(cJSON *doc, const char *msg)
{
	cJSON *warn = cJSON_GetObjectItemCaseSensitive(doc, "warnings");

	if (warn == NULL && (warn = cJSON_AddArrayToObject(doc, "warnings")) == NULL)
		return GW_ENOMEM;
	return cJSON_AddItemToArray(warn, cJSON_CreateString(msg)) ? GW_OK :
	    GW_ENOMEM;
}

/* What happened to this process's database: its server unreachable now,
 * a file deleted or replaced under it (app_db_refresh), usage rows waiting
 * in the spool file or held in memory because the disk is full
 * (spool_record); each is said in "warnings" too. */
static enum gw_err
add_database(struct app *a, cJSON *doc, int reachable)
{
	long n = atomic_load(&a->db_reopens), held, lost, spooled = 0;
	cJSON *o;
	char msg[200];

	spool_mem_stats(&held, &lost);
	/* unreadable: said as none (the log has the file's trouble) */
	GW_IGNORE(spool_pending(a->spool_path, &spooled));
	if ((o = cJSON_AddObjectToObject(doc, "database")) == NULL ||
	    cJSON_AddStringToObject(o, "driver", a->db_driver) == NULL ||
	    cJSON_AddBoolToObject(o, "reachable", reachable) == NULL ||
	    cJSON_AddNumberToObject(o, "usage_rows_spooled", (double)spooled) ==
	    NULL ||
	    cJSON_AddNumberToObject(o, "reopened", (double)n) == NULL ||
	    cJSON_AddNumberToObject(o, "last_reopened_at_ms",
	    (double)atomic_load(&a->db_reopened_ms)) == NULL ||
	    cJSON_AddNumberToObject(o, "usage_rows_in_memory", (double)held) ==
	    NULL ||
	    cJSON_AddNumberToObject(o, "usage_rows_lost", (double)lost) == NULL)
		return GW_ENOMEM;
	if (!reachable || spooled > 0) {
		snprintf(msg, sizeof(msg), "%s%ld usage row(s) wait in the "
		    "spool file", reachable ? "" : "the database is unreachable; ",
		    spooled);
		if (add_warning(doc, msg) != GW_OK)
			return GW_ENOMEM;
	}
	if (n > 0) {
		snprintf(msg, sizeof(msg), "the database file was deleted or "
		    "replaced while this process ran: reopened %ld time(s); see "
		    "the log", n);
		if (add_warning(doc, msg) != GW_OK)
			return GW_ENOMEM;
	}
	if (held > 0 || lost > 0) {
		snprintf(msg, sizeof(msg), "%ld usage row(s) held in memory, %ld "
		    "lost: the database and its spool could not be written (is "
		    "the disk full?); see the log", held, lost);
		if (add_warning(doc, msg) != GW_OK)
			return GW_ENOMEM;
	}
	return GW_OK;
}

void
route_readyz(struct rctx *r)
{
	struct auth_env env;
	struct db_copilot_token t;
	struct buf err = BUF_INIT;
	cJSON *doc = NULL, *o;
	const cJSON *list = NULL;
	char *v = NULL;
	enum gw_err e;

	memset(&t, 0, sizeof(t));
	app_auth_env(r->w, &env);
	/* the database first: a server that is down is the reason, whatever
	 * the token a worker holds */
	if ((e = db_kv_get(r->w->db, "device_id", &v)) == GW_EDBDOWN) {
		not_ready(r, "database", e, &err);
		goto out;
	}
	free(v);
	if ((e = auth_copilot_token(&env, NULL, 0, &t, &err)) != GW_OK) {
		not_ready(r, "Copilot token", e, &err);
		goto out;
	}
	if ((e = models_get(r->w, 0, &list, NULL, &err)) != GW_OK ||
	    cJSON_GetArraySize(list) == 0) {
		if (e == GW_OK)
			e = GW_ENOTFOUND;
		if (err.len == 0)       /* best effort: the reason says "not found" else */
			GW_IGNORE(buf_puts(&err, "Copilot listed no models"));
		not_ready(r, "model list", e, &err);
		goto out;
	}
	if ((doc = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(doc, "status", "ready") == NULL ||
	    (o = cJSON_AddObjectToObject(doc, "copilot_token")) == NULL ||
	    cJSON_AddNumberToObject(o, "expires_at", (double)t.expires_at) ==
	    NULL ||
	    (o = cJSON_AddObjectToObject(doc, "models")) == NULL ||
	    cJSON_AddNumberToObject(o, "count",
	    (double)cJSON_GetArraySize(list)) == NULL ||
	    cJSON_AddNumberToObject(doc, "body_bytes_in_flight",
	    (double)http_request_inflight()) == NULL) {
		rc_reject(r, 500, gw_strerror(GW_ENOMEM));
		goto out;
	}
	if (add_database(r->w->app, doc, 1) != GW_OK) {
		rc_reject(r, 500, gw_strerror(GW_ENOMEM));
		goto out;
	}
	GW_IGNORE(http_send_json(r->c, 200, doc));
out:
	cJSON_Delete(doc);
	db_copilot_token_free(&t);
	buf_free(&err);
}

void
route_metrics(struct rctx *r)
{
	struct buf out = BUF_INIT;
	enum gw_err e;

	if ((e = metrics_render(&out)) == GW_ENOTFOUND)
		rc_reject(r, 503, "metrics are unavailable in this process (the "
		    "metrics file in the data directory could not be mapped; "
		    "see the log)");
	else if (e != GW_OK)
		rc_reject(r, 500, gw_strerror(e));
	else
		GW_IGNORE(http_send(r->c, 200,
		    "text/plain; version=0.0.4; charset=utf-8", out.data, out.len,
		    NULL));
	buf_free(&out);
}
