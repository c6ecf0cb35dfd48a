/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside a backup: the state of one device's backup and of the group the
 * pass engine drives, shared by session.c (the protocol), output.c (the
 * qcow2 files), copy.c (the copy) and quiesce.c (stopping the writers).
 */
#ifndef _DIRTYBIT_BACKUP_SESSION_H
#define _DIRTYBIT_BACKUP_SESSION_H

#include <limits.h>

#include "backup.h"
#include "qcow2.h"

/* One device's backup. */
struct backup {
	struct dirtybit_ctx *ctx;
	const struct backup_opts *o;
	struct backup_result *res;
	struct dirtybit_target t;
	struct qcow2_writer w;
	uint64_t granularity, nbits;
	uint64_t *words;
	uint64_t copied_to;		/* clusters below were copied (this pass) */
	unsigned int pass;		/* from 0 */
	int finished;			/* qcow2_finish(): 1 done, -1 failed */
	int dev, out, out_direct;
	struct qcow2_image *chain;	/* the backing chain, open until the end */
	char backing[PATH_MAX], backing_fmt[8];
	char *err;
	size_t errlen;
};

/* The backup's devices, as the pass engine drives them. */
struct group {
	struct backup *b;
	unsigned int n;
	int fs[BACKUP_MAX_FSFREEZE];	/* frozen: open, else -1 */
	bool freeze_cmd_ran;
	bool frozen;			/* the first cut froze the bitmaps */
	struct pass_result *passes;
};

/*
 * The outputs (output.c); each returns 0 or -errno with the reason in
 * b->err.  @backing is named in @output's image by its bare name beside
 * it, else by its absolute path (*@outside).  Before the cut, no output
 * may be an image of a chain, another output, or not a regular file; each
 * is created afresh as @partial, its image started once for every pass
 * and finished after the last.  backup_keep_partial(): after a failure in
 * BACKUP_ALWAYS mode, finish and keep what was copied (false if it could
 * not be).
 */
int backup_backing_name(char *out, size_t n, const char *backing, const char *output,
			bool *outside);
int backup_check_outputs(struct backup *b, unsigned int n, char (*partial)[PATH_MAX]);
int backup_open_output(struct backup *b, const char *partial);
int backup_start_output(struct backup *b);
int backup_finish_output(struct backup *b);
bool backup_keep_partial(struct backup *b, const char *partial);

/*
 * Pass @k's copy of @b, between its cut and the end of the freeze: the
 * frozen bits' clusters (every cluster in pass 1 of a full backup), added
 * to *@bytes.  0 or -errno, the reason in b->err; on failure b->copied_to
 * is the first cluster that may not have been copied by this pass: every
 * run before it was.
 */
int backup_copy(struct backup *b, unsigned int k, uint64_t *bytes);

/*
 * The pass engine's quiesce(), resume() and quiesced() for group @arg:
 * --freeze-cmd then FIFREEZE of each --fsfreeze; FITHAW in reverse then
 * --thaw-cmd; --exec-frozen.  0 or -errno with the reason in b->err.
 */
int backup_quiesce(void *arg);
int backup_resume(void *arg, int ret);
int backup_frozen_command(void *arg);

/*
 * Before anything is frozen: -EINVAL (the reason in b->err) when an
 * output of the @n backups at @b is on a file system --fsfreeze freezes,
 * or two --fsfreeze name one file system; else 0 or -errno.
 */
int backup_check_output_not_frozen(struct backup *b, unsigned int n);

#endif /* _DIRTYBIT_BACKUP_SESSION_H */
