// SPDX-License-Identifier: GPL-2.0
/*
 * The dirtybit CLI against the live module: output, JSON and exit codes.
 */
#include <linux/dirtybit.h>

#include "kselftest_harness.h"
#include "module.h"
#include "needs.h"
#include "run.h"

#define CLI "dirtybit"

static struct run r;

TEST(version_text)
{
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, run(&r, CLI " version")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.out, "dirtybit " DIRTYBIT_VERSION "\n"));
	EXPECT_NE(NULL, strstr(r.out, "module " DIRTYBIT_VERSION " (protocol 2)\n"));
	EXPECT_STREQ("", r.err);
}

TEST(version_json)
{
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, run(&r, CLI " -j version")) TH_LOG("%s", r.err);
	EXPECT_STREQ("{\"cli\":\"" DIRTYBIT_VERSION "\",\"module\":\"" DIRTYBIT_VERSION
		     "\",\"protocol\":2}\n", r.out);
}

TEST(module_absent_is_one_clear_line)
{
	FILE *f;
	char saved[256] = "";

	/* Stop the kernel from autoloading the module for this test. */
	f = fopen("/proc/sys/kernel/modprobe", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(saved, sizeof(saved), f));
	fclose(f);
	ASSERT_EQ(0, run(&r, "echo /bin/false > /proc/sys/kernel/modprobe"));
	ASSERT_EQ(0, dirtybit_unload());

	EXPECT_EQ(3, run(&r, CLI " version"));
	EXPECT_EQ(1, count_lines(r.err)) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "not loaded")) TH_LOG("%s", r.err);
	EXPECT_STREQ("", r.out);

	f = fopen("/proc/sys/kernel/modprobe", "w");
	ASSERT_NE(NULL, f);
	fputs(saved, f);
	fclose(f);
	ASSERT_EQ(0, dirtybit_load());
}

TEST(usage_errors)
{
	EXPECT_EQ(2, run(&r, CLI " no-such-command"));
	EXPECT_NE(NULL, strstr(r.err, "unknown command"));
	EXPECT_EQ(2, run(&r, CLI));
	EXPECT_EQ(2, run(&r, CLI " --no-such-option version"));
	EXPECT_EQ(2, run(&r, CLI " version extra"));
	EXPECT_EQ(0, run(&r, CLI " --help"));
	EXPECT_NE(NULL, strstr(r.out, "Usage:"));
}

/*
 * help, --help and -h print usage on stdout and exit 0, for every command
 * and subcommand, with nothing on stderr and no module needed; a usage
 * error still exits 2 with the usage on stderr.
 */
TEST(help_exits_zero)
{
	static const char *const helps[] = {
		"help", "-h", "--help", "help bitmap", "help image",
		"version --help", "attach -h", "detach --help", "targets -h",
		"region --help", "region create --help", "region destroy -h",
		"bitmap --help", "bitmap add --help",
		"extents -h", "monitor --help", "image --help", "image save --help",
		"image load -h", "backup --help", "backup verify -h", "restore --help",
	};
	unsigned int i;

	for (i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		EXPECT_EQ(0, run(&r, CLI " %s", helps[i])) TH_LOG("%s: %s", helps[i], r.err);
		EXPECT_NE(NULL, strcasestr(r.out, "usage:")) TH_LOG("%s: %s", helps[i], r.out);
		EXPECT_STREQ("", r.err) TH_LOG("%s", helps[i]);
	}
	ASSERT_EQ(0, run(&r, CLI " bitmap add --help"));
	EXPECT_NE(NULL, strstr(r.out, "bitmap add DEVICE|ID NAME")) TH_LOG("%s", r.out);
	ASSERT_EQ(0, run(&r, CLI " image save --help"));
	EXPECT_NE(NULL, strstr(r.out, "--exec-held CMD")) TH_LOG("%s", r.out);
	/* Further on, -h is a value or a name: the command runs (and fails). */
	EXPECT_NE(0, run(&r, CLI " backup /dev/nope --bitmap b --full -o -h"));
	EXPECT_EQ(NULL, strcasestr(r.out, "usage:")) TH_LOG("%s", r.out);
	EXPECT_NE(0, run(&r, CLI " bitmap remove /dev/nope -h"));
	EXPECT_EQ(NULL, strcasestr(r.out, "usage:")) TH_LOG("%s", r.out);
	ASSERT_EQ(0, run(&r, CLI " help"));
	EXPECT_NE(NULL, strstr(r.out, "COMMAND --help")) TH_LOG("%s", r.out);
}

