// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU guest whose RAM is a dirtybit region, inside the VM (the rig adds
 * QEMU for this test: vm: qemu-system-x86_64).  QEMU maps the region node
 * as its memory backend and writes guest memory all along, in two ways
 * (the variants): QEMU's own address-space write path, driven over qtest;
 * and a guest program, a 64 KiB BIOS whose CPU stores under TCG never stop.
 * A live `dirtybit image save` of the region equals the copy taken under
 * the writer hold, and a second QEMU loads the image with migrate-incoming
 * of a mapped-ram file into RAM equal to that copy (pmemsave).
 *
 * The writing QEMU is -M pc (with qtest, its CPU stopped: -S): Debian's
 * QEMU has no qtest accelerator, and qtest's memory commands need a CPU,
 * which -M none cannot have on x86.  The loading QEMU is -M none, the
 * machine the image records by default.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "module.h"
#include "needs.h"
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
#define QMP_WRITER	"/tmp/guest-qmp.sock"
#define BIOS		"/tmp/guest-bios.bin"
/* Guest writes stay above the PC's legacy area below 1 MiB... */
#define LOW_PAGES	256UL
/* ...but for the guest program's counter. */
#define COUNTER		0x1000

/*
 * The guest program, at the top of the 64 KiB BIOS (mapped at 0xffff0000;
 * the CPU starts at 0xfffffff0): to 32-bit protected mode with flat
 * segments, then for ever: a counter to COUNTER, and the counter and a
 * xorshift32 state to a pseudo-random 8-byte slot of [1 MiB, 17 MiB).
 */
static const unsigned char guest_code[] = {
	0xfa,					/* cli */
	0x2e, 0x66, 0x0f, 0x01, 0x16, 0x78, 0x00, /* lgdtl %cs:0x78 (gdtr) */
	0x0f, 0x20, 0xc0,			/* mov %cr0, %eax */
	0x66, 0x83, 0xc8, 0x01,			/* or $1, %eax */
	0x0f, 0x22, 0xc0,			/* mov %eax, %cr0 */
	0x66, 0xea, 0x1a, 0x00, 0xff, 0xff, 0x08, 0x00, /* ljmpl $8, $0xffff001a */
	0x66, 0xb8, 0x10, 0x00,			/* 1a: mov $0x10, %ax */
	0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0,	/* mov %ax, %ds, %es, %ss */
	0xbe, 0x78, 0x56, 0x34, 0x12,		/* mov $0x12345678, %esi */
	0x31, 0xdb,				/* xor %ebx, %ebx */
	0x43,					/* 2b: inc %ebx */
	0x89, 0xf0, 0xc1, 0xe0, 0x0d, 0x31, 0xc6, /* esi ^= esi << 13 */
	0x89, 0xf0, 0xc1, 0xe8, 0x11, 0x31, 0xc6, /* esi ^= esi >> 17 */
	0x89, 0xf0, 0xc1, 0xe0, 0x05, 0x31, 0xc6, /* esi ^= esi << 5 */
	0x89, 0xf0, 0x25, 0xf8, 0xff, 0xff, 0x00, /* eax = esi & 0xfffff8 */
	0x89, 0x98, 0x00, 0x00, 0x10, 0x00,	/* mov %ebx, 0x100000(%eax) */
	0x89, 0xb0, 0x04, 0x00, 0x10, 0x00,	/* mov %esi, 0x100004(%eax) */
	0x89, 0x1d, 0x00, 0x10, 0x00, 0x00,	/* mov %ebx, COUNTER */
	0xeb, 0xcf,				/* jmp 2b */
	0, 0, 0, 0,
	/* 60: the GDT: null, flat 32-bit code (8), flat data (0x10) */
	0, 0, 0, 0, 0, 0, 0, 0,
	0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00,
	0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00,
	/* 78: gdtr: limit 0x17, base 0xffff0060 */
	0x17, 0x00, 0x60, 0x00, 0xff, 0xff,
};

/* The BIOS file: guest_code at 0, "jmp 0" at the reset vector. */
static int write_bios(const char *path)
{
	static unsigned char bios[0x10000];
	FILE *f = fopen(path, "w");
	int ok;

	memcpy(bios, guest_code, sizeof(guest_code));
	bios[0xfff0] = 0xe9;	/* jmp rel16: 0xfff3 + 0x000d wraps to 0 */
	bios[0xfff1] = 0x0d;
	if (!f)
		return -errno;
	ok = fwrite(bios, sizeof(bios), 1, f) == 1;
	return fclose(f) || !ok ? -EIO : 0;
}


static struct run r;

/*
 * QEMU's accelerator for the guests: tcg, as the rig's VM has no KVM; a
 * machine with nested KVM runs the test with DIRTYBIT_QEMU_ACCEL=kvm.
 */
static const char *accel(void)
{
	const char *a = getenv("DIRTYBIT_QEMU_ACCEL");

	return a && *a ? a : "tcg";
}

