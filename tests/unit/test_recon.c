// SPDX-License-Identifier: GPL-2.0
/*
 * Reconciliation (user/lost.c, issue 13 attack 6): records the gates wrote
 * that the daemon never received become counted losses, across restarts,
 * reboots and counter resets, and a state file the daemon did not write
 * (edited, replayed, deleted, signed by another key) can only make it
 * count more losses, never fewer. The daemon's own steps are replayed here
 * with the real audit writer's key (gg_audit_sign_blob / verify_blob).
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

#include "audit.h"
#include "lost.h"

struct fx {
	char dir[PATH_MAX];
	char state[PATH_MAX];
	struct gg_audit *a;
};

static struct gg_audit *open_log(const char *dir, const char *name)
{
	char log[PATH_MAX + 32], key[PATH_MAX + 32];
	struct gg_audit_opts o = {};
	struct gg_audit *a = NULL;
	struct gg_err err;

	snprintf(log, sizeof(log), "%s/%s.jsonl", dir, name);
	snprintf(key, sizeof(key), "%s/%s-key.pem", dir, name);
	o.path = log;
	o.key_path = key;
	if (gg_audit_open(&o, &a, &err))
		fail_msg("gg_audit_open: %s", err.msg);
	return a;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/gg_recon_XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	mkdir(f->state, 0700);
	f->a = open_log(f->dir, "audit");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	gg_audit_close(f->a);
	fx_rm_tree(f->dir);
	free(f);
	return 0;
}

/* What the daemon does on save (recon_sign_state, then gg_dstate_save). */
static void save_signed(struct fx *f, struct gg_audit *a, struct gg_dstate *st)
{
	char msg[512];
	struct gg_err err;

	st->have_accounted = true;
	assert_true(gg_dstate_message(st, msg, sizeof(msg)) > 0);
	assert_int_equal(gg_audit_sign_blob(a, msg, strlen(msg), st->sig, st->sig_key, &err), 0);
	assert_int_equal(gg_dstate_save(f->state, st, &err), 0);
}

/* What a start does (recon_start): load, verify, baseline. */
static enum gg_recon_basis start(struct fx *f, const char *identity,
				 const __u64 written[GG_GATE_COUNT], __u64 base[GG_GATE_COUNT])
{
	struct gg_dstate st;
	struct gg_err err;
	char msg[512];
	bool trusted;

	gg_dstate_load(f->state, &st, &err);
	trusted = gg_dstate_message(&st, msg, sizeof(msg)) > 0 &&
		  gg_audit_verify_blob(f->a, msg, strlen(msg), st.sig, st.sig_key);
	return gg_recon_baseline(&st, trusted, identity, written, base);
}

/* One tick: missing = written (a tick ago) - accounted, then accounted. */
static __u64 tick(__u64 written, __u64 *accounted)
{
	__u64 miss = gg_recon_missing(written, *accounted);

	*accounted += miss;
	return miss;
}

/* Run, skip, stop, restart: only the records skipped are lost, once. */
static void test_recon_restart(void **state)
{
	struct fx *f = *state;
	__u64 written[GG_GATE_COUNT] = { 10, 4, 0 }, base[GG_GATE_COUNT];
	struct gg_dstate st = {};
	__u64 acc;

	/* First run: 7 of the 10 exec records received, 3 skipped. */
	acc = 7;
	assert_int_equal(tick(written[GG_GATE_EXEC], &acc), 3);
	assert_int_equal(tick(written[GG_GATE_EXEC], &acc), 0); /* counted once */
	/* Records counted after the read and already received: ahead, no loss. */
	assert_int_equal(gg_recon_missing(10, 12), 0);
	snprintf(st.counters, sizeof(st.counters), "boot-1:42");
	st.accounted[GG_GATE_EXEC] = acc;
	st.accounted[GG_GATE_EGRESS] = 4;
	st.unreceived[GG_GATE_EXEC] = 3;
	save_signed(f, f->a, &st);

	/* Restart: 5 more exec records written meanwhile, all received. */
	written[GG_GATE_EXEC] = 15;
	assert_int_equal(start(f, "boot-1:42", written, base), GG_RECON_SAVED);
	assert_int_equal(base[GG_GATE_EXEC], 10);
	assert_int_equal(base[GG_GATE_EGRESS], 4);
	acc = base[GG_GATE_EXEC] + 5;
	assert_int_equal(tick(written[GG_GATE_EXEC], &acc), 0);
	/* ... or 2 of them skipped while it was down: exactly those. */
	acc = base[GG_GATE_EXEC] + 3;
	assert_int_equal(tick(written[GG_GATE_EXEC], &acc), 2);
}

