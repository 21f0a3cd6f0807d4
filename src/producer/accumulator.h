/*
 * accumulator.h: the producer's record accumulator. Application threads
 * append records straight into their partition's open batch; the I/O
 * thread asks which leaders have batches ready, drains them as finished
 * record batches for Produce requests, and completes them when the
 * responses come back; completed batches become delivery reports that the
 * application's poll serves. No sockets, no clocks of its own (every call
 * that needs the time takes a monotonic now in milliseconds, the clock of
 * kfk__now_ms), no configuration parsing.
 *
 * Life of a batch (kfk__pbatch):
 *
 *   open  -- records appended (app threads) --> closed (full, lingered,
 *   flushed) -- kfk__accum_drain_* (I/O thread): compressed, sequenced,
 *   CRC'd --> in flight (held by the sender) -- kfk__accum_complete_ok /
 *   _fail --> report queue -- kfk__accum_poll (app thread) --> gone.
 *   kfk__accum_complete_retry puts an in-flight batch back at the head of
 *   its partition's queue, in creation order, with its sequence numbers.
 *
 * Guarantees:
 *   - Every appended record gets exactly one delivery report: success, a
 *     broker error, KFK_ERR__TIMED_OUT (delivery.timeout.ms), or
 *     KFK_ERR__PURGED (kfk__accum_purge) - never two, never none, as long
 *     as the sender completes every batch it drained and the application
 *     polls.
 *   - Per partition, batches are drained in append order; with idempotence
 *     at most max_inflight (<= 5) are in flight, and a retried batch goes
 *     out again only when no older batch of its partition is in flight.
 *   - buffer.memory bounds the bytes reserved by batches from their first
 *     append until they are completed (each batch reserves max(batch.size,
 *     its first record) up front, as Java's buffer pool does). Besides,
 *     up to 64 spare batch.size buffers (at most a quarter of
 *     buffer.memory) and 256 spare batch structures are kept for reuse,
 *     and per-record arrays (16 bytes a record) are not counted.
 *   - Batches fill by uncompressed size: a compressed batch goes out
 *     smaller than batch.size (Java estimates the compression ratio).
 *
 * Threads and locks. Append, purge, poll, wait_* and the counters may be
 * called from any thread; ready, drain, expire, complete and
 * set_producer from the I/O thread only (one drainer). Locks, in the order
 * they may be taken (a thread holding one never waits for an earlier one):
 *   1. topics lock (rwlock): topic table lookups and inserts only;
 *   2. a topic's grow lock: growing its partition array;
 *   3. a partition's lock: its queue, open batch, in-flight list and
 *      sequence numbers; the only lock on the append hot path;
 *   4. the topic's sticky lock (partitioner.c): switching partitions;
 *   5. leaf locks, never held while taking another: the pool lock (spare
 *      batches and buffers), the memory lock (waiters for buffer.memory),
 *      the report lock (report queue).
 * Partition arrays only grow; old arrays are kept until destroy, so
 * readers index them without a lock. Topics are never removed.
 * No callback runs with a lock held (the leader callback, the user
 * partitioner, on_report, report callbacks), except an injected random
 * number source, which runs under the sticky lock.
 */
#ifndef KFK_PRODUCER_ACCUMULATOR_H
#define KFK_PRODUCER_ACCUMULATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "producer/partitioner.h"
#include "proto/compress.h"
#include "proto/record.h"

typedef struct kfk__accum kfk__accum;
typedef struct kfk__accum_topic kfk__accum_topic;
typedef struct kfk__pbatch kfk__pbatch;

/* ---- creation ------------------------------------------------------------ */

typedef struct kfk__accum_params {
    int32_t batch_size;       /* batch.size; < 1 is taken as 1 (no batching) */
    int64_t linger_ms;        /* linger.ms */
    int64_t buffer_memory;    /* buffer.memory */
    int32_t max_request_size; /* max.request.size */
    int codec;                /* kfk__codec (compression.type) */
    int level;                /* compression level or KFK__LEVEL_DEFAULT */
    bool idempotence;         /* enable.idempotence */
    bool transactional;       /* batches carry the transactional bit */
    /* Batches of one partition in flight at once; 0 = no limit. With
     * idempotence it is clamped to 1..5 (0 means 5). */
    int32_t max_inflight;
    int64_t delivery_timeout_ms;     /* delivery.timeout.ms */
    int64_t availability_timeout_ms; /* partitioner.availability.timeout.ms */
    kfk__partitioner partitioner;    /* sticky_bytes is set to batch_size */
    /* Called (any thread, no lock held) when the report queue goes from
     * empty to non-empty, e.g. to wake a poll. NULL: none. */
    void (*on_report)(void *arg);
    void *on_report_arg;
} kfk__accum_params;

