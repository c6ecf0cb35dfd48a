// SPDX-License-Identifier: GPL-2.0
/*
 * Privilege boundaries.  Tracking state is the machine's: reading it (which
 * blocks were written, and when) or changing it needs CAP_NET_ADMIN in the
 * initial user namespace.  Checked for an unprivileged user and for root
 * inside a user namespace (mapped to uid 0, so the 0600 root nodes open):
 * every netlink command but the version query is refused with -EPERM,
 * dumps and the events group too; the ioctls of /dev/dirtybit are refused
 * even on a descriptor root opened and handed over; in a new network
 * namespace the family does not exist.  A region fd handed over grants
 * that region's contents and nothing else: not its writer hold, not
 * another region.  Attaching a disk and creating or opening a region need
 * CAP_SYS_ADMIN as well.  Nothing the refused requests named has changed
 * after.
 */
#include <grp.h>
#include <sched.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "model.h"
#include "needs.h"
#include "region.h"
#include "run.h"

#define NODE	"/dev/" DIRTYBIT_REGION_NODE_DIR "/pv"

struct handed {
	int ctl;		/* /dev/dirtybit, opened by root */
	int region;		/* region "pv", read-write, opened by root */
	int group;		/* the events group */
	unsigned int region_id, other_id;
};

/* One request as the caller is: its -errno (0 done). */
static int request(struct db *db, int cmd, int dump)
{
	struct nl_msg m;
	struct nlmsghdr *h = (struct nlmsghdr *)m.data;

	db_msg(db, &m, cmd);
	if (cmd == DIRTYBIT_CMD_TARGET_ATTACH) {
		db_put_str(&m, DIRTYBIT_A_TARGET_PATH, "/dev/ram1");
	} else if (cmd != DIRTYBIT_CMD_GET_VERSION) {
		db_put_action(&m, "/dev/ram0", "b0");
		if (cmd == DIRTYBIT_CMD_BITMAP_MERGE) {
			struct nlattr *nest = db_nest(&m, DIRTYBIT_A_BITMAP_SOURCES);
			struct nlattr *one = db_nest(&m, DIRTYBIT_A_SOURCE);

			db_put_str(&m, DIRTYBIT_A_BITMAP_NAME, "b1");
			db_nest_end(&m, one);
			db_nest_end(&m, nest);
		}
	}
	if (dump)
		h->nlmsg_flags |= NLM_F_DUMP;
	return nl_send(&db->nl, &m, NULL, 0);
}

/*
 * Everything a caller without CAP_NET_ADMIN in the initial user namespace
 * tries; a bit set in the result per thing that was not refused as it must.
 */
