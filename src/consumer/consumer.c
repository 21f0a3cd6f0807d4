/*
 * consumer.c: the public consumer (kfk/consumer.h): creation, assignment,
 * seek/pause/position, and poll, which decodes fetched chunks on the
 * calling thread into messages pointing at the fetched bytes.
 */
#include "consumer/consumer_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/alloc.h"
#include "net/loop.h"

static const kfk__handle_ops consumer_ops;

kfk__consumer *kfk__consumer_of(kfk_t *k)
{
    return k && k->ops == &consumer_ops ? k->impl : NULL;
}

/* ---- conf callbacks ------------------------------------------------------------ */

static kfk_rebalance_cb *rebalance_cb_of(const kfk_conf_t *conf, void **opaque);

kfk_err_t kfk_conf_set_rebalance_cb(kfk_conf_t *conf, kfk_rebalance_cb *cb, void *opaque)
{
    if (!conf)
        return KFK_ERR__INVALID_ARG;
    conf->cbs.rebalance = (void (*)(void))cb;
    conf->cbs.rebalance_opaque = opaque;
    return KFK_ERR_NONE;
}

kfk_err_t kfk_conf_set_commit_cb(kfk_conf_t *conf, kfk_commit_cb *cb, void *opaque)
{
    if (!conf)
        return KFK_ERR__INVALID_ARG;
    conf->cbs.commit = (void (*)(void))cb;
    conf->cbs.commit_opaque = opaque;
    return KFK_ERR_NONE;
}

static kfk_rebalance_cb *rebalance_cb_of(const kfk_conf_t *conf, void **opaque)
{
    *opaque = conf->cbs.rebalance_opaque;
    return (kfk_rebalance_cb *)conf->cbs.rebalance;
}

/* ---- toppars and chunks --------------------------------------------------------- */

kfk__toppar *kfk__tp_find(kfk__consumer *cs, const char *topic, int32_t partition)
{
    for (kfk__toppar *tp = cs->tps; tp; tp = tp->next)
        if (tp->partition == partition && !strcmp(tp->topic, topic))
            return tp;
    return NULL;
}

kfk__toppar *kfk__tp_get(kfk__consumer *cs, const char *topic, int32_t partition)
{
    kfk__toppar *tp = kfk__tp_find(cs, topic, partition);
    if (tp)
        return tp;
    tp = kfk__calloc(1, sizeof(*tp));
    if (!tp || !(tp->topic = kfk__strndup(topic, strlen(topic)))) {
        kfk__free(tp);
        return NULL;
    }
    tp->partition = partition;
    tp->fetch_epoch = tp->app_epoch = -1;
    tp->fetch_pos = tp->app_pos = tp->committed = tp->consumed = -1;
    tp->consumed_epoch = -1;
    tp->hw = tp->lso = tp->log_start = -1;
    tp->next = cs->tps;
    cs->tps = tp;
    return tp;
}

void kfk__chunk_free(kfk__chunk *ch)
{
    if (!ch)
        return;
    if (ch->fb && atomic_fetch_sub(&ch->fb->refs, 1) == 1) {
        kfk__free(ch->fb->frame);
        kfk__free(ch->fb);
    }
    kfk__free(ch->aborted);
    kfk__free(ch);
}

/* Drops tp's queued chunks (mu held). */
static void drop_chunks(kfk__consumer *cs, kfk__toppar *tp)
{
    kfk__chunk **pp = &cs->q_head, *prev = NULL;
    while (*pp) {
        kfk__chunk *ch = *pp;
        if (ch->tp != tp) {
            prev = ch;
            pp = &ch->next;
            continue;
        }
        *pp = ch->next;
        if (cs->q_tail == ch)
            cs->q_tail = prev;
        kfk__chunk_free(ch);
    }
    tp->nchunks = 0;
}

void kfk__tp_start(kfk__consumer *cs, kfk__toppar *tp, int64_t spec, int32_t epoch)
{
    drop_chunks(cs, tp);
    tp->version++;
    tp->eof_sent = false;
    tp->failures = 0;
    tp->retry_at = 0;
    if (spec >= 0) {
        tp->fstate = TP_ACTIVE;
        tp->fetch_pos = tp->app_pos = tp->consumed = spec;
        tp->fetch_epoch = tp->app_epoch = tp->consumed_epoch = epoch;
    } else {
        tp->fstate = TP_NEED_OFFSET;
        tp->spec = spec;
        tp->fetch_pos = tp->app_pos = tp->consumed = -1;
    }
}

void kfk__tp_queue(kfk__consumer *cs, kfk__chunk *ch)
{
    ch->next = NULL;
    if (cs->q_tail)
        cs->q_tail->next = ch;
    else
        cs->q_head = ch;
    cs->q_tail = ch;
    if (ch->tp)
        ch->tp->nchunks++;
    kfk__evq_wake(&cs->k->evq);
}

void kfk__tp_event(kfk__consumer *cs, kfk__toppar *tp, int err, int64_t offset, const char *fmt,
                   ...)
{
    kfk__chunk *ch = kfk__calloc(1, sizeof(*ch));
    if (!ch)
        return;
    ch->tp = tp;
    ch->version = tp ? tp->version : 0;
    ch->err = err;
    ch->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ch->errstr, sizeof(ch->errstr), fmt, ap);
    va_end(ap);
    kfk__tp_queue(cs, ch);
}

