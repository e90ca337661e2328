// SPDX-License-Identifier: GPL-2.0
/* user/sha256.c against OpenSSL's SHA-256, at every length around the
 * padding's edges (55, 56, 63, 64 bytes...) and FIPS 180-4's examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/sha.h>

#include "sha256.h"

static void test_known_answers(void **state)
{
	static const unsigned char abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	static const unsigned char empty[32] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
		0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
		0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
	};
	unsigned char md[32];

	gg_sha256_small("abc", 3, md);
	assert_memory_equal(md, abc, 32);
	gg_sha256_small("", 0, md);
	assert_memory_equal(md, empty, 32);
}

static void test_every_length_as_openssl(void **state)
{
	unsigned char buf[300], md[32], want[32];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (size_t len = 0; len <= sizeof(buf); len++) {
		gg_sha256_small(buf, len, md);
		SHA256(buf, len, want);
		if (memcmp(md, want, 32))
			fail_msg("length %zu differs from OpenSSL", len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_every_length_as_openssl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
