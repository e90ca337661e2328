// SPDX-License-Identifier: GPL-2.0
/*
 * gg-fhandle FILE [ARG...]: gets FILE's handle (name_to_handle_at), drops
 * the dentry cache (echo 2 > /proc/sys/vm/drop_caches, so the kernel no
 * longer knows the file's name), reopens it by handle (open_by_handle_at)
 * and fexecve()s it with [FILE, ARG...]. If the exec is refused, prints
 * the errno name (EPERM for a denial) and exits 1.
 *
 * The file must be on a file system whose dentries can be dropped (not
 * tmpfs, which keeps them all) and that supports file handles (ext4).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int drop_dentries(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	int ok;

	sync();
	if (fd < 0)
		return -1;
	ok = write(fd, "2\n", 2) == 2;
	close(fd);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct file_handle *fh;
	int mount_id, mfd, fd;
	char dir[4096];

	if (argc < 2) {
		fprintf(stderr, "usage: gg-fhandle FILE [ARG...]\n");
		return 3;
	}
	fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	if (!fh)
		return 3;
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, argv[1], fh, &mount_id, 0)) {
		perror("name_to_handle_at");
		return 3;
	}
	/* Any fd on the same mount will do: the file's directory (holding the
	 * file itself open would keep its dentry). */
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	mfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0 || drop_dentries()) {
		perror("drop_caches");
		return 3;
	}
	fd = open_by_handle_at(mfd, fh, O_RDONLY);
	if (fd < 0) {
		perror("open_by_handle_at");
		return 3;
	}
	/* The kernel's name for it: "/" when the dentry is disconnected. */
	snprintf(dir, sizeof(dir), "/proc/self/fd/%d", fd);
	{
		char name[4096];
		ssize_t n = readlink(dir, name, sizeof(name) - 1);

		name[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "gg-fhandle: opened by handle as %s\n", name);
	}
	fexecve(fd, argv + 1, environ);
	printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : strerror(errno));
	return 1;
}
