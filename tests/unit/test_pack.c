// SPDX-License-Identifier: GPL-2.0
/*
 * Pack and bundle parsing: every validation error names the file, the line
 * and column of the offending value, and the value itself.
 *
 * The expected position is found independently of the parser: the test
 * looks the offending token up in the document text (expect_err_at).
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

#include "pack.h"

#define ORIGIN "packs/t.json"

#define expect(cond, ...)                                                                 \
	do {                                                                              \
		if (!(cond))                                                              \
			fail_msg(__VA_ARGS__);                                            \
	} while (0)

/* A pack around the given controls and rules (each on its own lines). */
static char *mkpack(const char *controls, const char *rules)
{
	char *s;

	if (asprintf(&s,
		     "{\n"
		     "  \"name\": \"test-pack\",\n"
		     "  \"version\": \"v1\",\n"
		     "  \"framework\": {\"id\": \"fw\", \"title\": \"Framework\"},\n"
		     "  \"controls\": [\n%s\n  ],\n"
		     "  \"rules\": [\n%s\n  ]\n"
		     "}\n",
		     controls, rules) < 0)
		fail_msg("asprintf");
	return s;
}

#define C1 "    {\"id\": \"C1\", \"title\": \"one\", \"status\": \"enforced\"}"
#define R_EXEC(match) \
	"    {\"id\": \"r1\", \"gate\": \"cmd.exec\", \"controls\": [\"C1\"], \"match\": " match "}"
#define R_NET(match) \
	"    {\"id\": \"r1\", \"gate\": \"net.egress\", \"controls\": [\"C1\"], \"match\": " match "}"

/* "origin:line:col:" of the n-th (0-based) occurrence of token in doc,
 * counting columns in characters like jansson. */
