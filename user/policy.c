// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dns.h"
#include "egress_ranges.h"
#include "gates.h"
#include "policy.h"

/* The rule maps; module_policy (by slot) and egress_socket (by slot and
 * socket kind) are arrays: rewritten whole, never cleared by key. */
enum {
	M_EXEC_PATH,
	M_EXEC_NAME,
	M_EXEC_INODE,
	M_EXEC_DIGEST,
	M_EXEC_TRUST,
	M_EGRESS_V4,
	M_EGRESS_V6,
	M_EGRESS_PORT,
	M_EGRESS_PROG,
	M_EGRESS_PROG_INODE,
	M_EGRESS_PROG_DIGEST,
	M_ALLOW_V4,
	M_ALLOW_V6,
	M_ALLOW_PORT,
	M_COUNT,
};

static const char *const map_names[M_COUNT] = {
	[M_EXEC_PATH] = GG_MAP_EXEC_PATH,
	[M_EXEC_NAME] = GG_MAP_EXEC_NAME,
	[M_EXEC_INODE] = GG_MAP_EXEC_INODE,
	[M_EXEC_DIGEST] = GG_MAP_EXEC_DIGEST,
	[M_EXEC_TRUST] = GG_MAP_EXEC_TRUST,
	[M_EGRESS_V4] = GG_MAP_EGRESS_V4,
	[M_EGRESS_V6] = GG_MAP_EGRESS_V6,
	[M_EGRESS_PORT] = GG_MAP_EGRESS_PORT,
	[M_EGRESS_PROG] = GG_MAP_EGRESS_PROG,
	[M_EGRESS_PROG_INODE] = GG_MAP_EGRESS_PROG_INODE,
	[M_EGRESS_PROG_DIGEST] = GG_MAP_EGRESS_PROG_DIGEST,
	[M_ALLOW_V4] = GG_MAP_EGRESS_ALLOW_V4,
	[M_ALLOW_V6] = GG_MAP_EGRESS_ALLOW_V6,
	[M_ALLOW_PORT] = GG_MAP_EGRESS_ALLOW_PORT,
};

/* Where the slot sits in each key, and whether it is stored big endian
 * (LPM keys: the slot is part of the matched prefix). */
static const struct {
	size_t off;
	bool be;
} slot_at[M_COUNT] = {
	[M_EXEC_PATH] = { offsetof(struct gg_exec_path_key, slot), false },
	[M_EXEC_NAME] = { offsetof(struct gg_exec_name_key, slot), false },
	[M_EXEC_INODE] = { offsetof(struct gg_exec_inode_key, slot), false },
	[M_EXEC_DIGEST] = { offsetof(struct gg_exec_digest_key, slot), false },
	[M_EXEC_TRUST] = { offsetof(struct gg_exec_digest_key, slot), false },
	[M_EGRESS_V4] = { offsetof(struct gg_egress_v4_key, slot), true },
	[M_EGRESS_V6] = { offsetof(struct gg_egress_v6_key, slot), true },
	[M_EGRESS_PORT] = { offsetof(struct gg_egress_port_key, slot), false },
	[M_EGRESS_PROG] = { offsetof(struct gg_egress_prog_key, slot), false },
	[M_EGRESS_PROG_INODE] = { offsetof(struct gg_egress_prog_inode_key, slot), false },
	[M_EGRESS_PROG_DIGEST] = { offsetof(struct gg_egress_prog_digest_key, slot), false },
	[M_ALLOW_V4] = { offsetof(struct gg_allow_v4_key, slot), true },
	[M_ALLOW_V6] = { offsetof(struct gg_allow_v6_key, slot), true },
	[M_ALLOW_PORT] = { offsetof(struct gg_egress_port_key, slot), false },
};

static const struct {
	__u32 key, val;
} map_size[M_COUNT] = {
	[M_EXEC_PATH] = { sizeof(struct gg_exec_path_key), sizeof(struct gg_verdict) },
	[M_EXEC_NAME] = { sizeof(struct gg_exec_name_key), sizeof(struct gg_verdict) },
	[M_EXEC_INODE] = { sizeof(struct gg_exec_inode_key), sizeof(struct gg_verdict) },
	[M_EXEC_DIGEST] = { sizeof(struct gg_exec_digest_key), sizeof(struct gg_verdict) },
	[M_EXEC_TRUST] = { sizeof(struct gg_exec_digest_key), sizeof(__u32) },
	[M_EGRESS_V4] = { sizeof(struct gg_egress_v4_key), sizeof(struct gg_egress_val) },
	[M_EGRESS_V6] = { sizeof(struct gg_egress_v6_key), sizeof(struct gg_egress_val) },
	[M_EGRESS_PORT] = { sizeof(struct gg_egress_port_key), sizeof(struct gg_verdict) },
	[M_EGRESS_PROG] = { sizeof(struct gg_egress_prog_key), sizeof(struct gg_egress_prog_val) },
	[M_EGRESS_PROG_INODE] = { sizeof(struct gg_egress_prog_inode_key),
				  sizeof(struct gg_egress_prog_val) },
	[M_EGRESS_PROG_DIGEST] = { sizeof(struct gg_egress_prog_digest_key),
				   sizeof(struct gg_egress_prog_val) },
	[M_ALLOW_V4] = { sizeof(struct gg_allow_v4_key), sizeof(struct gg_allow_val) },
	[M_ALLOW_V6] = { sizeof(struct gg_allow_v6_key), sizeof(struct gg_allow_val) },
	[M_ALLOW_PORT] = { sizeof(struct gg_egress_port_key), sizeof(__u32) },
};

/*
 * Batched writes (BPF_MAP_UPDATE_BATCH / BPF_MAP_DELETE_BATCH, Linux 5.6+):
 * one syscall per map instead of one per key. Measured on 6.18: hash and
 * LPM trie maps take both; arrays take updates but answer ENOTSUPP to
 * deletes; older kernels answer EINVAL for LPM tries. Where the kernel
 * refuses the batch, the rows are written one at a time.
 */
#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's, not in userspace errno.h */
#endif

static bool batch_unsupported(int e)
{
	return e == EINVAL || e == ENOTSUPP || e == EOPNOTSUPP;
}

/* The rows of one map, written together. */
struct batch {
	char *keys, *vals;
	size_t n, cap;
};

struct maps {
	int fd[M_COUNT]; /* -1: that gate's object is not loaded */
	__u32 id[M_COUNT]; /* the kernel's map ids (0: not loaded) */
	__u32 state_id;
	int module_fd;
	int socket_fd;
	int trust_cfg_fd;
	int egress_state_fd;
	int range_fd[2]; /* egress_range_v4, egress_range_v6 */
	int state_fd;
	bool kept; /* kept_maps' fds, lent: maps_close leaves them open */
};

static const struct {
	int family;
	const char *name;
} range_maps[2] = { { AF_INET, GG_MAP_EGRESS_RANGE_V4 }, { AF_INET6, GG_MAP_EGRESS_RANGE_V6 } };