TEST(usage_errors_exit_two)
{
	static const char *const bad[] = {
		"help no-such-command", "help bitmap extra", "bitmap add", "bitmap",
		"region create", "image", "image frob", "image save", "backup",
		"backup verify", "restore", "extents", "monitor --count 0", "attach",
		"image save --no-such-option f x=y",
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(2, run(&r, CLI " %s", bad[i])) TH_LOG("%s", bad[i]);
		EXPECT_STREQ("", r.out) TH_LOG("%s: %s", bad[i], r.out);
		EXPECT_NE(0, strlen(r.err)) TH_LOG("%s", bad[i]);
	}
	EXPECT_EQ(2, run(&r, CLI " bitmap add /dev/ram0"));
	EXPECT_NE(NULL, strstr(r.err, "usage: bitmap list")) TH_LOG("%s", r.err);
}

/*
 * No insmod: the first command loads the module.  The CLI asks for the
 * generic netlink family, the kernel runs modprobe for the family's alias
 * (MODULE_ALIAS_GENL_FAMILY), and modprobe finds dirtybit.ko through
 * modules.alias where DKMS installs it (the rig: updates/, with depmod).
 */
TEST(attach_autoloads_the_module)
{
	system("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, system("modprobe brd rd_nr=1 rd_size=65536"));
	ASSERT_EQ(0, dirtybit_unload());
	ASSERT_FALSE(dirtybit_loaded());
	ASSERT_EQ(0, run(&r, CLI " attach /dev/ram0")) TH_LOG("%s", r.err);
	EXPECT_TRUE(dirtybit_loaded());
	EXPECT_NE(NULL, strstr(r.out, ": ram0 start 0 size 67108864 live")) TH_LOG("%s", r.out);
	EXPECT_EQ(0, run(&r, CLI " detach /dev/ram0")) TH_LOG("%s", r.err);
}

/* So does a region's creation, which goes through /dev/dirtybit, not netlink. */
TEST(region_create_autoloads_the_module)
{
	ASSERT_EQ(0, dirtybit_unload());
	ASSERT_FALSE(dirtybit_loaded());
	ASSERT_EQ(0, run(&r, CLI " region create autoloaded 1M")) TH_LOG("%s", r.err);
	EXPECT_TRUE(dirtybit_loaded());
	EXPECT_EQ(0, run(&r, CLI " region destroy autoloaded")) TH_LOG("%s", r.err);
}

/* The block commands end to end on brd: attach, bitmaps, extents, JSON. */
TEST(block_tour)
{
	ASSERT_EQ(0, dirtybit_load());
	system("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, system("modprobe brd rd_nr=1 rd_size=65536"));
	ASSERT_EQ(0, run(&r, CLI " attach /dev/ram0")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.out, ": ram0 start 0 size 67108864 live"));
	ASSERT_EQ(0, run(&r, CLI " bitmap add /dev/ram0 nightly --granularity 64K"))
		TH_LOG("%s", r.err);
	ASSERT_EQ(0, system("dd if=/dev/zero of=/dev/ram0 bs=4096 seek=256 count=1 oflag=direct 2>/dev/null"));
	ASSERT_EQ(0, run(&r, CLI " extents /dev/ram0 nightly")) TH_LOG("%s", r.err);
	EXPECT_STREQ("1048576 65536\n", r.out);
	ASSERT_EQ(0, run(&r, CLI " -j extents /dev/ram0 nightly"));
	EXPECT_STREQ("[{\"start\":1048576,\"length\":65536}]\n", r.out);
	ASSERT_EQ(0, run(&r, CLI " bitmap list /dev/ram0"));
	EXPECT_NE(NULL, strstr(r.out, "nightly granularity 65536 count 65536 recording\n"))
		TH_LOG("%s", r.out);
	ASSERT_EQ(0, run(&r, CLI " -j bitmap list"));
	EXPECT_NE(NULL, strstr(r.out, "\"name\":\"nightly\",\"granularity\":65536,\"count\":65536,"
			       "\"recording\":true,\"frozen\":false"))
		TH_LOG("%s", r.out);
	ASSERT_EQ(0, run(&r, CLI " bitmap clear /dev/ram0 nightly"));
	ASSERT_EQ(0, run(&r, CLI " extents /dev/ram0 nightly"));
	EXPECT_STREQ("", r.out);
	ASSERT_EQ(0, run(&r, CLI " -j targets"));
	EXPECT_NE(NULL, strstr(r.out, "\"name\":\"ram0\""));
	EXPECT_EQ(1, run(&r, CLI " bitmap add /dev/ram0 nightly"));
	EXPECT_NE(NULL, strstr(r.err, "already exists")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, count_lines(r.err));
	EXPECT_EQ(1, run(&r, CLI " bitmap add /dev/ram0 x --granularity 64000"));
	EXPECT_NE(NULL, strstr(r.err, "power of two")) TH_LOG("%s", r.err);
	EXPECT_EQ(2, run(&r, CLI " bitmap add /dev/ram0"));
	EXPECT_EQ(2, run(&r, CLI " bitmap frobnicate /dev/ram0 x"));
	EXPECT_EQ(1, run(&r, CLI " bitmap reclaim /dev/ram0 nightly --force"));
	EXPECT_NE(NULL, strstr(r.err, "not frozen")) TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " detach /dev/ram0")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " detach /dev/ram0"));
	EXPECT_NE(NULL, strstr(r.err, "not attached")) TH_LOG("%s", r.err);
	system("rmmod brd");
}

