// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink control plane: family, policies, handlers, dumps and
 * events.  Handlers resolve the targets they name to references (paths
 * looked up before any lock), read state under dirtybit_lock, and change
 * it through db_transaction() or a target's ->detach under its cut lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <net/genetlink.h>

#include "compat.h"
#include "dirtybit.h"

/* ---- policies ------------------------------------------------------------ */

/*
 * Each command admits exactly its own attributes.  A bitmap command's
 * policy serves twice: for the command itself, and for an ACTION of a
 * TRANSACTION, where it also takes ACTION_CMD.  An action is parsed with
 * its own command's policy: a RECLAIM's FORCE is not an ABDICATE's.
 */

/* The ways of naming a target (db_nl_target()): a merge source's ... */
#define DB_POLICY_ID_OR_NAME						\
	[DIRTYBIT_A_TARGET_ID] = NLA_POLICY_MIN(NLA_U32, 1),		\
	[DIRTYBIT_A_REGION_NAME] = { .type = NLA_NUL_STRING, .len = DIRTYBIT_NAME_MAX - 1 }
/* ... and a request's. */
#define DB_POLICY_TARGET						\
	[DIRTYBIT_A_TARGET_PATH] = { .type = NLA_NUL_STRING, .len = PATH_MAX - 1 }, \
	DB_POLICY_ID_OR_NAME
#define DB_POLICY_NAME							\
	[DIRTYBIT_A_BITMAP_NAME] = { .type = NLA_NUL_STRING, .len = DIRTYBIT_NAME_MAX - 1 }
#define DB_POLICY_RANGE							\
	[DIRTYBIT_A_RANGE_START] = { .type = NLA_U64 },			\
	[DIRTYBIT_A_RANGE_LENGTH] = { .type = NLA_U64 }
#define DB_POLICY_ACTION_CMD						\
	[DIRTYBIT_A_ACTION_CMD] = NLA_POLICY_RANGE(NLA_U32, DIRTYBIT_CMD_BITMAP_ADD, \
						   DIRTYBIT_CMD_BITMAP_RECLAIM)

/* A bitmap command's two policies: db_<name>_policy, db_<name>_action_policy. */
#define DB_BITMAP_POLICIES(name, ...)					\
static const struct nla_policy db_##name##_policy[DIRTYBIT_A_MAX + 1] = {	\
	DB_POLICY_TARGET, DB_POLICY_NAME, ##__VA_ARGS__			\
};									\
static const struct nla_policy db_##name##_action_policy[DIRTYBIT_A_MAX + 1] = { \
	DB_POLICY_TARGET, DB_POLICY_NAME, DB_POLICY_ACTION_CMD, ##__VA_ARGS__	\
}

/* The version query takes no attributes: an all-NLA_UNSPEC policy makes
 * strict validation refuse every one with "Unsupported attribute".
 */
static const struct nla_policy db_no_attr_policy[DIRTYBIT_A_MAX + 1] = {};

static const struct nla_policy db_attach_policy[DIRTYBIT_A_MAX + 1] = {
	[DIRTYBIT_A_TARGET_PATH] = { .type = NLA_NUL_STRING, .len = PATH_MAX - 1 },
};

static const struct nla_policy db_target_policy[DIRTYBIT_A_MAX + 1] = {
	DB_POLICY_TARGET,
};

/* A merge source: on the request's target unless it names one (no path). */
static const struct nla_policy db_source_policy[DIRTYBIT_A_MAX + 1] = {
	DB_POLICY_ID_OR_NAME, DB_POLICY_NAME,
};

DB_BITMAP_POLICIES(add,
		   [DIRTYBIT_A_BITMAP_GRANULARITY] = { .type = NLA_U32 },
		   [DIRTYBIT_A_BITMAP_DISABLED] = { .type = NLA_FLAG });
DB_BITMAP_POLICIES(name);
DB_BITMAP_POLICIES(freeze, [DIRTYBIT_A_BITMAP_NEXT_PASS] = { .type = NLA_FLAG });
DB_BITMAP_POLICIES(merge,
		   [DIRTYBIT_A_BITMAP_SOURCES] = NLA_POLICY_NESTED_ARRAY(db_source_policy));
DB_BITMAP_POLICIES(abdicate, DB_POLICY_RANGE,
		   [DIRTYBIT_A_RANGE_ALL] = { .type = NLA_FLAG });
DB_BITMAP_POLICIES(reclaim, [DIRTYBIT_A_FORCE] = { .type = NLA_FLAG });

/* Each ACTION nest is checked against its command's action policy. */
static const struct nla_policy db_transaction_policy[DIRTYBIT_A_MAX + 1] = {
	[DIRTYBIT_A_ACTIONS] = { .type = NLA_NESTED_ARRAY },
};

static const struct nla_policy db_extents_policy[DIRTYBIT_A_MAX + 1] = {
	DB_POLICY_TARGET, DB_POLICY_NAME, DB_POLICY_RANGE,
};

/* ---- the command table ----------------------------------------------------- */

/*
 * One entry per command, as ethtool's netlink code has: the policy its
 * request is validated against, its handlers, and, for a bitmap command,
 * how its attributes become a struct db_action.  A bitmap command is also
 * a TRANSACTION action: its ACTION nest is validated against
 * @action_policy (the same attributes, and ACTION_CMD) and goes through
 * the same ->parse, so an action takes what its command takes, no more.
 */
