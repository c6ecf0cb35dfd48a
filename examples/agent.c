// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An example backup agent on libdirtybit's public API, and nothing else.
 *
 *   agent DEVICE OUTPUT
 *
 * It tracks DEVICE from now on, waits for a line on stdin (the writes worth
 * backing up happen meanwhile), then copies only the blocks written since
 * into OUTPUT, a sparse file as large as DEVICE holding them at their own
 * offsets, and prints the events its work caused.  The steps are those of
 * any incremental backup:
 *
 *   attach DEVICE, add bitmap "agent"   every write from now on is marked
 *   freeze the bitmap                   its bits stand still; new writes go
 *                                       to its successor
 *   copy its extents                    the blocks written, read from DEVICE
 *   abdicate                            done: the successor carries on (on a
 *                                       failed copy, reclaim: the bits return
 *                                       for the next backup)
 *
 * Build it with `pkg-config --cflags --libs libdirtybit`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdirtybit.h>

#define BITMAP "agent"
#define CHUNK (1 << 20)

struct copy {
	int in, out;
	char *buf;
	uint64_t bytes;
	int err;	/* the first failure: a callback's return only stops the walk */
};

/* One dirty extent: from DEVICE to the same offset of OUTPUT. */
static int copy_extent(uint64_t start, uint64_t length, void *data)
{
	struct copy *c = data;

	printf("extent %llu %llu\n", (unsigned long long)start, (unsigned long long)length);
	while (length) {
		size_t n = length < CHUNK ? length : CHUNK;
		ssize_t got = pread(c->in, c->buf, n, start);

		if (got <= 0)
			c->err = got ? -errno : -EIO;	/* EIO: the device ended early */
		else if (pwrite(c->out, c->buf, got, start) != got)
			c->err = -EIO;
		if (c->err)
			return c->err;
		start += got;
		length -= got;
		c->bytes += got;
	}
	return 0;
}

/* Prints our target's events; stops at its detach, the last one we cause. */
static int on_event(const struct dirtybit_event_info *ev, void *data)
{
	uint32_t target = *(uint32_t *)data;

	if (ev->target_id != target)
		return 0;
	printf("event %s%s%s\n", dirtybit_event_name(ev->event), ev->bitmap[0] ? " " : "",
	       ev->bitmap);
	return ev->event == DIRTYBIT_EVENT_TARGET_DETACHED;
}

static int fail(struct dirtybit_ctx *ctx, const char *what, int err)
{
	fprintf(stderr, "agent: %s: %s\n", what, ctx->err[0] ? ctx->err : strerror(-err));
	return 1;
}

static int backup(struct dirtybit_ctx *ctx, const char *device, const char *output,
		  const struct dirtybit_target *t)
{
	struct dirtybit_bitmap_req req = { .target = device, .name = BITMAP };
	struct copy c = { .buf = malloc(CHUNK) };
	char partial[4096];
	bool changed = false;
	int err;

	/* Written aside and renamed when complete: a failure leaves OUTPUT as it was. */
	if (snprintf(partial, sizeof(partial), "%s.partial", output) >= (int)sizeof(partial))
		return -fail(ctx, "output", -ENAMETOOLONG);

	err = dirtybit_bitmap(ctx, DIRTYBIT_CMD_BITMAP_FREEZE, &req);
	if (err)
		return -fail(ctx, "freeze", err);
	c.in = open(device, O_RDONLY | O_CLOEXEC);
	c.out = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	err = !c.buf || c.in < 0 || c.out < 0 || ftruncate(c.out, t->size) ? -errno : 0;
	if (!err)
		err = dirtybit_extents(ctx, device, BITMAP, copy_extent, &c, &changed);
	if (!err)
		err = c.err;
	if (!err && changed)
		err = -ESTALE;	/* someone else reclaimed or cleared our frozen bitmap */
	if (!err && fsync(c.out))
		err = -errno;
	if (!err && rename(partial, output))
		err = -errno;
	if (c.in >= 0)
		close(c.in);
	if (c.out >= 0)
		close(c.out);
	free(c.buf);
	if (err) {
		fprintf(stderr, "agent: copy: %s\n", ctx->err[0] ? ctx->err : strerror(-err));
		unlink(partial);
		/* The frozen bits go back into the bitmap: nothing is lost. */
		err = dirtybit_bitmap(ctx, DIRTYBIT_CMD_BITMAP_RECLAIM, &req);
		if (err)
			fail(ctx, "reclaim", err);
		return -1;
	}
	printf("copied %llu bytes\n", (unsigned long long)c.bytes);
	err = dirtybit_bitmap(ctx, DIRTYBIT_CMD_BITMAP_ABDICATE, &req);
	return err ? -fail(ctx, "abdicate", err) : 0;
}

int main(int argc, char **argv)
{
	struct dirtybit_ctx ctx, events;
	struct dirtybit_bitmap_req req = { .name = BITMAP };
	struct dirtybit_bitmap b;
	struct dirtybit_target t;
	char line[16];
	int err, ret;

	if (argc != 3) {
		fprintf(stderr, "usage: agent DEVICE OUTPUT\n");
		return 2;
	}
	req.target = argv[1];
	/* Events go to a socket of their own, joined before we act. */
	err = dirtybit_open(&ctx);
	if (err)
		return fail(&ctx, "open", err);
	err = dirtybit_open(&events);
	if (!err)
		err = dirtybit_subscribe(&events);
	if (err)
		return fail(&events, "events", err);

	err = dirtybit_attach(&ctx, argv[1], &t);
	if (err)
		return fail(&ctx, "attach", err);
	err = dirtybit_bitmap(&ctx, DIRTYBIT_CMD_BITMAP_ADD, &req);
	if (!err)
		err = dirtybit_bitmap_get(&ctx, argv[1], BITMAP, &b);
	if (err) {
		ret = fail(&ctx, "bitmap add", err);
		dirtybit_detach(&ctx, argv[1]);
		return ret;
	}
	printf("target %u %s, %llu bytes, granularity %u\nready\n", t.id, t.name,
	       (unsigned long long)t.size, b.granularity);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		fprintf(stderr, "agent: no go on stdin; backing up now\n");

	ret = backup(&ctx, argv[1], argv[2], &t);
	/*
	 * A failed backup keeps the target and its bitmap, which holds every
	 * change since the last good one: the next run would copy them.  This
	 * example, after a good one, cleans up.
	 */
	if (ret < 0)
		return 1;
	err = dirtybit_bitmap(&ctx, DIRTYBIT_CMD_BITMAP_REMOVE, &req);
	if (!err)
		err = dirtybit_detach(&ctx, argv[1]);
	if (err)
		return fail(&ctx, "cleanup", err);
	err = dirtybit_monitor(&events, on_event, &t.id);
	if (err < 0)
		return fail(&events, "events", err);
	dirtybit_close(&events);
	dirtybit_close(&ctx);
	return ret;
}
