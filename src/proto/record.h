/*
 * record.h: record batches (magic 2), the unit every Produce request
 * carries and every Fetch response returns.
 *
 * Hand-written rather than generated because it is the hot path: the
 * writer appends records straight into the producer's buffer (no
 * allocation per record) and back-patches the header at the end; the
 * reader hands out views that point into the batch (or into one
 * decompression buffer), so an uncompressed batch is read without copying.
 *
 * Layout (docs/implementation.html): a 61-byte header, then the records,
 * compressed as one block when the codec bits say so. The CRC-32C covers
 * everything after the crc field; baseOffset, batchLength and
 * partitionLeaderEpoch sit before it so a broker can assign them without
 * recomputing the CRC.
 *
 * Errors: input that ends early is KFK_ERR__TRUNCATED; bytes that are all
 * there but inconsistent are KFK_ERR__MALFORMED; a wrong checksum is
 * KFK_ERR__BAD_CRC. Pure code: any thread, no global state.
 */
#ifndef KFK_PROTO_RECORD_H
#define KFK_PROTO_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/compress.h"

#define KFK__BATCH_MAGIC 2
#define KFK__BATCH_HEADER_SIZE 61 /* bytes before the first record */
#define KFK__LOG_OVERHEAD 12      /* baseOffset + length: every magic */

/* Where each header field sits, from the start of the batch. */
enum {
    KFK__BATCH_BASE_OFFSET = 0,
    KFK__BATCH_LENGTH = 8,
    KFK__BATCH_LEADER_EPOCH = 12,
    KFK__BATCH_MAGIC_POS = 16,
    KFK__BATCH_CRC = 17,
    KFK__BATCH_ATTRIBUTES = 21, /* the CRC covers from here to the end */
    KFK__BATCH_LAST_OFFSET_DELTA = 23,
    KFK__BATCH_BASE_TIMESTAMP = 27,
    KFK__BATCH_MAX_TIMESTAMP = 35,
    KFK__BATCH_PRODUCER_ID = 43,
    KFK__BATCH_PRODUCER_EPOCH = 51,
    KFK__BATCH_BASE_SEQUENCE = 53,
    KFK__BATCH_RECORD_COUNT = 57
};

/* Batch attribute bits (bits 0-2 are the kfk__codec). */
#define KFK__ATTR_CODEC_MASK 0x07
#define KFK__ATTR_LOG_APPEND_TIME 0x08
#define KFK__ATTR_TRANSACTIONAL 0x10
#define KFK__ATTR_CONTROL 0x20
#define KFK__ATTR_DELETE_HORIZON 0x40

/* Control record types (the key's second int16). */
#define KFK__CONTROL_ABORT 0
#define KFK__CONTROL_COMMIT 1

/* What kfk__records_next and the readers return for a partial last batch. */
#define KFK__RECORDS_INCOMPLETE 2

/* A record header: key is a string (never null), value may be null. As
 * input the pointers are the caller's; as output they point into the batch
 * or the decompression buffer. */
typedef struct kfk__rec_header {
    const char *key;
    int32_t key_len;
    const uint8_t *value; /* NULL when value_len is -1 */
    int32_t value_len;    /* -1 = null */
} kfk__rec_header;

/* One record as read: a view, valid as long as the bytes it came from.
 * Magic 0/1 messages (msgset.h) are reported in the same shape. */
typedef struct kfk__record {
    int64_t offset;
    int64_t timestamp;
    const uint8_t *key; /* NULL when key_len is -1 */
    int32_t key_len;    /* -1 = null */
    const uint8_t *value;
    int32_t value_len;
    int32_t header_count;
    const uint8_t *headers; /* header_count headers, already validated */
    size_t headers_size;
    int8_t attributes;
} kfk__record;

/* The batch header, decoded. */
typedef struct kfk__batch_hdr {
    int64_t base_offset;
    int32_t length; /* batchLength: bytes after this field */
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t count;
} kfk__batch_hdr;

/* ---- writing ---------------------------------------------------------- */

