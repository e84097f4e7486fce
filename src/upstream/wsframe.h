/*
 * The WebSocket wire format (RFC 6455) for the client side, without I/O:
 * the handshake's key and accept values, client frames (always masked),
 * and an incremental decoder of server frames that reassembles
 * fragmented messages and hands control frames out as they come.
 * upstream/ws.c puts it on a connection; tests drive it byte by byte.
 */
#ifndef GW_WSFRAME_H
#define GW_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum wsf_opcode {
	WSF_CONT = 0x0,
	WSF_TEXT = 0x1,
	WSF_BINARY = 0x2,
	WSF_CLOSE = 0x8,
	WSF_PING = 0x9,
	WSF_PONG = 0xA
};

/* Largest message (all its fragments) the decoder accepts: GW_ETOOBIG. */
#define WSF_MAX_MESSAGE ((size_t)16 << 20)

/* "Sec-WebSocket-Key" from 16 random bytes: 24 base64 chars + NUL. */
void wsf_key(const uint8_t nonce[16], char out[25]);

/* The "Sec-WebSocket-Accept" a server must answer to key (RFC 6455
 * section 4.2.2: base64(SHA-1(key + GUID))): 28 chars + NUL. */
void wsf_accept(const char *key, char out[29]);

/*
 * Appends one client frame (FIN set, masked with mask) to out.  Control
 * frames (close, ping, pong) take at most 125 bytes: GW_EINVAL beyond.
 * GW_ENOMEM.
 */
GW_MUST_CHECK enum gw_err wsf_encode(struct buf *out, enum wsf_opcode op,
    const void *payload, size_t n, const uint8_t mask[4]);

/* What the decoder hands out, one at a time. */
struct wsf_event {
	enum wsf_opcode op;          /* TEXT/BINARY: a whole message */
	const char *data;            /* borrowed until the next call; NUL-ended */
	size_t len;
	int close_code;              /* WSF_CLOSE: 1005 when none was sent */
};

struct wsf_decoder {
	struct buf in;               /* bytes not consumed yet */
	size_t pos;
	struct buf msg;              /* the message being reassembled */
	struct buf ctl;              /* the last control payload handed out */
	enum wsf_opcode msg_op;      /* WSF_CONT: no message open */
	int failed;
};

void wsf_decoder_init(struct wsf_decoder *d);
void wsf_decoder_free(struct wsf_decoder *d);

/* Adds n received bytes.  GW_ENOMEM. */
GW_MUST_CHECK enum gw_err wsf_decoder_feed(struct wsf_decoder *d,
    const void *p, size_t n);

/*
 * The next complete message or control frame: GW_OK with *got = 1 and ev
 * filled, or *got = 0 when more bytes are needed.  A frame a server must
 * not send (masked, reserved bits, an unknown opcode, a fragmented or long
 * control frame, a continuation with no message open, a new message inside
 * one) is GW_EUPSTREAM with why in msg (static text); a message past
 * WSF_MAX_MESSAGE is GW_ETOOBIG.  After an error the decoder stays failed.
 */
GW_MUST_CHECK enum gw_err wsf_decoder_next(struct wsf_decoder *d,
    struct wsf_event *ev, int *got, const char **msg);

#endif
