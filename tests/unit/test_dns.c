// SPDX-License-Identifier: GPL-2.0
/*
 * The DNS forwarder's user-space parts (user/dns_answer.c,
 * user/dns_policy.c, the dns keys of user/config.c): names against the
 * lists, answers (CNAME chains, malformed, truncated, not ours), the
 * replies it makes, addresses. No kernel needed.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <resolv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "dns.h"

/* Two lists: 0 "*.allowed.test" on 443/tcp (enforce), 1 "api.allowed.test"
 * (any port; enforce, or observe). */
static void two_lists(struct gg_compiled *c, struct gg_c_allow_list *l,
		      struct gg_c_allow_domain *d, __u16 *port, enum gg_action second)
{
	memset(c, 0, sizeof(*c));
	l[0] = (struct gg_c_allow_list){ "a@v1", { .entry = 1, .action = GG_ACT_DENY } };
	l[1] = (struct gg_c_allow_list){ "b@v1", { .entry = 2, .action = second } };
	*port = 443;
	d[0] = (struct gg_c_allow_domain){ "*.allowed.test", 0, port, 1, IPPROTO_TCP };
	d[1] = (struct gg_c_allow_domain){ "api.allowed.test", 1, NULL, 0, 0 };
	c->allow_lists = l;
	c->n_allow_lists = 2;
	c->allow_domains = d;
	c->n_allow_domains = 2;
}

/* The key forms the kernel looks up are exactly those gg_dns_match's rules
 * make (a form missing here would never be found). */
static void test_learned_kinds(void **state)
{
	struct gg_c_allow_list l[2];
	struct gg_c_allow_domain d[2];
	struct gg_compiled c;
	__u16 port;

	(void)state;
	two_lists(&c, l, d, &port, GG_ACT_DENY);
	assert_int_equal(gg_dns_learned_kinds(&c), GG_LEARNED_PORT_PROTO | GG_LEARNED_ANY);
	d[0].proto = 0; /* 443, any protocol */
	d[1].proto = IPPROTO_UDP; /* any port, UDP */
	assert_int_equal(gg_dns_learned_kinds(&c), GG_LEARNED_PORT | GG_LEARNED_PROTO);
	c.n_allow_domains = 0; /* CIDR entries only: nothing is learned */
	assert_int_equal(gg_dns_learned_kinds(&c), 0);
	assert_int_equal(gg_dns_learned_kinds(NULL), 0);
}

/* The learned-row form of a rule gg_dns_match makes (the key it is
 * written under), as the kernel's lookup in gg_allow_learned names them. */
static __u32 rule_form(const struct gg_dns_rule *r)
{
	if (r->port)
		return r->proto ? GG_LEARNED_PORT_PROTO : GG_LEARNED_PORT;
	return r->proto ? GG_LEARNED_PROTO : GG_LEARNED_ANY;
}

/* Cross-check of the two walks over the domain entries: for random
 * allowlists and names, every rule gg_dns_match makes has a form that
 * gg_dns_learned_kinds says the kernel looks up (a form missing there
 * would make that learned row unreachable: an allowed name denied). */
static void test_learned_kinds_cover_rules(void **state)
{
	static const char *const patterns[] = { "*.a.test", "a.test", "b.a.test", "*.b.a.test",
						"c.test" };
	static const char *const names[] = { "a.test", "b.a.test", "x.b.a.test", "c.test",
					     "d.test" };
	static __u16 ports[8][3];
	struct gg_c_allow_list l[3] = {
		{ "a@v1", { 1, GG_ACT_DENY } },
		{ "b@v1", { 2, GG_ACT_OBSERVE } },
		{ "c@v1", { 3, GG_ACT_DENY } },
	};
	struct gg_c_allow_domain d[8];
	struct gg_dns_verdict v;
	struct gg_compiled c;
	unsigned int seed = 12;
	size_t checked = 0;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		memset(&c, 0, sizeof(c));
		c.allow_lists = l;
		c.n_allow_lists = 1 + rand_r(&seed) % 3;
		c.allow_domains = d;
		c.n_allow_domains = 1 + rand_r(&seed) % 8;
		for (size_t i = 0; i < c.n_allow_domains; i++) {
			static const int protos[] = { 0, IPPROTO_TCP, IPPROTO_UDP };

			d[i].pattern = (char *)patterns[rand_r(&seed) % 5];
			d[i].list = rand_r(&seed) % c.n_allow_lists;
			d[i].n_ports = rand_r(&seed) % 4;
			for (size_t k = 0; k < d[i].n_ports; k++)
				ports[i][k] = 1 + rand_r(&seed) % 3;
			d[i].ports = d[i].n_ports ? ports[i] : NULL;
			d[i].proto = protos[rand_r(&seed) % 3];
		}
		for (size_t n = 0; n < 5; n++) {
			__u32 kinds = gg_dns_learned_kinds(&c);

			gg_dns_match(&c, names[n], &v);
			for (size_t r = 0; r < v.n_rules; r++, checked++)
				if (!(rule_form(&v.rules[r]) & kinds))
					fail_msg("round %d, %s: rule (%u, %u) of form %#x, kinds %#x", round,
						 names[n], v.rules[r].port, v.rules[r].proto,
						 rule_form(&v.rules[r]), kinds);
		}
	}
	assert_true(checked > 1000); /* the names did match */
}

