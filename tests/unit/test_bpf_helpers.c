// SPDX-License-Identifier: GPL-2.0
/*
 * The gates' BPF helpers, run in the kernel with BPF_PROG_TEST_RUN on
 * SEC("syscall") wrappers (progs/helpers_test.bpf.c), as the kernel's
 * selftests do: each case is a named subtest with its input, the expected
 * output, and negative cases next to positive ones. The wrappers' maps are
 * private to the test (nothing is pinned).
 *
 * Covered: gg_path_key_finish (gg_zero_tail), gg_exec_lookup_invoked
 * (gg_scan_step), gg_port_verdict, gg_dest_v6, gg_is_loopback,
 * gg_egress_lookup, gg_hit, gg_active_slot, gg_check_slot,
 * gg_task_in_scope (gg_in_cgroup) and gg_task_is_self on the calling task.
 *
 * Not reachable from here, because they need an LSM hook's or a
 * tracepoint's arguments, a socket or a sockaddr, and those program types
 * have no test_run (LSM, tp_btf, tracepoint, cgroup sock_addr):
 * gg_exec_lookup_file, gg_dest_from_sockaddr, gg_sock_addr4/6,
 * gg_capture_argv, gg_exec_event. gg_event_fill and gg_decide would run,
 * but what they add (task fields, counters, the ring buffer) is checked
 * end to end by the host and VM tiers, which cover all of the above.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"
#include "compile.h"
#include "egress_ranges.h"
#include "gates.h"
#include "helpers_test.h"
#include "helpers_test.skel.h"
#include "ringbuf.h"

#define AF_INET_ 2
#define AF_INET6_ 10
#define PROTO_TCP 6
#define PROTO_UDP 17

/* Fails the test with the subtest's name and both values. */
#define EXPECT_EQ(got, want, what)                                                          \
	do {                                                                                \
		long long g_ = (long long)(got), w_ = (long long)(want);                    \
		if (g_ != w_)                                                               \
			fail_msg("%s: %s: got %lld, want %lld", subtest, what, g_, w_);     \
	} while (0)

static struct gg_helpers_test *skel_loaded;
static char load_error[256];

/* Loads the wrappers once for every test. A failure is reported by each
 * test (a group setup failure would count as no test at all). */
static int setup(void **state)
{
	struct gg_helpers_test *skel;
	struct bpf_program *prog;
	int err;

	skel = gg_helpers_test__open();
	if (!skel) {
		snprintf(load_error, sizeof(load_error), "open: %s", strerror(errno));
		return 0;
	}
	/* A small ring buffer, so that records wrap around its end soon. */
	bpf_map__set_max_entries(skel->maps.events, 16384);
	/* Only the wrappers: the included gates' programs stay unloaded. */
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, !strncmp(bpf_program__name(prog), "test_", 5));
	err = gg_helpers_test__load(skel);
	if (err) {
		snprintf(load_error, sizeof(load_error), "load: %s (GG_TEST_VERBOSE=1 for the log)",
			 strerror(-err));
		gg_helpers_test__destroy(skel);
		return 0;
	}
	skel_loaded = skel;
	return 0;
}

static int teardown(void **state)
{
	gg_helpers_test__destroy(skel_loaded);
	return 0;
}

/* Every test starts here: the loaded wrappers, or a skip (not root) or a
 * failure that says why they could not be loaded. */
static struct gg_helpers_test *skel_of(void **state)
{
	if (!skel_loaded && geteuid() != 0) {
		print_message("skipped: loading BPF programs needs root\n");
		skip();
	}
	if (!skel_loaded)
		fail_msg("helpers_test: %s", load_error);
	return skel_loaded;
}

/* Runs one wrapper on ctx (in and out; NULL for a raw_tp wrapper, whose
 * context is in .bss). */
static void run(struct bpf_program *prog, void *ctx, size_t len, const char *subtest)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx, .ctx_size_in = len);
	int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);

	EXPECT_EQ(err, 0, "test_run");
	EXPECT_EQ(opts.retval, 0, "retval");
}

static void map_put(struct bpf_map *map, const void *key, const void *val)
{
	if (bpf_map__update_elem(map, key, bpf_map__key_size(map), val, bpf_map__value_size(map),
				 BPF_ANY))
		fail_msg("%s: update: %s", bpf_map__name(map), strerror(errno));
}

/* ---- the daemon's ring buffer consumer (user/ringbuf.c) */

struct rb_seen {
	__u64 next; /* the seq expected next */
	int records;
	const char *subtest;
};

static int rb_record(void *ctx, void *data, size_t size)
{
	struct rb_seen *s = ctx;
	const char *subtest = s->subtest;
	__u64 first, last;

	EXPECT_EQ(size, GG_T_RB_LEN, "record size");
	memcpy(&first, data, 8);
	memcpy(&last, (char *)data + GG_T_RB_LEN - 8, 8);
	EXPECT_EQ(first, s->next, "first bytes: seq");
	EXPECT_EQ(last, s->next, "last bytes: seq (the record joined across the end)");
	s->records++;
	s->next += s->next % 7 == 6 ? 2 : 1; /* every 7th is discarded */
	return 0;
}

/* Records of 1,008 bytes in a 16 KiB ring: most laps end inside one, which
 * the consumer (data mapped once) joins; discarded ones are skipped. */
