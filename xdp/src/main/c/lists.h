/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allow and deny list lookups: the source as a full-length prefix in the family's trie, behind a
 * per-CPU cache of recent answers (decision 0109). A trie lookup is a helper call that walks the
 * trie; a cache hit is two inlined array lookups and a compare.
 *
 * A cached answer is used while the list generation it was computed under is still the current
 * one and for at most MP_LIST_CACHE_TTL_NS. User space writes a new generation after every list
 * change, so a change applies to the next packet; the time limit bounds what a packet that read
 * the generation and the trie in the opposite order (weakly ordered CPUs, racing the change)
 * could leave behind.
 */
#ifndef MARCHPROXY_LISTS_H
#define MARCHPROXY_LISTS_H

#include "maps.h"
#include "clock.h"

#define MP_LISTED_ALLOW (1U << 0)
#define MP_LISTED_DENY	(1U << 1)
#define MP_LISTED_V6	(1U << 2)
#define MP_LISTED_VALID (1U << 31)

#define MP_LIST_CACHE_TTL_NS 1000000000ULL

static __always_inline int list_contains_v4(void *trie, __be32 addr) {
	struct mp_cidr_v4 key = {.prefixlen = 32};

	__builtin_memcpy(key.addr, &addr, 4);
	return bpf_map_lookup_elem(trie, &key) != NULL;
}

static __always_inline int list_contains_v6(void *trie, const struct in6_addr *addr) {
	struct mp_cidr_v6 key = {.prefixlen = 128};

	__builtin_memcpy(key.addr, addr, 16);
	return bpf_map_lookup_elem(trie, &key) != NULL;
}

static __always_inline __u32 lists_uncached_v4(const struct mp_config *cfg, __be32 addr) {
	__u32 v = 0;

	if ((cfg->flags & MP_CFG_ALLOWLIST) && list_contains_v4(&mp_allow_v4, addr))
		v |= MP_LISTED_ALLOW;
	if ((cfg->flags & MP_CFG_DENYLIST) && list_contains_v4(&mp_deny_v4, addr))
		v |= MP_LISTED_DENY;
	return v;
}

static __always_inline __u32 lists_uncached_v6(const struct mp_config *cfg,
					       const struct in6_addr *addr) {
	__u32 v = 0;

	if ((cfg->flags & MP_CFG_ALLOWLIST) && list_contains_v6(&mp_allow_v6, addr))
		v |= MP_LISTED_ALLOW;
	if ((cfg->flags & MP_CFG_DENYLIST) && list_contains_v6(&mp_deny_v6, addr))
		v |= MP_LISTED_DENY;
	return v;
}

static __always_inline struct mp_list_cache_entry *list_cache_entry(__u32 hash) {
	__u32 idx = (hash * MP_HASH_MULT) >> (32 - MP_LIST_CACHE_BITS);

	return bpf_map_lookup_elem(&mp_list_cache, &idx);
}

static __always_inline __u64 *lists_generation(void) {
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mp_lists_gen, &zero);
}

/* MP_LISTED_* bits for an IPv4 source. */
static __always_inline __u32 lists_v4(const struct mp_config *cfg, __be32 addr, __u64 now) {
	struct mp_list_cache_entry *e = list_cache_entry((__u32)addr);
	__u64 *gen = lists_generation();
	__u64 g;
	__u32 v;

#ifdef MP_NO_LIST_CACHE /* bench builds only: what the cache saves */
	return lists_uncached_v4(cfg, addr);
#endif
	if (!e || !gen)
		return lists_uncached_v4(cfg, addr);
	g = *gen; /* before the tries: an answer is never newer than its generation */
	if (!(e->verdict & MP_LISTED_V6) && (e->verdict & MP_LISTED_VALID) &&
	    e->addr[0] == (__u32)addr && e->generation == g && e->expires_ns > now)
		return e->verdict;
	v = lists_uncached_v4(cfg, addr) | MP_LISTED_VALID;
	/* Per CPU, and XDP does not nest on a CPU: nobody else writes this entry. */
	e->addr[0] = (__u32)addr;
	e->addr[1] = 0;
	e->addr[2] = 0;
	e->addr[3] = 0;
	e->generation = g;
	e->expires_ns = now + MP_LIST_CACHE_TTL_NS;
	e->verdict = v;
	return v;
}

static __always_inline __u32 lists_v6(const struct mp_config *cfg, const struct in6_addr *addr,
				      __u64 now) {
	const __u32 *w = addr->in6_u.u6_addr32;
	struct mp_list_cache_entry *e = list_cache_entry(w[0] ^ w[1] ^ w[2] ^ w[3]);
	__u64 *gen = lists_generation();
	__u64 g;
	__u32 v;

#ifdef MP_NO_LIST_CACHE
	return lists_uncached_v6(cfg, addr);
#endif
	if (!e || !gen)
		return lists_uncached_v6(cfg, addr);
	g = *gen;
	if ((e->verdict & MP_LISTED_V6) && (e->verdict & MP_LISTED_VALID) && e->addr[0] == w[0] &&
	    e->addr[1] == w[1] && e->addr[2] == w[2] && e->addr[3] == w[3] && e->generation == g &&
	    e->expires_ns > now)
		return e->verdict;
	v = lists_uncached_v6(cfg, addr) | MP_LISTED_V6 | MP_LISTED_VALID;
	/* Per CPU, and XDP does not nest on a CPU: nobody else writes this entry. */
	e->addr[0] = w[0];
	e->addr[1] = w[1];
	e->addr[2] = w[2];
	e->addr[3] = w[3];
	e->generation = g;
	e->expires_ns = now + MP_LIST_CACHE_TTL_NS;
	e->verdict = v;
	return v;
}

#endif
