// SPDX-License-Identifier: GPL-2.0
/*
 * Point-in-time live backups: the copy runs in passes with the writers
 * going, and they are stopped (FIFREEZE, or --freeze-cmd) only for a last
 * pass, whose cut the output equals.
 *
 * ext4 on the tracked virtio disk /dev/vda under a writer appending
 * sequence-numbered, checksummed records to four files with fdatasync:
 * each backup, restored onto /dev/vdb, is byte-identical to the disk read
 * inside the last freeze, passes e2fsck -fn, and holds a gap-free prefix of
 * the records with none torn.  A raw writer on a dm-linear device above a
 * tracked brd disk, stopped by --freeze-cmd 'dmsetup suspend': faster than
 * the copy, so the passes stop at --passes; --max-freeze cancels; a failing
 * freeze or thaw command, a full output file system and a SIGKILLed agent
 * each leave the bitmap equal to the model (every write since it was
 * added) and no output; so do read errors in the last pass, after two
 * live ones.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "kselftest_harness.h"
#include "db.h"
#include "dm.h"
#include "model.h"
#include "module.h"
#include "needs.h"
#include "run.h"

#define CLI	"dirtybit"
#define VDISK	"/dev/vda"
#define RDISK	"/dev/vdb"		/* restores land here */
#define RAW	"/dev/ram0"
#define RAW_SIZE	(64ULL << 20)
#define LINEAR	"pit-lin"
#define LINEAR_DEV	"/dev/mapper/" LINEAR
#define DIR	"/tmp/pit"
#define MNT	"/mnt/pit"
#define RMNT	"/mnt/pit-restored"
#define GRAN	65536

#define REC	65536			/* one record */
#define NFILES	4
#define REC_MAGIC	0x50495452u	/* "PITR" */

static struct run r;

struct rec_head {
	uint32_t magic;
	uint32_t file;
	uint64_t seq;
	uint64_t sum;			/* of the payload after the head */
};

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

static void rec_fill(unsigned char *buf, uint64_t seq)
{
	struct rec_head *h = (struct rec_head *)buf;
	size_t i;

	for (i = sizeof(*h); i < REC; i++)
		buf[i] = (unsigned char)(seq * 131 + i * 7);
	h->magic = REC_MAGIC;
	h->file = seq % NFILES;
	h->seq = seq;
	h->sum = fnv(buf + sizeof(*h), REC - sizeof(*h));
}

static volatile sig_atomic_t writer_stop;

static void on_term(int sig)
{
	(void)sig;
	writer_stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Appends records round robin to MNT/rec.0..3, each followed by
 * fdatasync(), at most @rate bytes a second (0: as fast as it can), until
 * SIGTERM.  *@done counts the records written.
 */
static pid_t start_record_writer(double rate, volatile uint64_t *done)
{
	pid_t pid = fork();
	unsigned char *buf;
	char path[64];
	int fd[NFILES], f;
	uint64_t seq;
	double t0;

	if (pid)
		return pid;
	signal(SIGTERM, on_term);
	buf = malloc(REC);
	for (f = 0; f < NFILES; f++) {
		snprintf(path, sizeof(path), MNT "/rec.%d", f);
		fd[f] = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd[f] < 0)
			_exit(1);
	}
	t0 = now();
	for (seq = 0; !writer_stop; seq++) {
		rec_fill(buf, seq);
		if (write(fd[seq % NFILES], buf, REC) != REC || fdatasync(fd[seq % NFILES]))
			_exit(2);
		*done = seq + 1;
		if (rate > 0) {
			double due = t0 + (seq + 1) * (double)REC / rate - now();

			if (due > 0)
				usleep((useconds_t)(due * 1e6));
		}
	}
	_exit(0);
}

static void stop_writer(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGCONT);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/*
 * The records under @dir: every one whole and in its place, and together a
 * gap-free prefix 0..N-1 of the sequence.  N, or -1 with @why.
 */
