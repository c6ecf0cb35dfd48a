// SPDX-License-Identifier: GPL-2.0
/*
 * Live image saves.
 *
 * Each region gets a bitmap the save owns before the first pass, which
 * writes every non-zero page: created (or taken over, if a killed save
 * left it) and frozen in one transaction, and frozen by this save's socket
 * from then on.  Every later pass harvests: one transaction takes a next
 * pass of every region's freeze (a cut: the frozen bits become the pages
 * written since the previous cut, the earlier passes' bits stay with the
 * freeze), then those bits — a granule's standing for each of its pages —
 * are read and the pages written.  No other save can clear or cut the
 * bitmap in between (it is busy), a failure RECLAIMs it (every pass's
 * bits), and a save killed outright is reclaimed by the kernel.  The
 * passes are the engine backups share (common/passes.c): the last one (the
 * only one with --passes 1) runs under the writer hold, so the image is the
 * regions at one instant.
 *
 * Durability order: pages, fdatasync, bitmaps, fdatasync, trailer, fsync,
 * rename.  Until the trailer is written the file is incomplete, and until
 * the bitmaps are written no page of it is valid.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../common/fileio.h"
#include "../common/passes.h"
#include "../common/util.h"
#include "pages.h"
#include "save.h"

struct save {
	struct dirtybit_ctx *ctx;
	struct img_source *src;
	unsigned int n;
	const struct img_save_opts *o;
	struct img img;
	struct img_copy copy;
	struct img_save_result *res;
	const char *copying;		/* pass 1: the block being written */
	char *err;
	size_t errlen;
};

/*
 * One or two commands on a region's save bitmap, as one transaction; a
 * @quiet failure keeps err.
 */
static int bitmap_tx(struct save *s, const struct img_source *src, uint8_t cmd, uint8_t then,
		     bool quiet)
{
	char target[16];
	struct dirtybit_tx_action acts[2] = {
		{ cmd, { .target = target, .name = s->o->bitmap,
			 .granularity = cmd == DIRTYBIT_CMD_BITMAP_ADD ?
					(uint32_t)s->o->granularity : 0 } },
		{ then, { .target = target, .name = s->o->bitmap } },
	};
	int ret;

	snprintf(target, sizeof(target), "%u", src->target_id);
	ret = dirtybit_transaction(s->ctx, acts, then ? 2 : 1);
	if (ret && !quiet)
		return errf(s->err, s->errlen, ret, "region %s, bitmap %s: %s", src->block,
			    s->o->bitmap, s->ctx->err);
	return ret;
}

/*
 * The save's bitmap on each region, frozen by this save's socket from now
 * until it ends: each harvest is a next pass of that one freeze, so no
 * other save or command can clear it or take a cut of it in between (it
 * finds it busy), and the kernel reclaims it if the save is killed.  One
 * of that name that nobody holds (a killed save left it) is taken over as
 * it is: frozen with its bits, which pass 1 makes stale (it copies every
 * page), a success drops and a failure gives back.  One that does not
 * record is refused: its harvests would find nothing.
 */
static int start_tracking(struct save *s)
{
	struct dirtybit_bitmap bm;
	char target[16];
	unsigned int i;
	int ret;

	for (i = 0; i < s->n; i++) {
		struct img_source *src = &s->src[i];

		if (src->path)
			continue;
		ret = bitmap_tx(s, src, DIRTYBIT_CMD_BITMAP_ADD, DIRTYBIT_CMD_BITMAP_FREEZE, true);
		src->created = !ret;
		if (ret == -EEXIST)
			ret = bitmap_tx(s, src, DIRTYBIT_CMD_BITMAP_FREEZE, 0, true);
		if (ret == -EBUSY)
			return errf(s->err, s->errlen, ret,
				    "region %s: bitmap %s is in use (frozen by another save or a backup); give this save another --bitmap",
				    src->block, s->o->bitmap);
		if (ret)
			return errf(s->err, s->errlen, ret, "region %s, bitmap %s: %s", src->block,
				    s->o->bitmap, s->ctx->err);
		src->owned = true;
		snprintf(target, sizeof(target), "%u", src->target_id);
		ret = dirtybit_bitmap_get(s->ctx, target, s->o->bitmap, &bm);
		if (ret)
			return errf(s->err, s->errlen, ret, "region %s: %s", src->block,
				    s->ctx->err);
		if (!(bm.flags & DIRTYBIT_BITMAP_F_RECORDING))
			return errf(s->err, s->errlen, -EINVAL,
				    "region %s: bitmap %s is disabled (it records nothing): enable it, or give another --bitmap",
				    src->block, s->o->bitmap);
		/* A bit may stand for several of the image's pages, never less. */
		if (bm.granularity < IMG_PAGE_SIZE || bm.granularity % IMG_PAGE_SIZE)
			return errf(s->err, s->errlen, -EINVAL,
				    "region %s: bitmap %s has %u-byte granules, not pages",
				    src->block, s->o->bitmap, bm.granularity);
		src->granularity = bm.granularity;
	}
	return 0;
}

