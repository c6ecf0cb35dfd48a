// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile input against the live module, seeded and reproducible:
 *  - generic netlink: FUZZ_MESSAGES (default 10000; `make fuzz` 100000)
 *    messages over every command and some that do not exist, from
 *    FUZZ_SENDERS concurrent sockets: well-formed requests on the real
 *    targets and bitmaps mixed with wrong types and lengths, truncated and
 *    overlong attributes, random nests, huge and negative numbers, unknown
 *    attributes, bad header flags and versions, and dumps abandoned after
 *    their first part;
 *  - /dev/dirtybit and region fds: every ioctl with bad pointers (NULL,
 *    unmapped, kernel, read-only, straddling a guard page), wrong sizes,
 *    flags and reserved fields, random sizes and names, and unknown
 *    commands; mmap, read, write and seek with random arguments.
 * Every reply must be a success or one of the refusals the protocol
 * defines; after cleanup the module's live objects (debugfs
 * dirtybit/objects) are back to zero; the rig fails the run on any
 * warning, oops or corruption in the kernel log.  The figures go to the
 * test log: messages, refusals by errno, refusals without an extack
 * message, and the kernel's unreclaimable slab before and after.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "model.h"
#include "needs.h"
#include "region.h"
#include "run.h"

#define DISK_SIZE	(16 * MiB)
#define MAX_ERRNO	256

static struct {
	atomic_long sent, ok, refused, bad, no_message, dumps, abandoned;
	atomic_long by_errno[MAX_ERRNO];
} stats;

static int family;
static uint64_t seed0 = 1;

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : dflt;
}

