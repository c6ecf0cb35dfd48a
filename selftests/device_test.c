// SPDX-License-Identifier: GPL-2.0
/*
 * Exact dirty sets on the devices a backup agent meets beyond brd: a
 * memory-backed null_blk disk (blk-mq, discards), device-mapper devices
 * stacked above a tracked disk, and ext4 mounted on a virtio disk, attached
 * live.  Each is compared with a model the test keeps, granule by granule.
 */
#include <sys/mount.h>
#include <linux/fiemap.h>

#include "kselftest_harness.h"
#include "dm.h"
#include "model.h"
#include "needs.h"
#include "run.h"

#define NULLB_DIR	"/sys/kernel/config/nullb/dbnull"
#define NULLB_SIZE	(64 * MiB)

/* null_blk names a configfs device after its directory, or nullb<index>. */
static int nullb_path(char *path, size_t size)
{
	char buf[32] = "";
	FILE *f;

	snprintf(path, size, "/dev/dbnull");
	if (access("/sys/block/dbnull", F_OK) == 0)
		return 0;
	f = fopen(NULLB_DIR "/index", "r");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	snprintf(path, size, "/dev/nullb%d", atoi(buf));
	return access(path, F_OK) ? -ENOENT : 0;
}

TEST(null_blk_memory_backed)
{
	static const uint32_t grans[] = { 4096, 65536 };
	char path[64], name[16], idstr[16];
	struct model m[2];
	struct db db;
	int k, id;

	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, sh("modprobe null_blk nr_devices=0"));
	/* configfs is a module on Debian: mountable once null_blk pulled it in */
	ASSERT_EQ(0, sh("grep -q configfs /proc/mounts || "
			"mount -t configfs configfs /sys/kernel/config"));
	ASSERT_EQ(0, sh("mkdir " NULLB_DIR " && cd " NULLB_DIR " && echo %llu > size && "
			"echo 1 > memory_backed && echo 1 > discard && echo 1 > power",
			NULLB_SIZE / MiB));
	/* The configfs device node is named differently on 6.1 and 6.12. */
	ASSERT_EQ(0, nullb_path(path, sizeof(path)));
	ASSERT_EQ(0, db_open(&db));
	id = db_attach(&db, path);
	ASSERT_LT(0, id) TH_LOG("%s: %s", path, db.nl.extack);
	for (k = 0; k < 2; k++) {
		snprintf(name, sizeof(name), "g%u", grans[k]);
		ASSERT_EQ(0, db_add(&db, path, name, grans[k], 0));
		model_init(&m[k], NULLB_SIZE, grans[k]);
	}
	ASSERT_EQ(0, random_writes(path, NULLB_SIZE, 0xb1, 300, m, 2, 0, 1));
	ASSERT_EQ(0, read_all(path));
	for (k = 0; k < 2; k++) {
		struct db_bitmap_info bi;
		const char *why;

		snprintf(name, sizeof(name), "g%u", grans[k]);
		why = model_compare(&db, path, name, &m[k]);
		EXPECT_EQ(NULL, why) TH_LOG("%s: %s", name, why);
		ASSERT_EQ(0, db_info(&db, path, name, &bi));
		EXPECT_EQ(model_count(&m[k]), bi.count);
	}
	/* Removed while attached: the target goes gone, its bitmaps stay. */
	snprintf(idstr, sizeof(idstr), "%d", id);
	EXPECT_EQ(0, sh("echo 0 > " NULLB_DIR "/power && rmdir " NULLB_DIR));
	EXPECT_EQ(DIRTYBIT_TARGET_GONE, db_target_state(&db, idstr));
	for (k = 0; k < 2; k++) {
		struct db_bitmap_info bi;

		snprintf(name, sizeof(name), "g%u", grans[k]);
		EXPECT_STREQ("", model_compare(&db, idstr, name, &m[k]) ?: "");
		ASSERT_EQ(0, db_info(&db, idstr, name, &bi));
		EXPECT_EQ(model_count(&m[k]), bi.count);
	}
	EXPECT_EQ(0, db_detach(&db, idstr));
	nl_close(&db.nl);
	EXPECT_EQ(0, sh("rmmod null_blk"));
}

/* ---- device-mapper above a tracked disk ------------------------------------- */

#define RAM_SIZE	(64 * MiB)

/*
 * Writes to a linear device and to a two-segment concatenation over
 * ram0 reach it remapped by device-mapper; the bitmap on ram0 has them at
 * ram0's offsets.
 */
