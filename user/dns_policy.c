// SPDX-License-Identifier: GPL-2.0
/*
 * The forwarder's policy side (user/dns.h): which applied allowlists hold
 * a name, the dns_denied record, and the learned rows it writes to the
 * kernel's egress_learned map.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "dns.h"
#include "allowlist.h"
#include "event.h"

static void add_rule(struct gg_dns_verdict *v, __u16 port, __u8 proto, __u32 bit)
{
	for (size_t i = 0; i < v->n_rules; i++)
		if (v->rules[i].port == port && v->rules[i].proto == proto) {
			v->rules[i].lists |= bit;
			return;
		}
	if (v->n_rules == GG_DNS_RULES_MAX) {
		v->rules_cut = true;
		return;
	}
	v->rules[v->n_rules++] = (struct gg_dns_rule){ port, proto, bit };
}

void gg_dns_match(const struct gg_compiled *c, const char *name, struct gg_dns_verdict *v)
{
	/* a name with an escaped byte (\., \\, \DDD) is on no list: "x\.d"
	 * is one label, never a subdomain of d (gg_domain_match refuses it
	 * too) */
	bool escaped = strchr(name, '\\');
	size_t n;

	memset(v, 0, sizeof(*v));
	if (!c || !c->n_allow_lists)
		return;
	n = c->n_allow_lists < GG_ALLOW_LISTS ? c->n_allow_lists : GG_ALLOW_LISTS;
	v->lists = n == 32 ? ~0U : (1U << n) - 1;
	for (size_t i = 0; !escaped && i < c->n_allow_domains; i++) {
		const struct gg_c_allow_domain *d = &c->allow_domains[i];
		bool wild = !strncmp(d->pattern, "*.", 2);
		__u32 bit;

		if (d->list >= n || !gg_domain_match(d->pattern + (wild ? 2 : 0), wild, name))
			continue;
		bit = 1U << d->list;
		v->matched |= bit;
		if (!d->n_ports)
			add_rule(v, 0, d->proto, bit);
		for (size_t k = 0; k < d->n_ports; k++)
			add_rule(v, d->ports[k], d->proto, bit);
	}
	v->missing = v->lists & ~v->matched;
	for (size_t i = 0; i < n; i++)
		if ((v->missing & (1U << i)) && c->allow_lists[i].v.action != GG_ACT_OBSERVE)
			v->deny |= 1U << i;
}

__u32 gg_dns_learned_kinds(const struct gg_compiled *c)
{
	__u32 kinds = 0;

	for (size_t i = 0; c && i < c->n_allow_domains; i++) {
		const struct gg_c_allow_domain *d = &c->allow_domains[i];

		if (d->n_ports)
			kinds |= d->proto ? GG_LEARNED_PORT_PROTO : GG_LEARNED_PORT;
		else
			kinds |= d->proto ? GG_LEARNED_PROTO : GG_LEARNED_ANY;
	}
	return kinds;
}

/* The attribution an egress_blocked record of the same lists has: the
 * record is built as one (gg_event_record), then made a dns_denied one. */
static const char *const net_keys[] = {
	"family", "daddr", "mapped_v4", "dport", "proto", "sock_type", "syscall", "hook",
	"pid", "ppid", "uid", "comm", "exe", "cgroup_id", NULL,
};

/* The mnemonic of common query types, else RFC 3597's TYPEnn. */
static void qtype_name(__u16 t, char *buf, size_t len)
{
	static const struct {
		__u16 t;
		const char *name;
	} names[] = { { 1, "A" },   { 2, "NS" },    { 5, "CNAME" }, { 6, "SOA" },
		      { 12, "PTR" }, { 15, "MX" },   { 16, "TXT" },  { 28, "AAAA" },
		      { 33, "SRV" }, { 64, "SVCB" }, { 65, "HTTPS" }, { 255, "ANY" } };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t) {
			snprintf(buf, len, "%s", names[i].name);
			return;
		}
	snprintf(buf, len, "TYPE%u", t);
}

json_t *gg_dns_denied_record(const struct gg_compiled *c, __u64 generation,
			     const struct gg_dns_query *q, const struct gg_dns_verdict *v,
			     const char *client, const char *transport)
{
	struct gg_event e = {};
	struct timespec ts;
	__u32 lists = v->deny ? v->deny : v->missing;
	char type[16];
	int hit = 4;
	json_t *rec;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	e.ts_boot_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	e.generation = generation;
	e.gate = GG_GATE_EGRESS;
	e.action = v->deny ? GG_ACT_DENY : GG_ACT_OBSERVE;
	e.flags = GG_EVF_NOT_ALLOWED;
	for (size_t i = 0; c && i < c->n_allow_lists && i < GG_ALLOW_LISTS; i++) {
		if (!(lists & (1U << i)))
			continue;
		e.entries[hit] = c->allow_lists[i].v.entry; /* the first and the last */
		hit = 5;
	}
	rec = gg_event_record(&e, c, gg_boot_to_real_ns());
	if (!rec)
		return NULL;
	for (int i = 0; net_keys[i]; i++)
		json_object_del(rec, net_keys[i]);
	qtype_name(q->qtype, type, sizeof(type));
	json_object_set_new(rec, "event", json_string("dns_denied"));
	json_object_set_new(rec, "mechanism", json_string("dns_forwarder"));
	json_object_set_new(rec, "name", json_string(q->name));
	json_object_set_new(rec, "qtype", json_string(type));
	json_object_set_new(rec, "client", json_string(client));
	json_object_set_new(rec, "transport", json_string(transport));
	return rec;
}

