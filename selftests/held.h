/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writes (and reads) held in flight across a cut: versioned 4 KiB blocks,
 * O_DIRECT I/O submitted with Linux AIO and not waited for, and a
 * device-mapper delay device that holds writes until it is told to let them
 * go (suspend flushes dm-delay's queue), so a test decides when a write
 * lands instead of guessing how long it takes.
 */
#ifndef _DIRTYBIT_SELFTEST_HELD_H
#define _DIRTYBIT_SELFTEST_HELD_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/aio_abi.h>

#include "dm.h"

#define HELD_BLOCK	4096

/* Each 4 KiB block carries (block number, version) in every 16 bytes. */
static inline void held_fill(unsigned char *buf, unsigned long block, unsigned long version)
{
	unsigned long *w = (unsigned long *)buf;
	int i;

	for (i = 0; i < HELD_BLOCK / 8; i += 2) {
		w[i] = block;
		w[i + 1] = version;
	}
}

/* The version of @block on @fd (O_DIRECT), ~0UL if unreadable or foreign. */
static inline unsigned long held_version(int fd, unsigned long block)
{
	unsigned long *buf;
	unsigned long v = ~0UL;

	if (posix_memalign((void **)&buf, HELD_BLOCK, HELD_BLOCK))
		return v;
	if (pread(fd, buf, HELD_BLOCK, block * HELD_BLOCK) == HELD_BLOCK && buf[0] == block)
		v = buf[1];
	free(buf);
	return v;
}

/* One O_DIRECT request submitted with Linux AIO and not waited for. */
struct held_io {
	aio_context_t ctx;
	struct iocb cb;
	unsigned char *buf;	/* ours, or the caller's (@own 0) */
	int own;
	size_t len;
};

/*
 * Submits a read or write of @len bytes at @off through @buf (NULL: a
 * buffer of ours, filled with versioned blocks starting at block @off /
 * 4096 with @version).  For O_DIRECT the bios are queued (and a write
 * marked) before this returns.
 */
static inline int held_submit(struct held_io *h, int fd, int write, void *buf, size_t len,
			      unsigned long long off, unsigned long version)
{
	struct iocb *cbs[1] = { &h->cb };
	size_t i;

	memset(h, 0, sizeof(*h));
	if (syscall(__NR_io_setup, 1, &h->ctx))
		return -errno;
	h->len = len;
	h->buf = buf;
	if (!buf) {
		if (posix_memalign((void **)&h->buf, HELD_BLOCK, len))
			return -ENOMEM;
		h->own = 1;
		for (i = 0; i < len; i += HELD_BLOCK)
			held_fill(h->buf + i, (off + i) / HELD_BLOCK, version);
	}
	h->cb.aio_fildes = fd;
	h->cb.aio_lio_opcode = write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
	h->cb.aio_buf = (unsigned long)h->buf;
	h->cb.aio_nbytes = len;
	h->cb.aio_offset = off;
	return syscall(__NR_io_submit, h->ctx, 1, cbs) == 1 ? 0 : -errno;
}

/* Waits for the request: 0 when it moved all its bytes, else -EIO. */
static inline int held_wait(struct held_io *h)
{
	struct io_event ev;
	long n = syscall(__NR_io_getevents, h->ctx, 1, 1, &ev, NULL);

	syscall(__NR_io_destroy, h->ctx);
	if (h->own)
		free(h->buf);
	return n == 1 && ev.res == (long long)h->len ? 0 : -EIO;
}

/* A write of one versioned block. */
static inline int held_write_block(struct held_io *h, int fd, unsigned long block,
				   unsigned long version)
{
	return held_submit(h, fd, 1, NULL, HELD_BLOCK, (unsigned long long)block * HELD_BLOCK,
			   version);
}

/*
 * dm device @name: a delay device over @dev for its first @sectors, whose
 * writes (@reads too) wait @ms, or until released; held_release() lets
 * them go.
 */
static inline int held_dm_create(const char *name, const char *dev, unsigned long sectors,
				 int reads, unsigned int ms)
{
	return sh(DMSETUP " create %s --table '0 %lu delay %s 0 %u %s 0 %u'",
		  name, sectors, dev, reads ? ms : 0, dev, ms) ? -EIO : 0;
}

/* Suspending a delay device submits what it holds; then it runs again. */
static inline int held_release(const char *name)
{
	return sh(DMSETUP " suspend %s && " DMSETUP " resume %s", name, name) ? -EIO : 0;
}

struct held_releaser {
	pthread_t thread;
	const char *name;
	unsigned int ms;
	int ret;
};

static inline void *held_releaser_main(void *arg)
{
	struct held_releaser *r = arg;

	usleep(r->ms * 1000);
	r->ret = held_release(r->name);
	return NULL;
}

/*
 * Releases delay device @name after @ms from another thread, for a call
 * that waits for the held write to finish; held_releaser_join() tells
 * whether the release worked.
 */
static inline int held_release_later(struct held_releaser *r, const char *name,
				     unsigned int ms)
{
	r->name = name;
	r->ms = ms;
	r->ret = -EINPROGRESS;
	return pthread_create(&r->thread, NULL, held_releaser_main, r) ? -EAGAIN : 0;
}

static inline int held_releaser_join(struct held_releaser *r)
{
	pthread_join(r->thread, NULL);
	return r->ret;
}

static inline void held_dm_remove(const char *name)
{
	sh(DMSETUP " remove %s 2>/dev/null", name);
}

#endif /* _DIRTYBIT_SELFTEST_HELD_H */
