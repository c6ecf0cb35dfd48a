// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU guest whose RAM is a dirtybit region, inside the VM (the rig adds
 * QEMU for this test: vm: qemu-system-x86_64).  QEMU maps the region node
 * as its memory backend and writes guest memory all along through its own
 * write path, driven over qtest; a live `dirtybit image save` of the region
 * equals the copy taken under the writer hold, and a second QEMU loads the
 * image with migrate-incoming of a mapped-ram file into RAM equal to that
 * copy (pmemsave).
 *
 * The writing QEMU is -M pc with its CPU stopped (-S): Debian's QEMU has no
 * qtest accelerator, and qtest's memory commands need a CPU, which -M none
 * cannot have on x86.  The loading QEMU is -M none, the machine the image
 * records by default.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "module.h"
#include "qemu.h"
#include "region.h"
#include "run.h"

#define CLI		"dirtybit"
#define NAME		"vmram"
#define SIZE		(32UL << 20)
#define SIZE_OPT	"32M"
#define NODE		"/dev/" DIRTYBIT_REGION_NODE_DIR "/" NAME
#define HELD		"/tmp/guest-held.bin"
#define IMAGE		"/tmp/guest.img"
#define PMEM		"/tmp/guest.pmem"
#define QTEST_SOCK	"/tmp/guest-qtest.sock"
#define QMP_SOCK	"/tmp/guest-load.sock"
/* Guest writes stay above the PC's legacy area below 1 MiB. */
#define LOW_PAGES	256UL

static struct run r;

FIXTURE(guest) {
	int fd;
	pid_t qemu, loader, writer;
	FILE *qtest;
	volatile unsigned long *writes;	/* shared with the writer */
};

/*
 * Guest writes through QEMU, eight bytes at a time, nine in ten to a hot
 * eighth of guest RAM; ends when QEMU stops answering.
 */
static void writer(FILE *qt, volatile unsigned long *writes)
{
	const unsigned long pages = SIZE / PAGE - LOW_PAGES;
	unsigned int seed = 21;

	for (;;) {
		unsigned long page = LOW_PAGES + rand_r(&seed) % (pages / (rand_r(&seed) % 10 ? 8 : 1));
		unsigned long addr = page * PAGE + (rand_r(&seed) % (PAGE / 8)) * 8;

		if (qtest_writeq(qt, addr, (*writes + 1) * 0x9e3779b97f4a7c15UL))
			_exit(0);
		++*writes;
	}
}

FIXTURE_SETUP(guest)
{
	char *const argv[] = {
		QEMU_BIN, "-nodefaults", "-display", "none", "-accel", "tcg", "-S",
		"-object", "memory-backend-file,id=" NAME ",mem-path=" NODE ",share=on,size=" SIZE_OPT,
		"-machine", "pc,memory-backend=" NAME, "-m", SIZE_OPT,
		"-qtest", "unix:" QTEST_SOCK ",server=on,wait=off", NULL
	};

	ASSERT_EQ(0, access("/usr/bin/" QEMU_BIN, X_OK)) TH_LOG("the rig put no QEMU in the VM");
	ASSERT_EQ(0, dirtybit_load());
	system("rm -f /tmp/guest*");
	self->fd = region_create(NAME, SIZE, DIRTYBIT_REGION_F_NODE, NULL);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s", strerror(-self->fd));
	self->writes = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->writes);
	self->qemu = qemu_start(argv, "/tmp/guest-qemu.log");
	ASSERT_LT(0, self->qemu);
	self->qtest = qemu_connect(QTEST_SOCK, self->qemu);
	ASSERT_NE(NULL, self->qtest) TH_LOG("QEMU: %s", (run_slurp("/tmp/guest-qemu.log", r.err), r.err));
	self->writer = fork();
	if (!self->writer)
		writer(self->qtest, self->writes);
	while (*self->writes < 1000 && waitpid(self->writer, NULL, WNOHANG) == 0)
		usleep(10000);
	ASSERT_LE(1000, *self->writes) TH_LOG("QEMU: %s", (run_slurp("/tmp/guest-qemu.log", r.err), r.err));
}

