// SPDX-License-Identifier: GPL-2.0
/* The swap of user/policy.c on real maps (pinned in a bpffs directory of
 * the test's own; skipped without CAP_BPF): a slot is emptied by the keys
 * this process wrote into it, by reading the map where it does not know
 * them (another process applied, an apply died, a restart), and the slot a
 * flip left stale is emptied after the apply, a chunk at a time, without
 * ever touching the active slot. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include "fixture.h"
#include "gates.h"
#include "policy.h"

static char pin[256];
static int state_fd = -1, name_fd = -1, v4_fd = -1, range_fd = -1;

static int pin_map(int fd, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", pin, name);
	return fd < 0 ? -1 : bpf_obj_pin(fd, path);
}

/* egress_range_v4 as the gates declare it: slot -> a ranges array. */
static int range_outer(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, inner, .map_flags = GG_RANGE_INNER_FLAGS);
	LIBBPF_OPTS(bpf_map_create_opts, outer);
	int tmpl, fd;

	tmpl = bpf_map_create(BPF_MAP_TYPE_ARRAY, "gg_t_rin", sizeof(__u32),
			      sizeof(struct gg_range_v4), 1, &inner);
	if (tmpl < 0)
		return -1;
	outer.inner_map_fd = tmpl;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "gg_t_r4", sizeof(__u32), sizeof(__u32),
			    GG_SLOTS, &outer);
	close(tmpl);
	return fd;
}

static int setup(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, lpm, .map_flags = BPF_F_NO_PREALLOC);

	snprintf(pin, sizeof(pin), "/sys/fs/bpf/ggtest-policy-%d", getpid());
	if (mkdir(pin, 0700))
		return 0; /* no bpffs here: each test skips */
	state_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "gg_t_state", sizeof(__u32),
				  sizeof(struct gg_policy_state), 1, NULL);
	name_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "gg_t_name", sizeof(struct gg_exec_name_key),
				 sizeof(struct gg_verdict), 256, NULL);
	v4_fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "gg_t_v4", sizeof(struct gg_egress_v4_key),
			       sizeof(struct gg_egress_val), 256, &lpm);
	range_fd = range_outer();
	if (pin_map(state_fd, GG_MAP_POLICY_STATE) || pin_map(name_fd, GG_MAP_EXEC_NAME) ||
	    pin_map(v4_fd, GG_MAP_EGRESS_V4) || pin_map(range_fd, GG_MAP_EGRESS_RANGE_V4)) {
		close(state_fd);
		state_fd = -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char path[512];

	for (const char *const *n = (const char *const[]){ GG_MAP_POLICY_STATE, GG_MAP_EXEC_NAME,
							    GG_MAP_EGRESS_V4, GG_MAP_EGRESS_RANGE_V4, GG_MAP_META,
							    NULL };
	     *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", pin, *n);
		unlink(path);
	}
	rmdir(pin);
	return 0;
}

/* Every test starts from empty maps and a process that knows nothing. */
static void fresh(void)
{
	struct gg_policy_state st = {};
	struct gg_exec_name_key nk;
	struct gg_egress_v4_key vk;
	__u32 zero = 0;

	if (state_fd < 0)
		skip(); /* needs CAP_BPF and a bpffs */
	gg_policy_stale_grace_ms = 20;
	gg_policy_forget();
	while (!bpf_map_get_next_key(name_fd, NULL, &nk))
		bpf_map_delete_elem(name_fd, &nk);
	while (!bpf_map_get_next_key(v4_fd, NULL, &vk))
		bpf_map_delete_elem(v4_fd, &vk);
	for (__u32 slot = 0; slot < GG_SLOTS; slot++)
		bpf_map_delete_elem(range_fd, &slot);
	assert_int_equal(bpf_map_update_elem(state_fd, &zero, &st, BPF_ANY), 0);
}

static struct gg_policy_state state(void)
{
	struct gg_policy_state st;
	__u32 zero = 0;

	assert_int_equal(bpf_map_lookup_elem(state_fd, &zero, &st), 0);
	return st;
}

