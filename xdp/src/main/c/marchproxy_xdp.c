/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MarchProxy's XDP program: per-source rate limit, SYN-flood guard, allow/deny lists and payload
 * classification for the ports the control plane protects. Everything it does not cover
 * (non-IP, other L4 protocols, unprotected ports, headers it cannot parse) passes untouched.
 *
 * Order of checks for a protected packet: allow list (pass, no limits) -> deny list (drop) ->
 * budgets (SYN guard, new-source cap, packet rate) -> classification of what passed.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "parsing.h"
#include "config.h"
#include "counters.h"
#include "maps.h"
#include "lists.h"
#include "ratelimit.h"
#include "classify.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* What the lists and budgets decided for one protected packet. */
enum mp_policy {
	MP_POLICY_ALLOWLIST,
	MP_POLICY_DENYLIST,
	MP_POLICY_BUDGET, /* see the budget verdict */
};

static __always_inline enum mp_policy policy_v4(const struct mp_config *cfg, __be32 src, int is_syn,
						enum mp_budget_verdict *budget) {
	if ((cfg->flags & MP_CFG_ALLOWLIST) && list_contains_v4(&mp_allow_v4, src))
		return MP_POLICY_ALLOWLIST;
	if ((cfg->flags & MP_CFG_DENYLIST) && list_contains_v4(&mp_deny_v4, src))
		return MP_POLICY_DENYLIST;
	*budget = check_budgets(cfg, &mp_sources_v4, &src, is_syn);
	return MP_POLICY_BUDGET;
}

static __always_inline enum mp_policy policy_v6(const struct mp_config *cfg,
						const struct in6_addr *src, int is_syn,
						enum mp_budget_verdict *budget) {
	struct in6_addr key = *src; /* the map helpers need a stack copy, not packet memory */

	if ((cfg->flags & MP_CFG_ALLOWLIST) && list_contains_v6(&mp_allow_v6, &key))
		return MP_POLICY_ALLOWLIST;
	if ((cfg->flags & MP_CFG_DENYLIST) && list_contains_v6(&mp_deny_v6, &key))
		return MP_POLICY_DENYLIST;
	*budget = check_budgets(cfg, &mp_sources_v6, &key, is_syn);
	return MP_POLICY_BUDGET;
}

static __always_inline int pass(__u32 counter, __u64 bytes) {
	count(counter, bytes);
	return XDP_PASS;
}

static __always_inline int drop(__u32 counter, __u64 bytes) {
	count(counter, bytes);
	return XDP_DROP;
}

#ifdef MP_BENCH_ROTATE_SOURCE
/*
 * Benchmark builds only: BPF_PROG_TEST_RUN repeats one packet, so to measure the new-source path
 * each run bumps the IPv4 source address it will see next. Never built into the shipped object.
 */
static __always_inline void bench_rotate_source(struct iphdr *ip) {
	if (ip)
		ip->saddr = bpf_htonl(bpf_ntohl(ip->saddr) + 1);
}
#else
static __always_inline void bench_rotate_source(struct iphdr *ip) {
}
#endif

/* Offsets the parsers hand to the second stage; bounded so pointer arithmetic stays provable. */
#define MP_MAX_HEADER_OFFSET 4096

/* Where a frame's IP and L4 headers are, as offsets from the start of the frame. */
#define MP_META_IPV6 (1U << 8) /* else IPv4; the low byte is the L4 protocol */

/* Bounds a stage-2 offset argument in a form the verifier keeps (see classify_payload). */
static __always_inline __u32 bounded_offset(__u32 off) {
	asm volatile("" : "+r"(off));
	return off & (MP_MAX_HEADER_OFFSET - 1);
}

/*
 * Stage 2: everything after the IP header, for one IP packet. A global function, so the verifier
 * checks it once with unknown offsets instead of once per header layout stage 1 can produce
 * (VLAN tags x IPv4 options x IPv6 extension header chains), which would otherwise multiply.
 */
