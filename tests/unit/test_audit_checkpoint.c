// SPDX-License-Identifier: GPL-2.0
/*
 * A checkpoint line's exact bytes: the writer formats it directly
 * (audit.c write_checkpoint), not through the jansson path every other
 * record takes (format_line: an ordered object dumped compact). Both must
 * give the same bytes, and the signature must cover them.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "fixture.h"

#include "audit.h"
#include "sign.h"

/* format_line's line for a parsed checkpoint: ts, seq, event, the listed
 * keys (covers, head, key), prev, dumped compact. */
static char *jansson_line(json_t *ck)
{
	static const char *const order[] = { "ts", "seq", "event", "covers", "head", "key",
					     "prev" };
	json_t *o = json_object();
	char *s;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		json_object_set(o, order[i], json_object_get(ck, order[i]));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* Checks one checkpoint line; 1 if it was one. */
static int check_line(char *line, EVP_PKEY *pub)
{
	unsigned char sig[64];
	char *cut = strstr(line, ",\"sig\":\""), *want;
	json_t *ck = json_loads(line, 0, NULL);
	int is_ckpt;

	assert_non_null(ck);
	is_ckpt = !strcmp(json_string_value(json_object_get(ck, "event")), "checkpoint");
	if (!is_ckpt) {
		json_decref(ck);
		return 0;
	}
	assert_non_null(cut);
	assert_int_equal(EVP_DecodeBlock(sig, (unsigned char *)cut + 8, 88), 66);
	strcpy(cut, "}"); /* the signed bytes: the line without its sig */
	want = jansson_line(ck);
	assert_string_equal(line, want);
	assert_int_equal(gg_verify_buf(pub, line, strlen(line), sig), 0);
	free(want);
	json_decref(ck);
	return 1;
}

static void checkpoint_bytes(void **state)
{
	char dir[] = "/tmp/gg_ckpt_XXXXXX", log[PATH_MAX], key[PATH_MAX], pub_path[PATH_MAX];
	struct gg_audit_opts o = { .checkpoint_every = 2 };
	struct gg_audit *a = NULL;
	struct gg_err err = {};
	EVP_PKEY *pub = NULL;
	char *buf, *line, *save;
	int n = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(pub_path, sizeof(pub_path), "%s.pub", key);
	o.path = log;
	o.key_path = key;
	if (gg_audit_open(&o, &a, &err))
		fail_msg("gg_audit_open: %s", err.msg);
	for (int i = 0; i < 5; i++) {
		json_t *rec = json_pack("{s:s, s:i}", "event", "test", "i", i);

		if (gg_audit_append(a, rec, NULL, &err))
			fail_msg("gg_audit_append: %s", err.msg);
		json_decref(rec);
	}
	gg_audit_close(a); /* and its checkpoint */
	if (gg_key_load_public(pub_path, &pub, &err))
		fail_msg("%s", err.msg);
	buf = fx_slurp(log, NULL);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		n += check_line(line, pub);
	assert_int_equal(n, 3); /* after records 1-2, 3-4, and 5 at close */
	free(buf);
	EVP_PKEY_free(pub);
	fx_rm_tree(dir);
}

struct published {
	const char *log;
	unsigned long long seq[512];
	int n;
};

/* An anchor: its checkpoint is in the file by now, after the last one. */
static void on_checkpoint(const struct gg_checkpoint_info *ck, void *ctx)
{
	struct published *p = ctx;
	char want[64], *buf = fx_slurp(p->log, NULL);

	snprintf(want, sizeof(want), "\"seq\":%llu,\"event\":\"checkpoint\"", ck->seq);
	assert_non_null(strstr(buf, want));
	assert_true(p->n < 512);
	assert_true(!p->n || ck->seq > p->seq[p->n - 1]);
	p->seq[p->n++] = ck->seq;
	free(buf);
}

/* Checkpoints falling due while records keep coming are fsynced by the
 * writer's syncer thread (audit.c struct syncer): each is still published
 * once, in order, none lost when close comes while one is in flight. */
static void checkpoints_published(void **state)
{
	char dir[] = "/tmp/gg_ckpt_XXXXXX", log[PATH_MAX], key[PATH_MAX];
	struct published p = { .log = log };
	struct gg_audit_opts o = { .checkpoint_every = 2, .on_checkpoint = on_checkpoint,
				   .on_checkpoint_ctx = &p };
	struct gg_audit *a = NULL;
	struct gg_err err = {};
	char *buf, *line, *save;
	int n = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	o.path = log;
	o.key_path = key;
	if (gg_audit_open(&o, &a, &err))
		fail_msg("gg_audit_open: %s", err.msg);
	for (int i = 0; i < 300; i++) {
		json_t *rec = json_pack("{s:s, s:i}", "event", "test", "i", i);

		if (gg_audit_append(a, rec, NULL, &err))
			fail_msg("gg_audit_append: %s", err.msg);
		json_decref(rec);
		if (i % 30 == 29)
			usleep(60000); /* an fsync falls due (one per 50 ms) */
	}
	assert_true(p.n > 0); /* published while appending, not only at close */
	gg_audit_close(a);
	buf = fx_slurp(log, NULL);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *r = json_loads(line, 0, NULL);

		assert_non_null(r);
		if (!strcmp(json_string_value(json_object_get(r, "event")), "checkpoint")) {
			assert_true(n < p.n);
			assert_int_equal(json_integer_value(json_object_get(r, "seq")), p.seq[n]);
			n++;
		}
		json_decref(r);
	}
	assert_int_equal(n, p.n);
	assert_int_equal(n, 150); /* one per 2 records, none left for close */
	free(buf);
	fx_rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checkpoint_bytes),
		cmocka_unit_test(checkpoints_published),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
