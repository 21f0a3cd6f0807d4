/*
 * kfk/producer.h: the idempotent batching producer.
 *
 * A kfk_t is a client handle with its own I/O thread. kfk_produce()
 * copies a record into its partition's open batch and returns; batches go
 * out when full, after linger.ms, or on kfk_flush(). Every record produced
 * successfully gets exactly one delivery report, served by kfk_poll() (or
 * kfk_flush()/kfk_close()) on the calling thread, never on the I/O thread.
 * kfk_poll and kfk_destroy are in kfk/client.h, with the log, statistics
 * and error callbacks every handle has.
 *
 * Thread safety: every function may be called from any thread, except
 * kfk_destroy, which must be the last call.
 */
#ifndef KFK_PRODUCER_H
#define KFK_PRODUCER_H

#include <kfk/client.h>
#include <kfk/common.h>
#include <kfk/conf.h>
#include <kfk/error.h>

/* Any partition: let the partitioner choose. */
#define KFK_PARTITION_ANY (-1)

/* A record header. key is a NUL-terminated string; value may be NULL (a
 * null header value) with value_len ignored. */
typedef struct kfk_header {
    const char *key;
    const void *value;
    size_t value_len;
} kfk_header_t;

/* What to produce. Plain values the caller owns; kfk_produce copies what
 * it needs before returning. key NULL = null key (the sticky partitioner
 * picks the partition); value NULL = null value (a tombstone). timestamp 0
 * = now (ms since the epoch). opaque comes back in the delivery report. */
typedef struct kfk_record {
    const char *topic;
    int32_t partition;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    const kfk_header_t *headers;
    size_t header_count;
    int64_t timestamp;
    void *opaque;
} kfk_record_t;

/* One delivery report: err 0 with the record's partition, offset and
 * timestamp, or the error it failed with (partition may then be -1 and
 * offset -1). topic is valid during the callback only. */
typedef struct kfk_delivery {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;
    kfk_err_t err;
    void *opaque; /* the record's */
} kfk_delivery_t;

/* Called from kfk_poll/kfk_flush/kfk_close on the caller's thread. */
typedef void(kfk_delivery_cb)(kfk_t *k, const kfk_delivery_t *d,
                              void *app_opaque);

/* Sets the delivery-report callback and the application opaque handed to
 * it. Any thread (before kfk_producer_new uses the conf). Returns
 * KFK_ERR_NONE or KFK_ERR__INVALID_ARG (conf NULL). */
KFK_API kfk_err_t kfk_conf_set_delivery_cb(kfk_conf_t *conf,
                                           kfk_delivery_cb *cb,
                                           void *app_opaque);

/* A user partitioner: returns the partition (0 .. partition_cnt-1) for a
 * record without an explicit partition, or -1 to let kfk decide (murmur2
 * of the key, or the sticky partition for a null key). key is NULL
 * (key_len 0) for a null key. Runs inside kfk_produce on the producing
 * thread with no kfk lock held; it must be thread-safe if several threads
 * produce. A result outside -1 .. partition_cnt-1 makes kfk_produce fail
 * with KFK_ERR__INVALID_ARG. */
typedef int32_t(kfk_partitioner_cb)(const char *topic, const void *key,
                                    size_t key_len, int32_t partition_cnt,
                                    void *opaque);

/* Sets the user partitioner (NULL: none). Returns KFK_ERR_NONE or
 * KFK_ERR__INVALID_ARG (conf NULL). */
KFK_API kfk_err_t kfk_conf_set_partitioner_cb(kfk_conf_t *conf,
                                              kfk_partitioner_cb *cb,
                                              void *opaque);

/* Creates a producer from conf (copied: the caller keeps and frees conf).
 * Checks the configuration for a producer (bootstrap.servers required;
 * conflicting idempotence settings are an error naming the properties).
 * Returns NULL with a message in errstr (if non-NULL) on failure. */
KFK_API kfk_t *kfk_producer_new(const kfk_conf_t *conf, char *errstr,
                                size_t errstr_size);

/* kfk_produce flags. */
#define KFK_PRODUCE_NONBLOCK 0x1 /* QUEUE_FULL instead of waiting */

/* Queues a record. Blocks up to max.block.ms for the topic's metadata and
 * for buffer.memory (unless KFK_PRODUCE_NONBLOCK). Returns KFK_ERR_NONE
 * (a delivery report will follow), or, with no report ever:
 * KFK_ERR__QUEUE_FULL, KFK_ERR__TIMED_OUT (metadata or memory did not come
 * within max.block.ms), KFK_ERR_MESSAGE_TOO_LARGE,
 * KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION (or another error the cluster reports
 * for the topic), KFK_ERR__INVALID_ARG, KFK_ERR__STATE (after kfk_close),
 * KFK_ERR__FATAL (see kfk_fatal_error), KFK_ERR__NOMEM. */
KFK_API kfk_err_t kfk_produce(kfk_t *k, const kfk_record_t *rec, int flags);

/* Sends everything queued now (ignoring linger.ms) and serves reports
 * until every record produced before the call has been reported, or
 * timeout_ms (-1 = forever) passes. Returns KFK_ERR_NONE or
 * KFK_ERR__TIMED_OUT. */
KFK_API kfk_err_t kfk_flush(kfk_t *k, int timeout_ms);

/* kfk_purge flags. */
#define KFK_PURGE_QUEUED 0x1   /* records not yet sent */
#define KFK_PURGE_INFLIGHT 0x2 /* records sent, not yet answered */

/* Fails the records flags name with KFK_ERR__PURGED; their reports are
 * served by the next kfk_poll. A purged in-flight record may still have
 * been written by the broker (its report says PURGED either way); an
 * idempotent producer then bumps its epoch before sending more. Records
 * produced while purge runs may survive it. Does not block. Returns
 * KFK_ERR_NONE, or KFK_ERR__INVALID_ARG (not a producer, unknown flag).
 * Any thread. */
KFK_API kfk_err_t kfk_purge(kfk_t *k, int flags);

/* Records produced but not yet reported. */
KFK_API int64_t kfk_outstanding(kfk_t *k);

/* Stops accepting records, flushes for up to timeout_ms, fails what is
 * left with KFK_ERR__PURGED, and serves every remaining report. After it,
 * kfk_produce returns KFK_ERR__STATE. Returns KFK_ERR_NONE if everything
 * was delivered in time, else KFK_ERR__TIMED_OUT. */
KFK_API kfk_err_t kfk_close(kfk_t *k, int timeout_ms);


#endif
