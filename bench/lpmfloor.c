// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's own share of an apply of N prefixes (docs/performance.md,
 * "Apply, third pass"): an LPM trie shaped as egress_v4 (key: prefixlen,
 * slot, program, address; NO_PREALLOC, 4M entries), N disjoint random
 * prefixes /20-/32 as `ggbench gen` draws them, sorted as the compiler
 * emits them, written into slot 1 while slot 0 holds as many, then timed:
 * BPF_MAP_UPDATE_BATCH of all of them (what an apply's insert is), a
 * BPF_MAP_LOOKUP_BATCH walk of the map (finding a slot's keys, which
 * govgate no longer does when it knows them) and BPF_MAP_DELETE_BATCH of
 * them. CPU time of this process (the syscalls run in it) and wall time.
 * Needs root (or CAP_BPF).
 *
 *   build/bench/lpmfloor [N]       (default 1000000)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

struct key {
	uint32_t prefixlen, slot, prog;
	uint8_t addr[4];
};

struct val {
	uint32_t entry, action, port_node, pad;
};

static uint64_t rng = 0x1234;

static uint64_t rnd(void) /* splitmix64, as ggbench */
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* n disjoint prefixes, each as addr << 8 | plen, sorted. */
static size_t draw(uint64_t *v, size_t n)
{
	size_t k = 0, want = n + n / 4;
	uint64_t *all = calloc(want, sizeof(*all));

	for (size_t i = 0; i < want; i++) {
		uint32_t a = (uint32_t)rnd(), plen = 20 + rnd() % 13;

		if (a >> 24 == 0 || a >> 24 == 127 || a >> 24 >= 224) {
			i--;
			continue;
		}
		all[i] = (uint64_t)(a & ~0u << (32 - plen)) << 8 | plen;
	}
	qsort(all, want, sizeof(*all), cmp64);
	for (size_t i = 0; i < want && k < n; i++) {
		uint64_t last = k ? (v[k - 1] >> 8) + (1ULL << (32 - (v[k - 1] & 255))) - 1 : 0;

		if (k && (all[i] >> 8) <= last)
			continue;
		v[k++] = all[i];
	}
	free(all);
	return k;
}

static double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void fill(struct key *k, const uint64_t *v, size_t n, uint32_t slot)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t a = htonl((uint32_t)(v[i] >> 8));

		k[i] = (struct key){ .prefixlen = 64 + (v[i] & 255), .slot = htonl(slot) };
		memcpy(k[i].addr, &a, 4);
	}
}

#define TIMED(label, expr)                                                             \
	do {                                                                            \
		double c0 = cpu_s(), w0 = wall_s();                                     \
		int r_ = (expr);                                                        \
		printf("%-28s cpu %.3f s  wall %.3f s%s\n", label, cpu_s() - c0,         \
		       wall_s() - w0, r_ ? "  (failed)" : "");                          \
	} while (0)

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_NO_PREALLOC);
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	uint64_t *v = calloc(n, sizeof(*v));
	struct key *k0 = calloc(n, sizeof(*k0)), *k1 = calloc(n, sizeof(*k1));
	struct key *kb = calloc(65536, sizeof(*kb));
	struct val *vals = calloc(n, sizeof(*vals)), *vb = calloc(65536, sizeof(*vb));
	struct key in, out;
	size_t seen = 0;
	__u32 count;
	int fd, r;

	n = draw(v, n);
	fill(k0, v, n, 0);
	fill(k1, v, n, 1);
	for (size_t i = 0; i < n; i++)
		vals[i] = (struct val){ .entry = 1, .action = 1 };
	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "lpmfloor", sizeof(struct key),
			    sizeof(struct val), 4 << 20, &mo);
	if (fd < 0) {
		perror("bpf_map_create");
		return 1;
	}
	printf("%zu prefixes\n", n);
	count = n;
	TIMED("update_batch slot 0", bpf_map_update_batch(fd, k0, vals, &count, &bo));
	count = n;
	TIMED("update_batch slot 1", bpf_map_update_batch(fd, k1, vals, &count, &bo));
	TIMED("lookup_batch walk (2n keys)", ({
		      void *inp = NULL;

		      do {
			      count = 65536;
			      r = bpf_map_lookup_batch(fd, inp, &out, kb, vb, &count, &bo);
			      seen += count;
			      in = out;
			      inp = &in;
		      } while (!r);
		      errno == ENOENT ? 0 : r;
	      }));
	count = n;
	TIMED("delete_batch slot 0", bpf_map_delete_batch(fd, k0, &count, &bo));
	count = n;
	TIMED("update_batch slot 0 again", bpf_map_update_batch(fd, k0, vals, &count, &bo));
	printf("walk saw %zu keys\n", seen);
	return 0;
}
