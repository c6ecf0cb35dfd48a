// SPDX-License-Identifier: GPL-2.0
/*
 * qcow2 v3 for backups (see qcow2.h).
 *
 * The writer's layout: cluster 0 holds the header, its extensions and the
 * backing file name; the L1 table follows; then data clusters in the order
 * they are written; then, at qcow2_finish(), the L2 tables, the refcount
 * blocks and the refcount table.  Every cluster up to the end of the file
 * is in use once, so every refcount is 1 and every L1/L2 entry is COPIED.
 * The header is written last: an interrupted backup is not a qcow2 file.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../common/fileio.h"
#include "../common/util.h"
#include "qcow2.h"

#define QCOW2_MAGIC		0x514649fbU	/* "QFI\xfb" */
#define QCOW2_HEADER_V3		104
#define QCOW2_EXT_END		0
#define QCOW2_EXT_BACKING_FMT	0xe2792acaU
#define QCOW2_EXT_DATA_FILE	0x44415441U
#define QCOW2_OFLAG_COPIED	(1ULL << 63)
#define QCOW2_OFLAG_COMPRESSED	(1ULL << 62)
#define QCOW2_OFLAG_ZERO	1ULL
#define QCOW2_OFFSET_MASK	0x00fffffffffffe00ULL
#define QCOW2_REFCOUNT_ORDER	4		/* 16-bit refcounts */

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* ---- writing ------------------------------------------------------------ */

int qcow2_create(struct qcow2_writer *w, int fd, uint64_t size, unsigned int cluster_bits,
		 const char *backing, const char *backing_fmt, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	if (cluster_bits < QCOW2_MIN_CLUSTER_BITS || cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return errf(err, errlen, -EINVAL, "cluster size must be 4 KiB to 2 MiB");
	if (!size || size > (1ULL << 50))
		return errf(err, errlen, -EINVAL, "size %llu out of range",
			    (unsigned long long)size);
	if (backing && strlen(backing) > QCOW2_NAME_MAX)
		return errf(err, errlen, -ENAMETOOLONG, "backing file name too long");
	if (backing && strcmp(backing_fmt, "raw") && strcmp(backing_fmt, "qcow2"))
		return errf(err, errlen, -EINVAL, "backing format must be raw or qcow2");
	w->fd = fd;
	w->data_fd = fd;
	w->size = size;
	w->cluster_bits = cluster_bits;
	w->cluster = 1ULL << cluster_bits;
	w->nclusters = div_up(size, w->cluster);
	w->l1_entries = div_up(w->nclusters, w->cluster / 8);
	w->l1_offset = w->cluster;
	w->next = w->l1_offset + div_up(w->l1_entries * 8, w->cluster) * w->cluster;
	w->l2 = calloc(w->nclusters, sizeof(*w->l2));
	if (!w->l2)
		return errf(err, errlen, -ENOMEM, "out of memory for %llu clusters",
			    (unsigned long long)w->nclusters);
	pthread_mutex_init(&w->lock, NULL);
	if (backing) {
		strcpy(w->backing, backing);
		strcpy(w->backing_fmt, backing_fmt);
	}
	if (ftruncate(fd, 0))
		return errf(err, errlen, -errno, "truncating: %s", strerror(errno));
	return 0;
}

void qcow2_data_fd(struct qcow2_writer *w, int fd)
{
	w->data_fd = fd;
}

void qcow2_reserve(struct qcow2_writer *w, uint64_t bytes)
{
	uint64_t from;

	pthread_mutex_lock(&w->lock);
	from = w->next;
	pthread_mutex_unlock(&w->lock);
	/* A hint: a file system without it allocates as the writes come. */
	if (bytes)
		(void)fallocate(w->fd, 0, (off_t)from, (off_t)bytes);
}

int qcow2_write_list(struct qcow2_writer *w, const uint64_t *gcs, uint64_t n, const void *buf,
		     char *err, size_t errlen)
{
	return qcow2_write_list_io(w, gcs, n, buf, NULL, NULL, err, errlen);
}

int qcow2_write_list_io(struct qcow2_writer *w, const uint64_t *gcs, uint64_t n, const void *buf,
			qcow2_pwrite_fn pw, void *arg, char *err, size_t errlen)
{
	const unsigned char *p = buf;
	uint64_t *off, i, run;
	int ret = 0;

	off = malloc(n * sizeof(*off));
	if (!off)
		return errf(err, errlen, -ENOMEM, "out of memory");
	/*
	 * A cluster written before (a later pass) is overwritten where it is;
	 * new ones are placed one after another, whatever their guest order.
	 */
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < n; i++) {
		off[i] = w->l2[gcs[i]] & QCOW2_OFFSET_MASK;
		if (off[i])
			continue;
		off[i] = w->next;
		w->next += w->cluster;
		w->l2[gcs[i]] = off[i] | QCOW2_OFLAG_COPIED;
	}
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < n && !ret; i += run) {
		for (run = 1; i + run < n && off[i + run] == off[i] + run * w->cluster;)
			run++;
		ret = pw ? pw(arg, w->data_fd, p + i * w->cluster, run * w->cluster, off[i]) :
			   pwrite_all(w->data_fd, p + i * w->cluster, run * w->cluster, off[i]);
		if (ret)
			errf(err, errlen, ret, "writing %llu clusters from %llu: %s",
			     (unsigned long long)run, (unsigned long long)gcs[i], strerror(-ret));
	}
	free(off);
	return ret;
}

