// SPDX-License-Identifier: GPL-2.0
/*
 * The generic egress rules as ranges (include/govgate_abi.h, struct
 * gg_range_v4). The compiler's nodes are prefixes whose values already
 * fold in every covering prefix, so the verdict at an address is that of
 * the longest prefix holding it. A sweep over the nodes in address order,
 * with a stack of the prefixes still open, cuts the space into ranges
 * where that longest prefix does not change; neighbours with the same
 * verdict merge. At most 2 n + 1 ranges for n prefixes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "crypto.h"
#include "egress_ranges.h"

typedef unsigned __int128 u128;

/* A range as this process decided it: never read back from the mapping,
 * which another task could write until the freeze. */
struct range_rec {
	u128 start;
	struct gg_egress_val v;
};

/*
 * The array being filled, through its mapping: element 0 is the header,
 * ranges are 1..n. Only the last two ranges can still change (a range at
 * the same start replaces the last, which can then merge with the one
 * before); they are kept here. Each range before them is final and goes
 * into a SHA-256, a chunk at a time, which the frozen array must match.
 */
#define SINK_CHUNK 32768

struct range_sink {
	void *base;
	bool v6;
	size_t esize, n;
	struct range_rec last, prev;
	bool have_prev;
	EVP_MD_CTX *md;
	size_t chunk_len;
	unsigned char chunk[SINK_CHUNK];
};

static const struct gg_egress_val no_rule;

static u128 node_start(const struct gg_c_egress *e, bool v6)
{
	u128 a = 0;

	for (int i = 0; i < (v6 ? 16 : 4); i++)
		a = a << 8 | e->addr[i];
	return a;
}

static u128 host_mask(int bits, int plen)
{
	return bits - plen >= 128 ? ~(u128)0 : ((u128)1 << (bits - plen)) - 1;
}

/* The element's bytes, as the programs read them. */
static void rec_bytes(bool v6, const struct range_rec *r, void *out)
{
	if (v6) {
		struct gg_range_v6 e = { .hi = (__u64)(r->start >> 64), .lo = (__u64)r->start,
					 .port_node = r->v.port_node, .any = r->v.any };

		memcpy(out, &e, sizeof(e));
	} else {
		struct gg_range_v4 e = { .start = (__u32)r->start, .port_node = r->v.port_node,
					 .any = r->v.any };

		memcpy(out, &e, sizeof(e));
	}
}

static bool same_verdict(const struct gg_egress_val *a, const struct gg_egress_val *b)
{
	return a->any.entry == b->any.entry && a->any.action == b->any.action &&
	       a->port_node == b->port_node;
}

static void sink_flush(struct range_sink *s)
{
	EVP_DigestUpdate(s->md, s->chunk, s->chunk_len);
	s->chunk_len = 0;
}

static void sink_final(struct range_sink *s, const struct range_rec *r)
{
	rec_bytes(s->v6, r, s->chunk + s->chunk_len);
	s->chunk_len += s->esize;
	if (s->chunk_len + s->esize > sizeof(s->chunk))
		sink_flush(s);
}

/* From start on, the verdict is v: a range at the same start is replaced
 * (a longer prefix begins there), one equal to its predecessor merges.
 * (After a replacement the next start is beyond the one before, so two
 * ranges back are never needed.) */
static void sink_put(struct range_sink *s, u128 start, const struct gg_egress_val *v)
{
	if (s->n && s->last.start == start) {
		s->n--;
		s->last = s->prev;
		s->have_prev = false;
	}
	if (s->n && same_verdict(&s->last.v, v))
		return;
	if (s->have_prev)
		sink_final(s, &s->prev);
	if (s->n) {
		s->prev = s->last;
		s->have_prev = true;
	}
	s->last = (struct range_rec){ start, *v };
	rec_bytes(s->v6, &s->last, (char *)s->base + ++s->n * s->esize);
}

/* The digest of ranges 1..n, once built. */
static void sink_end(struct range_sink *s, unsigned char digest[32])
{
	if (s->have_prev)
		sink_final(s, &s->prev);
	if (s->n)
		sink_final(s, &s->last);
	sink_flush(s);
	EVP_DigestFinal_ex(s->md, digest, NULL);
}

