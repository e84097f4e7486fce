/*
 * Usage rows that could not be written (the database stayed locked past
 * the busy timeout, failed, or its server was unreachable) wait in a
 * JSON-lines spool file in the data directory; the next row written
 * replays them, and an idle batcher tries every SPOOL_RETRY_MS.  Nothing
 * is lost.
 * The rows themselves are written in batches by one thread per responder
 * process (spool_batch_start).
 */
#ifndef GW_SPOOL_H
#define GW_SPOOL_H

#include "core/err.h"
#include "state/usage.h"

struct db;

#define SPOOL_FILE_NAME "usage-spool.jsonl"

/* Rows a process holds in memory at most (see spool_record). */
#define SPOOL_MEM_ROWS 10000

/* The batcher: rows per transaction at most, the longest a row waits in
 * the queue, the queue's bound (over it a row is written at once, by its
 * own thread), and how long spool_sync waits at most. */
#define SPOOL_BATCH_ROWS 64
#define SPOOL_BATCH_MS 200
#define SPOOL_QUEUE_MAX 4096
#define SPOOL_SYNC_WAIT_S 5
/* How often an idle batcher tries the spooled rows again. */
#define SPOOL_RETRY_MS 5000

/*
 * usage_record, falling back to the spool when the database is busy or
 * failing.  When the spool cannot be written either (the disk that holds
 * both is full), the row is held in this process's memory, up to
 * SPOOL_MEM_ROWS rows, and written at the next row this process writes
 * successfully; the rows held die with the process.  GW_OK means the row
 * is written, spooled or held.  A row without a row_key gets a random one
 * here and keeps it through the queue, the spool and memory, so a retry of
 * rows whose commit went through unseen (PostgreSQL's answer lost with the
 * connection) writes nothing twice.
 */
GW_MUST_CHECK enum gw_err spool_record(struct db *db, const char *path,
    const struct usage_event *ev);

/*
 * Usage rows off the request path (issue 11: no fsync and no write lock
 * per request): once spool_batch_start ran in a process, spool_record
 * copies the row into a process-wide queue and returns; one thread of
 * this process writes the queue with its own connection to db_path, one
 * transaction per batch, when SPOOL_BATCH_ROWS are queued or the oldest
 * waited SPOOL_BATCH_MS, with the spool and memory fallbacks above per
 * row.  spool_batch_stop writes what is queued and ends the thread (a
 * clean stop loses nothing); rows queued when the process dies by a
 * signal it cannot catch are lost (at most SPOOL_BATCH_MS of them).
 * spool_sync waits (up to SPOOL_SYNC_WAIT_S) until every row queued
 * before the call is written: a reader of the usage tables in the same
 * process sees its own rows.  Start and stop are not thread-safe (call
 * them before the request threads start / after they stopped); record
 * and sync are.  Without a start, spool_record writes at once.
 */
GW_MUST_CHECK enum gw_err spool_batch_start(const char *driver,
    const char *target, const char *spool_path);
void spool_batch_stop(void);
void spool_sync(void);
/* The rows waiting in the spool file at path now (lines counted; none
 * when it is missing). */
GW_MUST_CHECK enum gw_err spool_pending(const char *path, long *rows);
/* The rows held in memory now, and those lost since start because the
 * bound was reached (for /readyz). */
void spool_mem_stats(long *held, long *dropped);

#endif
