// SPDX-License-Identifier: GPL-2.0
/* Small shared helpers (user/common.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"

static __u64 boottime_ticks_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 100 + ts.tv_nsec / 10000000;
}

/* The daemon's self-exemption compares this with the BPF side's
 * start_boottime: it must be field 22 however odd comm is. */
static void test_proc_start_ticks(void **state)
{
	__u64 mine = 0, child = 0;
	struct gg_err err;
	int fds[2], status;
	pid_t pid;

	assert_int_equal(gg_proc_start_ticks(getpid(), &mine, &err), 0);
	assert_true(mine <= boottime_ticks_now());

	/* A child named ") 1 2 3 (" that starts a moment later: a parser that
	 * split comm on spaces, or took the first ')', reads another field. */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;

		prctl(PR_SET_NAME, ") 1 2 3 (", 0, 0, 0);
		close(fds[1]);
		read(fds[0], &c, 1); /* until the parent has read our stat */
		_exit(0);
	}
	close(fds[0]);
	usleep(20000);
	assert_int_equal(gg_proc_start_ticks(pid, &child, &err), 0);
	close(fds[1]);
	waitpid(pid, &status, 0);
	assert_true(child >= mine);
	assert_true(child <= boottime_ticks_now());
}

static void test_proc_start_ticks_no_process(void **state)
{
	struct gg_err err;
	__u64 t;

	assert_true(gg_proc_start_ticks(0x7ffffffe, &t, &err) < 0);
	assert_non_null(strstr(err.msg, "/proc/2147483646/stat"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_start_ticks),
		cmocka_unit_test(test_proc_start_ticks_no_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
