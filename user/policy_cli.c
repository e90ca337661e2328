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
	"A failed apply changes nothing. REF: name@version, sha256:<hex>, blob:<key>,\n"
	"or the path of a pack or bundle file.\n";

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
	struct gg_pack_ref *cur = NULL, *set = NULL;
	size_t n_cur = 0, n_set = 0;
	bool add = false, remove = false;
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
	if ((add || remove) && gg_applied_load(&cfg, &cur, &n_cur, &err) == -ENOENT)
		n_cur = 0;
	set = calloc(n_cur + argc - optind + 1, sizeof(*set));
	if (!set)
		goto cleanup;
	/* The new applied set: current (for --add/--remove) then the refs. */
	for (size_t i = 0; i < n_cur; i++) {
		bool named = false;

		for (int a = optind; a < argc; a++)
			named |= !strcmp(cur[i].ref, argv[a]);
		if (named && remove)
			continue;
		if (named) /* --add with a new mode: updated below */
			continue;
		set[n_set].ref = strdup(cur[i].ref);
		set[n_set++].mode = cur[i].mode;
	}
	if (!remove)
		for (int a = optind; a < argc; a++) {
			set[n_set].ref = strdup(argv[a]);
			set[n_set++].mode = mode;
		}
	pw = getpwuid(getuid());
	snprintf(who, sizeof(who), "%s (uid %u, govgate apply)", pw ? pw->pw_name : "?", getuid());
	if (gg_policy_apply(&cfg, set, n_set, who, &generation, &err)) {
		print_error("apply", o.json, err.msg);
		fprintf(stderr, "govgate apply: the running policy is unchanged\n");
		goto cleanup;
	}
	if (o.json) {
		json_t *out = json_pack("{s:I, s:i}", "generation", (json_int_t)generation, "packs",
					(int)n_set);

		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(out);
	} else {
		printf("applied generation %llu: platform-floor", (unsigned long long)generation);
		for (size_t i = 0; i < n_set; i++)
			printf(", %s [%s]", set[i].ref,
			       set[i].mode == GG_ACT_OBSERVE ? "observe" : "enforce");
		printf("\n");
	}
	code = 0;
cleanup:
	gg_pack_refs_free(cur, n_cur);
	gg_pack_refs_free(set, n_set);
	gg_config_free(&cfg);
	return code;
}

static const char compile_usage[] =
	"usage: govgate compile [--mode enforce|observe] [--json] [--config FILE] REF...\n"
	"Dry run: resolves, verifies, validates and compiles the refs with the\n"
	"platform floor and prints the map entries that would be written, with the\n"
	"control ids each carries. Deterministic. Nothing is loaded.\n";

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
			printf(" %s/%s", e->rules[r].pack, e->rules[r].rule);
		printf("\n");
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

static int packs_list(struct gg_config *cfg, bool json)
{
	json_t *arr = json_array();
	size_t i;
	json_t *v;

	for (size_t d = 0; d < cfg->n_pack_dirs; d++) {
		struct dirent **names = NULL;
		int n = scandir(cfg->pack_dirs[d], &names, NULL, alphasort);

		for (int k = 0; k < n; k++) {
			const char *nm = names[k]->d_name;
			size_t len = strlen(nm);
			char path[4096];
			struct gg_pack *p = NULL;
			char *buf = NULL;
			size_t blen;
			struct gg_err err;

			if (len > 5 && !strcmp(nm + len - 5, ".json") &&
			    strcmp(nm, "platform-floor.json")) {
				snprintf(path, sizeof(path), "%s/%s", cfg->pack_dirs[d], nm);
				if (!gg_read_file(path, &buf, &blen, &err) &&
				    !gg_pack_parse(buf, blen, path, &p, &err))
					json_array_append_new(arr, pack_summary(p, path));
				else if (!strstr(err.msg, "bundle"))
					fprintf(stderr, "govgate packs: %s\n", err.msg);
				gg_pack_free(p);
				free(buf);
			}
			free(names[k]);
		}
		free(names);
	}
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		printf("%-26s %-14s %8s %8s %8s %6s  %s\n", "REF", "FRAMEWORK", "CONTROLS",
		       "ENFORCED", "ADVISORY", "RULES", "TITLE");
		json_array_foreach(arr, i, v)
			printf("%-26s %-14s %8lld %8lld %8lld %6lld  %s\n",
			       json_string_value(json_object_get(v, "ref")),
			       json_string_value(json_object_get(v, "framework")),
			       json_integer_value(json_object_get(v, "n_controls")),
			       json_integer_value(json_object_get(v, "n_enforced")),
			       json_integer_value(json_object_get(v, "n_advisory")),
			       json_integer_value(json_object_get(v, "n_rules")),
			       json_string_value(json_object_get(v, "title")));
	}
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

			printf("  %-9s %-22s %s\n", json_string_value(json_object_get(c, "status")),
			       json_string_value(json_object_get(c, "id")),
			       json_string_value(json_object_get(c, "title")));
			if (reason)
				printf("  %-9s %-22s   advisory: %s\n", "", "", reason);
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
	"fires a denial) or only marks advisory (no runtime signal at this layer).\n";

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
