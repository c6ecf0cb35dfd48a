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
 *
 * Several devices back up as a group (iotests 124's transactions): one
 * TRANSACTION freezes them all (and clears the --clear bitmaps) at one cut,
 * the copies run in turn, and one TRANSACTION ends every freeze the same
 * way: the group succeeds or fails as a whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../common/fileio.h"
#include "../common/util.h"
#include "qcow2.h"
#include "run.h"

#define BACKUP_MIN_CLUSTER	65536
#define RESTORE_CHUNK		(1 << 20)
#define BACKUP_MAX_THREADS	64
/* A worker per this much to copy at most: below it, starting one costs more
 * than it saves (a small incremental copies in the caller alone).
 */
#define BACKUP_BYTES_PER_THREAD	(8ULL << 20)

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
	uint64_t copied_to;		/* clusters below were copied (this pass) */
	unsigned int pass;		/* from 0 */
	int finished;			/* qcow2_finish(): 1 done, -1 failed */
	pthread_t caller;
	int dev, out, out_direct;
	struct qcow2_image *chain;	/* the backing chain, open until the end */
	char backing[PATH_MAX], backing_fmt[8];
	char *err;
	size_t errlen;
};

/*
 * The cut: one transaction freezes every device's bitmap and its --clear
 * bitmaps, so they all start their next epoch at the same point.  A next
 * pass's cut (@next_pass) takes the next set of every one of them, still
 * frozen: the earlier passes' bits stay with the freeze until it ends.  A --clear
 * bitmap is frozen rather than cleared so that a failed backup can give
 * its bits back: settle_bitmaps() abdicates it (cleared at the cut) on
 * success and reclaims it on failure, and a killed backup's socket
 * reclaims it in the kernel.
 */
static int freeze_bitmaps(struct backup *b, unsigned int n, bool next_pass)
{
	const struct backup_opts *o = b->o;
	struct dirtybit_tx_action acts[DIRTYBIT_MAX_ACTIONS];
	unsigned int i, k, na = 0;
	int ret;

	if (n * (1 + o->nclears) > DIRTYBIT_MAX_ACTIONS)
		return snprintf(b->err, b->errlen,
				"%u devices with %u --clear bitmaps each: more than %d actions in one cut",
				n, o->nclears, DIRTYBIT_MAX_ACTIONS), -E2BIG;
	for (i = 0; i < n; i++) {
		for (k = 0; k < o->nclears; k++)
			acts[na++] = (struct dirtybit_tx_action){ DIRTYBIT_CMD_BITMAP_FREEZE,
				{ .target = b[i].o->device, .name = o->clears[k],
				  .next_pass = next_pass } };
		acts[na++] = (struct dirtybit_tx_action){ DIRTYBIT_CMD_BITMAP_FREEZE,
			{ .target = b[i].o->device, .name = o->bitmap, .next_pass = next_pass } };
	}
	ret = dirtybit_transaction(b->ctx, acts, na);
	if (ret)
		snprintf(b->err, b->errlen, "bitmap %s%s%s: %s", o->bitmap,
			 o->nclears ? " or a --clear bitmap" : "",
			 next_pass ? ", next pass" : "", b->ctx->err);
	return ret;
}

/*
 * The name recorded for @backing in @output: its bare name when both are in
 * one directory (a chain moves as a whole, and QEMU resolves it relative
 * to the image), else its absolute path (*@outside set).
 */