/* A reboot, another counters map, a counter reset: start from 0. */
static void test_recon_reset(void **state)
{
	struct fx *f = *state;
	__u64 written[GG_GATE_COUNT] = { 10, 4, 1 }, base[GG_GATE_COUNT];
	struct gg_dstate st = {};

	snprintf(st.counters, sizeof(st.counters), "boot-1:42");
	st.accounted[GG_GATE_EXEC] = 10;
	st.accounted[GG_GATE_EGRESS] = 4;
	save_signed(f, f->a, &st);

	assert_int_equal(start(f, "boot-2:42", written, base), GG_RECON_OTHER_MAP);
	assert_int_equal(base[GG_GATE_EXEC], 0);
	assert_int_equal(start(f, "boot-1:43", written, base), GG_RECON_OTHER_MAP);
	assert_int_equal(start(f, "", written, base), GG_RECON_OTHER_MAP);
	/* Same identity, but a counter below the saved figure: not this map's
	 * counts, that gate starts at 0; the others keep theirs. */
	written[GG_GATE_EXEC] = 6;
	assert_int_equal(start(f, "boot-1:42", written, base), GG_RECON_SAVED);
	assert_int_equal(base[GG_GATE_EXEC], 0);
	assert_int_equal(base[GG_GATE_EGRESS], 4);
	/* Nothing saved: 0 (counting from now would hide what came before). */
	{
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/" GG_DSTATE_FILE, f->state);
		unlink(path);
	}
	assert_int_equal(start(f, "boot-1:42", written, base), GG_RECON_NONE);
	assert_int_equal(base[GG_GATE_EGRESS], 0);
}

/* Edit the saved file as an attacker with write access to the state
 * directory would. */
static void edit_state(struct fx *f, const char *from, const char *to)
{
	char path[PATH_MAX + 32], *s, *p;
	size_t len;

	snprintf(path, sizeof(path), "%s/" GG_DSTATE_FILE, f->state);
	s = fx_slurp(path, &len);
	p = strstr(s, from);
	assert_non_null(p);
	{
		char *out = NULL;

		assert_true(asprintf(&out, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from)) > 0);
		fx_put(path, out);
		free(out);
	}
	free(s);
}

/* Tampering can only raise the losses counted: an edited figure, a
 * removed or foreign signature, each start from 0; a replayed older file
 * (signed, lower figures) counts more. */
static void test_recon_tampered(void **state)
{
	struct fx *f = *state;
	__u64 written[GG_GATE_COUNT] = { 100, 0, 0 }, base[GG_GATE_COUNT];
	struct gg_dstate st = {};
	struct gg_audit *other;
	char path[PATH_MAX + 32], *old;
	size_t old_len;

	snprintf(st.counters, sizeof(st.counters), "boot-1:42");
	st.accounted[GG_GATE_EXEC] = 40;
	save_signed(f, f->a, &st);
	snprintf(path, sizeof(path), "%s/" GG_DSTATE_FILE, f->state);
	old = fx_slurp(path, &old_len);
	st.accounted[GG_GATE_EXEC] = 90;
	save_signed(f, f->a, &st);
	assert_int_equal(start(f, "boot-1:42", written, base), GG_RECON_SAVED);
	assert_int_equal(base[GG_GATE_EXEC], 90);

	/* Raised to hide 10 losses: the signature no longer covers it. */
	edit_state(f, "\"cmd.exec\":90", "\"cmd.exec\":100");
	assert_int_equal(start(f, "boot-1:42", written, base), GG_RECON_UNTRUSTED);
	assert_int_equal(base[GG_GATE_EXEC], 0);
	/* The drops reported are covered too. */
	save_signed(f, f->a, &st);
	edit_state(f, "\"reported\":{\"cmd.exec\":0", "\"reported\":{\"cmd.exec\":5");
	assert_int_equal(start(f, "boot-1:42", written, base), GG_RECON_UNTRUSTED);

	/* Re-signed with a key of the attacker's own. */
	other = open_log(f->dir, "attacker");
	st.accounted[GG_GATE_EXEC] = 100;
	save_signed(f, other, &st);
	gg_audit_close(other);
	assert_int_equal(start(f, "boot-1:42", written, base), GG_RECON_UNTRUSTED);
	assert_int_equal(base[GG_GATE_EXEC], 0);

	/* The signature removed. */
	save_signed(f, f->a, &st);
	edit_state(f, "\"signature\"", "\"signaturX\"");
	assert_int_equal(start(f, "boot-1:42", written, base), GG_RECON_UNTRUSTED);

	/* An older file of the daemon's own, replayed: lower, so more lost. */
	fx_put(path, old);
	assert_int_equal(start(f, "boot-1:42", written, base), GG_RECON_SAVED);
	assert_int_equal(base[GG_GATE_EXEC], 40);
	free(old);
}

/* The signed bytes name every figure, so none can move alone. */
static void test_recon_message(void **state)
{
	struct gg_dstate a = {}, b;
	char ma[512], mb[512];

	(void)state;
	snprintf(a.counters, sizeof(a.counters), "boot-1:42");
	a.accounted[GG_GATE_MODULE] = 3;
	a.unreceived[GG_GATE_EGRESS] = 2;
	a.reported[GG_GATE_EXEC] = 1;
	assert_true(gg_dstate_message(&a, ma, sizeof(ma)) > 0);
	b = a;
	b.accounted[GG_GATE_MODULE]++;
	gg_dstate_message(&b, mb, sizeof(mb));
	assert_string_not_equal(ma, mb);
	b = a;
	b.unreceived[GG_GATE_EGRESS]++;
	gg_dstate_message(&b, mb, sizeof(mb));
	assert_string_not_equal(ma, mb);
	b = a;
	b.reported[GG_GATE_EXEC]++;
	gg_dstate_message(&b, mb, sizeof(mb));
	assert_string_not_equal(ma, mb);
	b = a;
	b.counters[5] = '2';
	gg_dstate_message(&b, mb, sizeof(mb));
	assert_string_not_equal(ma, mb);
	assert_int_equal(gg_dstate_message(&a, ma, 16), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_recon_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recon_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recon_tampered, setup, teardown),
		cmocka_unit_test(test_recon_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
