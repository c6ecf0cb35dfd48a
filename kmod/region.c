// SPDX-License-Identifier: GPL-2.0
/*
 * Memory regions: memory the module provides, mapped MAP_SHARED by any
 * process (QEMU guest RAM through memory-backend-file), with the first write
 * to each page after every cut recorded.
 *
 * This file: a region's lifetime, its file system, files, device node and
 * ioctls.  How its writes are recorded (the write fault, the re-arm at a
 * cut, the writer hold) is region_track.c's.
 *
 * Pages are allocated at creation, charged to the creator's memory cgroup,
 * and freed when the region is destroyed and its last file (every mapping
 * holds one) is closed.  A region's inode lives in the module's own file
 * system, pinned (with the module) while any region exists, so the last
 * close never runs the file system's code after the module is gone.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/rwsem.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <net/netlink.h>

#include "compat.h"
#include "region.h"

/* Pages regions hold, destroyed or not: freed with their last file. */
static atomic_long_t db_region_pages = ATOMIC_LONG_INIT(0);

long db_region_pages_held(void)
{
	return atomic_long_read(&db_region_pages);
}

/* Return: the length of what it wrote into @buf (an errno never). */
static int db_region_pages_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", db_region_pages_held());
}

static const struct kernel_param_ops db_region_pages_ops = {
	.get = db_region_pages_get,
};

module_param_cb(region_pages, &db_region_pages_ops, NULL, 0444);
MODULE_PARM_DESC(region_pages, "Pages held by memory regions (read only)");

#define DB_REGION_FS_MAGIC	0x64627267	/* "dbrg" */

/* Regions by minor, whether or not they have a node; under dirtybit_lock. */
static DEFINE_IDR(db_region_idr);
/* The region file system, mounted while a region exists (simple_pin_fs). */
static struct file_system_type db_regionfs_type;
static struct vfsmount *db_region_mnt;
static int db_region_mnt_count;
static dev_t db_region_devt;
static struct cdev db_region_cdev;
static struct class *db_region_class;
static const struct file_operations db_region_fops;

bool db_track_is_region(const struct db_track *tr)
{
	return tr->ops == &db_region_ops;
}

/* Pages point into the inode for folio_mkclean()'s rmap walk (region_track.c). */
static const struct address_space_operations db_region_aops = {
	.dirty_folio = noop_dirty_folio,
};

/* ---- lifetime -------------------------------------------------------------- */

/* ->release: destroyed (or never listed) and its last file closed. */
static void db_region_free(struct db_track *tr)
{
	struct db_region *r = to_region(tr);
	pgoff_t i;

	db_track_release(tr);
	/* A page still pinned (O_DIRECT in flight) lives on with its pin. */
	for (i = 0; r->pages && i < r->npages && r->pages[i]; i++) {
		/* Under the lock: set_page_dirty_lock() of a pin reads it. */
		lock_page(r->pages[i]);
		r->pages[i]->mapping = NULL;
		unlock_page(r->pages[i]);
		put_page(r->pages[i]);
	}
	atomic_long_sub(i, &db_region_pages);
	kvfree(r->pages);
	hbitmap_free(r->armed);
	bitmap_free(r->taken);
	bitmap_free(r->dirtied);
	if (r->inode)
		iput(r->inode);
	if (r->pinned)
		simple_release_fs(&db_region_mnt, &db_region_mnt_count);
	db_track_fini(&r->track);
	kfree(r);
	db_obj_put(DB_OBJ_TARGET);
}

/*
 * Allocates and zeroes the region's pages; on failure the pages allocated
 * so far are freed with the region (db_region_free()).
 *
 * Return: 0 on success, -ENOMEM, or -EINTR if the caller was killed.
 */
