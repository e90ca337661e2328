/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packs already parsed, by the SHA-256 of their document's bytes (the
 * daemon's applies; docs/performance.md, "Apply, fourth pass"). An apply
 * parses every document of its set again, and most of them are the bytes
 * the apply before parsed: the floor always, the unchanged packs of an
 * update, all of them for a rollback. The same bytes parse to the same
 * pack (the parse reads nothing else), so a hit is a copy of the pack
 * parsed then, with this load's origin; signatures are still checked on
 * the bytes by the caller, and the digest is always computed anew.
 *
 * Bounded: documents over GG_DOC_CACHE_DOC_MAX bytes (a large CIDR list)
 * are never kept; the copies kept take at most GG_DOC_CACHE_BYTES of heap
 * (counted by gg_pack_dup: a pack of short strings takes several times its
 * text; the floor and the nine packs about 250 kB), the least recently
 * used dropped first; and after each apply what neither it nor the apply
 * before used is dropped.
 * Off unless enabled (the daemon enables it; a one-shot command would
 * only pay for the copies). Thread-safe (the prefetch workers).
 */
#ifndef GG_DOC_CACHE_H
#define GG_DOC_CACHE_H

#include <stdbool.h>
#include <stddef.h>

struct gg_pack;

#define GG_DOC_CACHE_DOC_MAX (256 * 1024)
#define GG_DOC_CACHE_BYTES (1024 * 1024)

void gg_doc_cache_enable(bool on);
bool gg_doc_cache_enabled(void);

/* A copy of the pack parsed from bytes with this digest, its origin set to
 * origin; NULL if none is kept (or no memory: the caller parses). */
struct gg_pack *gg_doc_cache_get(const char *sha256, const char *origin);

/* The declared name and version of the pack with this digest (copies the
 * caller frees), if one is kept: the lookup of name@version reads them
 * without parsing the candidate. */
bool gg_doc_cache_decl(const char *sha256, char **name, char **version);

/* Keeps a copy of pack, parsed from len bytes (its sha256 set). */
void gg_doc_cache_put(const struct gg_pack *pack, size_t len);

/* An apply ended: drops what neither it nor the one before used. */
void gg_doc_cache_applied(void);

/* How many packs are kept, and the heap their copies take. */
void gg_doc_cache_usage(size_t *packs, size_t *bytes);

void gg_doc_cache_clear(void);

#endif
