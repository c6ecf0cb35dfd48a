// SPDX-License-Identifier: GPL-2.0
/*
 * `dirtybit image` on live regions: a save while a writer process never
 * stops equals the region as copied under the writer hold, byte for byte;
 * a save killed with SIGKILL leaves no freeze behind and an incomplete file
 * only, and the next save is complete; an image loads back into a region.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "module.h"
#include "needs.h"
#include "region.h"
#include "run.h"

#define CLI		"dirtybit"
#define SIZE		(64UL << 20)
#define NODE		"/dev/" DIRTYBIT_REGION_NODE_DIR "/img"
#define HELD_COPY	"cat " NODE " > /tmp/held.bin"

static struct run r;

FIXTURE(image) {
	int fd;
	unsigned char *map;
	pid_t writer;
	volatile unsigned long *writes;	/* shared with the writer */
};

/* Random writes, nine in ten to a hot eighth of the region, in bursts. */
static void writer(unsigned char *map, volatile unsigned long *writes)
{
	unsigned int seed = 7;

	for (;;) {
		unsigned long page = rand_r(&seed) % (SIZE / PAGE / (rand_r(&seed) % 10 ? 8 : 1));

		map[page * PAGE + rand_r(&seed) % PAGE] = (unsigned char)(1 + rand_r(&seed) % 255);
		if (!(++*writes % 16))
			usleep(100);	/* passes see a part of the region dirty */
	}
}

FIXTURE_SETUP(image)
{
	ASSERT_EQ(0, dirtybit_load());
	self->fd = region_create("img", SIZE, DIRTYBIT_REGION_F_NODE, NULL);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s", strerror(-self->fd));
	self->map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	self->writes = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->writes);
	self->writer = fork();
	if (!self->writer)
		writer(self->map, self->writes);
	while (*self->writes < 1000)
		usleep(1000);
	system("rm -f /tmp/*.img /tmp/*.img.partial /tmp/held.bin");
}

FIXTURE_TEARDOWN(image)
{
	if (self->writer > 0) {
		kill(self->writer, SIGKILL);
		waitpid(self->writer, NULL, 0);
	}
	munmap(self->map, SIZE);
	close(self->fd);
	system(CLI " detach img 2>/dev/null");
	system("rm -f /tmp/*.img /tmp/*.img.partial /tmp/held.bin");
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_size;
}

TEST_F(image, live_save_equals_the_copy_taken_under_the_hold)
{
	unsigned long before = *self->writes;
	int n, held;

	ASSERT_EQ(0, run(&r, CLI " -j image save --passes 5 --threads 2 --exec-held '"
			 HELD_COPY "' /tmp/live.img img")) TH_LOG("%s", r.err);
	TH_LOG("%s", r.out);
	n = image_save_passes(r.out, &held);
	EXPECT_LE(2, n);
	EXPECT_GE(5, n);
	EXPECT_EQ(1, held);
	/* The writer ran on during the save (and again after the hold). */
	EXPECT_LT(before, *self->writes);
	EXPECT_EQ(0, run(&r, CLI " image verify /tmp/live.img img=/tmp/held.bin"))
		TH_LOG("%s", r.err);
	/* Later passes rewrote pages in place: the file never grew. */
	EXPECT_GE(SIZE + (2 << 20), file_size("/tmp/live.img"));
	/* The save's bitmap is gone. */
	ASSERT_EQ(0, run(&r, CLI " bitmap list img"));
	EXPECT_EQ(NULL, strstr(r.out, "image"));

	/* Loaded back into the region (writer stopped): the held copy. */
	kill(self->writer, SIGKILL);
	waitpid(self->writer, NULL, 0);
	self->writer = 0;
	memset(self->map, 0xee, SIZE);
	ASSERT_EQ(0, run(&r, CLI " image load /tmp/live.img")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, "cmp " NODE " /tmp/held.bin")) TH_LOG("%s", r.out);
}

TEST_F(image, killed_save_leaves_no_freeze_and_the_next_save_is_complete)
{
	pid_t save;
	int i, frozen = 1;

	save = fork();
	if (!save) {
		freopen("/dev/null", "w", stderr);	/* no progress on the console */
		execlp(CLI, CLI, "image", "save", "--passes", "64", "--threshold", "0",
		       "/tmp/killed.img", "img", (char *)NULL);
		_exit(127);
	}
	while (file_size("/tmp/killed.img.partial") < 0)
		usleep(1000);
	usleep(300000);		/* somewhere in its passes; any point will do */
	kill(save, SIGKILL);
	ASSERT_EQ(save, waitpid(save, NULL, 0));

	/* The kernel reclaims the freeze of the dead socket. */
	for (i = 0; i < 100 && frozen; i++) {
		ASSERT_EQ(0, run(&r, CLI " bitmap list img"));
		frozen = strstr(r.out, "frozen") != NULL;
		if (frozen)
			usleep(100000);
	}
	EXPECT_FALSE(frozen) TH_LOG("%s", r.out);
	EXPECT_GT(0, file_size("/tmp/killed.img"));
	/* What it left says it is incomplete (or is not an image at all). */
	if (run(&r, CLI " image info /tmp/killed.img.partial") == 0)
		EXPECT_NE(NULL, strstr(r.out, "INCOMPLETE")) TH_LOG("%s", r.out);
	EXPECT_EQ(1, run(&r, CLI " image load /tmp/killed.img.partial img=/tmp/x.bin"));

	/* The next save reuses the bitmap left behind and is complete. */
	ASSERT_EQ(0, run(&r, CLI " image save --passes 3 --exec-held '" HELD_COPY
			 "' /tmp/next.img img")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, CLI " image verify /tmp/next.img img=/tmp/held.bin"))
		TH_LOG("%s", r.err);
}

