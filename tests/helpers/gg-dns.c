// SPDX-License-Identifier: GPL-2.0
/*
 * A DNS server with a fixed zone, and a DNS client, for the forwarder's
 * tests (libresolv reads and writes the names).
 *   gg-dns serve ADDR PORT               answers UDP and TCP queries from the zone below
 *   gg-dns replay ADDR PORT FILE...      answers the Nth query with FILE N (cycling),
 *                                        its first two bytes made the query's id:
 *                                        the fuzz corpus as an upstream
 *   gg-dns query ADDR PORT NAME TYPE [tcp]  one query (TYPE: A or AAAA), over UDP
 *                                        (sendto / recvfrom, no connect) or TCP;
 *                                        prints the addresses answered, or the
 *                                        rcode name (REFUSED, SERVFAIL, NXDOMAIN),
 *                                        "none", "timeout" (8 s), or "badsource" when
 *                                        the UDP reply came from another address
 *                                        than the one asked. Exit 0 with
 *                                        addresses, 1 otherwise.
 *   gg-dns bench ADDR PORT NAME N        N queries for NAME (A) one after the other:
 *                                        prints "p50_us p99_us qps failed"
 *   gg-dns learn MAP N ADDR LISTS        makes the pinned egress_learned MAP hold
 *                                        N rows, for a benchmark: ADDR (any port,
 *                                        any protocol, lists LISTS) and N - 1
 *                                        random IPv4 addresses in 100.64/10 (rows
 *                                        added or deleted), all expiring in an hour
 *   gg-dns stats-hold                     BPF_ENABLE_STATS (run time), held until
 *                                        killed: independent of the sysctl that
 *                                        others may turn off meanwhile
 * The zone (TTL 300 unless said):
 *   api.allowed.test A 10.91.0.1        allowed.test A 10.91.0.4 (the apex)
 *   www.allowed.test CNAME cdn.elsewhere.test, cdn.elsewhere.test A 10.91.0.2
 *   short.allowed.test A 10.91.0.3 TTL 1
 *   v6.allowed.test AAAA fd91::1        secret.attacker.test A 10.91.0.9
 *   loop.allowed.test: A 10.91.0.5, then a record whose name points at itself
 *   tc.allowed.test: A 10.91.0.6, tc2.allowed.test: A 10.91.0.8, over UDP with
 *     the TC bit (over TCP without)
 *   drop.allowed.test: A 10.91.0.10 over UDP; over TCP the connection is
 *     closed unanswered
 *   mute.allowed.test: never answered over UDP (the forwarder's deadline)
 *   slow.allowed.test A 10.91.0.11: answered over UDP 2 s late (one at a
 *     time): the policy can change while the query is upstream
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "govgate_abi.h"

struct rr {
	const char *name;
	int type, ttl;
	const char *data;
};

static const struct rr zone[] = {
	{ "api.allowed.test", ns_t_a, 300, "10.91.0.1" },
	{ "www.allowed.test", ns_t_cname, 300, "cdn.elsewhere.test" },
	{ "cdn.elsewhere.test", ns_t_a, 300, "10.91.0.2" },
	{ "short.allowed.test", ns_t_a, 1, "10.91.0.3" },
	{ "allowed.test", ns_t_a, 300, "10.91.0.4" },
	{ "v6.allowed.test", ns_t_aaaa, 300, "fd91::1" },
	{ "secret.attacker.test", ns_t_a, 300, "10.91.0.9" },
	{ "loop.allowed.test", ns_t_a, 300, "10.91.0.5" },
	{ "tc.allowed.test", ns_t_a, 300, "10.91.0.6" },
	{ "tc2.allowed.test", ns_t_a, 300, "10.91.0.8" },
	{ "drop.allowed.test", ns_t_a, 300, "10.91.0.10" },
	{ "slow.allowed.test", ns_t_a, 300, "10.91.0.11" },
};

#define N_ZONE (sizeof(zone) / sizeof(zone[0]))

static void put16(unsigned char *p, unsigned v)
{
	p[0] = v >> 8;
	p[1] = v;
}

/* One record at *p; returns its length or -1. */
static int put_rr(unsigned char *p, unsigned char *end, const struct rr *r,
		  const unsigned char **dnptrs, const unsigned char **last)
{
	int n = dn_comp(r->name, p, end - p, (unsigned char **)dnptrs, (unsigned char **)last),
	    d = 0;
	unsigned char *rd;

	if (n < 0 || end - p < n + 10 + 16)
		return -1;
	rd = p + n + 10;
	put16(p + n, r->type);
	put16(p + n + 2, ns_c_in);
	put16(p + n + 4, r->ttl >> 16);
	put16(p + n + 6, r->ttl);
	if (r->type == ns_t_a)
		d = inet_pton(AF_INET, r->data, rd) == 1 ? 4 : -1;
	else if (r->type == ns_t_aaaa)
		d = inet_pton(AF_INET6, r->data, rd) == 1 ? 16 : -1;
	else
		d = dn_comp(r->data, rd, end - rd, (unsigned char **)dnptrs,
			    (unsigned char **)last);
	if (d < 0)
		return -1;
	put16(p + n + 8, d);
	return n + 10 + d;
}

