// SPDX-License-Identifier: GPL-2.0
/*
 * The DNS forwarder's sockets (user/dns.h). It runs in the daemon's loop,
 * never blocking: UDP and TCP listeners on the configured loopback
 * address (and on [::1], same port, for IPv6 sockets), one connected UDP
 * socket to the upstream resolver, and a table of the queries sent
 * upstream, keyed by the id the forwarder gave each (random, unique among
 * those pending). An answer is parsed (user/dns_answer.c), its addresses
 * written to egress_learned, and only then sent to the client.
 *
 * A TCP client's query goes to the upstream over TCP, on a connection of
 * its own (non-blocking, in the same epoll set; at most GG_DNS_UP_TCP at
 * once, each bounded by the query's deadline and the 64 KB a length
 * prefix allows). A UDP client's truncated answer (TC) teaches nothing:
 * the forwarder asks the upstream again over TCP, learns from that
 * answer, and then delivers the truncated one as it came (the client may
 * use its addresses, or ask again over TCP).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dns.h"
#include "gates.h"

#define GG_DNS_PENDING 1024
#define GG_DNS_CONNS 32
#define GG_DNS_QUERY_SECS 4 /* then SERVFAIL */
#define GG_DNS_IDLE_SECS 10 /* an idle TCP client is closed */
#define GG_DNS_SWEEP_SECS 10
/* Addresses seen in answers, with the names that gave them: a bounded
 * table (a slot per hash, overwritten), for the records of denials. */
#define GG_DNS_SEEN 4096
#define GG_DNS_SEEN_NAMES 2
#define GG_DNS_SEEN_NAME_MAX 256
/* Datagrams taken by one recvmmsg; the buffers are only virtual memory
 * until a message that long arrives. */
#define GG_DNS_BATCH 16
#define GG_DNS_IDS 256 /* random upstream ids drawn by one getrandom */
#define GG_DNS_UP_TCP 16 /* TCP connections to the upstream at once */

enum { K_UDP = 1, K_TCP, K_UP, K_CONN, K_EXTRA, K_UPTCP };
#define TAG(kind, i) ((__u32)(kind) << 16 | (i))

struct conn {
	int fd;
	__u8 *buf; /* length prefix + message */
	size_t have;
	bool waiting; /* its query is upstream */
	time_t deadline;
};

struct pending {
	bool used;
	__u16 up_id;
	struct gg_dns_query q; /* q.id: the client's */
	struct gg_dns_verdict v;
	__u64 gen; /* the policy v is of */
	int udp; /* listener to reply on, or -1 */
	int conn; /* TCP client, or -1 (gone) */
	struct sockaddr_storage peer;
	socklen_t plen;
	__u8 *query;
	size_t qlen;
	time_t deadline;
	int up_fd; /* TCP to the upstream (a TCP client's query), or -1 */
	bool sent; /* ... its query written */
	__u8 *tbuf; /* ... its answer so far: length prefix + message */
	size_t thave;
	__u8 *tc_msg; /* a UDP client's truncated answer, asked again over TCP */
	size_t tc_len;
};

struct seen {
	__u8 family;
	__u8 addr[16];
	char names[GG_DNS_SEEN_NAMES][GG_DNS_SEEN_NAME_MAX]; /* [0]: the latest */
};

struct gg_dns {
	struct seen *seen;
	__u8 *rbuf; /* GG_DNS_BATCH buffers of GG_DNS_MSG_MAX */
	struct gg_dns_lcache *lcache;
	__u16 by_id[65536]; /* upstream id: pending slot + 1, 0: none */
	__u16 free_slot[GG_DNS_PENDING];
	size_t n_free;
	/* 1 + the highest slot ever used: the loops over pending queries stop
	 * there (on some kernels reading a page makes it resident). Slots are
	 * taken from the top of the free stack, which starts at slot 0, so
	 * this is the most queries ever in flight at once. */
	int n_touched;
	__u16 ids[GG_DNS_IDS];
	size_t n_ids;
	int ep, udp[2], tcp[2], up, learned_fd;
	struct gg_dns_hooks hooks;
	unsigned ttl_min, ttl_max;
	char *lists_path; /* the lists the learned rows are for */
	char *redirect_pin_dir; /* dns_redirect written there: zeroed at close */
	char *lists_seen;
	__u64 gen_seen;
	time_t last_sweep;
	struct gg_dns_limit limit; /* of dns_denied records */
	struct sockaddr_storage up_ss; /* the upstream, for TCP */
	socklen_t up_len;
	int n_up_tcp;
	struct pending pend[GG_DNS_PENDING];
	struct conn conns[GG_DNS_CONNS];
	struct gg_dns_answer answer;
};

static time_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void peer_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(in6->sin6_port));
	}
}