kfk_topic_partition_t *kfk__parts_dup(const kfk_topic_partition_t *parts, size_t n)
{
    kfk_topic_partition_t *out = kfk__calloc(n ? n : 1, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = parts[i];
        out[i].topic = parts[i].topic ? kfk__strndup(parts[i].topic, strlen(parts[i].topic)) : NULL;
        out[i].metadata =
            parts[i].metadata ? kfk__strndup(parts[i].metadata, strlen(parts[i].metadata)) : NULL;
        if ((parts[i].topic && !out[i].topic) || (parts[i].metadata && !out[i].metadata)) {
            kfk_topic_partitions_free(out, i + 1);
            return NULL;
        }
    }
    return out;
}

void kfk_topic_partitions_free(kfk_topic_partition_t *parts, size_t n)
{
    if (!parts)
        return;
    for (size_t i = 0; i < n; i++) {
        kfk__free((void *)(uintptr_t)parts[i].topic);
        kfk__free((void *)(uintptr_t)parts[i].metadata);
    }
    kfk__free(parts);
}

void kfk__cevent_queue(kfk__consumer *cs, kfk__cevent *ev)
{
    ev->next = NULL;
    if (cs->ev_tail)
        cs->ev_tail->next = ev;
    else
        cs->ev_head = ev;
    cs->ev_tail = ev;
    kfk__evq_wake(&cs->k->evq);
}

static void cevent_free(kfk__cevent *ev)
{
    kfk_topic_partitions_free(ev->parts, ev->n);
    kfk__free(ev);
}

/* ---- creation ---------------------------------------------------------------------- */

static int consumer_serve(kfk_t *k);
static void consumer_stats(kfk_t *k, void *root);
static void consumer_close_hook(kfk_t *k);
static void consumer_free(kfk_t *k);

static const kfk__handle_ops consumer_ops = {
    .kind = "consumer",
    .serve = consumer_serve,
    .stats = consumer_stats,
    .close = consumer_close_hook,
    .free = consumer_free,
};

static void read_conf(kfk__consumer *cs, const kfk_conf_t *c)
{
    cs->isolation = (int)kfk__conf_int(c, KFK__CONF_ISOLATION_LEVEL);
    cs->check_crcs = kfk__conf_int(c, KFK__CONF_CHECK_CRCS) != 0;
    cs->partition_eof = kfk__conf_int(c, KFK__CONF_ENABLE_PARTITION_EOF) != 0;
    cs->auto_commit = kfk__conf_int(c, KFK__CONF_ENABLE_AUTO_COMMIT) != 0;
    cs->auto_commit_ms = kfk__conf_int(c, KFK__CONF_AUTO_COMMIT_INTERVAL_MS);
    cs->reset = (int)kfk__conf_int(c, KFK__CONF_AUTO_OFFSET_RESET);
    cs->reset_ms = kfk__conf_arg(c, KFK__CONF_AUTO_OFFSET_RESET);
    cs->max_poll_records = (int32_t)kfk__conf_int(c, KFK__CONF_MAX_POLL_RECORDS);
    cs->max_poll_interval_ms = kfk__conf_int(c, KFK__CONF_MAX_POLL_INTERVAL_MS);
    cs->api_timeout_ms = kfk__conf_int(c, KFK__CONF_DEFAULT_API_TIMEOUT_MS);
    const char *g = kfk__conf_str(c, KFK__CONF_GROUP_ID);
    cs->group_id = g && *g ? g : NULL;
    cs->rebalance_cb = rebalance_cb_of(c, &cs->rebalance_opaque);
    cs->commit_cb = (kfk_commit_cb *)c->cbs.commit;
    cs->commit_opaque = c->cbs.commit_opaque;
    if (!cs->group_id)
        cs->auto_commit = false;
}

kfk_t *kfk_consumer_new(const kfk_conf_t *conf, char *errstr, size_t errstr_size)
{
    char scratch[4];
    kfk_t *k = kfk__handle_alloc(conf, sizeof(kfk__consumer), "kfk_consumer_new", &errstr,
                                 &errstr_size, scratch, sizeof(scratch));
    if (!k)
        return NULL;
    kfk__consumer *cs = k->impl;
    cs->k = k;
    pthread_mutex_init(&cs->mu, NULL);
    pthread_mutex_init(&cs->poll_mu, NULL);
    atomic_store(&cs->last_poll_ms, kfk__now_ms());
    int e = kfk__handle_init(k, &consumer_ops, KFK__CLIENT_CONSUMER, conf, errstr, errstr_size);
    if (!e && kfk__conf_int(k->conf, KFK__CONF_SECURITY_PROTOCOL) != 0) {
        snprintf(errstr, errstr_size, "security.protocol: only PLAINTEXT is implemented so far");
        e = KFK_ERR__INVALID_CONFIG;
    }
    if (!e) {
        read_conf(cs, k->conf);
        e = kfk__zctx_new(&cs->z);
    }
    if (!e) {
        kfk__client_conf cc;
        kfk__handle_client_conf(k, &cc);
        e = kfk__handle_start(k, &cc, errstr, errstr_size);
    }
    if (!e && cs->group_id) /* before the fetcher, which reads cs->g */
        e = kfk__group_new(cs, &cs->g);
    if (!e)
        e = kfk__fetcher_new(cs, &cs->f);
    if (e) {
        if (!errstr[0])
            snprintf(errstr, errstr_size, "%s", kfk_err_str((kfk_err_t)e));
        cs->closing = true;
        kfk_destroy(k);
        return NULL;
    }
    KFK__DBG(&k->log, KFK__DEBUG_CONSUMER, "consumer %s created for %s%s%s", k->name,
             k->bootstrap, cs->group_id ? ", group " : "", cs->group_id ? cs->group_id : "");
    return k;
}

