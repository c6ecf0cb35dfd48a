// SPDX-License-Identifier: GPL-2.0
/*
 * Named bitmaps with QEMU's semantics, the transactions that change them
 * and the cut that separates their epochs exactly.
 *
 * Every change — a single netlink command or a transaction of many — goes
 * through db_transaction(): lock the cut of every target it names, validate
 * every action against a virtual view of the bitmaps (so later actions see
 * earlier ones) and allocate everything, apply (nothing can fail any more),
 * then cut: publish each touched track's new set of recording bitmaps, wait
 * for every marker of the old set to finish (an RCU grace period), and
 * drain the writes marked before the cut.  Work that needs the cut behind
 * it (freeing replaced bitmaps, merging a reclaimed successor) runs last.
 * Only the apply and the publish hold dirtybit_lock: a drain waits with
 * nothing but its own targets' cut locks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/workqueue.h>
#include <net/netlink.h>

#include "dirtybit.h"

/* See dirtybit.h: short sections of control operations, never marking. */
DEFINE_MUTEX(dirtybit_lock);
LIST_HEAD(db_tracks);
static u32 db_next_track_id = 1;
static atomic_t db_tx_counter = ATOMIC_INIT(0);
static u64 db_seq;

/* The module's own work (reclaiming orphaned freezes, settling targets that
 * lost writes): never on system_wq, where it would hold up others.
 */
struct workqueue_struct *db_wq;

/* Reclaims the freezes whose owner went away (db_owner_gone()). */
static void db_reclaim_dead(struct work_struct *work);
static DECLARE_WORK(db_reclaim_work, db_reclaim_dead);
static void db_settle_all(struct work_struct *work);
static DECLARE_WORK(db_settle_work, db_settle_all);

u64 db_next_seq(void)
{
	lockdep_assert_held(&dirtybit_lock);
	return ++db_seq;
}

u64 db_current_seq(void)
{
	lockdep_assert_held(&dirtybit_lock);
	return db_seq;
}

/* A new target with one reference, the list's once it is listed. */
void db_track_init(struct db_track *tr, u64 size, const struct db_track_ops *ops)
{
	INIT_LIST_HEAD(&tr->bitmaps);
	INIT_LIST_HEAD(&tr->node);
	kref_init(&tr->ref);
	lockdep_register_key(&tr->cut_key);
	__mutex_init(&tr->cut_lock, "db_track.cut_lock", &tr->cut_key);
	tr->size = size;
	tr->ops = ops;
}

/*
 * Undoes db_track_init() of @tr, if it ran (a zeroed track has no ops), as
 * the memory is freed.  Sleeps (lockdep waits for RCU readers of the key).
 */
void db_track_fini(struct db_track *tr)
{
	if (!tr->ops)
		return;
	mutex_destroy(&tr->cut_lock);
	lockdep_unregister_key(&tr->cut_key);
	tr->ops = NULL;
}

/*
 * Gives @tr an id and an empty rec; db_track_list() makes it findable.
 *
 * Return: 0 on success, -ENOMEM if the rec could not be allocated.
 */
int db_track_publish_empty(struct db_track *tr)
{
	struct db_rec *rec = db_fault() ? NULL : kzalloc(sizeof(*rec), GFP_KERNEL);

	lockdep_assert_held(&dirtybit_lock);
	if (!rec)
		return -ENOMEM;
	db_obj_get(DB_OBJ_REC);
	rcu_assign_pointer(tr->rec, rec);
	tr->id = db_next_track_id++;
	return 0;
}

void db_track_list(struct db_track *tr)
{
	lockdep_assert_held(&dirtybit_lock);
	list_add_tail(&tr->node, &db_tracks);
	tr->listed = true;
	db_next_seq();
}

/* Commands no longer find @tr; the list's reference is the caller's to put. */
void db_track_unlist(struct db_track *tr)
{
	lockdep_assert_held(&dirtybit_lock);
	if (!tr->listed)
		return;
	list_del_init(&tr->node);
	tr->listed = false;
	db_next_seq();
}

static void db_track_free(struct kref *ref)
{
	struct db_track *tr = container_of(ref, struct db_track, ref);

	tr->ops->release(tr);
}

void db_track_put(struct db_track *tr)
{
	kref_put(&tr->ref, db_track_free);
}

/*
 * Takes @tr's cut lock, killably.
 *
 * Return: 0 with the lock held, -EINTR if a fatal signal interrupted the
 * wait, -ENOENT if the target was detached while the caller waited.
 */
int db_track_lock(struct db_track *tr, struct netlink_ext_ack *extack)
{
	if (mutex_lock_killable(&tr->cut_lock)) {
		NL_SET_ERR_MSG_MOD(extack, "interrupted waiting for another command on the target");
		return -EINTR;
	}
	if (!READ_ONCE(tr->listed)) {
		mutex_unlock(&tr->cut_lock);
		NL_SET_ERR_MSG_MOD(extack, "the target was detached");
		return -ENOENT;
	}
	return 0;
}

static void db_bitmap_free(struct db_bitmap *bm)
{
	hbitmap_free(bm->hb);
	hbitmap_free(bm->successor);
	hbitmap_free(bm->passed);
	kfree(bm);
	db_obj_put(DB_OBJ_BITMAP);
}

/* ---- freeze owners ------------------------------------------------------ */

void db_owner_init(struct db_owner *owner, void (*release)(struct db_owner *owner))
{
	kref_init(&owner->ref);
	owner->gone = false;
	owner->release = release;
}

static void db_owner_free(struct kref *ref)
{
	struct db_owner *owner = container_of(ref, struct db_owner, ref);

	owner->release(owner);
}

void db_owner_put(struct db_owner *owner)
{
	kref_put(&owner->ref, db_owner_free);
}

/*
 * @owner went away: its freezes are reclaimed soon, by db_reclaim_work.
 * Any context (the netlink release notifier's is atomic); once only.
 */
