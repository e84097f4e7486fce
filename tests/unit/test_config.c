#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/util.h"
#include "state/config.c"
#include "state/paths.c"

/* ---- helpers ---- */

static char tmp_root[4096];

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void
setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmp_root, sizeof(tmp_root), "%s/gwcfgXXXXXX",
	    t != NULL && *t != '\0' ? t : P_tmpdir);
	ck_assert_ptr_nonnull(mkdtemp(tmp_root));
	/* CK_FORK=no (valgrind) shares the environment between tests. */
	unsetenv("COPILOT_API_HOME");
	unsetenv("COPILOT_API_ENTERPRISE_URL");
	unsetenv("COPILOT_API_OAUTH_APP");
	unsetenv("COPILOT_API_ACCOUNT_TYPE");
	unsetenv("ANTHROPIC_API_KEY");
}

static void
teardown(void)
{
	nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* malloc'd path inside the test's temp dir. */
static char *
tpath(const char *name)
{
	char *p = NULL;

	ck_assert_int_eq(paths_join(tmp_root, name, &p), GW_OK);
	return p;
}

static char *
fixture(const char *name)
{
	const char *d = getenv("GW_TEST_DATA");
	struct buf b = BUF_INIT;

	ck_assert_int_eq(buf_printf(&b, "%s/config/%s",
	    d != NULL ? d : "tests/fixtures", name), GW_OK);
	return buf_detach(&b);
}

static void
write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(s, 1, strlen(s), f), strlen(s));
	ck_assert_int_eq(fclose(f), 0);
}

/* Whole file as a string; NULL when missing. */
static char *
read_text(const char *path)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ck_assert_int_eq(buf_append(&b, chunk, n), GW_OK);
	fclose(f);
	if (b.data == NULL)
		ck_assert_int_eq(buf_puts(&b, ""), GW_OK);
	return buf_detach(&b);
}

static void
copy_fixture(const char *name, const char *dst)
{
	char *src = fixture(name), *s = read_text(src);

	ck_assert_ptr_nonnull(s);
	write_text(dst, s);
	free(s);
	free(src);
}

static struct cfg *
load_text(const char *text)
{
	char *p = tpath("config.json");
	struct buf err = BUF_INIT;
	struct cfg *c = NULL;

	write_text(p, text);
	ck_assert_msg(cfg_load(p, &c, &err) == GW_OK, "load: %s", buf_cstr(&err));
	buf_free(&err);
	free(p);
	return c;
}

/* Names in the temp dir other than the given ones. */
static int
count_other_files(const char *keep1, const char *keep2)
{
	DIR *d = opendir(tmp_root);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    (keep1 != NULL && strcmp(de->d_name, keep1) == 0) ||
		    (keep2 != NULL && strcmp(de->d_name, keep2) == 0))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

/* Redirects stderr (the log) into a file until stderr_end(). */
static int
stderr_begin(const char *path)
{
	int saved, fd;

	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	close(fd);
	return saved;
}

static char *
stderr_end(int saved, const char *path)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	return read_text(path);
}

static int
is_hex64(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

/* ---- paths ---- */

START_TEST(paths_home_env_and_home)
{
	char *p = NULL;

	setenv("COPILOT_API_HOME", "/srv/gw//", 1);
	ck_assert_int_eq(paths_home(&p), GW_OK);
	ck_assert_str_eq(p, "/srv/gw");
	free(p);
	setenv("COPILOT_API_HOME", "", 1);
	setenv("HOME", "/home/u/", 1);
	ck_assert_int_eq(paths_home(&p), GW_OK);
	ck_assert_str_eq(p, "/home/u/.local/share/copilot-api");
	free(p);
	ck_assert_int_eq(paths_in_home("config.json", &p), GW_OK);
	ck_assert_str_eq(p, "/home/u/.local/share/copilot-api/config.json");
	free(p);
	unsetenv("COPILOT_API_HOME");
	unsetenv("HOME");
	ck_assert_int_eq(paths_home(&p), GW_EINVAL);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(paths_join_slashes)
{
	char *p = NULL;

	ck_assert_int_eq(paths_join("/a/b", "c", &p), GW_OK);
	ck_assert_str_eq(p, "/a/b/c");
	free(p);
	ck_assert_int_eq(paths_join("/a/b/", "/c", &p), GW_OK);
	ck_assert_str_eq(p, "/a/b/c");
	free(p);
}
END_TEST

START_TEST(paths_ensure_dir_nested)
{
	char *d = tpath("x/y//z"), *f = tpath("file");
	struct stat st;

	ck_assert_int_eq(paths_ensure_dir(d), GW_OK);
	ck_assert_int_eq(stat(d, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0077, 0);
	ck_assert_int_eq(paths_ensure_dir(d), GW_OK);   /* existing is fine */
	write_text(f, "x");
	ck_assert_int_eq(paths_ensure_dir(f), GW_EIO);
	free(d);
	free(f);
}
END_TEST

START_TEST(paths_write_atomic_mode_and_cleanup)
{
	char *p = tpath("secret.json"), *s, *bad;
	struct buf err = BUF_INIT;
	struct stat st;

	write_text(p, "old");
	chmod(p, 0644);
	ck_assert_int_eq(paths_write_atomic(p, "new\n", 4, &err), GW_OK);
	s = read_text(p);
	ck_assert_str_eq(s, "new\n");
	free(s);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(count_other_files("secret.json", NULL), 0);
	bad = tpath("missing-dir/f");
	ck_assert_int_eq(paths_write_atomic(bad, "x", 1, &err), GW_EIO);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "missing-dir"));
	ck_assert_int_eq(count_other_files("secret.json", NULL), 0);
	buf_free(&err);
	free(bad);
	free(p);
}
END_TEST

/* ---- load: defaults ---- */

static void
assert_defaults(const struct cfg *c)
{
	ck_assert_uint_eq(c->api_keys.n, 0);
	ck_assert_ptr_null(c->admin_api_key);
	ck_assert_uint_eq(c->n_providers, 0);
	ck_assert_uint_eq(c->model_mappings.n, 0);
	ck_assert_str_eq(c->small_model, "gpt-5-mini");
	ck_assert_uint_eq(c->context_mgmt_models.n, 0);
	ck_assert_int_eq(c->use_messages_api, 1);
	ck_assert_int_eq(c->use_responses_ws, 1);
	ck_assert_int_eq(c->use_responses_web_search, 1);
	ck_assert_str_eq(c->web_search_model, "gpt-5-mini");
	ck_assert_double_eq_tol(c->claude_token_multiplier, 1.15, 1e-9);
	ck_assert_ptr_null(c->anthropic_api_key);
	ck_assert_ptr_null(c->upstream_github_url);
	ck_assert_ptr_null(c->upstream_copilot_url);
	ck_assert_str_eq(c->anthropic_api_url, "https://api.anthropic.com");
	ck_assert_int_eq(c->account_type, CFG_ACCOUNT_INDIVIDUAL);
	ck_assert_int_eq(c->oauth_app, CFG_OAUTH_DEFAULT);
	ck_assert_ptr_null(c->enterprise_domain);
	ck_assert_int_eq(c->max_body_bytes, 33554432);
	ck_assert_int_eq(c->max_inflight_bytes, 67108864);
	ck_assert_int_eq(c->connect_timeout_s, 10);
	ck_assert_int_eq(c->stall_timeout_s, 600);
	ck_assert_int_eq(c->ping_interval_s, 15);
	ck_assert_int_eq(c->rate_limit_s, 0);
	ck_assert_int_eq(c->rate_limit_wait, 0);
	ck_assert_int_eq(c->accounts_strategy, CFG_STRATEGY_AFFINITY_QUOTA);
	ck_assert_int_eq(c->manual_approval, 0);
	ck_assert_int_eq(c->approval_timeout_s, 300);
	ck_assert_int_eq(c->log_level, LOG_INFO);
	ck_assert_str_eq(cfg_github_url(c), "https://github.com");
	ck_assert_str_eq(cfg_github_api_url(c), "https://api.github.com");
	ck_assert_str_eq(cfg_copilot_url_fallback(c),
	    "https://api.githubcopilot.com");
	/* 1.14.7: only gpt-5-mini is written; gpt-5.3 onwards default xhigh
	 * and the commentary prompt */
	ck_assert_uint_eq(c->extra_prompts.n, 1);
	ck_assert_uint_eq(c->reasoning_efforts.n, 1);
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-5-mini"), "low");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-5.3-codex"), "xhigh");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-5.4-mini"), "xhigh");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-5.4"), "xhigh");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-5.5"), "xhigh");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-6"), "xhigh");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-10.0"), "xhigh");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-5.2"), "high");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-5"), "high");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-5-codex"), "high");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-4.1"), "high");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-x"), "high");
	ck_assert_str_eq(cfg_reasoning_effort(c, "my-gpt-5.4"), "high");
	ck_assert_str_eq(cfg_reasoning_effort(c, "claude-opus"), "high");
	ck_assert_ptr_nonnull(strstr(cfg_extra_prompt(c, "gpt-5-mini"),
	    "parallel"));
	ck_assert_ptr_nonnull(strstr(cfg_extra_prompt(c, "gpt-5.5"),
	    "commentary"));
	ck_assert_str_eq(cfg_extra_prompt(c, "gpt-5.4"),
	    cfg_extra_prompt(c, "gpt-5.3-codex"));
	ck_assert_str_eq(cfg_extra_prompt(c, "gpt-5.6-sol"),
	    cfg_extra_prompt(c, "gpt-5.5"));
	ck_assert_ptr_null(cfg_extra_prompt(c, "gpt-4.1"));
	ck_assert_ptr_null(cfg_extra_prompt(c, "gpt-5.2"));
	ck_assert_ptr_null(cfg_model_mapping(c, "gpt-5-mini"));
	/* contextManagement: messages on, responses off (1.14.7) */
	ck_assert(cfg_context_mgmt(c, 0, "gpt-5.4"));
	ck_assert(!cfg_context_mgmt(c, 1, "gpt-5.4"));
	ck_assert_double_eq(cfg_compact_threshold(c, "gpt-5.4"), 217600);
	ck_assert_double_eq(cfg_compact_threshold(c, "gpt-5.5"), 217600);
	ck_assert_double_eq(cfg_compact_threshold(c, "gpt-5.6-luna"), 231200);
	ck_assert_double_eq(cfg_compact_threshold(c, "gpt-5.4-mini"), 0);
	ck_assert_double_eq(cfg_compact_threshold(c, NULL), 0);
}

