// SPDX-License-Identifier: GPL-2.0
/*
 * How a write to a memory region is recorded (region.c has the regions
 * themselves), and why none is lost:
 *  - Mappings are write-notify (they have ->page_mkwrite), so a page's PTEs
 *    are installed read-only and its first write faults into
 *    db_region_mkwrite().  That marks the page in every recording bitmap and
 *    in the region's armed set (pages that may have a writable PTE), under
 *    RCU, holding the page lock, which the fault code keeps until the PTE is
 *    writable (we return VM_FAULT_LOCKED).
 *  - A cut (publish the new bitmaps, an RCU grace period, then our ->drain)
 *    re-arms: it takes the armed set, waits for the lock of every page
 *    taken to be free (so a fault that marked the old bitmaps has installed
 *    its PTE), then write-protects and cleans, or removes, every PTE of
 *    those pages.  A write after that faults again and marks the new
 *    bitmaps.  A write in between lands on a page the old epoch has, and
 *    whoever copies that epoch copies after the cut.  No PTE may be left
 *    writable and clean: mprotect() makes a dirty shared PTE writable
 *    without a fault, so a write-protect walk followed by a separate clean
 *    walk could leave one so.  Each way of re-arming changes each PTE in
 *    one step under its page table lock, or (db_region_rearm_walks())
 *    finishes with one such step for every PTE a walk may have left so.
 *  - A page someone holds a reference to beyond its mappings (pinned for
 *    DMA, or merely referenced by GUP, as 6.1's O_DIRECT reads do; a
 *    remote access through /proc/PID/mem) can be written behind the PTEs:
 *    it is marked in the new epoch too and stays armed, at every cut.
 *  - Every open file of a region points its f_mapping at the region's own
 *    inode, so the re-arm walks every mapping of every opener.  Each page's
 *    ->mapping and ->index point into that inode (for folio_mkclean()'s
 *    rmap walk), which is why the inode needs ->dirty_folio.
 *
 * A writer hold parks new write faults in db_region_mkwrite() (as a frozen
 * file system parks them in its ->page_mkwrite) until released by its
 * holder, or by the holder's file going away.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/rmap.h>
#include <linux/rwsem.h>
#include <linux/sched/signal.h>

#include "compat.h"
#include "region.h"

/* clean_record_shared_mapping_range(), wp_shared_mapping_range() */
#ifndef CONFIG_MAPPING_DIRTY_HELPERS
#error "memory regions need CONFIG_MAPPING_DIRTY_HELPERS"
#endif

/*
 * Testing only: the region stress test shows that a copy built from the
 * bitmaps goes stale without the re-arm.  Set at load, never for real.
 */
static bool region_rearm = true;
module_param(region_rearm, bool, 0444);
MODULE_PARM_DESC(region_rearm,
		 "Write-protect harvested region pages at a cut (default Y; N loses writes, for tests only)");

/* Loading with region_rearm=N says so, and taints the kernel. */
void db_region_track_init(void)
{
	if (region_rearm)
		return;
	db_test_knob_taint("region_rearm=N: region bitmaps lose writes");
}

/* ---- the marking path ------------------------------------------------ */

/*
 * Any fault of a page not mapped yet: the region's page, installed
 * read-only in a shared mapping (write-notify), so its first write comes to
 * db_region_mkwrite().
 *
 * Return: 0 with the page referenced, VM_FAULT_SIGBUS past the end.
 */
static vm_fault_t db_region_fault(struct vm_fault *vmf)
{
	struct db_region *r = vmf->vma->vm_file->private_data;

	if (vmf->pgoff >= r->npages)
		return VM_FAULT_SIGBUS;
	vmf->page = r->pages[vmf->pgoff];
	get_page(vmf->page);
	return 0;
}

/*
 * The first write to a page since it was mapped or re-armed: marks it
 * (see the top of this file), once no writer hold is in force.
 *
 * Return: VM_FAULT_LOCKED (the page lock held until the PTE is writable),
 * VM_FAULT_SIGBUS if the writer was killed while a hold kept it waiting.
 */
