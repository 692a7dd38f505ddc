/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qemu-vswitch: the command line.  Every option is checked here, before
 * the daemon touches the file system: numbers strictly (digits only, a
 * bound), addresses with inet_pton, MACs with the library's strict
 * parser, the network's name with the port protocol's rule.
 */
#include "net/vpcnet/vswitch-daemon.h"
#include "net/vpcnet/daemon-util.h"
#include "net/vpcnet/macaddr.h"
#include "net/vpcnet/parse.h"
#include "net/vpcnet/vswitch-proto.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
"Usage: qemu-vswitch --network NAME [options]\n"
"The switch of an internal network (-netdev internal); QEMU starts it.\n"
"\n"
"  --network NAME          the network: 1 to 64 of [A-Za-z0-9_.-]\n"
"  --dhcp on|off           serve DHCP (default on)\n"
"  --dhcp-start ADDR       first DHCP address (169.254.0.16)\n"
"  --dhcp-end ADDR         last DHCP address (169.254.10.254)\n"
"  --lease-time SECONDS    DHCP lease time (default 3600)\n"
"  --reserve MAC=ADDR      always lease ADDR to MAC (repeatable)\n"
"  --idle-timeout SECONDS  exit after that long with no port\n"
"                          (default 30, 0 never)\n"
"  --daemonize             detach once the socket listens, log to\n"
"                          syslog\n"
"  --foreground            stay attached, log to stderr (the default)\n"
"  --list                  print the running daemon's ports and leases\n"
"  --no-sandbox            do not lock the daemon down once set up (no\n"
"                          seccomp filter, no Landlock): for debugging\n"
"  --help                  this text\n"
"\n"
"The socket is $XDG_RUNTIME_DIR/vpcnet/NAME.sock (/run/vpcnet for root,\n"
"else /tmp/vpcnet-UID), leases persist in NAME.leases beside it.\n");
}

static int parse_addr(const char *text, uint32_t *addr)
{
    struct in_addr in;

    if (inet_pton(AF_INET, text, &in) != 1) {
        return -1;
    }
    *addr = ntohl(in.s_addr);
    return 0;
}

int vswitch_parse_options(int argc, char **argv, VswitchOptions *opt)
{
    static const struct option longopts[] = {
        { "network", required_argument, NULL, 'n' },
        { "dhcp", required_argument, NULL, 'd' },
        { "dhcp-start", required_argument, NULL, 's' },
        { "dhcp-end", required_argument, NULL, 'e' },
        { "idle-timeout", required_argument, NULL, 'i' },
        { "lease-time", required_argument, NULL, 't' },
        { "reserve", required_argument, NULL, 'r' },
        { "daemonize", no_argument, NULL, 'D' },
        { "foreground", no_argument, NULL, 'f' },
        { "list", no_argument, NULL, 'l' },
        { "no-sandbox", no_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool have_start = false, have_end = false;
    VpcDhcpReservation *r;
    char mac_text[18];
    const char *eq;
    uint64_t v;
    int c;

    opt->idle_timeout = 30;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            /* What is logged from here on names the network. */
            opt->network = optarg;
            vpc_log_set_tag(optarg);
            break;
        case 'd':
            if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
                vpc_log("--dhcp takes on or off, not '%s'", optarg);
                return -1;
            }
            opt->dhcp_off = !strcmp(optarg, "off");
            break;
        case 's':
        case 'e':
            if (parse_addr(optarg, c == 's' ? &opt->dhcp_start
                                            : &opt->dhcp_end) < 0) {
                vpc_log("--dhcp-%s: '%s' is not an IPv4 address",
                        c == 's' ? "start" : "end", optarg);
                return -1;
            }
            if (c == 's') {
                have_start = true;
            } else {
                have_end = true;
            }
            break;
        case 'i':
            if (vpc_parse_u64(optarg, 365ul * 24 * 3600, &v) < 0) {
                vpc_log("--idle-timeout takes seconds, not '%s'", optarg);
                return -1;
            }
            opt->idle_timeout = v;
            break;
        case 't':
            if (vpc_parse_u64(optarg, 365ul * 24 * 3600, &v) < 0 ||
                v < 60) {
                vpc_log("--lease-time takes 60 to 31536000 seconds, not "
                        "'%s'", optarg);
                return -1;
            }
            opt->lease_time = v;
            break;
        case 'r':
            eq = strchr(optarg, '=');
            if (opt->n_reserve == VSWITCH_MAX_RESERVATIONS) {
                vpc_log("--reserve: at most %d reservations",
                        VSWITCH_MAX_RESERVATIONS);
                return -1;
            }
            r = &opt->reserve[opt->n_reserve];
            if (eq && eq - optarg == sizeof(mac_text) - 1) {
                memcpy(mac_text, optarg, sizeof(mac_text) - 1);
                mac_text[sizeof(mac_text) - 1] = '\0';
            } else {
                mac_text[0] = '\0';
            }
            if (vpc_mac_parse(mac_text, r->mac) < 0 ||
                parse_addr(eq + 1, &r->addr) < 0) {
                vpc_log("--reserve takes MAC=ADDR (aa:bb:cc:dd:ee:ff=a.b.c.d), "
                        "not '%s'", optarg);
                return -1;
            }
            opt->n_reserve++;
            break;
        case 'D':
            opt->daemonize = true;
            break;
        case 'f':
            opt->daemonize = false;
            break;
        case 'l':
            opt->list = true;
            break;
        case 'S':
            opt->no_sandbox = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        vpc_log("unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (!opt->network) {
        vpc_log("--network NAME is required");
        return -1;
    }
    if (!vsw_network_name_valid(opt->network)) {
        vpc_log("bad network name '%s': 1 to %d of [A-Za-z0-9_.-], not "
                "starting with a dot", opt->network, VSW_NAME_MAX);
        opt->network = NULL;
        vpc_log_set_tag(NULL);
        return -1;
    }
    if (have_start != have_end) {
        vpc_log("--dhcp-start and --dhcp-end go together");
        return -1;
    }
    return 0;
}
