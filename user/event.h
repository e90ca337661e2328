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

/* RFC 3339 UTC with microseconds. */
void gg_format_time(__s64 real_ns, char *buf, size_t len);

/* Wall time minus boot time, now. */
__s64 gg_boot_to_real_ns(void);

#endif
