// SPDX-License-Identifier: GPL-2.0
/*
 * `govgate report`: a compliance summary of the audit log over a time
 * window, computed in the verification pass itself so that the figures
 * come from exactly the bytes that were verified (docs/audit.md).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "sign.h"

struct agg {
	const struct gg_report_opts *o;
	/* name -> count; gate maps are keyed "gate\tevent", lost_why
	 * "reason\twhile" */
	json_t *deny_ctl, *deny_fw, *deny_gate, *obs_ctl, *obs_fw, *obs_gate, *lost_gate;
	json_t *lost_why;
	json_t *untrusted; /* "digest\tpath" -> count, observe mode */
	long long deny_total, obs_total, lost_total, obs_on_deny, deny_unknown;
	long long in_window, undated, applied_in, failed_in;
	long long first_us, last_us;
	json_t *policy; /* latest policy_applied at or before the end */
	long long policy_us;
};

static int bump(json_t *map, const char *key, long long n)
{
	json_t *v = json_object_get(map, key);

	if (v)
		return json_integer_set(v, json_integer_value(v) + n);
	return json_object_set_new(map, key, json_integer(n));
}

static int bump_each(json_t *map, json_t *arr)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && bump(map, json_string_value(v), 1))
			return -ENOMEM;
	return 0;
}

static int bump_gate(json_t *map, json_t *rec, long long n)
{
	char key[256];

	snprintf(key, sizeof(key), "%s\t%s",
		 gg_json_str(rec, "gate", "?"),
		 gg_json_str(rec, "event", NULL));
	return bump(map, key, n) ? -ENOMEM : 0;
}

static bool is_denial_event(const char *ev)
{
	/* dns_denied: a name the DNS forwarder refused (user/dns.c) */
	return !strcmp(ev, "command_denied") || !strcmp(ev, "egress_blocked") ||
	       !strcmp(ev, "module_blocked") || !strcmp(ev, "dns_denied");
}

/* Records from before reasons were recorded were all ring-buffer drops. */
static const char *lost_reason(json_t *rec)
{
	return gg_json_str(rec, "reason", "ring_buffer");
}

/* A loss of no gate: records the writer refused that belong to no gate
 * (lifecycle, policy), or ring-buffer records too short to say theirs. */
static const char *lost_gate_label(json_t *rec)
{
	const char *gate = gg_json_str(rec, "gate", NULL);

	if (gate)
		return gate;
	return !strcmp(lost_reason(rec), "malformed") ? "unknown (undecodable)" :
							 "non-gate (lifecycle, policy)";
}

static int on_lost(struct agg *g, json_t *rec)
{
	long long n = gg_json_int(rec, "count");
	const char *when = gg_json_str(rec, "while", NULL);
	char key[256];

	g->lost_total += n;
	snprintf(key, sizeof(key), "%s\t%s", lost_reason(rec), when ?: "");
	return bump(g->lost_gate, lost_gate_label(rec), n) || bump(g->lost_why, key, n) ? -ENOMEM : 0;
}

/*
 * A denial counts the controls of its enforce-mode rules (`controls`); the
 * observe-mode rules that matched the same thing (`observed_controls`)
 * only observed it. A record without observed_controls predates the split:
 * its controls may include an observe-mode pack's, so it is counted as it
 * says and flagged.
 */
static int on_deny(struct agg *g, json_t *rec)
{
	json_t *obs = json_object_get(rec, "observed_controls");

	g->deny_total++;
	if (!obs || json_is_true(json_object_get(rec, "attribution_unknown")))
		g->deny_unknown++;
	if (json_array_size(obs))
		g->obs_on_deny++;
	if (bump_each(g->deny_ctl, json_object_get(rec, "controls")) ||
	    bump_each(g->deny_fw, json_object_get(rec, "frameworks")) ||
	    bump_gate(g->deny_gate, rec, 1) || bump_each(g->obs_ctl, obs) ||
	    bump_each(g->obs_fw, json_object_get(rec, "observed_frameworks")))
		return -ENOMEM;
	return 0;
}

