// SPDX-License-Identifier: GPL-2.0
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "sd.h"

static struct {
	__typeof__(sd_notify) *notify;
	__typeof__(sd_journal_sendv) *journal_sendv;
	const char *error;
} sd;

static char sd_error_msg[256];

static pthread_once_t sd_once = PTHREAD_ONCE_INIT;

static void sd_open(void)
{
	void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		/* a copy: the next dl* call in this thread frees dlerror's */
		snprintf(sd_error_msg, sizeof(sd_error_msg), "%s", dlerror() ?: "dlopen failed");
		sd.error = sd_error_msg;
		return;
	}
	/* sd_journal_sendv is a macro for the _with_location form; the plain
	 * symbol is exported too (and records no code location) */
	sd.notify = (__typeof__(sd.notify))dlsym(h, "sd_notify");
	sd.journal_sendv = (__typeof__(sd.journal_sendv))dlsym(h, "sd_journal_sendv");
	if (!sd.notify || !sd.journal_sendv) {
		sd.error = "libsystemd.so.0 lacks sd_notify or sd_journal_sendv";
		sd.notify = NULL;
		sd.journal_sendv = NULL;
	}
}

static void sd_ready(void)
{
	pthread_once(&sd_once, sd_open);
}

void gg_sd_load(void)
{
	sd_ready();
}

const char *gg_sd_error(void)
{
	return sd.error;
}

int gg_sd_notify(const char *state)
{
	sd_ready();
	return sd.notify ? sd.notify(0, state) : 0;
}

int gg_sd_notifyf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (ret < 0)
		return -ENOMEM;
	ret = gg_sd_notify(s);
	free(s);
	return ret;
}

int gg_sd_journal_sendv(const struct iovec *iov, int n)
{
	sd_ready();
	return sd.journal_sendv ? sd.journal_sendv(iov, n) : -ENOSYS;
}
