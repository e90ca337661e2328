// SPDX-License-Identifier: GPL-2.0
/* govgate apply, compile, packs list|show: the policy commands. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "compiled_json.h"
#include "cli.h"

/* Options every policy command shares. */
struct policy_opts {
	const char *config, *pin_dir, *state_dir;
	bool json;
};

static int load_cfg(const char *cmd, const struct policy_opts *o, struct gg_config *cfg)
{
	struct gg_err err;

	if (gg_config_load(o->config, cfg, &err)) {
		fprintf(stderr, "govgate %s: %s\n", cmd, err.msg);
		return -1;
	}
	if (o->pin_dir) {
		free(cfg->pin_dir);
		cfg->pin_dir = strdup(o->pin_dir);
	}
	if (o->state_dir) {
		free(cfg->state_dir);
		cfg->state_dir = strdup(o->state_dir);
	}
	return 0;
}

static void print_error(const char *cmd, bool json, const char *msg)
{
	if (json) {
		json_t *e = json_pack("{s:s}", "error", msg);

		json_dumpf(e, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(e);
	}
	fprintf(stderr, "govgate %s: %s\n", cmd, msg);
}

static const char apply_usage[] =
	"usage: govgate apply [--mode enforce|observe] [--add | --remove] REF...\n"
	"                     [--pin-dir DIR] [--state-dir DIR] [--config FILE] [--json]\n"
	"Resolves, verifies and compiles the refs with the platform floor, then swaps\n"
	"the running policy atomically. Without --add/--remove the refs replace the\n"
	"applied set; --add adds them (or changes their mode), --remove drops them.\n"
	"A failed apply changes nothing. The set and the exact bytes of its packs are\n"
	"kept in the state directory; a restart re-applies those bytes, not the refs.\n"
	"REF: name@version, sha256:<hex>, blob:<key>, or the path of a pack or bundle\n"
	"file (recorded absolute).\n";

int gg_cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "add", no_argument, NULL, 'a' },
		{ "remove", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct policy_opts o = {};
	enum gg_action mode = GG_ACT_DENY;
	enum gg_apply_op op = GG_APPLY_SET;
	bool add = false, remove = false;
	struct gg_applied now = {};
	struct gg_config cfg = {};
	struct passwd *pw;
	char who[128];
	struct gg_err err;
	__u64 generation = 0;
	int opt, code = 1;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (gg_mode_parse(optarg, &mode)) {
				fprintf(stderr, "govgate apply: --mode must be enforce or observe\n");
				return 2;
			}
			break;
		case 'a': add = true; break;
		case 'r': remove = true; break;
		case 'j': o.json = true; break;
		case 'p': o.pin_dir = optarg; break;
		case 'S': o.state_dir = optarg; break;
		case 'c': o.config = optarg; break;
		case 'h': fputs(apply_usage, stdout); return 0;
		default: fputs(apply_usage, stderr); return 2;
		}
	}
	if ((add && remove) || (optind == argc && (add || remove))) {
		fputs(apply_usage, stderr);
		return 2;
	}
	if (load_cfg("apply", &o, &cfg))
		return 1;
	if (add)
		op = GG_APPLY_ADD;
	else if (remove)
		op = GG_APPLY_REMOVE;
	pw = getpwuid(getuid());
	snprintf(who, sizeof(who), "%s (uid %u, govgate apply)", pw ? pw->pw_name : "?", getuid());
	/* The current set is read under the apply lock (--add/--remove). */
	if (gg_policy_edit(&cfg, op, (const char *const *)argv + optind, argc - optind, mode, who,
			   &generation, &now, &err)) {
		print_error("apply", o.json, err.msg);
		/* True on every error path: the swap is the last step that can
		 * fail, and a failed one changes nothing (gg_policy_apply). */
		fprintf(stderr, "govgate apply: the running policy is unchanged\n");
		goto cleanup;
	}
	if (o.json) {
		/* The refs as applied.json now records them. */
		json_t *set = gg_applied_json(&now);
		json_t *out = json_pack("{s:I, s:i, s:O}", "generation", (json_int_t)generation,
					"packs", (int)now.n, "refs", json_object_get(set, "refs"));

		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(out);
		json_decref(set);
	} else {
		printf("applied generation %llu: platform-floor", (unsigned long long)generation);
		for (size_t i = 0; i < now.n; i++) {
			const struct gg_applied_ref *e = &now.refs[i];

			printf(", %s [%s]", e->ref, e->mode == GG_ACT_OBSERVE ? "observe" : "enforce");
			/* A bundle (or a file, a digest): what it stands for. */
			if (e->n_packs != 1 || strcmp(e->packs[0].ref, e->ref)) {
				for (size_t k = 0; k < e->n_packs; k++)
					printf("%s%s", k ? ", " : " (= ", e->packs[k].ref);
				printf(")");
			}
		}
		printf("\n");
	}
	code = 0;