static int db_region_alloc_pages(struct db_region *r)
{
	const gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN |
			  __GFP_RETRY_MAYFAIL;
	pgoff_t i;

	r->pages = db_fault() ? NULL :
		kvcalloc(r->npages, sizeof(*r->pages), GFP_KERNEL_ACCOUNT);
	if (!r->pages)
		return -ENOMEM;
	for (i = 0; i < r->npages; i++) {
		r->pages[i] = db_fault() ? NULL : alloc_page(gfp);
		if (!r->pages[i])
			return -ENOMEM;
		atomic_long_inc(&db_region_pages);
		/* For folio_mkclean()'s rmap walk; cleared before the free. */
		r->pages[i]->mapping = r->inode->i_mapping;
		r->pages[i]->index = i;
		if (!(i & 511)) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	return 0;
}

/* The region of that name, listed or still being created; dirtybit_lock. */
static struct db_region *db_region_find_name(const char *name)
{
	struct db_region *r;
	int id;

	lockdep_assert_held(&dirtybit_lock);
	idr_for_each_entry(&db_region_idr, r, id)
		if (!strcmp(r->name, name))
			return r;
	return NULL;
}

/*
 * A new region's file, holding a reference of its own.
 *
 * Return: the file, or ERR_PTR(-ENOMEM) (or another error of
 * alloc_file_pseudo()).
 */
static struct file *db_region_file(struct db_region *r, int flags)
{
	struct file *file;

	/* The file's f_op holds the module, as an open would: fput drops it. */
	__module_get(THIS_MODULE);
	ihold(r->inode);
	file = db_fault() ? ERR_PTR(-ENOMEM) :
		alloc_file_pseudo(r->inode, db_region_mnt, r->name, flags, &db_region_fops);
	if (IS_ERR(file)) {
		iput(r->inode);
		module_put(THIS_MODULE);
		return file;
	}
	file->f_mode |= DB_FMODE_SEEKABLE;	/* what an open would have set */
	file->private_data = r;
	db_track_get(&r->track);
	return file;
}

/*
 * Installs @file as a new close-on-exec fd once @arg (which gets the fd in
 * *@fd_out) is copied out to @argp; on failure @file is put.
 *
 * Return: 0 on success, -EMFILE (no fd), -EFAULT.
 */
static int db_region_install(struct file *file, void __user *argp, void *arg,
			     size_t argsize, __s32 *fd_out)
{
	int fd = get_unused_fd_flags(O_CLOEXEC);

	if (fd < 0) {
		fput(file);
		return fd;
	}
	*fd_out = fd;
	if (copy_to_user(argp, arg, argsize)) {
		put_unused_fd(fd);
		fput(file);
		return -EFAULT;
	}
	fd_install(fd, file);
	return 0;
}

/* Both capabilities: CAP_SYS_ADMIN for making or reaching memory of another. */
static bool db_region_capable(void)
{
	return capable(CAP_NET_ADMIN) && capable(CAP_SYS_ADMIN);
}

/*
 * Creates /dev/dirtybit-regions/NAME for @r.
 *
 * Return: 0 on success, -ENOMEM, or the error of device_create() (-EEXIST
 * if a node of that name is still there).
 */
static int db_region_create_node(struct db_region *r)
{
	struct device *dev;

	if (db_fault())
		return -ENOMEM;
	dev = device_create(db_region_class, NULL,
			    MKDEV(MAJOR(db_region_devt), r->minor), NULL,
			    DIRTYBIT_REGION_NODE_DIR "!%s", r->name);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	r->node = dev;
	return 0;
}

/*
 * DIRTYBIT_IOC_REGION_CREATE.  On -EFAULT nothing was created: the region
 * appears, with its event, only once its creator has the answer.
 *
 * Return: 0 on success (the fd and target id copied out); -EPERM; -EFAULT;
 * -EINVAL for a bad size, name, flags or reserved field; -E2BIG if larger
 * than the machine's memory; -EEXIST if the name is taken; -ENOSPC if
 * DIRTYBIT_MAX_REGIONS exist; -ENOMEM (the memory cgroup's limit too);
 * -EINTR if the creator was killed while its pages were allocated;
 * -EMFILE.
 */
long db_region_ioc_create(void __user *argp)
{
	struct dirtybit_ioc_region_create c;
	struct db_region *r;
	struct file *file;
	int ret, fd;

	if (!db_region_capable())
		return -EPERM;
	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	if (c.size != sizeof(c) || !db_reserved_zero(c.reserved, ARRAY_SIZE(c.reserved)) ||
	    (c.flags & ~DIRTYBIT_REGION_F_NODE) || !memchr(c.name, '\0', sizeof(c.name)) ||
	    !db_name_valid(c.name) || !c.bytes || !PAGE_ALIGNED(c.bytes))
		return -EINVAL;
	if (c.bytes >> PAGE_SHIFT > totalram_pages())
		return -E2BIG;
	/* Before allocating gigabytes; checked again when it is listed. */
	mutex_lock(&dirtybit_lock);
	ret = db_region_find_name(c.name) ? -EEXIST : 0;
	mutex_unlock(&dirtybit_lock);
	if (ret)
		return ret;

	r = db_fault() ? NULL : kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	db_obj_get(DB_OBJ_TARGET);
	init_waitqueue_head(&r->hold_wq);
	init_rwsem(&r->writes);
	strscpy(r->name, c.name, sizeof(r->name));
	r->npages = c.bytes >> PAGE_SHIFT;
	r->minor = -1;
	/* From here the track's reference frees everything (->release). */
	db_track_init(&r->track, c.bytes, &db_region_ops);
	ret = db_fault() ? -ENOMEM :
		simple_pin_fs(&db_regionfs_type, &db_region_mnt, &db_region_mnt_count);
	if (ret)
		goto err_free;
	r->pinned = true;
	r->armed = db_hbitmap_alloc(c.bytes, PAGE_SIZE);
	r->taken = db_fault() ? NULL : bitmap_zalloc(DB_REARM_CHUNK, GFP_KERNEL_ACCOUNT);
	r->dirtied = db_fault() ? NULL : bitmap_zalloc(DB_REARM_CHUNK, GFP_KERNEL_ACCOUNT);
	ret = -ENOMEM;
	if (!r->armed || !r->taken || !r->dirtied)
		goto err_free;
	r->inode = db_fault() ? ERR_PTR(-ENOMEM) : alloc_anon_inode(db_region_mnt->mnt_sb);
	if (IS_ERR(r->inode)) {
		ret = PTR_ERR(r->inode);
		r->inode = NULL;
		goto err_free;
	}
	r->inode->i_mapping->a_ops = &db_region_aops;
	i_size_write(r->inode, r->track.size);
	ret = db_region_alloc_pages(r);
	if (ret)
		goto err_free;
	file = db_region_file(r, O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_free;
	}
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_file;
	}

	/* The name and an id, reserved; nothing finds the region yet. */
	mutex_lock(&dirtybit_lock);
	ret = -EEXIST;
	if (db_region_find_name(r->name))
		goto err_unlock;
	ret = db_fault() ? -ENOMEM :
		idr_alloc(&db_region_idr, r, 0, DIRTYBIT_MAX_REGIONS, GFP_KERNEL);
	if (ret < 0)
		goto err_unlock;
	r->minor = ret;
	ret = db_track_publish_empty(&r->track);
	if (ret)
		goto err_idr;
	mutex_unlock(&dirtybit_lock);

	c.fd = fd;
	c.target_id = r->track.id;
	ret = -EFAULT;
	if (copy_to_user(argp, &c, sizeof(c)))
		goto err_unreserve;

	mutex_lock(&dirtybit_lock);
	if (c.flags & DIRTYBIT_REGION_F_NODE) {
		ret = db_region_create_node(r);
		if (ret)
			goto err_idr;
	}
	db_track_list(&r->track);	/* the list takes the first reference */
	db_notify(DIRTYBIT_EVENT_TARGET_ATTACHED, &r->track, NULL);
	pr_info("region %s: %llu bytes, target %u\n", r->name, r->track.size, r->track.id);
	mutex_unlock(&dirtybit_lock);
	fd_install(fd, file);
	return 0;

err_unreserve:
	mutex_lock(&dirtybit_lock);
err_idr:
	idr_remove(&db_region_idr, r->minor);
err_unlock:
	mutex_unlock(&dirtybit_lock);
	put_unused_fd(fd);
err_file:
	fput(file);		/* drops the file's reference */
err_free:
	db_track_put(&r->track);
	return ret;
}

