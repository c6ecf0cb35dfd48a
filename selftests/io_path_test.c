// SPDX-License-Identifier: GPL-2.0
/*
 * Every way a write reaches a disk, each against the promise a backup
 * depends on: a write is in the epoch whose copy reads it, or in the next
 * one.  Each case holds one write in flight (dm-delay, released on cue)
 * across a cut and then checks the chain an agent would have built:
 *
 *  - a bio split by blk-mq whose front request lands after its tail;
 *  - a write still in flight after a cut that timed out, across the next cut;
 *  - md raid0 passing an already-traced bio on to a member disk;
 *  - request-based dm-multipath cloning requests onto its path;
 *  - SG_IO passthrough, whose range the block layer cannot know;
 *  - writes submitted before a bio-based disk (dm, md) was attached.
 *
 * docs/ROBUSTNESS.md has the table of paths; this file is its proof.
 */
#include <fcntl.h>
#include <pthread.h>
#include <scsi/sg.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "db.h"
#include "held.h"
#include "loop.h"
#include "needs.h"
#include "run.h"

#define KiB		1024UL
#define MiB		(1024 * KiB)
#define RAM_MB		16
#define RAM_SECTORS	(RAM_MB * MiB / 512)

static struct db_extent ext[4096];

static int dev_open(const char *path)
{
	return open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
}

/* Writes version 0 of blocks [@first, @first + @n) straight to @dev. */
static int seed(const char *dev, unsigned long first, unsigned long n)
{
	unsigned char *buf;
	unsigned long i;
	int fd = dev_open(dev), ret = 0;

	if (fd < 0 || posix_memalign((void **)&buf, HELD_BLOCK, HELD_BLOCK))
		return -1;
	for (i = 0; i < n && !ret; i++) {
		held_fill(buf, first + i, 0);
		if (pwrite(fd, buf, HELD_BLOCK, (first + i) * HELD_BLOCK) != HELD_BLOCK)
			ret = -1;
	}
	free(buf);
	close(fd);
	return ret;
}

/*
 * An agent's backup of blocks [@first, @first + @n) of @dev, one epoch:
 * freeze, read the version of every frozen block into @chain, abdicate.
 * Returns how many blocks were copied, or -errno.
 */
static long epoch(struct db *db, const char *dev, int fd, unsigned long first,
		  unsigned long n, unsigned long *chain)
{
	long k, i, copied = 0;
	unsigned long b;
	int ret;

	ret = db_bitmap(db, DIRTYBIT_CMD_BITMAP_FREEZE, dev, "b");
	if (ret)
		return ret;
	k = db_extents(db, dev, "b", ext, 4096, NULL);
	if (k < 0 || k > 4096)
		return k < 0 ? k : -E2BIG;
	for (i = 0; i < k; i++)
		for (b = ext[i].start / HELD_BLOCK;
		     b < (ext[i].start + ext[i].length) / HELD_BLOCK; b++) {
			if (b < first || b >= first + n)
				continue;
			chain[b - first] = held_version(fd, b);
			copied++;
		}
	ret = db_bitmap(db, DIRTYBIT_CMD_BITMAP_ABDICATE, dev, "b");
	return ret ? ret : copied;
}

/* The full backup that anchors a chain: every block as it is now. */
static void full(int fd, unsigned long first, unsigned long n, unsigned long *chain)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		chain[i] = held_version(fd, first + i);
}

/* Every block of the chain is the device's, or says which is not. */
static int chain_is_device(struct __test_metadata *_metadata, int fd, unsigned long first,
			   unsigned long n, const unsigned long *chain)
{
	unsigned long i, now;
	int stale = 0;

	for (i = 0; i < n; i++) {
		now = held_version(fd, first + i);
		if (chain[i] != now) {
			if (stale++ < 8)
				TH_LOG("block %lu: the chain holds version %ld, the device %ld",
				       first + i, (long)chain[i], (long)now);
		}
	}
	return stale;
}