/* The answer to a query, into out; its length or -1. */
static int answer(const unsigned char *q, int qlen, unsigned char *out, int size, int tcp)
{
	const unsigned char *dnptrs[32] = { out }, **last = &dnptrs[31];
	char name[NS_MAXDNAME];
	int an = 0, found = 0, n, qd, hops = 0;
	unsigned char *p;
	ns_msg h;
	ns_rr qr;

	if (ns_initparse(q, qlen, &h) < 0 || ns_parserr(&h, ns_s_qd, 0, &qr) < 0)
		return -1;
	qd = ns_skiprr(q + NS_HFIXEDSZ, q + qlen, ns_s_qd, 1);
	if (qd < 0 || NS_HFIXEDSZ + qd > size)
		return -1;
	memcpy(out, q, NS_HFIXEDSZ + qd);
	out[2] = 0x84 | (q[2] & 1); /* QR, AA, RD as asked */
	out[3] = 0x80; /* RA, NOERROR */
	memset(out + 6, 0, 6);
	p = out + NS_HFIXEDSZ + qd;
	snprintf(name, sizeof(name), "%s", ns_rr_name(qr));
	for (size_t i = 0; i < N_ZONE; i++) {
		if (strcasecmp(zone[i].name, name))
			continue;
		found = 1;
		if (zone[i].type != ns_t_cname && zone[i].type != (int)ns_rr_type(qr))
			continue;
		n = put_rr(p, out + size, &zone[i], dnptrs, last);
		if (n < 0)
			return -1;
		p += n;
		an++;
		if (zone[i].type == ns_t_cname && hops++ < 8) {
			snprintf(name, sizeof(name), "%s", zone[i].data);
			i = -1; /* again, for the target */
		}
	}
	if (!strncmp(ns_rr_name(qr), "tc", 2) && strstr(ns_rr_name(qr), ".allowed.test") && !tcp)
		out[2] |= 0x02;
	if (!strcmp(ns_rr_name(qr), "loop.allowed.test") && out + size - p > 16) {
		/* A 10.91.0.7 owned by a name that is a pointer to itself: a
		 * compression loop (ns_initparse skips names, the expansion
		 * finds it) */
		static const unsigned char rest[] = { 0, ns_t_a, 0, ns_c_in, 0, 0, 1, 0x2c,
						      0, 4, 10, 91, 0, 7 };

		put16(p, 0xc000 | (p - out));
		memcpy(p + 2, rest, sizeof(rest));
		p += 2 + sizeof(rest);
		an++;
	}
	if (!found)
		out[3] |= ns_r_nxdomain;
	put16(out + 6, an);
	return p - out;
}

/* n bytes from a TCP client within 2 s, or -1. */
static int read_full(int fd, unsigned char *buf, int n)
{
	struct pollfd pfd = { fd, POLLIN, 0 };

	for (int have = 0, k; have < n; have += k) {
		if (poll(&pfd, 1, 2000) != 1)
			return -1;
		k = read(fd, buf + have, n - have);
		if (k <= 0)
			return -1;
	}
	return n;
}

