/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark peer, not shipped: the per-source fixed-window counter the old public MarchProxy
 * used, written here from its description. Per IPv4 source, count packets in the current
 * one-second window (fine clock) and drop above the limit; the window state and a shared stats
 * counter are written on every packet, including the ones it drops, and there is no budget check
 * before the write. Only Ethernet + IPv4 are parsed.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct fw_config {
	__u32 limit_per_sec;
};

struct fw_window {
	__u64 window_start_ns;
	__u64 count;
};

struct fw_stats {
	__u64 packets;
	__u64 dropped;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fw_config);
} fw_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct fw_window);
} fw_windows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fw_stats);
} fw_stats SEC(".maps");

#define FW_WINDOW_NS 1000000000ULL

SEC("xdp")
int fixed_window(struct xdp_md *ctx) {
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct fw_config *cfg;
	struct fw_window *w, fresh = {};
	struct fw_stats *stats;
	__u32 zero = 0, src;
	__u64 now;
	int verdict = XDP_PASS;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	cfg = bpf_map_lookup_elem(&fw_config, &zero);
	if (!cfg || !cfg->limit_per_sec)
		return XDP_PASS;
	src = ip->saddr;
	now = bpf_ktime_get_ns();
	w = bpf_map_lookup_elem(&fw_windows, &src);
	if (!w) {
		fresh.window_start_ns = now;
		fresh.count = 1;
		bpf_map_update_elem(&fw_windows, &src, &fresh, BPF_ANY);
	} else {
		if (now - w->window_start_ns >= FW_WINDOW_NS) {
			w->window_start_ns = now;
			w->count = 0;
		}
		w->count++;
		if (w->count > cfg->limit_per_sec)
			verdict = XDP_DROP;
	}
	stats = bpf_map_lookup_elem(&fw_stats, &zero);
	if (stats) {
		stats->packets++;
		if (verdict == XDP_DROP)
			stats->dropped++;
	}
#ifdef MP_BENCH_ROTATE_SOURCE
	ip->saddr = bpf_htonl(bpf_ntohl(ip->saddr) + 1);
#endif
	return verdict;
}
