/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading an image's blocks into regions or plain files, and verifying
 * them against an image.
 */
#ifndef _DIRTYBIT_IMAGE_LOAD_H
#define _DIRTYBIT_IMAGE_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "pages.h"
#include "save.h"

/*
 * Block @b of the image open at c->src_fd into destination @d (a region,
 * or a plain file @d->path, which is truncated to the block's size), or
 * with @verify compared with it.  0 or -errno with the reason in @err
 * (-EINVAL: a region of another size, or a difference).
 */
int img_load_block(struct img_copy *c, const struct img_block *b, const struct img_source *d,
		   bool verify, char *err, size_t errlen);

#endif /* _DIRTYBIT_IMAGE_LOAD_H */
