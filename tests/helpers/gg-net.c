// SPDX-License-Identifier: GPL-2.0
/*
 * Network probe for the enforcement tests: makes one outbound attempt and
 * reports how the kernel answered.
 *   gg-net connect ADDR PORT   TCP connect
 *   gg-net sendto  ADDR PORT   UDP sendto, no connect
 *   gg-net pair    ADDR PORT   listen on ADDR:PORT, then TCP connect to it
 *   gg-net storm   ADDR PORT N  N TCP connects; prints how many got EPERM
 * ADDR is IPv4 or IPv6 (an IPv4-mapped ::ffff:a.b.c.d goes out on an IPv6
 * socket). Prints ok / EPERM / other errno name. Exit: 0 ok, 1 EPERM,
 * 2 another error, 3 usage.
 *
 * Attacks, each proven on the far side: a receiver bound to ADDR:PORT in
 * this process (the test puts ADDR on an interface of the namespace) reads
 * what arrives. Prints "SEND RECV": the send's result (ok, EPERM, errno
 * name) and "arrived" or "none". Exit: 0 arrived, 1 none, 2 setup, 3 usage.
 *   gg-net unspec   ADDR PORT      UDP sendto, sin_family = AF_UNSPEC
 *   gg-net raw      ADDR PORT      raw IPPROTO_UDP socket, sendto AF_INET(6)
 *   gg-net raw0     ADDR PORT      the same with sa_family = 0
 *   gg-net hdrincl  ADDR PORT VIA  IPv4 IP_HDRINCL: msg_name VIA, header ADDR
 *   gg-net packet   ADDR PORT DEV  AF_PACKET frame on DEV, IPv4 to ADDR
 *   gg-net srcroute ADDR PORT VIA  UDP sendto ADDR with a source route
 *                                  through VIA: IPv4 IP_OPTIONS loose source
 *                                  route, IPv6 IPV6_RTHDR segment routing
 *                                  header (type 4); the header's
 *                                  destination is VIA (the receiving side
 *                                  must accept source routes)
 *   gg-net anyaddr ADDR PORT       UDP socket bound to ADDR (IP_TRANSPARENT
 *                                  tried), connect to 0.0.0.0:PORT, send:
 *                                  the kernel sends to the bound address
 *   gg-net anyaddr-tcp ADDR PORT   the same over TCP, one byte
 *   gg-net rewritten ADDR PORT VIA UDP connect to VIA, then send: arrives at
 *                                  ADDR only if something past the packet
 *                                  check (a tc filter) rewrote the header
 *   gg-net sendmmsg ADDR PORT      UDP sendmmsg, one message to ADDR
 *   gg-net fastopen ADDR PORT      TCP sendto with MSG_FASTOPEN
 *   gg-net ping     ADDR           ICMP echo on a ping socket; RECV: the reply
 *   gg-net badfamily ADDR PORT     UDP sendto, sa_family = AF_APPLETALK
 *   gg-net disconnect ADDR PORT    UDP connect to ADDR, then connect(AF_UNSPEC)
 *   gg-net held     ADDR PORT GO   one TCP connection to a receiver here: a
 *                                  byte over it, then GO.ready is made and,
 *                                  once GO exists (the test changed the
 *                                  policy meanwhile), another; prints
 *                                  "arrived|none arrived|none", one per byte
 *   gg-net held-udp ADDR PORT GO   the same with a connected UDP socket
 *   gg-net sentinel ADDR PORT DIR FIRST  a process others reach into: a
 *                        UDP socket connected to ADDR:PORT that sends FIRST
 *                        at once, then for 60 s (or until DIR/stop exists)
 *                        sends whatever text is written into its buffer
 *                        (what code put into it by another process would
 *                        do), and gives the socket over SCM_RIGHTS to each
 *                        client of the unix socket DIR/fd.sock. DIR/ready
 *                        holds "PID FD ADDRESS": its pid, the socket's fd
 *                        number and the buffer's address.
 *   gg-net sentinel-tcp ADDR PORT DIR FIRST  the same over TCP, to a
 *                        receiver on ADDR:PORT in this process (ADDR on an
 *                        interface of the namespace), which appends what
 *                        arrives to DIR/got, a line per read
 *   gg-net sentinel-cork ADDR PORT DIR FIRST  the UDP sentinel, its socket
 *                        not connected: FIRST is corked to ADDR:PORT
 *                        (MSG_MORE), and the next unnamed send on the
 *                        socket, anyone's, goes out with it; with
 *                        GG_NET_CORK_PEER set, the socket is connected to
 *                        198.51.100.7:9 first (its peer is not where the
 *                        corked datagram goes)
 * gg-net rcvbufforce    setsockopt(SO_RCVBUFFORCE): ok or EPERM
 * (any verb, with GG_NET_FORK set: run in a forked child, its status
 *  the parent's)
 * gg-net transparent 4|6|freebind6|freebind4  a UDP socket's
 *                       IP_TRANSPARENT (IPV6_TRANSPARENT), IPV6_FREEBIND on
 *                       an IPv6 one, IP_FREEBIND on an IPv4 one: ok or
 *                       EPERM (the first three send from any address)
 * gg-net tun DEV SRC DST MARK  an IPv4 datagram SRC -> DST:9 carrying MARK
 *                        written into the existing tun device DEV (received
 *                        as from a NIC; forwarded where forwarding is on):
 *                        ok / EPERM / errno name
 * gg-net wire DEV LOG READY  the far side of a wire: makes the tap DEV and
 *                        reads its frames until killed, appending to LOG
 *                        each WORD of a "ggwire:WORD" in them, and
 *                        "igmp:GROUP" for each group an IGMP report names,
 *                        "nd:TARGET" for each neighbour solicitation
 * gg-net join DEV GROUP  joins the multicast GROUP (IPv4 or IPv6) on DEV
 *                        (MCAST_JOIN_GROUP), holds it 1 s (the kernel's
 *                        reports go out), leaves: ok / EPERM / errno name
 * gg-net anycast DEV ADDR  IPV6_JOIN_ANYCAST of ADDR on DEV (CAP_NET_ADMIN):
 *                        ok / EPERM / errno name
 * With GG_NET_MOVE_TO=FILE (a cgroup.procs), raw and packet make their
 * socket, then move the process there, then send: a socket made outside
 * the scope, used inside it.
 *
 *   gg-net vsock-listen PORT READY  an AF_VSOCK listener on PORT (any CID):
 *                        makes READY once listening, then waits up to 5 s
 *                        for a connection's byte: prints "arrived" or "none"
 *   gg-net vsock CID PORT  AF_VSOCK connect to CID:PORT and one byte sent
 *                        (CID 1: this guest, through vsock_loopback; 2: the
 *                        host). Prints ok / EPERM / errno name.
 *
 *   gg-net socket KIND   only make a socket: raw (AF_INET SOCK_RAW), raw6,
 *                        packet (AF_PACKET SOCK_RAW), packet-dgram, xdp
 *                        (AF_XDP), ping (AF_INET SOCK_DGRAM IPPROTO_ICMP),
 *                        udp. Prints ok / EPERM / errno name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int parse(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static int report(int rc)
{
	if (rc == 0) {
		puts("ok");
		return 0;
	}
	if (errno == EPERM) {
		puts("EPERM");
		return 1;
	}
	printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : strerror(errno));
	return 2;
}

/* ---- attacks, proven by a receiver on the far side ---- */

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
	int family, port;
};

