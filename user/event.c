// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

static const char *net_hook_name(__u8 hook)
{
	static const char *const names[] = {
		[GG_NET_CONNECT] = "connect",
		[GG_NET_SENDMSG] = "sendmsg",
		[GG_NET_SOCKET] = "socket",
		[GG_NET_PACKET] = "packet",
	};

	return hook < sizeof(names) / sizeof(names[0]) ? names[hook] : "unknown";
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
	/* the "sockets" kind that decided: raw inet, or packet (AF_PACKET, AF_XDP) */
	if (kind)
		json_object_set_new(rec, "socket_kind",
				    json_string(n->family == AF_INET || n->family == AF_INET6 ?
							"raw" :
							"packet"));
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
						    json_string(net_hook_name(n->hook)));
	json_object_set_new(rec, "hook", json_string(net_hook_name(n->hook)));
	/* missing from an applied egress allowlist (its rule is in "rules") */
	if (e->flags & GG_EVF_NOT_ALLOWED)
		json_object_set_new(rec, "not_allowlisted", json_true());
}

/* Locked mode's refusals (bpf/guard.bpf.c): what was refused, and the
 * floor control it enforces. Fixed here, not compiled from a pack rule:
 * locked mode is not a policy a pack can change. */
static const struct {
	const char *what, *control;
} guard_names[] = {
	[GG_GUARD_BPF_CMD] = { "bpf_command", "FLOOR-TAMPER-BPF" },
	[GG_GUARD_MAP_WRITE] = { "map_write_open", "FLOOR-TAMPER-BPF" },
	[GG_GUARD_PIN_UNLINK] = { "pin_unlink", "FLOOR-TAMPER-PINS" },
	[GG_GUARD_PIN_RENAME] = { "pin_rename", "FLOOR-TAMPER-PINS" },
	[GG_GUARD_PIN_RMDIR] = { "pin_rmdir", "FLOOR-TAMPER-PINS" },
	[GG_GUARD_UMOUNT] = { "bpffs_umount", "FLOOR-TAMPER-PINS" },
	[GG_GUARD_PTRACE] = { "daemon_ptrace", "FLOOR-TAMPER-DAEMON" },
	[GG_GUARD_SIGNAL] = { "daemon_signal", "FLOOR-TAMPER-DAEMON" },
	[GG_GUARD_CGROUP_WRITE] = { "cgroup_write", "FLOOR-TAMPER-CGROUP" },
	[GG_GUARD_CLONE_INTO_CGROUP] = { "clone_into_cgroup", "FLOOR-TAMPER-CGROUP" },
};

static const char *bpf_cmd_name(__u32 cmd)
{
	static const char *const names[] = {
		[0] = "BPF_MAP_CREATE", [5] = "BPF_PROG_LOAD", [8] = "BPF_PROG_ATTACH",
		[9] = "BPF_PROG_DETACH", [17] = "BPF_RAW_TRACEPOINT_OPEN",
		[28] = "BPF_LINK_CREATE", [29] = "BPF_LINK_UPDATE", [34] = "BPF_LINK_DETACH",
	};

	return cmd < sizeof(names) / sizeof(names[0]) && names[cmd] ? names[cmd] : "unknown";
}

static void add_tamper(json_t *rec, const struct gg_event *e)
{
	const struct gg_event_guard *g = &e->guard;
	bool known = g->what < sizeof(guard_names) / sizeof(guard_names[0]) &&
		     guard_names[g->what].what;
	const char *ctl = known ? guard_names[g->what].control : "FLOOR-TAMPER-UNKNOWN";

	json_object_set_new(rec, "event", json_string("tamper_blocked"));
	json_object_set_new(rec, "locked", json_true());
	json_object_set_new(rec, "pack", json_string("platform-floor"));
	json_object_set_new(rec, "rule", json_null());
	json_object_set_new(rec, "rules", json_array());
	json_object_set_new(rec, "controls", json_pack("[s]", ctl));
	json_object_set_new(rec, "frameworks", json_pack("[s]", "govgate-floor"));
	json_object_set_new(rec, "observed_controls", json_array());
	json_object_set_new(rec, "observed_frameworks", json_array());
	json_object_set_new(rec, "tamper", json_string(known ? guard_names[g->what].what
							     : "unknown"));
	json_object_set_new(rec, "target", kstr(g->name, sizeof(g->name)));
	if (g->what == GG_GUARD_BPF_CMD)
		json_object_set_new(rec, "bpf_cmd", json_string(bpf_cmd_name(g->arg)));
	else if (g->what == GG_GUARD_MAP_WRITE)
		json_object_set_new(rec, "map_id", json_integer(g->arg));
	else if (g->what == GG_GUARD_SIGNAL)
		json_object_set_new(rec, "signal", json_integer(g->arg));
	else if (g->what == GG_GUARD_PTRACE)
		json_object_set_new(rec, "ptrace_mode", json_integer(g->arg));
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
	json_object_set_new(rec, "generation", json_integer(e->generation));
	if (e->flags & GG_EVF_TAMPER)
		add_tamper(rec, e); /* its own event name, controls and fields */
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
