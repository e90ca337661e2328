// SPDX-License-Identifier: GPL-2.0
/* Signed requests to the daemon (user/control.c): what is accepted, and
 * every way a request is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"
#include "sign.h"

#define NOW 1700000000
#define MACHINE "0123456789abcdef0123456789abcdef"

struct fx {
	char root[64], trust[96], good[96], bad[96];
	char fp_good[65], fp_bad[65];
	EVP_PKEY *kgood, *kbad;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char pub[128];
	struct gg_err err;

	snprintf(f->root, sizeof(f->root), "/tmp/gg-test-control.XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->trust, sizeof(f->trust), "%s/trust", f->root);
	snprintf(f->good, sizeof(f->good), "%s/op.key", f->root);
	snprintf(f->bad, sizeof(f->bad), "%s/agent.key", f->root);
	mkdir(f->trust, 0755);
	snprintf(pub, sizeof(pub), "%s/op.pub", f->trust);
	if (gg_key_generate(f->good, pub, &err))
		return -1;
	snprintf(pub, sizeof(pub), "%s/agent.pub", f->root); /* not trusted */
	if (gg_key_generate(f->bad, pub, &err) || gg_key_load_private(f->good, &f->kgood, &err) ||
	    gg_key_load_private(f->bad, &f->kbad, &err) ||
	    gg_key_fingerprint(f->kgood, f->fp_good, &err) ||
	    gg_key_fingerprint(f->kbad, f->fp_bad, &err))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	EVP_PKEY_free(f->kgood);
	EVP_PKEY_free(f->kbad);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

/* An apply request for baseline-hardening@v1, valid until expires. */
static char *apply_text(const char *fp, unsigned long long counter, long long expires)
{
	json_t *args = json_pack("{s:s, s:s, s:[{s:s}]}", "op", "set", "mode", "enforce", "refs",
				 "ref", "baseline-hardening@v1");
	char *text = gg_request_text("apply", args, counter, expires, fp, MACHINE);

	json_decref(args);
	assert_non_null(text);
	return text;
}

static char *sign(EVP_PKEY *key, const char *text)
{
	struct gg_err err;
	char *sig = NULL;

	assert_int_equal(gg_request_sign(key, text, &sig, &err), 0);
	return sig;
}

static enum gg_req_refusal verify(struct fx *f, const char *text, const char *sig,
				  unsigned long long last)
{
	struct gg_request r = {};
	struct gg_err err = {};
	enum gg_req_refusal why;

	why = gg_request_verify(f->trust, text, sig, NOW, last, MACHINE, &r, &err);
	if (why != GG_REQ_OK)
		assert_true(err.msg[0] != '\0'); /* every refusal says why */
	gg_request_free(&r);
	return why;
}

/* Locked, the daemon pins the directory's keys: a key put there later
 * (by init's side, or mounted over a key file) signs nothing. */
static void test_pinned_keys_ignore_new_ones(void **state)
{
	struct fx *f = *state;
	char *text = apply_text(f->fp_bad, 5, NOW + 600), *sig = sign(f->kbad, text);
	char src[128], dst[128], cmd[300];

	gg_trusted_keys_pin(gg_trusted_keys(f->trust));
	snprintf(src, sizeof(src), "%s/agent.pub", f->root);
	snprintf(dst, sizeof(dst), "%s/agent.pub", f->trust);
	snprintf(cmd, sizeof(cmd), "cp %s %s", src, dst);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(verify(f, text, sig, 4), GG_REQ_UNKNOWN_KEY);
	gg_trusted_keys_pin(NULL); /* unlocked: the directory again */
	assert_int_equal(verify(f, text, sig, 4), GG_REQ_OK);
	unlink(dst);
	free(text);
	free(sig);
}