void db_owner_gone(struct db_owner *owner)
{
	WRITE_ONCE(owner->gone, true);
	/* The work sees the store: queue_work() orders it before the run. */
	queue_work(db_wq, &db_reclaim_work);
}

/* Frozen with no owner (NULL: the module's own), or one that went away. */
static bool db_bitmap_orphaned(const struct db_bitmap *bm)
{
	return bm->successor && (!bm->owner || READ_ONCE(bm->owner->gone));
}

/*
 * A frozen bitmap holds the module: a backup in progress makes rmmod fail
 * with "in use" instead of taking the bitmap (and the agent's cut) away.
 * It holds its owner too.  Under dirtybit_lock, which orders this against
 * the reclaim work: an owner that went before its freeze was applied has
 * its freeze reclaimed by the work queued here, or by one that runs after
 * this section.
 */
static void db_bitmap_own(struct db_bitmap *bm, struct db_owner *owner)
{
	lockdep_assert_held(&dirtybit_lock);
	__module_get(THIS_MODULE);
	if (owner)
		db_owner_get(owner);
	bm->owner = owner;
	if (db_bitmap_orphaned(bm))
		queue_work(db_wq, &db_reclaim_work);
}

/*
 * The freeze of @bm ends: it lets its owner go.  The caller owes the
 * module reference it held (module_put(), once nothing of the operation
 * runs any more: a reclaim's drain must not outlive the module).
 */
static void db_bitmap_disown(struct db_bitmap *bm)
{
	if (bm->owner)
		db_owner_put(bm->owner);
	bm->owner = NULL;
}

/*
 * Drops every bitmap and the rec of an unlisted track nobody can mark any
 * more (its marker is unpublished and synchronized by the caller).  No
 * reader finds them: readers hold dirtybit_lock, and found the track listed.
 */
void db_track_release(struct db_track *tr)
{
	struct db_bitmap *bm, *tmp;
	struct db_rec *rec;

	list_for_each_entry_safe(bm, tmp, &tr->bitmaps, node) {
		if (bm->successor) {
			db_bitmap_disown(bm);
			module_put(THIS_MODULE);
		}
		list_del(&bm->node);
		db_bitmap_free(bm);
	}
	rec = rcu_dereference_protected(tr->rec, 1);
	db_rec_free(rec);
	RCU_INIT_POINTER(tr->rec, NULL);
	hbitmap_free(tr->spare_log);
	tr->spare_log = NULL;
}

/*
 * From the marking path (atomic context): @tr's bitmaps missed writes for
 * reason @why.  The settle work makes them inconsistent soon; every lookup
 * of the target and every cut settles it first anyway.
 */
void db_track_lost(struct db_track *tr, enum db_lost why)
{
	if (!test_and_set_bit(why, &tr->lost))
		queue_work(db_wq, &db_settle_work);
}

/*
 * Writes reached the device that no bitmap of @tr recorded (it grew past
 * their end, or a passthrough command wrote where no one can see), so none
 * of them may be trusted again (QEMU's "inconsistent": it can only be
 * removed; a frozen one only reclaimed).  Called wherever a target is
 * looked up and after every cut, so neither a freeze nor its abdication can
 * succeed on bitmaps that missed writes; and from the settle work, for the
 * event and the warning.
 */
void db_track_settle(struct db_track *tr)
{
	struct db_bitmap *bm;
	unsigned long lost;

	lockdep_assert_held(&dirtybit_lock);
	if (tr->ops->check)
		tr->ops->check(tr);
	if (likely(!READ_ONCE(tr->lost)))
		return;
	lost = xchg(&tr->lost, 0);
	if ((lost & BIT(DB_LOST_RESIZE)) && !tr->resized) {
		WRITE_ONCE(tr->resized, true);
		pr_warn("target %u: the device changed size; its bitmaps are inconsistent (detach and attach it again)\n",
			tr->id);
	}
	if (lost & BIT(DB_LOST_PASSTHROUGH))
		pr_warn_ratelimited("target %u: a passthrough command may have written to the device; its bitmaps are inconsistent\n",
				    tr->id);
	if (lost & BIT(DB_LOST_MEDIA))
		pr_warn_ratelimited("target %u: the device's media changed; its bitmaps are inconsistent\n",
				    tr->id);
	list_for_each_entry(bm, &tr->bitmaps, node) {
		if (bm->inconsistent)
			continue;
		WRITE_ONCE(bm->inconsistent, true);
		bm->seq = db_next_seq();
		db_notify(DIRTYBIT_EVENT_BITMAP_INCONSISTENT, tr, bm->name);
	}
}

static void db_settle_all(struct work_struct *work)
{
	struct db_track *tr;

	mutex_lock(&dirtybit_lock);
	list_for_each_entry(tr, &db_tracks, node)
		db_track_settle(tr);
	mutex_unlock(&dirtybit_lock);
}

struct db_track *db_track_find(u32 id)
{
	struct db_track *tr;

	lockdep_assert_held(&dirtybit_lock);
	list_for_each_entry(tr, &db_tracks, node) {
		if (tr->id == id) {
			db_track_settle(tr);
			return tr;
		}
	}
	return NULL;
}

struct db_bitmap *db_bitmap_find(struct db_track *tr, const char *name)
{
	struct db_bitmap *bm;

	list_for_each_entry(bm, &tr->bitmaps, node)
		if (!strcmp(bm->name, name))
			return bm;
	return NULL;
}

u32 db_bitmap_flags(const struct db_bitmap *bm)
{
	return (bm->enabled ? DIRTYBIT_BITMAP_F_RECORDING : 0) |
	       (bm->successor ? DIRTYBIT_BITMAP_F_FROZEN : 0) |
	       (bm->inconsistent ? DIRTYBIT_BITMAP_F_INCONSISTENT : 0);
}

