// SPDX-License-Identifier: GPL-2.0
/*
 * Pack and bundle documents: parsing and validation (docs/packs.md).
 *
 * jansson does not keep the positions of values, so every error is located
 * after the fact: the validator tracks where it is as a chain of ordinals
 * (member n of this object, element n of that array; jansson keeps object
 * members in document order) and, only when it reports an error, re-scans
 * the (already valid) text along that chain to find the line and column.
 * Valid documents therefore pay nothing for positions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "allowlist.h"
#include "doc_cache.h"
#include "pack.h"

/* Where a value is: member `idx` of the enclosing object (or element `idx`
 * of the enclosing array); up == NULL means the enclosing value is the
 * document root. A NULL loc is the root itself. */
struct loc {
	const struct loc *up;
	size_t idx;
	bool key; /* point at the member's key instead of its value */
};

#define LOC_DEPTH_MAX 16

struct pctx {
	const char *buf;
	size_t len;
	const char *origin;
	struct gg_err *err;
	char where[160]; /* message prefix: `rule "r1": ` */
};

/* ---- positions ---------------------------------------------------------- */

static size_t skip_ws(const struct pctx *p, size_t i)
{
	while (i < p->len && (p->buf[i] == ' ' || p->buf[i] == '\t' || p->buf[i] == '\n' ||
			      p->buf[i] == '\r'))
		i++;
	return i;
}

static size_t skip_string(const struct pctx *p, size_t i)
{
	for (i++; i < p->len && p->buf[i] != '"'; i++)
		if (p->buf[i] == '\\')
			i++;
	return i < p->len ? i + 1 : p->len;
}

/* The text was accepted by jansson: scalars end at a delimiter, strings at
 * an unescaped quote, containers when their brackets balance. */
static size_t skip_value(const struct pctx *p, size_t i)
{
	int depth = 0;

	if (i >= p->len)
		return p->len;
	if (p->buf[i] == '"')
		return skip_string(p, i);
	if (p->buf[i] != '{' && p->buf[i] != '[') {
		while (i < p->len && !strchr(",]} \t\r\n", p->buf[i]))
			i++;
		return i;
	}
	while (i < p->len) {
		char c = p->buf[i];

		if (c == '"') {
			i = skip_string(p, i);
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				return i + 1;
		}
		i++;
	}
	return p->len;
}

static size_t locate(const struct pctx *p, const struct loc *l)
{
	const struct loc *chain[LOC_DEPTH_MAX];
	int depth = 0;
	size_t i;

	for (; l && depth < LOC_DEPTH_MAX; l = l->up)
		chain[depth++] = l;
	i = skip_ws(p, 0);
	for (int d = depth - 1; d >= 0 && i < p->len; d--) {
		const struct loc *e = chain[d];

		if (p->buf[i] == '{') {
			i++;
			for (size_t k = 0; k < e->idx && i < p->len; k++) {
				i = skip_value(p, skip_ws(p, i)); /* key */
				i = skip_ws(p, i) + 1; /* ':' */
				i = skip_value(p, skip_ws(p, i));
				i = skip_ws(p, i) + 1; /* ',' */
			}
			i = skip_ws(p, i);
			if (e->key)
				return i;
			i = skip_value(p, i);
			i = skip_ws(p, skip_ws(p, i) + 1);
		} else if (p->buf[i] == '[') {
			i++;
			for (size_t k = 0; k < e->idx && i < p->len; k++) {
				i = skip_value(p, skip_ws(p, i));
				i = skip_ws(p, i) + 1;
			}
			i = skip_ws(p, i);
		} else {
			break;
		}
	}
	return i < p->len ? i : p->len;
}

/* 1-based line and column; columns count characters (UTF-8 lead bytes)
 * like jansson's own error positions. */
static void line_col(const struct pctx *p, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < p->len; i++) {
		unsigned char c = p->buf[i];

		if (c == '\n') {
			(*line)++;
			*col = 1;
		} else if ((c & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static int perr(struct pctx *p, const struct loc *l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct pctx *p, const struct loc *l, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	int line, col;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line_col(p, locate(p, l), &line, &col);
	return gg_errf(p->err, -EINVAL, "%s:%d:%d: %s%s", p->origin, line, col, p->where, msg);
}

/* A value as JSON text for messages (strings come out quoted and escaped). */
struct shown {
	char s[112];
};

static const char *show(const json_t *v, struct shown *out)
{
	char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	size_t n;

	if (!d) {
		snprintf(out->s, sizeof(out->s), "?");
		return out->s;
	}
	n = strlen(d);
	if (n < sizeof(out->s))
		memcpy(out->s, d, n + 1);
	else
		snprintf(out->s, sizeof(out->s), "%.*s...", (int)sizeof(out->s) - 4, d);
	free(d);
	return out->s;
}

static const char *show_str(const char *s, struct shown *out)
{
	json_t *v = json_string_nocheck(s);

	show(v, out);
	json_decref(v);
	return out->s;
}

/* ---- typed access ------------------------------------------------------- */

static json_t *member(json_t *obj, const struct loc *ol, const char *key, struct loc *out)
{
	size_t k = 0;

	out->up = ol;
	out->key = false;
	out->idx = 0;
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it), k++) {
		if (!strcmp(json_object_iter_key(it), key)) {
			out->idx = k;
			return json_object_iter_value(it);
		}
	}
	return NULL;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static int check_fields(struct pctx *p, json_t *obj, const struct loc *ol,
			const char *const *allowed)
{
	size_t k = 0;

	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it), k++) {
		const char *key = json_object_iter_key(it);

		if (!in_list(key, allowed)) {
			struct loc l = { ol, k, true };
			struct shown sh;

			return perr(p, &l, "unknown field %s", show_str(key, &sh));
		}
	}
	return 0;
}

static int check_object(struct pctx *p, json_t *v, const struct loc *l, const char *what)
{
	struct shown sh;

	if (json_is_object(v))
		return 0;
	return perr(p, l, "%s must be an object, got %s", what, show(v, &sh));
}

/* A string value: no NUL (the data model is C strings), optionally non-empty. */
static int check_str(struct pctx *p, json_t *v, const struct loc *l, const char *what,
		     bool nonempty, const char **out)
{
	struct shown sh;

	if (!json_is_string(v))
		return perr(p, l, "%s must be a string, got %s", what, show(v, &sh));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return perr(p, l, "%s contains a NUL byte: %s", what, show(v, &sh));
	if (nonempty && !json_string_length(v))
		return perr(p, l, "%s must not be empty", what);
	*out = json_string_value(v);
	return 0;
}

/* A member string. Absent: an error when required, else *out = NULL. */
static int get_str(struct pctx *p, json_t *obj, const struct loc *ol, const char *key,
		   bool required, bool nonempty, const char **out, struct loc *vl)
{
	struct loc tmp;
	char what[64];
	json_t *v;

	vl = vl ? vl : &tmp;
	*out = NULL;
	v = member(obj, ol, key, vl);
	if (!v) {
		if (required)
			return perr(p, ol, "missing required field \"%s\"", key);
		return 0;
	}
	snprintf(what, sizeof(what), "\"%s\"", key);
	return check_str(p, v, vl, what, nonempty, out);
}

