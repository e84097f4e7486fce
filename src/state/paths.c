/* The data directory, atomic file writes and file locks inside it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "gwconfig.h"
#include "state/paths.h"

#define HOME_SUFFIX "/.local/share/copilot-api"

/* Copy of s without trailing slashes, keeping a lone "/". */
static char *
dup_strip_slashes(const char *s)
{
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		n--;
	return strndup(s, n);
}

enum gw_err
paths_home(char **out)
{
	const char *v;
	struct buf b = BUF_INIT;
	char *home;

	*out = NULL;
	v = getenv("COPILOT_API_HOME");
	if (v != NULL && *v != '\0') {
		*out = dup_strip_slashes(v);
		return *out != NULL ? GW_OK : GW_ENOMEM;
	}
	/* A system install (make install creates it) serves every user: the
	 * web server's, cron's and the operator's programs share it. */
	if (access(GW_SYSTEM_DATADIR, W_OK) == 0) {
		*out = strdup(GW_SYSTEM_DATADIR);
		return *out != NULL ? GW_OK : GW_ENOMEM;
	}
	v = getenv("HOME");
	if (v == NULL || *v == '\0') {
		log_error("cannot locate the data directory: neither COPILOT_API_HOME "
		    "nor HOME is set (nor is " GW_SYSTEM_DATADIR " writable)");
		return GW_EINVAL;
	}
	home = dup_strip_slashes(v);
	if (home == NULL)
		return GW_ENOMEM;
	/* HOME="/" must not give "//.local/...". */
	if (buf_puts(&b, strcmp(home, "/") == 0 ? "" : home) != GW_OK ||
	    buf_puts(&b, HOME_SUFFIX) != GW_OK) {
		free(home);
		buf_free(&b);
		return GW_ENOMEM;
	}
	free(home);
	*out = buf_detach(&b);
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
mkdir_one(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return GW_OK;
	if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return GW_OK;
	log_error("cannot create directory %s: %s", dir,
	    errno == EEXIST ? "exists and is not a directory" : strerror(errno));
	return GW_EIO;
}

enum gw_err
paths_ensure_dir(const char *dir)
{
	char *p, *s;
	enum gw_err e = GW_OK;

	if (dir == NULL || *dir == '\0')
		return GW_EINVAL;
	if ((p = strdup(dir)) == NULL)
		return GW_ENOMEM;
	/* Create each prefix ending before a slash, then the whole path. */
	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = '\0';
		e = mkdir_one(p);
		*s = '/';
		if (e != GW_OK)
			goto out;
	}
	e = mkdir_one(p);
out:
	free(p);
	return e;
}

enum gw_err
paths_join(const char *dir, const char *name, char **out)
{
	struct buf b = BUF_INIT;
	size_t n = strlen(dir);
	enum gw_err e;

	*out = NULL;
	while (*name == '/')
		name++;
	e = buf_append(&b, dir, n);
	if (e == GW_OK && (n == 0 || dir[n - 1] != '/'))
		e = buf_putc(&b, '/');
	if (e == GW_OK)
		e = buf_puts(&b, name);
	if (e != GW_OK) {
		buf_free(&b);
		return e;
	}
	*out = buf_detach(&b);
	return GW_OK;
}

/* paths_home() joined with name, e.g. "config.json".  No caller in the
 * gateway (test_config.c includes this file to reach it). */
static __attribute__((unused)) enum gw_err
paths_in_home(const char *name, char **out)
{
	char *home = NULL;
	enum gw_err e;

	*out = NULL;
	e = paths_home(&home);
	if (e == GW_OK)
		e = paths_join(home, name, out);
	free(home);
	return e;
}

static GW_MUST_CHECK enum gw_err
io_fail(struct buf *errmsg, const char *what, const char *path, int err)
{
	if (errmsg != NULL) {
		/* best effort: GW_EIO is returned whatever the message says */
		buf_reset(errmsg);
		GW_IGNORE(buf_printf(errmsg, "%s %s: %s", what, path,
		    strerror(err)));
	}
	return GW_EIO;
}

static GW_MUST_CHECK enum gw_err
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return GW_EIO;
		}
		p += w;
		n -= (size_t)w;
	}
	return GW_OK;
}

/* Makes the rename durable.  Some filesystems cannot fsync a directory
 * (EINVAL); the rename itself has happened, so that is not a failure. */
static GW_MUST_CHECK enum gw_err
sync_dir(const char *dir, struct buf *errmsg)
{
	int fd, err;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return io_fail(errmsg, "cannot open directory", dir, errno);
	if (fsync(fd) != 0 && errno != EINVAL) {
		err = errno;
		close(fd);
		return io_fail(errmsg, "cannot sync directory", dir, err);
	}
	close(fd);
	return GW_OK;
}

enum gw_err
paths_write_atomic(const char *path, const void *data, size_t len,
    struct buf *errmsg)
{
	struct buf tmpl = BUF_INIT;
	char *dir = NULL, *slash;
	int fd = -1, err = 0;
	enum gw_err e;

	slash = strrchr(path, '/');
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	/* Hidden name in the same directory so rename() stays atomic. */
	e = dir == NULL ? GW_ENOMEM : buf_printf(&tmpl, "%s/.%s.XXXXXX", dir,
	    slash == NULL ? path : slash + 1);
	if (e != GW_OK)
		goto out;
	fd = mkostemp(tmpl.data, O_CLOEXEC);
	if (fd < 0) {
		e = io_fail(errmsg, "cannot create a temporary file in", dir, errno);
		goto out;
	}
	if (write_all(fd, data, len) != GW_OK || fsync(fd) != 0 ||
	    fchmod(fd, 0600) != 0) {
		err = errno;
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		err = errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmpl.data, path) != 0) {
		err = errno;
		goto fail;
	}
	e = sync_dir(dir, errmsg);
	goto out;
fail:
	e = io_fail(errmsg, "cannot write", path, err);
	if (fd >= 0)
		close(fd);
	fd = -1;
	unlink(tmpl.data);
out:
	if (fd >= 0)
		close(fd);
	buf_free(&tmpl);
	free(dir);
	return e;
}

enum gw_err
paths_lock(const char *path, int flags, int *fd, struct buf *errmsg)
{
	int oflags = O_RDWR | O_APPEND | O_CLOEXEC, err;

	if (!(flags & PATHS_LOCK_EXISTING))
		oflags |= O_CREAT;
	if ((*fd = open(path, oflags, 0600)) < 0) {
		if (errno == ENOENT && (flags & PATHS_LOCK_EXISTING))
			return GW_ENOTFOUND;
		return io_fail(errmsg, "cannot open", path, errno);
	}
	while (flock(*fd, LOCK_EX | (flags & PATHS_LOCK_NB ? LOCK_NB : 0)) != 0) {
		if (errno == EINTR)
			continue;
		err = errno;
		close(*fd);
		*fd = -1;
		if (err == EWOULDBLOCK)
			return GW_EBUSY;
		return io_fail(errmsg, "cannot lock", path, err);
	}
	return GW_OK;
}

void
paths_unlock(int fd)
{
	if (fd < 0)
		return;
	flock(fd, LOCK_UN);
	close(fd);
}