/*
 * DIRTYBIT_IOC_REGION_OPEN: a region by id or name, for reading (or writing).
 *
 * Return: 0 on success (the fd copied out); -EPERM; -EFAULT; -EINVAL for a
 * bad size, name, flags or reserved field; -ENOENT if no listed region has
 * that id or name; -ENOMEM; -EMFILE.
 */
long db_region_ioc_open(void __user *argp)
{
	struct dirtybit_ioc_region_open o;
	struct db_region *r = NULL;
	struct db_track *tr;
	struct file *file;

	if (!db_region_capable())
		return -EPERM;
	if (copy_from_user(&o, argp, sizeof(o)))
		return -EFAULT;
	if (o.size != sizeof(o) || !db_reserved_zero(o.reserved, ARRAY_SIZE(o.reserved)) ||
	    (o.flags & ~DIRTYBIT_REGION_OPEN_WRITE) || !memchr(o.name, '\0', sizeof(o.name)) ||
	    (!o.target_id && !o.name[0]))
		return -EINVAL;

	mutex_lock(&dirtybit_lock);
	if (o.target_id) {
		tr = db_track_find(o.target_id);
		r = tr && db_track_is_region(tr) ? to_region(tr) : NULL;
	} else {
		r = db_region_find_name(o.name);
		if (r && !r->track.listed)
			r = NULL;
	}
	file = r ? db_region_file(r, o.flags & DIRTYBIT_REGION_OPEN_WRITE ? O_RDWR : O_RDONLY) :
		   ERR_PTR(-ENOENT);
	mutex_unlock(&dirtybit_lock);
	if (IS_ERR(file))
		return PTR_ERR(file);
	return db_region_install(file, argp, &o, sizeof(o), &o.fd);
}

