// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal io_uring (see uring.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "uring.h"

static int sys_setup(unsigned int entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_enter(int fd, unsigned int submit, unsigned int wait, unsigned int flags)
{
	return (int)syscall(__NR_io_uring_enter, fd, submit, wait, flags, NULL, 0);
}

static int sys_register(int fd, unsigned int op, void *arg, unsigned int n)
{
	return (int)syscall(__NR_io_uring_register, fd, op, arg, n);
}

void uring_exit(struct uring *r)
{
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_len);
	if (r->cq_map && r->cq_map != MAP_FAILED && r->cq_map != r->sq_map)
		munmap(r->cq_map, r->cq_len);
	if (r->sq_map && r->sq_map != MAP_FAILED)
		munmap(r->sq_map, r->sq_len);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

int uring_init(struct uring *r, unsigned int entries, void *buf, size_t len)
{
	struct io_uring_params p;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	unsigned char *sq, *cq;
	int ret;

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	/* Completions run when this thread waits for them, not by interrupt (6.1+). */
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	r->fd = sys_setup(entries, &p);
	if (r->fd < 0 && errno == EINVAL) {
		memset(&p, 0, sizeof(p));
		r->fd = sys_setup(entries, &p);
	}
	if (r->fd < 0) {
		r->fd = -1;
		return -errno;
	}
	r->entries = p.sq_entries;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP && r->cq_len > r->sq_len)
		r->sq_len = r->cq_len;
	r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 r->fd, IORING_OFF_SQ_RING);
	if (r->sq_map == MAP_FAILED)
		goto fail;
	r->cq_map = p.features & IORING_FEAT_SINGLE_MMAP ? r->sq_map :
		    mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 r->fd, IORING_OFF_CQ_RING);
	if (r->cq_map == MAP_FAILED)
		goto fail;
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		goto fail;
	sq = r->sq_map;
	cq = r->cq_map;
	r->sq_head = (unsigned int *)(sq + p.sq_off.head);
	r->sq_tail = (unsigned int *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)(sq + p.sq_off.array);
	r->cq_head = (unsigned int *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned int *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned int *)(cq + p.cq_off.ring_mask);
	r->cqes = cq + p.cq_off.cqes;
	if (sys_register(r->fd, IORING_REGISTER_BUFFERS, &iov, 1) < 0)
		goto fail;
	r->buf = buf;
	r->buf_len = len;
	return 0;
fail:
	ret = -errno;
	uring_exit(r);
	return ret;
}

int uring_queue(struct uring *r, int fd, bool write, void *p, size_t len, uint64_t off,
		uint64_t tag)
{
	unsigned int tail = *r->sq_tail, i;
	struct io_uring_sqe *sqe;

	if (r->queued + r->inflight >= r->entries)
		return -ENOSPC;
	i = tail & *r->sq_mask;
	sqe = (struct io_uring_sqe *)r->sqes + i;
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = write ? IORING_OP_WRITE_FIXED : IORING_OP_READ_FIXED;
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)p;
	sqe->len = (uint32_t)len;
	sqe->off = off;
	sqe->buf_index = 0;
	sqe->user_data = tag;
	r->sq_array[i] = i;
	/* The entry is complete before the kernel may see the new tail. */
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	r->queued++;
	return 0;
}

int uring_run(struct uring *r, void (*done)(void *arg, uint64_t tag, int res), void *arg)
{
	unsigned int head, n;
	int ret;

	while (r->queued || r->inflight) {
		ret = sys_enter(r->fd, r->queued, r->queued + r->inflight, IORING_ENTER_GETEVENTS);
		if (ret < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY)
			return -errno;
		if (ret > 0) {
			n = (unsigned int)ret < r->queued ? (unsigned int)ret : r->queued;
			r->queued -= n;
			r->inflight += n;
		}
		head = *r->cq_head;
		while (head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) {
			const struct io_uring_cqe *cqe =
				(const struct io_uring_cqe *)r->cqes + (head & *r->cq_mask);

			done(arg, cqe->user_data, cqe->res);
			head++;
			r->inflight--;
		}
		__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
	}
	return 0;
}
