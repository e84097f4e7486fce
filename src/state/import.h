/*
 * Moving over from the reference gateway (caozhiyuan/copilot-api): at the
 * first start on its data directory, its GitHub token file for this
 * account and its token-usage database are copied into ours, once each.
 *
 * Their files are only read and nothing is created next to them: a usage
 * database without a -wal file is opened immutable (no -shm, no -wal), one
 * with a -wal file (the reference is running) read-only.  Each import is
 * marked done in the kv table inside the transaction that copies it, so
 * several processes starting at once import once, and a later start never
 * again (a token file is looked at again only while this account has no
 * token and the file was empty or missing).
 *
 * Not thread-safe for one struct db (like every db_ call).
 */
#ifndef GW_IMPORT_H
#define GW_IMPORT_H

#include "core/err.h"

struct db;

struct import_ref {
	const char *home;       /* the data directory, also the reference's */
	const char *oauth_app;  /* the reference's sub-directory: "" or "opencode" */
	int enterprise;         /* an enterprise domain is set: ent_github_token */
	const char *account;    /* db_account: whose token the file becomes */
	const char *usage_db;   /* its database; NULL: home/copilot-api.sqlite */
};

/* The file names the reference uses in its data directory. */
#define IMPORT_REF_DB_NAME "copilot-api.sqlite"
#define IMPORT_REF_TOKEN_NAME "github_token"

/*
 * Imports what there is to import and logs (info) what it copied.
 * GW_OK when there was nothing to do; GW_EDB / GW_EBUSY / GW_EIO when a
 * step failed (logged; that step is not marked and is tried again at the
 * next start; our database is left as it was).
 */
GW_MUST_CHECK enum gw_err import_reference(struct db *db, const struct import_ref *r);

#endif
