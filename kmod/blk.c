// SPDX-License-Identifier: GPL-2.0
/*
 * Block targets: tracking writes to a live block device without a device
 * layer.  A partition target is a sector range of its disk.
 *
 * Two kinds of disk, two ways of marking, each exact (docs/ROBUSTNESS.md
 * has the table of every I/O path and the test of each):
 *
 *  - blk-mq disks: a write is marked when its request completes
 *    (block_rq_complete, the bytes that completion covers, from the bios'
 *    own iterators, which the block layer keeps).  A cut publishes the new
 *    rec and waits for the old rec's markers (an RCU grace period): a write
 *    completed before the cut is in the old epoch, one completing after it
 *    in the new one, whatever path it took there — split into several
 *    requests, cloned onto a multipath path, handed on by md, queued before
 *    the attach.  Nothing to drain.
 *  - bio-based disks (dm, md, brd, nvme multipath heads): a bio's range
 *    when it completes is whatever its driver left of it, so a write is
 *    marked as it is submitted (block_bio_queue, before any split; a bio a
 *    driver hands on already traced, block_bio_remap, marked for the disk
 *    it came from if it was not) and takes a slot in a fixed-size table of
 *    in-flight writes, tagged with the generation of the rec it was marked
 *    under; its completion (block_bio_complete, or the request it became
 *    below) frees the slot.  A cut waits for the old generation's slots.
 *    A piece split off (block_split) or chained to a bio with slots takes
 *    slots of its own in the current generation (and marks the parent's
 *    range in the current epoch if the parent's was older): the parent's
 *    go with the last of its pieces to complete, not with all of them.
 *    If a cut waits longer than drain_timeout (or is killed), the writes
 *    still in flight are marked in the new epoch too, and again at every
 *    later cut while they are in flight.  A write that finds no slot goes
 *    to the target's carry set, marked into every later epoch.  A write
 *    completing without a slot of a target (submitted before the attach
 *    and kept by its driver, or one that found no slot) marks the whole
 *    target.
 *  - passthrough requests (SG_IO, NVMe ioctls) carry their range in the
 *    command: one that may write makes every bitmap of the disk
 *    inconsistent (db_passthrough_may_write()) as it completes
 *    (block_rq_complete), and, while a bio-based target is hooked, as it
 *    is issued (block_rq_issue: a hidden disk's, an NVMe multipath path's,
 *    flags the bio-based targets, whose writes count from submission).
 *
 * The attach: a blk-mq disk needs no wait (its writes are marked as they
 * complete).  A bio-based disk's writes already submitted are waited for:
 * its queue is frozen and thawed (bios being submitted), and so is every
 * blk-mq queue of the machine (the requests its drivers passed on).
 *
 * Removal: a block class interface tells us when a disk or partition is
 * deleted; its targets become "gone" and keep their bitmaps.
 *
 * The probes are registered only while a block target is hooked (from
 * before it is hashed until after it is unhooked): a machine where nothing
 * is attached runs none of them on its block path.  Unhooking the last
 * target purges its slots first, so no state outlives the probes, and a
 * write in flight across an unregister and a later register is one from
 * before that later attach, which that attach accounts for as any other.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/hash.h>
#include <linux/kdev_t.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/tracepoint.h>
#include <net/netlink.h>
#include <scsi/scsi_cmnd.h>
#include <trace/events/block.h>

#include "compat.h"
#include "dirtybit.h"

static unsigned int inflight_slots = 16384;
module_param(inflight_slots, uint, 0444);
MODULE_PARM_DESC(inflight_slots,
		 "Writes in flight the exact cut accounts for individually (default 16384)");

static unsigned int drain_timeout = 30;
module_param(drain_timeout, uint, 0644);
MODULE_PARM_DESC(drain_timeout,
		 "Seconds a cut (or an attach) waits for earlier writes before marking them in the new epoch (or failing)");

/*
 * Testing only: the selftest that proves the cut exact shows that it fails
 * without the drain.  Set at load (it says so, and taints the kernel),
 * never under a running backup.
 */
static bool cut_drain = true;
module_param(cut_drain, bool, 0444);
MODULE_PARM_DESC(cut_drain,
		 "Drain earlier writes at a cut (default Y; N loses writes, for tests only)");

/*
 * Testing only: drop one block mark in N (0: none), so that the selftest
 * of the BPF witness proves it catches lost bits (witness_test).  Set at
 * load, never on a machine whose bitmaps matter.
 */
static unsigned int drop_mark_one_in;
module_param(drop_mark_one_in, uint, 0444);
MODULE_PARM_DESC(drop_mark_one_in,
		 "Drop one block mark in N (default 0: none; loses writes, for tests only)");
static atomic_t db_marks = ATOMIC_INIT(0);

#define DB_CARRY_GRANULARITY	65536
#define DB_HASH_BITS		6
#define DB_SLOTS_PER_BUCKET	8
#define DB_SLOT_BUSY		((struct bio *)1)
#define DB_SLOT_PURGING		((struct bio *)2)

struct db_blk_target {
	struct db_track track;
	struct hlist_node hash;		/* db_blk_hash, RCU; unhashed when gone */
	struct hlist_node dev_hash;	/* db_blk_dev_hash, by the disk's dev_t */
	struct gendisk *disk;		/* referenced while not gone */
	dev_t dev;
	u8 partno;
	u64 diskseq;			/* the disk's media at attach */
	sector_t capacity;		/* the disk's, at attach */
	bool bio_based;			/* marked at submission, with slots */
	bool carried;			/* a cut carried writes still in flight */
	sector_t start;			/* in the whole disk */
	sector_t nr_sects;
	char name[BDEVNAME_SIZE];
	/* Writes in flight by generation parity, per CPU: a write and its
	 * completion touch only their own CPU's counter; only the sum (taken
	 * by a cut, after every increment is visible) means anything.
	 */
	struct db_inflight __percpu *inflight;
	struct hbitmap *carry;
	atomic64_t overflows;
	struct work_struct probes_put;	/* after a removal's unhook */
};

struct db_inflight {
	int n[2];
};

struct db_slot {
	struct bio *bio;		/* NULL free, DB_SLOT_BUSY being filled or emptied,
					 * DB_SLOT_PURGING looked at by a purge
					 */
	struct db_blk_target *t;
	u64 offset;
	u32 length;
	u32 gen;
};

static struct hlist_head db_blk_hash[1 << DB_HASH_BITS];
static struct hlist_head db_blk_dev_hash[1 << DB_HASH_BITS];
/*
 * The in-flight table: db_nbuckets buckets of DB_SLOTS_PER_BUCKET slots.
 * A write takes a slot in the bucket its bio's address hashes to, or, when
 * that one is full, in a second bucket from another hash, which lookups
 * visit only while db_second says some slot is so placed.  A write that
 * finds both full goes to the carry set.  Each bucket has a word of the
 * slots in use (db_used, bit set from before a slot is filled until after
 * it is emptied): a lookup visits only those.
 */
static struct db_slot *db_slots;
static unsigned long *db_used;
static unsigned int db_nbuckets;
static unsigned int db_nslots;
static atomic_t db_second = ATOMIC_INIT(0);
/* Hooked block targets (bio-based ones), and so which probes are registered. */
static DEFINE_MUTEX(db_probe_lock);
static unsigned int db_probe_users;
static unsigned int db_bio_probe_users;	/* read by the request completion probe */

/* The block class, learnt from the first attached disk (it is not exported). */
static DEFINE_MUTEX(db_class_lock);
static struct class_interface db_class_intf;
static bool db_class_registered;
static bool db_blk_exiting;

static struct db_blk_target *to_blk(struct db_track *tr)
{
	return container_of(tr, struct db_blk_target, track);
}

bool db_track_is_blk(const struct db_track *tr)
{
	return tr->ops == &db_blk_ops;
}

static struct db_slot *db_bucket(const struct bio *bio, bool second)
{
	u32 h = hash_ptr(bio, 32);

