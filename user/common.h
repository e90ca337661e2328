/* SPDX-License-Identifier: GPL-2.0 */
/* Shared user-space helpers: error reporting and small utilities. */
#ifndef GG_COMMON_H
#define GG_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <sys/types.h>

#include "govgate_abi.h"

/* An error message for the operator: "where: what (cause)". Functions return
 * a negative errno and fill *err; the exit code is chosen only in main. */
struct gg_err {
	char msg[1024];
};

/* Formats into err (if non-NULL) and returns code (a negative errno). */
int gg_errf(struct gg_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reads a whole file (NUL-terminated, len excludes the NUL). */
int gg_read_file(const char *path, char **buf, size_t *len, struct gg_err *err);

/* A process's start time in clock ticks since boot (field 22 of
 * /proc/PID/stat), as the BPF side computes it from start_boottime. */
int gg_proc_start_ticks(int pid, __u64 *ticks, struct gg_err *err);

/* Lower-case hex SHA-256 of buf (OpenSSL). hex must hold 65 bytes. */
void gg_sha256_hex(const void *buf, size_t len, char hex[65]);

/* Gate names as written in packs and audit records. */
const char *gg_gate_name(enum gg_gate gate); /* "cmd.exec", ... */
int gg_gate_parse(const char *name); /* -1 if unknown */
const char *gg_action_name(enum gg_action action); /* "deny", "observe" */
const char *gg_mech_name(enum gg_mech mech); /* "lsm", "fallback", "unavailable" */

/* Writes buf to path atomically: a temporary file in the same directory,
 * fsynced, renamed into place, and the directory fsynced, so after a
 * crash path holds the old bytes or the new ones. */
int gg_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
		    struct gg_err *err);

#endif
