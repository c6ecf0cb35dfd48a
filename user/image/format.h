/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixed-ram memory images: QEMU's mapped-ram migration file (see
 * docs/FORMATS.md of the design, and docs/IMAGES.md).  Encoding and
 * strict decoding only; no policy.
 */
#ifndef _DIRTYBIT_IMAGE_FORMAT_H
#define _DIRTYBIT_IMAGE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMG_PAGE_SIZE		4096ULL
#define IMG_PAGES_ALIGN		(1ULL << 20)	/* pages_offset alignment */
#define IMG_MAX_BLOCKS		256
#define IMG_ID_MAX		256		/* idstr: u8 length + NUL */
#define IMG_MACHINE_DEFAULT	"none"

struct img_block {
	char id[IMG_ID_MAX];
	uint64_t used_length;		/* bytes, a page multiple */
	uint64_t npages;
	uint64_t header_offset;		/* its idstr length byte */
	uint64_t bitmap_offset;
	uint64_t pages_offset;
	uint64_t *valid;		/* npages bits: the slot holds data */
};

struct img {
	char machine[IMG_ID_MAX];
	unsigned int nblocks;
	struct img_block *blocks;
	uint32_t section_id;
	uint64_t end;			/* the stream after the last block */
	uint64_t file_size;		/* read: the file's size */
	bool complete;			/* read: the trailer is there */
};

static inline uint64_t img_bitmap_bytes(const struct img_block *b)
{
	return (b->npages + 63) / 64 * 8;
}

static inline bool img_valid(const struct img_block *b, uint64_t page)
{
	return b->valid[page / 64] >> (page % 64) & 1;
}

/*
 * Saving: img_layout() places the blocks (ids and used_length set) and
 * allocates their empty valid bitmaps; img_write_start() writes everything
 * up to the pages (no page valid yet); the pages go to their slots; then
 * img_write_bitmaps() and, once those are durable, img_write_end(), whose
 * trailer is what makes the file complete.  0 or -errno, reason in @err.
 */
int img_layout(struct img *img, char *err, size_t errlen);
int img_write_start(int fd, const struct img *img, char *err, size_t errlen);
int img_write_bitmaps(int fd, const struct img *img, char *err, size_t errlen);
int img_write_end(int fd, const struct img *img, char *err, size_t errlen);

/*
 * Reads and checks the structure of an image (and every valid bitmap).
 * -EINVAL for anything malformed or unsupported, with the offset and the
 * reason in @err; an incomplete file reads, with complete = false.
 */
int img_read(int fd, struct img *img, char *err, size_t errlen);
/* The block named @id, or NULL. */
struct img_block *img_block_find(const struct img *img, const char *id);
void img_free(struct img *img);

#endif /* _DIRTYBIT_IMAGE_FORMAT_H */