/*
 * Detach and destroy refuse a target whose bitmap a backup holds: this
 * takes dirtybit_lock and checks, so that the target is unlisted under the
 * same lock that saw it unfrozen.
 *
 * Return: 0 with dirtybit_lock held if no bitmap of @tr is frozen; -EBUSY
 * (with a message), the lock released, if one is.
 */
int db_track_lock_unfrozen(struct db_track *tr, struct netlink_ext_ack *extack)
{
	struct db_bitmap *bm;

	mutex_lock(&dirtybit_lock);
	list_for_each_entry(bm, &tr->bitmaps, node) {
		if (bm->successor) {
			mutex_unlock(&dirtybit_lock);
			NL_SET_ERR_MSG_MOD(extack, "a bitmap of the target is frozen by a backup");
			return -EBUSY;
		}
	}
	return 0;
}

/* ---- the cut --------------------------------------------------------- */

/* A track's rec, for whoever holds its cut lock or dirtybit_lock. */
static struct db_rec *db_rec_of(struct db_track *tr)
{
	return rcu_dereference_protected(tr->rec, lockdep_is_held(&tr->cut_lock) ||
					 lockdep_is_held(&dirtybit_lock));
}

static void db_rec_fill(struct db_track *tr, struct db_rec *rec, u32 gen)
{
	struct db_bitmap *bm;

	rec->gen = gen;
	rec->n = 0;
	list_for_each_entry(bm, &tr->bitmaps, node) {
		if (!bm->enabled)
			continue;
		rec->hb[rec->n++] = bm->successor ? bm->successor : bm->hb;
	}
}

/* Frees a rec nothing marks through any more (and its log); NULL is fine. */
void db_rec_free(struct db_rec *rec)
{
	if (!rec)
		return;
	hbitmap_free(rec->log);
	kfree(rec);
	db_obj_put(DB_OBJ_REC);
}

/*
 * Testing only: N leaves the marking log unfolded until the cut, so that
 * what a test of a freeze sees is the cut's own fold of the log it
 * replaced.  Set at load, never for real.
 */
static bool fold_before_cut = true;
module_param(fold_before_cut, bool, 0444);
MODULE_PARM_DESC(fold_before_cut,
		 "Fold the marking log before a transaction's actions (default Y; N for tests only)");

/* Return: 0 (the take goes on). */
static int db_rec_fold_run(void *opaque, u64 start, u64 length)
{
	const struct db_rec *rec = opaque;
	unsigned int i;

	for (i = 0; i < rec->n; i++)
		hbitmap_set(rec->hb[i], start, length);
	return 0;
}

/*
 * Moves what was marked into @rec's log into its bitmaps: a granule marked
 * before this started is in every one of them when it returns; one marked
 * meanwhile is there or still in the log (hbitmap_take()).  Under
 * dirtybit_lock, which serializes the folds of a log.
 */
static void db_rec_fold(struct db_rec *rec)
{
	if (rec && rec->log)
		hbitmap_take(rec->log, 0, rec->log->size, db_rec_fold_run, rec);
}

/*
 * Before anything reads or changes the bits of @tr's bitmaps: every write
 * marked so far is in them.  Under dirtybit_lock.
 */
void db_track_fold(struct db_track *tr)
{
	lockdep_assert_held(&dirtybit_lock);
	db_rec_fold(tr->replaced);
	db_rec_fold(db_rec_of(tr));
}

static bool db_rec_same(const struct db_rec *a, const struct db_rec *b)
{
	return a->n == b->n && !memcmp(a->hb, b->hb, a->n * sizeof(a->hb[0]));
}

/*
 * Publishes prepared recs (@recs[i] for @tracks[i]) at one cut; the
 * replaced recs are returned in @recs.  Returns how many changed.  A track
 * whose recording set does not change (an abdicate: the successor records
 * before and after) keeps its rec and needs no cut: nothing marks
 * differently, and what the transaction frees was not marked through it.
 * Under dirtybit_lock and every track's cut lock.
 */
static unsigned int db_cut_publish(struct db_track **tracks, struct db_rec **recs,
				   unsigned int n)
{
	unsigned int i, changed = 0;

	lockdep_assert_held(&dirtybit_lock);
	for (i = 0; i < n; i++) {
		struct db_rec *old = db_rec_of(tracks[i]);

		db_rec_fill(tracks[i], recs[i], old->gen + 1);
		tracks[i]->tx_changed = !db_rec_same(old, recs[i]);
		if (!tracks[i]->tx_changed)
			continue;
		/* db_tx_alloc_rec() took the spare if it made a log. */
		if (recs[i]->n < 2 && recs[i]->log) {
			tracks[i]->spare_log = recs[i]->log;
			recs[i]->log = NULL;
		}
		rcu_assign_pointer(tracks[i]->rec, recs[i]);
		tracks[i]->replaced = old;
		recs[i] = old;
		changed++;
	}
	return changed;
}

/*
 * Waits out the markers of the replaced recs and drains the writes marked
 * before the cut, target by target; under the cut locks only.
 */
static void db_cut_drain(struct db_track **tracks, struct db_rec **recs, unsigned int n,
			 unsigned int changed)
{
	unsigned int i;

	/* Marking runs in tracepoint probes and page faults under RCU: after
	 * this, nothing marks through an old rec any more.  Expedited, as
	 * synchronize_net() is under RTNL: a cut is a rare control operation
	 * that a caller waits for (a live memory image makes one per pass).
	 */
	if (changed)
		synchronize_rcu_expedited();
	for (i = 0; i < n; i++)
		if (tracks[i]->tx_changed && tracks[i]->ops->drain && !READ_ONCE(tracks[i]->gone))
			tracks[i]->ops->drain(tracks[i], recs[i]->gen, db_rec_of(tracks[i]));
}

/* ---- transactions ------------------------------------------------------ */

