// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "compiled_json.h"
#include "doc_cache.h"
#include "floor_pack.h"

struct gg_apply_kernel gg_apply_kernel = {
	.read = gg_policy_generation,
	.swap = gg_policy_swap,
	.stale_pending = gg_policy_stale_pending,
	.stale_wait_ms = gg_policy_stale_wait_ms,
	.stale_clear = gg_policy_stale_clear,
};

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

static const char *mode_name(enum gg_action mode)
{
	return mode == GG_ACT_OBSERVE ? "observe" : "enforce";
}

/* ---- the applied set ---- */

static void applied_ref_free(struct gg_applied_ref *e)
{
	for (size_t i = 0; e->packs && i < e->n_packs; i++)
		free(e->packs[i].ref);
	free(e->packs);
	free(e->ref);
	memset(e, 0, sizeof(*e));
}

void gg_applied_free(struct gg_applied *a)
{
	for (size_t i = 0; a->refs && i < a->n; i++)
		applied_ref_free(&a->refs[i]);
	free(a->refs);
	memset(a, 0, sizeof(*a));
}

/* Appends an unpinned entry (ref copied); the array has room (caller). */
static int applied_push(struct gg_applied *a, const char *ref, enum gg_action mode,
			struct gg_err *err)
{
	struct gg_applied_ref *e = &a->refs[a->n];

	memset(e, 0, sizeof(*e));
	e->ref = strdup(ref);
	if (!e->ref)
		return gg_errf(err, -ENOMEM, "out of memory");
	e->mode = mode;
	a->n++;
	return 0;
}

static void applied_path(const struct gg_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "%s/applied.json", cfg->state_dir);
}

/* The pack store: <state_dir>/packs, laid out as a store_dir (sha256/<hex>). */
static void pack_store(const struct gg_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "%s/packs", cfg->state_dir);
}

static bool hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int parse_packs(const char *path, size_t i, json_t *arr, struct gg_applied_ref *e,
		       struct gg_err *err)
{
	size_t k;
	json_t *p;

	if (!json_is_array(arr))
		return gg_errf(err, -EINVAL, "%s: refs[%zu] (%s) has no \"packs\" list", path, i,
			       e->ref);
	e->packs = calloc(json_array_size(arr) + 1, sizeof(*e->packs));
	if (!e->packs)
		return gg_errf(err, -ENOMEM, "out of memory");
	json_array_foreach(arr, k, p) {
		const char *ref = NULL, *sha = NULL;

		/* sha256 becomes a file name: exactly 64 lower-case hex digits. */
		if (json_unpack(p, "{s:s, s:s}", "ref", &ref, "sha256", &sha) ||
		    gg_ref_classify(ref) != GG_REF_NAME || !hex64(sha))
			return gg_errf(err, -EINVAL,
				       "%s: refs[%zu].packs[%zu] is malformed (want {\"ref\": name@version, \"sha256\": 64 hex digits})",
				       path, i, k);
		e->packs[k].ref = strdup(ref);
		if (!e->packs[k].ref)
			return gg_errf(err, -ENOMEM, "out of memory");
		memcpy(e->packs[k].sha256, sha, 65);
		e->n_packs = k + 1;
	}
	e->pinned = true;
	return 0;
}

/* The applied file's "refs" into a (its format already set). */
static int parse_refs(const char *path, const json_t *arr, struct gg_applied *a,
		      struct gg_err *err)
{
	size_t i;
	json_t *e;
	int ret;

	a->refs = calloc(json_array_size(arr) + 1, sizeof(*a->refs));
	if (!a->refs)
		return gg_errf(err, -ENOMEM, "out of memory");
	json_array_foreach(arr, i, e) {
		const char *ref = NULL, *mode = "enforce";
		json_t *packs = NULL;
		enum gg_action m;

		if (json_unpack(e, "{s:s, s?:s, s?:o}", "ref", &ref, "mode", &mode, "packs",
				&packs) ||
		    gg_mode_parse(mode, &m))
			return gg_errf(err, -EINVAL, "%s: refs[%zu] is malformed", path, i);
		ret = applied_push(a, ref, m, err);
		if (!ret && a->format == GG_APPLIED_FORMAT)
			ret = parse_packs(path, i, packs, &a->refs[a->n - 1], err);
		if (ret)
			return ret;
	}
	return 0;
}

int gg_applied_parse(const char *origin, const json_t *doc, struct gg_applied *out,
		     struct gg_err *err)
{
	const json_t *arr, *fmt, *gen;
	struct gg_applied a = {};
	int ret;

	memset(out, 0, sizeof(*out));
	fmt = json_object_get(doc, "format");
	gen = json_object_get(doc, "generation");
	arr = json_object_get(doc, "refs");
	a.format = fmt ? (int)json_integer_value(fmt) : 1;
	if (!json_is_object(doc) || !json_is_array(arr) || (gen && !json_is_integer(gen)) ||
	    (fmt && !json_is_integer(fmt)))
		return gg_errf(err, -EINVAL, "%s: not an applied set (want {\"format\", \"generation\", \"refs\": [...]})",
			       origin);
	if (a.format != 1 && a.format != GG_APPLIED_FORMAT)
		return gg_errf(err, -EINVAL, "%s: format %d is not one this govgate reads (1 or %d)",
			       origin, a.format, GG_APPLIED_FORMAT);
	a.generation = json_integer_value(gen);
	ret = parse_refs(origin, arr, &a, err);
	if (ret) {
		gg_applied_free(&a);
		return ret;
	}
	*out = a;
	return 0;
}

