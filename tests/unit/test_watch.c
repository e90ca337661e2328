// SPDX-License-Identifier: GPL-2.0
/*
 * The watch's path logic and debounce (user/watch.c): which directories
 * are watched for a policy's denied paths, where a missing one is watched
 * from, and that a burst of files (a package install) is one re-apply.
 * The inotify side runs against a real policy in tests/host/watch.sh.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#include "watch.h"

static void watch__dirs_standard_then_path_dirs_once(void **state)
{
	const char *std[] = { "/usr/local/bin", "/usr/bin", "/bin", NULL };
	char *paths[] = { "/opt/tool/bin/x", "/usr/bin/socat", "/opt/tool/bin/y",
			  "/x", "relative/z", "/opt/tool/x" };
	const char *want[] = { "/usr/local/bin", "/usr/bin", "/bin", "/opt/tool/bin", "/",
			       "/opt/tool" };
	char **dirs = NULL;
	size_t n = 0;

	assert_int_equal(gg_watch_dirs(std, paths, 6, &dirs, &n), 0);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(dirs[i], want[i]);
	gg_watch_dirs_free(dirs, n);

	/* no policy yet: the PATH directories alone */
	assert_int_equal(gg_watch_dirs(std, NULL, 0, &dirs, &n), 0);
	assert_int_equal(n, 3);
	gg_watch_dirs_free(dirs, n);
}

static void watch__anchor_is_nearest_existing_directory(void **state)
{
	char tmpl[] = "/tmp/gg-watch-XXXXXX";
	char want[PATH_MAX], dir[PATH_MAX], buf[PATH_MAX];
	const char *root = mkdtemp(tmpl);

	assert_non_null(root);
	/* existing: itself */
	assert_int_equal(gg_watch_anchor(root, buf, sizeof(buf)), 0);
	assert_string_equal(buf, root);
	/* /opt/tool/bin before the package made it: the deepest that exists */
	snprintf(want, sizeof(want), "%s/opt", root);
	assert_int_equal(mkdir(want, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/opt/tool/bin", root);
	assert_int_equal(gg_watch_anchor(dir, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
	/* a file where a directory is wanted is no anchor */
	snprintf(want, sizeof(want), "%s/opt/tool", root);
	fx_put(want, "x");
	assert_int_equal(gg_watch_anchor(dir, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/opt", root);
	assert_string_equal(buf, want);
	/* the root is always there */
	assert_int_equal(gg_watch_anchor("/", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(gg_watch_anchor("/gg-no-such-dir/a/b", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	/* not absolute, or too long for the buffer */
	assert_int_equal(gg_watch_anchor("opt/tool", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(gg_watch_anchor(dir, buf, 4), -EINVAL);
	snprintf(want, sizeof(want), "%s/opt/tool", root);
	unlink(want);
	snprintf(want, sizeof(want), "%s/opt", root);
	rmdir(want);
	rmdir(root);
}

/* A directory made under the anchor moves the watch down only when it
 * is a component of the missing directory. */
static void watch__dir_on_the_way(void **state)
{
	assert_true(gg_watch_on_the_way("/opt/tool/bin", "opt"));
	assert_true(gg_watch_on_the_way("/opt/tool/bin", "tool"));
	assert_true(gg_watch_on_the_way("/opt/tool/bin", "bin"));
	assert_true(gg_watch_on_the_way("/optx/opt/bin", "opt"));
	assert_false(gg_watch_on_the_way("/opt/tool/bin", "op"));
	assert_false(gg_watch_on_the_way("/opt/tool/bin", "ool"));
	assert_false(gg_watch_on_the_way("/opt/tool/bin", "tools"));
	assert_false(gg_watch_on_the_way("/opt/tool/bin", "other"));
	assert_false(gg_watch_on_the_way("/opt/tool/bin", ""));
	assert_false(gg_watch_on_the_way("/opt/tool/bin", "tool/bin"));
}

/* 500 files in 10 batches 100 ms apart (dpkg unpacking a package): one
 * re-apply, due once the directory has been quiet, not one per batch. */
static void watch__burst_is_one_reapply(void **state)
{
	struct gg_debounce d = {};
	__u64 t = 1000000;
	int due = 0;

	for (int batch = 0; batch < 10; batch++, t += 100) {
		for (int f = 0; f < 50; f++)
			gg_debounce_event(&d, t, true);
		/* polled every 50 ms, as the daemon loop does (200 ms at most) */
		for (__u64 p = t; p < t + 100; p += 50)
			due += gg_debounce_due(&d, p);
	}
	assert_int_equal(due, 0);
	assert_false(gg_debounce_due(&d, t - 100 + GG_WATCH_QUIET_MS - 1));
	assert_true(gg_debounce_due(&d, t - 100 + GG_WATCH_QUIET_MS));
	gg_debounce_done(&d, t + GG_WATCH_QUIET_MS, true);
	assert_false(d.pending);
	assert_false(gg_debounce_due(&d, t + 10 * GG_WATCH_MAX_MS));
}

/* Events that never stop (a busy directory) do not hold a denied file
 * back for longer than GG_WATCH_MAX_MS; events of files not denied start
 * nothing. */
static void watch__busy_directory_capped(void **state)
{
	struct gg_debounce d = {};
	__u64 t = 5000;

	for (int i = 0; i < 100; i++)
		gg_debounce_event(&d, t + i * 10, false);
	assert_false(gg_debounce_due(&d, t + 10000));
	gg_debounce_event(&d, t, true);
	for (__u64 p = t; p < t + GG_WATCH_MAX_MS; p += 100) {
		gg_debounce_event(&d, p, false);
		assert_false(gg_debounce_due(&d, p));
	}
	gg_debounce_event(&d, t + GG_WATCH_MAX_MS, false);
	assert_true(gg_debounce_due(&d, t + GG_WATCH_MAX_MS));
}

/* A failed re-apply stays owed, tried again after a wait that doubles up
 * to a cap; a success clears the wait. */
static void watch__failure_retried_with_backoff(void **state)
{
	struct gg_debounce d = {};
	__u64 t = 0, wait = GG_WATCH_RETRY_MS;

	gg_debounce_event(&d, t, true);
	t += GG_WATCH_QUIET_MS;
	for (int i = 0; i < 8; i++) {
		assert_true(gg_debounce_due(&d, t));
		gg_debounce_done(&d, t, false);
		assert_true(d.pending);
		assert_false(gg_debounce_due(&d, t + wait - 1));
		t += wait;
		wait = wait * 2 > GG_WATCH_RETRY_MAX_MS ? GG_WATCH_RETRY_MAX_MS : wait * 2;
	}
	assert_int_equal(d.backoff, GG_WATCH_RETRY_MAX_MS);
	gg_debounce_done(&d, t, true);
	assert_false(d.pending);
	gg_debounce_event(&d, t, true);
	assert_true(gg_debounce_due(&d, t + GG_WATCH_QUIET_MS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(watch__dirs_standard_then_path_dirs_once),
		cmocka_unit_test(watch__anchor_is_nearest_existing_directory),
		cmocka_unit_test(watch__dir_on_the_way),
		cmocka_unit_test(watch__burst_is_one_reapply),
		cmocka_unit_test(watch__busy_directory_capped),
		cmocka_unit_test(watch__failure_retried_with_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
