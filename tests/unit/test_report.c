// SPDX-License-Identifier: GPL-2.0
/*
 * Compliance report: window filtering, deny vs observe, exact counts by
 * control, framework and gate, the enabled packs, and refusal of a log
 * that fails verification.
 */
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
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fixture.h"
#include "cli.h"

#include "apply.h"
#include "audit.h"
#include "event.h"
#include "sign.h"

struct fx {
	char dir[PATH_MAX];
	char log[PATH_MAX];
	char key[PATH_MAX];
	char pub[PATH_MAX];
	char out[PATH_MAX];
};

static json_t *denial(const char *ts, const char *event, const char *gate, const char *action,
		      json_t *controls, json_t *frameworks)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:i, s:s}", "ts", ts,
			 "event", event, "gate", gate, "action", action, "mechanism", "lsm",
			 "generation", (json_int_t)1, "rule", "r1", "controls", controls,
			 "frameworks", frameworks, "pid", 42, "comm", "agent");
}

/* The log every test reports on (see the expected figures in each test). */
static int setup(void **state)
{
	struct gg_audit_opts o = {};
	struct fx *f = calloc(1, sizeof(*f));
	struct gg_audit *a;
	struct gg_err err = {};
	json_t *recs[11];
	int ret = 0;

	snprintf(f->dir, sizeof(f->dir), "/tmp/gg_report_XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/audit.jsonl", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/audit-key.pem", f->dir);
	snprintf(f->pub, sizeof(f->pub), "%s.pub", f->key);
	snprintf(f->out, sizeof(f->out), "%s/stdout", f->dir);
	o.path = f->log;
	o.key_path = f->key;
	o.checkpoint_every = 4;
	if (gg_audit_open(&o, &a, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	recs[0] = json_pack("{s:s, s:s, s:[s,s], s:I, s:s, s:s, s:[{s:s, s:s, s:[s], s:[s]}]}",
			    "ts", "2025-01-01T00:00:00Z", "event", "policy_applied", "refs",
			    "soc2@1.0", "floor", "generation", (json_int_t)1, "mode", "enforce",
			    "who", "root", "packs", "ref", "soc2@1.0", "framework", "SOC2",
			    "enforced", "SOC2-CC6.1", "advisory", "SOC2-CC7.2");
	recs[1] = denial("2025-01-02T00:00:00.000000Z", "command_denied", "cmd.exec", "deny",
			 json_pack("[s,s]", "SOC2-CC6.1", "ISO-A.8.20"),
			 json_pack("[s,s]", "ISO27001", "SOC2"));
	recs[2] = denial("2025-01-03T00:00:00.000000Z", "egress_blocked", "net.egress", "deny",
			 json_pack("[s]", "SOC2-CC6.6"), json_pack("[s]", "SOC2"));
	recs[3] = denial("2025-01-04T00:00:00.000000Z", "egress_blocked", "net.egress", "deny",
			 json_pack("[s]", "SOC2-CC6.6"), json_pack("[s]", "SOC2"));
	recs[4] = denial("2025-01-04T12:00:00.000000Z", "command_denied", "cmd.exec", "observe",
			 json_pack("[s]", "SOC2-CC6.1"), json_pack("[s]", "SOC2"));
	recs[5] = denial("2025-01-05T00:00:00.000000Z", "module_blocked", "kernel.module", "deny",
			 json_pack("[s]", "PLAT-1"), json_pack("[s]", "platform"));
	recs[6] = json_pack("{s:s, s:s, s:s, s:i}", "ts", "2025-01-05T06:00:00.000000Z", "event",
			    "events_lost", "gate", "net.egress", "count", 5);
	/* refs as the daemon writes them: {ref, mode}. */
	recs[7] = json_pack("{s:s, s:s, s:[{s:s, s:s}], s:I, s:s, s:s}", "ts",
			    "2025-01-06T12:00:00Z", "event", "policy_applied", "refs", "ref",
			    "hipaa@2.0", "mode", "observe", "generation",
			    (json_int_t)2, "mode", "observe", "who", "ops");
	recs[8] = denial("2025-01-07T00:00:00.000000Z", "command_denied", "cmd.exec", "deny",
			 json_pack("[s]", "HIPAA-1"), json_pack("[s]", "HIPAA"));
	recs[9] = denial("2025-01-08T00:00:00.000000Z", "egress_blocked", "net.egress", "observe",
			 json_pack("[s]", "HIPAA-2"), json_pack("[s]", "HIPAA"));
	recs[10] = json_pack("{s:s, s:s, s:[s], s:s}", "ts", "2025-01-08T01:00:00Z", "event",
			     "policy_apply_failed", "refs", "bad@1.0", "error", "no such pack");
	for (int i = 0; i < 11; i++) {
		if (!ret && gg_audit_append(a, recs[i], NULL, &err)) {
			fprintf(stderr, "%s\n", err.msg);
			ret = -1;
		}
		json_decref(recs[i]);
	}
	gg_audit_close(a);
	*state = f;
	return ret;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fx_rm_tree(f->dir);
	free(f);
	return 0;
}

static json_t *build(struct fx *f, const char *start, const char *end)
{
	struct gg_report_opts o = {};
	char *files[] = { f->log };
	struct gg_err err = {};
	json_t *rep = NULL;

	if (start) {
		assert_int_equal(gg_time_parse_us(start, &o.start_us), 0);
		o.has_start = true;
	}
	if (end) {
		assert_int_equal(gg_time_parse_us(end, &o.end_us), 0);
		o.has_end = true;
	}
	assert_int_equal(gg_key_load_public(f->pub, &o.pub, &err), 0);
	if (gg_report_build(files, 1, &o, &rep, &err))
		fail_msg("gg_report_build: %s", err.msg);
	EVP_PKEY_free(o.pub);
	return rep;
}

static long long jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* Asserts arr == [{name: k0, count: c0}, ...] exactly, in order. */
static void assert_counts(const json_t *arr, const char *name, ...)
{
	size_t i = 0;
	va_list ap;
	const char *k;

	va_start(ap, name);
	while ((k = va_arg(ap, const char *))) {
		long long c = va_arg(ap, int);
		json_t *e = json_array_get(arr, i++);

		if (!e)
			fail_msg("missing %s %s", name, k);
		assert_string_equal(json_string_value(json_object_get(e, name)), k);
		assert_int_equal(jint(e, "count"), c);
	}
	va_end(ap);
	assert_int_equal(json_array_size(arr), i);
}

static void assert_gate(const json_t *arr, size_t i, const char *cat, const char *gate,
			const char *event, long long count)
{
	json_t *e = json_array_get(arr, i);

	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "category")), cat);
	assert_string_equal(json_string_value(json_object_get(e, "gate")), gate);
	assert_string_equal(json_string_value(json_object_get(e, "event")), event);
	assert_int_equal(jint(e, "count"), count);
}

