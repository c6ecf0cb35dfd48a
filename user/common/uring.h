/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal io_uring on the raw system calls (no liburing): one thread's
 * ring with one registered buffer, for positioned reads and writes into
 * it that neither pin nor release the buffer's pages per I/O (O_DIRECT
 * does both for every read and write from plain user memory), and many
 * of them in one system call.
 */
#ifndef _DIRTYBIT_URING_H
#define _DIRTYBIT_URING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uring {
	int fd;
	unsigned int entries;		/* SQ size: at most this many in flight */
	unsigned int *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	void *sqes, *cqes;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;
	unsigned int queued;		/* prepared, not yet submitted */
	unsigned int inflight;		/* submitted, not yet reaped */
	const unsigned char *buf;	/* the registered buffer */
	size_t buf_len;
};

/*
 * A ring of @entries with @buf (@len bytes) registered.  0 or -errno (no
 * io_uring in this kernel, or it is disabled: the caller does without).
 */
int uring_init(struct uring *r, unsigned int entries, void *buf, size_t len);
void uring_exit(struct uring *r);
/*
 * Queues a read (@write false) or write of [@p, @p + @len), inside the
 * registered buffer, at @off of @fd, tagged @tag; -ENOSPC when the ring is full.
 */
int uring_queue(struct uring *r, int fd, bool write, void *p, size_t len, uint64_t off,
		uint64_t tag);
/*
 * Submits what was queued and waits for all of it: @done(@arg, tag, res)
 * for each (res: bytes, or -errno).  0, or -errno if the ring itself failed
 * (then nothing queued is known done: the caller does it again its own way).
 */
int uring_run(struct uring *r, void (*done)(void *arg, uint64_t tag, int res), void *arg);

#endif /* _DIRTYBIT_URING_H */