static void test_ringbuf_wraps(void **state)
{
	struct gg_helpers_test *skel = skel_of(state);
	const char *subtest = "ringbuf";
	struct rb_seen seen = { .next = 1, .subtest = subtest };
	struct gg_ringbuf *rb;
	int pending = 0, want = 0;

	rb = gg_ringbuf_new(bpf_map__fd(skel->maps.events), rb_record, &seen);
	if (!rb)
		fail_msg("gg_ringbuf_new: %s", strerror(errno));
	for (__u64 seq = 1; seq <= 200; seq++) {
		struct gg_t_ringbuf in = { .seq = seq, .discard = seq % 7 == 0 };

		run(skel->progs.test_ringbuf_emit, &in, sizeof(in), "ringbuf emit");
		want += !in.discard;
		pending += !in.discard;
		if (seq % 5)
			continue;
		EXPECT_EQ(gg_ringbuf_consume(rb), pending, "records per consume");
		pending = 0;
	}
	EXPECT_EQ(gg_ringbuf_consume(rb), 0, "nothing left");
	EXPECT_EQ(seen.records, want, "records handed over");
	gg_ringbuf_free(rb);
}

/* What a record's callback saw of the consumer position the producer
 * reads (the consumer page, mapped here a second time). */
struct rb_release {
	const unsigned long *cons;
	unsigned long base; /* the position before the first record */
	int records;
	const char *subtest;
};

static int rb_release_record(void *ctx, void *data, size_t size)
{
	struct rb_release *r = ctx;
	const char *subtest = r->subtest;
	unsigned long stride = (GG_T_RB_LEN + BPF_RINGBUF_HDR_SZ + 7) / 8 * 8;
	unsigned long cons = __atomic_load_n(r->cons, __ATOMIC_ACQUIRE);

	/* never past a record still being handed over (the producer could
	 * overwrite it), and published once per GG_RINGBUF_RELEASE_EVERY */
	if (cons > r->base + r->records * stride)
		fail_msg("%s: record %d: consumer at +%lu, past the record at +%lu", subtest,
			 r->records, cons - r->base, r->records * stride);
	EXPECT_EQ((cons - r->base) / stride,
		  r->records / GG_RINGBUF_RELEASE_EVERY * GG_RINGBUF_RELEASE_EVERY,
		  "records released before this one");
	r->records++;
	return 0;
}

/* The consumer position is stored in batches (one cache line the producer
 * reads at every reserve), and completely before consume returns. */
static void test_ringbuf_release(void **state)
{
	struct gg_helpers_test *skel = skel_of(state);
	const char *subtest = "ringbuf release";
	int fd = bpf_map__fd(skel->maps.events);
	long page = sysconf(_SC_PAGESIZE);
	struct rb_release seen = { .subtest = subtest };
	const unsigned long *prod;
	struct gg_ringbuf *rb;
	void *c, *p;
	int n = 0;

	c = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, page);
	if (c == MAP_FAILED || p == MAP_FAILED)
		fail_msg("mmap of the positions: %s", strerror(errno));
	seen.cons = c;
	prod = p;
	rb = gg_ringbuf_new(fd, rb_release_record, &seen);
	if (!rb)
		fail_msg("gg_ringbuf_new: %s", strerror(errno));
	EXPECT_EQ(gg_ringbuf_consume(rb), 0, "an empty ring");
	seen.base = *seen.cons;
	/* 16 KiB hold 16 records: a pass of 15 is shorter than a batch */
	for (__u64 seq = 1; seq <= 15; seq++, n++) {
		struct gg_t_ringbuf in = { .seq = seq };

		run(skel->progs.test_ringbuf_emit, &in, sizeof(in), "ringbuf emit");
	}
	EXPECT_EQ(GG_RINGBUF_RELEASE_EVERY > n, 1, "a batch longer than the ring's records");
	EXPECT_EQ(gg_ringbuf_consume(rb), n, "records per consume");
	EXPECT_EQ(seen.records, n, "records handed over");
	EXPECT_EQ(*seen.cons, *prod, "consumer position after consume (all released)");
	gg_ringbuf_free(rb);
	munmap(c, page);
	munmap(p, page);
}

/* ---- cmd.exec: the d_path key's tail, the invoked name */

/* bpf_d_path leaves stale bytes behind the NUL; the finished key must equal
 * the key user space writes (zero padded), whatever the length. */
static void test_path_key_finish(void **state)
{
	static const int lens[] = { 1, 2, 3, 4, 5, 7, 8, 9, 17, 100, 253, 254, 255, 256 };
	struct gg_helpers_test *skel = skel_of(state);
	char subtest[64];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct gg_t_path_key t;
		struct gg_exec_path_key want;
		int len = lens[i];

		snprintf(subtest, sizeof(subtest), "len=%d", len);
		memset(&t, 0xa5, sizeof(t)); /* stale bytes everywhere */
		memset(t.key.path, 'p', len - 1);
		t.key.path[len - 1] = '\0';
		t.slot = 1;
		t.len = len;
		memset(&want, 0, sizeof(want));
		want.slot = 1;
		memset(want.path, 'p', len - 1);
		run(skel->progs.test_path_key_finish, &t, sizeof(t), subtest);
		EXPECT_EQ(t.key.slot, 1, "slot restored after the scan overlay");
		for (int b = 0; b < GG_PATH_MAX; b++)
			if (t.key.path[b] != want.path[b])
				fail_msg("%s: path[%d] = %#x, want %#x", subtest, b,
					 (unsigned char)t.key.path[b], (unsigned char)want.path[b]);
		EXPECT_EQ(memcmp(&t.key, &want, sizeof(want)), 0, "key equals user space's");
	}
}

struct invoked_case {
	const char *name, *path;
	__u32 slot, hit, action, entry;
	const char *key;
};

