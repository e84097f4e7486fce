/* Manual approval's pending requests: the "approvals" table. */
#include <stdlib.h>
#include <string.h>

#include "state/approval.h"
#include "state/db.h"

/* Runs sql with the text arguments (NULL-terminated) and int64 n (bound
 * after them when has_n); *row says whether a row came back (RETURNING),
 * and *decision (may be NULL) its first column: -1 for NULL. */
static enum gw_err
run(struct db *db, const char *sql, const char *const *texts, int has_n,
    int64_t n, int *row, int *decision)
{
	struct db_stmt *st;
	enum gw_err e;
	int i = 0;

	*row = 0;
	if ((e = db_prepare(db, sql, &st)) != GW_OK)
		return e;
	for (; texts[i] != NULL; i++)
		db_bind_text(st, i + 1, texts[i]);
	if (has_n)
		db_bind_int64(st, i + 1, n);
	while ((e = db_step(st)) == GW_OK) {
		if (!*row && decision != NULL)
			*decision = db_column_is_null(st, 0) ? -1 :
			    (int)db_column_int64(st, 0);
		*row = 1;
	}
	db_done(db, st);
	return e == GW_ENOTFOUND ? GW_OK : e;
}

enum gw_err
approval_add(struct db *db, const char *id, const char *route,
    const char *model, const char *preview, int64_t now_ms)
{
	int row;

	return run(db, "INSERT INTO approvals (id, route, model, preview, "
	    "created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)", (const char *const[]){ id,
	    route != NULL ? route : "", model != NULL ? model : "",
	    preview != NULL ? preview : "", NULL }, 1, now_ms, &row, NULL);
}

enum gw_err
approval_get(struct db *db, const char *id, enum approval_state *out)
{
	int row, d = -1;
	enum gw_err e;

	if ((e = run(db, "SELECT decision FROM approvals WHERE id = ?1",
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

	if ((e = run(db, "UPDATE approvals SET decision = ?2 "
	    "WHERE id = ?1 AND decision IS NULL RETURNING id",
	    (const char *const[]){ id, NULL }, 1, approve ? 1 : 0, &row, NULL)) != GW_OK)
		return e;
	return row ? GW_OK : GW_ENOTFOUND;
}

enum gw_err
approval_remove(struct db *db, const char *id)
{
	int row;

	return run(db, "DELETE FROM approvals WHERE id = ?1",
	    (const char *const[]){ id, NULL }, 0, 0, &row, NULL);
}

enum gw_err
approval_prune(struct db *db, int64_t before_ms, long *removed)
{
	struct db_stmt *st;
	enum gw_err e;
	long n = 0;

	if ((e = db_prepare(db, "DELETE FROM approvals WHERE created_at_ms < ?1 "
	    "RETURNING id", &st)) != GW_OK)
		return e;
	db_bind_int64(st, 1, before_ms);
	while ((e = db_step(st)) == GW_OK)
		n++;
	db_done(db, st);
	if (removed != NULL)
		*removed = n;
	return e == GW_ENOTFOUND ? GW_OK : e;
}

enum gw_err
approval_list(struct db *db, struct approval_entry **out, size_t *n)
{
	struct approval_entry *list = NULL, *grown, *a;
	struct db_stmt *st;
	size_t len = 0;
	enum gw_err e;

	*out = NULL;
	*n = 0;
	if ((e = db_prepare(db, "SELECT id, route, model, preview, "
	    "created_at_ms FROM approvals WHERE decision IS NULL "
	    "ORDER BY created_at_ms, id", &st)) != GW_OK)
		return e;
	while ((e = db_step(st)) == GW_OK) {
		if ((grown = realloc(list, (len + 1) * sizeof(*list))) == NULL) {
			e = GW_ENOMEM;
			goto out;
		}
		list = grown;
		a = &list[len++];
		memset(a, 0, sizeof(*a));
		/* every column is NOT NULL: a NULL copy is out of memory */
		if (db_column_strdup(st, 0, &a->id) != GW_OK || a->id == NULL ||
		    db_column_strdup(st, 1, &a->route) != GW_OK || !a->route ||
		    db_column_strdup(st, 2, &a->model) != GW_OK || !a->model ||
		    db_column_strdup(st, 3, &a->preview) != GW_OK ||
		    a->preview == NULL) {
			e = GW_ENOMEM;
			goto out;
		}
		a->created_at_ms = db_column_int64(st, 4);
	}
	if (e == GW_ENOTFOUND)
		e = GW_OK;
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