static void ranges_build(struct range_sink *s, const struct gg_c_egress *const *nodes, size_t k)
{
	struct {
		u128 end;
		const struct gg_egress_val *val;
	} open[129];
	int bits = s->v6 ? 128 : 32, depth = 0;
	u128 top = host_mask(bits, 0);

	sink_put(s, 0, &no_rule);
	for (size_t i = 0; i < k; i++) {
		u128 start = node_start(nodes[i], s->v6);

		/* the prefixes that ended before this one: after each, the one
		 * around it (or none) holds again */
		while (depth && open[depth - 1].end < start) {
			u128 end = open[--depth].end;

			sink_put(s, end + 1, depth ? open[depth - 1].val : &no_rule);
		}
		sink_put(s, start, &nodes[i]->val);
		/* nested prefixes grow strictly longer: at most bits + 1 open */
		if (depth < (int)(sizeof(open) / sizeof(open[0])))
			open[depth++] = (typeof(open[0])){ start | host_mask(bits, nodes[i]->plen),
							   &nodes[i]->val };
	}
	while (depth) {
		u128 end = open[--depth].end;

		if (end == top)
			break; /* it and every prefix around it reach the end */
		sink_put(s, end + 1, depth ? open[depth - 1].val : &no_rule);
	}
}

static int node_cmp(const void *a, const void *b)
{
	const struct gg_c_egress *x = *(const struct gg_c_egress *const *)a;
	const struct gg_c_egress *y = *(const struct gg_c_egress *const *)b;
	int d = memcmp(x->addr, y->addr, sizeof(x->addr));

	if (d)
		return d;
	return x->plen < y->plen ? -1 : x->plen > y->plen;
}

/* c's generic nodes of family, by address then length (the compiler's
 * order already; sorted here if not). */
static const struct gg_c_egress **generic_nodes(const struct gg_compiled *c, int family,
						size_t *k)
{
	const struct gg_c_egress **nodes;
	bool sorted = true;

	*k = 0;
	nodes = calloc(c->n_egress + 1, sizeof(*nodes));
	if (!nodes)
		return NULL;
	for (size_t i = 0; i < c->n_egress; i++) {
		if (c->egress[i].prog || c->egress[i].family != family)
			continue;
		nodes[*k] = &c->egress[i];
		if (*k && node_cmp(&nodes[*k - 1], &nodes[*k]) > 0)
			sorted = false;
		(*k)++;
	}
	if (!sorted)
		qsort(nodes, *k, sizeof(*nodes), node_cmp);
	return nodes;
}

int gg_ranges_clear(int outer_fd, __u32 slot, const char *map, struct gg_err *err)
{
	if (bpf_map_delete_elem(outer_fd, &slot) && errno != ENOENT)
		return gg_errf(err, -errno, "%s: delete slot %u: %s", map, slot, strerror(errno));
	return 0;
}

#define FIELD(btf, type, f, id) btf__add_field(btf, #f, id, offsetof(type, f) * 8, 0)

/* The element's type, so that `bpftool map dump id N` prints an inner
 * array's ranges by field: libbpf writes the BTF, the kernel loads it.
 * -1 if it cannot (the array is then made without it). */
static int ranges_btf_load(bool v6, __u32 *key_id, __u32 *val_id)
{
	struct btf *btf = btf__new_empty();
	int u32, u64, verdict, fd = -1;

	if (!btf)
		return -1;
	u32 = btf__add_int(btf, "unsigned int", 4, 0);
	u64 = btf__add_int(btf, "long long unsigned int", 8, 0);
	verdict = btf__add_struct(btf, "gg_verdict", sizeof(struct gg_verdict));
	if (u32 < 0 || u64 < 0 || verdict < 0 ||
	    FIELD(btf, struct gg_verdict, entry, u32) || FIELD(btf, struct gg_verdict, action, u32))
		goto cleanup;
	if (v6) {
		*val_id = btf__add_struct(btf, "gg_range_v6", sizeof(struct gg_range_v6));
		if ((int)*val_id < 0 || FIELD(btf, struct gg_range_v6, hi, u64) ||
		    FIELD(btf, struct gg_range_v6, lo, u64) ||
		    FIELD(btf, struct gg_range_v6, port_node, u32) ||
		    FIELD(btf, struct gg_range_v6, _pad, u32) ||
		    FIELD(btf, struct gg_range_v6, any, verdict))
			goto cleanup;
	} else {
		*val_id = btf__add_struct(btf, "gg_range_v4", sizeof(struct gg_range_v4));
		if ((int)*val_id < 0 || FIELD(btf, struct gg_range_v4, start, u32) ||
		    FIELD(btf, struct gg_range_v4, port_node, u32) ||
		    FIELD(btf, struct gg_range_v4, any, verdict))
			goto cleanup;
	}
	*key_id = u32;
	if (!btf__load_into_kernel(btf))
		fd = fcntl(btf__fd(btf), F_DUPFD_CLOEXEC, 3); /* kept: 0 means none */
cleanup:
	btf__free(btf);
	return fd;
}

