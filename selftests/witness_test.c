// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit against an independent witness: a BPF program on the block
 * layer's completion tracepoints (selftests/bpf/witness.bpf.c) records
 * every write, discard and write-zeroes range that completed without error
 * on the devices below, while a file system (ext4 or xfs) takes a mixed
 * workload (buffered writes, O_DIRECT, fsync, a big file copy that the
 * disks' small max_sectors_kb splits into many requests, deletions and
 * fstrim) and an agent cuts every tracked bitmap in one transaction now and
 * then.  Three stacks: a partition of a virtio disk; dm-linear above a
 * virtio disk, the dm device and the disk both tracked; md raid0 over two
 * virtio disks, the array and both members tracked.
 *
 * For every epoch between two cuts taken under the workload and every
 * bitmap (4 KiB and 64 KiB granules): no lost bit (every granule a range
 * completed in the epoch touched is dirty in it; one completed while a cut
 * ran is dirty on one side of it), and no unexplained dirt (every dirty
 * granule is touched by a range completed in the epoch or during a cut
 * around it: the extra dirt is granule rounding only).
 *
 * The drop case loads the module with drop_mark_one_in=N, which loses one
 * block mark in N, and expects the witness to find the lost bits: the
 * witness has teeth.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <linux/fs.h>

#include "kselftest_harness.h"
#include "db.h"
#include "dm.h"
#include "model.h"
#include "module.h"
#include "needs.h"
#include "run.h"
#include "witness.h"

#define MNT		"/mnt/w"
#define PART_START	2048			/* sectors */
#define PART_SECTORS	(640 * 2048)		/* 640 MiB: xfs wants 300 */
#define DM_NAME		"dbw-lin"
#define DM_PATH		"/dev/mapper/" DM_NAME
#define DM_OFFSET	4096			/* sectors into /dev/vdb */
#define DM_SECTORS	(512 * 2048)
#define CUTS		6			/* the last two after the workload */
#define MAX_TARGETS	3

static const uint32_t grans[] = { 4096, 65536 };
#define NGRANS		(sizeof(grans) / sizeof(grans[0]))

struct target {
	const char *path;
	struct witness_view view;
	struct db_extent *ep[CUTS][NGRANS];	/* epoch k's extents */
	long nep[CUTS][NGRANS];
};

struct stack {
	struct target t[MAX_TARGETS];
	int nt;
	const char *watch[MAX_TARGETS];
	int watch_src[MAX_TARGETS];	/* the tracepoint it completes on */
	int nwatch;
	const char *fs_dev;
	const char *raw;		/* a disk written beside the file system */
	uint64_t raw_off;		/* where: outside it */
};

/* ---- the workload ---------------------------------------------------------- */

struct workload {
	pthread_t thread;
	atomic_int rounds;		/* rounds done */
	atomic_int stop;
	const struct stack *s;
	int err;			/* errno of the first failure */
	char what[64];
};

static int fill_file(const char *path, uint64_t size, int flags, uint64_t seed)
{
	size_t chunk = 256 * KiB;
	uint64_t off;
	char *buf;
	int fd, ret = 0;

	if (posix_memalign((void **)&buf, 4096, chunk))
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | flags, 0644);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	for (off = 0; off < size && !ret; off += chunk) {
		size_t i;

		for (i = 0; i < chunk; i += 8)
			*(uint64_t *)(buf + i) = rnd(&seed);
		if (pwrite(fd, buf, chunk, off) != (ssize_t)chunk)
			ret = -errno;
	}
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	free(buf);
	return ret;
}

/* Scattered small writes into @path: O_DIRECT or buffered, fsync()ed or not. */
static int scatter(const char *path, uint64_t size, int flags, int do_fsync, uint64_t seed)
{
	char *buf;
	int fd, i, ret = 0;

	if (posix_memalign((void **)&buf, 4096, 64 * KiB))
		return -ENOMEM;
	memset(buf, (int)seed, 64 * KiB);
	fd = open(path, O_WRONLY | flags);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	for (i = 0; i < 32 && !ret; i++) {
		uint64_t len = (rnd(&seed) % 16 + 1) * 4096;
		uint64_t off = rnd(&seed) % ((size - len) / 4096) * 4096;

		if (pwrite(fd, buf, len, off) != (ssize_t)len)
			ret = -errno;
	}
	if (!ret && do_fsync && fsync(fd))
		ret = -errno;
	close(fd);
	free(buf);
	return ret;
}