/* ---- assignment -------------------------------------------------------------------- */

/* The leader epoch an application gives with an offset. 0 counts as
 * unknown: a zeroed kfk_topic_partition_t must not claim epoch 0, which
 * against a broker at a later epoch would report a diverging log and move
 * the position back (KIP-320). Skipping the check for a real epoch 0
 * costs nothing. */
static int32_t app_epoch(const kfk_topic_partition_t *p)
{
    return p->leader_epoch > 0 ? p->leader_epoch : -1;
}

kfk_err_t kfk_consumer_assign(kfk_t *k, const kfk_topic_partition_t *parts, size_t n)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (!cs || (n && !parts))
        return KFK_ERR__INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (!parts[i].topic || !*parts[i].topic || parts[i].partition < 0 ||
            (parts[i].offset < 0 && parts[i].offset != KFK_OFFSET_BEGINNING &&
             parts[i].offset != KFK_OFFSET_END && parts[i].offset != KFK_OFFSET_STORED))
            return KFK_ERR__INVALID_ARG;
    pthread_mutex_lock(&cs->mu);
    if (cs->subscribed) {
        pthread_mutex_unlock(&cs->mu);
        return KFK_ERR__STATE;
    }
    kfk_err_t e = KFK_ERR_NONE;
    for (kfk__toppar *tp = cs->tps; tp; tp = tp->next)
        if (tp->assigned) {
            tp->assigned = false;
            drop_chunks(cs, tp);
            tp->version++;
        }
    for (size_t i = 0; i < n && !e; i++) {
        kfk__toppar *tp = kfk__tp_get(cs, parts[i].topic, parts[i].partition);
        if (!tp) {
            e = KFK_ERR__NOMEM;
            break;
        }
        tp->assigned = true;
        tp->paused = false;
        kfk__tp_start(cs, tp, parts[i].offset, app_epoch(&parts[i]));
        kfk__client_want_topic(k->client, parts[i].topic);
    }
    cs->manual = n > 0;
    pthread_mutex_unlock(&cs->mu);
    kfk__fetcher_wakeup(cs);
    return e;
}

kfk_err_t kfk_consumer_assignment(kfk_t *k, kfk_topic_partition_t **parts, size_t *n)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (!cs || !parts || !n)
        return KFK_ERR__INVALID_ARG;
    pthread_mutex_lock(&cs->mu);
    size_t cnt = 0;
    for (kfk__toppar *tp = cs->tps; tp; tp = tp->next)
        cnt += tp->assigned;
    kfk_topic_partition_t *out = kfk__calloc(cnt ? cnt : 1, sizeof(*out));
    size_t i = 0;
    for (kfk__toppar *tp = cs->tps; out && tp; tp = tp->next) {
        if (!tp->assigned)
            continue;
        out[i].topic = kfk__strndup(tp->topic, strlen(tp->topic));
        out[i].partition = tp->partition;
        out[i].offset = tp->app_pos >= 0 ? tp->app_pos : KFK_OFFSET_INVALID;
        out[i].leader_epoch = tp->app_epoch;
        if (!out[i].topic) {
            kfk_topic_partitions_free(out, i);
            out = NULL;
            break;
        }
        i++;
    }
    pthread_mutex_unlock(&cs->mu);
    if (!out)
        return KFK_ERR__NOMEM;
    *parts = out;
    *n = cnt;
    return KFK_ERR_NONE;
}

/* Applies fn to each assigned partition named in parts (mu held); the
 * others get UNKNOWN_TOPIC_OR_PARTITION in err. */
static kfk_err_t each_assigned(kfk_t *k, kfk_topic_partition_t *parts, size_t n,
                               void (*fn)(kfk__consumer *, kfk__toppar *, kfk_topic_partition_t *))
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (!cs || (n && !parts))
        return KFK_ERR__INVALID_ARG;
    kfk_err_t first = KFK_ERR_NONE;
    pthread_mutex_lock(&cs->mu);
    for (size_t i = 0; i < n; i++) {
        kfk__toppar *tp = parts[i].topic ? kfk__tp_find(cs, parts[i].topic, parts[i].partition)
                                         : NULL;
        parts[i].err = KFK_ERR_NONE;
        if (!tp || !tp->assigned)
            parts[i].err = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        else
            fn(cs, tp, &parts[i]);
        if (parts[i].err && !first)
            first = parts[i].err;
    }
    pthread_mutex_unlock(&cs->mu);
    kfk__fetcher_wakeup(cs);
    return first;
}

static void do_pause(kfk__consumer *cs, kfk__toppar *tp, kfk_topic_partition_t *p)
{
    (void)cs;
    (void)p;
    tp->paused = true;
}

static void do_resume(kfk__consumer *cs, kfk__toppar *tp, kfk_topic_partition_t *p)
{
    (void)cs;
    (void)p;
    tp->paused = false;
}

static void do_seek(kfk__consumer *cs, kfk__toppar *tp, kfk_topic_partition_t *p)
{
    if (p->offset < 0 && p->offset != KFK_OFFSET_BEGINNING && p->offset != KFK_OFFSET_END) {
        p->err = KFK_ERR__INVALID_ARG;
        return;
    }
    kfk__tp_start(cs, tp, p->offset, app_epoch(p));
}

