/*
 * The whole gateway in process, for the request-path fuzz harnesses: one
 * private COPILOT_API_HOME (made once, removed at exit), an app and one
 * worker, a signed-in account with a fresh Copilot token and the model
 * list in the database, and every upstream URL (GitHub, Copilot,
 * Anthropic) pointing at an in-process fake (tests/unit/mockserver.h) on
 * loopback that answers each request at once with what the harness set
 * for this input.  Nothing leaves the machine and nothing waits on a
 * timeout.
 *
 * fg_serve() runs one request the way the responder does
 * (http_server_serve + routes_handle over the in-memory transport) and
 * checks what any client may rely on: a "Status: NNN" line (100..599),
 * the header block ended, a JSON body that parses when the Content-Type
 * says JSON (unless it is the upstream's answer relayed as is, or the
 * empty body of a HEAD).  A breach aborts (a finding).
 *
 * Input conventions shared by the harnesses: NUL-separated NAME=value
 * FastCGI parameters, an empty one, then the request body.
 */
#ifndef GW_FUZZ_GATEWAY_H
#define GW_FUZZ_GATEWAY_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "mockserver.h"
#include "fuzz_params.h"
#include "models_fixture.h"

#include "app/app.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/io.h"
#include "http/server.h"
#include "routes/routes.h"
#include "state/config.h"
#include "state/db.h"
#include "upstream/client.h"

#define FG_API_KEY "sk-fuzz"


static struct {
	char home[512];
	struct mock_server *m;
	struct mock_response answer;   /* what the fake says next */
	char ctype[128];
	struct app app;
	struct worker w;
	int64_t seeded_ms;
	unsigned long execs;
	int prune;                     /* drop the usage rows in fg_seed */
} fg;

static void
fg_die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_gateway: %s: %s\n", what, detail);
	abort();
}

/* The account, the token and the model list, as a signed-in user has
 * them; redone every minute and after anything that may have changed
 * them (an upstream 401 makes the gateway refresh the token). */
static void
fg_seed(void)
{
	struct db_copilot_token t;
	int64_t now = util_now_ms();
	long gone;

	memset(&t, 0, sizeof(t));
	t.token = "tid=fuzz";
	t.fetched_at = now / 1000;
	t.refresh_in = 1500;
	t.expires_at = now / 1000 + 1800;
	if (db_kv_set(fg.w.db, "github_token", "gho_fuzz") != GW_OK ||
	    db_kv_set(fg.w.db, "github_login", "octocat") != GW_OK ||
	    db_copilot_token_put(fg.w.db, &t) != GW_OK ||
	    db_models_put(fg.w.db, MODELS_FIXTURE_JSON, now) != GW_OK)
		fg_die("seed", "database write failed");
	/* the usage rows of the requests served so far: keep the file small */
	if (fg.prune && db_prune_usage(fg.w.db, now + 86400000, &gone) != GW_OK)
		fg_die("seed", "prune failed");
	fg.seeded_ms = now;
}

