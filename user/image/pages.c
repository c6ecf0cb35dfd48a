// SPDX-License-Identifier: GPL-2.0
/*
 * Page moves for images (see pages.h).  Chunks are 64-page aligned, so two
 * workers never touch the same word of a valid bitmap.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include "../common/fileio.h"
#include "../common/util.h"
#include "pages.h"

#define IMG_MAX_THREADS		64
#define IMG_HUGE_PAGE		(2UL << 20)

struct job {
	struct img_copy *c;
	struct img_block *b;		/* save: updated; load: read only */
	const uint64_t *dirty;
	bool load, dest_zeroed;
	atomic_ulong next;		/* the next chunk to take */
	unsigned long nchunks;
	atomic_ulong written, zero;
	pthread_mutex_t lock;		/* the first error */
	pthread_t caller;		/* worker 0: reports progress */
	int ret;
	char *err;
	size_t errlen;
};

static void job_fail(struct job *j, int ret, const char *what, uint64_t page)
{
	pthread_mutex_lock(&j->lock);
	if (!j->ret) {
		j->ret = errf(j->err, j->errlen, ret, "%s page %llu of block %s: %s", what,
			      (unsigned long long)page, j->b->id, strerror(-ret));
	}
	pthread_mutex_unlock(&j->lock);
}

static bool marked(const uint64_t *bits, uint64_t page)
{
	return !bits || (bits[page / 64] >> (page % 64) & 1);
}

/* Saves pages [first, first + n) of a run that was read into @buf. */
static int save_run(struct job *j, unsigned char *buf, uint64_t first, uint64_t n)
{
	struct img_block *b = j->b;
	uint64_t i = 0, s;
	int ret;

	while (i < n) {
		bool zero, held = false;
		uint64_t end = zero_run_end(buf, IMG_PAGE_SIZE, i, n, &zero);

		for (s = i; i < end; i++) {
			uint64_t p = first + i;

			held |= b->valid[p / 64] >> (p % 64) & 1;
			if (zero)
				b->valid[p / 64] &= ~(1ULL << (p % 64));
			else
				b->valid[p / 64] |= 1ULL << (p % 64);
		}
		if (zero) {
			atomic_fetch_add(&j->zero, i - s);
			if (!held)
				continue;
			/* A slot that held data must not keep it. */
			ret = fallocate(j->c->img_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)(b->pages_offset + (first + s) * IMG_PAGE_SIZE),
					(off_t)((i - s) * IMG_PAGE_SIZE)) ? -errno : 0;
			if (ret)
				return job_fail(j, ret, "punching", first + s), ret;
			continue;
		}
		ret = pwrite_all(j->c->img_fd, buf + s * IMG_PAGE_SIZE, (i - s) * IMG_PAGE_SIZE,
				  (off_t)(b->pages_offset + (first + s) * IMG_PAGE_SIZE));
		if (ret)
			return job_fail(j, ret, "writing", first + s), ret;
		atomic_fetch_add(&j->written, i - s);
	}
	return 0;
}

/* Loads pages [first, first + n), all valid or all not. */
static int load_run(struct job *j, unsigned char *buf, const unsigned char *zeros,
		    uint64_t first, uint64_t n, bool valid)
{
	const struct img_block *b = j->b;
	size_t len = n * IMG_PAGE_SIZE;
	int ret;

	unsigned char *map = j->c->dest_map ? j->c->dest_map + first * IMG_PAGE_SIZE : NULL;

	if (!valid) {
		atomic_fetch_add(&j->zero, n);
		if (j->dest_zeroed)
			return 0;
		if (map) {
			memset(map, 0, len);
			return 0;
		}
		ret = pwrite_all(j->c->img_fd, zeros, len, (off_t)(first * IMG_PAGE_SIZE));
		return ret ? job_fail(j, ret, "zeroing", first), ret : 0;
	}
	/* Into a mapping: straight from the image, no bounce. */
	ret = pread_all(j->c->src_fd, map ? map : buf, len,
			 (off_t)(b->pages_offset + first * IMG_PAGE_SIZE));
	if (ret)
		return job_fail(j, ret, "reading", first), ret;
	atomic_fetch_add(&j->written, n);
	if (map)
		return 0;
	ret = pwrite_all(j->c->img_fd, buf, len, (off_t)(first * IMG_PAGE_SIZE));
	if (ret)
		return job_fail(j, ret, "writing", first), ret;
	return 0;
}