static long check_records(const char *dir, char *why, size_t len)
{
	unsigned char *buf = malloc(REC);
	long count[NFILES], total = 0;
	char path[128];
	struct stat st;
	int f, fd;

	for (f = 0; f < NFILES; f++) {
		snprintf(path, sizeof(path), "%s/rec.%d", dir, f);
		fd = open(path, O_RDONLY);
		if (fd < 0 || fstat(fd, &st))
			return snprintf(why, len, "%s: %s", path, strerror(errno)), -1;
		if (st.st_size % REC)
			return snprintf(why, len, "%s: %lld bytes, a torn record", path,
					(long long)st.st_size), -1;
		for (count[f] = 0; read(fd, buf, REC) == REC; count[f]++) {
			struct rec_head *h = (struct rec_head *)buf;

			if (h->magic != REC_MAGIC || h->file != (uint32_t)f ||
			    h->seq != (uint64_t)(f + NFILES * count[f]) ||
			    h->sum != fnv(buf + sizeof(*h), REC - sizeof(*h)))
				return snprintf(why, len, "%s: record %ld is not record %ld",
						path, count[f], f + NFILES * count[f]), -1;
		}
		close(fd);
		total += count[f];
	}
	free(buf);
	/* A prefix: the files' counts fall by at most one, in order. */
	for (f = 1; f < NFILES; f++)
		if (count[f] > count[f - 1] || count[f] < count[0] - 1)
			return snprintf(why, len, "a gap: %ld, %ld, %ld, %ld records", count[0],
					count[1], count[2], count[3]), -1;
	return total;
}

/* Passes in a backup's JSON, and how many ran frozen. */
static int count_passes(const char *json, int *frozen)
{
	const char *p = strstr(json, "\"passes\":");
	int n = 0;

	*frozen = 0;
	while (p && (p = strstr(p, "\"ms\":"))) {
		n++;
		p++;
	}
	for (p = json; (p = strstr(p, "\"frozen\":true")); p++)
		(*frozen)++;
	return n;
}

/*
 * The bytes the passes of backup output @json copied, all of them and
 * those of the frozen pass: the time frozen follows the bytes copied
 * frozen, without the machine's speed in it.
 */
static void pass_bytes(const char *json, long long *all, long long *frozen)
{
	const char *p = strstr(json, "\"passes\":");
	const char *stop = p ? strchr(p, ']') : NULL;

	*all = *frozen = 0;
	while (p && (p = strstr(p, "\"bytes\":")) && p < stop) {
		long long n = strtoll(p + strlen("\"bytes\":"), NULL, 10);
		const char *end = strchr(p, '}');
		const char *f = strstr(p, "\"frozen\":true");

		*all += n;
		if (f && end && f < end)
			*frozen += n;
		p++;
	}
}

/* The md5 of device @dev, as "sh -c" prints it. */
#define MD5(dev)	"dd if=" dev " bs=1M iflag=direct 2>/dev/null | md5sum | head -c 32"

/*
 * Restores @top onto RDISK; it must read as @md5 (if given), pass e2fsck
 * and hold whole records.  The number of records, or -1.
 */
static long restored_records(struct __test_metadata *_metadata, const char *top,
			     const char *md5)
{
	char why[256], sum[64];
	long n;

	if (run(&r, CLI " restore %s -o " RDISK, top)) {
		TH_LOG("restore: %s", r.err);
		return -1;
	}
	if (md5) {
		run(&r, MD5(RDISK));
		run_slurp(md5, sum);
		if (strcmp(r.out, sum)) {
			TH_LOG("%s restored: %s; inside the freeze: %s", top, r.out, sum);
			return -1;
		}
	}
	if (run(&r, "e2fsck -fn " RDISK)) {
		TH_LOG("e2fsck: %s %s", r.out, r.err);
		return -1;
	}
	if (run(&r, "mount -t ext4 -o ro " RDISK " " RMNT)) {
		TH_LOG("mount: %s", r.err);
		return -1;
	}
	n = check_records(RMNT, why, sizeof(why));
	if (n < 0)
		TH_LOG("%s: %s", top, why);
	umount(RMNT);
	return n;
}

FIXTURE(pit) {
	struct db db;
	pid_t writer;
	volatile uint64_t *done;	/* shared with the writer */
	unsigned char *marks;		/* the raw writer's granules, shared */
};

FIXTURE_SETUP(pit)
{
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, db_open(&self->db));
	ASSERT_EQ(0, system("rm -rf " DIR " && mkdir -p " DIR " " MNT " " RMNT));
	self->done = mmap(NULL, 4096 + RAW_SIZE / GRAN, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->done);
	self->marks = (unsigned char *)self->done + 4096;
}

FIXTURE_TEARDOWN(pit)
{
	stop_writer(self->writer);
	db_detach(&self->db, LINEAR_DEV);
	system("fsfreeze --unfreeze " MNT " 2>/dev/null; umount " MNT " " RMNT " 2>/dev/null;"
	       DMSETUP " resume " LINEAR " 2>/dev/null; " DMSETUP " remove " LINEAR " 2>/dev/null");
	db_detach(&self->db, VDISK);
	db_detach(&self->db, RAW);
	nl_close(&self->db.nl);
	system("rm -rf " DIR "; rmmod brd 2>/dev/null");
}

