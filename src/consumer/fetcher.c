/*
 * fetcher.c: the consumer's I/O-thread half: finds where each assigned
 * partition starts (committed offsets, ListOffsets), and fetches.
 *
 * One Fetch in flight per leader, in a fetch session (KIP-227): the first
 * request of a session lists every partition; later ones list only
 * partitions that are new or whose fetch offset moved, and name the ones
 * to forget. A partition is fetched while nothing of it waits for the
 * application, so at most one response per partition is buffered (plus
 * the one poll is decoding): prefetch is bounded by the assignment times
 * max.partition.fetch.bytes, and by fetch.max.bytes per broker.
 *
 * The response frame is kept, not copied: chunks point into it and share
 * it by reference count. Only batch headers are read here, to know where
 * the next fetch starts; records are decoded by poll.
 */
#include "consumer/consumer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "net/loop.h"
#include "proto/gen/all.h"

#define IDLE_MS 100
#define FETCH_MAX_VER 12 /* v13+ names topics by id */

typedef struct spart {
    kfk__toppar *tp;
    uint32_t version;
    int64_t pos; /* the fetch offset the broker's session holds */
    int32_t cur_epoch;
    int32_t last_epoch; /* taken under mu: the request is built later */
} spart;

typedef struct fsession {
    int32_t node;
    int32_t id, epoch; /* id 0: none yet */
    bool inflight;
    spart *v;
    int n, cap;
} fsession;

struct kfk__fetcher {
    kfk__consumer *cs;
    kfk__timer *timer;
    bool stopped;
    fsession *s;
    int ns, caps;
    int64_t next_commit_ms;
    /* conf */
    int32_t max_wait_ms, min_bytes, max_bytes, part_max_bytes;
    int64_t backoff_ms, backoff_max_ms;
    const char *rack;
};

static void run(kfk__fetcher *f);

static int64_t backoff(const kfk__fetcher *f, int failures)
{
    int shift = failures < 10 ? failures : 10;
    int64_t b = f->backoff_ms << shift;
    return b > f->backoff_max_ms ? f->backoff_max_ms : b;
}

static fsession *session_of(kfk__fetcher *f, int32_t node)
{
    for (int i = 0; i < f->ns; i++)
        if (f->s[i].node == node)
            return &f->s[i];
    if (f->ns == f->caps) {
        int cap = f->caps ? f->caps * 2 : 8;
        fsession *s = kfk__realloc(f->s, (size_t)cap * sizeof(*s));
        if (!s)
            return NULL;
        f->s = s;
        f->caps = cap;
    }
    fsession *s = &f->s[f->ns++];
    memset(s, 0, sizeof(*s));
    s->node = node;
    return s;
}

static void session_reset(fsession *s)
{
    s->id = 0;
    s->epoch = 0;
    s->n = 0;
}

/* ---- offset resets ------------------------------------------------------------ */

/* Applies auto.offset.reset to tp (mu held): a lookup of the log start,
 * end or a time; or, with none, a stop and an event. */
static void reset_offset(kfk__consumer *cs, kfk__toppar *tp, const char *why)
{
    switch (cs->reset) {
    case KFK__OFFSET_RESET_EARLIEST:
        kfk__tp_start(cs, tp, KFK_OFFSET_BEGINNING, -1);
        break;
    case KFK__OFFSET_RESET_LATEST:
        kfk__tp_start(cs, tp, KFK_OFFSET_END, -1);
        break;
    case KFK__OFFSET_RESET_BY_DURATION:
        kfk__tp_start(cs, tp, KFK_OFFSET_END, -1);
        tp->spec = -(kfk__wall_ms() - cs->reset_ms) - 10; /* a timestamp */
        break;
    default:
        tp->fstate = TP_STOPPED;
        kfk__tp_event(cs, tp, KFK_ERR__NO_OFFSET, tp->fetch_pos,
                      "%s [%d]: %s and auto.offset.reset is none", tp->topic,
                      (int)tp->partition, why);
        return;
    }
    KFK__LOG(&cs->k->log, KFK__LOG_INFO, KFK__DEBUG_FETCH, "%s [%d]: %s: resetting by auto.offset.reset",
             tp->topic, (int)tp->partition, why);
}

/* tp->spec below -2 encodes a timestamp lookup: -(ts) - 10. */
static int64_t spec_timestamp(int64_t spec)
{
    return spec == KFK_OFFSET_BEGINNING ? -2 : spec == KFK_OFFSET_END ? -1 : -(spec + 10);
}