__attribute__((noinline)) int handle_ip(struct xdp_md *ctx, __u32 l3_off, __u32 l4_off,
					__u32 ip_end_off, __u32 meta) {
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	struct hdr_cursor c = {.pos = data, .end = data_end};
	struct hdr_cursor l3 = {.pos = data, .end = data_end};
	struct tcphdr *tcp = NULL;
	struct udphdr *udp;
	enum mp_budget_verdict budget = MP_BUDGET_PASS;
	enum mp_policy policy;
	const struct mp_config *cfg;
	__u32 zero = 0, port, *port_flags, l4 = meta & 0xff;
	int is_syn = 0;
	long payload_len;

	cfg = bpf_map_lookup_elem(&mp_config, &zero);
	if (!cfg || !(cfg->flags & MP_CFG_ENABLED))
		return pass(MP_C_PASS_DISABLED, bytes);

	if (!cursor_take(&c, bounded_offset(l4_off)))
		return pass(MP_C_PASS_MALFORMED, bytes);
	if (l4 == IPPROTO_TCP) {
		if (parse_tcphdr(&c, &tcp) < 0)
			return pass(MP_C_PASS_MALFORMED, bytes);
		port = bpf_ntohs(tcp->dest);
		is_syn = tcp->syn && !tcp->ack;
	} else if (l4 == IPPROTO_UDP) {
		if (parse_udphdr(&c, &udp) < 0)
			return pass(MP_C_PASS_MALFORMED, bytes);
		port = bpf_ntohs(udp->dest);
	} else {
		return pass(MP_C_PASS_NOT_COVERED, bytes);
	}
	port_flags = bpf_map_lookup_elem(&mp_ports, &port);
	if (!port_flags || !(*port_flags & (tcp ? MP_PORT_TCP : MP_PORT_UDP)))
		return pass(MP_C_PASS_NOT_COVERED, bytes);

	payload_len = (long)bounded_offset(ip_end_off) - (long)(c.pos - data);

	if (!cursor_take(&l3, bounded_offset(l3_off)))
		return pass(MP_C_PASS_MALFORMED, bytes);
	if (meta & MP_META_IPV6) {
		struct ipv6hdr *ip6 = cursor_peek(&l3, sizeof(*ip6));

		if (!ip6)
			return pass(MP_C_PASS_MALFORMED, bytes);
		policy = policy_v6(cfg, &ip6->saddr, is_syn, &budget);
	} else {
		struct iphdr *ip4 = cursor_peek(&l3, sizeof(*ip4));

		if (!ip4)
			return pass(MP_C_PASS_MALFORMED, bytes);
		policy = policy_v4(cfg, ip4->saddr, is_syn, &budget);
	}
	if (policy == MP_POLICY_ALLOWLIST) {
		if (cfg->flags & MP_CFG_CLASSIFY)
			count_payload_class(ctx, &c, payload_len, bytes);
		return pass(MP_C_PASS_ALLOWLIST, bytes);
	}
	if (policy == MP_POLICY_DENYLIST)
		return drop(MP_C_DROP_DENYLIST, bytes);

	switch (budget) {
	case MP_BUDGET_DROP_RATE:
		return drop(MP_C_DROP_RATE_LIMIT, bytes);
	case MP_BUDGET_DROP_SYN:
		return drop(MP_C_DROP_SYN_LIMIT, bytes);
	case MP_BUDGET_DROP_NEW_SOURCE:
		return drop(MP_C_DROP_NEW_SOURCE_CAP, bytes);
	case MP_BUDGET_NEW_SOURCE:
		count(MP_C_NEW_SOURCE, bytes);
		break;
	case MP_BUDGET_PASS:
		break;
	}
	if (cfg->flags & MP_CFG_CLASSIFY)
		count_payload_class(ctx, &c, payload_len, bytes);
	return pass(MP_C_PASS, bytes);
}

/* Stage 1: Ethernet, VLAN tags and the IP header (with IPv6 extension headers). */
SEC("xdp")
int marchproxy_xdp(struct xdp_md *ctx) {
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	struct hdr_cursor c = {.pos = data, .end = data_end};
	struct ethhdr *eth;
	struct iphdr *ip4 = NULL;
	struct ipv6hdr *ip6 = NULL;
	void *l3,
	    *ip_end; /* ip_end: where the datagram ends by its length field; padding follows */
	int ethertype, l4, verdict;
	__u32 meta;

	/* Not IP, a third VLAN tag, or cut short inside the VLAN tags: nothing we could cover. */
	ethertype = parse_ethhdr(&c, &eth);
	l3 = c.pos;
	if (ethertype == ETH_P_IP) {
		l4 = parse_iphdr(&c, &ip4);
		if (l4 < 0)
			return pass(MP_C_PASS_MALFORMED, bytes);
		ip_end = l3 + bpf_ntohs(ip4->tot_len);
		meta = l4;
	} else if (ethertype == ETH_P_IPV6) {
		l4 = parse_ip6hdr(&c, &ip6);
		if (l4 < 0)
			return pass(MP_C_PASS_MALFORMED, bytes);
		ip_end = l3 + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		meta = l4 | MP_META_IPV6;
	} else {
		return pass(MP_C_PASS_NOT_IP, bytes);
	}
	if (c.pos - data >= MP_MAX_HEADER_OFFSET)
		return pass(MP_C_PASS_MALFORMED, bytes);
	/* Classification needs only the first bytes, so a longer datagram is cut to the bound. */
	if (ip_end - data > MP_MAX_HEADER_OFFSET - 1)
		ip_end = data + MP_MAX_HEADER_OFFSET - 1;
	verdict = handle_ip(ctx, l3 - data, c.pos - data, ip_end - data, meta);
	bench_rotate_source(ip4);
	return verdict;
}
