/*
 * buf.h: the two byte cursors every encoder and decoder in src/proto uses.
 *
 * kfk__rbuf reads big-endian integers and varints from a bounded slice and
 * never moves past its end: each read returns 0 or KFK_ERR__TRUNCATED /
 * KFK_ERR__MALFORMED and leaves the cursor where the failed value started.
 *
 * kfk__wbuf appends to a growable buffer with a hard maximum. Errors are
 * sticky: after the first failure (NOMEM or TOO_LARGE) every write is a
 * no-op and kfk__wbuf_err() reports it, so encoders check once at the end.
 */
#ifndef KFK_PROTO_BUF_H
#define KFK_PROTO_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <kfk/error.h>

/* ---- reading ---------------------------------------------------------- */

typedef struct kfk__rbuf {
    const uint8_t *start; /* first byte of the whole input (for offsets) */
    const uint8_t *p;     /* next byte to read */
    const uint8_t *end;   /* one past the last readable byte */
} kfk__rbuf;

static inline void kfk__rbuf_init(kfk__rbuf *r, const void *data, size_t len)
{
    r->start = r->p = (const uint8_t *)data;
    r->end = len ? r->p + len : r->p; /* no arithmetic on a NULL empty slice */
}

static inline size_t kfk__rbuf_left(const kfk__rbuf *r)
{
    return (size_t)(r->end - r->p);
}

static inline size_t kfk__rbuf_offset(const kfk__rbuf *r)
{
    return (size_t)(r->p - r->start);
}

static inline int kfk__rd_bytes(kfk__rbuf *r, size_t n, const uint8_t **out)
{
    if (kfk__rbuf_left(r) < n)
        return KFK_ERR__TRUNCATED;
    *out = r->p;
    if (n)
        r->p += n;
    return 0;
}

static inline int kfk__rd_skip(kfk__rbuf *r, size_t n)
{
    if (kfk__rbuf_left(r) < n)
        return KFK_ERR__TRUNCATED;
    if (n)
        r->p += n;
    return 0;
}

static inline uint16_t kfk__load_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t kfk__load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static inline uint64_t kfk__load_be64(const uint8_t *p)
{
    return (uint64_t)kfk__load_be32(p) << 32 | kfk__load_be32(p + 4);
}

static inline void kfk__store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void kfk__store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void kfk__store_be64(uint8_t *p, uint64_t v)
{
    kfk__store_be32(p, (uint32_t)(v >> 32));
    kfk__store_be32(p + 4, (uint32_t)v);
}

static inline int kfk__rd_i8(kfk__rbuf *r, int8_t *v)
{
    if (r->p >= r->end)
        return KFK_ERR__TRUNCATED;
    *v = (int8_t)*r->p++;
    return 0;
}

static inline int kfk__rd_i16(kfk__rbuf *r, int16_t *v)
{
    if (kfk__rbuf_left(r) < 2)
        return KFK_ERR__TRUNCATED;
    *v = (int16_t)kfk__load_be16(r->p);
    r->p += 2;
    return 0;
}

static inline int kfk__rd_i32(kfk__rbuf *r, int32_t *v)
{
    if (kfk__rbuf_left(r) < 4)
        return KFK_ERR__TRUNCATED;
    *v = (int32_t)kfk__load_be32(r->p);
    r->p += 4;
    return 0;
}

static inline int kfk__rd_i64(kfk__rbuf *r, int64_t *v)
{
    if (kfk__rbuf_left(r) < 8)
        return KFK_ERR__TRUNCATED;
    *v = (int64_t)kfk__load_be64(r->p);
    r->p += 8;
    return 0;
}

/* Unsigned LEB128 varint of at most 5 bytes (32 bits). */
static inline int kfk__rd_uvarint(kfk__rbuf *r, uint32_t *v)
{
    const uint8_t *p = r->p;
    uint32_t x = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        if (p >= r->end)
            return KFK_ERR__TRUNCATED;
        uint8_t b = *p++;
        if (shift == 28 && (b & 0xf0))
            return KFK_ERR__MALFORMED;
        x |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            r->p = p;
            return 0;
        }
    }
    return KFK_ERR__MALFORMED;
}