static int dup_str(const char *s, char **out)
{
	if (!s) {
		*out = NULL;
		return 0;
	}
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int oom(struct pctx *p)
{
	return gg_errf(p->err, -ENOMEM, "%s: out of memory", p->origin);
}

/* A member array of strings. Absent: error when required, else n = 0.
 * The array must not be empty. */
static int get_str_array(struct pctx *p, json_t *obj, const struct loc *ol, const char *key,
			 bool required, json_t **arr, struct loc *al)
{
	struct shown sh;
	json_t *v;

	*arr = NULL;
	v = member(obj, ol, key, al);
	if (!v) {
		if (required)
			return perr(p, ol, "missing required field \"%s\"", key);
		return 0;
	}
	if (!json_is_array(v))
		return perr(p, al, "\"%s\" must be an array, got %s", key, show(v, &sh));
	if (!json_array_size(v))
		return perr(p, al, "\"%s\" must not be empty", key);
	*arr = v;
	return 0;
}

struct idref {
	const char *id;
	size_t idx;
};

static int idref_cmp(const void *a, const void *b)
{
	const struct idref *x = a, *y = b;
	int d = strcmp(x->id, y->id);

	if (d)
		return d;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int idref_key_cmp(const void *key, const void *b)
{
	return strcmp(key, ((const struct idref *)b)->id);
}

/* The first element (in document order) equal to an earlier one, or
 * SIZE_MAX. sort_cmp orders by (key, index), key_cmp by key alone; sorting
 * keeps this O(n log n) for long lists (CIDR blocklists). */
static size_t first_dup(void *base, size_t n, size_t size,
			int (*sort_cmp)(const void *, const void *),
			int (*key_cmp)(const void *, const void *), size_t (*idx)(const void *))
{
	size_t best = SIZE_MAX;

	if (n > 1)
		qsort(base, n, size, sort_cmp);
	for (size_t i = 1; i < n; i++) {
		const char *a = (const char *)base + (i - 1) * size, *b = a + size;

		if (!key_cmp(a, b) && idx(b) < best)
			best = idx(b);
	}
	return best;
}

static size_t idref_idx(const void *a)
{
	return ((const struct idref *)a)->idx;
}

static int idref_id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct idref *)a)->id, ((const struct idref *)b)->id);
}

static int check_dup_strs(struct pctx *p, char **v, size_t n, const struct loc *al,
			  const char *what)
{
	struct idref *ix = calloc(n + 1, sizeof(*ix));
	struct shown sh;
	size_t d;

	if (!ix)
		return oom(p);
	for (size_t i = 0; i < n; i++)
		ix[i] = (struct idref){ v[i], i };
	d = first_dup(ix, n, sizeof(*ix), idref_cmp, idref_id_cmp, idref_idx);
	free(ix);
	if (d != SIZE_MAX) {
		struct loc el = { al, d, false };

		return perr(p, &el, "duplicate %s %s", what, show_str(v[d], &sh));
	}
	return 0;
}

/* Copies a validated array of strings; check() returns a problem or NULL.
 * Lists hold no duplicates (a repeated value is a typo or a merge slip). */
static int copy_strs(struct pctx *p, json_t *arr, const struct loc *al, const char *what,
		     const char *(*check)(const char *s), char ***out, size_t *n)
{
	size_t cnt = json_array_size(arr);
	char **v;

	v = calloc(cnt ? cnt : 1, sizeof(*v));
	if (!v)
		return oom(p);
	*out = v;
	*n = 0;
	for (size_t i = 0; i < cnt; i++) {
		struct loc el = { al, i, false };
		const char *s, *why;
		struct shown sh;
		int ret;

		ret = check_str(p, json_array_get(arr, i), &el, what, true, &s);
		if (ret)
			return ret;
		why = check ? check(s) : NULL;
		if (why)
			return perr(p, &el, "%s %s %s", what, show_str(s, &sh), why);
		v[i] = strdup(s);
		if (!v[i])
			return oom(p);
		(*n)++;
	}
	return check_dup_strs(p, v, cnt, al, what);
}

/* ---- value checks ------------------------------------------------------- */

/* Keys are matched against the kernel's canonical d_path(): absolute, no
 * ".", "..", empty components or trailing slash. */
static const char *path_problem(const char *s)
{
	const char *c;

	if (s[0] != '/')
		return "is not absolute";
	if (strlen(s) >= GG_PATH_MAX)
		return "is too long (the limit is 255 bytes)";
	for (c = s; *c; ) {
		const char *e;
		size_t n;

		c++; /* past '/' */
		e = strchrnul(c, '/');
		n = e - c;
		if (n == 0)
			return "is not canonical (empty component or trailing '/')";
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return "has a \".\" or \"..\" component";
		c = e;
	}
	return NULL;
}

/* Lower case only, as sha256sum prints it: one spelling per digest, so
 * duplicates are caught. */
static const char *sha256_problem(const char *s)
{
	if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64)
		return "is not a SHA-256 digest (64 lower-case hex digits)";
	return NULL;
}

static const char *name_problem(const char *s)
{
	if (strchr(s, '/'))
		return "contains '/' (a base name has none)";
	if (strlen(s) >= GG_NAME_MAX)
		return "is too long (the limit is 63 bytes)";
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "is not a file name";
	return NULL;
}

