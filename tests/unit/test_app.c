/*
 * The live configuration (app/app.h): config.json changes reach every
 * worker between requests, at most a second late, while a request in
 * flight keeps the config it started with.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "app/app.h"
#include "core/util.h"
#include "state/config.h"

static char dir[512];
static struct app app;

static void
write_config(const char *text)
{
	char path[600], tmp[620];
	FILE *f;

	/* a new file renamed over the old, as an editor or cfg_update_file
	 * does */
	snprintf(path, sizeof(path), "%s/config.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/config.json.new", dir);
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* As if the last look at the file were a second ago. */
static void
age_last_look(void)
{
	atomic_store(&app.cfg_checked_ms, util_mono_ms() - 1000);
}

static void
setup(void)
{
	struct buf err = BUF_INIT;

	test_tmpdir(dir, sizeof(dir), "gw-app");
	ck_assert_int_eq(setenv("COPILOT_API_HOME", dir, 1), 0);
	unsetenv("COPILOT_API_ENTERPRISE_URL");
	unsetenv("COPILOT_API_OAUTH_APP");
	unsetenv("COPILOT_API_ACCOUNT_TYPE");
	write_config("{\"modelMappings\": {\"m\": \"old\"}}\n");
	ck_assert_msg(app_init(&app, 0, &err) == GW_OK, "app_init: %s",
	    buf_cstr(&err));
	buf_free(&err);
}

static void
teardown(void)
{
	app_free(&app);
	test_rmdir(dir);
}

static const char *
mapping(const struct worker *w)
{
	const char *v = cfg_model_mapping(w->cfg, "m");

	return v != NULL ? v : "(none)";
}

static void
worker_up(struct worker *w)
{
	struct buf err = BUF_INIT;

	ck_assert_msg(worker_init(w, &app, &err) == GW_OK, "worker_init: %s",
	    buf_cstr(&err));
	buf_free(&err);
}

struct other {
	struct worker *w;
	char seen[32];
};

/* Another thread's next request. */
static void *
other_request(void *arg)
{
	struct other *o = arg;

	app_cfg_refresh(o->w);
	snprintf(o->seen, sizeof(o->seen), "%s", mapping(o->w));
	return NULL;
}

START_TEST(in_flight_keeps_its_config)
{
	struct worker a, b;
	struct other o;
	const struct cfg *held;
	pthread_t t;

	worker_up(&a);
	worker_up(&b);
	app_cfg_refresh(&a);            /* a's request starts */
	held = a.cfg;
	ck_assert_str_eq(mapping(&a), "old");

	write_config("{\"modelMappings\": {\"m\": \"new\"}}\n");
	age_last_look();
	o.w = &b;
	ck_assert_int_eq(pthread_create(&t, NULL, other_request, &o), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_str_eq(o.seen, "new");

	/* a is still in flight: same struct, same answer */
	ck_assert_ptr_eq(a.cfg, held);
	ck_assert_str_eq(cfg_model_mapping(held, "m"), "old");

	app_cfg_refresh(&a);            /* a's next request */
	ck_assert_str_eq(mapping(&a), "new");
	worker_free(&a);
	worker_free(&b);
}
END_TEST

START_TEST(looks_at_most_once_a_second)
{
	struct worker w;

	worker_up(&w);
	app_cfg_refresh(&w);
	ck_assert_str_eq(mapping(&w), "old");
	write_config("{\"modelMappings\": {\"m\": \"new\"}}\n");
	app_cfg_refresh(&w);            /* just looked (app_init) */
	ck_assert_str_eq(mapping(&w), "old");
	age_last_look();
	app_cfg_refresh(&w);
	ck_assert_str_eq(mapping(&w), "new");
	worker_free(&w);
}
END_TEST

/* The watcher takes a version no request looked at, and keeps it when an
 * invalid one follows; it stops when asked (and at app_free). */
START_TEST(watcher_takes_a_version_while_idle)
{
	struct worker w;
	uint64_t gen = atomic_load(&app.cfg_gen);
	int64_t t0;

	worker_up(&w);
	ck_assert_int_eq(app_watch_start(&app), GW_OK);
	ck_assert_int_eq(app_watch_start(&app), GW_OK);     /* runs: nothing */
	write_config("{\"modelMappings\": {\"m\": \"idle\"}}\n");
	t0 = util_mono_ms();
	while (atomic_load(&app.cfg_gen) == gen && util_mono_ms() - t0 < 5000)
		usleep(20000);
	ck_assert_uint_eq(atomic_load(&app.cfg_gen), gen + 1);
	write_config("{\"modelMappings\": {\"m\": \"broken\"\n");
	usleep(1500000);
	app_watch_stop(&app);
	app_watch_stop(&app);                               /* stopped: nothing */
	app_cfg_refresh(&w);
	ck_assert_str_eq(mapping(&w), "idle");
	ck_assert_int_eq(app_watch_start(&app), GW_OK);     /* app_free stops it */
	worker_free(&w);
}
END_TEST

START_TEST(changed_by_this_process_applies_at_once)
{
	struct worker w;
	struct buf err = BUF_INIT;
	cJSON *maps = cJSON_Parse("{\"m\": \"admin\"}");

	worker_up(&w);
	ck_assert_int_eq(cfg_set_model_mappings(app.config_path, maps, &err),
	    GW_OK);
	app_cfg_changed(&app);
	app_cfg_refresh(&w);
	ck_assert_str_eq(mapping(&w), "admin");
	cJSON_Delete(maps);
	buf_free(&err);
	worker_free(&w);
}
END_TEST

START_TEST(invalid_file_keeps_the_old_config)
{
	struct worker w;

	worker_up(&w);
	write_config("{\"modelMappings\": {\"m\": \"broken\"\n");
	age_last_look();
	app_cfg_refresh(&w);
	ck_assert_str_eq(mapping(&w), "old");
	write_config("{\"limits\": {\"maxBodyBytes\": 1}}\n");
	age_last_look();
	app_cfg_refresh(&w);
	ck_assert_str_eq(mapping(&w), "old");
	/* fixed: taken */
	write_config("{\"modelMappings\": {\"m\": \"fixed\"}}\n");
	age_last_look();
	app_cfg_refresh(&w);
	ck_assert_str_eq(mapping(&w), "fixed");
	worker_free(&w);
}
END_TEST

/* An editor saving in place (truncate, then write), or a file moved away
 * for a moment: the defaults would drop auth.apiKeys. */
START_TEST(missing_or_empty_file_keeps_the_old_config)
{
	struct worker w;
	char path[600];

	worker_up(&w);
	write_config("");
	age_last_look();
	app_cfg_refresh(&w);
	ck_assert_str_eq(mapping(&w), "old");
	snprintf(path, sizeof(path), "%s/config.json", dir);
	ck_assert_int_eq(unlink(path), 0);
	age_last_look();
	app_cfg_refresh(&w);
	ck_assert_str_eq(mapping(&w), "old");
	write_config("{}\n");
	age_last_look();
	app_cfg_refresh(&w);
	ck_assert_str_eq(mapping(&w), "(none)");
	worker_free(&w);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("app");
	TCase *tc = tcase_create("live config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, in_flight_keeps_its_config);
	tcase_add_test(tc, looks_at_most_once_a_second);
	tcase_add_test(tc, changed_by_this_process_applies_at_once);
	tcase_add_test(tc, watcher_takes_a_version_while_idle);
	tcase_add_test(tc, invalid_file_keeps_the_old_config);
	tcase_add_test(tc, missing_or_empty_file_keeps_the_old_config);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(suite());
}
