/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qtests for -netdev internal: dec21140a cards in separate QEMU processes
 * on the internal networks of the real qemu-vswitch daemon.  The cards
 * are driven through their descriptor rings with the libqos dec21140a
 * driver; the daemon is the one QEMU starts from beside its executable.
 *
 * Every test runs with a fresh XDG_RUNTIME_DIR, so it starts its own
 * daemons; at the end it quits its QEMUs, stops the daemons (the pid is
 * in NAME.lock, whose flock the daemon holds while it runs) and removes
 * the directory.
 */
#include "qemu/osdep.h"
#include <sys/file.h>
#include "libqtest.h"
#include "qemu/bswap.h"
#include "libqos/dec21140a.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"

#define ETH_HLEN        14
#define ETHERTYPE_TEST  0x88b5      /* IEEE 802 local experimental */
#define MAX_NICS        2
#define POLL_TIMEOUT_S  10

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* A test's private runtime directory and the daemons in it */

typedef struct NetEnv {
    char *dir;              /* XDG_RUNTIME_DIR for this test */
    char *sock_dir;         /* dir/vpcnet */
    char *old_xdg;          /* XDG_RUNTIME_DIR before the test */
} NetEnv;

static void netenv_init(NetEnv *e)
{
    g_autoptr(GError) err = NULL;

    e->old_xdg = g_strdup(g_getenv("XDG_RUNTIME_DIR"));
    e->dir = g_dir_make_tmp("vpcnet-qtest-XXXXXX", &err);
    g_assert_no_error(err);
    e->sock_dir = g_build_filename(e->dir, "vpcnet", NULL);
    /* QEMU inherits it, and passes it on to the daemon it starts. */
    g_setenv("XDG_RUNTIME_DIR", e->dir, TRUE);
}

static char *netenv_path(NetEnv *e, const char *network, const char *suffix)
{
    return g_strdup_printf("%s/%s.%s", e->sock_dir, network, suffix);
}

/* The qemu-vswitch that QEMU starts: the one beside the emulator. */
static char *vswitch_binary(void)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *dir = NULL;

    g_assert_nonnull(qemu);
    dir = g_path_get_dirname(qemu);
    return g_build_filename(dir, "qemu-vswitch", NULL);
}

/* The pid in a lock file, 0 while its holder has not written it yet. */
static pid_t lock_file_pid(int fd)
{
    char buf[24] = "";
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    const char *end;
    long pid;

    /* "PID\n" */
    if (n <= 0 || qemu_strtol(buf, &end, 10, &pid) < 0 || *end != '\n' ||
        pid <= 1) {
        return 0;
    }
    return pid;
}

/*
 * The pid of the daemon serving @network, read from NAME.lock while the
 * daemon holds its flock; 0 when no daemon serves it.
 */
static pid_t daemon_pid(NetEnv *e, const char *network)
{
    g_autofree char *path = netenv_path(e, network, "lock");
    gint64 deadline = g_get_monotonic_time() +
                      POLL_TIMEOUT_S * G_TIME_SPAN_SECOND;
    pid_t pid = 0;
    int fd = open(path, O_RDONLY);

    if (fd < 0) {
        return 0;
    }
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        close(fd);
        return 0;
    }
    /* Held: the holder writes its pid right after taking the lock. */
    while (!(pid = lock_file_pid(fd)) &&
           g_get_monotonic_time() < deadline) {
        g_usleep(10 * 1000);
    }
    close(fd);
    g_assert_cmpint(pid, >, 1);
    return pid;
}

/* Stop the daemon holding @lock_path, if any, and wait until it is gone. */
static void stop_daemon(const char *lock_path)
{
    gint64 deadline = g_get_monotonic_time() +
                      POLL_TIMEOUT_S * G_TIME_SPAN_SECOND;
    int fd = open(lock_path, O_RDONLY);
    pid_t pid = 0;

    g_assert_cmpint(fd, >=, 0);
    while (flock(fd, LOCK_SH | LOCK_NB) < 0) {
        g_assert_cmpint(errno, ==, EWOULDBLOCK);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        if (!pid) {
            pid = lock_file_pid(fd);
            if (pid) {
                g_assert_cmpint(kill(pid, SIGTERM), ==, 0);
            }
        }
        g_usleep(10 * 1000);
    }
    close(fd);
}

static void rm_rf(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    const char *name;

    if (dir) {
        while ((name = g_dir_read_name(dir))) {
            g_autofree char *sub = g_build_filename(path, name, NULL);

            rm_rf(sub);
        }
        g_dir_close(dir);
        g_assert_cmpint(rmdir(path), ==, 0);
    } else {
        g_assert_cmpint(unlink(path), ==, 0);
    }
}

