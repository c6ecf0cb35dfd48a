/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal generic netlink client for the selftests: statically linked, no
 * libraries, so the tests can also build malformed messages on purpose.
 */
#ifndef _DIRTYBIT_SELFTEST_NL_H
#define _DIRTYBIT_SELFTEST_NL_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#define NL_BUF 65536

struct nl {
	int fd;
	unsigned int seq;
	unsigned int reads;	/* recv()s the last answer took so far */
	char extack[256];	/* last error's message, "" if none */
	unsigned char buf[NL_BUF];
};

struct nl_msg {
	unsigned char data[4096];
	size_t len;
};

static inline int nl_open(struct nl *nl)
{
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;
}

static inline void nl_close(struct nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

/* Starts a message: nlmsghdr + genlmsghdr. */
static inline void nl_msg_init(struct nl_msg *m, unsigned short family,
			       unsigned char cmd, unsigned char version)
{
	struct nlmsghdr *h = (struct nlmsghdr *)m->data;
	struct genlmsghdr *g = NLMSG_DATA(h);

	memset(m->data, 0, sizeof(m->data));
	h->nlmsg_type = family;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	g->cmd = cmd;
	g->version = version;
	m->len = NLMSG_HDRLEN + GENL_HDRLEN;
}

static inline struct nlattr *nl_put(struct nl_msg *m, unsigned short type,
				    const void *data, size_t size)
{
	struct nlattr *a = (struct nlattr *)(m->data + m->len);

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + size;
	if (size)
		memcpy((unsigned char *)a + NLA_HDRLEN, data, size);
	m->len += NLA_ALIGN(a->nla_len);
	return a;
}

static inline struct genlmsghdr *nl_genl(struct nl_msg *m)
{
	return NLMSG_DATA((struct nlmsghdr *)m->data);
}

/* Parses the extack message of an NLMSG_ERROR into nl->extack. */
static inline void nl_parse_extack(struct nl *nl, struct nlmsghdr *h)
{
	struct nlmsgerr *e = NLMSG_DATA(h);
	unsigned char *p = (unsigned char *)e + sizeof(*e);
	unsigned char *end = (unsigned char *)h + h->nlmsg_len;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		p += NLMSG_ALIGN(e->msg.nlmsg_len) - sizeof(e->msg);
	while (p + NLA_HDRLEN <= end) {
		struct nlattr *a = (struct nlattr *)p;

		if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
			snprintf(nl->extack, sizeof(nl->extack), "%.*s",
				 (int)(a->nla_len - NLA_HDRLEN), (char *)a + NLA_HDRLEN);
		p += NLA_ALIGN(a->nla_len);
	}
}

/* Sends @m with the next sequence number; 0 or -errno. */
static inline int nl_transmit(struct nl *nl, struct nl_msg *m)
{
	struct nlmsghdr *h = (struct nlmsghdr *)m->data;

	h->nlmsg_len = m->len;
	h->nlmsg_seq = ++nl->seq;
	nl->extack[0] = '\0';
	nl->reads = 0;
	return send(nl->fd, m->data, m->len, 0) < 0 ? -errno : 0;
}

/*
 * What nl_exchange() hands each message of the answer that is not its end
 * (ACK, error or a dump's DONE).  A nonzero return stops reading there and
 * is what nl_exchange() returns.  @r is NULL once the messages of each
 * read are through, before the next read: the kernel builds a dump's next
 * part on a read, so a test may change state between parts then.
 */
typedef int (*nl_reply_fn)(struct nlmsghdr *r, void *arg);

/*
 * The one request/answer loop: sends @m, then reads until its answer ends
 * (the ACK or error; for a dump, DONE, after an ACK of its start if any)
 * and gives every other message of it to @fn (if set).  Returns 0, the
 * request's -errno (its extack message in nl->extack), what @fn returned,
 * or -errno of the socket (-ETIMEDOUT when a reply never came within
 * SO_RCVTIMEO, if set).
 */
static inline int nl_exchange(struct nl *nl, struct nl_msg *m, nl_reply_fn fn, void *arg)
{
	struct nlmsghdr *h = (struct nlmsghdr *)m->data;
	int dump = (h->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	int ret = nl_transmit(nl, m);

	if (ret)
		return ret;
	for (;;) {
		ssize_t n = recv(nl->fd, nl->buf, sizeof(nl->buf), 0);
		struct nlmsghdr *r;

		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		nl->reads++;
		for (r = (struct nlmsghdr *)nl->buf; NLMSG_OK(r, n); r = NLMSG_NEXT(r, n)) {
			if (r->nlmsg_seq != nl->seq)
				continue;
			if (r->nlmsg_type == NLMSG_DONE)
				return 0;
			if (r->nlmsg_type == NLMSG_ERROR) {
				int e = ((struct nlmsgerr *)NLMSG_DATA(r))->error;

				nl_parse_extack(nl, r);
				if (!e && dump)
					continue;
				return e;
			}
			if (fn && (ret = fn(r, arg)))
				return ret;
		}
		if (fn && (ret = fn(NULL, arg)))
			return ret;
	}
}

struct nl_reply {
	void *buf;
	size_t size;
	int len;
};

static inline int nl_reply_copy(struct nlmsghdr *r, void *arg)
{
	struct nl_reply *rp = arg;

	if (r && !rp->len && rp->buf) {
		rp->len = r->nlmsg_len < rp->size ? r->nlmsg_len : rp->size;
		memcpy(rp->buf, r, rp->len);
	}
	return 0;
}

/*
 * Sends @m and waits for its ACK.  The first reply message (if any) is
 * copied to @reply.  Returns the reply's length (0 if none) or -errno.
 */
static inline int nl_send(struct nl *nl, struct nl_msg *m, void *reply,
			  size_t reply_size)
{
	struct nl_reply rp = { reply, reply_size, 0 };
	int ret = nl_exchange(nl, m, nl_reply_copy, &rp);

	return ret ? ret : rp.len;
}

/* First attribute of @type in a genl reply, or NULL. */
static inline struct nlattr *nl_attr(void *reply, int len, unsigned short type)
{
	struct nlmsghdr *h = reply;
	unsigned char *p = (unsigned char *)NLMSG_DATA(h) + GENL_HDRLEN;
	unsigned char *end = (unsigned char *)reply + len;

	while (p + NLA_HDRLEN <= end) {
		struct nlattr *a = (struct nlattr *)p;

		if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
			return NULL;
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		p += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

static inline void *nl_attr_data(struct nlattr *a)
{
	return (unsigned char *)a + NLA_HDRLEN;
}

/* Each attribute @a nested in @nest, up to the first malformed one. */
#define nl_for_each_nested(a, nest)						\
	for ((a) = nl_attr_data(nest);						\
	     (unsigned char *)(a) + NLA_HDRLEN <=				\
		(unsigned char *)(nest) + (nest)->nla_len &&			\
	     (a)->nla_len >= NLA_HDRLEN;					\
	     (a) = (struct nlattr *)((unsigned char *)(a) + NLA_ALIGN((a)->nla_len)))

/* Resolves a generic netlink family id; -ENOENT when it does not exist. */
static inline int nl_family(struct nl *nl, const char *name)
{
	static unsigned char reply[4096];
	struct nl_msg m;
	struct nlattr *a;
	int ret;

	nl_msg_init(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	nl_put(&m, CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1);
	ret = nl_send(nl, &m, reply, sizeof(reply));
	if (ret < 0)
		return ret;
	a = nl_attr(reply, ret, CTRL_ATTR_FAMILY_ID);
	return a ? *(unsigned short *)nl_attr_data(a) : -ENOENT;
}

#endif /* _DIRTYBIT_SELFTEST_NL_H */
