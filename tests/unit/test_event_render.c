// SPDX-License-Identifier: GPL-2.0
/*
 * The direct renderer (gg_event_render + gg_audit_append_rendered) writes
 * exactly the bytes of the jansson path (gg_event_record +
 * gg_audit_append): every kind of event, every optional key, strings that
 * need JSON escapes or are not UTF-8, every entry of a real policy in both
 * actions, a legacy generation, no policy, and the attribution cache.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "apply.h"
#include "audit.h"
#include "compiled_json.h"
#include "event.h"

struct logs {
	char dir[64], a[96], b[96], key[96];
	struct gg_audit *old, *new;
	struct gg_render r;
	long compared;
};

static void logs_open(struct logs *l)
{
	struct gg_audit_opts o = { .checkpoint_every = 1u << 30, .checkpoint_secs = 3600 };
	struct gg_err err;

	memset(l, 0, sizeof(*l));
	snprintf(l->dir, sizeof(l->dir), "/tmp/gg_render_XXXXXX");
	assert_non_null(mkdtemp(l->dir));
	snprintf(l->a, sizeof(l->a), "%s/old.jsonl", l->dir);
	snprintf(l->b, sizeof(l->b), "%s/new.jsonl", l->dir);
	snprintf(l->key, sizeof(l->key), "%s/key.pem", l->dir);
	o.key_path = l->key;
	o.path = l->a;
	if (gg_audit_open(&o, &l->old, &err))
		fail_msg("%s", err.msg);
	o.path = l->b;
	if (gg_audit_open(&o, &l->new, &err))
		fail_msg("%s", err.msg);
}

/* Both paths append e; their files must stay byte-identical. */
static void both(struct logs *l, const struct gg_event *e, const struct gg_compiled *c,
		 const char *exe)
{
	unsigned long long s1 = 0, s2 = 0;
	struct gg_err err;
	json_t *rec = gg_event_record(e, c, 1000);
	char *fa, *fb;
	size_t na, nb;

	if (exe) /* as the daemon's resolve_exe */
		json_object_set_new(rec, "exe", json_string(exe));
	if (gg_audit_append(l->old, rec, &s1, &err))
		fail_msg("%s", err.msg);
	json_decref(rec);
	assert_int_equal(gg_event_render(&l->r, e, c, 1000, exe), 0);
	if (gg_audit_append_rendered(l->new, l->r.ts, l->r.out.p, l->r.out.len, &s2, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(s1, s2);
	assert_int_equal(gg_audit_flush(l->old, false, &err), 0);
	assert_int_equal(gg_audit_flush(l->new, false, &err), 0);
	fa = fx_slurp(l->a, &na);
	fb = fx_slurp(l->b, &nb);
	if (na != nb || memcmp(fa, fb, na)) {
		const char *la = strrchr(fa, '{'), *lb = strrchr(fb, '{');

		fail_msg("record %lld differs:\njansson: %s\ndirect:  %s", s1, la ? la : fa,
			 lb ? lb : fb);
	}
	free(fa);
	free(fb);
	l->compared++;
}

/* The direct log holds each of these keys (the variants reached them). */
static void assert_has(struct logs *l, const char *const *keys)
{
	char *f = fx_slurp(l->b, NULL);

	for (; *keys; keys++)
		if (!strstr(f, *keys))
			fail_msg("no record has %s", *keys);
	free(f);
}

static void logs_close(struct logs *l)
{
	struct gg_err err;

	assert_int_equal(gg_audit_checkpoint(l->new, &err), 0);
	gg_audit_close(l->old);
	gg_audit_close(l->new);
	gg_render_free(&l->r);
	fx_rm_tree(l->dir);
}

/* Strings a kernel hands over: quotes, backslashes, every control kind,
 * DEL, valid 2/3/4-byte UTF-8, lone continuation bytes, a truncated
 * sequence, an overlong form, a surrogate. */
static const char *const nasty[] = {
	"plain",
	"q\"uo\\te/slash",
	"\b\f\n\r\t\x01\x1f\x7f",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	"bad\x80\xff",
	"trunc\xe2\x82",
	"over\xc0\xafl \xed\xa0\x80",
	"",
};
#define N_NASTY (sizeof(nasty) / sizeof(nasty[0]))

static void set_str(char *dst, size_t size, const char *s)
{
	memset(dst, 0, size);
	strncpy(dst, s, size - 1);
}

static void fill_common(struct gg_event *e, int i)
{
	e->ts_boot_ns = 1000000000ULL * (1700000000 + i) + 123456789ULL * (i % 7);
	e->generation = 3;
	e->action = GG_ACT_DENY;
	e->mechanism = i % 2 ? GG_MECH_LSM : GG_MECH_FALLBACK;
	e->pid = 100 + i;
	e->ppid = 1;
	e->uid = i % 3 ? 1000 : 0;
	e->cgroup_id = i % 4 ? 4242 : ~0ULL; /* beyond INT64_MAX: jansson's sign */
	set_str(e->comm, sizeof(e->comm), nasty[i % N_NASTY]);
	set_str(e->exe, sizeof(e->exe), nasty[(i + 3) % N_NASTY]);
}

static void fill_exec(struct gg_event *e, int i)
{
	static const char args[] = "/usr/bin/tool\0-e\0a\"b\\c\n\0\xff\xfe\0";
	size_t nargs = sizeof(args);

	e->gate = GG_GATE_EXEC;
	set_str(e->exec.filename, sizeof(e->exec.filename), nasty[i % N_NASTY]);
	if (i % 3)
		set_str(e->exec.path, sizeof(e->exec.path), nasty[(i + 1) % N_NASTY]);
	e->exec.dev = i % 2 ? 0x800003 : ~0ULL;
	e->exec.ino = 12345 + i;
	e->exec.match = i % 10; /* every match name and "none" */
	memcpy(e->exec.args, args, nargs);
	e->exec.args_len = i % 5 == 4 ? GG_ARGS_MAX + 10 : nargs;
	e->exec.argc = i % 4 == 3 ? 2 : 9;
	e->exec.digest_known = i % 2;
	for (int k = 0; k < GG_SHA256_LEN; k++)
		e->exec.sha256[k] = k * 7 + i;
}

static void fill_net(struct gg_event *e, int i)
{
	static const __u16 families[] = { AF_INET, AF_INET6, AF_PACKET, AF_XDP, AF_UNSPEC, 42 };
	static const __u8 protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, 0 };

	e->gate = GG_GATE_EGRESS;
	e->net.family = families[i % 6];
	e->net.dport = 80 + i;
	e->net.proto = protos[i % 4];
	e->net.mapped_v4 = i % 5 == 1;
	e->net.hook = (i / 2) % 8; /* 7: beyond the names: "unknown" */
	e->net.sock_type = i % 7;
	for (int k = 0; k < 16; k++)
		e->net.daddr[k] = i * 16 + k;
	if (i % 6 == 2 || i % 12 == 7) /* packet; raw (AF_INET6) */
		e->flags |= GG_EVF_SOCKET_KIND;
}

static void fill_module(struct gg_event *e, int i)
{
	e->gate = GG_GATE_MODULE;
	e->module.source = i % 8;
	set_str(e->module.name, sizeof(e->module.name), nasty[i % N_NASTY]);
}

/* Every refusal (enum gg_guard_what) and unknown ones, each with args
 * that pick its variants (file ops, mount syscalls, an ioctl or none). */
static const __u32 guard_whats[] = {
	0, GG_GUARD_BPF_CMD, GG_GUARD_MAP_MMAP_WRITE, GG_GUARD_PIN_UNLINK, GG_GUARD_PIN_RENAME,
	GG_GUARD_PIN_RMDIR, GG_GUARD_UMOUNT, GG_GUARD_PTRACE, GG_GUARD_SIGNAL,
	GG_GUARD_CGROUP_WRITE, GG_GUARD_CLONE_INTO_CGROUP, GG_GUARD_POLICY_FILE, GG_GUARD_MOUNT,
	GG_GUARD_CODE_MAP, GG_GUARD_BLOCK_WRITE, GG_GUARD_SET_MM, GG_GUARD_LOCKDOWN,
	GG_GUARD_NET_CONFIG, GG_GUARD_CONFIGFS, GG_GUARD_KEY_OPEN, GG_GUARD_KEY_MOVE, GG_GUARD_KEY_MAP,
	GG_GUARD_BORROW, GG_GUARD_TTY_INJECT, GG_GUARD_INPUT_DEVICE, GG_GUARD_PROC_LINK,
	GG_GUARD_PIDFD_NS, 16, 99,
};
static const __u32 guard_args[] = { 0, 1, 2, 3, 4, 5, 9, 29, 0x2285 };
#define N_WHATS (sizeof(guard_whats) / sizeof(guard_whats[0]))
#define N_ARGS (sizeof(guard_args) / sizeof(guard_args[0]))

static void fill_tamper(struct gg_event *e, int i)
{
	e->gate = i % GG_GATE_COUNT;
	e->flags |= GG_EVF_TAMPER | (i % 5 == 3 ? GG_EVF_UNLOCKED : 0);
	e->guard.what = guard_whats[i % N_WHATS];
	e->guard.arg = guard_args[(i / N_WHATS) % N_ARGS]; /* every (what, arg) once */
	set_str(e->guard.name, sizeof(e->guard.name), nasty[i % N_NASTY]);
}

static void (*const fills[])(struct gg_event *, int) = { fill_exec, fill_net, fill_module,
							  fill_tamper };

/* Every kind, each with several variants, against every entry set. */
static void run_all(struct logs *l, const struct gg_compiled *c)
{
	size_t n = c ? c->n_entries : 0;

	for (int kind = 0; kind < 4; kind++)
		for (int i = 0; i < (kind == 3 ? (int)(N_WHATS * N_ARGS) : 24); i++) {
			struct gg_event e = {};
			size_t k = n ? (size_t)i % (n + 2) : 0;

			fill_common(&e, i);
			fills[kind](&e, i);
			e.action = i % 3 == 2 ? GG_ACT_OBSERVE : GG_ACT_DENY;
			if (i % 8 == 5)
				e.flags |= GG_EVF_FAIL_CLOSED;
			if (i % 8 == 6)
				e.flags |= GG_EVF_BAD_ADDR | (i % 16 == 6 ? GG_EVF_FAIL_CLOSED : 0);
			if (i % 8 == 7) /* an unhashed executable mapping, alone or not */
				e.flags |= GG_EVF_UNHASHED | (i % 16 == 7 ? GG_EVF_BAD_ADDR : 0);
			if (i % 6 == 4) /* missing from an egress allowlist */
				e.flags |= GG_EVF_NOT_ALLOWED;
			if (kind == 1 && i % 12 == 9) /* the daemon's own destination */
				e.flags |= GG_EVF_DAEMON_EGRESS;
			/* no entry, one, two (in either order), an unknown one */
			if (k && k <= n)
				e.entries[i % GG_MAX_HITS] = k;
			if (k > 1 && k <= n)
				e.entries[(i + 1) % GG_MAX_HITS] = k - 1;
			if (k == n + 1)
				e.entries[0] = 99999;
			both(l, &e, c, i % 4 == 1 ? "/usr/lib/x\"y/caf\xc3\xa9" : NULL);
		}
}

static struct gg_compiled *policy(void)
{
	char path[] = "/tmp/gg_render_cfg_XXXXXX";
	struct gg_pack_ref refs[] = { { "owasp-llm-top10@v1", GG_ACT_OBSERVE },
				      { "eu-ai-act@v1", GG_ACT_DENY },
				      { "baseline-hardening@v1", GG_ACT_DENY } };
	struct gg_compiled *c = NULL;
	struct gg_config cfg;
	struct gg_err err;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_true(dprintf(fd, "{\"pack_dirs\": [\"packs\"], \"trust_dir\": \"/nonexistent\"}") > 0);
	close(fd);
	if (gg_config_load(path, &cfg, &err))
		fail_msg("%s", err.msg);
	unlink(path);
	if (gg_policy_build(&cfg, refs, 3, &c, NULL, NULL, &err))
		fail_msg("%s", err.msg);
	gg_config_free(&cfg);
	return c;
}

static void test_render_matches_jansson(void **state)
{
	struct gg_compiled *c = policy();
	struct logs l;

	logs_open(&l);
	run_all(&l, c);
	run_all(&l, c); /* again: now from the attribution cache */
	run_all(&l, NULL); /* policy_unresolved */
	run_all(&l, c); /* the cache is keyed by policy too */
	assert_true(l.compared == 4 * (3 * 24 + N_WHATS * N_ARGS));
	assert_has(&l, (const char *const[]){
			       "\"policy_unresolved\":true", "\"policy_swapped_during_decision\"",
			       "\"unreadable_destination\"", "\"socket_kind\":\"raw\"",
			       "\"socket_kind\":\"packet\"", "\"family_number\":42",
			       "\"proto_number\":1", "\"syscall\":null", "\"bpf_cmd\":",
			       "\"map_id\":", "\"ptrace_mode\":", "\"signal\":",
			       "\"file_op\":\"rename\"", "\"syscall\":\"umount\"",
			       "\"syscall\":\"mmap\"", "\"ioctl\":8837", "\"prctl\":",
			       "\"tamper\":\"unknown\"", "\"exe\":\"/usr/lib/", "\"digest\":null",
			       "\\u001F", "\\\\xff", "\"cgroup_id\":-1", "\"rules\":[{",
			       "\"daemon_egress\":true", NULL });
	logs_close(&l);
	gg_compiled_free(c);
}

/* A generation saved before rules kept their controls: attribution_unknown. */
static void make_legacy(json_t *doc)
{
	size_t i, k, j;
	json_t *ent, *r, *ctl;

	json_array_foreach(json_object_get(doc, "entries"), i, ent) {
		json_t *all = json_array();

		json_array_foreach(json_object_get(ent, "rules"), k, r) {
			json_array_foreach(json_object_get(r, "controls"), j, ctl)
				json_array_append(all, ctl);
			json_object_del(r, "controls");
		}
		json_object_set_new(ent, "controls", all);
	}
}

static void test_render_legacy_generation(void **state)
{
	struct gg_compiled *c = policy(), *back = NULL;
	json_t *doc = gg_compiled_to_json(c);
	struct gg_err err;
	struct logs l;

	make_legacy(doc);
	if (gg_compiled_from_json(doc, &back, &err))
		fail_msg("%s", err.msg);
	logs_open(&l);
	run_all(&l, back);
	assert_has(&l, (const char *const[]){ "\"attribution_unknown\":true", NULL });
	logs_close(&l);
	json_decref(doc);
	gg_compiled_free(back);
	gg_compiled_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_matches_jansson),
		cmocka_unit_test(test_render_legacy_generation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
