/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GG_SD_H
#define GG_SD_H

#include <stddef.h>
#include <sys/uio.h>

/*
 * libsystemd, opened on first use (dlopen) instead of linked: it and the
 * six libraries it needs (gcrypt, gpg-error, lzma, zstd, lz4, cap) cost
 * every command's start about 2 ms here, and only the daemon needs it
 * (readiness, the journal), which opens it at its start. Without
 * libsystemd, notify does nothing (as libsystemd's does outside systemd:
 * the daemon refuses to start under systemd without it) and the journal
 * returns -ENOSYS.
 */
int gg_sd_notify(const char *state);
int gg_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int gg_sd_journal_sendv(const struct iovec *iov, int n);
/* Opens libsystemd now (the daemon, at start); later calls do nothing. */
void gg_sd_load(void);
/* Why libsystemd could not be opened, NULL if it was (or is not tried yet). */
const char *gg_sd_error(void);

#endif
