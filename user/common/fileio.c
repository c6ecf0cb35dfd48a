// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "fileio.h"

int fd_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) ? -errno : 0;
	*size = (uint64_t)st.st_size;
	return 0;
}

int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;	/* EOF: the source shrank */
		buf = (char *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENOSPC;
		buf = (const char *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int create_partial(const char *path, int *direct_fd)
{
	struct stat st, dst;
	int fd, ret;

	if (!lstat(path, &st)) {
		if (!S_ISREG(st.st_mode))
			return -EEXIST;
		if (unlink(path) && errno != ENOENT)
			return -errno;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (!direct_fd)
		return fd;
	*direct_fd = open(path, O_RDWR | O_DIRECT | O_NOFOLLOW | O_CLOEXEC);
	if (*direct_fd < 0) {
		ret = -errno;
	} else if (fstat(fd, &st) || fstat(*direct_fd, &dst) || st.st_dev != dst.st_dev ||
		   st.st_ino != dst.st_ino) {
		ret = -EEXIST;		/* replaced in between */
		close(*direct_fd);
	} else {
		return fd;
	}
	*direct_fd = -1;
	unlink(path);
	close(fd);
	return ret;
}
