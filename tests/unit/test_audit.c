// SPDX-License-Identifier: GPL-2.0
/*
 * Audit log: record format, chain continuity, checkpoints, tamper
 * detection by the verifier, torn lines, rotation and retention.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "crypto.h"
#include "fixture.h"
#include "cli.h"

#include "audit.h"
#include "sign.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

struct fx {
	char dir[PATH_MAX];
	char log[PATH_MAX];
	char key[PATH_MAX];
	char pub[PATH_MAX];
	struct gg_audit_opts opts;
};

/* The file as lines (without newlines), for tests that play attacker. */
struct lines {
	char **v;
	size_t n;
	bool trailing_nl;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/gg_audit_XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/log/audit.jsonl", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/key/audit-key.pem", f->dir);
	snprintf(f->pub, sizeof(f->pub), "%s.pub", f->key);
	f->opts.path = f->log;
	f->opts.key_path = f->key;
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

static struct gg_audit *open_log(struct fx *f)
{
	struct gg_audit *a = NULL;
	struct gg_err err = {};
	int ret = gg_audit_open(&f->opts, &a, &err);

	if (ret)
		fail_msg("gg_audit_open: %d %s", ret, err.msg);
	return a;
}

/* The active log is opened as a plain file only: a symlink in its place
 * (to a file the daemon may write, a configuration's) is not followed nor
 * written through, and a FIFO does not block the open. */
static void log_not_symlink_or_fifo(void **state)
{
	struct fx *f = *state;
	char dir[PATH_MAX + 8], target[PATH_MAX + 16], buf[16] = "";
	struct gg_audit *a = NULL;
	struct gg_err err = {};
	int fd;

	snprintf(dir, sizeof(dir), "%s/log", f->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(target, sizeof(target), "%s/config.json", f->dir);
	fd = open(target, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{}", 2), 2);
	close(fd);
	assert_int_equal(symlink(target, f->log), 0);
	assert_int_not_equal(gg_audit_open(&f->opts, &a, &err), 0);
	assert_null(a);
	assert_non_null(strstr(err.msg, "audit.jsonl"));
	fd = open(target, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 2);
	close(fd);
	assert_string_equal(buf, "{}");
	assert_int_equal(unlink(f->log), 0);
	assert_int_equal(mkfifo(f->log, 0644), 0);
	assert_int_not_equal(gg_audit_open(&f->opts, &a, &err), 0);
	assert_null(a);
	assert_non_null(strstr(err.msg, "not a regular file"));
	/* a second name of another file (a shell's rc file) */
	assert_int_equal(unlink(f->log), 0);
	assert_int_equal(link(target, f->log), 0);
	assert_int_not_equal(gg_audit_open(&f->opts, &a, &err), 0);
	assert_null(a);
	assert_non_null(strstr(err.msg, "of one name"));
	fd = open(target, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 2);
	close(fd);
}

static json_t *denial(int i, const char *action)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:[{s:s, s:s}], s:s, s:[s,s], s:[s],"
			 " s:i, s:i, s:i, s:s, s:s, s:I, s:s, s:s, s:[s,s], s:I, s:I, s:s}",
			 "event", "command_denied", "gate", "cmd.exec", "action", action,
			 "mechanism", "lsm", "generation", (json_int_t)3, "rule", "no-curl",
			 "rules", "pack", "soc2@1.0", "rule", "no-curl", "pack", "soc2@1.0",
			 "controls", "SOC2-CC6.1", "SOC2-CC6.6", "frameworks", "SOC2", "pid",
			 1000 + i, "ppid", 1, "uid", 0, "comm", "bash", "exe", "/usr/bin/bash",
			 "cgroup_id", (json_int_t)4242, "filename", "curl", "path", "/usr/bin/curl",
			 "argv", "curl", "http://example.com", "dev", (json_int_t)2049, "ino",
			 (json_int_t)1234 + i, "match", "path");
}

static void append(struct gg_audit *a, json_t *rec)
{
	struct gg_err err = {};
	int ret = gg_audit_append(a, rec, NULL, &err);

	if (ret)
		fail_msg("gg_audit_append: %d %s", ret, err.msg);
	json_decref(rec);
}

static void append_n(struct gg_audit *a, int n)
{
	for (int i = 0; i < n; i++)
		append(a, denial(i, "deny"));
}

static struct lines read_lines(const char *path)
{
	struct lines l = {};
	struct gg_err err;
	char *buf, *p;
	size_t len;

	if (gg_read_file(path, &buf, &len, &err))
		fail_msg("%s", err.msg);
	l.trailing_nl = len && buf[len - 1] == '\n';
	l.v = calloc(len + 2, sizeof(*l.v));
	for (p = buf; p < buf + len;) {
		char *nl = memchr(p, '\n', buf + len - p);
		size_t n = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);

		l.v[l.n++] = strndup(p, n);
		p += n + 1;
	}
	free(buf);
	return l;
}

static void write_lines(const char *path, const struct lines *l)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%s%s", l->v[i], i + 1 < l->n || l->trailing_nl ? "\n" : "");
	fclose(f);
}