/* Regions from the command line: create, name as a target, list, destroy. */
TEST(region_tour)
{
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, run(&r, CLI " region create vm0 1M")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.out, ": region vm0 size 1048576 node /dev/dirtybit-regions/vm0\n"))
		TH_LOG("%s", r.out);
	ASSERT_EQ(0, run(&r, CLI " bitmap add vm0 live")) TH_LOG("%s", r.err);
	ASSERT_EQ(0, run(&r, CLI " bitmap list /dev/dirtybit-regions/vm0")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.out, "live granularity 4096 count 0 recording\n")) TH_LOG("%s", r.out);
	ASSERT_EQ(0, run(&r, CLI " -j region list"));
	EXPECT_NE(NULL, strstr(r.out, "\"kind\":\"region\",\"name\":\"vm0\",\"size\":1048576,"
			       "\"node\":\"/dev/dirtybit-regions/vm0\",\"held\":false}"))
		TH_LOG("%s", r.out);
	ASSERT_EQ(0, run(&r, CLI " region create scratch 8K --no-node"));
	ASSERT_EQ(0, run(&r, CLI " targets"));
	EXPECT_NE(NULL, strstr(r.out, ": region scratch size 8192\n")) TH_LOG("%s", r.out);
	EXPECT_EQ(1, run(&r, CLI " region create vm0 1M"));
	EXPECT_NE(NULL, strstr(r.err, "exists")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " region create odd 5000"));
	EXPECT_NE(NULL, strstr(r.err, "multiple of 4096")) TH_LOG("%s", r.err);
	EXPECT_EQ(2, run(&r, CLI " region create odd 12Q"));
	EXPECT_EQ(1, run(&r, CLI " region create huge 1024T"));
	EXPECT_NE(NULL, strstr(r.err, "larger than the machine's memory")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, CLI " region destroy vm0")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, CLI " region destroy scratch")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " region destroy vm0"));
	EXPECT_EQ(1, count_lines(r.err)) TH_LOG("%s", r.err);
	EXPECT_EQ(2, run(&r, CLI " region frob"));
}

/*
 * dirtybit monitor: one line per state change, none per write nor for a
 * refused command or a no-op.  The monitor joins its group some time after
 * it starts, so the test first changes something until the monitor shows
 * it, and then compares everything after that exactly.
 */
