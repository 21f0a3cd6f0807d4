/*
 * accumulator.c: the producer's record accumulator, application side:
 * creation, topics and their partition arrays, buffer.memory, the batch
 * pool, and append - the hot path of kfk_produce.
 *
 * An append takes one lock, its partition's, and copies the record once,
 * into the open batch's buffer, which was allocated at batch.size when the
 * batch began (so appending never allocates), and its opaque and
 * timestamp into per-batch arrays that grow geometrically and are kept
 * when the batch is recycled. Batches, their arrays and batch.size buffers
 * come back through a small pool, so a steady stream of appends does not
 * call malloc at all. The global buffer.memory counter is touched once per
 * batch, not per record.
 */
#include "producer/accum_int.h"

#include <errno.h>
#include <kfk/error.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/thread.h"

#define MAX_POOL_PB 256
#define MAX_POOL_BUF 64
#define RETRY_STICKY 1 /* append_locked: the sticky partition moved on */

void kfk__accum_params_init(kfk__accum_params *p)
{
    memset(p, 0, sizeof(*p));
    p->batch_size = 16384;
    p->linger_ms = 5;
    p->buffer_memory = 32 * 1024 * 1024;
    p->max_request_size = 1024 * 1024;
    p->codec = KFK__CODEC_NONE;
    p->level = KFK__LEVEL_DEFAULT;
    p->idempotence = true;
    p->max_inflight = 5;
    p->delivery_timeout_ms = 120000;
    p->availability_timeout_ms = 0;
    kfk__partitioner_init(&p->partitioner);
}

/* ---- creation ------------------------------------------------------------ */

