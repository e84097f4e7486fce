/*
 * Usage rows that could not be written (the database stayed locked past
 * the busy timeout) wait in a JSON-lines spool file in the data directory;
 * the next request that writes a row replays them.  Nothing is lost.
 */
#ifndef GW_SPOOL_H
#define GW_SPOOL_H

#include "core/err.h"
#include "state/usage.h"

struct db;

#define SPOOL_FILE_NAME "usage-spool.jsonl"

/* Rows a process holds in memory at most (see spool_record). */
#define SPOOL_MEM_ROWS 10000

/*
 * usage_record, falling back to the spool when the database is busy or
 * failing.  When the spool cannot be written either (the disk that holds
 * both is full), the row is held in this process's memory, up to
 * SPOOL_MEM_ROWS rows, and written at the next row this process writes
 * successfully; the rows held die with the process.  GW_OK means the row
 * is written, spooled or held.
 */
GW_MUST_CHECK enum gw_err spool_record(struct db *db, const char *path,
    const struct usage_event *ev);
/* The rows held in memory now, and those lost since start because the
 * bound was reached (for /readyz). */
void spool_mem_stats(long *held, long *dropped);

#endif
