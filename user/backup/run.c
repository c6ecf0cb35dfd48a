// SPDX-License-Identifier: GPL-2.0
/*
 * Block backups (see run.h).
 *
 * The protocol is the seed's: FREEZE the bitmap (an exact cut: every write
 * before it is in the frozen bits, every later one in the successor), read
 * the frozen bits, copy the dirty clusters (all of them for --full), then
 * ABDICATE on success.  On any failure RECLAIM (the frozen bits return to
 * the bitmap, so the next incremental copies them again) and remove the
 * partial output.  A backup killed outright is reclaimed by the kernel,
 * which binds the freeze to the netlink socket.  Writes go on during the
 * copy: a cluster is copied as it is when read (crash-consistent per
 * cluster) and a write after the cut lands in the next incremental.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "../common/fileio.h"
#include "../common/util.h"
#include "qcow2.h"
#include "run.h"

#define BACKUP_MIN_CLUSTER	65536
#define RESTORE_CHUNK		(1 << 20)
#define BACKUP_RUN		(256 << 10)	/* bytes read at once: stays in cache */

struct find_bitmap {
	const char *name;
	struct dirtybit_bitmap found;
	bool ok;
};

static int find_bitmap_cb(const struct dirtybit_bitmap *b, void *data)
{
	struct find_bitmap *f = data;

	if (!strcmp(b->name, f->name)) {
		f->found = *b;
		f->ok = true;
	}
	return 0;
}

/* Size of an open file or block device. */
static int fd_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) ? -errno : 0;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Any granule of cluster @c dirty in @words? */
static bool cluster_dirty(const uint64_t *words, uint64_t c, uint64_t per, uint64_t nbits)
{
	uint64_t g, end = (c + 1) * per < nbits ? (c + 1) * per : nbits;

	for (g = c * per; g < end; g++)
		if (words[g / 64] >> (g % 64) & 1)
			return true;
	return false;
}

struct backup {
	struct dirtybit_ctx *ctx;
	const struct backup_opts *o;
	struct backup_result *res;
	struct dirtybit_target t;
	struct qcow2_writer w;
	uint64_t granularity, nbits;
	uint64_t *words;
	int dev, out;
	char backing[PATH_MAX], backing_fmt[8];
	char *err;
	size_t errlen;
};

/* A command on the backup's bitmap; a @quiet failure keeps err. */
static int bitmap_cmd(struct backup *b, uint8_t cmd, bool quiet)
{
	struct dirtybit_bitmap_req req = { .target = b->o->device, .name = b->o->bitmap };
	int ret = dirtybit_bitmap(b->ctx, cmd, &req);

	if (ret && !quiet)
		snprintf(b->err, b->errlen, "bitmap %s: %s", b->o->bitmap, b->ctx->err);
	return ret;
}

/*
 * The name recorded for @backing in @output: its bare name when both are in
 * one directory (a chain moves as a whole, and QEMU resolves it relative
 * to the image), else its absolute path.
 */
static int backing_name(char *out, size_t n, const char *backing, const char *output)
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
	if (base && (size_t)(base - real) == strlen(dir) && !strncmp(real, dir, strlen(dir)))
		return snprintf(out, n, "%s", base + 1) >= (int)n ? -ENAMETOOLONG : 0;
	return snprintf(out, n, "%s", real) >= (int)n ? -ENAMETOOLONG : 0;
}