static void test_match(void **state)
{
	struct gg_c_allow_list l[2];
	struct gg_c_allow_domain d[2];
	struct gg_dns_verdict v;
	struct gg_compiled c;
	__u16 port;

	two_lists(&c, l, d, &port, GG_ACT_DENY);
	gg_dns_match(&c, "api.allowed.test", &v);
	assert_int_equal(v.lists, 3);
	assert_int_equal(v.matched, 3);
	assert_int_equal(v.missing | v.deny, 0);
	assert_int_equal(v.n_rules, 2);
	assert_true(v.rules[0].port == 443 && v.rules[0].proto == IPPROTO_TCP && v.rules[0].lists == 1);
	assert_true(v.rules[1].port == 0 && v.rules[1].proto == 0 && v.rules[1].lists == 2);
	/* on one list only: refused, by the other */
	gg_dns_match(&c, "www.allowed.test", &v);
	assert_int_equal(v.matched, 1);
	assert_int_equal(v.deny, 2);
	/* the wildcard is not the apex */
	gg_dns_match(&c, "allowed.test", &v);
	assert_int_equal(v.matched, 0);
	assert_int_equal(v.deny, 3);
	/* missing from an observe list only: forwarded */
	two_lists(&c, l, d, &port, GG_ACT_OBSERVE);
	gg_dns_match(&c, "www.allowed.test", &v);
	assert_int_equal(v.missing, 2);
	assert_int_equal(v.deny, 0);
	/* no policy, or no list: nothing to match, nothing refused */
	gg_dns_match(NULL, "x.test", &v);
	assert_int_equal(v.lists | v.deny | v.n_rules, 0);
}

/* A label holding a dot, a backslash or another byte is escaped in the
 * presentation form libresolv gives ("www\.allowed" is one label under
 * "test"): no entry holds such a name, wildcard or exact. */
static void test_match_escaped(void **state)
{
	static const char *const names[] = { "www\\.allowed.test", "api\\.allowed.test",
					     "x\\\\.allowed.test", "api\\000.allowed.test" };
	struct gg_c_allow_list l[2];
	struct gg_c_allow_domain d[2];
	struct gg_dns_query q;
	struct gg_dns_verdict v;
	struct gg_compiled c;
	__u8 msg[512];
	__u16 port;
	int len;

	two_lists(&c, l, d, &port, GG_ACT_DENY);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		/* the name as the forwarder reads it from the wire */
		len = res_mkquery(ns_o_query, names[i], ns_c_in, ns_t_a, NULL, 0, NULL, msg,
				  sizeof(msg));
		assert_true(len > 0);
		assert_int_equal(gg_dns_query_parse(msg, len, &q), 0);
		assert_string_equal(q.name, names[i]);
		gg_dns_match(&c, q.name, &v);
		if (v.matched || v.n_rules || v.deny != 3)
			fail_msg("%s: matched %#x, deny %#x, %zu rules", q.name, v.matched, v.deny,
				 v.n_rules);
	}
	/* both lists in observe mode: forwarded (and recorded), nothing learned */
	two_lists(&c, l, d, &port, GG_ACT_OBSERVE);
	l[0].v.action = GG_ACT_OBSERVE;
	gg_dns_match(&c, "www\\.allowed.test", &v);
	assert_int_equal(v.missing, 3);
	assert_int_equal(v.deny, 0);
	assert_int_equal(v.n_rules, 0);
}

/* The record a query may carry besides its question: one EDNS0 OPT, owned
 * by the root. Answer, authority or other additional records (data for
 * the upstream inside a query for an allowed name) make it no query: it
 * is dropped, as a malformed one (no reply can be made of it either). */
