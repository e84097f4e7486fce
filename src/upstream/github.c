/*
 * GitHub calls: device flow, user lookup, Copilot token exchange and
 * copilot_internal/user (contract in github.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/strlist.h"
#include "core/util.h"
#include "state/db.h"
#include "upstream/client.h"
#include "upstream/copilot.h"
#include "upstream/github.h"

/* Headers for github.com's OAuth endpoints. */
static GW_MUST_CHECK enum gw_err
oauth_headers(struct gh *g, struct strlist *h)
{
	enum gw_err e;

	if ((e = strlist_add(h, "Accept: application/json")) != GW_OK ||
	    (e = strlist_add(h, "Content-Type: application/json")) != GW_OK)
		return e;
	if (g->opencode)
		return strlist_add(h, "User-Agent: opencode/" OPENCODE_VERSION);
	return strlist_add(h, "User-Agent: " COPILOT_USER_AGENT);
}

/* Which api.github.com call: /user, or the copilot_internal ones. */
enum api_kind { API_USER, API_INTERNAL };

/*
 * Headers for api.github.com calls made with the GitHub token, as the
 * reference sends them (observed against it): /user asks for GitHub's
 * media type with API version 2022-11-28; copilot_internal/{user,v2/token}
 * carry no Accept and no editor ids, API version 2025-04-01.  The opencode
 * app: a Bearer token, and JSON Accept/Content-Type on copilot_internal.
 */
static GW_MUST_CHECK enum gw_err
api_headers(struct gh *g, const char *tok, enum api_kind kind,
    struct strlist *h)
{
	enum gw_err e;

	if (g->opencode) {
		if ((e = strlist_addf(h, "Authorization: Bearer %s", tok)) != GW_OK)
			return e;
		if (kind == API_INTERNAL &&
		    ((e = strlist_add(h, "Accept: application/json")) != GW_OK ||
		    (e = strlist_add(h, "Content-Type: application/json")) != GW_OK))
			return e;
		return strlist_add(h, "User-Agent: opencode/" OPENCODE_VERSION);
	}
	if (kind == API_USER &&
	    (e = strlist_add(h, "accept: application/vnd.github+json")) != GW_OK)
		return e;
	if ((e = strlist_addf(h, "authorization: token %s", tok)) != GW_OK ||
	    (e = strlist_add(h, "user-agent: " COPILOT_USER_AGENT)) != GW_OK ||
	    (e = strlist_addf(h, "x-github-api-version: %s", kind == API_USER ?
	    "2022-11-28" : COPILOT_GH_API_VERSION)) != GW_OK)
		return e;
	return strlist_add(h, "x-vscode-user-agent-library-version: electron-fetch");
}

/* One call; the response body is parsed as JSON when it is 2xx. */
static GW_MUST_CHECK enum gw_err
call(struct gh *g, const char *method, const char *url, struct strlist *h,
    const char *body, struct up_response *resp, struct buf *errmsg)
{
	struct up_request rq;
	enum gw_err e;

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.url = url;
	rq.headers = strlist_view(h);
	rq.body = body;
	rq.body_len = body != NULL ? strlen(body) : 0;
	rq.connect_timeout_s = g->connect_timeout_s > 0 ? g->connect_timeout_s : 10;
	rq.stall_timeout_s = 60;
	rq.connect_retries = 2;
	e = up_perform(g->client, &rq, resp);
	/* best effort: e is returned whatever the message says */
	if (e != GW_OK && errmsg != NULL)
		GW_IGNORE(buf_printf(errmsg, "%s %s: %s", method, url,
		    gw_strerror(e)));
	return e;
}

static GW_MUST_CHECK enum gw_err
url_join(struct buf *u, const char *base, const char *path)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	buf_reset(u);
	if (buf_append(u, base, n) != GW_OK)
		return GW_ENOMEM;
	return buf_puts(u, path);
}

/* A short, single-line excerpt of an upstream body for messages.  Best
 * effort: the caller's outcome is decided whatever the message says (so
 * are the buf_puts that open each message below). */
static void
excerpt(struct buf *errmsg, const struct up_response *r)
{
	GW_IGNORE(buf_printf(errmsg, "HTTP %ld: %.300s", r->status,
	    buf_cstr(&r->body)));
}