static int ep_add(struct gg_dns *dns, int fd, __u32 tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(dns->ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* A TCP client is read only while none of its queries is upstream. */
static void conn_arm(struct gg_dns *dns, int i, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.u32 = TAG(K_CONN, i) };

	dns->conns[i].waiting = !on;
	epoll_ctl(dns->ep, EPOLL_CTL_MOD, dns->conns[i].fd, &ev);
}

/*
 * A non-blocking socket bound to ss. SO_REUSEADDR for the TCP listener
 * only (a restart binds past its TIME_WAIT connections): on a UDP socket it
 * would let any process bind the same address too and take the queries,
 * or answer them.
 */
static int bound_socket(const struct sockaddr_storage *ss, socklen_t len, int type)
{
	int fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) ||
	    (type == SOCK_STREAM && listen(fd, 64))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* The first nameserver of /etc/resolv.conf. */
static int resolv_conf_upstream(char *buf, size_t len)
{
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[512], addr[256];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " nameserver %255s", addr) == 1) {
			snprintf(buf, len, "%s", addr);
			ret = 0;
			break;
		}
	fclose(f);
	return ret;
}

static void conn_close(struct gg_dns *dns, int i);

/* Sends a reply to the pending query's client (UDP or TCP). */
static void deliver(struct gg_dns *dns, int udp, int conn, const struct sockaddr_storage *peer,
		    socklen_t plen, __u8 *msg, size_t len)
{
	struct conn *c;
	__u8 hdr[2] = { len >> 8, len & 0xff };
	struct iovec iov[2] = { { hdr, 2 }, { msg, len } };

	if (udp >= 0) {
		sendto(dns->udp[udp], msg, len, MSG_DONTWAIT, (const struct sockaddr *)peer, plen);
		return;
	}
	if (conn < 0)
		return; /* the client went away */
	c = &dns->conns[conn];
	/* a reply is small next to the socket buffer: a partial write means
	 * a client that does not read, and is dropped */
	if (writev(c->fd, iov, 2) != (ssize_t)(len + 2)) {
		conn_close(dns, conn);
		return;
	}
	conn_arm(dns, conn, true);
	c->have = 0;
	c->deadline = mono() + GG_DNS_IDLE_SECS;
}

static void reply_rcode(struct gg_dns *dns, int udp, int conn, const struct sockaddr_storage *peer,
			socklen_t plen, const __u8 *query, size_t qlen, int rcode)
{
	__u8 out[NS_HFIXEDSZ + NS_MAXCDNAME + 4];
	int n = gg_dns_reply_rcode(query, qlen, rcode, out, sizeof(out));

	if (n > 0)
		deliver(dns, udp, conn, peer, plen, out, n);
}

static void pending_free(struct gg_dns *dns, struct pending *p)
{
	if (p->conn >= 0 && dns->conns[p->conn].fd >= 0 && dns->conns[p->conn].waiting)
		conn_arm(dns, p->conn, true);
	free(p->query);
	p->query = NULL;
	if (p->up_fd >= 0) {
		close(p->up_fd);
		dns->n_up_tcp--;
	}
	free(p->tbuf);
	p->tbuf = NULL;
	free(p->tc_msg);
	p->tc_msg = NULL;
	p->used = false;
	dns->by_id[p->up_id] = 0;
	dns->free_slot[dns->n_free++] = p - dns->pend;
}

static struct pending *pending_find(struct gg_dns *dns, __u16 id)
{
	int slot = dns->by_id[id];

	return slot ? &dns->pend[slot - 1] : NULL;
}

/* A free slot and a random upstream id no pending query has (the ids are
 * drawn GG_DNS_IDS at a time: one syscall, not one per query). */
static struct pending *pending_new(struct gg_dns *dns)
{
	struct pending *p;
	__u16 id;

	if (!dns->n_free)
		return NULL;
	do {
		if (!dns->n_ids) {
			if (getrandom(dns->ids, sizeof(dns->ids), 0) != sizeof(dns->ids))
				return NULL;
			dns->n_ids = GG_DNS_IDS;
		}
		id = dns->ids[--dns->n_ids];
	} while (dns->by_id[id]);
	p = &dns->pend[dns->free_slot[--dns->n_free]];
	p->used = true;
	p->up_fd = -1;
	p->sent = false;
	p->thave = 0;
	p->tc_msg = NULL;
	p->up_id = id;
	dns->by_id[id] = p - dns->pend + 1;
	if (p - dns->pend >= dns->n_touched)
		dns->n_touched = p - dns->pend + 1;
	return p;
}

/* The dns_denied records past the limit, counted in one events_lost
 * record once their second is over. */
static void limit_flush(struct gg_dns *dns)
{
	unsigned long long n = gg_dns_limit_due(&dns->limit, mono());
	json_t *rec;

	if (!n)
		return;
	rec = json_pack("{s:s, s:s, s:s, s:I, s:s, s:i}", "event", "events_lost", "gate",
			"net.egress", "reason", "rate_limited", "count", (json_int_t)n, "records",
			"dns_denied", "per_sec", GG_DNS_RECORDS_PER_SEC);
	if (rec)
		dns->hooks.record(dns->hooks.ctx, rec);
	json_decref(rec);
	fprintf(stderr, "govgate: dns: %llu dns_denied records past %d a second: counted in "
			"an events_lost record\n", n, GG_DNS_RECORDS_PER_SEC);
}

