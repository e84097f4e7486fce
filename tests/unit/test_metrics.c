/*
 * The shared metrics file (state/metrics.c, white-box): the exposition of
 * a known state byte for byte, label escaping, the bound on series, a
 * writer that died mid-insert, counting across processes, and a file of
 * another layout.
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "testutil.h"
#include "core/buf.h"
#include "state/metrics.c"

static char dir[256];
static char path[512];

static void
setup(void)
{
	struct buf err = BUF_INIT;

	test_tmpdir(dir, sizeof(dir), "gw-metrics");
	snprintf(path, sizeof(path), "%s/%s", dir, METRICS_FILE_NAME);
	ck_assert_msg(metrics_open(path, &err) == GW_OK, "%s", buf_cstr(&err));
	buf_free(&err);
}

static void
teardown(void)
{
	metrics_close();
	test_rmdir(dir);
}

static char *
render(void)
{
	struct buf out = BUF_INIT;

	ck_assert_int_eq(metrics_render(&out), GW_OK);
	return buf_detach(&out);
}

#define HIST_ZERO(n) \
    "# HELP " n " %s\n# TYPE " n " histogram\n" \
    n "_bucket{le=\"0.05\"} 0\n" n "_bucket{le=\"0.1\"} 0\n" \
    n "_bucket{le=\"0.25\"} 0\n" n "_bucket{le=\"0.5\"} 0\n" \
    n "_bucket{le=\"1\"} 0\n" n "_bucket{le=\"2.5\"} 0\n" \
    n "_bucket{le=\"5\"} 0\n" n "_bucket{le=\"10\"} 0\n" \
    n "_bucket{le=\"30\"} 0\n" n "_bucket{le=\"60\"} 0\n" \
    n "_bucket{le=\"120\"} 0\n" n "_bucket{le=\"300\"} 0\n" \
    n "_bucket{le=\"+Inf\"} 0\n" n "_sum 0.000\n" n "_count 0\n"

START_TEST(known_state_exposition)
{
	static const char want[] =
	    "# HELP copilot_api_requests_total Requests answered, by route "
	    "pattern, HTTP status and requested model.\n"
	    "# TYPE copilot_api_requests_total counter\n"
	    "copilot_api_requests_total{route=\"/v1/chat/completions\","
	    "status=\"429\",model=\"gpt-4o\"} 1\n"
	    "copilot_api_requests_total{route=\"/v1/messages\",status=\"200\","
	    "model=\"claude-sonnet-4\"} 2\n"
	    "copilot_api_requests_total{route=\"/v1/messages\",status=\"502\","
	    "model=\"claude-sonnet-4\"} 1\n"
	    "copilot_api_requests_total{route=\"none\",status=\"401\","
	    "model=\"\"} 1\n"
	    "# HELP copilot_api_upstream_duration_seconds Upstream calls, from "
	    "sending the request to the end of the answer.\n"
	    "# TYPE copilot_api_upstream_duration_seconds histogram\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"0.05\"} 1\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"0.1\"} 1\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"0.25\"} 1\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"0.5\"} 1\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"1\"} 1\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"2.5\"} 2\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"5\"} 2\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"10\"} 2\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"30\"} 2\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"60\"} 2\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"120\"} 2\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"300\"} 2\n"
	    "copilot_api_upstream_duration_seconds_bucket{le=\"+Inf\"} 3\n"
	    "copilot_api_upstream_duration_seconds_sum 401.240\n"
	    "copilot_api_upstream_duration_seconds_count 3\n"
	    "# HELP copilot_api_stream_first_byte_seconds Streamed answers, from "
	    "sending the upstream request to the first event written to the "
	    "client.\n"
	    "# TYPE copilot_api_stream_first_byte_seconds histogram\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"0.05\"} 0\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"0.1\"} 1\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"0.25\"} 1\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"0.5\"} 1\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"1\"} 1\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"2.5\"} 1\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"5\"} 1\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"10\"} 1\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"30\"} 1\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"60\"} 1\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"120\"} 1\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"300\"} 1\n"
	    "copilot_api_stream_first_byte_seconds_bucket{le=\"+Inf\"} 1\n"
	    "copilot_api_stream_first_byte_seconds_sum 0.100\n"
	    "copilot_api_stream_first_byte_seconds_count 1\n"
	    "# HELP copilot_api_active_streams Client streams open now, in all "
	    "processes.\n"
	    "# TYPE copilot_api_active_streams gauge\n"
	    "copilot_api_active_streams 1\n"
	    "# HELP copilot_api_token_refreshes_total Copilot token exchanges, "
	    "by result.\n"
	    "# TYPE copilot_api_token_refreshes_total counter\n"
	    "copilot_api_token_refreshes_total{result=\"success\"} 2\n"
	    "copilot_api_token_refreshes_total{result=\"failure\"} 1\n"
	    "# HELP copilot_api_usage_rows_spooled_total Usage rows sent to the "
	    "spool file because the database was locked.\n"
	    "# TYPE copilot_api_usage_rows_spooled_total counter\n"
	    "copilot_api_usage_rows_spooled_total 1\n";
	char *got;

	metrics_request("/v1/messages", 200, "claude-sonnet-4");
	metrics_request("/v1/chat/completions", 429, "gpt-4o");
	metrics_request("/v1/messages", 502, "claude-sonnet-4");
	metrics_request("/v1/messages", 200, "claude-sonnet-4");
	metrics_request(NULL, 401, "");
	metrics_observe(METRICS_UPSTREAM_DURATION, 40);
	metrics_observe(METRICS_UPSTREAM_DURATION, 1200);
	metrics_observe(METRICS_UPSTREAM_DURATION, 400000);
	metrics_observe(METRICS_UPSTREAM_DURATION, -1);      /* ignored */
	metrics_observe(METRICS_STREAM_FIRST_BYTE, 100);     /* le is inclusive */
	metrics_stream_begin();
	metrics_stream_begin();
	metrics_stream_end();
	metrics_token_refresh(1);
	metrics_token_refresh(0);
	metrics_token_refresh(1);
	metrics_usage_spooled();
	got = render();
	ck_assert_str_eq(got, want);
	free(got);
}
END_TEST

