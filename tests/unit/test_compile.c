// SPDX-License-Identifier: GPL-2.0
/*
 * The compiler: union and merge of packs, deny over observe, the floor,
 * entry sharing, LPM folding of egress prefixes and port rows, identity
 * resolution, determinism, and the JSON round trip.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>
#include <getopt.h>

#include "cli.h"
#include "compile.h"
#include "compiled_json.h"

#define expect(cond, ...)                                                                 \
	do {                                                                              \
		if (!(cond))                                                              \
			fail_msg(__VA_ARGS__);                                            \
	} while (0)

#define PACK(name, fw, controls, rules)                                                   \
	"{\"name\": \"" name "\", \"version\": \"v1\",\n"                                 \
	" \"framework\": {\"id\": \"" fw "\", \"title\": \"T\"},\n"                       \
	" \"controls\": [" controls "],\n"                                                \
	" \"rules\": [\n" rules "]}\n"
#define CTL(id) "{\"id\": \"" id "\", \"title\": \"t\", \"status\": \"enforced\"}"
#define RULE(id, gate, ctls, match)                                                       \
	"  {\"id\": \"" id "\", \"gate\": \"" gate "\", \"controls\": [" ctls "], \"match\": " match "}\n"
#define EXEC(id, ctls, match) RULE(id, "cmd.exec", ctls, match)
#define NET(id, ctls, match) RULE(id, "net.egress", ctls, match)

static struct gg_pack *parse(const char *doc)
{
	struct gg_err err = {};
	struct gg_pack *p = NULL;
	int ret;

	ret = gg_pack_parse(doc, strlen(doc), "packs/test.json", &p, &err);
	expect(!ret && p, "test pack must parse (%d): %s\n%s", ret, err.msg, doc);
	return p;
}

static struct gg_compiled *compile(const struct gg_policy_input *in, size_t n)
{
	struct gg_compiled *c = NULL;
	struct gg_err err = {};
	int ret;

	ret = gg_compile(in, n, &c, &err);
	expect(!ret && c, "compile must succeed (%d): %s", ret, err.msg);
	return c;
}

static char *dump(const struct gg_compiled *c)
{
	json_t *j = gg_compiled_to_json(c);
	char *s;

	expect(j, "gg_compiled_to_json must succeed");
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	expect(s, "json_dumps");
	return s;
}

static const struct gg_entry *entry_of(const struct gg_compiled *c, const struct gg_verdict *v)
{
	const struct gg_entry *e = gg_compiled_entry(c, v->entry);

	expect(e && e->id == v->entry, "verdict must point at an existing entry (%u)", v->entry);
	return e;
}

static bool has_rule(const struct gg_entry *e, const char *pack, const char *rule)
{
	for (size_t i = 0; i < e->n_rules; i++)
		if (!strcmp(e->rules[i].pack, pack) && !strcmp(e->rules[i].rule, rule))
			return true;
	return false;
}

/* The entry carries exactly these "pack/rule" pairs. */
static void expect_rules(const struct gg_entry *e, const char *what, ...)
{
	const char *pr;
	size_t n = 0;
	va_list ap;

	va_start(ap, what);
	while ((pr = va_arg(ap, const char *))) {
		char pack[128];
		const char *slash = strchr(pr, '/');

		snprintf(pack, sizeof(pack), "%.*s", (int)(slash - pr), pr);
		expect(has_rule(e, pack, slash + 1), "%s: entry %u must carry rule %s", what,
		       e->id, pr);
		n++;
	}
	va_end(ap);
	expect(e->n_rules == n, "%s: entry %u must carry exactly %zu rules, has %zu", what, e->id,
	       n, e->n_rules);
}

static const struct gg_c_exec_name *find_name(const struct gg_compiled *c, const char *name)
{
	for (size_t i = 0; i < c->n_exec_names; i++)
		if (!strcmp(c->exec_names[i].name, name))
			return &c->exec_names[i];
	fail_msg("basename %s must be compiled", name);
	return NULL;
}

static const struct gg_c_exec_path *find_path(const struct gg_compiled *c, const char *path)
{
	for (size_t i = 0; i < c->n_exec_paths; i++)
		if (!strcmp(c->exec_paths[i].path, path))
			return &c->exec_paths[i];
	fail_msg("path %s must be compiled", path);
	return NULL;
}

static const struct gg_c_egress *find_node(const struct gg_compiled *c, const char *cidr,
					   __u32 prog)
{
	struct gg_cidr want;

	expect(!gg_cidr_parse(cidr, &want), "test bug: %s", cidr);
	for (size_t i = 0; i < c->n_egress; i++) {
		const struct gg_c_egress *e = &c->egress[i];

		if (e->family == want.family && e->prog == prog && e->plen == want.plen &&
		    !memcmp(e->addr, want.addr, want.family == AF_INET ? 4 : 16))
			return e;
	}
	fail_msg("node %s (prog %u) must exist", cidr, prog);
	return NULL;
}

static const struct gg_c_egress_port *find_port(const struct gg_compiled *c,
						const struct gg_c_egress *node, __u16 port,
						__u8 proto)
{
	expect(node->val.port_node, "node must have port rows");
	for (size_t i = 0; i < c->n_egress_ports; i++) {
		const struct gg_c_egress_port *p = &c->egress_ports[i];

		if (p->node == node->val.port_node && p->port == port && p->proto == proto)
			return p;
	}
	return NULL;
}

static size_t count_ports(const struct gg_compiled *c, __u32 node)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_egress_ports; i++)
		n += c->egress_ports[i].node == node;
	return n;
}

static void check_entry_ids(const struct gg_compiled *c)
{
	for (size_t i = 0; i < c->n_entries; i++)
		expect(c->entries[i].id == i + 1, "entries[%zu].id must be %zu", i, i + 1);
}

/* ---- union and merge ---------------------------------------------------- */

static const char pack_a[] = PACK("pack-a", "fw-a", CTL("A1") "," CTL("A2"),
	EXEC("ra", "\"A1\", \"A2\"", "{\"basenames\": [\"nc\"]}"));
static const char pack_b[] = PACK("pack-b", "fw-b", CTL("B1"),
	EXEC("rb", "\"B1\"", "{\"basenames\": [\"nc\", \"ncat\"]}"));

