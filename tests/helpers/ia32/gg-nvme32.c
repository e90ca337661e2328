// SPDX-License-Identifier: GPL-2.0
/*
 * gg-nvme32 DEV: gg-tamper's nvmewrite from a 32-bit task, whose ioctl
 * reaches the kernel through compat_sys_ioctl (the LSM's file_ioctl_compat
 * hook, not file_ioctl). The same marker (gg-tamper blkhas reads it) goes
 * to DEV's last 4 KiB by NVMe passthrough on a READ-ONLY fd. Prints "ok"
 * or the errno ("EPERM" for a refusal, else "E<n>").
 *
 * Freestanding (int $0x80, no libc): Debian's 32-bit libc is not installed
 * here, and the kernel's UAPI headers are all this needs.
 */
#include <stddef.h> /* size_t, for BLKGETSIZE64: 4 bytes here (BLKGETSIZE64_32) */
#include <linux/fs.h>
#include <linux/nvme_ioctl.h>

#define NR_exit 1
#define NR_write 4
#define NR_open 5
#define NR_ioctl 54
#define SPAN 4096
#define MARK "gg-tamper was here"

static long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static unsigned char buf[SPAN] __attribute__((aligned(SPAN)));

static unsigned long slen(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	return n;
}

static void say(long err)
{
	char out[16] = "E", *p = out + 15;
	unsigned long n = err;

	if (!err) {
		sys3(NR_write, 1, (long)"ok\n", 3);
		return;
	}
	if (err == 1) {
		sys3(NR_write, 1, (long)"EPERM\n", 6);
		return;
	}
	*p = '\n';
	do
		*--p = '0' + n % 10;
	while ((n /= 10) && p > out + 1);
	*--p = 'E';
	sys3(NR_write, 1, (long)p, out + 16 - p);
}

/* NVME_IOCTL_IO_CMD (struct nvme_passthru_cmd: one layout for both ABIs)
 * to namespace 1, QEMU's only one */
static long nvme_write(const char *dev)
{
	struct nvme_passthru_cmd cmd = {};
	unsigned long long size = 0, slba;
	int lba = 0;
	long fd, ret;

	for (unsigned long i = 0; i + sizeof(MARK) <= SPAN; i += sizeof(MARK))
		for (unsigned long k = 0; k < sizeof(MARK); k++)
			buf[i + k] = MARK[k];
	fd = sys3(NR_open, (long)dev, 0 /* O_RDONLY */, 0);
	if (fd < 0)
		return -fd;
	ret = sys3(NR_ioctl, fd, BLKGETSIZE64, (long)&size);
	if (!ret)
		ret = sys3(NR_ioctl, fd, BLKSSZGET, (long)&lba);
	if (ret)
		return 1000 - ret; /* a size ioctl failed: 1000 + errno */
	if (size < SPAN || lba <= 0 || (lba & (lba - 1)))
		return 5; /* EIO */
	slba = (size - SPAN) >> __builtin_ctz(lba); /* no 64-bit division here */
	cmd.opcode = 0x01; /* write */
	cmd.nsid = 1;
	cmd.addr = (unsigned long)buf;
	cmd.data_len = SPAN;
	cmd.cdw10 = (unsigned int)slba;
	cmd.cdw11 = (unsigned int)(slba >> 32);
	cmd.cdw12 = SPAN / lba - 1;
	ret = sys3(NR_ioctl, fd, NVME_IOCTL_IO_CMD, (long)&cmd);
	return ret < 0 ? -ret : ret > 0 ? 5 /* an NVMe status: not written */ : 0;
}

void __attribute__((used, noreturn)) gg_main(long argc, char **argv)
{
	long err = 22; /* EINVAL: usage */

	if (argc == 2 && slen(argv[1]))
		err = nvme_write(argv[1]);
	else
		sys3(NR_write, 2, (long)"usage: gg-nvme32 DEV\n", 21);
	say(err);
	sys3(NR_exit, err ? 1 : 0, 0, 0);
	__builtin_unreachable();
}

/* The kernel's initial stack: argc, then argv's pointers. */
__asm__(".globl _start\n"
	"_start:\n"
	"	movl %esp, %eax\n"
	"	andl $-16, %esp\n"
	"	subl $8, %esp\n"
	"	leal 4(%eax), %ecx\n"
	"	pushl %ecx\n"
	"	pushl (%eax)\n"
	"	call gg_main\n");
