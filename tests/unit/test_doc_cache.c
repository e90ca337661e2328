// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's cache of parsed packs (user/doc_cache.h) and the deep copy
 * it hands out (gg_pack_dup). A copy must be the pack a fresh parse gives,
 * field for field: pack_text renders every field of struct gg_pack, and
 * the copy is rendered after the original is freed (nothing shared).
 */
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "doc_cache.h"
#include "pack.h"

/* The structs pack_text and gg_pack_dup know (x86_64): a field added
 * changes a size, and this test stops building until both know it too. */
_Static_assert(sizeof(struct gg_pack) == 184, "struct gg_pack changed: update pack_text and gg_pack_dup");
_Static_assert(sizeof(struct gg_rule) == 200, "struct gg_rule changed: update pack_text and gg_pack_dup");
_Static_assert(sizeof(struct gg_control) == 64, "struct gg_control changed: update pack_text and gg_pack_dup");
_Static_assert(sizeof(struct gg_allowlist) == 40, "struct gg_allowlist changed: update pack_text and gg_pack_dup");
_Static_assert(sizeof(struct gg_allow_entry) == 64, "struct gg_allow_entry changed: update pack_text and gg_pack_dup");

static void strs(FILE *f, const char *what, char **v, size_t n)
{
	fprintf(f, " %s[%zu]", what, n);
	for (size_t i = 0; i < n; i++)
		fprintf(f, " '%s'", v[i]);
}

static void cidr(FILE *f, const struct gg_cidr *c)
{
	fprintf(f, " cidr(%d/", c->family);
	for (int i = 0; i < 16; i++)
		fprintf(f, "%02x", c->addr[i]);
	fprintf(f, "/%d)", c->plen);
}

static void ports(FILE *f, const __u16 *p, size_t n)
{
	fprintf(f, " ports[%zu]", n);
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %u", p[i]);
}

#define S(x) ((x) ? (x) : "(null)")

/* Every field of p, as text (a new field belongs here and in gg_pack_dup). */
static char *pack_text(const struct gg_pack *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fprintf(f, "%s %s %s %s %s %s %s origin=%s ref=%s sha=%s\n", S(p->name), S(p->version),
		S(p->description), S(p->fw_id), S(p->fw_title), S(p->fw_version), S(p->fw_source),
		S(p->origin), S(p->ref), p->sha256);
	for (size_t i = 0; i < p->n_controls; i++) {
		const struct gg_control *c = &p->controls[i];

		fprintf(f, "control %s %s enforced=%d reason=%s needs=%s evidence=%d", S(c->id),
			S(c->title), c->enforced, S(c->reason), S(c->needs), c->evidence);
		strs(f, "refs", c->refs, c->n_refs);
		fprintf(f, "\n");
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct gg_rule *r = &p->rules[i];

		fprintf(f, "rule %s gate=%d %s line=%d", S(r->id), r->gate, S(r->description),
			r->line);
		strs(f, "controls", r->controls, r->n_controls);
		strs(f, "paths", r->paths, r->n_paths);
		strs(f, "basenames", r->basenames, r->n_basenames);
		strs(f, "identities", r->identities, r->n_identities);
		strs(f, "sha256s", r->sha256s, r->n_sha256s);
		strs(f, "trusted", r->trusted, r->n_trusted);
		strs(f, "programs", r->programs, r->n_programs);
		fprintf(f, " disconnected=%d cidrs[%zu]", r->exec_disconnected, r->n_cidrs);
		for (size_t k = 0; k < r->n_cidrs; k++)
			cidr(f, &r->cidrs[k]);
		ports(f, r->ports, r->n_ports);
		fprintf(f, " proto=%d sockets=%u allowlist=%d module_all=%d kexec=%d\n", r->proto,
			r->sockets, r->allowlist, r->module_all, r->module_kexec);
	}
	if (p->allowlist) {
		const struct gg_allowlist *w = p->allowlist;

		fprintf(f, "allowlist %s", S(w->description));
		strs(f, "controls", w->controls, w->n_controls);
		for (size_t i = 0; i < w->n_entries; i++) {
			fprintf(f, "\n entry %s wildcard=%d proto=%d", S(w->entries[i].domain),
				w->entries[i].wildcard, w->entries[i].proto);
			cidr(f, &w->entries[i].cidr);
			ports(f, w->entries[i].ports, w->entries[i].n_ports);
		}
		fprintf(f, "\n");
	}
	fclose(f);
	return buf;
}

