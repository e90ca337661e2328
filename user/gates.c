// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>


#include "crypto.h"
#include "exec.skel.h"
#include "egress.skel.h"
#include "module.skel.h"
#include "guard.skel.h"
#include "gates.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum gg_attach {
	GG_ATTACH_AUTO, /* lsm, tp_btf, tracepoint: from the section name */
	GG_ATTACH_CGROUP, /* on the scope's cgroup */
};

struct gg_prog_spec {
	const char *name;
	enum gg_mech mech; /* GG_MECH_NONE: loaded with either mechanism */
	enum gg_attach attach;
};

struct gg_gate_spec {
	enum gg_gate gate;
	void *(*open)(const struct bpf_object_open_opts *opts);
	void (*destroy)(void *skel);
	struct bpf_object *(*object)(void *skel);
	const struct gg_prog_spec *progs;
	size_t n_progs;
	const char *label; /* for messages; NULL: the gate's name */
};

/* Skeleton adapters: the gate table drives them generically. */
#define GG_SKEL_ADAPTERS(x)                                                        \
	static void *x##_open(const struct bpf_object_open_opts *o)                 \
	{                                                                           \
		return gg_##x##__open_opts(o);                                      \
	}                                                                           \
	static void x##_destroy(void *s)                                            \
	{                                                                           \
		gg_##x##__destroy(s);                                               \
	}                                                                           \
	static struct bpf_object *x##_object(void *s)                               \
	{                                                                           \
		return ((struct gg_##x *)s)->obj;                                   \
	}
GG_SKEL_ADAPTERS(exec)
GG_SKEL_ADAPTERS(egress)
GG_SKEL_ADAPTERS(module)
GG_SKEL_ADAPTERS(guard)

/*
 * The loader table: every program of every gate's skeleton, once. A
 * program the table misses would never be loaded, silently, so the table
 * is checked against the skeleton at build time: each entry names a real
 * skeleton program (PROG_BIT fails to compile otherwise) spelled as its
 * ABI macro, and the entries together cover every program exactly once.
 * P(skeleton, BPF function, ABI name, mechanism, attach).
 */
#define EXEC_PROGS(P)                                                                        \
	P(exec, gg_exec_check, GG_PROG_EXEC_CHECK, GG_MECH_LSM, GG_ATTACH_AUTO)              \
	P(exec, gg_exec_check_fallback, GG_PROG_EXEC_CHECK_FALLBACK, GG_MECH_FALLBACK,       \
	  GG_ATTACH_AUTO)                                                                    \
	P(exec, gg_exec_mmap, GG_PROG_EXEC_MMAP, GG_MECH_LSM, GG_ATTACH_AUTO)                \
	P(exec, gg_exec_code_attach, GG_PROG_EXEC_CODE_ATTACH, GG_MECH_LSM, GG_ATTACH_AUTO)  \
	P(exec, gg_exec_code_traceme, GG_PROG_EXEC_CODE_TRACEME, GG_MECH_LSM,                \
	  GG_ATTACH_AUTO)                                                                    \
	P(exec, gg_exec_mprotect, GG_PROG_EXEC_MPROTECT, GG_MECH_LSM, GG_ATTACH_AUTO)        \
	/* a write-open: the digest cache forgets the file; /proc/PID/mem under     \
	 * trust lists is refused */                                                        \
	P(exec, gg_exec_write_open, GG_PROG_EXEC_WRITE_OPEN, GG_MECH_LSM, GG_ATTACH_AUTO)    \
	P(exec, gg_exec_hash_truncate, GG_PROG_EXEC_HASH_TRUNCATE, GG_MECH_LSM,              \
	  GG_ATTACH_AUTO)

#define EGRESS_PROGS(P)                                                                      \
	P(egress, gg_egress_connect, GG_PROG_EGRESS_CONNECT, GG_MECH_LSM, GG_ATTACH_AUTO)    \
	P(egress, gg_egress_sendmsg, GG_PROG_EGRESS_SENDMSG, GG_MECH_LSM, GG_ATTACH_AUTO)    \
	/* raw and packet sockets ("sockets" rules): no fallback hook */                     \
	P(egress, gg_egress_socket, GG_PROG_EGRESS_SOCKET, GG_MECH_LSM, GG_ATTACH_AUTO)      \
	/* the daemon's own sockets: left to gg_self_egress by the packet check */         \
	P(egress, gg_egress_own_socket, GG_PROG_EGRESS_OWN_SOCKET, GG_MECH_LSM,              \
	  GG_ATTACH_AUTO)                                                                    \
	/* routing options on a socket made outside the scope */                         \
	P(egress, gg_egress_setsockopt, GG_PROG_EGRESS_SETSOCKOPT, GG_MECH_LSM,              \
	  GG_ATTACH_AUTO)                                                                    \
	/* sendfile and splice onto such a socket, before 6.5 (prog_runs_with) */            \
	P(egress, gg_egress_page_send, GG_PROG_EGRESS_PAGE_SEND, GG_MECH_LSM, GG_ATTACH_AUTO) \
	/* content digests of executables, for program rules (sleepable) */                 \
	P(egress, gg_egress_exe, GG_PROG_EGRESS_EXE, GG_MECH_LSM, GG_ATTACH_AUTO)            \
	P(egress, gg_egress_mapped_exec, GG_PROG_EGRESS_MAPPED_EXEC, GG_MECH_LSM,            \
	  GG_ATTACH_AUTO)                                                                    \
	P(egress, gg_egress_task_alloc, GG_PROG_EGRESS_TASK_ALLOC, GG_MECH_LSM,              \
	  GG_ATTACH_AUTO)                                                                    \
	P(egress, gg_egress_exe_open, GG_PROG_EGRESS_EXE_OPEN, GG_MECH_LSM, GG_ATTACH_AUTO)  \
	P(egress, gg_egress_exe_truncate, GG_PROG_EGRESS_EXE_TRUNCATE, GG_MECH_LSM,          \
	  GG_ATTACH_AUTO)                                                                    \
	P(egress, gg_egress_connect4, GG_PROG_EGRESS_CONNECT4, GG_MECH_FALLBACK,             \
	  GG_ATTACH_CGROUP)                                                                  \
	P(egress, gg_egress_connect6, GG_PROG_EGRESS_CONNECT6, GG_MECH_FALLBACK,             \
	  GG_ATTACH_CGROUP)                                                                  \
	P(egress, gg_egress_sendmsg4, GG_PROG_EGRESS_SENDMSG4, GG_MECH_FALLBACK,             \
	  GG_ATTACH_CGROUP)                                                                  \
	P(egress, gg_egress_sendmsg6, GG_PROG_EGRESS_SENDMSG6, GG_MECH_FALLBACK,             \
	  GG_ATTACH_CGROUP)                                                                  \
	/* the packet check, on the scope's cgroup with either mechanism */                  \
	P(egress, gg_egress_packet_lsm, GG_PROG_EGRESS_PACKET_LSM, GG_MECH_LSM,              \
	  GG_ATTACH_CGROUP)                                                                  \
	P(egress, gg_egress_packet_fallback, GG_PROG_EGRESS_PACKET_FALLBACK,                 \
	  GG_MECH_FALLBACK, GG_ATTACH_CGROUP)                                                \
	/* the DNS rewrite: the fallback's connect4/6 and sendmsg4/6 do it */               \
	P(egress, gg_dns_connect4, GG_PROG_DNS_CONNECT4, GG_MECH_LSM, GG_ATTACH_CGROUP)      \
	P(egress, gg_dns_connect6, GG_PROG_DNS_CONNECT6, GG_MECH_LSM, GG_ATTACH_CGROUP)      \
	P(egress, gg_dns_sendmsg4, GG_PROG_DNS_SENDMSG4, GG_MECH_LSM, GG_ATTACH_CGROUP)      \
	P(egress, gg_dns_sendmsg6, GG_PROG_DNS_SENDMSG6, GG_MECH_LSM, GG_ATTACH_CGROUP)      \
	P(egress, gg_dns_recvmsg4, GG_PROG_DNS_RECVMSG4, GG_MECH_LSM, GG_ATTACH_CGROUP)      \
	P(egress, gg_dns_recvmsg6, GG_PROG_DNS_RECVMSG6, GG_MECH_LSM, GG_ATTACH_CGROUP)      \
	P(egress, gg_dns_recvmsg4_fallback, GG_PROG_DNS_RECVMSG4_FALLBACK, GG_MECH_FALLBACK, \
	  GG_ATTACH_CGROUP)                                                                  \
	P(egress, gg_dns_recvmsg6_fallback, GG_PROG_DNS_RECVMSG6_FALLBACK, GG_MECH_FALLBACK, \
	  GG_ATTACH_CGROUP)

#define MODULE_PROGS(P)                                                                      \
	P(module, gg_module_request, GG_PROG_MODULE_REQUEST, GG_MECH_LSM, GG_ATTACH_AUTO)    \
	P(module, gg_module_load_data, GG_PROG_MODULE_LOAD_DATA, GG_MECH_LSM, GG_ATTACH_AUTO) \
	P(module, gg_module_read_file, GG_PROG_MODULE_READ_FILE, GG_MECH_LSM, GG_ATTACH_AUTO)

/* Locked mode (bpf/guard.bpf.c): LSM only, not a gate of its own. */
#define GUARD_PROGS(P)                                                                       \
	P(guard, gg_guard_bpf, GG_PROG_GUARD_BPF, GG_MECH_LSM, GG_ATTACH_AUTO)               \
	P(guard, gg_guard_bpf_map, GG_PROG_GUARD_BPF_MAP, GG_MECH_LSM, GG_ATTACH_AUTO)       \
	P(guard, gg_guard_map_mmap, GG_PROG_GUARD_MAP_MMAP, GG_MECH_LSM, GG_ATTACH_AUTO)     \
	P(guard, gg_guard_unlink, GG_PROG_GUARD_UNLINK, GG_MECH_LSM, GG_ATTACH_AUTO)         \
	P(guard, gg_guard_rename, GG_PROG_GUARD_RENAME, GG_MECH_LSM, GG_ATTACH_AUTO)         \
	P(guard, gg_guard_rmdir, GG_PROG_GUARD_RMDIR, GG_MECH_LSM, GG_ATTACH_AUTO)           \
	P(guard, gg_guard_umount, GG_PROG_GUARD_UMOUNT, GG_MECH_LSM, GG_ATTACH_AUTO)         \
	P(guard, gg_guard_ptrace, GG_PROG_GUARD_PTRACE, GG_MECH_LSM, GG_ATTACH_AUTO)         \
	P(guard, gg_guard_kill, GG_PROG_GUARD_KILL, GG_MECH_LSM, GG_ATTACH_AUTO)             \
	P(guard, gg_guard_file_open, GG_PROG_GUARD_FILE_OPEN, GG_MECH_LSM, GG_ATTACH_AUTO)   \
	P(guard, gg_guard_task_alloc, GG_PROG_GUARD_TASK_ALLOC, GG_MECH_LSM, GG_ATTACH_AUTO) \
	P(guard, gg_guard_proc_link, GG_PROG_GUARD_PROC_LINK, GG_MECH_LSM, GG_ATTACH_AUTO)   \
	GUARD_PFILE_PROGS(P)                                                                 \
	GUARD_CODE_DISK_PROGS(P)

/* The policy authority's files and mounts (issue 13, signed requests). */
#define GUARD_PFILE_PROGS(P)                                                                 \
	P(guard, gg_guard_pfile_open, GG_PROG_GUARD_PFILE_OPEN, GG_MECH_LSM, GG_ATTACH_AUTO) \
	P(guard, gg_guard_pfile_create, GG_PROG_GUARD_PFILE_CREATE, GG_MECH_LSM,             \
	  GG_ATTACH_AUTO)                                                                    \
	P(guard, gg_guard_pfile_mkdir, GG_PROG_GUARD_PFILE_MKDIR, GG_MECH_LSM,               \
	  GG_ATTACH_AUTO)                                                                    \
	P(guard, gg_guard_pfile_mknod, GG_PROG_GUARD_PFILE_MKNOD, GG_MECH_LSM,               \
	  GG_ATTACH_AUTO)                                                                    \
	P(guard, gg_guard_pfile_link, GG_PROG_GUARD_PFILE_LINK, GG_MECH_LSM, GG_ATTACH_AUTO) \
	P(guard, gg_guard_pfile_symlink, GG_PROG_GUARD_PFILE_SYMLINK, GG_MECH_LSM,           \
	  GG_ATTACH_AUTO)                                                                    \
	P(guard, gg_guard_pfile_unlink, GG_PROG_GUARD_PFILE_UNLINK, GG_MECH_LSM,             \
	  GG_ATTACH_AUTO)                                                                    \
	P(guard, gg_guard_pfile_rename, GG_PROG_GUARD_PFILE_RENAME, GG_MECH_LSM,             \
	  GG_ATTACH_AUTO)                                                                    \
	P(guard, gg_guard_pfile_truncate, GG_PROG_GUARD_PFILE_TRUNCATE, GG_MECH_LSM,         \
	  GG_ATTACH_AUTO)                                                                    \
	P(guard, gg_guard_mount, GG_PROG_GUARD_MOUNT, GG_MECH_LSM, GG_ATTACH_AUTO)           \
	P(guard, gg_guard_move_mount, GG_PROG_GUARD_MOVE_MOUNT, GG_MECH_LSM, GG_ATTACH_AUTO) \
	P(guard, gg_guard_fs_create, GG_PROG_GUARD_FS_CREATE, GG_MECH_LSM, GG_ATTACH_AUTO)   \
	P(guard, gg_guard_fs_reconfigure, GG_PROG_GUARD_FS_RECONFIGURE, GG_MECH_LSM,         \
	  GG_ATTACH_AUTO)                                                                    \
	P(guard, gg_guard_file_lock, GG_PROG_GUARD_FILE_LOCK, GG_MECH_LSM, GG_ATTACH_AUTO)   \
	P(guard, gg_guard_pfile_rmdir, GG_PROG_GUARD_PFILE_RMDIR, GG_MECH_LSM, GG_ATTACH_AUTO)

/* What the daemon's successor runs, the disk beneath the files, the
 * kernel's memory beneath the maps, and the network beneath the packet
 * check. */
#define GUARD_CODE_DISK_PROGS(P)                                                             \
	P(guard, gg_guard_prctl, GG_PROG_GUARD_PRCTL, GG_MECH_LSM, GG_ATTACH_AUTO)           \
	P(guard, gg_guard_successor, GG_PROG_GUARD_SUCCESSOR, GG_MECH_LSM, GG_ATTACH_AUTO)   \
	P(guard, gg_guard_code_mmap, GG_PROG_GUARD_CODE_MMAP, GG_MECH_LSM, GG_ATTACH_AUTO)   \
	P(guard, gg_guard_code_mprotect, GG_PROG_GUARD_CODE_MPROTECT, GG_MECH_LSM,           \
	  GG_ATTACH_AUTO)                                                                    \
	P(guard, gg_guard_passthrough, GG_PROG_GUARD_PASSTHROUGH, GG_MECH_LSM, GG_ATTACH_AUTO) \
	P(guard, gg_guard_passthrough_compat, GG_PROG_GUARD_PASSTHROUGH_COMPAT, GG_MECH_LSM,  \
	  GG_ATTACH_AUTO)                                                                    \
	P(guard, gg_guard_uring_cmd, GG_PROG_GUARD_URING_CMD, GG_MECH_LSM, GG_ATTACH_AUTO)   \
	P(guard, gg_guard_locked_down, GG_PROG_GUARD_LOCKED_DOWN, GG_MECH_LSM, GG_ATTACH_AUTO) \
	P(guard, gg_guard_net_admin, GG_PROG_GUARD_NET_ADMIN, GG_MECH_LSM, GG_ATTACH_AUTO)  \
	P(guard, gg_guard_netlink_send, GG_PROG_GUARD_NETLINK_SEND, GG_MECH_LSM, GG_ATTACH_AUTO) \
	P(guard, gg_guard_tun_open, GG_PROG_GUARD_TUN_OPEN, GG_MECH_LSM, GG_ATTACH_AUTO)     \
	P(guard, gg_guard_configfs_mkdir, GG_PROG_GUARD_CONFIGFS_MKDIR, GG_MECH_LSM,         \
	  GG_ATTACH_AUTO)                                                                    \
	P(guard, gg_guard_configfs_symlink, GG_PROG_GUARD_CONFIGFS_SYMLINK, GG_MECH_LSM,     \
	  GG_ATTACH_AUTO)

#define PROG_SPEC(skel, fn, name, mech, attach) { name, mech, attach },
/* The program's index in the skeleton's progs struct, as a bit. */
#define PROG_BIT(skel, fn, name, mech, attach)                                         \
	| (1ULL << ((offsetof(struct gg_##skel, progs.fn) - offsetof(struct gg_##skel, progs)) / \
		    sizeof(struct bpf_program *)))
#define PROG_ONE(skel, fn, name, mech, attach) +1
#define PROG_NAME_OK(skel, fn, name, mech, attach) && GG_NAME_IS(fn, name)
#define SKEL_N_PROGS(skel) (sizeof(((struct gg_##skel *)0)->progs) / sizeof(struct bpf_program *))

#define CHECK_PROG_TABLE(skel, LIST)                                                         \
	_Static_assert(SKEL_N_PROGS(skel) < 64 && (0 LIST(PROG_ONE)) == SKEL_N_PROGS(skel) && \
			       (0ULL LIST(PROG_BIT)) == (1ULL << SKEL_N_PROGS(skel)) - 1,    \
		       #skel ".bpf.c: a program has no entry (or two) in " #LIST " (gates.c)"); \
	_Static_assert(1 LIST(PROG_NAME_OK), #LIST ": a name differs from its BPF function")

/* attach_and_pin() keeps one flag per program of a gate */
#define GG_GATE_PROGS_MAX 48
#define PROGS_FIT(skel) _Static_assert(SKEL_N_PROGS(skel) <= GG_GATE_PROGS_MAX, #skel ": too many programs")
PROGS_FIT(exec);
PROGS_FIT(egress);
PROGS_FIT(module);
PROGS_FIT(guard);

CHECK_PROG_TABLE(exec, EXEC_PROGS);
CHECK_PROG_TABLE(egress, EGRESS_PROGS);
CHECK_PROG_TABLE(module, MODULE_PROGS);
CHECK_PROG_TABLE(guard, GUARD_PROGS);

static const struct gg_prog_spec exec_progs[] = { EXEC_PROGS(PROG_SPEC) };
static const struct gg_prog_spec egress_progs[] = { EGRESS_PROGS(PROG_SPEC) };
static const struct gg_prog_spec module_progs[] = { MODULE_PROGS(PROG_SPEC) };
static const struct gg_prog_spec guard_progs[] = { GUARD_PROGS(PROG_SPEC) };


static const struct gg_gate_spec gate_specs[GG_GATE_COUNT] = {
	{ GG_GATE_EXEC, exec_open, exec_destroy, exec_object, exec_progs, ARRAY_SIZE(exec_progs) },
	{ GG_GATE_EGRESS, egress_open, egress_destroy, egress_object, egress_progs,
	  ARRAY_SIZE(egress_progs) },
	{ GG_GATE_MODULE, module_open, module_destroy, module_object, module_progs,
	  ARRAY_SIZE(module_progs) },
};

/* Attached after the gates, pinned beside them; its records are
 * kernel.module ones. */
static const struct gg_gate_spec guard_spec = {
	GG_GATE_MODULE, guard_open, guard_destroy, guard_object, guard_progs,
	ARRAY_SIZE(guard_progs), "locked-mode guard",
};
static struct gg_gate_state guard_state;
static bool guard_tried;

static const char *spec_name(const struct gg_gate_spec *spec)
{
	return spec->label ? spec->label : gg_gate_name(spec->gate);
}

/* The gates, then the guard: i in [0, GG_GATE_COUNT]. */
static const struct gg_gate_spec *spec_at(int i)
{
	return i < GG_GATE_COUNT ? &gate_specs[i] : &guard_spec;
}

static bool verbose_libbpf;

/* Trial loads are expected to fail on kernels without BPF LSM: keep libbpf
 * quiet unless -v. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose_libbpf)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int gg_pinned_fd(const char *pin_dir, const char *name, struct gg_err *err)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return gg_errf(err, -errno, "%s: cannot open pinned object: %s (is govgate running?)",
			       path, strerror(errno));
	return fd;
}

int gg_pinned_fd_ro(const char *pin_dir, const char *name, struct gg_err *err)
{
	LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = BPF_F_RDONLY);
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get_opts(path, &opts);
	if (fd < 0)
		return gg_errf(err, -errno, "%s: cannot open pinned object: %s (is govgate running?)",
			       path, strerror(errno));
	return fd;
}

int gg_cgroup2_root(char *buf, size_t len, struct gg_err *err)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;
	int ret = gg_errf(err, -ENOENT, "no cgroup2 mount in /proc/self/mounts");

	if (!f)
		return gg_errf(err, -errno, "/proc/self/mounts: %s", strerror(errno));
	while ((m = getmntent(f))) {
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(buf, len, "%s", m->mnt_dir);
			ret = 0;
			break;
		}
	}
	endmntent(f);
	return ret;
}

/* bpffs must be mounted at the pin directory's parent; mount it if absent. */
/* No symbolic link on the way to a pin directory or its upgrade stage:
 * `--pin-dir /tmp/x` whose upgrade-stage links to the real pins would have
 * a successor (exempt in locked mode) unpin the real gates. */
static int pin_path_plain(const char *path, struct gg_err *err)
{
	char buf[4096];
	struct stat st;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1;; p++) {
		char c = *p;

		if (c && c != '/')
			continue;
		*p = '\0';
		if (!lstat(buf, &st) && S_ISLNK(st.st_mode))
			return gg_errf(err, -ELOOP, "%s: %s is a symbolic link: refused (name the "
				       "pin directory without one)", path, buf);
		if (!c)
			return 0;
		*p = c;
	}
}

static int ensure_pin_dir(const char *pin_dir, struct gg_err *err)
{
	char parent[4096];
	struct statfs st;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (statfs(parent, &st) == 0 && st.f_type != BPF_FS_MAGIC &&
	    !strcmp(parent, "/sys/fs/bpf")) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
			return gg_errf(err, -errno, "cannot mount bpffs on /sys/fs/bpf: %s",
				       strerror(errno));
	}
	if (statfs(parent, &st) || st.f_type != BPF_FS_MAGIC)
		return gg_errf(err, -ENOTSUP, "%s: not on a bpf filesystem (mount -t bpf bpf %s)",
			       pin_dir, parent);
	/* libbpf finds tracepoint ids in tracefs. */
	if (access("/sys/kernel/tracing/events", F_OK) && access("/sys/kernel/tracing", F_OK) == 0)
		mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	if (mkdir(pin_dir, 0700) && errno != EEXIST)
		return gg_errf(err, -errno, "%s: cannot create: %s", pin_dir, strerror(errno));
	return pin_path_plain(pin_dir, err);
}

static void link_pin_path(char *buf, size_t len, const char *pin_dir, const char *prog)
{
	snprintf(buf, len, "%s/" GG_PIN_LINK_PREFIX "%s", pin_dir, prog);
}

static bool pinned(const char *pin_dir, const char *prog)
{
	char path[4096];

	link_pin_path(path, sizeof(path), pin_dir, prog);
	return access(path, F_OK) == 0;
}

/*
 * The links this process attached or adopted, held open for its whole
 * life: a pin is only a name, and `rm <pin dir>/link-*` would detach every
 * gate at once if no fd held the links. Closed by the exit.
 */
static int held_links[ARRAY_SIZE(exec_progs) + ARRAY_SIZE(egress_progs) +
		      ARRAY_SIZE(module_progs) + ARRAY_SIZE(guard_progs)];
static size_t n_held;

static int hold_link_fd(int fd, const char *name, struct gg_err *err)
{
	if (n_held == ARRAY_SIZE(held_links)) {
		close(fd);
		return gg_errf(err, -ENOSPC, "%s: too many links to hold", name);
	}
	held_links[n_held++] = fd;
	return 0;
}

/* Before 6.5 (MSG_SPLICE_PAGES), sendfile and splice onto a socket send
 * through the protocol's sendpage, which asks no socket hook; since, they
 * send through sock_sendmsg. An unreadable release counts as old. */
static bool kernel_sendpage_unhooked(void)
{
	unsigned int major, minor;
	struct utsname u;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return true;
	return major < 6 || (major == 6 && minor < 5);
}

/* Is p one of mech's programs on this kernel? */
static bool prog_runs_with(const struct gg_prog_spec *p, enum gg_mech mech)
{
	if (p->mech != mech && p->mech != GG_MECH_NONE)
		return false;
	/* every read and write runs it: only where it decides something */
	if (!strcmp(p->name, GG_PROG_EGRESS_PAGE_SEND))
		return kernel_sendpage_unhooked();
	return true;
}

/* A program loaded with either mechanism: one that cannot attach is said,
 * not an error. */
static bool optional_prog(const struct gg_prog_spec *p)
{
	return p->mech == GG_MECH_NONE;
}

/* Holds an adopted gate's pinned links (mech's programs and the shared
 * ones that are pinned). */
static int hold_pinned_links(const char *pin_dir, const struct gg_gate_spec *spec,
			     enum gg_mech mech, struct gg_err *err)
{
	char path[4096];
	int fd, ret;

	for (size_t i = 0; i < spec->n_progs; i++) {
		if (!prog_runs_with(&spec->progs[i], mech))
			continue;
		link_pin_path(path, sizeof(path), pin_dir, spec->progs[i].name);
		fd = bpf_obj_get(path);
		if (fd < 0 && errno == ENOENT && optional_prog(&spec->progs[i]))
			continue;
		if (fd < 0)
			return gg_errf(err, -errno, "%s: cannot hold %s: %s",
				       spec_name(spec), path, strerror(errno));
		ret = hold_link_fd(fd, path, err);
		if (ret)
			return ret;
	}
	return 0;
}

/* Which mechanism's links are pinned for this gate, if any. */
static enum gg_mech pinned_mech(const char *pin_dir, const struct gg_gate_spec *spec)
{
	for (size_t i = 0; i < spec->n_progs; i++)
		if (spec->progs[i].mech != GG_MECH_NONE && pinned(pin_dir, spec->progs[i].name))
			return spec->progs[i].mech;
	return GG_MECH_NONE;
}

/* Are all of this gate's links for mech pinned (the shared ones too)? A
 * set with holes is re-attached whole rather than adopted. */
static bool pins_complete(const char *pin_dir, const struct gg_gate_spec *spec, enum gg_mech mech)
{
	for (size_t i = 0; i < spec->n_progs; i++)
		if (prog_runs_with(&spec->progs[i], mech) && !pinned(pin_dir, spec->progs[i].name))
			return false;
	return true;
}

/* Is every map of the gates with pinned links pinned? A link whose maps
 * lost their pins decides from maps no one can reach (no policy, no
 * settings update): then every gate is re-attached and the missing maps
 * created. (A gate with no links, e.g. kernel.module without BPF LSM, has
 * never pinned its own maps.) */
static bool maps_pinned(const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct bpf_map *map;
	bool ok = true;

	for (int g = 0; g <= GG_GATE_COUNT && ok; g++) {
		const struct gg_gate_spec *spec = spec_at(g);
		void *skel;

		if (pinned_mech(pin_dir, spec) == GG_MECH_NONE)
			continue;
		skel = spec->open(&opts);
		if (!skel)
			return false;
		bpf_object__for_each_map(map, spec->object(skel))
		{
			const char *path = bpf_map__pin_path(map);

			if (path && access(path, F_OK)) {
				fprintf(stderr, "govgate: %s is missing: re-attaching every gate\n",
					path);
				ok = false;
				break;
			}
		}
		spec->destroy(skel);
	}
	return ok;
}

const char *gg_gate_limits(enum gg_gate gate, enum gg_mech mech)
{
	/* No socket_create hook without BPF LSM, and AF_PACKET frames bypass
	 * IP output, where the packet check runs. On the LSM path the hook is
	 * one of the gate's programs: attached (and adopted) with the others
	 * or the gate is not on that path at all. */
	if (gate == GG_GATE_EGRESS && mech == GG_MECH_FALLBACK)
		return "raw and packet sockets are not denied at creation, nor sockets of other "
		       "families (AF_VSOCK to the host, ...), and AF_PACKET frames are not seen "
		       "(no socket_create hook on the fallback path); a connected socket made "
		       "outside the scope sends unchecked, a socket set IP_TRANSPARENT sends "
		       "from any address, a multicast join sends IGMP reports naming groups "
		       "and sources of the task's choosing onto the link, the kernel's own IPv6 "
		       "neighbour discovery and MLD are decided by an allowlist as any raw "
		       "socket's packets (a list names ff02::/16 and fe80::/10 for IPv6 over a "
		       "NIC), a program the dynamic loader runs connects as the loader, and a "
		       "governed task may ptrace or take the files of a task outside it, follow its /proc links and open input devices (no "
		       "socket_sendmsg, socket_setsockopt, mmap_file, ptrace_access_check, "
		       "inode_follow_link or file_open hook)";
	/* bpf_ima_file_hash needs a sleepable program; sched_process_exec is
	 * not one. Identities resolved at apply still catch hard links. */
	if (gate == GG_GATE_EXEC && mech == GG_MECH_FALLBACK)
		return "content identity is unavailable (no sleepable hook to hash the file on "
		       "the fallback path): a copy of a denied tool is not recognised, a hard "
		       "link is; executable mappings (the loader, dlopen) are not checked and "
		       "trust lists are not enforced";
	return NULL;
}

void gg_gates_inspect(const char *pin_dir, struct gg_gate_state state[GG_GATE_COUNT])
{
	for (int g = 0; g < GG_GATE_COUNT; g++) {
		memset(&state[g], 0, sizeof(state[g]));
		state[g].mech = pinned_mech(pin_dir, &gate_specs[g]);
		state[g].reused = state[g].mech != GG_MECH_NONE;
	}
}

/* The ring buffer's size (audit.ring_buffer_mib); 0: the object's. */
static __u32 ring_bytes;

void gg_gates_set_ring_bytes(__u32 bytes)
{
	ring_bytes = bytes;
}

/* A pinned ring buffer is reused as it is (libbpf refuses a size
 * mismatch): a new size takes effect once the pins are gone. */
static void size_ring(struct bpf_object *obj, const char *pin_dir)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, GG_MAP_EVENTS);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	static bool warned;
	char path[4096];
	int fd;

	if (!m || !ring_bytes)
		return;
	snprintf(path, sizeof(path), "%s/" GG_MAP_EVENTS, pin_dir);
	fd = bpf_obj_get(path);
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) && info.max_entries) {
		if (info.max_entries != ring_bytes && !warned)
			fprintf(stderr, "govgate: the ring buffer stays %u MiB (pinned) until "
					"`govgate stop --unload`; configured: %u MiB\n",
				info.max_entries >> 20, ring_bytes >> 20);
		warned = true;
		bpf_map__set_max_entries(m, info.max_entries);
	} else {
		bpf_map__set_max_entries(m, ring_bytes);
	}
	if (fd >= 0)
		close(fd);
}