static void test_invoked_name(void **state)
{
	static const struct invoked_case cases[] = {
		{ "absolute", "/usr/bin/nc", 0, 1, GG_ACT_DENY, 7, "nc" },
		{ "bare-name", "nc", 0, 1, GG_ACT_DENY, 7, "nc" },
		{ "relative", "./sbin/kmod", 0, 1, GG_ACT_OBSERVE, 3, "kmod" },
		{ "other-slot", "/usr/bin/nc", 1, 1, GG_ACT_OBSERVE, 9, "nc" },
		{ "slot-without-rule", "./sbin/kmod", 1, 0, GG_ACT_NONE, 0, "kmod" },
		{ "longer-name-misses", "/usr/bin/ncat", 0, 0, GG_ACT_NONE, 0, "ncat" },
		{ "prefix-misses", "/usr/bin/n", 0, 0, GG_ACT_NONE, 0, "n" },
		{ "last-slash-wins", "/opt/nc/tool", 0, 0, GG_ACT_NONE, 0, "tool" },
		{ "trailing-slash", "/usr/bin/nc/", 0, 0, GG_ACT_NONE, 0, "" },
		{ "empty", "", 0, 0, GG_ACT_NONE, 0, "" },
	};
	struct gg_helpers_test *skel = skel_of(state);
	struct gg_exec_name_key k = {};

	k.slot = 0;
	strcpy(k.name, "nc");
	map_put(skel->maps.exec_name, &k, &(struct gg_verdict){ 7, GG_ACT_DENY });
	k.slot = 1;
	map_put(skel->maps.exec_name, &k, &(struct gg_verdict){ 9, GG_ACT_OBSERVE });
	memset(&k, 0, sizeof(k));
	strcpy(k.name, "kmod");
	map_put(skel->maps.exec_name, &k, &(struct gg_verdict){ 3, GG_ACT_OBSERVE });

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct invoked_case *c = &cases[i];
		const char *subtest = c->name;
		struct gg_t_invoked t;

		memset(&t, 0xa5, sizeof(t));
		snprintf(t.path, sizeof(t.path), "%s", c->path);
		t.slot = c->slot;
		run(skel->progs.test_invoked_name, &t, sizeof(t), subtest);
		EXPECT_EQ(t.hit, c->hit, "hit");
		EXPECT_EQ(t.action, c->action, "action");
		EXPECT_EQ(t.entries[3], c->entry, "entries[3] (invoked name)");
		EXPECT_EQ(t.entries[0] | t.entries[1] | t.entries[2], 0, "other entries");
		if (strcmp(t.name, c->key))
			fail_msg("%s: key name \"%s\", want \"%s\"", subtest, t.name, c->key);
	}
}

/* Paths as long as the buffer: the scan must reach the last byte, and a
 * name longer than a name key is cut, never overrun. */
static void test_invoked_name_long(void **state)
{
	struct gg_helpers_test *skel = skel_of(state);
	const char *subtest = "255-byte-path";
	struct gg_t_invoked t;

	memset(&t, 0, sizeof(t));
	memset(t.path, 'd', GG_PATH_MAX - 1);
	memcpy(t.path + GG_PATH_MAX - 4, "/nc", 4);
	run(skel->progs.test_invoked_name, &t, sizeof(t), subtest);
	EXPECT_EQ(t.hit, 1, "hit");
	EXPECT_EQ(t.entries[3], 7, "entries[3]");

	subtest = "name-longer-than-key";
	memset(&t, 0, sizeof(t));
	strcpy(t.path, "/x/");
	memset(t.path + 3, 'a', 100);
	run(skel->progs.test_invoked_name, &t, sizeof(t), subtest);
	EXPECT_EQ(t.hit, 0, "hit");
	EXPECT_EQ(strlen(t.name), GG_NAME_MAX - 1, "name cut to the key");
}

/* ---- net.egress: port verdicts, v6 normalisation, trie lookups */

struct port_case {
	const char *name;
	__u32 slot, node;
	__u16 port;
	__u8 proto;
	__u32 entry, action;
};

static void test_port_verdict(void **state)
{
	static const struct port_case cases[] = {
		{ "no-port-node-is-any", 0, 0, 443, PROTO_TCP, 10, GG_ACT_OBSERVE },
		{ "port-and-proto", 0, 5, 443, PROTO_TCP, 11, GG_ACT_DENY },
		{ "port-any-proto", 0, 5, 53, PROTO_TCP, 12, GG_ACT_OBSERVE },
		{ "port-beats-proto", 0, 5, 53, PROTO_UDP, 12, GG_ACT_OBSERVE },
		{ "proto-any-port", 0, 5, 443, PROTO_UDP, 13, GG_ACT_DENY },
		{ "no-narrow-match", 0, 5, 80, PROTO_TCP, 10, GG_ACT_OBSERVE },
		{ "other-slot", 1, 5, 443, PROTO_TCP, 14, GG_ACT_OBSERVE },
		{ "other-slot-no-rule", 1, 5, 53, PROTO_TCP, 10, GG_ACT_OBSERVE },
		{ "unknown-node", 0, 6, 443, PROTO_TCP, 10, GG_ACT_OBSERVE },
	};
	static const struct {
		struct gg_egress_port_key k;
		struct gg_verdict v;
	} rules[] = {
		{ { 0, 5, 443, PROTO_TCP, 0 }, { 11, GG_ACT_DENY } },
		{ { 0, 5, 53, 0, 0 }, { 12, GG_ACT_OBSERVE } },
		{ { 0, 5, 0, PROTO_UDP, 0 }, { 13, GG_ACT_DENY } },
		{ { 1, 5, 443, PROTO_TCP, 0 }, { 14, GG_ACT_OBSERVE } },
	};
	struct gg_helpers_test *skel = skel_of(state);

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		map_put(skel->maps.egress_port, &rules[i].k, &rules[i].v);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct port_case *c = &cases[i];
		const char *subtest = c->name;
		struct gg_t_port t = {
			.val = { .any = { 10, GG_ACT_OBSERVE }, .port_node = c->node },
			.slot = c->slot,
			.port = c->port,
			.proto = c->proto,
		};

		run(skel->progs.test_port_verdict, &t, sizeof(t), subtest);
		EXPECT_EQ(t.out.entry, c->entry, "entry");
		EXPECT_EQ(t.out.action, c->action, "action");
	}
}