static void maps_close(struct maps *m)
{
	if (m->kept)
		return;
	for (int i = 0; i < M_COUNT; i++)
		if (m->fd[i] >= 0)
			close(m->fd[i]);
	if (m->module_fd >= 0)
		close(m->module_fd);
	if (m->socket_fd >= 0)
		close(m->socket_fd);
	if (m->trust_cfg_fd >= 0)
		close(m->trust_cfg_fd);
	if (m->egress_state_fd >= 0)
		close(m->egress_state_fd);
	for (int i = 0; i < 2; i++)
		if (m->range_fd[i] >= 0)
			close(m->range_fd[i]);
	if (m->state_fd >= 0)
		close(m->state_fd);
}

/*
 * Is a pinned map laid out as this build writes it? Gates loaded by
 * another build (an older CLI applying directly to a newer daemon's
 * maps, or the reverse) would otherwise get rows of another layout: the
 * kernel copies its own value size from ours, and a field one of them
 * lacks would read as 0 (for egress_state: no program rules). id, if
 * asked: the map's id (0: not loaded).
 */
static int map_layout(int fd, const char *pin_dir, const char *name, __u32 key, __u32 val,
		      __u32 *id, struct gg_err *err)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (id)
		*id = 0;
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return gg_errf(err, -errno, "%s/%s: %s", pin_dir, name, strerror(errno));
	if (id)
		*id = info.id;
	if (info.key_size == key && info.value_size == val)
		return 0;
	return gg_errf(err, -EPROTO,
		       "%s/%s: keys of %u and values of %u bytes, this govgate writes %u and %u: "
		       "the gates were loaded by another build (apply with that build, or stop "
		       "it, run `govgate stop --unload` and start this one)",
		       pin_dir, name, info.key_size, info.value_size, key, val);
}

/* Checks every map's layout; notes the rule maps' and the state's ids. */
static int maps_layout(const char *pin_dir, struct maps *m, struct gg_err *err)
{
	/* the arrays, keyed by slot (or slot and kind) */
	const struct {
		int fd;
		const char *name;
		__u32 val;
		__u32 *id;
	} arrays[] = {
		{ m->module_fd, GG_MAP_MODULE_POLICY, sizeof(struct gg_module_val), NULL },
		{ m->socket_fd, GG_MAP_EGRESS_SOCKET, sizeof(struct gg_verdict), NULL },
		{ m->trust_cfg_fd, GG_MAP_EXEC_TRUST_CFG, sizeof(struct gg_exec_trust_cfg), NULL },
		{ m->egress_state_fd, GG_MAP_EGRESS_STATE, sizeof(struct gg_egress_slot), NULL },
		/* of maps: the value is the inner array's fd */
		{ m->range_fd[0], GG_MAP_EGRESS_RANGE_V4, sizeof(__u32), NULL },
		{ m->range_fd[1], GG_MAP_EGRESS_RANGE_V6, sizeof(__u32), NULL },
		{ m->state_fd, GG_MAP_POLICY_STATE, sizeof(struct gg_policy_state), &m->state_id },
	};
	int ret = 0;

	for (int i = 0; i < M_COUNT && !ret; i++)
		ret = map_layout(m->fd[i], pin_dir, map_names[i], map_size[i].key,
				 map_size[i].val, &m->id[i], err);
	for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]) && !ret; i++)
		ret = map_layout(arrays[i].fd, pin_dir, arrays[i].name, sizeof(__u32), arrays[i].val,
				 arrays[i].id, err);
	return ret;
}

/*
 * Gates loaded by a build with other BPF objects may read the same maps
 * in another way (since 2026-12-04 the programs read every process's
 * prefixes from range arrays, an older build wrote them into egress_v4),
 * which the sizes alone do not show: such gates are refused by their
 * build id (the meta map; none pinned: not checked).
 */
static int same_build(const char *pin_dir, struct gg_err *err)
{
	char mine[GG_BUILD_ID_LEN], theirs[GG_BUILD_ID_LEN];

	gg_pinned_build_id(pin_dir, theirs);
	gg_build_id(mine);
	if (!theirs[0] || !strcmp(mine, theirs))
		return 0;
	return gg_errf(err, -EPROTO,
		       "%s: the gates were loaded by another build (%.12s, this is %.12s): apply "
		       "with that build, or stop it, run `govgate stop --unload` and start this one",
		       pin_dir, theirs, mine);
}

static int maps_open_pins(const char *pin_dir, struct maps *m, struct gg_err *err)
{
	char path[4096];
	int ret;

	m->kept = false; /* the caller's own: closed by maps_close */
	for (int i = 0; i < M_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, map_names[i]);
		m->fd[i] = bpf_obj_get(path);
	}
	snprintf(path, sizeof(path), "%s/" GG_MAP_MODULE_POLICY, pin_dir);
	m->module_fd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/" GG_MAP_EGRESS_SOCKET, pin_dir);
	m->socket_fd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/" GG_MAP_EXEC_TRUST_CFG, pin_dir);
	m->trust_cfg_fd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/" GG_MAP_EGRESS_STATE, pin_dir);
	m->egress_state_fd = bpf_obj_get(path);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, range_maps[i].name);
		m->range_fd[i] = bpf_obj_get(path);
	}
	m->state_fd = gg_pinned_fd(pin_dir, GG_MAP_POLICY_STATE, err);
	ret = m->state_fd < 0 ? m->state_fd : same_build(pin_dir, err);
	if (!ret)
		ret = maps_layout(pin_dir, m, err);
	if (ret)
		maps_close(m);
	return ret;
}

/*
 * The daemon keeps the maps open from one apply to the next
 * (gg_policy_keep_maps): opening the 21 pins and checking each one's
 * layout and the build are 66 system calls, 6 % of an apply of the nine
 * packs. They are lent while the policy_state pinned at pin_dir is still
 * the one they were opened with (3 system calls): gates attached again,
 * by this daemon or after it stopped, have new maps. Where another map
 * was pinned over one of them, the kept one is still the map the
 * attached programs read.
 */
static struct {
	bool on;
	char *pin_dir; /* NULL: none kept */
	struct maps m;
} kept_maps;

static void stale_forget_lent(void);

static void kept_maps_drop(void)
{
	if (!kept_maps.pin_dir)
		return;
	/* A clear under way holds copies of these fds: it ends first, before
	 * their numbers can name something else. */
	stale_forget_lent();
	kept_maps.m.kept = false;
	maps_close(&kept_maps.m);
	free(kept_maps.pin_dir);
	kept_maps.pin_dir = NULL;
}

void gg_policy_keep_maps(bool on)
{
	kept_maps_drop();
	kept_maps.on = on;
}

/* Whether the kept maps are pin_dir's still. */
static bool kept_maps_current(const char *pin_dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	bool same;
	int fd;

	if (!kept_maps.pin_dir || strcmp(kept_maps.pin_dir, pin_dir))
		return false;
	fd = gg_pinned_fd_ro(pin_dir, GG_MAP_POLICY_STATE, NULL);
	if (fd < 0)
		return false;
	same = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.id == kept_maps.m.state_id;
	close(fd);
	return same;
}