static void do_position(kfk__consumer *cs, kfk__toppar *tp, kfk_topic_partition_t *p)
{
    (void)cs;
    p->offset = tp->app_pos >= 0 ? tp->app_pos : KFK_OFFSET_INVALID;
    p->leader_epoch = tp->app_epoch;
}

kfk_err_t kfk_consumer_pause(kfk_t *k, kfk_topic_partition_t *parts, size_t n)
{
    return each_assigned(k, parts, n, do_pause);
}

kfk_err_t kfk_consumer_resume(kfk_t *k, kfk_topic_partition_t *parts, size_t n)
{
    kfk_err_t e = each_assigned(k, parts, n, do_resume);
    if (kfk__consumer_of(k)) /* fetched chunks of these may be waiting */
        kfk__evq_wake(&k->evq);
    return e;
}

kfk_err_t kfk_consumer_seek(kfk_t *k, kfk_topic_partition_t *parts, size_t n)
{
    return each_assigned(k, parts, n, do_seek);
}

kfk_err_t kfk_consumer_position(kfk_t *k, kfk_topic_partition_t *parts, size_t n)
{
    return each_assigned(k, parts, n, do_position);
}

int64_t kfk_consumer_lag(kfk_t *k, const char *topic, int32_t partition)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (!cs || !topic)
        return -1;
    pthread_mutex_lock(&cs->mu);
    kfk__toppar *tp = kfk__tp_find(cs, topic, partition);
    int64_t end = tp ? (cs->isolation ? tp->lso : tp->hw) : -1;
    int64_t lag = tp && end >= 0 && tp->app_pos >= 0 ? end - tp->app_pos : -1;
    pthread_mutex_unlock(&cs->mu);
    return lag < 0 && lag != -1 ? 0 : lag;
}

kfk_err_t kfk_consumer_subscribe(kfk_t *k, const char *const *topics, size_t n)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (!cs || !topics || !n)
        return KFK_ERR__INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (!topics[i] || !*topics[i])
            return KFK_ERR__INVALID_ARG;
    if (!cs->g)
        return KFK_ERR__INVALID_CONFIG;
    pthread_mutex_lock(&cs->mu);
    bool manual = cs->manual;
    pthread_mutex_unlock(&cs->mu);
    if (manual)
        return KFK_ERR__STATE;
    kfk_err_t e = (kfk_err_t)kfk__group_subscribe(cs->g, topics, n);
    if (!e) {
        pthread_mutex_lock(&cs->mu);
        cs->subscribed = true;
        pthread_mutex_unlock(&cs->mu);
    }
    return e;
}

kfk_err_t kfk_consumer_unsubscribe(kfk_t *k)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (!cs)
        return KFK_ERR__INVALID_ARG;
    if (!cs->g)
        return KFK_ERR_NONE;
    pthread_mutex_lock(&cs->mu);
    cs->subscribed = false;
    pthread_mutex_unlock(&cs->mu);
    kfk__group_unsubscribe(cs->g);
    return KFK_ERR_NONE;
}

int32_t kfk_consumer_member_id(kfk_t *k, char *buf, size_t size)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (buf && size)
        buf[0] = '\0';
    if (!cs || !cs->g)
        return -1;
    return kfk__group_member_id(cs->g, buf, size);
}

/* ---- poll: decoding ------------------------------------------------------------------ */

typedef struct out {
    size_t n, max;
} out;

static kfk_message_t *next_msg(kfk__consumer *cs, out *o)
{
    if (o->n == cs->msgs_cap) {
        size_t cap = cs->msgs_cap ? cs->msgs_cap * 2 : 64;
        kfk_message_t *m = kfk__realloc(cs->msgs, cap * sizeof(*m));
        if (!m)
            return NULL;
        cs->msgs = m;
        const kfk_message_t **mp = kfk__realloc(cs->msgp, cap * sizeof(*mp));
        if (!mp)
            return NULL;
        cs->msgp = mp;
        cs->msgs_cap = cap;
    }
    kfk_message_t *m = &cs->msgs[o->n++];
    memset(m, 0, sizeof(*m));
    return m;
}

/* Headers of rec into the poll's header array. The index of the first
 * goes into m->headers for now: pointers are fixed once the poll is done,
 * as the array may still move. Returns false on NOMEM. */
static bool add_headers(kfk__consumer *cs, const kfk__record *rec, kfk_message_t *m)
{
    m->headers = (const kfk_message_header_t *)(uintptr_t)cs->hdrs_len;
    if (rec->header_count <= 0)
        return true;
    size_t need = cs->hdrs_len + (size_t)rec->header_count;
    if (need > cs->hdrs_cap) {
        size_t cap = cs->hdrs_cap ? cs->hdrs_cap : 64;
        while (cap < need)
            cap *= 2;
        kfk_message_header_t *h = kfk__realloc(cs->hdrs, cap * sizeof(*h));
        if (!h)
            return false;
        cs->hdrs = h;
        cs->hdrs_cap = cap;
    }
    kfk__header_iter it;
    kfk__rec_header h;
    kfk__header_iter_init(&it, rec);
    while (kfk__header_next(&it, &h) == 1) {
        kfk_message_header_t *o = &cs->hdrs[cs->hdrs_len++];
        o->key = h.key;
        o->key_len = (size_t)h.key_len;
        o->value = h.value_len < 0 ? NULL : h.value;
        o->value_len = h.value_len < 0 ? 0 : (size_t)h.value_len;
        m->header_count++;
    }
    return true;
}

