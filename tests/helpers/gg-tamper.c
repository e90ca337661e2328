// SPDX-License-Identifier: GPL-2.0
/*
 * The tamper attempts of issue 13 that a shell cannot make, one per verb;
 * each prints "ok" or the errno name (EPERM for a refusal):
 *
 * gg-tamper mapw PIN         BPF_OBJ_GET read-write (what an update needs;
 *                            Debian 12's bpftool asks for it even to read)
 * gg-tamper mapop OP PIN     the map's first entry written back unchanged
 *                            (update), deleted (delete), written by
 *                            BPF_MAP_UPDATE_BATCH (batch), or the map frozen
 *                            (freeze), through a read-write fd
 * gg-tamper testrun PIN      BPF_PROG_TEST_RUN of a pinned cgroup_skb program
 *                            on a zeroed 64-byte packet
 * gg-tamper mapr PIN         BPF_OBJ_GET read-only (what a reader needs)
 * gg-tamper enabled PIN 0|1  settings.enabled = 0|1: 0 switches every gate off
 * gg-tamper progload         BPF_PROG_LOAD of a cgroup/connect4 program (one
 *                            that could rewrite a destination after the check)
 * gg-tamper linkdetach PIN   BPF_LINK_DETACH of a pinned link
 * gg-tamper ptrace PID       PTRACE_ATTACH (detached again at once)
 * gg-tamper traceme         PTRACE_TRACEME: its parent (the shell) its tracer
 * gg-tamper vmwrite PID      process_vm_writev of one byte to address 1:
 *                            EFAULT means the access check let it through
 * gg-tamper mem PID          open /proc/PID/mem read-write
 * gg-tamper getfd PID        pidfd_getfd of the daemon's fd 0
 * gg-tamper vmpoke PID ADDR TEXT  process_vm_writev of TEXT (and its NUL)
 *                            to ADDR in PID (gg-net sentinel's buffer)
 * gg-tamper getfd-send PID FD TEXT  pidfd_getfd of PID's fd FD, then TEXT
 *                            sent on it: ok, or the errno of either
 * gg-tamper recvfd-send SOCK TEXT [ADDR PORT]  an fd received over
 *                            SCM_RIGHTS from the unix socket SOCK, then TEXT
 *                            sent on it (with sendto to ADDR:PORT: a TCP
 *                            socket sends to its peer whatever the name)
 * gg-tamper recvfd-pages SOCK TEXT splice|sendfile  the same, TEXT sent as
 *                            pages: spliced from a pipe, or sendfile from a
 *                            memfd (6.1's kernel_sendpage, no socket hook)
 * gg-tamper recvfd-lsrr SOCK TEXT VIA  the same after an IPv4 loose source
 *                            route through VIA is set on it (IP_OPTIONS):
 *                            the header's destination becomes VIA
 * gg-tamper ttyreader DIR    a terminal's reader: a pty whose reader (a
 *                            child with it as its controlling terminal)
 *                            appends each line typed into it to DIR/got;
 *                            DIR/ready holds the terminal's path; until
 *                            DIR/stop exists (60 s at most)
 * gg-tamper tiocsti TTY TEXT TEXT and a newline pushed into TTY's input
 *                            (TIOCSTI), as if typed
 * gg-tamper tioclinux TTY     TIOCLINUX's paste (TIOCL_PASTESEL) on TTY: a
 *                            pty answers ENOTTY past the LSM
 * gg-tamper evtype DEV       an evdev node opened for writing, and a key (A)
 *                            pressed and released through it: evdev hands
 *                            the events to every handler of the device,
 *                            the console's keyboard among them
 * gg-tamper evread DEV DIR   an evdev node's reader: appends "key CODE" to
 *                            DIR/got for each key pressed on it; DIR/ready
 *                            once open; until DIR/stop exists (60 s at most)
 * gg-tamper devopen DEV      DEV opened read-write (uhid), else read-only
 * gg-tamper pipereader DIR   a pipe's reader, as a shell reading commands:
 *                            appends each line that comes through its pipe
 *                            to DIR/got; DIR/ready holds "PID FD" (the
 *                            pipe's read end); until DIR/stop (60 s at most)
 * gg-tamper procwrite PID FD TEXT  /proc/PID/fd/FD reopened for writing (a
 *                            pipe's read end opens as its FIFO), TEXT and a
 *                            newline written
 * gg-tamper tiocm TTY        TIOCMBIS of TIOCM_RTS on TTY (TIOCM_LOOP would
 *                            loop a serial console's output back as input)
 * gg-tamper tiocsetd TTY     TIOCSETD of N_TTY (the line discipline it has)
 * gg-tamper fsmount          a tmpfs made with the new mount API (fsopen,
 *                            fsconfig's FSCONFIG_CMD_CREATE, fsmount): a
 *                            detached mount, no move_mount
 * gg-tamper fspick DIR       fspick of DIR's mount and fsconfig's
 *                            FSCONFIG_CMD_RECONFIGURE (no change): a remount
 * gg-tamper flock FILE       FILE opened read-only and locked (LOCK_SH)
 * gg-tamper settime SECONDS  the clock set SECONDS back (clock_settime),
 *                            and, if that was let through, forward again
 * gg-tamper kbsent TTY TEXT  KDSKBSENT: the console keyboard's function
 *                            string 100 (no key sends it) set to TEXT
 * gg-tamper kbgsent TTY      prints function string 100 (KDGKBSENT)
 * gg-tamper vtactivate TTY N VT_ACTIVATE of console N, through TTY
 * gg-tamper pidfd-ns PID     PIDFD_GET_NET_NAMESPACE on PID's pidfd (6.11 on;
 *                            ENOTTY before)
 * gg-tamper setns-pidfd PID  setns(PID's pidfd, CLONE_NEWNET)
 * gg-tamper kill PID SIG     kill(PID, SIG)
 * gg-tamper cgmove DIR       this process's pid into DIR/cgroup.procs
 * gg-tamper clone-into DIR   clone3(CLONE_INTO_CGROUP) of a child into DIR
 * gg-tamper ringskip PIN     the ring buffer's consumer position moved to its
 *                            producer position (the consumer page mapped
 *                            writable): every unread record is skipped;
 *                            prints "ok BYTES" (the bytes skipped)
 * gg-tamper mmapnew          a writable shared mapping of a new mmapable array
 *                            of this process's own: what a root task would
 *                            make of one of govgate's maps by id before it
 *                            is frozen (the egress range arrays)
 * gg-tamper mapbyid NAME [rw] BPF_MAP_GET_FD_BY_ID (read-only) of every map
 *                            id until one named NAME opens: "ok", else
 *                            ENOENT (none of that name could be opened);
 *                            rw: that one opened read-write again and its
 *                            first entry written back (mapop update), as an
 *                            unpinned map is reached
 * gg-tamper flood SOCK N     N connections to the control socket at once, each
 *                            sending one junk byte: prints "ok" once every
 *                            one was answered or closed
 * gg-tamper send SOCK FILE   FILE's bytes to the daemon's control socket, as
 *                            a captured request is replayed: prints ok, or
 *                            why the daemon refused ("refused" of the reply)
 * gg-tamper setexe FILE      prctl(PR_SET_MM_EXE_FILE) to FILE: EBUSY (this
 *                            program is still mapped) means the guard let
 *                            it through to the kernel's own check
 * gg-tamper setarg           prctl(PR_SET_MM_ARG_START) to where it is: what
 *                            systemd's child does to rename itself (not EPERM)
 * gg-tamper blkwrite DEV     the disk beneath the files: a marker written to
 *                            DEV's last 4 KiB through a write-only fd
 * gg-tamper nvmewrite DEV    the same through NVMe passthrough
 *                            (NVME_IOCTL_SUBMIT_IO) on a READ-ONLY fd
 * gg-tamper uringwrite DEV   the same through io_uring's NVMe passthrough
 *                            (IORING_OP_URING_CMD) on a READ-ONLY fd of DEV's
 *                            generic char device (/dev/ngXnY for /dev/nvmeXnY)
 * gg-tamper blkclear DEV     those 4 KiB zeroed again (the test's own cleanup)
 * gg-tamper ctimeforge FILE SRC  FILE rewritten in place with SRC's bytes,
 *                            then its ctime set back to what it was: the
 *                            clock set to that ctime and the file chmodded
 *                            to its own mode, retried until the coarse clock
 *                            gives it exactly; the clock then put forward
 *                            again by what the monotonic clock measured
 * gg-tamper procmem          open /proc/self/mem read-write (what writing
 *                            this process's own code would take)
 * gg-tamper kcore            open /proc/kcore (kernel memory, the key map's
 *                            included) and read its first byte
 * gg-tamper iopl             iopl(3): every I/O port (PCI configuration
 *                            space, device DMA), dropped again at once
 * gg-tamper blkhas DEV       "yes" if DEV's last 4 KiB hold that marker (read
 *                            with O_DIRECT, past the page cache), else "no"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/fs.h>
#include <linux/input.h>
#include <linux/io_uring.h>
#include <linux/kd.h>
#include <linux/vt.h>
#include <linux/nvme_ioctl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "govgate_abi.h"

static int report(long ret)
{
	if (ret >= 0) {
		printf("ok\n");
		return 0;
	}
	printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : strerror(errno));
	return 1;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static long obj_get(const char *path, __u32 flags)
{
	union bpf_attr a = { .pathname = (uintptr_t)path, .file_flags = flags };

	return sys_bpf(BPF_OBJ_GET, &a);
}

static long set_enabled(const char *path, __u32 on)
{
	struct gg_settings s;
	__u32 zero = 0;
	union bpf_attr a = {};
	long fd = obj_get(path, 0);

	if (fd < 0)
		return fd;
	a.map_fd = fd;
	a.key = (uintptr_t)&zero;
	a.value = (uintptr_t)&s;
	if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &a))
		return -1;
	s.enabled = on;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

static long prog_load(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr a = {
		.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
		.expected_attach_type = BPF_CGROUP_INET4_CONNECT,
		.insns = (uintptr_t)insns,
		.insn_cnt = 2,
		.license = (uintptr_t) "GPL",
	};

	return sys_bpf(BPF_PROG_LOAD, &a);
}

static long link_detach(const char *path)
{
	union bpf_attr a = {};
	long fd = obj_get(path, 0);

	if (fd < 0)
		return fd;
	a.link_detach.link_fd = fd;
	return sys_bpf(BPF_LINK_DETACH, &a);
}

static long do_ptrace(pid_t pid)
{
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL))
		return -1;
	waitpid(pid, NULL, __WALL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return 0;
}

static long vm_write(pid_t pid)
{
	char byte = 0;
	struct iovec local = { &byte, 1 }, remote = { (void *)1, 1 };

	return process_vm_writev(pid, &local, 1, &remote, 1, 0);
}

static long mem_open(const char *pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%s/mem", pid);
	return open(path, O_RDWR | O_CLOEXEC);
}

static long get_fd(pid_t pid)
{
	long pfd = syscall(SYS_pidfd_open, pid, 0);

	if (pfd < 0)
		return pfd;
	return syscall(SYS_pidfd_getfd, pfd, 0, 0);
}

static long vm_poke(pid_t pid, const char *addr, const char *text)
{
	struct iovec local = { (void *)text, strlen(text) + 1 },
		     remote = { (void *)strtoul(addr, NULL, 0), strlen(text) + 1 };

	return process_vm_writev(pid, &local, 1, &remote, 1, 0);
}

static long send_text(long fd, const char *text)
{
	if (fd < 0)
		return fd;
	return send(fd, text, strlen(text), 0);
}

static long getfd_send(pid_t pid, int target_fd, const char *text)
{
	long pfd = syscall(SYS_pidfd_open, pid, 0);

	if (pfd < 0)
		return pfd;
	return send_text(syscall(SYS_pidfd_getfd, pfd, target_fd, 0), text);
}

static long recvfd(const char *path)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char ctl[CMSG_SPACE(sizeof(int))] = {}, byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	int s = socket(AF_UNIX, SOCK_STREAM, 0), fd;
	struct cmsghdr *c;

	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	if (s < 0 || connect(s, (struct sockaddr *)&un, sizeof(un)) || recvmsg(s, &m, 0) < 0)
		return -1;
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS) {
		/* the kernel drops an fd the receive hook refused (MSG_CTRUNC) */
		errno = (m.msg_flags & MSG_CTRUNC) ? EPERM : ENOENT;
		return -1;
	}
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

