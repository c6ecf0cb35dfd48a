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

TEST_HARNESS_MAIN
