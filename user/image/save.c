// SPDX-License-Identifier: GPL-2.0
/*
 * Live image saves.
 *
 * Each region gets a bitmap the save owns (created, or cleared if a killed
 * save left it) before the first pass, which writes every non-zero page.
 * Every later pass harvests: FREEZE (a cut), read the frozen bits, write
 * those pages, ABDICATE; on any failure RECLAIM, so no bit is lost, and a
 * save killed outright is reclaimed by the kernel (the freeze is bound to
 * its socket).  Passes stop when one finds fewer than the threshold or at
 * the limit; the last one runs under the writer hold, so the image is the
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
	char *err;
	size_t errlen;
};

/* A bitmap command on a region's save bitmap; a @quiet failure keeps err. */
static int bitmap_cmd(struct save *s, const struct img_source *src, uint8_t cmd, bool quiet)
{
	char target[16];
	struct dirtybit_bitmap_req req = { .target = target, .name = s->o->bitmap };
	int ret;

	snprintf(target, sizeof(target), "%u", src->target_id);
	ret = dirtybit_bitmap(s->ctx, cmd, &req);
	if (ret && !quiet)
		snprintf(s->err, s->errlen, "region %s, bitmap %s: %s", src->block,
			 s->o->bitmap, s->ctx->err);
	return ret;
}

/* The save's bitmap on each region, empty from now on. */
static int start_tracking(struct save *s)
{
	unsigned int i;
	int ret;

	for (i = 0; i < s->n; i++) {
		if (s->src[i].path)
			continue;
		ret = bitmap_cmd(s, &s->src[i], DIRTYBIT_CMD_BITMAP_ADD, false);
		if (ret == -EEXIST)	/* left by a save that was killed */
			ret = bitmap_cmd(s, &s->src[i], DIRTYBIT_CMD_BITMAP_CLEAR, false);
		if (ret)
			return ret;
	}
	return 0;
}

static void stop_tracking(struct save *s)
{
	unsigned int i;

	if (s->o->keep_bitmap)
		return;
	for (i = 0; i < s->n; i++)
		if (!s->src[i].path)
			bitmap_cmd(s, &s->src[i], DIRTYBIT_CMD_BITMAP_REMOVE, true);
}

/* One harvest of one region: freeze, read, write, abdicate (or reclaim). */
static int harvest(struct save *s, struct img_source *src, struct img_pass *p)
{
	struct img_block *b = img_block_find(&s->img, src->block);
	int ret;

	ret = bitmap_cmd(s, src, DIRTYBIT_CMD_BITMAP_FREEZE, false);
	if (ret)
		return ret;
	ret = dirtybit_bitmap_read(s->ctx, src->target_id, s->o->bitmap, src->dirty,
				   (b->npages + 63) / 64);
	if (ret)
		snprintf(s->err, s->errlen, "region %s: reading bitmap %s: %s", src->block,
			 s->o->bitmap, s->ctx->err);
	if (!ret) {
		uint64_t w = s->copy.pages_written, z = s->copy.pages_zero;

		p->pages += bits_weight(src->dirty, b->npages);
		ret = img_save_pages(&s->copy, b, src->dirty, s->err, s->errlen);
		p->written += s->copy.pages_written - w;
		p->zero += s->copy.pages_zero - z;
	}
	if (ret) {
		bitmap_cmd(s, src, DIRTYBIT_CMD_BITMAP_RECLAIM, true);
		return ret;
	}
	return bitmap_cmd(s, src, DIRTYBIT_CMD_BITMAP_ABDICATE, false);
}

/* Pass 1 on a terminal: how far, at most five times a second. */
static void show_progress(void *arg, uint64_t done, uint64_t total)
{
	static double last;
	struct img_block *b = arg;

	if (!progress_due(&last, mono_now()))
		return;
	fprintf(stderr, "\rpass 1: %s %llu/%llu MiB", b->id,
		(unsigned long long)(done * IMG_PAGE_SIZE >> 20),
		(unsigned long long)(total * IMG_PAGE_SIZE >> 20));
}

static int first_pass(struct save *s, struct img_pass *p)
{
	unsigned int i;
	int ret;

	for (i = 0; i < s->n; i++) {
		struct img_block *b = img_block_find(&s->img, s->src[i].block);
		uint64_t w = s->copy.pages_written, z = s->copy.pages_zero;

		s->copy.src_fd = s->src[i].fd;
		s->copy.progress = s->o->progress ? show_progress : NULL;
		s->copy.progress_arg = b;
		ret = img_save_pages(&s->copy, b, NULL, s->err, s->errlen);
		if (s->copy.progress)
			fputs("\r\033[K", stderr);	/* the pass's line replaces it */
		s->copy.progress = NULL;
		p->pages += b->npages;
		p->written += s->copy.pages_written - w;
		p->zero += s->copy.pages_zero - z;
		if (ret)
			return ret;
	}
	return 0;
}

static int live_pass(struct save *s, struct img_pass *p)
{
	unsigned int i;
	int ret;

	for (i = 0; i < s->n; i++) {
		if (s->src[i].path)
			continue;
		s->copy.src_fd = s->src[i].fd;
		ret = harvest(s, &s->src[i], p);
		if (ret)
			return ret;
	}
	return 0;
}

