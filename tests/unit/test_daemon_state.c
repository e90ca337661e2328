// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's accounting across restarts (user/lost.c): the state file,
 * drops counted while no daemon ran, resuming the apply journal; and the
 * checkpoint follower that copies checkpoints to the journal
 * (user/anchor.c), against the real audit writer.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
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

#include "audit.h"
#include "lost.h"

struct fx {
	char dir[PATH_MAX];
	char log[PATH_MAX];
	char key[PATH_MAX];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/gg_dstate_XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/audit.jsonl", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/audit-key.pem", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fx_rm_tree(f->dir);
	free(f);
	return 0;
}

static int count_files(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Everything saved comes back; the write leaves no temporary behind. */
static void test_dstate_roundtrip(void **state)
{
	struct fx *f = *state;
	struct gg_dstate st = {}, back;
	struct gg_err err;
	char path[PATH_MAX + 32];
	json_t *doc;

	snprintf(st.counters, sizeof(st.counters), "boot-1:42");
	st.reported[GG_GATE_EXEC] = 7;
	st.reported[GG_GATE_EGRESS] = 1ULL << 40;
	st.reported[GG_GATE_MODULE] = 3;
	snprintf(st.saved_ts, sizeof(st.saved_ts), "2025-06-01T10:00:00.000000Z");
	st.unwritten[GG_GATE_EGRESS] = 5;
	st.unwritten[GG_LOST_OTHER] = 2;
	snprintf(st.unwritten_since, sizeof(st.unwritten_since), "2025-06-01T09:00:00.000000Z");
	snprintf(st.unwritten_until, sizeof(st.unwritten_until), "2025-06-01T09:30:00.000000Z");
	snprintf(st.unwritten_error, sizeof(st.unwritten_error), "disk full");
	st.have_journal = true;
	st.journal_off = 12345;
	st.journal_dev = 2049;
	st.journal_ino = 77;
	assert_int_equal(gg_dstate_save(f->dir, &st, &err), 0);
	assert_int_equal(count_files(f->dir), 1);

	assert_int_equal(gg_dstate_load(f->dir, &back, &err), 0);
	assert_true(back.loaded);
	assert_string_equal(back.counters, "boot-1:42");
	assert_int_equal(back.reported[GG_GATE_EXEC], 7);
	assert_true(back.reported[GG_GATE_EGRESS] == 1ULL << 40);
	assert_int_equal(back.reported[GG_GATE_MODULE], 3);
	assert_string_equal(back.saved_ts, "2025-06-01T10:00:00.000000Z");
	assert_int_equal(back.unwritten[GG_GATE_EGRESS], 5);
	assert_int_equal(back.unwritten[GG_GATE_EXEC], 0);
	assert_int_equal(back.unwritten[GG_LOST_OTHER], 2);
	assert_string_equal(back.unwritten_since, "2025-06-01T09:00:00.000000Z");
	assert_string_equal(back.unwritten_until, "2025-06-01T09:30:00.000000Z");
	assert_string_equal(back.unwritten_error, "disk full");
	assert_true(back.have_journal);
	assert_int_equal(back.journal_off, 12345);
	assert_int_equal(back.journal_dev, 2049);
	assert_int_equal(back.journal_ino, 77);

	/* Totals are keyed by gate name, as an operator reads them. */
	snprintf(path, sizeof(path), "%s/" GG_DSTATE_FILE, f->dir);
	doc = json_load_file(path, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "reported"),
							    "net.egress")),
			 1LL << 40);
	json_decref(doc);

	/* Replaced, not appended to. */
	st.reported[GG_GATE_EXEC] = 8;
	st.have_journal = false;
	assert_int_equal(gg_dstate_save(f->dir, &st, &err), 0);
	assert_int_equal(gg_dstate_load(f->dir, &back, &err), 0);
	assert_int_equal(back.reported[GG_GATE_EXEC], 8);
	assert_false(back.have_journal);
	assert_int_equal(count_files(f->dir), 1);
}