struct dest_case {
	const char *name, *addr; /* inet_pton: a dot-only address is IPv4 */
	__u32 slot, prog;
	__u16 family; /* after normalisation */
	__u8 mapped, loopback;
	__u32 entry; /* 0: no trie node */
	const char *norm; /* the normalised address */
};

/* Generic nodes (prog 0) as an apply writes them: ranges, in slot 0. */
static void ranges_put(struct gg_helpers_test *skel, struct gg_c_egress *nodes, size_t n)
{
	struct gg_compiled c = { .egress = nodes, .n_egress = n };
	struct gg_err err = {};

	if (gg_ranges_write(bpf_map__fd(skel->maps.egress_range_v4), 0, &c, AF_INET_, NULL, &err) ||
	    gg_ranges_write(bpf_map__fd(skel->maps.egress_range_v6), 0, &c, AF_INET6_, NULL, &err))
		fail_msg("gg_ranges_write: %s", err.msg);
}

static bool kernel_is(const char *prefix)
{
	struct utsname u;

	return !uname(&u) && !strncmp(u.release, prefix, strlen(prefix));
}

/* The array in slot 0 of outer: frozen, typed (bpftool prints its fields),
 * and holding n ranges. */
static void ranges_inner_check(struct bpf_map *outer, __u32 n, const char *subtest)
{
	struct bpf_map_info info = {};
	__u32 zero = 0, id, len = sizeof(info);
	struct gg_range_v4 hdr;
	int fd;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(outer), &zero, &id), 0);
	fd = bpf_map_get_fd_by_id(id);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	/* typed, so bpftool prints fields; Linux 6.1 refuses a typed array in
	 * the slot (user/egress_ranges.c, ranges_typed) */
	if (!kernel_is("6.1."))
		EXPECT_EQ(info.btf_id != 0 && info.btf_value_type_id != 0, 1, "typed (BTF)");
	EXPECT_EQ(bpf_map_update_elem(fd, &zero, &hdr, BPF_ANY), -1, "frozen: update refused");
	EXPECT_EQ(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED, 1,
		  "frozen: no writable mapping");
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &hdr), 0);
	EXPECT_EQ(hdr.start, n, "header: ranges");
	close(fd);
}

static void dest_rules(struct gg_helpers_test *skel)
{
	struct gg_egress_v4_key k4 = { .prefixlen = 64 + 32, .slot = htonl(0), .prog = htonl(3) };
	struct gg_egress_val v = { .any = { 23, GG_ACT_OBSERVE } };
	struct gg_c_egress generic[2] = {
		{ .family = AF_INET_, .plen = 8, .val = { .any = { 21, GG_ACT_DENY } } },
		{ .family = AF_INET6_, .plen = 32, .val = { .any = { 22, GG_ACT_DENY } } },
	};

	inet_pton(AF_INET, "10.0.0.0", generic[0].addr);
	inet_pton(AF_INET6, "2001:db8::", generic[1].addr);
	ranges_put(skel, generic, 2);
	/* 0.0.0.0, 10.0.0.0/8, 11.0.0.0 */
	ranges_inner_check(skel->maps.egress_range_v4, 3, "dest rules");
	/* a program's rules stay in the trie */
	inet_pton(AF_INET, "1.2.3.4", k4.addr);
	map_put(skel->maps.egress_v4, &k4, &v);
}

static void dest_check(struct gg_helpers_test *skel, const struct dest_case *c)
{
	const char *subtest = c->name;
	struct gg_t_dest t = { .slot = c->slot, .prog = c->prog, .port = 443, .proto = PROTO_TCP };
	__u8 norm[16] = {};

	if (strchr(c->addr, ':')) {
		t.family = AF_INET6_;
		assert_int_equal(inet_pton(AF_INET6, c->addr, t.ip6), 1);
	} else {
		t.family = AF_INET_;
		assert_int_equal(inet_pton(AF_INET, c->addr, t.ip6), 1);
	}
	skel->bss->dest_io = t;
	run(skel->progs.test_dest, NULL, 0, subtest);
	t = skel->bss->dest_io;
	EXPECT_EQ(t.family, c->family, "family");
	EXPECT_EQ(t.mapped_v4, c->mapped, "mapped_v4");
	EXPECT_EQ(t.loopback, c->loopback, "loopback");
	EXPECT_EQ(t.found, c->entry != 0, "trie node found");
	if (c->entry)
		EXPECT_EQ(t.out.entry, c->entry, "entry");
	assert_int_equal(inet_pton(c->family == AF_INET_ ? AF_INET : AF_INET6, c->norm, norm), 1);
	EXPECT_EQ(memcmp(t.addr, norm, c->family == AF_INET_ ? 4 : 16), 0, "normalised address");
}

