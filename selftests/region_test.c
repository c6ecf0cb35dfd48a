// SPDX-License-Identifier: GPL-2.0
/*
 * Memory regions: exact dirty page sets for every way a page gets written
 * (or only read), the refusals, the lifetime, the writer hold, and a stress
 * in which a copy built only from harvested pages must equal the region.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "needs.h"
#include "region.h"
#include "run.h"

#define NPAGES		64
#define SIZE		(NPAGES * PAGE)
#define NODE		"/dev/" DIRTYBIT_REGION_NODE_DIR "/rt"

FIXTURE(region) {
	struct db db;
	unsigned int id;
	char target[16];
	int fd;
	unsigned char *map;
};

FIXTURE_SETUP(region)
{
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, db_open(&self->db));
	self->fd = region_create("rt", SIZE, DIRTYBIT_REGION_F_NODE, &self->id);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s", strerror(-self->fd));
	snprintf(self->target, sizeof(self->target), "%u", self->id);
	ASSERT_EQ(0, db_add(&self->db, self->target, "b", 0, 0))
		TH_LOG("add: %s", self->db.nl.extack);
	self->map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

FIXTURE_TEARDOWN(region)
{
	munmap(self->map, SIZE);
	close(self->fd);
	/* A test that failed half-way may leave its freeze behind. */
	db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_RECLAIM, self->target, "b");
	db_detach(&self->db, self->target);
	nl_close(&self->db.nl);
}

/* The bitmap holds exactly @want (sorted); then a cut starts the next step. */
static int dirty_is(struct __test_metadata *_metadata, FIXTURE_DATA(region) *self,
		    const unsigned long *want, long n)
{
	unsigned long got[NPAGES];
	long k = region_dirty(&self->db, self->target, "b", got, NPAGES), i;

	if (k != n) {
		TH_LOG("%ld dirty pages, expected %ld", k, n);
		for (i = 0; i < k && i < NPAGES; i++)
			TH_LOG("  dirty page %lu", got[i]);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (got[i] != want[i]) {
			TH_LOG("dirty page %lu, expected %lu", got[i], want[i]);
			return 0;
		}
	}
	return db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_CLEAR, self->target, "b") == 0;
}

#define EXPECT_DIRTY(...) do {							\
	const unsigned long _w[] = { __VA_ARGS__ };				\
	EXPECT_TRUE(dirty_is(_metadata, self, _w, ARRAY_SIZE(_w)));		\
} while (0)
#define EXPECT_CLEAN() EXPECT_TRUE(dirty_is(_metadata, self, NULL, 0))

static void touch(unsigned char *map, unsigned long page, unsigned char v)
{
	((volatile unsigned char *)map)[page * PAGE + 17] = v;
}

static unsigned long sum_reads(const unsigned char *map)
{
	unsigned long s = 0, i;

	for (i = 0; i < SIZE; i += 64)
		s += ((const volatile unsigned char *)map)[i];
	return s;
}

TEST_F(region, writes_through_the_mapping_are_exact)
{
	touch(self->map, 1, 1);
	touch(self->map, 5, 1);
	touch(self->map, 6, 1);
	touch(self->map, 20, 1);
	touch(self->map, 20, 2);
	EXPECT_DIRTY(1, 5, 6, 20);
	/* Re-armed by the cut: the same pages fault and count again. */
	touch(self->map, 1, 3);
	touch(self->map, 63, 3);
	EXPECT_DIRTY(1, 63);
	EXPECT_CLEAN();
}

TEST_F(region, reads_count_for_nothing)
{
	unsigned char buf[PAGE];

	sum_reads(self->map);
	ASSERT_EQ((ssize_t)PAGE, pread(self->fd, buf, PAGE, 3 * PAGE));
	EXPECT_CLEAN();
	touch(self->map, 2, 7);
	EXPECT_DIRTY(2);
	sum_reads(self->map);
	EXPECT_CLEAN();
}

