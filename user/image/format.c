// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU's mapped-ram migration file, RAM only: written so that QEMU loads
 * it (-M none -m SIZE, migrate-incoming file:), read strictly so that a
 * corrupt or truncated file is an error with an offset, never a crash.
 * Every integer of the stream is big-endian; the valid bitmaps are
 * little-endian 64-bit words.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../common/util.h"
#include "format.h"

/* migration/savevm.c and migration/ram.c */
#define QEMU_VM_FILE_MAGIC		0x5145564d	/* "QEVM" */
#define QEMU_VM_FILE_VERSION		3
#define QEMU_VM_EOF			0x00
#define QEMU_VM_SECTION_START		0x01
#define QEMU_VM_SECTION_END		0x03
#define QEMU_VM_SUBSECTION		0x05
#define QEMU_VM_VMDESCRIPTION		0x06
#define QEMU_VM_CONFIGURATION		0x07
#define QEMU_VM_SECTION_FOOTER		0x7e
#define RAM_SAVE_FLAG_MEM_SIZE		0x04
#define RAM_SAVE_FLAG_EOS		0x10
#define RAM_SECTION_VERSION		4
#define MAPPED_RAM_VERSION		1
#define MAPPED_RAM_HEADER_SIZE		28	/* be32 + 3 x be64, packed */
#define CAPS_SUBSECTION			"configuration/capabilities"
#define CAP_MAPPED_RAM			"mapped-ram"
#define IMG_SECTION_ID			1	/* what QEMU -M none uses */
#define IMG_VMDESC_MAX			(1 << 20)
#define ARRAY_SIZE(a)			(sizeof(a) / sizeof((a)[0]))

/*
 * The capabilities the configuration section lists: those QEMU validates
 * on load (should_validate_capability()) that the image needs, in QEMU's
 * MigrationCapability order.
 */
static const char *const img_caps[] = { CAP_MAPPED_RAM };

/* ---- writing ------------------------------------------------------------ */

struct out {
	uint8_t buf[4096];
	size_t len;
	bool overflow;
};

