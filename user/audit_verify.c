// SPDX-License-Identifier: GPL-2.0
/*
 * `govgate audit verify`: walks the given files as one chain and reports
 * the first record that was altered, removed, reordered or inserted
 * (docs/audit.md). Files are mapped and indexed by line so the classifier
 * can look ahead to tell a swap from a removal.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "audit.h"
#include "sign.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define MAX_ANCHORS 64
#define MAX_KEYS 64 /* trusted checkpoint keys: given, or announced by one */

enum anchor_state { ANCHOR_NOT_REACHED, ANCHOR_MATCHED, ANCHOR_MISMATCH, ANCHOR_MISSING,
		    ANCHOR_BEFORE_START };

struct vfile {
	const char *path;
	char *data;
	size_t size;
	long long first_seq; /* LLONG_MAX: holds no record */
	size_t given; /* position on the command line (stable sort) */
	unsigned long long lines, records, first, last;
};

struct vline {
	const char *p;
	size_t len;
	size_t file;
	unsigned long long no; /* 1-based, in its file */
};

/* What the chain needs of one parsed line. */
struct lrec {
	unsigned long long seq;
	char prev[65];
	char hash[65];
	char event[32];
};

struct vctx {
	struct vfile *files;
	size_t nfiles;
	struct vline *lines;
	size_t n, cap;
	EVP_PKEY *pub;
	char pub_fp[65];
	/* Checkpoint keys trusted: pub, the others given, and those a trusted
	 * key announced (audit_key records); owned: freed at the end. */
	struct {
		EVP_PKEY *key;
		char fp[65];
		bool owned;
	} trusted[MAX_KEYS];
	size_t n_trusted;
	json_t *announced; /* fingerprints trusted by announcement */
	bool chain_only;
	const struct gg_audit_anchor *anchors;
	size_t n_anchors;
	enum anchor_state *anchor_st;
	/* chain state: the last accepted line k */
	bool have;
	size_t k;
	size_t first_i; /* line of the first record */
	unsigned long long expect; /* seq expected next */
	char head[65]; /* hash of line k */
	char k_prev[65]; /* prev recorded by line k */
	bool genesis;
	bool have_ckpt;
	unsigned long long last_ckpt;
	unsigned long long records, checkpoints, unsealed, first_seq;
	/* The chain so far ends with log_rotated (+ its checkpoint) at rot_i:
	 * the file it names next must follow. */
	bool rot_pending;
	size_t rot_i;
	unsigned long long rot_seq;
	char rot_next[256];
	json_t *torn, *keys, *problem;
};

static bool lrec_of(const struct vline *l, json_t *rec, struct lrec *r)
{
	if (!rec)
		return false;
	r->seq = gg_json_int(rec, "seq");
	snprintf(r->prev, sizeof(r->prev), "%s", gg_json_str(rec, "prev", NULL));
	snprintf(r->event, sizeof(r->event), "%s", gg_json_str(rec, "event", NULL));
	gg_sha256_hex(l->p, l->len, r->hash);
	return true;
}

/* Parses line i (if it exists) for the classifier. */
static bool peek(struct vctx *v, size_t i, struct lrec *r)
{
	json_t *rec;
	bool ok;

	if (i >= v->n)
		return false;
	rec = gg_audit_parse_line(v->lines[i].p, v->lines[i].len);
	ok = lrec_of(&v->lines[i], rec, r);
	json_decref(rec);
	return ok;
}

static const char *fname(struct vctx *v, size_t i)
{
	return v->files[v->lines[i].file].path;
}

/* Records the first problem only: later checks may still run. line 0: the
 * file as a whole. */
static void vproblem(struct vctx *v, const char *kind, const char *file,
		     unsigned long long line, long long seq, const char *expected,
		     const char *found, const char *fmt, va_list ap)
{
	char detail[1024];

	if (v->problem)
		return;
	vsnprintf(detail, sizeof(detail), fmt, ap);
	v->problem = json_pack("{s:s, s:s, s:I, s:o, s:s, s:s, s:s}", "kind", kind, "file",
			       file, "line", (json_int_t)line, "seq",
			       seq > 0 ? json_integer(seq) : json_null(), "expected", expected,
			       "found", found, "detail", detail);
}