/* A receiver bound to the target: UDP, or a TCP listener. */
static int receiver(const struct target *t, int type)
{
	int one = 1, fd = socket(t->family, type | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&t->ss, t->len) ||
	    (type == SOCK_STREAM && listen(fd, 4))) {
		perror("gg-net: receiver");
		close(fd);
		return -1;
	}
	return fd;
}

/* Did a byte reach fd within half a second? */
static bool arrived(int fd, bool stream)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];
	int c;

	if (poll(&p, 1, 500) != 1)
		return false;
	if (!stream)
		return recv(fd, buf, sizeof(buf), 0) > 0;
	c = accept(fd, NULL, NULL);
	if (c < 0)
		return false;
	p.fd = c;
	c = poll(&p, 1, 500) == 1 && recv(c, buf, sizeof(buf), 0) > 0;
	close(p.fd);
	return c;
}

static const char *send_result(int rc)
{
	if (rc >= 0)
		return "ok";
	return strerrorname_np(errno) ? strerrorname_np(errno) : "error";
}

static int verdict(const char *sent, bool got)
{
	printf("%s %s\n", sent, got ? "arrived" : "none");
	return got ? 0 : 1;
}

static __u16 csum(const void *data, size_t len)
{
	const __u16 *p = data;
	__u32 sum = 0;

	for (; len > 1; len -= 2)
		sum += *p++;
	if (len)
		sum += *(const __u8 *)p;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* An IPv4 + UDP datagram carrying data; saddr 0 lets IP_HDRINCL fill it. */
static size_t ip4_udp_data(__u8 *buf, __u32 saddr, __u32 daddr, int port, const char *data,
			   size_t n)
{
	struct iphdr *ip = (struct iphdr *)buf;
	struct udphdr *udp = (struct udphdr *)(ip + 1);

	memset(buf, 0, sizeof(*ip) + sizeof(*udp));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(sizeof(*ip) + sizeof(*udp) + n);
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = csum(ip, sizeof(*ip));
	udp->source = htons(40000);
	udp->dest = htons(port);
	udp->len = htons(sizeof(*udp) + n);
	memcpy(udp + 1, data, n); /* checksum 0: none, valid for IPv4 */
	return sizeof(*ip) + sizeof(*udp) + n;
}

static size_t ip4_udp(__u8 *buf, __u32 saddr, __u32 daddr, int port)
{
	return ip4_udp_data(buf, saddr, daddr, port, "x", 1);
}

/* GG_NET_MOVE_TO: after the socket is made, join another cgroup. */
static int move_after_socket(void)
{
	const char *to = getenv("GG_NET_MOVE_TO");
	FILE *f;
	int ok;

	if (!to)
		return 0;
	f = fopen(to, "w");
	if (!f)
		return -1;
	ok = fprintf(f, "%d\n", getpid()) > 0;
	return fclose(f) || !ok ? -1 : 0;
}

/* A raw IPPROTO_UDP socket: the payload is the UDP header and one byte. */
static int attack_raw(struct target *t, bool family0)
{
	struct udphdr u = { .source = htons(40000), .dest = htons(t->port) };
	__u8 buf[sizeof(u) + 1];
	int off = 6, fd, rfd = receiver(t, SOCK_DGRAM), rc;

	fd = socket(t->family, SOCK_RAW, IPPROTO_UDP);
	if (rfd < 0 || fd < 0)
		return verdict(send_result(-1), false);
	if (move_after_socket()) {
		perror("gg-net: GG_NET_MOVE_TO");
		return 2;
	}
	u.len = htons(sizeof(buf));
	memcpy(buf, &u, sizeof(u));
	buf[sizeof(u)] = 'x';
	/* IPv6 needs a UDP checksum: let the kernel compute it. */
	if (t->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off, sizeof(off));
	if (family0)
		t->ss.ss_family = 0;
	/* A raw socket's port field is its protocol (0: the socket's own). */
	((struct sockaddr_in *)&t->ss)->sin_port = 0;
	rc = sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&t->ss, t->len);
	return verdict(send_result(rc), arrived(rfd, false));
}

