/*
 * Manual approval's pending requests (--manual, manualApproval), shared by
 * every process of the pool through the database table "approvals".  The
 * responder that holds a request adds its entry, polls it until someone
 * decides, and removes it; the admin route and `copilot-api approve`
 * list and decide.  Pure database logic: the waiting and the 403 belong
 * to the routes.
 *
 * Thread-safety: one db handle per thread, as everywhere.
 */
#ifndef GW_STATE_APPROVAL_H
#define GW_STATE_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct db;

enum approval_state {
	APPROVAL_PENDING,
	APPROVAL_APPROVED,
	APPROVAL_REJECTED,
};

/* One pending request, as listed. */
struct approval_entry {
	char *id;
	char *route;            /* the request path, e.g. "/v1/messages" */
	char *model;
	char *preview;          /* the first words of the prompt */
	int64_t created_at_ms;  /* ms since the epoch */
};

/* Adds a pending entry (id unique, chosen by the caller). */
GW_MUST_CHECK enum gw_err approval_add(struct db *db, const char *id,
    const char *route, const char *model, const char *preview,
    int64_t now_ms);
/* Where the entry stands; GW_ENOTFOUND when it is gone. */
GW_MUST_CHECK enum gw_err approval_get(struct db *db, const char *id,
    enum approval_state *out);
/* Approves (approve != 0) or rejects a pending entry; GW_ENOTFOUND when
 * there is no undecided entry with that id. */
GW_MUST_CHECK enum gw_err approval_decide(struct db *db, const char *id,
    int approve);
/* Removes the entry, decided or not (absent is fine). */
GW_MUST_CHECK enum gw_err approval_remove(struct db *db, const char *id);
/* Removes every entry created before before_ms: what a process that died
 * while waiting left behind; *removed (may be NULL) says how many. */
GW_MUST_CHECK enum gw_err approval_prune(struct db *db, int64_t before_ms,
    long *removed);
/* The undecided entries, oldest first: *out (NULL when none) is the
 * caller's, freed with approval_list_free. */
GW_MUST_CHECK enum gw_err approval_list(struct db *db,
    struct approval_entry **out, size_t *n);
void approval_list_free(struct approval_entry *list, size_t n);

#endif
