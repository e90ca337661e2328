// SPDX-License-Identifier: GPL-2.0
/*
 * ggbench: the measuring programs of the govgate benchmarks (bench/run.sh).
 * Every loop is bounded: by a duration and by a maximum count.
 *
 *   ggbench exec SECS [PROG]
 *       posix_spawn(PROG, default /bin/true) + waitpid in a loop for SECS
 *       seconds; prints "execs N secs S rate R". Exit 2 if a child did not
 *       exit 0 (the benchmarked program was killed or failed: breakage).
 *
 *   ggbench connect SECS [ADDR]
 *       listens on ADDR (default 127.0.0.1; an ephemeral port) in the current network
 *       namespace, then connect + accept + close in a loop for SECS seconds;
 *       the client socket closes with SO_LINGER 0 (RST, no TIME_WAIT), so
 *       the port range never runs out. Prints "connects N secs S rate R".
 *       Exit 2 on any connect error.
 *
 *   ggbench storm ADDR PORT COUNT RATE
 *       COUNT TCP connects to ADDR:PORT (IPv4) paced at RATE per second
 *       (0 = as fast as possible); prints "attempted N denied D secs S rate R".
 *       Every attempt is expected to be denied (EPERM).
 *
 *   ggbench gen N SEED PACK NFT IPT
 *       N distinct, non-overlapping random IPv4 prefixes (/20 to /32) none of
 *       which covers 0/8, 127/8 (loopback), 169.254/16 or 224/3, written as
 *       one pack file with a single net.egress rule (PACK), an nft script
 *       with the same prefixes in an interval set (NFT), and an
 *       iptables-restore file with one rule per prefix (IPT). "-" skips a
 *       file.
 *
 *   ggbench time CMD [ARG...]
 *       runs CMD, prints "wall S maxrss_kb K rc R" on stderr, exits with
 *       CMD's status.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double parse_secs(const char *s)
{
	double v = atof(s);

	if (v <= 0 || v > 600) {
		fprintf(stderr, "ggbench: duration must be in (0, 600] seconds\n");
		exit(3);
	}
	return v;
}

/* ---- exec -------------------------------------------------------------- */

static int cmd_exec(int argc, char **argv)
{
	const char *prog = argc > 1 ? argv[1] : "/bin/true";
	char *cargv[] = { (char *)prog, NULL };
	double secs = parse_secs(argv[0]), t0, t;
	long n = 0;
	const long max = 10000000;

	/* Warm the page cache and the dentry cache. */
	for (int i = 0; i < 20; i++) {
		pid_t pid;
		int st;

		if (posix_spawn(&pid, prog, NULL, NULL, cargv, environ) ||
		    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "ggbench exec: %s did not run and exit 0\n", prog);
			return 2;
		}
	}
	t0 = now();
	do {
		for (int i = 0; i < 16; i++, n++) {
			pid_t pid;
			int st, rc;

			rc = posix_spawn(&pid, prog, NULL, NULL, cargv, environ);
			if (rc) {
				fprintf(stderr, "ggbench exec: posix_spawn: %s\n", strerror(rc));
				return 2;
			}
			if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
				fprintf(stderr, "ggbench exec: %s: child status 0x%x\n", prog, st);
				return 2;
			}
		}
		t = now();
	} while (t - t0 < secs && n < max);
	printf("execs %ld secs %.6f rate %.2f\n", n, t - t0, n / (t - t0));
	return 0;
}

/* ---- connect ----------------------------------------------------------- */

static int cmd_connect(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	socklen_t len = sizeof(sin);
	double secs = parse_secs(argv[0]), t0, t;
	int lfd, one = 1;
	long n = 0;
	const long max = 100000000;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* another address on lo: one the gate decides (bench/dns.sh) */
	if (argc > 1 && inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1)
		return 3;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 1024) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len)) {
		fprintf(stderr, "ggbench connect: listener: %s\n", strerror(errno));
		return 2;
	}
	t0 = now();
	for (int warm = 1; warm >= 0; warm--) {
		do {
			for (int i = 0; i < 8; i++, n++) {
				int fd = socket(AF_INET, SOCK_STREAM, 0), afd;

				if (fd < 0) {
					fprintf(stderr, "ggbench connect: socket: %s\n", strerror(errno));
					return 2;
				}
				if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
					fprintf(stderr, "ggbench connect: connect %s:%u: %s\n",
						inet_ntoa(sin.sin_addr), ntohs(sin.sin_port),
						strerror(errno));
					return 2;
				}
				afd = accept(lfd, NULL, NULL);
				if (afd < 0) {
					fprintf(stderr, "ggbench connect: accept: %s\n", strerror(errno));
					return 2;
				}
				setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
				close(fd);
				close(afd);
			}
			t = now();
		} while (t - t0 < (warm ? 0.05 : secs) && n < max);
		if (warm) { /* 50 ms of warm-up, not counted */
			n = 0;
			t0 = now();
		}
	}
	printf("connects %ld secs %.6f rate %.2f\n", n, t - t0, n / (t - t0));
	return 0;
}

