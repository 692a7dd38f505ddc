/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: what QEMU does for a guest on a Wi-Fi adapter (see
 * wifi.h).
 */
#include <string.h>

#include "net/vpcnet/arp.h"
#include "net/vpcnet/bridge/ndp.h"
#include "net/vpcnet/bridge/wifi.h"
#include "net/vpcnet/checksum.h"
#include "net/vpcnet/dhcp-wire.h"
#include "net/vpcnet/eth.h"
#include "net/vpcnet/ipv4.h"
#include "net/vpcnet/macaddr.h"
#include "net/vpcnet/udp.h"

const char *vpc_wifi_counter_name(VpcWifiCounter c)
{
    static const char *const names[VPC_WIFI_NR] = {
        [VPC_WIFI_DHCP_FLAGGED] = "dhcp-flagged",
        [VPC_WIFI_DHCP_CHADDR] = "dhcp-chaddr",
        [VPC_WIFI_DHCP_RESTORED] = "dhcp-restored",
        [VPC_WIFI_DHCP_CLIENT_ID] = "dhcp-client-id",
        [VPC_WIFI_DHCP_NO_ROOM] = "dhcp-no-room",
        [VPC_WIFI_LEARNED_ARP] = "learned-arp",
        [VPC_WIFI_LEARNED_DHCP] = "learned-dhcp",
        [VPC_WIFI_LEARNED_NDP] = "learned-ndp",
        [VPC_WIFI_FORGOTTEN] = "forgotten",
        [VPC_WIFI_REFUSED] = "refused",
    };
    return c < VPC_WIFI_NR ? names[c] : "?";
}

void vpc_wifi_guest_init(VpcWifiGuest *g, const uint8_t mac[6],
                         const uint8_t host_mac[6], const VpcWifiOps *ops,
                         void *opaque)
{
    memset(g, 0, sizeof(*g));
    memcpy(g->mac, mac, 6);
    memcpy(g->host_mac, host_mac, 6);
    g->ops = ops;
    g->opaque = opaque;
}

bool vpc_wifi_has_addr(const VpcWifiGuest *g, const VpcBridgeIpKey *key)
{
    unsigned i;

    for (i = 0; i < VPC_WIFI_MAX_ADDRS; i++) {
        if (g->addrs[i].used &&
            memcmp(&g->addrs[i].key, key, sizeof(*key)) == 0) {
            return true;
        }
    }
    return false;
}

static void forget_slot(VpcWifiGuest *g, VpcWifiAddr *a)
{
    a->used = false;
    g->counters[VPC_WIFI_FORGOTTEN]++;
    if (g->ops && g->ops->del_addr) {
        g->ops->del_addr(g->opaque, &a->key);
    }
}

static void forget(VpcWifiGuest *g, const VpcBridgeIpKey *key)
{
    unsigned i;

    for (i = 0; i < VPC_WIFI_MAX_ADDRS; i++) {
        if (g->addrs[i].used &&
            memcmp(&g->addrs[i].key, key, sizeof(*key)) == 0) {
            forget_slot(g, &g->addrs[i]);
        }
    }
}

void vpc_wifi_forget_all(VpcWifiGuest *g)
{
    unsigned i;

    for (i = 0; i < VPC_WIFI_MAX_ADDRS; i++) {
        if (g->addrs[i].used) {
            forget_slot(g, &g->addrs[i]);
        }
    }
}

static void learn(VpcWifiGuest *g, const VpcBridgeIpKey *key, uint64_t now,
                  VpcWifiCounter how)
{
    VpcWifiAddr *slot = NULL;
    unsigned i;

    for (i = 0; i < VPC_WIFI_MAX_ADDRS; i++) {
        VpcWifiAddr *a = &g->addrs[i];

        if (a->used && memcmp(&a->key, key, sizeof(*key)) == 0) {
            a->last_seen = now;
            return;
        }
        if (!a->used) {
            if (!slot || slot->used) {
                slot = a;
            }
        } else if (!slot || (slot->used && a->last_seen < slot->last_seen)) {
            slot = a;
        }
    }
    if (g->ops && g->ops->add_addr && !g->ops->add_addr(g->opaque, key)) {
        g->counters[VPC_WIFI_REFUSED]++;
        return;
    }
    if (slot->used) {
        forget_slot(g, slot);
    }
    slot->key = *key;
    slot->last_seen = now;
    slot->used = true;
    g->counters[how]++;
}

