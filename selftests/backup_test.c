// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit backup / restore on a tracked brd disk: the differential
 * invariant (a chain of backups taken in CYCLES rounds while a writer runs,
 * with failed and SIGKILLed backups among them, restores to the device's
 * bytes), and the refusals.
 */
#include <signal.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "db.h"
#include "dm.h"
#include "module.h"
#include "needs.h"
#include "run.h"

#define CLI	"dirtybit"
#define DEV	"/dev/ram0"
#define SIZE	(64UL << 20)
#define DIR	"/tmp/bk"
#define IO_URING_OFF	"/proc/sys/kernel/io_uring_disabled"	/* 6.6+ */
#define EXT4	DIR "/ext4"
/* Rounds per kernel: 50 per make check; make soak sets BACKUP_CYCLES. */
#define CYCLES	(getenv("BACKUP_CYCLES") ? atoi(getenv("BACKUP_CYCLES")) : 25)

static struct run r;

FIXTURE(backup) {
	struct db db;
	pid_t writer;
};

/*
 * A discard of [@off, @off + @len), page aligned; write-zeroes where the
 * disk has no discard.  Both must be tracked as writes.
 */
static int discard(int fd, off_t off, size_t len)
{
	uint64_t range[2] = { (uint64_t)off & ~4095ULL, (len + 4095) & ~4095ULL };

	if (range[0] + range[1] > SIZE)
		range[1] = SIZE - range[0];
	if (!ioctl(fd, BLKDISCARD, range))
		return 0;
	return errno == EOPNOTSUPP ? ioctl(fd, BLKZEROOUT, range) : -1;
}

/* Random writes of 512 B to 64 KiB, O_DIRECT or buffered + fsync; discards. */
static void writer(unsigned int seed, int forever)
{
	static unsigned char buf[64 << 10] __attribute__((aligned(4096)));
	int direct = open(DEV, O_WRONLY | O_DIRECT), plain = open(DEV, O_WRONLY);
	int i;

	for (i = 0; forever || i < 200; i++) {
		size_t len = (1 + rand_r(&seed) % 128) * 512;
		off_t off = (off_t)(rand_r(&seed) % ((SIZE - len) / 512)) * 512;
		int fd = rand_r(&seed) % 2 ? direct : plain;

		memset(buf, rand_r(&seed), len);
		if (!(rand_r(&seed) % 16)) {
			if (discard(plain, off, len))
				_exit(1);
			continue;
		}
		if (pwrite(fd, buf, len, off) != (ssize_t)len)
			_exit(1);
		if (fd == plain && !(i % 16))
			fsync(plain);
		if (forever && !(i % 8))
			usleep(1000);
	}
	fsync(plain);
	close(direct);
	close(plain);
}

FIXTURE_SETUP(backup)
{
	ASSERT_EQ(0, dirtybit_load());
	system("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, system("modprobe brd rd_nr=1 rd_size=65536"));
	ASSERT_EQ(0, db_open(&self->db));
	ASSERT_LE(0, db_attach(&self->db, DEV)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, DEV, "b", 0, 0));
	ASSERT_EQ(0, system("rm -rf " DIR " && mkdir -p " DIR));
	writer(1, 0);
	self->writer = 0;
}

FIXTURE_TEARDOWN(backup)
{
	if (self->writer > 0) {
		kill(self->writer, SIGKILL);
		waitpid(self->writer, NULL, 0);
	}
	umount(DIR "/small");
	umount(EXT4);		/* its loop device goes with it (mount -o loop) */
	/* On again, whatever a test that turned io_uring off left. */
	if (!access(IO_URING_OFF, W_OK))
		system("echo 0 > " IO_URING_OFF);
	db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_RECLAIM, DEV, "b");
	db_detach(&self->db, DEV);
	nl_close(&self->db.nl);
	system("rm -rf " DIR "; rmmod brd 2>/dev/null");
}

static void start_writer(FIXTURE_DATA(backup) *self, unsigned int seed)
{
	self->writer = fork();
	if (!self->writer) {
		writer(seed, 1);
		_exit(0);
	}
}

static void stop_writer(FIXTURE_DATA(backup) *self)
{
	kill(self->writer, SIGKILL);
	waitpid(self->writer, NULL, 0);
	self->writer = 0;
}

/* The bitmap is recording and not frozen (a failed backup reclaimed). */
static int bitmap_free(void)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (run(&r, CLI " bitmap list " DEV) || !strstr(r.out, " b "))
			return 0;
		if (!strstr(r.out, "frozen"))
			return 1;
		usleep(100000);
	}
	return 0;
}