static void window_counts(void **state)
{
	struct fx *f = *state;
	json_t *r = build(f, "2025-01-02", "2025-01-06T00:00:00Z"), *w, *g;

	assert_true(json_is_true(json_object_get(r, "verified")));
	w = json_object_get(r, "window");
	assert_string_equal(json_string_value(json_object_get(w, "start")),
			    "2025-01-02T00:00:00.000000Z");
	assert_string_equal(json_string_value(json_object_get(w, "end")),
			    "2025-01-06T00:00:00.000000Z");
	assert_int_equal(jint(w, "records"), 6); /* recs 1..6 */
	/* Denials: deny only, inside the window. */
	assert_int_equal(jint(r, "denials_total"), 4);
	assert_counts(json_object_get(r, "denials_by_control"), "control", "SOC2-CC6.6", 2,
		      "ISO-A.8.20", 1, "PLAT-1", 1, "SOC2-CC6.1", 1, NULL);
	assert_counts(json_object_get(r, "denials_by_framework"), "framework", "SOC2", 3,
		      "ISO27001", 1, "platform", 1, NULL);
	g = json_object_get(r, "denials_by_gate");
	assert_int_equal(json_array_size(g), 3);
	assert_gate(g, 0, "network", "net.egress", "egress_blocked", 2);
	assert_gate(g, 1, "command", "cmd.exec", "command_denied", 1);
	assert_gate(g, 2, "module", "kernel.module", "module_blocked", 1);
	/* Observe is counted apart and never as a denial. */
	assert_int_equal(jint(r, "observed_total"), 1);
	assert_counts(json_object_get(r, "observed_by_control"), "control", "SOC2-CC6.1", 1,
		      NULL);
	g = json_object_get(r, "observed_by_gate");
	assert_int_equal(json_array_size(g), 1);
	assert_gate(g, 0, "command", "cmd.exec", "command_denied", 1);
	assert_int_equal(jint(r, "events_lost"), 5);
	assert_counts(json_object_get(r, "events_lost_by_gate"), "gate", "net.egress", 5, NULL);
	json_decref(r);
}

