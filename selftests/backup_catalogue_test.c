// SPDX-License-Identifier: GPL-2.0
/*
 * The backup scenario catalogue of DESIGN.md §4 (after QEMU's iotests 124
 * and 257), on a 64 MiB dm-linear disk over brd with 64 KiB granules and
 * the standard writes (0, 512), (16M, 256K), (32736K, 64K) — the last one
 * straddles a granule boundary, so they dirty 7 granules, 458752 bytes.
 * Every bitmap is checked granule by granule against a model kept here;
 * every chain is restored and compared with the device.
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "db.h"
#include "dm.h"
#include "model.h"
#include "module.h"
#include "needs.h"
#include "run.h"

#define CLI	"dirtybit"
#define DISK	"/dev/mapper/dbcat"
#define SIZE	(64 * MiB)
#define GRAN	(64 * KiB)
#define DIR	"/tmp/bkcat"
#define DISK2	"/dev/ram1"	/* the second device of a grouped backup */
#define LINEAR	"0 131072 linear /dev/ram0 0"
/* Reads past the first MiB fail: the standard write at 0 still copies. */
#define FAILING_FROM	(1 * MiB)
#define FAILING	"0 2048 linear /dev/ram0 0\\n2048 129024 error"

static struct run r;

static const struct { uint64_t off, len; } std_writes[] = {
	{ 0, 512 }, { 16 * MiB, 256 * KiB }, { 32736 * KiB, 64 * KiB },
};

/* Written by --exec-frozen: after the cut, so in the successor. */
#define DURING_OFF	(48 * MiB)
/* Written after a backup, before the recovery backup. */
#define MORE_OFF	(40 * MiB)

FIXTURE(cat) {
	struct db db;
	struct model m;
};

FIXTURE_SETUP(cat)
{
	ASSERT_EQ(0, dirtybit_load());
	system("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, system("modprobe brd rd_nr=2 rd_size=65536"));
	ASSERT_EQ(0, run(&r, DMSETUP " create dbcat --table '" LINEAR "'")) TH_LOG("%s", r.err);
	ASSERT_EQ(0, db_open(&self->db));
	ASSERT_LE(0, db_attach(&self->db, DISK)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, system("rm -rf " DIR " && mkdir -p " DIR));
	model_init(&self->m, SIZE, GRAN);
}

FIXTURE_TEARDOWN(cat)
{
	free(self->m.bit);
	db_detach(&self->db, DISK);
	db_detach(&self->db, DISK2);
	nl_close(&self->db.nl);
	system(DMSETUP " remove dbcat 2>/dev/null; rm -rf " DIR "; rmmod brd 2>/dev/null");
}

static int std_write(struct model *m, int byte)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(std_writes) && !ret; i++) {
		ret = write_direct(DISK, std_writes[i].off, std_writes[i].len, byte);
		if (m)
			model_mark(m, std_writes[i].off, std_writes[i].len);
	}
	return ret;
}

/* The number after "@key": in @json, or -1. */
static long json_field(const char *json, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(json, k);
	return p ? atol(p + strlen(k)) : -1;
}

/* The chain ending at @top restores to the disk's bytes. */
static int chain_is_disk(const char *top)
{
	if (run(&r, CLI " restore %s -o " DIR "/r.raw", top))
		return 0;
	return !run(&r, "cmp " DISK " " DIR "/r.raw && rm " DIR "/r.raw");
}

/*
 * Simple chain: a full anchor, an empty incremental, the standard writes
 * and an incremental of them, three more writes and one more; the whole
 * chain restores exactly.
 */
