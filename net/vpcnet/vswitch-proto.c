/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: encoding and decoding of the internal network's port protocol.
 */
#include "net/vpcnet/vswitch-proto.h"

#include <stdio.h>
#include <string.h>

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    put_le16(p, v);
    put_le16(p + 2, v >> 16);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static uint16_t get_le16(const uint8_t *p)
{
    return p[0] | (uint16_t)p[1] << 8;
}

static uint32_t get_le32(const uint8_t *p)
{
    return get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

void vsw_header_put(uint8_t hdr[VSW_HDR_LEN], uint8_t type, uint16_t len)
{
    hdr[0] = type;
    hdr[1] = 0;
    put_le16(hdr + 2, len);
}

bool vsw_header_get(const uint8_t *msg, size_t size, uint8_t *type,
                    size_t *len)
{
    if (size < VSW_HDR_LEN || get_le16(msg + 2) != size - VSW_HDR_LEN) {
        return false;
    }
    *type = msg[0];
    *len = size - VSW_HDR_LEN;
    return true;
}

/*
 * HELLO payload: "VPCN", version (le16), flags (le16), DHCP start and
 * end (IPv4, network order), label (NUL-padded).
 */
void vsw_hello_encode(const VswHello *hello, uint8_t out[VSW_HELLO_LEN])
{
    size_t n = strnlen(hello->label, VSW_HELLO_LABEL_LEN);

    memset(out, 0, VSW_HELLO_LEN);
    memcpy(out, VSW_HELLO_MAGIC, 4);
    put_le16(out + 4, hello->version);
    put_le16(out + 6, hello->flags);
    put_be32(out + 8, hello->dhcp_start);
    put_be32(out + 12, hello->dhcp_end);
    memcpy(out + 16, hello->label, n);
}

bool vsw_hello_decode(const uint8_t *payload, size_t len, VswHello *hello)
{
    size_t i;

    if (len != VSW_HELLO_LEN || memcmp(payload, VSW_HELLO_MAGIC, 4) != 0) {
        return false;
    }
    hello->version = get_le16(payload + 4);
    hello->flags = get_le16(payload + 6);
    hello->dhcp_start = get_be32(payload + 8);
    hello->dhcp_end = get_be32(payload + 12);
    for (i = 0; i < VSW_HELLO_LABEL_LEN && payload[16 + i]; i++) {
        uint8_t c = payload[16 + i];

        hello->label[i] = c >= 0x20 && c < 0x7f ? c : '?';
    }
    hello->label[i] = '\0';
    return true;
}

void vsw_welcome_encode(uint16_t status, uint16_t flags, uint32_t port_id,
                        uint8_t out[VSW_WELCOME_LEN])
{
    put_le16(out, status);
    put_le16(out + 2, flags);
    put_le32(out + 4, port_id);
}

void vsw_refused_encode(uint16_t status, uint8_t out[VSW_REFUSED_LEN])
{
    put_le16(out, status);
}

bool vsw_welcome_decode(const uint8_t *payload, size_t len, VswReply *reply)
{
    if (len < VSW_WELCOME_LEN) {
        return false;
    }
    reply->status = get_le16(payload);
    reply->flags = get_le16(payload + 2);
    reply->port_id = get_le32(payload + 4);
    reply->text = (const char *)payload + VSW_WELCOME_LEN;
    reply->text_len = len - VSW_WELCOME_LEN;
    return true;
}

bool vsw_refused_decode(const uint8_t *payload, size_t len, VswReply *reply)
{
    if (len < VSW_REFUSED_LEN) {
        return false;
    }
    reply->status = get_le16(payload);
    reply->flags = 0;
    reply->port_id = 0;
    reply->text = (const char *)payload + VSW_REFUSED_LEN;
    reply->text_len = len - VSW_REFUSED_LEN;
    return true;
}

/*
 * FRAMES payload: records of a little-endian 16-bit frame length and the
 * frame, back to back, at least one, VSW_PAYLOAD_MAX bytes at most.
 */
int vsw_frames_next(const uint8_t *payload, size_t len, size_t *offset,
                    const uint8_t **frame, size_t *frame_len)
{
    size_t off = *offset;
    size_t n;

    *frame_len = 0;
    if (len > VSW_PAYLOAD_MAX) {
        return VSW_FRAMES_TOO_BIG;
    }
    if (off > len) {
        return VSW_FRAMES_BAD_OFFSET;
    }
    if (off == len) {
        return off ? 0 : VSW_FRAMES_EMPTY;
    }
    if (len - off < VSW_FRAMES_PREFIX_LEN) {
        return VSW_FRAMES_TRAILING_BYTE;
    }
    n = get_le16(payload + off);
    *frame_len = n;
    if (n == 0) {
        return VSW_FRAMES_ZERO_LENGTH;
    }
    if (n < VSW_FRAME_MIN) {
        return VSW_FRAMES_RUNT;
    }
    if (n > VSW_FRAME_MAX) {
        return VSW_FRAMES_GIANT;
    }
    if (n > len - off - VSW_FRAMES_PREFIX_LEN) {
        return VSW_FRAMES_TRUNCATED;
    }
    *frame = payload + off + VSW_FRAMES_PREFIX_LEN;
    *offset = off + VSW_FRAMES_PREFIX_LEN + n;
    return 1;
}

const char *vsw_frames_strerror(int err)
{
    switch (err) {
    case VSW_FRAMES_EMPTY:
        return "no record";
    case VSW_FRAMES_TOO_BIG:
        return "payload over 65535 bytes";
    case VSW_FRAMES_TRAILING_BYTE:
        return "a trailing byte after the last record";
    case VSW_FRAMES_ZERO_LENGTH:
        return "a record of length 0";
    case VSW_FRAMES_RUNT:
        return "a record shorter than an Ethernet header";
    case VSW_FRAMES_GIANT:
        return "a record longer than the largest frame";
    case VSW_FRAMES_TRUNCATED:
        return "a record running past the end of the payload";
    case VSW_FRAMES_BAD_OFFSET:
        return "an offset past the end of the payload";
    default:
        return err >= 0 ? "no error" : "unknown error";
    }
}

void vsw_frames_prefix_put(uint8_t prefix[VSW_FRAMES_PREFIX_LEN],
                           uint16_t frame_len)
{
    put_le16(prefix, frame_len);
}

uint8_t *vsw_frames_reserve(uint8_t *payload, size_t size, size_t *len,
                            size_t frame_len)
{
    size_t used = *len;
    size_t end;

    if (frame_len < VSW_FRAME_MIN || frame_len > VSW_FRAME_MAX) {
        return NULL;
    }
    if (size > VSW_PAYLOAD_MAX) {
        size = VSW_PAYLOAD_MAX;
    }
    end = used + VSW_FRAMES_PREFIX_LEN + frame_len;
    if (used > size || end > size) {
        return NULL;
    }
    put_le16(payload + used, frame_len);
    *len = end;
    return payload + used + VSW_FRAMES_PREFIX_LEN;
}

bool vsw_frames_append(uint8_t *payload, size_t size, size_t *len,
                       const void *frame, size_t frame_len)
{
    uint8_t *dst = vsw_frames_reserve(payload, size, len, frame_len);

    if (!dst) {
        return false;
    }
    memcpy(dst, frame, frame_len);
    return true;
}

void vsw_frames_iov_init(VswFramesIov *m, uint8_t hdr[VSW_HDR_LEN],
                         struct iovec *iov, size_t iov_max,
                         uint8_t (*prefix)[VSW_FRAMES_PREFIX_LEN],
                         size_t prefix_max)
{
    m->hdr = hdr;
    m->iov = iov;
    m->iov_max = iov_max;
    m->prefix = prefix;
    m->prefix_max = prefix_max;
    m->iovcnt = 0;
    m->frames = 0;
    m->payload_len = 0;
    if (iov_max) {
        iov[0].iov_base = hdr;
        iov[0].iov_len = VSW_HDR_LEN;
        m->iovcnt = 1;
    }
}

int vsw_frames_iov_add(VswFramesIov *m, const uint8_t *frame,
                       size_t frame_len)
{
    uint8_t *prefix;

    if (frame_len < VSW_FRAME_MIN) {
        return VSW_FRAMES_RUNT;
    }
    if (frame_len > VSW_FRAME_MAX) {
        return VSW_FRAMES_GIANT;
    }
    if (m->iovcnt == 0 || m->iov_max - m->iovcnt < 2 ||
        m->frames >= m->prefix_max ||
        VSW_PAYLOAD_MAX - m->payload_len <
        VSW_FRAMES_PREFIX_LEN + frame_len) {
        return 0;
    }
    prefix = m->prefix[m->frames];
    put_le16(prefix, frame_len);
    m->iov[m->iovcnt].iov_base = prefix;
    m->iov[m->iovcnt].iov_len = VSW_FRAMES_PREFIX_LEN;
    m->iov[m->iovcnt + 1].iov_base = (void *)frame;
    m->iov[m->iovcnt + 1].iov_len = frame_len;
    m->iovcnt += 2;
    m->frames++;
    m->payload_len += VSW_FRAMES_PREFIX_LEN + frame_len;
    return 1;
}

void vsw_frames_iov_finish(VswFramesIov *m)
{
    vsw_header_put(m->hdr, VSW_MSG_FRAMES, m->payload_len);
}

const char *vsw_status_name(unsigned status)
{
    switch (status) {
    case VSW_STATUS_JOINED:
        return "joined";
    case VSW_STATUS_BAD_HELLO:
        return "bad hello";
    case VSW_STATUS_FULL:
        return "network full";
    case VSW_STATUS_DUP_MAC:
        return "duplicate MAC address";
    default:
        return "unknown status";
    }
}

bool vsw_network_name_valid(const char *name)
{
    size_t len = strnlen(name, VSW_NAME_MAX + 1);
    size_t i;

    if (len == 0 || len > VSW_NAME_MAX || name[0] == '.') {
        return false;
    }
    for (i = 0; i < len; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
            return false;
        }
    }
    return true;
}

int vsw_socket_dir(char *buf, size_t size, const char *xdg_runtime_dir,
                   unsigned uid)
{
    int n;

    if (xdg_runtime_dir && xdg_runtime_dir[0]) {
        n = snprintf(buf, size, "%s/vpcnet", xdg_runtime_dir);
    } else if (uid == 0) {
        n = snprintf(buf, size, "/run/vpcnet");
    } else {
        n = snprintf(buf, size, "/tmp/vpcnet-%u", uid);
    }
    return n < 0 || (size_t)n >= size ? -1 : n;
}

int vsw_network_path(char *buf, size_t size, const char *dir,
                     const char *network, const char *suffix)
{
    int n = snprintf(buf, size, "%s/%s%s", dir, network, suffix);

    return n < 0 || (size_t)n >= size ? -1 : n;
}
