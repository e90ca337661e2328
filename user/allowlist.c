// SPDX-License-Identifier: GPL-2.0
/*
 * Egress allowlists: domain entries (checked with libidn2, IDNA2008 with
 * the UTS #46 mapping, so "PyPI.org", "bücher.example" and its A-label
 * "xn--bcher-kva.example" are one name each), name matching, and the fold
 * of CIDR entries into allow trie nodes.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <idn2.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "allowlist.h"

#define DOMAIN_MAX 253 /* RFC 1035: 255 octets on the wire */
#define LABEL_MAX 63

/* Label lengths and the all-digit last label of an address-looking name. */
static const char *labels_problem(const char *s, bool wildcard)
{
	size_t len = strlen(s), n;
	const char *last = s;

	/* a wildcard must leave room for at least a one-byte label */
	if (len > (wildcard ? DOMAIN_MAX - 2 : DOMAIN_MAX))
		return "is too long (a name has at most 253 bytes)";
	for (const char *p = s;; p += n + 1) {
		n = strcspn(p, ".");
		if (!n)
			return "has an empty label";
		if (n > LABEL_MAX)
			return "has a label over 63 bytes";
		/* LDH (RFC 1123): host names, not DNS's other records (_dmarc) */
		if (strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-") < n)
			return "has a character other than a letter, a digit or '-' in a label";
		if (p[0] == '-' || p[n - 1] == '-')
			return "has a label that starts or ends with '-'";
		last = p;
		if (!p[n])
			break;
	}
	if (strspn(last, "0123456789") == strlen(last))
		return "looks like an address (its last label is all digits): write a CIDR";
	return NULL;
}

/* An ASCII name is checked as written: the UTS #46 mapping would drop
 * characters STD3 disallows ("a_b.com" becomes "ab.com") instead of
 * refusing them. */
static const char *ascii_problem(const char *name, bool wildcard)
{
	char *low = strdup(name);
	const char *why = NULL;

	if (!low)
		return "could not be stored (out of memory)";
	for (char *p = low; *p && !why; p++) {
		if ((unsigned char)*p >= 0x80)
			goto cleanup; /* not ASCII: idn2 decides */
		*p = tolower((unsigned char)*p);
	}
	why = labels_problem(low, wildcard);
cleanup:
	free(low);
	return why;
}

const char *gg_domain_check(const char *in, char **ascii, bool *wildcard, char *buf, size_t sz)
{
	const char *name = in, *why;
	uint8_t *out = NULL;
	int rc;

	*ascii = NULL;
	*wildcard = false;
	if (!strcmp(in, "*"))
		return "matches every name: allow 0.0.0.0/0 and ::/0 instead";
	if (!strncmp(in, "*.", 2)) {
		*wildcard = true;
		name = in + 2;
	}
	if (strchr(name, '*'))
		return "has a '*' that is not the whole leftmost label";
	if (!*name)
		return "is empty";
	if (name[strlen(name) - 1] == '.')
		return "ends with '.' (write the name without the root)";
	if (strlen(name) > 4 * DOMAIN_MAX)
		return "is too long (a name has at most 253 bytes)";
	why = ascii_problem(name, *wildcard);
	if (why)
		return why;
	rc = idn2_lookup_u8((const uint8_t *)name, &out,
			    IDN2_NONTRANSITIONAL | IDN2_USE_STD3_ASCII_RULES);
	if (rc != IDN2_OK) {
		snprintf(buf, sz, "is not a valid domain name (IDNA: %s)", idn2_strerror(rc));
		return buf;
	}
	for (uint8_t *p = out; *p; p++)
		*p = tolower(*p);
	why = labels_problem((const char *)out, *wildcard);
	if (why) {
		idn2_free(out);
		return why;
	}
	*ascii = strdup((const char *)out);
	idn2_free(out);
	return *ascii ? NULL : "could not be stored (out of memory)";
}

bool gg_domain_match(const char *domain, bool wildcard, const char *name)
{
	size_t nl = strlen(name), dl = strlen(domain);

	/* presentation form escapes a byte in a label (\., \\, \DDD): "x\.d"
	 * is one label under d's parent, not a subdomain of d. No entry has
	 * such a byte (LDH): such a name matches none. */
	if (strchr(name, '\\'))
		return false;
	if (nl && name[nl - 1] == '.')
		nl--;
	if (!wildcard)
		return nl == dl && !strncasecmp(name, domain, dl);
	/* "*.d" is "x.d" for any non-empty x, never "d" itself */
	return nl > dl + 1 && name[nl - dl - 1] == '.' &&
	       !strncasecmp(name + nl - dl, domain, dl);
}

void gg_allow_con_set(struct gg_allow_con *con, int family, const __u8 *addr, int plen)
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(con->addr, 0, sizeof(con->addr));
	if (family == AF_INET6 && plen >= 96 && !memcmp(addr, mapped, 12)) {
		con->v6 = 0;
		memcpy(con->addr, addr + 12, 4);
		con->plen = plen - 96;
	} else if (family == AF_INET6) {
		con->v6 = 1;
		memcpy(con->addr, addr, 16);
		con->plen = plen;
	} else {
		con->v6 = 0;
		memcpy(con->addr, addr, 4);
		con->plen = plen;
	}
}

