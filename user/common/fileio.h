/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whole positioned reads and writes, for the image and backup writers.
 */
#ifndef _DIRTYBIT_FILEIO_H
#define _DIRTYBIT_FILEIO_H

#include <stddef.h>
#include <stdint.h>

/* 0, or -errno; a read that meets the end is -EIO, a write that writes
 * nothing -ENOSPC.  EINTR is retried.
 */
int pread_all(int fd, void *buf, size_t len, uint64_t off);
int pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/* The size of an open file or block device: 0 or -errno. */
int fd_size(int fd, uint64_t *size);

/*
 * Creates @path (an OUTPUT.partial) afresh: a regular file left there is
 * removed first; anything else there (a symlink, a FIFO, ...) is refused
 * with -EEXIST; the new file is made with O_EXCL and never through a
 * symlink, so whatever a name pointed at is never written.  With
 * @direct_fd, also an O_DIRECT descriptor of that same inode (checked).
 * Returns the descriptor or -errno.
 */
int create_partial(const char *path, int *direct_fd);

#endif /* _DIRTYBIT_FILEIO_H */
