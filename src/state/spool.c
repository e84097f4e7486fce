/*
 * The usage spool: rows that met a locked database wait in a JSON-lines
 * file and the next writer replays them (contract in spool.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "state/db.h"
#include "state/metrics.h"
#include "state/paths.h"
#include "state/spool.h"

static void
add_str(cJSON *o, const char *k, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, k, v);
}

static GW_MUST_CHECK enum gw_err
spool_append(const char *path, const struct usage_event *ev)
{
	struct buf line = BUF_INIT;
	cJSON *o;
	int fd = -1;
	enum gw_err e = GW_ENOMEM;

	if ((o = cJSON_CreateObject()) == NULL)
		return GW_ENOMEM;
	cJSON_AddNumberToObject(o, "created_at_ms", (double)ev->created_at_ms);
	add_str(o, "trace_id", ev->trace_id);
	add_str(o, "session_id", ev->session_id);
	add_str(o, "user_id", ev->user_id);
	add_str(o, "source", ev->source);
	add_str(o, "endpoint", ev->endpoint);
	add_str(o, "provider_name", ev->provider_name);
	add_str(o, "model", ev->model);
	add_str(o, "error", ev->error);
	cJSON_AddNumberToObject(o, "status", ev->status);
	cJSON_AddNumberToObject(o, "stream", ev->stream);
	cJSON_AddNumberToObject(o, "input_tokens", ev->input_tokens);
	cJSON_AddNumberToObject(o, "output_tokens", ev->output_tokens);
	cJSON_AddNumberToObject(o, "cache_read_input_tokens",
	    ev->cache_read_input_tokens);
	cJSON_AddNumberToObject(o, "cache_creation_input_tokens",
	    ev->cache_creation_input_tokens);
	cJSON_AddNumberToObject(o, "total_tokens", ev->total_tokens);
	cJSON_AddNumberToObject(o, "latency_ms", (double)ev->latency_ms);
	if (json_append(&line, o) != GW_OK || buf_putc(&line, '\n') != GW_OK)
		goto out;
	/* One lock holder at a time: lines never interleave with a replay. */
	if ((e = paths_lock(path, 0, &fd, NULL)) != GW_OK)
		goto out;
	e = write(fd, line.data, line.len) == (ssize_t)line.len ? GW_OK : GW_EIO;
out:
	paths_unlock(fd);
	cJSON_Delete(o);
	buf_free(&line);
	return e;
}

static long
num(const cJSON *o, const char *k)
{
	return (long)json_num(o, k, -1);
}

static GW_MUST_CHECK enum gw_err
replay_line(struct db *db, const char *p, size_t n)
{
	struct usage_event ev;
	cJSON *o = json_parse(p, n, NULL, NULL);
	enum gw_err e;

	if (o == NULL) {
		log_warn("usage spool: skipping an unreadable line");
		return GW_OK;
	}
	memset(&ev, 0, sizeof(ev));
	ev.created_at_ms = (int64_t)json_num(o, "created_at_ms", 0);
	ev.trace_id = json_str(o, "trace_id");
	ev.session_id = json_str(o, "session_id");
	ev.user_id = json_str(o, "user_id");
	ev.source = json_str(o, "source");
	ev.endpoint = json_str(o, "endpoint");
	ev.provider_name = json_str(o, "provider_name");
	ev.model = json_str(o, "model");
	ev.error = json_str(o, "error");
	ev.status = num(o, "status");
	ev.stream = (int)num(o, "stream");
	ev.input_tokens = num(o, "input_tokens");
	ev.output_tokens = num(o, "output_tokens");
	ev.cache_read_input_tokens = num(o, "cache_read_input_tokens");
	ev.cache_creation_input_tokens = num(o, "cache_creation_input_tokens");
	ev.total_tokens = num(o, "total_tokens");
	ev.latency_ms = (int64_t)json_num(o, "latency_ms", -1);
	e = usage_record(db, &ev);
	cJSON_Delete(o);
	return e;
}

/* Writes the spooled rows in one transaction and empties the file; a
 * spool another process is replaying is left to it.  replayed may be NULL. */
static GW_MUST_CHECK enum gw_err
spool_replay(struct db *db, const char *path, long *replayed)
{
	struct buf all = BUF_INIT;
	char chunk[8192], *p, *nl;
	long count = 0;
	ssize_t r;
	int fd;
	enum gw_err e = GW_OK;

	if (replayed != NULL)
		*replayed = 0;
	e = paths_lock(path, PATHS_LOCK_NB | PATHS_LOCK_EXISTING, &fd, NULL);
	/* Nothing spooled, or someone else is appending or replaying. */
	if (e == GW_ENOTFOUND || e == GW_EBUSY)
		return GW_OK;
	if (e != GW_OK)
		return e;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if ((e = buf_append(&all, chunk, (size_t)r)) != GW_OK)
			goto out_unlock;
	if (all.len == 0)
		goto out_unlock;
	if ((e = db_begin_immediate(db)) != GW_OK)
		goto out_unlock;
	for (p = all.data; p < all.data + all.len; p = nl + 1) {
		if ((nl = memchr(p, '\n', all.len - (size_t)(p - all.data))) == NULL)
			break;  /* a partial last line: a writer died mid-line */
		if ((e = replay_line(db, p, (size_t)(nl - p))) != GW_OK)
			break;
		count++;
	}
	if (e == GW_OK && (e = db_commit(db)) == GW_OK) {
		if (ftruncate(fd, 0) != 0)
			e = GW_EIO;
		log_info("usage spool: %ld rows written to the database", count);
		if (replayed != NULL)
			*replayed = count;
	} else
		GW_IGNORE(db_rollback(db));  /* best effort: e is returned */
out_unlock:
	paths_unlock(fd);
	buf_free(&all);
	return e;
}

enum gw_err
spool_record(struct db *db, const char *path, const struct usage_event *ev)
{
	struct stat st;
	enum gw_err e;

	e = usage_record(db, ev);
	if (e == GW_EBUSY || e == GW_EDB) {
		if (spool_append(path, ev) == GW_OK) {
			metrics_usage_spooled();
			log_warn("database unavailable (%s): usage row %s spooled to %s",
			    gw_strerror(e), ev->trace_id ? ev->trace_id : "", path);
			return GW_OK;
		}
		return e;
	}
	/* best effort: the row is recorded; a failed replay is retried
	 * after the next one */
	if (e == GW_OK && stat(path, &st) == 0 && st.st_size > 0)
		GW_IGNORE(spool_replay(db, path, NULL));
	return e;
}
