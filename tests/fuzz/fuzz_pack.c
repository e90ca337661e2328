// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the pack parser and the compiler (user/pack.c,
 * user/compile.c). The input is one document. Whatever it is:
 *   - gg_doc_parse returns exactly one of pack / bundle, or an error that
 *     starts with the document's name (and, for a validation error, the
 *     line and column);
 *   - a parsed pack's digest is that of the bytes;
 *   - a parsed pack compiles (alone, no floor) unless an identity path does
 *     not resolve on this machine; the result has dense entry ids, every
 *     verdict points at an entry whose action it carries, every egress node
 *     carries the rules of the nodes covering it, compiling twice gives the
 *     same JSON and the JSON round trip is identical;
 *   - egress semantics: for destinations at the edges of every node, every
 *     named port and both protocols, a lookup done the way the BPF side does
 *     it (longest prefix per program, then (port, proto), (port, 0),
 *     (0, proto), `any`) yields exactly the rules a brute-force match of the
 *     pack's rules gives;
 *   - no crash, leak or undefined behaviour (ASan/UBSan).
 * Packs whose egress rules expand to more than MAX_EXPANSION (program,
 * cidr, port) combinations are parsed but not compiled (time and memory).
 *
 *   make build/fuzz/fuzz_pack && ./build/fuzz/fuzz_pack tests/fuzz/corpus/pack
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "compile.h"
#include "compiled_json.h"

#define ORIGIN "fuzz.json"
#define MAX_EXPANSION 100000

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_pack: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

static char *to_text(const struct gg_compiled *c)
{
	json_t *j = gg_compiled_to_json(c);
	char *s;

	if (!j)
		die("gg_compiled_to_json failed", NULL);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		die("json_dumps failed", NULL);
	return s;
}

static size_t expansion(const struct gg_pack *p)
{
	size_t total = 0;

	for (size_t i = 0; i < p->n_rules; i++) {
		const struct gg_rule *r = &p->rules[i];
		size_t m = (r->n_programs ? r->n_programs : 1) * (r->n_cidrs ? r->n_cidrs : 2) *
			   (r->n_ports ? r->n_ports : 1);

		if (r->gate == GG_GATE_EGRESS)
			total += m;
	}
	return total;
}

static void check_verdict(const struct gg_compiled *c, const struct gg_verdict *v,
			  enum gg_gate gate, const char *what)
{
	const struct gg_entry *e;

	if (!v->entry) {
		if (v->action != GG_ACT_NONE)
			die("verdict without entry has an action", what);
		return;
	}
	e = gg_compiled_entry(c, v->entry);
	if (!e || e->action != v->action || e->gate != gate || !e->n_rules)
		die("verdict does not match its entry", what);
}

static bool rules_subset(const struct gg_entry *a, const struct gg_entry *b)
{
	if (!a)
		return true;
	if (!b)
		return false;
	for (size_t i = 0; i < a->n_rules; i++) {
		bool found = false;

		for (size_t j = 0; j < b->n_rules && !found; j++)
			found = !strcmp(a->rules[i].pack, b->rules[j].pack) &&
				!strcmp(a->rules[i].rule, b->rules[j].rule);
		if (!found)
			return false;
	}
	return true;
}

static bool covers(const struct gg_c_egress *p, const struct gg_c_egress *n)
{
	if (p->family != n->family || p->prog != n->prog || p->plen >= n->plen)
		return false;
	for (int bit = 0; bit < p->plen; bit++) {
		int m = 0x80 >> (bit % 8);

		if ((p->addr[bit / 8] & m) != (n->addr[bit / 8] & m))
			return false;
	}
	return true;
}

/* IPv4-mapped prefixes are IPv4 (as the compiler and the programs see them). */
static void norm(const struct gg_cidr *in, struct gg_cidr *out)
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };

	*out = *in;
	if (in->family == AF_INET6 && in->plen >= 96 && !memcmp(in->addr, mapped, 12)) {
		memset(out->addr, 0, sizeof(out->addr));
		memcpy(out->addr, in->addr + 12, 4);
		out->family = AF_INET;
		out->plen = in->plen - 96;
	}
}

static bool in_prefix(int family, const __u8 *net, int plen, int dfamily, const __u8 *d)
{
	if (family != dfamily)
		return false;
	for (int bit = 0; bit < plen; bit++) {
		int m = 0x80 >> (bit % 8);

		if ((net[bit / 8] & m) != (d[bit / 8] & m))
			return false;
	}
	return true;
}