/* Opens and loads one gate's object with one mechanism's programs. */
static int load_gate(const struct gg_gate_spec *spec, const char *pin_dir, enum gg_mech mech,
		     void **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct bpf_program *prog;
	bool any = false;
	void *skel;
	int ret;

	skel = spec->open(&opts);
	if (!skel)
		return -errno;
	bpf_object__for_each_program(prog, spec->object(skel))
	{
		bool load = false;

		for (size_t i = 0; i < spec->n_progs; i++) {
			if (strcmp(bpf_program__name(prog), spec->progs[i].name))
				continue;
			load = prog_runs_with(&spec->progs[i], mech);
			any |= spec->progs[i].mech == mech;
		}
		bpf_program__set_autoload(prog, load);
	}
	if (!any) {
		spec->destroy(skel);
		return -ENOENT;
	}
	if (spec->object(skel))
		size_ring(spec->object(skel), pin_dir);
	ret = spec->object(skel) ? bpf_object__load(spec->object(skel)) : -EINVAL;
	if (ret) {
		spec->destroy(skel);
		return ret;
	}
	*out = skel;
	return 0;
}

/* Pins obj (a program or link fd) at dir/prefix-name, replacing a stale
 * pin of that name in one step: a rename over it, so a link pin left by an
 * earlier run keeps enforcing until the new one is in place. */