void kfk__fetcher_committed(kfk__consumer *cs, kfk__toppar *tp, uint32_t version, int err,
                            int64_t offset, int32_t epoch)
{
    pthread_mutex_lock(&cs->mu);
    if (tp->version == version && tp->fstate == TP_LOOKUP) {
        if (err) {
            tp->fstate = TP_NEED_OFFSET;
            tp->retry_at = kfk__now_ms() + backoff(cs->f, tp->failures++);
        } else if (offset >= 0) {
            tp->committed = offset;
            kfk__tp_start(cs, tp, offset, epoch);
        } else {
            reset_offset(cs, tp, "no committed offset");
        }
    }
    pthread_mutex_unlock(&cs->mu);
    kfk__fetcher_wakeup(cs);
}

/* ---- ListOffsets for start positions --------------------------------------------- */

typedef struct lo_item {
    kfk__toppar *tp;
    uint32_t version;
    int64_t ts;
    int32_t epoch;
} lo_item;

typedef struct lo_ctx {
    kfk__fetcher *f;
    lo_item *items;
    int n;
} lo_ctx;

static void *build_list_offsets(int16_t version, kfk__arena *a, void *opaque)
{
    lo_ctx *c = opaque;
    (void)version;
    kfk__list_offsets_request *rq = kfk__list_offsets_new(a, c->f->cs->isolation, c->n);
    if (!rq)
        return NULL;
    for (int i = 0; i < c->n; i++) {
        const char *name = c->items[i].tp->topic;
        int32_t t;
        for (t = 0; t < rq->topics.n; t++)
            if (kfk__str_eq(rq->topics.v[t].name, name))
                break;
        kfk__list_offsets_request_topic *rt = &rq->topics.v[t];
        if (t == rq->topics.n) {
            rq->topics.n++;
            rt->name = kfk__str_c(name);
            rt->partitions.v =
                kfk__struct_array_new(a, &kfk__list_offsets_request_partition_desc, c->n);
            if (!rt->partitions.v)
                return NULL;
        }
        kfk__list_offsets_request_partition *p = &rt->partitions.v[rt->partitions.n++];
        p->partition_index = c->items[i].tp->partition;
        p->current_leader_epoch = c->items[i].epoch;
        p->timestamp = c->items[i].ts;
        p->max_num_offsets = 1;
    }
    return rq;
}

static void on_list_offsets(kfk__cbroker *b, int err, int16_t version, void *resp, void *opaque)
{
    lo_ctx *c = opaque;
    kfk__consumer *cs = c->f->cs;
    kfk__list_offsets_response *r = resp;
    (void)b;
    (void)version;
    bool refresh = false;
    pthread_mutex_lock(&cs->mu);
    for (int i = 0; i < c->n; i++) {
        kfk__toppar *tp = c->items[i].tp;
        if (tp->version != c->items[i].version || tp->fstate != TP_LOOKUP)
            continue;
        const kfk__list_offsets_response_partition_response *pr = NULL;
        for (int32_t t = 0; r && !err && t < r->topics.n && !pr; t++)
            if (kfk__str_eq(r->topics.v[t].name, tp->topic))
                for (int32_t k = 0; k < r->topics.v[t].partitions.n; k++)
                    if (r->topics.v[t].partitions.v[k].partition_index == tp->partition)
                        pr = &r->topics.v[t].partitions.v[k];
        int e = err ? err : pr ? pr->error_code : KFK_ERR__MALFORMED;
        if (!e && pr->offset >= 0) {
            kfk__tp_start(cs, tp, pr->offset, pr->leader_epoch);
            continue;
        }
        if (!e) /* no record at or after that time: the end */
            c->items[i].ts = -1;
        tp->fstate = TP_NEED_OFFSET;
        if (!e)
            tp->spec = KFK_OFFSET_END;
        tp->retry_at = e ? kfk__now_ms() + backoff(c->f, tp->failures++) : 0;
        refresh |= e != 0;
        if (e)
            KFK__DBG(&cs->k->log, KFK__DEBUG_FETCH, "%s [%d]: offset lookup failed: %s",
                     tp->topic, (int)tp->partition, kfk_err_str((kfk_err_t)e));
    }
    pthread_mutex_unlock(&cs->mu);
    if (refresh)
        kfk__client_metadata_refresh(cs->k->client);
    kfk__fetcher *f = c->f;
    kfk__free(c->items);
    kfk__free(c);
    if (!f->stopped)
        kfk__fetcher_wakeup(cs);
}

