/* The data directory (COPILOT_API_HOME) and safe file writes inside it. */
#ifndef GW_PATHS_H
#define GW_PATHS_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* Data dir: $COPILOT_API_HOME when set and non-empty (trailing slashes
 * dropped), else the system data dir (./configure --datadir, default
 * /var/lib/copilot-api) when it exists and is writable, else
 * $HOME/.local/share/copilot-api.  GW_EINVAL when neither is
 * usable.  *out is malloc'd. */
GW_MUST_CHECK enum gw_err paths_home(char **out);

/* mkdir -p; missing components are created with mode 0700.  An existing
 * directory is fine; an existing non-directory is GW_EIO. */
GW_MUST_CHECK enum gw_err paths_ensure_dir(const char *dir);

/* dir + "/" + name (no doubled slash).  *out is malloc'd. */
GW_MUST_CHECK enum gw_err paths_join(const char *dir, const char *name, char **out);

/*
 * Replaces path with data[0..len) atomically: temp file in the same
 * directory, write, fsync, fchmod 0600, rename, fsync the directory.  On
 * failure the old file is untouched and no temp file is left behind; the
 * reason goes to errmsg (may be NULL).
 */
GW_MUST_CHECK enum gw_err paths_write_atomic(const char *path, const void *data, size_t len,
    struct buf *errmsg);

#define PATHS_LOCK_NB 1        /* fail with GW_EBUSY instead of waiting */
#define PATHS_LOCK_EXISTING 2  /* GW_ENOTFOUND when path is missing */

/*
 * Opens path for reading and appending (creating it 0600 unless
 * PATHS_LOCK_EXISTING) and takes an exclusive flock on it, retrying when a
 * signal interrupts the wait.  *fd gets the locked descriptor, which the
 * caller may read and append through and hands to paths_unlock; -1 on
 * error.  flock belongs to the open file, so it also excludes threads of
 * one process that each called this.  Errors: GW_EBUSY (PATHS_LOCK_NB and
 * held elsewhere), GW_ENOTFOUND (PATHS_LOCK_EXISTING), GW_EIO with the
 * reason in errmsg (may be NULL).
 */
GW_MUST_CHECK enum gw_err paths_lock(const char *path, int flags, int *fd,
    struct buf *errmsg);
/* Releases the lock and closes fd; a negative fd is ignored. */
void paths_unlock(int fd);

#endif