/* A policy denying exec of each name in the comma-separated list, one
 * program rule's egress prefix per name (10.0.i.0/24, a trie row), and
 * if any name, one generic prefix (10.200.0.0/16, a ranges array). */
static void swap(__u64 gen, const char *names)
{
	struct gg_c_exec_name en[16] = {};
	struct gg_c_egress eg[17] = {};
	struct gg_compiled c = { .exec_names = en, .egress = eg };
	char buf[256], *save, *tok;
	struct gg_err err = {};

	snprintf(buf, sizeof(buf), "%s", names);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i = c.n_exec_names++;

		snprintf(en[i].name, sizeof(en[i].name), "%s", tok);
		en[i].v = (struct gg_verdict){ .entry = 1, .action = GG_ACT_DENY };
		eg[i].family = AF_INET;
		eg[i].plen = 24;
		eg[i].addr[0] = 10;
		eg[i].addr[2] = (__u8)(tok[0] + strlen(tok));
		eg[i].val.any = en[i].v;
		eg[i].prog = 1;
		c.n_egress++;
	}
	if (c.n_egress) {
		struct gg_c_egress *g = &eg[c.n_egress++];

		*g = (struct gg_c_egress){ .family = AF_INET, .plen = 16, .addr = { 10, 200 } };
		g->val.any = (struct gg_verdict){ .entry = 1, .action = GG_ACT_DENY };
	}
	if (gg_policy_swap(pin, &c, gen, &err))
		fail_msg("swap %llu: %s", (unsigned long long)gen, err.msg);
}

/* The names slot holds, ",a,b," (sorted by the walk's order: compared as
 * a set by the callers through has()), and how many prefixes it holds. */
static int slot_names(__u32 slot, char *out, size_t len)
{
	struct gg_exec_name_key k, *prev = NULL, cur;
	int n = 0;

	snprintf(out, len, ",");
	while (!bpf_map_get_next_key(name_fd, prev, &cur)) {
		if (cur.slot == slot) {
			snprintf(out + strlen(out), len - strlen(out), "%s,", cur.name);
			n++;
		}
		k = cur;
		prev = &k;
	}
	return n;
}

static int slot_prefixes(__u32 slot)
{
	struct gg_egress_v4_key k, *prev = NULL, cur;
	int n = 0;

	while (!bpf_map_get_next_key(v4_fd, prev, &cur)) {
		n += ntohl(cur.slot) == slot;
		k = cur;
		prev = &k;
	}
	return n;
}

/* Whether the slot has a generic rules' array (ranges) in force. */
static bool slot_has_ranges(__u32 slot)
{
	__u32 id;

	return !bpf_map_lookup_elem(range_fd, &slot, &id);
}

/* slot holds exactly these names (and one prefix each), and ranges if
 * any. */
