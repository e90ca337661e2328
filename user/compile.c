// SPDX-License-Identifier: GPL-2.0
/*
 * The compiler: floor + packs -> the map entries of one policy slot.
 *
 * Every (pack, rule) of the inputs gets a rank in (pack label, rule id)
 * order. A map key's decision is the sorted set of ranks that hit it; equal
 * sets are interned once and become one entry, so two keys with the same
 * rules share an entry id. Entry ids are handed out in table order (module,
 * exec paths, names, inodes, egress nodes, egress ports) after all tables
 * are sorted, which makes the output a pure function of the inputs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

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

static int u32_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static void vec_sort_unique(struct u32vec *v)
{
	size_t w = 0;

	sort(v->v, v->n, sizeof(*v->v), u32_cmp);
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
};

static int nomem(struct cctx *cx)
{
	return gg_errf(cx->err, -ENOMEM, "compile: out of memory");
}

/* "packs/x.json:12: rule "r1": ..." for a rule of input i. */
static int rule_err(struct cctx *cx, size_t i, const struct gg_rule *r, int code,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int rule_err(struct cctx *cx, size_t i, const struct gg_rule *r, int code,
		    const char *fmt, ...)
{
	const struct gg_pack *pk = cx->in[i].pack;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gg_errf(cx->err, code, "%s:%d: rule \"%s\": %s",
		       pk->origin ? pk->origin : cx->labels[i], r->line, r->id, msg);
}

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
		int ret;

		if (!pk)
			return gg_errf(cx->err, -EINVAL, "compile: input %zu has no pack", i);
		if (cx->in[i].is_floor)
			ret = asprintf(&cx->labels[i], "floor");
		else if (pk->ref)
			ret = asprintf(&cx->labels[i], "%s", pk->ref);
		else
			ret = asprintf(&cx->labels[i], "%s@%s", pk->name ? pk->name : "?",
				       pk->version ? pk->version : "?");
		if (ret < 0) {
			cx->labels[i] = NULL;
			return nomem(cx);
		}
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

struct inoc {
	__u64 dev;
	__u64 ino;
	const char *path;
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
	d = strcmp(x->path, y->path);
	return d ? d : (x->rank < y->rank ? -1 : x->rank > y->rank);
}

static int exec_inodes(struct cctx *cx, struct gg_compiled *c)
{
	struct inoc *v = NULL;
	size_t n = 0, cap = 0, ocap = 0;
	int ret = 0;

	for (size_t i = 0; i < cx->n_in; i++) {
		const struct gg_pack *pk = cx->in[i].pack;

		for (size_t j = 0; j < pk->n_rules; j++) {
			const struct gg_rule *r = &pk->rules[j];

			if (r->gate != GG_GATE_EXEC)
				continue;
			for (size_t k = 0; k < r->n_identities; k++) {
				const char *path = r->identities[k];
				struct inoc *p;
				struct stat st;

				/* follows symlinks: the identity is the file they lead to */
				if (stat(path, &st)) {
					ret = rule_err(cx, i, r, -errno, "identity \"%s\": %s",
						       path, strerror(errno));
					goto cleanup;
				}
				if (!S_ISREG(st.st_mode)) {
					ret = rule_err(cx, i, r, -EINVAL,
						       "identity \"%s\": not a regular file", path);
					goto cleanup;
				}
				p = grow(v, &cap, n, sizeof(*v));
				if (!p) {
					ret = nomem(cx);
					goto cleanup;
				}
				v = p;
				/* the kernel's s_dev encoding, not glibc's */
				v[n].dev = ((__u64)major(st.st_dev) << 20) | minor(st.st_dev);
				v[n].ino = st.st_ino;
				v[n].path = path;
				v[n++].rank = rank(cx, i, r);
			}
		}
	}
	sort(v, n, sizeof(*v), inoc_cmp);
	for (size_t a = 0, b; a < n; a = b) {
		struct gg_c_exec_inode *e;
		__u32 set;

		cx->scratch.n = 0;
		for (b = a; b < n && v[b].dev == v[a].dev && v[b].ino == v[a].ino; b++)
			if (vec_push(&cx->scratch, v[b].rank)) {
				ret = nomem(cx);
				goto cleanup;
			}
		ret = intern_scratch(cx, GG_GATE_EXEC, &set);
		if (ret)
			goto cleanup;
		e = grow(c->exec_inodes, &ocap, c->n_exec_inodes, sizeof(*e));
		if (!e) {
			ret = nomem(cx);
			goto cleanup;
		}
		c->exec_inodes = e;
		e = &c->exec_inodes[c->n_exec_inodes];
		memset(e, 0, sizeof(*e));
		e->dev = v[a].dev;
		e->ino = v[a].ino;
		e->source = strdup(v[a].path); /* the first path in sort order */
		if (!e->source) {
			ret = nomem(cx);
			goto cleanup;
		}
		e->v.entry = set;
		c->n_exec_inodes++;
	}
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
	struct econ *con;
	size_t n_con;
	struct ptrip *trips;
	size_t n_trips, cap_trips;
	struct pkey *keys;
	size_t n_keys, cap_keys;
	size_t *port_lo, *port_hi; /* per node: its rows in c->egress_ports */
	size_t cap_nodes; /* of port_lo and port_hi */
	size_t cap_rows; /* of c->egress_ports */
	struct u32vec any; /* the node's folded `any` ranks */
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

/* The port rows of node `ni`: its own narrowed contributions [a, b) plus
 * the folded rows of its parent, completed and widened by the node's `any`. */
static int node_ports(struct cctx *cx, struct gg_compiled *c, struct egress_work *w,
		      size_t ni, size_t a, size_t b, size_t parent)
{
	size_t nk;
	int ret;

	w->n_trips = 0;
	w->n_keys = 0;
	for (size_t i = a; i < b; i++) {
		struct ptrip *t = grow(w->trips, &w->cap_trips, w->n_trips, sizeof(*t));

		if (!t)
			return nomem(cx);
		w->trips = t;
		t[w->n_trips].port = w->con[i].port;
		t[w->n_trips].proto = w->con[i].proto;
		t[w->n_trips++].rank = w->con[i].rank;
	}
	if (parent != SIZE_MAX) {
		for (size_t r = w->port_lo[parent]; r < w->port_hi[parent]; r++) {
			const struct gg_c_egress_port *row = &c->egress_ports[r];
			const struct setinfo *si = &cx->sets[row->v.entry];

			for (size_t k = 0; k < si->len; k++) {
				struct ptrip *t = grow(w->trips, &w->cap_trips, w->n_trips,
						       sizeof(*t));

				if (!t)
					return nomem(cx);
				w->trips = t;
				t[w->n_trips].port = row->port;
				t[w->n_trips].proto = row->proto;
				t[w->n_trips++].rank = cx->pool.v[si->off + k];
			}
		}
	}
	w->port_lo[ni] = w->port_hi[ni] = c->n_egress_ports;
	if (!w->n_trips)
		return 0;
	sort(w->trips, w->n_trips, sizeof(*w->trips), ptrip_cmp);
	for (size_t i = 0; i < w->n_trips; i++)
		if (!i || w->trips[i].port != w->trips[i - 1].port ||
		    w->trips[i].proto != w->trips[i - 1].proto)
			if (add_key(w, w->trips[i].port, w->trips[i].proto))
				return nomem(cx);
	nk = w->n_keys;
	/* (port, 0) and (0, proto) both present: the first-hit lookup needs
	 * a (port, proto) row that carries both */
	for (size_t i = 0; i < nk; i++) {
		if (!w->keys[i].port || w->keys[i].proto)
			continue;
		for (size_t j = 0; j < nk; j++) {
			if (w->keys[j].port || !w->keys[j].proto)
				continue;
			if (!has_key(w, nk, w->keys[i].port, w->keys[j].proto) &&
			    add_key(w, w->keys[i].port, w->keys[j].proto))
				return nomem(cx);
		}
	}
	sort(w->keys, w->n_keys, sizeof(*w->keys), pkey_cmp);
	for (size_t k = 0; k < w->n_keys; k++) {
		struct pkey key = w->keys[k];
		struct gg_c_egress_port *row;
		__u32 set;

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
		ret = intern_scratch(cx, GG_GATE_EGRESS, &set);
		if (ret)
			return ret;
		row = grow(c->egress_ports, &w->cap_rows, c->n_egress_ports, sizeof(*row));
		if (!row)
			return nomem(cx);
		c->egress_ports = row;
		row = &c->egress_ports[c->n_egress_ports++];
		memset(row, 0, sizeof(*row));
		row->port = key.port;
		row->proto = key.proto;
		row->v.entry = set;
	}
	w->port_hi[ni] = c->n_egress_ports;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int prog_key_cmp(const void *key, const void *b)
{
	return strcmp(key, ((const struct gg_c_egress_prog *)b)->name);
}

static int egress_progs(struct cctx *cx, struct gg_compiled *c)
{
	const char **names = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	for (size_t i = 0; i < cx->n_in; i++)
		for (size_t j = 0; j < cx->in[i].pack->n_rules; j++) {
			const struct gg_rule *r = &cx->in[i].pack->rules[j];

			if (r->gate != GG_GATE_EGRESS)
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
	sort(names, n, sizeof(*names), name_cmp);
	c->egress_progs = calloc(n + 1, sizeof(*c->egress_progs));
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
cleanup:
	free(names);
	return ret;
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

static int egress_contribs(struct cctx *cx, const struct gg_compiled *c, struct egress_work *w)
{
	static const struct gg_cidr all[2] = { { .family = AF_INET }, { .family = AF_INET6 } };
	size_t total = 0;

	for (size_t i = 0; i < cx->n_in; i++)
		for (size_t j = 0; j < cx->in[i].pack->n_rules; j++) {
			const struct gg_rule *r = &cx->in[i].pack->rules[j];
			size_t np = r->n_programs ? r->n_programs : 1;
			size_t nc = r->n_cidrs ? r->n_cidrs : 2;
			size_t nq = r->n_ports ? r->n_ports : 1, m;

			if (r->gate != GG_GATE_EGRESS)
				continue;
			if (__builtin_mul_overflow(np, nc, &m) ||
			    __builtin_mul_overflow(m, nq, &m) ||
			    __builtin_add_overflow(total, m, &total))
				return gg_errf(cx->err, -E2BIG, "compile: egress rules too large");
		}
	if (total > SIZE_MAX / sizeof(*w->con) - 1)
		return gg_errf(cx->err, -E2BIG, "compile: egress rules too large");
	w->con = calloc(total + 1, sizeof(*w->con));
	if (!w->con)
		return nomem(cx);
	for (size_t i = 0; i < cx->n_in; i++)
		for (size_t j = 0; j < cx->in[i].pack->n_rules; j++) {
			const struct gg_rule *r = &cx->in[i].pack->rules[j];
			const struct gg_cidr *cidrs = r->n_cidrs ? r->cidrs : all;
			size_t np = r->n_programs ? r->n_programs : 1;
			size_t nc = r->n_cidrs ? r->n_cidrs : 2;
			size_t nq = r->n_ports ? r->n_ports : 1;
			bool narrowed = r->n_ports || r->proto;
			__u32 rk;

			if (r->gate != GG_GATE_EGRESS)
				continue;
			rk = rank(cx, i, r);
			for (size_t p = 0; p < np; p++) {
				__u32 prog = 0;

				if (r->n_programs) {
					const struct gg_c_egress_prog *e;

					e = bsearch(r->programs[p], c->egress_progs,
						    c->n_egress_progs, sizeof(*e), prog_key_cmp);
					prog = e->prog;
				}
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
	sort(w->con, w->n_con, sizeof(*w->con), econ_cmp);
	return 0;
}

static int compile_egress(struct cctx *cx, struct gg_compiled *c)
{
	struct egress_work w = {};
	size_t stack[FOLD_DEPTH_MAX], depth = 0, n_nodes = 0, nodes_cap = 0;
	__u32 port_nodes = 0;
	int ret;

	ret = egress_progs(cx, c);
	if (!ret)
		ret = egress_contribs(cx, c, &w);
	if (ret)
		goto cleanup;
	for (size_t a = 0; a < w.n_con; ) {
		size_t b, k, ni, parent = SIZE_MAX;
		struct gg_c_egress *node;
		__u32 set;

		for (b = a; b < w.n_con && same_node(&w.con[a], &w.con[b]); b++)
			;
		for (k = a; k < b && !w.con[k].narrowed; k++)
			;
		node = grow(c->egress, &nodes_cap, n_nodes, sizeof(*node));
		if (!node) {
			ret = nomem(cx);
			goto cleanup;
		}
		c->egress = node;
		if (n_nodes >= w.cap_nodes) {
			size_t *lo = realloc(w.port_lo, nodes_cap * sizeof(*lo));
			size_t *hi = lo ? realloc(w.port_hi, nodes_cap * sizeof(*hi)) : NULL;

			if (lo)
				w.port_lo = lo;
			if (!lo || !hi) {
				ret = nomem(cx);
				goto cleanup;
			}
			w.port_hi = hi;
			w.cap_nodes = nodes_cap;
		}
		ni = n_nodes++;
		node = &c->egress[ni];
		memset(node, 0, sizeof(*node));
		node->family = w.con[a].v6 ? AF_INET6 : AF_INET;
		node->prog = w.con[a].prog;
		node->plen = w.con[a].plen;
		memcpy(node->addr, w.con[a].addr, sizeof(node->addr));

		/* Sorted by (family, prog, addr, plen), a node's covering
		 * prefixes precede it and nest: the stack holds the chain of
		 * covering nodes, its top the nearest (already folded) one. */
		while (depth && !prefix_covers(&c->egress[stack[depth - 1]], node))
			depth--;
		if (depth)
			parent = stack[depth - 1];
		if (depth < FOLD_DEPTH_MAX)
			stack[depth++] = ni;

		w.any.n = 0;
		for (size_t i = a; i < k; i++)
			if (vec_push(&w.any, w.con[i].rank)) {
				ret = nomem(cx);
				goto cleanup;
			}
		if (parent != SIZE_MAX && set_append(cx, c->egress[parent].val.any.entry, &w.any)) {
			ret = nomem(cx);
			goto cleanup;
		}
		vec_sort_unique(&w.any);
		ret = set_intern(cx, GG_GATE_EGRESS, w.any.v, w.any.n, &set);
		if (ret)
			goto cleanup;
		node->val.any.entry = set;
		ret = node_ports(cx, c, &w, ni, k, b, parent);
		if (ret)
			goto cleanup;
		node = &c->egress[ni];
		node->val.port_node = 0;
		if (w.port_hi[ni] > w.port_lo[ni]) {
			node->val.port_node = ++port_nodes;
			for (size_t r = w.port_lo[ni]; r < w.port_hi[ni]; r++)
				c->egress_ports[r].node = port_nodes;
		}
		a = b;
	}
	c->n_egress = n_nodes;
cleanup:
	if (ret)
		c->n_egress = n_nodes;
	free(w.con);
	free(w.trips);
	free(w.keys);
	free(w.port_lo);
	free(w.port_hi);
	free(w.any.v);
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

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted unique copies of the pointers in v[0..n). */
static int uniq_strs(const char **v, size_t n, char ***out, size_t *n_out)
{
	size_t w = 0;

	sort(v, n, sizeof(*v), str_cmp);
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
	for (size_t i = 0; !ret && i < c->n_egress; i++)
		ret = assign(cx, &c->egress[i].val.any);
	for (size_t i = 0; !ret && i < c->n_egress_ports; i++)
		ret = assign(cx, &c->egress_ports[i].v);
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

int gg_compile(const struct gg_policy_input *in, size_t n, struct gg_compiled **out,
	       struct gg_err *err)
{
	struct cctx cx = { .in = in, .n_in = n, .err = err };
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
		ret = build_entries(&cx, c);
	if (!ret)
		ret = build_refs(&cx, c);
	if (ret) {
		/* set ids are not entry ids yet: nothing below points anywhere */
		gg_compiled_free(c);
	} else {
		*out = c;
	}
	for (size_t i = 0; cx.labels && i < n; i++)
		free(cx.labels[i]);
	free(cx.labels);
	free(cx.rule_off);
	free(cx.recs);
	free(cx.rank_of);
	free(cx.rank_start);
	free(cx.rank_mode);
	free(cx.pool.v);
	free(cx.sets);
	free(cx.ht);
	free(cx.order.v);
	free(cx.scratch.v);
	return ret;
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
	for (size_t i = 0; i < c->n_exec_inodes; i++)
		free(c->exec_inodes[i].source);
	free(c->exec_inodes);
	free(c->egress);
	free(c->egress_ports);
	free(c->egress_progs);
	for (size_t i = 0; i < c->n_refs; i++)
		free(c->refs[i]);
	free(c->refs);
	free(c);
}

/* ---- JSON --------------------------------------------------------------- */

static const char *proto_name(unsigned proto)
{
	return proto == GG_PROTO_TCP ? "tcp" : proto == GG_PROTO_UDP ? "udp" : "any";
}

static int proto_parse(const char *s)
{
	if (!strcmp(s, "tcp"))
		return GG_PROTO_TCP;
	if (!strcmp(s, "udp"))
		return GG_PROTO_UDP;
	return strcmp(s, "any") ? -1 : GG_PROTO_ANY;
}

static int action_parse(const char *s)
{
	if (!strcmp(s, "deny"))
		return GG_ACT_DENY;
	if (!strcmp(s, "observe"))
		return GG_ACT_OBSERVE;
	return strcmp(s, "allow") ? -1 : GG_ACT_NONE;
}

static json_t *strs_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Appends v (stolen) to arr; false if either is NULL or appending fails. */
static bool push(json_t *arr, json_t *v)
{
	return v && !json_array_append_new(arr, v);
}

/* Inserts s into the sorted, unique string array a. */
static int insert_sorted(json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) {
		int d = strcmp(json_string_value(v), s);

		if (!d)
			return 0;
		if (d > 0)
			break;
	}
	return json_array_insert_new(a, i, json_string(s));
}

/* The sorted union of the observe-mode rules' controls (or frameworks). */
static json_t *observed_json(const struct gg_entry *e, bool frameworks)
{
	json_t *a = json_array();

	for (size_t k = 0; a && k < e->n_rules; k++) {
		const struct gg_entry_rule *r = &e->rules[k];
		int ret = 0;

		if (r->mode != GG_ACT_OBSERVE)
			continue;
		if (frameworks && r->framework)
			ret = insert_sorted(a, r->framework);
		for (size_t c = 0; !frameworks && !ret && c < r->n_controls; c++)
			ret = insert_sorted(a, r->controls[c]);
		if (ret) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static json_t *entry_json(const struct gg_entry *e)
{
	json_t *rules = json_array(), *o;

	for (size_t k = 0; rules && k < e->n_rules; k++) {
		const struct gg_entry_rule *r = &e->rules[k];

		o = json_pack("{s:s, s:s, s:s?, s:s}", "pack", r->pack, "rule", r->rule,
			      "framework", r->framework, "mode", gg_action_name(r->mode));

		/* a record loaded without them stays without them */
		if (o && !e->rule_controls_unknown &&
		    json_object_set_new(o, "controls", strs_json(r->controls, r->n_controls))) {
			json_decref(o);
			o = NULL;
		}
		if (!push(rules, o)) {
			json_decref(rules);
			return NULL;
		}
	}
	o = json_pack("{s:I, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)e->id, "gate",
		      gg_gate_name(e->gate), "action", gg_action_name(e->action), "rules", rules,
		      "controls", strs_json(e->controls, e->n_controls), "frameworks",
		      strs_json(e->frameworks, e->n_frameworks));
	/* What observe-mode rules name, derived from the rules (not stored):
	 * on a deny entry they are not what it enforces. */
	if (o && !e->rule_controls_unknown &&
	    (json_object_set_new(o, "observed_controls", observed_json(e, false)) ||
	     json_object_set_new(o, "observed_frameworks", observed_json(e, true)))) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static void cidr_str(int family, const __u8 *addr, int plen, char *buf, size_t sz)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, sz, "%s/%d", a, plen);
}

static const char *prog_name(const struct gg_compiled *c, __u32 prog)
{
	/* progs are numbered 1..n in table order */
	if (prog && prog <= c->n_egress_progs && c->egress_progs[prog - 1].prog == prog)
		return c->egress_progs[prog - 1].name;
	for (size_t i = 0; i < c->n_egress_progs; i++)
		if (c->egress_progs[i].prog == prog)
			return c->egress_progs[i].name;
	return NULL;
}

json_t *gg_compiled_to_json(const struct gg_compiled *c)
{
	json_t *entries = json_array(), *paths = json_array(), *names = json_array();
	json_t *inodes = json_array(), *nodes = json_array(), *ports = json_array();
	json_t *progs = json_array();
	bool ok = entries && paths && names && inodes && nodes && ports && progs;

	for (size_t i = 0; ok && i < c->n_entries; i++)
		ok = push(entries, entry_json(&c->entries[i]));
	for (size_t i = 0; ok && i < c->n_exec_paths; i++) {
		const struct gg_c_exec_path *p = &c->exec_paths[i];

		ok = push(paths, json_pack("{s:s, s:I, s:s}", "path", p->path, "entry",
					   (json_int_t)p->v.entry, "action",
					   gg_action_name(p->v.action)));
	}
	for (size_t i = 0; ok && i < c->n_exec_names; i++) {
		const struct gg_c_exec_name *p = &c->exec_names[i];

		ok = push(names, json_pack("{s:s, s:I, s:s}", "name", p->name, "entry",
					   (json_int_t)p->v.entry, "action",
					   gg_action_name(p->v.action)));
	}
	for (size_t i = 0; ok && i < c->n_exec_inodes; i++) {
		const struct gg_c_exec_inode *p = &c->exec_inodes[i];

		ok = push(inodes, json_pack("{s:s?, s:I, s:I, s:I, s:s}", "path", p->source,
					    "dev", (json_int_t)p->dev, "ino", (json_int_t)p->ino,
					    "entry", (json_int_t)p->v.entry, "action",
					    gg_action_name(p->v.action)));
	}
	for (size_t i = 0; ok && i < c->n_egress_progs; i++) {
		const struct gg_c_egress_prog *p = &c->egress_progs[i];

		ok = push(progs, json_pack("{s:s, s:I, s:b}", "name", p->name, "prog",
					   (json_int_t)p->prog, "skip_loopback",
					   (int)!!p->skip_loopback));
	}
	for (size_t i = 0; ok && i < c->n_egress; i++) {
		const struct gg_c_egress *e = &c->egress[i];
		char cidr[INET6_ADDRSTRLEN + 8];

		cidr_str(e->family, e->addr, e->plen, cidr, sizeof(cidr));
		ok = push(nodes, json_pack("{s:s, s:I, s:s?, s:I, s:s, s:I}", "cidr", cidr,
					   "prog", (json_int_t)e->prog, "program",
					   prog_name(c, e->prog), "entry",
					   (json_int_t)e->val.any.entry, "action",
					   gg_action_name(e->val.any.action), "port_node",
					   (json_int_t)e->val.port_node));
	}
	for (size_t i = 0; ok && i < c->n_egress_ports; i++) {
		const struct gg_c_egress_port *p = &c->egress_ports[i];

		ok = push(ports, json_pack("{s:I, s:I, s:s, s:I, s:s}", "node",
					   (json_int_t)p->node, "port", (json_int_t)p->port,
					   "protocol", proto_name(p->proto), "entry",
					   (json_int_t)p->v.entry, "action",
					   gg_action_name(p->v.action)));
	}
	if (!ok) {
		json_decref(entries);
		json_decref(paths);
		json_decref(names);
		json_decref(inodes);
		json_decref(nodes);
		json_decref(ports);
		json_decref(progs);
		return NULL;
	}
	/* json_pack steals every "o" even when it fails */
	return json_pack("{s:o, s:o, s:{s:o, s:o, s:o}, s:{s:o, s:o, s:o}, s:{s:I, s:s}, "
			 "s:{s:I, s:s}}",
			 "refs", strs_json(c->refs, c->n_refs), "entries", entries,
			 "exec", "paths", paths, "basenames", names, "identities", inodes,
			 "egress", "programs", progs, "nodes", nodes, "ports", ports,
			 "module", "entry", (json_int_t)c->module.entry, "action",
			 gg_action_name(c->module.action), "kexec", "entry",
			 (json_int_t)c->kexec.entry, "action", gg_action_name(c->kexec.action));
}

static int load_verdict(const struct gg_compiled *c, json_int_t entry, const char *action,
			struct gg_verdict *v)
{
	int a = action_parse(action);

	if (a < 0 || entry < 0 || (size_t)entry > c->n_entries || (!entry) != (a == GG_ACT_NONE))
		return -EINVAL;
	v->entry = entry;
	v->action = a;
	return 0;
}

static int load_strs(json_t *arr, char ***out, size_t *n)
{
	size_t cnt = json_array_size(arr);

	*out = calloc(cnt + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		const char *s = json_string_value(json_array_get(arr, i));

		if (!s)
			return -EINVAL;
		(*out)[i] = strdup(s);
		if (!(*out)[i])
			return -ENOMEM;
		*n = i + 1;
	}
	return 0;
}

static int load_entry(json_t *v, size_t idx, struct gg_entry *e, json_error_t *je)
{
	json_t *rules, *ctls, *fws, *octl = NULL, *ofw = NULL;
	const char *gate, *action;
	size_t with_controls = 0;
	json_int_t id;
	int g, a, ret;

	/* observed_*: derived from the rules, checked for shape only */
	if (json_unpack_ex(v, je, JSON_STRICT, "{s:I, s:s, s:s, s:o, s:o, s:o, s?o, s?o}", "id",
			   &id, "gate", &gate, "action", &action, "rules", &rules, "controls",
			   &ctls, "frameworks", &fws, "observed_controls", &octl,
			   "observed_frameworks", &ofw))
		return -EINVAL;
	g = gg_gate_parse(gate);
	a = action_parse(action);
	if (id != (json_int_t)idx + 1 || g < 0 || a <= 0 || !json_is_array(rules) ||
	    !json_is_array(ctls) || !json_is_array(fws) || (octl && !json_is_array(octl)) ||
	    (ofw && !json_is_array(ofw))) {
		snprintf(je->text, sizeof(je->text), "bad id, gate, action or list");
		return -EINVAL;
	}
	e->id = id;
	e->gate = g;
	e->action = a;
	e->rules = calloc(json_array_size(rules) + 1, sizeof(*e->rules));
	if (!e->rules)
		return -ENOMEM;
	for (size_t k = 0; k < json_array_size(rules); k++) {
		struct gg_entry_rule *r = &e->rules[k];
		const char *pack, *rule, *mode;
		json_t *fw, *rctl = NULL;

		/* controls: absent in records written before rules kept them */
		if (json_unpack_ex(json_array_get(rules, k), je, JSON_STRICT,
				   "{s:s, s:s, s:o, s:s, s?o}", "pack", &pack, "rule", &rule,
				   "framework", &fw, "mode", &mode, "controls", &rctl))
			return -EINVAL;
		e->n_rules = k + 1;
		r->mode = action_parse(mode);
		if ((int)r->mode <= 0 || (!json_is_null(fw) && !json_is_string(fw)) ||
		    (rctl && !json_is_array(rctl))) {
			snprintf(je->text, sizeof(je->text), "bad rule mode, framework or controls");
			return -EINVAL;
		}
		r->pack = strdup(pack);
		r->rule = strdup(rule);
		r->framework = json_is_string(fw) ? strdup(json_string_value(fw)) : NULL;
		if (!r->pack || !r->rule || (json_is_string(fw) && !r->framework))
			return -ENOMEM;
		if (rctl) {
			with_controls++;
			ret = load_strs(rctl, &r->controls, &r->n_controls);
			if (ret == -EINVAL)
				snprintf(je->text, sizeof(je->text), "rule controls are strings");
			if (ret)
				return ret;
		}
	}
	/* all or none: a record is of one format */
	if (with_controls && with_controls != e->n_rules) {
		snprintf(je->text, sizeof(je->text), "controls on some rules only");
		return -EINVAL;
	}
	e->rule_controls_unknown = e->n_rules && !with_controls;
	ret = load_strs(ctls, &e->controls, &e->n_controls);
	if (!ret)
		ret = load_strs(fws, &e->frameworks, &e->n_frameworks);
	if (ret == -EINVAL)
		snprintf(je->text, sizeof(je->text), "controls and frameworks are strings");
	return ret;
}

/* Copies s into a fixed key buffer; refuses what does not fit. */
static int load_key(const char *s, char *dst, size_t sz)
{
	size_t n = strlen(s);

	if (!n || n >= sz)
		return -EINVAL;
	memcpy(dst, s, n + 1);
	return 0;
}

static int from_json(const json_t *doc, struct gg_compiled *c, json_error_t *je,
		     const char **where)
{
	json_t *refs, *entries, *paths, *names, *inodes, *progs, *nodes, *ports;
	json_int_t mentry, kentry = 0;
	const char *maction, *kaction = "allow";
	int ret;

	*where = "";
	/* kexec is absent from the records of builds before it. */
	if (json_unpack_ex((json_t *)doc, je, JSON_STRICT,
			   "{s:o, s:o, s:{s:o, s:o, s:o}, s:{s:o, s:o, s:o}, s:{s:I, s:s}, "
			   "s?{s:I, s:s}}",
			   "refs", &refs, "entries", &entries, "exec", "paths", &paths,
			   "basenames", &names, "identities", &inodes, "egress", "programs",
			   &progs, "nodes", &nodes, "ports", &ports, "module", "entry", &mentry,
			   "action", &maction, "kexec", "entry", &kentry, "action", &kaction))
		return -EINVAL;
	if (!json_is_array(refs) || !json_is_array(entries) || !json_is_array(paths) ||
	    !json_is_array(names) || !json_is_array(inodes) || !json_is_array(progs) ||
	    !json_is_array(nodes) || !json_is_array(ports)) {
		snprintf(je->text, sizeof(je->text), "every table must be an array");
		return -EINVAL;
	}
	*where = "refs";
	ret = load_strs(refs, &c->refs, &c->n_refs);
	if (ret) {
		snprintf(je->text, sizeof(je->text), "refs are strings");
		return ret;
	}

	*where = "entries";
	c->entries = calloc(json_array_size(entries) + 1, sizeof(*c->entries));
	if (!c->entries)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(entries); i++) {
		c->n_entries = i + 1;
		ret = load_entry(json_array_get(entries, i), i, &c->entries[i], je);
		if (ret)
			return ret;
	}
	*where = "module";
	if (load_verdict(c, mentry, maction, &c->module))
		goto bad_verdict;
	*where = "kexec";
	if (load_verdict(c, kentry, kaction, &c->kexec))
		goto bad_verdict;

	*where = "exec.paths";
	c->exec_paths = calloc(json_array_size(paths) + 1, sizeof(*c->exec_paths));
	if (!c->exec_paths)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(paths); i++) {
		struct gg_c_exec_path *p = &c->exec_paths[i];
		const char *s, *a;
		json_int_t e;

		if (json_unpack_ex(json_array_get(paths, i), je, JSON_STRICT, "{s:s, s:I, s:s}",
				   "path", &s, "entry", &e, "action", &a))
			return -EINVAL;
		if (load_key(s, p->path, sizeof(p->path)) || load_verdict(c, e, a, &p->v))
			goto bad_verdict;
		c->n_exec_paths = i + 1;
	}
	*where = "exec.basenames";
	c->exec_names = calloc(json_array_size(names) + 1, sizeof(*c->exec_names));
	if (!c->exec_names)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(names); i++) {
		struct gg_c_exec_name *p = &c->exec_names[i];
		const char *s, *a;
		json_int_t e;

		if (json_unpack_ex(json_array_get(names, i), je, JSON_STRICT, "{s:s, s:I, s:s}",
				   "name", &s, "entry", &e, "action", &a))
			return -EINVAL;
		if (load_key(s, p->name, sizeof(p->name)) || load_verdict(c, e, a, &p->v))
			goto bad_verdict;
		c->n_exec_names = i + 1;
	}
	*where = "exec.identities";
	c->exec_inodes = calloc(json_array_size(inodes) + 1, sizeof(*c->exec_inodes));
	if (!c->exec_inodes)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(inodes); i++) {
		struct gg_c_exec_inode *p = &c->exec_inodes[i];
		json_int_t e, dev, ino;
		const char *a;
		json_t *src;

		if (json_unpack_ex(json_array_get(inodes, i), je, JSON_STRICT,
				   "{s:o, s:I, s:I, s:I, s:s}", "path", &src, "dev", &dev, "ino",
				   &ino, "entry", &e, "action", &a))
			return -EINVAL;
		c->n_exec_inodes = i + 1;
		if (load_verdict(c, e, a, &p->v) || (!json_is_null(src) && !json_is_string(src)))
			goto bad_verdict;
		p->dev = (__u64)dev;
		p->ino = (__u64)ino;
		if (json_is_string(src) && !(p->source = strdup(json_string_value(src))))
			return -ENOMEM;
	}
	*where = "egress.programs";
	c->egress_progs = calloc(json_array_size(progs) + 1, sizeof(*c->egress_progs));
	if (!c->egress_progs)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(progs); i++) {
		struct gg_c_egress_prog *p = &c->egress_progs[i];
		const char *s;
		json_int_t id;
		int skip;

		if (json_unpack_ex(json_array_get(progs, i), je, JSON_STRICT, "{s:s, s:I, s:b}",
				   "name", &s, "prog", &id, "skip_loopback", &skip))
			return -EINVAL;
		if (load_key(s, p->name, sizeof(p->name)) || id <= 0 || id > UINT32_MAX)
			goto bad_verdict;
		p->prog = id;
		p->skip_loopback = !!skip;
		c->n_egress_progs = i + 1;
	}
	*where = "egress.nodes";
	c->egress = calloc(json_array_size(nodes) + 1, sizeof(*c->egress));
	if (!c->egress)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(nodes); i++) {
		struct gg_c_egress *p = &c->egress[i];
		json_int_t prog, e, pn;
		const char *s, *a;
		struct gg_cidr cidr;
		json_t *pname;

		if (json_unpack_ex(json_array_get(nodes, i), je, JSON_STRICT,
				   "{s:s, s:I, s:o, s:I, s:s, s:I}", "cidr", &s, "prog", &prog,
				   "program", &pname, "entry", &e, "action", &a, "port_node", &pn))
			return -EINVAL;
		if (gg_cidr_parse(s, &cidr) || prog < 0 || prog > UINT32_MAX || pn < 0 ||
		    pn > UINT32_MAX || load_verdict(c, e, a, &p->val.any))
			goto bad_verdict;
		p->family = cidr.family;
		memcpy(p->addr, cidr.addr, sizeof(p->addr));
		p->plen = cidr.plen;
		p->prog = prog;
		p->val.port_node = pn;
		c->n_egress = i + 1;
	}
	*where = "egress.ports";
	c->egress_ports = calloc(json_array_size(ports) + 1, sizeof(*c->egress_ports));
	if (!c->egress_ports)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(ports); i++) {
		struct gg_c_egress_port *p = &c->egress_ports[i];
		json_int_t node, port, e;
		const char *proto, *a;
		int pr;

		if (json_unpack_ex(json_array_get(ports, i), je, JSON_STRICT,
				   "{s:I, s:I, s:s, s:I, s:s}", "node", &node, "port", &port,
				   "protocol", &proto, "entry", &e, "action", &a))
			return -EINVAL;
		pr = proto_parse(proto);
		if (node <= 0 || node > UINT32_MAX || port < 0 || port > 65535 || pr < 0 ||
		    load_verdict(c, e, a, &p->v))
			goto bad_verdict;
		p->node = node;
		p->port = port;
		p->proto = pr;
		c->n_egress_ports = i + 1;
	}
	return 0;
bad_verdict:
	snprintf(je->text, sizeof(je->text), "value out of range (key, entry, action, prog, "
		 "port or protocol)");
	return -EINVAL;
}

int gg_compiled_from_json(const json_t *doc, struct gg_compiled **out, struct gg_err *err)
{
	struct gg_compiled *c;
	const char *where = "";
	json_error_t je = {};
	int ret;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return gg_errf(err, -ENOMEM, "compiled policy: out of memory");
	ret = from_json(doc, c, &je, &where);
	if (ret) {
		gg_compiled_free(c);
		if (ret == -ENOMEM)
			return gg_errf(err, ret, "compiled policy: out of memory");
		return gg_errf(err, ret, "compiled policy: %s%s%s", where, *where ? ": " : "",
			       je.text);
	}
	*out = c;
	return 0;
}