static int fstrim(const char *mnt)
{
	struct fstrim_range r = { .start = 0, .len = ~0ULL, .minlen = 0 };
	int fd = open(mnt, O_RDONLY | O_DIRECTORY), ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, FITRIM, &r) ? -errno : 0;
	close(fd);
	return ret;
}

#define STEP(w, call, name) do {					\
	int _r = (call);						\
	if (_r) {							\
		(w)->err = -_r;						\
		snprintf((w)->what, sizeof((w)->what), "%s", name);	\
		return NULL;						\
	}								\
} while (0)

/* One round: every kind of write the file system turns into block I/O. */
static void *workload_run(void *arg)
{
	struct workload *w = arg;
	char a[64], b[64];
	int r;

	STEP(w, fill_file(MNT "/direct", 4 * MiB, 0, 1), "direct file");
	STEP(w, fill_file(MNT "/source", 8 * MiB, 0, 2), "source file");
	for (r = 0; !atomic_load(&w->stop); r++) {
		uint64_t seed = 0x5eed + r;

		snprintf(a, sizeof(a), MNT "/copy%d", r);
		snprintf(b, sizeof(b), MNT "/small%d", r);
		STEP(w, scatter(MNT "/direct", 4 * MiB, O_DIRECT, 0, seed), "O_DIRECT");
		STEP(w, fill_file(b, 512 * KiB, 0, seed), "buffered file");
		STEP(w, scatter(b, 512 * KiB, 0, r & 1, seed + 1), "buffered writes");
		/* a big copy: written back in requests the queue splits */
		STEP(w, sh("cp " MNT "/source %s && sync", a) ? -EIO : 0, "copy");
		/* and beside the file system: write-zeroes, O_DIRECT */
		if (w->s->raw) {
			uint64_t off = w->s->raw_off + (r % 16) * MiB;

			STEP(w, blk_ioctl_range(w->s->raw, BLKZEROOUT, off, 512 * KiB), "zeroout");
			STEP(w, write_direct(w->s->raw, off + 512 * KiB, 64 * KiB, r), "raw write");
		}
		if (r >= 1) {
			snprintf(a, sizeof(a), MNT "/copy%d", r - 1);
			STEP(w, unlink(a) ? -errno : 0, "unlink");
			sync();
			STEP(w, fstrim(MNT), "fstrim");
		}
		atomic_fetch_add(&w->rounds, 1);
	}
	return NULL;
}

/* ---- the agent ------------------------------------------------------------- */

static long read_extents(struct db *db, const char *path, const char *name,
			 struct db_extent **out)
{
	long max = 4096, n;

	for (;;) {
		*out = realloc(*out, max * sizeof(**out));
		if (!*out)
			return -ENOMEM;
		n = db_extents(db, path, name, *out, max, NULL);
		if (n <= max)
			return n;
		max = n + 1024;
	}
}

static const char *gname(unsigned int i)
{
	return i ? "g64k" : "g4k";
}

/*
 * Cut @k (1-based): the witness's phase 2k - 1 around one transaction
 * freezing every bitmap, 2k after; then epoch k - 1, frozen, read and
 * abdicated.  0 or -errno.
 */
static int cut(struct db *db, struct witness *wit, struct stack *s, unsigned int k)
{
	struct db_tx_action acts[MAX_TARGETS * NGRANS];
	int n = 0, i, ret;
	unsigned int g;

	for (i = 0; i < s->nt; i++)
		for (g = 0; g < NGRANS; g++)
			acts[n++] = (struct db_tx_action){ DIRTYBIT_CMD_BITMAP_FREEZE,
							   s->t[i].path, gname(g) };
	witness_set_phase(wit, 2 * k - 1);
	ret = db_transaction(db, acts, n);
	witness_set_phase(wit, 2 * k);
	if (ret)
		return ret;
	for (i = 0; i < s->nt; i++)
		for (g = 0; g < NGRANS; g++) {
			struct target *t = &s->t[i];
			long e = read_extents(db, t->path, gname(g), &t->ep[k - 1][g]);

			if (e < 0)
				return e;
			t->nep[k - 1][g] = e;
			ret = db_bitmap(db, DIRTYBIT_CMD_BITMAP_ABDICATE, t->path, gname(g));
			if (ret)
				return ret;
		}
	return witness_drain(wit);
}

