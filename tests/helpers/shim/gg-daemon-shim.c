// SPDX-License-Identifier: GPL-2.0
/*
 * A daemon taken over, for the VM tier (issue 13: the daemon is exempt
 * from nothing it does not need). Preloaded into `govgate run`
 * (LD_PRELOAD, with GG_SHIM_DIR set), it runs a thread inside the daemon
 * process that carries out what the test writes to $GG_SHIM_DIR/cmd, as
 * code injected through a parsing bug would, and writes "ok" or the errno
 * name to $GG_SHIM_DIR/result:
 *
 *   connect ADDR PORT   a TCP connect (IPv4 or IPv6) from the daemon
 *   udp ADDR PORT       a UDP datagram sent from the daemon
 *   modload PATH        finit_module of PATH from the daemon
 *
 * At load it writes its pid to $GG_SHIM_DIR/loaded: whether its code ran.
 *
 * Without the kernel's verdict nothing here can tell them apart: with no
 * NIC (qemu -nic none) an allowed connect fails ENETUNREACH or
 * ECONNREFUSED, a denied one EPERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *shim_dir;

static int shim_sockaddr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return AF_INET6;
	}
	errno = EINVAL;
	return -1;
}

static int shim_net(const char *addr, int port, int type)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = shim_sockaddr(addr, port, &ss, &len), fd, ret;

	if (family < 0)
		return -1;
	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (type == SOCK_STREAM)
		ret = connect(fd, (struct sockaddr *)&ss, len);
	else
		ret = sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) == 1 ? 0 : -1;
	if (ret) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

static int shim_modload(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

static void shim_run(char *line)
{
	char verb[16] = "", arg[256] = "", path[4096], done[4096];
	int port = 0, ret = -1;
	FILE *f;

	errno = EINVAL;
	if (sscanf(line, "%15s %255s %d", verb, arg, &port) >= 2) {
		if (!strcmp(verb, "connect"))
			ret = shim_net(arg, port, SOCK_STREAM);
		else if (!strcmp(verb, "udp"))
			ret = shim_net(arg, port, SOCK_DGRAM);
		else if (!strcmp(verb, "modload"))
			ret = shim_modload(arg);
	}
	snprintf(path, sizeof(path), "%s/result.tmp", shim_dir);
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%s\n", ret ? strerrorname_np(errno) : "ok");
	fclose(f);
	snprintf(done, sizeof(done), "%s/result", shim_dir);
	rename(path, done);
}

static void *shim_loop(void *unused)
{
	char path[4096], line[4096];

	(void)unused;
	snprintf(path, sizeof(path), "%s/cmd", shim_dir);
	for (;;) {
		FILE *f = fopen(path, "re");

		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
			unlink(path);
			shim_run(line);
		}
		usleep(50 * 1000);
	}
	return NULL;
}

__attribute__((constructor)) static void shim_start(void)
{
	pthread_t t;

	char path[4096];
	FILE *f;

	shim_dir = getenv("GG_SHIM_DIR");
	if (!shim_dir)
		return;
	/* proof that this code ran in the process at all */
	snprintf(path, sizeof(path), "%s/loaded", shim_dir);
	f = fopen(path, "we");
	if (f) {
		fprintf(f, "%d\n", getpid());
		fclose(f);
	}
	if (pthread_create(&t, NULL, shim_loop, NULL) == 0)
		pthread_detach(t);
}
