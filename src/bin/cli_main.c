/*
 * copilot-api: the command line.
 *   auth login       sign in to GitHub (device flow, or --github-token)
 *   check-usage      Copilot quotas of the signed-in account
 *   debug [--json]   versions, paths, what is configured
 *   start            local run: spawn-fcgi + lighttpd on 127.0.0.1:4141
 *   claude-code      the environment that points Claude Code at the gateway
 *   mcp              the stdio MCP server of the tool_search bridge
 *   approve [--all]  decide the requests waiting for manual approval
 *   keys add|list|remove  API keys hashed at rest in config.json
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "gwconfig.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "app/app.h"
#include "app/copilot_call.h"
#include "cli/accounts_cli.h"
#include "cli/approve.h"
#include "cli/codex_login.h"
#include "cli/provider_login.h"
#include "cli/keys.h"
#include "cli/launch.h"
#include "cli/mcp.h"
#include "state/accounts.h"
#include "state/config.h"
#include "state/db.h"
#include "upstream/auth.h"
#include "upstream/client.h"
#include "upstream/codex.h"
#include "upstream/github.h"

enum { EXIT_USAGE = 2, EXIT_EXPIRED = 3, EXIT_DENIED = 4 };

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: copilot-api [--api-home=DIR] [--oauth-app=APP] [--enterprise-url=URL] COMMAND\n"
	    "\n"
	    "commands:\n"
	    "  auth login [--github-token T] [--oauth-app default|opencode]\n"
	    "             [--account NAME]  (a named account of the pool)\n"
	    "             [--account-type individual|business|enterprise] [--show-token]\n"
	    "  auth login --provider codex [--show-token]\n"
	    "                           sign the built-in codex provider in (OAuth)\n"
	    "  auth login --provider opencode-go|deepseek|dashscope|openrouter|custom\n"
	    "                           write a third-party provider to config.json\n"
	    "  check-usage [--account NAME]  show Copilot quotas\n"
	    "  debug [--json]           versions, paths and state\n"
	    "  start [--port N] [--host ADDR] [--threads N] [--workers N] [--verbose]\n"
	    "        [--account-type T] [--rate-limit S] [--wait] [--github-token T]\n"
	    "        [--show-token] [--proxy-env] [--claude-code] [--manual]\n"
	    "  claude-code [--port N] [--model M] [--small-model M]\n"
	    "  mcp                      the tool_search MCP bridge on stdio\n"
	    "  approve [--all]          decide requests waiting for approval (--manual)\n"
	    "  accounts [--json] | accounts remove NAME\n"
	    "  keys add [--admin] | list | remove ENTRY|KEY\n"
	    "                           API keys stored hashed in config.json\n"
	    "\n"
	    "The data directory is $COPILOT_API_HOME (default ~/.local/share/copilot-api).\n");
}

/* Global options are --name=value before the command (as the original). */
static int
global_options(int *argc, char ***argv)
{
	char **av = *argv;
	int i = 1;

	for (; i < *argc && strncmp(av[i], "--", 2) == 0; i++) {
		if (util_has_prefix(av[i], "--api-home="))
			setenv("COPILOT_API_HOME", av[i] + 11, 1);
		else if (util_has_prefix(av[i], "--oauth-app="))
			setenv("COPILOT_API_OAUTH_APP", av[i] + 12, 1);
		else if (util_has_prefix(av[i], "--enterprise-url="))
			setenv("COPILOT_API_ENTERPRISE_URL", av[i] + 17, 1);
		else if (strcmp(av[i], "--help") == 0 || strcmp(av[i], "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(av[i], "--version") == 0) {
			printf("copilot-api %s\n", GW_VERSION);
			exit(0);
		} else
			break;
	}
	*argc -= i;
	*argv += i;
	return *argc > 0 ? 0 : -1;
}

/* Opens the app and one worker; prints the reason and returns 1 on failure. */
static int
open_all(struct app *a, struct worker *w, int ensure_admin)
{
	struct buf err = BUF_INIT;

	memset(a, 0, sizeof(*a));
	memset(w, 0, sizeof(*w));
	if (app_init(a, ensure_admin, &err) != GW_OK ||
	    worker_init(w, a, &err) != GW_OK) {
		fprintf(stderr, "copilot-api: %s\n", buf_cstr(&err));
		buf_free(&err);
		worker_free(w);     /* both contracts: free whatever the outcome */
		app_free(a);
		return 1;
	}
	buf_free(&err);
	return 0;
}

static void
close_all(struct app *a, struct worker *w)
{
	worker_free(w);
	app_free(a);
}

/* Device flow, interactive: prints the code, polls with a progress line. */
static int
device_login(struct worker *w, char **token)
{
	struct gh_device d;
	struct buf err = BUF_INIT;
	enum gh_poll st;
	long interval, ni;
	int64_t deadline;
	int rc = 1;

	*token = NULL;
	if (gh_device_start(&w->gh, &d, &err) != GW_OK) {
		fprintf(stderr, "copilot-api: sign-in failed: %s\n", buf_cstr(&err));
		buf_free(&err);
		return 1;
	}
	printf("Please enter the code \"%s\" in %s\n", d.user_code,
	    d.verification_uri);
	printf("Waiting for authorization");
	fflush(stdout);
	interval = d.interval > 0 ? d.interval : 5;
	deadline = util_mono_ms() + (int64_t)(d.expires_in > 0 ? d.expires_in : 900) * 1000;
	for (;;) {
		util_sleep_ms((interval + 1) * 1000);
		buf_reset(&err);
		ni = 0;
		if (gh_device_poll(&w->gh, &d, &st, token, &ni, &err) != GW_OK) {
			fprintf(stderr, "\ncopilot-api: %s\n", buf_cstr(&err));
			break;
		}
		if (st == GH_POLL_TOKEN) {
			printf(" done.\n");
			rc = 0;
			break;
		}
		if (st == GH_POLL_SLOW_DOWN)
			interval = ni > interval ? ni : interval + 5;
		else if (st == GH_POLL_EXPIRED || util_mono_ms() > deadline) {
			fprintf(stderr, "\ncopilot-api: the code expired before it was "
			    "entered; run `copilot-api auth login` again\n");
			rc = EXIT_EXPIRED;
			break;
		} else if (st == GH_POLL_DENIED) {
			fprintf(stderr, "\ncopilot-api: authorization was denied on "
			    "GitHub\n");
			rc = EXIT_DENIED;
			break;
		} else if (st == GH_POLL_ERROR) {
			fprintf(stderr, "\ncopilot-api: sign-in failed: %s\n",
			    buf_cstr(&err));
			break;
		}
		putchar('.');
		fflush(stdout);
	}
	gh_device_free(&d);
	buf_free(&err);
	return rc;
}

static GW_MUST_CHECK enum gw_err
set_account_type(cJSON *root, void *arg)
{
	return json_set(root, "accountType", cJSON_CreateString(arg));
}

static int
cmd_auth(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "github-token", required_argument, NULL, 'g' },
		{ "oauth-app", required_argument, NULL, 'o' },
		{ "account-type", required_argument, NULL, 'a' },
		{ "provider", required_argument, NULL, 'p' },
		{ "show-token", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "account", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	struct app a;
	struct worker w;
	const char *given = NULL, *account_type = NULL, *third = NULL;
	const char *named = NULL;
	int codex = 0;
	struct buf err = BUF_INIT;
	char *token = NULL;
	int c, show = 0, rc;

	if (argc > 1 && strcmp(argv[1], "login") == 0) {
		argc--;
		argv++;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "g:a:v", opts, NULL)) != -1) {
		switch (c) {
		case 'g': given = optarg; break;
		case 'o': setenv("COPILOT_API_OAUTH_APP", optarg, 1); break;
		case 'a':
			if (strcmp(optarg, "individual") != 0 &&
			    strcmp(optarg, "business") != 0 &&
			    strcmp(optarg, "enterprise") != 0) {
				fprintf(stderr, "copilot-api: unknown account type '%s' "
				    "(individual, business or enterprise)\n", optarg);
				return EXIT_USAGE;
			}
			account_type = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "copilot") != 0 &&
			    strcmp(optarg, "codex") != 0 &&
			    !provider_login_known(optarg)) {
				fprintf(stderr, "copilot-api: Unknown provider '%s'. "
				    "Expected one of: copilot, codex, opencode-go, "
				    "deepseek, dashscope, openrouter, custom\n",
				    optarg);
				return EXIT_USAGE;
			}
			codex = strcmp(optarg, "codex") == 0;
			third = provider_login_known(optarg) ? optarg : NULL;
			break;
		case 's': show = 1; break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'A':
			if (!accounts_name_valid(optarg)) {
				fprintf(stderr, "copilot-api: account name '%s' is "
				    "not allowed: 1 to %d of a-z, 0-9, '-' and "
				    "'_', starting with a letter or digit, not "
				    "'default' nor 'opencode'\n", optarg,
				    ACCOUNTS_NAME_MAX);
				return EXIT_USAGE;
			}
			named = optarg;
			break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (named != NULL && (third != NULL || codex)) {
		fprintf(stderr, "copilot-api: --account is for Copilot accounts, "
		    "not --provider\n");
		return EXIT_USAGE;
	}
	if (given == NULL && getenv("GH_TOKEN") != NULL && *getenv("GH_TOKEN"))
		given = getenv("GH_TOKEN");
	if (open_all(&a, &w, 1) != 0)
		return 1;
	if (third != NULL)
		rc = provider_login_main(a.config_path, third, stdin, stdout);
	else if (codex)
		rc = codex_login_main(&w, show);
	else if (given != NULL)
		rc = accounts_cli_store(&w, named, given, show);
	else if ((rc = device_login(&w, &token)) == 0)
		rc = accounts_cli_store(&w, named, token, show);
	/* The account type decides the Copilot URL fallback for every
	 * process: it belongs in config.json, not in this run's flags. */
	if (rc == 0 && account_type != NULL &&
	    cfg_update_file(a.config_path, set_account_type, (void *)account_type,
	    &err) != GW_OK) {
		fprintf(stderr, "copilot-api: could not save accountType: %s\n",
		    buf_cstr(&err));
		rc = 1;
	}
	buf_free(&err);
	free(token);
	close_all(&a, &w);
	return rc;
}

