/* Finding files shipped in share/ (contract in share.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gwconfig.h"
#include "core/share.h"

/* *path = <dir><sub>/<rel>; GW_OK when that file exists. */
static GW_MUST_CHECK enum gw_err
try_dir(const char *dir, const char *sub, const char *rel, struct buf *path,
    struct buf *tried)
{
	buf_reset(path);
	if (buf_printf(path, "%s%s/%s", dir, sub, rel) != GW_OK ||
	    buf_printf(tried, "%s%s", tried->len > 0 ? ", " : "",
	    path->data) != GW_OK)
		return GW_ENOMEM;
	return access(path->data, F_OK) == 0 ? GW_OK : GW_ENOTFOUND;
}

enum gw_err
share_find(const char *rel, struct buf *path, struct buf *tried)
{
	static const char *const up[] = { "/../../share", "/../share" };
	static const char *const sub[] = { "", "/copilot-api" };
	const char *env = getenv("COPILOT_API_SHARE_DIR");
	struct buf dir = BUF_INIT;
	char exe[PATH_MAX], *slash;
	enum gw_err err = GW_ENOTFOUND;
	ssize_t n;
	size_t i, j;

	/* an explicit setting is the only place looked at */
	if (env != NULL && env[0] != '\0')
		return try_dir(env, "", rel, path, tried);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		for (i = 0; i < 2 && err == GW_ENOTFOUND; i++)
			for (j = 0; j < 2 && err == GW_ENOTFOUND; j++) {
				buf_reset(&dir);
				if (buf_printf(&dir, "%s%s", exe, up[i]) != GW_OK)
					err = GW_ENOMEM;
				else
					err = try_dir(dir.data, sub[j], rel, path, tried);
			}
	}
	if (err == GW_ENOTFOUND)
		err = try_dir(GW_SHAREDIR, "", rel, path, tried);
	buf_free(&dir);
	return err;
}

enum gw_err
share_read(const char *rel, struct buf *out, struct buf *tried)
{
	struct buf path = BUF_INIT;
	char chunk[8192];
	enum gw_err err;
	FILE *f = NULL;
	size_t n;

	if ((err = share_find(rel, &path, tried)) != GW_OK)
		goto out;
	if ((f = fopen(path.data, "rb")) == NULL) {
		err = GW_EIO;
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((err = buf_append(out, chunk, n)) != GW_OK)
			goto out;
	if (ferror(f))
		err = GW_EIO;
out:
	if (f != NULL)
		fclose(f);
	buf_free(&path);
	return err;
}
