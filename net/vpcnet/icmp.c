/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the ICMPv4 view.  See icmp.h and wire.h.
 */
#include "net/vpcnet/icmp.h"
#include "net/vpcnet/checksum.h"

#include <string.h>

int vpc_icmp_parse(const uint8_t *buf, size_t len, VpcIcmpView *icmp)
{
    memset(icmp, 0, sizeof(*icmp));
    if (len < VPC_ICMP_HLEN) {
        return VPC_PKT_ICMP_TRUNCATED;
    }
    if (vpc_ip_checksum(buf, len) != 0) {
        return VPC_PKT_ICMP_CHECKSUM;
    }
    icmp->type = buf[0];
    icmp->code = buf[1];
    icmp->msg = buf;
    icmp->len = len;
    icmp->body = buf + 4;
    icmp->body_len = len - 4;
    if (vpc_icmp_is_echo(icmp->type)) {
        icmp->id = vpc_get_be16(buf + 4);
        icmp->seq = vpc_get_be16(buf + 6);
    }
    return VPC_PKT_OK;
}
