/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GG_MOUNTS_H
#define GG_MOUNTS_H

#include <stddef.h>

/*
 * The mounts at or below any of paths, from a mountinfo file
 * (/proc/self/mountinfo), one line each in the file's order:
 * "MOUNTPOINT ROOT MAJ:MIN FSTYPE SOURCE" (mount ids left out: they differ
 * from one namespace to the next). A locked restart hashes it into the
 * configuration's identity: a unit's BindReadOnlyPaths= over applied.json
 * or a key file (a mount init makes, which no guard refuses) is a line the
 * lock did not have. Malloc'd ("" when none); NULL if the file cannot be
 * read.
 */
char *gg_mounts_under(const char *mountinfo, const char *const *paths, size_t n);

#endif
