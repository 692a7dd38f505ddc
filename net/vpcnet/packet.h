/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: every packet view and builder of the library, for embedders
 * that want them all.  The rules they keep are in wire.h; each protocol
 * has a header of its own, which is what the library's files include.
 */
#ifndef VPCNET_PACKET_H
#define VPCNET_PACKET_H

#include "net/vpcnet/wire.h"
#include "net/vpcnet/checksum.h"
#include "net/vpcnet/eth.h"
#include "net/vpcnet/arp.h"
#include "net/vpcnet/ipv4.h"
#include "net/vpcnet/ipv6.h"
#include "net/vpcnet/icmp.h"
#include "net/vpcnet/icmp6.h"
#include "net/vpcnet/tcp.h"
#include "net/vpcnet/udp.h"
#include "net/vpcnet/dhcp-wire.h"

#endif
