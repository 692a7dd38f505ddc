/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: the port protocol of an internal network, one definition for
 * the qemu-vswitch daemon, -netdev internal and the test and benchmark
 * clients.  docs/interop/vpcnet-vswitch-protocol.rst is the contract.
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
#include <sys/uio.h>

enum VswMsgType {
    VSW_MSG_FRAME = 0,
    VSW_MSG_HELLO = 1,
    VSW_MSG_WELCOME = 2,
    VSW_MSG_REFUSED = 3,
    VSW_MSG_FRAMES = 4,
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
#define VSW_HELLO_BATCH             (1 << 2)    /* can do FRAMES */
#define VSW_WELCOME_CONFIG_DIFFERS  (1 << 0)
#define VSW_WELCOME_BATCH           (1 << 1)    /* FRAMES agreed */
#define VSW_HELLO_LABEL_LEN         32      /* NUL-padded on the wire */
#define VSW_NAME_MAX                64      /* network name characters */
#define VSW_FRAME_MIN               14      /* an Ethernet header */
#define VSW_FRAME_MAX               9018    /* jumbo, one 802.1Q tag */
/* The largest payload, and message, the 16-bit length field allows. */
#define VSW_PAYLOAD_MAX             65535
#define VSW_MSG_MAX                 (VSW_HDR_LEN + VSW_PAYLOAD_MAX)
/* A FRAMES record: a little-endian 16-bit length, then the frame. */
#define VSW_FRAMES_PREFIX_LEN       2
/* The most records one FRAMES payload can hold (of VSW_FRAME_MIN bytes). */
#define VSW_FRAMES_MAX_RECORDS \
    (VSW_PAYLOAD_MAX / (VSW_FRAMES_PREFIX_LEN + VSW_FRAME_MIN))

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

/**
 * VswFramesError - what vsw_frames_next() found wrong with a FRAMES
 * payload (all negative).
 * @VSW_FRAMES_EMPTY: the payload holds no record at all.
 * @VSW_FRAMES_TOO_BIG: the payload is longer than VSW_PAYLOAD_MAX.
 * @VSW_FRAMES_TRAILING_BYTE: one byte is left after the last record:
 *                            too few for a length prefix.
 * @VSW_FRAMES_ZERO_LENGTH: a record says its frame has 0 bytes.
 * @VSW_FRAMES_RUNT: a record's frame is shorter than VSW_FRAME_MIN.
 * @VSW_FRAMES_GIANT: a record's frame is longer than VSW_FRAME_MAX.
 * @VSW_FRAMES_TRUNCATED: a record's frame runs past the payload's end.
 * @VSW_FRAMES_BAD_OFFSET: the caller's offset is past the payload's end.
 */
typedef enum VswFramesError {
    VSW_FRAMES_EMPTY = -1,
    VSW_FRAMES_TOO_BIG = -2,
    VSW_FRAMES_TRAILING_BYTE = -3,
    VSW_FRAMES_ZERO_LENGTH = -4,
    VSW_FRAMES_RUNT = -5,
    VSW_FRAMES_GIANT = -6,
    VSW_FRAMES_TRUNCATED = -7,
    VSW_FRAMES_BAD_OFFSET = -8,
} VswFramesError;

/*
 * vsw_frames_next - the next frame of the FRAMES payload @payload of
 * @len bytes, starting at *@offset (0 for the first).  Returns 1 with
 * @frame pointing into @payload at *@frame_len bytes and *@offset moved
 * past the record; 0 at the end of a well-formed payload; or a
 * VswFramesError.  On an error *@offset stays at the start of the bad
 * record, and *@frame_len holds the length the record claims (0 when
 * there was no whole prefix to read), so the caller can say where and
 * what.  Nothing outside @payload[0..@len) is read.  Frames returned
 * before an error were well formed.
 */
int vsw_frames_next(const uint8_t *payload, size_t len, size_t *offset,
                    const uint8_t **frame, size_t *frame_len);

/* A short English description of a VswFramesError. */
const char *vsw_frames_strerror(int err);

/* vsw_frames_prefix_put - the length prefix of a @frame_len-byte record. */
void vsw_frames_prefix_put(uint8_t prefix[VSW_FRAMES_PREFIX_LEN],
                           uint16_t frame_len);

/*
 * vsw_frames_reserve - append a record for a @frame_len-byte frame to
 * the FRAMES payload being built in @payload (@size bytes of room, *@len
 * used so far): writes the length prefix, adds the record to *@len and
 * returns where the caller puts the frame's bytes.  NULL, with nothing
 * changed, when @frame_len is outside VSW_FRAME_MIN..VSW_FRAME_MAX or
 * the record does not fit in @size or in VSW_PAYLOAD_MAX.
 */
uint8_t *vsw_frames_reserve(uint8_t *payload, size_t size, size_t *len,
                            size_t frame_len);

/*
 * vsw_frames_append - vsw_frames_reserve() and copy @frame in.  False,
 * with nothing changed, when it does not fit or has a bad length.
 */
bool vsw_frames_append(uint8_t *payload, size_t size, size_t *len,
                       const void *frame, size_t frame_len);

/**
 * VswFramesIov - a FRAMES message built as iovecs that point at the
 * frames where they are, for sendmsg(): one iovec for the header, then
 * per frame one for its length prefix and one for its bytes.  The
 * caller provides every array; nothing is allocated or copied.
 * @hdr: VSW_HDR_LEN bytes for the header (iov[0]).
 * @iov: the iovecs, @iov_max of them.
 * @iov_max: their number (at most IOV_MAX takes effect in one sendmsg).
 * @prefix: room for @prefix_max length prefixes.
 * @prefix_max: how many.
 * @iovcnt: iovecs used so far.
 * @frames: frames added so far.
 * @payload_len: payload bytes so far.
 */
typedef struct VswFramesIov {
    uint8_t *hdr;
    struct iovec *iov;
    size_t iov_max;
    uint8_t (*prefix)[VSW_FRAMES_PREFIX_LEN];
    size_t prefix_max;
    size_t iovcnt;
    size_t frames;
    size_t payload_len;
} VswFramesIov;

/* vsw_frames_iov_init - start an empty message in the given arrays. */
void vsw_frames_iov_init(VswFramesIov *m, uint8_t hdr[VSW_HDR_LEN],
                         struct iovec *iov, size_t iov_max,
                         uint8_t (*prefix)[VSW_FRAMES_PREFIX_LEN],
                         size_t prefix_max);

/*
 * vsw_frames_iov_add - add the frame @frame of @frame_len bytes, which
 * must stay where it is until the message is sent.  Returns 1 when it
 * was added, 0 when the message is full (payload, iovecs or prefixes),
 * and VSW_FRAMES_RUNT or VSW_FRAMES_GIANT (nothing added) for a frame
 * outside VSW_FRAME_MIN..VSW_FRAME_MAX.
 */
int vsw_frames_iov_add(VswFramesIov *m, const uint8_t *frame,
                       size_t frame_len);

/*
 * vsw_frames_iov_finish - write the header; the message is then
 * @m->iov[0..@m->iovcnt), VSW_HDR_LEN + @m->payload_len bytes.  Only
 * for a message with at least one frame.
 */
void vsw_frames_iov_finish(VswFramesIov *m);

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
