/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: bounds-checked views of Ethernet, ARP, IPv4, UDP and DHCP, the
 * internet checksum, and builders for the frames our services send.
 *
 * Theory of operation
 *
 * Every frame that reaches this library may have been written by a
 * hostile guest.  A parser takes (buffer, length), checks that the bytes
 * it is about to read lie inside the buffer, and fills a "view": a small
 * struct of decoded header fields in host byte order plus a pointer and
 * length for the payload that follows.  No parser casts a struct onto a
 * frame, so alignment and packing never matter, and no parser reads past
 * @len.  Views point into the caller's buffer and live as long as it.
 *
 * Each failure has its own negative VpcPktError code, so a caller can
 * keep one drop counter per reason (index an array by -error).  Layers
 * are parsed one at a time: a view of one layer is the input of the next
 * (the Ethernet payload for IPv4 and ARP, the IPv4 view for UDP, the UDP
 * payload for DHCP); vpc_udp4_frame_parse() chains the common case.
 *
 * Builders write into a caller buffer of a given capacity and return the
 * number of bytes written, or VPC_PKT_NO_SPACE without having written
 * anything useful; they never allocate.
 *
 * Limits: one 802.1Q tag (TPID 0x8100) is understood, stacked tags are
 * reported as their outer type; IPv4 fragments are flagged, not
 * reassembled; DHCP option overload (RFC 2131 option 52, options in
 * 'sname'/'file') is not followed.
 */
#ifndef VPCNET_PACKET_H
#define VPCNET_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VPC_ETH_ALEN            6
#define VPC_ETH_HLEN            14
#define VPC_ETH_VLAN_HLEN       18
#define VPC_ETH_MIN_LEN         60      /* without FCS */
#define VPC_ETHERTYPE_IPV4      0x0800
#define VPC_ETHERTYPE_ARP       0x0806
#define VPC_ETHERTYPE_VLAN      0x8100
#define VPC_ETHERTYPE_IPV6      0x86dd

#define VPC_ARP_LEN             28      /* Ethernet/IPv4 ARP */
#define VPC_ARP_OP_REQUEST      1
#define VPC_ARP_OP_REPLY        2

#define VPC_IPV4_HLEN           20      /* without options */
#define VPC_IPV4_MAX_LEN        65535
#define VPC_IP_PROTO_ICMP       1
#define VPC_IP_PROTO_TCP        6
#define VPC_IP_PROTO_UDP        17
#define VPC_IPV4_BROADCAST      0xffffffffu

#define VPC_UDP_HLEN            8
/* Ethernet + IPv4 (no options) + UDP, in front of a UDP payload. */
#define VPC_UDP4_FRAME_HLEN     (VPC_ETH_HLEN + VPC_IPV4_HLEN + VPC_UDP_HLEN)

#define VPC_DHCP_SERVER_PORT    67
#define VPC_DHCP_CLIENT_PORT    68
#define VPC_BOOTP_FIXED_LEN     236     /* op .. file, before the cookie */
#define VPC_DHCP_OPTIONS_OFFSET 240     /* fixed part plus magic cookie */
#define VPC_DHCP_MAGIC_COOKIE   0x63825363u
#define VPC_BOOTP_MIN_LEN       300     /* RFC 1542 minimum, we pad to it */
#define VPC_BOOTREQUEST         1
#define VPC_BOOTREPLY           2
#define VPC_DHCP_HTYPE_ETHER    1
#define VPC_DHCP_FLAG_BROADCAST 0x8000

/* DHCP message types (option 53), RFC 2132 section 9.6. */
#define VPC_DHCPDISCOVER        1
#define VPC_DHCPOFFER           2
#define VPC_DHCPREQUEST         3
#define VPC_DHCPDECLINE         4
#define VPC_DHCPACK             5
#define VPC_DHCPNAK             6
#define VPC_DHCPRELEASE         7
#define VPC_DHCPINFORM          8

