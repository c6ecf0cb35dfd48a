// SPDX-License-Identifier: GPL-2.0
/*
 * Backups that a mistake cannot destroy: an output naming an image of its
 * own chain, a chain deeper than restore reads, --clear bitmaps of a
 * failed backup, an output on the file system being frozen, signals at
 * any point, a restore onto a mounted device, a .partial symlink, and a
 * bitmap that became inconsistent during the backup.  Each is refused
 * before anything changes, or fails without losing a bit, with the
 * reason.  On a tracked 64 MiB brd disk (/dev/ram0); /dev/ram1 holds the
 * ext4 file system the freezing tests freeze.
 */
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "db.h"
#include "dm.h"
#include "model.h"
#include "module.h"
#include "needs.h"
#include "run.h"

#define CLI	"dirtybit"
#define DEV	"/dev/ram0"
#define FSDEV	"/dev/ram1"
#define SIZE	(64UL << 20)
#define DIR	"/tmp/bs"
#define MNT	"/mnt/bs"
#define KiB_4	4096

static struct run r;

FIXTURE(safe) {
	struct db db;
};

FIXTURE_SETUP(safe)
{
	ASSERT_EQ(0, dirtybit_load());
	system("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, system("modprobe brd rd_nr=2 rd_size=65536"));
	ASSERT_EQ(0, db_open(&self->db));
	ASSERT_LE(0, db_attach(&self->db, DEV)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, DEV, "b", 0, 0));
	ASSERT_EQ(0, system("rm -rf " DIR " && mkdir -p " DIR " " MNT));
	ASSERT_EQ(0, write_direct(DEV, 0, 1 << 20, 0x11));
}

FIXTURE_TEARDOWN(safe)
{
	system("fsfreeze --unfreeze " MNT " 2>/dev/null; umount " MNT " 2>/dev/null");
	db_detach(&self->db, DEV);
	db_detach(&self->db, FSDEV);
	nl_close(&self->db.nl);
	system("rm -rf " DIR "; rmmod brd 2>/dev/null");
}

/* Dirty bytes of bitmap @name, or -1. */
static long long bitmap_count(struct db *db, const char *name)
{
	struct db_bitmap_info bi;

	return db_info(db, DEV, name, &bi) ? -1 : (long long)bi.count;
}

/* Bitmap @name is frozen (1), not (0), or missing (-1). */
static int bitmap_frozen(struct db *db, const char *name)
{
	struct db_bitmap_info bi;

	return db_info(db, DEV, name, &bi) ? -1 : !!(bi.flags & DIRTYBIT_BITMAP_F_FROZEN);
}

/* An ext4 file system on FSDEV, mounted at MNT. */
static int mount_fs(void)
{
	return system(MKE2FS " -q -F -t ext4 -E nodiscard,lazy_itable_init=0,"
		      "lazy_journal_init=0 " FSDEV " && mount -t ext4 " FSDEV " " MNT);
}

/* Not frozen: a thaw of a thawed file system fails. */
static bool fs_thawed(void)
{
	return system("fsfreeze --unfreeze " MNT " 2>/dev/null") != 0;
}

/*
 * A backup that refuses to write on the file system it freezes returns at
 * once.  One that does not would wait for the thaw forever: this frozen
 * backup of a helper thaws MNT after 20 s (on code without the check), so
 * the test ends either way.  Returns the backup's exit status.
 */
static int backup_onto_frozen(const char *output)
{
	pid_t rescue = fork();
	int ret;

	if (!rescue) {
		sleep(20);
		execl("/bin/sh", "sh", "-c", "fsfreeze --unfreeze " MNT, (char *)NULL);
		_exit(127);
	}
	ret = run(&r, CLI " backup " DEV " --bitmap b --full --fsfreeze " MNT " -o %s", output);
	kill(rescue, SIGKILL);
	waitpid(rescue, NULL, 0);
	return ret;
}

/*
 * -o naming the backing file, an image deeper in its chain, a hard link to
 * one, or a .partial that is one: refused before the cut (the bitmap keeps
 * its bits and is not frozen), and every image of the chain stays intact.
 */
