/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic egress rules (those of every process, prog 0) as sorted
 * address ranges, one frozen array per slot and family, swapped into
 * egress_range_v4/v6 (include/govgate_abi.h, struct gg_range_v4).
 */
#ifndef GG_EGRESS_RANGES_H
#define GG_EGRESS_RANGES_H

#include "compile.h"

/*
 * Builds c's generic nodes of family (AF_INET, AF_INET6) into a new frozen
 * array and puts it in outer_fd's slot; with no such node the slot is
 * emptied instead. The array replaced is freed by the kernel. *n_ranges
 * (may be NULL) gets the number of ranges written (0: none).
 */
int gg_ranges_write(int outer_fd, __u32 slot, const struct gg_compiled *c, int family,
		    size_t *n_ranges, struct gg_err *err);

/* Empties outer_fd's slot (no generic rules). */
int gg_ranges_clear(int outer_fd, __u32 slot, const char *map, struct gg_err *err);

/* Tests only: called between the array's filling and its freeze, as
 * another task could act there. */
extern void (*gg_ranges_before_freeze)(int fd);

#endif