static void compile__union_of_two_packs_merges_controls_into_one_entry(void **state)
{
	struct gg_pack *a = parse(pack_a), *b = parse(pack_b);
	struct gg_policy_input in[] = { { a, GG_ACT_DENY, false }, { b, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 2);
	const struct gg_entry *nc, *ncat;

	expect(c->n_exec_names == 2, "two distinct basenames, got %zu", c->n_exec_names);
	nc = entry_of(c, &find_name(c, "nc")->v);
	ncat = entry_of(c, &find_name(c, "ncat")->v);
	expect(nc != ncat, "different rule sets must be different entries");
	expect_rules(nc, "nc", "pack-a@v1/ra", "pack-b@v1/rb", NULL);
	expect_rules(ncat, "ncat", "pack-b@v1/rb", NULL);
	expect(nc->n_controls == 3 && !strcmp(nc->controls[0], "A1") &&
	       !strcmp(nc->controls[1], "A2") && !strcmp(nc->controls[2], "B1"),
	       "nc's entry must carry the sorted union of both packs' controls");
	expect(nc->n_frameworks == 2 && !strcmp(nc->frameworks[0], "fw-a") &&
	       !strcmp(nc->frameworks[1], "fw-b"), "nc's entry must carry both frameworks");
	expect(nc->gate == GG_GATE_EXEC, "entry gate is cmd.exec");
	expect(!strcmp(nc->rules[0].framework, "fw-a"), "rule framework recorded");
	expect(c->n_entries == 2, "exactly two entries, got %zu", c->n_entries);
	check_entry_ids(c);
	gg_compiled_free(c);
	gg_pack_free(a);
	gg_pack_free(b);
}

static void compile__deny_wins_over_observe(void **state)
{
	struct gg_pack *a = parse(pack_a), *b = parse(pack_b);
	struct gg_policy_input in[] = { { a, GG_ACT_OBSERVE, false }, { b, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 2);
	const struct gg_entry *e;

	expect(find_name(c, "nc")->v.action == GG_ACT_DENY,
	       "observe + deny on one key must deny");
	e = entry_of(c, &find_name(c, "nc")->v);
	expect(e->action == GG_ACT_DENY, "the merged entry's action is deny");
	for (size_t i = 0; i < e->n_rules; i++)
		expect(e->rules[i].mode == (!strcmp(e->rules[i].pack, "pack-a@v1") ?
					    GG_ACT_OBSERVE : GG_ACT_DENY),
		       "each rule keeps its own pack's mode");
	gg_compiled_free(c);

	in[0].mode = GG_ACT_DENY;
	in[1].mode = GG_ACT_OBSERVE;
	c = compile(in, 2);
	expect(find_name(c, "nc")->v.action == GG_ACT_DENY, "deny + observe must deny");
	expect(find_name(c, "ncat")->v.action == GG_ACT_OBSERVE,
	       "a key only an observe pack names is observed");
	gg_compiled_free(c);

	in[0].mode = GG_ACT_OBSERVE;
	c = compile(in, 2);
	expect(find_name(c, "nc")->v.action == GG_ACT_OBSERVE, "observe + observe observes");
	expect(entry_of(c, &find_name(c, "nc")->v)->action == GG_ACT_OBSERVE,
	       "entry action observe");
	gg_compiled_free(c);
	gg_pack_free(a);
	gg_pack_free(b);
}

static void compile__floor_is_labelled_and_merged(void **state)
{
	struct gg_pack *f = parse(PACK("platform-floor", "govgate", CTL("F1"),
				       EXEC("no-nc", "\"F1\"", "{\"basenames\": [\"nc\"]}")));
	struct gg_pack *a = parse(pack_a);
	struct gg_policy_input in[] = { { f, GG_ACT_DENY, true }, { a, GG_ACT_OBSERVE, false } };
	struct gg_compiled *c = compile(in, 2);
	const struct gg_entry *e = entry_of(c, &find_name(c, "nc")->v);

	expect(find_name(c, "nc")->v.action == GG_ACT_DENY,
	       "the enforced floor denies a key an observe pack also names");
	expect_rules(e, "nc", "floor/no-nc", "pack-a@v1/ra", NULL);
	expect(!strcmp(e->rules[0].pack, "floor") && e->rules[0].mode == GG_ACT_DENY,
	       "the floor's rule is labelled floor with mode deny");
	/* a deny entry's own lists are what it enforces: the floor's only */
	expect(e->n_frameworks == 1 && !strcmp(e->frameworks[0], "govgate") &&
	       e->n_controls == 1 && !strcmp(e->controls[0], "F1"),
	       "the deny entry enforces the floor's control, not the observe pack's");
	expect(e->rules[1].mode == GG_ACT_OBSERVE && !strcmp(e->rules[1].framework, "fw-a"),
	       "the observe pack's rule stays, with its framework");
	expect(c->n_refs == 2 && !strcmp(c->refs[0], "floor (enforce)") &&
	       !strcmp(c->refs[1], "pack-a@v1 (observe)"), "refs list inputs in order with mode");
	gg_compiled_free(c);

	/* the whole agent observing: the caller passes observe for the floor */
	in[0].mode = GG_ACT_OBSERVE;
	c = compile(in, 2);
	expect(find_name(c, "nc")->v.action == GG_ACT_OBSERVE,
	       "a floor passed in observe mode observes");
	expect(!strcmp(c->refs[0], "floor (observe)"), "refs show the floor's mode");
	gg_compiled_free(c);
	gg_pack_free(f);
	gg_pack_free(a);
}

static void compile__pack_ref_labels_rules(void **state)
{
	struct gg_pack *a = parse(pack_a);
	struct gg_policy_input in[] = { { a, GG_ACT_DENY, false } };
	struct gg_compiled *c;

	a->ref = strdup("sha256:0123");
	c = compile(in, 1);
	expect(!strcmp(entry_of(c, &find_name(c, "nc")->v)->rules[0].pack, "sha256:0123"),
	       "a pack's ref, when set, names it in entries");
	gg_compiled_free(c);
	gg_pack_free(a);
}

static void compile__same_pack_twice_is_one_rule(void **state)
{
	struct gg_pack *a = parse(pack_a);
	struct gg_policy_input in[] = { { a, GG_ACT_OBSERVE, false }, { a, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 2);
	const struct gg_entry *e = entry_of(c, &find_name(c, "nc")->v);

	expect_rules(e, "nc", "pack-a@v1/ra", NULL);
	expect(e->rules[0].mode == GG_ACT_DENY && e->action == GG_ACT_DENY,
	       "a pack given in both modes counts once, enforced");
	gg_compiled_free(c);
	gg_pack_free(a);
}

static void compile__identical_rule_sets_share_an_entry(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		EXEC("r1", "\"C1\"", "{\"paths\": [\"/usr/bin/nc\", \"/bin/nc\"], \"basenames\": [\"nc\"]}") ","
		EXEC("r2", "\"C1\"", "{\"basenames\": [\"socat\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1);
	__u32 id = find_path(c, "/bin/nc")->v.entry;

	expect(find_path(c, "/usr/bin/nc")->v.entry == id && find_name(c, "nc")->v.entry == id,
	       "keys with the same rule set share one entry");
	expect(find_name(c, "socat")->v.entry != id, "another rule set is another entry");
	expect(c->n_entries == 2, "two entries, got %zu", c->n_entries);
	expect(!strcmp(c->exec_paths[0].path, "/bin/nc") &&
	       !strcmp(c->exec_paths[1].path, "/usr/bin/nc"), "paths are sorted");
	gg_compiled_free(c);
	gg_pack_free(p);
}

static void compile__entry_ids_follow_table_order(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		EXEC("r-exec", "\"C1\"", "{\"paths\": [\"/bin/x\"]}") ","
		RULE("r-mod", "kernel.module", "\"C1\"", "{\"all\": true}") ","
		NET("r-net", "\"C1\"", "{\"cidrs\": [\"10.0.0.0/8\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1);

	expect(c->n_entries == 3, "three entries, got %zu", c->n_entries);
	check_entry_ids(c);
	expect(c->module.entry == 1 && c->module.action == GG_ACT_DENY, "module first: entry 1");
	expect(c->exec_paths[0].v.entry == 2, "exec paths next: entry 2");
	expect(c->egress[0].val.any.entry == 3, "egress last: entry 3");
	expect(gg_compiled_entry(c, 0) == NULL && gg_compiled_entry(c, 4) == NULL,
	       "ids outside 1..n resolve to nothing");
	expect_rules(entry_of(c, &c->module), "module", "p@v1/r-mod", NULL);
	expect(entry_of(c, &c->module)->gate == GG_GATE_MODULE, "module entry gate");
	gg_compiled_free(c);
	gg_pack_free(p);
}

static void compile__module_rules_union(void **state)
{
	struct gg_pack *a = parse(PACK("a", "fa", CTL("C1"),
		RULE("m", "kernel.module", "\"C1\"", "{\"all\": true}")));
	struct gg_pack *b = parse(PACK("b", "fb", CTL("C2"),
		RULE("m", "kernel.module", "\"C2\"", "{\"all\": true}")));
	struct gg_policy_input in[] = { { a, GG_ACT_OBSERVE, false }, { b, GG_ACT_OBSERVE, false } };
	struct gg_compiled *c = compile(in, 2);

	expect_rules(entry_of(c, &c->module), "module", "a@v1/m", "b@v1/m", NULL);
	expect(c->module.action == GG_ACT_OBSERVE, "observe-only module rules observe");
	gg_compiled_free(c);

	in[0].pack = parse(PACK("a", "fa", CTL("C1"),
		EXEC("x", "\"C1\"", "{\"basenames\": [\"x\"]}")));
	c = compile(in, 1);
	expect(c->module.entry == 0 && c->module.action == GG_ACT_NONE,
	       "no module rule: no module verdict");
	gg_compiled_free(c);
	gg_pack_free((struct gg_pack *)in[0].pack);
	gg_pack_free(a);
	gg_pack_free(b);
}

/* net.egress "sockets": one verdict per kind, the union of the rules that
 * name it; no destination node; entries after every other table's. */
static void compile__socket_kinds(void **state)
{
	struct gg_pack *a = parse(PACK("a", "fa", CTL("C1"),
		NET("s", "\"C1\"", "{\"sockets\": [\"raw\", \"packet\"]}") ","
		NET("n", "\"C1\"", "{\"cidrs\": [\"10.0.0.0/8\"]}")));
	struct gg_pack *b = parse(PACK("b", "fb", CTL("C2"),
		NET("p", "\"C2\"", "{\"sockets\": [\"packet\"]}")));
	struct gg_policy_input in[] = { { a, GG_ACT_DENY, false }, { b, GG_ACT_OBSERVE, false } };
	struct gg_compiled *c = compile(in, 2);
	const struct gg_entry *raw = entry_of(c, &c->sockets[GG_SOCK_RAW]);
	const struct gg_entry *pkt = entry_of(c, &c->sockets[GG_SOCK_PACKET]);

	check_entry_ids(c);
	expect(c->n_egress == 1 && find_node(c, "10.0.0.0/8", 0), "a sockets rule makes no node");
	expect_rules(entry_of(c, &find_node(c, "10.0.0.0/8", 0)->val.any), "cidr", "a@v1/n",
		     NULL);
	expect_rules(raw, "raw", "a@v1/s", NULL);
	expect_rules(pkt, "packet", "a@v1/s", "b@v1/p", NULL);
	expect(raw->gate == GG_GATE_EGRESS && pkt->gate == GG_GATE_EGRESS, "egress entries");
	expect(c->sockets[GG_SOCK_PACKET].action == GG_ACT_DENY, "deny over observe");
	expect(c->sockets[GG_SOCK_RAW].entry == 2 && c->sockets[GG_SOCK_PACKET].entry == 3,
	       "socket kinds take the last entry ids");
	gg_compiled_free(c);

	in[0] = in[1];
	c = compile(in, 1);
	expect(c->sockets[GG_SOCK_RAW].entry == 0 && c->sockets[GG_SOCK_RAW].action == GG_ACT_NONE,
	       "no raw rule: no raw verdict");
	expect(c->sockets[GG_SOCK_PACKET].action == GG_ACT_OBSERVE, "observe-only: observe");
	gg_compiled_free(c);
	gg_pack_free(a);
	gg_pack_free(b);
}

/* ---- determinism -------------------------------------------------------- */

#define BIG_RULES                                                                         \
	EXEC("r1", "\"C1\"", "{\"paths\": [\"/usr/bin/chisel\"], \"basenames\": [\"nc\", \"ncat\"]}") "," \
	NET("r2", "\"C1\"", "{\"cidrs\": [\"169.254.169.254/32\", \"fd00:ec2::254/128\"], \"ports\": [80, 443], \"protocol\": \"tcp\"}") "," \
	NET("r3", "\"C1\"", "{\"cidrs\": [\"169.254.0.0/16\"]}") ","                    \
	NET("r4", "\"C1\"", "{\"programs\": [\"curl\", \"bash\"], \"cidrs\": [\"10.0.0.0/8\"], \"ports\": [22]}") "," \
	NET("r5", "\"C1\"", "{\"programs\": [\"wget\"]}") ","                           \
	RULE("r6", "kernel.module", "\"C1\"", "{\"all\": true}") ","                    \
	NET("r7", "\"C1\"", "{\"sockets\": [\"raw\", \"packet\"]}")

#define BIG_RULES_REORDERED                                                               \
	NET("r7", "\"C1\"", "{\"sockets\": [\"packet\", \"raw\"]}") ","                   \
	RULE("r6", "kernel.module", "\"C1\"", "{\"all\": true}") ","                    \
	NET("r5", "\"C1\"", "{\"programs\": [\"wget\"]}") ","                           \
	NET("r4", "\"C1\"", "{\"programs\": [\"bash\", \"curl\"], \"cidrs\": [\"10.0.0.0/8\"], \"ports\": [22]}") "," \
	NET("r3", "\"C1\"", "{\"cidrs\": [\"169.254.0.0/16\"]}") ","                    \
	NET("r2", "\"C1\"", "{\"cidrs\": [\"fd00:ec2::254/128\", \"169.254.169.254/32\"], \"ports\": [443, 80], \"protocol\": \"tcp\"}") "," \
	EXEC("r1", "\"C1\"", "{\"basenames\": [\"ncat\", \"nc\"], \"paths\": [\"/usr/bin/chisel\"]}")

static void compile__output_is_deterministic(void **state)
{
	struct gg_pack *p1 = parse(PACK("big", "fw", CTL("C1"), BIG_RULES));
	struct gg_pack *p2 = parse(PACK("big", "fw", CTL("C1"), BIG_RULES));
	struct gg_pack *p3 = parse(PACK("big", "fw", CTL("C1"), BIG_RULES_REORDERED));
	struct gg_pack *a = parse(pack_a);
	struct gg_policy_input in1[] = { { p1, GG_ACT_DENY, false }, { a, GG_ACT_OBSERVE, false } };
	struct gg_policy_input in2[] = { { p2, GG_ACT_DENY, false }, { a, GG_ACT_OBSERVE, false } };
	struct gg_policy_input in3[] = { { p3, GG_ACT_DENY, false }, { a, GG_ACT_OBSERVE, false } };
	struct gg_compiled *c1 = compile(in1, 2), *c2 = compile(in2, 2), *c3 = compile(in3, 2);
	char *j1 = dump(c1), *j2 = dump(c2), *j3 = dump(c3);

	expect(!strcmp(j1, j2), "same inputs must give byte-identical JSON:\n%s\n%s", j1, j2);
	expect(!strcmp(j1, j3), "rule and value order inside a pack must not matter:\n%s\n%s",
	       j1, j3);
	free(j1);
	free(j2);
	free(j3);
	gg_compiled_free(c1);
	gg_compiled_free(c2);
	gg_compiled_free(c3);
	gg_pack_free(p1);
	gg_pack_free(p2);
	gg_pack_free(p3);
	gg_pack_free(a);
}

/* ---- egress folding ----------------------------------------------------- */

static void egress__longer_prefix_carries_covering_rules(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		NET("wide", "\"C1\"", "{\"cidrs\": [\"10.1.0.0/16\"]}") ","
		NET("narrow", "\"C1\"", "{\"cidrs\": [\"10.1.2.3/32\"]}") ","
		NET("other", "\"C1\"", "{\"cidrs\": [\"10.2.0.0/16\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1);
	const struct gg_c_egress *n16 = find_node(c, "10.1.0.0/16", 0);
	const struct gg_c_egress *n32 = find_node(c, "10.1.2.3/32", 0);
	const struct gg_c_egress *o16 = find_node(c, "10.2.0.0/16", 0);

	expect(c->n_egress == 3, "only named prefixes become nodes, got %zu", c->n_egress);
	expect_rules(entry_of(c, &n32->val.any), "/32", "p@v1/wide", "p@v1/narrow", NULL);
	expect_rules(entry_of(c, &n16->val.any), "/16", "p@v1/wide", NULL);
	expect_rules(entry_of(c, &o16->val.any), "other /16", "p@v1/other", NULL);
	expect(n32->val.any.action == GG_ACT_DENY, "folded node denies");
	expect(!n16->val.port_node && !n32->val.port_node, "no port rules: no port node");
	expect(c->egress_progs == NULL || c->n_egress_progs == 0, "no program rules: no progs");
	gg_compiled_free(c);
	gg_pack_free(p);
}

static void egress__folding_is_transitive(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		NET("all", "\"C1\"", "{\"cidrs\": [\"8.0.0.0/5\"]}") ","
		NET("eight", "\"C1\"", "{\"cidrs\": [\"10.0.0.0/8\"]}") ","
		NET("host", "\"C1\"", "{\"cidrs\": [\"10.9.9.9/32\", \"11.0.0.1/32\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1);

	expect_rules(entry_of(c, &find_node(c, "10.9.9.9/32", 0)->val.any), "10.9.9.9",
		     "p@v1/all", "p@v1/eight", "p@v1/host", NULL);
	expect_rules(entry_of(c, &find_node(c, "11.0.0.1/32", 0)->val.any), "11.0.0.1",
		     "p@v1/all", "p@v1/host", NULL);
	gg_compiled_free(c);
	gg_pack_free(p);
}

static void egress__port_rows_carry_the_nodes_any_rules(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		NET("wide", "\"C1\"", "{\"cidrs\": [\"10.1.0.0/16\"]}") ","
		NET("https", "\"C1\"", "{\"cidrs\": [\"10.1.2.3/32\"], \"ports\": [443], \"protocol\": \"tcp\"}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1);
	const struct gg_c_egress *n32 = find_node(c, "10.1.2.3/32", 0);
	const struct gg_c_egress_port *row;

	expect_rules(entry_of(c, &n32->val.any), "/32 any", "p@v1/wide", NULL);
	expect(n32->val.port_node == 1, "the only node with port rows gets port_node 1");
	row = find_port(c, n32, 443, GG_PROTO_TCP);
	expect(row, "a (443, tcp) row must exist");
	expect_rules(entry_of(c, &row->v), "(443,tcp)", "p@v1/wide", "p@v1/https", NULL);
	expect(count_ports(c, n32->val.port_node) == 1, "only the named port row");
	expect(!find_node(c, "10.1.0.0/16", 0)->val.port_node,
	       "the covering node does not get the narrower node's ports");
	gg_compiled_free(c);
	gg_pack_free(p);
}

static void egress__covering_port_rules_are_inherited(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		NET("ssh", "\"C1\"", "{\"cidrs\": [\"10.1.0.0/16\"], \"ports\": [22]}") ","
		NET("host", "\"C1\"", "{\"cidrs\": [\"10.1.2.3/32\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_OBSERVE, false } };
	struct gg_compiled *c = compile(in, 1);
	const struct gg_c_egress *n16 = find_node(c, "10.1.0.0/16", 0);
	const struct gg_c_egress *n32 = find_node(c, "10.1.2.3/32", 0);
	const struct gg_c_egress_port *r16, *r32;

	expect(n16->val.any.entry == 0 && n16->val.any.action == GG_ACT_NONE,
	       "a node with only port rules has no `any` verdict");
	r16 = find_port(c, n16, 22, 0);
	r32 = find_port(c, n32, 22, 0);
	expect(r16 && r32, "(22, any) rows on both nodes: the /32 inherits the /16's port rule");
	expect(n16->val.port_node != n32->val.port_node, "port_node ids are unique per node");
	expect_rules(entry_of(c, &r16->v), "/16 port 22", "p@v1/ssh", NULL);
	expect_rules(entry_of(c, &r32->v), "/32 port 22", "p@v1/ssh", "p@v1/host", NULL);
	expect(r32->v.action == GG_ACT_OBSERVE, "observe pack observes");
	gg_compiled_free(c);
	gg_pack_free(p);
}

static void egress__port_and_protocol_rows_meet(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		NET("dns", "\"C1\"", "{\"cidrs\": [\"10.0.0.0/8\"], \"ports\": [53]}") ","
		NET("udp", "\"C1\"", "{\"cidrs\": [\"10.0.0.0/8\"], \"protocol\": \"udp\"}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1);
	const struct gg_c_egress *n = find_node(c, "10.0.0.0/8", 0);
	const struct gg_c_egress_port *both = find_port(c, n, 53, GG_PROTO_UDP);

	expect(n->val.any.entry == 0, "no `any` rule");
	expect_rules(entry_of(c, &find_port(c, n, 53, 0)->v), "(53, any)", "p@v1/dns", NULL);
	expect_rules(entry_of(c, &find_port(c, n, 0, GG_PROTO_UDP)->v), "(any, udp)",
		     "p@v1/udp", NULL);
	expect(both, "a (53, udp) row must carry both rules for a first-hit lookup");
	expect_rules(entry_of(c, &both->v), "(53, udp)", "p@v1/dns", "p@v1/udp", NULL);
	expect(count_ports(c, n->val.port_node) == 3, "three rows");
	for (size_t i = 1; i < c->n_egress_ports; i++) {
		const struct gg_c_egress_port *x = &c->egress_ports[i - 1], *y = &c->egress_ports[i];

		expect(x->node < y->node || (x->node == y->node && (x->port < y->port ||
		       (x->port == y->port && x->proto < y->proto))),
		       "ports sorted by (node, port, proto)");
	}
	gg_compiled_free(c);
	gg_pack_free(p);
}

static void egress__programs_get_sorted_ids_and_skip_loopback(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		NET("dl", "\"C1\"", "{\"programs\": [\"wget\", \"curl\"]}") ","
		NET("sh", "\"C1\"", "{\"programs\": [\"bash\", \"curl\"], \"cidrs\": [\"10.0.0.0/8\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1);

	expect(c->n_egress_progs == 3, "three distinct programs, got %zu", c->n_egress_progs);
	expect(!strcmp(c->egress_progs[0].name, "bash") && c->egress_progs[0].prog == 1 &&
	       !strcmp(c->egress_progs[1].name, "curl") && c->egress_progs[1].prog == 2 &&
	       !strcmp(c->egress_progs[2].name, "wget") && c->egress_progs[2].prog == 3,
	       "prog ids 1..N in sorted name order");
	for (size_t i = 0; i < c->n_egress_progs; i++)
		expect(c->egress_progs[i].skip_loopback == 1, "program rules skip loopback");
	/* programs without cidrs: everywhere, both families */
	expect_rules(entry_of(c, &find_node(c, "0.0.0.0/0", 3)->val.any), "wget v4", "p@v1/dl",
		     NULL);
	expect_rules(entry_of(c, &find_node(c, "::/0", 3)->val.any), "wget v6", "p@v1/dl", NULL);
	expect_rules(entry_of(c, &find_node(c, "10.0.0.0/8", 2)->val.any), "curl 10/8",
		     "p@v1/dl", "p@v1/sh", NULL);
	expect_rules(entry_of(c, &find_node(c, "10.0.0.0/8", 1)->val.any), "bash 10/8",
		     "p@v1/sh", NULL);
	expect(c->n_egress == 2 + 3 + 1, "nodes: wget x2, curl x3, bash x1; got %zu",
	       c->n_egress);
	gg_compiled_free(c);
	gg_pack_free(p);
}

static void egress__programs_do_not_fold_with_generic_rules(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		NET("all", "\"C1\"", "{\"cidrs\": [\"10.0.0.0/8\"]}") ","
		NET("sh", "\"C1\"", "{\"programs\": [\"bash\"], \"cidrs\": [\"10.0.0.1/32\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1);

	expect_rules(entry_of(c, &find_node(c, "10.0.0.1/32", 1)->val.any), "bash /32",
		     "p@v1/sh", NULL);
	expect_rules(entry_of(c, &find_node(c, "10.0.0.0/8", 0)->val.any), "generic /8",
		     "p@v1/all", NULL);
	gg_compiled_free(c);
	gg_pack_free(p);
}

static void egress__families_do_not_fold(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		NET("v4", "\"C1\"", "{\"cidrs\": [\"128.0.0.0/1\"]}") ","
		NET("v6", "\"C1\"", "{\"cidrs\": [\"fd00::/8\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1);

	expect_rules(entry_of(c, &find_node(c, "fd00::/8", 0)->val.any), "fd00::/8", "p@v1/v6",
		     NULL);
	expect(c->egress[0].family == AF_INET && c->egress[1].family == AF_INET6,
	       "v4 nodes sort before v6 nodes");
	gg_compiled_free(c);
	gg_pack_free(p);
}

static void egress__mapped_v6_becomes_v4_node(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		NET("mapped", "\"C1\"", "{\"cidrs\": [\"::ffff:10.0.0.0/104\"]}") ","
		NET("v4", "\"C1\"", "{\"cidrs\": [\"10.1.0.0/16\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1);

	expect(c->n_egress == 2 && c->egress[0].family == AF_INET &&
	       c->egress[1].family == AF_INET, "::ffff:10.0.0.0/104 is the IPv4 node 10.0.0.0/8");
	expect_rules(entry_of(c, &find_node(c, "10.0.0.0/8", 0)->val.any), "10/8",
		     "p@v1/mapped", NULL);
	expect_rules(entry_of(c, &find_node(c, "10.1.0.0/16", 0)->val.any), "10.1/16",
		     "p@v1/mapped", "p@v1/v4", NULL);
	gg_compiled_free(c);
	gg_pack_free(p);
}

/* ---- identities --------------------------------------------------------- */

static void identity__hardlink_resolves_to_one_inode(void **state)
{
	char dir[] = "/tmp/gg-test-XXXXXX", file[64], link_path[64], *doc;
	struct gg_policy_input in[1];
	struct gg_compiled *c;
	struct gg_pack *p;
	struct stat st;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/tool", dir);
	snprintf(link_path, sizeof(link_path), "%s/alias", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(link(file, link_path), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_true(asprintf(&doc, PACK("p", "fw", CTL("C1"),
		EXEC("by-file", "\"C1\"", "{\"identities\": [\"%s\"]}") ","
		EXEC("by-link", "\"C1\"", "{\"identities\": [\"%s\"]}")), file, link_path) > 0);
	p = parse(doc);
	in[0] = (struct gg_policy_input){ p, GG_ACT_DENY, false };
	c = compile(in, 1);

	expect(c->n_exec_inodes == 1, "a file and its hard link are one identity, got %zu",
	       c->n_exec_inodes);
	expect(c->exec_inodes[0].dev == (((__u64)major(st.st_dev) << 20) | minor(st.st_dev)),
	       "dev uses the kernel encoding (major << 20 | minor)");
	expect(c->exec_inodes[0].ino == st.st_ino, "ino is the file's inode");
	expect(!strcmp(c->exec_inodes[0].source, link_path),
	       "source is the first path in sort order (%s)", c->exec_inodes[0].source);
	expect_rules(entry_of(c, &c->exec_inodes[0].v), "inode", "p@v1/by-file", "p@v1/by-link",
		     NULL);
	gg_compiled_free(c);
	gg_pack_free(p);
	free(doc);
	unlink(link_path);
	unlink(file);
	rmdir(dir);
}

static void identity__missing_file_names_pack_rule_and_path(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		EXEC("gone", "\"C1\"", "{\"identities\": [\"/nonexistent/gg-test/tool\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = NULL;
	struct gg_err err = {};
	int ret;

	ret = gg_compile(in, 1, &c, &err);
	expect(ret == -ENOENT && !c, "a missing identity fails with -ENOENT, got %d", ret);
	expect(strstr(err.msg, "packs/test.json:5:") && strstr(err.msg, "rule \"gone\"") &&
	       strstr(err.msg, "\"/nonexistent/gg-test/tool\""),
	       "error names file:line, rule and path, got: %s", err.msg);
	gg_pack_free(p);
}

/* ---- digests and name resolution ---------------------------------------- */

/* sha256("hello\n") and sha256("other\n"), as sha256sum prints them. */
#define SHA_HELLO "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define SHA_OTHER "7e4fa2eb8c7ac089739d5defc4489fad68a100d92082ca35c6b40a4524821f87"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const struct gg_c_exec_digest *digest_row(const struct gg_compiled *c, const char *hex)
{
	char h[2 * GG_SHA256_LEN + 1];

	for (size_t i = 0; i < c->n_exec_digests; i++) {
		gg_digest_hex(c->exec_digests[i].sha256, h);
		if (!strcmp(h, hex))
			return &c->exec_digests[i];
	}
	return NULL;
}

/* A denied basename found in a search directory and a denied path that
 * exists become identity and digest rows with where they came from; an
 * absent one is skipped; a pack's own digest is a row of its own. A name
 * that links to a file of a name the rule does not deny (an applet of a
 * multi-call binary) is not resolved. */
static void digest__names_resolve_to_identity_and_content(void **state)
{
	char dir[] = "/tmp/gg-test-XXXXXX", tool[64], alias[64], pathed[64], multi[64],
	     applet[64], *doc;
	const char *dirs[2] = { dir, NULL };
	struct gg_resolve_opts opts = { .dirs = dirs };
	struct gg_policy_input in[1];
	const struct gg_c_exec_digest *d;
	struct gg_compiled *c = NULL, *plain;
	struct gg_err err = {};
	struct gg_pack *p;

	assert_non_null(mkdtemp(dir));
	snprintf(tool, sizeof(tool), "%s/tool", dir);
	snprintf(alias, sizeof(alias), "%s/alias", dir);
	snprintf(pathed, sizeof(pathed), "%s/pathed", dir);
	write_file(tool, "hello\n");
	write_file(pathed, "hello\n"); /* a copy: another identity, the same content */
	assert_int_equal(symlink("tool", alias), 0);
	snprintf(multi, sizeof(multi), "%s/multi", dir);
	snprintf(applet, sizeof(applet), "%s/applet", dir);
	write_file(multi, "multi\n");
	assert_int_equal(symlink("multi", applet), 0);
	assert_true(asprintf(&doc, PACK("p", "fw", CTL("C1"),
		EXEC("names", "\"C1\"", "{\"basenames\": [\"alias\", \"tool\", \"absent\", "
		     "\"applet\"]}") ","
		EXEC("paths", "\"C1\"", "{\"paths\": [\"%s\", \"/nonexistent/gg\"]}") ","
		EXEC("listed", "\"C1\"", "{\"sha256\": [\"" SHA_OTHER "\"]}")), pathed) > 0);
	p = parse(doc);
	in[0] = (struct gg_policy_input){ p, GG_ACT_DENY, false };

	plain = compile(in, 1);
	expect(plain->n_exec_inodes == 0 && plain->n_exec_digests == 1,
	       "without resolution only the listed digest: %zu inodes, %zu digests",
	       plain->n_exec_inodes, plain->n_exec_digests);
	expect(!gg_compile_opts(in, 1, &opts, &c, &err), "compile: %s", err.msg);
	expect(c->n_exec_inodes == 2, "tool (also by its symlink) and pathed, got %zu",
	       c->n_exec_inodes);
	expect(c->n_exec_digests == 2, "hello and other, not multi: got %zu", c->n_exec_digests);
	d = digest_row(c, SHA_HELLO);
	expect(d && d->source && !strcmp(d->source, alias) && !strcmp(d->from, "basename alias"),
	       "hello: first source in sort order, %s from %s", d ? d->source : "-",
	       d ? d->from : "-");
	expect_rules(entry_of(c, &d->v), "digest", "p@v1/names", "p@v1/paths", NULL);
	d = digest_row(c, SHA_OTHER);
	expect(d && !d->source && !strcmp(d->from, "sha256"), "the listed digest has no file");
	expect_rules(entry_of(c, &d->v), "listed", "p@v1/listed", NULL);
	gg_compiled_free(plain);
	gg_compiled_free(c);
	gg_pack_free(p);
	free(doc);
	unlink(alias);
	unlink(tool);
	unlink(pathed);
	unlink(applet);
	unlink(multi);
	rmdir(dir);
}

/* With a merged /usr, /bin/x is /usr/bin/x: a search directory that is a
 * link to another is looked up as that one (once per resolution), and
 * finds what a lookup through the link finds; two directories that are
 * not the same stay two. */
static void digest__linked_search_dirs(void **state)
{
	char dir[] = "/tmp/gg-test-XXXXXX", real[64], link[64], other[64], f[3][96], alias[96];
	const char *dirs[4] = { real, link, other, NULL };
	struct gg_resolve_opts opts = { .dirs = dirs };
	struct gg_policy_input in[1];
	const struct gg_c_exec_digest *d;
	struct gg_compiled *c = NULL;
	struct gg_err err = {};
	struct gg_pack *p;

	assert_non_null(mkdtemp(dir));
	snprintf(real, sizeof(real), "%s/real", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	assert_int_equal(mkdir(real, 0755), 0);
	assert_int_equal(mkdir(other, 0755), 0);
	assert_int_equal(symlink("real", link), 0);
	snprintf(f[0], sizeof(f[0]), "%s/tool", real);
	snprintf(f[1], sizeof(f[1]), "%s/tool", other);
	snprintf(f[2], sizeof(f[2]), "%s/alias", real);
	snprintf(alias, sizeof(alias), "%s/alias", link);
	write_file(f[0], "hello\n");
	write_file(f[1], "other\n");
	assert_int_equal(symlink("tool", f[2]), 0);
	p = parse(PACK("p", "fw", CTL("C1"),
		       EXEC("names", "\"C1\"", "{\"basenames\": [\"tool\", \"alias\"]}")));
	in[0] = (struct gg_policy_input){ p, GG_ACT_DENY, false };
	expect(!gg_compile_opts(in, 1, &opts, &c, &err), "compile: %s", err.msg);
	expect(c->n_exec_inodes == 2, "real/tool (four ways) and other/tool, got %zu",
	       c->n_exec_inodes);
	d = digest_row(c, SHA_HELLO);
	expect(d && d->source && !strcmp(d->source, alias) && !strcmp(d->from, "basename alias"),
	       "hello: found through the linked directory first, %s from %s",
	       d ? d->source : "-", d ? d->from : "-");
	d = digest_row(c, SHA_OTHER);
	expect(d && d->source && !strcmp(d->source, f[1]), "other: %s", d ? d->source : "-");
	gg_compiled_free(c);
	gg_pack_free(p);
	unlink(f[2]);
	unlink(f[0]);
	unlink(f[1]);
	unlink(link);
	rmdir(real);
	rmdir(other);
	rmdir(dir);
}

/* A search directory reached through /proc's magic link into another
 * mount namespace: its realpath is the link's text (here, the same path in
 * this namespace, an empty directory), not where the lookup goes. The
 * name is found where the kernel finds it. */
static void digest__magic_link_dir_not_taken_by_text(void **state)
{
	char dir[] = "/tmp/gg-test-XXXXXX", via[96], tool[64], go = 0;
	const char *dirs[2] = { via, NULL };
	struct gg_resolve_opts opts = { .dirs = dirs };
	struct gg_policy_input in[1];
	struct gg_compiled *c = NULL;
	struct gg_err err = {};
	int ready[2], done[2];
	struct gg_pack *p;
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) { /* a namespace whose dir holds the tool, until the test is done */
		char ok = 1;

		/* a failed test leaves done's write end to its process's exit */
		close(done[1]);
		close(ready[0]);
		snprintf(tool, sizeof(tool), "%s/tool", dir);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", dir, "tmpfs", 0, NULL))
			ok = 0;
		if (ok)
			write_file(tool, "hello\n");
		if (write(ready[1], &ok, 1) != 1 || read(done[0], &ok, 1) < 0)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &go, 1), 1);
	if (!go) {
		waitpid(pid, NULL, 0);
		rmdir(dir);
		skip(); /* no mount namespace here */
	}
	snprintf(via, sizeof(via), "/proc/%d/root%s", (int)pid, dir);
	p = parse(PACK("p", "fw", CTL("C1"),
		       EXEC("names", "\"C1\"", "{\"basenames\": [\"tool\"]}")));
	in[0] = (struct gg_policy_input){ p, GG_ACT_DENY, false };
	expect(!gg_compile_opts(in, 1, &opts, &c, &err), "compile: %s", err.msg);
	expect(c->n_exec_inodes == 1 && digest_row(c, SHA_HELLO),
	       "the tool in the other namespace: %zu inodes", c->n_exec_inodes);
	gg_compiled_free(c);
	gg_pack_free(p);
	assert_int_equal(write(done[1], &go, 1), 1);
	waitpid(pid, NULL, 0);
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
	rmdir(dir);
}

/* Digests are kept between resolutions (the daemon's applies), by file
 * version: a file rewritten in place, its size the same or not, is hashed
 * again: a fresh file because its ctime has not settled, and (every ctime
 * taken as settled) one whose size, mtime or ctime changed. */
static void rewrite_and_resolve(const int *order)
{
	char dir[] = "/tmp/gg-test-XXXXXX", tool[64];
	const char *dirs[2] = { dir, NULL };
	const char *const texts[] = { "hello\n", "other\n", "much longer\n" };
	const char *const want[] = { SHA_HELLO, SHA_OTHER,
		"594b81d4fd19adfe56762f0047ea3258aea218cbae94c4cfaea54aff5229d2d3" };
	struct gg_resolve_opts opts = { .dirs = dirs };
	struct gg_policy_input in[1];
	struct gg_err err = {};
	struct gg_pack *p;

	assert_non_null(mkdtemp(dir));
	snprintf(tool, sizeof(tool), "%s/tool", dir);
	p = parse(PACK("p", "fw", CTL("C1"),
		       EXEC("names", "\"C1\"", "{\"basenames\": [\"tool\"]}")));
	in[0] = (struct gg_policy_input){ p, GG_ACT_DENY, false };
	for (int i = 0; i < 4; i++) {
		struct gg_compiled *c = NULL;
		char h[2 * GG_SHA256_LEN + 1];
		FILE *f = fopen(tool, "r+") ?: fopen(tool, "w");

		assert_non_null(f); /* the same inode each time */
		assert_int_equal(ftruncate(fileno(f), 0), 0);
		fputs(texts[order[i]], f);
		fclose(f);
		expect(!gg_compile_opts(in, 1, &opts, &c, &err), "compile: %s", err.msg);
		expect(c->n_exec_digests == 1, "one digest, got %zu", c->n_exec_digests);
		gg_digest_hex(c->exec_digests[0].sha256, h);
		expect(!strcmp(h, want[order[i]]), "version %d: %s, not %s", i, h,
		       want[order[i]]);
		gg_compiled_free(c);
	}
	gg_pack_free(p);
	unlink(tool);
	rmdir(dir);
}

static void digest__rewritten_file_hashed_again(void **state)
{
	int settle = gg_digest_settle_s;

	rewrite_and_resolve((const int[]){ 0, 1, 0, 2 });
	/* Every ctime settled: the sizes differ, in case the rewrites fall
	 * in one tick of a coarse clock (no multigrain timestamps). */
	gg_digest_settle_s = -1000000;
	rewrite_and_resolve((const int[]){ 0, 2, 1, 2 });
	gg_digest_settle_s = settle;
}

/* What the filesystem said is remembered for one resolution only: a
 * denied name installed after an apply is found by the next one. */
static void digest__name_installed_later_found(void **state)
{
	char dir[] = "/tmp/gg-test-XXXXXX", tool[64];
	const char *dirs[2] = { dir, NULL };
	struct gg_resolve_opts opts = { .dirs = dirs };
	struct gg_policy_input in[1];
	struct gg_compiled *c = NULL;
	struct gg_err err = {};
	struct gg_pack *p;

	assert_non_null(mkdtemp(dir));
	snprintf(tool, sizeof(tool), "%s/tool", dir);
	p = parse(PACK("p", "fw", CTL("C1"),
		       EXEC("names", "\"C1\"", "{\"basenames\": [\"tool\"]}")));
	in[0] = (struct gg_policy_input){ p, GG_ACT_DENY, false };
	expect(!gg_compile_opts(in, 1, &opts, &c, &err), "compile: %s", err.msg);
	expect(c->n_exec_inodes == 0 && c->n_exec_digests == 0, "nothing to resolve yet");
	gg_compiled_free(c);
	write_file(tool, "hello\n");
	expect(!gg_compile_opts(in, 1, &opts, &c, &err), "compile: %s", err.msg);
	expect(c->n_exec_inodes == 1 && c->n_exec_digests == 1 && digest_row(c, SHA_HELLO),
	       "the tool installed since: %zu inodes, %zu digests", c->n_exec_inodes,
	       c->n_exec_digests);
	gg_compiled_free(c);
	gg_pack_free(p);
	unlink(tool);
	rmdir(dir);
}

/* The daemon keeps what it found absent (gg_compile_keep_absent): the
 * next resolution asks nothing of an unchanged directory, and a name made
 * in it (a new tool, a hard link, a rename into it) is found. */
static void digest__absent_names_kept_while_dir_unchanged(void **state)
{
	char dir[] = "/tmp/gg-test-XXXXXX", tool[64], other[64], moved[64];
	const char *dirs[2] = { dir, NULL };
	struct gg_resolve_opts opts = { .dirs = dirs };
	int settle = gg_dir_settle_s;
	struct gg_policy_input in[1];
	struct gg_compiled *c = NULL;
	struct gg_err err = {};
	unsigned long before;
	struct gg_pack *p;

	assert_non_null(mkdtemp(dir));
	snprintf(tool, sizeof(tool), "%s/tool", dir);
	snprintf(other, sizeof(other), "%s.other", dir);
	snprintf(moved, sizeof(moved), "%s/moved", dir);
	p = parse(PACK("p", "fw", CTL("C1"),
		       EXEC("names", "\"C1\"", "{\"basenames\": [\"tool\", \"moved\"]}")));
	in[0] = (struct gg_policy_input){ p, GG_ACT_DENY, false };
	gg_dir_settle_s = -1; /* settled at once; the sleeps below pass a clock tick */
	gg_compile_keep_absent(true);
	usleep(30000);
	expect(!gg_compile_opts(in, 1, &opts, &c, &err), "compile: %s", err.msg);
	expect(c->n_exec_inodes == 0, "nothing there yet");
	gg_compiled_free(c);
	before = gg_resolve_lookups;
	expect(!gg_compile_opts(in, 1, &opts, &c, &err), "compile: %s", err.msg);
	expect(gg_resolve_lookups == before, "an unchanged directory is not asked again: %lu",
	       gg_resolve_lookups - before);
	gg_compiled_free(c);
	usleep(30000);
	write_file(tool, "hello\n");
	expect(!gg_compile_opts(in, 1, &opts, &c, &err), "compile: %s", err.msg);
	expect(c->n_exec_inodes == 1 && digest_row(c, SHA_HELLO), "made since: %zu inodes",
	       c->n_exec_inodes);
	gg_compiled_free(c);
	write_file(other, "other\n");
	usleep(30000);
	assert_int_equal(rename(other, moved), 0);
	expect(!gg_compile_opts(in, 1, &opts, &c, &err), "compile: %s", err.msg);
	expect(c->n_exec_inodes == 2 && digest_row(c, SHA_OTHER), "renamed in: %zu inodes",
	       c->n_exec_inodes);
	gg_compiled_free(c);
	gg_compile_keep_absent(false);
	gg_dir_settle_s = settle;
	gg_pack_free(p);
	unlink(tool);
	unlink(moved);
	rmdir(dir);
}

/* Program rules by identity and content: a name found in a search
 * directory becomes an identity row and a digest row of its name's prog;
 * a file found under two names (sh -> dash) gets a combined prog with the
 * rules of both names, reached only by identity and content; the rows
 * survive the record. */
static void egress__programs_resolve_to_identity_and_content(void **state)
{
	char dir[] = "/tmp/gg-test-XXXXXX", dash[64], sh[64], bash[64], *doc, *j1, *j2;
	const char *dirs[2] = { dir, NULL };
	struct gg_resolve_opts opts = { .dirs = dirs };
	struct gg_compiled *c = NULL, *back = NULL;
	const struct gg_c_egress_prog_file *f;
	struct gg_policy_input in[1];
	struct gg_err err = {};
	struct gg_pack *p;
	struct stat st;
	json_t *j;

	assert_non_null(mkdtemp(dir));
	snprintf(dash, sizeof(dash), "%s/dash", dir);
	snprintf(sh, sizeof(sh), "%s/sh", dir);
	snprintf(bash, sizeof(bash), "%s/bash", dir);
	write_file(dash, "hello\n");
	write_file(bash, "bash\n");
	assert_int_equal(symlink("dash", sh), 0);
	assert_true(asprintf(&doc, "%s", PACK("p", "fw", CTL("C1"),
		NET("shells", "\"C1\"", "{\"programs\": [\"sh\", \"dash\"], \"cidrs\": [\"192.0.2.0/24\"]}") ","
		NET("bash", "\"C1\"", "{\"programs\": [\"bash\"], \"cidrs\": [\"198.51.100.0/24\"]}") ","
		NET("dash", "\"C1\"", "{\"programs\": [\"dash\"], \"cidrs\": [\"203.0.113.0/24\"]}"))) > 0);
	p = parse(doc);
	in[0] = (struct gg_policy_input){ p, GG_ACT_DENY, false };
	expect(!gg_compile_opts(in, 1, &opts, &c, &err), "compile: %s", err.msg);
	/* names: bash 1, dash 2, sh 3; the file dash under dash and sh: 4 */
	expect(c->n_egress_progs == 4 && c->egress_progs[3].combined &&
	       !strcmp(c->egress_progs[3].name, "dash,sh") && !c->egress_progs[1].combined,
	       "a combined prog for dash and sh: %zu progs", c->n_egress_progs);
	expect(c->n_egress_prog_inodes == 2 && c->n_egress_prog_digests == 2,
	       "two files by identity and content: %zu, %zu", c->n_egress_prog_inodes,
	       c->n_egress_prog_digests);
	assert_int_equal(stat(dash, &st), 0);
	f = c->egress_prog_inodes[0].ino == st.st_ino ? &c->egress_prog_inodes[0] :
							   &c->egress_prog_inodes[1];
	expect(f->ino == st.st_ino && f->prog == 4, "dash's identity is the combined prog (%u)",
	       f->prog);
	f = &c->egress_prog_digests[0];
	expect(!memcmp(f->sha256, c->egress_prog_digests[0].sha256, 32) &&
	       (c->egress_prog_digests[0].prog == 4 || c->egress_prog_digests[1].prog == 4),
	       "dash's content is the combined prog");
	expect_rules(entry_of(c, &find_node(c, "192.0.2.0/24", 4)->val.any), "combined 192.0.2",
		     "p@v1/shells", NULL);
	expect_rules(entry_of(c, &find_node(c, "203.0.113.0/24", 4)->val.any), "combined 203",
		     "p@v1/dash", NULL);
	expect_rules(entry_of(c, &find_node(c, "198.51.100.0/24", 1)->val.any), "bash",
		     "p@v1/bash", NULL);
	j1 = dump(c);
	expect(strstr(j1, "\"program_identities\":[{") && strstr(j1, "\"combined\":true"),
	       "program files dumped: %s", j1);
	j = json_loads(j1, 0, NULL);
	expect(j && !gg_compiled_from_json(j, &back, &err), "from_json: %s", err.msg);
	j2 = dump(back);
	expect(!strcmp(j1, j2), "round trip must be identical:\n%s\n%s", j1, j2);
	json_decref(j);
	free(j1);
	free(j2);
	gg_compiled_free(back);
	gg_compiled_free(c);
	gg_pack_free(p);
	free(doc);
	unlink(sh);
	unlink(dash);
	unlink(bash);
	rmdir(dir);
}

/* Digests and their sources survive the record; a record from before
 * digests (no "digests", no "from") still loads. */
static void digest__json_round_trip_and_old_records(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		EXEC("listed", "\"C1\"", "{\"sha256\": [\"" SHA_OTHER "\"]}") ","
		EXEC("id", "\"C1\"", "{\"identities\": [\"/proc/self/exe\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1), *back = NULL;
	struct gg_err err = {};
	char *j1 = dump(c), *j2;
	json_t *doc, *exec;

	expect(strstr(j1, "\"digests\":[{\"sha256\":\"" SHA_OTHER "\""), "digests dumped: %s", j1);
	doc = json_loads(j1, 0, NULL);
	assert_non_null(doc);
	expect(!gg_compiled_from_json(doc, &back, &err), "from_json: %s", err.msg);
	j2 = dump(back);
	expect(!strcmp(j1, j2), "round trip must be identical:\n%s\n%s", j1, j2);
	gg_compiled_free(back);
	free(j2);
	/* the old shape */
	exec = json_object_get(doc, "exec");
	json_object_del(exec, "digests");
	json_object_del(json_array_get(json_object_get(exec, "identities"), 0), "from");
	back = NULL;
	expect(!gg_compiled_from_json(doc, &back, &err), "an old record loads: %s", err.msg);
	expect(back->n_exec_digests == 0 && back->n_exec_inodes == 1 &&
	       !back->exec_inodes[0].from, "old record: no digests, no from");
	gg_compiled_free(back);
	json_decref(doc);
	free(j1);
	gg_compiled_free(c);
	gg_pack_free(p);
}

/* ---- JSON --------------------------------------------------------------- */

static void json__round_trip_is_identical(void **state)
{
	struct gg_pack *p = parse(PACK("big", "fw", CTL("C1"), BIG_RULES
		"," EXEC("id", "\"C1\"", "{\"identities\": [\"/proc/self/exe\"]}")));
	struct gg_pack *a = parse(pack_a);
	struct gg_policy_input in[] = { { a, GG_ACT_OBSERVE, true }, { p, GG_ACT_OBSERVE, false } };
	struct gg_compiled *c = compile(in, 2), *back = NULL;
	struct gg_err err = {};
	char *j1 = dump(c), *j2;
	json_t *doc;

	doc = json_loads(j1, 0, NULL);
	assert_non_null(doc);
	expect(!gg_compiled_from_json(doc, &back, &err), "from_json must accept to_json's output: %s",
	       err.msg);
	j2 = dump(back);
	expect(!strcmp(j1, j2), "round trip must be identical:\n%s\n%s", j1, j2);
	expect(back->n_entries == c->n_entries && back->n_egress == c->n_egress &&
	       back->n_egress_ports == c->n_egress_ports && back->n_exec_inodes == 1 &&
	       back->exec_inodes[0].dev == c->exec_inodes[0].dev &&
	       back->exec_inodes[0].ino == c->exec_inodes[0].ino,
	       "tables survive the round trip");
	for (size_t i = 0; i < c->n_egress; i++)
		expect(!memcmp(&back->egress[i], &c->egress[i], sizeof(c->egress[i])),
		       "egress node %zu survives the round trip", i);
	for (size_t i = 0; i < c->n_egress_ports; i++)
		expect(!memcmp(&back->egress_ports[i], &c->egress_ports[i],
			       sizeof(c->egress_ports[i])), "port row %zu survives", i);
	json_decref(doc);
	free(j1);
	free(j2);
	gg_compiled_free(back);
	gg_compiled_free(c);
	gg_pack_free(p);
	gg_pack_free(a);
}

static void json__shape(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		NET("n", "\"C1\"", "{\"cidrs\": [\"169.254.169.254/32\"], \"ports\": [443], \"protocol\": \"tcp\", \"programs\": [\"curl\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1);
	json_t *j = gg_compiled_to_json(c), *node, *port, *e;

	node = json_array_get(json_object_get(json_object_get(j, "egress"), "nodes"), 0);
	port = json_array_get(json_object_get(json_object_get(j, "egress"), "ports"), 0);
	e = json_array_get(json_object_get(j, "entries"), 0);
	expect(!strcmp(json_string_value(json_object_get(node, "cidr")), "169.254.169.254/32") &&
	       !strcmp(json_string_value(json_object_get(node, "program")), "curl") &&
	       json_integer_value(json_object_get(node, "prog")) == 1 &&
	       json_integer_value(json_object_get(node, "port_node")) == 1 &&
	       !strcmp(json_string_value(json_object_get(node, "action")), "allow"),
	       "node row shape");
	expect(json_integer_value(json_object_get(port, "port")) == 443 &&
	       !strcmp(json_string_value(json_object_get(port, "protocol")), "tcp") &&
	       json_integer_value(json_object_get(port, "entry")) == 1 &&
	       !strcmp(json_string_value(json_object_get(port, "action")), "deny"),
	       "port row shape");
	expect(!strcmp(json_string_value(json_object_get(e, "gate")), "net.egress") &&
	       !strcmp(json_string_value(json_object_get(json_array_get(json_object_get(e, "rules"), 0),
							  "pack")), "p@v1"),
	       "entry shape");
	expect(json_is_true(json_object_get(json_array_get(json_object_get(json_object_get(j, "egress"),
									     "programs"), 0), "skip_loopback")),
	       "programs carry skip_loopback");
	json_decref(j);
	gg_compiled_free(c);
	gg_pack_free(p);
}

static void json__from_json_refuses_dangling_entry(void **state)
{
	struct gg_pack *p = parse(pack_a);
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1), *back = NULL;
	json_t *j = gg_compiled_to_json(c), *row;
	struct gg_err err = {};

	row = json_array_get(json_object_get(json_object_get(j, "exec"), "basenames"), 0);
	json_object_set_new(row, "entry", json_integer(99));
	expect(gg_compiled_from_json(j, &back, &err) == -EINVAL && !back,
	       "an entry id beyond the entry table is refused");
	expect(strstr(err.msg, "exec.basenames"), "error names the table, got: %s", err.msg);
	json_object_set_new(row, "entry", json_integer(1));
	json_object_set_new(row, "colour", json_string("red"));
	expect(gg_compiled_from_json(j, &back, &err) == -EINVAL && !back,
	       "unknown fields are refused");
	json_object_del(row, "colour");
	expect(!gg_compiled_from_json(j, &back, &err), "restored document loads: %s", err.msg);
	gg_compiled_free(back);
	json_decref(j);
	gg_compiled_free(c);
	gg_pack_free(p);
}

/* egress.sockets round-trips, is checked like any verdict, and a record
 * written before it existed still loads (every kind allowed). */
static void json__sockets_and_older_records(void **state)
{
	struct gg_pack *p = parse(PACK("p", "fw", CTL("C1"),
		NET("s", "\"C1\"", "{\"sockets\": [\"packet\"]}")));
	struct gg_policy_input in[] = { { p, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1), *back = NULL;
	json_t *j = gg_compiled_to_json(c), *eg = json_object_get(j, "egress"), *pk;
	struct gg_err err = {};

	pk = json_object_get(json_object_get(eg, "sockets"), "packet");
	expect(json_integer_value(json_object_get(pk, "entry")) == 1 &&
	       !strcmp(json_string_value(json_object_get(pk, "action")), "deny"), "packet row");
	expect(!gg_compiled_from_json(j, &back, &err), "loads: %s", err.msg);
	expect(back->sockets[GG_SOCK_PACKET].entry == 1 &&
	       back->sockets[GG_SOCK_PACKET].action == GG_ACT_DENY &&
	       back->sockets[GG_SOCK_RAW].entry == 0, "verdicts survive the round trip");
	gg_compiled_free(back);
	json_object_set_new(pk, "entry", json_integer(7));
	expect(gg_compiled_from_json(j, &back, &err) == -EINVAL && !back,
	       "an entry id beyond the entry table is refused");
	expect(strstr(err.msg, "egress.sockets"), "error names the place, got: %s", err.msg);
	json_object_del(eg, "sockets");
	expect(!gg_compiled_from_json(j, &back, &err), "an older record loads: %s", err.msg);
	expect(back->sockets[GG_SOCK_PACKET].entry == 0 &&
	       back->sockets[GG_SOCK_PACKET].action == GG_ACT_NONE, "older record: no verdict");
	gg_compiled_free(back);
	json_decref(j);
	gg_compiled_free(c);
	gg_pack_free(p);
}

/* Every rule of an entry keeps its own mode and controls: a deny entry
 * that an observe-mode pack merged into says which controls are whose. */
static void json__rules_carry_mode_and_controls(void **state)
{
	struct gg_pack *f = parse(PACK("platform-floor", "govgate", CTL("F1"),
				       EXEC("no-nc", "\"F1\"", "{\"basenames\": [\"nc\"]}")));
	struct gg_pack *a = parse(pack_a);
	struct gg_policy_input in[] = { { f, GG_ACT_DENY, true }, { a, GG_ACT_OBSERVE, false } };
	struct gg_compiled *c = compile(in, 2), *back = NULL;
	const struct gg_entry *e = entry_of(c, &find_name(c, "nc")->v);
	json_t *j = gg_compiled_to_json(c), *je, *r0, *r1;
	struct gg_err err = {};
	char *s1, *s2;

	expect(e->action == GG_ACT_DENY && e->n_rules == 2, "floor + observe pack: one deny entry");
	expect(e->rules[0].n_controls == 1 && !strcmp(e->rules[0].controls[0], "F1"),
	       "the floor's rule carries F1 only");
	expect(e->rules[1].n_controls == 2 && !strcmp(e->rules[1].controls[0], "A1") &&
	       !strcmp(e->rules[1].controls[1], "A2"), "the observe pack's rule carries A1, A2");
	je = json_array_get(json_object_get(j, "entries"), e->id - 1);
	r0 = json_array_get(json_object_get(je, "rules"), 0);
	r1 = json_array_get(json_object_get(je, "rules"), 1);
	expect(!strcmp(json_string_value(json_object_get(r0, "mode")), "deny") &&
	       json_array_size(json_object_get(r0, "controls")) == 1,
	       "JSON: the floor's rule, mode deny, its own controls");
	expect(!strcmp(json_string_value(json_object_get(r1, "mode")), "observe") &&
	       json_array_size(json_object_get(r1, "controls")) == 2 &&
	       !strcmp(json_string_value(json_array_get(json_object_get(r1, "controls"), 0)), "A1"),
	       "JSON: the pack's rule, mode observe, its own controls");
	expect(json_array_size(json_object_get(je, "controls")) == 1 &&
	       !strcmp(json_string_value(json_array_get(json_object_get(je, "controls"), 0)), "F1"),
	       "JSON: the deny entry's controls are the enforced ones");
	expect(json_array_size(json_object_get(je, "observed_controls")) == 2 &&
	       json_array_size(json_object_get(je, "observed_frameworks")) == 1 &&
	       !strcmp(json_string_value(json_array_get(json_object_get(je, "observed_frameworks"),
							0)), "fw-a"),
	       "JSON: the observe pack's controls are observed_controls");
	/* the generation record round-trips them */
	expect(!gg_compiled_from_json(j, &back, &err), "loads: %s", err.msg);
	s1 = dump(c);
	s2 = dump(back);
	expect(!strcmp(s1, s2), "round trip keeps per-rule controls");
	expect(!back->entries[e->id - 1].rule_controls_unknown, "a new record is attributed");
	free(s1);
	free(s2);
	json_decref(j);
	gg_compiled_free(back);
	gg_compiled_free(c);
	gg_pack_free(f);
	gg_pack_free(a);
}

/* Runs `govgate compile ARGS` with stdout into a string. */
static char *run_compile(int argc, char **argv, int *rc)
{
	char path[] = "/tmp/gg_compile_out_XXXXXX", *buf;
	int fd = mkstemp(path), saved;
	FILE *f;
	long n;

	expect(fd >= 0, "mkstemp");
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	optind = 0;
	*rc = gg_cmd_compile(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	f = fopen(path, "r");
	expect(f, "reopen output");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(n + 1, 1);
	expect(buf && fread(buf, 1, n, f) == (size_t)n, "read output");
	fclose(f);
	unlink(path);
	return buf;
}

/* The review case: `govgate compile --mode observe owasp-llm-top10@v1
 * --json`. The floor still denies nc; the JSON says the owasp controls on
 * that entry come from a rule in observe mode. Output is deterministic. */
static void json__compile_cli_shows_modes(void **state)
{
	char cfg[] = "/tmp/gg_compile_cfg_XXXXXX";
	int fd = mkstemp(cfg), rc;
	char *argv[] = { "compile", "--mode", "observe", "--json", "--config", cfg,
			 "owasp-llm-top10@v1", NULL };
	char *out1, *out2;
	json_t *doc, *e, *r;
	size_t i, k;
	bool seen = false;

	expect(fd >= 0, "mkstemp");
	expect(dprintf(fd, "{\"pack_dirs\": [\"packs\"], \"trust_dir\": \"/nonexistent\"}") > 0,
	       "write config");
	close(fd);
	out1 = run_compile(7, argv, &rc);
	expect(rc == 0, "compile exits 0, got %d", rc);
	out2 = run_compile(7, argv, &rc);
	expect(!strcmp(out1, out2), "compile --json is deterministic");
	doc = json_loads(out1, 0, NULL);
	expect(doc, "compile --json prints JSON");
	json_array_foreach(json_object_get(doc, "entries"), i, e) {
		bool floor = false, owasp = false;

		json_array_foreach(json_object_get(e, "rules"), k, r) {
			const char *rule = json_string_value(json_object_get(r, "rule"));
			const char *mode = json_string_value(json_object_get(r, "mode"));
			json_t *ctl = json_object_get(r, "controls");

			expect(mode && json_is_array(ctl), "every rule has a mode and controls");
			if (!strcmp(rule, "floor-deny-lotl-tools")) {
				floor = true;
				expect(!strcmp(mode, "deny") && json_array_size(ctl) == 1 &&
				       !strcmp(json_string_value(json_array_get(ctl, 0)),
					       "FLOOR-EXEC-LOTL"), "the floor's rule enforces its own");
			}
			if (!strcmp(rule, "llm-deny-remote-shell-tools")) {
				owasp = true;
				expect(!strcmp(mode, "observe") && json_array_size(ctl) == 2 &&
				       !strcmp(json_string_value(json_array_get(ctl, 0)), "LLM05:2025"),
				       "the owasp rule is in observe mode with LLM05, LLM06");
			}
		}
		if (floor && owasp) {
			json_t *ctl = json_object_get(e, "controls");
			json_t *obs = json_object_get(e, "observed_controls");

			seen = true;
			expect(!strcmp(json_string_value(json_object_get(e, "action")), "deny"),
			       "the merged entry denies");
			/* the review case: no LLM05 on the deny because the floor matched */
			expect(json_array_size(ctl) == 1 &&
			       !strcmp(json_string_value(json_array_get(ctl, 0)), "FLOOR-EXEC-LOTL"),
			       "the deny entry's controls are the floor's alone");
			expect(json_array_size(obs) == 2 &&
			       !strcmp(json_string_value(json_array_get(obs, 0)), "LLM05:2025"),
			       "the observe pack's controls are observed_controls");
		}
	}
	expect(seen, "an entry merges the floor's and the observe pack's nc rules");
	json_decref(doc);
	free(out1);
	free(out2);
	unlink(cfg);
}

/* Rules whose prefixes interleave make sorted runs that are merged (up to
 * 16) or sorted (more): either way the nodes come out in the trie's order,
 * one per prefix, each folding the covering /16 of the last rule. */
static void egress_runs_case(int rules)
{
	size_t cap = 65536, len = 0;
	char *doc = malloc(cap), *hdr, rule[32];
	struct gg_policy_input in[1];
	struct gg_compiled *c;
	struct gg_pack *p;

	assert_non_null(doc);
	assert_true(asprintf(&hdr, "%s", PACK("runs", "fw", CTL("C1"),
		NET("wide", "\"C1\"", "{\"cidrs\": [\"10.9.0.0/16\"]}") ",")) > 0);
	len = strlen(hdr) - 3; /* drop "]}\n" */
	memcpy(doc, hdr, len);
	free(hdr);
	for (int r = 0; r < rules; r++) {
		len += snprintf(doc + len, cap - len, "%s{\"id\": \"r%d\", \"gate\": \"net.egress\", "
				"\"controls\": [\"C1\"], \"match\": {\"cidrs\": [", r ? "," : "", r);
		for (int i = 0; i < 10; i++) /* rule r: 10.9.(i * rules + r).0/24 */
			len += snprintf(doc + len, cap - len, "%s\"10.9.%d.0/24\"", i ? "," : "",
					i * rules + r);
		len += snprintf(doc + len, cap - len, "]}}");
	}
	len += snprintf(doc + len, cap - len, "]}\n");
	p = parse(doc);
	in[0] = (struct gg_policy_input){ p, GG_ACT_DENY, false };
	c = compile(in, 1);
	expect(c->n_egress == (size_t)rules * 10 + 1, "%d rules: one node per prefix, got %zu",
	       rules, c->n_egress);
	for (size_t i = 1; i < c->n_egress; i++) {
		const struct gg_c_egress *a = &c->egress[i - 1], *b = &c->egress[i];
		int d = memcmp(a->addr, b->addr, sizeof(a->addr));

		expect(d < 0 || (d == 0 && a->plen < b->plen), "%d rules: node %zu out of order",
		       rules, i);
	}
	snprintf(rule, sizeof(rule), "runs@v1/r%d", 7 % rules); /* 7 = i * rules + r */
	expect_rules(entry_of(c, &find_node(c, "10.9.7.0/24", 0)->val.any), "a /24",
		     "runs@v1/wide", rule, NULL);
	gg_compiled_free(c);
	gg_pack_free(p);
	free(doc);
}

static void egress__runs_merge_to_the_sorted_order(void **state)
{
	egress_runs_case(3);
	egress_runs_case(16);
	egress_runs_case(25);
}

/* ---- scale -------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One million /32s under one /8, parsed from JSON and compiled. */
static void scale__million_cidrs(void **state)
{
	const size_t n = 1000000;
	size_t cap = n * 20 + 4096, len = 0;
	char *doc = malloc(cap), *hdr;
	struct gg_policy_input in[1];
	struct gg_compiled *c;
	struct gg_pack *p;
	double t0, t1, t2;

	assert_non_null(doc);
	assert_true(asprintf(&hdr, "%s", PACK("scale", "fw", CTL("C1"),
		NET("eight", "\"C1\"", "{\"cidrs\": [\"10.0.0.0/8\"]}") ",")) > 0);
	len = strlen(hdr) - 3; /* drop "]}\n" */
	memcpy(doc, hdr, len);
	len += sprintf(doc + len, "  {\"id\": \"hosts\", \"gate\": \"net.egress\", \"controls\": "
		       "[\"C1\"], \"match\": {\"cidrs\": [");
	for (size_t i = 0; i < n; i++)
		len += sprintf(doc + len, "%s\"10.%zu.%zu.%zu/32\"", i ? "," : "",
			       (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
	len += sprintf(doc + len, "]}}]}\n");
	free(hdr);

	t0 = now();
	p = parse(doc);
	t1 = now();
	in[0] = (struct gg_policy_input){ p, GG_ACT_DENY, false };
	c = compile(in, 1);
	t2 = now();
	print_message("    parse %.2fs, compile %.2fs for %zu cidrs\n", t1 - t0, t2 - t1, n);
	expect(c->n_egress == n + 1, "every named prefix is a node, got %zu", c->n_egress);
	expect(c->n_entries == 2, "all /32s share one folded entry, got %zu", c->n_entries);
	expect_rules(entry_of(c, &find_node(c, "10.15.64.64/32", 0)->val.any), "a /32",
		     "scale@v1/eight", "scale@v1/hosts", NULL);
	expect(t2 - t1 < 20.0, "compile must take seconds, took %.1fs", t2 - t1);
	gg_compiled_free(c);
	gg_pack_free(p);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compile__union_of_two_packs_merges_controls_into_one_entry),
		cmocka_unit_test(compile__deny_wins_over_observe),
		cmocka_unit_test(compile__floor_is_labelled_and_merged),
		cmocka_unit_test(compile__pack_ref_labels_rules),
		cmocka_unit_test(compile__same_pack_twice_is_one_rule),
		cmocka_unit_test(compile__identical_rule_sets_share_an_entry),
		cmocka_unit_test(compile__entry_ids_follow_table_order),
		cmocka_unit_test(compile__module_rules_union),
		cmocka_unit_test(compile__socket_kinds),
		cmocka_unit_test(compile__output_is_deterministic),
		cmocka_unit_test(egress__longer_prefix_carries_covering_rules),
		cmocka_unit_test(egress__folding_is_transitive),
		cmocka_unit_test(egress__port_rows_carry_the_nodes_any_rules),
		cmocka_unit_test(egress__covering_port_rules_are_inherited),
		cmocka_unit_test(egress__port_and_protocol_rows_meet),
		cmocka_unit_test(egress__programs_get_sorted_ids_and_skip_loopback),
		cmocka_unit_test(egress__programs_do_not_fold_with_generic_rules),
		cmocka_unit_test(egress__families_do_not_fold),
		cmocka_unit_test(egress__mapped_v6_becomes_v4_node),
		cmocka_unit_test(egress__runs_merge_to_the_sorted_order),
		cmocka_unit_test(identity__hardlink_resolves_to_one_inode),
		cmocka_unit_test(identity__missing_file_names_pack_rule_and_path),
		cmocka_unit_test(digest__names_resolve_to_identity_and_content),
		cmocka_unit_test(digest__linked_search_dirs),
		cmocka_unit_test(digest__magic_link_dir_not_taken_by_text),
		cmocka_unit_test(digest__rewritten_file_hashed_again),
		cmocka_unit_test(digest__name_installed_later_found),
		cmocka_unit_test(digest__absent_names_kept_while_dir_unchanged),
		cmocka_unit_test(digest__json_round_trip_and_old_records),
		cmocka_unit_test(egress__programs_resolve_to_identity_and_content),
		cmocka_unit_test(json__round_trip_is_identical),
		cmocka_unit_test(json__shape),
		cmocka_unit_test(json__from_json_refuses_dangling_entry),
		cmocka_unit_test(json__sockets_and_older_records),
		cmocka_unit_test(json__rules_carry_mode_and_controls),
		cmocka_unit_test(json__compile_cli_shows_modes),
		cmocka_unit_test(scale__million_cidrs),
	};

	return cmocka_run_group_tests_name("compile", tests, NULL, NULL);
}