static void problem(struct vctx *v, const char *kind, size_t i, long long seq,
		    const char *expected, const char *found, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void problem(struct vctx *v, const char *kind, size_t i, long long seq,
		    const char *expected, const char *found, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(v, kind, fname(v, i), v->lines[i].no, seq, expected, found, fmt, ap);
	va_end(ap);
}

static void file_problem(struct vctx *v, const char *kind, size_t fi, const char *expected,
			 const char *found, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void file_problem(struct vctx *v, const char *kind, size_t fi, const char *expected,
			 const char *found, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(v, kind, v->files[fi].path, 0, -1, expected, found, fmt, ap);
	va_end(ap);
}

static char *where(struct vctx *v, size_t i, char *buf, size_t size)
{
	snprintf(buf, size, "%s:%llu", fname(v, i), v->lines[i].no);
	return buf;
}

static size_t find_seq(struct vctx *v, size_t from, unsigned long long seq)
{
	struct lrec r;

	for (size_t m = from; m < v->n; m++)
		if (peek(v, m, &r) && r.seq == seq)
			return m;
	return SIZE_MAX;
}

/* classify, r->seq == v->expect: right seq, wrong prev. If the next line
 * chains to line i, line k's bytes changed; otherwise line i's own prev did. */
static void classify_prev(struct vctx *v, size_t i, const struct lrec *r, const struct lrec *nx,
			  bool has_nx, const char *exp, const char *fnd)
{
	char exp2[160], fnd2[160], w1[600], w2[600];
	unsigned long long e = v->expect;

	if (has_nx && strcmp(nx->prev, r->hash)) {
		problem(v, "altered", i, r->seq, exp, fnd,
			"prev does not match %s, and %s does not chain to it either",
			where(v, v->k, w1, sizeof(w1)), where(v, i + 1, w2, sizeof(w2)));
		return;
	}
	snprintf(exp2, sizeof(exp2), "hash %s (the prev recorded by seq %llu)", r->prev, r->seq);
	snprintf(fnd2, sizeof(fnd2), "hash %s", v->head);
	problem(v, "altered", v->k, e - 1, exp2, fnd2,
		"record changed after it was written: its hash no longer matches the "
		"prev of the next record (%s)", where(v, i, w1, sizeof(w1)));
}

/* classify, r->seq > v->expect: later records first, a changed seq, or
 * records removed. */
static void classify_ahead(struct vctx *v, size_t i, const struct lrec *r, const char *exp,
			   const char *fnd)
{
	unsigned long long e = v->expect;
	char w1[600], w2[600];
	size_t m;

	m = find_seq(v, i + 1, e);
	if (m != SIZE_MAX) {
		problem(v, "reordered", i, r->seq, exp, fnd,
			"records out of order: seq %llu comes before seq %llu, which is at %s",
			r->seq, e, where(v, m, w1, sizeof(w1)));
		return;
	}
	if (!strcmp(r->prev, v->head)) {
		problem(v, "altered", i, r->seq, exp, fnd,
			"seq changed: the record chains to %s (seq %llu)",
			where(v, v->k, w1, sizeof(w1)), e - 1);
		return;
	}
	if (r->seq == e + 1)
		snprintf(w2, sizeof(w2), "seq %llu", e);
	else
		snprintf(w2, sizeof(w2), "seq %llu..%llu", e, r->seq - 1);
	problem(v, "removed", i, r->seq, exp, fnd, "%s missing before this line (after %s)", w2,
		where(v, v->k, w1, sizeof(w1)));
}

/* classify, r->seq < v->expect: a record claims a place already taken. */
static void classify_behind(struct vctx *v, size_t i, const struct lrec *r,
			    const struct lrec *nx, bool has_nx, const char *exp, const char *fnd)
{
	char exp2[160], fnd2[160], w1[600], w2[600];
	unsigned long long e = v->expect;

	if (r->seq == e - 1 && !strcmp(r->prev, v->k_prev) && has_nx && nx->seq == e &&
	    !strcmp(nx->prev, r->hash)) {
		/* Two lines claim seq e-1 after the same record and the chain goes
		 * on from line i: line k is the intruder. */
		snprintf(exp2, sizeof(exp2), "seq %llu once", e - 1);
		snprintf(fnd2, sizeof(fnd2), "seq %llu twice (lines %llu and %llu)", e - 1,
			 v->lines[v->k].no, v->lines[i].no);
		problem(v, "inserted", v->k, e - 1, exp2, fnd2,
			"record not part of the chain: the next record (%s) chains to %s instead",
			where(v, i + 1, w1, sizeof(w1)), where(v, i, w2, sizeof(w2)));
		return;
	}
	problem(v, "inserted", i, r->seq, exp, fnd,
		"seq %llu appears after seq %llu (%s): a record was inserted or repeated", r->seq,
		e - 1, where(v, v->k, w1, sizeof(w1)));
}

/* Line i (record r) does not continue the chain at line k: name the first
 * record that was tampered with, and how. */
static void classify(struct vctx *v, size_t i, const struct lrec *r)
{
	char exp[160], fnd[160], w1[600], w2[600];
	struct lrec nx;
	bool has_nx = peek(v, i + 1, &nx);
	unsigned long long e = v->expect;

	snprintf(exp, sizeof(exp), "seq %llu, prev %s", e, v->head);
	snprintf(fnd, sizeof(fnd), "seq %llu, prev %s", r->seq, r->prev);
	/* The next line continues from k and line i chains to it: swapped. */
	if (has_nx && nx.seq == e && !strcmp(nx.prev, v->head) && !strcmp(r->prev, nx.hash)) {
		problem(v, "reordered", i, r->seq, exp, fnd,
			"records swapped: seq %llu comes before seq %llu (%s)", r->seq, e,
			where(v, i + 1, w1, sizeof(w1)));
		return;
	}
	/* The next line continues from k: line i is not part of the chain. */
	if (has_nx && nx.seq == e && !strcmp(nx.prev, v->head)) {
		problem(v, "inserted", i, r->seq, exp, fnd,
			"record not part of the chain: %s (seq %llu) follows %s directly",
			where(v, i + 1, w1, sizeof(w1)), e, where(v, v->k, w2, sizeof(w2)));
		return;
	}
	if (r->seq == e)
		classify_prev(v, i, r, &nx, has_nx, exp, fnd);
	else if (r->seq > e)
		classify_ahead(v, i, r, exp, fnd);
	else
		classify_behind(v, i, r, &nx, has_nx, exp, fnd);
}

/* A checkpoint's "covers" [a, b]: from the record after the last
 * checkpoint (or the first given) to the one before it. false: a problem
 * was reported. */
static bool check_covers(struct vctx *v, size_t i, json_t *rec, const struct lrec *r,
			 unsigned long long *ap, unsigned long long *bp)
{
	const json_t *cov = json_object_get(rec, "covers");
	unsigned long long a, b, want_a;
	char exp[160], fnd[160], w[600];
	bool shape;

	*ap = a = json_integer_value(json_array_get(cov, 0));
	*bp = b = json_integer_value(json_array_get(cov, 1));
	/* The first checkpoint seals from the first record given: a log, or a
	 * rotated file, starts right after a checkpoint (or at genesis). */
	want_a = v->have_ckpt ? v->last_ckpt + 1 : v->first_seq;
	shape = json_array_size(cov) == 2 && json_is_integer(json_array_get(cov, 0)) &&
		json_is_integer(json_array_get(cov, 1)) && b == r->seq - 1 && a >= 1 && a <= b;
	if (shape && !v->have_ckpt && !v->genesis && a < want_a) {
		/* It seals records before the first one present: they were cut
		 * from the start of the first file. */
		snprintf(exp, sizeof(exp), "seq %llu (the first record checkpoint seq %llu seals)",
			 a, r->seq);
		snprintf(fnd, sizeof(fnd), "seq %llu", v->first_seq);
		if (a + 1 == v->first_seq)
			snprintf(w, sizeof(w), "seq %llu", a);
		else
			snprintf(w, sizeof(w), "seq %llu..%llu", a, v->first_seq - 1);
		problem(v, "removed", v->first_i, v->first_seq, exp, fnd,
			"%s missing before the first record: the checkpoint at %s:%llu seals "
			"[%llu,%llu]", w, fname(v, i), v->lines[i].no, a, b);
		return false;
	}
	if (!shape || a != want_a) {
		snprintf(exp, sizeof(exp), "covers [%llu,%llu]", want_a ? want_a : a, r->seq - 1);
		snprintf(fnd, sizeof(fnd), "covers [%llu,%llu]", a, b);
		problem(v, "altered", i, r->seq, exp, fnd, "checkpoint covers the wrong records");
		return false;
	}
	return true;
}

/* The checkpoint at line i is signed by key: the signed bytes are the
 * line without its last member, ,"sig":"…". */
static void check_signature(struct vctx *v, EVP_PKEY *key, size_t i, const struct lrec *r,
			    const char *sig, unsigned long long a, unsigned long long b)
{
	static const char sig_key[] = ",\"sig\":\"";
	const struct vline *l = &v->lines[i];
	unsigned char raw[72];
	const char *pos = NULL;
	char *signed_buf;

	for (const char *p = l->p; (p = memmem(p, l->len - (p - l->p), sig_key,
					       sizeof(sig_key) - 1)); p++)
		pos = p;
	if (!pos || strlen(sig) != 88 || l->len < 2 ||
	    (size_t)(l->p + l->len - pos) != sizeof(sig_key) - 1 + 88 + 2 ||
	    memcmp(pos + sizeof(sig_key) - 1, sig, 88) || memcmp(l->p + l->len - 2, "\"}", 2) ||
	    EVP_DecodeBlock(raw, (const unsigned char *)sig, 88) != 66) {
		problem(v, "signature", i, r->seq, "\"sig\" last, base64 of 64 bytes", sig,
			"malformed checkpoint signature");
		return;
	}
	signed_buf = malloc(pos - l->p + 1);
	if (!signed_buf) {
		problem(v, "signature", i, r->seq, "", "", "out of memory");
		return;
	}
	memcpy(signed_buf, l->p, pos - l->p);
	signed_buf[pos - l->p] = '}';
	if (gg_verify_buf(key, signed_buf, pos - l->p + 1, raw))
		problem(v, "signature", i, r->seq, "a valid Ed25519 signature", "invalid",
			"checkpoint signature does not verify: the checkpoint, or records it "
			"seals (seq %llu..%llu) with their chain recomputed, were altered", a, b);
	free(signed_buf);
}

static void check_checkpoint(struct vctx *v, size_t i, json_t *rec, const struct lrec *r)
{
	const char *head = gg_json_str(rec, "head", NULL);
	const char *key = gg_json_str(rec, "key", NULL);
	const char *sig = gg_json_str(rec, "sig", NULL);
	unsigned long long a, b;

	if (!check_covers(v, i, rec, r, &a, &b))
		return;
	if (!head || strcmp(head, r->prev)) {
		problem(v, "altered", i, r->seq, r->prev, head ? head : "(none)",
			"checkpoint head differs from its prev");
		return;
	}
	if (!key || !sig) {
		problem(v, "altered", i, r->seq, "key and sig", "(missing)",
			"checkpoint without key or signature");
		return;
	}
	if (!json_array_size(v->keys) ||
	    strcmp(json_string_value(json_array_get(v->keys, json_array_size(v->keys) - 1)), key))
		json_array_append_new(v->keys, json_string(key));
	if (!v->pub)
		return;
	for (size_t t = 0; t < v->n_trusted; t++)
		if (!strcmp(key, v->trusted[t].fp)) {
			check_signature(v, v->trusted[t].key, i, r, sig, a, b);
			return;
		}
	problem(v, "signature", i, r->seq, v->pub_fp, key,
		v->n_trusted > 1 ? "checkpoint signed by a key neither given nor announced by a "
				   "trusted key" :
				   "checkpoint signed by another key than the one given");
}

static int trust_key(struct vctx *v, EVP_PKEY *key, bool owned, struct gg_err *err)
{
	if (v->n_trusted >= MAX_KEYS)
		return gg_errf(err, -E2BIG, "verify: at most %d keys", MAX_KEYS);
	v->trusted[v->n_trusted].key = key;
	v->trusted[v->n_trusted].owned = owned;
	return gg_key_fingerprint(key, v->trusted[v->n_trusted++].fp, err);
}

/* An audit_key record: a new key, trusted from here on when a trusted key
 * signed its announcement. A link that does not verify is an alteration:
 * only the holder of the previous key can make one. */
static void check_key_link(struct vctx *v, size_t i, json_t *rec, const struct lrec *r)
{
	const char *fp = gg_json_str(rec, "key", ""), *hex = gg_json_str(rec, "public_key", "");
	const char *prev = gg_json_str(rec, "previous", NULL);
	const char *sig = gg_json_str(rec, "previous_sig", "");
	unsigned char raw[64];
	char msg[256], kfp[65];
	EVP_PKEY *key;
	struct gg_err err;
	size_t t;

	if (!v->pub || !prev)
		return; /* a first key: trusted only if given */
	for (t = 0; t < v->n_trusted && strcmp(prev, v->trusted[t].fp); t++)
		;
	if (t == v->n_trusted)
		return; /* announced by a key not trusted: proves nothing */
	for (int b = 0; strlen(sig) == 128 && b < 64; b++) {
		unsigned int x;

		if (sscanf(sig + 2 * b, "%2x", &x) != 1)
			break;
		raw[b] = x;
	}
	key = gg_ed25519_from_public_hex(hex);
	if (key && !gg_key_fingerprint(key, kfp, &err) && !strcmp(kfp, fp) &&
	    strlen(sig) == 128 && gg_audit_key_message(fp, hex, msg, sizeof(msg)) > 0 &&
	    !gg_verify_buf(v->trusted[t].key, msg, strlen(msg), raw) &&
	    !trust_key(v, key, true, &err)) {
		json_array_append_new(v->announced, json_string(fp));
		return;
	}
	EVP_PKEY_free(key);
	problem(v, "signature", i, r->seq, "an announcement signed by the previous key",
		"invalid", "audit_key: the announcement of key %s does not verify with the "
		"previous key %s: forged", fp, prev);
}

/* An anchor is a checkpoint published elsewhere: its seq must hold a
 * checkpoint with that head. */
static void check_anchors(struct vctx *v, size_t i, json_t *rec, const struct lrec *r,
			  bool ckpt)
{
	const char *head = gg_json_str(rec, "head", NULL);
	char exp[160], fnd[160];

	for (size_t k = 0; k < v->n_anchors; k++) {
		if (v->anchors[k].seq != r->seq)
			continue;
		if (ckpt && head && !strcmp(head, v->anchors[k].head)) {
			v->anchor_st[k] = ANCHOR_MATCHED;
			continue;
		}
		v->anchor_st[k] = ANCHOR_MISMATCH;
		snprintf(exp, sizeof(exp), "checkpoint, head %s", v->anchors[k].head);
		snprintf(fnd, sizeof(fnd), "%s, head %s", r->event, head ? head : "(none)");
		problem(v, "anchor", i, r->seq, exp, fnd,
			"%s does not match the anchor %llu:%s published for it: the log was "
			"rewritten from here or before", ckpt ? "checkpoint" : "record",
			v->anchors[k].seq, v->anchors[k].head);
	}
}

static void accept(struct vctx *v, size_t i, json_t *rec, const struct lrec *r)
{
	struct vfile *f = &v->files[v->lines[i].file];
	bool ckpt = !strcmp(r->event, "checkpoint");

	if (!v->have) {
		v->genesis = r->seq == 1 && !strcmp(r->prev, ZERO_HASH);
		v->first_seq = r->seq;
		v->first_i = i;
	}
	if (ckpt)
		check_checkpoint(v, i, rec, r);
	else if (!strcmp(r->event, "audit_key"))
		check_key_link(v, i, rec, r);
	check_anchors(v, i, rec, r, ckpt);
	if (!strcmp(r->event, "log_rotated")) {
		v->rot_pending = true;
		v->rot_i = i;
		v->rot_seq = r->seq;
		snprintf(v->rot_next, sizeof(v->rot_next), "%s",
			 gg_json_str(rec, "next", ""));
	} else if (v->rot_pending && (!ckpt || v->lines[v->rot_i].file != v->lines[i].file)) {
		v->rot_pending = false; /* the chain went on: rename failed, or next file */
	}
	v->have = true;
	v->k = i;
	v->expect = r->seq + 1;
	strcpy(v->head, r->hash);
	strcpy(v->k_prev, r->prev);
	v->records++;
	if (!f->records++)
		f->first = r->seq;
	f->last = r->seq;
	if (ckpt) {
		v->checkpoints++;
		v->have_ckpt = true;
		v->last_ckpt = r->seq;
		v->unsealed = 0;
	} else {
		v->unsealed++;
	}
}

/* Is the token that ends p[0..len) a literal or a number cut short? */
static bool cut_short_token(const char *p, size_t len)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t n = 0;

	while (n < len && strchr("abcdefghijklmnopqrstuvwxyz0123456789+-.E", p[len - n - 1]))
		n++;
	if (!n)
		return false;
	p += len - n;
	for (size_t w = 0; w < 3; w++)
		if (n < strlen(words[w]) && !strncmp(p, words[w], n))
			return true;
	if (*p != '-' && (*p < '0' || *p > '9'))
		return false;
	return strspn(p, "0123456789+-.eE") == n;
}

/* A torn line is what a write cut short leaves: the start of a record. The
 * writer's lines start {"ts":" and a torn one is cut short of its end:
 * jansson stops at the end of the input, either expecting more or inside a
 * literal or number ("tr", "-1.5e"). Garbage, or a whole object that is not
 * a record, is not torn. */
static bool torn_shape(const char *p, size_t len)
{
	static const char start[] = "{\"ts\":\"";
	json_error_t jerr;
	json_t *v;

	if (!len || memcmp(p, start, len < sizeof(start) - 1 ? len : sizeof(start) - 1))
		return false;
	v = json_loadb(p, len, 0, &jerr);
	if (v) {
		json_decref(v);
		return false;
	}
	if (json_error_code(&jerr) == json_error_premature_end_of_input)
		return true;
	return json_error_code(&jerr) == json_error_invalid_syntax && jerr.position == (int)len &&
	       cut_short_token(p, len);
}

/* Lines i.. do not parse. Torn (crash mid-write) if they end the last file
 * and are cut-short records, or if a chain_resumed naming exactly them
 * follows; else tampering. Returns the next line to check. */
/* Lines i..j-1, the last of the log, are not records: torn by a crash if
 * each could be the start of one. */
static void torn_at_end(struct vctx *v, size_t i, size_t j, size_t bytes)
{
	for (size_t m = i; m < j; m++) {
		if (torn_shape(v->lines[m].p, v->lines[m].len))
			continue;
		problem(v, "altered", m, -1, "a record, or a record cut short by a crash",
			"other bytes",
			"line at the end of the log is neither a record nor the start of "
			"one: altered or appended, not torn by a crash");
		return;
	}
	json_array_append_new(v->torn, json_pack("{s:s, s:I, s:I, s:I, s:b, s:b}", "file",
						 fname(v, i), "line", (json_int_t)v->lines[i].no,
						 "lines", (json_int_t)(j - i), "bytes",
						 (json_int_t)bytes, "resumed", 0, "record_prefix",
						 1));
}

static size_t bad_run(struct vctx *v, size_t i)
{
	const struct vline *l = &v->lines[i];
	size_t j = i, bytes;
	char hash[65], w[600], w2[600];
	json_t *rec = NULL, *t;
	struct lrec rj;
	bool shaped = true;

	while (j < v->n && v->lines[j].file == l->file) {
		rec = gg_audit_parse_line(v->lines[j].p, v->lines[j].len);
		if (rec)
			break;
		shaped = shaped && torn_shape(v->lines[j].p, v->lines[j].len);
		j++;
	}
	bytes = v->lines[j - 1].p + v->lines[j - 1].len - l->p;
	if (j == v->n) {
		torn_at_end(v, i, j, bytes);
		return j;
	}
	if (!rec) {
		problem(v, "malformed", i, -1, "a record", "unparseable bytes",
			"not a record, at the end of a file that another file follows");
		return j;
	}
	gg_sha256_hex(l->p, bytes, hash);
	lrec_of(&v->lines[j], rec, &rj);
	if (!strcmp(rj.event, "chain_resumed") &&
	    gg_json_int(rec, "torn_line") == (json_int_t)l->no &&
	    gg_json_int(rec, "torn_lines") == (json_int_t)(j - i) &&
	    gg_json_int(rec, "torn_bytes") == (json_int_t)bytes &&
	    json_is_string(json_object_get(rec, "torn_sha256")) &&
	    !strcmp(gg_json_str(rec, "torn_sha256", NULL), hash)) {
		/* The writer resumes after whatever it found; say when that was
		 * not a record cut short (a filesystem's zeros, or appended bytes). */
		t = json_pack("{s:s, s:I, s:I, s:I, s:b, s:I, s:b}", "file", fname(v, i), "line",
			      (json_int_t)l->no, "lines", (json_int_t)(j - i), "bytes",
			      (json_int_t)bytes, "resumed", 1, "resumed_at",
			      (json_int_t)v->lines[j].no, "record_prefix", shaped);
		json_array_append_new(v->torn, t);
		json_decref(rec);
		return j;
	}
	json_decref(rec);
	if (v->have && rj.seq == v->expect && !strcmp(rj.prev, v->head))
		problem(v, "inserted", i, -1, "a record", "unparseable bytes",
			"not a record and not part of the chain: %s follows %s directly",
			where(v, j, w, sizeof(w)), where(v, v->k, w2, sizeof(w2)));
	else
		problem(v, "altered", i, -1, "a record", "unparseable bytes",
			"line does not parse as a record and no chain_resumed accounts for it");
	return j;
}

static int map_file(struct vfile *f, struct gg_err *err)
{
	struct stat st;
	int fd;

	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gg_errf(err, -errno, "%s: cannot open: %s", f->path, strerror(errno));
	if (fstat(fd, &st)) {
		close(fd);
		return gg_errf(err, -errno, "%s: stat: %s", f->path, strerror(errno));
	}
	f->size = st.st_size;
	f->data = NULL;
	if (f->size) {
		f->data = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (f->data == MAP_FAILED) {
			f->data = NULL;
			close(fd);
			return gg_errf(err, -errno, "%s: mmap: %s", f->path, strerror(errno));
		}
	}
	close(fd);
	f->first_seq = LLONG_MAX;
	for (size_t off = 0; off < f->size;) {
		const char *nl = memchr(f->data + off, '\n', f->size - off);
		size_t end = nl ? (size_t)(nl - f->data) : f->size;
		json_t *rec = gg_audit_parse_line(f->data + off, end - off);

		if (rec) {
			f->first_seq = gg_json_int(rec, "seq");
			json_decref(rec);
			break;
		}
		off = end + 1;
	}
	return 0;
}

static int cmp_files(const void *a, const void *b)
{
	const struct vfile *x = a, *y = b;

	if (x->first_seq != y->first_seq)
		return x->first_seq < y->first_seq ? -1 : 1;
	return x->given < y->given ? -1 : x->given > y->given;
}

static int index_lines(struct vctx *v, size_t fi, struct gg_err *err)
{
	struct vfile *f = &v->files[fi];

	for (size_t off = 0; off < f->size;) {
		const char *nl = memchr(f->data + off, '\n', f->size - off);
		size_t end = nl ? (size_t)(nl - f->data) : f->size;

		if (v->n == v->cap) {
			size_t cap = v->cap ? v->cap * 2 : 4096;
			struct vline *nv = realloc(v->lines, cap * sizeof(*nv));

			if (!nv)
				return gg_errf(err, -ENOMEM, "%s: out of memory", f->path);
			v->lines = nv;
			v->cap = cap;
		}
		v->lines[v->n++] = (struct vline){ f->data + off, end - off, fi, ++f->lines };
		off = end + 1;
	}
	return 0;
}

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* What only the end of the walk can tell: no records at all, a rotation
 * whose next file is missing, files that hold no record, anchors beyond
 * the records given. */
/* finish, no record at all. */
static void finish_no_records(struct vctx *v)
{
	struct vfile *f = &v->files[0];

	if (v->nfiles > 1)
		file_problem(v, "empty", 0, "records", "no records",
			     "no records in any of the %zu files given", v->nfiles);
	else if (!f->lines)
		file_problem(v, "empty", 0, "records", "no records",
			     "no records: the file is empty");
	else
		file_problem(v, "empty", 0, "records", "no records",
			     "no records: %llu line(s), none of them a record", f->lines);
}

/* finish, the anchors the chain did not reach: past its end (records
 * removed from the end) or before its start. */
static void finish_anchors(struct vctx *v)
{
	char exp[400], fnd[160], w[600];

	for (size_t k = 0; k < v->n_anchors; k++) {
		const struct gg_audit_anchor *an = &v->anchors[k];

		if (v->anchor_st[k] != ANCHOR_NOT_REACHED)
			continue;
		snprintf(exp, sizeof(exp), "checkpoint seq %llu, head %s (anchor)", an->seq,
			 an->head);
		if (an->seq > v->expect - 1) {
			v->anchor_st[k] = ANCHOR_MISSING;
			snprintf(fnd, sizeof(fnd), "the log ends at seq %llu", v->expect - 1);
			problem(v, "removed", v->k, v->expect - 1, exp, fnd,
				"records were removed from the end: the anchored checkpoint seq %llu "
				"was written, but the log ends at seq %llu (%s)", an->seq,
				v->expect - 1, where(v, v->k, w, sizeof(w)));
		} else {
			v->anchor_st[k] = ANCHOR_BEFORE_START;
			snprintf(fnd, sizeof(fnd), "the first record given is seq %llu",
				 v->first_seq);
			problem(v, "anchor", v->first_i, v->first_seq, exp, fnd,
				"the anchored checkpoint seq %llu is before the files given: verify "
				"them with the files that hold it", an->seq);
		}
	}
}

static void finish(struct vctx *v)
{
	size_t succ = SIZE_MAX, fi;
	char exp[400];

	if (v->problem || !v->nfiles)
		return;
	if (!v->have) {
		finish_no_records(v);
		return;
	}
	/* Rotation: log_rotated + checkpoint end the renamed file; the chain
	 * continues in "next" (the active file, empty until its first record).
	 * A file still named "next" was not renamed (the rename failed). */
	if (v->rot_pending &&
	    strcmp(base_of(v->files[v->lines[v->rot_i].file].path), v->rot_next)) {
		for (fi = v->lines[v->rot_i].file + 1; fi < v->nfiles; fi++) {
			if (!v->files[fi].records &&
			    !strcmp(base_of(v->files[fi].path), v->rot_next)) {
				succ = fi;
				break;
			}
		}
		if (succ == SIZE_MAX) {
			snprintf(exp, sizeof(exp), "the file the log continues in, %s", v->rot_next);
			problem(v, "removed", v->rot_i, v->rot_seq, exp, "not given",
				"the log was rotated here and continues in %s, which was not given: "
				"the records after seq %llu are missing (or pass every file)",
				v->rot_next, v->expect - 1);
			return;
		}
	}
	for (fi = 0; fi < v->nfiles; fi++) {
		if (v->files[fi].records || fi == succ)
			continue;
		file_problem(v, "empty", fi, "records", "no records",
			     "no records (%llu line(s)): not a file the chain continues in, an "
			     "emptied or truncated file", v->files[fi].lines);
		return;
	}
	finish_anchors(v);
}

static const char *const anchor_names[] = {
	[ANCHOR_NOT_REACHED] = "not reached", [ANCHOR_MATCHED] = "matched",
	[ANCHOR_MISMATCH] = "mismatch", [ANCHOR_MISSING] = "missing",
	[ANCHOR_BEFORE_START] = "before the files given",
};

static json_t *result_doc(struct vctx *v)
{
	json_t *doc, *anchors, *files = json_array();
	const char *status;

	for (size_t i = 0; i < v->nfiles; i++) {
		struct vfile *f = &v->files[i];

		json_array_append_new(files, json_pack("{s:s, s:I, s:I, s:o, s:o}", "file", f->path,
						       "lines", (json_int_t)f->lines, "records",
						       (json_int_t)f->records, "first_seq",
						       f->records ? json_integer(f->first) : json_null(),
						       "last_seq",
						       f->records ? json_integer(f->last) : json_null()));
	}
	if (v->problem)
		status = "not-intact";
	else if (v->pub)
		status = "intact";
	else if (v->chain_only)
		status = "intact-chain-only";
	else
		status = "unverified-no-key";
	anchors = json_array();
	for (size_t k = 0; anchors && k < v->n_anchors; k++)
		json_array_append_new(anchors, json_pack("{s:I, s:s, s:s}", "seq",
							 (json_int_t)v->anchors[k].seq, "head",
							 v->anchors[k].head, "status",
							 anchor_names[v->anchor_st[k]]));
	/* Without signatures an intact chain proves little (anyone who can
	 * write the file can recompute it): intact only if asked for. */
	doc = json_pack("{s:s, s:b, s:b, s:b, s:b, s:o, s:I, s:o, s:o, s:s, s:I, s:s, s:O, s:o,"
			" s:I, s:O, s:o}", "status", status, "intact",
			!v->problem && (v->pub || v->chain_only), "chain_intact", !v->problem,
			"signatures_checked", v->pub != NULL, "chain_only", !v->pub && v->chain_only,
			"files", files, "records", (json_int_t)v->records,
			"first_seq", v->have ? json_integer(v->first_seq) : json_null(), "last_seq",
			v->have ? json_integer(v->expect - 1) : json_null(), "chain_start",
			!v->have ? "empty" : v->genesis ? "genesis" : "continued", "checkpoints",
			(json_int_t)v->checkpoints, "signatures",
			v->pub ? "checked" : "not checked", "keys", v->keys, "key",
			v->pub ? json_string(v->pub_fp) : json_null(), "unsealed_tail",
			(json_int_t)v->unsealed, "torn", v->torn, "anchors", anchors);
	if (doc && v->problem)
		json_object_set(doc, "problem", v->problem);
	if (doc)
		json_object_set(doc, "keys_announced", v->announced);
	return doc;
}

int gg_audit_anchor_parse(const char *s, struct gg_audit_anchor *a)
{
	const char *colon = strchr(s, ':');
	char *end;

	if (!colon || !isdigit((unsigned char)*s) || strlen(colon + 1) != 64)
		return -EINVAL;
	errno = 0;
	a->seq = strtoull(s, &end, 10);
	if (errno || end != colon || !a->seq)
		return -EINVAL;
	for (int i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)colon[1 + i]))
			return -EINVAL;
		a->head[i] = tolower((unsigned char)colon[1 + i]);
	}
	a->head[64] = '\0';
	return 0;
}