/* A fresh buffer for the next compressed batch: each batch this poll
 * hands records out of keeps its own until the next poll. */
static kfk__wbuf *dbuf_next(kfk__consumer *cs)
{
    if (cs->dbufs_used == cs->ndbufs) {
        size_t n = cs->ndbufs ? cs->ndbufs * 2 : 4;
        kfk__wbuf *d = kfk__realloc(cs->dbufs, n * sizeof(*d));
        if (!d)
            return NULL;
        for (size_t i = cs->ndbufs; i < n; i++)
            kfk__wbuf_init(&d[i], 0);
        cs->dbufs = d;
        cs->ndbufs = n;
    }
    return &cs->dbufs[cs->dbufs_used];
}

/* read_committed: is pid in an aborted transaction at this batch? Pulls
 * in the aborted transactions that start at or before the batch's last
 * offset, and lets an ABORT marker end its producer's. */
static bool pid_active(const kfk__consumer *cs, int64_t pid)
{
    for (size_t i = 0; i < cs->nactive; i++)
        if (cs->active_pids[i] == pid)
            return true;
    return false;
}

static bool aborted_batch(kfk__consumer *cs, const kfk__batch *b)
{
    kfk__chunk *ch = cs->cur;
    int64_t last = kfk__batch_last_offset(b);
    while (cs->next_aborted < ch->naborted && ch->aborted[cs->next_aborted].first_offset <= last) {
        int64_t pid = ch->aborted[cs->next_aborted++].pid;
        if (!pid_active(cs, pid)) {
            if (cs->nactive == cs->capactive) {
                size_t cap = cs->capactive ? cs->capactive * 2 : 8;
                int64_t *a = kfk__realloc(cs->active_pids, cap * sizeof(*a));
                if (!a)
                    break;
                cs->active_pids = a;
                cs->capactive = cap;
            }
            cs->active_pids[cs->nactive++] = pid;
        }
    }
    if (!kfk__batch_is_transactional(b) || !pid_active(cs, b->h.producer_id))
        return false;
    if (kfk__batch_is_control(b)) { /* the marker ends the transaction */
        for (size_t i = 0; i < cs->nactive; i++)
            if (cs->active_pids[i] == b->h.producer_id)
                cs->active_pids[i] = cs->active_pids[--cs->nactive];
    }
    return true;
}

static void event_msg(kfk__consumer *cs, out *o, kfk__chunk *ch, int err, int64_t offset,
                      const char *errstr)
{
    kfk_message_t *m = next_msg(cs, o);
    if (!m)
        return;
    m->err = (kfk_err_t)err;
    m->errstr = errstr;
    m->topic = ch->tp ? ch->tp->topic : NULL;
    m->partition = ch->tp ? ch->tp->partition : -1;
    m->offset = offset;
    m->leader_epoch = -1;
    m->headers = (const kfk_message_header_t *)(uintptr_t)cs->hdrs_len;
}

/* Ends the current chunk: publishes the position and keeps the chunk for
 * the messages that point into it. */
static void leave_chunk(kfk__consumer *cs)
{
    kfk__chunk *ch = cs->cur;
    if (!ch)
        return;
    pthread_mutex_lock(&cs->mu);
    if (ch->tp && ch->tp->version == cs->cur_version && cs->cur_pos >= 0) {
        ch->tp->app_pos = cs->cur_pos;
        ch->tp->app_epoch = cs->cur_epoch;
    }
    pthread_mutex_unlock(&cs->mu);
    ch->next = cs->held;
    cs->held = ch;
    cs->cur = NULL;
}

/* A corrupt batch: the partition stops there until the application
 * seeks past it. */
static void corrupt(kfk__consumer *cs, out *o, int err)
{
    kfk__chunk *ch = cs->cur;
    snprintf(ch->errstr, sizeof(ch->errstr), "%s at offset %lld of %s [%d]: seek past it to go on",
             kfk_err_str((kfk_err_t)err), (long long)cs->cur_pos, ch->tp->topic,
             (int)ch->tp->partition);
    event_msg(cs, o, ch, err, cs->cur_pos, ch->errstr);
    pthread_mutex_lock(&cs->mu);
    if (ch->tp->version == cs->cur_version) {
        if (cs->cur_pos >= 0) { /* what was handed out stays handed out */
            ch->tp->app_pos = cs->cur_pos;
            ch->tp->app_epoch = cs->cur_epoch;
        }
        ch->tp->fstate = TP_STOPPED;
        ch->tp->version++; /* drop what was fetched after it */
    }
    pthread_mutex_unlock(&cs->mu);
    leave_chunk(cs);
}

/* Takes the next chunk the application may see (not paused, current
 * version), dropping stale ones. */
static kfk__chunk *take_chunk(kfk__consumer *cs)
{
    pthread_mutex_lock(&cs->mu);
    kfk__chunk **pp = &cs->q_head, *prev = NULL, *found = NULL;
    while (*pp) {
        kfk__chunk *ch = *pp;
        bool stale = ch->tp && (ch->version != ch->tp->version || !ch->tp->assigned);
        if (!stale && ch->tp && ch->tp->paused) {
            prev = ch;
            pp = &ch->next;
            continue;
        }
        *pp = ch->next;
        if (cs->q_tail == ch)
            cs->q_tail = prev;
        if (ch->tp)
            ch->tp->nchunks--;
        if (stale) {
            kfk__chunk_free(ch);
            continue;
        }
        found = ch;
        cs->cur_version = ch->version;
        cs->cur_pos = ch->tp ? ch->tp->app_pos : -1;
        cs->cur_epoch = ch->tp ? ch->tp->app_epoch : -1;
        break;
    }
    pthread_mutex_unlock(&cs->mu);
    if (found)
        kfk__fetcher_wakeup(cs); /* room to fetch that partition again */
    return found;
}