int kfk__accum_new(kfk__accum **out, const kfk__accum_params *p)
{
    *out = NULL;
    if (!kfk__codec_level_ok(p->codec, p->level) || p->buffer_memory < 1 ||
        p->max_request_size < 1 || p->linger_ms < 0 ||
        p->delivery_timeout_ms < 0 || p->availability_timeout_ms < 0 ||
        p->max_inflight < 0)
        return KFK_ERR__INVALID_ARG;
    kfk__accum *acc = kfk__calloc(1, sizeof(*acc));
    if (!acc)
        return KFK_ERR__NOMEM;
    acc->p = *p;
    if (acc->p.batch_size < 1)
        acc->p.batch_size = 1;
    acc->p.partitioner.sticky_bytes = acc->p.batch_size;
    acc->batch_cap = (size_t)(acc->p.batch_size < acc->p.max_request_size
                                  ? acc->p.batch_size
                                  : acc->p.max_request_size);
    acc->max_inflight = p->max_inflight;
    if (p->idempotence && (acc->max_inflight < 1 || acc->max_inflight > 5))
        acc->max_inflight = 5;
    acc->max_pool_buf = (size_t)(acc->p.buffer_memory / 4) / acc->batch_cap;
    if (acc->max_pool_buf > MAX_POOL_BUF)
        acc->max_pool_buf = MAX_POOL_BUF;
    if (acc->batch_cap < 256)
        acc->max_pool_buf = 0; /* batching off: exact-size buffers */
    acc->pid = -1;
    acc->epoch = -1;
    atomic_init(&acc->next_wakeup, INT64_MAX);

    int err = KFK_ERR__SYSTEM;
    int stage = 0;
    if (pthread_rwlock_init(&acc->topics_lock, NULL))
        goto fail;
    stage = 1;
    if (pthread_mutex_init(&acc->mem_lock, NULL))
        goto fail;
    stage = 2;
    if (kfk__cond_init_mono(&acc->mem_cond))
        goto fail;
    stage = 3;
    if (pthread_mutex_init(&acc->dr_lock, NULL))
        goto fail;
    stage = 4;
    if (kfk__cond_init_mono(&acc->dr_cond))
        goto fail;
    stage = 5;
    if (pthread_mutex_init(&acc->pool_lock, NULL))
        goto fail;
    stage = 6;
    if (pthread_mutexattr_init(&acc->part_attr))
        goto fail;
    pthread_mutexattr_settype(&acc->part_attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    stage = 7;
    acc->hcap = 16;
    acc->htab = kfk__calloc(acc->hcap, sizeof(*acc->htab));
    if (!acc->htab) {
        err = KFK_ERR__NOMEM;
        goto fail;
    }
    *out = acc;
    return 0;
fail:
    if (stage > 6)
        pthread_mutexattr_destroy(&acc->part_attr);
    if (stage > 5)
        pthread_mutex_destroy(&acc->pool_lock);
    if (stage > 4)
        pthread_cond_destroy(&acc->dr_cond);
    if (stage > 3)
        pthread_mutex_destroy(&acc->dr_lock);
    if (stage > 2)
        pthread_cond_destroy(&acc->mem_cond);
    if (stage > 1)
        pthread_mutex_destroy(&acc->mem_lock);
    if (stage > 0)
        pthread_rwlock_destroy(&acc->topics_lock);
    kfk__free(acc);
    return err;
}

void kfk__accum_pb_free(pb *b)
{
    if (!b)
        return;
    kfk__free(b->w.data);
    kfk__free(b->pub.opaques);
    kfk__free(b->pub.timestamps);
    kfk__free(b);
}

static void drop_free(pb *b)
{
    if (atomic_fetch_sub(&b->refs, 1) == 1)
        kfk__accum_pb_free(b);
}

static void free_parts(kfk__accum_topic *t)
{
    apart **parts = atomic_load(&t->parts);
    int32_t cnt = atomic_load(&t->cnt);
    for (int32_t i = 0; i < cnt; i++) {
        apart *ap = parts[i];
        pb *next;
        for (pb *b = ap->q.head; b; b = next) {
            next = b->next;
            drop_free(b);
        }
        for (pb *b = ap->fl.head; b; b = next) {
            next = b->next;
            drop_free(b);
        }
        pthread_mutex_destroy(&ap->lock);
        kfk__free(ap);
    }
    while (parts) {
        apart **arr = parts - 1;
        parts = (apart **)arr[0];
        kfk__free(arr);
    }
}

void kfk__accum_destroy(kfk__accum *acc)
{
    if (!acc)
        return;
    kfk__accum_topic *t = atomic_load(&acc->topics), *tn;
    for (; t; t = tn) {
        tn = t->next;
        free_parts(t);
        kfk__sticky_destroy(&t->sticky);
        pthread_mutex_destroy(&t->grow_lock);
        kfk__free(t->name);
        kfk__free(t);
    }
    pb *b, *bn;
    for (b = acc->dr_head; b; b = bn) {
        bn = b->rnext;
        drop_free(b);
    }
    for (b = acc->pool_pb; b; b = bn) {
        bn = b->rnext;
        kfk__accum_pb_free(b);
    }
    void *buf = acc->pool_buf;
    while (buf) {
        void *nb = *(void **)buf;
        kfk__free(buf);
        buf = nb;
    }
    kfk__free(acc->htab);
    kfk__free(acc->nodes);
    kfk__free(acc->rv);
    kfk__free(acc->rnodes);
    kfk__free(acc->ld_ids);
    kfk__free(acc->ld_sizes);
    pthread_mutexattr_destroy(&acc->part_attr);
    pthread_mutex_destroy(&acc->pool_lock);
    pthread_cond_destroy(&acc->dr_cond);
    pthread_mutex_destroy(&acc->dr_lock);
    pthread_cond_destroy(&acc->mem_cond);
    pthread_mutex_destroy(&acc->mem_lock);
    pthread_rwlock_destroy(&acc->topics_lock);
    kfk__free(acc);
}

/* ---- topics -------------------------------------------------------------- */

static size_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return (size_t)h;
}

static kfk__accum_topic *find_topic(kfk__accum *acc, const char *name, size_t h)
{
    kfk__accum_topic *t = acc->htab[h & (acc->hcap - 1)];
    while (t && strcmp(t->name, name))
        t = t->hnext;
    return t;
}

/* Doubles the hash table; on NOMEM the table just stays as it is. Called
 * with the topics lock held for writing. */
