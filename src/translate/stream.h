/*
 * Stream translators and the sink they write to.
 *
 * A translator is fed upstream SSE events (event name, data) one at a time
 * and emits client SSE events to a sink.  It does no I/O of its own, so it
 * is tested from fixture files and benchmarked alone.  The relay owns the
 * loop; the passthrough translator is the identity.
 */
#ifndef GW_TR_STREAM_H
#define GW_TR_STREAM_H

#include <stddef.h>

#include "core/stream.h"

/*
 * The identity translator: re-emits every event unchanged.  It watches the
 * data for usage (OpenAI chunks, Responses completion events) and ends a
 * failed stream with an error event in the given dialect.
 */
enum gw_err tr_passthrough_new(enum gw_dialect d, struct tr_stream **out);

#endif