int gg_cidr_parse(const char *s, struct gg_cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t alen, bytes;
	int plen = 0, max, digits = 0;
	const char *d;

	memset(out, 0, sizeof(*out));
	slash = strchr(s, '/');
	if (!slash)
		return -EINVAL;
	alen = slash - s;
	if (!alen || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	for (d = slash + 1; *d; d++) {
		if (*d < '0' || *d > '9' || ++digits > 3)
			return -EINVAL;
		plen = plen * 10 + (*d - '0');
	}
	if (!digits || (digits > 1 && slash[1] == '0'))
		return -EINVAL;
	if (plen > max)
		return -ERANGE;
	out->plen = plen;
	/* host bits must be zero: a CIDR names a network, not an address in it */
	bytes = max / 8;
	for (size_t i = 0; i < bytes; i++) {
		int bit0 = i * 8;
		__u8 mask;

		if (bit0 + 8 <= plen)
			continue;
		mask = bit0 >= plen ? 0xff : (__u8)(0xff >> (plen - bit0));
		if (out->addr[i] & mask)
			return -EDOM;
	}
	return 0;
}

/* Destinations that reach the guest itself. Connecting to the unspecified
 * address reaches loopback too. */
static const struct {
	struct gg_cidr net;
	const char *text;
} local_nets[] = {
	{ { AF_INET, { 127 }, 8 }, "loopback 127.0.0.0/8" },
	{ { AF_INET, { 0 }, 32 }, "the unspecified address 0.0.0.0" },
	{ { AF_INET6, { [15] = 1 }, 128 }, "loopback ::1" },
	{ { AF_INET6, { 0 }, 128 }, "the unspecified address ::" },
	{ { AF_INET6, { [10] = 0xff, [11] = 0xff, [12] = 127 }, 104 },
	  "loopback ::ffff:127.0.0.0/104" },
	{ { AF_INET6, { [10] = 0xff, [11] = 0xff }, 128 },
	  "the unspecified address ::ffff:0.0.0.0" },
};

/* Prefixes nest or are disjoint: they overlap when the shorter one's bits
 * agree with the longer one. */
static bool cidr_overlaps(const struct gg_cidr *a, const struct gg_cidr *b)
{
	int n = a->plen < b->plen ? a->plen : b->plen;

	if (a->family != b->family)
		return false;
	if (memcmp(a->addr, b->addr, n / 8))
		return false;
	return !(n % 8) || !((a->addr[n / 8] ^ b->addr[n / 8]) & (0xff << (8 - n % 8)));
}

/* Which local range a CIDR touches, or NULL. A rule on a wider network
 * (0.0.0.0/0) would cut loopback as surely as one on 127.0.0.1/32. */
static const char *cidr_local(const struct gg_cidr *c)
{
	for (size_t i = 0; i < sizeof(local_nets) / sizeof(local_nets[0]); i++)
		if (cidr_overlaps(c, &local_nets[i].net))
			return local_nets[i].text;
	return NULL;
}

static int cidr_cmp(const void *a, const void *b)
{
	const struct gg_cidr *x = *(const struct gg_cidr *const *)a;
	const struct gg_cidr *y = *(const struct gg_cidr *const *)b;
	int d = x->family - y->family;

	if (!d)
		d = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (!d)
		d = x->plen - y->plen;
	return d;
}

static int cidr_ptr_cmp(const void *a, const void *b)
{
	int d = cidr_cmp(a, b);
	const struct gg_cidr *x = *(const struct gg_cidr *const *)a;
	const struct gg_cidr *y = *(const struct gg_cidr *const *)b;

	return d ? d : (x < y ? -1 : x > y);
}

static bool name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* ---- controls ----------------------------------------------------------- */

static const char *const control_fields[] = { "id", "title", "status", "reason", "needs",
					      "evidence", "refs", NULL };
static const char *const needs_values[] = { "content.scan", "sandbox.create", NULL };

static int parse_control(struct pctx *p, json_t *v, const struct loc *l, size_t idx,
			 struct gg_control *c)
{
	const char *id, *title, *status, *reason, *needs;
	struct loc sl, rl, nl, el, al;
	struct shown sh;
	json_t *ev, *refs;
	int ret;

	snprintf(p->where, sizeof(p->where), "controls[%zu]: ", idx);
	ret = check_object(p, v, l, "a control");
	if (ret)
		return ret;
	ret = get_str(p, v, l, "id", true, true, &id, NULL);
	if (ret)
		return ret;
	snprintf(p->where, sizeof(p->where), "control %s: ", show_str(id, &sh));
	ret = check_fields(p, v, l, control_fields);
	if (!ret)
		ret = get_str(p, v, l, "title", true, true, &title, NULL);
	if (!ret)
		ret = get_str(p, v, l, "status", true, true, &status, &sl);
	if (!ret)
		ret = get_str(p, v, l, "reason", false, true, &reason, &rl);
	if (!ret)
		ret = get_str(p, v, l, "needs", false, true, &needs, &nl);
	if (ret)
		return ret;
	if (strcmp(status, "enforced") && strcmp(status, "advisory"))
		return perr(p, &sl, "status %s is not \"enforced\" or \"advisory\"",
			    show_str(status, &sh));
	c->enforced = !strcmp(status, "enforced");
	if (needs && !in_list(needs, needs_values))
		return perr(p, &nl, "unknown needs %s: expected \"content.scan\" or "
			    "\"sandbox.create\"", show_str(needs, &sh));
	ev = member(v, l, "evidence", &el);
	if (ev && !json_is_boolean(ev))
		return perr(p, &el, "\"evidence\" must be true or false, got %s", show(ev, &sh));
	if (c->enforced) {
		/* An enforced control is backed by a rule: nothing to explain. */
		if (reason)
			return perr(p, &rl, "an enforced control has no \"reason\" (%s): "
				    "drop it or mark the control advisory", show_str(reason, &sh));
		if (ev)
			return perr(p, &el, "an enforced control has no \"evidence\" (%s): "
				    "drop it or mark the control advisory", show(ev, &sh));
		if (needs)
			return perr(p, &nl, "an enforced control has no \"needs\" (%s): "
				    "drop it or mark the control advisory", show_str(needs, &sh));
	} else if (!reason) {
		return perr(p, l, "advisory control without a \"reason\"");
	}
	c->evidence = ev && json_is_true(ev);
	ret = get_str_array(p, v, l, "refs", false, &refs, &al);
	if (ret)
		return ret;
	if (refs) {
		ret = copy_strs(p, refs, &al, "ref", NULL, &c->refs, &c->n_refs);
		if (ret)
			return ret;
	}
	if (dup_str(id, &c->id) || dup_str(title, &c->title) || dup_str(reason, &c->reason) ||
	    dup_str(needs, &c->needs))
		return oom(p);
	return 0;
}

/* ---- rules -------------------------------------------------------------- */

static const char *const rule_fields[] = { "id", "gate", "controls", "description", "match",
					   NULL };
static const char *const match_keys_exec[] = { "basenames", "paths", "identities",
					       "disconnected", "sha256", "trusted", NULL };
static const char *const match_keys_egress[] = { "cidrs", "ports", "protocol", "programs",
						 "sockets", NULL };
static const char *const match_keys_module[] = { "all", "kexec", NULL };
static const char *const match_keys_all[] = { "basenames", "paths", "identities",
					      "disconnected", "sha256", "trusted", "cidrs", "ports", "protocol",
					      "programs", "sockets", "all", "kexec", NULL };
/* "sockets" values, by enum gg_sock_kind */
static const char *const sock_kinds[GG_SOCK_KINDS + 1] = {
	[GG_SOCK_RAW] = "raw",
	[GG_SOCK_PACKET] = "packet",
	[GG_SOCK_OTHER] = "other",
};

static int check_match_keys(struct pctx *p, json_t *m, const struct loc *ml,
			    const struct gg_rule *r, const char *const *allowed)
{
	size_t k = 0;

	for (void *it = json_object_iter(m); it; it = json_object_iter_next(m, it), k++) {
		const char *key = json_object_iter_key(it);
		struct loc l = { ml, k, true };
		struct shown sh;

		if (in_list(key, allowed))
			continue;
		if (in_list(key, match_keys_all))
			return perr(p, &l, "match key %s is not allowed for gate %s",
				    show_str(key, &sh), gg_gate_name(r->gate));
		return perr(p, &l, "unknown field %s in match", show_str(key, &sh));
	}
	return 0;
}

static int parse_match_exec(struct pctx *p, json_t *m, const struct loc *ml, struct gg_rule *r)
{
	struct loc al;
	json_t *arr;
	int ret;

	ret = check_match_keys(p, m, ml, r, match_keys_exec);
	if (ret)
		return ret;
	arr = member(m, ml, "trusted", &al);
	if (arr && json_object_size(m) != 1)
		return perr(p, ml, "\"trusted\" (a trust list) must be the only match key");
	ret = get_str_array(p, m, ml, "trusted", false, &arr, &al);
	if (!ret && arr)
		ret = copy_strs(p, arr, &al, "trusted", sha256_problem, &r->trusted,
				&r->n_trusted);
	if (ret)
		return ret;
	ret = get_str_array(p, m, ml, "paths", false, &arr, &al);
	if (!ret && arr)
		ret = copy_strs(p, arr, &al, "path", path_problem, &r->paths, &r->n_paths);
	if (ret)
		return ret;
	ret = get_str_array(p, m, ml, "basenames", false, &arr, &al);
	if (!ret && arr)
		ret = copy_strs(p, arr, &al, "basename", name_problem, &r->basenames,
				&r->n_basenames);
	if (ret)
		return ret;
	ret = get_str_array(p, m, ml, "identities", false, &arr, &al);
	if (!ret && arr)
		ret = copy_strs(p, arr, &al, "identity", path_problem, &r->identities,
				&r->n_identities);
	if (ret)
		return ret;
	ret = get_str_array(p, m, ml, "sha256", false, &arr, &al);
	if (!ret && arr)
		ret = copy_strs(p, arr, &al, "sha256", sha256_problem, &r->sha256s,
				&r->n_sha256s);
	if (ret)
		return ret;
	arr = member(m, ml, "disconnected", &al);
	if (arr && !json_is_true(arr))
		return perr(p, &al, "\"disconnected\" must be true");
	r->exec_disconnected = arr != NULL;
	return 0;
}

static int check_dup_cidrs(struct pctx *p, json_t *arr, const struct loc *al,
			   const struct gg_rule *r)
{
	const struct gg_cidr **v;
	size_t best = SIZE_MAX, i;
	struct shown sh;

	/* strictly ascending (a generated list usually is): no duplicate,
	 * and no sort of a million pointers */
	for (i = 1; i < r->n_cidrs; i++) {
		const struct gg_cidr *a = &r->cidrs[i - 1], *b = &r->cidrs[i];

		if (cidr_cmp(&a, &b) >= 0)
			break;
	}
	if (i >= r->n_cidrs)
		return 0;
	v = calloc(r->n_cidrs + 1, sizeof(*v));
	if (!v)
		return oom(p);
	for (size_t i = 0; i < r->n_cidrs; i++)
		v[i] = &r->cidrs[i];
	/* sorted by (value, position): the index is the pointer's offset */
	if (r->n_cidrs > 1)
		qsort(v, r->n_cidrs, sizeof(*v), cidr_ptr_cmp);
	for (size_t i = 1; i < r->n_cidrs; i++)
		if (!cidr_cmp(&v[i - 1], &v[i]) && (size_t)(v[i] - r->cidrs) < best)
			best = v[i] - r->cidrs;
	free(v);
	if (best != SIZE_MAX) {
		struct loc el = { al, best, false };

		return perr(p, &el, "duplicate cidr %s", show(json_array_get(arr, best), &sh));
	}
	return 0;
}

static int parse_cidrs(struct pctx *p, json_t *arr, const struct loc *al, struct gg_rule *r)
{
	size_t cnt = json_array_size(arr);

	r->cidrs = calloc(cnt, sizeof(*r->cidrs));
	if (!r->cidrs)
		return oom(p);
	for (size_t i = 0; i < cnt; i++) {
		struct loc el = { al, i, false };
		struct gg_cidr *c = &r->cidrs[i];
		const char *s, *local;
		struct shown sh;
		int ret;

		ret = check_str(p, json_array_get(arr, i), &el, "cidr", true, &s);
		if (ret)
			return ret;
		switch (gg_cidr_parse(s, c)) {
		case 0:
			break;
		case -ERANGE:
			return perr(p, &el, "cidr %s: prefix length out of range "
				    "(0..32 for IPv4, 0..128 for IPv6)", show_str(s, &sh));
		case -EDOM:
			return perr(p, &el, "cidr %s has host bits set beyond the prefix length",
				    show_str(s, &sh));
		default:
			return perr(p, &el, "invalid cidr %s: expected a.b.c.d/n or x:y::z/n",
				    show_str(s, &sh));
		}
		local = cidr_local(c);
		if (local)
			return perr(p, &el, "cidr %s covers %s: packs must not cut the guest's "
				    "loopback (a program rule without cidrs denies every other "
				    "destination)", show_str(s, &sh), local);
		r->n_cidrs++;
	}
	return check_dup_cidrs(p, arr, al, r);
}

/*
 * "sockets": socket kinds denied at creation. A rule of them stands alone:
 * a socket has no destination when it is made, so cidrs, ports or
 * programs would narrow nothing the gate could check.
 */
static int parse_sockets(struct pctx *p, json_t *m, const struct loc *ml, struct gg_rule *r)
{
	struct loc al;
	json_t *arr;
	int ret;

	ret = get_str_array(p, m, ml, "sockets", false, &arr, &al);
	if (ret || !arr)
		return ret;
	if (json_object_size(m) != 1)
		return perr(p, ml, "\"sockets\" stands alone in its match (a socket has no "
			    "destination when it is made): move the other keys to a rule of "
			    "their own");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct loc el = { &al, i, false };
		const char *s;
		struct shown sh;
		int k;

		ret = check_str(p, json_array_get(arr, i), &el, "socket kind", true, &s);
		if (ret)
			return ret;
		for (k = 0; k < GG_SOCK_KINDS && strcmp(s, sock_kinds[k]); k++)
			;
		if (k == GG_SOCK_KINDS)
			return perr(p, &el, "unknown socket kind %s: expected \"raw\" or "
				    "\"packet\"", show_str(s, &sh));
		if (r->sockets & (1U << k))
			return perr(p, &el, "duplicate socket kind %s", show_str(s, &sh));
		r->sockets |= 1U << k;
	}
	return 0;
}