/*
 * Unlists a region (no name, no node, nothing marks it), returning its rec
 * for the caller to free after an RCU grace period.  Under dirtybit_lock.
 */
static struct db_rec *db_region_unlist(struct db_region *r, bool notify)
{
	struct db_track *tr = &r->track;

	lockdep_assert_held(&dirtybit_lock);
	if (notify)
		db_notify(DIRTYBIT_EVENT_TARGET_DETACHED, tr, NULL);
	pr_info("region %s: destroyed (target %u)\n", r->name, tr->id);
	db_track_unlist(tr);
	WRITE_ONCE(tr->gone, true);
	if (r->held)
		db_region_unhold(r);
	if (r->node)
		device_destroy(db_region_class, r->node->devt);
	r->node = NULL;
	idr_remove(&db_region_idr, r->minor);
	return rcu_replace_pointer(tr->rec, NULL, lockdep_is_held(&dirtybit_lock));
}

/* Drops what a region unlisted under dirtybit_lock no longer needs. */
static void db_region_drop(struct db_region *r, struct db_rec *rec)
{
	synchronize_rcu();	/* no fault marks @rec or the bitmaps any more */
	db_rec_free(rec);
	db_track_release(&r->track);
	db_track_put(&r->track);	/* the list's; its files keep the memory */
}

/*
 * ->detach (TARGET_DETACH of a region): under its cut lock.
 *
 * Return: 0 when destroyed, -EBUSY (with a message) if a bitmap is frozen.
 */
static int db_region_detach(struct db_track *tr, struct netlink_ext_ack *extack)
{
	struct db_rec *rec;
	int ret;

	ret = db_track_lock_unfrozen(tr, extack);
	if (ret)
		return ret;
	rec = db_region_unlist(to_region(tr), true);
	mutex_unlock(&dirtybit_lock);
	db_region_drop(to_region(tr), rec);
	return 0;
}

