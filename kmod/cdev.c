// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/dirtybit: the data plane's character device and its ioctls.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "dirtybit.h"

static long dirtybit_ioc_version(void __user *argp)
{
	struct dirtybit_ioc_version v;
	unsigned int i;

	if (copy_from_user(&v, argp, sizeof(v)))
		return -EFAULT;
	if (v.size != sizeof(v))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(v.reserved); i++)
		if (v.reserved[i])
			return -EINVAL;

	v.protocol = DIRTYBIT_GENL_VERSION;
	memset(v.module, 0, sizeof(v.module));
	strscpy(v.module, DIRTYBIT_VERSION, sizeof(v.module));

	return copy_to_user(argp, &v, sizeof(v)) ? -EFAULT : 0;
}

static long dirtybit_cdev_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case DIRTYBIT_IOC_VERSION:
		return dirtybit_ioc_version(argp);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations dirtybit_cdev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = dirtybit_cdev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice dirtybit_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = DIRTYBIT_DEVICE_NAME,
	.fops = &dirtybit_cdev_fops,
	.mode = 0600,
};

int __init dirtybit_cdev_init(void)
{
	return misc_register(&dirtybit_miscdev);
}

void dirtybit_cdev_exit(void)
{
	misc_deregister(&dirtybit_miscdev);
}