cleanup:
	gg_applied_free(&now);
	gg_config_free(&cfg);
	return code;
}

static const char compile_usage[] =
	"usage: govgate compile [--mode enforce|observe] [--json] [--config FILE] REF...\n"
	"Dry run: resolves, verifies, validates and compiles the refs with the\n"
	"platform floor and prints the map entries that would be written, with the\n"
	"control ids each carries. Deterministic. Nothing is loaded.\n";

/* The controls of an entry's observe-mode rules, each once. */
static void print_observed(const struct gg_entry *e)
{
	int shown = 0;

	for (size_t r = 0; r < e->n_rules; r++) {
		if (e->rules[r].mode != GG_ACT_OBSERVE)
			continue;
		for (size_t k = 0; k < e->rules[r].n_controls; k++) {
			const char *id = e->rules[r].controls[k];
			bool seen = false;

			for (size_t q = 0; q < r && !seen; q++)
				for (size_t j = 0; e->rules[q].mode == GG_ACT_OBSERVE &&
						   j < e->rules[q].n_controls && !seen; j++)
					seen = !strcmp(e->rules[q].controls[j], id);
			if (!seen)
				printf("%s %s", shown++ ? "" : "        observed:", id);
		}
	}
	if (shown)
		printf("\n");
}

static void print_compiled_text(const struct gg_compiled *c)
{
	printf("%zu entries, %zu exec paths, %zu basenames, %zu identities, %zu egress prefixes, "
	       "%zu port rules, %zu programs, module %s\n\n",
	       c->n_entries, c->n_exec_paths, c->n_exec_names, c->n_exec_inodes, c->n_egress,
	       c->n_egress_ports, c->n_egress_progs, gg_action_name(c->module.action));
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct gg_entry *e = &c->entries[i];

		printf("entry %u  %-13s %-7s controls:", e->id, gg_gate_name(e->gate),
		       gg_action_name(e->action));
		for (size_t k = 0; k < e->n_controls; k++)
			printf(" %s", e->controls[k]);
		printf("\n        rules:");
		for (size_t r = 0; r < e->n_rules; r++)
			printf(" %s/%s%s", e->rules[r].pack, e->rules[r].rule,
			       e->rules[r].mode == GG_ACT_OBSERVE ? " [observe]" : "");
		printf("\n");
		/* Observe-mode rules merged into a deny entry: what they would
		 * deny is logged as observed, not as enforced. */
		if (e->action == GG_ACT_DENY)
			print_observed(e);
	}
}

int gg_cmd_compile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct policy_opts o = {};
	enum gg_action mode = GG_ACT_DENY;
	struct gg_compiled *c = NULL;
	struct gg_pack_ref *refs = NULL;
	struct gg_config cfg = {};
	struct gg_err err;
	int opt, code = 1, n;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (gg_mode_parse(optarg, &mode)) {
				fprintf(stderr, "govgate compile: --mode must be enforce or observe\n");
				return 2;
			}
			break;
		case 'j': o.json = true; break;
		case 'c': o.config = optarg; break;
		case 'h': fputs(compile_usage, stdout); return 0;
		default: fputs(compile_usage, stderr); return 2;
		}
	}
	if (load_cfg("compile", &o, &cfg))
		return 1;
	n = argc - optind;
	refs = calloc(n + 1, sizeof(*refs));
	for (int i = 0; refs && i < n; i++) {
		refs[i].ref = argv[optind + i];
		refs[i].mode = mode;
	}
	if (gg_policy_build(&cfg, refs, n, &c, NULL, NULL, &err)) {
		print_error("compile", o.json, err.msg);
		goto cleanup;
	}
	if (o.json) {
		json_t *doc = gg_compiled_to_json(c);

		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(doc);
	} else {
		print_compiled_text(c);
	}
	code = 0;