static long recvfd_send(const char *path, const char *text, const char *addr, const char *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	long fd = recvfd(path);

	if (fd < 0 || !addr)
		return send_text(fd, text);
	sin.sin_port = htons(atoi(port));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	return sendto(fd, text, strlen(text), 0, (struct sockaddr *)&sin, sizeof(sin));
}

static long send_pages(int fd, const char *text, const char *how)
{
	size_t len = strlen(text);
	int p[2], in;
	off_t off = 0;

	if (!strcmp(how, "sendfile")) {
		in = memfd_create("gg-pages", 0);
		if (in < 0 || write(in, text, len) != (ssize_t)len)
			return -1;
		return sendfile(fd, in, &off, len);
	}
	if (strcmp(how, "splice")) {
		errno = EINVAL;
		return -1;
	}
	if (pipe(p) || write(p[1], text, len) != (ssize_t)len)
		return -1;
	return splice(p[0], NULL, fd, NULL, len, 0);
}

static long recvfd_pages(const char *path, const char *text, const char *how)
{
	long fd = recvfd(path);

	return fd < 0 ? fd : send_pages(fd, text, how);
}

static long recvfd_lsrr(const char *path, const char *text, const char *via)
{
	/* NOP, then LSRR (type 131) of length 7, pointer 4, one address */
	unsigned char opt[8] = { 1, 131, 7, 4 };
	long fd = recvfd(path);
	struct in_addr a;

	if (fd < 0)
		return fd;
	if (inet_pton(AF_INET, via, &a) != 1) {
		errno = EINVAL;
		return -1;
	}
	memcpy(opt + 4, &a, 4);
	if (setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, sizeof(opt)))
		return -1;
	return send_text(fd, text);
}