static bool rule_hits(const struct gg_rule *r, const char *prog, int family, const __u8 *d,
		      __u16 port, __u8 proto)
{
	bool ok = false;

	if (r->gate != GG_GATE_EGRESS)
		return false;
	/* generic lookups see rules without programs, program lookups their own */
	if (!prog != !r->n_programs)
		return false;
	for (size_t i = 0; prog && i < r->n_programs && !ok; i++)
		ok = !strcmp(r->programs[i], prog);
	if (prog && !ok)
		return false;
	ok = !r->n_cidrs;
	for (size_t i = 0; i < r->n_cidrs && !ok; i++) {
		struct gg_cidr n;

		norm(&r->cidrs[i], &n);
		ok = in_prefix(n.family, n.addr, n.plen, family, d);
	}
	if (!ok || (r->proto && r->proto != proto))
		return false;
	ok = !r->n_ports;
	for (size_t i = 0; i < r->n_ports && !ok; i++)
		ok = r->ports[i] == port;
	return ok;
}

static const struct gg_verdict *port_row(const struct gg_compiled *c, __u32 node, __u16 port,
					 __u8 proto)
{
	for (size_t i = 0; i < c->n_egress_ports; i++)
		if (c->egress_ports[i].node == node && c->egress_ports[i].port == port &&
		    c->egress_ports[i].proto == proto)
			return &c->egress_ports[i].v;
	return NULL;
}

/* What the programs decide for one lookup (gg_egress_lookup). */
static const struct gg_verdict *bpf_lookup(const struct gg_compiled *c, __u32 prog, int family,
					   const __u8 *d, __u16 port, __u8 proto)
{
	const struct gg_c_egress *best = NULL;
	const struct gg_verdict *v;

	for (size_t i = 0; i < c->n_egress; i++) {
		const struct gg_c_egress *e = &c->egress[i];

		if (e->prog == prog && in_prefix(e->family, e->addr, e->plen, family, d) &&
		    (!best || e->plen > best->plen))
			best = e;
	}
	if (!best)
		return NULL;
	if (!best->val.port_node)
		return &best->val.any;
	if ((v = port_row(c, best->val.port_node, port, proto)) ||
	    (v = port_row(c, best->val.port_node, port, 0)) ||
	    (v = port_row(c, best->val.port_node, 0, proto)))
		return v;
	return &best->val.any;
}

static void check_one(const struct gg_pack *p, const struct gg_compiled *c, __u32 prog,
		      const char *name, int family, const __u8 *d, __u16 port, __u8 proto)
{
	const struct gg_verdict *v = bpf_lookup(c, prog, family, d, port, proto);
	const struct gg_entry *e = v ? gg_compiled_entry(c, v->entry) : NULL;
	size_t want = 0;

	for (size_t i = 0; i < p->n_rules; i++) {
		const struct gg_rule *r = &p->rules[i];
		bool got = false;

		if (!rule_hits(r, name, family, d, port, proto))
			continue;
		want++;
		for (size_t k = 0; e && k < e->n_rules && !got; k++)
			got = !strcmp(e->rules[k].rule, r->id);
		if (!got)
			die("an egress lookup misses a rule that matches", r->id);
	}
	if ((e ? e->n_rules : 0) != want)
		die("an egress lookup carries a rule that does not match", NULL);
}

static void check_egress(const struct gg_pack *p, const struct gg_compiled *c)
{
	__u16 ports[18] = { 1 };
	size_t n_ports = 1;

	if (c->n_egress > 64)
		return;
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t k = 0; k < p->rules[i].n_ports && n_ports < 18; k++)
			ports[n_ports++] = p->rules[i].ports[k];
	for (size_t i = 0; i < c->n_egress; i++) {
		const struct gg_c_egress *e = &c->egress[i];
		int bits = e->family == AF_INET ? 32 : 128;
		__u8 edge[2][16];

		/* the first and the last address of the node's prefix */
		memcpy(edge[0], e->addr, 16);
		memcpy(edge[1], e->addr, 16);
		for (int bit = e->plen; bit < bits; bit++)
			edge[1][bit / 8] |= 0x80 >> (bit % 8);
		for (int x = 0; x < 2; x++)
			for (size_t k = 0; k < n_ports; k++)
				for (int q = 0; q < 2; q++) {
					__u8 proto = q ? GG_PROTO_UDP : GG_PROTO_TCP;

					check_one(p, c, 0, NULL, e->family, edge[x], ports[k],
						  proto);
					for (size_t g = 0; g < c->n_egress_progs; g++)
						check_one(p, c, c->egress_progs[g].prog,
							  c->egress_progs[g].name, e->family,
							  edge[x], ports[k], proto);
				}
	}
}