START_TEST(load_missing_gives_defaults)
{
	char *p = tpath("config.json");
	struct cfg *c = NULL;

	ck_assert_int_eq(cfg_load(p, &c, NULL), GW_OK);
	assert_defaults(c);
	/* the tree holds the would-be-written defaults */
	ck_assert(cJSON_IsObject(json_obj(c->root, "extraPrompts")));
	ck_assert_int_eq(access(p, F_OK), -1);     /* load never writes */
	cfg_free(c);
	free(p);
}
END_TEST

START_TEST(load_blank_gives_defaults)
{
	static const char *const blanks[] = { "", "  \n\t\r\n" };
	char *p = tpath("config.json"), *s;
	struct cfg *c;
	size_t i;

	for (i = 0; i < ARRAY_LEN(blanks); i++) {
		c = load_text(blanks[i]);
		assert_defaults(c);
		cfg_free(c);
		s = read_text(p);
		ck_assert_str_eq(s, blanks[i]);
		free(s);
	}
	free(p);
}
END_TEST

START_TEST(load_literal_empty_object)
{
	struct cfg *c = load_text("{}");

	assert_defaults(c);
	cfg_free(c);
}
END_TEST

/* ---- load: every key ---- */

START_TEST(load_full)
{
	char *p = fixture("full.json");
	struct buf err = BUF_INIT;
	const struct cfg_provider *pr;
	struct cfg *c = NULL;

	ck_assert_msg(cfg_load(p, &c, &err) == GW_OK, "%s", buf_cstr(&err));
	ck_assert_uint_eq(c->api_keys.n, 2);
	ck_assert_str_eq(c->api_keys.v[0], "key-one");
	ck_assert_str_eq(c->api_keys.v[1], "key-two");
	ck_assert_str_eq(c->admin_api_key, "admin-secret");
	ck_assert_uint_eq(c->n_providers, 1);
	pr = cfg_provider_find(c, " claude ");
	ck_assert_ptr_nonnull(pr);
	ck_assert_str_eq(pr->base_url, "https://api.example.com");
	ck_assert_str_eq(pr->api_key, "sk-claude");
	ck_assert_int_eq(pr->type, CFG_PROVIDER_ANTHROPIC);
	ck_assert_int_eq(pr->auth_type, CFG_AUTH_X_API_KEY);
	ck_assert_int_eq(pr->adjust_input_tokens, 1);
	ck_assert_ptr_nonnull(pr->models);
	ck_assert_double_eq_tol(json_num(json_obj(pr->models, "claude-x"),
	    "temperature", 0), 0.5, 1e-9);
	ck_assert_str_eq(cfg_model_mapping(c, "claude-sonnet-4"), "gpt-5.4");
	ck_assert_str_eq(cfg_extra_prompt(c, "gpt-5.4"), "Be brief.");
	ck_assert_str_eq(cfg_extra_prompt(c, "my-model"), "Hello.");
	/* untouched defaults are still merged in */
	ck_assert_ptr_nonnull(strstr(cfg_extra_prompt(c, "gpt-5-mini"),
	    "parallel"));
	ck_assert_uint_eq(c->extra_prompts.n, 3);
	ck_assert_str_eq(c->small_model, "gpt-4.1-mini");
	/* contextManagement as written; the 1.10.10 list still enables */
	ck_assert(!cfg_context_mgmt(c, 0, "gpt-5"));
	ck_assert(cfg_context_mgmt(c, 0, "gpt-5.5"));
	ck_assert(cfg_context_mgmt(c, 1, "gpt-5"));
	/* user thresholds over the defaults */
	ck_assert_double_eq(cfg_compact_threshold(c, "gpt-5.4"), 100000);
	ck_assert_double_eq(cfg_compact_threshold(c, "my-model"), 5000.5);
	ck_assert_double_eq(cfg_compact_threshold(c, "gpt-5.5"), 217600);
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-5-mini"), "medium");
	ck_assert_str_eq(cfg_reasoning_effort(c, "o3"), "minimal");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-5.4"), "xhigh");
	ck_assert_int_eq(c->use_messages_api, 0);
	ck_assert_int_eq(c->use_responses_ws, 0);
	ck_assert_int_eq(c->use_responses_web_search, 0);
	ck_assert_double_eq_tol(c->claude_token_multiplier, 1.5, 1e-9);
	ck_assert_str_eq(cfg_anthropic_api_key(c), "sk-ant-file");
	ck_assert_str_eq(c->upstream_github_url, "http://127.0.0.1:9001");
	ck_assert_str_eq(c->anthropic_api_url, "http://127.0.0.1:9004");
	ck_assert_int_eq(c->account_type, CFG_ACCOUNT_BUSINESS);
	ck_assert_int_eq(c->oauth_app, CFG_OAUTH_OPENCODE);
	ck_assert_str_eq(c->enterprise_domain, "ghe.example.com");
	ck_assert_int_eq(c->max_body_bytes, 2048);
	ck_assert_int_eq(c->connect_timeout_s, 5);
	ck_assert_int_eq(c->stall_timeout_s, 0);
	ck_assert_int_eq(c->ping_interval_s, 30);
	ck_assert_int_eq(c->rate_limit_s, 7);
	ck_assert_int_eq(c->rate_limit_wait, 1);
	ck_assert_int_eq(c->log_level, LOG_DEBUG);
	/* explicit upstream.* beats the enterprise domain */
	ck_assert_str_eq(cfg_github_url(c), "http://127.0.0.1:9001");
	ck_assert_str_eq(cfg_github_api_url(c), "http://127.0.0.1:9002");
	ck_assert_str_eq(cfg_copilot_url_fallback(c), "http://127.0.0.1:9003");
	ck_assert_str_eq(cfg_copilot_url(c, "https://api.individual.x"),
	    "http://127.0.0.1:9003");
	cfg_free(c);
	buf_free(&err);
	free(p);
}
END_TEST

/* issue 12: who may use an open gateway, compared lower-case */
START_TEST(load_access_lists)
{
	struct cfg *c = load_text("{\"allowedHosts\":[\"GW.Example\"],"
	    "\"cors\":{\"allowedOrigins\":[\"http://LocalHost:3000/\",\"*\"]}}");

	ck_assert_uint_eq(c->allowed_hosts.n, 1);
	ck_assert_str_eq(c->allowed_hosts.v[0], "gw.example");
	ck_assert_uint_eq(c->allowed_origins.n, 2);
	ck_assert_str_eq(c->allowed_origins.v[0], "http://localhost:3000");
	ck_assert_str_eq(c->allowed_origins.v[1], "*");
	cfg_free(c);
}
END_TEST

START_TEST(load_inflight_budget)
{
	struct cfg *c = load_text("{\"limits\":{\"maxBodyBytes\":2048,"
	    "\"maxBodyBytesInFlight\":4096}}");

	ck_assert_int_eq(c->max_body_bytes, 2048);
	ck_assert_int_eq(c->max_inflight_bytes, 4096);
	cfg_free(c);
}
END_TEST

/* storage: sqlite by default; postgresql with a URL libpq takes, whose
 * password no message repeats. */
