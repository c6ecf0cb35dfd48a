// SPDX-License-Identifier: GPL-2.0
/*
 * The netlink protocol's naming and validation rules, raw: a region named
 * by REGION_NAME wherever a target is named (requests, ACTION nests, merge
 * SOURCE nests) and through the CLI, which no longer opens /dev/dirtybit
 * to turn a name into an id; unknown and overlong names refused with a
 * reason; and every ACTION of a TRANSACTION taking only its own command's
 * attributes.  (block_test's transaction_actions_take_only_their_own_attributes
 * covers FORCE in ABDICATE and FREEZE actions on a block device.)
 */
#include <stdio.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "needs.h"
#include "region.h"
#include "run.h"

#define CLI		"dirtybit"
#define NAME		"pt"
#define CTL		"/dev/dirtybit"
#define CTL_AWAY	"/dev/dirtybit.away"

static struct run r;

FIXTURE(named) {
	struct db db;
	unsigned int id;
	char idstr[16];
	int fd;
	unsigned char reply[4096];
};

FIXTURE_SETUP(named)
{
	ASSERT_EQ(0, dirtybit_load());
	ASSERT_EQ(0, db_open(&self->db));
	self->fd = region_create(NAME, 16 * PAGE, DIRTYBIT_REGION_F_NODE, &self->id);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s", strerror(-self->fd));
	snprintf(self->idstr, sizeof(self->idstr), "%u", self->id);
}

FIXTURE_TEARDOWN(named)
{
	rename(CTL_AWAY, CTL);	/* if a test stopped with it moved away */
	close(self->fd);
	db_detach(&self->db, self->idstr);
	nl_close(&self->db.nl);
}

/* A request of @cmd naming the region by REGION_NAME @name. */
static void named_msg(struct db *db, struct nl_msg *m, int cmd, const char *name)
{
	db_msg(db, m, cmd);
	db_put_str(m, DIRTYBIT_A_REGION_NAME, name);
}

/* TRANSACTION of one ACTION @cmd on bitmap @bm of the region named @name. */
static struct nlattr *named_action(struct db *db, struct nl_msg *m, int cmd,
				   const char *name, const char *bm, struct nlattr **nest)
{
	struct nlattr *one;

	db_msg(db, m, DIRTYBIT_CMD_TRANSACTION);
	*nest = db_nest(m, DIRTYBIT_A_ACTIONS);
	one = db_nest(m, DIRTYBIT_A_ACTION);
	db_put_u32(m, DIRTYBIT_A_ACTION_CMD, cmd);
	db_put_str(m, DIRTYBIT_A_REGION_NAME, name);
	db_put_str(m, DIRTYBIT_A_BITMAP_NAME, bm);
	return one;
}

static int send_action(struct db *db, struct nl_msg *m, struct nlattr *one, struct nlattr *nest)
{
	db_nest_end(m, one);
	db_nest_end(m, nest);
	return nl_send(&db->nl, m, NULL, 0);
}

/* MERGE's sources: one, bitmap @bm of the target @attr (a string) names. */
static void put_source(struct nl_msg *m, int attr, const char *target, const char *bm)
{
	struct nlattr *srcs = db_nest(m, DIRTYBIT_A_BITMAP_SOURCES);
	struct nlattr *src = db_nest(m, DIRTYBIT_A_SOURCE);

	db_put_str(m, attr, target);
	db_put_str(m, DIRTYBIT_A_BITMAP_NAME, bm);
	db_nest_end(m, src);
	db_nest_end(m, srcs);
}

TEST_F(named, target_get_by_region_name)
{
	struct nlattr *a;
	struct nl_msg m;
	int len;

	named_msg(&self->db, &m, DIRTYBIT_CMD_TARGET_GET, NAME);
	len = nl_send(&self->db.nl, &m, self->reply, sizeof(self->reply));
	ASSERT_LT(0, len) TH_LOG("%s", self->db.nl.extack);
	a = nl_attr(self->reply, len, DIRTYBIT_A_TARGET_ID);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(self->id, *(uint32_t *)nl_attr_data(a));
	a = nl_attr(self->reply, len, DIRTYBIT_A_TARGET_KIND);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(DIRTYBIT_TARGET_REGION, *(uint32_t *)nl_attr_data(a));
	a = nl_attr(self->reply, len, DIRTYBIT_A_TARGET_NAME);
	ASSERT_NE(NULL, a);
	EXPECT_STREQ(NAME, (char *)nl_attr_data(a));
}