/* Hands out records (and events) into o until o->max or nothing is left
 * fetched. */
static void decode(kfk__consumer *cs, out *o)
{
    if (cs->cur && cs->cur->tp) { /* a seek or pause since the last poll? */
        kfk__chunk *ch = cs->cur;
        pthread_mutex_lock(&cs->mu);
        bool stale = ch->tp->version != cs->cur_version || !ch->tp->assigned;
        bool paused = !stale && ch->tp->paused;
        if (paused) { /* back to the queue's head; read again from the position */
            if (cs->cur_pos >= 0)
                ch->tp->app_pos = cs->cur_pos;
            ch->next = cs->q_head;
            cs->q_head = ch;
            if (!cs->q_tail)
                cs->q_tail = ch;
            ch->tp->nchunks++;
            cs->cur = NULL;
            cs->cur_in_batch = false;
        }
        pthread_mutex_unlock(&cs->mu);
        if (stale) {
            cs->cur_in_batch = false;
            leave_chunk(cs);
        }
    }
    while (o->n < o->max) {
        if (!cs->cur) {
            kfk__chunk *ch = take_chunk(cs);
            if (!ch)
                return;
            cs->cur = ch;
            if (ch->err) {
                if (ch->err != KFK_ERR__PARTITION_EOF || cs->cur_pos >= ch->offset)
                    event_msg(cs, o, ch, ch->err, ch->offset, ch->errstr);
                leave_chunk(cs);
                continue;
            }
            kfk__recs_reader_init(&cs->rd, ch->records, ch->len, cs->z, NULL, 256u << 20,
                                  cs->check_crcs);
            cs->cur_in_batch = false;
            cs->nactive = 0;
            cs->next_aborted = 0;
        }
        if (!cs->cur_in_batch) {
            cs->rd.buf = dbuf_next(cs);
            if (!cs->rd.buf) {
                corrupt(cs, o, KFK_ERR__NOMEM);
                continue;
            }
            int r = kfk__recs_reader_next_batch(&cs->rd);
            if (r == 0 || r == KFK__RECORDS_INCOMPLETE) {
                leave_chunk(cs);
                continue;
            }
            if (r < 0) {
                corrupt(cs, o, r);
                continue;
            }
            if (kfk__batch_codec(&cs->rd.batch))
                cs->dbufs_used++; /* its records point into this buffer */
            const kfk__batch *b = &cs->rd.batch;
            int64_t last = kfk__batch_last_offset(b);
            cs->cur_skip_batch = kfk__batch_is_control(b) ||
                                 (cs->isolation && cs->cur->naborted && aborted_batch(cs, b));
            if (cs->cur_skip_batch || last < cs->cur_pos) {
                if (last >= cs->cur_pos) /* skipped: position moves past it */
                    cs->cur_pos = last + 1;
                continue;
            }
            cs->cur_in_batch = true;
            if (b->h.magic >= 2)
                cs->cur_epoch = b->h.leader_epoch;
        }
        kfk__record rec;
        int r = kfk__recs_reader_next_record(&cs->rd, &rec);
        if (r == 0) {
            cs->cur_in_batch = false;
            continue;
        }
        if (r < 0) {
            corrupt(cs, o, r);
            continue;
        }
        if (rec.offset < cs->cur_pos)
            continue;
        kfk_message_t *m = next_msg(cs, o);
        if (!m || !add_headers(cs, &rec, m)) {
            if (m)
                o->n--;
            return; /* out of memory: try again next poll */
        }
        const kfk__batch *b = &cs->rd.batch;
        m->topic = cs->cur->tp->topic;
        m->partition = cs->cur->tp->partition;
        m->offset = rec.offset;
        m->leader_epoch = b->h.magic >= 2 ? b->h.leader_epoch : -1;
        m->timestamp = rec.timestamp;
        m->timestamp_type = (b->h.attributes & KFK__ATTR_LOG_APPEND_TIME)
                                ? KFK_TIMESTAMP_LOG_APPEND_TIME
                                : KFK_TIMESTAMP_CREATE_TIME;
        m->key = rec.key_len >= 0 ? (const void *)rec.key : NULL;
        m->key_len = rec.key_len >= 0 ? (size_t)rec.key_len : 0;
        m->value = rec.value_len >= 0 ? (const void *)rec.value : NULL;
        m->value_len = rec.value_len >= 0 ? (size_t)rec.value_len : 0;
        cs->cur_pos = rec.offset + 1;
    }
}

/* Publishes the current chunk's position without leaving it. */
static void publish_pos(kfk__consumer *cs)
{
    if (!cs->cur)
        return;
    pthread_mutex_lock(&cs->mu);
    if (cs->cur->tp->version == cs->cur_version && cs->cur_pos >= 0) {
        cs->cur->tp->app_pos = cs->cur_pos;
        cs->cur->tp->app_epoch = cs->cur_epoch;
    } else {
        pthread_mutex_unlock(&cs->mu);
        leave_chunk(cs); /* a seek happened: the rest is stale */
        return;
    }
    pthread_mutex_unlock(&cs->mu);
}

