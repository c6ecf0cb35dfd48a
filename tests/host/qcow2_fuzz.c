// SPDX-License-Identifier: GPL-2.0
/*
 * The qcow2 reader against hostile chains, under ASan/UBSan: valid chains
 * written by the writer (a raw or qcow2 base and one or two incrementals,
 * clusters of 4 KiB to 64 KiB, random data and zero clusters), then
 * mutated — header bytes and fields set to extremes (size, L1 offset and
 * entries, backing name offset and length, header length, extension
 * lengths), L1 and L2 entries, backing names pointing elsewhere,
 * truncations anywhere — in any image of the chain.  Every chain must
 * either open (and then read without touching memory it should not) or be
 * refused with a message; never crash, never leave the directory; an
 * unmutated chain reads back exactly.  Seeded, so a failure reproduces.
 * TAP output.
 *
 * Usage: qcow2_fuzz [ITERATIONS [SEED [DIR]]]
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../../user/backup/qcow2.h"

#define MAX_SIZE	(1U << 20)
#define NAMES		3

static unsigned int seed;
static char dir[256];

static unsigned int rnd(unsigned int n)
{
	return (unsigned int)(rand_r(&seed) % n);
}

static void die(const char *what, const char *err)
{
	fprintf(stderr, "%s: %s\n", what, err);
	exit(1);
}

static void path_of(char *out, size_t n, unsigned int i)
{
	snprintf(out, n, "%s/%u.img", dir, i);
}

/*
 * A chain of 2 or 3 images, 0.img the base; @guest receives what the top
 * reads as.  Returns the number of images.
 */
static unsigned int make_chain(unsigned char *guest, uint64_t *size_out)
{
	static unsigned char buf[1 << 16];
	unsigned int bits = 12 + rnd(5), n = 2 + rnd(2), i;
	uint64_t cluster = 1ULL << bits;
	uint64_t size = (1 + rnd(MAX_SIZE / 4096)) * 4096ULL, c, nc = (size + cluster - 1) / cluster;
	bool raw_base = !rnd(3);
	char path[300], name[16], err[256];

	memset(guest, 0, size);
	for (i = 0; i < n; i++) {
		struct qcow2_writer w;
		int fd;

		path_of(path, sizeof(path), i);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			die(path, strerror(errno));
		if (!i && raw_base) {
			for (c = 0; c < size / 4096; c++)
				if (!rnd(3)) {
					memset(buf, (int)(1 + rnd(255)), 4096);
					memcpy(guest + c * 4096, buf, 4096);
					if (pwrite(fd, buf, 4096, (off_t)(c * 4096)) != 4096)
						die(path, "short write");
				}
			if (ftruncate(fd, (off_t)size))
				die(path, strerror(errno));
			close(fd);
			continue;
		}
		snprintf(name, sizeof(name), "%u.img", i - 1);
		if (qcow2_create(&w, fd, size, bits, i ? name : NULL,
				 i && raw_base && i == 1 ? "raw" : "qcow2", err, sizeof(err)))
			die("create", err);
		for (c = 0; c < nc; c++) {
			uint64_t len = (c + 1) * cluster > size ? size - c * cluster : cluster;

			switch (rnd(i ? 4 : 2)) {
			case 0:		/* data */
				memset(buf, 0, cluster);
				memset(buf, (int)(1 + rnd(255)), len);
				memcpy(guest + c * cluster, buf, len);
				if (qcow2_write_cluster(&w, c, buf, err, sizeof(err)))
					die("write", err);
				break;
			case 1:		/* a zero cluster (or a hole in the base) */
				memset(guest + c * cluster, 0, len);
				if (i)
					qcow2_zero_cluster(&w, c);
				break;
			default:	/* from the backing file */
				break;
			}
		}
		if (qcow2_finish(&w, err, sizeof(err)))
			die("finish", err);
		qcow2_writer_free(&w);
		close(fd);
	}
	*size_out = size;
	return n;
}

/*
 * Chains QEMU wrote (qemu-img and qemu-io, when installed): a v2 (compat
 * 0.10, 72-byte header) base with 4 KiB clusters under a v3 incremental
 * with lazy refcounts and 64 KiB clusters.  Made once, kept in memory,
 * written out as 0.img and 1.img for an iteration; @qemu_guest is what the
 * top reads as (qemu-img convert).
 */
static unsigned char *qemu_file[2], qemu_guest[MAX_SIZE];
static size_t qemu_len[2];

static void slurp(const char *path, unsigned char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");

	*buf = malloc(8 << 20);
	if (!f || !*buf)
		die(path, "cannot read");
	*len = fread(*buf, 1, 8 << 20, f);
	fclose(f);
}