/* ---- stacks ------------------------------------------------------------------ */

/* One MBR partition on @disk at PART_START, PART_SECTORS long. */
static int partition(const char *disk, const char *part)
{
	unsigned char mbr[512] = { 0 };
	uint32_t lba = PART_START, n = PART_SECTORS;
	int fd = open(disk, O_RDWR), ret = 0, i;

	if (fd < 0)
		return -errno;
	mbr[446 + 4] = 0x83;
	memcpy(&mbr[446 + 8], &lba, 4);
	memcpy(&mbr[446 + 12], &n, 4);
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	if (pwrite(fd, mbr, sizeof(mbr), 0) != sizeof(mbr) || fsync(fd) ||
	    ioctl(fd, BLKRRPART, 0))
		ret = -errno;
	close(fd);
	/* devtmpfs creates the partition node asynchronously */
	for (i = 0; !ret && access(part, F_OK) && i < 500; i++)
		usleep(10000);
	return ret ? ret : access(part, F_OK) ? -ENOENT : 0;
}

/* Target @path, seen by the witness as @dev's sectors [start, start + nr). */
static void add_target(struct stack *s, const char *path, const char *dev, uint64_t start,
		       uint64_t nr)
{
	struct target *t = &s->t[s->nt++];

	t->path = path;
	t->view = (struct witness_view){ witness_dev(dev), start, nr, nr << 9 };
}

/*
 * The witness watches @dev, whose writes complete on tracepoint @src: a
 * blk-mq disk's on block_rq_complete, a bio-based device's (dm, md) on
 * block_bio_complete.
 */
static void add_watch(struct stack *s, const char *dev, int src)
{
	s->watch_src[s->nwatch] = src;
	s->watch[s->nwatch++] = dev;
}

enum kind { PARTITION, DM_LINEAR, MD_RAID0 };

static int stack_up(struct stack *s, enum kind kind)
{
	const uint64_t disk = 1ULL << 30;
	int ret;

	memset(s, 0, sizeof(*s));
	switch (kind) {
	case PARTITION:
		ret = partition("/dev/vda", "/dev/vda1");
		if (ret)
			return ret;
		s->fs_dev = "/dev/vda1";
		add_target(s, "/dev/vda1", "/dev/vda", PART_START, PART_SECTORS);
		add_watch(s, "/dev/vda", WITNESS_SRC_RQ);
		s->raw = "/dev/vda";
		s->raw_off = 700 * MiB;
		break;
	case DM_LINEAR:
		if (sh("modprobe dm-mod") ||
		    sh(DMSETUP " create " DM_NAME " --table '0 %d linear /dev/vdb %d'",
		       DM_SECTORS, DM_OFFSET))
			return -EIO;
		s->fs_dev = DM_PATH;
		add_target(s, DM_PATH, DM_PATH, 0, DM_SECTORS);
		add_target(s, "/dev/vdb", "/dev/vdb", 0, disk >> 9);
		add_watch(s, DM_PATH, WITNESS_SRC_BIO);
		add_watch(s, "/dev/vdb", WITNESS_SRC_RQ);
		s->raw = "/dev/vdb";
		s->raw_off = 800 * MiB;
		break;
	case MD_RAID0:
		if (sh("modprobe raid0") ||
		    sh("i=0; while [ -e /sys/block/md0/md ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; "
		       "mdadm --build /dev/md0 --level=0 --chunk=64 --raid-devices=2 /dev/vda /dev/vdb >/dev/null 2>&1"))
			return -EIO;
		s->fs_dev = "/dev/md0";
		add_target(s, "/dev/md0", "/dev/md0", 0, 2 * disk >> 9);
		add_target(s, "/dev/vda", "/dev/vda", 0, disk >> 9);
		add_target(s, "/dev/vdb", "/dev/vdb", 0, disk >> 9);
		add_watch(s, "/dev/md0", WITNESS_SRC_BIO);
		add_watch(s, "/dev/vda", WITNESS_SRC_RQ);
		add_watch(s, "/dev/vdb", WITNESS_SRC_RQ);
		break;
	}
	/* Small requests: a big write is split into many. */
	sh("for q in /sys/block/vda/queue /sys/block/vdb/queue; do echo 64 > $q/max_sectors_kb; done");
	return 0;
}

