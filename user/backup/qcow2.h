/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qcow2 v3 images for backups: a writer that lays out exactly what it is
 * given (every cluster it uses has refcount 1, nothing leaks), and a
 * strict reader that follows backing chains, for restore and verify.
 * Reference: QEMU's docs/interop/qcow2.txt.
 */
#ifndef _DIRTYBIT_BACKUP_QCOW2_H
#define _DIRTYBIT_BACKUP_QCOW2_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define QCOW2_MIN_CLUSTER_BITS	12	/* the header and backing name fit */
#define QCOW2_MAX_CLUSTER_BITS	21
#define QCOW2_MAX_CHAIN		64
#define QCOW2_NAME_MAX		1023	/* backing file name */

struct qcow2_writer {
	int fd;				/* metadata; data too unless ... */
	int data_fd;			/* ... another (O_DIRECT) fd is given */
	uint64_t size;			/* virtual bytes */
	unsigned int cluster_bits;
	uint64_t cluster;		/* bytes */
	uint64_t nclusters;		/* virtual clusters */
	uint64_t l1_entries;
	uint64_t l1_offset;
	uint64_t *l2;			/* every L2 entry, virtual cluster order */
	uint64_t next;			/* the next free host offset */
	pthread_mutex_t lock;		/* next and l2, for writer threads */
	char backing[QCOW2_NAME_MAX + 1];	/* "" for none */
	char backing_fmt[8];		/* "raw" or "qcow2" */
};

/*
 * Starts an image of @size bytes in @fd (empty, or truncated here) with
 * clusters of 1 << @cluster_bits and, if @backing, that backing file of
 * format @backing_fmt ("raw" or "qcow2").  Nothing claims to be qcow2 until
 * qcow2_finish() writes the header, last.  0 or -errno, reason in @err.
 */
int qcow2_create(struct qcow2_writer *w, int fd, uint64_t size, unsigned int cluster_bits,
		 const char *backing, const char *backing_fmt, char *err, size_t errlen);
/*
 * Data clusters go to @fd (the same file opened with O_DIRECT: buffers and
 * offsets are cluster-aligned), metadata still to the first one.
 */
void qcow2_data_fd(struct qcow2_writer *w, int fd);
/*
 * About @bytes of data clusters are coming: allocated in the file at once
 * (fallocate), so the data writes do not allocate one by one.  A hint: it
 * may fail; qcow2_finish() cuts the file to what it uses.
 */
void qcow2_reserve(struct qcow2_writer *w, uint64_t bytes);
/* Guest cluster @gc holds @buf (one cluster; the last may be partial). */
int qcow2_write_cluster(struct qcow2_writer *w, uint64_t gc, const void *buf,
			char *err, size_t errlen);
/*
 * Guest clusters @gcs[0..@n) hold @buf's clusters in that order: new ones
 * placed one after another (one write), ones written before (a later pass)
 * overwritten where they are.
 */
int qcow2_write_list(struct qcow2_writer *w, const uint64_t *gcs, uint64_t n, const void *buf,
		     char *err, size_t errlen);
/*
 * The same, each data write through @pw (@arg; 0 or -errno, the whole of
 * it written) instead of pwrite_all().
 */
typedef int (*qcow2_pwrite_fn)(void *arg, int fd, const void *buf, size_t len, uint64_t off);
int qcow2_write_list_io(struct qcow2_writer *w, const uint64_t *gcs, uint64_t n, const void *buf,
			qcow2_pwrite_fn pw, void *arg, char *err, size_t errlen);
/*
 * Guest cluster @gc reads as zeros, whatever the backing file holds; not
 * for one written before (write zeros into that one).
 */
void qcow2_zero_cluster(struct qcow2_writer *w, uint64_t gc);
/* Whether guest cluster @gc has data written in the image. */
bool qcow2_allocated(struct qcow2_writer *w, uint64_t gc);
/* L2 tables, refcounts, L1, then the header; fsync. */
int qcow2_finish(struct qcow2_writer *w, char *err, size_t errlen);
void qcow2_writer_free(struct qcow2_writer *w);

/* One image of a chain, opened read-only. */
struct qcow2_image {
	int fd;
	bool raw;			/* a raw backing file */
	char path[4096];
	uint64_t size;
	unsigned int cluster_bits;
	uint64_t l1_offset;		/* read entry by entry, never held whole */
	uint64_t l1_entries;
	uint64_t l1_cached;		/* the index of l1_value, or ~0 */
	uint64_t l1_value;		/* host order */
	dev_t dev;			/* the file's, to tell it from an output */
	ino_t ino;
	struct qcow2_image *backing;
};

/* Largest virtual size the reader takes (the writer makes at most 2^50). */
#define QCOW2_MAX_SIZE		(1ULL << 56)

/*
 * qcow2_open() flags.  By default a backing file must be a file beside the
 * image that names it (a bare name: no "/", no ".."), not a symlink, FIFO
 * or device; QCOW2_ANY_BACKING lets it be anywhere (absolute, or relative
 * to the image's directory), still a regular file and no symlink.
 */
#define QCOW2_ANY_BACKING	1U

/*
 * Opens @path as qcow2 (or raw when @fmt is "raw") and its backing chain;
 * refuses anything this reader does not handle exactly (encryption,
 * compression, extended L2, external data, snapshots' dirty state, unknown
 * incompatible features, loops, chains deeper than QCOW2_MAX_CHAIN) and
 * every field that points outside the file or its tables.  A backing name
 * that is not a bare file name is refused with -EXDEV (unless
 * QCOW2_ANY_BACKING); a backing file that is a symlink, or not a regular
 * file, with -EACCES.
 */
int qcow2_open(struct qcow2_image **img, const char *path, const char *fmt, unsigned int flags,
	       char *err, size_t errlen);
/* Reads guest bytes [off, off + len) through the chain into @buf (one
 * thread at a time per chain: it caches an L1 entry).
 */
int qcow2_read(struct qcow2_image *img, uint64_t off, void *buf, size_t len, char *err,
	       size_t errlen);
void qcow2_close(struct qcow2_image *img);
/* Images in @img's chain, itself included. */
unsigned int qcow2_chain_length(const struct qcow2_image *img);
/* The image of @img's chain that is the file @st describes, or NULL. */
const struct qcow2_image *qcow2_chain_find(const struct qcow2_image *img,
					   const struct stat *st);

#endif /* _DIRTYBIT_BACKUP_QCOW2_H */