TEST_F(region, forked_child_writes)
{
	pid_t pid;
	int status;

	touch(self->map, 3, 1);
	EXPECT_DIRTY(3);
	pid = fork();
	if (!pid) {
		touch(self->map, 3, 2);
		touch(self->map, 7, 2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_DIRTY(3, 7);
	EXPECT_EQ(2, self->map[3 * PAGE + 17]);
}

TEST_F(region, second_process_through_the_device_node)
{
	pid_t pid;
	int status;
	off_t end;
	int fd = open(NODE, O_RDWR);

	ASSERT_LE(0, fd);
	end = lseek(fd, 0, SEEK_END);
	EXPECT_EQ((off_t)SIZE, end);
	close(fd);
	pid = fork();
	if (!pid) {
		int nfd = open(NODE, O_RDWR);
		unsigned char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, nfd, 0);

		if (nfd < 0 || m == MAP_FAILED)
			_exit(1);
		touch(m, 9, 9);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(9, self->map[9 * PAGE + 17]);
	EXPECT_DIRTY(9);
	/* The node names the target too. */
	EXPECT_EQ(0, db_add(&self->db, NODE, "b2", 0, 0)) TH_LOG("%s", self->db.nl.extack);
}

TEST_F(region, read_and_o_direct_read_into_the_memory)
{
	char path[] = "/tmp/region_src_XXXXXX";
	unsigned char buf[2 * PAGE];
	int fd = mkstemp(path), dfd;

	ASSERT_LE(0, fd);
	memset(buf, 0x5a, sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf), write(fd, buf, sizeof(buf)));
	ASSERT_EQ((ssize_t)sizeof(buf), pread(fd, self->map + 10 * PAGE, sizeof(buf), 0));
	close(fd);
	unlink(path);
	EXPECT_DIRTY(10, 11);

	/* O_DIRECT into the memory pins the pages for writing. */
	dfd = open("/dev/vda", O_RDONLY | O_DIRECT);
	ASSERT_LE(0, dfd);
	ASSERT_EQ((ssize_t)(2 * PAGE), pread(dfd, self->map + 12 * PAGE, 2 * PAGE, 0));
	EXPECT_DIRTY(12, 13);
	/* O_DIRECT from the memory only reads it. */
	close(dfd);
	dfd = open("/dev/vda", O_WRONLY | O_DIRECT);
	ASSERT_LE(0, dfd);
	ASSERT_EQ((ssize_t)(2 * PAGE), pwrite(dfd, self->map + 12 * PAGE, 2 * PAGE,
					       1 << 20));
	close(dfd);
	EXPECT_CLEAN();
}

TEST_F(region, write_through_the_fd)
{
	unsigned char buf[2 * PAGE];
	int ro = region_open("rt", 0, 0), node = open(NODE, O_WRONLY);

	ASSERT_LE(0, ro);
	ASSERT_LE(0, node);
	memset(buf, 0x6b, sizeof(buf));
	/* Crossing a page boundary: pages 3, 4 and 5. */
	ASSERT_EQ((ssize_t)PAGE + 2, pwrite(self->fd, buf, PAGE + 2, 4 * PAGE - 1));
	EXPECT_EQ(0x6b, self->map[4 * PAGE - 1]);
	EXPECT_EQ(0x6b, self->map[5 * PAGE]);
	EXPECT_DIRTY(3, 4, 5);
	/* Through the node, as dd would; a cut later, marked again. */
	ASSERT_EQ(1, pwrite(node, buf, 1, 3 * PAGE));
	ASSERT_EQ((off_t)((NPAGES - 1) * PAGE), lseek(node, (NPAGES - 1) * PAGE, SEEK_SET));
	ASSERT_EQ((ssize_t)PAGE, write(node, buf, 2 * PAGE));	/* short at the end */
	EXPECT_DIRTY(3, NPAGES - 1);
	errno = 0;
	EXPECT_EQ(-1, write(node, buf, 1));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(-1, pwrite(ro, buf, 1, 0));
	EXPECT_EQ(EBADF, errno);
	EXPECT_CLEAN();
	close(node);
	close(ro);
}

/* A write() during a hold waits for the release. */
TEST_F(region, write_waits_out_a_hold)
{
	int helper = region_open("rt", 0, 0), status;
	unsigned char before[PAGE];
	pid_t child;

	ASSERT_LE(0, helper);
	ASSERT_EQ(0, region_hold(helper));
	child = fork();
	if (!child) {
		unsigned char b = 0x42;

		_exit(pwrite(self->fd, &b, 1, 7 * PAGE) == 1 ? 0 : 1);
	}
	usleep(200000);
	EXPECT_EQ(0, waitpid(child, &status, WNOHANG));	/* still parked */
	ASSERT_EQ((ssize_t)PAGE, pread(helper, before, PAGE, 7 * PAGE));
	EXPECT_EQ(0, before[0]);
	ASSERT_EQ(0, region_release(helper));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(0x42, self->map[7 * PAGE]);
	EXPECT_DIRTY(7);
	close(helper);
}

TEST_F(region, process_vm_writev_from_another_process)
{
	unsigned char v = 0x77;
	pid_t parent = getpid(), pid;
	int status;

	pid = fork();
	if (!pid) {
		struct iovec local = { &v, 1 };
		struct iovec remote = { self->map + 14 * PAGE + 5, 1 };

		munmap(self->map, SIZE);	/* the child's own mapping is not it */
		_exit(process_vm_writev(parent, &local, 1, &remote, 1, 0) == 1 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0x77, self->map[14 * PAGE + 5]);
	EXPECT_DIRTY(14);
}

/* A dirty PTE made writable again by mprotect() must still fault. */
TEST_F(region, mprotect_read_only_then_writable)
{
	touch(self->map, 15, 1);
	EXPECT_DIRTY(15);
	ASSERT_EQ(0, mprotect(self->map, SIZE, PROT_READ));
	EXPECT_CLEAN();
	ASSERT_EQ(0, mprotect(self->map, SIZE, PROT_READ | PROT_WRITE));
	touch(self->map, 15, 2);
	EXPECT_DIRTY(15);
}

TEST_F(region, madv_dontneed_keeps_contents_and_tracking)
{
	touch(self->map, 17, 0x42);
	EXPECT_DIRTY(17);
	ASSERT_EQ(0, madvise(self->map, SIZE, MADV_DONTNEED));
	EXPECT_EQ(0x42, self->map[17 * PAGE + 17]);
	EXPECT_CLEAN();
	touch(self->map, 18, 1);
	touch(self->map, 17, 2);
	EXPECT_DIRTY(17, 18);
}

TEST_F(region, mapping_at_an_offset)
{
	unsigned char *m = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
				self->fd, 32 * PAGE);

	ASSERT_NE(MAP_FAILED, m);
	touch(m, 0, 1);
	touch(m, 3, 1);
	EXPECT_DIRTY(32, 35);
	EXPECT_EQ(1, self->map[35 * PAGE + 17]);
	munmap(m, 8 * PAGE);
}

TEST_F(region, mappings_refused_with_reasons)
{
	int ro = region_open("rt", 0, 0);
	void *m;

	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
				   self->fd, (NPAGES - 1) * PAGE));
	EXPECT_EQ(EINVAL, errno);
	/* The helper's read-only view. */
	ASSERT_LE(0, ro);
	touch(self->map, 4, 0x31);
	m = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, ro, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(0x31, ((unsigned char *)m)[4 * PAGE + 17]);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
	munmap(m, SIZE);
	close(ro);
	EXPECT_DIRTY(4);
}

