/*
 * `copilot-api approve [--all]`: manual approval from a terminal.  Lists
 * the pending requests of the database the gateway uses and asks y/n for
 * each (y approves, n rejects, Enter skips, q stops); --all approves every
 * pending request without asking.
 */
#ifndef GW_APPROVE_H
#define GW_APPROVE_H

/* Exit status: 0 done, 1 the database failed, 2 a usage error. */
int approve_main(int argc, char **argv);

#endif
