// SPDX-License-Identifier: GPL-2.0
/*
 * Freeze owners for netlink: a bitmap frozen through netlink belongs to the
 * socket that froze it.  Each socket that asks for a freeze gets one
 * struct db_owner, found by (net, portid) until the socket is released;
 * then the owner is unhashed and the core told (db_owner_gone()), which
 * reclaims the socket's freezes.  A new socket that is given the same
 * portid after that gets a new owner, and owns nothing of the old one's.
 * netlink_release() frees the portid before it calls the notifier, so a
 * new socket that binds it and freezes in that window shares the old
 * owner, and that freeze is reclaimed with the old socket's: a reclaim
 * merges its bits back, so nothing is lost, and its owner is told by the
 * error of its next ABDICATE (the notifier does not say which socket
 * went, so the two cannot be told apart here).
 *
 * The release notifier may be called from any context the netlink core
 * chooses (a blocking chain today) and runs inside every socket's close,
 * so it does the least: the table has a spinlock of its own, and nothing
 * here sleeps or takes dirtybit_lock (see the lock list in dirtybit.h).
 * A command's owner is held by a reference for the command's length, and
 * each frozen bitmap holds one: a socket that closes while its transaction
 * runs leaves a valid owner, whose freeze the core then reclaims.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hash.h>
#include <linux/hashtable.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <net/genetlink.h>

#include "dirtybit.h"

struct db_nl_owner {
	struct db_owner owner;
	struct hlist_node node;		/* db_nl_owners, until its socket goes */
	const struct net *net;
	u32 portid;
};

#define DB_NL_OWNERS_BITS	6

static DEFINE_HASHTABLE(db_nl_owners, DB_NL_OWNERS_BITS);
static DEFINE_SPINLOCK(db_nl_owners_lock);

static u32 db_nl_owner_key(const struct net *net, u32 portid)
{
	return hash_ptr(net, 32) ^ portid;
}

/* The owner of socket (@net, @portid), or NULL; under db_nl_owners_lock. */
static struct db_nl_owner *db_nl_owner_find(const struct net *net, u32 portid)
{
	struct db_nl_owner *o;

	lockdep_assert_held(&db_nl_owners_lock);
	hash_for_each_possible(db_nl_owners, o, node, db_nl_owner_key(net, portid))
		if (o->net == net && o->portid == portid)
			return o;
	return NULL;
}

/* ->release: unhashed, and the last reference went (any context). */
static void db_nl_owner_free(struct db_owner *owner)
{
	kfree(container_of(owner, struct db_nl_owner, owner));
}

/*
 * The requesting socket's owner, referenced.  With @create, a socket that
 * has none gets one (allocated first, whether or not it is needed, so that
 * its fault point is always passed); without, NULL means it owns nothing.
 *
 * Return: the owner, NULL, or ERR_PTR(-ENOMEM).
 */
static struct db_owner *db_nl_owner_get(struct genl_info *info, bool create)
{
	const struct net *net = genl_info_net(info);
	u32 portid = info->snd_portid;
	struct db_nl_owner *o, *new = NULL;

	if (create) {
		new = db_fault() ? NULL : kzalloc(sizeof(*new), GFP_KERNEL);
		if (!new)
			return ERR_PTR(-ENOMEM);
		db_owner_init(&new->owner, db_nl_owner_free);
		new->net = net;
		new->portid = portid;
	}
	spin_lock_bh(&db_nl_owners_lock);
	o = db_nl_owner_find(net, portid);
	if (!o && new) {
		hash_add(db_nl_owners, &new->node, db_nl_owner_key(net, portid));
		o = new;
		new = NULL;
	}
	if (o)
		db_owner_get(&o->owner);
	spin_unlock_bh(&db_nl_owners_lock);
	kfree(new);
	return o ? &o->owner : NULL;
}

/**
 * db_nl_owner_transaction - db_transaction() on behalf of the requester
 * @info: the request; its socket owns the freezes the actions make
 * @acts: the actions, as for db_transaction()
 * @n: how many
 *
 * Only a request that freezes makes its socket an owner.
 *
 * Return: 0, -ENOMEM, or the error of db_transaction().
 */
int db_nl_owner_transaction(struct genl_info *info, struct db_action *acts, unsigned int n)
{
	struct db_owner *owner;
	bool freezes = false;
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++)
		freezes |= acts[i].cmd == DIRTYBIT_CMD_BITMAP_FREEZE;
	owner = db_nl_owner_get(info, freezes);
	if (IS_ERR(owner))
		return PTR_ERR(owner);
	ret = db_transaction(acts, n, owner, info->extack);
	if (owner)
		db_owner_put(owner);
	return ret;
}

/* A generic netlink socket went away: so did its owner, if it has one. */
static int db_nl_owner_release(struct notifier_block *nb, unsigned long state, void *ptr)
{
	struct netlink_notify *n = ptr;
	struct db_nl_owner *o;

	if (state != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC)
		return NOTIFY_DONE;
	spin_lock_bh(&db_nl_owners_lock);
	o = db_nl_owner_find(n->net, n->portid);
	if (o)
		hash_del(&o->node);
	spin_unlock_bh(&db_nl_owners_lock);
	if (o) {
		db_owner_gone(&o->owner);
		db_owner_put(&o->owner);	/* the table's */
	}
	return NOTIFY_DONE;
}

static struct notifier_block db_nl_owner_nb = {
	.notifier_call = db_nl_owner_release,
};

/* Return: 0, or -ENOMEM (an injected fault) or that of the registration. */
int db_nl_owner_init(void)
{
	return db_fault() ? -ENOMEM : netlink_register_notifier(&db_nl_owner_nb);
}

/*
 * After the family is gone: no request runs, and no bitmap is frozen (a
 * frozen one holds the module), so only the table holds the owners of
 * the sockets still open.
 */
void db_nl_owner_exit(void)
{
	struct db_nl_owner *o;
	struct hlist_node *tmp;
	unsigned int bkt;

	netlink_unregister_notifier(&db_nl_owner_nb);
	hash_for_each_safe(db_nl_owners, bkt, tmp, o, node) {
		hash_del(&o->node);
		db_owner_put(&o->owner);
	}
}