int gg_audit_verify(char *const *paths, size_t n, EVP_PKEY *pub, gg_audit_record_fn fn,
		    void *ctx, json_t **result, struct gg_err *err)
{
	struct gg_audit_verify_opts o = { .pub = pub };

	return gg_audit_verify_ex(paths, n, &o, fn, ctx, result, err);
}

/* Maps the n files, orders them by their first seq, indexes their lines. */
static int open_files(struct vctx *v, char *const *paths, size_t n, struct gg_err *err)
{
	int ret;

	for (v->nfiles = 0; v->nfiles < n; v->nfiles++) {
		v->files[v->nfiles].path = paths[v->nfiles];
		v->files[v->nfiles].given = v->nfiles;
		ret = map_file(&v->files[v->nfiles], err);
		if (ret)
			return ret;
	}
	qsort(v->files, v->nfiles, sizeof(*v->files), cmp_files);
	for (size_t i = 0; i < v->nfiles; i++) {
		ret = index_lines(v, i, err);
		if (ret)
			return ret;
	}
	return 0;
}

/* Every line through the chain, and each record to fn; fn's error ends it. */
static int walk(struct vctx *v, gg_audit_record_fn fn, void *ctx)
{
	int ret = 0;

	for (size_t i = 0; i < v->n;) {
		const struct vline *l = &v->lines[i];
		json_t *rec = gg_audit_parse_line(l->p, l->len);
		struct lrec r;

		if (!v->problem) {
			if (!rec) {
				i = bad_run(v, i);
				continue;
			}
			lrec_of(l, rec, &r);
			if (v->have && (r.seq != v->expect || strcmp(r.prev, v->head)))
				classify(v, i, &r);
			else
				accept(v, i, rec, &r);
		}
		/* After a problem only the callback still runs (the report can
		 * be asked to aggregate an unverified log). */
		if (rec && fn)
			ret = fn(rec, v->files[l->file].path, l->no, ctx);
		json_decref(rec);
		if (ret)
			return ret;
		i++;
	}
	return 0;
}