static void stack_down(struct stack *s)
{
	int i, k;
	unsigned int g;

	umount(MNT);
	sh("DM_DISABLE_UDEV=1 dmsetup remove " DM_NAME " 2>/dev/null");
	sh("mdadm --stop /dev/md0 >/dev/null 2>&1");
	/* the partition table goes, so the next stack starts from bare disks */
	sh("dd if=/dev/zero of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null; "
	   "blockdev --rereadpt /dev/vda 2>/dev/null");
	for (i = 0; i < s->nt; i++)
		for (k = 0; k < CUTS; k++)
			for (g = 0; g < NGRANS; g++)
				free(s->t[i].ep[k][g]);
}

static int mkfs_mount(const char *fs, const char *dev)
{
	if (!strcmp(fs, "ext4")) {
		if (sh("modprobe crc32c_generic && modprobe ext4") ||
		    sh(MKE2FS " -q -F -t ext4 -E nodiscard,lazy_itable_init=0,"
		       "lazy_journal_init=0 %s", dev))
			return -EIO;
	} else if (sh("modprobe xfs") || sh("mkfs.xfs -q -f -K %s", dev)) {
		return -EIO;
	}
	mkdir(MNT, 0755);
	return mount(dev, MNT, fs, 0, NULL) ? -errno : 0;
}

/* ---- the run ------------------------------------------------------------------ */

struct totals {
	uint64_t ranges, lost, extra, dirty;
	uint64_t ops[16], bytes[16];
};

/* Adds @b to @a. */
static void totals_add(struct totals *a, const struct totals *b)
{
	int op;

	a->ranges += b->ranges;
	a->lost += b->lost;
	a->extra += b->extra;
	a->dirty += b->dirty;
	for (op = 0; op < 16; op++) {
		a->ops[op] += b->ops[op];
		a->bytes[op] += b->bytes[op];
	}
}

/*
 * Runs the workload over stack @kind with file system @fs, cutting under
 * it; checks every epoch of every bitmap of every target against the
 * witness and sums what it found into @sum, and target by target (in
 * stack_up()'s order, the top one first) into @per.  0, or -errno of a
 * step.
 */