TEST_F(cat, simple_chain)
{
	struct db_bitmap_info bi;

	ASSERT_EQ(0, std_write(NULL, 0x11));
	ASSERT_EQ(0, run(&r, CLI " bitmap add " DISK " b"));
	ASSERT_EQ(0, run(&r, CLI " backup " DISK " --bitmap b --full -o " DIR "/full.qcow2"))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " -j backup " DISK " --bitmap b --backing " DIR "/full.qcow2 "
			 "-o " DIR "/empty.qcow2")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, json_field(r.out, "clusters")) TH_LOG("%s", r.out);
	ASSERT_EQ(0, std_write(&self->m, 0x22));
	ASSERT_EQ(0, db_info(&self->db, DISK, "b", &bi));
	EXPECT_EQ(458752, bi.count);
	EXPECT_STREQ("", model_compare(&self->db, DISK, "b", &self->m) ?: "");
	ASSERT_EQ(0, run(&r, CLI " -j backup " DISK " --bitmap b --backing " DIR "/empty.qcow2 "
			 "-o " DIR "/inc1.qcow2")) TH_LOG("%s", r.err);
	EXPECT_EQ(7, json_field(r.out, "clusters")) TH_LOG("%s", r.out);
	ASSERT_EQ(0, write_direct(DISK, 8 * MiB, 128 * KiB, 0x33));
	ASSERT_EQ(0, write_direct(DISK, 24 * MiB - 4096, 8192, 0x34));
	ASSERT_EQ(0, write_buffered(DISK, 60 * MiB, 4096, 0x35));
	/* --direct: O_DIRECT data writes, where the file system has them
	 * (tmpfs since 6.6); elsewhere a clear refusal that leaves nothing.
	 */
	if (run(&r, CLI " -j backup " DISK " --bitmap b --direct --backing " DIR "/inc1.qcow2 "
		"-o " DIR "/inc2.qcow2")) {
		EXPECT_NE(NULL, strstr(r.err, "does not do O_DIRECT")) TH_LOG("%s", r.err);
		EXPECT_NE(0, access(DIR "/inc2.qcow2.partial", F_OK));
		ASSERT_EQ(0, run(&r, CLI " -j backup " DISK " --bitmap b --backing " DIR
				 "/inc1.qcow2 -o " DIR "/inc2.qcow2")) TH_LOG("%s", r.err);
	}
	EXPECT_EQ(5, json_field(r.out, "clusters")) TH_LOG("%s", r.out);
	EXPECT_TRUE(chain_is_disk(DIR "/inc2.qcow2")) TH_LOG("%s%s", r.out, r.err);
	EXPECT_EQ(0, run(&r, CLI " backup verify " DIR "/inc2.qcow2 " DISK)) TH_LOG("%s", r.err);
}

/*
 * Granularity finer (32K) and coarser (128K) than the default cluster, and
 * a cluster (256K) larger than the granularity: the bitmap counts granules,
 * the backup copies every cluster holding a dirty one.
 */
