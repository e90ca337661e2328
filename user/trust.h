/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trusted-executables mode: a trust list is a pack whose one cmd.exec rule
 * matches "trusted": the SHA-256 digests of the only files that may be
 * executed or mapped executable (docs/packs.md). Signed, resolved and
 * applied like any pack.
 */
#ifndef GG_TRUST_H
#define GG_TRUST_H

#include <jansson.h>

#include "common.h"

struct gg_trust_opts {
	const char *name; /* the pack's name, [a-z0-9-]+ */
	const char *version;
};

/*
 * Hashes every executable (any x bit) and ELF file (executables and
 * shared libraries) under each of dirs, symlinks to regular files
 * included, and builds the trust-list pack that lists their digests,
 * sorted and unique. *n_files: the files hashed.
 */
int gg_trust_snapshot(const char *const *dirs, size_t n_dirs, const struct gg_trust_opts *opts,
		      json_t **pack, size_t *n_files, struct gg_err *err);

struct gg_config;

/* After an apply of generation: a warning when it holds trust lists and
 * cmd.exec runs on the fallback path, which cannot hash a file (no
 * sleepable hook) and so cannot enforce them; NULL otherwise. */
const char *gg_trust_unenforced(const struct gg_config *cfg, __u64 generation);

#endif