TEST(device_mapper_above_a_tracked_disk)
{
	struct model m;
	struct db db;

	ASSERT_EQ(0, dirtybit_load());
	sh("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, sh("modprobe brd rd_nr=1 rd_size=%llu", RAM_SIZE / KiB));
	ASSERT_EQ(0, db_open(&db));
	ASSERT_LT(0, db_attach(&db, "/dev/ram0")) TH_LOG("%s", db.nl.extack);
	ASSERT_EQ(0, db_add(&db, "/dev/ram0", "b", 4096, 0));
	model_init(&m, RAM_SIZE, 4096);

	/* 32 MiB of ram0 from 16 MiB on */
	ASSERT_EQ(0, sh(DMSETUP " create dirtybit-lin --table '0 65536 linear /dev/ram0 32768'"));
	ASSERT_EQ(0, random_writes("/dev/mapper/dirtybit-lin", 32 * MiB, 0xd1, 150, &m, 1,
				   16 * MiB, 0));
	/* 8 MiB at 56 MiB, then 8 MiB at 0: the second segment starts at 8 MiB */
	ASSERT_EQ(0, sh("printf '0 16384 linear /dev/ram0 114688\\n16384 16384 linear /dev/ram0 0\\n' | "
			DMSETUP " create dirtybit-cat"));
	ASSERT_EQ(0, write_direct("/dev/mapper/dirtybit-cat", 8 * MiB - 8 * KiB, 16 * KiB, 7));
	model_mark(&m, 64 * MiB - 8 * KiB, 8 * KiB);
	model_mark(&m, 0, 8 * KiB);
	ASSERT_EQ(0, write_direct("/dev/mapper/dirtybit-cat", 12 * MiB, 4 * KiB, 8));
	model_mark(&m, 4 * MiB, 4 * KiB);

	EXPECT_STREQ("", model_compare(&db, "/dev/ram0", "b", &m) ?: "");
	EXPECT_EQ(0, sh(DMSETUP " remove dirtybit-lin && " DMSETUP " remove dirtybit-cat"));
	EXPECT_EQ(0, db_detach(&db, "/dev/ram0"));
	nl_close(&db.nl);
	sh("rmmod brd");
}

/* ---- ext4 on a virtio disk, mounted, attached live -------------------------- */

#define FS_DISK		"/dev/vdb"
#define FS_MNT		"/mnt"
#define FS_BLOCK	4096
#define HOT_SIZE	(16 * MiB)
#define COLD_SIZE	(8 * MiB)

static int write_file(const char *path, uint64_t size, int byte)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), ret = 0;
	char *buf = malloc(MiB);
	uint64_t off;

	memset(buf, byte, MiB);
	for (off = 0; fd >= 0 && off < size && !ret; off += MiB)
		if (write(fd, buf, MiB) != (ssize_t)MiB)
			ret = -errno;
	if (fd < 0 || fsync(fd))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/*
 * The disk block of every file block of @path, from FIEMAP (the file is
 * written and fsynced, so there are no delayed or unwritten extents).
 */
static int file_map(const char *path, uint64_t *phys, uint64_t nblocks)
{
	size_t size = sizeof(struct fiemap) + 512 * sizeof(struct fiemap_extent);
	struct fiemap *fm = calloc(1, size);
	int fd = open(path, O_RDONLY), ret = 0;
	uint32_t i;
	uint64_t b;

	for (b = 0; b < nblocks; b++)
		phys[b] = ~0ULL;
	fm->fm_length = ~0ULL;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = 512;
	if (fd < 0 || ioctl(fd, FS_IOC_FIEMAP, fm))
		ret = -errno;
	for (i = 0; !ret && i < fm->fm_mapped_extents; i++) {
		struct fiemap_extent *e = &fm->fm_extents[i];

		for (b = e->fe_logical / FS_BLOCK;
		     b < (e->fe_logical + e->fe_length) / FS_BLOCK && b < nblocks; b++)
			phys[b] = (e->fe_physical + b * FS_BLOCK - e->fe_logical) / FS_BLOCK;
	}
	for (b = 0; !ret && b < nblocks; b++)
		if (phys[b] == ~0ULL)
			ret = -ENODATA;
	if (fd >= 0)
		close(fd);
	free(fm);
	return ret;
}

static struct db_extent fs_ext[65536];

