/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: default MAC addresses in Virtual PC's 00:03:ff block.
 */
#include "net/vpcnet/macaddr.h"
#include "net/vpcnet/crc32.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vpc_mac_derive(uint8_t out[6], const uint8_t host_mac[6],
                    const char *vm_identity, unsigned nic_index)
{
    uint32_t h = 0xffffffffu;
    uint32_t low;

    h = vpc_crc32_le_update(h, host_mac, 6);
    if (vm_identity) {
        h = vpc_crc32_le_update(h, vm_identity, strlen(vm_identity));
    }
    /*
     * Fold the 32-bit hash to 24 bits, then add the index: NICs of one VM
     * get consecutive addresses and can never collide with each other.
     */
    low = ((h >> 24) ^ h) & 0xffffff;
    low = (low + nic_index) & 0xffffff;

    out[0] = VPC_MAC_OUI0;
    out[1] = VPC_MAC_OUI1;
    out[2] = VPC_MAC_OUI2;
    out[3] = low >> 16;
    out[4] = low >> 8;
    out[5] = low;
}

static int hex_digit(char c)
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

/*
 * By hand, not sscanf: "%2x" skips leading spaces and takes a sign or a
 * single digit, so " 1: 2: 3: 4: 5: 6" and "+1:-2:3:4:5:6" would pass.
 */
int vpc_mac_parse(const char *text, uint8_t mac[6])
{
    uint8_t out[6];
    char sep;

    if (!text || strnlen(text, VPC_MAC_STRLEN) != VPC_MAC_STRLEN - 1) {
        return -1;
    }
    sep = text[2];
    if (sep != ':' && sep != '-') {
        return -1;
    }
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(text[3 * i]);
        int lo = hex_digit(text[3 * i + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != sep)) {
            return -1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(mac, out, 6);
    return 0;
}

void vpc_mac_format(const uint8_t mac[6], char buf[VPC_MAC_STRLEN])
{
    static const char hex[] = "0123456789abcdef";

    for (int i = 0; i < 6; i++) {
        buf[3 * i] = hex[mac[i] >> 4];
        buf[3 * i + 1] = hex[mac[i] & 0xf];
        buf[3 * i + 2] = i < 5 ? ':' : '\0';
    }
}

/* Read @sysfs_net/@ifname/address; 0 on success. */
static int read_if_mac(const char *sysfs_net, const char *ifname,
                       uint8_t mac[6])
{
    char path[512], line[64];
    FILE *f;
    int ok;

    if (snprintf(path, sizeof(path), "%s/%s/address", sysfs_net, ifname)
        >= (int)sizeof(path)) {
        return -1;
    }
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    if (!ok) {
        return -1;
    }
    line[strcspn(line, "\n")] = '\0';
    return vpc_mac_parse(line, mac);
}

static int mac_is_zero(const uint8_t mac[6])
{
    return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vpc_host_adapter_mac(const char *sysfs_net, const char *ifname,
                         uint8_t mac[6], char chosen[16],
                         char *err, size_t errlen)
{
    DIR *dir;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int found = -1;

    if (errlen) {
        err[0] = '\0';
    }
    if (ifname) {
        if (strlen(ifname) >= 16 || strchr(ifname, '/')) {
            snprintf(err, errlen, "'%s' is not an interface name", ifname);
            return -1;
        }
        if (read_if_mac(sysfs_net, ifname, mac) < 0) {
            snprintf(err, errlen, "host adapter '%s' not found or has no "
                     "Ethernet address", ifname);
            return -1;
        }
        if (chosen) {
            snprintf(chosen, 16, "%s", ifname);
        }
        return 0;
    }

    dir = opendir(sysfs_net);
    if (!dir) {
        snprintf(err, errlen, "cannot list %s: %s", sysfs_net,
                 strerror(errno));
        return -1;
    }
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "lo") == 0
            || strlen(de->d_name) >= 16) {
            continue;
        }
        if (n == cap) {
            char **bigger;
            cap = cap ? cap * 2 : 16;
            bigger = realloc(names, cap * sizeof(*names));
            if (!bigger) {
                break;
            }
            names = bigger;
        }
        names[n] = strdup(de->d_name);
        if (names[n]) {
            n++;
        }
    }
    closedir(dir);

    if (n) {
        qsort(names, n, sizeof(*names), name_cmp);
    }
    for (size_t i = 0; i < n && found < 0; i++) {
        if (read_if_mac(sysfs_net, names[i], mac) == 0 && !mac_is_zero(mac)) {
            found = 0;
            if (chosen) {
                snprintf(chosen, 16, "%s", names[i]);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    if (found < 0) {
        snprintf(err, errlen, "no host adapter with an Ethernet address "
                 "in %s", sysfs_net);
    }
    return found;
}