static void free_lines(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static EVP_PKEY *load_pub(const char *path)
{
	EVP_PKEY *k = NULL;
	struct gg_err err;

	if (gg_key_load_public(path, &k, &err))
		fail_msg("%s", err.msg);
	return k;
}

/* Verifies files with the fixture's public key. */
static json_t *verify_files(struct fx *f, char **files, size_t n)
{
	EVP_PKEY *pub = load_pub(f->pub);
	json_t *res = NULL;
	struct gg_err err = {};
	int ret = gg_audit_verify(files, n, pub, NULL, NULL, &res, &err);

	EVP_PKEY_free(pub);
	if (ret)
		fail_msg("gg_audit_verify: %d %s", ret, err.msg);
	return res;
}

static json_t *verify_log(struct fx *f)
{
	char *files[] = { f->log };

	return verify_files(f, files, 1);
}

static bool intact(json_t *res)
{
	return json_is_true(json_object_get(res, "intact"));
}

static const char *problem_kind(json_t *res)
{
	return json_string_value(json_object_get(json_object_get(res, "problem"), "kind"));
}

static long long problem_line(json_t *res)
{
	return json_integer_value(json_object_get(json_object_get(res, "problem"), "line"));
}

static long long jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void hash_of(const char *line, char hex[65])
{
	gg_sha256_hex(line, strlen(line), hex);
}

/* The record as its writer would chain it: new prev, hashes re-chained for
 * the lines after it (the attacker who recomputes the chain). */
static void set_prev(char **line, const char *prev)
{
	char *p = strstr(*line, "\"prev\":\"");

	assert_non_null(p);
	memcpy(p + 8, prev, 64);
}

static void rechain(struct lines *l, size_t from)
{
	char h[65];

	for (size_t i = from; i < l->n; i++) {
		hash_of(l->v[i - 1], h);
		set_prev(&l->v[i], h);
	}
}

static void record_format(void **state)
{
	static const char *const order[] = {
		"ts", "seq", "event", "gate", "action", "mechanism", "generation", "rule", "rules",
		"pack", "controls", "frameworks", "pid", "ppid", "uid", "comm", "exe",
		"cgroup_id", "filename", "path", "argv", "dev", "ino", "match", "zz_extra", "prev",
	};
	struct fx *f = *state;
	struct gg_audit *a = open_log(f);
	struct gg_err err = {};
	struct lines l;
	json_t *rec, *v, *bad;
	const char *k, *ts;
	char h[65];
	size_t i = 0;

	/* Keys given out of order, plus one the writer does not know. */
	rec = json_pack("{s:s}", "zz_extra", "x");
	v = denial(0, "deny");
	json_object_update(rec, v);
	json_decref(v);
	append(a, rec);
	append(a, json_pack("{s:s, s:s, s:s}", "event", "agent_stopped", "ts",
			    "2025-03-01T00:00:00.000000Z", "who", "test"));
	/* Writer-owned fields and events are refused. */
	bad = json_pack("{s:s, s:i}", "event", "agent_started", "seq", 7);
	assert_int_equal(gg_audit_append(a, bad, NULL, &err), -EINVAL);
	json_decref(bad);
	bad = json_pack("{s:s}", "event", "checkpoint");
	assert_int_equal(gg_audit_append(a, bad, NULL, &err), -EINVAL);
	json_decref(bad);
	bad = json_pack("{s:i}", "pid", 1);
	assert_int_equal(gg_audit_append(a, bad, NULL, &err), -EINVAL);
	json_decref(bad);
	assert_int_equal(gg_audit_flush(a, false, &err), 0);

	l = read_lines(f->log);
	assert_int_equal(l.n, 2);
	assert_true(l.trailing_nl);
	assert_null(strchr(l.v[0], ' ')); /* compact, argv has none */
	rec = json_loads(l.v[0], 0, NULL);
	assert_non_null(rec);
	json_object_foreach(rec, k, v) {
		assert_true(i < sizeof(order) / sizeof(order[0]));
		assert_string_equal(k, order[i++]);
	}
	assert_int_equal(i, sizeof(order) / sizeof(order[0]));
	ts = json_string_value(json_object_get(rec, "ts"));
	/* 2025-01-02T03:04:05.123456Z */
	assert_int_equal(strlen(ts), 27);
	assert_true(ts[10] == 'T' && ts[19] == '.' && ts[26] == 'Z');
	assert_int_equal(jint(rec, "seq"), 1);
	assert_string_equal(json_string_value(json_object_get(rec, "prev")), ZERO_HASH);
	json_decref(rec);
	/* The caller's ts is kept; prev is the previous line's hash. */
	rec = json_loads(l.v[1], 0, NULL);
	assert_string_equal(json_string_value(json_object_get(rec, "ts")),
			    "2025-03-01T00:00:00.000000Z");
	assert_int_equal(jint(rec, "seq"), 2);
	hash_of(l.v[0], h);
	assert_string_equal(json_string_value(json_object_get(rec, "prev")), h);
	assert_non_null(strstr(l.v[1], "\"event\":\"agent_stopped\",\"who\":\"test\",\"prev\""));
	json_decref(rec);
	free_lines(&l);
	gg_audit_close(a);
	/* The key pair was generated (private 0600) and the public key exported. */
	struct stat st;

	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(access(f->pub, R_OK), 0);
}

/* Kernel bytes that are not UTF-8 (event.c uses json_stringn_nocheck) are
 * still written, escaped, and the line parses and verifies. */
static void non_utf8_strings(void **state)
{
	struct fx *f = *state;
	struct gg_audit *a = open_log(f);
	json_t *rec = denial(0, "deny"), *line;
	struct lines l;

	json_object_set_new(rec, "comm", json_stringn_nocheck("ab\xff\xc0z", 5));
	json_object_set_new(rec, "argv", json_pack("[s, o]", "cat",
						   json_stringn_nocheck("caf\xc3\xa9\xe9", 6)));
	append(a, rec);
	gg_audit_close(a);
	l = read_lines(f->log);
	line = json_loads(l.v[0], 0, NULL);
	assert_non_null(line);
	assert_string_equal(json_string_value(json_object_get(line, "comm")), "ab\\xff\\xc0z");
	assert_string_equal(json_string_value(json_array_get(json_object_get(line, "argv"), 1)),
			    "caf\xc3\xa9\\xe9"); /* valid UTF-8 (é) is kept as is */
	json_decref(line);
	free_lines(&l);
	line = verify_log(f);
	assert_true(intact(line));
	json_decref(line);
}

static void chain_continues_across_reopen(void **state)
{
	struct fx *f = *state;
	struct gg_audit *a = open_log(f);
	struct lines l;
	json_t *res, *rec;
	char h[65];

	append_n(a, 3);
	gg_audit_close(a); /* + checkpoint: seq 4 */
	a = open_log(f);
	assert_int_equal(gg_audit_last_seq(a), 4);
	append_n(a, 2);
	gg_audit_close(a);

	l = read_lines(f->log);
	assert_int_equal(l.n, 7); /* 3 + ckpt + 2 + ckpt */
	for (size_t i = 0; i < l.n; i++) {
		rec = json_loads(l.v[i], 0, NULL);
		assert_int_equal(jint(rec, "seq"), i + 1);
		if (i) {
			hash_of(l.v[i - 1], h);
			assert_string_equal(json_string_value(json_object_get(rec, "prev")), h);
		}
		json_decref(rec);
	}
	free_lines(&l);
	res = verify_log(f);
	assert_true(intact(res));
	assert_int_equal(jint(res, "records"), 7);
	assert_int_equal(jint(res, "checkpoints"), 2);
	assert_int_equal(jint(res, "unsealed_tail"), 0);
	assert_string_equal(json_string_value(json_object_get(res, "chain_start")), "genesis");
	json_decref(res);
}

static void checkpoint_signature(void **state)
{
	struct fx *f = *state;
	struct gg_audit *a;
	EVP_PKEY *pub;
	unsigned char sig[72];
	char fp[65], *cut, *line;
	struct lines l;
	json_t *ck, *res;
	size_t n;

	f->opts.checkpoint_every = 3;
	a = open_log(f);
	append_n(a, 4); /* checkpoint after the 3rd: seq 4, record 4 is seq 5 */
	assert_int_equal(gg_audit_flush(a, false, NULL), 0);
	l = read_lines(f->log);
	assert_int_equal(l.n, 5);
	ck = json_loads(l.v[3], 0, NULL);
	assert_string_equal(json_string_value(json_object_get(ck, "event")), "checkpoint");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(ck, "covers"), 0)), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(ck, "covers"), 1)), 3);
	assert_string_equal(json_string_value(json_object_get(ck, "head")),
			    json_string_value(json_object_get(ck, "prev")));
	pub = load_pub(f->pub);
	assert_int_equal(gg_key_fingerprint(pub, fp, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(ck, "key")), fp);
	/* Signature over the line without its last member. */
	line = strdup(l.v[3]);
	cut = strstr(line, ",\"sig\":\"");
	assert_non_null(cut);
	assert_int_equal(EVP_DecodeBlock(sig, (unsigned char *)cut + 8, 88), 66);
	strcpy(cut, "}");
	n = strlen(line);
	assert_int_equal(gg_verify_buf(pub, line, n, sig), 0);
	/* One changed byte (covers 1..3 -> 1..2) no longer verifies. */
	cut = strstr(line, "\"covers\":[1,3]");
	assert_non_null(cut);
	cut[12] = '2';
	assert_int_equal(gg_verify_buf(pub, line, n, sig), -EKEYREJECTED);
	free(line);
	json_decref(ck);
	gg_audit_close(a);
	free_lines(&l);

	/* In the file: one changed byte of the checkpoint (a digit of its ts),
	 * the chain recomputed after it. */
	l = read_lines(f->log);
	assert_int_equal(strncmp(l.v[3], "{\"ts\":\"", 7), 0);
	l.v[3][7 + 25] = l.v[3][7 + 25] == '0' ? '1' : '0';
	rechain(&l, 4);
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "signature");
	assert_int_equal(problem_line(res), 4);
	json_decref(res);
	free_lines(&l);
	EVP_PKEY_free(pub);
}