static void put(struct out *o, const void *p, size_t n)
{
	if (o->len + n > sizeof(o->buf)) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void put_u8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put_be32(struct out *o, uint32_t v)
{
	v = htobe32(v);
	put(o, &v, 4);
}

static void put_be64(struct out *o, uint64_t v)
{
	v = htobe64(v);
	put(o, &v, 8);
}

/* A string with a u8 length, as idstrs and capability names are. */
static void put_str8(struct out *o, const char *s)
{
	put_u8(o, (uint8_t)strlen(s));
	put(o, s, strlen(s));
}

static int flush_at(int fd, struct out *o, uint64_t off, char *err, size_t errlen)
{
	ssize_t n;

	if (o->overflow)
		return errf(err, errlen, -EINVAL, "image header too large");
	n = pwrite(fd, o->buf, o->len, (off_t)off);
	if (n != (ssize_t)o->len)
		return errf(err, errlen, n < 0 ? -errno : -EIO, "writing the image header: %s",
			    strerror(n < 0 ? errno : EIO));
	return 0;
}

/* The header up to the first block's idstr: magic to the MEM_SIZE word. */
static void put_prologue(struct out *o, const struct img *img, uint64_t total)
{
	size_t i;

	put_be32(o, QEMU_VM_FILE_MAGIC);
	put_be32(o, QEMU_VM_FILE_VERSION);
	put_u8(o, QEMU_VM_CONFIGURATION);
	put_be32(o, (uint32_t)strlen(img->machine));
	put(o, img->machine, strlen(img->machine));
	put_u8(o, QEMU_VM_SUBSECTION);
	put_str8(o, CAPS_SUBSECTION);
	put_be32(o, 1);			/* its version */
	put_be32(o, ARRAY_SIZE(img_caps));	/* capabilities that must match */
	for (i = 0; i < ARRAY_SIZE(img_caps); i++)
		put_str8(o, img_caps[i]);
	put_u8(o, QEMU_VM_SECTION_START);
	put_be32(o, img->section_id);
	put_str8(o, "ram");
	put_be32(o, 0);			/* instance */
	put_be32(o, RAM_SECTION_VERSION);
	put_be64(o, total | RAM_SAVE_FLAG_MEM_SIZE);
}

static int cmp_block_size(const void *a, const void *b)
{
	const struct img_block *x = a, *y = b;

	if (x->used_length != y->used_length)
		return x->used_length > y->used_length ? -1 : 1;
	return strcmp(x->id, y->id);
}

int img_layout(struct img *img, char *err, size_t errlen)
{
	struct out o = { .len = 0 };
	uint64_t pos, total = 0;
	unsigned int i, j;

	if (!img->nblocks || img->nblocks > IMG_MAX_BLOCKS)
		return errf(err, errlen, -EINVAL, "an image holds 1 to %d blocks", IMG_MAX_BLOCKS);
	if (!img->machine[0])
		strcpy(img->machine, IMG_MACHINE_DEFAULT);
	if (!img->section_id)
		img->section_id = IMG_SECTION_ID;
	for (i = 0; i < img->nblocks; i++) {
		struct img_block *b = &img->blocks[i];

		if (!b->id[0] || strlen(b->id) >= IMG_ID_MAX)
			return errf(err, errlen, -EINVAL, "block names are 1 to %d bytes",
				    IMG_ID_MAX - 1);
		if (!b->used_length || b->used_length % IMG_PAGE_SIZE)
			return errf(err, errlen, -EINVAL,
				    "block %s: size %llu is not a non-zero multiple of %llu",
				    b->id, (unsigned long long)b->used_length, IMG_PAGE_SIZE);
		for (j = 0; j < i; j++)
			if (!strcmp(img->blocks[j].id, b->id))
				return errf(err, errlen, -EINVAL, "block %s given twice", b->id);
		if (total + b->used_length < total)
			return errf(err, errlen, -EOVERFLOW, "blocks too large");
		total += b->used_length;
	}
	/* QEMU lists its RAM blocks largest first. */
	qsort(img->blocks, img->nblocks, sizeof(*img->blocks), cmp_block_size);
	put_prologue(&o, img, total);
	pos = o.len;
	for (i = 0; i < img->nblocks; i++) {
		struct img_block *b = &img->blocks[i];

		b->npages = b->used_length / IMG_PAGE_SIZE;
		b->header_offset = pos;
		b->bitmap_offset = pos + 1 + strlen(b->id) + 8 + MAPPED_RAM_HEADER_SIZE;
		b->pages_offset = (b->bitmap_offset + img_bitmap_bytes(b) + IMG_PAGES_ALIGN - 1) &
				  ~(IMG_PAGES_ALIGN - 1);
		pos = b->pages_offset + b->used_length;
		free(b->valid);
		b->valid = calloc(1, img_bitmap_bytes(b));
		if (!b->valid)
			return errf(err, errlen, -ENOMEM, "out of memory");
	}
	img->end = pos;
	return 0;
}

int img_write_start(int fd, const struct img *img, char *err, size_t errlen)
{
	struct out o = { .len = 0 };
	uint64_t total = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < img->nblocks; i++)
		total += img->blocks[i].used_length;
	put_prologue(&o, img, total);
	ret = flush_at(fd, &o, 0, err, errlen);
	for (i = 0; !ret && i < img->nblocks; i++) {
		const struct img_block *b = &img->blocks[i];

		o.len = 0;
		put_str8(&o, b->id);
		put_be64(&o, b->used_length);
		put_be32(&o, MAPPED_RAM_VERSION);
		put_be64(&o, IMG_PAGE_SIZE);
		put_be64(&o, b->bitmap_offset);
		put_be64(&o, b->pages_offset);
		ret = flush_at(fd, &o, b->header_offset, err, errlen);
	}
	if (ret)
		return ret;
	/* End of the setup part of the ram section. */
	o.len = 0;
	put_be64(&o, RAM_SAVE_FLAG_EOS);
	put_u8(&o, QEMU_VM_SECTION_FOOTER);
	put_be32(&o, img->section_id);
	return flush_at(fd, &o, img->end, err, errlen);
}

int img_write_bitmaps(int fd, const struct img *img, char *err, size_t errlen)
{
	unsigned int i;
	uint64_t w;

	for (i = 0; i < img->nblocks; i++) {
		const struct img_block *b = &img->blocks[i];
		uint64_t bytes = img_bitmap_bytes(b);
		uint64_t *le = malloc(bytes);
		ssize_t n;

		if (!le)
			return errf(err, errlen, -ENOMEM, "out of memory");
		for (w = 0; w < bytes / 8; w++)
			le[w] = htole64(b->valid[w]);
		n = pwrite(fd, le, bytes, (off_t)b->bitmap_offset);
		free(le);
		if (n != (ssize_t)bytes)
			return errf(err, errlen, n < 0 ? -errno : -EIO,
				    "writing the bitmap of block %s: %s", b->id,
				    strerror(n < 0 ? errno : EIO));
	}
	return 0;
}