cleanup:
	free(refs);
	gg_compiled_free(c);
	gg_config_free(&cfg);
	return code;
}

static json_t *pack_summary(const struct gg_pack *p, const char *origin)
{
	size_t enforced = 0;

	for (size_t i = 0; i < p->n_controls; i++)
		enforced += p->controls[i].enforced;
	return json_pack("{s:s+++, s:s, s:s, s:I, s:I, s:I, s:I, s:s}", "ref", p->name, "@",
			 p->version, "", "framework", p->fw_id, "title", p->fw_title, "n_controls",
			 (json_int_t)p->n_controls, "n_enforced", (json_int_t)enforced, "n_advisory",
			 (json_int_t)(p->n_controls - enforced), "n_rules", (json_int_t)p->n_rules,
			 "file", origin);
}

/* One name@version the catalog offers, and a pack-dir file that also
 * provides it (shadowed when the registry has it too). */
struct list_key {
	char *ref;
	char *shipped;
};

struct list_keys {
	struct list_key *v;
	size_t n, cap;
};

static int key_add(struct list_keys *k, const char *ref, const char *shipped)
{
	for (size_t i = 0; i < k->n; i++) {
		if (strcmp(k->v[i].ref, ref))
			continue;
		if (shipped && !k->v[i].shipped)
			k->v[i].shipped = strdup(shipped);
		return 0;
	}
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 32;
		void *p = realloc(k->v, cap * sizeof(*k->v));

		if (!p)
			return -ENOMEM;
		k->v = p;
		k->cap = cap;
	}
	k->v[k->n].ref = strdup(ref);
	k->v[k->n].shipped = shipped ? strdup(shipped) : NULL;
	if (!k->v[k->n].ref)
		return -ENOMEM;
	k->n++;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct list_key *)a)->ref, ((const struct list_key *)b)->ref);
}

/*
 * The name@version refs a directory offers, named as the resolver would
 * look them up: <name>@<version>.json by its file name, <name>.json by
 * <name> and the version it declares. Which file actually answers each ref
 * is left to the resolver (gg_ref_find).
 */
static void scan_dir(struct list_keys *keys, const char *dir, bool shipped)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t len = strlen(nm);
		char path[4096], ref[512];
		json_error_t jerr;
		json_t *doc;

		snprintf(path, sizeof(path), "%s/%s", dir, nm);
		snprintf(ref, sizeof(ref), "%.*s", len > 5 ? (int)(len - 5) : 0, nm);
		if (nm[0] == '.' || len <= 5 || strcmp(nm + len - 5, ".json") ||
		    !strcmp(nm, "platform-floor.json")) /* built in, always applied */
			goto next;
		if (gg_ref_classify(ref) == GG_REF_NAME) {
			key_add(keys, ref, shipped ? path : NULL);
			goto next;
		}
		if (!shipped) { /* the registry is looked up by <name>@<version>.json only */
			fprintf(stderr, "govgate packs: %s: not named <name>@<version>.json (not listed)\n",
				path);
			goto next;
		}
		doc = json_load_file(path, 0, &jerr);
		if (!doc) {
			fprintf(stderr, "govgate packs: %s:%d:%d: %s (not listed)\n", path, jerr.line,
				jerr.column, jerr.text);
			goto next;
		}
		if (json_is_string(json_object_get(doc, "version")) &&
		    snprintf(ref + strlen(ref), sizeof(ref) - strlen(ref), "@%s",
			     json_string_value(json_object_get(doc, "version"))) > 0 &&
		    gg_ref_classify(ref) == GG_REF_NAME)
			key_add(keys, ref, shipped ? path : NULL);
		else
			fprintf(stderr, "govgate packs: %s: no usable name and \"version\" (not listed)\n",
				path);
		json_decref(doc);
next:
		free(names[i]);
	}
	free(names);
}

/* Signature status, as the resolver's check sees it; errors in *why. */
static const char *sig_status(const struct gg_ref_ctx *ctx, struct gg_doc *doc,
			      struct gg_err *why)
{
	char sig[4200];
	int ret = gg_doc_check_sig(ctx, doc, why);

