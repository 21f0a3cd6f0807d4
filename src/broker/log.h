/*
 * log.h: the reference broker's partition log (kfk__plog): record batches
 * with offsets, in segments, in memory or in a data directory.
 *
 * The broker hands it magic-2 batches as producers sent them; the log
 * checks their structure, assigns offsets and stores them unchanged
 * otherwise (no re-encoding). Fetches get the stored bytes back as slices.
 * Retention (time, size, DeleteRecords), truncation and compaction work as
 * in Apache Kafka (docs/design.html, docs/implementation.html), with the
 * simplifications listed at kfk__plog_compact.
 *
 * Replication is simulated above this layer: all replicas of a partition
 * share one log, and the caller passes the high watermark / last stable
 * offset where it matters.
 *
 * Pure data structure: no threads, no clock (every time is a now_ms
 * argument), no logging. One thread at a time (the broker holds its
 * cluster lock). Every function returning int returns 0 or a kfk_err_t.
 *
 * On disk (when a directory is given), Kafka's layout: one file per
 * segment named <base offset as 20 digits>.log holding the batches back to
 * back, plus kfk-log.checkpoint (log start offset and leader epochs).
 * There are no index files: opening a log scans and CRC-checks every
 * batch (about 1 GB in well under a second from the page cache),
 * rebuilds the sparse in-memory index, and cuts each file at its first
 * torn or corrupt batch, dropping the segments after it.
 */
#ifndef KFK_BROKER_LOG_H
#define KFK_BROKER_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/record.h"

typedef struct kfk__plog kfk__plog;

/* ---- configuration ---------------------------------------------------- */

/* The topic configs the log acts on (Kafka's names and meanings). */
typedef struct kfk__plog_conf {
    int64_t retention_ms;        /* -1: keep forever */
    int64_t retention_bytes;     /* -1: no size limit */
    int64_t segment_bytes;       /* roll when a segment would exceed it */
    int64_t segment_ms;          /* roll a segment this old; -1 never */
    int64_t delete_retention_ms; /* compaction keeps tombstones this long */
    int32_t max_message_bytes;   /* largest batch, 12-byte overhead incl. */
    bool cleanup_delete;         /* cleanup.policy has delete */
    bool cleanup_compact;        /* cleanup.policy has compact */
    bool log_append_time;        /* message.timestamp.type=LogAppendTime */
} kfk__plog_conf;

/* Apache Kafka 4.0's defaults: 7 days retention, no size limit, 1 GiB
 * segments rolled after 7 days, 1 day delete retention, 1048588-byte
 * batches, cleanup.policy=delete, CreateTime. */
void kfk__plog_conf_init(kfk__plog_conf *conf);

/* ---- life cycle ------------------------------------------------------- */

/* Opens a log in *out (owned by the caller; kfk__plog_close frees it).
 * dir NULL: in memory, empty. Otherwise the partition's directory
 * (created if missing, parents too): existing segments are recovered as
 * the file comment says. conf is copied. now_ms dates the segments (for
 * segment.ms and for retention of batches without timestamps).
 * Returns 0, KFK_ERR__INVALID_CONFIG (segment_bytes outside 1..INT32_MAX,
 * max_message_bytes < 0), KFK_ERR__NOMEM or KFK_ERR_KAFKA_STORAGE_ERROR
 * (the directory or a file could not be read, written or mapped). */
int kfk__plog_open(const char *dir, const kfk__plog_conf *conf, int64_t now_ms,
                   kfk__plog **out);

/* Frees the log. Data already appended to a durable log is in its files
 * (in the page cache: call kfk__plog_flush first for power-loss safety).
 * NULL is fine. Every slice from this log becomes invalid. */
void kfk__plog_close(kfk__plog *log);

/* Replaces the configuration (copied); it applies from the next append,
 * retention or compaction. Returns 0 or KFK_ERR__INVALID_CONFIG (as
 * open; the old configuration stays). */
int kfk__plog_set_conf(kfk__plog *log, const kfk__plog_conf *conf);