/* "ports" (integers 1..65535, no duplicates) and "protocol" ("tcp", "udp"
 * or "any") of a match or an allowlist entry; both optional. */
static int parse_narrowing(struct pctx *p, json_t *m, const struct loc *ml, __u16 **ports,
			   size_t *n_ports, int *proto_out)
{
	struct loc al, pl;
	const char *proto;
	struct shown sh;
	json_t *arr;
	int ret;

	ret = get_str_array(p, m, ml, "ports", false, &arr, &al);
	if (ret)
		return ret;
	if (arr) {
		size_t cnt = json_array_size(arr);
		__u64 seen[65536 / 64] = {};
		unsigned port;

		*ports = calloc(cnt, sizeof(**ports));
		if (!*ports)
			return oom(p);
		for (size_t i = 0; i < cnt; i++) {
			json_t *v = json_array_get(arr, i);
			struct loc el = { &al, i, false };

			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 65535)
				return perr(p, &el, "port %s is not an integer in 1..65535",
					    show(v, &sh));
			port = json_integer_value(v);
			if (seen[port / 64] & (1ULL << (port % 64)))
				return perr(p, &el, "duplicate port %s", show(v, &sh));
			seen[port / 64] |= 1ULL << (port % 64);
			(*ports)[(*n_ports)++] = port;
		}
	}
	ret = get_str(p, m, ml, "protocol", false, true, &proto, &pl);
	if (ret)
		return ret;
	*proto_out = GG_PROTO_ANY;
	if (proto) {
		if (!strcmp(proto, "tcp"))
			*proto_out = GG_PROTO_TCP;
		else if (!strcmp(proto, "udp"))
			*proto_out = GG_PROTO_UDP;
		else if (strcmp(proto, "any"))
			return perr(p, &pl, "unknown protocol %s: expected \"tcp\", \"udp\" or "
				    "\"any\"", show_str(proto, &sh));
	}
	return 0;
}

static int parse_match_egress(struct pctx *p, json_t *m, const struct loc *ml,
			      struct gg_rule *r)
{
	struct loc al;
	json_t *arr;
	int ret;

	ret = check_match_keys(p, m, ml, r, match_keys_egress);
	if (!ret)
		ret = parse_sockets(p, m, ml, r);
	if (ret || r->sockets)
		return ret;
	ret = get_str_array(p, m, ml, "cidrs", false, &arr, &al);
	if (!ret && arr)
		ret = parse_cidrs(p, arr, &al, r);
	if (ret)
		return ret;
	ret = parse_narrowing(p, m, ml, &r->ports, &r->n_ports, &r->proto);
	if (ret)
		return ret;
	ret = get_str_array(p, m, ml, "programs", false, &arr, &al);
	if (!ret && arr)
		ret = copy_strs(p, arr, &al, "program", name_problem, &r->programs,
				&r->n_programs);
	if (ret)
		return ret;
	if (!r->n_cidrs && !r->n_programs)
		return perr(p, ml, "a net.egress match needs \"cidrs\", \"programs\" or "
			    "\"sockets\"");
	return 0;
}

static int parse_match_module(struct pctx *p, json_t *m, const struct loc *ml,
			      struct gg_rule *r)
{
	struct shown sh;
	struct loc l;
	json_t *v;
	int ret;

	ret = check_match_keys(p, m, ml, r, match_keys_module);
	if (ret)
		return ret;
	v = member(m, ml, json_object_get(m, "kexec") ? "kexec" : "all", &l);
	if (!json_is_true(v) || json_object_size(m) != 1)
		return perr(p, v ? &l : ml, "a kernel.module match must be exactly "
			    "{\"all\": true} or {\"kexec\": true}, got %s", show(m, &sh));
	r->module_all = !json_object_get(m, "kexec");
	r->module_kexec = !r->module_all;
	return 0;
}

struct pack_index {
	struct idref *controls; /* sorted by id */
	size_t n_controls;
	bool *used; /* by control index */
};