/* RFC 1035 4.2.2: queries behind a two-byte length, until the client
 * closes; one client at a time (a test's). */
static void serve_tcp(int lfd)
{
	unsigned char hdr[2], q[4096], out[4096 + 2];
	int fd = accept(lfd, NULL, NULL), n;

	while (fd >= 0 && read_full(fd, hdr, 2) == 2) {
		n = hdr[0] << 8 | hdr[1];
		if (n > (int)sizeof(q) || read_full(fd, q, n) != n)
			break;
		n = answer(q, n, out + 2, sizeof(out) - 2, 1);
		if (n <= 0 || (n > 12 && memmem(out + 2, n, "\4drop\7allowed", 13)))
			break;
		out[0] = n >> 8;
		out[1] = n;
		if (write(fd, out, n + 2) != n + 2)
			break;
	}
	if (fd >= 0)
		close(fd);
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

static int serve(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_DGRAM, 0), one = 1,
	    lfd = socket(sa->sa_family, SOCK_STREAM, 0);
	struct pollfd pfd[2] = { { fd, POLLIN, 0 }, { lfd, POLLIN, 0 } };
	unsigned char q[4096], out[4096];

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, sa, len) || lfd < 0 || bind(lfd, sa, len) || listen(lfd, 16)) {
		perror("gg-dns: bind");
		return 2;
	}
	struct sockaddr_storage held_peer;
	socklen_t held_plen = 0;
	unsigned char held[4096];
	int held_n = 0;
	long due = 0;

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int n, wait = held_n ? (int)(due - now_ms()) : -1;

		if (held_n && wait <= 0) { /* slow.allowed.test's answer, now */
			sendto(fd, held, held_n, 0, (struct sockaddr *)&held_peer, held_plen);
			held_n = 0;
			continue;
		}
		if (poll(pfd, 2, wait) <= 0)
			continue;
		if (pfd[1].revents)
			serve_tcp(lfd);
		if (!pfd[0].revents)
			continue;
		n = recvfrom(fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&peer, &plen);
		if (n < 0 || memmem(q, n, "\4mute\7allowed", 13))
			continue;
		if (memmem(q, n, "\4slow\7allowed", 13) && !held_n) {
			held_n = answer(q, n, held, sizeof(held), 0);
			held_n = held_n > 0 ? held_n : 0;
			memcpy(&held_peer, &peer, plen);
			held_plen = plen;
			due = now_ms() + 2000;
			continue;
		}
		n = answer(q, n, out, sizeof(out), 0);
		if (n > 0)
			sendto(fd, out, n, 0, (struct sockaddr *)&peer, plen);
	}
}

static int replay(const struct sockaddr *sa, socklen_t len, char **files, int n)
{
	int fd = socket(sa->sa_family, SOCK_DGRAM, 0), one = 1;
	unsigned char q[4096], out[65536];

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, sa, len)) {
		perror("gg-dns: bind");
		return 2;
	}
	for (unsigned k = 0;; k++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		FILE *f;
		size_t m;

		if (recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&peer, &plen) < 2)
			continue;
		f = fopen(files[k % n], "rb");
		if (!f)
			continue;
		m = fread(out, 1, sizeof(out), f);
		fclose(f);
		if (m >= 2)
			memcpy(out, q, 2);
		sendto(fd, out, m, 0, (struct sockaddr *)&peer, plen);
	}
}

/* The reply to a query over UDP (no connect: sendto, recvfrom) or TCP.
 * Returns its length, 0 on timeout, -2 when it came from elsewhere. */
