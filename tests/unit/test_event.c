// SPDX-License-Identifier: GPL-2.0
/* Ring-buffer events to audit records (user/event.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "apply.h"
#include "compiled_json.h"
#include "event.h"

static const char pack_a[] =
	"{\"name\":\"pa\",\"version\":\"v1\",\"framework\":{\"id\":\"fa\",\"title\":\"A\"},"
	"\"controls\":[{\"id\":\"A-1\",\"title\":\"t\",\"status\":\"enforced\"}],"
	"\"rules\":[{\"id\":\"ra\",\"gate\":\"cmd.exec\",\"controls\":[\"A-1\"],"
	"\"match\":{\"paths\":[\"/usr/bin/tool\"]}}]}";
static const char pack_b[] =
	"{\"name\":\"pb\",\"version\":\"v1\",\"framework\":{\"id\":\"fb\",\"title\":\"B\"},"
	"\"controls\":[{\"id\":\"B-1\",\"title\":\"t\",\"status\":\"enforced\"}],"
	"\"rules\":[{\"id\":\"rb\",\"gate\":\"cmd.exec\",\"controls\":[\"B-1\"],"
	"\"match\":{\"basenames\":[\"tool\"]}}]}";

static struct gg_compiled *compile_modes(enum gg_action mode_a, enum gg_action mode_b)
{
	struct gg_pack *a = NULL, *b = NULL;
	struct gg_policy_input in[2];
	struct gg_compiled *c = NULL;
	struct gg_err err;

	assert_int_equal(gg_pack_parse(pack_a, strlen(pack_a), "a.json", &a, &err), 0);
	assert_int_equal(gg_pack_parse(pack_b, strlen(pack_b), "b.json", &b, &err), 0);
	in[0] = (struct gg_policy_input){ a, mode_a, false };
	in[1] = (struct gg_policy_input){ b, mode_b, false };
	if (gg_compile(in, 2, &c, &err))
		fail_msg("%s", err.msg);
	gg_pack_free(a);
	gg_pack_free(b);
	return c;
}

/* pa (path /usr/bin/tool) enforced, pb (basename tool) observed. */
static struct gg_compiled *compile_ab(void)
{
	return compile_modes(GG_ACT_DENY, GG_ACT_OBSERVE);
}

static __u32 entry_of_path(const struct gg_compiled *c, const char *path)
{
	for (size_t i = 0; i < c->n_exec_paths; i++)
		if (!strcmp(c->exec_paths[i].path, path))
			return c->exec_paths[i].v.entry;
	return 0;
}

static __u32 entry_of_name(const struct gg_compiled *c, const char *name)
{
	for (size_t i = 0; i < c->n_exec_names; i++)
		if (!strcmp(c->exec_names[i].name, name))
			return c->exec_names[i].v.entry;
	return 0;
}

