/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pass engine that image saves (regions) and backups (block devices)
 * share: copy live in passes, each pass what the previous one saw written,
 * and quiesce the writers only for a last pass that has little left.
 */
#ifndef _DIRTYBIT_PASSES_H
#define _DIRTYBIT_PASSES_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PASSES_MAX		64
#define PASSES_DEFAULT		8
#define PASSES_THRESHOLD	(64 * 4096ULL)	/* 64 pages */

struct pass_opts {
	unsigned int max_passes;	/* in all, the quiesced one included; 0: 8 */
	uint64_t threshold;		/* bytes: a smaller pending set ends it */
	double max_freeze;		/* seconds the quiesced pass may take; 0: any */
	const volatile sig_atomic_t *stop;
};

/*
 * What the engine drives.  Each returns 0 or -errno with the reason in the
 * caller's own error buffer.  @arg is passed back.
 */
struct pass_ops {
	/* Pass 1's cut (NULL: the caller took it already). */
	int (*first_cut)(void *arg);
	/* A next pass's cut: what was written since the previous one. */
	int (*next_cut)(void *arg);
	/* Bytes written since the last cut (what a next pass would copy). */
	int (*pending)(void *arg, uint64_t *bytes);
	/* Copies pass @k (from 0); *@bytes: what it copied. */
	int (*copy)(void *arg, unsigned int k, uint64_t *bytes);
	/* Stops the writers before the last pass (NULL: never); ... */
	int (*quiesce)(void *arg);
	/* ... and lets them go on; called whenever quiesce() was, even when
	 * it failed.  Its error, if the passes did not fail first, fails them.
	 */
	int (*resume)(void *arg, int ret);
	/* Run at the end of the quiesced pass, still quiesced (NULL: none). */
	int (*quiesced)(void *arg);
	/* Reports pass @k's outcome as it ends (NULL: silent). */
	void (*report)(void *arg, unsigned int k, uint64_t bytes, double seconds, bool quiesced);
	/* Where to say why the engine itself stopped. */
	char *err;
	size_t errlen;
};

struct pass_stat {
	uint64_t bytes;
	double seconds;
	bool quiesced;
};

struct pass_result {
	unsigned int npasses;
	struct pass_stat pass[PASSES_MAX];
	double quiesced_seconds;	/* writers stopped */
	double seconds;			/* every pass */
};

/*
 * Runs the passes: 0 or -errno.  -EINTR when *o->stop was set, -ETIME
 * when the quiesced pass would take longer than o->max_freeze (nothing was
 * quiesced then).  The writers are never left quiesced.
 */
int passes_run(const struct pass_ops *ops, void *arg, const struct pass_opts *o,
	       struct pass_result *res);

/* "256K", "4M", "1G" (bytes) or a bare number of 4 KiB pages: 0 or -EINVAL. */
int passes_parse_threshold(const char *s, uint64_t *bytes);

/* "1.5", "500ms", "2s", "1min": seconds, 1 ms to 10^6 s; 0 or -EINVAL. */
int passes_parse_duration(const char *s, double *seconds);

#endif /* _DIRTYBIT_PASSES_H */
