/* `copilot-api approve`: decide pending requests from the terminal. */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "app/app.h"
#include "cli/approve.h"
#include "state/approval.h"

enum answer { ANSWER_SKIP, ANSWER_YES, ANSWER_NO, ANSWER_QUIT };

static enum answer
ask(const struct approval_entry *a, int64_t now)
{
	char line[64];

	printf("%s  %s  %s  (%lld s)\n  %s\nApprove? [y/n, Enter skips, q quits] ",
	    a->id, a->route, a->model,
	    (long long)(now > a->created_at_ms ? (now - a->created_at_ms) / 1000 :
	    0), a->preview);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return ANSWER_QUIT;
	switch (line[0]) {
	case 'y': case 'Y': return ANSWER_YES;
	case 'n': case 'N': return ANSWER_NO;
	case 'q': case 'Q': return ANSWER_QUIT;
	default: return ANSWER_SKIP;
	}
}

/* Records one decision and says so. */
static int
decide(struct worker *w, const struct approval_entry *a, int yes)
{
	enum gw_err e = approval_decide(w->db, a->id, yes);

	if (e == GW_ENOTFOUND)
		printf("%s: already decided or gone\n", a->id);
	else if (e != GW_OK) {
		fprintf(stderr, "copilot-api: %s: %s\n", a->id, gw_strerror(e));
		return 1;
	}
	else
		printf("%s: %s\n", a->id, yes ? "approved" : "rejected");
	return 0;
}

static int
run(struct worker *w, int all)
{
	struct approval_entry *list;
	size_t i, n;
	enum answer ans = ANSWER_SKIP;
	int rc = 0;

	if (approval_list(w->db, &list, &n) != GW_OK) {
		fprintf(stderr, "copilot-api: cannot read the pending requests\n");
		return 1;
	}
	if (n == 0)
		printf("No pending requests.\n");
	for (i = 0; i < n && rc == 0 && ans != ANSWER_QUIT; i++) {
		ans = all ? ANSWER_YES : ask(&list[i], util_now_ms());
		if (ans == ANSWER_YES || ans == ANSWER_NO)
			rc = decide(w, &list[i], ans == ANSWER_YES);
	}
	approval_list_free(list, n);
	return rc;
}

int
approve_main(int argc, char **argv)
{
	struct buf err = BUF_INIT;
	struct app a;
	struct worker w;
	int all = 0, i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			all = 1;
		else {
			fprintf(stderr, "usage: copilot-api approve [--all]\n");
			return 2;
		}
	}
	memset(&a, 0, sizeof(a));
	memset(&w, 0, sizeof(w));
	if (app_init(&a, 0, &err) != GW_OK || worker_init(&w, &a, &err) != GW_OK) {
		fprintf(stderr, "copilot-api: %s\n", buf_cstr(&err));
		rc = 1;
	} else
		rc = run(&w, all);
	buf_free(&err);
	worker_free(&w);        /* both: free whatever the outcome */
	app_free(&a);
	return rc;
}