static int parse_rule(struct pctx *p, json_t *v, const struct loc *l, size_t idx,
		      const struct gg_pack *pk, struct pack_index *ix, struct gg_rule *r)
{
	const char *id, *gate, *desc;
	struct loc gl, al, ml;
	struct shown sh;
	json_t *arr, *m;
	int ret, g;

	snprintf(p->where, sizeof(p->where), "rules[%zu]: ", idx);
	ret = check_object(p, v, l, "a rule");
	if (ret)
		return ret;
	ret = get_str(p, v, l, "id", true, true, &id, NULL);
	if (ret)
		return ret;
	snprintf(p->where, sizeof(p->where), "rule %s: ", show_str(id, &sh));
	ret = check_fields(p, v, l, rule_fields);
	if (!ret)
		ret = get_str(p, v, l, "gate", true, true, &gate, &gl);
	if (!ret)
		ret = get_str(p, v, l, "description", false, false, &desc, NULL);
	if (ret)
		return ret;
	if (dup_str(id, &r->id) || dup_str(desc, &r->description))
		return oom(p);
	g = gg_gate_parse(gate);
	if (g < 0) {
		if (in_list(gate, needs_values))
			return perr(p, &gl, "gate %s has no kernel signal; mark its controls "
				    "advisory with needs", show_str(gate, &sh));
		return perr(p, &gl, "unknown gate %s", show_str(gate, &sh));
	}
	r->gate = g;

	ret = get_str_array(p, v, l, "controls", true, &arr, &al);
	if (!ret)
		ret = copy_strs(p, arr, &al, "control", NULL, &r->controls, &r->n_controls);
	if (ret)
		return ret;
	for (size_t i = 0; i < r->n_controls; i++) {
		struct loc el = { &al, i, false };
		const struct idref *c;

		c = bsearch(r->controls[i], ix->controls, ix->n_controls, sizeof(*ix->controls),
			    idref_key_cmp);
		if (!c)
			return perr(p, &el, "control %s is not declared in the pack's controls",
				    show_str(r->controls[i], &sh));
		if (!pk->controls[c->idx].enforced)
			return perr(p, &el, "advisory control %s has a rule: mark it enforced or "
				    "drop the rule", show_str(r->controls[i], &sh));
		ix->used[c->idx] = true;
	}

	m = member(v, l, "match", &ml);
	if (!m)
		return perr(p, l, "missing required field \"match\"");
	ret = check_object(p, m, &ml, "\"match\"");
	if (ret)
		return ret;
	if (!json_object_size(m))
		return perr(p, &ml, "empty match: a rule must match something");
	switch (r->gate) {
	case GG_GATE_EXEC:
		return parse_match_exec(p, m, &ml, r);
	case GG_GATE_EGRESS:
		return parse_match_egress(p, m, &ml, r);
	default:
		return parse_match_module(p, m, &ml, r);
	}
}

/* Reports the first id (in document order) equal to an earlier one. */
static int check_unique(struct pctx *p, json_t *arr, const struct loc *al, struct idref *v,
			size_t n, const char *what)
{
	size_t d = first_dup(v, n, sizeof(*v), idref_cmp, idref_id_cmp, idref_idx);
	struct loc el = { al, d, false }, il;
	struct shown sh;
	const char *id;

	if (d == SIZE_MAX)
		return 0;
	member(json_array_get(arr, d), &el, "id", &il);
	id = json_string_value(json_object_get(json_array_get(arr, d), "id"));
	p->where[0] = '\0';
	return perr(p, &il, "duplicate %s id %s", what, show_str(id, &sh));
}

/* Fills rule->line in one pass over the rules array's text. */
static void rule_lines(const struct pctx *p, const struct loc *rl, struct gg_pack *pk)
{
	size_t i = locate(p, rl), last = 0;
	int line = 1;

	if (i >= p->len || p->buf[i] != '[')
		return;
	for (size_t k = 0; k < i; k++)
		line += p->buf[k] == '\n';
	last = i;
	i++;
	for (size_t r = 0; r < pk->n_rules && i < p->len; r++) {
		i = skip_ws(p, i);
		for (; last < i; last++)
			line += p->buf[last] == '\n';
		pk->rules[r].line = line;
		i = skip_value(p, i);
		i = skip_ws(p, i) + 1;
	}
}

/* ---- documents ---------------------------------------------------------- */

static const char *const pack_fields[] = { "name", "version", "description", "framework",
					   "controls", "rules", "egress_allowlist", NULL };
static const char *const framework_fields[] = { "id", "title", "version", "source", NULL };
static const char *const bundle_fields[] = { "bundle", "version", "description", "members",
					     NULL };

static int check_name(struct pctx *p, json_t *root, const char *key, const char **out)
{
	struct shown sh;
	struct loc l;
	int ret;

	ret = get_str(p, root, NULL, key, true, true, out, &l);
	if (ret)
		return ret;
	if (!name_ok(*out))
		return perr(p, &l, "%s %s must match [a-z0-9-]+", key, show_str(*out, &sh));
	return 0;
}

static int get_array(struct pctx *p, json_t *obj, const struct loc *ol, const char *key,
		     json_t **arr, struct loc *al)
{
	struct shown sh;

	*arr = member(obj, ol, key, al);
	if (!*arr)
		return perr(p, ol, "missing required field \"%s\"", key);
	if (!json_is_array(*arr))
		return perr(p, al, "\"%s\" must be an array, got %s", key, show(*arr, &sh));
	return 0;
}

static int pack_header(struct pctx *p, json_t *root, struct gg_pack *pk)
{
	const char *name, *version, *desc;
	int ret;

	ret = check_fields(p, root, NULL, pack_fields);
	if (!ret)
		ret = check_name(p, root, "name", &name);
	if (!ret)
		ret = get_str(p, root, NULL, "version", true, true, &version, NULL);
	if (!ret)
		ret = get_str(p, root, NULL, "description", false, false, &desc, NULL);
	if (ret)
		return ret;
	if (dup_str(name, &pk->name) || dup_str(version, &pk->version) ||
	    dup_str(desc, &pk->description))
		return oom(p);
	return 0;
}

/* The framework's string fields, in the order they are checked. */
static const struct {
	const char *key;
	bool required;
	size_t off; /* of the char * in struct gg_pack */
} framework_strs[] = {
	{ "id", true, offsetof(struct gg_pack, fw_id) },
	{ "title", true, offsetof(struct gg_pack, fw_title) },
	{ "version", false, offsetof(struct gg_pack, fw_version) },
	{ "source", false, offsetof(struct gg_pack, fw_source) },
};

static int pack_framework(struct pctx *p, json_t *root, struct gg_pack *pk)
{
	size_t n = sizeof(framework_strs) / sizeof(framework_strs[0]);
	const char *s;
	struct loc fl;
	json_t *fw;
	int ret;

	fw = member(root, NULL, "framework", &fl);
	if (!fw)
		return perr(p, NULL, "missing required field \"framework\"");
	snprintf(p->where, sizeof(p->where), "framework: ");
	ret = check_object(p, fw, &fl, "\"framework\"");
	if (!ret)
		ret = check_fields(p, fw, &fl, framework_fields);
	for (size_t i = 0; !ret && i < n; i++) {
		bool req = framework_strs[i].required;

		ret = get_str(p, fw, &fl, framework_strs[i].key, req, req, &s, NULL);
		if (!ret && dup_str(s, (char **)((char *)pk + framework_strs[i].off)))
			ret = oom(p);
	}
	if (ret)
		return ret;
	p->where[0] = '\0';
	return 0;
}

static int pack_controls(struct pctx *p, json_t *carr, const struct loc *cl,
			 struct gg_pack *pk, struct pack_index *ix)
{
	for (size_t i = 0; i < json_array_size(carr); i++) {
		struct loc el = { cl, i, false };
		int ret;

		pk->n_controls = i + 1; /* so that a partial control is freed */
		ret = parse_control(p, json_array_get(carr, i), &el, i, &pk->controls[i]);
		if (ret)
			return ret;
		ix->controls[i].id = pk->controls[i].id;
		ix->controls[i].idx = i;
	}
	ix->n_controls = pk->n_controls;
	return check_unique(p, carr, cl, ix->controls, ix->n_controls, "control");
}

static int pack_rules(struct pctx *p, json_t *rarr, const struct loc *rl, struct gg_pack *pk,
		      struct pack_index *ix, struct idref *rids)
{
	for (size_t i = 0; i < json_array_size(rarr); i++) {
		struct loc el = { rl, i, false };
		int ret;

		pk->n_rules = i + 1;
		ret = parse_rule(p, json_array_get(rarr, i), &el, i, pk, ix, &pk->rules[i]);
		if (ret)
			return ret;
		rids[i].id = pk->rules[i].id;
		rids[i].idx = i;
	}
	p->where[0] = '\0';
	return check_unique(p, rarr, rl, rids, pk->n_rules, "rule");
}

