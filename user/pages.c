// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's fault-around maps up to 16 pages around each page of code a
 * process touches, so a start that loads BPF objects, parses BTF and opens
 * libraries leaves most of the binary's 2.5 MB of text and libcrypto's
 * mapped and counted in VmRSS for good (docs/performance.md, "Apply,
 * seventh pass"). Those are clean pages of private file mappings, never
 * written: dropping them loses nothing, and a later use faults them in from
 * the page cache. Written mappings (data, relocated tables) are kept.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "pages.h"

/* Code (r-xp), or a file's first read-only mapping (r--p at offset 0: its
 * ELF headers, dynamic symbols and relocations, read once at load). */
static int start_only(const char *perms, unsigned long long offset)
{
	if (!strcmp(perms, "r-xp"))
		return 1;
	return !strcmp(perms, "r--p") && offset == 0;
}

void gg_release_start_text(void)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	char perms[8], line[4352], path[4096];
	unsigned long long from, to, offset;
	unsigned long ino;

	if (!maps)
		return;
	while (fgets(line, sizeof(line), maps)) {
		path[0] = '\0';
		if (sscanf(line, "%llx-%llx %7s %llx %*x:%*x %lu %4095[^\n]", &from, &to, perms,
			   &offset, &ino, path) < 6 || !ino || path[0] != '/')
			continue;
		if (start_only(perms, offset))
			madvise((void *)(unsigned long)from, to - from, MADV_DONTNEED);
	}
	fclose(maps);
}