static void pos_of(const char *doc, const char *token, int nth, char *buf, size_t sz)
{
	const char *hit = doc;
	int line = 1, col = 1;

	for (int i = 0; i <= nth; i++) {
		hit = strstr(i ? hit + 1 : hit, token);
		expect(hit, "test bug: token %s (#%d) not in document:\n%s", token, nth, doc);
	}
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

/* Parsing doc fails with -EINVAL; the message starts with the position of
 * the nth occurrence of `token` and contains every given fragment. */
static void expect_err_at(const char *doc, const char *token, int nth, ...)
{
	struct gg_err err = {};
	struct gg_pack *pack = NULL;
	struct gg_bundle *bundle = NULL;
	char where[128];
	const char *frag;
	va_list ap;
	int ret;

	pos_of(doc, token, nth, where, sizeof(where));
	ret = gg_doc_parse(doc, strlen(doc), ORIGIN, &pack, &bundle, &err);
	expect(ret == -EINVAL, "parse should fail with -EINVAL, got %d (%s) for:\n%s", ret,
	       err.msg, doc);
	expect(!pack && !bundle, "no document may be returned on error");
	expect(!strncmp(err.msg, where, strlen(where)),
	       "error should be located at %s (token %s), got: %s", where, token, err.msg);
	va_start(ap, nth);
	while ((frag = va_arg(ap, const char *)))
		expect(strstr(err.msg, frag), "error should mention '%s', got: %s", frag, err.msg);
	va_end(ap);
}

/* Same, for a pack built from controls and rules. */
static void expect_pack_err(const char *controls, const char *rules, const char *token, int nth,
			    const char *frag1, const char *frag2)
{
	char *doc = mkpack(controls, rules);

	expect_err_at(doc, token, nth, frag1, frag2, NULL);
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

/* ---- valid documents ---------------------------------------------------- */

static const char valid_pack[] =
	"{\n"
	"  \"name\": \"owasp-llm-top10\",\n"
	"  \"version\": \"v1\",\n"
	"  \"description\": \"d\",\n"
	"  \"framework\": {\"id\": \"owasp-llm\", \"title\": \"OWASP\", \"version\": \"2025\",\n"
	"                \"source\": \"https://example.org\"},\n"
	"  \"controls\": [\n"
	"    {\"id\": \"LLM06:2025\", \"title\": \"Excessive Agency\", \"status\": \"enforced\"},\n"
	"    {\"id\": \"LLM01:2025\", \"title\": \"Prompt Injection\", \"status\": \"advisory\",\n"
	"     \"reason\": \"needs content.scan\", \"needs\": \"content.scan\", \"evidence\": false,\n"
	"     \"refs\": [\"https://example.org/llm01\"]}\n"
	"  ],\n"
	"  \"rules\": [\n"
	"    {\"id\": \"r1\", \"gate\": \"cmd.exec\", \"controls\": [\"LLM06:2025\"], \"description\": \"x\",\n"
	"     \"match\": {\"basenames\": [\"nc\"], \"paths\": [\"/usr/bin/chisel\"],\n"
	"                \"identities\": [\"/usr/bin/socat\"]}},\n"
	"    {\"id\": \"r2\", \"gate\": \"net.egress\", \"controls\": [\"LLM06:2025\"],\n"
	"     \"match\": {\"cidrs\": [\"169.254.169.254/32\", \"fd00:ec2::254/128\"],\n"
	"                \"ports\": [80, 443], \"protocol\": \"tcp\", \"programs\": [\"bash\"]}},\n"
	"    {\"id\": \"r3\", \"gate\": \"kernel.module\", \"controls\": [\"LLM06:2025\"],\n"
	"     \"match\": {\"all\": true}}\n"
	"  ]\n"
	"}\n";

static void parse__valid_pack_fills_every_field(void **state)
{
	struct gg_pack *p = parse_ok(valid_pack);
	const struct gg_rule *r;
	char hex[65];

	assert_string_equal(p->name, "owasp-llm-top10");
	assert_string_equal(p->version, "v1");
	assert_string_equal(p->description, "d");
	assert_string_equal(p->fw_id, "owasp-llm");
	assert_string_equal(p->fw_title, "OWASP");
	assert_string_equal(p->fw_version, "2025");
	assert_string_equal(p->fw_source, "https://example.org");
	assert_string_equal(p->origin, ORIGIN);
	assert_null(p->ref);
	gg_sha256_hex(valid_pack, strlen(valid_pack), hex);
	expect(!strcmp(p->sha256, hex), "sha256 must be the digest of the document's bytes");

	assert_int_equal(p->n_controls, 2);
	expect(p->controls[0].enforced && !p->controls[0].reason,
	       "LLM06 is enforced with no reason");
	expect(!p->controls[1].enforced, "LLM01 is advisory");
	assert_string_equal(p->controls[1].reason, "needs content.scan");
	assert_string_equal(p->controls[1].needs, "content.scan");
	assert_false(p->controls[1].evidence);
	assert_int_equal(p->controls[1].n_refs, 1);
	assert_ptr_equal(gg_pack_control(p, "LLM01:2025"), &p->controls[1]);
	assert_null(gg_pack_control(p, "nope"));

	assert_int_equal(p->n_rules, 3);
	r = &p->rules[0];
	assert_int_equal(r->gate, GG_GATE_EXEC);
	assert_string_equal(r->description, "x");
	assert_int_equal(r->n_basenames, 1);
	assert_string_equal(r->basenames[0], "nc");
	assert_string_equal(r->paths[0], "/usr/bin/chisel");
	assert_string_equal(r->identities[0], "/usr/bin/socat");
	expect(r->line == 14, "rule r1 starts on line 14, got %d", r->line);

	r = &p->rules[1];
	assert_int_equal(r->gate, GG_GATE_EGRESS);
	assert_int_equal(r->n_cidrs, 2);
	assert_int_equal(r->cidrs[0].family, AF_INET);
	assert_int_equal(r->cidrs[0].plen, 32);
	assert_int_equal(r->cidrs[1].family, AF_INET6);
	assert_int_equal(r->cidrs[1].plen, 128);
	assert_int_equal(r->n_ports, 2);
	assert_int_equal(r->ports[0], 80);
	assert_int_equal(r->ports[1], 443);
	assert_int_equal(r->proto, GG_PROTO_TCP);
	assert_string_equal(r->programs[0], "bash");
	expect(r->line == 17, "rule r2 starts on line 17, got %d", r->line);

	r = &p->rules[2];
	assert_int_equal(r->gate, GG_GATE_MODULE);
	assert_true(r->module_all);
	expect(r->line == 20, "rule r3 starts on line 20, got %d", r->line);
	gg_pack_free(p);
}

static void parse__advisory_only_pack_needs_no_rules(void **state)
{
	char *doc = mkpack("    {\"id\": \"A1\", \"title\": \"t\", \"status\": \"advisory\", "
			   "\"reason\": \"r\", \"needs\": \"sandbox.create\", \"evidence\": true}", "");
	struct gg_pack *p = parse_ok(doc);

	expect(p->n_rules == 0 && p->n_controls == 1 && p->controls[0].evidence,
	       "an advisory-only pack parses with no rules");
	gg_pack_free(p);
	free(doc);
}

static void parse__protocol_defaults_to_any(void **state)
{
	char *doc = mkpack(C1, R_NET("{\"cidrs\": [\"10.0.0.0/8\"], \"protocol\": \"any\"}"));
	struct gg_pack *p = parse_ok(doc);

	assert_int_equal(p->rules[0].proto, GG_PROTO_ANY);
	assert_int_equal(p->rules[0].n_ports, 0);
	gg_pack_free(p);
	free(doc);
}

/* ---- syntax ------------------------------------------------------------- */

static void syntax__jansson_error_has_position(void **state)
{
	const char *doc = "{\n  \"name\": \"x\",\n  \"version\": }\n";
	struct gg_err err = {};
	struct gg_pack *p = NULL;

	assert_int_equal(gg_pack_parse(doc, strlen(doc), ORIGIN, &p, &err), -EINVAL);
	expect(!strncmp(err.msg, ORIGIN ":3:14: ", strlen(ORIGIN ":3:14: ")),
	       "jansson's own line:col is reported, got: %s", err.msg);
	expect(strstr(err.msg, "unexpected token"), "jansson's text is kept, got: %s", err.msg);
}

static void syntax__duplicate_key_refused(void **state)
{
	const char *doc = "{\"name\": \"a\",\n \"name\": \"b\"}";
	struct gg_err err = {};
	struct gg_pack *p = NULL;

	assert_int_equal(gg_pack_parse(doc, strlen(doc), ORIGIN, &p, &err), -EINVAL);
	expect(!strncmp(err.msg, ORIGIN ":2:", strlen(ORIGIN ":2:")) &&
	       strstr(err.msg, "duplicate object key"), "duplicate keys refused, got: %s",
	       err.msg);
}

static void syntax__hardcoded_position_of_value(void **state)
{
	/* the oracle itself, counted once by hand: line 9, column 26 */
	struct gg_err err = {};
	struct gg_pack *p = NULL;
	char *doc;

	doc = mkpack(C1, "    {\"id\": \"r1\", \"gate\": \"cmd.run\", \"controls\": [\"C1\"], "
			 "\"match\": {\"all\": true}}");
	assert_int_equal(gg_pack_parse(doc, strlen(doc), ORIGIN, &p, &err), -EINVAL);
	assert_string_equal(err.msg, ORIGIN ":9:26: rule \"r1\": unknown gate \"cmd.run\"");
	free(doc);
}

static void syntax__columns_count_characters(void **state)
{
	/* "é" is two bytes, one column (as jansson counts) */
	const char *doc = "{\"description\": \"é\", \"name\": \"Bad\"}";
	struct gg_err err = {};
	struct gg_pack *p = NULL;

	assert_int_equal(gg_pack_parse(doc, strlen(doc), ORIGIN, &p, &err), -EINVAL);
	expect(!strncmp(err.msg, ORIGIN ":1:30: ", strlen(ORIGIN ":1:30: ")),
	       "column of \"Bad\" is 30, got: %s", err.msg);
}

static void syntax__not_an_object(void **state)
{
	expect_err_at("[1, 2]", "[", 0, "must be a JSON object", NULL);
}

/* ---- top level ---------------------------------------------------------- */

static void top__missing_name(void **state)
{
	expect_err_at("{\"version\": \"v1\"}", "{", 0, "neither a pack", NULL);
	/* gg_pack_parse names the field itself */
	struct gg_err err = {};
	struct gg_pack *p = NULL;
	const char *doc = "{\"version\": \"v1\"}";

	assert_int_equal(gg_pack_parse(doc, strlen(doc), ORIGIN, &p, &err), -EINVAL);
	expect(strstr(err.msg, ":1:1: missing required field \"name\""), "got: %s", err.msg);
}

static void top__name_wrong_type(void **state)
{
	expect_err_at("{\n \"name\": 12,\n \"version\": \"v1\"}", "12", 0,
		      "\"name\" must be a string", "12", NULL);
}

static void top__name_bad_charset(void **state)
{
	expect_err_at("{\n \"name\": \"Bad_Name\",\n \"version\": \"v1\"}", "\"Bad_Name\"", 0,
		      "[a-z0-9-]+", "\"Bad_Name\"", NULL);
}

static void top__version_empty(void **state)
{
	expect_err_at("{\"name\": \"a\",\n \"version\": \"\"}", "\"\"", 0,
		      "\"version\" must not be empty", NULL);
}

static void top__version_missing(void **state)
{
	expect_err_at("{\"name\": \"a\"}", "{", 0, "missing required field \"version\"", NULL);
}

static void top__unknown_field(void **state)
{
	expect_err_at("{\"name\": \"a\", \"version\": \"v1\",\n  \"colour\": 1}", "\"colour\"", 0,
		      "unknown field \"colour\"", NULL);
}

static void top__framework_missing(void **state)
{
	expect_err_at("{\"name\": \"a\", \"version\": \"v1\"}", "{", 0,
		      "missing required field \"framework\"", NULL);
}

static void top__framework_id_missing(void **state)
{
	expect_err_at("{\"name\": \"a\", \"version\": \"v1\",\n \"framework\": {\"title\": \"t\"}}",
		      "{\"title\"", 0, "framework: missing required field \"id\"", NULL);
}

static void top__framework_title_wrong_type(void **state)
{
	expect_err_at("{\"name\": \"a\", \"version\": \"v1\",\n \"framework\": {\"id\": \"f\", \"title\": [1]}}",
		      "[1]", 0, "framework: \"title\" must be a string", "[1]", NULL);
}

static void top__framework_unknown_field(void **state)
{
	expect_err_at("{\"name\": \"a\", \"version\": \"v1\",\n \"framework\": {\"id\": \"f\", \"url\": \"u\"}}",
		      "\"url\"", 0, "framework: unknown field \"url\"", NULL);
}

static void top__framework_not_object(void **state)
{
	expect_err_at("{\"name\": \"a\", \"version\": \"v1\",\n \"framework\": \"owasp\"}",
		      "\"owasp\"", 0, "\"framework\" must be an object", "\"owasp\"", NULL);
}

static void top__controls_missing(void **state)
{
	expect_err_at("{\"name\": \"a\", \"version\": \"v1\", \"framework\": {\"id\": \"f\", \"title\": \"t\"},\n"
		      " \"rules\": []}", "{", 0, "missing required field \"controls\"", NULL);
}

static void top__controls_not_array(void **state)
{
	expect_err_at("{\"name\": \"a\", \"version\": \"v1\", \"framework\": {\"id\": \"f\", \"title\": \"t\"},\n"
		      " \"controls\": {}, \"rules\": []}", "{}", 0,
		      "\"controls\" must be an array", NULL);
}

static void top__controls_empty(void **state)
{
	expect_err_at("{\"name\": \"a\", \"version\": \"v1\", \"framework\": {\"id\": \"f\", \"title\": \"t\"},\n"
		      " \"controls\": [], \"rules\": []}", "[]", 0,
		      "\"controls\" must not be empty", NULL);
}

static void top__rules_missing(void **state)
{
	expect_err_at("{\"name\": \"a\", \"version\": \"v1\", \"framework\": {\"id\": \"f\", \"title\": \"t\"},\n"
		      " \"controls\": []}", "{", 0, "missing required field \"rules\"", NULL);
}

/* ---- controls ----------------------------------------------------------- */

static void control__not_object(void **state)
{
	expect_pack_err("    \"C1\"", "", "\"C1\"", 0, "controls[0]: a control must be an object",
			NULL);
}

static void control__missing_id(void **state)
{
	expect_pack_err("    {\"title\": \"t\", \"status\": \"enforced\"}", "", "{\"title\"", 0,
			"controls[0]: missing required field \"id\"", NULL);
}

static void control__missing_title(void **state)
{
	expect_pack_err("    {\"id\": \"C1\", \"status\": \"enforced\"}", "", "{\"id\": \"C1\"", 0,
			"control \"C1\": missing required field \"title\"", NULL);
}

static void control__missing_status(void **state)
{
	expect_pack_err("    {\"id\": \"C1\", \"title\": \"t\"}", "", "{\"id\": \"C1\"", 0,
			"control \"C1\": missing required field \"status\"", NULL);
}

static void control__status_wrong_type(void **state)
{
	expect_pack_err("    {\"id\": \"C1\", \"title\": \"t\", \"status\": true}", "", "true", 0,
			"\"status\" must be a string", "true");
}

static void control__unknown_status(void **state)
{
	expect_pack_err("    {\"id\": \"C1\", \"title\": \"t\", \"status\": \"partial\"}", "",
			"\"partial\"", 0, "control \"C1\": status \"partial\"",
			"\"enforced\" or \"advisory\"");
}

static void control__unknown_field(void **state)
{
	expect_pack_err("    {\"id\": \"C1\", \"title\": \"t\", \"status\": \"enforced\", \"owner\": \"x\"}",
			"", "\"owner\"", 0, "control \"C1\": unknown field \"owner\"", NULL);
}

static void control__advisory_without_reason(void **state)
{
	expect_pack_err("    {\"id\": \"C2\", \"title\": \"t\", \"status\": \"advisory\"}", "",
			"{\"id\": \"C2\"", 0, "control \"C2\": advisory control without a \"reason\"",
			NULL);
}

static void control__reason_on_enforced(void **state)
{
	expect_pack_err("    {\"id\": \"C1\", \"title\": \"t\", \"status\": \"enforced\", \"reason\": \"why\"}",
			R_EXEC("{\"basenames\": [\"nc\"]}"), "\"why\"", 0,
			"control \"C1\": an enforced control has no \"reason\"", "\"why\"");
}

static void control__evidence_on_enforced(void **state)
{
	expect_pack_err("    {\"id\": \"C1\", \"title\": \"t\", \"status\": \"enforced\", \"evidence\": false}",
			R_EXEC("{\"basenames\": [\"nc\"]}"), "false", 0,
			"control \"C1\": an enforced control has no \"evidence\"", "false");
}

static void control__evidence_wrong_type(void **state)
{
	expect_pack_err("    {\"id\": \"C2\", \"title\": \"t\", \"status\": \"advisory\", \"reason\": \"r\", "
			"\"evidence\": \"no\"}", "", "\"no\"", 0,
			"\"evidence\" must be true or false", "\"no\"");
}

static void control__unknown_needs(void **state)
{
	expect_pack_err("    {\"id\": \"C2\", \"title\": \"t\", \"status\": \"advisory\", \"reason\": \"r\", "
			"\"needs\": \"net.ingress\"}", "", "\"net.ingress\"", 0,
			"control \"C2\": unknown needs \"net.ingress\"", "content.scan");
}

static void control__needs_on_enforced(void **state)
{
	expect_pack_err("    {\"id\": \"C1\", \"title\": \"t\", \"status\": \"enforced\", \"needs\": \"content.scan\"}",
			R_EXEC("{\"basenames\": [\"nc\"]}"), "\"content.scan\"", 0,
			"an enforced control has no \"needs\"", "\"content.scan\"");
}

static void control__refs_not_strings(void **state)
{
	expect_pack_err("    {\"id\": \"C2\", \"title\": \"t\", \"status\": \"advisory\", \"reason\": \"r\", "
			"\"refs\": [\"a\", 7]}", "", "7]", 0, "control \"C2\": ref must be a string", "got 7");
}

static void control__duplicate_id(void **state)
{
	expect_pack_err(C1 ",\n    {\"id\": \"C1\", \"title\": \"again\", \"status\": \"enforced\"}",
			R_EXEC("{\"basenames\": [\"nc\"]}"), "\"C1\"", 1,
			"duplicate control id \"C1\"", NULL);
}

static void control__enforced_without_rule(void **state)
{
	expect_pack_err(C1 ",\n    {\"id\": \"C9\", \"title\": \"t\", \"status\": \"enforced\"}",
			R_EXEC("{\"basenames\": [\"nc\"]}"), "\"C9\"", 0,
			"enforced control \"C9\" has no rule behind it", NULL);
}

/* ---- rules -------------------------------------------------------------- */

static void rule__not_object(void **state)
{
	expect_pack_err(C1, "    [\"r1\"]", "[\"r1\"]", 0, "rules[0]: a rule must be an object",
			NULL);
}

static void rule__missing_id(void **state)
{
	expect_pack_err(C1, "    {\"gate\": \"cmd.exec\", \"controls\": [\"C1\"], \"match\": {}}",
			"{\"gate\"", 0, "rules[0]: missing required field \"id\"", NULL);
}

static void rule__id_wrong_type(void **state)
{
	expect_pack_err(C1, "    {\"id\": 5, \"gate\": \"cmd.exec\"}", "5,", 0,
			"rules[0]: \"id\" must be a string", "5");
}

static void rule__missing_gate(void **state)
{
	expect_pack_err(C1, "    {\"id\": \"r1\", \"controls\": [\"C1\"], \"match\": {}}",
			"{\"id\": \"r1\"", 0, "rule \"r1\": missing required field \"gate\"", NULL);
}

static void rule__unknown_gate(void **state)
{
	expect_pack_err(C1, "    {\"id\": \"r1\", \"gate\": \"cmd.run\", \"controls\": [\"C1\"], "
			"\"match\": {\"all\": true}}", "\"cmd.run\"", 0,
			"rule \"r1\": unknown gate \"cmd.run\"", NULL);
}

static void rule__content_scan_gate_has_no_kernel_signal(void **state)
{
	expect_pack_err(C1, "    {\"id\": \"r1\", \"gate\": \"content.scan\", \"controls\": [\"C1\"], "
			"\"match\": {\"all\": true}}", "\"content.scan\"", 0,
			"gate \"content.scan\" has no kernel signal; mark its controls advisory with needs",
			NULL);
}

static void rule__sandbox_create_gate_has_no_kernel_signal(void **state)
{
	expect_pack_err(C1, "    {\"id\": \"r1\", \"gate\": \"sandbox.create\", \"controls\": [\"C1\"], "
			"\"match\": {\"all\": true}}", "\"sandbox.create\"", 0,
			"gate \"sandbox.create\" has no kernel signal", NULL);
}

static void rule__unknown_field(void **state)
{
	expect_pack_err(C1, "    {\"id\": \"r1\", \"gate\": \"cmd.exec\", \"severity\": 3}",
			"\"severity\"", 0, "rule \"r1\": unknown field \"severity\"", NULL);
}

static void rule__missing_controls(void **state)
{
	expect_pack_err(C1, "    {\"id\": \"r1\", \"gate\": \"cmd.exec\", \"match\": {\"basenames\": [\"nc\"]}}",
			"{\"id\": \"r1\"", 0, "rule \"r1\": missing required field \"controls\"",
			NULL);
}

static void rule__controls_empty(void **state)
{
	expect_pack_err(C1, "    {\"id\": \"r1\", \"gate\": \"cmd.exec\", \"controls\": [], "
			"\"match\": {\"basenames\": [\"nc\"]}}", "[]", 0,
			"rule \"r1\": \"controls\" must not be empty", NULL);
}

static void rule__controls_wrong_type(void **state)
{
	expect_pack_err(C1, "    {\"id\": \"r1\", \"gate\": \"cmd.exec\", \"controls\": \"C1\", "
			"\"match\": {\"basenames\": [\"nc\"]}}", "\"C1\"", 1,
			"\"controls\" must be an array", "\"C1\"");
}

static void rule__undeclared_control(void **state)
{
	expect_pack_err(C1, "    {\"id\": \"r1\", \"gate\": \"cmd.exec\", \"controls\": [\"C1\", \"C7\"], "
			"\"match\": {\"basenames\": [\"nc\"]}}", "\"C7\"", 0,
			"rule \"r1\": control \"C7\" is not declared", NULL);
}

static void rule__names_advisory_control(void **state)
{
	expect_pack_err(C1 ",\n    {\"id\": \"A1\", \"title\": \"t\", \"status\": \"advisory\", \"reason\": \"r\"}",
			"    {\"id\": \"r1\", \"gate\": \"cmd.exec\", \"controls\": [\"C1\", \"A1\"], "
			"\"match\": {\"basenames\": [\"nc\"]}}", "\"A1\"", 1,
			"advisory control \"A1\" has a rule: mark it enforced or drop the rule",
			NULL);
}

static void rule__duplicate_control(void **state)
{
	expect_pack_err(C1, "    {\"id\": \"r1\", \"gate\": \"cmd.exec\", \"controls\": [\"C1\", \"C1\"], "
			"\"match\": {\"basenames\": [\"nc\"]}}", "\"C1\"", 2,
			"rule \"r1\": duplicate control \"C1\"", NULL);
}

static void rule__duplicate_id(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"basenames\": [\"nc\"]}") ",\n"
			R_EXEC("{\"basenames\": [\"ncat\"]}"), "\"r1\"", 1,
			"duplicate rule id \"r1\"", NULL);
}

