/*
 * The codex OAuth sign-in from a terminal: authorize URL, callback
 * listener or pasted code, token exchange, storage (contract in
 * codex_login.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "app/app.h"
#include "cli/codex_login.h"
#include "state/config.h"
#include "state/db.h"
#include "upstream/codex.h"

#define LOGIN_TIMEOUT_MS (15 * 60 * 1000)

/* The listener on 127.0.0.1:port, or -1 (the paste still works). */
static int
listen_callback(void)
{
	const char *env = getenv("COPILOT_API_CODEX_CALLBACK_PORT");
	long port = CODEX_CALLBACK_PORT;
	struct sockaddr_in sa;
	int fd, one = 1;

	if (env != NULL && *env != '\0' &&
	    util_parse_long(env, 1, 65535, &port) != GW_OK)
		port = CODEX_CALLBACK_PORT;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* best effort: without it a quick second run may find the port taken */
	GW_IGNORE(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 4) != 0) {
		fprintf(stderr, "copilot-api: cannot listen on 127.0.0.1:%ld (%s): "
		    "paste the redirect URL instead\n", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void
reply(int fd, int status, const char *heading, const char *message)
{
	char page[1024];
	char head[256];
	int n, h;

	n = snprintf(page, sizeof(page), "<!doctype html>\n<html lang=\"en\">"
	    "<head><meta charset=\"utf-8\"><title>%s</title></head><body><main>"
	    "<h1>%s</h1><p>%s</p></main></body></html>\n", heading, heading,
	    message);
	h = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "text/html; charset=utf-8\r\nContent-Length: %d\r\nConnection: "
	    "close\r\n\r\n", status, status == 200 ? "OK" : status == 404 ?
	    "Not Found" : "Bad Request", n);
	/* best effort: the browser's page, the code is what matters (a
	 * peer already gone must not kill us with SIGPIPE) */
	GW_IGNORE(send(fd, head, (size_t)h, MSG_NOSIGNAL) == h);
	GW_IGNORE(send(fd, page, (size_t)n, MSG_NOSIGNAL) == n);
}

/* One callback connection: *code set (new) when it carried the code for
 * state; the browser gets a page either way. */
static void
take_callback(int lfd, const char *state, char **code)
{
	char req[4096], *sp, *target, *q, *c = NULL, *s = NULL;
	ssize_t n;
	size_t got = 0;
	int fd;

	*code = NULL;
	if ((fd = accept(lfd, NULL, NULL)) < 0)
		return;
	/* the head, read whole (closing on unread bytes would reset the
	 * connection before the browser sees the page); 2 s for a slow one */
	while (got < sizeof(req) - 1) {
		struct pollfd p = { fd, POLLIN, 0 };

		if (poll(&p, 1, 2000) <= 0 ||
		    (n = read(fd, req + got, sizeof(req) - 1 - got)) <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[got] = '\0';
	target = strchr(req, ' ');
	sp = target != NULL ? strchr(target + 1, ' ') : NULL;
	if (sp == NULL || !util_has_prefix(target + 1, CODEX_CALLBACK_PATH) ||
	    (target[1 + strlen(CODEX_CALLBACK_PATH)] != '?' &&
	    target[1 + strlen(CODEX_CALLBACK_PATH)] != ' ')) {
		reply(fd, 404, "Authentication failed", "Callback route not found.");
		goto out;
	}
	*sp = '\0';
	/* the query after "/auth/callback?" ("" when there is none) */
	q = target + 1 + strlen(CODEX_CALLBACK_PATH);
	if (*q == '?')
		q++;
	if (codex_parse_input(q, &c, &s) != GW_OK || s == NULL ||
	    strcmp(s, state) != 0) {
		reply(fd, 400, "Authentication failed", "State mismatch.");
		goto out;
	}
	if (c == NULL || *c == '\0') {
		reply(fd, 400, "Authentication failed",
		    "Missing authorization code.");
		goto out;
	}
	reply(fd, 200, "Authentication successful", "OpenAI Codex "
	    "authentication completed. You can close this window.");
	*code = c;
	c = NULL;
out:
	free(c);
	free(s);
	close(fd);
}

/* A pasted line: *code (new) or an error already printed (-1). */
static int
take_paste(const char *line, const char *state, char **code)
{
	char *c = NULL, *s = NULL;

	*code = NULL;
	if (codex_parse_input(line, &c, &s) != GW_OK)
		return -1;
	if (s != NULL && strcmp(s, state) != 0) {
		fprintf(stderr, "copilot-api: Codex OAuth state mismatch\n");
		free(c);
		free(s);
		return -1;
	}
	free(s);
	if (c == NULL || *c == '\0') {
		free(c);
		return 0;
	}
	*code = c;
	return 0;
}

/* The code from the callback or stdin; NULL after printing why. */
static char *
wait_code(const char *state)
{
	struct pollfd p[2];
	char line[8192], *code = NULL;
	int lfd = listen_callback(), stdin_open = 1, n;
	int64_t deadline = util_mono_ms() + LOGIN_TIMEOUT_MS;

	printf("Paste the authorization code or full redirect URL: ");
	fflush(stdout);
	while (code == NULL && util_mono_ms() < deadline) {
		n = 0;
		if (lfd >= 0)
			p[n++] = (struct pollfd){ lfd, POLLIN, 0 };
		if (stdin_open)
			p[n++] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
		if (n == 0)
			break;
		if (poll(p, (nfds_t)n, 1000) <= 0)
			continue;
		if (lfd >= 0 && (p[0].revents & POLLIN))
			take_callback(lfd, state, &code);
		else if (p[n - 1].fd == STDIN_FILENO && p[n - 1].revents) {
			if (fgets(line, sizeof(line), stdin) == NULL)
				stdin_open = 0;
			else if (take_paste(line, state, &code) < 0)
				break;
		}
	}
	if (lfd >= 0)
		close(lfd);
	putchar('\n');
	if (code == NULL)
		fprintf(stderr, "copilot-api: Missing Codex authorization code\n");
	return code;
}

static GW_MUST_CHECK enum gw_err
set_provider(cJSON *root, void *arg)
{
	cJSON *providers = cJSON_GetObjectItemCaseSensitive(root, "providers");
	cJSON *codex;
	const char *base;
	enum gw_err e;

	(void)arg;
	if (!cJSON_IsObject(providers)) {
		if ((e = json_set(root, "providers", cJSON_CreateObject())) != GW_OK)
			return e;
		providers = cJSON_GetObjectItemCaseSensitive(root, "providers");
	}
	codex = cJSON_GetObjectItemCaseSensitive(providers, "codex");
	if (!cJSON_IsObject(codex)) {
		if ((e = json_set(providers, "codex", cJSON_CreateObject())) != GW_OK)
			return e;
		codex = cJSON_GetObjectItemCaseSensitive(providers, "codex");
	}
	base = json_str(codex, "baseUrl");
	if ((e = json_set(codex, "type", cJSON_CreateString("openai-responses")))
	    != GW_OK ||
	    (e = json_set(codex, "enabled", cJSON_CreateTrue())) != GW_OK ||
	    (e = json_set(codex, "baseUrl", cJSON_CreateString(base != NULL &&
	    *base != '\0' ? base : CODEX_API_URL_DEFAULT))) != GW_OK)
		return e;
	return json_set(codex, "authType", cJSON_CreateString("oauth2"));
}

int
codex_login_main(struct worker *w, int show_token)
{
	const char *auth = w->app->cfg->upstream_codex_auth_url;
	struct codex_pkce pk;
	struct codex_creds c;
	struct buf url = BUF_INIT, err = BUF_INIT;
	char *code = NULL, fp[16];
	int rc = 1;

	memset(&c, 0, sizeof(c));
	if (codex_pkce_new(&pk) != GW_OK ||
	    codex_authorize_url(auth, &pk, &url) != GW_OK) {
		fprintf(stderr, "copilot-api: cannot start the Codex sign-in\n");
		goto out;
	}
	printf("Open the following URL to authenticate with Codex:\n%s\n"
	    "Please complete the login in the browser. If the browser does not "
	    "automatically redirect, please paste the callback URL or code back "
	    "to the terminal.\n", url.data);
	fflush(stdout);
	if ((code = wait_code(pk.state)) == NULL)
		goto out;
	if (codex_exchange_code(w->client, auth, code, pk.verifier, &c, &err)
	    != GW_OK) {
		fprintf(stderr, "copilot-api: %s\n", buf_cstr(&err));
		goto out;
	}
	if (codex_creds_store(w->db, &c) != GW_OK) {
		fprintf(stderr, "copilot-api: could not store the Codex "
		    "credentials in %s\n", w->app->db_path);
		goto out;
	}
	buf_reset(&err);
	if (cfg_update_file(w->app->config_path, set_provider, NULL, &err) !=
	    GW_OK) {
		fprintf(stderr, "copilot-api: could not write providers.codex to "
		    "%s: %s\n", w->app->config_path, buf_cstr(&err));
		goto out;
	}
	log_fingerprint(c.access_token, fp);
	printf("Signed in to Codex (account %s, token %s). Codex provider config "
	    "written to %s and credentials stored in %s\n", c.account_id,
	    show_token ? c.access_token : fp, w->app->config_path,
	    w->app->db_path);
	rc = 0;
out:
	codex_creds_free(&c);
	free(code);
	buf_free(&url);
	buf_free(&err);
	return rc;
}
