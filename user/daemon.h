/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon (`govgate run`): attach (or adopt) the gates, load the
 * policy, enable, then drain the ring buffer into the audit log until
 * SIGTERM; SIGHUP re-applies the configuration file's packs. Stopping
 * leaves the pinned links enforcing.
 */
#ifndef GG_DAEMON_H
#define GG_DAEMON_H

#include <stdbool.h>

#include "config.h"

struct gg_daemon;

struct gg_daemon_opts {
	bool verbose; /* libbpf's messages */
	/* No locked mode (bpf/guard.bpf.c), which is otherwise on in global
	 * scope: for development and maintenance. */
	bool unlocked;
};

/* SIGHUP is taken from here on: a reload asked for while starting is done
 * once the policy is in. Called first, before the configuration is read. */
void gg_daemon_catch_reload(void);

/*
 * Takes the pin directory's lock, attaches the gates, restores the policy,
 * opens the audit log (recording what happened while no daemon ran) and
 * starts draining. cfg must outlive the daemon. *d is set whenever it
 * could be allocated, also on failure: gg_daemon_stop then records the
 * failure in the log (if it was opened) and gg_daemon_free undoes the rest.
 */
int gg_daemon_start(struct gg_config *cfg, const struct gg_daemon_opts *opts,
		    struct gg_daemon **d, struct gg_err *err);
/* Drains until SIGTERM or SIGINT (0), or until the ring buffer fails. */
int gg_daemon_loop(struct gg_daemon *d, struct gg_err *err);
/* Records agent_stopped (with error, if the daemon failed) and the final
 * checkpoint; returns its failure. */
int gg_daemon_stop(struct gg_daemon *d, const char *error);
/* Closes everything; after a clean stop the daemon's exemption is dropped,
 * and then the lock. */
void gg_daemon_free(struct gg_daemon *d);

/* pid of the daemon holding pin_dir's lock, or 0. */
int gg_daemon_pid(const char *pin_dir);
/* SIGTERM to that daemon, and up to 5 s for it to exit. */
int gg_daemon_kill(const char *pin_dir, struct gg_err *err);
/* -EPERM (said in err) when the gates pinned at pin_dir are locked: they
 * change only through a running daemon's signed requests. The kernel
 * refuses the direct writes of every task but the daemon and its
 * successor anyway; this says why, before any is tried. */
int gg_refuse_if_locked(const char *pin_dir, const char *what, struct gg_err *err);

#endif
