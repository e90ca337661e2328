// SPDX-License-Identifier: GPL-2.0
/*
 * Audit log writer (docs/audit.md): one compact JSON object per line, keys
 * in a fixed order, each line carrying the SHA-256 of the previous line's
 * bytes; checkpoints signed with Ed25519; rotation, retention, and
 * continuation after a crash without ever rewriting what is on disk.
 * Also `govgate audit tail` and the `audit` verb dispatch.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>


#include "crypto.h"
#include "audit.h"
#include "config.h"
#include "sign.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define DEF_CKPT_EVERY 256
#define DEF_CKPT_SECS 10
#define DEF_ROTATE_BYTES (64ULL << 20)
#define DEF_ROTATE_SECS 86400
#define DEF_RETENTION_DAYS 7
#define FLUSH_AT (64 << 10) /* buffered bytes that trigger a write */
#define BUF_MAX (16 << 20) /* unwritten bytes before records are refused */
/* A checkpoint that falls due within this long of the last fsync is
 * fsynced (and published) with the next one: under a storm of records one
 * fsync per 256 records was most of a record's cost (docs/performance.md). */
#define CKPT_SYNC_US 50000
#define CKPT_PENDING 64
#define ROTATE_RETRY_US (10 * 1000000LL)

/*
 * The fsync a checkpoint falls due for while records keep coming, done by
 * a thread of its own: in a storm one took 5 ms on average and up to
 * 215 ms (the disk shared), while the ring buffer filled (4 MiB: 73 ms of
 * records at 150,000/s). Its checkpoints ("flying") are published by the
 * writer's thread once it returned 0; every other fsync (tick, explicit
 * checkpoint, rotation, close) waits for it first, then syncs itself.
 */
struct syncer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, stop;
	int fd; /* a dup of the log's fd to fsync; -1: none asked */
	bool busy, done; /* done: finished, result in error, not reaped yet */
	int error; /* the fsync's errno, 0 */
	struct gg_checkpoint_info flying[CKPT_PENDING];
	int n_flying;
};

struct gg_audit {
	char *path; /* active file */
	char *dir; /* its directory */
	char *base; /* its name in dir */
	int fd; /* active file, -1 after a failed reopen */
	int dfd; /* dir: fsync after create and rename */
	EVP_PKEY *key;
	char key_fp[65];
	unsigned ckpt_every, ckpt_secs, rotate_secs, retention_days;
	unsigned long long rotate_bytes;
	unsigned long long seq; /* seq of the last line (0: none yet) */
	char prev[65]; /* hash of the last line */
	unsigned long long ckpt_first; /* first seq not sealed by a checkpoint */
	long long ckpt_mono_us; /* when the last checkpoint was written */
	long long file_start_us; /* first record of the active file (realtime) */
	unsigned long long file_bytes; /* active file size, buffered bytes included */
	long long rotate_after_us; /* monotonic: no rotation attempt before */
	char *buf;
	size_t len, cap;
	int deferred; /* first failure of work done inside append */
	struct gg_err deferred_err;
	void (*on_checkpoint)(const struct gg_checkpoint_info *ck, void *ctx);
	void *on_checkpoint_ctx;
	void (*on_file)(dev_t dev, ino_t ino, bool kept, void *ctx);
	/* Checkpoints written but not yet fsynced: published once they are. */
	struct gg_checkpoint_info pending[CKPT_PENDING];
	int n_pending;
	long long sync_mono_us; /* the last fsync */
	/* The checkpoints' signing context, set up once (ckpt_sign). */
	EVP_MD_CTX *sign_ctx, *sign_tmp;
	bool sign_tried;
	struct syncer sync;
};

static long long now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool take_digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

/* An optional zone, Z or [+-]HH[:]MM, as seconds east of UTC in *off. */
static bool take_zone(const char **p, int *off)
{
	int zh, zm, sign;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		return true;
	}
	if (**p != '+' && **p != '-')
		return true;
	sign = *(*p)++ == '-' ? -1 : 1;
	if (!take_digits(p, 2, &zh))
		return false;
	if (**p == ':')
		(*p)++;
	if (!take_digits(p, 2, &zm) || zh > 23 || zm > 59)
		return false;
	*off = sign * (zh * 3600 + zm * 60);
	return true;
}

int gg_time_parse_us(const char *s, long long *us)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int Y, M, D, h = 0, m = 0, sec = 0, off = 0;
	long long frac = 0;
	const char *p = s;
	struct tm tm = {};
	time_t t;

	if (!take_digits(&p, 4, &Y) || *p++ != '-' || !take_digits(&p, 2, &M) || *p++ != '-' ||
	    !take_digits(&p, 2, &D))
		return -EINVAL;
	if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1])
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!take_digits(&p, 2, &h) || *p++ != ':' || !take_digits(&p, 2, &m))
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (!take_digits(&p, 2, &sec))
				return -EINVAL;
			if (*p == '.' || *p == ',') {
				long long scale = 100000;

				p++;
				if (!isdigit((unsigned char)*p))
					return -EINVAL;
				for (; isdigit((unsigned char)*p); p++, scale /= 10)
					frac += (*p - '0') * scale;
			}
		}
		if (h > 23 || m > 59 || sec > 60 || !take_zone(&p, &off))
			return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (tm.tm_mday != D && sec != 60) /* Feb 29 of a common year */
		return -EINVAL;
	*us = ((long long)t - off) * 1000000 + frac;
	return 0;
}