/*
 * Ends what start_tracking() began, on the regions it reached.  Kept: after
 * a success with --keep-bitmap (abdicated: what was written since the last
 * cut), and a bitmap taken over when the save fails (reclaimed: every bit
 * it had, and every write since).  Removed otherwise.
 */
static void stop_tracking(struct save *s, bool ok)
{
	unsigned int i;

	for (i = 0; i < s->n; i++) {
		struct img_source *src = &s->src[i];

		if (!src->owned)
			continue;
		if (ok ? s->o->keep_bitmap : !src->created)
			bitmap_tx(s, src, ok ? DIRTYBIT_CMD_BITMAP_ABDICATE :
				  DIRTYBIT_CMD_BITMAP_RECLAIM, 0, true);
		else
			bitmap_tx(s, src, DIRTYBIT_CMD_BITMAP_RECLAIM, DIRTYBIT_CMD_BITMAP_REMOVE,
				  true);
		src->owned = false;
	}
}

/* The frozen bits of @src as one bit per image page in src->dirty. */
static int read_dirty(struct save *s, struct img_source *src, const struct img_block *b)
{
	uint64_t per = src->granularity / IMG_PAGE_SIZE, g, p, end;
	uint64_t ngran = (b->npages + per - 1) / per;
	uint64_t *words = per == 1 ? src->dirty : src->granules;
	int ret;

	ret = dirtybit_bitmap_read(s->ctx, src->target_id, s->o->bitmap, words, (ngran + 63) / 64);
	if (ret)
		return errf(s->err, s->errlen, ret, "region %s: reading bitmap %s: %s", src->block,
			    s->o->bitmap, s->ctx->err);
	if (per == 1)
		return 0;
	memset(src->dirty, 0, (b->npages + 63) / 64 * 8);
	for (g = 0; g < ngran; g++) {
		if (!(words[g / 64] >> (g % 64) & 1))
			continue;
		end = (g + 1) * per < b->npages ? (g + 1) * per : b->npages;
		for (p = g * per; p < end; p++)
			src->dirty[p / 64] |= 1ULL << (p % 64);
	}
	return 0;
}

/*
 * The next pass's cut: one transaction over the regions' bitmaps (in
 * groups of the most a transaction takes; the last pass is held anyway).
 */
static int next_cut(void *arg)
{
	struct save *s = arg;
	struct dirtybit_tx_action acts[DIRTYBIT_MAX_ACTIONS];
	char target[DIRTYBIT_MAX_ACTIONS][16];
	unsigned int i, na = 0;
	int ret = 0;

	for (i = 0; i <= s->n && !ret; i++) {
		if (na && (i == s->n || na == DIRTYBIT_MAX_ACTIONS)) {
			ret = dirtybit_transaction(s->ctx, acts, na);
			na = 0;
		}
		if (i == s->n || s->src[i].path)
			continue;
		snprintf(target[na], sizeof(target[na]), "%u", s->src[i].target_id);
		acts[na] = (struct dirtybit_tx_action){ DIRTYBIT_CMD_BITMAP_FREEZE,
			{ .target = target[na], .name = s->o->bitmap, .next_pass = true } };
		na++;
	}
	if (ret)
		return errf(s->err, s->errlen, ret, "bitmap %s: next pass: %s", s->o->bitmap,
			    s->ctx->err);
	return ret;
}

/* Bytes written to the regions since the last cut. */
static int pending(void *arg, uint64_t *bytes)
{
	struct save *s = arg;
	struct dirtybit_bitmap bm;
	char target[16];
	unsigned int i;
	int ret;

	*bytes = 0;
	for (i = 0; i < s->n; i++) {
		if (s->src[i].path)
			continue;
		snprintf(target, sizeof(target), "%u", s->src[i].target_id);
		ret = dirtybit_bitmap_get(s->ctx, target, s->o->bitmap, &bm);
		if (ret)
			return errf(s->err, s->errlen, ret, "region %s: %s", s->src[i].block,
				    s->ctx->err);
		*bytes += bm.successor_count;
	}
	return 0;
}

