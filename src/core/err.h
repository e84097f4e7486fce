/* One error enum for the whole codebase. */
#ifndef GW_ERR_H
#define GW_ERR_H

enum gw_err {
	GW_OK = 0,
	GW_ENOMEM,       /* allocation failed */
	GW_EINVAL,       /* bad input from a client or a caller */
	GW_EIO,          /* local I/O (file, socket) failed */
	GW_ENOTFOUND,    /* no such thing (file, row, route, model) */
	GW_ETOOBIG,      /* over a configured size limit */
	GW_EAUTH,        /* missing or wrong credentials */
	GW_ECONFIG,      /* config.json unreadable or invalid */
	GW_EDB,          /* database failure */
	GW_EBUSY,        /* database locked past the busy timeout */
	GW_ECONNECT,     /* could not reach an upstream (DNS, connect, TLS) */
	GW_EUPSTREAM,    /* upstream answered with an error or garbage */
	GW_ETIMEOUT,     /* upstream stalled past the stall guard */
	GW_ECLIENTGONE,  /* the client disconnected: writes fail */
	GW_ECANCELLED,   /* stopped on purpose (shutdown, user) */
	GW_EINTERNAL,    /* a bug: an invariant did not hold */
	GW_EDBDOWN,      /* database server unreachable (refused, timed out, lost) */
	GW_ERR__MAX
};

const char *gw_strerror(enum gw_err e);

/*
 * The one mapping from a gateway failure that has no upstream status to the
 * HTTP status the client gets: EINVAL 400, ENOTFOUND 404, ETOOBIG 413,
 * ECLIENTGONE 499 (nobody reads it: for the usage row), ECONNECT and
 * EUPSTREAM 502, EAUTH (the gateway is not signed in), EBUSY and EDBDOWN 503,
 * ETIMEOUT 504, anything else 500.
 */
int gw_http_status(enum gw_err e);

/*
 * Every function returning enum gw_err carries GW_MUST_CHECK: a result
 * dropped by accident does not compile.  A result dropped on purpose goes
 * through GW_IGNORE, with a comment saying why (gcc does not accept a
 * plain (void) cast for warn_unused_result).
 */
#define GW_MUST_CHECK __attribute__((warn_unused_result))
#define GW_IGNORE(call) ((void)((call) == GW_OK))

#endif
