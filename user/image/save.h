/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Saving images: one pass over plain files, or live passes over regions
 * driven by their bitmaps, ending under the writer hold.
 */
#ifndef _DIRTYBIT_IMAGE_SAVE_H
#define _DIRTYBIT_IMAGE_SAVE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/passes.h"
#include "format.h"
#include "libdirtybit.h"

#define IMG_MAX_PASSES		PASSES_MAX

struct img_source {
	char block[IMG_ID_MAX];		/* the block id: the region's name */
	const char *path;		/* a plain file or memfd; NULL: a region */
	int fd;
	uint64_t size;
	uint32_t target_id;		/* regions */
	uint64_t *dirty;		/* the last harvest, one bit per page */
	uint64_t *granules;		/* the bitmap as read, when coarser */
	uint64_t granularity;		/* of the save's bitmap: a page or more */
	bool owned;			/* the save's bitmap is there, frozen by it */
	bool held;			/* the writer hold is on */
	bool created;			/* by the save (else taken over) */
};

struct img_pass;

/* What a save reports as it goes, for the caller to show (NULL: nothing). */
struct img_save_progress {
	/* Pass 1, by the calling thread between chunks of block @block:
	 * @done of @total pages; once more with @end when the block is done.
	 */
	void (*copying)(void *arg, const char *block, uint64_t done, uint64_t total, bool end);
	/* Pass @k (from 0) ended: its figures and time. */
	void (*pass)(void *arg, unsigned int k, const struct img_pass *p, double seconds,
		     bool held);
	void *arg;
};

struct img_save_opts {
	const char *machine;		/* NULL: "none" */
	const char *bitmap;		/* the regions' bitmap the save owns */
	uint64_t granularity;		/* of that bitmap; 0: the region's page */
	unsigned int threads;
	bool direct;			/* O_DIRECT page writes */
	struct pass_opts passes;	/* the last one held (hold) */
	bool hold;			/* the last pass under the writer hold */
	bool keep_bitmap;
	const char *exec_held;		/* sh -c command run while held */
	const struct img_save_progress *progress;	/* NULL: silent */
	const volatile sig_atomic_t *stop;
};

struct img_pass {
	uint64_t pages;			/* harvested (pass 1: every page) */
	uint64_t written, zero;		/* pages written; zero pages */
};

struct img_save_result {
	struct pass_result passes;	/* the engine's: bytes, times, held */
	struct img_pass pass[IMG_MAX_PASSES];
	double seconds;
	uint64_t file_size;		/* apparent */
	uint64_t allocated;		/* bytes on disk */
};

/*
 * Saves @n sources to @path (written as PATH.partial, renamed when
 * complete).  @ctx is needed when a source is a region.  0 or -errno with
 * the reason in @err; on failure nothing is left at @path that was not
 * there, a frozen bitmap is reclaimed, and PATH.partial is removed.
 */
int img_save(struct dirtybit_ctx *ctx, const char *path, struct img_source *src,
	     unsigned int n, const struct img_save_opts *o, struct img_save_result *res,
	     char *err, size_t errlen);

#endif /* _DIRTYBIT_IMAGE_SAVE_H */