int gg_applied_read(const struct gg_config *cfg, struct gg_applied *out, struct gg_err *err)
{
	char path[4096];
	json_error_t jerr;
	json_t *doc;
	int ret;

	memset(out, 0, sizeof(*out));
	applied_path(cfg, path, sizeof(path));
	if (access(path, F_OK) && errno == ENOENT)
		return -ENOENT;
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return gg_errf(err, -EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
	ret = gg_applied_parse(path, doc, out, err);
	json_decref(doc);
	return ret;
}

json_t *gg_applied_json(const struct gg_applied *a)
{
	json_t *refs = json_array();

	for (size_t i = 0; refs && i < a->n; i++) {
		const struct gg_applied_ref *e = &a->refs[i];
		json_t *packs = json_array();

		for (size_t k = 0; packs && k < e->n_packs; k++)
			json_array_append_new(packs, json_pack("{s:s, s:s}", "ref", e->packs[k].ref,
							       "sha256", e->packs[k].sha256));
		json_array_append_new(refs, json_pack("{s:s, s:s, s:o}", "ref", e->ref, "mode",
						      mode_name(e->mode), "packs", packs));
	}
	return json_pack("{s:i, s:I, s:o}", "format", GG_APPLIED_FORMAT, "generation",
			 (json_int_t)a->generation, "refs", refs);
}

int gg_applied_load(const struct gg_config *cfg, struct gg_pack_ref **out, size_t *n_out,
		    struct gg_err *err)
{
	struct gg_applied a;
	struct gg_pack_ref *refs;
	int ret;

	ret = gg_applied_read(cfg, &a, err);
	if (ret)
		return ret;
	refs = calloc(a.n + 1, sizeof(*refs));
	if (!refs) {
		gg_applied_free(&a);
		return gg_errf(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < a.n; i++) {
		refs[i].ref = a.refs[i].ref; /* moved */
		refs[i].mode = a.refs[i].mode;
		a.refs[i].ref = NULL;
	}
	*out = refs;
	*n_out = a.n;
	gg_applied_free(&a);
	return 0;
}

void gg_pack_refs_free(struct gg_pack_ref *refs, size_t n)
{
	for (size_t i = 0; refs && i < n; i++)
		free(refs[i].ref);
	free(refs);
}

/* ---- building: floor + the set's packs ---- */

/* What a set compiles from, and the documents resolved now, which are
 * stored before the swap. */
struct build {
	struct gg_policy_input *in;
	size_t n_in, cap_in;
	struct gg_doc *docs;
	size_t n_docs, cap_docs;
};

static void build_free(struct build *b)
{
	gg_policy_inputs_free(b->in, b->n_in);
	gg_docs_free(b->docs, b->n_docs);
	memset(b, 0, sizeof(*b));
}

/* Takes ownership of pack, also on error. */
static int build_push(struct build *b, struct gg_pack *pack, enum gg_action mode, bool floor,
		      struct gg_err *err)
{
	if (b->n_in == b->cap_in) {
		size_t cap = b->cap_in ? b->cap_in * 2 : 16;
		void *p = realloc(b->in, cap * sizeof(*b->in));

		if (!p) {
			gg_pack_free(pack);
			return gg_errf(err, -ENOMEM, "out of memory");
		}
		b->in = p;
		b->cap_in = cap;
	}
	b->in[b->n_in++] = (struct gg_policy_input){ pack, mode, floor };
	return 0;
}

/* Takes doc's contents, also on error. */
static int build_keep_doc(struct build *b, struct gg_doc *doc, struct gg_err *err)
{
	if (b->n_docs == b->cap_docs) {
		size_t cap = b->cap_docs ? b->cap_docs * 2 : 16;
		void *p = realloc(b->docs, cap * sizeof(*b->docs));

		if (!p) {
			gg_doc_free(doc);
			return gg_errf(err, -ENOMEM, "out of memory");
		}
		b->docs = p;
		b->cap_docs = cap;
	}
	b->docs[b->n_docs++] = *doc;
	memset(doc, 0, sizeof(*doc));
	return 0;
}

/* Resolves e->ref now (registry, pack dirs, store, file); records in e
 * what it resolved to and keeps the documents for the store. */
static int resolve_fresh(const struct gg_ref_ctx *ctx, struct gg_ref_prefetch *pf, size_t k,
			 enum gg_action mode, struct gg_applied_ref *e, struct build *b,
			 struct gg_err *err)
{
	struct gg_pack **packs = NULL;
	struct gg_doc *docs = NULL;
	const char *ref = e->ref;
	size_t n = 0, j = 0;
	int ret;

	ret = pf ? gg_ref_resolve_prefetched(pf, k, &packs, &docs, &n, err)
		 : gg_ref_resolve_docs(ctx, &ref, 1, &packs, &docs, &n, err);
	if (ret)
		return ret;
	e->packs = calloc(n + 1, sizeof(*e->packs));
	if (!e->packs) {
		ret = gg_errf(err, -ENOMEM, "out of memory");
		goto cleanup;
	}
	for (; j < n; j++) {
		struct gg_applied_pack *pk = &e->packs[j];

		pk->ref = strdup(packs[j]->ref);
		if (!pk->ref) {
			ret = gg_errf(err, -ENOMEM, "out of memory");
			goto cleanup;
		}
		memcpy(pk->sha256, packs[j]->sha256, sizeof(pk->sha256));
		e->n_packs = j + 1;
		ret = build_keep_doc(b, &docs[j], err);
		if (!ret)
			ret = build_push(b, packs[j], mode, false, err);
		packs[j] = NULL; /* build_push owns it now, even on error */
		if (ret) {
			j++;
			goto cleanup;
		}
	}
	e->pinned = true;
cleanup:
	for (size_t k = j; k < n; k++) {
		gg_pack_free(packs[k]);
		gg_doc_free(&docs[k]);
	}
	free(packs);
	free(docs);
	return ret;
}

/* Loads e's packs from the state directory's copies: re-hashed and their
 * signatures checked (the sha256: loader), never resolved again. */
static int resolve_pinned(const struct gg_config *cfg, const struct gg_ref_ctx *sctx,
			  enum gg_action mode, const struct gg_applied_ref *e, struct build *b,
			  struct gg_err *err)
{
	char path[4096], ref[80], want[192];
	int ret = 0;

	applied_path(cfg, path, sizeof(path));
	for (size_t k = 0; !ret && k < e->n_packs; k++) {
		const struct gg_applied_pack *pk = &e->packs[k];
		struct gg_pack *pack = NULL;
		struct gg_doc doc = {};
		struct gg_err why = {};

		snprintf(ref, sizeof(ref), "sha256:%s", pk->sha256);
		ret = gg_ref_load(sctx, ref, &doc, &why);
		if (!ret)
			ret = gg_pack_parse(doc.buf, doc.len, doc.origin, &pack, &why);
		if (!ret) {
			snprintf(want, sizeof(want), "%s@%s", pack->name, pack->version);
			if (strcmp(want, pk->ref))
				ret = gg_errf(&why, -EINVAL, "%s: declares %s, not %s", doc.origin,
					      want, pk->ref);
		}
		if (ret) {
			gg_errf(err, ret,
				"%s: %s (pack %s): stored copy unusable: %s; not resolving %s again (a changed source must not change the policy at a restart): apply the set again to pin it anew",
				path, e->ref, pk->ref, why.msg, e->ref);
		} else {
			free(pack->ref);
			pack->ref = strdup(pk->ref);
			memcpy(pack->sha256, doc.sha256, sizeof(pack->sha256));
			if (!pack->ref)
				ret = gg_errf(err, -ENOMEM, "out of memory");
		}
		gg_doc_free(&doc);
		if (ret) {
			gg_pack_free(pack);
			break;
		}
		ret = build_push(b, pack, mode, false, err);
	}
	return ret;
}

/* The unpinned entries' refs, loaded and parsed ahead together (a
 * million prefixes in two documents: half the apply is their parsing).
 * NULL: none, one, or no memory: each is resolved on its own then. */
static struct gg_ref_prefetch *prefetch_fresh(const struct gg_ref_ctx *ctx,
					      const struct gg_applied *set, const char ***fresh)
{
	size_t n = 0;

	*fresh = calloc(set->n + 1, sizeof(**fresh));
	if (!*fresh)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (!set->refs[i].pinned)
			(*fresh)[n++] = set->refs[i].ref;
	return n > 1 ? gg_ref_prefetch(ctx, *fresh, n) : NULL;
}

/* Floor + every entry of set: unpinned entries are resolved now (and
 * become pinned), pinned ones load from the state directory. */
static int build_set(const struct gg_config *cfg, struct gg_applied *set, struct build *b,
		     struct gg_err *err)
{
	struct gg_ref_ctx ctx, sctx = {};
	struct gg_ref_prefetch *pf = NULL;
	struct gg_pack *floor = NULL;
	const char **fresh = NULL;
	char store[4096];
	int ret;

	gg_config_ref_ctx(cfg, &ctx);
	pack_store(cfg, store, sizeof(store));
	sctx.store_dir = store;
	sctx.trust_dir = cfg->trust_dir;
	sctx.require_signatures = cfg->require_signatures;
	ret = gg_floor_pack(&floor, err);
	if (ret)
		return ret;
	/* The floor is enforced unless the whole agent observes. */
	ret = build_push(b, floor, cfg->mode, true, err);
	if (!ret)
		pf = prefetch_fresh(&ctx, set, &fresh);
	for (size_t i = 0, k = 0; !ret && i < set->n; i++) {
		struct gg_applied_ref *e = &set->refs[i];
		enum gg_action mode = cfg->mode == GG_ACT_OBSERVE ? GG_ACT_OBSERVE : e->mode;

		ret = e->pinned ? resolve_pinned(cfg, &sctx, mode, e, b, err)
				: resolve_fresh(&ctx, pf, k++, mode, e, b, err);
	}
	gg_ref_prefetch_free(pf);
	free(fresh);
	return ret;
}

int gg_policy_build(const struct gg_config *cfg, const struct gg_pack_ref *refs, size_t n,
		    struct gg_compiled **out, struct gg_policy_input **inputs_out, size_t *n_inputs_out,
		    struct gg_err *err)
{
	struct gg_applied set = {};
	struct build b = {};
	int ret = 0;

	set.refs = calloc(n + 1, sizeof(*set.refs));
	if (!set.refs)
		return gg_errf(err, -ENOMEM, "out of memory");
	for (size_t i = 0; !ret && i < n; i++)
		ret = applied_push(&set, refs[i].ref, refs[i].mode, err);
	if (!ret)
		ret = build_set(cfg, &set, &b, err);
	if (!ret)
		ret = gg_compile_opts(b.in, b.n_in, &gg_resolve_standard, out, err);
	if (!ret && inputs_out) {
		*inputs_out = b.in;
		*n_inputs_out = b.n_in;
		b.in = NULL;
		b.n_in = 0;
	}
	build_free(&b);
	gg_applied_free(&set);
	return ret;
}

void gg_policy_inputs_free(struct gg_policy_input *in, size_t n)
{
	for (size_t i = 0; in && i < n; i++)
		gg_pack_free((struct gg_pack *)in[i].pack);
	free(in);
}

/* ---- the state directory ---- */

/* doc as one line of compact JSON, which the caller frees (its newline
 * added in place: a printf copy of the generation's 35 kB record was 10 %
 * of writing it). */
static char *json_line(json_t *doc, struct gg_err *err)
{
	char *s = json_dumps(doc, JSON_COMPACT), *line = NULL;
	size_t n = s ? strlen(s) : 0;

	if (s)
		line = realloc(s, n + 2);
	if (!line) {
		free(s);
		gg_errf(err, -ENOMEM, "out of memory");
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

/* One line of compact JSON, written atomically (gg_write_atomic), or, with
 * fd, made durable later through spare (gg_write_spare: exchanged with
 * path, or renamed to it). */
static int write_json(const char *path, json_t *doc, int *fd, const char *spare, bool exchange,
		      struct gg_err *err)
{
	char *line = json_line(doc, err);
	int ret;

	if (!line)
		return -ENOMEM;
	if (fd)
		ret = gg_write_spare(path, spare, exchange, line, strlen(line), 0644, fd, err);
	else
		ret = gg_write_atomic(path, line, strlen(line), 0644, err);
	free(line);
	return ret;
}

void gg_journal_path(const struct gg_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "%s/journal.jsonl", cfg->state_dir);
}

/* "s\n", after a newline if torn (a line of its own); NULL: no memory. */
static char *record_line(const char *s, bool torn)
{
	size_t n = strlen(s);
	char *line = malloc(n + 3), *p = line;

	if (!line)
		return NULL;
	if (torn)
		*p++ = '\n';
	memcpy(p, s, n);
	p[n] = '\n';
	p[n + 1] = '\0';
	return line;
}

/* 0, or -errno: the record may not be durable (said on stderr). */
static int journal_append(const struct gg_config *cfg, json_t *rec)
{
	char path[4096];
	int fd, error = 0;
	char *s;

	gg_journal_path(cfg, path, sizeof(path));
	/* Stamped now: the daemon may copy it much later (it was not running). */
	if (!json_object_get(rec, "ts")) {
		char ts[40];

		gg_time_now(ts, sizeof(ts));
		json_object_set_new(rec, "ts", json_string(ts));
	}
	s = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	if (!s)
		return -ENOMEM;
	/* The outcome is settled (the swap done, or the apply failed): a
	 * record that cannot be written or made durable is said on stderr,
	 * the daemon's log or the operator's terminal. */
	/* O_RDWR: its last byte is read; O_NONBLOCK: a FIFO put in its place
	 * never makes this wait */
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd < 0) {
		error = errno;
	} else {
		struct stat st;
		char last = '\n', *line = NULL;
		bool regular = !fstat(fd, &st) && S_ISREG(st.st_mode);
		ssize_t n = -1;

		/* After a torn record (a crash, a short write), this one starts a
		 * line of its own: glued to it, neither would parse. */
		if (!regular)
			errno = EINVAL;
		else if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
			last = '\n';
		/* One write per record: O_APPEND keeps concurrent writers whole. */
		if (regular)
			line = record_line(s, last != '\n');
		if (line)
			n = write(fd, line, strlen(line));
		if (!line || n != (ssize_t)strlen(line))
			error = n < 0 || !line ? errno : EIO;
		else if (fsync(fd))
			error = errno;
		free(line);
		close(fd);
	}
	if (error)
		fprintf(stderr, "govgate: %s: %s (the record of this apply may be missing from "
				"the journal, and from the audit log)\n", path, strerror(error));
	free(s);
	return -error;
}

/* The set's refs as applied.json has them, each with the packs it is
 * pinned to: a policy_applied record carries the whole set (the journal
 * is the commit point: gg_applied_recover). */
static json_t *applied_refs_json(const struct gg_applied *set)
{
	json_t *doc = gg_applied_json(set), *refs = json_incref(json_object_get(doc, "refs"));

	json_decref(doc);
	return refs;
}

static json_t *refs_json(const struct gg_applied *set)
{
	json_t *arr = json_array();

	for (size_t i = 0; set && i < set->n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s}", "ref", set->refs[i].ref, "mode",
						     mode_name(set->refs[i].mode)));
	return arr;
}