/* ---- storm ------------------------------------------------------------- */

static int cmd_storm(char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	long count = atol(argv[2]), denied = 0, n;
	double rate = atof(argv[3]), t0, t;
	int fd = -1;

	if (inet_pton(AF_INET, argv[0], &sin.sin_addr) != 1 || count <= 0 ||
	    count > 100000000 || rate < 0) {
		fprintf(stderr, "ggbench storm: bad ADDR, COUNT or RATE\n");
		return 3;
	}
	sin.sin_port = htons(atoi(argv[1]));
	t0 = now();
	for (n = 0; n < count; n++) {
		/* Pacing: attempt n is due at t0 + n / rate. */
		if (rate > 0 && (n & 15) == 0) {
			double due = t0 + n / rate;

			while ((t = now()) < due) {
				if (due - t > 200e-6) {
					struct timespec ts = { 0, (long)((due - t) * 1e9) - 100000 };

					nanosleep(&ts, NULL);
				}
			}
		}
		if (fd < 0)
			fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			fprintf(stderr, "ggbench storm: socket: %s\n", strerror(errno));
			return 2;
		}
		/* A denied connect leaves the socket unconnected: reuse it. */
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) && errno == EPERM) {
			denied++;
		} else {
			close(fd);
			fd = -1;
		}
	}
	t = now();
	if (fd >= 0)
		close(fd);
	printf("attempted %ld denied %ld secs %.6f rate %.2f\n", count, denied, t - t0,
	       count / (t - t0));
	return 0;
}

/* ---- gen --------------------------------------------------------------- */

struct pfx {
	uint32_t addr; /* host order, host bits clear */
	uint8_t plen;
};

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int pfx_cmp(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (int)x->plen - (int)y->plen;
}

static uint64_t pfx_last(const struct pfx *p)
{
	return (uint64_t)p->addr + (1ULL << (32 - p->plen)) - 1;
}

static struct pfx random_pfx(void)
{
	for (;;) {
		uint32_t a = (uint32_t)rnd();
		uint8_t plen = 20 + rnd() % 13, top = a >> 24;
		struct pfx p;

		/* never the benchmark's destination, 198.18.0.1 (bench/run.sh:
		 * 198.18.0.0/15, RFC 2544's benchmarking range), loopback or
		 * link-local (the floor's metadata addresses) */
		if (top == 0 || top == 127 || top >= 224 || (a >> 16) == 0xa9fe ||
		    (a >> 17) == (0xc6120000u >> 17))
			continue;
		p.plen = plen;
		p.addr = a & (plen ? ~0u << (32 - plen) : 0);
		return p;
	}
}

/* Sorted, then every prefix that starts inside the previous kept one is
 * dropped: prefixes either nest or are disjoint, so what is left is
 * disjoint. Returns the count kept. */
static size_t dedupe(struct pfx *v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), pfx_cmp);
	for (size_t i = 0; i < n; i++) {
		if (k && v[i].addr <= pfx_last(&v[k - 1]))
			continue;
		v[k++] = v[i];
	}
	return k;
}

static void fmt_pfx(const struct pfx *p, char *buf, size_t sz)
{
	snprintf(buf, sz, "%u.%u.%u.%u/%u", p->addr >> 24, (p->addr >> 16) & 255,
		 (p->addr >> 8) & 255, p->addr & 255, p->plen);
}

static FILE *open_out(const char *path)
{
	FILE *f;

	if (!strcmp(path, "-"))
		return NULL;
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "ggbench gen: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return f;
}