/* Whether guest cluster @gc has data in the image being written. */
bool qcow2_allocated(struct qcow2_writer *w, uint64_t gc)
{
	bool ret;

	pthread_mutex_lock(&w->lock);
	ret = w->l2[gc] & QCOW2_OFFSET_MASK;
	pthread_mutex_unlock(&w->lock);
	return ret;
}

int qcow2_write_cluster(struct qcow2_writer *w, uint64_t gc, const void *buf,
			char *err, size_t errlen)
{
	return qcow2_write_list(w, &gc, 1, buf, err, errlen);
}

void qcow2_zero_cluster(struct qcow2_writer *w, uint64_t gc)
{
	pthread_mutex_lock(&w->lock);
	w->l2[gc] = QCOW2_OFLAG_ZERO;
	pthread_mutex_unlock(&w->lock);
}

/*
 * Writes metadata but for its trailing zero pages: that part of the file
 * was never written (new, or reserved by qcow2_reserve()), and
 * qcow2_finish() extends the file over its last cluster, so they read as
 * zeros anyway (an incremental's refcount block, L1 and header are mostly
 * zeros, and every page written costs).  Through the O_DIRECT descriptor
 * if there is one (@buf page-aligned, @len in pages): no page cache to
 * fill and write back at the fsync; through the other if it refuses.
 */
static int pwrite_meta(struct qcow2_writer *w, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;
	size_t keep = len;
	int ret;

	while (keep) {
		size_t page = (keep - 1) / 4096 * 4096;

		if (!mem_is_zero(p + page, keep - page))
			break;
		keep = page;
	}
	if (!keep)
		return 0;
	ret = pwrite_all(w->data_fd, buf, keep, off);
	if (ret == -EINVAL && w->data_fd != w->fd)
		ret = pwrite_all(w->fd, buf, keep, off);
	return ret;
}

/*
 * A metadata buffer: page-aligned, so it can go through the O_DIRECT
 * descriptor too, and its contents undefined (the callers fill what they
 * write; clearing what is never written costs).
 */
static void *meta_alloc(size_t len)
{
	void *p;

	return posix_memalign(&p, 4096, len) ? NULL : p;
}

static size_t page_up(uint64_t bytes)
{
	return (size_t)((bytes + 4095) / 4096 * 4096);
}

/*
 * Big-endian copies of @n host-order entries, written at @off; the rest of
 * their last page zeros, and nothing past it (see pwrite_meta()).
 */
static int write_be64s(struct qcow2_writer *w, const uint64_t *v, uint64_t n, uint64_t off)
{
	size_t bytes = page_up(n * 8);
	uint64_t *be = meta_alloc(bytes), i;
	int ret;

	if (!be)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		be[i] = htobe64(v[i]);
	memset(be + n, 0, bytes - n * 8);
	ret = pwrite_meta(w, be, bytes, off);
	free(be);
	return ret;
}