static void journal_failed(const struct gg_config *cfg, const struct gg_applied *set,
			   const char *who, const struct gg_err *err)
{
	json_t *rec = json_pack("{s:s, s:o, s:s, s:s}", "event", "policy_apply_failed", "refs",
				refs_json(set), "error", err ? err->msg : "", "who", who);

	journal_append(cfg, rec);
	json_decref(rec);
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

/* The generation of the journal's last policy_applied record, as this
 * process last read or wrote it, for one state directory. */
static struct {
	char state_dir[4096];
	__u64 generation;
} journaled;

static void journaled_set(const struct gg_config *cfg, __u64 generation)
{
	snprintf(journaled.state_dir, sizeof(journaled.state_dir), "%s", cfg->state_dir);
	journaled.generation = generation;
}

/* applied.json as the apply found it, read once (under the lock): for the
 * last generation, and to be put back if the swap fails. */
struct applied_now {
	char *buf;
	size_t len;
	bool had; /* it existed */
};

/* The last generation applied: applied.json's, or the journal's last
 * record's if higher. With the journal's, generations grow across an
 * applied.json removed (and fresh maps), so a record never names a
 * generation that an older applied.json, or a later one, also names
 * (gg_applied_recover compares them). */
static __u64 last_generation(const struct gg_config *cfg, const struct applied_now *now)
{
	json_t *doc = now->had ? json_loadb(now->buf, now->len, 0, NULL) : NULL;
	__u64 gen = 0;

	if (doc)
		gen = gg_json_int(doc, "generation");
	json_decref(doc);
	if (!strcmp(journaled.state_dir, cfg->state_dir) && journaled.generation > gen)
		gen = journaled.generation;
	return gen;
}

/* The apply lock, while gg_apply_idle empties the stale slot (-1: not). */
static int stale_lock = -1;

static void stale_unlock(void)
{
	close(stale_lock);
	stale_lock = -1;
}

/* Finishes the stale slot's clear begun by gg_apply_idle (the lock it holds
 * would stop this process's next apply). */
static void stale_settle(void)
{
	struct gg_err err = {};

	if (stale_lock < 0)
		return;
	if (gg_apply_kernel.stale_clear(SIZE_MAX, &err) < 0)
		fprintf(stderr, "govgate: emptying the stale slot: %s\n", err.msg);
	stale_unlock();
}

int gg_apply_idle(const struct gg_config *cfg, int timeout_ms)
{
	struct gg_err err = {};
	char path[4096];
	int ret, wait;

	if (stale_lock < 0) {
		if (!gg_apply_kernel.stale_pending())
			return timeout_ms;
		wait = gg_apply_kernel.stale_wait_ms();
		if (wait > 0)
			return wait < timeout_ms ? wait : timeout_ms;
		/* Busy: another process applies; the slot is then its own. */
		snprintf(path, sizeof(path), "%s/apply.lock", cfg->state_dir);
		stale_lock = open(path, O_RDWR | O_CLOEXEC);
		if (stale_lock >= 0 && flock(stale_lock, LOCK_EX | LOCK_NB))
			stale_unlock();
		if (stale_lock < 0)
			return timeout_ms;
	}
	ret = gg_apply_kernel.stale_clear(GG_STALE_CHUNK, &err);
	if (ret < 0)
		fprintf(stderr, "govgate: emptying the stale slot: %s\n", err.msg);
	if (ret <= 0)
		stale_unlock();
	return ret > 0 ? 0 : timeout_ms;
}

/* The journal's lines are read from its end, in windows of these sizes
 * (a policy_applied record of the nine packs is 11 KB): a record behind
 * more than 16 MiB of failed applies' records is not looked for. */
static const size_t journal_windows[] = { 64 << 10, 1 << 20, 16 << 20 };

/* Where the last record in line begins. */
static const char *last_record_start(const char *line)
{
	const char *at = line, *p;

	while ((p = strstr(at + 1, "{\"event\":")))
		at = p;
	return at;
}

/* The last line of buf[0, n) that is a policy_applied record (buf is
 * changed; whole: its first line is whole too). */
static json_t *last_applied_in(char *buf, size_t n, bool whole)
{
	while (n > 0) {
		char *line;
		json_t *rec;

		buf[--n] = '\0'; /* the line's '\n', or a record still being written */
		line = memrchr(buf, '\n', n);
		if (!line && !whole)
			break;
		line = line ? line + 1 : buf;
		rec = json_loads(line, 0, NULL);
		if (!rec) /* a record appended to a torn one (an older govgate) */
			rec = json_loads(last_record_start(line), 0, NULL);
		if (rec && !strcmp(gg_json_str(rec, "event", ""), "policy_applied"))
			return rec;
		json_decref(rec);
		n = line - buf;
	}
	return NULL;
}

/* The journal's last policy_applied record, NULL if none is found. */
static json_t *journal_last_applied(const struct gg_config *cfg)
{
	char path[4096], *buf = NULL;
	json_t *rec = NULL;
	struct stat st;
	int fd;

	gg_journal_path(cfg, path, sizeof(path));
	/* a FIFO or a device would block or answer: regular files only */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode))
		goto cleanup;
	for (size_t w = 0; !rec && w < sizeof(journal_windows) / sizeof(journal_windows[0]); w++) {
		size_t n = journal_windows[w] < (size_t)st.st_size ? journal_windows[w] : (size_t)st.st_size;

		free(buf);
		buf = malloc(n + 1);
		if (!buf || pread(fd, buf, n, st.st_size - n) != (ssize_t)n)
			break;
		rec = last_applied_in(buf, n, n == (size_t)st.st_size);
		if (n == (size_t)st.st_size)
			break;
	}
