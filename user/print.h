/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one way the CLI prints a result, in iproute2's print_* style: each
 * value is handed over once, with a JSON key and a text format, and goes
 * to JSON (with -j) or to text by the mode print_init() set.
 *
 * @type says where a value goes: PRINT_FP text only, PRINT_JSON JSON only,
 * PRINT_ANY both.  A NULL @fmt prints no text; a NULL @key is an array
 * element (JSON).  Objects and arrays are JSON only: text has its own
 * separators in the formats.
 */
#ifndef _DIRTYBIT_PRINT_H
#define _DIRTYBIT_PRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum output_type {
	PRINT_FP = 1,
	PRINT_JSON = 2,
	PRINT_ANY = PRINT_FP | PRINT_JSON,
};

/* Results go to @out, as JSON if @json. */
void print_init(bool json, FILE *out);
bool is_json_context(void);

void open_json_object(const char *key);
void close_json_object(void);
void open_json_array(const char *key);
void close_json_array(void);

void print_string(enum output_type type, const char *key, const char *fmt, const char *val);
/* Text: @fmt takes an unsigned long long (%llu). */
void print_u64(enum output_type type, const char *key, const char *fmt, uint64_t val);
/* Text: @fmt takes an unsigned int (%u). */
void print_uint(enum output_type type, const char *key, const char *fmt, unsigned int val);
/* Text only (JSON carries exact integers): @fmt takes a double. */
void print_float(const char *fmt, double val);
/* JSON: true or false.  Text: @fmt, as it is, when @val is true. */
void print_bool(enum output_type type, const char *key, const char *fmt, bool val);
/* Text: @fmt as it is (a separator, a newline). */
void print_text(const char *fmt);

#endif /* _DIRTYBIT_PRINT_H */