/* ---- Fetch ------------------------------------------------------------------------- */

typedef struct fetch_ctx {
    kfk__fetcher *f;
    int32_t node;
    int32_t sess_id, sess_epoch;
    bool full;
    spart *send;
    int nsend;
    spart *forget;
    int nforget;
} fetch_ctx;

static void *build_fetch(int16_t version, kfk__arena *a, void *opaque)
{
    fetch_ctx *c = opaque;
    kfk__fetcher *f = c->f;
    (void)version;
    kfk__fetch_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    if (!rq)
        return NULL;
    kfk__msg_init(&kfk__desc_fetch_request, rq);
    rq->replica_id = -1;
    rq->max_wait_ms = f->max_wait_ms;
    rq->min_bytes = f->min_bytes;
    rq->max_bytes = f->max_bytes;
    rq->isolation_level = (int8_t)f->cs->isolation;
    rq->session_id = c->sess_id;
    rq->session_epoch = c->sess_epoch;
    rq->rack_id = kfk__str_c(f->rack ? f->rack : "");
    int cap = c->nsend ? c->nsend : 1;
    rq->topics.v = kfk__struct_array_new(a, &kfk__fetch_request_topic_desc, cap);
    if (!rq->topics.v)
        return NULL;
    for (int i = 0; i < c->nsend; i++) {
        const spart *sp = &c->send[i];
        int32_t t;
        for (t = 0; t < rq->topics.n; t++)
            if (kfk__str_eq(rq->topics.v[t].topic, sp->tp->topic))
                break;
        kfk__fetch_request_topic *rt = &rq->topics.v[t];
        if (t == rq->topics.n) {
            rq->topics.n++;
            rt->topic = kfk__str_c(sp->tp->topic);
            rt->partitions.v = kfk__struct_array_new(a, &kfk__fetch_request_partition_desc, cap);
            if (!rt->partitions.v)
                return NULL;
        }
        kfk__fetch_request_partition *p = &rt->partitions.v[rt->partitions.n++];
        p->partition = sp->tp->partition;
        p->current_leader_epoch = sp->cur_epoch;
        p->fetch_offset = sp->pos;
        p->last_fetched_epoch = sp->last_epoch;
        p->log_start_offset = -1;
        p->partition_max_bytes = f->part_max_bytes;
    }
    if (c->nforget) {
        rq->forgotten_topics_data.v =
            kfk__struct_array_new(a, &kfk__fetch_request_forgotten_topic_desc, c->nforget);
        if (!rq->forgotten_topics_data.v)
            return NULL;
        for (int i = 0; i < c->nforget; i++) {
            const spart *sp = &c->forget[i];
            int32_t t;
            for (t = 0; t < rq->forgotten_topics_data.n; t++)
                if (kfk__str_eq(rq->forgotten_topics_data.v[t].topic, sp->tp->topic))
                    break;
            kfk__fetch_request_forgotten_topic *ft = &rq->forgotten_topics_data.v[t];
            if (t == rq->forgotten_topics_data.n) {
                rq->forgotten_topics_data.n++;
                ft->topic = kfk__str_c(sp->tp->topic);
                ft->partitions.v = kfk__arena_alloc(a, (size_t)c->nforget * sizeof(int32_t));
                if (!ft->partitions.v)
                    return NULL;
            }
            ft->partitions.v[ft->partitions.n++] = sp->tp->partition;
        }
    }
    return rq;
}

static bool leader_error(int e)
{
    switch (e) {
    case KFK_ERR_NOT_LEADER_OR_FOLLOWER:
    case KFK_ERR_LEADER_NOT_AVAILABLE:
    case KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION:
    case KFK_ERR_FENCED_LEADER_EPOCH:
    case KFK_ERR_UNKNOWN_LEADER_EPOCH:
    case KFK_ERR_KAFKA_STORAGE_ERROR:
    case KFK_ERR_REPLICA_NOT_AVAILABLE:
    case KFK_ERR_OFFSET_NOT_AVAILABLE:
    case KFK_ERR_UNKNOWN_TOPIC_ID:
    case KFK_ERR_INCONSISTENT_TOPIC_ID:
        return true;
    default:
        return false;
    }
}

/* Where the complete batches of records end: *next is the offset after
 * the last one (with *epoch its leader epoch), the return value the bytes
 * they take. 0 if no batch is complete. */
