/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fb-guest-send: send raw Ethernet frames from inside the test guest.
 *
 * busybox has nothing that sends a frame of an arbitrary ethertype, or
 * from a source MAC that is not the interface's; the filter-bridge guest
 * tests need both (a non-IP protocol must reach the LAN, a spoofed
 * source must not).  Built static and appended to the guest's initramfs
 * by tests/guest/test_filter_bridge.py.
 *
 *   fb-guest-send IFACE DST SRC|- ETHERTYPE PAYLOAD_HEX [COUNT]
 *
 * SRC "-" is the interface's own MAC; ETHERTYPE is hex (0x8100 with
 * the tag's TCI and inner type at the start of the payload sends an
 * 802.1Q frame).  Frames are padded to 60 bytes.  Prints "sent N".
 */
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse_mac(const char *s, unsigned char mac[6])
{
    unsigned v[6];
    int i;

    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5]) != 6) {
        return -1;
    }
    for (i = 0; i < 6; i++) {
        mac[i] = (unsigned char)v[i];
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned char frame[1514] = { 0 };
    struct sockaddr_ll sll = { .sll_family = AF_PACKET };
    struct ifreq ifr;
    size_t len = 14, i, hexlen;
    int fd, count = 1, sent = 0;
    unsigned long type;

    if (argc < 6) {
        fprintf(stderr, "usage: %s IFACE DST SRC|- ETHERTYPE HEX [COUNT]\n",
                argv[0]);
        return 2;
    }
    if (argc > 6) {
        count = atoi(argv[6]);
    }
    fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", argv[1]);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        perror(argv[1]);
        return 1;
    }
    sll.sll_ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        perror("SIOCGIFHWADDR");
        return 1;
    }
    if (parse_mac(argv[2], frame) < 0 ||
        (strcmp(argv[3], "-") ? parse_mac(argv[3], frame + 6) < 0 :
         !memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, 6))) {
        fprintf(stderr, "bad MAC\n");
        return 2;
    }
    if (sscanf(argv[4], "%lx", &type) != 1) {
        fprintf(stderr, "bad ethertype\n");
        return 2;
    }
    frame[12] = type >> 8;
    frame[13] = type;
    hexlen = strlen(argv[5]);
    for (i = 0; i + 1 < hexlen && len < sizeof(frame); i += 2) {
        unsigned v;

        sscanf(argv[5] + i, "%2x", &v);
        frame[len++] = (unsigned char)v;
    }
    if (len < 60) {
        len = 60;
    }
    for (i = 0; i < (size_t)count; i++) {
        if (sendto(fd, frame, len, 0, (struct sockaddr *)&sll,
                   sizeof(sll)) == (ssize_t)len) {
            sent++;
        }
        usleep(10000);
    }
    printf("sent %d\n", sent);
    return sent == count ? 0 : 1;
}
