/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The audit log: JSON lines, hash-chained, with signed checkpoints,
 * rotation and retention (docs/audit.md).
 */
#ifndef GG_AUDIT_H
#define GG_AUDIT_H

#include <jansson.h>

#include "crypto.h"
#include "common.h"

/* Same defaults as the configuration file (config.c). */
#define GG_AUDIT_PATH_DEFAULT "/var/log/govgate/audit.jsonl"
#define GG_AUDIT_KEY_DEFAULT "/var/lib/govgate/audit-key.pem"

/* A checkpoint the writer put in the file: what an external anchor of the
 * log (the journal) keeps. `audit verify --anchor SEQ:HEAD` checks it. */
struct gg_checkpoint_info {
	unsigned long long seq; /* the checkpoint record's own seq */
	unsigned long long first, last; /* covers */
	char head[65]; /* its "head" (= its "prev"): hash of line seq - 1 */
	char hash[65]; /* SHA-256 of the checkpoint line itself (= "prev" of seq + 1) */
	char key[65]; /* fingerprint of the signing key */
};

struct gg_audit_opts {
	const char *path; /* active file, e.g. /var/log/govgate/audit.jsonl */
	const char *key_path; /* Ed25519 private key PEM; generated if absent */
	const char *pub_path; /* exported public key; NULL = key_path + ".pub" */
	/* A key held elsewhere (the per-boot key): used instead of key_path,
	 * which is then neither read nor written (the caller keeps its ref). */
	EVP_PKEY *key;
	unsigned checkpoint_every; /* records between checkpoints (default 256) */
	unsigned checkpoint_secs; /* or seconds (default 10) */
	unsigned long long rotate_bytes; /* 0 = default 64 MiB */
	unsigned rotate_secs; /* 0 = default 1 day */
	unsigned retention_days; /* 0 = default 7 */
	/* Called after each checkpoint has reached the file (fsynced). */
	void (*on_checkpoint)(const struct gg_checkpoint_info *ck, void *ctx);
	void *on_checkpoint_ctx;
	/* Called with a log file's identity when it becomes the active file
	 * (kept: true) and when it stops being it, rotated (false); ctx is
	 * on_checkpoint_ctx. The daemon guards the active file while locked. */
	void (*on_file)(dev_t dev, ino_t ino, bool kept, void *ctx);
};

struct gg_audit;

/* Opens (or creates) the log and continues its chain from the last intact
 * record (of the active file, or of the newest rotated file when the active
 * one holds none); a torn tail is left in place and a "chain_resumed"
 * record is appended (and fsynced) before this returns. Generates the key
 * pair when key_path does not exist; exports the public key when the
 * public file is missing. Applies retention. */
int gg_audit_open(const struct gg_audit_opts *opts, struct gg_audit **out, struct gg_err *err);

/* Appends one record. The writer sets "ts" (if absent), "seq" and "prev"
 * (hash of the previous line); the caller sets everything else ("event",
 * "gate", ...) and must not set seq, prev or sig, nor write the writer's
 * own events (checkpoint, log_rotated, chain_resumed). Does not take
 * ownership of rec and does not modify it.
 *
 * The record is buffered. Before it, the log is rotated if the active file
 * reached rotate_bytes; after it, a checkpoint is written (and fsynced) if
 * checkpoint_every records are unsealed.
 *
 * Returns 0 when the record was accepted (it will be written, in order,
 * even if a write fails now and succeeds on a later flush). A negative
 * return means it was NOT accepted: -EINVAL (bad record), -ENOMEM, or
 * -ENOBUFS (too many unwritten bytes: the disk keeps failing). Write,
 * fsync and rotation failures during append are reported by the next
 * gg_audit_flush or gg_audit_tick. *seq (if seq is not NULL) gets the
 * record's sequence number once it is accepted. */
int gg_audit_append(struct gg_audit *a, json_t *rec, unsigned long long *seq,
		    struct gg_err *err);

/* gg_audit_append for a record the caller rendered (gg_event_render): ts
 * is its "ts" (plain ASCII), members its members after "seq", each with a
 * leading comma, already in the writer's key order. */
int gg_audit_append_rendered(struct gg_audit *a, const char *ts, const char *members, size_t len,
			     unsigned long long *seq, struct gg_err *err);

/* Writes buffered records; fsync when sync is true. Also returns (once) a
 * failure deferred by an earlier append. */
int gg_audit_flush(struct gg_audit *a, bool sync, struct gg_err *err);

/* Periodic work, about once a second: flushes, checkpoints by time
 * (checkpoint_secs with records unsealed), rotates by size or age. */
int gg_audit_tick(struct gg_audit *a, struct gg_err *err);

/* Writes a checkpoint now if any record is unsealed, then fsyncs. Call it
 * before gg_audit_close when the outcome matters (close cannot report). */
int gg_audit_checkpoint(struct gg_audit *a, struct gg_err *err);

/* seq of the last record written (0 for a brand-new, empty log). */
unsigned long long gg_audit_last_seq(const struct gg_audit *a);

/* An Ed25519 signature (128 hex digits) by the log's key over buf, and
 * that key's fingerprint; verify checks one against this log's key. */
int gg_audit_sign_blob(struct gg_audit *a, const void *buf, size_t len, char hex[129],
		       char fp[65], struct gg_err *err);
bool gg_audit_verify_blob(const struct gg_audit *a, const void *buf, size_t len,
			  const char *hex, const char *fp);