static size_t complete_span(const uint8_t *data, size_t len, int64_t *next, int32_t *epoch)
{
    kfk__records_iter it;
    kfk__records_entry e;
    size_t end = 0;
    kfk__records_iter_init(&it, data, len);
    while (kfk__records_next(&it, &e) == 1) {
        if (e.magic >= 2) {
            kfk__batch b;
            if (kfk__batch_parse(e.data, e.size, &b))
                break; /* poll reports the corruption */
            *next = kfk__batch_last_offset(&b) + 1;
            *epoch = b.h.leader_epoch;
        } else {
            *next = e.offset + 1; /* a wrapper carries its last inner offset */
        }
        end = e.pos + e.size;
    }
    return end;
}

/* True when the first entry is complete but not a batch we can read. */
static bool first_unparsable(const uint8_t *data, size_t len)
{
    kfk__records_iter it;
    kfk__records_entry e;
    kfk__batch b;
    kfk__records_iter_init(&it, data, len);
    int r = kfk__records_next(&it, &e);
    if (r < 0)
        return true;
    return r == 1 && e.magic >= 2 && kfk__batch_parse(e.data, e.size, &b) != 0;
}

static int cmp_aborted(const void *x, const void *y)
{
    int64_t a = ((const kfk__aborted *)x)->first_offset, b = ((const kfk__aborted *)y)->first_offset;
    return (a > b) - (a < b);
}

/* With enable.partition.eof: tells the application once per arrival at
 * the end (mu held). */
static void maybe_eof(kfk__consumer *cs, kfk__toppar *tp)
{
    int64_t end = cs->isolation ? tp->lso : tp->hw;
    if (!cs->partition_eof || tp->eof_sent || end < 0 || tp->fetch_pos < end)
        return;
    tp->eof_sent = true;
    kfk__tp_event(cs, tp, KFK_ERR__PARTITION_EOF, tp->fetch_pos,
                  "reached the end of %s [%d] at offset %lld", tp->topic, (int)tp->partition,
                  (long long)tp->fetch_pos);
}