/* Pages the passes after the first wrote, from a save's JSON summary. */
static unsigned long later_pages(const char *json)
{
	const char *p = strstr(json, "\"pages\":");
	unsigned long n = 0;

	while (p && (p = strstr(p + 1, "\"pages\":")))
		n += strtoul(p + strlen("\"pages\":"), NULL, 10);
	return n;
}

FIXTURE(guest) {
	int fd;
	pid_t qemu, loader, writer;
	FILE *qtest;
	volatile unsigned long *writes;	/* shared with the writer */
	int cpu;			/* the guest program writes */
};

FIXTURE_VARIANT(guest) {
	int cpu;	/* the guest program writes, not qtest */
};

FIXTURE_VARIANT_ADD(guest, qtest) {
	.cpu = 0,
};

FIXTURE_VARIANT_ADD(guest, cpu) {
	.cpu = 1,
};

/*
 * Some measure of the writes so far (it changes while QEMU writes): the
 * guest program's counter, read from the region (reads dirty nothing), or
 * the qtest writes made.
 */
static unsigned long progress(FIXTURE_DATA(guest) *self)
{
	unsigned int counter = 0;

	if (!self->cpu)
		return *self->writes;
	if (pread(self->fd, &counter, sizeof(counter), COUNTER) != sizeof(counter))
		return 0;
	return counter;
}

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
	char *const by_qtest[] = {
		QEMU_BIN, "-nodefaults", "-display", "none", "-accel", (char *)accel(), "-S",
		"-object", "memory-backend-file,id=" NAME ",mem-path=" NODE ",share=on,size=" SIZE_OPT,
		"-machine", "pc,memory-backend=" NAME, "-m", SIZE_OPT,
		"-qtest", "unix:" QTEST_SOCK ",server=on,wait=off",
		"-qmp", "unix:" QMP_WRITER ",server=on,wait=off", NULL
	};
	char *const by_cpu[] = {
		QEMU_BIN, "-nodefaults", "-display", "none", "-accel", (char *)accel(), "-bios", BIOS,
		"-object", "memory-backend-file,id=" NAME ",mem-path=" NODE ",share=on,size=" SIZE_OPT,
		"-machine", "pc,memory-backend=" NAME, "-m", SIZE_OPT,
		"-qmp", "unix:" QMP_WRITER ",server=on,wait=off", NULL
	};
	int i;

	ASSERT_EQ(0, access("/usr/bin/" QEMU_BIN, X_OK)) TH_LOG("the rig put no QEMU in the VM");
	ASSERT_EQ(0, dirtybit_load());
	system(CLI " detach " NAME " 2>/dev/null; rm -f /tmp/guest*");
	self->fd = region_create(NAME, SIZE, DIRTYBIT_REGION_F_NODE, NULL);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s%s", strerror(-self->fd),
				      self->fd == -EEXIST ? " (left by an earlier case)" : "");
	self->writes = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->writes);
	if (variant->cpu) {
		ASSERT_EQ(0, write_bios(BIOS));
		self->cpu = 1;
		self->qemu = qemu_start(by_cpu, "/tmp/guest-qemu.log");
		ASSERT_LT(0, self->qemu);
		for (i = 0; i < QEMU_CONNECT_TRIES && progress(self) < 1000 &&
		     !waitpid(self->qemu, NULL, WNOHANG); i++)
			usleep(50000);
		ASSERT_LE(1000, progress(self))
			TH_LOG("QEMU: %s", (run_slurp("/tmp/guest-qemu.log", r.err), r.err));
		return;
	}
	self->qemu = qemu_start(by_qtest, "/tmp/guest-qemu.log");
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
	if (system(CLI " detach " NAME))
		TH_LOG("region " NAME " left behind");
	system("rm -f /tmp/guest*");
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

