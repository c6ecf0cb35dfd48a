// SPDX-License-Identifier: GPL-2.0
/*
 * The copy engine of a backup pass: worker threads read the dirty clusters
 * of the device (every cluster for --full) and store them in the qcow2
 * output (see session.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../common/fileio.h"
#include "../common/uring.h"
#include "../common/util.h"
#include "session.h"

#define BACKUP_MAX_THREADS	64
/* A worker per this much to copy at most: below it, starting one costs more
 * than it saves (a small incremental copies in the caller alone).
 */
#define BACKUP_BYTES_PER_THREAD	(8ULL << 20)

/*
 * The copy runs on o->threads workers (the caller is worker 0 and reports
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
 * incremental more than the pinning it saves.  It reads and writes through
 * io_uring with that buffer registered (pinned once, not per I/O; a
 * batch's reads in one system call), where the kernel has io_uring.  Its
 * size weighs the buffer's pages (each cleared at first touch: ~8,500
 * instructions under icount) against the writes (~20,000 each): a 1%
 * incremental of 1 GiB cost 13.5 M instructions with 1 MiB batches, 12.5 M
 * with 256 KiB, 13.3 M with 128 KiB.
 */
#define BACKUP_BATCH		(4 << 20)
#define BACKUP_SMALL_BATCH	(256 << 10)
#define BACKUP_BIG_COPY		(64ULL << 20)
#define BACKUP_HUGE_PAGE	(2 << 20)
#define BACKUP_BATCH_RUNS	64

struct copier {
	struct backup *b;
	pthread_t caller;		/* worker 0: reports progress */
	pthread_mutex_t lock;		/* everything below */
	uint64_t next;			/* the first cluster not handed out */
	uint64_t nclusters, max_run, max_batch, total, done;	/* clusters; total/done: bytes */
	uint64_t failed_at;		/* the lowest cluster of a failed batch */
	bool ring;			/* workers read and write through io_uring */
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
static int ring_pwrite(void *arg, int fd, const void *buf, size_t len, uint64_t off);

static int store_batch(struct backup *b, struct uring *ring, unsigned char *buf,
		       struct batch *bt, char *err, size_t errlen)
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
	/* Buffered writes would go to io_uring's worker threads: plain ones. */
	if (b->out_direct < 0)
		ring = NULL;
	return bt->data ? qcow2_write_list_io(&b->w, bt->gcs, bt->data, buf,
					      ring ? ring_pwrite : NULL, ring, err, errlen) : 0;
}

/*
 * The first cluster in [@c, @end) the copy takes (every one for a first
 * full pass, else one with a dirty granule), or @end: a word of clean
 * granules at a time (a 1% incremental's bitmap is mostly zero words).
 */
static uint64_t next_wanted(const struct backup *b, uint64_t c, uint64_t end)
{
	uint64_t per = b->res->cluster / b->granularity, g = c * per, w;
	uint64_t lim = end * per < b->nbits ? end * per : b->nbits;

	if (b->o->full && !b->pass)
		return c;
	while (g < lim) {
		w = b->words[g / 64] >> (g % 64);
		if (w) {
			g += (uint64_t)__builtin_ctzll(w);
			break;
		}
		g = (g / 64 + 1) * 64;
	}
	return g < lim ? g / per : end;
}

static bool wanted(const struct backup *b, uint64_t c)
{
	return next_wanted(b, c, c + 1) == c;
}