static void rule__missing_match(void **state)
{
	expect_pack_err(C1, "    {\"id\": \"r1\", \"gate\": \"cmd.exec\", \"controls\": [\"C1\"]}",
			"{\"id\": \"r1\"", 0, "rule \"r1\": missing required field \"match\"", NULL);
}

static void rule__match_not_object(void **state)
{
	expect_pack_err(C1, R_EXEC("[\"nc\"]"), "[\"nc\"]", 0, "\"match\" must be an object",
			"[\"nc\"]");
}

static void rule__empty_match(void **state)
{
	expect_pack_err(C1, R_EXEC("{ }"), "{ }", 0, "rule \"r1\": empty match", NULL);
}

static void rule__match_key_of_other_gate(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"basenames\": [\"nc\"], \"cidrs\": [\"10.0.0.0/8\"]}"),
			"\"cidrs\"", 0, "match key \"cidrs\" is not allowed for gate cmd.exec",
			NULL);
}

static void rule__match_unknown_key(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"argv\": [\"-e\"]}"), "\"argv\"", 0,
			"unknown field \"argv\" in match", NULL);
}

/* ---- cmd.exec ----------------------------------------------------------- */

static void exec__relative_path(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"paths\": [\"/bin/ok\", \"bin/nc\"]}"), "\"bin/nc\"", 0,
			"path \"bin/nc\" is not absolute", NULL);
}

