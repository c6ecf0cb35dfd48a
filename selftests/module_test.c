// SPDX-License-Identifier: GPL-2.0
/*
 * dirtybit.ko basics: load/unload, the generic netlink family, the version
 * query, strict validation, and /dev/dirtybit.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>
#include <linux/dirtybit.h>

#include "kselftest_harness.h"
#include "module.h"
#include "needs.h"
#include "nl.h"

#define LOAD_CYCLES 100

TEST(load_unload_cycles)
{
	int i;

	ASSERT_EQ(0, dirtybit_unload());
	for (i = 0; i < LOAD_CYCLES; i++) {
		ASSERT_EQ(0, dirtybit_load()) TH_LOG("load %d", i);
		ASSERT_TRUE(dirtybit_loaded());
		ASSERT_EQ(0, dirtybit_unload()) TH_LOG("unload %d", i);
		ASSERT_FALSE(dirtybit_loaded());
	}
	ASSERT_EQ(0, dirtybit_load());
}

TEST(family_autoloads_by_name)
{
	struct nl nl;

	ASSERT_EQ(0, dirtybit_unload());
	ASSERT_EQ(0, nl_open(&nl));
	/* The kernel runs modprobe for "net-pf-16-proto-16-family-dirtybit". */
	EXPECT_LT(0, nl_family(&nl, DIRTYBIT_GENL_NAME)) TH_LOG("%s", nl.extack);
	EXPECT_TRUE(dirtybit_loaded());
	nl_close(&nl);
}

/*
 * The knobs that turn off the drain or the re-arm exist for the tests that
 * show what they prevent: set at load, never flipped under a running
 * backup.
 */
TEST(test_knobs_are_read_only)
{
	static const char *const knobs[] = { "cut_drain", "region_rearm", "fold_before_cut" };
	char path[128];
	unsigned int i;
	int fd;

	ASSERT_EQ(0, dirtybit_load());
	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		snprintf(path, sizeof(path), "/sys/module/dirtybit/parameters/%s", knobs[i]);
		fd = open(path, O_WRONLY);
		EXPECT_EQ(-1, fd) TH_LOG("%s is writable", knobs[i]);
		if (fd >= 0)
			close(fd);
	}
}

/* One region with an fd: the fd, or -errno. */
static int one_region(const char *name)
{
	struct dirtybit_ioc_region_create c = { .size = sizeof(c), .bytes = 4096 };
	int ctl = open("/dev/" DIRTYBIT_DEVICE_NAME, O_RDWR | O_CLOEXEC), ret;

	if (ctl < 0)
		return -errno;
	strcpy(c.name, name);
	ret = ioctl(ctl, DIRTYBIT_IOC_REGION_CREATE, &c) ? -errno : c.fd;
	close(ctl);
	return ret;
}

/* Destroys region target @id through netlink: 0 or -errno. */
static int destroy_region(unsigned int id)
{
	struct nl nl;
	struct nl_msg m;
	int family, ret;

	if (nl_open(&nl))
		return -EIO;
	family = nl_family(&nl, DIRTYBIT_GENL_NAME);
	nl_msg_init(&m, family, DIRTYBIT_CMD_TARGET_DETACH, DIRTYBIT_GENL_VERSION);
	nl_put(&m, DIRTYBIT_A_TARGET_ID, &id, sizeof(id));
	ret = nl_send(&nl, &m, NULL, 0);
	nl_close(&nl);
	return ret;
}

static unsigned int region_id(int fd)
{
	struct dirtybit_region_info info = { .size = sizeof(info) };

	return ioctl(fd, DIRTYBIT_REGION_IOC_INFO, &info) ? 0 : info.target_id;
}

/*
 * A region lives in the module's own file system: while one exists (listed,
 * or destroyed with files still open) the module stays, so the last close
 * never runs file system code of a module already gone.
 */
FIXTURE(unload) {
	int unused;
};

FIXTURE_SETUP(unload)
{
}

FIXTURE_TEARDOWN(unload)
{
}

TEST_F_TIMEOUT(unload, a_region_holds_the_module, 600)
{
	unsigned int id;
	int fd, i;

	ASSERT_EQ(0, dirtybit_load());
	fd = one_region("pin");
	ASSERT_LE(0, fd);
	id = region_id(fd);
	ASSERT_LT(0, id);
	EXPECT_EQ(-EWOULDBLOCK, dirtybit_unload());
	close(fd);
	/* Listed, without files. */
	EXPECT_EQ(-EWOULDBLOCK, dirtybit_unload()) TH_LOG("unloaded with a region listed");
	if (!dirtybit_loaded())
		return;
	ASSERT_EQ(0, destroy_region(id));
	EXPECT_EQ(0, dirtybit_unload());

	/* The last close racing the unload, many times over. */
	for (i = 0; i < 50; i++) {
		pid_t pid;

		ASSERT_EQ(0, dirtybit_load());
		fd = one_region("race");
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, destroy_region(region_id(fd)));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			close(fd);
			_exit(0);
		}
		close(fd);
		while (dirtybit_unload() == -EWOULDBLOCK)
			;
		waitpid(pid, NULL, 0);
	}
	ASSERT_EQ(0, dirtybit_load());
}

FIXTURE(genl) {
	struct nl nl;
	int family;
	unsigned char reply[4096];
};

