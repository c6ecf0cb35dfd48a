// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit: module init/exit ladder.  Everything else lives in its own file.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <net/genetlink.h>

#include "dirtybit.h"

/*
 * Each step undone in reverse if a later one fails.
 *
 * Return: 0 once loaded, or the error of the step that failed (-ENOMEM,
 * -ENOENT: a tracepoint is missing, or a registration's).
 */
static int __init dirtybit_init(void)
{
	int ret;

	/* First: a fault injected into loading counts from here. */
	db_debug_init();
	ret = db_bitmap_init();
	if (ret)
		goto err_bitmap;

	ret = db_blk_init();
	if (ret)
		goto err_blk;

	ret = db_region_init();
	if (ret)
		goto err_region;

	ret = db_nl_owner_init();
	if (ret)
		goto err_owner;

	ret = db_genl_init();
	if (ret)
		goto err_genl;

	ret = db_cdev_init();
	if (ret)
		goto err_cdev;

	pr_info("version %s loaded\n", DIRTYBIT_VERSION);
	return 0;

err_cdev:
	db_genl_exit();
err_genl:
	db_nl_owner_exit();
err_owner:
	db_region_exit();
err_region:
	db_blk_exit();
err_blk:
	db_bitmap_exit();
err_bitmap:
	db_debug_exit();
	return ret;
}

static void __exit dirtybit_exit(void)
{
	db_cdev_exit();
	db_genl_exit();
	db_nl_owner_exit();
	db_region_exit();
	db_blk_exit();
	db_bitmap_exit();
	db_debug_exit();
	pr_info("unloaded\n");
}

module_init(dirtybit_init);
module_exit(dirtybit_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Dirty bitmaps for block devices and memory regions");
MODULE_VERSION(DIRTYBIT_VERSION);
MODULE_ALIAS_GENL_FAMILY(DIRTYBIT_GENL_NAME);