static void exec__dotdot_component(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"paths\": [\"/usr/../bin/nc\"]}"), "\"/usr/../bin/nc\"", 0,
			"path \"/usr/../bin/nc\" has a \".\" or \"..\" component", NULL);
}

static void exec__dot_component(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"paths\": [\"/usr/./bin/nc\"]}"), "\"/usr/./bin/nc\"", 0,
			"has a \".\" or \"..\" component", NULL);
}

static void exec__trailing_dotdot(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"paths\": [\"/usr/bin/..\"]}"), "\"/usr/bin/..\"", 0,
			"has a \".\" or \"..\" component", NULL);
}

static void exec__empty_component(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"paths\": [\"/usr//bin/nc\"]}"), "\"/usr//bin/nc\"", 0,
			"is not canonical", NULL);
}

static void exec__path_too_long(void **state)
{
	char path[GG_PATH_MAX + 2], match[GG_PATH_MAX + 64], rule[GG_PATH_MAX + 256];

	path[0] = '/';
	memset(path + 1, 'a', GG_PATH_MAX - 1); /* strlen == GG_PATH_MAX */
	path[GG_PATH_MAX] = '\0';
	snprintf(match, sizeof(match), "{\"paths\": [\"%s\"]}", path);
	snprintf(rule, sizeof(rule), R_EXEC("%s"), match);
	expect_pack_err(C1, rule, "\"/aaa", 0, "is too long", "\"/aaaa");
}