FIXTURE_SETUP(genl)
{
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, nl_open(&self->nl));
	self->family = nl_family(&self->nl, DIRTYBIT_GENL_NAME);
	ASSERT_LT(0, self->family);
}

FIXTURE_TEARDOWN(genl)
{
	nl_close(&self->nl);
}

TEST_F(genl, version)
{
	struct nl_msg m;
	struct nlattr *a;
	int len;

	nl_msg_init(&m, self->family, DIRTYBIT_CMD_GET_VERSION, DIRTYBIT_GENL_VERSION);
	len = nl_send(&self->nl, &m, self->reply, sizeof(self->reply));
	ASSERT_LT(0, len) TH_LOG("%s", self->nl.extack);

	a = nl_attr(self->reply, len, DIRTYBIT_A_VERSION_MODULE);
	ASSERT_NE(NULL, a);
	EXPECT_STREQ(DIRTYBIT_VERSION, (char *)nl_attr_data(a));
	a = nl_attr(self->reply, len, DIRTYBIT_A_VERSION_PROTOCOL);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(DIRTYBIT_GENL_VERSION, *(__u32 *)nl_attr_data(a));
}

TEST_F(genl, version_unprivileged)
{
	struct nl_msg m;

	/* Reading the version reveals nothing: allowed without CAP_NET_ADMIN. */
	ASSERT_EQ(0, setresuid(65534, 65534, 0));
	nl_msg_init(&m, self->family, DIRTYBIT_CMD_GET_VERSION, DIRTYBIT_GENL_VERSION);
	EXPECT_LT(0, nl_send(&self->nl, &m, self->reply, sizeof(self->reply)));
	ASSERT_EQ(0, setresuid(0, 0, 0));
}

TEST_F(genl, unknown_attribute_rejected)
{
	__u32 v = 1;
	struct nl_msg m;

	nl_msg_init(&m, self->family, DIRTYBIT_CMD_GET_VERSION, DIRTYBIT_GENL_VERSION);
	nl_put(&m, DIRTYBIT_A_MAX + 1, &v, sizeof(v));
	EXPECT_EQ(-EINVAL, nl_send(&self->nl, &m, NULL, 0));
	EXPECT_STRNE("", self->nl.extack);
	TH_LOG("extack: %s", self->nl.extack);
}

TEST_F(genl, attribute_not_taken_rejected)
{
	__u32 v = 1;
	struct nl_msg m;

	/* A known attribute the command does not take. */
	nl_msg_init(&m, self->family, DIRTYBIT_CMD_GET_VERSION, DIRTYBIT_GENL_VERSION);
	nl_put(&m, DIRTYBIT_A_VERSION_PROTOCOL, &v, sizeof(v));
	EXPECT_EQ(-EINVAL, nl_send(&self->nl, &m, NULL, 0));
	EXPECT_STRNE("", self->nl.extack);
	TH_LOG("extack: %s", self->nl.extack);
}

TEST_F(genl, unknown_command_rejected)
{
	struct nl_msg m;

	nl_msg_init(&m, self->family, __DIRTYBIT_CMD_MAX + 7, DIRTYBIT_GENL_VERSION);
	EXPECT_EQ(-EOPNOTSUPP, nl_send(&self->nl, &m, NULL, 0));
	nl_msg_init(&m, self->family, DIRTYBIT_CMD_UNSPEC, DIRTYBIT_GENL_VERSION);
	EXPECT_EQ(-EOPNOTSUPP, nl_send(&self->nl, &m, NULL, 0));
}

TEST_F(genl, reserved_header_rejected)
{
	struct nl_msg m;

	nl_msg_init(&m, self->family, DIRTYBIT_CMD_GET_VERSION, DIRTYBIT_GENL_VERSION);
	nl_genl(&m)->reserved = 1;
	EXPECT_EQ(-EINVAL, nl_send(&self->nl, &m, NULL, 0));
}

FIXTURE(cdev) {
	int fd;
};

FIXTURE_SETUP(cdev)
{
	ASSERT_EQ(0, dirtybit_load());
	self->fd = open("/dev/" DIRTYBIT_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/dirtybit: %s", strerror(errno));
}

FIXTURE_TEARDOWN(cdev)
{
	close(self->fd);
}

TEST_F(cdev, node_is_root_only_char_device)
{
	struct stat st;

	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 0777);
}

TEST_F(cdev, version_ioctl)
{
	struct dirtybit_ioc_version v = { .size = sizeof(v) };

	ASSERT_EQ(0, ioctl(self->fd, DIRTYBIT_IOC_VERSION, &v));
	EXPECT_EQ(DIRTYBIT_GENL_VERSION, v.protocol);
	EXPECT_STREQ(DIRTYBIT_VERSION, v.module);
}

TEST_F(cdev, version_ioctl_checks_size_and_reserved)
{
	struct dirtybit_ioc_version v = { .size = sizeof(v) - 8 };

	EXPECT_EQ(-1, ioctl(self->fd, DIRTYBIT_IOC_VERSION, &v));
	EXPECT_EQ(EINVAL, errno);
	v.size = sizeof(v);
	v.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, DIRTYBIT_IOC_VERSION, &v));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, DIRTYBIT_IOC_VERSION, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(cdev, unknown_ioctl)
{
	EXPECT_EQ(-1, ioctl(self->fd, _IO(DIRTYBIT_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
}

NEEDS_HARNESS_MAIN("dirtybit", "")
