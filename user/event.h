/* SPDX-License-Identifier: GPL-2.0 */
/* Ring-buffer events to audit records (docs/audit.md). */
#ifndef GG_EVENT_H
#define GG_EVENT_H

#include <jansson.h>

#include <stdbool.h>

#include "compile.h"

/* Builds the record for one event. policy is the compiled policy of the
 * event's generation (NULL if unknown: the record then says so).
 * boot_to_real_ns converts the kernel's boot-time stamp to wall time. */
json_t *gg_event_record(const struct gg_event *e, const struct gg_compiled *policy,
			__s64 boot_to_real_ns);

/* An "events_lost" record (docs/audit.md): count events of gate that
 * never reached the log, and why: "ring_buffer" (the ring buffer was full:
 * the kernel counted a drop), "audit_write" (the audit writer refused the
 * record) or "malformed" (a ring-buffer record too short to decode). gate
 * NULL: records of no gate (lifecycle, policy) are null. The caller adds
 * what it knows more ("total", "while", "since", "until", "error"). */
json_t *gg_lost_record(const char *gate, const char *reason, __u64 count);

/* A growing byte buffer; failed is set (and sticks) when memory ran out. */
struct gg_strbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

/* The direct renderer's state: the record being built, the attribution of
 * recent decisions and the last /proc/PID/exe read. Zero-initialise; free
 * with gg_render_free. */
#define GG_RENDER_CACHE 8

struct gg_render_attr {
	const struct gg_compiled *policy;
	__u64 generation;
	__u32 entries[GG_MAX_HITS];
	bool deny;
	struct gg_strbuf frag;
};

struct gg_render {
	char ts[40]; /* the record's "ts" */
	struct gg_strbuf out; /* its members after "seq", each with a leading comma */
	long long ts_sec;
	char ts_date[24];
	struct gg_render_attr cache[GG_RENDER_CACHE];
	unsigned next_cache;
	__u32 exe_pid;
	bool exe_ok;
	__u64 exe_read_ns; /* CLOCK_BOOTTIME of the read; 0: none yet */
	char exe_name[GG_NAME_MAX + 1];
	char exe_path[4096];
};

/* The record gg_event_record builds, as the audit writer would write it
 * (gg_audit_append_rendered): r->ts and r->out. exe: the executable's full
 * path (gg_render_exe), or NULL for the name BPF recorded. -ENOMEM. */
int gg_event_render(struct gg_render *r, const struct gg_event *e,
		    const struct gg_compiled *policy, __s64 boot_to_real_ns, const char *exe);
void gg_render_free(struct gg_render *r);

/* The executable's path from /proc/PID/exe if its name is still e->exe's
 * (else NULL); cached for the events that happened before the read. */
const char *gg_render_exe(struct gg_render *r, const struct gg_event *e);

/* Wall time minus boot time, now. */
__s64 gg_boot_to_real_ns(void);

#endif
