// SPDX-License-Identifier: GPL-2.0
/* The code pages the daemon's start needed, returned (user/pages.c). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "pages.h"

/* The resident kB of the mappings of files whose path contains name, with
 * permissions perms (smaps Rss). */
static unsigned long long rss_kb(const char *name, const char *perms)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[4352], p[8];
	unsigned long long kb, total = 0;
	int in = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*x-%*x %7s", p) == 1) {
			in = !strcmp(p, perms) && strstr(line, name);
			continue;
		}
		if (in && sscanf(line, "Rss: %llu kB", &kb) == 1)
			total += kb;
	}
	fclose(f);
	return total;
}

static void sha256_of_abc(unsigned char md[SHA256_DIGEST_LENGTH])
{
	unsigned int len = 0;

	assert_int_equal(EVP_Digest("abc", 3, md, &len, EVP_sha256(), NULL), 1);
	assert_int_equal(len, SHA256_DIGEST_LENGTH);
}

/* libcrypto's code, used, is unmapped and still runs (faulted back in). */
static void test_code_released(void **state)
{
	unsigned char before[SHA256_DIGEST_LENGTH], after[SHA256_DIGEST_LENGTH];
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned long long code;

	assert_non_null(key);
	EVP_PKEY_free(key);
	sha256_of_abc(before);
	code = rss_kb("libcrypto", "r-xp");
	assert_true(code > 64);
	gg_release_start_text();
	assert_true(rss_kb("libcrypto", "r-xp") < code / 2);
	sha256_of_abc(after);
	assert_memory_equal(before, after, sizeof(before));
}

/* A file mapping written and then made read-only at offset 0 (as a
 * relocated table would be) looks like headers, but holds a page of its
 * own: it is kept. */
static void test_written_mapping_kept(void **state)
{
	char path[] = "/tmp/gg-pages-XXXXXX";
	int fd = mkstemp(path);
	char *p;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8192), 0);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(p != MAP_FAILED);
	p[0] = 'w';
	p[4096] = 'x';
	assert_int_equal(mprotect(p, 8192, PROT_READ), 0);
	gg_release_start_text();
	assert_int_equal(p[0], 'w');
	assert_int_equal(p[4096], 'x');
	munmap(p, 8192);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_released),
		cmocka_unit_test(test_written_mapping_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
