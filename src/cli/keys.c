/* `copilot-api keys`: add, list and remove API keys hashed at rest. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/util.h"
#include "cli/keys.h"
#include "state/config.h"
#include "state/paths.h"

#define HASH_PREFIX "sha256:"
#define HASH_PREFIX_LEN 7
/* what list shows of a digest, and the least remove accepts of one */
#define SHOWN_HEX 12
#define MIN_HEX 8

/* What a mutation works with: the entry to add, or what to remove. */
struct keys_op {
	const char *entry;      /* add: "sha256:<hex>" */
	int admin;              /* add: as auth.adminApiKey */
	const char *match;      /* remove: an entry, a key or a digest prefix */
	size_t removed;
	struct buf *errmsg;
};

static void
keys_usage(FILE *f)
{
	fprintf(f, "usage: copilot-api keys add [--admin]\n"
	    "       copilot-api keys list\n"
	    "       copilot-api keys remove ENTRY|KEY\n");
}

/* best effort: the caller returns its error whatever the message says */
static void
say(struct buf *errmsg, const char *msg)
{
	buf_reset(errmsg);
	GW_IGNORE(buf_puts(errmsg, msg));
}

/* auth (created when missing) and its apiKeys array (NULL with admin,
 * created when missing); GW_ECONFIG with a message when either is of
 * another type. */
static GW_MUST_CHECK enum gw_err
auth_parts(cJSON *root, int want_keys, struct buf *errmsg, cJSON **auth,
    cJSON **keys)
{
	enum gw_err e = GW_OK;

	*keys = NULL;
	*auth = cJSON_GetObjectItemCaseSensitive(root, "auth");
	if (*auth == NULL || cJSON_IsNull(*auth)) {
		*auth = cJSON_CreateObject();
		if ((e = json_set(root, "auth", *auth)) != GW_OK)
			return e;
	}
	if (!cJSON_IsObject(*auth)) {
		say(errmsg, "config.json: \"auth\" is not an object; fix it first");
		return GW_ECONFIG;
	}
	if (!want_keys)
		return GW_OK;
	*keys = cJSON_GetObjectItemCaseSensitive(*auth, "apiKeys");
	if (*keys == NULL || cJSON_IsNull(*keys)) {
		*keys = cJSON_CreateArray();
		e = json_set(*auth, "apiKeys", *keys);
	} else if (!cJSON_IsArray(*keys)) {
		say(errmsg, "config.json: \"auth.apiKeys\" is not an array; fix it "
		    "first");
		e = GW_ECONFIG;
	}
	return e;
}

static GW_MUST_CHECK enum gw_err
add_mutate(cJSON *root, void *arg)
{
	struct keys_op *op = arg;
	cJSON *auth, *keys;
	enum gw_err e;

	if ((e = auth_parts(root, !op->admin, op->errmsg, &auth, &keys)) != GW_OK)
		return e;
	if (op->admin)
		return json_set(auth, "adminApiKey", cJSON_CreateString(op->entry));
	return json_push(keys, cJSON_CreateString(op->entry));
}

/* s is "sha256:" + at least MIN_HEX hex digits and nothing else. */
static int
is_digest_prefix(const char *s)
{
	size_t i;

	if (!util_has_prefix(s, HASH_PREFIX))
		return 0;
	for (i = HASH_PREFIX_LEN; s[i] != '\0'; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return i - HASH_PREFIX_LEN >= MIN_HEX;
}

static int
prefix_icase(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++)
		if (tolower((unsigned char)*s) != tolower((unsigned char)*prefix))
			return 0;
	return 1;
}

/* entry (trimmed) is what op->match names exactly: the entry itself, or
 * the key it holds, plain or hashed. */
static int
names_exactly(const char *entry, const char *match, const char *match_hex)
{
	if (strcmp(entry, match) == 0)
		return 1;
	return util_has_prefix(entry, HASH_PREFIX) &&
	    strlen(entry) == HASH_PREFIX_LEN + 64 &&
	    prefix_icase(entry + HASH_PREFIX_LEN, match_hex);
}