/* After the test's QEMUs quit: stop every daemon, remove the directory. */
static void netenv_cleanup(NetEnv *e)
{
    GDir *dir = g_dir_open(e->sock_dir, 0, NULL);
    const char *name;

    if (dir) {
        while ((name = g_dir_read_name(dir))) {
            if (g_str_has_suffix(name, ".lock")) {
                g_autofree char *lock = g_build_filename(e->sock_dir, name,
                                                         NULL);
                stop_daemon(lock);
            }
        }
        g_dir_close(dir);
    }
    rm_rf(e->dir);
    if (e->old_xdg) {
        g_setenv("XDG_RUNTIME_DIR", e->old_xdg, TRUE);
    } else {
        g_unsetenv("XDG_RUNTIME_DIR");
    }
    g_free(e->dir);
    g_free(e->sock_dir);
    g_free(e->old_xdg);
}

/* qemu-vswitch --network NAME --list */
static char *vswitch_list(const char *network)
{
    g_autofree char *vswitch = vswitch_binary();
    const char *argv[] = {
        vswitch, "--network", network, "--list", NULL,
    };
    g_autoptr(GError) err = NULL;
    g_autofree char *errout = NULL;
    char *out = NULL;
    int status;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL,
                               &out, &errout, &status, &err));
    g_assert_no_error(err);
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_test_message("qemu-vswitch --list: %s", errout);
        g_assert_not_reached();
    }
    return out;
}

/* Machines: one QEMU each, with up to MAX_NICS cards on internal networks */

typedef struct Vm {
    QTestState *qts;
    QPCIBus *bus;
    QGuestAllocator alloc;
    QDec21140a nic[MAX_NICS];
    int n_nics;
} Vm;

static char *mac_str(const uint8_t *mac)
{
    return g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
                           mac[2], mac[3], mac[4], mac[5]);
}

/*
 * Start QEMU -name @name with one card per entry of @netdev_opts (the
 * options after "-netdev internal,id=nI,"), card I at slot 5 + I with MAC
 * @macs[I].  Each card is started with its filter set to its own address
 * and broadcast, as a driver would.
 */
