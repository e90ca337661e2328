// SPDX-License-Identifier: GPL-2.0
/* Denied files that appear after the apply: what is watched (the PATH
 * directories and those of the denied paths, missing ones through their
 * nearest existing ancestor), and when the applied set is applied again
 * (once per burst). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "apply.h"
#include "compile.h"
#include "gates.h"
#include "policy.h"
#include "watch.h"

/* A file written and closed (rewritten in place), moved in (how package
 * managers install: dpkg renames nc.dpkg-new to nc), a new name for an
 * existing file (a hard link or symlink: IN_CREATE), a directory made;
 * and the watched directory itself going away (then its ancestor is
 * watched until it is back). */
#define GG_WATCH_MASK                                                                  \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF |   \
	 IN_ONLYDIR)

/* A directory to watch. */
struct watched {
	char *dir;
	int wd; /* on dir, or on its nearest existing ancestor; -1: none */
	bool present; /* wd is on dir itself */
	bool standard; /* a PATH directory: denied basenames are resolved here */
	bool fresh; /* new to the set: named by the apply that was just read */
};

struct gg_watch {
	int fd;
	struct watched *dirs;
	size_t n_dirs;
	char **paths; /* the denied paths of the active slot, sorted */
	size_t n_paths;
	__u64 generation; /* the policy dirs and paths were read from */
	time_t checked; /* when the generation was last looked at */
	bool rearm; /* a watched directory or one on the way to it came or went */
	struct gg_debounce db;
	char first[PATH_MAX]; /* the first denied file of the burst, for the record */
};

/* The pinned maps a denial is asked of (what the kernel enforces),
 * opened when an event first needs them. */
struct lookup {
	const struct gg_config *cfg;
	bool open;
	__u32 slot;
	__u64 generation; /* of the active slot; 0: no policy */
	int name_fd, prog_fd, inode_fd; /* -1: not open (no such map) */
};

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gg_debounce_event(struct gg_debounce *d, __u64 now, bool denied)
{
	if (denied && !d->pending) {
		d->pending = true;
		d->first = now;
	}
	d->last = now;
}

bool gg_debounce_due(const struct gg_debounce *d, __u64 now)
{
	if (!d->pending || now < d->not_before)
		return false;
	return now - d->last >= GG_WATCH_QUIET_MS || now - d->first >= GG_WATCH_MAX_MS;
}

void gg_debounce_done(struct gg_debounce *d, __u64 now, bool ok)
{
	if (ok) {
		d->pending = false;
		d->not_before = d->backoff = 0;
		return;
	}
	d->backoff = d->backoff ? d->backoff * 2 : GG_WATCH_RETRY_MS;
	if (d->backoff > GG_WATCH_RETRY_MAX_MS)
		d->backoff = GG_WATCH_RETRY_MAX_MS;
	d->not_before = now + d->backoff;
}

static bool listed(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

void gg_watch_dirs_free(char **dirs, size_t n)
{
	for (size_t i = 0; dirs && i < n; i++)
		free(dirs[i]);
	free(dirs);
}

int gg_watch_dirs(const char *const *dirs, char *const *paths, size_t n, char ***out,
		  size_t *n_out)
{
	size_t n_std = 0, k = 0;
	char **v;

	while (dirs && dirs[n_std])
		n_std++;
	v = calloc(n_std + n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n_std + n; i++) {
		const char *s = i < n_std ? dirs[i] : paths[i - n_std];
		const char *slash = strrchr(s, '/');
		char *d;

		if (s[0] != '/')
			continue;
		if (i < n_std)
			d = strdup(s);
		else
			d = strndup(s, slash == s ? 1 : (size_t)(slash - s)); /* "/x": "/" */
		if (!d) {
			gg_watch_dirs_free(v, k);
			return -ENOMEM;
		}
		if (listed(v, k, d))
			free(d);
		else
			v[k++] = d;
	}
	*out = v;
	*n_out = k;
	return 0;
}

int gg_watch_anchor(const char *dir, char *buf, size_t len)
{
	struct stat st;

	if (dir[0] != '/' || strlen(dir) >= len)
		return -EINVAL;
	strcpy(buf, dir);
	while (stat(buf, &st) || !S_ISDIR(st.st_mode)) {
		char *slash = strrchr(buf, '/');

		if (!strcmp(buf, "/"))
			return -ENOENT;
		slash[slash == buf] = '\0'; /* "/opt": "/" */
	}
	return 0;
}

/* The active slot and its generation (0: none yet, or being written):
 * policy_state alone, not gg_policy_read, which counts the digests. */
static int policy_state(const char *pin_dir, __u32 *slot, __u64 *generation)
{
	struct gg_policy_state st = {};
	struct gg_err err;
	__u32 zero = 0;
	int fd, ret = 0;

	fd = gg_pinned_fd_ro(pin_dir, GG_MAP_POLICY_STATE, &err);
	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &zero, &st))
		ret = -errno;
	close(fd);
	*slot = st.active_slot & 1;
	*generation = st.generation[*slot] == GG_GEN_WRITING ? 0 : st.generation[*slot];
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends key's path to *v if a row of slot denies it. */
static int add_path(int fd, const struct gg_exec_path_key *key, __u32 slot, char ***v,
		    size_t *n, size_t *cap)
{
	struct gg_verdict vd;
	char **p;

	if (key->slot != slot || bpf_map_lookup_elem(fd, key, &vd) || !vd.entry)
		return 0;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		p = realloc(*v, *cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*v = p;
	}
	(*v)[*n] = strndup(key->path, sizeof(key->path));
	return (*v)[(*n)++] ? 0 : -ENOMEM;
}