static void test_good_signature_accepted(void **state)
{
	struct fx *f = *state;
	char *text = apply_text(f->fp_good, 5, NOW + 600), *sig = sign(f->kgood, text);
	struct gg_request r = {};
	struct gg_err err = {};

	assert_int_equal(gg_request_verify(f->trust, text, sig, NOW, 4, MACHINE, &r, &err),
			 GG_REQ_OK);
	assert_string_equal(r.op, "apply");
	assert_int_equal(r.counter, 5);
	assert_string_equal(r.signer, "op.pub");
	assert_string_equal(gg_json_str(json_array_get(json_object_get(r.args, "refs"), 0), "ref", ""),
			    "baseline-hardening@v1");
	gg_request_free(&r);
	free(text);
	free(sig);
}

/* One field changed after signing: the counter, then the refs. */
static void test_tampered_field_refused(void **state)
{
	struct fx *f = *state;
	char *text = apply_text(f->fp_good, 5, NOW + 600), *sig = sign(f->kgood, text);
	char *other = apply_text(f->fp_good, 6, NOW + 600), *p;

	assert_int_equal(verify(f, other, sig, 0), GG_REQ_BAD_SIGNATURE);
	p = strstr(text, "baseline-hardening");
	assert_non_null(p);
	p[0] = 'B';
	assert_int_equal(verify(f, text, sig, 0), GG_REQ_BAD_SIGNATURE);
	free(text);
	free(other);
	free(sig);
}

static void test_wrong_key_refused(void **state)
{
	struct fx *f = *state;
	/* Signed by a key that is not trusted, naming itself ... */
	char *text = apply_text(f->fp_bad, 5, NOW + 600), *sig = sign(f->kbad, text);
	/* ... or naming the trusted key. */
	char *text2 = apply_text(f->fp_good, 5, NOW + 600), *sig2 = sign(f->kbad, text2);

	assert_int_equal(verify(f, text, sig, 0), GG_REQ_UNKNOWN_KEY);
	assert_int_equal(verify(f, text2, sig2, 0), GG_REQ_BAD_SIGNATURE);
	free(text);
	free(sig);
	free(text2);
	free(sig2);
}

static void test_expired_refused(void **state)
{
	struct fx *f = *state;
	char *text = apply_text(f->fp_good, 5, NOW - 1), *sig = sign(f->kgood, text);
	char *far = apply_text(f->fp_good, 5, NOW + GG_REQUEST_TTL_MAX + 1), *fsig = sign(f->kgood, far);
	char *edge = apply_text(f->fp_good, 5, NOW), *esig = sign(f->kgood, edge);

	assert_int_equal(verify(f, text, sig, 0), GG_REQ_EXPIRED);
	assert_int_equal(verify(f, edge, esig, 0), GG_REQ_EXPIRED);
	assert_int_equal(verify(f, far, fsig, 0), GG_REQ_TOO_LONG);
	free(text);
	free(sig);
	free(far);
	free(fsig);
	free(edge);
	free(esig);
}

static void test_replayed_counter_refused(void **state)
{
	struct fx *f = *state;
	char *text = apply_text(f->fp_good, 5, NOW + 600), *sig = sign(f->kgood, text);

	assert_int_equal(verify(f, text, sig, 4), GG_REQ_OK);
	/* The same request again, once 5 was accepted; and an older one. */
	assert_int_equal(verify(f, text, sig, 5), GG_REQ_REPLAYED);
	assert_int_equal(verify(f, text, sig, 9), GG_REQ_REPLAYED);
	free(text);
	free(sig);
}

/* A counter over a day ahead of the clock in microseconds (one a relay
 * would make an operator sign, leaving no counter above it) is refused;
 * the clock's own microseconds and small counters are not. */
