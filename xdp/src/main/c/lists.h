/* SPDX-License-Identifier: Apache-2.0 */
/* Allow and deny lists: longest-prefix-match tries over the 16-byte address form. */
#ifndef MARCHPROXY_LISTS_H
#define MARCHPROXY_LISTS_H

#include "maps.h"

static __always_inline int list_contains(void *trie, const struct mp_addr *addr)
{
	struct mp_cidr_key key = {.prefixlen = 128, .addr = *addr};

	return bpf_map_lookup_elem(trie, &key) != NULL;
}

#endif
