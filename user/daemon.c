// SPDX-License-Identifier: GPL-2.0
/*
 * govgate run: attach (or adopt) the gates, load the policy, enable, then
 * drain the ring buffer into the audit log until SIGTERM. Stopping leaves
 * the pinned links enforcing: only `govgate stop --unload` removes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "apply.h"
#include "daemon.h"
#include "watch.h"
#include "event.h"
#include "lost.h"
#include "policy.h"

#define GG_GEN_CACHE 4
#define GG_STATE_SAVE_SECS 1 /* audit-state.json is rewritten at most this often */

/* Everything the drain loop needs: the daemon's only mutable state. */
struct gg_daemon {
	struct gg_config *cfg;
	struct gg_audit *audit;
	struct {
		__u64 generation;
		struct gg_compiled *policy;
	} gens[GG_GEN_CACHE];
	unsigned next_gen;
	__s64 boot_to_real;
	/* Ring-buffer drops: the counters map, and the totals accepted into an
	 * events_lost record (the state file gets them once written). */
	int counters_fd;
	char counters_id[96];
	__u64 dropped[GG_GATE_COUNT];
	__u64 malformed; /* ring-buffer records too short to decode */
	/* The apply journal: the next byte to copy, of which file. */
	__u64 journal_off, journal_dev, journal_ino;
	/* Records the writer refused that no events_lost record counts yet;
	 * the state file keeps them until such a record is in the file. */
	__u64 unwritten[GG_LOST_BUCKETS];
	char unw_since[40], unw_until[40], unw_error[256];
	bool refusing; /* the writer refused records and has not recovered */
	/* audit-state.json: what the log holds, and what it refused. */
	struct gg_dstate st;
	bool st_dirty, save_failing;
	time_t st_saved;
	bool in_lost; /* writing the audit_write events_lost records */
	bool copy_blocked; /* the writer refused a record of the apply journal */
	bool drops_blocked; /* ... an events_lost record (retried) */
	bool counters_failing;
	__u64 records;
	bool journald;
	/* Start-up and shutdown (gg_daemon_start, gg_daemon_stop). */
	int lock_fd, events_fd, old_events_fd, old_counters_fd;
	struct ring_buffer *rb;
	struct gg_gate_state state[GG_GATE_COUNT];
	char *pin_dir_final; /* set while the policy goes to a staged build */
	const char *journal_reset;
	__u64 generation;
	bool clean_stop;
	bool locked; /* locked mode asked for and its guard attached */
};

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

static const struct gg_compiled *policy_for(struct gg_daemon *d, __u64 generation)
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

/*
 * The journal: structured fields, so an operator can filter on them, and
 * a copy of every checkpoint the log cannot take back.
 */
#define GG_JOURNAL_FIELDS 24

struct jfields {
	struct iovec iov[GG_JOURNAL_FIELDS];
	int n;
};

static void __attribute__((format(printf, 2, 3))) jadd(struct jfields *j, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (j->n == GG_JOURNAL_FIELDS)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0) {
		j->iov[j->n].iov_base = s;
		j->iov[j->n++].iov_len = strlen(s);
	}
	va_end(ap);
}

static void jsend(struct jfields *j)
{
	sd_journal_sendv(j->iov, j->n);
	for (int i = 0; i < j->n; i++)
		free(j->iov[i].iov_base);
	j->n = 0;
}

/* A denial; seq is the record's in the audit log, 0 if it was refused. */
static void journal_denial(struct gg_daemon *d, json_t *rec, unsigned long long seq)
{
	struct jfields j = {};
	char ctl[512], fw[256];

	if (!d->journald)
		return;
	gg_json_join(json_object_get(rec, "controls"), 0, ctl, sizeof(ctl));
	gg_json_join(json_object_get(rec, "frameworks"), 0, fw, sizeof(fw));
	jadd(&j, "MESSAGE=govgate: %s %s %s by %s (controls: %s)",
	     gg_json_str(rec, "action", ""), gg_json_str(rec, "event", ""),
	     gg_json_str(rec, "gate", ""), gg_json_str(rec, "comm", ""), ctl);
	jadd(&j, "GOVGATE_EVENT=%s", gg_json_str(rec, "event", ""));
	jadd(&j, "GOVGATE_ACTION=%s", gg_json_str(rec, "action", ""));
	jadd(&j, "GOVGATE_GATE=%s", gg_json_str(rec, "gate", ""));
	jadd(&j, "GOVGATE_MECHANISM=%s", gg_json_str(rec, "mechanism", ""));
	jadd(&j, "GOVGATE_GENERATION=%lld", json_integer_value(json_object_get(rec, "generation")));
	jadd(&j, "GOVGATE_PACK=%s", gg_json_str(rec, "pack", ""));
	jadd(&j, "GOVGATE_RULE=%s", gg_json_str(rec, "rule", ""));
	jadd(&j, "GOVGATE_CONTROLS=%s", ctl);
	jadd(&j, "GOVGATE_FRAMEWORKS=%s", fw);
	jadd(&j, "GOVGATE_PID=%lld", json_integer_value(json_object_get(rec, "pid")));
	if (seq)
		jadd(&j, "GOVGATE_SEQ=%llu", seq);
	else
		jadd(&j, "GOVGATE_AUDIT=refused");
	jadd(&j, "PRIORITY=%d", 4);
	jsend(&j);
}

