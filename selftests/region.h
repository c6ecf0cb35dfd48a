/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory regions from the selftests: the /dev/dirtybit ioctls that create
 * and open them, the region fd's own ioctls, and the dirty pages of a
 * region bitmap as a sorted list.
 */
#ifndef _DIRTYBIT_SELFTEST_REGION_H
#define _DIRTYBIT_SELFTEST_REGION_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/dirtybit.h>

#include "db.h"

#define PAGE		4096UL

/* One ioctl on /dev/dirtybit: 0 or -errno. */
static inline int region_ctl(unsigned long cmd, void *arg)
{
	int ctl = open("/dev/dirtybit", O_RDWR | O_CLOEXEC);
	int ret;

	if (ctl < 0)
		return -errno;
	ret = ioctl(ctl, cmd, arg) ? -errno : 0;
	close(ctl);
	return ret;
}

/* Creates a region; its fd, or -errno.  *id gets its target id. */
static inline int region_create(const char *name, unsigned long long bytes,
				unsigned int flags, unsigned int *id)
{
	struct dirtybit_ioc_region_create c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = flags;
	c.bytes = bytes;
	strncpy(c.name, name, sizeof(c.name) - 1);
	ret = region_ctl(DIRTYBIT_IOC_REGION_CREATE, &c);
	if (!ret && id)
		*id = c.target_id;
	return ret ? ret : c.fd;
}

/* Opens a region by name (id 0) or id; the fd or -errno. */
static inline int region_open(const char *name, unsigned int id, int writable)
{
	struct dirtybit_ioc_region_open o;
	int ret;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.flags = writable ? DIRTYBIT_REGION_OPEN_WRITE : 0;
	o.target_id = id;
	if (name)
		strncpy(o.name, name, sizeof(o.name) - 1);
	ret = region_ctl(DIRTYBIT_IOC_REGION_OPEN, &o);
	return ret ? ret : o.fd;
}

static inline int region_info(int fd, struct dirtybit_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, DIRTYBIT_REGION_IOC_INFO, info) ? -errno : 0;
}

static inline int region_hold(int fd)
{
	return ioctl(fd, DIRTYBIT_REGION_IOC_HOLD) ? -errno : 0;
}

static inline int region_release(int fd)
{
	return ioctl(fd, DIRTYBIT_REGION_IOC_RELEASE) ? -errno : 0;
}

/* Bulk read (DIRTYBIT_IOC_BITMAP_READ) of bitmap @name of target @id. */
static inline int region_bitmap_read(unsigned int id, const char *name,
				     uint64_t *words, unsigned long nwords)
{
	struct dirtybit_ioc_bitmap_read rd;

	memset(&rd, 0, sizeof(rd));
	rd.size = sizeof(rd);
	rd.target_id = id;
	strncpy(rd.name, name, sizeof(rd.name) - 1);
	rd.words = nwords;
	rd.buf = (uintptr_t)words;
	return region_ctl(DIRTYBIT_IOC_BITMAP_READ, &rd);
}

/*
 * The dirty pages of bitmap @name of target @target (a region), expanded
 * from its extents into @pages (at most @max); how many, or -errno.
 */
static inline long region_dirty(struct db *db, const char *target, const char *name,
				unsigned long *pages, long max)
{
	struct db_extent ext[256];
	long n = db_extents(db, target, name, ext, 256, NULL), i, k = 0;
	unsigned long p;

	if (n < 0 || n > 256)
		return n < 0 ? n : -E2BIG;
	for (i = 0; i < n; i++)
		for (p = ext[i].start / PAGE; p < (ext[i].start + ext[i].length) / PAGE; p++)
			if (k < max)
				pages[k++] = p;
	return k;
}

/*
 * The passes in an `image save -j` summary of a region, and (in @held) how
 * many of them ran under the writer hold.
 */
static inline int image_save_passes(const char *json, int *held)
{
	const char *p;
	int n = 0;

	*held = 0;
	for (p = json; (p = strstr(p, "\"pages\":")); p++)
		n++;
	for (p = json; (p = strstr(p, "\"held\":true")); p++)
		(*held)++;
	return n;
}

#endif /* _DIRTYBIT_SELFTEST_REGION_H */
