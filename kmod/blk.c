// SPDX-License-Identifier: GPL-2.0
/*
 * Block targets: tracking writes to a live block device without a device
 * layer.
 *
 * Marking: a probe on the block_bio_queue tracepoint sees every bio once,
 * before any split, as it is submitted (submit_bio_noacct_nocheck()), with
 * its sector already relative to the whole disk unless the bio still has to
 * be remapped from a partition.  Writes, discards, secure erases and write
 * zeroes count (op_is_write() with a size); reads and empty flushes do not.
 * Bios that reach the disk through a partition node, the whole-disk node or
 * a dm/md device stacked above are all submitted to this disk in the end, so
 * all of them are seen.  A partition target is a sector range of its disk.
 *
 * The exact cut: every marked write also takes a slot in a fixed-size table
 * of in-flight writes, tagged with the generation of the rec it was marked
 * under; completion frees the slot, seen on block_rq_complete for the bios
 * of a request (blk-mq devices) and on block_bio_complete otherwise (bio-based
 * devices, split bios).  A cut publishes the new rec,
 * waits for the old rec's markers (synchronize_rcu()) and then for the old
 * generation's writes to complete.  If that takes longer than
 * drain_timeout, the writes still in flight are also marked in the new
 * epoch.  If the table is full, the write goes to the target's carry set,
 * which is marked into every later epoch: a dirty bit may be reported more
 * than once, never lost.
 *
 * Removal: a block class interface tells us when a disk or partition is
 * deleted; its targets become "gone" and keep their bitmaps.
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
		 "Seconds a cut waits for earlier writes before also marking them in the new epoch");

/*
 * Testing only: the selftest that proves the cut exact shows that it fails
 * without the drain.  Never turn this off on a machine you back up.
 */
static bool cut_drain = true;
module_param(cut_drain, bool, 0644);
MODULE_PARM_DESC(cut_drain,
		 "Drain earlier writes at a cut (default Y; N loses writes, for tests only)");

#define DB_CARRY_GRANULARITY	65536
#define DB_HASH_BITS		6
#define DB_SLOTS_PER_BUCKET	8
#define DB_SLOT_BUSY		((struct bio *)1)

struct db_blk_target {
	struct db_track track;
	struct hlist_node hash;		/* db_blk_hash, RCU; unhashed when gone */
	struct gendisk *disk;		/* referenced while not gone */
	dev_t dev;
	u8 partno;
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
};

struct db_inflight {
	int n[2];
};

struct db_slot {
	struct bio *bio;		/* NULL free, DB_SLOT_BUSY being filled */
	struct db_blk_target *t;
	u64 offset;
	u32 length;
	u32 gen;
};

static struct hlist_head db_blk_hash[1 << DB_HASH_BITS];
static struct db_slot *db_slots;
static unsigned int db_nbuckets;
static struct tracepoint *db_tp_queue;
static struct tracepoint *db_tp_rq_complete;

/* The block class, learnt from the first attached disk (it is not exported). */
static DEFINE_MUTEX(db_class_lock);
static struct class_interface db_class_intf;
static bool db_class_registered;
static bool db_blk_exiting;

static const struct db_track_ops db_blk_ops;

static struct db_blk_target *to_blk(struct db_track *tr)
{
	return container_of(tr, struct db_blk_target, track);
}

bool db_track_is_blk(const struct db_track *tr)
{
	return tr->ops == &db_blk_ops;
}

static struct db_slot *db_bucket(const struct bio *bio)
{
	return &db_slots[hash_ptr(bio, 32) % db_nbuckets * DB_SLOTS_PER_BUCKET];
}

/* ---- the marking path (tracepoint probes: atomic, no locks, no allocation) */

