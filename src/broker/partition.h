/*
 * partition.h: the glue between the cluster model and a partition's
 * storage (the log and the idempotent-producer state): opening them with
 * the topic's config, reconfiguring, and removing a deleted topic's data.
 */
#ifndef KFK_BROKER_PARTITION_H
#define KFK_BROKER_PARTITION_H

#include "broker/cluster.h"

/* Opens (or recovers, with a data dir) the storage of bp. Returns 0 or a
 * kfk_err_t. */
int kfk__partition_open(kfk_cluster_t *c, kfk__btopic *t, kfk__bpart *bp);
/* Frees the storage and the replica lists of bp. */
void kfk__partition_close(kfk__bpart *bp);
/* Log start / end offsets (end = high watermark: replication is instant). */
int64_t kfk__partition_log_start(const kfk__bpart *bp);
int64_t kfk__partition_log_end(const kfk__bpart *bp);
/* Where a produced set of batches landed. */
typedef struct kfk__append_result {
    int64_t base_offset;
    int64_t log_append_time; /* -1 for CreateTime topics */
    int64_t log_start;
} kfk__append_result;

/* Validates the batches of a Produce request's partition (magic 2, CRC,
 * size against max.message.bytes, keys on compacted topics, producer
 * sequence rules) and appends them. A duplicate of a recent idempotent
 * batch is not appended and answered with its original offset. Returns 0
 * or the Kafka error code for the partition, with a message in msg. */
int kfk__partition_produce(kfk_cluster_t *c, kfk__btopic *t, kfk__bpart *bp,
                           const uint8_t *records, size_t len, int64_t now_ms,
                           kfk__append_result *res, char *msg, size_t msglen);

/* High watermark and last stable offset. */
int64_t kfk__partition_hw(const kfk__bpart *bp);
int64_t kfk__partition_lso(const kfk__bpart *bp);

/* Reads whole batches from the one containing offset, below upper, at most
 * max_bytes unless min_one and the first batch is larger (KIP-74). *out
 * points into the log or into arena (valid until the next append).
 * Returns 0 or KFK_ERR_OFFSET_OUT_OF_RANGE. */
int kfk__partition_read(kfk__bpart *bp, int64_t offset, int64_t upper,
                        size_t max_bytes, bool min_one, kfk__arena *arena,
                        kfk__bytes *out);

/* ListOffsets: first offset with timestamp >= ts (offset -1 when none),
 * and the offset/timestamp of the largest timestamp. */
int kfk__partition_offset_for_time(kfk__bpart *bp, int64_t ts, int64_t *offset,
                                   int64_t *timestamp);
int kfk__partition_max_timestamp(kfk__bpart *bp, int64_t *offset,
                                 int64_t *timestamp);

/* OffsetForLeaderEpoch: the end offset of epoch (the start of the next
 * larger epoch, or the log end for the current one) and the largest epoch
 * <= the requested one. */
void kfk__partition_epoch_end(const kfk__bpart *bp, int32_t epoch,
                              int32_t *out_epoch, int64_t *end_offset);

/* DeleteRecords: moves the log start to offset (-1 = high watermark).
 * Returns 0 or KFK_ERR_OFFSET_OUT_OF_RANGE; *low the new log start. */
int kfk__partition_delete_records(kfk__bpart *bp, int64_t offset, int64_t *low);

/* Records a new leader epoch in the log (OffsetForLeaderEpoch). */
void kfk__partition_leader_changed(kfk__bpart *bp);

/* Retention and compaction, run periodically. */
void kfk__partition_maintain(kfk__bpart *bp, int64_t now_ms);

/* Applies t->conf to every partition's log. */
void kfk__partitions_reconfigure(kfk__btopic *t);
/* Deletes the durable files of a topic that is being deleted. */
void kfk__partitions_remove_data(kfk_cluster_t *c, kfk__btopic *t);

#endif