/* A pack with a value in every field the shipped packs leave empty. */
static const char every_field[] =
	"{\"name\": \"every-field\", \"version\": \"v3\", \"description\": \"d\",\n"
	" \"framework\": {\"id\": \"fw\", \"title\": \"F\", \"version\": \"1\", \"source\": \"s\"},\n"
	" \"controls\": [{\"id\": \"C1\", \"title\": \"t\", \"status\": \"enforced\"},\n"
	"  {\"id\": \"C2\", \"title\": \"u\", \"status\": \"advisory\", \"reason\": \"r\",\n"
	"   \"needs\": \"content.scan\", \"evidence\": false, \"refs\": [\"https://a\", \"https://b\"]}],\n"
	" \"rules\": [\n"
	"  {\"id\": \"x\", \"gate\": \"cmd.exec\", \"controls\": [\"C1\"], \"description\": \"e\",\n"
	"   \"match\": {\"basenames\": [\"nc\"], \"paths\": [\"/usr/bin/chisel\"], \"identities\": [\"/bin/sh\"],\n"
	"    \"sha256\": [\"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" "\"]}},\n"
	"  {\"id\": \"h\", \"gate\": \"cmd.exec\", \"controls\": [\"C1\"], \"match\": {\"disconnected\": true}},\n"
	"  {\"id\": \"n\", \"gate\": \"net.egress\", \"controls\": [\"C1\"],\n"
	"   \"match\": {\"cidrs\": [\"169.254.0.0/16\", \"fd00:ec2::254/128\"], \"ports\": [80, 443], \"protocol\": \"tcp\"}},\n"
	"  {\"id\": \"p\", \"gate\": \"net.egress\", \"controls\": [\"C1\"], \"match\": {\"programs\": [\"bash\"], \"ports\": [22]}},\n"
	"  {\"id\": \"s\", \"gate\": \"net.egress\", \"controls\": [\"C1\"], \"match\": {\"sockets\": [\"raw\", \"packet\"]}},\n"
	"  {\"id\": \"m\", \"gate\": \"kernel.module\", \"controls\": [\"C1\"], \"match\": {\"all\": true}},\n"
	"  {\"id\": \"k\", \"gate\": \"kernel.module\", \"controls\": [\"C1\"], \"match\": {\"kexec\": true}}],\n"
	" \"egress_allowlist\": {\"description\": \"w\", \"controls\": [\"C1\"], \"allow\": [\n"
	"   {\"domain\": \"*.example.org\", \"ports\": [443], \"protocol\": \"tcp\"},\n"
	"   {\"domain\": \"pypi.org\"}, {\"cidr\": \"10.0.2.3/32\", \"ports\": [53], \"protocol\": \"udp\"}]}}\n";

static const char trust_pack[] =
	"{\"name\": \"trust\", \"version\": \"v1\", \"framework\": {\"id\": \"fw\", \"title\": \"F\"},\n"
	" \"controls\": [{\"id\": \"C1\", \"title\": \"t\", \"status\": \"enforced\"}],\n"
	" \"rules\": [{\"id\": \"t\", \"gate\": \"cmd.exec\", \"controls\": [\"C1\"], \"match\": {\"trusted\": [\n"
	"  \"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" "\"]}}]}\n";

static void expect_dup_equal(const char *buf, size_t len, const char *origin)
{
	struct gg_pack *pack = NULL, *copy = NULL;
	struct gg_err err = {};
	char *want, *got;
	size_t bytes = 0;

	if (gg_pack_parse(buf, len, origin, &pack, &err))
		fail_msg("%s: %s", origin, err.msg);
	pack->ref = strdup("ref@v1");
	assert_int_equal(gg_pack_dup(pack, &copy, &bytes), 0);
	assert_true(bytes > sizeof(*pack));
	want = pack_text(pack);
	gg_pack_free(pack); /* the copy shares nothing with it */
	got = pack_text(copy);
	if (strcmp(want, got))
		fail_msg("%s: the copy differs:\n--- parsed\n%s--- copy\n%s", origin, want, got);
	free(want);
	free(got);
	gg_pack_free(copy);
}