/*
 * A legacy raid0 array md0 of 64 KiB chunks over @a and @b, with iostats
 * @iostats.  The md0 of an earlier case may still be going away (its stop
 * returns before the device is deleted): waited for, not raced.
 */
static int md_build(const char *a, const char *b, int iostats)
{
	if (sh("modprobe raid0") ||
	    sh("i=0; while [ -e /sys/block/md0/md ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; "
	       "mdadm --build /dev/md0 --level=0 --chunk=64 --raid-devices=2 %s %s >/dev/null 2>&1",
	       a, b))
		return -1;
	return sh("echo %d > /sys/block/md0/queue/iostats", iostats);
}

FIXTURE(io) {
	struct db db;
	int loops[2];
	bool raid;
};

FIXTURE_SETUP(io)
{
	self->loops[0] = self->loops[1] = -1;
	ASSERT_EQ(0, dirtybit_load());
	sh("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, sh("modprobe brd rd_nr=2 rd_size=%lu && modprobe dm-delay", RAM_MB * KiB));
	ASSERT_EQ(0, db_open(&self->db));
}

FIXTURE_TEARDOWN(io)
{
	int i;

	db_detach(&self->db, "/dev/md0");
	for (i = 0; i < 2; i++)
		if (self->loops[i] >= 0) {
			char path[32];

			snprintf(path, sizeof(path), "/dev/loop%d", self->loops[i]);
			db_detach(&self->db, path);
		}
	db_detach(&self->db, "/dev/mapper/db-slow");
	db_detach(&self->db, "/dev/mapper/db-mp");
	db_detach(&self->db, "/dev/sda");
	db_detach(&self->db, "/dev/ram0");
	db_detach(&self->db, "/dev/ram1");
	nl_close(&self->db.nl);
	held_dm_remove("db-mp");
	sh("rmmod scsi_debug 2>/dev/null");
	if (self->raid)
		sh("mdadm --stop /dev/md0 >/dev/null 2>&1");
	for (i = 0; i < 2; i++)
		if (self->loops[i] >= 0)
			loop_detach(self->loops[i]);
	held_dm_remove("db-slow");
	held_dm_remove("db-front");
	sh("echo 30 > /sys/module/dirtybit/parameters/drain_timeout");
	sh("rmmod brd");
}

/*
 * blk-mq splits a 1 MiB write to a disk that takes 64 KiB requests: the
 * front pieces are new bios, the original is the last piece.  The loop
 * disk here sends each request on as its own direct I/O to a dm device
 * whose first 64 KiB hold writes until released: the tail completes at
 * once, the front much later.  A cut between the two must wait for the
 * front, or have it in the next epoch.
 */
TEST_F_TIMEOUT(io, split_bio_front_lands_after_its_tail, 120)
{
	struct held_releaser r;
	unsigned long chain[256];
	struct held_io w;
	char loop[32];
	int fd;

	ASSERT_EQ(0, seed("/dev/ram0", 0, 256));
	ASSERT_EQ(0, sh(DMSETUP " create db-front --table '0 128 delay /dev/ram0 0 0 /dev/ram0 0 600000\n"
			"128 %lu linear /dev/ram0 128'", RAM_SECTORS - 128));
	self->loops[0] = loop_attach("/dev/mapper/db-front", LO_FLAGS_DIRECT_IO, loop);
	ASSERT_LE(0, self->loops[0]);
	ASSERT_EQ(0, sh("echo 64 > /sys/block/loop%d/queue/max_sectors_kb", self->loops[0]));
	fd = dev_open(loop);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, db_attach(&self->db, loop)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, loop, "b", 64 * KiB, 0));
	full(fd, 0, 256, chain);

	/* One bio of 1 MiB, version 1; its tail (the original bio) completes
	 * while the front waits in the delay device, until released.
	 */
	ASSERT_EQ(0, held_submit(&w, fd, 1, NULL, MiB, 0, 1));
	ASSERT_EQ(0, sh("i=0; while [ $i -lt 200 ] && [ \"$(cat /sys/block/loop%d/inflight | "
			"awk '{ print $2 }')\" != 1 ]; do sleep 0.05; i=$((i+1)); done; "
			"[ $i -lt 200 ]", self->loops[0])) TH_LOG("the tail did not complete alone");
	ASSERT_EQ(0, held_release_later(&r, "db-front", 2000));
	EXPECT_LT(0, epoch(&self->db, loop, fd, 0, 256, chain));
	ASSERT_EQ(0, held_releaser_join(&r));
	ASSERT_EQ(0, held_wait(&w));
	ASSERT_LE(0, epoch(&self->db, loop, fd, 0, 256, chain));
	EXPECT_EQ(0, chain_is_device(_metadata, fd, 0, 256, chain));
	close(fd);
}