static void test_dest(void **state)
{
	static const struct dest_case cases[] = {
		{ "v4", "10.1.2.3", 0, 0, AF_INET_, 0, 0, 21, "10.1.2.3" },
		{ "v4-miss", "11.0.0.1", 0, 0, AF_INET_, 0, 0, 0, "11.0.0.1" },
		{ "v4-mapped-is-v4", "::ffff:10.1.2.3", 0, 0, AF_INET_, 1, 0, 21, "10.1.2.3" },
		{ "v4-compatible-stays-v6", "::10.1.2.3", 0, 0, AF_INET6_, 0, 0, 0, "::10.1.2.3" },
		{ "v4-translated-stays-v6", "::ffff:0:10.1.2.3", 0, 0, AF_INET6_, 0, 0, 0,
		  "::ffff:0:10.1.2.3" },
		{ "ffff-word-elsewhere-stays-v6", "2001:db8::ffff:10.1.2.3", 0, 0, AF_INET6_, 0, 0,
		  22, "2001:db8::ffff:10.1.2.3" },
		{ "v6", "2001:db8::1", 0, 0, AF_INET6_, 0, 0, 22, "2001:db8::1" },
		{ "v6-miss", "2001:db9::1", 0, 0, AF_INET6_, 0, 0, 0, "2001:db9::1" },
		{ "other-slot", "10.1.2.3", 1, 0, AF_INET_, 0, 0, 0, "10.1.2.3" },
		{ "prog-rule", "1.2.3.4", 0, 3, AF_INET_, 0, 0, 23, "1.2.3.4" },
		{ "prog-rule-other-prog", "1.2.3.4", 0, 0, AF_INET_, 0, 0, 0, "1.2.3.4" },
		{ "loopback-v4", "127.0.0.1", 0, 0, AF_INET_, 0, 1, 0, "127.0.0.1" },
		{ "loopback-v4-net", "127.9.9.9", 0, 0, AF_INET_, 0, 1, 0, "127.9.9.9" },
		{ "loopback-v6", "::1", 0, 0, AF_INET6_, 0, 1, 0, "::1" },
		{ "loopback-mapped", "::ffff:127.0.0.1", 0, 0, AF_INET_, 1, 1, 0, "127.0.0.1" },
		{ "not-loopback-v6", "::2", 0, 0, AF_INET6_, 0, 0, 0, "::2" },
		{ "not-loopback-v4", "128.0.0.1", 0, 0, AF_INET_, 0, 0, 0, "128.0.0.1" },
		{ "not-loopback-v6-high", "1::1", 0, 0, AF_INET6_, 0, 0, 0, "1::1" },
		{ "not-loopback-v6-first-byte", "100::1", 0, 0, AF_INET6_, 0, 0, 0, "100::1" },
	};
	struct gg_helpers_test *skel = skel_of(state);

	dest_rules(skel);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		dest_check(skel, &cases[i]);
}

/*
 * The generic rules' ranges against the trie's meaning: random prefix sets
 * (nested and disjoint, both families, in the compiler's order and not),
 * written by gg_ranges_write and looked up by the programs' own binary
 * search, must give at every address the entry of the longest prefix
 * holding it (brute force here), and nothing outside every prefix. The
 * addresses asked: each prefix's first and last, their neighbours, and
 * random ones.
 */
typedef unsigned __int128 u128;

static u128 addr_num(const __u8 *a, int bits)
{
	u128 n = 0;

	for (int i = 0; i < bits / 8; i++)
		n = n << 8 | a[i];
	return n;
}

static void num_addr(u128 n, __u8 *a, int bits)
{
	for (int i = bits / 8 - 1; i >= 0; i--, n >>= 8)
		a[i] = (__u8)n;
}

static u128 mask_of(int bits, int plen)
{
	u128 all = bits == 128 ? ~(u128)0 : ((u128)1 << bits) - 1;

	return plen ? all & ~(bits - plen >= 128 ? all : (((u128)1 << (bits - plen)) - 1)) : 0;
}

static u128 rand_num(void)
{
	u128 n = 0;

	for (int i = 0; i < 8; i++)
		n = n << 16 | (random() & 0xffff);
	return n;
}

/* The longest prefix holding a, as the trie would find it (NULL: none). */
static const struct gg_c_egress *brute_node(const struct gg_c_egress *nodes, size_t n, u128 a,
					    int bits)
{
	const struct gg_c_egress *best = NULL;

	for (size_t i = 0; i < n; i++) {
		u128 m = mask_of(bits, nodes[i].plen);

		if ((a & m) == addr_num(nodes[i].addr, bits) && (!best || nodes[i].plen > best->plen))
			best = &nodes[i];
	}
	return best;
}

static bool v4_mapped(const __u8 *a)
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a, mapped, 12);
}

/* Port node RANGES_PORT_NODE has a row for TCP 443 (the port asked):
 * a range carrying it answers with that row's verdict. */
#define RANGES_PORT_NODE 5
static const struct gg_verdict port_row = { 99, GG_ACT_DENY };

static void ranges_ask(struct gg_helpers_test *skel, const struct gg_c_egress *nodes, size_t n,
		       int family, u128 a, const char *subtest)
{
	int bits = family == AF_INET_ ? 32 : 128;
	struct gg_t_dest t = { .family = family, .port = 443, .proto = PROTO_TCP };
	const struct gg_c_egress *best = brute_node(nodes, n, a, bits);
	struct gg_verdict want = {};

	if (best)
		want = best->val.port_node == RANGES_PORT_NODE ? port_row : best->val.any;
	num_addr(a, (__u8 *)t.ip6, bits);
	if (family == AF_INET6_ && v4_mapped((__u8 *)t.ip6))
		return; /* looked up as IPv4: the v4 cases cover it */
	skel->bss->dest_io = t;
	run(skel->progs.test_dest, NULL, 0, subtest);
	EXPECT_EQ(skel->bss->dest_io.found ? skel->bss->dest_io.out.entry : 0, want.entry, "entry");
	if (want.entry)
		EXPECT_EQ(skel->bss->dest_io.out.action, want.action, "action");
}

