/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the port protocol of an internal network, one definition for
 * the qemu-vswitch daemon, -netdev internal and the test and benchmark
 * clients.  docs/devel/vpcnet-vswitch-protocol.rst is the contract.
 *
 * Every message is one SOCK_SEQPACKET datagram: a VSW_HDR_LEN-byte
 * header (type, flags, little-endian payload length) and the payload.
 * Payloads are built and read here byte by byte, never by casting a
 * struct over the wire, so that neither padding nor the host's byte
 * order can leak into the format.  Decoders check the length they are
 * given and say so when it is wrong; nothing reads past it.
 */
#ifndef VPCNET_VSWITCH_PROTO_H
#define VPCNET_VSWITCH_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum VswMsgType {
    VSW_MSG_FRAME = 0,
    VSW_MSG_HELLO = 1,
    VSW_MSG_WELCOME = 2,
    VSW_MSG_REFUSED = 3,
    VSW_MSG_LIST = 16,
};

enum VswStatus {
    VSW_STATUS_JOINED = 0,
    VSW_STATUS_BAD_HELLO = 1,
    VSW_STATUS_FULL = 2,
    VSW_STATUS_DUP_MAC = 3,
};

#define VSW_VERSION                 1
#define VSW_HDR_LEN                 4
#define VSW_HELLO_MAGIC             "VPCN"
#define VSW_HELLO_LEN               48      /* payload bytes */
#define VSW_WELCOME_LEN             8       /* payload bytes before text */
#define VSW_REFUSED_LEN             2       /* payload bytes before text */
#define VSW_HELLO_DHCP_OFF          (1 << 0)
#define VSW_HELLO_DUP_WARN          (1 << 1)
#define VSW_WELCOME_CONFIG_DIFFERS  (1 << 0)
#define VSW_HELLO_LABEL_LEN         32      /* NUL-padded on the wire */
#define VSW_NAME_MAX                64      /* network name characters */
#define VSW_FRAME_MIN               14      /* an Ethernet header */
#define VSW_FRAME_MAX               9018    /* jumbo, one 802.1Q tag */
/* The largest message the 16-bit length field allows. */
#define VSW_MSG_MAX                 (VSW_HDR_LEN + 65535)

/**
 * VswHello - what a client asks for when it joins.
 * @version: VSW_VERSION.
 * @flags: VSW_HELLO_*.
 * @dhcp_start: first DHCP address, host order; 0 for the default.
 * @dhcp_end: last DHCP address, host order; 0 for the default.
 * @label: the client's name for its port, NUL-terminated.
 */
typedef struct VswHello {
    uint16_t version;
    uint16_t flags;
    uint32_t dhcp_start;
    uint32_t dhcp_end;
    char label[VSW_HELLO_LABEL_LEN + 1];
} VswHello;

/**
 * VswReply - a WELCOME or REFUSED.
 * @status: VSW_STATUS_*.
 * @flags: VSW_WELCOME_* (0 in a REFUSED).
 * @port_id: the port's id (0 in a REFUSED).
 * @text: human-readable text, not NUL-terminated; points into the
 *        decoded message.
 * @text_len: its length.
 */
typedef struct VswReply {
    uint16_t status;
    uint16_t flags;
    uint32_t port_id;
    const char *text;
    size_t text_len;
} VswReply;

/* Write a header for a @len-byte payload of @type. */
void vsw_header_put(uint8_t hdr[VSW_HDR_LEN], uint8_t type, uint16_t len);

/*
 * Read the header of the @size-byte message @msg.  Returns false when
 * the message is shorter than a header or its length field does not
 * match @size; otherwise @type and @len (the payload's) are set.
 */
bool vsw_header_get(const uint8_t *msg, size_t size, uint8_t *type,
                    size_t *len);

/* Encode @hello as a VSW_HELLO_LEN-byte payload; a long label is cut. */
void vsw_hello_encode(const VswHello *hello, uint8_t out[VSW_HELLO_LEN]);

/*
 * Decode a HELLO payload.  Returns false when its length or magic is
 * wrong; @hello->label keeps only printable ASCII (others become '?').
 * The version is not checked: the caller answers a wrong one.
 */
bool vsw_hello_decode(const uint8_t *payload, size_t len, VswHello *hello);

/* Encode a WELCOME payload's fixed part. */
void vsw_welcome_encode(uint16_t status, uint16_t flags, uint32_t port_id,
                        uint8_t out[VSW_WELCOME_LEN]);

/* Encode a REFUSED payload's fixed part. */
void vsw_refused_encode(uint16_t status, uint8_t out[VSW_REFUSED_LEN]);

/* Decode a WELCOME payload; false when it is too short. */
bool vsw_welcome_decode(const uint8_t *payload, size_t len, VswReply *reply);

/* Decode a REFUSED payload; false when it is too short. */
bool vsw_refused_decode(const uint8_t *payload, size_t len, VswReply *reply);

/* A short English name of a VSW_STATUS_* value. */
const char *vsw_status_name(unsigned status);

/*
 * Whether @name is a valid network name: 1 to VSW_NAME_MAX characters of
 * [A-Za-z0-9_.-], not starting with a dot (so no "..", no hidden files).
 */
bool vsw_network_name_valid(const char *name);

/*
 * The directory of the networks' sockets, lock and lease files:
 * $XDG_RUNTIME_DIR/vpcnet when set, else /run/vpcnet for root, else
 * /tmp/vpcnet-UID.  @xdg_runtime_dir is the variable's value (NULL when
 * unset) and @uid the effective uid, so callers choose how to read them.
 * A relative XDG_RUNTIME_DIR is taken as given: the caller makes it
 * absolute if it changes directory.  Returns the length written, or -1
 * when it does not fit in @size.
 */
int vsw_socket_dir(char *buf, size_t size, const char *xdg_runtime_dir,
                   unsigned uid);

/*
 * The path of a network's file in @dir: @dir "/" @network @suffix,
 * with @suffix one of ".sock", ".lock", ".leases".  Returns the length
 * written, or -1 when it does not fit in @size.
 */
int vsw_network_path(char *buf, size_t size, const char *dir,
                     const char *network, const char *suffix);

#endif /* VPCNET_VSWITCH_PROTO_H */
