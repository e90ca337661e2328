// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "event.h"

__s64 gg_boot_to_real_ns(void)
{
	struct timespec real, boot;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	return (real.tv_sec - boot.tv_sec) * 1000000000LL + (real.tv_nsec - boot.tv_nsec);
}

/* A bounded kernel string: never trust it to be terminated. */
static json_t *kstr(const char *s, size_t max)
{
	return json_stringn_nocheck(s, strnlen(s, max));
}

static const char *event_name(__u32 gate)
{
	switch (gate) {
	case GG_GATE_EXEC:
		return "command_denied";
	case GG_GATE_EGRESS:
		return "egress_blocked";
	default:
		return "module_blocked";
	}
}

static const char *exec_match_name(__u32 m)
{
	switch (m) {
	case GG_EXEC_BY_PATH:
		return "path";
	case GG_EXEC_BY_INODE:
		return "identity";
	case GG_EXEC_BY_NAME:
		return "basename";
	case GG_EXEC_BY_INVOKED_NAME:
		return "invoked-basename";
	case GG_EXEC_BY_DISCONNECTED:
		return "disconnected";
	case GG_EXEC_BY_DIGEST:
		return "digest";
	case GG_EXEC_BY_MMAP:
		return "mmap";
	case GG_EXEC_BY_TRUST:
		return "trust";
	case GG_EXEC_BY_CODE_WRITE:
		return "code_write";
	default:
		return "none";
	}
}

static const char *module_source_name(__u32 s)
{
	switch (s) {
	case GG_MOD_REQUEST:
		return "request_module";
	case GG_MOD_LOAD_DATA:
		return "init_module";
	case GG_MOD_READ_FILE:
		return "finit_module";
	case GG_MOD_KEXEC_LOAD:
		return "kexec_load";
	case GG_MOD_KEXEC_IMAGE:
		return "kexec_file_load";
	case GG_MOD_KEXEC_INITRAMFS:
		return "kexec_file_load_initramfs";
	default:
		return "unknown";
	}
}

/* Inserts s into arr, kept sorted and unique: records do not depend on the
 * order the entries were hit in. */
static bool has_rule(json_t *rules, const struct gg_entry_rule *r)
{
	size_t i;
	json_t *v;

	json_array_foreach(rules, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "pack")), r->pack) &&
		    !strcmp(json_string_value(json_object_get(v, "rule")), r->rule))
			return true;
	return false;
}

/* What the rules behind one decision name, split by the rules' modes. */
struct attribution {
	json_t *rules;
	json_t *ctl[2], *fw[2]; /* [0]: enforce-mode rules, [1]: observe-mode rules */
	const struct gg_entry_rule *first[2];
	bool unknown; /* a legacy entry mixed both modes: see add_entry */
};

static void add_entry(struct attribution *a, const struct gg_entry *ent)
{
	bool modes[2] = {};

	for (size_t r = 0; r < ent->n_rules; r++) {
		const struct gg_entry_rule *er = &ent->rules[r];
		int m = er->mode == GG_ACT_OBSERVE;

		modes[m] = true;
		/* the same rule behind two of the decision's lookups is one rule */
		if (has_rule(a->rules, er))
			continue;
		if (!a->first[m])
			a->first[m] = er;
		json_array_append_new(a->rules, json_pack("{s:s, s:s, s:s}", "pack", er->pack,
							  "rule", er->rule, "mode",
							  m ? "observe" : "enforce"));
		for (size_t c = 0; c < er->n_controls; c++)
			gg_json_insert_sorted(a->ctl[m], er->controls[c]);
		if (er->framework)
			gg_json_insert_sorted(a->fw[m], er->framework);
	}
	if (!ent->rule_controls_unknown)
		return;
	/* A generation compiled before rules kept their controls: one mode
	 * owns the whole union; with both, which rule named what is lost and
	 * the union stays with the enforce-mode rules, flagged. */
	a->unknown |= modes[0] && modes[1];
	for (size_t c = 0; c < ent->n_controls; c++)
		gg_json_insert_sorted(a->ctl[modes[0] ? 0 : 1], ent->controls[c]);
}

/*
 * Rules, controls and frameworks of every entry the decision matched
 * (docs/audit.md). The kernel only saw the merged action: a denial
 * enforces the controls of its enforce-mode rules, never those of an
 * observe-mode pack that matched the same thing.
 */
static void add_policy(json_t *rec, const struct gg_event *e, const struct gg_compiled *policy)
{
	struct attribution a = { .rules = json_array() };
	const struct gg_entry_rule *first;
	int act = e->action == GG_ACT_DENY ? 0 : 1;

	for (int m = 0; m < 2; m++) {
		a.ctl[m] = json_array();
		a.fw[m] = json_array();
	}
	for (int i = 0; i < GG_MAX_HITS; i++) {
		const struct gg_entry *ent;

		if (!e->entries[i] || !policy)
			continue;
		ent = gg_compiled_entry(policy, e->entries[i]);
		if (ent)
			add_entry(&a, ent);
	}
	/* the rule that decided: an enforce-mode one for a denial */
	first = a.first[act];
	json_object_set_new(rec, "pack", first ? json_string(first->pack) : json_null());
	json_object_set_new(rec, "rule", first ? json_string(first->rule) : json_null());
	json_object_set_new(rec, "rules", a.rules);
	/* what the action satisfies; for an observe decision the observe-mode
	 * rules' lists, so both pairs are equal */
	json_object_set_new(rec, "controls", json_copy(a.ctl[act]));
	json_object_set_new(rec, "frameworks", json_copy(a.fw[act]));
	json_object_set_new(rec, "observed_controls", a.ctl[1]);
	json_object_set_new(rec, "observed_frameworks", a.fw[1]);
	json_decref(a.ctl[0]);
	json_decref(a.fw[0]);
	if (a.unknown)
		json_object_set_new(rec, "attribution_unknown", json_true());
	if (!policy)
		json_object_set_new(rec, "policy_unresolved", json_true());
}

