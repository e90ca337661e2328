// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "floor_pack.h"
#include "policy.h"

#include <bpf/bpf.h>
#include "gates.h"

int gg_floor_pack(struct gg_pack **out, struct gg_err *err)
{
	int ret = gg_pack_parse((const char *)gg_floor_pack_json, gg_floor_pack_json_len,
				"platform-floor (built in)", out, err);

	if (!ret) {
		free((*out)->ref);
		(*out)->ref = strdup("floor");
	}
	return ret;
}

int gg_policy_build(const struct gg_config *cfg, const struct gg_pack_ref *refs, size_t n,
		    struct gg_compiled **out, struct gg_policy_input **inputs_out, size_t *n_inputs_out,
		    struct gg_err *err)
{
	struct gg_policy_input *in = NULL;
	struct gg_pack *floor = NULL;
	struct gg_ref_ctx ctx;
	size_t n_in = 0;
	int ret;

	gg_config_ref_ctx(cfg, &ctx);
	ret = gg_floor_pack(&floor, err);
	if (ret)
		return ret;
	in = calloc(1, sizeof(*in));
	if (!in) {
		gg_pack_free(floor);
		return gg_errf(err, -ENOMEM, "out of memory");
	}
	/* The floor is enforced unless the whole agent observes. */
	in[n_in++] = (struct gg_policy_input){ floor, cfg->mode, true };
	for (size_t i = 0; i < n; i++) {
		struct gg_pack **got = NULL;
		size_t n_got = 0;
		const char *ref = refs[i].ref;
		void *p;

		ret = gg_ref_resolve_packs(&ctx, &ref, 1, &got, &n_got, err);
		if (ret)
			goto cleanup;
		p = realloc(in, (n_in + n_got) * sizeof(*in));
		if (!p) {
			gg_packs_free(got, n_got);
			ret = gg_errf(err, -ENOMEM, "out of memory");
			goto cleanup;
		}
		in = p;
		for (size_t j = 0; j < n_got; j++) {
			enum gg_action mode = cfg->mode == GG_ACT_OBSERVE ? GG_ACT_OBSERVE
									 : refs[i].mode;

			in[n_in++] = (struct gg_policy_input){ got[j], mode, false };
		}
		free(got);
	}
	ret = gg_compile(in, n_in, out, err);
cleanup:
	if (!ret && inputs_out) {
		*inputs_out = in;
		*n_inputs_out = n_in;
	} else {
		gg_policy_inputs_free(in, n_in);
	}
	return ret;
}

void gg_policy_inputs_free(struct gg_policy_input *in, size_t n)
{
	for (size_t i = 0; in && i < n; i++)
		gg_pack_free((struct gg_pack *)in[i].pack);
	free(in);
}

static int mkdirs(const char *dir)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Writes doc to path atomically (temp file + fsync + rename). */
static int write_json_atomic(const char *path, json_t *doc, struct gg_err *err)
{
	char tmp[4096];
	int fd, ret = 0;
	char *s;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid());
	s = json_dumps(doc, JSON_COMPACT);
	if (!s)
		return gg_errf(err, -ENOMEM, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = gg_errf(err, -errno, "%s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s) || write(fd, "\n", 1) != 1 ||
	    fsync(fd)) {
		ret = gg_errf(err, -errno, "%s: write: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto cleanup;
	}
	close(fd);
	if (rename(tmp, path)) {
		ret = gg_errf(err, -errno, "%s: %s", path, strerror(errno));
		unlink(tmp);
	}
cleanup:
	free(s);
	return ret;
}

void gg_journal_path(const struct gg_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "%s/journal.jsonl", cfg->state_dir);
}

