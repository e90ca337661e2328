// SPDX-License-Identifier: GPL-2.0
/* What every command shares: options, the command tables, the printers. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sign.h"

int cli_common_opt(struct cli_opts *o, int opt, const char *arg, const char *usage)
{
	switch (opt) {
	case CLI_KEY_CONFIG:
		o->config = arg;
		return CLI_CONTINUE;
	case CLI_KEY_PIN_DIR:
		o->pin_dir = arg;
		return CLI_CONTINUE;
	case CLI_KEY_STATE_DIR:
		o->state_dir = arg;
		return CLI_CONTINUE;
	case CLI_KEY_JSON:
		o->json = true;
		return CLI_CONTINUE;
	case 'h':
		fputs(usage, stdout);
		return 0;
	default: /* getopt said what was wrong */
		fputs(usage, stderr);
		return 2;
	}
}

int cli_usage_error(const struct cli_opts *o, const char *usage, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "govgate %s: ", o->cmd);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fputs(usage, stderr);
	return 2;
}

static void level_help(const struct cmd_level *l, FILE *f)
{
	fputs(l->head, f);
	fputc('\n', f);
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "  %-9s %s\n", l->cmds[i].name, l->cmds[i].summary);
	if (l->tail)
		fprintf(f, "\n%s", l->tail);
}

/* The command named by word: exact, else the only one it is a prefix of. */
static const struct cmd *cmd_find(const struct cmd_level *l, const char *word, bool *ambiguous)
{
	const struct cmd *found = NULL;
	size_t len = strlen(word);

	*ambiguous = false;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->cmds[i].name, word))
			return &l->cmds[i];
	for (size_t i = 0; len && i < l->n; i++) {
		if (strncmp(l->cmds[i].name, word, len))
			continue;
		if (found) {
			*ambiguous = true;
			return NULL;
		}
		found = &l->cmds[i];
	}
	return found;
}

int cmd_select(const struct cmd_level *l, int argc, char **argv)
{
	const struct cmd *c;
	bool ambiguous;

	if (argc < 2) {
		level_help(l, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		level_help(l, stdout);
		return 0;
	}
	c = cmd_find(l, argv[1], &ambiguous);
	if (!c) {
		fprintf(stderr, "%s: %s \"%s\" (try: %s --help)\n", l->name,
			ambiguous ? "ambiguous command" : "unknown command", argv[1], l->name);
		return 2;
	}
	optind = 0; /* each command parses its own options from scratch */
	return c->fn(argc - 1, argv + 1);
}

int cli_config(const struct cli_opts *o, struct gg_config *cfg)
{
	struct gg_err err;

	if (gg_config_load(o->config, cfg, &err)) {
		cli_error(o, "%s", err.msg);
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
	if (!cfg->pin_dir || !cfg->state_dir) {
		cli_error(o, "out of memory");
		gg_config_free(cfg);
		return -1;
	}
	return 0;
}

void cli_json(const json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	fflush(stdout);
}

void cli_error(const struct cli_opts *o, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->json) {
		json_t *doc = json_pack("{s:s}", "error", msg);

		cli_json(doc);
		json_decref(doc);
		return;
	}
	fprintf(stderr, "govgate %s: %s\n", o->cmd, msg);
}

void cli_audit_defaults(const struct cli_opts *o, char **path, char **pub)
{
	const char *p = GG_AUDIT_PATH_DEFAULT, *k = GG_AUDIT_KEY_DEFAULT;
	struct gg_config cfg;
	struct gg_err err;
	bool loaded = gg_config_load(o->config, &cfg, &err) == 0;

	/* Without --config a missing or broken default file is not an error
	 * for reading a log: the built-in paths are used. */
	if (!loaded && o->config)
		cli_error(o, "%s", err.msg);
	if (loaded) {
		p = cfg.audit_path ? cfg.audit_path : p;
		k = cfg.audit_key ? cfg.audit_key : k;
	}
	*path = strdup(p);
	if (asprintf(pub, "%s.pub", k) < 0)
		*pub = NULL;
	if (loaded)
		gg_config_free(&cfg);
}

int cli_audit_src_open(const struct cli_opts *o, const char *key_path, bool chain_only,
		       char **files, size_t n, struct cli_audit_src *s, struct gg_err *err)
{
	int ret;

	*s = (struct cli_audit_src){ .key_path = key_path, .files = files, .n = n };
	cli_audit_defaults(o, &s->def_path, &s->def_pub);
	/* The writer exports the public key next to the configured key. */
	if (!s->key_path && !chain_only && s->def_pub && access(s->def_pub, R_OK) == 0)
		s->key_path = s->def_pub;
	if (s->key_path) {
		ret = gg_key_load_public(s->key_path, &s->pub, err);
		if (ret)
			return ret;
	}
	if (s->n)
		return 0;
	if (!s->def_path)
		return gg_errf(err, -ENOMEM, "out of memory");
	ret = gg_audit_log_files(s->def_path, &s->files, &s->n, err);
	if (ret)
		return ret;
	s->own_files = true;
	return 0;
}

void cli_audit_src_free(struct cli_audit_src *s)
{
	if (s->own_files)
		gg_audit_files_free(s->files, s->n);
	EVP_PKEY_free(s->pub);
	free(s->def_path);
	free(s->def_pub);
}

int cli_anchor_arg(const struct cli_opts *o, const char *arg, struct gg_audit_anchor **v,
		   size_t *n)
{
	struct gg_audit_anchor a, *nv;

	if (gg_audit_anchor_parse(arg, &a)) {
		cli_error(o, "bad anchor \"%s\" (SEQ:HEAD, the seq and the 64-hex head of a "
			  "checkpoint)", arg);
		return -EINVAL;
	}
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = a;
	*v = nv;
	return 0;
}