static void learn_v4(VpcWifiGuest *g, uint32_t addr, uint64_t now,
                     VpcWifiCounter how)
{
    VpcBridgeIpKey key;

    /* 0.0.0.0, broadcast, multicast and loopback are nobody's */
    if (addr == 0 || addr == VPC_IPV4_BROADCAST ||
        (addr >> 28) == 0xe || (addr >> 24) == 127) {
        return;
    }
    vpc_bridge_ip_key_v4(&key, addr);
    learn(g, &key, now, how);
}

static void learn_v6(VpcWifiGuest *g, const uint8_t addr[16], uint64_t now)
{
    VpcBridgeIpKey key;

    if (vpc_ipv6_is_unspecified(addr) || vpc_ipv6_is_multicast(addr) ||
        vpc_ipv6_is_loopback(addr)) {
        return;
    }
    memcpy(key.addr, addr, 16);
    learn(g, &key, now, VPC_WIFI_LEARNED_NDP);
}

/* The UDP checksum of the datagram at @udp (IPv4 header at @ip), anew. */
static void udp4_checksum(uint8_t *ip, uint8_t *udp, size_t udp_len)
{
    uint16_t csum;

    vpc_put_be16(udp + 6, 0);
    csum = vpc_l4_checksum_ipv4(vpc_get_be32(ip + 12), vpc_get_be32(ip + 16),
                                VPC_IP_PROTO_UDP, udp, udp_len);
    vpc_put_be16(udp + 6, csum ? csum : 0xffff);
}

/*
 * A BOOTREQUEST from the guest: the host's MAC in chaddr, the broadcast
 * flag, and a client identifier if it has none.  The frame has been
 * parsed: @ip_off, @udp_off and @dhcp_off are where the headers start.
 */
static size_t rewrite_dhcp_request(VpcWifiGuest *g, uint8_t *frame,
                                   size_t len, size_t cap, size_t ip_off,
                                   size_t udp_off, size_t dhcp_off,
                                   const VpcDhcpView *dhcp,
                                   size_t dhcp_len)
{
    uint8_t *ip = frame + ip_off;
    uint8_t *udp = frame + udp_off;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    size_t end_off, new_dhcp_len = dhcp_len, new_len;
    VpcDhcpOpt opt;
    uint16_t flags;

    g->xid = dhcp->hdr.xid;
    g->has_xid = true;
    if (dhcp->hdr.htype == VPC_DHCP_HTYPE_ETHER && dhcp->hdr.hlen == 6 &&
        vpc_mac_equal(dhcp->hdr.chaddr, g->mac)) {
        memcpy(frame + dhcp_off + 28, g->host_mac, 6);
        g->counters[VPC_WIFI_DHCP_CHADDR]++;
    }
    flags = vpc_get_be16(frame + dhcp_off + 10);
    if (!(flags & VPC_DHCP_FLAG_BROADCAST)) {
        vpc_put_be16(frame + dhcp_off + 10, flags | VPC_DHCP_FLAG_BROADCAST);
        g->counters[VPC_WIFI_DHCP_FLAGGED]++;
    }
    if (!vpc_dhcp_opt_find(dhcp, VPC_DHCP_OPT_CLIENT_ID, &opt)) {
        /* END is the last byte of the walked options */
        end_off = (size_t)(dhcp->options - frame) + dhcp->options_len - 1;
        if (end_off + VPC_WIFI_DHCP_GROWTH + 1 > dhcp_off + dhcp_len) {
            new_dhcp_len = end_off + VPC_WIFI_DHCP_GROWTH + 1 - dhcp_off;
        }
        if (dhcp_off + new_dhcp_len > cap ||
            udp_off + 8 + new_dhcp_len - ip_off > VPC_IPV4_MAX_LEN) {
            g->counters[VPC_WIFI_DHCP_NO_ROOM]++;
            new_dhcp_len = dhcp_len;
        } else {
            uint8_t *p = frame + end_off;

            *p++ = VPC_DHCP_OPT_CLIENT_ID;
            *p++ = 7;
            *p++ = VPC_DHCP_HTYPE_ETHER;
            memcpy(p, g->mac, 6);
            p += 6;
            *p = VPC_DHCP_OPT_END;
            g->counters[VPC_WIFI_DHCP_CLIENT_ID]++;
        }
    }
    /* lengths and checksums anew */
    vpc_put_be16(udp + 4, (uint16_t)(8 + new_dhcp_len));
    vpc_put_be16(ip + 2, (uint16_t)(ihl + 8 + new_dhcp_len));
    vpc_put_be16(ip + 10, 0);
    vpc_put_be16(ip + 10, vpc_ip_checksum(ip, ihl));
    udp4_checksum(ip, udp, 8 + new_dhcp_len);
    new_len = dhcp_off + new_dhcp_len;
    /* Ethernet padding beyond the datagram is kept as it was */
    return new_len > len ? new_len : len;
}