/* ext4 on the tracked VDISK, mounted, with bitmap "b" from before mkfs. */
static int ext4_on_vdisk(struct db *db)
{
	if (db_attach(db, VDISK) < 0 || db_add(db, VDISK, "b", 0, 0))
		return -1;
	return system(MKE2FS " -q -F -t ext4 -E nodiscard,lazy_itable_init=0,"
		      "lazy_journal_init=0 " VDISK " && mount -t ext4 " VDISK " " MNT);
}

/*
 * A full backup and two incrementals in passes under the record writer:
 * each restored image is the disk as read inside the last freeze, byte for
 * byte, e2fsck-clean, with a gap-free prefix of whole records.
 */
TEST_F_TIMEOUT(pit, full_and_incrementals_equal_the_disk_at_the_last_cut, 900)
{
	static const char *const kinds[] = { "--full", "--backing " DIR "/0.qcow2",
					     "--backing " DIR "/1.qcow2" };
	long last = 0, n;
	int i, frozen;

	ASSERT_EQ(0, ext4_on_vdisk(&self->db));
	self->writer = start_record_writer(0, self->done);
	while (*self->done < 64)
		usleep(10000);
	for (i = 0; i < 3; i++) {
		char md5[64];

		snprintf(md5, sizeof(md5), DIR "/%d.md5", i);
		ASSERT_EQ(0, run(&r, CLI " -j backup " VDISK " --bitmap b %s -o " DIR "/%d.qcow2"
				 " --fsfreeze " MNT " --passes 6 --exec-frozen '" MD5(VDISK)
				 " > %s'", kinds[i], i, md5)) TH_LOG("%s", r.err);
		TH_LOG("%s", r.out);
		EXPECT_LE(1, count_passes(r.out, &frozen));
		EXPECT_EQ(1, frozen);
		/* The writer goes on after the thaw (the harness's limit bounds it). */
		n = *self->done;
		while (*self->done == n)
			usleep(10000);
	}
	stop_writer(self->writer);
	self->writer = 0;
	for (i = 0; i < 3; i++) {
		char top[64], md5[64];

		snprintf(top, sizeof(top), DIR "/%d.qcow2", i);
		snprintf(md5, sizeof(md5), DIR "/%d.md5", i);
		n = restored_records(_metadata, top, md5);
		ASSERT_LT(0, n);
		EXPECT_LE(last, n);
		last = n;
	}
}

/*
 * Under a writer at about a quarter of the copy rate, the frozen pass
 * copies at most a tenth of what the backup copies (the old whole-copy
 * freeze: all of it), and the image is still whole.  Bytes, not the
 * times: those are printed, but a slow machine (a debug kernel under TCG)
 * stretches the freeze's own sync, not what the design keeps small.
 */
TEST_F_TIMEOUT(pit, freeze_is_short_under_a_writer_at_a_quarter_of_the_copy_rate, 900)
{
	long long rate, frozen_ms, total_ms, all_bytes, frozen_bytes;
	int passes, frozen;

	ASSERT_EQ(0, ext4_on_vdisk(&self->db));
	/* The copy rate, from an unfrozen full backup of the same disk. */
	ASSERT_EQ(0, run(&r, CLI " -j backup " VDISK " --bitmap b --full -o " DIR "/rate.qcow2"))
		TH_LOG("%s", r.err);
	rate = run_json_ll(r.out, "bytes_per_sec");
	ASSERT_LT(0, rate);
	self->writer = start_record_writer(rate / 4.0, self->done);
	while (*self->done < 16)
		usleep(10000);
	ASSERT_EQ(0, run(&r, CLI " -j backup " VDISK " --bitmap b --full -o " DIR "/0.qcow2"
			 " --fsfreeze " MNT)) TH_LOG("%s", r.err);
	TH_LOG("copy rate %lld B/s, writer %.0f B/s: %s", rate, rate / 4.0, r.out);
	passes = count_passes(r.out, &frozen);
	frozen_ms = run_json_ll(r.out, "frozen_ms");
	total_ms = run_json_ll(r.out, "total_ms");
	EXPECT_LE(2, passes);
	EXPECT_EQ(1, frozen);
	pass_bytes(r.out, &all_bytes, &frozen_bytes);
	TH_LOG("frozen %lld ms of %lld ms, %lld bytes of %lld", frozen_ms, total_ms,
	       frozen_bytes, all_bytes);
	EXPECT_LE(0, frozen_ms);
	EXPECT_LT(0, all_bytes);
	EXPECT_GE(all_bytes, 10 * frozen_bytes);
	stop_writer(self->writer);
	self->writer = 0;
	EXPECT_LT(0, restored_records(_metadata, DIR "/0.qcow2", NULL));
}