	snprintf(sig, sizeof(sig), "%s.sig", doc->origin);
	if (!ret)
		return doc->signed_ok ? "signed" : ctx->trust_dir ? "unsigned" : "unchecked";
	/* Refused for want of a signature (required), or for a bad one. */
	if (ret == -ENOKEY && access(sig, F_OK))
		return ctx->trust_dir ? "unsigned" : "unchecked";
	return "invalid";
}

/* One catalog entry: ref resolved exactly as packs show and compile do. */
static json_t *list_entry(const struct gg_ref_ctx *ctx, const struct list_key *k)
{
	struct gg_bundle *bundle = NULL;
	struct gg_pack *p = NULL;
	struct gg_doc doc = {};
	struct gg_err err = {}, why = {};
	json_t *e = json_pack("{s:s}", "ref", k->ref);
	const char *sig;
	char decl[512];

	if (gg_ref_find(ctx, k->ref, &doc, &err)) {
		json_object_set_new(e, "error", json_string(err.msg));
		return e;
	}
	json_object_set_new(e, "source", json_string(doc.registry ? "registry" : "shipped"));
	json_object_set_new(e, "file", json_string(doc.origin));
	json_object_set_new(e, "sha256", json_string(doc.sha256));
	sig = sig_status(ctx, &doc, &why);
	json_object_set_new(e, "signature", json_string(sig));
	if (doc.signer)
		json_object_set_new(e, "signer", json_string(doc.signer));
	if (doc.registry && k->shipped)
		json_object_set_new(e, "shadows", json_string(k->shipped));
	if (why.msg[0]) {
		json_object_set_new(e, "error", json_string(why.msg));
		goto cleanup;
	}
	if (gg_doc_parse(doc.buf, doc.len, doc.origin, &p, &bundle, &err)) {
		json_object_set_new(e, "error", json_string(err.msg));
		goto cleanup;
	}
	snprintf(decl, sizeof(decl), "%s@%s", p ? p->name : bundle->name,
		 p ? p->version : bundle->version);
	if (strcmp(decl, k->ref)) {
		snprintf(err.msg, sizeof(err.msg), "%s: declares %s, but was resolved as %s",
			 doc.origin, decl, k->ref);
		json_object_set_new(e, "error", json_string(err.msg));
		goto cleanup;
	}
	if (p) {
		json_t *sum = pack_summary(p, doc.origin);

		json_object_set_new(e, "kind", json_string("pack"));
		json_object_update_missing(e, sum);
		json_decref(sum);
	} else {
		json_t *members = json_array();

		for (size_t i = 0; i < bundle->n_members; i++)
			json_array_append_new(members, json_string(bundle->members[i]));
		json_object_set_new(e, "kind", json_string("bundle"));
		if (bundle->description)
			json_object_set_new(e, "description", json_string(bundle->description));
		json_object_set_new(e, "members", members);
	}
cleanup:
	gg_pack_free(p);
	gg_bundle_free(bundle);
	gg_doc_free(&doc);
	return e;
}