static void grow_htab(kfk__accum *acc)
{
    size_t cap = acc->hcap * 2;
    kfk__accum_topic **nt = kfk__calloc(cap, sizeof(*nt));
    if (!nt)
        return;
    for (size_t i = 0; i < acc->hcap; i++) {
        kfk__accum_topic *t = acc->htab[i], *next;
        for (; t; t = next) {
            next = t->hnext;
            size_t j = name_hash(t->name) & (cap - 1);
            t->hnext = nt[j];
            nt[j] = t;
        }
    }
    kfk__free(acc->htab);
    acc->htab = nt;
    acc->hcap = cap;
}

int kfk__accum_topic_get(kfk__accum *acc, const char *name,
                         kfk__accum_topic **out)
{
    if (!name || !*name)
        return KFK_ERR__INVALID_ARG;
    size_t h = name_hash(name);
    pthread_rwlock_rdlock(&acc->topics_lock);
    kfk__accum_topic *t = find_topic(acc, name, h);
    pthread_rwlock_unlock(&acc->topics_lock);
    if (t) {
        *out = t;
        return 0;
    }

    kfk__accum_topic *nt = kfk__calloc(1, sizeof(*nt));
    if (!nt)
        return KFK_ERR__NOMEM;
    nt->acc = acc;
    nt->name = kfk__strndup(name, strlen(name));
    if (!nt->name)
        goto nomem;
    if (pthread_mutex_init(&nt->grow_lock, NULL))
        goto nomem;
    if (kfk__sticky_init(&nt->sticky)) {
        pthread_mutex_destroy(&nt->grow_lock);
        goto nomem;
    }
    atomic_init(&nt->parts, NULL);
    atomic_init(&nt->cnt, 0);

    pthread_rwlock_wrlock(&acc->topics_lock);
    t = find_topic(acc, name, h); /* someone may have raced us */
    if (!t) {
        size_t i = h & (acc->hcap - 1);
        nt->hnext = acc->htab[i];
        acc->htab[i] = nt;
        nt->next = atomic_load(&acc->topics);
        atomic_store_explicit(&acc->topics, nt, memory_order_release);
        if (++acc->ntopics > acc->hcap)
            grow_htab(acc);
        t = nt;
        nt = NULL;
    }
    pthread_rwlock_unlock(&acc->topics_lock);
    if (nt) {
        kfk__sticky_destroy(&nt->sticky);
        pthread_mutex_destroy(&nt->grow_lock);
        kfk__free(nt->name);
        kfk__free(nt);
    }
    *out = t;
    return 0;
nomem:
    kfk__free(nt->name);
    kfk__free(nt);
    return KFK_ERR__NOMEM;
}

int kfk__accum_topic_set_partitions(kfk__accum_topic *t, int32_t cnt)
{
    int err = 0;
    pthread_mutex_lock(&t->grow_lock);
    int32_t old = atomic_load(&t->cnt);
    if (cnt <= old)
        goto out;
    apart **oldp = atomic_load(&t->parts);
    /* slot 0 links to the array this one replaces (freed at destroy:
     * appenders may still be reading it) */
    apart **arr = kfk__calloc((size_t)cnt + 1, sizeof(*arr));
    if (!arr) {
        err = KFK_ERR__NOMEM;
        goto out;
    }
    arr[0] = (apart *)oldp;
    apart **parts = arr + 1;
    if (old)
        memcpy(parts, oldp, (size_t)old * sizeof(*parts));
    int32_t i;
    for (i = old; i < cnt; i++) {
        apart *ap = kfk__calloc(1, sizeof(*ap));
        if (!ap || pthread_mutex_init(&ap->lock, &t->acc->part_attr)) {
            kfk__free(ap);
            break;
        }
        ap->topic = t;
        ap->id = i;
        ap->leader = -1;
        atomic_init(&ap->qlen, 0);
        atomic_init(&ap->appended, 0);
        parts[i] = ap;
    }
    if (i < cnt) {
        while (i-- > old) {
            pthread_mutex_destroy(&parts[i]->lock);
            kfk__free(parts[i]);
        }
        kfk__free(arr);
        err = KFK_ERR__NOMEM;
        goto out;
    }
    /* array before count: whoever sees the new count sees the new array */
    atomic_store_explicit(&t->parts, parts, memory_order_release);
    atomic_store_explicit(&t->cnt, cnt, memory_order_release);
out:
    pthread_mutex_unlock(&t->grow_lock);
    return err;
}