static void journal_lost(struct gg_daemon *d, json_t *rec, unsigned long long seq)
{
	struct jfields j = {};
	const char *gate = json_string_value(json_object_get(rec, "gate"));
	const char *when = json_string_value(json_object_get(rec, "while"));

	if (!d->journald)
		return;
	jadd(&j, "MESSAGE=govgate: %lld %s record(s) lost (%s%s%s)",
	     json_integer_value(json_object_get(rec, "count")), gate ?: "non-gate",
	     gg_json_str(rec, "reason", ""), when ? ", while " : "", when ?: "");
	jadd(&j, "GOVGATE_EVENT=events_lost");
	jadd(&j, "GOVGATE_GATE=%s", gate ?: "");
	jadd(&j, "GOVGATE_REASON=%s", gg_json_str(rec, "reason", ""));
	jadd(&j, "GOVGATE_COUNT=%lld", json_integer_value(json_object_get(rec, "count")));
	if (when)
		jadd(&j, "GOVGATE_WHILE=%s", when);
	if (seq)
		jadd(&j, "GOVGATE_SEQ=%llu", seq);
	jadd(&j, "PRIORITY=%d", 3);
	jsend(&j);
}

/* CHECKPOINT_SEQ:CHECKPOINT_HEAD is what `audit verify --anchor` takes:
 * the log must still hold that checkpoint, sealing that chain head. */
static void on_checkpoint(const struct gg_checkpoint_info *ck, void *ctx)
{
	struct gg_daemon *d = ctx;
	struct jfields j = {};

	jadd(&j, "MESSAGE=govgate: audit checkpoint seq %llu seals %llu..%llu, head %s", ck->seq,
	     ck->first, ck->last, ck->head);
	jadd(&j, "GOVGATE_EVENT=checkpoint");
	jadd(&j, "GOVGATE_CHECKPOINT_SEQ=%llu", ck->seq);
	jadd(&j, "GOVGATE_CHECKPOINT_HEAD=%s", ck->head);
	jadd(&j, "GOVGATE_CHECKPOINT_HASH=%s", ck->hash);
	jadd(&j, "GOVGATE_CHECKPOINT_COVERS=%llu-%llu", ck->first, ck->last);
	jadd(&j, "GOVGATE_CHECKPOINT_KEY=%s", ck->key);
	jadd(&j, "GOVGATE_AUDIT_LOG=%s", d->cfg->audit_path);
	jadd(&j, "PRIORITY=%d", 6);
	jsend(&j);
}

/*
 * The audit log. Whatever it refuses is counted and recorded as
 * events_lost once it accepts again: a loss is never silent.
 */
static void record_unwritten(struct gg_daemon *d);

static int audit_append(struct gg_daemon *d, json_t *rec, unsigned long long *seq,
			struct gg_err *err)
{
	int ret;

	ret = gg_audit_append(d->audit, rec, seq, err);
	if (ret)
		return ret;
	d->records++;
	for (int b = 0; b < GG_LOST_BUCKETS; b++)
		if (d->unwritten[b]) {
			record_unwritten(d);
			break;
		}
	return 0;
}

/* The refused-record accounting as the state file keeps it. */
static void unwritten_to_state(struct gg_daemon *d)
{
	snprintf(d->st.unwritten_since, sizeof(d->st.unwritten_since), "%s", d->unw_since);
	snprintf(d->st.unwritten_until, sizeof(d->st.unwritten_until), "%s", d->unw_until);
	snprintf(d->st.unwritten_error, sizeof(d->st.unwritten_error), "%s", d->unw_error);
	d->st_dirty = true;
}

static void refused(struct gg_daemon *d, int bucket, const struct gg_err *err)
{
	char ts[40];

	gg_time_now(ts, sizeof(ts));
	if (!d->unw_since[0]) {
		snprintf(d->unw_since, sizeof(d->unw_since), "%s", ts);
		snprintf(d->unw_error, sizeof(d->unw_error), "%s", err->msg);
	}
	snprintf(d->unw_until, sizeof(d->unw_until), "%s", ts);
	if (!d->refusing)
		fprintf(stderr, "govgate: audit: record refused, counting refused records until "
				"the log accepts again: %s\n", err->msg);
	d->refusing = true;
	d->unwritten[bucket]++;
	/* Saved at once: the log may not take anything for a while. */
	d->st.unwritten[bucket]++;
	unwritten_to_state(d);
}