START_TEST(load_storage)
{
	struct cfg *c = load_text("{}");
	struct buf err = BUF_INIT;
	char *p = tpath("config.json");

	ck_assert_int_eq(c->storage_driver, CFG_STORAGE_SQLITE);
	ck_assert_ptr_null(c->storage_url);
	cfg_free(c);
	c = load_text("{\"storage\":{\"driver\":\"sqlite\"}}");
	ck_assert_int_eq(c->storage_driver, CFG_STORAGE_SQLITE);
	cfg_free(c);
#ifdef GW_HAVE_LIBPQ
	c = load_text("{\"storage\":{\"driver\":\"postgresql\",\"url\":"
	    "\" postgresql://gw:pw@db.example:5432/gw?sslmode=require \"}}");
	ck_assert_int_eq(c->storage_driver, CFG_STORAGE_POSTGRESQL);
	ck_assert_str_eq(c->storage_url,
	    "postgresql://gw:pw@db.example:5432/gw?sslmode=require");
	cfg_free(c);
	c = load_text("{\"storage\":{\"driver\":\"postgresql\",\"url\":"
	    "\"postgres://db.example/gw\"}}");
	ck_assert_int_eq(c->storage_driver, CFG_STORAGE_POSTGRESQL);
	cfg_free(c);
	c = NULL;
	write_text(p, "{\"storage\":{\"driver\":\"postgresql\"}}");
	ck_assert_int_eq(cfg_load(p, &c, &err), GW_ECONFIG);
	ck_assert_msg(strstr(buf_cstr(&err), "needs \"storage.url\"") != NULL,
	    "%s", buf_cstr(&err));
	write_text(p, "{\"storage\":{\"driver\":\"postgresql\",\"url\":"
	    "\"mysql://gw:secret@h/db\"}}");
	ck_assert_int_eq(cfg_load(p, &c, &err), GW_ECONFIG);
	ck_assert_msg(strstr(buf_cstr(&err), "must be a postgresql:// URL") !=
	    NULL, "%s", buf_cstr(&err));
	ck_assert_ptr_null(strstr(buf_cstr(&err), "secret"));
	write_text(p, "{\"storage\":{\"driver\":\"postgresql\",\"url\":"
	    "\"postgresql://gw:se%zzcret@h:5432/db\"}}");
	ck_assert_int_eq(cfg_load(p, &c, &err), GW_ECONFIG);
	ck_assert_msg(strstr(buf_cstr(&err), "is not a valid PostgreSQL URL") !=
	    NULL, "%s", buf_cstr(&err));
	ck_assert_ptr_null(strstr(buf_cstr(&err), "cret"));
#else
	write_text(p, "{\"storage\":{\"driver\":\"postgresql\",\"url\":"
	    "\"postgresql://h/db\"}}");
	ck_assert_int_eq(cfg_load(p, &c, &err), GW_ECONFIG);
	ck_assert_msg(strstr(buf_cstr(&err), "--without-libpq") != NULL, "%s",
	    buf_cstr(&err));
#endif
	ck_assert_ptr_null(c);
	buf_free(&err);
	free(p);
}
END_TEST

/* ---- load: errors ---- */

static const struct {
	const char *json;
	const char *needle;   /* must appear in the message */
} type_errors[] = {
	{ "[]", "top level must be a JSON object" },
	{ "\"x\"", "top level must be a JSON object" },
	{ "{\"auth\":[]}", "\"auth\" must be an object" },
	{ "{\"providers\":[]}", "\"providers\" must be an object" },
	{ "{\"extraPrompts\":\"x\"}", "\"extraPrompts\" must be an object" },
	{ "{\"extraPrompts\":{\"m\":1}}", "\"extraPrompts\" entry \"m\" must be a string" },
	{ "{\"smallModel\":5}", "\"smallModel\" must be a string" },
	{ "{\"smallModel\":\"  \"}", "\"smallModel\" must be a non-empty string" },
	{ "{\"responsesApiContextManagementModels\":\"gpt\"}",
	  "\"responsesApiContextManagementModels\" must be an array of strings" },
	{ "{\"responsesApiContextManagementModels\":[1]}",
	  "\"responsesApiContextManagementModels\" must be an array of strings" },
	{ "{\"modelReasoningEfforts\":[]}", "\"modelReasoningEfforts\" must be an object" },
	{ "{\"contextManagement\":true}", "\"contextManagement\" must be an object" },
	{ "{\"contextManagement\":{\"messages\":1}}",
	  "\"contextManagement.messages\" must be true or false" },
	{ "{\"contextManagement\":{\"responses\":\"yes\"}}",
	  "\"contextManagement.responses\" must be true or false" },
	{ "{\"modelResponsesApiCompactThresholds\":[]}",
	  "\"modelResponsesApiCompactThresholds\" must be an object" },
	{ "{\"modelResponsesApiCompactThresholds\":{\"gpt-5.4\":0}}",
	  "\"modelResponsesApiCompactThresholds\" entry \"gpt-5.4\" must be a number greater than 0" },
	{ "{\"modelResponsesApiCompactThresholds\":{\"gpt-5.4\":\"1\"}}",
	  "\"modelResponsesApiCompactThresholds\" entry \"gpt-5.4\" must be a number greater than 0" },
	{ "{\"modelReasoningEfforts\":{\"gpt-5\":\"extreme\"}}",
	  "\"modelReasoningEfforts\" entry \"gpt-5\" must be one of none, minimal, low, medium, high, xhigh, max" },
	{ "{\"modelReasoningEfforts\":{\"gpt-5\":3}}", "\"modelReasoningEfforts\" entry \"gpt-5\"" },
	{ "{\"useMessagesApi\":\"yes\"}", "\"useMessagesApi\" must be true or false" },
	{ "{\"useResponsesApiWebSocket\":1}", "\"useResponsesApiWebSocket\" must be true or false" },
	{ "{\"useResponsesApiWebSearch\":{}}", "\"useResponsesApiWebSearch\" must be true or false" },
	{ "{\"claudeTokenMultiplier\":\"1.2\"}", "\"claudeTokenMultiplier\" must be a number greater than 0" },
	{ "{\"claudeTokenMultiplier\":0}", "\"claudeTokenMultiplier\" must be a number greater than 0" },
	{ "{\"claudeTokenMultiplier\":-1}", "\"claudeTokenMultiplier\"" },
	{ "{\"anthropicApiKey\":1}", "\"anthropicApiKey\" must be a string" },
	{ "{\"upstream\":\"http://x\"}", "\"upstream\" must be an object" },
	{ "{\"upstream\":{\"githubUrl\":1}}", "\"upstream.githubUrl\" must be a string" },
	{ "{\"upstream\":{\"githubApiUrl\":\"ftp://x\"}}", "\"upstream.githubApiUrl\" must be an http:// or https:// URL" },
	{ "{\"upstream\":{\"copilotApiUrl\":\"https://\"}}", "\"upstream.copilotApiUrl\" must be an http" },
	{ "{\"upstream\":{\"anthropicApiUrl\":\"http://a b\"}}", "\"upstream.anthropicApiUrl\" must be an http" },
	{ "{\"upstream\":{\"codexAuthUrl\":\"ftp://x\"}}", "\"upstream.codexAuthUrl\" must be an http" },
	{ "{\"accountType\":\"team\"}", "\"accountType\" must be one of individual, business, enterprise" },
	{ "{\"accountType\":1}", "\"accountType\" must be a string" },
	{ "{\"oauthApp\":\"vscode\"}", "\"oauthApp\" must be one of default, opencode" },
	{ "{\"enterpriseUrl\":7}", "\"enterpriseUrl\" must be a string" },
	{ "{\"enterpriseUrl\":\"ghe example.com\"}", "\"enterpriseUrl\" must be a host name" },
	{ "{\"limits\":1}", "\"limits\" must be an object" },
	{ "{\"limits\":{\"maxBodyBytes\":1023}}", "\"limits.maxBodyBytes\" must be an integer from 1024 to 1073741824" },
	{ "{\"limits\":{\"maxBodyBytes\":1073741825}}", "\"limits.maxBodyBytes\"" },
	{ "{\"limits\":{\"maxBodyBytes\":2048.5}}", "\"limits.maxBodyBytes\"" },
	{ "{\"limits\":{\"maxBodyBytes\":\"2048\"}}", "\"limits.maxBodyBytes\"" },
	{ "{\"limits\":{\"maxBodyBytesInFlight\":1023}}", "\"limits.maxBodyBytesInFlight\" must be an integer from 1024 to 17179869184" },
	{ "{\"limits\":{\"maxBodyBytes\":4096,\"maxBodyBytesInFlight\":2048}}", "\"limits.maxBodyBytesInFlight\" must be at least \"limits.maxBodyBytes\"" },
	{ "{\"allowedHosts\":\"gw.example\"}", "\"allowedHosts\" must be an array of strings" },
	{ "{\"cors\":[]}", "\"cors\" must be an object" },
	{ "{\"cors\":{\"allowedOrigins\":[null]}}", "\"cors.allowedOrigins\" must be an array of strings" },
	{ "{\"timeouts\":[]}", "\"timeouts\" must be an object" },
	{ "{\"timeouts\":{\"connectSeconds\":0}}", "\"timeouts.connectSeconds\" must be an integer" },
	{ "{\"timeouts\":{\"stallSeconds\":-1}}", "\"timeouts.stallSeconds\" must be an integer" },
	{ "{\"timeouts\":{\"pingSeconds\":601}}", "\"timeouts.pingSeconds\" must be an integer from 1 to 600" },
	{ "{\"timeouts\":{\"pingSeconds\":0}}", "\"timeouts.pingSeconds\"" },
	{ "{\"rateLimit\":true}", "\"rateLimit\" must be an object" },
	{ "{\"rateLimit\":{\"seconds\":-5}}", "\"rateLimit.seconds\" must be an integer" },
	{ "{\"rateLimit\":{\"wait\":\"no\"}}", "\"rateLimit.wait\" must be true or false" },
	{ "{\"metrics\":{\"public\":\"yes\"}}", "\"metrics.public\" must be true or false" },
	{ "{\"metrics\":true}", "\"metrics\" must be an object" },
	{ "{\"manualApproval\":1}", "\"manualApproval\" must be true or false" },
	{ "{\"manualApprovalTimeoutSeconds\":0}",
	    "\"manualApprovalTimeoutSeconds\" must be an integer from 1 to 86400" },
	{ "{\"logLevel\":\"verbose\"}", "\"logLevel\" must be one of error, warn, info, debug" },
	{ "{\"storage\":\"sqlite\"}", "\"storage\" must be an object" },
	{ "{\"storage\":{\"driver\":1}}", "\"storage.driver\" must be a string" },
	{ "{\"storage\":{\"driver\":\"mysql\"}}", "\"storage.driver\" must be one of sqlite, postgresql" },
	{ "{\"storage\":{\"url\":\"postgresql://h/db\"}}", "\"storage.url\" is for the postgresql driver" },
	{ "{\"storage\":{\"driver\":\"postgresql\",\"url\":5}}", "\"storage.url\" must be a string" },
	{ "{\"accounts\":[]}", "\"accounts\" must be an object" },
	{ "{\"accounts\":{\"strategy\":\"random\"}}",
	    "\"accounts.strategy\" must be one of affinity-quota, round-robin, fill-first" },
	{ "{\"accounts\":{\"strategy\":1}}", "\"accounts.strategy\" must be a string" },
};