static void db_inflight_add(struct db_blk_target *t, struct bio *bio, u64 off,
			    u32 len, u32 gen)
{
	struct db_slot *s = db_bucket(bio);
	unsigned int i = db_fault() ? DB_SLOTS_PER_BUCKET : 0;

	for (; i < DB_SLOTS_PER_BUCKET; i++, s++) {
		if (READ_ONCE(s->bio) || cmpxchg(&s->bio, NULL, DB_SLOT_BUSY))
			continue;
		s->t = t;
		s->offset = off;
		s->length = len;
		s->gen = gen;
		this_cpu_inc(t->inflight->n[gen & 1]);
		/* Publish the filled slot: pairs with the acquire in the
		 * completion probe, the purge and the carry-over scan.
		 */
		smp_store_release(&s->bio, bio);
		return;
	}
	/* No slot (or a fault injected above): the carry set keeps this write
	 * in every later epoch.
	 */
	hbitmap_set(t->carry, off, len);
	atomic64_inc(&t->overflows);
}

static void db_blk_mark(struct db_blk_target *t, struct bio *bio, u64 off, u32 len)
{
	struct db_rec *rec = rcu_dereference(t->track.rec);

	db_rec_mark(rec, off, len);
	db_inflight_add(t, bio, off, len, rec->gen);
}

static void db_blk_queue_probe(void *ignore, struct bio *bio)
{
	struct block_device *bdev = bio->bi_bdev;
	struct db_blk_target *t;
	sector_t sector, end;

	if (!op_is_write(bio_op(bio)) || !bio->bi_iter.bi_size || !bdev)
		return;
	sector = bio->bi_iter.bi_sector;
	if (bdev_is_partition(bdev) && !bio_flagged(bio, BIO_REMAPPED))
		sector += bdev->bd_start_sect;
	end = sector + bio_sectors(bio);

	rcu_read_lock();
	hlist_for_each_entry_rcu(t, &db_blk_hash[hash_ptr(bdev->bd_disk, DB_HASH_BITS)], hash) {
		sector_t lo, hi;

		if (t->disk != bdev->bd_disk)
			continue;
		/*
		 * Past the end through the target's own node: the device grew
		 * since attach (the block layer checked the bio against its
		 * size).  Through another node it is a neighbour's write.
		 */
		if (unlikely(end > t->start + t->nr_sects) &&
		    (!t->partno || db_bdev_partno(bdev) == t->partno))
			WRITE_ONCE(t->track.resized, true);
		if (sector >= t->start + t->nr_sects || end <= t->start)
			continue;
		lo = max(sector, t->start);
		hi = min(end, t->start + t->nr_sects);
		db_blk_mark(t, bio, (u64)(lo - t->start) << SECTOR_SHIFT,
			    (hi - lo) << SECTOR_SHIFT);
	}
	rcu_read_unlock();
}

/* @bio completed: free its slots (one per target it was marked in). */
static void db_inflight_done(struct bio *bio)
{
	struct db_slot *s;
	unsigned int i;

	s = db_bucket(bio);
	for (i = 0; i < DB_SLOTS_PER_BUCKET; i++, s++) {
		struct db_blk_target *t;
		u32 gen;

		/* Pairs with the release in db_inflight_add(): t and gen. */
		if (smp_load_acquire(&s->bio) != bio)
			continue;
		t = s->t;
		gen = s->gen;
		/* Lost to a purge (detach, gone): the purger accounts for it. */
		if (cmpxchg(&s->bio, bio, NULL) != bio)
			continue;
		this_cpu_dec(t->inflight->n[gen & 1]);
	}
}

/* Bio-based devices, and bios split before they became requests. */
static void db_blk_complete_probe(void *ignore, struct request_queue *q, struct bio *bio)
{
	if (op_is_write(bio_op(bio)))
		db_inflight_done(bio);
}

/*
 * Request-based devices: blk_update_request() traces the request and
 * clears BIO_TRACE_COMPLETION on its bios, so block_bio_complete never
 * fires for them.  The bios this update finishes are the leading ones
 * that @nr_bytes covers whole.
 */
static void db_blk_rq_complete_probe(void *ignore, struct request *rq,
				     blk_status_t error, unsigned int nr_bytes)
{
	struct bio *bio;

	if (!op_is_write(req_op(rq)))
		return;
	for (bio = rq->bio; bio && bio->bi_iter.bi_size <= nr_bytes; bio = bio->bi_next) {
		nr_bytes -= bio->bi_iter.bi_size;
		db_inflight_done(bio);
	}
}