int32_t kfk__accum_topic_partitions(const kfk__accum_topic *t)
{
    return atomic_load_explicit(&t->cnt, memory_order_acquire);
}

const char *kfk__accum_topic_name(const kfk__accum_topic *t)
{
    return t->name;
}

apart *kfk__accum_part(kfk__accum_topic *t, int32_t partition)
{
    int32_t cnt = atomic_load_explicit(&t->cnt, memory_order_acquire);
    if (partition < 0 || partition >= cnt)
        return NULL;
    return atomic_load_explicit(&t->parts, memory_order_acquire)[partition];
}

/* ---- buffer.memory ------------------------------------------------------- */

static bool mem_reserve(kfk__accum *acc, size_t n)
{
    int64_t cur = atomic_load(&acc->mem_used);
    do {
        if ((int64_t)n > acc->p.buffer_memory - cur)
            return false;
    } while (
        !atomic_compare_exchange_weak(&acc->mem_used, &cur, cur + (int64_t)n));
    return true;
}

static void mem_release(kfk__accum *acc, size_t n)
{
    if (!n)
        return;
    atomic_fetch_sub(&acc->mem_used, (int64_t)n);
    /* A waiter registers before it checks the counter, and we check for
     * waiters after changing it, so one of us sees the other. */
    if (atomic_load(&acc->mem_waiters) > 0) {
        pthread_mutex_lock(&acc->mem_lock);
        pthread_cond_broadcast(&acc->mem_cond);
        pthread_mutex_unlock(&acc->mem_lock);
    }
}

int64_t kfk__accum_memory_used(const kfk__accum *acc)
{
    return atomic_load(&acc->mem_used);
}

int kfk__accum_wait_memory(kfk__accum *acc, size_t need, int64_t deadline_ms)
{
    if (!need)
        need = acc->batch_cap;
    if ((int64_t)need > acc->p.buffer_memory)
        need = (size_t)acc->p.buffer_memory;
    int err = 0;
    pthread_mutex_lock(&acc->mem_lock);
    atomic_fetch_add(&acc->mem_waiters, 1);
    for (;;) {
        if (atomic_load(&acc->closing)) {
            err = KFK_ERR__DESTROYED;
            break;
        }
        if ((int64_t)need <= acc->p.buffer_memory - atomic_load(&acc->mem_used))
            break;
        if (kfk__cond_wait_until(&acc->mem_cond, &acc->mem_lock,
                                 deadline_ms) == ETIMEDOUT) {
            if ((int64_t)need >
                acc->p.buffer_memory - atomic_load(&acc->mem_used))
                err = KFK_ERR__TIMED_OUT;
            break;
        }
    }
    atomic_fetch_sub(&acc->mem_waiters, 1);
    pthread_mutex_unlock(&acc->mem_lock);
    return err;
}

/* ---- flush, close, counters ---------------------------------------------- */

void kfk__accum_flush_begin(kfk__accum *acc)
{
    atomic_fetch_add(&acc->flushing, 1);
}

void kfk__accum_flush_end(kfk__accum *acc)
{
    atomic_fetch_sub(&acc->flushing, 1);
}

void kfk__accum_close(kfk__accum *acc)
{
    atomic_store(&acc->closing, true);
    pthread_mutex_lock(&acc->mem_lock);
    pthread_cond_broadcast(&acc->mem_cond);
    pthread_mutex_unlock(&acc->mem_lock);
}

int64_t kfk__accum_pending(const kfk__accum *acc)
{
    /* served first: a message served after this load was appended before
     * the sum below, so the result can be high, never low */
    int64_t n = -atomic_load(&acc->served);
    kfk__accum_topic *t =
        atomic_load_explicit(&acc->topics, memory_order_acquire);
    for (; t; t = t->next) {
        int32_t cnt = atomic_load_explicit(&t->cnt, memory_order_acquire);
        apart **parts = atomic_load_explicit(&t->parts, memory_order_acquire);
        for (int32_t i = 0; i < cnt; i++)
            n += atomic_load(&parts[i]->appended);
    }
    return n;
}

/* ---- the batch pool ------------------------------------------------------ */

