/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a test program needs from the machine it runs on: dirtybit.ko and
 * the kernel drivers it drives (loaded, built in, or installed where
 * modprobe finds them) and programs on PATH.  One that is missing skips the
 * whole program the kselftest way: "1..0 # SKIP <reason>", exit status 4
 * (KSFT_SKIP).  Only absence skips: a driver that is there and does not
 * load, or a program that fails, still fails its test.
 */
#ifndef _DIRTYBIT_SELFTEST_NEEDS_H
#define _DIRTYBIT_SELFTEST_NEEDS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "kselftest.h"

/* @name with '-' as '_', as the kernel names modules, into @out. */
static inline void needs_modname(const char *name, size_t len, char *out, size_t size)
{
	size_t i;

	for (i = 0; i < len && i + 1 < size; i++)
		out[i] = name[i] == '-' ? '_' : name[i];
	out[i] = '\0';
}

/*
 * Module @name's file in the running kernel's module list @list
 * (modules.dep or modules.builtin), relative to /lib/modules/KVER/, into
 * @path.  0, or -1 when it is not listed.
 */
static inline int needs_listed(const char *list, const char *name, char *path, size_t size)
{
	char file[512], line[4096], want[64], have[64];
	const char *base, *end;
	struct utsname u;
	int found = -1;
	FILE *f;

	uname(&u);
	snprintf(file, sizeof(file), "/lib/modules/%s/%s", u.release, list);
	f = fopen(file, "r");
	if (!f)
		return -1;
	needs_modname(name, strlen(name), want, sizeof(want));
	while (found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, ":\n")] = '\0';
		base = strrchr(line, '/');
		base = base ? base + 1 : line;
		end = strstr(base, ".ko");
		if (!end)
			continue;
		needs_modname(base, end - base, have, sizeof(have));
		if (!strcmp(want, have))
			found = snprintf(path, size, "/lib/modules/%s/%s", u.release, line) < (int)size ? 0 : -1;
	}
	fclose(f);
	return found;
}

/* Whether module @name is loaded, built in or installed. */
static inline int needs_module(const char *name)
{
	char path[512], mod[64];

	needs_modname(name, strlen(name), mod, sizeof(mod));
	snprintf(path, sizeof(path), "/sys/module/%s", mod);
	return !access(path, F_OK) || !needs_listed("modules.builtin", name, path, sizeof(path)) ||
	       !needs_listed("modules.dep", name, path, sizeof(path));
}

/* Whether @prog is an executable on PATH (or at its own path). */
static inline int needs_program(const char *prog)
{
	const char *dirs = getenv("PATH"), *p;
	char path[4096];
	size_t len;

	if (strchr(prog, '/'))
		return !access(prog, X_OK);
	for (p = dirs ? dirs : "/usr/bin:/bin"; *p; p += len + !!p[len]) {
		len = strcspn(p, ":");
		snprintf(path, sizeof(path), "%.*s/%s", (int)len, len ? p : ".", prog);
		if (!access(path, X_OK))
			return 1;
	}
	return 0;
}

/* The next space-separated word of *@p into @word, moving *@p past it; 0 at the end. */
static inline int needs_next(const char **p, char *word, size_t size)
{
	size_t len;

	*p += strspn(*p, " ");
	len = strcspn(*p, " ");
	snprintf(word, size, "%.*s", (int)len, *p);
	*p += len;
	return len != 0;
}

/*
 * Skips the program unless every module in @modules and every program in
 * @programs (space-separated) is there.  dirtybit itself may also be the
 * file $DIRTYBIT_KO.
 */
static inline void needs_or_skip(const char *modules, const char *programs)
{
	const char *ko = getenv("DIRTYBIT_KO"), *p;
	char name[128];

	for (p = modules; needs_next(&p, name, sizeof(name));) {
		if (!strcmp(name, "dirtybit") && ko && !access(ko, R_OK))
			continue;
		if (!needs_module(name)) {
			ksft_print_header();
			ksft_exit_skip("kernel module %s is not available (not loaded, built in or in modules.dep)\n",
				       name);
		}
	}
	for (p = programs; needs_next(&p, name, sizeof(name));) {
		if (!needs_program(name)) {
			ksft_print_header();
			ksft_exit_skip("program %s is not on PATH\n", name);
		}
	}
}

/*
 * The harness's time limit of a case (TEST_F_TIMEOUT, or its 30 s default)
 * times DIRTYBIT_TIMEOUT_SCALE (1 to 100; 1 when unset): a debug kernel's
 * KASAN, lockdep and kmemleak make every case several times slower under
 * TCG, and tools/vm/run sets it for one.  The harness arms each limit with
 * alarm(); the test programs link with --wrap=alarm (selftests/Makefile).
 */
static inline unsigned int needs_timeout_scale(void)
{
	const char *s = getenv("DIRTYBIT_TIMEOUT_SCALE");
	unsigned long k = s ? strtoul(s, NULL, 10) : 1;

	return k >= 1 && k <= 100 ? k : 1;
}

/*
 * TEST_HARNESS_MAIN, the check first: it runs as a constructor, before
 * main() and test_harness_run() print the plan.  Output goes out by the
 * line, as on a terminal, also into the kselftest runner's pipe: what a
 * test prints streams, and a forked test case's _exit() loses none of it.
 * With it the scaled alarm() the harness's time limits go through.
 */
#define NEEDS_HARNESS_MAIN(modules, programs)			\
	static void __attribute__((constructor)) needs_check(void)	\
	{							\
		setvbuf(stdout, NULL, _IOLBF, 0);		\
		needs_or_skip(modules, programs);		\
	}							\
	unsigned int __real_alarm(unsigned int seconds);	\
	unsigned int __wrap_alarm(unsigned int seconds);	\
	unsigned int __wrap_alarm(unsigned int seconds)		\
	{							\
		return __real_alarm(seconds * needs_timeout_scale()); \
	}							\
	TEST_HARNESS_MAIN

/*
 * The rig's virtio disks, /dev/vda and /dev/vdb (scratch) and /dev/vdc (the
 * export disk), which a program using them overwrites: only when
 * DIRTYBIT_SCRATCH_DISKS=1 says they are those (tools/vm/run sets it).  On
 * another machine the same names may hold its system.
 */
#define NEEDS_SCRATCH_DISKS						\
	static void __attribute__((constructor)) needs_scratch(void)	\
	{								\
		const char *ok = getenv("DIRTYBIT_SCRATCH_DISKS");	\
									\
		if (!ok || strcmp(ok, "1")) {				\
			ksft_print_header();				\
			ksft_exit_skip("writes the rig's disks /dev/vd[abc]; set DIRTYBIT_SCRATCH_DISKS=1 if they are scratch disks\n"); \
		}							\
	}

#endif /* _DIRTYBIT_SELFTEST_NEEDS_H */
