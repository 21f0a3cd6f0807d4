/*
 * consumer_int.h: the consumer's shared state (consumer.c: the public
 * calls and poll; fetcher.c: fetching and offset lookups on the I/O
 * thread; offsets.c: the coordinator, commits and committed offsets;
 * group.c: group membership).
 *
 * Threads and locks. One mutex, cs->mu, guards the partitions (toppars),
 * the queue of fetched chunks, the queue of application events and the
 * group's shared fields. The I/O thread takes it around each step; the
 * application takes it briefly in poll (to take a chunk, to publish
 * positions) and in the other calls. Decoding records happens on the
 * polling thread without the lock, from a chunk it took off the queue.
 * cs->poll_mu serialises polls (and the messages they hand out).
 *
 * A toppar is never freed before the consumer: chunks and in-flight
 * requests may point at it after it is unassigned. Every change of
 * where a partition reads (assign, seek, reset, truncation) bumps its
 * version; chunks and responses from an older version are dropped.
 */
#ifndef KFK_CONSUMER_CONSUMER_INT_H
#define KFK_CONSUMER_CONSUMER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <kfk/consumer.h>

#include "client/handle.h"
#include "proto/compress.h"
#include "proto/msgset.h"
#include "proto/record.h"

/* Where a partition's fetching stands (I/O thread, under mu). */
enum {
    TP_NEED_OFFSET, /* start from tp->spec: look it up */
    TP_LOOKUP,      /* an offset lookup is in flight */
    TP_ACTIVE,      /* fetching from fetch_pos */
    TP_STOPPED      /* an error the application must act on (seek) */
};

typedef struct kfk__toppar kfk__toppar;
struct kfk__toppar {
    kfk__toppar *next; /* every toppar the consumer ever had */
    char *topic;
    int32_t partition;
    bool assigned;
    bool paused;
    uint32_t version;
    uint64_t assigned_seq; /* the group's rebalance event that assigned it */
    /* fetching (I/O thread) */
    int fstate;
    int64_t spec;      /* TP_NEED_OFFSET: KFK_OFFSET_* or an offset */
    int64_t fetch_pos; /* next offset to fetch */
    int32_t fetch_epoch; /* leader epoch of the last fetched batch, -1 */
    int nchunks;       /* chunks queued for the application */
    bool in_session_fetch; /* part of an in-flight Fetch */
    int64_t retry_at;  /* monotonic ms: no fetch or lookup before */
    int failures;
    int64_t hw, lso, log_start; /* from the last fetch; -1 unknown */
    bool eof_sent;
    /* consuming (application, under mu) */
    int64_t app_pos; /* next offset poll returns; -1 unknown */
    int32_t app_epoch;
    int64_t committed; /* last offset committed by us or fetched; -1 */
    int64_t consumed;  /* app_pos when the last poll began: auto-commit's */
    int32_t consumed_epoch;
};

/* A fetch response's frame, shared by the chunks cut from it. */
typedef struct kfk__fbuf {
    atomic_int refs;
    uint8_t *frame;
} kfk__fbuf;

typedef struct kfk__aborted {
    int64_t pid, first_offset;
} kfk__aborted;

/* Fetched records of one partition (or, with err set, an event about
 * it), queued for poll. */
typedef struct kfk__chunk {
    struct kfk__chunk *next;
    kfk__toppar *tp;
    uint32_t version;
    kfk__fbuf *fb;
    const uint8_t *records;
    size_t len;
    int64_t offset; /* the fetch offset (or the event's offset) */
    int err;
    char errstr[160];
    kfk__aborted *aborted; /* read_committed: sorted by first_offset */
    int32_t naborted;
} kfk__chunk;

/* Application events other than records and the kfk_poll ones. */
enum { CEV_REBALANCE = 1, CEV_COMMIT };

typedef struct kfk__cevent {
    struct kfk__cevent *next;
    int type;
    int ev; /* CEV_REBALANCE: kfk_rebalance_event_t */
    kfk_err_t err;
    kfk_topic_partition_t *parts; /* owned, strings too */
    size_t n;
    uint64_t rebalance_id; /* CEV_REBALANCE: acknowledged after the callback */
} kfk__cevent;

typedef struct kfk__group kfk__group;
typedef struct kfk__fetcher kfk__fetcher;

