// SPDX-License-Identifier: GPL-2.0
/*
 * The witness: every write, discard and write-zeroes range that completed
 * without error on a watched device, as the block layer's own completion
 * tracepoints report it, independently of dirtybit (selftests/witness.h).
 *
 *  - block_rq_complete: a request of a blk-mq disk (virtio-blk, null_blk,
 *    scsi), whole-disk sectors; @nr_bytes from the front of the request (a
 *    partial update is traced as such).  blk_update_request() then clears
 *    BIO_TRACE_COMPLETION on the request's bios, so block_bio_complete
 *    never fires for them.
 *  - block_bio_complete: a bio completed on a bio-based device (dm, md,
 *    brd) that block_bio_queue traced there, with the range its driver
 *    left it.
 *
 * The kernel types are declared here, only the fields read, with
 * preserve_access_index: libbpf relocates each field against the running
 * kernel's BTF (/sys/kernel/btf/vmlinux) at load, so one object serves
 * 6.1 and 6.12 and the build needs no kernel's BTF.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "witness_record.h"

struct gendisk {
	int major;
	int first_minor;
} __attribute__((preserve_access_index));

struct request_queue {
	struct gendisk *disk;
} __attribute__((preserve_access_index));

struct request {
	struct request_queue *q;
	unsigned int cmd_flags;
	__u64 __sector;
} __attribute__((preserve_access_index));

struct block_device {
	__u32 bd_dev;
} __attribute__((preserve_access_index));

struct bvec_iter {
	__u64 bi_sector;
	unsigned int bi_size;
} __attribute__((preserve_access_index));

struct bio {
	struct block_device *bi_bdev;
	unsigned int bi_opf;
	unsigned char bi_status;
	struct bvec_iter bi_iter;
} __attribute__((preserve_access_index));

/* REQ_OP_* (include/linux/blk_types.h, the same in 6.1 and 6.12). */
#define REQ_OP_MASK		0xff
#define REQ_OP_WRITE		1
#define REQ_OP_DISCARD		3
#define REQ_OP_SECURE_ERASE	5
#define REQ_OP_WRITE_ZEROES	9

char LICENSE[] SEC("license") = "GPL";

/*
 * Devices watched (kernel dev_t, MAJOR << 20 | MINOR), filled by user
 * space; each counts the completions either tracepoint saw on it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct witness_seen);
} devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20);
} ranges SEC(".maps");

/* Set by user space around each cut; stamped on every record. */
volatile __u32 phase;
/* Records the ring buffer had no room for: a test asserts none. */
__u64 dropped;

static int witness_op(__u32 opf)
{
	switch (opf & REQ_OP_MASK) {
	case REQ_OP_WRITE:
	case REQ_OP_DISCARD:
	case REQ_OP_SECURE_ERASE:
	case REQ_OP_WRITE_ZEROES:
		return opf & REQ_OP_MASK;
	}
	return -1;
}

static void witness_emit(__u32 dev, __u64 sector, __u32 nr, int op, int src)
{
	struct witness_record *r;

	if (!nr)
		return;
	r = bpf_ringbuf_reserve(&ranges, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&dropped, 1);
		return;
	}
	r->sector = sector;
	r->nr_sectors = nr;
	r->dev = dev;
	r->phase = phase;
	r->op = op;
	r->src = src;
	r->pad = 0;
	bpf_ringbuf_submit(r, 0);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(witness_rq, struct request *rq, __u8 error, unsigned int nr_bytes)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	struct witness_seen *seen;
	__u32 dev;
	int op;

	if (!disk)
		return 0;
	dev = (__u32)BPF_CORE_READ(disk, major) << 20 | BPF_CORE_READ(disk, first_minor);
	seen = bpf_map_lookup_elem(&devs, &dev);
	if (!seen)
		return 0;
	__sync_fetch_and_add(&seen->n[WITNESS_SRC_RQ], 1);
	op = witness_op(BPF_CORE_READ(rq, cmd_flags));
	if (op < 0 || error)
		return 0;
	witness_emit(dev, BPF_CORE_READ(rq, __sector), nr_bytes >> 9, op, WITNESS_SRC_RQ);
	return 0;
}

SEC("tp_btf/block_bio_complete")
int BPF_PROG(witness_bio, void *q, struct bio *bio)
{
	__u32 dev = BPF_CORE_READ(bio, bi_bdev, bd_dev);
	struct witness_seen *seen = bpf_map_lookup_elem(&devs, &dev);
	int op;

	if (!seen)
		return 0;
	__sync_fetch_and_add(&seen->n[WITNESS_SRC_BIO], 1);
	op = witness_op(BPF_CORE_READ(bio, bi_opf));
	if (op < 0 || BPF_CORE_READ(bio, bi_status))
		return 0;
	witness_emit(dev, BPF_CORE_READ(bio, bi_iter.bi_sector),
		     BPF_CORE_READ(bio, bi_iter.bi_size) >> 9, op, WITNESS_SRC_BIO);
	return 0;
}
