// SPDX-License-Identifier: GPL-2.0
/*
 * The qcow2 writer and reader against qemu-img (bookworm-backports' 10.0):
 * full and incremental images of a changing "device" file, with zeroed
 * clusters, a partial last cluster and several cluster sizes, must pass
 * `qemu-img check` with no errors and no leaks, compare equal to the
 * device with `qemu-img compare` and through our own chain reader, and
 * convert back to the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "../../user/backup/qcow2.h"

#define DIR	"build/host/qcow2-work"

static unsigned int seed = 1;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Writes @n random changes (a tenth of them zeroing a cluster) to @dev. */
static void scribble(int dev, uint64_t size, uint64_t cluster, int n, unsigned char *dirty)
{
	static unsigned char buf[1 << 21];
	int i;

	for (i = 0; i < n; i++) {
		uint64_t c = (uint64_t)rand_r(&seed) % ((size + cluster - 1) / cluster);
		uint64_t off = c * cluster, len = off + cluster > size ? size - off : cluster;
		uint64_t k;

		if (rand_r(&seed) % 10)
			for (k = 0; k < len; k++)
				buf[k] = (unsigned char)rand_r(&seed);
		else
			memset(buf, 0, len);
		if (pwrite(dev, buf, len, (off_t)off) != (ssize_t)len)
			abort();
		dirty[c] = 1;
	}
}

