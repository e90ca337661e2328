// SPDX-License-Identifier: GPL-2.0
/* Packs already parsed, by their document's digest (doc_cache.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "doc_cache.h"
#include "pack.h"

/* A handful of documents: the nine packs and the floor, twice at most. */
#define GG_DOC_CACHE_SLOTS 32

struct cached {
	struct gg_pack *pack; /* NULL: a free slot */
	size_t bytes; /* the heap the copy takes */
	unsigned long used; /* the apply that last used it */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached slots[GG_DOC_CACHE_SLOTS];
static size_t kept_bytes;
static unsigned long apply_seq = 1;
static bool enabled;

void gg_doc_cache_enable(bool on)
{
	enabled = on;
	if (!on)
		gg_doc_cache_clear();
}

bool gg_doc_cache_enabled(void)
{
	return enabled;
}

static struct cached *find(const char *sha256)
{
	for (size_t i = 0; i < GG_DOC_CACHE_SLOTS; i++)
		if (slots[i].pack && !strcmp(slots[i].pack->sha256, sha256))
			return &slots[i];
	return NULL;
}

static void drop(struct cached *c)
{
	kept_bytes -= c->bytes;
	gg_pack_free(c->pack);
	memset(c, 0, sizeof(*c));
}

struct gg_pack *gg_doc_cache_get(const char *sha256, const char *origin)
{
	struct gg_pack *copy = NULL;
	struct cached *c;
	char *o;

	if (!enabled || !sha256)
		return NULL;
	pthread_mutex_lock(&lock);
	c = find(sha256);
	if (c && !gg_pack_dup(c->pack, &copy, NULL))
		c->used = apply_seq;
	pthread_mutex_unlock(&lock);
	if (!copy)
		return NULL;
	o = strdup(origin ? origin : "<input>");
	if (!o) {
		gg_pack_free(copy);
		return NULL;
	}
	free(copy->origin);
	copy->origin = o;
	return copy;
}

bool gg_doc_cache_decl(const char *sha256, char **name, char **version)
{
	struct cached *c;

	*name = *version = NULL;
	if (!enabled)
		return false;
	pthread_mutex_lock(&lock);
	c = find(sha256);
	if (c) {
		c->used = apply_seq;
		*name = strdup(c->pack->name);
		*version = strdup(c->pack->version);
	}
	pthread_mutex_unlock(&lock);
	if (*name && *version)
		return true;
	free(*name);
	free(*version);
	*name = *version = NULL;
	return false;
}

/* A slot for bytes more: a free one, after dropping the least recently
 * used until they fit. NULL: none. */
static struct cached *make_room(size_t bytes)
{
	struct cached *freeslot = NULL;

	for (;;) {
		struct cached *oldest = NULL;

		freeslot = NULL;
		for (size_t i = 0; i < GG_DOC_CACHE_SLOTS; i++) {
			if (!slots[i].pack)
				freeslot = freeslot ? freeslot : &slots[i];
			else if (!oldest || slots[i].used < oldest->used)
				oldest = &slots[i];
		}
		if (freeslot && kept_bytes + bytes <= GG_DOC_CACHE_BYTES)
			return freeslot;
		if (!oldest)
			return NULL;
		drop(oldest);
	}
}

void gg_doc_cache_put(const struct gg_pack *pack, size_t len)
{
	struct gg_pack *copy = NULL;
	size_t bytes = 0;
	struct cached *c;

	if (!enabled || len > GG_DOC_CACHE_DOC_MAX || !pack->sha256[0])
		return;
	if (gg_pack_dup(pack, &copy, &bytes))
		return;
	if (bytes > GG_DOC_CACHE_BYTES) {
		gg_pack_free(copy);
		return;
	}
	/* what a hit gets is set by its own load */
	free(copy->ref);
	copy->ref = NULL;
	pthread_mutex_lock(&lock);
	c = find(pack->sha256);
	if (c) {
		c->used = apply_seq;
	} else if ((c = make_room(bytes))) {
		*c = (struct cached){ .pack = copy, .bytes = bytes, .used = apply_seq };
		kept_bytes += bytes;
		copy = NULL;
	}
	pthread_mutex_unlock(&lock);
	gg_pack_free(copy);
}

void gg_doc_cache_applied(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < GG_DOC_CACHE_SLOTS; i++)
		if (slots[i].pack && slots[i].used + 1 < apply_seq)
			drop(&slots[i]);
	apply_seq++;
	pthread_mutex_unlock(&lock);
}

void gg_doc_cache_usage(size_t *packs, size_t *bytes)
{
	pthread_mutex_lock(&lock);
	*packs = 0;
	for (size_t i = 0; i < GG_DOC_CACHE_SLOTS; i++)
		*packs += !!slots[i].pack;
	*bytes = kept_bytes;
	pthread_mutex_unlock(&lock);
}

void gg_doc_cache_clear(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < GG_DOC_CACHE_SLOTS; i++)
		if (slots[i].pack)
			drop(&slots[i]);
	pthread_mutex_unlock(&lock);
}