/* The paths exec_path denies in slot, sorted. A hash map walked while an
 * apply deletes starts over from its first key: bounded, and a duplicate
 * is harmless here. */
static int load_paths(const char *pin_dir, __u32 slot, char ***out, size_t *n_out)
{
	struct gg_exec_path_key key, next;
	size_t n = 0, cap = 0, steps = 0;
	char **v = NULL;
	struct gg_err err;
	int fd, ret = 0;

	fd = gg_pinned_fd_ro(pin_dir, GG_MAP_EXEC_PATH, &err);
	if (fd < 0)
		return fd;
	for (void *prev = NULL; !ret && steps++ < 4 * 65536; prev = &key) {
		if (bpf_map_get_next_key(fd, prev, &next))
			break;
		key = next;
		ret = add_path(fd, &key, slot, &v, &n, &cap);
	}
	close(fd);
	if (ret) {
		gg_watch_dirs_free(v, n);
		return ret;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	*n_out = n;
	return 0;
}

/* No policy (none yet, or no pins): nothing is denied. */
static void lookup_open(struct lookup *lk)
{
	struct gg_err err;

	if (lk->open || !lk->cfg)
		return;
	lk->open = true;
	if (policy_state(lk->cfg->pin_dir, &lk->slot, &lk->generation))
		lk->generation = 0;
	if (!lk->generation)
		return;
	lk->name_fd = gg_pinned_fd_ro(lk->cfg->pin_dir, GG_MAP_EXEC_NAME, &err);
	lk->prog_fd = gg_pinned_fd_ro(lk->cfg->pin_dir, GG_MAP_EGRESS_PROG, &err);
	lk->inode_fd = gg_pinned_fd_ro(lk->cfg->pin_dir, GG_MAP_EXEC_INODE, &err);
}

static void lookup_close(struct lookup *lk)
{
	if (lk->name_fd >= 0)
		close(lk->name_fd);
	if (lk->prog_fd >= 0)
		close(lk->prog_fd);
	if (lk->inode_fd >= 0)
		close(lk->inode_fd);
	lk->name_fd = lk->prog_fd = lk->inode_fd = -1;
}

/* Whether name is a denied basename (cmd.exec) or a program name
 * (net.egress "programs") of the active slot: both are resolved in the
 * PATH directories only. */
static bool name_denied(struct lookup *lk, const char *name)
{
	struct gg_exec_name_key k = { .slot = lk->slot };
	struct gg_egress_prog_key pk = { .slot = lk->slot };
	struct gg_egress_prog_val pv;
	struct gg_verdict v;
	size_t len = strlen(name);

	if (len >= sizeof(k.name))
		return false;
	lookup_open(lk);
	memcpy(k.name, name, len);
	if (lk->name_fd >= 0 && !bpf_map_lookup_elem(lk->name_fd, &k, &v) && v.entry)
		return true;
	memcpy(pk.name, name, len);
	return lk->prog_fd >= 0 && !bpf_map_lookup_elem(lk->prog_fd, &pk, &pv);
}

/* Whether dir/name is a file the active policy would resolve: a denied
 * path, or a denied name in a PATH directory. An empty regular file is
 * not (cp creates the file before it writes it; IN_CLOSE_WRITE follows). */
static bool file_denied(const struct gg_watch *w, struct lookup *lk,
			const struct watched *d, const char *name, char *file, size_t len)
{
	const char *key = file;
	struct stat st;

	snprintf(file, len, "%s%s%s", d->dir, strcmp(d->dir, "/") ? "/" : "", name);
	if (!(d->standard && name_denied(lk, name)) &&
	    !(w->n_paths && bsearch(&key, w->paths, w->n_paths, sizeof(*w->paths), cmp_str)))
		return false;
	return !stat(file, &st) && S_ISREG(st.st_mode) && st.st_size;
}

/* A denied file was seen at now: the burst's first one names the re-apply. */
static void note(struct gg_watch *w, const char *file, __u64 now)
{
	if (!w->db.pending)
		snprintf(w->first, sizeof(w->first), "%s", file);
	gg_debounce_event(&w->db, now, true);
}

/* Whether file is resolved already: an identity row of the active slot
 * (every denied regular file resolved at apply has one, on either path).
 * A symlink counts as resolved: the apply may have skipped it on purpose
 * (docs/packs.md: nc -> busybox), and would again. */
static bool resolved(struct lookup *lk, const char *file)
{
	struct gg_exec_inode_key k = { .slot = lk->slot };
	struct gg_verdict v;
	struct stat st;

	lookup_open(lk);
	if (!lstat(file, &st) && S_ISLNK(st.st_mode))
		return true;
	if (lk->inode_fd < 0 || stat(file, &st))
		return false;
	k.dev = ((__u64)major(st.st_dev) << 20) | minor(st.st_dev); /* the kernel's s_dev */
	k.ino = st.st_ino;
	return !bpf_map_lookup_elem(lk->inode_fd, &k, &v) && v.entry;
}

/* Every entry of d: it has just appeared (files made in it before its
 * watch was in place raised no event), or the apply that named it has
 * just been read (unresolved: the files made after that apply resolved
 * them and before the watch was in place). */
static void scan(struct gg_watch *w, struct lookup *lk, const struct watched *d, __u64 now,
		 bool unresolved)
{
	char file[PATH_MAX];
	struct dirent *e;
	DIR *dp;

	if (!lk)
		return;
	dp = opendir(d->dir);
	if (!dp)
		return;
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    file_denied(w, lk, d, e->d_name, file, sizeof(file)) &&
		    !(unresolved && resolved(lk, file)))
			note(w, file, now);
	closedir(dp);
}