TEST_F_TIMEOUT(guest, live_image_of_guest_ram_equals_the_held_copy_and_qemu_loads_it, 300)
{
	char *const load[] = {
		QEMU_BIN, "-nodefaults", "-display", "none", "-accel", (char *)accel(),
		"-object", "memory-backend-ram,id=" NAME ",size=" SIZE_OPT,
		"-machine", "none,memory-backend=" NAME, "-m", SIZE_OPT, "-incoming", "defer",
		/*
		 * wait=on: QEMU accepts the test's connection before it makes
		 * the monitor.  With wait=off a client that connects early may
		 * be read by the main loop and the monitor's I/O thread at once
		 * (QEMU 10's startup race, "monitor/qmp: cleanup SocketChardev
		 * listener sources early" upstream): once, on the debug kernel,
		 * QMP's lexer lost the quote before a command's name ("JSON
		 * parse error, stray '-s'").
		 */
		"-qmp", "unix:" QMP_SOCK ",server=on,wait=on", NULL
	};
	char reply[8192], status[256];
	unsigned long before = progress(self), after;
	unsigned int counter = 0;
	FILE *qmp, *f;
	int n, held, i;

	ASSERT_EQ(0, run(&r, CLI " -j image save --passes 5 --threads 2 --exec-held 'cat " NODE
			 " > " HELD "' " IMAGE " " NAME)) TH_LOG("%s", r.err);
	TH_LOG("%s", r.out);
	n = image_save_passes(r.out, &held);
	EXPECT_LE(2, n);
	EXPECT_GE(5, n);
	EXPECT_EQ(1, held);
	EXPECT_TRUE(nonzero(HELD));
	/* The guest wrote during the save: the passes after the first had pages to copy... */
	EXPECT_LT(0, later_pages(r.out));
	/* ...and the guest program's counter in the held copy is past where it was before. */
	if (self->cpu) {
		f = fopen(HELD, "r");
		ASSERT_NE(NULL, f);
		EXPECT_EQ(0, fseek(f, COUNTER, SEEK_SET));
		EXPECT_EQ(1, fread(&counter, sizeof(counter), 1, f));
		fclose(f);
		EXPECT_LT(before, counter);
	}
	/* QEMU went on writing after the hold. */
	after = progress(self);
	for (i = 0; i < 6000 && progress(self) == after; i++)
		usleep(10000);
	EXPECT_NE(after, progress(self));
	EXPECT_EQ(0, waitpid(self->qemu, NULL, WNOHANG));
	EXPECT_EQ(0, run(&r, CLI " image verify " IMAGE " " NAME "=" HELD)) TH_LOG("%s", r.err);

	/* A second QEMU loads the image: its RAM is the held copy. */
	self->loader = qemu_start(load, "/tmp/guest-load.log");
	ASSERT_LT(0, self->loader);
	qmp = qmp_open(QMP_SOCK, self->loader);
	ASSERT_NE(NULL, qmp) TH_LOG("QEMU: %s", (run_slurp("/tmp/guest-load.log", r.err), r.err));
	qmp_mapped_ram(qmp, "migrate-incoming", IMAGE, 3000, status, sizeof(status));
	ASSERT_STREQ("completed", status);
	ASSERT_EQ(0, qmp_cmd(qmp, "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 0, "
			     "\"size\": 33554432, \"filename\": \"" PMEM "\"}}", reply, sizeof(reply)))
		TH_LOG("%s", reply);
	qmp_cmd(qmp, "{\"execute\": \"quit\"}", reply, sizeof(reply));
	fclose(qmp);
	EXPECT_EQ(0, run(&r, "cmp " PMEM " " HELD)) TH_LOG("%s", r.out);
}

/*
 * The same running guest saved by dirtybit (its default 8 passes, then 4,
 * about the dirty syncs QEMU makes here) and then by QEMU's own mapped-ram
 * migration to a file: all complete; the time each took and the guest's
 * pause in each are printed (for docs/PERFORMANCE.md), never judged.
 * QEMU's migration leaves the guest paused, so it comes last.
 */
TEST_F_TIMEOUT(guest, dirtybit_and_qemu_mapped_ram_side_by_side, 300)
{
	static const char *const runs[] = { "8", "4" };
	char reply[8192], status[256], line[512];
	int len = 0, n, held;
	unsigned int i;
	FILE *qmp;

	for (i = 0; i < ARRAY_SIZE(runs); i++) {
		ASSERT_EQ(0, run(&r, CLI " -j image save --passes %s /tmp/guest-db.img " NAME, runs[i]))
			TH_LOG("%s", r.err);
		n = image_save_passes(r.out, &held);
		EXPECT_LE(0, run_json_ll(r.out, "total_ms")) TH_LOG("%s", r.out);
		if (len >= (int)sizeof(line))
			break;
		len += snprintf(line + len, sizeof(line) - len,
				"dirtybit --passes %s (%d run) total_ms %lld pause_ms %lld; ", runs[i], n,
				run_json_ll(r.out, "total_ms"), run_json_ll(r.out, "frozen_ms"));
	}

	qmp = qmp_open(QMP_WRITER, self->qemu);
	ASSERT_NE(NULL, qmp) TH_LOG("QEMU: %s", (run_slurp("/tmp/guest-qemu.log", r.err), r.err));
	qmp_mapped_ram(qmp, "migrate", "/tmp/guest-qemu.img", 6000, status, sizeof(status));
	ASSERT_STREQ("completed", status);
	ASSERT_EQ(0, qmp_cmd(qmp, "{\"execute\": \"query-migrate\"}", reply, sizeof(reply)));
	fclose(qmp);
	printf("# side by side (%s writer, %s guest RAM): %sQEMU mapped-ram (%lld dirty syncs) "
	       "total-time %lld downtime %lld\n", variant->cpu ? "guest program" : "qtest", SIZE_OPT,
	       line, run_json_ll(reply, "dirty-sync-count"), run_json_ll(reply, "total-time"),
	       run_json_ll(reply, "downtime"));
	TH_LOG("QEMU: %s", reply);
}

NEEDS_HARNESS_MAIN("dirtybit", "dirtybit qemu-system-x86_64")
