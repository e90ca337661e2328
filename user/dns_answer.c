// SPDX-License-Identifier: GPL-2.0
/*
 * DNS message handling for the forwarder: no hand-written parser, every
 * name and record is read by libresolv (glibc). ns_initparse walks the
 * whole message (every section, names included) and refuses one that is
 * short or has bytes behind its last record; ns_parserr expands a
 * record's owner name; ns_name_uncompress follows compression pointers
 * with loop detection.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <resolv.h>

#include "dns_answer.h"

#define HDR_LEN NS_HFIXEDSZ

static void lower(char *s)
{
	for (; *s; s++)
		*s = tolower((unsigned char)*s);
}

/*
 * A query is forwarded as it came: besides its question it may carry an
 * EDNS0 OPT record (RFC 6891: one at most, owned by the root) and nothing
 * else. Answer, authority or other additional records would go upstream
 * inside a query for an allowed name: a channel for data.
 */
static bool query_extras_ok(ns_msg *h)
{
	const char *owner;
	ns_rr rr;

	if (ns_msg_count(*h, ns_s_an) || ns_msg_count(*h, ns_s_ns) ||
	    ns_msg_count(*h, ns_s_ar) > 1)
		return false;
	if (!ns_msg_count(*h, ns_s_ar))
		return true;
	if (ns_parserr(h, ns_s_ar, 0, &rr) < 0 || ns_rr_type(rr) != ns_t_opt)
		return false;
	owner = ns_rr_name(rr); /* the root: "." (or "", as older glibc expands it) */
	return !strcmp(owner, ".") || !owner[0];
}

int gg_dns_query_parse(const __u8 *msg, size_t len, struct gg_dns_query *q)
{
	ns_msg h;
	ns_rr rr;
	size_t n;

	if (len > GG_DNS_MSG_MAX || ns_initparse(msg, len, &h) < 0)
		return -EINVAL;
	if (ns_msg_getflag(h, ns_f_qr) || ns_msg_getflag(h, ns_f_opcode) != ns_o_query ||
	    ns_msg_count(h, ns_s_qd) != 1 || !query_extras_ok(&h))
		return -EINVAL;
	if (ns_parserr(&h, ns_s_qd, 0, &rr) < 0)
		return -EINVAL;
	n = strlen(ns_rr_name(rr));
	if (n >= sizeof(q->name))
		return -EINVAL;
	memcpy(q->name, ns_rr_name(rr), n + 1);
	if (n > 1 && q->name[n - 1] == '.')
		q->name[n - 1] = '\0';
	lower(q->name);
	q->id = ns_msg_id(h);
	q->qtype = ns_rr_type(rr);
	q->qclass = ns_rr_class(rr);
	return 0;
}

/* The question of an answer is the one asked. */
static bool same_question(ns_msg *h, const struct gg_dns_query *q)
{
	ns_rr rr;

	if (ns_msg_count(*h, ns_s_qd) != 1 || ns_parserr(h, ns_s_qd, 0, &rr) < 0)
		return false;
	return ns_rr_type(rr) == q->qtype && ns_rr_class(rr) == q->qclass &&
	       !strcasecmp(ns_rr_name(rr), q->name);
}

/* The CNAMEs of an answer (the first GG_DNS_CNAMES_MAX). */
#define GG_DNS_CNAMES_MAX 64

struct cnames {
	struct {
		char owner[NS_MAXDNAME], target[NS_MAXDNAME];
		__u32 ttl;
	} c[GG_DNS_CNAMES_MAX];
	size_t n;
};

/* Every answer record well formed; the CNAMEs into cn. */
static int check_answers(ns_msg *h, int count, struct cnames *cn)
{
	ns_rr rr;

	for (int i = 0; i < count; i++) {
		char target[NS_MAXDNAME];

		if (ns_parserr(h, ns_s_an, i, &rr) < 0)
			return -EINVAL;
		if (ns_rr_class(rr) != ns_c_in)
			continue;
		switch ((int)ns_rr_type(rr)) {
		case ns_t_a:
			if (ns_rr_rdlen(rr) != 4)
				return -EINVAL;
			break;
		case ns_t_aaaa:
			if (ns_rr_rdlen(rr) != 16)
				return -EINVAL;
			break;
		case ns_t_cname:
			if (ns_name_uncompress(ns_msg_base(*h), ns_msg_end(*h), ns_rr_rdata(rr),
					       target, sizeof(target)) != ns_rr_rdlen(rr))
				return -EINVAL;
			if (cn->n == GG_DNS_CNAMES_MAX)
				break;
			strcpy(cn->c[cn->n].owner, ns_rr_name(rr));
			strcpy(cn->c[cn->n].target, target);
			cn->c[cn->n++].ttl = ns_rr_ttl(rr);
			break;
		}
	}
	return 0;
}