/* A fresh DIR holding dev.raw, @size bytes of zeros: its fd, or -1. */
static int new_device(uint64_t size)
{
	int dev;

	if (sh("rm -rf " DIR " && mkdir -p " DIR))
		return -1;
	dev = open(DIR "/dev.raw", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (dev >= 0 && ftruncate(dev, (off_t)size)) {
		close(dev);
		dev = -1;
	}
	return dev;
}

static int is_zero(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/*
 * A pass of an open writer @w over @dev, as backup's passes
 * write: the clusters in @dirty again, a zero one into its place if an
 * earlier pass gave it data, else a hole (full) or a zero cluster.
 */
static int write_pass(struct qcow2_writer *w, int dev, uint64_t size, const unsigned char *dirty,
		      int full, char *err, size_t errlen)
{
	static unsigned char buf[1 << 21];
	uint64_t c, n = (size + w->cluster - 1) / w->cluster;
	int ret = 0;

	for (c = 0; !ret && c < n; c++) {
		uint64_t len = (c + 1) * w->cluster > size ? size - c * w->cluster : w->cluster;

		if (dirty && !dirty[c])
			continue;
		memset(buf, 0, w->cluster);
		if (pread(dev, buf, len, (off_t)(c * w->cluster)) != (ssize_t)len)
			ret = -EIO;
		else if (!is_zero(buf, w->cluster) || qcow2_allocated(w, c))
			ret = qcow2_write_cluster(w, c, buf, err, errlen);
		else if (!full)
			qcow2_zero_cluster(w, c);
	}
	return ret;
}

/*
 * A backup of @dev: every cluster (full) or those in @dirty, each written
 * or, if zero, unallocated (full) or a zero cluster (incremental).
 */
static int backup(const char *out, int dev, uint64_t size, unsigned int bits,
		  const unsigned char *dirty, const char *backing, const char *fmt)
{
	struct qcow2_writer w;
	char err[256];
	int fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644), ret;

	if (fd < 0)
		return -errno;
	ret = qcow2_create(&w, fd, size, bits, backing, fmt, err, sizeof(err));
	if (!ret)
		ret = write_pass(&w, dev, size, dirty, !dirty, err, sizeof(err));
	if (!ret)
		ret = qcow2_finish(&w, err, sizeof(err));
	if (ret)
		fprintf(stderr, "backup %s: %s\n", out, err);
	qcow2_writer_free(&w);
	close(fd);
	return ret;
}

/* Our own reader: the chain reads as the device, byte for byte. */
static int reads_as(const char *top, int dev, uint64_t size)
{
	static unsigned char a[1 << 20], b[1 << 20];
	struct qcow2_image *img;
	char err[256];
	uint64_t off;
	int ok = 1;

	if (qcow2_open(&img, top, NULL, 0, err, sizeof(err))) {
		fprintf(stderr, "open %s: %s\n", top, err);
		return 0;
	}
	ok = img->size == size;
	for (off = 0; ok && off < size; off += sizeof(a)) {
		size_t n = size - off < sizeof(a) ? size - off : sizeof(a);

		ok = !qcow2_read(img, off, a, n, err, sizeof(err)) &&
		     pread(dev, b, n, (off_t)off) == (ssize_t)n && !memcmp(a, b, n);
	}
	qcow2_close(img);
	return ok;
}

/* check (no errors, no leaks), compare and convert agree with the device. */
static int qemu_agrees(const char *top, const char *dev)
{
	return !sh("qemu-img check -q %s", top) &&
	       !sh("qemu-img compare -q %s %s", top, dev) &&
	       !sh("qemu-img convert -O raw %s " DIR "/converted.raw && cmp -s " DIR
		   "/converted.raw %s", top, dev);
}

static void chain(struct __test_metadata *_metadata, unsigned int bits, uint64_t size,
		  int changes, int incrementals)
{
	unsigned char *dirty = calloc(size / 4096 + 1, 1);
	char top[256], prev[256];
	int dev, i;

	dev = new_device(size);
	ASSERT_LE(0, dev);
	scribble(dev, size, 1ULL << bits, changes, dirty);
	ASSERT_EQ(0, backup(DIR "/full.qcow2", dev, size, bits, NULL, NULL, NULL));
	EXPECT_TRUE(qemu_agrees(DIR "/full.qcow2", DIR "/dev.raw"));
	EXPECT_TRUE(reads_as(DIR "/full.qcow2", dev, size));
	strcpy(prev, "full.qcow2");
	for (i = 0; i < incrementals; i++) {
		memset(dirty, 0, size / 4096 + 1);
		scribble(dev, size, 1ULL << bits, 40, dirty);
		snprintf(top, sizeof(top), DIR "/inc%d.qcow2", i);
		/* Backing names are relative to the image, as QEMU resolves them. */
		ASSERT_EQ(0, backup(top, dev, size, bits, dirty, prev, "qcow2"));
		EXPECT_TRUE(qemu_agrees(top, DIR "/dev.raw")) TH_LOG("%s", top);
		EXPECT_TRUE(reads_as(top, dev, size)) TH_LOG("%s", top);
		snprintf(prev, sizeof(prev), "inc%d.qcow2", i);
	}
	EXPECT_EQ(0, sh("qemu-img info --backing-chain %s | grep -c '^image:' | grep -qx %d",
			top, incrementals + 1));
	close(dev);
	free(dirty);
}

TEST(chain_64k_clusters_partial_last_cluster)
{
	chain(_metadata, 16, (16ULL << 20) + 12288, 200, 4);
}

TEST(chain_4k_clusters_many_l2_tables_and_refcount_blocks)
{
	/* 8192 clusters, mostly written: 16 L2 tables, 5 refcount blocks. */
	chain(_metadata, 12, 32ULL << 20, 20000, 3);
}

TEST(chain_2m_clusters)
{
	chain(_metadata, 21, 1ULL << 30, 100, 2);
}

/*
 * Passes into one image: a later pass rewrites the clusters it names in
 * place — data over data, zeros over data, data over a zero cluster or a
 * hole — and the image reads as the device at the last pass, with no
 * leaked cluster (qemu-img check).
 */
TEST(later_passes_rewrite_clusters_in_place)
{
	static unsigned char dirty[4096];
	static unsigned char zeros[65536];
	struct qcow2_writer w;
	char err[256];
	int full, dev, fd;

	for (full = 0; full <= 1; full++) {
		dev = new_device(8 << 20);
		ASSERT_LE(0, dev);
		scribble(dev, 8 << 20, 65536, 40, dirty);
		ASSERT_EQ(0, sh("cp " DIR "/dev.raw " DIR "/base.raw"));
		fd = open(DIR "/p.qcow2", O_RDWR | O_CREAT | O_TRUNC, 0644);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, qcow2_create(&w, fd, 8 << 20, 16, full ? NULL : "base.raw", "raw",
					  err, sizeof(err)));
		/* Pass 1: every cluster. */
		ASSERT_EQ(0, write_pass(&w, dev, 8 << 20, NULL, full, err, sizeof(err)));
		/* Pass 2: new data, and data that became zeros. */
		memset(dirty, 0, sizeof(dirty));
		scribble(dev, 8 << 20, 65536, 30, dirty);
		ASSERT_EQ(0, pwrite(dev, zeros, sizeof(zeros), 0) == sizeof(zeros) ? 0 : -1);
		dirty[0] = 1;
		ASSERT_EQ(0, write_pass(&w, dev, 8 << 20, dirty, full, err, sizeof(err)));
		/* Pass 3: data where pass 1 saw zeros. */
		memset(dirty, 0, sizeof(dirty));
		scribble(dev, 8 << 20, 65536, 30, dirty);
		ASSERT_EQ(0, write_pass(&w, dev, 8 << 20, dirty, full, err, sizeof(err)));
		ASSERT_EQ(0, qcow2_finish(&w, err, sizeof(err))) TH_LOG("%s", err);
		qcow2_writer_free(&w);
		close(fd);
		EXPECT_TRUE(qemu_agrees(DIR "/p.qcow2", DIR "/dev.raw"));
		EXPECT_TRUE(reads_as(DIR "/p.qcow2", dev, 8 << 20));
		close(dev);
	}
}