/* One partition's answer (mu held). Returns true if a chunk took fb. */
static bool on_partition(kfk__fetcher *f, kfk__cbroker *b, spart *sp,
                         const kfk__fetch_response_partition_data *pd, kfk__fbuf **fb,
                         bool *refresh)
{
    kfk__consumer *cs = f->cs;
    kfk__toppar *tp = sp->tp;
    if (tp->version != sp->version || !tp->assigned || tp->fstate != TP_ACTIVE ||
        tp->fetch_pos != sp->pos) {
        sp->pos = -2; /* send it again */
        return false;
    }
    int e = pd->error_code;
    if (e == 0 || e == KFK_ERR_OFFSET_OUT_OF_RANGE) {
        tp->hw = pd->high_watermark;
        tp->lso = pd->last_stable_offset >= 0 ? pd->last_stable_offset : pd->high_watermark;
        tp->log_start = pd->log_start_offset;
    }
    if (e == KFK_ERR_OFFSET_OUT_OF_RANGE) {
        char why[96];
        snprintf(why, sizeof(why), "offset %lld is out of range", (long long)tp->fetch_pos);
        reset_offset(cs, tp, why);
        return false;
    }
    if (e) {
        if (leader_error(e)) {
            if (pd->current_leader.leader_id >= 0)
                kfk__mdcache_set_leader(kfk__client_metadata(cs->k->client), tp->topic,
                                        tp->partition, pd->current_leader.leader_id,
                                        pd->current_leader.leader_epoch);
            *refresh = true;
            tp->retry_at = kfk__now_ms() + backoff(f, tp->failures++);
            KFK__DBG(&cs->k->log, KFK__DEBUG_FETCH, "%s [%d] at %s: %s", tp->topic,
                     (int)tp->partition, kfk__cbroker_name(b), kfk_err_name((kfk_err_t)e));
        } else {
            tp->retry_at = kfk__now_ms() + f->backoff_max_ms;
            kfk__tp_event(cs, tp, e, tp->fetch_pos, "fetching %s [%d]: %s", tp->topic,
                          (int)tp->partition, kfk_err_str((kfk_err_t)e));
        }
        return false;
    }
    tp->failures = 0;
    if (pd->diverging_epoch.epoch >= 0 && pd->diverging_epoch.end_offset >= 0 &&
        pd->diverging_epoch.end_offset < tp->fetch_pos) {
        /* KIP-320: the leader's log diverged from what we read: go back to
         * where our epoch's history ends on the leader. */
        KFK__LOG(&cs->k->log, KFK__LOG_WARNING, KFK__DEBUG_FETCH,
                 "%s [%d]: log truncation detected at %lld (epoch %d): resuming from %lld",
                 tp->topic, (int)tp->partition, (long long)tp->fetch_pos,
                 (int)pd->diverging_epoch.epoch, (long long)pd->diverging_epoch.end_offset);
        kfk__tp_start(cs, tp, pd->diverging_epoch.end_offset, pd->diverging_epoch.epoch);
        return false;
    }
    int64_t next = tp->fetch_pos;
    int32_t epoch = tp->fetch_epoch;
    size_t span = pd->records.len > 0
                      ? complete_span(pd->records.ptr, (size_t)pd->records.len, &next, &epoch)
                      : 0;
    if (span == 0 && pd->records.len > 0 && first_unparsable(pd->records.ptr,
                                                             (size_t)pd->records.len)) {
        /* poll decodes it, reports the corruption and stops the partition */
        span = (size_t)pd->records.len;
        next = tp->fetch_pos;
    } else if (span == 0 || next <= tp->fetch_pos) {
        maybe_eof(cs, tp);
        return false;
    }
    kfk__chunk *ch = kfk__calloc(1, sizeof(*ch));
    if (!ch)
        return false;
    if (cs->isolation && pd->aborted_transactions.n > 0) {
        ch->aborted = kfk__malloc((size_t)pd->aborted_transactions.n * sizeof(*ch->aborted));
        if (!ch->aborted) {
            kfk__free(ch);
            return false;
        }
        for (int32_t i = 0; i < pd->aborted_transactions.n; i++) {
            ch->aborted[i].pid = pd->aborted_transactions.v[i].producer_id;
            ch->aborted[i].first_offset = pd->aborted_transactions.v[i].first_offset;
        }
        ch->naborted = pd->aborted_transactions.n;
        qsort(ch->aborted, (size_t)ch->naborted, sizeof(*ch->aborted), cmp_aborted);
    }
    if (!*fb) {
        *fb = kfk__calloc(1, sizeof(**fb));
        if (!*fb || !((*fb)->frame = kfk__cbroker_take_frame(b))) {
            kfk__free(*fb);
            *fb = NULL;
            kfk__chunk_free(ch);
            return false;
        }
        atomic_store(&(*fb)->refs, 1); /* the handler's, dropped at its end */
    }
    atomic_fetch_add(&(*fb)->refs, 1);
    ch->fb = *fb;
    ch->tp = tp;
    ch->version = tp->version;
    ch->records = pd->records.ptr;
    ch->len = span;
    ch->offset = tp->fetch_pos;
    tp->fetch_pos = next;
    tp->fetch_epoch = epoch;
    tp->eof_sent = false;
    kfk__tp_queue(cs, ch);
    /* an incremental fetch session leaves quiet partitions out of its
     * responses, so the end is noticed when the data reaches it */
    maybe_eof(cs, tp);
    return true;
}

static spart *find_spart(fsession *s, const kfk__str *topic, int32_t partition)
{
    for (int i = 0; i < s->n; i++)
        if (s->v[i].tp->partition == partition && kfk__str_eq(*topic, s->v[i].tp->topic))
            return &s->v[i];
    return NULL;
}

