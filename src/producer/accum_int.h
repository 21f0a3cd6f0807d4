/*
 * accum_int.h: the accumulator's private structures, shared by its three
 * source files (accumulator.c: lifecycle, topics, memory, append;
 * accum_drain.c: readiness and draining; accum_done.c: completion,
 * expiry, purge, sequence numbers and delivery reports). Lock order and
 * thread rules are in accumulator.h.
 */
#ifndef KFK_PRODUCER_ACCUM_INT_H
#define KFK_PRODUCER_ACCUM_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "producer/accumulator.h"
#include "proto/buf.h"

/* Where a batch is in its life. */
enum {
    PB_OPEN,     /* the partition's last batch, taking appends */
    PB_CLOSED,   /* queued, no more appends */
    PB_INFLIGHT, /* drained, held by the sender */
    PB_DONE      /* completed: in the report queue (or being freed) */
};

typedef struct apart apart;

/* A batch: the sender's view first, then ours. */
typedef struct pb {
    kfk__pbatch pub;
    apart *part;
    uint64_t id;            /* creation order within the partition */
    struct pb *prev, *next; /* the partition's queue or in-flight list */
    struct pb *rnext;       /* the report queue */
    kfk__wbuf w;            /* the batch bytes */
    kfk__batch_writer bw;
    size_t reserved; /* bytes of buffer.memory held, 0 once released */
    int32_t ocap;    /* room in pub.opaques / pub.timestamps */
    int64_t retry_at;
    int64_t base_offset;
    int64_t log_append_time;
    int err;
    _Atomic int refs; /* 1, or 2 while purged in flight (report + sender) */
    uint8_t state;
    bool finished; /* header and CRC written (first drain) */
    bool reported; /* its report is queued: nothing more to report */
    /* what the bytes carry, to re-stamp after an epoch bump */
    int64_t st_pid;
    int16_t st_epoch;
    int32_t st_seq;
} pb;

static inline pb *pb_of(kfk__pbatch *b)
{
    return (pb *)b; /* pub is the first member */
}

/* A doubly linked list of batches ordered by id. */
typedef struct pblist {
    pb *head, *tail;
} pblist;

struct apart {
    pthread_mutex_t lock;
    kfk__accum_topic *topic;
    int32_t id;
    pblist q;             /* queued, oldest first; an open batch is last */
    _Atomic int32_t qlen; /* written under lock, read as a hint without */
    pblist fl;            /* in flight, by id */
    int32_t inflight;
    int32_t next_seq; /* next base sequence to hand out (idempotence) */
    uint64_t next_id;
    /* messages appended here, ever (written under lock; summed without):
     * a per-partition count keeps a shared counter off the append path */
    _Atomic int64_t appended;
    int32_t leader; /* I/O thread only: leader at the last ready() */
    /* for statistics, under lock */
    int64_t acked, acked_bytes, failed;
};

struct kfk__accum_topic {
    kfk__accum *acc;
    char *name;
    _Atomic(apart **) parts; /* parts[-1] links to the array it replaced */
    _Atomic int32_t cnt;
    pthread_mutex_t grow_lock;
    kfk__sticky sticky;
    kfk__accum_topic *next;  /* the accumulator's list (immutable once set) */
    kfk__accum_topic *hnext; /* hash chain, under the topics lock */
};

/* I/O thread: what ready() learnt about a leader. */
typedef struct anode {
    int32_t id;          /* -1: free slot */
    uint32_t round;      /* ready() round that last saw partitions for it */
    bool ready;          /* ... and a ready one */
    int64_t ready_ms;    /* last time it had a ready batch */
    int64_t drain_ms;    /* last time it was drained */
    int32_t first, last; /* chain of rparts in this round */
    uint32_t rr;         /* where the next drain_node starts */
} anode;

typedef struct rpart {
    apart *p;
    int32_t next; /* next rpart of the same node, -1 at the end */
} rpart;

