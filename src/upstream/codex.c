/*
 * The codex provider's OAuth sign-in, credentials and backend request
 * shape (contract in codex.h; the reference's src/lib/oauth/codex.ts and
 * src/services/codex/create-responses.ts).
 */
#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "state/db.h"
#include "upstream/client.h"
#include "upstream/codex.h"

#define CODEX_DB_KEY "codex_credentials"
#define CODEX_CLAIM "https://api.openai.com/auth"
#define CODEX_SCOPE "openid profile email offline_access"
#define REFRESH_LEAD_MS 60000

void
codex_creds_free(struct codex_creds *c)
{
	if (c == NULL)
		return;
	free(c->access_token);
	free(c->refresh_token);
	free(c->account_id);
	memset(c, 0, sizeof(*c));
}

/* ---- encodings ----------------------------------------------------------- */

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding; out holds 4 * ceil(n / 3) + 1 bytes. */
static void
b64url_encode(const uint8_t *p, size_t n, char *out)
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
		out[o++] = b64url_chars[v >> 6 & 63];
		out[o++] = b64url_chars[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
		out[o++] = b64url_chars[v >> 6 & 63];
	}
	out[o] = '\0';
}

static int
b64_value(char c)
{
	const char *p;

	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	p = c != '\0' ? strchr(b64url_chars, c) : NULL;
	return p != NULL ? (int)(p - b64url_chars) : -1;
}

/* base64 or base64url, padding optional: GW_EINVAL for anything else. */
static GW_MUST_CHECK enum gw_err
b64_decode(const char *s, size_t n, struct buf *out)
{
	uint32_t acc = 0;
	int bits = 0, v;
	size_t i;
	enum gw_err e;

	for (i = 0; i < n; i++) {
		if (s[i] == '=')
			break;
		if ((v = b64_value(s[i])) < 0)
			return GW_EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if ((e = buf_putc(out, (char)(acc >> bits & 0xff))) != GW_OK)
				return e;
		}
	}
	return GW_OK;
}

/* application/x-www-form-urlencoded (and query) escaping of s. */
static GW_MUST_CHECK enum gw_err
form_escape(struct buf *b, const char *s)
{
	enum gw_err e = GW_OK;

	for (; *s != '\0' && e == GW_OK; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			e = buf_putc(b, (char)c);
		else
			e = buf_printf(b, "%%%02X", c);
	}
	return e;
}

/* name=value pairs (NULL-terminated list), escaped, joined with '&'. */
static GW_MUST_CHECK enum gw_err
form(struct buf *b, const char *const *kv)
{
	enum gw_err e = GW_OK;
	size_t i;

	for (i = 0; kv[i] != NULL && e == GW_OK; i += 2) {
		if (i > 0)
			e = buf_putc(b, '&');
		if (e == GW_OK)
			e = buf_printf(b, "%s=", kv[i]);
		if (e == GW_OK)
			e = form_escape(b, kv[i + 1]);
	}
	return e;
}

/* ---- the sign-in ---------------------------------------------------------- */

enum gw_err
codex_pkce_new(struct codex_pkce *out)
{
	uint8_t raw[32], digest[SHA256_LEN], st[16];
	size_t i;
	enum gw_err e;

	memset(out, 0, sizeof(*out));
	if ((e = util_random(raw, sizeof(raw))) != GW_OK ||
	    (e = util_random(st, sizeof(st))) != GW_OK)
		return e;
	b64url_encode(raw, sizeof(raw), out->verifier);
	util_sha256(out->verifier, strlen(out->verifier), digest);
	b64url_encode(digest, sizeof(digest), out->challenge);
	for (i = 0; i < sizeof(st); i++) {
		out->state[2 * i] = UTIL_ID_HEX[st[i] >> 4];
		out->state[2 * i + 1] = UTIL_ID_HEX[st[i] & 15];
	}
	return GW_OK;
}

static const char *
auth_base(const char *base)
{
	return base != NULL && *base != '\0' ? base : CODEX_AUTH_URL_DEFAULT;
}