/* The bytes of clusters [@c, @c + @k) on the device (the last may be short). */
static uint64_t run_bytes(const struct backup *b, uint64_t c, uint64_t k)
{
	uint64_t cluster = b->res->cluster;

	return (c + k) * cluster > b->t.size ? b->t.size - c * cluster : k * cluster;
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
		cp->next = next_wanted(b, cp->next, cp->nclusters);
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

/* How far the copy is, to the caller's progress report. */
static void report_progress(struct copier *cp, double t0, bool end)
{
	const struct backup_progress *p = cp->b->o->progress;
	uint64_t done, total;

	pthread_mutex_lock(&cp->lock);
	done = cp->done;
	total = cp->total;
	pthread_mutex_unlock(&cp->lock);
	p->copying(p->arg, done, total, mono_now() - t0, end);
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
	uint64_t cluster = b->res->cluster, j;

	for (j = 0; j < k; j++) {
		*ret = pread_all(b->dev, p + j * cluster, run_bytes(b, c + j, 1),
				 (c + j) * cluster);
		if (*ret)
			return j;
	}
	return k;
}

static void ring_note(void *arg, uint64_t tag, int res)
{
	((int *)arg)[tag] = res;
}

/* One write through the ring; what it leaves (a short write), by pwrite. */
static int ring_pwrite(void *arg, int fd, const void *buf, size_t len, uint64_t off)
{
	struct uring *ring = arg;
	int res = -EIO, ret;

	ret = uring_queue(ring, fd, true, (void *)buf, len, off, 0);
	if (!ret)
		ret = uring_run(ring, ring_note, &res);
	if (ret)
		return ret;
	/* An error is the plain write's to report (or not: -EAGAIN). */
	if (res < 0)
		return pwrite_all(fd, buf, len, off);
	return (size_t)res >= len ? 0 :
	       pwrite_all(fd, (const char *)buf + res, len - (size_t)res, off + (uint64_t)res);
}

/* The batch's runs, [c, c + k) each, read through the ring at once. */
static int ring_read(struct backup *b, struct uring *ring, unsigned char *buf,
		     const struct batch *bt, int *res)
{
	uint64_t cluster = b->res->cluster, pos = 0;
	unsigned int r;
	int ret = 0, qret = 0;

	for (r = 0; r < bt->runs; r++) {
		uint64_t c = bt->c[r], k = bt->k[r];
		uint64_t len = run_bytes(b, c, k);

		res[r] = -EIO;
		if (!qret)	/* the ring holds BACKUP_BATCH_RUNS: not expected */
			qret = uring_queue(ring, b->dev, false, buf + pos * cluster, len,
					   c * cluster, r);
		pos += k;
	}
	/* What was queued runs to its end, whatever failed to queue. */
	ret = uring_run(ring, ring_note, res);
	return ret ? ret : qret;
}

/*
 * Reads the batch's runs one after another into @buf; 0 or -errno.  On a
 * read error the batch is cut to the clusters before it, and *@failed_at
 * is the first cluster that failed.  With @ring, every run is read through
 * it first, and one it did not read whole is read again as without.
 */
static int read_batch(struct backup *b, struct uring *ring, unsigned char *buf,
		      struct batch *bt, uint64_t *failed_at, char *err, size_t errlen)
{
	uint64_t cluster = b->res->cluster, pos = 0;
	int res[BACKUP_BATCH_RUNS];
	unsigned int r;
	int ret;

	if (ring) {
		ret = ring_read(b, ring, buf, bt, res);
		if (ret) {
			/* Nothing is known of what the ring did with the buffer. */
			*failed_at = bt->c[0];
			bt->runs = 0;
			bt->clusters = 0;
			return errf(err, errlen, ret, "io_uring: %s", strerror(-ret));
		}
	}
	for (r = 0; r < bt->runs; r++) {
		uint64_t c = bt->c[r], k = bt->k[r], good = 0;
		uint64_t len = run_bytes(b, c, k);
		unsigned char *p = buf + pos * cluster;

		memset(p + len, 0, k * cluster - len);
		if (ring && res[r] >= 0 && (uint64_t)res[r] == len)
			ret = 0;
		else
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
			return errf(err, errlen, ret, "reading %s at %llu: %s", b->o->device,
				    (unsigned long long)((c + good) * cluster),
				    strerror(-ret));
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
	bool caller = b->o->progress && b->o->progress->copying &&
		      pthread_equal(pthread_self(), cp->caller);
	double t0 = mono_now();
	struct batch *bt = malloc(sizeof(*bt));
	unsigned char *buf = NULL;
	size_t len = cp->max_batch * b->res->cluster, align = 4096;
	char err[256], serr[256];
	struct uring ring, *rp = NULL;

	/*
	 * A ring's buffer is mapped: zero pages that memory checkers
	 * (valgrind) take as defined, as they do not see the ring's reads
	 * fill it.  Otherwise huge pages where the buffer can hold one
	 * (madvise may fail: THP off).
	 */
	if (cp->ring) {
		buf = bt ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0) : MAP_FAILED;
		if (buf == MAP_FAILED)
			buf = NULL;
	} else {
		if (len >= BACKUP_HUGE_PAGE) {
			align = BACKUP_HUGE_PAGE;
			len = (len + align - 1) / align * align;
		}
		if (bt && posix_memalign((void **)&buf, align, len))
			buf = NULL;
		if (buf && align > 4096)
			madvise(buf, len, MADV_HUGEPAGE);
	}
	if (!bt || !buf) {
		struct batch none = { .runs = 0 };

		batch_done(cp, &none, false, -ENOMEM, cp->nclusters, "out of memory");
		free(bt);
		return NULL;
	}
	/* Without io_uring (old kernel, disabled): plain reads and writes. */
	if (cp->ring && !uring_init(&ring, BACKUP_BATCH_RUNS, buf, len))
		rp = &ring;
	while (take_batch(cp, bt)) {
		uint64_t failed_at = cp->nclusters;
		int ret = read_batch(b, rp, buf, bt, &failed_at, err, sizeof(err)), sret = 0;

		/* What was read before a read error is still stored. */
		if (bt->runs)
			sret = store_batch(b, rp, buf, bt, serr, sizeof(serr));
		if (sret) {
			ret = sret;
			failed_at = bt->c[0];
			snprintf(err, sizeof(err), "%s", serr);
		}
		batch_done(cp, bt, bt->runs && !sret, ret, failed_at, err);
		if (caller)
			report_progress(cp, t0, false);
	}
	if (caller)
		report_progress(cp, t0, true);
	if (rp)
		uring_exit(rp);
	if (cp->ring)
		munmap(buf, len);
	else
		free(buf);
	free(bt);
	return NULL;
}

int backup_copy(struct backup *b, unsigned int k, uint64_t *bytes)
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
		return errf(b->err, b->errlen, ret, "reading bitmap %s: %s", b->o->bitmap,
			    b->ctx->err);
	/* A second pass over the bits, only for the progress line. */
	for (c = next_wanted(b, 0, cp.nclusters); b->o->progress && c < cp.nclusters;
	     c = next_wanted(b, c + 1, cp.nclusters))
		cp.total += run_bytes(b, c, 1);
	pthread_mutex_init(&cp.lock, NULL);
	cp.caller = pthread_self();
	to_copy = b->o->full && !k ? b->t.size :
		  bits_weight(b->words, b->nbits) * b->granularity;
	batch = to_copy >= BACKUP_BIG_COPY ? BACKUP_BATCH : BACKUP_SMALL_BATCH;
	/* An incremental's clusters: their room in the file at once. */
	if (!(b->o->full && !k))
		qcow2_reserve(&b->w, to_copy);
	cp.max_batch = batch / cluster ? batch / cluster : 1;
	cp.max_run = cp.max_batch;
	/*
	 * A small copy through io_uring, its buffer registered once: plain
	 * O_DIRECT pins and releases the buffer's pages for every read and
	 * write, the most of what a scattered incremental costs beside the
	 * copies themselves.  (A big copy's huge pages make that cheap.)
	 */
	cp.ring = to_copy < BACKUP_BIG_COPY;
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
