// SPDX-License-Identifier: GPL-2.0
/*
 * A backup's outputs: each written as OUTPUT.partial, never over an image
 * of the chain it stands on nor over another output, and renamed only when
 * complete (see session.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../common/fileio.h"
#include "../common/util.h"
#include "session.h"

/*
 * The name recorded for @backing in @output: its bare name when both are in
 * one directory (a chain moves as a whole, and QEMU resolves it relative
 * to the image), else its absolute path (*@outside set).
 */
int backup_backing_name(char *out, size_t n, const char *backing, const char *output,
			bool *outside)
{
	char real[PATH_MAX], dir[PATH_MAX], *copy = strdup(output), *base;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	if (!realpath(backing, real) || !realpath(dirname(copy), dir))
		ret = -errno;
	free(copy);
	if (ret)
		return ret;
	base = strrchr(real, '/');
	*outside = !(base && (size_t)(base - real) == strlen(dir) &&
		     !strncmp(real, dir, strlen(dir)));
	if (!*outside)
		return snprintf(out, n, "%s", base + 1) >= (int)n ? -ENAMETOOLONG : 0;
	return snprintf(out, n, "%s", real) >= (int)n ? -ENAMETOOLONG : 0;
}

/* The canonical path of @path, whose last component need not exist. */
static int canonical(const char *path, char *out)
{
	char *copy = strdup(path), *copy2 = strdup(path), dir[PATH_MAX];
	int ret = 0;

	if (!copy || !copy2)
		ret = -ENOMEM;
	else if (!realpath(dirname(copy), dir))
		ret = -errno;
	else if (snprintf(out, PATH_MAX, "%s/%s", dir, basename(copy2)) >= PATH_MAX)
		ret = -ENAMETOOLONG;
	free(copy);
	free(copy2);
	return ret;
}

/* Is the file at @path (if any) an image of a chain in the group?  Which? */
static const char *in_a_chain(const struct backup *b, unsigned int n, const char *path)
{
	const struct qcow2_image *img;
	struct stat st;
	unsigned int j;

	if (lstat(path, &st))	/* a symlink output is replaced, not written */
		return NULL;
	for (j = 0; j < n; j++) {
		img = b[j].chain ? qcow2_chain_find(b[j].chain, &st) : NULL;
		if (img)
			return img->path;
	}
	return NULL;
}

/*
 * Before anything is frozen: no output (nor its .partial) may be an image
 * of a chain the group reads (writing it would destroy the chain, and the
 * new image would name itself), another output, or anything but a regular
 * file.  backup_open_output() checks the .partial it opened again, by its
 * inode.
 */
int backup_check_outputs(struct backup *b, unsigned int n, char (*partial)[PATH_MAX])
{
	char canon[BACKUP_MAX_DEVICES][2][PATH_MAX];
	const char *img;
	unsigned int i, j, k;
	struct stat st;
	int ret;

	for (i = 0; i < n; i++) {
		const char *paths[2] = { b[i].o->output, partial[i] };

		for (k = 0; k < 2; k++) {
			img = in_a_chain(b, n, paths[k]);
			if (img)
				return errf(b->err, b->errlen, -EEXIST,
					    "-o %s: %s is %s, an image of the backing chain; writing it would destroy the chain",
					    b[i].o->output, paths[k], img);
			if (!lstat(paths[k], &st) && !S_ISREG(st.st_mode) &&
			    !(k == 0 && S_ISLNK(st.st_mode)))
				return errf(b->err, b->errlen, -EEXIST,
					    "%s exists and is not a regular file", paths[k]);
			ret = canonical(paths[k], canon[i][k]);
			if (ret)
				return errf(b->err, b->errlen, ret, "%s: %s", paths[k],
					    strerror(-ret));
		}
		for (j = 0; j < i; j++)
			for (k = 0; k < 4; k++)
				if (!strcmp(canon[i][k / 2], canon[j][k % 2]))
					return errf(b->err, b->errlen, -EINVAL,
						    "-o %s and -o %s collide", b[j].o->output,
						    b[i].o->output);
	}
	return 0;
}

/*
 * Creates backup @b's partial output afresh (create_partial(): never
 * through a symlink, never into a file a name pointed at);
 * backup_check_outputs() refused one that is an image of the chain before,
 * so nothing of the chain is removed here.
 */
int backup_open_output(struct backup *b, const char *partial)
{
	int fd = create_partial(partial, b->o->direct ? &b->out_direct : NULL);

	if (fd == -EEXIST)
		return errf(b->err, b->errlen, fd, "%s is not a regular file (or was replaced)",
			    partial);
	if (fd < 0)
		return errf(b->err, b->errlen, fd, "%s%s: %s%s", b->o->direct ? "--direct: " : "",
			    partial, strerror(-fd), b->o->direct && fd == -EINVAL ?
			    " (the file system does not do O_DIRECT)" : "");
	b->out = fd;	/* ours from now on: removed on failure */
	return 0;
}

/* The output's image, started once: every pass writes into it. */
int backup_start_output(struct backup *b)
{
	int ret;

	b->nbits = (b->t.size + b->granularity - 1) / b->granularity;
	b->words = calloc((b->nbits + 63) / 64, 8);
	if (!b->words)
		return errf(b->err, b->errlen, -ENOMEM, "out of memory");
	ret = qcow2_create(&b->w, b->out, b->t.size, (unsigned int)__builtin_ctz(b->res->cluster),
			   b->o->full ? NULL : b->backing, b->backing_fmt, b->err, b->errlen);
	if (ret)
		return ret;
	if (b->out_direct >= 0)
		qcow2_data_fd(&b->w, b->out_direct);
	return 0;
}

/* The image's metadata and header, once the last pass is copied. */
int backup_finish_output(struct backup *b)
{
	int ret = qcow2_finish(&b->w, b->err, b->errlen);

	b->finished = ret ? -1 : 1;
	return ret;
}

/*
 * --bitmap-mode always, after a failure: finish the partial image with
 * what was copied and keep it; the frozen bits from the first cluster not
 * copied stay dirty (every granule of them for a full backup, which copies
 * clean clusters too).  False if the image could not be finished.
 */
bool backup_keep_partial(struct backup *b, const char *partial)
{
	char err[256];

	/* A second qcow2_finish() after a failed one would leak clusters. */
	if (!b->w.l2 || b->finished < 0 ||
	    (!b->finished && qcow2_finish(&b->w, err, sizeof(err))) ||
	    rename(partial, b->o->output))
		return false;
	/* Not known to survive a crash: not something the bitmap may rely on. */
	if (fsync_dir_of(b->o->output)) {
		unlink(b->o->output);
		return false;
	}
	b->res->kept = true;
	b->res->kept_from = b->copied_to * b->res->cluster;
	if (b->res->kept_from > b->t.size)
		b->res->kept_from = b->t.size;
	return true;
}