static void dup__every_field(void **state)
{
	(void)state;
	expect_dup_equal(every_field, strlen(every_field), "every-field.json");
	expect_dup_equal(trust_pack, strlen(trust_pack), "trust.json");
}

/* The shipped packs (and the example policy) copy whole (run from the
 * repository root, as make unit-test does). */
static void dup__shipped_packs(void **state)
{
	glob_t g = {};
	size_t n = 0;

	(void)state;
	assert_int_equal(glob("packs/*.json", 0, NULL, &g), 0);
	assert_int_equal(glob("packs/examples/*.json", GLOB_APPEND, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char *buf = NULL;
		size_t len = 0;
		struct gg_err err;

		assert_int_equal(gg_read_file(g.gl_pathv[i], &buf, &len, &err), 0);
		expect_dup_equal(buf, len, g.gl_pathv[i]);
		free(buf);
		n++;
	}
	globfree(&g);
	assert_true(n >= 11); /* the floor, nine packs, the example */
}

static int cache_on(void **state)
{
	(void)state;
	gg_doc_cache_enable(true);
	return 0;
}

static int cache_off(void **state)
{
	(void)state;
	gg_doc_cache_enable(false);
	return 0;
}

static struct gg_pack *parse(const char *buf, const char *origin)
{
	struct gg_pack *pack = NULL;
	struct gg_err err = {};

	if (gg_pack_parse(buf, strlen(buf), origin, &pack, &err))
		fail_msg("%s: %s", origin, err.msg);
	return pack;
}

static size_t kept(void)
{
	size_t packs, bytes;

	gg_doc_cache_usage(&packs, &bytes);
	return packs;
}

static size_t kept_bytes(void)
{
	size_t packs, bytes;

	gg_doc_cache_usage(&packs, &bytes);
	return bytes;
}

/* A pack of n short basenames, each name prefixed by tag: about 40 bytes
 * of heap a name parsed (a string block and a pointer), 10 of text. */
static char *many_names(const char *tag, int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fprintf(f, "{\"name\": \"%s\", \"version\": \"v1\", \"framework\": {\"id\": \"fw\", "
		   "\"title\": \"F\"}, \"controls\": [{\"id\": \"C1\", \"title\": \"t\", "
		   "\"status\": \"enforced\"}], \"rules\": [{\"id\": \"r\", \"gate\": \"cmd.exec\", "
		   "\"controls\": [\"C1\"], \"match\": {\"basenames\": [", tag);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\"%s%05d\"", i ? ", " : "", tag, i);
	fprintf(f, "]}}]}\n");
	fclose(f);
	return buf;
}

/* The bound is on the heap the copies take, not on their documents'
 * bytes: five packs of 6,000 names (60 kB of text, about 250 kB of heap
 * each) do not all fit in GG_DOC_CACHE_BYTES; what is kept stays under
 * it, and the accounting matches what is kept. */
static void cache__bounded_by_memory(void **state)
{
	const char *const tags[] = { "a", "b", "c", "d", "e" };
	size_t total = 0;

	(void)state;
	for (int i = 0; i < 5; i++) {
		char *doc = many_names(tags[i], 6000);

		assert_true(strlen(doc) < GG_DOC_CACHE_DOC_MAX);
		gg_pack_free(parse(doc, tags[i]));
		free(doc);
		assert_true(kept_bytes() <= GG_DOC_CACHE_BYTES);
	}
	assert_true(kept() >= 2 && kept() < 5);
	/* one pack's share, from the count: 6,000 names take more than their text */
	total = kept_bytes();
	assert_true(total / kept() > 6000 * 32);
	gg_doc_cache_clear();
	assert_int_equal(kept(), 0);
	assert_int_equal(kept_bytes(), 0);
}

/* The second parse of the same bytes is the cache's copy, with the origin
 * of its own load; equal to what the first parse gave. */