static vm_fault_t db_region_mkwrite(struct vm_fault *vmf)
{
	struct db_region *r = vmf->vma->vm_file->private_data;
	u64 off = (u64)vmf->pgoff << PAGE_SHIFT;
	struct page *page = vmf->page;
	struct db_rec *rec;

	for (;;) {
		/* A dying writer gets SIGBUS rather than a retry loop. */
		if (wait_event_killable(r->hold_wq, !READ_ONCE(r->held)))
			return VM_FAULT_SIGBUS;
		lock_page(page);
		/* A hold waits for this section (synchronize_rcu()). */
		rcu_read_lock();
		if (!READ_ONCE(r->held))
			break;
		rcu_read_unlock();
		unlock_page(page);
	}
	rec = rcu_dereference(r->track.rec);
	if (rec)
		db_rec_mark(rec, off, PAGE_SIZE);
	hbitmap_set(r->armed, off, PAGE_SIZE);
	rcu_read_unlock();
	return VM_FAULT_LOCKED;
}

const struct vm_operations_struct db_region_vm_ops = {
	.fault = db_region_fault,
	.page_mkwrite = db_region_mkwrite,
};

/* ---- the re-arm ---------------------------------------------------------- */

/*
 * Runs of armed pages are gathered into windows of at most DB_REARM_CHUNK
 * pages (r->taken marks a window's armed pages, ra->taken counts them),
 * and each window is re-armed the cheapest of three ways.  Each leaves
 * every PTE of the window's armed pages write-protected and clean (or
 * gone), changing each PTE in one step under its page table lock, so that
 * the next write to the page faults:
 *  - folio_mkclean() of each armed page (an rmap walk that write-protects
 *    and cleans each PTE of the page, as fb_defio does): dear per page,
 *    nothing per page not armed; for pages far apart.
 *  - unmap_mapping_pages() of the window: one range walk that also visits
 *    the gaps between its runs, a fixed cost (a lock, a descent, an
 *    mmu-notifier round and a TLB flush) plus one visit per PTE; it removes
 *    each PTE (the page's next access faults it in again, read-only),
 *    which costs ~450 guest instructions a PTE but little a gap.
 *  - db_region_rearm_walks(): three range walks of the window that keep
 *    the PTEs, ~200 instructions per armed page and ~100 per other page
 *    (more fixed cost); for windows of which a quarter or more is armed.
 * The mkclean/unmap costs, in PTE visits, were measured under TCG; the
 * instruction counts under QEMU icount (docs/PERFORMANCE.md).  A wrong
 * guess costs time, never a write.
 */
#define DB_REARM_GAP		64	/* pages walked to join two runs */
#define DB_REARM_WALK_COST	170	/* fixed cost of one range walk */
#define DB_REARM_MKCLEAN_COST	144	/* folio_mkclean() of one page */

struct db_rearm {
	struct db_region *r;
	struct db_rec *rec;		/* the bitmaps recording from now on */
	pgoff_t start, end;		/* the window, empty if equal */
	unsigned long taken;		/* its armed pages */
};

/*
 * Someone besides the region (one reference) and its mappings (one each)
 * holds the page: a pin or a plain GUP reference for DMA, a remote access.
 * It may be written behind the page tables.
 */
static bool db_region_page_held(struct page *page)
{
	struct folio *folio = page_folio(page);

	return folio_maybe_dma_pinned(folio) ||
	       folio_ref_count(folio) > 1 + db_page_mapcount(page);
}

static void db_region_mkclean(struct page *page)
{
	struct folio *folio = page_folio(page);

	folio_lock(folio);
	folio_mkclean(folio);
	folio_unlock(folio);
}