/* [start, end): a record exactly at start is in, one exactly at end is out. */
static void window_bounds(void **state)
{
	struct fx *f = *state;
	json_t *r = build(f, "2025-01-03T00:00:00Z", "2025-01-04T00:00:00Z");

	assert_int_equal(jint(json_object_get(r, "window"), "records"), 1);
	assert_int_equal(jint(r, "denials_total"), 1);
	assert_counts(json_object_get(r, "denials_by_control"), "control", "SOC2-CC6.6", 1, NULL);
	assert_int_equal(jint(r, "observed_total"), 0);
	assert_int_equal(jint(r, "events_lost"), 0);
	json_decref(r);
	/* A zone offset is honoured: 01:00+01:00 is 00:00Z. */
	r = build(f, "2025-01-03T01:00:00+01:00", "2025-01-03T01:00:00.000001+01:00");
	assert_int_equal(jint(r, "denials_total"), 1);
	json_decref(r);
	/* Outside every record. */
	r = build(f, "2024-01-01", "2024-12-31");
	assert_int_equal(jint(json_object_get(r, "window"), "records"), 0);
	assert_int_equal(jint(r, "denials_total"), 0);
	assert_int_equal(json_array_size(json_object_get(r, "denials_by_control")), 0);
	assert_true(json_is_null(json_object_get(r, "enabled_packs")));
	json_decref(r);
}

static void whole_log_deny_vs_observe(void **state)
{
	struct fx *f = *state;
	json_t *r = build(f, NULL, "2025-02-01");

	assert_int_equal(jint(r, "denials_total"), 5);
	assert_int_equal(jint(r, "observed_total"), 2);
	assert_counts(json_object_get(r, "denials_by_control"), "control", "SOC2-CC6.6", 2,
		      "HIPAA-1", 1, "ISO-A.8.20", 1, "PLAT-1", 1, "SOC2-CC6.1", 1, NULL);
	assert_counts(json_object_get(r, "observed_by_control"), "control", "HIPAA-2", 1,
		      "SOC2-CC6.1", 1, NULL);
	assert_counts(json_object_get(r, "observed_by_framework"), "framework", "HIPAA", 1,
		      "SOC2", 1, NULL);
	assert_int_equal(jint(r, "policy_applied_in_window"), 2);
	assert_int_equal(jint(r, "policy_apply_failed_in_window"), 1);
	json_decref(r);
}

static void enabled_packs_at_window_end(void **state)
{
	struct fx *f = *state;
	json_t *r, *p, *pk;

	/* The policy applied before the window still governs it. */
	r = build(f, "2025-01-03", "2025-01-05");
	p = json_object_get(r, "enabled_packs");
	assert_int_equal(jint(p, "generation"), 1);
	assert_string_equal(json_string_value(json_object_get(p, "mode")), "enforce");
	assert_string_equal(json_string_value(json_array_get(json_object_get(p, "refs"), 0)),
			    "soc2@1.0");
	pk = json_array_get(json_object_get(p, "packs"), 0);
	assert_string_equal(json_string_value(json_object_get(pk, "framework")), "SOC2");
	assert_string_equal(json_string_value(json_array_get(json_object_get(pk, "enforced"), 0)),
			    "SOC2-CC6.1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(pk, "advisory"), 0)),
			    "SOC2-CC7.2");
	assert_int_equal(jint(r, "policy_applied_in_window"), 0);
	json_decref(r);
	/* The latest one at or before the end. */
	r = build(f, "2025-01-03", "2025-01-07");
	p = json_object_get(r, "enabled_packs");
	assert_int_equal(jint(p, "generation"), 2);
	assert_string_equal(json_string_value(json_object_get(p, "who")), "ops");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(p, "refs"), 0), "ref")), "hipaa@2.0");
	assert_null(json_object_get(p, "packs"));
	json_decref(r);
}

/* Runs gg_cmd_report with stdout into f->out; returns the exit code. */
static int run_report(struct fx *f, int argc, char **argv, json_t **out_json, char **out_text)
{
	struct gg_err err;
	size_t len;
	int saved, fd, rc;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	rc = gg_cmd_report(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	if (out_json)
		*out_json = json_load_file(f->out, 0, NULL);
	if (out_text && gg_read_file(f->out, out_text, &len, &err))
		*out_text = NULL;
	return rc;
}

static void cli_json_matches(void **state)
{
	struct fx *f = *state;
	char *argv[] = { "report", "--start", "2025-01-02", "--end", "2025-01-06", "--key", f->pub,
			 "--json", f->log, NULL };
	json_t *r = NULL;
	char *text = NULL;

	assert_int_equal(run_report(f, 9, argv, &r, NULL), 0);
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "verified")));
	assert_string_equal(json_string_value(json_object_get(r, "signatures")), "checked");
	assert_int_equal(jint(r, "denials_total"), 4);
	assert_int_equal(jint(r, "observed_total"), 1);
	json_decref(r);
	/* Text: the tables. */
	argv[7] = f->log;
	argv[8] = NULL;
	assert_int_equal(run_report(f, 8, argv, NULL, &text), 0);
	assert_non_null(text);
	assert_non_null(strstr(text, "Denials: 4"));
	assert_non_null(strstr(text, "SOC2-CC6.6"));
	assert_non_null(strstr(text, "soc2@1.0"));
	assert_null(strstr(text, "UNVERIFIED"));
	assert_non_null(strstr(text, "Verification: intact,"));
	/* Observed has the same tables as denials, by framework included. */
	{
		char *obs = strstr(text, "\nObserved ("), *lost = strstr(text, "\nEvents lost");
		char *fw = obs ? strstr(obs, "  by framework:\n    FRAMEWORK") : NULL;

		assert_non_null(obs);
		assert_non_null(fw);
		assert_true(fw < lost);
		assert_non_null(strstr(fw, "    SOC2                                            1\n"));
	}
	free(text);
	argv[4] = "2025-01-07";
	assert_int_equal(run_report(f, 8, argv, NULL, &text), 0);
	assert_non_null(strstr(text, "refs: hipaa@2.0 (observe)"));
	free(text);
	/* Usage errors exit 2. */
	char *bad[] = { "report", "--start", "yesterday", f->log, NULL };

	assert_int_equal(run_report(f, 4, bad, NULL, NULL), 2);
}