static int maps_open(const char *pin_dir, struct maps *m, struct gg_err *err)
{
	int ret;

	if (!kept_maps.on)
		return maps_open_pins(pin_dir, m, err);
	if (!kept_maps_current(pin_dir)) {
		kept_maps_drop();
		ret = maps_open_pins(pin_dir, &kept_maps.m, err);
		if (ret)
			return ret;
		kept_maps.pin_dir = strdup(pin_dir);
		if (!kept_maps.pin_dir) {
			maps_close(&kept_maps.m);
			return gg_errf(err, -ENOMEM, "out of memory");
		}
		kept_maps.m.kept = true;
	}
	*m = kept_maps.m;
	return 0;
}

/*
 * The keys this process wrote into each slot, so that clearing the slot
 * deletes them instead of reading every bucket of every map to find them
 * (14 % of an apply of the nine packs, a third of one of a million
 * prefixes). Trusted only while the slot holds the generation they were
 * written as, in the same state map, and each map is the same map (its
 * id): another process's apply (a direct one) changes the generation, an
 * apply that died leaves GG_GEN_WRITING, fresh maps have new ids; each of
 * those sends the clear back to reading the map. gen 0: this process left
 * the slot empty (gg_policy_swap never leaves a slot it could not empty at
 * 0, see its error path).
 */
struct slot_rows {
	__u32 state_id; /* 0: nothing known */
	__u64 gen;
	__u32 map_id[M_COUNT];
	struct batch keys[M_COUNT]; /* vals unused */
};

static struct slot_rows known[GG_SLOTS];

static void rows_forget(struct slot_rows *r)
{
	for (int i = 0; i < M_COUNT; i++) {
		free(r->keys[i].keys);
		free(r->keys[i].vals);
	}
	memset(r, 0, sizeof(*r));
}

/* The keys of slot in map, if known; gen: what the slot holds now. */
static const struct batch *rows_known(const struct maps *m, __u32 slot, __u64 gen, int map)
{
	const struct slot_rows *r = &known[slot];

	if (!r->state_id || r->state_id != m->state_id || r->gen != gen ||
	    !m->id[map] || r->map_id[map] != m->id[map])
		return NULL;
	return &r->keys[map];
}

/* Takes the keys of b (the rows just written into slot as gen). */
static void rows_remember(const struct maps *m, __u32 slot, __u64 gen, struct batch *b)
{
	struct slot_rows *r = &known[slot];

	rows_forget(r);
	r->state_id = m->state_id;
	r->gen = gen;
	for (int i = 0; i < M_COUNT; i++) {
		r->map_id[i] = m->id[i];
		if (!b)
			continue;
		/* as many as were written: the batch grew by doubling */
		if (b[i].n) {
			r->keys[i].keys = realloc(b[i].keys, b[i].n * map_size[i].key);
			if (!r->keys[i].keys) {
				free(b[i].keys);
				r->state_id = 0; /* out of memory: nothing known */
			}
			r->keys[i].n = b[i].n;
		}
		free(b[i].vals);
		memset(&b[i], 0, sizeof(b[i]));
	}
}

static __u32 key_slot(int map, const void *key)
{
	__u32 v;

	memcpy(&v, (const char *)key + slot_at[map].off, sizeof(v));
	return slot_at[map].be ? ntohl(v) : v;
}

/* One batch where the map type has it; what it did not delete (it stops at
 * the first failing key), one at a time. */
static int delete_keys(int fd, int map, const char *keys, size_t n, __u32 ks,
		       struct gg_err *err)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = n;
	size_t i = 0;

	if (!n)
		return 0;
	if (!bpf_map_delete_batch(fd, keys, &count, &opts))
		return 0;
	if (!batch_unsupported(errno) && count <= n)
		i = count;
	for (; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * ks) && errno != ENOENT)
			return gg_errf(err, -errno, "%s: delete: %s", map_names[map],
				       strerror(errno));
	return 0;
}

/* Appends the keys of `slot` among n keys to *keys (*cap keys of ks). */
static int keep_slot_keys(int map, __u32 slot, const char *in, size_t n, __u32 ks, char **keys,
			  size_t *nk, size_t *cap)
{
	for (size_t i = 0; i < n; i++) {
		if (key_slot(map, in + i * ks) != slot)
			continue;
		if (*nk == *cap) {
			size_t c = *cap ? *cap * 2 : 1024;
			char *p = realloc(*keys, c * ks);

			if (!p)
				return -ENOMEM;
			*keys = p;
			*cap = c;
		}
		memcpy(*keys + *nk * ks, in + i * ks, ks);
		(*nk)++;
	}
	return 0;
}

/* The keys of `slot`, read in batches of 64k (one syscall each, not one
 * per key: with a million prefixes the walk was a third of an apply).
 * -EOPNOTSUPP where the map type has no batch lookup (LPM tries on 6.1). */
static int slot_keys_batched(int fd, int map, __u32 slot, const struct bpf_map_info *info,
			     char **keys, size_t *nk)
{
	const __u32 chunk = 65536;
	char *k = malloc((size_t)chunk * info->key_size), *v = NULL, *in = NULL, *out;
	size_t cap = 0;
	int ret = -ENOMEM;

	out = malloc(info->key_size);
	v = malloc((size_t)chunk * info->value_size);
	if (!k || !v || !out)
		goto cleanup;
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 count = chunk;
		int r = bpf_map_lookup_batch(fd, in, out, k, v, &count, &opts);
		int e = errno;

		if (r && e != ENOENT) {
			ret = batch_unsupported(e) && !in ? -EOPNOTSUPP : -e;
			goto cleanup;
		}
		if (keep_slot_keys(map, slot, k, count, info->key_size, keys, nk, &cap))
			goto cleanup;
		if (r) /* ENOENT: that was the last batch */
			break;
		if (!in && !(in = malloc(info->key_size)))
			goto cleanup;
		memcpy(in, out, info->key_size);
	}
	ret = 0;
cleanup:
	free(k);
	free(v);
	free(in);
	free(out);
	return ret;
}

/* Deletes every key of `slot` from one map. Keys are collected first:
 * deleting while iterating would restart the walk. */