START_TEST(load_type_errors)
{
	char *p = tpath("config.json");
	struct buf err = BUF_INIT;
	struct cfg *c = NULL;

	write_text(p, type_errors[_i].json);
	ck_assert_int_eq(cfg_load(p, &c, &err), GW_ECONFIG);
	ck_assert_ptr_null(c);
	ck_assert_msg(util_has_prefix(buf_cstr(&err), "config.json: "),
	    "%s", buf_cstr(&err));
	ck_assert_msg(strstr(buf_cstr(&err), type_errors[_i].needle) != NULL,
	    "%s: got \"%s\"", type_errors[_i].json, buf_cstr(&err));
	/* also without an errmsg buffer */
	ck_assert_int_eq(cfg_load(p, &c, NULL), GW_ECONFIG);
	buf_free(&err);
	free(p);
}
END_TEST

START_TEST(accounts_strategy_parsed)
{
	static const char *const names[] = { "affinity-quota", "round-robin",
	    "fill-first" };
	char json[128];
	struct cfg *c;
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(json, sizeof(json), "{\"accounts\":{\"strategy\":\"%s\"}}",
		    names[i]);
		c = load_text(json);
		ck_assert_int_eq(c->accounts_strategy, i);
		cfg_free(c);
	}
	ck_assert_int_eq(CFG_STRATEGY_FILL_FIRST, 2);
}
END_TEST

START_TEST(load_null_means_absent)
{
	struct cfg *c = load_text("{\"smallModel\":null,\"useMessagesApi\":null,"
	    "\"upstream\":{\"githubUrl\":null},\"limits\":null}");

	ck_assert_str_eq(c->small_model, "gpt-5-mini");
	ck_assert_int_eq(c->use_messages_api, 1);
	ck_assert_str_eq(cfg_github_url(c), "https://github.com");
	cfg_free(c);
}
END_TEST

START_TEST(corrupt_reports_position_and_is_never_written)
{
	char *p = tpath("config.json"), *orig, *after;
	struct buf err = BUF_INIT;
	struct cfg *c = NULL;
	struct stat st1, st2;
	cJSON *m;

	copy_fixture("corrupt.json", p);
	orig = read_text(p);
	ck_assert_int_eq(stat(p, &st1), 0);
	ck_assert_int_eq(cfg_load(p, &c, &err), GW_ECONFIG);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(buf_cstr(&err),
	    "config.json: invalid JSON at line 3, column 17");
	ck_assert_int_eq(cfg_ensure_admin_key(p, &err), GW_ECONFIG);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "line 3, column 17"));
	m = cJSON_Parse("{\"a\":\"b\"}");
	ck_assert_int_eq(cfg_set_model_mappings(p, m, &err), GW_ECONFIG);
	cJSON_Delete(m);
	after = read_text(p);
	ck_assert_str_eq(after, orig);
	ck_assert_int_eq(stat(p, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	ck_assert_int_eq(count_other_files("config.json", "config.json.lock"), 0);
	free(orig);
	free(after);
	buf_free(&err);
	free(p);
}
END_TEST

START_TEST(non_object_top_level_is_never_written)
{
	char *p = tpath("config.json"), *s;
	struct buf err = BUF_INIT;

	write_text(p, "[1, 2]\n");
	ck_assert_int_eq(cfg_ensure_admin_key(p, &err), GW_ECONFIG);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "JSON object"));
	s = read_text(p);
	ck_assert_str_eq(s, "[1, 2]\n");
	free(s);
	buf_free(&err);
	free(p);
}
END_TEST

START_TEST(trailing_garbage_is_corrupt)
{
	char *p = tpath("config.json");
	struct buf err = BUF_INIT;
	struct cfg *c = NULL;

	write_text(p, "{}\n}");
	ck_assert_int_eq(cfg_load(p, &c, &err), GW_ECONFIG);
	ck_assert_str_eq(buf_cstr(&err),
	    "config.json: invalid JSON at line 2, column 1");
	buf_free(&err);
	free(p);
}
END_TEST

/* ---- auth ---- */

START_TEST(api_keys_normalised)
{
	char *p = fixture("apikeys.json");
	struct cfg *c = NULL;

	ck_assert_int_eq(cfg_load(p, &c, NULL), GW_OK);
	ck_assert_uint_eq(c->api_keys.n, 3);
	ck_assert_str_eq(c->api_keys.v[0], "alpha");
	ck_assert_str_eq(c->api_keys.v[1], "beta");
	ck_assert_str_eq(c->api_keys.v[2], "gamma");
	ck_assert_str_eq(c->admin_api_key, "padded-admin");
	cfg_free(c);
	free(p);
}
END_TEST

START_TEST(api_keys_not_array_warns_and_is_empty)
{
	char *p = fixture("apikeys_not_array.json"), *log = tpath("stderr.txt");
	struct cfg *c = NULL;
	char *text;
	int saved;

	saved = stderr_begin(log);
	ck_assert_int_eq(cfg_load(p, &c, NULL), GW_OK);
	text = stderr_end(saved, log);
	ck_assert_uint_eq(c->api_keys.n, 0);
	ck_assert_ptr_null(c->admin_api_key);
	ck_assert_ptr_nonnull(strstr(text, "warn"));
	ck_assert_ptr_nonnull(strstr(text, "auth.apiKeys"));
	ck_assert_ptr_nonnull(strstr(text, "auth.adminApiKey"));
	free(text);
	cfg_free(c);
	free(log);
	free(p);
}
END_TEST

START_TEST(blank_admin_key_is_none)
{
	struct cfg *c = load_text("{\"auth\":{\"adminApiKey\":\"   \"}}");

	ck_assert_ptr_null(c->admin_api_key);
	cfg_free(c);
}
END_TEST

/* ---- saving ---- */

START_TEST(pretty_printer_golden)
{
	char *in = fixture("pretty_in.json"), *exp = fixture("pretty_out.json");
	char *text = read_text(in), *want = read_text(exp);
	struct buf out = BUF_INIT;
	cJSON *v = cJSON_Parse(text);

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(cfg_format_json(v, &out), GW_OK);
	ck_assert_str_eq(buf_cstr(&out), want);
	cJSON_Delete(v);
	buf_free(&out);
	free(text);
	free(want);
	free(in);
	free(exp);
}
END_TEST

