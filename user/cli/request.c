// SPDX-License-Identifier: GPL-2.0
/*
 * Requests to the running daemon (user/control.h): what apply, stop,
 * reload and unlock share, and reload and unlock themselves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "daemon.h"
#include "sign.h"

int cli_sign_opt(struct cli_sign *s, int opt, const char *arg)
{
	char *end;

	switch (opt) {
	case CLI_KEY_SIGN_KEY:
		s->key = arg;
		return 0;
	case CLI_KEY_EXPIRES:
		s->ttl = strtol(arg, &end, 10);
		return *end || s->ttl <= 0 ? -EINVAL : 0;
	case CLI_KEY_SAVE_REQUEST:
		s->save = arg;
		return 0;
	case CLI_KEY_COUNTER:
		s->counter = strtoull(arg, &end, 10);
		return *end || !s->counter ? -EINVAL : 0;
	}
	return -ENOENT;
}

/* Microseconds since the epoch: a counter that grows across signers
 * whose clocks agree, without asking anyone for the last one. */
static unsigned long long now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (unsigned long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

static int sign_request(const struct cli_sign *s, const char *op, json_t *args,
			const json_t *hello, json_t *msg, struct gg_err *err)
{
	unsigned long long last = json_integer_value(json_object_get(hello, "last_counter"));
	unsigned long long counter = s->counter ? s->counter : now_us();
	EVP_PKEY *key = NULL;
	char fp[65], *text = NULL, *sig = NULL;
	int ret;

	if (!s->counter && counter <= last)
		counter = last + 1;
	ret = gg_key_load_private(s->key, &key, err);
	if (!ret)
		ret = gg_key_fingerprint(key, fp, err);
	if (ret)
		goto cleanup;
	text = gg_request_text(op, args, counter, time(NULL) + (s->ttl ? s->ttl : GG_REQUEST_TTL_DEFAULT),
			       fp, gg_json_str(hello, "machine", ""));
	if (!text) {
		ret = gg_errf(err, -ENOMEM, "out of memory");
		goto cleanup;
	}
	ret = gg_request_sign(key, text, &sig, err);
	if (!ret) {
		json_object_set_new(msg, "request", json_string(text));
		json_object_set_new(msg, "signature", json_string(sig));
	}
cleanup:
	EVP_PKEY_free(key);
	free(text);
	free(sig);
	return ret;
}

static int call(const char *path, json_t *msg, json_t **reply, struct gg_err *err)
{
	int ret = gg_control_call(path, msg, 600, reply, err);

	json_decref(msg);
	return ret;
}

int cli_request(const struct cli_opts *o, const struct gg_config *cfg, const char *op,
		json_t *args, const struct cli_sign *s, json_t **reply)
{
	char path[108], *text;
	json_t *hello = NULL, *msg;
	bool at_once = !s->key && !s->save;
	struct gg_err err;
	int ret = 0;

	*reply = NULL;
	gg_control_path(cfg->pin_dir, path, sizeof(path));
	/* A signature covers the daemon's machine id and last counter (its
	 * hello); an unsigned request is sent at once. */
	if (!at_once) {
		text = gg_request_text("hello", NULL, 0, 0, "", "");
		msg = json_pack("{s:s}", "request", text);
		free(text);
		ret = call(path, msg, &hello, &err);
		if (ret)
			goto refused;
	}
	msg = json_object();
	if (s->key) {
		ret = sign_request(s, op, args, hello, msg, &err);
	} else {
		text = gg_request_text(op, args, 0, time(NULL) + GG_REQUEST_TTL_DEFAULT, "", "");
		json_object_set_new(msg, "request", json_string(text));
		free(text);
	}
	json_decref(hello);
	json_decref(args);
	args = NULL;
	if (!ret && s->save) {
		ret = json_dump_file(msg, s->save, JSON_COMPACT) ?
			      gg_errf(&err, -EIO, "%s: cannot write", s->save) : 0;
		json_decref(msg);
		if (!ret)
			fprintf(stderr, "govgate %s: request saved to %s, not sent\n", o->cmd, s->save);
		*reply = json_pack("{s:b}", "ok", 1);
	} else if (!ret) {
		ret = call(path, msg, reply, &err);
		if (ret && at_once)
			goto refused;
	}
	else
		json_decref(msg);
	if (ret) {
		cli_error(o, "%s", err.msg);
		return -1;
	}
	if (!json_is_true(json_object_get(*reply, "ok"))) {
		cli_error(o, "the daemon refused: %s", gg_json_str(*reply, "error", "?"));
		return -1;
	}
	return 0;
refused: /* the first call: is there a daemon? */
	json_decref(args);
	if (ret == -ENOENT || ret == -ECONNREFUSED)
		return 1;
	cli_error(o, "%s", err.msg);
	return -1;
}

static const char reload_usage[] =
	"usage: govgate reload [--sign-key KEY [--expires SECS] [--counter N]]\n"
	"                      [--pin-dir DIR] [--config FILE] [--json]\n"
	"Asks the running daemon to re-read its configuration file and apply its\n"
	"packs. In locked mode the request must be signed with an operator key\n"
	"whose public half is in the trust directory (docs/operators.md).\n";

static const char unlock_usage[] =
	"usage: govgate unlock --sign-key KEY [--expires SECS] [--counter N]\n"
	"                      [--pin-dir DIR] [--config FILE] [--json]\n"
	"Asks the running daemon, with a signed request, to leave locked mode: the\n"
	"guard stops refusing, and the next start may run --unlocked or with\n"
	"another configuration. Restarting the service without --unlocked locks\n"
	"again.\n";

/* reload and unlock: a request with no arguments. */
static int simple_request(int argc, char **argv, const char *op, const char *usage)
{
	static const struct option opts[] = {
		CLI_OPT_SIGN, CLI_OPT_JSON, CLI_OPT_PIN_DIR, CLI_OPT_CONFIG, CLI_OPT_HELP, {},
	};
	struct cli_opts o = { .cmd = op };
	struct cli_sign s = {};
	struct gg_config cfg = {};
	json_t *reply = NULL;
	int opt, code;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_sign_opt(&s, opt, optarg) == 0)
			continue;
		if (opt == CLI_KEY_SIGN_KEY || opt == CLI_KEY_EXPIRES || opt == CLI_KEY_COUNTER)
			return cli_usage_error(&o, usage, "bad --expires or --counter");
		if ((code = cli_common_opt(&o, opt, optarg, usage)) != CLI_CONTINUE)
			return code;
	}
	if (optind != argc)
		return cli_usage_error(&o, usage, "unexpected argument \"%s\"", argv[optind]);
	if (cli_config(&o, &cfg))
		return 1;
	code = cli_request(&o, &cfg, op, json_object(), &s, &reply);
	if (code == 1)
		cli_error(&o, "no daemon runs for %s", cfg.pin_dir);
	if (!code && o.json)
		cli_json(reply);
	else if (!code)
		printf("govgate %s: done\n", op);
	json_decref(reply);
	gg_config_free(&cfg);
	return code ? 1 : 0;
}

int gg_cmd_reload(int argc, char **argv)
{
	return simple_request(argc, argv, "reload", reload_usage);
}

int gg_cmd_unlock(int argc, char **argv)
{
	return simple_request(argc, argv, "unlock", unlock_usage);
}