static size_t from_guest_ipv4(VpcWifiGuest *g, uint8_t *frame, size_t len,
                              size_t cap, uint64_t now)
{
    VpcEthView eth;
    VpcIpv4View ip;
    VpcUdpView udp;
    VpcDhcpView dhcp;
    size_t ip_off, udp_off, dhcp_off;

    if (vpc_udp4_frame_parse(frame, len, &eth, &ip, &udp) != 0 ||
        udp.src_port != VPC_DHCP_CLIENT_PORT ||
        udp.dst_port != VPC_DHCP_SERVER_PORT ||
        vpc_dhcp_parse(udp.payload, udp.payload_len, &dhcp) != 0 ||
        dhcp.hdr.op != VPC_BOOTREQUEST) {
        return len;
    }
    if (dhcp.msg_type == VPC_DHCPRELEASE && dhcp.hdr.ciaddr) {
        VpcBridgeIpKey key;

        vpc_bridge_ip_key_v4(&key, dhcp.hdr.ciaddr);
        forget(g, &key);
    }
    ip_off = (size_t)(ip.hdr - frame);
    udp_off = ip_off + ip.hlen;
    dhcp_off = udp_off + VPC_UDP_HLEN;
    return rewrite_dhcp_request(g, frame, len, cap, ip_off, udp_off,
                                dhcp_off, &dhcp, udp.payload_len);
}

size_t vpc_wifi_from_guest(VpcWifiGuest *g, uint8_t *frame, size_t len,
                           size_t cap, uint64_t now)
{
    VpcEthView eth;

    if (vpc_eth_parse(frame, len, &eth) != 0 ||
        !vpc_mac_equal(eth.src, g->mac)) {
        return len;
    }
    switch (eth.ethertype) {
    case VPC_ETHERTYPE_ARP: {
        VpcArpView arp;

        if (vpc_arp_parse(eth.payload, eth.payload_len, &arp) == 0 &&
            vpc_mac_equal(arp.sha, g->mac)) {
            learn_v4(g, arp.spa, now, VPC_WIFI_LEARNED_ARP);
        }
        return len;
    }
    case VPC_ETHERTYPE_IPV4:
        return from_guest_ipv4(g, frame, len, cap, now);
    case VPC_ETHERTYPE_IPV6: {
        VpcBridgeNdp ndp;

        if (vpc_bridge_ndp_parse(eth.payload, eth.payload_len, &ndp) == 0) {
            if (ndp.has_src) {
                learn_v6(g, ndp.src, now);
            }
            if (ndp.type == VPC_ICMP6_NEIGHBOR_ADVERT) {
                learn_v6(g, ndp.target, now);
            }
        }
        return len;
    }
    default:
        return len;
    }
}

void vpc_wifi_to_guest(VpcWifiGuest *g, uint8_t *frame, size_t len,
                       uint64_t now)
{
    VpcEthView eth;
    VpcIpv4View ip;
    VpcUdpView udp;
    VpcDhcpView dhcp;
    uint8_t *ip_hdr, *udp_hdr;

    if (vpc_udp4_frame_parse(frame, len, &eth, &ip, &udp) != 0 ||
        udp.src_port != VPC_DHCP_SERVER_PORT ||
        udp.dst_port != VPC_DHCP_CLIENT_PORT ||
        vpc_dhcp_parse(udp.payload, udp.payload_len, &dhcp) != 0 ||
        dhcp.hdr.op != VPC_BOOTREPLY ||
        dhcp.hdr.htype != VPC_DHCP_HTYPE_ETHER || dhcp.hdr.hlen != 6) {
        return;
    }
    if (vpc_mac_equal(dhcp.hdr.chaddr, g->host_mac)) {
        /* ours only if it answers our last request */
        if (!g->has_xid || dhcp.hdr.xid != g->xid) {
            return;
        }
        ip_hdr = frame + (ip.hdr - frame);
        udp_hdr = ip_hdr + ip.hlen;
        memcpy(udp_hdr + VPC_UDP_HLEN + 28, g->mac, 6);
        udp4_checksum(ip_hdr, udp_hdr, udp.length);
        g->counters[VPC_WIFI_DHCP_RESTORED]++;
    } else if (!vpc_mac_equal(dhcp.hdr.chaddr, g->mac)) {
        return;
    }
    if (dhcp.msg_type == VPC_DHCPACK) {
        learn_v4(g, dhcp.hdr.yiaddr, now, VPC_WIFI_LEARNED_DHCP);
    }
}
