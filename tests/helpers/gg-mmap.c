// SPDX-License-Identifier: GPL-2.0
/*
 * gg-mmap mmap|mprotect FILE: maps FILE executable, as a loader or dlopen
 * would, without executing it: "mmap" asks for PROT_EXEC at once,
 * "mprotect" maps it readable and then makes it executable. Prints "ok"
 * or the errno name (EPERM for a denial); exit 0 on ok.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *err_name(int e)
{
	return strerrorname_np(e) ? strerrorname_np(e) : strerror(e);
}

int main(int argc, char **argv)
{
	int fd, prot = PROT_READ;
	void *p;

	if (argc != 3 || (strcmp(argv[1], "mmap") && strcmp(argv[1], "mprotect"))) {
		fprintf(stderr, "usage: gg-mmap mmap|mprotect FILE\n");
		return 3;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("open: %s\n", err_name(errno));
		return 2;
	}
	if (!strcmp(argv[1], "mmap"))
		prot |= PROT_EXEC;
	p = mmap(NULL, 4096, prot, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		printf("%s\n", err_name(errno));
		return 1;
	}
	if (!(prot & PROT_EXEC) && mprotect(p, 4096, PROT_READ | PROT_EXEC)) {
		printf("%s\n", err_name(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}
