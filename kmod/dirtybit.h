/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces between the files of dirtybit.ko.
 */
#ifndef _DIRTYBIT_H
#define _DIRTYBIT_H

#include <linux/atomic.h>
#include <linux/ctype.h>
#include <linux/dirtybit.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "hbitmap.h"

struct netlink_ext_ack;
struct net;

/*
 * dirtybit_lock serializes every control operation: attach/detach, bitmap
 * changes, transactions, dumps.  The marking paths never take it: they find
 * what to mark through RCU (struct db_rec).
 *
 * Lock order: the block layer's locks (disk->open_mutex, the block class
 * mutex held around device removal callbacks) come before dirtybit_lock, so
 * nothing may open or close a block device, or register with the block
 * class, while holding dirtybit_lock.
 */
extern struct mutex dirtybit_lock;

/*
 * What the marking path records into: the recording bitmaps of one track,
 * published with RCU and replaced as a whole at every change.  @gen counts
 * the replacements; in-flight writes are accounted to the generation they
 * were marked under, so a cut can wait for exactly the writes before it.
 */
struct db_rec {
	struct rcu_head rcu;
	u32 gen;
	unsigned int n;
	struct hbitmap *hb[];
};

struct db_track;

struct db_track_ops {
	/* After a new rec is published and every marker of the old one has
	 * finished: wait until the writes marked under @old_gen completed
	 * (or make sure they are also in @rec).  Called under dirtybit_lock.
	 */
	void (*drain)(struct db_track *tr, u32 old_gen, struct db_rec *rec);
	u32 default_granularity;	/* of a new bitmap */
	u32 min_granularity;
};

/* Marks [@off, @off + @len) in every recording bitmap; under RCU. */
static inline void db_rec_mark(const struct db_rec *rec, u64 off, u64 len)
{
	unsigned int i;

	for (i = 0; i < rec->n; i++)
		hbitmap_set(rec->hb[i], off, len);
}

/* Bitmap and region names: non-empty, of A-Z a-z 0-9 _ . : - */
static inline bool db_name_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum(*s) && !strchr("_.:-", *s))
			return false;
	return true;
}

/* uapi reserved fields must be zero. */
static inline bool db_reserved_zero(const __u64 *r, unsigned int n)
{
	while (n--)
		if (r[n])
			return false;
	return true;
}

/* Anything with named bitmaps: a block target or a memory region. */
struct db_track {
	struct list_head node;		/* db_tracks */
	struct list_head bitmaps;	/* struct db_bitmap */
	struct db_rec __rcu *rec;
	const struct db_track_ops *ops;
	u64 size;			/* bytes tracked */
	u32 id;
	bool gone;			/* nothing more will be marked */
	/* Set from the marking path when the device outgrew the bitmaps;
	 * db_track_settle() then makes every bitmap inconsistent.
	 */
	bool resized;
	bool resize_settled;
	u32 tx_id;			/* transaction bookkeeping */
	bool tx_touched;
};

struct db_bitmap {
	struct list_head node;		/* track->bitmaps */
	struct list_head frozen_node;	/* db_frozen, under db_owner_lock */
	struct db_track *track;
	char name[DIRTYBIT_NAME_MAX];
	struct hbitmap *hb;
	struct hbitmap *successor;	/* non-NULL while frozen */
	bool enabled;
	bool inconsistent;
	u64 seq;			/* bumped on every change of its bits but marks */
	/* The freeze's owner: a netlink socket. */
	const struct net *owner_net;
	u32 owner_portid;
	bool owner_dead;		/* under db_owner_lock */
	/* Transaction view: valid while tx_id == the running transaction's. */
	u32 tx_id;
	bool tx_removed, tx_frozen;
};