struct db_tx {
	u32 id;
	struct db_action *acts;
	unsigned int n;
	struct db_owner *owner;		/* of its freezes, or NULL */
	struct netlink_ext_ack *extack;
	struct db_track **tracks;	/* touched, in order */
	struct db_rec **recs;
	unsigned int ntracks;
	struct db_track **locked;	/* every track named, by id */
	unsigned int nlocked;
	unsigned int module_puts;	/* freezes ended: references to drop */
};

/* The transaction's view of a bitmap, initialised on first sight. */
static void db_tx_view(struct db_tx *tx, struct db_bitmap *bm)
{
	if (bm->tx_id == tx->id)
		return;
	bm->tx_id = tx->id;
	bm->tx_removed = false;
	bm->tx_ended = false;
	bm->tx_next_pass = false;
	bm->tx_frozen = bm->successor;
}

/* A bitmap by name as it will be after the actions before @upto. */
static struct db_bitmap *db_tx_lookup(struct db_tx *tx, struct db_track *tr,
				      const char *name, unsigned int upto)
{
	struct db_bitmap *bm;
	unsigned int i;

	list_for_each_entry(bm, &tr->bitmaps, node) {
		if (strcmp(bm->name, name))
			continue;
		db_tx_view(tx, bm);
		if (!bm->tx_removed)
			return bm;
	}
	for (i = 0; i < upto; i++) {
		struct db_action *a = &tx->acts[i];

		if (a->cmd == DIRTYBIT_CMD_BITMAP_ADD && a->track == tr &&
		    !strcmp(a->name, name) && !a->bm->tx_removed)
			return a->bm;
	}
	return NULL;
}

/* Records that the transaction changes @tr's recording set (once per track). */
static void db_tx_touch(struct db_tx *tx, struct db_track *tr)
{
	if (tr->tx_id == tx->id && tr->tx_touched)
		return;
	tr->tx_id = tx->id;
	tr->tx_touched = true;
	tx->tracks[tx->ntracks++] = tr;
}

/* Refusals carry a constant message: 6.1 has no formatted extack. */
#define DB_REFUSE(tx, err, msg) ({					\
	NL_SET_ERR_MSG_MOD((tx)->extack, msg);				\
	(err);								\
})

/*
 * Whether the bits of @a's bitmap may change (CLEAR, ENABLE, DISABLE).
 *
 * Return: 0 if so, -EBUSY if it is frozen, -EINVAL if it is inconsistent.
 */
static int db_tx_check_usable(struct db_tx *tx, struct db_action *a)
{
	if (a->bm->tx_frozen)
		return DB_REFUSE(tx, -EBUSY, "bitmap is frozen by a backup (busy)");
	if (READ_ONCE(a->bm->inconsistent))
		return DB_REFUSE(tx, -EINVAL, "bitmap is inconsistent");
	return 0;
}

/* The finest granularity of @tr's bitmaps (U32_MAX: none); *@n gets how many. */
static u32 db_track_finest(struct db_track *tr, unsigned int *n)
{
	u32 finest = U32_MAX;
	struct db_bitmap *bm;

	*n = 0;
	list_for_each_entry(bm, &tr->bitmaps, node) {
		finest = min(finest, hbitmap_granularity(bm->hb));
		++*n;
	}
	return finest;
}

/*
 * A bitmap is allocated whole: one that needs more than half the machine's
 * memory is refused before anything is tried.  Beside another bitmap of
 * @tr, with the two logs its cuts alternate (at the finest granularity).
 */
static bool db_bitmap_fits(struct db_track *tr, u32 granularity)
{
	u64 need = hbitmap_memory(tr->size, granularity);
	unsigned int others;
	u32 finest = min(granularity, db_track_finest(tr, &others));

	if (others)
		need += 2 * hbitmap_memory(tr->size, finest);
	return need <= (u64)totalram_pages() << (PAGE_SHIFT - 1);
}

static bool db_owned_by(const struct db_bitmap *bm, const struct db_owner *owner)
{
	return owner && bm->owner == owner;
}

/*
 * FREEZE with NEXT_PASS: a cut of a bitmap frozen before this transaction by
 * the same owner (see "Passes" in the uapi header).
 *
 * Return: 0 on success; -EINVAL if the bitmap was not frozen before the
 * transaction, already ended or took a pass in it, or is inconsistent;
 * -EPERM if another owner froze it; -ENODEV if the device is gone;
 * -ENOMEM.
 */
static int db_tx_prepare_next_pass(struct db_tx *tx, struct db_action *a)
{
	struct db_bitmap *bm = a->bm;

	if (!bm->successor || !bm->tx_frozen)
		return DB_REFUSE(tx, -EINVAL, "a next pass needs a bitmap frozen before it");
	/*
	 * Its cut replaces a set that is marked until the cut is published:
	 * one cut of it per transaction, or a set another action replaced
	 * first would be freed still marked.
	 */
	if (bm->tx_ended || bm->tx_next_pass)
		return DB_REFUSE(tx, -EINVAL,
				 "a next pass must be its bitmap's only freeze, abdicate or reclaim in the transaction");
	if (!db_owned_by(bm, tx->owner))
		return DB_REFUSE(tx, -EPERM, "bitmap is frozen by another socket");
	if (READ_ONCE(bm->inconsistent))
		return DB_REFUSE(tx, -EINVAL,
				 "bitmap became inconsistent during the backup; reclaim it");
	if (READ_ONCE(a->track->gone))
		return DB_REFUSE(tx, -ENODEV, "the target's device is gone");
	a->new_hb = db_hbitmap_alloc(a->track->size, hbitmap_granularity(bm->hb));
	if (!a->new_hb)
		return -ENOMEM;
	bm->tx_next_pass = true;
	db_tx_touch(tx, a->track);
	return 0;
}