static void print_list_text(json_t *arr)
{
	size_t i, k;
	json_t *v, *m;

	printf("%-26s %-6s %-8s %-22s %-12s %-14s %8s %8s %8s %6s  %s\n", "REF", "KIND", "SOURCE",
	       "SIGNATURE", "SHA256", "FRAMEWORK", "CONTROLS", "ENFORCED", "ADVISORY", "RULES",
	       "TITLE");
	json_array_foreach(arr, i, v) {
		const char *kind = json_string_value(json_object_get(v, "kind"));
		const char *signer = json_string_value(json_object_get(v, "signer"));
		const char *sha = json_string_value(json_object_get(v, "sha256"));
		const char *src = json_string_value(json_object_get(v, "source"));
		char sig[96];

		snprintf(sig, sizeof(sig), "%s%s%s%s",
			 json_string_value(json_object_get(v, "signature")) ?: "-",
			 signer ? " (" : "", signer ?: "", signer ? ")" : "");
		printf("%-26s %-6s %-8s %-22s %-12.12s ", json_string_value(json_object_get(v, "ref")),
		       kind ?: "-", src ?: "-", sig, sha ?: "-");
		if (kind && !strcmp(kind, "pack")) {
			printf("%-14s %8lld %8lld %8lld %6lld  %s\n",
			       json_string_value(json_object_get(v, "framework")),
			       json_integer_value(json_object_get(v, "n_controls")),
			       json_integer_value(json_object_get(v, "n_enforced")),
			       json_integer_value(json_object_get(v, "n_advisory")),
			       json_integer_value(json_object_get(v, "n_rules")),
			       json_string_value(json_object_get(v, "title")));
		} else if (kind) {
			printf("%-14s %8s %8s %8s %6s  members:", "-", "-", "-", "-", "-");
			json_array_foreach(json_object_get(v, "members"), k, m)
				printf("%s %s", k ? "," : "", json_string_value(m));
			printf("\n");
		} else {
			printf("%-14s %8s %8s %8s %6s  (unusable, below)\n", "-", "-", "-", "-", "-");
		}
	}
	/* What the table cannot say in a column; on stderr, so stdout stays
	 * one table (shell completion reads its first column). */
	json_array_foreach(arr, i, v) {
		const char *shadows = json_string_value(json_object_get(v, "shadows"));
		const char *error = json_string_value(json_object_get(v, "error"));

		if (shadows)
			fprintf(stderr, "govgate packs: %s: the registry copy shadows %s\n",
				json_string_value(json_object_get(v, "ref")), shadows);
		if (error)
			fprintf(stderr, "govgate packs: %s: UNUSABLE: %s\n",
				json_string_value(json_object_get(v, "ref")), error);
	}
}

/*
 * The catalog: every name@version the registry and the pack dirs offer,
 * each resolved exactly as `packs show` and `compile` resolve it (the
 * registry shadows the shipped packs), with where it came from, its digest
 * and its signature status. Packs and bundles.
 */
static int packs_list(struct gg_config *cfg, bool json)
{
	struct list_keys keys = {};
	struct gg_ref_ctx ctx;
	json_t *arr = json_array();

	gg_config_ref_ctx(cfg, &ctx);
	if (cfg->registry_dir && cfg->account) {
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s/%s", cfg->registry_dir, cfg->account);
		scan_dir(&keys, dir, false);
	}
	for (size_t d = 0; d < cfg->n_pack_dirs; d++) {
		char dir[4096];

		scan_dir(&keys, cfg->pack_dirs[d], true);
		snprintf(dir, sizeof(dir), "%s/bundles", cfg->pack_dirs[d]);
		scan_dir(&keys, dir, true);
	}
	if (keys.n)
		qsort(keys.v, keys.n, sizeof(*keys.v), key_cmp);
	for (size_t i = 0; i < keys.n; i++)
		json_array_append_new(arr, list_entry(&ctx, &keys.v[i]));
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_list_text(arr);
	}
	for (size_t i = 0; i < keys.n; i++) {
		free(keys.v[i].ref);
		free(keys.v[i].shipped);
	}
	free(keys.v);
	json_decref(arr);
	return 0;
}

static json_t *pack_detail(const struct gg_pack *p)
{
	json_t *doc = pack_summary(p, p->origin ? p->origin : ""), *controls = json_array(),
	       *rules = json_array();

	for (size_t i = 0; i < p->n_controls; i++) {
		const struct gg_control *c = &p->controls[i];
		json_t *cj = json_pack("{s:s, s:s, s:s}", "id", c->id, "title", c->title, "status",
				       c->enforced ? "enforced" : "advisory");
		json_t *by = json_array();

		if (c->reason)
			json_object_set_new(cj, "reason", json_string(c->reason));
		if (c->needs)
			json_object_set_new(cj, "needs", json_string(c->needs));
		json_object_set_new(cj, "evidence", json_boolean(c->evidence));
		if (c->n_refs) {
			json_t *xr = json_array();

			for (size_t k = 0; k < c->n_refs; k++)
				json_array_append_new(xr, json_string(c->refs[k]));
			json_object_set_new(cj, "refs", xr);
		}
		for (size_t r = 0; r < p->n_rules; r++)
			for (size_t k = 0; k < p->rules[r].n_controls; k++)
				if (!strcmp(p->rules[r].controls[k], c->id))
					json_array_append_new(by, json_string(p->rules[r].id));
		json_object_set_new(cj, "rules", by);
		json_array_append_new(controls, cj);
	}
	for (size_t r = 0; r < p->n_rules; r++)
		json_array_append_new(rules, json_pack("{s:s, s:s, s:s?}", "id", p->rules[r].id,
						       "gate", gg_gate_name(p->rules[r].gate),
						       "description", p->rules[r].description));
	json_object_set_new(doc, "sha256", json_string(p->sha256));
	json_object_set_new(doc, "controls", controls);
	json_object_set_new(doc, "rules", rules);
	return doc;
}

