// SPDX-License-Identifier: GPL-2.0
/* Signed requests to the daemon, and its control socket (control.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "crypto.h"
#include "control.h"
#include "sign.h"

#define REQ_VERSION 1

static const char *const refusal_names[] = {
	[GG_REQ_OK] = "ok",
	[GG_REQ_MALFORMED] = "malformed",
	[GG_REQ_UNSIGNED] = "unsigned",
	[GG_REQ_UNKNOWN_KEY] = "unknown_key",
	[GG_REQ_BAD_SIGNATURE] = "bad_signature",
	[GG_REQ_EXPIRED] = "expired",
	[GG_REQ_TOO_LONG] = "expiry_too_far",
	[GG_REQ_REPLAYED] = "replayed",
	[GG_REQ_OTHER_MACHINE] = "other_machine",
	[GG_REQ_COUNTER_AHEAD] = "counter_ahead",
};

const char *gg_req_refusal_name(enum gg_req_refusal r)
{
	return r < sizeof(refusal_names) / sizeof(refusal_names[0]) ? refusal_names[r] : "unknown";
}

void gg_request_free(struct gg_request *r)
{
	json_decref(r->args);
	r->args = NULL;
}

char *gg_request_text(const char *op, const json_t *args, unsigned long long counter,
		      long long expires, const char *key, const char *machine)
{
	json_t *doc = json_pack("{s:i, s:s, s:O, s:I, s:I, s:s, s:s}", "govgate_request",
				REQ_VERSION, "op", op, "args", args ? args : json_object(),
				"counter", (json_int_t)counter, "expires", (json_int_t)expires,
				"key", key ? key : "", "machine", machine ? machine : "");
	char *text;

	if (!doc)
		return NULL;
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	return text;
}

int gg_request_sign(EVP_PKEY *key, const char *text, char **sig, struct gg_err *err)
{
	unsigned char raw[64], b64[96];
	char fp[65];
	int ret;

	*sig = NULL;
	ret = gg_key_fingerprint(key, fp, err);
	if (!ret)
		ret = gg_sign_buf(key, text, strlen(text), raw, err);
	if (ret)
		return ret;
	EVP_EncodeBlock(b64, raw, sizeof(raw));
	if (asprintf(sig, "govgate-signature-v1\nkey-sha256: %s\ned25519: %s\n", fp, b64) < 0) {
		*sig = NULL;
		return gg_errf(err, -ENOMEM, "out of memory");
	}
	return 0;
}

static bool op_known(const char *op)
{
#define OP_IS(name) !strcmp(op, #name) ||
	return GG_OPS(OP_IS) false;
#undef OP_IS
}

enum gg_req_refusal gg_request_parse(const char *text, struct gg_request *out,
				     struct gg_err *err)
{
	const char *op = NULL, *key = NULL, *machine = NULL;
	json_int_t version = 0, counter = -1, expires = 0;
	json_t *doc, *args = NULL;
	json_error_t jerr;

	memset(out, 0, sizeof(*out));
	doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		gg_errf(err, -EBADMSG, "request: not JSON: %s", jerr.text);
		return GG_REQ_MALFORMED;
	}
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:I, s:s, s:o, s:I, s:I, s:s, s:s}",
			   "govgate_request", &version, "op", &op, "args", &args, "counter",
			   &counter, "expires", &expires, "key", &key, "machine", &machine) ||
	    version != REQ_VERSION || !json_is_object(args) || counter < 0 ||
	    strlen(op) >= sizeof(out->op) || !op_known(op) || strlen(key) >= sizeof(out->key) ||
	    strlen(machine) >= sizeof(out->machine)) {
		gg_errf(err, -EBADMSG, "request: malformed (%s)",
			jerr.text[0] ? jerr.text : "unknown op, version or field");
		json_decref(doc);
		return GG_REQ_MALFORMED;
	}
	snprintf(out->op, sizeof(out->op), "%s", op);
	snprintf(out->key, sizeof(out->key), "%s", key);
	snprintf(out->machine, sizeof(out->machine), "%s", machine);
	out->args = json_incref(args);
	out->counter = counter;
	out->expires = expires;
	json_decref(doc);
	return GG_REQ_OK;
}

/* The keys pinned while locked (gg_trusted_keys_pin), NULL: read the
 * directory for each request. */
static json_t *pinned_keys;

void gg_trusted_keys_pin(json_t *keys)
{
	json_decref(pinned_keys);
	pinned_keys = keys;
}

