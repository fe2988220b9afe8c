/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Budgets: a token bucket in its GCRA form. Each budget keeps one timestamp, the earliest time
 * the next packet is due; a packet conforms when that time is at most `slack` (the burst) ahead
 * of now, and then pushes it one interval further. A packet over budget only reads: the drop
 * path never writes shared memory, so a flood does not bounce a cache line between CPUs.
 * The clock is the kernel tick counter (jiffies) scaled to nanoseconds: the same resolution as
 * bpf_ktime_get_coarse_ns (both advance once per tick, 1-10 ms, plenty for budgets counted in
 * seconds), but the verifier inlines bpf_jiffies64 into one load where the coarse clock is a
 * helper call. Decision 0107.
 */
#ifndef MARCHPROXY_RATELIMIT_H
#define MARCHPROXY_RATELIMIT_H

#include "config.h"
#include "maps.h"

#define MP_NSEC_PER_SEC 1000000000ULL

/*
 * Now, in nanoseconds since boot (within a tick or so of bpf_ktime_get_coarse_ns, so state
 * written by a build that used that clock stays valid). On 64-bit kernels jiffies start at
 * INITIAL_JIFFIES = 2^32 - 300 * HZ, which is 2^32 ticks less 300 seconds.
 */
static __always_inline __u64 mp_now(const struct mp_config *cfg) {
#ifndef MP_CLOCK_COARSE
	if (cfg->tick_ns)
		return (bpf_jiffies64() - (1ULL << 32)) * cfg->tick_ns + 300 * MP_NSEC_PER_SEC;
#endif
	return bpf_ktime_get_coarse_ns();
}

static __always_inline int budget_allows(__u64 next_ns, const struct mp_budget *b, __u64 now) {
	return next_ns <= now + b->slack_ns;
}

/* Spends one interval of a budget that budget_allows() accepted. */
static __always_inline void budget_spend(__u64 *next_ns, const struct mp_budget *b, __u64 now) {
	if (*next_ns > now)
#ifdef MP_BENCH_PLAIN_SPEND
		*next_ns += b->interval_ns; /* bench only: what the atomic costs */
#else
		/* Busy source: other CPUs may spend concurrently, so add atomically. */
		__sync_fetch_and_add(next_ns, b->interval_ns);
#endif
	else
		/* Idle source: restart from now. A racing CPU can at worst lose one interval. */
		*next_ns = now + b->interval_ns;
}

/* Global admission of a source the table has not seen: 1 if admitted. */
static __always_inline int admit_new_source(const struct mp_config *cfg, __u64 now) {
	__u32 zero = 0;
	struct mp_admission_state *a = bpf_map_lookup_elem(&mp_admission, &zero);

	if (!a)
		return 0;
	if (!budget_allows(a->next_admit_ns, &cfg->new_sources, now))
		return 0;
	budget_spend(&a->next_admit_ns, &cfg->new_sources, now);
	return 1;
}

enum mp_budget_verdict {
	MP_BUDGET_PASS,
	MP_BUDGET_NEW_SOURCE, /* passed, and the source was added to the table */
	MP_BUDGET_DROP_RATE,
	MP_BUDGET_DROP_SYN,
	MP_BUDGET_DROP_NEW_SOURCE,
};

/*
 * Applies the per-source packet budget and the SYN guard to one protected packet. `table` is the
 * family's source table; each call site passes a constant map, so the verifier can inline it.
 */
static __always_inline enum mp_budget_verdict
check_budgets(const struct mp_config *cfg, void *table, const void *src, int is_syn) {
	int limit_packets = cfg->flags & MP_CFG_RATE_LIMIT;
	int guard_syns = (cfg->flags & MP_CFG_SYN_GUARD) && is_syn;
	struct mp_source_state *s;
	__u64 now;

	if (!(cfg->flags & (MP_CFG_RATE_LIMIT | MP_CFG_SYN_GUARD)))
		return MP_BUDGET_PASS;
	now = mp_now(cfg);
	s = bpf_map_lookup_elem(table, src);
	if (s) {
		/* Check both budgets before spending either. */
		if (guard_syns && !budget_allows(s->next_syn_ns, &cfg->syns, now))
			return MP_BUDGET_DROP_SYN;
		if (limit_packets && !budget_allows(s->next_packet_ns, &cfg->packets, now))
			return MP_BUDGET_DROP_RATE;
		if (guard_syns)
			budget_spend(&s->next_syn_ns, &cfg->syns, now);
		if (limit_packets)
			budget_spend(&s->next_packet_ns, &cfg->packets, now);
		return MP_BUDGET_PASS;
	}

	/* An unknown source. With the guard on, spoofed floods must not churn the table. */
	if ((cfg->flags & MP_CFG_SYN_GUARD) && !admit_new_source(cfg, now))
		return MP_BUDGET_DROP_NEW_SOURCE;
	{
		/* The first packet spends one interval of each budget it is subject to. */
		struct mp_source_state fresh = {
		    .next_packet_ns = limit_packets ? now + cfg->packets.interval_ns : 0,
		    .next_syn_ns = guard_syns ? now + cfg->syns.interval_ns : 0,
		};

		/* A racing CPU may have inserted it first; its entry is as good as ours. */
		bpf_map_update_elem(table, src, &fresh, BPF_NOEXIST);
	}
	return MP_BUDGET_NEW_SOURCE;
}

#endif
