// SPDX-License-Identifier: GPL-2.0
/*
 * Where the time of one audit record goes (docs/performance.md, "audit
 * record breakdown"): the daemon's per-record steps, each timed alone over
 * N synthetic net.egress denials of the floor's metadata rule, with the
 * floor plus the nine packs compiled as the policy. No BPF, no root.
 *
 *   recbench CONFIG N [floor|all [STEP]]
 *                               (CONFIG: a govgate.json with pack_dirs
 *                                and an audit path/key in a scratch
 *                                directory; floor: the floor alone, as in
 *                                the storm of bench/run.sh; STEP: only
 *                                that step N times, the others once, for
 *                                perf record)
 *
 * Prints one line per step: "step NAME ns_per_record X". Run it under
 * `valgrind --tool=callgrind` for instruction counts instead of times.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "audit.h"
#include "config.h"
#include "event.h"
#include "sign.h"

static const char *const packs[] = { "baseline-hardening@v1", "owasp-llm-top10@v1",
				     "owasp-agentic@v1", "owasp-mcp@v1", "eu-ai-act@v1",
				     "nist-ai-rmf@v1", "iso-42001@v1", "mitre-atlas@v1",
				     "csa-aicm@v1" };

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static const char *only; /* the one step to run N times */

/* How many times to run step: N, or once when another step was asked for. */
static long reps(const char *step, long n)
{
	return !only || !strcmp(only, step) ? n : 1;
}

static void report(const char *step, double t0, long n)
{
	if (only && strcmp(only, step))
		return;
	printf("step %-18s ns_per_record %8.0f\n", step, (now() - t0) * 1e9 / n);
}

/* A denied connect to 169.254.169.254:80, as egress.bpf.c reports it. */
static void make_event(struct gg_event *e, const struct gg_compiled *c)
{
	memset(e, 0, sizeof(*e));
	e->ts_boot_ns = 123456789012ULL;
	e->generation = 1;
	e->gate = GG_GATE_EGRESS;
	e->action = GG_ACT_DENY;
	e->mechanism = GG_MECH_FALLBACK;
	for (size_t i = 0; i < c->n_egress_ports; i++)
		if (c->egress_ports[i].v.entry && c->egress_ports[i].v.action == GG_ACT_DENY) {
			e->entries[0] = c->egress_ports[i].v.entry;
			break;
		}
	e->pid = getpid();
	e->tid = e->pid;
	e->ppid = getppid();
	e->uid = 0;
	e->cgroup_id = 4242;
	snprintf(e->comm, sizeof(e->comm), "ggbench");
	snprintf(e->exe, sizeof(e->exe), "recbench");
	e->net.family = AF_INET;
	e->net.dport = 80;
	e->net.proto = IPPROTO_TCP;
	e->net.hook = GG_NET_CONNECT;
	e->net.sock_type = SOCK_STREAM;
	inet_pton(AF_INET, "169.254.169.254", e->net.daddr);
}

static int open_log(const struct gg_config *cfg, unsigned every, struct gg_audit **a)
{
	struct gg_audit_opts o;
	struct gg_err err;

	gg_config_audit_opts(cfg, &o);
	o.checkpoint_every = every;
	o.checkpoint_secs = 3600;
	if (gg_audit_open(&o, a, &err)) {
		fprintf(stderr, "recbench: %s\n", err.msg);
		return 1;
	}
	return 0;
}

/* One checkpoint's Ed25519 signature over a checkpoint-sized line. */
static int sign_step(long n)
{
	static const char line[] =
		"{\"ts\":\"2026-12-03T21:00:00.000000Z\",\"seq\":1000,\"event\":\"checkpoint\","
		"\"covers\":[745,999],\"head\":\"0123456789abcdef0123456789abcdef0123456789ab"
		"cdef0123456789abcdef\",\"key\":\"0123456789abcdef0123456789abcdef0123456789ab"
		"cdef0123456789abcdef\",\"prev\":\"0123456789abcdef0123456789abcdef0123456789ab"
		"cdef0123456789abcdef\"}";
	unsigned char seed[32], sig[64];
	EVP_PKEY *key = NULL;
	struct gg_err err;
	double t;

	if (gg_ed25519_generate(&key, seed, &err)) {
		fprintf(stderr, "recbench: %s\n", err.msg);
		return 1;
	}
	t = now();
	for (long i = 0; i < n; i++)
		if (gg_sign_buf(key, line, sizeof(line) - 1, sig, &err)) {
			fprintf(stderr, "recbench: %s\n", err.msg);
			EVP_PKEY_free(key);
			return 1;
		}
	printf("step %-18s ns_per_sign   %8.0f\n", "ckpt_sign", (now() - t) * 1e9 / n);
	EVP_PKEY_free(key);
	return 0;
}