static int clear_slot(int fd, int map, __u32 slot, struct gg_err *err)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	char *keys = NULL, *prev = NULL, *cur;
	size_t n = 0, cap = 0;
	int ret;

	ret = bpf_obj_get_info_by_fd(fd, &info, &info_len);
	if (ret)
		return gg_errf(err, -errno, "%s: %s", map_names[map], strerror(errno));
	ret = slot_keys_batched(fd, map, slot, &info, &keys, &n);
	if (!ret) {
		ret = delete_keys(fd, map, keys, n, info.key_size, err);
		free(keys);
		return ret;
	}
	free(keys);
	keys = NULL;
	n = 0;
	if (ret != -EOPNOTSUPP)
		return gg_errf(err, ret, "%s: batch lookup: %s", map_names[map], strerror(-ret));
	cur = calloc(1, info.key_size);
	if (!cur)
		return gg_errf(err, -ENOMEM, "out of memory");
	while (bpf_map_get_next_key(fd, prev, cur) == 0) {
		if (key_slot(map, cur) == slot) {
			if (n == cap) {
				char *p;

				cap = cap ? cap * 2 : 1024;
				p = realloc(keys, cap * info.key_size);
				if (!p) {
					ret = gg_errf(err, -ENOMEM, "out of memory");
					goto cleanup;
				}
				keys = p;
			}
			memcpy(keys + n * info.key_size, cur, info.key_size);
			n++;
		}
		if (!prev) {
			prev = calloc(1, info.key_size);
			if (!prev) {
				ret = gg_errf(err, -ENOMEM, "out of memory");
				goto cleanup;
			}
		}
		memcpy(prev, cur, info.key_size);
	}
	ret = delete_keys(fd, map, keys, n, info.key_size, err);
cleanup:
	free(keys);
	free(prev);
	free(cur);
	return ret;
}

static int batch_add(struct batch *b, int map, const void *key, const void *val,
		     struct gg_err *err)
{
	size_t ks = map_size[map].key, vs = map_size[map].val;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		char *k = realloc(b->keys, cap * ks), *v;

		if (k)
			b->keys = k;
		v = k ? realloc(b->vals, cap * vs) : NULL;
		if (!v)
			return gg_errf(err, -ENOMEM, "%s: out of memory", map_names[map]);
		b->vals = v;
		b->cap = cap;
	}
	memcpy(b->keys + b->n * ks, key, ks);
	memcpy(b->vals + b->n * vs, val, vs);
	b->n++;
	return 0;
}

static int batch_flush(int fd, int map, const struct batch *b, struct gg_err *err)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	size_t ks = map_size[map].key, vs = map_size[map].val;
	__u32 count = b->n;

	if (!b->n)
		return 0;
	if (fd < 0)
		return gg_errf(err, -ENOENT, "%s: map not loaded (is its gate attached?)",
			       map_names[map]);
	if (!bpf_map_update_batch(fd, b->keys, b->vals, &count, &opts))
		return 0;
	if (!batch_unsupported(errno))
		return gg_errf(err, -errno, "%s: update: %s", map_names[map], strerror(errno));
	/* rewriting rows the batch already wrote is harmless (BPF_ANY) */
	for (size_t i = 0; i < b->n; i++)
		if (bpf_map_update_elem(fd, b->keys + i * ks, b->vals + i * vs, BPF_ANY))
			return gg_errf(err, -errno, "%s: update: %s", map_names[map],
				       strerror(errno));
	return 0;
}

/* The slot's rows, by map. */
/* cmd.exec's rows: paths, names, identities and digests. */
static int collect_exec(struct batch *b, const struct gg_compiled *c, __u32 slot,
			struct gg_err *err)
{
	int ret = 0;

	for (size_t i = 0; i < c->n_exec_paths && !ret; i++) {
		struct gg_exec_path_key k = { .slot = slot };

		memcpy(k.path, c->exec_paths[i].path, sizeof(k.path));
		ret = batch_add(&b[M_EXEC_PATH], M_EXEC_PATH, &k, &c->exec_paths[i].v, err);
	}
	for (size_t i = 0; i < c->n_exec_names && !ret; i++) {
		struct gg_exec_name_key k = { .slot = slot };

		memcpy(k.name, c->exec_names[i].name, sizeof(k.name));
		ret = batch_add(&b[M_EXEC_NAME], M_EXEC_NAME, &k, &c->exec_names[i].v, err);
	}
	for (size_t i = 0; i < c->n_exec_inodes && !ret; i++) {
		struct gg_exec_inode_key k = {
			.slot = slot,
			.dev = c->exec_inodes[i].dev,
			.ino = c->exec_inodes[i].ino,
		};

		ret = batch_add(&b[M_EXEC_INODE], M_EXEC_INODE, &k, &c->exec_inodes[i].v, err);
	}
	for (size_t i = 0; i < c->n_exec_digests && !ret; i++) {
		struct gg_exec_digest_key k = { .slot = slot };

		memcpy(k.sha256, c->exec_digests[i].sha256, sizeof(k.sha256));
		ret = batch_add(&b[M_EXEC_DIGEST], M_EXEC_DIGEST, &k, &c->exec_digests[i].v, err);
	}
	for (size_t i = 0; i < c->n_exec_trust && !ret; i++) {
		struct gg_exec_digest_key k = { .slot = slot };

		memcpy(k.sha256, c->exec_trust[i].sha256, sizeof(k.sha256));
		ret = batch_add(&b[M_EXEC_TRUST], M_EXEC_TRUST, &k, &c->exec_trust[i].lists, err);
	}
	return ret;
}

/* One program rule's egress node into its family's LPM trie (the
 * generic nodes, prog 0, become ranges: write_ranges). */
static int collect_node(struct batch *b, const struct gg_c_egress *e, __u32 slot,
			struct gg_err *err)
{
	if (!e->prog)
		return 0;
	if (e->family == AF_INET) {
		struct gg_egress_v4_key k = {
			.prefixlen = 64 + e->plen,
			.slot = htonl(slot),
			.prog = htonl(e->prog),
		};

		memcpy(k.addr, e->addr, 4);
		return batch_add(&b[M_EGRESS_V4], M_EGRESS_V4, &k, &e->val, err);
	} else {
		struct gg_egress_v6_key k = {
			.prefixlen = 64 + e->plen,
			.slot = htonl(slot),
			.prog = htonl(e->prog),
		};

		memcpy(k.addr, e->addr, 16);
		return batch_add(&b[M_EGRESS_V6], M_EGRESS_V6, &k, &e->val, err);
	}
}

/* The files program rules name, by identity and by content. */
static int collect_prog_files(struct batch *b, const struct gg_compiled *c, __u32 slot,
			      struct gg_err *err)
{
	int ret = 0;

	for (size_t i = 0; i < c->n_egress_prog_inodes && !ret; i++) {
		const struct gg_c_egress_prog_file *f = &c->egress_prog_inodes[i];
		struct gg_egress_prog_inode_key k = { .slot = slot, .dev = f->dev, .ino = f->ino };
		struct gg_egress_prog_val v = { .prog = f->prog, .skip_loopback = 1 };

		ret = batch_add(&b[M_EGRESS_PROG_INODE], M_EGRESS_PROG_INODE, &k, &v, err);
	}
	for (size_t i = 0; i < c->n_egress_prog_digests && !ret; i++) {
		const struct gg_c_egress_prog_file *f = &c->egress_prog_digests[i];
		struct gg_egress_prog_digest_key k = { .slot = slot };
		struct gg_egress_prog_val v = { .prog = f->prog, .skip_loopback = 1 };

		memcpy(k.sha256, f->sha256, sizeof(k.sha256));
		ret = batch_add(&b[M_EGRESS_PROG_DIGEST], M_EGRESS_PROG_DIGEST, &k, &v, err);
	}
	return ret;
}

