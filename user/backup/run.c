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
#include <sys/stat.h>

#include "../common/fileio.h"
#include "../common/util.h"
#include "qcow2.h"
#include "run.h"

#define BACKUP_MIN_CLUSTER	65536
#define RESTORE_CHUNK		(1 << 20)
#define BACKUP_RUN		(256 << 10)	/* bytes read at once: stays in cache */
#define BACKUP_MAX_THREADS	64
/* A worker per this much to copy at most: below it, starting one costs more
 * than it saves (a small incremental copies in the caller alone).
 */
#define BACKUP_BYTES_PER_THREAD	(8ULL << 20)

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
	uint64_t copied_to;		/* clusters below were copied */
	int finished;			/* qcow2_finish(): 1 done, -1 failed */
	pthread_t caller;
	int dev, out, out_direct;
	char backing[PATH_MAX], backing_fmt[8];
	char *err;
	size_t errlen;
};

/*
 * The cut: one transaction freezes every device's bitmap and clears the
 * --clear bitmaps, so they all start their next epoch at the same point.
 */
static int freeze_bitmaps(struct backup *b, unsigned int n)
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
			acts[na++] = (struct dirtybit_tx_action){ DIRTYBIT_CMD_BITMAP_CLEAR,
				{ .target = b[i].o->device, .name = o->clears[k] } };
		acts[na++] = (struct dirtybit_tx_action){ DIRTYBIT_CMD_BITMAP_FREEZE,
			{ .target = b[i].o->device, .name = o->bitmap } };
	}
	ret = dirtybit_transaction(b->ctx, acts, na);
	if (ret)
		snprintf(b->err, b->errlen, "bitmap %s: %s", o->bitmap, b->ctx->err);
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
 * The copy runs on o->threads workers (the caller is worker 0 and shows
 * progress).  Each takes the next batch of dirty clusters in ascending
 * order: runs of them (every cluster for --full) of up to BACKUP_RUN bytes
 * each, up to BACKUP_BATCH bytes in all; reads each run with one O_DIRECT
 * pread and writes the batch's non-zero clusters with one pwrite, one after
 * another in the file, so a scattered incremental makes one write per
 * batch, not per run, and reads and writes of different batches overlap.
 */
#define BACKUP_BATCH		(1 << 20)
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

			if (mem_is_zero(p, cluster)) {
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
	return b->o->full || cluster_dirty(b->words, c, b->res->cluster / b->granularity,
					   b->nbits);
}