/* DIRTYBIT_REGION_F_*; under dirtybit_lock. */
static u32 db_region_flags(const struct db_region *r)
{
	return (r->node ? DIRTYBIT_REGION_F_NODE : 0) |
	       (r->held ? DIRTYBIT_REGION_F_HELD : 0) |
	       (r->track.gone ? DIRTYBIT_REGION_F_DESTROYED : 0);
}

/* ->fill: a region's reply.  Return: 0, or -EMSGSIZE if it is full. */
static int db_region_fill(struct sk_buff *msg, const struct db_track *tr)
{
	const struct db_region *r = container_of(tr, struct db_region, track);

	if (nla_put_u32(msg, DIRTYBIT_A_TARGET_DEV, r->node ? new_encode_dev(r->node->devt) : 0) ||
	    nla_put_string(msg, DIRTYBIT_A_TARGET_NAME, r->name) ||
	    nla_put_u32(msg, DIRTYBIT_A_REGION_FLAGS, db_region_flags(r)))
		return -EMSGSIZE;
	return 0;
}

/*
 * ->lookup: the device number of @path if it is a region's node.  Looks
 * up a path: never under dirtybit_lock.
 *
 * Return: 0 with *@dev set, -ENOTTY if @path is not a region's node.
 */
static int db_region_lookup(const char *path, dev_t *dev, struct netlink_ext_ack *extack)
{
	struct path p;

	*dev = 0;
	if (kern_path(path, LOOKUP_FOLLOW, &p))
		return -ENOTTY;
	if (S_ISCHR(d_inode(p.dentry)->i_mode))
		*dev = d_inode(p.dentry)->i_rdev;
	path_put(&p);
	return *dev && MAJOR(*dev) == MAJOR(db_region_devt) ? 0 : -ENOTTY;
}

/*
 * ->find: the listed region behind node @dev; under dirtybit_lock.
 *
 * Return: 0 with *@tr set, -ENOENT (with a message) if there is none.
 */
static int db_region_find(dev_t dev, struct db_track **tr, struct netlink_ext_ack *extack)
{
	struct db_region *r;

	lockdep_assert_held(&dirtybit_lock);
	r = idr_find(&db_region_idr, MINOR(dev));
	if (!r || !r->node || !r->track.listed) {
		NL_SET_ERR_MSG_MOD(extack, "no region behind this device node");
		return -ENOENT;
	}
	*tr = &r->track;
	return 0;
}

/* ->find_name: the listed region named @name, or NULL; under dirtybit_lock. */
static struct db_track *db_region_find_listed(const char *name)
{
	struct db_region *r = db_region_find_name(name);

	return r && r->track.listed ? &r->track : NULL;
}

const struct db_track_ops db_region_ops = {
	.drain = db_region_drain,
	.detach = db_region_detach,
	.release = db_region_free,
	.lookup = db_region_lookup,
	.find = db_region_find,
	.find_name = db_region_find_listed,
	.fill = db_region_fill,
	.kind = DIRTYBIT_TARGET_REGION,
	.default_granularity = PAGE_SIZE,
	.min_granularity = PAGE_SIZE,
};

/* ---- region files ------------------------------------------------------------ */

/*
 * Opening /dev/dirtybit-regions/NAME.
 *
 * Return: 0 on success, -ENODEV if the region has no node any more.
 */
static int db_region_open(struct inode *inode, struct file *file)
{
	struct db_region *r;

	mutex_lock(&dirtybit_lock);
	r = idr_find(&db_region_idr, iminor(inode));
	if (r && r->node)
		db_track_get(&r->track);
	else
		r = NULL;
	mutex_unlock(&dirtybit_lock);
	if (!r)
		return -ENODEV;
	file->private_data = r;
	/* Every mapping in the region's own address_space: see the top. */
	file->f_mapping = r->inode->i_mapping;
	return 0;
}

/* Return: 0 (closing cannot fail). */
static int db_region_release(struct inode *inode, struct file *file)
{
	struct db_region *r = file->private_data;

	mutex_lock(&dirtybit_lock);
	if (r->held && r->holder == file) {
		pr_info("region %s: its writers' holder went away; released\n", r->name);
		db_region_unhold(r);
	}
	mutex_unlock(&dirtybit_lock);
	db_track_put(&r->track);
	return 0;
}