static int backing_name(char *out, size_t n, const char *backing, const char *output,
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

/* The target, its bitmap, the cluster size and the backing file. */
static int prepare(struct backup *b)
{
	const struct backup_opts *o = b->o;
	struct dirtybit_bitmap bm;
	char real[PATH_MAX];
	unsigned int depth;
	bool outside;
	uint64_t size;
	int ret;

	ret = dirtybit_target_get(b->ctx, o->device, &b->t);
	if (ret)
		return snprintf(b->err, b->errlen, "%s: %s", o->device, b->ctx->err), ret;
	if (b->t.kind != DIRTYBIT_TARGET_BLOCK)
		return snprintf(b->err, b->errlen, "%s is not a block device target",
				o->device), -EINVAL;
	ret = dirtybit_bitmap_get(b->ctx, o->device, o->bitmap, &bm);
	if (ret)
		return snprintf(b->err, b->errlen, "%s: no bitmap %s", o->device, o->bitmap), ret;
	if (bm.flags & DIRTYBIT_BITMAP_F_FROZEN)
		return snprintf(b->err, b->errlen, "bitmap %s is busy (frozen by a backup)",
				o->bitmap), -EBUSY;
	if (bm.flags & DIRTYBIT_BITMAP_F_INCONSISTENT)
		return snprintf(b->err, b->errlen,
				"bitmap %s is inconsistent (the device changed size); take a full backup into a new bitmap",
				o->bitmap), -EINVAL;
	b->granularity = bm.granularity;
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
	/*
	 * An incremental stands on the previous backup: same size, and its
	 * whole chain readable the way restore will read it, one image short
	 * of the deepest chain restore follows.
	 */
	/*
	 * Through its real path: the one backing_name() records, so the chain
	 * checked is the chain restore will read (a symlinked --backing would
	 * resolve its own backing names beside the link).
	 */
	if (!realpath(o->backing, real))
		return snprintf(b->err, b->errlen, "%s: %s", o->backing, strerror(errno)), -errno;
	ret = qcow2_open(&b->chain, real, NULL, o->any_backing ? QCOW2_ANY_BACKING : 0,
			 b->err, b->errlen);
	if (ret)
		return ret;
	if (b->chain->size != size)
		return snprintf(b->err, b->errlen, "backing file %s is %llu bytes, the device %llu",
				o->backing, (unsigned long long)b->chain->size,
				(unsigned long long)size), -EINVAL;
	depth = qcow2_chain_length(b->chain);
	if (depth >= QCOW2_MAX_CHAIN)
		return snprintf(b->err, b->errlen,
				"the chain of %s is %u images deep, and restore reads at most %d: take a --full backup to start a new chain (or collapse this one with qemu-img convert, see docs/BACKUPS.md)",
				o->backing, depth, QCOW2_MAX_CHAIN), -ELOOP;
	snprintf(b->backing_fmt, sizeof(b->backing_fmt), "%s", b->chain->raw ? "raw" : "qcow2");
	ret = backing_name(b->backing, sizeof(b->backing), o->backing, o->output, &outside);
	if (ret)
		return snprintf(b->err, b->errlen, "%s: %s", o->backing, strerror(-ret)), ret;
	if (strlen(b->backing) > QCOW2_NAME_MAX)
		return snprintf(b->err, b->errlen, "--backing %s: a name of more than %d bytes",
				b->backing, QCOW2_NAME_MAX), -ENAMETOOLONG;
	if (outside && !o->any_backing)
		return snprintf(b->err, b->errlen,
				"--backing %s is not in the directory of %s: restore follows only a backing file beside its image (or pass --allow-backing-outside, to restore too)",
				o->backing, o->output), -EXDEV;
	return 0;
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
 * file.  open_files() checks the .partial it opened again, by its inode.
 */
static int check_outputs(struct backup *b, unsigned int n, char (*partial)[PATH_MAX])
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
				return snprintf(b->err, b->errlen,
						"-o %s: %s is %s, an image of the backing chain; writing it would destroy the chain",
						b[i].o->output, paths[k], img), -EEXIST;
			if (!lstat(paths[k], &st) && !S_ISREG(st.st_mode) &&
			    !(k == 0 && S_ISLNK(st.st_mode)))
				return snprintf(b->err, b->errlen,
						"%s exists and is not a regular file", paths[k]),
				       -EEXIST;
			ret = canonical(paths[k], canon[i][k]);
			if (ret)
				return snprintf(b->err, b->errlen, "%s: %s", paths[k],
						strerror(-ret)), ret;
		}
		for (j = 0; j < i; j++)
			for (k = 0; k < 4; k++)
				if (!strcmp(canon[i][k / 2], canon[j][k % 2]))
					return snprintf(b->err, b->errlen,
							"-o %s and -o %s collide", b[j].o->output,
							b[i].o->output), -EINVAL;
	}
	return 0;
}

/*
 * The copy runs on o->threads workers (the caller is worker 0 and shows
 * progress).  Each takes the next batch of dirty clusters in ascending
 * order: up to BACKUP_BATCH_RUNS runs of them (every cluster for --full),
 * up to the batch size in all; reads each run with one O_DIRECT pread and
 * writes the batch's non-zero clusters with one pwrite, one after another
 * in the file, so a scattered incremental makes one write per batch, not
 * per run, and reads and writes of different batches overlap.
 *
 * A copy of BACKUP_BIG_COPY or more takes batches of BACKUP_BATCH, in a
 * buffer of transparent huge pages: O_DIRECT pins and releases every page
 * of the buffer for every read and write, and with 4 KiB pages that cost
 * more than the copies themselves on a memory-backed device (a 1 GiB full
 * backup from brd: 0.84 s with 1 MiB batches of small pages, 0.53 s so,
 * under icount).  A smaller copy keeps BACKUP_SMALL_BATCH of small pages:
 * a huge page is cleared whole at its first touch, which would cost a small
 * incremental more than the pinning it saves.
 */
#define BACKUP_BATCH		(4 << 20)
#define BACKUP_SMALL_BATCH	(1 << 20)
#define BACKUP_BIG_COPY		(64ULL << 20)
#define BACKUP_HUGE_PAGE	(2 << 20)
#define BACKUP_BATCH_RUNS	64

