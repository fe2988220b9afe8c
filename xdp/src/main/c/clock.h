/* SPDX-License-Identifier: Apache-2.0 */
/* The program's clock (decision 0107). */
#ifndef MARCHPROXY_CLOCK_H
#define MARCHPROXY_CLOCK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "config.h"

#define MP_NSEC_PER_SEC 1000000000ULL

/*
 * Now, in nanoseconds since boot: jiffies start at INITIAL_JIFFIES = 2^32 - 300 * HZ on 64-bit
 * kernels, i.e. 2^32 ticks less 300 seconds. This stays within a fraction of a second of
 * bpf_ktime_get_coarse_ns (0.3 s on the bench host), so state written with either clock keeps
 * its meaning with the other; tick_ns 0 (not written) selects that helper.
 */
static __always_inline __u64 mp_now(const struct mp_config *cfg) {
#ifndef MP_CLOCK_COARSE
	if (cfg->tick_ns)
		return (bpf_jiffies64() - (1ULL << 32)) * cfg->tick_ns + 300 * MP_NSEC_PER_SEC;
#endif
	return bpf_ktime_get_coarse_ns();
}

#endif