/*
 * Return: 0 on success; -EINVAL for a private mapping or one past the end;
 * -EACCES for a read-only mapping of a writable file.
 */
static int db_region_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct db_region *r = file->private_data;

	/* MAP_SHARED: VM_SHARED too unless the file is read-only. */
	if (!(vma->vm_flags & VM_MAYSHARE)) {
		pr_notice_ratelimited("region %s: refusing a private mapping (map it MAP_SHARED)\n",
				      r->name);
		return -EINVAL;
	}
	/* Read-only mappings belong to read-only files (the helper's). */
	if ((file->f_mode & FMODE_WRITE) && !(vma->vm_flags & VM_WRITE)) {
		pr_notice_ratelimited("region %s: refusing a read-only mapping of a writable file\n",
				      r->name);
		return -EACCES;
	}
	if (vma->vm_pgoff >= r->npages || vma_pages(vma) > r->npages - vma->vm_pgoff) {
		pr_notice_ratelimited("region %s: refusing a mapping past its end\n", r->name);
		return -EINVAL;
	}
	/* Not VM_IO or VM_PFNMAP: O_DIRECT and other pinning must work. */
	db_vm_flags_set(vma, VM_DONTEXPAND);
	vma->vm_ops = &db_region_vm_ops;
	return 0;
}

/*
 * read(): a copy of the region's bytes from the file position.
 *
 * Return: the bytes read (0 at the end), -EFAULT if none could be copied.
 */
static ssize_t db_region_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct db_region *r = iocb->ki_filp->private_data;
	loff_t pos = iocb->ki_pos;
	ssize_t done = 0;

	while (iov_iter_count(to) && pos < r->track.size) {
		size_t off = offset_in_page(pos);
		size_t n = min_t(u64, PAGE_SIZE - off, r->track.size - pos);
		size_t copied = copy_page_to_iter(r->pages[pos >> PAGE_SHIFT], off, n, to);

		pos += copied;
		done += copied;
		if (copied < n) {
			if (!done)
				return -EFAULT;
			break;
		}
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	iocb->ki_pos = pos;
	return done;
}

/*
 * write(): like stores through a mapping, it waits out a writer hold, and
 * marks what it wrote in every recording bitmap after writing it (a cut in
 * between puts the mark in the next epoch, whose copy comes later).  It
 * holds r->writes for reading, since it may sleep where RCU cannot, so
 * that a hold can wait for it.
 *
 * Return: the bytes written; -ENOSPC at or past the end; -EINTR if killed
 * while a hold was waited out; -EFAULT if none could be copied.
 */
static ssize_t db_region_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct db_region *r = iocb->ki_filp->private_data;
	loff_t pos = iocb->ki_pos;
	ssize_t done = 0;
	struct db_rec *rec;

	if (!iov_iter_count(from))
		return 0;
	if (pos >= r->track.size)
		return -ENOSPC;
	for (;;) {
		if (wait_event_killable(r->hold_wq, !READ_ONCE(r->held)) ||
		    down_read_killable(&r->writes))
			return -EINTR;
		if (!READ_ONCE(r->held))
			break;
		up_read(&r->writes);
	}
	while (iov_iter_count(from) && pos < r->track.size) {
		size_t off = offset_in_page(pos);
		size_t n = min_t(u64, PAGE_SIZE - off, r->track.size - pos);
		size_t copied = copy_page_from_iter(r->pages[pos >> PAGE_SHIFT], off, n, from);

		if (copied) {
			rcu_read_lock();
			rec = rcu_dereference(r->track.rec);
			if (rec)
				db_rec_mark(rec, pos, copied);
			rcu_read_unlock();
		}
		pos += copied;
		done += copied;
		if (copied < n || fatal_signal_pending(current))
			break;
		cond_resched();
	}
	up_read(&r->writes);
	if (!done)
		return -EFAULT;
	iocb->ki_pos = pos;
	return done;
}