static void test_dstate_missing_or_corrupt(void **state)
{
	struct fx *f = *state;
	struct gg_dstate st;
	struct gg_err err;
	char path[PATH_MAX + 32];
	FILE *o;

	memset(&st, 0xff, sizeof(st));
	assert_int_equal(gg_dstate_load(f->dir, &st, &err), -ENOENT);
	assert_false(st.loaded);
	assert_int_equal(st.reported[0], 0);

	snprintf(path, sizeof(path), "%s/" GG_DSTATE_FILE, f->dir);
	o = fopen(path, "w");
	assert_non_null(o);
	fputs("{\"reported\":", o); /* torn */
	fclose(o);
	memset(&st, 0xff, sizeof(st));
	assert_int_equal(gg_dstate_load(f->dir, &st, &err), -EINVAL);
	assert_false(st.loaded);
	assert_false(st.have_journal);
	assert_int_equal(st.reported[GG_GATE_EXEC], 0);
}

/* Drops while no daemon ran: the difference to what was reported, as long
 * as it is the same counters map. */
static void test_drops_unreported(void **state)
{
	struct gg_dstate st = { .loaded = true, .counters = "boot-1:42" };
	__u64 now[GG_GATE_COUNT] = { 10, 5, 0 }, out[GG_GATE_COUNT];

	st.reported[GG_GATE_EXEC] = 4;
	st.reported[GG_GATE_EGRESS] = 5;

	/* Same map: only what came after the last report. */
	assert_int_equal(gg_drops_unreported(&st, "boot-1:42", false, now, out), GG_DROPS_SAVED);
	assert_int_equal(out[GG_GATE_EXEC], 6);
	assert_int_equal(out[GG_GATE_EGRESS], 0);
	assert_int_equal(out[GG_GATE_MODULE], 0);

	/* Another map (reboot, unload, re-attach): it started at zero. */
	assert_int_equal(gg_drops_unreported(&st, "boot-2:42", false, now, out), GG_DROPS_ZERO);
	assert_int_equal(out[GG_GATE_EXEC], 10);
	assert_int_equal(out[GG_GATE_EGRESS], 5);

	/* This run's own map, whatever was saved. */
	assert_int_equal(gg_drops_unreported(&st, "boot-1:42", true, now, out), GG_DROPS_ZERO);
	assert_int_equal(out[GG_GATE_EXEC], 10);

	/* A counter below the saved total is not the same map's. */
	st.reported[GG_GATE_EGRESS] = 9;
	assert_int_equal(gg_drops_unreported(&st, "boot-1:42", false, now, out), GG_DROPS_SAVED);
	assert_int_equal(out[GG_GATE_EGRESS], 5);

	/* An unreadable identity never matches. */
	assert_int_equal(gg_drops_unreported(&st, "", false, now, out), GG_DROPS_ZERO);

	/* Nothing saved, adopted map: unknown, nothing claimed. */
	st.loaded = false;
	out[0] = 99;
	assert_int_equal(gg_drops_unreported(&st, "boot-1:42", false, now, out),
			 GG_DROPS_UNKNOWN);
	assert_int_equal(out[GG_GATE_EXEC], 0);
	/* Nothing saved, fresh map: all of it is this run's. */
	assert_int_equal(gg_drops_unreported(&st, "boot-1:42", true, now, out), GG_DROPS_ZERO);
	assert_int_equal(out[GG_GATE_EXEC], 10);
}

/* `govgate apply` while the daemon was stopped reaches the log: copying
 * resumes at the saved offset, or starts over if the file changed. */
