/* The source's downtime schedule and time limit (API.md §5.3 downtime, §6
 * migration_downtime_steps / _delay / migration_max_time_per_gib_mem): pure functions
 * the monitor thread applies, unit-tested on their own. */
#include "migration.h"

/* x^n for a small n (no libm in the agent's link). */
static double power(double x, int n)
{
	double r = 1;
	while (n-- > 0)
		r *= x;
	return r;
}

/* The n-th root of v ≥ 1 by bisection: exact enough for milliseconds. */
static double root(double v, int n)
{
	double lo = 1, hi = v > 1 ? v : 1;
	for (int k = 0; k < 100; k++) {
		double mid = (lo + hi) / 2;
		if (power(mid, n) > v)
			hi = mid;
		else
			lo = mid;
	}
	return lo;
}

int migration_downtime_step(int target_ms, int steps, int i)
{
	if (target_ms <= 0)
		return 0;
	if (steps <= 1 || i >= steps - 1)
		return target_ms;
	if (i < 0)
		i = 0;
	/* exponential ramp: a floor of target/steps, then base^i with base chosen so that
	 * the last step lands exactly on the target */
	double floor_ms = (double)target_ms / steps;
	double base = root((double)target_ms - floor_ms, steps - 1);
	int v = (int)(floor_ms + power(base, i) + 1e-6);
	return v > target_ms ? target_ms : (v < 1 ? 1 : v);
}

static double mem_gib(unsigned long long mem_bytes)
{
	double g = (double)mem_bytes / (1024.0 * 1024 * 1024);
	return g < 1 ? 1 : g;
}

double migration_downtime_interval(int delay_per_gib, unsigned long long mem_bytes, int steps)
{
	if (delay_per_gib <= 0 || steps <= 0)
		return 0;
	return delay_per_gib * mem_gib(mem_bytes) / steps;
}

bool migration_over_time(int max_per_gib, unsigned long long mem_bytes, double elapsed)
{
	return max_per_gib > 0 && elapsed > max_per_gib * mem_gib(mem_bytes);
}

const struct migration_conv_action *migration_conv_sample(const struct migration_conv_schedule *s,
							  struct migration_conv_state *st,
							  unsigned long long remaining)
{
	bool new_iteration = st->have_last && remaining > st->last_remaining;

	st->have_last = true;
	st->last_remaining = remaining;
	if (!new_iteration)
		return NULL;
	st->iterations++;
	if (st->next >= s->n_stalling || s->stalling[st->next].limit >= st->iterations)
		return NULL;
	return &s->stalling[st->next++].action;
}
