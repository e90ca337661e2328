// SPDX-License-Identifier: GPL-2.0
/* The mounts over the files a locked restart reads (user/mounts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mounts.h"

/* A unit's namespace: / and /tmp, the state directory bound onto itself
 * (StateDirectory= under ProtectSystem=strict), and whatever a test adds. */
static const char base[] =
	"22 1 254:1 / / ro,relatime shared:1 - ext4 /dev/vda1 rw\n"
	"30 22 0:27 / /tmp rw,nosuid shared:9 - tmpfs tmpfs rw\n"
	"41 22 254:1 /var/lib/govgate /var/lib/govgate rw,relatime - ext4 /dev/vda1 rw\n"
	"42 22 0:33 / /var/lib/govgatex rw - tmpfs tmpfs rw\n";

static const char *const guarded[] = { "/etc/govgate/govgate.json", "/etc/govgate/trusted-keys",
				       "/var/lib/govgate/", NULL };

static char *under(const char *extra)
{
	char path[] = "/tmp/gg-test-mounts.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	char *out;

	assert_non_null(f);
	fputs(base, f);
	fputs(extra, f);
	fclose(f);
	out = gg_mounts_under(path, guarded, 4);
	unlink(path);
	assert_non_null(out);
	return out;
}

static void test_only_mounts_at_or_below(void **state)
{
	char *out = under("");

	(void)state;
	/* the self-bind is there, a sibling with a longer name and / are not */
	assert_string_equal(out, "/var/lib/govgate /var/lib/govgate 254:1 ext4 /dev/vda1\n");
	free(out);
}

static void test_bind_over_a_file_seen(void **state)
{
	char *a = under(""), *b;

	(void)state;
	b = under("51 41 0:27 /evil.json /var/lib/govgate/applied.json ro - tmpfs tmpfs rw\n"
		  "52 22 0:27 /k /etc/govgate/trusted-keys/op.pub ro - tmpfs tmpfs rw\n"
		  "53 22 0:27 /c\\040d /etc/govgate/govgate.json ro - tmpfs tmpfs rw\n");
	assert_string_not_equal(a, b);
	assert_non_null(strstr(b, "/var/lib/govgate/applied.json /evil.json 0:27 tmpfs tmpfs\n"));
	assert_non_null(strstr(b, "/etc/govgate/trusted-keys/op.pub /k 0:27"));
	assert_non_null(strstr(b, "/etc/govgate/govgate.json /c d 0:27")); /* unescaped */
	free(a);
	free(b);
}

/* The same mounts in another namespace: other ids, the same text. */
static void test_ids_left_out(void **state)
{
	char *a = under("60 41 0:27 /x /var/lib/govgate/packs rw - tmpfs tmpfs rw\n");
	char *b = under("99 41 0:27 /x /var/lib/govgate/packs rw - tmpfs tmpfs rw\n");

	(void)state;
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void test_unreadable(void **state)
{
	(void)state;
	assert_null(gg_mounts_under("/nonexistent/mountinfo", guarded, 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_mounts_at_or_below),
		cmocka_unit_test(test_bind_over_a_file_seen),
		cmocka_unit_test(test_ids_left_out),
		cmocka_unit_test(test_unreadable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