static bool make_qemu_chains(void)
{
	char cmd[2048], path[300];
	size_t len;
	unsigned char *raw;

	snprintf(cmd, sizeof(cmd),
		 "cd %s && head -c %u /dev/urandom > seed.raw && "
		 "qemu-img convert -q -O qcow2 -o compat=0.10,cluster_size=4096 seed.raw 0.img && "
		 "qemu-img create -q -f qcow2 -o lazy_refcounts=on,cluster_size=65536 -b 0.img "
		 "-F qcow2 1.img && qemu-io -c 'write -P 0x55 64k 128k' -c 'write -z 512k 64k' "
		 "1.img >/dev/null && qemu-img convert -O raw 1.img guest.raw && rm seed.raw",
		 dir, MAX_SIZE);
	if (system(cmd))
		return false;
	path_of(path, sizeof(path), 0);
	slurp(path, &qemu_file[0], &qemu_len[0]);
	path_of(path, sizeof(path), 1);
	slurp(path, &qemu_file[1], &qemu_len[1]);
	snprintf(path, sizeof(path), "%s/guest.raw", dir);
	slurp(path, &raw, &len);
	memcpy(qemu_guest, raw, len < MAX_SIZE ? len : MAX_SIZE);
	free(raw);
	unlink(path);
	return len == MAX_SIZE;
}

static unsigned int qemu_chain(unsigned char *guest, uint64_t *size_out)
{
	char path[300];
	unsigned int i;
	int fd;

	for (i = 0; i < 2; i++) {
		path_of(path, sizeof(path), i);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, qemu_file[i], qemu_len[i]) != (ssize_t)qemu_len[i])
			die(path, "cannot write");
		close(fd);
	}
	path_of(path, sizeof(path), 2);
	unlink(path);
	memcpy(guest, qemu_guest, MAX_SIZE);
	*size_out = MAX_SIZE;
	return 2;
}

static void put(int fd, uint64_t off, const void *v, size_t n)
{
	if (pwrite(fd, v, n, (off_t)off) < 0)
		die("mutate", strerror(errno));
}

static void put_be32(int fd, uint64_t off, uint32_t v)
{
	v = __builtin_bswap32(v);
	put(fd, off, &v, 4);
}

static void put_be64(int fd, uint64_t off, uint64_t v)
{
	v = __builtin_bswap64(v);
	put(fd, off, &v, 8);
}

static uint64_t get_be64(int fd, uint64_t off)
{
	uint64_t v = 0;

	if (pread(fd, &v, 8, (off_t)off) != 8)
		return 0;
	return __builtin_bswap64(v);
}

static void mutate(unsigned int n)
{
	static const uint64_t extremes[] = {
		0, 1, 7, 8, 104, 4095, 4096, 65536, 1ULL << 20, 1ULL << 31, 1ULL << 32,
		1ULL << 56, (1ULL << 56) + 1, 1ULL << 62, 1ULL << 63, ~0ULL - 4095, ~0ULL,
	};
	static const char *const names[] = {
		"/etc/passwd", "../x.img", "..", ".", "0.img/..", "1.img", "2.img", "nosuch",
		"/dev/zero", "a/b",
	};
	unsigned int k, m = 1 + rnd(4), i = rnd(n);
	uint64_t ext = extremes[rnd(sizeof(extremes) / sizeof(extremes[0]))] + rnd(3);
	char path[300];
	struct stat st;
	uint8_t byte;
	int fd;

	path_of(path, sizeof(path), i);
	fd = open(path, O_RDWR);
	if (fd < 0 || fstat(fd, &st))
		die(path, strerror(errno));
	for (k = 0; k < m; k++) {
		uint64_t l1 = get_be64(fd, 40);

		switch (rnd(8)) {
		case 0:		/* a header byte */
			byte = (uint8_t)rnd(256);
			put(fd, rnd(512), &byte, 1);
			break;
		case 1:		/* a 64-bit header field */
			put_be64(fd, (uint64_t[]){ 8, 24, 40, 48, 72, 80 }[rnd(6)], ext);
			break;
		case 2:		/* a 32-bit header field */
			put_be32(fd, (uint64_t[]){ 4, 16, 20, 32, 36, 56, 96, 100, 108 }[rnd(9)],
				 (uint32_t)ext);
			break;
		case 3:		/* an L1 entry */
			if (l1 < (uint64_t)st.st_size)
				put_be64(fd, l1 + 8 * rnd(4), rnd(2) ? ext : ext | (1ULL << 63));
			break;
		case 4:		/* anywhere past the L1 table: L2 entries, data */
			if (st.st_size > 4096)
				put_be64(fd, (4096 + rnd((unsigned int)st.st_size - 4096)) & ~7ULL,
					 ext ^ (rnd(2) ? 0 : 1ULL << 63));
			break;
		case 5: {	/* a backing name from elsewhere */
			const char *nm = names[rnd(sizeof(names) / sizeof(names[0]))];
			uint64_t at = get_be64(fd, 8);

			if (at && at < 4096 - 16) {
				put(fd, at, nm, strlen(nm));
				put_be32(fd, 16, (uint32_t)strlen(nm));
			}
			break;
		}
		case 6:		/* a header extension's length */
			put_be32(fd, 104 + 4 + 8 * rnd(4), (uint32_t)ext);
			break;
		case 7:		/* truncated */
			if (ftruncate(fd, (off_t)rnd((unsigned int)st.st_size + 200)))
				die(path, strerror(errno));
			break;
		}
	}
	close(fd);
}