	if (second)
		h = hash_32(h ^ 0x5bd1e995, 32);
	return &db_slots[h % db_nbuckets * DB_SLOTS_PER_BUCKET];
}

/*
 * A walk of the slots a write keyed by @bio may hold: its first bucket's,
 * then its second's while any slot is placed in a second bucket (db_second
 * is raised before such a slot is published), visiting only the slots
 * in use: the completion of every write walks them.
 */
struct db_slot_iter {
	struct db_slot *b;		/* the bucket being walked */
	unsigned long used;		/* its slots in use not yet visited */
	struct db_slot *next;		/* the second bucket, if still to walk */
	bool second;			/* walking the second bucket */
};

/* The occupancy word of slot @s's bucket, and @s's bit in it. */
static unsigned long *db_slot_used(const struct db_slot *s, unsigned int *bit)
{
	unsigned int i = s - db_slots;

	*bit = i % DB_SLOTS_PER_BUCKET;
	return &db_used[i / DB_SLOTS_PER_BUCKET];
}

static inline void db_slot_walk(struct db_slot_iter *it, struct db_slot *b)
{
	it->b = b;
	it->used = READ_ONCE(db_used[(b - db_slots) / DB_SLOTS_PER_BUCKET]);
}

static inline struct db_slot *db_slot_next(struct db_slot_iter *it)
{
	struct db_slot *s;

	while (!it->used) {
		if (!it->next)
			return NULL;
		db_slot_walk(it, it->next);
		it->next = NULL;
		it->second = true;
	}
	s = it->b + __ffs(it->used);
	it->used &= it->used - 1;
	return s;
}

static inline struct db_slot *db_slot_first(const struct bio *bio, struct db_slot_iter *it)
{
	db_slot_walk(it, db_bucket(bio, false));
	it->next = NULL;
	it->second = false;
	if (unlikely(atomic_read(&db_second))) {
		it->next = db_bucket(bio, true);
		if (it->next == it->b)
			it->next = NULL;
	}
	return db_slot_next(it);
}

/* Is @s in @bio's second bucket (one that is not also its first)? */
static bool db_slot_second(const struct db_slot *s, const struct bio *bio)
{
	const struct db_slot *b2 = db_bucket(bio, true);

	return b2 != db_bucket(bio, false) && s >= b2 && s < b2 + DB_SLOTS_PER_BUCKET;
}

/*
 * The bio in slot @s once no purge is looking at it: a purge holds a slot
 * for a few instructions with interrupts off (db_blk_purge_slot()), so
 * this waits for another CPU, never for a task it interrupted.  Pairs
 * with the releases in db_slot_take(), db_slot_release() and
 * db_blk_purge_slot().
 */
static inline struct bio *db_slot_load(struct db_slot *s)
{
	struct bio *bio;

	/* Acquire: the slot's fields, as its last owner released them. */
	while ((bio = smp_load_acquire(&s->bio)) == DB_SLOT_PURGING)
		cpu_relax();
	return bio;
}

/*
 * Empties slot @s, claimed (DB_SLOT_BUSY or DB_SLOT_PURGING) from its
 * write (@second: @s is in that write's second bucket), and takes the
 * write off its target's in-flight count.
 *
 * Return: that target.
 */
static struct db_blk_target *db_slot_release(struct db_slot *s, bool second)
{
	struct db_blk_target *t = s->t;
	unsigned int bit;
	unsigned long *used = db_slot_used(s, &bit);
	u32 gen = s->gen;

	if (second)
		atomic_dec(&db_second);
	clear_bit(bit, used);
	/* Free once its bit is clear: pairs with a taker's cmpxchg(). */
	smp_store_release(&s->bio, NULL);
	this_cpu_dec(t->inflight->n[gen & 1]);
	return t;
}

/*
 * Frees slot @s if it still holds @bio (@second: @s is in its second
 * bucket), from @bio's completion.
 *
 * Return: the slot's target if this call freed it, else NULL (a purge
 * did: a write's completion frees its slots once).
 */
static struct db_blk_target *db_slot_free(struct db_slot *s, struct bio *bio, bool second)
{
	struct bio *old;

	/*
	 * Kept busy until its bit is clear: no write takes it meanwhile.  A
	 * purge looking at it frees it or gives it back: wait for which.
	 */
	while ((old = cmpxchg(&s->bio, bio, DB_SLOT_BUSY)) != bio)
		if (old != DB_SLOT_PURGING || db_slot_load(s) != bio)
			return NULL;
	return db_slot_release(s, second);
}

static struct hlist_head *db_disk_bucket(const struct gendisk *disk)
{
	return &db_blk_hash[hash_ptr(disk, DB_HASH_BITS)];
}

static struct hlist_head *db_dev_bucket(dev_t dev)
{
	return &db_blk_dev_hash[hash_32(dev, DB_HASH_BITS)];
}

/* ---- the marking path (tracepoint probes: atomic, no locks, no allocation) */

/*
 * The probes run with preemption disabled (__DO_TRACE() on 6.1 and 6.12),
 * which the RCU grace periods of a cut and of an unhook wait for as they
 * do for rcu_read_lock(): the marking path takes no read lock of its own.
 */
static struct db_rec *db_blk_rec(struct db_blk_target *t)
{
	return rcu_dereference_sched(t->track.rec);
}

/* Is this block mark the one in drop_mark_one_in to drop (tests only)? */
static bool db_drop_mark(void)
{
	unsigned int n = READ_ONCE(drop_mark_one_in);

	return unlikely(n) && (unsigned int)atomic_inc_return(&db_marks) % n == 0;
}

/*
 * Fills free slot @s for @bio (@second: in its second bucket), or returns
 * false if it was taken meanwhile.
 */
static bool db_slot_take(struct db_slot *s, struct db_blk_target *t, struct bio *bio,
			 u64 off, u32 len, u32 gen, bool second)
{
	unsigned int bit;
	unsigned long *used = db_slot_used(s, &bit);

	if (READ_ONCE(s->bio) || cmpxchg(&s->bio, NULL, DB_SLOT_BUSY))
		return false;
	/* Counted before the slot is published: a lookup then visits it. */
	if (second)
		atomic_inc(&db_second);
	set_bit(bit, used);
	s->t = t;
	s->offset = off;
	s->length = len;
	s->gen = gen;
	this_cpu_inc(t->inflight->n[gen & 1]);
	/* Publish the filled slot: pairs with the acquire in the completion
	 * probe, the purge and the carry-over scan.
	 */
	smp_store_release(&s->bio, bio);
	return true;
}

static void db_inflight_add(struct db_blk_target *t, struct bio *bio, u64 off,
			    u32 len, u32 gen)
{
	struct db_slot *s, *first = NULL;
	unsigned int i, b;

	/* A fault injected here finds both buckets full. */
	for (b = 0; b < 2 && !db_fault(); b++) {
		s = db_bucket(bio, b);
		if (b && s == first)
			break;
		first = s;
		for (i = 0; i < DB_SLOTS_PER_BUCKET; i++, s++)
			if (db_slot_take(s, t, bio, off, len, gen, b))
				return;
	}
	/* No slot: the carry set keeps this write in every later epoch. */
	hbitmap_set(t->carry, off, len);
	atomic64_inc(&t->overflows);
}

/* Marks [@off, @off + @len) of @t in the current epoch; from a probe. */
static void db_blk_mark(struct db_blk_target *t, struct bio *bio, u64 off, u32 len)
{
	struct db_rec *rec = db_blk_rec(t);

	if (!db_drop_mark())
		db_rec_mark(rec, off, len);
	db_inflight_add(t, bio, off, len, rec->gen);
}

/* [@sector, @end) of @t's disk, cut to @t: @off and @len in @t; false if none. */
static bool db_blk_range(const struct db_blk_target *t, sector_t sector, sector_t end,
			 u64 *off, u32 *len)
{
	sector_t lo, hi;

	if (sector >= t->start + t->nr_sects || end <= t->start)
		return false;
	lo = max(sector, t->start);
	hi = min(end, t->start + t->nr_sects);
	*off = (u64)(lo - t->start) << SECTOR_SHIFT;
	*len = (hi - lo) << SECTOR_SHIFT;
	return true;
}