TEST_F(cat, granularity_and_cluster_size)
{
	static const struct { uint32_t gran, cluster; long clusters; } c[] = {
		{ 32768, 65536, 7 },
		{ 131072, 131072, 5 },
		{ 65536, 262144, 4 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		struct db_bitmap_info bi;
		struct model m;
		char name[64];

		snprintf(name, sizeof(name), "g%u", i);
		model_init(&m, SIZE, c[i].gran);
		ASSERT_EQ(0, db_add(&self->db, DISK, name, c[i].gran, 0));
		ASSERT_EQ(0, run(&r, CLI " backup " DISK " --bitmap %s --full -o " DIR "/f%u.qcow2",
				 name, i)) TH_LOG("%s", r.err);
		ASSERT_EQ(0, std_write(&m, 0x40 + i));
		ASSERT_EQ(0, db_info(&self->db, DISK, name, &bi));
		EXPECT_EQ(model_count(&m), bi.count) TH_LOG("granularity %u", c[i].gran);
		EXPECT_STREQ("", model_compare(&self->db, DISK, name, &m) ?: "");
		ASSERT_EQ(0, run(&r, CLI " -j backup " DISK " --bitmap %s --backing " DIR "/f%u.qcow2"
				 " --cluster-size %u -o " DIR "/i%u.qcow2", name, i, c[i].cluster, i))
			TH_LOG("%s", r.err);
		EXPECT_EQ(c[i].clusters, json_field(r.out, "clusters"))
			TH_LOG("granularity %u: %s", c[i].gran, r.out);
		snprintf(name, sizeof(name), DIR "/i%u.qcow2", i);
		EXPECT_TRUE(chain_is_disk(name)) TH_LOG("%s%s", r.out, r.err);
		free(m.bit);
	}
}

enum outcome { SUCCESS, CANCEL, READ_ERROR };

/*
 * One cell of the matrix: an anchor, the standard writes, then a backup in
 * @mode that succeeds, is cancelled after all data was copied (its
 * --exec-frozen command fails) or meets read errors after the first
 * cluster.  A write during the backup lands in the successor and leaves the
 * frozen count alone.  Then the bitmap equals the model, the output exists
 * as the mode says, and after more writes a recovery incremental on top of
 * the chain restores to the disk.
 */
static void matrix_cell(struct __test_metadata *_metadata, FIXTURE_DATA(cat) *self,
			const char *mode, enum outcome how)
{
	const bool always = !strcmp(mode, "always"), never = !strcmp(mode, "never");
	struct model *m = &self->m;
	const char *backing = DIR "/full.qcow2";
	char during[512];
	long before, after;

	TH_LOG("mode %s, outcome %d", mode, how);
	model_clear(m);
	run(&r, "rm -f " DIR "/*; " CLI " bitmap remove " DISK " m");
	ASSERT_EQ(0, run(&r, CLI " bitmap add " DISK " m"));
	ASSERT_EQ(0, run(&r, CLI " backup " DISK " --bitmap m --full -o " DIR "/full.qcow2"))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, std_write(m, 0x50 + how));
	snprintf(during, sizeof(during),
		 CLI " -j bitmap list " DISK " > " DIR "/before.json && "
		 "dd if=/dev/urandom of=" DISK " bs=64k count=1 seek=%llu oflag=direct "
		 "2>/dev/null && " CLI " -j bitmap list " DISK " > " DIR "/after.json && exit %d",
		 DURING_OFF / GRAN, how == CANCEL);
	if (how == READ_ERROR)
		ASSERT_EQ(0, dm_table(&r, "dbcat", FAILING)) TH_LOG("%s", r.err);
	EXPECT_EQ(how == SUCCESS ? 0 : 1,
		  run(&r, CLI " backup " DISK " --bitmap m --bitmap-mode %s --backing " DIR
		      "/full.qcow2 --exec-frozen \"%s\" -o " DIR "/inc.qcow2", mode, during))
		TH_LOG("%s", r.err);
	if (how == READ_ERROR) {
		EXPECT_NE(NULL, strstr(r.err, "Input/output error")) TH_LOG("%s", r.err);
		ASSERT_EQ(0, dm_table(&r, "dbcat", LINEAR)) TH_LOG("%s", r.err);
		/* Only the cluster at 0 was copied: always keeps the rest. */
		if (always)
			m->bit[0] = 0;
	} else {
		/* The frozen bits did not move; the successor got the write. */
		run_slurp(DIR "/before.json", r.out);
		before = json_field(r.out, "count");
		run_slurp(DIR "/after.json", r.out);
		after = json_field(r.out, "count");
		EXPECT_EQ(458752, before);
		EXPECT_EQ(before, after);
		EXPECT_EQ(GRAN, json_field(r.out, "successor_count")) TH_LOG("%s", r.out);
		if (!never && (how == SUCCESS || always))
			model_clear(m);
		model_mark(m, DURING_OFF, GRAN);
	}
	EXPECT_STREQ("", model_compare(&self->db, DISK, "m", m) ?: "");
	/* The output: always on success; on failure only with always. */
	EXPECT_EQ(how == SUCCESS || always, !access(DIR "/inc.qcow2", F_OK));
	EXPECT_NE(0, access(DIR "/inc.qcow2.partial", F_OK));
	if (!access(DIR "/inc.qcow2", F_OK))
		backing = DIR "/inc.qcow2";
	/* More writes; the recovery backup holds both batches. */
	ASSERT_EQ(0, write_direct(DISK, MORE_OFF, GRAN, 0x60 + how));
	model_mark(m, MORE_OFF, GRAN);
	ASSERT_EQ(0, run(&r, CLI " -j backup " DISK " --bitmap m --backing %s -o " DIR
			 "/recovery.qcow2", backing)) TH_LOG("%s", r.err);
	EXPECT_EQ((long)(model_count(m) / GRAN), json_field(r.out, "clusters"))
		TH_LOG("%s", r.out);
	model_clear(m);
	EXPECT_STREQ("", model_compare(&self->db, DISK, "m", m) ?: "");
	EXPECT_TRUE(chain_is_disk(DIR "/recovery.qcow2")) TH_LOG("%s%s", r.out, r.err);
}