/* bitmap.c */
int db_bitmap_init(void);
void db_bitmap_exit(void);
void db_track_init(struct db_track *tr, u64 size, const struct db_track_ops *ops);
int db_track_publish_empty(struct db_track *tr);
void db_track_release(struct db_track *tr);
struct db_track *db_track_find(u32 id);
void db_track_settle(struct db_track *tr);
struct db_bitmap *db_bitmap_find(struct db_track *tr, const char *name);
u32 db_bitmap_flags(const struct db_bitmap *bm);
int db_track_check_unfrozen(struct db_track *tr, struct netlink_ext_ack *extack);
u64 db_next_seq(void);
u64 db_current_seq(void);

/* One action of a transaction (a single bitmap command is a transaction of
 * one), as parsed from netlink.
 */
struct db_source {
	struct db_track *track;
	char name[DIRTYBIT_NAME_MAX];
	struct db_bitmap *bm;		/* resolved */
	struct hbitmap *hb;		/* its bits at the cut */
};

struct db_action {
	u32 cmd;			/* DIRTYBIT_CMD_BITMAP_* */
	struct db_track *track;
	char name[DIRTYBIT_NAME_MAX];
	u32 granularity;
	bool disabled;
	bool force;
	u64 keep_start, keep_len;	/* abdicate: frozen bits that stay */
	bool keep_all;			/* ... every granule of that range */
	unsigned int nsources;
	struct db_source *sources;
	/* prepared and applied */
	struct db_bitmap *bm;
	struct hbitmap *new_hb;
	struct hbitmap *old_hb;
	struct hbitmap *dst_hb;
	bool no_change;			/* enable/disable of a bitmap already so */
};

struct db_requester {
	const struct net *net;
	u32 portid;
};

int db_transaction(struct db_action *acts, unsigned int n,
		   const struct db_requester *who, struct netlink_ext_ack *extack);

/* blk.c */
int db_blk_init(void);
void db_blk_exit(void);
int db_blk_attach(const char *path, u32 *id, struct netlink_ext_ack *extack);
int db_blk_detach(struct db_track *tr, struct netlink_ext_ack *extack);
int db_blk_resolve(const char *path, struct db_track **tr, struct netlink_ext_ack *extack);
bool db_track_is_blk(const struct db_track *tr);

struct db_blk_info {
	u32 dev;
	char name[32];
	u64 start;
	u64 overflows;
};

void db_blk_info(const struct db_track *tr, struct db_blk_info *info);
extern struct list_head db_tracks;

/* mem.c */
int db_region_init(void);
void db_region_exit(void);
bool db_track_is_region(const struct db_track *tr);
long db_region_ioc_create(void __user *argp);
long db_region_ioc_open(void __user *argp);
int db_region_destroy(struct db_track *tr, struct netlink_ext_ack *extack);
int db_region_resolve(const char *path, struct db_track **tr,
		      struct netlink_ext_ack *extack);
void db_region_info(const struct db_track *tr, u32 *dev, const char **name, u32 *flags);
long db_region_pages_held(void);

/* genl.c */
extern struct genl_family dirtybit_genl_family;
int dirtybit_genl_init(void);
void dirtybit_genl_exit(void);
void db_notify(u32 event, const struct db_track *tr, const char *bitmap);

/* cdev.c */
int dirtybit_cdev_init(void);
void dirtybit_cdev_exit(void);

/* debug.c: test knobs.  Live objects by kind, for leak checks. */
enum db_object {
	DB_OBJ_TARGET,			/* block targets and regions */
	DB_OBJ_BITMAP,
	DB_OBJ_REC,
	DB_OBJ_NR
};

extern atomic_long_t db_objects[DB_OBJ_NR];

static inline void db_obj_get(enum db_object kind)
{
	atomic_long_inc(&db_objects[kind]);
}

static inline void db_obj_put(enum db_object kind)
{
	atomic_long_dec(&db_objects[kind]);
}

bool db_fault(void);
void db_debug_init(void);
void db_debug_exit(void);

/* hbitmap_alloc() for the module's bitmaps, behind a fault point. */
static inline struct hbitmap *db_hbitmap_alloc(u64 size, u32 granularity)
{
	return db_fault() ? NULL : hbitmap_alloc(size, granularity, GFP_KERNEL_ACCOUNT);
}

#endif /* _DIRTYBIT_H */