static void check_compiled(const struct gg_compiled *c)
{
	for (size_t i = 0; i < c->n_entries; i++)
		if (c->entries[i].id != i + 1)
			die("entry ids are not dense", NULL);
	check_verdict(c, &c->module, GG_GATE_MODULE, "module");
	for (size_t i = 0; i < c->n_exec_paths; i++)
		check_verdict(c, &c->exec_paths[i].v, GG_GATE_EXEC, c->exec_paths[i].path);
	for (size_t i = 0; i < c->n_exec_names; i++)
		check_verdict(c, &c->exec_names[i].v, GG_GATE_EXEC, c->exec_names[i].name);
	for (size_t i = 0; i < c->n_exec_inodes; i++)
		check_verdict(c, &c->exec_inodes[i].v, GG_GATE_EXEC, "inode");
	for (size_t i = 0; i < c->n_egress_ports; i++)
		check_verdict(c, &c->egress_ports[i].v, GG_GATE_EGRESS, "port row");
	for (size_t i = 0; i < c->n_egress; i++) {
		const struct gg_c_egress *n = &c->egress[i];

		check_verdict(c, &n->val.any, GG_GATE_EGRESS, "node");
		if (c->n_egress > 512)
			continue;
		for (size_t j = 0; j < c->n_egress; j++)
			if (covers(&c->egress[j], n) &&
			    !rules_subset(gg_compiled_entry(c, c->egress[j].val.any.entry),
					  gg_compiled_entry(c, n->val.any.entry)))
				die("a node lacks the rules of a covering node", NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gg_policy_input in;
	struct gg_compiled *c = NULL, *c2 = NULL, *back = NULL;
	struct gg_bundle *bundle = NULL;
	struct gg_pack *pack = NULL;
	struct gg_err err = {};
	char *j1 = NULL, *j2 = NULL, *j3 = NULL;
	char hex[65];
	json_t *doc;
	int ret;

	ret = gg_doc_parse((const char *)data, size, ORIGIN, &pack, &bundle, &err);
	if (ret) {
		if (pack || bundle)
			die("a document returned with an error", err.msg);
		if (strncmp(err.msg, ORIGIN ":", strlen(ORIGIN ":")))
			die("error does not name the document", err.msg);
		return 0;
	}
	if (!pack == !bundle)
		die("exactly one of pack and bundle must be set", NULL);
	if (bundle) {
		if (!bundle->n_members)
			die("a bundle without members", NULL);
		gg_bundle_free(bundle);
		return 0;
	}
	gg_sha256_hex(data, size, hex);
	if (strcmp(hex, pack->sha256))
		die("pack digest is not that of its bytes", NULL);
	if (expansion(pack) > MAX_EXPANSION)
		goto out;

	in = (struct gg_policy_input){ pack, (size & 1) ? GG_ACT_OBSERVE : GG_ACT_DENY, false };
	ret = gg_compile(&in, 1, &c, &err);
	if (ret) {
		/* the only expected failure: an identity that does not resolve here */
		if (!strstr(err.msg, "identity"))
			die("a valid pack does not compile", err.msg);
		goto out;
	}
	check_compiled(c);
	check_egress(pack, c);
	j1 = to_text(c);
	if (gg_compile(&in, 1, &c2, &err))
		die("second compile failed", err.msg);
	j2 = to_text(c2);
	if (strcmp(j1, j2))
		die("compiling twice gives different JSON", NULL);
	doc = json_loads(j1, 0, NULL);
	if (!doc)
		die("to_json output does not parse", NULL);
	if (gg_compiled_from_json(doc, &back, &err))
		die("from_json refuses to_json output", err.msg);
	json_decref(doc);
	j3 = to_text(back);
	if (strcmp(j1, j3))
		die("JSON round trip differs", NULL);
out:
	free(j1);
	free(j2);
	free(j3);
	gg_compiled_free(c);
	gg_compiled_free(c2);
	gg_compiled_free(back);
	gg_pack_free(pack);
	return 0;
}