static int tty_reader(const char *dir)
{
	char path[4096], line[256], *slave;
	int m = posix_openpt(O_RDWR | O_NOCTTY), s;
	pid_t child;
	FILE *f;

	if (m < 0 || grantpt(m) || unlockpt(m) || !(slave = ptsname(m)))
		return report(-1);
	child = fork();
	if (child == 0) {
		setsid();
		s = open(slave, O_RDWR); /* the first terminal a session leader opens */
		snprintf(path, sizeof(path), "%s/got", dir);
		f = fdopen(s, "r");
		while (f && fgets(line, sizeof(line), f)) {
			FILE *out = fopen(path, "a");

			if (out) {
				fputs(line, out);
				fclose(out);
			}
		}
		_exit(0);
	}
	snprintf(path, sizeof(path), "%s/ready", dir);
	f = fopen(path, "w");
	if (!f)
		return 2;
	fprintf(f, "%s\n", slave);
	fclose(f);
	snprintf(path, sizeof(path), "%s/stop", dir);
	fcntl(m, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 600 && access(path, F_OK); i++) {
		while (read(m, line, sizeof(line)) > 0) /* the echo */
			;
		usleep(100000);
	}
	kill(child, SIGKILL);
	return 0;
}

static long ev_type(const char *dev)
{
	struct input_event ev[4] = {
		{ .type = EV_KEY, .code = KEY_A, .value = 1 },
		{ .type = EV_SYN, .code = SYN_REPORT },
		{ .type = EV_KEY, .code = KEY_A, .value = 0 },
		{ .type = EV_SYN, .code = SYN_REPORT },
	};
	int fd = open(dev, O_WRONLY);

	if (fd < 0)
		return -1;
	return write(fd, ev, sizeof(ev));
}

static int ev_read(const char *dev, const char *dir)
{
	char path[4096];
	struct input_event ev;
	int fd = open(dev, O_RDONLY | O_NONBLOCK);
	FILE *f;

	if (fd < 0)
		return report(-1);
	snprintf(path, sizeof(path), "%s/ready", dir);
	f = fopen(path, "w");
	if (!f)
		return 2;
	fclose(f);
	for (int i = 0; i < 600; i++) {
		snprintf(path, sizeof(path), "%s/stop", dir);
		if (!access(path, F_OK))
			break;
		while (read(fd, &ev, sizeof(ev)) == sizeof(ev)) {
			if (ev.type != EV_KEY || ev.value != 1)
				continue;
			snprintf(path, sizeof(path), "%s/got", dir);
			f = fopen(path, "a");
			if (f) {
				fprintf(f, "key %u\n", ev.code);
				fclose(f);
			}
		}
		usleep(100000);
	}
	return 0;
}