TEST_F(safe, output_naming_an_image_of_the_chain_is_refused)
{
	static const char *const outputs[] = {
		DIR "/i1.qcow2", DIR "/f.qcow2", DIR "/hard.qcow2", DIR "/x.qcow2",
	};
	long long count;
	unsigned int i;

	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --full -o " DIR "/f.qcow2"))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, write_direct(DEV, 8 << 20, 1 << 20, 0x22));
	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --backing " DIR "/f.qcow2 -o "
			 DIR "/i1.qcow2")) TH_LOG("%s", r.err);
	ASSERT_EQ(0, write_direct(DEV, 16 << 20, 1 << 20, 0x33));
	ASSERT_EQ(0, run(&r, "cd " DIR " && ln f.qcow2 hard.qcow2 && ln f.qcow2 x.qcow2.partial"
			 " && md5sum f.qcow2 i1.qcow2 > sums"));
	count = bitmap_count(&self->db, "b");
	EXPECT_EQ(1 << 20, count);
	for (i = 0; i < ARRAY_SIZE(outputs); i++) {
		EXPECT_EQ(1, run(&r, CLI " backup " DEV " --bitmap b --backing " DIR "/i1.qcow2 "
				 "-o %s", outputs[i])) TH_LOG("-o %s: %s", outputs[i], r.out);
		EXPECT_NE(NULL, strstr(r.err, "an image of the backing chain"))
			TH_LOG("-o %s: %s", outputs[i], r.err);
		EXPECT_EQ(count, bitmap_count(&self->db, "b"));
		EXPECT_EQ(0, bitmap_frozen(&self->db, "b"));
	}
	/* restore does not write into its own chain either. */
	EXPECT_EQ(1, run(&r, CLI " restore " DIR "/i1.qcow2 -o " DIR "/f.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "an image of the chain")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, "cd " DIR " && md5sum -c sums && test -e x.qcow2.partial"))
		TH_LOG("%s%s", r.out, r.err);
	/* Two outputs of one group that collide. */
	ASSERT_LE(0, db_attach(&self->db, FSDEV));
	ASSERT_EQ(0, db_add(&self->db, FSDEV, "b", 0, 0));
	EXPECT_EQ(1, run(&r, CLI " backup " DEV " " FSDEV " --bitmap b --full -o " DIR
			 "/g.qcow2 -o " DIR "/../bs/g.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "collide")) TH_LOG("%s", r.err);
	EXPECT_EQ(count, bitmap_count(&self->db, "b"));
	/* The chain goes on, and restores to the device. */
	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --backing " DIR "/i1.qcow2 -o "
			 DIR "/i2.qcow2")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, CLI " restore " DIR "/i2.qcow2 -o " DIR "/r.raw && cmp " DEV " "
			 DIR "/r.raw")) TH_LOG("%s%s", r.out, r.err);
}

/*
 * restore reads chains of at most 64 images: the backup that would make
 * the 65th is refused before the cut, saying what to do, and the chain of
 * 64 restores.
 */
TEST_F_TIMEOUT(safe, chain_deeper_than_restore_reads_is_refused_before_the_cut, 600)
{
	char prev[64] = DIR "/0.qcow2", out[64];
	long long count;
	int i;

	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --full -o %s", prev))
		TH_LOG("%s", r.err);
	for (i = 1; i < 64; i++) {
		ASSERT_EQ(0, write_direct(DEV, (uint64_t)i << 20, KiB_4, i));
		snprintf(out, sizeof(out), DIR "/%d.qcow2", i);
		ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --backing %s -o %s", prev,
				 out)) TH_LOG("image %d: %s", i + 1, r.err);
		strcpy(prev, out);
	}
	ASSERT_EQ(0, write_direct(DEV, 50 << 20, KiB_4, 0x77));
	count = bitmap_count(&self->db, "b");
	EXPECT_EQ(1, run(&r, CLI " backup " DEV " --bitmap b --backing %s -o " DIR "/64.qcow2",
			 prev));
	EXPECT_NE(NULL, strstr(r.err, "restore reads at most 64")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "--full")) TH_LOG("%s", r.err);
	EXPECT_NE(0, access(DIR "/64.qcow2", F_OK));
	EXPECT_EQ(count, bitmap_count(&self->db, "b"));
	EXPECT_EQ(0, run(&r, CLI " restore %s -o " DIR "/r.raw", prev)) TH_LOG("%s", r.err);
	/* A new chain starts with a full backup. */
	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --full -o " DIR "/new.qcow2"))
		TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, CLI " backup verify " DIR "/new.qcow2 " DEV)) TH_LOG("%s", r.err);
}

