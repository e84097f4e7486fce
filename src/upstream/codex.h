/*
 * The built-in codex provider's side of the wire: the OpenAI OAuth sign-in
 * (authorization code with PKCE, as the Codex CLI does it), the account id
 * read from the access token, the credentials in the database, the token
 * refreshed when due (one refresher at a time across threads and
 * processes: an flock, as for the Copilot token), and the URL and headers
 * of a call to the Codex Responses backend.
 *
 * The credentials are secrets: nothing here logs them (fingerprints only).
 * Functions on caller-owned objects are safe from any thread.
 */
#ifndef GW_CODEX_H
#define GW_CODEX_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strlist.h"

struct db;
struct up_client;

#define CODEX_CLIENT_ID "app_EMoamEEZ73f0CkXaXp7hrann"
#define CODEX_AUTH_URL_DEFAULT "https://auth.openai.com"
#define CODEX_API_URL_DEFAULT "https://chatgpt.com/backend-api"
/* How long a refresh waits for another host's (PostgreSQL's lock; the
 * flock waits without bound). */
#define CODEX_LOCK_WAIT_MS 20000
#define CODEX_CALLBACK_PORT 1455
#define CODEX_CALLBACK_PATH "/auth/callback"
#define CODEX_REDIRECT_URI "http://localhost:1455/auth/callback"

/* What the database holds (key "codex_credentials", a JSON object). */
struct codex_creds {
	char *access_token;
	char *refresh_token;
	char *account_id;
	int64_t expires_at_ms;
};

/* Frees the strings and zeroes c; NULL is fine. */
void codex_creds_free(struct codex_creds *c);

/* One sign-in attempt: the PKCE verifier, its S256 challenge and the
 * state, all base64url / hex from the CSPRNG (GW_EIO when it fails). */
struct codex_pkce {
	char verifier[44];
	char challenge[44];
	char state[33];
};
GW_MUST_CHECK enum gw_err codex_pkce_new(struct codex_pkce *out);

/* The authorize URL the user opens: auth_base (NULL: OpenAI's) +
 * /oauth/authorize with the reference's parameters. */
GW_MUST_CHECK enum gw_err codex_authorize_url(const char *auth_base,
    const struct codex_pkce *p, struct buf *out);

/*
 * What the user pasted: a redirect URL, "code#state", a query string
 * holding code=, or the bare code.  *code and *state are new (NULL when
 * absent); GW_ENOMEM only.
 */
GW_MUST_CHECK enum gw_err codex_parse_input(const char *input, char **code,
    char **state);

/*
 * The token endpoint: the authorization code (with the PKCE verifier)
 * exchanged for credentials, the account id (chatgpt_account_id of the JWT
 * claim "https://api.openai.com/auth") included.
 * GW_EAUTH when the server refuses (errmsg: "Codex token exchange failed
 * (400): <its message>"; codex_token's refresh says "refresh"), GW_EUPSTREAM for an answer without the fields,
 * transport errors as up_perform.  out is the caller's to free.
 */
GW_MUST_CHECK enum gw_err codex_exchange_code(struct up_client *c,
    const char *auth_base, const char *code, const char *verifier,
    struct codex_creds *out, struct buf *errmsg);

/* The stored credentials (GW_ENOTFOUND: not signed in; GW_EDB for a row
 * that does not parse) and storing them. */
GW_MUST_CHECK enum gw_err codex_creds_load(struct db *db, struct codex_creds *out);
GW_MUST_CHECK enum gw_err codex_creds_store(struct db *db,
    const struct codex_creds *c);

struct codex_env {
	struct db *db;
	struct up_client *client;
	const char *auth_base;       /* NULL: OpenAI's */
	const char *lock_path;       /* <home>/codex-token.lock (sqlite; on
	                              * PostgreSQL an advisory lock) */
	int64_t lead_ms;             /* refresh this long before expiry;
	                              * 0: a minute, as the reference */
	int force;                   /* refresh whatever the expiry */
	int show_token;              /* --show-token: print a refreshed access
	                              * token on stderr (the reference's
	                              * "Codex access token: …") */
};

