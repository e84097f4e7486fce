/*
 * The Copilot side of a call: the VS Code identity headers Copilot expects
 * (spec/surface.md §4), and the per-request facts derived from a payload
 * (x-initiator, vision, request and session ids).
 */
#ifndef GW_COPILOT_H
#define GW_COPILOT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/strlist.h"

/* Version strings drift; they are here in one place (reference 1.14.7:
 * src/lib/api-config.ts, src/services/get-vscode-version.ts). */
#define COPILOT_VSCODE_VERSION   "1.124.2"
#define COPILOT_PLUGIN_VERSION   "0.52.0"
#define COPILOT_API_VERSION      "2026-06-01"
#define COPILOT_GH_API_VERSION   "2025-04-01"
#define COPILOT_USER_AGENT       "GitHubCopilotChat/" COPILOT_PLUGIN_VERSION
#define OPENCODE_VERSION         "1.14.29"

/* Process-wide identity: one "VS Code install". */
struct copilot_ident {
	char device_id[37];     /* persisted in the database */
	char machine_id[65];    /* sha256 hex of a MAC address, persisted */
	char session_id[64];    /* uuid + ms timestamp, rotated every 60-80 min */
	int64_t session_expires_ms;
	int opencode;           /* the opencode OAuth app's header set */
};

/* What one upstream call needs in its headers. */
struct copilot_call {
	const char *token;            /* Copilot token (Bearer) */
	const char *request_id;       /* x-request-id and x-agent-task-id */
	const char *interaction_id;   /* x-interaction-id, NULL for none */
	const char *initiator;        /* "user" / "agent", NULL for none */
	const char *interaction_type; /* NULL: conversation-agent */
	const char *intent;           /* NULL: conversation-agent */
	const char *accept;           /* NULL: none */
	int vision;                   /* copilot-vision-request: true */
	int json_body;                /* content-type: application/json */
	const char *user_agent;       /* NULL: the VS Code Copilot Chat one */
	int no_integration_id;        /* the messages-proxy identity has none */
	const char *anthropic_beta;   /* native Messages only, NULL: none */
};

/* Machine id from the first non-zero MAC under /sys/class/net, else random. */
void copilot_machine_id(char out[65]);

GW_MUST_CHECK enum gw_err copilot_headers(struct copilot_ident *id,
    const struct copilot_call *c, struct strlist *out);

/*
 * The headers of a Responses WebSocket upgrade (spec/translation.md §8):
 * those of copilot_headers without a body's content-type and accept,
 * x-initiator (it travels in the response.create frame) and the electron
 * library version, with user-agent "node"; the opencode set keeps its own
 * user-agent.  GW_ENOMEM.
 */
GW_MUST_CHECK enum gw_err copilot_ws_headers(struct copilot_ident *id,
    const struct copilot_call *c, struct strlist *out);

/* Chat Completions payload facts. */
const char *copilot_chat_initiator(const cJSON *payload);
int copilot_chat_has_images(const cJSON *payload);
/*
 * Request id of spec/translation.md §9.3: uuid-hash of session id + machine
 * id + the last user message's content key; random when there is none.
 */
GW_MUST_CHECK enum gw_err copilot_request_id(const cJSON *messages, const char *session_id,
    const char *machine_id, char out[37]);

/*
 * Copilot's quota telemetry (spec/surface.md §4.8), logged at info level
 * as the reference does, never sent on: "Copilot <session|weekly> quota
 * remaining: <rem>, resets at: <rst>", control characters dropped.
 * copilot_log_rate_limits takes a response's headers ("name: value"
 * lines, any case, as struct up_response's pass_headers) and logs each
 * x-usage-ratelimit-session / -weekly value (URL query syntax) that has
 * both rem and rst non-empty.
 */
void copilot_log_rate_limits(char *const *headers, size_t n);
/* Logs the lines of a WebSocket response.completed event's
 * copilot_quota_snapshots ("5Hour-Session-RateLimits",
 * "Weekly-Session-RateLimits": percent_remaining, reset_date); NULL or a
 * malformed snapshot logs nothing. */
void copilot_log_quota_snapshots(const cJSON *snapshots);

#endif
