// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lost.h"

static const char *bucket_name(int b)
{
	return b == GG_LOST_OTHER ? "other" : gg_gate_name(b);
}

static void copy_str(char *dst, size_t len, json_t *v)
{
	snprintf(dst, len, "%s", json_string_value(v) ?: "");
}

static void recon_load(json_t *doc, struct gg_dstate *st)
{
	json_t *acc = json_object_get(doc, "accounted");
	json_t *unr = json_object_get(doc, "unreceived");
	json_t *sig = json_object_get(doc, "signature");

	st->have_accounted = json_is_object(acc);
	for (int g = 0; g < GG_GATE_COUNT; g++) {
		st->accounted[g] = json_integer_value(json_object_get(acc, gg_gate_name(g)));
		st->unreceived[g] = json_integer_value(json_object_get(unr, gg_gate_name(g)));
	}
	copy_str(st->sig, sizeof(st->sig), json_object_get(sig, "ed25519"));
	copy_str(st->sig_key, sizeof(st->sig_key), json_object_get(sig, "key"));
}

static void recon_save(json_t *doc, const struct gg_dstate *st)
{
	json_t *acc = json_object(), *unr = json_object();

	for (int g = 0; g < GG_GATE_COUNT; g++) {
		json_object_set_new(acc, gg_gate_name(g), json_integer(st->accounted[g]));
		json_object_set_new(unr, gg_gate_name(g), json_integer(st->unreceived[g]));
	}
	json_object_set_new(doc, "accounted", acc);
	json_object_set_new(doc, "unreceived", unr);
	if (st->sig[0])
		json_object_set_new(doc, "signature", json_pack("{s:s, s:s}", "key", st->sig_key,
								"ed25519", st->sig));
}

int gg_dstate_load(const char *state_dir, struct gg_dstate *st, struct gg_err *err)
{
	char path[4096];
	json_error_t jerr;
	json_t *doc, *o, *j;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/" GG_DSTATE_FILE, state_dir);
	if (access(path, F_OK))
		return -ENOENT;
	doc = json_load_file(path, 0, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return gg_errf(err, -EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column,
			       doc ? "not an object" : jerr.text);
	}
	copy_str(st->counters, sizeof(st->counters), json_object_get(doc, "counters"));
	copy_str(st->saved_ts, sizeof(st->saved_ts), json_object_get(doc, "saved"));
	o = json_object_get(doc, "reported");
	for (int g = 0; g < GG_GATE_COUNT; g++)
		st->reported[g] = json_integer_value(json_object_get(o, gg_gate_name(g)));
	o = json_object_get(doc, "unwritten");
	for (int b = 0; b < GG_LOST_BUCKETS; b++)
		st->unwritten[b] = json_integer_value(json_object_get(o, bucket_name(b)));
	copy_str(st->unwritten_since, sizeof(st->unwritten_since),
		 json_object_get(doc, "unwritten_since"));
	copy_str(st->unwritten_until, sizeof(st->unwritten_until),
		 json_object_get(doc, "unwritten_until"));
	copy_str(st->unwritten_error, sizeof(st->unwritten_error),
		 json_object_get(doc, "unwritten_error"));
	j = json_object_get(doc, "journal");
	if (json_is_integer(json_object_get(j, "offset"))) {
		st->have_journal = true;
		st->journal_off = gg_json_int(j, "offset");
		st->journal_dev = gg_json_int(j, "dev");
		st->journal_ino = gg_json_int(j, "ino");
	}
	recon_load(doc, st);
	st->loaded = true;
	json_decref(doc);
	return 0;
}

int gg_dstate_save(const char *state_dir, const struct gg_dstate *st, struct gg_err *err)
{
	char path[4096];
	json_t *doc, *rep, *unw;
	int ret;
	char *s = NULL;
	size_t len;

	rep = json_object();
	for (int g = 0; g < GG_GATE_COUNT; g++)
		json_object_set_new(rep, gg_gate_name(g), json_integer(st->reported[g]));
	unw = json_object();
	for (int b = 0; b < GG_LOST_BUCKETS; b++)
		json_object_set_new(unw, bucket_name(b), json_integer(st->unwritten[b]));
	doc = json_pack("{s:i, s:s, s:s, s:o, s:o, s:s, s:s, s:s}", "version", 1, "saved",
			st->saved_ts, "counters", st->counters, "reported", rep, "unwritten", unw,
			"unwritten_since", st->unwritten_since, "unwritten_until",
			st->unwritten_until, "unwritten_error", st->unwritten_error);
	if (doc && st->have_journal)
		json_object_set_new(doc, "journal",
				    json_pack("{s:I, s:I, s:I}", "offset",
					      (json_int_t)st->journal_off, "dev",
					      (json_int_t)st->journal_dev, "ino",
					      (json_int_t)st->journal_ino));
	if (doc && st->have_accounted)
		recon_save(doc, st);
	s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!s)
		return gg_errf(err, -ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "%s/" GG_DSTATE_FILE, state_dir);
	len = strlen(s);
	s[len] = '\n'; /* over the NUL: written with its length */
	/* A reader sees the old state or the new one, never half of either. */
	ret = gg_write_atomic(path, s, len + 1, 0644, err);
	free(s);
	return ret;
}