/* IP_HDRINCL: msg_name (routing) says VIA, the header says ADDR. */
static int attack_hdrincl(struct target *t, const char *via)
{
	struct sockaddr_in vin = { .sin_family = AF_INET };
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;
	int fd, rfd = receiver(t, SOCK_DGRAM), rc;
	__u8 buf[64];
	size_t n;

	if (t->family != AF_INET || inet_pton(AF_INET, via, &vin.sin_addr) != 1)
		return 3;
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* IP_HDRINCL implied */
	if (rfd < 0 || fd < 0)
		return verdict(send_result(-1), false);
	n = ip4_udp(buf, 0, sin->sin_addr.s_addr, t->port);
	rc = sendto(fd, buf, n, 0, (struct sockaddr *)&vin, sizeof(vin));
	return verdict(send_result(rc), arrived(rfd, false));
}

/* AF_PACKET (cooked): an IPv4 frame written straight to a device. */
static int attack_packet(struct target *t, const char *dev)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				  .sll_halen = ETH_ALEN };
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;
	int fd, rfd = receiver(t, SOCK_DGRAM), rc;
	__u8 buf[64];
	size_t n;

	if (t->family != AF_INET)
		return 3;
	ll.sll_ifindex = if_nametoindex(dev);
	fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	if (rfd < 0 || fd < 0 || !ll.sll_ifindex)
		return verdict(send_result(-1), false);
	if (move_after_socket()) {
		perror("gg-net: GG_NET_MOVE_TO");
		return 2;
	}
	/* From TEST-NET-1: a loopback or local source is martian on input. */
	n = ip4_udp(buf, inet_addr("192.0.2.1"), sin->sin_addr.s_addr, t->port);
	rc = sendto(fd, buf, n, 0, (struct sockaddr *)&ll, sizeof(ll));
	return verdict(send_result(rc), arrived(rfd, false));
}

/* A source route through via set on fd: the socket hooks see the sendto's
 * address, the packet leaves for via. */
static int set_source_route(int fd, int family, const char *via)
{
	if (family == AF_INET) {
		/* LSRR: type, length, pointer, the first hop; a NOP pads it */
		__u8 opt[8] = { 131, 7, 4, 0, 0, 0, 0, 1 };

		if (inet_pton(AF_INET, via, opt + 3) != 1)
			return -1;
		return setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, sizeof(opt));
	} else {
		/* type 4 (segment routing): segments[1] is the first hop, the
		 * kernel writes the sendto's address into segments[0] */
		struct {
			struct ip6_rthdr rt;
			__u8 first_segment, flags;
			__u16 tag;
			struct in6_addr segments[2];
		} srh = { .rt = { .ip6r_len = 4, .ip6r_type = 4, .ip6r_segleft = 1 },
			  .first_segment = 1 };

		if (inet_pton(AF_INET6, via, &srh.segments[1]) != 1)
			return -1;
		return setsockopt(fd, IPPROTO_IPV6, IPV6_RTHDR, &srh, sizeof(srh));
	}
}