static bool is_hash(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

json_t *gg_audit_parse_line(const char *p, size_t len)
{
	json_error_t jerr;
	json_t *o, *seq, *prev, *ev;

	o = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return NULL;
	seq = json_object_get(o, "seq");
	prev = json_object_get(o, "prev");
	ev = json_object_get(o, "event");
	if (!json_is_object(o) || !json_is_integer(seq) || json_integer_value(seq) < 1 ||
	    !json_is_string(prev) || !is_hash(json_string_value(prev)) || !json_is_string(ev)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Top-level key order of every line. Keys not listed follow in byte order,
 * then "prev", then (checkpoints) "sig". */
static const char *const key_order[] = {
	"ts", "seq", "event",
	/* denials */
	"gate", "action", "mechanism", "generation", "rule", "rules", "pack", "controls",
	"frameworks", "observed_controls", "observed_frameworks", "attribution_unknown",
	"fail_closed", "policy_unresolved", "pid", "ppid", "uid", "comm", "exe", "cgroup_id",
	"filename", "path", "argv", "dev", "ino", "match",
	"family", "daddr", "mapped_v4", "dport", "proto", "syscall",
	"module", "source",
	/* lifecycle */
	"version", "mechanisms", "scope", "mode", "refs", "packs", "who", "error", "count",
	"total",
	"file", "next", "torn_line", "torn_lines", "torn_bytes", "torn_sha256",
	/* checkpoint */
	"covers", "head", "key",
	NULL,
};

static bool listed_key(const char *k)
{
	for (int i = 0; key_order[i]; i++)
		if (!strcmp(k, key_order[i]))
			return true;
	return !strcmp(k, "prev") || !strcmp(k, "sig");
}

/* Length of the valid UTF-8 sequence at p (jansson's rules: no overlong
 * forms, no surrogates, at most U+10FFFF), 0 if invalid. */
size_t gg_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned cp, c = p[0];
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

bool gg_utf8_valid(const char *s, size_t n)
{
	size_t i, m;

	for (i = 0; i < n && (m = gg_utf8_seq((const unsigned char *)s + i, n - i)); i += m)
		;
	return i == n;
}

/* A new reference to v, or to a copy of it whose strings are valid UTF-8.
 * Kernel strings (comm, exe, paths, argv) are bytes, and jansson refuses
 * to write invalid UTF-8: each bad byte becomes the text \xNN. */
static json_t *clean(json_t *v)
{
	json_t *c, *x, *y;
	const char *k;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING: {
		const unsigned char *s = (const unsigned char *)json_string_value(v);
		size_t n = json_string_length(v), off = 0, m, w = 0;
		char *buf;

		for (i = 0; i < n && (m = gg_utf8_seq(s + i, n - i)); i += m)
			;
		if (i == n)
			return json_incref(v);
		buf = malloc(n * 4 + 1);
		if (!buf)
			return NULL;
		for (off = 0; off < n; off += m) {
			m = gg_utf8_seq(s + off, n - off);
			if (m) {
				memcpy(buf + w, s + off, m);
				w += m;
			} else {
				w += sprintf(buf + w, "\\x%02x", s[off]);
				m = 1;
			}
		}
		c = json_stringn(buf, w);
		free(buf);
		return c;
	}
	case JSON_ARRAY:
		c = json_array();
		json_array_foreach(v, i, x)
			if (!c || json_array_append_new(c, clean(x))) {
				json_decref(c);
				return NULL;
			}
		return c;
	case JSON_OBJECT:
		c = json_object();
		json_object_foreach(v, k, x) {
			y = clean(x);
			if (!c || json_object_set_new(c, k, y)) {
				json_decref(c);
				return NULL;
			}
		}
		return c;
	default:
		return json_incref(v);
	}
}

/* The line for rec (no newline), keys in the fixed order, with the writer's
 * ts (unless rec has one), seq and prev. */
static char *format_line(json_t *rec, const char *ts, unsigned long long seq, const char *prev)
{
	const char **extra = NULL;
	size_t n_extra = 0;
	json_t *o, *v;
	const char *k;
	char *line = NULL;

	o = json_object();
	extra = calloc(json_object_size(rec) + 1, sizeof(*extra));
	if (!o || !extra)
		goto cleanup;
	v = json_object_get(rec, "ts");
	if (json_object_set_new(o, "ts", v ? clean(v) : json_string(ts)) ||
	    json_object_set_new(o, "seq", json_integer((json_int_t)seq)))
		goto cleanup;
	for (int i = 2; key_order[i]; i++) {
		v = json_object_get(rec, key_order[i]);
		if (v && json_object_set_new(o, key_order[i], clean(v)))
			goto cleanup;
	}
	json_object_foreach(rec, k, v)
		if (!listed_key(k))
			extra[n_extra++] = k;
	qsort(extra, n_extra, sizeof(*extra), gg_strp_cmp);
	for (size_t i = 0; i < n_extra; i++)
		if (json_object_set_new(o, extra[i], clean(json_object_get(rec, extra[i]))))
			goto cleanup;
	if (json_object_set_new(o, "prev", json_string(prev)))
		goto cleanup;
	line = json_dumps(o, JSON_COMPACT);
cleanup:
	free(extra);
	json_decref(o);
	return line;
}

static void defer(struct gg_audit *a, int code, const struct gg_err *e)
{
	if (a->deferred)
		return;
	a->deferred = code;
	snprintf(a->deferred_err.msg, sizeof(a->deferred_err.msg), "%s", e->msg);
}

static int buf_add(struct gg_audit *a, const char *p, size_t n)
{
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 8192;
		char *b;

		while (cap < a->len + n)
			cap *= 2;
		b = realloc(a->buf, cap);
		if (!b)
			return -ENOMEM;
		a->buf = b;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
	a->file_bytes += n;
	return 0;
}

/* gg_sha256_hex without its per-call algorithm fetch and snprintf per
 * byte (a sixth of a record's cost): one context, kept. */
static void chain_hash(const void *p, size_t n, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	static __thread EVP_MD_CTX *ctx;
	static __thread EVP_MD *md;
	unsigned char h[32];
	unsigned int hn = 0;

	if (!md)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (md && !ctx)
		ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, p, n) ||
	    !EVP_DigestFinal_ex(ctx, h, &hn) || hn != sizeof(h)) {
		gg_sha256_hex(p, n, hex);
		return;
	}
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[h[i] >> 4];
		hex[2 * i + 1] = digits[h[i] & 15];
	}
	hex[64] = '\0';
}

/* Buffers line + '\n' and advances the chain to it. */
static int emit(struct gg_audit *a, const char *line, unsigned long long seq, struct gg_err *err)
{
	size_t n = strlen(line);

	if (buf_add(a, line, n) || buf_add(a, "\n", 1))
		return gg_errf(err, -ENOMEM, "%s: out of memory", a->path);
	chain_hash(line, n, a->prev);
	a->seq = seq;
	return 0;
}

static int append_new(struct gg_audit *a, json_t *rec, struct gg_err *err)
{
	char ts[40];
	char *line;
	int ret;

	gg_time_now(ts, sizeof(ts));
	line = format_line(rec, ts, a->seq + 1, a->prev);
	if (!line)
		return gg_errf(err, -ENOMEM, "%s: cannot format record", a->path);
	ret = emit(a, line, a->seq + 1, err);
	free(line);
	return ret;
}

/*
 * Opens the active file. Not through a symlink (records appended to a file
 * it names, the configuration's or the state's, which the daemon may
 * write), not a FIFO (its open or its writes would stop the daemon's
 * loop), and not a second name of another file (a hard link: nlink 1).
 * fresh (a rotation): the name was just renamed away, so whatever holds it
 * now was put there by someone else (a task watching the directory) and
 * is removed; the file is created with O_EXCL, a new inode of its own.
 */
static int reopen_active(struct gg_audit *a, bool fresh, struct gg_err *err)
{
	int flags = O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
	struct stat st;

	for (int tries = 0; tries < 3; tries++) {
		a->fd = openat(a->dfd, a->base, flags | (fresh ? O_EXCL : 0), 0640);
		if (a->fd >= 0 || !fresh || errno != EEXIST)
			break;
		if (unlinkat(a->dfd, a->base, 0) && errno != ENOENT)
			break;
	}
	if (a->fd < 0)
		return gg_errf(err, -errno, "%s: cannot open: %s", a->path, strerror(errno));
	if (fstat(a->fd, &st) || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(a->fd);
		a->fd = -1;
		return gg_errf(err, -EINVAL, "%s: not a regular file of one name", a->path);
	}
	if (st.st_size == 0)
		fsync(a->dfd); /* the new name must survive a crash too */
	if (a->on_file)
		a->on_file(st.st_dev, st.st_ino, true, a->on_checkpoint_ctx);
	return 0;
}

static void *syncer_main(void *arg)
{
	struct syncer *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		int fd, error;

		while (s->fd < 0 && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->fd < 0)
			break;
		fd = s->fd;
		s->fd = -1;
		pthread_mutex_unlock(&s->mu);
		error = fsync(fd) ? errno : 0;
		close(fd);
		pthread_mutex_lock(&s->mu);
		s->error = error;
		s->busy = false;
		__atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void publish(struct gg_audit *a, struct gg_checkpoint_info *ck, int *n)
{
	for (int i = 0; i < *n; i++)
		if (a->on_checkpoint)
			a->on_checkpoint(&ck[i], a->on_checkpoint_ctx);
	*n = 0;
}

/* The syncer's result, once it has one (wait: waits for it). Its
 * checkpoints are published when the fsync succeeded; else they stay and
 * the next fsync (a synchronous one: see sync_async) publishes them. */
static void sync_reap(struct gg_audit *a, bool wait)
{
	struct syncer *s = &a->sync;
	struct gg_err e;
	int error;

	if (!s->started || (!wait && !__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)))
		return;
	pthread_mutex_lock(&s->mu);
	while (wait && s->busy)
		pthread_cond_wait(&s->cv, &s->mu);
	if (!s->done) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	s->done = false;
	error = s->error;
	pthread_mutex_unlock(&s->mu);
	if (!error) {
		publish(a, s->flying, &s->n_flying);
		return;
	}
	gg_errf(&e, -error, "%s: fsync: %s", a->path, strerror(error));
	defer(a, -error, &e);
}