static void exec__path_at_limit_is_valid(void **state)
{
	char path[GG_PATH_MAX], match[GG_PATH_MAX + 64], rule[GG_PATH_MAX + 256];
	char *doc;

	path[0] = '/';
	memset(path + 1, 'a', GG_PATH_MAX - 2); /* strlen == GG_PATH_MAX - 1 */
	path[GG_PATH_MAX - 1] = '\0';
	snprintf(match, sizeof(match), "{\"paths\": [\"%s\"]}", path);
	snprintf(rule, sizeof(rule), R_EXEC("%s"), match);
	doc = mkpack(C1, rule);
	gg_pack_free(parse_ok(doc));
	free(doc);
}

static void exec__path_with_nul(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"paths\": [\"/bin/nc\\u0000x\"]}"), "\"/bin/nc\\u", 0,
			"path contains a NUL byte", "\\u0000");
}

static void exec__paths_not_array(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"paths\": \"/bin/nc\"}"), "\"/bin/nc\"", 0,
			"\"paths\" must be an array", NULL);
}

static void exec__paths_empty(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"paths\": []}"), "[]", 0, "\"paths\" must not be empty",
			NULL);
}

static void exec__basename_with_slash(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"basenames\": [\"bin/nc\"]}"), "\"bin/nc\"", 0,
			"basename \"bin/nc\" contains '/'", NULL);
}

static void exec__basename_empty(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"basenames\": [\"nc\", \"\"]}"), "\"\"", 0,
			"basename must not be empty", NULL);
}

static void exec__basename_too_long(void **state)
{
	char name[GG_NAME_MAX + 1], match[GG_NAME_MAX + 64], rule[GG_NAME_MAX + 256];

	memset(name, 'n', GG_NAME_MAX);
	name[GG_NAME_MAX] = '\0';
	snprintf(match, sizeof(match), "{\"basenames\": [\"%s\"]}", name);
	snprintf(rule, sizeof(rule), R_EXEC("%s"), match);
	expect_pack_err(C1, rule, "\"nnnn", 0, "is too long", "\"nnnn");
}

static void exec__basename_not_string(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"basenames\": [null]}"), "null", 0,
			"basename must be a string", "null");
}

static void exec__duplicate_basename(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"basenames\": [\"nc\", \"socat\", \"nc\", \"socat\"]}"),
			"\"nc\"", 1, "duplicate basename \"nc\"", NULL);
}

static void exec__duplicate_path(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"paths\": [\"/bin/b\", \"/bin/a\", \"/bin/a\", \"/bin/b\"]}"),
			"\"/bin/a\"", 1, "duplicate path \"/bin/a\"", NULL);
}

static void exec__identity_relative(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"identities\": [\"socat\"]}"), "\"socat\"", 0,
			"identity \"socat\" is not absolute", NULL);
}

#define SHA_A "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

static void exec__sha256_short(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"sha256\": [\"" SHA_A "\", \"abc\"]}"), "\"abc\"", 0,
			"sha256 \"abc\" is not a SHA-256 digest (64 lower-case hex digits)",
			NULL);
}

static void exec__sha256_upper_case(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"sha256\": [\"5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34"
				   "D08286A2E846F6BE03\"]}"), "\"5891B5", 0,
			"is not a SHA-256 digest", NULL);
}

static void exec__sha256_duplicate(void **state)
{
	expect_pack_err(C1, R_EXEC("{\"sha256\": [\"" SHA_A "\", \"" SHA_A "\"]}"),
			"\"" SHA_A "\"", 1, "duplicate sha256", NULL);
}

static void exec__sha256_not_for_egress(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"10.0.0.0/8\"], \"sha256\": [\"" SHA_A "\"]}"),
			"\"sha256\"", 0, "match key \"sha256\" is not allowed for gate net.egress",
			NULL);
}

static void exec__sha256_parses(void **state)
{
	char *doc = mkpack(C1, R_EXEC("{\"sha256\": [\"" SHA_A "\"]}"));
	struct gg_pack *pk = parse_ok(doc);

	assert_int_equal(pk->rules[0].n_sha256s, 1);
	assert_string_equal(pk->rules[0].sha256s[0], SHA_A);
	gg_pack_free(pk);
	free(doc);
}

/* ---- net.egress --------------------------------------------------------- */

static void egress__garbage_cidr(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"10.0.0.0/8\", \"example.com/32\"]}"),
			"\"example.com/32\"", 0, "invalid cidr \"example.com/32\"", NULL);
}

static void egress__cidr_host_bits(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"10.1.2.3/8\"]}"), "\"10.1.2.3/8\"", 0,
			"cidr \"10.1.2.3/8\" has host bits set", NULL);
}

static void egress__cidr_prefix_range(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"fd00::/129\"]}"), "\"fd00::/129\"", 0,
			"cidr \"fd00::/129\": prefix length out of range", NULL);
}

static void egress__cidr_v4_loopback(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"127.0.0.1/32\"]}"), "\"127.0.0.1/32\"", 0,
			"cidr \"127.0.0.1/32\" covers loopback 127.0.0.0/8",
			"must not cut the guest's loopback");
}

static void egress__cidr_v4_loopback_net(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"127.0.0.0/8\"]}"), "\"127.0.0.0/8\"", 0,
			"covers loopback 127.0.0.0/8", NULL);
}

static void egress__cidr_v4_covering_loopback(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"10.0.0.0/8\", \"0.0.0.0/0\"]}"), "\"0.0.0.0/0\"", 0,
			"cidr \"0.0.0.0/0\" covers loopback 127.0.0.0/8", NULL);
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"96.0.0.0/3\"]}"), "\"96.0.0.0/3\"", 0,
			"covers loopback 127.0.0.0/8", NULL);
}

static void egress__cidr_v4_unspecified(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"0.0.0.0/32\"]}"), "\"0.0.0.0/32\"", 0,
			"covers the unspecified address 0.0.0.0", NULL);
}

static void egress__cidr_v6_loopback(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"::1/128\"]}"), "\"::1/128\"", 0,
			"cidr \"::1/128\" covers loopback ::1", NULL);
}

static void egress__cidr_v6_covering_loopback(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"::/0\"]}"), "\"::/0\"", 0,
			"cidr \"::/0\" covers loopback ::1", NULL);
}

static void egress__cidr_v6_unspecified(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"::/128\"]}"), "\"::/128\"", 0,
			"covers the unspecified address ::", NULL);
}

