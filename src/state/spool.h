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

/* usage_record, falling back to the spool when the database is busy. */
GW_MUST_CHECK enum gw_err spool_record(struct db *db, const char *path,
    const struct usage_event *ev);

#endif