/* Long: the rounds under TCG, and make soak runs hundreds. */
TEST_F_TIMEOUT(backup, chain_with_failed_and_killed_backups_restores_the_device, 7200)
{
	char prev[64] = DIR "/full.qcow2", top[64];
	int cycle, ok = 0, failed = 0, killed = 0;

	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --full -o %s", prev))
		TH_LOG("%s", r.err);
	for (cycle = 0; cycle < CYCLES; cycle++) {
		snprintf(top, sizeof(top), DIR "/inc%d.qcow2", cycle);
		start_writer(self, 100 + cycle);
		usleep(50000);
		if (cycle % 4 == 1) {
			/* Fails: the output file system fills up. */
			ASSERT_EQ(0, system("mkdir -p " DIR "/small && mount -t tmpfs -o size=256k "
					    "tmpfs " DIR "/small"));
			EXPECT_EQ(1, run(&r, CLI " backup " DEV " --bitmap b --backing %s "
					 "--allow-backing-outside -o " DIR "/small/x.qcow2", prev));
			EXPECT_NE(NULL, strstr(r.err, "No space")) TH_LOG("%s", r.err);
			EXPECT_NE(0, access(DIR "/small/x.qcow2", F_OK));
			EXPECT_NE(0, access(DIR "/small/x.qcow2.partial", F_OK));
			umount(DIR "/small");
			failed++;
		} else if (cycle % 4 == 2) {
			/* Killed outright in the middle: the kernel reclaims. */
			pid_t b = fork();

			if (!b) {
				freopen("/dev/null", "w", stderr);
				execlp(CLI, CLI, "backup", DEV, "--bitmap", "b", "--backing", prev,
				       "-o", top, (char *)NULL);
				_exit(127);
			}
			usleep(20000 * (cycle % 3));
			kill(b, SIGKILL);
			waitpid(b, NULL, 0);
			if (!access(top, F_OK)) {	/* it finished first: part of the chain */
				strcpy(prev, top);
				ok++;
			} else {
				killed++;
			}
		} else {
			ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --backing %s -o %s",
					 prev, top)) TH_LOG("%s", r.err);
			strcpy(prev, top);
			ok++;
		}
		stop_writer(self);
		ASSERT_TRUE(bitmap_free()) TH_LOG("%s", r.out);
	}
	/* Writers stopped: a last incremental, then the chain is the device. */
	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --backing %s -o " DIR "/last.qcow2",
			 prev)) TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " restore " DIR "/last.qcow2 -o " DIR "/restored.raw"))
		TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, "cmp " DEV " " DIR "/restored.raw")) TH_LOG("%s", r.out);
	EXPECT_EQ(0, run(&r, CLI " backup verify " DIR "/last.qcow2 " DEV)) TH_LOG("%s", r.err);
	TH_LOG("%d incrementals, %d failed (ENOSPC), %d killed", ok, failed, killed);
	/* For qemu-img on the host: the chain and the device, in slot 1 of the
	 * rig's export disk (tests/host/export_check.py).
	 */
	ASSERT_EQ(0, run(&r, "cp " DEV " " DIR "/device.raw && cd " DIR " && "
			 "tar -cf - *.qcow2 device.raw | dd of=/dev/vdc bs=1M seek=256 "
			 "conv=notrunc && sync")) TH_LOG("%s", r.err);
}

TEST_F(backup, never_mode_keeps_the_bits)
{
	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --full -o " DIR "/full.qcow2"));
	writer(7, 0);
	ASSERT_EQ(0, run(&r, CLI " -j backup " DEV " --bitmap b --backing " DIR "/full.qcow2 "
			 "--bitmap-mode never -o " DIR "/a.qcow2"));
	/* The same clusters again: nothing was taken from the bitmap. */
	ASSERT_EQ(0, run(&r, CLI " -j backup " DEV " --bitmap b --backing " DIR "/full.qcow2 "
			 "-o " DIR "/b.qcow2"));
	ASSERT_EQ(0, run(&r, CLI " restore " DIR "/b.qcow2 -o " DIR "/r.raw"));
	EXPECT_EQ(0, run(&r, "cmp " DEV " " DIR "/r.raw"));
	ASSERT_EQ(0, run(&r, CLI " -j backup " DEV " --bitmap b --backing " DIR "/b.qcow2 "
			 "-o " DIR "/c.qcow2"));
	EXPECT_NE(NULL, strstr(r.out, "\"clusters\":0,")) TH_LOG("%s", r.out);
}