/*
 * QEMU's JSON view of the stream (savevm.c, vmstate.c): the configuration
 * section field by field, with each field's size in the stream (an array's
 * is its first element's, beside array_len), then the device sections,
 * of which a RAM-only stream has none ("ram" is not a vmstate device).
 */
static int describe(char *d, size_t len, const struct img *img)
{
	size_t n = ARRAY_SIZE(img_caps);
	char array_len[32] = "";

	if (n > 1)
		snprintf(array_len, sizeof(array_len), "\"array_len\": %zu, ", n);
	return snprintf(d, len,
		"{\"configuration\": {\"vmsd_name\": \"configuration\", \"version\": 1, "
		"\"fields\": [{\"name\": \"len\", \"type\": \"uint32\", \"size\": 4}, "
		"{\"name\": \"name\", \"type\": \"buffer\", \"size\": %zu}], "
		"\"subsections\": [{\"vmsd_name\": \"%s\", \"version\": 1, "
		"\"fields\": [{\"name\": \"caps_count\", \"type\": \"uint32\", \"size\": 4}, "
		"{\"name\": \"capabilities\", %s\"type\": \"capability\", \"size\": %zu}]}]}, "
		"\"page_size\": %llu, \"devices\": []}",
		strlen(img->machine), CAPS_SUBSECTION, array_len, 1 + strlen(img_caps[0]),
		IMG_PAGE_SIZE);
}

int img_write_end(int fd, const struct img *img, char *err, size_t errlen)
{
	struct out o = { .len = 0 };
	char desc[1024];
	int n;

	/* The ram section's end, the stream's end, then QEMU's JSON view. */
	put_be64(&o, RAM_SAVE_FLAG_EOS);	/* setup's EOS and footer ... */
	put_u8(&o, QEMU_VM_SECTION_FOOTER);
	put_be32(&o, img->section_id);
	put_u8(&o, QEMU_VM_SECTION_END);	/* ... then the section's end */
	put_be32(&o, img->section_id);
	put_be64(&o, RAM_SAVE_FLAG_EOS);
	put_u8(&o, QEMU_VM_SECTION_FOOTER);
	put_be32(&o, img->section_id);
	put_u8(&o, QEMU_VM_EOF);
	n = describe(desc, sizeof(desc), img);
	if (n < 0 || (size_t)n >= sizeof(desc))
		return errf(err, errlen, -EINVAL, "image description too large");
	put_u8(&o, QEMU_VM_VMDESCRIPTION);
	put_be32(&o, (uint32_t)n);
	put(&o, desc, (size_t)n);
	return flush_at(fd, &o, img->end, err, errlen);
}

/* ---- reading ------------------------------------------------------------ */

struct in {
	int fd;
	uint64_t pos, size;
	char *err;
	size_t errlen;
	int ret;		/* the first error; later reads do nothing */
};

static void get(struct in *r, void *p, size_t n, const char *what)
{
	ssize_t got;

	if (r->ret) {
		memset(p, 0, n);
		return;
	}
	if (r->pos + n > r->size) {
		r->ret = errf(r->err, r->errlen, -EINVAL,
			      "truncated: %s at offset %llu runs past the end (%llu bytes)",
			      what, (unsigned long long)r->pos, (unsigned long long)r->size);
		memset(p, 0, n);
		return;
	}
	got = pread(r->fd, p, n, (off_t)r->pos);
	if (got != (ssize_t)n) {
		r->ret = errf(r->err, r->errlen, got < 0 ? -errno : -EIO,
			      "reading %s at offset %llu: %s", what,
			      (unsigned long long)r->pos, strerror(got < 0 ? errno : EIO));
		memset(p, 0, n);
		return;
	}
	r->pos += n;
}

static uint8_t get_u8(struct in *r, const char *what)
{
	uint8_t v;

	get(r, &v, 1, what);
	return v;
}

static uint32_t get_be32(struct in *r, const char *what)
{
	uint32_t v;

	get(r, &v, 4, what);
	return be32toh(v);
}

static uint64_t get_be64(struct in *r, const char *what)
{
	uint64_t v;

	get(r, &v, 8, what);
	return be64toh(v);
}

/* A u8-length string into @s (IMG_ID_MAX bytes). */
static void get_str8(struct in *r, char *s, const char *what)
{
	uint8_t len = get_u8(r, what);

	get(r, s, len, what);
	s[len] = 0;
}

static int bad(struct in *r, uint64_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct in *r, uint64_t at, const char *fmt, ...)
{
	char why[300];
	va_list ap;

	if (r->ret)
		return r->ret;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	r->ret = errf(r->err, r->errlen, -EINVAL, "offset %llu: %s",
		      (unsigned long long)at, why);
	return r->ret;
}

