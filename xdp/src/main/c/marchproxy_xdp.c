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

/* Offsets stage 1 hands to stage 2; bounded so pointer arithmetic stays provable. */
#define MP_MAX_HEADER_OFFSET 4096

/* Stage-2 flags: the family and whether the packet is a TCP SYN. */
#define MP_META_IPV6 (1U << 0)
#define MP_META_SYN  (1U << 1)

/* Bounds a stage-2 offset argument in a form the verifier keeps (see classify_payload). */
static __always_inline __u32 bounded_offset(__u32 off) {
	asm volatile("" : "+r"(off));
	return off & (MP_MAX_HEADER_OFFSET - 1);
}

/*
 * Stage 2: lists, budgets, classification and the verdict for a packet to a protected port.
 * A global function, so the verifier checks it once with unknown offsets instead of once per
 * header layout stage 1 can produce (VLAN tags x IPv4 options x IPv6 extension header chains x
 * TCP options), which would otherwise multiply. Traffic that is not covered never gets here.
 */
__attribute__((noinline)) int enforce(struct xdp_md *ctx, __u32 l3_off, __u32 payload_off,
				      __u32 ip_end_off, __u32 meta) {
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	struct hdr_cursor payload = {.pos = data, .end = data_end};
	struct hdr_cursor l3 = {.pos = data, .end = data_end};
	enum mp_budget_verdict budget = MP_BUDGET_PASS;
	enum mp_policy policy;
	const struct mp_config *cfg;
	__u32 zero = 0;
	int is_syn = !!(meta & MP_META_SYN);
	long payload_len = (long)bounded_offset(ip_end_off) - (long)bounded_offset(payload_off);

	cfg = bpf_map_lookup_elem(&mp_config, &zero);
	if (!cfg)
		return pass(MP_C_PASS_DISABLED, bytes);
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
	if (!cursor_take(&payload, bounded_offset(payload_off)))
		payload_len = 0;
	if (policy == MP_POLICY_ALLOWLIST) {
		if (cfg->flags & MP_CFG_CLASSIFY)
			count_payload_class(ctx, &payload, payload_len, bytes);
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
		count_payload_class(ctx, &payload, payload_len, bytes);
	return pass(MP_C_PASS, bytes);
}

/* Stage 1: parse up to the L4 header and pass everything the config does not cover. */
static __always_inline int decide(struct xdp_md *ctx, struct iphdr **ip4_out) {
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	struct hdr_cursor c = {.pos = data, .end = data_end};
	struct ethhdr *eth;
	struct iphdr *ip4 = NULL;
	struct ipv6hdr *ip6 = NULL;
	struct tcphdr *tcp = NULL;
	struct udphdr *udp;
	const struct mp_config *cfg;
	void *l3,
	    *ip_end; /* ip_end: where the datagram ends by its length field; padding follows */
	__u32 zero = 0, port, *port_flags, meta = 0;
	int ethertype, l4;

	/* Not IP, a third VLAN tag, or cut short inside the VLAN tags: nothing we could cover. */
	ethertype = parse_ethhdr(&c, &eth);
	l3 = c.pos;
	if (ethertype == ETH_P_IP) {
		l4 = parse_iphdr(&c, &ip4);
		if (l4 < 0)
			return pass(MP_C_PASS_MALFORMED, bytes);
		*ip4_out = ip4;
		ip_end = l3 + bpf_ntohs(ip4->tot_len);
	} else if (ethertype == ETH_P_IPV6) {
		l4 = parse_ip6hdr(&c, &ip6);
		if (l4 < 0)
			return pass(MP_C_PASS_MALFORMED, bytes);
		ip_end = l3 + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		meta |= MP_META_IPV6;
	} else {
		return pass(MP_C_PASS_NOT_IP, bytes);
	}

	cfg = bpf_map_lookup_elem(&mp_config, &zero);
	if (!cfg || !(cfg->flags & MP_CFG_ENABLED))
		return pass(MP_C_PASS_DISABLED, bytes);

	if (l4 == IPPROTO_TCP) {
		if (parse_tcphdr(&c, &tcp) < 0)
			return pass(MP_C_PASS_MALFORMED, bytes);
		port = bpf_ntohs(tcp->dest);
		if (tcp->syn && !tcp->ack)
			meta |= MP_META_SYN;
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

	if (c.pos - data >= MP_MAX_HEADER_OFFSET)
		return pass(MP_C_PASS_MALFORMED, bytes);
	/* Classification needs only the first bytes, so a longer datagram is cut to the bound. */
	if (ip_end - data > MP_MAX_HEADER_OFFSET - 1)
		ip_end = data + MP_MAX_HEADER_OFFSET - 1;
	return enforce(ctx, l3 - data, c.pos - data, ip_end - data, meta);
}

SEC("xdp")
int marchproxy_xdp(struct xdp_md *ctx) {
	struct iphdr *ip4 = NULL;
	int verdict = decide(ctx, &ip4);

	bench_rotate_source(ip4);
	return verdict;
}