/*
 * A small copy (an incremental) reads, and with --direct writes, through
 * io_uring where the kernel lets it; where it does not (6.6+:
 * kernel.io_uring_disabled), through plain reads and writes.  Each way the
 * chain restores to the device.  The images go to ext4 (tmpfs has no
 * O_DIRECT before 6.6).
 */
TEST_F(backup, incremental_with_and_without_io_uring_restores_the_device)
{
	bool can_disable = access(IO_URING_OFF, W_OK) == 0;
	unsigned int way;
	int ret;

	ASSERT_EQ(0, system("truncate -s 96M " DIR "/fs.img && " MKE2FS " -q -F -t ext4 " DIR "/fs.img"));
	ASSERT_EQ(0, run(&r, "mkdir -p " EXT4 " && mount -t ext4 -o loop " DIR "/fs.img " EXT4))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --full -o " EXT4 "/i0.qcow2"));
	for (way = 1; way <= 4; way++) {
		bool no_ring = way >= 3, direct = way % 2;

		if (no_ring && !can_disable) {
			TH_LOG("no " IO_URING_OFF ": io_uring cannot be turned off on this kernel");
			break;
		}
		writer(20 + way, 0);
		if (no_ring)
			ASSERT_EQ(0, system("echo 2 > " IO_URING_OFF));
		ret = run(&r, CLI " -j backup " DEV " --bitmap b %s--backing " EXT4
			  "/i%u.qcow2 -o " EXT4 "/i%u.qcow2", direct ? "--direct " : "", way - 1, way);
		if (no_ring)
			system("echo 0 > " IO_URING_OFF);
		ASSERT_EQ(0, ret) TH_LOG("way %u: %s", way, r.err);
		EXPECT_EQ(NULL, strstr(r.out, "\"clusters\":0,")) TH_LOG("way %u: %s", way, r.out);
		ASSERT_EQ(0, run(&r, CLI " restore " EXT4 "/i%u.qcow2 -o " DIR "/r.raw", way))
			TH_LOG("way %u: %s", way, r.err);
		EXPECT_EQ(0, run(&r, "cmp " DEV " " DIR "/r.raw")) TH_LOG("way %u", way);
		unlink(DIR "/r.raw");
	}
}

/*
 * --fsfreeze: ext4 on the disk, a process writing files throughout; the
 * file system is frozen before the cut and thawed after the copy, so the
 * backup equals the device as it was at the cut (copied by --exec-frozen
 * while still frozen), a full and then an incremental.
 */
/* The device itself, not the block device's page cache. */
#define DEVICE_COPY	"dd if=" DEV " iflag=direct bs=1M 2>/dev/null of="

TEST_F(backup, fsfreeze_backup_equals_the_device_at_the_cut)
{
	pid_t w;

	/* No lazy init: its zeroing thread would write behind the freeze. */
	ASSERT_EQ(0, system(MKE2FS " -q -F -t ext4 -E nodiscard,lazy_itable_init=0,"
			    "lazy_journal_init=0 " DEV " && mkdir -p /mnt/bk && "
			    "mount -t ext4 " DEV " /mnt/bk"));
	w = fork();
	if (!w) {
		setpgid(0, 0);
		execl("/bin/sh", "sh", "-c", "while :; do dd if=/dev/urandom "
		      "of=/mnt/bk/f$((RANDOM % 20)) bs=4k count=$((RANDOM % 64 + 1)) "
		      "2>/dev/null; done", (char *)NULL);
		_exit(127);
	}
	usleep(300000);
	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --full --fsfreeze /mnt/bk "
			 "--exec-frozen '" DEVICE_COPY DIR "/cut1.raw' -o " DIR "/full.qcow2"))
		TH_LOG("%s", r.err);
	usleep(300000);
	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --backing " DIR "/full.qcow2 "
			 "--fsfreeze /mnt/bk --exec-frozen '" DEVICE_COPY DIR "/cut2.raw' "
			 "-o " DIR "/inc.qcow2")) TH_LOG("%s", r.err);
	kill(-w, SIGKILL);
	waitpid(w, NULL, 0);
	EXPECT_EQ(0, run(&r, CLI " backup verify " DIR "/full.qcow2 " DIR "/cut1.raw"))
		TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, CLI " backup verify " DIR "/inc.qcow2 " DIR "/cut2.raw"))
		TH_LOG("%s", r.err);
	/* The writer wrote between the two cuts. */
	EXPECT_NE(0, run(&r, "cmp -s " DIR "/cut1.raw " DIR "/cut2.raw"));
	EXPECT_EQ(0, system("umount /mnt/bk || umount -l /mnt/bk"));
}

