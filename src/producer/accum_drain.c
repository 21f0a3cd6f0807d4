/*
 * accum_drain.c: the I/O thread's side of the accumulator before a
 * request goes out: which leaders have batches ready, when to look again,
 * and taking batches out of their queues as finished record batches.
 *
 * ready() walks every partition of every topic. Empty queues are skipped
 * on a lock-free length hint; a non-empty one is locked just long enough to
 * read its first batch. On the way it gathers, per topic, the queue sizes
 * of available partitions for the sticky partitioner (KIP-794), and per
 * leader a chain of its partitions with data, so that draining a leader
 * takes whatever its partitions have (not only the lingered ones), as
 * Java's drain does. It also tracks, per leader, when it last had data
 * ready and when it was last drained: a leader that had data but was not
 * drained for partitioner.availability.timeout.ms makes its partitions
 * unavailable to the partitioner.
 *
 * A batch is finished (compressed, stamped, CRC'd) under its partition's
 * lock when it is first drained, as Java closes its batches in drain.
 */
#include "producer/accum_int.h"

#include <kfk/error.h>
#include <string.h>

#include "common/alloc.h"

#define TOO_BIG 1 /* drain_one: the batch does not fit the room left */

/* ---- the leader table (I/O thread only) ---------------------------------- */

static size_t node_slot(size_t cap, int32_t id)
{
    return ((uint32_t)id * 2654435761u) & (cap - 1);
}

static anode *node_find(kfk__accum *acc, int32_t id)
{
    if (!acc->ncap)
        return NULL;
    for (size_t i = node_slot(acc->ncap, id);; i = (i + 1) & (acc->ncap - 1)) {
        if (acc->nodes[i].id == id)
            return &acc->nodes[i];
        if (acc->nodes[i].id < 0)
            return NULL;
    }
}

/* The entry for id, created if new. Pointers into the table are valid
 * until the next node_get. NULL on NOMEM. */
static anode *node_get(kfk__accum *acc, int32_t id, int64_t now)
{
    anode *n = node_find(acc, id);
    if (n)
        return n;
    if ((acc->nused + 1) * 2 > acc->ncap) {
        size_t cap = acc->ncap ? acc->ncap * 2 : 16;
        anode *nt = kfk__malloc(cap * sizeof(*nt));
        if (!nt)
            return NULL;
        for (size_t i = 0; i < cap; i++)
            nt[i].id = -1;
        for (size_t i = 0; i < acc->ncap; i++) {
            if (acc->nodes[i].id < 0)
                continue;
            size_t j = node_slot(cap, acc->nodes[i].id);
            while (nt[j].id >= 0)
                j = (j + 1) & (cap - 1);
            nt[j] = acc->nodes[i];
        }
        kfk__free(acc->nodes);
        acc->nodes = nt;
        acc->ncap = cap;
    }
    size_t i = node_slot(acc->ncap, id);
    while (acc->nodes[i].id >= 0)
        i = (i + 1) & (acc->ncap - 1);
    n = &acc->nodes[i];
    memset(n, 0, sizeof(*n));
    n->id = id;
    n->ready_ms = n->drain_ms = now;
    n->first = n->last = -1;
    acc->nused++;
    return n;
}

/* Adds ap to n's chain for this round. Returns 0 or KFK_ERR__NOMEM. */
static int chain_add(kfk__accum *acc, anode *n, apart *ap)
{
    if (acc->rvn == acc->rvcap) {
        size_t cap = acc->rvcap ? acc->rvcap * 2 : 64;
        rpart *rv = kfk__realloc(acc->rv, cap * sizeof(*rv));
        if (!rv)
            return KFK_ERR__NOMEM;
        acc->rv = rv;
        acc->rvcap = cap;
    }
    int32_t idx = (int32_t)acc->rvn++;
    acc->rv[idx].p = ap;
    acc->rv[idx].next = -1;
    if (n->round != acc->round) {
        n->round = acc->round;
        n->ready = false;
        n->first = idx;
    } else {
        acc->rv[n->last].next = idx;
    }
    n->last = idx;
    return 0;
}

