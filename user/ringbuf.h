/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GOVGATE_RINGBUF_H
#define GOVGATE_RINGBUF_H

#include <stddef.h>

/*
 * A BPF ring buffer's consumer, as libbpf's ring_buffer__consume, with the
 * data pages mapped once. libbpf maps them twice, back to back, so that a
 * record wrapping around the end reads as one piece: the kernel maps every
 * page at mmap time, so the default 4 MiB ring buffer was 8 MiB of the
 * daemon's VmRSS. Here a wrapping record (rare: the end of the ring) is
 * copied into a buffer of its own.
 */
struct gg_ringbuf;

/* Records consumed between two stores of the consumer position. */
#define GG_RINGBUF_RELEASE_EVERY 32

typedef int (*gg_ringbuf_fn)(void *ctx, void *data, size_t size);

/* NULL with errno set on failure. */
struct gg_ringbuf *gg_ringbuf_new(int map_fd, gg_ringbuf_fn fn, void *ctx);
/* Pollable (POLLIN): records are waiting. */
int gg_ringbuf_fd(const struct gg_ringbuf *rb);
/* Hands every committed record to fn, in order; the count, or fn's
 * negative return (the records before it are consumed). */
int gg_ringbuf_consume(struct gg_ringbuf *rb);
void gg_ringbuf_free(struct gg_ringbuf *rb);

/*
 * Pacing the drains. Woken for every few records, the daemon ran its whole
 * loop (poll, the control socket, the drop counters, a write) per few
 * records and the producer woke it each time: twice the CPU a record
 * costs in large batches. While drains that found records follow each
 * other within 2 * GG_RINGBUF_HOLD_US, the ring is left unpolled for
 * GG_RINGBUF_HOLD_US after each (150 records at 150,000/s; the default
 * ring holds 10,900) and drained then; a drain that finds nothing ends it.
 */
#define GG_RINGBUF_HOLD_US 1000

struct gg_ringbuf_pace {
	unsigned long long last_us; /* the last drain that found records; 0: none */
};

/* After a drain of n records at now_us (monotonic): how long to leave the
 * ring unpolled, in microseconds (0: poll it, woken by the next record). */
unsigned gg_ringbuf_pace(struct gg_ringbuf_pace *p, unsigned long long now_us, int n);

#endif
