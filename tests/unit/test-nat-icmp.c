/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the NAT core's ICMP (net/vpcnet/nat/icmp.c): echo to
 * the virtual hosts answered by the core itself; echo to the outside
 * through a raw socket (root where ping_group_range is "1 0", as in a
 * new namespace) and through ping sockets (once the test allows its
 * group), to a peer namespace joined by a veth pair; the host's own
 * addresses closed, kept current from netlink; no way to ping at all
 * warned about once and counted.
 */
#include "nat-harness.h"

#include <errno.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t peer;

static void set_ping_groups(const char *range)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "w");

    g_assert_nonnull(f);
    g_assert_cmpint(fputs(range, f), >=, 0);
    g_assert_cmpint(fclose(f), ==, 0);
}

/* Echo @dst and expect the reply from @dst, or from @from when given. */
static void echo_ok(NatHarness *h, const NhAddr *dst, uint16_t id, int ms)
{
    static const char data[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    NhPkt *p;

    nh_send_echo(h, dst, id, 7, data, sizeof(data));
    for (;;) {
        g_assert_true(nh_next(h, &p, ms));
        if (!p->is_arp && (p->proto == VPC_IP_PROTO_ICMP ||
                           p->proto == VPC_IPV6_NH_ICMPV6) &&
            p->icmp.type != VPC_ICMP6_NEIGHBOR_SOLICIT) {
            break;
        }
        nh_pkt_free(p);
    }
    g_assert_cmpuint(p->icmp.type, ==, dst->v6 ? VPC_ICMP6_ECHO_REPLY
                                               : VPC_ICMP_ECHO_REPLY);
    g_assert_cmpuint(p->icmp.id, ==, id);
    g_assert_cmpuint(p->icmp.seq, ==, 7);
    g_assert_cmpmem(p->icmp.msg + 8, p->icmp.len - 8, data, sizeof(data));
    g_assert_cmpmem(p->src.a, dst->v6 ? 16 : 4, dst->a, dst->v6 ? 16 : 4);
    g_assert_cmpmem(p->eth.dst, 6, NH_GUEST_MAC, 6);
    nh_pkt_free(p);
}

/* The gateway and DNS addresses answer echo themselves, host closed. */
static void test_virtual_hosts(void)
{
    VpcNatConfig cfg;
    NatHarness *h;
    NhAddr ll = { .v6 = true }, a;

    nh_config(&cfg);
    cfg.host_loopback = false;
    h = nh_new(&cfg);
    vpc_ipv6_link_local_from_mac(NH_GW_MAC, ll.a);
    a = nh_gw(false);
    echo_ok(h, &a, 1, 0);
    a = nh_dns(false);
    echo_ok(h, &a, 2, 0);
    a = nh_gw(true);
    echo_ok(h, &a, 3, 0);
    a = nh_dns(true);
    echo_ok(h, &a, 4, 0);
    echo_ok(h, &ll, 5, 0);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->echo_requests, ==, 5);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->flows_active, ==, 0);
    nh_free(h);
}

static bool ping_socket_allowed(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);

    if (fd >= 0) {
        close(fd);
    }
    return fd >= 0;
}

/* Echo to the outside (the peer namespace) and back. */
static void outside(const char *groups, const char *path)
{
    NatHarness *h;
    NhAddr out4 = nh_addr4(0xc6336402), out6 = nh_addr6("2001:db8:51::2");

    g_assert_true(nh_private_netns());
    if (!peer) {
        peer = nh_peer_netns();
    }
    set_ping_groups(groups);
    g_test_message("echo to the outside through %s (ping sockets %s)", path,
                   ping_socket_allowed() ? "allowed" : "not allowed");
    h = nh_new(NULL);
    echo_ok(h, &out4, 0x4242, 3000);
    echo_ok(h, &out4, 0x4242, 3000);    /* the same flow again */
    echo_ok(h, &out4, 0x4343, 3000);
    echo_ok(h, &out6, 0x4444, 3000);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->flows_active, ==, 3);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_NO_ECHO), ==, 0);
    /* Echo flows time out. */
    nh_advance(h, 61000);
    g_assert_cmpuint(vpc_nat_stats(h->nat)->flows_active, ==, 0);
    nh_free(h);
    set_ping_groups("1 0");
}

static void test_outside_raw(void)
{
    outside("1 0", "the raw socket (CAP_NET_RAW)");
}

static void test_outside_ping(void)
{
    outside("0 2147483647", "ping sockets");
}