static int con_cmp(const void *a, const void *b)
{
	const struct gg_allow_con *x = a, *y = b;
	int d;

	if (x->v6 != y->v6)
		return x->v6 < y->v6 ? -1 : 1;
	d = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (d)
		return d;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	if (x->narrowed != y->narrowed)
		return x->narrowed < y->narrowed ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->proto < y->proto ? -1 : x->proto > y->proto;
}

static int port_cmp(const void *a, const void *b)
{
	const struct gg_allow_port *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->proto < y->proto ? -1 : x->proto > y->proto;
}

static bool covers(const struct gg_allow_node *p, const struct gg_allow_node *n)
{
	int full = p->plen / 8, rest = p->plen % 8;

	if (p->family != n->family || p->plen >= n->plen)
		return false;
	if (memcmp(p->addr, n->addr, full))
		return false;
	return !rest || !((p->addr[full] ^ n->addr[full]) & (0xff << (8 - rest)));
}

struct fold {
	struct gg_allow_node *nodes;
	size_t n_nodes;
	struct gg_allow_port *ports;
	size_t n_ports, cap_ports;
	size_t *lo, *hi; /* per node: its rows in ports */
	size_t stack[130]; /* the chain of covering nodes (at most 129 nest) */
	size_t depth;
};

static int add_row(struct fold *f, __u16 port, __u8 proto, __u32 lists)
{
	if (f->n_ports == f->cap_ports) {
		size_t cap = f->cap_ports ? 2 * f->cap_ports : 64;
		struct gg_allow_port *p = realloc(f->ports, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		f->ports = p;
		f->cap_ports = cap;
	}
	f->ports[f->n_ports++] = (struct gg_allow_port){ 0, port, proto, lists };
	return 0;
}

/* Node ni's rows: its parent's, then its own narrowed entries [a, b),
 * sorted and merged by (port, proto). */
static int node_rows(struct fold *f, size_t ni, size_t parent, const struct gg_allow_con *con,
		     size_t a, size_t b)
{
	size_t start = f->n_ports, w;

	if (parent != SIZE_MAX)
		for (size_t r = f->lo[parent]; r < f->hi[parent]; r++)
			if (add_row(f, f->ports[r].port, f->ports[r].proto, f->ports[r].lists))
				return -ENOMEM;
	for (size_t i = a; i < b; i++)
		if (add_row(f, con[i].port, con[i].proto, con[i].lists))
			return -ENOMEM;
	if (f->n_ports - start > 1)
		qsort(f->ports + start, f->n_ports - start, sizeof(*f->ports), port_cmp);
	w = start;
	for (size_t r = start; r < f->n_ports; r++) {
		if (w > start && !port_cmp(&f->ports[w - 1], &f->ports[r]))
			f->ports[w - 1].lists |= f->ports[r].lists;
		else
			f->ports[w++] = f->ports[r];
	}
	f->n_ports = w;
	f->lo[ni] = start;
	f->hi[ni] = w;
	return 0;
}

/* One node from the entries [a, b) that share its prefix. */
static int fold_node(struct fold *f, const struct gg_allow_con *con, size_t a, size_t b,
		     __u32 *port_nodes)
{
	struct gg_allow_node *n = &f->nodes[f->n_nodes];
	size_t ni = f->n_nodes++, parent = SIZE_MAX, k;

	n->family = con[a].v6 ? AF_INET6 : AF_INET;
	memcpy(n->addr, con[a].addr, sizeof(n->addr));
	n->plen = con[a].plen;
	while (f->depth && !covers(&f->nodes[f->stack[f->depth - 1]], n))
		f->depth--;
	if (f->depth)
		parent = f->stack[f->depth - 1];
	if (f->depth < sizeof(f->stack) / sizeof(f->stack[0]))
		f->stack[f->depth++] = ni;
	n->any = parent != SIZE_MAX ? f->nodes[parent].any : 0;
	for (k = a; k < b && !con[k].narrowed; k++)
		n->any |= con[k].lists;
	if (node_rows(f, ni, parent, con, k, b))
		return -ENOMEM;
	n->port_node = f->hi[ni] > f->lo[ni] ? ++*port_nodes : 0;
	for (size_t r = f->lo[ni]; r < f->hi[ni]; r++)
		f->ports[r].node = n->port_node;
	return 0;
}

int gg_allow_fold(struct gg_allow_con *con, size_t n, struct gg_allow_node **nodes,
		  size_t *n_nodes, struct gg_allow_port **ports, size_t *n_ports)
{
	struct fold f = {};
	__u32 port_nodes = 0;
	int ret = -ENOMEM;

	*nodes = NULL;
	*ports = NULL;
	*n_nodes = *n_ports = 0;
	f.nodes = calloc(n + 1, sizeof(*f.nodes));
	f.lo = calloc(n + 1, sizeof(*f.lo));
	f.hi = calloc(n + 1, sizeof(*f.hi));
	if (!f.nodes || !f.lo || !f.hi)
		goto cleanup;
	if (n > 1)
		qsort(con, n, sizeof(*con), con_cmp);
	for (size_t a = 0, b; a < n; a = b) {
		for (b = a; b < n && con[b].v6 == con[a].v6 && con[b].plen == con[a].plen &&
			    !memcmp(con[b].addr, con[a].addr, sizeof(con->addr)); b++)
			;
		if (fold_node(&f, con, a, b, &port_nodes))
			goto cleanup;
	}
	*nodes = f.nodes;
	*n_nodes = f.n_nodes;
	*ports = f.ports;
	*n_ports = f.n_ports;
	f.nodes = NULL;
	f.ports = NULL;
	ret = 0;
cleanup:
	free(f.nodes);
	free(f.ports);
	free(f.lo);
	free(f.hi);
	return ret;
}

/* An entry as the pack writes it, normalised: {"domain": "*.x"} or
 * {"cidr": "a/n"}, with "ports" and "protocol" where it narrows. */
static json_t *entry_json(const struct gg_allow_entry *e)
{
	char addr[INET6_ADDRSTRLEN] = "?", *s = NULL;
	json_t *o = json_object(), *ports;

	if (!o)
		return NULL;
	if (e->domain && asprintf(&s, "%s%s", e->wildcard ? "*." : "", e->domain) < 0)
		s = NULL;
	if (!e->domain) {
		inet_ntop(e->cidr.family, e->cidr.addr, addr, sizeof(addr));
		if (asprintf(&s, "%s/%d", addr, e->cidr.plen) < 0)
			s = NULL;
	}
	json_object_set_new(o, e->domain ? "domain" : "cidr", s ? json_string(s) : json_null());
	free(s);
	if (e->n_ports) {
		ports = json_array();
		for (size_t k = 0; ports && k < e->n_ports; k++)
			json_array_append_new(ports, json_integer(e->ports[k]));
		json_object_set_new(o, "ports", ports);
	}
	if (e->proto)
		json_object_set_new(o, "protocol", json_string(e->proto == 6 ? "tcp" : "udp"));
	return o;
}

json_t *gg_allowlist_json(const struct gg_allowlist *w)
{
	json_t *ctl = json_array(), *allow = json_array();

	for (size_t i = 0; ctl && i < w->n_controls; i++)
		json_array_append_new(ctl, json_string(w->controls[i]));
	for (size_t i = 0; allow && i < w->n_entries; i++)
		json_array_append_new(allow, entry_json(&w->entries[i]));
	return json_pack("{s:s?, s:o, s:o}", "description", w->description, "controls", ctl,
			 "allow", allow);
}
