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
	__u64 now = mp_now(cfg); /* once for the lists and the budgets */

	if (cfg->flags & (MP_CFG_ALLOWLIST | MP_CFG_DENYLIST)) {
		__u32 listed = lists_v4(cfg, src, now);

		if (listed & MP_LISTED_ALLOW)
			return MP_POLICY_ALLOWLIST;
		if (listed & MP_LISTED_DENY)
			return MP_POLICY_DENYLIST;
	}
	*budget = check_budgets_v4(cfg, src, is_syn, now);
	return MP_POLICY_BUDGET;
}

static __always_inline enum mp_policy policy_v6(const struct mp_config *cfg,
						const struct in6_addr *src, int is_syn,
						enum mp_budget_verdict *budget) {
	struct in6_addr key = *src; /* the map helpers need a stack copy, not packet memory */
	__u64 now = mp_now(cfg);

	if (cfg->flags & (MP_CFG_ALLOWLIST | MP_CFG_DENYLIST)) {
		__u32 listed = lists_v6(cfg, &key, now);

		if (listed & MP_LISTED_ALLOW)
			return MP_POLICY_ALLOWLIST;
		if (listed & MP_LISTED_DENY)
			return MP_POLICY_DENYLIST;
	}
	*budget = check_budgets_v6(cfg, &key, is_syn, now);
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
	enum mp_budget_verdict budget = MP_BUDGET_PASS;
	enum mp_policy policy;
	const struct mp_config *cfg;
	__u32 zero = 0, port, *port_flags;
	int ethertype, l4, is_syn = 0;
	void *ip_end; /* where the IP datagram ends by its length field; padding may follow */
	long payload_len;

	/* Not IP, a third VLAN tag, or cut short inside the VLAN tags: nothing we could cover. */
	ethertype = parse_ethhdr(&c, &eth);
	if (ethertype == ETH_P_IP)
		l4 = parse_iphdr(&c, &ip4);
	else if (ethertype == ETH_P_IPV6)
		l4 = parse_ip6hdr(&c, &ip6);
	else
		return pass(MP_C_PASS_NOT_IP, bytes);
	*ip4_out = ip4;
	if (l4 < 0)
		return pass(MP_C_PASS_MALFORMED, bytes);
	if (ip4)
		ip_end = (void *)ip4 + bpf_ntohs(ip4->tot_len);
	else if (ip6)
		ip_end = (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len);
	else
		return pass(MP_C_PASS_MALFORMED, bytes);

	cfg = bpf_map_lookup_elem(&mp_config, &zero);
	if (!cfg || !(cfg->flags & MP_CFG_ENABLED))
		return pass(MP_C_PASS_DISABLED, bytes);

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

	payload_len = ip_end - c.pos;

	if (ip4)
		policy = policy_v4(cfg, ip4->saddr, is_syn, &budget);
	else if (ip6)
		policy = policy_v6(cfg, &ip6->saddr, is_syn, &budget);
	else
		return pass(MP_C_PASS_MALFORMED, bytes);
	if (policy == MP_POLICY_ALLOWLIST) {
		if (cfg->flags & MP_CFG_CLASSIFY)
			classify_payload(&c, payload_len, bytes);
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
		classify_payload(&c, payload_len, bytes);
	return pass(MP_C_PASS, bytes);
}

SEC("xdp")
int marchproxy_xdp(struct xdp_md *ctx) {
	struct iphdr *ip4 = NULL;
	int verdict = decide(ctx, &ip4);

	bench_rotate_source(ip4);
	return verdict;
}
