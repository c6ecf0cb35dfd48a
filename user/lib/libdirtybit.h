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
 * decimal ("3"), which still works after the device went away; a region
 * also by its name or its device node.
 */
struct dirtybit_target {
	uint32_t id;
	uint32_t dev;			/* new_encode_dev() */
	uint32_t state;			/* enum dirtybit_target_state */
	char name[DIRTYBIT_NAME_MAX];	/* "vdb1", or the region's name */
	uint64_t start;			/* bytes into the whole disk */
	uint64_t size;			/* bytes */
	uint64_t overflows;
	uint32_t kind;			/* enum dirtybit_target_kind */
	uint32_t region_flags;		/* DIRTYBIT_REGION_F_* */
};

typedef int (*dirtybit_target_fn)(const struct dirtybit_target *t, void *data);

int dirtybit_attach(struct dirtybit_ctx *ctx, const char *path, struct dirtybit_target *t);
int dirtybit_detach(struct dirtybit_ctx *ctx, const char *target);
/* One target into @t. */
int dirtybit_target_get(struct dirtybit_ctx *ctx, const char *target, struct dirtybit_target *t);
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
	bool next_pass;			/* freeze: a next pass of a frozen bitmap */
	const char *source_target;	/* merge; NULL: the same target */
	const char *source;		/* merge */
	bool keep;			/* abdicate: these frozen bits stay */
	bool keep_all;			/* ... every granule of the range */
	uint64_t keep_start, keep_len;
};

int dirtybit_bitmap(struct dirtybit_ctx *ctx, uint8_t cmd,
		    const struct dirtybit_bitmap_req *req);

/* Bitmap commands applied all or nothing, at one cut (at most 64). */
struct dirtybit_tx_action {
	uint8_t cmd;			/* DIRTYBIT_CMD_BITMAP_*, not GET */
	struct dirtybit_bitmap_req req;
};

int dirtybit_transaction(struct dirtybit_ctx *ctx, const struct dirtybit_tx_action *acts,
			 unsigned int n);

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

/* The bitmap @name of @target into @b; -ENOENT when there is none. */
int dirtybit_bitmap_get(struct dirtybit_ctx *ctx, const char *target, const char *name,
			struct dirtybit_bitmap *b);

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
/*
 * Joins the events group now (dirtybit_monitor() joins it too): events
 * from here on queue on @ctx's socket until dirtybit_monitor() reads them,
 * so a caller that subscribes, then lists or acts, misses none.
 */
int dirtybit_subscribe(struct dirtybit_ctx *ctx);
/* "attached", "frozen", ...; "unknown" for a value this library predates. */
const char *dirtybit_event_name(uint32_t event);

/*
 * Memory regions.  Targets everywhere above may also be a region's name.
 * dirtybit_region_create() returns the region's fd (O_RDWR, close-on-exec;
 * the region outlives it until destroyed with dirtybit_detach()), or
 * -errno with the reason in ctx->err; @node asks for
 * /dev/dirtybit-regions/NAME.  dirtybit_region_open() opens one by name
 * or decimal id, read-only unless @writable, for reading its contents
 * (pread or a read-only mapping).  Neither needs dirtybit_open().
 */
int dirtybit_region_create(struct dirtybit_ctx *ctx, const char *name, uint64_t bytes,
			   bool node, uint32_t *id);
int dirtybit_region_open(struct dirtybit_ctx *ctx, const char *region, bool writable);
int dirtybit_region_info(int fd, struct dirtybit_region_info *info);

/*
 * A bitmap's bits (one per granule, little-endian words, as
 * DIRTYBIT_IOC_BITMAP_READ gives them) into @words; words past the bitmap's
 * end are zeroed.  A frozen bitmap reads stable.  0 or -errno.
 */
int dirtybit_bitmap_read(struct dirtybit_ctx *ctx, uint32_t target_id, const char *name,
			 uint64_t *words, uint64_t nwords);
/* Holds the region's writers (new write faults wait) until released or
 * @fd is closed; 0 or -errno.
 */
int dirtybit_region_hold(int fd);
int dirtybit_region_release(int fd);

#endif /* _LIBDIRTYBIT_H */