/* net.egress's rows: nodes, their ports, and the programs. */
static int collect_egress(struct batch *b, const struct gg_compiled *c, __u32 slot,
			  struct gg_err *err)
{
	int ret = 0;

	for (size_t i = 0; i < c->n_egress && !ret; i++)
		ret = collect_node(b, &c->egress[i], slot, err);
	for (size_t i = 0; i < c->n_egress_ports && !ret; i++) {
		const struct gg_c_egress_port *p = &c->egress_ports[i];
		struct gg_egress_port_key k = {
			.slot = slot,
			.node = p->node,
			.port = p->port,
			.proto = p->proto,
		};

		ret = batch_add(&b[M_EGRESS_PORT], M_EGRESS_PORT, &k, &p->v, err);
	}
	for (size_t i = 0; i < c->n_egress_progs && !ret; i++) {
		struct gg_egress_prog_key k = { .slot = slot };
		struct gg_egress_prog_val v = {
			.prog = c->egress_progs[i].prog,
			.skip_loopback = c->egress_progs[i].skip_loopback,
		};

		if (c->egress_progs[i].combined)
			continue; /* reached by identity or content only */
		memcpy(k.name, c->egress_progs[i].name, sizeof(k.name));
		ret = batch_add(&b[M_EGRESS_PROG], M_EGRESS_PROG, &k, &v, err);
	}
	return ret ? ret : collect_prog_files(b, c, slot, err);
}

/* The allowlists' CIDR nodes and their port rows. */
static int collect_allow(struct batch *b, const struct gg_compiled *c, __u32 slot,
			 struct gg_err *err)
{
	int ret = 0;

	for (size_t i = 0; i < c->n_allow_nodes && !ret; i++) {
		const struct gg_allow_node *n = &c->allow_nodes[i];
		struct gg_allow_val v = { .any = n->any, .port_node = n->port_node };

		if (n->family == AF_INET) {
			struct gg_allow_v4_key k = { .prefixlen = 32 + n->plen, .slot = htonl(slot) };

			memcpy(k.addr, n->addr, 4);
			ret = batch_add(&b[M_ALLOW_V4], M_ALLOW_V4, &k, &v, err);
		} else {
			struct gg_allow_v6_key k = { .prefixlen = 32 + n->plen, .slot = htonl(slot) };

			memcpy(k.addr, n->addr, 16);
			ret = batch_add(&b[M_ALLOW_V6], M_ALLOW_V6, &k, &v, err);
		}
	}
	for (size_t i = 0; i < c->n_allow_ports && !ret; i++) {
		const struct gg_allow_port *p = &c->allow_ports[i];
		struct gg_egress_port_key k = {
			.slot = slot,
			.node = p->node,
			.port = p->port,
			.proto = p->proto,
		};

		ret = batch_add(&b[M_ALLOW_PORT], M_ALLOW_PORT, &k, &p->lists, err);
	}
	return ret;
}

static int collect_slot(struct batch *b, const struct gg_compiled *c, __u32 slot,
			struct gg_err *err)
{
	int ret = collect_exec(b, c, slot, err);

	if (!ret)
		ret = collect_egress(b, c, slot, err);
	return ret ? ret : collect_allow(b, c, slot, err);
}

/* Which program rule maps collect_egress fills (GG_PROGS_*). */
static __u32 egress_progs_written(const struct gg_compiled *c)
{
	__u32 progs = c->n_egress_prog_inodes ? GG_PROGS_INODE : 0;

	for (size_t i = 0; i < c->n_egress_progs; i++)
		if (!c->egress_progs[i].combined)
			progs |= GG_PROGS_NAME;
	return progs;
}

/*
 * Names the applied lists and their modes (FNV-1a of each list's label and
 * action): a socket decided under other lists (none, or one observing) is
 * decided again by the packet check. Their entries' contents are not in
 * it: a list's new version keeps the flows its last one allowed, as a
 * learned address that expires does.
 */
static __u32 allow_epoch(const struct gg_compiled *c)
{
	__u32 h = 2166136261u;

	if (!c || !c->n_allow_lists)
		return 0;
	for (size_t i = 0; i < c->n_allow_lists && i < GG_ALLOW_LISTS; i++) {
		for (const char *p = c->allow_lists[i].pack; *p; p++)
			h = (h ^ (__u8)*p) * 16777619u;
		h = (h ^ c->allow_lists[i].v.action) * 16777619u;
	}
	return h ?: 1;
}

/* What the slot's egress rules need of the programs (none: nothing). */
static int write_egress_state(struct maps *m, const struct gg_compiled *c, __u32 slot,
			      struct gg_err *err)
{
	struct gg_egress_slot st = {};

	if (m->egress_state_fd < 0)
		return 0;
	for (size_t i = 0; c && i < c->n_allow_lists && i < GG_ALLOW_LISTS; i++) {
		st.lists |= 1U << i;
		st.list[i] = c->allow_lists[i].v;
	}
	if (c) {
		st.prog_digests = c->n_egress_prog_digests > 0;
		st.learned_kinds = gg_dns_learned_kinds(c);
		st.progs = egress_progs_written(c);
		st.allow_epoch = allow_epoch(c);
	}
	if (bpf_map_update_elem(m->egress_state_fd, &slot, &st, BPF_ANY))
		return gg_errf(err, -errno, GG_MAP_EGRESS_STATE ": update: %s", strerror(errno));
	return 0;
}

/* The slot's generic egress rules as range arrays (c NULL: none). A
 * policy with such rules needs the maps: nothing would enforce them. */
static int write_ranges(struct maps *m, const struct gg_compiled *c, __u32 slot,
			struct gg_err *err)
{
	int ret = 0;

	for (int i = 0; i < 2 && !ret; i++) {
		if (m->range_fd[i] >= 0) {
			ret = c ? gg_ranges_write(m->range_fd[i], slot, c, range_maps[i].family, NULL,
						  err)
				: gg_ranges_clear(m->range_fd[i], slot, range_maps[i].name, err);
			continue;
		}
		for (size_t j = 0; c && j < c->n_egress; j++)
			if (!c->egress[j].prog && c->egress[j].family == range_maps[i].family)
				return gg_errf(err, -ENOENT, "%s: map not loaded (is net.egress "
					       "attached?)", range_maps[i].name);
	}
	return ret;
}

/* The slot's socket-kind verdicts (none: every kind allowed). */
static int write_sockets(struct maps *m, const struct gg_compiled *c, __u32 slot,
			 struct gg_err *err)
{
	for (__u32 k = 0; m->socket_fd >= 0 && k < GG_SOCK_KINDS; k++) {
		struct gg_verdict none = {};
		__u32 idx = slot * GG_SOCK_KINDS + k;

		if (bpf_map_update_elem(m->socket_fd, &idx, c ? &c->sockets[k] : &none, BPF_ANY))
			return gg_errf(err, -errno, GG_MAP_EGRESS_SOCKET ": update: %s", strerror(errno));
	}
	return 0;
}