/* Releases what the previous poll handed out. */
static void release_held(kfk__consumer *cs)
{
    kfk__chunk *ch = cs->held, *next;
    for (; ch; ch = next) {
        next = ch->next;
        kfk__chunk_free(ch);
    }
    cs->held = NULL;
    /* the buffer of a batch still being read stays: move it first */
    if (cs->cur_in_batch && cs->dbufs_used && kfk__batch_codec(&cs->rd.batch)) {
        kfk__wbuf keep = cs->dbufs[cs->dbufs_used - 1];
        cs->dbufs[cs->dbufs_used - 1] = cs->dbufs[0];
        cs->dbufs[0] = keep;
        cs->rd.buf = &cs->dbufs[0];
        cs->dbufs_used = 1;
    } else {
        cs->dbufs_used = 0;
    }
    cs->hdrs_len = 0;
}

/* ---- poll: events ------------------------------------------------------------------- */

/* enable.auto.commit: the positions of partitions being revoked are
 * committed before they move (and before the application's callback). */
static void commit_revoked(kfk__consumer *cs, const kfk__cevent *ev)
{
    kfk_topic_partition_t *parts = kfk__calloc(ev->n ? ev->n : 1, sizeof(*parts));
    size_t n = 0;
    pthread_mutex_lock(&cs->mu);
    for (size_t i = 0; parts && i < ev->n; i++) {
        kfk__toppar *tp = kfk__tp_find(cs, ev->parts[i].topic, ev->parts[i].partition);
        if (tp && tp->assigned && tp->app_pos >= 0 && tp->app_pos != tp->committed) {
            parts[n] = ev->parts[i];
            parts[n].offset = tp->app_pos;
            parts[n].leader_epoch = tp->app_epoch;
            n++;
        }
    }
    pthread_mutex_unlock(&cs->mu);
    if (n)
        kfk_consumer_commit(cs->k, parts, n, 0);
    kfk__free(parts);
}

/* After a REVOKED or LOST callback returns, nothing more of those
 * partitions reaches the application, even before the I/O thread has
 * taken them out of the assignment. */
static void stop_reading(kfk__consumer *cs, const kfk__cevent *ev)
{
    pthread_mutex_lock(&cs->mu);
    for (size_t i = 0; i < ev->n; i++) {
        kfk__toppar *tp = kfk__tp_find(cs, ev->parts[i].topic, ev->parts[i].partition);
        /* not if a later rebalance gave it back meanwhile */
        if (tp && tp->assigned && tp->assigned_seq < ev->rebalance_id) {
            tp->assigned = false;
            drop_chunks(cs, tp);
            tp->version++;
        }
    }
    pthread_mutex_unlock(&cs->mu);
}

/* Rebalance and commit callbacks queued by the I/O thread. */
static int serve_cevents(kfk__consumer *cs)
{
    pthread_mutex_lock(&cs->mu);
    kfk__cevent *ev = cs->ev_head, *next;
    cs->ev_head = cs->ev_tail = NULL;
    pthread_mutex_unlock(&cs->mu);
    int n = 0;
    for (; ev; ev = next) {
        next = ev->next;
        if (ev->type == CEV_REBALANCE) {
            if (ev->ev == KFK_REBALANCE_REVOKED && cs->auto_commit)
                commit_revoked(cs, ev);
            if (cs->rebalance_cb)
                cs->rebalance_cb(cs->k, (kfk_rebalance_event_t)ev->ev, ev->parts, ev->n,
                                 cs->rebalance_opaque);
            if (ev->ev != KFK_REBALANCE_ASSIGNED)
                stop_reading(cs, ev);
            if (cs->g)
                kfk__group_rebalance_done(cs->g, ev->rebalance_id);
        } else if (ev->type == CEV_COMMIT && cs->commit_cb) {
            cs->commit_cb(cs->k, ev->err, ev->parts, ev->n, cs->commit_opaque);
        }
        cevent_free(ev);
        n++;
    }
    return n;
}

/* kfk_poll's hook: callbacks, no records. */
static int consumer_serve(kfk_t *k)
{
    return serve_cevents(k->impl);
}

static void note_poll(kfk__consumer *cs)
{
    atomic_store(&cs->last_poll_ms, kfk__now_ms());
    /* a new poll means the records of the last one were processed: only
     * now may auto-commit commit past them (at-least-once, as Java) */
    pthread_mutex_lock(&cs->mu);
    for (kfk__toppar *tp = cs->tps; tp; tp = tp->next)
        if (tp->assigned) {
            tp->consumed = tp->app_pos;
            tp->consumed_epoch = tp->app_epoch;
        }
    pthread_mutex_unlock(&cs->mu);
    if (cs->g)
        kfk__group_poll_seen(cs->g);
}

size_t kfk_consumer_poll_batch(kfk_t *k, int timeout_ms, const kfk_message_t **msgs, size_t max)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (!cs || (max && !msgs))
        return 0;
    if (max > (size_t)cs->max_poll_records)
        max = (size_t)cs->max_poll_records;
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : kfk__now_ms() + timeout_ms;
    pthread_mutex_lock(&cs->poll_mu);
    note_poll(cs);
    release_held(cs);
    out o = {0, max};
    for (;;) {
        uint64_t gen = kfk__evq_gen(&k->evq);
        kfk_poll(k, 0); /* logs, stats, errors, rebalances, commits */
        decode(cs, &o);
        if (o.n || kfk__now_ms() >= deadline)
            break;
        /* waiting inside poll is polling: wake at least every 100 ms to
         * say so (max.poll.interval.ms) */
        int64_t until = kfk__now_ms() + 100;
        kfk__evq_wait(&k->evq, gen, until < deadline ? until : deadline);
        atomic_store(&cs->last_poll_ms, kfk__now_ms());
    }
    publish_pos(cs);
    for (size_t i = 0; i < o.n; i++) {
        kfk_message_t *m = &cs->msgs[i];
        uintptr_t first = (uintptr_t)m->headers;
        m->headers = m->header_count ? cs->hdrs + first : NULL;
        msgs[i] = m;
    }
    pthread_mutex_unlock(&cs->poll_mu);
    return o.n;
}