static int pin_replace(int fd, const char *dir, const char *prefix, const char *name,
		       char *path, size_t len)
{
	char tmp[4096];

	snprintf(path, len, "%s/%s-%s", dir, prefix, name);
	snprintf(tmp, sizeof(tmp), "%s/new-%s-%s", dir, prefix, name);
	unlink(tmp); /* a crashed earlier attach */
	if (bpf_obj_pin(fd, tmp))
		return -errno;
	if (rename(tmp, path)) {
		int ret = -errno;

		unlink(tmp);
		return ret;
	}
	return 0;
}

/* After a fresh attach in dir: removes the pins of this gate's programs
 * that were not attached now (another mechanism's, or one that failed). */
static void unpin_unused(const struct gg_gate_spec *spec, const bool *attached, const char *dir)
{
	char path[4096];

	for (size_t i = 0; i < spec->n_progs; i++) {
		if (attached[i])
			continue;
		link_pin_path(path, sizeof(path), dir, spec->progs[i].name);
		unlink(path);
		snprintf(path, sizeof(path), "%s/" GG_PIN_PROG_PREFIX "%s", dir, spec->progs[i].name);
		unlink(path);
	}
}

/* Returns 1 when prog was attached, pinned and its link held, 0 when an
 * optional program could not attach, else a negative errno. */