static int attack_srcroute(struct target *t, const char *via)
{
	int fd, rfd = receiver(t, SOCK_DGRAM), rc;

	fd = socket(t->family, SOCK_DGRAM, 0);
	if (rfd < 0 || fd < 0)
		return verdict(send_result(-1), false);
	if (set_source_route(fd, t->family, via)) {
		perror("gg-net: source route");
		return 2;
	}
	rc = sendto(fd, "x", 1, 0, (struct sockaddr *)&t->ss, t->len);
	return verdict(send_result(rc), arrived(rfd, false));
}

/* Connected to via, so decided by its socket at the packet check; the
 * receiver is on the target. */
static int attack_rewritten(struct target *t, const char *via)
{
	struct sockaddr_storage vss;
	socklen_t vlen;
	int fd, rfd = receiver(t, SOCK_DGRAM), rc;

	if (parse(via, t->port, &vss, &vlen))
		return 3;
	fd = socket(t->family, SOCK_DGRAM, 0);
	if (rfd < 0 || fd < 0)
		return verdict(send_result(-1), false);
	rc = connect(fd, (struct sockaddr *)&vss, vlen);
	if (!rc)
		rc = send(fd, "x", 1, 0) == 1 ? 0 : -1;
	return verdict(send_result(rc), arrived(rfd, false));
}

static int attack_udp(struct target *t, bool unspec, bool mmsg)
{
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct mmsghdr mm[1] = { { .msg_hdr = { .msg_name = &t->ss, .msg_namelen = t->len,
						.msg_iov = &iov, .msg_iovlen = 1 } } };
	int fd, rfd = receiver(t, SOCK_DGRAM), rc;

	fd = socket(t->family, SOCK_DGRAM, 0);
	if (rfd < 0 || fd < 0)
		return verdict(send_result(-1), false);
	if (unspec)
		t->ss.ss_family = AF_UNSPEC; /* udp_sendmsg reads it as AF_INET */
	if (mmsg)
		rc = sendmmsg(fd, mm, 1, 0) == 1 ? 0 : -1;
	else
		rc = sendto(fd, "x", 1, 0, (struct sockaddr *)&t->ss, t->len);
	return verdict(send_result(rc), arrived(rfd, false));
}

static int attack_fastopen(struct target *t)
{
	int fd, rfd = receiver(t, SOCK_STREAM), rc;

	fd = socket(t->family, SOCK_STREAM, 0);
	if (rfd < 0 || fd < 0)
		return verdict(send_result(-1), false);
	rc = sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&t->ss, t->len);
	return verdict(send_result(rc), arrived(rfd, true));
}

/* An ICMP ping socket (unprivileged where ping_group_range allows). */
static int attack_ping(struct target *t)
{
	struct icmphdr h = { .type = ICMP_ECHO, .un.echo.sequence = htons(1) };
	int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), rc;

	if (t->family != AF_INET)
		return 3;
	if (fd < 0)
		return verdict(send_result(-1), false);
	rc = sendto(fd, &h, sizeof(h), 0, (struct sockaddr *)&t->ss, t->len);
	return verdict(send_result(rc), arrived(fd, false));
}

/* A family no inet protocol reads: the kernel refuses it (EAFNOSUPPORT);
 * the gate must not let it through unread either. */
static int attack_badfamily(struct target *t)
{
	int fd = socket(t->family, SOCK_DGRAM, 0), rfd = receiver(t, SOCK_DGRAM), rc;

	if (rfd < 0 || fd < 0)
		return verdict(send_result(-1), false);
	t->ss.ss_family = AF_APPLETALK;
	rc = sendto(fd, "x", 1, 0, (struct sockaddr *)&t->ss, t->len);
	return verdict(send_result(rc), arrived(rfd, false));
}

/*
 * connect() to 0.0.0.0 from a socket bound to ADDR (IPv4): the kernel's
 * route lookup puts the bound source in the empty destination, so the
 * packets go to ADDR. With IP_TRANSPARENT (CAP_NET_RAW; tried, not needed
 * for a local ADDR) ADDR may be any address. UDP, or TCP with one byte.
 */
static int attack_anyaddr(struct target *t, int type)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(t->port) };
	struct sockaddr_in src = *(struct sockaddr_in *)&t->ss;
	int one = 1, rfd = receiver(t, type), fd = socket(AF_INET, type, 0), rc;

	if (t->family != AF_INET)
		return 3;
	if (rfd < 0 || fd < 0)
		return verdict(send_result(-1), false);
	setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
	src.sin_port = htons(t->port + 1);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)))
		return verdict(send_result(-1), false);
	rc = connect(fd, (struct sockaddr *)&any, sizeof(any));
	if (rc == 0)
		rc = send(fd, "x", 1, MSG_NOSIGNAL) == 1 ? 0 : -1;
	return verdict(send_result(rc), arrived(rfd, type == SOCK_STREAM));
}