/* A file no trust list names, that observe mode let run: a review item
 * before enforcing. By digest and where it was (the path, else the name). */
static int on_untrusted(struct agg *g, json_t *rec)
{
	const char *digest = gg_json_str(rec, "digest", NULL);
	const char *path = gg_json_str(rec, "path", NULL);
	char *key;
	int ret;

	if (!path)
		path = gg_json_str(rec, "filename", "");
	if (asprintf(&key, "%s\t%s", digest ? digest : "", path) < 0)
		return -ENOMEM;
	ret = bump(g->untrusted, key, 1);
	free(key);
	return ret;
}

static int on_record(json_t *rec, const char *file, unsigned long long line, void *ctx)
{
	struct agg *g = ctx;
	const char *ts = gg_json_str(rec, "ts", NULL);
	const char *ev = gg_json_str(rec, "event", NULL);
	const char *action = gg_json_str(rec, "action", NULL);
	long long us;
	int ret = 0;

	if (!ts || gg_time_parse_us(ts, &us)) {
		g->undated++;
		return 0;
	}
	/* The policy in force during the window may predate it. */
	if (!strcmp(ev, "policy_applied") && (!g->o->has_end || us <= g->o->end_us) &&
	    (!g->policy || us >= g->policy_us)) {
		json_decref(g->policy);
		g->policy = json_incref(rec);
		g->policy_us = us;
	}
	if ((g->o->has_start && us < g->o->start_us) || (g->o->has_end && us >= g->o->end_us))
		return 0;
	if (!g->in_window++ || us < g->first_us)
		g->first_us = us;
	if (g->in_window == 1 || us > g->last_us)
		g->last_us = us;
	if (!strcmp(ev, "policy_applied"))
		g->applied_in++;
	else if (!strcmp(ev, "policy_apply_failed"))
		g->failed_in++;
	else if (!strcmp(ev, "events_lost"))
		ret = on_lost(g, rec);
	else if (is_denial_event(ev) && action && !strcmp(action, "deny"))
		ret = on_deny(g, rec);
	else if (is_denial_event(ev) && action && !strcmp(action, "observe")) {
		/* Observe mode allowed the action: never a denial. Its controls
		 * are the observe-mode rules' (= observed_controls). */
		g->obs_total++;
		if (json_is_true(json_object_get(rec, "untrusted")) && on_untrusted(g, rec))
			return -ENOMEM;
		ret = bump_each(g->obs_ctl, json_object_get(rec, "controls")) ?:
		      bump_each(g->obs_fw, json_object_get(rec, "frameworks")) ?:
		      bump_gate(g->obs_gate, rec, 1);
	}
	return ret ? -ENOMEM : 0;
}

struct kc {
	const char *key;
	long long count;
};

static int cmp_untrusted(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	long long cx = gg_json_int(x, "count"), cy = gg_json_int(y, "count");
	int d = cx < cy ? 1 : cx > cy ? -1 : 0;

	if (!d)
		d = strcmp(gg_json_str(x, "path", ""), gg_json_str(y, "path", ""));
	return d ? d : strcmp(gg_json_str(x, "digest", ""), gg_json_str(y, "digest", ""));
}

/* Sorts an array of untrusted_files rows in place. */
static void qsort_untrusted(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp_untrusted);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

/* untrusted_files: [{path, digest, count}], most seen first. */
static json_t *untrusted_files(const struct agg *g)
{
	json_t *arr = json_array(), *v;
	const char *key;

	json_object_foreach(g->untrusted, key, v) {
		const char *tab = strchr(key, '\t');

		if (!arr || json_array_append_new(
				    arr, json_pack("{s:s, s:s%, s:I}", "path", tab + 1, "digest",
						   key, (size_t)(tab - key), "count",
						   json_integer_value(v)))) {
			json_decref(arr);
			return NULL;
		}
	}
	if (arr)
		qsort_untrusted(arr);
	return arr;
}

