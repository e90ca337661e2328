// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>


#include "crypto.h"
#include "common.h"

int gg_errf(struct gg_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

int gg_read_file(const char *path, char **buf, size_t *len, struct gg_err *err)
{
	FILE *f = NULL;
	char *data = NULL;
	size_t cap = 0, n = 0;
	int ret = 0;

	f = fopen(path, "rb");
	if (!f)
		return gg_errf(err, -errno, "%s: cannot open: %s", path, strerror(errno));
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *p;

			cap = cap ? cap * 2 : 8192;
			p = realloc(data, cap);
			if (!p) {
				ret = gg_errf(err, -ENOMEM, "%s: out of memory", path);
				goto cleanup;
			}
			data = p;
		}
		size_t got = fread(data + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0) {
			if (ferror(f)) {
				ret = gg_errf(err, -EIO, "%s: read error", path);
				goto cleanup;
			}
			break;
		}
	}
	data[n] = '\0';
	*buf = data;
	*len = n;
	data = NULL;
cleanup:
	free(data);
	fclose(f);
	return ret;
}

int gg_proc_start_ticks(int pid, __u64 *ticks, struct gg_err *err)
{
	char path[64], *buf = NULL, *p;
	unsigned long long v;
	size_t len;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	ret = gg_read_file(path, &buf, &len, err);
	if (ret)
		return ret;
	/* comm (field 2) may hold spaces and parentheses: fields 3.. follow
	 * the last ')'. */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &v) != 1) {
		ret = gg_errf(err, -EINVAL, "%s: no start time (field 22)", path);
		goto cleanup;
	}
	*ticks = v;
cleanup:
	free(buf);
	return ret;
}

