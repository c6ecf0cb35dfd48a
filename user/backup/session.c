// SPDX-License-Identifier: GPL-2.0
/*
 * Block backups: the protocol (see backup.h).
 *
 * The protocol is the seed's: FREEZE the bitmap (an exact cut: every write
 * before it is in the frozen bits, every later one in the successor), read
 * the frozen bits, copy the dirty clusters (all of them for --full), then
 * ABDICATE on success.  On any failure RECLAIM (the frozen bits return to
 * the bitmap, so the next incremental copies them again) and remove the
 * partial output.  A backup killed outright is reclaimed by the kernel,
 * which binds the freeze to the netlink socket.  Writes go on during the
 * copy: a cluster is copied as it is when read (crash-consistent per
 * cluster) and a write after the cut lands in the next incremental.
 *
 * Several devices back up as a group (iotests 124's transactions): one
 * TRANSACTION freezes them all (and clears the --clear bitmaps) at one cut,
 * the copies run in turn, and one TRANSACTION ends every freeze the same
 * way: the group succeeds or fails as a whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../common/fileio.h"
#include "../common/util.h"
#include "qcow2.h"
#include "session.h"

#define BACKUP_MIN_CLUSTER	65536

/*
 * The cut: one transaction freezes every device's bitmap and its --clear
 * bitmaps, so they all start their next epoch at the same point.  A next
 * pass's cut (@next_pass) takes the next set of every one of them, still
 * frozen: the earlier passes' bits stay with the freeze until it ends.  A --clear
 * bitmap is frozen rather than cleared so that a failed backup can give
 * its bits back: settle_bitmaps() abdicates it (cleared at the cut) on
 * success and reclaims it on failure, and a killed backup's socket
 * reclaims it in the kernel.
 */
static int freeze_bitmaps(struct backup *b, unsigned int n, bool next_pass)
{
	const struct backup_opts *o = b->o;
	struct dirtybit_tx_action acts[DIRTYBIT_MAX_ACTIONS];
	unsigned int i, k, na = 0;
	int ret;

	if (n * (1 + o->nclears) > DIRTYBIT_MAX_ACTIONS)
		return errf(b->err, b->errlen, -E2BIG,
			    "%u devices with %u --clear bitmaps each: more than %d actions in one cut",
			    n, o->nclears, DIRTYBIT_MAX_ACTIONS);
	for (i = 0; i < n; i++) {
		for (k = 0; k < o->nclears; k++)
			acts[na++] = (struct dirtybit_tx_action){ DIRTYBIT_CMD_BITMAP_FREEZE,
				{ .target = b[i].o->device, .name = o->clears[k],
				  .next_pass = next_pass } };
		acts[na++] = (struct dirtybit_tx_action){ DIRTYBIT_CMD_BITMAP_FREEZE,
			{ .target = b[i].o->device, .name = o->bitmap, .next_pass = next_pass } };
	}
	ret = dirtybit_transaction(b->ctx, acts, na);
	if (ret)
		snprintf(b->err, b->errlen, "bitmap %s%s%s: %s", o->bitmap,
			 o->nclears ? " or a --clear bitmap" : "",
			 next_pass ? ", next pass" : "", b->ctx->err);
	return ret;
}