/* The Java 4.0 client's defaults: batch.size 16384, linger.ms 5,
 * buffer.memory 32 MiB, max.request.size 1 MiB, no compression,
 * idempotence on (5 in flight), delivery.timeout.ms 120000, availability
 * timeout 0 (off), partitioner defaults. */
void kfk__accum_params_init(kfk__accum_params *p);

/* Creates an accumulator in *out with a copy of *p. Returns 0,
 * KFK_ERR__INVALID_ARG (bad codec/level, buffer_memory or max_request_size
 * < 1, negative times), KFK_ERR__NOMEM or KFK_ERR__SYSTEM. */
int kfk__accum_new(kfk__accum **out, const kfk__accum_params *p);

/* Frees the accumulator and everything still in it: queued and in-flight
 * batches (the sender must be done with them: call it after the I/O
 * thread stopped) and unpolled reports, without reporting them. To report
 * every message, kfk__accum_purge and kfk__accum_poll first. NULL is fine.
 */
void kfk__accum_destroy(kfk__accum *acc);

/* ---- topics -------------------------------------------------------------- */

/* The topic named name, created (with 0 partitions) if new, into *out.
 * The handle lives as long as the accumulator; callers should keep it
 * rather than look it up per record. Returns 0, KFK_ERR__INVALID_ARG
 * (empty name) or KFK_ERR__NOMEM. Any thread. */
int kfk__accum_topic_get(kfk__accum *acc, const char *name,
                         kfk__accum_topic **out);

/* Sets the topic's partition count (from metadata). Counts only grow; a
 * smaller count is ignored. Returns 0 or KFK_ERR__NOMEM. Any thread. */
int kfk__accum_topic_set_partitions(kfk__accum_topic *t, int32_t cnt);

int32_t kfk__accum_topic_partitions(const kfk__accum_topic *t);
const char *kfk__accum_topic_name(const kfk__accum_topic *t);

/* ---- appending (application threads) ------------------------------------- */

typedef struct kfk__accum_rec {
    const void *key; /* NULL when key_len is -1 */
    int32_t key_len; /* -1 = null key */
    const void *value;
    int32_t value_len; /* -1 = null value */
    const kfk__rec_header *headers;
    size_t header_count;
    int64_t timestamp; /* CreateTime, ms since the epoch (already resolved) */
    void *opaque;      /* handed back in the delivery report */
} kfk__accum_rec;

typedef struct kfk__accum_result {
    int32_t partition; /* where the record went */
    /* The I/O thread should be woken: a batch just became ready (full), or
     * a new batch must be lingered on and the I/O thread may sleep past
     * its linger deadline. May be set even when append fails (a full
     * batch was closed before the record found no room). */
    bool wakeup;
    /* On KFK_ERR__QUEUE_FULL: bytes of buffer.memory the record needs
     * (pass to kfk__accum_wait_memory). */
    size_t need;
} kfk__accum_result;

/* Appends one record to topic t: to partition, or with KFK__PARTITION_ANY
 * to the partition the partitioner picks (user callback, key hash, or the
 * sticky partition). Key, value and headers are copied once, into the
 * batch; the caller keeps ownership of them and of opaque. now is the
 * monotonic clock (linger and delivery timeouts start from it).
 * Returns 0, or (and then the record is not queued and will not be
 * reported):
 *   KFK_ERR_MESSAGE_TOO_LARGE     the record alone, as a batch, exceeds
 *                                 max.request.size or buffer.memory;
 *   KFK_ERR__QUEUE_FULL           buffer.memory is used up (res->need);
 *   KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION  partition is not below the
 *                                 topic's count, or the count is 0;
 *   KFK_ERR__INVALID_ARG          a length below -1, a null header key, a
 *                                 user partitioner out of range;
 *   KFK_ERR__DESTROYED            kfk__accum_close was called;
 *   KFK_ERR__NOMEM.
 * res may be NULL. Any thread. */
int kfk__accum_append(kfk__accum *acc, kfk__accum_topic *t, int32_t partition,
                      const kfk__accum_rec *rec, int64_t now,
                      kfk__accum_result *res);

/* Blocks until buffer.memory has need bytes free (0: one batch.size), the
 * accumulator is closed, or deadline_ms (monotonic) passes. Returns 0,
 * KFK_ERR__TIMED_OUT or KFK_ERR__DESTROYED. While a thread waits, every
 * partition counts as ready (so memory gets freed): the caller should wake
 * the I/O thread before waiting. Any thread. */
int kfk__accum_wait_memory(kfk__accum *acc, size_t need, int64_t deadline_ms);

/* Bytes of buffer.memory reserved right now. Any thread. */
int64_t kfk__accum_memory_used(const kfk__accum *acc);