/* fsyncs every segment written since the last flush and the directory.
 * Memory logs: nothing to do. Returns 0 or KFK_ERR_KAFKA_STORAGE_ERROR. */
int kfk__plog_flush(kfk__plog *log);

/* ---- appending -------------------------------------------------------- */

/* Who is appending: a producer's batches are checked more strictly than
 * the broker's own control batches (transaction markers). */
typedef enum kfk__plog_origin {
    KFK__PLOG_CLIENT,     /* Produce: no control batches, dense offsets */
    KFK__PLOG_COORDINATOR /* the broker's markers: control batches ok */
} kfk__plog_origin;

typedef struct kfk__plog_append_info {
    int64_t base_offset;     /* offset of the first record appended */
    int64_t last_offset;     /* offset of the last record appended */
    int64_t log_append_time; /* now_ms with LogAppendTime, else -1 */
    int64_t log_end_offset;  /* after the append */
    int64_t max_timestamp;   /* largest batch maxTimestamp appended */
    int32_t nbatches;
} kfk__plog_append_info;

/* Appends len bytes of one or more magic-2 record batches (a Produce
 * request's records, not owned, not modified, not kept). Checks every
 * batch before storing any: complete and consistent lengths (else
 * KFK_ERR_CORRUPT_MESSAGE), magic 2 (KFK_ERR_INVALID_RECORD), CRC
 * (KFK_ERR_CORRUPT_MESSAGE), at least one record and lastOffsetDelta =
 * records - 1 for a client (KFK_ERR_INVALID_RECORD; control batches from
 * a client too), size <= max.message.bytes (KFK_ERR_MESSAGE_TOO_LARGE),
 * all of them <= segment.bytes (KFK_ERR_RECORD_LIST_TOO_LARGE); len 0 is
 * KFK_ERR_INVALID_RECORD.
 *
 * Stores them with offsets from the log end on, stamping baseOffset and
 * partitionLeaderEpoch = leader_epoch into the stored copy, and with
 * LogAppendTime the timestamp-type bit and maxTimestamp = now_ms (and a
 * new CRC). Rolls a new segment first when the active one is full or
 * older than segment.ms. Fills *info (may be NULL).
 *
 * All or nothing: on any error the log is as before (a freshly rolled,
 * empty segment may remain). Also returns KFK_ERR__NOMEM and
 * KFK_ERR_KAFKA_STORAGE_ERROR (the file write failed). Idempotence is the
 * caller's business (pidstate.h), as is the HW. */
int kfk__plog_append(kfk__plog *log, const void *batches, size_t len,
                     int32_t leader_epoch, kfk__plog_origin origin,
                     int64_t now_ms, kfk__plog_append_info *info);

/* ---- reading ---------------------------------------------------------- */

/* A run of whole stored batches, back to back. */
typedef struct kfk__plog_slice {
    const uint8_t *data;
    size_t len;
} kfk__plog_slice;

typedef struct kfk__plog_read_info {
    size_t nslices;      /* slices filled */
    size_t bytes;        /* their total length */
    int64_t next_offset; /* after the last batch returned; offset if none */
} kfk__plog_read_info;

/* Reads for a Fetch: whole batches from the one containing offset (its
 * records below offset included, as Kafka does) on, never a batch whose
 * last offset is >= upper_bound (the HW or LSO; -1 = log end), at most
 * max_bytes in total, except that with min_one a first batch larger than
 * max_bytes is returned alone (KIP-74). The batches go to slices[0 ..
 * max_slices) (one per contiguous run; reading stops early when they run
 * out) and *info.
 *
 * Lifetime: the slices point into the log's storage. Appending does not
 * move or change stored bytes, so they stay valid until the next
 * kfk__plog_delete_records, _truncate_to, _enforce_retention, _compact
 * or _close on this log.
 *
 * Returns 0 (possibly with nothing, e.g. offset == log end), or
 * KFK_ERR_OFFSET_OUT_OF_RANGE when offset < log start or > log end. */
