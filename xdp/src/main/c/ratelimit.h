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
#include "clock.h"
#include "table.h"

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

/* The budgets of a source the table holds: check both before spending either. */
static __always_inline enum mp_budget_verdict budget_known(const struct mp_config *cfg,
							   struct mp_source_state *s, int is_syn,
							   __u64 now) {
	int limit_packets = cfg->flags & MP_CFG_RATE_LIMIT;
	int guard_syns = (cfg->flags & MP_CFG_SYN_GUARD) && is_syn;

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

/*
 * A source the table does not hold. With the SYN guard on, spoofed floods must not churn the
 * table: beyond the new-source budget the packet is dropped and nothing is inserted. Otherwise
 * `fresh` is what to insert: the first packet spends one interval of each budget it is under.
 */
static __always_inline enum mp_budget_verdict budget_new(const struct mp_config *cfg, int is_syn,
							 __u64 now,
							 struct mp_source_state *fresh) {
	int limit_packets = cfg->flags & MP_CFG_RATE_LIMIT;
	int guard_syns = (cfg->flags & MP_CFG_SYN_GUARD) && is_syn;

	if ((cfg->flags & MP_CFG_SYN_GUARD) && !admit_new_source(cfg, now))
		return MP_BUDGET_DROP_NEW_SOURCE;
	fresh->next_packet_ns = limit_packets ? now + cfg->packets.interval_ns : 0;
	fresh->next_syn_ns = guard_syns ? now + cfg->syns.interval_ns : 0;
	return MP_BUDGET_NEW_SOURCE;
}

static __always_inline int budgets_configured(const struct mp_config *cfg) {
	return cfg->flags & (MP_CFG_RATE_LIMIT | MP_CFG_SYN_GUARD);
}

/* Applies the per-source packet budget and the SYN guard to one protected IPv4 packet. */
static __always_inline enum mp_budget_verdict check_budgets_v4(const struct mp_config *cfg,
							       __be32 src, int is_syn, __u64 now) {
	struct mp_source_state fresh, *s = NULL;
	struct mp_bucket_v4 *b;
	enum mp_budget_verdict v;
	__u64 *seen;
	__u32 idx;

	if (!budgets_configured(cfg))
		return MP_BUDGET_PASS;
	idx = mp_bucket_index_v4(src);
	seen = mp_seen_v4_word(idx);
	if (!seen) /* the index is always in range; this satisfies the verifier */
		return MP_BUDGET_PASS;
	/* A new source (no lane matches) is decided without reading its bucket: an over-cap flood of
	 * spoofed sources reads only the seen words and the admission budget. */
#ifndef MP_BENCH_NO_SEEN
	if (mp_maybe_seen(*seen, mp_fingerprint_v4(src)))
#endif
	{
		b = mp_bucket_v4(idx);
		if (!b)
			return MP_BUDGET_PASS;
		s = mp_find_v4(b, src);
		if (s)
			return budget_known(cfg, s, is_syn, now);
	}
	v = budget_new(cfg, is_syn, now, &fresh);
	if (v == MP_BUDGET_NEW_SOURCE) {
		b = mp_bucket_v4(idx);
		if (b)
			mp_insert_v4(b, seen, src, &fresh);
	}
	return v;
}

static __always_inline enum mp_budget_verdict
check_budgets_v6(const struct mp_config *cfg, const struct in6_addr *src, int is_syn, __u64 now) {
	struct mp_source_state fresh, *s;
	struct mp_bucket_v6 *b;
	enum mp_budget_verdict v;

	if (!budgets_configured(cfg))
		return MP_BUDGET_PASS;
	b = mp_bucket_v6(src);
	if (!b)
		return MP_BUDGET_PASS;
	s = mp_find_v6(b, src);
	if (s)
		return budget_known(cfg, s, is_syn, now);
	v = budget_new(cfg, is_syn, now, &fresh);
	if (v == MP_BUDGET_NEW_SOURCE)
		mp_insert_v6(b, src, &fresh);
	return v;
}

#endif