static void record(struct gg_dns *dns, const struct gg_compiled *c, __u64 gen,
		   const struct gg_dns_query *q, const struct gg_dns_verdict *v,
		   const struct sockaddr_storage *peer, const char *transport)
{
	char client[INET6_ADDRSTRLEN + 16];
	json_t *rec;

	limit_flush(dns); /* the seconds before first */
	if (!gg_dns_limit_take(&dns->limit, mono()))
		return; /* counted: the query is still refused */
	peer_str(peer, client, sizeof(client));
	rec = gg_dns_denied_record(c, gen, q, v, client, transport);
	if (rec)
		dns->hooks.record(dns->hooks.ctx, rec);
	json_decref(rec);
}

static void lists_check(struct gg_dns *dns, const struct gg_compiled *c, __u64 gen);

static struct seen *seen_slot(const struct gg_dns *dns, int family, const __u8 *addr)
{
	__u32 h = 2166136261u; /* FNV-1a */

	for (int i = 0; i < (family == 4 ? 4 : 16); i++)
		h = (h ^ addr[i]) * 16777619u;
	return &dns->seen[(h ^ family) % GG_DNS_SEEN];
}

/* addr came in an answer for name: the name goes first in its slot. */
static void seen_add(struct gg_dns *dns, const struct gg_dns_addr *x, const char *name)
{
	struct seen *s = seen_slot(dns, x->family, x->addr);

	if (strlen(name) >= GG_DNS_SEEN_NAME_MAX)
		return;
	if (s->family != x->family || memcmp(s->addr, x->addr, 16)) {
		memset(s, 0, sizeof(*s));
		s->family = x->family;
		memcpy(s->addr, x->addr, 16);
	} else if (!strcmp(s->names[0], name)) {
		return;
	}
	memmove(s->names[1], s->names[0], (GG_DNS_SEEN_NAMES - 1) * GG_DNS_SEEN_NAME_MAX);
	strcpy(s->names[0], name);
}

size_t gg_dns_names_of(const struct gg_dns *dns, int family, const __u8 *addr,
		       const char **names, size_t max)
{
	const struct seen *s;
	__u8 a[16] = {};
	size_t n = 0;

	if (!dns)
		return 0;
	memcpy(a, addr, family == 4 ? 4 : 16);
	s = seen_slot(dns, family, a);
	if (s->family != family || memcmp(s->addr, a, 16))
		return 0;
	for (int i = 0; i < GG_DNS_SEEN_NAMES && n < max && s->names[i][0]; i++)
		names[n++] = s->names[i];
	return n;
}

/* A TCP connection to the upstream for p (a TCP client's query); the
 * query is written once it connects. */