/*
 * A write ending at whole-disk sector @end through partition @partno (0:
 * the whole disk) of @t's disk.  Past the end through the target's own
 * node: the device grew since attach (the block layer checked the bio
 * against its size).  Through another node it is a neighbour's write.
 */
static void db_blk_check_end(struct db_blk_target *t, u8 partno, sector_t end)
{
	if (unlikely(end > t->start + t->nr_sects) && (!t->partno || partno == t->partno))
		db_track_lost(&t->track, DB_LOST_RESIZE);
}

/*
 * A write of whole-disk sectors [@sector, @end) of @disk submitted through
 * partition @partno (0: the whole disk), keyed by @bio: marked, with a
 * slot, in every bio-based target over the range (blk-mq targets mark it
 * as it completes).
 */
static void db_blk_mark_disk(struct gendisk *disk, u8 partno, sector_t sector,
			     sector_t end, struct bio *bio)
{
	struct db_blk_target *t;
	u64 off;
	u32 len;

	hlist_for_each_entry_rcu(t, db_disk_bucket(disk), hash) {
		if (t->disk != disk)
			continue;
		db_blk_check_end(t, partno, end);
		if (t->bio_based && db_blk_range(t, sector, end, &off, &len))
			db_blk_mark(t, bio, off, len);
	}
}

/*
 * Whole-disk sectors [@sector, @end) of blk-mq disk @disk were written
 * through partition @partno (a request completed them): marked in the
 * current epoch of every target over the range.  A cut's RCU grace period
 * orders this mark against it.
 */
static void db_blk_mark_completed(struct gendisk *disk, u8 partno, sector_t sector,
				  sector_t end)
{
	struct db_blk_target *t;
	u64 off;
	u32 len;

	hlist_for_each_entry_rcu(t, db_disk_bucket(disk), hash) {
		if (t->disk != disk || t->bio_based)
			continue;
		db_blk_check_end(t, partno, end);
		if (db_blk_range(t, sector, end, &off, &len) && !db_drop_mark())
			db_rec_mark(db_blk_rec(t), off, len);
	}
}

static bool db_bio_is_write(struct bio *bio)
{
	return op_is_write(bio_op(bio)) && bio->bi_iter.bi_size && bio->bi_bdev;
}

/* @bio's whole-disk start sector (a partition's bio may not be remapped yet). */
static sector_t db_bio_sector(struct bio *bio)
{
	struct block_device *bdev = bio->bi_bdev;
	sector_t sector = bio->bi_iter.bi_sector;

	if (bdev_is_partition(bdev) && !bio_flagged(bio, BIO_REMAPPED))
		sector += bdev->bd_start_sect;
	return sector;
}

/* @bio, a write where it is now: marked in its disk's targets. */
static void db_blk_mark_bio(struct bio *bio)
{
	sector_t sector = db_bio_sector(bio);

	db_blk_mark_disk(bio->bi_bdev->bd_disk, db_bdev_partno(bio->bi_bdev), sector,
			 sector + bio_sectors(bio), bio);
}

static void db_blk_queue_probe(void *ignore, struct bio *bio)
{
	if (db_bio_is_write(bio))
		db_blk_mark_bio(bio);
}

/* Does @bio hold a slot of @t?  From a probe. */
static bool db_slot_held(const struct bio *bio, const struct db_blk_target *t)
{
	struct db_slot_iter it;
	struct db_slot *s;

	for (s = db_slot_first(bio, &it); s; s = db_slot_next(&it))
		/* Pairs with the release in db_slot_take(): t. */
		if (db_slot_load(s) == bio && READ_ONCE(s->t) == t)
			return true;
	return false;
}

/*
 * @child was split off (or chained to) @child->bi_private: for every slot
 * its parent holds, a slot of its own in the same target, in the current
 * generation, with the parent's range marked in the current epoch if the
 * parent was marked in an older one.  The parent cannot complete before its
 * child, but its own slot goes with the last of its pieces to complete, not
 * with all of them: the child's slot keeps the cut waiting for the rest.
 * bi_private of a bio that is not a chained child is never dereferenced,
 * only looked up: a stray match makes a cut wait for one more write.
 */
static void db_blk_inherit(struct bio *child)
{
	const struct bio *parent = child->bi_private;
	struct db_slot_iter it;
	struct db_slot *s;

	if (!parent)
		return;
	for (s = db_slot_first(parent, &it); s; s = db_slot_next(&it)) {
		struct db_blk_target *t;
		struct db_rec *rec;
		u64 off;
		u32 len, gen;

		/* Pairs with the release in db_slot_take(). */
		if (db_slot_load(s) != parent)
			continue;
		t = READ_ONCE(s->t);
		off = READ_ONCE(s->offset);
		len = READ_ONCE(s->length);
		gen = READ_ONCE(s->gen);
		/* The fields before the check: the slot may have been purged
		 * and reused meanwhile (its target went away).
		 */
		smp_rmb();
		if (db_slot_load(s) != parent || READ_ONCE(t->track.gone) ||
		    db_slot_held(child, t))
			continue;
		rec = db_blk_rec(t);
		if (rec->gen != gen)
			db_rec_mark(rec, off, len);
		db_inflight_add(t, child, off, len, rec->gen);
	}
}

static void db_blk_split_probe(void *ignore, struct bio *bio, unsigned int new_sector)
{
	if (op_is_write(bio_op(bio)))
		db_blk_inherit(bio);
}

/*
 * A write that @dev (a whole disk) passed on as @bio from its sector
 * @from: marked in @dev's targets that do not hold a slot of it (it was
 * queued there before their attach).
 */
static void db_blk_mark_origin(struct bio *bio, dev_t dev, sector_t from)
{
	sector_t end = from + bio_sectors(bio);
	struct db_blk_target *t;
	u64 off;
	u32 len;

	hlist_for_each_entry_rcu(t, db_dev_bucket(dev), dev_hash)
		if (disk_devt(t->disk) == dev && t->bio_based && !READ_ONCE(t->track.gone) &&
		    db_blk_range(t, from, end, &off, &len) && !db_slot_held(bio, t))
			db_blk_mark(t, bio, off, len);
}

/*
 * A driver handed @bio, from @dev's sector @from, on to the disk it now
 * names.  A bio not yet traced will pass block_bio_queue there; one that
 * was (BIO_TRACE_COMPLETION) will not, so it is marked here.  A partition's
 * own remap (@dev is the bio's own device) is the queue trace's business.
 */
static void db_blk_remap_probe(void *ignore, struct bio *bio, dev_t dev, sector_t from)
{
	if (!db_bio_is_write(bio) || dev == bio->bi_bdev->bd_dev ||
	    !bio_flagged(bio, BIO_TRACE_COMPLETION))
		return;
	db_blk_inherit(bio);
	db_blk_mark_bio(bio);
	db_blk_mark_origin(bio, dev, from);
}

/*
 * SCSI commands the kernel and the usual tools (smartd, hdparm, sg3_utils,
 * cluster fencing) send for housekeeping, which store nothing on the
 * medium: none of them carries data in (that is harmless anyway), and
 * treating them as writes would make every bitmap of a disk inconsistent
 * at each smartd poll or media check.
 */
