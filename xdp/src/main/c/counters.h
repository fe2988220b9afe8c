/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every counter lives in one per-CPU array (`mp_counters`) at the named index below; user space
 * sums the CPUs. Each packet bumps exactly one verdict counter (MP_C_PASS_* or MP_C_DROP_*), so
 * their sum is the number of packets seen. The Java enum Counter mirrors this list by index.
 */
#ifndef MARCHPROXY_COUNTERS_H
#define MARCHPROXY_COUNTERS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum mp_counter {
	/* verdicts: exactly one per packet */
	MP_C_PASS_NOT_IP = 0,	   /* not IPv4/IPv6 (ARP, LLDP, a third VLAN tag, ...) */
	MP_C_PASS_MALFORMED = 1,   /* truncated or malformed IP/L4 header: left to the kernel */
	MP_C_PASS_NOT_COVERED = 2, /* not TCP/UDP, a later fragment, or an unprotected port */
	MP_C_PASS_DISABLED = 3,	   /* the program is switched off in the config */
	MP_C_PASS_ALLOWLIST = 4,   /* source on the allow list: no limits apply */
	MP_C_PASS = 5,		   /* protected traffic within its budgets */
	MP_C_DROP_DENYLIST = 6,
	MP_C_DROP_RATE_LIMIT = 7,
	MP_C_DROP_SYN_LIMIT = 8,
	/* an unknown source while the global new-source budget is spent */
	MP_C_DROP_NEW_SOURCE_CAP = 9,
	/* events */
	MP_C_NEW_SOURCE = 10, /* a source admitted to the rate-limit table */
	/* payload classification of passed protected packets that carry a payload */
	MP_C_CLASS_HTTP_GET = 11,
	MP_C_CLASS_HTTP_POST = 12,
	MP_C_CLASS_HTTP_PUT = 13,
	MP_C_CLASS_HTTP_DELETE = 14,
	MP_C_CLASS_HTTP_HEAD = 15,
	MP_C_CLASS_HTTP_OPTIONS = 16,
	MP_C_CLASS_HTTP_PATCH = 17,
	MP_C_CLASS_HTTP_CONNECT = 18,
	MP_C_CLASS_TLS_CLIENT_HELLO = 19,
	MP_C_CLASS_HTTP2_PREFACE = 20,
	MP_C_CLASS_OTHER = 21,
	MP_COUNTER_COUNT = 22,
};

struct mp_counter_value {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MP_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, struct mp_counter_value);
} mp_counters SEC(".maps");

/* Per-CPU, so a plain add is race-free and needs no atomic. */
static __always_inline void count(__u32 counter, __u64 bytes) {
	struct mp_counter_value *v = bpf_map_lookup_elem(&mp_counters, &counter);

	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

#endif
