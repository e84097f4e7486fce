/*
 * GitHub: device-flow sign-in, the user lookup, the Copilot token exchange
 * and copilot_internal/user (spec/surface.md §3).
 */
#ifndef GW_GITHUB_H
#define GW_GITHUB_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct up_client;
struct db_copilot_token;

#define GH_CLIENT_ID_DEFAULT  "Iv1.b507a08c87ecfe98"
#define GH_CLIENT_ID_OPENCODE "Ov23li8tweQw6odWQebz"

struct gh {
	struct up_client *client;
	const char *github_url;      /* https://github.com or the enterprise */
	const char *api_url;         /* https://api.github.com */
	int opencode;                /* the opencode OAuth app */
	long connect_timeout_s;
};

struct gh_device {
	char *device_code;
	char *user_code;
	char *verification_uri;
	long expires_in;
	long interval;
};

enum gh_poll {
	GH_POLL_TOKEN,       /* got the access token */
	GH_POLL_PENDING,     /* authorization_pending: keep polling */
	GH_POLL_SLOW_DOWN,   /* slow_down: interval grows by 5 s */
	GH_POLL_EXPIRED,     /* expired_token: start again */
	GH_POLL_DENIED,      /* access_denied: the user said no */
	GH_POLL_ERROR,       /* anything else: message says what */
};

GW_MUST_CHECK enum gw_err gh_device_start(struct gh *g, struct gh_device *out,
    struct buf *errmsg);
void gh_device_free(struct gh_device *d);
/* One poll of the token endpoint.  *token is set for GH_POLL_TOKEN. */
GW_MUST_CHECK enum gw_err gh_device_poll(struct gh *g, const struct gh_device *d,
    enum gh_poll *state, char **token, long *new_interval, struct buf *errmsg);
/* GET /user: login name; GW_EAUTH when GitHub rejects the token. */
GW_MUST_CHECK enum gw_err gh_user_login(struct gh *g, const char *gh_token, char **login,
    struct buf *errmsg);
/* GET /copilot_internal/v2/token; fetched_at is now, api_url is
 * endpoints.api when present. */
GW_MUST_CHECK enum gw_err gh_copilot_token(struct gh *g, const char *gh_token,
    struct db_copilot_token *out, struct buf *errmsg);
/* GET /copilot_internal/user: the raw JSON body (status kept). */
GW_MUST_CHECK enum gw_err gh_copilot_user(struct gh *g, const char *gh_token, long *status,
    struct buf *body, struct buf *errmsg);

#endif
