// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdirtybit: memory regions, through /dev/dirtybit and the region's own
 * file descriptor (netlink cannot hand out a file descriptor).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "nl.h"

#define DB_CTL_PATH	"/dev/" DIRTYBIT_DEVICE_NAME

/*
 * One ioctl on /dev/dirtybit: 0 or -errno.  ctx->err gets the reason:
 * the device's when it cannot be opened, else the errno's, which callers
 * may replace with a better one (*opened tells them which).
 */
static int db_ctl_ioctl(struct dirtybit_ctx *ctx, unsigned long cmd, void *arg, bool *opened)
{
	int fd = open(DB_CTL_PATH, O_RDWR | O_CLOEXEC);
	int ret;

	/*
	 * No device node: the module may not be loaded yet.  Looking its
	 * netlink family up makes the kernel load it (by the family's alias),
	 * and its init creates the node before the lookup returns.
	 */
	if (fd < 0 && errno == ENOENT) {
		struct dirtybit_ctx probe = { 0 };

		if (!dirtybit_open(&probe)) {
			dirtybit_close(&probe);
			fd = open(DB_CTL_PATH, O_RDWR | O_CLOEXEC);
		} else {
			errno = ENOENT;
		}
	}
	*opened = fd >= 0;
	if (fd < 0) {
		return db_fail(ctx, -errno, "%s: %s", DB_CTL_PATH, strerror(errno));
	}
	ret = ioctl(fd, cmd, arg) ? -errno : 0;
	close(fd);
	return ret ? db_fail(ctx, ret, "%s", strerror(-ret)) : 0;
}

static bool db_region_name_fits(struct dirtybit_ctx *ctx, const char *name)
{
	if (strlen(name) < DIRTYBIT_NAME_MAX)
		return true;
	db_fail(ctx, -EINVAL, "region names are at most %d bytes", DIRTYBIT_NAME_MAX - 1);
	return false;
}

int dirtybit_region_create(struct dirtybit_ctx *ctx, const char *name, uint64_t bytes,
			   bool node, uint32_t *id)
{
	struct dirtybit_ioc_region_create c = { .size = sizeof(c), .bytes = bytes };
	long page = sysconf(_SC_PAGESIZE);
	bool opened;
	int ret;

	if (!db_region_name_fits(ctx, name))
		return -EINVAL;
	c.flags = node ? DIRTYBIT_REGION_F_NODE : 0;
	strcpy(c.name, name);
	ret = db_ctl_ioctl(ctx, DIRTYBIT_IOC_REGION_CREATE, &c, &opened);
	if (!ret) {
		if (id)
			*id = c.target_id;
		return c.fd;
	}
	if (!opened)
		return ret;
	switch (ret) {
	case -EINVAL:
		db_fail(ctx, ret, bytes && bytes % page ? "the size must be a multiple of %ld bytes" :
			"bad name or size (names: A-Z a-z 0-9 _ . : -)", page);
		break;
	case -E2BIG:
		db_fail(ctx, ret, "larger than the machine's memory");
		break;
	case -EEXIST:
		db_fail(ctx, ret, "a region named %s exists", name);
		break;
	case -ENOSPC:
		db_fail(ctx, ret, "too many regions (at most %d)", DIRTYBIT_MAX_REGIONS);
		break;
	case -ENOMEM:
		db_fail(ctx, ret, "out of memory (or over the memory cgroup's limit)");
		break;
	}
	return ret;
}

int dirtybit_region_open(struct dirtybit_ctx *ctx, const char *region, bool writable)
{
	struct dirtybit_ioc_region_open o = { .size = sizeof(o) };
	bool opened;
	char *end;
	int ret;

	o.flags = writable ? DIRTYBIT_REGION_OPEN_WRITE : 0;
	o.target_id = (uint32_t)strtoul(region, &end, 10);
	if (*end || !*region) {
		o.target_id = 0;
		if (!db_region_name_fits(ctx, region))
			return -EINVAL;
		strcpy(o.name, region);
	}
	ret = db_ctl_ioctl(ctx, DIRTYBIT_IOC_REGION_OPEN, &o, &opened);
	if (!ret)
		return o.fd;
	if (opened && ret == -ENOENT)
		return db_fail(ctx, ret, "no region %s", region);
	return ret;
}

int dirtybit_region_info(int fd, struct dirtybit_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, DIRTYBIT_REGION_IOC_INFO, info) ? -errno : 0;
}

int dirtybit_region_hold(int fd)
{
	return ioctl(fd, DIRTYBIT_REGION_IOC_HOLD) ? -errno : 0;
}

int dirtybit_region_release(int fd)
{
	return ioctl(fd, DIRTYBIT_REGION_IOC_RELEASE) ? -errno : 0;
}

int dirtybit_bitmap_read(struct dirtybit_ctx *ctx, uint32_t target_id, const char *name,
			 uint64_t *words, uint64_t nwords)
{
	struct dirtybit_ioc_bitmap_read rd = { .size = sizeof(rd), .target_id = target_id };
	uint64_t done = 0;
	bool opened;
	int ret;

	if (strlen(name) >= sizeof(rd.name))
		return db_fail(ctx, -EINVAL, "bitmap names are at most %zu bytes",
			       sizeof(rd.name) - 1);
	strcpy(rd.name, name);
	/* The kernel copies at most what the bitmap has from first_word. */
	while (done < nwords) {
		rd.first_word = done;
		rd.words = nwords - done;
		rd.buf = (uintptr_t)(words + done);
		ret = db_ctl_ioctl(ctx, DIRTYBIT_IOC_BITMAP_READ, &rd, &opened);
		if (ret == -EAGAIN)
			return db_fail(ctx, ret, "bitmap %s changed while being read", name);
		if (ret && opened && ret == -ENOENT)
			return db_fail(ctx, ret, "no bitmap %s on target %u", name, target_id);
		if (ret)
			return ret;
		done += rd.words;
		if (!rd.words || done >= rd.total_words)
			break;
	}
	if (done < nwords)
		memset(words + done, 0, (nwords - done) * sizeof(*words));
	return 0;
}