static int try_everything(const struct handed *h)
{
	static const int cmds[] = {
		DIRTYBIT_CMD_TARGET_ATTACH, DIRTYBIT_CMD_TARGET_DETACH, DIRTYBIT_CMD_TARGET_GET,
		DIRTYBIT_CMD_BITMAP_ADD, DIRTYBIT_CMD_BITMAP_REMOVE, DIRTYBIT_CMD_BITMAP_CLEAR,
		DIRTYBIT_CMD_BITMAP_ENABLE, DIRTYBIT_CMD_BITMAP_DISABLE, DIRTYBIT_CMD_BITMAP_MERGE,
		DIRTYBIT_CMD_BITMAP_FREEZE, DIRTYBIT_CMD_BITMAP_ABDICATE,
		DIRTYBIT_CMD_BITMAP_RECLAIM, DIRTYBIT_CMD_BITMAP_GET, DIRTYBIT_CMD_TRANSACTION,
	};
	struct dirtybit_ioc_bitmap_read rd = { .size = sizeof(rd) };
	struct dirtybit_ioc_region_create cr = { .size = sizeof(cr), .bytes = PAGE };
	struct dirtybit_ioc_region_open op = { .size = sizeof(op) };
	struct dirtybit_ioc_version v = { .size = sizeof(v) };
	struct dirtybit_region_info info;
	uint64_t words[4];
	char buf[PAGE];
	unsigned int i;
	struct db db;
	int bad = 0, group;
	void *map;

	if (db_open(&db))
		return 1 << 30;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (request(&db, cmds[i], 0) != -EPERM) {
			fprintf(stderr, "# command %d: %d, not -EPERM\n", cmds[i], request(&db, cmds[i], 0));
			bad |= 1 << 0;
		}
	if (request(&db, DIRTYBIT_CMD_TARGET_GET, 1) != -EPERM ||
	    request(&db, DIRTYBIT_CMD_BITMAP_GET, 1) != -EPERM ||
	    request(&db, DIRTYBIT_CMD_EXTENTS_GET, 1) != -EPERM)
		bad |= 1 << 1;
	if (request(&db, DIRTYBIT_CMD_GET_VERSION, 0))
		bad |= 1 << 2;
	group = h->group;
	if (!setsockopt(db.nl.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) ||
	    errno != EPERM)
		bad |= 1 << 3;
	nl_close(&db.nl);

	/* The control node, handed over by root: version only. */
	rd.target_id = 1;
	strcpy(rd.name, "b0");
	rd.words = 4;
	rd.buf = (uintptr_t)words;
	strcpy(cr.name, "evil");
	op.target_id = h->other_id;
	op.flags = DIRTYBIT_REGION_OPEN_WRITE;
	if (ioctl(h->ctl, DIRTYBIT_IOC_BITMAP_READ, &rd) != -1 || errno != EPERM)
		bad |= 1 << 4;
	if (ioctl(h->ctl, DIRTYBIT_IOC_REGION_CREATE, &cr) != -1 || errno != EPERM)
		bad |= 1 << 5;
	if (ioctl(h->ctl, DIRTYBIT_IOC_REGION_OPEN, &op) != -1 || errno != EPERM)
		bad |= 1 << 6;
	if (ioctl(h->ctl, DIRTYBIT_IOC_VERSION, &v))
		bad |= 1 << 7;

	/* The region fd: its contents, its own info; not its writer hold. */
	if (pread(h->region, buf, PAGE, 0) != PAGE || buf[0] != 0x5a)
		bad |= 1 << 8;
	if (pwrite(h->region, "w", 1, PAGE) != 1)
		bad |= 1 << 9;
	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, h->region, 0);
	if (map == MAP_FAILED || *(volatile char *)map != 0x5a)
		bad |= 1 << 10;
	else
		munmap(map, PAGE);
	if (region_info(h->region, &info) || info.target_id != h->region_id ||
	    strcmp(info.name, "pv"))
		bad |= 1 << 11;
	if (region_hold(h->region) != -EPERM)
		bad |= 1 << 12;
	return bad;
}

/*
 * Runs @what in a child after @become; its result.  It comes back through
 * shared memory: an exit status keeps only 8 of its bits.
 */