/*
 * A --clear bitmap is emptied at the cut only if the backup succeeds: one
 * that fails (here its --exec-frozen command) gives it back every bit, as
 * it does the --bitmap.
 */
TEST_F(safe, clear_bitmaps_keep_their_bits_when_the_backup_fails)
{
	long long count;

	ASSERT_EQ(0, db_add(&self->db, DEV, "c", 0, 0));
	ASSERT_EQ(0, write_direct(DEV, 4 << 20, 256 << 10, 0x44));
	count = bitmap_count(&self->db, "c");
	EXPECT_EQ(256 << 10, count);
	EXPECT_EQ(1, run(&r, CLI " backup " DEV " --bitmap b --clear c --full --exec-frozen false "
			 "-o " DIR "/f.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "cancelled")) TH_LOG("%s", r.err);
	EXPECT_EQ(count, bitmap_count(&self->db, "c"));
	EXPECT_EQ(0, bitmap_frozen(&self->db, "c"));
	/* Succeeding, it is cleared at the cut: only the write during it stays. */
	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --clear c --full -o " DIR
			 "/f.qcow2 --exec-frozen 'dd if=/dev/zero of=" DEV " bs=64k count=1 "
			 "seek=320 oflag=direct 2>/dev/null'")) TH_LOG("%s", r.err);
	EXPECT_EQ(64 << 10, bitmap_count(&self->db, "c"));
	EXPECT_EQ(64 << 10, bitmap_count(&self->db, "b"));
	EXPECT_EQ(2, run(&r, CLI " backup " DEV " --bitmap b --clear b --full -o " DIR
			 "/y.qcow2"));
	EXPECT_EQ(2, run(&r, CLI " backup " DEV " --bitmap b --clear c --clear c --full -o " DIR
			 "/y.qcow2"));
}

/*
 * An output on the file system --fsfreeze freezes would wait for the thaw
 * forever (uninterruptibly): refused before anything is frozen.
 */
