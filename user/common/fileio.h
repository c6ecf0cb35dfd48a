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

#endif /* _DIRTYBIT_FILEIO_H */
