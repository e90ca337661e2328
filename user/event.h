/* SPDX-License-Identifier: GPL-2.0 */
/* Ring-buffer events to audit records (docs/audit.md). */
#ifndef GG_EVENT_H
#define GG_EVENT_H

#include <jansson.h>

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

/* Wall time minus boot time, now. */
__s64 gg_boot_to_real_ns(void);

#endif