static void on_fetch(kfk__cbroker *b, int err, int16_t version, void *resp, void *opaque)
{
    fetch_ctx *c = opaque;
    kfk__fetcher *f = c->f;
    kfk__consumer *cs = f->cs;
    kfk__fetch_response *r = resp;
    (void)version;
    bool refresh = false;
    kfk__fbuf *fb = NULL;
    pthread_mutex_lock(&cs->mu);
    fsession *s = session_of(f, c->node);
    if (s) {
        s->inflight = false;
        for (int i = 0; i < s->n; i++)
            s->v[i].tp->in_session_fetch = false;
    }
    int top = err ? err : r ? r->error_code : KFK_ERR__MALFORMED;
    if (!s) {
        /* out of memory earlier: nothing to match */
    } else if (top) {
        if (top != KFK_ERR__DESTROYED)
            KFK__LOG(&cs->k->log,
                     top == KFK_ERR_FETCH_SESSION_ID_NOT_FOUND ||
                             top == KFK_ERR_INVALID_FETCH_SESSION_EPOCH
                         ? KFK__LOG_DEBUG
                         : KFK__LOG_INFO,
                     KFK__DEBUG_FETCH, "fetch from %s failed: %s", kfk__cbroker_name(b),
                     kfk_err_str((kfk_err_t)top));
        session_reset(s);
        if (top != KFK_ERR_FETCH_SESSION_ID_NOT_FOUND &&
            top != KFK_ERR_INVALID_FETCH_SESSION_EPOCH) {
            int64_t at = kfk__now_ms() + f->backoff_ms;
            for (int i = 0; i < c->nsend; i++)
                c->send[i].tp->retry_at = at;
            refresh = true;
        }
    } else {
        if (c->full) {
            s->id = r->session_id;
            s->epoch = r->session_id ? 1 : 0;
        } else {
            s->epoch = s->epoch == INT32_MAX ? 1 : s->epoch + 1;
        }
        for (int32_t t = 0; t < r->responses.n; t++) {
            const kfk__fetch_response_fetchable_topic_response *tr = &r->responses.v[t];
            for (int32_t p = 0; p < tr->partitions.n; p++) {
                spart *sp = find_spart(s, &tr->topic, tr->partitions.v[p].partition_index);
                if (sp)
                    on_partition(f, b, sp, &tr->partitions.v[p], &fb, &refresh);
            }
        }
    }
    pthread_mutex_unlock(&cs->mu);
    if (fb && atomic_fetch_sub(&fb->refs, 1) == 1) {
        kfk__free(fb->frame);
        kfk__free(fb);
    }
    if (refresh)
        kfk__client_metadata_refresh(cs->k->client);
    kfk__free(c->send);
    kfk__free(c->forget);
    kfk__free(c);
    if (!f->stopped)
        run(f);
}

/* Sends node's fetch for the partitions in want (mu held). */
static void send_fetch(kfk__fetcher *f, int32_t node, spart *want, int nwant)
{
    kfk__consumer *cs = f->cs;
    fsession *s = session_of(f, node);
    kfk__cbroker *b = kfk__client_broker(cs->k->client, node);
    if (!s || !b || s->inflight)
        return;
    fetch_ctx *c = kfk__calloc(1, sizeof(*c));
    spart *send = kfk__malloc((size_t)nwant * sizeof(*send));
    spart *forget = kfk__malloc((size_t)(s->n ? s->n : 1) * sizeof(*forget));
    if (!c || !send || !forget) {
        kfk__free(c);
        kfk__free(send);
        kfk__free(forget);
        return;
    }
    c->f = f;
    c->node = node;
    c->full = s->id == 0;
    c->sess_id = s->id;
    c->sess_epoch = s->id ? s->epoch : 0;
    for (int i = 0; i < nwant; i++) {
        spart *old = NULL;
        for (int k = 0; !c->full && k < s->n && !old; k++)
            if (s->v[k].tp == want[i].tp)
                old = &s->v[k];
        if (c->full || !old || old->pos != want[i].pos || old->cur_epoch != want[i].cur_epoch)
            send[c->nsend++] = want[i];
    }
    for (int k = 0; !c->full && k < s->n; k++) {
        bool kept = false;
        for (int i = 0; i < nwant && !kept; i++)
            kept = want[i].tp == s->v[k].tp;
        if (!kept)
            forget[c->nforget++] = s->v[k];
    }
    if (nwant > s->cap) {
        spart *v = kfk__realloc(s->v, (size_t)nwant * sizeof(*v));
        if (!v) {
            kfk__free(send);
            kfk__free(forget);
            kfk__free(c);
            return;
        }
        s->v = v;
        s->cap = nwant;
    }
    memcpy(s->v, want, (size_t)nwant * sizeof(*want));
    s->n = nwant;
    c->send = send;
    c->forget = forget;
    if (kfk__cbroker_request(b, 1, 4, FETCH_MAX_VER, build_fetch, on_fetch, c)) {
        session_reset(s);
        kfk__free(send);
        kfk__free(forget);
        kfk__free(c);
        return;
    }
    s->inflight = true;
    for (int i = 0; i < nwant; i++)
        want[i].tp->in_session_fetch = true;
}

/* ---- the pass ---------------------------------------------------------------------- */

typedef struct byleader {
    int32_t node;
    spart *fetch;
    int nfetch;
    int at_end;   /* of fetch: partitions with nothing more yet */
    int draining; /* partitions whose data waits for poll */
    lo_item *lookup;
    int nlookup;
} byleader;

