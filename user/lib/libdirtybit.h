/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdirtybit: all of the dirtybit CLI's kernel access, for agents to link.
 *
 * Every call returns 0 (or a positive count) on success and a negative errno
 * on failure, with a one-line human-readable reason in ctx->err: the kernel's
 * extack message when it sent one.
 */
#ifndef _LIBDIRTYBIT_H
#define _LIBDIRTYBIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/dirtybit.h>

struct mnl_socket;

struct dirtybit_ctx {
	struct mnl_socket *nl;
	uint16_t family;
	uint32_t portid;
	uint32_t seq;
	uint32_t events_group;		/* multicast group id */
	char err[512];
};

struct dirtybit_version {
	char module[DIRTYBIT_VERSION_LEN];
	uint32_t protocol;
};

/* Opens the control socket and resolves the family; -ENOENT with a clear
 * message when the module is not loaded (and could not be autoloaded).
 */
int dirtybit_open(struct dirtybit_ctx *ctx);
void dirtybit_close(struct dirtybit_ctx *ctx);

int dirtybit_get_version(struct dirtybit_ctx *ctx, struct dirtybit_version *v);

/*
 * A target is named by its block device path, or by its id written in
 * decimal ("3"), which still works after the device went away.
 */
struct dirtybit_target {
	uint32_t id;
	uint32_t dev;			/* new_encode_dev() */
	uint32_t state;			/* enum dirtybit_target_state */
	char name[32];
	uint64_t start;			/* bytes into the whole disk */
	uint64_t size;			/* bytes */
	uint64_t overflows;
};

typedef int (*dirtybit_target_fn)(const struct dirtybit_target *t, void *data);

int dirtybit_attach(struct dirtybit_ctx *ctx, const char *path, struct dirtybit_target *t);
int dirtybit_detach(struct dirtybit_ctx *ctx, const char *target);
/* Every target (or just @target when not NULL). */
int dirtybit_targets(struct dirtybit_ctx *ctx, const char *target,
		     dirtybit_target_fn fn, void *data);

/* One bitmap command: DIRTYBIT_CMD_BITMAP_ADD ... _RECLAIM. */
struct dirtybit_bitmap_req {
	const char *target;
	const char *name;
	uint32_t granularity;		/* add; 0: the default */
	bool disabled;			/* add */
	bool force;			/* reclaim */
	const char *source_target;	/* merge; NULL: the same target */
	const char *source;		/* merge */
};

int dirtybit_bitmap(struct dirtybit_ctx *ctx, uint8_t cmd,
		    const struct dirtybit_bitmap_req *req);

struct dirtybit_bitmap {
	uint32_t target_id;
	uint32_t granularity;
	uint32_t flags;			/* DIRTYBIT_BITMAP_F_* */
	char name[DIRTYBIT_NAME_MAX];
	uint64_t count;			/* dirty bytes */
	uint64_t successor_count;	/* frozen: bytes since the freeze */
};

typedef int (*dirtybit_bitmap_fn)(const struct dirtybit_bitmap *b, void *data);

/* Every bitmap of @target (NULL: of every target). */
int dirtybit_bitmaps(struct dirtybit_ctx *ctx, const char *target,
		     dirtybit_bitmap_fn fn, void *data);

typedef int (*dirtybit_extent_fn)(uint64_t start, uint64_t length, void *data);

/* The dirty extents of a bitmap, in order; *changed is set when the bitmap
 * was cleared, merged, frozen, abdicated or reclaimed during the walk.
 */
int dirtybit_extents(struct dirtybit_ctx *ctx, const char *target, const char *name,
		     dirtybit_extent_fn fn, void *data, bool *changed);

struct dirtybit_event_info {
	uint32_t event;			/* enum dirtybit_event */
	uint32_t target_id;
	char bitmap[DIRTYBIT_NAME_MAX];	/* "" for target events */
};

/* Called per event; a non-zero return ends dirtybit_monitor() with it. */
typedef int (*dirtybit_event_fn)(const struct dirtybit_event_info *ev, void *data);

/*
 * Joins the events group (needs CAP_NET_ADMIN) and calls @fn for each
 * event until it returns non-zero, which is returned.  -ENOBUFS means
 * events were lost (the socket overran); the caller may call again.
 */
int dirtybit_monitor(struct dirtybit_ctx *ctx, dirtybit_event_fn fn, void *data);
/* "attached", "frozen", ...; "unknown" for a value this library predates. */
const char *dirtybit_event_name(uint32_t event);

#endif /* _LIBDIRTYBIT_H */