static void test_counter_ahead_refused(void **state)
{
	struct fx *f = *state;
	unsigned long long edge = (NOW + GG_COUNTER_AHEAD_MAX) * 1000000ULL;
	char *text = apply_text(f->fp_good, edge + 1, NOW + 600), *sig = sign(f->kgood, text);
	char *top = apply_text(f->fp_good, 9223372036854775806ULL, NOW + 600);
	char *tsig = sign(f->kgood, top);
	char *ok = apply_text(f->fp_good, edge, NOW + 600), *osig = sign(f->kgood, ok);

	assert_int_equal(verify(f, text, sig, 0), GG_REQ_COUNTER_AHEAD);
	assert_int_equal(verify(f, top, tsig, 0), GG_REQ_COUNTER_AHEAD);
	assert_int_equal(verify(f, ok, osig, 0), GG_REQ_OK);
	assert_string_equal(gg_req_refusal_name(GG_REQ_COUNTER_AHEAD), "counter_ahead");
	free(text);
	free(sig);
	free(top);
	free(tsig);
	free(ok);
	free(osig);
}

static void test_unsigned_and_malformed_refused(void **state)
{
	struct fx *f = *state;
	char *text = apply_text(f->fp_good, 5, NOW + 600), *sig = sign(f->kgood, text);
	char *hello = gg_request_text("nosuchop", NULL, 1, NOW + 60, f->fp_good, MACHINE);
	char *hsig = sign(f->kgood, hello);

	assert_int_equal(verify(f, text, NULL, 0), GG_REQ_UNSIGNED);
	assert_int_equal(verify(f, text, "", 0), GG_REQ_UNSIGNED);
	assert_int_equal(verify(f, "{\"op\":\"apply\"}", sig, 0), GG_REQ_MALFORMED);
	assert_int_equal(verify(f, "not json", sig, 0), GG_REQ_MALFORMED);
	assert_int_equal(verify(f, hello, hsig, 0), GG_REQ_MALFORMED);
	free(text);
	free(sig);
	free(hello);
	free(hsig);
}

static void test_other_machine_refused(void **state)
{
	struct fx *f = *state;
	char *text = apply_text(f->fp_good, 5, NOW + 600), *sig = sign(f->kgood, text);
	struct gg_request r = {};
	struct gg_err err;

	assert_int_equal(gg_request_verify(f->trust, text, sig, NOW, 0, "another", &r, &err),
			 GG_REQ_OTHER_MACHINE);
	gg_request_free(&r);
	free(text);
	free(sig);
}

static void test_trusted_keys_listed(void **state)
{
	struct fx *f = *state;
	json_t *keys = gg_trusted_keys(f->trust);

	assert_int_equal(json_array_size(keys), 1);
	assert_string_equal(gg_json_str(json_array_get(keys, 0), "file", ""), "op.pub");
	assert_string_equal(gg_json_str(json_array_get(keys, 0), "key_sha256", ""), f->fp_good);
	json_decref(keys);
}

/* A client of the test's server: connected, sending text (NULL: nothing
 * yet), its side shut down when done. */
static int client(const char *path, const char *text, bool done)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (text)
		assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	if (done)
		shutdown(fd, SHUT_WR);
	return fd;
}

/* A client that never finishes costs a slot, not the daemon's loop: the
 * next complete request is served while it waits; at its deadline it is
 * ended with an error. */
static void test_slow_client_does_not_block(void **state)
{
	struct fx *f = *state;
	struct gg_control_server s;
	struct gg_err err;
	char path[128];
	json_t *msg;
	int slow, fast, fd;

	snprintf(path, sizeof(path), "%s/ctl.sock", f->root);
	assert_int_equal(gg_control_serve(&s, path, &err), 0);
	slow = client(path, "{\"op\":", false);
	assert_int_equal(gg_control_next(&s, &fd, &msg, &err), 0);
	fast = client(path, "{\"op\": \"apply\"}", true);
	assert_int_equal(gg_control_next(&s, &fd, &msg, &err), 1);
	assert_non_null(msg);
	assert_string_equal(json_string_value(json_object_get(msg, "op")), "apply");
	json_decref(msg);
	close(fd);
	assert_int_equal(gg_control_next(&s, &fd, &msg, &err), 0);
	for (int i = 0; i < GG_CONTROL_CONNS; i++)
		if (s.conn[i].fd >= 0)
			s.conn[i].deadline_ms = 0; /* its time is up */
	assert_int_equal(gg_control_next(&s, &fd, &msg, &err), 1);
	assert_null(msg);
	assert_non_null(strstr(err.msg, "no complete request"));
	close(fd);
	close(slow);
	close(fast);
	gg_control_server_close(&s);
}