static void egress__cidr_mapped_loopback(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"::ffff:127.0.0.1/128\"]}"),
			"\"::ffff:127.0.0.1/128\"", 0, "covers loopback ::ffff:127.0.0.0/104", NULL);
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"::ffff:0.0.0.0/96\"]}"),
			"\"::ffff:0.0.0.0/96\"", 0, "covers loopback ::ffff:127.0.0.0/104", NULL);
}

static void egress__cidr_not_loopback_neighbours(void **state)
{
	char *doc = mkpack(C1, R_NET("{\"cidrs\": [\"126.0.0.0/8\", \"128.0.0.0/1\", \"0.0.0.1/32\", "
				     "\"::2/128\", \"2000::/3\", \"::ffff:10.0.0.0/104\", \"64.0.0.0/3\"]}"));

	gg_pack_free(parse_ok(doc));
	free(doc);
}

static void egress__duplicate_cidr(void **state)
{
	/* the same network written twice, differently */
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"fd00::/8\", \"10.0.0.0/8\", \"fd00:0::/8\"]}"),
			"\"fd00:0::/8\"", 0, "duplicate cidr \"fd00:0::/8\"", NULL);
}

static void egress__duplicate_port(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"10.0.0.0/8\"], \"ports\": [443, 80, 443]}"),
			"443]", 0, "duplicate port 443", NULL);
}

static void egress__duplicate_program(void **state)
{
	expect_pack_err(C1, R_NET("{\"programs\": [\"curl\", \"wget\", \"curl\"]}"), "\"curl\"", 1,
			"duplicate program \"curl\"", NULL);
}

static void egress__port_zero(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"10.0.0.0/8\"], \"ports\": [443, 0]}"), "0]", 0,
			"port 0 is not an integer in 1..65535", NULL);
}

static void egress__port_too_big(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"10.0.0.0/8\"], \"ports\": [65536]}"), "65536", 0,
			"port 65536 is not an integer in 1..65535", NULL);
}

static void egress__port_string(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"10.0.0.0/8\"], \"ports\": [\"80\"]}"), "\"80\"", 0,
			"port \"80\" is not an integer", NULL);
}

static void egress__port_real(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"10.0.0.0/8\"], \"ports\": [80.5]}"), "80.5", 0,
			"port 80.5 is not an integer", NULL);
}

static void egress__unknown_protocol(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"10.0.0.0/8\"], \"protocol\": \"icmp\"}"),
			"\"icmp\"", 0, "unknown protocol \"icmp\"", NULL);
}

static void egress__program_with_slash(void **state)
{
	expect_pack_err(C1, R_NET("{\"programs\": [\"/bin/bash\"]}"), "\"/bin/bash\"", 0,
			"program \"/bin/bash\" contains '/'", NULL);
}

static void egress__needs_cidrs_or_programs(void **state)
{
	expect_pack_err(C1, R_NET("{\"ports\": [22]}"), "{\"ports\"", 0,
			"a net.egress match needs \"cidrs\", \"programs\" or \"sockets\"", NULL);
}

static void egress__sockets(void **state)
{
	char *doc = mkpack(C1, R_NET("{\"sockets\": [\"packet\", \"raw\"]}"));
	struct gg_pack *p = parse_ok(doc);

	assert_int_equal(p->rules[0].sockets, (1U << GG_SOCK_RAW) | (1U << GG_SOCK_PACKET));
	assert_int_equal(p->rules[0].n_cidrs, 0);
	gg_pack_free(p);
	free(doc);
	doc = mkpack(C1, R_NET("{\"sockets\": [\"packet\"]}"));
	p = parse_ok(doc);
	assert_int_equal(p->rules[0].sockets, 1U << GG_SOCK_PACKET);
	gg_pack_free(p);
	free(doc);
}

static void egress__unknown_socket_kind(void **state)
{
	expect_pack_err(C1, R_NET("{\"sockets\": [\"raw\", \"icmp\"]}"), "\"icmp\"", 0,
			"unknown socket kind \"icmp\": expected \"raw\" or \"packet\"", NULL);
}

static void egress__duplicate_socket_kind(void **state)
{
	expect_pack_err(C1, R_NET("{\"sockets\": [\"raw\", \"raw\"]}"), "\"raw\"", 1,
			"duplicate socket kind \"raw\"", NULL);
}

static void egress__socket_kind_not_string(void **state)
{
	expect_pack_err(C1, R_NET("{\"sockets\": [3]}"), "3]", 0,
			"socket kind must be a string, got 3", NULL);
}

static void egress__sockets_empty(void **state)
{
	expect_pack_err(C1, R_NET("{\"sockets\": []}"), "[]", 0,
			"\"sockets\" must not be empty", NULL);
}

static void egress__sockets_stand_alone(void **state)
{
	expect_pack_err(C1, R_NET("{\"sockets\": [\"raw\"], \"cidrs\": [\"10.0.0.0/8\"]}"),
			"{\"sockets\"", 0, "\"sockets\" stands alone in its match", NULL);
}

static void module__sockets_not_allowed(void **state)
{
	expect_pack_err(C1, "    {\"id\": \"r1\", \"gate\": \"kernel.module\", \"controls\": "
			"[\"C1\"], \"match\": {\"sockets\": [\"raw\"]}}", "\"sockets\"", 0,
			"match key \"sockets\" is not allowed for gate kernel.module", NULL);
}

static void egress__match_key_of_other_gate(void **state)
{
	expect_pack_err(C1, R_NET("{\"cidrs\": [\"10.0.0.0/8\"], \"basenames\": [\"nc\"]}"),
			"\"basenames\"", 0, "match key \"basenames\" is not allowed for gate net.egress",
			NULL);
}

/* ---- kernel.module ------------------------------------------------------ */

#define R_MOD(match) \
	"    {\"id\": \"r1\", \"gate\": \"kernel.module\", \"controls\": [\"C1\"], \"match\": " match "}"

static void module__all_false(void **state)
{
	expect_pack_err(C1, R_MOD("{\"all\": false}"), "false", 0,
			"must be exactly {\"all\": true}", NULL);
}

static void module__extra_key(void **state)
{
	expect_pack_err(C1, R_MOD("{\"all\": true, \"names\": [\"x\"]}"), "\"names\"", 0,
			"unknown field \"names\" in match", NULL);
}

static void module__paths_not_allowed(void **state)
{
	expect_pack_err(C1, R_MOD("{\"paths\": [\"/bin/x\"]}"), "\"paths\"", 0,
			"match key \"paths\" is not allowed for gate kernel.module", NULL);
}

/* ---- bundles ------------------------------------------------------------ */