/* DHCP option codes we read or write, RFC 2132. */
#define VPC_DHCP_OPT_PAD            0
#define VPC_DHCP_OPT_SUBNET_MASK    1
#define VPC_DHCP_OPT_ROUTER         3
#define VPC_DHCP_OPT_DNS            6
#define VPC_DHCP_OPT_HOSTNAME       12
#define VPC_DHCP_OPT_DOMAIN         15
#define VPC_DHCP_OPT_REQUESTED_IP   50
#define VPC_DHCP_OPT_LEASE_TIME     51
#define VPC_DHCP_OPT_OVERLOAD       52
#define VPC_DHCP_OPT_MSG_TYPE       53
#define VPC_DHCP_OPT_SERVER_ID      54
#define VPC_DHCP_OPT_PARAM_LIST     55
#define VPC_DHCP_OPT_MESSAGE        56
#define VPC_DHCP_OPT_MAX_SIZE       57
#define VPC_DHCP_OPT_T1             58
#define VPC_DHCP_OPT_T2             59
#define VPC_DHCP_OPT_CLIENT_ID      61
#define VPC_DHCP_OPT_END            255

/*
 * VpcPktError - why a parser or builder failed.  Zero is success, every
 * failure is negative and distinct; -error indexes an array of
 * VPC_PKT_ERROR_COUNT counters (slot 0 unused).
 */
typedef enum VpcPktError {
    VPC_PKT_OK = 0,
    VPC_PKT_ETH_TRUNCATED = -1,      /* shorter than an Ethernet header */
    VPC_PKT_VLAN_TRUNCATED = -2,     /* 802.1Q tag or inner type cut off */
    VPC_PKT_WRONG_ETHERTYPE = -3,    /* not the protocol asked for */
    VPC_PKT_ARP_TRUNCATED = -4,      /* shorter than an Ethernet/IPv4 ARP */
    VPC_PKT_ARP_NOT_ETH_IPV4 = -5,   /* htype, ptype, hlen or plen wrong */
    VPC_PKT_IP_TRUNCATED = -6,       /* header (with options) cut off */
    VPC_PKT_IP_VERSION = -7,         /* version field is not 4 */
    VPC_PKT_IP_HEADER_LENGTH = -8,   /* IHL below 5 */
    VPC_PKT_IP_TOTAL_LENGTH = -9,    /* below IHL or beyond the frame */
    VPC_PKT_IP_CHECKSUM = -10,       /* header checksum does not verify */
    VPC_PKT_IP_FRAGMENT = -11,       /* a fragment: no whole datagram */
    VPC_PKT_WRONG_PROTOCOL = -12,    /* IP protocol is not the one asked */
    VPC_PKT_UDP_TRUNCATED = -13,     /* shorter than a UDP header */
    VPC_PKT_UDP_LENGTH = -14,        /* below 8 or beyond the IP payload */
    VPC_PKT_UDP_CHECKSUM = -15,      /* non-zero checksum does not verify */
    VPC_PKT_DHCP_TRUNCATED = -16,    /* shorter than header and cookie */
    VPC_PKT_DHCP_COOKIE = -17,       /* magic cookie missing */
    VPC_PKT_DHCP_OPTION_OVERRUN = -18, /* an option runs past the end */
    VPC_PKT_DHCP_NO_END = -19,       /* options not closed by END */
    VPC_PKT_NO_SPACE = -20,          /* builder: caller buffer too small */
    VPC_PKT_TOO_BIG = -21,           /* builder: over a protocol limit */
} VpcPktError;

#define VPC_PKT_ERROR_COUNT 22

/* vpc_pkt_error_name - a short lower-case name for @err ("ok" for 0). */
const char *vpc_pkt_error_name(int err);

/* Big-endian loads and stores on unaligned bytes. */
static inline uint16_t vpc_get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t vpc_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static inline void vpc_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static inline void vpc_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

/*
 * Internet checksum (RFC 1071).  Sums are of big-endian 16-bit words and
 * are kept folded to 16 bits, so partial sums can be added together.
 */

/*
 * vpc_csum_partial - add @len bytes to the running sum @sum (start at 0).
 * Every piece but the last must have an even length; an odd last byte is
 * padded with zero, as RFC 1071 says.
 */
uint32_t vpc_csum_partial(uint32_t sum, const void *buf, size_t len);