/* Hands out the next batch; false when none is left or on stop. */
static bool take_batch(struct copier *cp, struct batch *bt)
{
	struct backup *b = cp->b;
	uint64_t c, k;

	memset(bt, 0, offsetof(struct batch, gcs));
	pthread_mutex_lock(&cp->lock);
	if (!cp->ret && b->o->stop && *b->o->stop) {
		cp->ret = -EINTR;
		snprintf(b->err, b->errlen, "interrupted");
	}
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
 * Reads the batch's runs one after another into @buf; 0 or -errno.  On a
 * read error the batch is cut to the runs before it, and *@failed_at is
 * the failed run's first cluster.
 */
static int read_batch(struct backup *b, unsigned char *buf, struct batch *bt,
		      uint64_t *failed_at, char *err, size_t errlen)
{
	uint64_t cluster = b->res->cluster, size = b->t.size, pos = 0;
	unsigned int r;
	int ret;

	for (r = 0; r < bt->runs; r++) {
		uint64_t c = bt->c[r], k = bt->k[r];
		uint64_t len = (c + k) * cluster > size ? size - c * cluster : k * cluster;
		unsigned char *p = buf + pos * cluster;

		memset(p + len, 0, k * cluster - len);
		ret = pread_all(b->dev, p, len, c * cluster);
		if (ret) {
			*failed_at = c;
			bt->runs = r;
			bt->clusters = pos;
			return snprintf(err, errlen, "reading %s at %llu: %s", b->o->device,
					(unsigned long long)(c * cluster), strerror(-ret)), ret;
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
	char err[256], serr[256];

	if (!bt || posix_memalign((void **)&buf, 4096, cp->max_batch * b->res->cluster)) {
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

/*
 * The copy, between the freeze and the abdicate.  On failure b->copied_to
 * is the first cluster that may not have been copied: every run before it
 * was.
 */
static int copy(struct backup *b)
{
	struct copier cp = { .b = b };
	uint64_t cluster = b->res->cluster, c;
	pthread_t tid[BACKUP_MAX_THREADS];
	unsigned int i, started = 0, threads;
	uint64_t to_copy;
	int ret;

	b->nbits = (b->t.size + b->granularity - 1) / b->granularity;
	cp.nclusters = (b->t.size + cluster - 1) / cluster;
	cp.failed_at = cp.nclusters;
	cp.max_run = BACKUP_RUN / cluster ? BACKUP_RUN / cluster : 1;
	cp.max_batch = BACKUP_BATCH / cluster ? BACKUP_BATCH / cluster : 1;
	b->copied_to = 0;
	b->words = calloc((b->nbits + 63) / 64, 8);
	if (!b->words)
		return snprintf(b->err, b->errlen, "out of memory"), -ENOMEM;
	ret = dirtybit_bitmap_read(b->ctx, b->t.id, b->o->bitmap, b->words, (b->nbits + 63) / 64);
	if (ret)
		return snprintf(b->err, b->errlen, "reading bitmap %s: %s", b->o->bitmap,
				b->ctx->err), ret;
	ret = qcow2_create(&b->w, b->out, b->t.size, (unsigned int)__builtin_ctz(cluster),
			   b->o->full ? NULL : b->backing, b->backing_fmt, b->err, b->errlen);
	if (ret)
		return ret;
	if (b->out_direct >= 0)
		qcow2_data_fd(&b->w, b->out_direct);
	/* A second pass over the bits, only for the progress line. */
	for (c = 0; b->o->progress && c < cp.nclusters; c++)
		if (wanted(b, c))
			cp.total += c == cp.nclusters - 1 ? b->t.size - c * cluster : cluster;
	pthread_mutex_init(&cp.lock, NULL);
	b->caller = pthread_self();
	to_copy = b->o->full ? b->t.size : bits_weight(b->words, b->nbits) * b->granularity;
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
	if (cp.ret)
		return cp.ret;
	ret = qcow2_finish(&b->w, b->err, b->errlen);
	b->finished = ret ? -1 : 1;
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
	fsync_dir_of(b->o->output);
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

/* Ends every freeze in one transaction; a failure's reason is the one kept. */
static int settle_bitmaps(struct backup *b, unsigned int n, int ret)
{
	struct dirtybit_tx_action acts[BACKUP_MAX_DEVICES];
	char *e = b->err + strlen(b->err);
	size_t left = b->errlen - (size_t)(e - b->err);
	unsigned int i;
	bool kept = false;
	int r;

	for (i = 0; i < n; i++) {
		acts[i] = settle_action(&b[i], ret);
		kept |= b[i].res->kept;
	}
	r = dirtybit_transaction(b->ctx, acts, n);
	if (!r)
		return ret;
	if (ret) {
		/* The socket's close reclaims: every bitmap keeps every bit. */
		if (kept)
			snprintf(e, left, "; keeping the partial backup failed (%s): remove %s%s",
				 b->ctx->err, b->o->output, n > 1 ? " and the other outputs" : "");
		return ret;
	}
	snprintf(b->err, b->errlen,
		 "%s%s complete, but ending the freeze of bitmap %s failed (%s); the bitmap keeps its bits, so the next incremental copies them again",
		 b->o->output, n > 1 ? " and the other outputs are" : " is", b->o->bitmap,
		 b->ctx->err);
	return r;
}

/* Opens what backup @b reads and writes: the device, the partial output. */
static int open_files(struct backup *b, const char *partial)
{
	int ret = prepare(b);

	if (ret)
		return ret;
	b->out = open(partial, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (b->out < 0)
		return snprintf(b->err, b->errlen, "%s: %s", partial, strerror(errno)), -errno;
	if (b->o->direct) {
		b->out_direct = open(partial, O_WRONLY | O_CLOEXEC | O_DIRECT);
		if (b->out_direct < 0)
			return snprintf(b->err, b->errlen, "--direct: %s: %s%s", partial,
					strerror(errno), errno == EINVAL ?
					" (the file system does not do O_DIRECT)" : ""), -errno;
	}
	return 0;
}

static void close_files(struct backup *b)
{
	qcow2_writer_free(&b->w);
	free(b->words);
	if (b->dev >= 0)
		close(b->dev);
	if (b->out >= 0)
		close(b->out);
	if (b->out_direct >= 0)
		close(b->out_direct);
}

int backup_run(struct dirtybit_ctx *ctx, const struct backup_opts *o, unsigned int n,
	       struct backup_result *res, char *err, size_t errlen)
{
	struct backup b[BACKUP_MAX_DEVICES];
	char partial[BACKUP_MAX_DEVICES][PATH_MAX];
	unsigned int i, renamed = 0;
	double t0 = mono_now();
	bool frozen = false;
	int ret = 0, fsfd = -1;

	if (!n || n > BACKUP_MAX_DEVICES)
		return snprintf(err, errlen, "1 to %d devices", BACKUP_MAX_DEVICES), -EINVAL;
	for (i = 0; i < n; i++) {
		b[i] = (struct backup){ .ctx = ctx, .o = &o[i], .res = &res[i], .dev = -1,
					.out = -1, .out_direct = -1, .err = err, .errlen = errlen };
		memset(&res[i], 0, sizeof(res[i]));
		if (snprintf(partial[i], PATH_MAX, "%s.partial", o[i].output) >= PATH_MAX)
			return snprintf(err, errlen, "output path too long"), -ENAMETOOLONG;
	}
	for (i = 0; i < n && !ret; i++)
		ret = open_files(&b[i], partial[i]);
	/* The file system first, so that the cut finds it clean and still. */
	if (!ret && o->fsfreeze)
		ret = fs_freeze(b, true, &fsfd);
	if (!ret) {
		ret = freeze_bitmaps(b, n);
		frozen = !ret;
	}
	for (i = 0; i < n && !ret; i++)
		ret = copy(&b[i]);
	if (!ret && o->exec_frozen && run_shell(o->exec_frozen)) {
		ret = -ECANCELED;
		snprintf(err, errlen, "cancelled: the command run while frozen failed");
	}
	if (fsfd >= 0 && fs_freeze(b, false, &fsfd) && !ret)
		ret = -EIO;
	for (i = 0; i < n && !ret; i++, renamed++) {
		if (rename(partial[i], o[i].output)) {
			ret = -errno;
			snprintf(err, errlen, "renaming %s: %s", partial[i], strerror(errno));
			break;
		}
		fsync_dir_of(o[i].output);
	}
	for (i = 0; i < n; i++) {
		/* The group failed: an output already complete goes too. */
		if (ret && i < renamed && rename(o[i].output, partial[i]))
			unlink(o[i].output);
		if (ret && frozen && o->mode == BACKUP_ALWAYS)
			keep_partial(&b[i], partial[i]);
		if (b[i].out >= 0 && ret && !res[i].kept)
			unlink(partial[i]);
	}
	if (frozen)
		ret = settle_bitmaps(b, n, ret);
	for (i = 0; i < n; i++) {
		close_files(&b[i]);
		res[i].seconds = mono_now() - t0;
	}
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
