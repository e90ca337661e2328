/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Requests to the running daemon (issue 13, "policy changes in locked
 * mode"). While the daemon runs, `govgate apply`, `stop` and the others
 * ask it over an AF_UNIX socket (0600, root) instead of writing the maps:
 * every govgate map is guarded, and the daemon is the only writer. In
 * locked mode each request must carry an operator's Ed25519 signature by
 * a key in the trust directory (/etc/govgate/trusted-keys).
 *
 * The signed text is the request itself, one compact JSON document with
 * sorted keys (docs/operators.md, "Signed requests"):
 *   {"args":{...},"counter":N,"expires":UNIX,"govgate_request":1,
 *    "key":"<key-sha256>","machine":"<machine-id>","op":"apply"}
 * and its signature is a signature file's text (user/sign.h). On the wire
 * the client sends one JSON document, {"request": TEXT, "signature": SIG}
 * (no signature: unsigned), and reads one back: {"ok": true, ...} or
 * {"ok": false, "error": MESSAGE, "refused": REASON}.
 */
#ifndef GG_CONTROL_H
#define GG_CONTROL_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>
#include <poll.h>

#include "crypto.h"
#include "common.h"

/* The control sockets' and the daemon locks' directory; locked, guarded */
#define GG_RUN_DIR "/run/govgate"
#define GG_CONTROL_SOCK GG_RUN_DIR "/control.sock"
#define GG_REQUEST_MAX (64 * 1024)
/* A request may not be valid for longer than this: it bounds how long a
 * captured request can be replayed after a reboot forgot the counter. */
#define GG_REQUEST_TTL_MAX (24 * 3600)
/* How far ahead of the receiver's clock a counter (microseconds) may be. */
#define GG_COUNTER_AHEAD_MAX (24 * 3600)
#define GG_REQUEST_TTL_DEFAULT 600

/* What the daemon does for a request. hello: unsigned, read-only (the
 * lock state and the last counter, for a client about to sign). */
#define GG_OPS(X) X(hello) X(apply) X(stop) X(unload) X(reload) X(unlock)

/* Why a request was refused: the "refused" of the reply and of its
 * tamper_blocked record. */
enum gg_req_refusal {
	GG_REQ_OK = 0,
	GG_REQ_MALFORMED,
	GG_REQ_UNSIGNED,
	GG_REQ_UNKNOWN_KEY,
	GG_REQ_BAD_SIGNATURE,
	GG_REQ_EXPIRED,
	GG_REQ_TOO_LONG, /* expires further ahead than GG_REQUEST_TTL_MAX */
	GG_REQ_REPLAYED, /* counter not above the last accepted one */
	GG_REQ_OTHER_MACHINE,
	/* counter over a day ahead of the receiver's clock in microseconds:
	 * accepted, it would leave no counter above it to sign */
	GG_REQ_COUNTER_AHEAD,
};

const char *gg_req_refusal_name(enum gg_req_refusal r);

struct gg_request {
	char op[16];
	json_t *args; /* an object (owned) */
	unsigned long long counter;
	long long expires; /* seconds since the epoch */
	char key[65]; /* key-sha256 of the signer; "" when unsigned */
	char machine[64];
	char signer[256]; /* the trusted key's file name */
};

void gg_request_free(struct gg_request *r);

/* The text to sign: compact, keys sorted. Caller frees. */
char *gg_request_text(const char *op, const json_t *args, unsigned long long counter,
		      long long expires, const char *key, const char *machine);

/* A signature file's text (user/sign.h format) over text. */
int gg_request_sign(EVP_PKEY *key, const char *text, char **sig, struct gg_err *err);

/* Parses text (no signature check); GG_REQ_MALFORMED with err on error. */
enum gg_req_refusal gg_request_parse(const char *text, struct gg_request *out,
				     struct gg_err *err);

/* What the daemon checks, in order: well-formed, signed, by a key in
 * trust_dir whose fingerprint the request names, for this machine (when
 * machine is not NULL), not expired at now nor valid longer than the
 * maximum, and counter above last_counter. err says why, for the caller
 * to show; out is filled whenever the text parsed. */
enum gg_req_refusal gg_request_verify(const char *trust_dir, const char *text, const char *sig,
				      time_t now, unsigned long long last_counter,
				      const char *machine, struct gg_request *out,
				      struct gg_err *err);

/* The trusted keys: [{"file": NAME, "key_sha256": HEX}], sorted by file. */
json_t *gg_trusted_keys(const char *trust_dir);
/* Requests are verified against keys (taken; NULL: the directory again
 * for each request). The daemon pins the directory's keys when it locks:
 * a key that appears there later, written by init's side or mounted over
 * a file by it (`systemctl bind`), is not one of them. A signature still
 * verifies with the directory's file of the named key, which must then
 * have the pinned fingerprint. */
void gg_trusted_keys_pin(json_t *keys);

/* This machine's id (/etc/machine-id), "" when there is none. */
void gg_machine_id(char *buf, size_t len);

/* The control socket of the daemon that runs for pin_dir: control.sock
 * for the default pin directory, else one named after it. */
void gg_control_path(const char *pin_dir, char *buf, size_t len);

/* Listening, non-blocking, mode 0600 (a stale socket is replaced). */
int gg_control_listen(const char *path, struct gg_err *err);

/* Sends msg, waits up to timeout_s for the reply. -ENOENT/-ECONNREFUSED
 * when no daemon listens. */
int gg_control_call(const char *path, const json_t *msg, int timeout_s, json_t **reply,
		    struct gg_err *err);

/*
 * The daemon's side: the connections it reads without blocking its loop.
 * A client that sends slowly, or never, holds a slot until its deadline,
 * not the daemon's time (the loop also drains the ring buffer); when every
 * slot is taken, the oldest connection is answered "busy" and closed.
 */
#define GG_CONTROL_CONNS 8
#define GG_CONTROL_DEADLINE_MS 2000

struct gg_control_conn {
	int fd; /* -1: free */
	char *buf;
	size_t len, cap;
	long long deadline_ms; /* CLOCK_MONOTONIC */
};

struct gg_control_server {
	int fd; /* listening, -1: none */
	struct gg_control_conn conn[GG_CONTROL_CONNS];
	unsigned long long busy; /* connections answered busy, in all */
	/* accept failed for want of descriptors: not polled until the next
	 * gg_control_next (a waiting connection would wake every poll) */
	bool accept_blocked;
};

int gg_control_serve(struct gg_control_server *s, const char *path, struct gg_err *err);
void gg_control_server_close(struct gg_control_server *s);

/* Accepts what waits and reads what arrived, without blocking. 1: a
 * connection is done, its fd in *fd (the caller answers and closes it)
 * and its message in *msg, or *msg NULL and err says why (malformed, too
 * large, no complete message before the deadline); 0: none is done. A
 * message is complete when the peer shuts down its side. */
int gg_control_next(struct gg_control_server *s, int *fd, json_t **msg, struct gg_err *err);
int gg_control_reply(int fd, const json_t *reply);

/* What the loop waits on for the control socket: the listening socket
 * (unless accept_blocked) and each open connection, POLLIN, into p (room
 * for 1 + GG_CONTROL_CONNS); returns how many. */
int gg_control_pollfds(const struct gg_control_server *s, struct pollfd *p);

/* The last accepted counter as the state directory keeps it across
 * reboots (0 when none); save writes it atomically. */
unsigned long long gg_counter_load(const char *state_dir);
int gg_counter_save(const char *state_dir, unsigned long long counter, struct gg_err *err);

#endif