enum gw_err
codex_authorize_url(const char *base, const struct codex_pkce *p,
    struct buf *out)
{
	const char *kv[] = {
		"response_type", "code",
		"client_id", CODEX_CLIENT_ID,
		"redirect_uri", CODEX_REDIRECT_URI,
		"scope", CODEX_SCOPE,
		"code_challenge", p->challenge,
		"code_challenge_method", "S256",
		"state", p->state,
		"id_token_add_organizations", "true",
		"codex_cli_simplified_flow", "true",
		"originator", "copilot-api",
		NULL,
	};
	enum gw_err e;

	if ((e = buf_printf(out, "%s/oauth/authorize?", auth_base(base))) != GW_OK)
		return e;
	return form(out, kv);
}

/* Percent-decoding of s[0..n) ('+' is a space), new. */
static char *
unescape(const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;
	unsigned int c;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1])
		    && isxdigit((unsigned char)s[i + 2]) &&
		    sscanf(s + i + 1, "%2x", &c) == 1) {
			if (buf_putc(&b, (char)c) != GW_OK)
				goto fail;
			i += 2;
		} else if (buf_putc(&b, s[i] == '+' ? ' ' : s[i]) != GW_OK)
			goto fail;
	}
	if (buf_putc(&b, '\0') != GW_OK)
		goto fail;
	return buf_detach(&b);
fail:
	buf_free(&b);
	return NULL;
}

/* The value of name in a query string q (new), NULL when absent. */
static GW_MUST_CHECK enum gw_err
query_get(const char *q, const char *name, char **out)
{
	size_t nl = strlen(name), len;
	const char *end;

	*out = NULL;
	while (q != NULL && *q != '\0') {
		end = strchr(q, '&');
		len = end != NULL ? (size_t)(end - q) : strlen(q);
		if (len > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
			*out = unescape(q + nl + 1, len - nl - 1);
			return *out != NULL ? GW_OK : GW_ENOMEM;
		}
		q = end != NULL ? end + 1 : NULL;
	}
	return GW_OK;
}

enum gw_err
codex_parse_input(const char *input, char **code, char **state)
{
	char *v = util_strndup_trim(input, strlen(input));
	const char *q, *hash;
	enum gw_err e = GW_OK;

	*code = *state = NULL;
	if (v == NULL)
		return GW_ENOMEM;
	if (*v == '\0')
		goto out;
	if (strstr(v, "://") != NULL) {
		/* a URL: its query (before any fragment) */
		q = strchr(v, '?');
		if ((hash = strchr(v, '#')) != NULL)
			v[hash - v] = '\0';
		if (q != NULL && (e = query_get(q + 1, "code", code)) == GW_OK)
			e = query_get(q + 1, "state", state);
	} else if ((hash = strchr(v, '#')) != NULL) {
		if ((*code = strndup(v, (size_t)(hash - v))) == NULL ||
		    (*state = strdup(hash + 1)) == NULL)
			e = GW_ENOMEM;
	} else if (strstr(v, "code=") != NULL) {
		if ((e = query_get(v, "code", code)) == GW_OK)
			e = query_get(v, "state", state);
	} else if ((*code = strdup(v)) == NULL)
		e = GW_ENOMEM;
out:
	free(v);
	if (e != GW_OK) {
		free(*code);
		free(*state);
		*code = *state = NULL;
	}
	return e;
}

/* chatgpt_account_id of the claim; GW_ENOTFOUND when there is none. */
static GW_MUST_CHECK enum gw_err
codex_account_id(const char *jwt, char **out)
{
	struct buf raw = BUF_INIT;
	const char *a, *b;
	const char *id;
	cJSON *v = NULL;
	enum gw_err e = GW_ENOTFOUND;

	*out = NULL;
	if (jwt == NULL || (a = strchr(jwt, '.')) == NULL ||
	    (b = strchr(a + 1, '.')) == NULL)
		return GW_ENOTFOUND;
	if (b64_decode(a + 1, (size_t)(b - a - 1), &raw) != GW_OK ||
	    (v = json_parse(raw.data, raw.len, NULL, NULL)) == NULL)
		goto out;
	id = json_str(json_obj(v, CODEX_CLAIM), "chatgpt_account_id");
	if (id != NULL && *id != '\0')
		e = (*out = strdup(id)) != NULL ? GW_OK : GW_ENOMEM;
out:
	cJSON_Delete(v);
	buf_free(&raw);
	return e;
}