static int pipe_reader(const char *dir)
{
	char path[4096], buf[256];
	int p[2];
	FILE *f;
	ssize_t n;

	if (pipe2(p, O_NONBLOCK))
		return report(-1);
	snprintf(path, sizeof(path), "%s/ready", dir);
	f = fopen(path, "w");
	if (!f)
		return 2;
	fprintf(f, "%d %d\n", getpid(), p[0]);
	fclose(f);
	for (int i = 0; i < 600; i++) {
		snprintf(path, sizeof(path), "%s/stop", dir);
		if (!access(path, F_OK))
			break;
		while ((n = read(p[0], buf, sizeof(buf))) > 0) {
			snprintf(path, sizeof(path), "%s/got", dir);
			f = fopen(path, "a");
			if (f) {
				fwrite(buf, 1, n, f);
				fclose(f);
			}
		}
		usleep(100000);
	}
	return 0;
}

static long proc_write(const char *pid, const char *fd, const char *text)
{
	char path[64], line[256];
	int w;

	snprintf(path, sizeof(path), "/proc/%s/fd/%s", pid, fd);
	snprintf(line, sizeof(line), "%s\n", text);
	w = open(path, O_WRONLY | O_NONBLOCK);
	if (w < 0)
		return -1;
	return write(w, line, strlen(line));
}

static long tty_ioctl(const char *tty, unsigned long cmd, int arg)
{
	int fd = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK);

	return fd < 0 ? fd : ioctl(fd, cmd, &arg);
}

/* String 100 of the console's function keys: no key of a default keymap
 * sends it, so the tests rewrite it without touching the console's keys. */
#define GG_TEST_KB_FUNC 100

static long kb_sent(const char *tty, const char *text)
{
	struct kbsentry e = { .kb_func = GG_TEST_KB_FUNC };
	int fd = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK);

	snprintf((char *)e.kb_string, sizeof(e.kb_string), "%s", text);
	return fd < 0 ? fd : ioctl(fd, KDSKBSENT, &e);
}

static int kb_gsent(const char *tty)
{
	struct kbsentry e = { .kb_func = GG_TEST_KB_FUNC };
	int fd = open(tty, O_RDONLY | O_NOCTTY | O_NONBLOCK);

	if (fd < 0 || ioctl(fd, KDGKBSENT, &e))
		return report(-1);
	printf("%s\n", (char *)e.kb_string);
	return 0;
}

static long fs_mount(void)
{
	long fs = syscall(SYS_fsopen, "tmpfs", 0), ret;

	if (fs < 0)
		return fs;
	ret = syscall(SYS_fsconfig, fs, 6 /* FSCONFIG_CMD_CREATE */, NULL, NULL, 0);
	if (!ret) {
		ret = syscall(SYS_fsmount, fs, 0, 0);
		if (ret >= 0)
			close(ret), ret = 0;
	}
	close(fs);
	return ret;
}

static long fs_pick(const char *dir)
{
	long fs = syscall(SYS_fspick, AT_FDCWD, dir, 0), ret;

	if (fs < 0)
		return fs;
	ret = syscall(SYS_fsconfig, fs, 7 /* FSCONFIG_CMD_RECONFIGURE */, NULL, NULL, 0);
	close(fs);
	return ret;
}

static long lock_file(const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? fd : flock(fd, LOCK_SH | LOCK_NB);
}

static long set_time(long back)
{
	struct timespec now;
	long ret;

	if (clock_gettime(CLOCK_REALTIME, &now))
		return -1;
	now.tv_sec -= back;
	ret = clock_settime(CLOCK_REALTIME, &now);
	if (!ret && back) {
		int saved = errno;

		clock_gettime(CLOCK_REALTIME, &now);
		now.tv_sec += back;
		clock_settime(CLOCK_REALTIME, &now);
		errno = saved;
	}
	return ret;
}

static long vt_activate(const char *tty, int vt)
{
	int fd = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK);

	return fd < 0 ? fd : ioctl(fd, VT_ACTIVATE, vt);
}

static long pidfd_ns(pid_t pid)
{
	long pfd = syscall(SYS_pidfd_open, pid, 0);

	return pfd < 0 ? pfd : ioctl(pfd, _IO(0xFF, 4) /* PIDFD_GET_NET_NAMESPACE */, 0);
}

static long setns_pidfd(pid_t pid)
{
	long pfd = syscall(SYS_pidfd_open, pid, 0);

	return pfd < 0 ? pfd : syscall(SYS_setns, pfd, CLONE_NEWNET);
}

static long dev_open(const char *dev)
{
	return open(dev, (strstr(dev, "uhid") ? O_RDWR : O_RDONLY) | O_NOCTTY);
}

static long tioclinux(const char *tty)
{
	int fd = open(tty, O_RDWR | O_NOCTTY);
	char sub = 3; /* TIOCL_PASTESEL */

	return fd < 0 ? -1 : ioctl(fd, TIOCLINUX, &sub);
}

static long tiocsti(const char *tty, const char *text)
{
	int fd = open(tty, O_RDWR | O_NOCTTY);
	char nl = '\n';

	if (fd < 0)
		return -1;
	for (const char *c = text; *c; c++)
		if (ioctl(fd, TIOCSTI, c))
			return -1;
	return ioctl(fd, TIOCSTI, &nl);
}

static long cg_move(const char *dir)
{
	char path[4096], pid[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	return write(fd, pid, n) == n ? 0 : -1;
}

static long clone_into(const char *dir)
{
	struct clone_args ca = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD };
	long child;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	ca.cgroup = fd;
	child = syscall(SYS_clone3, &ca, sizeof(ca));
	if (child == 0)
		_exit(0);
	if (child > 0)
		waitpid(child, NULL, 0);
	return child;
}