static int cmp_kc(const void *a, const void *b)
{
	const struct kc *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

static const char *gate_category(const char *gate)
{
	if (!strcmp(gate, "cmd.exec"))
		return "command";
	if (!strcmp(gate, "net.egress"))
		return "network";
	if (!strcmp(gate, "kernel.module"))
		return "module";
	return "other";
}

enum kc_kind {
	KC_NAME, /* {name: key, count} */
	KC_GATE, /* "gate\tevent": {category, gate, event, count} */
	KC_LOST, /* "reason\twhile": {reason, while (null: the daemon was running), count} */
};

/* [{...}] by count desc, then key. */
static json_t *sorted(json_t *map, const char *name, enum kc_kind kind)
{
	size_t n = json_object_size(map), i = 0;
	struct kc *v = calloc(n ? n : 1, sizeof(*v));
	json_t *arr = json_array(), *val;
	const char *k;

	if (!v || !arr) {
		free(v);
		json_decref(arr);
		return NULL;
	}
	json_object_foreach(map, k, val)
		v[i++] = (struct kc){ k, json_integer_value(val) };
	qsort(v, n, sizeof(*v), cmp_kc);
	for (i = 0; i < n; i++) {
		const char *tab = strchr(v[i].key, '\t');
		char head[128];
		json_t *o;

		if (kind != KC_NAME)
			snprintf(head, sizeof(head), "%.*s", (int)(tab - v[i].key), v[i].key);
		if (kind == KC_GATE)
			o = json_pack("{s:s, s:s, s:s, s:I}", "category", gate_category(head), "gate",
				      head, "event", tab + 1, "count", (json_int_t)v[i].count);
		else if (kind == KC_LOST)
			o = json_pack("{s:s, s:o, s:I}", "reason", head, "while",
				      tab[1] ? json_string(tab + 1) : json_null(), "count",
				      (json_int_t)v[i].count);
		else
			o = json_pack("{s:s, s:I}", name, v[i].key, "count", (json_int_t)v[i].count);
		if (json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
			break;
		}
	}
	free(v);
	return arr;
}

static json_t *time_or_null(bool has, long long us)
{
	char buf[40];

	if (!has)
		return json_null();
	gg_time_format_us(us, buf, sizeof(buf));
	return json_string(buf);
}

/* The mode a policy_applied record gives ref: its refs entry, else the
 * record's (the agent's) mode, which is the floor's. */
static const char *ref_mode(const json_t *policy, const char *ref)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(policy, "refs"), i, v) {
		const char *r = gg_json_str(v, "ref", NULL);

		if (r && ref && !strcmp(r, ref) && json_is_string(json_object_get(v, "mode")))
			return gg_json_str(v, "mode", NULL);
	}
	return gg_json_str(policy, "mode", NULL);
}

/*
 * One pack of the policy, as the report shows it: its mode, and what it
 * enforces, only observes and leaves advisory. Records written before
 * packs carried a mode listed an observe-mode pack's controls as
 * enforced; they are moved to observed here.
 */