/* connect(AF_UNSPEC) dissolves an association: it must stay allowed. */
static int disconnect_unspec(struct target *t)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	int fd = socket(t->family, SOCK_DGRAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&t->ss, t->len))
		return report(-1);
	return report(connect(fd, &unspec, sizeof(unspec)));
}

/* Did the byte sent on c reach the accepted socket a within a second? */
static bool byte_arrives(int c, int a)
{
	struct pollfd p = { .fd = a, .events = POLLIN };
	char buf[16];

	if (send(c, "x", 1, MSG_NOSIGNAL) != 1)
		return false;
	return poll(&p, 1, 1000) == 1 && recv(a, buf, sizeof(buf), 0) > 0;
}

/* An open connection (a connected UDP socket: type SOCK_DGRAM) across a
 * policy change: is it cut? */
static int held(struct target *t, const char *go, int type)
{
	char ready[4096];
	bool first, second;
	int l, c, a, fd;

	snprintf(ready, sizeof(ready), "%s.ready", go);
	l = receiver(t, type);
	c = socket(t->family, type, 0);
	if (l < 0 || c < 0 || connect(c, (struct sockaddr *)&t->ss, t->len)) {
		report(-1);
		return 2;
	}
	a = type == SOCK_DGRAM ? l : -1;
	for (int i = 0; i < 100 && a < 0; i++, usleep(10000))
		a = accept(l, NULL, NULL);
	if (a < 0)
		return 2;
	first = byte_arrives(c, a);
	fd = open(ready, O_CREAT | O_WRONLY, 0644);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 3000 && access(go, F_OK); i++) /* 30 s */
		usleep(10000);
	second = byte_arrives(c, a);
	printf("%s %s\n", first ? "arrived" : "none", second ? "arrived" : "none");
	return 0;
}

/* The buffer another process writes into (gg-tamper vmpoke): volatile, so
 * every poll reads it again. */
static volatile char sentinel_order[128];

static void sentinel_give_fd(int lfd, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	int a = accept(lfd, NULL, NULL);

	if (a < 0)
		return;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(a, &m, 0) < 0)
		perror("gg-net: sentinel sendmsg");
	close(a);
}

/* What reached the TCP sentinel's receiver, appended to DIR/got. */
static void sentinel_got(int a, const char *dir)
{
	char path[4096], buf[256];
	ssize_t n = recv(a, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	FILE *f;

	if (n <= 0)
		return;
	buf[n] = '\0';
	snprintf(path, sizeof(path), "%s/got", dir);
	f = fopen(path, "a");
	if (f) {
		fprintf(f, "%s\n", buf);
		fclose(f);
	}
}

static int sentinel(struct target *t, const char *dir, const char *first, int type, bool cork)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char path[4096], order[sizeof(sentinel_order)];
	struct pollfd p[2] = { { .events = POLLIN }, { .fd = -1, .events = POLLIN } };
	int fd = socket(t->family, type, 0), lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	int rfd = type == SOCK_STREAM ? receiver(t, type) : -2;
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(9) };
	FILE *f;

	snprintf(un.sun_path, sizeof(un.sun_path), "%s/fd.sock", dir);
	unlink(un.sun_path);
	inet_pton(AF_INET, "198.51.100.7", &peer.sin_addr);
	if (cork && getenv("GG_NET_CORK_PEER") && t->family == AF_INET &&
	    connect(fd, (struct sockaddr *)&peer, sizeof(peer))) {
		perror("gg-net: sentinel peer");
		return 2;
	}
	if (fd < 0 || lfd < 0 || rfd == -1 || (!cork && connect(fd, (struct sockaddr *)&t->ss, t->len)) ||
	    bind(lfd, (struct sockaddr *)&un, sizeof(un)) || listen(lfd, 4)) {
		perror("gg-net: sentinel");
		return 2;
	}
	for (int i = 0; rfd >= 0 && p[1].fd < 0 && i < 100; i++, usleep(10000))
		p[1].fd = accept(rfd, NULL, NULL);
	if ((cork ? sendto(fd, first, strlen(first), MSG_MORE, (struct sockaddr *)&t->ss, t->len) :
		    send(fd, first, strlen(first), 0)) < 0)
		perror("gg-net: sentinel first send");
	snprintf(path, sizeof(path), "%s/ready", dir);
	f = fopen(path, "w");
	if (!f)
		return 2;
	fprintf(f, "%d %d %p\n", (int)getpid(), fd, (void *)sentinel_order);
	fclose(f);
	snprintf(path, sizeof(path), "%s/stop", dir);
	p[0].fd = lfd;
	for (int i = 0; i < 1200 && access(path, F_OK); i++) {
		if (poll(p, 2, 50) > 0) {
			if (p[0].revents & POLLIN)
				sentinel_give_fd(lfd, fd);
			if (p[1].revents & POLLIN)
				sentinel_got(p[1].fd, dir);
		}
		if (!sentinel_order[0])
			continue;
		for (size_t j = 0; j < sizeof(order); j++)
			order[j] = sentinel_order[j];
		order[sizeof(order) - 1] = '\0';
		sentinel_order[0] = '\0';
		if (send(fd, order, strlen(order), 0) < 0)
			perror("gg-net: sentinel send");
	}
	return 0;
}