int main(int argc, char **argv)
{
	struct gg_pack_ref refs[9];
	struct gg_compiled *c = NULL;
	struct gg_config cfg;
	struct gg_audit *a;
	struct gg_render r = {};
	struct gg_event e;
	struct gg_err err;
	char path[4096];
	json_t *rec;
	long n, m;
	int npacks;
	double t;

	if (argc < 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: recbench CONFIG N [floor]\n");
		return 2;
	}
	if (gg_config_load(argv[1], &cfg, &err)) {
		fprintf(stderr, "recbench: %s\n", err.msg);
		return 1;
	}
	for (int i = 0; i < 9; i++)
		refs[i] = (struct gg_pack_ref){ (char *)packs[i], GG_ACT_DENY };
	only = argc > 4 ? argv[4] : NULL;
	npacks = argc > 3 && strcmp(argv[3], "all") ? 0 : 9;
	if (gg_policy_build(&cfg, refs, npacks, &c, NULL, NULL, &err)) {
		fprintf(stderr, "recbench: %s\n", err.msg);
		return 1;
	}
	make_event(&e, c);

	m = reps("render_jansson", n);
	t = now();
	for (long i = 0; i < m; i++)
		json_decref(gg_event_record(&e, c, 0));
	report("render_jansson", t, m);

	m = reps("render_direct", n);
	t = now(); /* the direct renderer, the attribution cached */
	for (long i = 0; i < m; i++)
		if (gg_event_render(&r, &e, c, 0, NULL))
			return 1;
	report("render_direct", t, m);

	m = reps("readlink_exe", n);
	t = now(); /* the daemon's resolve_exe: one readlink per record */
	for (long i = 0; i < m; i++)
		if (readlink("/proc/self/exe", path, sizeof(path)) < 0)
			return 1;
	report("readlink_exe", t, m);

	m = reps("readlink_cached", n);
	t = now(); /* the same, cached for events older than the last read */
	for (long i = 0; i < m; i++)
		gg_render_exe(&r, &e);
	report("readlink_cached", t, m);

	/* format (key order, UTF-8 clean, dump) + SHA-256 chain + buffered
	 * write, no checkpoints */
	if (open_log(&cfg, 1u << 30, &a))
		return 1;
	rec = gg_event_record(&e, c, 0);
	m = reps("format_chain_write", n);
	t = now();
	for (long i = 0; i < m; i++)
		if (gg_audit_append(a, rec, NULL, &err))
			return 1;
	report("format_chain_write", t, m);

	m = reps("rendered_chain_write", n);
	t = now(); /* what the daemon does now: the rendered members, chained */
	for (long i = 0; i < m; i++)
		if (gg_audit_append_rendered(a, r.ts, r.out.p, r.out.len, NULL, &err))
			return 1;
	report("rendered_chain_write", t, m);

	gg_audit_close(a);
	/* the same with a checkpoint (Ed25519 signature) every 256 records,
	 * fsynced at most every 50 ms (audit.c CKPT_SYNC_US) */
	if (open_log(&cfg, 256, &a))
		return 1;
	m = reps("rendered_ckpt256", n);
	t = now();
	for (long i = 0; i < m; i++)
		if (gg_audit_append_rendered(a, r.ts, r.out.p, r.out.len, NULL, &err))
			return 1;
	report("rendered_ckpt256", t, m);
	gg_audit_close(a);
	/* the daemon's whole path per record (on_event): exe, render, append
	 * with checkpoints, each event a microsecond later than the last */
	if (open_log(&cfg, 256, &a))
		return 1;
	m = reps("daemon_path", n);
	t = now();
	for (long i = 0; i < m; i++) {
		const char *exe = gg_render_exe(&r, &e);

		e.ts_boot_ns += 1000;
		if (gg_event_render(&r, &e, c, 0, exe) ||
		    gg_audit_append_rendered(a, r.ts, r.out.p, r.out.len, NULL, &err))
			return 1;
	}
	report("daemon_path", t, m);
	json_decref(rec);
	gg_audit_close(a);
	if (sign_step(reps("ckpt_sign", n / 256 + 1)))
		return 1;
	gg_render_free(&r);
	gg_compiled_free(c);
	gg_config_free(&cfg);
	return 0;
}
