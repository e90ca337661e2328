// SPDX-License-Identifier: GPL-2.0
/*
 * gg-memfd FILE [ARG...]: copy FILE into a memfd and fexecve it (argv[0] =
 * FILE), as an in-memory dropper would. If the kernel refuses, print the
 * errno name (EPERM for a denial) and exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	char buf[65536];
	ssize_t n;
	int in, mfd;

	if (argc < 2) {
		fprintf(stderr, "usage: gg-memfd FILE [ARG...]\n");
		return 3;
	}
	in = open(argv[1], O_RDONLY | O_CLOEXEC);
	mfd = memfd_create("x", MFD_CLOEXEC);
	if (in < 0 || mfd < 0) {
		perror("gg-memfd: open");
		return 3;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(mfd, buf, n) != n) {
			perror("gg-memfd: write");
			return 3;
		}
	close(in);
	fexecve(mfd, argv + 1, environ);
	printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : strerror(errno));
	return 1;
}