struct db_nl_cmd {
	const struct nla_policy *policy;
	const struct nla_policy *action_policy;	/* bitmap commands only */
	/* Return: 0 with @a filled, or -errno with an extack message. */
	int (*parse)(struct nlattr **tb, struct db_action *a, struct netlink_ext_ack *extack);
	int (*doit)(struct sk_buff *skb, struct genl_info *info);
	int (*dumpit)(struct sk_buff *skb, struct netlink_callback *cb);
	u8 flags;				/* GENL_ADMIN_PERM, or 0 */
};

static const struct db_nl_cmd db_nl_cmds[__DIRTYBIT_CMD_MAX];

/* ---- requests ------------------------------------------------------------ */

/*
 * The kinds of target, in the order TARGET_PATH asks them (->lookup): the
 * block kind takes every path that is not another kind's, so it is last.
 */
static const struct db_track_ops *const db_kinds[] = { &db_region_ops, &db_blk_ops };

/* The target with id @id, with a reference; NULL if none. */
static struct db_track *db_nl_get_id(u32 id)
{
	struct db_track *tr;

	mutex_lock(&dirtybit_lock);
	tr = db_track_find(id);
	if (tr)
		db_track_get(tr);
	mutex_unlock(&dirtybit_lock);
	return tr;
}

/*
 * The target behind device node @path, with a reference.  The path is
 * looked up before dirtybit_lock: a lookup may wait (on a remote or FUSE
 * file system) as long as it likes without holding up anyone else.
 *
 * Return: 0, -ENODEV if @path is no kind's node, -ENOENT if no target is
 * behind it.
 */
static int db_nl_get_path(const char *path, struct db_track **tr,
			  struct netlink_ext_ack *extack)
{
	const struct db_track_ops *kind;
	unsigned int i = 0;
	dev_t dev;
	int ret;

	do {
		kind = db_kinds[i++];
		ret = kind->lookup(path, &dev, extack);
	} while (ret == -ENOTTY && i < ARRAY_SIZE(db_kinds));
	if (ret)
		return ret;
	mutex_lock(&dirtybit_lock);
	ret = kind->find(dev, tr, extack);
	if (!ret)
		db_track_get(*tr);
	mutex_unlock(&dirtybit_lock);
	return ret;
}

/*
 * The target REGION_NAME @attr names, with a reference: asked of every
 * kind whose targets have names of their own (regions).
 *
 * Return: 0, or -ENOENT if there is none of that name.
 */
static int db_nl_get_name(const struct nlattr *attr, struct db_track **tr,
			  struct netlink_ext_ack *extack)
{
	unsigned int i;

	*tr = NULL;
	mutex_lock(&dirtybit_lock);
	for (i = 0; i < ARRAY_SIZE(db_kinds) && !*tr; i++)
		if (db_kinds[i]->find_name)
			*tr = db_kinds[i]->find_name(nla_data(attr));
	if (*tr)
		db_track_get(*tr);
	mutex_unlock(&dirtybit_lock);
	if (!*tr) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "no region of this name");
		return -ENOENT;
	}
	return 0;
}

/* The attributes that name a target, one of which a request gives. */
static const int db_target_attrs[] = {
	DIRTYBIT_A_TARGET_ID, DIRTYBIT_A_TARGET_PATH, DIRTYBIT_A_REGION_NAME,
};

/*
 * The one attribute of @attrs naming a target, or NULL if none does.
 * *@err: 0, or -EINVAL (and NULL) if two of them name it.
 */
static struct nlattr *db_nl_target_attr(struct nlattr **attrs, struct netlink_ext_ack *extack,
					int *err)
{
	struct nlattr *by = NULL;
	unsigned int i;

	*err = 0;
	for (i = 0; i < ARRAY_SIZE(db_target_attrs); i++) {
		struct nlattr *a = attrs[db_target_attrs[i]];

		if (!a)
			continue;
		if (by) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "give TARGET_ID, TARGET_PATH or REGION_NAME, not both");
			*err = -EINVAL;
			return NULL;
		}
		by = a;
	}
	return by;
}

/*
 * The target a request names (TARGET_ID, TARGET_PATH or REGION_NAME), with
 * a reference for the caller to put.  Called without dirtybit_lock.
 *
 * Return: 0; -EINVAL if none or more than one names it; -ENOENT if there
 * is no such target; -ENODEV if the path is no target kind's node.
 */
static int db_nl_target(struct nlattr **attrs, struct db_track **tr,
			struct netlink_ext_ack *extack)
{
	struct nlattr *by;
	int ret;

	by = db_nl_target_attr(attrs, extack, &ret);
	if (ret)
		return ret;
	if (!by) {
		NL_SET_ERR_MSG_MOD(extack, "missing TARGET_ID, TARGET_PATH or REGION_NAME");
		return -EINVAL;
	}
	if (nla_type(by) == DIRTYBIT_A_TARGET_PATH)
		return db_nl_get_path(nla_data(by), tr, extack);
	if (nla_type(by) == DIRTYBIT_A_REGION_NAME)
		return db_nl_get_name(by, tr, extack);
	*tr = db_nl_get_id(nla_get_u32(by));
	if (!*tr) {
		NL_SET_ERR_MSG_ATTR(extack, by, "no target with this id");
		return -ENOENT;
	}
	return 0;
}

/*
 * A bitmap name into @name (DIRTYBIT_NAME_MAX bytes).
 *
 * Return: 0, or -EINVAL if it is missing, empty or of other characters.
 */