/* Bitmap commands, an ACTION, a merge SOURCE and the detach, all by name. */
TEST_F(named, every_way_of_naming_a_target_takes_a_region_name)
{
	struct db_bitmap_info bi;
	struct nlattr *nest, *one;
	unsigned char *map;
	struct nl_msg m;

	named_msg(&self->db, &m, DIRTYBIT_CMD_BITMAP_ADD, NAME);
	db_put_str(&m, DIRTYBIT_A_BITMAP_NAME, "a");
	ASSERT_EQ(0, nl_send(&self->db.nl, &m, NULL, 0)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_add(&self->db, self->idstr, "c", 0, 0));
	ASSERT_EQ(0, db_info(&self->db, self->idstr, "a", &bi));

	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	map[0] = 1;
	munmap(map, PAGE);
	ASSERT_EQ(0, db_info(&self->db, self->idstr, "a", &bi));
	EXPECT_EQ(PAGE, bi.count);

	/* c |= a, the source named by REGION_NAME; then a CLEAR action of a. */
	named_msg(&self->db, &m, DIRTYBIT_CMD_BITMAP_MERGE, NAME);
	db_put_str(&m, DIRTYBIT_A_BITMAP_NAME, "c");
	put_source(&m, DIRTYBIT_A_REGION_NAME, NAME, "a");
	ASSERT_EQ(0, nl_send(&self->db.nl, &m, NULL, 0)) TH_LOG("%s", self->db.nl.extack);
	one = named_action(&self->db, &m, DIRTYBIT_CMD_BITMAP_CLEAR, NAME, "a", &nest);
	ASSERT_EQ(0, send_action(&self->db, &m, one, nest)) TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_info(&self->db, self->idstr, "a", &bi));
	EXPECT_EQ(0, bi.count);
	ASSERT_EQ(0, db_info(&self->db, self->idstr, "c", &bi));
	EXPECT_EQ(PAGE, bi.count);

	named_msg(&self->db, &m, DIRTYBIT_CMD_TARGET_DETACH, NAME);
	ASSERT_EQ(0, nl_send(&self->db.nl, &m, NULL, 0)) TH_LOG("%s", self->db.nl.extack);
	named_msg(&self->db, &m, DIRTYBIT_CMD_TARGET_GET, NAME);
	EXPECT_EQ(-ENOENT, nl_send(&self->db.nl, &m, NULL, 0));
}

TEST_F(named, unknown_overlong_and_doubled_names_refused_with_reasons)
{
	char longname[DIRTYBIT_NAME_MAX + 8];
	struct nlattr *nest, *one;
	struct nl_msg m;

	named_msg(&self->db, &m, DIRTYBIT_CMD_TARGET_GET, "nosuch");
	EXPECT_EQ(-ENOENT, nl_send(&self->db.nl, &m, NULL, 0));
	EXPECT_NE(NULL, strstr(self->db.nl.extack, "no region")) TH_LOG("%s", self->db.nl.extack);

	one = named_action(&self->db, &m, DIRTYBIT_CMD_BITMAP_ADD, "nosuch", "a", &nest);
	EXPECT_EQ(-ENOENT, send_action(&self->db, &m, one, nest));
	EXPECT_NE(NULL, strstr(self->db.nl.extack, "no region")) TH_LOG("%s", self->db.nl.extack);

	ASSERT_EQ(0, db_add(&self->db, self->idstr, "a", 0, 0));
	named_msg(&self->db, &m, DIRTYBIT_CMD_BITMAP_MERGE, NAME);
	db_put_str(&m, DIRTYBIT_A_BITMAP_NAME, "a");
	put_source(&m, DIRTYBIT_A_REGION_NAME, "nosuch", "a");
	EXPECT_EQ(-ENOENT, nl_send(&self->db.nl, &m, NULL, 0));
	EXPECT_NE(NULL, strstr(self->db.nl.extack, "no region")) TH_LOG("%s", self->db.nl.extack);

	/* One byte over DIRTYBIT_NAME_MAX - 1: the policy's bound. */
	memset(longname, 'r', DIRTYBIT_NAME_MAX);
	longname[DIRTYBIT_NAME_MAX] = '\0';
	named_msg(&self->db, &m, DIRTYBIT_CMD_TARGET_GET, longname);
	EXPECT_EQ(-EINVAL, nl_send(&self->db.nl, &m, NULL, 0));
	EXPECT_STRNE("", self->db.nl.extack);
	TH_LOG("overlong: %s", self->db.nl.extack);

	named_msg(&self->db, &m, DIRTYBIT_CMD_TARGET_GET, NAME);
	db_put_u32(&m, DIRTYBIT_A_TARGET_ID, self->id);
	EXPECT_EQ(-EINVAL, nl_send(&self->db.nl, &m, NULL, 0));
	EXPECT_NE(NULL, strstr(self->db.nl.extack, "not both")) TH_LOG("%s", self->db.nl.extack);
}

/*
 * The CLI names a region by name over netlink alone: it works with
 * /dev/dirtybit moved away (it used to open it and ask an ioctl for the id).
 */
TEST_F(named, cli_names_a_region_without_the_control_device)
{
	ASSERT_EQ(0, rename(CTL, CTL_AWAY));
	EXPECT_EQ(0, run(&r, CLI " bitmap add " NAME " b")) TH_LOG("%s", r.err);
	EXPECT_EQ(0, run(&r, CLI " bitmap list " NAME)) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.out, "b")) TH_LOG("%s", r.out);
	EXPECT_EQ(0, run(&r, CLI " targets " NAME)) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.out, NAME)) TH_LOG("%s", r.out);
	EXPECT_EQ(0, run(&r, CLI " bitmap remove " NAME " b")) TH_LOG("%s", r.err);
	ASSERT_EQ(0, rename(CTL_AWAY, CTL));
}

