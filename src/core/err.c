/* The error enum's messages. */
#include "core/err.h"

static const char *const names[GW_ERR__MAX] = {
	[GW_OK] = "ok",
	[GW_ENOMEM] = "out of memory",
	[GW_EINVAL] = "invalid argument",
	[GW_EIO] = "I/O error",
	[GW_ENOTFOUND] = "not found",
	[GW_ETOOBIG] = "too large",
	[GW_EAUTH] = "authentication failed",
	[GW_ECONFIG] = "configuration error",
	[GW_EDB] = "database error",
	[GW_EBUSY] = "database busy",
	[GW_ECONNECT] = "could not connect to upstream",
	[GW_EUPSTREAM] = "upstream error",
	[GW_ETIMEOUT] = "upstream timed out",
	[GW_ECLIENTGONE] = "client left",
	[GW_ECANCELLED] = "cancelled",
	[GW_EINTERNAL] = "internal error",
	[GW_EDBDOWN] = "database unreachable",
};

const char *
gw_strerror(enum gw_err e)
{
	if ((unsigned)e >= GW_ERR__MAX)
		return "unknown error";
	return names[e];
}

int
gw_http_status(enum gw_err e)
{
	switch (e) {
	case GW_EINVAL:      return 400;
	case GW_ENOTFOUND:   return 404;
	case GW_ETOOBIG:     return 413;
	case GW_ECLIENTGONE: return 499;
	case GW_ECONNECT:    return 502;
	case GW_EUPSTREAM:   return 502;
	case GW_EAUTH:       return 503;
	case GW_EBUSY:       return 503;
	case GW_EDBDOWN:     return 503;
	case GW_ETIMEOUT:    return 504;
	default:             return 500;
	}
}