static bool db_scsi_harmless(const unsigned char *cdb)
{
	unsigned char ata, features;

	switch (cdb[0]) {
	case 0x00:	/* TEST UNIT READY */
	case 0x15:	/* MODE SELECT(6): the device's parameters */
	case 0x1b:	/* START STOP UNIT */
	case 0x1e:	/* PREVENT ALLOW MEDIUM REMOVAL */
	case 0x35:	/* SYNCHRONIZE CACHE(10) */
	case 0x4c:	/* LOG SELECT */
	case 0x55:	/* MODE SELECT(10) */
	case 0x5f:	/* PERSISTENT RESERVE OUT: reservations */
	case 0x91:	/* SYNCHRONIZE CACHE(16) */
		return true;
	case 0x85:	/* ATA PASS-THROUGH(16) */
		ata = cdb[14];
		features = cdb[4];
		break;
	case 0xa1:	/* ATA PASS-THROUGH(12) */
		ata = cdb[9];
		features = cdb[3];
		break;
	default:
		return false;
	}
	switch (ata) {
	case 0xe0:	/* STANDBY IMMEDIATE */
	case 0xe1:	/* IDLE IMMEDIATE */
	case 0xe2:	/* STANDBY */
	case 0xe3:	/* IDLE */
	case 0xe5:	/* CHECK POWER MODE */
	case 0xe7:	/* FLUSH CACHE */
	case 0xea:	/* FLUSH CACHE EXT */
	case 0xef:	/* SET FEATURES */
		return true;
	case 0xb0:	/* SMART: enable, disable, autosave, status, self-test */
		return features == 0xd2 || features == 0xd4 || features == 0xd8 ||
		       features == 0xd9 || features == 0xda;
	default:
		return false;
	}
}

/* A disk of the SCSI disk driver, whose requests carry a struct scsi_cmnd. */
static bool db_disk_is_sd(const struct gendisk *disk)
{
	const struct module *owner = disk->fops->owner;

	return owner && !strcmp(owner->name, "sd_mod");
}

/*
 * Could passthrough request @rq store something on the medium?  One that
 * only reads data in cannot; one that sends data, or none at all, may —
 * unless it is a SCSI housekeeping command.
 */
static bool db_passthrough_may_write(struct request *rq)
{
	if (req_op(rq) == REQ_OP_DRV_IN && blk_rq_bytes(rq))
		return false;
	if (db_disk_is_sd(rq->q->disk))
		return !db_scsi_harmless(((struct scsi_cmnd *)blk_mq_rq_to_pdu(rq))->cmnd);
	return true;
}

/*
 * A passthrough command that may write: every target of the disk lost it.
 * A hidden disk is an NVMe multipath path (passthrough on the head goes to
 * it): which head is not ours to know, so every bio-based target lost it.
 */
static void db_blk_rq_issue_probe(void *ignore, struct request *rq)
{
	struct gendisk *disk = rq->q->disk;
	struct db_blk_target *t;
	unsigned int b;

	if (!blk_rq_is_passthrough(rq) || !disk || !db_passthrough_may_write(rq))
		return;
	if (disk->flags & GENHD_FL_HIDDEN) {
		for (b = 0; b < ARRAY_SIZE(db_blk_hash); b++)
			hlist_for_each_entry_rcu(t, &db_blk_hash[b], hash)
				if (t->bio_based)
					db_track_lost(&t->track, DB_LOST_PASSTHROUGH);
	} else {
		hlist_for_each_entry_rcu(t, db_disk_bucket(disk), hash)
			if (t->disk == disk)
				db_track_lost(&t->track, DB_LOST_PASSTHROUGH);
	}
}

/*
 * The targets a completing write freed slots of (one slot per target), as
 * far as DB_DONE_MAX: one held but not listed is taken for one not held,
 * which marks more, never less.  Only compared, never dereferenced.
 */
#define DB_DONE_MAX	4

struct db_done {
	const struct db_blk_target *t[DB_DONE_MAX];
	unsigned int n;
};

static bool db_done_has(const struct db_done *done, const struct db_blk_target *t)
{
	unsigned int i;

	for (i = 0; i < done->n; i++)
		if (done->t[i] == t)
			return true;
	return false;
}

/*
 * @bio completed: free its slots (one per target it was marked in), and
 * list their targets in @done if not NULL.
 */
static void db_inflight_done(struct bio *bio, struct db_done *done)
{
	struct db_slot_iter it;
	struct db_slot *s;

	for (s = db_slot_first(bio, &it); s; s = db_slot_next(&it)) {
		struct db_blk_target *t;

		if (db_slot_load(s) != bio)
			continue;
		/* Lost to a purge (detach, gone): the purger accounted for it. */
		t = db_slot_free(s, bio, it.second);
		if (!t)
			continue;
		if (done && done->n < DB_DONE_MAX)
			done->t[done->n++] = t;
	}
}

/*
 * A flush without data: it never took a slot (no size), and it writes
 * nothing a bitmap records.  It has no pages, or it has no size and asks
 * for the flush (dm and md end a data write they were given with a size).
 */
static bool db_bio_empty_flush(struct bio *bio)
{
	return bio_op(bio) == REQ_OP_WRITE &&
	       (!bio->bi_io_vec || (!bio->bi_iter.bi_size && (bio->bi_opf & REQ_PREFLUSH)));
}

/*
 * A piece of a write split or chained to a bio holding a slot of @t (md on
 * 6.1 splits without tracing it): covered by its parent, which completes
 * after it.  bi_private is only looked up, never dereferenced.
 */
static bool db_chained_to_held(struct bio *bio, const struct db_blk_target *t)
{
	return bio->bi_private && db_slot_held(bio->bi_private, t);
}

/*
 * A write completed on bio-based disk @q: its slots are freed, and each of
 * the disk's targets the bio reached that held none (it was submitted
 * before the attach and its driver kept it, or it found no slot) marks its
 * whole range in the current epoch — the bio's own range is whatever its
 * driver left of it.
 */
static void db_blk_complete_probe(void *ignore, struct request_queue *q, struct bio *bio)
{
	struct gendisk *disk = q->disk;
	struct db_done done = { .n = 0 };
	struct db_blk_target *t;
	u8 partno;

	if (!op_is_write(bio_op(bio)))
		return;
	db_inflight_done(bio, &done);
	/*
	 * Not when the bio now names another disk: a driver that handed it on
	 * (an NVMe multipath head traces the completion on itself) marked it
	 * for the disk it came from at the hand-over, if it had not been.
	 */
	if (!queue_is_mq(q) && disk && bio->bi_bdev && bio->bi_bdev->bd_disk == disk &&
	    !db_bio_empty_flush(bio)) {
		partno = db_bdev_partno(bio->bi_bdev);
		hlist_for_each_entry_rcu(t, db_disk_bucket(disk), hash) {
			if (t->disk != disk || (partno && t->partno && partno != t->partno) ||
			    db_done_has(&done, t) || db_chained_to_held(bio, t))
				continue;
			db_rec_mark(db_blk_rec(t), 0, t->track.size);
		}
	}
}

/*
 * The usual completion on a busy blk-mq disk, decided without the general
 * walk: a write of the front of one bio through the whole disk, whose only
 * target in its hash bucket is a blk-mq whole-disk one it ends inside
 * (nothing to check against the end), no slots to free, and every granule
 * it covers already set where the current epoch marks — so marking would
 * store nothing.  True if so; false says nothing, and the general path
 * marks as it would have anyway.  It runs on every completed write, so it
 * is kept to what needs no callee-saved register.
 */
static __always_inline bool db_blk_rq_already_marked(struct request *rq, unsigned int nr_bytes)
{
	struct gendisk *disk = rq->q->disk;
	struct bio *bio = rq->bio;
	struct db_blk_target *t;
	struct hbitmap *hb;
	sector_t sector;

	if (!bio || nr_bytes < SECTOR_SIZE || nr_bytes > bio->bi_iter.bi_size || !disk ||
	    bdev_is_partition(bio->bi_bdev) || READ_ONCE(db_bio_probe_users) ||
	    READ_ONCE(drop_mark_one_in))
		return false;
	t = hlist_entry_safe(rcu_dereference_raw(hlist_first_rcu(db_disk_bucket(disk))),
			     struct db_blk_target, hash);
	if (!t || t->disk != disk || rcu_access_pointer(hlist_next_rcu(&t->hash)) ||
	    t->bio_based || t->partno)
		return false;
	sector = bio->bi_iter.bi_sector;
	if (sector + (nr_bytes >> SECTOR_SHIFT) > t->nr_sects)
		return false;
	hb = db_rec_target(db_blk_rec(t));
	return hb && hbitmap_all_set(hb, (u64)sector << SECTOR_SHIFT,
				     nr_bytes & ~(SECTOR_SIZE - 1));
}

