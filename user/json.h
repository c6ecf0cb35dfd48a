/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small streaming JSON writer: the one way every -j listing is printed.
 */
#ifndef _DIRTYBIT_JSON_H
#define _DIRTYBIT_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *out;
	int depth;
	bool first[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *out);
void json_object_start(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_start(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_str(struct json *j, const char *key, const char *val);
void json_u64(struct json *j, const char *key, uint64_t val);
void json_bool(struct json *j, const char *key, bool val);

#endif /* _DIRTYBIT_JSON_H */