/* What a consumer does after reading, without reading: the records
 * between the two positions are never seen. */
static long ring_skip(const char *path)
{
	long page = sysconf(_SC_PAGESIZE), fd = obj_get(path, 0);
	unsigned long *cons, *prod;

	if (fd < 0)
		return fd;
	cons = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (cons == MAP_FAILED)
		return -1;
	prod = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, page);
	if (prod == MAP_FAILED)
		return -1;
	printf("ok %lu\n", __atomic_load_n(prod, __ATOMIC_ACQUIRE) - *cons);
	__atomic_store_n(cons, __atomic_load_n(prod, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
	return 0;
}

/* A writable shared mapping of a fresh BPF_F_MMAPABLE array. */
static long mmap_new(void)
{
	long page = sysconf(_SC_PAGESIZE), fd;
	union bpf_attr a = {};
	void *mem;

	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 16;
	a.map_flags = BPF_F_MMAPABLE;
	strcpy(a.map_name, "gg_tamper_arr");
	fd = sys_bpf(BPF_MAP_CREATE, &a);
	if (fd < 0)
		return fd;
	mem = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return -1;
	*(volatile char *)mem = 1;
	return 0;
}

/* The map's first entry (key, value) into buffers of its sizes. */
static long first_entry(int fd, char *key, char *val, __u32 *key_size, __u32 *val_size)
{
	struct bpf_map_info info = {};
	union bpf_attr a = {};

	a.info.bpf_fd = fd;
	a.info.info_len = sizeof(info);
	a.info.info = (uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a))
		return -1;
	if (info.key_size > 256 || info.value_size > 65536) {
		errno = E2BIG;
		return -1;
	}
	*key_size = info.key_size;
	*val_size = info.value_size;
	memset(&a, 0, sizeof(a));
	a.map_fd = fd;
	a.next_key = (uintptr_t)key;
	if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &a))
		return -1;
	a.value = (uintptr_t)val;
	a.key = (uintptr_t)key;
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a);
}

/* A write that changes nothing if it is let through (update, batch), or
 * one that does (delete, freeze): the verdict is the point. */
static long map_op(const char *op, int fd)
{
	static char key[256], val[65536];
	__u32 ks, vs, count = 1;
	union bpf_attr a = {};

	if (fd < 0)
		return fd;
	if (!strcmp(op, "freeze")) {
		a.map_fd = fd;
		return sys_bpf(BPF_MAP_FREEZE, &a);
	}
	if (first_entry(fd, key, val, &ks, &vs))
		return -1;
	a.map_fd = fd;
	a.key = (uintptr_t)key;
	a.value = (uintptr_t)val;
	if (!strcmp(op, "update"))
		return sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
	if (!strcmp(op, "delete"))
		return sys_bpf(BPF_MAP_DELETE_ELEM, &a);
	memset(&a, 0, sizeof(a));
	a.batch.map_fd = fd;
	a.batch.keys = (uintptr_t)key;
	a.batch.values = (uintptr_t)val;
	a.batch.count = count;
	return sys_bpf(BPF_MAP_UPDATE_BATCH, &a);
}

static long test_run(const char *path)
{
	char pkt[64] = {};
	union bpf_attr a = { .pathname = (uintptr_t)path };
	long fd = sys_bpf(BPF_OBJ_GET, &a);

	if (fd < 0)
		return fd;
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = fd;
	a.test.data_in = (uintptr_t)pkt;
	a.test.data_size_in = sizeof(pkt);
	return sys_bpf(BPF_PROG_TEST_RUN, &a);
}

/* What bpftool map show does: walk the ids, open each by id; with rw, the
 * one named NAME is then opened again read-write (what an update needs). */
static long map_by_id(const char *name, bool rw)
{
	__u32 id = 0;

	for (;;) {
		union bpf_attr a = { .start_id = id };
		struct bpf_map_info info = {};
		long fd;

		if (sys_bpf(BPF_MAP_GET_NEXT_ID, &a))
			break;
		id = a.next_id;
		memset(&a, 0, sizeof(a));
		a.map_id = id;
		a.open_flags = BPF_F_RDONLY;
		fd = sys_bpf(BPF_MAP_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue;
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = fd;
		a.info.info_len = sizeof(info);
		a.info.info = (uintptr_t)&info;
		if (!sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) && !strcmp(info.name, name)) {
			if (!rw)
				return 0;
			memset(&a, 0, sizeof(a));
			a.map_id = id;
			fd = sys_bpf(BPF_MAP_GET_FD_BY_ID, &a);
			return fd < 0 ? -1 : map_op("update", fd);
		}
		close(fd);
	}
	errno = ENOENT;
	return -1;
}

static long set_exe(const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	long ret;

	if (fd < 0)
		return -1;
	ret = prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, fd, 0, 0);
	close(fd);
	return ret;
}

static long set_arg(char **argv)
{
	return prctl(PR_SET_MM, PR_SET_MM_ARG_START, (unsigned long)argv[0], 0, 0);
}

/* The disk: DEV's last 4 KiB, filled with a marker. */
#define BLK_MARK "gg-tamper was here"
#define BLK_SPAN 4096

static void *blk_marker(void)
{
	void *buf = NULL;

	if (posix_memalign(&buf, BLK_SPAN, BLK_SPAN))
		return NULL;
	memset(buf, 0, BLK_SPAN);
	for (size_t i = 0; i + sizeof(BLK_MARK) <= BLK_SPAN; i += sizeof(BLK_MARK))
		memcpy((char *)buf + i, BLK_MARK, sizeof(BLK_MARK));
	return buf;
}

