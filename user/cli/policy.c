// SPDX-License-Identifier: GPL-2.0
/* govgate apply and govgate compile: the policy commands. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "compiled_json.h"
#include "cli.h"
#include "daemon.h"
#include "trust.h"

static const char apply_usage[] =
	"usage: govgate apply [--mode enforce|observe] [--add | --remove] REF...\n"
	"                     [--pin-dir DIR] [--state-dir DIR] [--config FILE] [--json]\n"
	"Resolves, verifies and compiles the refs with the platform floor, then swaps\n"
	"the running policy atomically. Without --add/--remove the refs replace the\n"
	"applied set; --add adds them (or changes their mode), --remove drops them.\n"
	"A failed apply changes nothing. The set and the exact bytes of its packs are\n"
	"kept in the state directory; a restart re-applies those bytes, not the refs.\n"
	"REF: name@version, sha256:<hex>, blob:<key>, or the path of a pack or bundle\n"
	"file (recorded absolute).\n"
	"While the daemon runs, it makes the change (every map is its alone); in\n"
	"locked mode the request must be signed: --sign-key KEY (an operator's\n"
	"Ed25519 private key whose public half is in the trust directory), valid\n"
	"--expires SECS (default 600), with --counter N above the last accepted\n"
	"(default: the time in microseconds). A file REF is signed by its digest.\n";

struct apply_args {
	struct cli_opts o;
	struct cli_sign sign;
	enum gg_action mode;
	enum gg_apply_op op;
	char **refs;
	int n_refs;
};

/* CLI_CONTINUE when a is complete, else the exit code. */
static int apply_parse(struct apply_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "add", no_argument, NULL, 'a' },
		{ "remove", no_argument, NULL, 'r' },
		CLI_OPT_JSON, CLI_OPT_PIN_DIR, CLI_OPT_STATE_DIR, CLI_OPT_CONFIG, CLI_OPT_HELP,
		CLI_OPT_SIGN, {},
	};
	bool add = false, remove = false;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		rc = cli_sign_opt(&a->sign, opt, optarg);
		if (rc == -EINVAL)
			return cli_usage_error(&a->o, apply_usage, "bad --expires or --counter");
		if (!rc)
			continue;
		switch (opt) {
		case 'm':
			if (gg_mode_parse(optarg, &a->mode))
				return cli_usage_error(&a->o, apply_usage,
						       "--mode must be enforce or observe");
			break;
		case 'a': add = true; break;
		case 'r': remove = true; break;
		default:
			rc = cli_common_opt(&a->o, opt, optarg, apply_usage);
			if (rc != CLI_CONTINUE)
				return rc;
		}
	}
	if ((add && remove) || (optind == argc && (add || remove)))
		return cli_usage_error(&a->o, apply_usage, NULL);
	a->op = add ? GG_APPLY_ADD : remove ? GG_APPLY_REMOVE : GG_APPLY_SET;
	a->refs = argv + optind;
	a->n_refs = argc - optind;
	return CLI_CONTINUE;
}

static void print_applied_json(const struct gg_applied *now, __u64 generation)
{
	/* The refs as applied.json now records them. */
	json_t *set = gg_applied_json(now);
	json_t *out = json_pack("{s:I, s:i, s:O}", "generation", (json_int_t)generation, "packs",
				(int)now->n, "refs", json_object_get(set, "refs"));

	cli_json(out);
	json_decref(out);
	json_decref(set);
}