static byleader *leader_slot(byleader **v, int *n, int *cap, int32_t node, int total)
{
    for (int i = 0; i < *n; i++)
        if ((*v)[i].node == node)
            return &(*v)[i];
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 8;
        byleader *nv = kfk__realloc(*v, (size_t)c * sizeof(*nv));
        if (!nv)
            return NULL;
        *v = nv;
        *cap = c;
    }
    byleader *l = &(*v)[(*n)++];
    memset(l, 0, sizeof(*l));
    l->node = node;
    l->fetch = kfk__malloc((size_t)total * sizeof(*l->fetch));
    l->lookup = kfk__malloc((size_t)total * sizeof(*l->lookup));
    if (!l->fetch || !l->lookup) {
        kfk__free(l->fetch);
        kfk__free(l->lookup);
        (*n)--;
        return NULL;
    }
    return l;
}

static void auto_commit(kfk__fetcher *f, int64_t now)
{
    kfk__consumer *cs = f->cs;
    if (!cs->auto_commit || !cs->g || cs->closing || now < f->next_commit_ms)
        return; /* (close commits the positions itself) */
    f->next_commit_ms = now + cs->auto_commit_ms;
    int n = 0;
    for (kfk__toppar *tp = cs->tps; tp; tp = tp->next)
        n += tp->assigned && tp->consumed >= 0 && tp->consumed != tp->committed;
    if (!n)
        return;
    kfk_topic_partition_t *parts = kfk__calloc((size_t)n, sizeof(*parts));
    if (!parts)
        return;
    int i = 0;
    for (kfk__toppar *tp = cs->tps; tp; tp = tp->next)
        if (tp->assigned && tp->consumed >= 0 && tp->consumed != tp->committed) {
            parts[i].topic = tp->topic;
            parts[i].partition = tp->partition;
            parts[i].offset = tp->consumed;
            parts[i].leader_epoch = tp->consumed_epoch;
            i++;
        }
    kfk__call *c = kfk__call_new(cs, parts, (size_t)n);
    kfk__free(parts);
    if (!c)
        return;
    c->async = true;
    c->deadline_ms = now + cs->api_timeout_ms;
    kfk__offsets_commit(cs, c);
    kfk__call_unref(c);
}

static void run(kfk__fetcher *f)
{
    kfk__consumer *cs = f->cs;
    kfk__mdcache *md = kfk__client_metadata(cs->k->client);
    int64_t now = kfk__now_ms();
    int64_t next = now + IDLE_MS;
    int total = 0;
    byleader *ls = NULL;
    int nl = 0, capl = 0;
    kfk__toppar **stored = NULL;
    int nstored = 0;
    bool refresh = false;
    pthread_mutex_lock(&cs->mu);
    auto_commit(f, now);
    for (kfk__toppar *tp = cs->tps; tp; tp = tp->next)
        total += tp->assigned;
    if (total)
        stored = kfk__malloc((size_t)total * sizeof(*stored));
    for (kfk__toppar *tp = cs->tps; tp && stored; tp = tp->next) {
        if (!tp->assigned || tp->paused || tp->in_session_fetch || cs->closing)
            continue;
        if (tp->retry_at > now) {
            if (tp->retry_at < next)
                next = tp->retry_at;
            continue;
        }
        if (tp->fstate == TP_NEED_OFFSET && tp->spec == KFK_OFFSET_STORED) {
            if (!cs->group_id) {
                reset_offset(cs, tp, "no group to keep offsets");
            } else {
                tp->fstate = TP_LOOKUP;
                stored[nstored++] = tp;
                continue;
            }
        }
        if (tp->fstate != TP_NEED_OFFSET && tp->fstate != TP_ACTIVE)
            continue;
        int32_t leader = -1, epoch = -1;
        if (!kfk__mdcache_leader(md, tp->topic, tp->partition, &leader, &epoch) || leader < 0 ||
            !kfk__client_broker(cs->k->client, leader)) {
            refresh = true;
            continue;
        }
        byleader *l = leader_slot(&ls, &nl, &capl, leader, total);
        if (!l)
            continue;
        if (tp->fstate == TP_ACTIVE && tp->nchunks > 0) {
            l->draining++; /* fetched again once poll took its data */
            continue;
        }
        if (tp->fstate == TP_NEED_OFFSET) {
            tp->fstate = TP_LOOKUP;
            l->lookup[l->nlookup++] =
                (lo_item){tp, tp->version, spec_timestamp(tp->spec), epoch};
        } else {
            l->fetch[l->nfetch++] = (spart){tp, tp->version, tp->fetch_pos, epoch, tp->fetch_epoch};
            l->at_end += tp->hw >= 0 && tp->fetch_pos >= (cs->isolation ? tp->lso : tp->hw);
        }
    }
    for (int i = 0; i < nl; i++) {
        byleader *l = &ls[i];
        /* A fetch of only partitions at their end would wait out
         * fetch.max.wait.ms at the broker, and hold up the partitions
         * poll is draining (one fetch per broker at a time): wait for
         * those instead; taking their data wakes us. */
        bool idle_only = l->draining > 0 && l->at_end == l->nfetch;
        if (l->nfetch && !idle_only)
            send_fetch(f, l->node, l->fetch, l->nfetch);
        if (l->nlookup) {
            lo_ctx *c = kfk__calloc(1, sizeof(*c));
            if (c) {
                c->f = f;
                c->items = l->lookup;
                c->n = l->nlookup;
                l->lookup = NULL;
            }
            kfk__cbroker *b = kfk__client_broker(cs->k->client, l->node);
            if (!c || kfk__cbroker_request(b, 2, 1, 7, build_list_offsets, on_list_offsets, c)) {
                for (int k = 0; c && k < c->n; k++)
                    c->items[k].tp->fstate = TP_NEED_OFFSET;
                if (c)
                    kfk__free(c->items);
                kfk__free(c);
            }
        }
        kfk__free(l->fetch);
        kfk__free(l->lookup);
    }
    if (nstored)
        kfk__offsets_lookup(cs, stored, nstored);
    pthread_mutex_unlock(&cs->mu);
    kfk__free(ls);
    kfk__free(stored);
    if (refresh)
        kfk__client_metadata_refresh(cs->k->client);
    if (cs->auto_commit && f->next_commit_ms < next)
        next = f->next_commit_ms;
    kfk__timer_again(f->timer, next > now ? next - now : 0);
}