/* The OAuth server's own words from an error body: error.message,
 * error_description, or a string error; else the body itself. */
static void
oauth_error(const struct up_response *r, const char *what, struct buf *errmsg)
{
	cJSON *v = json_parse(r->body.data, r->body.len, NULL, NULL);
	const cJSON *err = json_obj(v, "error");
	const char *m = json_str(err, "message");

	if (m == NULL)
		m = json_str(v, "error_description");
	if (m == NULL && cJSON_IsString(cJSON_GetObjectItem(v, "error")))
		m = cJSON_GetObjectItem(v, "error")->valuestring;
	/* best effort: the caller returns its error whatever this says */
	GW_IGNORE(buf_printf(errmsg, "Codex token %s failed (%ld): %s", what,
	    r->status, m != NULL ? m : r->body.len > 0 ? buf_cstr(&r->body) :
	    "no reason given"));
	cJSON_Delete(v);
}

/* POST {base}/oauth/token with the form; the answer as credentials. */
static GW_MUST_CHECK enum gw_err
token_call(struct up_client *c, const char *base, const char *const *kv,
    const char *what, struct codex_creds *out, struct buf *errmsg)
{
	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json", NULL,
	};
	struct buf url = BUF_INIT, body = BUF_INIT;
	struct up_request ur;
	struct up_response r;
	const char *at, *rt;
	cJSON *v = NULL;
	double expires_in;
	enum gw_err e;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	memset(&ur, 0, sizeof(ur));
	if ((e = buf_printf(&url, "%s/oauth/token", auth_base(base))) != GW_OK ||
	    (e = form(&body, kv)) != GW_OK)
		goto out;
	ur.method = "POST";
	ur.url = url.data;
	ur.headers = headers;
	ur.body = body.data;
	ur.body_len = body.len;
	if ((e = up_perform(c, &ur, &r)) != GW_OK) {
		GW_IGNORE(buf_printf(errmsg, "Codex token %s failed: %s", what,
		    up_error_message(&r)));
		goto out;
	}
	if (r.status / 100 != 2) {
		oauth_error(&r, what, errmsg);
		e = GW_EAUTH;
		goto out;
	}
	v = json_parse(r.body.data, r.body.len, NULL, NULL);
	at = json_str(v, "access_token");
	rt = json_str(v, "refresh_token");
	expires_in = json_num(v, "expires_in", -1);
	if (at == NULL || rt == NULL ||
	    !cJSON_IsNumber(cJSON_GetObjectItem(v, "expires_in"))) {
		GW_IGNORE(buf_printf(errmsg, "Codex token %s response missing "
		    "fields", what));
		e = GW_EUPSTREAM;
		goto out;
	}
	if ((out->access_token = strdup(at)) == NULL ||
	    (out->refresh_token = strdup(rt)) == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	out->expires_at_ms = util_now_ms() + (int64_t)(expires_in * 1000);
	if ((e = codex_account_id(at, &out->account_id)) == GW_ENOTFOUND) {
		GW_IGNORE(buf_puts(errmsg, "Failed to extract Codex account id "
		    "from access token"));
		e = GW_EUPSTREAM;
	}
out:
	if (e != GW_OK)
		codex_creds_free(out);
	cJSON_Delete(v);
	up_response_free(&r);
	buf_free(&url);
	buf_free(&body);
	return e;
}

enum gw_err
codex_exchange_code(struct up_client *c, const char *base, const char *code,
    const char *verifier, struct codex_creds *out, struct buf *errmsg)
{
	const char *kv[] = {
		"grant_type", "authorization_code",
		"client_id", CODEX_CLIENT_ID,
		"code", code,
		"code_verifier", verifier,
		"redirect_uri", CODEX_REDIRECT_URI,
		NULL,
	};

	return token_call(c, base, kv, "exchange", out, errmsg);
}