static int exchange_fd(int fd, const struct sockaddr *sa, socklen_t len, int tcp,
		       const unsigned char *q, int qlen, unsigned char *r, int size)
{
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	struct pollfd pfd = { fd, POLLIN, 0 };
	unsigned char hdr[2] = { qlen >> 8, qlen & 0xff };
	int n, want;

	if (tcp) {
		if (connect(fd, sa, len) || write(fd, hdr, 2) != 2 || write(fd, q, qlen) != qlen)
			return -1;
		if (poll(&pfd, 1, 8000) != 1 || read(fd, hdr, 2) != 2)
			return 0;
		want = hdr[0] << 8 | hdr[1];
		for (n = 0; n < want && n < size;) {
			int k = read(fd, r + n, want - n);

			if (k <= 0)
				return 0;
			n += k;
		}
		return n;
	}
	if (sendto(fd, q, qlen, 0, sa, len) != qlen)
		return -1;
	if (poll(&pfd, 1, 8000) != 1)
		return 0;
	n = recvfrom(fd, r, size, 0, (struct sockaddr *)&from, &flen);
	if (n > 0 && (flen != len || memcmp(&from, sa, len)))
		return -2;
	return n;
}

static int exchange(const struct sockaddr *sa, socklen_t len, int tcp, const unsigned char *q,
		    int qlen, unsigned char *r, int size)
{
	int fd = socket(sa->sa_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0), n;

	if (fd < 0)
		return -1;
	n = exchange_fd(fd, sa, len, tcp, q, qlen, r, size);
	close(fd);
	return n;
}

static int query(const struct sockaddr *sa, socklen_t len, const char *name, const char *type,
		 int tcp)
{
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					      "NOTIMP", "REFUSED" };
	int t = !strcmp(type, "AAAA") ? ns_t_aaaa : ns_t_a, qlen, n, printed = 0;
	unsigned char q[512], r[65536];
	char addr[INET6_ADDRSTRLEN];
	ns_msg h;
	ns_rr rr;

	qlen = res_mkquery(ns_o_query, name, ns_c_in, t, NULL, 0, NULL, q, sizeof(q));
	if (qlen < 0)
		return 2;
	n = exchange(sa, len, tcp, q, qlen, r, sizeof(r));
	if (n <= 0 || ns_initparse(r, n, &h) < 0) {
		printf("%s\n", n == 0 ? "timeout" : n == -2 ? "badsource" : "error");
		return 1;
	}
	if (ns_msg_getflag(h, ns_f_rcode)) {
		int rc = ns_msg_getflag(h, ns_f_rcode);

		printf("%s\n", rc < 6 ? rcodes[rc] : "other");
		return 1;
	}
	for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
		if (ns_parserr(&h, ns_s_an, i, &rr) < 0 || (int)ns_rr_type(rr) != t)
			continue;
		inet_ntop(t == ns_t_a ? AF_INET : AF_INET6, ns_rr_rdata(rr), addr, sizeof(addr));
		printf("%s%s", printed++ ? " " : "", addr);
	}
	printf("%s\n", printed ? "" : "none");
	return !printed;
}