static int attach_one(const struct gg_gate_spec *spec, struct bpf_program *prog,
		      const char *pin_dir, int cgroup_fd, struct gg_err *err)
{
	const char *name = bpf_program__name(prog);
	enum gg_attach how = GG_ATTACH_AUTO;
	struct bpf_link *link;
	bool optional = false;
	char path[4096];
	int ret, fd;

	for (size_t i = 0; i < spec->n_progs; i++)
		if (!strcmp(name, spec->progs[i].name)) {
			how = spec->progs[i].attach;
			optional = optional_prog(&spec->progs[i]);
		}
	link = how == GG_ATTACH_CGROUP ? bpf_program__attach_cgroup(prog, cgroup_fd)
				       : bpf_program__attach(prog);
	if (!link && optional) {
		/* argv capture is for the record only: a kernel without the
		 * syscall tracepoints still enforces. */
		fprintf(stderr, "govgate: %s: %s not attached (%s): audit records lack argv\n",
			spec_name(spec), name, strerror(errno));
		return 0;
	}
	if (!link)
		return gg_errf(err, -errno, "%s: attach %s: %s", spec_name(spec), name,
			       strerror(errno));
	/* The program too, for `bpftool prog dump xlated pinned ...`; a stale
	 * pin of it (its link was removed) is replaced, not an error. */
	ret = pin_replace(bpf_program__fd(prog), pin_dir, "prog", name, path, sizeof(path));
	if (!ret)
		ret = pin_replace(bpf_link__fd(link), pin_dir, "link", name, path, sizeof(path));
	/* The pin keeps the program attached after we exit; the fd we keep
	 * keeps it attached while we run, whatever happens to the pin. */
	fd = ret ? -1 : fcntl(bpf_link__fd(link), F_DUPFD_CLOEXEC, 0);
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	if (ret)
		return gg_errf(err, ret, "%s: pin %s: %s", spec_name(spec), path,
			       strerror(-ret));
	if (fd < 0)
		return gg_errf(err, -errno, "%s: hold %s: %s", spec_name(spec), path,
			       strerror(errno));
	ret = hold_link_fd(fd, path, err);
	return ret ? ret : 1;
}

