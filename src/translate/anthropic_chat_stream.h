/*
 * Chat Completions SSE -> Anthropic Messages SSE (translation spec §5),
 * for Anthropic clients whose request went to a Chat upstream.
 *
 * The translator follows translate/stream.h: no I/O, one per request.
 */
#ifndef GW_TR_ANTHROPIC_CHAT_STREAM_H
#define GW_TR_ANTHROPIC_CHAT_STREAM_H

#include "core/err.h"
#include "translate/stream.h"

/*
 * model: the name message_start reports (NULL or "": the upstream chunk's;
 * copied).  Usage lands in t->usage; t->done is set once the message is
 * complete (message_stop sent, or a finish_reason followed by [DONE]).
 * finish() on an unfinished message writes an Anthropic error event.
 * GW_ENOMEM, else GW_OK with *out owned by the caller (tr_stream_free()).
 */
GW_MUST_CHECK enum gw_err tr_chat_stream_new(const char *model, struct tr_stream **out);

#endif