/* The target, its bitmap, the cluster size and the backing file. */
static int prepare(struct backup *b)
{
	const struct backup_opts *o = b->o;
	struct dirtybit_bitmap bm;
	char real[PATH_MAX];
	unsigned int depth;
	bool outside;
	uint64_t size;
	int ret;

	ret = dirtybit_target_get(b->ctx, o->device, &b->t);
	if (ret)
		return errf(b->err, b->errlen, ret, "%s: %s", o->device, b->ctx->err);
	if (b->t.kind != DIRTYBIT_TARGET_BLOCK)
		return errf(b->err, b->errlen, -EINVAL, "%s is not a block device target",
			    o->device);
	ret = dirtybit_bitmap_get(b->ctx, o->device, o->bitmap, &bm);
	if (ret)
		return errf(b->err, b->errlen, ret, "%s: no bitmap %s", o->device, o->bitmap);
	if (bm.flags & DIRTYBIT_BITMAP_F_FROZEN)
		return errf(b->err, b->errlen, -EBUSY, "bitmap %s is busy (frozen by a backup)",
			    o->bitmap);
	if (bm.flags & DIRTYBIT_BITMAP_F_INCONSISTENT)
		return errf(b->err, b->errlen, -EINVAL,
			    "bitmap %s is inconsistent (the device changed size); take a full backup into a new bitmap",
			    o->bitmap);
	b->granularity = bm.granularity;
	b->res->cluster = o->cluster ? o->cluster :
			  b->granularity > BACKUP_MIN_CLUSTER ? (uint32_t)b->granularity :
			  BACKUP_MIN_CLUSTER;
	if (b->res->cluster & (b->res->cluster - 1) || b->res->cluster < b->granularity ||
	    b->res->cluster < 4096 || b->res->cluster > (2U << 20))
		return errf(b->err, b->errlen, -EINVAL,
			    "cluster size %u: a power of two, 4K to 2M, at least the granularity %llu",
			    b->res->cluster, (unsigned long long)b->granularity);
	b->dev = open(o->device, O_RDONLY | O_CLOEXEC | O_DIRECT);
	if (b->dev < 0)
		b->dev = open(o->device, O_RDONLY | O_CLOEXEC);
	if (b->dev < 0 || fd_size(b->dev, &size))
		return errf(b->err, b->errlen, -errno, "%s: %s", o->device, strerror(errno));
	if (size != b->t.size)
		return errf(b->err, b->errlen, -EINVAL, "%s is %llu bytes, its target %llu",
			    o->device, (unsigned long long)size,
			    (unsigned long long)b->t.size);
	if (o->full)
		return 0;
	/*
	 * An incremental stands on the previous backup: same size, and its
	 * whole chain readable the way restore will read it, one image short
	 * of the deepest chain restore follows.
	 */
	/*
	 * Through its real path: the one backup_backing_name() records, so the chain
	 * checked is the chain restore will read (a symlinked --backing would
	 * resolve its own backing names beside the link).
	 */
	if (!realpath(o->backing, real))
		return errf(b->err, b->errlen, -errno, "%s: %s", o->backing, strerror(errno));
	ret = qcow2_open(&b->chain, real, NULL, o->any_backing ? QCOW2_ANY_BACKING : 0,
			 b->err, b->errlen);
	if (ret)
		return ret;
	if (b->chain->size != size)
		return errf(b->err, b->errlen, -EINVAL,
			    "backing file %s is %llu bytes, the device %llu",
			    o->backing, (unsigned long long)b->chain->size,
			    (unsigned long long)size);
	depth = qcow2_chain_length(b->chain);
	if (depth >= QCOW2_MAX_CHAIN)
		return errf(b->err, b->errlen, -ELOOP,
			    "the chain of %s is %u images deep, and restore reads at most %d: take a --full backup to start a new chain (or collapse this one with qemu-img convert, see docs/BACKUPS.md)",
			    o->backing, depth, QCOW2_MAX_CHAIN);
	snprintf(b->backing_fmt, sizeof(b->backing_fmt), "%s", b->chain->raw ? "raw" : "qcow2");
	ret = backup_backing_name(b->backing, sizeof(b->backing), o->backing, o->output, &outside);
	if (ret)
		return errf(b->err, b->errlen, ret, "%s: %s", o->backing, strerror(-ret));
	if (strlen(b->backing) > QCOW2_NAME_MAX)
		return errf(b->err, b->errlen, -ENAMETOOLONG,
			    "--backing %s: a name of more than %d bytes",
			    b->backing, QCOW2_NAME_MAX);
	if (outside && !o->any_backing)
		return errf(b->err, b->errlen, -EXDEV,
			    "--backing %s is not in the directory of %s: restore follows only a backing file beside its image (or pass --allow-backing-outside, to restore too)",
			    o->backing, o->output);
	return 0;
}

static int first_cut(void *arg)
{
	struct group *g = arg;
	int ret = freeze_bitmaps(g->b, g->n, false);

	g->frozen = !ret;
	return ret;
}

static int next_cut(void *arg)
{
	struct group *g = arg;

	return freeze_bitmaps(g->b, g->n, true);
}