/* A record altered and the chain recomputed after it: only the checkpoint
 * signature can tell. */
static void verify_detects_recomputed_chain(void **state)
{
	struct fx *f = *state;
	struct gg_audit *a;
	struct lines l;
	json_t *res;

	f->opts.checkpoint_every = 5;
	a = open_log(f);
	append_n(a, 5);
	gg_audit_close(a);
	l = read_lines(f->log);
	assert_int_equal(l.n, 6);
	memcpy(strstr(l.v[2], "\"comm\":\"bash\""), "\"comm\":\"zash\"", 13);
	rechain(&l, 3);
	/* The checkpoint's head must follow too, or the chain check fires. */
	{
		char *h = strstr(l.v[5], "\"head\":\"");
		char hx[65];

		hash_of(l.v[4], hx);
		memcpy(h + 8, hx, 64);
	}
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "signature");
	assert_int_equal(problem_line(res), 6);
	json_decref(res);
	free_lines(&l);
}

static void verify_wrong_key(void **state)
{
	struct fx *f = *state;
	struct gg_audit *a = open_log(f);
	char other[PATH_MAX + 8], other_pub[PATH_MAX + 16];
	char *files[] = { f->log };
	EVP_PKEY *pub;
	json_t *res;

	append_n(a, 2);
	gg_audit_close(a);
	snprintf(other, sizeof(other), "%s/other.pem", f->dir);
	snprintf(other_pub, sizeof(other_pub), "%s.pub", other);
	assert_int_equal(gg_key_generate(other, other_pub, NULL), 0);
	pub = load_pub(other_pub);
	assert_int_equal(gg_audit_verify(files, 1, pub, NULL, NULL, &res, NULL), 0);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "signature");
	json_decref(res);
	/* Without a key the chain is checked, but that is not "intact". */
	assert_int_equal(gg_audit_verify(files, 1, NULL, NULL, NULL, &res, NULL), 0);
	assert_false(intact(res));
	assert_true(json_is_true(json_object_get(res, "chain_intact")));
	assert_string_equal(json_string_value(json_object_get(res, "signatures")), "not checked");
	json_decref(res);
	EVP_PKEY_free(pub);
}

/* 10 records + final checkpoint (line 11). */
static struct lines ten_records(struct fx *f)
{
	struct gg_audit *a = open_log(f);

	append_n(a, 10);
	gg_audit_close(a);
	return read_lines(f->log);
}

static void verify_detects_altered_record(void **state)
{
	struct fx *f = *state;
	struct lines l = ten_records(f);
	json_t *res;
	char *p;

	p = strstr(l.v[4], "\"uid\":0");
	p[6] = '1'; /* uid 0 -> 1 in seq 5 */
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "altered");
	assert_int_equal(problem_line(res), 5);
	assert_int_equal(jint(json_object_get(res, "problem"), "seq"), 5);
	json_decref(res);
	free_lines(&l);
}

static void verify_detects_removed_record(void **state)
{
	struct fx *f = *state;
	struct lines l = ten_records(f);
	json_t *res;

	free(l.v[4]);
	memmove(&l.v[4], &l.v[5], (l.n - 5) * sizeof(*l.v));
	l.n--;
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "removed");
	assert_int_equal(problem_line(res), 5); /* where seq 5 should be */
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(res, "problem"),
								 "expected")), "seq 5,"));
	json_decref(res);
	free_lines(&l);
}

static void verify_detects_swapped_records(void **state)
{
	struct fx *f = *state;
	struct lines l = ten_records(f);
	json_t *res;
	char *t;

	t = l.v[3];
	l.v[3] = l.v[4];
	l.v[4] = t;
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "reordered");
	assert_int_equal(problem_line(res), 4);
	json_decref(res);
	free_lines(&l);

	/* A record moved further away. */
	l = ten_records(f);
	t = l.v[2];
	memmove(&l.v[2], &l.v[3], 5 * sizeof(*l.v));
	l.v[7] = t;
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_string_equal(problem_kind(res), "reordered");
	assert_int_equal(problem_line(res), 3);
	json_decref(res);
	free_lines(&l);
}

static void verify_detects_inserted_record(void **state)
{
	struct fx *f = *state;
	struct lines l = ten_records(f);
	char h[65], *forged;
	json_t *res;

	/* A forged seq 5 that chains properly to seq 4 (the best an attacker
	 * without the key can do), before the genuine seq 5. */
	forged = strdup(l.v[4]);
	memcpy(strstr(forged, "\"uid\":0"), "\"uid\":7", 7);
	hash_of(l.v[3], h);
	set_prev(&forged, h);
	l.v = realloc(l.v, (l.n + 1) * sizeof(*l.v));
	memmove(&l.v[5], &l.v[4], (l.n - 4) * sizeof(*l.v));
	l.v[4] = forged;
	l.n++;
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "inserted");
	assert_int_equal(problem_line(res), 5);
	json_decref(res);

	/* A line of junk between two records. */
	free(l.v[4]);
	l.v[4] = strdup("{\"event\":\"command_denied\",\"note\":\"hello\"}");
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_string_equal(problem_kind(res), "inserted");
	assert_int_equal(problem_line(res), 5);
	json_decref(res);
	free_lines(&l);
}