static void refuses_tampered_log(void **state)
{
	struct fx *f = *state;
	char *argv[] = { "report", "--key", f->pub, "--json", f->log, NULL, NULL };
	char *buf, *p, *text = NULL;
	struct gg_err err;
	json_t *r = NULL;
	size_t len;
	FILE *out;

	/* Change the action of the third line (an egress denial). */
	assert_int_equal(gg_read_file(f->log, &buf, &len, &err), 0);
	p = buf;
	for (int i = 0; i < 2; i++)
		p = strchr(p, '\n') + 1;
	p = strstr(p, "\"action\":\"deny\"");
	assert_non_null(p);
	memcpy(p, "\"action\":\"DENY\"", 15);
	out = fopen(f->log, "w");
	fwrite(buf, 1, len, out);
	fclose(out);
	free(buf);

	assert_int_equal(run_report(f, 5, argv, &r, NULL), 1);
	/* --json: the refusal is the one document on stdout. */
	assert_non_null(json_string_value(json_object_get(r, "error")));
	json_decref(r);
	/* Allowed: the output says so. */
	argv[4] = "--allow-unverified";
	argv[5] = f->log;
	assert_int_equal(run_report(f, 6, argv, &r, NULL), 0);
	assert_non_null(r);
	assert_true(json_is_false(json_object_get(r, "verified")));
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_object_get(r, "verification"), "problem"),
				    "kind")), "altered");
	json_decref(r);
	argv[3] = "--allow-unverified";
	argv[4] = f->log;
	argv[5] = NULL;
	assert_int_equal(run_report(f, 5, argv, NULL, &text), 0);
	assert_non_null(strstr(text, "UNVERIFIED"));
	free(text);
	/* The library says the same. */
	r = build(f, NULL, NULL);
	assert_true(json_is_false(json_object_get(r, "verified")));
	json_decref(r);
}

/* A configuration naming the fixture's log and the given key. */
static void write_config(struct fx *f, const char *path, const char *key)
{
	FILE *c = fopen(path, "w");

	assert_non_null(c);
	fprintf(c, "{\"audit\": {\"path\": \"%s\", \"key\": \"%s\"}}\n", f->log, key);
	fclose(c);
}