static GW_MUST_CHECK enum gw_err
codex_refresh(struct up_client *c, const char *base, const char *refresh_token,
    struct codex_creds *out, struct buf *errmsg)
{
	const char *kv[] = {
		"grant_type", "refresh_token",
		"refresh_token", refresh_token,
		"client_id", CODEX_CLIENT_ID,
		NULL,
	};

	return token_call(c, base, kv, "refresh", out, errmsg);
}

/* ---- storage and the refresh ---------------------------------------------- */

enum gw_err
codex_creds_load(struct db *db, struct codex_creds *out)
{
	char *raw = NULL;
	cJSON *v = NULL;
	const char *at, *rt, *id;
	enum gw_err e;

	memset(out, 0, sizeof(*out));
	if ((e = db_kv_get(db, CODEX_DB_KEY, &raw)) != GW_OK)
		return e;
	v = json_parse(raw, strlen(raw), NULL, NULL);
	at = json_str(v, "accessToken");
	rt = json_str(v, "refreshToken");
	id = json_str(v, "accountId");
	if (at == NULL || rt == NULL || id == NULL) {
		e = *raw == '\0' ? GW_ENOTFOUND : GW_EDB;
		goto out;
	}
	out->expires_at_ms = (int64_t)json_num(v, "expiresAt", 0);
	if ((out->access_token = strdup(at)) == NULL ||
	    (out->refresh_token = strdup(rt)) == NULL ||
	    (out->account_id = strdup(id)) == NULL) {
		codex_creds_free(out);
		e = GW_ENOMEM;
	}
out:
	cJSON_Delete(v);
	free(raw);
	return e;
}

enum gw_err
codex_creds_store(struct db *db, const struct codex_creds *c)
{
	cJSON *v = cJSON_CreateObject();
	char *s = NULL;
	enum gw_err e = GW_ENOMEM;

	/* the reference's codex_credentials.json shape */
	if (v != NULL && json_add_str(v, "accessToken", c->access_token) == GW_OK &&
	    json_add_str(v, "refreshToken", c->refresh_token) == GW_OK &&
	    json_add(v, "expiresAt", cJSON_CreateNumber((double)c->expires_at_ms))
	    == GW_OK &&
	    json_add_str(v, "accountId", c->account_id) == GW_OK &&
	    (s = json_print(v)) != NULL)
		e = db_kv_set(db, CODEX_DB_KEY, s);
	cJSON_free(s);
	cJSON_Delete(v);
	return e;
}

static int
usable(const struct codex_env *env, const struct codex_creds *c,
    const char *stale)
{
	if (env->force || (stale != NULL && strcmp(c->access_token, stale) == 0))
		return 0;
	return c->expires_at_ms > util_now_ms() +
	    (env->lead_ms > 0 ? env->lead_ms : REFRESH_LEAD_MS);
}

enum gw_err
codex_token(struct codex_env *env, const char *stale, struct codex_creds *out,
    struct buf *errmsg)
{
	struct codex_creds cur;
	struct db_lock lk = { .fd = -1 };
	char fp[16];
	enum gw_err e;

	memset(out, 0, sizeof(*out));
	if ((e = codex_creds_load(env->db, &cur)) != GW_OK)
		return e;
	if (usable(env, &cur, stale)) {
		*out = cur;
		return GW_OK;
	}
	/* one refresher across hosts too: the refresh token rotates, so a
	 * second refresh with the old one would fail */
	if ((e = db_lock_named(env->db, "codex-token", env->lock_path,
	    CODEX_LOCK_WAIT_MS, &lk)) != GW_OK) {
		GW_IGNORE(buf_printf(errmsg, "cannot take the Codex refresh lock "
		    "(%s): %s", env->lock_path, gw_strerror(e)));
		goto out;
	}
	/* whoever held the lock may have refreshed already */
	codex_creds_free(&cur);
	if ((e = codex_creds_load(env->db, &cur)) != GW_OK)
		goto out;
	if (usable(env, &cur, stale)) {
		*out = cur;
		memset(&cur, 0, sizeof(cur));
		goto out;
	}
	log_info("refreshing the Codex credentials");
	if ((e = codex_refresh(env->client, env->auth_base, cur.refresh_token, out,
	    errmsg)) != GW_OK) {
		if (e == GW_EAUTH)
			GW_IGNORE(buf_puts(errmsg, " (run `copilot-api auth login "
			    "--provider codex` to sign in again)"));
		goto out;
	}
	if ((e = codex_creds_store(env->db, out)) != GW_OK) {
		/* the refresh token rotated: a copy not stored is lost */
		GW_IGNORE(buf_printf(errmsg, "cannot store the refreshed Codex "
		    "credentials: %s", gw_strerror(e)));
		codex_creds_free(out);
		goto out;
	}
	log_fingerprint(out->access_token, fp);
	log_info("Codex credentials refreshed (%s)", fp);
	if (env->show_token) {
		/* asked for (--show-token): the operator's own terminal */
		fprintf(stderr, "Codex access token: %s\n", out->access_token);
		fflush(stderr);
	}
out:
	db_unlock_named(env->db, &lk);
	codex_creds_free(&cur);
	return e;
}