static long long blk_last(const char *dev)
{
	unsigned long long size = 0;
	int fd = open(dev, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ioctl(fd, BLKGETSIZE64, &size) || size < BLK_SPAN)
		size = 0;
	close(fd);
	return size ? (long long)(size - BLK_SPAN) : -1;
}

static long blk_write(const char *dev, bool clear)
{
	long long off = blk_last(dev);
	void *buf = blk_marker();
	long ret = -1;
	int fd;

	if (off < 0 || !buf)
		return -1;
	if (clear)
		memset(buf, 0, BLK_SPAN);
	fd = open(dev, O_WRONLY | O_SYNC | O_CLOEXEC);
	if (fd >= 0) {
		ret = pwrite(fd, buf, BLK_SPAN, off) == BLK_SPAN ? 0 : -1;
		close(fd);
	}
	free(buf);
	return ret;
}

static long nvme_write(const char *dev)
{
	long long off = blk_last(dev);
	void *buf = blk_marker();
	struct nvme_user_io io = {};
	long ret = -1;
	int fd, lba = 0;

	if (off < 0 || !buf)
		return -1;
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !ioctl(fd, BLKSSZGET, &lba) && lba > 0) {
		io.opcode = 0x01; /* write */
		io.nblocks = BLK_SPAN / lba - 1;
		io.addr = (uintptr_t)buf;
		io.slba = off / lba;
		ret = ioctl(fd, NVME_IOCTL_SUBMIT_IO, &io);
		if (ret > 0) { /* an NVMe status: not written */
			errno = EIO;
			ret = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/* One io_uring (SQE128, CQE32: what NVMe's passthrough needs) submitting
 * sqe0 and waiting for its completion: its result, or -1 and errno. */
static long uring_one(const struct io_uring_sqe *sqe0)
{
	struct io_uring_params p = { .flags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32 };
	size_t sq_len, cq_len, sqes_len;
	char *sq = MAP_FAILED, *cq = MAP_FAILED;
	struct io_uring_sqe *sqes = MAP_FAILED;
	struct io_uring_cqe *cqe;
	unsigned int *tail, head;
	long ret = -1;
	int ring;

	ring = syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0)
		return -1;
	sq_len = p.sq_off.array + p.sq_entries * sizeof(__u32);
	cq_len = p.cq_off.cqes + p.cq_entries * 2 * sizeof(struct io_uring_cqe);
	sqes_len = p.sq_entries * 2 * sizeof(struct io_uring_sqe);
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_SQ_RING);
	cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		goto out;
	memcpy(sqes, sqe0, 2 * sizeof(*sqes));
	tail = (unsigned int *)(sq + p.sq_off.tail);
	((unsigned int *)(sq + p.sq_off.array))[*tail & *(unsigned int *)(sq + p.sq_off.ring_mask)] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		goto out;
	head = *(unsigned int *)(cq + p.cq_off.head);
	if (__atomic_load_n((unsigned int *)(cq + p.cq_off.tail), __ATOMIC_ACQUIRE) == head) {
		errno = EIO;
		goto out;
	}
	cqe = (struct io_uring_cqe *)(cq + p.cq_off.cqes) +
	      2 * (head & *(unsigned int *)(cq + p.cq_off.ring_mask));
	ret = cqe->res;
	if (ret < 0) {
		errno = -ret;
		ret = -1;
	}
out:
	if (sqes != MAP_FAILED)
		munmap(sqes, sqes_len);
	if (cq != MAP_FAILED)
		munmap(cq, cq_len);
	if (sq != MAP_FAILED)
		munmap(sq, sq_len);
	close(ring);
	return ret;
}

