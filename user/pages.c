// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's fault-around maps up to 16 pages around each page of code a
 * process touches, so a start that loads BPF objects, parses BTF and opens
 * libraries leaves most of the binary's 2.5 MB of text and libcrypto's
 * mapped and counted in VmRSS for good (docs/performance.md, "Apply,
 * seventh pass"). Those are clean pages of private file mappings: dropping
 * them loses nothing, and a later use faults them in from the page cache.
 * A mapping with a page of its own (written: data, relocated tables) is
 * kept whole, whatever its permissions say now.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "pages.h"

struct mapping {
	unsigned long long from, to, offset;
	char perms[8];
	int file; /* a file's, not anonymous or [heap] */
	unsigned long long copied_kb; /* pages of its own (smaps Anonymous, Swap) */
	int counted; /* smaps gave its Anonymous count */
};

/* Code (r-xp), or a file's first read-only mapping (r--p at offset 0: its
 * ELF headers, dynamic symbols and relocations, read once at load). */
static int start_only(const struct mapping *m)
{
	if (!m->file || !m->counted || m->copied_kb)
		return 0;
	if (!strcmp(m->perms, "r-xp"))
		return 1;
	return !strcmp(m->perms, "r--p") && m->offset == 0;
}

static void release(const struct mapping *m)
{
	if (m->to > m->from && start_only(m))
		madvise((void *)(unsigned long)m->from, m->to - m->from, MADV_DONTNEED);
}

void gg_release_start_text(void)
{
	FILE *smaps = fopen("/proc/self/smaps", "re");
	struct mapping m = {}, next;
	char line[4352], path[4096];
	unsigned long long kb;
	unsigned long ino;

	if (!smaps)
		return;
	while (fgets(line, sizeof(line), smaps)) {
		/* pages of its own, resident or swapped out */
		if (sscanf(line, "Anonymous: %llu kB", &kb) == 1) {
			m.copied_kb += kb;
			m.counted = 1;
			continue;
		}
		if (sscanf(line, "Swap: %llu kB", &kb) == 1) {
			m.copied_kb += kb;
			continue;
		}
		next = (struct mapping){};
		path[0] = '\0';
		if (sscanf(line, "%llx-%llx %7s %llx %*x:%*x %lu %4095[^\n]", &next.from, &next.to,
			   next.perms, &next.offset, &ino, path) < 5)
			continue;
		next.file = ino && path[0] == '/';
		/* a new mapping's header: the one before is complete */
		release(&m);
		m = next;
	}
	release(&m);
	fclose(smaps);
}