/* Unsigned LEB128 varint of at most 10 bytes (64 bits). */
static inline int kfk__rd_uvarlong(kfk__rbuf *r, uint64_t *v)
{
    const uint8_t *p = r->p;
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (p >= r->end)
            return KFK_ERR__TRUNCATED;
        uint8_t b = *p++;
        if (shift == 63 && (b & 0xfe))
            return KFK_ERR__MALFORMED;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            r->p = p;
            return 0;
        }
    }
    return KFK_ERR__MALFORMED;
}

/* Zig-zag signed varint (record fields). */
static inline int kfk__rd_varint(kfk__rbuf *r, int32_t *v)
{
    uint32_t u;
    int err = kfk__rd_uvarint(r, &u);
    if (err)
        return err;
    *v = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
    return 0;
}

static inline int kfk__rd_varlong(kfk__rbuf *r, int64_t *v)
{
    uint64_t u;
    int err = kfk__rd_uvarlong(r, &u);
    if (err)
        return err;
    *v = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
    return 0;
}

/* ---- writing ---------------------------------------------------------- */

typedef struct kfk__wbuf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len; exceeding it sets KFK_ERR__TOO_LARGE */
    int err;    /* sticky: first error, 0 while fine */
} kfk__wbuf;

#define KFK__WBUF_DEFAULT_MAX ((size_t)1 << 30)

/* An empty buffer that may grow to max bytes (0 = KFK__WBUF_DEFAULT_MAX).
 * Allocates nothing until the first write. */
void kfk__wbuf_init(kfk__wbuf *w, size_t max);
/* Frees the storage; the buffer may be initialised again. NULL is fine. */
void kfk__wbuf_free(kfk__wbuf *w);
/* Empties the buffer and clears its error, keeping the storage. */
void kfk__wbuf_reset(kfk__wbuf *w);
/* Makes room for n more bytes; on failure sets the sticky error. Returns 0
 * or the error. */
int kfk__wbuf_reserve(kfk__wbuf *w, size_t n);
/* Hands the bytes to the caller (who frees them with kfk__free) and leaves
 * the buffer empty. NULL if the buffer holds an error. */
uint8_t *kfk__wbuf_take(kfk__wbuf *w, size_t *len);

static inline int kfk__wbuf_err(const kfk__wbuf *w)
{
    return w->err;
}

/* Appends n bytes; returns where they went (for back-patching) or NULL once
 * the buffer has failed. The returned pointer is valid until the next write. */
static inline uint8_t *kfk__wr_space(kfk__wbuf *w, size_t n)
{
    if (w->err || (w->cap - w->len < n && kfk__wbuf_reserve(w, n)))
        return NULL;
    if (!w->data)
        return NULL; /* n == 0 on an unallocated buffer: nothing to point at */
    uint8_t *p = w->data + w->len;
    w->len += n;
    return p;
}

static inline void kfk__wr_raw(kfk__wbuf *w, const void *src, size_t n)
{
    uint8_t *p = kfk__wr_space(w, n);
    if (p && n)
        memcpy(p, src, n);
}

static inline void kfk__wr_i8(kfk__wbuf *w, int8_t v)
{
    uint8_t *p = kfk__wr_space(w, 1);
    if (p)
        *p = (uint8_t)v;
}

static inline void kfk__wr_i16(kfk__wbuf *w, int16_t v)
{
    uint8_t *p = kfk__wr_space(w, 2);
    if (p)
        kfk__store_be16(p, (uint16_t)v);
}

static inline void kfk__wr_i32(kfk__wbuf *w, int32_t v)
{
    uint8_t *p = kfk__wr_space(w, 4);
    if (p)
        kfk__store_be32(p, (uint32_t)v);
}

static inline void kfk__wr_i64(kfk__wbuf *w, int64_t v)
{
    uint8_t *p = kfk__wr_space(w, 8);
    if (p)
        kfk__store_be64(p, (uint64_t)v);
}

/* Encodes an unsigned varint into out (>= 10 bytes); returns its length. */
static inline size_t kfk__uvarlong_enc(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static inline size_t kfk__uvarlong_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint64_t kfk__zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline size_t kfk__varlong_size(int64_t v)
{
    return kfk__uvarlong_size(kfk__zigzag64(v));
}

static inline void kfk__wr_uvarint(kfk__wbuf *w, uint64_t v)
{
    uint8_t tmp[10];
    kfk__wr_raw(w, tmp, kfk__uvarlong_enc(tmp, v));
}

static inline void kfk__wr_varlong(kfk__wbuf *w, int64_t v)
{
    kfk__wr_uvarint(w, kfk__zigzag64(v));
}

#endif
