/* SPDX-License-Identifier: GPL-2.0 */
/* Command entry points: each parses its own options and returns the
 * process exit code (0 ok, 1 failure, 2 usage, 3 not enforcing). */
#ifndef GG_CLI_H
#define GG_CLI_H

#ifndef GG_VERSION
#define GG_VERSION "0.1.0"
#endif

int gg_cmd_run(int argc, char **argv);
int gg_cmd_status(int argc, char **argv);
int gg_cmd_stop(int argc, char **argv);
int gg_cmd_apply(int argc, char **argv);
int gg_cmd_compile(int argc, char **argv);
int gg_cmd_packs(int argc, char **argv);

/* pid of the daemon holding pin_dir's lock, or 0. */
int gg_daemon_pid(const char *pin_dir);

#endif