static int mark_ready(kfk__accum *acc, anode *n, int64_t now)
{
    n->ready_ms = now;
    if (n->ready)
        return 0;
    if (acc->rnn == acc->rncap) {
        size_t cap = acc->rncap ? acc->rncap * 2 : 16;
        int32_t *r = kfk__realloc(acc->rnodes, cap * sizeof(*r));
        if (!r)
            return KFK_ERR__NOMEM;
        acc->rnodes = r;
        acc->rncap = cap;
    }
    acc->rnodes[acc->rnn++] = n->id;
    n->ready = true;
    return 0;
}

static bool load_room(kfk__accum *acc, int32_t cnt)
{
    if ((size_t)cnt <= acc->ldcap)
        return true;
    size_t cap = acc->ldcap ? acc->ldcap : 64;
    while (cap < (size_t)cnt)
        cap *= 2;
    int32_t *ids = kfk__realloc(acc->ld_ids, cap * sizeof(*ids));
    if (!ids)
        return false;
    acc->ld_ids = ids;
    int32_t *sz = kfk__realloc(acc->ld_sizes, cap * sizeof(*sz));
    if (!sz)
        return false;
    acc->ld_sizes = sz;
    acc->ldcap = cap;
    return true;
}

/* ---- readiness ----------------------------------------------------------- */

static bool idem_ok(const kfk__accum *acc)
{
    return !acc->p.idempotence ||
           (acc->pid >= 0 && !atomic_load(&acc->need_bump));
}

/* Whether h, ap's first batch, may be drained now as far as in-flight
 * limits and sequence order go. Under ap's lock. */
static bool can_drain(const kfk__accum *acc, const apart *ap, const pb *h)
{
    if (acc->max_inflight > 0 && ap->inflight >= acc->max_inflight)
        return false;
    if (acc->p.idempotence) {
        if (!idem_ok(acc))
            return false;
        /* a retried batch waits until no older batch is in flight */
        if (h->pub.base_sequence >= 0 && ap->fl.head && ap->fl.head->id < h->id)
            return false;
    }
    return true;
}

/* What ready() needs to know about a partition's first batch. */
typedef struct headinfo {
    int64_t created;
    int64_t retry_at; /* INT64_MIN unless retried */
    bool full;
    bool blocked;
} headinfo;

static bool read_head(kfk__accum *acc, apart *ap, headinfo *hi)
{
    pthread_mutex_lock(&ap->lock);
    pb *h = ap->q.head;
    if (h) {
        hi->created = h->pub.created_ms;
        hi->retry_at = h->pub.attempts > 0 ? h->retry_at : INT64_MIN;
        hi->full = h->next || h->state != PB_OPEN || h->w.len >= acc->batch_cap;
        hi->blocked = !can_drain(acc, ap, h);
    }
    pthread_mutex_unlock(&ap->lock);
    return h != NULL;
}