/* vpc_csum_fold - fold @sum to 16 bits and complement: the checksum. */
uint16_t vpc_csum_fold(uint32_t sum);

/* vpc_ip_checksum - the checksum of @len bytes (an IPv4 header). */
uint16_t vpc_ip_checksum(const void *buf, size_t len);

/* vpc_csum_pseudo_ipv4 - the sum of the IPv4 pseudo-header (host order). */
uint32_t vpc_csum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                              uint16_t l4_len);

/*
 * vpc_l4_checksum_ipv4 - the UDP or TCP checksum of the segment @l4 (its
 * checksum field zero, or the value to verify: then the result is 0).
 * For UDP the caller sends 0xffff in place of a computed 0.
 */
uint16_t vpc_l4_checksum_ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                              const void *l4, size_t len);

/*
 * vpc_csum_adjust16, vpc_csum_adjust32 - update checksum @csum after a
 * 16-bit word (or two words) of the covered data changed from @from to
 * @to, without summing the data again (RFC 1624, eqn. 3).
 */
uint16_t vpc_csum_adjust16(uint16_t csum, uint16_t from, uint16_t to);
uint16_t vpc_csum_adjust32(uint16_t csum, uint32_t from, uint32_t to);

/**
 * VpcEthView - a parsed Ethernet II header.
 * @dst: destination address.
 * @src: source address.
 * @ethertype: the type after the 802.1Q tag, if any.
 * @has_vlan: the frame carries one 802.1Q tag.
 * @vlan_tci: the tag's PCP/DEI/VID bits, when @has_vlan.
 * @hlen: header bytes, 14 or 18.
 * @payload: the bytes after the header (may include Ethernet padding).
 * @payload_len: their number.
 */
typedef struct VpcEthView {
    uint8_t dst[VPC_ETH_ALEN];
    uint8_t src[VPC_ETH_ALEN];
    uint16_t ethertype;
    bool has_vlan;
    uint16_t vlan_tci;
    size_t hlen;
    const uint8_t *payload;
    size_t payload_len;
} VpcEthView;

/* vpc_eth_parse - parse the Ethernet header of @frame; 0 or an error. */
int vpc_eth_parse(const uint8_t *frame, size_t len, VpcEthView *eth);

static inline bool vpc_mac_is_broadcast(const uint8_t *mac)
{
    return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xff;
}

static inline bool vpc_mac_is_multicast(const uint8_t *mac)
{
    return mac[0] & 1;
}