/* Every control the pack says it enforces must have a rule citing it. */
static int check_enforced(struct pctx *p, json_t *carr, const struct loc *cl,
			  const struct gg_pack *pk, const struct pack_index *ix)
{
	for (size_t i = 0; i < pk->n_controls; i++) {
		struct loc el = { cl, i, false }, il;
		struct shown sh;

		if (!pk->controls[i].enforced || ix->used[i])
			continue;
		member(json_array_get(carr, i), &el, "id", &il);
		return perr(p, &il, "enforced control %s has no rule behind it",
			    show_str(pk->controls[i].id, &sh));
	}
	return 0;
}

/* ---- egress_allowlist ---------------------------------------------------- */

static const char *const allowlist_fields[] = { "description", "controls", "allow", NULL };
static const char *const allow_entry_fields[] = { "domain", "cidr", "ports", "protocol", NULL };

/* A CIDR entry: "a.b.c.d/n", "x::y/n", or an address alone (/32, /128).
 * Unlike a rule's, it may cover loopback: loopback is always allowed. */
static int allow_cidr(struct pctx *p, const char *s, const struct loc *l, struct gg_cidr *c)
{
	__u8 buf[16];
	char tmp[64];
	struct shown sh;

	if (!strchr(s, '/') && strlen(s) < sizeof(tmp) - 5) {
		snprintf(tmp, sizeof(tmp), "%s/%d", s, inet_pton(AF_INET, s, buf) == 1 ? 32 : 128);
		s = tmp;
	}
	switch (gg_cidr_parse(s, c)) {
	case 0:
		return 0;
	case -ERANGE:
		return perr(p, l, "cidr %s: prefix length out of range (0..32 for IPv4, 0..128 "
			    "for IPv6)", show_str(s, &sh));
	case -EDOM:
		return perr(p, l, "cidr %s has host bits set beyond the prefix length",
			    show_str(s, &sh));
	default:
		return perr(p, l, "invalid cidr %s: expected a.b.c.d/n or x:y::z/n",
			    show_str(s, &sh));
	}
}

static int allow_domain(struct pctx *p, const char *s, const struct loc *l,
			struct gg_allow_entry *e)
{
	char buf[160];
	const char *why = gg_domain_check(s, &e->domain, &e->wildcard, buf, sizeof(buf));
	struct shown sh;

	if (why)
		return perr(p, l, "domain %s %s", show_str(s, &sh), why);
	return 0;
}

/* Does a string name an address rather than a domain? */
static bool looks_like_cidr(const char *s)
{
	__u8 buf[16];

	return strchr(s, '/') || strchr(s, ':') || inet_pton(AF_INET, s, buf) == 1;
}

/* An entry: a string (a domain, a CIDR or an address) or an object with
 * exactly one of "domain" and "cidr", and optionally ports and protocol. */
static int allow_entry(struct pctx *p, json_t *v, const struct loc *l, struct gg_allow_entry *e)
{
	const char *dom, *cidr, *s;
	struct loc dl, cl;
	int ret;

	e->proto = GG_PROTO_ANY;
	if (json_is_string(v)) {
		ret = check_str(p, v, l, "allowlist entry", true, &s);
		if (ret)
			return ret;
		return looks_like_cidr(s) ? allow_cidr(p, s, l, &e->cidr) : allow_domain(p, s, l, e);
	}
	if (!json_is_object(v))
		return perr(p, l, "an allowlist entry is a string (domain or cidr) or an object");
	ret = check_fields(p, v, l, allow_entry_fields);
	if (!ret)
		ret = get_str(p, v, l, "domain", false, true, &dom, &dl);
	if (!ret)
		ret = get_str(p, v, l, "cidr", false, true, &cidr, &cl);
	if (ret)
		return ret;
	if (!dom == !cidr)
		return perr(p, l, "an allowlist entry has exactly one of \"domain\" and \"cidr\"");
	ret = dom ? allow_domain(p, dom, &dl, e) : allow_cidr(p, cidr, &cl, &e->cidr);
	return ret ? ret : parse_narrowing(p, v, l, &e->ports, &e->n_ports, &e->proto);
}

static bool same_entry(const struct gg_allow_entry *a, const struct gg_allow_entry *b)
{
	if (!a->domain != !b->domain || a->proto != b->proto || a->n_ports != b->n_ports)
		return false;
	if (a->domain && (a->wildcard != b->wildcard || strcmp(a->domain, b->domain)))
		return false;
	if (!a->domain && (a->cidr.family != b->cidr.family || a->cidr.plen != b->cidr.plen ||
			   memcmp(a->cidr.addr, b->cidr.addr, sizeof(a->cidr.addr))))
		return false;
	return !a->n_ports || !memcmp(a->ports, b->ports, a->n_ports * sizeof(*a->ports));
}

static int allow_entries(struct pctx *p, json_t *arr, const struct loc *al,
			 struct gg_allowlist *w)
{
	size_t cnt = json_array_size(arr);

	w->entries = calloc(cnt + 1, sizeof(*w->entries));
	if (!w->entries)
		return oom(p);
	for (size_t i = 0; i < cnt; i++) {
		struct loc el = { al, i, false };
		struct gg_allow_entry *e = &w->entries[i];
		int ret;

		w->n_entries = i + 1; /* so that a partial entry is freed */
		ret = allow_entry(p, json_array_get(arr, i), &el, e);
		if (ret)
			return ret;
		for (size_t k = 0; k < i; k++)
			if (same_entry(&w->entries[k], e))
				return perr(p, &el, "duplicate allowlist entry (the same as "
					    "allow[%zu])", k);
	}
	return 0;
}

/* The list's controls: declared, enforced, and counted as used. */
static int allow_controls(struct pctx *p, json_t *arr, const struct loc *al,
			  const struct gg_pack *pk, struct pack_index *ix, struct gg_allowlist *w)
{
	struct shown sh;
	int ret;

	ret = copy_strs(p, arr, al, "control", NULL, &w->controls, &w->n_controls);
	for (size_t i = 0; !ret && i < w->n_controls; i++) {
		struct loc el = { al, i, false };
		const struct idref *c;

		c = bsearch(w->controls[i], ix->controls, ix->n_controls, sizeof(*ix->controls),
			    idref_key_cmp);
		if (!c)
			return perr(p, &el, "control %s is not declared in the pack's controls",
				    show_str(w->controls[i], &sh));
		if (!pk->controls[c->idx].enforced)
			return perr(p, &el, "advisory control %s is named by the allowlist: mark "
				    "it enforced", show_str(w->controls[i], &sh));
		ix->used[c->idx] = true;
	}
	return ret;
}

/* The allowlist's rule, after the pack's own (there is room for one). */
static int allow_rule(struct pctx *p, const struct loc *l, struct gg_pack *pk)
{
	const struct gg_allowlist *w = pk->allowlist;
	struct gg_rule *r = &pk->rules[pk->n_rules];
	int col;

	for (size_t i = 0; i < pk->n_rules; i++)
		if (!strcmp(pk->rules[i].id, GG_ALLOWLIST_RULE_ID))
			return perr(p, l, "rule id \"" GG_ALLOWLIST_RULE_ID "\" is the "
				    "allowlist's: rename the rule");
	pk->n_rules++;
	r->id = strdup(GG_ALLOWLIST_RULE_ID);
	r->gate = GG_GATE_EGRESS;
	r->allowlist = true;
	r->controls = calloc(w->n_controls + 1, sizeof(*r->controls));
	if (!r->id || !r->controls || dup_str(w->description, &r->description))
		return oom(p);
	for (size_t i = 0; i < w->n_controls; i++) {
		r->controls[i] = strdup(w->controls[i]);
		if (!r->controls[i])
			return oom(p);
		r->n_controls++;
	}
	line_col(p, locate(p, l), &r->line, &col);
	return 0;
}

static int pack_allowlist(struct pctx *p, json_t *root, struct gg_pack *pk,
			  struct pack_index *ix)
{
	struct loc wl, cl, al;
	const char *desc;
	json_t *w, *arr;
	int ret;