static int cmp_u64(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int bench(const struct sockaddr *sa, socklen_t len, const char *name, int n)
{
	unsigned long long *lat = calloc(n, sizeof(*lat)), t0 = now_ns();
	unsigned char q[512], r[4096];
	int qlen, failed = 0;

	qlen = res_mkquery(ns_o_query, name, ns_c_in, ns_t_a, NULL, 0, NULL, q, sizeof(q));
	if (!lat || qlen < 0)
		return 2;
	for (int i = 0; i < n; i++) {
		unsigned long long t = now_ns();
		int k;

		q[0] = i >> 8;
		q[1] = i;
		k = exchange(sa, len, 0, q, qlen, r, sizeof(r));
		lat[i] = now_ns() - t;
		failed += k < NS_HFIXEDSZ || (r[3] & 0xf) || r[0] != q[0] || r[1] != q[1];
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("%.1f %.1f %.0f %d\n", lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3,
	       n / ((now_ns() - t0) / 1e9), failed);
	free(lat);
	return failed != 0;
}

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

static int map_op(int cmd, int fd, const void *k, void *v_or_next)
{
	union bpf_attr a = { .map_fd = fd, .key = (unsigned long)k };

	if (cmd == BPF_MAP_GET_NEXT_KEY)
		a.next_key = (unsigned long)v_or_next;
	else
		a.value = (unsigned long)v_or_next;
	return sys_bpf(cmd, &a) ? -errno : 0;
}

/* The rows other than keep's, collected before any is deleted (a hash
 * walk that deletes behind itself restarts). */
static long other_rows(int fd, const struct gg_learned_key *keep, struct gg_learned_key **out)
{
	struct gg_learned_key cur, *all = NULL;
	long n = 0, cap = 0;
	int have = 0;

	while (!map_op(BPF_MAP_GET_NEXT_KEY, fd, have ? &cur : NULL, &cur)) {
		have = 1;
		if (!memcmp(&cur, keep, sizeof(cur)))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			all = realloc(all, cap * sizeof(*all));
			if (!all)
				return -1;
		}
		all[n++] = cur;
	}
	*out = all;
	return n;
}

static int learn(const char *path, long n, const char *addr, unsigned lists)
{
	struct gg_learned_key keep = { .family = 4 }, *rows = NULL;
	union bpf_attr a = { .pathname = (unsigned long)path };
	struct timespec ts;
	struct gg_learned_val v = { .lists = lists }, old;
	long have;
	int fd;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	v.expires_ns = (ts.tv_sec + 3600) * 1000000000ULL;
	fd = sys_bpf(BPF_OBJ_GET, &a);
	if (fd < 0 || n < 1 || inet_pton(AF_INET, addr, keep.addr) != 1) {
		fprintf(stderr, "gg-dns learn: %s: %s\n", path, fd < 0 ? strerror(errno) : "usage");
		return 2;
	}
	have = other_rows(fd, &keep, &rows);
	if (have < 0 || map_op(BPF_MAP_UPDATE_ELEM, fd, &keep, &v))
		return 2;
	for (; have > n - 1; have--)
		map_op(BPF_MAP_DELETE_ELEM, fd, &rows[have - 1], NULL);
	srandom(n);
	while (have < n - 1) {
		struct gg_learned_key k = { .family = 4 };
		__u32 x = htonl(0x64400000 | (random() & 0x3fffff)); /* 100.64/10 */

		memcpy(k.addr, &x, 4);
		if (!memcmp(&k, &keep, sizeof(k)) || !map_op(BPF_MAP_LOOKUP_ELEM, fd, &k, &old))
			continue;
		if (map_op(BPF_MAP_UPDATE_ELEM, fd, &k, &v)) {
			fprintf(stderr, "gg-dns learn: update: %s\n", strerror(errno));
			return 2;
		}
		have++;
	}
	free(rows);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(*in);

	if (argc == 2 && !strcmp(argv[1], "stats-hold")) {
		union bpf_attr a = { .enable_stats.type = BPF_STATS_RUN_TIME };

		if (sys_bpf(BPF_ENABLE_STATS, &a) < 0) {
			perror("gg-dns: BPF_ENABLE_STATS");
			return 2;
		}
		pause();
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "learn"))
		return learn(argv[2], atol(argv[3]), argv[4], strtoul(argv[5], NULL, 0));
	if (argc < 4) {
		fprintf(stderr, "usage: gg-dns serve ADDR PORT | replay ADDR PORT FILE... | query ADDR PORT NAME TYPE [tcp]\n");
		return 3;
	}
	if (inet_pton(AF_INET, argv[2], &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(atoi(argv[3]));
	} else if (inet_pton(AF_INET6, argv[2], &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(atoi(argv[3]));
		len = sizeof(*in6);
	} else {
		return 3;
	}
	if (!strcmp(argv[1], "serve"))
		return serve((struct sockaddr *)&ss, len);
	if (!strcmp(argv[1], "bench") && argc == 6)
		return bench((struct sockaddr *)&ss, len, argv[4], atoi(argv[5]));
	if (!strcmp(argv[1], "replay") && argc > 4)
		return replay((struct sockaddr *)&ss, len, argv + 4, argc - 4);
	if (!strcmp(argv[1], "query") && argc >= 6)
		return query((struct sockaddr *)&ss, len, argv[4], argv[5],
			     argc > 6 && !strcmp(argv[6], "tcp"));
	return 3;
}