static void bundle__valid(void **state)
{
	const char *doc = "{\"bundle\": \"baseline\", \"version\": \"v2\", \"description\": \"d\",\n"
			  " \"members\": [\"owasp-llm-top10@v1\", \"sha256:abcd\"]}";
	struct gg_bundle *b = NULL;
	struct gg_pack *p = NULL;
	struct gg_err err = {};

	assert_int_equal(gg_doc_parse(doc, strlen(doc), ORIGIN, &p, &b, &err), 0);
	expect(b && !p, "a bundle document yields a bundle only");
	assert_string_equal(b->name, "baseline");
	assert_string_equal(b->version, "v2");
	assert_string_equal(b->description, "d");
	assert_int_equal(b->n_members, 2);
	assert_string_equal(b->members[0], "owasp-llm-top10@v1");
	assert_string_equal(b->members[1], "sha256:abcd");
	assert_string_equal(b->origin, ORIGIN);
	gg_bundle_free(b);
}

static void bundle__doc_parse_returns_pack_for_pack(void **state)
{
	struct gg_bundle *b = NULL;
	struct gg_pack *p = NULL;
	struct gg_err err = {};

	assert_int_equal(gg_doc_parse(valid_pack, strlen(valid_pack), ORIGIN, &p, &b, &err), 0);
	expect(p && !b, "a pack document yields a pack only");
	gg_pack_free(p);
}

static void bundle__members_empty(void **state)
{
	expect_err_at("{\"bundle\": \"b\", \"version\": \"v1\",\n \"members\": []}", "[]", 0,
		      "\"members\" must not be empty", NULL);
}

static void bundle__member_not_string(void **state)
{
	expect_err_at("{\"bundle\": \"b\", \"version\": \"v1\",\n \"members\": [\"a@v1\", 3]}", "3]", 0,
		      "member must be a string", NULL);
}

static void bundle__member_empty_string(void **state)
{
	expect_err_at("{\"bundle\": \"b\", \"version\": \"v1\",\n \"members\": [\"\"]}", "\"\"", 0,
		      "member must not be empty", NULL);
}

static void bundle__duplicate_member(void **state)
{
	expect_err_at("{\"bundle\": \"b\", \"version\": \"v1\",\n \"members\": [\"a@v1\", \"b@v1\", \"a@v1\"]}",
		      "\"a@v1\"", 1, "duplicate member \"a@v1\"", NULL);
}

static void bundle__unknown_field(void **state)
{
	expect_err_at("{\"bundle\": \"b\", \"version\": \"v1\", \"members\": [\"a\"],\n \"rules\": []}",
		      "\"rules\"", 0, "unknown field \"rules\"", NULL);
}

static void bundle__missing_members(void **state)
{
	expect_err_at("{\"bundle\": \"b\", \"version\": \"v1\"}", "{", 0,
		      "missing required field \"members\"", NULL);
}

static void bundle__bad_name(void **state)
{
	expect_err_at("{\"bundle\": \"B!\", \"version\": \"v1\", \"members\": [\"a\"]}", "\"B!\"", 0,
		      "bundle \"B!\" must match [a-z0-9-]+", NULL);
}

static void bundle__both_name_and_bundle(void **state)
{
	expect_err_at("{\"name\": \"a\",\n \"bundle\": \"b\"}", "\"bundle\"", 0,
		      "not both", NULL);
}

static void bundle__pack_parse_refuses_bundle(void **state)
{
	const char *doc = "{\"bundle\": \"b\", \"version\": \"v1\", \"members\": [\"a\"]}";
	struct gg_pack *p = NULL;
	struct gg_err err = {};

	assert_int_equal(gg_pack_parse(doc, strlen(doc), ORIGIN, &p, &err), -EINVAL);
	expect(strstr(err.msg, "expected a pack, got a bundle"), "got: %s", err.msg);
	assert_null(p);
}

/* ---- gg_cidr_parse ------------------------------------------------------ */

static void cidr__v4(void **state)
{
	struct gg_cidr c;

	assert_int_equal(gg_cidr_parse("169.254.169.254/32", &c), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.plen, 32);
	assert_memory_equal(c.addr, "\xa9\xfe\xa9\xfe", 4);
	assert_int_equal(gg_cidr_parse("10.0.0.0/8", &c), 0);
	assert_int_equal(c.plen, 8);
	assert_int_equal(gg_cidr_parse("0.0.0.0/0", &c), 0);
	assert_int_equal(c.plen, 0);
	assert_int_equal(gg_cidr_parse("192.168.128.0/17", &c), 0);
}

static void cidr__v6(void **state)
{
	struct gg_cidr c;
	__u8 want[16];

	assert_int_equal(gg_cidr_parse("fd00:ec2::254/128", &c), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.plen, 128);
	inet_pton(AF_INET6, "fd00:ec2::254", want);
	assert_memory_equal(c.addr, want, 16);
	assert_int_equal(gg_cidr_parse("::/0", &c), 0);
	assert_int_equal(gg_cidr_parse("2001:db8::/32", &c), 0);
	assert_int_equal(c.plen, 32);
	assert_int_equal(gg_cidr_parse("2001:db8:8000::/33", &c), 0);
	assert_int_equal(c.plen, 33);
}

static void cidr__host_bits_refused(void **state)
{
	struct gg_cidr c;

	assert_int_equal(gg_cidr_parse("10.0.0.1/8", &c), -EDOM);
	assert_int_equal(gg_cidr_parse("192.168.129.0/17", &c), -EDOM);
	assert_int_equal(gg_cidr_parse("0.0.0.1/0", &c), -EDOM);
	assert_int_equal(gg_cidr_parse("2001:db8::1/64", &c), -EDOM);
	assert_int_equal(gg_cidr_parse("2001:db8:4000::/33", &c), -EDOM);
}

static void cidr__prefix_range(void **state)
{
	struct gg_cidr c;

	assert_int_equal(gg_cidr_parse("10.0.0.0/33", &c), -ERANGE);
	assert_int_equal(gg_cidr_parse("::/129", &c), -ERANGE);
	assert_int_equal(gg_cidr_parse("::/999", &c), -ERANGE);
	assert_int_equal(gg_cidr_parse("10.0.0.0/1000", &c), -EINVAL);
	assert_int_equal(gg_cidr_parse("10.0.0.0/-1", &c), -EINVAL);
}