/* ---- life cycle -------------------------------------------------------------------- */

static void on_timer(kfk__timer *t, void *arg)
{
    (void)t;
    run(arg);
}

static void start(kfk__client *c, void *arg)
{
    kfk__fetcher *f = arg;
    f->timer = kfk__timer_add(kfk__client_loop(c), 0, on_timer, f);
}

static void on_wakeup(kfk__client *c, void *arg)
{
    kfk__fetcher *f = arg;
    (void)c;
    if (!f->stopped && f->timer)
        kfk__timer_again(f->timer, 0);
}

static void stop(kfk__client *c, void *arg)
{
    kfk__fetcher *f = arg;
    (void)c;
    f->stopped = true;
    kfk__timer_del(f->timer);
    f->timer = NULL;
}

int kfk__fetcher_new(kfk__consumer *cs, kfk__fetcher **out)
{
    kfk__fetcher *f = kfk__calloc(1, sizeof(*f));
    if (!f)
        return KFK_ERR__NOMEM;
    const kfk_conf_t *conf = cs->k->conf;
    f->cs = cs;
    f->max_wait_ms = (int32_t)kfk__conf_int(conf, KFK__CONF_FETCH_MAX_WAIT_MS);
    f->min_bytes = (int32_t)kfk__conf_int(conf, KFK__CONF_FETCH_MIN_BYTES);
    f->max_bytes = (int32_t)kfk__conf_int(conf, KFK__CONF_FETCH_MAX_BYTES);
    f->part_max_bytes = (int32_t)kfk__conf_int(conf, KFK__CONF_MAX_PARTITION_FETCH_BYTES);
    f->backoff_ms = kfk__conf_int(conf, KFK__CONF_RETRY_BACKOFF_MS);
    f->backoff_max_ms = kfk__conf_int(conf, KFK__CONF_RETRY_BACKOFF_MAX_MS);
    f->rack = kfk__conf_str(conf, KFK__CONF_CLIENT_RACK);
    f->next_commit_ms = kfk__now_ms() + cs->auto_commit_ms;
    cs->f = f;
    int e = kfk__client_post(cs->k->client, start, f);
    if (e) {
        cs->f = NULL;
        kfk__free(f);
        return e;
    }
    *out = f;
    return 0;
}

void kfk__fetcher_wakeup(kfk__consumer *cs)
{
    if (cs->f)
        kfk__client_post(cs->k->client, on_wakeup, cs->f);
}

void kfk__fetcher_stop(kfk__consumer *cs)
{
    kfk__client_post(cs->k->client, stop, cs->f);
}

void kfk__fetcher_free(kfk__fetcher *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->ns; i++)
        kfk__free(f->s[i].v);
    kfk__free(f->s);
    kfk__free(f);
}
