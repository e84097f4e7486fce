/*
 * `copilot-api auth login --provider X` for a third-party provider (1.14.7,
 * src/auth.ts): the presets opencode-go, deepseek, dashscope, openrouter
 * and "custom", written to config.json's providers.<name> from prompts
 * read line by line (an apiKey without echo on a terminal).
 */
#ifndef GW_PROVIDER_LOGIN_H
#define GW_PROVIDER_LOGIN_H

#include <stdio.h>

/* name is a preset or "custom". */
int provider_login_known(const char *name);

/*
 * Asks on out, reads answers from in, writes the entry under the config
 * lock (cfg_update_file).  A preset: its apiKey (required), its type when
 * the preset lets it change (deepseek, dashscope; empty: the default),
 * its baseUrl (empty: the default); written with its pricingCurrency.
 * custom: name ([A-Za-z0-9][A-Za-z0-9_-]*, not copilot or codex), type,
 * baseUrl, apiKey (all required), authType (empty: the type's default,
 * not written).  The entry replaces the existing one but for its
 * pricingCurrency (custom) and models, and is enabled.  Exit status: 0
 * written, 1 a refused answer or a failed write (stderr says why).
 */
int provider_login_main(const char *config_path, const char *name, FILE *in,
    FILE *out);

#endif