int kfk__plog_read(const kfk__plog *log, int64_t offset, int64_t upper_bound,
                   size_t max_bytes, bool min_one, kfk__plog_slice *slices,
                   size_t max_slices, kfk__plog_read_info *info);

/* The same, copying the bytes to the end of out (not limited to a number
 * of slices). Returns 0, KFK_ERR_OFFSET_OUT_OF_RANGE, or out's sticky
 * error (KFK_ERR__NOMEM, KFK_ERR__TOO_LARGE) with out->len restored. */
int kfk__plog_read_copy(const kfk__plog *log, int64_t offset,
                        int64_t upper_bound, size_t max_bytes, bool min_one,
                        kfk__wbuf *out, kfk__plog_read_info *info);

/* Walks stored batch headers in offset order (producer-state rebuild,
 * transaction scans). Plain fields; only log.c touches them. */
typedef struct kfk__plog_iter {
    const kfk__plog *log;
    size_t seg;
    uint32_t chunk, pos;
} kfk__plog_iter;

/* Starts at the batch containing offset, or the first after it. */
void kfk__plog_iter_init(kfk__plog_iter *it, const kfk__plog *log,
                         int64_t offset);

/* The next batch into *b (pointing into the log; valid as slices are).
 * Returns 1, or 0 at the end. Invalidated by the calls that invalidate
 * slices, and by appends. */
int kfk__plog_iter_next(kfk__plog_iter *it, kfk__batch *b);

/* ---- queries ---------------------------------------------------------- */

int64_t kfk__plog_start_offset(const kfk__plog *log);
int64_t kfk__plog_end_offset(const kfk__plog *log);
/* Bytes of all stored batches (segments may hold some below the start). */
uint64_t kfk__plog_size(const kfk__plog *log);
uint64_t kfk__plog_batch_count(const kfk__plog *log);
size_t kfk__plog_segment_count(const kfk__plog *log);

/* ListOffsets by timestamp: the first record at or after the log start
 * with timestamp >= ts, below upper_bound (-1 = log end), into *offset
 * and *timestamp; both -1 when there is none. Compressed batches are
 * decompressed to find the record (a batch that cannot be decoded answers
 * with its base offset and maxTimestamp). Returns 0 or KFK_ERR__NOMEM. */
int kfk__plog_offset_for_timestamp(const kfk__plog *log, int64_t ts,
                                   int64_t upper_bound, int64_t *offset,
                                   int64_t *timestamp);

/* ListOffsets -3 (KIP-734): the record with the largest timestamp (the
 * first one if several share it), both -1 when the log is empty or that
 * record is at or beyond upper_bound (-1 = log end). Returns 0 or
 * KFK_ERR__NOMEM. */
int kfk__plog_max_timestamp(const kfk__plog *log, int64_t upper_bound,
                            int64_t *offset, int64_t *timestamp);

/* ---- leader epochs (OffsetForLeaderEpoch, KIP-320) -------------------- */

/* Records that epoch starts at the log end (a new leader calls it when it
 * takes over; appends with a newer epoch record it too). Epochs not larger
 * than the latest are ignored. Durable logs write the checkpoint.
 * Returns 0, KFK_ERR__NOMEM or KFK_ERR_KAFKA_STORAGE_ERROR. */
int kfk__plog_assign_epoch(kfk__plog *log, int32_t epoch);

/* Kafka's LeaderEpochFileCache.endOffsetFor: for the latest epoch, (it,
 * log end); else the largest known epoch <= epoch and the start offset of
 * the first epoch after it (epoch itself when none is smaller); (-1, -1)
 * when epoch is -1, above all, or nothing is known. */
void kfk__plog_epoch_end(const kfk__plog *log, int32_t epoch,
                         int32_t *out_epoch, int64_t *end_offset);

/* The latest epoch recorded, or -1. */
int32_t kfk__plog_latest_epoch(const kfk__plog *log);

/* ---- removing data ---------------------------------------------------- */

