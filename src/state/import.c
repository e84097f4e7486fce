/* The one-time import of the reference gateway's token file and usage rows
 * (contract in import.h).  Their database is a sqlite file whatever our
 * storage is: it is read here with sqlite itself, and written into ours
 * through state/db.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "state/db.h"
#include "state/import.h"

#define TOKEN_FILE_MAX 65536
#define USAGE_MARK "import.reference.usage"

/* Where a value of ours is, and whether it is there. */
static GW_MUST_CHECK enum gw_err
kv_has(struct db *db, const char *key, int *has)
{
	char *v = NULL;
	enum gw_err e = db_kv_get(db, key, &v);

	free(v);
	*has = e == GW_OK;
	return e == GW_ENOTFOUND ? GW_OK : e;
}

/* The trimmed contents of a small file; NULL when it is missing or blank. */
static GW_MUST_CHECK enum gw_err
read_token_file(const char *path, char **out)
{
	char data[TOKEN_FILE_MAX];
	ssize_t n;
	size_t len = 0;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return errno == ENOENT || errno == ENOTDIR ? GW_OK : GW_EIO;
	while (len < sizeof(data) &&
	    (n = read(fd, data + len, sizeof(data) - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return GW_EIO;
		}
		len += (size_t)n;
	}
	close(fd);
	if ((*out = util_strndup_trim(data, len)) == NULL)
		return GW_ENOMEM;
	if (**out == '\0' || memchr(data, '\0', len) != NULL) {
		free(*out);
		*out = NULL;
	}
	return GW_OK;
}

/* Under the write lock: copies the token unless this account has one or
 * the import is marked done. */
static GW_MUST_CHECK enum gw_err
copy_token(struct db *db, const char *path, const char *key, const char *mark,
    int *copied)
{
	char *tok = NULL, fp[16];
	enum gw_err e;
	int has_tok, has_mark;

	*copied = 0;
	if ((e = kv_has(db, key, &has_tok)) != GW_OK ||
	    (e = kv_has(db, mark, &has_mark)) != GW_OK)
		return e;
	if (has_tok || has_mark)
		return GW_OK;
	if ((e = read_token_file(path, &tok)) != GW_OK) {
		log_warn("cannot read the reference's GitHub token %s", path);
		return e;
	}
	if (tok == NULL)
		return GW_OK;
	if ((e = db_kv_set(db, key, tok)) == GW_OK &&
	    (e = db_kv_set(db, mark, path)) == GW_OK) {
		*copied = 1;
		log_fingerprint(tok, fp);
		log_info("imported the GitHub token (%s) of the reference "
		    "gateway from %s", fp, path);
	}
	free(tok);
	return e;
}

static GW_MUST_CHECK enum gw_err
import_token(struct db *db, const struct import_ref *r)
{
	char *path = NULL, *key = NULL, *mark = NULL;
	enum gw_err e;
	int has, copied;

	if ((e = db_account_key("github_token", r->account, &key)) != GW_OK ||
	    (e = db_account_key("import.reference.github_token", r->account,
	    &mark)) != GW_OK)
		goto out;
	/* the usual start: signed in already, nothing to look at */
	if ((e = kv_has(db, key, &has)) != GW_OK || has)
		goto out;
	path = buf_strdupf("%s/%s%s%s%s", r->home, r->oauth_app,
	    *r->oauth_app != '\0' ? "/" : "", r->enterprise ? "ent_" : "",
	    IMPORT_REF_TOKEN_NAME);
	if (path == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	if (access(path, F_OK) != 0)
		goto out;
	if ((e = db_begin_immediate(db)) != GW_OK)
		goto out;
	if ((e = copy_token(db, path, key, mark, &copied)) != GW_OK ||
	    (e = db_commit(db)) != GW_OK)
		GW_IGNORE(db_rollback(db));  /* e says what went wrong */
out:
	free(path);
	free(key);
	free(mark);
	return e;
}

/* "file:" URI of path (RFC 3986: all but unreserved and '/' escaped). */
static char *
file_uri(const char *path, const char *query)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = BUF_INIT;
	const unsigned char *p;
	enum gw_err e = buf_puts(&b, "file:");

	for (p = (const unsigned char *)path; e == GW_OK && *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p) != NULL)
			e = buf_putc(&b, (char)*p);
		else if ((e = buf_putc(&b, '%')) == GW_OK &&
		    (e = buf_putc(&b, hex[*p >> 4])) == GW_OK)
			e = buf_putc(&b, hex[*p & 15]);
	}
	if (e == GW_OK)
		e = buf_printf(&b, "?%s", query);
	if (e != GW_OK) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/*
 * Opens their database without writing anything in its directory: no -wal
 * file means the reference is not running and the file is all there is
 * (immutable: no locks, no -shm); with one, read-only through its WAL.
 */
