// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/dirtybit: the data plane's character device and its ioctls.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dirtybit.h"
#include "hbitmap.h"

/* Words copied per round trip under dirtybit_lock: one page. */
#define DB_READ_CHUNK_WORDS	(PAGE_SIZE / sizeof(__le64))

/*
 * DIRTYBIT_IOC_VERSION.
 *
 * Return: 0 on success, -EFAULT, -EINVAL for a bad size or a reserved
 * field not zero.
 */
static long db_ioc_version(void __user *argp)
{
	struct dirtybit_ioc_version v;

	if (copy_from_user(&v, argp, sizeof(v)))
		return -EFAULT;
	if (v.size != sizeof(v) || !db_reserved_zero(v.reserved, ARRAY_SIZE(v.reserved)))
		return -EINVAL;

	v.protocol = DIRTYBIT_GENL_VERSION;
	memset(v.module, 0, sizeof(v.module));
	strscpy(v.module, DIRTYBIT_VERSION, sizeof(v.module));

	return copy_to_user(argp, &v, sizeof(v)) ? -EFAULT : 0;
}

/*
 * The bitmap @r names, with its state filled into @r; NULL if it is gone
 * or its change count is no longer @seq (0: any).  Under dirtybit_lock.
 */
static struct db_bitmap *db_ioc_bitmap(struct dirtybit_ioc_bitmap_read *r, u64 seq)
{
	struct db_track *tr = db_track_find(r->target_id);
	struct db_bitmap *bm = tr ? db_bitmap_find(tr, r->name) : NULL;

	if (!bm || (seq && bm->seq != seq))
		return NULL;
	db_track_fold(tr);
	r->total_words = hbitmap_serialized_words(bm->hb);
	r->count = hbitmap_count(bm->hb);
	r->granularity = hbitmap_granularity(bm->hb);
	r->flags = db_bitmap_flags(bm);
	return bm;
}

/*
 * A page of words at a time into a bounce buffer under dirtybit_lock, then
 * to the user without it: a fault on the user's buffer never stalls the
 * control plane.  The bitmap's change count must not move in between.
 *
 * Return: 0 on success; -EPERM without CAP_NET_ADMIN; -EFAULT; -EINVAL for
 * a bad size, name, reserved field or first word; -ENOMEM; -ENOENT if the
 * bitmap does not exist; -EAGAIN if it changed or went during the read;
 * -EINTR if the caller was killed.
 */
static long db_ioc_bitmap_read(void __user *argp)
{
	struct dirtybit_ioc_bitmap_read r;
	struct db_bitmap *bm;
	u64 __user *ubuf;
	u64 seq = 0, done = 0, want;
	__le64 *bounce;
	long ret = 0;

	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	if (r.size != sizeof(r) || !db_reserved_zero(r.reserved, ARRAY_SIZE(r.reserved)) ||
	    !memchr(r.name, '\0', sizeof(r.name)) || !r.name[0])
		return -EINVAL;
	ubuf = u64_to_user_ptr(r.buf);
	bounce = db_fault() ? NULL : kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	mutex_lock(&dirtybit_lock);
	bm = db_ioc_bitmap(&r, 0);
	if (!bm)
		ret = -ENOENT;
	else if (r.first_word > r.total_words)
		ret = -EINVAL;
	else
		seq = bm->seq;
	mutex_unlock(&dirtybit_lock);
	want = ret ? 0 : min(r.words, r.total_words - r.first_word);

	while (!ret && done < want) {
		u64 n = min_t(u64, want - done, DB_READ_CHUNK_WORDS);

		mutex_lock(&dirtybit_lock);
		bm = db_ioc_bitmap(&r, seq);
		ret = bm ? hbitmap_serialize(bm->hb, r.first_word + done, n, bounce) : -EAGAIN;
		mutex_unlock(&dirtybit_lock);
		if (!ret && copy_to_user(ubuf + done, bounce, n * sizeof(*bounce)))
			ret = -EFAULT;
		done += n;
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		cond_resched();
	}
	kfree(bounce);
	if (ret)
		return ret;
	r.words = want;
	return copy_to_user(argp, &r, sizeof(r)) ? -EFAULT : 0;
}

/* Return: that of the command's handler, or -ENOTTY for an unknown one. */
static long db_cdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case DIRTYBIT_IOC_VERSION:
		return db_ioc_version(argp);
	case DIRTYBIT_IOC_BITMAP_READ:
		return db_ioc_bitmap_read(argp);
	case DIRTYBIT_IOC_REGION_CREATE:
		return db_region_ioc_create(argp);
	case DIRTYBIT_IOC_REGION_OPEN:
		return db_region_ioc_open(argp);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations db_cdev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = db_cdev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice db_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = DIRTYBIT_DEVICE_NAME,
	.fops = &db_cdev_fops,
	.mode = 0600,
};

/* Return: 0 on success, -ENOMEM (injected) or the error of misc_register(). */
int __init db_cdev_init(void)
{
	if (db_fault())
		return -ENOMEM;
	return misc_register(&db_miscdev);
}

void db_cdev_exit(void)
{
	misc_deregister(&db_miscdev);
}
