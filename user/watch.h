/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Files that appear later (docs/packs.md "Name resolution"): the daemon
 * watches with inotify the directories of a standard PATH and the
 * directory of every path the active policy denies (a directory that does
 * not exist yet through its nearest existing ancestor, until it does).
 * When a file appears there under a name or path the active policy denies
 * (created, moved in as dpkg does, or rewritten in place), it applies the
 * applied set again, once per burst, so the new file is resolved to
 * identity and digest rows at once (a new generation, swapped atomically
 * and recorded), not only at the next apply.
 */
#ifndef GG_WATCH_H
#define GG_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* One re-apply per burst (a package install of many files): when the
 * watched directories have been quiet for GG_WATCH_QUIET_MS since the
 * last event, or GG_WATCH_MAX_MS after the first denied file of the
 * burst, whichever is first. A failed re-apply is tried again after
 * GG_WATCH_RETRY_MS, doubling up to GG_WATCH_RETRY_MAX_MS. */
#define GG_WATCH_QUIET_MS 500
#define GG_WATCH_MAX_MS 5000
#define GG_WATCH_RETRY_MS 2000
#define GG_WATCH_RETRY_MAX_MS 60000

struct gg_debounce {
	bool pending; /* a denied file appeared: a re-apply is owed */
	__u64 first; /* ms: the first denied file of the burst */
	__u64 last; /* ms: the last event in a watched directory */
	__u64 not_before; /* ms: after a failed re-apply */
	__u64 backoff; /* ms: the next failure's wait */
};

/* An event at now (ms, monotonic); denied: it names a denied file. */
void gg_debounce_event(struct gg_debounce *d, __u64 now, bool denied);
/* Whether the re-apply is due at now. */
bool gg_debounce_due(const struct gg_debounce *d, __u64 now);
/* The re-apply was done (ok) or failed at now (kept pending, backed off). */
void gg_debounce_done(struct gg_debounce *d, __u64 now, bool ok);

/* The directories to watch: dirs (NULL-terminated), then the directory of
 * each of paths (absolute and canonical, as packs have them; "/x" is in
 * "/"), each once, in that order. Free *out with gg_watch_dirs_free. */
int gg_watch_dirs(const char *const *dirs, char *const *paths, size_t n, char ***out,
		  size_t *n_out);
void gg_watch_dirs_free(char **dirs, size_t n);

/* The directory to watch for dir: dir itself when it is a directory, else
 * its nearest ancestor that is (at worst "/"), into buf. 0, or -errno. */
int gg_watch_anchor(const char *dir, char *buf, size_t len);

/* Whether a directory named name, made where the watch for the missing
 * directory dir is (its nearest existing ancestor), may be on the way to
 * dir (a component of it): then the watch moves down. A false yes only
 * costs a look. */
bool gg_watch_on_the_way(const char *dir, const char *name);

struct gg_watch;

/* Starts watching; the directories follow the active policy, read at
 * each poll that finds a new generation (at most once a second), so an
 * apply that names new paths is picked up within a second. NULL when
 * inotify is unavailable (said on stderr: files appearing later wait for
 * an apply). */
struct gg_watch *gg_watch_open(void);

/* Reads what inotify queued (never blocks). If a denied file appeared and
 * the burst is over, re-applies the applied set: returns 1 with
 * *generation the new one, 0 if nothing was to be done, or a negative
 * errno (said on stderr; the running policy stays, and it is tried again
 * later). */
int gg_watch_poll(struct gg_watch *w, const struct gg_config *cfg, __u64 *generation);

void gg_watch_close(struct gg_watch *w);

#endif