static size_t ranges_random_set(struct gg_c_egress *nodes, size_t want, int family)
{
	int bits = family == AF_INET_ ? 32 : 128;
	size_t n = 0;

	while (n < want) {
		struct gg_c_egress *e = &nodes[n];
		u128 a = rand_num();
		bool dup = false;

		memset(e, 0, sizeof(*e));
		e->family = family;
		if (n && random() % 2) { /* inside an earlier prefix */
			const struct gg_c_egress *p = &nodes[random() % n];

			if (p->plen == bits)
				continue;
			e->plen = p->plen + 1 + random() % (bits - p->plen);
			a = addr_num(p->addr, bits) | (a & ~mask_of(bits, p->plen));
		} else {
			e->plen = random() % (bits + 1);
		}
		num_addr(a & mask_of(bits, e->plen), e->addr, bits);
		for (size_t i = 0; i < n && !dup; i++)
			dup = nodes[i].plen == e->plen && !memcmp(nodes[i].addr, e->addr, 16);
		if (dup)
			continue;
		/* few distinct verdicts, so that neighbours merge */
		e->val.any.entry = 1 + random() % 3;
		e->val.any.action = random() % 2 ? GG_ACT_DENY : GG_ACT_OBSERVE;
		e->val.port_node = random() % 4 ? 0 : RANGES_PORT_NODE;
		n++;
	}
	return n;
}

static int node_order(const void *a, const void *b)
{
	const struct gg_c_egress *x = a, *y = b;
	int d = memcmp(x->addr, y->addr, 16);

	return d ? d : x->plen - y->plen;
}

static void test_ranges_random(void **state)
{
	static const size_t sizes[] = { 1, 2, 7, 40, 300 };
	struct gg_helpers_test *skel = skel_of(state);
	struct gg_c_egress nodes[300];
	char subtest[96];

	struct gg_egress_port_key pk = { .node = RANGES_PORT_NODE, .port = 443, .proto = PROTO_TCP };

	map_put(skel->maps.egress_port, &pk, &port_row);
	srandom(20261204);
	for (int round = 0; round < 40; round++) {
		int family = round % 2 ? AF_INET6_ : AF_INET_, bits = family == AF_INET_ ? 32 : 128;
		size_t n = ranges_random_set(nodes, sizes[round % 5], family);
		u128 top = mask_of(bits, bits);

		if (round % 4 < 2) /* the compiler's order; the others unsorted */
			qsort(nodes, n, sizeof(nodes[0]), node_order);
		ranges_put(skel, nodes, n);
		snprintf(subtest, sizeof(subtest), "round %d (IPv%d, %zu prefixes)", round,
			 family == AF_INET_ ? 4 : 6, n);
		ranges_ask(skel, nodes, n, family, 0, subtest);
		ranges_ask(skel, nodes, n, family, top, subtest);
		for (size_t i = 0; i < n; i++) {
			u128 start = addr_num(nodes[i].addr, bits);
			u128 end = start | (top & ~mask_of(bits, nodes[i].plen));

			ranges_ask(skel, nodes, n, family, start, subtest);
			ranges_ask(skel, nodes, n, family, end, subtest);
			if (start)
				ranges_ask(skel, nodes, n, family, start - 1, subtest);
			if (end != top)
				ranges_ask(skel, nodes, n, family, end + 1, subtest);
		}
		for (int i = 0; i < 50; i++)
			ranges_ask(skel, nodes, n, family, rand_num() & top, subtest);
	}
}

/* 100,000 disjoint prefixes (200,001 ranges, 18 steps of the search):
 * each sampled prefix's edges and random addresses. */
static void test_ranges_large(void **state)
{
	const size_t n = 100000;
	struct gg_helpers_test *skel = skel_of(state);
	struct gg_c_egress *nodes = calloc(n, sizeof(*nodes));
	const char *subtest = "100,000 prefixes";
	u128 top = mask_of(32, 32);

	assert_non_null(nodes);
	srandom(4);
	for (size_t i = 0; i < n; i++) { /* one per 4096 addresses, /20 to /32 */
		nodes[i].family = AF_INET_;
		nodes[i].plen = 20 + random() % 13;
		num_addr((u128)(i * 4096 + (random() & 4095)) & mask_of(32, nodes[i].plen),
			 nodes[i].addr, 32);
		nodes[i].val.any = (struct gg_verdict){ 1 + i % 7, GG_ACT_DENY };
	}
	ranges_put(skel, nodes, n);
	for (size_t i = 0; i < n; i += 331) {
		u128 start = addr_num(nodes[i].addr, 32);
		u128 end = start | (top & ~mask_of(32, nodes[i].plen));

		ranges_ask(skel, nodes, n, AF_INET_, start, subtest);
		ranges_ask(skel, nodes, n, AF_INET_, end, subtest);
		ranges_ask(skel, nodes, n, AF_INET_, start - 1, subtest);
		ranges_ask(skel, nodes, n, AF_INET_, end + 1, subtest);
	}
	for (int i = 0; i < 300; i++)
		ranges_ask(skel, nodes, n, AF_INET_, rand_num() & top, subtest);
	free(nodes);
}

/* Another task's writable mapping of a new array before it is frozen:
 * one still open makes the freeze fail, one closed in time leaves its
 * write, which the read-back against the build's own copy finds; so does
 * a write by syscall (an fd got by the array's id). Either way the apply
 * fails and the slot keeps the array it had. (In locked mode the guard
 * refuses the mapping and the write themselves: the VM tier.) */
static int mapping_left; /* 1: the hook's mapping stays open; 2: a syscall write */
static void *mapping_mem;