static void vm_start(Vm *vm, const char *name, int n_nics,
                     const char *const *netdev_opts, const uint8_t (*macs)[6])
{
    g_autoptr(GString) cmd = g_string_new("-machine pc -accel qtest");

    g_assert_cmpint(n_nics, <=, MAX_NICS);
    g_string_append_printf(cmd, " -name %s", name);
    for (int i = 0; i < n_nics; i++) {
        g_autofree char *mac = mac_str(macs[i]);

        g_string_append_printf(cmd, " -netdev internal,id=n%d,%s"
                               " -device dec21140a,netdev=n%d,addr=%x.0,"
                               "mac=%s", i, netdev_opts[i], i, 5 + i, mac);
    }
    vm->qts = qtest_init(cmd->str);
    vm->bus = qpci_new_pc(vm->qts, NULL);
    pc_alloc_init(&vm->alloc, vm->qts, ALLOC_NO_FLAGS);
    vm->n_nics = n_nics;
    for (int i = 0; i < n_nics; i++) {
        const uint8_t filter[2][6] = {
            { macs[i][0], macs[i][1], macs[i][2], macs[i][3], macs[i][4],
              macs[i][5] },
            { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
        };
        QDec21140a *d = &vm->nic[i];

        qdec_pci_init(d, vm->bus, QPCI_DEVFN(5 + i, 0));
        qdec_start(d, &vm->alloc, 0);
        qdec_setup_frame(d, DEC21140A_FILTER_PERFECT, filter, 2);
    }
}

static void vm_stop(Vm *vm)
{
    for (int i = 0; i < vm->n_nics; i++) {
        qdec_stop(&vm->nic[i]);
        qdec_pci_fini(&vm->nic[i]);
    }
    qpci_free_pc(vm->bus);
    alloc_destroy(&vm->alloc);
    qtest_quit(vm->qts);
}

/* Frames */

static void make_frame(uint8_t *frame, size_t len, const uint8_t *dst,
                       const uint8_t *src, uint8_t seed)
{
    g_assert_cmpuint(len, >=, ETH_HLEN);
    memcpy(frame, dst, 6);
    memcpy(frame + 6, src, 6);
    stw_be_p(frame + 12, ETHERTYPE_TEST);
    for (size_t i = ETH_HLEN; i < len; i++) {
        frame[i] = seed + i * 7;
    }
}

static void send_frame(QDec21140a *d, const uint8_t *frame, size_t len)
{
    /* Sent whole, without error bits. */
    g_assert_cmphex(qdec_tx(d, frame, len), ==, 0);
}

/* The next frame @d receives is exactly @frame. */
static void expect_frame(QDec21140a *d, const uint8_t *frame, size_t len)
{
    uint8_t got[QDEC_BUF_SIZE];
    uint32_t rdes0;

    g_assert_cmpint(qdec_rx(d, got, sizeof(got), &rdes0), ==, len);
    g_assert_false(rdes0 & RDES0_ES);
    g_assert_cmpmem(got, len, frame, len);
}

/* DHCP frames, built and checked here byte by byte */

#define IP_OFF          ETH_HLEN
#define UDP_OFF         (IP_OFF + 20)
#define BOOTP_OFF       (UDP_OFF + 8)
#define BOOTP_XID       4
#define BOOTP_FLAGS     10
#define BOOTP_CIADDR    12
#define BOOTP_YIADDR    16
#define BOOTP_GIADDR    24
#define BOOTP_CHADDR    28
#define BOOTP_COOKIE    236
#define BOOTP_OPTIONS   240
#define BOOTP_MIN_LEN   300
#define DHCP_FRAME_LEN  (BOOTP_OFF + BOOTP_MIN_LEN)
#define DHCP_COOKIE     0x63825363
#define DHCP_BROADCAST  0x8000

enum {
    DHCPDISCOVER = 1,
    DHCPOFFER = 2,
    DHCPREQUEST = 3,
    DHCPACK = 5,
};

enum {
    OPT_PAD = 0,
    OPT_NETMASK = 1,
    OPT_ROUTER = 3,
    OPT_HOSTNAME = 12,
    OPT_REQUESTED_IP = 50,
    OPT_LEASE_TIME = 51,
    OPT_MSG_TYPE = 53,
    OPT_SERVER_ID = 54,
    OPT_PARAM_LIST = 55,
    OPT_END = 255,
};

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define DHCP_SERVER     IP4(169, 254, 0, 1)
#define DHCP_MASK       IP4(255, 255, 0, 0)
#define DHCP_RANGE_LO   IP4(169, 254, 0, 16)
#define DHCP_RANGE_HI   IP4(169, 254, 10, 254)
#define DHCP_HOSTNAME   "qtest-dhcp"

/* A big-endian 32-bit field (ldl_be_p() returns a signed int). */
static uint32_t be32_at(const uint8_t *p)
{
    return ldl_be_p(p);
}

/* RFC 1071 over @len bytes, starting from the partial sum @sum. */
static uint16_t inet_csum(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += lduw_be_p(p + i);
    }
    if (len & 1) {
        sum += p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum & 0xffff;
}

/* The UDP checksum of the IPv4 datagram at @ip (0 when it checks out). */
static uint16_t udp_csum(const uint8_t *ip)
{
    size_t udp_len = lduw_be_p(ip + 20 + 4);
    uint32_t pseudo = lduw_be_p(ip + 12) + lduw_be_p(ip + 14) +
                      lduw_be_p(ip + 16) + lduw_be_p(ip + 18) + 17 + udp_len;

    return inet_csum(ip + 20, udp_len, pseudo);
}

/*
 * A client's DISCOVER or REQUEST from @mac, broadcast from 0.0.0.0 as
 * RFC 2131 says; @requested and @server_id (host order) are options 50
 * and 54 when non-zero.  Returns the frame length.
 */
static size_t dhcp_build(uint8_t *f, const uint8_t *mac, uint32_t xid,
                         uint8_t type, bool bcast_flag, uint32_t requested,
                         uint32_t server_id)
{
    uint8_t *ip = f + IP_OFF, *udp = f + UDP_OFF, *b = f + BOOTP_OFF;
    uint8_t *opt = b + BOOTP_OPTIONS;
    uint16_t csum;

    memset(f, 0, DHCP_FRAME_LEN);
    memcpy(f, bcast, 6);
    memcpy(f + 6, mac, 6);
    stw_be_p(f + 12, 0x0800);

    b[0] = 1;                           /* BOOTREQUEST */
    b[1] = 1;                           /* Ethernet */
    b[2] = 6;
    stl_be_p(b + BOOTP_XID, xid);
    stw_be_p(b + BOOTP_FLAGS, bcast_flag ? DHCP_BROADCAST : 0);
    memcpy(b + BOOTP_CHADDR, mac, 6);
    stl_be_p(b + BOOTP_COOKIE, DHCP_COOKIE);
    *opt++ = OPT_MSG_TYPE;
    *opt++ = 1;
    *opt++ = type;
    if (requested) {
        *opt++ = OPT_REQUESTED_IP;
        *opt++ = 4;
        stl_be_p(opt, requested);
        opt += 4;
    }
    if (server_id) {
        *opt++ = OPT_SERVER_ID;
        *opt++ = 4;
        stl_be_p(opt, server_id);
        opt += 4;
    }
    *opt++ = OPT_HOSTNAME;
    *opt++ = strlen(DHCP_HOSTNAME);
    memcpy(opt, DHCP_HOSTNAME, strlen(DHCP_HOSTNAME));
    opt += strlen(DHCP_HOSTNAME);
    /* Ask for a router too: the server must still not send one. */
    *opt++ = OPT_PARAM_LIST;
    *opt++ = 4;
    *opt++ = OPT_NETMASK;
    *opt++ = OPT_ROUTER;
    *opt++ = OPT_LEASE_TIME;
    *opt++ = OPT_SERVER_ID;
    *opt++ = OPT_END;
    g_assert_cmpint(opt - b, <=, BOOTP_MIN_LEN);

    ip[0] = 0x45;
    stw_be_p(ip + 2, 20 + 8 + BOOTP_MIN_LEN);
    ip[8] = 64;
    ip[9] = 17;                         /* UDP */
    stl_be_p(ip + 16, 0xffffffff);
    stw_be_p(ip + 10, inet_csum(ip, 20, 0));
    stw_be_p(udp, 68);
    stw_be_p(udp + 2, 67);
    stw_be_p(udp + 4, 8 + BOOTP_MIN_LEN);
    csum = udp_csum(ip);
    stw_be_p(udp + 6, csum ? csum : 0xffff);
    return DHCP_FRAME_LEN;
}

typedef struct DhcpReply {
    uint8_t type;
    uint32_t yiaddr;
    uint32_t ip_dst;
    bool has_mask, has_server_id, has_router, has_lease_time;
    uint32_t mask, server_id, lease_time;
} DhcpReply;

/*
 * Check that @f is a well-formed BOOTREPLY from the server to @mac for
 * @xid, with correct checksums, and pick out what the tests look at.
 */
static void dhcp_parse_reply(const uint8_t *f, size_t len, const uint8_t *mac,
                             uint32_t xid, DhcpReply *r)
{
    const uint8_t *ip = f + IP_OFF, *udp = f + UDP_OFF, *b = f + BOOTP_OFF;
    size_t ip_len, bootp_len, i;

    memset(r, 0, sizeof(*r));
    g_assert_cmpuint(len, >=, BOOTP_OFF + BOOTP_OPTIONS);
    g_assert_cmphex(lduw_be_p(f + 12), ==, 0x0800);
    g_assert_cmphex(ip[0], ==, 0x45);
    ip_len = lduw_be_p(ip + 2);
    g_assert_cmpuint(ip_len, <=, len - IP_OFF);
    g_assert_cmpuint(ip_len, >=, 20 + 8 + BOOTP_OPTIONS);
    g_assert_cmphex(ip[9], ==, 17);
    g_assert_cmphex(inet_csum(ip, 20, 0), ==, 0);
    g_assert_cmphex(be32_at(ip + 12), ==, DHCP_SERVER);
    r->ip_dst = be32_at(ip + 16);
    g_assert_cmpuint(lduw_be_p(udp), ==, 67);
    g_assert_cmpuint(lduw_be_p(udp + 2), ==, 68);
    g_assert_cmpuint(lduw_be_p(udp + 4), ==, ip_len - 20);
    if (lduw_be_p(udp + 6)) {
        g_assert_cmphex(udp_csum(ip), ==, 0);
    }
    bootp_len = ip_len - 28;

    g_assert_cmpuint(b[0], ==, 2);      /* BOOTREPLY */
    g_assert_cmpuint(b[1], ==, 1);
    g_assert_cmpuint(b[2], ==, 6);
    g_assert_cmphex(be32_at(b + BOOTP_XID), ==, xid);
    g_assert_cmpmem(b + BOOTP_CHADDR, 6, mac, 6);
    g_assert_cmphex(be32_at(b + BOOTP_GIADDR), ==, 0);
    g_assert_cmphex(be32_at(b + BOOTP_COOKIE), ==, DHCP_COOKIE);
    r->yiaddr = be32_at(b + BOOTP_YIADDR);

    for (i = BOOTP_OPTIONS; i < bootp_len && b[i] != OPT_END;) {
        uint8_t code = b[i], olen;
        const uint8_t *val;

        if (code == OPT_PAD) {
            i++;
            continue;
        }
        g_assert_cmpuint(i + 2, <=, bootp_len);
        olen = b[i + 1];
        val = b + i + 2;
        g_assert_cmpuint(i + 2 + olen, <=, bootp_len);
        switch (code) {
        case OPT_MSG_TYPE:
            g_assert_cmpuint(olen, ==, 1);
            r->type = val[0];
            break;
        case OPT_NETMASK:
            g_assert_cmpuint(olen, ==, 4);
            r->has_mask = true;
            r->mask = be32_at(val);
            break;
        case OPT_SERVER_ID:
            g_assert_cmpuint(olen, ==, 4);
            r->has_server_id = true;
            r->server_id = be32_at(val);
            break;
        case OPT_LEASE_TIME:
            g_assert_cmpuint(olen, ==, 4);
            r->has_lease_time = true;
            r->lease_time = be32_at(val);
            break;
        case OPT_ROUTER:
            r->has_router = true;
            break;
        }
        i += 2 + olen;
    }
    g_assert_cmpuint(i, <, bootp_len);  /* the options end with END */
}

/* What every OFFER and ACK of the internal network's server says. */
static void check_lease_options(const DhcpReply *r)
{
    g_assert_cmphex(r->yiaddr, >=, DHCP_RANGE_LO);
    g_assert_cmphex(r->yiaddr, <=, DHCP_RANGE_HI);
    g_assert_true(r->has_mask);
    g_assert_cmphex(r->mask, ==, DHCP_MASK);
    g_assert_true(r->has_server_id);
    g_assert_cmphex(r->server_id, ==, DHCP_SERVER);
    g_assert_true(r->has_lease_time);
    g_assert_cmpuint(r->lease_time, >, 0);
    g_assert_false(r->has_router);
}

/* Tests */

static const uint8_t mac_a[6] = { 0x00, 0x03, 0xff, 0x00, 0x00, 0x0a };
static const uint8_t mac_b[6] = { 0x00, 0x03, 0xff, 0x00, 0x00, 0x0b };

/* Two QEMUs on one network: frames both ways, broadcast and unicast. */
static void test_two_vms(void)
{
    const char *const lan[] = { "network=lan" };
    uint8_t frame[1514];
    g_autofree char *list = NULL;
    g_autofree char *mac_a_str = mac_str(mac_a);
    g_autofree char *mac_b_str = mac_str(mac_b);
    NetEnv env;
    Vm a, b;

    netenv_init(&env);
    vm_start(&a, "vm-a", 1, lan, &mac_a);
    vm_start(&b, "vm-b", 1, lan, &mac_b);

    /* A's broadcast floods to B, full size and byte for byte. */
    make_frame(frame, sizeof(frame), bcast, mac_a, 1);
    send_frame(&a.nic[0], frame, sizeof(frame));
    expect_frame(&b.nic[0], frame, sizeof(frame));

    /* B answers A by unicast; A replies, now known to the switch. */
    make_frame(frame, 200, mac_a, mac_b, 2);
    send_frame(&b.nic[0], frame, 200);
    expect_frame(&a.nic[0], frame, 200);
    make_frame(frame, 60, mac_b, mac_a, 3);
    send_frame(&a.nic[0], frame, 60);
    expect_frame(&b.nic[0], frame, 60);
    make_frame(frame, 1000, mac_a, mac_b, 4);
    send_frame(&b.nic[0], frame, 1000);
    expect_frame(&a.nic[0], frame, 1000);

    /* The daemon lists both ports, with their labels and MACs. */
    list = vswitch_list("lan");
    g_test_message("%s", list);
    g_assert_nonnull(strstr(list, "network lan:"));
    g_assert_nonnull(strstr(list, "ports: 2"));
    g_assert_true(g_regex_match_simple("vm-a/n0 +00:03:ff:00:00:0a",
                                       list, 0, 0));
    g_assert_true(g_regex_match_simple("vm-b/n0 +00:03:ff:00:00:0b",
                                       list, 0, 0));

    vm_stop(&a);
    vm_stop(&b);
    netenv_cleanup(&env);
}

/*
 * DISCOVER, OFFER, REQUEST, ACK with the daemon's server; the lease is
 * then listed for our MAC, and the requests were not flooded to the
 * other port.
 */
static void test_dhcp_handshake(void)
{
    const char *const lan[] = { "network=lan" };
    uint8_t frame[QDEC_BUF_SIZE], marker[100];
    g_autofree char *list = NULL, *leases = NULL, *lease_path = NULL;
    g_autofree char *lease_re = NULL, *ip_re = NULL;
    const uint32_t xid = g_test_rand_int();
    DhcpReply offer, ack;
    size_t len;
    int got;
    NetEnv env;
    Vm a, b;

    netenv_init(&env);
    vm_start(&a, "vm-a", 1, lan, &mac_a);
    vm_start(&b, "vm-b", 1, lan, &mac_b);

    /* Without the broadcast flag, the OFFER comes unicast to chaddr. */
    len = dhcp_build(frame, mac_a, xid, DHCPDISCOVER, false, 0, 0);
    send_frame(&a.nic[0], frame, len);
    got = qdec_rx(&a.nic[0], frame, sizeof(frame), NULL);
    g_assert_cmpint(got, >, 0);
    dhcp_parse_reply(frame, got, mac_a, xid, &offer);
    g_assert_cmpuint(offer.type, ==, DHCPOFFER);
    check_lease_options(&offer);
    g_assert_cmpmem(frame, 6, mac_a, 6);
    g_assert_cmphex(offer.ip_dst, ==, offer.yiaddr);

    /* With it, the ACK is broadcast. */
    len = dhcp_build(frame, mac_a, xid, DHCPREQUEST, true, offer.yiaddr,
                     offer.server_id);
    send_frame(&a.nic[0], frame, len);
    got = qdec_rx(&a.nic[0], frame, sizeof(frame), NULL);
    g_assert_cmpint(got, >, 0);
    dhcp_parse_reply(frame, got, mac_a, xid, &ack);
    g_assert_cmpuint(ack.type, ==, DHCPACK);
    check_lease_options(&ack);
    g_assert_cmphex(ack.yiaddr, ==, offer.yiaddr);
    g_assert_cmpmem(frame, 6, bcast, 6);
    g_assert_cmphex(ack.ip_dst, ==, 0xffffffff);

    /*
     * The server took both requests and flooded none: B sees the
     * broadcast ACK, then a broadcast A sent after it.
     */
    expect_frame(&b.nic[0], frame, got);
    make_frame(marker, sizeof(marker), bcast, mac_a, 5);
    send_frame(&a.nic[0], marker, sizeof(marker));
    expect_frame(&b.nic[0], marker, sizeof(marker));

    /* The lease is recorded for our MAC, listed and in the lease file. */
    ip_re = g_strdup_printf("%u\\.%u\\.%u\\.%u", ack.yiaddr >> 24,
                            (ack.yiaddr >> 16) & 0xff,
                            (ack.yiaddr >> 8) & 0xff, ack.yiaddr & 0xff);
    list = vswitch_list("lan");
    g_test_message("%s", list);
    lease_re = g_strdup_printf("(?m)^ +%s +00:03:ff:00:00:0a +bound .*"
                               "host " DHCP_HOSTNAME "$", ip_re);
    g_assert_true(g_regex_match_simple(lease_re, list, 0, 0));
    lease_path = netenv_path(&env, "lan", "leases");
    g_assert_true(g_file_get_contents(lease_path, &leases, NULL, NULL));
    g_free(lease_re);
    lease_re = g_strdup_printf("(?m)^00:03:ff:00:00:0a %s bound [0-9]+ "
                               DHCP_HOSTNAME "$", ip_re);
    g_assert_true(g_regex_match_simple(lease_re, leases, 0, 0));

    vm_stop(&a);
    vm_stop(&b);
    netenv_cleanup(&env);
}

/* dhcp=off: a DISCOVER is switched untouched, and nobody answers it. */
static void test_dhcp_off(void)
{
    const char *const lan[] = { "network=lan,dhcp=off" };
    uint8_t discover[DHCP_FRAME_LEN], marker[80];
    g_autofree char *list = NULL;
    size_t len;
    NetEnv env;
    Vm a, b;

    netenv_init(&env);
    vm_start(&a, "vm-a", 1, lan, &mac_a);
    vm_start(&b, "vm-b", 1, lan, &mac_b);

    len = dhcp_build(discover, mac_a, g_test_rand_int(), DHCPDISCOVER, true,
                     0, 0);
    send_frame(&a.nic[0], discover, len);
    expect_frame(&b.nic[0], discover, len);

    /*
     * An OFFER would have been queued for A as the DISCOVER went
     * through, before B got it: A's next frame must be B's answer.
     */
    make_frame(marker, sizeof(marker), mac_a, mac_b, 6);
    send_frame(&b.nic[0], marker, sizeof(marker));
    expect_frame(&a.nic[0], marker, sizeof(marker));

    list = vswitch_list("lan");
    g_test_message("%s", list);
    g_assert_nonnull(strstr(list, "dhcp=off"));
    g_assert_null(strstr(list, "leases:"));

    vm_stop(&a);
    vm_stop(&b);
    netenv_cleanup(&env);
}

/*
 * Two QEMUs, each with one card on "red" and one on "blue": frames stay
 * on their network, both ways.
 */
static void test_isolation(void)
{
    const char *const nets[] = { "network=red", "network=blue" };
    const uint8_t macs1[2][6] = {
        { 0x00, 0x03, 0xff, 0x00, 0x01, 0x01 },
        { 0x00, 0x03, 0xff, 0x00, 0x01, 0x02 },
    };
    const uint8_t macs2[2][6] = {
        { 0x00, 0x03, 0xff, 0x00, 0x02, 0x01 },
        { 0x00, 0x03, 0xff, 0x00, 0x02, 0x02 },
    };
    uint8_t red[300], blue[200], blue_back[100];
    g_autofree char *list_red = NULL, *list_blue = NULL;
    NetEnv env;
    Vm v1, v2;

    netenv_init(&env);
    vm_start(&v1, "vm-1", 2, nets, macs1);
    vm_start(&v2, "vm-2", 2, nets, macs2);
    g_assert_cmpint(daemon_pid(&env, "red"), !=, daemon_pid(&env, "blue"));

    /* A broadcast on red reaches red... */
    make_frame(red, sizeof(red), bcast, macs1[0], 7);
    send_frame(&v1.nic[0], red, sizeof(red));
    expect_frame(&v2.nic[0], red, sizeof(red));

    /*
     * ...and not blue: the first frame each blue card gets is the one
     * the other sent on blue afterwards.
     */
    make_frame(blue, sizeof(blue), bcast, macs1[1], 8);
    send_frame(&v1.nic[1], blue, sizeof(blue));
    expect_frame(&v2.nic[1], blue, sizeof(blue));
    make_frame(blue_back, sizeof(blue_back), macs1[1], macs2[1], 9);
    send_frame(&v2.nic[1], blue_back, sizeof(blue_back));
    expect_frame(&v1.nic[1], blue_back, sizeof(blue_back));

    /* Nor from blue to red: each red card's next frame is red's own. */
    make_frame(red, 64, macs2[0], macs1[0], 10);
    send_frame(&v1.nic[0], red, 64);
    expect_frame(&v2.nic[0], red, 64);
    make_frame(red, 90, macs1[0], macs2[0], 11);
    send_frame(&v2.nic[0], red, 90);
    expect_frame(&v1.nic[0], red, 90);

    /* Each switch knows only its own ports. */
    list_red = vswitch_list("red");
    list_blue = vswitch_list("blue");
    g_assert_nonnull(strstr(list_red, "00:03:ff:00:01:01"));
    g_assert_nonnull(strstr(list_red, "00:03:ff:00:02:01"));
    g_assert_null(strstr(list_red, "00:03:ff:00:01:02"));
    g_assert_null(strstr(list_red, "00:03:ff:00:02:02"));
    g_assert_nonnull(strstr(list_blue, "00:03:ff:00:01:02"));
    g_assert_nonnull(strstr(list_blue, "00:03:ff:00:02:02"));
    g_assert_null(strstr(list_blue, "00:03:ff:00:01:01"));
    g_assert_null(strstr(list_blue, "00:03:ff:00:02:01"));

    vm_stop(&v1);
    vm_stop(&v2);
    netenv_cleanup(&env);
}

/* Run QEMU with one bad -netdev internal: it must fail saying @error. */
static void expect_bad_netdev(const char *netdev, const char *error)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    const char *argv[] = {
        "timeout", "30", qemu, "-machine", "pc", "-accel", "qtest",
        "-display", "none", "-nodefaults", "-S",
        "-netdev", netdev, "-device", "dec21140a,netdev=n0", NULL,
    };
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL, *errout = NULL;
    g_autofree char *where = g_strdup_printf("-netdev %s: ", netdev);
    const char *msg;
    int status;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
                               NULL, NULL, &out, &errout, &status, &err));
    g_assert_no_error(err);
    g_test_message("-netdev %s: %s", netdev, errout);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    /* The message, not the option echoed before it, says what is wrong. */
    msg = strstr(errout, where);
    g_assert_nonnull(msg);
    g_assert_nonnull(strstr(msg + strlen(where), error));
}