/*
 * Write-protects and cleans every PTE of the window's pages in three walks
 * of its mappings, with the helpers vmwgfx tracks dirt with (each notifies
 * secondary MMUs and flushes the TLB):
 *  1. clean every dirty PTE, leaving it writable.  A write fault installs
 *     its PTE dirty, so this is every armed page's;
 *  2. write-protect every writable PTE;
 *  3. clean every dirty PTE again, recording which, then folio_mkclean()
 *     each page recorded.
 * Walks 2 and 3 alone would be the racy pair of old: mprotect() (and NUMA
 * hinting) makes a write-protected shared PTE writable again without a
 * fault when, and only when, it is dirty (can_change_pte_writable(); on
 * 6.1 also a NUMA PTE's saved write bit, which is the write bit that walk
 * 2 clears).  Nothing else cleans these PTEs.  So after walk 1:
 *  - a PTE clean at walk 3 has not been dirty since walk 1, so nothing has
 *    made it writable since walk 2 write-protected it, except a fault,
 *    which marked the new bitmaps: it is write-protected and clean;
 *  - a PTE dirty at walk 3 was written after walk 1 and may have been made
 *    writable after walk 2 (walk 3 then leaves it writable and clean):
 *    folio_mkclean() write-protects and cleans it in one step.
 * Walk 1 is there for speed: without it, every armed page would be dirty
 * at walk 3 and need its own rmap walk.  Writes during the walks land on
 * pages the old epoch has (only armed pages have writable PTEs).
 */
static void db_region_rearm_walks(struct db_rearm *ra)
{
	struct db_region *r = ra->r;
	struct address_space *mapping = r->inode->i_mapping;
	pgoff_t n = ra->end - ra->start, first = 0, last = 0;

	clean_record_shared_mapping_range(mapping, ra->start, n, ra->start,
					  r->dirtied, &first, &last);
	if (last > first)
		bitmap_clear(r->dirtied, first, last - first);
	wp_shared_mapping_range(mapping, ra->start, n);
	first = 0;
	last = 0;
	clean_record_shared_mapping_range(mapping, ra->start, n, ra->start,
					  r->dirtied, &first, &last);
	if (last <= first)
		return;
	for_each_set_bit_from(first, r->dirtied, last)
		db_region_mkclean(r->pages[ra->start + first]);
	bitmap_clear(r->dirtied, 0, n);
}

static void db_region_rearm_window(struct db_rearm *ra)
{
	struct db_region *r = ra->r;
	pgoff_t n = ra->end - ra->start;
	unsigned long bit;

	if (!n)
		return;
	/* Each armed page's lock was seen free (db_region_rearm_run()). */
	smp_rmb();
	if (4 * ra->taken >= n + 64) {
		db_region_rearm_walks(ra);
	} else if (ra->taken * DB_REARM_MKCLEAN_COST >= 2 * (DB_REARM_WALK_COST + n)) {
		unmap_mapping_pages(r->inode->i_mapping, ra->start, n, false);
	} else {
		for_each_set_bit(bit, r->taken, n)
			db_region_mkclean(r->pages[ra->start + bit]);
	}
	/*
	 * After the walk: a reference taken before it is seen here; one that
	 * GUP took during it, from a PTE the walk then changed, is given back
	 * (GUP checks the PTE after taking its reference) and taken again
	 * through a fault, which marks the new bitmaps.
	 */
	for_each_set_bit(bit, r->taken, n) {
		pgoff_t i = ra->start + bit;

		if (!db_region_page_held(r->pages[i]))
			continue;
		db_rec_mark(ra->rec, (u64)i << PAGE_SHIFT, PAGE_SIZE);
		hbitmap_set(r->armed, (u64)i << PAGE_SHIFT, PAGE_SIZE);
	}
	bitmap_clear(r->taken, 0, n);
	ra->start = ra->end;
	ra->taken = 0;
	cond_resched();
}

/*
 * One run of armed pages, taken from the armed set: into the windows.
 *
 * Return: 0 (the take goes on).
 */
