/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A memory region, shared by region.c (its lifetime, files and ioctls) and
 * region_track.c (how its writes are recorded: the write fault, the re-arm
 * at a cut, the writer hold).
 */
#ifndef _DIRTYBIT_REGION_H
#define _DIRTYBIT_REGION_H

#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/rwsem.h>
#include <linux/wait.h>

#include "dirtybit.h"

#define DB_REARM_CHUNK		4096		/* pages per PTE walk */

struct db_region {
	struct db_track track;		/* its references: the list's, each file's */
	char name[DIRTYBIT_NAME_MAX];
	pgoff_t npages;			/* track.size in pages */
	struct page **pages;
	struct inode *inode;		/* its address_space holds every mapping */
	bool pinned;			/* holds a pin of db_region_mnt */
	struct hbitmap *armed;		/* pages that may have a writable PTE */
	unsigned long *taken;		/* the re-arm window's, under the cut lock */
	unsigned long *dirtied;		/* its pages found dirty, likewise */
	int minor;			/* in db_region_idr */
	struct device *node;		/* /dev/dirtybit-regions/NAME, or NULL */
	/* The writer hold: set and cleared under dirtybit_lock. */
	bool held;
	struct rw_semaphore writes;	/* read by write()s in progress */
	struct file *holder;
	wait_queue_head_t hold_wq;
};

static inline struct db_region *to_region(struct db_track *tr)
{
	return container_of(tr, struct db_region, track);
}

/* region_track.c */
extern const struct vm_operations_struct db_region_vm_ops;
void db_region_track_init(void);
void db_region_drain(struct db_track *tr, u32 old_gen, struct db_rec *rec);
int db_region_hold(struct db_region *r, struct file *file);
void db_region_unhold(struct db_region *r);
int db_region_release_hold(struct db_region *r, struct file *file);

#endif /* _DIRTYBIT_REGION_H */