static void torn_last_line(void **state)
{
	static const char torn[] = "{\"ts\":\"2025-01-01T00:00:00.000000Z\",\"seq\":7,\"ev";
	struct fx *f = *state;
	struct lines l = ten_records(f);
	json_t *res, *t, *cr;
	struct gg_audit *a;
	char h[65];
	int fd;

	free_lines(&l);
	fd = open(f->log, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, torn, strlen(torn)), (ssize_t)strlen(torn));
	close(fd);
	/* At the end of the log: torn, not tampering. */
	res = verify_log(f);
	assert_true(intact(res));
	t = json_array_get(json_object_get(res, "torn"), 0);
	assert_non_null(t);
	assert_int_equal(jint(t, "line"), 12);
	assert_false(json_is_true(json_object_get(t, "resumed")));
	json_decref(res);

	/* Reopen: the torn bytes stay, a chain_resumed accounts for them. */
	a = open_log(f);
	assert_int_equal(gg_audit_last_seq(a), 12);
	append_n(a, 2);
	gg_audit_close(a);
	l = read_lines(f->log);
	assert_int_equal(l.n, 16); /* 11 + torn + resumed + 2 + checkpoint */
	assert_string_equal(l.v[11], torn);
	cr = json_loads(l.v[12], 0, NULL);
	assert_string_equal(json_string_value(json_object_get(cr, "event")), "chain_resumed");
	assert_int_equal(jint(cr, "seq"), 12);
	assert_int_equal(jint(cr, "torn_line"), 12);
	assert_int_equal(jint(cr, "torn_bytes"), strlen(torn));
	hash_of(torn, h);
	assert_string_equal(json_string_value(json_object_get(cr, "torn_sha256")), h);
	hash_of(l.v[10], h); /* the last intact line */
	assert_string_equal(json_string_value(json_object_get(cr, "prev")), h);
	json_decref(cr);
	res = verify_log(f);
	assert_true(intact(res));
	t = json_array_get(json_object_get(res, "torn"), 0);
	assert_true(json_is_true(json_object_get(t, "resumed")));
	assert_true(json_is_true(json_object_get(t, "record_prefix")));
	assert_int_equal(jint(res, "last_seq"), 15);
	assert_int_equal(jint(res, "unsealed_tail"), 0);
	json_decref(res);

	/* The same torn bytes in the middle without their chain_resumed are
	 * not a crash: tampering. */
	free(l.v[12]);
	memmove(&l.v[12], &l.v[13], 3 * sizeof(*l.v));
	l.n--;
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_false(intact(res));
	assert_int_equal(problem_line(res), 12);
	json_decref(res);
	free_lines(&l);
}

/* A complete record that only lacks its newline is intact: the writer adds
 * the newline and chains on. */
static void unterminated_complete_line(void **state)
{
	struct fx *f = *state;
	struct lines l = ten_records(f);
	struct gg_audit *a;
	json_t *res;

	l.trailing_nl = false;
	write_lines(f->log, &l);
	free_lines(&l);
	res = verify_log(f);
	assert_true(intact(res));
	assert_int_equal(json_array_size(json_object_get(res, "torn")), 0);
	json_decref(res);
	a = open_log(f);
	assert_int_equal(gg_audit_last_seq(a), 11);
	append_n(a, 1);
	gg_audit_close(a);
	res = verify_log(f);
	assert_true(intact(res));
	assert_int_equal(jint(res, "last_seq"), 13);
	json_decref(res);
}

static void rotate_across_files(void **state)
{
	struct fx *f = *state;
	struct gg_audit *a;
	struct gg_err err = {};
	char **files = NULL, *rev[64];
	struct lines l;
	json_t *res, *rec;
	size_t n;

	f->opts.rotate_bytes = 1500; /* about two records */
	a = open_log(f);
	for (int i = 0; i < 12; i++) {
		append(a, denial(i, "deny"));
		assert_int_equal(gg_audit_tick(a, &err), 0);
	}
	append_n(a, 1); /* the active file holds records too */
	gg_audit_close(a);
	assert_int_equal(gg_audit_log_files(f->log, &files, &n, &err), 0);
	assert_true(n >= 4 && n < 64);
	assert_string_equal(files[n - 1], f->log);
	/* Each rotated file ends with log_rotated naming it, then a checkpoint. */
	l = read_lines(files[0]);
	assert_true(l.n >= 3);
	rec = json_loads(l.v[l.n - 2], 0, NULL);
	assert_string_equal(json_string_value(json_object_get(rec, "event")), "log_rotated");
	assert_string_equal(json_string_value(json_object_get(rec, "file")),
			    strrchr(files[0], '/') + 1);
	assert_string_equal(json_string_value(json_object_get(rec, "next")), "audit.jsonl");
	json_decref(rec);
	rec = json_loads(l.v[l.n - 1], 0, NULL);
	assert_string_equal(json_string_value(json_object_get(rec, "event")), "checkpoint");
	json_decref(rec);
	free_lines(&l);
	res = verify_files(f, files, n);
	assert_true(intact(res));
	assert_string_equal(json_string_value(json_object_get(res, "chain_start")), "genesis");
	assert_int_equal(json_array_size(json_object_get(res, "files")), n);
	json_decref(res);
	/* Given in any order (a shell glob puts the active file first). */
	for (size_t i = 0; i < n; i++)
		rev[i] = files[n - 1 - i];
	res = verify_files(f, rev, n);
	assert_true(intact(res));
	json_decref(res);
	/* A whole file missing from the middle. */
	memmove(&rev[2], &rev[3], (n - 3) * sizeof(*rev));
	res = verify_files(f, rev, n - 1);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "removed");
	json_decref(res);
	/* The active file alone: a continued chain, still intact. */
	res = verify_files(f, &files[n - 1], 1);
	assert_true(intact(res));
	assert_string_equal(json_string_value(json_object_get(res, "chain_start")), "continued");
	json_decref(res);
	gg_audit_files_free(files, n);
}

/* Crash after the rename, before the new active file had a record. */
static void resume_from_rotated_file(void **state)
{
	struct fx *f = *state;
	struct gg_audit *a;
	char **files = NULL;
	unsigned long long last;
	json_t *res;
	size_t n;

	f->opts.rotate_bytes = 1000;
	a = open_log(f);
	append_n(a, 2);
	assert_int_equal(gg_audit_tick(a, NULL), 0);
	last = gg_audit_last_seq(a);
	gg_audit_close(a);
	assert_int_equal(unlink(f->log), 0);
	a = open_log(f);
	assert_int_equal(gg_audit_last_seq(a), last);
	append_n(a, 1);
	gg_audit_close(a);
	assert_int_equal(gg_audit_log_files(f->log, &files, &n, NULL), 0);
	res = verify_files(f, files, n);
	assert_true(intact(res));
	assert_int_equal(jint(res, "last_seq"), last + 2);
	json_decref(res);
	gg_audit_files_free(files, n);
}