START_TEST(empty_state_has_every_family)
{
	char *got = render(), want[8192];

	snprintf(want, sizeof(want),
	    "# HELP copilot_api_requests_total Requests answered, by route "
	    "pattern, HTTP status and requested model.\n"
	    "# TYPE copilot_api_requests_total counter\n"
	    HIST_ZERO("copilot_api_upstream_duration_seconds")
	    HIST_ZERO("copilot_api_stream_first_byte_seconds"),
	    "Upstream calls, from sending the request to the end of the answer.",
	    "Streamed answers, from sending the upstream request to the first "
	    "event written to the client.");
	ck_assert_msg(strncmp(got, want, strlen(want)) == 0, "%s", got);
	ck_assert_ptr_nonnull(strstr(got, "copilot_api_active_streams 0\n"));
	free(got);
}
END_TEST

START_TEST(label_values_are_escaped)
{
	char *got;

	metrics_request("/v1/messages", 400, "a\"b\\c\nd");
	got = render();
	ck_assert_msg(strstr(got, "copilot_api_requests_total{route=\"/v1/"
	    "messages\",status=\"400\",model=\"a\\\"b\\\\c\\nd\"} 1\n") != NULL,
	    "%s", got);
	free(got);
}
END_TEST

/* The sum of every requests_total line, and how many lines there are. */
static unsigned long long
total_requests(const char *text, size_t *lines)
{
	static const char name[] = "copilot_api_requests_total{";
	unsigned long long sum = 0;
	const char *p = text, *sp;

	*lines = 0;
	while ((p = strstr(p, name)) != NULL) {
		ck_assert_ptr_nonnull(sp = strchr(p, '\n'));
		while (sp > p && sp[-1] != ' ')
			sp--;
		sum += strtoull(sp, NULL, 10);
		(*lines)++;
		p = sp;
	}
	return sum;
}

