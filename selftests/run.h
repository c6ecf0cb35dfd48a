/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running a command line from a selftest and capturing what it printed.
 */
#ifndef _DIRTYBIT_SELFTEST_RUN_H
#define _DIRTYBIT_SELFTEST_RUN_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define RUN_OUT 65536

struct run {
	int status;		/* exit status, or 128 + signal */
	char out[RUN_OUT];	/* stdout */
	char err[RUN_OUT];	/* stderr */
};

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

/* Runs "sh -c FMT..." with stdout and stderr captured. */
static inline int run(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int run(struct run *r, const char *fmt, ...)
{
	char cmd[4096], line[4500];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "(%s) >/tmp/run.out 2>/tmp/run.err", cmd);
	st = system(line);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	run_slurp("/tmp/run.out", r->out);
	run_slurp("/tmp/run.err", r->err);
	return r->status;
}

static inline int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#endif /* _DIRTYBIT_SELFTEST_RUN_H */