/* The target, its bitmap, the cluster size and the backing file. */
static int prepare(struct backup *b)
{
	const struct backup_opts *o = b->o;
	struct find_bitmap f = { .name = o->bitmap };
	struct qcow2_image *prev = NULL;
	uint64_t size;
	int ret;

	ret = dirtybit_target_get(b->ctx, o->device, &b->t);
	if (ret)
		return snprintf(b->err, b->errlen, "%s: %s", o->device, b->ctx->err), ret;
	if (b->t.kind != DIRTYBIT_TARGET_BLOCK)
		return snprintf(b->err, b->errlen, "%s is not a block device target",
				o->device), -EINVAL;
	ret = dirtybit_bitmaps(b->ctx, o->device, find_bitmap_cb, &f);
	if (ret || !f.ok)
		return snprintf(b->err, b->errlen, "%s: no bitmap %s", o->device, o->bitmap),
		       ret ? ret : -ENOENT;
	if (f.found.flags & DIRTYBIT_BITMAP_F_FROZEN)
		return snprintf(b->err, b->errlen, "bitmap %s is busy (frozen by a backup)",
				o->bitmap), -EBUSY;
	if (f.found.flags & DIRTYBIT_BITMAP_F_INCONSISTENT)
		return snprintf(b->err, b->errlen,
				"bitmap %s is inconsistent (the device changed size); take a full backup into a new bitmap",
				o->bitmap), -EINVAL;
	b->granularity = f.found.granularity;
	b->res->cluster = o->cluster ? o->cluster :
			  b->granularity > BACKUP_MIN_CLUSTER ? (uint32_t)b->granularity :
			  BACKUP_MIN_CLUSTER;
	if (b->res->cluster & (b->res->cluster - 1) || b->res->cluster < b->granularity ||
	    b->res->cluster < 4096 || b->res->cluster > (2U << 20))
		return snprintf(b->err, b->errlen,
				"cluster size %u: a power of two, 4K to 2M, at least the granularity %llu",
				b->res->cluster, (unsigned long long)b->granularity), -EINVAL;
	b->dev = open(o->device, O_RDONLY | O_CLOEXEC | O_DIRECT);
	if (b->dev < 0)
		b->dev = open(o->device, O_RDONLY | O_CLOEXEC);
	if (b->dev < 0 || fd_size(b->dev, &size))
		return snprintf(b->err, b->errlen, "%s: %s", o->device, strerror(errno)), -errno;
	if (size != b->t.size)
		return snprintf(b->err, b->errlen, "%s is %llu bytes, its target %llu",
				o->device, (unsigned long long)size,
				(unsigned long long)b->t.size), -EINVAL;
	if (o->full)
		return 0;
	/* An incremental stands on the previous backup: same size, readable. */
	ret = qcow2_open(&prev, o->backing, NULL, b->err, b->errlen);
	if (ret)
		return ret;
	if (prev->size != size) {
		snprintf(b->err, b->errlen, "backing file %s is %llu bytes, the device %llu",
			 o->backing, (unsigned long long)prev->size, (unsigned long long)size);
		ret = -EINVAL;
	}
	snprintf(b->backing_fmt, sizeof(b->backing_fmt), "%s", prev->raw ? "raw" : "qcow2");
	qcow2_close(prev);
	if (ret)
		return ret;
	ret = backing_name(b->backing, sizeof(b->backing), o->backing, o->output);
	if (ret)
		snprintf(b->err, b->errlen, "%s: %s", o->backing, strerror(-ret));
	return ret;
}

/*
 * Clusters [c, c + k) were read into @buf: runs of non-zero ones go out in
 * one write each; zero ones are holes (full) or zero flags (incremental,
 * hiding what the backing file holds).
 */
static int store_run(struct backup *b, const unsigned char *buf, uint64_t c, uint64_t k)
{
	uint64_t cluster = b->res->cluster, i = 0, s;
	int ret;

	for (; i < k; i = s) {
		bool zero;

		s = zero_run_end(buf, cluster, i, k, &zero);
		if (zero) {
			for (; !b->o->full && i < s; i++)
				qcow2_zero_cluster(&b->w, c + i);
			b->res->zero += s - i;
			continue;
		}
		ret = qcow2_write_clusters(&b->w, c + i, s - i, buf + i * cluster, b->err,
					   b->errlen);
		if (ret)
			return ret;
		b->res->data += s - i;
	}
	return 0;
}