/* Bytes written to the devices since the last cut. */
static int pending(void *arg, uint64_t *bytes)
{
	struct group *g = arg;
	struct dirtybit_bitmap bm;
	unsigned int i;
	int ret;

	/*
	 * What the page caches hold is written too, and FIFREEZE would flush
	 * it into the frozen pass: flushed now, it counts here.
	 */
	for (i = 0; i < g->b->o->nfsfreeze; i++) {
		int fd = open(g->b->o->fsfreeze[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0) {
			syncfs(fd);
			close(fd);
		}
	}
	*bytes = 0;
	for (i = 0; i < g->n; i++) {
		ret = dirtybit_bitmap_get(g->b->ctx, g->b[i].o->device, g->b->o->bitmap, &bm);
		if (ret)
			return errf(g->b->err, g->b->errlen, ret, "%s: %s", g->b[i].o->device,
				    g->b->ctx->err);
		*bytes += bm.successor_count;
	}
	return 0;
}

static int copy_all(void *arg, unsigned int k, uint64_t *bytes)
{
	struct group *g = arg;
	unsigned int i;
	int ret = 0;

	/* Nothing of this pass is copied yet: a kept partial image lacks it all. */
	for (i = 0; i < g->n; i++)
		g->b[i].copied_to = 0;
	*bytes = 0;
	for (i = 0; i < g->n && !ret; i++)
		ret = backup_copy(&g->b[i], k, bytes);
	return ret;
}

static void report(void *arg, unsigned int k, uint64_t bytes, double seconds, bool frozen)
{
	struct group *g = arg;
	const struct backup_progress *p = g->b->o->progress;

	if (p && p->pass)
		p->pass(p->arg, k, bytes, seconds, frozen);
}

/*
 * Every pass, by the engine image saves share (common/passes.c).  Without
 * anything to stop the writers with: one pass, as a backup always was.
 */
static int run_passes(struct group *g)
{
	const struct backup_opts *o = g->b->o;
	bool stops = o->nfsfreeze || o->freeze_cmd;
	struct pass_ops ops = {
		.first_cut = first_cut, .next_cut = next_cut, .pending = pending,
		.copy = copy_all, .quiesce = stops ? backup_quiesce : NULL,
		.resume = backup_resume, .quiesced = o->exec_frozen ? backup_frozen_command : NULL,
		.report = report,
		.err = g->b->err, .errlen = g->b->errlen,
	};
	struct pass_opts po = o->passes;

	po.stop = o->stop;
	if (!stops)
		po.max_passes = 1;
	return passes_run(&ops, g, &po, g->passes);
}

/* How backup @b's freeze ends, as its mode and the group's outcome say. */
static struct dirtybit_tx_action settle_action(const struct backup *b, int ret)
{
	struct dirtybit_tx_action a = { DIRTYBIT_CMD_BITMAP_RECLAIM,
					{ .target = b->o->device, .name = b->o->bitmap } };

	if (!ret && b->o->mode != BACKUP_NEVER)
		a.cmd = DIRTYBIT_CMD_BITMAP_ABDICATE;
	if (ret && b->res->kept) {
		a.cmd = DIRTYBIT_CMD_BITMAP_ABDICATE;
		a.req.keep = true;
		a.req.keep_all = b->o->full;
		a.req.keep_start = b->res->kept_from;
		a.req.keep_len = b->t.size - b->res->kept_from;
	}
	return a;
}

/* Did some bitmap of the group become inconsistent (it cannot abdicate)? */
static bool any_inconsistent(struct backup *b, unsigned int n)
{
	struct dirtybit_bitmap bm;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!dirtybit_bitmap_get(b->ctx, b[i].o->device, b->o->bitmap, &bm) &&
		    bm.flags & DIRTYBIT_BITMAP_F_INCONSISTENT)
			return true;
	return false;
}

/*
 * Ends every freeze in one transaction (the --clear bitmaps abdicate with a
 * success, reclaim with a failure); a failure's reason is the one kept.
 */
static int settle_bitmaps(struct backup *b, unsigned int n, int ret)
{
	struct dirtybit_tx_action acts[DIRTYBIT_MAX_ACTIONS];
	char *e = b->err + strlen(b->err);
	size_t left = b->errlen - (size_t)(e - b->err);
	const struct backup_opts *o = b->o;
	unsigned int i, k, na = 0;
	char why[sizeof(b->ctx->err)];
	const char *next;
	bool kept = false;
	int r;

	for (i = 0; i < n; i++) {
		for (k = 0; k < o->nclears; k++)
			acts[na++] = (struct dirtybit_tx_action){
				ret ? DIRTYBIT_CMD_BITMAP_RECLAIM : DIRTYBIT_CMD_BITMAP_ABDICATE,
				{ .target = b[i].o->device, .name = o->clears[k] } };
		acts[na++] = settle_action(&b[i], ret);
		kept |= b[i].res->kept;
	}
	r = dirtybit_transaction(b->ctx, acts, na);
	if (!r)
		return ret;
	/* The socket's close reclaims; say what that leaves. */
	snprintf(why, sizeof(why), "%s", b->ctx->err);	/* the lookup below clears it */
	next = any_inconsistent(b, n) ?
	       "the bitmap is inconsistent (it missed writes): the next incremental is refused, take a full backup into a new bitmap" :
	       "the bitmap keeps its bits, so the next incremental copies them again";
	if (ret) {
		/* What a kept image lacks is not recorded: it goes, like any partial one. */
		for (i = 0; kept && i < n; i++)
			if (b[i].res->kept) {
				unlink(b[i].o->output);
				b[i].res->kept = false;
			}
		if (kept)
			errf(e, left, ret, "; keeping the partial backup failed (%s), so it was removed; %s",
			     why, next);
		return ret;
	}
	snprintf(b->err, b->errlen,
		 "%s%s complete, but ending the freeze of bitmap %s failed (%s); %s",
		 b->o->output, n > 1 ? " and the other outputs are" : " is", b->o->bitmap,
		 why, next);
	return r;
}

