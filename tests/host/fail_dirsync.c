// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim for the host tests: fsync() of a directory fails with
 * EIO (a rename is then not known to be durable), every other fsync() is
 * the C library's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/stat.h>

int fsync(int fd)
{
	static int (*real)(int);
	struct stat st;

	if (!fstat(fd, &st) && S_ISDIR(st.st_mode)) {
		errno = EIO;
		return -1;
	}
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return real(fd);
}