/* Is a key with fingerprint fp trusted: pinned, or in the trust directory? */
static bool key_trusted(const char *trust_dir, const char *fp)
{
	json_t *keys = pinned_keys ? json_incref(pinned_keys) : gg_trusted_keys(trust_dir), *k;
	bool found = false;
	size_t i;

	json_array_foreach(keys, i, k)
		found |= !strcmp(gg_json_str(k, "key_sha256", ""), fp);
	json_decref(keys);
	return found;
}

static enum gg_req_refusal check_signature(const char *trust_dir, const char *text,
					   const char *sig, struct gg_request *r,
					   struct gg_err *err)
{
	char *signer = NULL;
	int ret;

	if (!sig || !sig[0]) {
		gg_errf(err, -EPERM, "unsigned request: locked mode accepts only requests signed "
				     "with an operator key in %s (--sign-key)", trust_dir);
		return GG_REQ_UNSIGNED;
	}
	if (!r->key[0] || !key_trusted(trust_dir, r->key)) {
		gg_errf(err, -EPERM, "request signed by key sha256:%.16s..., which is not in %s",
			r->key, trust_dir);
		return GG_REQ_UNKNOWN_KEY;
	}
	/* The signature names its key too: it must be the one signed for. */
	if (!strstr(sig, r->key)) {
		gg_errf(err, -EPERM, "request: the signature is not by the key it names");
		return GG_REQ_BAD_SIGNATURE;
	}
	ret = gg_sig_verify_mem(trust_dir, text, strlen(text), sig, strlen(sig), "request",
				&signer, err);
	if (ret) {
		if (ret == -EKEYREJECTED)
			gg_errf(err, -EPERM, "request: bad signature (changed since it was signed, "
					     "or not signed by key sha256:%.16s...)", r->key);
		return GG_REQ_BAD_SIGNATURE;
	}
	snprintf(r->signer, sizeof(r->signer), "%s", signer);
	free(signer);
	return GG_REQ_OK;
}

enum gg_req_refusal gg_request_verify(const char *trust_dir, const char *text, const char *sig,
				      time_t now, unsigned long long last_counter,
				      const char *machine, struct gg_request *out,
				      struct gg_err *err)
{
	enum gg_req_refusal r;

	r = gg_request_parse(text, out, err);
	if (r == GG_REQ_OK)
		r = check_signature(trust_dir, text, sig, out, err);
	if (r != GG_REQ_OK)
		return r;
	if (machine && machine[0] && strcmp(out->machine, machine)) {
		gg_errf(err, -EPERM, "request is for machine \"%s\", this is \"%s\"", out->machine,
			machine);
		return GG_REQ_OTHER_MACHINE;
	}
	if (out->expires <= now) {
		gg_errf(err, -EPERM, "request expired %lld s ago", (long long)(now - out->expires));
		return GG_REQ_EXPIRED;
	}
	if (out->expires - now > GG_REQUEST_TTL_MAX) {
		gg_errf(err, -EPERM, "request valid for %lld s: at most %d s are accepted",
			(long long)(out->expires - now), GG_REQUEST_TTL_MAX);
		return GG_REQ_TOO_LONG;
	}
	/* The signer's clock in microseconds by default (cli/request.c): one
	 * near INT64_MAX, signed by an operator a relay fed that last counter,
	 * would make every later counter overflow. */
	if (out->counter > ((unsigned long long)now + GG_COUNTER_AHEAD_MAX) * 1000000ULL) {
		gg_errf(err, -EPERM, "request counter %llu is more than %d s ahead of this "
				     "machine's clock in microseconds", out->counter,
			GG_COUNTER_AHEAD_MAX);
		return GG_REQ_COUNTER_AHEAD;
	}
	if (out->counter <= last_counter) {
		gg_errf(err, -EPERM, "request counter %llu is not above the last accepted one "
				     "(%llu): a replay, or signed before a later request",
			out->counter, last_counter);
		return GG_REQ_REPLAYED;
	}
	return GG_REQ_OK;
}

static int pub_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && !strcmp(d->d_name + n - 4, ".pub");
}

json_t *gg_trusted_keys(const char *trust_dir)
{
	json_t *keys = json_array();
	struct dirent **ents = NULL;
	int n;

	n = trust_dir ? scandir(trust_dir, &ents, pub_filter, alphasort) : -1;
	for (int i = 0; i < n; i++) {
		EVP_PKEY *key = NULL;
		char path[4096], fp[65];

		snprintf(path, sizeof(path), "%s/%s", trust_dir, ents[i]->d_name);
		if (!gg_key_load_public(path, &key, NULL) && !gg_key_fingerprint(key, fp, NULL))
			json_array_append_new(keys, json_pack("{s:s, s:s}", "file",
							      ents[i]->d_name, "key_sha256", fp));
		EVP_PKEY_free(key);
		free(ents[i]);
	}
	free(ents);
	return keys;
}