TEST_F(region, creation_refusals)
{
	unsigned int id;

	EXPECT_EQ(-EINVAL, region_create("z", 0, 0, &id));
	EXPECT_EQ(-EINVAL, region_create("z", PAGE + 1, 0, &id));
	EXPECT_EQ(-EINVAL, region_create("a/b", PAGE, 0, &id));
	EXPECT_EQ(-EINVAL, region_create("", PAGE, 0, &id));
	EXPECT_EQ(-EINVAL, region_create("z", PAGE, 1U << 7, &id));
	EXPECT_EQ(-E2BIG, region_create("z", 1ULL << 50, 0, &id));
	EXPECT_EQ(-EEXIST, region_create("rt", PAGE, 0, &id));
	EXPECT_EQ(-ENOENT, region_open("nosuch", 0, 0));
	EXPECT_EQ(-EINVAL, db_add(&self->db, self->target, "fine", 512, 0));
	EXPECT_NE(NULL, strstr(self->db.nl.extack, "page size"));
}

TEST_F(region, info_and_coarser_bitmaps)
{
	struct dirtybit_region_info info;
	struct db_bitmap_info bi;
	struct db_extent ext[4];

	ASSERT_EQ(0, region_info(self->fd, &info));
	EXPECT_EQ(self->id, info.target_id);
	EXPECT_EQ(SIZE, info.bytes);
	EXPECT_STREQ("rt", info.name);
	EXPECT_EQ(DIRTYBIT_REGION_F_NODE, info.flags);
	ASSERT_EQ(0, db_info(&self->db, self->target, "b", &bi));
	EXPECT_EQ(PAGE, bi.granularity);
	ASSERT_EQ(0, db_add(&self->db, self->target, "c", 65536, 0));
	touch(self->map, 17, 1);
	ASSERT_EQ(1, db_extents(&self->db, self->target, "c", ext, 4, NULL));
	EXPECT_EQ(65536, ext[0].start);
	EXPECT_EQ(65536, ext[0].length);
	EXPECT_EQ(DIRTYBIT_TARGET_LIVE, db_target_state(&self->db, self->target));
}

