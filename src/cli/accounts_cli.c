/* `copilot-api accounts` and `auth login --account` (contract in
 * accounts_cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/pool.h"
#include "cli/accounts_cli.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "state/accounts.h"
#include "state/db.h"
#include "upstream/github.h"

/* The default account's sign-in: the token and login under this OAuth
 * app and domain; the previous Copilot token goes. */
static int
store_default(struct worker *w, const char *token, const char *login)
{
	if (app_account_set(w, "github_token", token) != GW_OK ||
	    app_account_set(w, "github_login", login) != GW_OK) {
		fprintf(stderr, "copilot-api: could not store the token in %s\n",
		    w->app->db_path);
		return 1;
	}
	if (db_copilot_token_clear(w->db) != GW_OK) {
		fprintf(stderr, "copilot-api: could not clear the previous "
		    "Copilot token in %s\n", w->app->db_path);
		return 1;
	}
	return 0;
}

int
accounts_cli_store(struct worker *w, const char *name, const char *token,
    int show)
{
	struct buf err = BUF_INIT;
	char *login = NULL, fp[16];
	int rc = 1;

	if (gh_user_login(&w->gh, token, &login, &err) != GW_OK) {
		fprintf(stderr, "copilot-api: %s\n", buf_cstr(&err));
		goto out;
	}
	if (name == NULL) {
		if (store_default(w, token, login) != 0)
			goto out;
	} else if (accounts_add(w->db, name, token, login, util_now_ms()) !=
	    GW_OK) {
		fprintf(stderr, "copilot-api: could not store account %s in %s\n",
		    name, w->app->db_path);
		goto out;
	} else
		pool_touch(w->app);
	log_fingerprint(token, fp);
	if (name == NULL)
		printf("Signed in to GitHub as %s (token %s stored in %s)\n", login,
		    show ? token : fp, w->app->db_path);
	else
		printf("Signed in to GitHub as %s: account %s (token %s stored in "
		    "%s)\n", login, name, show ? token : fp, w->app->db_path);
	rc = 0;
out:
	free(login);
	buf_free(&err);
	return rc;
}

/* "1234/1500", "unlimited" or "-" of an entry's premium object. */
static void
premium_text(const cJSON *p, char *out, size_t n)
{
	if (p == NULL || cJSON_IsNull(p))
		snprintf(out, n, "-");
	else if (json_bool(p, "unlimited", 0))
		snprintf(out, n, "unlimited");
	else
		snprintf(out, n, "%.0f/%.0f", json_num(p, "remaining", 0),
		    json_num(p, "entitlement", 0));
}

static void
print_table(const cJSON *list)
{
	const cJSON *a;
	const char *st, *login, *plan;
	char prem[64];

	printf("%-20s %-20s %-16s %-14s %s\n", "NAME", "LOGIN", "PLAN",
	    "PREMIUM LEFT", "STATE");
	cJSON_ArrayForEach(a, list) {
		premium_text(json_obj(a, "premium"), prem, sizeof(prem));
		st = json_str(a, "state");
		login = json_str(a, "login");
		plan = json_str(a, "plan");
		printf("%-20s %-20s %-16s %-14s ", json_str(a, "name"),
		    login != NULL ? login : "-", plan != NULL ? plan : "-", prem);
		if (st != NULL && strcmp(st, "cooling") == 0)
			printf("cooling down until %s (%s)\n",
			    json_str(a, "cooling_until"), json_str(a, "reason") ?
			    json_str(a, "reason") : "refused");
		else
			printf("%s\n", st != NULL && strcmp(st, "ok") == 0 ? "ok" :
			    "signed out");
	}
}

static int
list(struct worker *w, int as_json)
{
	cJSON *v = NULL;
	char *s;

	if (pool_list_json(w, &v) != GW_OK) {
		fprintf(stderr, "copilot-api: cannot read the accounts in %s\n",
		    w->app->db_path);
		return 1;
	}
	if (as_json) {
		if ((s = cJSON_Print(v)) != NULL)
			printf("%s\n", s);
		cJSON_free(s);
	} else
		print_table(v);
	cJSON_Delete(v);
	return 0;
}

static int
remove_one(struct worker *w, const char *name)
{
	enum gw_err e;

	if (strcmp(name, ACCOUNTS_DEFAULT) == 0) {
		fprintf(stderr, "copilot-api: the default account is not removed "
		    "here: sign in another GitHub user with `copilot-api auth "
		    "login`\n");
		return 2;
	}
	if ((e = accounts_remove(w->db, name)) == GW_ENOTFOUND) {
		fprintf(stderr, "copilot-api: no account named '%s'\n", name);
		return 1;
	}
	if (e != GW_OK) {
		fprintf(stderr, "copilot-api: could not remove account %s: %s\n",
		    name, gw_strerror(e));
		return 1;
	}
	pool_touch(w->app);
	printf("Removed account %s\n", name);
	return 0;
}

int
accounts_cli_main(struct worker *w, int argc, char **argv)
{
	if (argc == 1)
		return list(w, 0);
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		return list(w, 1);
	if (argc == 3 && strcmp(argv[1], "remove") == 0)
		return remove_one(w, argv[2]);
	fprintf(stderr, "usage: copilot-api accounts [--json] | "
	    "accounts remove NAME\n");
	return 2;
}