/* Records the refused records, by gate, once the writer accepts again. */
static void record_unwritten(struct gg_daemon *d)
{
	unsigned long long seq = 0;
	__u64 total = 0;
	struct gg_err err;
	bool left = false;

	if (d->in_lost)
		return;
	d->in_lost = true;
	for (int b = 0; b < GG_LOST_BUCKETS; b++) {
		__u64 n = d->unwritten[b];
		json_t *rec;

		if (!n)
			continue;
		rec = gg_lost_record(b == GG_LOST_OTHER ? NULL : gg_gate_name(b), "audit_write", n);
		json_object_set_new(rec, "since", json_string(d->unw_since));
		json_object_set_new(rec, "until", json_string(d->unw_until));
		json_object_set_new(rec, "error", json_string(d->unw_error));
		if (!audit_append(d, rec, &seq, &err)) {
			journal_lost(d, rec, seq);
			d->unwritten[b] = 0; /* the state file: once it is written */
			total += n;
		} else {
			left = true;
		}
		json_decref(rec);
	}
	if (!left) {
		if (total)
			fprintf(stderr, "govgate: audit: the log accepts records again: %llu refused "
					"from %s to %s are recorded as events_lost (reason audit_write)\n",
				(unsigned long long)total, d->unw_since, d->unw_until);
		d->unw_since[0] = d->unw_until[0] = d->unw_error[0] = '\0';
		d->refusing = false;
	}
	d->in_lost = false;
}

static int bucket_of(json_t *rec)
{
	int g = gg_gate_parse(gg_json_str(rec, "gate", ""));

	return g < 0 ? GG_LOST_OTHER : g;
}

/* Appends an evidence record; returns its seq, 0 if it was refused (and
 * counted). */
static unsigned long long audit_write(struct gg_daemon *d, json_t *rec)
{
	unsigned long long seq = 0;
	struct gg_err err;

	if (audit_append(d, rec, &seq, &err))
		refused(d, bucket_of(rec), &err);
	return seq;
}

/* Write, fsync and rotation failures surface here. Once the buffered
 * records are in the file, the state file may say they were reported. */
static void audit_flush(struct gg_daemon *d, bool sync)
{
	struct gg_err err;

	if (gg_audit_flush(d->audit, sync, &err)) {
		fprintf(stderr, "govgate: audit: %s\n", err.msg);
		return;
	}
	if (memcmp(d->st.reported, d->dropped, sizeof(d->dropped)) ||
	    strcmp(d->st.counters, d->counters_id) || !d->st.have_journal ||
	    d->st.journal_off != d->journal_off || d->st.journal_ino != d->journal_ino ||
	    d->st.journal_dev != d->journal_dev) {
		memcpy(d->st.reported, d->dropped, sizeof(d->dropped));
		snprintf(d->st.counters, sizeof(d->st.counters), "%s", d->counters_id);
		d->st.have_journal = true;
		d->st.journal_off = d->journal_off;
		d->st.journal_dev = d->journal_dev;
		d->st.journal_ino = d->journal_ino;
		d->st_dirty = true;
	}
	if (memcmp(d->st.unwritten, d->unwritten, sizeof(d->unwritten))) {
		memcpy(d->st.unwritten, d->unwritten, sizeof(d->unwritten));
		unwritten_to_state(d);
	}
}

/* A crash between two saves reports the drops since the last save again
 * at the next start (counted twice, never not at all). */
static void save_state(struct gg_daemon *d, bool now)
{
	struct gg_err err;

	if (!d->st_dirty || (!now && time(NULL) - d->st_saved < GG_STATE_SAVE_SECS))
		return;
	gg_time_now(d->st.saved_ts, sizeof(d->st.saved_ts));
	d->st_saved = time(NULL);
	if (gg_dstate_save(d->cfg->state_dir, &d->st, &err)) {
		if (!d->save_failing)
			fprintf(stderr, "govgate: %s (retried; until then a restart reports drops "
					"and copies the apply journal from the last saved state)\n",
				err.msg);
		d->save_failing = true;
		return;
	}
	if (d->save_failing)
		fprintf(stderr, "govgate: %s/" GG_DSTATE_FILE " saved again\n", d->cfg->state_dir);
	d->save_failing = false;
	d->st_dirty = false;
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
	struct gg_daemon *d = ctx;
	const struct gg_event *e = data;
	json_t *rec;

	/* Records are sized per gate (govgate_abi.h); an older build's
	 * full-size ones pass too. */
	if (size < GG_EVENT_HDR_SIZE || e->gate >= GG_GATE_COUNT || size < GG_EVENT_SIZE(e->gate)) {
		d->malformed++; /* recorded by check_drops */
		return 0;
	}
	rec = gg_event_record(e, policy_for(d, e->generation), d->boot_to_real);
	resolve_exe(rec, e->pid);
	journal_denial(d, rec, audit_write(d, rec));
	json_decref(rec);
	return 0;
}

/* An events_lost record for drops; 0 when the log accepted it. */
static int record_drops(struct gg_daemon *d, int gate, __u64 count, __u64 total, const char *when,
			const char *since)
{
	unsigned long long seq = 0;
	struct gg_err err;
	json_t *rec;
	int ret;

	rec = gg_lost_record(gg_gate_name(gate), "ring_buffer", count);
	json_object_set_new(rec, "total", json_integer(total));
	if (when)
		json_object_set_new(rec, "while", json_string(when));
	if (since && since[0])
		json_object_set_new(rec, "since", json_string(since));
	ret = audit_append(d, rec, &seq, &err);
	if (ret && !d->drops_blocked)
		fprintf(stderr, "govgate: audit: %llu %s event(s) dropped, the record of it was "
				"refused (retried until the log accepts it): %s\n",
			(unsigned long long)count, gg_gate_name(gate), err.msg);
	/* The journal hears of it either way, once per refusal streak. */
	if (!ret || !d->drops_blocked)
		journal_lost(d, rec, ret ? 0 : seq);
	d->drops_blocked = ret;
	json_decref(rec);
	return ret;
}