static uint64_t pick(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

/* Refusals the protocol defines for bad input or state. */
static int expected_errno(int e)
{
	switch (e) {
	case EINVAL: case ENOENT: case EEXIST: case EBUSY: case EPERM:
	case ENODEV: case EOPNOTSUPP: case E2BIG: case ERANGE: case EMSGSIZE:
	case ENOTBLK: case EACCES: case ENXIO: case ENOTDIR: case ENAMETOOLONG:
	case EFAULT: case ENOTTY: case EBADF: case ESPIPE: case EOVERFLOW:
	case EAGAIN: case ENOSPC: case ESRCH:
		return 1;
	}
	return 0;
}

/* ---- netlink messages ------------------------------------------------------ */

static const char *const names[] = {
	"b0", "b1", "f0", "x", "", "bad name", "..", "a:b.c-d_e",
	"0123456789012345678901234567890123456789012345678901234567890123",
};
static const char *const paths[] = {
	"/dev/ram0", "/dev/ram1", "/dev/dirtybit-regions/fz", "/dev/null", "/",
	"/nonexistent", "", "/dev/ram0/..", "/proc/self/fd/0",
};

static void put_random_number(uint64_t *s, struct nl_msg *m, int type, int width)
{
	static const uint64_t edges[] = {
		0, 1, 2, 511, 512, 4096, 65536, 1ULL << 31, 0xffffffffULL,
		1ULL << 32, DISK_SIZE, DISK_SIZE - 1, DISK_SIZE + 1, 1ULL << 63, ~0ULL,
	};
	uint64_t v = pick(s, 4) ? edges[pick(s, sizeof(edges) / 8)] : rnd(s);

	nl_put(m, type, &v, width);
}

static void put_attr(uint64_t *s, struct nl_msg *m, int depth);

/* A nest of random attributes (SOURCE and ACTION nests, or anything). */
static void put_nest(uint64_t *s, struct nl_msg *m, int type, int depth)
{
	struct nlattr *nest = db_nest(m, type);
	int n = pick(s, 5);

	while (n-- && m->len < sizeof(m->data) - 512)
		put_attr(s, m, depth + 1);
	nest->nla_len = (unsigned char *)m->data + m->len - (unsigned char *)nest;
}

static void put_attr(uint64_t *s, struct nl_msg *m, int depth)
{
	int type = pick(s, 8) ? 1 + pick(s, DIRTYBIT_A_MAX) : pick(s, 0x4000);
	unsigned char junk[80];
	unsigned int i, len;

	if (m->len > sizeof(m->data) - 512)
		return;
	switch (pick(s, 10)) {
	case 0:	/* wrong length, random bytes */
		len = pick(s, sizeof(junk));
		for (i = 0; i < len; i++)
			junk[i] = rnd(s);
		nl_put(m, type, junk, len);
		return;
	case 1:
		if (depth < 3) {
			put_nest(s, m, type, depth);
			return;
		}
		break;
	case 2:	/* a string without its NUL */
		i = pick(s, 9);
		nl_put(m, type, names[i], strlen(names[i]) / 2);
		return;
	}
	switch (type) {
	case DIRTYBIT_A_TARGET_PATH:
		db_put_str(m, type, paths[pick(s, 9)]);
		break;
	case DIRTYBIT_A_BITMAP_NAME:
	case DIRTYBIT_A_REGION_NAME:
		db_put_str(m, type, names[pick(s, 9)]);
		break;
	case DIRTYBIT_A_TARGET_ID:
		db_put_u32(m, type, pick(s, 4) ? pick(s, 5) : rnd(s));
		break;
	case DIRTYBIT_A_ACTION_CMD:
		db_put_u32(m, type, pick(s, DIRTYBIT_CMD_MAX + 3));
		break;
	case DIRTYBIT_A_BITMAP_SOURCES:
	case DIRTYBIT_A_SOURCE:
	case DIRTYBIT_A_ACTIONS:
	case DIRTYBIT_A_ACTION:
		if (depth < 3) {
			put_nest(s, m, type, depth);
			break;
		}
		/* fall through */
	case DIRTYBIT_A_BITMAP_DISABLED:
	case DIRTYBIT_A_FORCE:
	case DIRTYBIT_A_RANGE_ALL:
		nl_put(m, type, NULL, 0);
		break;
	case DIRTYBIT_A_RANGE_START:
	case DIRTYBIT_A_RANGE_LENGTH:
	case DIRTYBIT_A_TARGET_SIZE:
		put_random_number(s, m, type, 8);
		break;
	default:
		put_random_number(s, m, type, 4);
		break;
	}
}

/* A target and a bitmap that exist, mostly. */
static void put_valid_action(uint64_t *s, struct nl_msg *m)
{
	if (pick(s, 4))
		db_put_str(m, DIRTYBIT_A_TARGET_PATH, paths[pick(s, 3)]);
	else
		db_put_u32(m, DIRTYBIT_A_TARGET_ID, 1 + pick(s, 3));
	db_put_str(m, DIRTYBIT_A_BITMAP_NAME, names[pick(s, 4)]);
}

static const int bitmap_cmds[] = {
	DIRTYBIT_CMD_BITMAP_ADD, DIRTYBIT_CMD_BITMAP_REMOVE, DIRTYBIT_CMD_BITMAP_CLEAR,
	DIRTYBIT_CMD_BITMAP_ENABLE, DIRTYBIT_CMD_BITMAP_DISABLE, DIRTYBIT_CMD_BITMAP_MERGE,
	DIRTYBIT_CMD_BITMAP_FREEZE, DIRTYBIT_CMD_BITMAP_ABDICATE, DIRTYBIT_CMD_BITMAP_RECLAIM,
};

/* The attributes @cmd takes besides target and name, with edge values. */
static void put_cmd_attrs(uint64_t *s, struct nl_msg *m, int cmd, int depth)
{
	static const uint32_t grans[] = { 512, 4096, 65536, 1 << 20, 1U << 31, 3, 0, 1 << 24 };
	struct nlattr *nest, *one;
	int n;

	switch (cmd) {
	case DIRTYBIT_CMD_BITMAP_ADD:
		if (pick(s, 2))
			db_put_u32(m, DIRTYBIT_A_BITMAP_GRANULARITY, grans[pick(s, 8)]);
		if (!pick(s, 4))
			nl_put(m, DIRTYBIT_A_BITMAP_DISABLED, NULL, 0);
		break;
	case DIRTYBIT_CMD_BITMAP_ABDICATE:
	case DIRTYBIT_CMD_EXTENTS_GET:
		if (pick(s, 2))
			put_random_number(s, m, DIRTYBIT_A_RANGE_START, 8);
		if (pick(s, 2))
			put_random_number(s, m, DIRTYBIT_A_RANGE_LENGTH, 8);
		if (cmd == DIRTYBIT_CMD_BITMAP_ABDICATE && !pick(s, 3))
			nl_put(m, DIRTYBIT_A_RANGE_ALL, NULL, 0);
		break;
	case DIRTYBIT_CMD_BITMAP_RECLAIM:
		if (!pick(s, 3))
			nl_put(m, DIRTYBIT_A_FORCE, NULL, 0);
		break;
	case DIRTYBIT_CMD_BITMAP_MERGE:
		nest = db_nest(m, DIRTYBIT_A_BITMAP_SOURCES);
		for (n = 1 + pick(s, 3); n; n--) {
			one = db_nest(m, DIRTYBIT_A_SOURCE);
			if (pick(s, 2))
				db_put_u32(m, DIRTYBIT_A_TARGET_ID, 1 + pick(s, 3));
			db_put_str(m, DIRTYBIT_A_BITMAP_NAME, names[pick(s, 4)]);
			db_nest_end(m, one);
		}
		db_nest_end(m, nest);
		break;
	case DIRTYBIT_CMD_TRANSACTION:
		if (depth)
			break;
		nest = db_nest(m, DIRTYBIT_A_ACTIONS);
		for (n = 1 + pick(s, 4); n; n--) {
			int c = bitmap_cmds[pick(s, 9)];

			one = db_nest(m, DIRTYBIT_A_ACTION);
			db_put_u32(m, DIRTYBIT_A_ACTION_CMD, c);
			put_valid_action(s, m);
			put_cmd_attrs(s, m, c, depth + 1);
			db_nest_end(m, one);
		}
		db_nest_end(m, nest);
		break;
	}
}

static void build(uint64_t *s, struct nl_msg *m, unsigned int *cmd)
{
	struct nlmsghdr *h = (struct nlmsghdr *)m->data;
	int n, i;

	*cmd = pick(s, 16) ? 1 + pick(s, DIRTYBIT_CMD_MAX) : pick(s, 256);
	nl_msg_init(m, family, *cmd, pick(s, 16) ? DIRTYBIT_GENL_VERSION : rnd(s));
	if (*cmd == DIRTYBIT_CMD_TARGET_ATTACH || *cmd == DIRTYBIT_CMD_TARGET_DETACH)
		*cmd = pick(s, 4) ? DIRTYBIT_CMD_BITMAP_ADD : *cmd;	/* fewer */
	nl_genl(m)->cmd = *cmd;
	/* Half well formed, to get past validation into the commands. */
	if (pick(s, 2)) {
		put_valid_action(s, m);
		put_cmd_attrs(s, m, *cmd, 0);
		if (*cmd == DIRTYBIT_CMD_EXTENTS_GET ||
		    (*cmd == DIRTYBIT_CMD_BITMAP_GET && pick(s, 2)))
			h->nlmsg_flags |= NLM_F_DUMP;
		if (pick(s, 4))
			return;
	}
	if (!pick(s, 8))
		nl_genl(m)->reserved = rnd(s);
	if (pick(s, 2))
		put_valid_action(s, m);
	n = pick(s, 6);
	for (i = 0; i < n; i++)
		put_attr(s, m, 0);
	if (!pick(s, 6))
		h->nlmsg_flags |= NLM_F_DUMP;
	if (!pick(s, 32))
		h->nlmsg_flags = rnd(s) | NLM_F_REQUEST;
	/* Truncate or flip a byte of the attributes. */
	if (!pick(s, 10) && m->len > NLMSG_HDRLEN + GENL_HDRLEN)
		m->len -= pick(s, m->len - NLMSG_HDRLEN - GENL_HDRLEN);
	if (!pick(s, 10) && m->len > NLMSG_HDRLEN + GENL_HDRLEN)
		m->data[NLMSG_HDRLEN + GENL_HDRLEN +
			pick(s, m->len - NLMSG_HDRLEN - GENL_HDRLEN)] ^= 1 << pick(s, 8);
}

/* A dump to abandon stops at its first part. */
static int abandon_dump(struct nlmsghdr *r, void *arg)
{
	if (!r)
		return 0;
	atomic_fetch_add(&stats.abandoned, 1);
	return 1;
}

/*
 * Sends @m and reads to its end: the ACK or error, or a dump's DONE.  With
 * @abandon, stops at a dump's first part (the caller closes the socket).
 * Returns 0, the -errno of the refusal or 1 (abandoned); *msg is set when
 * the refusal had a message.
 */
static int exchange(struct nl *nl, struct nl_msg *m, int abandon, int *msg)
{
	int ret;

	((struct nlmsghdr *)m->data)->nlmsg_flags |= NLM_F_ACK;
	ret = nl_exchange(nl, m, abandon ? abandon_dump : NULL, NULL);
	*msg = nl->extack[0] != '\0';
	return ret;
}

struct sender {
	int index;
	long messages;
};

/* A reply that never comes fails the run instead of hanging it. */
static int sender_open(struct nl *nl)
{
	struct timeval tv = { .tv_sec = 30 };

	if (nl_open(nl))
		return -1;
	return setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void *sender_main(void *arg)
{
	struct sender *sd = arg;
	uint64_t s = seed0 * 1000003 + sd->index;
	struct nl nl;
	long i;

	if (sender_open(&nl))
		return (void *)1;
	for (i = 0; i < sd->messages; i++) {
		struct nl_msg m;
		unsigned int cmd;
		int abandon = !pick(&s, 50), msg, ret, flags;

		build(&s, &m, &cmd);
		flags = ((struct nlmsghdr *)m.data)->nlmsg_flags;
		abandon = abandon && (flags & NLM_F_DUMP) == NLM_F_DUMP;
		ret = exchange(&nl, &m, abandon, &msg);
		atomic_fetch_add(&stats.sent, 1);
		/* A dump to abandon ends its socket, and the freezes the socket
		 * owned with it, even when it was refused before a part came
		 * (the refusal is judged below).
		 */
		if (abandon) {
			nl_close(&nl);
			if (sender_open(&nl))
				return (void *)1;
		}
		if (ret == 1)
			continue;
		if (!ret) {
			atomic_fetch_add(&stats.ok, 1);
			continue;
		}
		atomic_fetch_add(&stats.refused, 1);
		if (-ret < MAX_ERRNO)
			atomic_fetch_add(&stats.by_errno[-ret], 1);
		if (!expected_errno(-ret)) {
			atomic_fetch_add(&stats.bad, 1);
			fprintf(stderr, "# sender %d message %ld: command %u refused with %d (%s)\n",
				sd->index, i, cmd, ret, nl.extack);
		}
		if (!msg)
			atomic_fetch_add(&stats.no_message, 1);
		/* The genetlink core refuses commands and dumps a family does
		 * not have, before any handler: no message.  Everything else
		 * is ours and says why.
		 */
		if (!msg && ret != -EOPNOTSUPP) {
			atomic_fetch_add(&stats.bad, 1);
			fprintf(stderr, "# sender %d message %ld: command %u refused with %d and no message\n",
				sd->index, i, cmd, ret);
		}
	}
	nl_close(&nl);
	return NULL;
}

/* ---- shared state ---------------------------------------------------------- */

static long slab_unreclaimable_kib(void)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "SUnreclaim: %ld kB", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

struct target_ids {
	uint32_t *ids;
	int max, n;
};

static int target_id(struct nlmsghdr *r, void *arg)
{
	struct target_ids *t = arg;
	struct nlattr *a = nl_attr(r, r->nlmsg_len, DIRTYBIT_A_TARGET_ID);

	if (a && t->n < t->max)
		t->ids[t->n++] = *(uint32_t *)nl_attr_data(a);
	return 0;
}

/* The ids of every target, by a TARGET_GET dump; how many. */
static int target_ids(struct db *db, uint32_t *ids, int max)
{
	struct target_ids t = { ids, max, 0 };
	struct nl_msg m;

	db_msg(db, &m, DIRTYBIT_CMD_TARGET_GET);
	db_dump(db, &m, target_id, &t, NULL);
	return t.n;
}

/*
 * Ends every freeze (with FORCE: the fuzzers' sockets owned them) and
 * detaches every target, regions too; until none is left.
 */
static void tear_down_all(struct db *db)
{
	uint32_t ids[64];
	int round, n, i, k;

	for (round = 0; round < 100; round++) {
		n = target_ids(db, ids, 64);
		if (!n)
			return;
		for (i = 0; i < n; i++) {
			char id[16];

			snprintf(id, sizeof(id), "%u", ids[i]);
			for (k = 0; k < (int)(sizeof(names) / sizeof(names[0])); k++) {
				struct nl_msg m;

				db_msg(db, &m, DIRTYBIT_CMD_BITMAP_RECLAIM);
				db_put_action(&m, id, names[k]);
				nl_put(&m, DIRTYBIT_A_FORCE, NULL, 0);
				nl_send(&db->nl, &m, NULL, 0);
			}
			db_detach(db, id);
		}
		usleep(10000);
	}
}

FIXTURE(live) {
	struct db db;
	int region_fd;
};

FIXTURE_SETUP(live)
{
	char objs[256];

	ASSERT_EQ(0, dirtybit_load());
	sh("rmmod brd 2>/dev/null");
	ASSERT_EQ(0, sh("modprobe brd rd_nr=2 rd_size=%llu", DISK_SIZE / KiB));
	ASSERT_EQ(0, db_open(&self->db));
	tear_down_all(&self->db);
	dirtybit_objects(objs, sizeof(objs));
	ASSERT_STREQ(DIRTYBIT_NO_OBJECTS, objs);
	family = self->db.family;
	seed0 = env_long("FUZZ_SEED", 1);
	ASSERT_LT(0, db_attach(&self->db, "/dev/ram0"));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b0", 0, 0));
	ASSERT_EQ(0, db_add(&self->db, "/dev/ram0", "b1", 4096, 0));
	ASSERT_EQ(0, write_direct("/dev/ram0", 0, 1 * MiB, 1));
	self->region_fd = region_create("fz", 4 * PAGE, DIRTYBIT_REGION_F_NODE, NULL);
	ASSERT_LE(0, self->region_fd);
}

FIXTURE_TEARDOWN(live)
{
	if (self->region_fd >= 0)
		close(self->region_fd);
	tear_down_all(&self->db);
	nl_close(&self->db.nl);
	sh("rmmod brd");
}

/* Nothing left once every target is gone and every region fd closed. */
static void expect_clean(struct __test_metadata *_metadata, struct db *db, int *region_fd,
			 long slab0)
{
	char objs[256];

	close(*region_fd);
	*region_fd = -1;
	tear_down_all(db);
	dirtybit_objects(objs, sizeof(objs));
	EXPECT_STREQ(DIRTYBIT_NO_OBJECTS, objs);
	TH_LOG("unreclaimable slab: %ld kB before, %ld kB after", slab0,
	       slab_unreclaimable_kib());
}

TEST_F_TIMEOUT(live, netlink, 3600)
{
	long total = env_long("FUZZ_MESSAGES", 10000);
	int nsend = env_long("FUZZ_SENDERS", 3), i, e;
	struct sender sd[16];
	pthread_t th[16];
	long slab0 = slab_unreclaimable_kib();

	ASSERT_LT(0, nsend);
	ASSERT_GE(16, nsend);
	memset(&stats, 0, sizeof(stats));
	for (i = 0; i < nsend; i++) {
		sd[i].index = i;
		sd[i].messages = total / nsend + (i < total % nsend);
		ASSERT_EQ(0, pthread_create(&th[i], NULL, sender_main, &sd[i]));
	}
	for (i = 0; i < nsend; i++) {
		void *ret;

		pthread_join(th[i], &ret);
		EXPECT_EQ(NULL, ret);
	}
	TH_LOG("seed %llu: %ld messages from %d senders: %ld done, %ld refused "
	       "(%ld without an extack message), %ld dumps abandoned",
	       (unsigned long long)seed0, atomic_load(&stats.sent), nsend,
	       atomic_load(&stats.ok), atomic_load(&stats.refused),
	       atomic_load(&stats.no_message), atomic_load(&stats.abandoned));
	for (e = 1; e < MAX_ERRNO; e++)
		if (atomic_load(&stats.by_errno[e]))
			TH_LOG("  %-12s %ld", strerrorname_np(e) ?: "?",
			       atomic_load(&stats.by_errno[e]));
	EXPECT_EQ(total, atomic_load(&stats.sent));
	EXPECT_EQ(0, atomic_load(&stats.bad));
	expect_clean(_metadata, &self->db, &self->region_fd, slab0);
}

/* ---- ioctls ------------------------------------------------------------------ */

struct pointers {
	void *valid;		/* the argument (first page) and a buffer (the rest) */
	void *list[8];		/* bad pointers */
};

static void pointers_init(struct pointers *p)
{
	char *two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *gone = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	munmap(gone, PAGE);
	mprotect(two + PAGE, PAGE, PROT_NONE);
	p->valid = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	p->list[0] = NULL;
	p->list[1] = (void *)1;
	p->list[2] = (void *)0xffffffff81000000UL;	/* the kernel's text */
	p->list[3] = gone;
	p->list[4] = ro;
	p->list[5] = two + PAGE - 24;			/* runs into the guard page */
	p->list[6] = (void *)~0UL;
	p->list[7] = two + 1;				/* misaligned, valid */
}

static const unsigned long ioctl_cmds[] = {
	DIRTYBIT_IOC_VERSION, DIRTYBIT_IOC_BITMAP_READ, DIRTYBIT_IOC_REGION_CREATE,
	DIRTYBIT_IOC_REGION_OPEN, DIRTYBIT_REGION_IOC_INFO, DIRTYBIT_REGION_IOC_HOLD,
	DIRTYBIT_REGION_IOC_RELEASE,
};

/* Random argument contents, mostly plausible: sizes, names, ids, pointers. */
static void fill_arg(uint64_t *s, struct pointers *p, unsigned long cmd, void *arg)
{
	static const uint64_t bytes[] = { 0, 1, PAGE - 1, PAGE, 4 * PAGE, 1ULL << 62,
					  ~0ULL & ~(PAGE - 1), 3 * PAGE + 8 };
	unsigned int size = _IOC_SIZE(cmd), i;
	unsigned char *b = arg;

	/* Mostly zero reserved fields, so the checks after them are reached. */
	for (i = 0; i < PAGE; i++)
		b[i] = pick(s, 4) ? 0 : rnd(s);
	if (pick(s, 4))
		memset(b, 0, PAGE);
	if (size >= 4 && pick(s, 8))
		*(uint32_t *)arg = size + (pick(s, 8) ? 0 : (int)pick(s, 9) - 4);
	switch (cmd) {
	case DIRTYBIT_IOC_BITMAP_READ: {
		struct dirtybit_ioc_bitmap_read *r = arg;

		r->target_id = pick(s, 4);
		snprintf(r->name, sizeof(r->name), "%s", names[pick(s, 5)]);
		r->first_word = pick(s, 2) ? pick(s, 8) : rnd(s);
		r->words = pick(s, 2) ? pick(s, 300) : rnd(s);
		r->buf = (uintptr_t)p->list[pick(s, 8)];
		if (pick(s, 2)) {	/* the buffer: never more than it holds */
			r->buf = (uintptr_t)p->valid + PAGE + 8 * pick(s, 8);
			r->words %= 300;
		}
		break;
	}
	case DIRTYBIT_IOC_REGION_CREATE: {
		struct dirtybit_ioc_region_create *c = arg;

		c->bytes = bytes[pick(s, 8)];
		c->flags = pick(s, 4) ? pick(s, 2) : rnd(s);
		snprintf(c->name, sizeof(c->name), "fz%s", pick(s, 2) ? "" : names[pick(s, 9)]);
		break;
	}
	case DIRTYBIT_IOC_REGION_OPEN: {
		struct dirtybit_ioc_region_open *o = arg;

		o->flags = pick(s, 4) ? pick(s, 2) : rnd(s);
		o->target_id = pick(s, 6);
		snprintf(o->name, sizeof(o->name), "%s", pick(s, 2) ? "fz" : names[pick(s, 9)]);
		break;
	}
	}
}

/* Random reads, writes, seeks and mappings of a region fd. */
static int poke_region(uint64_t *s, int fd, int held, void *buf)
{
	static const off_t offs[] = { 0, 1, PAGE - 1, PAGE, 4 * PAGE - 1, 4 * PAGE, 5 * PAGE,
				      -1, (off_t)1 << 62 };
	off_t off = offs[pick(s, 9)];
	size_t len = pick(s, 2) ? pick(s, 2 * PAGE) : PAGE;
	void *map;
	int ret = 0;

	switch (pick(s, 4)) {
	case 0:
		ret = pread(fd, buf, len, off) < 0 ? -errno : 0;
		break;
	case 1:
		if (!held)
			ret = pwrite(fd, buf, len, off) < 0 ? -errno : 0;
		break;
	case 2:
		ret = lseek(fd, off, pick(s, 5)) < 0 ? -errno : 0;
		break;
	case 3:
		map = mmap(NULL, len ?: 1, pick(s, 2) ? PROT_READ : PROT_READ | PROT_WRITE,
			   pick(s, 4) ? MAP_SHARED : MAP_PRIVATE, fd, off & ~(PAGE - 1));
		if (map == MAP_FAILED)
			return -errno;
		if (!held && pick(s, 2) && !mprotect(map, len ?: 1, PROT_READ | PROT_WRITE))
			*(volatile char *)map = 1;
		else
			(void)*(volatile char *)map;
		munmap(map, len ?: 1);
		break;
	}
	return ret;
}

TEST_F_TIMEOUT(live, ioctls, 3600)
{
	long total = env_long("FUZZ_IOCTLS", 10000), i, bad = 0, ok = 0, refused = 0;
	long slab0 = slab_unreclaimable_kib(), created = 0;
	uint64_t s = env_long("FUZZ_SEED", 1) * 7919;
	struct pointers p;
	int ctl = open("/dev/dirtybit", O_RDWR | O_CLOEXEC), held = 0;
	static char buf[2 * PAGE];

	ASSERT_LE(0, ctl);
	pointers_init(&p);
	for (i = 0; i < total; i++) {
		unsigned long cmd = ioctl_cmds[pick(&s, 7)];
		int on_region = cmd >= DIRTYBIT_REGION_IOC_INFO ? pick(&s, 8) != 0 : !pick(&s, 8);
		int fd = on_region ? self->region_fd : ctl, ret;
		void *arg = p.valid;

		if (!pick(&s, 10))	/* a wrong size, direction or number */
			cmd ^= pick(&s, 2) ? (unsigned long)pick(&s, 0x3fff) << _IOC_SIZESHIFT :
					     1UL << pick(&s, 32);
		fill_arg(&s, &p, cmd, p.valid);
		if (!pick(&s, 10))
			arg = p.list[pick(&s, 8)];
		if (cmd == DIRTYBIT_REGION_IOC_HOLD && held)
			cmd = DIRTYBIT_REGION_IOC_RELEASE;
		ret = ioctl(fd, cmd, arg) ? -errno : 0;
		if (!ret) {
			ok++;
			if (cmd == DIRTYBIT_REGION_IOC_HOLD && fd == self->region_fd)
				held = 1;
			if (cmd == DIRTYBIT_REGION_IOC_RELEASE && fd == self->region_fd)
				held = 0;
			if (cmd == DIRTYBIT_IOC_REGION_CREATE) {
				struct dirtybit_ioc_region_create *c = arg;
				char id[16];

				snprintf(id, sizeof(id), "%u", c->target_id);
				close(c->fd);
				EXPECT_EQ(0, db_detach(&self->db, id));
				created++;
			}
			if (cmd == DIRTYBIT_IOC_REGION_OPEN)
				close(((struct dirtybit_ioc_region_open *)arg)->fd);
		} else {
			refused++;
			if (!expected_errno(-ret)) {
				bad++;
				TH_LOG("ioctl %ld: %#lx refused with %d", i, cmd, ret);
			}
		}
		if (!pick(&s, 4)) {
			ret = poke_region(&s, self->region_fd, held, buf);
			if (ret && !expected_errno(-ret)) {
				bad++;
				TH_LOG("region file op %ld: %d", i, ret);
			}
		}
	}
	if (held)
		region_release(self->region_fd);
	close(ctl);
	TH_LOG("seed %ld: %ld ioctls: %ld done (%ld regions created and destroyed), %ld refused",
	       env_long("FUZZ_SEED", 1), total, ok, created, refused);
	EXPECT_EQ(0, bad);
	expect_clean(_metadata, &self->db, &self->region_fd, slab0);
}

NEEDS_HARNESS_MAIN("dirtybit brd", "truncate")