static void retention_deletes_old_files(void **state)
{
	struct fx *f = *state;
	struct gg_audit *a;
	char **files = NULL, stray[PATH_MAX + 8];
	struct timespec old[2];
	size_t n, n2;
	json_t *res;
	int fd;

	f->opts.rotate_bytes = 1000;
	f->opts.retention_days = 7;
	a = open_log(f);
	for (int i = 0; i < 6; i++) {
		append_n(a, 2);
		assert_int_equal(gg_audit_tick(a, NULL), 0);
	}
	append_n(a, 1);
	gg_audit_close(a);
	assert_int_equal(gg_audit_log_files(f->log, &files, &n, NULL), 0);
	assert_int_equal(n, 7); /* 6 rotated + active */
	/* Everything rotated 10 days old, plus a stray file of the same age. */
	snprintf(stray, sizeof(stray), "%s.bak", f->log);
	fd = open(stray, O_WRONLY | O_CREAT, 0600);
	close(fd);
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 10 * 86400;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	for (size_t i = 0; i + 1 < n; i++)
		assert_int_equal(utimensat(AT_FDCWD, files[i], old, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, stray, old, 0), 0);
	/* One older-than-newest rotated file is recent: it stays. */
	assert_int_equal(utimensat(AT_FDCWD, files[n - 3], NULL, 0), 0);
	a = open_log(f);
	gg_audit_close(a);
	for (size_t i = 0; i + 3 < n; i++)
		assert_int_equal(access(files[i], F_OK), -1);
	assert_int_equal(access(files[n - 3], F_OK), 0);
	/* The newest rotated file is kept however old: with an empty active
	 * file it is where the chain continues. */
	assert_int_equal(access(files[n - 2], F_OK), 0);
	assert_int_equal(access(stray, F_OK), 0); /* not ours */
	gg_audit_files_free(files, n);
	assert_int_equal(gg_audit_log_files(f->log, &files, &n2, NULL), 0);
	assert_int_equal(n2, 3);
	res = verify_files(f, files, n2);
	assert_true(intact(res));
	assert_string_equal(json_string_value(json_object_get(res, "chain_start")), "continued");
	json_decref(res);
	gg_audit_files_free(files, n2);
}

static void checkpoint_by_time(void **state)
{
	struct fx *f = *state;
	struct gg_audit *a;
	json_t *res;

	f->opts.checkpoint_secs = 1;
	a = open_log(f);
	append_n(a, 2);
	assert_int_equal(gg_audit_tick(a, NULL), 0);
	res = verify_log(f);
	assert_int_equal(jint(res, "checkpoints"), 0);
	assert_int_equal(jint(res, "unsealed_tail"), 2);
	json_decref(res);
	sleep(1);
	assert_int_equal(gg_audit_tick(a, NULL), 0);
	res = verify_log(f);
	assert_int_equal(jint(res, "checkpoints"), 1);
	assert_int_equal(jint(res, "unsealed_tail"), 0);
	json_decref(res);
	gg_audit_close(a);
}

/* Runs `govgate audit ARGS` with stdout into a file; returns the exit code
 * and (if text) what it printed. */