static bool in_chain(const char **chain, size_t n, const char *name)
{
	for (size_t k = 0; k < n; k++)
		if (!strcasecmp(name, chain[k]))
			return true;
	return false;
}

/* chain[0] is the question's name; each CNAME owned by a name of the
 * chain adds its target, until none does. Returns the chain's length and
 * its lowest CNAME TTL in *ttl. */
static size_t follow_chain(const struct cnames *cn, const char **chain, __u32 *ttl)
{
	size_t n = 1;
	bool grew = true;

	*ttl = UINT32_MAX;
	while (grew && n <= GG_DNS_CHAIN_MAX) {
		grew = false;
		for (size_t i = 0; i < cn->n && n <= GG_DNS_CHAIN_MAX; i++) {
			if (!in_chain(chain, n, cn->c[i].owner) || in_chain(chain, n, cn->c[i].target))
				continue;
			chain[n++] = cn->c[i].target;
			if (cn->c[i].ttl < *ttl)
				*ttl = cn->c[i].ttl;
			grew = true;
		}
	}
	return n;
}

static void add_addrs(ns_msg *h, int count, const char **chain, size_t n, __u32 ttl,
		      struct gg_dns_answer *a)
{
	ns_rr rr;

	for (int i = 0; i < count; i++) {
		struct gg_dns_addr *x;

		if (ns_parserr(h, ns_s_an, i, &rr) < 0 || ns_rr_class(rr) != ns_c_in ||
		    (ns_rr_type(rr) != ns_t_a && ns_rr_type(rr) != ns_t_aaaa) ||
		    !in_chain(chain, n, ns_rr_name(rr)))
			continue;
		if (a->n_addrs == GG_DNS_ADDRS_MAX) {
			a->addrs_cut = true;
			return;
		}
		x = &a->addrs[a->n_addrs++];
		memset(x, 0, sizeof(*x));
		x->family = ns_rr_type(rr) == ns_t_a ? 4 : 6;
		memcpy(x->addr, ns_rr_rdata(rr), x->family == 4 ? 4 : 16);
		x->ttl = ns_rr_ttl(rr) < ttl ? ns_rr_ttl(rr) : ttl;
	}
}

int gg_dns_answer_parse(const __u8 *msg, size_t len, const struct gg_dns_query *q,
			struct gg_dns_answer *a)
{
	const char *chain[GG_DNS_CHAIN_MAX + 1];
	struct cnames *cn;
	__u32 ttl;
	ns_msg h;
	int count, ret;

	/* not the address array: 3 KB to clear per answer, written as used */
	a->rcode = 0;
	a->tc = a->addrs_cut = false;
	a->n_names = a->n_addrs = 0;
	if (len > GG_DNS_MSG_MAX || ns_initparse(msg, len, &h) < 0)
		return -EINVAL;
	if (!ns_msg_getflag(h, ns_f_qr) || ns_msg_id(h) != q->id || !same_question(&h, q))
		return -EINVAL;
	a->rcode = ns_msg_getflag(h, ns_f_rcode);
	a->tc = ns_msg_getflag(h, ns_f_tc);
	count = ns_msg_count(h, ns_s_an);
	if (!count)
		return 0;
	cn = malloc(sizeof(*cn)); /* 128 KB: not cleared, filled from c[0] */
	if (!cn)
		return -ENOMEM;
	cn->n = 0;
	ret = check_answers(&h, count, cn);
	if (ret || a->tc || a->rcode != ns_r_noerror)
		goto cleanup; /* a truncated answer teaches nothing */
	chain[0] = q->name;
	a->n_names = follow_chain(cn, chain, &ttl);
	add_addrs(&h, count, chain, a->n_names, ttl, a);
cleanup:
	free(cn);
	return ret;
}

int gg_dns_reply_rcode(const __u8 *query, size_t qlen, int rcode, __u8 *out, size_t size)
{
	struct gg_dns_query q;
	int n;

	/* the question written afresh from its parsed form: copied, a name
	 * compressed against the query's header would point at other bytes */
	if (gg_dns_query_parse(query, qlen, &q) || size < HDR_LEN + 4)
		return -EINVAL;
	n = dn_comp(q.name, out + HDR_LEN, size - HDR_LEN - 4, NULL, NULL);
	if (n < 0)
		return -EINVAL;
	memcpy(out, query, 4); /* id, flags */
	out[2] = 0x80 | (query[2] & 0x79); /* QR, the opcode and RD as asked */
	out[3] = 0x80 | (rcode & 0xf); /* RA */
	out[4] = 0;
	out[5] = 1; /* one question */
	memset(out + 6, 0, 6); /* no records */
	out[HDR_LEN + n] = q.qtype >> 8;
	out[HDR_LEN + n + 1] = q.qtype & 0xff;
	out[HDR_LEN + n + 2] = q.qclass >> 8;
	out[HDR_LEN + n + 3] = q.qclass & 0xff;
	return HDR_LEN + n + 4;
}