/*
 * Validates action @i against the view and allocates what it needs.
 * Every refusal carries a message.
 *
 * Return: 0 on success; -ENOENT if a bitmap it names does not exist;
 * -EEXIST if ADD's name is taken; -EBUSY if it changes a frozen bitmap (or
 * freezes one twice); -EINVAL if the bitmap is inconsistent, not frozen
 * (ABDICATE, RECLAIM), or the action is not allowed in this state;
 * -ENODEV if the device is gone; -E2BIG if ADD's bitmap would have too
 * many granules or need too much memory; -EINVAL for a granularity that is
 * not a power of two from 512 to 2^31 or under the kind's minimum; -EPERM
 * if another owner froze the bitmap; -ENOMEM.
 */
static int db_tx_prepare(struct db_tx *tx, unsigned int i)
{
	struct db_action *a = &tx->acts[i];
	struct db_track *tr = a->track;
	unsigned int s;
	int ret;

	if (a->cmd != DIRTYBIT_CMD_BITMAP_ADD) {
		a->bm = db_tx_lookup(tx, tr, a->name, i);
		if (!a->bm)
			return DB_REFUSE(tx, -ENOENT, "no bitmap of that name on the target");
	}

	switch (a->cmd) {
	case DIRTYBIT_CMD_BITMAP_ADD:
		if (db_tx_lookup(tx, tr, a->name, i))
			return DB_REFUSE(tx, -EEXIST,
					 "a bitmap of that name already exists on the target");
		if (READ_ONCE(tr->gone))
			return DB_REFUSE(tx, -ENODEV, "the target's device is gone");
		if (READ_ONCE(tr->resized))
			return DB_REFUSE(tx, -EINVAL,
					 "the device changed size; detach and attach it again");
		ret = hbitmap_check_params(tr->size, a->granularity);
		if (ret == -E2BIG)
			return DB_REFUSE(tx, ret, "granularity too fine for the target's size");
		if (ret)
			return DB_REFUSE(tx, ret,
					 "granularity must be a power of two from 512 to 2^31");
		if (a->granularity < tr->ops->min_granularity)
			return DB_REFUSE(tx, -EINVAL,
					 "a region's granularity is at least the page size");
		if (!db_bitmap_fits(tr, a->granularity))
			return DB_REFUSE(tx, -E2BIG,
					 "the bitmap would need more than half the machine's memory (take a coarser granularity)");
		a->bm = db_fault() ? NULL : kzalloc(sizeof(*a->bm), GFP_KERNEL_ACCOUNT);
		if (!a->bm)
			return -ENOMEM;
		db_obj_get(DB_OBJ_BITMAP);
		a->bm->track = tr;
		strscpy(a->bm->name, a->name, sizeof(a->bm->name));
		a->bm->hb = db_hbitmap_alloc(tr->size, a->granularity);
		if (!a->bm->hb)
			return -ENOMEM;
		a->bm->tx_id = tx->id;
		break;
	case DIRTYBIT_CMD_BITMAP_REMOVE:
		if (a->bm->tx_frozen)
			return DB_REFUSE(tx, -EBUSY, "bitmap is frozen by a backup (busy)");
		a->bm->tx_removed = true;
		break;
	case DIRTYBIT_CMD_BITMAP_CLEAR:
		ret = db_tx_check_usable(tx, a);
		if (ret)
			return ret;
		a->new_hb = db_hbitmap_alloc(tr->size, hbitmap_granularity(a->bm->hb));
		if (!a->new_hb)
			return -ENOMEM;
		break;
	case DIRTYBIT_CMD_BITMAP_ENABLE:
	case DIRTYBIT_CMD_BITMAP_DISABLE:
		ret = db_tx_check_usable(tx, a);
		if (ret)
			return ret;
		break;
	case DIRTYBIT_CMD_BITMAP_MERGE:
		if (a->bm->tx_frozen)
			return DB_REFUSE(tx, -EBUSY,
					 "merge target bitmap is frozen by a backup (busy)");
		for (s = 0; s < a->nsources; s++) {
			struct db_source *src = &a->sources[s];

			src->bm = db_tx_lookup(tx, src->track, src->name, i);
			if (!src->bm)
				return DB_REFUSE(tx, -ENOENT,
						 "no merge source bitmap of that name");
			if (READ_ONCE(src->bm->inconsistent))
				return DB_REFUSE(tx, -EINVAL,
						 "a merge source bitmap is inconsistent");
		}
		break;
	case DIRTYBIT_CMD_BITMAP_FREEZE:
		if (a->next_pass)
			return db_tx_prepare_next_pass(tx, a);
		if (a->bm->tx_next_pass)
			return DB_REFUSE(tx, -EINVAL,
					 "the bitmap took a next pass in this transaction");
		if (a->bm->tx_frozen)
			return DB_REFUSE(tx, -EBUSY, "bitmap is already frozen");
		if (READ_ONCE(a->bm->inconsistent))
			return DB_REFUSE(tx, -EINVAL, "bitmap is inconsistent");
		if (READ_ONCE(tr->gone))
			return DB_REFUSE(tx, -ENODEV, "the target's device is gone");
		a->new_hb = db_hbitmap_alloc(tr->size, hbitmap_granularity(a->bm->hb));
		if (!a->new_hb)
			return -ENOMEM;
		a->bm->tx_frozen = true;
		a->bm->tx_ended = true;
		break;
	case DIRTYBIT_CMD_BITMAP_ABDICATE:
	case DIRTYBIT_CMD_BITMAP_RECLAIM:
		if (!a->bm->tx_frozen)
			return DB_REFUSE(tx, -EINVAL, "bitmap is not frozen");
		if (a->bm->tx_next_pass)
			return DB_REFUSE(tx, -EINVAL,
					 "the bitmap took a next pass in this transaction");
		if (a->cmd == DIRTYBIT_CMD_BITMAP_ABDICATE && READ_ONCE(a->bm->inconsistent))
			return DB_REFUSE(tx, -EINVAL,
					 "bitmap became inconsistent during the backup; reclaim it");
		/*
		 * Frozen before this transaction: only its owner may end it.
		 * Anyone else may only force a reclaim, which keeps every bit;
		 * an abdicate would drop the owner's frozen bits.
		 */
		if (a->bm->successor && !db_owned_by(a->bm, tx->owner) &&
		    !(a->force && a->cmd == DIRTYBIT_CMD_BITMAP_RECLAIM))
			return DB_REFUSE(tx, -EPERM,
					 "bitmap is frozen by another socket (reclaim with force to override)");
		a->bm->tx_frozen = false;
		a->bm->tx_ended = true;
		break;
	default:
		return DB_REFUSE(tx, -EINVAL, "not a bitmap action");
	}
	db_tx_touch(tx, tr);
	return 0;
}