/*
 * For QEMU on the host: an image of a region named "ram" (a writer running
 * during the save) and the copy taken under the hold, as a tar archive in
 * slot 0 of the rig's export disk; after the run tools/vm/run has QEMU load
 * the image and compares guest RAM with the copy
 * (tests/host/export_check.py).
 */
#define EXPORT_SLOT0	"/dev/vdc"	/* the first 256 MiB */
#define RAM_SIZE	(32UL << 20)
#define RAM_NODE	"/dev/" DIRTYBIT_REGION_NODE_DIR "/ram"

TEST_F(image, region_named_ram_exported_for_qemu)
{
	int fd = region_create("ram", RAM_SIZE, DIRTYBIT_REGION_F_NODE, NULL);
	unsigned char *ram;
	pid_t w;

	ASSERT_LE(0, fd) TH_LOG("create: %s", strerror(-fd));
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, ram);
	w = fork();
	if (!w) {
		unsigned int seed = 11;

		for (;;) {
			ram[rand_r(&seed) % RAM_SIZE] = (unsigned char)rand_r(&seed);
			if (!(rand_r(&seed) % 16))
				usleep(100);
		}
	}
	usleep(200000);
	ASSERT_EQ(0, run(&r, CLI " image save --passes 4 --exec-held 'cat " RAM_NODE
			 " > /tmp/ram-held.bin' /tmp/ram.img ram")) TH_LOG("%s", r.err);
	kill(w, SIGKILL);
	waitpid(w, NULL, 0);
	EXPECT_EQ(0, run(&r, CLI " image verify /tmp/ram.img ram=/tmp/ram-held.bin"))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, "tar -C /tmp -cf " EXPORT_SLOT0 " ram.img ram-held.bin && sync"))
		TH_LOG("%s", r.err);
	munmap(ram, RAM_SIZE);
	close(fd);
	system(CLI " detach ram; rm -f /tmp/ram.img /tmp/ram-held.bin");
}

/*
 * A save's bitmap whose granules are larger than a page (one taken over,
 * or --granularity): each dirty granule's pages are copied, so the image
 * still equals the copy taken under the hold.
 */
TEST_F(image, save_with_a_coarser_bitmap_equals_the_held_copy)
{
	ASSERT_EQ(0, run(&r, CLI " bitmap add img mine --granularity 64K"));
	ASSERT_EQ(0, run(&r, CLI " image save --passes 5 --threshold 0 --bitmap mine --exec-held '"
			 HELD_COPY "' /tmp/g.img img")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, CLI " image verify /tmp/g.img img=/tmp/held.bin"))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " image save --passes 5 --threshold 0 --granularity 256K "
			 "--exec-held '" HELD_COPY "' /tmp/g2.img img")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, CLI " image verify /tmp/g2.img img=/tmp/held.bin"))
		TH_LOG("%s", r.err);
	EXPECT_EQ(2, run(&r, CLI " image save --granularity 1000 /tmp/no.img img"));
}

/*
 * The save's bitmap is frozen by it from start to end, so a second save of
 * the same region with the same bitmap name is refused instead of clearing
 * what the first recorded; the first is whole.
 */
TEST_F(image, second_save_of_a_region_in_use_is_refused)
{
	ASSERT_EQ(0, run(&r, CLI " image save --passes 3 --exec-held '" HELD_COPY "; " CLI
			 " image save --no-hold --passes 2 /tmp/b.img img 2>/tmp/b.err; "
			 "echo $? > /tmp/b.rc' /tmp/a.img img")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, "grep -qx 1 /tmp/b.rc && grep -q 'in use (frozen by another save' /tmp/b.err"))
		TH_LOG("second save: %s", (run_slurp("/tmp/b.err", r.err), r.err));
	EXPECT_NE(0, access("/tmp/b.img", F_OK));
	EXPECT_EQ(0, run(&r, CLI " image verify /tmp/a.img img=/tmp/held.bin"))
		TH_LOG("%s", r.err);
	system("rm -f /tmp/b.err /tmp/b.rc");
}

