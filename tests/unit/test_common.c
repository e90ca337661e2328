// SPDX-License-Identifier: GPL-2.0
/* Small shared helpers (user/common.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"
#include "sd.h"

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

static void test_time_format_us(void **state)
{
	char buf[40];

	gg_time_format_us(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");
	gg_time_format_us(1738317605250000LL, buf, sizeof(buf));
	assert_string_equal(buf, "2025-01-31T10:00:05.250000Z");
	/* before the epoch: the fraction counts up from the earlier second */
	gg_time_format_us(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59.999999Z");
}

static void test_mkdir_p(void **state)
{
	char root[] = "/tmp/gg-mkdirp-XXXXXX", path[256], file[256];
	struct gg_err err = {};
	struct stat st;
	FILE *f;

	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/a/b//c", root);
	assert_int_equal(gg_mkdir_p(path, 0700, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* existing: not an error */
	assert_int_equal(gg_mkdir_p(path, 0700, &err), 0);
	/* a file in the way: the error names that component */
	snprintf(file, sizeof(file), "%s/f", root);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/f/g", root);
	assert_int_equal(gg_mkdir_p(path, 0700, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, "/f/g: cannot create"));
	snprintf(path, sizeof(path), "rm -rf %s", root);
	assert_int_equal(system(path), 0);
}

static void fx_put_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *slurp(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static ino_t ino_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_ino;
}

/* Writes text to path through spare and syncs it; path then holds text. */
static void write_via_spare(const char *path, const char *spare, bool exchange, const char *text)
{
	struct gg_err err = {};
	int fd = -1;

	assert_int_equal(gg_write_spare(path, spare, exchange, text, strlen(text), 0644, &fd, &err), 0);
	assert_int_equal(gg_write_sync(path, fd, &err), 0);
	assert_string_equal(slurp(path), text);
}

/* Through a spare, no inode is made once there is one: exchanged, the
 * file and its spare trade places (the spare keeps the old bytes until it
 * is made ready, emptied); renamed, the spare becomes the file. A spare
 * that is a symlink, a FIFO or has another link is replaced, its target
 * left alone; one with bytes left is emptied before the write. */
static void test_write_spare(void **state)
{
	char root[] = "/tmp/gg-spare-XXXXXX", path[256], spare[256], other[256], cmd[300];
	ino_t file_ino, spare_ino;

	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/f.json", root);
	snprintf(spare, sizeof(spare), "%s/f.json.spare", root);
	snprintf(other, sizeof(other), "%s/other", root);
	/* no file yet: the spare is made and renamed to it */
	write_via_spare(path, spare, true, "one one\n");
	assert_int_equal(ino_of(spare), 0);
	/* exchanged: a new spare the first time, then the old file's inode */
	write_via_spare(path, spare, true, "two\n");
	assert_string_equal(slurp(spare), "one one\n");
	file_ino = ino_of(path);
	spare_ino = ino_of(spare);
	write_via_spare(path, spare, true, "three\n");
	assert_string_equal(slurp(spare), "two\n");
	assert_int_equal(ino_of(path), spare_ino);
	assert_int_equal(ino_of(spare), file_ino);
	/* made ready: the old file emptied, the same inode */
	gg_spare_ready(spare, 0644);
	assert_int_equal(ino_of(spare), file_ino);
	assert_string_equal(slurp(spare), "");
	/* renamed: the spare becomes the file, the next one is made */
	spare_ino = ino_of(spare);
	write_via_spare(path, spare, false, "four\n");
	assert_int_equal(ino_of(path), spare_ino);
	assert_int_equal(ino_of(spare), 0);
	gg_spare_ready(spare, 0644);
	assert_int_not_equal(ino_of(spare), 0);
	/* a spare linked to another file, or a symlink: not written through */
	fx_put_text(other, "keep\n");
	assert_int_equal(unlink(spare), 0);
	assert_int_equal(link(other, spare), 0);
	write_via_spare(path, spare, true, "five\n");
	assert_string_equal(slurp(other), "keep\n");
	assert_int_equal(unlink(spare), 0);
	assert_int_equal(symlink(other, spare), 0);
	write_via_spare(path, spare, true, "six\n");
	assert_string_equal(slurp(other), "keep\n");
	/* a FIFO: opening it does not wait, it is replaced */
	assert_int_equal(unlink(spare), 0);
	assert_int_equal(mkfifo(spare, 0644), 0);
	write_via_spare(path, spare, true, "seven\n");
	/* a spare left with bytes (a crash before it was made ready): emptied
	 * before the write, nothing of the old bytes left */
	write_via_spare(path, spare, true, "a much longer line\n");
	write_via_spare(path, spare, true, "8\n");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

static void test_json_insert_sorted(void **state)
{
	const char *in[] = { "m", "a", "z", "m", "b", "a" };
	json_t *arr = json_array();
	char *dump;

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		assert_int_equal(gg_json_insert_sorted(arr, in[i]), 0);
	dump = json_dumps(arr, JSON_COMPACT);
	assert_string_equal(dump, "[\"a\",\"b\",\"m\",\"z\"]");
	free(dump);
	json_decref(arr);
}

static void test_json_join(void **state)
{
	json_t *arr = json_loads("[\"a\", {\"ref\": \"p@1\", \"mode\": \"observe\"}, "
				 "{\"ref\": \"q@2\"}, {}]", 0, NULL);
	char buf[64], small[6];

	assert_non_null(arr);
	assert_string_equal(gg_json_join(arr, true, buf, sizeof(buf)),
			    "a,p@1 (observe),q@2,?");
	assert_string_equal(gg_json_join(arr, false, buf, sizeof(buf)), "a,p@1,q@2,?");
	/* truncated, still terminated */
	assert_string_equal(gg_json_join(arr, false, small, sizeof(small)), "a,p@1");
	json_decref(arr);
	arr = json_array();
	assert_string_equal(gg_json_join(arr, true, buf, sizeof(buf)), "");
	assert_string_equal(gg_json_join(NULL, true, buf, sizeof(buf)), "");
	json_decref(arr);
}

static void test_percpu_sum(void **state)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	struct gg_err err = {};
	__u32 key = 1, bad = 9;
	__u64 *vals, sum = 0, want = 0;

	assert_true(ncpu > 0);
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "gg_test_sum", sizeof(__u32),
			    sizeof(__u64), 2, NULL);
	if (fd < 0)
		skip(); /* needs CAP_BPF */
	vals = calloc(ncpu, sizeof(*vals));
	assert_non_null(vals);
	for (int c = 0; c < ncpu; c++)
		want += vals[c] = 1000 + c;
	assert_int_equal(bpf_map_update_elem(fd, &key, vals, BPF_ANY), 0);
	assert_int_equal(gg_percpu_sum(fd, &key, &sum, &err), 0);
	assert_int_equal(sum, want);
	assert_int_equal(gg_percpu_sum(fd, &bad, &sum, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "counters"));
	free(vals);
	close(fd);
}

static void test_comparators(void **state)
{
	const char *s[] = { "b", "a", "c", "a" };
	__u32 u[] = { 3, 0xffffffff, 0, 7 };

	qsort(s, 4, sizeof(*s), gg_strp_cmp);
	assert_string_equal(s[0], "a");
	assert_string_equal(s[1], "a");
	assert_string_equal(s[2], "b");
	assert_string_equal(s[3], "c");
	/* no subtraction: the largest value must not wrap to negative */
	qsort(u, 4, sizeof(*u), gg_u32_cmp);
	assert_int_equal(u[0], 0);
	assert_int_equal(u[1], 3);
	assert_int_equal(u[2], 7);
	assert_int_equal(u[3], 0xffffffff);
}

/* The boot id from sd-id128, in the UUID form the kernel file holds. */
static void test_boot_id(void **state)
{
	char id[64], want[64] = "";
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	(void)state;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%63s", want), 1);
	fclose(f);
	gg_boot_id(id, sizeof(id));
	assert_int_equal(strlen(id), 36);
	assert_string_equal(id, want);
}

/* Readiness reaches NOTIFY_SOCKET through the libsystemd opened on use. */
static void test_sd_notify(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char got[64] = "";

	(void)state;
	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/gg-notify-test.%d", getpid());
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
	assert_true(gg_sd_notifyf("STATUS=generation %d", 7) > 0);
	assert_null(gg_sd_error());
	assert_int_equal(recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT), 19);
	assert_string_equal(got, "STATUS=generation 7");
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(gg_sd_notify("READY=1"), 0); /* not under systemd */
	unlink(sun.sun_path);
	close(fd);
}