static int db_nl_name(struct nlattr *attr, char *name, struct netlink_ext_ack *extack)
{
	const char *s;

	if (!attr) {
		NL_SET_ERR_MSG_MOD(extack, "missing BITMAP_NAME");
		return -EINVAL;
	}
	s = nla_data(attr);
	if (!*s) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "bitmap name is empty");
		return -EINVAL;
	}
	if (!db_name_valid(s)) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "bitmap names are made of A-Z a-z 0-9 _ . : -");
		return -EINVAL;
	}
	strscpy(name, nla_data(attr), DIRTYBIT_NAME_MAX);
	return 0;
}

/*
 * MERGE's sources into @a->sources, each with a reference on its target
 * (the request's own unless the SOURCE names one).
 *
 * Return: 0; -EINVAL if there are none or over DIRTYBIT_MAX_SOURCES, or a
 * source is malformed; -ENOENT if a source's target does not exist;
 * -ENOMEM.
 */
static int db_nl_sources(struct nlattr *nest, struct db_action *a,
			 struct netlink_ext_ack *extack)
{
	struct nlattr *tb[DIRTYBIT_A_MAX + 1];
	struct nlattr *src;
	unsigned int n = 0;
	int rem, ret;

	if (!nest) {
		NL_SET_ERR_MSG_MOD(extack, "merge needs BITMAP_SOURCES");
		return -EINVAL;
	}
	nla_for_each_nested(src, nest, rem)
		n++;
	if (!n || n > DIRTYBIT_MAX_SOURCES) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "merge takes 1 to 64 sources");
		return -EINVAL;
	}
	a->sources = db_fault() ? NULL : kcalloc(n, sizeof(*a->sources), GFP_KERNEL);
	if (!a->sources)
		return -ENOMEM;
	nla_for_each_nested(src, nest, rem) {
		struct db_source *s = &a->sources[a->nsources];

		ret = nla_parse_nested(tb, DIRTYBIT_A_MAX, src, db_source_policy, extack);
		if (ret)
			return ret;
		ret = db_nl_name(tb[DIRTYBIT_A_BITMAP_NAME], s->name, extack);
		if (ret)
			return ret;
		if (db_nl_target_attr(tb, extack, &ret)) {
			ret = db_nl_target(tb, &s->track, extack);
		} else if (!ret) {
			s->track = a->track;
			db_track_get(s->track);
		}
		if (ret)
			return ret;
		a->nsources++;
	}
	return 0;
}

/*
 * ABDICATE's optional range: the frozen bits inside it (every granule with
 * RANGE_ALL) stay dirty, so a backup that stopped part way keeps what it
 * did not copy.  RANGE_LENGTH defaults to the rest of the target; the range
 * must lie within it.  Only ABDICATE's policy admits these attributes.
 *
 * Return: 0, or -EINVAL if RANGE_ALL comes alone or the range does not lie
 * within the target.
 */
static int db_nl_keep_range(struct nlattr **attrs, struct db_action *a,
			    struct netlink_ext_ack *extack)
{
	struct nlattr *start = attrs[DIRTYBIT_A_RANGE_START];
	struct nlattr *len = attrs[DIRTYBIT_A_RANGE_LENGTH];
	struct nlattr *all = attrs[DIRTYBIT_A_RANGE_ALL];
	u64 end;

	if (!start && !len) {
		if (!all)
			return 0;
		NL_SET_ERR_MSG_ATTR(extack, all, "RANGE_ALL needs RANGE_START or RANGE_LENGTH");
		return -EINVAL;
	}
	a->keep_all = !!all;
	a->keep_start = start ? nla_get_u64(start) : 0;
	if (a->keep_start > a->track->size) {
		NL_SET_ERR_MSG_ATTR(extack, start, "range starts past the end of the target");
		return -EINVAL;
	}
	a->keep_len = len ? nla_get_u64(len) : a->track->size - a->keep_start;
	if (check_add_overflow(a->keep_start, a->keep_len, &end) || end > a->track->size) {
		NL_SET_ERR_MSG_ATTR(extack, len, "range ends past the end of the target");
		return -EINVAL;
	}
	return 0;
}

/*
 * ->parse of the bitmap commands: an action from a request's (or an ACTION
 * nest's) attributes, already validated against that command's policy.
 * The action holds references on its targets (db_nl_free_actions() puts
 * them).  Every one names a bitmap and its target (db_parse_bitmap());
 * the rest take their own attributes on top.
 *
 * Return: 0, or the -errno of db_nl_name(), db_nl_target(),
 * db_nl_keep_range() or db_nl_sources().
 */
static int db_parse_bitmap(struct nlattr **tb, struct db_action *a,
			   struct netlink_ext_ack *extack)
{
	int ret = db_nl_name(tb[DIRTYBIT_A_BITMAP_NAME], a->name, extack);

	return ret ? ret : db_nl_target(tb, &a->track, extack);
}

static int db_parse_add(struct nlattr **tb, struct db_action *a,
			struct netlink_ext_ack *extack)
{
	int ret = db_parse_bitmap(tb, a, extack);

	if (ret)
		return ret;
	a->granularity = tb[DIRTYBIT_A_BITMAP_GRANULARITY] ?
		nla_get_u32(tb[DIRTYBIT_A_BITMAP_GRANULARITY]) :
		a->track->ops->default_granularity;
	a->disabled = nla_get_flag(tb[DIRTYBIT_A_BITMAP_DISABLED]);
	return 0;
}