static void add_exec(json_t *rec, const struct gg_event *e)
{
	const struct gg_event_exec *x = &e->exec;
	json_t *argv = json_array();
	__u32 len = x->args_len < GG_ARGS_MAX ? x->args_len : GG_ARGS_MAX;

	for (__u32 off = 0, n = 0; off < len && n < x->argc; n++) {
		size_t l = strnlen(x->args + off, len - off);

		json_array_append_new(argv, json_stringn_nocheck(x->args + off, l));
		off += l + 1;
	}
	json_object_set_new(rec, "filename", kstr(x->filename, sizeof(x->filename)));
	json_object_set_new(rec, "path", x->path[0] ? kstr(x->path, sizeof(x->path)) : json_null());
	json_object_set_new(rec, "argv", argv);
	json_object_set_new(rec, "dev", json_integer(x->dev));
	json_object_set_new(rec, "ino", json_integer(x->ino));
	json_object_set_new(rec, "match", json_string(exec_match_name(x->match)));
	/* on no trust list in force (trusted-executables mode): govgate
	 * report lists these files */
	if (e->entries[GG_EXEC_HIT_TRUST])
		json_object_set_new(rec, "untrusted", json_true());
	if (x->digest_known) {
		char hex[2 * GG_SHA256_LEN + 1];

		gg_digest_hex(x->sha256, hex);
		json_object_set_new(rec, "digest", json_string(hex));
	} else {
		json_object_set_new(rec, "digest", json_null());
	}
}

static const char *net_family_name(__u16 family)
{
	switch (family) {
	case AF_INET:
		return "ipv4";
	case AF_INET6:
		return "ipv6";
	case AF_PACKET:
		return "packet";
	case AF_XDP:
		return "xdp";
	case AF_UNSPEC:
		return "unspec";
	default:
		return "other";
	}
}

/* The "sockets" kind that decided, by the socket's family (gg_sock_kind). */
static const char *socket_kind_name(__u16 family)
{
	if (family == AF_INET || family == AF_INET6)
		return "raw";
	return family == AF_PACKET || family == AF_XDP ? "packet" : "other";
}

static const char *net_hook_name(__u8 hook)
{
	static const char *const names[] = {
		[GG_NET_CONNECT] = "connect",
		[GG_NET_SENDMSG] = "sendmsg",
		[GG_NET_SOCKET] = "socket",
		[GG_NET_PACKET] = "packet",
		[GG_NET_SETSOCKOPT] = "setsockopt",
		[GG_NET_WRITE] = "write",
		[GG_NET_JOIN] = "multicast_join",
	};

	return hook < sizeof(names) / sizeof(names[0]) ? names[hook] : "unknown";
}

/* The system call behind a hook: a join is a setsockopt. */
static const char *net_syscall_name(__u8 hook)
{
	return hook == GG_NET_JOIN ? "setsockopt" : net_hook_name(hook);
}

static const char *sock_type_name(__u8 type)
{
	switch (type) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_RAW:
		return "raw";
	case SOCK_SEQPACKET:
		return "seqpacket";
	case SOCK_PACKET:
		return "packet";
	default:
		return NULL;
	}
}

static void add_net(json_t *rec, const struct gg_event *e)
{
	const struct gg_event_net *n = &e->net;
	char addr[INET6_ADDRSTRLEN] = "";
	bool v4 = n->family == AF_INET || n->mapped_v4;
	bool kind = e->flags & GG_EVF_SOCKET_KIND;
	/* a socket-kind decision has no destination */
	bool inet = (n->family == AF_INET || n->family == AF_INET6) && n->hook != GG_NET_SOCKET &&
		    !kind;
	const char *type = sock_type_name(n->sock_type);

	if (inet)
		inet_ntop(v4 ? AF_INET : AF_INET6, n->daddr, addr, sizeof(addr));
	json_object_set_new(rec, "family", json_string(net_family_name(n->family)));
	if (n->family != AF_INET && n->family != AF_INET6 && n->family != AF_PACKET &&
	    n->family != AF_XDP)
		json_object_set_new(rec, "family_number", json_integer(n->family));
	/* the "sockets" kind that decided: raw inet, packet (AF_PACKET, AF_XDP)
	 * or other (any other family but unix and netlink) */
	if (kind)
		json_object_set_new(rec, "socket_kind", json_string(socket_kind_name(n->family)));
	json_object_set_new(rec, "daddr", inet ? json_string(addr) : json_null());
	json_object_set_new(rec, "mapped_v4", json_boolean(n->mapped_v4));
	json_object_set_new(rec, "dport", json_integer(n->dport));
	json_object_set_new(rec, "proto", json_string(n->proto == IPPROTO_TCP   ? "tcp"
						     : n->proto == IPPROTO_UDP ? "udp"
									       : "other"));
	if (n->proto != IPPROTO_TCP && n->proto != IPPROTO_UDP)
		json_object_set_new(rec, "proto_number", json_integer(n->proto));
	if (type)
		json_object_set_new(rec, "sock_type", json_string(type));
	/* "syscall" predates the packet check, which has none to name. */
	json_object_set_new(rec, "syscall", n->hook == GG_NET_PACKET ?
						    json_null() :
						    json_string(net_syscall_name(n->hook)));
	json_object_set_new(rec, "hook", json_string(net_hook_name(n->hook)));
	/* missing from an applied egress allowlist (its rule is in "rules") */
	if (e->flags & GG_EVF_NOT_ALLOWED)
		json_object_set_new(rec, "not_allowlisted", json_true());
	/* the daemon's own destination, outside what it needs */
	if (e->flags & GG_EVF_DAEMON_EGRESS)
		json_object_set_new(rec, "daemon_egress", json_true());
}

