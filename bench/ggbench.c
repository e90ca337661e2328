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
 *   ggbench connect-pair SECS ADDR GOVERNED_CGROUP BASE_CGROUP [LISTENER_CGROUP]
 *       the same connect, in two children: one in each cgroup (v2
 *       directories), each with its own listener on ADDR, both and this
 *       process pinned to one CPU. With LISTENER_CGROUP, each child makes
 *       its listener in that cgroup (a socket, and what it accepts, stays
 *       in the cgroup it was made in): a client connecting to a server
 *       that is not governed. They take turns, batches of 64 connects,
 *       G B G B ... G, for SECS seconds after 16 pairs of warm-up (at least
 *       16 pairs): slow drift of the machine (other jobs, frequency, the
 *       host) hits both alike. Per B batch: ratio = its time / the time of
 *       the G batch before it, or after it every other time (the governed
 *       rate as a share of the baseline's; the order cancels out). Prints
 *       "pairs N connects C ratio R p25 Q1 p75 Q3 ns_governed TG ns_base TB"
 *       (medians over the pairs; C per side; TG, TB: ns per connect). Exit
 *       2 on any error, and a connect still hanging SECS + 60 s in ends
 *       the run.
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
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
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

/* A listener on addr (port 0: an ephemeral one); sin gets its address.
 * -2: addr is not an IPv4 address; -1: no listener. */
static int listen_on(const char *addr, struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int lfd, one = 1;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* another address on lo: one the gate decides (bench/dns.sh) */
	if (addr && inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
		return -2;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)sin, sizeof(*sin)) || listen(lfd, 1024) ||
	    getsockname(lfd, (struct sockaddr *)sin, &len)) {
		fprintf(stderr, "ggbench connect: listener: %s\n", strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	return lfd;
}

/* One connect + accept + close; the client closes with SO_LINGER 0. */
static int connect_once(int lfd, const struct sockaddr_in *sin)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), afd;

	if (fd < 0) {
		fprintf(stderr, "ggbench connect: socket: %s\n", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin))) {
		fprintf(stderr, "ggbench connect: connect %s:%u: %s\n", inet_ntoa(sin->sin_addr),
			ntohs(sin->sin_port), strerror(errno));
		close(fd);
		return -1;
	}
	afd = accept(lfd, NULL, NULL);
	if (afd < 0) {
		fprintf(stderr, "ggbench connect: accept: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	close(afd);
	return 0;
}

static int cmd_connect(int argc, char **argv)
{
	double secs = parse_secs(argv[0]), t0, t;
	struct sockaddr_in sin;
	long n = 0;
	const long max = 100000000;
	int lfd = listen_on(argc > 1 ? argv[1] : NULL, &sin);

	if (lfd < 0)
		return lfd == -2 ? 3 : 2;
	t0 = now();
	for (int warm = 1; warm >= 0; warm--) {
		do {
			for (int i = 0; i < 8; i++, n++)
				if (connect_once(lfd, &sin))
					return 2;
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

/* ---- connect-pair ------------------------------------------------------ */

#define PAIR_BATCH 64 /* connects per batch: about 1.4 ms here */
#define PAIR_WARM 16 /* pairs run first, counted neither in SECS nor in the result */
#define PAIR_MIN 16 /* pairs measured at least, however long they take */
#define PAIR_MAX 100000
#define PAIR_SLACK_S 60 /* beyond SECS: a connect that hangs ends the run */

struct pair_child {
	pid_t pid;
	int cmd, res; /* the parent's ends: a byte in, a batch's ns out */
};

static void join_cgroup(const char *cg)
{
	char path[4096], pid[32];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", getpid());
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0) {
		fprintf(stderr, "ggbench connect-pair: join %s: %s\n", path, strerror(errno));
		_exit(2);
	}
	close(fd);
}

/* The child's loop: listens (in lcg, if given: a socket stays in the
 * cgroup it was made in, and so do the connections it accepts), joins cg,
 * and runs a batch per byte read. */
static void pair_child_run(const char *cg, const char *lcg, const char *addr, int cmd, int res,
			   unsigned int alarm_s)
{
	struct sockaddr_in sin;
	int lfd;
	char c;

	join_cgroup(lcg ? lcg : cg);
	lfd = listen_on(addr, &sin);
	if (lfd < 0)
		_exit(2);
	join_cgroup(cg);
	alarm(alarm_s); /* a connect that never completes: killed, the parent sees EOF */
	while (read(cmd, &c, 1) == 1) {
		struct timespec a, b;
		uint64_t ns;

		clock_gettime(CLOCK_MONOTONIC, &a);
		for (int i = 0; i < PAIR_BATCH; i++)
			if (connect_once(lfd, &sin))
				_exit(2);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ULL + b.tv_nsec - a.tv_nsec;
		if (write(res, &ns, sizeof(ns)) != sizeof(ns))
			_exit(2);
	}
	_exit(0);
}

static int pair_child_start(struct pair_child *ch, const char *cg, const char *lcg,
			    const char *addr, unsigned int alarm_s)
{
	int cmd[2], res[2];

	if (pipe(cmd) || pipe(res))
		return -1;
	ch->pid = fork();
	if (ch->pid < 0)
		return -1;
	if (ch->pid == 0) {
		close(cmd[1]);
		close(res[0]);
		pair_child_run(cg, lcg, addr, cmd[0], res[1], alarm_s);
	}
	close(cmd[0]);
	close(res[1]);
	ch->cmd = cmd[1];
	ch->res = res[0];
	return 0;
}

/* One batch of ch; its time in ns, or 0 if the child failed. */
static uint64_t pair_batch(struct pair_child *ch)
{
	uint64_t ns = 0;

	if (write(ch->cmd, "b", 1) != 1 || read(ch->res, &ns, sizeof(ns)) != sizeof(ns))
		return 0;
	return ns;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double quantile(double *v, long n, double q)
{
	return v[(long)(q * (n - 1) + 0.5)];
}

/* Both children and this process on one CPU: the batches take turns on it. */
static int pin_one_cpu(void)
{
	cpu_set_t set;
	int cpu = -1;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			cpu = i; /* the last allowed one */
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int cmd_connect_pair(int argc, char **argv)
{
	double secs = parse_secs(argv[0]), t0 = 0, *ratio = NULL, *gov = NULL, *base = NULL;
	struct pair_child g = { .pid = -1 }, b = { .pid = -1 };
	unsigned int alarm_s;
	const char *lcg = argc > 4 ? argv[4] : NULL;
	struct in_addr a;
	long n = 0, k = 0;
	uint64_t tg;
	int rc = 2;

	if (inet_pton(AF_INET, argv[1], &a) != 1) {
		fprintf(stderr, "ggbench connect-pair: %s: not an IPv4 address\n", argv[1]);
		return 3;
	}
	if (pin_one_cpu()) {
		fprintf(stderr, "ggbench connect-pair: sched_setaffinity: %s\n", strerror(errno));
		return 2;
	}
	ratio = calloc(PAIR_MAX, sizeof(*ratio));
	gov = calloc(PAIR_MAX, sizeof(*gov));
	base = calloc(PAIR_MAX, sizeof(*base));
	signal(SIGPIPE, SIG_IGN); /* a child gone: the write fails, reported below */
	alarm_s = (unsigned int)secs + PAIR_SLACK_S;
	if (!ratio || !gov || !base || pair_child_start(&g, argv[2], lcg, argv[1], alarm_s) ||
	    pair_child_start(&b, argv[3], lcg, argv[1], alarm_s))
		goto cleanup;
	alarm(alarm_s + 10);
	/* G B G B ... G: every batch runs right after the other child's. Each
	 * B is paired with the G before it or, every other time, the G after
	 * it: the order cancels out. (Not with their mean: a slow outlier
	 * among two Gs is likelier than in one B, which biased an A/A run by
	 * -1.3 %.) */
	tg = pair_batch(&g);
	for (k = 0; k < PAIR_MAX + PAIR_WARM && tg; k++) {
		uint64_t tb = pair_batch(&b), tg_next = tb ? pair_batch(&g) : 0;

		if (!tb || !tg_next) {
			tg = 0;
			break;
		}
		if (k + 1 == PAIR_WARM)
			t0 = now(); /* the warm-up is not counted */
		if (k >= PAIR_WARM) {
			uint64_t tgp = k & 1 ? tg_next : tg;

			ratio[n] = (double)tb / tgp;
			gov[n] = (double)tgp / PAIR_BATCH;
			base[n] = (double)tb / PAIR_BATCH;
			n++;
			if (n >= PAIR_MIN && now() - t0 >= secs)
				break;
		}
		tg = tg_next;
	}
	if (!tg) {
		fprintf(stderr, "ggbench connect-pair: a batch failed\n");
		goto cleanup;
	}
	qsort(ratio, n, sizeof(*ratio), dbl_cmp);
	qsort(gov, n, sizeof(*gov), dbl_cmp);
	qsort(base, n, sizeof(*base), dbl_cmp);
	printf("pairs %ld connects %ld ratio %.5f p25 %.5f p75 %.5f ns_governed %.1f ns_base %.1f\n",
	       n, n * PAIR_BATCH, quantile(ratio, n, 0.5), quantile(ratio, n, 0.25),
	       quantile(ratio, n, 0.75), quantile(gov, n, 0.5), quantile(base, n, 0.5));
	rc = 0;
cleanup:
	/* every pipe first: the second child holds a copy of the first's */
	for (struct pair_child *ch = &g; ch; ch = ch == &g ? &b : NULL) {
		if (ch->pid > 0) {
			close(ch->cmd);
			close(ch->res);
		}
	}
	for (struct pair_child *ch = &g; ch; ch = ch == &g ? &b : NULL)
		if (ch->pid > 0 && waitpid(ch->pid, NULL, 0) != ch->pid)
			rc = 2;
	free(ratio);
	free(gov);
	free(base);
	return rc;
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
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "connect-pair"))
		return cmd_connect_pair(argc - 2, argv + 2);
	if (argc == 6 && !strcmp(argv[1], "storm"))
		return cmd_storm(argv + 2);
	if (argc == 7 && !strcmp(argv[1], "gen"))
		return cmd_gen(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "time"))
		return cmd_time(argv + 2);
	fprintf(stderr, "usage: ggbench exec SECS [PROG] | connect SECS [ADDR]\n"
			"       | connect-pair SECS ADDR GOVERNED_CGROUP BASE_CGROUP [LISTENER_CGROUP] | storm ADDR PORT COUNT RATE\n"
			"       | gen N SEED PACK|- NFT|- IPT|- | time CMD [ARG...]\n");
	return 3;
}