/* A batch with a buffer of cap bytes and per-record arrays, recycled when
 * possible. NULL on NOMEM. */
static pb *pb_get(kfk__accum *acc, size_t cap, int32_t ocap)
{
    pb *b = NULL;
    void *buf = NULL;
    pthread_mutex_lock(&acc->pool_lock);
    if (acc->pool_pb) {
        b = acc->pool_pb;
        acc->pool_pb = b->rnext;
        acc->npool_pb--;
    }
    if (cap == acc->batch_cap && acc->pool_buf) {
        buf = acc->pool_buf;
        acc->pool_buf = *(void **)buf;
        acc->npool_buf--;
    }
    pthread_mutex_unlock(&acc->pool_lock);

    if (!b && !(b = kfk__calloc(1, sizeof(*b))))
        goto fail;
    if (b->ocap < 1) {
        b->pub.opaques = kfk__malloc((size_t)ocap * sizeof(void *));
        b->pub.timestamps = kfk__malloc((size_t)ocap * sizeof(int64_t));
        if (!b->pub.opaques || !b->pub.timestamps)
            goto fail;
        b->ocap = ocap;
    }
    if (!buf && !(buf = kfk__malloc(cap)))
        goto fail;

    void **op = b->pub.opaques;
    int64_t *ts = b->pub.timestamps;
    int32_t oc = b->ocap;
    memset(b, 0, sizeof(*b));
    b->pub.opaques = op;
    b->pub.timestamps = ts;
    b->ocap = oc;
    kfk__wbuf_init(&b->w, 0);
    b->w.data = buf;
    b->w.cap = cap;
    atomic_init(&b->refs, 1);
    return b;
fail:
    kfk__free(buf);
    if (b) {
        kfk__free(b->pub.opaques);
        kfk__free(b->pub.timestamps);
        kfk__free(b);
    }
    return NULL;
}

void kfk__accum_release_bytes(kfk__accum *acc, pb *b)
{
    void *buf = b->w.data;
    size_t cap = b->w.cap, reserved = b->reserved;
    b->w.data = NULL;
    b->w.len = b->w.cap = 0;
    b->pub.data = NULL;
    b->pub.size = 0;
    b->reserved = 0;
    /* keep buffers of exactly batch_cap (not those that grew while
     * compressing, nor big single-record ones) */
    if (buf && cap == acc->batch_cap) {
        pthread_mutex_lock(&acc->pool_lock);
        if (acc->npool_buf < acc->max_pool_buf) {
            *(void **)buf = acc->pool_buf;
            acc->pool_buf = buf;
            acc->npool_buf++;
            buf = NULL;
        }
        pthread_mutex_unlock(&acc->pool_lock);
    }
    kfk__free(buf);
    mem_release(acc, reserved);
}