static void test_journal_resume(void **state)
{
	struct gg_dstate st = { .loaded = true, .have_journal = true, .journal_off = 300,
				.journal_dev = 8, .journal_ino = 99 };
	struct gg_dstate none = {};
	const char *why = "x";

	assert_int_equal(gg_journal_resume(&st, true, 8, 99, 500, &why), 300);
	assert_null(why);
	assert_int_equal(gg_journal_resume(&st, true, 8, 99, 300, &why), 300);
	assert_null(why);
	/* Truncated below the offset. */
	assert_int_equal(gg_journal_resume(&st, true, 8, 99, 120, &why), 0);
	assert_non_null(why);
	assert_non_null(strstr(why, "truncated"));
	/* Rotated or replaced: another inode. */
	why = NULL;
	assert_int_equal(gg_journal_resume(&st, true, 8, 100, 5000, &why), 0);
	assert_non_null(why);
	assert_non_null(strstr(why, "replaced"));
	/* Gone: whatever comes is new. */
	assert_int_equal(gg_journal_resume(&st, false, 0, 0, 0, &why), 0);
	assert_null(why);
	/* Nothing copied yet: from the start of whichever file it is. */
	st.journal_off = 0;
	assert_int_equal(gg_journal_resume(&st, true, 8, 100, 5000, &why), 0);
	assert_null(why);
	/* No state (a daemon from before offsets were saved): its end. */
	assert_int_equal(gg_journal_resume(&none, true, 8, 99, 500, &why), 500);
	assert_null(why);
	assert_int_equal(gg_journal_resume(&none, false, 0, 0, 0, &why), 0);
}

static struct gg_audit *open_log(struct fx *f, unsigned every, unsigned long long rotate)
{
	struct gg_audit_opts o = { .path = f->log, .key_path = f->key, .checkpoint_every = every,
				   .rotate_bytes = rotate };
	struct gg_audit *a = NULL;
	struct gg_err err = {};

	if (gg_audit_open(&o, &a, &err))
		fail_msg("gg_audit_open: %s", err.msg);
	return a;
}

static json_t *marked(int i)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:s}", "event", "command_denied", "gate",
			 "cmd.exec", "action", "deny", "pid", 1000 + i, "comm",
			 "a-longer-command-name-to-fill-the-file");
}

