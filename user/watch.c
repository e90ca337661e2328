// SPDX-License-Identifier: GPL-2.0
/* Denied names that appear in a PATH directory after the apply. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "apply.h"
#include "gates.h"
#include "policy.h"
#include "watch.h"

/* A file written and closed, moved in (how package managers install), or
 * a new name for an existing file (a hard link or symlink: IN_CREATE). */
#define GG_WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR)

struct gg_watch {
	int fd;
	int wd[8]; /* by gg_resolve_standard.dirs index; -1: not watched */
	size_t n_dirs;
};

struct gg_watch *gg_watch_open(void)
{
	const char *const *dirs = gg_resolve_standard.dirs;
	struct gg_watch *w = calloc(1, sizeof(*w));
	size_t watched = 0;

	if (!w)
		return NULL;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		fprintf(stderr, "govgate: watch: inotify: %s: a denied tool installed later is "
				"resolved at the next apply\n", strerror(errno));
		free(w);
		return NULL;
	}
	for (size_t i = 0; dirs[i] && i < sizeof(w->wd) / sizeof(w->wd[0]); i++) {
		/* a missing directory is not watched (nothing to resolve there) */
		w->wd[i] = inotify_add_watch(w->fd, dirs[i], GG_WATCH_MASK);
		watched += w->wd[i] >= 0;
		w->n_dirs = i + 1;
	}
	fprintf(stderr, "govgate: watching %zu PATH director%s for denied tools installed later\n",
		watched, watched == 1 ? "y" : "ies");
	return w;
}

/* Is name denied by a basename row of the active slot? Asked of the
 * pinned map itself: what the kernel enforces. */
static bool name_denied(int fd, __u32 slot, const char *name)
{
	struct gg_exec_name_key k = { .slot = slot };
	struct gg_verdict v;

	if (strlen(name) >= sizeof(k.name))
		return false;
	memcpy(k.name, name, strlen(name));
	return !bpf_map_lookup_elem(fd, &k, &v) && v.entry;
}

/* The files the queued events name (dir/name), at most max; never blocks.
 * Empty regular files are skipped: cp creates the file before it writes
 * it, and IN_CLOSE_WRITE follows. *lost: more than max, or the kernel's
 * queue overflowed: what appeared is not known. */
static size_t drain(struct gg_watch *w, char (*files)[PATH_MAX], size_t max, bool *lost)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t n = 0;
	ssize_t len;

	while ((len = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const void *)p;
			struct stat st;

			p += sizeof(*ev) + ev->len;
			if ((ev->mask & IN_Q_OVERFLOW) || (ev->len && n == max))
				*lost = true;
			for (size_t i = 0; ev->len && n < max && i < w->n_dirs; i++) {
				if (w->wd[i] != ev->wd)
					continue;
				snprintf(files[n], PATH_MAX, "%s/%s", gg_resolve_standard.dirs[i],
					 ev->name);
				if (!stat(files[n], &st) && !(S_ISREG(st.st_mode) && !st.st_size))
					n++;
			}
		}
	}
	return n;
}

/* The first of files whose name the running policy denies, or NULL. */
static const char *denied_file(const struct gg_config *cfg, char (*files)[PATH_MAX], size_t n)
{
	struct gg_policy_status st = {};
	const char *found = NULL;
	struct gg_err err;
	int fd;

	if (gg_policy_read(cfg->pin_dir, &st, &err) || !st.generation)
		return NULL;
	fd = gg_pinned_fd_ro(cfg->pin_dir, GG_MAP_EXEC_NAME, &err);
	if (fd < 0)
		return NULL;
	for (size_t i = 0; !found && i < n; i++)
		if (name_denied(fd, st.active_slot, strrchr(files[i], '/') + 1))
			found = files[i];
	close(fd);
	return found;
}

int gg_watch_poll(struct gg_watch *w, const struct gg_config *cfg, __u64 *generation)
{
	static char files[64][PATH_MAX];
	char who[PATH_MAX + 64];
	const char *file;
	struct gg_err err;
	bool lost = false;
	size_t n;
	int ret;

	if (!w)
		return 0;
	n = drain(w, files, 64, &lost);
	/* the names the running policy denies: loaded only when there is news;
	 * events lost: resolve again anyway (it is idempotent) */
	file = n ? denied_file(cfg, files, n) : NULL;
	if (!file && lost)
		file = "a PATH directory (events lost)";
	if (!file)
		return 0;
	snprintf(who, sizeof(who), "govgate run (watch: %s appeared)", file);
	ret = gg_policy_restore(cfg, who, generation, &err);
	if (ret) {
		fprintf(stderr, "govgate: watch: %s appeared; resolving it failed, the running "
				"policy stays: %s\n", file, err.msg);
		return ret;
	}
	fprintf(stderr, "govgate: watch: %s appeared: resolved, generation %llu\n", file,
		(unsigned long long)*generation);
	return 1;
}

void gg_watch_close(struct gg_watch *w)
{
	if (!w)
		return;
	close(w->fd);
	free(w);
}