cleanup:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rec;
}

/* a and b record the same set, byte for byte as applied.json has it. */
static bool same_set(const struct gg_applied *a, const struct gg_applied *b)
{
	json_t *ja = gg_applied_json(a), *jb = gg_applied_json(b);
	char *sa = json_dumps(ja, JSON_COMPACT), *sb = json_dumps(jb, JSON_COMPACT);
	bool same = sa && sb && !strcmp(sa, sb);

	free(sa);
	free(sb);
	json_decref(ja);
	json_decref(jb);
	return same;
}

int gg_applied_recover(const struct gg_config *cfg, struct gg_err *err)
{
	struct gg_applied cur = {}, rec_set = {};
	struct gg_err why = {};
	json_t *rec, *doc = NULL;
	char path[4096];
	int ret = 0, have;

	rec = journal_last_applied(cfg);
	if (!rec)
		return 0;
	/* Records written before they carried the pinned set: nothing to
	 * recover from. */
	doc = json_pack("{s:i, s:O, s:O}", "format", GG_APPLIED_FORMAT, "generation",
			json_object_get(rec, "generation"), "refs", json_object_get(rec, "refs"));
	if (!doc || gg_applied_parse("the journal", doc, &rec_set, &why))
		goto cleanup;
	journaled_set(cfg, rec_set.generation);
	have = gg_applied_read(cfg, &cur, &why);
	/* None: removed (the first one is written durably), so the configured
	 * packs apply; newer: an apply not answered; as new and the same set. */
	if (have == -ENOENT || (!have && (cur.generation > rec_set.generation ||
					  (cur.generation == rec_set.generation &&
					   same_set(&cur, &rec_set)))))
		goto cleanup;
	applied_path(cfg, path, sizeof(path));
	json_decref(doc);
	doc = gg_applied_json(&rec_set);
	ret = write_json(path, doc, NULL, NULL, false, err);
	if (ret)
		goto cleanup;
	if (!have)
		snprintf(why.msg, sizeof(why.msg), "%s names generation %llu%s", path,
			 (unsigned long long)cur.generation,
			 cur.generation < rec_set.generation ? "" : " with another set");
	fprintf(stderr, "govgate: %s; the journal's last policy_applied record names generation "
			"%llu (a crash of the machine right after an apply?): applied.json put back "
			"from the record\n", why.msg, (unsigned long long)rec_set.generation);
cleanup:
	gg_applied_free(&cur);
	gg_applied_free(&rec_set);
	json_decref(doc);
	json_decref(rec);
	return ret;
}