/* Pass 1: how far, to the caller's progress report. */
static void copying(void *arg, uint64_t done, uint64_t total)
{
	struct save *s = arg;

	s->o->progress->copying(s->o->progress->arg, s->copying, done, total, false);
}

/*
 * Pass @k: the first writes every page of every source; a later one, of
 * each region, the pages its frozen bits name (written since the previous
 * cut).  On a failure the frozen bits stay frozen; stop_tracking()
 * reclaims them with every earlier pass's.
 */
static int copy_pass(void *arg, unsigned int k, uint64_t *bytes)
{
	struct save *s = arg;
	const struct img_save_progress *progress = s->o->progress;
	struct img_pass *p = &s->res->pass[k];
	unsigned int i;
	int ret = 0;

	for (i = 0; i < s->n && !ret; i++) {
		struct img_source *src = &s->src[i];
		struct img_block *b = img_block_find(&s->img, src->block);
		uint64_t w = s->copy.pages_written, z = s->copy.pages_zero;

		if (k && src->path)
			continue;
		s->copy.src_fd = src->fd;
		if (!k) {
			s->copying = b->id;
			s->copy.progress = progress && progress->copying ? copying : NULL;
			s->copy.progress_arg = s;
			ret = img_save_pages(&s->copy, b, NULL, s->err, s->errlen);
			if (s->copy.progress)
				progress->copying(progress->arg, b->id, b->npages, b->npages, true);
			s->copy.progress = NULL;
			p->pages += b->npages;
		} else {
			ret = read_dirty(s, src, b);
			if (ret)
				break;
			p->pages += bits_weight(src->dirty, b->npages);
			ret = img_save_pages(&s->copy, b, src->dirty, s->err, s->errlen);
		}
		p->written += s->copy.pages_written - w;
		p->zero += s->copy.pages_zero - z;
	}
	*bytes = p->pages * IMG_PAGE_SIZE;
	return ret;
}

static int hold_all(struct save *s, bool hold)
{
	unsigned int i;
	int ret;

	for (i = 0; i < s->n; i++) {
		if (s->src[i].path)
			continue;
		if (!hold) {
			if (s->src[i].held)
				dirtybit_region_release(s->src[i].fd);
			s->src[i].held = false;
			continue;
		}
		ret = dirtybit_region_hold(s->src[i].fd);
		if (ret)
			return errf(s->err, s->errlen, ret, "region %s: writer hold: %s",
				    s->src[i].block, strerror(-ret));
		s->src[i].held = true;
	}
	return 0;
}

static int quiesce(void *arg)
{
	return hold_all(arg, true);
}

static int resume(void *arg, int ret)
{
	(void)ret;
	return hold_all(arg, false);
}

/* A signal arrived (SIGINT, SIGTERM, ...): the save is cancelled. */
static int interrupted(struct save *s)
{
	return stop_requested(s->o->stop, s->err, s->errlen);
}

/* The end of the held pass: the command, still held. */
static int held_command(void *arg)
{
	struct save *s = arg;

	return run_command(s->o->exec_held, s->o->stop, "the command run under the hold failed",
			   s->err, s->errlen);
}

static void report(void *arg, unsigned int k, uint64_t bytes, double seconds, bool held)
{
	struct save *s = arg;

	(void)bytes;
	if (s->o->progress && s->o->progress->pass)
		s->o->progress->pass(s->o->progress->arg, k, &s->res->pass[k], seconds, held);
}

/* The passes, by the engine every live copy shares (common/passes.c). */
static int run_passes(struct save *s)
{
	struct pass_ops ops = {
		.next_cut = next_cut, .pending = pending, .copy = copy_pass,
		.quiesce = s->o->hold ? quiesce : NULL, .resume = resume,
		.quiesced = s->o->exec_held && s->o->hold ? held_command : NULL,
		.report = report,
		.err = s->err, .errlen = s->errlen,
	};
	struct pass_opts po = s->o->passes;
	bool live = false;
	unsigned int i;

	for (i = 0; i < s->n; i++)
		live |= !s->src[i].path;
	/* Plain files only: one pass, nothing to hold. */
	if (!live) {
		po.max_passes = 1;
		ops.quiesce = NULL;
		ops.quiesced = NULL;
	}
	po.stop = s->o->stop;
	return passes_run(&ops, s, &po, &s->res->passes);
}

static int sync_fd(struct save *s, int fd, const char *what)
{
	if (!fdatasync(fd))
		return 0;
	return errf(s->err, s->errlen, -errno, "flushing the %s: %s", what, strerror(errno));
}