void gg_sha256_hex(const void *buf, size_t len, char hex[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(buf, len, md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static const char *const gate_names[GG_GATE_COUNT] = {
	[GG_GATE_EXEC] = "cmd.exec",
	[GG_GATE_EGRESS] = "net.egress",
	[GG_GATE_MODULE] = "kernel.module",
};

const char *gg_gate_name(enum gg_gate gate)
{
	return (unsigned)gate < GG_GATE_COUNT ? gate_names[gate] : "unknown";
}

int gg_gate_parse(const char *name)
{
	for (int i = 0; i < GG_GATE_COUNT; i++)
		if (!strcmp(name, gate_names[i]))
			return i;
	return -1;
}

const char *gg_action_name(enum gg_action action)
{
	switch (action) {
	case GG_ACT_DENY:
		return "deny";
	case GG_ACT_OBSERVE:
		return "observe";
	default:
		return "allow";
	}
}

const char *gg_mech_name(enum gg_mech mech)
{
	switch (mech) {
	case GG_MECH_LSM:
		return "lsm";
	case GG_MECH_FALLBACK:
		return "fallback";
	default:
		return "unavailable";
	}
}

static int fsync_dir_of(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd, ret = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return ret;
}

/* All len bytes of buf to fd (name: the file, for the error). */
static int write_all(int fd, const void *buf, size_t len, const char *name, struct gg_err *err)
{
	const char *p = buf;
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);

		if (n < 0 && errno != EINTR)
			return gg_errf(err, -errno, "%s: write: %s", name, strerror(errno));
		if (n > 0)
			off += n;
	}
	return 0;
}

/* Writes buf to a new temporary file beside path: *fd open on it, *tmp its
 * name (the caller frees it). */
static int write_tmp(const char *path, const void *buf, size_t len, mode_t mode, char **tmp,
		     int *fd, struct gg_err *err)
{
	*fd = -1;
	if (asprintf(tmp, "%s.tmp.%d", path, getpid()) < 0) {
		*tmp = NULL;
		return gg_errf(err, -ENOMEM, "%s: out of memory", path);
	}
	*fd = open(*tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (*fd < 0)
		return gg_errf(err, -errno, "%s: %s", *tmp, strerror(errno));
	return write_all(*fd, buf, len, *tmp, err);
}

/* sync: fsync the bytes before the rename, and the directory after it. */
static int write_renamed(const char *path, const void *buf, size_t len, mode_t mode, bool sync,
			 int *fd_out, struct gg_err *err)
{
	char *tmp = NULL;
	int fd, ret;

	ret = write_tmp(path, buf, len, mode, &tmp, &fd, err);
	if (!ret && sync && fsync(fd))
		ret = gg_errf(err, -errno, "%s: fsync: %s", tmp, strerror(errno));
	if (!ret && rename(tmp, path))
		ret = gg_errf(err, -errno, "%s: %s", path, strerror(errno));
	/* The rename itself must survive a crash too. */
	if (!ret && sync) {
		ret = fsync_dir_of(path);
		if (ret)
			gg_errf(err, ret, "%s: fsync of its directory: %s", path, strerror(-ret));
	}
	if (fd >= 0 && (ret || !fd_out))
		close(fd);
	if (ret && tmp)
		unlink(tmp);
	if (!ret && fd_out)
		*fd_out = fd;
	free(tmp);
	return ret;
}

int gg_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
		    struct gg_err *err)
{
	return write_renamed(path, buf, len, mode, true, NULL, err);
}

int gg_write_unsynced(const char *path, const void *buf, size_t len, mode_t mode, int *fd,
		      struct gg_err *err)
{
	return write_renamed(path, buf, len, mode, false, fd, err);
}

/* spare, opened for writing: a regular file with one link, made if
 * missing. A symlink, a file linked elsewhere, a FIFO or a device
 * (O_NONBLOCK: opening one never waits) is removed, never written
 * through. Emptied if it is not empty: bytes are only ever written into
 * fresh blocks, so a crash cannot leave two versions mixed in it. */
static int spare_open(const char *spare, mode_t mode)
{
	for (int tries = 0; tries < 2; tries++) {
		int fd = open(spare, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
		struct stat st;

		if (fd < 0 && errno != ELOOP && errno != ENXIO && errno != EISDIR)
			return -errno;
		if (fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
		    (!st.st_size || !ftruncate(fd, 0)) &&
		    ((st.st_mode & 07777) == mode || !fchmod(fd, mode)))
			return fd;
		if (fd >= 0)
			close(fd);
		if (unlink(spare) && errno != ENOENT)
			return -errno;
	}
	return -EEXIST;
}

int gg_write_spare(const char *path, const char *spare, bool exchange, const void *buf,
		   size_t len, mode_t mode, int *fd, struct gg_err *err)
{
	int ret;

	*fd = spare_open(spare, mode);
	if (*fd < 0) /* no spare to be had: a new file, as gg_write_unsynced */
		return write_renamed(path, buf, len, mode, false, fd, err);
	ret = write_all(*fd, buf, len, spare, err);
	if (!ret && exchange && !renameat2(AT_FDCWD, spare, AT_FDCWD, path, RENAME_EXCHANGE))
		return 0;
	/* Not exchanged: asked so, no path yet, or a filesystem that cannot. */
	if (!ret && rename(spare, path))
		ret = gg_errf(err, -errno, "%s: %s", path, strerror(errno));
	if (ret) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

void gg_spare_ready(const char *spare, mode_t mode)
{
	int fd = spare_open(spare, mode);

	if (fd >= 0)
		close(fd);
}

int gg_write_sync(const char *path, int fd, struct gg_err *err)
{
	int ret = 0;

	if (fsync(fd))
		ret = gg_errf(err, -errno, "%s: fsync: %s", path, strerror(errno));
	close(fd);
	if (!ret) {
		ret = fsync_dir_of(path);
		if (ret)
			gg_errf(err, ret, "%s: fsync of its directory: %s", path, strerror(-ret));
	}
	return ret;
}

void gg_time_format_us(long long us, char *buf, size_t size)
{
	time_t s = us / 1000000;
	long long frac = us % 1000000;
	struct tm tm;
	char date[24];

	if (frac < 0) {
		frac += 1000000;
		s--;
	}
	gmtime_r(&s, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06lldZ", date, frac);
}

void gg_time_now(char *buf, size_t size)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	gg_time_format_us(t.tv_sec * 1000000LL + t.tv_nsec / 1000, buf, size);
}

int gg_mkdir_p(const char *dir, mode_t mode, struct gg_err *err)
{
	char *buf;
	int ret = 0;

	/* the whole path first: it exists nearly always (one call, not one
	 * per component: an apply stores ten documents) */
	if (!mkdir(dir, mode) || errno == EEXIST)
		return 0;
	buf = strdup(dir);
	if (!buf)
		return gg_errf(err, -ENOMEM, "%s: out of memory", dir);
	/* each prefix ending before a '/', then the whole path */
	for (char *p = buf + 1;; p++) {
		char c = *p;

		if (c && c != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST) {
			ret = gg_errf(err, -errno, "%s: cannot create: %s", buf, strerror(errno));
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	free(buf);
	return ret;
}

/* The kernel's boot id (what sd_id128_get_boot reads too: no library
 * needed, and the VM tier's initramfs has no libsystemd). */
void gg_boot_id(char *buf, size_t size)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	char id[37] = "";
	ssize_t n = fd >= 0 ? read(fd, id, 36) : -1;

	if (fd >= 0)
		close(fd);
	id[n == 36 && strspn(id, "0123456789abcdef-") == 36 ? 36 : 0] = '\0';
	snprintf(buf, size, "%s", id);
}

int gg_json_insert_sorted(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		int d = strcmp(json_string_value(v) ?: "", s);

		if (!d)
			return 0;
		if (d > 0)
			break;
	}
	return json_array_insert_new(arr, i, json_string(s));
}

const char *gg_json_join(const json_t *arr, unsigned int flags, char *buf, size_t size)
{
	size_t i, n = 0, off = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v), *mode = NULL;

		if (off >= size)
			break;
		if (!json_is_string(v)) {
			s = json_string_value(json_object_get(v, "ref"));
			if (!s && (flags & GG_JOIN_SKIP_NOREF))
				continue;
			s = s ?: "?";
			if (flags & GG_JOIN_MODE)
				mode = json_string_value(json_object_get(v, "mode"));
		}
		off += snprintf(buf + off, size - off, "%s%s%s%s%s", n++ ? "," : "", s,
				mode ? " (" : "", mode ?: "", mode ? ")" : "");
	}
	return buf;
}

const char *gg_json_str(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

long long gg_json_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

int gg_percpu_sum(int map_fd, const void *key, __u64 *sum, struct gg_err *err)
{
	static int ncpu;
	__u64 *vals;

	if (!ncpu)
		ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return gg_errf(err, -EINVAL, "cannot count possible CPUs");
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return gg_errf(err, -ENOMEM, "out of memory");
	*sum = 0;
	if (bpf_map_lookup_elem(map_fd, key, vals)) {
		int ret = -errno;

		free(vals);
		return gg_errf(err, ret, "counters: %s", strerror(-ret));
	}
	for (int c = 0; c < ncpu; c++)
		*sum += vals[c];
	free(vals);
	return 0;
}

int gg_strp_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int gg_u32_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

bool gg_stat_same_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

bool gg_stat_settled(const struct stat *st, time_t now, int settle_s)
{
	return st->st_mtim.tv_sec + settle_s < now && st->st_ctim.tv_sec + settle_s < now;
}
