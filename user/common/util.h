/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers the image and backup code share.
 */
#ifndef _DIRTYBIT_UTIL_H
#define _DIRTYBIT_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Formats the reason into @err (@errlen bytes) and returns @code. */
int errf(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Seconds on CLOCK_MONOTONIC. */
double mono_now(void);

/* A progress line is due at @now: at most five a second (*@last: the last). */
bool progress_due(double *last, double now);

/* Whether @n bytes at @p (a multiple of 8, 8-byte aligned) are all zero. */
bool mem_is_zero(const void *p, size_t n);

/*
 * Blocks of @unit bytes at @buf: the end of the run from block @i (< @n)
 * whose blocks are all zero or all not (*zero says which).
 */
uint64_t zero_run_end(const unsigned char *buf, size_t unit, uint64_t i, uint64_t n,
		      bool *zero);

/* Set bits among the first @nbits of @words. */
uint64_t bits_weight(const uint64_t *words, uint64_t nbits);

/* fsync() of the directory holding @path, so a rename in it is durable: 0 or -errno. */
int fsync_dir_of(const char *path);

/* Runs "sh -c @cmd" in a process group of its own and waits: 0 if it
 * exited 0, else -ECANCELED (or -errno if it could not run).  When *@stop
 * is set (a signal), the group gets SIGTERM.
 */
int run_shell(const char *cmd, const volatile sig_atomic_t *stop);

/* *@stop is set (a signal arrived): -EINTR, "interrupted" in @err; else 0. */
int stop_requested(const volatile sig_atomic_t *stop, char *err, size_t errlen);

/*
 * run_shell(), its outcome as a copy's: 0; -EINTR when it was stopped
 * with us (stop_requested()); -ECANCELED with @failed in @err otherwise.
 */
int run_command(const char *cmd, const volatile sig_atomic_t *stop, const char *failed,
		char *err, size_t errlen);

#endif /* _DIRTYBIT_UTIL_H */