START_TEST(unknown_keys_survive_save)
{
	char *p = tpath("config.json"), *s;
	struct buf err = BUF_INIT;
	struct cfg *c = NULL;
	cJSON *m, *root;

	copy_fixture("unknown_keys.json", p);
	m = cJSON_Parse("{\"a\":\"b\"}");
	ck_assert_msg(cfg_set_model_mappings(p, m, &err) == GW_OK, "%s",
	    buf_cstr(&err));
	cJSON_Delete(m);
	s = read_text(p);
	root = cJSON_Parse(s);
	ck_assert_ptr_nonnull(root);
	/* key order kept, new key appended */
	ck_assert_str_eq(root->child->string, "zeta");
	ck_assert_str_eq(root->child->next->string, "auth");
	ck_assert_str_eq(json_str(root, "alpha"), "last \"quoted\" \\ \xc3\xa9\n");
	ck_assert_str_eq(json_str(json_obj(root, "auth"), "note"), "keep me");
	ck_assert_ptr_nonnull(json_obj(json_obj(json_obj(root, "providers"),
	    "claude"), "customField"));
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(json_obj(root, "zeta"),
	    "nested")), 7);
	ck_assert_str_eq(json_str(json_obj(root, "modelMappings"), "a"), "b");
	/* 2-space indentation and a trailing newline */
	ck_assert(util_has_prefix(s, "{\n  \"zeta\": {\n    \"nested\": [\n"));
	ck_assert_int_eq(s[strlen(s) - 1], '\n');
	ck_assert_ptr_null(strchr(s, '\t'));
	cJSON_Delete(root);
	free(s);

	/* cfg_save of a loaded cfg round-trips the unknown keys too */
	ck_assert_int_eq(cfg_load(p, &c, &err), GW_OK);
	write_text(p, "{\"other\": 1}");
	ck_assert_int_eq(cfg_save(c, p, &err), GW_OK);
	cfg_free(c);
	s = read_text(p);
	ck_assert_ptr_nonnull(strstr(s, "\"note\": \"keep me\""));
	ck_assert_ptr_null(strstr(s, "\"other\""));
	free(s);
	buf_free(&err);
	free(p);
}
END_TEST

START_TEST(save_is_atomic_0600_without_temp_files)
{
	char *p = tpath("config.json");
	struct buf err = BUF_INIT;
	struct stat st1, st2;
	cJSON *m;

	write_text(p, "{\"smallModel\": \"x\"}");
	chmod(p, 0644);
	ck_assert_int_eq(stat(p, &st1), 0);
	m = cJSON_Parse("{\"from\":\"to\"}");
	ck_assert_int_eq(cfg_set_model_mappings(p, m, &err), GW_OK);
	cJSON_Delete(m);
	ck_assert_int_eq(stat(p, &st2), 0);
	ck_assert_int_eq(st2.st_mode & 0777, 0600);
	/* replaced by rename, not rewritten in place */
	ck_assert_uint_ne(st1.st_ino, st2.st_ino);
	ck_assert_int_eq(count_other_files("config.json", "config.json.lock"), 0);
	buf_free(&err);
	free(p);
}
END_TEST

START_TEST(update_rejects_invalid_result)
{
	char *p = tpath("config.json"), *s;
	struct buf err = BUF_INIT;
	cJSON *m;

	/* the existing file has a type error: nothing may be written */
	write_text(p, "{\"useMessagesApi\": \"yes\"}");
	m = cJSON_Parse("{\"a\":\"b\"}");
	ck_assert_int_eq(cfg_set_model_mappings(p, m, &err), GW_ECONFIG);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "useMessagesApi"));
	cJSON_Delete(m);
	s = read_text(p);
	ck_assert_str_eq(s, "{\"useMessagesApi\": \"yes\"}");
	free(s);
	ck_assert_int_eq(count_other_files("config.json", "config.json.lock"), 0);
	buf_free(&err);
	free(p);
}
END_TEST

static enum gw_err
set_bad_effort(cJSON *root, void *arg)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "gpt-5", "turbo");
	return json_set(root, "modelReasoningEfforts", m);
}

static enum gw_err
fail_mutate(cJSON *root, void *arg)
{
	cJSON_AddStringToObject(root, "x", "y");
	return GW_EINVAL;
}

START_TEST(update_mutate_failures_write_nothing)
{
	char *p = tpath("config.json"), *s;
	struct buf err = BUF_INIT;

	write_text(p, "{}");
	ck_assert_int_eq(cfg_update_file(p, set_bad_effort, NULL, &err),
	    GW_ECONFIG);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "modelReasoningEfforts"));
	ck_assert_int_eq(cfg_update_file(p, fail_mutate, NULL, &err), GW_EINVAL);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "update failed"));
	s = read_text(p);
	ck_assert_str_eq(s, "{}");
	free(s);
	buf_free(&err);
	free(p);
}
END_TEST

static enum gw_err
bump_counter(cJSON *root, void *arg)
{
	double n = json_num(root, "counter", 0);

	return json_set(root, "counter", cJSON_CreateNumber(n + 1));
}

START_TEST(update_is_serialised_by_the_lock)
{
	enum { PROCS = 4, ROUNDS = 25 };
	char *p = tpath("config.json");
	struct cfg *c = NULL;
	int i, j, status;
	pid_t pid;

	write_text(p, "{\"keep\": true}");
	for (i = 0; i < PROCS; i++) {
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			status = 0;
			for (j = 0; j < ROUNDS && status == 0; j++)
				if (cfg_update_file(p, bump_counter, NULL, NULL) != GW_OK)
					status = 1;
			free(p);   /* the child's copy: keeps valgrind quiet */
			_exit(status);
		}
	}
	for (i = 0; i < PROCS; i++) {
		ck_assert_int_gt(wait(&status), 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_int_eq(cfg_load(p, &c, NULL), GW_OK);
	ck_assert_int_eq((int)json_num(c->root, "counter", 0), PROCS * ROUNDS);
	ck_assert(json_bool(c->root, "keep", 0));
	cfg_free(c);
	free(p);
}
END_TEST

/* ---- ensure_admin_key ---- */

START_TEST(ensure_admin_key_creates_file_with_defaults)
{
	char *p = tpath("config.json"), *s1, *s2;
	struct buf err = BUF_INIT;
	struct stat st1, st2;
	struct cfg *c = NULL;
	cJSON *root;

	ck_assert_msg(cfg_ensure_admin_key(p, &err) == GW_OK, "%s",
	    buf_cstr(&err));
	s1 = read_text(p);
	ck_assert_ptr_nonnull(s1);
	ck_assert_int_eq(stat(p, &st1), 0);
	ck_assert_int_eq(st1.st_mode & 0777, 0600);
	root = cJSON_Parse(s1);
	ck_assert_str_eq(root->child->string, "auth");
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(json_obj(root, "auth"),
	    "apiKeys")), 0);
	ck_assert(is_hex64(json_str(json_obj(root, "auth"), "adminApiKey")));
	ck_assert_int_eq(cJSON_GetArraySize(json_obj(root, "extraPrompts")), 1);
	ck_assert(json_bool(json_obj(root, "contextManagement"), "messages", 0));
	ck_assert(!json_bool(json_obj(root, "contextManagement"), "responses", 1));
	ck_assert_int_eq(cJSON_GetArraySize(json_obj(root,
	    "modelResponsesApiCompactThresholds")), 5);
	ck_assert_ptr_null(cJSON_GetObjectItem(root,
	    "responsesApiContextManagementModels"));
	ck_assert_int_eq(cJSON_GetArraySize(json_obj(root,
	    "modelReasoningEfforts")), 1);
	ck_assert_str_eq(json_str(root, "smallModel"), "gpt-5-mini");
	ck_assert(json_bool(root, "useResponsesApiWebSocket", 0));
	ck_assert_ptr_nonnull(json_obj(root, "providers"));
	ck_assert_ptr_null(json_obj(root, "upstream"));
	cJSON_Delete(root);

	/* second call: nothing to do, the file is not replaced */
	ck_assert_int_eq(cfg_ensure_admin_key(p, &err), GW_OK);
	ck_assert_int_eq(stat(p, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	s2 = read_text(p);
	ck_assert_str_eq(s1, s2);

	ck_assert_int_eq(cfg_load(p, &c, &err), GW_OK);
	ck_assert(is_hex64(c->admin_api_key));
	cfg_free(c);
	free(s1);
	free(s2);
	buf_free(&err);
	free(p);
}
END_TEST

START_TEST(ensure_admin_key_overwrites_blank_file)
{
	char *p = tpath("config.json"), *s;
	struct cfg *c = NULL;

	write_text(p, " \n");
	ck_assert_int_eq(cfg_ensure_admin_key(p, NULL), GW_OK);
	ck_assert_int_eq(cfg_load(p, &c, NULL), GW_OK);
	ck_assert(is_hex64(c->admin_api_key));
	cfg_free(c);
	s = read_text(p);
	ck_assert_ptr_nonnull(strstr(s, "\"smallModel\": \"gpt-5-mini\""));
	free(s);
	free(p);
}
END_TEST

START_TEST(ensure_admin_key_regenerates_bad_values)
{
	static const char *const bad[] = {
		"{\"auth\":{}}",
		"{\"auth\":{\"adminApiKey\":\"\"}}",
		"{\"auth\":{\"adminApiKey\":\"  \\t \"}}",
		"{\"auth\":{\"adminApiKey\":123}}",
		"{\"auth\":{\"adminApiKey\":null}}",
		"{\"auth\":null}",
		"{\"other\":1}",
	};
	char *p = tpath("config.json");
	struct cfg *c = NULL;
	char first[65];
	size_t i;

	first[0] = '\0';
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		write_text(p, bad[i]);
		ck_assert_int_eq(cfg_ensure_admin_key(p, NULL), GW_OK);
		ck_assert_int_eq(cfg_load(p, &c, NULL), GW_OK);
		ck_assert_msg(is_hex64(c->admin_api_key), "%s", bad[i]);
		/* random each time */
		ck_assert_str_ne(c->admin_api_key, first);
		snprintf(first, sizeof(first), "%s", c->admin_api_key);
		cfg_free(c);
	}
	free(p);
}
END_TEST