/* The copy, between the freeze and the abdicate: dirty runs, read whole. */
static int copy(struct backup *b)
{
	uint64_t cluster = b->res->cluster, size = b->t.size, c = 0, n;
	uint64_t per = cluster / b->granularity, max = BACKUP_RUN / cluster;
	unsigned char *buf = NULL;
	int ret;

	if (!max)
		max = 1;
	b->nbits = (size + b->granularity - 1) / b->granularity;
	b->words = calloc((b->nbits + 63) / 64, 8);
	if (!b->words || posix_memalign((void **)&buf, 4096, max * cluster)) {
		free(buf);
		return snprintf(b->err, b->errlen, "out of memory"), -ENOMEM;
	}
	ret = dirtybit_bitmap_read(b->ctx, b->t.id, b->o->bitmap, b->words, (b->nbits + 63) / 64);
	if (ret)
		snprintf(b->err, b->errlen, "reading bitmap %s: %s", b->o->bitmap, b->ctx->err);
	if (!ret)
		ret = qcow2_create(&b->w, b->out, size, (unsigned int)__builtin_ctz(cluster),
				   b->o->full ? NULL : b->backing, b->backing_fmt, b->err,
				   b->errlen);
	n = (size + cluster - 1) / cluster;
	while (!ret && c < n) {
		uint64_t k = 0, len;

		if (!b->o->full && !cluster_dirty(b->words, c, per, b->nbits)) {
			c++;
			continue;
		}
		while (c + k < n && k < max &&
		       (b->o->full || cluster_dirty(b->words, c + k, per, b->nbits)))
			k++;
		if (b->o->stop && *b->o->stop) {
			ret = -EINTR;
			snprintf(b->err, b->errlen, "interrupted");
			break;
		}
		len = (c + k) * cluster > size ? size - c * cluster : k * cluster;
		memset(buf + len, 0, k * cluster - len);
		ret = pread_all(b->dev, buf, len, c * cluster);
		if (ret) {
			snprintf(b->err, b->errlen, "reading %s at %llu: %s", b->o->device,
				 (unsigned long long)(c * cluster), strerror(-ret));
			break;
		}
		b->res->bytes_read += len;
		b->res->clusters += k;
		ret = store_run(b, buf, c, k);
		c += k;
	}
	if (!ret)
		ret = qcow2_finish(&b->w, b->err, b->errlen);
	free(buf);
	return ret;
}