static int db_parse_merge(struct nlattr **tb, struct db_action *a,
			  struct netlink_ext_ack *extack)
{
	int ret = db_parse_bitmap(tb, a, extack);

	return ret ? ret : db_nl_sources(tb[DIRTYBIT_A_BITMAP_SOURCES], a, extack);
}

static int db_parse_freeze(struct nlattr **tb, struct db_action *a,
			   struct netlink_ext_ack *extack)
{
	int ret = db_parse_bitmap(tb, a, extack);

	a->next_pass = nla_get_flag(tb[DIRTYBIT_A_BITMAP_NEXT_PASS]);
	return ret;
}

static int db_parse_abdicate(struct nlattr **tb, struct db_action *a,
			     struct netlink_ext_ack *extack)
{
	int ret = db_parse_bitmap(tb, a, extack);

	return ret ? ret : db_nl_keep_range(tb, a, extack);
}

static int db_parse_reclaim(struct nlattr **tb, struct db_action *a,
			    struct netlink_ext_ack *extack)
{
	int ret = db_parse_bitmap(tb, a, extack);

	a->force = nla_get_flag(tb[DIRTYBIT_A_FORCE]);
	return ret;
}

static void db_nl_free_actions(struct db_action *acts, unsigned int n)
{
	unsigned int i, s;

	for (i = 0; i < n; i++) {
		for (s = 0; s < acts[i].nsources; s++)
			db_track_put(acts[i].sources[s].track);
		kfree(acts[i].sources);
		if (acts[i].track)
			db_track_put(acts[i].track);
	}
	kfree(acts);
}

/*
 * ->doit of a bitmap command: a transaction of one action.
 *
 * Return: 0, -ENOMEM, or the -errno of its ->parse or of
 * db_nl_owner_transaction().
 */
static int db_nl_bitmap_cmd(struct sk_buff *skb, struct genl_info *info)
{
	struct db_action *a = db_fault() ? NULL : kzalloc(sizeof(*a), GFP_KERNEL);
	u8 cmd = info->genlhdr->cmd;
	int ret;

	if (!a)
		return -ENOMEM;
	a->cmd = cmd;
	ret = db_nl_cmds[cmd].parse(info->attrs, a, info->extack);
	if (!ret)
		ret = db_nl_owner_transaction(info, a, 1);
	db_nl_free_actions(a, 1);
	return ret;
}

/*
 * One ACTION nest into @a: validated against its own command's action
 * policy, then parsed by that command's ->parse.
 *
 * Return: 0; -EINVAL if ACTION_CMD is missing or malformed, or the nest
 * fails its command's policy; -ERANGE if ACTION_CMD is not a bitmap
 * command; or the -errno of the command's ->parse.
 */
static int db_nl_parse_action(struct nlattr *act, struct db_action *a,
			      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[DIRTYBIT_A_MAX + 1];
	const struct db_nl_cmd *c;
	struct nlattr *cmd;
	int ret;

	cmd = nla_find_nested(act, DIRTYBIT_A_ACTION_CMD);
	if (!cmd) {
		NL_SET_ERR_MSG_ATTR(extack, act, "action without ACTION_CMD");
		return -EINVAL;
	}
	if (nla_len(cmd) != sizeof(u32)) {
		NL_SET_ERR_MSG_ATTR(extack, cmd, "ACTION_CMD is a u32");
		return -EINVAL;
	}
	a->cmd = nla_get_u32(cmd);
	/* As the policy's range would have refused it. */
	c = a->cmd < ARRAY_SIZE(db_nl_cmds) ? &db_nl_cmds[a->cmd] : NULL;
	if (!c || !c->parse) {
		NL_SET_ERR_MSG_ATTR(extack, cmd, "ACTION_CMD is not a bitmap command");
		return -ERANGE;
	}
	ret = nla_parse_nested(tb, DIRTYBIT_A_MAX, act, c->action_policy, extack);
	if (ret)
		return ret;
	return c->parse(tb, a, extack);
}

/*
 * TRANSACTION: every action parsed (and its targets found) first, then
 * all applied at one cut by db_transaction(), or none.
 *
 * Return: 0; -EINVAL if ACTIONS is missing, empty or over
 * DIRTYBIT_MAX_ACTIONS; -ENOMEM; or the -errno of an action's parse
 * (db_nl_parse_action()) or of db_transaction().
 */
static int db_nl_transaction(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *nest = info->attrs[DIRTYBIT_A_ACTIONS];
	struct db_action *acts;
	struct nlattr *act;
	unsigned int n = 0;
	int rem, ret;

	if (!nest) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing ACTIONS");
		return -EINVAL;
	}
	nla_for_each_nested(act, nest, rem)
		n++;
	if (!n || n > DIRTYBIT_MAX_ACTIONS) {
		NL_SET_ERR_MSG_ATTR(info->extack, nest, "a transaction takes 1 to 64 actions");
		return -EINVAL;
	}
	acts = db_fault() ? NULL : kcalloc(n, sizeof(*acts), GFP_KERNEL);
	if (!acts)
		return -ENOMEM;
	n = 0;
	nla_for_each_nested(act, nest, rem) {
		ret = db_nl_parse_action(act, &acts[n++], info->extack);
		if (ret)
			goto out;
	}
	ret = db_nl_owner_transaction(info, acts, n);
out:
	db_nl_free_actions(acts, n);
	return ret;
}

/* ---- replies -------------------------------------------------------------- */