/* Locked mode's refusals (bpf/guard.bpf.c): what was refused, and the
 * floor control it enforces. Fixed here, not compiled from a pack rule:
 * locked mode is not a policy a pack can change. */
static const struct {
	const char *what, *control;
} guard_names[] = {
	[GG_GUARD_BPF_CMD] = { "bpf_command", "FLOOR-TAMPER-BPF" },
	[GG_GUARD_MAP_MMAP_WRITE] = { "map_mmap_write", "FLOOR-TAMPER-BPF" },
	[GG_GUARD_PIN_UNLINK] = { "pin_unlink", "FLOOR-TAMPER-PINS" },
	[GG_GUARD_PIN_RENAME] = { "pin_rename", "FLOOR-TAMPER-PINS" },
	[GG_GUARD_PIN_RMDIR] = { "pin_rmdir", "FLOOR-TAMPER-PINS" },
	[GG_GUARD_UMOUNT] = { "bpffs_umount", "FLOOR-TAMPER-PINS" },
	[GG_GUARD_PTRACE] = { "daemon_ptrace", "FLOOR-TAMPER-DAEMON" },
	[GG_GUARD_SIGNAL] = { "daemon_signal", "FLOOR-TAMPER-DAEMON" },
	[GG_GUARD_CGROUP_WRITE] = { "cgroup_write", "FLOOR-TAMPER-CGROUP" },
	[GG_GUARD_CLONE_INTO_CGROUP] = { "clone_into_cgroup", "FLOOR-TAMPER-CGROUP" },
	[GG_GUARD_BORROW] = { "borrow_task", "FLOOR-TAMPER-CGROUP" },
	[GG_GUARD_TTY_INJECT] = { "tty_inject", "FLOOR-TAMPER-CGROUP" },
	[GG_GUARD_INPUT_DEVICE] = { "input_device", "FLOOR-TAMPER-CGROUP" },
	[GG_GUARD_PROC_LINK] = { "proc_link", "FLOOR-TAMPER-CGROUP" },
	[GG_GUARD_PIDFD_NS] = { "pidfd_namespace", "FLOOR-TAMPER-CGROUP" },
	[GG_GUARD_KEY_OPEN] = { "audit_key_open", "FLOOR-TAMPER-KEY" },
	[GG_GUARD_KEY_MOVE] = { "audit_key_move", "FLOOR-TAMPER-KEY" },
	[GG_GUARD_KEY_MAP] = { "audit_key_map", "FLOOR-TAMPER-KEY" },
	/* the policy authority (signed requests): its files, and mounts */
	[GG_GUARD_POLICY_FILE] = { "policy_file_write", "FLOOR-TAMPER-POLICY" },
	[GG_GUARD_MOUNT] = { "mount", "FLOOR-TAMPER-POLICY" },
	/* code in the daemon's successor that is not govgate's */
	[GG_GUARD_CODE_MAP] = { "code_map", "FLOOR-TAMPER-DAEMON" },
	/* the disk beneath the guarded files */
	[GG_GUARD_BLOCK_WRITE] = { "block_write", "FLOOR-TAMPER-POLICY" },
	[GG_GUARD_SET_MM] = { "set_mm", "FLOOR-TAMPER-DAEMON" },
	/* kernel memory past every hook: the key map, the maps, the daemon */
	[GG_GUARD_LOCKDOWN] = { "kernel_memory", "FLOOR-TAMPER-KERNEL" },
	/* network configuration that moves packets past the packet check */
	[GG_GUARD_NET_CONFIG] = { "net_config", "FLOOR-TAMPER-NET" },
	/* configfs: a netconsole target, nvmet and iSCSI targets */
	[GG_GUARD_CONFIGFS] = { "configfs", "FLOOR-TAMPER-NET" },
	/* the clock that request expiries and the digest cache read */
	[GG_GUARD_CLOCK] = { "clock_set", "FLOOR-TAMPER-POLICY" },
};

/* gg_event_guard.arg of GG_GUARD_MOUNT */
static const char *mount_syscall(__u32 arg)
{
	static const char *const names[] = { "mount", "move_mount", "umount", "fsconfig",
					     "fspick" };

	return arg < sizeof(names) / sizeof(names[0]) ? names[arg] : "unknown";
}

static const char *const configfs_ops[] = {
	[GG_CFOP_MKDIR] = "mkdir", [GG_CFOP_WRITE] = "write", [GG_CFOP_SYMLINK] = "symlink",
};

static const char *const pfile_ops[] = {
	[GG_GFOP_WRITE] = "write", [GG_GFOP_CREATE] = "create", [GG_GFOP_UNLINK] = "unlink",
	[GG_GFOP_RENAME] = "rename", [GG_GFOP_TRUNCATE] = "truncate", [GG_GFOP_LOCK] = "lock",
};

static const char *pfile_op(__u32 arg)
{
	return arg < sizeof(pfile_ops) / sizeof(pfile_ops[0]) && pfile_ops[arg] ? pfile_ops[arg] :
										   "unknown";
}