/*
 * Requests: blk_update_request() traces the request and then clears
 * BIO_TRACE_COMPLETION on its bios, so block_bio_complete never fires for
 * them.  This update completes @nr_bytes from the front of the request:
 * the leading bios whole, maybe part of the next.  The request's disk
 * marks what completed; a bio done frees its slots (a bio-based disk above
 * handed it on).
 */
static noinline void db_blk_rq_completed(struct request *rq, unsigned int nr_bytes)
{
	struct bio *bio;

	for (bio = rq->bio; bio && nr_bytes; bio = bio->bi_next) {
		unsigned int done = min(bio->bi_iter.bi_size, nr_bytes);
		sector_t sector = db_bio_sector(bio);

		if (rq->q->disk && done)
			db_blk_mark_completed(rq->q->disk, db_bdev_partno(bio->bi_bdev), sector,
					      sector + (done >> SECTOR_SHIFT));
		nr_bytes -= done;
		/* Slots exist only while a bio-based target is hooked. */
		if (done == bio->bi_iter.bi_size && READ_ONCE(db_bio_probe_users))
			db_inflight_done(bio, NULL);
	}
}

/* block_rq_complete: a passthrough command is flagged, a write marked. */
static void db_blk_rq_complete_probe(void *ignore, struct request *rq,
				     blk_status_t error, unsigned int nr_bytes)
{
	/*
	 * A blk-mq target's bitmaps are flagged as the command completes, as
	 * its writes are marked: one in flight at a cut is in the epoch in
	 * which it completes.  Bio-based targets' (a hidden disk's) at issue
	 * too, while their probes are registered.
	 */
	if (blk_rq_is_passthrough(rq)) {
		db_blk_rq_issue_probe(NULL, rq);
		return;
	}
	if (op_is_write(req_op(rq)) && !db_blk_rq_already_marked(rq, nr_bytes))
		db_blk_rq_completed(rq, nr_bytes);
}

/* ---- the cut ------------------------------------------------------------- */

/* The bio of slot @s when it is a filled slot of @t, else NULL. */
static struct bio *db_slot_bio(struct db_slot *s, const struct db_blk_target *t)
{
	/* Pairs with the release in db_slot_take(): t, offset, length, gen. */
	struct bio *bio = db_slot_load(s);

	return bio && bio != DB_SLOT_BUSY && s->t == t ? bio : NULL;
}

/*
 * Marks in @rec every write of @t still in flight from before @rec.  True
 * if there was one.
 */
static bool db_blk_carry_inflight(struct db_blk_target *t, struct db_rec *rec)
{
	unsigned int i, k;
	bool found = false;

	for (i = 0; i < db_nslots; i++) {
		struct db_slot *s = &db_slots[i];

		/* A slot recycled under us only makes us mark more. */
		if (!db_slot_bio(s, t) || s->gen == rec->gen)
			continue;
		for (k = 0; k < rec->n; k++)
			hbitmap_set(rec->hb[k], s->offset, s->length);
		found = true;
	}
	return found;
}

/*
 * Writes of generation parity @p still in flight.  Called after the cut's
 * synchronize_rcu(): every increment for @p is visible and no new one comes,
 * so a decrement not yet seen only makes the sum larger, never 0 too early.
 *
 * Return: how many (an errno never).
 */
static int db_inflight_sum(const struct db_blk_target *t, unsigned int p)
{
	int cpu, sum = 0;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(t->inflight, cpu)->n[p]);
	return sum;
}

/*
 * Polls rather than being woken: completions stay free of shared cache
 * lines and wake-ups, and a cut waits at most a tick longer than its
 * slowest earlier write.  Under the target's cut lock only.
 */
static void db_blk_drain(struct db_track *tr, u32 old_gen, struct db_rec *rec)
{
	struct db_blk_target *t = to_blk(tr);
	unsigned long deadline = jiffies + (unsigned long)READ_ONCE(drain_timeout) * HZ;
	bool drained = true;
	unsigned int k;

	if (!cut_drain || !t->bio_based)
		return;
	while (db_inflight_sum(t, old_gen & 1)) {
		/* A fault injected here gives up at once, as a timeout would. */
		if (time_after(jiffies, deadline) || fatal_signal_pending(current) ||
		    READ_ONCE(tr->gone) || db_fault()) {
			drained = false;
			break;
		}
		schedule_timeout_killable(1);
	}
	if (!drained) {
		pr_warn_ratelimited("%s: writes still in flight at a cut; marking them in the new epoch too\n",
				    t->name);
		t->carried = true;
	}
	/*
	 * Writes of older generations that an earlier cut stopped waiting for
	 * (this one waited only for @old_gen's parity; one of the same parity
	 * as @old_gen was waited for again, as long as drain_timeout): into
	 * the new epoch too, until none is left.
	 */
	if (t->carried)
		t->carried = db_blk_carry_inflight(t, rec);
	if (hbitmap_count(t->carry))
		for (k = 0; k < rec->n; k++)
			hbitmap_merge(rec->hb[k], t->carry);
}

/* ---- registering the probes ------------------------------------------- */

/*
 * In registration order: completion probes first (a write marked is
 * always seen completing), then the ones that hand slots on, then the
 * markers; unregistered in reverse.  Request completion is all a blk-mq
 * target needs (it marks writes and flags passthrough commands); the bio
 * probes, the passthrough flag at issue and the slot release at a
 * request's completion only work while a bio-based target is hooked.
 */
static struct db_probe {
	const char *name;
	void *func;
	bool bio;
	struct tracepoint *tp;
} db_probes[] = {
	{ "block_bio_complete", db_blk_complete_probe, true },
	{ "block_rq_complete", db_blk_rq_complete_probe, false },
	{ "block_split", db_blk_split_probe, true },
	{ "block_bio_remap", db_blk_remap_probe, true },
	{ "block_rq_issue", db_blk_rq_issue_probe, true },
	{ "block_bio_queue", db_blk_queue_probe, true },
};

/* Unregisters the probes of one set (@bio) before db_probes[@end]. */
static void db_probes_unregister(bool bio, int end)
{
	while (--end >= 0)
		if (db_probes[end].bio == bio)
			tracepoint_probe_unregister(db_probes[end].tp, db_probes[end].func, NULL);
}

/*
 * Registers the probes of one set, all or none.
 *
 * Return: 0 on success, or the error of tracepoint_probe_register()
 * (-ENOMEM, -EEXIST) with none of the set registered.
 */
static int db_probes_register(bool bio)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(db_probes); i++) {
		if (db_probes[i].bio != bio)
			continue;
		ret = db_fault() ? -ENOMEM :
			tracepoint_probe_register(db_probes[i].tp, db_probes[i].func, NULL);
		if (ret) {
			db_probes_unregister(bio, i);
			return ret;
		}
	}
	return 0;
}

/*
 * A target is about to be hooked: the probes it needs are registered if
 * they were not.  Never under dirtybit_lock.  A probe may still be
 * running after its unregister: db_blk_exit() waits for them all.
 *
 * Return: 0 with a use of the probes taken, or the error of
 * db_probes_register() with none.
 */
static int db_probes_get(bool bio_based)
{
	int ret = 0;

	mutex_lock(&db_probe_lock);
	if (!db_probe_users)
		ret = db_probes_register(false);
	if (!ret && bio_based && !db_bio_probe_users) {
		ret = db_probes_register(true);
		if (ret && !db_probe_users)
			db_probes_unregister(false, ARRAY_SIZE(db_probes));
	}
	if (!ret) {
		db_probe_users++;
		if (bio_based)
			WRITE_ONCE(db_bio_probe_users, db_bio_probe_users + 1);
	}
	mutex_unlock(&db_probe_lock);
	return ret;
}

