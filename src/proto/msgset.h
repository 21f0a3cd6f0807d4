/*
 * msgset.h: reading the message sets Kafka wrote before 0.11 (magic 0 and
 * 1), and one reader for a whole records blob whatever its magics.
 *
 * A consumer may still meet old data: topics written by old clients and
 * never compacted away. We only read it (producers write magic 2).
 *
 * Message layout: offset int64, size int32, crc uint32 (CRC-32/IEEE of
 * everything after it), magic int8, attributes int8 (bits 0-2 codec, bit 3
 * log-append-time in magic 1), [timestamp int64: magic 1], key bytes
 * (int32 length, -1 null), value bytes. A compressed message is a wrapper:
 * its value is a whole message set, compressed. Inner offsets are absolute
 * in magic 0; in magic 1 they are relative and the wrapper carries the
 * offset of the last inner message. Magic-0 lz4 used a broken frame header
 * checksum, which we repair (compress.h).
 *
 * Errors as in record.h. Pure code; any thread.
 */
#ifndef KFK_PROTO_MSGSET_H
#define KFK_PROTO_MSGSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/compress.h"
#include "proto/record.h"

#define KFK__MSG_ATTR_CODEC_MASK 0x07
#define KFK__MSG_ATTR_LOG_APPEND_TIME 0x08

/* One message, as it is stored. Points into the caller's bytes. */
typedef struct kfk__msg {
    int64_t offset;
    int32_t size; /* bytes after the size field */
    uint32_t crc;
    int8_t magic;
    int8_t attributes;
    int64_t timestamp;  /* -1 in magic 0 */
    const uint8_t *key; /* NULL when key_len is -1 */
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
    size_t total; /* 12 + size: bytes the message spans */
} kfk__msg;

/* Parses one message at the start of data (len bytes; bytes after it are
 * ignored). With check_crc, verifies the CRC-32.
 * Returns 0; KFK_ERR__TRUNCATED (len shorter than the message);
 * KFK_ERR__UNSUPPORTED_VERSION (magic not 0 or 1); KFK_ERR__MALFORMED
 * (sizes that disagree, bad lengths); KFK_ERR__BAD_CRC. */
int kfk__msg_parse(const void *data, size_t len, bool check_crc, kfk__msg *m);

/* Iterates the records one message stands for: itself, or the inner
 * messages of a compressed wrapper, with absolute offsets and the
 * timestamps a Java consumer would report. Plain fields; only msgset.c
 * touches them. */
typedef struct kfk__msgset_iter {
    kfk__msg outer;
    kfk__rbuf inner; /* inner message set (decompressed), if a wrapper */
    int64_t delta;   /* added to inner offsets (magic 1) */
    int32_t left;    /* records not handed out yet */
    bool check_crc;
    size_t err_pos;       /* after an error: offset in the inner set */
    int64_t first_offset; /* of the first and last record, for callers */
    int64_t last_offset;
    int32_t count;
} kfk__msgset_iter;

/* Prepares to iterate the message at data (len bytes, e.g. an entry from
 * kfk__records_next). A wrapper is decompressed into buf (emptied first,
 * owned by the caller) with at most max_decompressed bytes, using z (may
 * be NULL), and every inner message is checked up front (so the first and
 * last offsets are known before the first record).
 * Returns 0; kfk__msg_parse's errors; KFK_ERR__INVALID_ARG (a wrapper and
 * buf NULL); decompression errors (KFK_ERR__TOO_LARGE, __COMPRESSION,
 * __NOMEM, __UNKNOWN_CODEC); KFK_ERR__MALFORMED (inner messages of another
 * magic, nested compression, an empty or partial inner set) with err_pos.
 */
int kfk__msgset_iter_init(kfk__msgset_iter *it, const void *data, size_t len,
                          bool check_crc, kfk__zctx *z, kfk__wbuf *buf,
                          size_t max_decompressed);

/* The next record into *rec (key/value point into data or buf; no
 * headers; attributes are the message's). Returns 1 or 0 when done. The
 * inner set was validated by init, so this cannot fail. */
int kfk__msgset_iter_next(kfk__msgset_iter *it, kfk__record *rec);

/* ---- any magic ---------------------------------------------------------- */

/* Reads every record of a records blob (a Fetch response's records field),
 * batch by batch, whatever each batch's magic. For magic 0/1 entries the
 * batch header is filled in the way the Java client presents legacy
 * batches: base/last offset of the records it holds, codec and timestamp
 * type from the attributes, no producer id (-1), max timestamp the
 * message's. Plain fields; only msgset.c writes them. */
typedef struct kfk__recs_reader {
    kfk__records_iter entries;
    kfk__zctx *z;
    kfk__wbuf *buf;
    size_t max_decompressed;
    bool check_crc;
    bool in_batch;
    kfk__records_entry entry; /* the current entry */
    kfk__batch batch;     /* the current batch (h is filled for every magic) */
    kfk__rec_iter rec;    /* magic 2 */
    kfk__msgset_iter msg; /* magic 0/1 */
    size_t err_pos; /* after an error: offset in the blob (of the batch) */
} kfk__recs_reader;

/* Starts reading the len bytes at data (not owned; must outlive the
 * reader and the records it hands out). buf (caller-owned, reused for each
 * compressed batch) and z may be NULL if no batch is compressed. */
void kfk__recs_reader_init(kfk__recs_reader *rd, const void *data, size_t len,
                           kfk__zctx *z, kfk__wbuf *buf,
                           size_t max_decompressed, bool check_crc);

/* Moves to the next batch (skipping what is left of the current one) and
 * fills rd->batch and rd->entry. Returns 1; 0 at the end;
 * KFK__RECORDS_INCOMPLETE for a partial last batch (not an error: fetch from
 * rd->entry.offset again, with a larger size if rd->entry.size says so); or an
 * error from kfk__records_next, kfk__batch_parse, kfk__batch_check_crc,
 * kfk__rec_iter_init or kfk__msgset_iter_init (unknown magic:
 * KFK_ERR__UNSUPPORTED_VERSION), with rd->err_pos. After an error inside
 * one batch (rd->entry.size > 0) the reader has moved past it, so calling
 * again goes on with the next; an error in the walk itself (a size field
 * no entry can have: rd->entry.size == 0) loses the batch boundaries and
 * repeats. Records of the previous batch are invalid afterwards if it was
 * compressed. */
int kfk__recs_reader_next_batch(kfk__recs_reader *rd);

/* The current batch's next record. Returns 1, 0 when the batch is done, or
 * kfk__rec_iter_next's error. */
int kfk__recs_reader_next_record(kfk__recs_reader *rd, kfk__record *rec);

#endif