static void assert_slot(__u32 slot, const char *names)
{
	char got[1024], want[256], *save, *tok;
	int n = 0, have = slot_names(slot, got, sizeof(got));

	snprintf(want, sizeof(want), "%s", names);

	for (tok = strtok_r(want, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char w[80];

		snprintf(w, sizeof(w), ",%s,", tok);
		if (!strstr(got, w))
			fail_msg("slot %u lacks %s (holds %s)", slot, tok, got);
		n++;
	}
	if (have != n)
		fail_msg("slot %u holds %s, want only %s", slot, got, names);
	assert_int_equal(slot_prefixes(slot), n);
	assert_int_equal(slot_has_ranges(slot), n > 0);
}

/* Runs the stale slot's clear to the end, max_keys at a time, after its
 * grace; returns how many calls it took. */
static int stale_run(size_t max_keys)
{
	struct gg_err err = {};
	int calls = 0, r;

	while (gg_policy_stale_wait_ms() > 0)
		usleep(1000);
	do {
		r = gg_policy_stale_clear(max_keys, &err);
		calls++;
	} while (r > 0);
	if (r < 0)
		fail_msg("stale clear: %s", err.msg);
	return calls;
}

/* Each apply replaces exactly what its slot held two applies ago. */
static void test_swap_replaces(void **st)
{
	struct gg_policy_state s;

	fresh();
	swap(1, "a,b,c");
	swap(2, "d");
	swap(3, "e,f");
	swap(4, "g");
	s = state();
	assert_int_equal(s.active_slot, 0);
	assert_int_equal(s.generation[0], 4);
	assert_int_equal(s.generation[1], 3);
	assert_slot(0, "g");
	assert_slot(1, "e,f");
}

/* A policy without generic prefixes written over a slot that held some
 * (the arrays' rows are not emptied before the write, only rewritten):
 * the slot holds no ranges array. */
static void test_swap_drops_ranges(void **st)
{
	fresh();
	swap(1, "a");
	swap(2, "b");
	assert_true(slot_has_ranges(1));
	swap(3, "");
	assert_int_equal(state().active_slot, 1);
	assert_slot(1, "");
	assert_slot(0, "b");
}

/* After a flip the slot before is emptied, a chunk at a time, and marked
 * 0 (empty); the active slot is untouched; the next apply fills it. */
static void test_stale_cleared_after_flip(void **st)
{
	struct gg_policy_state s;

	fresh();
	swap(1, "a,b,c");
	assert_false(gg_policy_stale_pending()); /* slot 0 held nothing */
	swap(2, "d");
	assert_true(gg_policy_stale_pending());
	/* three names and three prefixes, two keys a call: 3 calls */
	assert_int_equal(stale_run(2), 3);
	assert_false(gg_policy_stale_pending());
	s = state();
	assert_int_equal(s.active_slot, 0);
	assert_int_equal(s.generation[0], 2);
	assert_int_equal(s.generation[1], 0);
	assert_slot(1, "");
	assert_slot(0, "d");
	swap(3, "e");
	assert_slot(1, "e");
	assert_slot(0, "d");
	assert_int_equal(state().generation[1], 3);
}

/* Nothing is marked before the grace: a decision that read the slot
 * before the flip may still be running. */
static void test_stale_waits_grace(void **st)
{
	struct gg_err err = {};

	fresh();
	gg_policy_stale_grace_ms = 300;
	swap(1, "a");
	swap(2, "b");
	assert_true(gg_policy_stale_wait_ms() > 200);
	assert_int_equal(gg_policy_stale_clear(100, &err), 0);
	assert_int_equal(state().generation[1], 1);
	assert_slot(1, "a");
	assert_true(gg_policy_stale_pending());
	assert_int_equal(stale_run(100), 1);
	assert_slot(1, "");
}

/* Two applies, then the clear of the slot before begun and one key of it
 * deleted: the slot marked GG_GEN_WRITING, the clear under way. */
static void clear_half_done(void)
{
	struct gg_err err = {};

	swap(1, "a,b,c");
	swap(2, "d");
	while (gg_policy_stale_wait_ms() > 0)
		usleep(1000);
	assert_int_equal(gg_policy_stale_clear(1, &err), 1);
	assert_int_equal(state().generation[1], GG_GEN_WRITING);
}

/* An apply while the clear is half done: the slot it writes holds exactly
 * the new policy. */
static void test_apply_during_clear(void **st)
{
	fresh();
	clear_half_done();
	swap(3, "e");
	stale_run(100); /* now slot 0's: the old clear is over */
	assert_slot(1, "e");
	assert_slot(0, "");
	assert_int_equal(state().active_slot, 1);
	assert_int_equal(state().generation[1], 3);
}

/* Another process (a restart, a direct apply) wrote the slots: what this
 * one does not know is read from the map. The child here forgets what it
 * inherited, as a new process knows nothing. */
static void in_child(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (!pid) {
		gg_policy_forget();
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
}

static void child_two_applies(void)
{
	swap(1, "a,b,c");
	swap(2, "d");
}

static void test_restart_dirty_slot(void **st)
{
	fresh();
	in_child(child_two_applies);
	swap(3, "e"); /* slot 1 held a,b,c, written by "another process" */
	assert_slot(1, "e");
	assert_slot(0, "d");
}

/* An apply that died mid-write leaves GG_GEN_WRITING and keys: a slot
 * this process had emptied is read again. */
static void child_dies_writing(void)
{
	struct gg_exec_name_key k = { .slot = 1, .name = "stray" };
	struct gg_verdict v = { .entry = 1, .action = GG_ACT_DENY };
	struct gg_policy_state s = state();
	__u32 zero = 0;

	s.generation[1] = GG_GEN_WRITING;
	bpf_map_update_elem(state_fd, &zero, &s, BPF_ANY);
	bpf_map_update_elem(name_fd, &k, &v, BPF_ANY);
}

static void test_died_writing_slot_read(void **st)
{
	fresh();
	swap(1, "a,b,c");
	swap(2, "d");
	stale_run(100);
	assert_slot(1, "");
	in_child(child_dies_writing);
	swap(3, "e");
	assert_slot(1, "e");
}

/* A direct apply came between the flip and the clear: the slot it made
 * active is not touched. */
static void child_applies(void)
{
	swap(3, "e");
}

static void test_other_apply_before_clear(void **st)
{
	struct gg_policy_state s;

	fresh();
	swap(1, "a,b,c");
	swap(2, "d");
	assert_true(gg_policy_stale_pending());
	in_child(child_applies);
	stale_run(100);
	s = state();
	assert_int_equal(s.active_slot, 1);
	assert_int_equal(s.generation[1], 3);
	assert_int_equal(s.generation[0], 2);
	assert_slot(1, "e");
	assert_slot(0, "d");
}

/* Gates whose meta map names another build's BPF objects: refused before
 * any write, whatever the sizes; this build's id applies. */
static void test_other_build_refused(void **st)
{
	struct gg_meta meta = {};
	struct gg_compiled c = {};
	struct gg_err err = {};
	struct gg_policy_state before, after;
	char path[512];
	__u32 zero = 0;
	int fd;

	(void)st;
	fresh();
	swap(1, "a,b");
	before = state();
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "gg_t_meta", sizeof(__u32), sizeof(meta), 1, NULL);
	assert_true(fd >= 0);
	assert_int_equal(pin_map(fd, GG_MAP_META), 0);
	snprintf(meta.build_id, sizeof(meta.build_id), "%064d", 7);
	assert_int_equal(bpf_map_update_elem(fd, &zero, &meta, BPF_ANY), 0);
	assert_int_not_equal(gg_policy_swap(pin, &c, 2, &err), 0);
	assert_non_null(strstr(err.msg, "loaded by another build (000000000000"));
	after = state();
	assert_memory_equal(&before, &after, sizeof(before));
	assert_slot(before.active_slot, "a,b");
	gg_build_id(meta.build_id); /* the same gates, this build's id: applies */
	assert_int_equal(bpf_map_update_elem(fd, &zero, &meta, BPF_ANY), 0);
	swap(3, "c");
	assert_slot(state().active_slot, "c");
	snprintf(path, sizeof(path), "%s/%s", pin, GG_MAP_META);
	unlink(path);
	close(fd);
}

/* Maps another build laid out (egress_state as it was before `progs`,
 * 4 bytes shorter): the apply is refused with the map's name, and the
 * policy in force stays as it was. */
static void test_other_layout_refused(void **st)
{
	struct gg_compiled c = {};
	struct gg_err err = {};
	struct gg_policy_state before, after;
	char path[512];
	int fd;

	(void)st;
	fresh();
	swap(1, "a,b");
	before = state();
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "gg_t_estate", sizeof(__u32),
			    sizeof(struct gg_egress_slot) - 4, GG_SLOTS, NULL);
	assert_true(fd >= 0);
	assert_int_equal(pin_map(fd, GG_MAP_EGRESS_STATE), 0);
	assert_int_not_equal(gg_policy_swap(pin, &c, 2, &err), 0);
	snprintf(path, sizeof(path), "%s/%s", pin, GG_MAP_EGRESS_STATE);
	unlink(path);
	close(fd);
	assert_non_null(strstr(err.msg, GG_MAP_EGRESS_STATE ": keys of 4 and values of"));
	assert_non_null(strstr(err.msg, "another build"));
	after = state();
	assert_memory_equal(&before, &after, sizeof(before));
	assert_slot(before.active_slot, "a,b");
	swap(3, "c"); /* the same maps, this build's layout: applies */
	assert_slot(state().active_slot, "c");
}