static int run_audit_cli(struct fx *f, char **argv, char **text)
{
	char out[PATH_MAX + 8];
	struct gg_err err;
	int saved, fd, rc, argc = 0;
	size_t len;

	while (argv[argc])
		argc++;
	snprintf(out, sizeof(out), "%s/stdout", f->dir);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	rc = gg_cmd_audit(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	if (text && gg_read_file(out, text, &len, &err))
		*text = NULL;
	return rc;
}

/* A configuration naming the fixture's log and the given key. */
static void write_config(struct fx *f, const char *path, const char *key)
{
	FILE *c = fopen(path, "w");

	assert_non_null(c);
	fprintf(c, "{\"audit\": {\"path\": \"%s\", \"key\": \"%s\"}}\n", f->log, key);
	fclose(c);
}

/* An altered record with the chain (and the checkpoint's head) recomputed:
 * a chain-only check cannot tell. 5 records + checkpoint. */
static void forge_recomputed(struct fx *f)
{
	struct gg_audit *a;
	struct lines l;
	char hx[65];

	f->opts.checkpoint_every = 5;
	a = open_log(f);
	append_n(a, 5);
	gg_audit_close(a);
	l = read_lines(f->log);
	memcpy(strstr(l.v[2], "\"comm\":\"bash\""), "\"comm\":\"zash\"", 13);
	rechain(&l, 3);
	hash_of(l.v[4], hx);
	memcpy(strstr(l.v[5], "\"head\":\"") + 8, hx, 64);
	write_lines(f->log, &l);
	free_lines(&l);
}

static const char *status_of(json_t *res)
{
	return json_string_value(json_object_get(res, "status"));
}

/* No key is not a pass: "unverified-no-key", exit 3, unless the caller asks
 * for a chain-only check (--no-signatures), which the output labels. */
static void verify_without_key_not_verified(void **state)
{
	struct fx *f = *state;
	char cfg_nokey[PATH_MAX + 16], cfg_key[PATH_MAX + 16], nokey[PATH_MAX + 16];
	struct gg_audit_verify_opts vo = { .chain_only = true };
	char *files[] = { f->log };
	json_t *res;
	char *text;

	forge_recomputed(f);
	/* Library: no key, not asked for: not intact though the chain is. */
	assert_int_equal(gg_audit_verify(files, 1, NULL, NULL, NULL, &res, NULL), 0);
	assert_false(intact(res));
	assert_string_equal(status_of(res), "unverified-no-key");
	assert_true(json_is_true(json_object_get(res, "chain_intact")));
	assert_false(json_is_true(json_object_get(res, "signatures_checked")));
	assert_null(json_object_get(res, "problem"));
	json_decref(res);
	/* Chain only, on purpose: intact, and labelled. */
	assert_int_equal(gg_audit_verify_ex(files, 1, &vo, NULL, NULL, &res, NULL), 0);
	assert_true(intact(res));
	assert_string_equal(status_of(res), "intact-chain-only");
	assert_true(json_is_true(json_object_get(res, "chain_only")));
	json_decref(res);
	/* With the key the forgery shows. */
	res = verify_log(f);
	assert_string_equal(status_of(res), "not-intact");
	assert_string_equal(problem_kind(res), "signature");
	json_decref(res);

	/* CLI, with a configuration whose key has no public file. */
	snprintf(nokey, sizeof(nokey), "%s/nokey.pem", f->dir);
	snprintf(cfg_nokey, sizeof(cfg_nokey), "%s/nokey.json", f->dir);
	snprintf(cfg_key, sizeof(cfg_key), "%s/key.json", f->dir);
	write_config(f, cfg_nokey, nokey);
	write_config(f, cfg_key, f->key);
	{
		char *argv[] = { "audit", "verify", "--config", cfg_nokey, f->log, NULL };

		assert_int_equal(run_audit_cli(f, argv, &text), 3);
		assert_non_null(strstr(text, "signatures NOT checked (no public key at"));
		assert_non_null(strstr(text, "result: NOT VERIFIED (chain intact, signatures not "
					     "checked)"));
		assert_null(strstr(text, "result: INTACT"));
		free(text);
	}
	{
		char *argv[] = { "audit", "verify", "--config", cfg_nokey, "--no-signatures",
				 f->log, NULL };

		assert_int_equal(run_audit_cli(f, argv, &text), 0);
		assert_non_null(strstr(text, "result: INTACT (chain only, signatures not checked)"));
		free(text);
	}
	{
		char *argv[] = { "audit", "verify", "--config", cfg_nokey, "--json", f->log, NULL };

		assert_int_equal(run_audit_cli(f, argv, &text), 3);
		res = json_loads(text, 0, NULL);
		assert_non_null(res);
		assert_false(intact(res));
		assert_string_equal(status_of(res), "unverified-no-key");
		assert_true(json_is_null(json_object_get(res, "key_file")));
		json_decref(res);
		free(text);
	}
	/* The default key comes from the configuration: checked, forgery found. */
	{
		char *argv[] = { "audit", "verify", "--config", cfg_key, f->log, NULL };

		assert_int_equal(run_audit_cli(f, argv, &text), 1);
		assert_non_null(strstr(text, "signatures checked (key sha256:"));
		assert_non_null(strstr(text, "signature"));
		free(text);
	}
	{
		char *argv[] = { "audit", "verify", "--key", f->pub, "--no-signatures", f->log,
				 NULL };

		assert_int_equal(run_audit_cli(f, argv, NULL), 2);
	}
	/* An untouched log with the configured key: INTACT, exit 0. */
	unlink(f->log);
	{
		struct gg_audit *a = open_log(f);
		char *argv[] = { "audit", "verify", "--config", cfg_key, NULL };

		append_n(a, 3);
		gg_audit_close(a);
		assert_int_equal(run_audit_cli(f, argv, &text), 0);
		assert_non_null(strstr(text, "result: INTACT\n"));
		free(text);
	}
}

/* 10 records, checkpoints every 4: 1-4, ckpt 5 [1,4], 6-9, ckpt 10 [6,9],
 * 11-12, ckpt 13 [11,12]. */
static struct lines ckpt4_records(struct fx *f)
{
	struct gg_audit *a;

	f->opts.checkpoint_every = 4;
	a = open_log(f);
	append_n(a, 10);
	gg_audit_close(a);
	return read_lines(f->log);
}

static void drop_first(struct lines *l, size_t k)
{
	for (size_t i = 0; i < k; i++)
		free(l->v[i]);
	memmove(&l->v[0], &l->v[k], (l->n - k) * sizeof(*l->v));
	l->n -= k;
}

/* The first checkpoint proves what the first file started with. */
static void verify_detects_deleted_first_records(void **state)
{
	struct fx *f = *state;
	struct lines l = ckpt4_records(f);
	json_t *res, *p;

	assert_int_equal(l.n, 13);
	drop_first(&l, 1);
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "removed");
	p = json_object_get(res, "problem");
	assert_int_equal(jint(p, "line"), 1);
	assert_int_equal(jint(p, "seq"), 2);
	assert_non_null(strstr(json_string_value(json_object_get(p, "detail")),
			       "seq 1 missing before the first record"));
	json_decref(res);
	/* Three of them. */
	drop_first(&l, 2);
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_string_equal(problem_kind(res), "removed");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(res, "problem"),
								 "detail")), "seq 1..3 missing"));
	json_decref(res);
	/* Everything up to a checkpoint: the file starts right after one, as a
	 * file kept by retention does. Only an anchor can tell (below). */
	drop_first(&l, 2);
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_true(intact(res));
	assert_string_equal(json_string_value(json_object_get(res, "chain_start")), "continued");
	json_decref(res);
	free_lines(&l);
}

static void append_bytes(const char *path, const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, n), (ssize_t)n);
	close(fd);
}

/* No records at all, a file of none in a set, a rotation whose next file
 * is missing. */
static void verify_empty_and_missing_successor(void **state)
{
	struct fx *f = *state;
	char other[PATH_MAX + 16], moved[PATH_MAX + 16], *set[64], **files = NULL;
	struct gg_audit *a;
	struct lines l;
	json_t *res, *p;
	size_t n;

	/* An empty file. */
	a = open_log(f);
	gg_audit_close(a);
	res = verify_log(f);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "empty");
	p = json_object_get(res, "problem");
	assert_int_equal(jint(p, "line"), 0);
	assert_string_equal(json_string_value(json_object_get(p, "found")), "no records");
	assert_non_null(strstr(json_string_value(json_object_get(p, "detail")), "empty"));
	json_decref(res);
	/* Only a torn line. */
	append_bytes(f->log, "{\"ts\":\"2025", 11);
	res = verify_log(f);
	assert_string_equal(problem_kind(res), "empty");
	json_decref(res);
	unlink(f->log);

	/* Three rotations; the active file stays empty (closed right after). */
	f->opts.rotate_bytes = 1000;
	a = open_log(f);
	for (int i = 0; i < 3; i++) {
		append_n(a, 2);
		assert_int_equal(gg_audit_tick(a, NULL), 0);
	}
	gg_audit_close(a);
	assert_int_equal(gg_audit_log_files(f->log, &files, &n, NULL), 0);
	assert_int_equal(n, 4);
	struct stat st;

	assert_int_equal(stat(f->log, &st), 0);
	assert_int_equal(st.st_size, 0);
	/* All of them: the empty active file is where the chain continues. */
	res = verify_files(f, files, n);
	assert_true(intact(res));
	json_decref(res);
	/* Without the active file: the last log_rotated names it. */
	res = verify_files(f, files, n - 1);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "removed");
	p = json_object_get(res, "problem");
	assert_string_equal(json_string_value(json_object_get(p, "file")), files[n - 2]);
	l = read_lines(files[n - 2]);
	assert_int_equal(jint(p, "line"), l.n - 1); /* log_rotated, before its checkpoint */
	free_lines(&l);
	assert_non_null(strstr(json_string_value(json_object_get(p, "detail")), "audit.jsonl"));
	json_decref(res);
	/* The oldest file gone (retention): intact, continued. */
	res = verify_files(f, files + 1, n - 1);
	assert_true(intact(res));
	assert_string_equal(json_string_value(json_object_get(res, "chain_start")), "continued");
	json_decref(res);
	/* A file still named like the active one was never renamed (a rename
	 * that failed): it needs no successor. */
	snprintf(moved, sizeof(moved), "%s/other", f->dir);
	mkdir(moved, 0700);
	snprintf(moved, sizeof(moved), "%s/other/audit.jsonl", f->dir);
	assert_int_equal(rename(files[n - 2], moved), 0);
	set[0] = files[0];
	set[1] = files[1];
	set[2] = moved;
	res = verify_files(f, set, 3);
	assert_true(intact(res));
	json_decref(res);
	assert_int_equal(rename(moved, files[n - 2]), 0);
	/* A stray empty file in the set. */
	snprintf(other, sizeof(other), "%s/stray.jsonl", f->dir);
	append_bytes(other, "", 0);
	memcpy(set, files, n * sizeof(*set));
	set[n] = other;
	res = verify_files(f, set, n + 1);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "empty");
	assert_string_equal(json_string_value(json_object_get(json_object_get(res, "problem"),
							      "file")), other);
	json_decref(res);
	gg_audit_files_free(files, n);
}

