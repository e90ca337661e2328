// SPDX-License-Identifier: GPL-2.0
/*
 * statefiles: the file steps of a daemon's apply before its reply, the
 * way before 2026-12-05 and the way now, interleaved on the filesystem of
 * DIR (docs/performance.md, "Apply, sixth pass"). No root, no BPF.
 *
 *   statefiles DIR [ROUNDS]
 *
 * Per round and way, in a fresh directory of its own under DIR: a new
 * generation record (40 kB, the nine packs' size) and applied.json (1.5
 * kB) replaced, timed up to the reply; then what follows the reply (their
 * fsyncs, the spare made again), a state file replaced durably as the
 * daemon's own once a second, and 0.3 s. Ways:
 *   before: each file a new temporary file, fsynced (applied.json: file
 *           and directory) or not (the record), renamed into place;
 *   now:    gg_write_spare, the record renamed from its spare,
 *           applied.json exchanged with its spare.
 * Prints the median, p25 and p75 of each way and now/before.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define MAX_ROUNDS 200

static char record[40000], applied[1500];

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One apply's file steps in dir (round i); returns the µs before the reply. */
static double one_apply(const char *dir, int i, bool spare, struct gg_err *err)
{
	char gen[512], path[512], app[512], app_spare[512], state[512];
	int rec_fd = -1, app_fd = -1;
	double t0, t;

	snprintf(gen, sizeof(gen), "%s/generations/.spare", dir);
	snprintf(path, sizeof(path), "%s/generations/%d.json", dir, i);
	snprintf(app, sizeof(app), "%s/applied.json", dir);
	snprintf(app_spare, sizeof(app_spare), "%s.spare", app);
	snprintf(state, sizeof(state), "%s/audit-state.json", dir);
	t0 = now_us();
	if (spare) {
		if (gg_write_spare(path, gen, false, record, sizeof(record), 0644, &rec_fd, err) ||
		    gg_write_spare(app, app_spare, true, applied, sizeof(applied), 0644, &app_fd, err))
			return -1;
	} else if (gg_write_unsynced(path, record, sizeof(record), 0644, &rec_fd, err) ||
		   gg_write_atomic(app, applied, sizeof(applied), 0644, err)) {
		return -1;
	}
	t = now_us() - t0;
	/* after the reply */
	if (gg_write_sync(path, rec_fd, err) || (app_fd >= 0 && gg_write_sync(app, app_fd, err)))
		return -1;
	if (spare) {
		gg_spare_ready(gen, 0644);
		gg_spare_ready(app_spare, 0644);
	}
	if (gg_write_atomic(state, "{}\n", 3, 0644, err))
		return -1;
	usleep(300000);
	return t;
}

int main(int argc, char **argv)
{
	double took[2][MAX_ROUNDS];
	struct gg_err err = {};
	int rounds = argc > 2 ? atoi(argv[2]) : 40;
	char dir[2][512], sub[600];

	if (argc < 2 || rounds < 4 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: statefiles DIR [ROUNDS, 4..%d]\n", MAX_ROUNDS);
		return 2;
	}
	memset(record, 'r', sizeof(record) - 1);
	record[sizeof(record) - 1] = '\n';
	memset(applied, 'a', sizeof(applied) - 1);
	applied[sizeof(applied) - 1] = '\n';
	for (int w = 0; w < 2; w++) {
		snprintf(dir[w], sizeof(dir[w]), "%s/statefiles.%d.%s", argv[1], getpid(),
			 w ? "now" : "before");
		snprintf(sub, sizeof(sub), "%s/generations", dir[w]);
		if (gg_mkdir_p(sub, 0755, &err) ||
		    gg_write_atomic(strcat(strcpy(sub, dir[w]), "/applied.json"), applied,
				    sizeof(applied), 0644, &err)) {
			fprintf(stderr, "statefiles: %s\n", err.msg);
			return 1;
		}
	}
	for (int i = 0; i < rounds; i++)
		for (int k = 0; k < 2; k++) {
			int w = (i + k) % 2; /* ABBA */

			took[w][i] = one_apply(dir[w], i, w, &err);
			if (took[w][i] < 0) {
				fprintf(stderr, "statefiles: %s\n", err.msg);
				return 1;
			}
		}
	for (int w = 0; w < 2; w++) {
		qsort(took[w], rounds, sizeof(double), cmp_double);
		printf("%-6s us_before_reply median %.1f p25 %.1f p75 %.1f (n %d)\n",
		       w ? "now" : "before", took[w][rounds / 2], took[w][rounds / 4],
		       took[w][rounds * 3 / 4], rounds);
		snprintf(sub, sizeof(sub), "rm -rf '%s'", dir[w]);
		if (system(sub))
			fprintf(stderr, "statefiles: could not remove %s\n", dir[w]);
	}
	printf("ratio now/before %.3f\n", took[1][rounds / 2] / took[0][rounds / 2]);
	return 0;
}