static void print_applied_text(const struct gg_applied *now, __u64 generation)
{
	printf("applied generation %llu: platform-floor", (unsigned long long)generation);
	for (size_t i = 0; i < now->n; i++) {
		const struct gg_applied_ref *e = &now->refs[i];

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

/* The request's arguments: a file ref goes by its absolute path and the
 * digest of its bytes now, which the daemon applies or refuses. */
static json_t *apply_request_args(const struct apply_args *a, struct gg_err *err)
{
	json_t *refs = json_array();
	char abs[PATH_MAX], *buf, hex[65];
	size_t len;

	for (int i = 0; i < a->n_refs; i++) {
		const char *ref = a->refs[i];

		if (gg_ref_classify(ref) != GG_REF_PATH) {
			json_array_append_new(refs, json_pack("{s:s}", "ref", ref));
			continue;
		}
		if (!realpath(ref, abs) || gg_read_file(abs, &buf, &len, err)) {
			if (!err->msg[0] || errno)
				gg_errf(err, -ENOENT, "%s: %s", ref, strerror(errno));
			json_decref(refs);
			return NULL;
		}
		gg_sha256_hex(buf, len, hex);
		free(buf);
		json_array_append_new(refs, json_pack("{s:s, s:s}", "ref", abs, "sha256", hex));
	}
	return json_pack("{s:s, s:s, s:o}", "op",
			 a->op == GG_APPLY_ADD ? "add" : a->op == GG_APPLY_REMOVE ? "remove" : "set",
			 "mode", a->mode == GG_ACT_OBSERVE ? "observe" : "enforce", "refs", refs);
}

/* Trust lists applied where cmd.exec cannot hash (the fallback path). */
static void warn_unenforced(const struct gg_config *cfg, __u64 generation)
{
	const char *warn = gg_trust_unenforced(cfg, generation);

	if (warn)
		fprintf(stderr, "govgate apply: %s\n", warn);
}

/* Through the daemon: 0 done, 1 no daemon runs, -1 failed (said). */
static int apply_by_request(struct apply_args *a, const struct gg_config *cfg)
{
	struct gg_applied now = {};
	struct gg_err err = {};
	json_t *args, *reply = NULL;
	int ret;

	args = apply_request_args(a, &err);
	if (!args) {
		cli_error(&a->o, "%s", err.msg);
		return -1;
	}
	ret = cli_request(&a->o, cfg, "apply", args, &a->sign, &reply);
	if (ret || a->sign.save) {
		json_decref(reply);
		return ret;
	}
	/* What the daemon applied (its reply carries applied.json's set). */
	if (gg_applied_parse("the daemon's reply", json_object_get(reply, "applied"), &now,
			     &err) == 0 && a->o.json)
		print_applied_json(&now, gg_json_int(reply, "generation"));
	else if (now.n || now.format)
		print_applied_text(&now, gg_json_int(reply, "generation"));
	else
		printf("applied generation %lld\n", gg_json_int(reply, "generation"));
	warn_unenforced(cfg, gg_json_int(reply, "generation"));
	gg_applied_free(&now);
	json_decref(reply);
	return 0;
}

int gg_cmd_apply(int argc, char **argv)
{
	struct apply_args a = { .o.cmd = "apply", .mode = GG_ACT_DENY };
	struct gg_applied now = {};
	struct gg_config cfg = {};
	struct passwd *pw;
	__u64 generation = 0;
	struct gg_err err;
	char who[128];
	int code;

	code = apply_parse(&a, argc, argv);
	if (code != CLI_CONTINUE)
		return code;
	if (cli_config(&a.o, &cfg))
		return 1;
	code = apply_by_request(&a, &cfg);
	if (code == 0 || code == -1) {
		if (code)
			fprintf(stderr, "govgate apply: the running policy is unchanged\n");
		gg_config_free(&cfg);
		return code ? 1 : 0;
	}
	if (gg_refuse_if_locked(cfg.pin_dir, "apply", &err)) {
		cli_error(&a.o, "%s", err.msg);
		fprintf(stderr, "govgate apply: the running policy is unchanged\n");
		code = 1;
		goto cleanup;
	}
	if (a.sign.key)
		fprintf(stderr, "govgate apply: no daemon runs: applying directly (the "
				"signature is not needed)\n");
	pw = getpwuid(getuid());
	snprintf(who, sizeof(who), "%s (uid %u, govgate apply)", pw ? pw->pw_name : "?", getuid());
	/* The current set is read under the apply lock (--add/--remove). */
	if (gg_policy_edit(&cfg, a.op, (const char *const *)a.refs, a.n_refs, a.mode, who,
			   &generation, &now, &err)) {
		cli_error(&a.o, "%s", err.msg);
		/* True on every error path: the swap is the last step that can
		 * fail, and a failed one changes nothing (gg_policy_apply). */
		fprintf(stderr, "govgate apply: the running policy is unchanged\n");
		code = 1;
		goto cleanup;
	}
	if (a.o.json)
		print_applied_json(&now, generation);
	else
		print_applied_text(&now, generation);
	warn_unenforced(&cfg, generation);
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
		CLI_OPT_JSON, CLI_OPT_CONFIG, CLI_OPT_HELP,
		{},
	};
	struct cli_opts o = { .cmd = "compile" };
	enum gg_action mode = GG_ACT_DENY;
	struct gg_compiled *c = NULL;
	struct gg_pack_ref *refs = NULL;
	struct gg_config cfg = {};
	struct gg_err err;
	int opt, code, n;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'm') {
			if (gg_mode_parse(optarg, &mode))
				return cli_usage_error(&o, compile_usage,
						       "--mode must be enforce or observe");
			continue;
		}
		code = cli_common_opt(&o, opt, optarg, compile_usage);
		if (code != CLI_CONTINUE)
			return code;
	}
	if (cli_config(&o, &cfg))
		return 1;
	code = 1;
	n = argc - optind;
	refs = calloc(n + 1, sizeof(*refs));
	for (int i = 0; refs && i < n; i++) {
		refs[i].ref = argv[optind + i];
		refs[i].mode = mode;
	}
	if (gg_policy_build(&cfg, refs, n, &c, NULL, NULL, &err)) {
		cli_error(&o, "%s", err.msg);
		goto cleanup;
	}
	if (o.json) {
		json_t *doc = gg_compiled_to_json(c);

		cli_json(doc);
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