/*
 * Usable credentials: the stored ones unless they expire within
 * env->lead_ms, env->force is set, or their access token is stale (the one the backend just refused with
 * 401, NULL otherwise); then refreshed and stored under the lock, where a
 * worker that waited finds what the first one stored.  GW_ENOTFOUND when
 * not signed in; GW_EAUTH when the refresh is refused (errmsg says so and
 * how to sign in again); others as codex_refresh.
 */
GW_MUST_CHECK enum gw_err codex_token(struct codex_env *env, const char *stale,
    struct codex_creds *out, struct buf *errmsg);

/* {base}/codex/responses, unless base already ends with /codex/responses
 * or /codex (the reference's resolveCodexResponsesUrl). */
GW_MUST_CHECK enum gw_err codex_responses_url(const char *base, struct buf *out);

/* The OpenAI-Beta an HTTP call sends unless the client sent one (1.10.10;
 * the WebSocket upgrade sends CODEX_WS_BETA instead, as 1.14.7 does). */
#define CODEX_HTTP_BETA "OpenAI-Beta: responses=experimental"
#define CODEX_WS_BETA "openai-beta: responses_websockets=2026-02-06"

/*
 * The backend call's headers: the client's (name/value pairs, nclient of
 * them) minus authorization, x-api-key, the hop-by-hop ones,
 * content-length, accept-encoding, accept, what a proxy adds (cf-*,
 * cdn-loop, true-client-ip, x-forwarded-for, x-forwarded-proto) and any
 * name containing "trace"; then what the reference adds: accept:
 * text/event-stream (the backend answers only streams), authorization:
 * Bearer, chatgpt-account-id, content-type, originator and user-agent
 * unless sent (originator "opencode" and session-id = session for an
 * opencode user-agent).  GW_EINVAL for a value with a line break (errmsg
 * names it).
 */
GW_MUST_CHECK enum gw_err codex_headers(const struct codex_creds *c,
    const char *const *client, size_t nclient, const char *session,
    struct strlist *out, struct buf *errmsg);

/*
 * The Codex backend's model list (1.14.7's forwardCodexModels): its URL,
 * {base}/codex/models for the same bases as codex_responses_url, and its
 * headers, codex_headers' but with the client's accept kept (else
 * application/json) and no content-type or OpenAI-Beta.
 */
GW_MUST_CHECK enum gw_err codex_models_url(const char *base, struct buf *out);
GW_MUST_CHECK enum gw_err codex_models_headers(const struct codex_creds *c,
    const char *const *client, size_t nclient, const char *session,
    struct strlist *out, struct buf *errmsg);

/*
 * The Images backend's headers (POST /v1/images/generations and edits,
 * 1.14.7): as codex_headers but the client's accept is kept (default
 * application/json), and content-type application/json is added only
 * when json (generations) and the client sent none; an upload without one
 * gets none (not libcurl's form type).  Errors as codex_headers.
 */
GW_MUST_CHECK enum gw_err codex_images_headers(const struct codex_creds *c,
    const char *const *client, size_t nclient, const char *session, int json,
    struct strlist *out, struct buf *errmsg);
/* {base}/codex/images/{operation}[?query]: base without a /codex/responses
 * or /codex ending (NULL or "": the default backend); query is the
 * client's, raw (NULL or "": none).  GW_ENOMEM only. */
GW_MUST_CHECK enum gw_err codex_images_url(const char *base,
    const char *operation, const char *query, struct buf *out);
/* {base}/codex/alpha/search[?query], the bases and query as
 * codex_images_url (1.14.7's resolveCodexAlphaSearchUrl, a23edf6); its
 * headers are codex_images_headers' with json set.  GW_ENOMEM only. */
GW_MUST_CHECK enum gw_err codex_alpha_search_url(const char *base,
    const char *query, struct buf *out);
#endif