/* Watches d->dir or, while it is missing, its nearest existing ancestor.
 * A directory made between the look and the watch raises no event: look
 * again once the watch is in place, and go down while the path grows. */
static void arm_one(struct gg_watch *w, struct watched *d)
{
	char at[PATH_MAX], again[PATH_MAX];

	d->wd = -1;
	d->present = false;
	if (gg_watch_anchor(d->dir, at, sizeof(at)))
		return;
	for (int depth = 0; depth < 64; depth++) {
		d->wd = inotify_add_watch(w->fd, at, GG_WATCH_MASK);
		d->present = !strcmp(at, d->dir);
		if (d->wd < 0 || d->present || gg_watch_anchor(d->dir, again, sizeof(again)) ||
		    !strcmp(again, at))
			return;
		strcpy(at, again);
	}
}

/* Watches every directory (again), looks into each that has appeared,
 * and drops the watches in old that are no longer needed. */
static void arm_all(struct gg_watch *w, struct lookup *lk, const int *old, size_t n_old,
		    __u64 now)
{
	for (size_t i = 0; i < w->n_dirs; i++) {
		struct watched *d = &w->dirs[i];
		bool was = d->present, fresh = d->fresh;

		d->fresh = false;
		arm_one(w, d);
		if (d->present && (!was || fresh))
			scan(w, lk, d, now, was && fresh);
	}
	for (size_t j = 0; j < n_old; j++) {
		bool kept = old[j] < 0;

		for (size_t i = 0; !kept && i < w->n_dirs; i++)
			kept = w->dirs[i].wd == old[j];
		if (!kept)
			inotify_rm_watch(w->fd, old[j]); /* gone already: EINVAL */
	}
}

