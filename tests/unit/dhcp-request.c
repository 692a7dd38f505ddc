/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests: DHCP requests as a client would send them.
 */
#include "dhcp-request.h"

#include <glib.h>
#include <string.h>

#include "net/vpcnet/dhcp-server.h"
#include "net/vpcnet/packet.h"

size_t test_dhcp_request_build(const TestDhcpRequest *r, uint8_t *frame,
                               size_t cap)
{
    static const uint8_t bcast[VPC_ETH_ALEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff
    };
    VpcDhcpHeader h = { 0 };
    VpcDhcpWriter w;
    VpcUdp4Frame f = { 0 };
    uint8_t *payload = frame + VPC_UDP4_FRAME_HLEN;
    int len;

    g_assert_cmpuint(cap, >, VPC_UDP4_FRAME_HLEN);
    h.op = VPC_BOOTREQUEST;
    h.htype = VPC_DHCP_HTYPE_ETHER;
    h.hlen = VPC_ETH_ALEN;
    h.xid = r->xid;
    h.flags = r->flags;
    h.ciaddr = r->ciaddr;
    h.giaddr = r->giaddr;
    memcpy(h.chaddr, r->chaddr, VPC_ETH_ALEN);
    vpc_dhcp_writer_init(&w, payload, cap - VPC_UDP4_FRAME_HLEN, &h);
    vpc_dhcp_put_u8(&w, VPC_DHCP_OPT_MSG_TYPE, r->type);
    if (r->requested) {
        vpc_dhcp_put_u32(&w, VPC_DHCP_OPT_REQUESTED_IP, r->requested);
    }
    if (r->server_id) {
        vpc_dhcp_put_u32(&w, VPC_DHCP_OPT_SERVER_ID, r->server_id);
    }
    if (r->hostname) {
        vpc_dhcp_put_option(&w, VPC_DHCP_OPT_HOSTNAME, r->hostname,
                            strlen(r->hostname));
    }
    if (r->client_id) {
        vpc_dhcp_put_option(&w, VPC_DHCP_OPT_CLIENT_ID, r->client_id,
                            r->client_id_len);
    }
    len = vpc_dhcp_writer_finish(&w, VPC_BOOTP_MIN_LEN);
    g_assert_cmpint(len, >, 0);

    memcpy(f.eth_src, r->eth_src ? r->eth_src : r->chaddr, VPC_ETH_ALEN);
    memcpy(f.eth_dst, r->eth_dst ? r->eth_dst : bcast, VPC_ETH_ALEN);
    f.ip_src = r->ip_src;
    f.ip_dst = r->ip_dst ? r->ip_dst : VPC_IPV4_BROADCAST;
    f.src_port = r->src_port ? r->src_port : VPC_DHCP_CLIENT_PORT;
    f.dst_port = VPC_DHCP_SERVER_PORT;
    f.ttl = 64;
    len = vpc_udp4_frame_build(frame, cap, &f, payload, len);
    g_assert_cmpint(len, >, 0);
    return len;
}
