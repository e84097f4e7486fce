/*
 * The cached Copilot model list (spec/surface.md §6.1): picker-enabled and
 * embedding models, kept in the database so every worker and process
 * shares one copy.
 */
#ifndef GW_APP_MODELS_H
#define GW_APP_MODELS_H

#include <cjson/cJSON.h>

#include "app/app.h"
#include "core/buf.h"
#include "core/err.h"

#define MODELS_MAX_AGE_MS (30LL * 60 * 1000)
/* How long a worker serves its parsed copy before it looks whether another
 * worker or process stored a newer list (one small read, no parse). */
#define MODELS_RECHECK_MS 5000

/*
 * The list, fetched when missing or older than MODELS_MAX_AGE_MS (force:
 * always); a failed refresh keeps serving the cached list.  *out is the
 * process's parsed copy, shared by its threads and borrowed: valid until
 * the next models_get on w, models_release(w) or worker_free.  Between
 * rechecks (MODELS_RECHECK_MS) it costs no database access and no parse;
 * one thread of a process fetches or parses while the others wait.  *fetched (may be NULL) says whether it
 * came from Copilot just now.  errmsg explains a failure.
 */
GW_MUST_CHECK enum gw_err models_get(struct worker *w, int force, const cJSON **out,
    int *fetched, struct buf *errmsg);
/*
 * Whether the model list of w's account (w->acct) has model (resolved as
 * tr_model_resolve does), fetching the list when it is due as models_get
 * does; 0 when there is no list.  Leaves what models_get handed w alone.
 */
int models_offers(struct worker *w, const char *model);
/* Lets go of the list models_get handed w (worker_free calls it). */
void models_release(struct worker *w);
/* Borrowed entry of list with that id, or NULL. */
const cJSON *models_find(const cJSON *list, const char *id);
/* 1 when the model's supported_endpoints lists ep ("/responses"). */
int models_supports(const cJSON *model, const char *ep);

#endif
