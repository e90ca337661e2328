// SPDX-License-Identifier: GPL-2.0
/*
 * Egress allowlists: the validator (every bad input names its line and
 * column, found independently in the document text), domain matching, and
 * the compiler's lists, covering prefixes and intersections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "allowlist.h"
#include "compile.h"
#include "compiled_json.h"
#include "pack.h"

#define ORIGIN "packs/t.json"

#define expect(cond, ...)                                                                 \
	do {                                                                              \
		if (!(cond))                                                              \
			fail_msg(__VA_ARGS__);                                            \
	} while (0)

/* A pack (named `name`, control C1) whose allowlist holds `allow`. Not
 * inlined: gcc then mistakes the returned buffer for a dangling one. */
static __attribute__((noinline)) char *mkpack(const char *name, const char *allow)
{
	char *s;

	if (asprintf(&s,
		     "{\n"
		     "  \"name\": \"%s\", \"version\": \"v1\",\n"
		     "  \"framework\": {\"id\": \"op\", \"title\": \"Operator\"},\n"
		     "  \"controls\": [{\"id\": \"C1\", \"title\": \"one\", \"status\": \"enforced\"},\n"
		     "               {\"id\": \"A1\", \"title\": \"adv\", \"status\": \"advisory\", "
		     "\"reason\": \"r\"}],\n"
		     "  \"rules\": [],\n"
		     "  \"egress_allowlist\": {\"controls\": [\"C1\"], \"allow\": [\n"
		     "    %s\n"
		     "  ]}\n"
		     "}\n",
		     name, allow) < 0)
		fail_msg("asprintf");
	return s;
}

/* "origin:line:col: " of the first occurrence of token after the "allow"
 * key (or anywhere, with anywhere set). */
static void pos_of(const char *doc, const char *token, bool anywhere, char *buf, size_t sz)
{
	const char *from = anywhere ? doc : strstr(doc, "\"allow\"");
	const char *hit = strstr(from, token);
	int line = 1, col = 1;

	expect(hit, "test bug: token %s not in document:\n%s", token, doc);
	for (const char *c = doc; c < hit; c++) {
		if (*c == '\n') {
			line++;
			col = 1;
		} else if ((*c & 0xc0) != 0x80) {
			col++;
		}
	}
	snprintf(buf, sz, "%s:%d:%d: ", ORIGIN, line, col);
}

static void expect_doc_err(const char *doc, const char *token, bool anywhere, const char *frag)
{
	struct gg_err err = {};
	struct gg_pack *pack = NULL;
	char where[128];
	int ret;

	pos_of(doc, token, anywhere, where, sizeof(where));
	ret = gg_pack_parse(doc, strlen(doc), ORIGIN, &pack, &err);
	expect(ret == -EINVAL && !pack, "parse should fail, got %d (%s) for:\n%s", ret, err.msg,
	       doc);
	expect(!strncmp(err.msg, where, strlen(where)),
	       "error should be located at %s (token %s), got: %s", where, token, err.msg);
	expect(strstr(err.msg, frag), "error should mention '%s', got: %s", frag, err.msg);
}

/* The allowlist `allow` fails at `token` with a message holding frag. */
static void expect_allow_err(const char *allow, const char *token, const char *frag)
{
	char *doc = mkpack("t", allow);

	expect_doc_err(doc, token, false, frag);
	free(doc);
}

static struct gg_pack *parse_ok(const char *doc)
{
	struct gg_err err = {};
	struct gg_pack *pack = NULL;
	int ret;

	ret = gg_pack_parse(doc, strlen(doc), ORIGIN, &pack, &err);
	expect(ret == 0 && pack, "valid pack should parse, got %d: %s\n%s", ret, err.msg, doc);
	return pack;
}

/* ---- the validator --------------------------------------------------------- */

