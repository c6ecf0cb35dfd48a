// SPDX-License-Identifier: GPL-2.0
/*
 * Restores of backup chains, and verifies of a device or file against one
 * (see restore.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../common/fileio.h"
#include "../common/util.h"
#include "qcow2.h"
#include "restore.h"

#define RESTORE_CHUNK		(1 << 20)

/*
 * Opens restore's destination @dest: a regular file, created if need be, or
 * a block device, which is then opened again through this descriptor with
 * O_EXCL (EBUSY while mounted or in use): the same device the checks saw,
 * whatever the name points at by then.
 */
static int open_dest(const char *dest, bool verify, struct stat *st, char *err, size_t errlen)
{
	char self[64];
	int fd, excl;

	fd = open(dest, (verify ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd < 0)
		return errf(err, errlen, -errno, "%s: %s", dest, strerror(errno));
	if (fstat(fd, st)) {
		close(fd);
		return errf(err, errlen, -errno, "%s: %s", dest, strerror(errno));
	}
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		close(fd);
		return errf(err, errlen, -EINVAL, "%s is not a regular file or a block device",
			    dest);
	}
	if (verify || !S_ISBLK(st->st_mode))
		return fd;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	excl = open(self, O_RDWR | O_EXCL | O_CLOEXEC);
	close(fd);
	if (excl < 0)
		return errf(err, errlen, -errno, "%s: %s%s", dest, strerror(errno),
			    errno == EBUSY ? " (mounted, or in use: restore writes only a device nobody uses)" : "");
	return excl;
}

int backup_restore(const char *top, const char *dest, bool verify, unsigned int qcow2_flags,
		   uint64_t *bytes, char *err, size_t errlen)
{
	unsigned char *a = malloc(RESTORE_CHUNK), *d = malloc(RESTORE_CHUNK);
	struct qcow2_image *img = NULL;
	uint64_t off, dsize = 0;
	struct stat st;
	int fd = -1, ret;

	*bytes = 0;
	ret = !a || !d ? -ENOMEM : qcow2_open(&img, top, "qcow2", qcow2_flags, err, errlen);
	if (ret == -ENOMEM)
		errf(err, errlen, ret, "out of memory");
	if (!ret) {
		fd = open_dest(dest, verify, &st, err, errlen);
		ret = fd < 0 ? fd : 0;
	}
	/* Checked by inode, before anything is truncated or written. */
	if (!ret && !verify && qcow2_chain_find(img, &st))
		ret = errf(err, errlen, -EEXIST, "%s is %s, an image of the chain being restored",
			   dest, qcow2_chain_find(img, &st)->path);
	if (!ret && fd_size(fd, &dsize))
		ret = errf(err, errlen, -errno, "%s: %s", dest, strerror(errno));
	if (!ret && S_ISREG(st.st_mode) && !verify && ftruncate(fd, (off_t)img->size))
		ret = errf(err, errlen, -errno, "%s: %s", dest, strerror(errno));
	else if (!ret && (S_ISREG(st.st_mode) && !verify ? 0 :
			  verify ? dsize != img->size : dsize < img->size))
		ret = errf(err, errlen, -EINVAL, "%s is %llu bytes, the backup %llu", dest,
			   (unsigned long long)dsize, (unsigned long long)img->size);
	for (off = 0; !ret && off < img->size; off += RESTORE_CHUNK) {
		size_t n = img->size - off < RESTORE_CHUNK ? (size_t)(img->size - off) : RESTORE_CHUNK;

		ret = qcow2_read(img, off, a, n, err, errlen);
		if (!ret && verify) {
			ret = pread_all(fd, d, n, off);
			if (!ret && memcmp(a, d, n)) {
				size_t i = 0;

				while (a[i] == d[i])
					i++;
				ret = errf(err, errlen, -EINVAL,
					   "%s differs from the backup at byte %llu", dest,
					   (unsigned long long)(off + i));
				break;
			}
		} else if (!ret) {
			ret = pwrite_all(fd, a, n, off);
		}
		if (ret && !err[0])
			errf(err, errlen, ret, "%s at %llu: %s", dest, (unsigned long long)off,
			     strerror(-ret));
		*bytes += n;
	}
	if (!ret && !verify && fsync(fd))
		ret = errf(err, errlen, -errno, "%s: %s", dest, strerror(errno));
	if (fd >= 0)
		close(fd);
	qcow2_close(img);
	free(a);
	free(d);
	return ret;
}