/* A drop is written as soon as it is seen: loss is never silent. One
 * per-CPU lookup per gate, after every drain batch and once a second. */
static void check_drops(struct gg_daemon *d)
{
	__u64 now[GG_GATE_COUNT];
	struct gg_err err;

	if (d->malformed) {
		unsigned long long seq = 0;
		json_t *rec = gg_lost_record(NULL, "malformed", d->malformed);

		if (!audit_append(d, rec, &seq, &err)) {
			journal_lost(d, rec, seq);
			d->malformed = 0;
		}
		json_decref(rec);
	}
	if (d->counters_fd < 0)
		return;
	if (gg_drops_read(d->counters_fd, now, &err)) {
		if (!d->counters_failing)
			fprintf(stderr, "govgate: drops cannot be counted: %s\n", err.msg);
		d->counters_failing = true;
		return;
	}
	d->counters_failing = false;
	for (int g = 0; g < GG_GATE_COUNT; g++)
		if (now[g] > d->dropped[g] &&
		    !record_drops(d, g, now[g] - d->dropped[g], now[g], NULL, NULL))
			d->dropped[g] = now[g];
}

/*
 * Drops the counters show that no record reported: counted while no
 * daemon drained (or while this one was starting). fresh: this run
 * created the counters map. Returns the drops it could not record (a
 * refused write) in left, for check_drops to retry.
 */
static void record_start_drops(struct gg_daemon *d, const char *id, bool fresh,
			       const __u64 now[GG_GATE_COUNT], __u64 left[GG_GATE_COUNT])
{
	const char *when = fresh ? "daemon_starting" : "daemon_down";
	__u64 lost[GG_GATE_COUNT];
	enum gg_drops_basis basis;

	basis = gg_drops_unreported(&d->st, id, fresh, now, lost);
	for (int g = 0; g < GG_GATE_COUNT; g++) {
		left[g] = 0;
		if (basis == GG_DROPS_UNKNOWN && now[g])
			fprintf(stderr, "govgate: %s: %llu event(s) dropped before this start; no "
					"state from the previous daemon says how many of them it "
					"reported: counting from now\n",
				gg_gate_name(g), (unsigned long long)now[g]);
		if (lost[g] && record_drops(d, g, lost[g], now[g], when,
					    basis == GG_DROPS_SAVED ? d->st.saved_ts : NULL))
			left[g] = lost[g];
	}
}

static void account_start_drops(struct gg_daemon *d, const struct gg_gate_state *state,
				int old_counters_fd)
{
	__u64 now[GG_GATE_COUNT], left[GG_GATE_COUNT];
	bool adopted = false;
	struct gg_err err;
	char id[96];

	/* Re-attached: the replaced gates counted until they were detached. */
	if (old_counters_fd >= 0) {
		gg_counters_identity(old_counters_fd, id, sizeof(id));
		if (!gg_drops_read(old_counters_fd, now, &err)) {
			record_start_drops(d, id, false, now, left);
			for (int g = 0; g < GG_GATE_COUNT; g++)
				if (left[g])
					fprintf(stderr, "govgate: %s: %llu event(s) the replaced gates "
							"dropped could not be recorded in the log\n",
						gg_gate_name(g), (unsigned long long)left[g]);
		} else
			fprintf(stderr, "govgate: the replaced gates' drop counters: %s\n", err.msg);
	}
	for (int g = 0; g < GG_GATE_COUNT; g++)
		adopted |= state[g].reused;
	if (d->counters_fd < 0 || gg_drops_read(d->counters_fd, now, &err)) {
		fprintf(stderr, "govgate: drop counters: %s\n",
			d->counters_fd < 0 ? "not available" : err.msg);
		return;
	}
	record_start_drops(d, d->counters_id, !adopted, now, left);
	for (int g = 0; g < GG_GATE_COUNT; g++)
		d->dropped[g] = now[g] - left[g];
}

/* Copies what `govgate apply` journaled into the audit log, from where the
 * last copy (by this daemon or the one before) ended. */