int gg_audit_verify_ex(char *const *paths, size_t n, const struct gg_audit_verify_opts *o,
		       gg_audit_record_fn fn, void *ctx, json_t **result, struct gg_err *err)
{
	struct vctx v = { .pub = o->pub, .chain_only = o->chain_only, .anchors = o->anchors,
			  .n_anchors = o->n_anchors };
	int ret = 0;

	*result = NULL;
	if (v.n_anchors > MAX_ANCHORS)
		return gg_errf(err, -E2BIG, "verify: at most %d anchors", MAX_ANCHORS);
	v.files = calloc(n ? n : 1, sizeof(*v.files));
	v.anchor_st = calloc(v.n_anchors + 1, sizeof(*v.anchor_st));
	v.torn = json_array();
	v.keys = json_array();
	v.announced = json_array();
	if (!v.files || !v.anchor_st || !v.torn || !v.keys || !v.announced) {
		ret = gg_errf(err, -ENOMEM, "verify: out of memory");
		goto cleanup;
	}
	if (!v.pub && o->n_more_keys)
		v.pub = o->more_keys[0];
	if (v.pub && (ret = gg_key_fingerprint(v.pub, v.pub_fp, err)))
		goto cleanup;
	for (size_t k = 0; !ret && k < o->n_more_keys; k++)
		if (o->more_keys[k] != v.pub)
			ret = trust_key(&v, o->more_keys[k], false, err);
	if (!ret && v.pub)
		ret = trust_key(&v, v.pub, false, err);
	if (ret)
		goto cleanup;
	ret = open_files(&v, paths, n, err);
	if (!ret)
		ret = walk(&v, fn, ctx);
	if (ret)
		goto cleanup;
	finish(&v);
	*result = result_doc(&v);
	if (!*result)
		ret = gg_errf(err, -ENOMEM, "verify: out of memory");
cleanup:
	for (size_t i = 0; i < v.nfiles; i++)
		if (v.files[i].data)
			munmap(v.files[i].data, v.files[i].size);
	free(v.files);
	free(v.anchor_st);
	free(v.lines);
	json_decref(v.torn);
	json_decref(v.keys);
	json_decref(v.announced);
	for (size_t k = 0; k < v.n_trusted; k++)
		if (v.trusted[k].owned)
			EVP_PKEY_free(v.trusted[k].key);
	json_decref(v.problem);
	return ret;
}