int kfk__accum_ready(kfk__accum *acc, int64_t now, kfk__accum_leader_fn *leader,
                     void *leader_arg, kfk__accum_readiness *out)
{
    int err = 0;
    int64_t next = INT64_MAX;
    bool unknown = false;
    acc->round++;
    acc->rvn = 0;
    acc->rnn = 0;
    /* appends during the scan wake us: we may have passed their queue */
    atomic_store(&acc->next_wakeup, -1);
    bool force = atomic_load(&acc->mem_waiters) > 0 ||
                 atomic_load(&acc->flushing) > 0 || atomic_load(&acc->closing);
    bool avail_check =
        acc->p.partitioner.adaptive && acc->p.availability_timeout_ms > 0;

    kfk__accum_topic *t =
        atomic_load_explicit(&acc->topics, memory_order_acquire);
    for (; t; t = t->next) {
        int32_t cnt = atomic_load_explicit(&t->cnt, memory_order_acquire);
        apart **parts = atomic_load_explicit(&t->parts, memory_order_acquire);
        bool load = load_room(acc, cnt);
        int32_t nl = 0;
        for (int32_t i = 0; i < cnt; i++) {
            apart *ap = parts[i];
            int32_t ld = leader(leader_arg, t->name, i);
            ap->leader = ld;
            anode *n = NULL;
            if (ld >= 0 && !(n = node_get(acc, ld, now)))
                err = KFK_ERR__NOMEM;
            int32_t qlen =
                atomic_load_explicit(&ap->qlen, memory_order_relaxed);
            if (ld >= 0 && load &&
                !(avail_check && n &&
                  n->ready_ms - n->drain_ms > acc->p.availability_timeout_ms)) {
                acc->ld_ids[nl] = i;
                acc->ld_sizes[nl] = qlen;
                nl++;
            }
            headinfo hi;
            if (qlen == 0 || !read_head(acc, ap, &hi))
                continue;
            next = min64(next, add_sat(hi.created, acc->p.delivery_timeout_ms));
            if (ld < 0) {
                unknown = true;
                continue;
            }
            if (!n)
                continue;
            if (chain_add(acc, n, ap)) {
                err = KFK_ERR__NOMEM;
                continue;
            }
            if (hi.blocked)
                continue; /* a completion will change that */
            if (hi.retry_at > now) {
                next = min64(next, hi.retry_at);
                continue;
            }
            if (hi.full || force || now - hi.created >= acc->p.linger_ms) {
                if (mark_ready(acc, n, now))
                    err = KFK_ERR__NOMEM;
            } else {
                next = min64(next, add_sat(hi.created, acc->p.linger_ms));
            }
        }
        if (load)
            kfk__sticky_set_load(&t->sticky, &acc->p.partitioner, acc->ld_ids,
                                 acc->ld_sizes, nl, cnt);
    }
    if (err)
        next = now;
    atomic_store(&acc->next_wakeup, next);
    out->nodes = acc->rnodes;
    out->node_cnt = acc->rnn;
    out->next_ms = next;
    out->unknown_leader = unknown;
    return err;
}

/* ---- draining ------------------------------------------------------------ */

/* Writes the producer id, epoch and base sequence into a batch not yet
 * finished (kfk__batch_finish computes the CRC over them). */
static void stamp_open(pb *b, int64_t pid, int16_t epoch, int32_t seq)
{
    uint8_t *h = b->w.data + b->bw.start;
    kfk__store_be64(h + KFK__BATCH_PRODUCER_ID, (uint64_t)pid);
    kfk__store_be16(h + KFK__BATCH_PRODUCER_EPOCH, (uint16_t)epoch);
    kfk__store_be32(h + KFK__BATCH_BASE_SEQUENCE, (uint32_t)seq);
}

/* Drains ap's first batch if it may go now and its size is within room.
 * Returns 0 (*out the batch or NULL; *failed a batch that could not be
 * finished, to report), TOO_BIG, or KFK_ERR__NOMEM. */