/* Attaches and pins every loaded program of the gate in the table's order;
 * pins of its programs not attached now are removed. */
static int attach_and_pin(const struct gg_gate_spec *spec, void *skel, const char *pin_dir,
			  int cgroup_fd, struct gg_err *err)
{
	bool attached[GG_GATE_PROGS_MAX] = {};
	int ret;

	for (size_t i = 0; i < spec->n_progs; i++) {
		struct bpf_program *prog =
			bpf_object__find_program_by_name(spec->object(skel), spec->progs[i].name);

		if (!prog || !bpf_program__autoload(prog))
			continue;
		ret = attach_one(spec, prog, pin_dir, cgroup_fd, err);
		if (ret < 0)
			return ret;
		attached[i] = ret;
	}
	unpin_unused(spec, attached, pin_dir);
	return 0;
}

static int scope_cgroup_fd(const struct gg_scope *scope, struct gg_err *err)
{
	char root[4096];
	const char *dir = scope->cgroup;
	int fd, ret;

	if (scope->mode == GG_SCOPE_GLOBAL) {
		ret = gg_cgroup2_root(root, sizeof(root), err);
		if (ret)
			return ret;
		dir = root;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return gg_errf(err, -errno, "scope cgroup %s: %s", dir, strerror(errno));
	return fd;
}

/* The embedded BPF objects (skeletons), in one list. */
static const void *(*const embedded_objs[])(size_t *) = {
	gg_exec__elf_bytes, gg_egress__elf_bytes, gg_module__elf_bytes,
	gg_guard__elf_bytes,
};

void gg_build_id(char id[GG_BUILD_ID_LEN])
{
	/* once per process: every apply compares it (user/policy.c), and the
	 * daemon gives the objects' pages back after its start */
	static char cached[GG_BUILD_ID_LEN];
	unsigned char md[32];
	unsigned int len = 0;
	EVP_MD_CTX *ctx;

	if (cached[0]) {
		memcpy(id, cached, GG_BUILD_ID_LEN);
		return;
	}
	ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (size_t i = 0; i < ARRAY_SIZE(embedded_objs); i++) {
		size_t sz;
		const void *bytes = embedded_objs[i](&sz);

		EVP_DigestUpdate(ctx, bytes, sz);
	}
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < len; i++)
		snprintf(id + 2 * i, 3, "%02x", md[i]);
	memcpy(cached, id, GG_BUILD_ID_LEN);
}

/*
 * The embedded objects are read at start (the build id hashes them, libbpf
 * parses them) and not again until a start loads gates anew: about 770 kB
 * of the binary's read-only pages that would stay resident for good. They
 * are clean file pages, so dropping them loses nothing; a later read faults
 * them in again from the file.
 */
void gg_gates_release_objects(void)
{
	long page = sysconf(_SC_PAGESIZE);

	for (size_t i = 0; i < ARRAY_SIZE(embedded_objs); i++) {
		size_t sz;
		uintptr_t at = (uintptr_t)embedded_objs[i](&sz);
		uintptr_t first = (at + page - 1) & ~(uintptr_t)(page - 1);
		uintptr_t end = (at + sz) & ~(uintptr_t)(page - 1);

		if (end > first)
			madvise((void *)first, end - first, MADV_DONTNEED);
	}
}

/* The build id recorded in dir's meta map, or "" if there is none. */
void gg_pinned_build_id(const char *dir, char id[GG_BUILD_ID_LEN])
{
	LIBBPF_OPTS(bpf_obj_get_opts, ro_opts, .file_flags = BPF_F_RDONLY);
	struct gg_meta m = {};
	char path[4096];
	__u32 zero = 0;
	int fd;

	id[0] = '\0';
	snprintf(path, sizeof(path), "%s/" GG_MAP_META, dir);
	fd = bpf_obj_get_opts(path, &ro_opts);
	if (fd < 0)
		return;
	if (!bpf_map_lookup_elem(fd, &zero, &m))
		snprintf(id, GG_BUILD_ID_LEN, "%.*s", GG_BUILD_ID_LEN - 1, m.build_id);
	close(fd);
}