/* The commands gg_guard_bpf refuses, by their uapi names. */
static const char *bpf_cmd_name(__u32 cmd)
{
#define CMD(c) [c] = #c
	static const char *const names[] = {
		CMD(BPF_MAP_CREATE), CMD(BPF_MAP_UPDATE_ELEM), CMD(BPF_MAP_DELETE_ELEM),
		CMD(BPF_PROG_LOAD), CMD(BPF_PROG_ATTACH), CMD(BPF_PROG_DETACH),
		CMD(BPF_PROG_TEST_RUN), CMD(BPF_RAW_TRACEPOINT_OPEN),
		CMD(BPF_MAP_LOOKUP_AND_DELETE_ELEM), CMD(BPF_MAP_FREEZE),
		CMD(BPF_MAP_LOOKUP_AND_DELETE_BATCH), CMD(BPF_MAP_UPDATE_BATCH),
		CMD(BPF_MAP_DELETE_BATCH), CMD(BPF_LINK_CREATE), CMD(BPF_LINK_UPDATE),
		CMD(BPF_LINK_DETACH),
	};
#undef CMD

	return cmd < sizeof(names) / sizeof(names[0]) && names[cmd] ? names[cmd] : "unknown";
}

/* The daemon's own egress past settings.self_egress (egress.bpf.c). */
#define GG_CTL_DAEMON_EGRESS "FLOOR-TAMPER-DAEMON"

/* The attribution of a floor refusal no pack rule is behind. */
static void add_floor(json_t *rec, const char *control)
{
	json_object_set_new(rec, "pack", json_string("platform-floor"));
	json_object_set_new(rec, "rule", json_null());
	json_object_set_new(rec, "rules", json_array());
	json_object_set_new(rec, "controls", json_pack("[s]", control));
	json_object_set_new(rec, "frameworks", json_pack("[s]", "govgate-floor"));
	json_object_set_new(rec, "observed_controls", json_array());
	json_object_set_new(rec, "observed_frameworks", json_array());
}

static void add_tamper(json_t *rec, const struct gg_event *e)
{
	const struct gg_event_guard *g = &e->guard;
	bool known = g->what < sizeof(guard_names) / sizeof(guard_names[0]) &&
		     guard_names[g->what].what;
	const char *ctl = known ? guard_names[g->what].control : "FLOOR-TAMPER-UNKNOWN";

	json_object_set_new(rec, "event", json_string("tamper_blocked"));
	json_object_set_new(rec, "locked", json_boolean(!(e->flags & GG_EVF_UNLOCKED)));
	add_floor(rec, ctl);
	json_object_set_new(rec, "tamper", json_string(known ? guard_names[g->what].what
							     : "unknown"));
	json_object_set_new(rec, "target", kstr(g->name, sizeof(g->name)));
	if (g->what == GG_GUARD_BPF_CMD)
		json_object_set_new(rec, "bpf_cmd", json_string(bpf_cmd_name(g->arg)));
	else if (g->what == GG_GUARD_MAP_MMAP_WRITE)
		json_object_set_new(rec, "map_id", json_integer(g->arg));
	else if (g->what == GG_GUARD_SIGNAL)
		json_object_set_new(rec, "signal", json_integer(g->arg));
	else if (g->what == GG_GUARD_PTRACE || g->what == GG_GUARD_BORROW)
		json_object_set_new(rec, "ptrace_mode", json_integer(g->arg));
	else if (g->what == GG_GUARD_PROC_LINK)
		json_object_set_new(rec, "target_pid", json_integer(g->arg));
	else if (g->what == GG_GUARD_POLICY_FILE)
		json_object_set_new(rec, "file_op", json_string(pfile_op(g->arg)));
	else if (g->what == GG_GUARD_MOUNT)
		json_object_set_new(rec, "syscall", json_string(mount_syscall(g->arg)));
	else if (g->what == GG_GUARD_CODE_MAP)
		json_object_set_new(rec, "syscall", json_string(g->arg ? "mprotect" : "mmap"));
	else if (g->what == GG_GUARD_SET_MM)
		json_object_set_new(rec, "prctl", json_integer(g->arg));
	else if (g->what == GG_GUARD_LOCKDOWN)
		json_object_set_new(rec, "lockdown_reason", json_integer(g->arg));
	else if (g->what == GG_GUARD_CONFIGFS)
		json_object_set_new(rec, "file_op", json_string(g->arg < 3 ? configfs_ops[g->arg] :
									"unknown"));
	else if (g->what == GG_GUARD_NET_CONFIG && g->arg == 3)
		json_object_set_new(rec, "device", json_string("tun"));
	else if ((g->what == GG_GUARD_BLOCK_WRITE || g->what == GG_GUARD_TTY_INJECT ||
		  g->what == GG_GUARD_PIDFD_NS) && g->arg)
		json_object_set_new(rec, "ioctl", json_integer(g->arg));
}