static int write_header(struct qcow2_writer *w, uint64_t rt_offset, uint64_t rt_clusters)
{
	unsigned char *h = meta_alloc(4096);	/* all of it fits: see qcow2_create() */
	size_t pos = QCOW2_HEADER_V3, flen = strlen(w->backing_fmt);
	uint64_t v64;
	uint32_t v32;
	int ret;

	if (!h)
		return -ENOMEM;
	memset(h, 0, 4096);
#define PUT32(o, v) (v32 = htobe32(v), memcpy(h + (o), &v32, 4))
#define PUT64(o, v) (v64 = htobe64(v), memcpy(h + (o), &v64, 8))
	PUT32(0, QCOW2_MAGIC);
	PUT32(4, 3);
	PUT32(20, w->cluster_bits);
	PUT64(24, w->size);
	PUT32(36, (uint32_t)w->l1_entries);
	PUT64(40, w->l1_offset);
	PUT64(48, rt_offset);
	PUT32(56, (uint32_t)rt_clusters);
	PUT32(96, QCOW2_REFCOUNT_ORDER);
	PUT32(100, QCOW2_HEADER_V3);
	if (w->backing[0]) {
		PUT32(pos, QCOW2_EXT_BACKING_FMT);
		PUT32(pos + 4, (uint32_t)flen);
		memcpy(h + pos + 8, w->backing_fmt, flen);
		pos += 8 + (flen + 7) / 8 * 8;
	}
	PUT32(pos, QCOW2_EXT_END);
	PUT32(pos + 4, 0);
	pos += 8;
	if (w->backing[0]) {
		PUT64(8, pos);
		PUT32(16, (uint32_t)strlen(w->backing));
		memcpy(h + pos, w->backing, strlen(w->backing));
	}
#undef PUT32
#undef PUT64
	ret = pwrite_meta(w, h, 4096, 0);
	free(h);
	return ret;
}

int qcow2_finish(struct qcow2_writer *w, char *err, size_t errlen)
{
	uint64_t per_l2 = w->cluster / 8, per_rb = w->cluster / 2;
	uint64_t *l1 = calloc(w->l1_entries, 8), i, j, n, rb = 0, rt = 0, rb_off, rt_off;
	uint64_t *table = NULL;
	uint16_t *block = NULL;
	int ret = 0;

	if (!l1)
		return errf(err, errlen, -ENOMEM, "out of memory");
	/* L2 tables for every L1 entry that maps anything. */
	for (i = 0; i < w->l1_entries && !ret; i++) {
		uint64_t first = i * per_l2, cnt = w->nclusters - first < per_l2 ?
						    w->nclusters - first : per_l2;

		for (j = 0; j < cnt && !w->l2[first + j]; j++)
			;
		if (j == cnt)
			continue;
		ret = write_be64s(w, w->l2 + first, cnt, w->next);
		l1[i] = w->next | QCOW2_OFLAG_COPIED;
		w->next += w->cluster;
	}
	/* Refcount blocks and table cover every cluster, themselves too. */
	do {
		n = w->next / w->cluster + rb + rt;
		i = rb;
		j = rt;
		rb = div_up(n, per_rb);
		rt = div_up(rb * 8, w->cluster);
	} while (rb != i || rt != j);
	rb_off = w->next;
	rt_off = rb_off + rb * w->cluster;
	n = rt_off / w->cluster + rt;
	block = meta_alloc(w->cluster);
	table = malloc(rb * 8);
	if (!ret && (!block || !table))
		ret = -ENOMEM;
	/*
	 * Each block's refcounts of 1, then zeros to the end of their page;
	 * the rest of the cluster is never written (zeros, see pwrite_meta()).
	 */
	for (i = 0; i < rb && !ret; i++) {
		uint64_t ones = n - i * per_rb < per_rb ? n - i * per_rb : per_rb;
		size_t bytes = page_up(ones * 2);

		for (j = 0; j < ones; j++)
			block[j] = htobe16(1);
		memset(block + ones, 0, bytes - ones * 2);
		ret = pwrite_meta(w, block, bytes, rb_off + i * w->cluster);
		table[i] = rb_off + i * w->cluster;
	}
	if (!ret)
		ret = write_be64s(w, table, rb, rt_off);
	if (!ret)
		ret = write_be64s(w, l1, w->l1_entries, w->l1_offset);
	/*
	 * The file spans its last cluster, whatever pwrite_meta() skipped, and
	 * no further: a reservation past it is cut off.
	 */
	if (!ret && ftruncate(w->fd, (off_t)(rt_off + rt * w->cluster)))
		ret = -errno;
	/* Only now is it a qcow2 file.  No sync before the header: the file
	 * is OUTPUT.partial until the caller renames it after the fsync below.
	 */
	if (!ret)
		ret = write_header(w, rt_off, rt);
	if (!ret && fsync(w->fd))
		ret = -errno;
	free(block);
	free(table);
	free(l1);
	if (ret)
		return errf(err, errlen, ret, "writing the qcow2 metadata: %s", strerror(-ret));
	return 0;
}