/* Counts (remove == 0) or removes the entries matching op->match. */
static GW_MUST_CHECK enum gw_err
sweep(cJSON *keys, const struct keys_op *op, int by_prefix, size_t *n,
    int remove)
{
	char hex[65];
	cJSON *k, *next;
	char *t;
	int hit;

	util_sha256_hex(op->match, strlen(op->match), hex);
	*n = 0;
	for (k = keys->child; k != NULL; k = next) {
		next = k->next;
		if (!cJSON_IsString(k))
			continue;
		if ((t = util_strndup_trim(k->valuestring,
		    strlen(k->valuestring))) == NULL)
			return GW_ENOMEM;
		hit = by_prefix ? util_has_prefix(t, HASH_PREFIX) &&
		    prefix_icase(t, op->match) : names_exactly(t, op->match, hex);
		free(t);
		if (!hit)
			continue;
		(*n)++;
		if (remove)
			cJSON_Delete(cJSON_DetachItemViaPointer(keys, k));
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
remove_mutate(cJSON *root, void *arg)
{
	struct keys_op *op = arg;
	cJSON *auth, *keys;
	size_t n;
	enum gw_err e;
	int by_prefix = 0;

	if ((e = auth_parts(root, 1, op->errmsg, &auth, &keys)) != GW_OK ||
	    (e = sweep(keys, op, 0, &n, 0)) != GW_OK)
		return e;
	if (n == 0 && is_digest_prefix(op->match)) {
		by_prefix = 1;
		if ((e = sweep(keys, op, 1, &n, 0)) != GW_OK)
			return e;
		if (n > 1) {
			say(op->errmsg, "more than one entry starts with that; give "
			    "more of the digest");
			return GW_EINVAL;
		}
	}
	if (n == 0) {
		say(op->errmsg, "no entry of auth.apiKeys matches (the admin key "
		    "is replaced with `keys add --admin`)");
		return GW_ENOTFOUND;
	}
	op->removed = n;
	if ((e = sweep(keys, op, by_prefix, &n, 1)) == GW_OK &&
	    cJSON_GetArraySize(keys) == 0)
		fprintf(stderr, "auth.apiKeys is now empty: the regular routes "
		    "are open to this machine.\n");
	return e;
}

/* "sha256:1a2b3c4d5e6f…" or "sk-t… (plain, 24 characters)". */
static void
print_masked(const char *label, const char *entry)
{
	size_t len = strlen(entry);

	if (util_has_prefix(entry, HASH_PREFIX) && len > HASH_PREFIX_LEN + SHOWN_HEX)
		printf("  %-8s %.*s…  (hashed)\n", label,
		    HASH_PREFIX_LEN + SHOWN_HEX, entry);
	else if (len >= 16)
		printf("  %-8s %.4s…  (plain, %zu characters)\n", label, entry, len);
	else
		printf("  %-8s …  (plain, %zu characters)\n", label, len);
}

static int
cmd_list(const char *path)
{
	struct buf err = BUF_INIT;
	struct cfg *c = NULL;
	char label[24];
	size_t i;

	if (cfg_load(path, &c, &err) != GW_OK) {
		fprintf(stderr, "copilot-api: %s\n", buf_cstr(&err));
		buf_free(&err);
		return 1;
	}
	printf("auth.apiKeys (%zu)%s\n", c->api_keys.n,
	    c->api_keys.n == 0 ? ": none, the regular routes are open to this "
	    "machine" : "");
	for (i = 0; i < c->api_keys.n; i++) {
		snprintf(label, sizeof(label), "%zu", i + 1);
		print_masked(label, c->api_keys.v[i]);
	}
	printf("auth.adminApiKey%s\n", c->admin_api_key == NULL ?
	    ": none, the admin routes are closed" : "");
	if (c->admin_api_key != NULL)
		print_masked("admin", c->admin_api_key);
	cfg_free(c);
	buf_free(&err);
	return 0;
}

static int
cmd_add(const char *path, int admin)
{
	struct buf err = BUF_INIT, entry = BUF_INIT;
	struct keys_op op = { NULL, admin, NULL, 0, &err };
	char key[65], hex[65];
	int rc = 1;

	/* 64 hex digits: 256 random bits, as the generated admin key */
	if (util_random_id("", UTIL_ID_HEX, 64, key, sizeof(key)) != GW_OK) {
		fprintf(stderr, "copilot-api: no randomness available\n");
		goto out;
	}
	util_sha256_hex(key, strlen(key), hex);
	if (buf_printf(&entry, HASH_PREFIX "%s", hex) != GW_OK)
		goto out;
	op.entry = entry.data;
	if (cfg_update_file(path, add_mutate, &op, &err) != GW_OK) {
		fprintf(stderr, "copilot-api: %s\n", buf_cstr(&err));
		goto out;
	}
	printf("%s\n", key);
	fflush(stdout);
	fprintf(stderr, "Stored as %.*s… in %s %s; the key is not shown "
	    "again.\n", HASH_PREFIX_LEN + SHOWN_HEX, entry.data,
	    admin ? "auth.adminApiKey of" : "auth.apiKeys of", path);
	if (admin)
		fprintf(stderr, "The previous admin key no longer works.\n");
	rc = 0;
out:
	buf_free(&entry);
	buf_free(&err);
	return rc;
}

/* match may be copied from list's output, ellipsis and all. */
static int
cmd_remove(const char *path, const char *match)
{
	static const char ellipsis[] = "…";
	struct buf err = BUF_INIT, m = BUF_INIT;
	struct keys_op op = { NULL, 0, NULL, 0, &err };
	size_t n = strlen(match), el = sizeof(ellipsis) - 1;
	int rc = 0;

	if (n > el && strcmp(match + n - el, ellipsis) == 0)
		n -= el;
	if (buf_append(&m, match, n) != GW_OK) {
		fprintf(stderr, "copilot-api: out of memory\n");
		return 1;
	}
	op.match = buf_cstr(&m);
	if (cfg_update_file(path, remove_mutate, &op, &err) != GW_OK) {
		fprintf(stderr, "copilot-api: %s\n", buf_cstr(&err));
		rc = 1;
	} else
		printf("removed %zu entr%s of auth.apiKeys\n", op.removed,
		    op.removed == 1 ? "y" : "ies");
	buf_free(&m);
	buf_free(&err);
	return rc;
}

int
keys_main(int argc, char **argv)
{
	char *home = NULL, *path = NULL;
	const char *sub = argc > 1 ? argv[1] : "";
	int rc = 2;

	if (strcmp(sub, "add") == 0 && (argc == 2 ||
	    (argc == 3 && strcmp(argv[2], "--admin") == 0))) {
		rc = 0;
	} else if ((strcmp(sub, "list") == 0 && argc == 2) ||
	    (strcmp(sub, "remove") == 0 && argc == 3 && argv[2][0] != '\0'))
		rc = 0;
	if (rc != 0) {
		keys_usage(stderr);
		return rc;
	}
	if (paths_home(&home) != GW_OK || paths_ensure_dir(home) != GW_OK ||
	    paths_join(home, "config.json", &path) != GW_OK) {
		fprintf(stderr, "copilot-api: cannot find or create the data "
		    "directory: set COPILOT_API_HOME or HOME\n");
		rc = 1;
	} else if (strcmp(sub, "add") == 0)
		rc = cmd_add(path, argc == 3);
	else if (strcmp(sub, "list") == 0)
		rc = cmd_list(path);
	else
		rc = cmd_remove(path, argv[2]);
	free(path);
	free(home);
	return rc;
}