static int up_tcp_start(struct gg_dns *dns, struct pending *p)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = TAG(K_UPTCP, p - dns->pend) };
	int fd, ret;

	if (dns->n_up_tcp >= GG_DNS_UP_TCP)
		return -EBUSY;
	fd = socket(dns->up_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((connect(fd, (struct sockaddr *)&dns->up_ss, dns->up_len) && errno != EINPROGRESS) ||
	    epoll_ctl(dns->ep, EPOLL_CTL_ADD, fd, &ev)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	p->up_fd = fd;
	dns->n_up_tcp++;
	return 0;
}

/* One query from a client: refused, or sent upstream. */
static void on_query(struct gg_dns *dns, const __u8 *msg, size_t len, int udp, int conn,
		     const struct sockaddr_storage *peer, socklen_t plen)
{
	const struct gg_compiled *c;
	struct gg_dns_query q;
	struct gg_dns_verdict v;
	struct pending *p;
	__u64 gen = 0;

	/* not a query, or one with records besides its question and an OPT
	 * (they would be forwarded as they came): no reply to make */
	if (gg_dns_query_parse(msg, len, &q)) {
		if (conn >= 0)
			conn_close(dns, conn);
		return;
	}
	c = dns->hooks.policy(dns->hooks.ctx, &gen);
	lists_check(dns, c, gen);
	gg_dns_match(c, q.name, &v);
	if (v.missing)
		record(dns, c, gen, &q, &v, peer, udp >= 0 ? "udp" : "tcp");
	if (v.deny) {
		reply_rcode(dns, udp, conn, peer, plen, msg, len, ns_r_refused);
		return;
	}
	p = pending_new(dns);
	if (!p || !(p->query = malloc(len))) {
		if (p)
			pending_free(dns, p);
		reply_rcode(dns, udp, conn, peer, plen, msg, len, ns_r_servfail);
		return;
	}
	memcpy(p->query, msg, len);
	p->qlen = len;
	p->q = q;
	p->v = v;
	p->gen = gen;
	p->udp = udp;
	p->conn = conn;
	memcpy(&p->peer, peer, plen);
	p->plen = plen;
	p->deadline = mono() + GG_DNS_QUERY_SECS;
	p->query[0] = p->up_id >> 8;
	p->query[1] = p->up_id & 0xff;
	if (conn >= 0 ? up_tcp_start(dns, p) :
			send(dns->up, p->query, len, MSG_DONTWAIT) != (ssize_t)len) {
		memcpy(p->query, msg, 2);
		reply_rcode(dns, udp, conn, peer, plen, p->query, len, ns_r_servfail);
		pending_free(dns, p);
	}
}

/* A UDP client's truncated answer: kept, and the query asked again over
 * TCP. False if it cannot be (then delivered as it is). */
static bool tc_retry(struct gg_dns *dns, struct pending *p, const __u8 *msg, size_t len)
{
	if (p->udp < 0 || p->up_fd >= 0 || p->tc_msg || !(p->tc_msg = malloc(len)))
		return false;
	memcpy(p->tc_msg, msg, len);
	p->tc_len = len;
	p->query[0] = p->up_id >> 8;
	p->query[1] = p->up_id & 0xff;
	if (!up_tcp_start(dns, p))
		return true;
	free(p->tc_msg);
	p->tc_msg = NULL;
	return false;
}

/* What a query gets when its upstream fails or times out: the truncated
 * answer it had, or SERVFAIL. */
static void reply_failed(struct gg_dns *dns, struct pending *p)
{
	p->query[0] = p->q.id >> 8;
	p->query[1] = p->q.id & 0xff;
	if (p->tc_msg) {
		p->tc_msg[0] = p->q.id >> 8;
		p->tc_msg[1] = p->q.id & 0xff;
		deliver(dns, p->udp, p->conn, &p->peer, p->plen, p->tc_msg, p->tc_len);
	} else {
		reply_rcode(dns, p->udp, p->conn, &p->peer, p->plen, p->query, p->qlen,
			    ns_r_servfail);
	}
}

/* An upstream answer: learned from, then delivered; SERVFAIL when it is
 * malformed or its addresses could not be written. */
/*
 * An apply while the query was upstream: learn under the lists in force
 * now (the query's bits may name other lists, or lists since cleared of
 * the name), or not at all. The answer is delivered either way.
 */
static void rematch(struct gg_dns *dns, struct pending *p)
{
	const struct gg_compiled *c;
	__u64 gen = 0;

	c = dns->hooks.policy(dns->hooks.ctx, &gen);
	lists_check(dns, c, gen);
	if (gen != p->gen) {
		gg_dns_match(c, p->q.name, &p->v);
		p->gen = gen;
	}
}

static void answer_for(struct gg_dns *dns, struct pending *p, __u8 *msg, size_t len)
{
	struct gg_dns_query q;
	int ret;

	q = p->q;
	q.id = p->up_id;
	ret = gg_dns_answer_parse(msg, len, &q, &dns->answer);
	if (!ret && dns->answer.tc && tc_retry(dns, p, msg, len))
		return; /* learned from the TCP answer, then delivered */
	for (size_t i = 0; !ret && i < dns->answer.n_addrs; i++)
		seen_add(dns, &dns->answer.addrs[i], p->q.name);
	if (!ret && dns->answer.n_addrs)
		rematch(dns, p);
	if (!ret && dns->answer.n_addrs && p->v.n_rules)
		ret = gg_dns_learn(dns->learned_fd, dns->lcache, &dns->answer, &p->v,
				   dns->ttl_min, dns->ttl_max);
	if (ret < 0) {
		fprintf(stderr, "govgate: dns: answer for %s: %s: %s\n", p->q.name,
			ret == -EINVAL ? "malformed" : strerror(-ret),
			p->tc_msg ? "the truncated answer" : "SERVFAIL");
		reply_failed(dns, p);
	} else {
		if (p->tc_msg) { /* the client asked over UDP: what UDP gave */
			msg = p->tc_msg;
			len = p->tc_len;
		}
		msg[0] = p->q.id >> 8;
		msg[1] = p->q.id & 0xff;
		deliver(dns, p->udp, p->conn, &p->peer, p->plen, msg, len);
	}
	pending_free(dns, p);
}

static void on_answer(struct gg_dns *dns, __u8 *msg, size_t len)
{
	struct pending *p;

	if (len < NS_HFIXEDSZ)
		return;
	p = pending_find(dns, msg[0] << 8 | msg[1]);
	if (!p || p->up_fd >= 0)
		return; /* late, not ours, or asked over TCP */
	answer_for(dns, p, msg, len);
}

/* A TCP query to the upstream failed. */
static void up_tcp_fail(struct gg_dns *dns, struct pending *p)
{
	reply_failed(dns, p);
	pending_free(dns, p);
}

/* Connected: the query, behind its length (small: written whole into a
 * new socket's buffer, or failed). */
static void up_tcp_send(struct gg_dns *dns, struct pending *p)
{
	__u8 hdr[2] = { p->qlen >> 8, p->qlen & 0xff };
	struct iovec iov[2] = { { hdr, 2 }, { p->query, p->qlen } };
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG(K_UPTCP, p - dns->pend) };
	socklen_t l = sizeof(int);
	int err = 0;
	ssize_t n;

	if (getsockopt(p->up_fd, SOL_SOCKET, SO_ERROR, &err, &l) || err)
		goto fail;
	n = writev(p->up_fd, iov, 2);
	if (n < 0 && errno == EAGAIN)
		return; /* not connected yet: a stale event */
	if (n != (ssize_t)(p->qlen + 2) || epoll_ctl(dns->ep, EPOLL_CTL_MOD, p->up_fd, &ev))
		goto fail;
	p->sent = true;
	return;
fail:
	up_tcp_fail(dns, p);
}