enum gw_err
gh_device_start(struct gh *g, struct gh_device *out, struct buf *errmsg)
{
	struct strlist h = STRLIST_INIT;
	struct up_response r;
	struct buf url = BUF_INIT, body = BUF_INIT;
	cJSON *v = NULL;
	enum gw_err e;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	if ((e = oauth_headers(g, &h)) != GW_OK ||
	    (e = url_join(&url, g->github_url, "/login/device/code")) != GW_OK ||
	    (e = buf_printf(&body, "{\"client_id\":\"%s\",\"scope\":\"read:user\"}",
	    g->opencode ? GH_CLIENT_ID_OPENCODE : GH_CLIENT_ID_DEFAULT)) != GW_OK)
		goto out;
	if ((e = call(g, "POST", url.data, &h, body.data, &r, errmsg)) != GW_OK)
		goto out;
	e = GW_EUPSTREAM;
	if (r.status / 100 != 2) {
		GW_IGNORE(buf_puts(errmsg, "device code request failed: "));
		excerpt(errmsg, &r);
		goto out;
	}
	v = json_parse(r.body.data, r.body.len, NULL, NULL);
	if (v == NULL || json_str(v, "device_code") == NULL ||
	    json_str(v, "user_code") == NULL ||
	    json_str(v, "verification_uri") == NULL) {
		GW_IGNORE(buf_puts(errmsg,
		    "device code response is missing fields: "));
		excerpt(errmsg, &r);
		goto out;
	}
	out->device_code = strdup(json_str(v, "device_code"));
	out->user_code = strdup(json_str(v, "user_code"));
	out->verification_uri = strdup(json_str(v, "verification_uri"));
	out->expires_in = (long)json_num(v, "expires_in", 900);
	out->interval = (long)json_num(v, "interval", 5);
	e = out->device_code && out->user_code && out->verification_uri ?
	    GW_OK : GW_ENOMEM;
out:
	cJSON_Delete(v);
	up_response_free(&r);
	strlist_free(&h);
	buf_free(&url);
	buf_free(&body);
	if (e != GW_OK)
		gh_device_free(out);
	return e;
}

void
gh_device_free(struct gh_device *d)
{
	if (d == NULL)
		return;
	free(d->device_code);
	free(d->user_code);
	free(d->verification_uri);
	memset(d, 0, sizeof(*d));
}

enum gw_err
gh_device_poll(struct gh *g, const struct gh_device *d, enum gh_poll *state,
    char **token, long *new_interval, struct buf *errmsg)
{
	struct strlist h = STRLIST_INIT;
	struct up_response r;
	struct buf url = BUF_INIT, body = BUF_INIT;
	const char *err, *tok;
	cJSON *v = NULL;
	enum gw_err e;

	*token = NULL;
	*state = GH_POLL_ERROR;
	memset(&r, 0, sizeof(r));
	if ((e = oauth_headers(g, &h)) != GW_OK ||
	    (e = url_join(&url, g->github_url, "/login/oauth/access_token")) != GW_OK ||
	    (e = buf_printf(&body, "{\"client_id\":\"%s\",\"device_code\":\"%s\","
	    "\"grant_type\":\"urn:ietf:params:oauth:grant-type:device_code\"}",
	    g->opencode ? GH_CLIENT_ID_OPENCODE : GH_CLIENT_ID_DEFAULT,
	    d->device_code)) != GW_OK)
		goto out;
	if ((e = call(g, "POST", url.data, &h, body.data, &r, errmsg)) != GW_OK) {
		/* A network hiccup while polling is not fatal: poll again. */
		*state = GH_POLL_PENDING;
		e = GW_OK;
		goto out;
	}
	v = json_parse(r.body.data, r.body.len, NULL, NULL);
	if (r.status / 100 != 2 || v == NULL) {
		*state = r.status >= 500 ? GH_POLL_PENDING : GH_POLL_ERROR;
		excerpt(errmsg, &r);
		goto out;
	}
	if ((tok = json_str(v, "access_token")) != NULL && *tok != '\0') {
		if ((*token = util_strndup_trim(tok, strlen(tok))) == NULL)
			e = GW_ENOMEM;
		*state = GH_POLL_TOKEN;
		goto out;
	}
	err = json_str(v, "error");
	if (err == NULL)
		err = "";
	if (strcmp(err, "authorization_pending") == 0)
		*state = GH_POLL_PENDING;
	else if (strcmp(err, "slow_down") == 0) {
		*state = GH_POLL_SLOW_DOWN;
		*new_interval = (long)json_num(v, "interval", 0);
	} else if (strcmp(err, "expired_token") == 0)
		*state = GH_POLL_EXPIRED;
	else if (strcmp(err, "access_denied") == 0)
		*state = GH_POLL_DENIED;
	else {
		/* best effort: GH_POLL_ERROR whatever the message says */
		GW_IGNORE(buf_printf(errmsg, "%s: %s",
		    *err ? err : "unexpected response",
		    json_str(v, "error_description") ?
		    json_str(v, "error_description") : buf_cstr(&r.body)));
	}
out:
	cJSON_Delete(v);
	up_response_free(&r);
	strlist_free(&h);
	buf_free(&url);
	buf_free(&body);
	return e;
}

