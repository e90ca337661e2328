/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The DNS forwarder (docs/architecture.md, "The DNS forwarder"): governed
 * tasks' DNS reaches it transparently (bpf/egress.bpf.c rewrites port-53
 * destinations); a name on every applied allowlist is forwarded to the
 * upstream resolver and the addresses of its answer are written to
 * egress_learned before the answer is delivered; any other name is
 * refused (REFUSED) and recorded (dns_denied).
 */
#ifndef GG_DNS_H
#define GG_DNS_H

#include <stdbool.h>
#include <jansson.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/types.h>

#include "compile.h"
#include "govgate_abi.h"
#include "config.h"
#include "dns_answer.h"

/* What to learn for a name: one row per (port, proto) of its matching
 * domain entries. */
#define GG_DNS_RULES_MAX 32

struct gg_dns_rule {
	__u16 port; /* 0: any */
	__u8 proto; /* 0: any */
	__u32 lists;
};

/* What the applied allowlists say of a name. */
struct gg_dns_verdict {
	__u32 lists; /* the applied lists */
	__u32 matched; /* lists with a domain entry that matches the name */
	__u32 missing; /* applied and not matched */
	__u32 deny; /* missing, in deny mode: the query is refused */
	struct gg_dns_rule rules[GG_DNS_RULES_MAX];
	size_t n_rules;
	bool rules_cut; /* more rows than GG_DNS_RULES_MAX: the rest not learned */
};

/* c: the policy in force (NULL or none applied: nothing to match). A name
 * must be on every applied list, as an address must (an allowlist with
 * CIDR entries only holds no name; nor does any list hold a name with an
 * escaped byte, \. \\ \DDD, in a label). */
void gg_dns_match(const struct gg_compiled *c, const char *name, struct gg_dns_verdict *v);
/* The egress_learned key forms (GG_LEARNED_*) that gg_dns_match's rules
 * make for c's domain entries: the only ones the kernel looks up. */
__u32 gg_dns_learned_kinds(const struct gg_compiled *c);

/* The dns_denied record of a query (docs/audit.md): the name, its type,
 * the client, and the lists' packs and controls, as an egress_blocked
 * record names them. */
json_t *gg_dns_denied_record(const struct gg_compiled *c, __u64 generation,
			     const struct gg_dns_query *q, const struct gg_dns_verdict *v,
			     const char *client, const char *transport);

/*
 * What the forwarder last wrote to egress_learned, per key (a slot per
 * hash, overwritten): an answer repeated while its row still covers it
 * costs no map syscall. A row is written GG_DNS_GRACE_NS(ttl) past its
 * TTL, so that repeats within that grace need no write and the row never
 * expires before the TTL the client was given.
 */
#define GG_DNS_LCACHE 4096
#define GG_DNS_GRACE_MAX_NS 5000000000ULL
#define GG_DNS_GRACE_NS(ttl_s) ((ttl_s) * 125000000ULL < GG_DNS_GRACE_MAX_NS ? \
				(ttl_s) * 125000000ULL : GG_DNS_GRACE_MAX_NS) /* ttl / 8 */

struct gg_dns_lcache {
	struct {
		struct gg_learned_key k;
		__u32 lists;
		__u64 expires_ns; /* 0: empty */
	} slot[GG_DNS_LCACHE];
	size_t noted; /* notes since the last clear: none, no clear to make */
};

/* The row of k written with lists (at least) and expiring at until (at
 * least): nothing to write. */
bool gg_dns_lcache_covers(const struct gg_dns_lcache *lc, const struct gg_learned_key *k,
			  __u32 lists, __u64 until);
void gg_dns_lcache_note(struct gg_dns_lcache *lc, const struct gg_learned_key *k, __u32 lists,
			__u64 expires_ns);