/*
 * A cut that stops waiting (drain_timeout) marks the writes still in
 * flight in the new epoch.  The next cut must not forget them: they belong
 * to a generation older than the one it waits for.
 */
TEST_F_TIMEOUT(io, write_in_flight_across_two_cuts_after_a_timeout, 120)
{
	const char *dev = "/dev/mapper/db-slow";
	unsigned long chain[1];
	struct held_io w;
	int fd;

	ASSERT_EQ(0, seed("/dev/ram0", 100, 1));
	ASSERT_EQ(0, held_dm_create("db-slow", "/dev/ram0", RAM_SECTORS, 0, 600000));
	fd = dev_open(dev);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, db_attach(&self->db, dev)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, dev, "b", HELD_BLOCK, 0));
	chain[0] = held_version(fd, 100);
	ASSERT_EQ(0, sh("echo 1 > /sys/module/dirtybit/parameters/drain_timeout"));

	ASSERT_EQ(0, held_write_block(&w, fd, 100, 1));
	/* This cut times out: the write is carried into the new epoch ... */
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_CLEAR, dev, "b"));
	/* ... which this backup copies (the old version: still in flight). */
	ASSERT_EQ(1, epoch(&self->db, dev, fd, 100, 1, chain));
	ASSERT_EQ(0, held_release("db-slow"));
	ASSERT_EQ(0, held_wait(&w));
	ASSERT_LE(0, epoch(&self->db, dev, fd, 100, 1, chain));
	EXPECT_EQ(0, chain_is_device(_metadata, fd, 100, 1, chain));
	close(fd);
}

/*
 * md raid0 hands the bio it was given (already traced on md0) to a member
 * disk: the member's target must see it.  Without iostats md does not clone
 * it first (6.1), so nothing traces it on the member again.
 */
static void md_raid0_write_across_a_chunk(struct __test_metadata *_metadata,
					  FIXTURE_DATA(io) *self, int iostats)
{
	const char *md = "/dev/md0";
	struct db_extent e[4];
	unsigned char *buf;
	int fd;

	ASSERT_EQ(0, md_build("/dev/ram0", "/dev/ram1", iostats));
	self->raid = true;
	ASSERT_LT(0, db_attach(&self->db, "/dev/ram0")) TH_LOG("%s", self->db.nl.extack);
	ASSERT_LT(0, db_attach(&self->db, "/dev/ram1")) TH_LOG("%s", self->db.nl.extack);
	ASSERT_LT(0, db_attach(&self->db, md)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b", HELD_BLOCK, 0));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram1", "b", HELD_BLOCK, 0));
	ASSERT_EQ(0, db_add(&self->db, md, "b", HELD_BLOCK, 0));

	/* [60K, 68K) of md0 straddles the first chunk boundary: the last 4K
	 * of ram0's first chunk and the first 4K of ram1's.
	 */
	fd = dev_open(md);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, posix_memalign((void **)&buf, HELD_BLOCK, 2 * HELD_BLOCK));
	memset(buf, 0xa5, 2 * HELD_BLOCK);
	ASSERT_EQ(2 * HELD_BLOCK, pwrite(fd, buf, 2 * HELD_BLOCK, 60 * KiB));
	free(buf);
	close(fd);

	ASSERT_EQ(1, db_extents(&self->db, md, "b", e, 4, NULL));
	EXPECT_EQ(60 * KiB, e[0].start);
	EXPECT_EQ(8 * KiB, e[0].length);
	ASSERT_EQ(1, db_extents(&self->db, "/dev/ram0", "b", e, 4, NULL)) TH_LOG("ram0 missed it");
	EXPECT_EQ(60 * KiB, e[0].start);
	EXPECT_EQ(4 * KiB, e[0].length);
	ASSERT_EQ(1, db_extents(&self->db, "/dev/ram1", "b", e, 4, NULL)) TH_LOG("ram1 missed it");
	EXPECT_EQ(0, e[0].start);
	EXPECT_EQ(4 * KiB, e[0].length);
}

