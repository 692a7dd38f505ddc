/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet NAT: DHCP for the guest, from the library's DHCP server.
 *
 * The server (dhcp-server.[ch], the one the internal network uses) runs
 * with the gateway's address and MAC as its own, hands out the 16
 * addresses from dhcpstart (libslirp's pool size) with a one-day lease,
 * and tells the guest its router (the gateway), DNS server, domain,
 * search list, host name and MTU.  Leases live only in memory.  As
 * libslirp's, the server hands out the lowest free address: the first
 * guest gets dhcpstart, which is where port forwards without a guest
 * address go (fwd.c).
 */
#include "net/vpcnet/nat/nat-impl.h"
#include "net/vpcnet/dhcp-wire.h"

#include <stdio.h>
#include <string.h>

#define NAT_DHCP_POOL       16
#define NAT_DHCP_LEASE_S    86400

int nat_dhcp_init(VpcNat *nat, char *err, size_t errlen)
{
    const VpcNatConfig *c = &nat->cfg;
    VpcDhcpConfig dc;
    const char *names[VPC_NAT_MAX_DNSSEARCH];
    uint32_t last = c->net | (~c->netmask - 1);
    char why[128];
    int n;

    if (!c->ipv4 || !c->dhcp) {
        return 0;
    }
    vpc_dhcp_config_init(&dc);
    dc.server_ip = c->host;
    memcpy(dc.server_mac, c->gateway_mac, 6);
    dc.netmask = c->netmask;
    dc.range_start = c->dhcp_start;
    dc.range_end = c->dhcp_start + NAT_DHCP_POOL - 1 < last
                   ? c->dhcp_start + NAT_DHCP_POOL - 1 : last;
    dc.router = c->host;
    dc.dns[0] = c->dns;
    dc.n_dns = 1;
    snprintf(dc.domain, sizeof(dc.domain), "%s", c->domainname);
    snprintf(dc.client_hostname, sizeof(dc.client_hostname), "%s",
             c->hostname);
    dc.mtu = (uint16_t)(c->mtu < 65535 ? c->mtu : 65535);
    dc.lease_time = NAT_DHCP_LEASE_S;
    dc.max_leases = 64;
    dc.lowest_first = true;
    for (unsigned i = 0; i < c->n_dnssearch; i++) {
        names[i] = c->dnssearch[i];
    }
    n = vpc_dhcp_encode_search(names, c->n_dnssearch, dc.search,
                               sizeof(dc.search));
    if (n < 0) {
        snprintf(err, errlen, "dnssearch=: the names do not fit in one DHCP "
                 "option (255 bytes) or one is not a domain name");
        return -1;
    }
    dc.search_len = (unsigned)n;
    if (vpc_dhcp_config_check(&dc, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "DHCP: %s", why);
        return -1;
    }
    nat->dhcp = vpc_dhcp_server_new(&dc);
    if (!nat->dhcp) {
        snprintf(err, errlen, "out of memory for the DHCP server");
        return -1;
    }
    return 0;
}

void nat_dhcp_free(VpcNat *nat)
{
    vpc_dhcp_server_free(nat->dhcp);
    nat->dhcp = NULL;
}

bool nat_dhcp_input(VpcNat *nat, const uint8_t *frame, size_t len)
{
    size_t vnet = nat->tx_vnet;
    VpcDhcpReply out;
    VpcDhcpResult r;
    uint64_t fragments;

    if (!nat->dhcp) {
        return false;
    }
    fragments = vpc_dhcp_server_stats(nat->dhcp)->fragments;
    /* Monotonic seconds do: the leases live in memory only. */
    r = vpc_dhcp_server_input(nat->dhcp, 0, frame, len,
                              (uint64_t)(nat->now_ns / 1000000000ll),
                              nat->ctrl + vnet, NAT_CTRL_FRAME_MAX - vnet,
                              &out);
    switch (r) {
    case VPC_DHCP_NOT_DHCP:
        return false;
    case VPC_DHCP_REPLY:
        nat_put_vnet(nat, nat->ctrl);
        if (nat_send_frame(nat, nat->ctrl, vnet + out.len)) {
            nat->stats.dhcp_replies++;
        }
        return true;
    case VPC_DHCP_DROPPED:
        /*
         * The server drops any fragment to the gateway address, DHCP or
         * not: the core counts those as fragments; anything else the
         * server would not answer is a malformed request.
         */
        if (vpc_dhcp_server_stats(nat->dhcp)->fragments != fragments) {
            return false;
        }
        nat_drop(nat, VPC_NAT_DROP_MALFORMED);
        return true;
    default:
        return true;
    }
}
