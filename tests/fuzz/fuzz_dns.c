// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the DNS forwarder's message handling
 * (user/dns_answer.c): the input is an upstream answer. The question it is
 * checked against is the input's own (its question section read as a
 * query: the deep paths), or, by the low bit of the input's last byte,
 * a fixed one (api.allowed.test A, id 0x1234). The input is also read as a
 * client query, and answered REFUSED. Whatever the input:
 *   - a query accepted carries no answer or authority record and at most
 *     one additional, an OPT: nothing else could be forwarded;
 *   - an answer that fails (malformed), is truncated (TC) or is not
 *     NOERROR yields no address: nothing could be learned from it;
 *   - every address yielded is the data of an A or AAAA record of the
 *     answer section, and every record of that section parses
 *     (ns_parserr, checked here again);
 *   - a REFUSED reply is a well-formed response with the query's
 *     question;
 *   - no crash, leak or undefined behaviour (ASan/UBSan), no hang.
 *
 *   make build/fuzz/fuzz_dns && ./build/fuzz/fuzz_dns tests/fuzz/corpus/dns
 */
#include <arpa/nameser.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_answer.h"

static bool addr_in_answer(const uint8_t *data, size_t size, const struct gg_dns_addr *x)
{
	ns_msg h;
	ns_rr rr;

	if (ns_initparse(data, size, &h) < 0)
		return false;
	for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
		int t = x->family == 4 ? ns_t_a : ns_t_aaaa;

		if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
			return false; /* a record that does not parse: malformed */
		if ((int)ns_rr_type(rr) == t && ns_rr_class(rr) == ns_c_in &&
		    !memcmp(ns_rr_rdata(rr), x->addr, x->family == 4 ? 4 : 16))
			return true;
	}
	return false;
}

/* An accepted query holds its question and at most an OPT record. */
static void check_query_records(const uint8_t *data, size_t size)
{
	ns_msg h;
	ns_rr rr;

	if (ns_initparse(data, size, &h) < 0 || ns_msg_count(h, ns_s_an) ||
	    ns_msg_count(h, ns_s_ns) || ns_msg_count(h, ns_s_ar) > 1)
		abort();
	if (ns_msg_count(h, ns_s_ar) &&
	    (ns_parserr(&h, ns_s_ar, 0, &rr) < 0 || ns_rr_type(rr) != ns_t_opt))
		abort();
}

static void check_refused(const uint8_t *data, size_t size)
{
	uint8_t out[NS_HFIXEDSZ + NS_MAXCDNAME + 4];
	struct gg_dns_query q, r;
	int n;

	if (gg_dns_query_parse(data, size, &q))
		return;
	check_query_records(data, size);
	n = gg_dns_reply_rcode(data, size, ns_r_refused, out, sizeof(out));
	if (n < 0)
		return; /* a question longer than a name can be */
	out[2] &= ~0x80; /* read back as a query: the same question */
	if (gg_dns_query_parse(out, n, &r) || strcmp(q.name, r.name) || q.qtype != r.qtype ||
	    q.id != r.id)
		abort();
}

/* The input's own question, as gg_dns_query_parse reads a query's (an
 * answer has records a query may not: read here with libresolv). */
static void own_question(const uint8_t *data, size_t size, struct gg_dns_query *q)
{
	ns_msg h;
	ns_rr rr;
	size_t n;

	q->name[0] = '\0';
	if (ns_initparse(data, size, &h) < 0 || ns_msg_count(h, ns_s_qd) != 1 ||
	    ns_parserr(&h, ns_s_qd, 0, &rr) < 0)
		return;
	n = strlen(ns_rr_name(rr));
	if (n >= sizeof(q->name))
		return;
	memcpy(q->name, ns_rr_name(rr), n + 1);
	if (n > 1 && q->name[n - 1] == '.')
		q->name[n - 1] = '\0';
	q->id = ns_msg_id(h);
	q->qtype = ns_rr_type(rr);
	q->qclass = ns_rr_class(rr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gg_dns_answer a;
	struct gg_dns_query q = { .id = 0x1234, .qtype = ns_t_a, .qclass = ns_c_in };
	int ret;

	if (size > GG_DNS_MSG_MAX)
		return 0;
	check_refused(data, size);
	strcpy(q.name, "api.allowed.test");
	if (size > NS_HFIXEDSZ && !(data[size - 1] & 1))
		own_question(data, size, &q);
	ret = gg_dns_answer_parse(data, size, &q, &a);
	if (a.n_addrs > GG_DNS_ADDRS_MAX)
		abort();
	if ((ret || a.tc || a.rcode != ns_r_noerror) && a.n_addrs)
		abort(); /* learned from what must teach nothing */
	for (size_t i = 0; i < a.n_addrs; i++)
		if (!addr_in_answer(data, size, &a.addrs[i]))
			abort();
	return 0;
}