static int write_build_id(const char *dir, struct gg_err *err)
{
	struct gg_meta m = {};
	__u32 zero = 0;
	int fd, ret = 0;

	gg_build_id(m.build_id);
	fd = gg_pinned_fd(dir, GG_MAP_META, err);
	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &zero, &m, BPF_ANY))
		ret = gg_errf(err, -errno, GG_MAP_META ": %s", strerror(errno));
	close(fd);
	return ret;
}

/* Unpins every object in dir: links first, so enforcement by this set stops
 * before its maps go. Keeps dir itself. */
static int unpin_all(const char *dir, bool links_only, struct gg_err *err)
{
	struct dirent *de;
	char path[4096];
	DIR *d = opendir(dir);
	int ret = 0;

	if (!d)
		return gg_errf(err, -errno, "%s: %s", dir, strerror(errno));
	for (int pass = 0; pass < (links_only ? 1 : 2); pass++) {
		rewinddir(d);
		while ((de = readdir(d))) {
			bool is_link = !strncmp(de->d_name, GG_PIN_LINK_PREFIX,
						strlen(GG_PIN_LINK_PREFIX));

			if (de->d_name[0] == '.' || de->d_type == DT_DIR || is_link != (pass == 0))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (unlink(path) && !ret)
				ret = gg_errf(err, -errno, "%s: %s", path, strerror(errno));
		}
	}
	closedir(d);
	return ret;
}

int gg_gates_finish_upgrade(const char *pin_dir, const char *stage, struct gg_err *err)
{
	struct dirent *de;
	char from[4096], to[4096];
	DIR *d;
	int ret;

	/* The new gates enforce from the stage: retiring the old set opens no
	 * window. */
	ret = unpin_all(pin_dir, false, err);
	if (ret)
		return ret;
	d = opendir(stage);
	if (!d)
		return gg_errf(err, -errno, "%s: %s", stage, strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(from, sizeof(from), "%s/%s", stage, de->d_name);
		snprintf(to, sizeof(to), "%s/%s", pin_dir, de->d_name);
		if (rename(from, to) && !ret)
			ret = gg_errf(err, -errno, "rename %s: %s", from, strerror(errno));
	}
	closedir(d);
	if (!ret && rmdir(stage))
		ret = gg_errf(err, -errno, "%s: %s", stage, strerror(errno));
	return ret;
}

/*
 * A kernel built with CONFIG_BPF_LSM but booted without "bpf" in its active
 * LSM list loads and attaches LSM programs that are then never called: a
 * load that succeeds proves nothing. The list is in securityfs; where it
 * cannot be read (not mounted), the load itself is the only probe left.
 * Returns true when BPF LSM programs may be used; else fills why.
 */
static bool bpf_lsm_active(char *why, size_t why_len)
{
	static const char lsm_path[] = "/sys/kernel/security/lsm";
	char list[512] = "", *tok, *save;
	ssize_t n;
	int fd;

	fd = open(lsm_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, list, sizeof(list) - 1);
	close(fd);
	if (n <= 0)
		return true;
	list[n] = '\0';
	list[strcspn(list, "\n")] = '\0';
	snprintf(why, why_len, "bpf is not in the active LSM list (%s: %s)", lsm_path, list);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, "bpf"))
			return true;
	return false;
}

/* The cgroup a scope's cgroup programs attach to: its own, or the root. */
static int scope_attach_cgroup_id(const struct gg_settings *s, __u64 *id, struct gg_err *err)
{
	char root[4096];
	struct stat st;
	int ret;

	if (s->scope_mode == GG_SCOPE_CGROUP) {
		*id = s->scope.id;
		return 0;
	}
	ret = gg_cgroup2_root(root, sizeof(root), err);
	if (ret)
		return ret;
	if (stat(root, &st))
		return gg_errf(err, -errno, "%s: %s", root, strerror(errno));
	*id = st.st_ino;
	return 0;
}

static int cgroup_ref(const char *dir, struct gg_cgroup_ref *ref, struct gg_err *err);

/*
 * Adopted fallback egress links stay attached to the cgroup of the run that
 * attached them: a restart that asks for another scope would leave the new
 * scope ungoverned while status says enforcing. Refuse it instead.
 */
static int check_adopted_scope(const char *pin_dir, const struct gg_scope *scope,
			       struct gg_err *err)
{
	struct gg_settings old = {}, new = { .scope_mode = scope->mode };
	__u64 old_id, new_id;
	__u32 zero = 0;
	int fd, ret;

	fd = gg_pinned_fd_ro(pin_dir, GG_MAP_SETTINGS, err);
	if (fd < 0)
		return fd;
	ret = bpf_map_lookup_elem(fd, &zero, &old) ? -errno : 0;
	close(fd);
	if (ret)
		return gg_errf(err, ret, "%s/" GG_MAP_SETTINGS ": %s", pin_dir, strerror(-ret));
	if (scope->mode == GG_SCOPE_CGROUP) {
		ret = cgroup_ref(scope->cgroup, &new.scope, err);
		if (ret)
			return ret;
	}
	ret = scope_attach_cgroup_id(&old, &old_id, err);
	if (!ret)
		ret = scope_attach_cgroup_id(&new, &new_id, err);
	if (ret)
		return ret;
	if (old_id != new_id)
		return gg_errf(err, -EBUSY,
			       "%s: the pinned fallback gates are attached to cgroup id %llu, this "
			       "run's scope is cgroup id %llu; run `govgate stop --unload --pin-dir %s` "
			       "before changing the scope",
			       pin_dir, (unsigned long long)old_id, (unsigned long long)new_id,
			       pin_dir);
	return 0;
}

/* Does this gate attach programs of this mechanism to the scope cgroup? */
static bool attaches_to_cgroup(const struct gg_gate_spec *spec, enum gg_mech mech)
{
	for (size_t i = 0; i < spec->n_progs; i++)
		if (spec->progs[i].mech == mech && spec->progs[i].attach == GG_ATTACH_CGROUP)
			return true;
	return false;
}

struct attach_ctx {
	const char *pin_dir, *target; /* target: pin_dir, or the upgrade stage */
	const struct gg_scope *scope;
	bool maps_ok, lsm_ok;
	const char *lsm_why;
	int cgroup_fd;
};

/* Adopts spec's pinned links, or loads, attaches and pins its programs
 * (BPF LSM first, else its fallback ones); st says which. */
static int attach_spec(const struct attach_ctx *cx, const struct gg_gate_spec *spec,
		       struct gg_gate_state *st, struct gg_err *err)
{
	void *skel = NULL;
	int lsm_err, ret;

	memset(st, 0, sizeof(*st));
	st->mech = cx->target == cx->pin_dir ? pinned_mech(cx->pin_dir, spec) : GG_MECH_NONE;
	if (st->mech != GG_MECH_NONE &&
	    (!cx->maps_ok || !pins_complete(cx->pin_dir, spec, st->mech))) {
		/* Pins were removed (by hand, or bpffs remounted): attach the
		 * gate whole again, replacing what is left. */
		fprintf(stderr, "govgate: %s: pinned links incomplete: re-attaching\n",
			spec_name(spec));
		st->mech = GG_MECH_NONE;
	}
	if (st->mech != GG_MECH_NONE) {
		/* An earlier run's links still enforce: adopt them, never attach
		 * twice, and hold them for as long as we run. */
		st->reused = true;
		if (attaches_to_cgroup(spec, st->mech)) {
			ret = check_adopted_scope(cx->pin_dir, cx->scope, err);
			if (ret)
				return ret;
		}
		return hold_pinned_links(cx->pin_dir, spec, st->mech, err);
	}
	lsm_err = cx->lsm_ok ? load_gate(spec, cx->target, GG_MECH_LSM, &skel) : -ENOSYS;
	if (!lsm_err) {
		st->mech = GG_MECH_LSM;
	} else {
		if (cx->lsm_ok)
			snprintf(st->why, sizeof(st->why), "BPF LSM load failed: %s",
				 strerror(-lsm_err));
		else
			snprintf(st->why, sizeof(st->why), "%s", cx->lsm_why);
		if (!load_gate(spec, cx->target, GG_MECH_FALLBACK, &skel))
			st->mech = GG_MECH_FALLBACK;
	}
	if (st->mech == GG_MECH_NONE)
		return 0;
	ret = attach_and_pin(spec, skel, cx->target, cx->cgroup_fd, err);
	spec->destroy(skel);
	return ret;
}