FIXTURE_TEARDOWN(guest)
{
	qemu_kill(self->writer);
	qemu_kill(self->qemu);
	qemu_kill(self->loader);
	if (self->qtest)
		fclose(self->qtest);
	close(self->fd);
	system(CLI " detach " NAME " 2>/dev/null");
	system("rm -f /tmp/guest*");
}

/* Passes in a save's JSON summary, and how many ran under the hold. */
static int passes(const char *json, int *held)
{
	const char *p;
	int n = 0;

	*held = 0;
	for (p = json; (p = strstr(p, "\"pages\":")); p++)
		n++;
	for (p = json; (p = strstr(p, "\"held\":true")); p++)
		(*held)++;
	return n;
}

/* Whether file @path has a byte that is not zero. */
static int nonzero(const char *path)
{
	FILE *f = fopen(path, "r");
	int c, found = 0;

	while (f && !found && (c = getc(f)) != EOF)
		found = c != 0;
	if (f)
		fclose(f);
	return found;
}

TEST_F(guest, live_image_of_guest_ram_equals_the_held_copy_and_qemu_loads_it)
{
	char *const load[] = {
		QEMU_BIN, "-nodefaults", "-display", "none", "-accel", "tcg",
		"-object", "memory-backend-ram,id=" NAME ",size=" SIZE_OPT,
		"-machine", "none,memory-backend=" NAME, "-m", SIZE_OPT, "-incoming", "defer",
		"-qmp", "unix:" QMP_SOCK ",server=on,wait=off", NULL
	};
	char reply[8192], status[256];
	unsigned long after;
	FILE *qmp;
	int n, held, i;

	ASSERT_EQ(0, run(&r, CLI " -j image save --passes 5 --threads 2 --exec-held 'cat " NODE
			 " > " HELD "' " IMAGE " " NAME)) TH_LOG("%s", r.err);
	TH_LOG("%s", r.out);
	n = passes(r.out, &held);
	EXPECT_LE(2, n);
	EXPECT_GE(5, n);
	EXPECT_EQ(1, held);
	EXPECT_TRUE(nonzero(HELD));
	/* QEMU went on writing after the hold. */
	after = *self->writes;
	for (i = 0; i < 6000 && *self->writes <= after; i++)
		usleep(10000);
	EXPECT_LT(after, *self->writes);
	EXPECT_EQ(0, waitpid(self->qemu, NULL, WNOHANG));
	EXPECT_EQ(0, run(&r, CLI " image verify " IMAGE " " NAME "=" HELD)) TH_LOG("%s", r.err);

	/* A second QEMU loads the image: its RAM is the held copy. */
	self->loader = qemu_start(load, "/tmp/guest-load.log");
	ASSERT_LT(0, self->loader);
	qmp = qmp_open(QMP_SOCK, self->loader);
	ASSERT_NE(NULL, qmp) TH_LOG("QEMU: %s", (run_slurp("/tmp/guest-load.log", r.err), r.err));
	ASSERT_EQ(0, qmp_cmd(qmp, "{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
			     "{\"capabilities\": [{\"capability\": \"mapped-ram\", \"state\": true}]}}",
			     reply, sizeof(reply))) TH_LOG("%s", reply);
	ASSERT_EQ(0, qmp_cmd(qmp, "{\"execute\": \"migrate-incoming\", \"arguments\": "
			     "{\"uri\": \"file:" IMAGE "\"}}", reply, sizeof(reply))) TH_LOG("%s", reply);
	qmp_migration_end(qmp, 3000, status, sizeof(status));
	ASSERT_STREQ("completed", status);
	ASSERT_EQ(0, qmp_cmd(qmp, "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 0, "
			     "\"size\": 33554432, \"filename\": \"" PMEM "\"}}", reply, sizeof(reply)))
		TH_LOG("%s", reply);
	qmp_cmd(qmp, "{\"execute\": \"quit\"}", reply, sizeof(reply));
	fclose(qmp);
	EXPECT_EQ(0, run(&r, "cmp " PMEM " " HELD)) TH_LOG("%s", r.out);
}

TEST_HARNESS_MAIN
