/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration the control plane writes: one value in the `mp_config` array, plus the
 * per-port protection flags in `mp_ports`. The Java side (XdpConfig) writes this exact layout.
 */
#ifndef MARCHPROXY_CONFIG_H
#define MARCHPROXY_CONFIG_H

#include <linux/types.h>

/* mp_config.flags */
#define MP_CFG_ENABLED	  (1U << 0) /* off: every packet passes, counted as PASS_DISABLED */
#define MP_CFG_RATE_LIMIT (1U << 1) /* per-source packet budget */
#define MP_CFG_SYN_GUARD  (1U << 2) /* per-source SYN budget and the global new-source cap */
#define MP_CFG_ALLOWLIST  (1U << 3) /* look up the allow list (set while it has entries) */
#define MP_CFG_DENYLIST	  (1U << 4) /* look up the deny list (set while it has entries) */
#define MP_CFG_CLASSIFY	  (1U << 5) /* count payload protocols of passed packets */

/* mp_ports values: which protocols are protected on a destination port. */
#define MP_PORT_TCP (1U << 0)
#define MP_PORT_UDP (1U << 1)

/*
 * A budget is a rate (per second, >= 1) and a burst (>= 1). The program never divides: user space
 * also writes the interval between conforming packets (1e9 / rate) and the slack a burst gives,
 * (burst - 1) * interval, both in nanoseconds.
 */
struct mp_budget {
	__u32 per_sec;
	__u32 burst;
	__u64 interval_ns;
	__u64 slack_ns;
};

struct mp_config {
	__u32 flags;
	/*
	 * Nanoseconds per kernel tick (jiffy), as clock_getres(CLOCK_MONOTONIC_COARSE) reports it;
	 * 0 (a writer that predates the field) selects the coarse-clock helper instead.
	 */
	__u32 tick_ns;
	struct mp_budget packets;     /* per source, every protected packet */
	struct mp_budget syns;	      /* per source, TCP SYN without ACK */
	struct mp_budget new_sources; /* global: sources admitted to the table per second */
};

#endif