static void test_bad_options(void)
{
    g_autofree char *long_name = g_strnfill(65, 'n');
    g_autofree char *long_opt = g_strdup_printf("internal,id=n0,network=%s",
                                                long_name);
    g_autofree char *max_name = g_strnfill(64, 'n');
    g_autofree char *max_opt = g_strdup_printf("network=%s", max_name);
    const char *const max_net[] = { max_opt };
    g_autofree char *sock = NULL;
    NetEnv env;
    Vm a;

    netenv_init(&env);
    expect_bad_netdev("internal,id=n0", "'network' is missing");
    expect_bad_netdev("internal,id=n0,network=", "network name ''");
    expect_bad_netdev("internal,id=n0,network=.lan", "network name '.lan'");
    expect_bad_netdev("internal,id=n0,network=a/b", "network name 'a/b'");
    expect_bad_netdev(long_opt, "1 to 64 characters");
    expect_bad_netdev("internal,id=n0,network=lan,dhcp-start=169.254.5.0,"
                      "dhcp-end=169.254.1.0",
                      "dhcp-start 169.254.5.0 comes after dhcp-end "
                      "169.254.1.0");
    expect_bad_netdev("internal,id=n0,network=lan,dhcp-start=169.254.5.0",
                      "give dhcp-start and dhcp-end together");
    expect_bad_netdev("internal,id=n0,network=lan,dhcp=off,"
                      "dhcp-start=169.254.1.0,dhcp-end=169.254.5.0",
                      "dhcp-start and dhcp-end need dhcp=on");
    expect_bad_netdev("internal,id=n0,network=lan,dhcp-start=169.254.1,"
                      "dhcp-end=lan", "is not an IPv4 address");
    expect_bad_netdev("internal,id=n0,network=lan,dhcp=maybe",
                      "Parameter 'dhcp' expects 'on' or 'off'");
    expect_bad_netdev("internal,id=n0,network=lan,dup-mac=ignore",
                      "Parameter 'dup-mac' does not accept value 'ignore'");
    expect_bad_netdev("internal,id=n0,network=lan,helper=",
                      "helper may not be empty");
    expect_bad_netdev("internal,id=n0,network=lan,"
                      "helper=/nonexistent/qemu-vswitch",
                      "cannot start the switch of network 'lan'");
    expect_bad_netdev("internal,id=n0,network=lan,helper=/bin/false",
                      "failed to start the switch of network 'lan' "
                      "(exit status 1)");

    /* None of them left a switch behind; a 64-character name is fine. */
    sock = netenv_path(&env, "lan", "sock");
    g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
    vm_start(&a, "vm-a", 1, max_net, &mac_a);
    g_assert_cmpint(daemon_pid(&env, max_name), >, 1);
    vm_stop(&a);
    netenv_cleanup(&env);
}

