/* SPDX-License-Identifier: GPL-2.0 */
/* SHA-256 of short buffers without OpenSSL's start-up (user/sha256.c). */
#ifndef GG_SHA256_H
#define GG_SHA256_H

#include <stddef.h>
#include <linux/types.h>

void gg_sha256_small(const void *buf, size_t len, unsigned char md[32]);

#endif