static void write_before_freeze(int fd)
{
	if (mapping_left == 2) {
		struct gg_range_v4 r = {};
		__u32 two = 2;

		mapping_mem = NULL;
		if (!bpf_map_lookup_elem(fd, &two, &r)) {
			r.any.entry = 0; /* 10.0.0.0/8 no more */
			bpf_map_update_elem(fd, &two, &r, BPF_ANY);
		}
		return;
	}
	mapping_mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mapping_mem == MAP_FAILED)
		return;
	((struct gg_range_v4 *)mapping_mem)[2].any.entry = 0; /* 10.0.0.0/8 no more */
	if (!mapping_left)
		munmap(mapping_mem, 4096);
}

/* n nodes 10.x.y.0/24, alternate verdicts (so no two ranges merge: n
 * over 2048 makes an array too large for the batch write, built through
 * a mapping). */
static struct gg_c_egress *mapped_nodes(size_t n)
{
	struct gg_c_egress *v = calloc(n, sizeof(*v));

	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = (struct gg_c_egress){ .family = AF_INET_, .plen = 24,
					     .addr = { 10, (__u8)(i >> 8), (__u8)i },
					     .val = { .any = { 21 + (i & 1), GG_ACT_DENY } } };
	return v;
}

static void test_ranges_mapped(void **state)
{
	struct gg_helpers_test *skel = skel_of(state);
	int outer = bpf_map__fd(skel->maps.egress_range_v4);
	const char *subtest = "mapped";
	__u32 zero = 0, before, after;

	/* one prefix: written by a batch call; 3,000: through a mapping */
	for (size_t n = 1; n <= 3000; n += 2999) {
		struct gg_c_egress *nodes = mapped_nodes(n);
		struct gg_compiled c = { .egress = nodes, .n_egress = n };

		ranges_put(skel, nodes, n);
		assert_int_equal(bpf_map_lookup_elem(outer, &zero, &before), 0);
		gg_ranges_before_freeze = write_before_freeze;
		for (mapping_left = 0; mapping_left < 3; mapping_left++) {
			struct gg_err err = {};

			EXPECT_EQ(gg_ranges_write(outer, 0, &c, AF_INET_, NULL, &err) < 0, 1, "refused");
			assert_true(mapping_mem != MAP_FAILED);
			if (mapping_left == 1)
				munmap(mapping_mem, 4096);
			print_message("    %zu prefixes: %s\n", n, err.msg);
			assert_non_null(strstr(err.msg, mapping_left == 1 ? "freeze" :
							"changed before it was frozen"));
			assert_int_equal(bpf_map_lookup_elem(outer, &zero, &after), 0);
			EXPECT_EQ(after, before, "the slot's array unchanged");
		}
		gg_ranges_before_freeze = NULL;
		ranges_put(skel, nodes, n);
		assert_int_equal(bpf_map_lookup_elem(outer, &zero, &after), 0);
		EXPECT_EQ(after != before, 1, "without the mapping, applied");
		free(nodes);
	}
}

/* ---- every gate: folding verdicts, the slot check */

struct decision_case {
	const char *name;
	struct gg_verdict v[GG_T_VERDICTS];
	__s32 idx[GG_T_VERDICTS];
	__u32 rewrite;
	__u64 new_gen;
	__u32 action, flags;
	__u32 entries[GG_MAX_HITS];
};

static void test_decision(void **state)
{
	static const struct decision_case cases[] = {
		{ "deny-beats-observe", { { 1, 2 }, { 2, 1 }, { 3, 2 } }, { 0, 1, 2, 3 }, 0, 0,
		  GG_ACT_DENY, 0, { 1, 2, 3, 0 } },
		{ "observe-only", { { 4, 2 }, {}, { 5, 2 } }, { 0, 1, 2, 3 }, 0, 0,
		  GG_ACT_OBSERVE, 0, { 4, 0, 5, 0 } },
		{ "entry-0-is-no-rule", { { 0, 1 } }, { 0, 1, 2, 3 }, 0, 0, GG_ACT_NONE, 0, {} },
		{ "index-out-of-range", { { 6, 1 }, { 7, 2 } }, { -1, GG_MAX_HITS, 0, 0 }, 0, 0,
		  GG_ACT_DENY, 0, {} },
		{ "slot-rewritten-fails-closed", { { 8, 2 } }, { 0, 1, 2, 3 }, 1, 7,
		  GG_ACT_DENY, GG_EVF_FAIL_CLOSED, {} },
		{ "slot-being-written-fails-closed", {}, { 0, 1, 2, 3 }, 1, GG_GEN_WRITING,
		  GG_ACT_DENY, GG_EVF_FAIL_CLOSED, {} },
		{ "same-generation-stands", { { 8, 2 } }, { 0, 1, 2, 3 }, 1, 5, GG_ACT_OBSERVE, 0,
		  { 8, 0, 0, 0 } },
	};
	struct gg_helpers_test *skel = skel_of(state);
	struct gg_policy_state st = { .active_slot = 1, .generation = { 4, 5 } };
	__u32 zero = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct decision_case *c = &cases[i];
		const char *subtest = c->name;
		struct gg_t_decision t = { .rewrite = c->rewrite, .new_gen = c->new_gen };

		map_put(skel->maps.policy_state, &zero, &st);
		memcpy(t.v, c->v, sizeof(t.v));
		memcpy(t.idx, c->idx, sizeof(t.idx));
		run(skel->progs.test_decision, &t, sizeof(t), subtest);
		EXPECT_EQ(t.slot, 1, "slot");
		EXPECT_EQ(t.generation, 5, "generation");
		EXPECT_EQ(t.action, c->action, "action");
		EXPECT_EQ(t.flags, c->flags, "flags");
		for (int e = 0; e < GG_MAX_HITS; e++)
			EXPECT_EQ(t.entries[e], c->entries[e], "entries[]");
	}
}