TEST_F(region, freeze_abdicate_reclaim)
{
	struct db_bitmap_info bi;

	touch(self->map, 1, 1);
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, self->target, "b"));
	touch(self->map, 2, 1);
	touch(self->map, 1, 2);
	ASSERT_EQ(0, db_info(&self->db, self->target, "b", &bi));
	EXPECT_EQ(PAGE, bi.count);
	EXPECT_EQ(2 * PAGE, bi.successor_count);
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_RECLAIM, self->target, "b"));
	ASSERT_EQ(0, db_info(&self->db, self->target, "b", &bi));
	EXPECT_EQ(2 * PAGE, bi.count);
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, self->target, "b"));
	EXPECT_EQ(-EBUSY, db_detach(&self->db, self->target));
	touch(self->map, 9, 1);
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_ABDICATE, self->target, "b"));
	EXPECT_DIRTY(9);
}

/*
 * A create whose answer cannot be copied back (its argument is read-only)
 * fails without leaving a region behind or telling anyone one appeared.
 */
TEST(create_that_cannot_answer_leaves_nothing)
{
	struct dirtybit_ioc_region_create *c;
	static unsigned char buf[4096];
	struct nlattr *a;
	struct db db, ev;
	int group, id;

	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, db_open(&db));
	ASSERT_EQ(0, db_open(&ev));
	group = db_events_group(&ev.nl);
	ASSERT_LT(0, group);
	ASSERT_EQ(0, setsockopt(ev.nl.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
				sizeof(group)));
	c = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, c);
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->bytes = 4 * PAGE;
	c->flags = DIRTYBIT_REGION_F_NODE;
	strcpy(c->name, "mute");
	ASSERT_EQ(0, mprotect(c, PAGE, PROT_READ));
	EXPECT_EQ(-EFAULT, region_ctl(DIRTYBIT_IOC_REGION_CREATE, c));
	EXPECT_EQ(-ENOENT, region_open("mute", 0, 0));
	EXPECT_NE(0, access("/dev/" DIRTYBIT_REGION_NODE_DIR "/mute", F_OK));
	/* No event came: the first one the group sees is this attach's. */
	id = db_attach(&db, "/dev/vdb");
	ASSERT_LT(0, id);
	ASSERT_LT(0, recv(ev.nl.fd, buf, sizeof(buf), 0));
	a = nl_attr(buf, sizeof(buf), DIRTYBIT_A_EVENT);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(DIRTYBIT_EVENT_TARGET_ATTACHED, *(uint32_t *)nl_attr_data(a));
	a = nl_attr(buf, sizeof(buf), DIRTYBIT_A_TARGET_ID);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(id, *(uint32_t *)nl_attr_data(a)) TH_LOG("an event came before the attach's");
	db_detach(&db, "/dev/vdb");
	munmap(c, PAGE);
	nl_close(&ev.nl);
	nl_close(&db.nl);
}

static long region_pages(void)
{
	long n = -1;
	FILE *f = fopen("/sys/module/dirtybit/parameters/region_pages", "r");

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* Destroyed while mapped: the memory lives on untracked until the last fd. */
TEST(destroy_keeps_memory_until_the_last_mapping)
{
	const unsigned long big = 128UL << 20;
	long before;
	unsigned char *m;
	unsigned int id = 0;
	char target[16];
	struct db db;
	int fd;

	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, db_open(&db));
	before = region_pages();
	fd = region_create("big", big, DIRTYBIT_REGION_F_NODE, &id);
	ASSERT_LE(0, fd);
	EXPECT_EQ(before + (long)(big / PAGE), region_pages());
	m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	close(fd);
	m[12345] = 0x66;
	snprintf(target, sizeof(target), "%u", id);
	ASSERT_EQ(0, db_detach(&db, target));
	EXPECT_EQ(-1, access("/dev/" DIRTYBIT_REGION_NODE_DIR "/big", F_OK));
	EXPECT_EQ(-ENOENT, db_detach(&db, target));
	m[big - 1] = 0x67;
	EXPECT_EQ(0x66, m[12345]);
	EXPECT_EQ(before + (long)(big / PAGE), region_pages());
	/* The name is free again at once. */
	fd = region_create("big", PAGE, 0, &id);
	ASSERT_LE(0, fd);
	close(fd);
	snprintf(target, sizeof(target), "%u", id);
	EXPECT_EQ(0, db_detach(&db, target));
	munmap(m, big);
	EXPECT_EQ(before, region_pages());
	nl_close(&db.nl);
}

