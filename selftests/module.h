/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading and unloading dirtybit.ko from the selftests, by system call.
 */
#ifndef _DIRTYBIT_SELFTEST_MODULE_H
#define _DIRTYBIT_SELFTEST_MODULE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "needs.h"

/*
 * The module under test: $DIRTYBIT_KO, else the file modules.dep names
 * (the rig installs it under updates/, as DKMS does; "" if none).
 */
static inline const char *dirtybit_ko_path(void)
{
	static char path[512];
	const char *env = getenv("DIRTYBIT_KO");

	if (env)
		return env;
	if (needs_listed("modules.dep", "dirtybit", path, sizeof(path)))
		path[0] = '\0';
	return path;
}

static inline int dirtybit_loaded(void)
{
	return access("/sys/module/dirtybit", F_OK) == 0;
}

/* Loads the module with @params ("name=value ...").  0 or -errno. */
static inline int dirtybit_load_params(const char *params)
{
	const char *path = dirtybit_ko_path();
	/* MODULE_INIT_COMPRESSED_FILE: the kernel unpacks a .ko.xz/.zst/.gz */
	int flags = strstr(path, ".ko.") ? 4 : 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, flags);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

/* Loads the module if it is not loaded.  0 or -errno. */
static inline int dirtybit_load(void)
{
	int ret;

	if (dirtybit_loaded())
		return 0;
	ret = dirtybit_load_params("");
	return ret == -EEXIST ? 0 : ret;
}

#define DIRTYBIT_DEBUGFS	"/sys/kernel/debug/dirtybit/"
/* What debugfs dirtybit/objects says when nothing is left. */
#define DIRTYBIT_NO_OBJECTS	"targets 0\nbitmaps 0\nrecs 0\nhbitmaps 0\nregion_pages 0\nblock_probes 0\n"

/* debugfs dirtybit/objects (a "kind count" line each) into @out; "" if unreadable. */
static inline void dirtybit_objects(char *out, size_t size)
{
	FILE *f = fopen(DIRTYBIT_DEBUGFS "objects", "r");
	size_t n = f ? fread(out, 1, size - 1, f) : 0;

	out[n] = '\0';
	if (f)
		fclose(f);
}

/* Unloads the module if it is loaded.  0 or -errno. */
static inline int dirtybit_unload(void)
{
	if (!dirtybit_loaded())
		return 0;
	return syscall(SYS_delete_module, "dirtybit", O_NONBLOCK) ? -errno : 0;
}

/* Loads the module afresh with @params (nothing may be attached).  0 or -errno. */
static inline int dirtybit_reload(const char *params)
{
	int ret = dirtybit_unload();

	return ret ? ret : dirtybit_load_params(params);
}

#endif /* _DIRTYBIT_SELFTEST_MODULE_H */
