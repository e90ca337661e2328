/* SPDX-License-Identifier: GPL-2.0 */
/* Shared user-space helpers: error reporting and small utilities. */
#ifndef GG_COMMON_H
#define GG_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "govgate_abi.h"

/* The Makefile sets it from VERSION; this is for builds without it. */
#ifndef GG_VERSION
#define GG_VERSION "0.1.0"
#endif

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

/* As gg_write_atomic, made durable later: path gets the new bytes at once
 * (a temporary file renamed into place, nothing fsynced) and *fd stays open
 * on it for gg_write_sync, which fsyncs the bytes, closes fd and fsyncs the
 * directory. Until then a crash of the machine can leave path with the old
 * bytes, the new ones, or a truncated file. */
int gg_write_unsynced(const char *path, const void *buf, size_t len, mode_t mode, int *fd,
		      struct gg_err *err);
int gg_write_sync(const char *path, int fd, struct gg_err *err);
/*
 * As gg_write_unsynced, for a file written again and again, through spare,
 * an empty file beside path that only path's writer uses: the bytes are
 * written into spare, then spare is renamed to path (exchange false) or
 * exchanged with it (true: spare then holds path's old file).
 * gg_spare_ready, after the sync, makes the next spare or empties the old
 * file. So no inode is created or freed before the sync, nor any block:
 * on this VM's ext4 (no journal, online discard) a new inode costs a scan
 * of the recently deleted ones and freed blocks a discard, 0.3 ms each
 * (docs/performance.md, "Apply, sixth pass"). The bytes always go into
 * fresh blocks (a spare that is not empty is emptied first), so a crash
 * leaves path whole, cut short or zeros, never two versions mixed. A spare
 * that is a symlink, a FIFO or has other links is removed, never written
 * through; one that cannot be had at all: a new temporary file, as
 * gg_write_unsynced. On a filesystem that cannot exchange: renamed.
 */
int gg_write_spare(const char *path, const char *spare, bool exchange, const void *buf,
		   size_t len, mode_t mode, int *fd, struct gg_err *err);
/* Makes spare ready for the next gg_write_spare: made if missing, emptied
 * (not durable: a spare lost in a crash is made again). */
void gg_spare_ready(const char *spare, mode_t mode);

/* Whether a and b are one version of one file: the same device, inode,
 * size, mtime and ctime (a write changes the times, a rename the inode,
 * and a name made, linked or renamed in a directory changes its times). */
bool gg_stat_same_version(const struct stat *a, const struct stat *b);

/* Whether st's mtime and ctime were more than settle_s old at now (the
 * clock read before the stat). The times come from a coarse clock: a
 * change in the tick of a stat could leave them as they were, one after a
 * settled stat cannot. */
bool gg_stat_settled(const struct stat *st, time_t now, int settle_s);

/* "2024-05-01T12:00:00.123456Z": RFC 3339, UTC, microseconds, from
 * microseconds since the epoch (negative: before it). */
void gg_time_format_us(long long us, char *buf, size_t size);

/* The current time (CLOCK_REALTIME) as gg_time_format_us writes it. */
void gg_time_now(char *buf, size_t size);

/* Creates dir and its missing parents with mode (as mkdir -p). On failure
 * err says which component and why. */
int gg_mkdir_p(const char *dir, mode_t mode, struct gg_err *err);

/* This boot's id in the UUID form of /proc/sys/kernel/random/boot_id (as
 * state files written by earlier versions hold it); "" if unknown. */
void gg_boot_id(char *buf, size_t size);

/* Inserts s into the sorted array of unique strings arr (no-op if there). */
int gg_json_insert_sorted(json_t *arr, const char *s);

/* gg_json_join's flags. */
enum {
	GG_JOIN_MODE = 1, /* {ref, mode} objects as "ref (mode)" */
	GG_JOIN_SKIP_NOREF = 2, /* leave out objects without a "ref" ("?" else) */
};

/* arr's items comma-joined into buf (truncated to size): strings as they
 * are, {ref, mode} objects as "ref" (see flags). "" if arr is empty or not
 * an array. Returns buf. */
const char *gg_json_join(const json_t *arr, unsigned int flags, char *buf, size_t size);

/* o[key] if it is a string, else dflt. */
const char *gg_json_str(const json_t *o, const char *key, const char *dflt);

/* o[key] if it is an integer, else 0. */
long long gg_json_int(const json_t *o, const char *key);

/* The sum over possible CPUs of a per-CPU __u64 map's value at key. */
int gg_percpu_sum(int map_fd, const void *key, __u64 *sum, struct gg_err *err);

/* qsort comparators: of two char * (an array of strings), of two __u32. */
int gg_strp_cmp(const void *a, const void *b);
int gg_u32_cmp(const void *a, const void *b);

#endif