/* FIFREEZE / FITHAW on the file system mounted at @o->fsfreeze. */
static int fs_freeze(struct backup *b, bool freeze, int *fd)
{
	int ret;

	if (freeze) {
		*fd = open(b->o->fsfreeze, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*fd < 0)
			return snprintf(b->err, b->errlen, "%s: %s", b->o->fsfreeze,
					strerror(errno)), -errno;
	}
	ret = ioctl(*fd, freeze ? FIFREEZE : FITHAW, 0) ? -errno : 0;
	if (ret)
		snprintf(b->err, b->errlen, "%s %s: %s", freeze ? "freezing" : "thawing",
			 b->o->fsfreeze, strerror(-ret));
	if (!freeze || ret) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

int backup_run(struct dirtybit_ctx *ctx, const struct backup_opts *o,
	       struct backup_result *res, char *err, size_t errlen)
{
	struct backup b = { .ctx = ctx, .o = o, .res = res, .dev = -1, .out = -1,
			    .err = err, .errlen = errlen };
	char partial[PATH_MAX];
	double t0 = mono_now();
	bool frozen = false;
	int ret, fsfd = -1;

	memset(res, 0, sizeof(*res));
	if (snprintf(partial, sizeof(partial), "%s.partial", o->output) >= (int)sizeof(partial))
		return snprintf(err, errlen, "output path too long"), -ENAMETOOLONG;
	ret = prepare(&b);
	if (!ret) {
		b.out = open(partial, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (b.out < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s", partial, strerror(errno));
		}
	}
	/* The file system first, so that the cut finds it clean and still. */
	if (!ret && o->fsfreeze)
		ret = fs_freeze(&b, true, &fsfd);
	if (!ret) {
		ret = bitmap_cmd(&b, DIRTYBIT_CMD_BITMAP_FREEZE, false);
		frozen = !ret;
	}
	if (!ret)
		ret = copy(&b);
	if (!ret && o->exec_frozen && run_shell(o->exec_frozen)) {
		ret = -ECANCELED;
		snprintf(err, errlen, "the command run while frozen failed");
	}
	if (fsfd >= 0 && fs_freeze(&b, false, &fsfd) && !ret)
		ret = -EIO;
	if (!ret && rename(partial, o->output)) {
		ret = -errno;
		snprintf(err, errlen, "renaming %s: %s", partial, strerror(errno));
	}
	if (!ret)
		fsync_dir_of(o->output);
	if (b.out >= 0 && ret)
		unlink(partial);
	if (frozen) {
		/* Never: the bits stay for the next backup, as if none ran. */
		int end = !ret && o->mode == BACKUP_ON_SUCCESS ? DIRTYBIT_CMD_BITMAP_ABDICATE :
							      DIRTYBIT_CMD_BITMAP_RECLAIM;
		/* After a failure, its reason is the one to report. */
		if (bitmap_cmd(&b, (uint8_t)end, ret != 0) && !ret)
			ret = -EIO;
	}
	qcow2_writer_free(&b.w);
	free(b.words);
	if (b.dev >= 0)
		close(b.dev);
	if (b.out >= 0)
		close(b.out);
	res->seconds = mono_now() - t0;
	return ret;
}

int backup_restore(const char *top, const char *dest, bool verify, uint64_t *bytes,
		   char *err, size_t errlen)
{
	unsigned char *a = malloc(RESTORE_CHUNK), *d = malloc(RESTORE_CHUNK);
	struct qcow2_image *img = NULL;
	uint64_t off, dsize = 0;
	struct stat st;
	int fd = -1, ret;

	*bytes = 0;
	ret = !a || !d ? -ENOMEM : qcow2_open(&img, top, "qcow2", err, errlen);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (!ret) {
		fd = open(dest, (verify ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC, 0644);
		if (fd < 0 || fstat(fd, &st) || fd_size(fd, &dsize)) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s", dest, strerror(errno));
		}
	}
	if (!ret && S_ISREG(st.st_mode) && !verify && ftruncate(fd, (off_t)img->size)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", dest, strerror(errno));
	} else if (!ret && (S_ISREG(st.st_mode) && !verify ? 0 :
			    verify ? dsize != img->size : dsize < img->size)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s is %llu bytes, the backup %llu", dest,
			 (unsigned long long)dsize, (unsigned long long)img->size);
	}
	for (off = 0; !ret && off < img->size; off += RESTORE_CHUNK) {
		size_t n = img->size - off < RESTORE_CHUNK ? (size_t)(img->size - off) : RESTORE_CHUNK;

		ret = qcow2_read(img, off, a, n, err, errlen);
		if (!ret && verify) {
			ret = pread_all(fd, d, n, off);
			if (!ret && memcmp(a, d, n)) {
				size_t i = 0;

				while (a[i] == d[i])
					i++;
				snprintf(err, errlen, "%s differs from the backup at byte %llu", dest,
					 (unsigned long long)(off + i));
				ret = -EINVAL;
				break;
			}
		} else if (!ret) {
			ret = pwrite_all(fd, a, n, off);
		}
		if (ret && !err[0])
			snprintf(err, errlen, "%s at %llu: %s", dest, (unsigned long long)off,
				 strerror(-ret));
		*bytes += n;
	}
	if (!ret && !verify && fsync(fd)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", dest, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	qcow2_close(img);
	free(a);
	free(d);
	return ret;
}