struct copier {
	struct backup *b;
	pthread_mutex_t lock;		/* everything below */
	uint64_t next;			/* the first cluster not handed out */
	uint64_t nclusters, max_run, max_batch, total, done;	/* clusters; total/done: bytes */
	uint64_t failed_at;		/* the lowest cluster of a failed batch */
	int ret;			/* the first error, its reason in b->err */
};

struct batch {
	uint64_t c[BACKUP_BATCH_RUNS], k[BACKUP_BATCH_RUNS];	/* runs [c, c + k) */
	unsigned int runs;
	uint64_t clusters, bytes;	/* bytes: read, the device's end cut off */
	uint64_t data, zeros;		/* clusters written as data; as zeros */
	uint64_t gcs[BACKUP_BATCH / 4096];	/* the data clusters, in file order */
};

/*
 * The batch was read into @buf, cluster after cluster: its non-zero
 * clusters are packed to the front and written at once; zero ones are holes
 * (full) or zero flags (incremental, hiding what the backing file holds).
 */
static int store_batch(struct backup *b, unsigned char *buf, struct batch *bt,
		       char *err, size_t errlen)
{
	uint64_t cluster = b->res->cluster, pos = 0, i;
	unsigned int r;

	for (r = 0; r < bt->runs; r++) {
		for (i = 0; i < bt->k[r]; i++, pos++) {
			unsigned char *p = buf + pos * cluster;

			/* A cluster an earlier pass wrote is rewritten, zeros too. */
			if (mem_is_zero(p, cluster) &&
			    !(b->pass && qcow2_allocated(&b->w, bt->c[r] + i))) {
				if (!b->o->full)
					qcow2_zero_cluster(&b->w, bt->c[r] + i);
				bt->zeros++;
				continue;
			}
			if (bt->data != pos)
				memcpy(buf + bt->data * cluster, p, cluster);
			bt->gcs[bt->data++] = bt->c[r] + i;
		}
	}
	return bt->data ? qcow2_write_list(&b->w, bt->gcs, bt->data, buf, err, errlen) : 0;
}

static bool wanted(const struct backup *b, uint64_t c)
{
	return (b->o->full && !b->pass) || cluster_dirty(b->words, c, b->res->cluster / b->granularity,
					   b->nbits);
}

/* Hands out the next batch; false when none is left or on stop. */
static bool take_batch(struct copier *cp, struct batch *bt)
{
	struct backup *b = cp->b;
	uint64_t c, k;

	memset(bt, 0, offsetof(struct batch, gcs));
	pthread_mutex_lock(&cp->lock);
	if (!cp->ret)
		cp->ret = stop_requested(b->o->stop, b->err, b->errlen);
	while (!cp->ret && bt->runs < BACKUP_BATCH_RUNS && bt->clusters < cp->max_batch) {
		while (cp->next < cp->nclusters && !wanted(b, cp->next))
			cp->next++;
		if (cp->next == cp->nclusters)
			break;
		c = cp->next;
		for (k = 1; c + k < cp->nclusters && k < cp->max_run &&
		     bt->clusters + k < cp->max_batch && wanted(b, c + k);)
			k++;
		bt->c[bt->runs] = c;
		bt->k[bt->runs++] = k;
		bt->clusters += k;
		cp->next = c + k;
	}
	pthread_mutex_unlock(&cp->lock);
	return bt->runs > 0;
}

/*
 * A batch's runs before @failed_at are copied (all of them if @ret is 0);
 * account for them and for the failure.
 */
static void batch_done(struct copier *cp, const struct batch *bt, bool stored, int ret,
		       uint64_t failed_at, const char *err)
{
	struct backup *b = cp->b;

	pthread_mutex_lock(&cp->lock);
	if (ret) {
		if (failed_at < cp->failed_at)
			cp->failed_at = failed_at;
		if (!cp->ret) {
			cp->ret = ret;
			snprintf(b->err, b->errlen, "%s", err);
		}
	}
	if (stored) {
		b->res->bytes_read += bt->bytes;
		b->res->clusters += bt->clusters;
		b->res->extents += bt->runs;
		b->res->data += bt->data;
		b->res->zero += bt->zeros;
	}
	cp->done += bt->bytes;
	pthread_mutex_unlock(&cp->lock);
}

/* On a terminal, at most five times a second. */
static void show_progress(struct copier *cp, double t0)
{
	static double last;
	double t = mono_now();
	uint64_t done, total;

	if (!progress_due(&last, t))
		return;
	pthread_mutex_lock(&cp->lock);
	done = cp->done;
	total = cp->total;
	pthread_mutex_unlock(&cp->lock);
	fprintf(stderr, "\rbackup: %llu/%llu MiB (%.0f%%), %.1f MB/s",
		(unsigned long long)(done >> 20), (unsigned long long)(total >> 20),
		total ? 100.0 * done / total : 100.0, t > t0 ? done / (t - t0) / 1e6 : 0.0);
}

