/*
 * `copilot-api auth login --provider codex`: the OpenAI OAuth sign-in of the
 * built-in codex provider, as the reference does it.  Prints the authorize
 * URL, then takes the authorization code from whichever comes first: the
 * browser's redirect to the local callback listener (127.0.0.1:1455,
 * /auth/callback; COPILOT_API_CODEX_CALLBACK_PORT moves the listener, not
 * the redirect URI), or a line on stdin holding the redirect URL or the
 * code (headless hosts).  The credentials go to the database, and
 * providers.codex {type openai-responses, enabled, baseUrl, authType
 * oauth2} to config.json (a baseUrl already there is kept).
 */
#ifndef GW_CODEX_LOGIN_H
#define GW_CODEX_LOGIN_H

struct worker;

/* Exit status: 0 signed in, 1 the sign-in failed (stderr says why).
 * show_token (--show-token): the access token printed whole, not its
 * fingerprint, as the reference prints it. */
int codex_login_main(struct worker *w, int show_token);

#endif