TEST_F_TIMEOUT(io, md_raid0_members_see_writes_to_the_array, 120)
{
	md_raid0_write_across_a_chunk(_metadata, self, 0);
}

/*
 * With iostats md clones each piece of a split write and ends the piece
 * itself when the clone completes: the piece holds no slot, its parent
 * does.  The array's bitmap must hold the write, not the whole array.
 */
TEST_F_TIMEOUT(io, md_raid0_split_pieces_are_their_parents, 120)
{
	md_raid0_write_across_a_chunk(_metadata, self, 1);
}

/*
 * A loop device given another backing file keeps its disk: no removal,
 * no resize; its contents changed without a write.  The bitmaps must not
 * go on claiming to know what changed.
 */
TEST_F_TIMEOUT(io, loop_device_given_another_file_makes_the_bitmaps_inconsistent, 120)
{
	struct db_bitmap_info bi;
	struct loop_config cfg;
	char loop[32];
	int dev, fd;

	ASSERT_EQ(0, sh("truncate -s 16M /tmp/db-a.img /tmp/db-b.img"));
	self->loops[0] = loop_attach("/tmp/db-a.img", 0, loop);
	ASSERT_LE(0, self->loops[0]);
	ASSERT_LT(0, db_attach(&self->db, loop)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, loop, "b", HELD_BLOCK, 0));
	/* Cleared at the last close (6.12 always defers it), then rebound. */
	dev = open(loop, O_RDWR);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, ioctl(dev, LOOP_CLR_FD, 0));
	close(dev);
	ASSERT_EQ(0, sh("i=0; while [ -e /sys/block/loop%d/loop/backing_file ] && [ $i -lt 100 ]; "
			"do sleep 0.1; i=$((i+1)); done; [ $i -lt 100 ]", self->loops[0]));
	dev = open(loop, O_RDWR);
	ASSERT_LE(0, dev);
	fd = open("/tmp/db-b.img", O_RDWR);
	ASSERT_LE(0, fd);
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = fd;
	ASSERT_EQ(0, ioctl(dev, LOOP_CONFIGURE, &cfg));
	close(fd);
	close(dev);
	ASSERT_EQ(0, db_info(&self->db, loop, "b", &bi));
	EXPECT_NE(0, bi.flags & DIRTYBIT_BITMAP_F_INCONSISTENT)
		TH_LOG("the media changed under a consistent bitmap");
	EXPECT_EQ(-EINVAL, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, loop, "b"));
	sh("rm -f /tmp/db-a.img /tmp/db-b.img");
}

/* ---- SCSI: request-based multipath and passthrough ----------------------- */

static int scsi_debug_up(void)
{
	sh("rmmod scsi_debug 2>/dev/null");
	return sh("modprobe sd_mod && modprobe scsi_debug dev_size_mb=%lu && i=0; "
		  "while [ ! -b /dev/sda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; "
		  "[ -b /dev/sda ]", (unsigned long)RAM_MB);
}

/*
 * dm-multipath clones each request onto its path with
 * blk_insert_cloned_request(): no bio is submitted to the path disk, so
 * nothing passes block_bio_queue there.
 */