/* A last line is torn only if it is a record cut short. */
static void garbage_last_line_not_torn(void **state)
{
	static const struct {
		const char *bytes;
		bool torn;
	} cases[] = {
		{ "garbage\n", false },
		{ "garbage", false },
		{ "{\"ts\":\"2025-01-01\",\"note\":1}\n", false }, /* whole, not a record */
		{ "{\"ts\":\"2025-01-01\",\"note\":1}x", false },
		{ "{\"seq\":12,\"ev", false }, /* not how the writer starts a line */
		{ "{\"ts\":\"2025\x01", false },
		{ "\n", false },
		{ "{\"ts\":\"2025-01-01T00:00:00.0\n", true }, /* terminated on resume */
		{ "{\"ts\":\"2025-01-01T00:00:00.000000Z\",\"seq\":12,\"event\":\"x\",\"n\":[1,"
		  "{\"a\":tr", true },
		{ "{\"ts\":\"2025-01-01T00:00:00.000000Z\",\"seq\":12,\"x\":-1.5e", true },
		{ "{\"t", true },
	};
	struct fx *f = *state;
	struct lines l = ten_records(f);
	json_t *res;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		write_lines(f->log, &l);
		append_bytes(f->log, cases[c].bytes, strlen(cases[c].bytes));
		res = verify_log(f);
		if (intact(res) != cases[c].torn)
			fail_msg("case %zu (%s): intact %d", c, cases[c].bytes, intact(res));
		if (cases[c].torn) {
			assert_int_equal(json_array_size(json_object_get(res, "torn")), 1);
		} else {
			assert_string_equal(problem_kind(res), "altered");
			assert_int_equal(problem_line(res), 12);
		}
		json_decref(res);
	}
	/* Every proper prefix of real lines (a denial with nested arrays and
	 * objects, a checkpoint) is a record cut short. */
	for (size_t w = 4; w <= 10; w += 6) {
		for (size_t k = 1; k < strlen(l.v[w]); k++) {
			write_lines(f->log, &l);
			append_bytes(f->log, l.v[w], k);
			res = verify_log(f);
			if (!intact(res))
				fail_msg("prefix %zu of line %zu is not torn: %s", k, w + 1,
					 problem_kind(res));
			json_decref(res);
		}
	}
	/* The writer resumes after garbage too (it cannot tell): accepted as
	 * torn and resumed, but marked as not the start of a record. */
	write_lines(f->log, &l);
	append_bytes(f->log, "garbage\n", 8);
	gg_audit_close(open_log(f));
	res = verify_log(f);
	assert_true(intact(res));
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(res, "torn"), 0),
						 "resumed")));
	assert_true(json_is_false(json_object_get(json_array_get(json_object_get(res, "torn"), 0),
						  "record_prefix")));
	json_decref(res);
	free_lines(&l);
}

static json_t *verify_anchored(struct fx *f, char **files, size_t n, const char *anchor)
{
	struct gg_audit_verify_opts vo = {};
	struct gg_audit_anchor an;
	json_t *res = NULL;

	assert_int_equal(gg_audit_anchor_parse(anchor, &an), 0);
	vo.pub = load_pub(f->pub);
	vo.anchors = &an;
	vo.n_anchors = 1;
	assert_int_equal(gg_audit_verify_ex(files, n, &vo, NULL, NULL, &res, NULL), 0);
	EVP_PKEY_free(vo.pub);
	return res;
}

static const char *anchor_status(json_t *res)
{
	return json_string_value(
		json_object_get(json_array_get(json_object_get(res, "anchors"), 0), "status"));
}