/* ---- flush and close ----------------------------------------------------- */

/* While at least one flush is in progress every partition counts as ready
 * regardless of linger.ms. Any thread; wake the I/O thread after begin. */
void kfk__accum_flush_begin(kfk__accum *acc);
void kfk__accum_flush_end(kfk__accum *acc);

/* No more appends (KFK_ERR__DESTROYED); every partition counts as ready;
 * memory waiters return. Any thread; wake the I/O thread after it. */
void kfk__accum_close(kfk__accum *acc);

/* Messages appended whose report has not been served by kfk__accum_poll
 * yet (queued, in flight, or waiting in the report queue). 0 means a
 * flush is complete. Any thread. */
int64_t kfk__accum_pending(const kfk__accum *acc);

/* ---- the I/O thread: readiness and draining ------------------------------ */

/* The leader broker of a partition, or -1 if unknown. */
typedef int32_t kfk__accum_leader_fn(void *arg, const char *topic,
                                     int32_t partition);

typedef struct kfk__accum_readiness {
    const int32_t *nodes; /* leaders with a batch ready; owned by acc,
                             valid until the next kfk__accum_ready */
    size_t node_cnt;
    /* When something not ready now becomes ready or expires (linger,
     * retry backoff, delivery timeout): call again by then. INT64_MAX if
     * nothing is waiting. */
    int64_t next_ms;
    bool unknown_leader; /* a partition with data has no known leader */
} kfk__accum_readiness;

/* Looks at every partition's queue: a partition is ready when its first
 * batch is full (or not the only one), has lingered linger.ms since its
 * first record, or a flush, a close or a memory waiter is in progress -
 * and it is not backing off a retry, at its in-flight limit, waiting for
 * an older batch to come back (idempotence), or waiting for a producer id
 * (idempotence: kfk__accum_set_producer). Partitions whose leader is
 * unknown are skipped (out->unknown_leader). Also publishes each topic's
 * load (queue sizes of available partitions) to its sticky partitioner.
 * leader is called for every partition, without locks held.
 * Returns 0 or KFK_ERR__NOMEM (out is then still valid but may miss
 * nodes; next_ms is now). I/O thread. */
int kfk__accum_ready(kfk__accum *acc, int64_t now, kfk__accum_leader_fn *leader,
                     void *leader_arg, kfk__accum_readiness *out);

/* One batch to send. Its fields are the sender's to read while it holds
 * the batch (from drain until it completes it); the accumulator allocates
 * it inside a larger private structure, so never copy one. */
struct kfk__pbatch {
    const uint8_t *data; /* the finished record batch (magic 2) */
    size_t size;
    kfk__accum_topic *topic;
    const char *topic_name;
    int32_t partition;
    int32_t count;      /* records */
    int64_t created_ms; /* monotonic time of the first append */
    int32_t attempts;   /* times drained, 1 on the first send */
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence; /* -1 without idempotence */
    /* Per record i (count of each): what its report needs. The record's
     * offset delta is i: records are appended with consecutive deltas. */
    void **opaques;
    int64_t *timestamps;
    kfk__pbatch *next; /* chains drain's output; free for the sender's use
                          while it holds the batch */
};

/* Drains at most one batch of the partition, if it can go now (ignoring
 * linger: a leader being sent to takes whatever its partitions have; not
 * past the in-flight limit, retry backoff or sequence order). The batch is
 * closed to appends, compressed with z (the drainer's; may be NULL),
 * stamped with the producer id, epoch and next sequence (first drain), and
 * its CRC computed. *out is the batch or NULL. Returns 0, or
 * KFK_ERR__NOMEM (the batch stays queued; try again later), or
 * KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION. I/O thread. */
int kfk__accum_drain_partition(kfk__accum *acc, kfk__accum_topic *t,
                               int32_t partition, int64_t now, kfk__zctx *z,
                               kfk__pbatch **out);

/* Drains one batch from each partition led by node (as the last
 * kfk__accum_ready saw it) until max_bytes would be exceeded (the first
 * batch is taken whatever its size), starting where the previous drain of
 * this node stopped. *out is a list chained through ->next, or NULL.
 * Returns 0, or KFK_ERR__NOMEM with *out holding what was drained before
 * the failure. I/O thread. */
int kfk__accum_drain_node(kfk__accum *acc, int32_t node, size_t max_bytes,
                          int64_t now, kfk__zctx *z, kfk__pbatch **out);

/* ---- the I/O thread: completion ------------------------------------------ */

/* The broker wrote the batch at base_offset (-1 if unknown, e.g. a
 * duplicate); log_append_time is the broker's timestamp for a
 * LogAppendTime topic, else -1. Reports success for each record. The
 * sender must not touch b afterwards. I/O thread. */