START_TEST(ensure_admin_key_trims_padded_key)
{
	char *p = tpath("config.json");
	struct cfg *c = NULL;
	const cJSON *k;

	write_text(p, "{\"auth\":{\"adminApiKey\":\"  my-key \\n\"}}");
	ck_assert_int_eq(cfg_ensure_admin_key(p, NULL), GW_OK);
	ck_assert_int_eq(cfg_load(p, &c, NULL), GW_OK);
	ck_assert_str_eq(c->admin_api_key, "my-key");
	k = cJSON_GetObjectItemCaseSensitive(json_obj(c->root, "auth"),
	    "adminApiKey");
	ck_assert_str_eq(k->valuestring, "my-key");
	cfg_free(c);
	free(p);
}
END_TEST

START_TEST(ensure_admin_key_merges_defaults_keeping_user_values)
{
	char *p = tpath("config.json");
	struct cfg *c = NULL;
	struct stat st1, st2;
	cJSON *ep, *re;

	write_text(p, "{\"auth\":{\"adminApiKey\":\"k\"},"
	    "\"extraPrompts\":{\"gpt-5.4\":\"user prompt\",\"x\":\"y\"},"
	    "\"modelReasoningEfforts\":{\"gpt-5-mini\":\"none\","
	    "\"claude-opus-4.7\":\"max\"}}");
	ck_assert_int_eq(cfg_ensure_admin_key(p, NULL), GW_OK);
	ck_assert_int_eq(cfg_load(p, &c, NULL), GW_OK);
	ck_assert_str_eq(c->admin_api_key, "k");
	ep = json_obj(c->root, "extraPrompts");
	re = json_obj(c->root, "modelReasoningEfforts");
	ck_assert_int_eq(cJSON_GetArraySize(ep), 3);
	ck_assert_str_eq(json_str(ep, "gpt-5.4"), "user prompt");
	ck_assert_str_eq(json_str(ep, "x"), "y");
	ck_assert_ptr_nonnull(json_str(ep, "gpt-5-mini"));
	ck_assert_ptr_null(json_str(ep, "gpt-5.5"));
	/* the context-management defaults merged in beside */
	ck_assert(json_bool(json_obj(c->root, "contextManagement"), "messages",
	    0));
	ck_assert_int_eq(cJSON_GetArraySize(json_obj(c->root,
	    "modelResponsesApiCompactThresholds")), 5);
	/* 1.14.7 writes no effort default but gpt-5-mini's; "max" is valid */
	ck_assert_int_eq(cJSON_GetArraySize(re), 2);
	ck_assert_str_eq(json_str(re, "gpt-5-mini"), "none");
	ck_assert_str_eq(json_str(re, "claude-opus-4.7"), "max");
	ck_assert_ptr_null(json_str(re, "gpt-5.5"));
	ck_assert_str_eq(cfg_reasoning_effort(c, "claude-opus-4.7"), "max");
	ck_assert_str_eq(cfg_reasoning_effort(c, "gpt-5.5"), "xhigh");
	/* no default-tree keys forced into an existing file */
	ck_assert_ptr_null(cJSON_GetObjectItem(c->root, "smallModel"));
	cfg_free(c);

	/* complete now: a second run leaves the file alone */
	ck_assert_int_eq(stat(p, &st1), 0);
	ck_assert_int_eq(cfg_ensure_admin_key(p, NULL), GW_OK);
	ck_assert_int_eq(stat(p, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	free(p);
}
END_TEST

START_TEST(ensure_admin_key_complete_file_untouched)
{
	char *p = tpath("config.json"), *orig, *after;
	struct stat st1, st2;

	copy_fixture("unknown_keys.json", p);
	orig = read_text(p);
	ck_assert_int_eq(stat(p, &st1), 0);
	ck_assert_int_eq(cfg_ensure_admin_key(p, NULL), GW_OK);
	ck_assert_int_eq(stat(p, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	after = read_text(p);
	ck_assert_str_eq(orig, after);      /* not even reformatted */
	free(orig);
	free(after);
	free(p);
}
END_TEST

START_TEST(ensure_admin_key_refuses_type_errors)
{
	char *p = tpath("config.json"), *s;
	struct buf err = BUF_INIT;

	write_text(p, "{\"auth\":\"secret\"}");
	ck_assert_int_eq(cfg_ensure_admin_key(p, &err), GW_ECONFIG);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "\"auth\" must be an object"));
	s = read_text(p);
	ck_assert_str_eq(s, "{\"auth\":\"secret\"}");
	free(s);
	buf_free(&err);
	free(p);
}
END_TEST

/* ---- URLs and environment ---- */

static const struct {
	const char *json;
	const char *gh, *api, *copilot;
	int fixed;
} url_cases[] = {
	{ "{}", "https://github.com", "https://api.github.com",
	  "https://api.githubcopilot.com", 0 },
	{ "{\"accountType\":\"individual\"}", "https://github.com",
	  "https://api.github.com", "https://api.githubcopilot.com", 0 },
	{ "{\"accountType\":\"business\"}", "https://github.com",
	  "https://api.github.com", "https://api.business.githubcopilot.com", 0 },
	{ "{\"accountType\":\"enterprise\"}", "https://github.com",
	  "https://api.github.com", "https://api.enterprise.githubcopilot.com", 0 },
	{ "{\"accountType\":\"business\",\"oauthApp\":\"opencode\"}",
	  "https://github.com", "https://api.github.com",
	  "https://api.githubcopilot.com", 1 },
	{ "{\"oauthApp\":\"default\",\"accountType\":\"enterprise\"}",
	  "https://github.com", "https://api.github.com",
	  "https://api.enterprise.githubcopilot.com", 0 },
	{ "{\"enterpriseUrl\":\"  HTTPS://ghe.corp.example//  \"}",
	  "https://ghe.corp.example", "https://api.ghe.corp.example",
	  "https://copilot-api.ghe.corp.example", 1 },
	{ "{\"enterpriseUrl\":\"http://ghe.corp.example\",\"oauthApp\":\"opencode\","
	  "\"accountType\":\"business\"}",
	  "https://ghe.corp.example", "https://api.ghe.corp.example",
	  "https://copilot-api.ghe.corp.example", 1 },
	{ "{\"enterpriseUrl\":\"   \"}", "https://github.com",
	  "https://api.github.com", "https://api.githubcopilot.com", 0 },
	{ "{\"enterpriseUrl\":\"ghe.corp.example\","
	  "\"upstream\":{\"githubUrl\":\"http://127.0.0.1:1/\"}}",
	  "http://127.0.0.1:1", "https://api.ghe.corp.example",
	  "https://copilot-api.ghe.corp.example", 1 },
	{ "{\"accountType\":\"business\","
	  "\"upstream\":{\"copilotApiUrl\":\"http://127.0.0.1:3\"}}",
	  "https://github.com", "https://api.github.com", "http://127.0.0.1:3", 1 },
};

/* The codex OAuth server: unset (OpenAI's) or a URL without its slash. */
START_TEST(codex_auth_url)
{
	struct cfg *c = load_text("{}");

	ck_assert_ptr_null(c->upstream_codex_auth_url);
	cfg_free(c);
	c = load_text("{\"upstream\":{\"codexAuthUrl\":\"http://127.0.0.1:9/\"}}");
	ck_assert_str_eq(c->upstream_codex_auth_url, "http://127.0.0.1:9");
	cfg_free(c);
}
END_TEST

START_TEST(derived_urls)
{
	struct cfg *c = load_text(url_cases[_i].json);

	ck_assert_str_eq(cfg_github_url(c), url_cases[_i].gh);
	ck_assert_str_eq(cfg_github_api_url(c), url_cases[_i].api);
	ck_assert_str_eq(cfg_copilot_url_fallback(c), url_cases[_i].copilot);
	ck_assert_str_eq(cfg_copilot_url(c, NULL), url_cases[_i].copilot);
	ck_assert_str_eq(cfg_copilot_url(c, ""), url_cases[_i].copilot);
	/* endpoints.api only matters when nothing fixed the base */
	ck_assert_str_eq(cfg_copilot_url(c, "https://api.from-user.example"),
	    url_cases[_i].fixed ? url_cases[_i].copilot :
	    "https://api.from-user.example");
	cfg_free(c);
}
END_TEST

START_TEST(enterprise_domain_normalised)
{
	struct cfg *c = load_text("{\"enterpriseUrl\":\" https://ghe.x.example/// \"}");

	ck_assert_str_eq(c->enterprise_domain, "ghe.x.example");
	cfg_free(c);
}
END_TEST

START_TEST(env_overrides)
{
	struct cfg *c = load_text("{\"accountType\":\"business\","
	    "\"enterpriseUrl\":\"file.example\"}");

	setenv("COPILOT_API_ENTERPRISE_URL", " https://env.example/ ", 1);
	setenv("COPILOT_API_ACCOUNT_TYPE", "enterprise", 1);
	setenv("COPILOT_API_OAUTH_APP", "opencode", 1);
	ck_assert_int_eq(cfg_apply_env(c), GW_OK);
	ck_assert_str_eq(c->enterprise_domain, "env.example");
	ck_assert_int_eq(c->account_type, CFG_ACCOUNT_ENTERPRISE);
	ck_assert_int_eq(c->oauth_app, CFG_OAUTH_OPENCODE);
	ck_assert_str_eq(cfg_github_url(c), "https://env.example");
	ck_assert_str_eq(cfg_github_api_url(c), "https://api.env.example");
	ck_assert_str_eq(cfg_copilot_url_fallback(c),
	    "https://copilot-api.env.example");
	cfg_free(c);

	/* opencode without enterprise; empty variables are ignored */
	c = load_text("{\"accountType\":\"business\"}");
	setenv("COPILOT_API_ENTERPRISE_URL", "", 1);
	setenv("COPILOT_API_ACCOUNT_TYPE", "", 1);
	ck_assert_int_eq(cfg_apply_env(c), GW_OK);
	ck_assert_ptr_null(c->enterprise_domain);
	ck_assert_int_eq(c->account_type, CFG_ACCOUNT_BUSINESS);
	ck_assert_str_eq(cfg_copilot_url(c, "https://api.user.example"),
	    "https://api.githubcopilot.com");
	cfg_free(c);

	/* account type from the environment */
	c = load_text("{}");
	unsetenv("COPILOT_API_OAUTH_APP");
	setenv("COPILOT_API_ACCOUNT_TYPE", "business", 1);
	ck_assert_int_eq(cfg_apply_env(c), GW_OK);
	ck_assert_str_eq(cfg_copilot_url_fallback(c),
	    "https://api.business.githubcopilot.com");
	cfg_free(c);
}
END_TEST

START_TEST(env_invalid_leaves_cfg_unchanged)
{
	struct cfg *c = load_text("{\"accountType\":\"business\"}");

	setenv("COPILOT_API_ACCOUNT_TYPE", "team", 1);
	ck_assert_int_eq(cfg_apply_env(c), GW_ECONFIG);
	ck_assert_int_eq(c->account_type, CFG_ACCOUNT_BUSINESS);
	unsetenv("COPILOT_API_ACCOUNT_TYPE");
	setenv("COPILOT_API_OAUTH_APP", "vscode", 1);
	ck_assert_int_eq(cfg_apply_env(c), GW_ECONFIG);
	unsetenv("COPILOT_API_OAUTH_APP");
	setenv("COPILOT_API_ENTERPRISE_URL", "bad host", 1);
	ck_assert_int_eq(cfg_apply_env(c), GW_ECONFIG);
	ck_assert_ptr_null(c->enterprise_domain);
	ck_assert_int_eq(c->oauth_app, CFG_OAUTH_DEFAULT);
	cfg_free(c);
}
END_TEST

START_TEST(anthropic_key_env_fallback)
{
	struct cfg *c = load_text("{}");

	ck_assert_ptr_null(cfg_anthropic_api_key(c));
	setenv("ANTHROPIC_API_KEY", "sk-env", 1);
	ck_assert_str_eq(cfg_anthropic_api_key(c), "sk-env");
	cfg_free(c);
	c = load_text("{\"anthropicApiKey\":\"sk-file\"}");
	ck_assert_str_eq(cfg_anthropic_api_key(c), "sk-file");
	cfg_free(c);
	c = load_text("{\"anthropicApiKey\":\" \"}");
	ck_assert_str_eq(cfg_anthropic_api_key(c), "sk-env");
	cfg_free(c);
}
END_TEST

/* ---- model mappings ---- */

START_TEST(model_mappings_read_ignores_invalid)
{
	struct cfg *c = load_text("{\"modelMappings\":{\"a\":\"b\",\"\":\"x\","
	    "\"c\":\"\",\"d\":5,\"e\":null,\" f \":\" g \"}}");

	ck_assert_uint_eq(c->model_mappings.n, 2);
	ck_assert_str_eq(cfg_model_mapping(c, "a"), "b");
	ck_assert_str_eq(cfg_model_mapping(c, "f"), "g");
	ck_assert_ptr_null(cfg_model_mapping(c, "c"));
	ck_assert_ptr_null(cfg_model_mapping(c, "d"));
	ck_assert_ptr_null(cfg_model_mapping(c, NULL));
	cfg_free(c);
	c = load_text("{\"modelMappings\":[\"a\"]}");
	ck_assert_uint_eq(c->model_mappings.n, 0);
	cfg_free(c);
}
END_TEST

START_TEST(model_mappings_set_and_replace)
{
	char *p = tpath("config.json"), *s;
	struct buf err = BUF_INIT;
	struct cfg *c = NULL;
	cJSON *m;

	write_text(p, "{\"modelMappings\":{\"old\":\"x\"},\"keep\":1}");
	m = cJSON_Parse("{\"claude-sonnet-4\":\" gpt-5.4 \",\"haiku\":\"gpt-5-mini\"}");
	ck_assert_int_eq(cfg_set_model_mappings(p, m, &err), GW_OK);
	cJSON_Delete(m);
	ck_assert_int_eq(cfg_load(p, &c, &err), GW_OK);
	ck_assert_str_eq(cfg_model_mapping(c, "claude-sonnet-4"), "gpt-5.4");
	ck_assert_str_eq(cfg_model_mapping(c, "haiku"), "gpt-5-mini");
	ck_assert_ptr_null(cfg_model_mapping(c, "old"));   /* replaced */
	ck_assert_int_eq((int)json_num(c->root, "keep", 0), 1);
	cfg_free(c);

	m = cJSON_Parse("{}");
	ck_assert_int_eq(cfg_set_model_mappings(p, m, &err), GW_OK);
	cJSON_Delete(m);
	ck_assert_int_eq(cfg_load(p, &c, &err), GW_OK);
	ck_assert_uint_eq(c->model_mappings.n, 0);
	ck_assert(cJSON_IsObject(json_obj(c->root, "modelMappings")));
	cfg_free(c);

	/* invalid input: message from the reference, file untouched */
	s = read_text(p);
	m = cJSON_Parse("{\"a\":\"b\",\"c\":\"  \"}");
	ck_assert_int_eq(cfg_set_model_mappings(p, m, &err), GW_EINVAL);
	ck_assert_str_eq(buf_cstr(&err),
	    "Each model mapping must use non-empty source and target values.");
	cJSON_Delete(m);
	m = cJSON_Parse("{\" \":\"b\"}");
	ck_assert_int_eq(cfg_set_model_mappings(p, m, &err), GW_EINVAL);
	cJSON_Delete(m);
	m = cJSON_Parse("{\"a\":1}");
	ck_assert_int_eq(cfg_set_model_mappings(p, m, &err), GW_EINVAL);
	cJSON_Delete(m);
	m = cJSON_Parse("[]");
	ck_assert_int_eq(cfg_set_model_mappings(p, m, &err), GW_EINVAL);
	cJSON_Delete(m);
	{
		char *after = read_text(p);

		ck_assert_str_eq(s, after);
		free(after);
	}
	free(s);
	buf_free(&err);
	free(p);
}
END_TEST

/* ---- providers ---- */

START_TEST(providers_validated)
{
	char *p = fixture("providers.json");
	const struct cfg_provider *pr;
	struct cfg *c = NULL;

	ck_assert_int_eq(cfg_load(p, &c, NULL), GW_OK);
	pr = cfg_provider_find(c, "plain");
	ck_assert_ptr_nonnull(pr);
	ck_assert_int_eq(pr->type, CFG_PROVIDER_ANTHROPIC);
	ck_assert_str_eq(pr->base_url, "https://plain.example/v1");
	ck_assert_str_eq(pr->api_key, "sk-plain");
	ck_assert_int_eq(pr->auth_type, CFG_AUTH_X_API_KEY);
	ck_assert_int_eq(pr->adjust_input_tokens, 0);
	ck_assert_ptr_null(pr->models);
	pr = cfg_provider_find(c, "compat");
	ck_assert_ptr_nonnull(pr);
	ck_assert_int_eq(pr->type, CFG_PROVIDER_OPENAI_COMPATIBLE);
	ck_assert_int_eq(pr->auth_type, CFG_AUTH_AUTHORIZATION);
	pr = cfg_provider_find(c, "resp");
	ck_assert_ptr_nonnull(pr);
	ck_assert_int_eq(pr->type, CFG_PROVIDER_OPENAI_RESPONSES);
	ck_assert_int_eq(pr->auth_type, CFG_AUTH_X_API_KEY);   /* explicit */
	ck_assert_ptr_null(cfg_provider_find(c, "copilot"));   /* reserved */
	ck_assert_ptr_null(cfg_provider_find(c, "nobase"));
	ck_assert_ptr_null(cfg_provider_find(c, "nokey"));
	ck_assert_ptr_null(cfg_provider_find(c, "weird"));
	ck_assert_ptr_null(cfg_provider_find(c, "off"));       /* disabled */
	ck_assert_ptr_null(cfg_provider_find(c, "notobj"));
	ck_assert_ptr_null(cfg_provider_find(c, "badenabled"));
	ck_assert_ptr_null(cfg_provider_find(c, "unknown"));
	pr = cfg_provider_find(c, "badauth");     /* unknown authType → default */
	ck_assert_ptr_nonnull(pr);
	ck_assert_int_eq(pr->auth_type, CFG_AUTH_X_API_KEY);
	pr = cfg_provider_find(c, "oauthy");      /* oauth2 only for codex */
	ck_assert_ptr_nonnull(pr);
	ck_assert_int_eq(pr->auth_type, CFG_AUTH_AUTHORIZATION);
	pr = cfg_provider_find(c, "codex");       /* no apiKey needed */
	ck_assert_ptr_nonnull(pr);
	ck_assert_int_eq(pr->auth_type, CFG_AUTH_OAUTH2);
	ck_assert_ptr_null(pr->api_key);
	/* the disabled but well-formed one is listed, just not resolvable */
	ck_assert_uint_eq(c->n_providers, 7);
	cfg_free(c);
	free(p);
}
END_TEST

/* A provider model's own type (1.14.7, OpenCode Go): the flow's type; an
 * anthropic override takes x-api-key, the others keep the provider's
 * auth; unknown types, other models and codex are the provider as is. */
START_TEST(provider_model_type)
{
	struct cfg *c = load_text("{\"providers\":{"
	    "\"go\":{\"type\":\"openai-compatible\",\"baseUrl\":\"https://g.example\","
	    "\"apiKey\":\"k\",\"authType\":\"authorization\",\"models\":{"
	    "\"m-anth\":{\"type\":\"anthropic\"},\"m-resp\":{\"type\":\"openai-responses\"},"
	    "\"m-same\":{\"type\":\"openai-compatible\"},\"m-bad\":{\"type\":\"gemini\"},"
	    "\"m-num\":{\"type\":3},\"m-none\":{\"maxTokens\":5}}},"
	    "\"an\":{\"type\":\"anthropic\",\"baseUrl\":\"https://a.example\","
	    "\"apiKey\":\"k\",\"models\":{\"m-chat\":{\"type\":\"openai-compatible\"}}},"
	    "\"codex\":{\"type\":\"openai-responses\",\"baseUrl\":\"https://c.example\","
	    "\"authType\":\"oauth2\",\"models\":{\"gpt-5.4\":{\"type\":\"anthropic\"}}}}}");
	const struct cfg_provider *go = cfg_provider_find(c, "go"), *an =
	    cfg_provider_find(c, "an"), *cx = cfg_provider_find(c, "codex"), *e;
	struct cfg_provider tmp;
	static const char *const same[] = { "m-same", "m-bad", "m-num", "m-none",
	    "other" };
	size_t i;

	ck_assert_ptr_nonnull(go);
	e = cfg_provider_for_model(go, "m-anth", &tmp);
	ck_assert_ptr_eq(e, &tmp);
	ck_assert_int_eq(e->type, CFG_PROVIDER_ANTHROPIC);
	ck_assert_int_eq(e->auth_type, CFG_AUTH_X_API_KEY);
	ck_assert_str_eq(e->base_url, "https://g.example");
	ck_assert_int_eq(go->type, CFG_PROVIDER_OPENAI_COMPATIBLE);  /* untouched */
	e = cfg_provider_for_model(go, "m-resp", &tmp);
	ck_assert_int_eq(e->type, CFG_PROVIDER_OPENAI_RESPONSES);
	ck_assert_int_eq(e->auth_type, CFG_AUTH_AUTHORIZATION);
	for (i = 0; i < ARRAY_LEN(same); i++)
		ck_assert_ptr_eq(cfg_provider_for_model(go, same[i], &tmp), go);
	ck_assert_ptr_eq(cfg_provider_for_model(go, NULL, &tmp), go);
	e = cfg_provider_for_model(an, "m-chat", &tmp);
	ck_assert_int_eq(e->type, CFG_PROVIDER_OPENAI_COMPATIBLE);
	ck_assert_int_eq(e->auth_type, CFG_AUTH_X_API_KEY);   /* the provider's */
	ck_assert_ptr_nonnull(cx);
	ck_assert_ptr_eq(cfg_provider_for_model(cx, "gpt-5.4", &tmp), cx);
	cfg_free(c);
}
END_TEST

/* messageApiWebSearchModel (1.14.7): trimmed; "" turns the emulated web
 * search off; not a string is an error. */
START_TEST(web_search_model)
{
	char *p = tpath("config.json");
	struct buf err = BUF_INIT;
	struct cfg *c;

	c = load_text("{\"messageApiWebSearchModel\": \" presp/gpt-5.4 \"}");
	ck_assert_str_eq(c->web_search_model, "presp/gpt-5.4");
	cfg_free(c);
	c = load_text("{\"messageApiWebSearchModel\": \"  \", "
	    "\"useResponsesApiWebSearch\": false}");
	ck_assert_ptr_null(c->web_search_model);
	ck_assert_int_eq(c->use_responses_web_search, 0);
	cfg_free(c);
	c = load_text("{}");
	ck_assert_str_eq(c->web_search_model, "gpt-5-mini");
	cfg_free(c);
	write_text(p, "{\"messageApiWebSearchModel\": 5}");
	c = NULL;
	ck_assert_int_ne(cfg_load(p, &c, &err), GW_OK);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "messageApiWebSearchModel"));
	cfg_free(c);
	buf_free(&err);
	free(p);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *t = tcase_create("config");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, load_access_lists);
	tcase_add_test(t, web_search_model);
	tcase_add_test(t, load_inflight_budget);
	tcase_add_test(t, load_storage);
	tcase_add_test(t, paths_home_env_and_home);
	tcase_add_test(t, paths_join_slashes);
	tcase_add_test(t, paths_ensure_dir_nested);
	tcase_add_test(t, paths_write_atomic_mode_and_cleanup);
	tcase_add_test(t, load_missing_gives_defaults);
	tcase_add_test(t, load_blank_gives_defaults);
	tcase_add_test(t, load_literal_empty_object);
	tcase_add_test(t, load_full);
	tcase_add_loop_test(t, load_type_errors, 0, (int)ARRAY_LEN(type_errors));
	tcase_add_test(t, load_null_means_absent);
	tcase_add_test(t, accounts_strategy_parsed);
	tcase_add_test(t, corrupt_reports_position_and_is_never_written);
	tcase_add_test(t, non_object_top_level_is_never_written);
	tcase_add_test(t, trailing_garbage_is_corrupt);
	tcase_add_test(t, api_keys_normalised);
	tcase_add_test(t, api_keys_not_array_warns_and_is_empty);
	tcase_add_test(t, blank_admin_key_is_none);
	tcase_add_test(t, pretty_printer_golden);
	tcase_add_test(t, unknown_keys_survive_save);
	tcase_add_test(t, save_is_atomic_0600_without_temp_files);
	tcase_add_test(t, update_rejects_invalid_result);
	tcase_add_test(t, update_mutate_failures_write_nothing);
	tcase_add_test(t, update_is_serialised_by_the_lock);
	tcase_add_test(t, ensure_admin_key_creates_file_with_defaults);
	tcase_add_test(t, ensure_admin_key_overwrites_blank_file);
	tcase_add_test(t, ensure_admin_key_regenerates_bad_values);
	tcase_add_test(t, ensure_admin_key_trims_padded_key);
	tcase_add_test(t, ensure_admin_key_merges_defaults_keeping_user_values);
	tcase_add_test(t, ensure_admin_key_complete_file_untouched);
	tcase_add_test(t, ensure_admin_key_refuses_type_errors);
	tcase_add_test(t, codex_auth_url);
	tcase_add_loop_test(t, derived_urls, 0, (int)ARRAY_LEN(url_cases));
	tcase_add_test(t, enterprise_domain_normalised);
	tcase_add_test(t, env_overrides);
	tcase_add_test(t, env_invalid_leaves_cfg_unchanged);
	tcase_add_test(t, anthropic_key_env_fallback);
	tcase_add_test(t, model_mappings_read_ignores_invalid);
	tcase_add_test(t, model_mappings_set_and_replace);
	tcase_add_test(t, providers_validated);
	tcase_add_test(t, provider_model_type);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return run_suite(config_suite());
}