/*
 * Run [@c, @c + @k) failed as a whole: reads it into @p cluster by cluster
 * up to the first that fails, so what reads before a bad spot is kept
 * however long the run.  How many clusters were read; *@ret is the
 * failure (0 if all of them read this time).
 */
static uint64_t readable_prefix(struct backup *b, unsigned char *p, uint64_t c, uint64_t k,
				int *ret)
{
	uint64_t cluster = b->res->cluster, size = b->t.size, j, off;

	for (j = 0; j < k; j++) {
		off = (c + j) * cluster;
		*ret = pread_all(b->dev, p + j * cluster,
				 off + cluster > size ? size - off : cluster, off);
		if (*ret)
			return j;
	}
	return k;
}

/*
 * Reads the batch's runs one after another into @buf; 0 or -errno.  On a
 * read error the batch is cut to the clusters before it, and *@failed_at
 * is the first cluster that failed.
 */
static int read_batch(struct backup *b, unsigned char *buf, struct batch *bt,
		      uint64_t *failed_at, char *err, size_t errlen)
{
	uint64_t cluster = b->res->cluster, size = b->t.size, pos = 0;
	unsigned int r;
	int ret;

	for (r = 0; r < bt->runs; r++) {
		uint64_t c = bt->c[r], k = bt->k[r], good = 0;
		uint64_t len = (c + k) * cluster > size ? size - c * cluster : k * cluster;
		unsigned char *p = buf + pos * cluster;

		memset(p + len, 0, k * cluster - len);
		ret = pread_all(b->dev, p, len, c * cluster);
		if (ret && k > 1)
			good = readable_prefix(b, p, c, k, &ret);
		if (ret) {
			/* The clusters read before the failed one are whole ones. */
			if (good) {
				bt->k[r++] = good;
				bt->bytes += good * cluster;
			}
			*failed_at = c + good;
			bt->runs = r;
			bt->clusters = pos + good;
			return snprintf(err, errlen, "reading %s at %llu: %s", b->o->device,
					(unsigned long long)((c + good) * cluster),
					strerror(-ret)), ret;
		}
		bt->bytes += len;
		pos += k;
	}
	return 0;
}

static void *copy_worker(void *arg)
{
	struct copier *cp = arg;
	struct backup *b = cp->b;
	bool caller = cp->b->o->progress && pthread_equal(pthread_self(), b->caller);
	double t0 = mono_now();
	struct batch *bt = malloc(sizeof(*bt));
	unsigned char *buf = NULL;
	size_t len = cp->max_batch * b->res->cluster, align = 4096;
	char err[256], serr[256];

	/* Huge pages where the buffer can hold one (madvise may fail: THP off). */
	if (len >= BACKUP_HUGE_PAGE) {
		align = BACKUP_HUGE_PAGE;
		len = (len + align - 1) / align * align;
	}
	if (bt && posix_memalign((void **)&buf, align, len))
		buf = NULL;
	if (buf && align > 4096)
		madvise(buf, len, MADV_HUGEPAGE);
	if (!bt || !buf) {
		struct batch none = { .runs = 0 };

		batch_done(cp, &none, false, -ENOMEM, cp->nclusters, "out of memory");
		free(bt);
		return NULL;
	}
	while (take_batch(cp, bt)) {
		uint64_t failed_at = cp->nclusters;
		int ret = read_batch(b, buf, bt, &failed_at, err, sizeof(err)), sret = 0;

		/* What was read before a read error is still stored. */
		if (bt->runs)
			sret = store_batch(b, buf, bt, serr, sizeof(serr));
		if (sret) {
			ret = sret;
			failed_at = bt->c[0];
			snprintf(err, sizeof(err), "%s", serr);
		}
		batch_done(cp, bt, bt->runs && !sret, ret, failed_at, err);
		if (caller)
			show_progress(cp, t0);
	}
	if (caller)
		fputs("\r\033[K", stderr);
	free(buf);
	free(bt);
	return NULL;
}

/* The output's image, started once: every pass writes into it. */
static int start_output(struct backup *b)
{
	int ret;

	b->nbits = (b->t.size + b->granularity - 1) / b->granularity;
	b->words = calloc((b->nbits + 63) / 64, 8);
	if (!b->words)
		return snprintf(b->err, b->errlen, "out of memory"), -ENOMEM;
	ret = qcow2_create(&b->w, b->out, b->t.size, (unsigned int)__builtin_ctz(b->res->cluster),
			   b->o->full ? NULL : b->backing, b->backing_fmt, b->err, b->errlen);
	if (ret)
		return ret;
	if (b->out_direct >= 0)
		qcow2_data_fd(&b->w, b->out_direct);
	return 0;
}

