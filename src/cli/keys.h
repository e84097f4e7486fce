/*
 * `copilot-api keys add [--admin] | list | remove ENTRY|KEY`: API keys kept
 * hashed at rest in config.json.
 *
 * add draws a new key (64 hex characters, 256 random bits), stores only
 * "sha256:<hex of the key>" in auth.apiKeys (with --admin: as
 * auth.adminApiKey, replacing the one there) and prints the key once on
 * stdout.  list prints the entries masked (neither a plain key nor a whole
 * digest is shown).  remove drops every auth.apiKeys entry that is ENTRY,
 * that holds KEY (plain or hashed), or, for a hashed entry, that starts with
 * ENTRY as list prints it (at least 8 hex digits, one entry only).  Every
 * write is cfg_update_file's locked atomic rewrite; a running gateway sees
 * it within a second (config.json is live).
 */
#ifndef GW_KEYS_H
#define GW_KEYS_H

/* Exit status: 0 done, 1 config.json could not be read or written or no
 * entry matched, 2 a usage error. */
int keys_main(int argc, char **argv);

#endif
