/*
 * Files shipped in share/ (the tokenizer tables, the usage viewer page),
 * found the same way by every part of the gateway.
 */
#ifndef GW_SHARE_H
#define GW_SHARE_H

#include "core/buf.h"
#include "core/err.h"

/*
 * The path of <share>/<rel> into *path (reset first): <share> is
 * $COPILOT_API_SHARE_DIR alone when set; else the first candidate where
 * the file exists among <exe dir>/../../share, <exe dir>/../share (each
 * also with a copilot-api/ subdirectory, the install layout) and
 * GW_SHAREDIR.  GW_ENOTFOUND when none has it (*path then holds the last
 * candidate); every candidate tried is appended to *tried, ", "-separated,
 * for the caller's error message.
 */
GW_MUST_CHECK enum gw_err share_find(const char *rel, struct buf *path, struct buf *tried);

/* The whole of <share>/<rel> (found by share_find) appended to *out.
 * GW_ENOTFOUND as share_find; GW_EIO when it is there but unreadable. */
GW_MUST_CHECK enum gw_err share_read(const char *rel, struct buf *out, struct buf *tried);

#endif