/* Only makes a socket of a kind: what socket_create lets through. */
static int make_socket(const char *kind)
{
	static const struct {
		const char *name;
		int family, type, proto;
	} kinds[] = {
		{ "raw", AF_INET, SOCK_RAW, IPPROTO_UDP },
		{ "raw6", AF_INET6, SOCK_RAW, IPPROTO_UDP },
		{ "packet", AF_PACKET, SOCK_RAW, 0 }, /* protocol 0: receives nothing */
		{ "packet-dgram", AF_PACKET, SOCK_DGRAM, 0 },
		{ "xdp", AF_XDP, SOCK_RAW, 0 },
		{ "ping", AF_INET, SOCK_DGRAM, IPPROTO_ICMP },
		{ "udp", AF_INET, SOCK_DGRAM, 0 },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i].name))
			return report(socket(kinds[i].family, kinds[i].type, kinds[i].proto) < 0 ?
					      -1 :
					      0);
	fprintf(stderr, "gg-net: unknown socket kind %s\n", kind);
	return 3;
}

static const char *const attacks[] = { "unspec",   "raw",	  "raw0", "hdrincl",   "packet",
				       "sendmmsg", "fastopen", "ping", "badfamily", "disconnect",
				       "held",	   "held-udp", "srcroute", "rewritten", "anyaddr",
				       "anyaddr-tcp", "sentinel", "sentinel-tcp", "sentinel-cork",
				       NULL };

static bool is_attack(const char *mode)
{
	for (int i = 0; attacks[i]; i++)
		if (!strcmp(mode, attacks[i]))
			return true;
	return false;
}

static int attack(int argc, char **argv)
{
	const char *m = argv[1];
	struct target t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse(argv[2], argc > 3 ? atoi(argv[3]) : 0, &t.ss, &t.len))
		return 3;
	t.family = t.ss.ss_family;
	t.port = argc > 3 ? atoi(argv[3]) : 0;
	if (!strcmp(m, "held") || !strcmp(m, "held-udp"))
		return argc == 5 ? held(&t, argv[4], m[4] ? SOCK_DGRAM : SOCK_STREAM) : 3;
	if (!strcmp(m, "hdrincl") || !strcmp(m, "packet")) {
		if (argc != 5)
			return 3;
		return m[0] == 'h' ? attack_hdrincl(&t, argv[4]) : attack_packet(&t, argv[4]);
	}
	if (!strncmp(m, "sentinel", 8))
		return argc == 6 ? sentinel(&t, argv[4], argv[5],
					    strcmp(m, "sentinel-tcp") ? SOCK_DGRAM : SOCK_STREAM,
					    !strcmp(m, "sentinel-cork")) :
				   3;
	if (!strcmp(m, "srcroute"))
		return argc == 5 ? attack_srcroute(&t, argv[4]) : 3;
	if (!strcmp(m, "rewritten"))
		return argc == 5 ? attack_rewritten(&t, argv[4]) : 3;
	if (!strcmp(m, "ping"))
		return attack_ping(&t);
	if (argc != 4)
		return 3;
	if (!strcmp(m, "raw") || !strcmp(m, "raw0"))
		return attack_raw(&t, m[3] == '0');
	if (!strcmp(m, "fastopen"))
		return attack_fastopen(&t);
	if (!strcmp(m, "badfamily"))
		return attack_badfamily(&t);
	if (!strcmp(m, "disconnect"))
		return disconnect_unspec(&t);
	if (!strncmp(m, "anyaddr", 7))
		return attack_anyaddr(&t, m[7] ? SOCK_STREAM : SOCK_DGRAM);
	return attack_udp(&t, !strcmp(m, "unspec"), !strcmp(m, "sendmmsg"));
}