/* @dst |= @src within [start, start + length); same granularity. */
static void db_merge_range(struct hbitmap *dst, const struct hbitmap *src, u64 start,
			   u64 length)
{
	struct hbitmap_extent ext;
	u64 cursor = start;

	while (hbitmap_next_extent(src, &cursor, start + length, &ext))
		hbitmap_set(dst, ext.start, ext.length);
}

/* Applies action @a; nothing here can fail. */
static void db_tx_apply(struct db_tx *tx, struct db_action *a)
{
	struct db_bitmap *bm = a->bm;
	unsigned int s;

	switch (a->cmd) {
	case DIRTYBIT_CMD_BITMAP_ADD:
		bm->enabled = !a->disabled;
		list_add_tail(&bm->node, &a->track->bitmaps);
		bm->seq = db_next_seq();	/* never 0: a replacement shows */
		return;
	case DIRTYBIT_CMD_BITMAP_REMOVE:
		list_del(&bm->node);
		return;
	case DIRTYBIT_CMD_BITMAP_CLEAR:
		a->old_hb = bm->hb;
		bm->hb = a->new_hb;
		a->new_hb = NULL;
		break;
	case DIRTYBIT_CMD_BITMAP_ENABLE:
	case DIRTYBIT_CMD_BITMAP_DISABLE:
		a->no_change = bm->enabled == (a->cmd == DIRTYBIT_CMD_BITMAP_ENABLE);
		bm->enabled = a->cmd == DIRTYBIT_CMD_BITMAP_ENABLE;
		return;
	case DIRTYBIT_CMD_BITMAP_MERGE:
		/* The bits are ORed in after the cut; capture what they are now. */
		a->dst_hb = bm->hb;
		for (s = 0; s < a->nsources; s++)
			a->sources[s].hb = a->sources[s].bm->hb;
		break;
	case DIRTYBIT_CMD_BITMAP_FREEZE:
		if (a->next_pass) {
			/*
			 * The pass just copied joins the earlier ones (nothing
			 * marks either set); its own is freed after the cut.
			 */
			if (bm->passed) {
				hbitmap_merge(bm->passed, bm->hb);
				a->old_hb = bm->hb;
			} else {
				bm->passed = bm->hb;
			}
			bm->hb = bm->successor;
			bm->successor = a->new_hb;
			a->new_hb = NULL;
			break;
		}
		bm->successor = a->new_hb;
		a->new_hb = NULL;
		db_bitmap_own(bm, tx->owner);
		break;
	case DIRTYBIT_CMD_BITMAP_ABDICATE:
		db_bitmap_disown(bm);
		tx->module_puts++;
		a->dst_hb = bm->successor;
		a->old_hb = bm->hb;
		a->passed_hb = bm->passed;
		/* The frozen bits kept: complete now (nothing marks them). */
		if (a->keep_all && a->keep_len) {
			hbitmap_set(a->dst_hb, a->keep_start, a->keep_len);
		} else if (a->keep_len) {
			db_merge_range(a->dst_hb, a->old_hb, a->keep_start, a->keep_len);
			if (a->passed_hb)
				db_merge_range(a->dst_hb, a->passed_hb, a->keep_start,
					       a->keep_len);
		}
		bm->hb = bm->successor;
		bm->successor = NULL;
		bm->passed = NULL;
		break;
	case DIRTYBIT_CMD_BITMAP_RECLAIM:
		db_bitmap_disown(bm);
		tx->module_puts++;
		a->dst_hb = bm->hb;
		a->old_hb = bm->successor;
		/*
		 * The successor's bits now, so that no reader ever sees the
		 * bitmap thawed without them; those marked until the cut
		 * follow after it (db_tx_finish()).
		 */
		hbitmap_merge(a->dst_hb, a->old_hb);
		a->passed_hb = bm->passed;
		if (a->passed_hb)
			hbitmap_merge(a->dst_hb, a->passed_hb);
		bm->successor = NULL;
		bm->passed = NULL;
		break;
	}
	bm->seq = db_next_seq();
}

/*
 * After the cut: nothing marks the replaced bitmaps any more.  Under
 * dirtybit_lock, so readers see each bitmap before or after; those whose
 * bits change here change their seq too (a bulk read or a dump in
 * progress sees it).  The bitmap a REMOVE unlinked is no reader's.
 */
static void db_tx_finish(struct db_action *a)
{
	unsigned int s;

	lockdep_assert_held(&dirtybit_lock);
	switch (a->cmd) {
	case DIRTYBIT_CMD_BITMAP_REMOVE:
		db_bitmap_free(a->bm);
		break;
	case DIRTYBIT_CMD_BITMAP_MERGE:
		for (s = 0; s < a->nsources; s++)
			hbitmap_merge(a->dst_hb, a->sources[s].hb);
		a->bm->seq = db_next_seq();
		break;
	case DIRTYBIT_CMD_BITMAP_RECLAIM:
		hbitmap_merge(a->dst_hb, a->old_hb);
		a->bm->seq = db_next_seq();
		fallthrough;
	case DIRTYBIT_CMD_BITMAP_ABDICATE:
		hbitmap_free(a->passed_hb);
		fallthrough;
	case DIRTYBIT_CMD_BITMAP_CLEAR:
	case DIRTYBIT_CMD_BITMAP_FREEZE:	/* a next pass's copied set */
		hbitmap_free(a->old_hb);
		break;
	}
}