enum gg_drops_basis gg_drops_unreported(const struct gg_dstate *st, const char *identity,
					bool fresh_map, const __u64 now[GG_GATE_COUNT],
					__u64 out[GG_GATE_COUNT])
{
	bool same = !fresh_map && st->loaded && identity && identity[0] &&
		    !strcmp(identity, st->counters);

	if (!fresh_map && !st->loaded) {
		memset(out, 0, sizeof(__u64) * GG_GATE_COUNT);
		return GG_DROPS_UNKNOWN;
	}
	for (int g = 0; g < GG_GATE_COUNT; g++)
		out[g] = same && now[g] >= st->reported[g] ? now[g] - st->reported[g] : now[g];
	return same ? GG_DROPS_SAVED : GG_DROPS_ZERO;
}

__u64 gg_journal_resume(const struct gg_dstate *st, bool exists, __u64 dev, __u64 ino,
			__u64 size, const char **why)
{
	*why = NULL;
	if (!exists)
		return 0;
	if (!st->loaded || !st->have_journal)
		return size;
	if (!st->journal_off)
		return 0; /* nothing copied yet: whichever file it is now */
	if (st->journal_dev != dev || st->journal_ino != ino) {
		*why = "replaced (another file than the one copied from)";
		return 0;
	}
	if (size < st->journal_off) {
		*why = "truncated (shorter than the offset copied up to)";
		return 0;
	}
	return st->journal_off;
}

void gg_counters_identity(int fd, char *buf, size_t len)
{
	char boot[64];
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);

	buf[0] = '\0';
	gg_boot_id(boot, sizeof(boot));
	if (!boot[0] || bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return;
	snprintf(buf, len, "%s:%u", boot, info.id);
}

int gg_drops_read(int fd, __u64 out[GG_GATE_COUNT], struct gg_err *err)
{
	for (__u32 g = 0; g < GG_GATE_COUNT; g++) {
		__u32 idx = g * GG_CNT_COUNT + GG_CNT_DROPPED;
		int ret = gg_percpu_sum(fd, &idx, &out[g], err);

		if (ret)
			return ret;
	}
	return 0;
}

int gg_written_read(int fd, __u64 out[GG_GATE_COUNT], struct gg_err *err)
{
	static const int kinds[] = { GG_CNT_DENIED, GG_CNT_OBSERVED, GG_CNT_DROPPED };
	__u64 v[3];

	for (__u32 g = 0; g < GG_GATE_COUNT; g++) {
		for (int k = 0; k < 3; k++) {
			__u32 idx = g * GG_CNT_COUNT + kinds[k];
			int ret = gg_percpu_sum(fd, &idx, &v[k], err);

			if (ret)
				return ret;
		}
		/* Per-CPU sums read one after the other: a drop counted after
		 * its decision was read can put dropped ahead for a moment. */
		out[g] = v[0] + v[1] > v[2] ? v[0] + v[1] - v[2] : 0;
	}
	return 0;
}

enum gg_recon_basis gg_recon_baseline(const struct gg_dstate *st, bool trusted,
				      const char *identity, const __u64 written[GG_GATE_COUNT],
				      __u64 base[GG_GATE_COUNT])
{
	memset(base, 0, sizeof(__u64) * GG_GATE_COUNT);
	if (!st->loaded || !st->have_accounted)
		return GG_RECON_NONE;
	if (!identity || !identity[0] || strcmp(identity, st->counters))
		return GG_RECON_OTHER_MAP;
	if (!trusted)
		return GG_RECON_UNTRUSTED;
	for (int g = 0; g < GG_GATE_COUNT; g++)
		base[g] = st->accounted[g] <= written[g] ? st->accounted[g] : 0;
	return GG_RECON_SAVED;
}

const char *gg_recon_basis_name(enum gg_recon_basis b)
{
	switch (b) {
	case GG_RECON_SAVED:
		return "saved";
	case GG_RECON_NONE:
		return "nothing_saved";
	case GG_RECON_OTHER_MAP:
		return "saved_for_other_counters";
	case GG_RECON_UNTRUSTED:
		return "saved_unsigned";
	}
	return "?";
}

int gg_dstate_message(const struct gg_dstate *st, char *buf, size_t len)
{
	int n = snprintf(buf, len, "govgate-audit-state-v1\ncounters %s\n", st->counters);

	for (int g = 0; g < GG_GATE_COUNT && n > 0 && (size_t)n < len; g++)
		n += snprintf(buf + n, len - n, "%s %llu %llu %llu\n", gg_gate_name(g),
			      (unsigned long long)st->accounted[g],
			      (unsigned long long)st->unreceived[g],
			      (unsigned long long)st->reported[g]);
	return n > 0 && (size_t)n < len ? n : -ENOSPC;
}