/*
 * Overwrites in a file, O_DIRECT and buffered: the granules of the file
 * blocks written are all dirty; no other block of that file nor of a file
 * left alone is; what remains is file system metadata (journal, inode).
 */
FIXTURE(ext4) {
	int unused;
};

FIXTURE_SETUP(ext4)
{
}

FIXTURE_TEARDOWN(ext4)
{
}

TEST_F_TIMEOUT(ext4, on_virtio_mounted_and_live, 300)
{
	uint64_t nhot = HOT_SIZE / FS_BLOCK, ncold = COLD_SIZE / FS_BLOCK;
	uint64_t *hot = calloc(nhot, 8), *cold = calloc(ncold, 8), seed = 0xe4;
	unsigned char *written = calloc(nhot, 1), *dirty, *data;
	uint64_t disk_blocks, b, missing = 0, extra_data = 0, metadata = 0;
	struct db db;
	long i, n;
	int fd;

	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, sh(MKE2FS " -q -F -t ext4 -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 "
			FS_DISK));
	/* ext4 wants crc32c, which nothing in this initramfs loads for it */
	ASSERT_EQ(0, sh("modprobe crc32c_generic && modprobe ext4"));
	ASSERT_EQ(0, mount(FS_DISK, FS_MNT, "ext4", 0, NULL));
	ASSERT_EQ(0, write_file(FS_MNT "/hot", HOT_SIZE, 1));
	ASSERT_EQ(0, write_file(FS_MNT "/cold", COLD_SIZE, 2));
	sync();

	ASSERT_EQ(0, db_open(&db));
	ASSERT_LT(0, db_attach(&db, FS_DISK)) TH_LOG("%s", db.nl.extack);
	ASSERT_EQ(0, db_add(&db, FS_DISK, "b", FS_BLOCK, 0));
	for (i = 0; i < 200; i++) {
		uint64_t len = (rnd(&seed) % 16 + 1) * FS_BLOCK;
		uint64_t off = rnd(&seed) % (nhot - len / FS_BLOCK) * FS_BLOCK;

		ASSERT_EQ(0, write_at(FS_MNT "/hot", off, len, i, i % 2 ? O_DIRECT : 0));
		for (b = off / FS_BLOCK; b < (off + len) / FS_BLOCK; b++)
			written[b] = 1;
	}
	sync();
	ASSERT_EQ(0, file_map(FS_MNT "/hot", hot, nhot));
	ASSERT_EQ(0, file_map(FS_MNT "/cold", cold, ncold));

	fd = open(FS_DISK, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, BLKGETSIZE64, &disk_blocks));
	close(fd);
	disk_blocks /= FS_BLOCK;
	dirty = calloc(disk_blocks, 1);
	data = calloc(disk_blocks, 1);	/* 1: a written hot block, 2: other file data */
	n = db_extents(&db, FS_DISK, "b", fs_ext, 65536, NULL);
	ASSERT_LE(0, n);
	ASSERT_GE(65536, n);
	for (i = 0; i < n; i++)
		for (b = fs_ext[i].start / FS_BLOCK;
		     b < (fs_ext[i].start + fs_ext[i].length) / FS_BLOCK; b++)
			dirty[b] = 1;
	for (b = 0; b < nhot; b++)
		data[hot[b]] = written[b] ? 1 : 2;
	for (b = 0; b < ncold; b++)
		data[cold[b]] = 2;
	for (b = 0; b < disk_blocks; b++) {
		missing += data[b] == 1 && !dirty[b];
		extra_data += data[b] == 2 && dirty[b];
		metadata += !data[b] && dirty[b];
	}
	TH_LOG("%ld extents; file blocks written not dirty %llu, file blocks dirty not written %llu, metadata blocks %llu",
	       n, (unsigned long long)missing, (unsigned long long)extra_data,
	       (unsigned long long)metadata);
	EXPECT_EQ(0, missing);
	EXPECT_EQ(0, extra_data);

	EXPECT_EQ(0, umount(FS_MNT));
	EXPECT_EQ(0, db_detach(&db, FS_DISK));
	nl_close(&db.nl);
	free(hot);
	free(cold);
	free(written);
	free(dirty);
	free(data);
}

NEEDS_SCRATCH_DISKS
NEEDS_HARNESS_MAIN("dirtybit brd null_blk dm-mod ext4 crc32c_generic", "dmsetup mke2fs")
