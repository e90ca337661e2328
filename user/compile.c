// SPDX-License-Identifier: GPL-2.0
/*
 * The compiler: floor + packs -> the map entries of one policy slot.
 *
 * Every (pack, rule) of the inputs gets a rank in (pack label, rule id)
 * order. A map key's decision is the sorted set of ranks that hit it; equal
 * sets are interned once and become one entry, so two keys with the same
 * rules share an entry id. Entry ids are handed out in table order (module,
 * exec paths, names, inodes, digests, egress nodes, egress ports) after all tables
 * are sorted. gg_compile_resolved is a pure function of the inputs and of
 * the exec identities resolved beforehand (gg_identities_resolve, the one
 * step that reads the filesystem); gg_compile does both.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "compile.h"

#define NOSET UINT32_MAX
#define FOLD_DEPTH_MAX 130 /* nested prefixes of one family: at most 129 */

struct u32vec {
	__u32 *v;
	size_t n, cap;
};

static int vec_reserve(struct u32vec *v, size_t extra)
{
	size_t cap;
	__u32 *p;

	if (v->n + extra <= v->cap)
		return 0;
	cap = v->cap ? v->cap : 16;
	while (cap < v->n + extra)
		cap *= 2;
	p = realloc(v->v, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	v->v = p;
	v->cap = cap;
	return 0;
}

static int vec_push(struct u32vec *v, __u32 x)
{
	if (vec_reserve(v, 1))
		return -ENOMEM;
	v->v[v->n++] = x;
	return 0;
}

/* qsort() that accepts an empty (NULL) table. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static void vec_sort_unique(struct u32vec *v)
{
	size_t w = 0;

	sort(v->v, v->n, sizeof(*v->v), gg_u32_cmp);
	for (size_t i = 0; i < v->n; i++)
		if (!w || v->v[w - 1] != v->v[i])
			v->v[w++] = v->v[i];
	v->n = w;
}

/* Grows a table of any element type by one slot. */
static void *grow(void *base, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *p;

	if (n < *cap)
		return base;
	c = *cap ? *cap * 2 : 64;
	p = realloc(base, c * size);
	if (!p)
		return NULL;
	*cap = c;
	return p;
}

/* One rule of one input. */
struct rrec {
	const char *label;
	const struct gg_pack *pack;
	const struct gg_rule *rule;
	size_t gidx; /* input's rule offset + rule index */
	enum gg_action mode;
};

struct setinfo {
	size_t off; /* in pool */
	__u32 len;
	__u32 gate;
	__u32 entry; /* 0 until referenced by an output table */
};

struct cctx {
	const struct gg_policy_input *in;
	size_t n_in;
	struct gg_err *err;
	const struct gg_identity *ids; /* every exec identity, resolved */
	size_t n_ids;
	char **labels; /* per input */
	size_t *rule_off; /* per input: gidx of its first rule */
	struct rrec *recs; /* sorted by (label, rule id, mode) */
	size_t n_recs;
	__u32 *rank_of; /* by gidx */
	size_t *rank_start; /* rank -> first rec; [n_ranks] = n_recs */
	enum gg_action *rank_mode;
	size_t n_ranks;
	struct u32vec pool; /* interned rank sets */
	struct setinfo *sets;
	size_t n_sets, cap_sets;
	__u32 *ht; /* set index + 1; 0 = empty */
	size_t ht_cap;
	struct u32vec order; /* set of each entry, in id order */
	struct u32vec scratch;
	size_t n_prog_names; /* egress_progs[0, n): the names, sorted */
	char **combos; /* combined progs' names, joined by '/' (no name has one) */
	size_t n_combos;
};

static int nomem(struct cctx *cx)
{
	return gg_errf(cx->err, -ENOMEM, "compile: out of memory");
}

/* An input's label: "floor", its ref, or "name@version". */
static char *input_label(const struct gg_policy_input *in)
{
	const struct gg_pack *pk = in->pack;
	char *s;
	int ret;

	if (in->is_floor)
		ret = asprintf(&s, "floor");
	else if (pk->ref)
		ret = asprintf(&s, "%s", pk->ref);
	else
		ret = asprintf(&s, "%s@%s", pk->name ? pk->name : "?",
			       pk->version ? pk->version : "?");
	return ret < 0 ? NULL : s;
}

/* "packs/x.json:12: rule "r1": ..." for a rule of input in. */
static int input_rule_err(struct gg_err *err, const struct gg_policy_input *in,
			  const struct gg_rule *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int input_rule_err(struct gg_err *err, const struct gg_policy_input *in,
			  const struct gg_rule *r, int code, const char *fmt, ...)
{
	const struct gg_pack *pk = in->pack;
	char msg[512], *label = pk->origin ? NULL : input_label(in);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gg_errf(err, code, "%s:%d: rule \"%s\": %s", pk->origin ? pk->origin : label ?: "?",
		r->line, r->id, msg);
	free(label);
	return code;
}

#define rule_err(cx, i, r, code, ...) input_rule_err((cx)->err, &(cx)->in[i], r, code, __VA_ARGS__)

/* ---- rule ranks --------------------------------------------------------- */

static int rrec_cmp(const void *a, const void *b)
{
	const struct rrec *x = a, *y = b;
	int d = strcmp(x->label, y->label);

	if (!d)
		d = strcmp(x->rule->id, y->rule->id);
	if (!d)
		d = (int)x->mode - (int)y->mode; /* deny (1) before observe (2) */
	if (!d)
		d = x->gidx < y->gidx ? -1 : x->gidx > y->gidx;
	return d;
}

static int build_ranks(struct cctx *cx)
{
	size_t total = 0, r = 0;

	cx->labels = calloc(cx->n_in + 1, sizeof(*cx->labels));
	cx->rule_off = calloc(cx->n_in + 1, sizeof(*cx->rule_off));
	if (!cx->labels || !cx->rule_off)
		return nomem(cx);
	for (size_t i = 0; i < cx->n_in; i++) {
		const struct gg_pack *pk = cx->in[i].pack;

		if (!pk)
			return gg_errf(cx->err, -EINVAL, "compile: input %zu has no pack", i);
		cx->labels[i] = input_label(&cx->in[i]);
		if (!cx->labels[i])
			return nomem(cx);
		cx->rule_off[i] = total;
		total += pk->n_rules;
	}
	cx->recs = calloc(total + 1, sizeof(*cx->recs));
	cx->rank_of = calloc(total + 1, sizeof(*cx->rank_of));
	cx->rank_start = calloc(total + 1, sizeof(*cx->rank_start));
	cx->rank_mode = calloc(total + 1, sizeof(*cx->rank_mode));
	if (!cx->recs || !cx->rank_of || !cx->rank_start || !cx->rank_mode)
		return nomem(cx);
	for (size_t i = 0; i < cx->n_in; i++) {
		const struct gg_pack *pk = cx->in[i].pack;

		for (size_t j = 0; j < pk->n_rules; j++) {
			struct rrec *rc = &cx->recs[cx->n_recs++];

			rc->label = cx->labels[i];
			rc->pack = pk;
			rc->rule = &pk->rules[j];
			rc->gidx = cx->rule_off[i] + j;
			/* only an explicit observe observes; the caller decides
			 * the floor's mode (enforce unless the agent observes) */
			rc->mode = cx->in[i].mode == GG_ACT_OBSERVE ? GG_ACT_OBSERVE : GG_ACT_DENY;
			if (!rc->rule->id)
				return gg_errf(cx->err, -EINVAL, "compile: %s: rule %zu has no id",
					       rc->label, j);
		}
	}
	sort(cx->recs, cx->n_recs, sizeof(*cx->recs), rrec_cmp);
	/* The same (pack, rule) given twice is one rank; its mode is the
	 * strictest, which sorts first. */
	for (size_t i = 0; i < cx->n_recs; i++) {
		const struct rrec *rc = &cx->recs[i];

		if (i && !strcmp(rc->label, cx->recs[i - 1].label) &&
		    !strcmp(rc->rule->id, cx->recs[i - 1].rule->id)) {
			cx->rank_of[rc->gidx] = r - 1;
			continue;
		}
		cx->rank_start[r] = i;
		cx->rank_mode[r] = rc->mode;
		cx->rank_of[rc->gidx] = r++;
	}
	cx->n_ranks = r;
	cx->rank_start[r] = cx->n_recs;
	return 0;
}

static __u32 rank(const struct cctx *cx, size_t input, const struct gg_rule *rule)
{
	return cx->rank_of[cx->rule_off[input] + (rule - cx->in[input].pack->rules)];
}

/* ---- interned rank sets ------------------------------------------------- */

static __u64 set_hash(__u32 gate, const __u32 *r, size_t n)
{
	__u64 h = 1469598103934665603ULL ^ gate;

	for (size_t i = 0; i < n; i++) {
		h ^= r[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static int ht_grow(struct cctx *cx)
{
	size_t cap = cx->ht_cap ? cx->ht_cap * 2 : 1024;
	__u32 *ht = calloc(cap, sizeof(*ht));

	if (!ht)
		return -ENOMEM;
	for (size_t s = 0; s < cx->n_sets; s++) {
		const struct setinfo *si = &cx->sets[s];
		size_t h = set_hash(si->gate, cx->pool.v + si->off, si->len) & (cap - 1);

		while (ht[h])
			h = (h + 1) & (cap - 1);
		ht[h] = s + 1;
	}
	free(cx->ht);
	cx->ht = ht;
	cx->ht_cap = cap;
	return 0;
}

/* r: sorted, unique and not inside cx->pool. Empty sets are NOSET. */
static int set_intern(struct cctx *cx, __u32 gate, const __u32 *r, size_t n, __u32 *id)
{
	struct setinfo *si;
	size_t h, mask;

	*id = NOSET;
	if (!n)
		return 0;
	if ((cx->n_sets + 1) * 2 > cx->ht_cap && ht_grow(cx))
		return nomem(cx);
	mask = cx->ht_cap - 1;
	for (h = set_hash(gate, r, n) & mask; cx->ht[h]; h = (h + 1) & mask) {
		si = &cx->sets[cx->ht[h] - 1];
		if (si->gate == gate && si->len == n &&
		    !memcmp(cx->pool.v + si->off, r, n * sizeof(*r))) {
			*id = cx->ht[h] - 1;
			return 0;
		}
	}
	if (vec_reserve(&cx->pool, n))
		return nomem(cx);
	si = grow(cx->sets, &cx->cap_sets, cx->n_sets, sizeof(*cx->sets));
	if (!si)
		return nomem(cx);
	cx->sets = si;
	si = &cx->sets[cx->n_sets];
	si->off = cx->pool.n;
	si->len = n;
	si->gate = gate;
	si->entry = 0;
	memcpy(cx->pool.v + cx->pool.n, r, n * sizeof(*r));
	cx->pool.n += n;
	*id = cx->n_sets;
	cx->ht[h] = ++cx->n_sets;
	return 0;
}

/* Appends a set's ranks to v (the pool may move: v must not be the pool). */
static int set_append(struct cctx *cx, __u32 id, struct u32vec *v)
{
	const struct setinfo *si;

	if (id == NOSET)
		return 0;
	si = &cx->sets[id];
	if (vec_reserve(v, si->len))
		return -ENOMEM;
	memcpy(v->v + v->n, cx->pool.v + si->off, si->len * sizeof(*v->v));
	v->n += si->len;
	return 0;
}

/* Sorts and interns cx->scratch. */
static int intern_scratch(struct cctx *cx, __u32 gate, __u32 *id)
{
	vec_sort_unique(&cx->scratch);
	return set_intern(cx, gate, cx->scratch.v, cx->scratch.n, id);
}

/* ---- cmd.exec ----------------------------------------------------------- */

struct strc {
	const char *s;
	__u32 rank;
};

static int strc_cmp(const void *a, const void *b)
{
	const struct strc *x = a, *y = b;
	int d = strcmp(x->s, y->s);

	return d ? d : (x->rank < y->rank ? -1 : x->rank > y->rank);
}

/* Exec paths (or basenames): one row per distinct key, in sorted order, with
 * the set of the rules naming it. The tables are sized by the caller. */
static int exec_strings(struct cctx *cx, bool names, struct gg_compiled *c)
{
	struct strc *v = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	for (size_t i = 0; i < cx->n_in; i++) {
		const struct gg_pack *pk = cx->in[i].pack;

		for (size_t j = 0; j < pk->n_rules; j++) {
			const struct gg_rule *r = &pk->rules[j];
			char **keys = names ? r->basenames : r->paths;
			size_t nk = names ? r->n_basenames : r->n_paths;
			size_t max = names ? GG_NAME_MAX : GG_PATH_MAX;
			bool disc = names && r->exec_disconnected;

			if (r->gate != GG_GATE_EXEC)
				continue;
			/* {"disconnected": true}: the reserved name key, last. */
			for (size_t k = 0; k < nk + disc; k++) {
				const char *key = k < nk ? keys[k] : GG_EXEC_NAME_DISCONNECTED;
				struct strc *p;

				if (strlen(key) >= max) {
					ret = rule_err(cx, i, r, -EINVAL, "%s \"%s\" is too long",
						       names ? "basename" : "path", key);
					goto cleanup;
				}
				p = grow(v, &cap, n, sizeof(*v));
				if (!p) {
					ret = nomem(cx);
					goto cleanup;
				}
				v = p;
				v[n].s = key;
				v[n++].rank = rank(cx, i, r);
			}
		}
	}
	sort(v, n, sizeof(*v), strc_cmp);
	for (size_t a = 0, b; a < n; a = b) {
		__u32 set;

		cx->scratch.n = 0;
		for (b = a; b < n && !strcmp(v[a].s, v[b].s); b++)
			if (vec_push(&cx->scratch, v[b].rank)) {
				ret = nomem(cx);
				goto cleanup;
			}
		ret = intern_scratch(cx, GG_GATE_EXEC, &set);
		if (ret)
			goto cleanup;
		if (names) {
			struct gg_c_exec_name *e = &c->exec_names[c->n_exec_names++];

			strcpy(e->name, v[a].s);
			e->v.entry = set;
		} else {
			struct gg_c_exec_path *e = &c->exec_paths[c->n_exec_paths++];

			strcpy(e->path, v[a].s);
			e->v.entry = set;
		}
	}
cleanup:
	free(v);
	return ret;
}

/* The rule key behind a resolved identity, for the record ("basename nc"). */
static char *id_from(const struct gg_identity *id)
{
	char *s;

	switch (id->from) {
	case GG_ID_BASENAME:
		return asprintf(&s, "basename %s", id->path) < 0 ? NULL : s;
	case GG_ID_PATH:
		return asprintf(&s, "path %s", id->path) < 0 ? NULL : s;
	default:
		return strdup("identity");
	}
}

static const char *id_file(const struct gg_identity *id)
{
	return id->file ? id->file : id->path;
}

struct inoc {
	__u64 dev;
	__u64 ino;
	const struct gg_identity *id;
	__u32 rank;
};

static int inoc_cmp(const void *a, const void *b)
{
	const struct inoc *x = a, *y = b;
	int d;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	d = strcmp(id_file(x->id), id_file(y->id));
	if (!d)
		d = (int)x->id->from - (int)y->id->from;
	if (!d)
		d = strcmp(x->id->path, y->id->path);
	return d ? d : (x->rank < y->rank ? -1 : x->rank > y->rank);
}

/* The rule an identity was resolved for, checked against the inputs. */
static const struct gg_rule *id_rule(struct cctx *cx, const struct gg_identity *id)
{
	const struct gg_rule *r;

	if (id->input >= cx->n_in || id->rule >= cx->in[id->input].pack->n_rules)
		return NULL;
	r = &cx->in[id->input].pack->rules[id->rule];
	return r->gate == GG_GATE_EXEC ? r : NULL;
}

/* The (identity, rank) of every resolved file. Every rule identity must
 * have been resolved: a missing one would silently deny less. */
static int inode_contribs(struct cctx *cx, struct inoc **out, size_t *n_out)
{
	struct inoc *v = calloc(cx->n_ids + 1, sizeof(*v));
	size_t want = 0, got = 0, n = 0;

	if (!v)
		return nomem(cx);
	for (size_t i = 0; i < cx->n_in; i++)
		for (size_t j = 0; j < cx->in[i].pack->n_rules; j++)
			if (cx->in[i].pack->rules[j].gate == GG_GATE_EXEC)
				want += cx->in[i].pack->rules[j].n_identities;
	for (size_t k = 0; k < cx->n_ids; k++) {
		const struct gg_identity *id = &cx->ids[k];
		const struct gg_rule *r;

		if (id->from == GG_ID_PROGRAM)
			continue; /* net.egress's: egress_prog_files */
		r = id_rule(cx, id);
		if (!r) {
			free(v);
			return gg_errf(cx->err, -EINVAL,
				       "compile: identities resolved for other inputs");
		}
		got += id->from == GG_ID_IDENTITY;
		v[n++] = (struct inoc){ id->dev, id->ino, id, rank(cx, id->input, r) };
	}
	if (got != want) {
		free(v);
		return gg_errf(cx->err, -EINVAL, "compile: identities resolved for other inputs");
	}
	*out = v;
	*n_out = n;
	return 0;
}

/* Appends the exec_inodes row for one identity, keyed by its first path. */
static int inode_row(struct cctx *cx, struct gg_compiled *c, size_t *cap, const struct inoc *first,
		     __u32 set)
{
	struct gg_c_exec_inode *e;

	e = grow(c->exec_inodes, cap, c->n_exec_inodes, sizeof(*e));
	if (!e)
		return nomem(cx);
	c->exec_inodes = e;
	e = &c->exec_inodes[c->n_exec_inodes];
	memset(e, 0, sizeof(*e));
	e->dev = first->dev;
	e->ino = first->ino;
	c->n_exec_inodes++;
	e->source = strdup(id_file(first->id)); /* the first path in sort order */
	e->from = id_from(first->id);
	if (!e->source || !e->from)
		return nomem(cx);
	e->v.entry = set;
	return 0;
}

static int exec_inodes(struct cctx *cx, struct gg_compiled *c)
{
	struct inoc *v = NULL;
	size_t n = 0, cap = 0;
	int ret;

	ret = inode_contribs(cx, &v, &n);
	if (ret)
		return ret;
	sort(v, n, sizeof(*v), inoc_cmp);
	for (size_t a = 0, b; !ret && a < n; a = b) {
		__u32 set;

		cx->scratch.n = 0;
		for (b = a; b < n && v[b].dev == v[a].dev && v[b].ino == v[a].ino; b++)
			if (vec_push(&cx->scratch, v[b].rank)) {
				ret = nomem(cx);
				break;
			}
		if (!ret)
			ret = intern_scratch(cx, GG_GATE_EXEC, &set);
		if (!ret)
			ret = inode_row(cx, c, &cap, &v[a], set);
	}
	free(v);
	return ret;
}

/* One digest a rule contributes: listed ("sha256") or hashed (id). */
struct digc {
	__u8 sha256[GG_SHA256_LEN];
	const struct gg_identity *id; /* NULL: listed in the pack */
	__u32 rank;
};

static int digc_cmp(const void *a, const void *b)
{
	const struct digc *x = a, *y = b;
	int d = memcmp(x->sha256, y->sha256, GG_SHA256_LEN);

	if (!d && (!x->id || !y->id))
		d = !!x->id - !!y->id; /* listed first */
	if (!d && x->id)
		d = strcmp(id_file(x->id), id_file(y->id));
	if (!d && x->id)
		d = (int)x->id->from - (int)y->id->from;
	return d ? d : (x->rank < y->rank ? -1 : x->rank > y->rank);
}

static int digest_contribs(struct cctx *cx, struct digc **out, size_t *n_out)
{
	struct digc *v = NULL, *p;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < cx->n_in; i++) {
		const struct gg_pack *pk = cx->in[i].pack;

		for (size_t j = 0; j < pk->n_rules; j++) {
			const struct gg_rule *r = &pk->rules[j];

			for (size_t k = 0; r->gate == GG_GATE_EXEC && k < r->n_sha256s; k++) {
				p = grow(v, &cap, n, sizeof(*v));
				if (!p)
					goto oom;
				v = p;
				memset(&v[n], 0, sizeof(v[n]));
				v[n].rank = rank(cx, i, r);
				if (gg_digest_parse(r->sha256s[k], v[n++].sha256)) {
					free(v);
					return rule_err(cx, i, r, -EINVAL, "sha256 \"%s\" is not a "
							"digest", r->sha256s[k]);
				}
			}
		}
	}
	for (size_t k = 0; k < cx->n_ids; k++) {
		const struct gg_identity *id = &cx->ids[k];

		if (!id->has_digest || id->from == GG_ID_PROGRAM)
			continue;
		p = grow(v, &cap, n, sizeof(*v));
		if (!p)
			goto oom;
		v = p;
		memcpy(v[n].sha256, id->sha256, GG_SHA256_LEN);
		v[n].id = id;
		v[n++].rank = rank(cx, id->input, id_rule(cx, id));
	}
	*out = v;
	*n_out = n;
	return 0;
oom:
	free(v);
	return nomem(cx);
}

static int digest_row(struct cctx *cx, struct gg_compiled *c, size_t *cap,
		      const struct digc *first, __u32 set)
{
	struct gg_c_exec_digest *e;

	e = grow(c->exec_digests, cap, c->n_exec_digests, sizeof(*e));
	if (!e)
		return nomem(cx);
	c->exec_digests = e;
	e = &c->exec_digests[c->n_exec_digests++];
	memset(e, 0, sizeof(*e));
	memcpy(e->sha256, first->sha256, GG_SHA256_LEN);
	e->v.entry = set;
	if (first->id) {
		e->source = strdup(id_file(first->id));
		e->from = id_from(first->id);
	} else {
		e->from = strdup("sha256");
	}
	if (!e->from || (first->id && !e->source))
		return nomem(cx);
	return 0;
}

static int exec_digests(struct cctx *cx, struct gg_compiled *c)
{
	struct digc *v = NULL;
	size_t n = 0, cap = 0;
	int ret;

	ret = digest_contribs(cx, &v, &n);
	if (ret)
		return ret;
	sort(v, n, sizeof(*v), digc_cmp);
	for (size_t a = 0, b; !ret && a < n; a = b) {
		__u32 set;

		cx->scratch.n = 0;
		for (b = a; b < n && !memcmp(v[b].sha256, v[a].sha256, GG_SHA256_LEN); b++)
			if (vec_push(&cx->scratch, v[b].rank)) {
				ret = nomem(cx);
				break;
			}
		if (!ret)
			ret = intern_scratch(cx, GG_GATE_EXEC, &set);
		if (!ret)
			ret = digest_row(cx, c, &cap, &v[a], set);
	}
	free(v);
	return ret;
}

/* ---- trust lists --------------------------------------------------------- */

struct trustc {
	__u8 sha256[GG_SHA256_LEN];
	__u32 list;
};

static int trustc_cmp(const void *a, const void *b)
{
	const struct trustc *x = a, *y = b;
	int d = memcmp(x->sha256, y->sha256, GG_SHA256_LEN);

	return d ? d : (x->list < y->list ? -1 : x->list > y->list);
}

/* One trust list: its own entry (the rule alone), its digests. */
static int trust_list(struct cctx *cx, size_t i, const struct gg_rule *r, struct gg_compiled *c,
		      struct trustc **v, size_t *n, size_t *cap)
{
	__u32 list = c->n_trust_lists, set;
	int ret;

	if (list >= GG_TRUST_LISTS_MAX)
		return rule_err(cx, i, r, -E2BIG, "more than %d trust lists in one policy",
				GG_TRUST_LISTS_MAX);
	cx->scratch.n = 0;
	if (vec_push(&cx->scratch, rank(cx, i, r)))
		return nomem(cx);
	ret = intern_scratch(cx, GG_GATE_EXEC, &set);
	if (ret)
		return ret;
	c->trust_lists[list].entry = set;
	c->n_trust_lists++;
	for (size_t k = 0; k < r->n_trusted; k++) {
		struct trustc *p = grow(*v, cap, *n, sizeof(**v));

		if (!p)
			return nomem(cx);
		*v = p;
		p[*n].list = list;
		if (gg_digest_parse(r->trusted[k], p[(*n)++].sha256))
			return rule_err(cx, i, r, -EINVAL, "trusted \"%s\" is not a digest",
					r->trusted[k]);
	}
	return 0;
}

/* Every trust list of the inputs; a digest's row carries the bits of all
 * the lists that name it. */
static int compile_trust(struct cctx *cx, struct gg_compiled *c)
{
	struct trustc *v = NULL;
	size_t n = 0, cap = 0, rows = 0;
	int ret = 0;

	for (size_t i = 0; !ret && i < cx->n_in; i++)
		for (size_t j = 0; !ret && j < cx->in[i].pack->n_rules; j++) {
			const struct gg_rule *r = &cx->in[i].pack->rules[j];

			if (r->gate == GG_GATE_EXEC && r->n_trusted)
				ret = trust_list(cx, i, r, c, &v, &n, &cap);
		}
	if (ret || !n)
		goto cleanup;
	sort(v, n, sizeof(*v), trustc_cmp);
	c->exec_trust = calloc(n, sizeof(*c->exec_trust));
	if (!c->exec_trust) {
		ret = nomem(cx);
		goto cleanup;
	}
	for (size_t a = 0; a < n; a++) {
		if (!rows || memcmp(c->exec_trust[rows - 1].sha256, v[a].sha256, GG_SHA256_LEN))
			memcpy(c->exec_trust[rows++].sha256, v[a].sha256, GG_SHA256_LEN);
		c->exec_trust[rows - 1].lists |= 1U << v[a].list;
	}
	c->n_exec_trust = rows;
cleanup:
	free(v);
	return ret;
}

static int compile_exec(struct cctx *cx, struct gg_compiled *c)
{
	size_t np = 0, nn = 0;
	int ret;

	/* upper bounds for the tables: one row per key occurrence */
	for (size_t i = 0; i < cx->n_in; i++)
		for (size_t j = 0; j < cx->in[i].pack->n_rules; j++) {
			const struct gg_rule *r = &cx->in[i].pack->rules[j];

			if (r->gate != GG_GATE_EXEC)
				continue;
			np += r->n_paths;
			nn += r->n_basenames + r->exec_disconnected;
		}
	c->exec_paths = calloc(np + 1, sizeof(*c->exec_paths));
	c->exec_names = calloc(nn + 1, sizeof(*c->exec_names));
	if (!c->exec_paths || !c->exec_names)
		return nomem(cx);
	ret = exec_strings(cx, false, c);
	if (!ret)
		ret = exec_strings(cx, true, c);
	if (!ret)
		ret = exec_inodes(cx, c);
	if (!ret)
		ret = exec_digests(cx, c);
	if (!ret)
		ret = compile_trust(cx, c);
	return ret;
}

/* ---- net.egress --------------------------------------------------------- */

/*
 * One (prog, prefix, port, proto) a rule contributes. Lookup contract with
 * the BPF side: the longest prefix of (prog, destination) yields one node;
 * if it has a port_node, egress_port is tried with (port, proto), then
 * (port, 0), then (0, proto), and the first hit decides; otherwise the
 * node's `any` verdict decides. So the compiler makes every node carry the
 * rules of all prefixes covering it, every port row carry the node's `any`
 * rules, and a (port, proto) row exist (with both rule sets) wherever a
 * (port, 0) and a (0, proto) row meet.
 */
struct econ {
	__u8 addr[16];
	__u32 prog;
	__u32 rank;
	__u16 port;
	__u8 v6;
	__u8 plen;
	__u8 narrowed; /* 0: the node's `any`; 1: a port row */
	__u8 proto;
};

static int econ_cmp(const void *a, const void *b)
{
	const struct econ *x = a, *y = b;
	int d;

	if (x->v6 != y->v6)
		return x->v6 < y->v6 ? -1 : 1;
	if (x->prog != y->prog)
		return x->prog < y->prog ? -1 : 1;
	d = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (d)
		return d;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	if (x->narrowed != y->narrowed)
		return x->narrowed < y->narrowed ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static bool same_node(const struct econ *a, const struct econ *b)
{
	return a->v6 == b->v6 && a->prog == b->prog && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static bool prefix_covers(const struct gg_c_egress *p, const struct gg_c_egress *n)
{
	int full = p->plen / 8, rest = p->plen % 8;

	if (p->family != n->family || p->prog != n->prog || p->plen >= n->plen)
		return false;
	if (memcmp(p->addr, n->addr, full))
		return false;
	return !rest || !((p->addr[full] ^ n->addr[full]) & (0xff << (8 - rest)));
}

struct ptrip {
	__u16 port;
	__u8 proto;
	__u32 rank;
};

static int ptrip_cmp(const void *a, const void *b)
{
	const struct ptrip *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

struct pkey {
	__u16 port;
	__u8 proto;
};

/* Appends the ranks of the (port, proto) rows of t to v. */
static int trip_ranks(const struct ptrip *t, size_t n, __u16 port, __u8 proto, struct u32vec *v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t[mid].port < port || (t[mid].port == port && t[mid].proto < proto))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && t[lo].port == port && t[lo].proto == proto; lo++)
		if (vec_push(v, t[lo].rank))
			return -ENOMEM;
	return 0;
}

struct egress_work {
	__u32 *progs; /* one rule's progs (rule_progs) */
	struct econ *con;
	size_t n_con;
	struct ptrip *trips;
	size_t n_trips, cap_trips;
	struct pkey *keys;
	size_t n_keys, cap_keys;
	__u32 *port_lo, *port_hi; /* per node: its rows in c->egress_ports */
	size_t cap_nodes; /* of port_lo and port_hi */
	size_t cap_rows; /* of c->egress_ports */
	size_t cap_egress; /* of c->egress */
	struct u32vec any; /* the node's folded `any` ranks */
	size_t stack[FOLD_DEPTH_MAX]; /* the covering nodes, see node_parent */
	size_t depth;
	__u32 port_nodes; /* port_node ids handed out */
};

static int add_key(struct egress_work *w, __u16 port, __u8 proto)
{
	struct pkey *k = grow(w->keys, &w->cap_keys, w->n_keys, sizeof(*k));

	if (!k)
		return -ENOMEM;
	w->keys = k;
	w->keys[w->n_keys].port = port;
	w->keys[w->n_keys++].proto = proto;
	return 0;
}

static int pkey_cmp(const void *a, const void *b)
{
	const struct pkey *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->proto < y->proto ? -1 : x->proto > y->proto;
}

static bool has_key(const struct egress_work *w, size_t n, __u16 port, __u8 proto)
{
	struct pkey k = { port, proto };

	return bsearch(&k, w->keys, n, sizeof(k), pkey_cmp);
}

static int add_trip(struct egress_work *w, __u16 port, __u8 proto, __u32 rank)
{
	struct ptrip *t = grow(w->trips, &w->cap_trips, w->n_trips, sizeof(*t));

	if (!t)
		return -ENOMEM;
	w->trips = t;
	t[w->n_trips++] = (struct ptrip){ port, proto, rank };
	return 0;
}

/* w->trips: the node's own narrowed contributions [a, b) plus the rows its
 * parent already folded, sorted. */
static int port_trips(struct cctx *cx, const struct gg_compiled *c, struct egress_work *w,
		      size_t a, size_t b, size_t parent)
{
	size_t lo = parent == SIZE_MAX ? 0 : w->port_lo[parent];
	size_t hi = parent == SIZE_MAX ? 0 : w->port_hi[parent];

	w->n_trips = 0;
	for (size_t i = a; i < b; i++)
		if (add_trip(w, w->con[i].port, w->con[i].proto, w->con[i].rank))
			return nomem(cx);
	for (size_t r = lo; r < hi; r++) {
		const struct gg_c_egress_port *row = &c->egress_ports[r];
		const struct setinfo *si = &cx->sets[row->v.entry];

		for (size_t k = 0; k < si->len; k++)
			if (add_trip(w, row->port, row->proto, cx->pool.v[si->off + k]))
				return nomem(cx);
	}
	sort(w->trips, w->n_trips, sizeof(*w->trips), ptrip_cmp);
	return 0;
}

/* w->keys: the distinct (port, proto) of w->trips, sorted. Where a
 * (port, 0) and a (0, proto) both exist, the first-hit lookup needs a
 * (port, proto) row that carries both. */
static int port_keys(struct egress_work *w)
{
	size_t nk;

	w->n_keys = 0;
	for (size_t i = 0; i < w->n_trips; i++)
		if (!i || w->trips[i].port != w->trips[i - 1].port ||
		    w->trips[i].proto != w->trips[i - 1].proto)
			if (add_key(w, w->trips[i].port, w->trips[i].proto))
				return -ENOMEM;
	nk = w->n_keys;
	for (size_t i = 0; i < nk; i++) {
		if (!w->keys[i].port || w->keys[i].proto)
			continue;
		for (size_t j = 0; j < nk; j++) {
			if (w->keys[j].port || !w->keys[j].proto)
				continue;
			if (!has_key(w, nk, w->keys[i].port, w->keys[j].proto) &&
			    add_key(w, w->keys[i].port, w->keys[j].proto))
				return -ENOMEM;
		}
	}
	sort(w->keys, w->n_keys, sizeof(*w->keys), pkey_cmp);
	return 0;
}

/* The set of one port row: the node's `any`, the row's own ranks and, for
 * a (port, proto) row, those of (port, 0) and (0, proto). */
static int port_set(struct cctx *cx, struct egress_work *w, struct pkey key, __u32 *set)
{
	int ret;

	cx->scratch.n = 0;
	if (vec_reserve(&cx->scratch, w->any.n))
		return nomem(cx);
	if (w->any.n)
		memcpy(cx->scratch.v, w->any.v, w->any.n * sizeof(*w->any.v));
	cx->scratch.n = w->any.n;
	ret = trip_ranks(w->trips, w->n_trips, key.port, key.proto, &cx->scratch);
	if (!ret && key.port && key.proto) {
		ret = trip_ranks(w->trips, w->n_trips, key.port, 0, &cx->scratch);
		if (!ret)
			ret = trip_ranks(w->trips, w->n_trips, 0, key.proto, &cx->scratch);
	}
	if (ret)
		return nomem(cx);
	return intern_scratch(cx, GG_GATE_EGRESS, set);
}

static int port_row(struct cctx *cx, struct gg_compiled *c, struct egress_work *w,
		    struct pkey key)
{
	struct gg_c_egress_port *row;
	__u32 set;
	int ret;

	ret = port_set(cx, w, key, &set);
	if (ret)
		return ret;
	if (c->n_egress_ports >= UINT32_MAX) /* w->port_lo and port_hi are 32-bit */
		return gg_errf(cx->err, -E2BIG, "compile: egress port rules too large");
	row = grow(c->egress_ports, &w->cap_rows, c->n_egress_ports, sizeof(*row));
	if (!row)
		return nomem(cx);
	c->egress_ports = row;
	row = &c->egress_ports[c->n_egress_ports++];
	memset(row, 0, sizeof(*row));
	row->port = key.port;
	row->proto = key.proto;
	row->v.entry = set;
	return 0;
}

/* The port rows of node `ni`: its own narrowed contributions [a, b) plus
 * the folded rows of its parent, completed and widened by the node's `any`. */
static int node_ports(struct cctx *cx, struct gg_compiled *c, struct egress_work *w,
		      size_t ni, size_t a, size_t b, size_t parent)
{
	int ret;

	ret = port_trips(cx, c, w, a, b, parent);
	if (ret)
		return ret;
	w->port_lo[ni] = w->port_hi[ni] = c->n_egress_ports;
	if (!w->n_trips)
		return 0;
	if (port_keys(w))
		return nomem(cx);
	for (size_t k = 0; k < w->n_keys; k++) {
		ret = port_row(cx, c, w, w->keys[k]);
		if (ret)
			return ret;
	}
	w->port_hi[ni] = c->n_egress_ports;
	return 0;
}

static int prog_key_cmp(const void *key, const void *b)
{
	return strcmp(key, ((const struct gg_c_egress_prog *)b)->name);
}

/* The names of every program rule, sorted, unique: progs 1..n. Room is
 * left behind them for the combined progs (at most one per file). */
static int egress_prog_names(struct cctx *cx, struct gg_compiled *c)
{
	const char **names = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	for (size_t i = 0; i < cx->n_in; i++)
		for (size_t j = 0; j < cx->in[i].pack->n_rules; j++) {
			const struct gg_rule *r = &cx->in[i].pack->rules[j];

			if (r->gate != GG_GATE_EGRESS || r->sockets)
				continue;
			for (size_t k = 0; k < r->n_programs; k++) {
				const char **p = grow(names, &cap, n, sizeof(*names));

				if (!p) {
					ret = nomem(cx);
					goto cleanup;
				}
				names = p;
				if (strlen(r->programs[k]) >= GG_NAME_MAX) {
					ret = rule_err(cx, i, r, -EINVAL,
						       "program \"%s\" is too long", r->programs[k]);
					goto cleanup;
				}
				names[n++] = r->programs[k];
			}
		}
	sort(names, n, sizeof(*names), gg_strp_cmp);
	c->egress_progs = calloc(n + cx->n_ids + 1, sizeof(*c->egress_progs));
	if (!c->egress_progs) {
		ret = nomem(cx);
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		struct gg_c_egress_prog *p;

		if (i && !strcmp(names[i], names[i - 1]))
			continue;
		p = &c->egress_progs[c->n_egress_progs++];
		strcpy(p->name, names[i]);
		p->prog = c->n_egress_progs;
		/* Program rules restrict what a process sends out of the guest;
		 * traffic to its own loopback never leaves, so they skip it. */
		p->skip_loopback = 1;
	}
	cx->n_prog_names = c->n_egress_progs;
cleanup:
	free(names);
	return ret;
}

static __u32 name_prog(const struct cctx *cx, const struct gg_compiled *c, const char *name)
{
	const struct gg_c_egress_prog *e;

	e = bsearch(name, c->egress_progs, cx->n_prog_names, sizeof(*e), prog_key_cmp);
	return e ? e->prog : 0;
}

/* A combined prog for the names joined (by '/'); takes joined. */
static int combo_prog(struct cctx *cx, struct gg_compiled *c, char *joined, __u32 *prog)
{
	struct gg_c_egress_prog *p;
	char **v;

	for (size_t i = 0; i < cx->n_combos; i++)
		if (!strcmp(cx->combos[i], joined)) {
			free(joined);
			*prog = cx->n_prog_names + i + 1;
			return 0;
		}
	v = realloc(cx->combos, (cx->n_combos + 1) * sizeof(*v));
	if (!v) {
		free(joined);
		return nomem(cx);
	}
	cx->combos = v;
	v[cx->n_combos++] = joined;
	p = &c->egress_progs[c->n_egress_progs++];
	snprintf(p->name, sizeof(p->name), "%s", joined);
	for (char *q = p->name; *q; q++)
		if (*q == '/')
			*q = ',';
	p->prog = c->n_egress_progs;
	p->skip_loopback = 1;
	p->combined = true;
	*prog = p->prog;
	return 0;
}

/* The prog of the files [0, n) of one identity or one digest, sorted by
 * name: its name's own, or a combined prog when several names found it. */
static int group_prog(struct cctx *cx, struct gg_compiled *c,
		      const struct gg_identity *const *f, size_t n, __u32 *prog)
{
	char *joined = NULL;
	size_t names = 0;

	for (size_t i = 0; i < n; i++) {
		char *s;

		if (i && !strcmp(f[i]->path, f[i - 1]->path))
			continue;
		names++;
		if (asprintf(&s, "%s%s%s", joined ? joined : "", joined ? "/" : "", f[i]->path) < 0) {
			free(joined);
			return nomem(cx);
		}
		free(joined);
		joined = s;
	}
	if (names == 1) {
		free(joined);
		*prog = name_prog(cx, c, f[0]->path);
		return 0;
	}
	return combo_prog(cx, c, joined, prog);
}

static int pid_inode_cmp(const void *a, const void *b)
{
	const struct gg_identity *x = *(const struct gg_identity *const *)a;
	const struct gg_identity *y = *(const struct gg_identity *const *)b;
	int d;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	d = strcmp(x->path, y->path);
	return d ? d : strcmp(id_file(x), id_file(y));
}

static int pid_digest_cmp(const void *a, const void *b)
{
	const struct gg_identity *x = *(const struct gg_identity *const *)a;
	const struct gg_identity *y = *(const struct gg_identity *const *)b;
	int d = memcmp(x->sha256, y->sha256, GG_SHA256_LEN);

	if (!d)
		d = strcmp(x->path, y->path);
	return d ? d : strcmp(id_file(x), id_file(y));
}

static bool same_file(const struct gg_identity *x, const struct gg_identity *y, bool digest)
{
	if (digest)
		return !memcmp(x->sha256, y->sha256, GG_SHA256_LEN);
	return x->dev == y->dev && x->ino == y->ino;
}

/* One row per identity (or digest) of the files program names resolved
 * to; f holds the program identities (with a digest, for digest rows). */
static int egress_prog_files(struct cctx *cx, struct gg_compiled *c,
			     const struct gg_identity **f, size_t n, bool digest)
{
	struct gg_c_egress_prog_file *rows = calloc(n + 1, sizeof(*rows)), *r;
	size_t nr = 0;
	int ret = 0;

	if (!rows)
		return nomem(cx);
	sort(f, n, sizeof(*f), digest ? pid_digest_cmp : pid_inode_cmp);
	for (size_t a = 0, b; !ret && a < n; a = b) {
		for (b = a; b < n && same_file(f[a], f[b], digest); b++)
			;
		r = &rows[nr++];
		r->dev = f[a]->dev;
		r->ino = f[a]->ino;
		memcpy(r->sha256, f[a]->sha256, GG_SHA256_LEN);
		r->source = strdup(id_file(f[a]));
		ret = r->source ? group_prog(cx, c, f + a, b - a, &r->prog) : nomem(cx);
	}
	if (digest) {
		c->egress_prog_digests = rows;
		c->n_egress_prog_digests = nr;
	} else {
		c->egress_prog_inodes = rows;
		c->n_egress_prog_inodes = nr;
	}
	return ret;
}

static int egress_progs(struct cctx *cx, struct gg_compiled *c)
{
	const struct gg_identity **f = calloc(cx->n_ids + 1, sizeof(*f));
	size_t n = 0, nd = 0;
	int ret;

	if (!f)
		return nomem(cx);
	ret = egress_prog_names(cx, c);
	for (size_t k = 0; !ret && k < cx->n_ids; k++)
		if (cx->ids[k].from == GG_ID_PROGRAM)
			f[n++] = &cx->ids[k];
	if (!ret)
		ret = egress_prog_files(cx, c, f, n, false);
	for (size_t k = 0; !ret && k < n; k++)
		if (f[k]->has_digest)
			f[nd++] = f[k];
	if (!ret)
		ret = egress_prog_files(cx, c, f, nd, true);
	free(f);
	return ret;
}

/* Is a name one of a combined prog's? */
static bool combo_has(const char *joined, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = joined; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
		if (!strncmp(p, name, len) && (p[len] == '/' || !p[len]))
			return true;
	return false;
}

/* The progs a program rule applies to: its names' own, and every
 * combined prog one of its names is part of. */
static size_t rule_progs(const struct cctx *cx, const struct gg_compiled *c,
			 const struct gg_rule *r, __u32 *out)
{
	size_t n = 0;

	for (size_t p = 0; p < r->n_programs; p++)
		out[n++] = name_prog(cx, c, r->programs[p]);
	for (size_t i = 0; i < cx->n_combos; i++)
		for (size_t p = 0; p < r->n_programs; p++)
			if (combo_has(cx->combos[i], r->programs[p])) {
				out[n++] = cx->n_prog_names + i + 1;
				break;
			}
	return n;
}

/* IPv4-mapped IPv6 prefixes (inside ::ffff:0:0/96) are IPv4 nodes: the
 * programs look mapped destinations up in egress_v4. */
static void to_node_addr(const struct gg_cidr *in, struct econ *e)
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(e->addr, 0, sizeof(e->addr));
	if (in->family == AF_INET6 && in->plen >= 96 && !memcmp(in->addr, mapped, 12)) {
		e->v6 = 0;
		memcpy(e->addr, in->addr + 12, 4);
		e->plen = in->plen - 96;
	} else if (in->family == AF_INET6) {
		e->v6 = 1;
		memcpy(e->addr, in->addr, 16);
		e->plen = in->plen;
	} else {
		e->v6 = 0;
		memcpy(e->addr, in->addr, 4);
		e->plen = in->plen;
	}
}

/*
 * Contributions often come in runs already sorted (a rule's prefixes as a
 * generator or an author listed them): a few runs are merged, pairwise,
 * in one pass each, instead of a full sort of a million. Many runs: qsort.
 * Returns -ENOMEM if the buffer cannot be had.
 */
#define ECON_RUNS_MERGED 16

static int econ_sort(struct econ **conp, size_t n)
{
	size_t at[ECON_RUNS_MERGED + 1], runs = 0;
	struct econ *con = *conp, *tmp, *src = con, *dst;

	at[runs++] = 0;
	for (size_t i = 1; i < n; i++)
		if (econ_cmp(&con[i - 1], &con[i]) > 0) {
			if (runs == ECON_RUNS_MERGED) {
				sort(con, n, sizeof(*con), econ_cmp);
				return 0;
			}
			at[runs++] = i;
		}
	if (runs == 1)
		return 0;
	tmp = malloc(n * sizeof(*con));
	if (!tmp)
		return -ENOMEM;
	dst = tmp;
	at[runs] = n;
	while (runs > 1) {
		size_t w = 0;

		/* runs r and r + 1 (at[runs] = n: a last run alone is copied) */
		for (size_t r = 0; r < runs; r += 2) {
			size_t i = at[r], mid = at[r + 1], end = r + 2 <= runs ? at[r + 2] : n;
			size_t j = mid, k = i;

			while (i < mid && j < end)
				dst[k++] = econ_cmp(&src[j], &src[i]) < 0 ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < end)
				dst[k++] = src[j++];
			at[w++] = at[r];
		}
		at[w] = n;
		runs = w;
		dst = src;
		src = src == con ? tmp : con;
	}
	if (src != con) { /* the merged order is in tmp: it becomes the table */
		free(con);
		*conp = tmp;
	} else {
		free(tmp);
	}
	return 0;
}

static int egress_contribs(struct cctx *cx, const struct gg_compiled *c, struct egress_work *w)
{
	static const struct gg_cidr all[2] = { { .family = AF_INET }, { .family = AF_INET6 } };
	size_t total = 0, max_progs = 0;

	for (size_t i = 0; i < cx->n_in; i++)
		for (size_t j = 0; j < cx->in[i].pack->n_rules; j++) {
			const struct gg_rule *r = &cx->in[i].pack->rules[j];
			size_t np = r->n_programs ? r->n_programs + cx->n_combos : 1;
			size_t nc = r->n_cidrs ? r->n_cidrs : 2;
			size_t nq = r->n_ports ? r->n_ports : 1, m;

			if (r->gate != GG_GATE_EGRESS || r->sockets || r->allowlist)
				continue;
			if (np > max_progs)
				max_progs = np;
			if (__builtin_mul_overflow(np, nc, &m) ||
			    __builtin_mul_overflow(m, nq, &m) ||
			    __builtin_add_overflow(total, m, &total))
				return gg_errf(cx->err, -E2BIG, "compile: egress rules too large");
		}
	if (total > SIZE_MAX / sizeof(*w->con) - 1)
		return gg_errf(cx->err, -E2BIG, "compile: egress rules too large");
	w->con = calloc(total + 1, sizeof(*w->con));
	w->progs = calloc(max_progs + 1, sizeof(*w->progs));
	if (!w->con || !w->progs)
		return nomem(cx);
	for (size_t i = 0; i < cx->n_in; i++)
		for (size_t j = 0; j < cx->in[i].pack->n_rules; j++) {
			const struct gg_rule *r = &cx->in[i].pack->rules[j];
			const struct gg_cidr *cidrs = r->n_cidrs ? r->cidrs : all;
			size_t np = 1;
			size_t nc = r->n_cidrs ? r->n_cidrs : 2;
			size_t nq = r->n_ports ? r->n_ports : 1;
			bool narrowed = r->n_ports || r->proto;
			__u32 rk;

			if (r->gate != GG_GATE_EGRESS || r->sockets || r->allowlist)
				continue;
			rk = rank(cx, i, r);
			w->progs[0] = 0;
			if (r->n_programs)
				np = rule_progs(cx, c, r, w->progs);
			for (size_t p = 0; p < np; p++) {
				__u32 prog = w->progs[p];

				for (size_t k = 0; k < nc; k++)
					for (size_t q = 0; q < nq; q++) {
						struct econ *e = &w->con[w->n_con++];

						to_node_addr(&cidrs[k], e);
						e->prog = prog;
						e->rank = rk;
						e->narrowed = narrowed;
						e->port = r->n_ports ? r->ports[q] : 0;
						e->proto = r->proto;
					}
			}
		}
	return econ_sort(&w->con, w->n_con) ? nomem(cx) : 0;
}

/* Appends node ni = c->n_egress for the contributions starting at con[a],
 * growing the per-node port ranges along with the node table. */
static int node_add(struct cctx *cx, struct gg_compiled *c, struct egress_work *w, size_t a)
{
	const struct econ *e = &w->con[a];
	struct gg_c_egress *node;

	node = grow(c->egress, &w->cap_egress, c->n_egress, sizeof(*node));
	if (!node)
		return nomem(cx);
	c->egress = node;
	if (c->n_egress >= w->cap_nodes) {
		__u32 *lo = realloc(w->port_lo, w->cap_egress * sizeof(*lo));
		__u32 *hi = lo ? realloc(w->port_hi, w->cap_egress * sizeof(*hi)) : NULL;

		if (lo)
			w->port_lo = lo;
		if (!lo || !hi)
			return nomem(cx);
		w->port_hi = hi;
		w->cap_nodes = w->cap_egress;
	}
	node = &c->egress[c->n_egress++];
	memset(node, 0, sizeof(*node));
	node->family = e->v6 ? AF_INET6 : AF_INET;
	node->prog = e->prog;
	node->plen = e->plen;
	memcpy(node->addr, e->addr, sizeof(node->addr));
	return 0;
}

/* Sorted by (family, prog, addr, plen), a node's covering prefixes precede
 * it and nest: the stack holds the chain of covering nodes, its top the
 * nearest (already folded) one. Returns node ni's parent, or SIZE_MAX. */
static size_t node_parent(const struct gg_compiled *c, struct egress_work *w, size_t ni)
{
	size_t parent = SIZE_MAX;

	while (w->depth && !prefix_covers(&c->egress[w->stack[w->depth - 1]], &c->egress[ni]))
		w->depth--;
	if (w->depth)
		parent = w->stack[w->depth - 1];
	if (w->depth < FOLD_DEPTH_MAX)
		w->stack[w->depth++] = ni;
	return parent;
}

/* The node's `any` set: its own unnarrowed contributions [a, k) plus its
 * parent's folded `any`. Leaves the ranks in w->any for node_ports. */
static int node_any(struct cctx *cx, struct gg_compiled *c, struct egress_work *w, size_t a,
		    size_t k, size_t parent, __u32 *set)
{
	w->any.n = 0;
	for (size_t i = a; i < k; i++)
		if (vec_push(&w->any, w->con[i].rank))
			return nomem(cx);
	if (parent != SIZE_MAX && set_append(cx, c->egress[parent].val.any.entry, &w->any))
		return nomem(cx);
	vec_sort_unique(&w->any);
	return set_intern(cx, GG_GATE_EGRESS, w->any.v, w->any.n, set);
}

/* A node with port rows gets the next port_node id; its rows point back. */
static void node_link_ports(struct gg_compiled *c, struct egress_work *w, size_t ni)
{
	struct gg_c_egress *node = &c->egress[ni];

	node->val.port_node = 0;
	if (w->port_hi[ni] == w->port_lo[ni])
		return;
	node->val.port_node = ++w->port_nodes;
	for (size_t r = w->port_lo[ni]; r < w->port_hi[ni]; r++)
		c->egress_ports[r].node = w->port_nodes;
}

/* One node from the contributions [a, b) that share its prefix. */
static int egress_node(struct cctx *cx, struct gg_compiled *c, struct egress_work *w, size_t a,
		       size_t b)
{
	size_t k, ni = c->n_egress, parent;
	__u32 set;
	int ret;

	/* unnarrowed contributions sort first */
	for (k = a; k < b && !w->con[k].narrowed; k++)
		;
	ret = node_add(cx, c, w, a);
	if (ret)
		return ret;
	parent = node_parent(c, w, ni);
	ret = node_any(cx, c, w, a, k, parent, &set);
	if (ret)
		return ret;
	c->egress[ni].val.any.entry = set;
	ret = node_ports(cx, c, w, ni, k, b, parent);
	if (ret)
		return ret;
	node_link_ports(c, w, ni);
	return 0;
}

/* Room for the most nodes the contributions make (one each), taken once:
 * growing a million-node table by doubling copies it each time, and only
 * the pages written are ever touched. */
static int egress_reserve(struct cctx *cx, struct gg_compiled *c, struct egress_work *w)
{
	size_t n = w->n_con + 1;

	if (c->egress || n <= 64)
		return 0;
	c->egress = malloc(n * sizeof(*c->egress));
	w->port_lo = malloc(n * sizeof(*w->port_lo));
	w->port_hi = malloc(n * sizeof(*w->port_hi));
	if (!c->egress || !w->port_lo || !w->port_hi)
		return nomem(cx);
	w->cap_egress = w->cap_nodes = n;
	return 0;
}

static int compile_egress(struct cctx *cx, struct gg_compiled *c)
{
	struct egress_work w = {};
	int ret;

	ret = egress_progs(cx, c);
	if (!ret)
		ret = egress_contribs(cx, c, &w);
	if (!ret)
		ret = egress_reserve(cx, c, &w);
	for (size_t a = 0, b; !ret && a < w.n_con; a = b) {
		for (b = a; b < w.n_con && same_node(&w.con[a], &w.con[b]); b++)
			;
		ret = egress_node(cx, c, &w, a, b);
	}
	free(w.con);
	free(w.progs);
	free(w.trips);
	free(w.keys);
	free(w.port_lo);
	free(w.port_hi);
	free(w.any.v);
	return ret;
}

/* ---- net.egress allowlists --------------------------------------------- */

/* The contributions of one list's CIDR entries: one per port. */
static int allow_cons(const struct gg_allowlist *w, __u32 bit, struct gg_allow_con **v,
		      size_t *n, size_t *cap)
{
	for (size_t i = 0; i < w->n_entries; i++) {
		const struct gg_allow_entry *e = &w->entries[i];
		size_t np = e->n_ports ? e->n_ports : 1;

		if (e->domain)
			continue;
		for (size_t k = 0; k < np; k++) {
			struct gg_allow_con *p = grow(*v, cap, *n, sizeof(**v));

			if (!p)
				return -ENOMEM;
			*v = p;
			p = &p[(*n)++];
			memset(p, 0, sizeof(*p));
			gg_allow_con_set(p, e->cidr.family, e->cidr.addr, e->cidr.plen);
			p->narrowed = e->n_ports || e->proto;
			p->port = e->n_ports ? e->ports[k] : 0;
			p->proto = e->proto;
			p->lists = bit;
		}
	}
	return 0;
}

/* The list's domain entries, for the pattern set. */
static int allow_domains(const struct gg_allowlist *w, __u32 list, struct gg_compiled *c,
			 size_t *cap)
{
	for (size_t i = 0; i < w->n_entries; i++) {
		const struct gg_allow_entry *e = &w->entries[i];
		struct gg_c_allow_domain *d;

		if (!e->domain)
			continue;
		d = grow(c->allow_domains, cap, c->n_allow_domains, sizeof(*d));
		if (!d)
			return -ENOMEM;
		c->allow_domains = d;
		d = &d[c->n_allow_domains++];
		memset(d, 0, sizeof(*d));
		d->list = list;
		d->proto = e->proto;
		if (asprintf(&d->pattern, "%s%s", e->wildcard ? "*." : "", e->domain) < 0) {
			d->pattern = NULL;
			return -ENOMEM;
		}
		d->ports = calloc(e->n_ports + 1, sizeof(*d->ports));
		if (!d->ports)
			return -ENOMEM;
		memcpy(d->ports, e->ports, e->n_ports * sizeof(*d->ports));
		d->n_ports = e->n_ports;
	}
	return 0;
}

/* One list per input with an egress_allowlist, in input order; its verdict
 * is the set of its rule alone. */
static int allow_list(struct cctx *cx, struct gg_compiled *c, size_t i)
{
	const struct gg_pack *pk = cx->in[i].pack;
	const struct gg_rule *r = &pk->rules[pk->n_rules - 1];
	struct gg_c_allow_list *l;

	if (!pk->n_rules || !r->allowlist)
		return gg_errf(cx->err, -EINVAL, "compile: %s: allowlist without its rule",
			       cx->labels[i]);
	if (c->n_allow_lists == GG_ALLOW_LISTS)
		return gg_errf(cx->err, -E2BIG, "compile: %s: more than %d egress allowlists",
			       cx->labels[i], GG_ALLOW_LISTS);
	l = &c->allow_lists[c->n_allow_lists++];
	l->pack = strdup(cx->labels[i]);
	if (!l->pack)
		return nomem(cx);
	cx->scratch.n = 0;
	if (vec_push(&cx->scratch, rank(cx, i, r)))
		return nomem(cx);
	return intern_scratch(cx, GG_GATE_EGRESS, &l->v.entry);
}

static int compile_allowlists(struct cctx *cx, struct gg_compiled *c)
{
	struct gg_allow_con *con = NULL;
	size_t n = 0, cap = 0, dcap = 0;
	int ret = 0;

	c->allow_lists = calloc(GG_ALLOW_LISTS, sizeof(*c->allow_lists));
	if (!c->allow_lists)
		return nomem(cx);
	for (size_t i = 0; !ret && i < cx->n_in; i++) {
		const struct gg_allowlist *w = cx->in[i].pack->allowlist;
		__u32 list = c->n_allow_lists;

		if (!w)
			continue;
		ret = allow_list(cx, c, i);
		if (!ret && (allow_cons(w, 1U << list, &con, &n, &cap) ||
			     allow_domains(w, list, c, &dcap)))
			ret = nomem(cx);
	}
	if (!ret && gg_allow_fold(con, n, &c->allow_nodes, &c->n_allow_nodes, &c->allow_ports,
				  &c->n_allow_ports))
		ret = nomem(cx);
	free(con);
	return ret;
}

/* ---- net.egress socket kinds --------------------------------------------- */

/* One verdict per kind: the union of the rules that name it. A "sockets"
 * rule has no destination part: compile_egress skips it. */
static int compile_sockets(struct cctx *cx, struct gg_compiled *c)
{
	int ret = 0;

	for (int k = 0; !ret && k < GG_SOCK_KINDS; k++) {
		cx->scratch.n = 0;
		for (size_t i = 0; i < cx->n_in; i++)
			for (size_t j = 0; j < cx->in[i].pack->n_rules; j++) {
				const struct gg_rule *r = &cx->in[i].pack->rules[j];

				if (r->gate == GG_GATE_EGRESS && (r->sockets & (1U << k)) &&
				    vec_push(&cx->scratch, rank(cx, i, r)))
					return nomem(cx);
			}
		c->sockets[k].entry = 0;
		ret = intern_scratch(cx, GG_GATE_EGRESS, &c->sockets[k].entry);
	}
	return ret;
}

/* ---- kernel.module ------------------------------------------------------ */

static int compile_module_kind(struct cctx *cx, bool kexec, struct gg_verdict *v)
{
	cx->scratch.n = 0;
	for (size_t i = 0; i < cx->n_in; i++)
		for (size_t j = 0; j < cx->in[i].pack->n_rules; j++) {
			const struct gg_rule *r = &cx->in[i].pack->rules[j];

			if (r->gate == GG_GATE_MODULE && r->module_kexec == kexec &&
			    vec_push(&cx->scratch, rank(cx, i, r)))
				return nomem(cx);
		}
	v->entry = 0;
	return intern_scratch(cx, GG_GATE_MODULE, &v->entry);
}

static int compile_module(struct cctx *cx, struct gg_compiled *c)
{
	int ret = compile_module_kind(cx, false, &c->module);

	return ret ? ret : compile_module_kind(cx, true, &c->kexec);
}

/* ---- entries ------------------------------------------------------------ */

/* Replaces a set id held in v->entry by its entry id and action. */
static int assign(struct cctx *cx, struct gg_verdict *v)
{
	struct setinfo *si;
	__u32 set = v->entry;

	if (set == NOSET) {
		v->entry = 0;
		v->action = GG_ACT_NONE;
		return 0;
	}
	si = &cx->sets[set];
	if (!si->entry) {
		if (vec_push(&cx->order, set))
			return nomem(cx);
		si->entry = cx->order.n;
	}
	v->entry = si->entry;
	v->action = GG_ACT_OBSERVE;
	for (size_t k = 0; k < si->len; k++)
		if (cx->rank_mode[cx->pool.v[si->off + k]] == GG_ACT_DENY)
			v->action = GG_ACT_DENY;
	return 0;
}

/* Sorted unique copies of the pointers in v[0..n). */
static int uniq_strs(const char **v, size_t n, char ***out, size_t *n_out)
{
	size_t w = 0;

	sort(v, n, sizeof(*v), gg_strp_cmp);
	*out = calloc(n + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (w && !strcmp((*out)[w - 1], v[i]))
			continue;
		(*out)[w] = strdup(v[i]);
		if (!(*out)[w])
			return -ENOMEM;
		*n_out = ++w;
	}
	return 0;
}

static int build_entry(struct cctx *cx, __u32 set, struct gg_entry *e)
{
	const struct setinfo *si = &cx->sets[set];
	const char **ctl = NULL, **fw = NULL, **rctl = NULL;
	size_t n_ctl = 0, n_fw = 0, cap_ctl = 0, cap_fw = 0, cap_rctl = 0;
	int ret = -ENOMEM;

	e->gate = si->gate;
	e->action = GG_ACT_OBSERVE;
	for (size_t k = 0; k < si->len; k++)
		if (cx->rank_mode[cx->pool.v[si->off + k]] == GG_ACT_DENY)
			e->action = GG_ACT_DENY;
	e->rules = calloc(si->len, sizeof(*e->rules));
	if (!e->rules)
		goto cleanup;
	for (size_t k = 0; k < si->len; k++) {
		__u32 r = cx->pool.v[si->off + k];
		const struct rrec *rc = &cx->recs[cx->rank_start[r]];
		struct gg_entry_rule *er = &e->rules[e->n_rules++];
		/* the entry's own lists: what its action satisfies */
		bool acts = cx->rank_mode[r] == e->action;
		size_t n_rctl = 0;

		er->mode = cx->rank_mode[r];
		er->pack = strdup(rc->label);
		er->rule = strdup(rc->rule->id);
		er->framework = rc->pack->fw_id ? strdup(rc->pack->fw_id) : NULL;
		if (!er->pack || !er->rule || (rc->pack->fw_id && !er->framework))
			goto cleanup;
		/* every record of this rank (the same rule given twice) */
		for (size_t i = cx->rank_start[r]; i < cx->rank_start[r + 1]; i++) {
			const struct rrec *x = &cx->recs[i];

			for (size_t j = 0; j < x->rule->n_controls; j++) {
				const char **p = grow(rctl, &cap_rctl, n_rctl, sizeof(*rctl));

				if (!p)
					goto cleanup;
				rctl = p;
				rctl[n_rctl++] = x->rule->controls[j];
				if (!acts)
					continue;
				p = grow(ctl, &cap_ctl, n_ctl, sizeof(*ctl));
				if (!p)
					goto cleanup;
				ctl = p;
				ctl[n_ctl++] = x->rule->controls[j];
			}
			if (acts && x->pack->fw_id) {
				const char **p = grow(fw, &cap_fw, n_fw, sizeof(*fw));

				if (!p)
					goto cleanup;
				fw = p;
				fw[n_fw++] = x->pack->fw_id;
			}
		}
		/* the rule's own, whatever its mode: events split them by mode */
		if (uniq_strs(rctl, n_rctl, &er->controls, &er->n_controls))
			goto cleanup;
	}
	if (uniq_strs(ctl, n_ctl, &e->controls, &e->n_controls) ||
	    uniq_strs(fw, n_fw, &e->frameworks, &e->n_frameworks))
		goto cleanup;
	ret = 0;
cleanup:
	free(ctl);
	free(fw);
	free(rctl);
	return ret;
}

static int build_entries(struct cctx *cx, struct gg_compiled *c)
{
	int ret = assign(cx, &c->module);

	if (!ret)
		ret = assign(cx, &c->kexec);
	for (size_t i = 0; !ret && i < c->n_exec_paths; i++)
		ret = assign(cx, &c->exec_paths[i].v);
	for (size_t i = 0; !ret && i < c->n_exec_names; i++)
		ret = assign(cx, &c->exec_names[i].v);
	for (size_t i = 0; !ret && i < c->n_exec_inodes; i++)
		ret = assign(cx, &c->exec_inodes[i].v);
	for (size_t i = 0; !ret && i < c->n_exec_digests; i++)
		ret = assign(cx, &c->exec_digests[i].v);
	for (size_t i = 0; !ret && i < c->n_egress; i++)
		ret = assign(cx, &c->egress[i].val.any);
	for (size_t i = 0; !ret && i < c->n_egress_ports; i++)
		ret = assign(cx, &c->egress_ports[i].v);
	/* last: ids of the rules before socket kinds existed stay as they were */
	for (int k = 0; !ret && k < GG_SOCK_KINDS; k++)
		ret = assign(cx, &c->sockets[k]);
	for (size_t i = 0; !ret && i < c->n_trust_lists; i++)
		ret = assign(cx, &c->trust_lists[i]);
	for (size_t i = 0; !ret && i < c->n_allow_lists; i++)
		ret = assign(cx, &c->allow_lists[i].v);
	if (ret)
		return ret;
	c->entries = calloc(cx->order.n + 1, sizeof(*c->entries));
	if (!c->entries)
		return nomem(cx);
	for (size_t i = 0; i < cx->order.n; i++) {
		c->n_entries = i + 1;
		c->entries[i].id = i + 1;
		if (build_entry(cx, cx->order.v[i], &c->entries[i]))
			return nomem(cx);
	}
	return 0;
}

static int build_refs(struct cctx *cx, struct gg_compiled *c)
{
	c->refs = calloc(cx->n_in + 1, sizeof(*c->refs));
	if (!c->refs)
		return nomem(cx);
	for (size_t i = 0; i < cx->n_in; i++) {
		bool enforce = cx->in[i].mode != GG_ACT_OBSERVE;

		if (asprintf(&c->refs[i], "%s (%s)", cx->labels[i],
			     enforce ? "enforce" : "observe") < 0) {
			c->refs[i] = NULL;
			return nomem(cx);
		}
		c->n_refs = i + 1;
	}
	return 0;
}

/* The kernel's s_dev encoding, not glibc's. */
static __u64 kdev(dev_t d)
{
	return ((__u64)major(d) << 20) | minor(d);
}

static int resolve_one(const struct gg_policy_input *in, const struct gg_rule *r,
		       const char *path, struct gg_identity *id, struct gg_err *err)
{
	struct stat st;

	/* follows symlinks: the identity is the file they lead to */
	if (stat(path, &st))
		return input_rule_err(err, in, r, -errno, "identity \"%s\": %s", path,
				      strerror(errno));
	if (!S_ISREG(st.st_mode))
		return input_rule_err(err, in, r, -EINVAL,
				      "identity \"%s\": not a regular file", path);
	id->path = path;
	id->dev = kdev(st.st_dev);
	id->ino = st.st_ino;
	return 0;
}

const struct gg_resolve_opts gg_resolve_standard = {
	.dirs = (const char *const[]){ "/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
				       "/usr/bin", "/sbin", "/bin", NULL },
};

/* Appends one zeroed identity of rule (i, j). */
static struct gg_identity *id_push(struct gg_identity **v, size_t *n, size_t *cap, size_t i,
				   size_t j, enum gg_id_from from, const char *path)
{
	struct gg_identity *p = grow(*v, cap, *n, sizeof(**v));

	if (!p)
		return NULL;
	*v = p;
	p = &p[(*n)++];
	memset(p, 0, sizeof(*p));
	p->input = i;
	p->rule = j;
	p->from = from;
	p->path = path;
	return p;
}

/*
 * What the filesystem says about each candidate path, asked once per
 * resolution: the nine packs deny mostly the same names, each looked for in
 * six directories (3,100 stat calls and 500 readlinks per apply before).
 * The table holds pointers: its 1,024 slots are 8 kB of heap, where a
 * table of the entries themselves was 170 kB mapped afresh (and faulted
 * in, 42 pages) by every apply.
 */
struct path_info {
	bool exists, lnk, reg; /* lstat, a symlink; stat, a regular file */
	bool keep; /* absent, in a settled directory: see below */
	char *real; /* realpath, for a symlink (NULL: none) */
	struct stat st; /* stat's, when reg; the directory's, when keep */
	char path[]; /* the key */
};

static struct path_info **paths;
static size_t paths_cap, paths_n;

/*
 * Across resolutions (the daemon's applies: gg_compile_keep_absent), the
 * names found absent are kept: most denied tools are not installed, and
 * asking again was 150 of the nine packs' 200 lookups. An absent name
 * stays absent while its directory is the same directory with the same
 * mtime and ctime: making, linking or renaming a name in it sets both.
 * Both come from a coarse clock, so a change in the tick of the lookup
 * could leave them as they were: a name is kept only if its directory had
 * not changed for gg_dir_settle_s (by the clock read before its stat). A
 * root task that sets the clock back can defeat that; the watch therefore
 * drops what is kept before it applies again for a file that appeared
 * (gg_compile_forget_absent). Whatever exists is looked up again
 * (its identity, its content's version). One stat per directory per
 * resolution says what is still good.
 */
int gg_dir_settle_s = 2;
unsigned long gg_resolve_lookups;

static bool keep_absent;

struct dir_stat {
	char *dir;
	int ret; /* of stat */
	struct stat st;
	time_t before; /* the clock just before the stat */
};

/* The directories stat()ed by this resolution. */
static struct dir_stat dir_stats[64];
static size_t n_dir_stats;

static const struct dir_stat *dir_stat_of(const char *file);
static size_t path_slot(const char *path);

/*
 * The directories looked in, by their real path: with a merged /usr, /bin
 * and /sbin are /usr/bin and /usr/sbin, and /bin/nc is the same lookup as
 * /usr/bin/nc (only the last component is not followed), asked once.
 */
#define GG_DIRS_MAX 64

static struct {
	char *dir, *real; /* real: NULL (dir is used) unless it is dir's directory */
} dirs[GG_DIRS_MAX];
static size_t n_dirs;

static void path_free(struct path_info *pi)
{
	if (pi)
		free(pi->real);
	free(pi);
}

/* The end of a resolution: what it alone may use goes (all, unless kept;
 * the holes this leaves are gone when paths_revalidate builds the table
 * again, before anything is looked up in it). */
static void paths_done(bool all)
{
	for (size_t i = 0; i < paths_cap; i++) {
		if (paths[i] && (all || !paths[i]->keep)) {
			path_free(paths[i]);
			paths[i] = NULL;
			paths_n--;
		}
	}
	if (!paths_n) {
		free(paths);
		paths = NULL;
		paths_cap = 0;
	}
	for (size_t i = 0; i < n_dirs; i++) {
		free(dirs[i].dir);
		free(dirs[i].real);
	}
	n_dirs = 0;
	for (size_t i = 0; i < n_dir_stats; i++)
		free(dir_stats[i].dir);
	n_dir_stats = 0;
}

/* The start of a resolution: kept names whose directory changed go. The
 * table is built again (open addressing: no holes). */
static void paths_revalidate(void)
{
	struct path_info **old = paths;
	size_t cap = paths_cap;

	if (!paths_n)
		return;
	paths = calloc(cap, sizeof(*paths));
	if (!paths) {
		paths = old;
		paths_done(true);
		return;
	}
	paths_n = 0;
	for (size_t i = 0; i < cap; i++) {
		const struct dir_stat *ds = old[i] ? dir_stat_of(old[i]->path) : NULL;

		if (ds && !ds->ret && gg_stat_same_version(&ds->st, &old[i]->st)) {
			paths[path_slot(old[i]->path)] = old[i];
			paths_n++;
		} else {
			path_free(old[i]);
		}
	}
	free(old);
}

void gg_compile_keep_absent(bool on)
{
	keep_absent = on;
	if (!on)
		paths_done(true);
}

void gg_compile_forget_absent(void)
{
	paths_done(true);
}

/* dir's real path, if it is the directory dir names: realpath takes the
 * text of /proc's magic links (a root or a cwd in another mount namespace),
 * which is not where the kernel's lookup goes; NULL then, or on failure. */
static char *dir_real(const char *dir)
{
	char *real = realpath(dir, NULL);
	struct stat a, b;

	if (real && (stat(dir, &a) || stat(real, &b) || a.st_dev != b.st_dev ||
		     a.st_ino != b.st_ino)) {
		free(real);
		real = NULL;
	}
	return real;
}

/* file with its directory's real path ("/bin/nc": "/usr/bin/nc") in key
 * (PATH_MAX bytes), or NULL (none known, or too long: file is looked up
 * as it is). Built without printf: 2,900 candidates per apply of the nine
 * packs. */
static const char *path_key(const char *file, char *key)
{
	const char *slash = strrchr(file, '/'), *real = NULL;
	size_t dlen = slash ? (size_t)(slash - file) : 0, rlen, blen;
	size_t i;

	if (!slash || !dlen)
		return NULL;
	for (i = 0; i < n_dirs; i++)
		if (strlen(dirs[i].dir) == dlen && !memcmp(dirs[i].dir, file, dlen))
			break;
	if (i == n_dirs && n_dirs < GG_DIRS_MAX && (dirs[i].dir = strndup(file, dlen))) {
		dirs[i].real = dir_real(dirs[i].dir);
		n_dirs++;
	}
	if (i < n_dirs)
		real = dirs[i].real;
	if (!real || (strlen(real) == dlen && !memcmp(real, file, dlen)))
		return NULL;
	rlen = strlen(real);
	blen = strlen(slash) + 1;
	if (rlen + blen > PATH_MAX)
		return NULL;
	memcpy(key, real, rlen);
	memcpy(key + rlen, slash, blen);
	return key;
}

static size_t path_hash(const char *s)
{
	size_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void path_stat(struct path_info *pi, const char *file)
{
	/* the directory first: a name made after it is seen changes it */
	const struct dir_stat *ds = keep_absent ? dir_stat_of(file) : NULL;
	int absent;

	pi->keep = false;
	gg_resolve_lookups++;
	pi->exists = !lstat(file, &pi->st);
	absent = !pi->exists && errno == ENOENT;
	pi->lnk = pi->exists && S_ISLNK(pi->st.st_mode);
	pi->real = pi->lnk ? realpath(file, NULL) : NULL;
	/* stat() only for a link: of anything else it says what lstat did */
	pi->reg = pi->exists && (!pi->lnk || !stat(file, &pi->st)) && S_ISREG(pi->st.st_mode);
	if (ds && absent && !ds->ret && S_ISDIR(ds->st.st_mode) &&
	    gg_stat_settled(&ds->st, ds->before, gg_dir_settle_s)) {
		pi->keep = true;
		pi->st = ds->st;
	}
}

/* The stat of file's directory, asked once per resolution; NULL: none. */
static const struct dir_stat *dir_stat_of(const char *file)
{
	const char *slash = strrchr(file, '/');
	size_t len = slash ? (size_t)(slash - file) : 0;
	struct dir_stat *ds;

	if (!len)
		return NULL;
	for (size_t i = 0; i < n_dir_stats; i++)
		if (strlen(dir_stats[i].dir) == len && !memcmp(dir_stats[i].dir, file, len))
			return &dir_stats[i];
	if (n_dir_stats == sizeof(dir_stats) / sizeof(dir_stats[0]))
		return NULL;
	ds = &dir_stats[n_dir_stats];
	ds->dir = strndup(file, len);
	if (!ds->dir)
		return NULL;
	ds->before = time(NULL);
	ds->ret = stat(ds->dir, &ds->st) ? -errno : 0;
	n_dir_stats++;
	return ds;
}

/* The slot of path in the table: its own, or the free one it would take. */
static size_t path_slot(const char *path)
{
	size_t mask = paths_cap - 1, i;

	for (i = path_hash(path) & mask; paths[i]; i = (i + 1) & mask)
		if (!strcmp(paths[i]->path, path))
			break;
	return i;
}

/* The entry of file, a key (path_key). */
static struct path_info *path_info_of(const char *file)
{
	size_t i, len;

	if (2 * (paths_n + 1) > paths_cap) {
		struct path_info **old = paths;
		size_t n = paths_cap;

		paths = calloc(n ? 2 * n : 1024, sizeof(*paths));
		if (!paths) {
			paths = old;
			return NULL;
		}
		paths_cap = n ? 2 * n : 1024;
		for (size_t k = 0; k < n; k++)
			if (old[k])
				paths[path_slot(old[k]->path)] = old[k];
		free(old);
	}
	i = path_slot(file);
	if (paths[i])
		return paths[i];
	len = strlen(file) + 1;
	paths[i] = malloc(sizeof(*paths[i]) + len);
	if (!paths[i])
		return NULL;
	memcpy(paths[i]->path, file, len);
	paths_n++;
	path_stat(paths[i], file);
	return paths[i];
}

/* file's entry; NULL when out of memory (the caller asks the kernel). */
static struct path_info *path_info(const char *file)
{
	char buf[PATH_MAX];
	const char *key = path_key(file, buf);

	return path_info_of(key ? key : file);
}

/* Whether the file a link leads to (real) is denied by the rule under its own
 * name or path (a program rule: its own program name): nc -> nc.openbsd and modprobe -> kmod are (the shipped
 * lists name both), nc -> busybox is not, and the content of a multi-call
 * binary must not be denied for one of its applets. */
static bool target_denied(const struct gg_rule *r, const char *real)
{
	const char *base;
	bool ok = false;

	if (!real)
		return false;
	base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
	for (size_t k = 0; !ok && k < r->n_basenames; k++)
		ok = !strcmp(r->basenames[k], base);
	for (size_t k = 0; !ok && k < r->n_paths; k++)
		ok = !strcmp(r->paths[k], real);
	for (size_t k = 0; !ok && r->gate == GG_GATE_EGRESS && k < r->n_programs; k++)
		ok = !strcmp(r->programs[k], base);
	return ok;
}

static int fd_sha256(int fd, __u8 sha256[GG_SHA256_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	/* not on the stack: the daemon's stack pages, once touched, stay */
	const size_t size = 65536;
	unsigned char *buf = malloc(size);
	unsigned int len = 0;
	int ret = -EIO;
	ssize_t r;

	if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto cleanup;
	while ((r = read(fd, buf, size)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || !EVP_DigestUpdate(ctx, buf, r))
			goto cleanup;
	}
	if (EVP_DigestFinal_ex(ctx, sha256, &len) && len == GG_SHA256_LEN)
		ret = 0;
cleanup:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return ret;
}

/*
 * The digests hashed, by file and version: the same shell is denied by nine
 * packs under four names (bash, rbash, /bin and /usr/bin), and was hashed 36
 * times per apply. A digest is reused within the resolution that hashed it,
 * and by later ones (the daemon's next apply) only if the file's ctime had
 * settled when it was hashed (ctime comes from a coarse clock: a write in
 * the same tick leaves it unchanged; 64 s, GG_HASH_SETTLE_S of exec.bpf.c) and
 * did not change while it was read. One thread compiles.
 */
#define GG_DIGEST_MEMO_MAX 1024

int gg_digest_settle_s = 64;

struct digest_memo {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	unsigned long epoch; /* the resolution that hashed it; 0: settled */
	__u8 sha256[GG_SHA256_LEN];
};

static struct digest_memo memo[GG_DIGEST_MEMO_MAX];
static size_t n_memo;
static unsigned long memo_epoch;

static bool same_version(const struct digest_memo *m, const struct stat *st)
{
	return m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size &&
	       m->mtime.tv_sec == st->st_mtim.tv_sec && m->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       m->ctime.tv_sec == st->st_ctim.tv_sec && m->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static struct digest_memo *memo_slot(const struct stat *st)
{
	for (size_t k = 0; k < n_memo; k++)
		if (memo[k].dev == st->st_dev && memo[k].ino == st->st_ino)
			return &memo[k]; /* an older version of the file */
	if (n_memo == GG_DIGEST_MEMO_MAX)
		n_memo = 0; /* full: start over */
	return &memo[n_memo++];
}

/* The digest of file, which stat() found to be st. */
static int file_digest(const char *file, const struct stat *st, __u8 sha256[GG_SHA256_LEN])
{
	struct digest_memo now, *m;
	struct stat after;
	int fd, ret;

	for (size_t k = 0; k < n_memo; k++) {
		if (same_version(&memo[k], st) && (!memo[k].epoch || memo[k].epoch == memo_epoch)) {
			memcpy(sha256, memo[k].sha256, GG_SHA256_LEN);
			return 0;
		}
	}
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	ret = fstat(fd, &after) ? -errno : 0;
	now = (struct digest_memo){ .dev = after.st_dev, .ino = after.st_ino,
				    .size = after.st_size, .mtime = after.st_mtim,
				    .ctime = after.st_ctim, .epoch = memo_epoch };
	if (!ret && after.st_ctim.tv_sec + gg_digest_settle_s < time(NULL))
		now.epoch = 0;
	if (!ret)
		ret = fd_sha256(fd, sha256);
	/* kept only if the file did not change while it was read */
	if (!ret && !fstat(fd, &after) && same_version(&now, &after)) {
		m = memo_slot(&after);
		*m = now;
		memcpy(m->sha256, sha256, GG_SHA256_LEN);
	}
	close(fd);
	return ret;
}

/* A denied name or path that exists here: best effort, what is absent or
 * unreadable is skipped (the name rule still stands). 1 = resolved. */
static int resolve_file(const struct gg_rule *r, const char *file, struct gg_identity *id)
{
	struct path_info own = {}, *pi = path_info(file);
	int ret = 0;

	if (!pi) {
		pi = &own;
		path_stat(pi, file);
	}
	if (!pi->exists || (pi->lnk && !target_denied(r, pi->real)) || !pi->reg)
		goto cleanup;
	id->dev = kdev(pi->st.st_dev);
	id->ino = pi->st.st_ino;
	id->has_digest = !file_digest(file, &pi->st, id->sha256);
	ret = 1;
cleanup:
	free(own.real);
	return ret;
}

/* One identity row for file, kept (with a copy of file) only if it
 * resolves. */
static int push_resolved(const struct gg_rule *r, size_t i, size_t j, enum gg_id_from kind,
			 const char *key, const char *file, struct gg_identity **v, size_t *n,
			 size_t *cap)
{
	struct gg_identity *id = id_push(v, n, cap, i, j, kind, key);

	if (!id)
		return -ENOMEM;
	if (!resolve_file(r, file, id)) {
		(*n)--;
		return 0;
	}
	id->file = strdup(file);
	return id->file ? 0 : -ENOMEM;
}

/* dir/name into buf (PATH_MAX bytes); NULL if too long (never a file). */
static const char *join(char *buf, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name) + 1;

	if (dl + 1 + nl > PATH_MAX)
		return NULL;
	memcpy(buf, dir, dl);
	buf[dl] = '/';
	memcpy(buf + dl + 1, name, nl);
	return buf;
}

/* The denied basenames (in each search directory) and paths of rule r. */
static int resolve_names(const struct gg_rule *r, size_t i, size_t j,
			 const struct gg_resolve_opts *opts, struct gg_identity **v, size_t *n,
			 size_t *cap)
{
	for (size_t k = 0; k < r->n_basenames + r->n_paths; k++) {
		bool base = k < r->n_basenames;
		const char *key = base ? r->basenames[k] : r->paths[k - r->n_basenames];

		for (size_t d = 0; base ? opts->dirs[d] != NULL : d < 1; d++) {
			char buf[PATH_MAX];
			const char *file = base ? join(buf, opts->dirs[d], key) : key;

			if (file && push_resolved(r, i, j, base ? GG_ID_BASENAME : GG_ID_PATH, key,
						  file, v, n, cap))
				return -ENOMEM;
		}
	}
	return 0;
}

/* The files a net.egress rule's "programs" names are, in each search
 * directory: the rule then holds for a hard link (identity) and a copy
 * (content) under any name. */
static int resolve_programs(const struct gg_rule *r, size_t i, size_t j,
			    const struct gg_resolve_opts *opts, struct gg_identity **v,
			    size_t *n, size_t *cap)
{
	for (size_t k = 0; k < r->n_programs; k++) {
		for (size_t d = 0; opts->dirs[d]; d++) {
			char buf[PATH_MAX];
			const char *file = join(buf, opts->dirs[d], r->programs[k]);

			if (file && push_resolved(r, i, j, GG_ID_PROGRAM, r->programs[k], file, v, n,
						  cap))
				return -ENOMEM;
		}
	}
	return 0;
}

int gg_identities_resolve(const struct gg_policy_input *in, size_t n,
			  const struct gg_resolve_opts *opts, struct gg_identity **ids,
			  size_t *n_ids, struct gg_err *err)
{
	struct gg_identity *v = NULL, *p;
	size_t cnt = 0, cap = 0;
	int ret = 0;

	memo_epoch++;
	paths_revalidate();
	for (size_t i = 0; !ret && i < n; i++) {
		const struct gg_pack *pk = in[i].pack;

		for (size_t j = 0; !ret && pk && j < pk->n_rules; j++) {
			const struct gg_rule *r = &pk->rules[j];

			if (r->gate == GG_GATE_EGRESS && !r->sockets && !r->allowlist && opts)
				ret = resolve_programs(r, i, j, opts, &v, &cnt, &cap);
			if (r->gate != GG_GATE_EXEC)
				continue;
			for (size_t k = 0; !ret && k < r->n_identities; k++) {
				p = id_push(&v, &cnt, &cap, i, j, GG_ID_IDENTITY, r->identities[k]);
				if (!p) {
					ret = -ENOMEM;
					break;
				}
				/* an identity is the inode only: no digest, so a
				 * copy stays allowed, as documented */
				ret = resolve_one(&in[i], r, r->identities[k], p, err);
			}
			if (!ret && opts)
				ret = resolve_names(r, i, j, opts, &v, &cnt, &cap);
		}
	}
	paths_done(!keep_absent);
	if (ret == -ENOMEM)
		gg_errf(err, ret, "compile: out of memory");
	if (ret) {
		gg_identities_free(v, cnt);
		v = NULL;
		cnt = 0;
	}
	*ids = v;
	*n_ids = cnt;
	return ret;
}

void gg_identities_free(struct gg_identity *ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i].file);
	free(ids);
}

void gg_digest_hex(const __u8 sha256[GG_SHA256_LEN], char hex[2 * GG_SHA256_LEN + 1])
{
	for (int i = 0; i < GG_SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha256[i]);
}

int gg_digest_parse(const char *hex, __u8 sha256[GG_SHA256_LEN])
{
	if (strlen(hex) != 2 * GG_SHA256_LEN ||
	    strspn(hex, "0123456789abcdef") != 2 * GG_SHA256_LEN)
		return -EINVAL;
	for (int i = 0; i < GG_SHA256_LEN; i++) {
		unsigned int b;

		sscanf(hex + 2 * i, "%2x", &b);
		sha256[i] = b;
	}
	return 0;
}

int gg_file_sha256(const char *path, __u8 sha256[GG_SHA256_LEN])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int ret;

	if (fd < 0)
		return -errno;
	ret = fd_sha256(fd, sha256);
	close(fd);
	return ret;
}

static void cctx_free(struct cctx *cx)
{
	for (size_t i = 0; cx->labels && i < cx->n_in; i++)
		free(cx->labels[i]);
	free(cx->labels);
	free(cx->rule_off);
	free(cx->recs);
	free(cx->rank_of);
	free(cx->rank_start);
	free(cx->rank_mode);
	free(cx->pool.v);
	free(cx->sets);
	free(cx->ht);
	free(cx->order.v);
	free(cx->scratch.v);
	for (size_t i = 0; i < cx->n_combos; i++)
		free(cx->combos[i]);
	free(cx->combos);
}

int gg_compile_resolved(const struct gg_policy_input *in, size_t n,
			const struct gg_identity *ids, size_t n_ids, struct gg_compiled **out,
			struct gg_err *err)
{
	struct cctx cx = { .in = in, .n_in = n, .ids = ids, .n_ids = n_ids, .err = err };
	struct gg_compiled *c;
	int ret;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return gg_errf(err, -ENOMEM, "compile: out of memory");
	ret = build_ranks(&cx);
	if (!ret)
		ret = compile_module(&cx, c);
	if (!ret)
		ret = compile_exec(&cx, c);
	if (!ret)
		ret = compile_egress(&cx, c);
	if (!ret)
		ret = compile_sockets(&cx, c);
	if (!ret)
		ret = compile_allowlists(&cx, c);
	if (!ret)
		ret = build_entries(&cx, c);
	if (!ret)
		ret = build_refs(&cx, c);
	if (ret) {
		/* set ids are not entry ids yet: nothing below points anywhere */
		gg_compiled_free(c);
	} else {
		*out = c;
	}
	cctx_free(&cx);
	return ret;
}

int gg_compile_opts(const struct gg_policy_input *in, size_t n,
		    const struct gg_resolve_opts *opts, struct gg_compiled **out,
		    struct gg_err *err)
{
	struct gg_identity *ids;
	size_t n_ids;
	int ret;

	*out = NULL;
	ret = gg_identities_resolve(in, n, opts, &ids, &n_ids, err);
	if (ret)
		return ret;
	ret = gg_compile_resolved(in, n, ids, n_ids, out, err);
	gg_identities_free(ids, n_ids);
	return ret;
}

int gg_compile(const struct gg_policy_input *in, size_t n, struct gg_compiled **out,
	       struct gg_err *err)
{
	return gg_compile_opts(in, n, NULL, out, err);
}

const struct gg_entry *gg_compiled_entry(const struct gg_compiled *c, __u32 id)
{
	if (!c || !id || id > c->n_entries)
		return NULL;
	return &c->entries[id - 1];
}

void gg_compiled_free(struct gg_compiled *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_entries; i++) {
		struct gg_entry *e = &c->entries[i];

		for (size_t k = 0; k < e->n_rules; k++) {
			free(e->rules[k].pack);
			free(e->rules[k].rule);
			free(e->rules[k].framework);
			for (size_t j = 0; j < e->rules[k].n_controls; j++)
				free(e->rules[k].controls[j]);
			free(e->rules[k].controls);
		}
		free(e->rules);
		for (size_t k = 0; k < e->n_controls; k++)
			free(e->controls[k]);
		free(e->controls);
		for (size_t k = 0; k < e->n_frameworks; k++)
			free(e->frameworks[k]);
		free(e->frameworks);
	}
	free(c->entries);
	free(c->exec_paths);
	free(c->exec_names);
	for (size_t i = 0; i < c->n_exec_inodes; i++) {
		free(c->exec_inodes[i].source);
		free(c->exec_inodes[i].from);
	}
	free(c->exec_inodes);
	for (size_t i = 0; i < c->n_exec_digests; i++) {
		free(c->exec_digests[i].source);
		free(c->exec_digests[i].from);
	}
	free(c->exec_digests);
	free(c->exec_trust);
	free(c->egress);
	free(c->egress_ports);
	free(c->egress_progs);
	for (size_t i = 0; i < c->n_egress_prog_inodes; i++)
		free(c->egress_prog_inodes[i].source);
	free(c->egress_prog_inodes);
	for (size_t i = 0; i < c->n_egress_prog_digests; i++)
		free(c->egress_prog_digests[i].source);
	free(c->egress_prog_digests);
	for (size_t i = 0; i < c->n_allow_lists; i++)
		free(c->allow_lists[i].pack);
	free(c->allow_lists);
	free(c->allow_nodes);
	free(c->allow_ports);
	for (size_t i = 0; i < c->n_allow_domains; i++) {
		free(c->allow_domains[i].pattern);
		free(c->allow_domains[i].ports);
	}
	free(c->allow_domains);
	for (size_t i = 0; i < c->n_refs; i++)
		free(c->refs[i]);
	free(c->refs);
	free(c);
}