TEST_F_TIMEOUT(io, multipath_path_sees_writes_to_the_map, 120)
{
	const char *mp = "/dev/mapper/db-mp";
	struct db_extent e[4];
	unsigned char *buf;
	int fd;

	ASSERT_EQ(0, scsi_debug_up());
	ASSERT_EQ(0, sh("modprobe dm-multipath && modprobe dm-round-robin"));
	ASSERT_EQ(0, sh(DMSETUP " create db-mp --table '0 %lu multipath 0 0 1 1 "
			"round-robin 0 1 1 /dev/sda 1'", RAM_SECTORS));
	ASSERT_LT(0, db_attach(&self->db, "/dev/sda")) TH_LOG("%s", self->db.nl.extack);
	ASSERT_LT(0, db_attach(&self->db, mp)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, "/dev/sda", "b", HELD_BLOCK, 0));
	ASSERT_EQ(0, db_add(&self->db, mp, "b", HELD_BLOCK, 0));

	fd = dev_open(mp);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, posix_memalign((void **)&buf, HELD_BLOCK, HELD_BLOCK));
	memset(buf, 0x5a, HELD_BLOCK);
	ASSERT_EQ(HELD_BLOCK, pwrite(fd, buf, HELD_BLOCK, MiB));
	free(buf);
	close(fd);

	ASSERT_EQ(1, db_extents(&self->db, mp, "b", e, 4, NULL));
	EXPECT_EQ(MiB, e[0].start);
	ASSERT_EQ(1, db_extents(&self->db, "/dev/sda", "b", e, 4, NULL)) TH_LOG("the path missed it");
	EXPECT_EQ(MiB, e[0].start);
	EXPECT_EQ(HELD_BLOCK, e[0].length);
}

/* One SCSI command through SG_IO: 0 when the device took it. */
static int sg_io(int fd, const unsigned char *cdb, int cdb_len, int dir, void *buf,
		 unsigned int len)
{
	unsigned char sense[32];
	struct sg_io_hdr h;

	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	h.cmdp = (unsigned char *)cdb;
	h.cmd_len = cdb_len;
	h.dxfer_direction = dir;
	h.dxferp = buf;
	h.dxfer_len = len;
	h.sbp = sense;
	h.mx_sb_len = sizeof(sense);
	h.timeout = 10000;
	if (ioctl(fd, SG_IO, &h))
		return -errno;
	return h.status || h.host_status || h.driver_status ? -EIO : 0;
}

/*
 * A passthrough command carries its own range in its CDB: the block layer
 * sees a request without a sector.  One that writes (data out, or no data
 * at all) cannot be tracked exactly, so it makes every bitmap of the disk
 * inconsistent (with an event); one that only reads data in does not.
 */
TEST_F_TIMEOUT(io, passthrough_write_makes_the_bitmaps_inconsistent, 120)
{
	unsigned char inquiry[6] = { 0x12, 0, 0, 0, 96, 0 };
	unsigned char read10[10] = { 0x28, 0, 0, 0, 0, 16, 0, 0, 1, 0 };
	unsigned char write10[10] = { 0x2a, 0, 0, 0, 0, 16, 0, 0, 1, 0 };
	struct db_bitmap_info bi;
	unsigned char *buf;
	int fd;

	ASSERT_EQ(0, scsi_debug_up());
	ASSERT_LT(0, db_attach(&self->db, "/dev/sda")) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, "/dev/sda", "b", HELD_BLOCK, 0));
	fd = open("/dev/sda", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, posix_memalign((void **)&buf, HELD_BLOCK, HELD_BLOCK));

	ASSERT_EQ(0, sg_io(fd, inquiry, sizeof(inquiry), SG_DXFER_FROM_DEV, buf, 96));
	ASSERT_EQ(0, sg_io(fd, read10, sizeof(read10), SG_DXFER_FROM_DEV, buf, 512));
	ASSERT_EQ(0, db_info(&self->db, "/dev/sda", "b", &bi));
	EXPECT_EQ(0, bi.flags & DIRTYBIT_BITMAP_F_INCONSISTENT) TH_LOG("reads count for nothing");
	EXPECT_EQ(0, bi.count);

	memset(buf, 0x77, 512);
	ASSERT_EQ(0, sg_io(fd, write10, sizeof(write10), SG_DXFER_TO_DEV, buf, 512));
	ASSERT_EQ(0, db_info(&self->db, "/dev/sda", "b", &bi));
	EXPECT_NE(0, bi.flags & DIRTYBIT_BITMAP_F_INCONSISTENT)
		TH_LOG("a passthrough write left the bitmap consistent (count %llu)",
		       (unsigned long long)bi.count);
	/* An inconsistent bitmap cannot start a backup. */
	EXPECT_EQ(-EINVAL, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, "/dev/sda", "b"));
	EXPECT_EQ(0, sh("dmesg | grep -q 'passthrough'"));
	free(buf);
	close(fd);
}

