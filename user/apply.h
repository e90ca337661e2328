/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Applying a policy: resolve and verify every ref, compile with the
 * platform floor, and only if all of that succeeded swap it in. The state
 * directory keeps the applied set (re-applied at start), each generation's
 * compiled policy (so events resolve to the controls of the policy that
 * decided them) and a journal the daemon copies into the audit log.
 */
#ifndef GG_APPLY_H
#define GG_APPLY_H

#include "compile.h"
#include "config.h"

/* The built-in platform floor. */
int gg_floor_pack(struct gg_pack **out, struct gg_err *err);

/* Resolves and compiles floor + refs (no kernel access): a dry run. If
 * inputs is not NULL it receives what was compiled, the floor first, each
 * pack with the mode it runs in (free with gg_policy_inputs_free). */
int gg_policy_build(const struct gg_config *cfg, const struct gg_pack_ref *refs, size_t n,
		    struct gg_compiled **out, struct gg_policy_input **inputs, size_t *n_inputs,
		    struct gg_err *err);
void gg_policy_inputs_free(struct gg_policy_input *in, size_t n);

/* The "packs" of a policy_applied record (docs/audit.md): for every input,
 * the floor included, {ref, framework, sha256, mode, enforced, observed,
 * advisory}; a pack in observe mode has its enforceable controls under
 * "observed" and none under "enforced". */
json_t *gg_policy_packs_json(const struct gg_policy_input *in, size_t n);

/* Builds and swaps in; records the result (success or failure) in the
 * journal. who names the caller for the audit log. */
int gg_policy_apply(const struct gg_config *cfg, const struct gg_pack_ref *refs, size_t n,
		    const char *who, __u64 *generation, struct gg_err *err);

/* The applied set from the state directory; -ENOENT if none was saved. */
int gg_applied_load(const struct gg_config *cfg, struct gg_pack_ref **refs, size_t *n,
		    struct gg_err *err);
void gg_pack_refs_free(struct gg_pack_ref *refs, size_t n);

/* The compiled policy of a generation, from the state directory. */
int gg_generation_load(const struct gg_config *cfg, __u64 generation, struct gg_compiled **out,
		       struct gg_err *err);

/* Path of the apply journal (JSON lines). */
void gg_journal_path(const struct gg_config *cfg, char *buf, size_t len);

#endif
