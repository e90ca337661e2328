// SPDX-License-Identifier: GPL-2.0
/*
 * gg-kexec load          kexec_load() with no segments (an unload: it
 *                        passes the security hook, then loads nothing)
 * gg-kexec file IMAGE    kexec_file_load() of IMAGE, no initramfs; when the
 *                        kernel accepts it, it is unloaded again at once
 *
 * Prints "ok" or the errno name (EPERM for a denial). Never reboots.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kexec.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int report(long ret)
{
	if (!ret) {
		printf("ok\n");
		return 0;
	}
	printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	long ret;
	int fd;

	if (argc == 2 && !strcmp(argv[1], "load"))
		return report(syscall(SYS_kexec_load, 0UL, 0UL, NULL, KEXEC_ARCH_DEFAULT));
	if (argc != 3 || strcmp(argv[1], "file")) {
		fprintf(stderr, "usage: gg-kexec load | gg-kexec file IMAGE\n");
		return 3;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[2]);
		return 3;
	}
	ret = syscall(SYS_kexec_file_load, fd, -1, 1UL, "", KEXEC_FILE_NO_INITRAMFS);
	report(ret);
	if (!ret) /* loaded: never leave it behind for a reboot */
		syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL, KEXEC_FILE_UNLOAD);
	return ret ? 1 : 0;
}