/* Pages durable, then the bitmaps that call them valid, then the trailer. */
static int finish(struct save *s, int meta, int data)
{
	int ret = sync_fd(s, data, "pages");

	if (!ret && data != meta)
		ret = sync_fd(s, meta, "image");
	if (!ret)
		ret = img_write_bitmaps(meta, &s->img, s->err, s->errlen);
	if (!ret)
		ret = sync_fd(s, meta, "bitmaps");
	if (!ret)
		ret = img_write_end(meta, &s->img, s->err, s->errlen);
	if (!ret && fsync(meta))
		ret = errf(s->err, s->errlen, -errno, "flushing the image: %s", strerror(errno));
	return ret;
}

static int layout(struct save *s)
{
	unsigned int i;

	s->img.nblocks = s->n;
	s->img.blocks = calloc(s->n, sizeof(*s->img.blocks));
	if (!s->img.blocks)
		return -ENOMEM;
	snprintf(s->img.machine, sizeof(s->img.machine), "%s",
		 s->o->machine ? s->o->machine : IMG_MACHINE_DEFAULT);
	for (i = 0; i < s->n; i++) {
		snprintf(s->img.blocks[i].id, sizeof(s->img.blocks[i].id), "%s", s->src[i].block);
		s->img.blocks[i].used_length = s->src[i].size;
		if (s->src[i].path)
			continue;
		s->src[i].dirty = calloc((s->src[i].size / IMG_PAGE_SIZE + 63) / 64, 8);
		s->src[i].granules = calloc((s->src[i].size / IMG_PAGE_SIZE + 63) / 64, 8);
		if (!s->src[i].dirty || !s->src[i].granules)
			return -ENOMEM;
	}
	return img_layout(&s->img, s->err, s->errlen);
}

int img_save(struct dirtybit_ctx *ctx, const char *path, struct img_source *src,
	     unsigned int n, const struct img_save_opts *o, struct img_save_result *res,
	     char *err, size_t errlen)
{
	struct save s = { .ctx = ctx, .src = src, .n = n, .o = o, .res = res, .err = err,
			  .errlen = errlen };
	char partial[4096];
	int meta = -1, data = -1, ret;
	struct stat st;
	double t0 = mono_now();
	unsigned int i;

	memset(res, 0, sizeof(*res));
	if (snprintf(partial, sizeof(partial), "%s.partial", path) >= (int)sizeof(partial))
		return -ENAMETOOLONG;
	ret = layout(&s);
	if (ret)
		goto out;
	/* Afresh, never through a symlink someone left at that name. */
	meta = create_partial(partial, o->direct ? &data : NULL);
	if (meta < 0) {
		ret = errf(err, errlen, meta, "%s: %s", partial, meta == -EEXIST ?
			   "not a regular file (or replaced)" : strerror(-meta));
		goto out;
	}
	if (!o->direct)
		data = meta;
	/* The slots exist as holes from the start: the size never grows. */
	if (ftruncate(meta, (off_t)s.img.end)) {
		ret = errf(err, errlen, -errno, "%s: %s", partial, strerror(errno));
		goto out_unlink;
	}
	ret = img_write_start(meta, &s.img, err, errlen);
	if (ret)
		goto out_unlink;
	s.copy.img_fd = data;
	s.copy.threads = o->threads;
	s.copy.stop = o->stop;
	ret = start_tracking(&s);
	if (!ret)
		ret = run_passes(&s);
	if (!ret)
		ret = finish(&s, meta, data);
	if (!ret)
		ret = interrupted(&s);	/* the finish's flushes take a while */
	if (!ret && rename(partial, path))
		ret = errf(err, errlen, -errno, "renaming %s: %s", partial, strerror(errno));
	if (ret)
		goto out_unlink;
	ret = fsync_dir_of(path);
	if (ret) {
		/* Complete, and it replaced any old FILE: kept, but not claimed durable. */
		errf(err, errlen, ret,
		     "%s is complete, but syncing its directory failed (%s): it may not survive a crash",
		     path, strerror(-ret));
		goto out;
	}
	if (!fstat(meta, &st)) {
		res->file_size = (uint64_t)st.st_size;
		res->allocated = (uint64_t)st.st_blocks * 512;
	}
	goto out;
out_unlink:
	unlink(partial);
out:
	stop_tracking(&s, !ret);
	res->seconds = mono_now() - t0;
	if (data >= 0 && data != meta)
		close(data);
	if (meta >= 0)
		close(meta);
	for (i = 0; i < n; i++) {
		free(src[i].dirty);
		free(src[i].granules);
		src[i].dirty = NULL;
		src[i].granules = NULL;
	}
	img_free(&s.img);
	if (ret == -ENOMEM && !err[0])
		errf(err, errlen, ret, "out of memory");
	return ret;
}