/* ---- the cut ------------------------------------------------------------- */

/* The bio of slot @s when it is a filled slot of @t, else NULL. */
static struct bio *db_slot_bio(struct db_slot *s, const struct db_blk_target *t)
{
	/* Pairs with the release in db_inflight_add(): t, offset, length, gen. */
	struct bio *bio = smp_load_acquire(&s->bio);

	return bio && bio != DB_SLOT_BUSY && s->t == t ? bio : NULL;
}

/* Marks in @rec every write of @t still in flight from before @rec. */
static void db_blk_carry_inflight(struct db_blk_target *t, struct db_rec *rec)
{
	unsigned int i, k, n = db_nbuckets * DB_SLOTS_PER_BUCKET;

	for (i = 0; i < n; i++) {
		struct db_slot *s = &db_slots[i];

		/* A slot recycled under us only makes us mark more. */
		if (!db_slot_bio(s, t) || s->gen == rec->gen)
			continue;
		for (k = 0; k < rec->n; k++)
			hbitmap_set(rec->hb[k], s->offset, s->length);
	}
}

/*
 * Writes of generation parity @p still in flight.  Called after the cut's
 * synchronize_rcu(): every increment for @p is visible and no new one comes,
 * so a decrement not yet seen only makes the sum larger, never 0 too early.
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
 * slowest earlier write.
 */
static void db_blk_drain(struct db_track *tr, u32 old_gen, struct db_rec *rec)
{
	struct db_blk_target *t = to_blk(tr);
	unsigned long deadline = jiffies + (unsigned long)drain_timeout * HZ;
	bool drained = true;
	unsigned int k;

	if (!READ_ONCE(cut_drain))
		return;
	while (db_inflight_sum(t, old_gen & 1)) {
		/* A fault injected here gives up at once, as a timeout would. */
		if (time_after(jiffies, deadline) || fatal_signal_pending(current) ||
		    db_fault()) {
			drained = false;
			break;
		}
		schedule_timeout_killable(1);
	}
	if (!drained) {
		pr_warn_ratelimited("%s: writes still in flight at a cut; marking them in the new epoch too\n",
				    t->name);
		db_blk_carry_inflight(t, rec);
	}
	if (hbitmap_count(t->carry))
		for (k = 0; k < rec->n; k++)
			hbitmap_merge(rec->hb[k], t->carry);
}

static const struct db_track_ops db_blk_ops = {
	.drain = db_blk_drain,
	.default_granularity = DIRTYBIT_DEFAULT_GRANULARITY,
	.min_granularity = 1U << HBITMAP_MIN_GRANULARITY_SHIFT,
};

/*
 * Frees the slots of a target nothing marks any more (unhashed and
 * synchronized), accounting for them as their completion would.
 */
static void db_blk_purge(struct db_blk_target *t)
{
	unsigned int i, n = db_nbuckets * DB_SLOTS_PER_BUCKET;

	for (i = 0; i < n; i++) {
		struct db_slot *s = &db_slots[i];
		struct bio *bio = db_slot_bio(s, t);

		if (bio && cmpxchg(&s->bio, bio, NULL) == bio)
			this_cpu_dec(t->inflight->n[s->gen & 1]);
	}
}

/*
 * Stops tracking @t for good, from device removal or from detach: once this
 * returns, no probe marks @t or touches its slots, and the disk is let go.
 */
static void db_blk_unhook(struct db_blk_target *t)
{
	t->track.gone = true;
	hlist_del_init_rcu(&t->hash);
	/* No queue probe finds @t any more: no new slot is taken for it. */
	synchronize_rcu();
	db_blk_purge(t);
	/* A completion probe that claimed a slot before the purge is done
	 * with @t (probes run under RCU): @t may be freed after this.
	 */
	synchronize_rcu();
	put_device(disk_to_dev(t->disk));
}

/* ---- removal ------------------------------------------------------------- */