/* The answer, behind its length; learned from and delivered once whole. */
static void up_tcp_read(struct gg_dns *dns, struct pending *p)
{
	size_t want;
	ssize_t n;

	if (!p->tbuf && !(p->tbuf = malloc(GG_DNS_MSG_MAX + 2)))
		goto fail;
	for (;;) {
		want = p->thave < 2 ? 2 : 2 + (p->tbuf[0] << 8 | p->tbuf[1]);
		if (p->thave == want)
			break;
		n = read(p->up_fd, p->tbuf + p->thave, want - p->thave);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || (p->thave + n == 2 && !(p->tbuf[0] | p->tbuf[1])))
			goto fail; /* closed, or an empty message */
		p->thave += n;
	}
	answer_for(dns, p, p->tbuf + 2, p->thave - 2); /* frees p */
	return;
fail:
	up_tcp_fail(dns, p);
}

static void up_tcp_event(struct gg_dns *dns, int k)
{
	struct pending *p;

	if (k >= GG_DNS_PENDING)
		return;
	p = &dns->pend[k];
	if (!p->used || p->up_fd < 0)
		return; /* answered in this batch already */
	if (p->sent)
		up_tcp_read(dns, p);
	else
		up_tcp_send(dns, p);
}

/* Up to GG_DNS_BATCH datagrams of fd in one syscall (peers: their
 * addresses, or NULL); the count, 0 when none. */
static int recv_batch(struct gg_dns *dns, int fd, struct mmsghdr *m, struct iovec *iov,
		      struct sockaddr_storage *peers)
{
	int n;

	for (int k = 0; k < GG_DNS_BATCH; k++) {
		iov[k] = (struct iovec){ dns->rbuf + (size_t)k * GG_DNS_MSG_MAX, GG_DNS_MSG_MAX };
		m[k].msg_hdr = (struct msghdr){ .msg_iov = &iov[k], .msg_iovlen = 1 };
		if (peers) {
			m[k].msg_hdr.msg_name = &peers[k];
			m[k].msg_hdr.msg_namelen = sizeof(peers[k]);
		}
	}
	n = recvmmsg(fd, m, GG_DNS_BATCH, MSG_DONTWAIT, NULL);
	return n < 0 ? 0 : n;
}

/* A batch at a time: a socket still readable wakes the next wait. */
static void read_udp(struct gg_dns *dns, int i)
{
	struct sockaddr_storage peers[GG_DNS_BATCH];
	struct iovec iov[GG_DNS_BATCH];
	struct mmsghdr m[GG_DNS_BATCH];
	int n = recv_batch(dns, dns->udp[i], m, iov, peers);

	for (int k = 0; k < n; k++)
		on_query(dns, iov[k].iov_base, m[k].msg_len, i, -1, &peers[k],
			 m[k].msg_hdr.msg_namelen);
}

static void read_upstream(struct gg_dns *dns)
{
	struct iovec iov[GG_DNS_BATCH];
	struct mmsghdr m[GG_DNS_BATCH];
	int n = recv_batch(dns, dns->up, m, iov, NULL);

	for (int k = 0; k < n; k++)
		on_answer(dns, iov[k].iov_base, m[k].msg_len);
}

