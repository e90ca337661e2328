// SPDX-License-Identifier: GPL-2.0
/* finit_module(FILE) and init_module(FILE's bytes): prints ok / EPERM /
 * errno name for each. Exit 0 if both were denied with EPERM. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *res(long rc)
{
	if (rc == 0)
		return "ok";
	return strerrorname_np(errno) ? strerrorname_np(errno) : "error";
}

int main(int argc, char **argv)
{
	struct stat st;
	long a, b;
	char *buf;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: gg-modload MODULE.ko\n");
		return 3;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[1]);
		return 3;
	}
	a = syscall(SYS_finit_module, fd, "", 0);
	printf("finit_module: %s\n", res(a));
	int ea = errno;
	buf = malloc(st.st_size);
	if (!buf || pread(fd, buf, st.st_size, 0) != st.st_size)
		return 3;
	b = syscall(SYS_init_module, buf, (unsigned long)st.st_size, "");
	printf("init_module: %s\n", res(b));
	return (a && ea == EPERM && b && errno == EPERM) ? 0 : 1;
}
