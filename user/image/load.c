// SPDX-License-Identifier: GPL-2.0
/*
 * Image loads and verifies, one block at a time (see load.h).  A region is
 * loaded through a shared mapping, so its bitmaps record the load.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../common/util.h"
#include "load.h"

/* One block into a file (written), or a region (through a mapping). */
static int load_block(struct img_copy *copy, const struct img_block *b,
		      const struct img_source *d, char *err, size_t errlen)
{
	int ret;

	copy->img_fd = d->fd;
	copy->dest_map = NULL;
	if (!d->path) {
		copy->dest_map = mmap(NULL, b->used_length, PROT_READ | PROT_WRITE, MAP_SHARED,
				      d->fd, 0);
		if (copy->dest_map == MAP_FAILED) {
			copy->dest_map = NULL;
			return errf(err, errlen, -errno, "mapping the region: %s", strerror(errno));
		}
	}
	ret = img_load_pages(copy, b, d->path != NULL, err, errlen);
	if (copy->dest_map)
		munmap(copy->dest_map, b->used_length);
	else if (!ret && fsync(d->fd))
		ret = errf(err, errlen, -errno, "flushing: %s", strerror(errno));
	return ret;
}

int img_load_block(struct img_copy *c, const struct img_block *b, const struct img_source *d,
		   bool verify, char *err, size_t errlen)
{
	if (verify)
		return img_verify_pages(c->src_fd, b, d->fd, d->size, err, errlen);
	if (d->path && (ftruncate(d->fd, 0) || ftruncate(d->fd, (off_t)b->used_length)))
		return errf(err, errlen, -errno, "%s: %s", d->path, strerror(errno));
	if (d->size != b->used_length && !d->path)
		return errf(err, errlen, -EINVAL, "region %s is %llu bytes, the block %llu", b->id,
			    (unsigned long long)d->size, (unsigned long long)b->used_length);
	return load_block(c, b, d, err, errlen);
}