/* Loaded once per process and family, kept (the daemon's every apply
 * made two). */
static struct {
	int fd; /* 0: not loaded (yet, or it failed: asked again) */
	__u32 key_id, val_id;
} range_btf[2];

static int ranges_btf(bool v6, __u32 *key_id, __u32 *val_id)
{
	if (!range_btf[v6].fd) {
		int fd = ranges_btf_load(v6, &range_btf[v6].key_id, &range_btf[v6].val_id);

		if (fd < 0)
			return -1;
		range_btf[v6].fd = fd;
	}
	*key_id = range_btf[v6].key_id;
	*val_id = range_btf[v6].val_id;
	return range_btf[v6].fd;
}

void (*gg_ranges_before_freeze)(int fd);

/*
 * Whether the slot takes an array with BTF. Linux 6.1 compares an inner
 * map's timer offset with the template's, and that offset differs between
 * a map with BTF (no timer found: -ENOENT) and one without (-EINVAL); the
 * template, made by libbpf from the object, has none. 6.12 compares the
 * special fields themselves. So once per process and family a one-element
 * array with BTF is put in the slot about to be written (an empty header:
 * no rules, and the slot is not in force): refused, the arrays go without
 * (bpftool then dumps them as hex).
 */
static int typed_ok[2] = { -1, -1 }; /* -1: not asked yet */

static bool ranges_typed(int outer_fd, __u32 slot, bool v6)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = GG_RANGE_INNER_FLAGS);
	size_t esize = v6 ? sizeof(struct gg_range_v6) : sizeof(struct gg_range_v4);
	int btf_fd, fd;

	if (typed_ok[v6] >= 0)
		return typed_ok[v6];
	btf_fd = ranges_btf(v6, &opts.btf_key_type_id, &opts.btf_value_type_id);
	if (btf_fd < 0)
		return false;
	opts.btf_fd = btf_fd;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "gg_range_probe", sizeof(__u32), esize, 1, &opts);
	if (fd < 0)
		return false;
	if (!bpf_map_update_elem(outer_fd, &slot, &fd, BPF_ANY))
		typed_ok[v6] = true;
	else if (errno == EINVAL)
		typed_ok[v6] = false;
	close(fd);
	return typed_ok[v6] > 0; /* another error: untyped this time, asked again next */
}

/*
 * Up to this many bytes an array is built in this process's heap, written
 * with one batch call and read back with another; above, it is built in
 * place through a mapping (a million prefixes: no 32 MB copy). Each
 * munmap of a BPF array's mapping flushes every CPU's TLB, an IPI and a
 * VM exit here: the write and the read-back mappings of the two small
 * arrays of the nine packs were 0.2-0.3 ms of their apply.
 */
#define GG_RANGES_BATCH_BYTES (64 * 1024)

/* A new array of elems elements, with its buffer: mapped for writing, or
 * (batch) this process's own, zeroed. */