/* The pass options' refusals: each before anything is frozen or written. */
TEST_F(pit, pass_options_are_refused_with_reasons)
{
	struct db_bitmap_info bi;

	ASSERT_EQ(0, ext4_on_vdisk(&self->db));
	EXPECT_EQ(2, run(&r, CLI " backup " VDISK " --bitmap b --full -o " DIR "/x.qcow2"
			 " --passes 3"));
	EXPECT_NE(NULL, strstr(r.err, "need --fsfreeze or --freeze-cmd")) TH_LOG("%s", r.err);
	EXPECT_EQ(2, run(&r, CLI " backup " VDISK " --bitmap b --full -o " DIR "/x.qcow2"
			 " --freeze-cmd true"));
	EXPECT_NE(NULL, strstr(r.err, "go together")) TH_LOG("%s", r.err);
	EXPECT_EQ(2, run(&r, CLI " backup " VDISK " --bitmap b --full -o " DIR "/x.qcow2"
			 " --fsfreeze " MNT " --max-freeze 0"));
	EXPECT_NE(NULL, strstr(r.err, "--max-freeze")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " backup " VDISK " --bitmap b --full -o " DIR "/x.qcow2"
			 " --fsfreeze " MNT " --fsfreeze " MNT "/."));
	EXPECT_NE(NULL, strstr(r.err, "one file system")) TH_LOG("%s", r.err);
	EXPECT_NE(0, access(DIR "/x.qcow2", F_OK));
	EXPECT_NE(0, access(DIR "/x.qcow2.partial", F_OK));
	ASSERT_EQ(0, db_info(&self->db, VDISK, "b", &bi));
	EXPECT_FALSE(bi.flags & DIRTYBIT_BITMAP_F_FROZEN);
	/* Not frozen: a write goes through at once. */
	EXPECT_EQ(0, run(&r, "echo x > " MNT "/probe && sync"));
}

/* ---- a raw writer above a tracked disk ------------------------------------ */

/*
 * dm-linear over the tracked RAW, bitmap "b" (from before any write), and a
 * writer of random 4 KiB blocks through it with O_DIRECT, as fast as it
 * can, marking each granule it wrote in self->marks once the write is done.
 */
static pid_t start_raw_writer(unsigned char *marks)
{
	uint64_t x = 88172645463325252ULL ^ (uint64_t)getpid();
	unsigned char *buf;
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	signal(SIGTERM, on_term);
	fd = open(LINEAR_DEV, O_WRONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, 4096))
		_exit(1);
	while (!writer_stop) {
		uint64_t off;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		off = (x % (RAW_SIZE / 4096)) * 4096;
		memset(buf, (int)(x >> 32), 4096);
		if (pwrite(fd, buf, 4096, (off_t)off) != 4096)
			_exit(2);
		marks[off / GRAN] = 1;
	}
	_exit(0);
}

static int raw_setup(struct db *db, unsigned char *marks, pid_t *writer)
{
	system("rmmod brd 2>/dev/null");
	if (system("modprobe brd rd_nr=1 rd_size=65536") || db_attach(db, RAW) < 0 ||
	    db_add(db, RAW, "b", GRAN, 0) ||
	    system(DMSETUP " create " LINEAR " --table '0 131072 linear " RAW " 0'"))
		return -1;
	if (write_direct(LINEAR_DEV, 0, 1 << 20, 0x11))
		return -1;
	memset(marks, 0, RAW_SIZE / GRAN);
	memset(marks, 1, (1 << 20) / GRAN);
	*writer = start_raw_writer(marks);
	return *writer < 0 ? -1 : 0;
}

/* Bitmap "b" of @dev equals every granule written since it was added. */
static const char *model_compare_on(struct db *db, const char *dev, const unsigned char *marks)
{
	struct model m;
	const char *why;

	model_init(&m, RAW_SIZE, GRAN);
	memcpy(m.bit, marks, RAW_SIZE / GRAN);
	why = model_compare(db, dev, "b", &m);
	free(m.bit);
	return why;
}

