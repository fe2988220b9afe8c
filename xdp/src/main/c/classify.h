/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Payload classification from the first bytes of a packet: HTTP/1 methods, a TLS ClientHello,
 * the HTTP/2 connection preface, or other. Counting only; it never changes a verdict.
 */
#ifndef MARCHPROXY_CLASSIFY_H
#define MARCHPROXY_CLASSIFY_H

#include "counters.h"
#include "parsing.h"

/* Four ASCII bytes as the little- or big-endian word a 4-byte load returns. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MP_WORD(a, b, c, d)                                                                        \
	((__u32)(a) | ((__u32)(b) << 8) | ((__u32)(c) << 16) | ((__u32)(d) << 24))
#else
#define MP_WORD(a, b, c, d)                                                                        \
	((__u32)(d) | ((__u32)(c) << 8) | ((__u32)(b) << 16) | ((__u32)(a) << 24))
#endif

#define MP_TLS_HANDSHAKE    0x16
#define MP_TLS_CLIENT_HELLO 0x01

/* "PRI * HTTP/2.0\r\n" is the first 16 bytes of every HTTP/2 prior-knowledge connection. */
static __always_inline int is_http2_preface(const __u32 *w) {
	return w[0] == MP_WORD('P', 'R', 'I', ' ') && w[1] == MP_WORD('*', ' ', 'H', 'T') &&
	       w[2] == MP_WORD('T', 'P', '/', '2') && w[3] == MP_WORD('.', '0', '\r', '\n');
}

static __always_inline __u32 http_method_counter(__u32 word) {
	switch (word) {
	case MP_WORD('G', 'E', 'T', ' '):
		return MP_C_CLASS_HTTP_GET;
	case MP_WORD('P', 'O', 'S', 'T'):
		return MP_C_CLASS_HTTP_POST;
	case MP_WORD('P', 'U', 'T', ' '):
		return MP_C_CLASS_HTTP_PUT;
	case MP_WORD('D', 'E', 'L', 'E'):
		return MP_C_CLASS_HTTP_DELETE;
	case MP_WORD('H', 'E', 'A', 'D'):
		return MP_C_CLASS_HTTP_HEAD;
	case MP_WORD('O', 'P', 'T', 'I'):
		return MP_C_CLASS_HTTP_OPTIONS;
	case MP_WORD('P', 'A', 'T', 'C'):
		return MP_C_CLASS_HTTP_PATCH;
	case MP_WORD('C', 'O', 'N', 'N'):
		return MP_C_CLASS_HTTP_CONNECT;
	default:
		return MP_COUNTER_COUNT;
	}
}

/*
 * `c` points at the L4 payload and `len` is its length by the IP header; the frame may be longer
 * (Ethernet padding). Packets without payload (SYN, bare ACK) are not counted.
 *
 * One 4-byte load decides which class can still match, so a packet does only that class's
 * compares: "PRI " -> the HTTP/2 preface, a TLS handshake record byte -> a ClientHello, otherwise
 * the HTTP methods (decision 0110).
 */
static __always_inline void classify_payload(struct hdr_cursor *c, long len, __u64 bytes) {
	__u32 counter = MP_C_CLASS_OTHER, word, method;
	__u8 *p;

	if (len <= 0)
		return;
#ifdef MP_BENCH_CLASSIFY_COUNT_ONLY /* bench only: the class counter without reading the payload */
	count(MP_C_CLASS_OTHER, bytes);
	return;
#endif
#ifdef MP_BENCH_CLASSIFY_SEQUENTIAL /* bench only: the earlier order, every class in turn */
	p = len >= 16 ? cursor_peek(c, 16) : NULL;
	if (p && is_http2_preface((const __u32 *)p)) {
		count(MP_C_CLASS_HTTP2_PREFACE, bytes);
		return;
	}
	p = len >= 6 ? cursor_peek(c, 6) : NULL;
	if (p && p[0] == MP_TLS_HANDSHAKE && p[1] == 0x03 && p[5] == MP_TLS_CLIENT_HELLO) {
		count(MP_C_CLASS_TLS_CLIENT_HELLO, bytes);
		return;
	}
	p = len >= 4 ? cursor_peek(c, 4) : NULL;
	method = p ? http_method_counter(*(const __u32 *)p) : MP_COUNTER_COUNT;
	count(method < MP_COUNTER_COUNT ? method : MP_C_CLASS_OTHER, bytes);
	return;
#endif
	p = len >= 4 ? cursor_peek(c, 4) : NULL;
	if (!p) {
		count(counter, bytes);
		return;
	}
	word = *(const __u32 *)p;
	if (word == MP_WORD('P', 'R', 'I', ' ')) {
		p = len >= 16 ? cursor_peek(c, 16) : NULL;
		if (p && is_http2_preface((const __u32 *)p))
			counter = MP_C_CLASS_HTTP2_PREFACE;
	} else if (p[0] == MP_TLS_HANDSHAKE) {
		p = len >= 6 ? cursor_peek(c, 6) : NULL;
		if (p && p[1] == 0x03 && p[5] == MP_TLS_CLIENT_HELLO)
			counter = MP_C_CLASS_TLS_CLIENT_HELLO;
	} else {
		method = http_method_counter(word);
		if (method < MP_COUNTER_COUNT)
			counter = method;
	}
	count(counter, bytes);
}

#endif