static void test_query_records(void **state)
{
	static const __u8 txt[] = { 0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 0, 0, 7,
				    6, 's', 'e', 'c', 'r', 'e', 't' };
	static const __u8 opt[] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 12,
				    0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 }; /* a cookie */
	static const __u8 opt_named[] = { 0xc0, 0x0c, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0 };
	static const struct {
		const __u8 *rr[2];
		size_t len[2];
		int sect[2]; /* the header's count: 6 an, 8 ns, 10 ar */
		int ret;
	} cases[] = {
		{ { NULL }, { 0 }, { 0 }, 0 },
		{ { opt }, { sizeof(opt) }, { 10 }, 0 },
		{ { txt }, { sizeof(txt) }, { 6 }, -EINVAL },
		{ { txt }, { sizeof(txt) }, { 8 }, -EINVAL },
		{ { txt }, { sizeof(txt) }, { 10 }, -EINVAL },
		{ { opt, txt }, { sizeof(opt), sizeof(txt) }, { 10, 10 }, -EINVAL },
		{ { opt, opt }, { sizeof(opt), sizeof(opt) }, { 10, 10 }, -EINVAL },
		{ { txt, opt }, { sizeof(txt), sizeof(opt) }, { 6, 10 }, -EINVAL },
		{ { opt_named }, { sizeof(opt_named) }, { 10 }, -EINVAL },
	};
	struct gg_dns_query q;
	__u8 msg[512], r[512];
	int len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = res_mkquery(ns_o_query, "api.allowed.test", ns_c_in, ns_t_a, NULL, 0, NULL,
				  msg, sizeof(msg));
		assert_true(len > 0);
		for (int k = 0; k < 2 && cases[i].rr[k]; k++) {
			memcpy(msg + len, cases[i].rr[k], cases[i].len[k]);
			len += cases[i].len[k];
			msg[cases[i].sect[k] + 1]++;
		}
		if (gg_dns_query_parse(msg, len, &q) != cases[i].ret)
			fail_msg("case %zu: %s", i, cases[i].ret ? "accepted" : "refused");
		if ((gg_dns_reply_rcode(msg, len, ns_r_refused, r, sizeof(r)) > 0) != !cases[i].ret)
			fail_msg("case %zu: a reply made of it, or none", i);
	}
}

/* An answer to "api.allowed.test" A, id 0x1234, with the records in
 * `rrs` (count n), the question at offset 12 (a pointer 0xc00c names it). */
static size_t answer(__u8 *out, const __u8 *rrs, size_t len, int n, int flags3)
{
	static const __u8 qd[] = { 3, 'a', 'p', 'i', 7, 'a', 'l', 'l', 'o', 'w', 'e', 'd',
				   4, 't', 'e', 's', 't', 0, 0, 1, 0, 1 };
	__u8 hdr[12] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, n, 0, 0, 0, 0 };

	hdr[2] |= flags3;
	memcpy(out, hdr, 12);
	memcpy(out + 12, qd, sizeof(qd));
	memcpy(out + 12 + sizeof(qd), rrs, len);
	return 12 + sizeof(qd) + len;
}

static const struct gg_dns_query api_q = { 0x1234, ns_t_a, ns_c_in, "api.allowed.test" };

#define A_RR(owner_hi, owner_lo, ttl, a, b, c, d) \
	owner_hi, owner_lo, 0, 1, 0, 1, 0, 0, (ttl) >> 8, (ttl) & 255, 0, 4, a, b, c, d

static void test_answer_chain(void **state)
{
	/* api CNAME cdn.x (at offset 46), cdn.x A 10.0.0.2 (TTL 30), and an
	 * A of an unrelated name (offset 46 + 4: "x"): only the chain's */
	static const __u8 rrs[] = {
		0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0, 60, 0, 7, 3, 'c', 'd', 'n', 1, 'x', 0,
		A_RR(0xc0, 46, 30, 10, 0, 0, 2),
		A_RR(0xc0, 50, 300, 10, 0, 0, 9),
	};
	struct gg_dns_answer a;
	__u8 msg[512];
	size_t n = answer(msg, rrs, sizeof(rrs), 3, 0);

	assert_int_equal(gg_dns_answer_parse(msg, n, &api_q, &a), 0);
	assert_int_equal(a.n_names, 2);
	assert_int_equal(a.n_addrs, 1);
	assert_int_equal(a.addrs[0].family, 4);
	assert_memory_equal(a.addrs[0].addr, ((__u8[]){ 10, 0, 0, 2 }), 4);
	assert_int_equal(a.addrs[0].ttl, 30);
}