void gg_machine_id(char *buf, size_t len)
{
	FILE *f = fopen("/etc/machine-id", "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

void gg_control_path(const char *pin_dir, char *buf, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0), adler = adler32(0L, Z_NULL, 0);

	if (!strcmp(pin_dir, GG_PIN_DIR_DEFAULT)) {
		snprintf(buf, len, "%s", GG_CONTROL_SOCK);
		return;
	}
	/*
	 * sun_path is short: named by two checksums of the pin directory.
	 * Not a cryptographic digest: the name only tells root's own pin
	 * directories apart in a root-owned directory, and OpenSSL's
	 * start-up was most of a CLI request's CPU.
	 */
	crc = crc32(crc, (const Bytef *)pin_dir, strlen(pin_dir));
	adler = adler32(adler, (const Bytef *)pin_dir, strlen(pin_dir));
	snprintf(buf, len, GG_RUN_DIR "/control-%08lx%08lx.sock", crc & 0xffffffffUL,
		 adler & 0xffffffffUL);
}

int gg_control_listen(const char *path, struct gg_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, ret;

	gg_mkdir_p(GG_RUN_DIR, 0755, NULL);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return gg_errf(err, -errno, "control socket: %s", strerror(errno));
	unlink(path); /* a previous daemon's: the pin directory's lock is ours */
	old = umask(0077);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret || chmod(path, 0600) || listen(fd, 8)) {
		ret = gg_errf(err, -errno, "control socket %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

static int read_all(int fd, int timeout_s, char **out, size_t *len, struct gg_err *err)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (!buf)
		return gg_errf(err, -ENOMEM, "out of memory");
	for (;;) {
		ssize_t r;

		if (poll(&p, 1, timeout_s * 1000) <= 0) {
			free(buf);
			return gg_errf(err, -ETIMEDOUT, "control socket: no answer in %d s", timeout_s);
		}
		if (n == cap) {
			char *nb = cap >= GG_REQUEST_MAX ? NULL : realloc(buf, cap * 2 + 1);

			if (!nb) {
				free(buf);
				return gg_errf(err, -E2BIG, "control socket: message too large");
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(buf);
			return gg_errf(err, r, "control socket: %s", strerror(-r));
		}
		if (r == 0)
			break;
		n += r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= w;
	}
	return 0;
}

static int send_json(int fd, const json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	int ret;

	if (!text)
		return -ENOMEM;
	ret = write_all(fd, text, strlen(text));
	free(text);
	return ret;
}

static int parse_msg(const char *buf, size_t len, json_t **msg, struct gg_err *err)
{
	json_error_t jerr;

	*msg = json_loadb(buf, len, 0, &jerr);
	if (!*msg || !json_is_object(*msg)) {
		json_decref(*msg);
		*msg = NULL;
		return gg_errf(err, -EBADMSG, "control socket: not a JSON object: %s", jerr.text);
	}
	return 0;
}

int gg_control_call(const char *path, const json_t *msg, int timeout_s, json_t **reply,
		    struct gg_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *buf = NULL;
	size_t len = 0;
	int fd, ret;

	*reply = NULL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return gg_errf(err, -errno, "control socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = gg_errf(err, -errno, "control socket %s: %s", path, strerror(errno));
		goto cleanup;
	}
	ret = send_json(fd, msg);
	if (ret) {
		gg_errf(err, ret, "control socket %s: %s", path, strerror(-ret));
		goto cleanup;
	}
	shutdown(fd, SHUT_WR);
	ret = read_all(fd, timeout_s, &buf, &len, err);
	if (!ret)
		ret = parse_msg(buf, len, reply, err);
cleanup:
	free(buf);
	close(fd);
	return ret;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int gg_control_serve(struct gg_control_server *s, const char *path, struct gg_err *err)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < GG_CONTROL_CONNS; i++)
		s->conn[i].fd = -1;
	s->fd = gg_control_listen(path, err);
	return s->fd < 0 ? s->fd : 0;
}

static void conn_drop(struct gg_control_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void gg_control_server_close(struct gg_control_server *s)
{
	for (int i = 0; i < GG_CONTROL_CONNS; i++)
		conn_drop(&s->conn[i]);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* A free slot; none free: the oldest connection answered busy, closed. */
static struct gg_control_conn *conn_slot(struct gg_control_server *s)
{
	struct gg_control_conn *old = &s->conn[0];
	json_t *busy;

	for (int i = 0; i < GG_CONTROL_CONNS; i++) {
		if (s->conn[i].fd < 0)
			return &s->conn[i];
		if (s->conn[i].deadline_ms < old->deadline_ms)
			old = &s->conn[i];
	}
	busy = json_pack("{s:b, s:s, s:s}", "ok", 0, "error",
			 "control socket busy: too many connections at once", "refused", "busy");
	if (busy)
		send_json(old->fd, busy);
	json_decref(busy);
	conn_drop(old);
	s->busy++;
	return old;
}

static void conn_accept(struct gg_control_server *s)
{
	struct pollfd ready = { .fd = s->fd, .events = POLLIN };

	s->accept_blocked = false;
	/* an accept4 that finds no connection costs a socket's allocation
	 * (5 µs), once per loop: the DNS forwarder's queries pay it */
	if (poll(&ready, 1, 0) != 1)
		return;
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct gg_control_conn *c;

		if (fd < 0) {
			s->accept_blocked = errno == EMFILE || errno == ENFILE ||
					    errno == ENOBUFS || errno == ENOMEM;
			return;
		}
		c = conn_slot(s);
		c->fd = fd;
		c->deadline_ms = now_ms() + GG_CONTROL_DEADLINE_MS;
	}
}

/* Reads what arrived: 1 at the peer's end of message, 0 for more to
 * come, < 0 on error (err set). */
static int conn_read(struct gg_control_conn *c, struct gg_err *err)
{
	for (;;) {
		ssize_t r;

		if (c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 4096;
			char *nb = c->cap >= GG_REQUEST_MAX ? NULL : realloc(c->buf, cap + 1);

			if (!nb)
				return gg_errf(err, -E2BIG, "control socket: message too large");
			c->buf = nb;
			c->cap = cap;
		}
		r = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r < 0)
			return gg_errf(err, -errno, "control socket: %s", strerror(errno));
		if (r == 0)
			return 1;
		c->len += r;
	}
}

/* Hands a finished connection over: its fd to the caller, the rest freed. */
static int conn_done(struct gg_control_conn *c, int *fd)
{
	*fd = c->fd;
	c->fd = -1;
	conn_drop(c);
	return 1;
}

int gg_control_pollfds(const struct gg_control_server *s, struct pollfd *p)
{
	int n = 0;

	if (s->fd >= 0 && !s->accept_blocked)
		p[n++] = (struct pollfd){ .fd = s->fd, .events = POLLIN };
	for (int i = 0; i < GG_CONTROL_CONNS; i++)
		if (s->conn[i].fd >= 0)
			p[n++] = (struct pollfd){ .fd = s->conn[i].fd, .events = POLLIN };
	return n;
}

int gg_control_next(struct gg_control_server *s, int *fd, json_t **msg, struct gg_err *err)
{
	long long now = now_ms();

	*msg = NULL;
	if (s->fd < 0)
		return 0;
	conn_accept(s);
	for (int i = 0; i < GG_CONTROL_CONNS; i++) {
		struct gg_control_conn *c = &s->conn[i];
		int ret;

		if (c->fd < 0)
			continue;
		ret = conn_read(c, err);
		if (ret > 0 && !parse_msg(c->buf ? c->buf : "", c->len, msg, err))
			return conn_done(c, fd);
		if (ret != 0)
			return conn_done(c, fd); /* err says why */
		if (now >= c->deadline_ms) {
			gg_errf(err, -ETIMEDOUT, "control socket: no complete request in %d ms",
				GG_CONTROL_DEADLINE_MS);
			return conn_done(c, fd);
		}
	}
	return 0;
}

int gg_control_reply(int fd, const json_t *reply)
{
	return send_json(fd, reply);
}

#define COUNTER_FILE "control-counter"

unsigned long long gg_counter_load(const char *state_dir)
{
	char path[4096], *buf = NULL;
	unsigned long long v = 0;
	size_t len;

	snprintf(path, sizeof(path), "%s/" COUNTER_FILE, state_dir);
	if (gg_read_file(path, &buf, &len, NULL))
		return 0;
	v = strtoull(buf, NULL, 10);
	free(buf);
	return v;
}

int gg_counter_save(const char *state_dir, unsigned long long counter, struct gg_err *err)
{
	char path[4096], text[32];
	int n;

	snprintf(path, sizeof(path), "%s/" COUNTER_FILE, state_dir);
	n = snprintf(text, sizeof(text), "%llu\n", counter);
	return gg_write_atomic(path, text, n, 0600, err);
}
