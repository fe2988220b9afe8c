/* SPDX-License-Identifier: Apache-2.0 */
/* Allow and deny list lookups: the source as a full-length prefix in the family's trie. */
#ifndef MARCHPROXY_LISTS_H
#define MARCHPROXY_LISTS_H

#include "maps.h"

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

#endif