/* gg_applied_recover, once per process and state directory: in one
 * process, applied.json is never behind the journal. */
static int recover_once(const struct gg_config *cfg, struct gg_err *err)
{
	static char recovered[4096];
	int ret;

	if (!strcmp(recovered, cfg->state_dir))
		return 0;
	ret = gg_applied_recover(cfg, err);
	if (!ret)
		snprintf(recovered, sizeof(recovered), "%s", cfg->state_dir);
	return ret;
}

/* One apply at a time: the generation written must be the one the swap
 * makes active, and an edit must read the set it replaces. */
static int lock_state(const struct gg_config *cfg, struct gg_err *err)
{
	char path[4096];
	int fd, ret;

	stale_settle();
	ret = gg_mkdir_p(cfg->state_dir, 0755, NULL);
	if (!ret) {
		snprintf(path, sizeof(path), "%s/generations", cfg->state_dir);
		ret = gg_mkdir_p(path, 0755, NULL);
	}
	if (!ret) {
		pack_store(cfg, path, sizeof(path));
		ret = gg_mkdir_p(path, 0755, NULL);
	}
	if (ret)
		return gg_errf(err, ret, "%s: cannot create state directory: %s", cfg->state_dir,
			       strerror(-ret));
	snprintf(path, sizeof(path), "%s/apply.lock", cfg->state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		int ret = gg_errf(err, -errno, "%s: %s", path, strerror(errno));

		if (fd >= 0)
			close(fd);
		return ret;
	}
	ret = recover_once(cfg, err);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Another copy of docs[i]'s bytes is stored instead: the first one with a
 * signature, or the first one if none has. */
static bool superseded(const struct build *b, size_t i)
{
	const struct gg_doc *d = &b->docs[i];

	for (size_t j = 0; j < b->n_docs; j++) {
		const struct gg_doc *o = &b->docs[j];

		if (j == i || strcmp(o->sha256, d->sha256))
			continue;
		if ((o->sig && !d->sig) || (j < i && !o->sig == !d->sig))
			return true;
	}
	return false;
}

/* Stores the documents resolved now, one copy per digest. */
static int store_docs(const struct gg_config *cfg, const struct build *b, struct gg_err *err)
{
	char store[4096];
	int ret = 0;

	pack_store(cfg, store, sizeof(store));
	for (size_t i = 0; !ret && i < b->n_docs; i++)
		if (!superseded(b, i))
			ret = gg_store_put(store, &b->docs[i], err);
	return ret;
}

/* Puts back what applied.json held before (had: it existed). */
static int applied_put_back(const char *path, const char *old, size_t len, bool had,
			    struct gg_err *err)
{
	if (had)
		return gg_write_atomic(path, old, len, 0644, err);
	if (unlink(path) && errno != ENOENT)
		return gg_errf(err, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

/*
 * The apply proper, under the lock. Order: build and compile (nothing on
 * disk yet), the generation's record, the packs' bytes, then the set that
 * names them, and only then the swap, the last step that can fail: so a
 * successful swap is always what applied.json says, and a failed one is
 * undone on disk before returning.
 */
/* What of c the generation's record holds (borrowed). keep_record moves
 * the pointers out of c: a pointer added here is cleared there too. */
static struct gg_compiled entries_view(const struct gg_compiled *c)
{
	return (struct gg_compiled){
		.entries = c->entries,
		.n_entries = c->n_entries,
		.module = c->module,
		.kexec = c->kexec,
		.sockets = { c->sockets[GG_SOCK_RAW], c->sockets[GG_SOCK_PACKET],
			     c->sockets[GG_SOCK_OTHER] },
		/* the DNS forwarder matches names with these (user/dns.c) */
		.allow_lists = c->allow_lists,
		.n_allow_lists = c->n_allow_lists,
		.allow_domains = c->allow_domains,
		.n_allow_domains = c->n_allow_domains,
		.refs = c->refs,
		.n_refs = c->n_refs,
	};
}

/*
 * The daemon reads a generation's record to name the controls of its
 * events and to match DNS names; right after an apply it would read back
 * the file it just wrote (0.7 ms for the nine packs, on the apply's path:
 * the DNS sync before the reply). The apply keeps what it wrote instead,
 * for one taker (gg_generation_take).
 */
static bool keep_generation;
static struct gg_compiled *kept;
static __u64 kept_generation;

void gg_generation_keep(bool on)
{
	keep_generation = on;
	if (!on) {
		gg_compiled_free(kept);
		kept = NULL;
	}
}

struct gg_compiled *gg_generation_take(__u64 generation)
{
	struct gg_compiled *c = NULL;

	if (kept && kept_generation == generation) {
		c = kept;
		kept = NULL;
	}
	return c;
}

/* Moves c's record part into kept, as generation (c keeps the rest). */
static void keep_record(struct gg_compiled *c, __u64 generation)
{
	struct gg_compiled *e;

	if (!keep_generation || !(e = malloc(sizeof(*e))))
		return;
	*e = entries_view(c);
	c->entries = NULL;
	c->n_entries = 0;
	c->allow_lists = NULL;
	c->n_allow_lists = 0;
	c->allow_domains = NULL;
	c->n_allow_domains = 0;
	c->refs = NULL;
	c->n_refs = 0;
	gg_compiled_free(kept);
	kept = e;
	kept_generation = generation;
}

/*
 * Made durable after the reply (the daemon; other callers at once): the
 * generation's record and applied.json, each renamed into place before the
 * swap, so that a daemon restarted after the swap finds both (it drains the
 * generation's events from the pinned ring, and re-applies the set).
 *
 * The generation's record: after a crash of the machine no event of the
 * generation is left to name (the ring went with the kernel). applied.json:
 * the journal's policy_applied record, fsynced before the reply, carries
 * the same set, and the next apply lock recovers applied.json from it when
 * a crash left it older than the record, or unreadable
 * (gg_applied_recover). So one fsync, the journal's, is the commit point
 * of an apply; the four fsyncs of the two files follow the reply
 * (gg_apply_sync, 1.3 ms of the nine packs' apply here). Until then a
 * crash of the machine can leave the newest record missing or empty
 * (docs/operators.md, "Rolling back").
 */
static bool sync_later;
enum { PENDING_RECORD, PENDING_APPLIED, PENDING_FILES };
static struct {
	char path[4096];
	int fd; /* -1: nothing to sync */
	char spare[4096]; /* made ready for the next write after the sync ("": none) */
} pending[PENDING_FILES] = { { .fd = -1 }, { .fd = -1 } };

void gg_apply_sync_later(bool on)
{
	sync_later = on;
}

static void pending_set(int which, const char *path, int fd, const char *spare)
{
	snprintf(pending[which].path, sizeof(pending[which].path), "%s", path);
	snprintf(pending[which].spare, sizeof(pending[which].spare), "%s", spare ? spare : "");
	pending[which].fd = fd;
}

/* What an apply built, freed with the files' sync after the reply (the
 * daemon; 0.2-0.3 ms of frees for the nine packs), else at once. */
static struct {
	struct build b;
	struct gg_compiled *c;
	json_t *packs;
} freed_later;

static void free_later_now(void)
{
	json_decref(freed_later.packs);
	gg_compiled_free(freed_later.c);
	build_free(&freed_later.b);
	freed_later.packs = NULL;
	freed_later.c = NULL;
}

/* Takes b, c and packs (each may be empty). */
static void free_later(struct build *b, struct gg_compiled *c, json_t *packs)
{
	free_later_now();
	freed_later.b = *b;
	freed_later.c = c;
	freed_later.packs = packs;
	memset(b, 0, sizeof(*b));
	if (!sync_later)
		free_later_now();
}

int gg_apply_sync(struct gg_err *err)
{
	struct gg_err later;
	int ret = 0;

	free_later_now();

	for (int i = 0; i < PENDING_FILES; i++) {
		int fd = pending[i].fd, r;

		if (fd < 0)
			continue;
		pending[i].fd = -1;
		r = gg_write_sync(pending[i].path, fd, ret ? &later : err);
		if (!ret)
			ret = r;
		if (pending[i].spare[0])
			gg_spare_ready(pending[i].spare, 0644);
	}
	return ret;
}

void gg_apply_sync_now(void)
{
	struct gg_err err;

	if (gg_apply_sync(&err))
		fprintf(stderr, "govgate: %s (not durable: a crash of the machine may lose "
				"it)\n", err.msg);
}

static int write_generation(const struct gg_config *cfg, const struct gg_applied *set,
			    json_t *packs, const struct gg_compiled *c, __u64 next,
			    const char *who, struct gg_err *err)
{
	struct gg_compiled entries_only = entries_view(c);
	char path[4096];
	json_t *doc;
	int ret;

	doc = json_pack("{s:I, s:o, s:s, s:o, s:o}", "generation", (json_int_t)next, "refs",
			refs_json(set), "who", who, "packs", json_incref(packs),
			"policy", gg_compiled_to_json(&entries_only));
	snprintf(path, sizeof(path), "%s/generations/%llu.json", cfg->state_dir,
		 (unsigned long long)next);
	/* A record already there is of an apply whose swap failed (its
	 * generation is used again): replaced durably, never left half. */
	if (sync_later && access(path, F_OK)) {
		char spare[4096];
		int fd = -1;

		snprintf(spare, sizeof(spare), "%s/generations/.spare", cfg->state_dir);
		ret = write_json(path, doc, &fd, spare, false, err);
		if (!ret)
			pending_set(PENDING_RECORD, path, fd, spare);
	} else {
		ret = write_json(path, doc, NULL, NULL, false, err);
	}
	json_decref(doc);
	return ret;
}

/* Writes set as the applied one and swaps c in as generation next; if the
 * swap fails, the previous applied file is put back. */
static int swap_applied(const struct gg_config *cfg, struct gg_applied *set,
			const struct gg_compiled *c, __u64 next, const struct applied_now *now,
			struct gg_err *err)
{
	char applied[4096], spare[4096];
	bool had_old = now->had;
	json_t *doc = NULL;
	int ret, fd = -1;

	applied_path(cfg, applied, sizeof(applied));
	set->format = GG_APPLIED_FORMAT;
	set->generation = next;
	doc = gg_applied_json(set);
	/* The first one durable at once: a missing applied.json is one an
	 * operator removed, never one to recover (gg_applied_recover). */
	snprintf(spare, sizeof(spare), "%s.spare", applied);
	ret = write_json(applied, doc, sync_later && had_old ? &fd : NULL, spare, true, err);
	if (ret)
		goto cleanup;
	ret = gg_apply_kernel.swap(cfg->pin_dir, c, next, err);
	if (!ret && fd >= 0)
		pending_set(PENDING_APPLIED, applied, fd, spare);
	else if (fd >= 0)
		close(fd);
	if (ret) {
		struct gg_err why = {}, swap_err = *err;

		if (applied_put_back(applied, now->buf, now->len, had_old, &why))
			gg_errf(err, ret,
				"%s; and %s could not be put back (%s): it names the set that failed, not the one running, and a restart would apply it: run govgate apply again",
				swap_err.msg, applied, why.msg);
	}
cleanup:
	json_decref(doc);
	return ret;
}

static int applied_read(const struct gg_config *cfg, struct applied_now *now,
			struct gg_err *err)
{
	char path[4096];
	int ret;

	applied_path(cfg, path, sizeof(path));
	ret = gg_read_file(path, &now->buf, &now->len, err);
	now->had = ret != -ENOENT;
	return ret == -ENOENT ? 0 : ret;
}

static int apply_locked(const struct gg_config *cfg, struct gg_applied *set, const char *who,
			__u64 *generation, struct gg_err *err)
{
	struct gg_compiled *c = NULL;
	struct applied_now now = {};
	struct gg_policy_status st;
	json_t *rec, *packs = NULL;
	struct build b = {};
	__u64 next;
	int ret;

	gg_apply_sync_now();
	ret = build_set(cfg, set, &b, err);
	if (!ret)
		ret = gg_compile_opts(b.in, b.n_in, &gg_resolve_standard, &c, err);
	if (ret)
		goto cleanup;
	/* Generations only grow, also across a re-attach with fresh maps:
	 * the state directory remembers the last one. */
	ret = gg_apply_kernel.read(cfg->pin_dir, &st, err);
	if (!ret)
		ret = applied_read(cfg, &now, err);
	if (ret)
		goto cleanup;
	next = last_generation(cfg, &now);
	next = (st.latest > next ? st.latest : next) + 1;
	/* the generation's record and the journal's name the same packs */
	packs = gg_policy_packs_json(b.in, b.n_in);
	ret = write_generation(cfg, set, packs, c, next, who, err);
	if (!ret)
		ret = store_docs(cfg, &b, err);
	if (!ret)
		ret = swap_applied(cfg, set, c, next, &now, err);
	if (ret)
		goto cleanup;
	*generation = next;
	rec = json_pack("{s:s, s:o, s:I, s:s, s:s, s:o, s:I}", "event", "policy_applied", "refs",
			applied_refs_json(set), "generation", (json_int_t)next, "mode",
			mode_name(cfg->mode), "who", who, "packs", json_incref(packs),
			"rules", (json_int_t)c->n_entries);
	/* No durable record to recover from: applied.json durable now. */
	if (journal_append(cfg, rec))
		gg_apply_sync_now();
	else
		journaled_set(cfg, next);
	json_decref(rec);
	keep_record(c, next);
cleanup:
	free(now.buf);
	free_later(&b, c, packs);
	gg_doc_cache_applied();
	return ret;
}

/* set gets refs (made canonical), each unpinned; set->refs has room. */
static int push_canonical(struct gg_applied *set, const char *ref, enum gg_action mode,
			  struct gg_err *err)
{
	char *canon = NULL;
	int ret;

	ret = gg_ref_canonical(ref, &canon, err);
	if (!ret)
		ret = applied_push(set, canon, mode, err);
	free(canon);
	return ret;
}

int gg_policy_apply(const struct gg_config *cfg, const struct gg_pack_ref *refs, size_t n,
		    const char *who, __u64 *generation, struct gg_err *err)
{
	struct gg_applied set = {};
	int lock_fd = -1, ret = 0;

	set.refs = calloc(n + 1, sizeof(*set.refs));
	if (!set.refs)
		ret = gg_errf(err, -ENOMEM, "out of memory");
	for (size_t i = 0; !ret && i < n; i++)
		ret = push_canonical(&set, refs[i].ref, refs[i].mode, err);
	if (!ret) {
		lock_fd = lock_state(cfg, err);
		ret = lock_fd < 0 ? lock_fd : apply_locked(cfg, &set, who, generation, err);
	}
	if (ret)
		journal_failed(cfg, &set, who, err);
	if (lock_fd >= 0)
		close(lock_fd);
	gg_applied_free(&set);
	return ret;
}

/* Whether the applied entry e is the ref named on the command line. */
static bool names(const struct gg_applied_ref *e, const char *arg, const char *canon)
{
	return !strcmp(e->ref, arg) || !strcmp(e->ref, canon);
}

static void legacy_note(const struct gg_config *cfg, const struct gg_applied *a)
{
	char path[4096];

	applied_path(cfg, path, sizeof(path));
	fprintf(stderr,
		"govgate: %s was saved by an older govgate (refs only): resolving its %zu ref(s) again, this once; from now on the exact bytes applied are kept in %s/packs\n",
		path, a->n, cfg->state_dir);
}

/* The new set, with room for the n asked refs: cur's refs that none of
 * them names (moved out of cur), keeping the packs they were applied with. */
static int keep_unnamed(struct gg_applied *cur, const char *const *refs,
			const struct gg_applied *asked, size_t n, struct gg_applied *set,
			struct gg_err *err)
{
	int ret;

	set->refs = calloc(cur->n + n + 1, sizeof(*set->refs));
	if (!set->refs)
		return gg_errf(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < cur->n; i++) {
		bool named = false;

		for (size_t a = 0; a < n; a++)
			named |= names(&cur->refs[i], refs[a], asked->refs[a].ref);
		if (named)
			continue; /* --remove: dropped; --add: re-resolved below */
		if (!cur->refs[i].pinned) {
			/* Format 1: resolved again, recorded absolute from now on. */
			ret = push_canonical(set, cur->refs[i].ref, cur->refs[i].mode, err);
			if (ret)
				return ret;
			continue;
		}
		set->refs[set->n++] = cur->refs[i];
		memset(&cur->refs[i], 0, sizeof(cur->refs[i]));
	}
	return 0;
}

int gg_policy_edit(const struct gg_config *cfg, enum gg_apply_op op, const char *const *refs,
		   size_t n, enum gg_action mode, const char *who, __u64 *generation,
		   struct gg_applied *now, struct gg_err *err)
{
	struct gg_applied cur = {}, set = {}, asked = {};
	int lock_fd = -1, ret = 0;

	/* The refs as given, made canonical: compared with the set's, and
	 * what the journal names if the edit fails before there is a set. */
	asked.refs = calloc(n + 1, sizeof(*asked.refs));
	if (!asked.refs)
		ret = gg_errf(err, -ENOMEM, "out of memory");
	for (size_t a = 0; !ret && a < n; a++)
		ret = push_canonical(&asked, refs[a], mode, err);
	if (ret)
		goto cleanup;
	lock_fd = lock_state(cfg, err);
	if (lock_fd < 0) {
		ret = lock_fd;
		goto cleanup;
	}
	/* Read under the lock: a concurrent apply's set is not lost. */
	if (op != GG_APPLY_SET) {
		ret = gg_applied_read(cfg, &cur, err);
		if (ret == -ENOENT)
			ret = 0;
		if (ret)
			goto cleanup;
		if (cur.format == 1 && cur.n)
			legacy_note(cfg, &cur);
	}
	ret = keep_unnamed(&cur, refs, &asked, n, &set, err);
	if (ret)
		goto cleanup;
	for (size_t a = 0; !ret && op != GG_APPLY_REMOVE && a < n; a++)
		ret = applied_push(&set, asked.refs[a].ref, mode, err);
	if (!ret)
		ret = apply_locked(cfg, &set, who, generation, err);
cleanup:
	if (ret)
		journal_failed(cfg, set.refs ? &set : &asked, who, err);
	if (!ret && now) {
		*now = set;
		memset(&set, 0, sizeof(set));
	}
	gg_applied_free(&asked);
	gg_applied_free(&cur);
	gg_applied_free(&set);
	if (lock_fd >= 0)
		close(lock_fd);
	return ret;
}

int gg_policy_restore(const struct gg_config *cfg, const char *who, __u64 *generation,
		      struct gg_err *err)
{
	struct gg_applied set = {};
	int lock_fd, ret;

	lock_fd = lock_state(cfg, err);
	if (lock_fd < 0) {
		journal_failed(cfg, NULL, who, err);
		/* -ENOENT means "no set saved" to the caller, nothing else. */
		return lock_fd == -ENOENT ? -ENODATA : lock_fd;
	}
	ret = gg_applied_read(cfg, &set, err);
	if (ret == -ENOENT)
		goto cleanup;
	if (!ret && set.format == 1) {
		/* No bytes were kept: resolve the refs (as an older govgate would
		 * have), and from now on keep what they resolved to. */
		legacy_note(cfg, &set);
		for (size_t i = 0; !ret && i < set.n; i++) {
			char *canon = NULL;

			ret = gg_ref_canonical(set.refs[i].ref, &canon, err);
			if (!ret) {
				free(set.refs[i].ref);
				set.refs[i].ref = canon;
			}
		}
	}
	if (!ret)
		ret = apply_locked(cfg, &set, who, generation, err);
	if (ret)
		journal_failed(cfg, &set, who, err);
	/* A stored copy that is gone must not look like "no set saved": the
	 * caller would fall back to the configured packs. */
	if (ret == -ENOENT)
		ret = -ENODATA;
cleanup:
	gg_applied_free(&set);
	close(lock_fd);
	return ret;
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