/* GET on api.github.com with the GitHub token; the body stays in r. */
static GW_MUST_CHECK enum gw_err
api_get(struct gh *g, const char *path, const char *tok, enum api_kind kind,
    struct up_response *r, struct buf *errmsg)
{
	struct strlist h = STRLIST_INIT;
	struct buf url = BUF_INIT;
	enum gw_err e;

	if ((e = api_headers(g, tok, kind, &h)) == GW_OK &&
	    (e = url_join(&url, g->api_url, path)) == GW_OK)
		e = call(g, "GET", url.data, &h, NULL, r, errmsg);
	strlist_free(&h);
	buf_free(&url);
	return e;
}

enum gw_err
gh_user_login(struct gh *g, const char *gh_token, char **login,
    struct buf *errmsg)
{
	struct up_response r;
	cJSON *v = NULL;
	enum gw_err e;

	*login = NULL;
	memset(&r, 0, sizeof(r));
	if ((e = api_get(g, "/user", gh_token, API_USER, &r, errmsg)) != GW_OK)
		goto out;
	if (r.status == 401 || r.status == 403) {
		e = GW_EAUTH;
		GW_IGNORE(buf_puts(errmsg, "GitHub rejected the token: "));
		excerpt(errmsg, &r);
		goto out;
	}
	v = json_parse(r.body.data, r.body.len, NULL, NULL);
	if (r.status / 100 != 2 || json_str(v, "login") == NULL) {
		e = GW_EUPSTREAM;
		GW_IGNORE(buf_puts(errmsg, "GitHub /user failed: "));
		excerpt(errmsg, &r);
		goto out;
	}
	e = (*login = strdup(json_str(v, "login"))) ? GW_OK : GW_ENOMEM;
out:
	cJSON_Delete(v);
	up_response_free(&r);
	return e;
}

enum gw_err
gh_copilot_token(struct gh *g, const char *gh_token,
    struct db_copilot_token *out, struct buf *errmsg)
{
	struct up_response r;
	const char *api;
	cJSON *v = NULL;
	enum gw_err e;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	if ((e = api_get(g, "/copilot_internal/v2/token", gh_token,
	    API_INTERNAL, &r, errmsg)) != GW_OK)
		goto out;
	v = json_parse(r.body.data, r.body.len, NULL, NULL);
	if (r.status == 401 || r.status == 403 || r.status == 404) {
		/* 404: the account has no Copilot seat or the token is a PAT. */
		e = GW_EAUTH;
		GW_IGNORE(buf_puts(errmsg, "Copilot token exchange refused: "));
		excerpt(errmsg, &r);
		goto out;
	}
	if (r.status / 100 != 2 || json_str(v, "token") == NULL) {
		e = GW_EUPSTREAM;
		GW_IGNORE(buf_puts(errmsg, "Copilot token exchange failed: "));
		excerpt(errmsg, &r);
		goto out;
	}
	out->token = strdup(json_str(v, "token"));
	out->expires_at = (int64_t)json_num(v, "expires_at", 0);
	out->refresh_in = (int64_t)json_num(v, "refresh_in", 1500);
	out->fetched_at = util_now_ms() / 1000;
	if (out->expires_at <= 0)
		out->expires_at = out->fetched_at + out->refresh_in + 60;
	api = json_str(json_obj(v, "endpoints"), "api");
	if (api != NULL && *api != '\0')
		out->api_url = strdup(api);
	e = out->token != NULL ? GW_OK : GW_ENOMEM;
out:
	cJSON_Delete(v);
	up_response_free(&r);
	if (e != GW_OK)
		db_copilot_token_free(out);
	return e;
}

enum gw_err
gh_copilot_user(struct gh *g, const char *gh_token, long *status,
    struct buf *body, struct buf *errmsg)
{
	struct up_response r;
	enum gw_err e;

	memset(&r, 0, sizeof(r));
	if ((e = api_get(g, "/copilot_internal/user", gh_token,
	    API_INTERNAL, &r, errmsg)) == GW_OK) {
		*status = r.status;
		e = buf_append(body, buf_cstr(&r.body), r.body.len);
	}
	up_response_free(&r);
	return e;
}