static void validate__bad_domains(void **state)
{
	static const struct {
		const char *entry, *frag;
	} bad[] = {
		{ "\"*.*.x.com\"", "not the whole leftmost label" },
		{ "\"a*.x.com\"", "not the whole leftmost label" },
		{ "\"x.*.com\"", "not the whole leftmost label" },
		{ "\"*\"", "matches every name" },
		{ "\"x..com\"", "empty label" },
		{ "\"a_b.com\"", "other than a letter, a digit or '-'" },
		{ "\"-a.com\"", "starts or ends with '-'" },
		{ "\"a.com.\"", "ends with '.'" },
		{ "\"xn--zz.com\"", "IDNA" },
		{ "\"1.2.3\"", "looks like an address" },
		{ "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com\"",
		  "over 63 bytes" },
		{ "{\"domain\": \"b\\u00fccher.\\u0301x.example\"}", "IDNA" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char allow[256];

		snprintf(allow, sizeof(allow), "\"ok.example\", %s", bad[i].entry);
		expect_allow_err(allow, strchr(bad[i].entry, '{') ? "\"b\\u00fc" : bad[i].entry,
				 bad[i].frag);
	}
}

/* A name over 253 bytes, of labels each under 64. */
static void validate__name_too_long(void **state)
{
	char name[300] = "", allow[320];

	while (strlen(name) < 260)
		strcat(name, "abcdefghij.");
	strcat(name, "com");
	snprintf(allow, sizeof(allow), "\"%s\"", name);
	expect_allow_err(allow, allow, "at most 253 bytes");
}

static void validate__bad_cidrs_and_ports(void **state)
{
	expect_allow_err("\"10.0.0.1/8\"", "\"10.0.0.1/8\"", "host bits");
	expect_allow_err("\"10.0.0.0/33\"", "\"10.0.0.0/33\"", "prefix length out of range");
	expect_allow_err("\"fe80::1/64\"", "\"fe80::1/64\"", "host bits");
	expect_allow_err("{\"cidr\": \"10.0.0.0/x\"}", "\"10.0.0.0/x\"", "invalid cidr");
	expect_allow_err("{\"cidr\": \"10.0.0.0/8\", \"ports\": [0]}", "0]", "1..65535");
	expect_allow_err("{\"cidr\": \"10.0.0.0/8\", \"ports\": [65536]}", "65536", "1..65535");
	expect_allow_err("{\"cidr\": \"10.0.0.0/8\", \"ports\": [\"443\"]}", "\"443\"", "1..65535");
	expect_allow_err("{\"cidr\": \"10.0.0.0/8\", \"ports\": [443, 443]}", "443]",
			 "duplicate port");
	expect_allow_err("{\"domain\": \"a.com\", \"protocol\": \"icmp\"}", "\"icmp\"",
			 "unknown protocol");
}

static void validate__bad_entries(void **state)
{
	char *doc;

	expect_allow_err("42", "42", "a string (domain or cidr) or an object");
	expect_allow_err("{\"domain\": \"a.com\", \"cidr\": \"10.0.0.0/8\"}", "{",
			 "exactly one of");
	expect_allow_err("{\"ports\": [1]}", "{", "exactly one of");
	expect_allow_err("{\"domain\": \"a.com\", \"host\": 1}", "\"host\"", "unknown field");
	expect_allow_err("\"a.com\", \"A.com\"", "\"A.com\"", "duplicate allowlist entry");
	expect_allow_err("\"10.0.0.0/8\", {\"cidr\": \"10.0.0.0/8\"}", "{", "duplicate");
	/* the list itself */
	doc = strdup("{\"name\": \"t\", \"version\": \"v1\", \"framework\": {\"id\": \"f\", "
		     "\"title\": \"t\"},\n \"controls\": [{\"id\": \"C1\", \"title\": \"c\", "
		     "\"status\": \"enforced\"}], \"rules\": [],\n \"egress_allowlist\": "
		     "{\"controls\": [\"C9\"], \"allow\": [\"a.com\"]}}");
	expect_doc_err(doc, "\"C9\"", true, "not declared");
	free(doc);
	doc = strdup("{\"name\": \"t\", \"version\": \"v1\", \"framework\": {\"id\": \"f\", "
		     "\"title\": \"t\"},\n \"controls\": [{\"id\": \"C1\", \"title\": \"c\", "
		     "\"status\": \"enforced\"}], \"rules\": [],\n \"egress_allowlist\": "
		     "{\"controls\": [\"C1\"], \"allow\": []}}");
	expect_doc_err(doc, "[]}", true, "must not be empty");
	free(doc);
	doc = strdup("{\"name\": \"t\", \"version\": \"v1\", \"framework\": {\"id\": \"f\", "
		     "\"title\": \"t\"},\n \"controls\": [{\"id\": \"C1\", \"title\": \"c\", "
		     "\"status\": \"enforced\"}], \"rules\": [{\"id\": \"egress-allowlist\", "
		     "\"gate\": \"net.egress\", \"controls\": [\"C1\"], \"match\": {\"cidrs\": "
		     "[\"10.0.0.0/8\"]}}],\n \"egress_allowlist\": {\"controls\": [\"C1\"], "
		     "\"allow\": [\"a.com\"]}}");
	expect_doc_err(doc, "{\"controls\": [\"C1\"], \"allow\"", true, "is the allowlist's");
	free(doc);
}

static void validate__advisory_control_refused(void **state)
{
	char *doc = mkpack("t", "\"a.com\"");
	size_t at = strstr(doc, "[\"C1\"], \"allow\"") - doc + 2;

	doc[at] = 'A'; /* C1 -> A1: the advisory control */
	expect_doc_err(doc, "\"A1\"], \"allow\"", true, "advisory control");
	free(doc);
}

/* Unicode and upper case are one name with their A-label; an address is
 * a host CIDR; 0.0.0.0/0 may be listed; the list is a rule of the pack. */
static void validate__normalised(void **state)
{
	char *doc = mkpack("t", "\"B\\u00fccher.Example\", \"*.OpenAI.com\", \"192.0.2.7\", "
				"\"0.0.0.0/0\", {\"domain\": \"pypi.org\", \"ports\": [443], "
				"\"protocol\": \"tcp\"}");
	struct gg_pack *p = parse_ok(doc);
	const struct gg_allowlist *w = p->allowlist;
	const struct gg_rule *r = &p->rules[p->n_rules - 1];

	expect(w && w->n_entries == 5, "five entries");
	expect(!strcmp(w->entries[0].domain, "xn--bcher-kva.example") && !w->entries[0].wildcard,
	       "A-label: %s", w->entries[0].domain);
	expect(!strcmp(w->entries[1].domain, "openai.com") && w->entries[1].wildcard,
	       "wildcard: %s", w->entries[1].domain);
	expect(!w->entries[2].domain && w->entries[2].cidr.plen == 32, "an address is a /32");
	expect(!w->entries[3].domain && w->entries[3].cidr.plen == 0, "0.0.0.0/0 is allowed");
	expect(w->entries[4].n_ports == 1 && w->entries[4].proto == GG_PROTO_TCP, "narrowed");
	expect(r->allowlist && !strcmp(r->id, GG_ALLOWLIST_RULE_ID) && r->n_controls == 1 &&
	       !strcmp(r->controls[0], "C1") && r->gate == GG_GATE_EGRESS && r->line == 7,
	       "the allowlist's rule (line %d)", r->line);
	gg_pack_free(p);
	free(doc);
}

/* ---- names ----------------------------------------------------------------- */

static void match__exact_and_wildcard(void **state)
{
	expect(gg_domain_match("pypi.org", false, "pypi.org"), "exact");
	expect(gg_domain_match("pypi.org", false, "PyPI.org."), "case, root dot");
	expect(!gg_domain_match("pypi.org", false, "files.pypi.org"), "exact is exact");
	expect(gg_domain_match("openai.com", true, "api.openai.com"), "subdomain");
	expect(gg_domain_match("openai.com", true, "a.b.openai.com"), "deeper");
	expect(!gg_domain_match("openai.com", true, "openai.com"), "not the apex");
	expect(!gg_domain_match("openai.com", true, "evilopenai.com"), "label boundary");
	expect(!gg_domain_match("openai.com", true, ".openai.com"), "an empty label");
}

/* libresolv's presentation form escapes a byte inside a label: the wire
 * name (8)"x.openai"(3)"com" is "x\.openai.com", one label under com. A
 * name with any escape matches nothing. */
static void match__escaped_label(void **state)
{
	static const struct {
		const char *name, *why;
	} cases[] = {
		{ "x\\.openai.com", "an escaped dot is inside a label" },
		{ "a.x\\.openai.com", "deeper, under the escaped dot" },
		{ "\\\\.openai.com", "an escaped backslash" },
		{ "x\\.\\.openai.com", "two escaped dots" },
		{ "a\\000.openai.com", "a \\DDD byte" },
		{ "a\\046openai.com", "a dot as \\DDD" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect(!gg_domain_match("openai.com", true, cases[i].name), "%s: %s",
		       cases[i].name, cases[i].why);
		expect(!gg_domain_match("openai.com", false, cases[i].name), "%s: exact, %s",
		       cases[i].name, cases[i].why);
	}
	expect(!gg_domain_match("x.openai.com", false, "x\\.openai.com"), "exact: not a label");
}

/* ---- the compiler ------------------------------------------------------ */

static struct gg_compiled *compile(const struct gg_policy_input *in, size_t n)
{
	struct gg_compiled *c = NULL;
	struct gg_err err = {};

	expect(!gg_compile(in, n, &c, &err) && c, "compile: %s", err.msg);
	return c;
}

static const struct gg_allow_node *node(const struct gg_compiled *c, const char *cidr)
{
	struct gg_cidr want;

	expect(!gg_cidr_parse(cidr, &want), "test bug: %s", cidr);
	for (size_t i = 0; i < c->n_allow_nodes; i++)
		if (c->allow_nodes[i].family == want.family && c->allow_nodes[i].plen == want.plen &&
		    !memcmp(c->allow_nodes[i].addr, want.addr, 16))
			return &c->allow_nodes[i];
	fail_msg("no node %s", cidr);
	return NULL;
}

static __u32 port_lists(const struct gg_compiled *c, const struct gg_allow_node *n,
			__u16 port, __u8 proto)
{
	for (size_t i = 0; n->port_node && i < c->n_allow_ports; i++)
		if (c->allow_ports[i].node == n->port_node && c->allow_ports[i].port == port &&
		    c->allow_ports[i].proto == proto)
			return c->allow_ports[i].lists;
	return 0;
}

/* Two lists: a bit each, in input order; a node carries the bits of every
 * prefix covering it (its own list's and the other's), port rows too;
 * each list's verdict is its rule alone, in its pack's mode. */
static void compile__lists_intersect_and_fold(void **state)
{
	char *da = mkpack("a", "\"10.0.0.0/8\", {\"cidr\": \"10.0.0.0/8\", \"ports\": [443], "
			       "\"protocol\": \"tcp\"}, \"::ffff:192.0.2.0/120\", \"a.example\"");
	char *db = mkpack("b", "\"10.1.0.0/16\", {\"cidr\": \"10.0.0.0/12\", \"ports\": [443]}");
	struct gg_pack *a = parse_ok(da), *b = parse_ok(db);
	struct gg_policy_input in[] = { { a, GG_ACT_DENY, false }, { b, GG_ACT_OBSERVE, false } };
	struct gg_compiled *c = compile(in, 2), *back = NULL;
	const struct gg_allow_node *n8, *n12, *n16, *m;
	const struct gg_entry *e;
	struct gg_err err = {};
	json_t *j, *d1, *d2;
	char *j1, *j2;

	expect(c->n_allow_lists == 2 && !strcmp(c->allow_lists[0].pack, "a@v1") &&
	       !strcmp(c->allow_lists[1].pack, "b@v1"), "two lists in input order");
	expect(c->allow_lists[0].v.action == GG_ACT_DENY &&
	       c->allow_lists[1].v.action == GG_ACT_OBSERVE, "each list in its pack's mode");
	e = gg_compiled_entry(c, c->allow_lists[1].v.entry);
	expect(e && e->n_rules == 1 && !strcmp(e->rules[0].rule, GG_ALLOWLIST_RULE_ID) &&
	       !strcmp(e->rules[0].pack, "b@v1") && e->n_controls == 1 &&
	       !strcmp(e->controls[0], "C1"), "list b's entry is its rule");
	n8 = node(c, "10.0.0.0/8");
	n12 = node(c, "10.0.0.0/12");
	n16 = node(c, "10.1.0.0/16");
	expect(n8->any == 1 && n12->any == 1 && n16->any == 3,
	       "any: /8 a, /12 a (covered), /16 a+b: %u %u %u", n8->any, n12->any, n16->any);
	expect(port_lists(c, n8, 443, 6) == 1 && port_lists(c, n8, 443, 0) == 0,
	       "/8: 443/tcp on a");
	expect(port_lists(c, n12, 443, 6) == 1 && port_lists(c, n12, 443, 0) == 2,
	       "/12: a's 443/tcp folded in, b's own 443/any");
	expect(port_lists(c, n16, 443, 6) == 1 && port_lists(c, n16, 443, 0) == 2,
	       "/16: both folded in");
	m = node(c, "192.0.2.0/24");
	expect(m->family == AF_INET && m->any == 1, "a mapped prefix is an IPv4 node");
	expect(c->n_allow_domains == 1 && !strcmp(c->allow_domains[0].pattern, "a.example") &&
	       c->allow_domains[0].list == 0, "domains: the pattern set");
	d1 = gg_compiled_to_json(c);
	j1 = d1 ? json_dumps(d1, JSON_COMPACT) : NULL;
	j = j1 ? json_loads(j1, 0, NULL) : NULL;
	expect(j && !gg_compiled_from_json(j, &back, &err), "from_json: %s", err.msg);
	d2 = gg_compiled_to_json(back);
	j2 = d2 ? json_dumps(d2, JSON_COMPACT) : NULL;
	expect(j2 && !strcmp(j1, j2), "round trip must be identical:\n%s\n%s", j1, j2);
	json_decref(j);
	json_decref(d1);
	json_decref(d2);
	free(j1);
	free(j2);
	gg_compiled_free(back);
	gg_compiled_free(c);
	gg_pack_free(a);
	gg_pack_free(b);
	free(da);
	free(db);
}

/* Without an allowlist nothing is compiled for one; the allowlist's rule
 * adds no deny node (it is not a rule of cidrs). */
static void compile__no_list_no_rows(void **state)
{
	char *da = mkpack("a", "\"10.0.0.0/8\"");
	struct gg_pack *a = parse_ok(da);
	struct gg_policy_input in[] = { { a, GG_ACT_DENY, false } };
	struct gg_compiled *c = compile(in, 1), *none = compile(in, 0);

	expect(c->n_egress == 0, "the allowlist's rule denies nothing by itself: %zu nodes",
	       c->n_egress);
	expect(none->n_allow_lists == 0 && none->n_allow_nodes == 0, "no list, no rows");
	gg_compiled_free(c);
	gg_compiled_free(none);
	gg_pack_free(a);
	free(da);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(validate__bad_domains),
		cmocka_unit_test(validate__name_too_long),
		cmocka_unit_test(validate__bad_cidrs_and_ports),
		cmocka_unit_test(validate__bad_entries),
		cmocka_unit_test(validate__advisory_control_refused),
		cmocka_unit_test(validate__normalised),
		cmocka_unit_test(match__exact_and_wildcard),
		cmocka_unit_test(match__escaped_label),
		cmocka_unit_test(compile__lists_intersect_and_fold),
		cmocka_unit_test(compile__no_list_no_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
