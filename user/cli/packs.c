// SPDX-License-Identifier: GPL-2.0
/* govgate packs list|show: the catalog of governance packs. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "allowlist.h"
#include "cli.h"

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
			     gg_json_str(doc, "version", NULL)) > 0 &&
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
		const char *kind = gg_json_str(v, "kind", NULL);
		const char *signer = gg_json_str(v, "signer", NULL);
		const char *sha = gg_json_str(v, "sha256", NULL);
		const char *src = gg_json_str(v, "source", NULL);
		char sig[96];

		snprintf(sig, sizeof(sig), "%s%s%s%s",
			 gg_json_str(v, "signature", "-"),
			 signer ? " (" : "", signer ?: "", signer ? ")" : "");
		printf("%-26s %-6s %-8s %-22s %-12.12s ", gg_json_str(v, "ref", NULL),
		       kind ?: "-", src ?: "-", sig, sha ?: "-");
		if (kind && !strcmp(kind, "pack")) {
			printf("%-14s %8lld %8lld %8lld %6lld  %s\n",
			       gg_json_str(v, "framework", NULL),
			       gg_json_int(v, "n_controls"),
			       gg_json_int(v, "n_enforced"),
			       gg_json_int(v, "n_advisory"),
			       gg_json_int(v, "n_rules"),
			       gg_json_str(v, "title", NULL));
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
		const char *shadows = gg_json_str(v, "shadows", NULL);
		const char *error = gg_json_str(v, "error", NULL);

		if (shadows)
			fprintf(stderr, "govgate packs: %s: the registry copy shadows %s\n",
				gg_json_str(v, "ref", NULL), shadows);
		if (error)
			fprintf(stderr, "govgate packs: %s: UNUSABLE: %s\n",
				gg_json_str(v, "ref", NULL), error);
	}
}

/*
 * The catalog: every name@version the registry and the pack dirs offer,
 * each resolved exactly as `packs show` and `compile` resolve it (the
 * registry shadows the shipped packs), with where it came from, its digest
 * and its signature status. Packs and bundles.
 */
static int packs_list(struct gg_config *cfg, const struct cli_opts *o)
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
	if (o->json)
		cli_json(arr);
	else
		print_list_text(arr);
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
	if (p->allowlist)
		json_object_set_new(doc, "egress_allowlist", gg_allowlist_json(p->allowlist));
	return doc;
}

/* "egress allowlist (controls A, B): 3 entries", then one per line. */
static void print_allowlist_text(json_t *w)
{
	json_t *e, *x;
	size_t i, k;

	if (!w)
		return;
	printf("egress allowlist (controls");
	json_array_foreach(json_object_get(w, "controls"), i, x)
		printf("%s %s", i ? "," : "", json_string_value(x));
	printf("): %zu entries\n", json_array_size(json_object_get(w, "allow")));
	json_array_foreach(json_object_get(w, "allow"), i, e) {
		const char *d = gg_json_str(e, "domain", NULL);

		printf("  %-6s %s", d ? "domain" : "cidr", d ? d : gg_json_str(e, "cidr", "?"));
		json_array_foreach(json_object_get(e, "ports"), k, x)
			printf("%s%lld", k ? "," : " ports ", (long long)json_integer_value(x));
		if (json_object_get(e, "protocol"))
			printf(" %s", gg_json_str(e, "protocol", ""));
		printf("\n");
	}
	printf("\n");
}

static void print_pack_text(json_t *v)
{
	json_t *c;
	size_t j;

	printf("%s  %s (%s)\n%lld controls: %lld enforced, %lld advisory; %lld rules\n\n",
	       gg_json_str(v, "ref", NULL),
	       gg_json_str(v, "title", NULL),
	       gg_json_str(v, "framework", NULL),
	       gg_json_int(v, "n_controls"),
	       gg_json_int(v, "n_enforced"),
	       gg_json_int(v, "n_advisory"),
	       gg_json_int(v, "n_rules"));
	json_array_foreach(json_object_get(v, "controls"), j, c) {
		const char *reason = gg_json_str(c, "reason", NULL);
		const char *needs = gg_json_str(c, "needs", NULL);
		json_t *xr = json_object_get(c, "refs"), *x;
		size_t k;

		printf("  %-9s %-22s %s\n", gg_json_str(c, "status", NULL),
		       gg_json_str(c, "id", NULL),
		       gg_json_str(c, "title", NULL));
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
	print_allowlist_text(json_object_get(v, "egress_allowlist"));
}

static int packs_show(struct gg_config *cfg, const char *ref, const struct cli_opts *o)
{
	struct gg_pack **packs = NULL;
	struct gg_ref_ctx ctx;
	size_t n = 0, i;
	struct gg_err err;
	json_t *arr = json_array(), *v;

	gg_config_ref_ctx(cfg, &ctx);
	if (gg_ref_resolve_packs(&ctx, &ref, 1, &packs, &n, &err)) {
		cli_error(o, "%s", err.msg);
		json_decref(arr);
		return 1;
	}
	for (size_t k = 0; k < n; k++)
		json_array_append_new(arr, pack_detail(packs[k]));
	if (o->json)
		cli_json(n == 1 ? json_array_get(arr, 0) : arr);
	else
		json_array_foreach(arr, i, v)
			print_pack_text(v);
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

/* list takes no argument, show one REF; either takes --json and --config. */
static int packs_verb(const char *cmd, int want_args, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_OPT_JSON, CLI_OPT_CONFIG, CLI_OPT_HELP,
		{},
	};
	struct cli_opts o = { .cmd = cmd };
	struct gg_config cfg = {};
	int opt, code;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		code = cli_common_opt(&o, opt, optarg, packs_usage);
		if (code != CLI_CONTINUE)
			return code;
	}
	if (argc - optind != want_args)
		return cli_usage_error(&o, packs_usage, "takes %s",
				       want_args ? "one REF" : "no argument");
	if (cli_config(&o, &cfg))
		return 1;
	code = want_args ? packs_show(&cfg, argv[optind], &o) : packs_list(&cfg, &o);
	gg_config_free(&cfg);
	return code;
}

static int do_list(int argc, char **argv)
{
	return packs_verb("packs list", 0, argc, argv);
}

static int do_show(int argc, char **argv)
{
	return packs_verb("packs show", 1, argc, argv);
}

static const struct cmd packs_cmds[] = {
	{ "list", do_list, "every pack and bundle the registry and the pack dirs offer" },
	{ "show", do_show, "one pack's (or a bundle's packs') controls and rules" },
};

int gg_cmd_packs(int argc, char **argv)
{
	static const struct cmd_level level = {
		.name = "govgate packs",
		.head = packs_usage,
		.cmds = packs_cmds,
		.n = sizeof(packs_cmds) / sizeof(packs_cmds[0]),
	};

	return cmd_select(&level, argc, argv);
}