static int as_child_run(const struct handed *h, int (*become)(void),
			int (*what)(const struct handed *h))
{
	int *result = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status, ret = -1;
	pid_t pid;

	if (result == MAP_FAILED)
		return -1;
	*result = -1;
	pid = fork();
	if (!pid) {
		*result = become() ? 1 << 29 : what(h);
		_exit(0);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		ret = *result;
	munmap(result, sizeof(int));
	return ret;
}

static int as_child(const struct handed *h, int (*become)(void))
{
	return as_child_run(h, become, try_everything);
}

static int become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return -1;
	/* The nodes are root's, 0600. */
	if (open("/dev/dirtybit", O_RDWR) >= 0 || errno != EACCES)
		return -1;
	if (open(NODE, O_RDWR) >= 0 || errno != EACCES)
		return -1;
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/* Root of a new user namespace, mapped to uid 0: all capabilities there. */
static int become_userns_root(void)
{
	int fd;

	if (unshare(CLONE_NEWUSER) || write_file("/proc/self/setgroups", "deny") ||
	    write_file("/proc/self/uid_map", "0 0 1") ||
	    write_file("/proc/self/gid_map", "0 0 1"))
		return -1;
	/* uid 0 outside too: the nodes open, their ioctls must still refuse. */
	fd = open("/dev/dirtybit", O_RDWR);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

FIXTURE(priv) {
	struct db db;
	struct handed h;
	int other;
};

FIXTURE_SETUP(priv)
{
	char page[PAGE];

	ASSERT_EQ(0, dirtybit_load());
	sh("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, sh("modprobe brd rd_nr=2 rd_size=16384"));
	ASSERT_EQ(0, db_open(&self->db));
	ASSERT_LT(0, db_attach(&self->db, "/dev/ram0"));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 0, 0));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b1", 0, 0));
	ASSERT_EQ(0, write_direct("/dev/ram0", 0, 64 * KiB, 1));
	self->h.ctl = open("/dev/dirtybit", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->h.ctl);
	self->h.region = region_create("pv", 4 * PAGE, DIRTYBIT_REGION_F_NODE,
				       &self->h.region_id);
	ASSERT_LE(0, self->h.region);
	memset(page, 0x5a, PAGE);
	ASSERT_EQ(PAGE, pwrite(self->h.region, page, PAGE, 0));
	self->other = region_create("pv2", PAGE, DIRTYBIT_REGION_F_NODE, &self->h.other_id);
	ASSERT_LE(0, self->other);
	self->h.group = db_events_group(&self->db.nl);
	ASSERT_LT(0, self->h.group);
}

FIXTURE_TEARDOWN(priv)
{
	close(self->h.region);
	close(self->other);
	close(self->h.ctl);
	db_detach(&self->db, NODE);
	db_detach(&self->db, NODE "2");
	db_detach(&self->db, "/dev/ram0");
	nl_close(&self->db.nl);
	sh("rmmod brd");
}

/* After the child: the bitmaps, targets and regions as they were. */
static void expect_untouched(struct __test_metadata *_metadata, struct db *db)
{
	struct db_bitmap_info bi;

	ASSERT_EQ(0, db_info(db, "/dev/ram0", "b0", &bi));
	EXPECT_EQ(65536, bi.count);
	EXPECT_EQ(DIRTYBIT_BITMAP_F_RECORDING, bi.flags);
	EXPECT_EQ(-ENOENT, db_detach(db, "/dev/ram1"));
	EXPECT_EQ(0, access("/dev/" DIRTYBIT_REGION_NODE_DIR "/pv2", F_OK));
	EXPECT_NE(0, access("/dev/" DIRTYBIT_REGION_NODE_DIR "/evil", F_OK));
}

TEST_F(priv, unprivileged_user_can_neither_read_nor_change_tracking)
{
	EXPECT_EQ(0, as_child(&self->h, become_nobody));
	expect_untouched(_metadata, &self->db);
}

TEST_F(priv, root_in_a_user_namespace_can_neither_read_nor_change_tracking)
{
	EXPECT_EQ(0, as_child(&self->h, become_userns_root));
	expect_untouched(_metadata, &self->db);
}

/* Root keeping CAP_NET_ADMIN but without CAP_SYS_ADMIN. */
static int become_net_admin_only(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
	data[CAP_SYS_ADMIN / 32].permitted &= ~(1U << (CAP_SYS_ADMIN % 32));
	return syscall(SYS_capset, &hdr, data) ? -1 : 0;
}

/*
 * Attaching a disk and making or opening a region reach into the block and
 * memory layers: they need CAP_SYS_ADMIN too.  The bitmaps of what is
 * already tracked are CAP_NET_ADMIN's; a bit per thing not as it must be.
 */
static int try_without_sys_admin(const struct handed *h)
{
	struct dirtybit_ioc_region_create cr = { .size = sizeof(cr), .bytes = PAGE };
	struct dirtybit_ioc_region_open op = { .size = sizeof(op), .target_id = h->other_id };
	struct db db;
	int bad = 0;

	if (db_open(&db))
		return 1 << 30;
	if (request(&db, DIRTYBIT_CMD_TARGET_ATTACH, 0) != -EPERM)
		bad |= 1 << 0;
	if (db_target_state(&db, "/dev/ram0") != DIRTYBIT_TARGET_LIVE ||
	    request(&db, DIRTYBIT_CMD_BITMAP_GET, 0))
		bad |= 1 << 1;
	if (db_add(&db, "/dev/ram0", "b2", 0, 0) ||
	    db_bitmap(&db, DIRTYBIT_CMD_BITMAP_REMOVE, "/dev/ram0", "b2"))
		bad |= 1 << 2;
	nl_close(&db.nl);
	strcpy(cr.name, "evil");
	if (ioctl(h->ctl, DIRTYBIT_IOC_REGION_CREATE, &cr) != -1 || errno != EPERM)
		bad |= 1 << 3;
	if (ioctl(h->ctl, DIRTYBIT_IOC_REGION_OPEN, &op) != -1 || errno != EPERM)
		bad |= 1 << 4;
	return bad;
}

TEST_F(priv, attach_and_regions_need_cap_sys_admin)
{
	EXPECT_EQ(0, as_child_run(&self->h, become_net_admin_only, try_without_sys_admin));
	expect_untouched(_metadata, &self->db);
}

static int in_new_netns(void)
{
	struct db db;
	int ret;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
		return 1;
	ret = db_open(&db);
	return ret == -ENOENT ? 0 : 2;
}

TEST_F(priv, family_does_not_exist_in_another_network_namespace)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid)
		_exit(in_new_netns());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

NEEDS_HARNESS_MAIN("dirtybit brd", "")
