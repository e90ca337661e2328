// SPDX-License-Identifier: GPL-2.0
/*
 * lsm_probe loader (VM smoke test, independent of govgate).
 *
 *   lsm_probe [-v] pin DIR    load + attach lsm/bprm_check_security, pin the
 *                             link as DIR/link and the .bss map as DIR/bss,
 *                             then exit (the pinned link keeps it attached).
 *   lsm_probe [-v] count DIR  print the number of denials so far.
 *   rm -r DIR                 detaches (last link reference goes away).
 *
 * Pinning instead of staying in the foreground keeps the guest shell script
 * trivial: no background process, no readiness handshake.
 * Built -static so it runs in the busybox-only initramfs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lsm_probe.skel.h"

static int verbose;

static int print_fn(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (lvl == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int do_pin(const char *dir)
{
	struct lsm_probe *skel;
	char path[512];
	int err;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "lsm_probe: mkdir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	skel = lsm_probe__open_and_load();
	if (!skel) {
		fprintf(stderr, "lsm_probe: open_and_load: %s\n", strerror(errno));
		return 1;
	}
	err = lsm_probe__attach(skel);
	if (err) {
		fprintf(stderr, "lsm_probe: attach: %s\n", strerror(-err));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/link", dir);
	err = bpf_link__pin(skel->links.deny_exec, path);
	if (err) {
		fprintf(stderr, "lsm_probe: pin %s: %s\n", path, strerror(-err));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/bss", dir);
	err = bpf_map__pin(skel->maps.bss, path);
	if (err) {
		fprintf(stderr, "lsm_probe: pin %s: %s\n", path, strerror(-err));
		goto out;
	}
	printf("lsm_probe: attached lsm/bprm_check_security, pinned in %s\n", dir);
out:
	lsm_probe__destroy(skel); /* pinned objects stay alive */
	return err ? 1 : 0;
}

static int do_count(const char *dir)
{
	struct lsm_probe__bss val;
	char path[512];
	__u32 key = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/bss", dir);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_lookup_elem(fd, &key, &val)) {
		fprintf(stderr, "lsm_probe: read %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("%llu\n", (unsigned long long)val.denied);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "-v")) {
		verbose = 1;
		argv++, argc--;
	}
	libbpf_set_print(print_fn);
	if (argc == 3 && !strcmp(argv[1], "pin"))
		return do_pin(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "count"))
		return do_count(argv[2]);
	fprintf(stderr, "usage: lsm_probe [-v] pin|count DIR\n");
	return 2;
}