static int cmd_gen(char **argv)
{
	long want = atol(argv[0]);
	size_t n = 0, cap;
	struct pfx *v;
	FILE *pack, *nft, *ipt;
	char buf[32];

	if (want <= 0 || want > 16000000) {
		fprintf(stderr, "ggbench gen: N must be in 1..16000000\n");
		return 3;
	}
	rng_state = strtoull(argv[1], NULL, 0);
	cap = want + want / 4 + 16;
	v = malloc(cap * sizeof(*v));
	if (!v)
		return 2;
	for (int round = 0; n < (size_t)want; round++) {
		if (round > 100) {
			fprintf(stderr, "ggbench gen: could not draw %ld disjoint prefixes\n", want);
			return 2;
		}
		while (n < cap)
			v[n++] = random_pfx();
		n = dedupe(v, n);
	}
	/* Keep a random subset of exactly `want`: shuffle, cut, sort again. */
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1);
		struct pfx t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
	n = want;
	qsort(v, n, sizeof(*v), pfx_cmp);

	pack = open_out(argv[2]);
	nft = open_out(argv[3]);
	ipt = open_out(argv[4]);
	if (pack) {
		fprintf(pack,
			"{ \"name\": \"ggbench-%ld\", \"version\": \"v1\",\n"
			"  \"description\": \"benchmark: %ld random denied IPv4 prefixes\",\n"
			"  \"framework\": { \"id\": \"ggbench\", \"title\": \"govgate benchmark\" },\n"
			"  \"controls\": [ { \"id\": \"BENCH-1\", \"title\": \"random denied prefixes\", \"status\": \"enforced\" } ],\n"
			"  \"rules\": [ { \"id\": \"bench-deny-prefixes\", \"gate\": \"net.egress\", \"controls\": [\"BENCH-1\"],\n"
			"    \"match\": { \"cidrs\": [\n",
			want, want);
		for (size_t i = 0; i < n; i++) {
			fmt_pfx(&v[i], buf, sizeof(buf));
			fprintf(pack, "      \"%s\"%s\n", buf, i + 1 < n ? "," : "");
		}
		fprintf(pack, "    ] } } ] }\n");
	}
	if (nft) {
		fprintf(nft, "table ip ggbench {\n"
			     "\tset deny { type ipv4_addr; flags interval; }\n"
			     "\tchain out { type filter hook output priority 0; policy accept; ip daddr @deny drop; }\n"
			     "}\n");
		for (size_t i = 0; i < n; i += 10000) {
			fprintf(nft, "add element ip ggbench deny {");
			for (size_t j = i; j < n && j < i + 10000; j++) {
				fmt_pfx(&v[j], buf, sizeof(buf));
				fprintf(nft, "%s%s", j > i ? ", " : " ", buf);
			}
			fprintf(nft, " }\n");
		}
	}
	if (ipt) {
		fprintf(ipt, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
		for (size_t i = 0; i < n; i++) {
			fmt_pfx(&v[i], buf, sizeof(buf));
			fprintf(ipt, "-A OUTPUT -d %s -j DROP\n", buf);
		}
		fprintf(ipt, "COMMIT\n");
	}
	free(v);
	if ((pack && fclose(pack)) || (nft && fclose(nft)) || (ipt && fclose(ipt))) {
		fprintf(stderr, "ggbench gen: write: %s\n", strerror(errno));
		return 2;
	}
	return 0;
}

/* ---- time -------------------------------------------------------------- */

static int cmd_time(char **argv)
{
	struct rusage ru;
	double t0 = now();
	pid_t pid;
	int st, rc;

	rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (rc) {
		fprintf(stderr, "ggbench time: %s: %s\n", argv[0], strerror(rc));
		return 127;
	}
	if (wait4(pid, &st, 0, &ru) != pid)
		return 127;
	rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	fprintf(stderr, "wall %.6f maxrss_kb %ld rc %d\n", now() - t0, ru.ru_maxrss, rc);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "exec") && argc <= 4)
		return cmd_exec(argc - 2, argv + 2);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "connect"))
		return cmd_connect(argc - 2, argv + 2);
	if (argc == 6 && !strcmp(argv[1], "storm"))
		return cmd_storm(argv + 2);
	if (argc == 7 && !strcmp(argv[1], "gen"))
		return cmd_gen(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "time"))
		return cmd_time(argv + 2);
	fprintf(stderr, "usage: ggbench exec SECS [PROG] | connect SECS [ADDR] | storm ADDR PORT COUNT RATE\n"
			"       | gen N SEED PACK|- NFT|- IPT|- | time CMD [ARG...]\n");
	return 3;
}
