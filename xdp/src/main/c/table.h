/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-source tables: a set-associative hash table in a plain array, one per address family
 * (decision 0108). A source hashes to one bucket of MP_WAYS slots; finding it compares the
 * bucket's keys, and a new source takes the bucket's idlest slot. An array lookup is inlined by
 * the verifier, so neither path calls into the kernel: an LRU hash map costs a helper call, a
 * hash call and a memcmp call per lookup and a locked list operation per insert.
 *
 * Replacement: the idlest slot is the one whose budgets are due earliest (smallest
 * max(next_packet_ns, next_syn_ns)); an empty slot (all zero) is the idlest of all. A slot whose
 * timestamps are both in the past is worth as much as no slot (a fresh source gets the same
 * verdict and the same new state; it only counts as new again and, with the SYN guard, needs
 * admission again), so replacing it loses no budget state; only when every slot of a bucket
 * holds a source that is still paying off a burst does a new source take the one closest to
 * paid off, and that source starts again with a full budget.
 *
 * Concurrency: no locks. Two CPUs inserting into one bucket at the same moment may pick the same
 * slot; one entry wins, the other source is simply inserted again by its next packet. Keys are
 * written after the state, so a reader that matches a key sees at least a valid state.
 * The Java side (XdpMaps.tracks) computes the same hash to find a source's bucket.
 */
#ifndef MARCHPROXY_TABLE_H
#define MARCHPROXY_TABLE_H

#include <linux/bpf.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"


/* The number of buckets a table was created with (user space sizes it before load). */
struct bpf_map {
	__u32 max_entries;
} __attribute__((preserve_access_index));

/* A bucket index in [0, n) from a 32-bit hash, by multiply and shift (no division). */
static __always_inline __u32 mp_bucket_index(__u32 hash, void *table) {
	__u32 n = ((struct bpf_map *)table)->max_entries;

	return ((__u64)(hash * MP_HASH_MULT) * n) >> 32;
}

/* The key's tag: the address in the low half, a presence bit above it (empty slots are 0). */
static __always_inline __u64 mp_tag_v4(__be32 addr) {
	return (1ULL << 32) | (__u32)addr;
}

static __always_inline __u64 mp_slot_due(const struct mp_source_state *s) {
	return s->next_packet_ns > s->next_syn_ns ? s->next_packet_ns : s->next_syn_ns;
}

/* Where a bucket's idlest slot is. */
static __always_inline __u32 mp_idlest(const struct mp_source_state *st) {
	__u32 best = 0;
	__u64 best_due = mp_slot_due(&st[0]);

#pragma unroll
	for (__u32 i = 1; i < MP_WAYS; i++) {
		__u64 due = mp_slot_due(&st[i]);

		if (due < best_due) {
			best_due = due;
			best = i;
		}
	}
	return best;
}

static __always_inline __u32 mp_bucket_index_v4(__be32 addr) {
	return mp_bucket_index((__u32)addr, &mp_sources_v4);
}

static __always_inline struct mp_bucket_v4 *mp_bucket_v4(__u32 idx) {
	return bpf_map_lookup_elem(&mp_sources_v4, &idx);
}

static __always_inline __u64 *mp_seen_v4_word(__u32 idx) {
	return bpf_map_lookup_elem(&mp_seen_v4, &idx);
}

/* A source's 16-bit fingerprint in its bucket's seen word: never 0 (an empty lane). */
static __always_inline __u64 mp_fingerprint_v4(__be32 addr) {
	return ((((__u32)addr * MP_FP_MULT) >> 16) | 1) & 0xFFFF;
}

#define MP_LANES_LOW  0x0001000100010001ULL
#define MP_LANES_HIGH 0x8000800080008000ULL

/*
 * 0 if no lane of `seen` holds `fp`, so the source is certainly not in the bucket (a slot's lane
 * is written with its key); otherwise it may be (lanes may also match by chance: 16 bits).
 */
static __always_inline __u64 mp_maybe_seen(__u64 seen, __u64 fp) {
	__u64 x = seen ^ (fp * MP_LANES_LOW); /* a lane that held fp is now 0 */

	return (x - MP_LANES_LOW) & ~x & MP_LANES_HIGH;
}

/* Records slot i's new fingerprint. Not atomic: a lane lost to a racing insert makes its source
 * look new once more (it is then admitted and inserted again, which writes the lane). */
static __always_inline void mp_seen_set(__u64 *seen, __u32 i, __u64 fp) {
	__u32 shift = (i & (MP_WAYS - 1)) * 16;

	*seen = (*seen & ~(0xFFFFULL << shift)) | (fp << shift);
}

/* The source's state, or NULL if the table does not hold it. */
static __always_inline struct mp_source_state *mp_find_v4(struct mp_bucket_v4 *b, __be32 addr) {
	__u64 tag = mp_tag_v4(addr);

#pragma unroll
	for (__u32 i = 0; i < MP_WAYS; i++) {
		if (b->tags[i] == tag)
			return &b->state[i];
	}
	return NULL;
}

static __always_inline void mp_insert_v4(struct mp_bucket_v4 *b, __u64 *seen, __be32 addr,
					 const struct mp_source_state *fresh) {
	__u32 i = mp_idlest(b->state);

	if (i >= MP_WAYS)
		return;
	b->state[i] = *fresh;
	b->tags[i] = mp_tag_v4(addr);
	mp_seen_set(seen, i, mp_fingerprint_v4(addr));
}

/* IPv6: the four address words folded into one hash. */
static __always_inline struct mp_bucket_v6 *mp_bucket_v6(const struct in6_addr *addr) {
	__u32 idx = mp_bucket_index(addr->in6_u.u6_addr32[0] ^ addr->in6_u.u6_addr32[1] ^
					addr->in6_u.u6_addr32[2] ^ addr->in6_u.u6_addr32[3],
				    &mp_sources_v6);

	return bpf_map_lookup_elem(&mp_sources_v6, &idx);
}

static __always_inline struct mp_source_state *mp_find_v6(struct mp_bucket_v6 *b,
							  const struct in6_addr *addr) {
	const __u32 *w = addr->in6_u.u6_addr32;

#pragma unroll
	for (__u32 i = 0; i < MP_WAYS; i++) {
		if (b->present[i] && b->keys[i][0] == w[0] && b->keys[i][1] == w[1] &&
		    b->keys[i][2] == w[2] && b->keys[i][3] == w[3])
			return &b->state[i];
	}
	return NULL;
}

static __always_inline void mp_insert_v6(struct mp_bucket_v6 *b, const struct in6_addr *addr,
					 const struct mp_source_state *fresh) {
	const __u32 *w = addr->in6_u.u6_addr32;
	__u32 i = mp_idlest(b->state);

	if (i >= MP_WAYS)
		return;
	b->present[i] = 0;
	b->state[i] = *fresh;
	b->keys[i][0] = w[0];
	b->keys[i][1] = w[1];
	b->keys[i][2] = w[2];
	b->keys[i][3] = w[3];
	b->present[i] = 1;
}

#endif