/* The slot comes from active_slot's low bit; a slot already marked as being
 * written fails closed even when nothing changes during the decision. */
static void test_decision_slot(void **state)
{
	struct gg_helpers_test *skel = skel_of(state);
	struct gg_policy_state st = { .active_slot = 0, .generation = { 4, 5 } };
	struct gg_t_decision t = { .v = { { 1, GG_ACT_OBSERVE } } };
	const char *subtest = "slot-0";
	__u32 zero = 0;

	map_put(skel->maps.policy_state, &zero, &st);
	run(skel->progs.test_decision, &t, sizeof(t), subtest);
	EXPECT_EQ(t.slot, 0, "slot");
	EXPECT_EQ(t.generation, 4, "generation");
	EXPECT_EQ(t.flags, 0, "flags");

	subtest = "marked-writing";
	st.generation[0] = GG_GEN_WRITING;
	map_put(skel->maps.policy_state, &zero, &st);
	memset(&t, 0, sizeof(t));
	t.v[0] = (struct gg_verdict){ 1, GG_ACT_OBSERVE };
	run(skel->progs.test_decision, &t, sizeof(t), subtest);
	EXPECT_EQ(t.flags, GG_EVF_FAIL_CLOSED, "flags");
	EXPECT_EQ(t.action, GG_ACT_DENY, "action");
}

/* ---- scope: is the calling task governed? */

/* This process's cgroup: its id (inode) and depth, and its parent's. */
static void own_cgroup(struct gg_cgroup_ref *me, struct gg_cgroup_ref *parent)
{
	char line[4096], root[4096], dir[8192];
	struct gg_err err;
	struct stat st;
	FILE *f = fopen("/proc/self/cgroup", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) && strncmp(line, "0::/", 4))
		;
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	assert_memory_equal(line, "0::/", 4); /* the cgroup2 line */
	assert_int_equal(gg_cgroup2_root(root, sizeof(root), &err), 0);
	snprintf(dir, sizeof(dir), "%s%s", root, line + 3);
	assert_int_equal(stat(dir, &st), 0);
	me->id = st.st_ino;
	me->level = 0;
	for (const char *p = line + 3; *p; p++)
		me->level += *p == '/' && p[1];
	*strrchr(dir, '/') = '\0';
	assert_int_equal(stat(dir, &st), 0);
	parent->id = st.st_ino;
	parent->level = me->level ? me->level - 1 : 0;
}

static void self_check(struct gg_helpers_test *skel, const char *subtest,
		       const struct gg_settings *s, __u32 want, __u32 want_self)
{
	struct gg_t_scope t = { .in_scope = 0xa5, .is_self = 0xa5 };
	__u32 zero = 0;

	map_put(skel->maps.settings, &zero, s);
	run(skel->progs.test_scope, &t, sizeof(t), subtest);
	EXPECT_EQ(t.in_scope, want, "in_scope");
	EXPECT_EQ(t.is_self, want_self, "is_self");
}

static void scope_check(struct gg_helpers_test *skel, const char *subtest,
			const struct gg_settings *s, __u32 want)
{
	self_check(skel, subtest, s, want, 0);
}

static void test_scope(void **state)
{
	struct gg_helpers_test *skel = skel_of(state);
	struct gg_cgroup_ref me, parent, other;
	struct gg_settings s = { .enabled = 1, .scope_mode = GG_SCOPE_CGROUP };
	struct gg_err err;
	__u64 ticks;

	own_cgroup(&me, &parent);
	other = me;
	other.id = me.id + 1000003; /* no cgroup has that id at this depth */
	s.scope = me;
	scope_check(skel, "own-cgroup", &s, 1);
	if (me.level) {
		s.scope = parent;
		scope_check(skel, "parent-subtree", &s, 1);
	}
	s.scope = other;
	scope_check(skel, "other-cgroup", &s, 0);
	s.scope = me;
	s.enabled = 0;
	scope_check(skel, "disabled", &s, 0);

	memset(&s, 0, sizeof(s));
	s.enabled = 1;
	s.scope_mode = GG_SCOPE_GLOBAL;
	scope_check(skel, "global", &s, 1);
	s.exempt[1] = me;
	scope_check(skel, "exempt-beyond-n_exempt", &s, 1);
	s.n_exempt = 2;
	scope_check(skel, "exempt", &s, 0);
	s.n_exempt = 0;

	assert_int_equal(gg_proc_start_ticks(getpid(), &ticks, &err), 0);
	s.self_tgid = getpid();
	s.self_start_ticks = ticks;
	/* the daemon is governed too; recognised as itself for its egress */
	self_check(skel, "self-governed", &s, 1, 1);
	s.self_start_ticks = ticks + 1;
	self_check(skel, "reused-pid-not-self", &s, 1, 0);
	s.self_tgid = getpid() + 1;
	s.self_start_ticks = ticks;
	self_check(skel, "other-pid-not-self", &s, 1, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_key_finish),
		cmocka_unit_test(test_invoked_name),
		cmocka_unit_test(test_invoked_name_long),
		cmocka_unit_test(test_port_verdict),
		cmocka_unit_test(test_dest),
		cmocka_unit_test(test_ranges_random),
		cmocka_unit_test(test_ranges_large),
		cmocka_unit_test(test_ranges_mapped),
		cmocka_unit_test(test_decision),
		cmocka_unit_test(test_decision_slot),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_ringbuf_wraps),
		cmocka_unit_test(test_ringbuf_release),
	};

	/* GG_TEST_VERBOSE=1 shows libbpf's log (the verifier's on a refusal). */
	if (!getenv("GG_TEST_VERBOSE"))
		libbpf_set_print(NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}
