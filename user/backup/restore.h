/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Restores of backup chains into a device or file, and verifies of one
 * against a chain.
 */
#ifndef _DIRTYBIT_BACKUP_RESTORE_H
#define _DIRTYBIT_BACKUP_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes the chain ending at @top into @dest (a file, made the chain's
 * size, or a block device at least that large); with @verify compares
 * instead.  0 or -errno (-EINVAL for a difference), reason in @err.
 */
int backup_restore(const char *top, const char *dest, bool verify, unsigned int qcow2_flags,
		   uint64_t *bytes, char *err, size_t errlen);

#endif /* _DIRTYBIT_BACKUP_RESTORE_H */