static const char *str(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

/* arr is exactly these strings, in order. */
static bool strs_are(json_t *arr, ...)
{
	size_t n = 0;
	const char *s;
	va_list ap;
	bool ok = json_is_array(arr);

	va_start(ap, arr);
	while (ok && (s = va_arg(ap, const char *))) {
		json_t *v = json_array_get(arr, n++);

		ok = json_is_string(v) && !strcmp(json_string_value(v), s);
	}
	va_end(ap);
	return ok && json_array_size(arr) == n;
}

static bool strs_have(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (!strcmp(json_string_value(v), s))
			return true;
	return false;
}

static bool rule_is(json_t *rec, size_t i, const char *pack, const char *rule, const char *mode)
{
	json_t *r = json_array_get(json_object_get(rec, "rules"), i);

	return r && !strcmp(str(r, "pack"), pack) && !strcmp(str(r, "rule"), rule) &&
	       str(r, "mode") && !strcmp(str(r, "mode"), mode);
}

/* A denial hit by a path rule of one pack and a name rule of another
 * carries both packs' rules, each with its mode; only the enforce-mode
 * pack's controls are what the denial enforced. */
static void test_exec_record(void **state)
{
	struct gg_compiled *c = compile_ab();
	struct gg_event e = {};
	static const char args[] = "/usr/bin/tool\0-e\0/bin/sh";
	json_t *rec, *argv;

	e.ts_boot_ns = 1500000000ULL; /* 1.5 s after boot */
	e.gate = GG_GATE_EXEC;
	e.action = GG_ACT_DENY;
	e.mechanism = GG_MECH_LSM;
	e.generation = 7;
	e.entries[0] = entry_of_path(c, "/usr/bin/tool");
	e.entries[2] = entry_of_name(c, "tool");
	assert_true(e.entries[0] && e.entries[2]);
	e.pid = 42;
	e.ppid = 1;
	e.uid = 1000;
	memcpy(e.comm, "0123456789abcdef", 16); /* no NUL: bounded by the field */
	strcpy(e.exe, "bash");
	strcpy(e.exec.filename, "./tool");
	strcpy(e.exec.path, "/usr/bin/tool");
	memcpy(e.exec.args, args, sizeof(args));
	e.exec.argc = 3;
	e.exec.args_len = sizeof(args);
	e.exec.match = GG_EXEC_BY_PATH;

	rec = gg_event_record(&e, c, 1700000000LL * 1000000000LL);
	assert_string_equal(str(rec, "event"), "command_denied");
	assert_string_equal(str(rec, "gate"), "cmd.exec");
	assert_string_equal(str(rec, "action"), "deny");
	assert_string_equal(str(rec, "mechanism"), "lsm");
	assert_string_equal(str(rec, "ts"), "2023-11-14T22:13:21.500000Z");
	assert_int_equal(json_integer_value(json_object_get(rec, "generation")), 7);
	assert_string_equal(str(rec, "comm"), "0123456789abcdef");
	assert_string_equal(str(rec, "path"), "/usr/bin/tool");
	assert_string_equal(str(rec, "match"), "path");
	assert_string_equal(str(rec, "pack"), "pa@v1");
	assert_string_equal(str(rec, "rule"), "ra");
	/* pa enforces, pb only observes: the denial satisfies A-1 alone */
	assert_true(strs_are(json_object_get(rec, "controls"), "A-1", NULL));
	assert_true(strs_are(json_object_get(rec, "frameworks"), "fa", NULL));
	assert_true(strs_are(json_object_get(rec, "observed_controls"), "B-1", NULL));
	assert_true(strs_are(json_object_get(rec, "observed_frameworks"), "fb", NULL));
	assert_int_equal(json_array_size(json_object_get(rec, "rules")), 2);
	assert_true(rule_is(rec, 0, "pa@v1", "ra", "enforce"));
	assert_true(rule_is(rec, 1, "pb@v1", "rb", "observe"));
	argv = json_object_get(rec, "argv");
	assert_int_equal(json_array_size(argv), 3);
	assert_string_equal(json_string_value(json_array_get(argv, 1)), "-e");
	assert_string_equal(json_string_value(json_array_get(argv, 2)), "/bin/sh");
	json_decref(rec);
	gg_compiled_free(c);
}

/* A denial decided by content carries match "digest" and the digest; a
 * record without one says null. */
static void test_exec_digest_record(void **state)
{
	struct gg_compiled *c = compile_ab();
	struct gg_event e = {};
	json_t *rec;

	e.gate = GG_GATE_EXEC;
	e.action = GG_ACT_DENY;
	e.mechanism = GG_MECH_LSM;
	e.entries[GG_EXEC_HIT_DIGEST] = entry_of_name(c, "tool");
	assert_true(e.entries[GG_EXEC_HIT_DIGEST]);
	strcpy(e.exec.filename, "/tmp/x");
	e.exec.match = GG_EXEC_BY_DIGEST;
	e.exec.digest_known = 1;
	for (int i = 0; i < GG_SHA256_LEN; i++)
		e.exec.sha256[i] = (__u8)(0xa0 + i);
	rec = gg_event_record(&e, c, 0);
	assert_string_equal(str(rec, "match"), "digest");
	assert_string_equal(str(rec, "digest"),
			    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
	/* the entry at the digest index attributes the denial */
	assert_true(rule_is(rec, 0, "pb@v1", "rb", "observe"));
	json_decref(rec);
	e.exec.digest_known = 0;
	rec = gg_event_record(&e, c, 0);
	assert_true(json_is_null(json_object_get(rec, "digest")));
	json_decref(rec);
	gg_compiled_free(c);
}

/* argv bytes are bounded by args_len and argc, whatever the kernel sent. */
static void test_exec_argv_bounded(void **state)
{
	struct gg_event e = {};
	json_t *rec, *argv;

	e.gate = GG_GATE_EXEC;
	e.action = GG_ACT_OBSERVE;
	memset(e.exec.args, 'x', sizeof(e.exec.args)); /* no NUL at all */
	e.exec.argc = 50;
	e.exec.args_len = 100000;
	rec = gg_event_record(&e, NULL, 0);
	argv = json_object_get(rec, "argv");
	assert_int_equal(json_array_size(argv), 1);
	assert_int_equal(strlen(json_string_value(json_array_get(argv, 0))), GG_ARGS_MAX);
	assert_string_equal(str(rec, "action"), "observe");
	assert_true(json_is_true(json_object_get(rec, "policy_unresolved")));
	assert_int_equal(json_array_size(json_object_get(rec, "controls")), 0);
	json_decref(rec);
}

static void test_egress_record_mapped_v4(void **state)
{
	struct gg_event e = {};
	json_t *rec;

	e.gate = GG_GATE_EGRESS;
	e.action = GG_ACT_DENY;
	e.mechanism = GG_MECH_FALLBACK;
	e.net.family = 10; /* AF_INET6 socket */
	e.net.mapped_v4 = 1;
	e.net.dport = 80;
	e.net.proto = 17;
	e.net.hook = GG_NET_SENDMSG;
	inet_pton(AF_INET, "169.254.169.254", e.net.daddr);
	rec = gg_event_record(&e, NULL, 0);
	assert_string_equal(str(rec, "event"), "egress_blocked");
	assert_string_equal(str(rec, "daddr"), "169.254.169.254");
	assert_string_equal(str(rec, "family"), "ipv6");
	assert_true(json_is_true(json_object_get(rec, "mapped_v4")));
	assert_string_equal(str(rec, "proto"), "udp");
	assert_string_equal(str(rec, "syscall"), "sendmsg");
	assert_string_equal(str(rec, "mechanism"), "fallback");
	assert_int_equal(json_integer_value(json_object_get(rec, "dport")), 80);
	json_decref(rec);
}

static void test_egress_record_v6(void **state)
{
	struct gg_event e = {};
	json_t *rec;

	e.gate = GG_GATE_EGRESS;
	e.action = GG_ACT_DENY;
	e.net.family = 10;
	e.net.proto = 6;
	inet_pton(AF_INET6, "fd00:ec2::254", e.net.daddr);
	rec = gg_event_record(&e, NULL, 0);
	assert_string_equal(str(rec, "daddr"), "fd00:ec2::254");
	assert_string_equal(str(rec, "proto"), "tcp");
	assert_string_equal(str(rec, "syscall"), "connect");
	json_decref(rec);
}

/* A socket-kind decision: no destination, the kind, the rule's control. */
static void test_socket_kind_records(void **state)
{
	static const char pack[] =
		"{\"name\":\"pn\",\"version\":\"v1\",\"framework\":{\"id\":\"fn\",\"title\":\"N\"},"
		"\"controls\":[{\"id\":\"N-RAW\",\"title\":\"t\",\"status\":\"enforced\"}],"
		"\"rules\":[{\"id\":\"rn\",\"gate\":\"net.egress\",\"controls\":[\"N-RAW\"],"
		"\"match\":{\"sockets\":[\"raw\",\"packet\"]}}]}";
	struct gg_compiled *c = NULL;
	struct gg_pack *p = NULL;
	struct gg_policy_input in;
	struct gg_event e = {};
	struct gg_err err;
	json_t *rec;

	assert_int_equal(gg_pack_parse(pack, strlen(pack), "n.json", &p, &err), 0);
	in = (struct gg_policy_input){ p, GG_ACT_DENY, false };
	if (gg_compile(&in, 1, &c, &err))
		fail_msg("%s", err.msg);
	e.gate = GG_GATE_EGRESS;
	e.action = GG_ACT_DENY;
	e.mechanism = GG_MECH_LSM;
	e.flags = GG_EVF_SOCKET_KIND;
	e.entries[0] = c->sockets[GG_SOCK_PACKET].entry;
	e.net.family = AF_PACKET;
	e.net.sock_type = SOCK_DGRAM;
	e.net.hook = GG_NET_SOCKET;
	rec = gg_event_record(&e, c, 0);
	assert_string_equal(str(rec, "event"), "egress_blocked");
	assert_string_equal(str(rec, "family"), "packet");
	assert_string_equal(str(rec, "socket_kind"), "packet");
	assert_string_equal(str(rec, "sock_type"), "dgram");
	assert_string_equal(str(rec, "hook"), "socket");
	assert_true(json_is_null(json_object_get(rec, "daddr")));
	assert_true(strs_are(json_object_get(rec, "controls"), "N-RAW", NULL));
	json_decref(rec);

	/* a send on a raw socket made outside the scope */
	e.entries[0] = c->sockets[GG_SOCK_RAW].entry;
	e.net.family = AF_INET;
	e.net.sock_type = SOCK_RAW;
	e.net.proto = IPPROTO_UDP;
	e.net.hook = GG_NET_SENDMSG;
	rec = gg_event_record(&e, c, 0);
	assert_string_equal(str(rec, "socket_kind"), "raw");
	assert_string_equal(str(rec, "sock_type"), "raw");
	assert_string_equal(str(rec, "syscall"), "sendmsg");
	assert_true(json_is_null(json_object_get(rec, "daddr")));
	assert_true(strs_are(json_object_get(rec, "controls"), "N-RAW", NULL));
	json_decref(rec);

	/* a destination decision names no socket kind */
	e.flags = 0;
	rec = gg_event_record(&e, c, 0);
	assert_null(json_object_get(rec, "socket_kind"));
	assert_string_equal(str(rec, "daddr"), "0.0.0.0");
	json_decref(rec);
	gg_compiled_free(c);
	gg_pack_free(p);
}

static void test_module_record(void **state)
{
	struct gg_event e = {};
	json_t *rec;

	e.gate = GG_GATE_MODULE;
	e.action = GG_ACT_DENY;
	e.module.source = GG_MOD_READ_FILE;
	strcpy(e.module.name, "nls_ascii.ko");
	rec = gg_event_record(&e, NULL, 0);
	assert_string_equal(str(rec, "event"), "module_blocked");
	assert_string_equal(str(rec, "gate"), "kernel.module");
	assert_string_equal(str(rec, "module"), "nls_ascii.ko");
	assert_string_equal(str(rec, "source"), "finit_module");
	json_decref(rec);
}

/* e's record, with its tamper kind and its one control. */
static json_t *tamper_rec(const struct gg_event *e, const char *tamper, const char *control)
{
	json_t *rec = gg_event_record(e, NULL, 0);

	assert_string_equal(str(rec, "tamper"), tamper);
	assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "controls"), 0)),
			    control);
	return rec;
}

