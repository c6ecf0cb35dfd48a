// SPDX-License-Identifier: GPL-2.0
/*
 * Device faults under a running backup (the read errors and the full
 * target file system are in backup_test and backup_catalogue_test):
 *  - the source disk (scsi_debug, one second per 64 KiB read, 16 reads) is
 *    deleted once the backup has frozen its bitmap, well before its copy
 *    can end: the backup fails with the reason, leaves no
 *    file, and the bitmap (the target now gone) is reclaimed with every
 *    bit it had;
 *  - rmmod dirtybit while the backup holds its freeze: refused ("in use"),
 *    the backup completes, and the module unloads once it has.
 */
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "dm.h"
#include "model.h"
#include "needs.h"

#define CLI	"dirtybit"
#define DIR	"/tmp/bkf"

static struct run r;

/* The scsi_debug disk's node, "/dev/sdX"; "" if none. */
static void scsi_debug_disk(char *dev, size_t size)
{
	dev[0] = '\0';
	if (!run(&r, "ls /sys/bus/pseudo/drivers/scsi_debug/adapter0/host*/target*/*/block"))
		snprintf(dev, size, "/dev/%.*s", (int)strcspn(r.out, "\n"), r.out);
}

FIXTURE(sdebug) {
	struct db db;
	char dev[32];
	char id[16];		/* the disk's target id, which outlives it */
	struct model m;
};

FIXTURE_SETUP(sdebug)
{
	int i;

	ASSERT_EQ(0, dirtybit_load());
	sh("rmmod scsi_debug 2>/dev/null");
	ASSERT_EQ(0, run(&r, "modprobe sd_mod && modprobe scsi_debug dev_size_mb=64"))
		TH_LOG("%s", r.err);
	scsi_debug_disk(self->dev, sizeof(self->dev));
	ASSERT_NE(0, self->dev[0]);
	ASSERT_EQ(0, db_open(&self->db));
	i = db_attach(&self->db, self->dev);
	ASSERT_LT(0, i) TH_LOG("%s", self->db.nl.extack);
	snprintf(self->id, sizeof(self->id), "%d", i);
	ASSERT_EQ(0, db_add(&self->db, self->dev, "b", 0, 0));
	ASSERT_EQ(0, sh("rm -rf " DIR " && mkdir -p " DIR));
	model_init(&self->m, 64 * MiB, 65536);
}

FIXTURE_TEARDOWN(sdebug)
{
	db_detach(&self->db, self->id);
	nl_close(&self->db.nl);
	sh("rm -rf " DIR "; rmmod scsi_debug 2>/dev/null");
}

/* Every other 64 KiB cluster of the first 2 MiB: 16 reads of one second. */
static int sparse_writes(struct model *m, const char *dev)
{
	uint64_t off;

	for (off = 0; off < 2 * MiB; off += 128 * KiB) {
		if (write_direct(dev, off, 4096, 0x40 + (int)(off >> 17)))
			return -1;
		model_mark(m, off, 4096);
	}
	return 0;
}

TEST_F_TIMEOUT(sdebug, disk_deleted_mid_backup_fails_it_and_keeps_the_bits, 300)
{
	struct db_bitmap_info bi;
	const char *id = self->id;
	char name[16];
	pid_t pid;
	int status, i;

	ASSERT_EQ(0, sparse_writes(&self->m, self->dev));
	/* Slow reads, one cluster per command, so the deletion lands inside. */
	snprintf(name, sizeof(name), "%s", self->dev + 5);
	ASSERT_EQ(0, sh("echo 64 > /sys/block/%s/queue/max_sectors_kb && "
			"echo 250 > /sys/bus/pseudo/drivers/scsi_debug/delay", name));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		execlp("sh", "sh", "-c", CLI " backup $0 --threads 1 --full --bitmap b -o "
		       DIR "/full.qcow2 2>" DIR "/err", self->dev, NULL);
		_exit(127);
	}
	/* Frozen: the copy has begun. */
	for (i = 0; i < 3000; i++) {
		if (!db_info(&self->db, self->dev, "b", &bi) &&
		    (bi.flags & DIRTYBIT_BITMAP_F_FROZEN))
			break;
		usleep(1000);
	}
	ASSERT_NE(0, bi.flags & DIRTYBIT_BITMAP_F_FROZEN);
	ASSERT_EQ(0, sh("echo 1 > /sys/block/%s/device/delete", name));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	run_slurp(DIR "/err", r.err);
	EXPECT_EQ(1, WEXITSTATUS(status)) TH_LOG("%s", r.err);
	TH_LOG("backup said: %.*s", (int)strcspn(r.err, "\n"), r.err);
	EXPECT_NE(0, access(DIR "/full.qcow2", F_OK));
	EXPECT_NE(0, access(DIR "/full.qcow2.partial", F_OK));
	EXPECT_EQ(DIRTYBIT_TARGET_GONE, db_target_state(&self->db, id));
	/* Reclaimed (by the CLI, or by the module when it exited). */
	for (i = 0; i < 500; i++) {
		if (!db_info(&self->db, id, "b", &bi) && !(bi.flags & DIRTYBIT_BITMAP_F_FROZEN))
			break;
		usleep(10000);
	}
	EXPECT_EQ(0, bi.flags & DIRTYBIT_BITMAP_F_FROZEN);
	EXPECT_EQ(model_count(&self->m), bi.count);
	EXPECT_STREQ("", model_compare(&self->db, id, "b", &self->m) ?: "");
}

TEST_F_TIMEOUT(sdebug, rmmod_during_a_backup_is_refused_until_it_ends, 300)
{
	struct db_bitmap_info bi;

	ASSERT_EQ(0, sparse_writes(&self->m, self->dev));
	/* Closed, so only the freeze holds the module. */
	nl_close(&self->db.nl);
	EXPECT_EQ(0, run(&r, CLI " backup %s --full --bitmap b -o " DIR "/full.qcow2 "
			 "--exec-frozen 'rmmod dirtybit 2>" DIR "/rmmod; echo $? >" DIR "/rc'",
			 self->dev)) TH_LOG("%s", r.err);
	run_slurp(DIR "/rc", r.out);
	EXPECT_NE(0, atoi(r.out)) TH_LOG("rmmod during the backup succeeded");
	run_slurp(DIR "/rmmod", r.out);
	TH_LOG("rmmod during the backup: %.*s", (int)strcspn(r.out, "\n"), r.out);
	ASSERT_TRUE(dirtybit_loaded());
	ASSERT_EQ(0, db_open(&self->db));
	ASSERT_EQ(0, db_info(&self->db, self->dev, "b", &bi));
	EXPECT_EQ(0, bi.count);
	EXPECT_EQ(DIRTYBIT_BITMAP_F_RECORDING, bi.flags);
	ASSERT_EQ(0, run(&r, CLI " restore " DIR "/full.qcow2 -o " DIR "/r.raw"));
	EXPECT_EQ(0, run(&r, "cmp %s " DIR "/r.raw", self->dev));
	/* The freeze over, the module goes (once nothing else holds it). */
	EXPECT_EQ(0, db_detach(&self->db, self->dev));
	nl_close(&self->db.nl);
	EXPECT_EQ(0, dirtybit_unload());
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, db_open(&self->db));
}

NEEDS_HARNESS_MAIN("dirtybit scsi_debug sd_mod dm-mod", "dirtybit dmsetup")
