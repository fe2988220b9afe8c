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
#define MP_MAX_SOURCES 65536 /* slots; user space may resize before load */
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
 * Sources, one table per family (table.h, decision 0108): an array of buckets of MP_WAYS slots,
 * looked up without a helper call. A 4-byte key hashes and compares faster than a 16-byte one,
 * and IPv4 is most of the traffic.
 */
#define MP_WAYS 4

struct mp_bucket_v4 {
	__u64 tags[MP_WAYS]; /* 1 << 32 | address, 0 for an empty slot */
	struct mp_source_state state[MP_WAYS];
};

struct mp_bucket_v6 {
	__u32 keys[MP_WAYS][4];
	__u32 present[MP_WAYS];
	struct mp_source_state state[MP_WAYS];
};

#define MP_SOURCE_TABLE(name, bucket_type)                                                         \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                  \
		__uint(max_entries, MP_MAX_SOURCES / MP_WAYS);                                     \
		__type(key, __u32);                                                                \
		__type(value, struct bucket_type);                                                 \
	} name SEC(".maps")

MP_SOURCE_TABLE(mp_sources_v4, mp_bucket_v4);
MP_SOURCE_TABLE(mp_sources_v6, mp_bucket_v6);

/*
 * Beside the IPv4 table, one word per bucket: a 16-bit fingerprint of the source in each slot
 * (0: empty). A source whose fingerprint is in no lane is not in the bucket, so a new source is
 * told from this 8-byte word without reading its 96-byte bucket; at 8 bytes a bucket the words of
 * a 65,536-slot table (128 KB) stay in a core's L2 where the table (1.5 MB) does not (decision
 * 0110). User space sizes it with the table.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MP_MAX_SOURCES / MP_WAYS);
	__type(key, __u32);
	__type(value, __u64);
} mp_seen_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mp_admission_state);
} mp_admission SEC(".maps");

/* Knuth's multiplicative hash constant, 2^32 / golden ratio. */
#define MP_HASH_MULT 0x9E3779B1U
/* A second multiplier for the fingerprints (table.h), independent of the bucket index. */
#define MP_FP_MULT 0x85EBCA6BU

/*
 * What the lists said about recent sources, per CPU (lists.h, decision 0109): a direct-mapped
 * cache in front of the tries, valid while its generation is the current one (user space writes
 * a new one after every list change) and for at most a second.
 */
#define MP_LIST_CACHE_BITS 12 /* 4,096 sources per CPU */

struct mp_list_cache_entry {
	__u32 addr[4]; /* IPv4: addr[0], the rest 0 */
	__u32 verdict; /* MP_LISTED_* bits; 0 for an empty entry */
	__u32 reserved;
	__u64 generation;
	__u64 expires_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1 << MP_LIST_CACHE_BITS);
	__type(key, __u32);
	__type(value, struct mp_list_cache_entry);
} mp_list_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} mp_lists_gen SEC(".maps");

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