/*
 * A target: what every kind has, then its kind's own (->fill).  Under
 * dirtybit_lock.  Return: 0, or -EMSGSIZE if @msg is full.
 */
static int db_put_target(struct sk_buff *msg, const struct db_track *tr)
{
	if (nla_put_u32(msg, DIRTYBIT_A_TARGET_ID, tr->id) ||
	    nla_put_u32(msg, DIRTYBIT_A_TARGET_KIND, tr->ops->kind) ||
	    nla_put_u64_64bit(msg, DIRTYBIT_A_TARGET_SIZE, tr->size, DIRTYBIT_A_PAD) ||
	    nla_put_u32(msg, DIRTYBIT_A_TARGET_STATE,
			tr->gone ? DIRTYBIT_TARGET_GONE : DIRTYBIT_TARGET_LIVE))
		return -EMSGSIZE;
	return tr->ops->fill(msg, tr);
}

/* A bitmap, under dirtybit_lock.  Return: 0, or -EMSGSIZE if @msg is full. */
static int db_put_bitmap(struct sk_buff *msg, const struct db_bitmap *bm)
{
	db_track_fold(bm->track);
	if (nla_put_u32(msg, DIRTYBIT_A_TARGET_ID, bm->track->id) ||
	    nla_put_string(msg, DIRTYBIT_A_BITMAP_NAME, bm->name) ||
	    nla_put_u32(msg, DIRTYBIT_A_BITMAP_GRANULARITY, hbitmap_granularity(bm->hb)) ||
	    nla_put_u64_64bit(msg, DIRTYBIT_A_BITMAP_COUNT, hbitmap_count(bm->hb),
			      DIRTYBIT_A_PAD) ||
	    nla_put_u32(msg, DIRTYBIT_A_BITMAP_FLAGS, db_bitmap_flags(bm)))
		return -EMSGSIZE;
	if (bm->successor &&
	    nla_put_u64_64bit(msg, DIRTYBIT_A_BITMAP_SUCCESSOR_COUNT,
			      hbitmap_count(bm->successor), DIRTYBIT_A_PAD))
		return -EMSGSIZE;
	return 0;
}

/*
 * Builds and sends a one-object reply to @info.
 *
 * Return: 0, -ENOMEM, -EMSGSIZE if @put does not fit, or genlmsg_reply()'s
 * -errno.
 */
static int db_reply(struct genl_info *info, u8 cmd,
		    int (*put)(struct sk_buff *, const void *), const void *obj)
{
	struct sk_buff *msg = db_fault() ? NULL : genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	void *hdr;

	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &dirtybit_genl_family, 0, cmd);
	if (!hdr || put(msg, obj)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* Return: 0, or -EMSGSIZE if @msg is full (so for the two below). */
static int db_put_version(struct sk_buff *msg, const void *unused)
{
	/* The uapi bounds it, for the ioctl's struct too. */
	BUILD_BUG_ON(sizeof(DIRTYBIT_VERSION) > DIRTYBIT_VERSION_LEN);
	if (nla_put_string(msg, DIRTYBIT_A_VERSION_MODULE, DIRTYBIT_VERSION) ||
	    nla_put_u32(msg, DIRTYBIT_A_VERSION_PROTOCOL, DIRTYBIT_GENL_VERSION))
		return -EMSGSIZE;
	return 0;
}

static int db_put_target_obj(struct sk_buff *msg, const void *tr)
{
	return db_put_target(msg, tr);
}

static int db_put_bitmap_obj(struct sk_buff *msg, const void *bm)
{
	return db_put_bitmap(msg, bm);
}

/* GET_VERSION.  Return: 0, or db_reply()'s -errno. */
static int db_nl_get_version(struct sk_buff *skb, struct genl_info *info)
{
	return db_reply(info, DIRTYBIT_CMD_GET_VERSION, db_put_version, NULL);
}

/* ---- targets --------------------------------------------------------------- */

/*
 * Detaches @tr under its cut lock (killably).
 *
 * Return: 0, -EINTR if killed waiting for the lock, or ->detach's -errno
 * (-EBUSY: a bitmap is frozen), with an extack message.
 */
static int db_nl_do_detach(struct db_track *tr, struct netlink_ext_ack *extack)
{
	int ret = db_track_lock(tr, extack);

	if (ret)
		return ret;
	ret = tr->ops->detach(tr, extack);
	mutex_unlock(&tr->cut_lock);
	return ret;
}

/*
 * TARGET_ATTACH (block devices only: regions are made by an ioctl).
 *
 * Return: 0; -EPERM without CAP_SYS_ADMIN; -EINVAL without TARGET_PATH;
 * db_blk_attach()'s -errno; or db_reply()'s, and then nothing is attached.
 */
static int db_nl_attach(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *path = info->attrs[DIRTYBIT_A_TARGET_PATH];
	struct db_track *tr;
	int ret;

	/*
	 * Reaching into the block layer is CAP_SYS_ADMIN's, as for dm and md;
	 * of the sender and of whoever opened the socket.
	 */
	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG_MOD(info->extack, "attaching a block device needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	if (!path) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing TARGET_PATH");
		return -EINVAL;
	}
	ret = db_blk_attach(nla_data(path), &tr, info->extack);
	if (ret)
		return ret;
	mutex_lock(&dirtybit_lock);
	ret = db_reply(info, DIRTYBIT_CMD_TARGET_ATTACH, db_put_target_obj, tr);
	mutex_unlock(&dirtybit_lock);
	/* The caller sees an error: it must not find the device attached. */
	if (ret)
		db_nl_do_detach(tr, NULL);
	db_track_put(tr);
	return ret;
}

