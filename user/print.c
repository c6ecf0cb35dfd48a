// SPDX-License-Identifier: GPL-2.0
/*
 * print_*(): one call per value, to JSON or text (see print.h).  The text
 * formats come from the callers as literals, as iproute2's do.
 */
#include "json.h"
#include "print.h"

#pragma GCC diagnostic ignored "-Wformat-nonliteral"

static struct {
	bool json;
	FILE *out;
	struct json js;
} pr = { .out = NULL };

void print_init(bool json, FILE *out)
{
	pr.json = json;
	pr.out = out;
	json_init(&pr.js, out);
}

bool is_json_context(void)
{
	return pr.json;
}

/* Does a value of @type go to the current mode, with text @fmt? */
static bool to_text(enum output_type type, const char *fmt)
{
	return !pr.json && (type & PRINT_FP) && fmt;
}

static bool to_json(enum output_type type)
{
	return pr.json && (type & PRINT_JSON);
}

void open_json_object(const char *key)
{
	if (pr.json)
		json_object_start(&pr.js, key);
}

void close_json_object(void)
{
	if (pr.json)
		json_object_end(&pr.js);
}

void open_json_array(const char *key)
{
	if (pr.json)
		json_array_start(&pr.js, key);
}

void close_json_array(void)
{
	if (pr.json)
		json_array_end(&pr.js);
}

void print_string(enum output_type type, const char *key, const char *fmt, const char *val)
{
	if (to_json(type))
		json_str(&pr.js, key, val);
	else if (to_text(type, fmt))
		fprintf(pr.out, fmt, val);
}

void print_u64(enum output_type type, const char *key, const char *fmt, uint64_t val)
{
	if (to_json(type))
		json_u64(&pr.js, key, val);
	else if (to_text(type, fmt))
		fprintf(pr.out, fmt, (unsigned long long)val);
}

void print_uint(enum output_type type, const char *key, const char *fmt, unsigned int val)
{
	if (to_json(type))
		json_u64(&pr.js, key, val);
	else if (to_text(type, fmt))
		fprintf(pr.out, fmt, val);
}

void print_float(const char *fmt, double val)
{
	if (to_text(PRINT_FP, fmt))
		fprintf(pr.out, fmt, val);
}

void print_bool(enum output_type type, const char *key, const char *fmt, bool val)
{
	if (to_json(type))
		json_bool(&pr.js, key, val);
	else if (to_text(type, fmt) && val)
		fputs(fmt, pr.out);
}

void print_text(const char *fmt)
{
	if (to_text(PRINT_FP, fmt))
		fputs(fmt, pr.out);
}
