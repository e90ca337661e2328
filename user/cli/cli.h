/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command layer: every command's options, usage text and exit code
 * live in user/cli/; the library (the rest of user/) only returns negative
 * errnos.
 * Exit codes: 0 ok, 1 failure, 2 usage error, 3 not enforcing (status) or
 * not verified (audit verify).
 */
#ifndef GG_CLI_H
#define GG_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "config.h"

/* The options many commands share; cmd names the command in messages. */
struct cli_opts {
	const char *cmd; /* "packs show" */
	const char *config, *pin_dir, *state_dir;
	bool json;
};

/* getopt_long keys of the shared options, above any short option. */
enum {
	CLI_KEY_CONFIG = 0x100,
	CLI_KEY_PIN_DIR,
	CLI_KEY_STATE_DIR,
	CLI_KEY_JSON,
	CLI_KEY_SIGN_KEY,
	CLI_KEY_EXPIRES,
	CLI_KEY_COUNTER,
	CLI_KEY_SAVE_REQUEST,
};

#define CLI_OPT_CONFIG { "config", required_argument, NULL, CLI_KEY_CONFIG }
#define CLI_OPT_PIN_DIR { "pin-dir", required_argument, NULL, CLI_KEY_PIN_DIR }
#define CLI_OPT_STATE_DIR { "state-dir", required_argument, NULL, CLI_KEY_STATE_DIR }
#define CLI_OPT_JSON { "json", no_argument, NULL, CLI_KEY_JSON }
#define CLI_OPT_HELP { "help", no_argument, NULL, 'h' }
/* A signed request to the daemon (user/cli/request.c). */
#define CLI_OPT_SIGN                                                       \
	{ "sign-key", required_argument, NULL, CLI_KEY_SIGN_KEY },          \
	{ "expires", required_argument, NULL, CLI_KEY_EXPIRES },            \
	{ "counter", required_argument, NULL, CLI_KEY_COUNTER },            \
	{ "save-request", required_argument, NULL, CLI_KEY_SAVE_REQUEST }

struct cli_sign {
	const char *key; /* the operator's private key; NULL: unsigned */
	long ttl; /* seconds the request is valid; 0: the default */
	unsigned long long counter; /* 0: the time in microseconds */
	const char *save; /* write the signed request there instead of sending it */
};

/* Takes a signing option (0), -EINVAL for a bad value, -ENOENT if opt is
 * not one. */
int cli_sign_opt(struct cli_sign *s, int opt, const char *arg);
/* Sends op with args (taken) to the daemon that runs for cfg->pin_dir,
 * signed when s->key is set: 0 with *reply when it was done, 1 when no
 * daemon runs, -1 when it failed or was refused (said on stderr). With
 * s->save the request is written to that file, not sent (0, no reply). */
int cli_request(const struct cli_opts *o, const struct gg_config *cfg, const char *op,
		json_t *args, const struct cli_sign *s, json_t **reply);

#define CLI_CONTINUE (-1)

/*
 * The default: case of every command's getopt loop. Takes a shared option
 * (CLI_CONTINUE), or answers -h with usage on stdout (0) and anything else
 * with usage on stderr (2): the exit code to return.
 */
int cli_common_opt(struct cli_opts *o, int opt, const char *arg, const char *usage);

/* Usage on stderr, after an optional message; returns 2. */
int cli_usage_error(const struct cli_opts *o, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A command table: one per level (govgate, govgate packs, ...). */
struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv); /* argv[0] is name */
	const char *summary;
};

struct cmd_level {
	const char *name; /* "govgate packs" */
	const char *head; /* usage lines, before the table */
	const char *tail; /* after it, or NULL */
	const struct cmd *cmds;
	size_t n;
};

/*
 * bpftool's cmd_select: argv[1] picks a command of the level, by its name
 * or an unambiguous prefix of it; help, -h and --help print the level's
 * usage. The command gets argv + 1 (its own name as argv[0]).
 */
int cmd_select(const struct cmd_level *l, int argc, char **argv);

/* Loads --config, then --pin-dir and --state-dir over it; on failure
 * prints the error (cli_error) and returns -1. */
int cli_config(const struct cli_opts *o, struct gg_config *cfg);

/* The JSON printer: one document on stdout. */
void cli_json(const json_t *doc);

/* The error printer: {"error": "..."} as the only stdout document with
 * --json, "govgate CMD: message" on stderr otherwise. */
void cli_error(const struct cli_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The commands (argv[0] names each). */
int gg_cmd_run(int argc, char **argv);
int gg_cmd_status(int argc, char **argv);
int gg_cmd_stop(int argc, char **argv);
int gg_cmd_apply(int argc, char **argv);
int gg_cmd_compile(int argc, char **argv);
int gg_cmd_packs(int argc, char **argv); /* packs list|show */
int gg_cmd_pack(int argc, char **argv); /* pack keygen|sign|verify */
int gg_cmd_audit(int argc, char **argv); /* audit verify|tail */
int gg_cmd_report(int argc, char **argv);
int gg_cmd_reload(int argc, char **argv);
int gg_cmd_unlock(int argc, char **argv);
int gg_cmd_trust(int argc, char **argv); /* trust snapshot */

/* The audit log and its public key from --config (audit verify, tail,
 * report); *pub is NULL if none is configured. */
void cli_audit_defaults(const struct cli_opts *o, char **path, char **pub);

/* What audit verify and report read: the FILE arguments, else the
 * configured log and its rotated files; and the checkpoint key: --key,
 * else (unless chain_only) the configured key's .pub when it is readable. */
struct cli_audit_src {
	const char *key_path; /* the key read, NULL if none */
	char *def_path, *def_pub; /* the configured log and .pub, or NULL */
	EVP_PKEY *pub;
	char **files;
	size_t n;
	bool own_files; /* files came from the configured log */
};

/* Fills *s (free it with cli_audit_src_free, also on failure). */
int cli_audit_src_open(const struct cli_opts *o, const char *key_path, bool chain_only,
		       char **files, size_t n, struct cli_audit_src *s, struct gg_err *err);
void cli_audit_src_free(struct cli_audit_src *s);

/* --anchor SEQ:HEAD, appended to *v; prints the error itself. */
int cli_anchor_arg(const struct cli_opts *o, const char *arg, struct gg_audit_anchor **v,
		   size_t *n);

#endif