/* The slot's trust lists (none: no trusted-executables mode). A policy
 * with trust lists needs the map: without it nothing would enforce them. */
static int write_trust_cfg(struct maps *m, const struct gg_compiled *c, __u32 slot,
			   struct gg_err *err)
{
	struct gg_exec_trust_cfg cfg = {};

	if (c) {
		cfg.n_lists = c->n_trust_lists;
		memcpy(cfg.list, c->trust_lists, sizeof(cfg.list));
	}
	if (m->trust_cfg_fd < 0)
		return cfg.n_lists ? gg_errf(err, -ENOENT, GG_MAP_EXEC_TRUST_CFG ": map not "
					     "loaded (is cmd.exec attached?)") : 0;
	if (bpf_map_update_elem(m->trust_cfg_fd, &slot, &cfg, BPF_ANY))
		return gg_errf(err, -errno, GG_MAP_EXEC_TRUST_CFG ": update: %s", strerror(errno));
	return 0;
}

/* Writes c into slot, and remembers its keys as generation gen's. Each
 * row clear_arrays writes is written here too (gg_policy_swap counts on
 * it: it does not empty them first). */
static int fill_slot(struct maps *m, const struct gg_compiled *c, __u32 slot, __u64 gen,
		     struct gg_err *err)
{
	struct batch b[M_COUNT] = {};
	int ret;

	ret = collect_slot(b, c, slot, err);
	for (int i = 0; !ret && i < M_COUNT; i++)
		ret = batch_flush(m->fd[i], i, &b[i], err);
	/* kept even if the stamp fails: the slot will not hold gen then */
	if (!ret)
		rows_remember(m, slot, gen, b);
	for (int i = 0; i < M_COUNT; i++) {
		free(b[i].keys);
		free(b[i].vals);
	}
	if (!ret && m->module_fd >= 0) {
		struct gg_module_val mv = { .verdict = c->module, .kexec = c->kexec };

		if (bpf_map_update_elem(m->module_fd, &slot, &mv, BPF_ANY))
			ret = gg_errf(err, -errno, GG_MAP_MODULE_POLICY ": update: %s", strerror(errno));
	}
	if (!ret)
		ret = write_trust_cfg(m, c, slot, err);
	if (!ret)
		ret = write_ranges(m, c, slot, err);
	if (!ret)
		ret = write_egress_state(m, c, slot, err);
	return ret ? ret : write_sockets(m, c, slot, err);
}

/* The slot's rows of the arrays, back to "no policy". */
static int clear_arrays(struct maps *m, __u32 slot, struct gg_err *err)
{
	struct gg_module_val none = {};
	int ret;

	if (m->module_fd >= 0 && bpf_map_update_elem(m->module_fd, &slot, &none, BPF_ANY))
		return gg_errf(err, -errno, GG_MAP_MODULE_POLICY ": %s", strerror(errno));
	ret = write_trust_cfg(m, NULL, slot, err);
	if (!ret)
		ret = write_ranges(m, NULL, slot, err);
	if (!ret)
		ret = write_egress_state(m, NULL, slot, err);
	return ret ? ret : write_sockets(m, NULL, slot, err);
}

/* Empties slot, which held generation gen (as policy_state said before
 * the slot was marked): by its keys where this process knows them. The
 * arrays' rows too, unless the caller rewrites each of them (fill_slot):
 * replacing a range array's row costs a synchronize_rcu (map-in-map), and
 * emptying it first a second one. */
static int clear_all(struct maps *m, __u32 slot, __u64 gen, bool arrays, struct gg_err *err)
{
	int ret;

	for (int i = 0; i < M_COUNT; i++) {
		const struct batch *k = rows_known(m, slot, gen, i);

		if (m->fd[i] < 0)
			continue;
		ret = k ? delete_keys(m->fd[i], i, k->keys, k->n, map_size[i].key, err)
			: clear_slot(m->fd[i], i, slot, err);
		if (ret)
			return ret;
	}
	rows_forget(&known[slot]);
	return arrays ? clear_arrays(m, slot, err) : 0;
}

/*
 * The slot the last flip left stale (it holds the policy before last),
 * emptied after the apply has answered: gg_policy_stale_clear, a chunk of
 * keys at a time, from the daemon's loop and under the apply lock
 * (user/apply.c, gg_apply_idle), so that the next apply finds it empty.
 * Only where this process knows the slot's keys; otherwise the next apply
 * empties it as before. The slot is marked GG_GEN_WRITING first, as the
 * next apply would mark it: a decision still reading it fails closed.
 */
static struct {
	char *pin_dir; /* NULL: nothing to do */
	__u32 slot;
	__u64 gen; /* what the slot held at the flip */
	struct timespec flipped;
	bool marked; /* GG_GEN_WRITING written, m open */
	struct maps m;
	int map; /* the map being emptied, and how many of its keys are gone */
	size_t at;
	struct slot_rows rows;
} stale;

static void stale_forget(void)
{
	if (stale.marked)
		maps_close(&stale.m);
	rows_forget(&stale.rows);
	free(stale.pin_dir);
	memset(&stale, 0, sizeof(stale));
}

/* A clear marked with the kept maps' fds is left as a crash would leave
 * it: the slot GG_GEN_WRITING, which the next swap rewrites whole. */
static void stale_forget_lent(void)
{
	if (stale.marked && stale.m.kept)
		stale_forget();
}

/* After a flip: slot holds gen, and this process knows its keys. */
static void stale_note(const char *pin_dir, const struct maps *m, __u32 slot, __u64 gen)
{
	stale_forget();
	if (known[slot].state_id != m->state_id || known[slot].gen != gen || !gen)
		return;
	stale.pin_dir = strdup(pin_dir);
	stale.slot = slot;
	stale.gen = gen;
	clock_gettime(CLOCK_MONOTONIC, &stale.flipped);
}

void gg_policy_forget(void)
{
	stale_forget();
	gg_policy_keep_maps(false);
	for (int i = 0; i < GG_SLOTS; i++)
		rows_forget(&known[i]);
}

bool gg_policy_stale_pending(void)
{
	return stale.pin_dir != NULL;
}

/* policy_state with slot's generation (and digest bit) set to gen. */
static int state_set_slot(int fd, __u32 slot, __u64 gen, struct gg_err *err)
{
	struct gg_policy_state st;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &st))
		return gg_errf(err, -errno, GG_MAP_POLICY_STATE ": %s", strerror(errno));
	st.generation[slot] = gen;
	st.digest_slots &= ~(1U << slot);
	if (bpf_map_update_elem(fd, &zero, &st, BPF_ANY))
		return gg_errf(err, -errno, GG_MAP_POLICY_STATE ": %s", strerror(errno));
	return 0;
}

/* Is the slot still stale as noted, and every key of it known? Then it is
 * marked, and its keys move to stale.rows. 1: begun; 0: not ours to empty. */