/* What a new batch starts with. kfk__batch_opts_init gives a producer's
 * defaults: base offset 0, leader epoch / producer id / epoch / base
 * sequence -1 (none), no flags, no compression, default level. */
typedef struct kfk__batch_opts {
    int64_t base_offset;
    int32_t leader_epoch;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int16_t flags; /* KFK__ATTR_TRANSACTIONAL | _CONTROL | _LOG_APPEND_TIME */
    int codec;     /* kfk__codec */
    int level;     /* KFK__LEVEL_DEFAULT or a codec level */
} kfk__batch_opts;

void kfk__batch_opts_init(kfk__batch_opts *o);

/* An open batch being written into a caller's buffer. Plain fields so it
 * can live inside a producer's per-partition state; only record.c touches
 * them. */
typedef struct kfk__batch_writer {
    kfk__wbuf *w; /* not owned */
    size_t start; /* where the batch begins in w */
    int64_t base_timestamp;
    int64_t max_timestamp;
    int32_t count;
    int32_t last_delta; /* offset delta of the last record, -1 before */
    int16_t attributes;
    int codec;
    int level;
} kfk__batch_writer;

/* Starts a batch at the end of w (which must outlive the writer; other
 * bytes before it are left alone) and writes its header with room for the
 * fields only known at the end. o may be NULL for the defaults.
 * Returns 0, KFK_ERR__INVALID_ARG (unknown codec, bad level, flags outside
 * the three above), or w's sticky error (KFK_ERR__NOMEM / __TOO_LARGE). */
int kfk__batch_begin(kfk__batch_writer *bw, kfk__wbuf *w,
                     const kfk__batch_opts *o);

/* Appends one record, copying key, value and headers into the buffer (the
 * caller keeps ownership of all of them). key_len / value_len -1 means
 * null (the pointer is then ignored); header keys may not be null. The
 * first record's timestamp becomes the batch's base timestamp.
 * Returns 0, KFK_ERR__INVALID_ARG (a length below -1, a null header key),
 * KFK_ERR__TOO_LARGE (the record would not fit an int32, more than
 * INT32_MAX records, or w's maximum), KFK_ERR__NOMEM. After an error the
 * record is not in the batch and the batch is still usable, unless w's
 * sticky error is set. */
int kfk__batch_append(kfk__batch_writer *bw, int64_t timestamp, const void *key,
                      int32_t key_len, const void *value, int32_t value_len,
                      const kfk__rec_header *headers, size_t header_count);

/* Appends a record read from another batch (a broker or tool re-encoding
 * data), keeping its offset: its offset delta is rec->offset minus the
 * batch's base offset, and must exceed the previous record's (else
 * KFK_ERR__INVALID_ARG). rec->headers must be a validated header block (as
 * a reader produces). Same errors as kfk__batch_append. */
int kfk__batch_append_record(kfk__batch_writer *bw, const kfk__record *rec);

/* Bytes one record takes in an uncompressed batch (length prefix
 * included), for "will it fit" checks before appending; SIZE_MAX if the
 * headers are invalid. */
size_t kfk__record_size(int64_t timestamp_delta, int32_t offset_delta,
                        int32_t key_len, int32_t value_len,
                        const kfk__rec_header *headers, size_t header_count);

/* Bytes the batch takes in w so far (uncompressed). */
static inline size_t kfk__batch_size(const kfk__batch_writer *bw)
{
    return bw->w->len - bw->start;
}

/* Closes the batch (call it once; after success only abandon or leave it):
 * compresses the records if a codec was chosen (through
 * z's scratch buffer when z is given, else a temporary one), fills in the
 * length, count, last offset delta, timestamps and attributes, and writes
 * the CRC. The finished batch is w->data[bw->start .. w->len).
 * Returns 0, or w's sticky error, KFK_ERR__TOO_LARGE (batch length would
 * not fit an int32), or a kfk__compress error; on a compression error the
 * uncompressed records are still in w and the writer may be finished again
 * or abandoned. */
int kfk__batch_finish(kfk__batch_writer *bw, kfk__zctx *z);

/* Drops the batch from w (w->len goes back to where it began). */
void kfk__batch_abandon(kfk__batch_writer *bw);