/* Hands the fsync of everything written to the syncer; false when it
 * cannot take it now (busy, checkpoints of a failed fsync unpublished, no
 * thread). The caller made sure nothing is buffered. */
static bool sync_async(struct gg_audit *a)
{
	struct syncer *s = &a->sync;

	sync_reap(a, false);
	if (!s->started && !s->stop) {
		s->fd = -1;
		if (pthread_mutex_init(&s->mu, NULL) || pthread_cond_init(&s->cv, NULL) ||
		    pthread_create(&s->thread, NULL, syncer_main, s)) {
			s->stop = true; /* never again: synchronous fsyncs only */
			return false;
		}
		s->started = true;
	}
	if (!s->started || s->n_flying)
		return false;
	pthread_mutex_lock(&s->mu);
	if (s->busy || s->done) {
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	s->fd = fcntl(a->fd, F_DUPFD_CLOEXEC, 0);
	if (s->fd >= 0) {
		memcpy(s->flying, a->pending, a->n_pending * sizeof(a->pending[0]));
		s->n_flying = a->n_pending;
		a->n_pending = 0;
		a->sync_mono_us = now_us(CLOCK_MONOTONIC);
		s->busy = true;
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return s->busy;
}

static void sync_stop(struct gg_audit *a)
{
	struct syncer *s = &a->sync;

	if (!s->started)
		return;
	sync_reap(a, true);
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	s->started = false;
}

static int write_out(struct gg_audit *a, bool sync, struct gg_err *err)
{
	size_t off = 0;
	int ret = 0;

	if (sync)
		sync_reap(a, true); /* its checkpoints come before ours */

	if (a->fd < 0) {
		ret = reopen_active(a, false, err);
		if (ret)
			return ret;
	}
	while (off < a->len) {
		ssize_t n = write(a->fd, a->buf + off, a->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = gg_errf(err, -errno, "%s: write: %s (%zu bytes kept for retry)",
				      a->path, strerror(errno), a->len - off);
			break;
		}
		off += n;
	}
	/* Keep exactly the unwritten bytes: a retry completes a partial line. */
	if (off) {
		memmove(a->buf, a->buf + off, a->len - off);
		a->len -= off;
	}
	if (!ret && sync && fsync(a->fd))
		ret = gg_errf(err, -errno, "%s: fsync: %s", a->path, strerror(errno));
	if (!ret && sync && !a->len) {
		/* Published only once on disk: an anchor must never name a
		 * checkpoint the file could lose in a crash. */
		publish(a, a->sync.flying, &a->sync.n_flying); /* a failed fsync's */
		publish(a, a->pending, &a->n_pending);
		a->sync_mono_us = now_us(CLOCK_MONOTONIC);
	}
	return ret;
}

static int b64(const unsigned char *in, size_t n, char *out)
{
	return EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* gg_sign_buf, the key's signing context set up once and copied for each
 * checkpoint: setting one up (a provider fetch, a walk of OpenSSL's name
 * table) was a fifth of a signature. gg_sign_buf if that fails. */
static int ckpt_sign(struct gg_audit *a, const char *line, size_t n, unsigned char sig[64],
		     struct gg_err *err)
{
	size_t len = 64;

	if (!a->sign_tried) {
		a->sign_tried = true;
		a->sign_ctx = EVP_MD_CTX_new();
		a->sign_tmp = EVP_MD_CTX_new();
		if (a->sign_ctx && EVP_DigestSignInit(a->sign_ctx, NULL, NULL, NULL, a->key) != 1) {
			EVP_MD_CTX_free(a->sign_ctx);
			a->sign_ctx = NULL;
		}
	}
	if (a->sign_ctx && a->sign_tmp && EVP_MD_CTX_copy_ex(a->sign_tmp, a->sign_ctx) == 1 &&
	    EVP_DigestSign(a->sign_tmp, sig, &len, (const unsigned char *)line, n) == 1 && len == 64)
		return 0;
	return gg_sign_buf(a->key, line, n, sig, err);
}

/* A checkpoint seals everything up to the previous line: the signature is
 * over the line's bytes without its trailing ,"sig":"..." member (which the
 * writer places last so verifiers can cut it off textually). */
static int write_checkpoint(struct gg_audit *a, bool sync_now, struct gg_err *err)
{
	struct gg_checkpoint_info ck = {};
	unsigned char sig[64];
	char ts[40], sig64[96];
	char *line = NULL, *full = NULL;
	int n, ret;

	gg_time_now(ts, sizeof(ts));
	/* format_line's bytes for {event, covers, head, key} (every value
	 * ASCII, nothing to escape), without building two jansson trees:
	 * under a storm a checkpoint is due every few milliseconds. */
	n = asprintf(&line,
		     "{\"ts\":\"%s\",\"seq\":%llu,\"event\":\"checkpoint\",\"covers\":[%llu,%llu],"
		     "\"head\":\"%s\",\"key\":\"%s\",\"prev\":\"%s\"}",
		     ts, a->seq + 1, a->ckpt_first, a->seq, a->prev, a->key_fp, a->prev);
	if (n < 0)
		return gg_errf(err, -ENOMEM, "%s: cannot format checkpoint", a->path);
	ret = ckpt_sign(a, line, n, sig, err);
	if (ret)
		goto cleanup;
	b64(sig, sizeof(sig), sig64);
	if (asprintf(&full, "%.*s,\"sig\":\"%s\"}", (int)(n - 1), line, sig64) < 0) {
		full = NULL;
		ret = gg_errf(err, -ENOMEM, "%s: out of memory", a->path);
		goto cleanup;
	}
	ck.seq = a->seq + 1;
	ck.first = a->ckpt_first;
	ck.last = a->seq;
	snprintf(ck.head, sizeof(ck.head), "%s", a->prev);
	snprintf(ck.key, sizeof(ck.key), "%s", a->key_fp);
	ret = emit(a, full, a->seq + 1, err);
	if (ret)
		goto cleanup;
	snprintf(ck.hash, sizeof(ck.hash), "%s", a->prev); /* emit hashed the line */
	a->ckpt_first = a->seq + 1;
	a->ckpt_mono_us = now_us(CLOCK_MONOTONIC);
	a->pending[a->n_pending++] = ck; /* write_out publishes it */
	if (sync_now || a->n_pending == CKPT_PENDING) {
		ret = write_out(a, true, err);
	} else {
		ret = write_out(a, false, err);
		/* due, with records still coming: the syncer's, or ours */
		if (!ret && a->ckpt_mono_us - a->sync_mono_us >= CKPT_SYNC_US &&
		    (a->len || !sync_async(a)))
			ret = write_out(a, true, err);
	}
cleanup:
	free(line);
	free(full);
	return ret;
}

static unsigned long long unsealed(const struct gg_audit *a)
{
	return a->seq >= a->ckpt_first ? a->seq - a->ckpt_first + 1 : 0;
}

/* "<base>.<YYYYmmddTHHMMSSZ>.<seq>": returns the seq, or 0 if name is not
 * a rotated file of base. */
static unsigned long long rotated_seq(const char *base, const char *name)
{
	size_t bl = strlen(base);
	const char *p = name + bl + 1;
	unsigned long long seq = 0;

	if (strncmp(name, base, bl) || name[bl] != '.' || strlen(p) < 18)
		return 0;
	for (int i = 0; i < 15; i++)
		if (i == 8 ? p[i] != 'T' : !isdigit((unsigned char)p[i]))
			return 0;
	if (p[15] != 'Z' || p[16] != '.' || !isdigit((unsigned char)p[17]))
		return 0;
	for (p += 17; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return 0;
		seq = seq * 10 + (*p - '0');
	}
	return seq;
}

struct rotated {
	char *name;
	unsigned long long seq;
};

static int cmp_rotated(const void *a, const void *b)
{
	const struct rotated *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Rotated siblings of base in dirfd, ascending seq. */
static int list_rotated(int dirfd, const char *dir, const char *base, struct rotated **out,
			size_t *n, struct gg_err *err)
{
	struct rotated *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	*out = NULL;
	*n = 0;
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return gg_errf(err, -errno, "%s: cannot list: %s", dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		unsigned long long seq = rotated_seq(base, de->d_name);

		if (!seq)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
		}
		v[cnt].name = strdup(de->d_name);
		if (!v[cnt].name)
			goto oom;
		v[cnt++].seq = seq;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_rotated);
	*out = v;
	*n = cnt;
	return 0;
oom:
	closedir(d);
	for (size_t i = 0; i < cnt; i++)
		free(v[i].name);
	free(v);
	return gg_errf(err, -ENOMEM, "%s: out of memory", dir);
}

static void rotated_free(struct rotated *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Deletes rotated files older than retention_days, by mtime. The newest
 * one always stays: with an empty active file it is where the chain
 * continues from. */
static int apply_retention(struct gg_audit *a, struct gg_err *err)
{
	long long limit = now_us(CLOCK_REALTIME) / 1000000 - (long long)a->retention_days * 86400;
	struct rotated *v;
	struct stat st;
	size_t n;
	int ret;

	ret = list_rotated(a->dfd, a->dir, a->base, &v, &n, err);
	if (ret)
		return ret;
	for (size_t i = 0; i + 1 < n; i++) {
		if (fstatat(a->dfd, v[i].name, &st, AT_SYMLINK_NOFOLLOW) || st.st_mtime >= limit)
			continue;
		if (unlinkat(a->dfd, v[i].name, 0) && errno != ENOENT && !ret)
			ret = gg_errf(err, -errno, "%s/%s: cannot delete: %s", a->dir, v[i].name,
				      strerror(errno));
	}
	rotated_free(v, n);
	return ret;
}

static int rotate(struct gg_audit *a, struct gg_err *err)
{
	char stamp[24], name[512];
	struct stat old;
	time_t t = time(NULL);
	struct tm tm;
	json_t *rec;
	int ret;

	/* The file's last line will be the checkpoint after log_rotated. */
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(name, sizeof(name), "%s.%s.%020llu", a->base, stamp, a->seq + 2);
	rec = json_pack("{s:s, s:s, s:s}", "event", "log_rotated", "file", name, "next", a->base);
	if (!rec)
		return gg_errf(err, -ENOMEM, "%s: out of memory", a->path);
	ret = append_new(a, rec, err);
	json_decref(rec);
	if (ret)
		return ret;
	ret = write_checkpoint(a, true, err);
	if (ret)
		return ret;
	if (fstat(a->fd, &old))
		return gg_errf(err, -errno, "%s: stat: %s", a->path, strerror(errno));
	if (renameat(a->dfd, a->base, a->dfd, name))
		return gg_errf(err, -errno, "%s: cannot rotate to %s: %s", a->path, name,
			       strerror(errno));
	/* a rotated file is sealed by its last checkpoint: only the active
	 * one is kept as it is (on_file) */
	if (a->on_file)
		a->on_file(old.st_dev, old.st_ino, false, a->on_checkpoint_ctx);
	close(a->fd);
	a->fd = -1;
	a->file_bytes = 0;
	a->file_start_us = now_us(CLOCK_REALTIME);
	ret = reopen_active(a, true, err);
	if (ret)
		return ret;
	return apply_retention(a, err);
}

static int maybe_rotate(struct gg_audit *a, bool by_age, struct gg_err *err)
{
	bool due;
	int ret;

	/* the clock only after a failed rotation: this runs for every record */
	if (!a->file_bytes ||
	    (a->rotate_after_us && now_us(CLOCK_MONOTONIC) < a->rotate_after_us))
		return 0;
	due = a->file_bytes >= a->rotate_bytes;
	if (by_age && a->rotate_secs)
		due |= now_us(CLOCK_REALTIME) - a->file_start_us >=
		       (long long)a->rotate_secs * 1000000;
	if (!due)
		return 0;
	ret = rotate(a, err);
	if (ret) /* do not retry per record */
		a->rotate_after_us = now_us(CLOCK_MONOTONIC) + ROTATE_RETRY_US;
	return ret;
}

/* What the backward scan of a file found. */
struct scan {
	bool have_last; /* an intact record exists */
	unsigned long long last_seq;
	char last_hash[65];
	unsigned long long ckpt_first; /* first seq after the last checkpoint */
	long long first_ts_us; /* ts of the first record (0: unknown) */
	bool unterminated; /* the file does not end with '\n' */
	size_t torn_off, torn_len; /* unparseable lines at the end */
	unsigned long long torn_line, torn_lines;
};

static bool prev_line(const char *data, size_t *start, size_t *end)
{
	const char *nl;

	if (*start == 0)
		return false;
	*end = *start - 1;
	nl = memrchr(data, '\n', *end);
	*start = nl ? (size_t)(nl - data) + 1 : 0;
	return true;
}

/* The first record's time (for rotation by age); 0 if none. */
static long long first_ts_us(const char *data, size_t size)
{
	long long us = 0;
	size_t start, end;
	const char *nl;
	json_t *rec;

	for (start = 0; start < size; start = end + 1) {
		nl = memchr(data + start, '\n', size - start);
		end = nl ? (size_t)(nl - data) : size;
		rec = gg_audit_parse_line(data + start, end - start);
		if (rec) {
			const char *ts = gg_json_str(rec, "ts", NULL);

			if (!ts || gg_time_parse_us(ts, &us))
				us = 0;
			json_decref(rec);
			break;
		}
	}
	return us;
}

static void scan_file(const char *data, size_t size, struct scan *s)
{
	size_t start, end;
	json_t *rec = NULL;
	const char *nl;
	bool more;

	memset(s, 0, sizeof(*s));
	if (!size)
		return;
	s->unterminated = data[size - 1] != '\n';
	end = s->unterminated ? size : size - 1;
	nl = memrchr(data, '\n', end);
	start = nl ? (size_t)(nl - data) + 1 : 0;
	/* The torn run: trailing lines that are not records. */
	for (more = true; more; more = prev_line(data, &start, &end)) {
		rec = gg_audit_parse_line(data + start, end - start);
		if (rec)
			break;
		s->torn_off = start;
		s->torn_lines++;
	}
	if (s->torn_lines) {
		s->torn_len = (s->unterminated ? size : size - 1) - s->torn_off;
		s->torn_line = 1;
		for (size_t i = 0; i < s->torn_off; i++)
			s->torn_line += data[i] == '\n';
	}
	if (!rec)
		return;
	s->have_last = true;
	s->last_seq = gg_json_int(rec, "seq");
	gg_sha256_hex(data + start, end - start, s->last_hash);
	/* Back to the last checkpoint: covers of the next one start after it. */
	for (;;) {
		if (rec) {
			bool ckpt = !strcmp(gg_json_str(rec, "event", NULL),
					    "checkpoint");
			unsigned long long seq = gg_json_int(rec, "seq");

			json_decref(rec);
			s->ckpt_first = ckpt ? seq + 1 : seq;
			if (ckpt)
				break;
		}
		if (!prev_line(data, &start, &end))
			break;
		rec = gg_audit_parse_line(data + start, end - start);
	}
	s->first_ts_us = first_ts_us(data, size);
}

static int scan_path(int dirfd, const char *name, const char *shown, int fd, struct scan *s,
		     struct gg_err *err)
{
	struct stat st;
	void *data;
	int ret = 0, own = -1;

	if (fd < 0) {
		own = fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			return gg_errf(err, -errno, "%s: cannot open: %s", shown, strerror(errno));
	}
	if (fstat(fd, &st)) {
		ret = gg_errf(err, -errno, "%s: stat: %s", shown, strerror(errno));
		goto cleanup;
	}
	memset(s, 0, sizeof(*s));
	if (st.st_size) {
		data = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data == MAP_FAILED) {
			ret = gg_errf(err, -errno, "%s: mmap: %s", shown, strerror(errno));
			goto cleanup;
		}
		scan_file(data, st.st_size, s);
		munmap(data, st.st_size);
	}
cleanup:
	if (own >= 0)
		close(own);
	return ret;
}

static int split_path(const char *path, char **dir, char **base)
{
	const char *slash = strrchr(path, '/');

	*dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	*base = strdup(slash ? slash + 1 : path);
	return *dir && *base ? 0 : -ENOMEM;
}

static int export_pub(EVP_PKEY *key, const char *path, struct gg_err *err)
{
	FILE *f;
	int fd, ok;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return gg_errf(err, -errno, "%s: cannot create: %s", path, strerror(errno));
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return gg_errf(err, -errno, "%s: %s", path, strerror(errno));
	}
	ok = PEM_write_PUBKEY(f, key);
	if (fclose(f) || !ok) {
		unlink(path);
		return gg_errf(err, -EIO, "%s: cannot write public key", path);
	}
	return 0;
}

static int load_key(struct gg_audit *a, const struct gg_audit_opts *o, struct gg_err *err)
{
	char *pub = NULL, *kdir = NULL, *kbase = NULL;
	int ret;

	if (o->key) {
		/* held elsewhere: no file is read or written */
		if (!EVP_PKEY_up_ref(o->key))
			return gg_errf(err, -ENOMEM, "audit key: out of memory");
		a->key = o->key;
		return gg_key_fingerprint(a->key, a->key_fp, err);
	}
	if (o->pub_path)
		pub = strdup(o->pub_path);
	else if (asprintf(&pub, "%s.pub", o->key_path) < 0)
		pub = NULL;
	if (!pub || split_path(o->key_path, &kdir, &kbase)) {
		ret = gg_errf(err, -ENOMEM, "audit key: out of memory");
		goto cleanup;
	}
	if (access(o->key_path, F_OK) && errno == ENOENT) {
		ret = gg_mkdir_p(kdir, 0700, NULL);
		if (ret) {
			gg_errf(err, ret, "%s: cannot create: %s", kdir, strerror(-ret));
			goto cleanup;
		}
		ret = gg_key_generate(o->key_path, pub, err);
		if (ret)
			goto cleanup;
	}
	ret = gg_key_load_private(o->key_path, &a->key, err);
	if (ret)
		goto cleanup;
	ret = gg_key_fingerprint(a->key, a->key_fp, err);
	if (ret)
		goto cleanup;
	if (access(pub, F_OK) && errno == ENOENT)
		ret = export_pub(a->key, pub, err);
cleanup:
	free(pub);
	free(kdir);
	free(kbase);
	return ret;
}

/* Continues the chain after s's last intact record, if it has one. */
static void chain_from(struct gg_audit *a, const struct scan *s)
{
	if (!s->have_last)
		return;
	a->seq = s->last_seq;
	strcpy(a->prev, s->last_hash);
	a->ckpt_first = s->ckpt_first;
}

/* The active file has no intact record: continue from the newest rotated
 * file's last one, if any. */
static int chain_from_rotated(struct gg_audit *a, struct gg_err *err)
{
	struct rotated *v = NULL;
	char shown[1024];
	struct scan ps;
	size_t n = 0;
	int ret;

	ret = list_rotated(a->dfd, a->dir, a->base, &v, &n, err);
	if (ret || !n)
		return ret;
	snprintf(shown, sizeof(shown), "%s/%s", a->dir, v[n - 1].name);
	ret = scan_path(a->dfd, v[n - 1].name, shown, -1, &ps, err);
	if (!ret)
		chain_from(a, &ps);
	rotated_free(v, n);
	return ret;
}

/* The sha256 of the torn bytes s found, read back from the active file. */
static int torn_hash(struct gg_audit *a, const struct scan *s, char hash[65], struct gg_err *err)
{
	char *torn = malloc(s->torn_len + 1);
	size_t got = 0;

	if (!torn)
		return gg_errf(err, -ENOMEM, "%s: out of memory", a->path);
	while (got < s->torn_len) {
		ssize_t r = pread(a->fd, torn + got, s->torn_len - got, s->torn_off + got);

		if (r <= 0) {
			free(torn);
			return gg_errf(err, r ? -errno : -EIO, "%s: read: %s", a->path,
				       r ? strerror(errno) : "short read");
		}
		got += r;
	}
	gg_sha256_hex(torn, s->torn_len, hash);
	free(torn);
	return 0;
}

/* Torn lines stay in the file (a crash, not tampering): a chain_resumed
 * record names them and their hash (docs/audit.md). */
static int note_torn(struct gg_audit *a, const struct scan *s, struct gg_err *err)
{
	char hash[65];
	json_t *rec;
	int ret;

	ret = torn_hash(a, s, hash, err);
	if (ret)
		return ret;
	rec = json_pack("{s:s, s:I, s:I, s:I, s:s}", "event", "chain_resumed", "torn_line",
			(json_int_t)s->torn_line, "torn_lines", (json_int_t)s->torn_lines,
			"torn_bytes", (json_int_t)s->torn_len, "torn_sha256", hash);
	if (!rec)
		return gg_errf(err, -ENOMEM, "%s: out of memory", a->path);
	ret = append_new(a, rec, err);
	json_decref(rec);
	return ret;
}

/* Where the chain continues: the active file's last intact record, else
 * the newest rotated file's, else a brand-new chain. */
static int resume(struct gg_audit *a, struct gg_err *err)
{
	struct scan s;
	int ret;

	ret = scan_path(a->dfd, a->base, a->path, a->fd, &s, err);
	if (ret)
		return ret;
	a->seq = 0;
	strcpy(a->prev, ZERO_HASH);
	a->ckpt_first = 1;
	if (s.have_last)
		chain_from(a, &s);
	else if ((ret = chain_from_rotated(a, err)))
		return ret;
	a->ckpt_first = a->ckpt_first ? a->ckpt_first : a->seq + 1;
	a->file_start_us = s.first_ts_us ? s.first_ts_us : now_us(CLOCK_REALTIME);
	/* Terminate an unterminated last line (appending, not rewriting). */
	if (s.unterminated && (ret = buf_add(a, "\n", 1)))
		return gg_errf(err, ret, "%s: out of memory", a->path);
	if (s.torn_lines) {
		ret = note_torn(a, &s, err);
		if (ret)
			return ret;
	}
	if (a->len)
		return write_out(a, true, err);
	return 0;
}

int gg_audit_open(const struct gg_audit_opts *o, struct gg_audit **out, struct gg_err *err)
{
	struct gg_audit *a;
	struct stat st;
	int ret;

	*out = NULL;
	if (!o->path || !*o->path || ((!o->key_path || !*o->key_path) && !o->key))
		return gg_errf(err, -EINVAL, "audit: a log path and a key path are required");
	a = calloc(1, sizeof(*a));
	if (!a)
		return gg_errf(err, -ENOMEM, "audit: out of memory");
	a->fd = a->dfd = -1;
	a->on_checkpoint = o->on_checkpoint;
	a->on_checkpoint_ctx = o->on_checkpoint_ctx;
	a->on_file = o->on_file;
	a->ckpt_every = o->checkpoint_every ? o->checkpoint_every : DEF_CKPT_EVERY;
	a->ckpt_secs = o->checkpoint_secs ? o->checkpoint_secs : DEF_CKPT_SECS;
	a->rotate_bytes = o->rotate_bytes ? o->rotate_bytes : DEF_ROTATE_BYTES;
	a->rotate_secs = o->rotate_secs ? o->rotate_secs : DEF_ROTATE_SECS;
	a->retention_days = o->retention_days ? o->retention_days : DEF_RETENTION_DAYS;
	a->path = strdup(o->path);
	if (!a->path || split_path(o->path, &a->dir, &a->base)) {
		ret = gg_errf(err, -ENOMEM, "audit: out of memory");
		goto fail;
	}
	ret = gg_mkdir_p(a->dir, 0750, NULL);
	if (ret) {
		gg_errf(err, ret, "%s: cannot create: %s", a->dir, strerror(-ret));
		goto fail;
	}
	ret = load_key(a, o, err);
	if (ret)
		goto fail;
	a->dfd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->dfd < 0) {
		ret = gg_errf(err, -errno, "%s: cannot open: %s", a->dir, strerror(errno));
		goto fail;
	}
	ret = reopen_active(a, false, err);
	if (ret)
		goto fail;
	if (fstat(a->fd, &st)) {
		ret = gg_errf(err, -errno, "%s: stat: %s", a->path, strerror(errno));
		goto fail;
	}
	a->file_bytes = st.st_size;
	ret = resume(a, err);
	if (ret)
		goto fail;
	a->ckpt_mono_us = now_us(CLOCK_MONOTONIC);
	ret = apply_retention(a, err);
	if (ret)
		goto fail;
	*out = a;
	return 0;
fail:
	a->len = 0; /* nothing half-done may reach the file from close */
	a->ckpt_first = a->seq + 1;
	gg_audit_close(a);
	return ret;
}

/* After a record: its seq, then a checkpoint or a write when due. */
static void appended(struct gg_audit *a, unsigned long long *seq)
{
	struct gg_err e;
	int ret = 0;

	/* Before a checkpoint may follow it (a rotation came before). */
	if (seq)
		*seq = a->seq;
	sync_reap(a, false); /* the syncer's checkpoints, published */
	if (unsealed(a) >= a->ckpt_every)
		ret = write_checkpoint(a, false, &e);
	else if (a->len >= FLUSH_AT)
		ret = write_out(a, false, &e);
	if (ret)
		defer(a, ret, &e);
}

static const char *const writer_events[] = { "checkpoint", "log_rotated", "chain_resumed", NULL };

int gg_audit_append(struct gg_audit *a, json_t *rec, unsigned long long *seq,
		    struct gg_err *err)
{
	struct gg_err e;
	json_t *ev, *ts;
	int ret;

	ev = json_object_get(rec, "event");
	ts = json_object_get(rec, "ts");
	if (!json_is_object(rec) || !json_is_string(ev) || !*json_string_value(ev))
		return gg_errf(err, -EINVAL, "audit: a record needs an \"event\" string");
	for (int i = 0; writer_events[i]; i++)
		if (!strcmp(json_string_value(ev), writer_events[i]))
			return gg_errf(err, -EINVAL, "audit: \"%s\" records are written by the writer",
				       writer_events[i]);
	if (json_object_get(rec, "seq") || json_object_get(rec, "prev") ||
	    json_object_get(rec, "sig"))
		return gg_errf(err, -EINVAL, "audit: seq, prev and sig are set by the writer");
	if (ts && !json_is_string(ts))
		return gg_errf(err, -EINVAL, "audit: \"ts\" must be a string");
	if (a->len >= BUF_MAX)
		return gg_errf(err, -ENOBUFS, "%s: %zu bytes unwritten, record refused%s%s", a->path,
			       a->len, a->deferred ? ": " : "",
			       a->deferred ? a->deferred_err.msg : "");
	ret = maybe_rotate(a, false, &e);
	if (ret)
		defer(a, ret, &e);
	ret = append_new(a, rec, err);
	if (ret)
		return ret;
	appended(a, seq);
	return 0;
}

/* Builds {"ts":TS,"seq":N<members>,"prev":H} in place in the buffer. */
static int emit_rendered(struct gg_audit *a, const char *ts, const char *members, size_t len)
{
	size_t start = a->len;
	unsigned long long bytes = a->file_bytes;
	char num[24], *d = num + sizeof(num);
	unsigned long long v = a->seq + 1;

	do
		*--d = '0' + v % 10;
	while (v /= 10);

	if (buf_add(a, "{\"ts\":\"", 7) || buf_add(a, ts, strlen(ts)) ||
	    buf_add(a, "\",\"seq\":", 8) || buf_add(a, d, num + sizeof(num) - d) ||
	    buf_add(a, members, len) || buf_add(a, ",\"prev\":\"", 9) || buf_add(a, a->prev, 64) ||
	    buf_add(a, "\"}\n", 3)) {
		a->len = start;
		a->file_bytes = bytes;
		return -ENOMEM;
	}
	chain_hash(a->buf + start, a->len - start - 1, a->prev); /* the line, without '\n' */
	a->seq++;
	return 0;
}

int gg_audit_append_rendered(struct gg_audit *a, const char *ts, const char *members, size_t len,
			     unsigned long long *seq, struct gg_err *err)
{
	struct gg_err e;
	int ret;

	if (a->len >= BUF_MAX)
		return gg_errf(err, -ENOBUFS, "%s: %zu bytes unwritten, record refused%s%s", a->path,
			       a->len, a->deferred ? ": " : "",
			       a->deferred ? a->deferred_err.msg : "");
	ret = maybe_rotate(a, false, &e);
	if (ret)
		defer(a, ret, &e);
	if (emit_rendered(a, ts, members, len))
		return gg_errf(err, -ENOMEM, "%s: out of memory", a->path);
	appended(a, seq);
	return 0;
}

static int take_deferred(struct gg_audit *a, int ret, struct gg_err *err)
{
	if (!ret && a->deferred) {
		ret = a->deferred;
		if (err)
			*err = a->deferred_err;
	}
	a->deferred = 0;
	return ret;
}

int gg_audit_flush(struct gg_audit *a, bool sync, struct gg_err *err)
{
	sync_reap(a, false);
	return take_deferred(a, write_out(a, sync, err), err);
}

int gg_audit_checkpoint(struct gg_audit *a, struct gg_err *err)
{
	int ret;

	ret = unsealed(a) ? write_checkpoint(a, true, err) : write_out(a, true, err);
	return take_deferred(a, ret, err);
}

int gg_audit_tick(struct gg_audit *a, struct gg_err *err)
{
	int ret;

	sync_reap(a, false);
	if (unsealed(a) &&
	    now_us(CLOCK_MONOTONIC) - a->ckpt_mono_us >= (long long)a->ckpt_secs * 1000000)
		ret = write_checkpoint(a, true, err);
	else
		ret = write_out(a, a->n_pending > 0 || a->sync.n_flying > 0, err); /* held back */
	if (!ret)
		ret = maybe_rotate(a, true, err);
	return take_deferred(a, ret, err);
}

unsigned long long gg_audit_last_seq(const struct gg_audit *a)
{
	return a->seq;
}

void gg_audit_close(struct gg_audit *a)
{
	if (!a)
		return;
	if (a->fd >= 0 || a->len) {
		if (a->key && unsealed(a))
			write_checkpoint(a, true, NULL);
		else
			write_out(a, true, NULL);
	}
	sync_stop(a);
	if (a->fd >= 0)
		close(a->fd);
	if (a->dfd >= 0)
		close(a->dfd);
	EVP_MD_CTX_free(a->sign_ctx);
	EVP_MD_CTX_free(a->sign_tmp);
	EVP_PKEY_free(a->key);
	free(a->buf);
	free(a->path);
	free(a->dir);
	free(a->base);
	free(a);
}

int gg_audit_log_files(const char *active, char ***files, size_t *n, struct gg_err *err)
{
	char *dir = NULL, *base = NULL, **v = NULL;
	struct rotated *r = NULL;
	size_t nr = 0, cnt = 0;
	int dfd = -1, ret;

	*files = NULL;
	*n = 0;
	if (split_path(active, &dir, &base)) {
		ret = gg_errf(err, -ENOMEM, "out of memory");
		goto cleanup;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		ret = gg_errf(err, -errno, "%s: cannot open: %s", dir, strerror(errno));
		goto cleanup;
	}
	ret = list_rotated(dfd, dir, base, &r, &nr, err);
	if (ret)
		goto cleanup;
	v = calloc(nr + 1, sizeof(*v));
	if (!v) {
		ret = gg_errf(err, -ENOMEM, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < nr; i++) {
		if (asprintf(&v[cnt], "%s/%s", dir, r[i].name) < 0) {
			ret = gg_errf(err, -ENOMEM, "out of memory");
			goto cleanup;
		}
		cnt++;
	}
	if (faccessat(dfd, base, F_OK, 0) == 0) {
		v[cnt] = strdup(active);
		if (!v[cnt]) {
			ret = gg_errf(err, -ENOMEM, "out of memory");
			goto cleanup;
		}
		cnt++;
	}
	if (!cnt)
		ret = gg_errf(err, -ENOENT, "%s: no such log (nor rotated files)", active);
cleanup:
	if (ret) {
		gg_audit_files_free(v, cnt);
	} else {
		*files = v;
		*n = cnt;
	}
	rotated_free(r, nr);
	if (dfd >= 0)
		close(dfd);
	free(dir);
	free(base);
	return ret;
}

void gg_audit_files_free(char **files, size_t n)
{
	for (size_t i = 0; files && i < n; i++)
		free(files[i]);
	free(files);
}

/*
 * govgate audit tail
 */

/* Terminal-safe: control bytes from process names and paths become '?'. */
static void put_safe(FILE *f, const char *s, int width)
{
	int n = 0;

	for (; s && *s; s++, n++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
	for (; n < width; n++)
		fputc(' ', f);
}

static bool is_denial_event(const char *ev)
{
	return !strcmp(ev, "command_denied") || !strcmp(ev, "egress_blocked") ||
	       !strcmp(ev, "module_blocked");
}

/* tail_print, a denial: action, gate, program, target, controls. */
static void tail_denial(FILE *f, const json_t *rec, const char *ev)
{
	const char *comm = gg_json_str(rec, "comm", ""), *exe = gg_json_str(rec, "exe", "");
	const char *daddr = gg_json_str(rec, "daddr", ""), *path = gg_json_str(rec, "path", "");
	char prog[320], target[320], ctl[1024];

	if (*exe && *comm)
		snprintf(prog, sizeof(prog), "%s (%s)", comm, exe);
	else
		snprintf(prog, sizeof(prog), "%s", *comm ? comm : exe);
	if (!strcmp(ev, "egress_blocked"))
		snprintf(target, sizeof(target), strchr(daddr, ':') ? "[%s]:%lld" : "%s:%lld",
			 daddr, gg_json_int(rec, "dport"));
	else if (!strcmp(ev, "module_blocked"))
		snprintf(target, sizeof(target), "%s", gg_json_str(rec, "module", ""));
	else
		snprintf(target, sizeof(target), "%s",
			 *path ? path : gg_json_str(rec, "filename", ""));
	gg_json_join(json_object_get(rec, "controls"), GG_JOIN_SKIP_NOREF, ctl, sizeof(ctl));
	put_safe(f, gg_json_str(rec, "action", ""), 7);
	fputc(' ', f);
	put_safe(f, gg_json_str(rec, "gate", ""), 14);
	fputc(' ', f);
	put_safe(f, prog, 32);
	fputc(' ', f);
	put_safe(f, target, 32);
	fputc(' ', f);
	put_safe(f, ctl, 0);
}

/* tail_print, any other record: a one-line summary of what it says. */
static void tail_summary(const json_t *rec, const char *ev, char *sum, size_t size)
{
	const json_t *c = json_object_get(rec, "covers");
	char refs[1024];

	gg_json_join(json_object_get(rec, "refs"), GG_JOIN_SKIP_NOREF, refs, sizeof(refs));
	if (!strcmp(ev, "checkpoint"))
		snprintf(sum, size, "seals seq %lld..%lld",
			 (long long)json_integer_value(json_array_get(c, 0)),
			 (long long)json_integer_value(json_array_get(c, 1)));
	else if (!strcmp(ev, "policy_applied"))
		snprintf(sum, size, "generation %lld mode %s by %s: %s",
			 gg_json_int(rec, "generation"), gg_json_str(rec, "mode", ""),
			 gg_json_str(rec, "who", ""), refs);
	else if (!strcmp(ev, "policy_apply_failed"))
		snprintf(sum, size, "%s: %s", refs, gg_json_str(rec, "error", ""));
	else if (!strcmp(ev, "events_lost"))
		snprintf(sum, size, "%s: %lld events lost", gg_json_str(rec, "gate", ""),
			 gg_json_int(rec, "count"));
	else if (!strcmp(ev, "log_rotated"))
		snprintf(sum, size, "this file becomes %s; continues in %s",
			 gg_json_str(rec, "file", ""), gg_json_str(rec, "next", ""));
	else if (!strcmp(ev, "chain_resumed"))
		snprintf(sum, size, "after torn line %lld (%lld bytes)",
			 gg_json_int(rec, "torn_line"), gg_json_int(rec, "torn_bytes"));
	else if (!strcmp(ev, "agent_started"))
		snprintf(sum, size, "version %s mode %s", gg_json_str(rec, "version", ""),
			 gg_json_str(rec, "mode", ""));
	else
		sum[0] = '\0';
}

static void tail_print(FILE *f, const char *line, size_t len, bool raw)
{
	char sum[2200];
	const char *ev;
	json_t *rec;

	if (raw) {
		fwrite(line, 1, len, f);
		fputc('\n', f);
		return;
	}
	rec = gg_audit_parse_line(line, len);
	if (!rec) {
		fprintf(f, "%-27s %-7s not a record (%zu bytes; a torn write?)\n", "?", "?", len);
		return;
	}
	ev = gg_json_str(rec, "event", "");
	put_safe(f, gg_json_str(rec, "ts", ""), 27);
	fputc(' ', f);
	if (is_denial_event(ev)) {
		tail_denial(f, rec, ev);
	} else {
		tail_summary(rec, ev, sum, sizeof(sum));
		put_safe(f, "-", 7);
		fputc(' ', f);
		put_safe(f, ev, 14);
		fputc(' ', f);
		put_safe(f, sum, 0);
	}
	fputc('\n', f);
	json_decref(rec);
}

/* Prints complete lines of buf[0..len); returns the bytes consumed. */
static size_t tail_lines(const char *buf, size_t len, bool raw)
{
	size_t off = 0;
	const char *nl;

	while ((nl = memchr(buf + off, '\n', len - off))) {
		tail_print(stdout, buf + off, nl - (buf + off), raw);
		off = nl - buf + 1;
	}
	fflush(stdout);
	return off;
}

/* The file the chain continues in after the one open as cur (which is no
 * longer path): the next rotated sibling by seq, else the active file. With
 * several rotations between two polls every file comes in turn. */
static char *tail_successor(const char *path, const struct stat *cur)
{
	char *dir = NULL, *base = NULL, *next = NULL;
	struct rotated *v = NULL;
	struct stat st;
	size_t n = 0, i;
	int dfd = -1;

	if (split_path(path, &dir, &base))
		goto cleanup;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || list_rotated(dfd, dir, base, &v, &n, NULL))
		goto cleanup;
	for (i = 0; i < n; i++)
		if (!fstatat(dfd, v[i].name, &st, 0) && st.st_dev == cur->st_dev &&
		    st.st_ino == cur->st_ino)
			break;
	if (i + 1 < n && asprintf(&next, "%s/%s", dir, v[i + 1].name) < 0)
		next = NULL;
cleanup:
	rotated_free(v, n);
	if (dfd >= 0)
		close(dfd);
	free(dir);
	free(base);
	return next ? next : strdup(path);
}

/* Follows path: polls, and after a rotation drains the old file, then each
 * file rotated since, in order, before the active one. Runs until killed. */
/* What tail -f has read past the last complete line. */
struct tail_buf {
	char *p;
	size_t len, cap;
};

/* Appends chunk and prints the complete lines; -ENOMEM if it cannot grow. */
static int tail_feed(struct tail_buf *b, const char *chunk, size_t n, bool raw)
{
	size_t used;

	if (b->len + n > b->cap) {
		char *c = realloc(b->p, b->cap = (b->len + n) * 2);

		if (!c)
			return -ENOMEM;
		b->p = c;
	}
	memcpy(b->p + b->len, chunk, n);
	b->len += n;
	used = tail_lines(b->p, b->len, raw);
	memmove(b->p, b->p + used, b->len - used);
	b->len -= used;
	return 0;
}

/* fd (rotated away, drained) is closed: the file that followed it, or
 * path again; -1 (after a pause) if it cannot be opened yet. */
static int tail_reopen(const char *path, int fd)
{
	struct stat st;
	char *next;

	if (fd >= 0 && !fstat(fd, &st))
		next = tail_successor(path, &st);
	else
		next = strdup(path);
	if (fd >= 0)
		close(fd);
	fd = next ? open(next, O_RDONLY | O_CLOEXEC) : -1;
	free(next);
	if (fd < 0)
		usleep(200000);
	return fd;
}

static int tail_follow(const char *path, int fd, off_t off, bool raw)
{
	struct tail_buf b = {};
	char chunk[65536];
	struct stat st, pst;
	bool moved = false;

	for (;;) {
		ssize_t n = fd >= 0 ? pread(fd, chunk, sizeof(chunk), off) : 0;

		if (n > 0) {
			if (tail_feed(&b, chunk, n, raw)) {
				free(b.p);
				return -ENOMEM;
			}
			off += n;
			continue;
		}
		if (moved) {
			/* Drained: go on with the file that followed it. */
			fd = tail_reopen(path, fd);
			off = 0;
			b.len = 0;
			moved = false;
			continue;
		}
		if (stat(path, &pst)) {
			usleep(200000);
			continue; /* between rename and create */
		}
		if (fd >= 0 && !fstat(fd, &st) && st.st_ino == pst.st_ino && st.st_dev == pst.st_dev) {
			if (pst.st_size < off) { /* truncated: start over */
				off = b.len = 0;
				continue;
			}
			usleep(200000);
			continue;
		}
		/* Not the active file (any more): read what was appended before
		 * the rename, then move on without waiting. */
		moved = true;
	}
}

int gg_audit_tail(const char *path, long lines, bool raw, bool follow, struct gg_err *err)
{
	char *data = NULL;
	size_t size = 0, start;
	struct stat st;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		ret = gg_errf(err, -errno, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	size = st.st_size;
	if (size) {
		data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data == MAP_FAILED) {
			data = NULL;
			ret = gg_errf(err, -errno, "%s: %s", path, strerror(errno));
			goto cleanup;
		}
	}
	/* Complete lines only: an unterminated last one is still being written
	 * (or torn; verify says which). */
	if (data) {
		char *last_nl = memrchr(data, '\n', size);

		size = last_nl ? (size_t)(last_nl - data) + 1 : 0;
	}
	start = size;
	for (long i = 0; i < lines && start > 0; i++) {
		char *nl = start > 1 ? memrchr(data, '\n', start - 1) : NULL;

		start = nl ? (size_t)(nl - data) + 1 : 0;
	}
	tail_lines(data ? data + start : "", size - start, raw);
	if (follow) {
		munmap(data, st.st_size);
		data = NULL;
		ret = tail_follow(path, fd, size, raw);
		if (ret)
			gg_errf(err, ret, "%s: following: %s", path, strerror(-ret));
		fd = -1;
	}
cleanup:
	if (data)
		munmap(data, st.st_size);
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * Signing with the log's own key, for what the daemon keeps beside the log
 * (audit-state.json): a file it did not write cannot pass for its own
 * unless the key is readable (locked mode refuses that, bpf/guard.bpf.c).
 */
int gg_audit_sign_blob(struct gg_audit *a, const void *buf, size_t len, char hex[129],
		       char fp[65], struct gg_err *err)
{
	unsigned char sig[64];
	int ret = gg_sign_buf(a->key, buf, len, sig, err);

	if (ret)
		return ret;
	for (int i = 0; i < 64; i++)
		sprintf(hex + 2 * i, "%02x", sig[i]);
	snprintf(fp, 65, "%s", a->key_fp);
	return 0;
}

bool gg_audit_verify_blob(const struct gg_audit *a, const void *buf, size_t len,
			  const char *hex, const char *fp)
{
	unsigned char sig[64];

	if (!hex || strlen(hex) != 128 || !fp || strcmp(fp, a->key_fp))
		return false;
	for (int i = 0; i < 64; i++) {
		unsigned int v;

		if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return false;
		sig[i] = v;
	}
	return gg_verify_buf(a->key, buf, len, sig) == 0;
}

int gg_ed25519_from_seed(const unsigned char seed[32], EVP_PKEY **key, struct gg_err *err)
{
	*key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	return *key ? 0 : gg_errf(err, -EINVAL, "audit key: not an Ed25519 private key");
}

int gg_ed25519_generate(EVP_PKEY **key, unsigned char seed[32], struct gg_err *err)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	size_t len = 32;
	int ok;

	*key = NULL;
	ok = ctx && EVP_PKEY_keygen_init(ctx) > 0 && EVP_PKEY_keygen(ctx, key) > 0 &&
	     EVP_PKEY_get_raw_private_key(*key, seed, &len) > 0 && len == 32;
	EVP_PKEY_CTX_free(ctx);
	if (ok)
		return 0;
	EVP_PKEY_free(*key);
	*key = NULL;
	return gg_errf(err, -EIO, "audit key: Ed25519 key generation failed");
}

int gg_ed25519_public_hex(EVP_PKEY *key, char hex[65])
{
	unsigned char raw[32];
	size_t len = sizeof(raw);

	if (EVP_PKEY_get_raw_public_key(key, raw, &len) <= 0 || len != 32)
		return -EINVAL;
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", raw[i]);
	return 0;
}

EVP_PKEY *gg_ed25519_from_public_hex(const char *hex)
{
	unsigned char raw[32];

	if (!hex || strlen(hex) != 64)
		return NULL;
	for (int i = 0; i < 32; i++) {
		unsigned int v;

		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]) || sscanf(hex + 2 * i, "%2x", &v) != 1)
			return NULL;
		raw[i] = v;
	}
	return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, sizeof(raw));
}