/* gg_audit_verify_print: the files, the chain and the checkpoints. */
static void print_chain(FILE *f, const json_t *res)
{
	const json_t *p = json_object_get(res, "problem"), *x;
	const char *searched = gg_json_str(res, "key_searched", NULL);
	size_t i;

	json_array_foreach(json_object_get(res, "files"), i, x) {
		fprintf(f, "%s: %lld lines", gg_json_str(x, "file", NULL), gg_json_int(x, "lines"));
		if (gg_json_int(x, "records"))
			fprintf(f, ", seq %lld..%lld", gg_json_int(x, "first_seq"),
				gg_json_int(x, "last_seq"));
		fputc('\n', f);
	}
	if (gg_json_int(res, "records"))
		fprintf(f, "chain: %lld records%s, seq %lld..%lld (%s)\n",
			gg_json_int(res, "records"), p ? " in order before the problem" : "",
			gg_json_int(res, "first_seq"), gg_json_int(res, "last_seq"),
			!strcmp(gg_json_str(res, "chain_start", NULL), "genesis") ?
				"from the start of the log" :
				"continues earlier records not given");
	else
		fprintf(f, "chain: no records\n");
	fprintf(f, "checkpoints: %lld, ", gg_json_int(res, "checkpoints"));
	if (json_is_string(json_object_get(res, "key")))
		fprintf(f, "signatures checked (key sha256:%s)", gg_json_str(res, "key", NULL));
	else if (json_is_true(json_object_get(res, "chain_only")))
		fprintf(f, "signatures not checked (--no-signatures: chain only)");
	else
		fprintf(f, "signatures NOT checked (no public key%s%s: pass --key PUBKEY, or "
			   "--no-signatures for a chain-only check)", searched ? " at " : "",
			searched ? searched : "");
	fputc('\n', f);
}