/* Pins fd as name, over whatever was pinned there. */
static void repin(const char *name, int fd)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", pin, name);
	unlink(path);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
}

static int new_state_map(void)
{
	return bpf_map_create(BPF_MAP_TYPE_ARRAY, "gg_t_state2", sizeof(__u32),
			      sizeof(struct gg_policy_state), 1, NULL);
}

static int new_name_map(void)
{
	return bpf_map_create(BPF_MAP_TYPE_HASH, "gg_t_name2", sizeof(struct gg_exec_name_key),
			      sizeof(struct gg_verdict), 256, NULL);
}

/* A daemon keeps its maps open between applies, without one fd more per
 * apply; gates attached again (a new policy_state pinned) are opened
 * again, and the policy goes into the new maps. */
static void test_kept_maps_follow_reattach(void **st)
{
	int first_state = state_fd, first_name = name_fd, fds;
	struct gg_policy_state s;

	fresh();
	gg_policy_keep_maps(true);
	swap(1, "a");
	fds = fx_open_fds();
	swap(2, "b");
	swap(3, "c");
	assert_int_equal(fx_open_fds(), fds);
	assert_slot(state().active_slot, "c");
	state_fd = new_state_map();
	name_fd = new_name_map();
	assert_true(state_fd >= 0 && name_fd >= 0);
	repin(GG_MAP_POLICY_STATE, state_fd);
	repin(GG_MAP_EXEC_NAME, name_fd);
	swap(4, "d");
	s = state();
	assert_int_equal(s.generation[s.active_slot], 4);
	assert_slot(s.active_slot, "d");
	gg_policy_keep_maps(false);
	close(state_fd);
	close(name_fd);
	state_fd = first_state;
	name_fd = first_name;
	repin(GG_MAP_POLICY_STATE, state_fd);
	repin(GG_MAP_EXEC_NAME, name_fd);
}

