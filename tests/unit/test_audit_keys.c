// SPDX-License-Identifier: GPL-2.0
/*
 * Per-boot audit keys (issue 13, attack 7): a log signed by a chain of
 * keys that never touched a disk verifies given the first public key (or
 * the published list); a key is trusted from the first only through an
 * announcement the previous key signed, and a forged link is refused.
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

#include "fixture.h"

#include "audit.h"
#include "sign.h"

struct fx {
	char dir[PATH_MAX];
	char log[PATH_MAX + 16];
	EVP_PKEY *k[3];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	unsigned char seed[32];
	struct gg_err err;

	snprintf(f->dir, sizeof(f->dir), "/tmp/gg_akeys_XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/audit.jsonl", f->dir);
	for (int i = 0; i < 3; i++)
		if (gg_ed25519_generate(&f->k[i], seed, &err))
			return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 3; i++)
		EVP_PKEY_free(f->k[i]);
	fx_rm_tree(f->dir);
	free(f);
	return 0;
}

/* One daemon run: opens the log with key, announces it (signed by prev
 * when given; by forger instead, to play the attacker), appends n records
 * and closes (a final checkpoint signed by key). */
static void run(struct fx *f, EVP_PKEY *key, EVP_PKEY *prev, EVP_PKEY *forger, int n)
{
	struct gg_audit_opts o = { .path = f->log, .key = key };
	struct gg_audit *a;
	struct gg_err err;
	json_t *rec;

	assert_int_equal(gg_audit_open(&o, &a, &err), 0);
	rec = gg_audit_key_record(key, forger ?: prev, 1, &err);
	assert_non_null(rec);
	if (forger) {
		char fp[65];

		/* Claims prev signed it: only the signature is the forger's. */
		assert_int_equal(gg_key_fingerprint(prev, fp, &err), 0);
		json_object_set_new(rec, "previous", json_string(fp));
	}
	assert_int_equal(gg_audit_append(a, rec, NULL, &err), 0);
	json_decref(rec);
	for (int i = 0; i < n; i++) {
		rec = json_pack("{s:s, s:i}", "event", "agent_started", "pid", 100 + i);
		assert_int_equal(gg_audit_append(a, rec, NULL, &err), 0);
		json_decref(rec);
	}
	assert_int_equal(gg_audit_checkpoint(a, &err), 0);
	gg_audit_close(a);
}

static json_t *verify(struct fx *f, EVP_PKEY *const *keys, size_t n)
{
	struct gg_audit_verify_opts o = { .more_keys = keys, .n_more_keys = n };
	char *files[] = { f->log };
	json_t *res = NULL;
	struct gg_err err;

	assert_int_equal(gg_audit_verify_ex(files, 1, &o, NULL, NULL, &res, &err), 0);
	return res;
}

static bool intact(json_t *res)
{
	bool ok = json_is_true(json_object_get(res, "intact"));

	json_decref(res);
	return ok;
}

/* Key 1, then 2 announced by 1, then 3 by 2: the first key alone is
 * enough; the keys were never in a file. */
static void chain_from_first_key(void **state)
{
	struct fx *f = *state;
	json_t *res;

	run(f, f->k[0], NULL, NULL, 3);
	run(f, f->k[1], f->k[0], NULL, 3);
	run(f, f->k[2], f->k[1], NULL, 3);
	res = verify(f, &f->k[0], 1);
	assert_true(json_is_true(json_object_get(res, "intact")));
	assert_int_equal(json_array_size(json_object_get(res, "keys_announced")), 2);
	json_decref(res);
	/* Given another first key: nothing is trusted. */
	assert_false(intact(verify(f, &f->k[2], 1)));
}

/* A link the previous key did not sign: the key it claims to introduce
 * is not trusted, and the forgery itself is a problem. */
static void forged_link_refused(void **state)
{
	struct fx *f = *state;
	json_t *res;
	char *problem;

	run(f, f->k[0], NULL, NULL, 2);
	run(f, f->k[1], f->k[0], f->k[1], 2); /* self-signed, claims key 1 */
	res = verify(f, &f->k[0], 1);
	assert_false(json_is_true(json_object_get(res, "intact")));
	problem = json_dumps(json_object_get(res, "problem"), 0);
	assert_non_null(problem);
	assert_non_null(strstr(problem, "forged"));
	free(problem);
	assert_int_equal(json_array_size(json_object_get(res, "keys_announced")), 0);
	json_decref(res);
}

/* An unsigned announcement (a restart with no previous key at hand) needs
 * its own published anchor: with both keys the log verifies. */
static void unsigned_link_needs_anchor(void **state)
{
	struct fx *f = *state;

	run(f, f->k[0], NULL, NULL, 2);
	run(f, f->k[1], NULL, NULL, 2);
	assert_false(intact(verify(f, &f->k[0], 1)));
	assert_true(intact(verify(f, f->k, 2)));
}

/* The hex form published is the key: round trip, and malformed input. */
static void public_hex_round_trip(void **state)
{
	struct fx *f = *state;
	char hex[65], fp1[65], fp2[65];
	struct gg_err err;
	EVP_PKEY *back;

	assert_int_equal(gg_ed25519_public_hex(f->k[0], hex), 0);
	back = gg_ed25519_from_public_hex(hex);
	assert_non_null(back);
	assert_int_equal(gg_key_fingerprint(f->k[0], fp1, &err), 0);
	assert_int_equal(gg_key_fingerprint(back, fp2, &err), 0);
	assert_string_equal(fp1, fp2);
	EVP_PKEY_free(back);
	hex[63] = 'g';
	assert_null(gg_ed25519_from_public_hex(hex));
	hex[63] = '\0';
	assert_null(gg_ed25519_from_public_hex(hex));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(chain_from_first_key, setup, teardown),
		cmocka_unit_test_setup_teardown(forged_link_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(unsigned_link_needs_anchor, setup, teardown),
		cmocka_unit_test_setup_teardown(public_hex_round_trip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
