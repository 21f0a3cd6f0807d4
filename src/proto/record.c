/*
 * record.c: the magic-2 record batch writer and reader (see record.h).
 *
 * The writer measures each record first, takes exactly that much room in
 * the buffer with one kfk__wr_space call and then fills it without further
 * checks, so appending costs one bounds check plus the copies. The header
 * is written at begin with placeholders and patched at finish, after the
 * records were (optionally) compressed through a scratch buffer.
 *
 * The reader validates as it goes and never trusts a length before it has
 * compared it with what remains; record views point into the input.
 */
#include "proto/record.h"

#include <limits.h>
#include <string.h>

#include "proto/crc32c.h"

#define WRITER_FLAGS                                                           \
    (KFK__ATTR_TRANSACTIONAL | KFK__ATTR_CONTROL | KFK__ATTR_LOG_APPEND_TIME)

/* Smallest record: length, attributes, timestamp delta, offset delta, key
 * length, value length, header count: one byte each. */
#define MIN_RECORD 7

/* Signed sums and differences without signed overflow (offsets and
 * timestamps come off the wire and may be anything). */
static int64_t add64(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int64_t sub64(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

/* ---- writing ---------------------------------------------------------- */

void kfk__batch_opts_init(kfk__batch_opts *o)
{
    o->base_offset = 0;
    o->leader_epoch = -1;
    o->producer_id = -1;
    o->producer_epoch = -1;
    o->base_sequence = -1;
    o->flags = 0;
    o->codec = KFK__CODEC_NONE;
    o->level = KFK__LEVEL_DEFAULT;
}

int kfk__batch_begin(kfk__batch_writer *bw, kfk__wbuf *w,
                     const kfk__batch_opts *o)
{
    kfk__batch_opts def;
    if (!o) {
        kfk__batch_opts_init(&def);
        o = &def;
    }
    if (!kfk__codec_level_ok(o->codec, o->level) || (o->flags & ~WRITER_FLAGS))
        return KFK_ERR__INVALID_ARG;
    bw->w = w;
    bw->start = w->len;
    bw->base_timestamp = -1;
    bw->max_timestamp = -1;
    bw->count = 0;
    bw->last_delta = -1;
    bw->attributes = o->flags;
    bw->codec = o->codec;
    bw->level = o->level;

    uint8_t *p = kfk__wr_space(w, KFK__BATCH_HEADER_SIZE);
    if (!p)
        return w->err;
    memset(p, 0, KFK__BATCH_HEADER_SIZE);
    kfk__store_be64(p + KFK__BATCH_BASE_OFFSET, (uint64_t)o->base_offset);
    kfk__store_be32(p + KFK__BATCH_LEADER_EPOCH, (uint32_t)o->leader_epoch);
    p[KFK__BATCH_MAGIC_POS] = KFK__BATCH_MAGIC;
    kfk__store_be64(p + KFK__BATCH_PRODUCER_ID, (uint64_t)o->producer_id);
    kfk__store_be16(p + KFK__BATCH_PRODUCER_EPOCH, (uint16_t)o->producer_epoch);
    kfk__store_be32(p + KFK__BATCH_BASE_SEQUENCE, (uint32_t)o->base_sequence);
    return 0;
}

static size_t vsize(int64_t v)
{
    return kfk__varlong_size(v);
}

/* Bytes of a length-prefixed field; len -1 (null) is just the prefix. */
static size_t field_size(int32_t len)
{
    return vsize(len) + (len > 0 ? (size_t)len : 0);
}

/* Size of the header block (count included) for caller-given headers. */
static int headers_size(const kfk__rec_header *h, size_t n, size_t *out)
{
    if (n > INT32_MAX)
        return KFK_ERR__TOO_LARGE;
    size_t sz = vsize((int64_t)n);
    for (size_t i = 0; i < n; i++) {
        if (h[i].key_len < 0 || h[i].value_len < -1)
            return KFK_ERR__INVALID_ARG;
        sz += field_size(h[i].key_len) + field_size(h[i].value_len);
    }
    *out = sz;
    return 0;
}

/* Record body size (without its length prefix). */
static size_t body_size(int64_t ts_delta, int32_t offset_delta, int32_t key_len,
                        int32_t value_len, size_t hdr_size)
{
    return 1 + vsize(ts_delta) + vsize(offset_delta) + field_size(key_len) +
           field_size(value_len) + hdr_size;
}

size_t kfk__record_size(int64_t timestamp_delta, int32_t offset_delta,
                        int32_t key_len, int32_t value_len,
                        const kfk__rec_header *headers, size_t header_count)
{
    size_t hs = 0;
    if (headers_size(headers, header_count, &hs))
        return SIZE_MAX;
    size_t body =
        body_size(timestamp_delta, offset_delta, key_len, value_len, hs);
    return vsize((int64_t)body) + body;
}

static uint8_t *put_varint(uint8_t *p, int64_t v)
{
    return p + kfk__uvarlong_enc(p, kfk__zigzag64(v));
}

static uint8_t *put_field(uint8_t *p, const void *data, int32_t len)
{
    p = put_varint(p, len);
    if (len > 0) {
        memcpy(p, data, (size_t)len);
        p += len;
    }
    return p;
}

/* Where a record's headers come from: the caller's array, or a block
 * already encoded (re-encoding a record that was read). */
typedef struct hdr_src {
    const kfk__rec_header *v;
    size_t n;
    const uint8_t *raw;
    size_t raw_size;
    int32_t raw_count;
} hdr_src;

static uint8_t *put_headers(uint8_t *p, const hdr_src *h)
{
    if (h->raw) {
        p = put_varint(p, h->raw_count);
        memcpy(p, h->raw, h->raw_size);
        return p + h->raw_size;
    }
    p = put_varint(p, (int64_t)h->n);
    for (size_t i = 0; i < h->n; i++) {
        p = put_field(p, h->v[i].key, h->v[i].key_len);
        p = put_field(p, h->v[i].value, h->v[i].value_len);
    }
    return p;
}

static int append(kfk__batch_writer *bw, int32_t delta, int64_t ts,
                  const void *key, int32_t key_len, const void *value,
                  int32_t value_len, const hdr_src *h)
{
    size_t hs;
    int err;
    if (key_len < -1 || value_len < -1)
        return KFK_ERR__INVALID_ARG;
    if (h->raw) {
        if (h->raw_count < 0 || h->raw_size > INT32_MAX)
            return KFK_ERR__INVALID_ARG;
        hs = vsize(h->raw_count) + h->raw_size;
    } else if ((err = headers_size(h->v, h->n, &hs))) {
        return err;
    }
    int64_t base = bw->count ? bw->base_timestamp : ts;
    int64_t ts_delta = sub64(ts, base);
    size_t body = body_size(ts_delta, delta, key_len, value_len, hs);
    if (body > INT32_MAX)
        return KFK_ERR__TOO_LARGE;

    uint8_t *p = kfk__wr_space(bw->w, vsize((int64_t)body) + body);
    if (!p)
        return bw->w->err;
    p = put_varint(p, (int64_t)body);
    *p++ = 0; /* record attributes: unused */
    p = put_varint(p, ts_delta);
    p = put_varint(p, delta);
    p = put_field(p, key, key_len);
    p = put_field(p, value, value_len);
    put_headers(p, h);

    if (!bw->count || ts > bw->max_timestamp)
        bw->max_timestamp = ts;
    bw->base_timestamp = base;
    bw->count++;
    bw->last_delta = delta;
    return 0;
}

int kfk__batch_append(kfk__batch_writer *bw, int64_t timestamp, const void *key,
                      int32_t key_len, const void *value, int32_t value_len,
                      const kfk__rec_header *headers, size_t header_count)
{
    hdr_src h = {headers, header_count, NULL, 0, 0};
    if (bw->last_delta == INT32_MAX)
        return KFK_ERR__TOO_LARGE;
    return append(bw, bw->last_delta + 1, timestamp, key, key_len, value,
                  value_len, &h);
}

int kfk__batch_append_record(kfk__batch_writer *bw, const kfk__record *rec)
{
    hdr_src h = {NULL, 0, rec->headers, rec->headers_size, rec->header_count};
    int64_t base = (int64_t)kfk__load_be64(bw->w->data + bw->start);
    int64_t delta = sub64(rec->offset, base);
    if (delta <= bw->last_delta || delta > INT32_MAX)
        return KFK_ERR__INVALID_ARG;
    if (!rec->headers) { /* a magic-0/1 record: no headers */
        h.raw = (const uint8_t *)"";
        h.raw_size = 0;
        h.raw_count = 0;
    }
    return append(bw, (int32_t)delta, rec->timestamp, rec->key, rec->key_len,
                  rec->value, rec->value_len, &h);
}

/* Replaces the records section by its compressed form. The space is
 * reserved before anything is overwritten, so a failure leaves the batch
 * as it was. */
static int compress_records(kfk__batch_writer *bw, kfk__zctx *z)
{
    kfk__wbuf *w = bw->w, local, *tmp = &local;
    size_t at = bw->start + KFK__BATCH_HEADER_SIZE, plain = w->len - at;
    if (z)
        tmp = kfk__zctx_scratch(z);
    else
        kfk__wbuf_init(&local, 0);
    int err = kfk__compress(z, bw->codec, bw->level, w->data + at, plain, tmp);
    if (!err && tmp->len > plain)
        err = kfk__wbuf_reserve(w, tmp->len - plain);
    if (!err) {
        memcpy(w->data + at, tmp->data, tmp->len);
        w->len = at + tmp->len;
    }
    if (!z)
        kfk__wbuf_free(&local);
    return err;
}

static void write_crc(uint8_t *b, size_t size)
{
    uint32_t crc =
        kfk__crc32c(0, b + KFK__BATCH_ATTRIBUTES, size - KFK__BATCH_ATTRIBUTES);
    kfk__store_be32(b + KFK__BATCH_CRC, crc);
}

int kfk__batch_finish(kfk__batch_writer *bw, kfk__zctx *z)
{
    kfk__wbuf *w = bw->w;
    if (w->err)
        return w->err;
    int err = bw->codec != KFK__CODEC_NONE ? compress_records(bw, z) : 0;
    if (err)
        return err;
    size_t size = w->len - bw->start;
    if (size - KFK__LOG_OVERHEAD > INT32_MAX)
        return KFK_ERR__TOO_LARGE;

    uint8_t *b = w->data + bw->start;
    kfk__store_be32(b + KFK__BATCH_LENGTH,
                    (uint32_t)(size - KFK__LOG_OVERHEAD));
    kfk__store_be16(b + KFK__BATCH_ATTRIBUTES,
                    (uint16_t)(bw->attributes | bw->codec));
    kfk__store_be32(b + KFK__BATCH_LAST_OFFSET_DELTA, (uint32_t)bw->last_delta);
    kfk__store_be64(b + KFK__BATCH_BASE_TIMESTAMP,
                    (uint64_t)bw->base_timestamp);
    kfk__store_be64(b + KFK__BATCH_MAX_TIMESTAMP, (uint64_t)bw->max_timestamp);
    kfk__store_be32(b + KFK__BATCH_RECORD_COUNT, (uint32_t)bw->count);
    write_crc(b, size);
    return 0;
}

void kfk__batch_abandon(kfk__batch_writer *bw)
{
    if (bw->w->len > bw->start)
        bw->w->len = bw->start;
}

int kfk__batch_write_marker(kfk__wbuf *w, const kfk__batch_opts *o,
                            int64_t timestamp, int16_t type,
                            int32_t coordinator_epoch)
{
    if (!o || (type != KFK__CONTROL_ABORT && type != KFK__CONTROL_COMMIT))
        return KFK_ERR__INVALID_ARG;
    kfk__batch_opts m = *o;
    m.flags = KFK__ATTR_TRANSACTIONAL | KFK__ATTR_CONTROL;
    m.codec = KFK__CODEC_NONE;
    m.level = KFK__LEVEL_DEFAULT;
    m.base_sequence = -1;

    uint8_t key[4], value[6];
    kfk__store_be16(key, 0); /* key version */
    kfk__store_be16(key + 2, (uint16_t)type);
    kfk__store_be16(value, 0); /* value version */
    kfk__store_be32(value + 2, (uint32_t)coordinator_epoch);

    kfk__batch_writer bw;
    int err = kfk__batch_begin(&bw, w, &m);
    if (!err)
        err = kfk__batch_append(&bw, timestamp, key, 4, value, 6, NULL, 0);
    if (!err)
        err = kfk__batch_finish(&bw, NULL);
    if (err && !w->err)
        kfk__batch_abandon(&bw);
    return err;
}

/* ---- re-stamping ------------------------------------------------------ */

static int stamp_check(const uint8_t *b, size_t len, size_t *size)
{
    if (len < KFK__BATCH_HEADER_SIZE)
        return KFK_ERR__TRUNCATED;
    if (b[KFK__BATCH_MAGIC_POS] != KFK__BATCH_MAGIC)
        return KFK_ERR__MALFORMED;
    int32_t blen = (int32_t)kfk__load_be32(b + KFK__BATCH_LENGTH);
    if (blen < KFK__BATCH_HEADER_SIZE - KFK__LOG_OVERHEAD)
        return KFK_ERR__MALFORMED;
    *size = KFK__LOG_OVERHEAD + (size_t)blen;
    return *size > len ? KFK_ERR__TRUNCATED : 0;
}

int kfk__batch_set_base_offset(void *batch, size_t len, int64_t base_offset)
{
    size_t size;
    int err = stamp_check(batch, len, &size);
    if (!err)
        kfk__store_be64((uint8_t *)batch + KFK__BATCH_BASE_OFFSET,
                        (uint64_t)base_offset);
    return err;
}

int kfk__batch_set_leader_epoch(void *batch, size_t len, int32_t epoch)
{
    size_t size;
    int err = stamp_check(batch, len, &size);
    if (!err)
        kfk__store_be32((uint8_t *)batch + KFK__BATCH_LEADER_EPOCH,
                        (uint32_t)epoch);
    return err;
}

int kfk__batch_set_producer(void *batch, size_t len, int64_t producer_id,
                            int16_t producer_epoch, int32_t base_sequence)
{
    uint8_t *b = batch;
    size_t size;
    int err = stamp_check(b, len, &size);
    if (err)
        return err;
    kfk__store_be64(b + KFK__BATCH_PRODUCER_ID, (uint64_t)producer_id);
    kfk__store_be16(b + KFK__BATCH_PRODUCER_EPOCH, (uint16_t)producer_epoch);
    kfk__store_be32(b + KFK__BATCH_BASE_SEQUENCE, (uint32_t)base_sequence);
    write_crc(b, size);
    return 0;
}

int kfk__batch_set_log_append_time(void *batch, size_t len, int64_t timestamp)
{
    uint8_t *b = batch;
    size_t size;
    int err = stamp_check(b, len, &size);
    if (err)
        return err;
    uint16_t attr = kfk__load_be16(b + KFK__BATCH_ATTRIBUTES);
    kfk__store_be16(b + KFK__BATCH_ATTRIBUTES,
                    (uint16_t)(attr | KFK__ATTR_LOG_APPEND_TIME));
    kfk__store_be64(b + KFK__BATCH_MAX_TIMESTAMP, (uint64_t)timestamp);
    write_crc(b, size);
    return 0;
}

/* ---- reading: batches ------------------------------------------------- */

int kfk__batch_parse(const void *data, size_t len, kfk__batch *b)
{
    const uint8_t *p = data;
    kfk__batch_hdr *h = &b->h;
    if (len < KFK__BATCH_MAGIC_POS + 1)
        return KFK_ERR__TRUNCATED;
    if (p[KFK__BATCH_MAGIC_POS] != KFK__BATCH_MAGIC)
        return KFK_ERR__UNSUPPORTED_VERSION;
    h->length = (int32_t)kfk__load_be32(p + KFK__BATCH_LENGTH);
    if (h->length < KFK__BATCH_HEADER_SIZE - KFK__LOG_OVERHEAD)
        return KFK_ERR__MALFORMED;
    b->size = KFK__LOG_OVERHEAD + (size_t)h->length;
    if (len < b->size)
        return KFK_ERR__TRUNCATED;

    h->base_offset = (int64_t)kfk__load_be64(p + KFK__BATCH_BASE_OFFSET);
    h->leader_epoch = (int32_t)kfk__load_be32(p + KFK__BATCH_LEADER_EPOCH);
    h->magic = KFK__BATCH_MAGIC;
    h->crc = kfk__load_be32(p + KFK__BATCH_CRC);
    h->attributes = (int16_t)kfk__load_be16(p + KFK__BATCH_ATTRIBUTES);
    h->last_offset_delta =
        (int32_t)kfk__load_be32(p + KFK__BATCH_LAST_OFFSET_DELTA);
    h->base_timestamp = (int64_t)kfk__load_be64(p + KFK__BATCH_BASE_TIMESTAMP);
    h->max_timestamp = (int64_t)kfk__load_be64(p + KFK__BATCH_MAX_TIMESTAMP);
    h->producer_id = (int64_t)kfk__load_be64(p + KFK__BATCH_PRODUCER_ID);
    h->producer_epoch = (int16_t)kfk__load_be16(p + KFK__BATCH_PRODUCER_EPOCH);
    h->base_sequence = (int32_t)kfk__load_be32(p + KFK__BATCH_BASE_SEQUENCE);
    h->count = (int32_t)kfk__load_be32(p + KFK__BATCH_RECORD_COUNT);
    if (h->count < 0 || h->last_offset_delta < h->count - 1)
        return KFK_ERR__MALFORMED;

    b->data = p;
    b->records = p + KFK__BATCH_HEADER_SIZE;
    b->records_len = b->size - KFK__BATCH_HEADER_SIZE;
    return 0;
}

int kfk__batch_check_crc(const kfk__batch *b)
{
    uint32_t crc = kfk__crc32c(0, b->data + KFK__BATCH_ATTRIBUTES,
                               b->size - KFK__BATCH_ATTRIBUTES);
    return crc == b->h.crc ? 0 : KFK_ERR__BAD_CRC;
}

/* ---- reading: records ------------------------------------------------- */

int kfk__rec_iter_init(kfk__rec_iter *it, const kfk__batch *b, kfk__zctx *z,
                       kfk__wbuf *buf, size_t max_decompressed)
{
    static const uint8_t empty[1];
    const uint8_t *sec = b->records;
    size_t n = b->records_len;

    memset(it, 0, sizeof(*it));
    it->base_offset = b->h.base_offset;
    it->base_timestamp = b->h.base_timestamp;
    it->max_timestamp = b->h.max_timestamp;
    it->left = b->h.count;
    it->last_offset_delta = b->h.last_offset_delta;
    it->prev_delta = -1;
    it->log_append_time = (b->h.attributes & KFK__ATTR_LOG_APPEND_TIME) != 0;
    if (kfk__batch_codec(b) != KFK__CODEC_NONE) {
        if (!buf)
            return it->err = KFK_ERR__INVALID_ARG;
        kfk__wbuf_reset(buf);
        int err = kfk__decompress(z, kfk__batch_codec(b), sec, n, buf,
                                  max_decompressed);
        if (err)
            return it->err = err;
        sec = buf->len ? buf->data : empty;
        n = buf->len;
    }
    kfk__rbuf_init(&it->r, sec, n);
    if ((size_t)it->left > n / MIN_RECORD)
        return it->err = KFK_ERR__MALFORMED;
    return 0;
}

/* A key or value: varint length (-1 null) and that many bytes. */
static int read_field(kfk__rbuf *r, const uint8_t **ptr, int32_t *len)
{
    if (kfk__rd_varint(r, len) || *len < -1)
        return KFK_ERR__MALFORMED;
    *ptr = NULL;
    if (*len >= 0 && kfk__rd_bytes(r, (size_t)*len, ptr))
        return KFK_ERR__MALFORMED;
    return 0;
}

/* Walks (and so validates) n headers; each takes at least two bytes. */
static int skip_headers(kfk__rbuf *r, int32_t n)
{
    const uint8_t *ptr;
    int32_t len;
    if (n < 0 || (size_t)n > kfk__rbuf_left(r) / 2)
        return KFK_ERR__MALFORMED;
    for (int32_t i = 0; i < n; i++) {
        if (read_field(r, &ptr, &len) || len < 0 || read_field(r, &ptr, &len))
            return KFK_ERR__MALFORMED;
    }
    return 0;
}

static int read_record(kfk__rec_iter *it, kfk__record *rec)
{
    kfk__rbuf *r = &it->r, b;
    int32_t len, delta;
    int64_t ts_delta;

    if (kfk__rd_varint(r, &len) || len < MIN_RECORD - 1 ||
        (size_t)len > kfk__rbuf_left(r))
        return KFK_ERR__MALFORMED;
    b.start = r->start;
    b.p = r->p;
    b.end = r->p + len;
    r->p += len;
    if (kfk__rd_i8(&b, &rec->attributes) || kfk__rd_varlong(&b, &ts_delta) ||
        kfk__rd_varint(&b, &delta))
        return KFK_ERR__MALFORMED;
    if (delta <= it->prev_delta || delta > it->last_offset_delta)
        return KFK_ERR__MALFORMED;
    if (read_field(&b, &rec->key, &rec->key_len) ||
        read_field(&b, &rec->value, &rec->value_len) ||
        kfk__rd_varint(&b, &rec->header_count))
        return KFK_ERR__MALFORMED;
    rec->headers = b.p;
    if (skip_headers(&b, rec->header_count) || b.p != b.end)
        return KFK_ERR__MALFORMED;
    rec->headers_size = (size_t)(b.p - rec->headers);
    rec->offset = add64(it->base_offset, delta);
    rec->timestamp = it->log_append_time ? it->max_timestamp
                                         : add64(it->base_timestamp, ts_delta);
    it->prev_delta = delta;
    return 0;
}

int kfk__rec_iter_next(kfk__rec_iter *it, kfk__record *rec)
{
    if (it->err)
        return it->err;
    if (it->left == 0) {
        if (kfk__rbuf_left(&it->r) == 0)
            return 0;
        it->err_pos = kfk__rbuf_offset(&it->r);
        return it->err = KFK_ERR__MALFORMED; /* bytes after the last one */
    }
    size_t pos = kfk__rbuf_offset(&it->r);
    int err = read_record(it, rec);
    if (err) {
        it->err_pos = pos;
        return it->err = err;
    }
    it->left--;
    return 1;
}

void kfk__header_iter_init(kfk__header_iter *it, const kfk__record *rec)
{
    static const uint8_t empty[1];
    kfk__rbuf_init(&it->r, rec->headers ? rec->headers : empty,
                   rec->headers ? rec->headers_size : 0);
    it->left = rec->headers ? rec->header_count : 0;
}

int kfk__header_next(kfk__header_iter *it, kfk__rec_header *h)
{
    const uint8_t *key;
    if (it->left <= 0 || read_field(&it->r, &key, &h->key_len) ||
        h->key_len < 0 || read_field(&it->r, &h->value, &h->value_len))
        return 0;
    h->key = (const char *)key;
    it->left--;
    return 1;
}

int kfk__control_parse(const kfk__record *rec, kfk__control *c)
{
    if (rec->key_len < 4)
        return KFK_ERR__MALFORMED;
    c->version = (int16_t)kfk__load_be16(rec->key);
    c->type = (int16_t)kfk__load_be16(rec->key + 2);
    c->coordinator_epoch = -1;
    if (c->version < 0)
        return KFK_ERR__MALFORMED;
    if (c->type != KFK__CONTROL_ABORT && c->type != KFK__CONTROL_COMMIT)
        return 0;
    if (rec->value_len < 6)
        return KFK_ERR__MALFORMED;
    c->coordinator_epoch = (int32_t)kfk__load_be32(rec->value + 2);
    return 0;
}

/* ---- walking a records blob ------------------------------------------- */

/* The smallest entry of any magic: a magic-0 message with null key and
 * value (crc, magic, attributes, two int32 lengths). */
#define MIN_ENTRY_SIZE 14

void kfk__records_iter_init(kfk__records_iter *it, const void *data, size_t len)
{
    static const uint8_t empty[1];
    it->start = it->p = len ? data : empty;
    it->end = it->p + len;
}

int kfk__records_next(kfk__records_iter *it, kfk__records_entry *e)
{
    size_t left = (size_t)(it->end - it->p);
    e->data = it->p;
    e->pos = (size_t)(it->p - it->start);
    e->size = 0;
    e->offset = -1;
    e->magic = -1;
    if (!left)
        return 0;
    if (left < KFK__LOG_OVERHEAD)
        return KFK__RECORDS_INCOMPLETE;
    e->offset = (int64_t)kfk__load_be64(it->p);
    int32_t size = (int32_t)kfk__load_be32(it->p + KFK__BATCH_LENGTH);
    if (size < MIN_ENTRY_SIZE)
        return KFK_ERR__MALFORMED;
    e->size = KFK__LOG_OVERHEAD + (size_t)size;
    if (left > KFK__BATCH_MAGIC_POS)
        e->magic = (int8_t)it->p[KFK__BATCH_MAGIC_POS];
    if (left < e->size)
        return KFK__RECORDS_INCOMPLETE;
    it->p += e->size;
    return 1;
}