int gg_gates_attach(const char *pin_dir, const struct gg_scope *scope,
		    struct gg_gate_state state[GG_GATE_COUNT], bool verbose, char *stage,
		    size_t stage_len, struct gg_err *err)
{
	char mine[GG_BUILD_ID_LEN], theirs[GG_BUILD_ID_LEN], lsm_why[256];
	struct attach_ctx cx = { .pin_dir = pin_dir, .scope = scope, .lsm_why = lsm_why };
	const char *target = pin_dir;
	bool any_pinned = false;
	int cgroup_fd = -1, ret;

	stage[0] = '\0';
	verbose_libbpf = verbose;
	libbpf_set_print(libbpf_print);
	ret = ensure_pin_dir(pin_dir, err);
	if (ret)
		return ret;
	for (int g = 0; g < GG_GATE_COUNT; g++)
		any_pinned |= pinned_mech(pin_dir, &gate_specs[g]) != GG_MECH_NONE;
	gg_build_id(mine);
	gg_pinned_build_id(pin_dir, theirs);
	if (any_pinned && strcmp(mine, theirs)) {
		/* Another build's programs enforce now: attach ours beside them. */
		snprintf(stage, stage_len, "%s/" GG_PIN_UPGRADE_STAGE, pin_dir);
		if (mkdir(stage, 0700) && errno != EEXIST)
			return gg_errf(err, -errno, "%s: %s", stage, strerror(errno));
		ret = pin_path_plain(stage, err) ?:
		      unpin_all(stage, false, err); /* a crashed earlier upgrade */
		if (ret)
			return ret;
		fprintf(stderr, "govgate: pinned gates are from another build (%.12s, this is %.12s): "
				"re-attaching\n", theirs[0] ? theirs : "unknown", mine);
		target = stage;
	}
	cgroup_fd = scope_cgroup_fd(scope, err);
	if (cgroup_fd < 0)
		return cgroup_fd;
	cx.lsm_ok = bpf_lsm_active(lsm_why, sizeof(lsm_why));
	cx.maps_ok = target != pin_dir || !any_pinned || maps_pinned(pin_dir);
	cx.target = target;
	cx.cgroup_fd = cgroup_fd;

	guard_tried = true;
	for (int g = 0; g <= GG_GATE_COUNT; g++) {
		ret = attach_spec(&cx, spec_at(g), g < GG_GATE_COUNT ? &state[g] : &guard_state,
				  err);
		if (ret)
			goto cleanup;
	}
	ret = write_build_id(target, err);
cleanup:
	close(cgroup_fd);
	return ret;
}