TEST_F(named, cli_refuses_unknown_and_overlong_names_with_reasons)
{
	EXPECT_EQ(1, run(&r, CLI " bitmap add nosuch b"));
	EXPECT_NE(NULL, strstr(r.err, "no region")) TH_LOG("%s", r.err);
	EXPECT_EQ(1, run(&r, CLI " targets r1234567890123456789012345678901234567890"
			 "12345678901234567890123"));
	EXPECT_NE(NULL, strstr(r.err, "(Invalid argument)")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "ttribute")) TH_LOG("no reason: %s", r.err);
}

/*
 * An ACTION is validated against its own command's policy: an attribute
 * another command takes (a range in a CLEAR, FORCE in an ABDICATE, a path
 * in a merge SOURCE) is refused with EINVAL and the reason, and nothing
 * applies.
 */
TEST_F(named, actions_take_only_their_own_commands_attributes)
{
	struct nlattr *nest, *one;
	struct db_bitmap_info bi;
	unsigned char *map;
	struct nl_msg m;

	ASSERT_EQ(0, db_add(&self->db, self->idstr, "a", 0, 0));
	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	map[0] = 1;
	munmap(map, PAGE);

	one = named_action(&self->db, &m, DIRTYBIT_CMD_BITMAP_CLEAR, NAME, "a", &nest);
	db_put_u64(&m, DIRTYBIT_A_RANGE_START, 0);
	EXPECT_EQ(-EINVAL, send_action(&self->db, &m, one, nest));
	EXPECT_NE(NULL, strstr(self->db.nl.extack, "Unsupported attribute"))
		TH_LOG("%s", self->db.nl.extack);

	one = named_action(&self->db, &m, DIRTYBIT_CMD_BITMAP_CLEAR, NAME, "a", &nest);
	db_put_u64(&m, DIRTYBIT_A_RANGE_LENGTH, PAGE);
	nl_put(&m, DIRTYBIT_A_RANGE_ALL, NULL, 0);
	EXPECT_EQ(-EINVAL, send_action(&self->db, &m, one, nest));
	EXPECT_STRNE("", self->db.nl.extack);

	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_FREEZE, self->idstr, "a"));
	one = named_action(&self->db, &m, DIRTYBIT_CMD_BITMAP_ABDICATE, NAME, "a", &nest);
	nl_put(&m, DIRTYBIT_A_FORCE, NULL, 0);
	EXPECT_EQ(-EINVAL, send_action(&self->db, &m, one, nest));
	EXPECT_NE(NULL, strstr(self->db.nl.extack, "Unsupported attribute"))
		TH_LOG("%s", self->db.nl.extack);
	ASSERT_EQ(0, db_info(&self->db, self->idstr, "a", &bi));
	EXPECT_TRUE(bi.flags & DIRTYBIT_BITMAP_F_FROZEN);
	EXPECT_EQ(PAGE, bi.count);
	ASSERT_EQ(0, db_bitmap(&self->db, DIRTYBIT_CMD_BITMAP_RECLAIM, self->idstr, "a"));

	/* A SOURCE names its target by TARGET_ID or REGION_NAME, no path. */
	ASSERT_EQ(0, db_add(&self->db, self->idstr, "c", 0, 0));
	named_msg(&self->db, &m, DIRTYBIT_CMD_BITMAP_MERGE, NAME);
	db_put_str(&m, DIRTYBIT_A_BITMAP_NAME, "c");
	put_source(&m, DIRTYBIT_A_TARGET_PATH, "/dev/" DIRTYBIT_REGION_NODE_DIR "/" NAME, "a");
	EXPECT_EQ(-EINVAL, nl_send(&self->db.nl, &m, NULL, 0));
	EXPECT_STRNE("", self->db.nl.extack);
	ASSERT_EQ(0, db_info(&self->db, self->idstr, "c", &bi));
	EXPECT_EQ(0, bi.count);

	/* ACTION_CMD belongs inside an ACTION; REGION_NAME not to an attach. */
	named_msg(&self->db, &m, DIRTYBIT_CMD_BITMAP_CLEAR, NAME);
	db_put_str(&m, DIRTYBIT_A_BITMAP_NAME, "a");
	db_put_u32(&m, DIRTYBIT_A_ACTION_CMD, DIRTYBIT_CMD_BITMAP_CLEAR);
	EXPECT_EQ(-EINVAL, nl_send(&self->db.nl, &m, NULL, 0));
	EXPECT_STRNE("", self->db.nl.extack);
	named_msg(&self->db, &m, DIRTYBIT_CMD_TARGET_ATTACH, NAME);
	EXPECT_EQ(-EINVAL, nl_send(&self->db.nl, &m, NULL, 0));
	EXPECT_STRNE("", self->db.nl.extack);
}

NEEDS_HARNESS_MAIN("dirtybit", "dirtybit")
