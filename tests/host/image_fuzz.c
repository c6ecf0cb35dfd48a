// SPDX-License-Identifier: GPL-2.0
/*
 * The image reader against hostile files, under ASan/UBSan: valid images
 * written by the writer (1 to 3 blocks, random pages), then mutated —
 * bytes flipped in the header and bitmaps, integers set to extremes,
 * truncations anywhere.  Every file must either read (and then load and
 * verify without touching memory it should not) or be refused with a
 * message; never crash.  Then the writer's two ways to take pages from a
 * source (read into a buffer, or written from a mapping) must make the
 * same image, and a source shorter than its block must fail either way
 * (with the mapping: SIGBUS, caught).  Seeded, so a failure reproduces.
 * TAP output.
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
	static unsigned int made;
	struct img_copy c = { .threads = 1 + rnd(2), .src_mappable = made++ % 2 };
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

/* A memfd of @pages pages: runs of zero and non-zero pages. */
static int make_source(uint64_t pages)
{
	static unsigned char page[IMG_PAGE_SIZE];
	int src = memfd("src");
	uint64_t p;

	if (ftruncate(src, (off_t)(pages * IMG_PAGE_SIZE)))
		exit(1);
	for (p = 0; p < pages; p++) {
		if (rnd(4) == 0) {
			p += rnd(100);		/* a zero run */
			continue;
		}
		memset(page, (int)(1 + rnd(255)), sizeof(page));
		page[rnd(IMG_PAGE_SIZE)] = 0;
		if (pwrite(src, page, sizeof(page), (off_t)(p * IMG_PAGE_SIZE)) < 0)
			exit(1);
	}
	return src;
}

/*
 * Saves @src (@pages pages, of which those in @dirty, NULL: all) as one
 * block, from a mapping or read; the image's fd, or -1 with @err set.
 */
static int save_one(int src, uint64_t pages, const uint64_t *dirty, bool mapped,
		    unsigned int threads, struct img *img, char *err, size_t errlen)
{
	struct img_copy c = { .src_fd = src, .threads = threads, .src_mappable = mapped };
	int fd = memfd("img");

	memset(img, 0, sizeof(*img));
	img->nblocks = 1;
	img->blocks = calloc(1, sizeof(*img->blocks));
	strcpy(img->blocks[0].id, "ram");
	img->blocks[0].used_length = pages * IMG_PAGE_SIZE;
	if (img_layout(img, err, errlen) || ftruncate(fd, (off_t)img->end))
		exit(1);
	c.img_fd = fd;
	if (img_save_pages(&c, &img->blocks[0], dirty, err, errlen)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether the two images' files and valid bitmaps are equal. */
static bool same_image(int a, const struct img *ia, int b, const struct img *ib)
{
	static unsigned char pa[1 << 16], pb[1 << 16];
	off_t off, end = (off_t)ia->end;

	if (memcmp(ia->blocks[0].valid, ib->blocks[0].valid, img_bitmap_bytes(&ia->blocks[0])))
		return false;
	for (off = 0; off < end; off += (off_t)sizeof(pa)) {
		size_t n = end - off < (off_t)sizeof(pa) ? (size_t)(end - off) : sizeof(pa);

		if (pread(a, pa, n, off) != (ssize_t)n || pread(b, pb, n, off) != (ssize_t)n ||
		    memcmp(pa, pb, n))
			return false;
	}
	return true;
}

/* Mapped and read saves of random sources, whole and by a dirty bitmap. */
static int mapped_equals_read(unsigned long rounds)
{
	unsigned long r;
	int failed = 0;

	for (r = 0; r < rounds; r++) {
		uint64_t pages = 1 + rnd(3000), *dirty = NULL, p;
		int src = make_source(pages), a, b;
		unsigned int threads = 1 + rnd(3);
		struct img ia, ib;
		char err[256];

		if (r % 2) {
			dirty = calloc((pages + 63) / 64, 8);
			for (p = 0; p < pages; p++)
				if (rnd(3) == 0)
					dirty[p / 64] |= 1ULL << (p % 64);
		}
		a = save_one(src, pages, dirty, false, threads, &ia, err, sizeof(err));
		b = save_one(src, pages, dirty, true, threads, &ib, err, sizeof(err));
		if (a < 0 || b < 0 || !same_image(a, &ia, b, &ib)) {
			printf("# round %lu (%llu pages, %u threads): %s\n", r,
			       (unsigned long long)pages, threads,
			       a < 0 || b < 0 ? err : "the images differ");
			failed = 1;
		}
		if (a >= 0)
			close(a);
		if (b >= 0)
			close(b);
		img_free(&ia);
		img_free(&ib);
		free(dirty);
		close(src);
	}
	return failed;
}

/* A source shorter than its block: -EIO with a reason, read or mapped. */
static int short_source_fails(void)
{
	int src = make_source(2048), failed = 0, fd;
	char err[256];
	struct img img;
	unsigned int m;

	if (ftruncate(src, 1000 * IMG_PAGE_SIZE))
		exit(1);
	for (m = 0; m < 2; m++) {
		err[0] = 0;
		fd = save_one(src, 2048, NULL, m, 2, &img, err, sizeof(err));
		if (fd >= 0 || !strstr(err, "reading page")) {
			printf("# %s save of a short source: %s\n", m ? "mapped" : "read",
			       fd >= 0 ? "succeeded" : err);
			failed = 1;
		}
		if (fd >= 0)
			close(fd);
		img_free(&img);
	}
	close(src);
	return failed;
}

int main(int argc, char **argv)
{
	unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 3000;
	unsigned long i, read_ok = 0, refused = 0, loaded = 0, complete = 0;
	int failed = 0;

	seed = argc > 2 ? (unsigned int)strtoul(argv[2], NULL, 0) : 1;
	printf("TAP version 13\n1..4\n");
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
	failed |= read_ok < iters / 10;
	i = mapped_equals_read(iters / 100 + 10);
	printf("%sok 3 mapped_and_read_saves_are_the_same\n", i ? "not " : "");
	failed |= (int)i;
	i = short_source_fails();
	printf("%sok 4 short_source_fails_mapped_or_read\n", i ? "not " : "");
	return failed | (int)i;
}