/* A target was unhooked (its slots purged): the last one of a set unregisters it. */
static void db_probes_put(bool bio_based)
{
	mutex_lock(&db_probe_lock);
	if (bio_based) {
		WRITE_ONCE(db_bio_probe_users, db_bio_probe_users - 1);
		if (!db_bio_probe_users)
			db_probes_unregister(true, ARRAY_SIZE(db_probes));
	}
	if (!--db_probe_users)
		db_probes_unregister(false, ARRAY_SIZE(db_probes));
	mutex_unlock(&db_probe_lock);
}

/*
 * Probes registered, for debugfs objects (the tests): once a removal's
 * deferred unregister ran.
 */
unsigned int db_blk_probes(void)
{
	unsigned int n = 0;
	int i;

	flush_workqueue(db_wq);
	mutex_lock(&db_probe_lock);
	for (i = 0; i < ARRAY_SIZE(db_probes); i++)
		if (db_probe_users && (!db_probes[i].bio || db_bio_probe_users))
			n++;
	mutex_unlock(&db_probe_lock);
	return n;
}

/* ---- removal and detach ---------------------------------------------------- */

/*
 * Stops marking @t: under dirtybit_lock, once (true for the caller who
 * must then db_blk_unhook() it).
 */
static bool db_blk_claim(struct db_blk_target *t)
{
	lockdep_assert_held(&dirtybit_lock);
	if (t->track.gone)
		return false;
	WRITE_ONCE(t->track.gone, true);
	hlist_del_init_rcu(&t->hash);
	hlist_del_init_rcu(&t->dev_hash);
	return true;
}

/*
 * Frees slot @s, found holding @bio for @t, if it still holds @t's write.
 * Between the look and the claim @bio may have completed and its address
 * been taken again, for this slot and another target: the claim (with
 * interrupts off, so a completion waiting in db_slot_load() waits on
 * another CPU) checks the owner, and gives such a slot back untouched.
 * Another purge may hold the slot so (two targets going at once): that one
 * gives it back or frees it, a few instructions later; wait for which.
 */
static void db_blk_purge_slot(struct db_slot *s, struct db_blk_target *t, struct bio *bio)
{
	unsigned long flags;
	struct bio *old;

	local_irq_save(flags);
	while ((old = cmpxchg(&s->bio, bio, DB_SLOT_PURGING)) == DB_SLOT_PURGING)
		cpu_relax();
	if (old == bio) {
		if (s->t == t)
			db_slot_release(s, db_slot_second(s, bio));
		else	/* given back untouched, to db_slot_load()'s acquire */
			smp_store_release(&s->bio, bio);
	}
	local_irq_restore(flags);
}

/*
 * Frees the slots of a target nothing marks any more (unhashed and
 * synchronized), accounting for them as their completion would.
 */
static void db_blk_purge(struct db_blk_target *t)
{
	unsigned int i;

	for (i = 0; i < db_nslots; i++) {
		struct db_slot *s = &db_slots[i];
		struct bio *bio = db_slot_bio(s, t);

		if (bio)
			db_blk_purge_slot(s, t, bio);
	}
}

static void db_blk_probes_put_work(struct work_struct *work)
{
	struct db_blk_target *t = container_of(work, struct db_blk_target, probes_put);

	db_probes_put(t->bio_based);
	db_track_put(&t->track);
}

/*
 * After db_blk_claim(), without dirtybit_lock: once this returns no probe
 * marks @t or touches its slots, the disk is let go, and so are the probes
 * if @t was the last target hooked — from db_wq when @removal (the block
 * layer's removal callback holds its locks: unregistering takes the
 * tracepoint, CPU hotplug and text locks, kept out from under them).
 */
static void db_blk_unhook(struct db_blk_target *t, bool removal)
{
	/* No probe finds @t any more: no new slot is taken for it. */
	synchronize_rcu();
	db_blk_purge(t);
	/* A completion probe that claimed a slot before the purge is done
	 * with @t (a probe is an RCU reader): @t may be freed after this.
	 */
	synchronize_rcu();
	put_device(disk_to_dev(t->disk));
	if (!removal) {
		db_probes_put(t->bio_based);
		return;
	}
	db_track_get(&t->track);
	INIT_WORK(&t->probes_put, db_blk_probes_put_work);
	queue_work(db_wq, &t->probes_put);
}

/* The device went away: stop tracking, keep the bitmaps. */
static void db_blk_removed(struct device *dev)
{
	struct block_device *bdev = dev_to_bdev(dev);
	struct db_blk_target *gone[16];
	unsigned int n, i;
	struct db_track *tr;

	if (READ_ONCE(db_blk_exiting))
		return;
	do {
		n = 0;
		mutex_lock(&dirtybit_lock);
		list_for_each_entry(tr, &db_tracks, node) {
			struct db_blk_target *t;

			if (!db_track_is_blk(tr) || tr->gone)
				continue;
			t = to_blk(tr);
			if (t->disk != bdev->bd_disk ||
			    (bdev_is_partition(bdev) && t->partno != db_bdev_partno(bdev)))
				continue;
			db_blk_claim(t);
			db_track_get(tr);
			gone[n++] = t;
			if (n == ARRAY_SIZE(gone))
				break;
		}
		mutex_unlock(&dirtybit_lock);
		for (i = 0; i < n; i++) {
			db_blk_unhook(gone[i], true);
			db_notify(DIRTYBIT_EVENT_TARGET_GONE, &gone[i]->track, NULL);
			pr_info("%s: device removed; target %u keeps its bitmaps\n",
				gone[i]->name, gone[i]->track.id);
			db_track_put(&gone[i]->track);
		}
	} while (n == ARRAY_SIZE(gone));
}

DB_CLASS_REMOVE_DEV(db_blk_removed)

/*
 * Registers for block device removals, once; never under dirtybit_lock.
 *
 * Return: 0 if registered (now or before), or the error of
 * class_interface_register() (-ENOMEM).
 */
static int db_blk_watch(struct device *disk_dev)
{
	int ret = 0;

	mutex_lock(&db_class_lock);
	if (!db_class_registered) {
		db_class_intf.class = disk_dev->class;
		db_class_intf.remove_dev = db_blk_removed_cb;
		ret = db_fault() ? -ENOMEM : class_interface_register(&db_class_intf);
		db_class_registered = !ret;
	}
	mutex_unlock(&db_class_lock);
	return ret;
}

static void db_blk_free(struct db_blk_target *t)
{
	db_track_fini(&t->track);
	hbitmap_free(t->carry);
	free_percpu(t->inflight);
	kfree(t);
	db_obj_put(DB_OBJ_TARGET);
}

/* ->release: unlisted, unhooked, the last reference gone. */
static void db_blk_release(struct db_track *tr)
{
	db_track_release(tr);
	db_blk_free(to_blk(tr));
}

/*
 * ->detach: under the cut lock.
 *
 * Return: 0 when detached, -EBUSY (with a message) if a bitmap is frozen.
 */
static int db_blk_detach(struct db_track *tr, struct netlink_ext_ack *extack)
{
	struct db_blk_target *t = to_blk(tr);
	bool claimed;
	int ret;

	ret = db_track_lock_unfrozen(tr, extack);
	if (ret)
		return ret;
	db_track_unlist(tr);
	claimed = db_blk_claim(t);
	pr_info("%s: target %u detached\n", t->name, tr->id);
	db_notify(DIRTYBIT_EVENT_TARGET_DETACHED, tr, NULL);
	mutex_unlock(&dirtybit_lock);
	if (claimed)
		db_blk_unhook(t, false);
	db_track_put(tr);	/* the list's */
	return 0;
}

/*
 * ->check, with every settle: the media changed (a loop device given
 * another backing file, a removable medium swapped) without the disk going
 * away, or a whole disk changed size without a write past its end.
 */
static void db_blk_check(struct db_track *tr)
{
	struct db_blk_target *t = to_blk(tr);

	if (tr->gone)
		return;
	if (READ_ONCE(t->disk->diskseq) != t->diskseq)
		db_track_lost(tr, DB_LOST_MEDIA);
	if (!t->partno && get_capacity(t->disk) != t->capacity)
		db_track_lost(tr, DB_LOST_RESIZE);
}

/* ---- attach ----------------------------------------------------------------- */

