/*
 * The named Copilot accounts from the terminal (issue 15):
 *   copilot-api auth login --account NAME   (accounts_cli_store)
 *   copilot-api accounts [--json]           one line per account: name,
 *                                           GitHub login, plan, premium
 *                                           quota left, state
 *   copilot-api accounts remove NAME
 * The listing is app/pool.h's, the same GET /admin/accounts answers.
 * Each takes a worker the caller opened (app_init + worker_init).
 */
#ifndef GW_CLI_ACCOUNTS_CLI_H
#define GW_CLI_ACCOUNTS_CLI_H

#include "app/app.h"

/* Checks the GitHub token against /user and stores it with the login:
 * as account name (a new account, or a new sign-in of that one), or, name
 * NULL, as the default account's (of this OAuth app and domain; its
 * previous Copilot token goes).  Exit status: 0 done, 1 GitHub refused
 * the token or the database failed. */
int accounts_cli_store(struct worker *w, const char *name, const char *token,
    int show);

/* argv[0] is "accounts".  Exit status: 0 done, 1 a database or GitHub
 * failure or no such account, 2 a usage error. */
int accounts_cli_main(struct worker *w, int argc, char **argv);

#endif
