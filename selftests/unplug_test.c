// SPDX-License-Identifier: GPL-2.0
/*
 * A virtio disk hot-unplugged while attached and written to: the target
 * goes gone, an event says so, the bitmap keeps every write made before,
 * and the kernel log stays clean.  The rig does the unplug (device_del
 * through QEMU's monitor) when the test asks on the console; /dev/vdb is
 * gone for the rest of the boot, so this test runs after the others.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "model.h"
#include "needs.h"

#define DISK		"/dev/vdb"
#define DISK_SYSFS	"/sys/block/vdb"

#define RACE_AREA	(512 * MiB)	/* the writer racing the unplug: 4 MiB here */
#define RACE_BLOCKS	1024

static atomic_int stop;
static unsigned char written[RACE_BLOCKS];	/* completed writes of the racer */
static struct db_extent ext[16384];

/* Writes until the disk is gone (then the writes fail) or told to stop. */
static void *writer(void *arg)
{
	int fd = open(DISK, O_WRONLY | O_DIRECT);
	uint64_t seed = 7, n = 0, b;
	void *buf;

	if (fd < 0 || posix_memalign(&buf, 4096, 4096))
		return NULL;
	memset(buf, 0x77, 4096);
	while (!atomic_load(&stop)) {
		b = rnd(&seed) % RACE_BLOCKS;
		if (pwrite(fd, buf, 4096, RACE_AREA + b * 4096) != 4096)
			break;
		written[b] = 1;
		n++;
	}
	close(fd);
	free(buf);
	return (void *)(uintptr_t)n;
}

/* Granule @g of the bitmap (4 KiB) is dirty, by the extents in ext[0..n). */
static int dirty(long n, uint64_t off)
{
	long i;

	for (i = 0; i < n; i++)
		if (off >= ext[i].start && off < ext[i].start + ext[i].length)
			return 1;
	return 0;
}

TEST(virtio_disk_unplugged_while_attached)
{
	char idstr[16];
	pthread_t th;
	struct model m;
	struct db db;
	void *writes;
	long n, g;
	int id, i;

	if (access(DISK_SYSFS, F_OK))
		SKIP(return, "no " DISK " to unplug (not under tools/vm/run?)");
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, db_open(&db));
	id = db_attach(&db, DISK);
	ASSERT_LT(0, id) TH_LOG("%s", db.nl.extack);
	snprintf(idstr, sizeof(idstr), "%d", id);
	ASSERT_EQ(0, db_add(&db, DISK, "b", 4096, 0));
	model_init(&m, RACE_AREA, 4096);
	ASSERT_EQ(0, random_writes(DISK, RACE_AREA, 0x0b, 100, &m, 1, 0, 0));

	/* I/O runs while the disk goes */
	ASSERT_EQ(0, pthread_create(&th, NULL, writer, NULL));
	printf("DIRTYBIT-RIG: unplug vdb\n");
	fflush(stdout);
	/* pciehp waits 5 s for the attention button; poll, do not assume */
	for (i = 0; i < 1200 * (int)needs_timeout_scale() && access(DISK_SYSFS, F_OK) == 0; i++)
		usleep(100000);
	ASSERT_NE(0, access(DISK_SYSFS, F_OK)) TH_LOG("the disk was not unplugged");
	atomic_store(&stop, 1);
	pthread_join(th, &writes);
	TH_LOG("%lu writes while the disk went away", (unsigned long)(uintptr_t)writes);

	EXPECT_EQ(DIRTYBIT_TARGET_GONE, db_target_state(&db, idstr));
	/* The writes before the unplug, exactly. */
	n = db_extents_in(&db, idstr, "b", 0, RACE_AREA, ext, 16384, NULL);
	ASSERT_LE(0, n);
	ASSERT_GE(16384, n);
	for (g = 0; g < (long)(RACE_AREA / 4096); g++)
		ASSERT_EQ(m.bit[g], dirty(n, g * 4096)) TH_LOG("granule %ld", g);
	/* Every write of the racer that completed is there. */
	n = db_extents_in(&db, idstr, "b", RACE_AREA, RACE_BLOCKS * 4096, ext, 16384, NULL);
	ASSERT_LE(0, n);
	for (g = 0; g < RACE_BLOCKS; g++)
		if (written[g])
			ASSERT_EQ(1, dirty(n, RACE_AREA + g * 4096)) TH_LOG("racer block %ld", g);
	EXPECT_EQ(-ENODEV, db_add(&db, idstr, "c", 0, 0));
	EXPECT_EQ(-ENODEV, db_bitmap(&db, DIRTYBIT_CMD_BITMAP_FREEZE, idstr, "b"));
	EXPECT_EQ(0, db_detach(&db, idstr));
	nl_close(&db.nl);
	free(m.bit);
}

NEEDS_SCRATCH_DISKS
NEEDS_HARNESS_MAIN("dirtybit virtio_blk", "")