static int db_region_rearm_run(void *opaque, u64 start, u64 length)
{
	struct db_rearm *ra = opaque;
	pgoff_t i = start >> PAGE_SHIFT;
	pgoff_t end = i + (length >> PAGE_SHIFT);

	for (; i < end; i++) {
		if (ra->start != ra->end &&
		    (i - ra->end > DB_REARM_GAP || i - ra->start >= DB_REARM_CHUNK))
			db_region_rearm_window(ra);
		if (ra->start == ra->end)
			ra->start = i;
		ra->end = i + 1;
		__set_bit(i - ra->start, ra->r->taken);
		ra->taken++;
		/*
		 * A fault that marked before the cut holds the page lock from
		 * before its mark (before the cut's grace period ended, then)
		 * until its PTE is in place: once the lock is seen free, the
		 * walk sees the PTE (the smp_rmb() before the walk pairs with
		 * the unlock's release).  Waiting, not taking the lock, is
		 * enough: a later holder is a later fault, marking the new
		 * bitmaps.
		 */
		folio_wait_locked(page_folio(ra->r->pages[i]));
	}
	return 0;
}

/*
 * Write-protects every page that may have a writable PTE: O(pages armed).
 * Under the region's cut lock.
 */
static void db_region_rearm(struct db_region *r, struct db_rec *rec)
{
	struct db_rearm ra = { .r = r, .rec = rec };

	lockdep_assert_held(&r->track.cut_lock);
	if (!region_rearm)
		return;
	hbitmap_take(r->armed, 0, r->track.size, db_region_rearm_run, &ra);
	db_region_rearm_window(&ra);
}

/* ->drain: the cut published @rec and every marker of the old one is done. */
void db_region_drain(struct db_track *tr, u32 old_gen, struct db_rec *rec)
{
	db_region_rearm(to_region(tr), rec);
}

/* ---- the writer hold ------------------------------------------------------ */

/*
 * HOLD: new writes wait until RELEASE.  Waits for the write()s in progress
 * (killably: one may be stuck on its source) holding only the region's cut
 * lock.
 *
 * Return: 0 once held; -EBUSY if held already; -ENODEV if the region was
 * destroyed; -EINTR if the caller was killed (then nothing is held).
 */
int db_region_hold(struct db_region *r, struct file *file)
{
	int ret = db_track_lock(&r->track, NULL);

	if (ret)
		return ret == -ENOENT ? -ENODEV : ret;
	mutex_lock(&dirtybit_lock);
	ret = r->held ? -EBUSY : 0;
	if (!ret) {
		WRITE_ONCE(r->held, true);
		r->holder = file;
	}
	mutex_unlock(&dirtybit_lock);
	if (ret)
		goto out;
	/* A write() that saw no hold finishes; later ones wait. */
	if (down_write_killable(&r->writes)) {
		mutex_lock(&dirtybit_lock);
		db_region_unhold(r);
		mutex_unlock(&dirtybit_lock);
		ret = -EINTR;
		goto out;
	}
	up_write(&r->writes);
	/* Every fault that saw no hold has marked and armed its page ... */
	synchronize_rcu();
	/* ... and loses its writable PTE here; later ones wait. */
	db_region_rearm(r, rcu_dereference_protected(r->track.rec,
						     lockdep_is_held(&r->track.cut_lock)));
out:
	mutex_unlock(&r->track.cut_lock);
	return ret;
}

void db_region_unhold(struct db_region *r)
{
	lockdep_assert_held(&dirtybit_lock);
	r->holder = NULL;
	WRITE_ONCE(r->held, false);
	wake_up_all(&r->hold_wq);
}

/*
 * RELEASE: the writes a hold parked go on.
 *
 * Return: 0 once released, -EINVAL if not held, -EPERM if another file
 * holds it.
 */
int db_region_release_hold(struct db_region *r, struct file *file)
{
	int ret = 0;

	mutex_lock(&dirtybit_lock);
	if (!r->held)
		ret = -EINVAL;
	else if (r->holder != file)
		ret = -EPERM;
	else
		db_region_unhold(r);
	mutex_unlock(&dirtybit_lock);
	return ret;
}