START_TEST(clients_cannot_grow_the_table)
{
	char model[80], route[32], *got;
	unsigned long long want = 0;
	size_t lines, i;
	struct stat st;

	/* Ten thousand models: the table fills to three quarters, the rest
	 * is model "other". */
	for (i = 0; i < 10000; i++, want++) {
		snprintf(model, sizeof(model), "model-%zu", i);
		metrics_request("/v1/messages", 200, model);
	}
	/* A model too long for a label is "other" from the start. */
	memset(model, 'x', sizeof(model) - 1);
	model[sizeof(model) - 1] = '\0';
	metrics_request("/v1/chat/completions", 200, model);
	want++;
	/* Then more (route, status) pairs than slots: the overflow series. */
	for (i = 0; i < 400; i++, want++) {
		snprintf(route, sizeof(route), "/r%zu", i);
		metrics_request(route, 200, "m");
	}
	got = render();
	ck_assert_uint_eq(total_requests(got, &lines), want);
	ck_assert_uint_le(lines, METRICS_SERIES + 1);
	ck_assert_ptr_nonnull(strstr(got, "{route=\"/v1/messages\",status=\"200\","
	    "model=\"other\"} "));
	ck_assert_ptr_nonnull(strstr(got, "{route=\"/v1/chat/completions\","
	    "status=\"200\",model=\"other\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(got, "{route=\"other\",status=\"other\","
	    "model=\"other\"} "));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)sizeof(struct shm));
	free(got);
}
END_TEST

/* A process that died between claiming a slot and finishing it leaves it
 * WRITING: lookups pass over it, the next insert takes it back. */
START_TEST(a_slot_left_half_written_is_reused)
{
	uint32_t h = series_hash("/v1/models", 200, "");
	struct series *s = &shm->series[h % METRICS_SERIES];
	char *got;

	atomic_store(&s->state, SLOT_WRITING);
	atomic_store(&shm->used, 1);
	snprintf(s->route, sizeof(s->route), "garbage");
	metrics_request("/v1/models", 200, "");
	metrics_request("/v1/models", 200, "");
	ck_assert_uint_eq(atomic_load(&shm->used), 1);
	ck_assert_str_eq(s->route, "/v1/models");
	got = render();
	ck_assert_ptr_nonnull(strstr(got, "{route=\"/v1/models\",status=\"200\","
	    "model=\"\"} 2\n"));
	ck_assert_ptr_null(strstr(got, "garbage"));
	free(got);
}
END_TEST

/* Processes that forked after the open, and one that opened the file
 * itself, count into one set; a dead process's open streams do not
 * count. */
START_TEST(processes_share_the_counts)
{
	pid_t kids[3];
	int i, j, status;
	char *got;

	for (i = 0; i < 3; i++) {
		ck_assert_int_ge(kids[i] = fork(), 0);
		if (kids[i] == 0) {
			if (i == 2 && metrics_open(path, NULL) != GW_OK)
				_exit(1);
			for (j = 0; j < 500; j++)
				metrics_request("/v1/messages", 200, "gpt-5");
			metrics_stream_begin();   /* never ended: the process dies */
			metrics_token_refresh(1);
			_exit(0);
		}
	}
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	metrics_stream_begin();
	got = render();
	ck_assert_msg(strstr(got, "{route=\"/v1/messages\",status=\"200\","
	    "model=\"gpt-5\"} 1500\n") != NULL, "%s", got);
	ck_assert_ptr_nonnull(strstr(got, "copilot_api_active_streams 1\n"));
	ck_assert_ptr_nonnull(strstr(got, "{result=\"success\"} 3\n"));
	free(got);
}
END_TEST

START_TEST(another_layout_is_refused)
{
	struct buf err = BUF_INIT;
	char other[600];
	int fd;

	snprintf(other, sizeof(other), "%s/short.shm", dir);
	ck_assert_int_ge(fd = open(other, O_CREAT | O_WRONLY, 0600), 0);
	ck_assert_int_eq(write(fd, "0123456789", 10), 10);
	close(fd);
	ck_assert_int_eq(metrics_open(other, &err), GW_EIO);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "another layout"));
	/* recording is a no-op and rendering says nothing is open */
	metrics_request("/v1/messages", 200, "x");
	{
		struct buf out = BUF_INIT;

		ck_assert_int_eq(metrics_render(&out), GW_ENOTFOUND);
		buf_free(&out);
	}
	buf_free(&err);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, known_state_exposition);
	tcase_add_test(tc, empty_state_has_every_family);
	tcase_add_test(tc, label_values_are_escaped);
	tcase_add_test(tc, clients_cannot_grow_the_table);
	tcase_add_test(tc, a_slot_left_half_written_is_reused);
	tcase_add_test(tc, processes_share_the_counts);
	tcase_add_test(tc, another_layout_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(metrics_suite());
}
