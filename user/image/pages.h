/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Moving pages between a source (a region fd, a plain file, a memfd) and
 * the fixed slots of an image block: worker threads take 4 MiB chunks of
 * the page range, read the chunk's marked runs, and write each run of
 * non-zero pages with one write.
 */
#ifndef _DIRTYBIT_IMAGE_PAGES_H
#define _DIRTYBIT_IMAGE_PAGES_H

#include <signal.h>
#include <stdint.h>

#include "format.h"

#define IMG_CHUNK_PAGES		1024	/* 4 MiB; a multiple of 64 */

struct img_copy {
	int src_fd;
	int img_fd;			/* may be O_DIRECT */
	unsigned char *dest_map;	/* load: a shared mapping, not img_fd */
	unsigned int threads;		/* 0: 1 */
	const volatile sig_atomic_t *stop;	/* set by a signal: give up */
	/* Called by the calling thread between chunks, if set. */
	void (*progress)(void *arg, uint64_t pages_done, uint64_t pages_total);
	void *progress_arg;
	/* out, summed over calls */
	uint64_t pages_written;
	uint64_t pages_zero;		/* zero: left a hole, or punched */
};

/*
 * Saves the pages marked in @dirty (@b->npages bits; NULL: every page)
 * from the source into @b's slots and keeps @b->valid true: a non-zero
 * page is written and valid, a zero page becomes a hole and invalid.
 * 0 or -errno with the reason in @err.
 */
int img_save_pages(struct img_copy *c, struct img_block *b, const uint64_t *dirty,
		   char *err, size_t errlen);

/*
 * Loads block @b of the image into the destination (c->src_fd is the
 * image, c->img_fd or c->dest_map the destination): valid pages are
 * copied, the others written as zeros unless @dest_zeroed.  A region is
 * loaded through a shared mapping, so its bitmaps record the load.
 */
int img_load_pages(struct img_copy *c, const struct img_block *b, bool dest_zeroed,
		   char *err, size_t errlen);

/*
 * Compares block @b of image @img_fd with @dest_fd (@dest_size bytes):
 * valid pages must be equal, the others zero.  0, or -EINVAL with the
 * first differing page in @err, or -errno.
 */
int img_verify_pages(int img_fd, const struct img_block *b, int dest_fd, uint64_t dest_size,
		     char *err, size_t errlen);

#endif /* _DIRTYBIT_IMAGE_PAGES_H */