/* The watches in place now, for arm_all to drop those no longer needed. */
static int *old_wds(const struct gg_watch *w)
{
	int *old = calloc(w->n_dirs + 1, sizeof(*old));

	for (size_t i = 0; old && i < w->n_dirs; i++)
		old[i] = w->dirs[i].wd;
	return old;
}

/* The directories as they are now (one came or went): no new paths. */
static void rearm(struct gg_watch *w, struct lookup *lk, __u64 now)
{
	int *old = old_wds(w);

	arm_all(w, lk, old, old ? w->n_dirs : 0, now);
	free(old);
}

static bool is_standard(const char *dir)
{
	for (size_t i = 0; gg_resolve_standard.dirs[i]; i++)
		if (!strcmp(gg_resolve_standard.dirs[i], dir))
			return true;
	return false;
}

/* Replaces the directories and paths with those of paths (owned from
 * here), and watches them; the old watches go once the new are in place. */
static int set_dirs(struct gg_watch *w, struct lookup *lk, char **paths, size_t n_paths,
		    __u64 now)
{
	struct watched *dirs = NULL;
	char **names = NULL;
	size_t n = 0, n_old;
	int *old = old_wds(w);
	int ret;

	ret = gg_watch_dirs(gg_resolve_standard.dirs, paths, n_paths, &names, &n);
	if (!ret && (!old || !(dirs = calloc(n + 1, sizeof(*dirs)))))
		ret = -ENOMEM;
	if (ret) {
		gg_watch_dirs_free(paths, n_paths);
		gg_watch_dirs_free(names, n);
		free(old);
		return ret;
	}
	for (size_t i = 0; i < n; i++) {
		dirs[i].dir = names[i];
		dirs[i].standard = is_standard(names[i]);
		/* one that was missing and is here now is looked into; one new
		 * to the set, for what its apply did not resolve */
		dirs[i].present = dirs[i].fresh = true;
		for (size_t j = 0; j < w->n_dirs; j++) {
			if (!strcmp(w->dirs[j].dir, names[i])) {
				dirs[i].present = w->dirs[j].present;
				dirs[i].fresh = false;
			}
		}
	}
	free(names);
	for (size_t i = 0; i < w->n_dirs; i++)
		free(w->dirs[i].dir);
	free(w->dirs);
	gg_watch_dirs_free(w->paths, w->n_paths);
	w->paths = paths;
	w->n_paths = n_paths;
	n_old = w->n_dirs;
	w->dirs = dirs;
	w->n_dirs = n;
	arm_all(w, lk, old, n_old, now);
	free(old);
	return 0;
}

bool gg_watch_on_the_way(const char *dir, const char *name)
{
	size_t len = strlen(name);

	if (!len || strchr(name, '/') || dir[0] != '/')
		return false;
	for (const char *p = strstr(dir, name); p; p = strstr(p + 1, name))
		if (p[-1] == '/' && (p[len] == '/' || !p[len]))
			return true;
	return false;
}

static void event(struct gg_watch *w, struct lookup *lk, const struct inotify_event *ev,
		  __u64 now)
{
	char file[PATH_MAX];

	if (ev->mask & IN_Q_OVERFLOW) {
		/* what appeared is not known: resolve again (idempotent) */
		w->rearm = true;
		note(w, "a watched directory (events lost)", now);
		return;
	}
	for (size_t i = 0; i < w->n_dirs; i++) {
		const struct watched *d = &w->dirs[i];

		if (d->wd != ev->wd)
			continue;
		if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
			w->rearm = true; /* gone or moved: watch what is there now */
			continue;
		}
		if (!d->present) {
			if ((ev->mask & IN_ISDIR) && ev->len && gg_watch_on_the_way(d->dir, ev->name))
				w->rearm = true;
			continue;
		}
		/* any change here is part of the burst (one package) */
		gg_debounce_event(&w->db, now, false);
		if (ev->len && file_denied(w, lk, d, ev->name, file, sizeof(file)))
			note(w, file, now);
	}
}

