// SPDX-License-Identifier: GPL-2.0
/*
 * govgate run: attach (or adopt) the gates, load the policy, enable, then
 * drain the ring buffer into the audit log until SIGTERM. Stopping leaves
 * the pinned links enforcing: only `govgate stop --unload` removes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "apply.h"
#include "cli.h"
#include "event.h"
#include "policy.h"

#define GG_GEN_CACHE 4

/* Everything the drain loop needs: the daemon's only mutable state. */
struct daemon {
	struct gg_config *cfg;
	struct gg_audit *audit;
	struct {
		__u64 generation;
		struct gg_compiled *policy;
	} gens[GG_GEN_CACHE];
	unsigned next_gen;
	__s64 boot_to_real;
	__u64 dropped[GG_GATE_COUNT];
	long journal_off;
	__u64 records;
	bool journald;
};

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

static const struct gg_compiled *policy_for(struct daemon *d, __u64 generation)
{
	struct gg_compiled *c = NULL;
	struct gg_err err;
	unsigned slot;

	if (!generation)
		return NULL;
	for (unsigned i = 0; i < GG_GEN_CACHE; i++)
		if (d->gens[i].policy && d->gens[i].generation == generation)
			return d->gens[i].policy;
	if (gg_generation_load(d->cfg, generation, &c, &err)) {
		fprintf(stderr, "govgate: audit: generation %llu: %s\n",
			(unsigned long long)generation, err.msg);
		return NULL;
	}
	slot = d->next_gen++ % GG_GEN_CACHE;
	gg_compiled_free(d->gens[slot].policy);
	d->gens[slot].generation = generation;
	d->gens[slot].policy = c;
	return c;
}

static void audit_write(struct daemon *d, json_t *rec)
{
	struct gg_err err;

	if (gg_audit_append(d->audit, rec, &err))
		fprintf(stderr, "govgate: audit: %s\n", err.msg);
	d->records++;
}

/* Denials also go to the journal, with structured fields. */
static void journal_send(struct daemon *d, json_t *rec)
{
	json_t *controls = json_object_get(rec, "controls");
	char ctl[512] = "";
	size_t i, off = 0;
	json_t *v;

	if (!d->journald)
		return;
	json_array_foreach(controls, i, v)
		off += snprintf(ctl + off, off < sizeof(ctl) ? sizeof(ctl) - off : 0, "%s%s",
				i ? "," : "", json_string_value(v));
	sd_journal_send("MESSAGE=govgate: %s %s %s by %s (controls: %s)",
			json_string_value(json_object_get(rec, "action")),
			json_string_value(json_object_get(rec, "event")),
			json_string_value(json_object_get(rec, "gate")),
			json_string_value(json_object_get(rec, "comm")), ctl,
			"GOVGATE_EVENT=%s", json_string_value(json_object_get(rec, "event")),
			"GOVGATE_ACTION=%s", json_string_value(json_object_get(rec, "action")),
			"GOVGATE_GATE=%s", json_string_value(json_object_get(rec, "gate")),
			"GOVGATE_RULE=%s",
			json_string_value(json_object_get(rec, "rule")) ?: "",
			"GOVGATE_CONTROLS=%s", ctl, "GOVGATE_PID=%lld",
			json_integer_value(json_object_get(rec, "pid")),
			"PRIORITY=%d", 4, NULL);
}

/* BPF records the executable's file name; the full path is added from
 * /proc when the process is still there and its name still matches (a
 * reused pid is never mistaken for the actor). */
static void resolve_exe(json_t *rec, __u32 pid)
{
	const char *name = json_string_value(json_object_get(rec, "exe"));
	char link[64], path[4096];
	const char *base;
	ssize_t n;

	if (!name || !name[0] || strchr(name, '/'))
		return;
	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return;
	path[n] = '\0';
	base = strrchr(path, '/');
	if (base && !strcmp(base + 1, name))
		json_object_set_new(rec, "exe", json_string(path));
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	const struct gg_event *e = data;
	json_t *rec;

	if (size < sizeof(*e))
		return 0;
	rec = gg_event_record(e, policy_for(d, e->generation), d->boot_to_real);
	resolve_exe(rec, e->pid);
	audit_write(d, rec);
	journal_send(d, rec);
	json_decref(rec);
	return 0;
}