static long uring_write(const char *dev)
{
	struct io_uring_sqe sqe[2] = {};
	struct nvme_uring_cmd *cmd = (struct nvme_uring_cmd *)sqe[0].cmd;
	long long off = blk_last(dev);
	void *buf = blk_marker();
	int fd = -1, lba = 0;
	char ng[64];
	long ret = -1;

	if (off < 0 || !buf || strncmp(dev, "/dev/nvme", 9))
		goto out;
	snprintf(ng, sizeof(ng), "/dev/ng%s", dev + 9);
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKSSZGET, &lba) || lba <= 0)
		goto out;
	close(fd);
	/* namespace 1, QEMU's only one: NVME_IOCTL_ID is a passthrough-range
	 * ioctl, which the guard refuses before any uring_cmd is made */
	fd = open(ng, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	sqe[0].opcode = IORING_OP_URING_CMD;
	sqe[0].fd = fd;
	sqe[0].cmd_op = NVME_URING_CMD_IO;
	cmd->opcode = 0x01; /* write */
	cmd->nsid = 1;
	cmd->addr = (uintptr_t)buf;
	cmd->data_len = BLK_SPAN;
	cmd->cdw10 = (__u32)(off / lba);
	cmd->cdw11 = (__u32)((unsigned long long)(off / lba) >> 32);
	cmd->cdw12 = BLK_SPAN / lba - 1;
	ret = uring_one(sqe);
	if (ret > 0) { /* an NVMe status: not written */
		errno = EIO;
		ret = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static bool ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* All of src's bytes into fd (a program: cut short, it would not run). */
static int copy_all(int fd, const char *src)
{
	int sfd = open(src, O_RDONLY | O_CLOEXEC), ret = 0;
	char buf[65536];
	ssize_t n;

	if (sfd < 0)
		return -1;
	while (!ret && (n = read(sfd, buf, sizeof(buf))) > 0)
		ret = write(fd, buf, n) == n ? 0 : -1;
	close(sfd);
	return n < 0 ? -1 : ret;
}

static long ctime_forge(const char *file, const char *src)
{
	struct timespec r0, m0, m1, back;
	struct stat before, now;
	long ret = -1;
	int fd;

	if (stat(file, &before) || clock_gettime(CLOCK_REALTIME, &r0) ||
	    clock_gettime(CLOCK_MONOTONIC, &m0))
		return -1;
	fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || copy_all(fd, src)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (int i = 0; i < 200 && ret; i++)
		if (!clock_settime(CLOCK_REALTIME, &before.st_ctim) &&
		    !fchmod(fd, before.st_mode & 07777) && !fstat(fd, &now) &&
		    ts_eq(&now.st_ctim, &before.st_ctim))
			ret = 0;
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &m1);
	back.tv_sec = r0.tv_sec + (m1.tv_sec - m0.tv_sec);
	back.tv_nsec = r0.tv_nsec + (m1.tv_nsec - m0.tv_nsec);
	if (back.tv_nsec < 0) {
		back.tv_nsec += 1000000000;
		back.tv_sec--;
	} else if (back.tv_nsec >= 1000000000) {
		back.tv_nsec -= 1000000000;
		back.tv_sec++;
	}
	clock_settime(CLOCK_REALTIME, &back);
	if (ret)
		errno = EAGAIN;
	return ret;
}

static long proc_mem(void)
{
	int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static long kcore_read(void)
{
	int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
	long ret = -1;
	char c;

	if (fd >= 0) {
		ret = read(fd, &c, 1) == 1 ? 0 : -1;
		close(fd);
	}
	return ret;
}

static long io_priv(void)
{
	long ret = syscall(SYS_iopl, 3);

	if (!ret)
		syscall(SYS_iopl, 0);
	return ret;
}

static int blk_has(const char *dev)
{
	long long off = blk_last(dev);
	void *want = blk_marker(), *got = NULL;
	int fd = -1, has = 0;

	if (off >= 0 && want && !posix_memalign(&got, BLK_SPAN, BLK_SPAN) &&
	    (fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC)) >= 0 &&
	    pread(fd, got, BLK_SPAN, off) == BLK_SPAN)
		has = !memcmp(want, got, BLK_SPAN);
	if (fd >= 0)
		close(fd);
	free(want);
	free(got);
	printf("%s\n", has ? "yes" : "no");
	return 0;
}

static int send_request(const char *sock, const char *file)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[65536], *p;
	ssize_t n, len = 0;
	int fd, in;

	in = open(file, O_RDONLY | O_CLOEXEC);
	n = in < 0 ? -1 : read(in, buf, sizeof(buf));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (n < 0 || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(fd, buf, n) != n)
		return report(-1);
	shutdown(fd, SHUT_WR);
	while (len < (ssize_t)sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	if (strstr(buf, "\"ok\": true") || strstr(buf, "\"ok\":true")) {
		printf("ok\n");
		return 0;
	}
	p = strstr(buf, "\"refused\":");
	if (p) {
		p = strchr(p + 10, '"');
		if (p) {
			p++;
			printf("%.*s\n", (int)strcspn(p, "\""), p);
			return 1;
		}
	}
	printf("failed: %s\n", buf);
	return 1;
}

static long flood(const char *sock, int n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fds[512];
	char buf[512];

	if (n < 1 || n > 512) {
		errno = EINVAL;
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) ||
		    write(fds[i], "x", 1) != 1)
			return -1;
		shutdown(fds[i], SHUT_WR);
	}
	for (int i = 0; i < n; i++) {
		while (read(fds[i], buf, sizeof(buf)) > 0)
			;
		close(fds[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *v = argc > 1 ? argv[1] : "";
	pid_t pid = argc > 2 ? atoi(argv[2]) : 0;

	if (!strcmp(v, "mapw") && argc == 3)
		return report(obj_get(argv[2], 0));
	if (!strcmp(v, "mapop") && argc == 4)
		return report(map_op(argv[2], obj_get(argv[3], 0)));
	if (!strcmp(v, "testrun") && argc == 3)
		return report(test_run(argv[2]));
	if (!strcmp(v, "mapr") && argc == 3)
		return report(obj_get(argv[2], BPF_F_RDONLY));
	if (!strcmp(v, "enabled") && argc == 4)
		return report(set_enabled(argv[2], atoi(argv[3])));
	if (!strcmp(v, "progload") && argc == 2)
		return report(prog_load());
	if (!strcmp(v, "linkdetach") && argc == 3)
		return report(link_detach(argv[2]));
	if (!strcmp(v, "ptrace") && argc == 3)
		return report(do_ptrace(pid));
	if (!strcmp(v, "traceme") && argc == 2)
		return report(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	if (!strcmp(v, "vmwrite") && argc == 3)
		return report(vm_write(pid));
	if (!strcmp(v, "mem") && argc == 3)
		return report(mem_open(argv[2]));
	if (!strcmp(v, "getfd") && argc == 3)
		return report(get_fd(pid));
	if (!strcmp(v, "vmpoke") && argc == 5)
		return report(vm_poke(pid, argv[3], argv[4]));
	if (!strcmp(v, "getfd-send") && argc == 5)
		return report(getfd_send(pid, atoi(argv[3]), argv[4]));
	if (!strcmp(v, "recvfd-send") && (argc == 4 || argc == 6))
		return report(recvfd_send(argv[2], argv[3], argc == 6 ? argv[4] : NULL,
					  argc == 6 ? argv[5] : NULL));
	if (!strcmp(v, "recvfd-pages") && argc == 5)
		return report(recvfd_pages(argv[2], argv[3], argv[4]));
	if (!strcmp(v, "recvfd-lsrr") && argc == 5)
		return report(recvfd_lsrr(argv[2], argv[3], argv[4]));
	if (!strcmp(v, "ttyreader") && argc == 3)
		return tty_reader(argv[2]);
	if (!strcmp(v, "evtype") && argc == 3)
		return report(ev_type(argv[2]));
	if (!strcmp(v, "evread") && argc == 4)
		return ev_read(argv[2], argv[3]);
	if (!strcmp(v, "pipereader") && argc == 3)
		return pipe_reader(argv[2]);
	if (!strcmp(v, "procwrite") && argc == 5)
		return report(proc_write(argv[2], argv[3], argv[4]));
	if (!strcmp(v, "tiocm") && argc == 3)
		return report(tty_ioctl(argv[2], TIOCMBIS, TIOCM_RTS));
	if (!strcmp(v, "tiocsetd") && argc == 3)
		return report(tty_ioctl(argv[2], TIOCSETD, N_TTY));
	if (!strcmp(v, "fsmount") && argc == 2)
		return report(fs_mount());
	if (!strcmp(v, "fspick") && argc == 3)
		return report(fs_pick(argv[2]));
	if (!strcmp(v, "flock") && argc == 3)
		return report(lock_file(argv[2]));
	if (!strcmp(v, "settime") && argc == 3)
		return report(set_time(atol(argv[2])));
	if (!strcmp(v, "kbsent") && argc == 4)
		return report(kb_sent(argv[2], argv[3]));
	if (!strcmp(v, "kbgsent") && argc == 3)
		return kb_gsent(argv[2]);
	if (!strcmp(v, "vtactivate") && argc == 4)
		return report(vt_activate(argv[2], atoi(argv[3])));
	if (!strcmp(v, "pidfd-ns") && argc == 3)
		return report(pidfd_ns(pid));
	if (!strcmp(v, "setns-pidfd") && argc == 3)
		return report(setns_pidfd(pid));
	if (!strcmp(v, "devopen") && argc == 3)
		return report(dev_open(argv[2]));
	if (!strcmp(v, "tioclinux") && argc == 3)
		return report(tioclinux(argv[2]));
	if (!strcmp(v, "tiocsti") && argc == 4)
		return report(tiocsti(argv[2], argv[3]));
	if (!strcmp(v, "kill") && argc == 4)
		return report(kill(pid, atoi(argv[3])));
	if (!strcmp(v, "cgmove") && argc == 3)
		return report(cg_move(argv[2]));
	if (!strcmp(v, "clone-into") && argc == 3)
		return report(clone_into(argv[2]));
	if (!strcmp(v, "mapbyid") && (argc == 3 || (argc == 4 && !strcmp(argv[3], "rw"))))
		return report(map_by_id(argv[2], argc == 4));
	if (!strcmp(v, "mmapnew") && argc == 2)
		return report(mmap_new());
	if (!strcmp(v, "ringskip") && argc == 3)
		return ring_skip(argv[2]) ? report(-1) : 0;
	if (!strcmp(v, "flood") && argc == 4)
		return report(flood(argv[2], atoi(argv[3])));
	if (!strcmp(v, "send") && argc == 4)
		return send_request(argv[2], argv[3]);
	if (!strcmp(v, "setarg") && argc == 2)
		return report(set_arg(argv));
	if (!strcmp(v, "setexe") && argc == 3)
		return report(set_exe(argv[2]));
	if (!strcmp(v, "blkwrite") && argc == 3)
		return report(blk_write(argv[2], false));
	if (!strcmp(v, "blkclear") && argc == 3)
		return report(blk_write(argv[2], true));
	if (!strcmp(v, "nvmewrite") && argc == 3)
		return report(nvme_write(argv[2]));
	if (!strcmp(v, "uringwrite") && argc == 3)
		return report(uring_write(argv[2]));
	if (!strcmp(v, "ctimeforge") && argc == 4)
		return report(ctime_forge(argv[2], argv[3]));
	if (!strcmp(v, "procmem") && argc == 2)
		return report(proc_mem());
	if (!strcmp(v, "kcore") && argc == 2)
		return report(kcore_read());
	if (!strcmp(v, "iopl") && argc == 2)
		return report(io_priv());
	if (!strcmp(v, "blkhas") && argc == 3)
		return blk_has(argv[2]);
	fprintf(stderr, "usage: gg-tamper mapw|mapr|linkdetach|testrun PIN | enabled PIN 0|1 |\n"
			"       mapop update|delete|batch|freeze PIN | progload |\n"
			"       ptrace|vmwrite|mem|getfd PID | traceme | kill PID SIG |\n"
			"       cgmove|clone-into DIR |\n"
			"       vmpoke PID ADDR TEXT | getfd-send PID FD TEXT |\n"
			"       recvfd-send SOCK TEXT [ADDR PORT] | recvfd-lsrr SOCK TEXT VIA |\n"
			"       recvfd-pages SOCK TEXT splice|sendfile |\n"
			"       ttyreader DIR | tiocsti TTY TEXT | tioclinux TTY |\n"
			"       evtype DEV | evread DEV DIR | devopen DEV |\n"
			"       pipereader DIR | procwrite PID FD TEXT |\n"
			"       tiocm TTY | tiocsetd TTY | kbsent TTY TEXT | kbgsent TTY |\n"
			"       vtactivate TTY N | settime SECONDS | fsmount | fspick DIR |\n"
			"       flock FILE |\n"
			"       pidfd-ns PID | setns-pidfd PID |\n"
			"       ringskip PIN | mmapnew | mapbyid NAME [rw] | send SOCK FILE |\n"
			"       flood SOCK N | setexe FILE | setarg |\n"
			"       blkwrite|nvmewrite|uringwrite|blkclear|blkhas DEV | kcore | iopl |\n"
			"       ctimeforge FILE SRC | procmem\n");
	return 3;
}
