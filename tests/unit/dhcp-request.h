/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests: DHCP requests as a client would send them, built with the
 * library's own writers so that every test speaks the same wire format.
 */
#ifndef VPCNET_TEST_DHCP_REQUEST_H
#define VPCNET_TEST_DHCP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

/**
 * TestDhcpRequest - one request; zero fields are left out.
 * @type: DHCP message type (option 53).
 * @chaddr: the client's hardware address.
 * @xid: transaction id.
 * @flags: BOOTP flags.
 * @ciaddr: ciaddr.
 * @giaddr: giaddr.
 * @requested: option 50.
 * @server_id: option 54.
 * @hostname: option 12, NUL-terminated.
 * @client_id: option 61.
 * @client_id_len: its length.
 * @eth_src: frame source (NULL: @chaddr).
 * @eth_dst: frame destination (NULL: broadcast).
 * @ip_src: IPv4 source.
 * @ip_dst: IPv4 destination (0: 255.255.255.255).
 * @src_port: UDP source port (0: the client port, 68).
 */
typedef struct TestDhcpRequest {
    uint8_t type;
    const uint8_t *chaddr;
    uint32_t xid;
    uint16_t flags;
    uint32_t ciaddr;
    uint32_t giaddr;
    uint32_t requested;
    uint32_t server_id;
    const char *hostname;
    const uint8_t *client_id;
    size_t client_id_len;
    const uint8_t *eth_src;
    const uint8_t *eth_dst;
    uint32_t ip_src;
    uint32_t ip_dst;
    uint16_t src_port;
} TestDhcpRequest;

/* Build @r as an Ethernet/IPv4/UDP frame in @frame; returns its length. */
size_t test_dhcp_request_build(const TestDhcpRequest *r, uint8_t *frame,
                               size_t cap);

#endif /* VPCNET_TEST_DHCP_REQUEST_H */