/* TARGET_DETACH.  Return: 0, or db_nl_target()'s or db_nl_do_detach()'s -errno. */
static int db_nl_detach(struct sk_buff *skb, struct genl_info *info)
{
	struct db_track *tr;
	int ret;

	ret = db_nl_target(info->attrs, &tr, info->extack);
	if (ret)
		return ret;
	ret = db_nl_do_detach(tr, info->extack);
	db_track_put(tr);
	return ret;
}

/*
 * TARGET_GET (do).  Return: 0; -ENOENT if the target was detached
 * meanwhile; db_nl_target()'s or db_reply()'s -errno.
 */
static int db_nl_target_get(struct sk_buff *skb, struct genl_info *info)
{
	struct db_track *tr;
	int ret;

	ret = db_nl_target(info->attrs, &tr, info->extack);
	if (ret)
		return ret;
	mutex_lock(&dirtybit_lock);
	ret = tr->listed ? db_reply(info, DIRTYBIT_CMD_TARGET_GET, db_put_target_obj, tr) :
			   -ENOENT;
	mutex_unlock(&dirtybit_lock);
	db_track_put(tr);
	return ret;
}

static void *db_dump_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd)
{
	void *hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				&dirtybit_genl_family, NLM_F_MULTI, cmd);

	if (hdr)
		genl_dump_check_consistent(cb, hdr);
	return hdr;
}

/*
 * TARGET_GET (dump), resuming after the last target id sent (cb->args[0]).
 *
 * Return: the bytes put in @skb (0: the dump is done), or -EMSGSIZE if not
 * even one target fits.
 */
static int db_nl_target_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct db_track *tr;
	int ret = 0;

	mutex_lock(&dirtybit_lock);
	cb->seq = db_current_seq() + 1;
	list_for_each_entry(tr, &db_tracks, node) {
		void *hdr;

		if (tr->id <= cb->args[0])
			continue;
		hdr = db_dump_put(skb, cb, DIRTYBIT_CMD_TARGET_GET);
		if (!hdr || db_put_target(skb, tr)) {
			if (hdr)
				genlmsg_cancel(skb, hdr);
			ret = skb->len ? skb->len : -EMSGSIZE;
			goto out;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = tr->id;
	}
	ret = skb->len;
out:
	mutex_unlock(&dirtybit_lock);
	return ret;
}

/* ---- bitmaps --------------------------------------------------------------- */

/*
 * The bitmap a request names (target + BITMAP_NAME): under dirtybit_lock,
 * which the caller takes once @tr (referenced, put by the caller) is known.
 *
 * Return: 0, db_nl_name()'s -EINVAL, or -ENOENT if @tr has no such bitmap
 * (or was detached).
 */
static int db_nl_bitmap(struct db_track *tr, struct nlattr **attrs, struct db_bitmap **bm,
			struct netlink_ext_ack *extack)
{
	char name[DIRTYBIT_NAME_MAX];
	int ret;

	lockdep_assert_held(&dirtybit_lock);
	ret = db_nl_name(attrs[DIRTYBIT_A_BITMAP_NAME], name, extack);
	if (ret)
		return ret;
	*bm = tr->listed ? db_bitmap_find(tr, name) : NULL;
	if (!*bm) {
		NL_SET_ERR_MSG_MOD(extack, "no bitmap of that name on the target");
		return -ENOENT;
	}
	return 0;
}

/* BITMAP_GET (do).  Return: 0, or db_nl_target()'s, db_nl_bitmap()'s or db_reply()'s -errno. */
static int db_nl_bitmap_get(struct sk_buff *skb, struct genl_info *info)
{
	struct db_bitmap *bm;
	struct db_track *tr;
	int ret;

	ret = db_nl_target(info->attrs, &tr, info->extack);
	if (ret)
		return ret;
	mutex_lock(&dirtybit_lock);
	ret = db_nl_bitmap(tr, info->attrs, &bm, info->extack);
	if (!ret)
		ret = db_reply(info, DIRTYBIT_CMD_BITMAP_GET, db_put_bitmap_obj, bm);
	mutex_unlock(&dirtybit_lock);
	db_track_put(tr);
	return ret;
}

/*
 * BITMAP_GET (dump): of one target if the request names one, else of all.
 * Resumes at (target id cb->args[0], bitmap index cb->args[1]).  cb->seq
 * follows every change of any bitmap, so one between two parts flags the
 * next part NLM_F_DUMP_INTR.
 *
 * Return: the bytes put in @skb (0: the dump is done), -EMSGSIZE if not
 * even one bitmap fits, or db_nl_target()'s -errno.
 */