/* verified means signatures checked: never true without a key. */
static void no_key_not_verified(void **state)
{
	struct fx *f = *state;
	struct gg_report_opts o = {};
	char *files[] = { f->log }, cfg[PATH_MAX + 16], cfg_key[PATH_MAX + 16];
	char nokey[PATH_MAX + 16], *text = NULL;
	json_t *r = NULL;

	assert_int_equal(gg_report_build(files, 1, &o, &r, NULL), 0);
	assert_false(json_is_true(json_object_get(r, "verified")));
	assert_false(json_is_true(json_object_get(r, "signatures_checked")));
	assert_true(json_is_true(json_object_get(r, "chain_intact")));
	assert_int_equal(jint(r, "denials_total"), 5); /* the figures are still there */
	json_decref(r);
	o.chain_only = true;
	assert_int_equal(gg_report_build(files, 1, &o, &r, NULL), 0);
	assert_false(json_is_true(json_object_get(r, "verified")));
	json_decref(r);

	snprintf(nokey, sizeof(nokey), "%s/nokey.pem", f->dir);
	snprintf(cfg, sizeof(cfg), "%s/nokey.json", f->dir);
	snprintf(cfg_key, sizeof(cfg_key), "%s/key.json", f->dir);
	write_config(f, cfg, nokey);
	write_config(f, cfg_key, f->key);
	{
		char *argv[] = { "report", "--config", cfg, "--json", f->log, NULL };

		/* Refused, nothing on stdout. */
		assert_int_equal(run_report(f, 5, argv, &r, NULL), 1);
		assert_non_null(json_string_value(json_object_get(r, "error")));
		json_decref(r);
	}
	{
		char *argv[] = { "report", "--config", cfg, "--no-signatures", "--json", f->log,
				 NULL };

		assert_int_equal(run_report(f, 6, argv, &r, NULL), 0);
		assert_non_null(r);
		assert_false(json_is_true(json_object_get(r, "verified")));
		assert_false(json_is_true(json_object_get(r, "signatures_checked")));
		assert_true(json_is_true(json_object_get(r, "chain_intact")));
		json_decref(r);
		argv[4] = f->log;
		argv[5] = NULL;
		assert_int_equal(run_report(f, 5, argv, NULL, &text), 0);
		assert_non_null(strstr(text, "*** UNVERIFIED: checkpoint signatures were NOT checked "
					     "(--no-signatures)"));
		assert_non_null(strstr(text, "Verification: chain intact only, 14 records "
					     "(seq 1..14), 3 checkpoints, signatures not checked"));
		free(text);
	}
	{
		char *argv[] = { "report", "--config", cfg, "--allow-unverified", f->log, NULL };

		assert_int_equal(run_report(f, 5, argv, NULL, &text), 0);
		assert_non_null(strstr(text, "*** UNVERIFIED: checkpoint signatures were NOT checked "
					     "(no public key)"));
		free(text);
	}
	{
		/* The key next to the configured audit key is the default. */
		char *argv[] = { "report", "--config", cfg_key, "--json", f->log, NULL };

		assert_int_equal(run_report(f, 5, argv, &r, NULL), 0);
		assert_true(json_is_true(json_object_get(r, "verified")));
		assert_true(json_is_true(json_object_get(r, "signatures_checked")));
		json_decref(r);
	}
	{
		char *argv[] = { "report", "--key", f->pub, "--no-signatures", f->log, NULL };

		assert_int_equal(run_report(f, 5, argv, NULL, NULL), 2);
	}
}

/* --anchor: a report of a log that lost its published checkpoint is refused. */
static void anchor_refused(void **state)
{
	struct fx *f = *state;
	char anchor[128], *p, *buf;
	char *argv[] = { "report", "--key", f->pub, "--anchor", anchor, "--json", f->log, NULL };
	struct gg_err err;
	json_t *r = NULL, *ck;
	size_t len;

	/* checkpoint_every 4: the 5th line is checkpoint seq 5. */
	assert_int_equal(gg_read_file(f->log, &buf, &len, &err), 0);
	p = buf;
	for (int i = 0; i < 4; i++)
		p = strchr(p, '\n') + 1;
	*strchr(p, '\n') = '\0';
	ck = json_loads(p, 0, NULL);
	free(buf);
	assert_string_equal(json_string_value(json_object_get(ck, "event")), "checkpoint");
	snprintf(anchor, sizeof(anchor), "5:%s", json_string_value(json_object_get(ck, "head")));
	json_decref(ck);
	assert_int_equal(run_report(f, 7, argv, &r, NULL), 0);
	assert_true(json_is_true(json_object_get(r, "verified")));
	json_decref(r);
	anchor[0] = '9'; /* not a checkpoint */
	assert_int_equal(run_report(f, 7, argv, &r, NULL), 1);
	assert_non_null(json_string_value(json_object_get(r, "error")));
	json_decref(r);
	snprintf(anchor, sizeof(anchor), "99:%064d", 0); /* beyond the end */
	assert_int_equal(run_report(f, 7, argv, &r, NULL), 1);
	argv[4] = "bad";
	assert_int_equal(run_report(f, 7, argv, NULL, NULL), 2);
}

/* ---- modes and losses ---------------------------------------------------- */

static json_t *lost(const char *ts, const char *gate, const char *reason, const char *when,
		    int count)
{
	json_t *r = json_pack("{s:s, s:s, s:o, s:i}", "ts", ts, "event", "events_lost", "gate",
			      gate ? json_string(gate) : json_null(), "count", count);

	if (reason)
		json_object_set_new(r, "reason", json_string(reason));
	if (when)
		json_object_set_new(r, "while", json_string(when));
	return r;
}

/*
 * A log the daemon would write with the floor enforced and
 * owasp-llm-top10@v1 in observe mode: the policy_applied and the nc denial
 * are built by the real code (gg_policy_packs_json, gg_event_record), then
 * losses of every reason; after 2025-03-05 records of the formats before
 * modes were recorded.
 */