/* Every slot taken: the oldest connection is answered busy, the new one
 * is served; a message over GG_REQUEST_MAX is refused. */
static void test_busy_and_too_large(void **state)
{
	struct fx *f = *state;
	struct gg_control_server s;
	int c[GG_CONTROL_CONNS + 1], fd;
	char path[128], reply[256] = "";
	struct gg_err err;
	json_t *msg;
	char *big;

	snprintf(path, sizeof(path), "%s/ctl2.sock", f->root);
	assert_int_equal(gg_control_serve(&s, path, &err), 0);
	for (int i = 0; i < GG_CONTROL_CONNS; i++) {
		c[i] = client(path, NULL, false);
		assert_int_equal(gg_control_next(&s, &fd, &msg, &err), 0);
		s.conn[i].deadline_ms += i; /* c[0] is the oldest */
	}
	c[GG_CONTROL_CONNS] = client(path, "{}", true);
	assert_int_equal(gg_control_next(&s, &fd, &msg, &err), 1);
	assert_non_null(msg);
	json_decref(msg);
	close(fd);
	assert_int_equal(s.busy, 1);
	assert_true(read(c[0], reply, sizeof(reply) - 1) > 0);
	assert_non_null(strstr(reply, "\"busy\""));
	for (int i = 0; i <= GG_CONTROL_CONNS; i++)
		close(c[i]);
	gg_control_server_close(&s);

	assert_int_equal(gg_control_serve(&s, path, &err), 0);
	big = malloc(GG_REQUEST_MAX + 2);
	memset(big, ' ', GG_REQUEST_MAX + 1);
	big[GG_REQUEST_MAX + 1] = '\0';
	if (fork() == 0) { /* the write blocks until the server reads */
		close(client(path, big, true));
		_exit(0);
	}
	for (int i = 0; i < 1000 && !gg_control_next(&s, &fd, &msg, &err); i++)
		usleep(1000);
	assert_null(msg);
	assert_non_null(strstr(err.msg, "too large"));
	close(fd);
	wait(NULL);
	free(big);
	gg_control_server_close(&s);
}

/* One name per pin directory, the same every time; the default's fixed. */
static void test_control_path_per_pin_dir(void **state)
{
	char a[108], b[108], again[108], def[108];

	(void)state;
	gg_control_path("/sys/fs/bpf/gg-a", a, sizeof(a));
	gg_control_path("/sys/fs/bpf/gg-b", b, sizeof(b));
	gg_control_path("/sys/fs/bpf/gg-a", again, sizeof(again));
	gg_control_path(GG_PIN_DIR_DEFAULT, def, sizeof(def));
	assert_string_equal(a, again);
	assert_string_not_equal(a, b);
	assert_string_equal(def, GG_CONTROL_SOCK);
	assert_int_equal(strlen(a), strlen("/run/govgate/control-.sock") + 16);
	assert_true(strlen(a) < sizeof(((struct sockaddr_un *)0)->sun_path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_path_per_pin_dir),
		cmocka_unit_test(test_good_signature_accepted),
		cmocka_unit_test(test_pinned_keys_ignore_new_ones),
		cmocka_unit_test(test_tampered_field_refused),
		cmocka_unit_test(test_wrong_key_refused),
		cmocka_unit_test(test_expired_refused),
		cmocka_unit_test(test_replayed_counter_refused),
		cmocka_unit_test(test_counter_ahead_refused),
		cmocka_unit_test(test_unsigned_and_malformed_refused),
		cmocka_unit_test(test_other_machine_refused),
		cmocka_unit_test(test_trusted_keys_listed),
		cmocka_unit_test(test_slow_client_does_not_block),
		cmocka_unit_test(test_busy_and_too_large),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