/*
 * Fills @t from the block device at @path, holding a reference to its disk
 * on success.
 *
 * Return: 0 on success; with a message, the error of lookup_bdev()
 * (-ENOTBLK, -ENOENT, ...) or of opening the device (-ENXIO, -ENODEV,
 * ...), -EOPNOTSUPP for a zoned or DAX device, -EINVAL if it has no
 * capacity.
 */
static int db_blk_open(const char *path, struct db_blk_target *t,
		       struct netlink_ext_ack *extack)
{
	struct db_bdev_handle h;
	struct block_device *bdev;
	int ret;

	ret = lookup_bdev(path, &t->dev);
	if (ret) {
		NL_SET_ERR_MSG_MOD(extack, "path is not a block device");
		return ret;
	}
	ret = db_bdev_open(t->dev, &h);
	if (ret) {
		NL_SET_ERR_MSG_MOD(extack, "cannot open the block device");
		return ret;
	}
	bdev = h.bdev;
	ret = -EOPNOTSUPP;
	if (bdev_is_zoned(bdev)) {
		NL_SET_ERR_MSG_MOD(extack, "zoned block devices are not supported");
		goto out;
	}
	/* DAX: a file system writes the memory itself, no bio ever says so. */
	if (blk_queue_dax(bdev->bd_disk->queue)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "DAX-capable devices are written without block I/O: not supported");
		goto out;
	}
	ret = -EINVAL;
	if (!bdev_nr_sectors(bdev)) {
		NL_SET_ERR_MSG_MOD(extack, "the block device has no capacity");
		goto out;
	}
	t->disk = bdev->bd_disk;
	t->partno = db_bdev_partno(bdev);
	t->start = bdev->bd_start_sect;
	t->nr_sects = bdev_nr_sectors(bdev);
	t->diskseq = t->disk->diskseq;
	t->capacity = get_capacity(t->disk);
	t->bio_based = !queue_is_mq(t->disk->queue);
	if (db_disk_has_rw_page(t->disk))
		pr_warn("%pg: writes through ->rw_page (swap, ext2/vfat/exfat page writeback) pass no tracepoint before 6.3; they are not recorded\n",
			bdev);
	snprintf(t->name, sizeof(t->name), "%pg", bdev);
	get_device(disk_to_dev(t->disk));
	ret = 0;
out:
	db_bdev_close(&h);
	return ret;
}

static struct db_blk_target *db_blk_find_dev(dev_t dev, bool live_only)
{
	struct db_blk_target *found = NULL;
	struct db_track *tr;

	list_for_each_entry(tr, &db_tracks, node) {
		if (!db_track_is_blk(tr) || to_blk(tr)->dev != dev)
			continue;
		if (!tr->gone)
			return to_blk(tr);
		if (!live_only && !found)
			found = to_blk(tr);
	}
	return found;
}

/*
 * Waits until every request that entered @q before now has completed (a
 * freeze and a thaw), killably and until @deadline at most.
 *
 * Return: 0 once they have, -EINTR if the caller was killed, -ETIMEDOUT
 * at @deadline (each with a message).
 */
static int db_blk_quiesce(struct request_queue *q, unsigned long deadline,
			  struct netlink_ext_ack *extack)
{
	int ret = 0;

	blk_freeze_queue_start(q);
	while (blk_mq_freeze_queue_wait_timeout(q, HZ / 10) <= 0) {
		if (fatal_signal_pending(current)) {
			NL_SET_ERR_MSG_MOD(extack, "interrupted waiting for earlier writes");
			ret = -EINTR;
			break;
		}
		if (time_after(jiffies, deadline) || db_fault()) {
			NL_SET_ERR_MSG_MOD(extack,
					   "writes submitted before the attach did not complete in drain_timeout");
			ret = -ETIMEDOUT;
			break;
		}
	}
	blk_mq_unfreeze_queue(q);
	return ret;
}

struct db_quiesce_all {
	struct gendisk *except;
	unsigned long deadline;
	struct netlink_ext_ack *extack;
};

/* Return: 0, or the error of db_blk_quiesce(), which stops the walk. */
static int db_blk_quiesce_one(struct device *dev, void *data)
{
	struct db_quiesce_all *qa = data;
	struct block_device *bdev = dev_to_bdev(dev);

	if (bdev_is_partition(bdev) || bdev->bd_disk == qa->except ||
	    !queue_is_mq(bdev->bd_disk->queue))
		return 0;
	return db_blk_quiesce(bdev->bd_disk->queue, qa->deadline, qa->extack);
}

/*
 * A bio-based disk's writes submitted before the attach are complete when
 * this returns 0 (blk-mq disks mark theirs as they complete: nothing to
 * wait for).  Its freeze waits only for bios being submitted; those its
 * drivers passed on are requests of the blk-mq disks below, whichever they
 * are: each of those queues is frozen and thawed in turn, all within one
 * drain_timeout.
 *
 * Return: 0 on success, -EINTR or -ETIMEDOUT as db_blk_quiesce().
 */
static int db_blk_wait_earlier_writes(struct db_blk_target *t, struct netlink_ext_ack *extack)
{
	struct db_quiesce_all qa = {
		.except = t->disk,
		.deadline = jiffies + (unsigned long)READ_ONCE(drain_timeout) * HZ,
		.extack = extack,
	};
	int ret;

	if (!t->bio_based)
		return 0;
	ret = db_blk_quiesce(t->disk->queue, qa.deadline, extack);
	if (ret)
		return ret;
	return class_for_each_device(disk_to_dev(t->disk)->class, NULL, &qa,
				     db_blk_quiesce_one);
}

/*
 * Is @t's device still the one attached (not removed, not re-created at
 * another place)?  Opens it: never under dirtybit_lock.
 */
static bool db_blk_still_there(struct db_blk_target *t)
{
	struct db_bdev_handle h;
	bool same;

	if (!disk_live(t->disk) || db_bdev_open(t->dev, &h))
		return false;
	same = h.bdev->bd_disk == t->disk && h.bdev->bd_start_sect == t->start &&
	       bdev_nr_sectors(h.bdev) == t->nr_sects;
	db_bdev_close(&h);
	return same;
}

/*
 * TARGET_ATTACH: tracks @path from now on; *@trp gets a reference to the
 * new target.
 *
 * Return: 0 on success, or with a message: -ENOTBLK/-ENODEV (lookup),
 * -EEXIST already attached, -EOPNOTSUPP zoned or DAX, -EINVAL no
 * capacity, -ETIMEDOUT/-EINTR earlier writes did not complete, -ENOMEM.
 */