/* An operation waiting on a retry timer (offsets.c). */
typedef struct kfk__retry {
    struct kfk__retry *next, *prev;
    void (*destroy)(struct kfk__retry *r);
} kfk__retry;

typedef struct kfk__consumer {
    kfk_t *k;
    pthread_mutex_t mu;
    kfk__toppar *tps;
    kfk__chunk *q_head, *q_tail; /* fetched, for poll */
    kfk__cevent *ev_head, *ev_tail;
    bool subscribed, manual;
    bool closing;

    /* configuration, read-only after creation */
    int isolation; /* 0 read_uncommitted, 1 read_committed */
    bool check_crcs;
    bool partition_eof;
    bool auto_commit;
    int64_t auto_commit_ms;
    int reset;           /* KFK__OFFSET_RESET_* from auto.offset.reset */
    int64_t reset_ms;    /* by_duration */
    int32_t max_poll_records;
    int64_t max_poll_interval_ms;
    int64_t api_timeout_ms;
    const char *group_id; /* NULL: no group */
    kfk_rebalance_cb *rebalance_cb;
    void *rebalance_opaque;
    kfk_commit_cb *commit_cb;
    void *commit_opaque;

    /* the polling thread (under poll_mu) */
    pthread_mutex_t poll_mu;
    kfk__chunk *cur; /* being decoded */
    uint32_t cur_version;
    int64_t cur_pos; /* next offset of cur's partition to hand out */
    int32_t cur_epoch;
    bool cur_in_batch;
    bool cur_skip_batch; /* control or aborted: its records are not handed out */
    kfk__recs_reader rd;
    kfk__wbuf *dbufs; /* decompressed batches handed out by this poll */
    size_t ndbufs, dbufs_used;
    kfk__zctx *z;
    kfk__chunk *held; /* chunks whose bytes the last poll handed out */
    kfk_message_t *msgs;
    const kfk_message_t **msgp;
    size_t msgs_cap;
    kfk_message_header_t *hdrs;
    size_t hdrs_len, hdrs_cap;
    int64_t *active_pids; /* read_committed: producer ids in an aborted txn */
    size_t nactive, capactive;
    int32_t next_aborted;
    atomic_llong last_poll_ms;

    kfk__retry *retries; /* I/O thread: operations waiting to retry */

    /* the group coordinator (I/O thread) */
    int32_t coord_id; /* -1 unknown */
    bool coord_inflight;
    int coord_failures;

    kfk__fetcher *f; /* I/O thread */
    kfk__group *g;   /* NULL without group.id */
} kfk__consumer;

/* kfk_t -> consumer, NULL if k is not a consumer. */
kfk__consumer *kfk__consumer_of(kfk_t *k);

/* ---- toppars (mu held) ----------------------------------------------- */

kfk__toppar *kfk__tp_find(kfk__consumer *cs, const char *topic, int32_t partition);
/* Finds or makes it. NULL on NOMEM. */
kfk__toppar *kfk__tp_get(kfk__consumer *cs, const char *topic, int32_t partition);
/* Start reading tp from spec (an offset or KFK_OFFSET_*): drops what was
 * fetched, bumps the version. */
void kfk__tp_start(kfk__consumer *cs, kfk__toppar *tp, int64_t spec, int32_t epoch);
/* Queues a chunk (takes it), or an event chunk about tp (NULL: about the
 * consumer as a whole). */
