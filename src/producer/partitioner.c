/*
 * partitioner.c: Java-compatible partition choice (see partitioner.h).
 *
 * The sticky state is two 64-bit atomics so the common case (append to
 * the current sticky partition, count the bytes) takes no lock: a peek is
 * a load, the byte count a compare-and-swap that gives up when the
 * generation moved on. The mutex is taken only to switch partitions and to
 * publish load information, both about once per batch.
 */
#include "producer/partitioner.h"

#include <kfk/error.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "producer/murmur2.h"

#define NONE 0xffffffffu

void kfk__partitioner_init(kfk__partitioner *pt)
{
    memset(pt, 0, sizeof(*pt));
    pt->sticky_bytes = 16384;
    pt->adaptive = true;
}

int kfk__partitioner_pick(const kfk__partitioner *pt, const char *topic,
                          const void *key, int32_t key_len,
                          int32_t partition_cnt, int32_t *partition)
{
    if (partition_cnt < 1 || key_len < -1)
        return KFK_ERR__INVALID_ARG;
    if (pt->cb) {
        const void *k = key_len >= 0 ? (key ? key : "") : NULL;
        size_t klen = key_len > 0 ? (size_t)key_len : 0;
        int32_t p = pt->cb(topic, k, klen, partition_cnt, pt->cb_opaque);
        if (p < -1 || p >= partition_cnt)
            return KFK_ERR__INVALID_ARG;
        if (p >= 0) {
            *partition = p;
            return 0;
        }
    }
    if (key_len >= 0 && !pt->ignore_keys) {
        *partition = kfk__murmur2_partition(key_len ? key : "", (size_t)key_len,
                                            partition_cnt);
        return 0;
    }
    *partition = KFK__PARTITION_ANY;
    return 0;
}

/* ---- random numbers ------------------------------------------------------ */

static _Thread_local uint64_t tl_rng;
static _Atomic uint64_t rng_seeds;

/* xorshift64*, seeded per thread from the clock, the thread's own state
 * address and a process-wide counter. Not cryptographic; spreads load. */