/*
 * A save that cannot start on a later region (its bitmap is held there)
 * removes the bitmaps it created on the earlier ones.
 */
TEST_F(image, failed_start_on_a_later_region_removes_the_earlier_bitmaps)
{
	unsigned int id = 0;
	char target[16];
	struct db db;
	int fd2;

	fd2 = region_create("img2", 1 << 20, 0, &id);
	ASSERT_LE(0, fd2);
	snprintf(target, sizeof(target), "%u", id);
	ASSERT_EQ(0, db_open(&db));
	ASSERT_EQ(0, db_add(&db, target, "image", 0, 0));
	ASSERT_EQ(0, db_bitmap(&db, DIRTYBIT_CMD_BITMAP_FREEZE, target, "image"));
	EXPECT_EQ(1, run(&r, CLI " image save /tmp/two.img img img2"));
	EXPECT_NE(NULL, strstr(r.err, "in use (frozen by another save")) TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " bitmap list img"));
	EXPECT_EQ(NULL, strstr(r.out, "image")) TH_LOG("%s", r.out);
	EXPECT_NE(0, access("/tmp/two.img", F_OK));
	nl_close(&db.nl);
	close(fd2);
	system(CLI " detach img2 2>/dev/null");
}

/*
 * --passes 1 is one pass, under the hold; a signal during the held
 * command (any that would end the process) cancels the save cleanly.
 */
TEST_F(image, one_pass_is_the_held_pass_and_signals_cancel)
{
	int held;

	ASSERT_EQ(0, run(&r, CLI " -j image save --passes 1 --exec-held '" HELD_COPY
			 "' /tmp/one.img img")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, image_save_passes(r.out, &held)) TH_LOG("%s", r.out);
	EXPECT_EQ(1, held);
	EXPECT_EQ(0, run(&r, CLI " image verify /tmp/one.img img=/tmp/held.bin"))
		TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " image save --passes 2 --exec-held 'kill -QUIT $PPID; sleep 1' "
			 "/tmp/q.img img"));
	EXPECT_NE(NULL, strstr(r.err, "interrupted")) TH_LOG("%s", r.err);
	EXPECT_NE(0, access("/tmp/q.img", F_OK));
	EXPECT_NE(0, access("/tmp/q.img.partial", F_OK));
	ASSERT_EQ(0, run(&r, CLI " bitmap list img"));
	EXPECT_EQ(NULL, strstr(r.out, "image")) TH_LOG("%s", r.out);
}

/* A symlink left at FILE.partial is not followed (nor its target written). */
TEST_F(image, partial_symlink_is_not_followed)
{
	ASSERT_EQ(0, system("echo precious > /tmp/victim && ln -sf /tmp/victim /tmp/v.img.partial"));
	EXPECT_EQ(1, run(&r, CLI " image save /tmp/v.img img"));
	EXPECT_EQ(0, system("grep -qx precious /tmp/victim"));
	EXPECT_NE(0, access("/tmp/v.img", F_OK));
	system("rm -f /tmp/victim /tmp/v.img.partial");
}

TEST_F(image, refusals_have_reasons)
{
	EXPECT_EQ(1, run(&r, CLI " image save /tmp/no.img nosuchregion"));
	EXPECT_NE(NULL, strstr(r.err, "no region nosuchregion")) TH_LOG("%s", r.err);
	EXPECT_GT(0, file_size("/tmp/no.img"));
	/* --bitmap names the save's bitmap (one that exists, and no save
	 * holds, is taken over: cleared); --keep-bitmap leaves it recording.
	 */
	ASSERT_EQ(0, run(&r, CLI " bitmap add img mine"));
	ASSERT_EQ(0, run(&r, CLI " image save --passes 2 --bitmap mine --keep-bitmap "
			 "/tmp/ok.img img")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, CLI " image verify /tmp/ok.img"));
	ASSERT_EQ(0, run(&r, CLI " bitmap list img"));
	EXPECT_NE(NULL, strstr(r.out, "mine")) TH_LOG("%s", r.out);
	/* A disabled bitmap records nothing: a save cannot take it over. */
	ASSERT_EQ(0, run(&r, CLI " bitmap add img off --disabled"));
	EXPECT_EQ(1, run(&r, CLI " image save --bitmap off /tmp/no.img img"));
	EXPECT_NE(NULL, strstr(r.err, "disabled")) TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " bitmap list img"));
	EXPECT_NE(NULL, strstr(r.out, "off")) TH_LOG("%s", r.out);
	EXPECT_EQ(2, run(&r, CLI " image save --passes 0 /tmp/no.img img"));
	EXPECT_EQ(2, run(&r, CLI " image save /tmp/no.img"));
}

NEEDS_SCRATCH_DISKS
NEEDS_HARNESS_MAIN("dirtybit", "dirtybit tar")