static inline bool vpc_mac_is_zero(const uint8_t *mac)
{
    return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

/**
 * VpcArpView - an Ethernet/IPv4 ARP packet.
 * @op: 1 request, 2 reply (others are passed through as read).
 * @sha: sender hardware address.
 * @spa: sender protocol address, host order.
 * @tha: target hardware address.
 * @tpa: target protocol address, host order.
 */
typedef struct VpcArpView {
    uint16_t op;
    uint8_t sha[VPC_ETH_ALEN];
    uint32_t spa;
    uint8_t tha[VPC_ETH_ALEN];
    uint32_t tpa;
} VpcArpView;

/* vpc_arp_parse - parse ARP at @buf (an Ethernet payload). */
int vpc_arp_parse(const uint8_t *buf, size_t len, VpcArpView *arp);

/**
 * VpcIpv4View - a parsed IPv4 header.
 * @hdr: the header in the caller's buffer.
 * @hlen: header length in bytes, options included (20..60).
 * @total_len: the datagram length from the header, within the buffer.
 * @tos: type of service byte.
 * @id: identification.
 * @dont_fragment: DF flag.
 * @more_fragments: MF flag.
 * @frag_offset: fragment offset in bytes.
 * @is_fragment: MF set or offset non-zero: not a whole datagram.
 * @ttl: time to live.
 * @protocol: payload protocol number.
 * @src: source address, host order.
 * @dst: destination address, host order.
 * @payload: the bytes after the header, up to @total_len.
 * @payload_len: their number (link padding excluded).
 */
typedef struct VpcIpv4View {
    const uint8_t *hdr;
    size_t hlen;
    size_t total_len;
    uint8_t tos;
    uint16_t id;
    bool dont_fragment;
    bool more_fragments;
    uint32_t frag_offset;
    bool is_fragment;
    uint8_t ttl;
    uint8_t protocol;
    uint32_t src;
    uint32_t dst;
    const uint8_t *payload;
    size_t payload_len;
} VpcIpv4View;

/*
 * vpc_ipv4_parse - parse IPv4 at @buf (an Ethernet payload), verifying
 * the header checksum.  A fragment parses fine and is flagged.
 */
int vpc_ipv4_parse(const uint8_t *buf, size_t len, VpcIpv4View *ip);

/**
 * VpcUdpView - a parsed UDP header.
 * @src_port: source port.
 * @dst_port: destination port.
 * @length: the UDP length field (header included).
 * @checksum: the checksum field, 0 when the sender sent none.
 * @payload: the datagram's data.
 * @payload_len: @length minus the header.
 */
typedef struct VpcUdpView {
    uint16_t src_port;
    uint16_t dst_port;
    uint16_t length;
    uint16_t checksum;
    const uint8_t *payload;
    size_t payload_len;
} VpcUdpView;

/*
 * vpc_udp_parse - parse the UDP datagram carried by @ip, verifying its
 * checksum when it has one.  Fragments are refused.
 */
int vpc_udp_parse(const VpcIpv4View *ip, VpcUdpView *udp);

/*
 * vpc_udp4_frame_parse - the three steps above for an untagged or tagged
 * Ethernet frame carrying IPv4/UDP; stops at the first error.
 */
int vpc_udp4_frame_parse(const uint8_t *frame, size_t len, VpcEthView *eth,
                         VpcIpv4View *ip, VpcUdpView *udp);

/**
 * VpcDhcpHeader - the fixed BOOTP part of a DHCP message, host order.
 * @op: 1 BOOTREQUEST, 2 BOOTREPLY.
 * @htype: hardware type, 1 for Ethernet.
 * @hlen: hardware address length, 6 for Ethernet.
 * @hops: relay hop count.
 * @xid: transaction id.
 * @secs: seconds since the client began.
 * @flags: bit 15 is the broadcast flag.
 * @ciaddr: client address (when it has one).
 * @yiaddr: "your" address: what the server assigns.
 * @siaddr: next server (boot server).
 * @giaddr: relay agent address.
 * @chaddr: client hardware address, first @hlen bytes meaningful.
 */
typedef struct VpcDhcpHeader {
    uint8_t op;
    uint8_t htype;
    uint8_t hlen;
    uint8_t hops;
    uint32_t xid;
    uint16_t secs;
    uint16_t flags;
    uint32_t ciaddr;
    uint32_t yiaddr;
    uint32_t siaddr;
    uint32_t giaddr;
    uint8_t chaddr[16];
} VpcDhcpHeader;

/**
 * VpcDhcpView - a parsed DHCP message whose options have been walked.
 * @hdr: the fixed header.
 * @options: the option bytes after the magic cookie.
 * @options_len: their number, up to and including the END option.
 * @msg_type: option 53 when present with length 1, else 0 (plain BOOTP
 *            or a malformed type).
 */
typedef struct VpcDhcpView {
    VpcDhcpHeader hdr;
    const uint8_t *options;
    size_t options_len;
    uint8_t msg_type;
} VpcDhcpView;

/*
 * vpc_dhcp_parse - parse a DHCP message (a UDP payload): the fixed header,
 * the cookie, and every option up to END, which must be present.
 */
int vpc_dhcp_parse(const uint8_t *buf, size_t len, VpcDhcpView *dhcp);

/**
 * VpcDhcpOpt - one DHCP option.
 * @code: option code.
 * @len: length of @data.
 * @data: the option's value, inside the message buffer.
 */
typedef struct VpcDhcpOpt {
    uint8_t code;
    uint8_t len;
    const uint8_t *data;
} VpcDhcpOpt;

/**
 * VpcDhcpOptIter - a walk over DHCP option bytes.
 * @buf: the option bytes.
 * @len: their number.
 * @pos: offset of the next option; after END, the offset just past it.
 * @status: 1 while walking, then 0 (END seen) or the error met.
 */
typedef struct VpcDhcpOptIter {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    int status;
} VpcDhcpOptIter;

/* vpc_dhcp_opt_iter_init - start a walk over @len option bytes. */
void vpc_dhcp_opt_iter_init(VpcDhcpOptIter *it, const uint8_t *buf,
                            size_t len);

/*
 * vpc_dhcp_opt_iter_next - the next option other than PAD.  Returns 1 with
 * @opt filled, 0 at END, VPC_PKT_DHCP_NO_END when the bytes run out
 * before END, or VPC_PKT_DHCP_OPTION_OVERRUN when an option's length runs
 * past them.  Every call advances; after 0 or an error it stays there.
 */
int vpc_dhcp_opt_iter_next(VpcDhcpOptIter *it, VpcDhcpOpt *opt);

/* vpc_dhcp_opt_find - the first option @code of @dhcp; false if none. */
bool vpc_dhcp_opt_find(const VpcDhcpView *dhcp, uint8_t code,
                       VpcDhcpOpt *opt);

/* vpc_dhcp_opt_get_ipv4 - option @code as one IPv4 address (length 4). */
bool vpc_dhcp_opt_get_ipv4(const VpcDhcpView *dhcp, uint8_t code,
                           uint32_t *addr);

/**
 * VpcDhcpWriter - writes one DHCP message into a caller buffer.
 * @buf: the message's first byte.
 * @cap: bytes available at @buf.
 * @len: bytes written so far.
 * @error: sticky: the first VpcPktError met, later calls do nothing.
 */
typedef struct VpcDhcpWriter {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int error;
} VpcDhcpWriter;

/*
 * vpc_dhcp_writer_init - write @hdr, zero 'sname' and 'file', and the
 * magic cookie.  Check for errors once, at vpc_dhcp_writer_finish().
 */
void vpc_dhcp_writer_init(VpcDhcpWriter *w, uint8_t *buf, size_t cap,
                          const VpcDhcpHeader *hdr);

/* vpc_dhcp_put_option - append option @code of @len (<= 255) bytes. */
void vpc_dhcp_put_option(VpcDhcpWriter *w, uint8_t code, const void *data,
                         size_t len);
void vpc_dhcp_put_u8(VpcDhcpWriter *w, uint8_t code, uint8_t value);
void vpc_dhcp_put_u32(VpcDhcpWriter *w, uint8_t code, uint32_t value);

/* vpc_dhcp_writer_room - bytes still free, keeping one for END. */
size_t vpc_dhcp_writer_room(const VpcDhcpWriter *w);

/*
 * vpc_dhcp_writer_finish - append END and zero-pad to @min_len.  Returns
 * the message length or the first error met.
 */
int vpc_dhcp_writer_finish(VpcDhcpWriter *w, size_t min_len);

/**
 * VpcUdp4Frame - the addressing of an Ethernet/IPv4/UDP frame to build.
 * @eth_dst: destination MAC.
 * @eth_src: source MAC.
 * @ip_src: source address, host order.
 * @ip_dst: destination address, host order.
 * @src_port: UDP source port.
 * @dst_port: UDP destination port.
 * @ttl: IPv4 time to live.
 * @ip_id: IPv4 identification.
 */
typedef struct VpcUdp4Frame {
    uint8_t eth_dst[VPC_ETH_ALEN];
    uint8_t eth_src[VPC_ETH_ALEN];
    uint32_t ip_src;
    uint32_t ip_dst;
    uint16_t src_port;
    uint16_t dst_port;
    uint8_t ttl;
    uint16_t ip_id;
} VpcUdp4Frame;

/*
 * vpc_udp4_frame_build - write an untagged Ethernet/IPv4/UDP frame with
 * both checksums around @payload.  @payload may already sit at
 * @buf + VPC_UDP4_FRAME_HLEN (build in place) or anywhere else.  Frames
 * are zero-padded to the Ethernet minimum of 60 bytes.  Returns the frame
 * length, VPC_PKT_TOO_BIG or VPC_PKT_NO_SPACE.
 */
int vpc_udp4_frame_build(uint8_t *buf, size_t cap, const VpcUdp4Frame *f,
                         const uint8_t *payload, size_t payload_len);

#endif