/*
 * Pass @k's copy, between its cut and the end of the freeze: the frozen
 * bits' clusters (every cluster in pass 1 of a full backup).  On failure
 * b->copied_to is the first cluster that may not have been copied by this
 * pass: every run before it was.
 */
static int copy(struct backup *b, unsigned int k, uint64_t *bytes)
{
	struct copier cp = { .b = b };
	uint64_t cluster = b->res->cluster, c, read_before = b->res->bytes_read;
	pthread_t tid[BACKUP_MAX_THREADS];
	unsigned int i, started = 0, threads;
	uint64_t to_copy, batch;
	int ret;

	b->pass = k;
	cp.nclusters = (b->t.size + cluster - 1) / cluster;
	cp.failed_at = cp.nclusters;
	b->copied_to = 0;
	ret = dirtybit_bitmap_read(b->ctx, b->t.id, b->o->bitmap, b->words, (b->nbits + 63) / 64);
	if (ret)
		return snprintf(b->err, b->errlen, "reading bitmap %s: %s", b->o->bitmap,
				b->ctx->err), ret;
	/* A second pass over the bits, only for the progress line. */
	for (c = 0; b->o->progress && c < cp.nclusters; c++)
		if (wanted(b, c))
			cp.total += c == cp.nclusters - 1 ? b->t.size - c * cluster : cluster;
	pthread_mutex_init(&cp.lock, NULL);
	b->caller = pthread_self();
	to_copy = b->o->full && !k ? b->t.size :
		  bits_weight(b->words, b->nbits) * b->granularity;
	batch = to_copy >= BACKUP_BIG_COPY ? BACKUP_BATCH : BACKUP_SMALL_BATCH;
	cp.max_batch = batch / cluster ? batch / cluster : 1;
	cp.max_run = cp.max_batch;
	threads = b->o->threads;
	if (threads > 1 + to_copy / BACKUP_BYTES_PER_THREAD)
		threads = (unsigned int)(1 + to_copy / BACKUP_BYTES_PER_THREAD);
	for (i = 1; i < threads && i < BACKUP_MAX_THREADS; i++) {
		if (pthread_create(&tid[i], NULL, copy_worker, &cp))
			break;
		started = i;
	}
	copy_worker(&cp);
	for (i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&cp.lock);
	b->copied_to = cp.ret ? (cp.failed_at < cp.next ? cp.failed_at : cp.next) : cp.nclusters;
	*bytes += b->res->bytes_read - read_before;
	return cp.ret;
}

/* The image's metadata and header, once the last pass is copied. */
static int finish_output(struct backup *b)
{
	int ret = qcow2_finish(&b->w, b->err, b->errlen);

	b->finished = ret ? -1 : 1;
	return ret;
}

/* The backup's devices, as the pass engine drives them. */
struct group {
	struct backup *b;
	unsigned int n;
	int fs[BACKUP_MAX_FSFREEZE];	/* frozen: open, else -1 */
	bool freeze_cmd_ran;
	bool frozen;			/* the first cut froze the bitmaps */
	struct pass_result *passes;
};

static int first_cut(void *arg)
{
	struct group *g = arg;
	int ret = freeze_bitmaps(g->b, g->n, false);

	g->frozen = !ret;
	return ret;
}

static int next_cut(void *arg)
{
	struct group *g = arg;

	return freeze_bitmaps(g->b, g->n, true);
}