static void cache__hit_is_the_parse(void **state)
{
	struct gg_pack *a, *b;
	char *ta, *tb;

	(void)state;
	a = parse(every_field, "first.json");
	assert_int_equal(kept(), 1);
	b = parse(every_field, "second.json");
	assert_int_equal(kept(), 1);
	assert_string_equal(b->origin, "second.json");
	free(b->origin);
	b->origin = strdup(a->origin);
	ta = pack_text(a);
	tb = pack_text(b);
	assert_string_equal(ta, tb);
	free(ta);
	free(tb);
	/* a copy: changing it leaves the next hit as parsed */
	free(b->rules[0].basenames[0]);
	b->rules[0].basenames[0] = strdup("changed");
	gg_pack_free(b);
	b = parse(every_field, "third.json");
	assert_string_equal(b->rules[0].basenames[0], "nc");
	gg_pack_free(a);
	gg_pack_free(b);
}

/* One byte changed is another document: parsed, and what it says is what
 * the pack holds (the cache never answers for other bytes). */
static void cache__other_bytes_parsed(void **state)
{
	char *changed = strdup(every_field);
	struct gg_pack *a, *b;

	(void)state;
	*strstr(changed, "\"nc\"") = '"';
	memcpy(strstr(changed, "\"nc\"") + 1, "ss", 2);
	a = parse(every_field, "a.json");
	b = parse(changed, "b.json");
	assert_string_equal(a->rules[0].basenames[0], "nc");
	assert_string_equal(b->rules[0].basenames[0], "ss");
	assert_string_not_equal(a->sha256, b->sha256);
	assert_int_equal(kept(), 2);
	gg_pack_free(a);
	gg_pack_free(b);
	free(changed);
}

/* A document that does not parse is refused every time, never kept. */
static void cache__errors_not_kept(void **state)
{
	const char *bad = "{\"name\": \"x\", \"version\": \"v1\"}";
	struct gg_pack *pack = NULL;
	struct gg_err err = {};

	(void)state;
	for (int i = 0; i < 2; i++) {
		assert_int_not_equal(gg_pack_parse(bad, strlen(bad), "bad.json", &pack, &err), 0);
		assert_null(pack);
		assert_non_null(strstr(err.msg, "bad.json"));
	}
	assert_int_equal(kept(), 0);
}

/* What neither the last apply nor the one before used is dropped. */
static void cache__dropped_when_unused(void **state)
{
	(void)state;
	gg_pack_free(parse(every_field, "a.json"));
	gg_doc_cache_applied(); /* the apply that used it */
	gg_pack_free(parse(trust_pack, "t.json"));
	gg_doc_cache_applied(); /* the next one, which did not */
	assert_int_equal(kept(), 2);
	gg_doc_cache_applied(); /* one more: the first pack is two applies old */
	assert_int_equal(kept(), 1);
	gg_doc_cache_applied();
	assert_int_equal(kept(), 0);
	assert_int_equal(kept_bytes(), 0); /* what was counted in is counted out */
}

/* Large documents (a CIDR list) are parsed each time, not kept. */
static void cache__large_not_kept(void **state)
{
	size_t n = GG_DOC_CACHE_DOC_MAX + 64, at;
	char *big = malloc(n + 1);

	(void)state;
	assert_non_null(big);
	at = (size_t)snprintf(big, n + 1, "%.*s", (int)(strlen(trust_pack) - 2), trust_pack);
	memset(big + at, ' ', n - at - 2);
	memcpy(big + n - 2, "}\n", 3);
	gg_pack_free(parse(big, "big.json"));
	assert_int_equal(kept(), 0);
	free(big);
}

/* Off (every process but the daemon), nothing is kept. */
static void cache__off_keeps_nothing(void **state)
{
	(void)state;
	gg_doc_cache_enable(false);
	gg_pack_free(parse(every_field, "a.json"));
	assert_int_equal(kept(), 0);
	assert_false(gg_doc_cache_enabled());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dup__every_field),
		cmocka_unit_test(dup__shipped_packs),
		cmocka_unit_test_setup_teardown(cache__hit_is_the_parse, cache_on, cache_off),
		cmocka_unit_test_setup_teardown(cache__other_bytes_parsed, cache_on, cache_off),
		cmocka_unit_test_setup_teardown(cache__errors_not_kept, cache_on, cache_off),
		cmocka_unit_test_setup_teardown(cache__dropped_when_unused, cache_on, cache_off),
		cmocka_unit_test_setup_teardown(cache__large_not_kept, cache_on, cache_off),
		cmocka_unit_test_setup_teardown(cache__bounded_by_memory, cache_on, cache_off),
		cmocka_unit_test(cache__off_keeps_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
