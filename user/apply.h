/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Applying a policy: resolve and verify every ref, compile with the
 * platform floor, record the result durably, and only then swap it in. The
 * state directory keeps the applied set with the exact bytes of every pack
 * in it (re-applied from those bytes at start), each generation's compiled
 * policy (so events resolve to the controls of the policy that decided
 * them) and a journal the daemon copies into the audit log.
 */
#ifndef GG_APPLY_H
#define GG_APPLY_H

#include "compile.h"
#include "config.h"
#include "policy.h"

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

/*
 * The applied set, <state_dir>/applied.json (docs/refs-and-signing.md):
 *   {"format":2, "generation":N, "refs":[{"ref":R, "mode":M,
 *    "packs":[{"ref":"name@version", "sha256":HEX}, ...]}, ...]}
 * Each pack's bytes are <state_dir>/packs/sha256/<HEX> (+ .sig). Format 1
 * (older govgate) has refs and modes only.
 */
struct gg_applied_pack {
	char *ref; /* name@version the document declares */
	char sha256[65];
};

struct gg_applied_ref {
	char *ref; /* as given; a file path made absolute */
	enum gg_action mode;
	bool pinned; /* packs is what ref resolved to when applied */
	struct gg_applied_pack *packs; /* a pack: itself; a bundle: its members */
	size_t n_packs;
};

struct gg_applied {
	int format; /* 2; 1: refs only, saved by an older govgate */
	__u64 generation;
	struct gg_applied_ref *refs;
	size_t n;
};

#define GG_APPLIED_FORMAT 2

/* Reads applied.json: -ENOENT (no message) if there is none; a file that
 * is not JSON is an error naming it with jansson's line:column. */
int gg_applied_read(const struct gg_config *cfg, struct gg_applied *out, struct gg_err *err);
/* The same, of a set already parsed (the daemon's reply to an apply:
 * origin names it in errors). */
int gg_applied_parse(const char *origin, const json_t *doc, struct gg_applied *out,
		     struct gg_err *err);
void gg_applied_free(struct gg_applied *a);
/* a as applied.json records it. */
json_t *gg_applied_json(const struct gg_applied *a);

/* Builds and swaps in refs, each resolved now, replacing the applied set.
 * The new set and its packs' bytes are on disk before the swap; if the swap
 * fails the old applied.json is put back. On error the running policy is
 * unchanged (the message says so if applied.json could not be put back).
 * Success and failure are journalled; who names the caller. */
int gg_policy_apply(const struct gg_config *cfg, const struct gg_pack_ref *refs, size_t n,
		    const char *who, __u64 *generation, struct gg_err *err);

enum gg_apply_op {
	GG_APPLY_SET, /* refs replace the applied set */
	GG_APPLY_ADD, /* refs are added (or re-resolved with a new mode) */
	GG_APPLY_REMOVE, /* refs are dropped */
};

/* govgate apply: as gg_policy_apply, but the current set is read under the
 * apply lock (so two edits cannot lose each other's change), and for
 * ADD/REMOVE the refs not named keep exactly the packs they were applied
 * with. *now (if not NULL) receives the set that was applied. */
int gg_policy_edit(const struct gg_config *cfg, enum gg_apply_op op, const char *const *refs,
		   size_t n, enum gg_action mode, const char *who, __u64 *generation,
		   struct gg_applied *now, struct gg_err *err);

/* At start: re-applies the applied set from the stored bytes, each re-hashed
 * and its signature checked as for a sha256: ref. A stored copy that is
 * missing or does not match is an error (nothing is resolved again). A
 * format 1 set is resolved again once (said on stderr) and saved in
 * format 2. -ENOENT (no message) when no set was saved. */
int gg_policy_restore(const struct gg_config *cfg, const char *who, __u64 *generation,
		      struct gg_err *err);

/* The applied set's refs and modes (either format); -ENOENT if none. */
int gg_applied_load(const struct gg_config *cfg, struct gg_pack_ref **refs, size_t *n,
		    struct gg_err *err);
void gg_pack_refs_free(struct gg_pack_ref *refs, size_t n);

/* A process that reads generations' records (the daemon) can have each
 * apply keep the record it wrote: gg_generation_take(g) then hands it over
 * once (the caller frees it), NULL if g is not the last applied. */
void gg_generation_keep(bool on);
struct gg_compiled *gg_generation_take(__u64 generation);

/* A process that answers applies (the daemon) can have each make the
 * generation's record and applied.json durable after its reply (the
 * journal's record, durable before it, stands for both until then):
 * gg_apply_sync then fsyncs the files the last apply wrote (0 if none is
 * pending), called right after the apply; each apply also does so first,
 * so they become durable in order. gg_apply_sync_now says a failure on
 * stderr. */
void gg_apply_sync_later(bool on);
int gg_apply_sync(struct gg_err *err);
void gg_apply_sync_now(void);

/* After a crash of the machine: puts back applied.json from the journal's
 * last policy_applied record (which carries the set) when applied.json is
 * unreadable or names an older generation; a missing applied.json stays
 * missing. Each process's first apply lock of a state directory does this
 * (the daemon's start). 0, or an error writing applied.json. */
int gg_applied_recover(const struct gg_config *cfg, struct gg_err *err);

/* The compiled policy of a generation, from the state directory. */
int gg_generation_load(const struct gg_config *cfg, __u64 generation, struct gg_compiled **out,
		       struct gg_err *err);

/* Path of the apply journal (JSON lines). */
void gg_journal_path(const struct gg_config *cfg, char *buf, size_t len);

/*
 * The daemon's loop, between events: empties the slot the last apply left
 * stale (gg_policy_stale_clear), GG_STALE_CHUNK keys at a time, holding
 * the apply lock from the first chunk to the last so that no other apply
 * writes the slot meanwhile; an apply in this process finishes it first.
 * Returns how long the loop may wait for events (at most timeout_ms).
 */
#define GG_STALE_CHUNK 16384
int gg_apply_idle(const struct gg_config *cfg, int timeout_ms);

/* The kernel side of an apply: gg_policy_read, gg_policy_swap and the
 * stale slot's clear. Unit tests put fakes here; nothing else changes it. */
struct gg_apply_kernel {
	int (*read)(const char *pin_dir, struct gg_policy_status *st, struct gg_err *err);
	int (*swap)(const char *pin_dir, const struct gg_compiled *c, __u64 generation,
		    struct gg_err *err);
	bool (*stale_pending)(void);
	int (*stale_wait_ms)(void);
	int (*stale_clear)(size_t max_keys, struct gg_err *err);
};
extern struct gg_apply_kernel gg_apply_kernel;

#endif