static void journal_append(const struct gg_config *cfg, json_t *rec)
{
	char path[4096];
	char *s;
	int fd;

	gg_journal_path(cfg, path, sizeof(path));
	/* Stamped now: the daemon may copy it much later (it was not running). */
	if (!json_object_get(rec, "ts")) {
		struct timespec t;
		char ts[40];

		clock_gettime(CLOCK_REALTIME, &t);
		gg_time_format_us(t.tv_sec * 1000000LL + t.tv_nsec / 1000, ts, sizeof(ts));
		json_object_set_new(rec, "ts", json_string(ts));
	}
	s = json_dumps(rec, JSON_COMPACT);
	if (!s)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		/* One write per record: O_APPEND keeps concurrent writers whole. */
		size_t len = strlen(s);

		s[len] = '\n';
		if (write(fd, s, len + 1) < 0)
			fprintf(stderr, "govgate: %s: %s\n", path, strerror(errno));
		s[len] = '\0';
		fsync(fd);
		close(fd);
	}
	free(s);
}

static json_t *refs_json(const struct gg_pack_ref *refs, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s}", "ref", refs[i].ref, "mode",
						     refs[i].mode == GG_ACT_OBSERVE ? "observe"
										    : "enforce"));
	return arr;
}

/*
 * What each pack of the policy enforces, only observes and only advises,
 * for the report: the floor first ("floor", as events name it), then every
 * resolved pack, each with the mode it runs in. A pack in observe mode
 * enforces nothing: its enforceable controls are listed as "observed".
 */
json_t *gg_policy_packs_json(const struct gg_policy_input *in, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++) {
		const struct gg_pack *pk = in[i].pack;
		bool observe = in[i].mode == GG_ACT_OBSERVE;
		json_t *enf = json_array(), *obs = json_array(), *adv = json_array();

		for (size_t c = 0; c < pk->n_controls; c++)
			json_array_append_new(!pk->controls[c].enforced ? adv : observe ? obs : enf,
					      json_string(pk->controls[c].id));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "ref",
						     pk->ref ? pk->ref : pk->name, "framework",
						     pk->fw_id, "sha256", pk->sha256, "mode",
						     observe ? "observe" : "enforce", "enforced", enf,
						     "observed", obs, "advisory", adv));
	}
	return arr;
}

/* The generation applied.json records, or 0. */
static __u64 last_generation(const struct gg_config *cfg)
{
	char path[4096];
	json_t *doc;
	__u64 gen = 0;

	snprintf(path, sizeof(path), "%s/applied.json", cfg->state_dir);
	doc = json_load_file(path, 0, NULL);
	if (doc)
		gen = json_integer_value(json_object_get(doc, "generation"));
	json_decref(doc);
	return gen;
}

