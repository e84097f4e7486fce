/* Manual approval's pending requests: the "approvals" table. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "state/approval.h"
#include "state/db.h"

/* Runs sql with the text arguments (NULL-terminated) and int64 n (bound
 * after them when has_n); *row says whether a row came back (RETURNING),
 * and *decision (may be NULL) its first column: -1 for NULL. */
static enum gw_err
run(struct db *db, const char *sql, const char *const *texts, int has_n,
    int64_t n, int *row, int *decision)
{
	sqlite3_stmt *st;
	enum gw_err e;
	int i = 0, rc;

	*row = 0;
	if ((e = db_prepare(db, sql, &st)) != GW_OK)
		return e;
	for (; texts[i] != NULL; i++)
		sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
	if (has_n)
		sqlite3_bind_int64(st, i + 1, n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!*row && decision != NULL)
			*decision = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 :
			    sqlite3_column_int(st, 0);
		*row = 1;
	}
	e = rc == SQLITE_DONE ? GW_OK : db_error(db, rc, "approvals");
	db_done(db, st);
	return e;
}

enum gw_err
approval_add(struct db *db, const char *id, const char *route,
    const char *model, const char *preview, int64_t now_ms)
{
	int row;

	return run(db, "INSERT INTO approvals (id, route, model, preview, "
	    "created_at_ms) VALUES (?, ?, ?, ?, ?)", (const char *const[]){ id,
	    route != NULL ? route : "", model != NULL ? model : "",
	    preview != NULL ? preview : "", NULL }, 1, now_ms, &row, NULL);
}

enum gw_err
approval_get(struct db *db, const char *id, enum approval_state *out)
{
	int row, d = -1;
	enum gw_err e;

	if ((e = run(db, "SELECT decision FROM approvals WHERE id = ?",
	    (const char *const[]){ id, NULL }, 0, 0, &row, &d)) != GW_OK)
		return e;
	if (!row)
		return GW_ENOTFOUND;
	*out = d < 0 ? APPROVAL_PENDING : d ? APPROVAL_APPROVED :
	    APPROVAL_REJECTED;
	return GW_OK;
}

enum gw_err
approval_decide(struct db *db, const char *id, int approve)
{
	int row;
	enum gw_err e;

	if ((e = run(db, "UPDATE approvals SET decision = ? "
	    "WHERE id = ? AND decision IS NULL RETURNING id",
	    (const char *const[]){ approve ? "1" : "0", id, NULL }, 0, 0, &row,
	    NULL)) != GW_OK)
		return e;
	return row ? GW_OK : GW_ENOTFOUND;
}

enum gw_err
approval_remove(struct db *db, const char *id)
{
	int row;

	return run(db, "DELETE FROM approvals WHERE id = ?",
	    (const char *const[]){ id, NULL }, 0, 0, &row, NULL);
}

enum gw_err
approval_prune(struct db *db, int64_t before_ms, long *removed)
{
	sqlite3_stmt *st;
	enum gw_err e;
	long n = 0;
	int rc;

	if ((e = db_prepare(db, "DELETE FROM approvals WHERE created_at_ms < ? "
	    "RETURNING id", &st)) != GW_OK)
		return e;
	sqlite3_bind_int64(st, 1, before_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		n++;
	e = rc == SQLITE_DONE ? GW_OK : db_error(db, rc, "approvals prune");
	db_done(db, st);
	if (removed != NULL)
		*removed = n;
	return e;
}

static char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return strdup(t != NULL ? (const char *)t : "");
}

enum gw_err
approval_list(struct db *db, struct approval_entry **out, size_t *n)
{
	struct approval_entry *list = NULL, *grown, *a;
	sqlite3_stmt *st;
	size_t len = 0;
	enum gw_err e;
	int rc;

	*out = NULL;
	*n = 0;
	if ((e = db_prepare(db, "SELECT id, route, model, preview, "
	    "created_at_ms FROM approvals WHERE decision IS NULL "
	    "ORDER BY created_at_ms, id", &st)) != GW_OK)
		return e;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((grown = realloc(list, (len + 1) * sizeof(*list))) == NULL) {
			e = GW_ENOMEM;
			goto out;
		}
		list = grown;
		a = &list[len++];
		a->id = col(st, 0);
		a->route = col(st, 1);
		a->model = col(st, 2);
		a->preview = col(st, 3);
		a->created_at_ms = sqlite3_column_int64(st, 4);
		if (!a->id || !a->route || !a->model || !a->preview) {
			e = GW_ENOMEM;
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		e = db_error(db, rc, "approvals list");
out:
	db_done(db, st);
	if (e != GW_OK) {
		approval_list_free(list, len);
		return e;
	}
	*out = list;
	*n = len;
	return GW_OK;
}

void
approval_list_free(struct approval_entry *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(list[i].id);
		free(list[i].route);
		free(list[i].model);
		free(list[i].preview);
	}
	free(list);
}