/* DeleteRecords: moves the log start up to offset (no-op if it is not
 * above the start) and removes segments now entirely below it (never the
 * active one); a batch straddling the new start stays stored, reads start
 * at it. Durable logs write the checkpoint first. *low (may be NULL) gets
 * the log start. The caller checks offset against the HW.
 * Returns 0, KFK_ERR_OFFSET_OUT_OF_RANGE (offset < 0 or > log end),
 * KFK_ERR__NOMEM or KFK_ERR_KAFKA_STORAGE_ERROR. */
int kfk__plog_delete_records(kfk__plog *log, int64_t offset, int64_t *low);

/* Truncates the log for an unclean leader change: every batch whose last
 * offset is >= offset goes (a batch containing offset goes whole), and
 * leader epochs starting at or after the new end. Below the log start,
 * everything goes and the log restarts empty at offset. *new_end (may be
 * NULL) gets the log end afterwards (<= offset). The caller rebuilds its
 * producer state (kfk__pidstate_rebuild).
 * Returns 0, KFK_ERR_OFFSET_OUT_OF_RANGE (offset < 0), KFK_ERR__NOMEM or
 * KFK_ERR_KAFKA_STORAGE_ERROR. */
int kfk__plog_truncate_to(kfk__plog *log, int64_t offset, int64_t *new_end);

/* Deletes old segments as Kafka's retention does, oldest first and only
 * whole segments whose data is all below hw (-1 = log end): with
 * cleanup.policy delete, those whose largest timestamp is more than
 * retention.ms before now_ms (segments without timestamps: their
 * creation), then while the log minus the segment stays above
 * retention.bytes; with any policy, those entirely below the log start.
 * The active segment goes too when it qualifies (a new empty one takes
 * its place). The log start follows the first remaining segment.
 * *deleted (may be NULL) gets the number of segments removed.
 * Returns 0, KFK_ERR__NOMEM or KFK_ERR_KAFKA_STORAGE_ERROR. */
int kfk__plog_enforce_retention(kfk__plog *log, int64_t now_ms, int64_t hw,
                                size_t *deleted);

/* Compaction statistics of one kfk__plog_compact call. */
typedef struct kfk__plog_compact_info {
    size_t segments;      /* segments rewritten */
    uint64_t records_in;  /* records read in those */
    uint64_t records_out; /* records kept */
    uint64_t bytes_in;
    uint64_t bytes_out;
} kfk__plog_compact_info;

/* cleanup.policy=compact (no-op otherwise): rewrites every segment below
 * both the active segment and upper_bound (the LSO/HW; -1 = log end)
 * keeping, per key, only the record with the highest offset among those
 * segments (Kafka's cleaner: keys in the active segment do not remove
 * older values). Offsets are preserved (gaps appear), each rewritten batch
 * keeps its base offset, lastOffsetDelta, producer fields and codec, and
 * unchanged batches are copied byte for byte. Consecutive segments are
 * merged while their input fits segment.bytes.
 *
 * Tombstones (null value) are kept while they are the latest for their
 * key, until delete.retention.ms after the first compaction that saw
 * them; later compactions after that drop them.
 *
 * Kept as Kafka keeps them: control batches (always, for now), and the
 * last batch of every producer id in the log, as an empty batch if all
 * its records go (so sequence numbers survive a restart). Simplifications:
 * records of aborted transactions are not removed; the tombstone horizon
 * is per segment and held in memory (after a restart tombstones live one
 * delete.retention.ms more); records without a key are kept; a batch whose
 * records cannot be decoded is kept unchanged and its keys do not count.
 * A call that finds nothing new since the last one returns at once.
 *
 * *info may be NULL. Returns 0, KFK_ERR__NOMEM, KFK_ERR_KAFKA_STORAGE_ERROR
 * or a compression error; on error the log holds the segments already
 * swapped and the old ones for the rest (consistent either way). */
int kfk__plog_compact(kfk__plog *log, int64_t now_ms, int64_t upper_bound,
                      kfk__plog_compact_info *info);

#endif