	w = member(root, NULL, "egress_allowlist", &wl);
	if (!w)
		return 0;
	snprintf(p->where, sizeof(p->where), "egress_allowlist: ");
	ret = check_object(p, w, &wl, "\"egress_allowlist\"");
	if (!ret)
		ret = check_fields(p, w, &wl, allowlist_fields);
	if (!ret)
		ret = get_str(p, w, &wl, "description", false, false, &desc, NULL);
	if (ret)
		return ret;
	pk->allowlist = calloc(1, sizeof(*pk->allowlist));
	if (!pk->allowlist || dup_str(desc, &pk->allowlist->description))
		return oom(p);
	ret = get_str_array(p, w, &wl, "controls", true, &arr, &cl);
	if (!ret)
		ret = allow_controls(p, arr, &cl, pk, ix, pk->allowlist);
	if (!ret)
		ret = get_str_array(p, w, &wl, "allow", true, &arr, &al);
	if (!ret)
		ret = allow_entries(p, arr, &al, pk->allowlist);
	if (!ret)
		ret = allow_rule(p, &wl, pk);
	if (!ret)
		p->where[0] = '\0';
	return ret;
}

static int pack_from_json(struct pctx *p, json_t *root, struct gg_pack *pk)
{
	struct pack_index ix = {};
	struct idref *rids = NULL;
	json_t *carr, *rarr;
	struct loc cl, rl;
	size_t nc, nr;
	int ret;

	ret = pack_header(p, root, pk);
	if (!ret)
		ret = pack_framework(p, root, pk);
	if (!ret)
		ret = get_array(p, root, NULL, "controls", &carr, &cl);
	if (!ret)
		ret = get_array(p, root, NULL, "rules", &rarr, &rl);
	if (ret)
		return ret;
	/* a pack is a coverage statement: it lists its framework's controls */
	if (!json_array_size(carr))
		return perr(p, &cl, "\"controls\" must not be empty");

	nc = json_array_size(carr) + 1;
	nr = json_array_size(rarr) + 1;
	pk->controls = calloc(nc, sizeof(*pk->controls));
	ix.controls = calloc(nc, sizeof(*ix.controls));
	ix.used = calloc(nc, sizeof(*ix.used));
	pk->rules = calloc(nr, sizeof(*pk->rules));
	rids = calloc(nr, sizeof(*rids));
	if (!pk->controls || !ix.controls || !ix.used || !pk->rules || !rids) {
		ret = oom(p);
		goto cleanup;
	}
	ret = pack_controls(p, carr, &cl, pk, &ix);
	if (!ret)
		ret = pack_rules(p, rarr, &rl, pk, &ix, rids);
	if (!ret)
		rule_lines(p, &rl, pk);
	if (!ret)
		ret = pack_allowlist(p, root, pk, &ix);
	if (!ret)
		ret = check_enforced(p, carr, &cl, pk, &ix);
cleanup:
	free(ix.controls);
	free(ix.used);
	free(rids);
	return ret;
}

static int bundle_from_json(struct pctx *p, json_t *root, struct gg_bundle *b)
{
	const char *name, *version, *desc;
	struct loc ml;
	json_t *arr;
	int ret;

	ret = check_fields(p, root, NULL, bundle_fields);
	if (!ret)
		ret = check_name(p, root, "bundle", &name);
	if (!ret)
		ret = get_str(p, root, NULL, "version", true, true, &version, NULL);
	if (!ret)
		ret = get_str(p, root, NULL, "description", false, false, &desc, NULL);
	if (!ret)
		ret = get_str_array(p, root, NULL, "members", true, &arr, &ml);
	if (ret)
		return ret;
	if (dup_str(name, &b->name) || dup_str(version, &b->version) ||
	    dup_str(desc, &b->description))
		return oom(p);
	return copy_strs(p, arr, &ml, "member", NULL, &b->members, &b->n_members);
}

static int doc_load(struct pctx *p, json_t **root)
{
	json_error_t je;

	/* NULs are admitted by the lexer so that the validator can name the
	 * offending value instead of failing with a bare syntax error. */
	if (*root)
		json_incref(*root); /* parsed by the caller */
	else
		*root = json_loadb(p->buf, p->len, GG_DOC_JSON_FLAGS, &je);
	if (!*root) {
		if (je.line > 0)
			return gg_errf(p->err, -EINVAL, "%s:%d:%d: %s", p->origin, je.line,
				       je.column, je.text);
		return gg_errf(p->err, -EINVAL, "%s: %s", p->origin, je.text);
	}
	if (!json_is_object(*root))
		return perr(p, NULL, "a pack or bundle must be a JSON object");
	return 0;
}

int gg_doc_parse_tree(const char *buf, size_t len, const char *origin, json_t *root,
		      const char *sha256, struct gg_pack **pack, struct gg_bundle **bundle,
		      struct gg_err *err)
{
	struct pctx p = { .buf = buf, .len = len, .origin = origin ? origin : "<input>",
			  .err = err };
	struct gg_bundle *b = NULL;
	struct gg_pack *pk = NULL;
	char hex[65];
	struct loc bl;
	int ret;

	if (pack)
		*pack = NULL;
	if (bundle)
		*bundle = NULL;
	/* The same bytes parsed before (user/doc_cache.h): their pack. */
	if (pack && gg_doc_cache_enabled() && len <= GG_DOC_CACHE_DOC_MAX) {
		if (!sha256) {
			gg_sha256_hex(buf, len, hex);
			sha256 = hex;
		}
		*pack = gg_doc_cache_get(sha256, p.origin);
		if (*pack)
			return 0;
	}
	ret = doc_load(&p, &root);
	if (ret)
		goto cleanup;
	if (member(root, NULL, "bundle", &bl)) {
		if (json_object_get(root, "name")) {
			bl.key = true;
			ret = perr(&p, &bl, "a document has \"name\" (a pack) or \"bundle\" "
				   "(a bundle), not both");
			goto cleanup;
		}
		if (!bundle) {
			ret = perr(&p, NULL, "expected a pack, got a bundle");
			goto cleanup;
		}
		b = calloc(1, sizeof(*b));
		if (!b) {
			ret = oom(&p);
			goto cleanup;
		}
		ret = bundle_from_json(&p, root, b);
		if (!ret && !(b->origin = strdup(p.origin)))
			ret = oom(&p);
		if (ret)
			goto cleanup;
		*bundle = b;
		b = NULL;
		goto cleanup;
	}
	if (!json_object_get(root, "name") && bundle) {
		ret = perr(&p, NULL, "neither a pack (\"name\") nor a bundle (\"bundle\")");
		goto cleanup;
	}
	if (!pack) {
		ret = perr(&p, NULL, "expected a bundle, got a pack");
		goto cleanup;
	}
	pk = calloc(1, sizeof(*pk));
	if (!pk) {
		ret = oom(&p);
		goto cleanup;
	}
	ret = pack_from_json(&p, root, pk);
	if (!ret && !(pk->origin = strdup(p.origin)))
		ret = oom(&p);
	if (ret)
		goto cleanup;
	if (sha256)
		memcpy(pk->sha256, sha256, sizeof(pk->sha256));
	else
		gg_sha256_hex(buf, len, pk->sha256);
	gg_doc_cache_put(pk, len);
	*pack = pk;
	pk = NULL;
cleanup:
	gg_pack_free(pk);
	gg_bundle_free(b);
	json_decref(root);
	return ret;
}

int gg_doc_parse(const char *buf, size_t len, const char *origin, struct gg_pack **pack,
		 struct gg_bundle **bundle, struct gg_err *err)
{
	return gg_doc_parse_tree(buf, len, origin, NULL, NULL, pack, bundle, err);
}

int gg_pack_parse(const char *buf, size_t len, const char *origin, struct gg_pack **out,
		  struct gg_err *err)
{
	return gg_doc_parse(buf, len, origin, out, NULL, err);
}

const struct gg_control *gg_pack_control(const struct gg_pack *pack, const char *id)
{
	for (size_t i = 0; i < pack->n_controls; i++)
		if (!strcmp(pack->controls[i].id, id))
			return &pack->controls[i];
	return NULL;
}