static int stale_begin(struct gg_err *err)
{
	struct gg_policy_state st = {};
	__u32 zero = 0;
	int ret;

	ret = maps_open(stale.pin_dir, &stale.m, err);
	if (ret)
		return ret;
	stale.marked = true; /* m is open */
	if (bpf_map_lookup_elem(stale.m.state_fd, &zero, &st))
		return gg_errf(err, -errno, GG_MAP_POLICY_STATE ": %s", strerror(errno));
	if ((st.active_slot & 1) == stale.slot || st.generation[stale.slot] != stale.gen)
		return 0; /* another apply came first */
	for (int i = 0; i < M_COUNT; i++)
		if (stale.m.fd[i] >= 0 && !rows_known(&stale.m, stale.slot, stale.gen, i))
			return 0;
	stale.rows = known[stale.slot];
	memset(&known[stale.slot], 0, sizeof(known[stale.slot]));
	ret = state_set_slot(stale.m.state_fd, stale.slot, GG_GEN_WRITING, err);
	return ret ? ret : 1;
}

/* The slot is empty: say so (generation 0), and remember it is. */
static int stale_end(struct gg_err *err)
{
	int ret = clear_arrays(&stale.m, stale.slot, err);

	if (!ret)
		ret = state_set_slot(stale.m.state_fd, stale.slot, 0, err);
	if (!ret)
		rows_remember(&stale.m, stale.slot, 0, NULL);
	return ret;
}

int gg_policy_stale_clear(size_t max_keys, struct gg_err *err)
{
	int ret = 0;

	if (!stale.pin_dir || (!stale.marked && gg_policy_stale_wait_ms() > 0))
		return 0; /* nothing, or not yet */
	if (!stale.marked && (ret = stale_begin(err)) <= 0)
		goto done;
	ret = 0;
	for (; stale.map < M_COUNT; stale.map++, stale.at = 0) {
		const struct batch *k = &stale.rows.keys[stale.map];
		size_t ks = map_size[stale.map].key, n = k->n - stale.at;

		if (n > max_keys)
			n = max_keys;
		if (n && stale.m.fd[stale.map] >= 0)
			ret = delete_keys(stale.m.fd[stale.map], stale.map, k->keys + stale.at * ks,
					  n, ks, err);
		if (ret)
			goto done;
		stale.at += n;
		max_keys -= n;
		if (stale.at < k->n)
			return 1;
	}
	ret = stale_end(err);
done:
	stale_forget();
	/* the apply is over: what it freed (a million prefixes' parse, the
	 * prefetch workers' arena) goes back to the system now, not on the
	 * next apply's path */
	malloc_trim(0);
	return ret < 0 ? ret : 0;
}

/* Before an apply: a stale slot half emptied is finished (it is the slot
 * written now, its keys known); one not begun is the apply's to empty. */
static void stale_settle(void)
{
	struct gg_err ignored; /* on failure it stays marked: read again */

	if (stale.marked)
		gg_policy_stale_clear(SIZE_MAX, &ignored);
	stale_forget();
}

int gg_policy_stale_grace_ms = GG_STALE_GRACE_MS;

int gg_policy_stale_wait_ms(void)
{
	struct timespec now;
	long ms;

	if (!stale.pin_dir || stale.marked)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - stale.flipped.tv_sec) * 1000 +
	     (now.tv_nsec - stale.flipped.tv_nsec) / 1000000;
	return ms >= gg_policy_stale_grace_ms ? 0 : gg_policy_stale_grace_ms - ms;
}

int gg_policy_swap(const char *pin_dir, const struct gg_compiled *c, __u64 generation,
		   struct gg_err *err)
{
	struct gg_policy_state st = {};
	struct maps m;
	__u32 zero = 0, next;
	__u64 was;
	int ret;

	stale_settle();
	ret = maps_open(pin_dir, &m, err);
	if (ret)
		return ret;
	if (bpf_map_lookup_elem(m.state_fd, &zero, &st)) {
		ret = gg_errf(err, -errno, GG_MAP_POLICY_STATE ": %s", strerror(errno));
		goto cleanup;
	}
	next = (st.active_slot & 1) ^ 1;
	was = st.generation[next];
	/* A slot left GG_GEN_WRITING by an apply that died mid-write holds
	 * no generation. */
	for (int i = 0; i < GG_SLOTS; i++)
		if (st.generation[i] == GG_GEN_WRITING)
			st.generation[i] = 0;
	if (generation <= st.generation[0] || generation <= st.generation[1]) {
		ret = gg_errf(err, -EINVAL, "generation %llu is not newer than the loaded ones",
			      (unsigned long long)generation);
		goto cleanup;
	}
	/* The inactive slot holds the policy before last (or a failed
	 * half-write). A decision that read it before the last flip may still
	 * be running: mark the slot first, so that decision sees its
	 * generation change and is made again (see govgate_abi.h). */
	st.generation[next] = GG_GEN_WRITING;
	st.digest_slots &= ~(1U << next);
	if (bpf_map_update_elem(m.state_fd, &zero, &st, BPF_ANY)) {
		ret = gg_errf(err, -errno, GG_MAP_POLICY_STATE ": %s", strerror(errno));
		goto cleanup;
	}
	ret = clear_all(&m, next, was, false, err);
	if (!ret)
		ret = fill_slot(&m, c, next, generation, err);
	if (ret) {
		/* Leave the inactive slot empty, the active one untouched; one
		 * that could not be emptied stays marked: 0 says empty. */
		struct gg_err ignored;

		rows_forget(&known[next]);
		if (!clear_all(&m, next, GG_GEN_WRITING, true, &ignored))
			st.generation[next] = 0;
		bpf_map_update_elem(m.state_fd, &zero, &st, BPF_ANY);
		goto cleanup;
	}
	st.generation[next] = generation;
	/* trust lists need every file's digest too */
	if (c->n_exec_digests || c->n_trust_lists)
		st.digest_slots |= 1U << next;
	/* Two updates: the generation of the inactive slot first, then the
	 * flip. Each rewrites the same bytes for the fields it keeps, and
	 * active_slot only ever changes in its lowest byte, so a reader sees
	 * the old slot or the new one, each with its own generation. */
	if (bpf_map_update_elem(m.state_fd, &zero, &st, BPF_ANY)) {
		ret = gg_errf(err, -errno, GG_MAP_POLICY_STATE ": %s", strerror(errno));
		goto cleanup;
	}
	st.active_slot = next;
	if (bpf_map_update_elem(m.state_fd, &zero, &st, BPF_ANY)) {
		ret = gg_errf(err, -errno, GG_MAP_POLICY_STATE ": %s", strerror(errno));
		goto cleanup;
	}
	stale_note(pin_dir, &m, next ^ 1, st.generation[next ^ 1]);
cleanup:
	maps_close(&m);
	return ret;
}

/* What status reads: read-only fds, which locked mode gives any task
 * (a writable one it refuses to all but the daemon, and records). */
static const struct bpf_obj_get_opts ro = {
	.sz = sizeof(struct bpf_obj_get_opts),
	.file_flags = BPF_F_RDONLY,
};

/* The content digests in force: the active slot's rows of map (exec_digest,
 * or exec_trust: both keyed by slot and digest). */