/* Writes a complete control batch holding one commit or abort marker
 * (type KFK__CONTROL_COMMIT / _ABORT) to the end of w, the way a
 * transaction coordinator's broker does: transactional + control
 * attributes, base sequence -1, one record whose key is version 0 + type
 * and whose value is version 0 + coordinator_epoch. o gives base offset,
 * leader epoch, producer id and epoch (its flags, codec and base sequence
 * are ignored).
 * Returns 0, KFK_ERR__INVALID_ARG (type not 0 or 1, o NULL) or w's sticky
 * error. */
int kfk__batch_write_marker(kfk__wbuf *w, const kfk__batch_opts *o,
                            int64_t timestamp, int16_t type,
                            int32_t coordinator_epoch);

/* ---- re-stamping a finished batch -------------------------------------- */
/* batch points at one complete batch of len bytes, owned by the caller.
 * Each returns 0, KFK_ERR__TRUNCATED (len shorter than the batch header or
 * than its batchLength says) or KFK_ERR__MALFORMED (magic is not 2). */

/* The broker assigns offsets; not covered by the CRC, so no recompute. */
int kfk__batch_set_base_offset(void *batch, size_t len, int64_t base_offset);

/* The leader stamps its epoch; not covered by the CRC either. */
int kfk__batch_set_leader_epoch(void *batch, size_t len, int32_t epoch);

/* The producer re-sequences after an epoch bump; these fields are covered,
 * so the CRC is recomputed. */
int kfk__batch_set_producer(void *batch, size_t len, int64_t producer_id,
                            int16_t producer_epoch, int32_t base_sequence);

/* A broker for a LogAppendTime topic sets the timestamp-type bit and
 * maxTimestamp; covered, so the CRC is recomputed. */
int kfk__batch_set_log_append_time(void *batch, size_t len, int64_t timestamp);

/* ---- reading ---------------------------------------------------------- */

/* One parsed batch: the header plus where its parts are. Points into the
 * caller's bytes. */
typedef struct kfk__batch {
    kfk__batch_hdr h;
    const uint8_t *data;    /* the batch, from baseOffset */
    size_t size;            /* 12 + batchLength */
    const uint8_t *records; /* records section as stored (maybe compressed) */
    size_t records_len;
} kfk__batch;

/* Parses the batch at the start of data (len bytes; bytes past the batch
 * are ignored). Checks the shape only, not the CRC.
 * Returns 0; KFK_ERR__TRUNCATED if len is shorter than the header or the
 * batch; KFK_ERR__UNSUPPORTED_VERSION if the magic byte is not 2 (magic
 * 0/1: see msgset.h); KFK_ERR__MALFORMED if batchLength is shorter than the
 * header, the record count is negative, or lastOffsetDelta is smaller than
 * count - 1. */
int kfk__batch_parse(const void *data, size_t len, kfk__batch *b);

/* Recomputes the CRC-32C. Returns 0 or KFK_ERR__BAD_CRC. */
int kfk__batch_check_crc(const kfk__batch *b);

static inline int kfk__batch_codec(const kfk__batch *b)
{
    return b->h.attributes & KFK__ATTR_CODEC_MASK;
}

static inline bool kfk__batch_is_control(const kfk__batch *b)
{
    return (b->h.attributes & KFK__ATTR_CONTROL) != 0;
}

static inline bool kfk__batch_is_transactional(const kfk__batch *b)
{
    return (b->h.attributes & KFK__ATTR_TRANSACTIONAL) != 0;
}

/* baseOffset + lastOffsetDelta: where the next fetch continues. */
static inline int64_t kfk__batch_last_offset(const kfk__batch *b)
{
    return (int64_t)((uint64_t)b->h.base_offset +
                     (uint64_t)(int64_t)b->h.last_offset_delta);
}

/* Iterates the records of one batch. Plain fields; only record.c touches
 * them, except err_pos. */