/* The host's own addresses are closed, also ones added later. */
static void test_host_addresses(void)
{
    NatHarness *h;
    NhAddr own = nh_addr4(0xc6336401), later = nh_addr4(0xc6336407);
    NhAddr lo = nh_addr4(0x7f000001), own6 = nh_addr6("2001:db8:51::1");
    NhPkt *p;

    g_assert_true(nh_private_netns());
    if (!peer) {
        peer = nh_peer_netns();
    }
    h = nh_new(NULL);
    nh_send_echo(h, &own, 1, 1, "x", 1);
    nh_send_echo(h, &own6, 1, 1, "x", 1);
    nh_send_echo(h, &lo, 1, 1, "x", 1);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_HOST_CLOSED), ==, 3);
    nh_run(h, 100);
    g_assert_false(nh_next(h, &p, 0));
    nh_sh("ip addr add 198.51.100.7/32 dev vnat0");
    nh_run(h, 200);         /* netlink tells the core */
    nh_send_echo(h, &later, 1, 1, "x", 1);
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_HOST_CLOSED), ==, 4);
    nh_sh("ip addr del 198.51.100.7/32 dev vnat0");
    g_assert_cmpuint(vpc_nat_stats(h->nat)->flows_active, ==, 0);
    nh_free(h);
}

/* Neither ping sockets nor CAP_NET_RAW: one warning, counted drops. */
static void test_no_echo(void)
{
    pid_t pid;
    int status;

    g_assert_true(nh_private_netns());
    set_ping_groups("1 0");
    fflush(stdout);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        struct __user_cap_header_struct hdr = {
            .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2];
        NhAddr out = nh_addr4(0xc6336402);
        unsigned warnings = 0;
        NatHarness *h;

        if (syscall(SYS_capget, &hdr, data) < 0) {
            _exit(10);
        }
        data[0].effective &= ~(1u << CAP_NET_RAW);
        data[0].permitted &= ~(1u << CAP_NET_RAW);
        if (syscall(SYS_capset, &hdr, data) < 0) {
            _exit(11);
        }
        h = nh_new(NULL);
        for (int i = 0; i < 3; i++) {
            nh_send_echo(h, &out, 9, (uint16_t)i, "x", 1);
        }
        for (unsigned i = 0; i < h->logs->len; i++) {
            warnings += strstr(g_ptr_array_index(h->logs, i),
                               "ICMP echo") != NULL;
        }
        if (warnings != 1 || nh_drops(h, VPC_NAT_DROP_NO_ECHO) != 3 ||
            nh_pending(h)) {
            _exit(12);
        }
        /* The virtual hosts still answer. */
        out = nh_gw(false);
        nh_send_echo(h, &out, 9, 9, "x", 1);
        if (nh_pending(h) != 1) {
            _exit(13);
        }
        nh_free(h);
        _exit(0);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* ICMP we do not relay, and broken ICMP. */
static void test_other_icmp(void)
{
    NatHarness *h = nh_new(NULL);
    NhAddr gw = nh_gw(false), gw6 = nh_gw(true);
    uint8_t m[16] = { 13 }, f[128];
    NhPkt *p;

    vpc_put_be16(m + 2, vpc_ip_checksum(m, sizeof(m)));
    nh_input(h, f, nh_build_ip(h, f, &gw, VPC_IP_PROTO_ICMP, m, sizeof(m)));
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_ICMP_TYPE), ==, 1);
    m[0] = VPC_ICMP_ECHO_REQUEST;       /* now its checksum is wrong */
    nh_input(h, f, nh_build_ip(h, f, &gw, VPC_IP_PROTO_ICMP, m, sizeof(m)));
    nh_input(h, f, nh_build_ip(h, f, &gw, VPC_IP_PROTO_ICMP, m, 4));
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_MALFORMED), ==, 2);
    /* An ICMPv6 error from the guest is not relayed. */
    m[0] = VPC_ICMP6_DEST_UNREACH;
    nh_input(h, f, nh_build_icmp6(h, f, h->ip6, gw6.a, NH_GW_MAC, 64, m,
                                  sizeof(m)));
    g_assert_cmpuint(nh_drops(h, VPC_NAT_DROP_ICMP_TYPE), ==, 2);
    g_assert_false(nh_next(h, &p, 0));
    nh_free(h);
}

int main(int argc, char **argv)
{
    nh_process_init();
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nat/icmp/virtual-hosts", test_virtual_hosts);
    g_test_add_func("/nat/icmp/outside-raw", test_outside_raw);
    g_test_add_func("/nat/icmp/outside-ping", test_outside_ping);
    g_test_add_func("/nat/icmp/host-addresses", test_host_addresses);
    g_test_add_func("/nat/icmp/no-echo", test_no_echo);
    g_test_add_func("/nat/icmp/other", test_other_icmp);
    return g_test_run();
}