#define FLAKY		"/dev/mapper/dbflaky"
#define WHOLE		"0 131072 "	/* SIZE in sectors */

/*
 * A device whose reads fail during a backup (dm-flakey, every I/O failing):
 * the backup fails with the reason, leaves no file, and the bitmap is
 * reclaimed, so the next incremental, once the device reads again,
 * restores to the device.
 */
TEST_F(backup, read_errors_fail_the_backup_and_lose_nothing)
{
	ASSERT_EQ(0, run(&r, DMSETUP " create dbflaky --table '0 %lu linear " DEV " 0'",
			 SIZE / 512)) TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " attach " FLAKY)) TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " bitmap add " FLAKY " fb"));
	ASSERT_EQ(0, run(&r, CLI " backup " FLAKY " --bitmap fb --full -o " DIR "/full.qcow2"))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, "dd if=/dev/urandom of=" FLAKY " bs=64k count=20 seek=7 "
			 "oflag=direct 2>/dev/null"));
	ASSERT_EQ(0, dm_table(&r, "dbflaky", WHOLE "flakey " DEV " 0 0 1")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " backup " FLAKY " --bitmap fb --backing " DIR "/full.qcow2 "
			 "-o " DIR "/bad.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "Input/output error")) TH_LOG("%s", r.err);
	EXPECT_NE(0, access(DIR "/bad.qcow2", F_OK));
	EXPECT_NE(0, access(DIR "/bad.qcow2.partial", F_OK));
	ASSERT_EQ(0, dm_table(&r, "dbflaky", WHOLE "linear " DEV " 0")) TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " -j backup " FLAKY " --bitmap fb --backing " DIR "/full.qcow2 "
			 "-o " DIR "/inc.qcow2")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.out, "\"clusters\":20,")) TH_LOG("%s", r.out);
	ASSERT_EQ(0, run(&r, CLI " restore " DIR "/inc.qcow2 -o " DIR "/r.raw"));
	EXPECT_EQ(0, run(&r, "cmp " FLAKY " " DIR "/r.raw")) TH_LOG("%s", r.out);
	run(&r, CLI " detach " FLAKY "; " DMSETUP " remove dbflaky");
}

TEST_F(backup, refusals_leave_nothing_behind)
{
	ASSERT_EQ(0, run(&r, CLI " backup " DEV " --bitmap b --full -o " DIR "/full.qcow2"));
	ASSERT_EQ(0, system("echo not an image > " DIR "/junk"));
	EXPECT_EQ(1, run(&r, CLI " backup " DEV " --bitmap b --backing " DIR "/junk -o "
			 DIR "/x.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "bytes, the device")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " backup " DEV " --bitmap nosuch --full -o " DIR "/x.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "no bitmap nosuch")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " backup /dev/nosuch --bitmap b --full -o " DIR "/x.qcow2"));
	EXPECT_EQ(2, run(&r, CLI " backup " DEV " --bitmap b -o " DIR "/x.qcow2"));
	EXPECT_EQ(2, run(&r, CLI " backup " DEV " --bitmap b --full --backing " DIR
			 "/full.qcow2 -o " DIR "/x.qcow2"));
	/* Frozen by another backup (this test's socket). */
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, DEV, "b"));
	EXPECT_EQ(1, run(&r, CLI " backup " DEV " --bitmap b --full -o " DIR "/x.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "busy")) TH_LOG("%s", r.err);
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_RECLAIM, DEV, "b"));
	EXPECT_NE(0, access(DIR "/x.qcow2", F_OK));
	EXPECT_NE(0, access(DIR "/x.qcow2.partial", F_OK));
	EXPECT_EQ(1, run(&r, CLI " restore " DIR "/junk -o " DIR "/r.raw"));
	EXPECT_NE(NULL, strstr(r.err, "qcow2")) TH_LOG("%s", r.err);
}

NEEDS_SCRATCH_DISKS
NEEDS_HARNESS_MAIN("dirtybit brd dm-mod dm-flakey ext4 loop", "dirtybit dmsetup mke2fs tar truncate")
