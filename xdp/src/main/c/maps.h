/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The maps (the counters live in counters.h). User space pins them under
 * /sys/fs/bpf/marchproxy/<iface>/<map name>, so state and configuration survive a proxy restart.
 */
#ifndef MARCHPROXY_MAPS_H
#define MARCHPROXY_MAPS_H

#include <linux/bpf.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>
#include "config.h"

#ifndef MP_MAX_SOURCES
#define MP_MAX_SOURCES 65536 /* default; user space may resize before load */
#endif
#ifndef MP_MAX_CIDRS
#define MP_MAX_CIDRS 16384
#endif

/* Per-source budget state: the theoretical arrival time of the next packet (GCRA form of a
 * token bucket), one for all packets and one for SYNs. */
struct mp_source_state {
	__u64 next_packet_ns;
	__u64 next_syn_ns;
};

struct mp_cidr_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct mp_cidr_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* The global admission budget for new sources. */
struct mp_admission_state {
	__u64 next_admit_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mp_config);
} mp_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32); /* MP_PORT_* flags */
} mp_ports SEC(".maps");

/*
 * Sources, one table per family: a 4-byte key hashes and compares measurably faster than a 16-byte
 * one, and IPv4 is most of the traffic. Per-CPU LRU lists: an insert never takes a lock shared
 * with the other CPUs (each CPU evicts from its own share of the table).
 */
#ifndef MP_SOURCE_TABLE_FLAGS
#define MP_SOURCE_TABLE_FLAGS BPF_F_NO_COMMON_LRU /* bench builds compare 0: one common list */
#endif
#define MP_SOURCE_TABLE(name, key_type)                                                            \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_LRU_HASH);                                               \
		__uint(map_flags, MP_SOURCE_TABLE_FLAGS);                                          \
		__uint(max_entries, MP_MAX_SOURCES);                                               \
		__type(key, key_type);                                                             \
		__type(value, struct mp_source_state);                                             \
	} name SEC(".maps")

MP_SOURCE_TABLE(mp_sources_v4, __be32);
MP_SOURCE_TABLE(mp_sources_v6, struct in6_addr);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mp_admission_state);
} mp_admission SEC(".maps");

/* Allow and deny lists: longest-prefix-match tries, one per family. */
#define MP_CIDR_LIST(name, key_type)                                                               \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);                                               \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__uint(max_entries, MP_MAX_CIDRS);                                                 \
		__type(key, key_type);                                                             \
		__type(value, __u32);                                                              \
	} name SEC(".maps")

MP_CIDR_LIST(mp_allow_v4, struct mp_cidr_v4);
MP_CIDR_LIST(mp_allow_v6, struct mp_cidr_v6);
MP_CIDR_LIST(mp_deny_v4, struct mp_cidr_v4);
MP_CIDR_LIST(mp_deny_v6, struct mp_cidr_v6);

#endif