static int witness_run(struct __test_metadata *_metadata, enum kind kind, const char *fs,
		       const char *params, struct totals *sum, struct totals per[MAX_TARGETS])
{
	struct witness wit;
	struct workload w = { 0 };
	struct stack s;
	struct db db;
	unsigned int k, g;
	int i, ret;

	memset(sum, 0, sizeof(*sum));
	memset(per, 0, MAX_TARGETS * sizeof(*per));
	if (dirtybit_loaded())
		EXPECT_EQ(0, dirtybit_unload());
	ret = dirtybit_load_params(params);
	if (ret)
		return ret;
	ret = stack_up(&s, kind);
	if (ret)
		goto out;
	ret = mkfs_mount(fs, s.fs_dev);
	if (ret)
		goto out;
	sync();
	ret = witness_open(&wit);
	if (ret) {
		TH_LOG("witness: %s", strerror(-ret));
		goto out;
	}
	for (i = 0; i < s.nwatch && !ret; i++) {
		ret = witness_watch(&wit, s.watch[i]);
		/* It reads a request as one range: no multi-range discards. */
		if (s.watch_src[i] == WITNESS_SRC_RQ)
			EXPECT_EQ(0, sh("[ \"$(cat /sys/block/%s/queue/max_discard_segments)\" = 1 ]",
					strrchr(s.watch[i], '/') + 1))
				TH_LOG("%s takes multi-range discards", s.watch[i]);
	}
	ret = ret ?: db_open(&db);
	if (ret)
		goto out_wit;
	for (i = 0; i < s.nt && !ret; i++) {
		ret = db_attach(&db, s.t[i].path) < 0 ? -EIO : 0;
		for (g = 0; g < NGRANS && !ret; g++)
			ret = db_add(&db, s.t[i].path, gname(g), grans[g], 0);
		if (ret)
			TH_LOG("%s: %s", s.t[i].path, db.nl.extack);
	}
	if (ret)
		goto out_db;

	w.s = &s;
	ret = pthread_create(&w.thread, NULL, workload_run, &w);
	if (ret) {
		ret = -ret;
		goto out_db;
	}
	/* Cuts 1 .. CUTS - 2 race the workload's rounds; then it stops. */
	for (k = 1; k <= CUTS - 2 && !ret; k++) {
		while (atomic_load(&w.rounds) < (int)k && !w.err)
			usleep(1000);
		ret = w.err ? -w.err : cut(&db, &wit, &s, k);
	}
	atomic_store(&w.stop, 1);
	pthread_join(w.thread, NULL);
	if (w.err) {
		TH_LOG("workload: %s: %s", w.what, strerror(w.err));
		ret = -w.err;
	}
	sync();
	for (; k <= CUTS && !ret; k++)
		ret = cut(&db, &wit, &s, k);
	if (ret)
		goto out_db;
	EXPECT_EQ(0, witness_dropped(&wit));

	/* Epochs 1 .. CUTS - 2: each with both cuts around it known. */
	for (i = 0; i < s.nt; i++)
		for (g = 0; g < NGRANS; g++) {
			struct target *t = &s.t[i];
			struct totals tt = { 0 };

			for (k = 1; k <= CUTS - 2; k++) {
				struct witness_result res;
				int op;

				ret = witness_check(&wit, &t->view, grans[g], k,
						    t->ep[k][g], t->nep[k][g],
						    t->ep[k + 1][g], t->nep[k + 1][g], &res);
				if (ret)
					goto out_db;
				if (res.lost)
					TH_LOG("%s %s epoch %u: %llu granules lost, the first at byte %llu",
					       t->path, gname(g), k, (unsigned long long)res.lost,
					       (unsigned long long)res.first_lost);
				tt.ranges += res.ranges;
				tt.lost += res.lost;
				tt.extra += res.extra;
				tt.dirty += res.dirty;
				for (op = 0; op < 16; op++) {
					tt.ops[op] += res.ops[op];
					tt.bytes[op] += res.bytes[op];
				}
			}
			ksft_print_msg("witness %s %s %s %s: %llu ranges (write %llu: %llu MiB, discard %llu: %llu MiB, write-zeroes %llu: %llu MiB); %llu dirty granules, lost %llu, extra %llu\n",
				       kind == PARTITION ? "partition" : kind == DM_LINEAR ?
				       "dm-linear" : "md-raid0", fs, t->path, gname(g),
				       (unsigned long long)tt.ranges,
				       (unsigned long long)tt.ops[WITNESS_OP_WRITE],
				       (unsigned long long)(tt.bytes[WITNESS_OP_WRITE] >> 20),
				       (unsigned long long)tt.ops[WITNESS_OP_DISCARD],
				       (unsigned long long)(tt.bytes[WITNESS_OP_DISCARD] >> 20),
				       (unsigned long long)tt.ops[WITNESS_OP_WRITE_ZEROES],
				       (unsigned long long)(tt.bytes[WITNESS_OP_WRITE_ZEROES] >> 20),
				       (unsigned long long)tt.dirty, (unsigned long long)tt.lost,
				       (unsigned long long)tt.extra);
			/* Every target is written: a check of nothing passes. */
			EXPECT_LT(0, tt.ranges) TH_LOG("%s %s: the witness saw no range",
						       t->path, gname(g));
			totals_add(sum, &tt);
			totals_add(&per[i], &tt);
		}
	for (i = 0; i < s.nwatch; i++) {
		struct witness_seen seen = witness_seen(&wit, s.watch[i]);

		ksft_print_msg("witness %s: block_rq_complete %llu, block_bio_complete %llu\n",
			       s.watch[i], (unsigned long long)seen.n[WITNESS_SRC_RQ],
			       (unsigned long long)seen.n[WITNESS_SRC_BIO]);
		EXPECT_LT(0, seen.n[s.watch_src[i]])
			TH_LOG("%s: nothing completed on %s", s.watch[i],
			       s.watch_src[i] == WITNESS_SRC_RQ ? "block_rq_complete" :
			       "block_bio_complete");
		/* and nothing on the other (docs/TESTING.md) */
		EXPECT_EQ(0, seen.n[!s.watch_src[i]]);
	}
out_db:
	for (i = 0; i < s.nt; i++)
		db_detach(&db, s.t[i].path);
	nl_close(&db.nl);
out_wit:
	witness_close(&wit);
out:
	stack_down(&s);
	EXPECT_EQ(0, dirtybit_unload());
	return ret;
}