static void
print_quota(const cJSON *snaps, const char *key, const char *label)
{
	const cJSON *q = json_obj(snaps, key);
	double ent, rem, pct;

	if (q == NULL) {
		printf("  %s: N/A\n", label);
		return;
	}
	if (json_bool(q, "unlimited", 0)) {
		printf("  %s: unlimited\n", label);
		return;
	}
	ent = json_num(q, "entitlement", 0);
	rem = json_num(q, "remaining", 0);
	pct = json_num(q, "percent_remaining", 0);
	printf("  %s: %.0f/%.0f used (%.1f%% used, %.1f%% remaining)\n", label,
	    ent - rem, ent, ent > 0 ? (ent - rem) * 100.0 / ent : 0.0, pct);
}

static int
cmd_accounts(int argc, char **argv)
{
	struct app a;
	struct worker w;
	int rc;

	if (open_all(&a, &w, 0) != 0)
		return 1;
	rc = accounts_cli_main(&w, argc, argv);
	close_all(&a, &w);
	return rc;
}

static int
cmd_check_usage(int argc, char **argv)
{
	struct app a;
	struct worker w;
	struct auth_env env;
	struct buf body = BUF_INIT, err = BUF_INIT;
	const char *named = NULL;
	char *tok = NULL;
	cJSON *v = NULL;
	long status = 0;
	int rc = 1;

	if (argc == 3 && strcmp(argv[1], "--account") == 0)
		named = argv[2];
	if (open_all(&a, &w, 0) != 0)
		return 1;
	if (named != NULL && strcmp(named, ACCOUNTS_DEFAULT) != 0)
		snprintf(w.acct, sizeof(w.acct), "%s", named);
	app_auth_env(&w, &env);
	if (auth_github_token(&env, &tok) != GW_OK) {
		if (w.acct[0] != '\0')
			fprintf(stderr, "copilot-api: no account named '%s' "
			    "(copilot-api accounts lists them)\n", named);
		else
			fprintf(stderr, "copilot-api: not signed in: run "
			    "`copilot-api auth login`\n");
		goto out;
	}
	if (gh_copilot_user(&w.gh, tok, &status, &body, &err) != GW_OK) {
		fprintf(stderr, "copilot-api: %s\n", buf_cstr(&err));
		goto out;
	}
	v = json_parse(body.data, body.len, NULL, NULL);
	if (status / 100 != 2 || v == NULL) {
		fprintf(stderr, "copilot-api: GitHub answered %ld: %.300s\n", status,
		    buf_cstr(&body));
		goto out;
	}
	printf("Copilot Usage (plan: %s)\n", json_str(v, "copilot_plan") ?
	    json_str(v, "copilot_plan") : "unknown");
	printf("Quota resets: %s\n", json_str(v, "quota_reset_date") ?
	    json_str(v, "quota_reset_date") : "unknown");
	printf("Quotas:\n");
	print_quota(json_obj(v, "quota_snapshots"), "premium_interactions", "Premium");
	print_quota(json_obj(v, "quota_snapshots"), "chat", "Chat");
	print_quota(json_obj(v, "quota_snapshots"), "completions", "Completions");
	rc = 0;
out:
	cJSON_Delete(v);
	free(tok);
	buf_free(&body);
	buf_free(&err);
	close_all(&a, &w);
	return rc;
}