json_t *gg_event_record(const struct gg_event *e, const struct gg_compiled *policy,
			__s64 boot_to_real_ns)
{
	char ts[64];
	json_t *rec = json_object();

	gg_time_format_us((boot_to_real_ns + (__s64)e->ts_boot_ns) / 1000, ts, sizeof(ts));
	json_object_set_new(rec, "ts", json_string(ts));
	json_object_set_new(rec, "event", json_string(event_name(e->gate)));
	json_object_set_new(rec, "gate", json_string(gg_gate_name(e->gate)));
	json_object_set_new(rec, "action", json_string(gg_action_name(e->action)));
	json_object_set_new(rec, "mechanism", json_string(gg_mech_name(e->mechanism)));
	/* Denied because the policy was swapped twice during the decision
	 * (govgate_abi.h): no rule is behind it, so say why. */
	if (e->flags & GG_EVF_FAIL_CLOSED)
		json_object_set_new(rec, "fail_closed", json_string("policy_swapped_during_decision"));
	/* An inet destination of a family the gate cannot read. */
	if (e->flags & GG_EVF_BAD_ADDR)
		json_object_set_new(rec, "fail_closed", json_string("unreadable_destination"));
	/* A file mapping made executable by mprotect, its content unhashed. */
	if (e->flags & GG_EVF_UNHASHED)
		json_object_set_new(rec, "fail_closed", json_string("unhashed_executable_mapping"));
	json_object_set_new(rec, "generation", json_integer(e->generation));
	if (e->flags & GG_EVF_TAMPER)
		add_tamper(rec, e); /* its own event name, controls and fields */
	else if (e->flags & GG_EVF_DAEMON_EGRESS)
		add_floor(rec, GG_CTL_DAEMON_EGRESS);
	else
		add_policy(rec, e, policy);
	json_object_set_new(rec, "pid", json_integer(e->pid));
	json_object_set_new(rec, "ppid", json_integer(e->ppid));
	json_object_set_new(rec, "uid", json_integer(e->uid));
	json_object_set_new(rec, "comm", kstr(e->comm, sizeof(e->comm)));
	json_object_set_new(rec, "exe", kstr(e->exe, sizeof(e->exe)));
	json_object_set_new(rec, "cgroup_id", json_integer(e->cgroup_id));
	switch (e->flags & GG_EVF_TAMPER ? GG_GATE_COUNT : e->gate) {
	case GG_GATE_COUNT: /* add_tamper did it */
		break;
	case GG_GATE_EXEC:
		add_exec(rec, e);
		break;
	case GG_GATE_EGRESS:
		add_net(rec, e);
		break;
	default:
		json_object_set_new(rec, "module", kstr(e->module.name, sizeof(e->module.name)));
		json_object_set_new(rec, "source",
				    json_string(module_source_name(e->module.source)));
		break;
	}
	return rec;
}

json_t *gg_lost_record(const char *gate, const char *reason, __u64 count)
{
	return json_pack("{s:s, s:o, s:s, s:I}", "event", "events_lost", "gate",
			 gate ? json_string(gate) : json_null(), "reason", reason, "count",
			 (json_int_t)count);
}

/*
 * The direct renderer: the same record as gg_event_record followed by the
 * audit writer's format_line, written as bytes without a jansson tree
 * (docs/performance.md: building and dumping two trees was most of a
 * record's cost). Key order is the writer's (audit.c key_order, then the
 * unlisted keys in byte order); strings are written as jansson writes the
 * writer's UTF-8-cleaned copy of them. tests/unit/test_event_render.c
 * compares both paths byte for byte for every kind of event.
 */
