/* `copilot-api start`: the local run (spawn-fcgi + lighttpd, foreground). */
#ifndef GW_LAUNCH_H
#define GW_LAUNCH_H

#include <stdio.h>

int launch_start(int argc, char **argv);
void launch_print_claude_env(FILE *f, const char *host, const char *port,
    const char *model, const char *small_model);

#endif