FIXTURE(witness) {
	int unused;
};

FIXTURE_VARIANT(witness) {
	const char *fs;
};

FIXTURE_VARIANT_ADD(witness, ext4) {
	.fs = "ext4",
};

FIXTURE_VARIANT_ADD(witness, xfs) {
	.fs = "xfs",
};

FIXTURE_SETUP(witness)
{
}

FIXTURE_TEARDOWN(witness)
{
}

/*
 * No lost bit and no unexplained dirt on any target of the stack, over
 * epochs that held writes and discards (fstrim), and write-zeroes where
 * they land on a target (the dm stack's disk, beside dm-linear).
 */
static void exact(struct __test_metadata *_metadata, enum kind kind, const char *fs)
{
	/* by hand: --env WITNESS_MODULE_PARAMS=drop_mark_one_in=10 must fail */
	const char *params = getenv("WITNESS_MODULE_PARAMS");
	struct totals sum, per[MAX_TARGETS];

	ASSERT_EQ(0, witness_run(_metadata, kind, fs, params ? params : "", &sum, per));
	EXPECT_LT(0, sum.ranges);
	EXPECT_LT(0, sum.ops[WITNESS_OP_WRITE]);
	EXPECT_LT(0, sum.ops[WITNESS_OP_DISCARD]);
	if (kind == DM_LINEAR)
		EXPECT_LT(0, per[1].ops[WITNESS_OP_WRITE_ZEROES]);
	EXPECT_EQ(0, sum.lost);
	EXPECT_EQ(0, sum.extra);
}

TEST_F_TIMEOUT(witness, partition, 600)
{
	exact(_metadata, PARTITION, variant->fs);
}

TEST_F_TIMEOUT(witness, dm_linear, 600)
{
	exact(_metadata, DM_LINEAR, variant->fs);
}

TEST_F_TIMEOUT(witness, md_raid0, 600)
{
	exact(_metadata, MD_RAID0, variant->fs);
}

/*
 * The witness has teeth: with one block mark in 10 dropped, it finds lost
 * bits (the same check that passes above) on the partition of a blk-mq
 * disk, marked as requests complete, and on dm-linear, a bio-based device
 * marked at submission: the dm target itself loses bits, not only the
 * disk below it.
 */
FIXTURE(drop) {
	int unused;
};

FIXTURE_SETUP(drop)
{
}

FIXTURE_TEARDOWN(drop)
{
}

TEST_F_TIMEOUT(drop, one_mark_in_10_is_caught, 600)
{
	struct totals sum, per[MAX_TARGETS];

	ASSERT_EQ(0, witness_run(_metadata, PARTITION, "ext4", "drop_mark_one_in=10", &sum,
				 per));
	EXPECT_LT(0, sum.ranges);
	EXPECT_LT(0, sum.lost);
}

TEST_F_TIMEOUT(drop, one_mark_in_10_is_caught_on_dm_linear, 600)
{
	struct totals sum, per[MAX_TARGETS];

	ASSERT_EQ(0, witness_run(_metadata, DM_LINEAR, "ext4", "drop_mark_one_in=10", &sum,
				 per));
	EXPECT_LT(0, per[0].ranges);
	EXPECT_LT(0, per[0].lost) TH_LOG("%s lost nothing", DM_PATH);
}

NEEDS_SCRATCH_DISKS
NEEDS_HARNESS_MAIN("dirtybit dm-mod raid0 ext4 crc32c_generic xfs", "dmsetup mdadm mkfs.xfs mke2fs")