int gg_policy_apply(const struct gg_config *cfg, const struct gg_pack_ref *refs, size_t n,
		    const char *who, __u64 *generation, struct gg_err *err)
{
	struct gg_policy_input *in = NULL;
	struct gg_compiled *c = NULL;
	struct gg_policy_status st;
	size_t n_in = 0;
	char path[4096];
	json_t *doc = NULL, *rec;
	int lock_fd = -1, ret;
	__u64 next;

	if (mkdirs(cfg->state_dir) ||
	    (snprintf(path, sizeof(path), "%s/generations", cfg->state_dir), mkdirs(path)))
		return gg_errf(err, -errno, "%s: cannot create state directory: %s", cfg->state_dir,
			       strerror(errno));
	/* One apply at a time: the generation written below must be the one the
	 * swap makes active. */
	snprintf(path, sizeof(path), "%s/apply.lock", cfg->state_dir);
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX)) {
		ret = gg_errf(err, -errno, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	ret = gg_policy_build(cfg, refs, n, &c, &in, &n_in, err);
	if (ret)
		goto cleanup;
	/* Generations only grow, also across a re-attach with fresh maps:
	 * the state directory remembers the last one. */
	ret = gg_policy_read(cfg->pin_dir, &st, err);
	if (ret)
		goto cleanup;
	next = (st.latest > last_generation(cfg) ? st.latest : last_generation(cfg)) + 1;
	/* The generation's record exists before any event can name it. Events
	 * resolve through the entries alone, so the map rows (a million with a
	 * large CIDR list) are not written. */
	{
		struct gg_compiled entries_only = {
			.entries = c->entries,
			.n_entries = c->n_entries,
			.module = c->module,
			.refs = c->refs,
			.n_refs = c->n_refs,
		};

		doc = json_pack("{s:I, s:o, s:s, s:o, s:o}", "generation", (json_int_t)next,
				"refs", refs_json(refs, n), "who", who, "packs",
				gg_policy_packs_json(in, n_in), "policy",
				gg_compiled_to_json(&entries_only));
	}
	snprintf(path, sizeof(path), "%s/generations/%llu.json", cfg->state_dir,
		 (unsigned long long)next);
	ret = write_json_atomic(path, doc, err);
	if (ret)
		goto cleanup;
	ret = gg_policy_swap(cfg->pin_dir, c, next, err);
	if (ret)
		goto cleanup;
	*generation = next;
	rec = json_pack("{s:o, s:I}", "refs", refs_json(refs, n), "generation",
			(json_int_t)next);
	snprintf(path, sizeof(path), "%s/applied.json", cfg->state_dir);
	ret = write_json_atomic(path, rec, err);
	json_decref(rec);
	if (ret)
		goto cleanup;
	rec = json_pack("{s:s, s:o, s:I, s:s, s:s, s:o, s:I}", "event", "policy_applied", "refs",
			refs_json(refs, n), "generation", (json_int_t)next, "mode",
			cfg->mode == GG_ACT_OBSERVE ? "observe" : "enforce", "who", who, "packs",
			gg_policy_packs_json(in, n_in), "rules", (json_int_t)c->n_entries);
	journal_append(cfg, rec);
	json_decref(rec);
cleanup:
	if (ret) {
		rec = json_pack("{s:s, s:o, s:s, s:s}", "event", "policy_apply_failed", "refs",
				refs_json(refs, n), "error", err ? err->msg : "", "who", who);
		journal_append(cfg, rec);
		json_decref(rec);
	}
	json_decref(doc);
	gg_compiled_free(c);
	gg_policy_inputs_free(in, n_in);
	if (lock_fd >= 0)
		close(lock_fd);
	return ret;
}

int gg_applied_load(const struct gg_config *cfg, struct gg_pack_ref **out, size_t *n_out,
		    struct gg_err *err)
{
	struct gg_pack_ref *refs = NULL;
	char path[4096];
	json_error_t jerr;
	json_t *doc, *arr, *e;
	size_t i, n = 0;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/applied.json", cfg->state_dir);
	if (access(path, F_OK))
		return -ENOENT;
	doc = json_load_file(path, 0, &jerr);
	if (!doc)
		return gg_errf(err, -EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
	arr = json_object_get(doc, "refs");
	refs = calloc(json_array_size(arr) + 1, sizeof(*refs));
	if (!refs) {
		ret = gg_errf(err, -ENOMEM, "out of memory");
		goto cleanup;
	}
	json_array_foreach(arr, i, e) {
		const char *ref = NULL, *mode = "enforce";

		if (json_unpack(e, "{s:s, s?:s}", "ref", &ref, "mode", &mode) ||
		    gg_mode_parse(mode, &refs[n].mode)) {
			ret = gg_errf(err, -EINVAL, "%s: refs[%zu] is malformed", path, i);
			goto cleanup;
		}
		refs[n++].ref = strdup(ref);
	}
cleanup:
	json_decref(doc);
	if (ret) {
		gg_pack_refs_free(refs, n);
		return ret;
	}
	*out = refs;
	*n_out = n;
	return 0;
}

void gg_pack_refs_free(struct gg_pack_ref *refs, size_t n)
{
	for (size_t i = 0; refs && i < n; i++)
		free(refs[i].ref);
	free(refs);
}

int gg_generation_load(const struct gg_config *cfg, __u64 generation, struct gg_compiled **out,
		       struct gg_err *err)
{
	char path[4096];
	json_error_t jerr;
	json_t *doc;
	int ret;

	snprintf(path, sizeof(path), "%s/generations/%llu.json", cfg->state_dir,
		 (unsigned long long)generation);
	doc = json_load_file(path, 0, &jerr);
	if (!doc)
		return gg_errf(err, -ENOENT, "%s: %s", path, jerr.text);
	ret = gg_compiled_from_json(json_object_get(doc, "policy"), out, err);
	json_decref(doc);
	return ret;
}