void kfk__accum_unref(kfk__accum *acc, pb *b)
{
    if (atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    if (b->w.data)
        kfk__accum_release_bytes(acc, b);
    pthread_mutex_lock(&acc->pool_lock);
    if (acc->npool_pb < MAX_POOL_PB) {
        b->rnext = acc->pool_pb;
        acc->pool_pb = b;
        acc->npool_pb++;
        b = NULL;
    }
    pthread_mutex_unlock(&acc->pool_lock);
    kfk__accum_pb_free(b);
}

/* ---- appending ----------------------------------------------------------- */

static int grow_arrays(pb *b)
{
    int32_t cap = b->ocap * 2;
    void **op = kfk__realloc(b->pub.opaques, (size_t)cap * sizeof(*op));
    if (!op)
        return KFK_ERR__NOMEM;
    b->pub.opaques = op;
    int64_t *ts = kfk__realloc(b->pub.timestamps, (size_t)cap * sizeof(*ts));
    if (!ts)
        return KFK_ERR__NOMEM;
    b->pub.timestamps = ts;
    b->ocap = cap;
    return 0;
}

/* Appends rec to b if it fits within the fill limit (a batch's first
 * record always fits). Returns 0 (*added = bytes added), 1 (does not fit),
 * or an error. */
static int append_rec(kfk__accum *acc, pb *b, const kfk__accum_rec *rec,
                      size_t *added)
{
    int32_t n = b->bw.count;
    size_t before = b->w.len;
    if (n) {
        int64_t ts_delta = (int64_t)((uint64_t)rec->timestamp -
                                     (uint64_t)b->bw.base_timestamp);
        size_t sz = kfk__record_size(ts_delta, n, rec->key_len, rec->value_len,
                                     rec->headers, rec->header_count);
        if (sz == SIZE_MAX)
            return KFK_ERR__INVALID_ARG;
        if (before + sz > acc->batch_cap || sz > b->w.cap - before ||
            n == INT32_MAX)
            return 1;
        if (n == b->ocap && grow_arrays(b))
            return KFK_ERR__NOMEM;
    }
    int err = kfk__batch_append(&b->bw, rec->timestamp, rec->key, rec->key_len,
                                rec->value, rec->value_len, rec->headers,
                                rec->header_count);
    if (err) {
        b->w.err = 0; /* nothing was written; the space was there */
        return err;
    }
    b->pub.opaques[n] = rec->opaque;
    b->pub.timestamps[n] = rec->timestamp;
    b->pub.count = n + 1;
    *added = b->w.len - before;
    return 0;
}

static int32_t initial_ocap(size_t cap, size_t need)
{
    size_t n = cap / need + 1;
    return n < 8 ? 8 : n > 1024 ? 1024 : (int32_t)n;
}

/* Starts a batch in ap holding rec. Returns 0, KFK_ERR__QUEUE_FULL
 * (res->need set), KFK_ERR__NOMEM or an append error. */
static int new_batch(kfk__accum *acc, apart *ap, const kfk__accum_rec *rec,
                     size_t need, int64_t now, kfk__accum_result *res, pb **out)
{
    size_t cap = acc->batch_cap;
    if ((int64_t)cap > acc->p.buffer_memory)
        cap = (size_t)acc->p.buffer_memory; /* tiny buffer.memory */
    if (cap < need)
        cap = need; /* a record bigger than batch.size: a batch of its own */
    if (!mem_reserve(acc, cap)) {
        res->need = cap;
        return KFK_ERR__QUEUE_FULL;
    }
    pb *b = pb_get(acc, cap, initial_ocap(acc->batch_cap, need));
    if (!b) {
        mem_release(acc, cap);
        return KFK_ERR__NOMEM;
    }
    b->reserved = cap;
    b->part = ap;
    b->id = ap->next_id++;
    b->state = PB_OPEN;
    b->pub.topic = ap->topic;
    b->pub.topic_name = ap->topic->name;
    b->pub.partition = ap->id;
    b->pub.created_ms = now;
    b->pub.producer_id = -1;
    b->pub.producer_epoch = -1;
    b->pub.base_sequence = -1;
    b->st_pid = -1;
    b->st_epoch = -1;
    b->st_seq = -1;
    b->base_offset = -1;
    b->log_append_time = -1;

    kfk__batch_opts o;
    kfk__batch_opts_init(&o);
    o.codec = acc->p.codec;
    o.level = acc->p.level;
    if (acc->p.transactional)
        o.flags = KFK__ATTR_TRANSACTIONAL;
    size_t added;
    int err = kfk__batch_begin(&b->bw, &b->w, &o);
    if (!err)
        err = append_rec(acc, b, rec, &added);
    if (err) {
        b->reserved = cap; /* released by unref */
        kfk__accum_unref(acc, b);
        return err == 1 ? KFK_ERR__INVALID_ARG : err;
    }
    *out = b;
    return 0;
}

static bool batch_full(const kfk__accum *acc, const pb *b)
{
    return b->state != PB_OPEN || b->w.len >= acc->batch_cap;
}

/* The append proper, under ap's lock. tok is the sticky token when the
 * partitioner chose ap, else NULL. Returns 0, RETRY_STICKY, or an error. */
static int append_locked(kfk__accum *acc, apart *ap, const kfk__accum_rec *rec,
                         size_t need, int64_t now, const uint64_t *tok,
                         int32_t cnt, kfk__accum_result *res)
{
    kfk__accum_topic *t = ap->topic;
    const kfk__partitioner *pt = &acc->p.partitioner;
    pb *b = ap->q.tail && ap->q.tail->state == PB_OPEN ? ap->q.tail : NULL;
    size_t added = 0;
    if (b) {
        int r = append_rec(acc, b, rec, &added);
        if (r < 0)
            return r;
        if (r == 0) {
            if (b->w.len >= acc->batch_cap) {
                b->state = PB_CLOSED;
                res->wakeup = true;
            }
            goto done;
        }
        /* does not fit: the batch is full, and ready */
        b->state = PB_CLOSED;
        res->wakeup = true;
        if (tok) {
            /* Java's partitionChanged(): a switch held back until the
             * batch filled up happens now, and the record goes to the
             * new partition */
            kfk__sticky_update(&t->sticky, pt, *tok, 0, true, cnt);
            if (kfk__sticky_changed(&t->sticky, *tok))
                return RETRY_STICKY;
        }
    }
    bool was_empty = ap->q.head == NULL;
    int err = new_batch(acc, ap, rec, need, now, res, &b);
    if (err)
        return err;
    pblist_push_tail(&ap->q, b);
    atomic_store_explicit(&ap->qlen, atomic_load(&ap->qlen) + 1,
                          memory_order_relaxed);
    added = b->w.len;
    if (b->w.len >= acc->batch_cap) {
        b->state = PB_CLOSED;
        res->wakeup = true;
    } else if (was_empty) {
        int64_t nw = atomic_load(&acc->next_wakeup);
        if (nw < 0 || add_sat(now, acc->p.linger_ms) < nw)
            res->wakeup = true;
    }
done:
    atomic_store_explicit(
        &ap->appended,
        atomic_load_explicit(&ap->appended, memory_order_relaxed) + 1,
        memory_order_release);
    if (tok)
        kfk__sticky_update(&t->sticky, pt, *tok, (int32_t)added,
                           batch_full(acc, ap->q.tail), cnt);
    return 0;
}

int kfk__accum_append(kfk__accum *acc, kfk__accum_topic *t, int32_t partition,
                      const kfk__accum_rec *rec, int64_t now,
                      kfk__accum_result *res)
{
    kfk__accum_result dummy;
    if (!res)
        res = &dummy;
    res->partition = -1;
    res->wakeup = false;
    res->need = 0;
    if (atomic_load(&acc->closing))
        return KFK_ERR__DESTROYED;
    if (rec->key_len < -1 || rec->value_len < -1)
        return KFK_ERR__INVALID_ARG;
    size_t sz = kfk__record_size(0, 0, rec->key_len, rec->value_len,
                                 rec->headers, rec->header_count);
    if (sz == SIZE_MAX)
        return KFK_ERR__INVALID_ARG;
    size_t need = KFK__BATCH_HEADER_SIZE + sz;
    if (need > (size_t)acc->p.max_request_size ||
        (int64_t)need > acc->p.buffer_memory)
        return KFK_ERR_MESSAGE_TOO_LARGE;

    int32_t cnt = atomic_load_explicit(&t->cnt, memory_order_acquire);
    if (cnt < 1)
        return KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    apart **parts = atomic_load_explicit(&t->parts, memory_order_acquire);
    bool sticky = false;
    if (partition == KFK__PARTITION_ANY) {
        int err = kfk__partitioner_pick(&acc->p.partitioner, t->name, rec->key,
                                        rec->key_len, cnt, &partition);
        if (err)
            return err;
        sticky = partition == KFK__PARTITION_ANY;
    } else if (partition < 0 || partition >= cnt) {
        return KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }

    for (;;) {
        uint64_t tok = 0;
        if (sticky) {
            tok = kfk__sticky_peek(&t->sticky, &acc->p.partitioner, cnt);
            partition = kfk__sticky_partition(tok);
        }
        apart *ap = parts[partition];
        pthread_mutex_lock(&ap->lock);
        if (sticky && kfk__sticky_changed(&t->sticky, tok)) {
            pthread_mutex_unlock(&ap->lock);
            continue;
        }
        int err = append_locked(acc, ap, rec, need, now, sticky ? &tok : NULL,
                                cnt, res);
        pthread_mutex_unlock(&ap->lock);
        if (err == RETRY_STICKY)
            continue;
        if (!err)
            res->partition = partition;
        return err;
    }
}