void qcow2_writer_free(struct qcow2_writer *w)
{
	if (w->l2)
		pthread_mutex_destroy(&w->lock);
	free(w->l2);
	w->l2 = NULL;
}

/* ---- reading ------------------------------------------------------------ */

static int open_one(struct qcow2_image **out, const char *path, const char *fmt,
		    unsigned int flags, int depth, char *err, size_t errlen);

static uint32_t be32_at(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t be64_at(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

/*
 * Where @img's backing file @name is.  A bare name is the file beside
 * @img (what our writer and QEMU record for a chain in one directory);
 * anything else (an absolute path, a "/" in it, "." or "..") could point
 * anywhere a root restore can read, so it needs QCOW2_ANY_BACKING, and is
 * then relative to @img's directory.
 */
static int backing_path(char *out, size_t n, const struct qcow2_image *img, const char *name,
			unsigned int flags, char *err, size_t errlen)
{
	bool bare = !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
	char *copy;
	int len;

	if (!bare && !(flags & QCOW2_ANY_BACKING))
		return errf(err, errlen, -EXDEV,
			    "%s: backing file \"%s\" is not a file beside the image", img->path,
			    name);
	if (name[0] == '/') {
		len = snprintf(out, n, "%s", name);
	} else {
		copy = strdup(img->path);
		if (!copy)
			return errf(err, errlen, -ENOMEM, "out of memory");
		len = snprintf(out, n, "%s/%s", dirname(copy), name);
		free(copy);
	}
	if (len < 0 || (size_t)len >= n)
		return errf(err, errlen, -ENAMETOOLONG, "%s: backing file name too long",
			    img->path);
	return 0;
}

/*
 * The header (at most its first 4 KiB, zeros past a short file), checked
 * field by field before anything indexes with it: every offset and length
 * from the file is bounded by the file, and no sum of two can wrap.
 */
static int parse_qcow2(struct qcow2_image *img, unsigned int flags, int depth, char *err,
		       size_t errlen)
{
	unsigned char h[4096];
	char fmt[16] = "", name[QCOW2_NAME_MAX + 1], bpath[sizeof(img->path)];
	uint64_t bf_off, ext, file_size, csize, need, have;
	uint32_t hlen, bf_len, version, type, len;
	struct stat st;
	int ret;

	if (fstat(img->fd, &st))
		return errf(err, errlen, -errno, "%s: %s", img->path, strerror(errno));
	file_size = (uint64_t)st.st_size;
	have = file_size < sizeof(h) ? file_size : sizeof(h);
	memset(h, 0, sizeof(h));
	if (file_size < 72 || pread_all(img->fd, h, have, 0))
		return errf(err, errlen, -EINVAL, "%s: too short for a qcow2 header", img->path);
	if (be32_at(h) != QCOW2_MAGIC)
		return errf(err, errlen, -EINVAL, "%s: not a qcow2 image", img->path);
	version = be32_at(h + 4);
	if (version != 2 && version != 3)
		return errf(err, errlen, -EINVAL, "%s: qcow2 version %u", img->path, version);
	img->cluster_bits = be32_at(h + 20);
	if (img->cluster_bits < 9 || img->cluster_bits > 21)
		return errf(err, errlen, -EINVAL, "%s: cluster bits %u", img->path,
			    img->cluster_bits);
	csize = 1ULL << img->cluster_bits;
	hlen = version >= 3 ? be32_at(h + 100) : 72;
	if (hlen < (version >= 3 ? QCOW2_HEADER_V3 : 72) || hlen > have || hlen > csize)
		return errf(err, errlen, -EINVAL, "%s: header length %u (file %llu bytes)",
			    img->path, hlen, (unsigned long long)file_size);
	if (be32_at(h + 32))
		return errf(err, errlen, -EINVAL, "%s: encrypted images are not supported",
			    img->path);
	if (version >= 3 && (be64_at(h + 72) & ~1ULL))
		return errf(err, errlen, -EINVAL,
			    "%s: incompatible features 0x%llx are not supported", img->path,
			    (unsigned long long)be64_at(h + 72));
	if (version >= 3 && (be64_at(h + 72) & 1))
		return errf(err, errlen, -EINVAL, "%s: the image is dirty (not closed cleanly)",
			    img->path);
	img->size = be64_at(h + 24);
	if (img->size > QCOW2_MAX_SIZE)
		return errf(err, errlen, -EINVAL, "%s: size %llu is larger than %llu", img->path,
			    (unsigned long long)img->size, QCOW2_MAX_SIZE);
	/* No wrap: size < 2^57, so every step below stays far from 2^64. */
	need = div_up(div_up(img->size, csize), csize / 8);
	/* Entries past @need are never read: an L1 costs no memory, however long. */
	img->l1_entries = be32_at(h + 36);
	img->l1_offset = be64_at(h + 40);
	img->l1_cached = ~0ULL;
	if (img->l1_entries < need || img->l1_offset % csize || img->l1_offset > file_size ||
	    need * 8 > file_size - img->l1_offset)
		return errf(err, errlen, -EINVAL, "%s: bad L1 table", img->path);
	/* Header extensions (v3): backing format; refuse an external data file. */
	for (ext = version >= 3 ? hlen : 72; ext + 8 <= have; ext += 8 + (len + 7ULL) / 8 * 8) {
		type = be32_at(h + ext);
		len = be32_at(h + ext + 4);
		if (type == QCOW2_EXT_END)
			break;
		if (len > have - ext - 8)
			return errf(err, errlen, -EINVAL, "%s: bad header extension", img->path);
		if (type == QCOW2_EXT_DATA_FILE)
			return errf(err, errlen, -EINVAL,
				    "%s: external data files are not supported",
				    img->path);
		if (type == QCOW2_EXT_BACKING_FMT && len < sizeof(fmt))
			snprintf(fmt, sizeof(fmt), "%.*s", (int)len, (const char *)h + ext + 8);
	}
	bf_off = be64_at(h + 8);
	bf_len = be32_at(h + 16);
	if (!bf_off)
		return 0;
	if (bf_len == 0 || bf_len > QCOW2_NAME_MAX || bf_off > have || bf_len > have - bf_off ||
	    memchr(h + bf_off, 0, bf_len))
		return errf(err, errlen, -EINVAL, "%s: bad backing file name", img->path);
	memcpy(name, h + bf_off, bf_len);
	name[bf_len] = 0;
	ret = backing_path(bpath, sizeof(bpath), img, name, flags, err, errlen);
	if (ret)
		return ret;
	return open_one(&img->backing, bpath, fmt[0] ? fmt : NULL, flags, depth + 1, err,
			errlen);
}

/*
 * One image of a chain: @depth 0 is the one the user named (a path of
 * theirs, symlinks followed); deeper ones are backing files, opened without
 * following a symlink.  Either must be a regular file, opened without
 * blocking (a FIFO would hang a restore).
 */
static int open_one(struct qcow2_image **out, const char *path, const char *fmt,
		    unsigned int flags, int depth, char *err, size_t errlen)
{
	struct qcow2_image *img;
	uint32_t magic = 0;
	struct stat st;
	int ret;

	*out = NULL;
	if (depth >= QCOW2_MAX_CHAIN)
		return errf(err, errlen, -ELOOP, "backing chain deeper than %d (a loop?)",
			    QCOW2_MAX_CHAIN);
	img = calloc(1, sizeof(*img));
	if (!img)
		return errf(err, errlen, -ENOMEM, "out of memory");
	snprintf(img->path, sizeof(img->path), "%s", path);
	img->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (depth ? O_NOFOLLOW : 0));
	if (img->fd < 0) {
		ret = -errno;
		if (depth && ret == -ELOOP)
			ret = errf(err, errlen, -EACCES, "backing file %s is a symlink", path);
		else
			ret = errf(err, errlen, ret, "%s%s: %s", depth ? "backing file " : "",
				   path, strerror(-ret));
		free(img);
		return ret;
	}
	*out = img;
	if (fstat(img->fd, &st))
		return errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return errf(err, errlen, depth ? -EACCES : -EINVAL, "%s%s is not a regular file",
			    depth ? "backing file " : "", path);
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	if (fmt && strcmp(fmt, "raw") && strcmp(fmt, "qcow2"))
		return errf(err, errlen, -EINVAL, "%s: format %s is not supported", path, fmt);
	if (!fmt && pread(img->fd, &magic, 4, 0) == 4 && be32toh(magic) == QCOW2_MAGIC)
		fmt = "qcow2";
	if (!fmt || !strcmp(fmt, "raw")) {
		img->raw = true;
		img->size = (uint64_t)st.st_size;
		return 0;
	}
	return parse_qcow2(img, flags, depth, err, errlen);
}

int qcow2_open(struct qcow2_image **img, const char *path, const char *fmt, unsigned int flags,
	       char *err, size_t errlen)
{
	int ret = open_one(img, path, fmt, flags, 0, err, errlen);

	if (ret) {
		qcow2_close(*img);
		*img = NULL;
	}
	return ret;
}

unsigned int qcow2_chain_length(const struct qcow2_image *img)
{
	unsigned int n = 0;

	for (; img; img = img->backing)
		n++;
	return n;
}

const struct qcow2_image *qcow2_chain_find(const struct qcow2_image *img,
					   const struct stat *st)
{
	for (; img; img = img->backing)
		if (img->dev == st->st_dev && img->ino == st->st_ino)
			return img;
	return NULL;
}

/* Reads within one cluster of @img: [off, off + len). */
static int read_piece(struct qcow2_image *img, uint64_t off, void *buf, size_t len,
		      char *err, size_t errlen)
{
	uint64_t csize = 1ULL << img->cluster_bits, gc = off >> img->cluster_bits;
	uint64_t l2_off, entry, host;
	int ret;

	if (off >= img->size) {
		memset(buf, 0, len);
		return 0;
	}
	if (off + len > img->size) {		/* past the end reads zeros */
		memset((char *)buf + (img->size - off), 0, off + len - img->size);
		len = (size_t)(img->size - off);
	}
	if (img->raw) {
		ret = pread_all(img->fd, buf, len, off);
		return ret ? errf(err, errlen, ret, "%s: reading at %llu", img->path,
				  (unsigned long long)off) : 0;
	}
	/* gc < size / csize, so the index is below @need, inside the file. */
	if (img->l1_cached != gc / (csize / 8)) {
		ret = pread_all(img->fd, &img->l1_value, 8, img->l1_offset + gc / (csize / 8) * 8);
		if (ret)
			return errf(err, errlen, ret, "%s: reading the L1 table", img->path);
		img->l1_value = be64toh(img->l1_value);
		img->l1_cached = gc / (csize / 8);
	}
	l2_off = img->l1_value & QCOW2_OFFSET_MASK;
	entry = 0;
	if (l2_off) {
		ret = pread_all(img->fd, &entry, 8, l2_off + (gc % (csize / 8)) * 8);
		if (ret)
			return errf(err, errlen, ret, "%s: reading an L2 table", img->path);
		entry = be64toh(entry);
	}
	if (entry & QCOW2_OFLAG_COMPRESSED)
		return errf(err, errlen, -EINVAL, "%s: compressed clusters are not supported",
			    img->path);
	if (entry & QCOW2_OFLAG_ZERO) {
		memset(buf, 0, len);
		return 0;
	}
	host = entry & QCOW2_OFFSET_MASK;
	if (!host) {
		if (img->backing)
			return qcow2_read(img->backing, off, buf, len, err, errlen);
		memset(buf, 0, len);
		return 0;
	}
	ret = pread_all(img->fd, buf, len, host + (off & (csize - 1)));
	return ret ? errf(err, errlen, ret, "%s: reading cluster %llu", img->path,
			  (unsigned long long)gc) : 0;
}

int qcow2_read(struct qcow2_image *img, uint64_t off, void *buf, size_t len, char *err,
	       size_t errlen)
{
	uint64_t csize = img->raw ? 1ULL << 20 : 1ULL << img->cluster_bits;

	while (len) {
		size_t n = (size_t)(csize - (off & (csize - 1)));
		int ret;

		if (n > len)
			n = len;
		ret = read_piece(img, off, buf, n, err, errlen);
		if (ret)
			return ret;
		buf = (char *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

void qcow2_close(struct qcow2_image *img)
{
	while (img) {
		struct qcow2_image *next = img->backing;

		if (img->fd >= 0)
			close(img->fd);
		free(img);
		img = next;
	}
}
