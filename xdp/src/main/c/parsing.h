/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Header parsing. A cursor walks the packet; each parser checks that its whole header lies
 * inside the packet before it hands out a pointer, so no caller touches packet memory unchecked.
 * Parsers return the next protocol number (host order) or -1 when the header is truncated or
 * malformed.
 */
#ifndef MARCHPROXY_PARSING_H
#define MARCHPROXY_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* 802.1Q and 802.1ad: at most an outer and an inner tag (QinQ). */
#define MP_MAX_VLAN_TAGS 2
/* IPv6 extension headers walked before giving up; real traffic carries one or two. */
#define MP_MAX_IPV6_EXT_HEADERS 6

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

struct hdr_cursor {
	void *pos;
	void *end;
};

struct vlan_tag {
	__be16 tci;
	__be16 encapsulated_proto;
};

struct ipv6_ext_header {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct ipv6_fragment_header {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

/* Hands out `len` bytes at the cursor and advances it, or NULL if they are not all there. */
static __always_inline void *cursor_take(struct hdr_cursor *c, __u32 len) {
	void *start = c->pos;

	if (start + len > c->end)
		return NULL;
	c->pos = start + len;
	return start;
}

/* Like cursor_take but leaves the cursor where it is. */
static __always_inline void *cursor_peek(struct hdr_cursor *c, __u32 len) {
	if (c->pos + len > c->end)
		return NULL;
	return c->pos;
}

static __always_inline int proto_is_vlan(__be16 proto) {
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/* Ethernet plus up to two VLAN tags; returns the EtherType of what follows. */
static __always_inline int parse_ethhdr(struct hdr_cursor *c, struct ethhdr **eth_out) {
	struct ethhdr *eth = cursor_take(c, sizeof(*eth));
	__be16 proto;

	if (!eth)
		return -1;
	*eth_out = eth;
	proto = eth->h_proto;

#pragma unroll
	for (int i = 0; i < MP_MAX_VLAN_TAGS; i++) {
		struct vlan_tag *tag;

		if (!proto_is_vlan(proto))
			break;
		tag = cursor_take(c, sizeof(*tag));
		if (!tag)
			return -1;
		proto = tag->encapsulated_proto;
	}
	/* A third tag is more than this parser admits: treat it as not IP. */
	if (proto_is_vlan(proto))
		return 0;
	return bpf_ntohs(proto);
}

/* IPv4 header with options; returns the L4 protocol, or 0 for a non-first fragment. */
static __always_inline int parse_iphdr(struct hdr_cursor *c, struct iphdr **ip_out) {
	struct iphdr *ip = cursor_peek(c, sizeof(*ip));
	__u32 len;

	if (!ip)
		return -1;
	len = ip->ihl * 4;
	if (ip->version != 4 || len < sizeof(*ip))
		return -1;
	if (!cursor_take(c, len))
		return -1;
	*ip_out = ip;
	/* Only the first fragment carries the ports. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return 0;
	return ip->protocol;
}

static __always_inline int ipv6_is_ext_header(__u8 nexthdr) {
	switch (nexthdr) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_FRAGMENT:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_MH:
		return 1;
	default:
		return 0;
	}
}

/* Walks a bounded chain of extension headers; returns the upper-layer protocol. */
static __always_inline int skip_ipv6_ext_headers(struct hdr_cursor *c, __u8 nexthdr) {
#pragma unroll
	for (int i = 0; i < MP_MAX_IPV6_EXT_HEADERS; i++) {
		struct ipv6_ext_header *ext;

		if (!ipv6_is_ext_header(nexthdr))
			return nexthdr;
		ext = cursor_peek(c, sizeof(*ext));
		if (!ext)
			return -1;
		switch (nexthdr) {
		case IPPROTO_FRAGMENT: {
			struct ipv6_fragment_header *frag = cursor_take(c, sizeof(*frag));

			if (!frag)
				return -1;
			/* Later fragments have no upper-layer header to look at. */
			if (frag->frag_off & bpf_htons(0xfff8))
				return 0;
			nexthdr = frag->nexthdr;
			break;
		}
		case IPPROTO_AH:
			/* AH counts its length in 4-byte units, minus 2. */
			nexthdr = ext->nexthdr;
			if (!cursor_take(c, (ext->hdrlen + 2) * 4))
				return -1;
			break;
		default:
			nexthdr = ext->nexthdr;
			if (!cursor_take(c, (ext->hdrlen + 1) * 8))
				return -1;
			break;
		}
	}
	/* Still an extension header after the bound: give up rather than guess. */
	return ipv6_is_ext_header(nexthdr) ? -1 : nexthdr;
}

static __always_inline int parse_ip6hdr(struct hdr_cursor *c, struct ipv6hdr **ip6_out) {
	struct ipv6hdr *ip6 = cursor_take(c, sizeof(*ip6));

	if (!ip6)
		return -1;
	if (ip6->version != 6)
		return -1;
	*ip6_out = ip6;
	return skip_ipv6_ext_headers(c, ip6->nexthdr);
}

/* TCP header with options; the cursor ends at the payload. */
static __always_inline int parse_tcphdr(struct hdr_cursor *c, struct tcphdr **tcp_out) {
	struct tcphdr *tcp = cursor_peek(c, sizeof(*tcp));
	__u32 len;

	if (!tcp)
		return -1;
	len = tcp->doff * 4;
	if (len < sizeof(*tcp))
		return -1;
	if (!cursor_take(c, len))
		return -1;
	*tcp_out = tcp;
	return 0;
}

static __always_inline int parse_udphdr(struct hdr_cursor *c, struct udphdr **udp_out) {
	struct udphdr *udp = cursor_take(c, sizeof(*udp));

	if (!udp)
		return -1;
	*udp_out = udp;
	return 0;
}

#endif