static void test_answer_refused(void **state)
{
	static const __u8 one[] = { A_RR(0xc0, 0x0c, 300, 10, 0, 0, 1) };
	/* a name that points at itself */
	static const __u8 loop[] = { A_RR(0xc0, 0x0c, 300, 10, 0, 0, 1), A_RR(0xc0, 50, 300, 10, 0, 0, 7) };
	struct gg_dns_query other = api_q;
	struct gg_dns_answer a;
	__u8 msg[512];
	size_t n;

	n = answer(msg, one, sizeof(one), 1, 0);
	assert_int_equal(gg_dns_answer_parse(msg, n, &api_q, &a), 0);
	assert_int_equal(a.n_addrs, 1);
	/* trailing bytes, a cut record, another id, another question */
	assert_int_equal(gg_dns_answer_parse(msg, n + 1, &api_q, &a), -EINVAL);
	assert_int_equal(gg_dns_answer_parse(msg, n - 1, &api_q, &a), -EINVAL);
	other.id = 0x4321;
	assert_int_equal(gg_dns_answer_parse(msg, n, &other, &a), -EINVAL);
	other = api_q;
	other.qtype = ns_t_aaaa;
	assert_int_equal(gg_dns_answer_parse(msg, n, &other, &a), -EINVAL);
	assert_int_equal(a.n_addrs, 0);
	/* truncated: nothing learned */
	n = answer(msg, one, sizeof(one), 1, 0x02);
	assert_int_equal(gg_dns_answer_parse(msg, n, &api_q, &a), 0);
	assert_true(a.tc);
	assert_int_equal(a.n_addrs, 0);
	/* a compression loop in the second record: nothing, not even the first */
	n = answer(msg, loop, sizeof(loop), 2, 0);
	assert_int_equal(gg_dns_answer_parse(msg, n, &api_q, &a), -EINVAL);
	assert_int_equal(a.n_addrs, 0);
}

static void test_reply_rcode(void **state)
{
	__u8 q[512], r[512];
	struct gg_dns_query back;
	int qlen, n;

	qlen = res_mkquery(ns_o_query, "Secret.Attacker.Test", ns_c_in, ns_t_txt, NULL, 0, NULL, q,
			   sizeof(q));
	assert_true(qlen > 0);
	n = gg_dns_reply_rcode(q, qlen, ns_r_refused, r, sizeof(r));
	assert_true(n > 12);
	assert_true(r[2] & 0x80); /* a response */
	assert_int_equal(r[3] & 0xf, ns_r_refused);
	r[2] &= ~0x80;
	assert_int_equal(gg_dns_query_parse(r, n, &back), 0);
	assert_string_equal(back.name, "secret.attacker.test");
	assert_int_equal(back.qtype, ns_t_txt);
	assert_int_equal(back.id, q[0] << 8 | q[1]);
	/* a response is not a query */
	r[2] |= 0x80;
	assert_int_equal(gg_dns_query_parse(r, n, &back), -EINVAL);
}

static void test_addr_parse(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	assert_int_equal(gg_dns_addr_parse("127.0.0.1:5300", 53, &ss, &len), 0);
	assert_true(in->sin_family == AF_INET && ntohs(in->sin_port) == 5300);
	assert_int_equal(gg_dns_addr_parse("10.0.2.3", 53, &ss, &len), 0);
	assert_int_equal(ntohs(in->sin_port), 53);
	assert_int_equal(gg_dns_addr_parse("[::1]:5353", 53, &ss, &len), 0);
	assert_true(in6->sin6_family == AF_INET6 && ntohs(in6->sin6_port) == 5353);
	assert_int_equal(gg_dns_addr_parse("fd00::53", 53, &ss, &len), 0);
	assert_int_equal(ntohs(in6->sin6_port), 53);
	assert_int_equal(gg_dns_addr_parse("1.2.3.4:0", 53, &ss, &len), -EINVAL);
	assert_int_equal(gg_dns_addr_parse("1.2.3.4:", 53, &ss, &len), -EINVAL);
	assert_int_equal(gg_dns_addr_parse("[::1", 53, &ss, &len), -EINVAL);
	assert_int_equal(gg_dns_addr_parse("[::1]x", 53, &ss, &len), -EINVAL);
	assert_int_equal(gg_dns_addr_parse("resolver:53", 53, &ss, &len), -EINVAL);
}

static int load(const char *text, struct gg_config *cfg, struct gg_err *err)
{
	char path[] = "/tmp/gg-test-dns-XXXXXX";
	int fd = mkstemp(path), ret;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ret = gg_config_load(path, cfg, err);
	unlink(path);
	return ret;
}

