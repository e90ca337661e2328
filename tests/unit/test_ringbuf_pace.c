// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's drain pacing (user/ringbuf.c gg_ringbuf_pace): woken per
 * record while records are rare, drained every GG_RINGBUF_HOLD_US in a
 * storm, woken again once a drain finds nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ringbuf.h"

#define HOLD GG_RINGBUF_HOLD_US

/* Isolated records (a denial now and then) are drained when they come. */
static void pace_trickle(void **state)
{
	struct gg_ringbuf_pace p = {};
	unsigned long long t = 5000000;

	for (int i = 0; i < 10; i++, t += 5 * HOLD)
		assert_int_equal(gg_ringbuf_pace(&p, t, 1), 0);
}

/* Drains with records back to back: the second one starts holding, and
 * drains a hold apart (plus the time to write what gathered) keep it. */
static void pace_storm(void **state)
{
	struct gg_ringbuf_pace p = {};
	unsigned long long t = 5000000;

	assert_int_equal(gg_ringbuf_pace(&p, t, 3), 0);
	assert_int_equal(gg_ringbuf_pace(&p, t += 10, 2), HOLD);
	for (int i = 0; i < 100; i++)
		assert_int_equal(gg_ringbuf_pace(&p, t += HOLD + HOLD / 2, 150), HOLD);
}

/* A drain that finds nothing ends the storm: the next record wakes the
 * daemon at once, and only a second one soon after holds again. */
static void pace_storm_ends(void **state)
{
	struct gg_ringbuf_pace p = {};
	unsigned long long t = 5000000;

	gg_ringbuf_pace(&p, t, 100);
	assert_int_equal(gg_ringbuf_pace(&p, t += 10, 100), HOLD);
	assert_int_equal(gg_ringbuf_pace(&p, t += HOLD, 0), 0);
	assert_int_equal(gg_ringbuf_pace(&p, t += 10, 1), 0);
	assert_int_equal(gg_ringbuf_pace(&p, t += 10, 1), HOLD);
	/* an error (negative) is not a drain with records either */
	assert_int_equal(gg_ringbuf_pace(&p, t += 10, -4), 0);
	assert_int_equal(gg_ringbuf_pace(&p, t += 10, 1), 0);
	/* nor is a gap of two holds or more */
	assert_int_equal(gg_ringbuf_pace(&p, t += 2 * HOLD, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pace_trickle),
		cmocka_unit_test(pace_storm),
		cmocka_unit_test(pace_storm_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
