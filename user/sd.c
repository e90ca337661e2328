// SPDX-License-Identifier: GPL-2.0
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>

#include "sd.h"

static struct {
	__typeof__(sd_notify) *notify;
	__typeof__(sd_journal_sendv) *journal_sendv;
	__typeof__(sd_id128_get_boot) *get_boot;
	__typeof__(sd_id128_to_uuid_string) *to_uuid;
	const char *error;
} sd;

static pthread_once_t sd_once = PTHREAD_ONCE_INIT;

static void sd_open(void)
{
	void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		sd.error = dlerror();
		return;
	}
	/* sd_journal_sendv is a macro for the _with_location form; the plain
	 * symbol is exported too (and records no code location) */
	sd.notify = (__typeof__(sd.notify))dlsym(h, "sd_notify");
	sd.journal_sendv = (__typeof__(sd.journal_sendv))dlsym(h, "sd_journal_sendv");
	sd.get_boot = (__typeof__(sd.get_boot))dlsym(h, "sd_id128_get_boot");
	sd.to_uuid = (__typeof__(sd.to_uuid))dlsym(h, "sd_id128_to_uuid_string");
	if (!sd.notify || !sd.journal_sendv || !sd.get_boot || !sd.to_uuid) {
		sd.error = "libsystemd.so.0 lacks a function govgate uses";
		sd.notify = NULL;
		sd.journal_sendv = NULL;
		sd.get_boot = NULL;
		sd.to_uuid = NULL;
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

void gg_sd_boot_id(char *buf, size_t size)
{
	char uuid[SD_ID128_UUID_STRING_MAX];
	sd_id128_t id;

	sd_ready();
	if (!sd.get_boot || sd.get_boot(&id) < 0)
		snprintf(buf, size, "%s", "");
	else
		snprintf(buf, size, "%s", sd.to_uuid(id, uuid));
}