static int db_nl_bitmap_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nlattr **attrs = db_dump_attrs(cb);
	struct db_track *tr, *only = NULL;
	int ret;

	if (db_nl_target_attr(attrs, cb->extack, &ret) || ret) {
		ret = db_nl_target(attrs, &only, cb->extack);
		if (ret)
			return ret;
	}
	mutex_lock(&dirtybit_lock);
	cb->seq = db_current_seq() + 1;
	list_for_each_entry(tr, &db_tracks, node) {
		struct db_bitmap *bm;
		long idx = 0;

		if ((only && tr != only) || tr->id < cb->args[0])
			continue;
		db_track_settle(tr);
		if (tr->id > cb->args[0]) {
			cb->args[0] = tr->id;
			cb->args[1] = 0;
		}
		list_for_each_entry(bm, &tr->bitmaps, node) {
			void *hdr;

			if (idx++ < cb->args[1])
				continue;
			hdr = db_dump_put(skb, cb, DIRTYBIT_CMD_BITMAP_GET);
			if (!hdr || db_put_bitmap(skb, bm)) {
				if (hdr)
					genlmsg_cancel(skb, hdr);
				ret = skb->len ? skb->len : -EMSGSIZE;
				goto out;
			}
			genlmsg_end(skb, hdr);
			cb->args[1] = idx;
		}
	}
	ret = skb->len;
out:
	mutex_unlock(&dirtybit_lock);
	if (only)
		db_track_put(only);
	return ret;
}

/*
 * EXTENTS_GET: extents of one bitmap from cursor cb->args[0] (bytes), as
 * many per message as fit.  cb->args[1] is set when the walk is done.
 * cb->seq follows the bitmap's change count, so a clear/merge/freeze/...
 * between two parts flags the next part NLM_F_DUMP_INTR.
 *
 * Return: the bytes put in @skb (0: the dump is done), -EMSGSIZE if not
 * even one extent fits, or db_nl_target()'s or db_nl_bitmap()'s -errno.
 */
static int db_nl_extents_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nlattr **attrs = db_dump_attrs(cb);
	struct hbitmap_extent e;
	struct nlattr *nest;
	struct db_bitmap *bm;
	struct db_track *tr;
	u64 cursor, end;
	void *hdr;
	int ret, n = 0;

	if (cb->args[1])
		return 0;
	ret = db_nl_target(attrs, &tr, cb->extack);
	if (ret)
		return ret;
	mutex_lock(&dirtybit_lock);
	ret = db_nl_bitmap(tr, attrs, &bm, cb->extack);
	if (ret)
		goto out;
	db_track_fold(tr);
	cursor = attrs[DIRTYBIT_A_RANGE_START] ?
		nla_get_u64(attrs[DIRTYBIT_A_RANGE_START]) : 0;
	end = tr->size;
	if (attrs[DIRTYBIT_A_RANGE_LENGTH] &&
	    nla_get_u64(attrs[DIRTYBIT_A_RANGE_LENGTH]) < end - min(cursor, end))
		end = cursor + nla_get_u64(attrs[DIRTYBIT_A_RANGE_LENGTH]);
	if (cb->args[0])
		cursor = cb->args[0];
	cb->seq = bm->seq + 1;

	hdr = db_dump_put(skb, cb, DIRTYBIT_CMD_EXTENTS_GET);
	if (!hdr)
		goto full;
	if (nla_put_u32(skb, DIRTYBIT_A_TARGET_ID, tr->id) ||
	    nla_put_string(skb, DIRTYBIT_A_BITMAP_NAME, bm->name))
		goto cancel;
	nest = nla_nest_start(skb, DIRTYBIT_A_EXTENTS);
	if (!nest)
		goto cancel;
	for (;;) {
		u64 at = cursor;
		struct nlattr *ext;

		if (!hbitmap_next_extent(bm->hb, &at, end, &e)) {
			cb->args[1] = 1;
			break;
		}
		ext = nla_nest_start(skb, DIRTYBIT_A_EXTENT);
		if (!ext || nla_put_u64_64bit(skb, DIRTYBIT_A_EXTENT_START, e.start,
					      DIRTYBIT_A_PAD) ||
		    nla_put_u64_64bit(skb, DIRTYBIT_A_EXTENT_LENGTH, e.length,
				      DIRTYBIT_A_PAD)) {
			if (ext)
				nla_nest_cancel(skb, ext);
			break;
		}
		nla_nest_end(skb, ext);
		cursor = at;
		n++;
	}
	if (!n && !cb->args[1])
		goto cancel;
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	cb->args[0] = cursor;
	ret = skb->len;
	goto out;
cancel:
	genlmsg_cancel(skb, hdr);
full:
	ret = skb->len ? skb->len : -EMSGSIZE;
out:
	mutex_unlock(&dirtybit_lock);
	db_track_put(tr);
	return ret;
}

/* ---- events ------------------------------------------------------------------ */

/*
 * Events go out while the family is registered: a removal callback or the
 * module's work may still send one while it unloads, and its group ids may
 * belong to another family once it is gone.
 */
static DECLARE_RWSEM(db_events_lock);
static bool db_events_on;		/* under db_events_lock */

static void db_notify_now(u32 event, const struct db_track *tr, const char *bitmap)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	void *hdr;

	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &dirtybit_genl_family, 0, DIRTYBIT_CMD_EVENT);
	if (!hdr || nla_put_u32(msg, DIRTYBIT_A_EVENT, event) ||
	    nla_put_u32(msg, DIRTYBIT_A_TARGET_ID, tr->id) ||
	    (bitmap && nla_put_string(msg, DIRTYBIT_A_BITMAP_NAME, bitmap))) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&dirtybit_genl_family, msg, 0, 0, GFP_KERNEL);
}

void db_notify(u32 event, const struct db_track *tr, const char *bitmap)
{
	down_read(&db_events_lock);
	if (db_events_on)
		db_notify_now(event, tr, bitmap);
	up_read(&db_events_lock);
}

/* ---- the family ---------------------------------------------------------------- */