/* {on-success, never, always} x {success, cancel, read error}. */
TEST_F_TIMEOUT(cat, bitmap_mode_matrix, 600)
{
	static const char *const modes[] = { "on-success", "never", "always" };
	unsigned int i;
	int how;

	for (i = 0; i < ARRAY_SIZE(modes); i++)
		for (how = SUCCESS; how <= READ_ERROR; how++)
			matrix_cell(_metadata, self, modes[i], how);
}

/* A full backup in always mode that fails keeps every cluster it lacks. */
TEST_F(cat, always_full_backup_that_fails_keeps_all_it_did_not_copy)
{
	ASSERT_EQ(0, run(&r, "dd if=/dev/urandom of=" DISK " bs=1M oflag=direct 2>/dev/null; "
			 CLI " bitmap add " DISK " m"));
	ASSERT_EQ(0, dm_table(&r, "dbcat", FAILING)) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " backup " DISK " --bitmap m --full --bitmap-mode always -o "
			 DIR "/full.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "kept")) TH_LOG("%s", r.err);
	ASSERT_EQ(0, dm_table(&r, "dbcat", LINEAR)) TH_LOG("%s", r.err);
	/* Clean granules the full backup did not reach are dirty now. */
	model_mark(&self->m, FAILING_FROM, SIZE - FAILING_FROM);
	EXPECT_STREQ("", model_compare(&self->db, DISK, "m", &self->m) ?: "");
	ASSERT_EQ(0, run(&r, CLI " backup " DISK " --bitmap m --backing " DIR "/full.qcow2 -o "
			 DIR "/rest.qcow2")) TH_LOG("%s", r.err);
	EXPECT_TRUE(chain_is_disk(DIR "/rest.qcow2")) TH_LOG("%s%s", r.out, r.err);
}

/*
 * The device grew before a backup: writes past the old end were not
 * recorded, so the bitmap is inconsistent and the backup says so; attached
 * again, a new full backup and chain cover the whole device.
 */
TEST_F(cat, device_grown_before_a_backup)
{
	ASSERT_EQ(0, run(&r, DMSETUP " create dbsmall --table '0 65536 linear /dev/ram0 0'"))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " attach /dev/mapper/dbsmall && "
			 CLI " bitmap add /dev/mapper/dbsmall s && "
			 CLI " backup /dev/mapper/dbsmall --bitmap s --full -o " DIR "/s.qcow2"))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, dm_table(&r, "dbsmall", LINEAR)) TH_LOG("%s", r.err);
	ASSERT_EQ(0, write_direct("/dev/mapper/dbsmall", 40 * MiB, GRAN, 0x70));
	EXPECT_EQ(1, run(&r, CLI " backup /dev/mapper/dbsmall --bitmap s --backing " DIR
			 "/s.qcow2 -o " DIR "/s1.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "inconsistent")) TH_LOG("%s", r.err);
	EXPECT_NE(0, access(DIR "/s1.qcow2", F_OK));
	ASSERT_EQ(0, run(&r, CLI " detach /dev/mapper/dbsmall && "
			 CLI " attach /dev/mapper/dbsmall && "
			 CLI " bitmap add /dev/mapper/dbsmall s && "
			 CLI " backup /dev/mapper/dbsmall --bitmap s --full -o " DIR "/big.qcow2"))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, write_direct("/dev/mapper/dbsmall", 50 * MiB, GRAN, 0x71));
	ASSERT_EQ(0, run(&r, CLI " -j backup /dev/mapper/dbsmall --bitmap s --backing " DIR
			 "/big.qcow2 -o " DIR "/big1.qcow2")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, json_field(r.out, "clusters"));
	ASSERT_EQ(0, run(&r, CLI " restore " DIR "/big1.qcow2 -o " DIR "/r.raw && "
			 "cmp /dev/mapper/dbsmall " DIR "/r.raw")) TH_LOG("%s%s", r.out, r.err);
	run(&r, CLI " detach /dev/mapper/dbsmall; " DMSETUP " remove dbsmall");
}

