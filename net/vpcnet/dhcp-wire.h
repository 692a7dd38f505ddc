/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the DHCP/BOOTP wire format (RFC 2131, RFC 2132): constants,
 * the message view, an option walker and a message writer.  The server
 * that uses them is dhcp-server.[ch].
 *
 * Limits: DHCP option overload (RFC 2131 option 52, options in
 * 'sname'/'file') is not followed.
 */
#ifndef VPCNET_DHCP_WIRE_H
#define VPCNET_DHCP_WIRE_H

#include "net/vpcnet/wire.h"

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
#define VPC_DHCP_OPT_MTU            26
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
#define VPC_DHCP_OPT_SEARCH         119     /* RFC 3397 */
#define VPC_DHCP_OPT_END            255

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

/*
 * vpc_dhcp_encode_search - encode @n domain names as an RFC 3397 option
 * 119 value (DNS wire format, without compression) into @out.  Returns
 * its length, or VPC_PKT_TOO_BIG when it needs more than @cap bytes or a
 * name is not a valid domain name (labels of 1 to 63 characters).
 */
int vpc_dhcp_encode_search(const char *const *names, unsigned n,
                           uint8_t *out, size_t cap);

#endif