/* Every line of every file of the log, oldest first, with its file. */
static void each_line(const char *log, void (*fn)(const char *line, size_t len, void *ctx),
		      void *ctx)
{
	struct gg_err err;
	char **files = NULL;
	size_t n = 0;

	assert_int_equal(gg_audit_log_files(log, &files, &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		char *buf = NULL, *p, *nl;
		size_t len = 0;

		assert_int_equal(gg_read_file(files[i], &buf, &len, &err), 0);
		for (p = buf; (nl = memchr(p, '\n', buf + len - p)); p = nl + 1)
			fn(p, nl - p, ctx);
		free(buf);
	}
	gg_audit_files_free(files, n);
}

struct seqs {
	unsigned long long of_pid[64];
	int files;
};

static void note_pid(const char *line, size_t len, void *ctx)
{
	struct seqs *s = ctx;
	json_t *rec = gg_audit_parse_line(line, len);
	json_t *pid = json_object_get(rec, "pid");

	if (pid)
		s->of_pid[json_integer_value(pid) - 1000] =
			json_integer_value(json_object_get(rec, "seq"));
	json_decref(rec);
}

/* The seq gg_audit_append hands back (the journal's GOVGATE_SEQ) is the
 * one the writer gave the record, also when a checkpoint follows it or a
 * rotation precedes it. */
static void test_appended_seq(void **state)
{
	struct fx *f = *state;
	struct gg_audit *a = open_log(f, 3, 1500);
	unsigned long long got[40];
	struct seqs s = {};
	struct gg_err err;
	char **files = NULL;
	size_t n_files = 0;

	for (int i = 0; i < 40; i++) {
		json_t *rec = marked(i);

		got[i] = 0;
		assert_int_equal(gg_audit_append(a, rec, &got[i], &err), 0);
		json_decref(rec);
	}
	gg_audit_close(a);
	assert_int_equal(gg_audit_log_files(f->log, &files, &n_files, &err), 0);
	gg_audit_files_free(files, n_files);
	assert_true(n_files > 2); /* rotations happened */
	each_line(f->log, note_pid, &s);
	for (int i = 0; i < 40; i++)
		assert_int_equal(got[i], s.of_pid[i]);
}

struct ckpts {
	struct gg_checkpoint_info v[64];
	int n;
	char prev_hash[65];
};

static void on_ckpt(const struct gg_checkpoint_info *ck, void *ctx)
{
	struct ckpts *c = ctx;

	assert_true(c->n < 64);
	c->v[c->n++] = *ck;
}

static void note_ckpt(const char *line, size_t len, void *ctx)
{
	struct ckpts *c = ctx;
	json_t *rec = gg_audit_parse_line(line, len);

	assert_non_null(rec);
	if (!strcmp(json_string_value(json_object_get(rec, "event")), "checkpoint")) {
		struct gg_checkpoint_info *ck = &c->v[c->n++];

		ck->seq = json_integer_value(json_object_get(rec, "seq"));
		snprintf(ck->head, sizeof(ck->head), "%s",
			 json_string_value(json_object_get(rec, "head")));
		/* What a verifier computes: the line's hash, the next prev. */
		gg_sha256_hex(line, len, ck->hash);
		assert_string_equal(ck->head, c->prev_hash);
	}
	gg_sha256_hex(line, len, c->prev_hash);
	json_decref(rec);
}

/* Every checkpoint the writer puts in the file is reported once, after it
 * is there, with its seq, the head it seals and its own hash (what `audit
 * verify --anchor` compares), across rotations; nothing else is. */
static void test_checkpoint_callback(void **state)
{
	struct fx *f = *state;
	struct ckpts seen = {}, in_file = {};
	struct gg_audit_opts o = { .path = f->log, .key_path = f->key, .checkpoint_every = 3,
				   .rotate_bytes = 4000, .on_checkpoint = on_ckpt,
				   .on_checkpoint_ctx = &seen };
	struct gg_audit *a = NULL;
	struct gg_err err = {};
	char **files = NULL;
	size_t n_files = 0;
	int before;

	/* A first run without the callback: its checkpoint is not reported. */
	a = open_log(f, 3, 4000);
	for (int i = 0; i < 3; i++) {
		json_t *rec = marked(i);

		assert_int_equal(gg_audit_append(a, rec, NULL, &err), 0);
		json_decref(rec);
	}
	gg_audit_close(a);

	if (gg_audit_open(&o, &a, &err))
		fail_msg("gg_audit_open: %s", err.msg);
	for (int i = 0; i < 40; i++) {
		json_t *rec = marked(i);

		assert_int_equal(gg_audit_append(a, rec, NULL, &err), 0);
		json_decref(rec);
	}
	assert_int_equal(gg_audit_checkpoint(a, &err), 0);
	gg_audit_close(a);

	assert_int_equal(gg_audit_log_files(f->log, &files, &n_files, &err), 0);
	gg_audit_files_free(files, n_files);
	assert_true(n_files > 2); /* across rotations */
	each_line(f->log, note_ckpt, &in_file);
	before = 1; /* the first run's */
	assert_true(in_file.n > 10);
	/* gg_audit_close writes a final checkpoint too: reported as well. */
	assert_int_equal(seen.n, in_file.n - before);
	for (int i = 0; i < seen.n; i++) {
		const struct gg_checkpoint_info *want = &in_file.v[i + before];

		assert_int_equal(seen.v[i].seq, want->seq);
		assert_string_equal(seen.v[i].head, want->head);
		assert_string_equal(seen.v[i].hash, want->hash);
		assert_int_equal(seen.v[i].last, want->seq - 1);
		assert_int_equal(strlen(seen.v[i].key), 64);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dstate_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dstate_missing_or_corrupt, setup, teardown),
		cmocka_unit_test(test_drops_unreported),
		cmocka_unit_test(test_journal_resume),
		cmocka_unit_test_setup_teardown(test_appended_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_callback, setup, teardown),
	};

	return cmocka_run_group_tests_name("daemon_state", tests, NULL, NULL);
}