/* gg_audit_verify_print: torn lines, the unsealed tail, the anchors. */
static void print_notes(FILE *f, const json_t *res)
{
	const json_t *x;
	size_t i;

	json_array_foreach(json_object_get(res, "torn"), i, x) {
		fprintf(f, "torn: %s:%lld (%lld line(s), %lld bytes): %s, ",
			gg_json_str(x, "file", NULL), gg_json_int(x, "line"),
			gg_json_int(x, "lines"), gg_json_int(x, "bytes"),
			json_is_false(json_object_get(x, "record_prefix")) ?
				"NOT the start of a record (zeros from a crash, or appended bytes)" :
				"a write cut short");
		if (json_is_true(json_object_get(x, "resumed")))
			fprintf(f, "chain resumed at line %lld\n", gg_json_int(x, "resumed_at"));
		else
			fprintf(f, "at the end of the log\n");
	}
	if (gg_json_int(res, "unsealed_tail"))
		fprintf(f, "unsealed tail: %lld records after the last checkpoint\n",
			gg_json_int(res, "unsealed_tail"));
	json_array_foreach(json_object_get(res, "anchors"), i, x)
		fprintf(f, "anchor: seq %lld head %s: %s\n", gg_json_int(x, "seq"),
			gg_json_str(x, "head", NULL), gg_json_str(x, "status", NULL));
}

void gg_audit_verify_print(FILE *f, const json_t *res)
{
	const json_t *p = json_object_get(res, "problem");
	const char *status = gg_json_str(res, "status", "");

	print_chain(f, res);
	print_notes(f, res);
	if (!strcmp(status, "intact")) {
		fprintf(f, "result: INTACT\n");
		return;
	}
	if (!strcmp(status, "intact-chain-only")) {
		fprintf(f, "result: INTACT (chain only, signatures not checked)\n");
		return;
	}
	if (!p) {
		fprintf(f, "result: NOT VERIFIED (chain intact, signatures not checked)\n");
		return;
	}
	fprintf(f, "result: NOT INTACT\n%s", gg_json_str(p, "file", NULL));
	if (gg_json_int(p, "line"))
		fprintf(f, ":%lld", gg_json_int(p, "line"));
	fprintf(f, ": %s", gg_json_str(p, "kind", NULL));
	if (json_is_integer(json_object_get(p, "seq")))
		fprintf(f, " (seq %lld)", gg_json_int(p, "seq"));
	fprintf(f, ": %s\n  expected: %s\n  found:    %s\n", gg_json_str(p, "detail", NULL),
		gg_json_str(p, "expected", NULL), gg_json_str(p, "found", NULL));
}
