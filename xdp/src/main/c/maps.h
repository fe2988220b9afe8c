/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The maps. User space pins them under /sys/fs/bpf/marchproxy/<iface>/<map name>, so state and
 * configuration survive a proxy restart. Addresses are keyed as 16 bytes; IPv4 uses the
 * IPv4-mapped IPv6 form (::ffff:a.b.c.d) so one table and one trie serve both families.
 */
#ifndef MARCHPROXY_MAPS_H
#define MARCHPROXY_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "config.h"

#ifndef MP_MAX_SOURCES
#define MP_MAX_SOURCES 65536 /* default; user space may resize before load */
#endif
#ifndef MP_MAX_CIDRS
#define MP_MAX_CIDRS 16384
#endif

struct mp_addr {
	__u8 bytes[16];
};

/* Per-source budget state: the theoretical arrival time of the next packet (GCRA form of a
 * token bucket), one for all packets and one for SYNs. */
struct mp_source_state {
	__u64 next_packet_ns;
	__u64 next_syn_ns;
};

struct mp_cidr_key {
	__u32 prefixlen; /* over the 16-byte form: an IPv4 /24 is 96 + 24 */
	struct mp_addr addr;
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

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	/* Per-CPU LRU lists: an insert never takes a lock shared with the other CPUs. */
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, MP_MAX_SOURCES);
	__type(key, struct mp_addr);
	__type(value, struct mp_source_state);
} mp_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mp_admission_state);
} mp_admission SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MP_MAX_CIDRS);
	__type(key, struct mp_cidr_key);
	__type(value, __u32);
} mp_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MP_MAX_CIDRS);
	__type(key, struct mp_cidr_key);
	__type(value, __u32);
} mp_deny SEC(".maps");


#endif