/* The netdev's line in "info network", NULL when absent. */
static char *info_network_line(QTestState *qts)
{
    g_autofree char *out = qtest_hmp(qts, "info network");
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

    for (int i = 0; lines[i]; i++) {
        if (strstr(lines[i], "type=internal")) {
            return g_strdup(g_strchomp(lines[i]));
        }
    }
    return NULL;
}

/* Poll "info network" until its line for n0 matches @re. */
static char *wait_info_network(QTestState *qts, const char *re)
{
    gint64 deadline = g_get_monotonic_time() +
                      POLL_TIMEOUT_S * G_TIME_SPAN_SECOND;
    char *line = NULL;

    do {
        g_free(line);
        line = info_network_line(qts);
        g_assert_nonnull(line);
        if (g_regex_match_simple(re, line, 0, 0)) {
            return line;
        }
        g_usleep(10 * 1000);
    } while (g_get_monotonic_time() < deadline);
    g_test_message("info network: %s, expected %s", line, re);
    g_assert_not_reached();
}

/*
 * "info network" says network=NAME, the socket and "joined"; when the
 * daemon goes away the port says "reconnecting", starts a new daemon and
 * joins it, and frames flow again.
 */
static void test_info_network(void)
{
    const char *const lab[] = { "network=lab" };
    g_autofree char *joined_re = NULL, *line = NULL, *sock_re = NULL;
    uint8_t frame[120];
    pid_t first, second;
    NetEnv env;
    Vm a, b;

    netenv_init(&env);
    vm_start(&a, "vm-a", 1, lab, &mac_a);
    sock_re = g_regex_escape_string(env.sock_dir, -1);
    joined_re = g_strdup_printf("^ *\\\\ n0: index=0,type=internal,"
                                "network=lab,socket=%s/lab\\.sock,"
                                "port=[0-9]+,joined,batched$", sock_re);
    line = info_network_line(a.qts);
    g_test_message("info network: %s", line);
    g_assert_true(g_regex_match_simple(joined_re, line, 0, 0));

    first = daemon_pid(&env, "lab");
    g_assert_cmpint(first, >, 1);
    g_assert_cmpint(kill(first, SIGTERM), ==, 0);
    g_free(wait_info_network(a.qts, ",reconnecting$"));
    g_free(line);
    line = wait_info_network(a.qts, joined_re);
    second = daemon_pid(&env, "lab");
    g_assert_cmpint(second, >, 1);
    g_assert_cmpint(second, !=, first);

    /* The rejoined port carries frames through the new daemon. */
    vm_start(&b, "vm-b", 1, lab, &mac_b);
    g_assert_cmpint(daemon_pid(&env, "lab"), ==, second);
    make_frame(frame, sizeof(frame), bcast, mac_a, 11);
    send_frame(&a.nic[0], frame, sizeof(frame));
    expect_frame(&b.nic[0], frame, sizeof(frame));
    make_frame(frame, sizeof(frame), mac_a, mac_b, 12);
    send_frame(&b.nic[0], frame, sizeof(frame));
    expect_frame(&a.nic[0], frame, sizeof(frame));

    vm_stop(&a);
    vm_stop(&b);
    netenv_cleanup(&env);
}