static void close_files(struct backup *b)
{
	qcow2_writer_free(&b->w);
	qcow2_close(b->chain);
	free(b->words);
	if (b->dev >= 0)
		close(b->dev);
	if (b->out >= 0)
		close(b->out);
	if (b->out_direct >= 0)
		close(b->out_direct);
}

/* A signal arrived (SIGINT, SIGTERM, ...): the backup is cancelled. */
static int interrupted(struct backup *b)
{
	return stop_requested(b->o->stop, b->err, b->errlen);
}

int backup_run(struct dirtybit_ctx *ctx, const struct backup_opts *o, unsigned int n,
	       struct backup_result *res, struct pass_result *passes, char *err, size_t errlen)
{
	struct backup b[BACKUP_MAX_DEVICES];
	char partial[BACKUP_MAX_DEVICES][PATH_MAX];
	struct group g = { .b = b, .n = n, .passes = passes };
	unsigned int i, renamed = 0;
	double t0 = mono_now();
	bool unsynced = false;
	int ret = 0;

	memset(passes, 0, sizeof(*passes));
	if (!n || n > BACKUP_MAX_DEVICES)
		return errf(err, errlen, -EINVAL, "1 to %d devices", BACKUP_MAX_DEVICES);
	if (o->nfsfreeze > BACKUP_MAX_FSFREEZE)
		return errf(err, errlen, -EINVAL, "at most %d --fsfreeze", BACKUP_MAX_FSFREEZE);
	for (i = 0; i < BACKUP_MAX_FSFREEZE; i++)
		g.fs[i] = -1;
	for (i = 0; i < n; i++) {
		b[i] = (struct backup){ .ctx = ctx, .o = &o[i], .res = &res[i], .dev = -1,
					.out = -1, .out_direct = -1, .err = err, .errlen = errlen };
		memset(&res[i], 0, sizeof(res[i]));
		if (snprintf(partial[i], PATH_MAX, "%s.partial", o[i].output) >= PATH_MAX)
			return errf(err, errlen, -ENAMETOOLONG, "output path too long");
	}
	/* Every refusal before the cut: a refused backup changes nothing. */
	for (i = 0; i < n && !ret; i++)
		ret = prepare(&b[i]);
	if (!ret)
		ret = backup_check_outputs(b, n, partial);
	for (i = 0; i < n && !ret; i++)
		ret = backup_open_output(&b[i], partial[i]);
	if (!ret)
		ret = backup_check_output_not_frozen(b, n);
	for (i = 0; i < n && !ret; i++)
		ret = backup_start_output(&b[i]);
	if (!ret)
		ret = interrupted(b);
	if (!ret)
		ret = run_passes(&g);
	for (i = 0; i < n && !ret; i++)
		ret = backup_finish_output(&b[i]);
	/* A signal during the command or the finish cancels too. */
	if (!ret)
		ret = interrupted(b);
	for (i = 0; i < n && !ret; i++, renamed++) {
		ret = interrupted(b);
		if (ret)
			break;
		if (rename(partial[i], o[i].output)) {
			ret = errf(err, errlen, -errno, "renaming %s: %s", partial[i],
				   strerror(errno));
			break;
		}
		ret = fsync_dir_of(o[i].output);
		if (ret) {
			/*
			 * Complete, and it replaced any old file of that name:
			 * kept, but not claimed durable; the bitmaps keep their
			 * bits, so nothing depends on it.
			 */
			errf(err, errlen, ret,
			     "%s is complete, but syncing its directory failed (%s): it may not survive a crash; the bitmap keeps its bits",
			     o[i].output, strerror(-ret));
			unsynced = true;
			break;
		}
	}
	for (i = 0; i < n; i++) {
		/* The group failed: an output already complete goes too. */
		if (ret && i < renamed && !unsynced && rename(o[i].output, partial[i]))
			unlink(o[i].output);
		if (ret && g.frozen && o->mode == BACKUP_ALWAYS && !unsynced)
			backup_keep_partial(&b[i], partial[i]);
		if (b[i].out >= 0 && ret && !res[i].kept)
			unlink(partial[i]);
	}
	if (g.frozen)
		ret = settle_bitmaps(b, n, ret);
	for (i = 0; i < n; i++) {
		close_files(&b[i]);
		res[i].seconds = mono_now() - t0;
	}
	return ret;
}
