/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers the image and backup code share.
 */
#ifndef _DIRTYBIT_UTIL_H
#define _DIRTYBIT_UTIL_H

#include <stddef.h>

/* Formats the reason into @err (@errlen bytes) and returns @code. */
int errf(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* fsync() of the directory holding @path, so a rename in it is durable. */
void fsync_dir_of(const char *path);

/* Runs "sh -c @cmd" and waits: 0 if it exited 0, else -ECANCELED (or
 * -errno if it could not run).
 */
int run_shell(const char *cmd);

#endif /* _DIRTYBIT_UTIL_H */