static void db_tx_notify(struct db_action *a)
{
	static const u32 events[] = {
		[DIRTYBIT_CMD_BITMAP_ADD] = DIRTYBIT_EVENT_BITMAP_ADDED,
		[DIRTYBIT_CMD_BITMAP_REMOVE] = DIRTYBIT_EVENT_BITMAP_REMOVED,
		[DIRTYBIT_CMD_BITMAP_FREEZE] = DIRTYBIT_EVENT_BITMAP_FROZEN,
		[DIRTYBIT_CMD_BITMAP_ABDICATE] = DIRTYBIT_EVENT_BITMAP_ABDICATED,
		[DIRTYBIT_CMD_BITMAP_RECLAIM] = DIRTYBIT_EVENT_BITMAP_RECLAIMED,
		[DIRTYBIT_CMD_BITMAP_ENABLE] = DIRTYBIT_EVENT_BITMAP_ENABLED,
		[DIRTYBIT_CMD_BITMAP_DISABLE] = DIRTYBIT_EVENT_BITMAP_DISABLED,
		[DIRTYBIT_CMD_BITMAP_CLEAR] = DIRTYBIT_EVENT_BITMAP_CLEARED,
		[DIRTYBIT_CMD_BITMAP_MERGE] = DIRTYBIT_EVENT_BITMAP_MERGED,
	};

	if (a->cmd < ARRAY_SIZE(events) && events[a->cmd] && !a->no_change)
		db_notify(events[a->cmd], a->track, a->name);
}

/* Frees what a transaction that did not apply had allocated. */
static void db_tx_unprepare(struct db_tx *tx, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct db_action *a = &tx->acts[i];

		if (a->cmd == DIRTYBIT_CMD_BITMAP_ADD && a->bm)
			db_bitmap_free(a->bm);
		hbitmap_free(a->new_hb);
		a->new_hb = NULL;
	}
}