static int drain_one(kfk__accum *acc, apart *ap, int64_t now, kfk__zctx *z,
                     size_t room, pb **out, pb **failed)
{
    int ret = 0;
    *out = *failed = NULL;
    pthread_mutex_lock(&ap->lock);
    pb *h = ap->q.head;
    if (!h || (h->pub.attempts > 0 && h->retry_at > now) ||
        !can_drain(acc, ap, h))
        goto out;
    if ((h->finished ? h->pub.size : h->w.len) > room) {
        ret = TOO_BIG;
        goto out;
    }
    if (h->state == PB_OPEN)
        h->state = PB_CLOSED; /* later appends start a new batch */
    bool seq = acc->p.idempotence;
    if (!h->finished) {
        if (seq)
            stamp_open(h, acc->pid, acc->epoch, ap->next_seq);
        int err = kfk__batch_finish(&h->bw, z);
        if (err) {
            /* the records are intact (record.h); only w's flag is set */
            h->w.err = 0;
            if (err == KFK_ERR__NOMEM) {
                ret = err;
                goto out;
            }
            pblist_remove(&ap->q, h);
            atomic_store_explicit(&ap->qlen, atomic_load(&ap->qlen) - 1,
                                  memory_order_relaxed);
            h->state = PB_DONE;
            h->reported = true;
            h->err = err;
            *failed = h;
            goto out;
        }
        h->finished = true;
        h->pub.data = h->w.data + h->bw.start;
        h->pub.size = h->w.len - h->bw.start;
        if (seq) {
            h->pub.producer_id = h->st_pid = acc->pid;
            h->pub.producer_epoch = h->st_epoch = acc->epoch;
            h->pub.base_sequence = h->st_seq = ap->next_seq;
            ap->next_seq = seq_add(ap->next_seq, h->pub.count);
        }
    } else if (seq && (h->st_pid != h->pub.producer_id ||
                       h->st_epoch != h->pub.producer_epoch ||
                       h->st_seq != h->pub.base_sequence)) {
        /* renumbered by an epoch bump since it was last sent */
        kfk__batch_set_producer(h->w.data + h->bw.start, h->pub.size,
                                h->pub.producer_id, h->pub.producer_epoch,
                                h->pub.base_sequence);
        h->st_pid = h->pub.producer_id;
        h->st_epoch = h->pub.producer_epoch;
        h->st_seq = h->pub.base_sequence;
    }
    pblist_remove(&ap->q, h);
    atomic_store_explicit(&ap->qlen, atomic_load(&ap->qlen) - 1,
                          memory_order_relaxed);
    pblist_insert_sorted(&ap->fl, h, false);
    ap->inflight++;
    h->state = PB_INFLIGHT;
    h->pub.attempts++;
    h->pub.next = NULL;
    *out = h;
out:
    pthread_mutex_unlock(&ap->lock);
    return ret;
}

static void report_failed(kfk__accum *acc, pb *b)
{
    kfk__accum_release_bytes(acc, b);
    kfk__accum_report(acc, b, b);
}

int kfk__accum_drain_partition(kfk__accum *acc, kfk__accum_topic *t,
                               int32_t partition, int64_t now, kfk__zctx *z,
                               kfk__pbatch **out)
{
    *out = NULL;
    apart *ap = kfk__accum_part(t, partition);
    if (!ap)
        return KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    pb *b, *failed;
    int err = drain_one(acc, ap, now, z, SIZE_MAX, &b, &failed);
    if (failed)
        report_failed(acc, failed);
    if (b) {
        anode *n = ap->leader >= 0 ? node_find(acc, ap->leader) : NULL;
        if (n)
            n->ready_ms = n->drain_ms = now;
        *out = &b->pub;
    }
    return err == TOO_BIG ? 0 : err;
}

int kfk__accum_drain_node(kfk__accum *acc, int32_t node, size_t max_bytes,
                          int64_t now, kfk__zctx *z, kfk__pbatch **out)
{
    *out = NULL;
    anode *n = node_find(acc, node);
    if (!n || n->round != acc->round || n->first < 0)
        return 0;
    uint32_t k = 0;
    for (int32_t i = n->first; i >= 0; i = acc->rv[i].next)
        k++;
    uint32_t start = n->rr % k, j;
    int32_t idx = n->first;
    for (j = 0; j < start; j++)
        idx = acc->rv[idx].next;

    int err = 0;
    size_t used = 0;
    kfk__pbatch *tail = NULL;
    for (j = 0; j < k; j++) {
        size_t room = !*out              ? SIZE_MAX
                      : used < max_bytes ? max_bytes - used
                                         : 0;
        pb *b, *failed;
        int r = drain_one(acc, acc->rv[idx].p, now, z, room, &b, &failed);
        if (failed)
            report_failed(acc, failed);
        if (r) {
            if (r != TOO_BIG)
                err = r;
            break; /* the next drain starts with this partition */
        }
        if (b) {
            if (tail)
                tail->next = &b->pub;
            else
                *out = &b->pub;
            tail = &b->pub;
            used += b->pub.size;
        }
        idx = acc->rv[idx].next;
        if (idx < 0)
            idx = n->first;
    }
    n->rr = start + (j < k ? j : 1);
    n->ready_ms = n->drain_ms = now;
    return err;
}
