// SPDX-License-Identifier: GPL-2.0
/*
 * Which batch operations each of govgate's map types takes on this kernel
 * (docs/performance.md, "Apply"): creates each type with 16 entries and
 * tries BPF_MAP_UPDATE_BATCH, LOOKUP_BATCH, DELETE_BATCH and
 * LOOKUP_AND_DELETE_BATCH on 4 keys. Needs root (or CAP_BPF).
 *
 *   build/bench/batchprobe
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

struct probe {
	const char *name;
	enum bpf_map_type type;
	__u32 key, val;
	__u32 flags;
};

static const char *verdict(int ret)
{
	if (!ret || errno == ENOENT)
		return "yes";
	return errno == EINVAL ? "no (EINVAL)" :
	       errno == 524 ? "no (ENOTSUPP)" : strerror(errno);
}

/* Four keys: LPM keys are (prefixlen, address); others a counter. */
static void keys(const struct probe *p, char *k)
{
	memset(k, 0, 4 * p->key);
	for (__u32 i = 0; i < 4; i++) {
		__u32 *w = (__u32 *)(k + i * p->key);

		if (p->type == BPF_MAP_TYPE_LPM_TRIE) {
			w[0] = 32;
			w[1] = htobe32(0xc0000200 + i);
		} else {
			w[0] = i;
		}
	}
}

static void run(const struct probe *p)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = p->flags);
	LIBBPF_OPTS(bpf_map_batch_opts, b);
	char k[4 * 16], v[4 * 64] = {}, out[16];
	__u32 n;
	int fd = bpf_map_create(p->type, NULL, p->key, p->val, 16, &o);

	if (fd < 0) {
		printf("%-14s cannot create: %s\n", p->name, strerror(errno));
		return;
	}
	keys(p, k);
	n = 4;
	printf("%-14s update_batch %-14s", p->name,
	       verdict(bpf_map_update_batch(fd, k, v, &n, &b)));
	n = 4;
	printf(" lookup_batch %-14s",
	       verdict(bpf_map_lookup_batch(fd, NULL, out, k, v, &n, &b)));
	keys(p, k);
	n = 4;
	printf(" delete_batch %-14s", verdict(bpf_map_delete_batch(fd, k, &n, &b)));
	n = 4;
	printf(" lookup_and_delete_batch %s\n",
	       verdict(bpf_map_lookup_and_delete_batch(fd, NULL, out, k, v, &n, &b)));
	close(fd);
}

int main(void)
{
	static const struct probe probes[] = {
		{ "HASH", BPF_MAP_TYPE_HASH, 8, 8, 0 },
		{ "LRU_HASH", BPF_MAP_TYPE_LRU_HASH, 8, 8, 0 },
		{ "LPM_TRIE", BPF_MAP_TYPE_LPM_TRIE, 8, 8, BPF_F_NO_PREALLOC },
		{ "ARRAY", BPF_MAP_TYPE_ARRAY, 4, 8, 0 },
		{ "PERCPU_ARRAY", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 0 },
	};

	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		run(&probes[i]);
	return 0;
}
