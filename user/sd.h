/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GG_SD_H
#define GG_SD_H

#include <stddef.h>
#include <sys/uio.h>

/*
 * libsystemd, opened on first use (dlopen) instead of linked: it and the
 * six libraries it needs (gcrypt, gpg-error, lzma, zstd, lz4, cap) cost
 * every command's start about 2 ms here, and only the daemon (readiness,
 * the journal) and the boot id need it. Without libsystemd each call does
 * nothing and returns what libsystemd returns when not under systemd.
 */
int gg_sd_notify(const char *state);
int gg_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int gg_sd_journal_sendv(const struct iovec *iov, int n);
/* The boot id as a UUID string, "" if unknown. */
void gg_sd_boot_id(char *buf, size_t size);
/* Opens libsystemd now (the daemon, at start); later calls do nothing. */
void gg_sd_load(void);
/* Why libsystemd could not be opened, NULL if it was (or is not tried yet). */
const char *gg_sd_error(void);

#endif
