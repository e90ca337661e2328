// SPDX-License-Identifier: GPL-2.0
/* The ring buffer's consumer, data mapped once (ringbuf.h). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "ringbuf.h"

struct gg_ringbuf {
	int fd;
	size_t page, size; /* size: the data's, a power of two */
	unsigned long *consumer; /* the consumer page, ours to write */
	unsigned long *producer; /* the producer page, the data after it */
	char *data;
	char *bounce; /* a wrapping record, joined */
	size_t bounce_len;
	gg_ringbuf_fn fn;
	void *ctx;
};

struct gg_ringbuf *gg_ringbuf_new(int map_fd, gg_ringbuf_fn fn, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct gg_ringbuf *rb;
	void *p;

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return NULL;
	if (info.type != BPF_MAP_TYPE_RINGBUF) {
		errno = EINVAL;
		return NULL;
	}
	rb = calloc(1, sizeof(*rb));
	if (!rb)
		return NULL;
	rb->fd = map_fd;
	rb->page = sysconf(_SC_PAGESIZE);
	rb->size = info.max_entries;
	rb->fn = fn;
	rb->ctx = ctx;
	p = mmap(NULL, rb->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	rb->consumer = p;
	/* The producer page and the data once: the kernel lets any length
	 * of its pages be mapped read-only (libbpf asks for twice the data). */
	p = mmap(NULL, rb->page + rb->size, PROT_READ, MAP_SHARED, map_fd, rb->page);
	if (p == MAP_FAILED)
		goto fail;
	rb->producer = p;
	rb->data = (char *)p + rb->page;
	return rb;
fail:
	gg_ringbuf_free(rb);
	return NULL;
}

int gg_ringbuf_fd(const struct gg_ringbuf *rb)
{
	return rb->fd;
}

/* The record of len bytes at data offset off, in one piece. */
static void *record(struct gg_ringbuf *rb, size_t off, size_t len)
{
	size_t first = rb->size - off;

	if (len <= first)
		return rb->data + off;
	if (len > rb->bounce_len) {
		char *b = realloc(rb->bounce, len);

		if (!b)
			return NULL;
		rb->bounce = b;
		rb->bounce_len = len;
	}
	memcpy(rb->bounce, rb->data + off, first);
	memcpy(rb->bounce + first, rb->data, len - first);
	return rb->bounce;
}

/*
 * As libbpf's ringbuf_process_ring, but the consumer position is published
 * every GG_RINGBUF_RELEASE_EVERY records and when a pass ends, not after
 * each record: the producer reads that cache line under its lock at every
 * reserve, so a store per record moved it between the CPUs once per
 * record. The space is freed a few records later; the last store comes
 * before this returns (and so before the next poll: no wakeup is lost).
 */
int gg_ringbuf_consume(struct gg_ringbuf *rb)
{
	unsigned long cons, prod, mask = rb->size - 1;
	unsigned held = 0;
	long long cnt = 0;
	bool more;

	cons = __atomic_load_n(rb->consumer, __ATOMIC_ACQUIRE);
	do {
		more = false;
		prod = __atomic_load_n(rb->producer, __ATOMIC_ACQUIRE);
		while (cons < prod) {
			/* the header never wraps: records are 8-aligned */
			size_t at = cons & mask;
			__u32 len = __atomic_load_n((__u32 *)(rb->data + at), __ATOMIC_ACQUIRE);
			__u32 n = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
			void *sample;
			int err;

			if (len & BPF_RINGBUF_BUSY_BIT)
				goto done; /* not committed yet */
			more = true;
			cons += (n + BPF_RINGBUF_HDR_SZ + 7) / 8 * 8;
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				sample = record(rb, (at + BPF_RINGBUF_HDR_SZ) & mask, n);
				err = sample ? rb->fn(rb->ctx, sample, n) : -ENOMEM;
				if (err < 0) {
					__atomic_store_n(rb->consumer, cons, __ATOMIC_RELEASE);
					return err;
				}
				cnt++;
			}
			if (++held == GG_RINGBUF_RELEASE_EVERY) {
				__atomic_store_n(rb->consumer, cons, __ATOMIC_RELEASE);
				held = 0;
			}
		}
	} while (more);
done:
	__atomic_store_n(rb->consumer, cons, __ATOMIC_RELEASE);
	return cnt > INT_MAX ? INT_MAX : (int)cnt;
}

unsigned gg_ringbuf_pace(struct gg_ringbuf_pace *p, unsigned long long now_us, int n)
{
	bool storm;

	if (n <= 0) {
		p->last_us = 0;
		return 0;
	}
	storm = p->last_us && now_us - p->last_us < 2 * GG_RINGBUF_HOLD_US;
	p->last_us = now_us;
	return storm ? GG_RINGBUF_HOLD_US : 0;
}

void gg_ringbuf_free(struct gg_ringbuf *rb)
{
	if (!rb)
		return;
	if (rb->consumer)
		munmap(rb->consumer, rb->page);
	if (rb->producer)
		munmap(rb->producer, rb->page + rb->size);
	free(rb->bounce);
	free(rb);
}