#define DB_BITMAP_CMD(name, _parse) {					\
	.policy = db_##name##_policy, .action_policy = db_##name##_action_policy, \
	.parse = _parse, .doit = db_nl_bitmap_cmd, .flags = GENL_ADMIN_PERM,	\
}

static const struct db_nl_cmd db_nl_cmds[__DIRTYBIT_CMD_MAX] = {
	[DIRTYBIT_CMD_GET_VERSION] = {
		.policy = db_no_attr_policy, .doit = db_nl_get_version,
	},
	[DIRTYBIT_CMD_TARGET_ATTACH] = {
		.policy = db_attach_policy, .doit = db_nl_attach, .flags = GENL_ADMIN_PERM,
	},
	[DIRTYBIT_CMD_TARGET_DETACH] = {
		.policy = db_target_policy, .doit = db_nl_detach, .flags = GENL_ADMIN_PERM,
	},
	[DIRTYBIT_CMD_TARGET_GET] = {
		.policy = db_target_policy, .doit = db_nl_target_get,
		.dumpit = db_nl_target_dump, .flags = GENL_ADMIN_PERM,
	},
	[DIRTYBIT_CMD_BITMAP_ADD] = DB_BITMAP_CMD(add, db_parse_add),
	[DIRTYBIT_CMD_BITMAP_REMOVE] = DB_BITMAP_CMD(name, db_parse_bitmap),
	[DIRTYBIT_CMD_BITMAP_CLEAR] = DB_BITMAP_CMD(name, db_parse_bitmap),
	[DIRTYBIT_CMD_BITMAP_ENABLE] = DB_BITMAP_CMD(name, db_parse_bitmap),
	[DIRTYBIT_CMD_BITMAP_DISABLE] = DB_BITMAP_CMD(name, db_parse_bitmap),
	[DIRTYBIT_CMD_BITMAP_MERGE] = DB_BITMAP_CMD(merge, db_parse_merge),
	[DIRTYBIT_CMD_BITMAP_FREEZE] = DB_BITMAP_CMD(freeze, db_parse_freeze),
	[DIRTYBIT_CMD_BITMAP_ABDICATE] = DB_BITMAP_CMD(abdicate, db_parse_abdicate),
	[DIRTYBIT_CMD_BITMAP_RECLAIM] = DB_BITMAP_CMD(reclaim, db_parse_reclaim),
	[DIRTYBIT_CMD_BITMAP_GET] = {
		.policy = db_name_policy, .doit = db_nl_bitmap_get,
		.dumpit = db_nl_bitmap_dump, .flags = GENL_ADMIN_PERM,
	},
	[DIRTYBIT_CMD_TRANSACTION] = {
		.policy = db_transaction_policy, .doit = db_nl_transaction,
		.flags = GENL_ADMIN_PERM,
	},
	[DIRTYBIT_CMD_EXTENTS_GET] = {
		.policy = db_extents_policy, .dumpit = db_nl_extents_dump,
		.flags = GENL_ADMIN_PERM,
	},
	/* DIRTYBIT_CMD_EVENT: multicast only, no request. */
};

/* The family's ops, made from db_nl_cmds at init. */
static struct genl_ops dirtybit_genl_ops[__DIRTYBIT_CMD_MAX] __ro_after_init;

static const struct genl_multicast_group dirtybit_mcgrps[] = {
	{ .name = DIRTYBIT_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_NET_ADMIN },
};

struct genl_family dirtybit_genl_family __ro_after_init = {
	.name = DIRTYBIT_GENL_NAME,
	.version = DIRTYBIT_GENL_VERSION,
	.maxattr = DIRTYBIT_A_MAX,
	.module = THIS_MODULE,
	/* Every command is new: validate strictly, reserved header included. */
	.resv_start_op = DIRTYBIT_CMD_GET_VERSION,
	/*
	 * Handlers take their own locks (dirtybit.h): a cut draining on one
	 * target holds neither genl_mutex nor anything another target's
	 * command, or another family, needs.
	 */
	.parallel_ops = true,
	.ops = dirtybit_genl_ops,		/* .n_ops: at init */
	.mcgrps = dirtybit_mcgrps,
	.n_mcgrps = ARRAY_SIZE(dirtybit_mcgrps),
};

/*
 * Registers the family, its ops one per command of db_nl_cmds.
 *
 * Return: 0, or genl_register_family()'s -errno.
 */
int __init db_genl_init(void)
{
	unsigned int cmd, n = 0;
	int ret;

	for (cmd = 0; cmd < ARRAY_SIZE(db_nl_cmds); cmd++) {
		const struct db_nl_cmd *c = &db_nl_cmds[cmd];

		if (!c->doit && !c->dumpit)
			continue;
		dirtybit_genl_ops[n++] = (struct genl_ops) {
			.cmd = cmd,
			.doit = c->doit,
			.dumpit = c->dumpit,
			.policy = c->policy,
			.maxattr = DIRTYBIT_A_MAX,
			.flags = c->flags,
		};
	}
	dirtybit_genl_family.n_ops = n;
	ret = genl_register_family(&dirtybit_genl_family);

	down_write(&db_events_lock);
	db_events_on = !ret;
	up_write(&db_events_lock);
	return ret;
}

/* No event after the first step: none is being sent when the family goes. */
void db_genl_exit(void)
{
	down_write(&db_events_lock);
	db_events_on = false;
	up_write(&db_events_lock);
	genl_unregister_family(&dirtybit_genl_family);
}