/* A region's pages are charged to its creator's memory cgroup. */
TEST(pages_are_charged_to_the_creator)
{
	const char *cg = "/sys/fs/cgroup/dirtybit_region";
	struct dirtybit_region_info info;
	char target[16];
	unsigned int id;
	int status, fd;
	struct db db;
	pid_t pid;

	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, sh("grep -q cgroup2 /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup"));
	ASSERT_EQ(0, sh("echo +memory > /sys/fs/cgroup/cgroup.subtree_control"));
	sh("rmdir %s 2>/dev/null", cg);
	ASSERT_EQ(0, sh("mkdir %s && echo 16M > %s/memory.max", cg, cg));
	pid = fork();
	if (!pid) {
		if (sh("echo %d > %s/cgroup.procs", getpid(), cg))
			_exit(1);
		if (region_create("charged", 64 << 20, 0, &id) != -ENOMEM)
			_exit(2);
		fd = region_create("charged", 4 << 20, 0, &id);
		if (fd < 0)
			_exit(3);
		/* memory.current now holds the region's 4 MiB */
		_exit(sh("test $(cat %s/memory.current) -ge 4194304", cg) ? 4 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The region outlives its creator; destroy it by the id it reports. */
	fd = region_open("charged", 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, region_info(fd, &info));
	close(fd);
	snprintf(target, sizeof(target), "%u", info.target_id);
	ASSERT_EQ(0, db_open(&db));
	EXPECT_EQ(0, db_detach(&db, target));
	nl_close(&db.nl);
	sh("rmdir %s", cg);
}

/*
 * The writer hold: two processes keep writing; while held, the region does
 * not change (two copies taken apart are equal) and no write completes;
 * after release the writers go on and finish without error.
 */
struct hold_shared {
	atomic_ulong writes[2];
	atomic_int stop;
};

/* Writes random pages of the first @npages, pausing @pause_us between. */
static void writer_of(unsigned char *map, unsigned long npages, unsigned int pause_us,
		      struct hold_shared *sh, int i)
{
	unsigned int seed = 1234 + i;

	while (!atomic_load(&sh->stop)) {
		touch(map, rand_r(&seed) % npages, (unsigned char)rand_r(&seed));
		atomic_fetch_add(&sh->writes[i], 1);
		if (pause_us)
			usleep(pause_us);
	}
	_exit(0);
}

static void writer(unsigned char *map, struct hold_shared *sh, int i)
{
	writer_of(map, NPAGES, 0, sh, i);
}

static int copies_equal_while_held(int fd, struct hold_shared *sh)
{
	static unsigned char a[SIZE], b[SIZE];
	unsigned long w0 = sh->writes[0] + sh->writes[1];

	if (pread(fd, a, SIZE, 0) != (ssize_t)SIZE)
		return 0;
	usleep(200000);
	if (pread(fd, b, SIZE, 0) != (ssize_t)SIZE)
		return 0;
	/* A writer parked in its fault may have counted one write before. */
	return !memcmp(a, b, SIZE) && sh->writes[0] + sh->writes[1] <= w0 + 2;
}

TEST_F(region, writer_hold)
{
	struct hold_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int helper = region_open("rt", 0, 0), status, i;
	struct dirtybit_region_info info;
	pid_t w[2], holder;
	unsigned long before;

	ASSERT_NE(MAP_FAILED, sh);
	ASSERT_LE(0, helper);
	for (i = 0; i < 2; i++) {
		w[i] = fork();
		if (!w[i])
			writer(self->map, sh, i);
	}
	while (sh->writes[0] < 1000 || sh->writes[1] < 1000)
		usleep(1000);

	ASSERT_EQ(0, region_hold(helper));
	ASSERT_EQ(0, region_info(helper, &info));
	EXPECT_EQ(DIRTYBIT_REGION_F_NODE | DIRTYBIT_REGION_F_HELD, info.flags);
	EXPECT_EQ(-EBUSY, region_hold(self->fd));
	EXPECT_EQ(-EPERM, region_release(self->fd));
	EXPECT_TRUE(copies_equal_while_held(helper, sh));
	ASSERT_EQ(0, region_release(helper));
	EXPECT_EQ(-EINVAL, region_release(helper));
	before = sh->writes[0] + sh->writes[1];
	while (sh->writes[0] + sh->writes[1] < before + 2000)
		usleep(1000);

	/* A holder that dies releases its hold. */
	holder = fork();
	if (!holder) {
		int fd = region_open("rt", 0, 0);

		if (fd < 0 || region_hold(fd))
			_exit(1);
		kill(getpid(), SIGKILL);
	}
	ASSERT_EQ(holder, waitpid(holder, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	before = sh->writes[0] + sh->writes[1];
	while (sh->writes[0] + sh->writes[1] < before + 2000)
		usleep(1000);

	atomic_store(&sh->stop, 1);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(w[i], waitpid(w[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(helper);
	munmap(sh, sizeof(*sh));
}

/*
 * Harvest-and-copy: freeze, copy the frozen pages through a read-only
 * region fd, abdicate; writers in two processes never stop.  After they do
 * and a last harvest, the copy must equal the region.
 */
static int harvest(struct db *db, const char *target, int ro, unsigned char *copy)
{
	unsigned long pages[NPAGES];
	long n, i;

	if (db_bitmap(db, DIRTYBIT_CMD_BITMAP_FREEZE, target, "b"))
		return -1;
	n = region_dirty(db, target, "b", pages, NPAGES);
	for (i = 0; i < n; i++)
		if (pread(ro, copy + pages[i] * PAGE, PAGE, pages[i] * PAGE) != (ssize_t)PAGE)
			return -1;
	if (db_bitmap(db, DIRTYBIT_CMD_BITMAP_ABDICATE, target, "b"))
		return -1;
	return (int)n;
}

static long stale_pages(int fd, const unsigned char *copy)
{
	static unsigned char now[SIZE];
	long stale = 0, p;

	if (pread(fd, now, SIZE, 0) != (ssize_t)SIZE)
		return -1;
	for (p = 0; p < NPAGES; p++)
		stale += !!memcmp(now + p * PAGE, copy + p * PAGE, PAGE);
	return stale;
}

/* Fixed work (rounds, not a time): a loaded host makes it slow, not wrong. */
TEST_F_TIMEOUT(region, stress_copy_from_harvests_equals_region, 300)
{
	static unsigned char copy[SIZE];
	struct hold_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int ro = region_open("rt", 0, 0), status, i, round;
	unsigned long harvested = 0;
	pid_t w[2];

	ASSERT_LE(0, ro);
	ASSERT_LE(0, harvest(&self->db, self->target, ro, copy));
	for (i = 0; i < 2; i++) {
		w[i] = fork();
		if (!w[i]) {
			/* The second writer maps the region through its node. */
			unsigned char *m = self->map;

			if (i) {
				int fd = open(NODE, O_RDWR);

				m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
				if (m == MAP_FAILED)
					_exit(1);
			}
			writer(m, sh, i);
		}
	}
	for (round = 0; round < 200; round++) {
		int n = harvest(&self->db, self->target, ro, copy);

		ASSERT_LE(0, n);
		harvested += n;
	}
	atomic_store(&sh->stop, 1);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(w[i], waitpid(w[i], &status, 0));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	ASSERT_LE(0, harvest(&self->db, self->target, ro, copy));
	TH_LOG("%lu writes, %lu pages harvested in 200 rounds",
	       sh->writes[0] + sh->writes[1], harvested);
	EXPECT_EQ(0, stale_pages(ro, copy));
	close(ro);
}

/*
 * The same over a larger region written slowly at random: dirty pages lie
 * far apart, so the re-arm write-protects page by page (folio_mkclean())
 * as well as by range walks.  Harvests read the bitmap in bulk.
 */
#define SPARSE_PAGES	8192

static long harvest_sparse(struct db *db, const char *target, unsigned int id, int ro,
			   unsigned char *copy)
{
	static uint64_t words[SPARSE_PAGES / 64];
	unsigned long p;
	long n = 0;

	if (db_bitmap(db, DIRTYBIT_CMD_BITMAP_FREEZE, target, "b") ||
	    region_bitmap_read(id, "b", words, SPARSE_PAGES / 64))
		return -1;
	for (p = 0; p < SPARSE_PAGES; p++) {
		if (!(words[p / 64] >> (p % 64) & 1))
			continue;
		if (pread(ro, copy + p * PAGE, PAGE, p * PAGE) != (ssize_t)PAGE)
			return -1;
		n++;
	}
	if (db_bitmap(db, DIRTYBIT_CMD_BITMAP_ABDICATE, target, "b"))
		return -1;
	return n;
}

TEST_F_TIMEOUT(region, stress_sparse_pages_copy_equals_region, 300)
{
	static unsigned char copy[SPARSE_PAGES * PAGE], now[SPARSE_PAGES * PAGE];
	struct hold_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned long harvested = 0, stale = 0, p;
	static unsigned int id;		/* static: the harness longjmps */
	unsigned char *map;
	int fd, ro, status, i, round;
	pid_t w_sparse[2];
	char target[16];

	fd = region_create("rs", sizeof(copy), 0, &id);
	ASSERT_LE(0, fd);
	snprintf(target, sizeof(target), "%u", id);
	ASSERT_EQ(0, db_add(&self->db, target, "b", 0, 0));
	map = mmap(NULL, sizeof(copy), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ro = region_open(NULL, id, 0);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, harvest_sparse(&self->db, target, id, ro, copy));
	for (i = 0; i < 2; i++) {
		w_sparse[i] = fork();
		if (!w_sparse[i])
			writer_of(map, SPARSE_PAGES, 20, sh, i);
	}
	for (round = 0; round < 200; round++) {
		unsigned long before = sh->writes[0] + sh->writes[1];
		long n;

		/* Some 32 pages per harvest, far apart on average. */
		while (sh->writes[0] + sh->writes[1] < before + 32)
			usleep(500);
		n = harvest_sparse(&self->db, target, id, ro, copy);
		ASSERT_LE(0, n);
		harvested += n;
	}
	atomic_store(&sh->stop, 1);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(w_sparse[i], waitpid(w_sparse[i], &status, 0));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	ASSERT_LE(0, harvest_sparse(&self->db, target, id, ro, copy));
	ASSERT_EQ((ssize_t)sizeof(now), pread(ro, now, sizeof(now), 0));
	for (p = 0; p < SPARSE_PAGES; p++)
		stale += !!memcmp(now + p * PAGE, copy + p * PAGE, PAGE);
	TH_LOG("%lu writes, %lu pages harvested in 200 rounds, %lu stale",
	       sh->writes[0] + sh->writes[1], harvested, stale);
	EXPECT_EQ(0, stale);
	munmap(map, sizeof(copy));
	close(ro);
	close(fd);
	db_detach(&self->db, target);
	munmap(sh, sizeof(*sh));
}

/*
 * The same copy with the re-arm turned off (the module loaded with
 * region_rearm=0) goes stale: the test has teeth.
 */
TEST(without_rearm_the_copy_goes_stale)
{
	static unsigned char copy[SIZE];
	static unsigned int id;		/* static: the harness longjmps */
	unsigned char *map;
	char target[16];
	struct db db;
	int fd, ro;

	ASSERT_EQ(0, dirtybit_reload("region_rearm=0"));
	ASSERT_EQ(0, db_open(&db));
	fd = region_create("rt", SIZE, 0, &id);
	ASSERT_LE(0, fd);
	snprintf(target, sizeof(target), "%u", id);
	ASSERT_EQ(0, db_add(&db, target, "b", 0, 0));
	map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ro = region_open("rt", 0, 0);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, harvest(&db, target, ro, copy));
	touch(map, 5, 1);
	ASSERT_EQ(1, harvest(&db, target, ro, copy));
	touch(map, 5, 2);		/* the PTE is still writable */
	EXPECT_EQ(0, harvest(&db, target, ro, copy));
	EXPECT_EQ(1, stale_pages(ro, copy));
	munmap(map, SIZE);
	close(ro);
	close(fd);
	db_detach(&db, target);
	nl_close(&db.nl);
	ASSERT_EQ(0, dirtybit_reload(""));
}

NEEDS_SCRATCH_DISKS
NEEDS_HARNESS_MAIN("dirtybit", "")