static long long count_digests(const char *pin_dir, const char *map, __u32 slot)
{
	struct gg_exec_digest_key k, next;
	char path[4096];
	long long n = 0;
	void *prev = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, map);
	fd = bpf_obj_get_opts(path, &ro);
	if (fd < 0)
		return -1;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		n += next.slot == slot;
		k = next;
		prev = &k;
	}
	close(fd);
	return n;
}

/* The active slot's allowlists and CIDR nodes (from the kernel's maps). */
static void allow_read(const char *pin_dir, __u32 slot, struct gg_policy_status *out)
{
	struct gg_egress_slot st = {};
	struct gg_allow_v4_key k4, n4;
	struct gg_allow_v6_key k6, n6;
	char path[4096];
	void *prev;
	int fd;

	out->allow_lists = -1;
	snprintf(path, sizeof(path), "%s/" GG_MAP_EGRESS_STATE, pin_dir);
	fd = bpf_obj_get_opts(path, &ro);
	if (fd < 0)
		return;
	if (!bpf_map_lookup_elem(fd, &slot, &st)) {
		out->allow_lists = __builtin_popcount(st.lists);
		for (int i = 0; i < GG_ALLOW_LISTS; i++)
			out->allow_observe += (st.lists >> i & 1) &&
					      st.list[i].action == GG_ACT_OBSERVE;
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/" GG_MAP_EGRESS_ALLOW_V4, pin_dir);
	fd = bpf_obj_get_opts(path, &ro);
	for (prev = NULL; fd >= 0 && !bpf_map_get_next_key(fd, prev, &n4); prev = &k4) {
		out->allow_nodes += ntohl(n4.slot) == slot;
		k4 = n4;
	}
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/" GG_MAP_EGRESS_ALLOW_V6, pin_dir);
	fd = bpf_obj_get_opts(path, &ro);
	for (prev = NULL; fd >= 0 && !bpf_map_get_next_key(fd, prev, &n6); prev = &k6) {
		out->allow_nodes += ntohl(n6.slot) == slot;
		k6 = n6;
	}
	if (fd >= 0)
		close(fd);
}

/* The active slot's range arrays: their ids, and from each header, how
 * many ranges it holds (-1: the array could not be read). */
static void ranges_read(const char *pin_dir, __u32 slot, struct gg_policy_status *out)
{
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, ro_id, .open_flags = BPF_F_RDONLY);

	for (int i = 0; i < 2; i++) {
		struct gg_range_v6 hdr6 = {};
		struct gg_range_v4 hdr4 = {};
		char path[4096];
		__u32 zero = 0;
		int fd, inner;

		snprintf(path, sizeof(path), "%s/%s", pin_dir, range_maps[i].name);
		fd = bpf_obj_get_opts(path, &ro);
		if (fd < 0)
			continue;
		if (bpf_map_lookup_elem(fd, &slot, &out->egress_ranges[i].map_id))
			out->egress_ranges[i].map_id = 0;
		close(fd);
		out->egress_ranges[i].ranges = -1; /* unknown until read */
		inner = out->egress_ranges[i].map_id
				? bpf_map_get_fd_by_id_opts(out->egress_ranges[i].map_id, &ro_id)
				: -1;
		if (inner < 0)
			continue;
		if (!bpf_map_lookup_elem(inner, &zero, i ? (void *)&hdr6 : (void *)&hdr4))
			out->egress_ranges[i].ranges = i ? (long long)hdr6.lo : hdr4.start;
		close(inner);
	}
}

/* The learned addresses: how many, how many expired, the next expiry. */
static void learned_read(const char *pin_dir, struct gg_policy_status *out)
{
	struct gg_learned_key k, next;
	struct gg_learned_val v;
	struct timespec now;
	char path[4096];
	void *prev = NULL;
	__u64 t;
	int fd;

	out->learned = -1;
	snprintf(path, sizeof(path), "%s/" GG_MAP_EGRESS_LEARNED, pin_dir);
	fd = bpf_obj_get_opts(path, &ro);
	if (fd < 0)
		return;
	clock_gettime(CLOCK_BOOTTIME, &now);
	t = (__u64)now.tv_sec * 1000000000ULL + now.tv_nsec;
	out->learned = 0;
	for (; !bpf_map_get_next_key(fd, prev, &next); prev = &k) {
		k = next;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		out->learned++;
		if (v.expires_ns <= t)
			out->learned_expired++;
		else if (!out->learned_next_ns || v.expires_ns < out->learned_next_ns)
			out->learned_next_ns = v.expires_ns;
	}
	close(fd);
}

/* The state map's generations; *opened: the map was there. */
static int state_read(const char *pin_dir, struct gg_policy_status *out, bool *opened,
		      struct gg_err *err)
{
	struct gg_policy_state st = {};
	__u32 zero = 0;
	int fd, ret = 0;

	fd = gg_pinned_fd_ro(pin_dir, GG_MAP_POLICY_STATE, err);
	*opened = fd >= 0;
	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &zero, &st))
		ret = gg_errf(err, -errno, GG_MAP_POLICY_STATE ": %s", strerror(errno));
	for (int i = 0; i < GG_SLOTS; i++)
		if (st.generation[i] == GG_GEN_WRITING) /* an apply is writing it */
			st.generation[i] = 0;
	out->active_slot = st.active_slot & 1;
	out->generation = st.generation[out->active_slot];
	out->latest = st.generation[0] > st.generation[1] ? st.generation[0] : st.generation[1];
	close(fd);
	return ret;
}

int gg_policy_generation(const char *pin_dir, struct gg_policy_status *out, struct gg_err *err)
{
	bool opened;

	return state_read(pin_dir, out, &opened, err);
}

int gg_policy_read(const char *pin_dir, struct gg_policy_status *out, struct gg_err *err)
{
	bool opened;
	int ret = state_read(pin_dir, out, &opened, err);

	if (!opened)
		return ret;
	out->n_digests = count_digests(pin_dir, GG_MAP_EXEC_DIGEST, out->active_slot);
	out->n_trusted = count_digests(pin_dir, GG_MAP_EXEC_TRUST, out->active_slot);
	allow_read(pin_dir, out->active_slot, out);
	ranges_read(pin_dir, out->active_slot, out);
	learned_read(pin_dir, out);
	return ret;
}

int gg_counters_read(const char *pin_dir, __u64 out[GG_GATE_COUNT][GG_CNT_COUNT],
		     struct gg_err *err)
{
	int fd, ret = 0;

	fd = gg_pinned_fd_ro(pin_dir, GG_MAP_COUNTERS, err);
	if (fd < 0)
		return fd;
	for (__u32 g = 0; !ret && g < GG_GATE_COUNT; g++) {
		for (__u32 k = 0; !ret && k < GG_CNT_COUNT; k++) {
			__u32 idx = g * GG_CNT_COUNT + k;

			ret = gg_percpu_sum(fd, &idx, &out[g][k], err);
		}
	}
	close(fd);
	return ret;
}