static int hold_all(struct save *s, bool hold, unsigned int *held)
{
	unsigned int i;
	int ret;

	for (i = 0; i < s->n; i++) {
		if (s->src[i].path)
			continue;
		if (!hold) {
			dirtybit_region_release(s->src[i].fd);
			continue;
		}
		ret = dirtybit_region_hold(s->src[i].fd);
		if (ret) {
			snprintf(s->err, s->errlen, "region %s: writer hold: %s", s->src[i].block,
				 strerror(-ret));
			return ret;
		}
		(*held)++;
	}
	return 0;
}

static void report(const struct save *s, unsigned int k, const struct img_pass *p)
{
	if (!s->o->progress)
		return;
	fprintf(stderr, "pass %u%s: %llu pages, %llu written, %llu zero, %.3f s\n", k + 1,
		p->held ? " (writers held)" : "", (unsigned long long)p->pages,
		(unsigned long long)p->written, (unsigned long long)p->zero, p->seconds);
}

static int run_passes(struct save *s, struct img_save_result *res)
{
	unsigned int max = s->o->max_passes ? s->o->max_passes : 8, held = 0, i;
	bool live = false;
	double t;
	int ret;

	for (i = 0; i < s->n; i++)
		live |= !s->src[i].path;
	if (max > IMG_MAX_PASSES)
		max = IMG_MAX_PASSES;
	t = mono_now();
	ret = first_pass(s, &res->pass[0]);
	res->pass[0].seconds = mono_now() - t;
	res->npasses = 1;
	report(s, 0, &res->pass[0]);
	while (!ret && live) {
		struct img_pass *p = &res->pass[res->npasses];
		bool last = res->npasses + 1 >= max ||
			    res->pass[res->npasses - 1].pages <= s->o->threshold;

		if (last && s->o->hold) {
			ret = hold_all(s, true, &held);
			p->held = true;
		}
		t = mono_now();
		if (!ret)
			ret = live_pass(s, p);
		p->seconds = mono_now() - t;
		if (!ret && held && s->o->exec_held && run_shell(s->o->exec_held)) {
			ret = -ECANCELED;
			snprintf(s->err, s->errlen, "the command run under the hold failed");
		}
		if (held) {
			hold_all(s, false, &held);
			res->hold_seconds = mono_now() - t;
		}
		report(s, res->npasses, p);
		res->npasses++;
		if (last)
			break;
	}
	return ret;
}

static int sync_fd(struct save *s, int fd, const char *what)
{
	if (!fdatasync(fd))
		return 0;
	snprintf(s->err, s->errlen, "flushing the %s: %s", what, strerror(errno));
	return -errno;
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
	if (!ret && fsync(meta)) {
		ret = -errno;
		snprintf(s->err, s->errlen, "flushing the image: %s", strerror(errno));
	}
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
		if (!s->src[i].dirty)
			return -ENOMEM;
	}
	return img_layout(&s->img, s->err, s->errlen);
}

int img_save(struct dirtybit_ctx *ctx, const char *path, struct img_source *src,
	     unsigned int n, const struct img_save_opts *o, struct img_save_result *res,
	     char *err, size_t errlen)
{
	struct save s = { .ctx = ctx, .src = src, .n = n, .o = o, .err = err, .errlen = errlen };
	char partial[4096];
	bool tracking = false;
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
	meta = open(partial, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (meta < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", partial, strerror(errno));
		goto out;
	}
	data = o->direct ? open(partial, O_RDWR | O_DIRECT | O_CLOEXEC) : meta;
	if (data < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: O_DIRECT: %s", partial, strerror(errno));
		goto out_unlink;
	}
	/* The slots exist as holes from the start: the size never grows. */
	if (ftruncate(meta, (off_t)s.img.end)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", partial, strerror(errno));
		goto out_unlink;
	}
	ret = img_write_start(meta, &s.img, err, errlen);
	if (ret)
		goto out_unlink;
	s.copy.img_fd = data;
	s.copy.threads = o->threads;
	s.copy.stop = o->stop;
	ret = start_tracking(&s);
	tracking = !ret;
	if (!ret)
		ret = run_passes(&s, res);
	if (!ret)
		ret = finish(&s, meta, data);
	if (!ret && rename(partial, path)) {
		ret = -errno;
		snprintf(err, errlen, "renaming %s: %s", partial, strerror(errno));
	}
	if (ret)
		goto out_unlink;
	fsync_dir_of(path);
	if (!fstat(meta, &st)) {
		res->file_size = (uint64_t)st.st_size;
		res->allocated = (uint64_t)st.st_blocks * 512;
	}
	goto out;
out_unlink:
	unlink(partial);
out:
	if (tracking)
		stop_tracking(&s);
	res->seconds = mono_now() - t0;
	if (data >= 0 && data != meta)
		close(data);
	if (meta >= 0)
		close(meta);
	for (i = 0; i < n; i++) {
		free(src[i].dirty);
		src[i].dirty = NULL;
	}
	img_free(&s.img);
	if (ret == -ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	return ret;
}