TEST(raw_backing_file)
{
	static unsigned char dirty[4096];
	int dev;

	dev = new_device(8 << 20);
	ASSERT_LE(0, dev);
	scribble(dev, 8 << 20, 65536, 50, dirty);
	ASSERT_EQ(0, sh("cp " DIR "/dev.raw " DIR "/base.raw"));
	memset(dirty, 0, sizeof(dirty));
	scribble(dev, 8 << 20, 65536, 20, dirty);
	ASSERT_EQ(0, backup(DIR "/inc.qcow2", dev, 8 << 20, 16, dirty, "base.raw", "raw"));
	EXPECT_TRUE(qemu_agrees(DIR "/inc.qcow2", DIR "/dev.raw"));
	EXPECT_TRUE(reads_as(DIR "/inc.qcow2", dev, 8 << 20));
	close(dev);
}

/*
 * 64 images are the deepest chain the reader follows (the backup refuses
 * to write a 65th); qemu-img convert collapses a chain into one full image
 * that reads the same, on which incrementals go on (docs/BACKUPS.md).
 */
TEST(chain_of_64_is_the_deepest_and_qemu_img_convert_collapses_it)
{
	static unsigned char dirty[16];
	char out[128], prev[128];
	struct qcow2_image *img;
	char err[256];
	int dev, i;

	dev = new_device(1 << 20);
	ASSERT_LE(0, dev);
	scribble(dev, 1 << 20, 65536, 4, dirty);
	ASSERT_EQ(0, backup(DIR "/0.qcow2", dev, 1 << 20, 16, NULL, NULL, NULL));
	for (i = 1; i <= 64; i++) {
		memset(dirty, 0, sizeof(dirty));
		scribble(dev, 1 << 20, 65536, 2, dirty);
		snprintf(prev, sizeof(prev), "%d.qcow2", i - 1);
		snprintf(out, sizeof(out), DIR "/%d.qcow2", i);
		ASSERT_EQ(0, backup(out, dev, 1 << 20, 16, dirty, prev, "qcow2"));
	}
	/* 63.qcow2 is the 64th image; 64.qcow2 the 65th. */
	EXPECT_EQ(0, qcow2_open(&img, DIR "/63.qcow2", NULL, 0, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(64, qcow2_chain_length(img));
	qcow2_close(img);
	EXPECT_EQ(-ELOOP, qcow2_open(&img, DIR "/64.qcow2", NULL, 0, err, sizeof(err)));
	ASSERT_EQ(0, sh("qemu-img convert -O qcow2 " DIR "/64.qcow2 " DIR "/collapsed.qcow2"));
	EXPECT_TRUE(reads_as(DIR "/collapsed.qcow2", dev, 1 << 20));
	memset(dirty, 0, sizeof(dirty));
	scribble(dev, 1 << 20, 65536, 2, dirty);
	ASSERT_EQ(0, backup(DIR "/next.qcow2", dev, 1 << 20, 16, dirty, "collapsed.qcow2", "qcow2"));
	EXPECT_TRUE(reads_as(DIR "/next.qcow2", dev, 1 << 20));
	close(dev);
}

TEST(reader_refusals)
{
	struct qcow2_image *img;
	char err[256];

	ASSERT_EQ(0, sh("rm -rf " DIR " && mkdir -p " DIR " && "
			"qemu-img create -q -f qcow2 " DIR "/c.qcow2 1M && "
			"qemu-img create -q -f qcow2 -o compression_type=zlib " DIR "/z.qcow2 1M && "
			"yes dirtybit | head -c 65536 > " DIR "/junk && "
			"qemu-img convert -c -O qcow2 " DIR "/junk " DIR "/comp.qcow2 && "
			"qemu-img create -q -f qcow2 -b loop.qcow2 -F qcow2 " DIR "/loop.qcow2 1M "
			"2>/dev/null || true"));
	/* A qemu-img image reads (all zeros). */
	EXPECT_EQ(0, qcow2_open(&img, DIR "/c.qcow2", NULL, 0, err, sizeof(err))) TH_LOG("%s", err);
	qcow2_close(img);
	EXPECT_EQ(-EINVAL, qcow2_open(&img, DIR "/junk", "qcow2", 0, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a qcow2 image"));
	if (!qcow2_open(&img, DIR "/comp.qcow2", NULL, 0, err, sizeof(err))) {
		static unsigned char buf[65536];

		EXPECT_EQ(-EINVAL, qcow2_read(img, 0, buf, sizeof(buf), err, sizeof(err)));
		EXPECT_NE(NULL, strstr(err, "compressed"));
		qcow2_close(img);
	}
	if (!access(DIR "/loop.qcow2", F_OK)) {
		EXPECT_EQ(-ELOOP, qcow2_open(&img, DIR "/loop.qcow2", NULL, 0, err, sizeof(err)));
	}
}

/* ---- hostile images: the reader checks every field it reads -------------- */

/* A small valid image (1 MiB, 64 KiB clusters, one data cluster) at @path. */
static int small_image(const char *path, const char *backing, const char *fmt)
{
	static unsigned char dirty[16] = { 1 };
	int dev = open(DIR "/small.raw", O_RDWR | O_CREAT | O_TRUNC, 0644), ret;

	if (dev < 0 || ftruncate(dev, 1 << 20) || pwrite(dev, "x", 1, 0) != 1)
		return -1;
	ret = backup(path, dev, 1 << 20, 16, backing ? dirty : NULL, backing, fmt);
	close(dev);
	return ret;
}

/* Writes @v big-endian, @width bytes (4 or 8), at @off of @path. */
static int patch(const char *path, off_t off, uint64_t v, int width)
{
	uint32_t v32 = htobe32((uint32_t)v);
	uint64_t v64 = htobe64(v);
	int fd = open(path, O_WRONLY), ok;

	ok = fd >= 0 && pwrite(fd, width == 8 ? (void *)&v64 : (void *)&v32, width, off) == width;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static int patch64(const char *path, off_t off, uint64_t v)
{
	return patch(path, off, v, 8);
}

static int patch32(const char *path, off_t off, uint32_t v)
{
	return patch(path, off, v, 4);
}

/* Opens @path and reads its first and last 4 KiB: 0, or the -errno. */
static int open_and_read(const char *path, char *err, size_t errlen)
{
	static unsigned char buf[4096];
	struct qcow2_image *img;
	int ret = qcow2_open(&img, path, NULL, 0, err, errlen);

	if (ret)
		return ret;
	ret = qcow2_read(img, 0, buf, sizeof(buf), err, errlen);
	if (!ret && img->size >= sizeof(buf))
		ret = qcow2_read(img, img->size - sizeof(buf), buf, sizeof(buf), err, errlen);
	qcow2_close(img);
	return ret;
}

/*
 * Header fields that index the file or size the tables, set to what a
 * crafted file would: each is refused, never read past a buffer (ASan).
 */
static void expect_refused(struct __test_metadata *_metadata, const char *name,
			   off_t off, int width, uint64_t v, off_t off2, uint32_t v2)
{
	char path[128], err[256];

	snprintf(path, sizeof(path), DIR "/%s.qcow2", name);
	ASSERT_EQ(0, sh("rm -rf " DIR " && mkdir -p " DIR));
	ASSERT_EQ(0, small_image(path, NULL, NULL));
	if (width == 8) {
		ASSERT_EQ(0, patch64(path, off, v));
	} else if (width == 4) {
		ASSERT_EQ(0, patch32(path, off, (uint32_t)v));
	} else {
		ASSERT_EQ(0, truncate(path, off));
	}
	if (off2) {
		ASSERT_EQ(0, patch32(path, off2, v2));
	}
	EXPECT_EQ(-EINVAL, open_and_read(path, err, sizeof(err)));
	TH_LOG("%s: %s", name, err);
}

/* The backing name's offset wraps around with its length. */
TEST(crafted_backing_name_offset_is_refused)
{
	expect_refused(_metadata, "wrap", 8, 8, ~0ULL - 15, 16, 32);
}

/* A size near 2^64: the table sizes computed from it wrap to 0. */
TEST(crafted_size_near_2_64_is_refused)
{
	expect_refused(_metadata, "huge", 24, 8, ~0ULL - 4095, 0, 0);
}

/* A size larger than the L1 table covers. */
TEST(crafted_size_beyond_the_l1_table_is_refused)
{
	expect_refused(_metadata, "big", 24, 8, 1ULL << 40, 0, 0);
}

/* A file cut short inside its header (the rest would be uninitialised). */
TEST(file_cut_inside_its_header_is_refused)
{
	expect_refused(_metadata, "short", 100, 0, 0, 0, 0);
}

/* A header length past the cluster and the file. */
TEST(crafted_header_length_is_refused)
{
	expect_refused(_metadata, "hlen", 100, 4, 70000, 0, 0);
}

/* An L1 table longer than the size needs: only what is needed is read. */
TEST(oversized_l1_table_costs_nothing)
{
	char err[256];

	ASSERT_EQ(0, sh("rm -rf " DIR " && mkdir -p " DIR));
	ASSERT_EQ(0, small_image(DIR "/l1.qcow2", NULL, NULL));
	ASSERT_EQ(0, patch32(DIR "/l1.qcow2", 36, 0xffffffffU));
	EXPECT_EQ(0, open_and_read(DIR "/l1.qcow2", err, sizeof(err))) TH_LOG("%s", err);
}

/*
 * A backing file name is a file beside the image: not an absolute path,
 * not "..", not through a symlink, not a FIFO (which would block) or a
 * device.  Restore runs as root: a crafted backup must not make it copy
 * /etc/passwd into its output.
 */
TEST(backing_names_stay_beside_the_image)
{
	static const char *const evil[] = {
		"/etc/passwd", "../escape.raw", "sub/x.raw", "link.raw", "fifo.raw", "null",
		"/dev/null",
	};
	/* Not a bare name: -EXDEV; a bare name that is no regular file: -EACCES. */
	static const int why[] = { -EXDEV, -EXDEV, -EXDEV, -EACCES, -EACCES, -EACCES, -EXDEV };
	struct qcow2_image *img;
	char err[256], path[64];
	unsigned int i;

	ASSERT_EQ(0, sh("rm -rf " DIR " && mkdir -p " DIR "/in/sub && cd " DIR " && "
			"head -c 1048576 /dev/zero > in/base.raw && cp in/base.raw escape.raw && "
			"cp in/base.raw in/sub/x.raw && ln -s /etc/passwd in/link.raw && "
			"mkfifo in/fifo.raw && ln -s /dev/null in/null"));
	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		snprintf(path, sizeof(path), DIR "/in/evil%u.qcow2", i);
		ASSERT_EQ(0, small_image(path, evil[i], "raw"));
		EXPECT_EQ(why[i], qcow2_open(&img, path, NULL, 0, err, sizeof(err)))
			TH_LOG("backing %s: %s", evil[i], err);
		EXPECT_NE(NULL, strstr(err, "backing")) TH_LOG("%s", err);
	}
	/* Beside it, it reads; allowed elsewhere, regular files only. */
	ASSERT_EQ(0, small_image(DIR "/in/good.qcow2", "base.raw", "raw"));
	EXPECT_EQ(0, open_and_read(DIR "/in/good.qcow2", err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(0, qcow2_open(&img, DIR "/in/evil1.qcow2", NULL, QCOW2_ANY_BACKING, err,
				sizeof(err))) TH_LOG("%s", err);
	qcow2_close(img);
	EXPECT_EQ(0, qcow2_open(&img, DIR "/in/evil2.qcow2", NULL, QCOW2_ANY_BACKING, err,
				sizeof(err))) TH_LOG("%s", err);
	qcow2_close(img);
	EXPECT_EQ(-EACCES, qcow2_open(&img, DIR "/in/evil3.qcow2", NULL, QCOW2_ANY_BACKING, err,
				      sizeof(err)));
	EXPECT_EQ(-EACCES, qcow2_open(&img, DIR "/in/evil4.qcow2", NULL, QCOW2_ANY_BACKING, err,
				      sizeof(err)));
	EXPECT_EQ(-EACCES, qcow2_open(&img, DIR "/in/evil5.qcow2", NULL, QCOW2_ANY_BACKING, err,
				      sizeof(err)));
	EXPECT_EQ(-EACCES, qcow2_open(&img, DIR "/in/evil6.qcow2", NULL, QCOW2_ANY_BACKING, err,
				      sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a regular file")) TH_LOG("%s", err);
	/* The CLI says so (exit 1), and writes nothing. */
	EXPECT_EQ(1 << 8, sh("build/dirtybit restore " DIR "/in/evil0.qcow2 -o " DIR "/out.raw "
			     "2>" DIR "/err.txt"));
	EXPECT_EQ(0, sh("grep -q 'backing' " DIR "/err.txt"));
	EXPECT_NE(0, sh("grep -qs root " DIR "/out.raw"));
	EXPECT_EQ(0, sh("build/dirtybit restore --allow-backing-outside " DIR "/in/evil1.qcow2 "
			"-o " DIR "/out.raw"));
}

/*
 * restore never writes an image of the chain it reads (by inode: a hard
 * link is caught too); the image stays as it was.
 */
TEST(restore_never_writes_an_image_of_its_chain)
{
	ASSERT_EQ(0, sh("rm -rf " DIR " && mkdir -p " DIR));
	ASSERT_EQ(0, small_image(DIR "/full.qcow2", NULL, NULL));
	ASSERT_EQ(0, small_image(DIR "/inc.qcow2", "full.qcow2", "qcow2"));
	ASSERT_EQ(0, sh("cd " DIR " && ln full.qcow2 link.qcow2 && md5sum full.qcow2 > sum"));
	EXPECT_EQ(1 << 8, sh("build/dirtybit restore " DIR "/inc.qcow2 -o " DIR "/full.qcow2 "
			     "2>" DIR "/err.txt"));
	EXPECT_EQ(0, sh("grep -q 'an image of the chain' " DIR "/err.txt"));
	EXPECT_EQ(1 << 8, sh("build/dirtybit restore " DIR "/inc.qcow2 -o " DIR "/link.qcow2 "
			     "2>/dev/null"));
	EXPECT_EQ(1 << 8, sh("build/dirtybit restore " DIR "/inc.qcow2 -o " DIR "/inc.qcow2 "
			     "2>/dev/null"));
	EXPECT_EQ(0, sh("cd " DIR " && md5sum -c --quiet sum"));
	EXPECT_EQ(0, sh("build/dirtybit restore " DIR "/inc.qcow2 -o " DIR "/out.raw"));
}

TEST_HARNESS_MAIN