/* ---- the backend call ------------------------------------------------------ */

static int
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* The backend's root in base (NULL or "": the default): its length
 * without trailing slashes and a /codex/responses or /codex ending. */
static size_t
backend_root(const char **base)
{
	size_t n;

	if (*base == NULL || **base == '\0')
		*base = CODEX_API_URL_DEFAULT;
	n = strlen(*base);
	while (n > 0 && (*base)[n - 1] == '/')
		n--;
	if (ends_with(*base, n, "/codex/responses"))
		n -= strlen("/codex/responses");
	else if (ends_with(*base, n, "/codex"))
		n -= strlen("/codex");
	return n;
}

enum gw_err
codex_responses_url(const char *base, struct buf *out)
{
	size_t n = backend_root(&base);

	return buf_printf(out, "%.*s/codex/responses", (int)n, base);
}

static int
stripped(const char *name)
{
	static const char *const names[] = {
		"authorization", "connection", "content-length", "host",
		"keep-alive", "proxy-authenticate", "proxy-authorization", "te",
		"trailer", "transfer-encoding", "upgrade", "x-api-key",
		/* libcurl negotiates the encoding it can decode */
		"accept-encoding",
		/* what a proxy in front of us adds (a Cloudflare tunnel):
		 * the backend's bot detection refuses it (1.14.7, b5dd675) */
		"cdn-loop", "true-client-ip", "x-forwarded-for",
		"x-forwarded-proto",
	};
	size_t i, n = strlen(name);

	for (i = 0; i < ARRAY_LEN(names); i++)
		if (strcasecmp(name, names[i]) == 0)
			return 1;
	if (strncasecmp(name, "cf-", 3) == 0)
		return 1;
	/* tracing headers (traceparent, x-b3-traceid, …) */
	for (i = 0; i + 5 <= n; i++)
		if (strncasecmp(name + i, "trace", 5) == 0)
			return 1;
	return 0;
}

/* The client's value of name (case-insensitive), NULL when absent. */
static const char *
client_value(const char *const *client, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(client[2 * i], name) == 0)
			return client[2 * i + 1];
	return NULL;
}

/*
 * What every backend call sends: the client's headers (accept too unless
 * accept is forced), then accept (forced, else a default), the sign-in,
 * content-type unless sent (when given), originator and user-agent unless
 * sent, opencode's own.
 */