static int
cmd_debug(int argc, char **argv)
{
	struct app a;
	struct worker w;
	char *tok = NULL, *login = NULL, *base;
	cJSON *o, *paths, *state, *prov, *enabled;
	struct codex_creds cx;
	struct buf names = BUF_INIT;
	char *s;
	size_t i;
	int json = argc > 1 && strcmp(argv[1], "--json") == 0;
	int codex_conf, codex_in;

	if (open_all(&a, &w, 0) != 0)
		return 1;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "version", GW_VERSION);
	cJSON_AddStringToObject(o, "libcurl", curl_version());
	cJSON_AddStringToObject(o, "sqlite", sqlite3_libversion());
	cJSON_AddStringToObject(o, "cjson", cJSON_Version());
	cJSON_AddStringToObject(o, "responsesTransport", w.cfg->use_responses_ws ?
	    "WebSocket for models that list ws:/responses, HTTP SSE otherwise" :
	    "http-sse (useResponsesApiWebSocket is off)");
	paths = cJSON_AddObjectToObject(o, "paths");
	cJSON_AddStringToObject(paths, "APP_DIR", a.home);
	cJSON_AddStringToObject(paths, "CONFIG_PATH", a.config_path);
	cJSON_AddStringToObject(paths, "DB_PATH", a.db_path);
	state = cJSON_AddObjectToObject(o, "state");
	cJSON_AddBoolToObject(state, "tokenExists",
	    app_account_get(&w, "github_token", &tok) == GW_OK);
	if (app_account_get(&w, "github_login", &login) == GW_OK)
		cJSON_AddStringToObject(state, "githubLogin", login);
	base = app_copilot_base(&w, NULL);
	cJSON_AddStringToObject(state, "copilotApiUrl", base ? base : "");
	free(base);
	cJSON_AddNumberToObject(state, "schemaVersion", db_schema_version(w.db));
	cJSON_AddStringToObject(state, "storage", a.db_driver);
	/* the reference's "Providers" block, plus whether codex is signed in */
	prov = cJSON_AddObjectToObject(o, "providers");
	enabled = cJSON_AddArrayToObject(prov, "enabled");
	for (i = 0; i < w.cfg->n_providers; i++) {
		if (!w.cfg->providers[i].enabled)
			continue;
		cJSON_AddItemToArray(enabled,
		    cJSON_CreateString(w.cfg->providers[i].name));
		/* best effort: a shorter list on the terminal */
		GW_IGNORE(buf_printf(&names, "%s%s", names.len ? ", " : "",
		    w.cfg->providers[i].name));
	}
	codex_conf = cJSON_GetObjectItemCaseSensitive(json_obj(w.cfg->root,
	    "providers"), "codex") != NULL;
	codex_in = codex_creds_load(w.db, &cx) == GW_OK;
	codex_creds_free(&cx);
	cJSON_AddBoolToObject(prov, "codexConfigured", codex_conf);
	cJSON_AddBoolToObject(prov, "codexSignedIn", codex_in);
	if (json) {
		s = cJSON_Print(o);
		printf("%s\n", s);
		cJSON_free(s);
	} else {
		printf("copilot-api %s\n  libcurl: %s\n  sqlite: %s\n  cJSON: %s\n",
		    GW_VERSION, curl_version(), sqlite3_libversion(), cJSON_Version());
		printf("  Responses API transport: %s\n", w.cfg->use_responses_ws ?
		    "WebSocket for models that list ws:/responses, else HTTP SSE" :
		    "HTTP SSE (useResponsesApiWebSocket is off)");
		printf("paths:\n  APP_DIR: %s\n  CONFIG_PATH: %s\n  DB_PATH: %s\n",
		    a.home, a.config_path, a.db_path);
		printf("state:\n  signed in: %s%s%s\n  schema version: %d\n"
		    "  storage: %s\n", tok ? "yes" : "no", login ? " as " : "",
		    login ? login : "", db_schema_version(w.db), a.db_driver);
		printf("providers:\n  enabled: %s\n  codex configured: %s\n"
		    "  codex signed in: %s\n", names.len ? names.data : "none",
		    codex_conf ? "yes" : "no", codex_in ? "yes" : "no");
	}
	buf_free(&names);
	cJSON_Delete(o);
	free(tok);
	free(login);
	close_all(&a, &w);
	return 0;
}