/* ---- writes already in flight when a bio-based disk is attached --------- */

/*
 * dm is bio-based: freezing its queue waits for no write.  A write
 * submitted before the attach that lands after the first backup read its
 * blocks must be in the next epoch.
 */
TEST_F_TIMEOUT(io, dm_write_submitted_before_the_attach, 120)
{
	const char *dev = "/dev/mapper/db-slow";
	unsigned long chain[8];
	struct held_io w;
	int fd;

	ASSERT_EQ(0, seed("/dev/ram0", 96, 8));
	ASSERT_EQ(0, held_dm_create("db-slow", "/dev/ram0", RAM_SECTORS, 0, 600000));
	fd = dev_open(dev);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, held_write_block(&w, fd, 100, 1));

	ASSERT_LT(0, db_attach(&self->db, dev)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, dev, "b", HELD_BLOCK, 0));
	full(fd, 96, 8, chain);
	ASSERT_EQ(0, held_release("db-slow"));
	ASSERT_EQ(0, held_wait(&w));
	ASSERT_LE(0, epoch(&self->db, dev, fd, 96, 8, chain));
	EXPECT_EQ(0, chain_is_device(_metadata, fd, 96, 8, chain));
	close(fd);
}

/*
 * md raid0 without iostats passes the bio to a member (here a loop disk
 * whose direct I/O waits in a delay device) before the attach; the write
 * completes there, never again through md0.
 */
TEST_F_TIMEOUT(io, md_write_passed_to_a_member_before_the_attach, 120)
{
	const char *md = "/dev/md0";
	struct held_releaser r;
	unsigned long chain[8];
	char loop0[32], loop1[32];
	struct held_io w;
	int fd;

	/* Blocks 0-15 of md0 are blocks 0-15 of loop0, over ram0. */
	ASSERT_EQ(0, seed("/dev/ram0", 0, 8));
	ASSERT_EQ(0, held_dm_create("db-slow", "/dev/ram0", RAM_SECTORS, 0, 600000));
	self->loops[0] = loop_attach("/dev/mapper/db-slow", LO_FLAGS_DIRECT_IO, loop0);
	self->loops[1] = loop_attach("/dev/ram1", LO_FLAGS_DIRECT_IO, loop1);
	ASSERT_LE(0, self->loops[0]);
	ASSERT_LE(0, self->loops[1]);
	ASSERT_EQ(0, md_build(loop0, loop1, 0));
	self->raid = true;
	fd = dev_open(md);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, held_write_block(&w, fd, 2, 1));

	/* An attach that waits for the write sees it released meanwhile. */
	ASSERT_EQ(0, held_release_later(&r, "db-slow", 2000));
	ASSERT_LT(0, db_attach(&self->db, md)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, md, "b", HELD_BLOCK, 0));
	full(fd, 0, 8, chain);
	ASSERT_EQ(0, held_releaser_join(&r));
	ASSERT_EQ(0, held_wait(&w));
	ASSERT_LE(0, epoch(&self->db, md, fd, 0, 8, chain));
	EXPECT_EQ(0, chain_is_device(_metadata, fd, 0, 8, chain));
	close(fd);
}

NEEDS_HARNESS_MAIN("dirtybit brd dm-mod dm-delay dm-multipath dm-round-robin loop raid0 scsi_debug sd_mod", "dirtybit dmsetup mdadm losetup truncate")