int db_blk_attach(const char *path, struct db_track **trp, struct netlink_ext_ack *extack)
{
	struct db_blk_target *t;
	bool dup;
	int ret;

	t = db_fault() ? NULL : kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return -ENOMEM;
	db_obj_get(DB_OBJ_TARGET);
	t->inflight = db_fault() ? NULL : alloc_percpu_gfp(struct db_inflight, GFP_KERNEL_ACCOUNT);
	if (!t->inflight) {
		db_blk_free(t);
		return -ENOMEM;
	}
	ret = db_blk_open(path, t, extack);
	if (ret) {
		db_blk_free(t);
		return ret;
	}
	ret = db_blk_watch(disk_to_dev(t->disk));
	if (ret)
		goto err_put;
	db_track_init(&t->track, (u64)t->nr_sects << SECTOR_SHIFT, &db_blk_ops);
	ret = -ENOMEM;
	t->carry = db_hbitmap_alloc(t->track.size, DB_CARRY_GRANULARITY);
	if (!t->carry)
		goto err_put;
	ret = db_probes_get(t->bio_based);
	if (ret) {
		NL_SET_ERR_MSG_MOD(extack, "cannot register the block tracepoint probes");
		goto err_put;
	}

	mutex_lock(&dirtybit_lock);
	ret = -EEXIST;
	if (db_blk_find_dev(t->dev, true)) {
		NL_SET_ERR_MSG_MOD(extack, "the block device is already attached");
		goto err_unlock;
	}
	ret = db_track_publish_empty(&t->track);
	if (ret)
		goto err_unlock;
	/* Marking starts here; the target is listed once earlier writes are done. */
	hlist_add_head_rcu(&t->hash, db_disk_bucket(t->disk));
	hlist_add_head_rcu(&t->dev_hash, db_dev_bucket(disk_devt(t->disk)));
	mutex_unlock(&dirtybit_lock);

	ret = db_blk_wait_earlier_writes(t, extack);

	mutex_lock(&dirtybit_lock);
	dup = db_blk_find_dev(t->dev, true);
	if (ret || dup) {
		if (dup) {
			NL_SET_ERR_MSG_MOD(extack, "the block device is already attached");
			ret = -EEXIST;
		}
		db_blk_claim(t);
		mutex_unlock(&dirtybit_lock);
		db_blk_unhook(t, false);
		db_track_put(&t->track);
		return ret;
	}
	db_track_list(&t->track);
	db_track_get(&t->track);
	*trp = &t->track;
	db_notify(DIRTYBIT_EVENT_TARGET_ATTACHED, &t->track, NULL);
	pr_info("%s: attached as target %u\n", t->name, t->track.id);
	mutex_unlock(&dirtybit_lock);
	/*
	 * Listed: a removal from now on finds it.  One before (the disk or
	 * the partition) went unseen: then the device cannot be opened.
	 */
	if (!db_blk_still_there(t)) {
		bool claimed;

		mutex_lock(&dirtybit_lock);
		claimed = db_blk_claim(t);
		mutex_unlock(&dirtybit_lock);
		if (claimed) {
			db_blk_unhook(t, false);
			db_notify(DIRTYBIT_EVENT_TARGET_GONE, &t->track, NULL);
		}
	}
	return 0;

err_unlock:
	mutex_unlock(&dirtybit_lock);
	db_probes_put(t->bio_based);
err_put:
	put_device(disk_to_dev(t->disk));
	db_blk_free(t);
	return ret;
}

/*
 * ->lookup: the block device @path names; the kind TARGET_PATH asks last.
 *
 * Return: 0 with *@dev set, -ENODEV (with a message) if @path is not a
 * block device.
 */
static int db_blk_lookup(const char *path, dev_t *dev, struct netlink_ext_ack *extack)
{
	if (lookup_bdev(path, dev)) {
		NL_SET_ERR_MSG_MOD(extack, "path is not a block device");
		return -ENODEV;
	}
	return 0;
}

/*
 * ->find: the target of block device @dev (a gone one too), settled; under
 * dirtybit_lock.
 *
 * Return: 0 with *@tr set, -ENOENT (with a message) if it is not attached.
 */
static int db_blk_find(dev_t dev, struct db_track **tr, struct netlink_ext_ack *extack)
{
	struct db_blk_target *t;

	lockdep_assert_held(&dirtybit_lock);
	t = db_blk_find_dev(dev, false);
	if (!t) {
		NL_SET_ERR_MSG_MOD(extack, "the block device is not attached");
		return -ENOENT;
	}
	db_track_settle(&t->track);
	*tr = &t->track;
	return 0;
}

/* ->fill: a block target's reply.  Return: 0, or -EMSGSIZE if it is full. */
static int db_blk_fill(struct sk_buff *msg, const struct db_track *tr)
{
	const struct db_blk_target *t = container_of(tr, struct db_blk_target, track);

	if (nla_put_u32(msg, DIRTYBIT_A_TARGET_DEV, new_encode_dev(t->dev)) ||
	    nla_put_string(msg, DIRTYBIT_A_TARGET_NAME, t->name) ||
	    nla_put_u64_64bit(msg, DIRTYBIT_A_TARGET_START, (u64)t->start << SECTOR_SHIFT,
			      DIRTYBIT_A_PAD) ||
	    nla_put_u64_64bit(msg, DIRTYBIT_A_TARGET_OVERFLOWS, atomic64_read(&t->overflows),
			      DIRTYBIT_A_PAD))
		return -EMSGSIZE;
	return 0;
}

const struct db_track_ops db_blk_ops = {
	.drain = db_blk_drain,
	.check = db_blk_check,
	.detach = db_blk_detach,
	.release = db_blk_release,
	.lookup = db_blk_lookup,
	.find = db_blk_find,
	.fill = db_blk_fill,
	.kind = DIRTYBIT_TARGET_BLOCK,
	.default_granularity = DIRTYBIT_DEFAULT_GRANULARITY,
	.min_granularity = 1U << HBITMAP_MIN_GRANULARITY_SHIFT,
};

/* ---- module init / exit -------------------------------------------------- */

static void db_find_tracepoints(struct tracepoint *tp, void *priv)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(db_probes); i++)
		if (!strcmp(tp->name, db_probes[i].name))
			db_probes[i].tp = tp;
}

/*
 * Return: 0 on success, -ENOMEM, -ENOENT if a tracepoint the probes need
 * is missing from this kernel.
 */
int db_blk_init(void)
{
	int i;

	/* db_probes[] registers them untyped: their prototypes checked here. */
	check_trace_callback_type_block_bio_complete(db_blk_complete_probe);
	check_trace_callback_type_block_rq_complete(db_blk_rq_complete_probe);
	check_trace_callback_type_block_split(db_blk_split_probe);
	check_trace_callback_type_block_bio_remap(db_blk_remap_probe);
	check_trace_callback_type_block_rq_issue(db_blk_rq_issue_probe);
	check_trace_callback_type_block_bio_queue(db_blk_queue_probe);
	if (drop_mark_one_in)
		db_test_knob_taint("drop_mark_one_in=%u: block bitmaps lose writes",
				   drop_mark_one_in);
	if (!cut_drain)
		db_test_knob_taint("cut_drain=N: cuts lose writes still in flight");

	db_nbuckets = max(1U, inflight_slots / DB_SLOTS_PER_BUCKET);
	db_nslots = db_nbuckets * DB_SLOTS_PER_BUCKET;
	db_slots = db_fault() ? NULL : kvcalloc(db_nslots, sizeof(*db_slots), GFP_KERNEL);
	db_used = db_fault() ? NULL : kvcalloc(db_nbuckets, sizeof(*db_used), GFP_KERNEL);
	if (!db_slots || !db_used) {
		kvfree(db_used);
		kvfree(db_slots);
		return -ENOMEM;
	}

	/* Not all exported to modules: found by name. */
	for_each_kernel_tracepoint(db_find_tracepoints, NULL);
	for (i = 0; i < ARRAY_SIZE(db_probes); i++) {
		if (!db_probes[i].tp) {
			pr_err("tracepoint %s not found\n", db_probes[i].name);
			kvfree(db_used);
			kvfree(db_slots);
			return -ENOENT;
		}
	}
	return 0;
}

void db_blk_exit(void)
{
	struct db_blk_target *t;
	struct db_track *tr;

	WRITE_ONCE(db_blk_exiting, true);
	mutex_lock(&db_class_lock);
	if (db_class_registered)
		class_interface_unregister(&db_class_intf);
	db_class_registered = false;
	mutex_unlock(&db_class_lock);

	/* No command runs any more (the family and the nodes are gone). */
	for (;;) {
		bool claimed = false;

		t = NULL;
		mutex_lock(&dirtybit_lock);
		list_for_each_entry(tr, &db_tracks, node) {
			if (db_track_is_blk(tr)) {
				t = to_blk(tr);
				break;
			}
		}
		if (t) {
			db_track_unlist(&t->track);
			claimed = db_blk_claim(t);
		}
		mutex_unlock(&dirtybit_lock);
		if (!t)
			break;
		if (claimed)
			db_blk_unhook(t, false);
		db_track_put(&t->track);
	}
	/* The last unhook (a removal's, from db_wq) unregistered the probes. */
	flush_workqueue(db_wq);
	WARN_ON_ONCE(db_probe_users || db_bio_probe_users);
	tracepoint_synchronize_unregister();
	kvfree(db_used);
	kvfree(db_slots);
}
