// SPDX-License-Identifier: GPL-2.0
/*
 * gg-exec PATH [ARG...]: execve(PATH, [PATH, ARG...]) and, if the kernel
 * refuses, print the errno name (EPERM for a denial) and exit 1. A denied
 * exec under the fallback is killed instead (exit by SIGKILL).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: gg-exec PATH [ARG...]\n");
		return 3;
	}
	execv(argv[1], argv + 1);
	printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : strerror(errno));
	return 1;
}
