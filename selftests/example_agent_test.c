// SPDX-License-Identifier: GPL-2.0
/*
 * The example agent (examples/agent.c) against the installed library
 * (for this test, vm: libdirtybit; the rig puts the staged libdirtybit.so.0
 * in /usr/lib/MULTIARCH, the agent in /rig/bin and the CLI linked against
 * the library in /rig/inst).  On a brd disk the agent attaches, adds its
 * bitmap and says "ready"; the test writes known blocks and says go; the
 * agent's incremental must hold exactly the granules written, with the
 * device's bytes, zeros elsewhere, and it must report the events of its
 * cycle in order.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "module.h"
#include "needs.h"
#include "run.h"

#define DISK "/dev/ram0"
#define DISK_SIZE (16 << 20)
#define OUT "/tmp/agent.incr"

/* Writes: two in one 64K granule, one across two, one at the very end. */
static const struct { uint64_t off, len; } writes[] = {
	{ 4096, 4096 }, { 8192, 512 }, { (1 << 20) + 60 * 1024, 8192 },
	{ DISK_SIZE - 4096, 4096 },
};

static struct run r;

static char *slurp(const char *path, size_t size)
{
	char *buf = calloc(1, size);
	int fd = open(path, O_RDONLY);

	if (!buf || fd < 0 || pread(fd, buf, size, 0) != (ssize_t)size) {
		free(buf);
		buf = NULL;
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

TEST(incremental_holds_exactly_the_written_granules)
{
	int to_agent[2], from_agent[2], fd, status;
	uint64_t gran = 0, start, len, next = 0;
	char line[256], *disk, *incr;
	unsigned int i, nextents = 0;
	size_t gi, ngran;
	bool want[DISK_SIZE / 4096] = { false };
	FILE *out;
	pid_t pid;
	const char *events[] = { "event attached\n", "event added agent\n",
				 "event frozen agent\n", "event abdicated agent\n",
				 "event removed agent\n", "event detached\n" };
	char all[8192] = "";

	ASSERT_EQ(0, dirtybit_load());
	sh("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, sh("modprobe brd rd_nr=1 rd_size=%d", DISK_SIZE >> 10));
	ASSERT_EQ(0, pipe(to_agent));
	ASSERT_EQ(0, pipe(from_agent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		dup2(to_agent[0], 0);
		dup2(from_agent[1], 1);
		close(to_agent[1]);
		close(from_agent[0]);
		execlp("agent", "agent", DISK, OUT, NULL);
		_exit(127);
	}
	close(to_agent[0]);
	close(from_agent[1]);
	out = fdopen(from_agent[0], "r");
	ASSERT_NE(NULL, out);

	/* "target ID ram0, SIZE bytes, granularity G", then "ready". */
	ASSERT_NE(NULL, fgets(line, sizeof(line), out));
	strcat(all, line);
	ASSERT_EQ(1, sscanf(line, "target %*u ram0, %*u bytes, granularity %lu", &gran))
		TH_LOG("%s", line);
	ASSERT_EQ(65536, gran);
	ASSERT_NE(NULL, fgets(line, sizeof(line), out));
	ASSERT_STREQ("ready\n", line);

	fd = open(DISK, O_WRONLY);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(writes); i++) {
		char buf[8192];

		memset(buf, 'a' + i, sizeof(buf));
		ASSERT_EQ((ssize_t)writes[i].len, pwrite(fd, buf, writes[i].len, writes[i].off));
		for (gi = writes[i].off / gran; gi <= (writes[i].off + writes[i].len - 1) / gran; gi++)
			want[gi] = true;
	}
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(3, write(to_agent[1], "go\n", 3));
	close(to_agent[1]);

	/* Its extents are the written granules, merged, in order. */
	ngran = DISK_SIZE / gran;
	while (fgets(line, sizeof(line), out)) {
		if (strlen(all) + strlen(line) < sizeof(all))
			strcat(all, line);
		if (sscanf(line, "extent %lu %lu", &start, &len) != 2)
			continue;
		while (next < ngran && !want[next])
			next++;
		EXPECT_EQ(next * gran, start) TH_LOG("extent %s", line);
		gi = next;
		while (gi < ngran && want[gi])
			gi++;
		EXPECT_EQ((gi - next) * gran, len) TH_LOG("extent %s", line);
		next = gi;
		nextents++;
	}
	fclose(out);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status) TH_LOG("agent said:\n%s", all);
	EXPECT_EQ(3, nextents) TH_LOG("%s", all);
	for (gi = 0, len = 0; gi < ngran; gi++)
		len += want[gi] ? gran : 0;
	snprintf(line, sizeof(line), "copied %lu bytes\n", len);
	EXPECT_NE(NULL, strstr(all, line)) TH_LOG("%s", all);

	/* The events of its cycle, in order. */
	{
		const char *at = all;

		for (i = 0; i < ARRAY_SIZE(events); i++) {
			at = strstr(at, events[i]);
			ASSERT_NE(NULL, at) TH_LOG("no %s after the earlier events in:\n%s",
						   events[i], all);
		}
	}

	/* The incremental: the device's bytes in the written granules, zeros elsewhere. */
	disk = slurp(DISK, DISK_SIZE);
	incr = slurp(OUT, DISK_SIZE);
	ASSERT_NE(NULL, disk);
	ASSERT_NE(NULL, incr);
	for (gi = 0; gi < ngran; gi++) {
		if (!want[gi])
			memset(disk + gi * gran, 0, gran);
	}
	for (i = 0; i < ARRAY_SIZE(writes); i++)
		EXPECT_EQ('a' + i, incr[writes[i].off]);
	EXPECT_EQ(0, memcmp(disk, incr, DISK_SIZE));
	free(disk);
	free(incr);
	unlink(OUT);
	sh("rmmod brd");
}

/* The CLI as packaged: linked against libdirtybit.so.0 (no RPATH). */
TEST(installed_cli_runs_on_the_shared_library)
{
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, run(&r, "/rig/inst/dirtybit version")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.out, "dirtybit " DIRTYBIT_VERSION "\n"));
	EXPECT_NE(NULL, strstr(r.out, "module " DIRTYBIT_VERSION " (protocol 2)\n"));
}

NEEDS_HARNESS_MAIN("dirtybit brd", "agent /rig/inst/dirtybit")