static int read_configuration(struct in *r, struct img *img)
{
	char name[IMG_ID_MAX];
	uint32_t len, count, i;
	bool mapped_ram = false;
	uint64_t at = r->pos;

	if (get_u8(r, "the configuration section") != QEMU_VM_CONFIGURATION)
		return bad(r, at, "no configuration section (not a mapped-ram image)");
	at = r->pos;
	len = get_be32(r, "the machine type");
	if (len == 0 || len >= IMG_ID_MAX)
		return bad(r, at, "machine type of %u bytes", len);
	get(r, img->machine, len, "the machine type");
	img->machine[len] = 0;
	/* Subsections: only the capabilities one is known. */
	while (!r->ret && r->pos < r->size) {
		uint8_t c;

		at = r->pos;
		get(r, &c, 1, "a subsection");
		if (c != QEMU_VM_SUBSECTION) {
			r->pos = at;
			break;
		}
		get_str8(r, name, "a subsection name");
		if (strcmp(name, CAPS_SUBSECTION))
			return bad(r, at, "unsupported configuration subsection '%s'", name);
		if (get_be32(r, "the capabilities version") != 1)
			return bad(r, at, "capabilities subsection version is not 1");
		count = get_be32(r, "the capability count");
		if (count > 64)
			return bad(r, at, "%u capabilities", count);
		for (i = 0; i < count && !r->ret; i++) {
			get_str8(r, name, "a capability");
			if (!strcmp(name, CAP_MAPPED_RAM))
				mapped_ram = true;
			else
				return bad(r, at, "capability '%s' is not supported", name);
		}
	}
	if (!r->ret && !mapped_ram)
		return bad(r, at, "the file was not saved with the mapped-ram capability");
	return r->ret;
}

static int read_block(struct in *r, struct img *img, struct img_block *b)
{
	uint64_t at = r->pos, w, bytes;
	unsigned int i;

	get_str8(r, b->id, "a block name");
	b->used_length = get_be64(r, "a block length");
	if (r->ret)
		return r->ret;
	if (!b->id[0])
		return bad(r, at, "a block without a name");
	for (i = 0; i < (unsigned int)(b - img->blocks); i++)
		if (!strcmp(img->blocks[i].id, b->id))
			return bad(r, at, "block '%s' appears twice", b->id);
	if (!b->used_length || b->used_length % IMG_PAGE_SIZE)
		return bad(r, at, "block '%s': length %llu is not a multiple of %llu", b->id,
			   (unsigned long long)b->used_length, IMG_PAGE_SIZE);
	at = r->pos;
	if (get_be32(r, "a mapped-ram header") != MAPPED_RAM_VERSION)
		return bad(r, at, "block '%s': mapped-ram header version is not %d", b->id,
			   MAPPED_RAM_VERSION);
	if (get_be64(r, "a page size") != IMG_PAGE_SIZE)
		return bad(r, at, "block '%s': page size is not %llu", b->id, IMG_PAGE_SIZE);
	b->bitmap_offset = get_be64(r, "a bitmap offset");
	b->pages_offset = get_be64(r, "a pages offset");
	if (r->ret)
		return r->ret;
	b->header_offset = at;
	b->npages = b->used_length / IMG_PAGE_SIZE;
	bytes = img_bitmap_bytes(b);
	if (b->bitmap_offset < r->pos || b->bitmap_offset > r->size ||
	    bytes > r->size - b->bitmap_offset)
		return bad(r, at, "block '%s': bitmap offset %llu outside the file", b->id,
			   (unsigned long long)b->bitmap_offset);
	if (b->pages_offset < b->bitmap_offset + bytes || b->pages_offset > r->size ||
	    b->used_length > r->size - b->pages_offset)
		return bad(r, at, "block '%s': pages at %llu + %llu outside the file", b->id,
			   (unsigned long long)b->pages_offset,
			   (unsigned long long)b->used_length);
	b->valid = malloc(bytes);
	if (!b->valid)
		return errf(r->err, r->errlen, -ENOMEM, "out of memory");
	at = r->pos;
	r->pos = b->bitmap_offset;
	get(r, b->valid, bytes, "a bitmap");
	for (w = 0; w < bytes / 8; w++)
		b->valid[w] = le64toh(b->valid[w]);
	/* Bits past the last page are not pages. */
	if (b->npages % 64 && b->valid[bytes / 8 - 1] >> (b->npages % 64))
		return bad(r, b->bitmap_offset, "block '%s': bitmap marks pages past its end",
			   b->id);
	r->pos = b->pages_offset + b->used_length;
	return r->ret;
}