/* Another map pinned over a kept one, the policy_state the same: the
 * apply writes the map the attached programs read, not the new pin. */
static void test_kept_map_pinned_over(void **st)
{
	struct gg_exec_name_key k;
	int other;

	fresh();
	gg_policy_keep_maps(true);
	swap(1, "a");
	other = new_name_map();
	assert_true(other >= 0);
	repin(GG_MAP_EXEC_NAME, other);
	swap(2, "b");
	gg_policy_keep_maps(false);
	repin(GG_MAP_EXEC_NAME, name_fd);
	assert_slot(state().active_slot, "b");
	assert_int_not_equal(bpf_map_get_next_key(other, NULL, &k), 0);
	close(other);
}

/* Keeping turned off while a clear of the stale slot is half done with
 * the kept fds: the clear ends with them (the slot stays GG_GEN_WRITING,
 * which the next swap rewrites whole), never to act later through fd
 * numbers that may by then name other maps. */
static void test_keep_off_ends_lent_clear(void **st)
{
	struct gg_err err = {};
	int fds;

	fresh();
	fds = fx_open_fds();
	gg_policy_keep_maps(true);
	clear_half_done();
	gg_policy_keep_maps(false);
	assert_false(gg_policy_stale_pending());
	assert_int_equal(gg_policy_stale_clear(SIZE_MAX, &err), 0);
	assert_int_equal(fx_open_fds(), fds);
	swap(3, "e");
	assert_slot(1, "e");
	assert_int_equal(state().generation[1], 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swap_replaces),
		cmocka_unit_test(test_swap_drops_ranges),
		cmocka_unit_test(test_stale_cleared_after_flip),
		cmocka_unit_test(test_stale_waits_grace),
		cmocka_unit_test(test_apply_during_clear),
		cmocka_unit_test(test_restart_dirty_slot),
		cmocka_unit_test(test_died_writing_slot_read),
		cmocka_unit_test(test_other_apply_before_clear),
		cmocka_unit_test(test_other_layout_refused),
		cmocka_unit_test(test_other_build_refused),
		cmocka_unit_test(test_kept_maps_follow_reattach),
		cmocka_unit_test(test_kept_map_pinned_over),
		cmocka_unit_test(test_keep_off_ends_lent_clear),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