static int sb_grow(struct gg_strbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *p;

	if (b->len + n <= b->cap)
		return 0;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void sb_put_slow(struct gg_strbuf *b, const char *s, size_t n)
{
	if (b->failed || sb_grow(b, n)) {
		b->failed = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Inlined, as the helpers below: a record is some forty of these, most of
 * a constant length once inlined (a call and a strlen each were half of a
 * record's rendering). A failed buffer takes no more bytes:
 * gg_event_render sees b->failed. */
#define SB_INLINE static inline __attribute__((always_inline))

SB_INLINE void sb_put(struct gg_strbuf *b, const char *s, size_t n)
{
	if (__builtin_expect(b->len + n > b->cap || b->failed, 0)) {
		sb_put_slow(b, s, n);
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

#define SB_LIT(b, s) sb_put(b, s, sizeof(s) - 1)

SB_INLINE void sb_str(struct gg_strbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_int(struct gg_strbuf *b, long long v)
{
	char num[24];
	char *p = num + sizeof(num);
	unsigned long long u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;

	do
		*--p = '0' + u % 10;
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	sb_put(b, p, num + sizeof(num) - p);
}

/* A JSON string of n bytes of s: each byte that is not valid UTF-8
 * becomes the text \xNN (audit.c clean()), then jansson's escapes
 * (dump_string: \" \\ \b \f \n \r \t, other controls \u00XX). */
static void sb_jstr(struct gg_strbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run;
	char esc[8];

	if (b->failed || sb_grow(b, n + 2)) {
		b->failed = true;
		return;
	}
	SB_LIT(b, "\"");
	while (i < n) {
		for (run = i; run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' &&
			      u[run] != '\\';
		     run++)
			;
		sb_put(b, s + i, run - i);
		if ((i = run) == n)
			break;
		if (u[i] >= 0x80) {
			size_t m = gg_utf8_seq(u + i, n - i);

			if (m) {
				sb_put(b, s + i, m);
				i += m;
				continue;
			}
			/* clean() writes \xNN; jansson then escapes its backslash */
			esc[0] = esc[1] = '\\';
			esc[2] = 'x';
			esc[3] = hex[u[i] >> 4];
			esc[4] = hex[u[i] & 15];
			sb_put(b, esc, 5);
		} else if (u[i] == '"' || u[i] == '\\') {
			esc[0] = '\\';
			esc[1] = u[i];
			sb_put(b, esc, 2);
		} else {
			const char *short_esc = u[i] == '\b' ? "\\b" : u[i] == '\f' ? "\\f" :
						u[i] == '\n' ? "\\n" : u[i] == '\r' ? "\\r" :
						u[i] == '\t' ? "\\t" : NULL;

			if (short_esc) {
				sb_put(b, short_esc, 2);
			} else {
				snprintf(esc, sizeof(esc), "\\u%04X", u[i]);
				sb_put(b, esc, 6);
			}
		}
		i++;
	}
	SB_LIT(b, "\"");
}

/* ,"key": */
SB_INLINE void sb_key(struct gg_strbuf *b, const char *key)
{
	SB_LIT(b, ",\"");
	sb_str(b, key);
	SB_LIT(b, "\":");
}

SB_INLINE void sb_kstr(struct gg_strbuf *b, const char *key, const char *s, size_t max)
{
	sb_key(b, key);
	sb_jstr(b, s, strnlen(s, max));
}

SB_INLINE void sb_kint(struct gg_strbuf *b, const char *key, long long v)
{
	sb_key(b, key);
	sb_int(b, v);
}

/* The wall time of a boot-time stamp; the date part is kept per second. */
static void render_ts(struct gg_render *r, long long us)
{
	long long s = us / 1000000, frac = us % 1000000;
	char *p;

	if (frac < 0) {
		frac += 1000000;
		s--;
	}
	if (!r->ts_date[0] || s != r->ts_sec) {
		time_t t = s;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(r->ts_date, sizeof(r->ts_date), "%Y-%m-%dT%H:%M:%S", &tm);
		r->ts_sec = s;
	}
	p = stpcpy(r->ts, r->ts_date);
	*p++ = '.';
	for (int i = 5; i >= 0; i--, frac /= 10)
		p[i] = '0' + frac % 10;
	p[6] = 'Z';
	p[7] = '\0';
}

/* Appends a jansson value as the writer dumps it. Used for the attribution
 * only, whose strings come from parsed packs (valid UTF-8: clean() would
 * not change them), and only when the cache misses. */
static void sb_json(struct gg_strbuf *b, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!s) {
		b->failed = true;
		return;
	}
	sb_str(b, s);
	free(s);
}

/* "rule" .. "attribution_unknown" of a decision, in the writer's order. */
static const char *const attribution_keys[] = {
	"rule", "rules", "pack", "controls", "frameworks", "observed_controls",
	"observed_frameworks", "attribution_unknown",
};

static void render_attribution(struct gg_strbuf *b, const struct gg_event *e,
			       const struct gg_compiled *policy)
{
	json_t *rec = json_object();

	if (!rec) {
		b->failed = true;
		return;
	}
	add_policy(rec, e, policy);
	for (size_t i = 0; i < sizeof(attribution_keys) / sizeof(attribution_keys[0]); i++) {
		json_t *v = json_object_get(rec, attribution_keys[i]);

		if (!v)
			continue;
		sb_key(b, attribution_keys[i]);
		sb_json(b, v);
	}
	json_decref(rec);
}

/*
 * The attribution depends only on the generation's policy, the entries hit
 * and whether the action was a denial: a storm repeats the same decision,
 * so it is rendered once and kept. (generation, policy) identify the
 * policy: a generation's compiled policy never changes.
 */
static void add_attribution(struct gg_render *r, const struct gg_event *e,
			    const struct gg_compiled *policy)
{
	bool deny = e->action == GG_ACT_DENY;
	struct gg_render_attr *c;

	for (int i = 0; i < GG_RENDER_CACHE; i++) {
		c = &r->cache[i];
		if (c->frag.len && c->policy == policy && c->generation == e->generation &&
		    c->deny == deny && !memcmp(c->entries, e->entries, sizeof(c->entries))) {
			sb_put(&r->out, c->frag.p, c->frag.len);
			return;
		}
	}
	c = &r->cache[r->next_cache++ % GG_RENDER_CACHE];
	c->frag.len = 0;
	c->frag.failed = false;
	render_attribution(&c->frag, e, policy);
	if (c->frag.failed) {
		c->frag.len = 0;
		r->out.failed = true;
		return;
	}
	c->policy = policy;
	c->generation = e->generation;
	c->deny = deny;
	memcpy(c->entries, e->entries, sizeof(c->entries));
	sb_put(&r->out, c->frag.p, c->frag.len);
}

static void render_exec(struct gg_strbuf *b, const struct gg_event *e)
{
	const struct gg_event_exec *x = &e->exec;
	__u32 len = x->args_len < GG_ARGS_MAX ? x->args_len : GG_ARGS_MAX;

	sb_kstr(b, "filename", x->filename, sizeof(x->filename));
	sb_key(b, "path");
	if (x->path[0])
		sb_jstr(b, x->path, strnlen(x->path, sizeof(x->path)));
	else
		SB_LIT(b, "null");
	sb_key(b, "argv");
	SB_LIT(b, "[");
	for (__u32 off = 0, n = 0; off < len && n < x->argc; n++) {
		size_t l = strnlen(x->args + off, len - off);

		if (n)
			SB_LIT(b, ",");
		sb_jstr(b, x->args + off, l);
		off += l + 1;
	}
	SB_LIT(b, "]");
	sb_kint(b, "dev", (long long)x->dev);
	sb_kint(b, "ino", (long long)x->ino);
	sb_key(b, "match");
	sb_jstr(b, exec_match_name(x->match), strlen(exec_match_name(x->match)));
	sb_key(b, "digest");
	if (x->digest_known) {
		char hex[2 * GG_SHA256_LEN + 1];

		gg_digest_hex(x->sha256, hex);
		sb_jstr(b, hex, strlen(hex));
	} else {
		SB_LIT(b, "null");
	}
	if (e->entries[GG_EXEC_HIT_TRUST]) {
		sb_key(b, "untrusted");
		SB_LIT(b, "true");
	}
}

/* A fixed name (no escapes needed) as a string member. */
SB_INLINE void sb_kname(struct gg_strbuf *b, const char *key, const char *name)
{
	sb_key(b, key);
	SB_LIT(b, "\"");
	sb_str(b, name);
	SB_LIT(b, "\"");
}

/* inet_ntop(AF_INET)'s text of a (no escapes needed) without its printf:
 * a tenth of a storm record's rendering. Its length. */
static size_t ipv4_text(const __u8 *a, char *out)
{
	char *p = out;

	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];

		if (i)
			*p++ = '.';
		if (v >= 100)
			*p++ = '0' + v / 100;
		if (v >= 10)
			*p++ = '0' + v / 10 % 10;
		*p++ = '0' + v % 10;
	}
	*p = '\0';
	return p - out;
}

static void render_net(struct gg_strbuf *b, const struct gg_event *e)
{
	const struct gg_event_net *n = &e->net;
	char addr[INET6_ADDRSTRLEN] = "";
	bool v4 = n->family == AF_INET || n->mapped_v4;
	bool kind = e->flags & GG_EVF_SOCKET_KIND;
	bool inet = (n->family == AF_INET || n->family == AF_INET6) && n->hook != GG_NET_SOCKET &&
		    !kind;
	const char *type = sock_type_name(n->sock_type), *syscall = net_syscall_name(n->hook);
	bool other_family = n->family != AF_INET && n->family != AF_INET6 &&
			    n->family != AF_PACKET && n->family != AF_XDP;

	sb_kname(b, "family", net_family_name(n->family));
	sb_key(b, "daddr");
	if (inet && v4) {
		SB_LIT(b, "\"");
		sb_put(b, addr, ipv4_text(n->daddr, addr));
		SB_LIT(b, "\"");
	} else if (inet) {
		inet_ntop(AF_INET6, n->daddr, addr, sizeof(addr));
		sb_jstr(b, addr, strlen(addr));
	} else {
		SB_LIT(b, "null");
	}
	sb_key(b, "mapped_v4");
	sb_str(b, n->mapped_v4 ? "true" : "false");
	sb_kint(b, "dport", n->dport);
	sb_kname(b, "proto", n->proto == IPPROTO_TCP   ? "tcp" :
			     n->proto == IPPROTO_UDP ? "udp" :
						       "other");
	sb_key(b, "syscall");
	if (n->hook == GG_NET_PACKET)
		SB_LIT(b, "null");
	else
		sb_jstr(b, syscall, strlen(syscall));
	/* the keys audit.c does not list, in byte order */
	if (e->flags & GG_EVF_DAEMON_EGRESS) {
		sb_key(b, "daemon_egress");
		SB_LIT(b, "true");
	}
	if (other_family)
		sb_kint(b, "family_number", n->family);
	sb_kname(b, "hook", net_hook_name(n->hook));
	if (e->flags & GG_EVF_NOT_ALLOWED) {
		sb_key(b, "not_allowlisted");
		SB_LIT(b, "true");
	}
	if (n->proto != IPPROTO_TCP && n->proto != IPPROTO_UDP)
		sb_kint(b, "proto_number", n->proto);
	if (type)
		sb_kname(b, "sock_type", type);
	if (kind)
		sb_kname(b, "socket_kind", socket_kind_name(n->family));
}

static void render_module(struct gg_strbuf *b, const struct gg_event *e)
{
	sb_kstr(b, "module", e->module.name, sizeof(e->module.name));
	sb_kname(b, "source", module_source_name(e->module.source));
}

/* add_floor's attribution, in the writer's order. */
static void render_floor_attribution(struct gg_strbuf *b, const char *control)
{
	SB_LIT(b, ",\"rule\":null,\"rules\":[],\"pack\":\"platform-floor\",\"controls\":[\"");
	sb_str(b, control);
	SB_LIT(b, "\"],\"frameworks\":[\"govgate-floor\"],\"observed_controls\":[],"
		  "\"observed_frameworks\":[]");
}

static void render_tamper_attribution(struct gg_strbuf *b, const struct gg_event *e)
{
	const struct gg_event_guard *g = &e->guard;
	bool known = g->what < sizeof(guard_names) / sizeof(guard_names[0]) &&
		     guard_names[g->what].what;

	render_floor_attribution(b, known ? guard_names[g->what].control : "FLOOR-TAMPER-UNKNOWN");
}

/* add_tamper's own keys (none of them listed by audit.c), in byte order. */
static void render_tamper(struct gg_strbuf *b, const struct gg_event *e)
{
	const struct gg_event_guard *g = &e->guard;
	bool known = g->what < sizeof(guard_names) / sizeof(guard_names[0]) &&
		     guard_names[g->what].what;

	/* "syscall" is one of audit.c's listed keys: before the others */
	if (g->what == GG_GUARD_MOUNT)
		sb_kname(b, "syscall", mount_syscall(g->arg));
	else if (g->what == GG_GUARD_CODE_MAP)
		sb_kname(b, "syscall", g->arg ? "mprotect" : "mmap");
	if (g->what == GG_GUARD_BPF_CMD)
		sb_kname(b, "bpf_cmd", bpf_cmd_name(g->arg));
	else if (g->what == GG_GUARD_POLICY_FILE)
		sb_kname(b, "file_op", pfile_op(g->arg));
	else if (g->what == GG_GUARD_CONFIGFS)
		sb_kname(b, "file_op", g->arg < 3 ? configfs_ops[g->arg] : "unknown");
	else if (g->what == GG_GUARD_NET_CONFIG && g->arg == 3)
		sb_kname(b, "device", "tun");
	else if ((g->what == GG_GUARD_BLOCK_WRITE || g->what == GG_GUARD_TTY_INJECT ||
		  g->what == GG_GUARD_PIDFD_NS) && g->arg)
		sb_kint(b, "ioctl", g->arg);
	else if (g->what == GG_GUARD_LOCKDOWN)
		sb_kint(b, "lockdown_reason", g->arg);
	sb_key(b, "locked");
	if (e->flags & GG_EVF_UNLOCKED)
		SB_LIT(b, "false");
	else
		SB_LIT(b, "true");
	if (g->what == GG_GUARD_MAP_MMAP_WRITE)
		sb_kint(b, "map_id", g->arg);
	else if (g->what == GG_GUARD_SET_MM)
		sb_kint(b, "prctl", g->arg);

	else if (g->what == GG_GUARD_PTRACE || g->what == GG_GUARD_BORROW)
		sb_kint(b, "ptrace_mode", g->arg);
	else if (g->what == GG_GUARD_SIGNAL)
		sb_kint(b, "signal", g->arg);
	sb_kname(b, "tamper", known ? guard_names[g->what].what : "unknown");
	sb_kstr(b, "target", g->name, sizeof(g->name));
	if (g->what == GG_GUARD_PROC_LINK)
		sb_kint(b, "target_pid", g->arg);
}

static void render_header(struct gg_render *r, const struct gg_event *e,
			  const struct gg_compiled *policy, const char *exe)
{
	struct gg_strbuf *b = &r->out;
	bool tamper = e->flags & GG_EVF_TAMPER, daemon = e->flags & GG_EVF_DAEMON_EGRESS;

	sb_kname(b, "event", tamper ? "tamper_blocked" : event_name(e->gate));
	sb_kname(b, "gate", gg_gate_name(e->gate));
	sb_kname(b, "action", gg_action_name(e->action));
	sb_kname(b, "mechanism", gg_mech_name(e->mechanism));
	sb_kint(b, "generation", (long long)e->generation);
	if (tamper)
		render_tamper_attribution(b, e);
	else if (daemon)
		render_floor_attribution(b, GG_CTL_DAEMON_EGRESS);
	else
		add_attribution(r, e, policy);
	/* as gg_event_record: the later flag's reason wins */
	if (e->flags & GG_EVF_UNHASHED)
		sb_kname(b, "fail_closed", "unhashed_executable_mapping");
	else if (e->flags & GG_EVF_BAD_ADDR)
		sb_kname(b, "fail_closed", "unreadable_destination");
	else if (e->flags & GG_EVF_FAIL_CLOSED)
		sb_kname(b, "fail_closed", "policy_swapped_during_decision");
	if (!tamper && !daemon && !policy) {
		sb_key(b, "policy_unresolved");
		SB_LIT(b, "true");
	}
	sb_kint(b, "pid", e->pid);
	sb_kint(b, "ppid", e->ppid);
	sb_kint(b, "uid", e->uid);
	sb_kstr(b, "comm", e->comm, sizeof(e->comm));
	if (exe)
		sb_kstr(b, "exe", exe, strlen(exe));
	else
		sb_kstr(b, "exe", e->exe, sizeof(e->exe));
	sb_kint(b, "cgroup_id", (long long)e->cgroup_id);
}

int gg_event_render(struct gg_render *r, const struct gg_event *e,
		    const struct gg_compiled *policy, __s64 boot_to_real_ns, const char *exe)
{
	r->out.len = 0;
	/* most records fit: sb_put's fast path then never grows the buffer */
	r->out.failed = sb_grow(&r->out, 2048) != 0;
	render_ts(r, (boot_to_real_ns + (__s64)e->ts_boot_ns) / 1000);
	render_header(r, e, policy, exe);
	switch (e->flags & GG_EVF_TAMPER ? GG_GATE_COUNT : e->gate) {
	case GG_GATE_COUNT:
		render_tamper(&r->out, e);
		break;
	case GG_GATE_EXEC:
		render_exec(&r->out, e);
		break;
	case GG_GATE_EGRESS:
		render_net(&r->out, e);
		break;
	default:
		render_module(&r->out, e);
		break;
	}
	return r->out.failed ? -ENOMEM : 0;
}

void gg_render_free(struct gg_render *r)
{
	free(r->out.p);
	for (int i = 0; i < GG_RENDER_CACHE; i++)
		free(r->cache[i].frag.p);
	memset(r, 0, sizeof(*r));
}

/*
 * The executable's full path from /proc/PID/exe when its name still
 * matches what BPF recorded: the record's "exe". A storm repeats the
 * same process, so the last answer is kept and reused for events that
 * happened before it was read: for those it is exactly as good as reading
 * again, which could only be later (a pid reused since can only make a
 * later read wrong, never an earlier one right).
 */
const char *gg_render_exe(struct gg_render *r, const struct gg_event *e)
{
	size_t len = strnlen(e->exe, sizeof(e->exe));
	char name[sizeof(e->exe) + 1], link[64];
	struct timespec now;
	const char *base;
	ssize_t n;


	memcpy(name, e->exe, len); /* not snprintf: this runs for every record */
	name[len] = '\0';
	if (!len || memchr(name, '/', len))
		return NULL;
	if (r->exe_read_ns && r->exe_pid == e->pid && e->ts_boot_ns <= r->exe_read_ns &&
	    !strcmp(r->exe_name, name))
		return r->exe_ok ? r->exe_path : NULL;
	clock_gettime(CLOCK_BOOTTIME, &now);
	r->exe_read_ns = now.tv_sec * 1000000000ULL + now.tv_nsec;
	r->exe_pid = e->pid;
	snprintf(r->exe_name, sizeof(r->exe_name), "%s", name);
	r->exe_ok = false;
	snprintf(link, sizeof(link), "/proc/%u/exe", e->pid);
	n = readlink(link, r->exe_path, sizeof(r->exe_path) - 1);
	if (n <= 0)
		return NULL;
	r->exe_path[n] = '\0';
	base = strrchr(r->exe_path, '/');
	/* jansson (json_string) takes only valid UTF-8: the name stays then */
	r->exe_ok = base && !strcmp(base + 1, name) && gg_utf8_valid(r->exe_path, n);
	return r->exe_ok ? r->exe_path : NULL;
}