const kfk_message_t *kfk_consumer_poll(kfk_t *k, int timeout_ms)
{
    const kfk_message_t *m = NULL;
    return kfk_consumer_poll_batch(k, timeout_ms, &m, 1) ? m : NULL;
}

/* ---- statistics ------------------------------------------------------------------------ */

static void consumer_stats(kfk_t *k, void *root)
{
    kfk__consumer *cs = k->impl;
    json_t *topics = json_object();
    if (!topics)
        return;
    pthread_mutex_lock(&cs->mu);
    for (kfk__toppar *tp = cs->tps; tp; tp = tp->next) {
        if (!tp->assigned)
            continue;
        json_t *t = json_object_get(topics, tp->topic);
        if (!t) {
            t = json_pack("{s:s, s:{}}", "topic", tp->topic, "partitions");
            if (!t || json_object_set_new(topics, tp->topic, t))
                break;
        }
        char key[16];
        snprintf(key, sizeof(key), "%d", (int)tp->partition);
        int64_t end = cs->isolation ? tp->lso : tp->hw;
        json_object_set_new(
            json_object_get(t, "partitions"), key,
            json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:b}", "partition",
                      (int)tp->partition, "fetch_offset", (json_int_t)tp->fetch_pos,
                      "position", (json_int_t)tp->app_pos, "committed",
                      (json_int_t)tp->committed, "hi_offset", (json_int_t)tp->hw,
                      "ls_offset", (json_int_t)tp->lso, "consumer_lag",
                      (json_int_t)(end >= 0 && tp->app_pos >= 0 ? end - tp->app_pos : -1),
                      "fetchq_cnt", tp->nchunks, "paused", tp->paused));
    }
    pthread_mutex_unlock(&cs->mu);
    json_object_set_new(root, "topics", topics);
}

/* ---- close ---------------------------------------------------------------------------- */

kfk_err_t kfk_consumer_close(kfk_t *k, int timeout_ms)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (!cs)
        return KFK_ERR__INVALID_ARG;
    pthread_mutex_lock(&cs->mu);
    bool was = cs->closing;
    cs->closing = true;
    pthread_mutex_unlock(&cs->mu);
    if (was)
        return KFK_ERR__STATE;
    int64_t deadline = kfk__now_ms() + (timeout_ms < 0 ? cs->api_timeout_ms : timeout_ms);
    kfk_err_t e = KFK_ERR_NONE;
    /* callbacks already due first: an ASSIGNED still queued must reach
     * the application before the REVOKED that close makes of it */
    kfk_poll(k, 0);
    if (cs->auto_commit) {
        e = kfk__consumer_commit(k, NULL, 0, 0, deadline);
        if (e == KFK_ERR__STATE)
            e = KFK_ERR_NONE; /* nothing assigned */
    }
    if (cs->g)
        kfk__group_leave(cs->g, deadline);
    pthread_mutex_lock(&cs->mu);
    for (kfk__toppar *tp = cs->tps; tp; tp = tp->next)
        if (tp->assigned) {
            tp->assigned = false;
            drop_chunks(cs, tp);
            tp->version++;
        }
    pthread_mutex_unlock(&cs->mu);
    kfk_poll(k, 0);
    return e;
}

static void consumer_close_hook(kfk_t *k)
{
    kfk__consumer *cs = k->impl;
    if (!cs)
        return;
    if (!cs->closing && k->client)
        kfk_consumer_close(k, -1);
    if (cs->f)
        kfk__fetcher_stop(cs);
    kfk__group_stop(cs->g);
}

static void consumer_free(kfk_t *k)
{
    kfk__consumer *cs = k->impl;
    if (!cs)
        return;
    kfk__offsets_destroy(cs);
    kfk__group_free(cs->g);
    kfk__fetcher_free(cs->f);
    release_held(cs);
    if (cs->cur)
        kfk__chunk_free(cs->cur);
    kfk__chunk *ch = cs->q_head, *next;
    for (; ch; ch = next) {
        next = ch->next;
        kfk__chunk_free(ch);
    }
    kfk__cevent *ev = cs->ev_head, *enext;
    for (; ev; ev = enext) {
        enext = ev->next;
        cevent_free(ev);
    }
    kfk__toppar *tp = cs->tps, *tnext;
    for (; tp; tp = tnext) {
        tnext = tp->next;
        kfk__free(tp->topic);
        kfk__free(tp);
    }
    for (size_t i = 0; i < cs->ndbufs; i++)
        kfk__wbuf_free(&cs->dbufs[i]);
    kfk__free(cs->dbufs);
    kfk__zctx_destroy(cs->z);
    kfk__free(cs->msgs);
    kfk__free(cs->msgp);
    kfk__free(cs->hdrs);
    kfk__free(cs->active_pids);
    pthread_mutex_destroy(&cs->mu);
    pthread_mutex_destroy(&cs->poll_mu);
    kfk__free(cs);
    k->impl = NULL;
}
