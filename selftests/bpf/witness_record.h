/* SPDX-License-Identifier: GPL-2.0 */
/* One completed range, as the witness's BPF side hands it to user space. */
#ifndef _DIRTYBIT_WITNESS_RECORD_H
#define _DIRTYBIT_WITNESS_RECORD_H

#define WITNESS_SRC_RQ	0	/* block_rq_complete */
#define WITNESS_SRC_BIO	1	/* block_bio_complete */

struct witness_record {
	__u64 sector;		/* the device's own sectors (a disk: whole-disk) */
	__u32 nr_sectors;
	__u32 dev;		/* kernel dev_t: MAJOR << 20 | MINOR */
	__u32 phase;		/* witness phase when it completed */
	__u8 op;		/* REQ_OP_WRITE, _DISCARD, _SECURE_ERASE, _WRITE_ZEROES */
	__u8 src;		/* WITNESS_SRC_* */
	__u16 pad;
};

/* Completions of a watched device, by tracepoint, written or not. */
struct witness_seen {
	__u64 n[2];		/* by WITNESS_SRC_* */
};

#endif