int main(int argc, char **argv)
{
	static unsigned char guest[MAX_SIZE], got[MAX_SIZE];
	unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 3000;
	unsigned long i, opened = 0, refused = 0, read_ok = 0, valid = 0, exact = 0, qemu = 0;
	char real_dir[PATH_MAX], real[PATH_MAX];
	bool have_qemu;
	int failed = 0;

	seed = argc > 2 ? (unsigned int)strtoul(argv[2], NULL, 0) : 1;
	/* In memory where there is a tmpfs: the writer fsyncs every image. */
	snprintf(dir, sizeof(dir), "%s", argc > 3 ? argv[3] :
		 !access("/dev/shm", W_OK) ? "/dev/shm/qcow2_fuzz" : "build/host/qcow2-fuzz");
	mkdir(dir, 0755);
	if (!realpath(dir, real_dir))
		die(dir, strerror(errno));
	have_qemu = make_qemu_chains();
	printf("TAP version 13\n1..2\n");
	for (i = 0; i < iters; i++) {
		struct qcow2_image *img;
		const struct qcow2_image *it;
		char top[300], err[512] = "";
		unsigned int flags = rnd(4) ? 0 : QCOW2_ANY_BACKING;
		uint64_t size, off;
		bool from_qemu = have_qemu && !rnd(5);
		unsigned int n = from_qemu ? qemu_chain(guest, &size) : make_chain(guest, &size), k;
		bool mutated = i % 10;	/* one in ten stays valid */
		int ret;

		if (mutated)
			mutate(n);
		path_of(top, sizeof(top), n - 1);
		ret = qcow2_open(&img, top, NULL, flags, err, sizeof(err));
		if (ret) {
			if (!err[0]) {
				printf("# iteration %lu: refused without a reason\n", i);
				failed = 1;
			}
			if (!mutated) {
				printf("# iteration %lu: a valid chain refused: %s\n", i, err);
				failed = 1;
			}
			refused++;
			continue;
		}
		opened++;
		qemu += from_qemu;
		/* Without QCOW2_ANY_BACKING the chain stays in its directory. */
		for (it = img; !flags && it; it = it->backing)
			if (!realpath(it->path, real) || strncmp(real, real_dir, strlen(real_dir)) ||
			    real[strlen(real_dir)] != '/' || strchr(real + strlen(real_dir) + 1, '/')) {
				printf("# iteration %lu: followed %s\n", i, it->path);
				failed = 1;
			}
		/* The first MiB, and a few reads anywhere in the virtual size. */
		ret = qcow2_read(img, 0, got, size < MAX_SIZE ? size : MAX_SIZE, err, sizeof(err));
		read_ok += !ret;
		if (!mutated) {
			valid++;
			exact += !ret && img->size == size && !memcmp(got, guest, size);
		}
		for (k = 0; k < 8 && img->size; k++) {
			off = ((uint64_t)rand_r(&seed) << 31 | (uint64_t)rand_r(&seed)) % img->size;
			qcow2_read(img, off, got, 1 + rnd(65536), err, sizeof(err));
		}
		qcow2_close(img);
	}
	for (i = 0; i < NAMES; i++) {
		char path[300];

		path_of(path, sizeof(path), (unsigned int)i);
		unlink(path);
	}
	rmdir(dir);
	printf("# %lu chains (%lu written by QEMU's tools%s): %lu opened (%lu read), %lu refused; %lu of %lu unmutated exact\n",
	       iters, qemu, have_qemu ? "" : ": qemu-img absent", opened, read_ok, refused, exact,
	       valid);
	printf("%sok 1 qcow2_reader_survives_%lu_mutated_chains\n", failed ? "not " : "", iters);
	printf("%sok 2 valid_chains_read_back\n", exact == valid ? "" : "not ");
	return failed || exact != valid;
}