static uint32_t builtin_rng(void *state)
{
    (void)state;
    uint64_t x = tl_rng;
    if (!x) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
            (uint64_t)(uintptr_t)&tl_rng ^
            atomic_fetch_add(&rng_seeds, 0x632be59bd9b4e019ull);
        if (!x)
            x = 0x2545f4914f6cdd1dull;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    tl_rng = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t random_u31(const kfk__partitioner *pt)
{
    uint32_t r = pt->rng ? pt->rng(pt->rng_state) : builtin_rng(NULL);
    return r & 0x7fffffffu; /* Java's Utils.toPositive */
}

/* ---- sticky -------------------------------------------------------------- */

int kfk__sticky_init(kfk__sticky *s)
{
    memset(s, 0, sizeof(*s));
    atomic_init(&s->cur, (uint64_t)NONE);
    atomic_init(&s->produced, 0);
    if (pthread_mutex_init(&s->lock, NULL))
        return KFK_ERR__SYSTEM;
    return 0;
}

void kfk__sticky_destroy(kfk__sticky *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    kfk__free(s->ids);
    kfk__free(s->cft);
    s->ids = NULL;
    s->cft = NULL;
}

/* BuiltInPartitioner.nextPartition. Called with s->lock held. */
static int32_t next_partition(kfk__sticky *s, const kfk__partitioner *pt,
                              int32_t cnt)
{
    uint32_t r = random_u31(pt);
    int32_t p = -1;
    if (s->n > 0 && s->weighted) {
        uint32_t x = r % s->cft[s->n - 1];
        /* the first entry strictly greater than x */
        int32_t lo = 0, hi = s->n - 1;
        while (lo < hi) {
            int32_t mid = lo + (hi - lo) / 2;
            if (s->cft[mid] > x)
                hi = mid;
            else
                lo = mid + 1;
        }
        p = s->ids[lo];
    } else if (s->n > 0) {
        p = s->ids[r % (uint32_t)s->n];
    }
    if (p < 0 || p >= cnt) /* nothing known, or stale ids */
        p = (int32_t)(r % (uint32_t)cnt);
    return p;
}

/* Called with s->lock held. The byte count is reset before the new
 * partition is published, so whoever sees the new generation in cur also
 * sees its counter. */
static void switch_locked(kfk__sticky *s, const kfk__partitioner *pt,
                          int32_t cnt)
{
    uint64_t gen = (atomic_load(&s->cur) >> 32) + 1;
    int32_t p = next_partition(s, pt, cnt);
    atomic_store(&s->produced, gen << 32);
    atomic_store(&s->cur, gen << 32 | (uint32_t)p);
}

uint64_t kfk__sticky_peek(kfk__sticky *s, const kfk__partitioner *pt,
                          int32_t partition_cnt)
{
    uint64_t w = atomic_load_explicit(&s->cur, memory_order_acquire);
    uint32_t p = (uint32_t)w;
    if (p != NONE && p < (uint32_t)partition_cnt)
        return w;
    pthread_mutex_lock(&s->lock);
    w = atomic_load(&s->cur);
    p = (uint32_t)w;
    if (p == NONE || p >= (uint32_t)partition_cnt) {
        switch_locked(s, pt, partition_cnt);
        w = atomic_load(&s->cur);
    }
    pthread_mutex_unlock(&s->lock);
    return w;
}

void kfk__sticky_update(kfk__sticky *s, const kfk__partitioner *pt,
                        uint64_t token, int32_t bytes, bool enable_switch,
                        int32_t partition_cnt)
{
    uint64_t gen = token >> 32;
    uint64_t w = atomic_load(&s->produced);
    uint64_t n;
    do {
        if (w >> 32 != gen)
            return; /* switched meanwhile: these bytes count for nobody */
        n = (uint32_t)w + (uint64_t)(bytes > 0 ? bytes : 0);
        if (n > 0xffffffffu)
            n = 0xffffffffu;
    } while (!atomic_compare_exchange_weak(&s->produced, &w, gen << 32 | n));

    uint64_t limit = pt->sticky_bytes > 0 ? (uint64_t)pt->sticky_bytes : 1;
    if (!((n >= limit && enable_switch) || n >= 2 * limit))
        return;
    pthread_mutex_lock(&s->lock);
    if (atomic_load(&s->cur) == token)
        switch_locked(s, pt, partition_cnt);
    pthread_mutex_unlock(&s->lock);
}

int kfk__sticky_set_load(kfk__sticky *s, const kfk__partitioner *pt,
                         const int32_t *ids, const int32_t *queue_sizes,
                         int32_t n, int32_t partition_cnt)
{
    int err = 0;
    pthread_mutex_lock(&s->lock);
    if (n > s->cap) {
        int32_t cap = s->cap ? s->cap : 8;
        while (cap < n)
            cap = cap > INT32_MAX / 2 ? n : cap * 2;
        int32_t *nids = kfk__malloc((size_t)cap * sizeof(*nids));
        uint32_t *ncft = kfk__malloc((size_t)cap * sizeof(*ncft));
        if (!nids || !ncft) {
            kfk__free(nids);
            kfk__free(ncft);
            s->n = 0;
            err = KFK_ERR__NOMEM;
            goto out;
        }
        kfk__free(s->ids);
        kfk__free(s->cft);
        s->ids = nids;
        s->cft = ncft;
        s->cap = cap;
    }
    s->n = n > 0 ? n : 0;
    s->weighted = false;
    if (s->n == 0)
        goto out;
    memcpy(s->ids, ids, (size_t)n * sizeof(*ids));

    /* Java's updatePartitionLoadStats: weight = max + 1 - size, as a
     * running sum, unless every queue is the same (then uniform). */
    int64_t max = queue_sizes[0];
    bool equal = true;
    for (int32_t i = 1; i < n; i++) {
        if (queue_sizes[i] != queue_sizes[0])
            equal = false;
        if (queue_sizes[i] > max)
            max = queue_sizes[i];
    }
    if (!pt->adaptive || equal || partition_cnt < 2)
        goto out;
    uint64_t sum = 0;
    for (int32_t i = 0; i < n; i++) {
        int64_t q = queue_sizes[i] < 0 ? 0 : queue_sizes[i];
        sum += (uint64_t)(max + 1 - q);
        s->cft[i] = sum > 0x7fffffffu ? 0x7fffffffu : (uint32_t)sum;
    }
    s->weighted = true;
out:
    pthread_mutex_unlock(&s->lock);
    return err;
}