/* Return: the new position, or -EINVAL as fixed_size_llseek(). */
static loff_t db_region_llseek(struct file *file, loff_t offset, int whence)
{
	struct db_region *r = file->private_data;

	return fixed_size_llseek(file, offset, whence, r->track.size);
}

/*
 * DIRTYBIT_REGION_IOC_INFO.
 *
 * Return: 0 on success, -EFAULT, -EINVAL for a bad size or a reserved
 * field not zero.
 */
static long db_region_ioc_info(struct db_region *r, void __user *argp)
{
	struct dirtybit_region_info info;

	if (copy_from_user(&info, argp, sizeof(info)))
		return -EFAULT;
	if (info.size != sizeof(info) || info.pad ||
	    !db_reserved_zero(info.reserved, ARRAY_SIZE(info.reserved)))
		return -EINVAL;
	mutex_lock(&dirtybit_lock);
	info.target_id = r->track.gone ? 0 : r->track.id;
	info.bytes = r->track.size;
	memset(info.name, 0, sizeof(info.name));
	strscpy(info.name, r->name, sizeof(info.name));
	info.flags = db_region_flags(r);
	mutex_unlock(&dirtybit_lock);
	return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
}

/*
 * Return: that of the command's handler; -EPERM for HOLD without
 * CAP_NET_ADMIN; -ENOTTY for an unknown command.
 */
static long db_region_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct db_region *r = file->private_data;

	switch (cmd) {
	case DIRTYBIT_REGION_IOC_INFO:
		return db_region_ioc_info(r, (void __user *)arg);
	case DIRTYBIT_REGION_IOC_HOLD:
		if (!capable(CAP_NET_ADMIN))
			return -EPERM;
		return db_region_hold(r, file);
	case DIRTYBIT_REGION_IOC_RELEASE:
		return db_region_release_hold(r, file);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations db_region_fops = {
	.owner = THIS_MODULE,
	.open = db_region_open,
	.release = db_region_release,
	.mmap = db_region_mmap,
	.read_iter = db_region_read_iter,
	.write_iter = db_region_write_iter,
	.llseek = db_region_llseek,
	.unlocked_ioctl = db_region_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* ---- module init / exit ------------------------------------------------------------ */

/* Return: 0 on success, -ENOMEM. */
static int db_regionfs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, DB_REGION_FS_MAGIC) ? 0 : -ENOMEM;
}

/* Owned: its superblock holds the module while a region pins it. */
static struct file_system_type db_regionfs_type = {
	.owner = THIS_MODULE,
	.name = "dirtybit_region",
	.init_fs_context = db_regionfs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/*
 * Return: 0 on success, -ENOMEM, or the error of registering the device
 * numbers, the cdev or the class.
 */
int db_region_init(void)
{
	int ret;

	db_region_track_init();
	ret = db_fault() ? -ENOMEM :
		alloc_chrdev_region(&db_region_devt, 0, DIRTYBIT_MAX_REGIONS, "dirtybit-region");
	if (ret)
		return ret;
	cdev_init(&db_region_cdev, &db_region_fops);
	db_region_cdev.owner = THIS_MODULE;
	ret = db_fault() ? -ENOMEM :
		cdev_add(&db_region_cdev, db_region_devt, DIRTYBIT_MAX_REGIONS);
	if (ret)
		goto err_chrdev;
	db_region_class = db_fault() ? ERR_PTR(-ENOMEM) : db_class_create("dirtybit-region");
	if (IS_ERR(db_region_class)) {
		ret = PTR_ERR(db_region_class);
		goto err_cdev;
	}
	return 0;

err_cdev:
	cdev_del(&db_region_cdev);
err_chrdev:
	unregister_chrdev_region(db_region_devt, DIRTYBIT_MAX_REGIONS);
	return ret;
}

/* Every region pins the module: none is left when it goes. */
void db_region_exit(void)
{
	idr_destroy(&db_region_idr);
	class_destroy(db_region_class);
	cdev_del(&db_region_cdev);
	unregister_chrdev_region(db_region_devt, DIRTYBIT_MAX_REGIONS);
}