int gg_audit_key_message(const char *fp, const char *pub_hex, char *buf, size_t len)
{
	int n = snprintf(buf, len, "govgate-audit-key-v1\n%s\n%s\n", fp, pub_hex);

	return n > 0 && (size_t)n < len ? n : -ENOSPC;
}

json_t *gg_audit_key_record(EVP_PKEY *key, EVP_PKEY *prev, unsigned seq, struct gg_err *err)
{
	char fp[65], pfp[65], hex[65], msg[256], sig[129];
	unsigned char raw[64];
	json_t *rec;

	if (gg_key_fingerprint(key, fp, err) || gg_ed25519_public_hex(key, hex))
		return NULL;
	rec = json_pack("{s:s, s:s, s:s, s:i}", "event", "audit_key", "key", fp, "public_key",
			hex, "key_seq", seq);
	if (!rec || !prev)
		return rec;
	if (gg_key_fingerprint(prev, pfp, err) ||
	    gg_audit_key_message(fp, hex, msg, sizeof(msg)) < 0 ||
	    gg_sign_buf(prev, msg, strlen(msg), raw, err)) {
		json_decref(rec);
		return NULL;
	}
	for (int i = 0; i < 64; i++)
		sprintf(sig + 2 * i, "%02x", raw[i]);
	json_object_set_new(rec, "previous", json_string(pfp));
	json_object_set_new(rec, "previous_sig", json_string(sig));
	return rec;
}