/* Locked mode's refusals: their own event, control and fields; no policy
 * behind them (and none unresolved). */
static void test_tamper_record(void **state)
{
	struct gg_event e = {};
	json_t *rec, *ctl;

	e.gate = GG_GATE_MODULE;
	e.action = GG_ACT_DENY;
	e.flags = GG_EVF_TAMPER;
	e.guard.what = GG_GUARD_MAP_MMAP_WRITE;
	e.guard.arg = 42;
	strcpy(e.guard.name, "settings");
	rec = gg_event_record(&e, NULL, 0);
	assert_string_equal(str(rec, "event"), "tamper_blocked");
	assert_string_equal(str(rec, "tamper"), "map_mmap_write");
	assert_string_equal(str(rec, "target"), "settings");
	assert_int_equal(json_integer_value(json_object_get(rec, "map_id")), 42);
	ctl = json_object_get(rec, "controls");
	assert_int_equal(json_array_size(ctl), 1);
	assert_string_equal(json_string_value(json_array_get(ctl, 0)), "FLOOR-TAMPER-BPF");
	assert_null(json_object_get(rec, "policy_unresolved"));
	assert_null(json_object_get(rec, "module"));
	json_decref(rec);

	e.guard.what = GG_GUARD_SIGNAL;
	e.guard.arg = 9;
	rec = tamper_rec(&e, "daemon_signal", "FLOOR-TAMPER-DAEMON");
	assert_int_equal(json_integer_value(json_object_get(rec, "signal")), 9);
	assert_true(json_is_true(json_object_get(rec, "locked")));
	json_decref(rec);

	/* a governed task attaching to an exempt one: refused unlocked too */
	e.guard.what = GG_GUARD_BORROW;
	e.guard.arg = 0x12;
	e.flags = GG_EVF_TAMPER | GG_EVF_UNLOCKED;
	strcpy(e.guard.name, "sentinel");
	rec = tamper_rec(&e, "borrow_task", "FLOOR-TAMPER-CGROUP");
	assert_string_equal(str(rec, "target"), "sentinel");
	assert_int_equal(json_integer_value(json_object_get(rec, "ptrace_mode")), 0x12);
	assert_true(json_is_false(json_object_get(rec, "locked")));
	json_decref(rec);
	/* input pushed into a terminal (TIOCSTI) */
	e.guard.what = GG_GUARD_TTY_INJECT;
	e.guard.arg = 0x5412;
	strcpy(e.guard.name, "3");
	rec = tamper_rec(&e, "tty_inject", "FLOOR-TAMPER-CGROUP");
	assert_string_equal(str(rec, "target"), "3");
	assert_null(json_object_get(rec, "ptrace_mode"));
	assert_int_equal(json_integer_value(json_object_get(rec, "ioctl")), 0x5412);
	json_decref(rec);
	/* an input device opened: no ioctl */
	e.guard.what = GG_GUARD_INPUT_DEVICE;
	e.guard.arg = 0;
	strcpy(e.guard.name, "event0");
	rec = tamper_rec(&e, "input_device", "FLOOR-TAMPER-CGROUP");
	assert_string_equal(str(rec, "target"), "event0");
	assert_null(json_object_get(rec, "ioctl"));
	json_decref(rec);
	/* a /proc/PID/ link of an exempt task followed */
	e.guard.what = GG_GUARD_PROC_LINK;
	e.guard.arg = 4242;
	strcpy(e.guard.name, "sentinel");
	rec = tamper_rec(&e, "proc_link", "FLOOR-TAMPER-CGROUP");
	assert_string_equal(str(rec, "target"), "sentinel");
	assert_int_equal(json_integer_value(json_object_get(rec, "target_pid")), 4242);
	assert_null(json_object_get(rec, "ptrace_mode"));
	json_decref(rec);
	/* a namespace of an exempt task taken through its pidfd */
	e.guard.what = GG_GUARD_PIDFD_NS;
	e.guard.arg = 0xFF04;
	rec = tamper_rec(&e, "pidfd_namespace", "FLOOR-TAMPER-CGROUP");
	assert_int_equal(json_integer_value(json_object_get(rec, "ioctl")), 0xFF04);
	assert_null(json_object_get(rec, "target_pid"));
	json_decref(rec);
	e.flags = GG_EVF_TAMPER;

	e.guard.what = GG_GUARD_BPF_CMD;
	e.guard.arg = 5;
	rec = gg_event_record(&e, NULL, 0);
	assert_string_equal(str(rec, "bpf_cmd"), "BPF_PROG_LOAD");
	json_decref(rec);

	/* a map write by command, on the uapi's numbering */
	e.guard.arg = 2;
	rec = gg_event_record(&e, NULL, 0);
	assert_string_equal(str(rec, "bpf_cmd"), "BPF_MAP_UPDATE_ELEM");
	assert_string_equal(str(rec, "tamper"), "bpf_command");
	json_decref(rec);
	e.guard.arg = 26;
	rec = gg_event_record(&e, NULL, 0);
	assert_string_equal(str(rec, "bpf_cmd"), "BPF_MAP_UPDATE_BATCH");
	json_decref(rec);
}

