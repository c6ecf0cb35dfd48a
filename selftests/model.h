/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the block tests share: a model bitmap kept by the test and compared
 * with the module's extents granule by granule, and the ways they write.
 */
#ifndef _DIRTYBIT_SELFTEST_MODEL_H
#define _DIRTYBIT_SELFTEST_MODEL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#include "db.h"

#define MiB (1024 * 1024ULL)
#define KiB 1024ULL
/* ---- model ---------------------------------------------------------------- */

struct model {
	uint64_t size;
	uint32_t gran;
	unsigned char *bit;
};

static inline void model_init(struct model *m, uint64_t size, uint32_t gran)
{
	m->size = size;
	m->gran = gran;
	m->bit = calloc((size + gran - 1) / gran, 1);
}

static inline void model_mark(struct model *m, uint64_t off, uint64_t len)
{
	uint64_t g;

	for (g = off / m->gran; g <= (off + len - 1) / m->gran; g++)
		m->bit[g] = 1;
}

static inline void model_clear(struct model *m)
{
	memset(m->bit, 0, (m->size + m->gran - 1) / m->gran);
}

static inline uint64_t model_count(const struct model *m)
{
	uint64_t g, n = 0, ng = (m->size + m->gran - 1) / m->gran;

	for (g = 0; g < ng; g++)
		if (m->bit[g])
			n += g == ng - 1 ? m->size - g * m->gran : m->gran;
	return n;
}

/* Compares a bitmap's extents with the model; a reason, or NULL. */
static inline const char *model_compare(struct db *db, const char *path, const char *name,
				 const struct model *m)
{
	static char why[512];
	uint64_t g, ng = (m->size + m->gran - 1) / m->gran;
	static struct db_extent ext[65536];
	unsigned char *seen = calloc(ng, 1);
	long i, n;

	n = db_extents(db, path, name, ext, 65536, NULL);
	if (n < 0) {
		snprintf(why, sizeof(why), "extents: %s (%s)", strerror(-n), db->nl.extack);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (ext[i].start % m->gran || !ext[i].length ||
		    (i && ext[i].start <= ext[i - 1].start + ext[i - 1].length)) {
			snprintf(why, sizeof(why), "extent %ld (%llu+%llu) unaligned or not coalesced",
				 i, (unsigned long long)ext[i].start,
				 (unsigned long long)ext[i].length);
			goto out;
		}
		for (g = ext[i].start / m->gran; g <= (ext[i].start + ext[i].length - 1) / m->gran; g++)
			seen[g] = 1;
	}
	for (g = 0; g < ng; g++) {
		if (seen[g] != m->bit[g]) {
			snprintf(why, sizeof(why), "granule %llu (offset %llu): bitmap %d, model %d",
				 (unsigned long long)g, (unsigned long long)(g * m->gran),
				 seen[g], m->bit[g]);
			goto out;
		}
	}
	free(seen);
	return NULL;
out:
	free(seen);
	return why;
}

/* ---- I/O ---------------------------------------------------------------- */

/*
 * Writes @len bytes of @byte at @off: with O_DIRECT in @oflags straight to
 * the device, else through the page cache and fsync()ed (whole 4 KiB pages
 * reach the disk).
 */
static inline int write_at(const char *path, uint64_t off, uint64_t len, int byte, int oflags)
{
	void *buf;
	int fd, ret = 0;

	if (posix_memalign(&buf, 4096, len))
		return -ENOMEM;
	memset(buf, byte, len);
	fd = open(path, O_WRONLY | oflags);
	if (fd < 0 || pwrite(fd, buf, len, off) != (ssize_t)len ||
	    (!(oflags & O_DIRECT) && fsync(fd)))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static inline int write_direct(const char *path, uint64_t off, uint64_t len, int byte)
{
	return write_at(path, off, len, byte, O_DIRECT);
}

static inline int write_buffered(const char *path, uint64_t off, uint64_t len, int byte)
{
	return write_at(path, off, len, byte, 0);
}

static inline int blk_ioctl_range(const char *path, unsigned long req, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };
	int fd = open(path, O_WRONLY), ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, req, range) ? -errno : 0;
	close(fd);
	return ret;
}

static inline int read_all(const char *path)
{
	char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	fsync(fd);
	close(fd);
	return n < 0 ? -errno : 0;
}

static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * @n random writes to @path within [0, @size): O_DIRECT, buffered + fsync
 * (whole 4 KiB pages reach the disk), BLKZEROOUT and, if @discard,
 * BLKDISCARD; each marked in every model at @shift (the device's offset in
 * the models' space).
 */
static inline int random_writes(const char *path, uint64_t size, uint64_t seed, int n,
				struct model *m, int nm, uint64_t shift, int discard)
{
	int i, k, ret;

	for (i = 0; i < n; i++) {
		uint64_t len = (rnd(&seed) % 512 + 1) * 512;
		uint64_t off = rnd(&seed) % ((size - len) / 512) * 512;
		int how = rnd(&seed) % 4;

		if (how == 0) {
			ret = write_buffered(path, off, len, i);
			len = (off + len + 4095) / 4096 * 4096 - off / 4096 * 4096;
			off = off / 4096 * 4096;
		} else if (how == 1) {
			ret = blk_ioctl_range(path, discard && rnd(&seed) % 2 ?
					      BLKDISCARD : BLKZEROOUT, off, len);
		} else {
			ret = write_direct(path, off, len, i);
		}
		if (ret)
			return ret;
		for (k = 0; k < nm; k++)
			model_mark(&m[k], shift + off, len);
	}
	return 0;
}

#endif /* _DIRTYBIT_SELFTEST_MODEL_H */