static int db_track_cmp(const void *a, const void *b)
{
	const struct db_track *x = *(const struct db_track * const *)a;
	const struct db_track *y = *(const struct db_track * const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void db_tx_lock_add(struct db_tx *tx, struct db_track *tr)
{
	unsigned int i;

	for (i = 0; i < tx->nlocked; i++)
		if (tx->locked[i] == tr)
			return;
	tx->locked[tx->nlocked++] = tr;
}

static void db_tx_unlock(struct db_tx *tx, unsigned int n)
{
	while (n--)
		mutex_unlock(&tx->locked[n]->cut_lock);
}

/*
 * Takes the cut lock of every track the actions name (sources too), in
 * ascending id order, so two transactions over the same tracks cannot
 * deadlock.
 *
 * Return: 0 with every lock held; -ENOMEM, or the error of
 * db_track_lock() (-EINTR, -ENOENT), with none held.
 */
static int db_tx_lock(struct db_tx *tx)
{
	unsigned int i, s, cap = 0;
	int ret;

	for (i = 0; i < tx->n; i++)
		cap += 1 + tx->acts[i].nsources;
	tx->locked = db_fault() ? NULL : kcalloc(cap, sizeof(*tx->locked), GFP_KERNEL);
	if (!tx->locked)
		return -ENOMEM;
	for (i = 0; i < tx->n; i++) {
		db_tx_lock_add(tx, tx->acts[i].track);
		for (s = 0; s < tx->acts[i].nsources; s++)
			db_tx_lock_add(tx, tx->acts[i].sources[s].track);
	}
	sort(tx->locked, tx->nlocked, sizeof(*tx->locked), db_track_cmp, NULL);
	for (i = 0; i < tx->nlocked; i++) {
		ret = db_track_lock(tx->locked[i], tx->extack);
		if (ret) {
			db_tx_unlock(tx, i);
			tx->nlocked = 0;
			return ret;
		}
	}
	return 0;
}

/*
 * A rec for what @tr will record after the transaction, with room for
 * every bitmap it may have then and, if that may be two or more, a log at
 * the finest granularity among them (db_cut_publish() drops it if fewer
 * record).
 *
 * Return: 0 on success (*@recp set, even with a log missing: freed by the
 * caller), -ENOMEM.
 */
static int db_tx_alloc_rec(struct db_tx *tx, struct db_track *tr, struct db_rec **recp)
{
	unsigned int cap, i;
	u32 granularity = db_track_finest(tr, &cap);
	struct db_rec *rec;

	for (i = 0; i < tx->n; i++) {
		if (tx->acts[i].cmd == DIRTYBIT_CMD_BITMAP_ADD && tx->acts[i].track == tr) {
			granularity = min(granularity, hbitmap_granularity(tx->acts[i].bm->hb));
			cap++;
		}
	}
	rec = db_fault() ? NULL : kzalloc(struct_size(rec, hb, cap), GFP_KERNEL);
	if (!rec)
		return -ENOMEM;
	db_obj_get(DB_OBJ_REC);
	*recp = rec;
	if (cap < 2)
		return 0;
	/* The log the last cut emptied, if it is as fine: no allocation. */
	if (tr->spare_log && hbitmap_granularity(tr->spare_log) == granularity) {
		rec->log = tr->spare_log;
		tr->spare_log = NULL;
		return 0;
	}
	rec->log = db_hbitmap_alloc(tr->size, granularity);
	if (!rec->log)
		return -ENOMEM;
	hbitmap_free(tr->spare_log);
	tr->spare_log = NULL;
	return 0;
}

/*
 * Applies @n actions all or nothing, at one cut.  @owner owns any freeze (NULL:
 * the module itself).  The caller holds a reference on every track the
 * actions name, and no lock: the cut locks are taken here, dirtybit_lock
 * only around the apply and the publish.
 *
 * Return: 0 if every action applied; else nothing changed, and the error
 * is -ENOMEM, that of db_tx_lock() (-EINTR, -ENOENT: a target was
 * detached), or the refusal of db_tx_prepare() (with a message).
 */
int db_transaction(struct db_action *acts, unsigned int n,
		   struct db_owner *owner, struct netlink_ext_ack *extack)
{
	struct db_tx tx = { .acts = acts, .n = n, .owner = owner, .extack = extack };
	unsigned int i, prepared = 0, changed;
	int ret = -ENOMEM;

	tx.id = atomic_inc_return(&db_tx_counter) ?: atomic_inc_return(&db_tx_counter);
	if (db_fault())
		return -ENOMEM;
	ret = db_tx_lock(&tx);
	if (ret)
		goto out_free;
	ret = -ENOMEM;
	tx.tracks = db_fault() ? NULL : kcalloc(n, sizeof(*tx.tracks), GFP_KERNEL);
	tx.recs = kcalloc(n, sizeof(*tx.recs), GFP_KERNEL);
	if (!tx.tracks || !tx.recs)
		goto out;

	for (i = 0; i < n; i++) {
		ret = db_tx_prepare(&tx, i);
		prepared = i + 1;
		if (ret)
			goto out;
	}
	for (i = 0; i < tx.ntracks; i++) {
		ret = db_tx_alloc_rec(&tx, tx.tracks[i], &tx.recs[i]);
		if (ret)
			goto out;
	}

	mutex_lock(&dirtybit_lock);
	/* What the actions read or replace holds every write marked so far. */
	for (i = 0; i < tx.nlocked && fold_before_cut; i++)
		db_track_fold(tx.locked[i]);
	for (i = 0; i < n; i++)
		db_tx_apply(&tx, &acts[i]);
	changed = db_cut_publish(tx.tracks, tx.recs, tx.ntracks);
	mutex_unlock(&dirtybit_lock);
	db_cut_drain(tx.tracks, tx.recs, tx.ntracks, changed);
	mutex_lock(&dirtybit_lock);
	/*
	 * Every track named (each touched one among them): the replaced rec's
	 * log, complete now, into the bitmaps as they were before the cut (a
	 * frozen one among them), and what was marked since the apply, for the
	 * merges' sources.
	 */
	for (i = 0; i < tx.nlocked; i++)
		db_track_fold(tx.locked[i]);
	for (i = 0; i < tx.ntracks; i++)
		tx.tracks[i]->replaced = NULL;
	for (i = 0; i < n; i++)
		db_tx_finish(&acts[i]);
	/* A write past the end before the cut is seen by now. */
	for (i = 0; i < tx.ntracks; i++)
		db_track_settle(tx.tracks[i]);
	mutex_unlock(&dirtybit_lock);
	for (i = 0; i < n; i++)
		db_tx_notify(&acts[i]);
	prepared = 0;
	ret = 0;
out:
	db_tx_unprepare(&tx, prepared);
	for (i = 0; i < tx.ntracks; i++) {
		struct db_rec *rec = tx.recs[i];	/* the old one after a cut */

		tx.tracks[i]->tx_touched = false;
		/* Its log is empty (folded, or never published): for the next cut. */
		if (rec && rec->log && !tx.tracks[i]->spare_log) {
			tx.tracks[i]->spare_log = rec->log;
			rec->log = NULL;
		}
		db_rec_free(rec);
	}
	db_tx_unlock(&tx, tx.nlocked);
out_free:
	kfree(tx.locked);
	kfree(tx.tracks);
	kfree(tx.recs);
	/* Last: the module may go once a freeze's reference is dropped. */
	while (tx.module_puts--)
		module_put(THIS_MODULE);
	return ret;
}

/* ---- orphaned freezes ---------------------------------------------------- */

/* A frozen bitmap whose owner went away, or NULL.  Under dirtybit_lock. */
static struct db_bitmap *db_find_orphan(void)
{
	struct db_bitmap *bm;
	struct db_track *tr;

	lockdep_assert_held(&dirtybit_lock);
	list_for_each_entry(tr, &db_tracks, node)
		list_for_each_entry(bm, &tr->bitmaps, node)
			if (db_bitmap_orphaned(bm))
				return bm;
	return NULL;
}

/*
 * Reclaims every orphaned freeze.  The transaction works on a reference
 * to the track and the bitmap's name, taken under dirtybit_lock.
 */
static void db_reclaim_dead(struct work_struct *work)
{
	for (;;) {
		struct db_action a = {
			.cmd = DIRTYBIT_CMD_BITMAP_RECLAIM,
			.force = true,
		};
		struct db_bitmap *bm;
		int ret;

		mutex_lock(&dirtybit_lock);
		bm = db_find_orphan();
		if (bm) {
			a.track = bm->track;
			db_track_get(a.track);
			strscpy(a.name, bm->name, sizeof(a.name));
		}
		mutex_unlock(&dirtybit_lock);
		if (!bm)
			return;
		ret = db_transaction(&a, 1, NULL, NULL);
		if (ret)
			/* Still frozen, its successor still recording: no bit is
			 * lost, and RECLAIM with FORCE can end it later.
			 */
			pr_warn("could not reclaim bitmap '%s' of target %u (%d)\n",
				a.name, a.track->id, ret);
		else
			pr_info("reclaimed bitmap '%s' of target %u: its freezer went away\n",
				a.name, a.track->id);
		db_track_put(a.track);
		if (ret)
			return;
	}
}

/* Return: 0 on success, -ENOMEM if the workqueue could not be made. */
int db_bitmap_init(void)
{
	db_wq = db_fault() ? NULL : alloc_workqueue("dirtybit", WQ_UNBOUND, 0);
	return db_wq ? 0 : -ENOMEM;
}

/*
 * Last in the exit ladder: no target is left, nothing marks any more, and
 * no owner can go (the netlink layer is gone); a reclaim still running
 * finishes here.
 */
void db_bitmap_exit(void)
{
	destroy_workqueue(db_wq);
}