/* Writes egress_learned rows for the answer's addresses, expiring after
 * their TTL clamped to [ttl_min, ttl_max] (CLOCK_BOOTTIME) plus the grace
 * above, merged with an unexpired row of the same key; none where lc says
 * the row already covers the TTL. The rows written, or a negative errno. */
int gg_dns_learn(int map_fd, struct gg_dns_lcache *lc, const struct gg_dns_answer *a,
		 const struct gg_dns_verdict *v, unsigned ttl_min, unsigned ttl_max);

/* Deletes expired rows (all rows with all, and lc's slots); the count
 * deleted. */
int gg_dns_sweep(int map_fd, struct gg_dns_lcache *lc, bool all);

/*
 * dns_denied records are limited to GG_DNS_RECORDS_PER_SEC a second (as the
 * control socket's refusals are): a flood of refused names must not flood
 * the audit log nor spend the loop on records. The rest are counted, and
 * the count is written once their second is over, as an events_lost
 * record of reason "rate_limited" (docs/audit.md).
 */
#define GG_DNS_RECORDS_PER_SEC 20

struct gg_dns_limit {
	time_t sec;
	unsigned in_sec;
	unsigned long long suppressed; /* in sec */
	unsigned long long due; /* in the seconds before */
};

/* A record may be written now (true), or is counted (false). */
bool gg_dns_limit_take(struct gg_dns_limit *l, time_t now);

/* The count suppressed in seconds before now, to record (then reset). */
unsigned long long gg_dns_limit_due(struct gg_dns_limit *l, time_t now);

/* "A.B.C.D[:port]", "[v6][:port]" or "v6": 0 or -EINVAL. */
int gg_dns_addr_parse(const char *s, int default_port, struct sockaddr_storage *ss,
		      socklen_t *len);

/* The daemon's side: the policy in force and its generation, and where
 * the forwarder's records go. */
struct gg_dns_hooks {
	void *ctx;
	const struct gg_compiled *(*policy)(void *ctx, __u64 *generation);
	void (*record)(void *ctx, json_t *rec);
};

struct gg_dns;

/* Opens the forwarder of cfg (dns.listen "off": none, *out NULL): its
 * sockets, egress_learned and dns_redirect under cfg->pin_dir, which it
 * fills. extra_fd (the ring buffer's epoll fd) is waited on with them. */
int gg_dns_open(const struct gg_config *cfg, const struct gg_dns_hooks *hooks, int extra_fd,
		struct gg_dns **out, struct gg_err *err);

/* Waits up to timeout_ms and serves what is ready. 1 when extra_fd is
 * readable, 0 if not, or a negative errno. */
int gg_dns_wait(struct gg_dns *dns, int timeout_ms);

/* An fd that polls readable when gg_dns_wait has something to serve (its
 * epoll set): for a caller that waits on more than the forwarder. */
int gg_dns_fd(const struct gg_dns *dns);

/* The upstream the forwarder of cfg asks (dns.upstream, else the first
 * nameserver of /etc/resolv.conf) into ss/len and, as written, name. */
int gg_dns_upstream(const struct gg_config *cfg, struct sockaddr_storage *ss, socklen_t *len,
		    char *name, size_t name_len, struct gg_err *err);

/* Once a second: queries unanswered in time get SERVFAIL, idle TCP
 * clients are closed, expired learned rows are deleted (every 10 s), and
 * a policy whose lists changed clears the learned rows. */
void gg_dns_tick(struct gg_dns *dns);

/* The names whose answers, as the forwarder saw them, gave addr (family
 * 4: addr[0..3]): most recent first, at most max; learned or not. For the
 * record of a denied destination. */
size_t gg_dns_names_of(const struct gg_dns *dns, int family, const __u8 *addr,
		       const char **names, size_t max);

/* The policy in force may have changed (an apply): learned rows of other
 * lists are cleared now, not at the next tick. */
void gg_dns_sync(struct gg_dns *dns);

void gg_dns_close(struct gg_dns *dns);

#endif