TEST_F_TIMEOUT(safe, output_on_the_frozen_file_system_is_refused, 120)
{
	ASSERT_EQ(0, mount_fs());
	EXPECT_EQ(1, backup_onto_frozen(MNT "/f.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "is on the file system --fsfreeze")) TH_LOG("%s", r.err);
	EXPECT_TRUE(fs_thawed());
	EXPECT_NE(0, access(MNT "/f.qcow2", F_OK));
	EXPECT_NE(0, access(MNT "/f.qcow2.partial", F_OK));
	EXPECT_EQ(1 << 20, bitmap_count(&self->db, "b"));
	EXPECT_EQ(0, bitmap_frozen(&self->db, "b"));
}

/*
 * The same on btrfs, with the output on another subvolume: its st_dev
 * differs, but FIFREEZE freezes the whole file system (compared by super
 * block).
 */
TEST_F_TIMEOUT(safe, output_on_a_subvolume_of_the_frozen_btrfs_is_refused, 120)
{
	ASSERT_EQ(0, system("modprobe btrfs && mkfs.btrfs -q -f -M " FSDEV " >/dev/null && "
			    "mount -t btrfs " FSDEV " " MNT " && btrfs -q subvolume create "
			    MNT "/sub"));
	ASSERT_EQ(0, run(&r, "[ \"$(stat -c %%d " MNT ")\" != \"$(stat -c %%d " MNT "/sub)\" ]"));
	EXPECT_EQ(1, backup_onto_frozen(MNT "/sub/f.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "is on the file system --fsfreeze")) TH_LOG("%s", r.err);
	EXPECT_TRUE(fs_thawed());
	EXPECT_NE(0, access(MNT "/sub/f.qcow2.partial", F_OK));
	EXPECT_EQ(0, bitmap_frozen(&self->db, "b"));
}

/*
 * Any signal that would end the backup — during the copy, the frozen
 * command, the finish — cancels it instead: the file system is thawed, the
 * bitmap reclaimed, no output stays, exit 1.  SIGXFSZ (the output passed
 * the file size limit) fails the write that caused it.
 */
TEST_F(safe, signals_cancel_the_backup_and_thaw)
{
	static const char *const sigs[] = { "TERM", "QUIT", "USR1", "ALRM", "HUP", "PIPE" };
	unsigned int i;

	ASSERT_EQ(0, mount_fs());
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		EXPECT_EQ(1, run(&r, CLI " backup " DEV " --bitmap b --full --fsfreeze " MNT
				 " --exec-frozen 'kill -%s $PPID; sleep 1' -o " DIR "/s.qcow2",
				 sigs[i])) TH_LOG("SIG%s: %s", sigs[i], r.err);
		EXPECT_NE(NULL, strstr(r.err, "interrupted")) TH_LOG("SIG%s: %s", sigs[i], r.err);
		EXPECT_TRUE(fs_thawed()) TH_LOG("SIG%s left " MNT " frozen", sigs[i]);
		EXPECT_EQ(1 << 20, bitmap_count(&self->db, "b"));
		EXPECT_EQ(0, bitmap_frozen(&self->db, "b"));
		EXPECT_NE(0, access(DIR "/s.qcow2", F_OK));
		EXPECT_NE(0, access(DIR "/s.qcow2.partial", F_OK));
	}
	/* At most 1 MiB (ulimit -f 1024: 512 KiB or 1 MiB blocks by shell): the copy fails. */
	EXPECT_EQ(1, run(&r, "ulimit -f 1024 && " CLI " backup " DEV " --bitmap b --full "
			 "--fsfreeze " MNT " -o " DIR "/s.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "File too large")) TH_LOG("%s", r.err);
	EXPECT_TRUE(fs_thawed());
	EXPECT_EQ(1 << 20, bitmap_count(&self->db, "b"));
	EXPECT_NE(0, access(DIR "/s.qcow2.partial", F_OK));
}

/*
 * A signal while the frozen command hangs: the command (its whole process
 * group) is stopped too, so the backup ends and thaws now, not when the
 * command would have ended.
 */
TEST_F_TIMEOUT(safe, signal_stops_a_hanging_frozen_command, 120)
{
	int status = 0, i;
	pid_t cli;

	ASSERT_EQ(0, mount_fs());
	cli = fork();
	if (!cli) {
		freopen(DIR "/err.txt", "w", stderr);
		execlp(CLI, CLI, "backup", DEV, "--bitmap", "b", "--full", "--fsfreeze", MNT,
		       "--exec-frozen", "touch " DIR "/started; sleep 60", "-o", DIR "/h.qcow2",
		       (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 3000 && access(DIR "/started", F_OK); i++)
		usleep(10000);
	ASSERT_EQ(0, access(DIR "/started", F_OK));
	kill(cli, SIGTERM);
	ASSERT_EQ(cli, waitpid(cli, &status, 0));
	EXPECT_EQ(1, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	EXPECT_EQ(0, run(&r, "grep -q interrupted " DIR "/err.txt")) TH_LOG("%s",
		(run_slurp(DIR "/err.txt", r.err), r.err));
	EXPECT_TRUE(fs_thawed());
	EXPECT_EQ(1 << 20, bitmap_count(&self->db, "b"));
	EXPECT_EQ(0, bitmap_frozen(&self->db, "b"));
	EXPECT_NE(0, access(DIR "/h.qcow2", F_OK));
}

/* restore opens a device exclusively: not one that is mounted. */
TEST_F(safe, restore_onto_a_mounted_device_is_refused)
{
	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --full -o " DIR "/f.qcow2"))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, mount_fs());
	ASSERT_EQ(0, system("echo data > " MNT "/file && sync"));
	EXPECT_EQ(1, run(&r, CLI " restore " DIR "/f.qcow2 -o " FSDEV));
	EXPECT_NE(NULL, strstr(r.err, "Device or resource busy")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, system("umount " MNT " && mount -t ext4 " FSDEV " " MNT " && grep -q data "
			    MNT "/file"));
	/* Unmounted, it restores. */
	ASSERT_EQ(0, system("umount " MNT));
	EXPECT_EQ(0, run(&r, CLI " restore " DIR "/f.qcow2 -o " FSDEV " && cmp " DEV " " FSDEV))
		TH_LOG("%s%s", r.out, r.err);
}

/* A symlink left at OUTPUT.partial is not followed (nor its target written). */
TEST_F(safe, partial_symlink_is_not_followed)
{
	ASSERT_EQ(0, system("echo precious > " DIR "/victim && ln -s victim " DIR
			    "/f.qcow2.partial"));
	EXPECT_EQ(1, run(&r, CLI " backup " DEV " --bitmap b --full -o " DIR "/f.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "f.qcow2.partial")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, system("grep -qx precious " DIR "/victim"));
	EXPECT_EQ(1 << 20, bitmap_count(&self->db, "b"));
}

/*
 * The directory's fsync after the rename fails (an LD_PRELOAD shim): the
 * output is complete but not known to survive a crash, so the backup
 * fails and reclaims (the bitmap keeps its bits), and keeps the output.
 */
TEST_F(safe, unsynced_rename_is_not_claimed)
{
	ASSERT_EQ(0, access("/rig/bin/fail_dirsync.so", R_OK));
	EXPECT_EQ(1, run(&r, "LD_PRELOAD=/rig/bin/fail_dirsync.so " CLI " backup " DEV
			 " --bitmap b --full -o " DIR "/f.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "may not survive a crash")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, CLI " backup verify " DIR "/f.qcow2 " DEV)) TH_LOG("%s", r.err);
	EXPECT_NE(0, access(DIR "/f.qcow2.partial", F_OK));
	EXPECT_EQ(1 << 20, bitmap_count(&self->db, "b"));
	EXPECT_EQ(0, bitmap_frozen(&self->db, "b"));
}

#define SMALL	"/dev/mapper/dbsafe"

/*
 * The device grows during the backup: the bitmap became inconsistent and
 * cannot abdicate.  The backup says so — the next incremental is refused
 * and a full backup is needed — not that the next incremental copies the
 * bits again; and in "always" mode it does not both keep the partial image
 * and ask for it to be removed.
 */
TEST_F(safe, bitmap_inconsistent_during_the_backup_says_take_a_full_backup)
{
	const char *grow = "'" DMSETUP " suspend dbsafe && echo 0 131072 linear " DEV " 0 | "
			   DMSETUP " load dbsafe && " DMSETUP " resume dbsafe";
	const char *shrink = DMSETUP " suspend dbsafe && echo 0 65536 linear " DEV " 0 | "
			     DMSETUP " load dbsafe && " DMSETUP " resume dbsafe";

	ASSERT_EQ(0, run(&r, DMSETUP " create dbsafe --table '0 65536 linear " DEV " 0'"))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " attach " SMALL " && " CLI " bitmap add " SMALL " s"))
		TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " backup " SMALL " --bitmap s --full -o " DIR "/f.qcow2 "
			 "--exec-frozen %s'", grow));
	EXPECT_NE(NULL, strstr(r.err, "inconsistent")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "full backup")) TH_LOG("%s", r.err);
	EXPECT_EQ(NULL, strstr(r.err, "copies them again")) TH_LOG("%s", r.err);
	/* The next incremental is refused, as the message said. */
	EXPECT_EQ(1, run(&r, CLI " backup " SMALL " --bitmap s --backing " DIR "/f.qcow2 -o "
			 DIR "/i.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "inconsistent")) TH_LOG("%s", r.err);

	/* always, and the backup itself fails: one consistent account. */
	ASSERT_EQ(0, run(&r, CLI " detach " SMALL " && %s && " CLI " attach " SMALL " && " CLI
			 " bitmap add " SMALL " s", shrink)) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " backup " SMALL " --bitmap s --full --bitmap-mode always "
			 "-o " DIR "/a.qcow2 --exec-frozen %s && false'", grow));
	EXPECT_NE(NULL, strstr(r.err, "inconsistent")) TH_LOG("%s", r.err);
	EXPECT_FALSE(strstr(r.err, "kept with") && strstr(r.err, "remove"))
		TH_LOG("%s", r.err);
	EXPECT_EQ(!!strstr(r.err, "kept with"), !access(DIR "/a.qcow2", F_OK)) TH_LOG("%s", r.err);
	run(&r, CLI " detach " SMALL "; " DMSETUP " remove dbsafe");
}

NEEDS_HARNESS_MAIN("dirtybit brd dm-mod ext4 btrfs", "dirtybit dmsetup mke2fs mkfs.btrfs btrfs")