/* SO_RCVBUFFORCE (CAP_NET_ADMIN): a socket's own option, as sd-bus sets. */
static int rcvbuf_force(void)
{
	int n = 1 << 20, fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	rc = fd < 0 ? -1 : setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &n, sizeof(n));
	rc = report(rc);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int transparent(const char *v)
{
	bool free6 = !strcmp(v, "freebind6"), free4 = !strcmp(v, "freebind4");
	int six = !strcmp(v, "6") || free6, one = 1, rc, level, opt;
	int fd = socket(six ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);

	level = six ? SOL_IPV6 : SOL_IP;
	opt = free6 ? IPV6_FREEBIND : free4 ? IP_FREEBIND : six ? IPV6_TRANSPARENT : IP_TRANSPARENT;
	rc = fd < 0 ? -1 : setsockopt(fd, level, opt, &one, sizeof(one));
	rc = report(rc);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int vsock_listen(unsigned int port, const char *ready)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				  .svm_port = port };
	int lfd = socket(AF_VSOCK, SOCK_STREAM, 0), fd, got = 0;
	struct pollfd p = { .events = POLLIN };
	char c;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1)) {
		perror("gg-net: vsock listen");
		return 2;
	}
	close(open(ready, O_WRONLY | O_CREAT, 0644));
	p.fd = lfd;
	if (poll(&p, 1, 5000) == 1 && (fd = accept(lfd, NULL, NULL)) >= 0) {
		p.fd = fd;
		got = poll(&p, 1, 2000) == 1 && read(fd, &c, 1) == 1;
		close(fd);
	}
	printf("%s\n", got ? "arrived" : "none");
	close(lfd);
	return got ? 0 : 1;
}

static int vsock_send(unsigned int cid, unsigned int port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0), rc;

	rc = fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
			     write(fd, "x", 1) != 1 ? -1 : 0;
	rc = report(rc);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Attaches to the tun or tap device DEV (IFF_NO_PI); -1 with errno. */
