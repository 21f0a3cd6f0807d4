/*
 * compress.h: the four compression codecs Kafka puts inside record batches
 * (gzip, snappy, lz4, zstd), behind one pair of calls that append to a
 * kfk__wbuf.
 *
 * Decompression is where hostile input meets memory, so every call takes a
 * hard cap on the bytes it may produce: more output than that is
 * KFK_ERR__TOO_LARGE, found out before (not after) allocating it. Output
 * storage never grows past the cap; codec working memory is bounded by a
 * constant that does not depend on what the input claims (zlib 32 KiB
 * window, lz4 at most two 4 MiB blocks, zstd decodes straight into the
 * output with no window buffer, snappy none).
 *
 * Formats written (what the Java client writes, so anything that reads
 * Java-produced data reads ours):
 *   gzip   one gzip member (RFC 1952);
 *   snappy xerial framing: "\x82SNAPPY\0", int32 version 1, int32
 *          compatible-version 1, then big-endian int32 length-prefixed raw
 *          snappy blocks of up to 32 KiB input each;
 *   lz4    LZ4 frame, 64 KiB independent blocks, no checksums;
 *   zstd   one zstd frame with its content size.
 * Formats read: the above plus concatenated gzip members, raw (unframed)
 * snappy as librdkafka writes it, any LZ4 frame (linked blocks, checksums,
 * 4 MiB blocks, concatenated frames), any zstd frames (with or without
 * content size). Snappy's own "framing format" (stream identifier
 * "\xff\x06\0\0sNaPpY") is not Kafka's and is rejected: no Kafka client
 * writes it and the Java client cannot read it.
 *
 * All codec memory goes through kfk__malloc (snappy excepted: its C API
 * allocates its own small, bounded scratch). Pure code, no global state: a
 * kfk__zctx belongs to one thread at a time.
 */
#ifndef KFK_PROTO_COMPRESS_H
#define KFK_PROTO_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"

/* Codec ids, as in bits 0-2 of a record batch's attributes. */
typedef enum kfk__codec {
    KFK__CODEC_NONE = 0,
    KFK__CODEC_GZIP = 1,
    KFK__CODEC_SNAPPY = 2,
    KFK__CODEC_LZ4 = 3,
    KFK__CODEC_ZSTD = 4
} kfk__codec;

#define KFK__CODEC_COUNT 5

/* Level meaning "the codec's default" (gzip 6, lz4 fast, zstd 3). */
#define KFK__LEVEL_DEFAULT (-1)

/* Reusable codec state (compression and decompression contexts, scratch
 * buffer). Every call below accepts NULL instead, at the price of setting
 * up and tearing down a context each time; a producer or consumer keeps one
 * per thread. */
typedef struct kfk__zctx kfk__zctx;

/* Creates an empty context (codec contexts are made on first use) in *out.
 * Returns 0 or KFK_ERR__NOMEM. The caller owns it and frees it with
 * kfk__zctx_destroy. */
int kfk__zctx_new(kfk__zctx **out);

/* Frees the context and everything it holds. NULL is fine. */
void kfk__zctx_destroy(kfk__zctx *z);

/* A scratch buffer owned by the context, emptied; for callers that need a
 * temporary (record.c compresses a batch through it). Valid until the next
 * call on z or its destruction. */
kfk__wbuf *kfk__zctx_scratch(kfk__zctx *z);

/* "none", "gzip", "snappy", "lz4", "zstd"; "unknown" for other values.
 * Static string. */
const char *kfk__codec_name(int codec);

/* Parses a name as above (the Java client's compression.type values) into
 * *codec. Returns 0 or KFK_ERR__UNKNOWN_CODEC. */
int kfk__codec_from_name(const char *name, kfk__codec *codec);

/* 1 if level is valid for codec (KFK__LEVEL_DEFAULT always is; gzip 0-9,
 * lz4 0-17, zstd its negative fast levels to 22, snappy and none only the
 * default), else 0. */
int kfk__codec_level_ok(int codec, int level);

/* Compresses len bytes at src (not owned, not kept; NULL if len is 0) with
 * codec at level and appends the result to out. z may be NULL.
 * Returns 0 on success, KFK_ERR__UNKNOWN_CODEC, KFK_ERR__INVALID_ARG (bad
 * level), KFK_ERR__NOMEM, KFK_ERR__TOO_LARGE (out's maximum reached; out's
 * sticky error is then set), or KFK_ERR__COMPRESSION. On error out->len is
 * back where it was (unless out's sticky error is set). */
int kfk__compress(kfk__zctx *z, int codec, int level, const void *src,
                  size_t len, kfk__wbuf *out);

/* Decompresses len bytes at src (not owned, not kept) and appends at most
 * max_out bytes to out. z may be NULL.
 * Returns 0 on success; KFK_ERR__TOO_LARGE if the data expands past
 * max_out (out's storage stays within max_out more bytes either way);
 * KFK_ERR__COMPRESSION for corrupt or truncated input; KFK_ERR__NOMEM;
 * KFK_ERR__UNKNOWN_CODEC. On error out->len is back where it was; out's
 * sticky error is set only when out itself failed (NOMEM, or its own
 * maximum, which is also reported as KFK_ERR__TOO_LARGE). */
int kfk__decompress(kfk__zctx *z, int codec, const void *src, size_t len,
                    kfk__wbuf *out, size_t max_out);

/* kfk__decompress for lz4 data inside magic-0 messages: Kafka before 0.10
 * computed the LZ4 frame header checksum over the wrong bytes (magic number
 * included), which liblz4 rejects. This repairs the header checksum before
 * decoding; everything else is as kfk__decompress(z, KFK__CODEC_LZ4, ...).
 */
int kfk__decompress_lz4_legacy(kfk__zctx *z, const void *src, size_t len,
                               kfk__wbuf *out, size_t max_out);

#endif