static int do_chunk(struct job *j, unsigned char *buf, const unsigned char *zeros,
		    uint64_t first, uint64_t end)
{
	const uint64_t *bits = j->load ? j->b->valid : j->dirty;
	uint64_t p = first, s;
	int ret;

	while (p < end) {
		bool on = marked(bits, p);

		for (s = p; p < end && marked(bits, p) == on; p++)
			;
		if (j->load) {
			ret = load_run(j, buf, zeros, s, p - s, on);
		} else if (on) {
			ret = pread_all(j->c->src_fd, buf, (p - s) * IMG_PAGE_SIZE,
					 (off_t)(s * IMG_PAGE_SIZE));
			if (ret) {
				job_fail(j, ret, "reading", s);
				return ret;
			}
			ret = save_run(j, buf, s, p - s);
		} else {
			ret = 0;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * A chunk's buffer, aligned for O_DIRECT and, where the kernel gives them,
 * in 2 MiB pages: a run is written with one request only if its buffer has
 * few segments.  In 4 KiB pages a 4 MiB buffer has up to 1024 (one per
 * physically discontiguous page), more than a queue takes (virtio-blk:
 * 254), so the block layer splits each write into requests of 1 MiB or
 * so; in huge pages it has two.  NULL: no memory.
 */
static unsigned char *chunk_buf(size_t len)
{
	void *p;

	if (posix_memalign(&p, len >= IMG_HUGE_PAGE ? IMG_HUGE_PAGE : IMG_PAGE_SIZE, len))
		return NULL;
	madvise(p, len, MADV_HUGEPAGE);		/* a hint: THP may be off */
	return p;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	uint64_t pages = j->b->npages < IMG_CHUNK_PAGES ? j->b->npages : IMG_CHUNK_PAGES;
	size_t len = (size_t)(pages * IMG_PAGE_SIZE);
	bool need_zeros = j->load && !j->dest_zeroed && !j->c->dest_map;
	unsigned char *buf = chunk_buf(len), *zeros = need_zeros ? chunk_buf(len) : NULL;
	unsigned long k;

	if (!buf || (need_zeros && !zeros)) {
		job_fail(j, -ENOMEM, "buffers for", 0);
		goto out;
	}
	if (zeros)
		memset(zeros, 0, len);
	while ((k = atomic_fetch_add(&j->next, 1)) < j->nchunks) {
		uint64_t first = (uint64_t)k * IMG_CHUNK_PAGES;
		uint64_t end = first + IMG_CHUNK_PAGES;

		if (j->ret)
			break;
		if (j->c->stop && *j->c->stop) {
			job_fail(j, -EINTR, "interrupted at", first);
			break;
		}
		if (end > j->b->npages)
			end = j->b->npages;
		if (do_chunk(j, buf, zeros, first, end))
			break;
		if (j->c->progress && pthread_equal(pthread_self(), j->caller))
			j->c->progress(j->c->progress_arg, end, j->b->npages);
	}
out:
	free(buf);
	free(zeros);
	return NULL;
}

static int run_job(struct job *j)
{
	unsigned int n = j->c->threads ? j->c->threads : 1, i, started = 0;
	pthread_t tids[IMG_MAX_THREADS];

	if (n > IMG_MAX_THREADS)
		n = IMG_MAX_THREADS;
	j->nchunks = (unsigned long)((j->b->npages + IMG_CHUNK_PAGES - 1) / IMG_CHUNK_PAGES);
	if (n > j->nchunks)
		n = (unsigned int)j->nchunks;
	pthread_mutex_init(&j->lock, NULL);
	j->caller = pthread_self();
	for (i = 1; i < n; i++) {
		if (pthread_create(&tids[i], NULL, worker, j))
			break;
		started++;
	}
	worker(j);		/* this thread is worker 0 */
	for (i = 1; i <= started; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&j->lock);
	j->c->pages_written += atomic_load(&j->written);
	j->c->pages_zero += atomic_load(&j->zero);
	return j->ret;
}

int img_save_pages(struct img_copy *c, struct img_block *b, const uint64_t *dirty,
		   char *err, size_t errlen)
{
	struct job j = { .c = c, .b = b, .dirty = dirty, .err = err, .errlen = errlen };

	return run_job(&j);
}

int img_load_pages(struct img_copy *c, const struct img_block *b, bool dest_zeroed,
		   char *err, size_t errlen)
{
	struct job j = { .c = c, .b = (struct img_block *)b, .load = true,
			 .dest_zeroed = dest_zeroed, .err = err, .errlen = errlen };

	return run_job(&j);
}

int img_verify_pages(int img_fd, const struct img_block *b, int dest_fd, uint64_t dest_size,
		     char *err, size_t errlen)
{
	static unsigned char a[IMG_PAGE_SIZE], d[IMG_PAGE_SIZE];
	uint64_t p;
	int ret;

	if (dest_size != b->used_length)
		return errf(err, errlen, -EINVAL, "the destination is %llu bytes, the block %llu",
			    (unsigned long long)dest_size, (unsigned long long)b->used_length);
	for (p = 0; p < b->npages; p++) {
		bool valid = img_valid(b, p);

		ret = pread_all(dest_fd, d, IMG_PAGE_SIZE, (off_t)(p * IMG_PAGE_SIZE));
		if (!ret && valid)
			ret = pread_all(img_fd, a, IMG_PAGE_SIZE,
					 (off_t)(b->pages_offset + p * IMG_PAGE_SIZE));
		if (ret)
			return errf(err, errlen, ret, "reading page %llu: %s", (unsigned long long)p,
				    strerror(-ret));
		if (valid ? memcmp(a, d, IMG_PAGE_SIZE) : !mem_is_zero(d, IMG_PAGE_SIZE))
			return errf(err, errlen, -EINVAL, "page %llu differs (%s in the image)",
				    (unsigned long long)p, valid ? "valid" : "zero");
	}
	return 0;
}
