/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the internet checksum (RFC 1071) and its incremental update
 * (RFC 1624), for IP headers and the TCP/UDP/ICMP pseudo-header sums of
 * IPv4 and IPv6.  The sum runs over 64-bit words: it is on the NAT's
 * data path, once per segment sent to a guest without checksum offload.
 */
#ifndef VPCNET_CHECKSUM_H
#define VPCNET_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Internet checksum (RFC 1071).  Sums are of big-endian 16-bit words and
 * are kept folded to 16 bits, so partial sums can be added together.
 */

/*
 * vpc_csum_partial - add @len bytes to the running sum @sum (start at 0).
 * Every piece but the last must have an even length; an odd last byte is
 * padded with zero, as RFC 1071 says.
 */
uint32_t vpc_csum_partial(uint32_t sum, const void *buf, size_t len);

/* vpc_csum_fold - fold @sum to 16 bits and complement: the checksum. */
uint16_t vpc_csum_fold(uint32_t sum);

/* vpc_ip_checksum - the checksum of @len bytes (an IPv4 header). */
uint16_t vpc_ip_checksum(const void *buf, size_t len);

/* vpc_csum_pseudo_ipv4 - the sum of the IPv4 pseudo-header (host order). */
uint32_t vpc_csum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                              uint16_t l4_len);

/*
 * vpc_l4_checksum_ipv4 - the UDP or TCP checksum of the segment @l4 (its
 * checksum field zero, or the value to verify: then the result is 0).
 * For UDP the caller sends 0xffff in place of a computed 0.
 */
uint16_t vpc_l4_checksum_ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                              const void *l4, size_t len);

/*
 * vpc_csum_pseudo_ipv6 - the sum of the IPv6 pseudo-header (RFC 8200,
 * section 8.1) for an upper-layer packet of @l4_len bytes.
 */
uint32_t vpc_csum_pseudo_ipv6(const uint8_t src[16], const uint8_t dst[16],
                              uint8_t next_header, uint32_t l4_len);

/* vpc_l4_checksum_ipv6 - as vpc_l4_checksum_ipv4, over IPv6. */
uint16_t vpc_l4_checksum_ipv6(const uint8_t src[16], const uint8_t dst[16],
                              uint8_t next_header, const void *l4,
                              size_t len);

/*
 * vpc_csum_adjust16, vpc_csum_adjust32 - update checksum @csum after a
 * 16-bit word (or two words) of the covered data changed from @from to
 * @to, without summing the data again (RFC 1624, eqn. 3).
 */
uint16_t vpc_csum_adjust16(uint16_t csum, uint16_t from, uint16_t to);
uint16_t vpc_csum_adjust32(uint16_t csum, uint32_t from, uint32_t to);

#endif
