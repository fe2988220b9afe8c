/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark floor: the cost of BPF_PROG_TEST_RUN itself around a program that does nothing. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int return_pass(struct xdp_md *ctx) {
	return XDP_PASS;
}