static void conn_close(struct gg_dns *dns, int i)
{
	struct conn *c = &dns->conns[i];

	for (int k = 0; k < dns->n_touched; k++)
		if (dns->pend[k].used && dns->pend[k].conn == i)
			dns->pend[k].conn = -1;
	close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void accept_tcp(struct gg_dns *dns, int i)
{
	for (int n = 0; n < 8; n++) {
		int fd = accept4(dns->tcp[i], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), k;

		if (fd < 0)
			return;
		for (k = 0; k < GG_DNS_CONNS && dns->conns[k].fd >= 0; k++)
			;
		if (k == GG_DNS_CONNS || !(dns->conns[k].buf = malloc(GG_DNS_MSG_MAX + 2)) ||
		    ep_add(dns, fd, TAG(K_CONN, k))) {
			close(fd); /* busy: the client retries */
			continue;
		}
		dns->conns[k].fd = fd;
		dns->conns[k].deadline = mono() + GG_DNS_IDLE_SECS;
	}
}

/* RFC 1035 4.2.2: each message behind a two-byte length. One at a time:
 * the next is read once the previous one is answered. */
static void read_conn(struct gg_dns *dns, int i)
{
	struct conn *c = &dns->conns[i];
	size_t want = 2;
	ssize_t n;

	if (c->waiting)
		return;
	if (c->have >= 2)
		want = 2 + (c->buf[0] << 8 | c->buf[1]);
	n = read(c->fd, c->buf + c->have, want - c->have);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(dns, i);
		return;
	}
	c->have += n;
	if (c->have == 2 && !(c->buf[0] << 8 | c->buf[1])) {
		conn_close(dns, i);
		return;
	}
	if (c->have < 2 || c->have < 2 + (size_t)(c->buf[0] << 8 | c->buf[1]))
		return;
	conn_arm(dns, i, false);
	{
		struct sockaddr_storage peer = {};
		socklen_t plen = sizeof(peer);

		getpeername(c->fd, (struct sockaddr *)&peer, &plen);
		on_query(dns, c->buf + 2, c->have - 2, -1, i, &peer, plen);
	}
	if (dns->conns[i].fd >= 0 && !dns->conns[i].waiting)
		c->have = 0; /* answered at once (refused) */
}

int gg_dns_fd(const struct gg_dns *dns)
{
	return dns->ep;
}

int gg_dns_wait(struct gg_dns *dns, int timeout_ms)
{
	struct epoll_event ev[32];
	int n = epoll_wait(dns->ep, ev, 32, timeout_ms), extra = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		__u32 k = ev[i].data.u32 & 0xffff;

		switch (ev[i].data.u32 >> 16) {
		case K_UDP:
			read_udp(dns, k);
			break;
		case K_TCP:
			accept_tcp(dns, k);
			break;
		case K_UP:
			read_upstream(dns);
			break;
		case K_CONN:
			if (dns->conns[k].fd >= 0)
				read_conn(dns, k);
			break;
		case K_EXTRA:
			extra = 1;
			break;
		case K_UPTCP:
			up_tcp_event(dns, k);
			break;
		}
	}
	return extra;
}

/*
 * Learned rows carry list bits of the policy they were learned under. A
 * policy whose lists differ (another set, another order, or a list of the
 * same name whose domain entries changed: a row learned for a name it no
 * longer has) would read them as its own: the rows are cleared, and names
 * are learned again as they are resolved. A list's mode is not in the
 * label: a list that observed and now enforces means the same by its bit,
 * and the flows to its learned addresses stay open when the packet check
 * decides them again (allow_epoch in policy.c). The label is kept in the
 * state directory, so a restarted daemon under the same lists keeps the
 * rows.
 */
static char *lists_label(const struct gg_compiled *c)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; c && i < c->n_allow_lists; i++)
		fprintf(f, "%s\n", c->allow_lists[i].pack);
	for (size_t i = 0; c && i < c->n_allow_domains; i++) {
		const struct gg_c_allow_domain *d = &c->allow_domains[i];

		fprintf(f, "%u %s %d", d->list, d->pattern, d->proto);
		for (size_t j = 0; j < d->n_ports; j++)
			fprintf(f, " %u", d->ports[j]);
		fputc('\n', f);
	}
	if (fclose(f)) {
		free(s);
		return NULL;
	}
	return s;
}

static void lists_check(struct gg_dns *dns, const struct gg_compiled *c, __u64 gen)
{
	struct gg_err err;
	char *now;
	size_t len;
	FILE *f;
	int n;

	if (!c || (dns->lists_seen && gen == dns->gen_seen))
		return;
	now = lists_label(c);
	if (!now)
		return;
	if (!dns->lists_seen && gg_read_file(dns->lists_path, &dns->lists_seen, &len, &err))
		dns->lists_seen = NULL; /* none saved: rows of unknown lists */
	dns->gen_seen = gen;
	if (dns->lists_seen && !strcmp(now, dns->lists_seen)) {
		free(now);
		return;
	}
	n = gg_dns_sweep(dns->learned_fd, dns->lcache, true);
	if (n > 0)
		fprintf(stderr, "govgate: dns: the allowlists changed: %d learned address rows "
				"cleared\n", n);
	free(dns->lists_seen);
	dns->lists_seen = now;
	f = fopen(dns->lists_path, "we");
	if (f) {
		fputs(now, f);
		fclose(f);
	}
}

void gg_dns_sync(struct gg_dns *dns)
{
	__u64 gen = 0;
	const struct gg_compiled *c = dns->hooks.policy(dns->hooks.ctx, &gen);

	lists_check(dns, c, gen);
}