static const char *raw_model_compare(struct db *db, const unsigned char *marks)
{
	return model_compare_on(db, RAW, marks);
}

#define SUSPEND	"--freeze-cmd '" DMSETUP " suspend " LINEAR "' --thaw-cmd '" DMSETUP " resume " \
		LINEAR "'"

/*
 * A writer faster than the copy: the passes stop at --passes, the last
 * (under dmsetup suspend) copies what is left, and the image is the raw
 * disk at that cut.  --max-freeze set too low cancels before suspending:
 * no output, the bitmap every write since it was added, the writer going.
 */
TEST_F_TIMEOUT(pit, writer_faster_than_the_copy_stops_at_passes, 600)
{
	int frozen;

	ASSERT_EQ(0, raw_setup(&self->db, self->marks, &self->writer));
	EXPECT_EQ(1, run(&r, CLI " backup " RAW " --bitmap b --full -o " DIR "/c.qcow2 "
			 SUSPEND " --passes 4 --threshold 0 --max-freeze 1ms"));
	EXPECT_NE(NULL, strstr(r.err, "--max-freeze")) TH_LOG("%s", r.err);
	EXPECT_NE(0, access(DIR "/c.qcow2", F_OK));
	EXPECT_NE(0, access(DIR "/c.qcow2.partial", F_OK));
	/* Never suspended. */
	EXPECT_NE(0, run(&r, DMSETUP " info " LINEAR " | grep -q SUSPENDED"));
	stop_writer(self->writer);
	self->writer = 0;
	EXPECT_EQ(NULL, raw_model_compare(&self->db, self->marks));

	self->writer = start_raw_writer(self->marks);
	ASSERT_EQ(0, run(&r, CLI " -j backup " RAW " --bitmap b --full -o " DIR "/0.qcow2 "
			 SUSPEND " --passes 3 --threshold 0 --exec-frozen '" MD5(RAW)
			 " > " DIR "/0.md5'")) TH_LOG("%s", r.err);
	TH_LOG("%s", r.out);
	EXPECT_EQ(3, count_passes(r.out, &frozen));
	EXPECT_EQ(1, frozen);
	stop_writer(self->writer);
	self->writer = 0;
	ASSERT_EQ(0, run(&r, CLI " restore " DIR "/0.qcow2 -o " DIR "/0.raw"));
	ASSERT_EQ(0, run(&r, "md5sum < " DIR "/0.raw | head -c 32 > " DIR "/r.md5; "
			 "cmp " DIR "/r.md5 " DIR "/0.md5")) TH_LOG("restored != the cut");
}

/*
 * Failures at the first and the last pass leave bitmap "b" equal to the
 * model and no output: a full output file system, a failing freeze
 * command, a failing thaw command, SIGTERM and SIGINT while the device is
 * suspended (the thaw command runs all the same); a SIGKILLed agent is
 * reclaimed by the module (its thaw command never runs: the test resumes
 * the device).
 */