/* A drop is written as soon as it is seen: loss is never silent. */
static void check_drops(struct daemon *d)
{
	__u64 c[GG_GATE_COUNT][GG_CNT_COUNT];
	struct gg_err err;

	if (gg_counters_read(d->cfg->pin_dir, c, &err))
		return;
	for (int g = 0; g < GG_GATE_COUNT; g++) {
		__u64 now = c[g][GG_CNT_DROPPED];

		if (now > d->dropped[g]) {
			json_t *rec = json_pack("{s:s, s:s, s:I, s:I}", "event", "events_lost",
						"gate", gg_gate_name(g), "count",
						(json_int_t)(now - d->dropped[g]), "total",
						(json_int_t)now);

			audit_write(d, rec);
			json_decref(rec);
		}
		d->dropped[g] = now;
	}
}

/* Copies what `govgate apply` journaled into the audit log. */
static void copy_journal(struct daemon *d)
{
	char path[4096], line[65536];
	FILE *f;

	gg_journal_path(d->cfg, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return;
	if (fseek(f, d->journal_off, SEEK_SET) == 0) {
		while (fgets(line, sizeof(line), f)) {
			size_t len = strlen(line);
			json_t *rec;

			if (!len || line[len - 1] != '\n')
				break; /* a record still being written */
			rec = json_loads(line, 0, NULL);
			if (rec) {
				audit_write(d, rec);
				json_decref(rec);
			}
			d->journal_off += len;
		}
	}
	fclose(f);
}

static long journal_end(struct gg_config *cfg)
{
	char path[4096];
	struct stat st;

	gg_journal_path(cfg, path, sizeof(path));
	return stat(path, &st) ? 0 : st.st_size;
}

/*
 * SIGHUP (`systemctl reload govgate`): re-reads the configuration file and
 * applies its "packs" through the same atomic swap as `govgate apply`. The
 * pin and state directories and the agent-wide mode stay those the daemon
 * runs with; scope and audit settings take a restart. On any failure the
 * running policy stays, and the failure is in the journal and the audit log.
 */
static void reload(struct daemon *d)
{
	struct gg_config fresh = {};
	struct gg_err err;
	__u64 generation = 0;
	char who[4200];
	int ret;

	sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
	ret = gg_config_load(d->cfg->path, &fresh, &err);
	if (!ret) {
		/* What the daemon runs with, not what the file now says. */
		free(fresh.pin_dir);
		fresh.pin_dir = strdup(d->cfg->pin_dir);
		free(fresh.state_dir);
		fresh.state_dir = strdup(d->cfg->state_dir);
		fresh.mode = d->cfg->mode;
		snprintf(who, sizeof(who), "govgate run (reload of %s)",
			 fresh.path ? fresh.path : "the built-in defaults");
		ret = !fresh.pin_dir || !fresh.state_dir
			      ? gg_errf(&err, -ENOMEM, "out of memory")
			      : gg_policy_apply(&fresh, fresh.packs, fresh.n_packs, who, &generation,
						&err);
	} else {
		/* gg_policy_apply journals its own failures; this one is ours. */
		json_t *rec = json_pack("{s:s, s:[], s:s, s:s}", "event", "policy_apply_failed",
					"refs", "error", err.msg, "who", "govgate run (reload)");

		audit_write(d, rec);
		json_decref(rec);
	}
	if (ret) {
		fprintf(stderr, "govgate: reload failed, the running policy stays: %s\n", err.msg);
		sd_notify(0, "READY=1\nSTATUS=enforcing (last reload failed, see the journal)");
	} else {
		fprintf(stderr, "govgate: reloaded %s: generation %llu, %zu pack(s)\n",
			fresh.path ? fresh.path : "the built-in defaults",
			(unsigned long long)generation, fresh.n_packs);
		sd_notifyf(0, "READY=1\nSTATUS=enforcing (generation %llu)",
			   (unsigned long long)generation);
	}
	copy_journal(d); /* policy_applied / policy_apply_failed, now */
	gg_config_free(&fresh);
}

/* Only one daemon per pin directory. */
static int take_lock(const char *pin_dir, struct gg_err *err)
{
	char path[4096], name[4096];
	int fd;

	snprintf(name, sizeof(name), "%s", pin_dir);
	for (char *p = name; *p; p++)
		if (*p == '/')
			*p = '_';
	mkdir("/run/govgate", 0755);
	snprintf(path, sizeof(path), "/run/govgate/%s.lock", name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return gg_errf(err, -errno, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		char pid[32] = "?";
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);

		pid[n > 0 ? n : 1] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(fd);
		return gg_errf(err, -EBUSY,
			       "govgate is already running for %s (pid %s); stop it first or use another --pin-dir",
			       pin_dir, pid);
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%d\n", getpid());
	return fd;
}

int gg_daemon_pid(const char *pin_dir)
{
	char path[4096], name[4096], buf[32] = "";
	int fd, pid = 0;

	snprintf(name, sizeof(name), "%s", pin_dir);
	for (char *p = name; *p; p++)
		if (*p == '/')
			*p = '_';
	snprintf(path, sizeof(path), "/run/govgate/%s.lock", name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* Locked means a daemon holds it. */
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		close(fd);
		return 0;
	}
	if (pread(fd, buf, sizeof(buf) - 1, 0) > 0)
		pid = atoi(buf);
	close(fd);
	return pid;
}

static json_t *mechanisms_json(const struct gg_gate_state *state)
{
	json_t *m = json_object();

	for (int g = 0; g < GG_GATE_COUNT; g++)
		json_object_set_new(m, gg_gate_name(g), json_string(gg_mech_name(state[g].mech)));
	return m;
}

static const char run_usage[] =
	"usage: govgate run [--scope global|cgroup:PATH] [--exempt-cgroup PATH]...\n"
	"                   [--mode enforce|observe] [--audit-log FILE] [--pin-dir DIR]\n"
	"                   [--state-dir DIR] [--config FILE] [-v]\n"
	"Attaches the gates, loads the platform floor and the configured packs, and\n"
	"drains denials into the audit log until SIGTERM; SIGHUP re-reads the config\n"
	"file and applies its packs. Enforcement stays attached\n"
	"after it exits; `govgate stop --unload` removes it.\n";

int gg_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scope", required_argument, NULL, 's' },
		{ "exempt-cgroup", required_argument, NULL, 'x' },
		{ "mode", required_argument, NULL, 'm' },
		{ "audit-log", required_argument, NULL, 'a' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *config = NULL, *scope = NULL, *mode = NULL, *audit_log = NULL;
	const char *pin_dir = NULL, *state_dir = NULL, *exempt[GG_MAX_EXEMPT];
	struct gg_gate_state state[GG_GATE_COUNT];
	char stage[4096], *pin_dir_final = NULL;
	struct gg_pack_ref *refs = NULL;
	struct ring_buffer *rb = NULL;
	struct gg_audit_opts aopts;
	struct gg_config cfg = {};
	struct daemon d = {};
	unsigned n_exempt = 0;
	struct gg_err err;
	size_t n_refs = 0;
	int opt, ret, lock_fd = -1, events_fd = -1, exit_code = 1;
	__u64 generation = 0;
	time_t last_tick = 0;
	json_t *rec;
	bool verbose = false;

	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (opt) {
		case 's': scope = optarg; break;
		case 'x':
			if (n_exempt == GG_MAX_EXEMPT) {
				fprintf(stderr, "govgate run: at most %d --exempt-cgroup\n", GG_MAX_EXEMPT);
				return 2;
			}
			exempt[n_exempt++] = optarg;
			break;
		case 'm': mode = optarg; break;
		case 'a': audit_log = optarg; break;
		case 'p': pin_dir = optarg; break;
		case 'S': state_dir = optarg; break;
		case 'c': config = optarg; break;
		case 'v': verbose = true; break;
		case 'h': fputs(run_usage, stdout); return 0;
		default: fputs(run_usage, stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "govgate run: unexpected argument \"%s\"\n%s", argv[optind], run_usage);
		return 2;
	}
	/* A reload asked for while starting is done once the policy is in. */
	signal(SIGHUP, on_signal);
	ret = gg_config_load(config, &cfg, &err);
	if (ret)
		goto fail;
	if (scope && (ret = gg_scope_parse(scope, &cfg.scope, &err)))
		goto fail;
	for (unsigned i = 0; i < n_exempt; i++) {
		if (cfg.scope.n_exempt == GG_MAX_EXEMPT) {
			ret = gg_errf(&err, -E2BIG, "at most %d exempt cgroups", GG_MAX_EXEMPT);
			goto fail;
		}
		cfg.scope.exempt[cfg.scope.n_exempt++] = strdup(exempt[i]);
	}
	if (mode && gg_mode_parse(mode, &cfg.mode)) {
		fprintf(stderr, "govgate run: --mode must be enforce or observe\n");
		exit_code = 2;
		goto cleanup;
	}
	if (audit_log) {
		free(cfg.audit_path);
		cfg.audit_path = strdup(audit_log);
	}
	if (pin_dir) {
		free(cfg.pin_dir);
		cfg.pin_dir = strdup(pin_dir);
	}
	if (state_dir) {
		free(cfg.state_dir);
		cfg.state_dir = strdup(state_dir);
	}

	lock_fd = take_lock(cfg.pin_dir, &err);
	if (lock_fd < 0) {
		ret = lock_fd;
		goto fail;
	}
	ret = gg_gates_attach(cfg.pin_dir, &cfg.scope, state, verbose, stage, sizeof(stage), &err);
	if (ret)
		goto fail;
	if (stage[0]) {
		/* Policy and settings go to the new build's maps first. */
		pin_dir_final = cfg.pin_dir;
		cfg.pin_dir = strdup(stage);
	}
	for (int g = 0; g < GG_GATE_COUNT; g++) {
		fprintf(stderr, "govgate: %s: %s%s%s%s\n", gg_gate_name(g),
			state[g].mech == GG_MECH_NONE ? "UNAVAILABLE" : gg_mech_name(state[g].mech),
			state[g].reused ? " (adopted from the pinned links)" : "",
			state[g].why[0] ? ", " : "", state[g].why);
	}
	if (state[GG_GATE_EXEC].mech == GG_MECH_NONE || state[GG_GATE_EGRESS].mech == GG_MECH_NONE) {
		ret = gg_errf(&err, -ENOTSUP, "cmd.exec and net.egress must be enforceable (see above)");
		goto fail;
	}

	/* The policy is in the maps before the gates are enabled: the first
	 * governed decision already sees the floor. On a restart the old
	 * policy keeps enforcing until the swap. */
	if (gg_applied_load(&cfg, &refs, &n_refs, &err) == -ENOENT) {
		refs = calloc(cfg.n_packs + 1, sizeof(*refs));
		for (size_t i = 0; refs && i < cfg.n_packs; i++) {
			refs[i].ref = strdup(cfg.packs[i].ref);
			refs[i].mode = cfg.packs[i].mode;
		}
		n_refs = cfg.n_packs;
	}
	d.cfg = &cfg;
	d.journal_off = journal_end(&cfg);
	ret = gg_policy_apply(&cfg, refs, n_refs, "govgate run", &generation, &err);
	if (ret) {
		struct gg_policy_status cur = {};

		/* Fail closed: keep the policy already in the maps, or at least
		 * the platform floor; the failure is in the journal. */
		fprintf(stderr, "govgate: applying the saved/configured packs failed: %s\n", err.msg);
		gg_policy_read(cfg.pin_dir, &cur, &err);
		generation = cur.generation;
		if (!generation) {
			fprintf(stderr, "govgate: enforcing the platform floor alone\n");
			ret = gg_policy_apply(&cfg, NULL, 0, "govgate run (floor only)", &generation,
					      &err);
			if (ret)
				goto fail;
		}
	}
	ret = gg_gates_configure(cfg.pin_dir, &cfg.scope, getpid(), true, &err);
	if (ret)
		goto fail;
	if (pin_dir_final) {
		ret = gg_gates_finish_upgrade(pin_dir_final, cfg.pin_dir, &err);
		free(cfg.pin_dir);
		cfg.pin_dir = pin_dir_final;
		pin_dir_final = NULL;
		if (ret)
			goto fail;
		fprintf(stderr, "govgate: re-attached: this build's gates enforce, the old ones are detached\n");
	}

	gg_config_audit_opts(&cfg, &aopts);
	ret = gg_audit_open(&aopts, &d.audit, &err);
	if (ret)
		goto fail;
	d.journald = getenv("JOURNAL_STREAM") || getenv("INVOCATION_ID");
	d.boot_to_real = gg_boot_to_real_ns();
	{
		__u64 c[GG_GATE_COUNT][GG_CNT_COUNT];

		if (!gg_counters_read(cfg.pin_dir, c, &err))
			for (int g = 0; g < GG_GATE_COUNT; g++)
				d.dropped[g] = c[g][GG_CNT_DROPPED];
	}
	rec = json_pack("{s:s, s:s, s:o, s:s, s:s, s:I, s:i}", "event", "agent_started", "version",
			GG_VERSION, "mechanisms", mechanisms_json(state), "scope",
			cfg.scope.mode == GG_SCOPE_GLOBAL ? "global" : cfg.scope.cgroup, "mode",
			cfg.mode == GG_ACT_OBSERVE ? "observe" : "enforce", "generation",
			(json_int_t)generation, "pid", getpid());
	for (int g = 0; g < GG_GATE_COUNT; g++)
		if (state[g].why[0]) {
			char key[64];

			snprintf(key, sizeof(key), "%s_fallback_reason", gg_gate_name(g));
			json_object_set_new(rec, key, json_string(state[g].why));
		}
	audit_write(&d, rec);
	json_decref(rec);
	copy_journal(&d); /* the policy_applied record of this start */

	events_fd = gg_pinned_fd(cfg.pin_dir, "events", &err);
	if (events_fd < 0) {
		ret = events_fd;
		goto fail;
	}
	rb = ring_buffer__new(events_fd, on_event, &d, NULL);
	if (!rb) {
		ret = gg_errf(&err, -errno, "ring buffer: %s", strerror(errno));
		goto fail;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	gg_audit_flush(d.audit, true, &err);
	fprintf(stderr, "govgate: enforcing (generation %llu, scope %s, mode %s)\n",
		(unsigned long long)generation,
		cfg.scope.mode == GG_SCOPE_GLOBAL ? "global" : cfg.scope.cgroup,
		cfg.mode == GG_ACT_OBSERVE ? "observe" : "enforce");
	sd_notify(0, "READY=1\nSTATUS=enforcing");

	while (!stop_requested) {
		if (reload_requested) {
			reload_requested = 0;
			reload(&d);
		}
		ret = ring_buffer__poll(rb, 200);
		if (ret < 0 && ret != -EINTR) {
			gg_errf(&err, ret, "ring buffer poll: %s", strerror(-ret));
			goto fail;
		}
		if (time(NULL) != last_tick) {
			last_tick = time(NULL);
			check_drops(&d);
			copy_journal(&d);
			if (gg_audit_tick(d.audit, &err))
				fprintf(stderr, "govgate: audit: %s\n", err.msg);
		}
		/* Write, fsync and rotation failures surface here. */
		if (gg_audit_flush(d.audit, false, &err))
			fprintf(stderr, "govgate: audit: %s\n", err.msg);
	}
	sd_notify(0, "STOPPING=1");
	ring_buffer__consume(rb);
	check_drops(&d);
	copy_journal(&d);
	rec = json_pack("{s:s, s:s}", "event", "agent_stopped", "enforcement",
			"still attached (pinned links)");
	audit_write(&d, rec);
	json_decref(rec);
	fprintf(stderr, "govgate: stopped draining; the pinned gates keep enforcing\n");
	exit_code = 0;
	goto cleanup;
fail:
	fprintf(stderr, "govgate run: %s\n", err.msg);
cleanup:
	ring_buffer__free(rb);
	if (events_fd >= 0)
		close(events_fd);
	if (d.audit)
		gg_audit_close(d.audit);
	for (unsigned i = 0; i < GG_GEN_CACHE; i++)
		gg_compiled_free(d.gens[i].policy);
	gg_pack_refs_free(refs, n_refs);
	if (pin_dir_final) {
		free(cfg.pin_dir);
		cfg.pin_dir = pin_dir_final;
	}
	gg_config_free(&cfg);
	if (lock_fd >= 0)
		close(lock_fd);
	return exit_code;
}
