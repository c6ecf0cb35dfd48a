// SPDX-License-Identifier: GPL-2.0
/*
 * Test knobs in debugfs, /sys/kernel/debug/dirtybit/:
 *
 *   objects   live objects by kind, one "name count" line each: what the
 *             robustness tests compare before and after hostile input
 *             ("block_probes": how many block probes are registered).
 *   fail_nth  only with fault_inject=Y.  Writing N makes the Nth fault
 *             point that the writing process passes from then on fail, once
 *             (the kernel's own /proc/self/task/TID/fail-nth needs
 *             CONFIG_FAULT_INJECTION, which Debian's kernels lack).
 *             Reading gives the points still to pass: 0 once it fired, or
 *             when nothing is armed.  Writing 0 disarms.
 *   faults    how many faults have been injected since the module loaded.
 *
 * fail_load_nth=N (with fault_inject=Y) arms fail_nth for the loading
 * process before the first step of the init ladder.
 *
 * Fault points (db_fault()) sit at every allocation and fallible step of
 * attach, detach, bitmap commands, transactions, dumps, ioctls and region
 * creation, and in the block marking path where a write would otherwise be
 * accounted individually: there, an injected fault takes the degraded path,
 * which marks more, never less.  A test walks N = 1, 2, ... until an
 * operation passes all its points, checking after each failure that
 * nothing leaked and no bit changed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/panic.h>
#include <linux/sched.h>
#include <linux/seq_file.h>

#include "dirtybit.h"

static bool fault_inject;
module_param(fault_inject, bool, 0444);
MODULE_PARM_DESC(fault_inject,
		 "Offer debugfs dirtybit/fail_nth to inject faults (default N; for tests only)");

static unsigned int fail_load_nth;
module_param(fail_load_nth, uint, 0444);
MODULE_PARM_DESC(fail_load_nth,
		 "With fault_inject: fail the Nth fault point of loading the module (tests only)");

atomic_long_t db_objects[DB_OBJ_NR];

static const char * const db_object_names[DB_OBJ_NR] = {
	[DB_OBJ_TARGET] = "targets",
	[DB_OBJ_BITMAP] = "bitmaps",
	[DB_OBJ_REC] = "recs",
};

static struct dentry *db_debugfs;
atomic_t db_fail_nth = ATOMIC_INIT(0);
static pid_t db_fail_tgid;
static atomic_long_t db_faults_injected = ATOMIC_LONG_INIT(0);

/*
 * db_fault() once armed: true when this fault point must fail.  The armed
 * process only: marking in other tasks and in interrupt context goes on
 * undisturbed.
 */
bool db_fault_armed(void)
{
	/* Pairs with the release in db_fail_nth_set(): the tgid is the armer's. */
	smp_rmb();
	if (!in_task() || task_tgid_nr(current) != READ_ONCE(db_fail_tgid))
		return false;
	if (atomic_dec_if_positive(&db_fail_nth) != 0)
		return false;
	atomic_long_inc(&db_faults_injected);
	return true;
}

/*
 * A knob for tests only that loses writes or makes operations fail was set
 * at load: say so, and taint the kernel.  TAINT_USER with lockdep left on:
 * its reports stay trustworthy, and the rig wants it on to the end.
 */
void db_test_knob_taint(const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_warn("%pV (for tests only)\n", &vaf);
	va_end(args);
	add_taint(TAINT_USER, LOCKDEP_STILL_OK);
}

/* Return: 0 (a read cannot fail). */
static int db_fail_nth_get(void *data, u64 *val)
{
	*val = atomic_read(&db_fail_nth);
	return 0;
}

static void db_fail_nth_arm(unsigned int n)
{
	atomic_set(&db_fail_nth, 0);
	WRITE_ONCE(db_fail_tgid, task_tgid_nr(current));
	/* The tgid before the count: pairs with the smp_rmb() in db_fault_armed(). */
	smp_wmb();
	atomic_set(&db_fail_nth, n);
}

/* Return: 0 once armed (0 disarms), -EINVAL for a count above INT_MAX. */
static int db_fail_nth_set(void *data, u64 val)
{
	if (val > INT_MAX)
		return -EINVAL;
	db_fail_nth_arm(val);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(db_fail_nth_fops, db_fail_nth_get, db_fail_nth_set, "%llu\n");

/* Return: 0 (a read cannot fail). */
static int db_faults_get(void *data, u64 *val)
{
	*val = atomic_long_read(&db_faults_injected);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(db_faults_fops, db_faults_get, NULL, "%llu\n");

/* Return: 0 (seq_file retries with a larger buffer by itself). */
static int db_objects_show(struct seq_file *m, void *v)
{
	int i;

	for (i = 0; i < DB_OBJ_NR; i++)
		seq_printf(m, "%s %ld\n", db_object_names[i], atomic_long_read(&db_objects[i]));
	seq_printf(m, "hbitmaps %llu\n", hbitmap_live());
	seq_printf(m, "region_pages %ld\n", db_region_pages_held());
	seq_printf(m, "block_probes %u\n", db_blk_probes());
	return 0;
}

DEFINE_SHOW_ATTRIBUTE(db_objects);

/* debugfs is optional: the module works the same without it. */
void db_debug_init(void)
{
	db_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("objects", 0400, db_debugfs, NULL, &db_objects_fops);
	if (!fault_inject)
		return;
	debugfs_create_file_unsafe("fail_nth", 0600, db_debugfs, NULL, &db_fail_nth_fops);
	debugfs_create_file_unsafe("faults", 0400, db_debugfs, NULL, &db_faults_fops);
	db_test_knob_taint("fault_inject=Y: operations fail on request (dirtybit/fail_nth)");
	if (fail_load_nth <= INT_MAX)
		db_fail_nth_arm(fail_load_nth);
}

void db_debug_exit(void)
{
	debugfs_remove(db_debugfs);
	atomic_set(&db_fail_nth, 0);
}