static json_t *pack_entry(const json_t *policy, const json_t *pk)
{
	const char *mode = gg_json_str(pk, "mode", NULL);
	json_t *o = json_deep_copy(pk), *enf, *obs;

	if (!o || !json_is_object(o))
		return o;
	if (!mode)
		mode = ref_mode(policy, gg_json_str(pk, "ref", NULL));
	enf = json_object_get(o, "enforced");
	obs = json_object_get(o, "observed");
	if (mode && !strcmp(mode, "observe") && !obs) {
		obs = enf ? json_incref(enf) : json_array();
		if (json_object_set_new(o, "observed", obs) ||
		    json_object_set_new(o, "enforced", json_array()))
			goto fail;
	} else if (!obs && json_object_set_new(o, "observed", json_array())) {
		goto fail;
	}
	if (!json_object_get(o, "enforced") && json_object_set_new(o, "enforced", json_array()))
		goto fail;
	if (json_object_set_new(o, "mode", mode ? json_string(mode) : json_null()))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *enabled_packs(const struct agg *g)
{
	static const char *const keys[] = { "ts", "generation", "mode", "who", "refs", NULL };
	json_t *o, *packs, *v;
	size_t i;

	if (!g->policy)
		return json_null();
	o = json_object();
	for (int i = 0; o && keys[i]; i++) {
		json_t *v = json_object_get(g->policy, keys[i]);

		if (v && json_object_set_new(o, keys[i], json_deep_copy(v))) {
			json_decref(o);
			return NULL;
		}
	}
	packs = json_object_get(g->policy, "packs");
	if (!o || !json_is_array(packs))
		return o;
	v = json_array();
	if (json_object_set_new(o, "packs", v))
		goto fail;
	for (i = 0; i < json_array_size(packs); i++)
		if (json_array_append_new(v, pack_entry(g->policy, json_array_get(packs, i))))
			goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static bool agg_init(struct agg *g)
{
	g->deny_ctl = json_object();
	g->deny_fw = json_object();
	g->deny_gate = json_object();
	g->obs_ctl = json_object();
	g->obs_fw = json_object();
	g->obs_gate = json_object();
	g->lost_gate = json_object();
	g->lost_why = json_object();
	g->untrusted = json_object();
	return g->untrusted && g->deny_ctl && g->deny_fw && g->deny_gate && g->obs_ctl && g->obs_fw &&
	       g->obs_gate && g->lost_gate && g->lost_why;
}

static void agg_free(struct agg *g)
{
	json_decref(g->policy);
	json_decref(g->deny_ctl);
	json_decref(g->deny_fw);
	json_decref(g->deny_gate);
	json_decref(g->obs_ctl);
	json_decref(g->obs_fw);
	json_decref(g->obs_gate);
	json_decref(g->lost_gate);
	json_decref(g->lost_why);
	json_decref(g->untrusted);
}

/* The report (docs/audit.md "report --json") from the figures in g and
 * the verification result res; NULL if out of memory. */
static json_t *report_doc(const struct agg *g, const struct gg_report_opts *o, json_t *res)
{
	/* Verified means signed: an intact chain alone can be recomputed by
	 * anyone who can write the log. */
	bool chain = json_is_true(json_object_get(res, "chain_intact"));
	bool sigs = json_is_true(json_object_get(res, "signatures_checked"));

	return json_pack("{s:b, s:b, s:b, s:O, s:O, s:{s:o, s:o, s:I, s:o, s:o, s:I}, s:o, s:I,"
			 " s:I, s:I, s:I, s:o, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:o}",
			 "verified", chain && sigs,
			 "signatures_checked", sigs,
			 "chain_intact", chain,
			 "signatures", json_object_get(res, "signatures"),
			 "verification", res,
			 "window",
			 "start", time_or_null(o->has_start, o->start_us),
			 "end", time_or_null(o->has_end, o->end_us),
			 "records", (json_int_t)g->in_window,
			 "first_ts", time_or_null(g->in_window, g->first_us),
			 "last_ts", time_or_null(g->in_window, g->last_us),
			 "undated", (json_int_t)g->undated,
			 "enabled_packs", enabled_packs(g),
			 "policy_applied_in_window", (json_int_t)g->applied_in,
			 "policy_apply_failed_in_window", (json_int_t)g->failed_in,
			 "denials_total", (json_int_t)g->deny_total,
			 "denials_attribution_unknown", (json_int_t)g->deny_unknown,
			 "denials_by_control", sorted(g->deny_ctl, "control", KC_NAME),
			 "denials_by_framework", sorted(g->deny_fw, "framework", KC_NAME),
			 "denials_by_gate", sorted(g->deny_gate, NULL, KC_GATE),
			 "observed_total", (json_int_t)g->obs_total,
			 "observed_on_denials", (json_int_t)g->obs_on_deny,
			 "observed_by_control", sorted(g->obs_ctl, "control", KC_NAME),
			 "observed_by_framework", sorted(g->obs_fw, "framework", KC_NAME),
			 "observed_by_gate", sorted(g->obs_gate, NULL, KC_GATE),
			 "events_lost", (json_int_t)g->lost_total,
			 "events_lost_by_reason", sorted(g->lost_why, NULL, KC_LOST),
			 "events_lost_by_gate", sorted(g->lost_gate, "gate", KC_NAME),
			 "untrusted_files", untrusted_files(g));
}

int gg_report_build(char *const *files, size_t n, const struct gg_report_opts *o,
		    json_t **report, struct gg_err *err)
{
	struct gg_audit_verify_opts vo = { .pub = o->pub, .chain_only = o->chain_only,
					   .anchors = o->anchors, .n_anchors = o->n_anchors };
	struct agg g = { .o = o };
	json_t *res = NULL;
	int ret;

	*report = NULL;
	if (!agg_init(&g)) {
		ret = gg_errf(err, -ENOMEM, "report: out of memory");
		goto cleanup;
	}
	ret = gg_audit_verify_ex(files, n, &vo, on_record, &g, &res, err);
	if (ret == -ENOMEM)
		gg_errf(err, ret, "report: out of memory");
	if (ret)
		goto cleanup;
	*report = report_doc(&g, o, res);
	if (!*report)
		ret = gg_errf(err, -ENOMEM, "report: out of memory");
cleanup:
	json_decref(res);
	agg_free(&g);
	return ret;
}

/* Strings, or {ref, mode} objects (policy_applied refs), comma-joined. */
static const char *join(const json_t *arr, char *buf, size_t size)
{
	gg_json_join(arr, GG_JOIN_MODE, buf, size);
	if (!*buf)
		snprintf(buf, size, "-");
	return buf;
}

static void print_counts(FILE *f, const char *title, const json_t *arr, const char *name)
{
	char head[32];
	size_t i;
	json_t *v;

	for (i = 0; name[i] && i + 1 < sizeof(head); i++)
		head[i] = toupper((unsigned char)name[i]);
	head[i] = '\0';
	fprintf(f, "  %s:\n", title);
	if (!json_array_size(arr)) {
		fprintf(f, "    (none)\n");
		return;
	}
	fprintf(f, "    %-40s %8s\n", head, "COUNT");
	json_array_foreach(arr, i, v)
		fprintf(f, "    %-40s %8lld\n", gg_json_str(v, name, NULL),
			gg_json_int(v, "count"));
}

static void print_gates(FILE *f, const char *title, const json_t *arr)
{
	size_t i;
	json_t *v;

	fprintf(f, "  %s:\n", title);
	if (!json_array_size(arr)) {
		fprintf(f, "    (none)\n");
		return;
	}
	fprintf(f, "    %-9s %-14s %-16s %8s\n", "CATEGORY", "GATE", "EVENT", "COUNT");
	json_array_foreach(arr, i, v)
		fprintf(f, "    %-9s %-14s %-16s %8lld\n",
			gg_json_str(v, "category", NULL),
			gg_json_str(v, "gate", NULL),
			gg_json_str(v, "event", NULL),
			gg_json_int(v, "count"));
}

/* "ring_buffer" + "daemon_down" -> what an auditor reads. */
static void lost_label(const json_t *v, char *buf, size_t size)
{
	const char *reason = gg_json_str(v, "reason", "?");
	const char *when = gg_json_str(v, "while", NULL);
	const char *what = !strcmp(reason, "ring_buffer") ? "ring buffer full" :
			   !strcmp(reason, "audit_write") ? "refused by the audit log" :
			   !strcmp(reason, "malformed") ? "undecodable ring-buffer record" : reason;

	if (!when)
		snprintf(buf, size, "%s", what);
	else if (!strcmp(when, "daemon_down"))
		snprintf(buf, size, "%s, daemon down", what);
	else if (!strcmp(when, "daemon_starting"))
		snprintf(buf, size, "%s, daemon starting", what);
	else
		snprintf(buf, size, "%s, %s", what, when);
}

static void print_lost(FILE *f, const json_t *arr)
{
	char label[128];
	size_t i;
	json_t *v;

	fprintf(f, "  by reason:\n");
	fprintf(f, "    %-40s %8s\n", "REASON", "COUNT");
	json_array_foreach(arr, i, v) {
		lost_label(v, label, sizeof(label));
		fprintf(f, "    %-40s %8lld\n", label,
			gg_json_int(v, "count"));
	}
}

/* A failed or partial verification is said first, loudly. */
static void print_warning(FILE *f, const json_t *r)
{
	const json_t *ver = json_object_get(r, "verification");
	const json_t *prob = json_object_get(ver, "problem");

	if (prob) {
		fprintf(f, "*** UNVERIFIED: the audit log FAILED verification (%s:%lld: %s).\n"
			   "*** The figures below may not reflect what was recorded.\n\n",
			gg_json_str(prob, "file", "?"), gg_json_int(prob, "line"),
			gg_json_str(prob, "kind", "?"));
	} else if (!json_is_true(json_object_get(r, "verified"))) {
		fprintf(f, "*** UNVERIFIED: checkpoint signatures were NOT checked (%s).\n"
			   "*** The hash chain is intact, but whoever can write the log can rewrite\n"
			   "*** it consistently: the figures below are not proven.\n\n",
			json_is_true(json_object_get(ver, "chain_only")) ? "--no-signatures" :
									   "no public key");
	}
}

static void print_verification(FILE *f, const json_t *r)
{
	const json_t *ver = json_object_get(r, "verification");

	fprintf(f, "Verification: %s, %lld records",
		json_is_true(json_object_get(r, "verified")) ? "intact" :
		!json_object_get(ver, "problem")	      ? "chain intact only" :
								"NOT INTACT",
		gg_json_int(ver, "records"));
	if (json_is_integer(json_object_get(ver, "first_seq")))
		fprintf(f, " (seq %lld..%lld)", gg_json_int(ver, "first_seq"),
			gg_json_int(ver, "last_seq"));
	fprintf(f, ", %lld checkpoints, signatures %s", gg_json_int(ver, "checkpoints"),
		gg_json_str(ver, "signatures", "?"));
	if (gg_json_int(ver, "unsealed_tail"))
		fprintf(f, ", unsealed tail: %lld records", gg_json_int(ver, "unsealed_tail"));
}

static void print_window(FILE *f, const json_t *win)
{
	fprintf(f, "\nWindow:       %s .. %s%s, %lld records",
		gg_json_str(win, "start", "beginning"), gg_json_str(win, "end", "end of log"),
		json_is_string(json_object_get(win, "end")) ? " (excluded)" : "",
		gg_json_int(win, "records"));
	if (json_is_string(json_object_get(win, "first_ts")))
		fprintf(f, " from %s to %s", gg_json_str(win, "first_ts", ""),
			gg_json_str(win, "last_ts", ""));
}

static void print_packs(FILE *f, const json_t *pol)
{
	char b1[1024], b2[1024], b3[1024];
	size_t i;
	json_t *v;

	fprintf(f, " (policy_applied %s, generation %lld, mode %s, by %s):\n",
		gg_json_str(pol, "ts", "?"), gg_json_int(pol, "generation"),
		gg_json_str(pol, "mode", "?"), gg_json_str(pol, "who", "?"));
	/* An observe-mode pack enforces nothing: its controls are in
	 * OBSERVED, never ENFORCED. */
	if (json_array_size(json_object_get(pol, "packs"))) {
		fprintf(f, "  %-32s %-8s %-14s %-28s %-28s %s\n", "PACK", "MODE", "FRAMEWORK",
			"ENFORCED", "OBSERVED", "ADVISORY");
		json_array_foreach(json_object_get(pol, "packs"), i, v)
			fprintf(f, "  %-32s %-8s %-14s %-28s %-28s %s\n", gg_json_str(v, "ref", "?"),
				gg_json_str(v, "mode", "?"), gg_json_str(v, "framework", "-"),
				join(json_object_get(v, "enforced"), b1, sizeof(b1)),
				join(json_object_get(v, "observed"), b3, sizeof(b3)),
				join(json_object_get(v, "advisory"), b2, sizeof(b2)));
	}
	fprintf(f, "  refs: %s\n", join(json_object_get(pol, "refs"), b1, sizeof(b1)));
}

static void print_policy(FILE *f, const json_t *r)
{
	const json_t *pol = json_object_get(r, "enabled_packs");
	long long applied = gg_json_int(r, "policy_applied_in_window");
	long long failed = gg_json_int(r, "policy_apply_failed_in_window");

	fprintf(f, "\n\nEnabled packs");
	if (json_is_object(pol))
		print_packs(f, pol);
	else
		fprintf(f, ": unknown (no policy_applied record at or before the window end)\n");
	if (applied || failed)
		fprintf(f, "  policy changes in the window: %lld applied, %lld failed\n", applied,
			failed);
}

/* Denials, then observations: the same three breakdowns each. */
static void print_outcomes(FILE *f, const json_t *r)
{
	fprintf(f, "\nDenials: %lld (counted by the controls of their enforce-mode rules)\n",
		gg_json_int(r, "denials_total"));
	if (gg_json_int(r, "denials_attribution_unknown"))
		fprintf(f, "  %lld of them recorded without a split by rule mode: their controls may "
			   "include\n  those of observe-mode packs\n",
			gg_json_int(r, "denials_attribution_unknown"));
	print_counts(f, "by control", json_object_get(r, "denials_by_control"), "control");
	print_counts(f, "by framework", json_object_get(r, "denials_by_framework"), "framework");
	print_gates(f, "by gate", json_object_get(r, "denials_by_gate"));
	fprintf(f, "\nObserved (would have been denied; allowed, not counted as denials): %lld\n",
		gg_json_int(r, "observed_total"));
	if (gg_json_int(r, "observed_on_denials"))
		fprintf(f, "  plus observe-mode rules that also matched %lld denial(s): their controls "
			   "are\n  counted here, not as denials\n",
			gg_json_int(r, "observed_on_denials"));
	print_counts(f, "by control", json_object_get(r, "observed_by_control"), "control");
	print_counts(f, "by framework", json_object_get(r, "observed_by_framework"), "framework");
	print_gates(f, "by gate", json_object_get(r, "observed_by_gate"));
}

/* Observe mode under trust lists: what enforcing would deny. */
static void print_untrusted(FILE *f, const json_t *arr)
{
	size_t i;
	json_t *v;

	if (!json_array_size(arr))
		return;
	fprintf(f, "\nUntrusted files (observe mode: enforcing the trust lists would deny "
		   "them): %zu\n", json_array_size(arr));
	json_array_foreach(arr, i, v)
		fprintf(f, "  %6lld  %s  %s\n", gg_json_int(v, "count"),
			gg_json_str(v, "digest", ""), gg_json_str(v, "path", ""));
}

void gg_report_print(FILE *f, const json_t *r)
{
	fprintf(f, "GOVGATE COMPLIANCE REPORT\n\n");
	print_warning(f, r);
	print_verification(f, r);
	print_window(f, json_object_get(r, "window"));
	print_policy(f, r);
	print_outcomes(f, r);
	print_untrusted(f, json_object_get(r, "untrusted_files"));
	fprintf(f, "\nEvents lost (never reached the log): %lld\n", gg_json_int(r, "events_lost"));
	if (gg_json_int(r, "events_lost")) {
		print_lost(f, json_object_get(r, "events_lost_by_reason"));
		print_counts(f, "by gate", json_object_get(r, "events_lost_by_gate"), "gate");
	}
}
