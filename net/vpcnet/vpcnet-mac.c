/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet-mac: print the MAC address a dec21140a derives when it is given
 * no mac=, from what the VM's configuration says (its name or UUID, the
 * card's host adapter, id and PCI address), without starting QEMU.  A
 * management layer (libvirt's helper) uses it to know a guest's address
 * in advance.  It calls vpc_nic_default_mac(), the function the device
 * calls, so the two cannot disagree.
 */
#include "net/vpcnet/macaddr.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
"Usage: vpcnet-mac [OPTION]... (--id ID | --addr SLOT[.FN])\n"
"Print the MAC address a dec21140a derives when it is given no mac=.\n"
"\n"
"The address is 00:03:ff:xx:xx:xx, the low 24 bits a hash of the host\n"
"adapter's address, the VM's identity (its UUID, else its name) and the\n"
"card's key (its device id, else its PCI address), exactly as the device\n"
"computes it (see docs/system/devices/dec21140a.rst).\n"
"\n"
"  --name NAME            the VM's -name (libvirt: the domain's name)\n"
"  --uuid UUID            the VM's -uuid (libvirt: the domain's UUID);\n"
"                         when given, the name does not count\n"
"  --host-adapter IF|MAC  the card's host-adapter=: an interface of this\n"
"                         host, or the MAC address of one (of any host);\n"
"                         default: the first interface with an Ethernet\n"
"                         address, as the device picks it\n"
"  --id ID                the card's id= (libvirt: its alias, net0...)\n"
"  --addr SLOT[.FN]       the card's addr= (hex slot, function 0-7), which\n"
"                         counts only when it has no id\n"
"  --bus BUS              the card's bus=, when it is not the root bus\n"
"  --sysfs DIR            where host interfaces are listed\n"
"                         (default /sys/class/net)\n"
"  -h, --help             this text\n"
"\n"
"Prints the address on one line.  Exit status: 0 done, 1 the address\n"
"cannot be derived (unknown host adapter, malformed UUID), 2 bad usage.\n"
"\n"
"Example: vpcnet-mac --name xp-mode --host-adapter eth0 --id net0\n");
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* "SS[.F]", hex slot 0..1f, function 0..7, as -device addr= takes it. */
static int parse_pci_addr(const char *text, unsigned *slot, unsigned *fn)
{
    unsigned s = 0;
    int i;

    for (i = 0; i < 2 && hex_value(text[i]) >= 0; i++) {
        s = s * 16 + hex_value(text[i]);
    }
    if (i == 0 || s > 31) {
        return -1;
    }
    *slot = s;
    *fn = 0;
    if (text[i] == '\0') {
        return 0;
    }
    if (text[i] != '.' || text[i + 1] < '0' || text[i + 1] > '7' ||
        text[i + 2] != '\0') {
        return -1;
    }
    *fn = text[i + 1] - '0';
    return 0;
}

int main(int argc, char **argv)
{
    enum { OPT_NAME = 256, OPT_UUID, OPT_HOST, OPT_ID, OPT_ADDR, OPT_BUS,
           OPT_SYSFS };
    static const struct option options[] = {
        { "name", required_argument, NULL, OPT_NAME },
        { "uuid", required_argument, NULL, OPT_UUID },
        { "host-adapter", required_argument, NULL, OPT_HOST },
        { "id", required_argument, NULL, OPT_ID },
        { "addr", required_argument, NULL, OPT_ADDR },
        { "bus", required_argument, NULL, OPT_BUS },
        { "sysfs", required_argument, NULL, OPT_SYSFS },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *name = NULL, *uuid = NULL, *host = NULL, *id = NULL;
    const char *addr = NULL, *bus = NULL, *sysfs = "/sys/class/net";
    char key[VPC_MAC_NIC_KEY_MAX], err[256], text[VPC_MAC_STRLEN];
    unsigned slot = 0, fn = 0;
    uint8_t mac[6];
    int opt;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_UUID:
            uuid = optarg;
            break;
        case OPT_HOST:
            host = optarg;
            break;
        case OPT_ID:
            id = optarg;
            break;
        case OPT_ADDR:
            addr = optarg;
            break;
        case OPT_BUS:
            bus = optarg;
            break;
        case OPT_SYSFS:
            sysfs = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "vpcnet-mac: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    if (!(id && *id) && !addr) {
        fprintf(stderr, "vpcnet-mac: give the card's --id, or its --addr "
                "when it has none\n");
        return 2;
    }
    if (addr && parse_pci_addr(addr, &slot, &fn) < 0) {
        fprintf(stderr, "vpcnet-mac: '%s' is not a PCI address "
                "(SLOT[.FN], hex slot up to 1f, function 0-7)\n", addr);
        return 2;
    }
    if (vpc_mac_nic_key(key, sizeof(key), id, bus, slot, fn) < 0) {
        fprintf(stderr, "vpcnet-mac: the id or bus name is too long\n");
        return 2;
    }
    if (vpc_nic_default_mac(mac, sysfs, host, uuid, name, key,
                            err, sizeof(err)) < 0) {
        fprintf(stderr, "vpcnet-mac: %s\n", err);
        return 1;
    }
    vpc_mac_format(mac, text);
    printf("%s\n", text);
    return 0;
}