/* The stream ends with QEMU_VM_EOF and a JSON description within @span. */
static bool trailer_within(struct in *r, uint64_t from, size_t span)
{
	uint64_t start = r->size > span ? r->size - span : 0;
	bool found = false;
	size_t n, i;
	char *tail;

	if (start < from)
		start = from;
	n = r->size - start;
	tail = malloc(n + 1);
	if (!tail || n < 7 || pread(r->fd, tail, n, (off_t)start) != (ssize_t)n)
		goto out;
	for (i = 0; i + 7 <= n && !found; i++) {
		uint32_t len;

		if (tail[i] != QEMU_VM_EOF || tail[i + 1] != QEMU_VM_VMDESCRIPTION)
			continue;
		memcpy(&len, tail + i + 2, 4);
		found = be32toh(len) == n - i - 6 && tail[i + 6] == '{' && tail[n - 1] == '}';
	}
out:
	free(tail);
	return found;
}

/* Complete: QEMU's description (small for RAM-only files) ends the file. */
static bool read_trailer(struct in *r, uint64_t from)
{
	return trailer_within(r, from, 4096) || trailer_within(r, from, IMG_VMDESC_MAX);
}

int img_read(int fd, struct img *img, char *err, size_t errlen)
{
	struct in r = { .fd = fd, .err = err, .errlen = errlen };
	uint64_t total, sum = 0, at;
	struct stat st;
	char id[IMG_ID_MAX];

	memset(img, 0, sizeof(*img));
	if (fstat(fd, &st))
		return errf(err, errlen, -errno, "%s", strerror(errno));
	r.size = img->file_size = (uint64_t)st.st_size;
	if (get_be32(&r, "the magic") != QEMU_VM_FILE_MAGIC)
		return bad(&r, 0, "not a QEMU migration file (no QEVM magic)");
	if (get_be32(&r, "the version") != QEMU_VM_FILE_VERSION)
		return bad(&r, 4, "migration stream version is not %d", QEMU_VM_FILE_VERSION);
	if (read_configuration(&r, img))
		return r.ret;
	at = r.pos;
	if (get_u8(&r, "the ram section") != QEMU_VM_SECTION_START)
		return bad(&r, at, "the first section is not a section start");
	img->section_id = get_be32(&r, "a section id");
	get_str8(&r, id, "a section name");
	if (!r.ret && strcmp(id, "ram"))
		return bad(&r, at, "the first section is '%s', not ram", id);
	get_be32(&r, "the instance id");
	if (get_be32(&r, "the section version") != RAM_SECTION_VERSION)
		return bad(&r, at, "ram section version is not %d", RAM_SECTION_VERSION);
	at = r.pos;
	total = get_be64(&r, "the RAM size");
	if (!r.ret && (total & (IMG_PAGE_SIZE - 1)) != RAM_SAVE_FLAG_MEM_SIZE)
		return bad(&r, at, "the ram section does not start with the RAM size");
	total &= ~(IMG_PAGE_SIZE - 1);
	img->blocks = calloc(IMG_MAX_BLOCKS, sizeof(*img->blocks));
	if (!img->blocks)
		return errf(err, errlen, -ENOMEM, "out of memory");
	while (!r.ret && sum < total) {
		struct img_block *b = &img->blocks[img->nblocks];

		if (img->nblocks == IMG_MAX_BLOCKS)
			return bad(&r, r.pos, "more than %d blocks", IMG_MAX_BLOCKS);
		img->nblocks++;
		if (read_block(&r, img, b))
			break;
		if (b->used_length > total - sum)
			return bad(&r, b->header_offset, "blocks add up to more than %llu bytes",
				   (unsigned long long)total);
		sum += b->used_length;
	}
	if (r.ret)
		return r.ret;
	if (!img->nblocks)
		return bad(&r, at, "no RAM blocks");
	img->end = r.pos;
	at = r.pos;
	if (get_be64(&r, "the end of the ram setup") != RAM_SAVE_FLAG_EOS)
		return bad(&r, at, "no end-of-section flag after the blocks");
	img->complete = read_trailer(&r, img->end);
	return 0;
}

struct img_block *img_block_find(const struct img *img, const char *id)
{
	unsigned int i;

	for (i = 0; i < img->nblocks; i++)
		if (!strcmp(img->blocks[i].id, id))
			return &img->blocks[i];
	return NULL;
}

void img_free(struct img *img)
{
	unsigned int i;

	for (i = 0; img->blocks && i < img->nblocks; i++)
		free(img->blocks[i].valid);
	free(img->blocks);
	img->blocks = NULL;
	img->nblocks = 0;
}
