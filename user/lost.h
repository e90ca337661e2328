/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Accounting for evidence that did not reach the audit log, kept across
 * daemon restarts: what the drop counters showed when the daemon last
 * reported them, records the audit writer refused and that no events_lost
 * record has counted yet, and how far the apply journal was copied. All of
 * it lives in <state_dir>/audit-state.json, replaced atomically.
 */
#ifndef GG_LOST_H
#define GG_LOST_H

#include <jansson.h>

#include "common.h"

#define GG_DSTATE_FILE "audit-state.json"

/* Records the writer refused, by gate; records of no gate (lifecycle,
 * policy) in the last bucket. */
#define GG_LOST_OTHER GG_GATE_COUNT
#define GG_LOST_BUCKETS (GG_GATE_COUNT + 1)

struct gg_dstate {
	bool loaded; /* read from the state directory */
	/* Ring-buffer drops: the counters map the totals are of (boot id and
	 * map id: a new map starts at zero), the totals already in an
	 * events_lost record, and when they were saved. */
	char counters[96];
	__u64 reported[GG_GATE_COUNT];
	char saved_ts[40];
	/* Refused by the audit writer, not yet in an events_lost record. */
	__u64 unwritten[GG_LOST_BUCKETS];
	char unwritten_since[40], unwritten_until[40];
	char unwritten_error[256];
	/* The apply journal: the next byte to copy, of which file. */
	bool have_journal;
	__u64 journal_off, journal_dev, journal_ino;
	/* Reconciliation (gg_recon_*): of the records the counters map says
	 * the gates wrote, those accounted for (received, or reported in an
	 * events_lost record of reason "unreceived"), and those reported. */
	bool have_accounted;
	__u64 accounted[GG_GATE_COUNT];
	__u64 unreceived[GG_GATE_COUNT];
	/* Ed25519 signature by the audit key over gg_dstate_message, hex, and
	 * the key's fingerprint: a state file the daemon did not write
	 * cannot raise a baseline (gg_recon_baseline). */
	char sig[129];
	char sig_key[65];
};

/* Loads <state_dir>/audit-state.json: 0, -ENOENT (none saved) or -EINVAL
 * (unreadable: *st is then as if none was saved). */
int gg_dstate_load(const char *state_dir, struct gg_dstate *st, struct gg_err *err);

/* Writes it atomically (temporary file, fsync, rename). */
int gg_dstate_save(const char *state_dir, const struct gg_dstate *st, struct gg_err *err);

/* What the basis of an unreported-drops figure is. */
enum gg_drops_basis {
	GG_DROPS_UNKNOWN, /* nothing saved about these counters: out is 0 */
	GG_DROPS_SAVED, /* the same map: out = now - reported */
	GG_DROPS_ZERO, /* a map created since (or this run's): out = now */
};

/* Drops the counters show that no events_lost record reported yet.
 * identity names the counters map now pinned (gg_counters_identity);
 * fresh_map: this run created it. A counter below the saved total cannot
 * be the same map's: all of it is unreported. */
enum gg_drops_basis gg_drops_unreported(const struct gg_dstate *st, const char *identity,
					bool fresh_map, const __u64 now[GG_GATE_COUNT],
					__u64 out[GG_GATE_COUNT]);

/* Where copying the apply journal resumes. exists/dev/ino/size describe
 * the journal now. With a saved offset of the same file that is at least
 * that long: the saved offset. A shorter or another file (truncated,
 * rotated, replaced): 0, and *why says which (a saved offset of 0: 0, with
 * no why). No offset saved: the file's end when it exists (a daemon from
 * before offsets were saved copied up to there), else 0. */
__u64 gg_journal_resume(const struct gg_dstate *st, bool exists, __u64 dev, __u64 ino,
			__u64 size, const char **why);

/* Identity of the pinned counters map: "<boot id>:<map id>" ("" if it
 * cannot be read). */
void gg_counters_identity(int fd, char *buf, size_t len);

/* The dropped counter of every gate (sum over CPUs) from the counters map
 * fd: one per-CPU lookup per gate. */
int gg_drops_read(int fd, __u64 out[GG_GATE_COUNT], struct gg_err *err);

/*
 * Reconciliation (issue 13, attack 6). Every denied or observed decision
 * is counted before its record is reserved, and a failed reservation is
 * counted as a drop, so the gates wrote denied + observed - dropped
 * records ("written"). Those the daemon never received (its consumer
 * position was moved, a record was skipped, anything else) are the
 * difference between written and accounted: the daemon reports them as
 * events_lost records (reason "unreceived") and counts them accounted.
 */

/* Records written per gate (sums over CPUs) from the counters map fd. */
int gg_written_read(int fd, __u64 out[GG_GATE_COUNT], struct gg_err *err);

/* written - accounted, or 0: accounted may run ahead of a counter read
 * earlier (records counted after that read and already received). */
static inline __u64 gg_recon_missing(__u64 written, __u64 accounted)
{
	return written > accounted ? written - accounted : 0;
}

/* Where a start's accounted figures come from. Every basis but SAVED
 * starts at 0, which can only count received records as lost again
 * (over-counting), never a lost one as received. */
enum gg_recon_basis {
	GG_RECON_SAVED, /* the saved figures of this very counters map */
	GG_RECON_NONE, /* nothing saved (first start, deleted, older daemon) */
	GG_RECON_OTHER_MAP, /* saved for another map or boot */
	GG_RECON_UNTRUSTED, /* the saved figures are not signed by the audit key */
};

/* The accounted figures a start begins with, in base: the saved ones when
 * the state file is of this counters map (identity, gg_counters_identity)
 * and trusted (its signature verified, gg_dstate_message), else 0 (a map
 * this run created starts at 0 anyway). A saved figure above what the
 * counters show now cannot be this map's (a reset): that gate starts at 0. */
enum gg_recon_basis gg_recon_baseline(const struct gg_dstate *st, bool trusted,
				      const char *identity, const __u64 written[GG_GATE_COUNT],
				      __u64 base[GG_GATE_COUNT]);
const char *gg_recon_basis_name(enum gg_recon_basis b);

/* The bytes the state file's signature covers: the counters identity and
 * every figure a tampered file could use to hide a loss (accounted,
 * unreceived, drops reported). */
int gg_dstate_message(const struct gg_dstate *st, char *buf, size_t len);

#endif