/* A cgroup directory's id (its inode number on cgroup2) and depth. */
static int cgroup_ref(const char *dir, struct gg_cgroup_ref *ref, struct gg_err *err)
{
	char root[4096], real[4096];
	struct stat st;
	size_t rlen;
	int ret;

	ret = gg_cgroup2_root(root, sizeof(root), err);
	if (ret)
		return ret;
	if (!realpath(dir, real) || stat(real, &st))
		return gg_errf(err, -errno, "cgroup %s: %s", dir, strerror(errno));
	rlen = strlen(root);
	if (strncmp(real, root, rlen) || (real[rlen] != '/' && real[rlen] != '\0'))
		return gg_errf(err, -EINVAL, "cgroup %s: not under the cgroup2 mount %s", dir, root);
	ref->id = st.st_ino;
	ref->level = 0;
	for (const char *p = real + rlen; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			ref->level++;
	return 0;
}

/* The pin directory's identity as the guard compares it: the directory
 * the pins end up in (an upgrade stage's parent). */
static int pin_dir_identity(const char *dir, struct gg_settings *s, struct gg_err *err)
{
	char path[4096], *slash;
	struct stat st;

	snprintf(path, sizeof(path), "%s", dir);
	slash = strrchr(path, '/');
	if (slash && slash != path && !strcmp(slash + 1, GG_PIN_UPGRADE_STAGE))
		*slash = '\0';
	if (stat(path, &st))
		return gg_errf(err, -errno, "%s: %s", path, strerror(errno));
	s->pin_dir_dev = ((__u64)major(st.st_dev) << 20) | minor(st.st_dev);
	s->pin_dir_ino = st.st_ino;
	return 0;
}

/* The daemon's own cgroup, from /proc/self/cgroup ("0::/path"), as its
 * parent and its name; nothing for the root cgroup. */
static int self_unit_ref(struct gg_settings *s, struct gg_err *err)
{
	char line[4096], root[4096], path[8300], *leaf;
	FILE *f = fopen("/proc/self/cgroup", "re");
	int ret = gg_errf(err, -ENOENT, "/proc/self/cgroup: no cgroup2 entry");

	if (!f)
		return gg_errf(err, -errno, "/proc/self/cgroup: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		leaf = strrchr(line + 3, '/');
		ret = 0;
		if (!leaf || !leaf[1])
			break; /* the root cgroup */
		if (strlen(leaf + 1) >= sizeof(s->self_unit)) {
			ret = gg_errf(err, -ENAMETOOLONG, "cgroup name %s is too long", leaf + 1);
			break;
		}
		strcpy(s->self_unit, leaf + 1);
		*leaf = '\0';
		ret = gg_cgroup2_root(root, sizeof(root), err);
		if (!ret) {
			snprintf(path, sizeof(path), "%s%s", root, line + 3);
			ret = cgroup_ref(path, &s->self_unit_parent, err);
		}
		break;
	}
	fclose(f);
	return ret;
}

/* One map id into guard_maps as GG_GUARD_MAP_NO_WRITE, unless it is
 * there already (the per-boot key map is marked GG_GUARD_MAP_NO_FD). */
static int guard_map_id(int gfd, __u32 id)
{
	__u32 kind = GG_GUARD_MAP_NO_WRITE;

	if (bpf_map_update_elem(gfd, &id, &kind, BPF_NOEXIST) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Every map a pinned program uses: the unpinned ones too (exec_hash, the
 * digest cache, is reachable by id with BPF_MAP_GET_FD_BY_ID). */
static int guard_prog_maps(int gfd, int pfd)
{
	__u32 ids[64], len;
	struct bpf_prog_info info = {};
	int ret = 0;

	len = sizeof(info);
	info.nr_map_ids = ARRAY_SIZE(ids);
	info.map_ids = (uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(pfd, &info, &len))
		return -errno;
	if (info.nr_map_ids > ARRAY_SIZE(ids))
		return -E2BIG;
	for (__u32 i = 0; i < info.nr_map_ids && !ret; i++)
		ret = guard_map_id(gfd, ids[i]);
	return ret;
}

/*
 * The maps only govgate's own tasks may open for writing: all of them,
 * found, not listed, so that no map is forgotten: each pinned map, and
 * each map of each pinned program. While the daemon runs, `govgate apply`
 * asks it over the control socket (user/control.c), and in locked mode
 * with an operator's signature. -ENOENT if the guard is not pinned.
 */
static int guard_maps_fill(const char *dir, struct gg_err *err)
{
	struct bpf_map_info info;
	struct dirent *de;
	int gfd, fd, ret = 0;
	bool prog;
	__u32 len;
	DIR *d;

	gfd = gg_pinned_fd(dir, GG_MAP_GUARD_MAPS, err);
	if (gfd < 0)
		return gfd;
	d = opendir(dir);
	if (!d) {
		ret = gg_errf(err, -errno, "%s: %s", dir, strerror(errno));
		goto cleanup;
	}
	while (!ret && (de = readdir(d))) {
		if (de->d_type != DT_REG || !strncmp(de->d_name, GG_PIN_LINK_PREFIX,
						     strlen(GG_PIN_LINK_PREFIX)))
			continue;
		prog = !strncmp(de->d_name, GG_PIN_PROG_PREFIX, strlen(GG_PIN_PROG_PREFIX));
		/* a program's fd cannot be read-only (BPF_OBJ_GET: EINVAL) */
		fd = prog ? gg_pinned_fd(dir, de->d_name, NULL) : gg_pinned_fd_ro(dir, de->d_name, NULL);
		if (fd < 0)
			continue; /* gone meanwhile */
		if (prog) {
			ret = guard_prog_maps(gfd, fd);
		} else {
			memset(&info, 0, sizeof(info));
			len = sizeof(info);
			ret = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno
								      : guard_map_id(gfd, info.id);
		}
		close(fd);
		if (ret)
			gg_errf(err, ret, "%s/" GG_MAP_GUARD_MAPS ": %s: %s", dir, de->d_name,
				strerror(-ret));
	}
	closedir(d);
cleanup:
	close(gfd);
	return ret;
}

/* Locked mode's part of the settings: what the guard protects, and from
 * whom it does not. */
static int configure_lock(const char *pin_dir, struct gg_settings *s, struct gg_err *err)
{
	int ret;

	ret = guard_maps_fill(pin_dir, err);
	if (!ret)
		ret = pin_dir_identity(pin_dir, s, err);
	if (!ret)
		ret = self_unit_ref(s, err);
	if (ret)
		return ret;
	s->locked = 1;
	return 0;
}

int gg_gates_configure(const char *pin_dir, const struct gg_scope *scope, __u32 self_tgid,
		       const struct gg_self_egress *self_egress, bool enabled, bool locked,
		       bool observe, struct gg_err *err)
{
	struct gg_settings s = {
		.scope_mode = scope->mode,
		.n_exempt = scope->n_exempt,
		.self_tgid = self_tgid,
		.enabled = enabled,
		.observe = observe,
	};
	int fd, ret;
	__u32 zero = 0;

	if (scope->mode == GG_SCOPE_CGROUP) {
		ret = cgroup_ref(scope->cgroup, &s.scope, err);
		if (ret)
			return ret;
	}
	for (__u32 i = 0; i < scope->n_exempt && i < GG_MAX_EXEMPT; i++) {
		ret = cgroup_ref(scope->exempt[i], &s.exempt[i], err);
		if (ret)
			return ret;
	}
	if (self_tgid) {
		ret = gg_proc_start_ticks(self_tgid, &s.self_start_ticks, err);
		if (ret)
			return ret;
	}
	for (__u32 i = 0; self_egress && i < self_egress->n && i < GG_SELF_EGRESS_MAX; i++)
		s.self_egress[s.n_self_egress++] = self_egress->dest[i];
	if (locked && (ret = configure_lock(pin_dir, &s, err)))
		return ret;
	fd = gg_pinned_fd(pin_dir, GG_MAP_SETTINGS, err);
	if (fd == -EPERM)
		return gg_errf(err, fd, "%s/" GG_MAP_SETTINGS ": locked mode refuses: the pinned "
			       "gates are locked and this process is not the daemon's successor "
			       "(docs/operators.md, locked mode)", pin_dir);
	if (fd < 0)
		return fd;
	ret = bpf_map_update_elem(fd, &zero, &s, BPF_ANY);
	if (ret)
		ret = gg_errf(err, -errno, GG_MAP_SETTINGS ": %s", strerror(errno));
	close(fd);
	return ret;
}

bool gg_guard_attached(const char *pin_dir, struct gg_gate_state *state)
{
	memset(state, 0, sizeof(*state));
	if (guard_tried) {
		*state = guard_state; /* this process attached, adopted or tried */
		return state->mech != GG_MECH_NONE;
	}
	state->mech = pinned_mech(pin_dir, &guard_spec);
	state->reused = state->mech != GG_MECH_NONE;
	return state->mech != GG_MECH_NONE;
}

#ifndef FILEID_KERNFS
#define FILEID_KERNFS 0xfe /* include/linux/exportfs.h */
#endif

/* A cgroup2 directory's id is its kernfs node id, which is also its file
 * handle: open it by handle relative to the mount (as systemd's
 * cg_cgroupid_open), then read back the path. Needs CAP_DAC_READ_SEARCH. */
int gg_cgroup_path(__u64 id, char *buf, size_t len)
{
	union {
		struct file_handle fh;
		char space[sizeof(struct file_handle) + sizeof(__u64)];
	} h = { .fh = { .handle_bytes = sizeof(__u64), .handle_type = FILEID_KERNFS } };
	char root[4096], proc[64];
	int mfd, fd, ret = 0;
	ssize_t n;

	buf[0] = '\0';
	if (gg_cgroup2_root(root, sizeof(root), NULL))
		return -ENOENT;
	mfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -errno;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		/* ESTALE: no such cgroup (any more) */
		ret = errno == ESTALE ? -ENOENT : -errno;
		goto cleanup;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, len - 1);
	if (n < 0)
		ret = -errno;
	buf[n < 0 ? 0 : n] = '\0';
	close(fd);
cleanup:
	close(mfd);
	return ret;
}

int gg_gates_release_self(const char *pin_dir, struct gg_err *err)
{
	struct gg_settings s;
	__u32 zero = 0;
	int fd, ret;

	fd = gg_pinned_fd(pin_dir, GG_MAP_SETTINGS, err);
	if (fd < 0)
		return fd;
	/* Read-modify-write: only this daemon writes settings while it runs;
	 * and it clears only its own exemption. Locked mode stays: the next
	 * daemon takes over from this one's cgroup (govgate.service). */
	ret = bpf_map_lookup_elem(fd, &zero, &s);
	if (!ret && s.self_tgid == (__u32)getpid()) {
		s.self_tgid = 0;
		s.self_start_ticks = 0;
		ret = bpf_map_update_elem(fd, &zero, &s, BPF_ANY);
	}
	if (ret)
		ret = gg_errf(err, -errno, "%s/" GG_MAP_SETTINGS ": %s", pin_dir, strerror(errno));
	close(fd);
	return ret;
}

int gg_gates_unload(const char *pin_dir, struct gg_err *err)
{
	char stage[4096];
	int ret;

	snprintf(stage, sizeof(stage), "%s/" GG_PIN_UPGRADE_STAGE, pin_dir);
	ret = pin_path_plain(stage, err);
	if (ret)
		return ret;
	if (access(stage, F_OK) == 0 && (unpin_all(stage, false, err) || rmdir(stage)))
		return gg_errf(err, -errno, "%s: %s", stage, strerror(errno));
	ret = unpin_all(pin_dir, false, err);
	if (!ret && rmdir(pin_dir))
		ret = gg_errf(err, -errno, "%s: %s", pin_dir, strerror(errno));
	return ret;
}

bool gg_guard_is_successor(void)
{
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, ro, .open_flags = BPF_F_RDONLY);
	__u32 id = 0, tgid = getpid();
	bool found = false;

	while (!found && !bpf_map_get_next_id(id, &id)) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		__u64 start;
		int fd = bpf_map_get_fd_by_id_opts(id, &ro);

		if (fd < 0)
			continue;
		/* root may make a map of that name (an ARRAY answers every
		 * lookup), not write one while locked */
		found = !bpf_obj_get_info_by_fd(fd, &info, &len) &&
			!strcmp(info.name, GG_MAP_SUCCESSOR) && info.type == BPF_MAP_TYPE_LRU_HASH &&
			info.key_size == sizeof(tgid) && info.value_size == sizeof(start) &&
			!bpf_map_lookup_elem(fd, &tgid, &start);
		close(fd);
	}
	return found;
}
