/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File helpers shared by the unit tests that build a tree of packs, keys
 * and logs under a temporary directory. Include after <cmocka.h>. (Not
 * inline: gcc then mistakes fx_slurp's returned buffer for a dangling one.)
 */
#ifndef GG_TEST_FIXTURE_H
#define GG_TEST_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "sign.h"

static __attribute__((unused)) void fx_put(const char *path, const char *s)
{
	FILE *fp = fopen(path, "w");

	if (!fp || fputs(s, fp) < 0 || fclose(fp))
		fail_msg("cannot write %s", path);
}

/* The whole file; fails the test if it cannot be read. */
static __attribute__((unused)) char *fx_slurp(const char *path, size_t *len)
{
	struct gg_err err = {};
	char *buf = NULL;
	size_t n = 0;

	if (gg_read_file(path, &buf, &n, &err))
		fail_msg("%s", err.msg);
	if (len)
		*len = n;
	return buf;
}

/* A valid pack: one enforced control, one rule denying exec of basename. */
static __attribute__((unused)) void fx_put_pack(const char *path, const char *name, const char *version,
			       const char *description, const char *framework_title,
			       const char *basename)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
		 "{\"name\":\"%s\",\"version\":\"%s\",\"description\":\"%s\","
		 "\"framework\":{\"id\":\"f\",\"title\":\"%s\"},"
		 "\"controls\":[{\"id\":\"C1\",\"title\":\"t\",\"status\":\"enforced\"}],"
		 "\"rules\":[{\"id\":\"r1\",\"gate\":\"cmd.exec\",\"controls\":[\"C1\"],"
		 "\"match\":{\"basenames\":[\"%s\"]}}]}\n",
		 name, version, description, framework_title, basename);
	fx_put(path, buf);
}

/* Writes path.sig, signed with the private key at key_path. */
static __attribute__((unused)) void fx_sign(const char *key_path, const char *path)
{
	struct gg_err err = {};
	char sig[600];
	size_t len;
	char *buf = fx_slurp(path, &len);

	snprintf(sig, sizeof(sig), "%s.sig", path);
	if (gg_sig_write(key_path, buf, len, sig, &err))
		fail_msg("%s", err.msg);
	free(buf);
}

static __attribute__((unused)) int fx_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* rm -rf root (teardown). */
static __attribute__((unused)) void fx_rm_tree(const char *root)
{
	nftw(root, fx_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* How many fds this process has open (a leak shows as a count that grows). */
static __attribute__((unused)) int fx_open_fds(void)
{
	char path[64];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += !access(path, F_OK);
	}
	return n;
}

#endif
