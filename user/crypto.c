// SPDX-License-Identifier: GPL-2.0
/* libcrypto, opened when first needed: why, in crypto.h. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "crypto.h"

const struct gg_libcrypto *gg_libcrypto_table;

static struct gg_libcrypto libcrypto;
static const char *libcrypto_why;
static char libcrypto_msg[320];
static pthread_once_t libcrypto_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t libcrypto_exit_lock = PTHREAD_MUTEX_INITIALIZER;

static void libcrypto_load(void)
{
	void *h = dlopen(GG_LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		/* a copy: the next dl* call in this thread frees dlerror's */
		snprintf(libcrypto_msg, sizeof(libcrypto_msg), "%s", dlerror() ?: "dlopen failed");
		libcrypto_why = libcrypto_msg;
		return;
	}
#define GG_LIBCRYPTO_SYM(name)                                                                     \
	libcrypto.name = (__typeof__(libcrypto.name))dlsym(h, #name);                              \
	if (!libcrypto.name) {                                                                     \
		snprintf(libcrypto_msg, sizeof(libcrypto_msg), GG_LIBCRYPTO_SONAME " lacks " #name);  \
		libcrypto_why = libcrypto_msg;                                                     \
		return;                                                                            \
	}
	GG_LIBCRYPTO_FUNCS(GG_LIBCRYPTO_SYM)
#undef GG_LIBCRYPTO_SYM
	__atomic_store_n(&gg_libcrypto_table, &libcrypto, __ATOMIC_RELEASE);
}

const struct gg_libcrypto *gg_libcrypto_open(const char **why)
{
	pthread_once(&libcrypto_once, libcrypto_load);
	if (why)
		*why = libcrypto_why;
	return __atomic_load_n(&gg_libcrypto_table, __ATOMIC_ACQUIRE);
}

const struct gg_libcrypto *gg_libcrypto_slow(void)
{
	const struct gg_libcrypto *t;
	const char *why;

	t = gg_libcrypto_open(&why);
	if (!t) {
		/* one thread says it (a command hashes files in several) and
		 * ends the process; the others wait for that */
		pthread_mutex_lock(&libcrypto_exit_lock);
		fprintf(stderr, "govgate: cannot open %s: %s\n", GG_LIBCRYPTO_SONAME, why);
		fflush(stderr);
		_exit(127);
	}
	return t;
}