/* Handles what inotify queued; never blocks. */
static void drain(struct gg_watch *w, struct lookup *lk, __u64 now)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t len;

	while ((len = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const void *)p;

			p += sizeof(*ev) + ev->len;
			event(w, lk, ev, now);
		}
	}
}

/* Said at each generation: a test waits for it, an operator sees what a
 * new file is looked for in. */
static void log_watched(const struct gg_watch *w)
{
	size_t present = 0, missing = 0;

	for (size_t i = 0; i < w->n_dirs; i++) {
		present += w->dirs[i].wd >= 0 && w->dirs[i].present;
		missing += w->dirs[i].wd >= 0 && !w->dirs[i].present;
	}
	fprintf(stderr, "govgate: watch: generation %llu: %zu director%s watched for denied "
			"files, %zu more from an ancestor until made, %zu denied path%s\n",
		(unsigned long long)w->generation, present, present == 1 ? "y" : "ies", missing,
		w->n_paths, w->n_paths == 1 ? "" : "s");
}

/* The directories follow the active policy: read again when its
 * generation changed (here, or by an apply from another process; looked
 * at once a second). */
static void follow_policy(struct gg_watch *w, struct lookup *lk, __u64 now)
{
	char **paths = NULL;
	size_t n = 0;
	int ret;

	if (time(NULL) == w->checked)
		return;
	w->checked = time(NULL);
	lookup_open(lk);
	if (!lk->generation || lk->generation == w->generation)
		return;
	ret = load_paths(lk->cfg->pin_dir, lk->slot, &paths, &n);
	if (!ret)
		ret = set_dirs(w, lk, paths, n, now);
	if (ret) {
		fprintf(stderr, "govgate: watch: reading the denied paths of generation %llu: %s\n",
			(unsigned long long)lk->generation, strerror(-ret));
		return; /* the old directories stay watched; tried again */
	}
	w->generation = lk->generation;
	log_watched(w);
}

int gg_watch_poll(struct gg_watch *w, const struct gg_config *cfg, __u64 *generation)
{
	struct lookup lk = { .cfg = cfg, .name_fd = -1, .prog_fd = -1, .inode_fd = -1 };
	char who[PATH_MAX + 64];
	__u64 now = now_ms();
	struct gg_err err;
	int ret;

	if (!w)
		return 0;
	drain(w, &lk, now);
	follow_policy(w, &lk, now);
	if (w->rearm) {
		w->rearm = false;
		rearm(w, &lk, now);
	}
	lookup_close(&lk);
	if (!gg_debounce_due(&w->db, now))
		return 0;
	snprintf(who, sizeof(who), "govgate run (watch: %s appeared)", w->first);
	/* what appeared is looked up, whatever the directories' times say */
	gg_compile_forget_absent();
	ret = gg_policy_restore(cfg, who, generation, &err);
	gg_debounce_done(&w->db, now_ms(), !ret);
	if (ret) {
		/* the swap never happened: the running policy is untouched */
		fprintf(stderr, "govgate: watch: %s appeared; resolving it failed, the running "
				"policy stays (tried again in %llu s): %s\n", w->first,
			(unsigned long long)w->db.backoff / 1000, err.msg);
		return ret;
	}
	fprintf(stderr, "govgate: watch: %s appeared: resolved, generation %llu\n", w->first,
		(unsigned long long)*generation);
	return 1;
}

struct gg_watch *gg_watch_open(void)
{
	struct gg_watch *w = calloc(1, sizeof(*w));
	size_t watched = 0;

	if (!w)
		return NULL;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0 || set_dirs(w, NULL, NULL, 0, now_ms())) {
		fprintf(stderr, "govgate: watch: inotify: %s: a denied tool installed later is "
				"resolved at the next apply\n", strerror(errno));
		gg_watch_close(w);
		return NULL;
	}
	/* the PATH directories now; those of the denied paths at the first poll */
	for (size_t i = 0; i < w->n_dirs; i++)
		watched += w->dirs[i].present;
	fprintf(stderr, "govgate: watching %zu PATH director%s for denied tools installed later\n",
		watched, watched == 1 ? "y" : "ies");
	return w;
}

void gg_watch_close(struct gg_watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	for (size_t i = 0; i < w->n_dirs; i++)
		free(w->dirs[i].dir);
	free(w->dirs);
	gg_watch_dirs_free(w->paths, w->n_paths);
	free(w);
}