/* A checkpoint published elsewhere: the log must still hold it. */
static void anchor_match_mismatch(void **state)
{
	struct fx *f = *state;
	char *files[] = { f->log }, anchor[128], head[65], head13[65], *text;
	struct gg_audit_anchor an;
	struct lines l = ckpt4_records(f);
	json_t *res, *ck;

	assert_int_equal(l.n, 13);
	ck = json_loads(l.v[9], 0, NULL);
	assert_string_equal(json_string_value(json_object_get(ck, "event")), "checkpoint");
	assert_int_equal(jint(ck, "seq"), 10);
	snprintf(head, sizeof(head), "%s", json_string_value(json_object_get(ck, "head")));
	json_decref(ck);
	ck = json_loads(l.v[12], 0, NULL);
	snprintf(head13, sizeof(head13), "%s", json_string_value(json_object_get(ck, "head")));
	json_decref(ck);

	/* Format. */
	assert_int_equal(gg_audit_anchor_parse("10:abc", &an), -EINVAL);
	assert_int_equal(gg_audit_anchor_parse("0:" ZERO_HASH, &an), -EINVAL);
	assert_int_equal(gg_audit_anchor_parse("x:" ZERO_HASH, &an), -EINVAL);
	assert_int_equal(gg_audit_anchor_parse("10" ZERO_HASH, &an), -EINVAL);
	assert_int_equal(gg_audit_anchor_parse("-1:" ZERO_HASH, &an), -EINVAL);
	assert_int_equal(gg_audit_anchor_parse(" 1:" ZERO_HASH, &an), -EINVAL);
	assert_int_equal(gg_audit_anchor_parse("10:" ZERO_HASH "0", &an), -EINVAL);

	/* Match; upper case hex is the same head. */
	snprintf(anchor, sizeof(anchor), "10:%s", head);
	res = verify_anchored(f, files, 1, anchor);
	assert_true(intact(res));
	assert_string_equal(anchor_status(res), "matched");
	json_decref(res);
	for (char *p = anchor + 3; *p; p++)
		*p = toupper((unsigned char)*p);
	res = verify_anchored(f, files, 1, anchor);
	assert_true(intact(res));
	json_decref(res);
	/* Another head, or a seq that is not a checkpoint. */
	res = verify_anchored(f, files, 1, "10:" ZERO_HASH);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "anchor");
	assert_int_equal(problem_line(res), 10);
	assert_string_equal(anchor_status(res), "mismatch");
	json_decref(res);
	snprintf(anchor, sizeof(anchor), "9:%s", head);
	res = verify_anchored(f, files, 1, anchor);
	assert_string_equal(problem_kind(res), "anchor");
	json_decref(res);

	/* The end cut off after checkpoint 10: verifies without an anchor (the
	 * limit), not with the last published one. */
	free(l.v[10]);
	free(l.v[11]);
	free(l.v[12]);
	l.n = 10;
	write_lines(f->log, &l);
	res = verify_log(f);
	assert_true(intact(res));
	json_decref(res);
	snprintf(anchor, sizeof(anchor), "13:%s", head13);
	res = verify_anchored(f, files, 1, anchor);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "removed");
	assert_string_equal(anchor_status(res), "missing");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(res, "problem"),
								 "detail")), "removed from the end"));
	json_decref(res);
	/* An anchor older than the files given cannot be checked: an error. */
	drop_first(&l, 5);
	write_lines(f->log, &l);
	snprintf(anchor, sizeof(anchor), "10:%s", head);
	res = verify_anchored(f, files, 1, anchor);
	assert_true(intact(res));
	json_decref(res);
	ck = json_loads(l.v[4], 0, NULL); /* checkpoint 10 is line 5 now */
	assert_int_equal(jint(ck, "seq"), 10);
	json_decref(ck);
	{
		struct lines l2 = ckpt4_records(f);

		ck = json_loads(l2.v[4], 0, NULL);
		snprintf(anchor, sizeof(anchor), "5:%s",
			 json_string_value(json_object_get(ck, "head")));
		json_decref(ck);
		free_lines(&l2);
	}
	write_lines(f->log, &l);
	res = verify_anchored(f, files, 1, anchor);
	assert_false(intact(res));
	assert_string_equal(problem_kind(res), "anchor");
	json_decref(res);
	free_lines(&l);

	/* CLI. */
	{
		char good[128], *argv[] = { "audit", "verify", "--key", f->pub, "--anchor", good,
					    f->log, NULL };

		unlink(f->log);
		l = ckpt4_records(f);
		free_lines(&l);
		snprintf(good, sizeof(good), "10:%s", head);
		/* same records, new timestamps: head of 10 changed */
		assert_int_equal(run_audit_cli(f, argv, &text), 1);
		assert_non_null(strstr(text, ": mismatch"));
		free(text);
		l = read_lines(f->log);
		ck = json_loads(l.v[9], 0, NULL);
		snprintf(good, sizeof(good), "10:%s", json_string_value(json_object_get(ck, "head")));
		json_decref(ck);
		free_lines(&l);
		assert_int_equal(run_audit_cli(f, argv, &text), 0);
		assert_non_null(strstr(text, ": matched\n"));
		assert_non_null(strstr(text, "result: INTACT\n"));
		free(text);
		argv[5] = "10:nothex";
		assert_int_equal(run_audit_cli(f, argv, NULL), 2);
	}
}

static size_t count_lines(const char *path)
{
	struct lines l = read_lines(path);
	size_t n = l.n;

	free_lines(&l);
	return n;
}

/* tail -f with several rotations between two of its polls: every line of
 * every file, in order. The follower is stopped while the log rotates. */
static void tail_follows_every_rotation(void **state)
{
	struct fx *f = *state;
	char out[PATH_MAX + 8], **files = NULL;
	unsigned long long last;
	struct gg_audit *a;
	struct lines l;
	size_t n;
	pid_t pid;
	int st;

	snprintf(out, sizeof(out), "%s/tail.out", f->dir);
	f->opts.rotate_bytes = 1000;
	a = open_log(f);
	append_n(a, 1);
	assert_int_equal(gg_audit_flush(a, false, NULL), 0);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		char *argv[] = { "audit", "tail", "-f", "--json", "-n", "100", f->log, NULL };
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, STDOUT_FILENO);
		close(fd);
		_exit(gg_cmd_audit(7, argv));
	}
	for (int i = 0; i < 500 && (access(out, F_OK) || count_lines(out) < 1); i++)
		usleep(10000);
	usleep(50000); /* now in its poll loop */
	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
	for (int i = 0; i < 4; i++) {
		append_n(a, 2);
		assert_int_equal(gg_audit_tick(a, NULL), 0);
	}
	append_n(a, 1);
	assert_int_equal(gg_audit_flush(a, false, NULL), 0);
	last = gg_audit_last_seq(a);
	assert_int_equal(gg_audit_log_files(f->log, &files, &n, NULL), 0);
	assert_true(n >= 4); /* three rotations or more while it was stopped */
	gg_audit_files_free(files, n);
	assert_int_equal(kill(pid, SIGCONT), 0);
	for (int i = 0; i < 300 && count_lines(out) < last; i++)
		usleep(10000);
	usleep(100000);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	gg_audit_close(a);
	l = read_lines(out);
	for (size_t i = 0; i < l.n; i++) {
		json_t *rec = json_loads(l.v[i], 0, NULL);

		assert_non_null(rec);
		if ((unsigned long long)jint(rec, "seq") != i + 1)
			fail_msg("line %zu of tail -f is seq %lld", i + 1, jint(rec, "seq"));
		json_decref(rec);
	}
	assert_int_equal(l.n, last);
	free_lines(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(record_format, setup, teardown),
		cmocka_unit_test_setup_teardown(log_not_symlink_or_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(non_utf8_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(chain_continues_across_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(checkpoint_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(verify_detects_recomputed_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(verify_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(verify_detects_altered_record, setup, teardown),
		cmocka_unit_test_setup_teardown(verify_detects_removed_record, setup, teardown),
		cmocka_unit_test_setup_teardown(verify_detects_swapped_records, setup, teardown),
		cmocka_unit_test_setup_teardown(verify_detects_inserted_record, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_last_line, setup, teardown),
		cmocka_unit_test_setup_teardown(unterminated_complete_line, setup, teardown),
		cmocka_unit_test_setup_teardown(rotate_across_files, setup, teardown),
		cmocka_unit_test_setup_teardown(resume_from_rotated_file, setup, teardown),
		cmocka_unit_test_setup_teardown(retention_deletes_old_files, setup, teardown),
		cmocka_unit_test_setup_teardown(checkpoint_by_time, setup, teardown),
		cmocka_unit_test_setup_teardown(verify_without_key_not_verified, setup, teardown),
		cmocka_unit_test_setup_teardown(verify_detects_deleted_first_records, setup,
						teardown),
		cmocka_unit_test_setup_teardown(verify_empty_and_missing_successor, setup, teardown),
		cmocka_unit_test_setup_teardown(garbage_last_line_not_torn, setup, teardown),
		cmocka_unit_test_setup_teardown(anchor_match_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(tail_follows_every_rotation, setup, teardown),
	};

	return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