void gg_dns_tick(struct gg_dns *dns)
{
	time_t now = mono();

	gg_dns_sync(dns);
	limit_flush(dns);
	for (int i = 0; i < dns->n_touched; i++) {
		struct pending *p = &dns->pend[i];

		if (!p->used || p->deadline > now)
			continue;
		reply_failed(dns, p);
		pending_free(dns, p);
	}
	for (int i = 0; i < GG_DNS_CONNS; i++)
		if (dns->conns[i].fd >= 0 && !dns->conns[i].waiting &&
		    dns->conns[i].deadline <= now)
			conn_close(dns, i);
	if (now - dns->last_sweep >= GG_DNS_SWEEP_SECS) {
		dns->last_sweep = now;
		gg_dns_sweep(dns->learned_fd, dns->lcache, false);
	}
}

static int write_redirect(const char *pin_dir, const struct gg_dns_redirect *r,
			  struct gg_err *err);

void gg_dns_close(struct gg_dns *dns)
{
	if (!dns)
		return;
	/* First: while no forwarder listens, governed tasks' DNS is decided
	 * as any destination (with an allowlist: refused), never rewritten
	 * to a port whatever binds it next would answer from. */
	if (dns->redirect_pin_dir) {
		write_redirect(dns->redirect_pin_dir, &(struct gg_dns_redirect){}, NULL);
		free(dns->redirect_pin_dir);
	}
	for (int i = 0; i < dns->n_touched; i++) {
		free(dns->pend[i].query);
		free(dns->pend[i].tbuf);
		free(dns->pend[i].tc_msg);
		if (dns->pend[i].used && dns->pend[i].up_fd >= 0)
			close(dns->pend[i].up_fd);
	}
	for (int i = 0; i < GG_DNS_CONNS; i++)
		if (dns->conns[i].fd >= 0) {
			close(dns->conns[i].fd);
			free(dns->conns[i].buf);
		}
	for (int i = 0; i < 2; i++) {
		if (dns->udp[i] >= 0)
			close(dns->udp[i]);
		if (dns->tcp[i] >= 0)
			close(dns->tcp[i]);
	}
	if (dns->up >= 0)
		close(dns->up);
	if (dns->learned_fd >= 0)
		close(dns->learned_fd);
	if (dns->ep >= 0)
		close(dns->ep);
	free(dns->lists_path);
	free(dns->lists_seen);
	free(dns->seen);
	free(dns->lcache);
	free(dns->rbuf);
	free(dns);
}

/* dns_redirect: where the gates send governed tasks' DNS (zero: nowhere). */
static int write_redirect(const char *pin_dir, const struct gg_dns_redirect *r,
			  struct gg_err *err)
{
	__u32 zero = 0;
	int fd = gg_pinned_fd(pin_dir, GG_MAP_DNS_REDIRECT, err), ret = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &zero, r, BPF_ANY))
		ret = gg_errf(err, -errno, "dns: write %s: %s", GG_MAP_DNS_REDIRECT,
			      strerror(errno));
	close(fd);
	return ret;
}

/* The listeners: the configured IPv4 loopback address, and [::1] on the
 * same port for IPv6 sockets if this host has it (else those are not
 * rewritten: r->addr6 stays zero). */
static int open_listeners(struct gg_dns *dns, const struct sockaddr_storage *ss, socklen_t len,
			  struct gg_dns_redirect *r, struct gg_err *err)
{
	const struct sockaddr_in *in = (const void *)ss;
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = in->sin_port,
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	dns->udp[0] = bound_socket(ss, len, SOCK_DGRAM);
	if (dns->udp[0] < 0)
		return gg_errf(err, dns->udp[0], "dns: listen udp: %s", strerror(-dns->udp[0]));
	dns->tcp[0] = bound_socket(ss, len, SOCK_STREAM);
	if (dns->tcp[0] < 0)
		return gg_errf(err, dns->tcp[0], "dns: listen tcp: %s", strerror(-dns->tcp[0]));
	memcpy(r->addr4, &in->sin_addr, 4);
	r->port = ntohs(in->sin_port);
	dns->udp[1] = bound_socket((const void *)&in6, sizeof(in6), SOCK_DGRAM);
	dns->tcp[1] = bound_socket((const void *)&in6, sizeof(in6), SOCK_STREAM);
	if (dns->udp[1] >= 0 && dns->tcp[1] >= 0)
		memcpy(r->addr6, &in6.sin6_addr, 16);
	else
		fprintf(stderr, "govgate: dns: no [::1]:%u listener: IPv6 sockets' DNS is not "
				"redirected (decided as any destination)\n", r->port);
	for (int i = 0; i < 2; i++) {
		if (dns->udp[i] >= 0 && ep_add(dns, dns->udp[i], TAG(K_UDP, i)))
			return gg_errf(err, -errno, "dns: epoll: %s", strerror(errno));
		if (dns->tcp[i] >= 0 && ep_add(dns, dns->tcp[i], TAG(K_TCP, i)))
			return gg_errf(err, -errno, "dns: epoll: %s", strerror(errno));
	}
	return 0;
}