TEST_F_TIMEOUT(pit, failures_keep_every_bit, 600)
{
	static const char *const cases[] = {
		"--freeze-cmd false --thaw-cmd '" DMSETUP " resume " LINEAR "'",
		"--freeze-cmd '" DMSETUP " suspend " LINEAR "' --thaw-cmd '" DMSETUP " resume "
			LINEAR "; false'",
		SUSPEND " --exec-frozen 'kill -TERM $PPID; sleep 30'",
		SUSPEND " --exec-frozen 'kill -INT $PPID; sleep 30'",
		"--freeze-cmd '" DMSETUP " suspend " LINEAR "; kill -KILL $PPID' --thaw-cmd true",
	};
	const unsigned int killed = sizeof(cases) / sizeof(cases[0]) - 1;
	unsigned int i;

	ASSERT_EQ(0, raw_setup(&self->db, self->marks, &self->writer));
	/* The output file system fills in the first pass. */
	ASSERT_EQ(0, system("mkdir -p " DIR "/small && mount -t tmpfs -o size=1m tmpfs "
			    DIR "/small"));
	EXPECT_EQ(1, run(&r, CLI " backup " RAW " --bitmap b --full -o " DIR "/small/f.qcow2 "
			 SUSPEND " --passes 3"));
	EXPECT_NE(NULL, strstr(r.err, "No space")) TH_LOG("%s", r.err);
	EXPECT_NE(0, access(DIR "/small/f.qcow2", F_OK));
	EXPECT_NE(0, access(DIR "/small/f.qcow2.partial", F_OK));
	umount(DIR "/small");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = run(&r, CLI " backup " RAW " --bitmap b --full -o " DIR "/f.qcow2 %s"
			      " --passes 3", cases[i]);

		EXPECT_EQ(i == killed ? 128 + SIGKILL : 1, ret) TH_LOG("%s: %s", cases[i], r.err);
		EXPECT_NE(0, access(DIR "/f.qcow2", F_OK));
		if (i == 2 || i == 3)	/* a signal while suspended: thawed all the same */
			EXPECT_NE(NULL, strstr(r.err, "interrupted")) TH_LOG("%s", r.err);
		if (i == killed) {
			/* The documented SIGKILL case: the device stays suspended. */
			EXPECT_EQ(0, run(&r, DMSETUP " info " LINEAR " | grep -q SUSPENDED"));
			system(DMSETUP " resume " LINEAR "; rm -f " DIR "/f.qcow2.partial");
		} else {
			EXPECT_NE(0, access(DIR "/f.qcow2.partial", F_OK));
			EXPECT_NE(0, run(&r, DMSETUP " info " LINEAR " | grep -q SUSPENDED"));
		}
	}
	stop_writer(self->writer);
	self->writer = 0;
	/* The module's reclaim of the killed agent's freeze is asynchronous. */
	for (i = 0; i < 100 && run(&r, CLI " bitmap list " RAW " | grep -q frozen") == 0; i++)
		usleep(100000);
	EXPECT_EQ(NULL, raw_model_compare(&self->db, self->marks));
}

/*
 * Read errors in the last pass, after two live ones: the tracked device is
 * the dm-linear one, and the freeze command stops the writer and swaps its
 * table for dm "error"; the thaw command swaps it back and lets the writer
 * go.  The backup fails with the read error, leaves no output, and the
 * bitmap is every write since it was added.
 */
TEST_F_TIMEOUT(pit, read_errors_in_the_last_pass_keep_every_bit, 300)
{
	char cmd[2048];

	system("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, system("modprobe brd rd_nr=1 rd_size=65536"));
	ASSERT_EQ(0, system(DMSETUP " create " LINEAR " --table '0 131072 linear " RAW " 0'"));
	ASSERT_LT(0, db_attach(&self->db, LINEAR_DEV)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, LINEAR_DEV, "b", GRAN, 0));
	ASSERT_EQ(0, write_direct(LINEAR_DEV, 0, 1 << 20, 0x11));
	memset(self->marks, 0, RAW_SIZE / GRAN);
	memset(self->marks, 1, (1 << 20) / GRAN);
	self->writer = start_raw_writer(self->marks);
	ASSERT_LT(0, self->writer);
	snprintf(cmd, sizeof(cmd),
		 CLI " backup " LINEAR_DEV " --bitmap b --full -o " DIR "/e.qcow2 --passes 3"
		 " --threshold 0 --freeze-cmd 'kill -STOP %d; "
		 "while ! grep -q \"^State:.*T\" /proc/%d/status; do :; done; "
		 DMSETUP " suspend " LINEAR " && " DMSETUP " load " LINEAR
		 " --table \"0 131072 error\" && " DMSETUP " resume " LINEAR "'"
		 " --thaw-cmd '" DMSETUP " suspend " LINEAR " && " DMSETUP " load " LINEAR
		 " --table \"0 131072 linear " RAW " 0\" && " DMSETUP " resume " LINEAR
		 "; kill -CONT %d'", self->writer, self->writer, self->writer);
	EXPECT_EQ(1, run(&r, "%s", cmd)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.err, "Input/output error")) TH_LOG("%s", r.err);
	EXPECT_NE(0, access(DIR "/e.qcow2", F_OK));
	EXPECT_NE(0, access(DIR "/e.qcow2.partial", F_OK));
	/* The thaw command put the table back: the writer goes on through it. */
	EXPECT_EQ(0, run(&r, DMSETUP " table " LINEAR " | grep -q linear"));
	stop_writer(self->writer);
	self->writer = 0;
	EXPECT_EQ(NULL, model_compare_on(&self->db, LINEAR_DEV, self->marks));
	db_detach(&self->db, LINEAR_DEV);
}

NEEDS_SCRATCH_DISKS
NEEDS_HARNESS_MAIN("dirtybit brd dm-mod ext4", "dirtybit dmsetup mke2fs e2fsck")