static int setup_modes(void **state)
{
	struct gg_config cfg;
	struct gg_pack_ref ref = { .ref = "owasp-llm-top10@v1", .mode = GG_ACT_OBSERVE };
	struct gg_policy_input *in = NULL;
	struct gg_audit_opts o = {};
	struct gg_compiled *c = NULL;
	struct fx *f = calloc(1, sizeof(*f));
	struct gg_event e = {};
	struct gg_err err = {};
	struct gg_audit *a;
	json_t *recs[11];
	char cfgp[PATH_MAX];
	size_t n_in = 0;
	int ret = 0, fd;

	snprintf(f->dir, sizeof(f->dir), "/tmp/gg_report_XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/audit.jsonl", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/audit-key.pem", f->dir);
	snprintf(f->pub, sizeof(f->pub), "%s.pub", f->key);
	snprintf(f->out, sizeof(f->out), "%s/stdout", f->dir);
	snprintf(cfgp, sizeof(cfgp), "%s/cfg.json", f->dir);
	fd = open(cfgp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || dprintf(fd, "{\"pack_dirs\": [\"packs\"], \"trust_dir\": \"/nonexistent\"}") < 0)
		return -1;
	close(fd);
	if (gg_config_load(cfgp, &cfg, &err) ||
	    gg_policy_build(&cfg, &ref, 1, &c, &in, &n_in, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	recs[0] = json_pack("{s:s, s:s, s:[{s:s, s:s}], s:I, s:s, s:s, s:o}", "ts",
			    "2025-03-01T00:00:00Z", "event", "policy_applied", "refs", "ref",
			    "owasp-llm-top10@v1", "mode", "observe", "generation", (json_int_t)2,
			    "mode", "enforce", "who", "root", "packs", gg_policy_packs_json(in, n_in));
	e.gate = GG_GATE_EXEC;
	e.action = GG_ACT_DENY;
	e.generation = 2;
	for (size_t i = 0; i < c->n_exec_names; i++)
		if (!strcmp(c->exec_names[i].name, "nc"))
			e.entries[2] = c->exec_names[i].v.entry;
	strcpy(e.exec.filename, "/tmp/nc");
	recs[1] = gg_event_record(&e, c, 0);
	json_object_set_new(recs[1], "ts", json_string("2025-03-01T00:00:01.000000Z"));
	/* an observe decision, as gg_event_record writes one */
	recs[2] = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:[{s:s, s:s, s:s}],"
			    " s:[s], s:[s], s:[s], s:[s]}",
			    "ts", "2025-03-01T00:00:02Z", "event", "egress_blocked", "gate",
			    "net.egress", "action", "observe", "mechanism", "lsm", "generation",
			    (json_int_t)2, "pack", "owasp-llm-top10@v1", "rule",
			    "llm-deny-internal-ranges", "rules", "pack", "owasp-llm-top10@v1", "rule",
			    "llm-deny-internal-ranges", "mode", "observe", "controls", "LLM06:2025",
			    "frameworks", "owasp-llm", "observed_controls", "LLM06:2025",
			    "observed_frameworks", "owasp-llm");
	recs[3] = lost("2025-03-02T00:00:00Z", "cmd.exec", "ring_buffer", NULL, 3);
	recs[4] = lost("2025-03-02T00:00:01Z", "net.egress", "ring_buffer", "daemon_down", 2);
	recs[5] = lost("2025-03-02T00:00:02Z", "kernel.module", "ring_buffer", "daemon_starting", 1);
	recs[6] = lost("2025-03-02T00:00:03Z", NULL, "audit_write", NULL, 4);
	recs[7] = lost("2025-03-02T00:00:04Z", NULL, "malformed", NULL, 1);
	recs[8] = lost("2025-03-02T00:00:05Z", "cmd.exec", NULL, NULL, 5); /* before reasons */
	/* before packs carried a mode: an observe pack's controls as enforced */
	recs[9] = json_pack("{s:s, s:s, s:[{s:s, s:s}], s:I, s:s, s:s, s:[{s:s, s:s, s:[s,s], s:[s]}]}",
			    "ts", "2025-03-05T00:00:00Z", "event", "policy_applied", "refs", "ref",
			    "owasp-llm-top10@v1", "mode", "observe", "generation", (json_int_t)3,
			    "mode", "enforce", "who", "root", "packs", "ref", "owasp-llm-top10@v1",
			    "framework", "owasp-llm", "enforced", "LLM05:2025", "LLM06:2025",
			    "advisory", "LLM01:2025");
	/* a denial from before observed_controls: attribution unknown */
	recs[10] = denial("2025-03-06T00:00:00.000000Z", "command_denied", "cmd.exec", "deny",
			  json_pack("[s,s]", "FLOOR-EXEC-LOTL", "LLM05:2025"),
			  json_pack("[s,s]", "govgate-floor", "owasp-llm"));
	o.path = f->log;
	o.key_path = f->key;
	if (gg_audit_open(&o, &a, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	for (int i = 0; i < 11; i++) {
		if (!ret && (!recs[i] || gg_audit_append(a, recs[i], NULL, &err))) {
			fprintf(stderr, "record %d: %s\n", i, err.msg);
			ret = -1;
		}
		json_decref(recs[i]);
	}
	gg_audit_close(a);
	gg_policy_inputs_free(in, n_in);
	gg_compiled_free(c);
	gg_config_free(&cfg);
	*state = f;
	return ret;
}

static json_t *find_pack(const json_t *report, const char *ref)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(json_object_get(report, "enabled_packs"), "packs"), i, v)
		if (!strcmp(json_string_value(json_object_get(v, "ref")), ref))
			return v;
	fail_msg("enabled_packs has no %s", ref);
	return NULL;
}

static bool arr_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

/* The floor's denial of nc that an observe-mode pack also matched counts
 * the floor's control as a denial, the pack's as observed. */
static void modes_deny_with_observe_rules(void **state)
{
	struct fx *f = *state;
	json_t *r = build(f, "2025-03-01", "2025-03-04");

	assert_int_equal(jint(r, "denials_total"), 1);
	assert_int_equal(jint(r, "denials_attribution_unknown"), 0);
	assert_counts(json_object_get(r, "denials_by_control"), "control", "FLOOR-EXEC-LOTL", 1,
		      NULL);
	assert_counts(json_object_get(r, "denials_by_framework"), "framework", "govgate-floor", 1,
		      NULL);
	assert_gate(json_object_get(r, "denials_by_gate"), 0, "command", "cmd.exec",
		    "command_denied", 1);
	/* one observe decision, plus the observe-mode rule on the denial */
	assert_int_equal(jint(r, "observed_total"), 1);
	assert_int_equal(jint(r, "observed_on_denials"), 1);
	assert_counts(json_object_get(r, "observed_by_control"), "control", "LLM06:2025", 2,
		      "LLM05:2025", 1, NULL);
	assert_counts(json_object_get(r, "observed_by_framework"), "framework", "owasp-llm", 2,
		      NULL);
	assert_int_equal(json_array_size(json_object_get(r, "observed_by_gate")), 1);
	assert_gate(json_object_get(r, "observed_by_gate"), 0, "network", "net.egress",
		    "egress_blocked", 1);
	json_decref(r);
	/* a denial recorded before the split is counted as it says, flagged */
	r = build(f, "2025-03-05", NULL);
	assert_int_equal(jint(r, "denials_total"), 1);
	assert_int_equal(jint(r, "denials_attribution_unknown"), 1);
	json_decref(r);
}

/* enabled_packs: every pack with its mode; an observe-mode pack's
 * controls are observed, never enforced, in either record format. */
static void modes_enabled_packs(void **state)
{
	struct fx *f = *state;
	char *argv[] = { "report", "--start", "2025-03-01", "--end", "2025-03-04", "--key", f->pub,
			 f->log, NULL };
	json_t *r = build(f, "2025-03-01", "2025-03-04"), *pk;
	char *text = NULL, *line;

	pk = find_pack(r, "floor");
	assert_string_equal(json_string_value(json_object_get(pk, "mode")), "enforce");
	assert_true(arr_has(json_object_get(pk, "enforced"), "FLOOR-EXEC-LOTL"));
	pk = find_pack(r, "owasp-llm-top10@v1");
	assert_string_equal(json_string_value(json_object_get(pk, "mode")), "observe");
	assert_int_equal(json_array_size(json_object_get(pk, "enforced")), 0);
	assert_true(arr_has(json_object_get(pk, "observed"), "LLM05:2025"));
	assert_true(arr_has(json_object_get(pk, "observed"), "LLM06:2025"));
	assert_true(arr_has(json_object_get(pk, "advisory"), "LLM01:2025"));
	json_decref(r);

	/* the format before packs carried a mode: the refs give it */
	r = build(f, "2025-03-05", NULL);
	pk = find_pack(r, "owasp-llm-top10@v1");
	assert_string_equal(json_string_value(json_object_get(pk, "mode")), "observe");
	assert_int_equal(json_array_size(json_object_get(pk, "enforced")), 0);
	assert_true(arr_has(json_object_get(pk, "observed"), "LLM05:2025"));
	json_decref(r);

	/* text: the pack's line says observe and has nothing under ENFORCED */
	assert_int_equal(run_report(f, 8, argv, NULL, &text), 0);
	assert_non_null(text);
	assert_non_null(strstr(text, " MODE "));
	assert_non_null(strstr(text, " OBSERVED "));
	line = strstr(text, "\n  owasp-llm-top10@v1 ");
	assert_non_null(line);
	assert_non_null(strstr(line, " observe "));
	assert_true(strstr(line, " - ") && strstr(line, " - ") < strstr(line, "LLM05:2025"));
	free(text);
}

/* events_lost by reason and while; losses of no gate under a clear label. */
static void modes_losses_by_reason(void **state)
{
	struct fx *f = *state;
	char *argv[] = { "report", "--start", "2025-03-01", "--end", "2025-03-04", "--key", f->pub,
			 f->log, NULL };
	json_t *r = build(f, "2025-03-01", "2025-03-04"), *why, *v;
	const struct {
		const char *reason, *when;
		int count;
	} want[] = {
		{ "ring_buffer", NULL, 8 }, /* 3, and 5 from before reasons were recorded */
		{ "audit_write", NULL, 4 },
		{ "ring_buffer", "daemon_down", 2 },
		{ "malformed", NULL, 1 },
		{ "ring_buffer", "daemon_starting", 1 },
	};
	char *text = NULL, *lostp;

	assert_int_equal(jint(r, "events_lost"), 16);
	why = json_object_get(r, "events_lost_by_reason");
	assert_int_equal(json_array_size(why), 5);
	for (size_t i = 0; i < 5; i++) {
		v = json_array_get(why, i);
		assert_string_equal(json_string_value(json_object_get(v, "reason")), want[i].reason);
		if (want[i].when)
			assert_string_equal(json_string_value(json_object_get(v, "while")),
					    want[i].when);
		else
			assert_true(json_is_null(json_object_get(v, "while")));
		assert_int_equal(jint(v, "count"), want[i].count);
	}
	assert_counts(json_object_get(r, "events_lost_by_gate"), "gate", "cmd.exec", 8,
		      "non-gate (lifecycle, policy)", 4, "net.egress", 2, "kernel.module", 1,
		      "unknown (undecodable)", 1, NULL);
	json_decref(r);

	assert_int_equal(run_report(f, 8, argv, NULL, &text), 0);
	lostp = strstr(text, "\nEvents lost");
	assert_non_null(lostp);
	assert_null(strstr(text, "Events lost (ring buffer full)"));
	assert_non_null(strstr(lostp, "ring buffer full, daemon down"));
	assert_non_null(strstr(lostp, "ring buffer full, daemon starting"));
	assert_non_null(strstr(lostp, "refused by the audit log"));
	assert_non_null(strstr(lostp, "undecodable ring-buffer record"));
	assert_non_null(strstr(lostp, "non-gate (lifecycle, policy)"));
	assert_null(strstr(lostp, " ? "));
	free(text);
}

static void time_parse(void **state)
{
	long long us;
	char buf[40];

	assert_int_equal(gg_time_parse_us("1970-01-01", &us), 0);
	assert_int_equal(us, 0);
	assert_int_equal(gg_time_parse_us("2025-01-31T10:00:05.25Z", &us), 0);
	gg_time_format_us(us, buf, sizeof(buf));
	assert_string_equal(buf, "2025-01-31T10:00:05.250000Z");
	assert_int_equal(gg_time_parse_us("2025-01-31T12:00:05.25+02:00", &us), 0);
	gg_time_format_us(us, buf, sizeof(buf));
	assert_string_equal(buf, "2025-01-31T10:00:05.250000Z");
	assert_int_equal(gg_time_parse_us("2025-01-31T10:00", &us), 0);
	assert_int_equal(gg_time_parse_us("2024-02-29", &us), 0);
	assert_int_equal(gg_time_parse_us("2025-02-29", &us), -EINVAL);
	assert_int_equal(gg_time_parse_us("2025-13-01", &us), -EINVAL);
	assert_int_equal(gg_time_parse_us("2025-01-01T25:00", &us), -EINVAL);
	assert_int_equal(gg_time_parse_us("2025-01-01Z", &us), -EINVAL);
	assert_int_equal(gg_time_parse_us("last tuesday", &us), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(window_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(window_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(whole_log_deny_vs_observe, setup, teardown),
		cmocka_unit_test_setup_teardown(enabled_packs_at_window_end, setup, teardown),
		cmocka_unit_test_setup_teardown(cli_json_matches, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_tampered_log, setup, teardown),
		cmocka_unit_test_setup_teardown(no_key_not_verified, setup, teardown),
		cmocka_unit_test_setup_teardown(anchor_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(modes_deny_with_observe_rules, setup_modes, teardown),
		cmocka_unit_test_setup_teardown(modes_enabled_packs, setup_modes, teardown),
		cmocka_unit_test_setup_teardown(modes_losses_by_reason, setup_modes, teardown),
		cmocka_unit_test(time_parse),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