static GW_MUST_CHECK enum gw_err
backend_headers(const struct codex_creds *c, const char *const *client,
    size_t nclient, const char *session, const char *accept, int force_accept,
    const char *ctype, struct strlist *out, struct buf *errmsg)
{
	const char *ua = client_value(client, nclient, "user-agent");
	int opencode = ua != NULL && util_has_prefix(ua, "opencode");
	int has_session = session != NULL && *session != '\0' &&
	    !util_unsafe_header_value(session);
	size_t i;
	enum gw_err e = GW_OK;

	for (i = 0; i < nclient && e == GW_OK; i++) {
		const char *name = client[2 * i], *value = client[2 * i + 1];

		if (stripped(name) || (opencode && (!strcasecmp(name,
		    "originator") || (has_session &&
		    !strcasecmp(name, "session-id")))) ||
		    (force_accept && !strcasecmp(name, "accept")))
			continue;
		if (util_unsafe_header_value(value)) {
			GW_IGNORE(buf_printf(errmsg, "the %s header holds a line "
			    "break", name));
			return GW_EINVAL;
		}
		e = strlist_addf(out, "%s: %s", name, value);
	}
#define ADD_UNLESS(name, ...) \
	if (e == GW_OK && client_value(client, nclient, name) == NULL) \
		e = strlist_addf(out, __VA_ARGS__)
	if (force_accept) {
		if (e == GW_OK)
			e = strlist_addf(out, "accept: %s", accept);
	} else
		ADD_UNLESS("accept", "accept: %s", accept);
	if (e == GW_OK)
		e = strlist_addf(out, "authorization: Bearer %s", c->access_token);
	if (e == GW_OK)
		e = strlist_addf(out, "chatgpt-account-id: %s", c->account_id);
	if (ctype != NULL)
		ADD_UNLESS("content-type", "content-type: %s", ctype);
	if (opencode) {
		if (e == GW_OK)
			e = strlist_add(out, "originator: opencode");
		/* session-id, no longer session_id (1.14.7, 9af7d99) */
		if (e == GW_OK && has_session)
			e = strlist_addf(out, "session-id: %s", session);
	} else
		ADD_UNLESS("originator", "originator: copilot-api");
	ADD_UNLESS("user-agent", "user-agent: copilot-api");
#undef ADD_UNLESS
	return e;
}

enum gw_err
codex_headers(const struct codex_creds *c, const char *const *client,
    size_t nclient, const char *session, struct strlist *out,
    struct buf *errmsg)
{
	/* always a stream, whatever the client takes; no OpenAI-Beta of ours:
	 * 1.14.7 sends one only over WebSocket (393c0f7) */
	return backend_headers(c, client, nclient, session, "text/event-stream",
	    1, "application/json", out, errmsg);
}

enum gw_err
codex_models_headers(const struct codex_creds *c, const char *const *client,
    size_t nclient, const char *session, struct strlist *out,
    struct buf *errmsg)
{
	return backend_headers(c, client, nclient, session, "application/json",
	    0, NULL, out, errmsg);
}

enum gw_err
codex_models_url(const char *base, struct buf *out)
{
	enum gw_err e = codex_responses_url(base, out);

	/* .../codex/responses -> .../codex/models */
	if (e == GW_OK) {
		out->len -= strlen("/responses");
		out->data[out->len] = '\0';
		e = buf_puts(out, "/models");
	}
	return e;
}

enum gw_err
codex_images_headers(const struct codex_creds *c, const char *const *client,
    size_t nclient, const char *session, int json, struct strlist *out,
    struct buf *errmsg)
{
	enum gw_err e = backend_headers(c, client, nclient, session,
	    "application/json", 0, json ? "application/json" : NULL, out, errmsg);

	/* no type of our own on an upload that came without one: libcurl
	 * would call it a form otherwise */
	if (e == GW_OK && !json && client_value(client, nclient,
	    "content-type") == NULL)
		e = strlist_add(out, "content-type:");
	return e;
}

/* {root}/codex/{path}[?query], query as the client sent it. */
static GW_MUST_CHECK enum gw_err
backend_url(const char *base, const char *path, const char *query,
    struct buf *out)
{
	size_t n = backend_root(&base);
	enum gw_err e;

	e = buf_printf(out, "%.*s/codex/%s", (int)n, base, path);
	if (e == GW_OK && query != NULL && *query != '\0')
		e = buf_printf(out, "?%s", query);
	return e;
}

enum gw_err
codex_images_url(const char *base, const char *operation, const char *query,
    struct buf *out)
{
	struct buf path = BUF_INIT;
	enum gw_err e = buf_printf(&path, "images/%s", operation);

	if (e == GW_OK)
		e = backend_url(base, path.data, query, out);
	buf_free(&path);
	return e;
}

enum gw_err
codex_alpha_search_url(const char *base, const char *query, struct buf *out)
{
	return backend_url(base, "alpha/search", query, out);
}
