/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running a command line from a selftest: quietly (sh()), or capturing
 * what it printed (run()).  Commands are formatted into allocated
 * buffers, never cut short; what they print goes to files of their own,
 * so tests (and the processes a test forks) never share them.
 */
#ifndef _DIRTYBIT_SELFTEST_RUN_H
#define _DIRTYBIT_SELFTEST_RUN_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#define RUN_OUT 65536

/*
 * e2fsprogs' mke2fs in a command line: $MKE2FS if set, as in the rig, whose
 * busybox sh runs its own mke2fs applet (no ext4) for a bare "mke2fs".
 */
#define MKE2FS	"${MKE2FS:-mke2fs}"

struct run {
	int status;		/* exit status, or 128 + signal; -1: could not run */
	char out[RUN_OUT];	/* stdout */
	char err[RUN_OUT];	/* stderr */
};

/*
 * The integer after "@key": in JSON text @json (a space allowed: QEMU
 * writes one), or -1 when the key is not there.
 */
static inline long long run_json_ll(const char *json, const char *key)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "\"%s\":", key);
	p = strstr(json, want);
	return p ? strtoll(p + strlen(want), NULL, 10) : -1;
}

static inline void run_slurp(const char *path, char *buf)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, RUN_OUT - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* system()'s status as an exit status, or 128 + signal; -1 if none ran. */
static inline int run_status(int st)
{
	if (st == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs "sh -c FMT..." with stdout and stderr captured. */
static inline int run(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int run(struct run *r, const char *fmt, ...)
{
	char out[] = "/tmp/run.out.XXXXXX", err[] = "/tmp/run.err.XXXXXX";
	int fo = mkostemp(out, O_CLOEXEC), fe = mkostemp(err, O_CLOEXEC);
	char *cmd = NULL, *line = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		cmd = NULL;
	va_end(ap);
	r->status = -1;
	if (fo >= 0 && fe >= 0 && cmd && asprintf(&line, "(%s) >%s 2>%s", cmd, out, err) >= 0)
		r->status = run_status(system(line));
	run_slurp(out, r->out);
	run_slurp(err, r->err);
	if (!line)
		snprintf(r->err, RUN_OUT, "run: no memory or no temporary file for '%s'\n", fmt);
	if (fo >= 0) {
		unlink(out);
		close(fo);
	}
	if (fe >= 0) {
		unlink(err);
		close(fe);
	}
	free(line);
	free(cmd);
	return r->status;
}

/* Runs "sh -c FMT..." with the test's own output; its exit status, or -1. */
static inline int sh(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (ret < 0) {
		fprintf(stderr, "# sh: no memory for '%s'\n", fmt);
		return -1;
	}
	ret = system(cmd);
	free(cmd);
	return WIFEXITED(ret) ? WEXITSTATUS(ret) : -1;
}

static inline int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#endif /* _DIRTYBIT_SELFTEST_RUN_H */