typedef struct kfk__rec_iter {
    kfk__rbuf r; /* the (decompressed) records section */
    int64_t base_offset;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int32_t left; /* records not read yet */
    int32_t last_offset_delta;
    int32_t prev_delta; /* offset delta of the previous record */
    bool log_append_time;
    int err;        /* sticky: 0, or the error next() keeps returning */
    size_t err_pos; /* after an error: byte offset in the records section */
} kfk__rec_iter;

/* Prepares to iterate b's records. An uncompressed batch is read in place
 * (buf is not used and may be NULL). A compressed one is decompressed into
 * buf (emptied first; owned by the caller, who may reuse it for the next
 * batch) with at most max_decompressed bytes, using z (may be NULL).
 * Records handed out point into b's bytes or into buf; they stay valid
 * while those do.
 * Returns 0; KFK_ERR__INVALID_ARG (compressed and buf NULL);
 * KFK_ERR__TOO_LARGE, __COMPRESSION, __NOMEM, __UNKNOWN_CODEC from
 * decompression; KFK_ERR__MALFORMED if the section is too short for the
 * record count. */
int kfk__rec_iter_init(kfk__rec_iter *it, const kfk__batch *b, kfk__zctx *z,
                       kfk__wbuf *buf, size_t max_decompressed);

/* The next record into *rec. Returns 1 (a record), 0 (no more: all count
 * records read and every byte used), or KFK_ERR__MALFORMED (a length that
 * exceeds what remains, a bad varint, offset deltas not increasing or past
 * lastOffsetDelta, fewer records than the count, bytes left over after
 * them), with it->err_pos set. Once it returned <= 0 it keeps returning
 * that. */
int kfk__rec_iter_next(kfk__rec_iter *it, kfk__record *rec);

/* Iterates a record's headers (validated when the record was read, so
 * this cannot fail). */
typedef struct kfk__header_iter {
    kfk__rbuf r;
    int32_t left;
} kfk__header_iter;

void kfk__header_iter_init(kfk__header_iter *it, const kfk__record *rec);

/* The next header into *h: 1, or 0 when there are no more. */
int kfk__header_next(kfk__header_iter *it, kfk__rec_header *h);

/* A control record's key and value. */
typedef struct kfk__control {
    int16_t version;
    int16_t type;              /* KFK__CONTROL_ABORT / _COMMIT / other */
    int32_t coordinator_epoch; /* commit/abort only; else -1 */
} kfk__control;

/* Parses a control batch's record. Unknown types (KRaft uses some) are
 * returned as they are with coordinator_epoch -1.
 * Returns 0, or KFK_ERR__MALFORMED (key shorter than 4 bytes or null; a
 * commit/abort value shorter than 6 bytes or null). */
int kfk__control_parse(const kfk__record *rec, kfk__control *c);

/* ---- walking a records blob ------------------------------------------- */

/* A Fetch response's records field: batches (of any magic) back to back,
 * the last one possibly cut short by the broker's size limit. Every magic
 * starts with offset int64 + size int32 and has its magic byte at 16, so
 * one walker serves all. */
typedef struct kfk__records_iter {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
} kfk__records_iter;

/* One entry: a magic-2 batch, or a magic-0/1 message (maybe a compressed
 * wrapper). */
typedef struct kfk__records_entry {
    const uint8_t *data; /* from the offset field */
    size_t size;         /* 12 + the size field; 0 if not yet known */
    int64_t offset;      /* the first field (base offset for magic 2) */
    int8_t magic;        /* -1 if not yet known */
    size_t pos;          /* where the entry starts in the blob */
} kfk__records_entry;

void kfk__records_iter_init(kfk__records_iter *it, const void *data,
                            size_t len);

/* The next entry into *e. Returns 1 (an entry; size bytes present), 0 (end:
 * nothing left), KFK__RECORDS_INCOMPLETE (the rest, from e->pos, is the
 * start of an entry cut short: normal at the end of a Fetch response;
 * e->size says how big it is once its size field is there), or
 * KFK_ERR__MALFORMED (a size field smaller than any entry can be, or
 * negative) with e->pos where. The magic byte is reported, not checked. */
int kfk__records_next(kfk__records_iter *it, kfk__records_entry *e);

#endif