void kfk__tp_queue(kfk__consumer *cs, kfk__chunk *ch);
void kfk__tp_event(kfk__consumer *cs, kfk__toppar *tp, int err, int64_t offset,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void kfk__chunk_free(kfk__chunk *ch);

/* Queues an application event (takes it) and wakes poll. mu held. */
void kfk__cevent_queue(kfk__consumer *cs, kfk__cevent *ev);
/* A copy of parts (strings included) for an event; NULL on NOMEM. */
kfk_topic_partition_t *kfk__parts_dup(const kfk_topic_partition_t *parts, size_t n);

/* ---- fetcher (fetcher.c) ----------------------------------------------- */

int kfk__fetcher_new(kfk__consumer *cs, kfk__fetcher **out);
/* Any thread: something changed (assignment, consumption): run soon. */
void kfk__fetcher_wakeup(kfk__consumer *cs);
/* Any thread, before kfk__client_free: stop timers. */
void kfk__fetcher_stop(kfk__consumer *cs);
void kfk__fetcher_free(kfk__fetcher *f);

/* I/O thread: a committed offset arrived for a TP_LOOKUP partition
 * (offset -1: none; err: the lookup failed). */
void kfk__fetcher_committed(kfk__consumer *cs, kfk__toppar *tp, uint32_t version,
                            int err, int64_t offset, int32_t epoch);

/* ---- offsets (offsets.c) -------------------------------------------------- */

/* I/O thread: fetch committed offsets for these TP_LOOKUP partitions
 * (mu held); answers through kfk__fetcher_committed. */
void kfk__offsets_lookup(kfk__consumer *cs, kfk__toppar **tps, int n);

/* A blocking call's rendezvous between an application thread and the I/O
 * thread. Reference-counted: the side that lets go last frees it. */
typedef struct kfk__call {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int refs;
    bool done;
    int err;
    kfk_topic_partition_t *parts; /* owned copy: in and out */
    size_t n;
    int64_t deadline_ms;
    kfk__consumer *cs;
    int attempts;
    bool async;
} kfk__call;

kfk__call *kfk__call_new(kfk__consumer *cs, const kfk_topic_partition_t *parts,
                         size_t n);
void kfk__call_finish(kfk__call *c, int err);
/* Waits until finished or deadline (then KFK_ERR__TIMED_OUT). */
int kfk__call_wait(kfk__call *c, int64_t deadline_ms);
void kfk__call_unref(kfk__call *c);

/* Any thread: starts an OffsetCommit of c->parts (the call finishes with
 * the result; async calls also queue a CEV_COMMIT). */
int kfk__offsets_commit(kfk__consumer *cs, kfk__call *c);
/* A ListOffsets request with room for ntopics topics (arena). */
struct kfk__list_offsets_request *kfk__list_offsets_new(kfk__arena *a, int isolation,
                                                        int32_t ntopics);

/* kfk_consumer_commit with a deadline of its own (close's). */
kfk_err_t kfk__consumer_commit(kfk_t *k, kfk_topic_partition_t *parts, size_t n, int flags,
                               int64_t deadline_ms);

/* Any thread: starts an OffsetFetch of c->parts. */
int kfk__offsets_fetch(kfk__consumer *cs, kfk__call *c);
/* Any thread: ListOffsets for c->parts (offset = timestamp or -1/-2),
 * answered into c->parts[i].offset. */
int kfk__offsets_list(kfk__consumer *cs, kfk__call *c);

/* I/O thread: the coordinator's connection, or NULL while it is being
 * looked up (a lookup starts; ask again later). */
kfk__cbroker *kfk__coord_get(kfk__consumer *cs);
/* I/O thread: the coordinator moved or failed: look it up again. */
void kfk__coord_dead(kfk__consumer *cs);
/* True for the errors that mean "ask the coordinator again". */
bool kfk__coord_error(int err);

/* After the client core is gone: ends operations still waiting to
 * retry (their timers went with the loop). */
void kfk__offsets_destroy(kfk__consumer *cs);

/* ---- group (group.c) --------------------------------------------------- */

int kfk__group_new(kfk__consumer *cs, kfk__group **out);
/* Any thread, before kfk__client_free: stop timers. */
void kfk__group_stop(kfk__group *g);
void kfk__group_free(kfk__group *g);
/* Any thread: (re)subscribe / unsubscribe; the group rejoins. */
int kfk__group_subscribe(kfk__group *g, const char *const *topics, size_t n);
void kfk__group_unsubscribe(kfk__group *g);
/* Application thread, after serving a rebalance event's callback. */
void kfk__group_rebalance_done(kfk__group *g, uint64_t rebalance_id);
/* Generation and member id for commits (I/O thread); generation -1 and
 * "" outside an active generation. */
int32_t kfk__group_generation(kfk__group *g, const char **member_id,
                              const char **instance_id);
/* Member id into buf, generation returned (any thread). */
int32_t kfk__group_member_id(kfk__group *g, char *buf, size_t size);
/* Application thread: leave within deadline (close). */
void kfk__group_leave(kfk__group *g, int64_t deadline_ms);
/* I/O thread: max.poll.interval check and heartbeat bookkeeping. */
void kfk__group_poll_seen(kfk__group *g);

#endif
