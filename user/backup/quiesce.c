// SPDX-License-Identifier: GPL-2.0
/*
 * Stopping a backup's writers for its last pass: --freeze-cmd, FIFREEZE of
 * each --fsfreeze, the command run while frozen, and the thaw (see
 * session.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../common/util.h"
#include "session.h"

/*
 * The writers stop: --freeze-cmd, then FIFREEZE of each --fsfreeze in
 * order.  backup_resume() undoes as much as this did, even after a failure.
 */
int backup_quiesce(void *arg)
{
	struct group *g = arg;
	const struct backup_opts *o = g->b->o;
	unsigned int i;
	int ret;

	if (o->freeze_cmd) {
		g->freeze_cmd_ran = true;
		ret = run_command(o->freeze_cmd, o->stop, "cancelled: --freeze-cmd failed",
				  g->b->err, g->b->errlen);
		if (ret)
			return ret;
	}
	for (i = 0; i < o->nfsfreeze; i++) {
		int fd = open(o->fsfreeze[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0)
			return errf(g->b->err, g->b->errlen, -errno, "%s: %s", o->fsfreeze[i],
				    strerror(errno));
		if (ioctl(fd, FIFREEZE, 0)) {
			ret = -errno;
			close(fd);
			return errf(g->b->err, g->b->errlen, ret, "freezing %s: %s", o->fsfreeze[i],
				    strerror(-ret));
		}
		g->fs[i] = fd;
	}
	return 0;
}

/*
 * A resume step failed: its reason becomes the error (@ret is 0: nothing
 * failed before) or is appended to the one there.  The error to return.
 */
static int resume_failed(struct group *g, int ret, int code, const char *what)
{
	size_t len = strlen(g->b->err);

	if (!ret)
		snprintf(g->b->err, g->b->errlen, "%s", what);
	else if (len < g->b->errlen)
		snprintf(g->b->err + len, g->b->errlen - len, "; %s", what);
	return ret ? ret : code;
}

/*
 * FITHAW in reverse, then --thaw-cmd: always, whatever stopped the
 * backup (not even a signal stops the thaw command).  @ret: the passes'
 * error so far.
 */
int backup_resume(void *arg, int ret)
{
	struct group *g = arg;
	const struct backup_opts *o = g->b->o;
	char what[PATH_MAX + 64];
	unsigned int i;

	for (i = o->nfsfreeze; i--;) {
		if (g->fs[i] < 0)
			continue;
		if (ioctl(g->fs[i], FITHAW, 0)) {
			snprintf(what, sizeof(what), "thawing %s: %s", o->fsfreeze[i],
				 strerror(errno));
			ret = resume_failed(g, ret, -EIO, what);
		}
		close(g->fs[i]);
		g->fs[i] = -1;
	}
	if (g->freeze_cmd_ran && o->thaw_cmd && run_shell(o->thaw_cmd, NULL))
		ret = resume_failed(g, ret, -ECANCELED, "--thaw-cmd failed");
	g->freeze_cmd_ran = false;
	return ret;
}

/* --exec-frozen, at the end of the last pass, still frozen. */
int backup_frozen_command(void *arg)
{
	struct group *g = arg;
	const struct backup_opts *o = g->b->o;

	return run_command(o->exec_frozen, o->stop,
			   "cancelled: the command run while frozen failed", g->b->err,
			   g->b->errlen);
}

/*
 * The device of the super block the file open at @fd lives on.  Not its
 * st_dev: a btrfs subvolume has one of its own, but FIFREEZE freezes the
 * whole super block.  /proc/self/mountinfo names it for the file's mount
 * (statx's mount id); st_dev where that cannot be read.
 */
static dev_t super_dev(int fd)
{
	unsigned int id, maj, min;
	struct statx stx;
	struct stat st;
	char line[4096];
	dev_t dev = 0;
	FILE *f;

	if (fstat(fd, &st))
		return 0;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) || !(stx.stx_mask & STATX_MNT_ID))
		return st.st_dev;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return st.st_dev;
	while (!dev && fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %*u %u:%u", &id, &maj, &min) == 3 && id == stx.stx_mnt_id)
			dev = makedev(maj, min);
	fclose(f);
	return dev ? dev : st.st_dev;
}

/*
 * An output on the file system --fsfreeze freezes would wait for the thaw
 * forever, uninterruptibly (not even SIGKILL ends a write stopped by
 * FIFREEZE), with that file system frozen: refused before anything is
 * frozen.  Compared by super block, as the kernel freezes a whole one.
 */
int backup_check_output_not_frozen(struct backup *b, unsigned int n)
{
	const struct backup_opts *o = b->o;
	dev_t frozen[BACKUP_MAX_FSFREEZE];
	unsigned int i, f;
	int fd;

	for (f = 0; f < o->nfsfreeze; f++) {
		fd = open(o->fsfreeze[f], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return errf(b->err, b->errlen, -errno, "%s: %s", o->fsfreeze[f],
				    strerror(errno));
		frozen[f] = super_dev(fd);
		close(fd);
		/* A second FIFREEZE of one super block fails (EBUSY): say so now. */
		for (i = 0; i < f; i++)
			if (frozen[i] == frozen[f])
				return errf(b->err, b->errlen, -EINVAL,
					    "--fsfreeze %s and %s are one file system: name it once",
					    o->fsfreeze[i], o->fsfreeze[f]);
		for (i = 0; i < n; i++)
			if (super_dev(b[i].out) == frozen[f])
				return errf(b->err, b->errlen, -EINVAL,
					    "%s is on the file system --fsfreeze %s freezes: writing it would wait for the thaw forever; write the backup to another file system",
					    b[i].o->output, o->fsfreeze[f]);
	}
	return 0;
}
