/*
 * partitioner.h: which partition a record without an explicit partition
 * goes to, the way the Java client (4.0) decides it.
 *
 *   1. A user callback, if set, is asked first; -1 means "use the default".
 *   2. A keyed record (unless partitioner.ignore.keys) goes to
 *      toPositive(murmur2(key)) % partition_cnt over ALL partitions, so
 *      keyed data lands where a Java producer would put it.
 *   3. A record without a key goes to the topic's sticky partition
 *      (KIP-480/794): the producer stays on one partition until about
 *      batch.size bytes were produced to it, then picks the next one at
 *      random among the available partitions (leader known, and not stuck
 *      longer than partitioner.availability.timeout.ms), weighted towards
 *      short queues when adaptive partitioning is on (Java's
 *      BuiltInPartitioner: weight = max queue size + 1 - queue size).
 *
 * A record whose caller names a partition bypasses all of this.
 *
 * kfk__partitioner is immutable configuration. kfk__sticky is the per-topic
 * state of step 3; the record accumulator owns one per topic and drives it
 * (peek before locking the partition, check and update under the
 * partition's lock), and feeds it the queue sizes it sees when it looks
 * for ready partitions. Peeking is one atomic load; counting produced bytes
 * one compare-and-swap; only choosing a new partition takes the sticky's
 * lock (about once per batch).
 */
#ifndef KFK_PRODUCER_PARTITIONER_H
#define KFK_PRODUCER_PARTITIONER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "No partition given / let the partitioner choose". */
#define KFK__PARTITION_ANY (-1)

/* A random number source: 32 random bits per call. Called from whichever
 * thread switches a sticky partition, so it must be thread-safe unless
 * only one thread produces (tests inject a seeded one). */
typedef uint32_t kfk__rng_fn(void *state);

/* A user partitioner: the partition (0 .. partition_cnt-1) for this
 * record, or -1 for "use the default". key is NULL (key_len 0) for a
 * record without a key. Runs on the producing application thread, with no
 * kfk lock held. */
typedef int32_t kfk__partitioner_cb(const char *topic, const void *key,
                                    size_t key_len, int32_t partition_cnt,
                                    void *opaque);

typedef struct kfk__partitioner {
    int32_t sticky_bytes; /* batch.size: bytes before a sticky switch (>= 1) */
    bool ignore_keys;     /* partitioner.ignore.keys */
    bool adaptive;        /* partitioner.adaptive.partitioning.enable */
    kfk__partitioner_cb *cb; /* NULL: none */
    void *cb_opaque;
    kfk__rng_fn *rng; /* NULL: a built-in per-thread generator */
    void *rng_state;
} kfk__partitioner;

/* The Java client's defaults: sticky_bytes 16384, keys used, adaptive on,
 * no callback, built-in random numbers. */
void kfk__partitioner_init(kfk__partitioner *pt);

/* Steps 1 and 2: the partition for a record of topic with this key
 * (key_len -1 = no key; key may be NULL when key_len <= 0) into
 * *partition, or KFK__PARTITION_ANY when the sticky partition should be
 * used (step 3, kfk__sticky_peek).
 * Returns 0, KFK_ERR__INVALID_ARG (partition_cnt < 1, key_len < -1, or the
 * user callback returned a partition outside -1 .. partition_cnt-1).
 * Any thread. */
int kfk__partitioner_pick(const kfk__partitioner *pt, const char *topic,
                          const void *key, int32_t key_len,
                          int32_t partition_cnt, int32_t *partition);

/* ---- the sticky partition (one per topic) -------------------------------- */

typedef struct kfk__sticky {
    pthread_mutex_t lock; /* switching, and the load table below */
    int32_t *ids;         /* available partitions, n of them */
    uint32_t *cft;        /* cumulative weights when weighted */
    int32_t n, cap;
    bool weighted;
    /* The hot pair, kept off the cache line of the lock and the table (the
     * I/O thread takes the lock for every load update). */
    char pad_[64];
    /* generation << 32 | partition (0xffffffff: none chosen yet). The
     * generation tells a stale peek from a switch back to the same
     * partition. */
    _Atomic uint64_t cur;
    /* generation << 32 | bytes produced to it (saturating). */
    _Atomic uint64_t produced;
    char pad2_[64 - 2 * sizeof(uint64_t)];
} kfk__sticky;

/* Initialises s (no partition chosen, no load information: uniform over
 * all partitions). Returns 0 or KFK_ERR__SYSTEM (mutex). */
int kfk__sticky_init(kfk__sticky *s);

/* Frees what s holds. NULL is fine. */
void kfk__sticky_destroy(kfk__sticky *s);

/* The current sticky choice as a token (the partition is
 * kfk__sticky_partition(token)); chooses one first if none was chosen or
 * the chosen one is not below partition_cnt (>= 1). Any thread. */
uint64_t kfk__sticky_peek(kfk__sticky *s, const kfk__partitioner *pt,
                          int32_t partition_cnt);

static inline int32_t kfk__sticky_partition(uint64_t token)
{
    return (int32_t)(uint32_t)token;
}

/* True if another thread switched since token was peeked. Java checks this
 * under the partition's lock before appending, and retries if so. */
static inline bool kfk__sticky_changed(kfk__sticky *s, uint64_t token)
{
    return atomic_load_explicit(&s->cur, memory_order_acquire) != token;
}

/* Counts bytes appended to token's partition (ignored if token is stale)
 * and switches to a new partition once sticky_bytes were produced and
 * enable_switch is set (the partition's last batch is full, so the switch
 * falls on a batch boundary), or once 2 * sticky_bytes were produced in any
 * case. bytes may be 0 to complete a switch that was held back. Call it
 * under the partition's lock, as Java does. Any thread. */
void kfk__sticky_update(kfk__sticky *s, const kfk__partitioner *pt,
                        uint64_t token, int32_t bytes, bool enable_switch,
                        int32_t partition_cnt);

/* Publishes the load the next switches choose by (the accumulator calls it
 * after each look at the queues): ids[0..n) are the available partitions
 * and queue_sizes[i] the number of batches queued for ids[i];
 * partition_cnt is the topic's total. n 0 means "nothing known" (uniform
 * over all partitions). With pt->adaptive off, or all queues equal, the
 * choice is uniform over ids; otherwise weighted as above.
 * Returns 0 or KFK_ERR__NOMEM (then s forgets its load information and
 * chooses uniformly over all partitions). Any thread. */
int kfk__sticky_set_load(kfk__sticky *s, const kfk__partitioner *pt,
                         const int32_t *ids, const int32_t *queue_sizes,
                         int32_t n, int32_t partition_cnt);

#endif