/* The daemon's own destination outside settings.self_egress: a floor
 * denial with its control, whatever policy is loaded. */
static void test_daemon_egress_record(void **state)
{
	struct gg_event e = {};
	json_t *rec;

	e.gate = GG_GATE_EGRESS;
	e.action = GG_ACT_DENY;
	e.flags = GG_EVF_DAEMON_EGRESS;
	e.net.family = AF_INET;
	e.net.proto = IPPROTO_TCP;
	e.net.dport = 443;
	memcpy(e.net.daddr, (unsigned char[]){ 192, 0, 2, 7 }, 4);
	rec = gg_event_record(&e, NULL, 0);
	assert_string_equal(str(rec, "event"), "egress_blocked");
	assert_string_equal(str(rec, "pack"), "platform-floor");
	assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "controls"), 0)),
			    "FLOOR-TAMPER-DAEMON");
	assert_true(json_is_true(json_object_get(rec, "daemon_egress")));
	assert_string_equal(str(rec, "daddr"), "192.0.2.7");
	assert_null(json_object_get(rec, "policy_unresolved"));
	json_decref(rec);
}

/* An entry id the policy does not have resolves to nothing, not a crash. */
static void test_unknown_entry(void **state)
{
	struct gg_compiled *c = compile_ab();
	struct gg_event e = {};
	json_t *rec;

	e.gate = GG_GATE_EXEC;
	e.action = GG_ACT_DENY;
	e.entries[0] = 9999;
	rec = gg_event_record(&e, c, 0);
	assert_int_equal(json_array_size(json_object_get(rec, "controls")), 0);
	assert_true(json_is_null(json_object_get(rec, "rule")));
	json_decref(rec);
	gg_compiled_free(c);
}