static void test_config(void **state)
{
	struct gg_config cfg;
	struct gg_err err;

	assert_int_equal(load("{}", &cfg, &err), 0);
	assert_string_equal(cfg.dns_listen, "127.0.0.1:5300");
	assert_null(cfg.dns_upstream);
	assert_true(cfg.dns_ttl_min == 5 && cfg.dns_ttl_max == 3600);
	gg_config_free(&cfg);
	assert_int_equal(load("{\"dns\": {\"listen\": \"off\", \"upstream\": \"10.0.2.3\", "
			      "\"ttl_min\": 1, \"ttl_max\": 60}}", &cfg, &err), 0);
	assert_string_equal(cfg.dns_listen, "off");
	assert_string_equal(cfg.dns_upstream, "10.0.2.3");
	assert_true(cfg.dns_ttl_min == 1 && cfg.dns_ttl_max == 60);
	gg_config_free(&cfg);
	assert_int_equal(load("{\"dns\": {\"ttl_min\": 61, \"ttl_max\": 60}}", &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "ttl_min"));
	gg_config_free(&cfg);
	assert_int_equal(load("{\"dns\": {\"port\": 53}}", &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown dns setting \"port\""));
	gg_config_free(&cfg);
}

/* The forwarder's record of its writes: a repeat covered by the row
 * written needs no map syscall; new lists, a later TTL end, another key
 * or a sweep of all rows do. */
static void test_lcache(void **state)
{
	static struct gg_dns_lcache lc;
	struct gg_learned_key k = { .addr = { 10, 0, 0, 1 }, .port = 443, .proto = 6,
				    .family = 4 }, k2 = k;
	__u64 t = 100ULL * 1000000000ULL;

	assert_false(gg_dns_lcache_covers(&lc, &k, 1, t));
	gg_dns_lcache_note(&lc, &k, 3, t + GG_DNS_GRACE_NS(300));
	assert_true(gg_dns_lcache_covers(&lc, &k, 1, t));
	assert_true(gg_dns_lcache_covers(&lc, &k, 3, t + GG_DNS_GRACE_NS(300)));
	assert_false(gg_dns_lcache_covers(&lc, &k, 4, t));
	assert_false(gg_dns_lcache_covers(&lc, &k, 1, t + GG_DNS_GRACE_NS(300) + 1));
	k2.port = 80;
	assert_false(gg_dns_lcache_covers(&lc, &k2, 1, t));
	assert_false(gg_dns_lcache_covers(NULL, &k, 1, t));
	/* the grace: an eighth of the TTL, at most 5 s */
	assert_true(GG_DNS_GRACE_NS(8) == 1000000000ULL);
	assert_true(GG_DNS_GRACE_NS(3600) == GG_DNS_GRACE_MAX_NS);
	/* all rows cleared (the lists changed): written again */
	assert_int_equal(gg_dns_sweep(-1, &lc, true), 0);
	assert_false(gg_dns_lcache_covers(&lc, &k, 1, t));
}

/* dns_denied records: 20 a second, the rest counted and due once their
 * second is over, also under a flood that never stops. */
static void test_limit(void **state)
{
	struct gg_dns_limit l = {};
	int taken = 0;

	for (int i = 0; i < 30; i++)
		taken += gg_dns_limit_take(&l, 5);
	assert_int_equal(taken, GG_DNS_RECORDS_PER_SEC);
	assert_true(gg_dns_limit_due(&l, 5) == 0); /* its second is not over */
	assert_true(gg_dns_limit_take(&l, 6)); /* a new second: records again */
	assert_true(gg_dns_limit_due(&l, 6) == 10);
	assert_true(gg_dns_limit_due(&l, 6) == 0);
	for (int i = 0; i < 22; i++)
		gg_dns_limit_take(&l, 6);
	for (int i = 0; i < 25; i++)
		gg_dns_limit_take(&l, 7);
	/* the flood goes on in second 8: 7's count is due all the same */
	gg_dns_limit_take(&l, 8);
	assert_true(gg_dns_limit_due(&l, 8) == 3 + 5);
	assert_true(gg_dns_limit_due(&l, 9) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match), cmocka_unit_test(test_learned_kinds),
		cmocka_unit_test(test_learned_kinds_cover_rules),	      cmocka_unit_test(test_answer_chain),
		cmocka_unit_test(test_answer_refused), cmocka_unit_test(test_reply_rcode),
		cmocka_unit_test(test_addr_parse),     cmocka_unit_test(test_config),
		cmocka_unit_test(test_lcache),	      cmocka_unit_test(test_limit),
		cmocka_unit_test(test_match_escaped), cmocka_unit_test(test_query_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
