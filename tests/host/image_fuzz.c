// SPDX-License-Identifier: GPL-2.0
/*
 * The image reader against hostile files, under ASan/UBSan: valid images
 * written by the writer (1 to 3 blocks, random pages), then mutated —
 * bytes flipped in the header and bitmaps, integers set to extremes,
 * truncations anywhere.  Every file must either read (and then load and
 * verify without touching memory it should not) or be refused with a
 * message; never crash.  Seeded, so a failure reproduces.  TAP output.
 *
 * Usage: image_fuzz [ITERATIONS [SEED]]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../../user/image/format.h"
#include "../../user/image/pages.h"

static unsigned int seed;

static unsigned int rnd(unsigned int n)
{
	return (unsigned int)(rand_r(&seed) % n);
}

static int memfd(const char *name)
{
	int fd = memfd_create(name, 0);

	if (fd < 0) {
		perror("memfd_create");
		exit(1);
	}
	return fd;
}

/* A valid image in a memfd; its source contents in *src_fd. */
static int make_image(int *src_fd, struct img *img)
{
	static const char *names[] = { "ram", "pc.ram", "vga.vram" };
	static unsigned char page[IMG_PAGE_SIZE];
	int fd = memfd("img"), src = memfd("src");
	struct img_copy c = { .threads = 1 + rnd(2) };
	char err[256];
	unsigned int i;
	uint64_t p;

	memset(img, 0, sizeof(*img));
	img->nblocks = 1 + rnd(3);
	img->blocks = calloc(img->nblocks, sizeof(*img->blocks));
	for (i = 0; i < img->nblocks; i++) {
		strcpy(img->blocks[i].id, names[i]);
		img->blocks[i].used_length = (1 + rnd(100)) * IMG_PAGE_SIZE;
	}
	if (img_layout(img, err, sizeof(err)) || ftruncate(fd, (off_t)img->end) ||
	    img_write_start(fd, img, err, sizeof(err))) {
		fprintf(stderr, "writer: %s\n", err);
		exit(1);
	}
	c.img_fd = fd;
	c.src_fd = src;
	for (i = 0; i < img->nblocks; i++) {
		struct img_block *b = &img->blocks[i];

		if (ftruncate(src, 0) || ftruncate(src, (off_t)b->used_length))
			exit(1);
		for (p = 0; p < b->npages; p++) {
			if (rnd(3))
				continue;
			memset(page, (int)(1 + rnd(255)), sizeof(page));
			if (pwrite(src, page, sizeof(page), (off_t)(p * IMG_PAGE_SIZE)) < 0)
				exit(1);
		}
		if (img_save_pages(&c, b, NULL, err, sizeof(err))) {
			fprintf(stderr, "save: %s\n", err);
			exit(1);
		}
	}
	if (img_write_bitmaps(fd, img, err, sizeof(err)) || img_write_end(fd, img, err, sizeof(err)))
		exit(1);
	*src_fd = src;
	return fd;
}

static void put_be64_at(int fd, uint64_t off, uint64_t v)
{
	v = __builtin_bswap64(v);
	if (pwrite(fd, &v, 8, (off_t)off) < 0)
		exit(1);
}

static void mutate(int fd, const struct img *img)
{
	static const uint64_t extremes[] = { 0, 1, 4095, 4096, 1ULL << 20, 1ULL << 63,
					     ~0ULL, ~0ULL - 4095 };
	const struct img_block *b = &img->blocks[rnd(img->nblocks)];
	unsigned int k, n = 1 + rnd(4);
	uint8_t byte;

	for (k = 0; k < n; k++) {
		switch (rnd(5)) {
		case 0:		/* a header byte */
		case 1: {
			off_t at = (off_t)rnd((unsigned int)b->bitmap_offset + 64);

			byte = (uint8_t)rnd(256);
			if (pwrite(fd, &byte, 1, at) < 0)
				exit(1);
			break;
		}
		case 2:		/* a block's length or offsets */
			put_be64_at(fd, b->header_offset + (rnd(2) ? 12 : 20),
				    extremes[rnd(8)] + rnd(3));
			break;
		case 3:		/* a bitmap byte: marks a zero page, or past the end */
			byte = (uint8_t)rnd(256);
			if (pwrite(fd, &byte, 1, (off_t)(b->bitmap_offset +
					rnd((unsigned int)img_bitmap_bytes(b)))) < 0)
				exit(1);
			break;
		case 4:		/* truncated */
			if (ftruncate(fd, (off_t)rnd((unsigned int)img->end + 200)))
				exit(1);
			break;
		}
	}
}

int main(int argc, char **argv)
{
	unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 3000;
	unsigned long i, read_ok = 0, refused = 0, loaded = 0, complete = 0;
	int failed = 0;

	seed = argc > 2 ? (unsigned int)strtoul(argv[2], NULL, 0) : 1;
	printf("TAP version 13\n1..2\n");
	for (i = 0; i < iters; i++) {
		struct img made, got;
		char err[512] = "";
		int src, fd = make_image(&src, &made);
		unsigned int b;

		if (i % 10)	/* one in ten stays valid */
			mutate(fd, &made);
		if (img_read(fd, &got, err, sizeof(err))) {
			if (!err[0]) {
				printf("# iteration %lu: refused without a reason\n", i);
				failed = 1;
			}
			refused++;
		} else {
			read_ok++;
			complete += got.complete;
			for (b = 0; b < got.nblocks; b++) {
				struct img_copy c = { .src_fd = fd, .img_fd = memfd("dst"), .threads = 2 };

				if (!img_load_pages(&c, &got.blocks[b], true, err, sizeof(err)))
					loaded++;
				img_verify_pages(fd, &got.blocks[b], c.img_fd, got.blocks[b].used_length,
						 err, sizeof(err));
				close(c.img_fd);
			}
		}
		img_free(&got);
		img_free(&made);
		close(fd);
		close(src);
	}
	printf("# %lu files: %lu read (%lu complete, %lu blocks loaded), %lu refused\n", iters,
	       read_ok, complete, loaded, refused);
	printf("%sok 1 image_reader_survives_%lu_mutated_files\n", failed ? "not " : "", iters);
	/* The unmutated tenth must all read back. */
	printf("%sok 2 valid_images_read_back\n", read_ok >= iters / 10 ? "" : "not ");
	return failed || read_ok < iters / 10;
}
