/* SPDX-License-Identifier: GPL-2.0 */
/* Resident pages the daemon's start needed and its loop does not. */
#ifndef GG_PAGES_H
#define GG_PAGES_H

/*
 * Unmaps the code of every file the process maps (the binary, libc,
 * libcrypto ...) and each library's headers, symbol tables and relocations,
 * once the start is done. What the loop runs faults back in, from the page
 * cache; what only the start ran stops counting in VmRSS.
 */
void gg_release_start_text(void);

#endif