/* The device went away: stop tracking, keep the bitmaps. */
static void db_blk_gone(struct db_blk_target *t)
{
	lockdep_assert_held(&dirtybit_lock);
	if (t->track.gone)
		return;
	db_blk_unhook(t);
	db_notify(DIRTYBIT_EVENT_TARGET_GONE, &t->track, NULL);
	pr_info("%s: device removed; target %u keeps its bitmaps\n", t->name, t->track.id);
}

static void db_blk_removed(struct device *dev)
{
	struct block_device *bdev = dev_to_bdev(dev);
	struct db_track *tr;

	if (READ_ONCE(db_blk_exiting))
		return;
	mutex_lock(&dirtybit_lock);
	list_for_each_entry(tr, &db_tracks, node) {
		struct db_blk_target *t;

		if (!db_track_is_blk(tr) || tr->gone)
			continue;
		t = to_blk(tr);
		if (t->disk == bdev->bd_disk &&
		    (!bdev_is_partition(bdev) || t->partno == db_bdev_partno(bdev)))
			db_blk_gone(t);
	}
	mutex_unlock(&dirtybit_lock);
}

DB_CLASS_REMOVE_DEV(db_blk_removed)

/* Registers for block device removals, once; never under dirtybit_lock. */
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

/* ---- attach / detach ------------------------------------------------------ */

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
	ret = -EINVAL;
	if (!bdev_nr_sectors(bdev)) {
		NL_SET_ERR_MSG_MOD(extack, "the block device has no capacity");
		goto out;
	}
	t->disk = bdev->bd_disk;
	t->partno = db_bdev_partno(bdev);
	t->start = bdev->bd_start_sect;
	t->nr_sects = bdev_nr_sectors(bdev);
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

static void db_blk_free(struct db_blk_target *t)
{
	hbitmap_free(t->carry);
	free_percpu(t->inflight);
	kfree(t);
	db_obj_put(DB_OBJ_TARGET);
}

int db_blk_attach(const char *path, u32 *id, struct netlink_ext_ack *extack)
{
	struct db_blk_target *t;
	struct db_track *tr;
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

	mutex_lock(&dirtybit_lock);
	ret = -EEXIST;
	if (db_blk_find_dev(t->dev, true)) {
		NL_SET_ERR_MSG_MOD(extack, "the block device is already attached");
		goto err_unlock;
	}
	ret = db_track_publish_empty(&t->track);
	if (ret)
		goto err_unlock;
	hlist_add_head_rcu(&t->hash, &db_blk_hash[hash_ptr(t->disk, DB_HASH_BITS)]);
	/*
	 * Start at a known point: wait for the writes already queued to the
	 * disk, so that a bitmap added next sees every later write.
	 */
	blk_mq_freeze_queue(t->disk->queue);
	blk_mq_unfreeze_queue(t->disk->queue);
	*id = t->track.id;
	db_notify(DIRTYBIT_EVENT_TARGET_ATTACHED, &t->track, NULL);
	/* Removed before we were hashed: the removal callback missed us. */
	if (!disk_live(t->disk))
		db_blk_gone(t);
	tr = &t->track;
	pr_info("%s: attached as target %u\n", t->name, tr->id);
	mutex_unlock(&dirtybit_lock);
	return 0;

err_unlock:
	mutex_unlock(&dirtybit_lock);
err_put:
	put_device(disk_to_dev(t->disk));
	db_blk_free(t);
	return ret;
}

static void db_blk_release(struct db_blk_target *t)
{
	if (!t->track.gone)
		db_blk_unhook(t);
	db_track_release(&t->track);
	db_blk_free(t);
}

int db_blk_detach(struct db_track *tr, struct netlink_ext_ack *extack)
{
	u32 id = tr->id;
	int ret;

	lockdep_assert_held(&dirtybit_lock);
	ret = db_track_check_unfrozen(tr, extack);
	if (ret)
		return ret;
	pr_info("%s: target %u detached\n", to_blk(tr)->name, id);
	db_notify(DIRTYBIT_EVENT_TARGET_DETACHED, tr, NULL);
	db_blk_release(to_blk(tr));
	return 0;
}