/* Missing, unknown and malformed bitmaps: clear errors, nothing written. */
TEST_F(cat, bitmap_refusals)
{
	EXPECT_EQ(2, run(&r, CLI " backup " DISK " --full -o " DIR "/x.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "usage")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " backup " DISK " --bitmap nosuch --full -o " DIR "/x.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "no bitmap nosuch")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " bitmap add " DISK " g --granularity 64000"));
	EXPECT_NE(NULL, strstr(r.err, "power of two")) TH_LOG("%s", r.err);
	EXPECT_EQ(2, run(&r, CLI " backup " DISK " --bitmap m --full --bitmap-mode sometimes "
			 "-o " DIR "/x.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "on-success, never or always")) TH_LOG("%s", r.err);
	EXPECT_NE(0, access(DIR "/x.qcow2", F_OK));
	EXPECT_NE(0, access(DIR "/x.qcow2.partial", F_OK));
}

/*
 * iotests 124's transaction [clear b0, clear b1, full backup]: the full
 * backup from b0 clears b1 at the same cut, so both start their next epoch
 * together; a write during the backup is in both, and incrementals from
 * either bitmap on the full backup restore to the disk.
 */
TEST_F(cat, full_backup_clearing_another_bitmap_at_its_cut)
{
	struct db_bitmap_info b0, b1;

	ASSERT_EQ(0, run(&r, CLI " bitmap add " DISK " b0 && " CLI " bitmap add " DISK " b1"));
	ASSERT_EQ(0, std_write(NULL, 0x61));
	ASSERT_EQ(0, run(&r, CLI " backup " DISK " --full --bitmap b0 --clear b1 "
			 "-o " DIR "/full.qcow2 --exec-frozen 'dd if=/dev/urandom of=" DISK
			 " bs=64k count=1 seek=%llu oflag=direct 2>/dev/null'",
			 DURING_OFF / GRAN)) TH_LOG("%s", r.err);
	model_mark(&self->m, DURING_OFF, GRAN);
	ASSERT_EQ(0, db_info(&self->db, DISK, "b0", &b0));
	ASSERT_EQ(0, db_info(&self->db, DISK, "b1", &b1));
	EXPECT_EQ(GRAN, b0.count);
	EXPECT_EQ(GRAN, b1.count);
	ASSERT_EQ(0, std_write(&self->m, 0x62));
	EXPECT_STREQ("", model_compare(&self->db, DISK, "b0", &self->m) ?: "");
	EXPECT_STREQ("", model_compare(&self->db, DISK, "b1", &self->m) ?: "");
	ASSERT_EQ(0, run(&r, CLI " -j backup " DISK " --bitmap b0 --backing " DIR "/full.qcow2 "
			 "-o " DIR "/inc0.qcow2")) TH_LOG("%s", r.err);
	EXPECT_EQ(8, json_field(r.out, "clusters")) TH_LOG("%s", r.out);
	ASSERT_EQ(0, run(&r, CLI " -j backup " DISK " --bitmap b1 --backing " DIR "/full.qcow2 "
			 "-o " DIR "/inc1.qcow2")) TH_LOG("%s", r.err);
	EXPECT_EQ(8, json_field(r.out, "clusters")) TH_LOG("%s", r.out);
	EXPECT_TRUE(chain_is_disk(DIR "/inc0.qcow2"));
	EXPECT_TRUE(chain_is_disk(DIR "/inc1.qcow2"));
	/* A --clear bitmap that does not exist: the cut is refused, nothing frozen. */
	EXPECT_EQ(1, run(&r, CLI " backup " DISK " --full --bitmap b0 --clear nope "
			 "-o " DIR "/x.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "no bitmap of that name")) TH_LOG("%s", r.err);
	EXPECT_NE(0, access(DIR "/x.qcow2", F_OK));
	EXPECT_NE(0, access(DIR "/x.qcow2.partial", F_OK));
	ASSERT_EQ(0, db_info(&self->db, DISK, "b0", &b0));
	EXPECT_EQ(DIRTYBIT_BITMAP_F_RECORDING, b0.flags);
}

/*
 * iotests 124's two devices in one transaction: one cut, and when one
 * fails with a read error both bitmaps keep every bit and neither output
 * stays; the rerun succeeds and both chains restore to their devices.
 */
TEST_F(cat, two_devices_fail_and_succeed_together)
{
	struct model m2;

	model_init(&m2, SIZE, GRAN);
	ASSERT_LE(0, db_attach(&self->db, DISK2));
	ASSERT_EQ(0, run(&r, CLI " bitmap add " DISK " g && " CLI " bitmap add " DISK2 " g"));
	ASSERT_EQ(0, std_write(NULL, 0x71));
	ASSERT_EQ(0, write_direct(DISK2, 3 * MiB, 64 * KiB, 0x72));
	ASSERT_EQ(0, run(&r, CLI " -j backup " DISK " " DISK2 " --full --bitmap g "
			 "-o " DIR "/a0.qcow2 -o " DIR "/b0.qcow2")) TH_LOG("%s", r.err);
	EXPECT_EQ(2, count_lines(r.out)) TH_LOG("%s", r.out);
	ASSERT_EQ(0, std_write(&self->m, 0x73));
	ASSERT_EQ(0, write_direct(DISK2, 5 * MiB, 192 * KiB, 0x74));
	model_mark(&m2, 5 * MiB, 192 * KiB);
	/* The first device's reads fail past its first MiB. */
	ASSERT_EQ(0, dm_table(&r, "dbcat", FAILING)) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " backup " DISK " " DISK2 " --bitmap g --backing " DIR
			 "/a0.qcow2 --backing " DIR "/b0.qcow2 -o " DIR "/a1.qcow2 -o " DIR
			 "/b1.qcow2"));
	EXPECT_NE(NULL, strstr(r.err, "Input/output error")) TH_LOG("%s", r.err);
	EXPECT_NE(0, access(DIR "/a1.qcow2", F_OK));
	EXPECT_NE(0, access(DIR "/b1.qcow2", F_OK));
	EXPECT_NE(0, access(DIR "/b1.qcow2.partial", F_OK));
	EXPECT_STREQ("", model_compare(&self->db, DISK, "g", &self->m) ?: "");
	EXPECT_STREQ("", model_compare(&self->db, DISK2, "g", &m2) ?: "");
	ASSERT_EQ(0, dm_table(&r, "dbcat", LINEAR)) TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " -j backup " DISK " " DISK2 " --bitmap g --backing " DIR
			 "/a0.qcow2 --backing " DIR "/b0.qcow2 -o " DIR "/a1.qcow2 -o " DIR
			 "/b1.qcow2")) TH_LOG("%s", r.err);
	EXPECT_EQ(7, json_field(r.out, "clusters")) TH_LOG("%s", r.out);
	EXPECT_EQ(3, json_field(strchr(r.out, '\n') ?: "", "clusters")) TH_LOG("%s", r.out);
	EXPECT_TRUE(chain_is_disk(DIR "/a1.qcow2"));
	ASSERT_EQ(0, run(&r, CLI " restore " DIR "/b1.qcow2 -o " DIR "/r2.raw"));
	EXPECT_EQ(0, run(&r, "cmp " DISK2 " " DIR "/r2.raw"));
	/* Mismatched outputs: a usage error before anything happens. */
	EXPECT_EQ(2, run(&r, CLI " backup " DISK " " DISK2 " --full --bitmap g -o " DIR
			 "/x.qcow2"));
	EXPECT_NE(0, access(DIR "/x.qcow2", F_OK));
	free(m2.bit);
}

NEEDS_HARNESS_MAIN("dirtybit brd dm-mod", "dirtybit dmsetup")