/* Bytes written to the devices since the last cut. */
static int pending(void *arg, uint64_t *bytes)
{
	struct group *g = arg;
	struct dirtybit_bitmap bm;
	unsigned int i;
	int ret;

	/*
	 * What the page caches hold is written too, and FIFREEZE would flush
	 * it into the frozen pass: flushed now, it counts here.
	 */
	for (i = 0; i < g->b->o->nfsfreeze; i++) {
		int fd = open(g->b->o->fsfreeze[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0) {
			syncfs(fd);
			close(fd);
		}
	}
	*bytes = 0;
	for (i = 0; i < g->n; i++) {
		ret = dirtybit_bitmap_get(g->b->ctx, g->b[i].o->device, g->b->o->bitmap, &bm);
		if (ret)
			return snprintf(g->b->err, g->b->errlen, "%s: %s", g->b[i].o->device,
					g->b->ctx->err), ret;
		*bytes += bm.successor_count;
	}
	return 0;
}

static int copy_all(void *arg, unsigned int k, uint64_t *bytes)
{
	struct group *g = arg;
	unsigned int i;
	int ret = 0;

	/* Nothing of this pass is copied yet: a kept partial image lacks it all. */
	for (i = 0; i < g->n; i++)
		g->b[i].copied_to = 0;
	*bytes = 0;
	for (i = 0; i < g->n && !ret; i++)
		ret = copy(&g->b[i], k, bytes);
	return ret;
}

/*
 * The writers stop: --freeze-cmd, then FIFREEZE of each --fsfreeze in
 * order.  resume() undoes as much as this did, even after a failure.
 */
static int quiesce(void *arg)
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
			return snprintf(g->b->err, g->b->errlen, "%s: %s", o->fsfreeze[i],
					strerror(errno)), -errno;
		if (ioctl(fd, FIFREEZE, 0)) {
			ret = -errno;
			close(fd);
			return snprintf(g->b->err, g->b->errlen, "freezing %s: %s", o->fsfreeze[i],
					strerror(-ret)), ret;
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
static int resume(void *arg, int ret)
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
static int frozen_command(void *arg)
{
	struct group *g = arg;
	const struct backup_opts *o = g->b->o;

	return run_command(o->exec_frozen, o->stop,
			   "cancelled: the command run while frozen failed", g->b->err,
			   g->b->errlen);
}

static void report(void *arg, unsigned int k, uint64_t bytes, double seconds, bool frozen)
{
	struct group *g = arg;

	if (g->b->o->progress && (g->b->o->nfsfreeze || g->b->o->freeze_cmd))
		fprintf(stderr, "pass %u%s: %.1f MiB in %.3f s\n", k + 1,
			frozen ? " (frozen)" : "", bytes / 1048576.0, seconds);
}

/*
 * Every pass, by the engine image saves share (common/passes.c).  Without
 * anything to stop the writers with: one pass, as a backup always was.
 */
static int run_passes(struct group *g)
{
	const struct backup_opts *o = g->b->o;
	bool stops = o->nfsfreeze || o->freeze_cmd;
	struct pass_ops ops = {
		.first_cut = first_cut, .next_cut = next_cut, .pending = pending,
		.copy = copy_all, .quiesce = stops ? quiesce : NULL, .resume = resume,
		.quiesced = o->exec_frozen ? frozen_command : NULL, .report = report,
		.err = g->b->err, .errlen = g->b->errlen,
	};
	struct pass_opts po = o->passes;

	po.stop = o->stop;
	if (!stops)
		po.max_passes = 1;
	return passes_run(&ops, g, &po, g->passes);
}

/*
 * --bitmap-mode always, after a failure: finish the partial image with
 * what was copied and keep it; the frozen bits from the first cluster not
 * copied stay dirty (every granule of them for a full backup, which copies
 * clean clusters too).  False if the image could not be finished.
 */
static bool keep_partial(struct backup *b, const char *partial)
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

/* How backup @b's freeze ends, as its mode and the group's outcome say. */
static struct dirtybit_tx_action settle_action(const struct backup *b, int ret)
{
	struct dirtybit_tx_action a = { DIRTYBIT_CMD_BITMAP_RECLAIM,
					{ .target = b->o->device, .name = b->o->bitmap } };

	if (!ret && b->o->mode != BACKUP_NEVER)
		a.cmd = DIRTYBIT_CMD_BITMAP_ABDICATE;
	if (ret && b->res->kept) {
		a.cmd = DIRTYBIT_CMD_BITMAP_ABDICATE;
		a.req.keep = true;
		a.req.keep_all = b->o->full;
		a.req.keep_start = b->res->kept_from;
		a.req.keep_len = b->t.size - b->res->kept_from;
	}
	return a;
}

/* Did some bitmap of the group become inconsistent (it cannot abdicate)? */
static bool any_inconsistent(struct backup *b, unsigned int n)
{
	struct dirtybit_bitmap bm;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!dirtybit_bitmap_get(b->ctx, b[i].o->device, b->o->bitmap, &bm) &&
		    bm.flags & DIRTYBIT_BITMAP_F_INCONSISTENT)
			return true;
	return false;
}

/*
 * Ends every freeze in one transaction (the --clear bitmaps abdicate with a
 * success, reclaim with a failure); a failure's reason is the one kept.
 */
static int settle_bitmaps(struct backup *b, unsigned int n, int ret)
{
	struct dirtybit_tx_action acts[DIRTYBIT_MAX_ACTIONS];
	char *e = b->err + strlen(b->err);
	size_t left = b->errlen - (size_t)(e - b->err);
	const struct backup_opts *o = b->o;
	unsigned int i, k, na = 0;
	char why[sizeof(b->ctx->err)];
	const char *next;
	bool kept = false;
	int r;

	for (i = 0; i < n; i++) {
		for (k = 0; k < o->nclears; k++)
			acts[na++] = (struct dirtybit_tx_action){
				ret ? DIRTYBIT_CMD_BITMAP_RECLAIM : DIRTYBIT_CMD_BITMAP_ABDICATE,
				{ .target = b[i].o->device, .name = o->clears[k] } };
		acts[na++] = settle_action(&b[i], ret);
		kept |= b[i].res->kept;
	}
	r = dirtybit_transaction(b->ctx, acts, na);
	if (!r)
		return ret;
	/* The socket's close reclaims; say what that leaves. */
	snprintf(why, sizeof(why), "%s", b->ctx->err);	/* the lookup below clears it */
	next = any_inconsistent(b, n) ?
	       "the bitmap is inconsistent (it missed writes): the next incremental is refused, take a full backup into a new bitmap" :
	       "the bitmap keeps its bits, so the next incremental copies them again";
	if (ret) {
		/* What a kept image lacks is not recorded: it goes, like any partial one. */
		for (i = 0; kept && i < n; i++)
			if (b[i].res->kept) {
				unlink(b[i].o->output);
				b[i].res->kept = false;
			}
		if (kept)
			snprintf(e, left, "; keeping the partial backup failed (%s), so it was removed; %s",
				 why, next);
		return ret;
	}
	snprintf(b->err, b->errlen,
		 "%s%s complete, but ending the freeze of bitmap %s failed (%s); %s",
		 b->o->output, n > 1 ? " and the other outputs are" : " is", b->o->bitmap,
		 why, next);
	return r;
}

/*
 * Creates backup @b's partial output afresh (create_partial(): never
 * through a symlink, never into a file a name pointed at); check_outputs()
 * refused one that is an image of the chain before, so nothing of the
 * chain is removed here.
 */
static int open_files(struct backup *b, const char *partial)
{
	int fd = create_partial(partial, b->o->direct ? &b->out_direct : NULL);

	if (fd == -EEXIST)
		return snprintf(b->err, b->errlen, "%s is not a regular file (or was replaced)",
				partial), fd;
	if (fd < 0)
		return snprintf(b->err, b->errlen, "%s%s: %s%s", b->o->direct ? "--direct: " : "",
				partial, strerror(-fd), b->o->direct && fd == -EINVAL ?
				" (the file system does not do O_DIRECT)" : ""), fd;
	b->out = fd;	/* ours from now on: removed on failure */
	return 0;
}

static void close_files(struct backup *b)
{
	qcow2_writer_free(&b->w);
	qcow2_close(b->chain);
	free(b->words);
	if (b->dev >= 0)
		close(b->dev);
	if (b->out >= 0)
		close(b->out);
	if (b->out_direct >= 0)
		close(b->out_direct);
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
static int check_output_not_frozen(struct backup *b, unsigned int n)
{
	const struct backup_opts *o = b->o;
	dev_t frozen[BACKUP_MAX_FSFREEZE];
	unsigned int i, f;
	int fd;

	for (f = 0; f < o->nfsfreeze; f++) {
		fd = open(o->fsfreeze[f], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return snprintf(b->err, b->errlen, "%s: %s", o->fsfreeze[f],
					strerror(errno)), -errno;
		frozen[f] = super_dev(fd);
		close(fd);
		/* A second FIFREEZE of one super block fails (EBUSY): say so now. */
		for (i = 0; i < f; i++)
			if (frozen[i] == frozen[f])
				return snprintf(b->err, b->errlen,
						"--fsfreeze %s and %s are one file system: name it once",
						o->fsfreeze[i], o->fsfreeze[f]), -EINVAL;
		for (i = 0; i < n; i++)
			if (super_dev(b[i].out) == frozen[f])
				return snprintf(b->err, b->errlen,
						"%s is on the file system --fsfreeze %s freezes: writing it would wait for the thaw forever; write the backup to another file system",
						b[i].o->output, o->fsfreeze[f]), -EINVAL;
	}
	return 0;
}

/* A signal arrived (SIGINT, SIGTERM, ...): the backup is cancelled. */
static int interrupted(struct backup *b)
{
	return stop_requested(b->o->stop, b->err, b->errlen);
}

int backup_run(struct dirtybit_ctx *ctx, const struct backup_opts *o, unsigned int n,
	       struct backup_result *res, struct pass_result *passes, char *err, size_t errlen)
{
	struct backup b[BACKUP_MAX_DEVICES];
	char partial[BACKUP_MAX_DEVICES][PATH_MAX];
	struct group g = { .b = b, .n = n, .passes = passes };
	unsigned int i, renamed = 0;
	double t0 = mono_now();
	bool unsynced = false;
	int ret = 0;

	memset(passes, 0, sizeof(*passes));
	if (!n || n > BACKUP_MAX_DEVICES)
		return snprintf(err, errlen, "1 to %d devices", BACKUP_MAX_DEVICES), -EINVAL;
	if (o->nfsfreeze > BACKUP_MAX_FSFREEZE)
		return snprintf(err, errlen, "at most %d --fsfreeze", BACKUP_MAX_FSFREEZE), -EINVAL;
	for (i = 0; i < BACKUP_MAX_FSFREEZE; i++)
		g.fs[i] = -1;
	for (i = 0; i < n; i++) {
		b[i] = (struct backup){ .ctx = ctx, .o = &o[i], .res = &res[i], .dev = -1,
					.out = -1, .out_direct = -1, .err = err, .errlen = errlen };
		memset(&res[i], 0, sizeof(res[i]));
		if (snprintf(partial[i], PATH_MAX, "%s.partial", o[i].output) >= PATH_MAX)
			return snprintf(err, errlen, "output path too long"), -ENAMETOOLONG;
	}
	/* Every refusal before the cut: a refused backup changes nothing. */
	for (i = 0; i < n && !ret; i++)
		ret = prepare(&b[i]);
	if (!ret)
		ret = check_outputs(b, n, partial);
	for (i = 0; i < n && !ret; i++)
		ret = open_files(&b[i], partial[i]);
	if (!ret)
		ret = check_output_not_frozen(b, n);
	for (i = 0; i < n && !ret; i++)
		ret = start_output(&b[i]);
	if (!ret)
		ret = interrupted(b);
	if (!ret)
		ret = run_passes(&g);
	for (i = 0; i < n && !ret; i++)
		ret = finish_output(&b[i]);
	/* A signal during the command or the finish cancels too. */
	if (!ret)
		ret = interrupted(b);
	for (i = 0; i < n && !ret; i++, renamed++) {
		ret = interrupted(b);
		if (ret)
			break;
		if (rename(partial[i], o[i].output)) {
			ret = -errno;
			snprintf(err, errlen, "renaming %s: %s", partial[i], strerror(errno));
			break;
		}
		ret = fsync_dir_of(o[i].output);
		if (ret) {
			/*
			 * Complete, and it replaced any old file of that name:
			 * kept, but not claimed durable; the bitmaps keep their
			 * bits, so nothing depends on it.
			 */
			snprintf(err, errlen,
				 "%s is complete, but syncing its directory failed (%s): it may not survive a crash; the bitmap keeps its bits",
				 o[i].output, strerror(-ret));
			unsynced = true;
			break;
		}
	}
	for (i = 0; i < n; i++) {
		/* The group failed: an output already complete goes too. */
		if (ret && i < renamed && !unsynced && rename(o[i].output, partial[i]))
			unlink(o[i].output);
		if (ret && g.frozen && o->mode == BACKUP_ALWAYS && !unsynced)
			keep_partial(&b[i], partial[i]);
		if (b[i].out >= 0 && ret && !res[i].kept)
			unlink(partial[i]);
	}
	if (g.frozen)
		ret = settle_bitmaps(b, n, ret);
	for (i = 0; i < n; i++) {
		close_files(&b[i]);
		res[i].seconds = mono_now() - t0;
	}
	return ret;
}

/*
 * Opens restore's destination @dest: a regular file, created if need be, or
 * a block device, which is then opened again through this descriptor with
 * O_EXCL (EBUSY while mounted or in use): the same device the checks saw,
 * whatever the name points at by then.
 */
static int open_dest(const char *dest, bool verify, struct stat *st, char *err, size_t errlen)
{
	char self[64];
	int fd, excl;

	fd = open(dest, (verify ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd < 0)
		return errf(err, errlen, -errno, "%s: %s", dest, strerror(errno));
	if (fstat(fd, st)) {
		close(fd);
		return errf(err, errlen, -errno, "%s: %s", dest, strerror(errno));
	}
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		close(fd);
		return errf(err, errlen, -EINVAL, "%s is not a regular file or a block device",
			    dest);
	}
	if (verify || !S_ISBLK(st->st_mode))
		return fd;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	excl = open(self, O_RDWR | O_EXCL | O_CLOEXEC);
	close(fd);
	if (excl < 0)
		return errf(err, errlen, -errno, "%s: %s%s", dest, strerror(errno),
			    errno == EBUSY ? " (mounted, or in use: restore writes only a device nobody uses)" : "");
	return excl;
}

int backup_restore(const char *top, const char *dest, bool verify, unsigned int qcow2_flags,
		   uint64_t *bytes, char *err, size_t errlen)
{
	unsigned char *a = malloc(RESTORE_CHUNK), *d = malloc(RESTORE_CHUNK);
	struct qcow2_image *img = NULL;
	uint64_t off, dsize = 0;
	struct stat st;
	int fd = -1, ret;

	*bytes = 0;
	ret = !a || !d ? -ENOMEM : qcow2_open(&img, top, "qcow2", qcow2_flags, err, errlen);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (!ret) {
		fd = open_dest(dest, verify, &st, err, errlen);
		ret = fd < 0 ? fd : 0;
	}
	/* Checked by inode, before anything is truncated or written. */
	if (!ret && !verify && qcow2_chain_find(img, &st)) {
		ret = -EEXIST;
		snprintf(err, errlen, "%s is %s, an image of the chain being restored",
			 dest, qcow2_chain_find(img, &st)->path);
	}
	if (!ret && fd_size(fd, &dsize)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", dest, strerror(errno));
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