/* A version is the device, inode, size and both times; settled is both
 * times more than the margin before the clock. */
static void test_stat_version(void **state)
{
	struct stat a = { .st_dev = 1, .st_ino = 2, .st_size = 3 }, b;

	a.st_mtim.tv_sec = a.st_ctim.tv_sec = 1000;
	b = a;
	assert_true(gg_stat_same_version(&a, &b));
	b.st_ctim.tv_nsec = 1;
	assert_false(gg_stat_same_version(&a, &b));
	b = a;
	b.st_mtim.tv_sec = 999;
	assert_false(gg_stat_same_version(&a, &b));
	b = a;
	b.st_ino = 9;
	assert_false(gg_stat_same_version(&a, &b));
	b = a;
	b.st_size = 4;
	assert_false(gg_stat_same_version(&a, &b));
	assert_true(gg_stat_settled(&a, 1003, 2));
	assert_false(gg_stat_settled(&a, 1002, 2));
	a.st_ctim.tv_sec = 1001; /* a change since: ctime alone moved */
	assert_false(gg_stat_settled(&a, 1003, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_start_ticks),
		cmocka_unit_test(test_proc_start_ticks_no_process),
		cmocka_unit_test(test_time_format_us),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_write_spare),
		cmocka_unit_test(test_json_insert_sorted),
		cmocka_unit_test(test_json_join),
		cmocka_unit_test(test_percpu_sum),
		cmocka_unit_test(test_comparators),
		cmocka_unit_test(test_stat_version),
		cmocka_unit_test(test_boot_id),
		cmocka_unit_test(test_sd_notify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
