/*
 * config.h — INI configuration (parsed with inih).  One file per service;
 * every key is documented in docs/config.md.  Sections and keys are
 * case-sensitive; a later duplicate key replaces the earlier one.
 */
#ifndef ONECERT_CONFIG_H
#define ONECERT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include "onecert/error.h"

struct oc_config;

/* Caller owns the result (oc_config_free). */
struct oc_config *oc_config_new(void);
struct oc_config *oc_config_load(const char *path, struct oc_err *err);
/* The same from len bytes in memory (same rules and 1 MiB limit; data need
 * not be NUL-terminated).  Caller owns the result. */
struct oc_config *oc_config_parse(const char *data, size_t len,
	struct oc_err *err);
void oc_config_free(struct oc_config *cfg);

/* Borrowed pointer valid until the key is set again or cfg is freed;
 * def when the key is absent. */
const char *oc_config_get(const struct oc_config *cfg, const char *section,
	const char *key, const char *def);
/* Integer / boolean / duration readers: OC_EINVAL (with a message naming
 * section.key) when the value is present but malformed or out of
 * [min, max]; *out = def when absent.  Durations accept 30, 30s, 5m, 2h, 1d. */
int oc_config_get_long(const struct oc_config *cfg, const char *section,
	const char *key, long def, long min, long max, long *out, struct oc_err *err);
int oc_config_get_bool(const struct oc_config *cfg, const char *section,
	const char *key, bool def, bool *out, struct oc_err *err);
int oc_config_get_duration(const struct oc_config *cfg, const char *section,
	const char *key, long def_seconds, long *out_seconds, struct oc_err *err);

int oc_config_set(struct oc_config *cfg, const char *section, const char *key,
	const char *value);
/* Write atomically (see oc_write_file_atomic), sections in insertion order. */
int oc_config_save(const struct oc_config *cfg, const char *path, int mode,
	struct oc_err *err);

#endif
