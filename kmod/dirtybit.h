/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces between the files of dirtybit.ko.
 *
 * Targets and tracks.  A target is what userspace attaches and names
 * (DIRTYBIT_A_TARGET_*, TARGET_ID): a block device (struct db_blk_target,
 * blk.c) or a memory region (struct db_region, region.c).  A track (struct
 * db_track) is the part of every target that the bitmap core works on, the
 * same for every kind: its size, named bitmaps, recording set, cut lock and
 * references; each kind embeds one and reaches back with container_of()
 * (to_blk(), to_region(), the kernel's to_*() idiom).  So "target" is the
 * object of a kind and what the protocol calls it; "track" is the core's
 * view of any target, and db_track_ops what a kind does its own way.
 *
 * Names.  db_ (DB_ for macros and enums) prefixes everything the module
 * defines, but for:
 *  - hbitmap_ (hb_ for its static helpers, HBITMAP_ for its macros): the
 *    self-contained bitmap of hbitmap.[ch], which knows nothing of the rest
 *    and is also built on the host by tests/host/;
 *  - dirtybit_ (DIRTYBIT_): the uapi (uapi/linux/dirtybit.h), and what is
 *    the module itself: its init and exit, its one global lock
 *    (dirtybit_lock) and its generic netlink family (dirtybit_genl_family,
 *    with its ops and groups);
 *  - to_*(): the container_of() accessors above;
 *  - module parameters (drain_timeout, region_rearm, ...): module_param()
 *    names each after its variable, and those names are ABI.
 */
#ifndef _DIRTYBIT_H
#define _DIRTYBIT_H

#include <linux/atomic.h>
#include <linux/ctype.h>
#include <linux/kref.h>
#include <linux/dirtybit.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "hbitmap.h"

struct genl_info;
struct netlink_ext_ack;
struct sk_buff;

/*
 * Locking, outermost first:
 *
 *  - db_track.cut_lock, one per target: held by whatever changes the
 *    target's bitmaps or what it records into (a transaction, from its
 *    checks across its cut and drain to its end), by a region's writer
 *    hold and by detach.  Taken killably; a transaction takes the locks of
 *    all its targets in ascending id order (each target's lock has a
 *    lockdep class of its own, so lockdep sees that order, not recursion).
 *    A wait on one target (a drain, a hold waiting for a write) holds only
 *    that target's lock.
 *  - dirtybit_lock: the lists of targets, bitmaps and regions and what they
 *    publish.  Held for short sections only: never across a wait for I/O,
 *    user memory, another target or an RCU grace period of a cut.
 *  - db_nl_owners_lock (nl_owner.c), a spinlock: the netlink sockets'
 *    freeze owners by (net, portid).  Taken alone, around a lookup before
 *    a transaction and in the netlink release notifier, which runs in
 *    every netlink socket's close and so takes no sleeping lock and not
 *    dirtybit_lock: it only unhashes the socket's owner and tells the core
 *    (db_owner_gone(): a flag and a work item), whose reclaim work then
 *    takes the locks above.  A frozen bitmap's owner (db_bitmap.owner)
 *    changes like its other state; the flag is written once, without a
 *    lock, and read under dirtybit_lock.
 *
 * A target's bitmap list, and each bitmap's bits and flags, change only
 * with both its cut_lock and dirtybit_lock held, so either lock is enough
 * to read them; "inconsistent" is the exception: it is set (never cleared)
 * under dirtybit_lock alone.  Targets are reference counted (db_track_get /
 * db_track_put): whoever works on one without dirtybit_lock holds a
 * reference, and finds it unlisted if it was detached meanwhile.
 *
 * The marking paths take none of these: they find what to mark through RCU
 * (struct db_rec).  The block layer's locks (disk->open_mutex, the block
 * class mutex held around device removal callbacks) come before all of
 * them, so nothing may open or close a block device, or register with the
 * block class, while holding dirtybit_lock.
 */
extern struct mutex dirtybit_lock;

/*
 * What the marking path records into: the recording bitmaps of one track,
 * published with RCU and replaced as a whole at every change.  @gen counts
 * the replacements; in-flight writes are accounted to the generation they
 * were marked under, so a cut can wait for exactly the writes before it.
 *
 * With two or more recording bitmaps a write is marked once, into @log (at
 * the finest of their granularities), whatever their number; the log is
 * folded into each of them by whoever reads or changes their bits
 * (db_track_fold(), under dirtybit_lock, which folds a rec a running cut
 * replaced too) and, for that replaced rec, by the cut after its drain,
 * before the transaction ends; its emptied log is kept for the next cut.
 * With one, the write marks that bitmap directly.
 */
struct db_rec {
	struct rcu_head rcu;
	u32 gen;
	unsigned int n;
	struct hbitmap *log;		/* NULL when n < 2 */
	struct hbitmap *hb[];
};

struct db_track;

/* What a kind of target (block device, memory region) does its own way. */
struct db_track_ops {
	/*
	 * After a new rec is published and every marker of the old one has
	 * finished: wait until the writes marked under @old_gen completed
	 * (or make sure they are also in @rec).  Under the track's cut_lock.
	 */
	void (*drain)(struct db_track *tr, u32 old_gen, struct db_rec *rec);
	/*
	 * TARGET_DETACH: stop tracking and unlist.  Under the track's
	 * cut_lock.  0, or -EBUSY (a bitmap is frozen) with an extack message.
	 */
	int (*detach)(struct db_track *tr, struct netlink_ext_ack *extack);
	/* Optional, with every settle (dirtybit_lock): notice lost writes. */
	void (*check)(struct db_track *tr);
	/* The last reference went: free the target. */
	void (*release)(struct db_track *tr);
	/*
	 * TARGET_PATH, step one, without dirtybit_lock (a lookup may wait):
	 * the device number of @path if it is this kind's node.  Return: 0,
	 * -ENOTTY if it is not (the next kind is asked), or another -errno
	 * with an extack message.
	 */
	int (*lookup)(const char *path, dev_t *dev, struct netlink_ext_ack *extack);
	/*
	 * Step two, under dirtybit_lock: the target behind @dev.  Return: 0,
	 * or -ENOENT with an extack message.
	 */
	int (*find)(dev_t dev, struct db_track **tr, struct netlink_ext_ack *extack);
	/* REGION_NAME, optional: the listed target of that name, or NULL. */
	struct db_track *(*find_name)(const char *name);
	/*
	 * A target reply's attributes of this kind (the core puts TARGET_ID,
	 * _KIND, _SIZE and _STATE); under dirtybit_lock.  Return: 0 or -EMSGSIZE.
	 */
	int (*fill)(struct sk_buff *msg, const struct db_track *tr);
	u32 kind;			/* enum dirtybit_target_kind */
	u32 default_granularity;	/* of a new bitmap */
	u32 min_granularity;
};

/* What a mark goes into: the log, the one recording bitmap, or none. */
static inline struct hbitmap *db_rec_target(const struct db_rec *rec)
{
	if (rec->log)
		return rec->log;
	return rec->n ? rec->hb[0] : NULL;
}

/* Marks [@off, @off + @len) for every recording bitmap; under RCU. */
static inline void db_rec_mark(const struct db_rec *rec, u64 off, u64 len)
{
	struct hbitmap *hb = db_rec_target(rec);

	if (hb)
		hbitmap_mark(hb, off, len);
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

/*
 * Why a target's bitmaps missed writes, set from the marking path (bits of
 * db_track.lost); db_track_settle() then makes every bitmap inconsistent.
 */
enum db_lost {
	DB_LOST_RESIZE,			/* the device outgrew the bitmaps */
	DB_LOST_PASSTHROUGH,		/* a passthrough command may have written */
	DB_LOST_MEDIA,			/* other contents behind the same disk */
	DB_LOST_NR
};

/* Anything with named bitmaps: a block target or a memory region. */
struct db_track {
	struct list_head node;		/* db_tracks, while listed */
	struct list_head bitmaps;	/* struct db_bitmap */
	struct db_rec __rcu *rec;
	/* The rec a running cut replaced, until its log is folded: readers
	 * fold it too.  Under dirtybit_lock.
	 */
	struct db_rec *replaced;
	struct hbitmap *spare_log;	/* empty, for the next cut; cut_lock */
	const struct db_track_ops *ops;
	struct kref ref;		/* the list's, and each user's */
	struct mutex cut_lock;		/* see the top of this file */
	/* cut_lock's own lockdep class: a transaction holds several. */
	struct lock_class_key cut_key;
	u64 size;			/* bytes tracked */
	u32 id;
	bool listed;			/* on db_tracks; under dirtybit_lock */
	bool gone;			/* nothing more will be marked */
	unsigned long lost;		/* BIT(DB_LOST_*), not yet settled */
	bool resized;			/* a DB_LOST_RESIZE was settled */
	u32 tx_id;			/* transaction bookkeeping */
	bool tx_touched;
	bool tx_changed;		/* its cut published a new rec */
};

struct db_bitmap {
	struct list_head node;		/* track->bitmaps */
	struct db_track *track;
	char name[DIRTYBIT_NAME_MAX];
	struct hbitmap *hb;
	struct hbitmap *successor;	/* non-NULL while frozen */
	struct hbitmap *passed;		/* earlier passes' frozen bits, or NULL */
	bool enabled;
	bool inconsistent;
	u64 seq;			/* bumped on every change of its bits but marks */
	/* While frozen: who froze it, referenced (NULL: the module). */
	struct db_owner *owner;
	/* Transaction view: valid while tx_id == the running transaction's. */
	u32 tx_id;
	bool tx_removed, tx_frozen;
	bool tx_ended;			/* frozen, abdicated or reclaimed in it */
	bool tx_next_pass;		/* took a next pass in it */
};

/* bitmap.c */
int db_bitmap_init(void);
void db_bitmap_exit(void);
void db_track_init(struct db_track *tr, u64 size, const struct db_track_ops *ops);
void db_track_fini(struct db_track *tr);
int db_track_publish_empty(struct db_track *tr);
void db_track_list(struct db_track *tr);
void db_track_unlist(struct db_track *tr);
void db_track_release(struct db_track *tr);
struct db_track *db_track_find(u32 id);
void db_track_settle(struct db_track *tr);
void db_track_lost(struct db_track *tr, enum db_lost why);
void db_track_fold(struct db_track *tr);
void db_rec_free(struct db_rec *rec);

static inline void db_track_get(struct db_track *tr)
{
	kref_get(&tr->ref);
}

void db_track_put(struct db_track *tr);
int db_track_lock(struct db_track *tr, struct netlink_ext_ack *extack);
struct db_bitmap *db_bitmap_find(struct db_track *tr, const char *name);
u32 db_bitmap_flags(const struct db_bitmap *bm);
int db_track_lock_unfrozen(struct db_track *tr, struct netlink_ext_ack *extack);
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
	bool next_pass;			/* freeze: a next pass of a frozen bitmap */
	u64 keep_start, keep_len;	/* abdicate: frozen bits that stay */
	bool keep_all;			/* ... every granule of that range */
	unsigned int nsources;
	struct db_source *sources;
	/* prepared and applied */
	struct db_bitmap *bm;
	struct hbitmap *new_hb;
	struct hbitmap *old_hb;
	struct hbitmap *dst_hb;
	struct hbitmap *passed_hb;	/* abdicate, reclaim: freed after the cut */
	bool no_change;			/* enable/disable of a bitmap already so */
};

/*
 * Who froze a bitmap, as the core sees it: something that may go away.
 * Only a freeze's owner may abdicate it or take a next pass of it (anyone
 * may reclaim it with FORCE); once its owner is gone, the module reclaims
 * it.  The core compares owners by address and holds a reference on a
 * frozen bitmap's; it knows nothing of what an owner stands for.  The
 * netlink layer (nl_owner.c) embeds one per socket that freezes.
 */
struct db_owner {
	struct kref ref;		/* its maker's, each frozen bitmap's, each user's */
	bool gone;			/* set once, by db_owner_gone() */
	void (*release)(struct db_owner *owner);	/* the last reference went */
};

void db_owner_init(struct db_owner *owner, void (*release)(struct db_owner *owner));

static inline void db_owner_get(struct db_owner *owner)
{
	kref_get(&owner->ref);
}

void db_owner_put(struct db_owner *owner);
void db_owner_gone(struct db_owner *owner);
int db_transaction(struct db_action *acts, unsigned int n,
		   struct db_owner *owner, struct netlink_ext_ack *extack);
extern struct workqueue_struct *db_wq;

/* blk.c */
extern const struct db_track_ops db_blk_ops;
int db_blk_init(void);
void db_blk_exit(void);
int db_blk_attach(const char *path, struct db_track **tr, struct netlink_ext_ack *extack);
bool db_track_is_blk(const struct db_track *tr);
unsigned int db_blk_probes(void);
extern struct list_head db_tracks;

/* region.c */
extern const struct db_track_ops db_region_ops;
int db_region_init(void);
void db_region_exit(void);
bool db_track_is_region(const struct db_track *tr);
long db_region_ioc_create(void __user *argp);
long db_region_ioc_open(void __user *argp);
long db_region_pages_held(void);

/* nl_owner.c */
int db_nl_owner_init(void);
void db_nl_owner_exit(void);
int db_nl_owner_transaction(struct genl_info *info, struct db_action *acts, unsigned int n);

/* genl.c */
extern struct genl_family dirtybit_genl_family;
int db_genl_init(void);
void db_genl_exit(void);
void db_notify(u32 event, const struct db_track *tr, const char *bitmap);

/* cdev.c */
int db_cdev_init(void);
void db_cdev_exit(void);

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

extern atomic_t db_fail_nth;
bool db_fault_armed(void);
__printf(1, 2) void db_test_knob_taint(const char *fmt, ...);

/* A fault point (debug.c); inline while none is armed: the marking path has some. */
static inline bool db_fault(void)
{
	return unlikely(atomic_read(&db_fail_nth)) && db_fault_armed();
}

void db_debug_init(void);
void db_debug_exit(void);

/* hbitmap_alloc() for the module's bitmaps, behind a fault point. */
static inline struct hbitmap *db_hbitmap_alloc(u64 size, u32 granularity)
{
	return db_fault() ? NULL : hbitmap_alloc(size, granularity, GFP_KERNEL_ACCOUNT);
}

#endif /* _DIRTYBIT_H */