static GW_MUST_CHECK enum gw_err
open_theirs(const char *path, sqlite3 **out)
{
	char *wal = buf_strdupf("%s-wal", path), *uri;
	int rc;

	*out = NULL;
	if (wal == NULL)
		return GW_ENOMEM;
	uri = file_uri(path, access(wal, F_OK) == 0 ? "mode=ro" : "immutable=1");
	free(wal);
	if (uri == NULL)
		return GW_ENOMEM;
	rc = sqlite3_open_v2(uri, out, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
	    SQLITE_OPEN_NOMUTEX, NULL);
	free(uri);
	if (rc == SQLITE_OK)
		sqlite3_busy_timeout(*out, 5000);
	else
		log_warn("cannot open the reference's database %s: %s", path,
		    *out != NULL ? sqlite3_errmsg(*out) : "out of memory");
	return rc == SQLITE_OK ? GW_OK : GW_EDB;
}

static GW_MUST_CHECK enum gw_err
theirs_failed(sqlite3 *theirs, const char *path)
{
	log_warn("cannot read the reference's database %s: %s", path,
	    sqlite3_errmsg(theirs));
	return GW_EDB;
}

/* Their SELECT: user_id and total_tokens came later to their schema (an
 * old file may lack them; the reference then adds them with defaults), and
 * 1.14.7's cost columns later still (NULL without them). */