void kfk__accum_complete_ok(kfk__accum *acc, kfk__pbatch *b,
                            int64_t base_offset, int64_t log_append_time);

/* The batch failed for good with err: reports err for each record. With
 * idempotence a failed batch that had a sequence leaves a gap, so draining
 * stops until the producer epoch is bumped (kfk__accum_need_epoch_bump).
 * I/O thread. */
void kfk__accum_complete_fail(kfk__accum *acc, kfk__pbatch *b, int err);

/* The batch may be sent again: back at the head of its partition's queue,
 * in creation order, keeping its sequence numbers; not drained before
 * retry_at_ms (monotonic: the sender's backoff). If delivery.timeout.ms
 * has passed since its first append it fails instead, with
 * KFK_ERR__TIMED_OUT. Returns 0 (requeued) or the error reported. A batch
 * purged while in flight is just released. I/O thread. */
int kfk__accum_complete_retry(kfk__accum *acc, kfk__pbatch *b, int64_t now,
                              int64_t retry_at_ms);

/* Fails queued batches (not in flight) whose first append was at least
 * delivery.timeout.ms ago, oldest first per partition, with
 * KFK_ERR__TIMED_OUT. Returns the number of records failed. I/O thread. */
int64_t kfk__accum_expire(kfk__accum *acc, int64_t now);

/* ---- idempotence --------------------------------------------------------- */

/* Sets the producer id and epoch for batches drained from now on, and
 * renumbers every partition's unfinished sequenced batches (in flight or
 * queued for retry) from sequence 0 in order; retried batches are
 * re-stamped when drained again (KIP-360 epoch bump). Call it with
 * nothing in flight, as Java does. Clears the epoch-bump flag. I/O
 * thread. */
void kfk__accum_set_producer(kfk__accum *acc, int64_t producer_id,
                             int16_t producer_epoch);

/* True once a batch that had a sequence number failed (expiry, purge,
 * fatal error): sequences have a gap, nothing more is drained until
 * kfk__accum_set_producer. Any thread. */
bool kfk__accum_need_epoch_bump(const kfk__accum *acc);

/* ---- statistics ----------------------------------------------------------- */

typedef struct kfk__accum_part_stats {
    const char *topic;
    int32_t partition;
    int32_t leader; /* as the sender last saw it; -1 unknown */
    int64_t queued_msgs, queued_bytes; /* not yet sent (open batch too) */
    int64_t inflight_msgs;
    int32_t inflight_batches;
    int64_t acked_msgs, acked_bytes; /* ever */
    int64_t failed_msgs;             /* ever, purges included */
} kfk__accum_part_stats;

typedef void kfk__accum_stats_cb(const kfk__accum_part_stats *st, void *arg);

/* Calls cb with each partition's counters, topic by topic (each under its
 * partition's lock, so consistent per partition). Any thread. */
void kfk__accum_stats(kfk__accum *acc, kfk__accum_stats_cb *cb, void *arg);

/* ---- purge and reports --------------------------------------------------- */

/* Reports KFK_ERR__PURGED for every message queued (in_queue: including
 * open batches) and/or in flight (in_flight: reported now; the sender
 * still completes those batches, which then only releases them). Appends
 * racing with the purge may survive it. Returns the number of messages
 * purged. Any thread. */
int64_t kfk__accum_purge(kfk__accum *acc, bool in_queue, bool in_flight);

/* The same with another error (KFK_ERR__FATAL once the producer cannot go
 * on). */
int64_t kfk__accum_fail_all(kfk__accum *acc, bool in_queue, bool in_flight,
                            int err);

/* One message's delivery report. */
typedef struct kfk__dr {
    void *opaque;
    const char *topic;
    int32_t partition;
    int64_t offset;    /* -1 on error or when the broker did not say */
    int64_t timestamp; /* CreateTime, or the broker's LogAppendTime */
    int err;           /* 0 or a kfk_err_t */
} kfk__dr;

typedef void kfk__dr_cb(const kfk__dr *dr, void *arg);

/* Serves reports: calls cb once per message, batch by batch in completion
 * order, until at least max (0: no limit) messages were served (whole
 * batches, so up to a batch more) or none are left. cb may be NULL (the
 * reports are dropped). cb runs on the calling thread with no
 * lock held; it may append. Returns the number served. Any thread. */
size_t kfk__accum_poll(kfk__accum *acc, size_t max, kfk__dr_cb *cb, void *arg);

/* Blocks until a report is queued or deadline_ms (monotonic) passes.
 * Returns 0 (reports available) or KFK_ERR__TIMED_OUT. Any thread. */
int kfk__accum_wait_reports(kfk__accum *acc, int64_t deadline_ms);

#endif
