// SPDX-License-Identifier: GPL-2.0
/*
 * The program a denied exec must never run: its first act is to create the
 * file named by its first argument (or $GG_PROOF), so a test can prove from
 * the outside whether it ran at all.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *proof = argc > 1 ? argv[1] : getenv("GG_PROOF");
	int fd;

	if (!proof)
		return 0;
	fd = open(proof, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	close(fd);
	return 0;
}
