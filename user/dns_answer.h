/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DNS messages for the forwarder (user/dns.c), parsed with glibc's
 * libresolv (ns_initparse, ns_parserr, ns_name_uncompress): the question
 * of a query, the addresses an answer gives for it (through its CNAME
 * chain), and the short replies the forwarder makes itself.
 */
#ifndef GG_DNS_ANSWER_H
#define GG_DNS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <arpa/nameser.h>

#define GG_DNS_MSG_MAX 65535
#define GG_DNS_ADDRS_MAX 128 /* addresses learned from one answer */
#define GG_DNS_CHAIN_MAX 16 /* CNAMEs followed from the question's name */

struct gg_dns_query {
	__u16 id;
	__u16 qtype, qclass;
	char name[NS_MAXDNAME]; /* presentation form, lower case, no trailing dot */
};

struct gg_dns_addr {
	__u8 family; /* 4 or 6 */
	__u8 addr[16];
	__u32 ttl; /* the lowest TTL on its way: the address's and the CNAMEs' */
};

struct gg_dns_answer {
	int rcode;
	bool tc; /* truncated: nothing is learned from it */
	size_t n_names; /* the question's name and the CNAME targets followed */
	struct gg_dns_addr addrs[GG_DNS_ADDRS_MAX];
	size_t n_addrs;
	bool addrs_cut; /* more addresses than GG_DNS_ADDRS_MAX */
};

/* A query: not a response, opcode QUERY, exactly one question, no answer
 * or authority records and at most an EDNS0 OPT record (owned by the
 * root) in the additional section: what may be forwarded as it came. 0 or
 * -EINVAL (the forwarder drops it, as any malformed query). */
int gg_dns_query_parse(const __u8 *msg, size_t len, struct gg_dns_query *q);

/*
 * An upstream's answer to q (its id already q->id): a response to that
 * question, every record of it well formed (the whole message, by
 * ns_initparse; every answer record, by ns_parserr; A and AAAA data of
 * their size; CNAME targets that uncompress to exactly their data). The
 * addresses of q's name and of the CNAMEs followed from it. -EINVAL for a
 * malformed answer: nothing of it may be learned or delivered.
 */
int gg_dns_answer_parse(const __u8 *msg, size_t len, const struct gg_dns_query *q,
			struct gg_dns_answer *a);

/* A reply to a query with rcode (ns_r_refused, ns_r_servfail) and its
 * question, no records. The length written, or -EINVAL. */
int gg_dns_reply_rcode(const __u8 *query, size_t qlen, int rcode, __u8 *out, size_t size);

#endif