/* A decision that failed closed (its policy slot was rewritten under it)
 * says so; an ordinary one does not. */
static void test_fail_closed_flag(void **state)
{
	struct gg_compiled *c = compile_ab();
	struct gg_event e = {};
	json_t *rec;

	e.gate = GG_GATE_EXEC;
	e.action = GG_ACT_DENY;
	e.flags = GG_EVF_FAIL_CLOSED;
	rec = gg_event_record(&e, c, 0);
	assert_string_equal(str(rec, "fail_closed"), "policy_swapped_during_decision");
	assert_string_equal(str(rec, "action"), "deny");
	assert_true(json_is_null(json_object_get(rec, "rule")));
	json_decref(rec);

	e.flags = 0;
	e.entries[0] = entry_of_path(c, "/usr/bin/tool");
	rec = gg_event_record(&e, c, 0);
	assert_null(json_object_get(rec, "fail_closed"));
	json_decref(rec);
	gg_compiled_free(c);
}

static json_t *pack_named(json_t *packs, const char *ref)
{
	size_t i;
	json_t *v;

	json_array_foreach(packs, i, v)
		if (!strcmp(str(v, "ref"), ref))
			return v;
	return NULL;
}

static bool has(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (!strcmp(json_string_value(v), s))
			return true;
	return false;
}