/*
 * Signing keys that never touch a disk (audit.signing_key "per-boot"). A
 * new key is announced by an "audit_key" record: its fingerprint ("key"),
 * its raw public key in hex ("public_key") and, when a previous key is
 * known, that key's fingerprint ("previous") and its Ed25519 signature
 * ("previous_sig", hex) over gg_audit_key_message: the verifier trusts a
 * key it was given, or one a trusted key announced.
 */
int gg_ed25519_generate(EVP_PKEY **key, unsigned char seed[32], struct gg_err *err);
int gg_ed25519_from_seed(const unsigned char seed[32], EVP_PKEY **key, struct gg_err *err);
/* The raw 32-byte public key, 64 lower-case hex digits. */
int gg_ed25519_public_hex(EVP_PKEY *key, char hex[65]);
/* From 64 hex digits (either case); NULL if malformed. */
EVP_PKEY *gg_ed25519_from_public_hex(const char *hex);
int gg_audit_key_message(const char *fp, const char *pub_hex, char *buf, size_t len);
/* The announcement of key, signed by prev when not NULL. */
json_t *gg_audit_key_record(EVP_PKEY *key, EVP_PKEY *prev, unsigned seq, struct gg_err *err);

/* Writes a final checkpoint, fsyncs and frees. */
void gg_audit_close(struct gg_audit *a);

/*
 * Reading and verification.
 */

/* Parses one line (without its newline): an object with "seq" (integer >=
 * 1), "prev" (64 lower-case hex) and "event" (string), no duplicate keys.
 * NULL when the line is not such a record. */
json_t *gg_audit_parse_line(const char *p, size_t len);

/* Length of the valid UTF-8 sequence at p (jansson's rules), 0 if none;
 * whether all n bytes of s are valid UTF-8. */
size_t gg_utf8_seq(const unsigned char *p, size_t n);
bool gg_utf8_valid(const char *s, size_t n);

/* The files of a log, oldest first: the rotated "<active>.<UTC>.<seq>"
 * siblings ordered by seq, then the active file if it exists. */
int gg_audit_log_files(const char *active, char ***files, size_t *n, struct gg_err *err);
void gg_audit_files_free(char **files, size_t n);

/* Called for every line that parses as a record, in verification order
 * (file by file, ascending first seq), also after a problem was found. A
 * negative return aborts the verification with that error. */
typedef int (*gg_audit_record_fn)(json_t *rec, const char *file, unsigned long long line,
				  void *ctx);

/* A checkpoint published outside the log: its seq and head. */
struct gg_audit_anchor {
	unsigned long long seq;
	char head[65]; /* lower-case hex */
};

/* "SEQ:HEAD" (decimal seq >= 1, 64 hex digits; upper case accepted). */
int gg_audit_anchor_parse(const char *s, struct gg_audit_anchor *a);

struct gg_audit_verify_opts {
	EVP_PKEY *pub; /* checkpoint key; NULL: signatures are not checked */
	/* More trusted keys (per-boot keys published outside the guest); the
	 * first stands for pub when pub is NULL. */
	EVP_PKEY *const *more_keys;
	size_t n_more_keys;
	/* Without pub: the caller asked for a chain-only check, so an intact
	 * chain counts as "intact" (else it is "unverified-no-key"). */
	bool chain_only;
	const struct gg_audit_anchor *anchors; /* each must be in the log */
	size_t n_anchors;
};

/* Verifies files (ordered by their first seq, as the verifier does not
 * trust the order given) and fills *result (docs/audit.md "verify --json":
 * "status", "intact", "chain_intact", "signatures_checked", counts,
 * "unsealed_tail", "torn", "anchors", "problem"). "intact" is true only
 * when no problem was found AND the signatures were checked (or
 * chain_only was asked for). Returns 0 when the files could be read
 * (whatever the verdict), a negative errno on I/O errors. */
int gg_audit_verify_ex(char *const *files, size_t n, const struct gg_audit_verify_opts *o,
		       gg_audit_record_fn fn, void *ctx, json_t **result, struct gg_err *err);
/* gg_audit_verify_ex with only a key (pub NULL: "unverified-no-key"). */
int gg_audit_verify(char *const *files, size_t n, EVP_PKEY *pub, gg_audit_record_fn fn,
		    void *ctx, json_t **result, struct gg_err *err);

/* Prints a verification result as text. */
void gg_audit_verify_print(FILE *f, const json_t *result);

/* RFC 3339 / ISO 8601 ("2025-01-31", "2025-01-31T10:00", "...:05.25Z",
 * "...+02:00"; no zone = UTC) to microseconds since the epoch. */
int gg_time_parse_us(const char *s, long long *us);
/* gg_time_format_us (the inverse) is in common.h. */

/* Prints the last `lines` records of path (raw: the lines as written),
 * then with follow keeps printing new ones, across rotations, until the
 * process is killed. */
int gg_audit_tail(const char *path, long lines, bool raw, bool follow, struct gg_err *err);

/*
 * Compliance report (report.c).
 */
struct gg_report_opts {
	bool has_start, has_end;
	long long start_us, end_us; /* window [start, end) */
	EVP_PKEY *pub; /* checkpoint key, or NULL (signatures not checked) */
	bool chain_only; /* no key on purpose: report a chain-only check */
	const struct gg_audit_anchor *anchors;
	size_t n_anchors;
};

/* Verifies files and aggregates them over the window into *report
 * (docs/audit.md "report --json"). The report is built whatever the
 * verdict: its "verified" says whether it may be trusted, and is never
 * true unless the signatures were checked ("signatures_checked"). */
int gg_report_build(char *const *files, size_t n, const struct gg_report_opts *o,
		    json_t **report, struct gg_err *err);
void gg_report_print(FILE *f, const json_t *report);

#endif
