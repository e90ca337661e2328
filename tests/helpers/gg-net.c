// SPDX-License-Identifier: GPL-2.0
/*
 * Network probe for the enforcement tests: makes one outbound attempt and
 * reports how the kernel answered.
 *   gg-net connect ADDR PORT   TCP connect
 *   gg-net sendto  ADDR PORT   UDP sendto, no connect
 *   gg-net pair    ADDR PORT   listen on ADDR:PORT, then TCP connect to it
 *   gg-net storm   ADDR PORT N  N TCP connects; prints how many got EPERM
 * ADDR is IPv4 or IPv6 (an IPv4-mapped ::ffff:a.b.c.d goes out on an IPv6
 * socket). Prints ok / EPERM / other errno name. Exit: 0 ok, 1 EPERM,
 * 2 another error, 3 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static int report(int rc)
{
	if (rc == 0) {
		puts("ok");
		return 0;
	}
	if (errno == EPERM) {
		puts("EPERM");
		return 1;
	}
	printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : strerror(errno));
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, lfd = -1, rc;

	if (argc == 5 && !strcmp(argv[1], "storm") && !parse(argv[2], atoi(argv[3]), &ss, &len)) {
		long n = atol(argv[4]), denied = 0;

		for (long i = 0; i < n; i++) {
			fd = socket(ss.ss_family, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&ss, len) && errno == EPERM)
				denied++;
			close(fd);
		}
		printf("%ld\n", denied);
		return 0;
	}
	if (argc != 4 || parse(argv[2], atoi(argv[3]), &ss, &len)) {
		fprintf(stderr, "usage: gg-net connect|sendto|pair ADDR PORT\n");
		return 3;
	}
	if (!strcmp(argv[1], "sendto")) {
		fd = socket(ss.ss_family, SOCK_DGRAM, 0);
		rc = sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) == 1 ? 0 : -1;
		return report(rc);
	}
	if (!strcmp(argv[1], "pair")) {
		int one = 1;

		lfd = socket(ss.ss_family, SOCK_STREAM, 0);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 1)) {
			perror("gg-net: listen");
			return 2;
		}
	} else if (strcmp(argv[1], "connect")) {
		fprintf(stderr, "usage: gg-net connect|sendto|pair ADDR PORT\n");
		return 3;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	rc = connect(fd, (struct sockaddr *)&ss, len);
	rc = report(rc);
	close(fd);
	if (lfd >= 0)
		close(lfd);
	return rc;
}