static int ranges_map(bool v6, bool typed, size_t elems, bool batch, void **mem, size_t *len,
		      const char *map, struct gg_err *err)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = GG_RANGE_INNER_FLAGS);
	size_t esize = v6 ? sizeof(struct gg_range_v6) : sizeof(struct gg_range_v4);
	size_t page = sysconf(_SC_PAGESIZE);
	int fd, btf_fd = -1, ret;

	if (typed)
		btf_fd = ranges_btf(v6, &opts.btf_key_type_id, &opts.btf_value_type_id);
	if (btf_fd >= 0)
		opts.btf_fd = btf_fd;
	else
		opts.btf_key_type_id = opts.btf_value_type_id = 0;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, v6 ? "gg_range_v6" : "gg_range_v4",
			    sizeof(__u32), esize, elems, &opts);
	ret = -errno;
	if (fd < 0)
		return gg_errf(err, ret, "%s: create a %zu-range array: %s", map, elems - 1,
			       strerror(-ret));
	if (batch) {
		*len = elems * esize;
		*mem = calloc(elems, esize);
		if (*mem)
			return fd;
		close(fd);
		return gg_errf(err, -ENOMEM, "%s: out of memory", map);
	}
	*len = (elems * esize + page - 1) / page * page;
	*mem = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*mem == MAP_FAILED) {
		ret = gg_errf(err, -errno, "%s: mmap: %s", map, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

/* Elements 0..n of the batch buffer base, into the array, in one call. */
static int ranges_store(int fd, const struct range_sink *s, __u32 **keys, const char *map,
			struct gg_err *err)
{
	__u32 count = s->n + 1;

	*keys = malloc(count * sizeof(**keys));
	if (!*keys)
		return gg_errf(err, -ENOMEM, "%s: out of memory", map);
	for (__u32 i = 0; i < count; i++)
		(*keys)[i] = i;
	if (bpf_map_update_batch(fd, *keys, s->base, &count, NULL))
		return gg_errf(err, -errno, "%s: write: %s", map, strerror(errno));
	return 0;
}

/*
 * After the freeze no syscall writes the array and no writable mapping of
 * it can be made, for any task. Before it, root could map it by id
 * (BPF_MAP_GET_FD_BY_ID needs CAP_SYS_ADMIN) and write it: in locked mode
 * the guard refuses every writable mapping of a BPF map to every task but
 * govgate's (bpf/guard.bpf.c); the freeze fails while one is open; and a
 * write through one closed in time is found by ranges_verify. Either way
 * the apply fails, and says why.
 */
static int ranges_freeze(int fd, const char *map, struct gg_err *err)
{
	if (gg_ranges_before_freeze)
		gg_ranges_before_freeze(fd);
	if (!bpf_map_freeze(fd))
		return 0;
	return gg_errf(err, -errno, "%s: freeze: %s%s", map, strerror(errno),
		       errno == EBUSY ? " (another task holds a writable mapping of the new "
					"array): not applied" : "");
}

/* The frozen array holds what this process wrote: the header, and ranges
 * 1..n whose SHA-256 the build computed from its own copies. */
static int ranges_verify(int fd, const struct range_sink *s, const unsigned char digest[32],
			 size_t len, const char *map, struct gg_err *err)
{
	unsigned char hdr[sizeof(struct gg_range_v6)] = {}, got[32];
	struct range_rec h = { .start = s->n };
	void *mem;
	bool ok;

	mem = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return gg_errf(err, -errno, "%s: mmap to verify: %s", map, strerror(errno));
	rec_bytes(s->v6, &h, hdr); /* the count: v4 start, v6 lo */
	ok = !memcmp(mem, hdr, s->esize) &&
	     EVP_Digest((char *)mem + s->esize, s->n * s->esize, got, NULL, EVP_sha256(), NULL) &&
	     !memcmp(got, digest, sizeof(got));
	munmap(mem, len);
	if (ok)
		return 0;
	return gg_errf(err, -EIO, "%s: the array changed before it was frozen (another task wrote "
		       "it, by a mapping or a syscall): not applied", map);
}

/* The frozen array holds the batch buffer's elements 0..n (the buffer is
 * this process's own: the truth to compare with). */
static int ranges_verify_batch(int fd, const struct range_sink *s, __u32 *keys,
			       const char *map, struct gg_err *err)
{
	__u32 count = s->n + 1, out;
	void *got = malloc(count * s->esize);
	bool ok;

	if (!got)
		return gg_errf(err, -ENOMEM, "%s: out of memory", map);
	ok = !bpf_map_lookup_batch(fd, NULL, &out, keys, got, &count, NULL) &&
	     count == s->n + 1 && !memcmp(got, s->base, count * s->esize);
	free(got);
	if (ok)
		return 0;
	return gg_errf(err, -EIO, "%s: the array changed before it was frozen (another task wrote "
		       "it, by a mapping or a syscall): not applied", map);
}

static int ranges_fill(struct range_sink *s, int fd, const struct gg_c_egress *const *nodes,
		       size_t k, size_t len, bool batch, const char *map, struct gg_err *err)
{
	unsigned char digest[32];
	__u32 *keys = NULL;
	int ret;

	s->md = EVP_MD_CTX_new();
	if (!s->md || !EVP_DigestInit_ex(s->md, EVP_sha256(), NULL)) {
		ret = gg_errf(err, -ENOMEM, "%s: SHA-256: out of memory", map);
		goto cleanup;
	}
	ranges_build(s, nodes, k);
	sink_end(s, digest);
	if (s->v6)
		((struct gg_range_v6 *)s->base)->lo = s->n;
	else
		((struct gg_range_v4 *)s->base)->start = s->n;
	if (batch) {
		ret = ranges_store(fd, s, &keys, map, err);
		if (!ret)
			ret = ranges_freeze(fd, map, err);
		if (!ret)
			ret = ranges_verify_batch(fd, s, keys, map, err);
		goto cleanup;
	}
	munmap(s->base, len);
	s->base = NULL;
	ret = ranges_freeze(fd, map, err);
	if (!ret)
		ret = ranges_verify(fd, s, digest, len, map, err);
cleanup:
	if (s->base && batch)
		free(s->base);
	else if (s->base)
		munmap(s->base, len);
	s->base = NULL;
	free(keys);
	EVP_MD_CTX_free(s->md);
	return ret;
}

int gg_ranges_write(int outer_fd, __u32 slot, const struct gg_compiled *c, int family,
		    size_t *n_ranges, struct gg_err *err)
{
	const char *map = family == AF_INET6 ? GG_MAP_EGRESS_RANGE_V6 : GG_MAP_EGRESS_RANGE_V4;
	const struct gg_c_egress **nodes;
	struct range_sink *s = NULL;
	size_t k, len = 0;
	int fd = -1, ret;
	bool batch;

	if (n_ranges)
		*n_ranges = 0;
	nodes = generic_nodes(c, family, &k);
	if (!nodes)
		return gg_errf(err, -ENOMEM, "%s: out of memory", map);
	if (!k) {
		ret = gg_ranges_clear(outer_fd, slot, map, err);
		goto cleanup;
	}
	if (k > (GG_RANGE_MAX - 2) / 2) {
		ret = gg_errf(err, -E2BIG, "%s: %zu prefixes for every process: more than one "
			      "slot holds (%u)", map, k, (GG_RANGE_MAX - 2) / 2);
		goto cleanup;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		ret = gg_errf(err, -ENOMEM, "%s: out of memory", map);
		goto cleanup;
	}
	s->v6 = family == AF_INET6;
	s->esize = s->v6 ? sizeof(struct gg_range_v6) : sizeof(struct gg_range_v4);
	/* room for the most ranges k prefixes make; a large array built in
	 * place (on this VM each page a process touches first costs ~10 us,
	 * so no copy) */
	batch = (2 * k + 2) * s->esize <= GG_RANGES_BATCH_BYTES;
	fd = ranges_map(s->v6, ranges_typed(outer_fd, slot, s->v6), 2 * k + 2, batch, &s->base,
			&len, map, err);
	if (fd < 0) {
		ret = fd;
		goto cleanup;
	}
	ret = ranges_fill(s, fd, nodes, k, len, batch, map, err);
	if (ret)
		goto cleanup;
	if (bpf_map_update_elem(outer_fd, &slot, &fd, BPF_ANY)) {
		ret = gg_errf(err, -errno, "%s: slot %u: %s", map, slot, strerror(errno));
		goto cleanup;
	}
	if (n_ranges)
		*n_ranges = s->n;
cleanup:
	if (fd >= 0)
		close(fd);
	free(s);
	free(nodes);
	return ret;
}