struct kfk__accum {
    kfk__accum_params p;
    size_t batch_cap; /* fill limit: min(batch.size, max.request.size) */
    int32_t max_inflight;
    /* partition locks spin a little before sleeping: they are held for
     * one record copy, and a sleep costs more than that */
    pthread_mutexattr_t part_attr;

    pthread_rwlock_t topics_lock;
    kfk__accum_topic **htab; /* hash buckets, hcap a power of two */
    size_t hcap, ntopics;
    _Atomic(kfk__accum_topic *) topics;

    _Atomic int64_t mem_used;
    _Atomic int mem_waiters;
    pthread_mutex_t mem_lock;
    pthread_cond_t mem_cond;

    _Atomic bool closing;
    _Atomic int flushing;
    _Atomic bool need_bump;
    _Atomic int64_t served; /* messages whose report poll has served */
    /* The I/O thread's next planned wakeup, published by ready(); -1
     * while ready() runs (then every new batch wakes it). */
    _Atomic int64_t next_wakeup;

    pthread_mutex_t dr_lock;
    pthread_cond_t dr_cond;
    pb *dr_head, *dr_tail;

    pthread_mutex_t pool_lock;
    pb *pool_pb; /* spare batches (with their per-record arrays) */
    size_t npool_pb;
    void *pool_buf; /* spare batch_cap buffers, linked through their start */
    size_t npool_buf, max_pool_buf;

    /* I/O thread only */
    int64_t pid;
    int16_t epoch;
    uint32_t round;
    anode *nodes;
    size_t ncap, nused;
    rpart *rv;
    size_t rvn, rvcap;
    int32_t *rnodes;
    size_t rnn, rncap;
    int32_t *ld_ids, *ld_sizes;
    size_t ldcap;
};

/* ---- shared helpers (accumulator.c) -------------------------------------- */

/* The partition, or NULL if not below the topic's count. */
apart *kfk__accum_part(kfk__accum_topic *t, int32_t partition);

/* Gives back b's bytes and its buffer.memory reservation. */
void kfk__accum_release_bytes(kfk__accum *acc, pb *b);

/* Drops a reference; the last one recycles b. */
void kfk__accum_unref(kfk__accum *acc, pb *b);

/* Frees b and what it holds (destroy; pool overflow). */
void kfk__accum_pb_free(pb *b);

/* Queues a list of completed batches (chained through rnext) for poll.
 * No lock held. */
void kfk__accum_report(kfk__accum *acc, pb *first, pb *last);

/* ---- list helpers -------------------------------------------------------- */

static inline void pblist_remove(pblist *l, pb *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        l->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        l->tail = b->prev;
    b->prev = b->next = NULL;
}

static inline void pblist_push_tail(pblist *l, pb *b)
{
    b->next = NULL;
    b->prev = l->tail;
    if (l->tail)
        l->tail->next = b;
    else
        l->head = b;
    l->tail = b;
}

/* Inserts b keeping the list ordered by id, searching from the tail (new
 * in-flight batches) or the head (retries). */
static inline void pblist_insert_sorted(pblist *l, pb *b, bool from_head)
{
    pb *after = NULL; /* insert after this one; NULL: at the head */
    if (from_head) {
        pb *c = l->head;
        while (c && c->id < b->id) {
            after = c;
            c = c->next;
        }
    } else {
        after = l->tail;
        while (after && after->id > b->id)
            after = after->prev;
    }
    b->prev = after;
    b->next = after ? after->next : l->head;
    if (b->next)
        b->next->prev = b;
    else
        l->tail = b;
    if (after)
        after->next = b;
    else
        l->head = b;
}

/* Kafka's DefaultRecordBatch.incrementSequence: sequences wrap to 0 after
 * INT32_MAX. */
static inline int32_t seq_add(int32_t seq, int32_t n)
{
    if (seq > INT32_MAX - n)
        return n - (INT32_MAX - seq) - 1;
    return seq + n;
}

static inline int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* a + b without overflow past INT64_MAX (deadlines far away). */
static inline int64_t add_sat(int64_t a, int64_t b)
{
    return b > 0 && a > INT64_MAX - b ? INT64_MAX : a + b;
}

#endif
