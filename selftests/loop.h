/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loop devices for the selftests: a blk-mq disk over a file or another
 * block device, optionally with direct I/O (its requests then reach the
 * backing device as concurrent asynchronous I/O, each on its own).
 */
#ifndef _DIRTYBIT_SELFTEST_LOOP_H
#define _DIRTYBIT_SELFTEST_LOOP_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/loop.h>

/*
 * A new loop device over @backing (LO_FLAGS_* in @flags); its number, or
 * -1.  The device path is written to @path.
 */
static inline int loop_attach(const char *backing, unsigned int flags, char path[32])
{
	struct loop_config cfg;
	int ctl, fd, dev, nr, ret;

	if (system("modprobe loop"))
		return -1;
	fd = open(backing, O_RDWR | ((flags & LO_FLAGS_DIRECT_IO) ? O_DIRECT : 0));
	if (fd < 0)
		return -1;
	ctl = open("/dev/loop-control", O_RDWR);
	nr = ctl < 0 ? -1 : ioctl(ctl, LOOP_CTL_GET_FREE);
	if (ctl >= 0)
		close(ctl);
	if (nr < 0) {
		close(fd);
		return -1;
	}
	snprintf(path, 32, "/dev/loop%d", nr);
	dev = open(path, O_RDWR);
	if (dev < 0) {
		close(fd);
		return -1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = fd;
	cfg.info.lo_flags = flags;
	ret = ioctl(dev, LOOP_CONFIGURE, &cfg);
	close(dev);
	close(fd);
	return ret ? -1 : nr;
}

static inline void loop_detach(int nr)
{
	char path[32];
	int dev;

	snprintf(path, sizeof(path), "/dev/loop%d", nr);
	dev = open(path, O_RDWR);
	if (dev >= 0) {
		ioctl(dev, LOOP_CLR_FD, 0);
		close(dev);
	}
}

#endif /* _DIRTYBIT_SELFTEST_LOOP_H */