TEST(monitor_shows_state_changes_only)
{
	static const char expect[] =
		"{\"event\":\"added\",\"target\":%1$d,\"bitmap\":\"b\"}\n"
		"{\"event\":\"disabled\",\"target\":%1$d,\"bitmap\":\"b\"}\n"
		"{\"event\":\"enabled\",\"target\":%1$d,\"bitmap\":\"b\"}\n"
		"{\"event\":\"cleared\",\"target\":%1$d,\"bitmap\":\"b\"}\n"
		"{\"event\":\"added\",\"target\":%1$d,\"bitmap\":\"c\"}\n"
		"{\"event\":\"merged\",\"target\":%1$d,\"bitmap\":\"c\"}\n"
		"{\"event\":\"frozen\",\"target\":%1$d,\"bitmap\":\"b\"}\n"
		"{\"event\":\"reclaimed\",\"target\":%1$d,\"bitmap\":\"b\"}\n"
		"{\"event\":\"removed\",\"target\":%1$d,\"bitmap\":\"c\"}\n"
		"{\"event\":\"detached\",\"target\":%1$d}\n"
		"{\"event\":\"attached\",\"target\":%2$d}\n"
		"{\"event\":\"gone\",\"target\":%2$d}\n";
	char want[2048], *after;
	int id, id2, tries;

	ASSERT_EQ(0, dirtybit_load());
	system("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, system("modprobe brd rd_nr=1 rd_size=65536"));
	ASSERT_EQ(0, run(&r, CLI " attach /dev/ram0")) TH_LOG("%s", r.err);
	id = atoi(r.out);
	ASSERT_EQ(0, system(CLI " -j monitor >/tmp/monitor.out 2>&1 & echo $! >/tmp/monitor.pid"));
	for (tries = 0; tries < 200; tries++) {
		ASSERT_EQ(0, run(&r, CLI " bitmap add /dev/ram0 probe && "
				 CLI " bitmap remove /dev/ram0 probe"));
		run_slurp("/tmp/monitor.out", r.out);
		if (strstr(r.out, "\"removed\""))
			break;
		usleep(50000);
	}
	ASSERT_NE(NULL, strstr(r.out, "\"removed\"")) TH_LOG("the monitor never joined: %s", r.out);
	/* Drop every probe event: what follows must match exactly. */
	ASSERT_EQ(0, run(&r, CLI " bitmap add /dev/ram0 b"));
	ASSERT_EQ(0, system("dd if=/dev/zero of=/dev/ram0 bs=4096 count=16 oflag=direct 2>/dev/null"));
	ASSERT_EQ(0, run(&r, CLI " bitmap enable /dev/ram0 b"));		/* no-op */
	ASSERT_EQ(1, run(&r, CLI " bitmap add /dev/ram0 b"));		/* refused */
	ASSERT_EQ(0, run(&r, CLI " bitmap disable /dev/ram0 b && " CLI " bitmap enable /dev/ram0 b"));
	ASSERT_EQ(0, run(&r, CLI " bitmap clear /dev/ram0 b && " CLI " bitmap add /dev/ram0 c"));
	ASSERT_EQ(0, run(&r, CLI " bitmap merge /dev/ram0 c b"));
	/* A freeze from the CLI ends when it exits: the module reclaims. */
	ASSERT_EQ(0, run(&r, CLI " bitmap freeze /dev/ram0 b"));
	for (tries = 0; tries < 200; tries++) {
		run_slurp("/tmp/monitor.out", r.out);
		if (strstr(r.out, "\"reclaimed\""))
			break;
		usleep(50000);
	}
	ASSERT_EQ(0, run(&r, CLI " bitmap remove /dev/ram0 c && " CLI " detach /dev/ram0"));
	ASSERT_EQ(0, run(&r, CLI " attach /dev/ram0"));
	id2 = atoi(r.out);
	ASSERT_EQ(0, system("rmmod brd"));
	for (tries = 0; tries < 200; tries++) {
		run_slurp("/tmp/monitor.out", r.out);
		if (strstr(r.out, "\"gone\""))
			break;
		usleep(50000);
	}
	system("kill $(cat /tmp/monitor.pid)");
	run(&r, CLI " detach %d", id2);
	run_slurp("/tmp/monitor.out", r.out);
	after = strstr(r.out, "{\"event\":\"added\",\"target\":");
	while (after && strstr(after, "\"probe\""))
		after = strstr(after + 1, "{\"event\":\"added\",\"target\":");
	snprintf(want, sizeof(want), expect, id, id2);
	ASSERT_NE(NULL, after) TH_LOG("%s", r.out);
	EXPECT_STREQ(want, after);
}

NEEDS_HARNESS_MAIN("dirtybit brd", "dirtybit")
