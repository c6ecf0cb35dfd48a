// SPDX-License-Identifier: GPL-2.0
/*
 * The dirtybit CLI against the live module: output, JSON and exit codes.
 */
#include <linux/dirtybit.h>

#include "kselftest_harness.h"
#include "module.h"
#include "run.h"

#define CLI "dirtybit"

static struct run r;

TEST(version_text)
{
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, run(&r, CLI " version")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.out, "dirtybit " DIRTYBIT_VERSION "\n"));
	EXPECT_NE(NULL, strstr(r.out, "module " DIRTYBIT_VERSION " (protocol 1)\n"));
	EXPECT_STREQ("", r.err);
}

TEST(version_json)
{
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, run(&r, CLI " -j version")) TH_LOG("%s", r.err);
	EXPECT_STREQ("{\"cli\":\"" DIRTYBIT_VERSION "\",\"module\":\"" DIRTYBIT_VERSION
		     "\",\"protocol\":1}\n", r.out);
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

TEST_HARNESS_MAIN
