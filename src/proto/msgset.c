/*
 * msgset.c: reading magic-0/1 message sets, and the any-magic reader a
 * consumer walks a Fetch response with (see msgset.h).
 *
 * Old data is rare and read-only, so this favours simple over fast: a
 * compressed wrapper's inner set is walked twice, once in init to validate
 * it and find its last offset (magic-1 inner offsets are relative to it,
 * exactly as the Java client computes them), once to hand records out.
 */
#include "proto/msgset.h"

#include <string.h>
#include <zlib.h>

/* crc, magic, attributes, key length, value length */
#define MIN_MESSAGE 14

static int64_t add64(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* An int32-length-prefixed byte string, -1 = null. */
static int read_bytes(kfk__rbuf *r, const uint8_t **ptr, int32_t *len)
{
    if (kfk__rd_i32(r, len) || *len < -1)
        return KFK_ERR__MALFORMED;
    *ptr = NULL;
    if (*len >= 0 && kfk__rd_bytes(r, (size_t)*len, ptr))
        return KFK_ERR__MALFORMED;
    return 0;
}

int kfk__msg_parse(const void *data, size_t len, bool check_crc, kfk__msg *m)
{
    const uint8_t *p = data;
    kfk__rbuf r;

    if (len < KFK__LOG_OVERHEAD)
        return KFK_ERR__TRUNCATED;
    m->offset = (int64_t)kfk__load_be64(p);
    m->size = (int32_t)kfk__load_be32(p + 8);
    if (m->size < MIN_MESSAGE)
        return KFK_ERR__MALFORMED;
    m->total = KFK__LOG_OVERHEAD + (size_t)m->size;
    if (len < m->total)
        return KFK_ERR__TRUNCATED;
    m->crc = kfk__load_be32(p + 12);
    m->magic = (int8_t)p[16];
    m->attributes = (int8_t)p[17];
    if (m->magic != 0 && m->magic != 1)
        return KFK_ERR__UNSUPPORTED_VERSION;

    kfk__rbuf_init(&r, p + 18, m->total - 18);
    m->timestamp = -1;
    if (m->magic == 1 && kfk__rd_i64(&r, &m->timestamp))
        return KFK_ERR__MALFORMED;
    if (read_bytes(&r, &m->key, &m->key_len) ||
        read_bytes(&r, &m->value, &m->value_len) || kfk__rbuf_left(&r))
        return KFK_ERR__MALFORMED;
    if (check_crc && crc32_z(0, p + 16, m->total - 16) != m->crc)
        return KFK_ERR__BAD_CRC;
    return 0;
}

/* ---- one message, or a wrapper's inner messages ----------------------- */

static int decompress_inner(kfk__msgset_iter *it, kfk__zctx *z, kfk__wbuf *buf,
                            size_t max)
{
    const kfk__msg *o = &it->outer;
    int codec = o->attributes & KFK__MSG_ATTR_CODEC_MASK;
    if (codec > KFK__CODEC_LZ4) /* zstd needs magic 2 */
        return KFK_ERR__UNKNOWN_CODEC;
    if (!buf)
        return KFK_ERR__INVALID_ARG;
    if (o->value_len < 0)
        return KFK_ERR__MALFORMED;
    kfk__wbuf_reset(buf);
    if (codec == KFK__CODEC_LZ4 && o->magic == 0)
        return kfk__decompress_lz4_legacy(z, o->value, (size_t)o->value_len,
                                          buf, max);
    return kfk__decompress(z, codec, o->value, (size_t)o->value_len, buf, max);
}

/* Validates every inner message and notes the first and last offsets. */
static int scan_inner(kfk__msgset_iter *it)
{
    kfk__rbuf r = it->inner;
    kfk__msg m;
    int64_t first = 0, last = 0;
    int32_t n = 0;

    while (kfk__rbuf_left(&r)) {
        it->err_pos = kfk__rbuf_offset(&r);
        int err = kfk__msg_parse(r.p, kfk__rbuf_left(&r), it->check_crc, &m);
        if (err)
            return err == KFK_ERR__BAD_CRC ? err : KFK_ERR__MALFORMED;
        if (m.magic != it->outer.magic ||
            (m.attributes & KFK__MSG_ATTR_CODEC_MASK) || n == INT32_MAX)
            return KFK_ERR__MALFORMED; /* Java rejects both, too */
        first = n ? first : m.offset;
        last = m.offset;
        n++;
        r.p += m.total;
    }
    if (!n)
        return KFK_ERR__MALFORMED;
    it->count = it->left = n;
    /* Java: absolute = wrapper offset - last inner offset + inner offset,
     * unless that base would be negative. */
    int64_t base = (int64_t)((uint64_t)it->outer.offset - (uint64_t)last);
    it->delta = it->outer.magic == 1 && base >= 0 ? base : 0;
    it->first_offset = add64(first, it->delta);
    it->last_offset = add64(last, it->delta);
    return 0;
}

int kfk__msgset_iter_init(kfk__msgset_iter *it, const void *data, size_t len,
                          bool check_crc, kfk__zctx *z, kfk__wbuf *buf,
                          size_t max_decompressed)
{
    static const uint8_t empty[1];
    memset(it, 0, sizeof(*it));
    it->check_crc = check_crc;
    int err = kfk__msg_parse(data, len, check_crc, &it->outer);
    if (err)
        return err;
    if (!(it->outer.attributes & KFK__MSG_ATTR_CODEC_MASK)) {
        it->count = it->left = 1;
        it->first_offset = it->last_offset = it->outer.offset;
        return 0;
    }
    if ((err = decompress_inner(it, z, buf, max_decompressed)))
        return err;
    kfk__rbuf_init(&it->inner, buf->len ? buf->data : empty, buf->len);
    return scan_inner(it);
}

int kfk__msgset_iter_next(kfk__msgset_iter *it, kfk__record *rec)
{
    kfk__msg m;
    const kfk__msg *o = &it->outer;
    if (it->left <= 0)
        return 0;
    if (o->attributes & KFK__MSG_ATTR_CODEC_MASK) {
        if (kfk__msg_parse(it->inner.p, kfk__rbuf_left(&it->inner), false, &m))
            return 0; /* cannot happen: init validated the set */
        it->inner.p += m.total;
        m.offset = add64(m.offset, it->delta);
        if (o->attributes & KFK__MSG_ATTR_LOG_APPEND_TIME)
            m.timestamp = o->timestamp;
    } else {
        m = *o;
    }
    memset(rec, 0, sizeof(*rec));
    rec->offset = m.offset;
    rec->timestamp = m.timestamp;
    rec->key = m.key;
    rec->key_len = m.key_len;
    rec->value = m.value;
    rec->value_len = m.value_len;
    rec->attributes = m.attributes;
    it->left--;
    return 1;
}

/* ---- any magic -------------------------------------------------------- */

void kfk__recs_reader_init(kfk__recs_reader *rd, const void *data, size_t len,
                           kfk__zctx *z, kfk__wbuf *buf,
                           size_t max_decompressed, bool check_crc)
{
    memset(rd, 0, sizeof(*rd));
    kfk__records_iter_init(&rd->entries, data, len);
    rd->z = z;
    rd->buf = buf;
    rd->max_decompressed = max_decompressed;
    rd->check_crc = check_crc;
}

/* Presents a magic-0/1 entry with a batch header, as Java's legacy
 * batches do. */
static int legacy_header(kfk__recs_reader *rd)
{
    const kfk__msgset_iter *m = &rd->msg;
    kfk__batch_hdr *h = &rd->batch.h;
    int64_t span =
        (int64_t)((uint64_t)m->last_offset - (uint64_t)m->first_offset);
    if (span < 0 || span > INT32_MAX)
        return KFK_ERR__MALFORMED;
    memset(h, 0, sizeof(*h));
    h->base_offset = m->first_offset;
    h->length = m->outer.size;
    h->leader_epoch = -1;
    h->magic = m->outer.magic;
    h->crc = m->outer.crc;
    h->attributes =
        (int16_t)(m->outer.attributes &
                  (KFK__MSG_ATTR_CODEC_MASK | KFK__MSG_ATTR_LOG_APPEND_TIME));
    h->last_offset_delta = (int32_t)span;
    h->base_timestamp = h->max_timestamp = m->outer.timestamp;
    h->producer_id = -1;
    h->producer_epoch = -1;
    h->base_sequence = -1;
    h->count = m->count;
    rd->batch.data = rd->entry.data;
    rd->batch.size = rd->entry.size;
    rd->batch.records = NULL;
    rd->batch.records_len = 0;
    return 0;
}

static int open_batch(kfk__recs_reader *rd)
{
    const uint8_t *d = rd->entry.data;
    size_t n = rd->entry.size;
    int err;
    switch (rd->entry.magic) {
    case 2:
        if ((err = kfk__batch_parse(d, n, &rd->batch)))
            return err;
        if (rd->check_crc && (err = kfk__batch_check_crc(&rd->batch)))
            return err;
        return kfk__rec_iter_init(&rd->rec, &rd->batch, rd->z, rd->buf,
                                  rd->max_decompressed);
    case 0:
    case 1:
        err = kfk__msgset_iter_init(&rd->msg, d, n, rd->check_crc, rd->z,
                                    rd->buf, rd->max_decompressed);
        return err ? err : legacy_header(rd);
    default:
        return KFK_ERR__UNSUPPORTED_VERSION;
    }
}

int kfk__recs_reader_next_batch(kfk__recs_reader *rd)
{
    rd->in_batch = false;
    int rc = kfk__records_next(&rd->entries, &rd->entry);
    rd->err_pos = rd->entry.pos;
    if (rc != 1)
        return rc;
    int err = open_batch(rd);
    if (err)
        return err;
    rd->in_batch = true;
    return 1;
}

int kfk__recs_reader_next_record(kfk__recs_reader *rd, kfk__record *rec)
{
    if (!rd->in_batch)
        return 0;
    if (rd->entry.magic == KFK__BATCH_MAGIC)
        return kfk__rec_iter_next(&rd->rec, rec);
    return kfk__msgset_iter_next(&rd->msg, rec);
}