static GW_MUST_CHECK enum gw_err
their_select(sqlite3 *theirs, const char *path, char **sql, int *has_table)
{
	sqlite3_stmt *st = NULL;
	const char *name;
	int user_id = 0, total = 0, cost = 0, rc;

	*sql = NULL;
	*has_table = 0;
	rc = sqlite3_prepare_v2(theirs, "PRAGMA table_info(token_usage_events)",
	    -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = SQLITE_OK;
		*has_table = 1;
		name = (const char *)sqlite3_column_text(st, 1);
		user_id |= util_streq(name, "user_id");
		total |= util_streq(name, "total_tokens");
		cost += util_streq(name, "total_nano_aiu") ||
		    util_streq(name, "cost_currency") ||
		    util_streq(name, "total_cost_nanos") ||
		    util_streq(name, "cost_source");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return theirs_failed(theirs, path);
	*sql = buf_strdupf("SELECT created_at_ms, created_at_utc, trace_id, "
	    "session_id, %s, source, endpoint, provider_name, model, "
	    "input_tokens, output_tokens, cache_read_input_tokens, "
	    "cache_creation_input_tokens, %s, %s FROM token_usage_events "
	    "ORDER BY id", user_id ? "user_id" : "''", total ? "total_tokens" :
	    "input_tokens + output_tokens + cache_read_input_tokens + "
	    "cache_creation_input_tokens", cost == 4 ? "total_nano_aiu, "
	    "cost_currency, total_cost_nanos, cost_source" :
	    "NULL, NULL, NULL, NULL");
	return *sql != NULL ? GW_OK : GW_ENOMEM;
}

/* Which of the 18 columns of their SELECT (their_select) are integers:
 * created_at_ms, the five counts, total_nano_aiu and total_cost_nanos. */
#define THEIR_COLS 18
#define THEIR_INTS ((1u << 0) | (0x1fu << 9) | (1u << 14) | (1u << 16))

/* One of their values bound to ours by the type of our column (sqlite
 * converts what their file holds; NULL stays NULL). */
static void
bind_theirs(struct db_stmt *to, sqlite3_stmt *from, int i)
{
	if (sqlite3_column_type(from, i) == SQLITE_NULL)
		db_bind_text(to, i + 1, NULL);
	else if (THEIR_INTS & (1u << i))
		db_bind_int64(to, i + 1, sqlite3_column_int64(from, i));
	else
		db_bind_text(to, i + 1, (const char *)sqlite3_column_text(from,
		    i));
}

/* Copies every row of theirs into ours (status, latency and error NULL,
 * stream 0: the reference does not record them). */
static GW_MUST_CHECK enum gw_err
copy_rows(struct db *db, sqlite3 *theirs, const char *path, const char *sel,
    long *n)
{
	static const char ins[] =
	    "INSERT INTO token_usage_events (created_at_ms, created_at_utc, "
	    "trace_id, session_id, user_id, source, endpoint, provider_name, "
	    "model, input_tokens, output_tokens, cache_read_input_tokens, "
	    "cache_creation_input_tokens, total_tokens, total_nano_aiu, "
	    "cost_currency, total_cost_nanos, cost_source) VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";
	sqlite3_stmt *from = NULL;
	struct db_stmt *to;
	enum gw_err e = GW_OK;
	int rc, i;

	*n = 0;
	if (sqlite3_prepare_v2(theirs, sel, -1, &from, NULL) != SQLITE_OK)
		return theirs_failed(theirs, path);
	while ((rc = sqlite3_step(from)) == SQLITE_ROW) {
		/* the statement is prepared once: the cache hands it back */
		if ((e = db_prepare(db, ins, &to)) != GW_OK)
			goto out;
		for (i = 0; i < THEIR_COLS; i++)
			bind_theirs(to, from, i);
		e = db_step(to);
		db_done(db, to);
		if (e != GW_ENOTFOUND)
			goto out;
		e = GW_OK;
		(*n)++;
	}
	if (rc != SQLITE_DONE)
		e = theirs_failed(theirs, path);
out:
	sqlite3_finalize(from);
	return e;
}

/* Under the write lock: the rows, unless already imported, and the mark. */
static GW_MUST_CHECK enum gw_err
copy_usage(struct db *db, sqlite3 *theirs, const char *path)
{
	char *sel = NULL, count[32];
	enum gw_err e;
	int done, has_table;
	long n = 0;

	if ((e = kv_has(db, USAGE_MARK, &done)) != GW_OK || done)
		return e;
	if ((e = their_select(theirs, path, &sel, &has_table)) != GW_OK)
		return e;
	if (has_table)
		e = copy_rows(db, theirs, path, sel, &n);
	free(sel);
	snprintf(count, sizeof(count), "%ld", n);
	if (e == GW_OK && (e = db_kv_set(db, USAGE_MARK, count)) == GW_OK)
		log_info("imported %ld usage rows of the reference gateway "
		    "from %s", n, path);
	return e;
}

static GW_MUST_CHECK enum gw_err
import_usage(struct db *db, const struct import_ref *r)
{
	char *path = NULL;
	sqlite3 *theirs = NULL;
	enum gw_err e;
	int done;

	if ((e = kv_has(db, USAGE_MARK, &done)) != GW_OK || done)
		return e;
	if (r->usage_db != NULL && *r->usage_db != '\0')
		path = strdup(r->usage_db);
	else
		path = buf_strdupf("%s/%s", r->home, IMPORT_REF_DB_NAME);
	if (path == NULL)
		return GW_ENOMEM;
	if (access(path, F_OK) != 0)
		goto out;
	if ((e = open_theirs(path, &theirs)) != GW_OK ||
	    (e = db_begin_immediate(db)) != GW_OK)
		goto out;
	if ((e = copy_usage(db, theirs, path)) != GW_OK ||
	    (e = db_commit(db)) != GW_OK)
		GW_IGNORE(db_rollback(db));  /* e says what went wrong */
out:
	sqlite3_close(theirs);
	free(path);
	return e;
}

enum gw_err
import_reference(struct db *db, const struct import_ref *r)
{
	enum gw_err e, e2;

	e = import_token(db, r);
	e2 = import_usage(db, r);
	return e != GW_OK ? e : e2;
}