int db_blk_resolve(const char *path, struct db_track **tr, struct netlink_ext_ack *extack)
{
	struct db_blk_target *t;
	dev_t dev;

	lockdep_assert_held(&dirtybit_lock);
	if (lookup_bdev(path, &dev)) {
		NL_SET_ERR_MSG_MOD(extack, "path is not a block device");
		return -ENODEV;
	}
	t = db_blk_find_dev(dev, false);
	if (!t) {
		NL_SET_ERR_MSG_MOD(extack, "the block device is not attached");
		return -ENOENT;
	}
	db_track_settle(&t->track);
	*tr = &t->track;
	return 0;
}

void db_blk_info(const struct db_track *tr, struct db_blk_info *info)
{
	const struct db_blk_target *t = container_of(tr, struct db_blk_target, track);

	info->dev = new_encode_dev(t->dev);
	strscpy(info->name, t->name, sizeof(info->name));
	info->start = (u64)t->start << SECTOR_SHIFT;
	info->overflows = atomic64_read(&t->overflows);
}

/* ---- module init / exit -------------------------------------------------- */

static void db_find_tracepoints(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "block_bio_queue"))
		db_tp_queue = tp;
	else if (!strcmp(tp->name, "block_rq_complete"))
		db_tp_rq_complete = tp;
}

int db_blk_init(void)
{
	int ret;

	db_nbuckets = max(1U, inflight_slots / DB_SLOTS_PER_BUCKET);
	db_slots = db_fault() ? NULL :
		kvcalloc((size_t)db_nbuckets * DB_SLOTS_PER_BUCKET, sizeof(*db_slots), GFP_KERNEL);
	if (!db_slots)
		return -ENOMEM;

	/* Neither is exported to modules: find them by name. */
	for_each_kernel_tracepoint(db_find_tracepoints, NULL);
	if (!db_tp_queue || !db_tp_rq_complete) {
		pr_err("tracepoints block_bio_queue / block_rq_complete not found\n");
		ret = -ENOENT;
		goto err_free;
	}
	/* Completion probes first: a write marked is always seen completing. */
	ret = register_trace_block_bio_complete(db_blk_complete_probe, NULL);
	if (ret)
		goto err_free;
	ret = db_fault() ? -ENOMEM :
		tracepoint_probe_register(db_tp_rq_complete, db_blk_rq_complete_probe, NULL);
	if (ret)
		goto err_bio_complete;
	ret = db_fault() ? -ENOMEM :
		tracepoint_probe_register(db_tp_queue, db_blk_queue_probe, NULL);
	if (ret)
		goto err_rq_complete;
	return 0;

err_rq_complete:
	tracepoint_probe_unregister(db_tp_rq_complete, db_blk_rq_complete_probe, NULL);
err_bio_complete:
	unregister_trace_block_bio_complete(db_blk_complete_probe, NULL);
	tracepoint_synchronize_unregister();
err_free:
	kvfree(db_slots);
	return ret;
}

void db_blk_exit(void)
{
	struct db_track *tr, *tmp;

	WRITE_ONCE(db_blk_exiting, true);
	mutex_lock(&db_class_lock);
	if (db_class_registered)
		class_interface_unregister(&db_class_intf);
	db_class_registered = false;
	mutex_unlock(&db_class_lock);

	tracepoint_probe_unregister(db_tp_queue, db_blk_queue_probe, NULL);
	tracepoint_probe_unregister(db_tp_rq_complete, db_blk_rq_complete_probe, NULL);
	unregister_trace_block_bio_complete(db_blk_complete_probe, NULL);
	tracepoint_synchronize_unregister();

	mutex_lock(&dirtybit_lock);
	list_for_each_entry_safe(tr, tmp, &db_tracks, node)
		if (db_track_is_blk(tr))
			db_blk_release(to_blk(tr));
	mutex_unlock(&dirtybit_lock);
	kvfree(db_slots);
}