static char *write_pack(const char *dir, const char *name, const char *text)
{
	char *path = NULL;
	FILE *f;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* policy_applied.packs lists the floor (as events name it: "floor") with
 * its controls, then every pack, each with its mode; an observe-mode
 * pack's controls are never listed as enforced. */
static void test_policy_packs_json(void **state)
{
	char dir[] = "/tmp/gg_packs_XXXXXX";
	struct gg_policy_input *in = NULL;
	struct gg_pack_ref refs[2];
	struct gg_config cfg = {};
	struct gg_compiled *c = NULL;
	struct gg_err err;
	size_t n_in = 0;
	json_t *packs, *fl, *a, *b;

	assert_non_null(mkdtemp(dir));
	refs[0] = (struct gg_pack_ref){ write_pack(dir, "a.json", pack_a), GG_ACT_DENY };
	refs[1] = (struct gg_pack_ref){ write_pack(dir, "b.json", pack_b), GG_ACT_OBSERVE };
	cfg.mode = GG_ACT_DENY;
	if (gg_policy_build(&cfg, refs, 2, &c, &in, &n_in, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(n_in, 3);
	assert_true(in[0].is_floor);
	packs = gg_policy_packs_json(in, n_in);
	assert_int_equal(json_array_size(packs), 3);

	fl = json_array_get(packs, 0);
	assert_string_equal(str(fl, "ref"), "floor");
	assert_string_equal(str(fl, "framework"), "govgate-floor");
	assert_string_equal(str(fl, "mode"), "enforce");
	assert_true(has(json_object_get(fl, "enforced"), "FLOOR-EXEC-LOTL"));
	assert_true(has(json_object_get(fl, "enforced"), "FLOOR-KMOD"));
	assert_int_equal(json_array_size(json_object_get(fl, "observed")), 0);
	assert_int_equal(strlen(str(fl, "sha256")), 64);

	a = pack_named(packs, "a.json");
	if (!a) /* the ref as given: the path */
		a = json_array_get(packs, 1);
	assert_string_equal(str(a, "mode"), "enforce");
	assert_true(has(json_object_get(a, "enforced"), "A-1"));
	assert_int_equal(json_array_size(json_object_get(a, "observed")), 0);

	b = json_array_get(packs, 2);
	assert_string_equal(str(b, "framework"), "fb");
	assert_string_equal(str(b, "mode"), "observe");
	assert_int_equal(json_array_size(json_object_get(b, "enforced")), 0);
	assert_true(has(json_object_get(b, "observed"), "B-1"));
	assert_non_null(json_object_get(b, "advisory"));
	json_decref(packs);
	gg_policy_inputs_free(in, n_in);
	gg_compiled_free(c);

	/* The whole agent observing: the floor observes too. */
	cfg.mode = GG_ACT_OBSERVE;
	if (gg_policy_build(&cfg, refs, 1, &c, &in, &n_in, &err))
		fail_msg("%s", err.msg);
	packs = gg_policy_packs_json(in, n_in);
	fl = json_array_get(packs, 0);
	assert_string_equal(str(fl, "ref"), "floor");
	assert_string_equal(str(fl, "mode"), "observe");
	assert_int_equal(json_array_size(json_object_get(fl, "enforced")), 0);
	assert_true(has(json_object_get(fl, "observed"), "FLOOR-EXEC-LOTL"));
	assert_string_equal(str(json_array_get(packs, 1), "mode"), "observe");
	json_decref(packs);
	gg_policy_inputs_free(in, n_in);
	gg_compiled_free(c);

	unlink(refs[0].ref);
	unlink(refs[1].ref);
	free(refs[0].ref);
	free(refs[1].ref);
	rmdir(dir);
}

/* The packs of the source tree, as `govgate compile` finds them. */
static struct gg_config source_tree_cfg(void)
{
	char path[] = "/tmp/gg_event_cfg_XXXXXX";
	struct gg_config cfg;
	struct gg_err err;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_true(dprintf(fd, "{\"pack_dirs\": [\"packs\"], \"trust_dir\": \"/nonexistent\"}") > 0);
	close(fd);
	if (gg_config_load(path, &cfg, &err))
		fail_msg("%s", err.msg);
	unlink(path);
	return cfg;
}

/* The floor's denial of nc and owasp-llm-top10 in observe mode merge into
 * one deny entry: the record's controls are the floor's alone, the
 * observe-mode pack's are observed_controls; the same after the round
 * trip through the generation record the daemon resolves events with. */
static void test_floor_deny_observe_pack(void **state)
{
	struct gg_config cfg = source_tree_cfg();
	struct gg_pack_ref ref = { .ref = "owasp-llm-top10@v1", .mode = GG_ACT_OBSERVE };
	struct gg_compiled *c = NULL, *back = NULL;
	struct gg_event e = {};
	struct gg_err err;
	json_t *rec, *doc;

	if (gg_policy_build(&cfg, &ref, 1, &c, NULL, NULL, &err))
		fail_msg("%s", err.msg);
	e.gate = GG_GATE_EXEC;
	e.action = GG_ACT_DENY;
	e.generation = 2;
	e.entries[2] = entry_of_name(c, "nc");
	assert_true(e.entries[2]);
	assert_int_equal(gg_compiled_entry(c, e.entries[2])->action, GG_ACT_DENY);
	doc = gg_compiled_to_json(c);
	if (gg_compiled_from_json(doc, &back, &err))
		fail_msg("%s", err.msg);
	json_decref(doc);
	for (int i = 0; i < 2; i++) {
		rec = gg_event_record(&e, i ? back : c, 0);
		assert_string_equal(str(rec, "action"), "deny");
		assert_string_equal(str(rec, "pack"), "floor");
		assert_string_equal(str(rec, "rule"), "floor-deny-lotl-tools");
		assert_true(strs_are(json_object_get(rec, "controls"), "FLOOR-EXEC-LOTL", NULL));
		assert_true(strs_are(json_object_get(rec, "frameworks"), "govgate-floor", NULL));
		assert_true(strs_are(json_object_get(rec, "observed_controls"), "LLM05:2025",
				     "LLM06:2025", NULL));
		assert_true(strs_are(json_object_get(rec, "observed_frameworks"), "owasp-llm", NULL));
		assert_int_equal(json_array_size(json_object_get(rec, "rules")), 2);
		assert_true(rule_is(rec, 0, "floor", "floor-deny-lotl-tools", "enforce"));
		assert_true(rule_is(rec, 1, "owasp-llm-top10@v1", "llm-deny-remote-shell-tools",
				    "observe"));
		assert_null(json_object_get(rec, "attribution_unknown"));
		json_decref(rec);
	}
	gg_compiled_free(back);
	gg_compiled_free(c);
	gg_config_free(&cfg);
}

/* A decision only observe-mode rules made: controls are theirs (nothing
 * was denied), and observed_controls says the same. */
static void test_observe_decision(void **state)
{
	struct gg_compiled *c = compile_ab();
	struct gg_event e = {};
	json_t *rec;

	e.gate = GG_GATE_EXEC;
	e.action = GG_ACT_OBSERVE;
	e.entries[2] = entry_of_name(c, "tool");
	assert_true(e.entries[2]);
	rec = gg_event_record(&e, c, 0);
	assert_string_equal(str(rec, "action"), "observe");
	assert_string_equal(str(rec, "pack"), "pb@v1");
	assert_string_equal(str(rec, "rule"), "rb");
	assert_true(strs_are(json_object_get(rec, "controls"), "B-1", NULL));
	assert_true(strs_are(json_object_get(rec, "frameworks"), "fb", NULL));
	assert_true(strs_are(json_object_get(rec, "observed_controls"), "B-1", NULL));
	assert_true(strs_are(json_object_get(rec, "observed_frameworks"), "fb", NULL));
	assert_true(rule_is(rec, 0, "pb@v1", "rb", "observe"));
	json_decref(rec);

	/* and on every record, even one with no policy */
	e.action = GG_ACT_DENY;
	rec = gg_event_record(&e, NULL, 0);
	assert_true(strs_are(json_object_get(rec, "observed_controls"), NULL));
	assert_true(strs_are(json_object_get(rec, "observed_frameworks"), NULL));
	json_decref(rec);
	gg_compiled_free(c);
}

/* pack/rule of a denial name an enforce-mode rule, even when an
 * observe-mode one sorts first. */
static void test_deny_names_enforce_rule(void **state)
{
	struct gg_compiled *c = compile_modes(GG_ACT_OBSERVE, GG_ACT_DENY);
	struct gg_event e = {};
	json_t *rec;

	e.gate = GG_GATE_EXEC;
	e.action = GG_ACT_DENY;
	e.entries[0] = entry_of_path(c, "/usr/bin/tool");
	e.entries[2] = entry_of_name(c, "tool");
	rec = gg_event_record(&e, c, 0);
	assert_true(rule_is(rec, 0, "pa@v1", "ra", "observe"));
	assert_true(rule_is(rec, 1, "pb@v1", "rb", "enforce"));
	assert_string_equal(str(rec, "pack"), "pb@v1");
	assert_string_equal(str(rec, "rule"), "rb");
	assert_true(strs_are(json_object_get(rec, "controls"), "B-1", NULL));
	assert_true(strs_are(json_object_get(rec, "observed_controls"), "A-1", NULL));
	json_decref(rec);
	gg_compiled_free(c);
}

/* One rule behind two of a decision's lookups is listed once. */
static void test_rule_listed_once(void **state)
{
	static const char pack_c[] =
		"{\"name\":\"pc\",\"version\":\"v1\",\"framework\":{\"id\":\"fc\",\"title\":\"C\"},"
		"\"controls\":[{\"id\":\"C-1\",\"title\":\"t\",\"status\":\"enforced\"},"
		"{\"id\":\"C-2\",\"title\":\"t\",\"status\":\"enforced\"}],"
		"\"rules\":[{\"id\":\"r1\",\"gate\":\"cmd.exec\",\"controls\":[\"C-1\"],"
		"\"match\":{\"paths\":[\"/usr/bin/tool\"],\"basenames\":[\"tool\"]}},"
		"{\"id\":\"r2\",\"gate\":\"cmd.exec\",\"controls\":[\"C-2\"],"
		"\"match\":{\"basenames\":[\"tool\"]}}]}";
	struct gg_pack *p = NULL;
	struct gg_policy_input in[1];
	struct gg_compiled *c = NULL;
	struct gg_event e = {};
	struct gg_err err;
	json_t *rec;

	assert_int_equal(gg_pack_parse(pack_c, strlen(pack_c), "c.json", &p, &err), 0);
	in[0] = (struct gg_policy_input){ p, GG_ACT_DENY, false };
	if (gg_compile(in, 1, &c, &err))
		fail_msg("%s", err.msg);
	e.gate = GG_GATE_EXEC;
	e.action = GG_ACT_DENY;
	e.entries[0] = entry_of_path(c, "/usr/bin/tool");
	e.entries[2] = entry_of_name(c, "tool");
	assert_true(e.entries[0] && e.entries[2] && e.entries[0] != e.entries[2]);
	rec = gg_event_record(&e, c, 0);
	assert_int_equal(json_array_size(json_object_get(rec, "rules")), 2);
	assert_true(rule_is(rec, 0, "pc@v1", "r1", "enforce"));
	assert_true(rule_is(rec, 1, "pc@v1", "r2", "enforce"));
	assert_true(strs_are(json_object_get(rec, "controls"), "C-1", "C-2", NULL));
	json_decref(rec);
	gg_compiled_free(c);
	gg_pack_free(p);
}

/* The generation record as versions before per-rule controls wrote it:
 * an entry's controls the union over its rules, rules without controls. */
static void make_legacy(json_t *doc)
{
	size_t i, k, j;
	json_t *ent, *r, *c;

	json_array_foreach(json_object_get(doc, "entries"), i, ent) {
		json_t *all = json_array();

		json_array_foreach(json_object_get(ent, "rules"), k, r) {
			json_array_foreach(json_object_get(r, "controls"), j, c)
				if (!strs_have(all, json_string_value(c)))
					json_array_append(all, c);
			json_object_del(r, "controls");
		}
		json_object_set_new(ent, "controls", all);
		json_object_del(ent, "observed_controls");
		json_object_del(ent, "observed_frameworks");
	}
}

/* A generation recorded before rules kept their controls: one mode
 * behind an entry owns its controls exactly; with both modes the split is
 * unknown, and the record says so. */
static void test_legacy_generation(void **state)
{
	struct gg_compiled *c = compile_ab(), *back = NULL;
	json_t *doc = gg_compiled_to_json(c), *ent, *rec;
	struct gg_event e = {};
	struct gg_err err;

	make_legacy(doc);
	if (gg_compiled_from_json(doc, &back, &err))
		fail_msg("%s", err.msg);
	e.gate = GG_GATE_EXEC;
	e.action = GG_ACT_DENY;
	e.entries[0] = entry_of_path(back, "/usr/bin/tool");
	rec = gg_event_record(&e, back, 0);
	assert_true(strs_are(json_object_get(rec, "controls"), "A-1", NULL));
	assert_true(strs_are(json_object_get(rec, "observed_controls"), NULL));
	assert_null(json_object_get(rec, "attribution_unknown"));
	json_decref(rec);

	/* a mixed entry: the floor's rule and an observe-mode pack's */
	gg_compiled_free(back);
	back = NULL;
	json_decref(doc);
	gg_compiled_free(c);
	{
		struct gg_config cfg = source_tree_cfg();
		struct gg_pack_ref ref = { .ref = "owasp-llm-top10@v1", .mode = GG_ACT_OBSERVE };

		if (gg_policy_build(&cfg, &ref, 1, &c, NULL, NULL, &err))
			fail_msg("%s", err.msg);
		gg_config_free(&cfg);
	}
	doc = gg_compiled_to_json(c);
	make_legacy(doc);
	if (gg_compiled_from_json(doc, &back, &err))
		fail_msg("%s", err.msg);
	e.entries[0] = 0;
	e.entries[2] = entry_of_name(back, "nc");
	rec = gg_event_record(&e, back, 0);
	assert_true(json_is_true(json_object_get(rec, "attribution_unknown")));
	assert_true(strs_are(json_object_get(rec, "controls"), "FLOOR-EXEC-LOTL", "LLM05:2025",
			     "LLM06:2025", NULL));
	/* frameworks stay exact: each rule still names its pack's */
	assert_true(strs_are(json_object_get(rec, "frameworks"), "govgate-floor", NULL));
	assert_true(strs_are(json_object_get(rec, "observed_frameworks"), "owasp-llm", NULL));
	assert_string_equal(str(rec, "pack"), "floor");
	json_decref(rec);
	/* a document with controls on some rules only is refused */
	ent = json_array_get(json_object_get(doc, "entries"), e.entries[2] - 1);
	json_object_set_new(json_array_get(json_object_get(ent, "rules"), 0), "controls",
			    json_array());
	gg_compiled_free(back);
	back = NULL;
	assert_int_equal(gg_compiled_from_json(doc, &back, &err), -EINVAL);
	json_decref(doc);
	gg_compiled_free(c);
}

/* events_lost: the shape the report counts. */
static void test_lost_record(void **state)
{
	json_t *rec = gg_lost_record("net.egress", "ring_buffer", 5);

	assert_string_equal(str(rec, "event"), "events_lost");
	assert_string_equal(str(rec, "gate"), "net.egress");
	assert_string_equal(str(rec, "reason"), "ring_buffer");
	assert_int_equal(json_integer_value(json_object_get(rec, "count")), 5);
	json_decref(rec);
	rec = gg_lost_record(NULL, "audit_write", 2);
	assert_true(json_is_null(json_object_get(rec, "gate")));
	assert_string_equal(str(rec, "reason"), "audit_write");
	json_decref(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_record),
		cmocka_unit_test(test_exec_digest_record),
		cmocka_unit_test(test_exec_argv_bounded),
		cmocka_unit_test(test_egress_record_mapped_v4),
		cmocka_unit_test(test_egress_record_v6),
		cmocka_unit_test(test_socket_kind_records),
		cmocka_unit_test(test_module_record),
		cmocka_unit_test(test_tamper_record),
		cmocka_unit_test(test_daemon_egress_record),
		cmocka_unit_test(test_unknown_entry),
		cmocka_unit_test(test_fail_closed_flag),
		cmocka_unit_test(test_policy_packs_json),
		cmocka_unit_test(test_floor_deny_observe_pack),
		cmocka_unit_test(test_observe_decision),
		cmocka_unit_test(test_deny_names_enforce_rule),
		cmocka_unit_test(test_rule_listed_once),
		cmocka_unit_test(test_legacy_generation),
		cmocka_unit_test(test_lost_record),
	};

	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
