/*
 * pidstate.h: a partition's idempotent-producer state (KIP-98): per
 * producer id the current epoch and the last five batches appended, which
 * is what the broker needs to reject out-of-order or fenced writes and to
 * answer a retried batch with its original offset instead of writing it
 * twice.
 *
 * The rules, as Apache Kafka's ProducerStateManager applies them to a
 * Produce request (docs/design.html):
 *   - producer id -1: not idempotent, no checks;
 *   - no state for the producer id: the first sequence must be 0, else
 *     KFK_ERR_UNKNOWN_PRODUCER_ID (its state may have been removed by
 *     expiry, retention or DeleteRecords; the producer then bumps its
 *     epoch, KIP-360). Kafka >= 2.5 instead accepts any sequence here; we
 *     follow the stricter, documented error;
 *   - epoch below the current: KFK_ERR_INVALID_PRODUCER_EPOCH (what Kafka
 *     answers a Produce since 2.7, transactional or not);
 *   - epoch above the current: the first sequence must be 0, else
 *     KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER; appending it forgets the old
 *     epoch's batches;
 *   - same epoch: a batch whose first and last sequence equal one of the
 *     last five is a duplicate (answered with the original offsets);
 *     otherwise the first sequence must follow the last one appended
 *     (INT32_MAX is followed by 0), else OUT_OF_ORDER_SEQUENCE_NUMBER.
 *
 * Use is two-phase: kfk__pidstate_check before appending a batch, then
 * kfk__pidstate_record once the log took it. The state is not written to
 * disk: after opening a durable log, kfk__pidstate_rebuild replays the
 * batch headers (and after kfk__plog_truncate_to too).
 *
 * Pure data structure: no clock (times are arguments), no I/O, one thread
 * at a time.
 */
#ifndef KFK_BROKER_PIDSTATE_H
#define KFK_BROKER_PIDSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/log.h"

typedef struct kfk__pidstate kfk__pidstate;

/* How many recent batches per producer are remembered for deduplication
 * (Kafka's NUM_BATCHES_TO_RETAIN, matching the client's maximum of 5
 * in-flight requests). */
#define KFK__PIDSTATE_WINDOW 5

/* Kafka's producer.id.expiration.ms default (1 day). */
#define KFK__PIDSTATE_EXPIRATION_MS (24 * 3600 * 1000LL)

/* A duplicate's original placement (for the Produce response). */
typedef struct kfk__pid_dup {
    bool duplicate;
    int64_t base_offset;
    int64_t last_offset;
    int64_t timestamp; /* the batch's max timestamp when appended */
} kfk__pid_dup;

/* What is known about one producer. */
typedef struct kfk__pid_info {
    int64_t producer_id;
    int16_t epoch;
    int32_t last_seq;       /* -1 before any batch of this epoch */
    int64_t last_offset;    /* last offset of the last batch, or -1 */
    int64_t last_timestamp; /* its max timestamp, or -1 */
    int64_t last_active_ms; /* now_ms of the last record/rebuild */
    int nbatches;           /* batches in the dedup window */
} kfk__pid_info;

/* An empty state in *out, owned by the caller (kfk__pidstate_free).
 * Returns 0 or KFK_ERR__NOMEM. */
int kfk__pidstate_new(kfk__pidstate **out);

/* Frees it. NULL is fine. */
void kfk__pidstate_free(kfk__pidstate *ps);

/* Checks a batch of count records from producer pid / epoch starting at
 * base_seq against the rules above, without changing the state (beyond
 * making room so that kfk__pidstate_record cannot fail).
 * Returns 0 and sets *dup: dup->duplicate false means "append it", true
 * means "do not append, answer success with dup's offsets". Or returns
 * KFK_ERR_UNKNOWN_PRODUCER_ID, KFK_ERR_INVALID_PRODUCER_EPOCH,
 * KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, KFK_ERR_INVALID_RECORD (count < 1)
 * or KFK_ERR__NOMEM. pid < 0 always gives 0, not a duplicate. */
int kfk__pidstate_check(kfk__pidstate *ps, int64_t pid, int16_t epoch,
                        int32_t base_seq, int32_t count, kfk__pid_dup *dup);

/* Records a batch the log appended at base_offset (its last offset is
 * base_offset + count - 1): the producer's epoch becomes epoch (a new
 * epoch forgets older batches) and the batch enters the window, pushing
 * out the oldest of five. timestamp is the batch's max timestamp; now_ms
 * marks the producer active. pid < 0 is ignored.
 * Returns 0, or KFK_ERR__NOMEM only for a producer that no successful
 * kfk__pidstate_check made room for. */
int kfk__pidstate_record(kfk__pidstate *ps, int64_t pid, int16_t epoch,
                         int32_t base_seq, int32_t count, int64_t base_offset,
                         int64_t timestamp, int64_t now_ms);

/* Records a control batch (transaction marker) of pid: a newer epoch is
 * adopted (forgetting the window); sequences are unchanged.
 * Returns 0 or KFK_ERR__NOMEM. */
int kfk__pidstate_record_marker(kfk__pidstate *ps, int64_t pid, int16_t epoch,
                                int64_t now_ms);

/* Removes producers idle (no record) for at least expiration_ms before
 * now_ms (producer.id.expiration.ms). Returns how many. */
size_t kfk__pidstate_expire(kfk__pidstate *ps, int64_t now_ms,
                            int64_t expiration_ms);

/* Removes producers whose last batch lies wholly below log_start (after
 * retention or DeleteRecords; Kafka before 2.4 did this, later versions
 * keep the state until it expires). Returns how many. */
size_t kfk__pidstate_truncate_head(kfk__pidstate *ps, int64_t log_start);

/* Forgets everything and replays the batch headers of log from its start
 * offset: data batches are recorded (count = lastOffsetDelta + 1, so a
 * compacted batch keeps its sequence range), markers adopt epochs; every
 * producer counts as active at now_ms. The log is not modified.
 * Returns 0 or KFK_ERR__NOMEM (the state is then empty). */
int kfk__pidstate_rebuild(kfk__pidstate *ps, const kfk__plog *log,
                          int64_t now_ms);

/* Number of producers with state. */
size_t kfk__pidstate_count(const kfk__pidstate *ps);

/* The state of pid into *info; false if there is none. */
bool kfk__pidstate_get(const kfk__pidstate *ps, int64_t pid,
                       kfk__pid_info *info);

/* Calls fn for every producer (DescribeProducers), in no particular
 * order. fn must not change ps. */
void kfk__pidstate_foreach(const kfk__pidstate *ps,
                           void (*fn)(const kfk__pid_info *info, void *arg),
                           void *arg);

#endif