static void
fg_cleanup(void)
{
	worker_free(&fg.w);
	app_free(&fg.app);
	mock_stop(fg.m);
	up_global_cleanup();
	if (fg.home[0] != '\0') {
		char p[1200];
		struct dirent *de;
		DIR *d = opendir(fg.home);

		while (d != NULL && (de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", fg.home, de->d_name);
			unlink(p);
		}
		if (d != NULL)
			closedir(d);
		rmdir(fg.home);
	}
}

/* Each usage row is a commit: without a sync per commit the harness runs
 * several times faster (a crash of the harness may lose rows; no matter). */
static void
fg_fast_db(void)
{
	struct db_stmt *st;

	/* sqlite only: the harness always runs on a sqlite file */
	if (db_prepare(fg.w.db, "PRAGMA synchronous=OFF", &st) != GW_OK)
		fg_die("pragma", "prepare failed");
	if (db_step(st) != GW_ENOTFOUND)
		fg_die("pragma", "step failed");
	db_done(fg.w.db, st);
}

/* extra: more top-level config.json members ("" for none). */
static void
fg_init(const char *extra)
{
	struct buf cfg = BUF_INIT, path = BUF_INIT, err = BUF_INIT;
	const char *t = getenv("TMPDIR");
	char url[64];
	FILE *f;

	if (fg.m != NULL)
		return;
	snprintf(fg.home, sizeof(fg.home), "%s/gw-fuzz-XXXXXX",
	    t != NULL && *t ? t : P_tmpdir);
	if (mkdtemp(fg.home) == NULL)
		fg_die("mkdtemp", fg.home);
	setenv("COPILOT_API_HOME", fg.home, 1);
	unsetenv("COPILOT_API_ACCOUNT_TYPE");
	unsetenv("COPILOT_API_ENTERPRISE_URL");
	unsetenv("COPILOT_API_GITHUB_TOKEN");
	unsetenv("COPILOT_API_OAUTH_APP");
	unsetenv("COPILOT_API_RATE_LIMIT");
	unsetenv("COPILOT_API_RATE_LIMIT_WAIT");
	unsetenv("COPILOT_API_MANUAL_APPROVAL");
	atexit(fg_cleanup);
	fg.answer.raw = "";
	if ((fg.m = mock_start(&fg.answer, 1)) == NULL)
		fg_die("mock_start", "no loopback listener");
	mock_url(fg.m, "", url, sizeof(url));
	if (buf_printf(&cfg, "{\"auth\":{\"apiKeys\":[\"" FG_API_KEY "\"]},"
	    "\"upstream\":{\"githubUrl\":\"%s\",\"githubApiUrl\":\"%s\","
	    "\"copilotApiUrl\":\"%s\",\"anthropicApiUrl\":\"%s\"},"
	    "\"timeouts\":{\"connectSeconds\":1,\"stallSeconds\":2},"
	    "\"logLevel\":\"error\"%s%s}", url, url, url, url,
	    *extra ? "," : "", extra) != GW_OK ||
	    buf_printf(&path, "%s/config.json", fg.home) != GW_OK)
		fg_die("config", "out of memory");
	if ((f = fopen(path.data, "w")) == NULL ||
	    fwrite(cfg.data, 1, cfg.len, f) != cfg.len || fclose(f) != 0)
		fg_die("config", path.data);
	log_set_level(LOG_ERROR);
	if (up_global_init() != GW_OK)
		fg_die("up_global_init", "libcurl");
	if (app_init(&fg.app, 0, &err) != GW_OK ||
	    worker_init(&fg.w, &fg.app, &err) != GW_OK)
		fg_die("app", buf_cstr(&err));
	fg_fast_db();
	fg_seed();
	buf_free(&cfg);
	buf_free(&path);
	buf_free(&err);
}

/* The fake's next answer (every upstream request until the next call):
 * status, Content-Type, body (borrowed until fg_serve returns). */
static void
fg_answer(int status, const char *ctype, const char *body, size_t len)
{
	pthread_mutex_lock(&fg.m->mu);
	snprintf(fg.ctype, sizeof(fg.ctype), "Content-Type: %s\r\n", ctype);
	fg.answer.status = status;
	fg.answer.headers = fg.ctype;
	fg.answer.raw = body;
	fg.answer.raw_len = len;
	fg.m->requests = 0;
	buf_reset(&fg.m->request_lines);
	pthread_mutex_unlock(&fg.m->mu);
}

/* A HEAD request: its answer has the headers of a GET and no body. */
static int
fg_is_head(char **env)
{
	for (; *env != NULL; env++)
		if (strncmp(*env, "REQUEST_METHOD=", 15) == 0 &&
		    strcasecmp(*env + 15, "HEAD") == 0)
			return 1;
	return 0;
}

static void
fg_check_reply(const struct buf *out, int head)
{
	const char *raw = buf_cstr(out), *sep, *ct;
	size_t blen;
	long status;
	int relayed;

	if (strncmp(raw, "Status: ", 8) != 0)
		fg_die("no status line", raw);
	status = strtol(raw + 8, NULL, 10);
	if (status < 100 || status > 599)
		fg_die("bad status", raw);
	if ((sep = strstr(raw, "\r\n\r\n")) == NULL)
		fg_die("header block not ended", raw);
	ct = strcasestr(raw, "\r\nContent-Type: application/json");
	blen = out->len - (size_t)(sep + 4 - raw);
	/* a pass-through route relays the upstream's bytes and type as is */
	relayed = blen == fg.answer.raw_len &&
	    memcmp(sep + 4, fg.answer.raw, blen) == 0;
	if (ct != NULL && ct < sep && !relayed && !(head && blen == 0)) {
		cJSON *v = json_parse(sep + 4, blen, NULL, NULL);

		if (v == NULL)
			fg_die("JSON body does not parse", raw);
		cJSON_Delete(v);
	}
}

/* One request through the gateway; *out (if not NULL) gets a copy of
 * everything written (caller frees).  Returns the status. */
static int
fg_serve(char **env, const char *body, size_t blen, char **out)
{
	struct http_server_opts o;
	struct http_mem_io mio;
	struct http_io io;
	int status;

	if (util_now_ms() - fg.seeded_ms > 60000)
		fg_seed();
	memset(&o, 0, sizeof(o));
	o.handle = routes_handle;
	o.limits.max_body = (size_t)fg.app.cfg->max_body_bytes;
	http_mem_io_init(&mio, body, blen, env);
	http_io_mem(&io, &mio);
	http_server_serve(&o, &fg.w, &io);
	fg_check_reply(&mio.out, fg_is_head(env));
	status = (int)strtol(buf_cstr(&mio.out) + 8, NULL, 10);
	if (out != NULL && (*out = strdup(buf_cstr(&mio.out))) == NULL)
		fg_die("strdup", "out of memory");
	http_mem_io_free(&mio);
	fg.execs++;
	return status;
}

#endif
