// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink control plane: family, policies and handlers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <net/genetlink.h>

#include "dirtybit.h"

/* The version query takes no attributes: an all-NLA_UNSPEC policy makes
 * strict validation refuse every one with "Unsupported attribute".
 */
static const struct nla_policy dirtybit_no_attr_policy[DIRTYBIT_A_MAX + 1] = {};

static int dirtybit_nl_get_version(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	hdr = genlmsg_put_reply(msg, info, &dirtybit_genl_family, 0,
				DIRTYBIT_CMD_GET_VERSION);
	if (!hdr)
		goto err_free;

	if (nla_put_string(msg, DIRTYBIT_A_VERSION_MODULE, DIRTYBIT_VERSION) ||
	    nla_put_u32(msg, DIRTYBIT_A_VERSION_PROTOCOL, DIRTYBIT_GENL_VERSION))
		goto err_cancel;

	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_cancel:
	genlmsg_cancel(msg, hdr);
err_free:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static const struct genl_ops dirtybit_genl_ops[] = {
	{
		.cmd = DIRTYBIT_CMD_GET_VERSION,
		.doit = dirtybit_nl_get_version,
		.policy = dirtybit_no_attr_policy,
		.maxattr = DIRTYBIT_A_MAX,
	},
};

static const struct genl_multicast_group dirtybit_mcgrps[] = {
	{ .name = DIRTYBIT_MCGRP_EVENTS, },
};

struct genl_family dirtybit_genl_family __ro_after_init = {
	.name = DIRTYBIT_GENL_NAME,
	.version = DIRTYBIT_GENL_VERSION,
	.maxattr = DIRTYBIT_A_MAX,
	.module = THIS_MODULE,
	/* Every command is new: validate strictly, reserved header included. */
	.resv_start_op = DIRTYBIT_CMD_GET_VERSION,
	.ops = dirtybit_genl_ops,
	.n_ops = ARRAY_SIZE(dirtybit_genl_ops),
	.mcgrps = dirtybit_mcgrps,
	.n_mcgrps = ARRAY_SIZE(dirtybit_mcgrps),
};

int __init dirtybit_genl_init(void)
{
	return genl_register_family(&dirtybit_genl_family);
}

void dirtybit_genl_exit(void)
{
	genl_unregister_family(&dirtybit_genl_family);
}
