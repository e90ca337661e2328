/* SPDX-License-Identifier: GPL-2.0 */
/* The agent's state as `govgate status` reports it. */
#ifndef GG_STATUS_H
#define GG_STATUS_H

#include <stdbool.h>

#include <jansson.h>

#include "config.h"

/*
 * One document (docs/operators.md, `status --json`): enforcing, daemon_pid,
 * pin_dir, scope, scope_cgroup, exempt_cgroups, locked, tamper_protections,
 * trust_dir, trusted_keys, last_counter, control_socket,
 * last_apply, generation, * packs, gates. *enforcing: cmd.exec and net.egress attached and enabled.
 */
json_t *gg_status_gather(const struct gg_config *cfg, bool *enforcing);

/* What protects the evidence (reconciliation, the signing key) on a path:
 * locked mode, BPF LSM, audit.signing_key "per-boot". */
const char *gg_evidence_limits(bool locked, bool lsm, bool per_boot);

#endif