/*
 * A switch that does not batch (the stub, by default) gets one FRAME
 * per frame from QEMU and sends it the same way: QEMU's unbatched path,
 * which an older qemu-vswitch would take.
 */
static void test_unbatched_switch(void)
{
    g_autofree char *stub = g_test_build_filename(G_TEST_DIST,
                                                  "vswitch-stub.py", NULL);
    g_autofree char *opts = g_strdup_printf("network=lan,helper=%s", stub);
    const char *const lan[] = { opts };
    g_autofree char *line = NULL;
    uint8_t frame[1514];
    NetEnv env;
    Vm a, b;

    g_assert_true(g_file_test(stub, G_FILE_TEST_IS_EXECUTABLE));
    netenv_init(&env);
    vm_start(&a, "vm-a", 1, lan, &mac_a);
    vm_start(&b, "vm-b", 1, lan, &mac_b);

    line = info_network_line(a.qts);
    g_assert_true(g_regex_match_simple(",joined,unbatched$", line, 0, 0));
    for (int i = 0; i < 20; i++) {
        size_t len = 60 + i * 70;

        make_frame(frame, len, mac_b, mac_a, i);
        send_frame(&a.nic[0], frame, len);
        expect_frame(&b.nic[0], frame, len);
        make_frame(frame, len, mac_a, mac_b, 100 + i);
        send_frame(&b.nic[0], frame, len);
        expect_frame(&a.nic[0], frame, len);
    }

    vm_stop(&a);
    vm_stop(&b);
    netenv_cleanup(&env);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("vpcnet-internal/two-vms", test_two_vms);
    qtest_add_func("vpcnet-internal/dhcp-handshake", test_dhcp_handshake);
    qtest_add_func("vpcnet-internal/dhcp-off", test_dhcp_off);
    qtest_add_func("vpcnet-internal/isolation", test_isolation);
    qtest_add_func("vpcnet-internal/bad-options", test_bad_options);
    qtest_add_func("vpcnet-internal/info-network", test_info_network);
    qtest_add_func("vpcnet-internal/unbatched-switch", test_unbatched_switch);

    return g_test_run();
}