static void copy_journal(struct gg_daemon *d)
{
	char path[4096], *line = NULL;
	struct gg_err err;
	struct stat st;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	gg_journal_path(d->cfg, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return;
	if (fstat(fileno(f), &st) == 0) {
		const char *why = NULL;

		if (d->journal_ino && (st.st_dev != d->journal_dev || st.st_ino != d->journal_ino))
			why = "replaced";
		else if ((__u64)st.st_size < d->journal_off)
			why = "truncated";
		if (why) {
			fprintf(stderr, "govgate: %s was %s: copying it from its start\n", path, why);
			d->journal_off = 0;
		}
		d->journal_dev = st.st_dev;
		d->journal_ino = st.st_ino;
	}
	if (fseeko(f, d->journal_off, SEEK_SET) == 0) {
		while ((len = getline(&line, &cap, f)) > 0) {
			json_t *rec;
			int ret = 0;

			if (line[len - 1] != '\n')
				break; /* a record still being written */
			rec = json_loadb(line, len, 0, NULL);
			if (rec)
				ret = audit_append(d, rec, NULL, &err);
			else
				fprintf(stderr, "govgate: %s: byte %llu: not a JSON line, skipped\n",
					path, (unsigned long long)d->journal_off);
			json_decref(rec);
			if (ret == -EINVAL) {
				refused(d, GG_LOST_OTHER, &err); /* never acceptable: counted */
			} else if (ret) {
				/* Copied from here once the log accepts again. */
				if (!d->copy_blocked)
					fprintf(stderr, "govgate: audit: %s (the apply journal is "
							"copied once the log accepts again)\n", err.msg);
				d->copy_blocked = true;
				break;
			}
			d->copy_blocked = false;
			d->journal_off += len;
		}
	}
	free(line);
	fclose(f);
}

/* Events a replaced build's gates left in their ring buffer (held open
 * past their unpinning). */
static void drain_old_ring(struct gg_daemon *d, int fd)
{
	struct ring_buffer *rb = ring_buffer__new(fd, on_event, d, NULL);
	int n;

	if (!rb) {
		fprintf(stderr, "govgate: the replaced gates' ring buffer: %s; events left in it "
				"are lost (their drop counters do not count them)\n", strerror(errno));
		return;
	}
	n = ring_buffer__consume(rb);
	if (n > 0)
		fprintf(stderr, "govgate: recorded %d event(s) the replaced gates left in their "
				"ring buffer\n", n);
	ring_buffer__free(rb);
}

/* Where copying the apply journal resumes (before this start's own apply
 * appends to it); returns why it starts over from byte 0, if it does. */
static const char *resume_journal(struct gg_daemon *d)
{
	const char *why = NULL;
	char path[4096];
	struct stat st;
	bool exists;

	gg_journal_path(d->cfg, path, sizeof(path));
	exists = stat(path, &st) == 0;
	d->journal_off = gg_journal_resume(&d->st, exists, exists ? st.st_dev : 0,
					   exists ? st.st_ino : 0, exists ? st.st_size : 0, &why);
	if (exists) {
		d->journal_dev = st.st_dev;
		d->journal_ino = st.st_ino;
	}
	if (why)
		fprintf(stderr, "govgate: %s was %s: copying it from its start\n", path, why);
	else if (exists && !d->st.have_journal)
		fprintf(stderr, "govgate: no saved offset into %s: copying what is appended from "
				"now on\n", path);
	return why;
}

/*
 * SIGHUP (`systemctl reload govgate`): re-reads the configuration file and
 * applies its "packs" through the same atomic swap as `govgate apply`. The
 * pin and state directories and the agent-wide mode stay those the daemon
 * runs with; scope and audit settings take a restart. On any failure the
 * running policy stays, and the failure is in the journal and the audit log.
 */
static void reload(struct gg_daemon *d)
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

/* /run/govgate/<pin dir, '/' as '_'>.lock */
static void lock_path(const char *pin_dir, char *path, size_t len)
{
	char name[4096];

	snprintf(name, sizeof(name), "%s", pin_dir);
	for (char *p = name; *p; p++)
		if (*p == '/')
			*p = '_';
	snprintf(path, len, "/run/govgate/%s.lock", name);
}

/* Only one daemon per pin directory. */
static int take_lock(const char *pin_dir, struct gg_err *err)
{
	char path[4200];
	int fd;

	gg_mkdir_p("/run/govgate", 0755, NULL);
	lock_path(pin_dir, path, sizeof(path));
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
	char path[4200], buf[32] = "";
	int fd, pid = 0;

	lock_path(pin_dir, path, sizeof(path));
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

int gg_daemon_kill(const char *pin_dir, struct gg_err *err)
{
	int pid = gg_daemon_pid(pin_dir);

	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100 && gg_daemon_pid(pin_dir); i++)
		usleep(50000);
	if (gg_daemon_pid(pin_dir))
		return gg_errf(err, -ETIMEDOUT, "daemon (pid %d) did not stop", pid);
	return 0;
}

void gg_daemon_catch_reload(void)
{
	signal(SIGHUP, on_signal);
}

static json_t *mechanisms_json(const struct gg_gate_state *state)
{
	json_t *m = json_object();

	for (int g = 0; g < GG_GATE_COUNT; g++)
		json_object_set_new(m, gg_gate_name(g), json_string(gg_mech_name(state[g].mech)));
	return m;
}

/* Step 1: the lock, then the gates attached (or adopted, or a new build
 * staged next to the old one). */
static int start_attach(struct gg_daemon *d, bool verbose, struct gg_err *err)
{
	struct gg_config *cfg = d->cfg;
	char stage[4096];
	int ret;

	d->lock_fd = take_lock(cfg->pin_dir, err);
	if (d->lock_fd < 0)
		return d->lock_fd;
	ret = gg_gates_attach(cfg->pin_dir, &cfg->scope, d->state, verbose, stage, sizeof(stage),
			      err);
	if (ret)
		return ret;
	if (stage[0]) {
		/* Policy and settings go to the new build's maps first. */
		d->pin_dir_final = cfg->pin_dir;
		cfg->pin_dir = strdup(stage);
	}
	for (int g = 0; g < GG_GATE_COUNT; g++) {
		const struct gg_gate_state *s = &d->state[g];

		fprintf(stderr, "govgate: %s: %s%s%s%s\n", gg_gate_name(g),
			s->mech == GG_MECH_NONE ? "UNAVAILABLE" : gg_mech_name(s->mech),
			s->reused ? " (adopted from the pinned links)" : "", s->why[0] ? ", " : "",
			s->why);
		if (gg_gate_limits(g, s->mech))
			fprintf(stderr, "govgate: %s: limit: %s\n", gg_gate_name(g),
				gg_gate_limits(g, s->mech));
	}
	if (d->state[GG_GATE_EXEC].mech == GG_MECH_NONE ||
	    d->state[GG_GATE_EGRESS].mech == GG_MECH_NONE)
		return gg_errf(err, -ENOTSUP, "cmd.exec and net.egress must be enforceable (see above)");
	return 0;
}

/*
 * Step 1b: locked mode (bpf/guard.bpf.c), the default in global scope.
 * Says which tamper protections hold on this path; the lock itself is set
 * with the settings (start_policy).
 */
static void start_locked(struct gg_daemon *d, const struct gg_daemon_opts *opts)
{
	struct gg_gate_state guard;
	bool want = d->cfg->scope.mode == GG_SCOPE_GLOBAL && !opts->unlocked;
	bool lsm = gg_guard_attached(d->cfg->pin_dir, &guard);

	d->locked = want && lsm;
	if (!want) {
		fprintf(stderr, "govgate: locked: no (%s): a root task can switch govgate off\n",
			opts->unlocked ? "--unlocked" : "cgroup scope is never locked");
		return;
	}
	if (lsm) {
		fprintf(stderr, "govgate: locked: yes: refused to all but init, the daemon and "
				"its cgroup: bpf program load/attach/detach, link detach/update, "
				"writable fds to the settings/meta/counters/events maps, unlink, "
				"rename and umount of the pins, ptrace and signals to the daemon, "
				"cgroup moves of governed tasks\n");
		fprintf(stderr, "govgate: locked: not protected: the policy maps (govgate apply "
				"writes them from the CLI), requests through init (systemctl stop)\n");
		return;
	}
	fprintf(stderr, "govgate: locked: no: the guard needs BPF LSM (%s); what holds on this "
			"path: kexec and module loading are refused only with BPF LSM too; "
			"the daemon holds its links, so rm of the pins detaches nothing while it "
			"runs; NOT protected: the settings map, bpf link detach, umount of bpffs "
			"after a kill, ptrace and signals to the daemon, cgroup moves\n",
		guard.why[0] ? guard.why : "not attached");
}

/* Step 2: where the previous daemon left off: the drops it reported,
 * what the log refused, how far it copied the apply journal. */
static void start_resume(struct gg_daemon *d)
{
	struct gg_err err;
	int ret;

	ret = gg_dstate_load(d->cfg->state_dir, &d->st, &err);
	if (ret && ret != -ENOENT)
		fprintf(stderr, "govgate: %s: starting from the counters and the apply journal as "
				"they are now\n", err.msg);
	memcpy(d->unwritten, d->st.unwritten, sizeof(d->unwritten));
	snprintf(d->unw_since, sizeof(d->unw_since), "%s", d->st.unwritten_since);
	snprintf(d->unw_until, sizeof(d->unw_until), "%s", d->st.unwritten_until);
	snprintf(d->unw_error, sizeof(d->unw_error), "%s", d->st.unwritten_error);
	d->journal_reset = resume_journal(d);
}

/* Fail closed: keep the policy already in the maps, or at least the
 * platform floor; the failure is in the journal. */
static int restore_failed(struct gg_daemon *d, struct gg_err *err)
{
	struct gg_config *cfg = d->cfg;
	struct gg_policy_status cur = {};
	char saved[4096], kept[4200];

	fprintf(stderr, "govgate: applying the saved/configured packs failed: %s\n", err->msg);
	gg_policy_read(cfg->pin_dir, &cur, err);
	d->generation = cur.generation;
	if (d->generation)
		return 0;
	/* Applying the floor rewrites applied.json: keep the set that could
	 * not be restored, for the operator to fix and re-apply. */
	snprintf(saved, sizeof(saved), "%s/applied.json", cfg->state_dir);
	snprintf(kept, sizeof(kept), "%s/applied.json.unrestorable", cfg->state_dir);
	if (rename(saved, kept) == 0)
		fprintf(stderr, "govgate: the saved policy is kept as %s; fix it and "
				"`govgate apply` it again\n", kept);
	fprintf(stderr, "govgate: enforcing the platform floor alone\n");
	return gg_policy_apply(cfg, NULL, 0, "govgate run (floor only)", &d->generation, err);
}

/*
 * Step 3: the policy is in the maps before the gates are enabled: the
 * first governed decision already sees the floor. On a restart the old
 * policy keeps enforcing until the swap. The saved set is re-applied from
 * the bytes it was applied with; the configured packs are used only when
 * no set was saved. Then a staged build replaces the old one.
 */
static int start_policy(struct gg_daemon *d, struct gg_err *err)
{
	struct gg_config *cfg = d->cfg;
	int ret;

	ret = gg_policy_restore(cfg, "govgate run", &d->generation, err);
	if (ret == -ENOENT)
		ret = gg_policy_apply(cfg, cfg->packs, cfg->n_packs, "govgate run", &d->generation,
				      err);
	if (ret && (ret = restore_failed(d, err)))
		return ret;
	ret = gg_gates_configure(cfg->pin_dir, &cfg->scope, getpid(), true, d->locked, err);
	if (ret || !d->pin_dir_final)
		return ret;
	/* A map outlives its pin while an fd holds it: what the replaced gates
	 * counted and left in their ring buffer while no daemon drained is
	 * recorded once the log is open. */
	d->old_events_fd = gg_pinned_fd(d->pin_dir_final, GG_MAP_EVENTS, NULL);
	d->old_counters_fd = gg_pinned_fd(d->pin_dir_final, GG_MAP_COUNTERS, NULL);
	ret = gg_gates_finish_upgrade(d->pin_dir_final, cfg->pin_dir, err);
	free(cfg->pin_dir);
	cfg->pin_dir = d->pin_dir_final;
	d->pin_dir_final = NULL;
	if (ret)
		return ret;
	fprintf(stderr, "govgate: re-attached: this build's gates enforce, the old ones are detached\n");
	return 0;
}

static void record_started(struct gg_daemon *d)
{
	const struct gg_config *cfg = d->cfg;
	json_t *rec;

	rec = json_pack("{s:s, s:s, s:o, s:s, s:s, s:I, s:i}", "event", "agent_started", "version",
			GG_VERSION, "mechanisms", mechanisms_json(d->state), "scope",
			cfg->scope.mode == GG_SCOPE_GLOBAL ? "global" : cfg->scope.cgroup, "mode",
			cfg->mode == GG_ACT_OBSERVE ? "observe" : "enforce", "generation",
			(json_int_t)d->generation, "pid", getpid());
	json_object_set_new(rec, "locked", json_boolean(d->locked));
	for (int g = 0; g < GG_GATE_COUNT; g++)
		if (d->state[g].why[0]) {
			char key[64];

			snprintf(key, sizeof(key), "%s_fallback_reason", gg_gate_name(g));
			json_object_set_new(rec, key, json_string(d->state[g].why));
		}
	if (d->journal_reset)
		json_object_set_new(rec, "apply_journal_reset", json_string(d->journal_reset));
	audit_write(d, rec);
	json_decref(rec);
}

/* Step 4: the audit log, and in it what happened while no daemon ran:
 * drops, records the previous daemon's log refused, applies, events
 * still in the ring buffer. */
static int start_audit(struct gg_daemon *d, struct gg_err *err)
{
	struct gg_audit_opts aopts;
	int ret;

	gg_config_audit_opts(d->cfg, &aopts);
	d->journald = getenv("JOURNAL_STREAM") || getenv("INVOCATION_ID");
	if (d->journald) {
		/* Every checkpoint is copied to the journal: an anchor the log's
		 * writer cannot take back. */
		aopts.on_checkpoint = on_checkpoint;
		aopts.on_checkpoint_ctx = d;
	}
	ret = gg_audit_open(&aopts, &d->audit, err);
	if (ret)
		return ret;
	d->boot_to_real = gg_boot_to_real_ns();
	d->counters_fd = gg_pinned_fd(d->cfg->pin_dir, GG_MAP_COUNTERS, err);
	if (d->counters_fd < 0)
		fprintf(stderr, "govgate: %s: drops cannot be counted\n", err->msg);
	else
		gg_counters_identity(d->counters_fd, d->counters_id, sizeof(d->counters_id));
	record_started(d);
	account_start_drops(d, d->state, d->old_counters_fd);
	record_unwritten(d);
	copy_journal(d); /* also the policy_applied record of this start */
	if (d->old_events_fd >= 0)
		drain_old_ring(d, d->old_events_fd);
	return 0;
}

/* Step 5: the ring buffer, its backlog, and then ready. */
static int start_drain(struct gg_daemon *d, struct gg_err *err)
{
	const struct gg_config *cfg = d->cfg;
	int ret;

	d->events_fd = gg_pinned_fd(cfg->pin_dir, GG_MAP_EVENTS, err);
	if (d->events_fd < 0)
		return d->events_fd;
	d->rb = ring_buffer__new(d->events_fd, on_event, d, NULL);
	if (!d->rb)
		return gg_errf(err, -errno, "ring buffer: %s", strerror(errno));
	/* The backlog now, not at the first wakeup. */
	ret = ring_buffer__consume(d->rb);
	if (ret > 0)
		fprintf(stderr, "govgate: recorded %d event(s) waiting in the ring buffer\n", ret);
	check_drops(d);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	audit_flush(d, true);
	save_state(d, true);
	fprintf(stderr, "govgate: enforcing (generation %llu, scope %s, mode %s)\n",
		(unsigned long long)d->generation,
		cfg->scope.mode == GG_SCOPE_GLOBAL ? "global" : cfg->scope.cgroup,
		cfg->mode == GG_ACT_OBSERVE ? "observe" : "enforce");
	sd_notify(0, "READY=1\nSTATUS=enforcing");
	return 0;
}

int gg_daemon_start(struct gg_config *cfg, const struct gg_daemon_opts *opts,
		    struct gg_daemon **out, struct gg_err *err)
{
	struct gg_daemon *d = calloc(1, sizeof(*d));
	int ret;

	*out = d;
	if (!d)
		return gg_errf(err, -ENOMEM, "out of memory");
	d->cfg = cfg;
	d->lock_fd = d->events_fd = d->old_events_fd = d->old_counters_fd = -1;
	d->counters_fd = -1;
	ret = start_attach(d, opts->verbose, err);
	if (ret)
		return ret;
	start_locked(d, opts);
	start_resume(d);
	ret = start_policy(d, err);
	if (!ret)
		ret = start_audit(d, err);
	if (!ret)
		ret = start_drain(d, err);
	return ret;
}

int gg_daemon_loop(struct gg_daemon *d, struct gg_err *err)
{
	struct gg_watch *watch = gg_watch_open(); /* user/watch.c */
	time_t last_tick = 0;
	int ret;

	while (!stop_requested) {
		bool tick;

		if (reload_requested) {
			reload_requested = 0;
			reload(d);
		}
		ret = ring_buffer__poll(d->rb, 200);
		if (ret < 0 && ret != -EINTR) {
			gg_watch_close(watch);
			return gg_errf(err, ret, "ring buffer poll: %s", strerror(-ret));
		}
		if (gg_watch_poll(watch, d->cfg, &d->generation) > 0)
			copy_journal(d); /* policy_applied, now */
		/* After every drain batch, and once a second when idle. */
		tick = time(NULL) != last_tick;
		if (ret > 0 || tick)
			check_drops(d);
		if (tick) {
			last_tick = time(NULL);
			copy_journal(d);
			if (gg_audit_tick(d->audit, err))
				fprintf(stderr, "govgate: audit: %s\n", err->msg);
		}
		audit_flush(d, false);
		save_state(d, false);
	}
	gg_watch_close(watch);
	sd_notify(0, "STOPPING=1");
	ring_buffer__consume(d->rb);
	d->clean_stop = true;
	return 0;
}

int gg_daemon_stop(struct gg_daemon *d, const char *error)
{
	struct gg_err err;
	int ret = 0;
	json_t *rec;

	if (!d || !d->audit)
		return 0;
	d->clean_stop = !error;
	/* The log says how the daemon ended, whichever way it did. */
	check_drops(d);
	copy_journal(d);
	rec = json_pack("{s:s, s:s}", "event", "agent_stopped", "enforcement",
			"still attached (pinned links)");
	if (error)
		json_object_set_new(rec, "error", json_string(error));
	audit_write(d, rec);
	json_decref(rec);
	/* gg_audit_close cannot report: the final write and fsync are checked
	 * here. On failure the state file keeps what the log is known to
	 * hold, so the next start reports the rest again. */
	ret = gg_audit_checkpoint(d->audit, &err);
	if (ret) {
		fprintf(stderr, "govgate: audit: the final checkpoint failed, the last records "
				"may be missing from the log: %s\n", err.msg);
	} else {
		audit_flush(d, false);
		d->st_dirty = true; /* "since" of the next daemon_down: now */
	}
	save_state(d, true);
	if (d->clean_stop)
		fprintf(stderr, "govgate: stopped draining; the pinned gates keep enforcing\n");
	return ret;
}

void gg_daemon_free(struct gg_daemon *d)
{
	struct gg_err err;

	if (!d)
		return;
	ring_buffer__free(d->rb);
	if (d->events_fd >= 0)
		close(d->events_fd);
	if (d->old_events_fd >= 0)
		close(d->old_events_fd);
	if (d->old_counters_fd >= 0)
		close(d->old_counters_fd);
	if (d->counters_fd >= 0)
		close(d->counters_fd);
	if (d->audit)
		gg_audit_close(d->audit);
	for (unsigned i = 0; i < GG_GEN_CACHE; i++)
		gg_compiled_free(d->gens[i].policy);
	if (d->pin_dir_final) {
		free(d->cfg->pin_dir);
		d->cfg->pin_dir = d->pin_dir_final;
	}
	/* While the lock is still held: a daemon started after it is released
	 * writes its own exemption, which this must not clear. */
	if (d->clean_stop && gg_gates_release_self(d->cfg->pin_dir, &err))
		fprintf(stderr, "govgate: could not drop the daemon's own exemption: %s\n", err.msg);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	free(d);
}
