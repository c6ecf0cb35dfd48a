/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces between the files of dirtybit.ko.
 */
#ifndef _DIRTYBIT_H
#define _DIRTYBIT_H

#include <linux/dirtybit.h>

extern struct genl_family dirtybit_genl_family;

int dirtybit_genl_init(void);
void dirtybit_genl_exit(void);

int dirtybit_cdev_init(void);
void dirtybit_cdev_exit(void);

#endif /* _DIRTYBIT_H */
