// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "event.h"

void gg_format_time(__s64 real_ns, char *buf, size_t len)
{
	time_t secs = real_ns / 1000000000LL;
	struct tm tm;
	char base[32];

	gmtime_r(&secs, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06lldZ", base, (long long)(real_ns % 1000000000LL) / 1000);
}

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
	default:
		return "unknown";
	}
}

static void add_unique(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (!strcmp(json_string_value(v), s))
			return;
	json_array_append_new(arr, json_string(s));
}

/* Controls, frameworks and rules of every entry the decision matched. */
static void add_policy(json_t *rec, const struct gg_event *e, const struct gg_compiled *policy)
{
	json_t *controls = json_array(), *frameworks = json_array(), *rules = json_array();
	const char *first_rule = NULL, *first_pack = NULL;

	for (int i = 0; i < GG_MAX_HITS; i++) {
		const struct gg_entry *ent;

		if (!e->entries[i] || !policy)
			continue;
		ent = gg_compiled_entry(policy, e->entries[i]);
		if (!ent)
			continue;
		for (size_t c = 0; c < ent->n_controls; c++)
			add_unique(controls, ent->controls[c]);
		for (size_t f = 0; f < ent->n_frameworks; f++)
			add_unique(frameworks, ent->frameworks[f]);
		for (size_t r = 0; r < ent->n_rules; r++) {
			if (!first_rule) {
				first_rule = ent->rules[r].rule;
				first_pack = ent->rules[r].pack;
			}
			json_array_append_new(rules, json_pack("{s:s, s:s}", "pack",
							       ent->rules[r].pack, "rule",
							       ent->rules[r].rule));
		}
	}
	json_object_set_new(rec, "pack", first_pack ? json_string(first_pack) : json_null());
	json_object_set_new(rec, "rule", first_rule ? json_string(first_rule) : json_null());
	json_object_set_new(rec, "rules", rules);
	json_object_set_new(rec, "controls", controls);
	json_object_set_new(rec, "frameworks", frameworks);
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
}

static void add_net(json_t *rec, const struct gg_event *e)
{
	const struct gg_event_net *n = &e->net;
	char addr[INET6_ADDRSTRLEN] = "";
	bool v4 = n->family == AF_INET || n->mapped_v4;

	inet_ntop(v4 ? AF_INET : AF_INET6, n->daddr, addr, sizeof(addr));
	json_object_set_new(rec, "family", json_string(n->family == AF_INET ? "ipv4" : "ipv6"));
	json_object_set_new(rec, "daddr", json_string(addr));
	json_object_set_new(rec, "mapped_v4", json_boolean(n->mapped_v4));
	json_object_set_new(rec, "dport", json_integer(n->dport));
	json_object_set_new(rec, "proto", json_string(n->proto == IPPROTO_TCP   ? "tcp"
						     : n->proto == IPPROTO_UDP ? "udp"
									       : "other"));
	json_object_set_new(rec, "syscall", json_string(n->is_sendmsg ? "sendmsg" : "connect"));
}

json_t *gg_event_record(const struct gg_event *e, const struct gg_compiled *policy,
			__s64 boot_to_real_ns)
{
	char ts[64];
	json_t *rec = json_object();

	gg_format_time(boot_to_real_ns + (__s64)e->ts_boot_ns, ts, sizeof(ts));
	json_object_set_new(rec, "ts", json_string(ts));
	json_object_set_new(rec, "event", json_string(event_name(e->gate)));
	json_object_set_new(rec, "gate", json_string(gg_gate_name(e->gate)));
	json_object_set_new(rec, "action", json_string(gg_action_name(e->action)));
	json_object_set_new(rec, "mechanism", json_string(gg_mech_name(e->mechanism)));
	/* Denied because the policy was swapped twice during the decision
	 * (govgate_abi.h): no rule is behind it, so say why. */
	if (e->flags & GG_EVF_FAIL_CLOSED)
		json_object_set_new(rec, "fail_closed", json_string("policy_swapped_during_decision"));
	json_object_set_new(rec, "generation", json_integer(e->generation));
	add_policy(rec, e, policy);
	json_object_set_new(rec, "pid", json_integer(e->pid));
	json_object_set_new(rec, "ppid", json_integer(e->ppid));
	json_object_set_new(rec, "uid", json_integer(e->uid));
	json_object_set_new(rec, "comm", kstr(e->comm, sizeof(e->comm)));
	json_object_set_new(rec, "exe", kstr(e->exe, sizeof(e->exe)));
	json_object_set_new(rec, "cgroup_id", json_integer(e->cgroup_id));
	switch (e->gate) {
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
