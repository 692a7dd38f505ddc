/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * DEC 21140A: the frame check sequence the receiver stores after each
 * frame.
 */
#ifndef HW_NET_DEC21140A_FCS_H
#define HW_NET_DEC21140A_FCS_H

/*
 * dec21140a_fcs - the Ethernet FCS (CRC-32, IEEE 802.3) of @len bytes,
 * as zlib's crc32(0, buf, len) computes it; stored little-endian after
 * the frame, it is what the chip writes to the receive buffer.
 */
uint32_t dec21140a_fcs(const uint8_t *buf, size_t len);

#endif
