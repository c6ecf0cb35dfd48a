/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block backups into qcow2 from a frozen bitmap (QEMU's sync=dirty-bitmap
 * protocol).  session.c runs the protocol, output.c keeps the files,
 * copy.c copies, quiesce.c stops the writers; restore.h reads backups back.
 */
#ifndef _DIRTYBIT_BACKUP_H
#define _DIRTYBIT_BACKUP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/passes.h"
#include "libdirtybit.h"

enum backup_bitmap_mode {
	BACKUP_ON_SUCCESS,		/* abdicate on success, reclaim on failure */
	BACKUP_NEVER,			/* always reclaim: the bitmap keeps its bits */
	BACKUP_ALWAYS,			/* abdicate; after a failure keep the partial
					 * image and the bits it lacks */
};

/* What a backup reports as it goes, for the caller to show (NULL: nothing). */
struct backup_progress {
	/*
	 * By the calling thread between batches of a device's copy: @done of
	 * @total bytes, @seconds since the copy began; once more with @end
	 * when that copy is over.
	 */
	void (*copying)(void *arg, uint64_t done, uint64_t total, double seconds, bool end);
	/* Pass @k (from 0) ended: what it copied, in how long. */
	void (*pass)(void *arg, unsigned int k, uint64_t bytes, double seconds, bool frozen);
	void *arg;
};

struct backup_opts {
	const char *device;		/* the tracked block device's path */
	const char *bitmap;
	const char *output;		/* written as OUTPUT.partial, then renamed */
	const char *backing;		/* incremental: the previous backup */
	bool full;			/* every non-zero cluster */
	enum backup_bitmap_mode mode;
	uint32_t cluster;		/* 0: max(granularity, 64 KiB) */
	/*
	 * With any of these the backup copies in passes and stops the writers
	 * only for the last one: the file systems mounted at @fsfreeze are
	 * frozen (in order; thawed in reverse) after @freeze_cmd ran, and
	 * @thaw_cmd runs after them, whatever happened.
	 */
	const char *const *fsfreeze;
	unsigned int nfsfreeze;
	const char *freeze_cmd, *thaw_cmd;
	struct pass_opts passes;
	const char *exec_frozen;	/* sh -c command run after the (last) copy,
					 * still frozen; its failure cancels the backup */
	const char *const *clears;	/* bitmaps cleared at the cut, on each device */
	unsigned int nclears;
	unsigned int threads;		/* copy workers, 1 to 64 */
	bool direct;			/* data written with O_DIRECT */
	bool any_backing;		/* backing files outside the output's directory */
	const struct backup_progress *progress;	/* NULL: silent */
	const volatile sig_atomic_t *stop;
};

struct backup_result {
	uint64_t clusters;		/* copied, every pass (dirty, or all for --full) */
	uint64_t data, zero;		/* written as data; as zero flags/holes */
	uint64_t bytes_read;
	uint64_t extents;		/* runs read, each one pread */
	uint32_t cluster;
	double seconds;
	bool kept;			/* always mode, failed: output kept ... */
	uint64_t kept_from;		/* ... and the bitmap holds [kept_from, end) */
};

#define BACKUP_MAX_DEVICES	16
#define BACKUP_MAX_CLEARS	8
#define BACKUP_MAX_FSFREEZE	16

/*
 * Backs up @n devices (o[i].device into o[i].output; every other field as
 * in o[0]) at one cut, as a group: they succeed together or fail together
 * (QEMU's grouped completion).  0 or -errno, the reason in @err.  On failure
 * nothing is left at any output, except in BACKUP_ALWAYS mode, where
 * res[i].kept says the partial image is.  @passes: each pass's figures
 * (one pass unless the writers are stopped for a last one).
 */
int backup_run(struct dirtybit_ctx *ctx, const struct backup_opts *o, unsigned int n,
	       struct backup_result *res, struct pass_result *passes, char *err, size_t errlen);

#endif /* _DIRTYBIT_BACKUP_H */