static void free_strs(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void gg_pack_free(struct gg_pack *pack)
{
	if (!pack)
		return;
	for (size_t i = 0; i < pack->n_controls; i++) {
		struct gg_control *c = &pack->controls[i];

		free(c->id);
		free(c->title);
		free(c->reason);
		free(c->needs);
		free_strs(c->refs, c->n_refs);
	}
	free(pack->controls);
	for (size_t i = 0; i < pack->n_rules; i++) {
		struct gg_rule *r = &pack->rules[i];

		free(r->id);
		free(r->description);
		free_strs(r->controls, r->n_controls);
		free_strs(r->paths, r->n_paths);
		free_strs(r->basenames, r->n_basenames);
		free_strs(r->identities, r->n_identities);
		free_strs(r->sha256s, r->n_sha256s);
		free_strs(r->trusted, r->n_trusted);
		free(r->cidrs);
		free(r->ports);
		free_strs(r->programs, r->n_programs);
	}
	free(pack->rules);
	if (pack->allowlist) {
		for (size_t i = 0; i < pack->allowlist->n_entries; i++) {
			free(pack->allowlist->entries[i].domain);
			free(pack->allowlist->entries[i].ports);
		}
		free(pack->allowlist->entries);
		free_strs(pack->allowlist->controls, pack->allowlist->n_controls);
		free(pack->allowlist->description);
		free(pack->allowlist);
	}
	free(pack->name);
	free(pack->version);
	free(pack->description);
	free(pack->fw_id);
	free(pack->fw_title);
	free(pack->fw_version);
	free(pack->fw_source);
	free(pack->origin);
	free(pack->ref);
	free(pack);
}

/*
 * gg_pack_dup: every block it allocates is counted (with malloc's 16 bytes
 * of header), so the cache can bound what it holds in memory, not in
 * document bytes: a pack of short strings takes several times its text.
 */
static __thread size_t dup_bytes;

static void *dup_alloc(size_t n, bool zero)
{
	void *p = zero ? calloc(1, n) : malloc(n);

	if (p)
		dup_bytes += ((n + 15) & ~(size_t)15) + 16;
	return p;
}

static int cp_str(const char *s, char **out)
{
	size_t n = s ? strlen(s) + 1 : 0;

	*out = NULL;
	if (!s)
		return 0;
	if (!(*out = dup_alloc(n, false)))
		return -ENOMEM;
	memcpy(*out, s, n);
	return 0;
}

/* Copies of n strings (v may be NULL when n is 0). */
static int cp_strs(char **v, size_t n, char ***out)
{
	*out = NULL;
	if (!n)
		return 0;
	*out = dup_alloc(n * sizeof(**out), true);
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (cp_str(v[i], &(*out)[i]))
			return -ENOMEM; /* the caller frees the partial copy */
	return 0;
}

/* n elements of size sz, copied bytewise (no pointers inside). */
static int cp_mem(const void *v, size_t n, size_t sz, void *out)
{
	void *p = NULL;

	if (n && !(p = dup_alloc(n * sz, false)))
		return -ENOMEM;
	if (n)
		memcpy(p, v, n * sz);
	memcpy(out, &p, sizeof(p));
	return 0;
}

static int cp_control(const struct gg_control *c, struct gg_control *o)
{
	*o = *c;
	o->id = o->title = o->reason = o->needs = NULL;
	o->refs = NULL;
	return cp_str(c->id, &o->id) ?: cp_str(c->title, &o->title) ?:
	       cp_str(c->reason, &o->reason) ?: cp_str(c->needs, &o->needs) ?:
	       cp_strs(c->refs, c->n_refs, &o->refs);
}

static int cp_rule(const struct gg_rule *r, struct gg_rule *o)
{
	*o = *r;
	o->id = o->description = NULL;
	o->controls = o->paths = o->basenames = o->identities = o->sha256s = o->trusted = NULL;
	o->programs = NULL;
	o->cidrs = NULL;
	o->ports = NULL;
	return cp_str(r->id, &o->id) ?: cp_str(r->description, &o->description) ?:
	       cp_strs(r->controls, r->n_controls, &o->controls) ?:
	       cp_strs(r->paths, r->n_paths, &o->paths) ?:
	       cp_strs(r->basenames, r->n_basenames, &o->basenames) ?:
	       cp_strs(r->identities, r->n_identities, &o->identities) ?:
	       cp_strs(r->sha256s, r->n_sha256s, &o->sha256s) ?:
	       cp_strs(r->trusted, r->n_trusted, &o->trusted) ?:
	       cp_mem(r->cidrs, r->n_cidrs, sizeof(*r->cidrs), &o->cidrs) ?:
	       cp_mem(r->ports, r->n_ports, sizeof(*r->ports), &o->ports) ?:
	       cp_strs(r->programs, r->n_programs, &o->programs);
}

static int cp_allowlist(const struct gg_allowlist *w, struct gg_allowlist **out)
{
	struct gg_allowlist *o;
	int ret;

	*out = NULL;
	if (!w)
		return 0;
	o = *out = dup_alloc(sizeof(*o), true);
	if (!o)
		return -ENOMEM;
	o->n_controls = w->n_controls;
	ret = cp_str(w->description, &o->description) ?:
	      cp_strs(w->controls, w->n_controls, &o->controls);
	if (!ret && w->n_entries &&
	    !(o->entries = dup_alloc(w->n_entries * sizeof(*o->entries), true)))
		ret = -ENOMEM;
	/* the count follows the entries filled, so a partial copy frees cleanly */
	for (size_t i = 0; !ret && i < w->n_entries; i++) {
		o->n_entries = i + 1;
		o->entries[i] = w->entries[i];
		o->entries[i].domain = NULL;
		o->entries[i].ports = NULL;
		ret = cp_str(w->entries[i].domain, &o->entries[i].domain) ?:
		      cp_mem(w->entries[i].ports, w->entries[i].n_ports,
			     sizeof(*w->entries[i].ports), &o->entries[i].ports);
	}
	return ret;
}

int gg_pack_dup(const struct gg_pack *pack, struct gg_pack **out, size_t *bytes)
{
	struct gg_pack *o;
	int ret;

	dup_bytes = 0;
	*out = NULL;
	o = dup_alloc(sizeof(*o), true);
	if (!o)
		return -ENOMEM;
	memcpy(o->sha256, pack->sha256, sizeof(o->sha256));
	ret = cp_str(pack->name, &o->name) ?: cp_str(pack->version, &o->version) ?:
	      cp_str(pack->description, &o->description) ?: cp_str(pack->fw_id, &o->fw_id) ?:
	      cp_str(pack->fw_title, &o->fw_title) ?: cp_str(pack->fw_version, &o->fw_version) ?:
	      cp_str(pack->fw_source, &o->fw_source) ?: cp_str(pack->origin, &o->origin) ?:
	      cp_str(pack->ref, &o->ref);
	/* counts follow the arrays filled, so a partial copy frees cleanly */
	if (!ret && pack->n_controls &&
	    !(o->controls = dup_alloc(pack->n_controls * sizeof(*o->controls), true)))
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < pack->n_controls; i++) {
		o->n_controls = i + 1;
		ret = cp_control(&pack->controls[i], &o->controls[i]);
	}
	if (!ret && pack->n_rules &&
	    !(o->rules = dup_alloc(pack->n_rules * sizeof(*o->rules), true)))
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < pack->n_rules; i++) {
		o->n_rules = i + 1;
		ret = cp_rule(&pack->rules[i], &o->rules[i]);
	}
	if (!ret)
		ret = cp_allowlist(pack->allowlist, &o->allowlist);
	if (ret) {
		gg_pack_free(o);
		return ret;
	}
	if (bytes)
		*bytes = dup_bytes;
	*out = o;
	return 0;
}

void gg_bundle_free(struct gg_bundle *bundle)
{
	if (!bundle)
		return;
	free(bundle->name);
	free(bundle->version);
	free(bundle->description);
	free_strs(bundle->members, bundle->n_members);
	free(bundle->origin);
	free(bundle);
}