static int
cmd_claude_code(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "model", required_argument, NULL, 'm' },
		{ "small-model", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *port = "4141", *model = "claude-sonnet-4.6",
	    *small = "gpt-5-mini";
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:m:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = optarg; break;
		case 'm': model = optarg; break;
		case 's': small = optarg; break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	launch_print_claude_env(stdout, "127.0.0.1", port, model, small);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd;
	int rc;

	if (getenv("COPILOT_API_LOG_LEVEL") != NULL &&
	    log_level_parse(getenv("COPILOT_API_LOG_LEVEL")) >= 0)
		log_set_level((enum log_level)log_level_parse(
		    getenv("COPILOT_API_LOG_LEVEL")));
	else
		log_set_level(LOG_WARN);
	if (global_options(&argc, &argv) != 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (up_global_init() != GW_OK) {
		fprintf(stderr, "copilot-api: cannot initialise libcurl\n");
		return 1;
	}
	cmd = argv[0];
	if (strcmp(cmd, "auth") == 0)
		rc = cmd_auth(argc, argv);
	else if (strcmp(cmd, "check-usage") == 0)
		rc = cmd_check_usage(argc, argv);
	else if (strcmp(cmd, "debug") == 0)
		rc = cmd_debug(argc, argv);
	else if (strcmp(cmd, "start") == 0)
		rc = launch_start(argc, argv);
	else if (strcmp(cmd, "claude-code") == 0)
		rc = cmd_claude_code(argc, argv);
	else if (strcmp(cmd, "mcp") == 0)
		rc = mcp_main(argc, argv);
	else if (strcmp(cmd, "approve") == 0)
		rc = approve_main(argc, argv);
	else if (strcmp(cmd, "keys") == 0)
		rc = keys_main(argc, argv);
	else if (strcmp(cmd, "accounts") == 0)
		rc = cmd_accounts(argc, argv);
	else if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		rc = 0;
	} else {
		fprintf(stderr, "copilot-api: unknown command '%s'\n", cmd);
		usage(stderr);
		rc = EXIT_USAGE;
	}
	up_global_cleanup();
	return rc;
}
