/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Files that appear later (docs/packs.md "Name resolution"): the daemon
 * watches the directories of a standard PATH with inotify, and when a file
 * appears there under a name the active policy denies, it applies the
 * applied set again, so the new file is resolved to identity and digest
 * rows at once (a new generation, swapped atomically and recorded), not
 * only at the next apply.
 */
#ifndef GG_WATCH_H
#define GG_WATCH_H

#include "config.h"

struct gg_watch;

/* Watches the standard PATH directories that exist; NULL when inotify is
 * unavailable (said on stderr: files appearing later wait for an apply). */
struct gg_watch *gg_watch_open(void);

/* Reads what inotify queued (never blocks). If a denied name appeared,
 * re-applies the applied set: returns 1 with *generation the new one, 0
 * if nothing was to be done, or a negative errno (said on stderr; the
 * running policy stays). */
int gg_watch_poll(struct gg_watch *w, const struct gg_config *cfg, __u64 *generation);

void gg_watch_close(struct gg_watch *w);

#endif