static void cidr__garbage(void **state)
{
	static const char *const bad[] = {
		"", "/", "10.0.0.0", "10.0.0.0/", "/8", "10.0.0/8", "10.0.0.0.0/8",
		"256.0.0.0/8", "10.0.0.0/8x", "10.0.0.0/ 8", " 10.0.0.0/8", "10.0.0.0/08",
		"fd00:::1/64", "example.com/32", "10.0.0.0/+8", "::/0/0",
	};
	struct gg_cidr c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect(gg_cidr_parse(bad[i], &c) == -EINVAL, "\"%s\" is not a CIDR", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse__valid_pack_fills_every_field),
		cmocka_unit_test(parse__advisory_only_pack_needs_no_rules),
		cmocka_unit_test(parse__protocol_defaults_to_any),
		cmocka_unit_test(syntax__jansson_error_has_position),
		cmocka_unit_test(syntax__duplicate_key_refused),
		cmocka_unit_test(syntax__hardcoded_position_of_value),
		cmocka_unit_test(syntax__columns_count_characters),
		cmocka_unit_test(syntax__not_an_object),
		cmocka_unit_test(top__missing_name),
		cmocka_unit_test(top__name_wrong_type),
		cmocka_unit_test(top__name_bad_charset),
		cmocka_unit_test(top__version_empty),
		cmocka_unit_test(top__version_missing),
		cmocka_unit_test(top__unknown_field),
		cmocka_unit_test(top__framework_missing),
		cmocka_unit_test(top__framework_id_missing),
		cmocka_unit_test(top__framework_title_wrong_type),
		cmocka_unit_test(top__framework_unknown_field),
		cmocka_unit_test(top__framework_not_object),
		cmocka_unit_test(top__controls_missing),
		cmocka_unit_test(top__controls_not_array),
		cmocka_unit_test(top__controls_empty),
		cmocka_unit_test(top__rules_missing),
		cmocka_unit_test(control__not_object),
		cmocka_unit_test(control__missing_id),
		cmocka_unit_test(control__missing_title),
		cmocka_unit_test(control__missing_status),
		cmocka_unit_test(control__status_wrong_type),
		cmocka_unit_test(control__unknown_status),
		cmocka_unit_test(control__unknown_field),
		cmocka_unit_test(control__advisory_without_reason),
		cmocka_unit_test(control__reason_on_enforced),
		cmocka_unit_test(control__evidence_on_enforced),
		cmocka_unit_test(control__evidence_wrong_type),
		cmocka_unit_test(control__unknown_needs),
		cmocka_unit_test(control__needs_on_enforced),
		cmocka_unit_test(control__refs_not_strings),
		cmocka_unit_test(control__duplicate_id),
		cmocka_unit_test(control__enforced_without_rule),
		cmocka_unit_test(rule__not_object),
		cmocka_unit_test(rule__missing_id),
		cmocka_unit_test(rule__id_wrong_type),
		cmocka_unit_test(rule__missing_gate),
		cmocka_unit_test(rule__unknown_gate),
		cmocka_unit_test(rule__content_scan_gate_has_no_kernel_signal),
		cmocka_unit_test(rule__sandbox_create_gate_has_no_kernel_signal),
		cmocka_unit_test(rule__unknown_field),
		cmocka_unit_test(rule__missing_controls),
		cmocka_unit_test(rule__controls_empty),
		cmocka_unit_test(rule__controls_wrong_type),
		cmocka_unit_test(rule__undeclared_control),
		cmocka_unit_test(rule__names_advisory_control),
		cmocka_unit_test(rule__duplicate_control),
		cmocka_unit_test(rule__duplicate_id),
		cmocka_unit_test(rule__missing_match),
		cmocka_unit_test(rule__match_not_object),
		cmocka_unit_test(rule__empty_match),
		cmocka_unit_test(rule__match_key_of_other_gate),
		cmocka_unit_test(rule__match_unknown_key),
		cmocka_unit_test(exec__relative_path),
		cmocka_unit_test(exec__dotdot_component),
		cmocka_unit_test(exec__dot_component),
		cmocka_unit_test(exec__trailing_dotdot),
		cmocka_unit_test(exec__empty_component),
		cmocka_unit_test(exec__path_too_long),
		cmocka_unit_test(exec__path_at_limit_is_valid),
		cmocka_unit_test(exec__path_with_nul),
		cmocka_unit_test(exec__paths_not_array),
		cmocka_unit_test(exec__paths_empty),
		cmocka_unit_test(exec__basename_with_slash),
		cmocka_unit_test(exec__basename_empty),
		cmocka_unit_test(exec__basename_too_long),
		cmocka_unit_test(exec__basename_not_string),
		cmocka_unit_test(exec__duplicate_basename),
		cmocka_unit_test(exec__duplicate_path),
		cmocka_unit_test(exec__identity_relative),
		cmocka_unit_test(exec__sha256_short),
		cmocka_unit_test(exec__sha256_upper_case),
		cmocka_unit_test(exec__sha256_duplicate),
		cmocka_unit_test(exec__sha256_not_for_egress),
		cmocka_unit_test(exec__sha256_parses),
		cmocka_unit_test(egress__garbage_cidr),
		cmocka_unit_test(egress__cidr_host_bits),
		cmocka_unit_test(egress__cidr_prefix_range),
		cmocka_unit_test(egress__cidr_v4_loopback),
		cmocka_unit_test(egress__cidr_v4_loopback_net),
		cmocka_unit_test(egress__cidr_v4_covering_loopback),
		cmocka_unit_test(egress__cidr_v4_unspecified),
		cmocka_unit_test(egress__cidr_v6_loopback),
		cmocka_unit_test(egress__cidr_v6_covering_loopback),
		cmocka_unit_test(egress__cidr_v6_unspecified),
		cmocka_unit_test(egress__cidr_mapped_loopback),
		cmocka_unit_test(egress__cidr_not_loopback_neighbours),
		cmocka_unit_test(egress__duplicate_cidr),
		cmocka_unit_test(egress__duplicate_port),
		cmocka_unit_test(egress__duplicate_program),
		cmocka_unit_test(egress__port_zero),
		cmocka_unit_test(egress__port_too_big),
		cmocka_unit_test(egress__port_string),
		cmocka_unit_test(egress__port_real),
		cmocka_unit_test(egress__unknown_protocol),
		cmocka_unit_test(egress__program_with_slash),
		cmocka_unit_test(egress__needs_cidrs_or_programs),
		cmocka_unit_test(egress__sockets),
		cmocka_unit_test(egress__unknown_socket_kind),
		cmocka_unit_test(egress__duplicate_socket_kind),
		cmocka_unit_test(egress__socket_kind_not_string),
		cmocka_unit_test(egress__sockets_empty),
		cmocka_unit_test(egress__sockets_stand_alone),
		cmocka_unit_test(module__sockets_not_allowed),
		cmocka_unit_test(egress__match_key_of_other_gate),
		cmocka_unit_test(module__all_false),
		cmocka_unit_test(module__extra_key),
		cmocka_unit_test(module__paths_not_allowed),
		cmocka_unit_test(bundle__valid),
		cmocka_unit_test(bundle__doc_parse_returns_pack_for_pack),
		cmocka_unit_test(bundle__members_empty),
		cmocka_unit_test(bundle__member_not_string),
		cmocka_unit_test(bundle__member_empty_string),
		cmocka_unit_test(bundle__duplicate_member),
		cmocka_unit_test(bundle__unknown_field),
		cmocka_unit_test(bundle__missing_members),
		cmocka_unit_test(bundle__bad_name),
		cmocka_unit_test(bundle__both_name_and_bundle),
		cmocka_unit_test(bundle__pack_parse_refuses_bundle),
		cmocka_unit_test(cidr__v4),
		cmocka_unit_test(cidr__v6),
		cmocka_unit_test(cidr__host_bits_refused),
		cmocka_unit_test(cidr__prefix_range),
		cmocka_unit_test(cidr__garbage),
	};

	return cmocka_run_group_tests_name("pack", tests, NULL, NULL);
}