static __u64 boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static size_t lc_slot(const struct gg_learned_key *k)
{
	const __u8 *b = (const __u8 *)k;
	__u32 h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	return h % GG_DNS_LCACHE;
}

bool gg_dns_lcache_covers(const struct gg_dns_lcache *lc, const struct gg_learned_key *k,
			  __u32 lists, __u64 until)
{
	size_t i = lc_slot(k);

	if (!lc)
		return false;
	return lc->slot[i].expires_ns >= until && !memcmp(&lc->slot[i].k, k, sizeof(*k)) &&
	       (lc->slot[i].lists & lists) == lists;
}

void gg_dns_lcache_note(struct gg_dns_lcache *lc, const struct gg_learned_key *k, __u32 lists,
			__u64 expires_ns)
{
	size_t i = lc_slot(k);

	if (!lc)
		return;
	lc->slot[i].k = *k;
	lc->slot[i].lists = lists;
	lc->slot[i].expires_ns = expires_ns;
	lc->noted++;
}

/* A row until at least ttl_end, written to last until ttl_end + grace. */
static int learn_one(int fd, struct gg_dns_lcache *lc, const struct gg_dns_addr *x,
		     const struct gg_dns_rule *r, __u64 ttl_end, __u64 grace, __u64 now)
{
	struct gg_learned_key k = { .port = r->port, .proto = r->proto, .family = x->family };
	struct gg_learned_val val = { .expires_ns = ttl_end + grace, .lists = r->lists }, old;

	memcpy(k.addr, x->addr, x->family == 4 ? 4 : 16);
	if (gg_dns_lcache_covers(lc, &k, r->lists, ttl_end))
		return 0;
	/* another name (or list) learned it too: keep both until the later
	 * expiry */
	if (!bpf_map_lookup_elem(fd, &k, &old) && old.expires_ns > now) {
		val.lists |= old.lists;
		if (old.expires_ns > val.expires_ns)
			val.expires_ns = old.expires_ns;
	}
	if (bpf_map_update_elem(fd, &k, &val, BPF_ANY))
		return -errno;
	gg_dns_lcache_note(lc, &k, val.lists, val.expires_ns);
	return 1;
}

int gg_dns_learn(int fd, struct gg_dns_lcache *lc, const struct gg_dns_answer *a,
		 const struct gg_dns_verdict *v, unsigned ttl_min, unsigned ttl_max)
{
	__u64 now = boot_ns();
	int n = 0, ret;

	for (size_t i = 0; i < a->n_addrs; i++) {
		__u32 ttl = a->addrs[i].ttl;
		__u64 ttl_end;

		ttl = ttl < ttl_min ? ttl_min : ttl > ttl_max ? ttl_max : ttl;
		ttl_end = now + ttl * 1000000000ULL;
		for (size_t r = 0; r < v->n_rules; r++) {
			ret = learn_one(fd, lc, &a->addrs[i], &v->rules[r], ttl_end,
					GG_DNS_GRACE_NS(ttl), now);
			if (ret < 0)
				return ret;
			n += ret;
		}
	}
	return n;
}

int gg_dns_sweep(int fd, struct gg_dns_lcache *lc, bool all)
{
	struct gg_learned_key cur, *del = NULL, *p;
	struct gg_learned_val val;
	size_t n = 0, cap = 0;
	__u64 now = boot_ns();
	bool have = false;
	int ret = 0;

	/* collect, then delete: a hash walk that deletes behind itself can
	 * restart from the first bucket */
	while (!bpf_map_get_next_key(fd, have ? &cur : NULL, &cur)) {
		have = true;
		if (!all && (bpf_map_lookup_elem(fd, &cur, &val) || val.expires_ns > now))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			p = realloc(del, cap * sizeof(*del));
			if (!p)
				break;
			del = p;
		}
		del[n++] = cur;
	}
	/* only when written: clearing writes every page, and the daemon's
	 * memory is what it has written (docs/performance.md) */
	if (all && lc && lc->noted)
		memset(lc, 0, sizeof(*lc));
	for (size_t i = 0; i < n; i++)
		ret += !bpf_map_delete_elem(fd, &del[i]);
	free(del);
	return ret;
}

/* A new second: the last one's count is due. */
static void limit_roll(struct gg_dns_limit *l, time_t now)
{
	if (now == l->sec)
		return;
	l->due += l->suppressed;
	l->suppressed = 0;
	l->in_sec = 0;
	l->sec = now;
}

bool gg_dns_limit_take(struct gg_dns_limit *l, time_t now)
{
	limit_roll(l, now);
	if (l->in_sec >= GG_DNS_RECORDS_PER_SEC) {
		l->suppressed++;
		return false;
	}
	l->in_sec++;
	return true;
}

unsigned long long gg_dns_limit_due(struct gg_dns_limit *l, time_t now)
{
	unsigned long long n;

	limit_roll(l, now);
	n = l->due;
	l->due = 0;
	return n;
}

int gg_dns_addr_parse(const char *s, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 1], *end;
	const char *colon = NULL;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end)
			return -EINVAL;
		hl = end - s - 1;
		s++;
		colon = end[1] == ':' ? end + 1 : end[1] ? s : NULL; /* junk: fails below */
		if (colon == s)
			return -EINVAL;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
		hl = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (colon) {
		long v = strtol(colon + 1, &end, 10);

		if (!colon[1] || *end || v < 1 || v > 65535)
			return -EINVAL;
		port = v;
	}
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}