static int tun_attach(const char *dev, short kind)
{
	struct ifreq ifr = { .ifr_flags = kind | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A datagram SRC -> DST:9 carrying MARK, written into the existing tun
 * device DEV: the stack receives it as from a NIC. Prints ok / EPERM. */
static int tun_inject(const char *dev, const char *src, const char *dst, const char *mark)
{
	struct in_addr s, d;
	__u8 buf[256];
	size_t n;
	int fd;

	if (inet_pton(AF_INET, src, &s) != 1 || inet_pton(AF_INET, dst, &d) != 1 ||
	    strlen(mark) > 128)
		return 3;
	fd = tun_attach(dev, IFF_TUN);
	if (fd < 0)
		return report(-1);
	n = ip4_udp_data(buf, s.s_addr, d.s_addr, 9, mark, strlen(mark));
	return report(write(fd, buf, n) == (ssize_t)n ? 0 : -1);
}

static int wire_igmp_group(int out, const __u8 *g, const __u8 *end, char *line, char *a)
{
	int n;

	if (g + 4 > end || !inet_ntop(AF_INET, g, a, INET_ADDRSTRLEN))
		return 0;
	n = snprintf(line, 32, "igmp:%s\n", a);
	return write(out, line, n) == n ? 0 : 2;
}

static int join(const char *dev, const char *group)
{
	struct group_req req = { .gr_interface = if_nametoindex(dev) };
	struct sockaddr_in *v4 = (struct sockaddr_in *)&req.gr_group;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&req.gr_group;
	int fd, rc, level = SOL_IP;

	if (inet_pton(AF_INET, group, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, group, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		level = SOL_IPV6;
	} else {
		return 3;
	}
	fd = socket(req.gr_group.ss_family, SOCK_DGRAM, 0);
	rc = fd < 0 ? -1 : setsockopt(fd, level, MCAST_JOIN_GROUP, &req, sizeof(req));
	rc = report(rc);
	fflush(stdout);
	if (rc == 0)
		sleep(1);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int anycast(const char *dev, const char *addr)
{
	struct ipv6_mreq req = { .ipv6mr_interface = if_nametoindex(dev) };
	int fd, rc;

	if (inet_pton(AF_INET6, addr, &req.ipv6mr_multiaddr) != 1)
		return 3;
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	rc = report(fd < 0 ? -1 : setsockopt(fd, SOL_IPV6, IPV6_JOIN_ANYCAST, &req, sizeof(req)));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* "igmp:GROUP" lines for each group an IGMPv2 or v3 report in the frame
 * names (an Ethernet frame from a tap). */
static int wire_igmp(int out, const __u8 *f, ssize_t n)
{
	const __u8 *ip = f + 14, *g, *end = f + n;
	char line[32], a[INET_ADDRSTRLEN];
	size_t ihl;

	if (n < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || ip[9] != IPPROTO_IGMP)
		return 0;
	ihl = (ip[0] & 15) * 4;
	g = ip + ihl;
	if (g + 8 > end)
		return 0;
	if (g[0] == 0x16) /* v2 membership report: the group follows */
		return wire_igmp_group(out, g + 4, end, line, a);
	if (g[0] != 0x22) /* v3 membership report: records follow */
		return 0;
	for (unsigned int i = 0, n_rec = g[6] << 8 | g[7], at = 8; i < n_rec; i++) {
		const __u8 *r = g + at;

		if (r + 8 > end || wire_igmp_group(out, r + 4, end, line, a))
			return r + 8 > end ? 0 : 2;
		at += 8 + (r[2] << 8 | r[3]) * 4 + r[1] * 4;
	}
	return 0;
}

/* "nd:TARGET" for an IPv6 neighbour solicitation in the frame. */
static int wire_nd(int out, const __u8 *f, ssize_t n)
{
	const __u8 *ip6 = f + 14, *icmp = ip6 + 40;
	char line[64], a[INET6_ADDRSTRLEN];
	int len;

	if (n < 14 + 40 + 24 || f[12] != 0x86 || f[13] != 0xdd || ip6[6] != IPPROTO_ICMPV6 ||
	    icmp[0] != 135 || !inet_ntop(AF_INET6, icmp + 8, a, sizeof(a)))
		return 0;
	len = snprintf(line, sizeof(line), "nd:%s\n", a);
	return write(out, line, len) == len ? 0 : 2;
}

/*
 * The far side of a wire: makes the tap device DEV and reads every frame
 * written to it (what a NIC would put on the wire), until killed. Each
 * "ggwire:WORD" found in a frame appends WORD and a newline to LOG. READY
 * is made once DEV exists.
 */
static int wire(const char *dev, const char *log, const char *ready)
{
	static const char tag[] = "ggwire:";
	__u8 buf[65536];
	int fd = tun_attach(dev, IFF_TAP), out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	ssize_t n;

	if (fd < 0 || out < 0) {
		perror("gg-net: wire");
		return 2;
	}
	close(open(ready, O_WRONLY | O_CREAT, 0644));
	while ((n = read(fd, buf, sizeof(buf))) >= 0) {
		__u8 *p = memmem(buf, n, tag, sizeof(tag) - 1), *w, *end = buf + n;

		if (wire_igmp(out, buf, n) || wire_nd(out, buf, n))
			return 2;
		if (!p)
			continue;
		for (w = p += sizeof(tag) - 1; w < end && *w > ' ' && *w < 0x7f; w++)
			;
		if (w > p) {
			*w = '\n';
			if (write(out, p, w - p + 1) < 0)
				return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, lfd = -1, rc;

	/* GG_NET_FORK: the verb runs in a forked child (a subshell's connect) */
	if (getenv("GG_NET_FORK")) {
		pid_t child = fork();

		if (child > 0) {
			if (waitpid(child, &rc, 0) < 0 || !WIFEXITED(rc))
				return 3;
			return WEXITSTATUS(rc);
		}
		if (child < 0)
			return 3;
	}
	if (argc == 5 && !strcmp(argv[1], "storm") && !parse(argv[2], atoi(argv[3]), &ss, &len)) {
		long n = atol(argv[4]), denied = 0;

		for (long i = 0; i < n; i++) {
			fd = socket(ss.ss_family, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&ss, len) && errno == EPERM)
				denied++;
			close(fd);
		}
		printf("%ld\n", denied);
		return 0;
	}
	if (argc >= 3 && is_attack(argv[1]))
		return attack(argc, argv);
	if (argc == 5 && !strcmp(argv[1], "wire"))
		return wire(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "anycast"))
		return anycast(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "join"))
		return join(argv[2], argv[3]);
	if (argc == 6 && !strcmp(argv[1], "tun"))
		return tun_inject(argv[2], argv[3], argv[4], argv[5]);
	if (argc == 2 && !strcmp(argv[1], "rcvbufforce"))
		return rcvbuf_force();
	if (argc == 3 && !strcmp(argv[1], "transparent"))
		return transparent(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "socket"))
		return make_socket(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "vsock-listen"))
		return vsock_listen(atoi(argv[2]), argv[3]);
	if (argc == 4 && !strcmp(argv[1], "vsock"))
		return vsock_send(atoi(argv[2]), atoi(argv[3]));
	if (argc != 4 || parse(argv[2], atoi(argv[3]), &ss, &len)) {
		fprintf(stderr, "usage: gg-net connect|sendto|pair ADDR PORT\n");
		return 3;
	}
	if (!strcmp(argv[1], "sendto")) {
		fd = socket(ss.ss_family, SOCK_DGRAM, 0);
		rc = sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) == 1 ? 0 : -1;
		return report(rc);
	}
	if (!strcmp(argv[1], "pair")) {
		int one = 1;

		lfd = socket(ss.ss_family, SOCK_STREAM, 0);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 1)) {
			perror("gg-net: listen");
			return 2;
		}
	} else if (strcmp(argv[1], "connect")) {
		fprintf(stderr, "usage: gg-net connect|sendto|pair ADDR PORT\n");
		return 3;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	rc = connect(fd, (struct sockaddr *)&ss, len);
	rc = report(rc);
	close(fd);
	if (lfd >= 0)
		close(lfd);
	return rc;
}
