/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel APIs that differ between the kernels dirtybit supports
 * (Debian's 6.1 and 6.12), behind one name each.
 */
#ifndef _DIRTYBIT_COMPAT_H
#define _DIRTYBIT_COMPAT_H

#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/version.h>
#include <net/genetlink.h>

/* A read-only, non-exclusive open of a block device, just to look at it. */
struct db_bdev_handle {
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	struct file *file;
#endif
	struct block_device *bdev;
};

/* Return: 0 with @h open, or the error of the open (-ENXIO, -ENODEV, ...). */
static inline int db_bdev_open(dev_t dev, struct db_bdev_handle *h)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	h->file = bdev_file_open_by_dev(dev, BLK_OPEN_READ, NULL, NULL);
	if (IS_ERR(h->file))
		return PTR_ERR(h->file);
	h->bdev = file_bdev(h->file);
#else
	h->bdev = blkdev_get_by_dev(dev, FMODE_READ, NULL);
	if (IS_ERR(h->bdev))
		return PTR_ERR(h->bdev);
#endif
	return 0;
}

static inline void db_bdev_close(struct db_bdev_handle *h)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	fput(h->file);
#else
	blkdev_put(h->bdev, FMODE_READ);
#endif
}

static inline u8 db_bdev_partno(struct block_device *bdev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
	return bdev_partno(bdev);
#else
	return bdev->bd_partno;
#endif
}

/* The request attributes of a dump, kept by genetlink across its parts. */
static inline struct nlattr **db_dump_attrs(struct netlink_callback *cb)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	return genl_dumpit_info(cb)->info.attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define DB_CLASS_REMOVE_DEV(fn) \
	static void fn##_cb(struct device *dev) { fn(dev); }
#else
#define DB_CLASS_REMOVE_DEV(fn) \
	static void fn##_cb(struct device *dev, struct class_interface *intf) { fn(dev); }
#endif

static inline void db_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/* Does @disk take writes through ->rw_page, which pass no tracepoint? */
static inline bool db_disk_has_rw_page(const struct gendisk *disk)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
	return disk->fops->rw_page;
#else
	return false;
#endif
}

/* Mappings of an order-0 page (6.1 exports no folio_mapcount()). */
static inline int db_page_mapcount(struct page *page)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
	return folio_mapcount(page_folio(page));
#else
	return page_mapcount(page);
#endif
}

/* pread/pwrite/lseek on a file made by alloc_file_pseudo() */
#ifdef FMODE_LSEEK
#define DB_FMODE_SEEKABLE	(FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE)
#else
#define DB_FMODE_SEEKABLE	(FMODE_PREAD | FMODE_PWRITE)
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define db_class_create(name)	class_create(name)
#else
#define db_class_create(name)	class_create(THIS_MODULE, name)
#endif

#endif /* _DIRTYBIT_COMPAT_H */
