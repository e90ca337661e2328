/* SPDX-License-Identifier: GPL-2.0 */
/* Compiled policy to and from JSON (compile --json, the generation records). */
#ifndef GG_COMPILED_JSON_H
#define GG_COMPILED_JSON_H

#include <jansson.h>

#include "compile.h"

/* Deterministic JSON: the same policy gives byte-identical output. */
json_t *gg_compiled_to_json(const struct gg_compiled *c);

/* Loads what gg_compiled_to_json wrote, and older records (rules without
 * their controls). Refuses out-of-range keys, entries and actions. */
int gg_compiled_from_json(const json_t *doc, struct gg_compiled **out, struct gg_err *err);

#endif