int gg_dns_upstream(const struct gg_config *cfg, struct sockaddr_storage *ss, socklen_t *len,
		    char *name, size_t name_len, struct gg_err *err)
{
	char conf[256];
	const char *s = cfg->dns_upstream;

	if (!s) {
		if (resolv_conf_upstream(conf, sizeof(conf)))
			return gg_errf(err, -ENOENT, "dns: no \"upstream\" configured and no "
				       "nameserver in /etc/resolv.conf");
		s = conf;
	}
	snprintf(name, name_len, "%s", s);
	if (gg_dns_addr_parse(s, 53, ss, len))
		return gg_errf(err, -EINVAL, "dns: upstream \"%s\": not an address[:port]", s);
	return 0;
}

static int open_upstream(struct gg_dns *dns, const struct gg_config *cfg,
			 const struct sockaddr_storage *listen, struct gg_err *err)
{
	struct sockaddr_storage ss;
	char s[256];
	socklen_t len;
	int ret = gg_dns_upstream(cfg, &ss, &len, s, sizeof(s), err);

	if (ret)
		return ret;
	if (ss.ss_family == AF_INET && !memcmp(&ss, listen, sizeof(struct sockaddr_in)))
		return gg_errf(err, -ELOOP, "dns: upstream %s is the forwarder itself", s);
	dns->up_ss = ss;
	dns->up_len = len;
	dns->up = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (dns->up < 0 || connect(dns->up, (struct sockaddr *)&ss, len))
		return gg_errf(err, -errno, "dns: upstream %s: %s", s, strerror(errno));
	fprintf(stderr, "govgate: dns: forwarding to %s\n", s);
	return ep_add(dns, dns->up, TAG(K_UP, 0));
}

int gg_dns_open(const struct gg_config *cfg, const struct gg_dns_hooks *hooks, int extra_fd,
		struct gg_dns **out, struct gg_err *err)
{
	struct gg_dns_redirect r = {};
	struct sockaddr_storage ss;
	struct gg_dns *dns;
	socklen_t len;
	int ret;

	*out = NULL;
	if (!strcmp(cfg->dns_listen, "off"))
		return write_redirect(cfg->pin_dir, &r, err);
	/* none until this one listens: a previous daemon's stays otherwise */
	write_redirect(cfg->pin_dir, &r, NULL);
	if (gg_dns_addr_parse(cfg->dns_listen, 53, &ss, &len) || ss.ss_family != AF_INET ||
	    ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24 != 127)
		return gg_errf(err, -EINVAL, "dns: listen \"%s\": not an IPv4 loopback "
			       "address[:port] (the gate always allows loopback)", cfg->dns_listen);
	dns = calloc(1, sizeof(*dns));
	if (!dns)
		return gg_errf(err, -ENOMEM, "out of memory");
	dns->hooks = *hooks;
	dns->ttl_min = cfg->dns_ttl_min;
	dns->ttl_max = cfg->dns_ttl_max;
	dns->udp[0] = dns->udp[1] = dns->tcp[0] = dns->tcp[1] = dns->up = dns->learned_fd = -1;
	for (int i = 0; i < GG_DNS_CONNS; i++)
		dns->conns[i].fd = -1;
	for (int i = GG_DNS_PENDING - 1; i >= 0; i--)
		dns->free_slot[dns->n_free++] = i;
	dns->ep = epoll_create1(EPOLL_CLOEXEC);
	ret = dns->ep < 0 ? gg_errf(err, -errno, "dns: epoll: %s", strerror(errno)) : 0;
	if (!ret && (!(dns->seen = calloc(GG_DNS_SEEN, sizeof(*dns->seen))) ||
		     !(dns->lcache = calloc(1, sizeof(*dns->lcache))) ||
		     !(dns->rbuf = malloc((size_t)GG_DNS_BATCH * GG_DNS_MSG_MAX))))
		ret = gg_errf(err, -ENOMEM, "out of memory");
	if (!ret && asprintf(&dns->lists_path, "%s/dns-learned-lists", cfg->state_dir) < 0)
		ret = gg_errf(err, -ENOMEM, "out of memory");
	if (!ret)
		ret = open_listeners(dns, &ss, len, &r, err);
	if (!ret)
		ret = open_upstream(dns, cfg, &ss, err);
	if (!ret && extra_fd >= 0 && ep_add(dns, extra_fd, TAG(K_EXTRA, 0)))
		ret = gg_errf(err, -errno, "dns: epoll: %s", strerror(errno));
	if (!ret) {
		dns->learned_fd = gg_pinned_fd(cfg->pin_dir, GG_MAP_EGRESS_LEARNED, err);
		ret = dns->learned_fd < 0 ? dns->learned_fd : 0;
	}
	if (!ret && !(dns->redirect_pin_dir = strdup(cfg->pin_dir)))
		ret = gg_errf(err, -ENOMEM, "out of memory");
	/* last: the gates redirect only to a forwarder that listens */
	if (!ret)
		ret = write_redirect(cfg->pin_dir, &r, err);
	if (ret) {
		gg_dns_close(dns);
		return ret;
	}
	dns->last_sweep = mono();
	*out = dns;
	return 0;
}