static int packs_show(struct gg_config *cfg, const char *ref, bool json)
{
	struct gg_pack **packs = NULL;
	struct gg_ref_ctx ctx;
	size_t n = 0, i;
	struct gg_err err;
	json_t *arr = json_array(), *v, *c;

	gg_config_ref_ctx(cfg, &ctx);
	if (gg_ref_resolve_packs(&ctx, &ref, 1, &packs, &n, &err)) {
		print_error("packs show", json, err.msg);
		json_decref(arr);
		return 1;
	}
	for (size_t k = 0; k < n; k++)
		json_array_append_new(arr, pack_detail(packs[k]));
	if (json) {
		json_dumpf(n == 1 ? json_array_get(arr, 0) : arr, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_array_foreach(arr, i, v) {
		size_t j;

		if (json)
			break;
		printf("%s  %s (%s)\n%lld controls: %lld enforced, %lld advisory; %lld rules\n\n",
		       json_string_value(json_object_get(v, "ref")),
		       json_string_value(json_object_get(v, "title")),
		       json_string_value(json_object_get(v, "framework")),
		       json_integer_value(json_object_get(v, "n_controls")),
		       json_integer_value(json_object_get(v, "n_enforced")),
		       json_integer_value(json_object_get(v, "n_advisory")),
		       json_integer_value(json_object_get(v, "n_rules")));
		json_array_foreach(json_object_get(v, "controls"), j, c) {
			const char *reason = json_string_value(json_object_get(c, "reason"));
			const char *needs = json_string_value(json_object_get(c, "needs"));
			json_t *xr = json_object_get(c, "refs"), *x;
			size_t k;

			printf("  %-9s %-22s %s\n", json_string_value(json_object_get(c, "status")),
			       json_string_value(json_object_get(c, "id")),
			       json_string_value(json_object_get(c, "title")));
			if (reason)
				printf("  %-9s %-22s   advisory: %s\n", "", "", reason);
			if (needs)
				printf("  %-9s %-22s   needs: %s\n", "", "", needs);
			if (json_is_true(json_object_get(c, "evidence")))
				printf("  %-9s %-22s   evidence: the gate records support it (not enforcement)\n",
				       "", "");
			if (json_array_size(xr)) {
				printf("  %-9s %-22s   refs:", "", "");
				json_array_foreach(xr, k, x)
					printf("%s %s", k ? "," : "", json_string_value(x));
				printf("\n");
			}
		}
		printf("\n");
	}
	json_decref(arr);
	gg_packs_free(packs, n);
	return 0;
}

static const char packs_usage[] =
	"usage: govgate packs list [--json] [--config FILE]\n"
	"       govgate packs show REF [--json] [--config FILE]\n"
	"The catalog: each pack's framework, and which controls it enforces (a rule\n"
	"fires a denial) or only marks advisory (no runtime signal at this layer).\n"
	"list resolves every name@version of the registry and the pack dirs as show\n"
	"and compile do (the registry first) and gives its source, sha256 and\n"
	"signature status; bundles too.\n";

int gg_cmd_packs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct policy_opts o = {};
	struct gg_config cfg = {};
	const char *verb;
	int opt, code;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(packs_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	verb = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': o.json = true; break;
		case 'c': o.config = optarg; break;
		case 'h': fputs(packs_usage, stdout); return 0;
		default: fputs(packs_usage, stderr); return 2;
		}
	}
	if (load_cfg("packs", &o, &cfg))
		return 1;
	if (!strcmp(verb, "list") && optind == argc) {
		code = packs_list(&cfg, o.json);
	} else if (!strcmp(verb, "show") && optind == argc - 1) {
		code = packs_show(&cfg, argv[optind], o.json);
	} else {
		fprintf(stderr, "govgate packs: unknown verb or arguments (try list, show REF)\n");
		code = 2;
	}
	gg_config_free(&cfg);
	return code;
}
