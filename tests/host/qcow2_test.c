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

static int is_zero(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/*
 * A backup of @dev: every cluster (full) or those in @dirty, each written
 * or, if zero, unallocated (full) or a zero cluster (incremental).
 */
static int backup(const char *out, int dev, uint64_t size, unsigned int bits,
		  const unsigned char *dirty, const char *backing, const char *fmt)
{
	static unsigned char buf[1 << 21];
	struct qcow2_writer w;
	uint64_t cluster = 1ULL << bits, c, n = (size + cluster - 1) / cluster;
	char err[256];
	int fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644), ret;

	if (fd < 0)
		return -errno;
	ret = qcow2_create(&w, fd, size, bits, backing, fmt, err, sizeof(err));
	for (c = 0; !ret && c < n; c++) {
		uint64_t len = (c + 1) * cluster > size ? size - c * cluster : cluster;

		if (dirty && !dirty[c])
			continue;
		memset(buf, 0, cluster);
		if (pread(dev, buf, len, (off_t)(c * cluster)) != (ssize_t)len)
			ret = -EIO;
		else if (!is_zero(buf, cluster))
			ret = qcow2_write_cluster(&w, c, buf, err, sizeof(err));
		else if (dirty)
			qcow2_zero_cluster(&w, c);
	}
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

	if (qcow2_open(&img, top, NULL, err, sizeof(err))) {
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

	ASSERT_EQ(0, sh("rm -rf " DIR " && mkdir -p " DIR));
	dev = open(DIR "/dev.raw", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, ftruncate(dev, (off_t)size));
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

TEST(raw_backing_file)
{
	static unsigned char dirty[4096];
	int dev;

	ASSERT_EQ(0, sh("rm -rf " DIR " && mkdir -p " DIR));
	dev = open(DIR "/dev.raw", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, ftruncate(dev, 8 << 20));
	scribble(dev, 8 << 20, 65536, 50, dirty);
	ASSERT_EQ(0, sh("cp " DIR "/dev.raw " DIR "/base.raw"));
	memset(dirty, 0, sizeof(dirty));
	scribble(dev, 8 << 20, 65536, 20, dirty);
	ASSERT_EQ(0, backup(DIR "/inc.qcow2", dev, 8 << 20, 16, dirty, "base.raw", "raw"));
	EXPECT_TRUE(qemu_agrees(DIR "/inc.qcow2", DIR "/dev.raw"));
	EXPECT_TRUE(reads_as(DIR "/inc.qcow2", dev, 8 << 20));
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
	EXPECT_EQ(0, qcow2_open(&img, DIR "/c.qcow2", NULL, err, sizeof(err))) TH_LOG("%s", err);
	qcow2_close(img);
	EXPECT_EQ(-EINVAL, qcow2_open(&img, DIR "/junk", "qcow2", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a qcow2 image"));
	if (!qcow2_open(&img, DIR "/comp.qcow2", NULL, err, sizeof(err))) {
		static unsigned char buf[65536];

		EXPECT_EQ(-EINVAL, qcow2_read(img, 0, buf, sizeof(buf), err, sizeof(err)));
		EXPECT_NE(NULL, strstr(err, "compressed"));
		qcow2_close(img);
	}
	if (!access(DIR "/loop.qcow2", F_OK)) {
		EXPECT_EQ(-ELOOP, qcow2_open(&img, DIR "/loop.qcow2", NULL, err, sizeof(err)));
	}
}

TEST_HARNESS_MAIN
