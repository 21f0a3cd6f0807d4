/*
 * handlers_fetch.c: the read side: Fetch (with KIP-227 fetch sessions and
 * max-wait / min-bytes long polling), ListOffsets, OffsetForLeaderEpoch and
 * DeleteRecords.
 *
 * A fetch that finds fewer than min_bytes is parked: kept with its
 * request, re-evaluated whenever data is appended or leadership moves, and
 * answered when enough data is there or max_wait runs out. The response is
 * built from scratch each time it is evaluated, so a parked fetch never
 * holds pointers into topics that may have been deleted meanwhile.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "broker/partition.h"
#include "broker/server.h"
#include "common/alloc.h"

#define MAX_SESSIONS 1000

/* ---- fetch sessions ------------------------------------------------------- */

typedef struct fpart {
    char *topic;
    kfk__uuid topic_id;
    int32_t partition;
    int64_t fetch_offset;
    int32_t max_bytes;
    int32_t leader_epoch;
    /* what the client was last told (incremental fetches resend changes) */
    int64_t sent_hw, sent_lso, sent_start;
} fpart;

typedef struct kfk__fsession {
    struct kfk__fsession *next;
    int32_t id;
    int32_t epoch; /* the epoch the next request must carry */
    int32_t broker_id;
    int64_t last_used;
    int32_t n, cap;
    fpart *parts;
} kfk__fsession;

static void session_free(kfk__fsession *s)
{
    for (int32_t i = 0; i < s->n; i++)
        kfk__free(s->parts[i].topic);
    kfk__free(s->parts);
    kfk__free(s);
}

void kfk__fetch_sessions_free(kfk_cluster_t *c)
{
    while (c->fsessions) {
        kfk__fsession *s = c->fsessions;
        c->fsessions = s->next;
        session_free(s);
    }
}

static kfk__fsession *session_find(kfk_cluster_t *c, int32_t broker, int32_t id)
{
    for (kfk__fsession *s = c->fsessions; s; s = s->next)
        if (s->id == id && s->broker_id == broker)
            return s;
    return NULL;
}

static void session_remove(kfk_cluster_t *c, kfk__fsession *s)
{
    for (kfk__fsession **pp = &c->fsessions; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            session_free(s);
            return;
        }
}

static kfk__fsession *session_new(kfk_cluster_t *c, int32_t broker)
{
    int32_t count = 0;
    kfk__fsession *oldest = NULL;
    for (kfk__fsession *s = c->fsessions; s; s = s->next, count++)
        if (!oldest || s->last_used < oldest->last_used)
            oldest = s;
    if (count >= MAX_SESSIONS && oldest)
        session_remove(c, oldest);
    kfk__fsession *s = kfk__calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    do
        s->id = (int32_t)(kfk__cluster_rand(c) & 0x7fffffff);
    while (!s->id || session_find(c, broker, s->id));
    s->broker_id = broker;
    s->epoch = 1;
    s->next = c->fsessions;
    c->fsessions = s;
    return s;
}

static fpart *session_part(kfk__fsession *s, const char *topic, const kfk__uuid *id,
                           int32_t partition, bool by_id, bool create)
{
    for (int32_t i = 0; i < s->n; i++) {
        fpart *p = &s->parts[i];
        if (p->partition == partition &&
            (by_id ? !memcmp(&p->topic_id, id, sizeof(*id)) : !strcmp(p->topic, topic)))
            return p;
    }
    if (!create)
        return NULL;
    if (s->n == s->cap) {
        int32_t cap = s->cap ? s->cap * 2 : 8;
        fpart *np = kfk__realloc(s->parts, (size_t)cap * sizeof(*np));
        if (!np)
            return NULL;
        s->parts = np;
        s->cap = cap;
    }
    fpart *p = &s->parts[s->n];
    memset(p, 0, sizeof(*p));
    p->topic = kfk__strndup(topic, strlen(topic));
    if (!p->topic)
        return NULL;
    s->n++;
    p->topic_id = *id;
    p->partition = partition;
    p->sent_hw = p->sent_lso = p->sent_start = -2;
    return p;
}

static void session_forget(kfk__fsession *s, fpart *p)
{
    kfk__free(p->topic);
    *p = s->parts[--s->n];
}

/* ---- the fetch itself ----------------------------------------------------- */

typedef struct fetch_state {
    fpart *parts; /* the partitions this fetch reads (copies, or the session's) */
    int32_t n;
    int32_t session_id; /* 0 = no session */
    bool incremental;
    int16_t top_error;
} fetch_state;

static int16_t check_epoch(int32_t requested, int32_t current)
{
    if (requested < 0)
        return 0;
    if (requested > current)
        return KFK_ERR_UNKNOWN_LEADER_EPOCH;
    if (requested < current)
        return KFK_ERR_FENCED_LEADER_EPOCH;
    return 0;
}

/* Reads one partition into o. Returns the record bytes added. */
static size_t fetch_partition(kfk__breq *r, fpart *fp, kfk__fetch_response_partition_data *o,
                              size_t budget, bool first_data)
{
    kfk__fetch_request *req = r->body;
    kfk__btopic *t = r->version >= 13 ? kfk__cluster_topic_by_id(r->c, &fp->topic_id)
                                      : kfk__cluster_topic(r->c, fp->topic, (int32_t)strlen(fp->topic));
    o->partition_index = fp->partition;
    o->high_watermark = o->last_stable_offset = o->log_start_offset = -1;
    o->preferred_read_replica = -1;
    if (!t) {
        o->error_code = r->version >= 13 ? KFK_ERR_UNKNOWN_TOPIC_ID
                                         : KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return 0;
    }
    if (fp->partition < 0 || fp->partition >= t->npart) {
        o->error_code = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return 0;
    }
    kfk__bpart *p = &t->parts[fp->partition];
    int e = kfk__fault_take(r->c, r->b->id, 1, t->name, (int32_t)strlen(t->name), p->id);
    if (!e && p->leader != r->b->id) {
        e = KFK_ERR_NOT_LEADER_OR_FOLLOWER;
        if (r->version >= 12) {
            o->current_leader.leader_id = p->leader;
            o->current_leader.leader_epoch = p->leader_epoch;
        }
    }
    if (!e)
        e = check_epoch(fp->leader_epoch, p->leader_epoch);
    o->error_code = (int16_t)e;
    if (e)
        return 0;
    o->high_watermark = kfk__partition_hw(p);
    o->last_stable_offset = kfk__partition_lso(p);
    o->log_start_offset = kfk__partition_log_start(p);
    int64_t upper = req->isolation_level == 1 ? o->last_stable_offset : o->high_watermark;
    size_t max = fp->max_bytes > 0 ? (size_t)fp->max_bytes : 0;
    if (max > budget)
        max = budget;
    e = kfk__partition_read(p, fp->fetch_offset, upper, max, first_data, &r->arena, &o->records);
    o->error_code = (int16_t)e;
    return e ? 0 : (size_t)(o->records.len > 0 ? o->records.len : 0);
}

/* True if the client must hear about this partition in an incremental
 * fetch: data, an error, or a changed watermark. */
static bool changed(const fpart *fp, const kfk__fetch_response_partition_data *o)
{
    return o->records.len > 0 || o->error_code || o->high_watermark != fp->sent_hw ||
           o->last_stable_offset != fp->sent_lso || o->log_start_offset != fp->sent_start;
}

/* Builds the response; returns the record bytes in it. final: this is the
 * response that will be sent, so remember what the session was told. */
static size_t fill(kfk__breq *r, fetch_state *fs, bool final)
{
    kfk__fetch_request *req = r->body;
    kfk__fetch_response *resp = r->resp;
    resp->error_code = fs->top_error;
    resp->session_id = fs->session_id;
    resp->responses.n = 0;
    if (fs->top_error)
        return 0;
    size_t budget = req->max_bytes > 0 ? (size_t)req->max_bytes : (size_t)INT32_MAX;
    size_t total = 0;
    /* One response topic per run of equal topics (the order of the set). */
    KFK__ARR(r, resp->responses, kfk__fetch_response_fetchable_topic_response, fs->n);
    kfk__fetch_response_partition_data *outs =
        kfk__struct_array_new(&r->arena, &kfk__fetch_response_partition_data_desc, fs->n);
    if (fs->n && (!resp->responses.v || !outs))
        return 0;
    int32_t nt = 0;
    kfk__fetch_response_fetchable_topic_response *cur = NULL;
    for (int32_t i = 0; i < fs->n; i++) {
        fpart *fp = &fs->parts[i];
        kfk__fetch_response_partition_data *o = &outs[i];
        size_t got = fetch_partition(r, fp, o, budget - total, total == 0);
        if (fs->incremental && !changed(fp, o))
            continue;
        total += got;
        if (final) {
            fp->sent_hw = o->high_watermark;
            fp->sent_lso = o->last_stable_offset;
            fp->sent_start = o->log_start_offset;
        }
        bool same = cur && (r->version >= 13 ? !memcmp(&cur->topic_id, &fp->topic_id, 16)
                                             : kfk__str_eq(cur->topic, fp->topic));
        if (!same) {
            cur = &resp->responses.v[nt++];
            cur->topic = kfk__s(fp->topic);
            cur->topic_id = fp->topic_id;
            cur->partitions.v = o;
            cur->partitions.n = 0;
        }
        /* outs is filled in order, so a topic's partitions stay contiguous
         * unless an unchanged one was skipped between them: move it down. */
        if (&cur->partitions.v[cur->partitions.n] != o)
            cur->partitions.v[cur->partitions.n] = *o;
        cur->partitions.n++;
    }
    resp->responses.n = nt;
    return total;
}

/* Turns the request into the set of partitions to read, applying the
 * session rules of KIP-227. */
static int build_set(kfk__breq *r, fetch_state *fs)
{
    kfk__fetch_request *req = r->body;
    kfk_cluster_t *c = r->c;
    bool by_id = r->version >= 13;
    kfk__fsession *s = NULL;
    int32_t sid = r->version >= 7 ? req->session_id : 0;
    int32_t sepoch = r->version >= 7 ? req->session_epoch : -1;
    if (sid == 0 && sepoch > 0) {
        fs->top_error = KFK_ERR_INVALID_FETCH_SESSION_EPOCH;
        return 0;
    }
    if (sid != 0) {
        s = session_find(c, r->b->id, sid);
        if (!s) {
            fs->top_error = KFK_ERR_FETCH_SESSION_ID_NOT_FOUND;
            return 0;
        }
        if (sepoch == -1) { /* close the session, then a sessionless fetch */
            session_remove(c, s);
            s = NULL;
        } else if (sepoch != s->epoch) {
            fs->top_error = KFK_ERR_INVALID_FETCH_SESSION_EPOCH;
            return 0;
        } else {
            fs->incremental = true;
        }
    } else if (sepoch == 0) {
        s = session_new(c, r->b->id);
    }
    if (s) {
        s->last_used = kfk__now_ms();
        if (!fs->incremental) /* a new full session starts empty */
            while (s->n)
                session_forget(s, &s->parts[s->n - 1]);
        s->epoch = sepoch + 1 > 0 ? sepoch + 1 : 1;
        fs->session_id = s->id;
    }
    /* Count and copy the requested partitions. */
    int32_t total = 0;
    for (int32_t i = 0; i < req->topics.n; i++)
        total += req->topics.v[i].partitions.n > 0 ? req->topics.v[i].partitions.n : 0;
    fpart *local = NULL;
    if (!s && total > 0 && !(local = kfk__breq_alloc(r, (size_t)total * sizeof(*local))))
        return KFK_ERR__NOMEM;
    int32_t k = 0;
    for (int32_t i = 0; i < req->topics.n; i++) {
        kfk__fetch_request_topic *t = &req->topics.v[i];
        char *name;
        if (by_id) {
            kfk__btopic *bt = kfk__cluster_topic_by_id(c, &t->topic_id);
            name = bt ? kfk__breq_strdup(r, kfk__s(bt->name)) : kfk__breq_strdup(r, KFK__STR(""));
        } else {
            name = kfk__breq_strdup(r, t->topic);
        }
        if (!name)
            return KFK_ERR__NOMEM;
        for (int32_t j = 0; j < t->partitions.n; j++) {
            kfk__fetch_request_partition *in = &t->partitions.v[j];
            fpart *fp = s ? session_part(s, name, &t->topic_id, in->partition, by_id, true)
                          : &local[k++];
            if (!fp)
                return KFK_ERR__NOMEM;
            if (!s) {
                memset(fp, 0, sizeof(*fp));
                fp->topic = name;
                fp->topic_id = t->topic_id;
                fp->partition = in->partition;
            }
            fp->fetch_offset = in->fetch_offset;
            fp->max_bytes = in->partition_max_bytes;
            fp->leader_epoch = r->version >= 9 ? in->current_leader_epoch : -1;
        }
    }
    if (s && fs->incremental) {
        for (int32_t i = 0; i < req->forgotten_topics_data.n; i++) {
            kfk__fetch_request_forgotten_topic *ft = &req->forgotten_topics_data.v[i];
            char *name = kfk__breq_strdup(r, ft->topic);
            for (int32_t j = 0; name && j < ft->partitions.n; j++) {
                fpart *fp = session_part(s, name, &ft->topic_id, ft->partitions.v[j], by_id, false);
                if (fp)
                    session_forget(s, fp);
            }
        }
    }
    fs->parts = s ? s->parts : local;
    fs->n = s ? s->n : total;
    return 0;
}

static void unpark(kfk__breq *r)
{
    kfk_cluster_t *c = r->c;
    for (kfk__breq **pp = &c->parked; *pp; pp = &(*pp)->next_parked)
        if (*pp == r) {
            *pp = r->next_parked;
            break;
        }
    kfk__timer_del(r->timer);
    r->timer = NULL;
}

/* Answers a parked fetch with what there is now. The session (if any) may
 * have changed since; take the current state. */
static bool current_set(kfk__breq *r, fetch_state *fs);

static void answer_parked(kfk__breq *r)
{
    fetch_state *fs = r->park;
    if (!current_set(r, fs))
        fs->top_error = KFK_ERR_FETCH_SESSION_ID_NOT_FOUND;
    unpark(r);
    r->park = NULL;
    fill(r, fs, true);
    kfk__breq_respond(r);
}

static void on_max_wait(kfk__timer *t, void *arg)
{
    kfk__breq *r = arg;
    (void)t;
    answer_parked(r);
}

/* Record bytes a fetch would return now, without building the response;
 * SIZE_MAX when some partition has an error to report at once. */
static size_t probe_bytes(kfk__breq *r, const fetch_state *fs)
{
    size_t total = 0;
    for (int32_t i = 0; i < fs->n; i++) {
        const fpart *fp = &fs->parts[i];
        kfk__btopic *t = r->version >= 13
                             ? kfk__cluster_topic_by_id(r->c, &fp->topic_id)
                             : kfk__cluster_topic(r->c, fp->topic, (int32_t)strlen(fp->topic));
        if (!t || fp->partition < 0 || fp->partition >= t->npart)
            return SIZE_MAX;
        kfk__bpart *p = &t->parts[fp->partition];
        if (p->leader != r->b->id || check_epoch(fp->leader_epoch, p->leader_epoch))
            return SIZE_MAX;
        kfk__fetch_request *req = r->body;
        int64_t upper = req->isolation_level == 1 ? kfk__partition_lso(p) : kfk__partition_hw(p);
        kfk__bytes b;
        if (kfk__partition_read(p, fp->fetch_offset, upper,
                                fp->max_bytes > 0 ? (size_t)fp->max_bytes : 0, true, NULL, &b))
            return SIZE_MAX;
        total += (size_t)(b.len > 0 ? b.len : 0);
    }
    return total;
}

/* The partitions a parked fetch reads now: its session's, if it has one. */
static bool current_set(kfk__breq *r, fetch_state *fs)
{
    if (!fs->session_id)
        return true;
    kfk__fsession *s = session_find(r->c, r->b->id, fs->session_id);
    if (!s)
        return false;
    fs->parts = s->parts;
    fs->n = s->n;
    return true;
}

int kfk__h_fetch(kfk__breq *r)
{
    kfk__fetch_request *req = r->body;
    fetch_state *fs = kfk__breq_alloc(r, sizeof(*fs));
    if (!fs)
        return KFK_ERR__NOMEM;
    int e = build_set(r, fs);
    if (e)
        return e;
    int top = kfk__fault_take(r->c, r->b->id, 1, NULL, 0, -1);
    if (top)
        fs->top_error = (int16_t)top;
    size_t min = (size_t)(req->min_bytes > 0 ? req->min_bytes : 1);
    if (fs->top_error || req->max_wait_ms <= 0 || fs->n == 0 || probe_bytes(r, fs) >= min) {
        fill(r, fs, true);
        return 0;
    }
    r->park = fs;
    r->timer = kfk__timer_add(r->c->loop, req->max_wait_ms, on_max_wait, r);
    if (!r->timer) {
        fill(r, fs, true);
        return 0;
    }
    r->parked = true;
    r->next_parked = r->c->parked;
    r->c->parked = r;
    return 0;
}

void kfk__fetch_wakeup(kfk_cluster_t *c)
{
    kfk__breq *r = c->parked;
    while (r) {
        kfk__breq *next = r->next_parked;
        kfk__fetch_request *req = r->body;
        fetch_state *fs = r->park;
        size_t min = (size_t)(req->min_bytes > 0 ? req->min_bytes : 1);
        if (!current_set(r, fs) || probe_bytes(r, fs) >= min)
            answer_parked(r);
        r = next;
    }
}

void kfk__fetch_flush(kfk_cluster_t *c, kfk__bbroker *b)
{
    kfk__breq *r = c->parked;
    while (r) {
        kfk__breq *next = r->next_parked;
        if (!b || r->b == b)
            answer_parked(r);
        r = next;
    }
}

/* ---- ListOffsets ----------------------------------------------------------- */

static void list_offset(kfk__breq *r, kfk__btopic *t, const kfk__list_offsets_request_partition *in,
                        kfk__list_offsets_response_partition_response *o, int8_t isolation)
{
    o->partition_index = in->partition_index;
    o->offset = -1;
    o->timestamp = -1;
    o->leader_epoch = -1;
    int e;
    kfk__bpart *p = kfk__breq_leader_part(r, t, in->partition_index, &e);
    if (!e && r->version >= 4)
        e = check_epoch(in->current_leader_epoch, p->leader_epoch);
    o->error_code = (int16_t)e;
    if (e)
        return;
    if (r->version >= 4)
        o->leader_epoch = p->leader_epoch;
    switch (in->timestamp) {
    case -1: /* latest */
    case -5: /* latest tiered: no tiering here */
        o->offset = isolation == 1 ? kfk__partition_lso(p) : kfk__partition_hw(p);
        break;
    case -2: /* earliest */
    case -4: /* earliest local */
        o->offset = kfk__partition_log_start(p);
        break;
    case -3: /* max timestamp */
        kfk__partition_max_timestamp(p, &o->offset, &o->timestamp);
        break;
    default:
        kfk__partition_offset_for_time(p, in->timestamp, &o->offset, &o->timestamp);
        break;
    }
    if (r->version == 0) {
        int64_t *v = kfk__breq_alloc(r, sizeof(int64_t));
        if (v) {
            *v = o->offset;
            o->old_style_offsets.v = v;
            o->old_style_offsets.n = 1;
        }
    }
}

int kfk__h_list_offsets(kfk__breq *r)
{
    kfk__list_offsets_request *req = r->body;
    kfk__list_offsets_response *resp = r->resp;
    int32_t nt = req->topics.n > 0 ? req->topics.n : 0;
    KFK__ARR(r, resp->topics, kfk__list_offsets_response_topic_response, nt);
    if (nt && !resp->topics.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < nt; i++) {
        kfk__list_offsets_request_topic *tin = &req->topics.v[i];
        kfk__list_offsets_response_topic_response *to = &resp->topics.v[i];
        kfk__btopic *t = kfk__cluster_topic(r->c, tin->name.ptr, tin->name.len);
        int32_t np = tin->partitions.n > 0 ? tin->partitions.n : 0;
        to->name = tin->name;
        KFK__ARR(r, to->partitions, kfk__list_offsets_response_partition_response, np);
        if (np && !to->partitions.v)
            return KFK_ERR__NOMEM;
        for (int32_t k = 0; k < np; k++)
            list_offset(r, t, &tin->partitions.v[k], &to->partitions.v[k], req->isolation_level);
    }
    return 0;
}

/* ---- OffsetForLeaderEpoch ---------------------------------------------------- */

int kfk__h_offset_for_leader_epoch(kfk__breq *r)
{
    kfk__offset_for_leader_epoch_request *req = r->body;
    kfk__offset_for_leader_epoch_response *resp = r->resp;
    int32_t nt = req->topics.n > 0 ? req->topics.n : 0;
    KFK__ARR(r, resp->topics, kfk__offset_for_leader_epoch_response_offset_for_leader_topic_result,
             nt);
    if (nt && !resp->topics.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < nt; i++) {
        kfk__offset_for_leader_epoch_request_offset_for_leader_topic *tin = &req->topics.v[i];
        kfk__offset_for_leader_epoch_response_offset_for_leader_topic_result *to =
            &resp->topics.v[i];
        kfk__btopic *t = kfk__cluster_topic(r->c, tin->topic.ptr, tin->topic.len);
        int32_t np = tin->partitions.n > 0 ? tin->partitions.n : 0;
        to->topic = tin->topic;
        KFK__ARR(r, to->partitions, kfk__offset_for_leader_epoch_response_epoch_end_offset, np);
        if (np && !to->partitions.v)
            return KFK_ERR__NOMEM;
        for (int32_t k = 0; k < np; k++) {
            kfk__offset_for_leader_epoch_request_offset_for_leader_partition *in =
                &tin->partitions.v[k];
            kfk__offset_for_leader_epoch_response_epoch_end_offset *o = &to->partitions.v[k];
            o->partition = in->partition;
            o->leader_epoch = -1;
            o->end_offset = -1;
            int e;
            kfk__bpart *p = kfk__breq_leader_part(r, t, in->partition, &e);
            if (!e)
                e = check_epoch(in->current_leader_epoch, p->leader_epoch);
            o->error_code = (int16_t)e;
            if (!e)
                kfk__partition_epoch_end(p, in->leader_epoch, &o->leader_epoch, &o->end_offset);
        }
    }
    return 0;
}

/* ---- DeleteRecords ------------------------------------------------------------- */

int kfk__h_delete_records(kfk__breq *r)
{
    kfk__delete_records_request *req = r->body;
    kfk__delete_records_response *resp = r->resp;
    int32_t nt = req->topics.n > 0 ? req->topics.n : 0;
    KFK__ARR(r, resp->topics, kfk__delete_records_response_topic_result, nt);
    if (nt && !resp->topics.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < nt; i++) {
        kfk__delete_records_request_topic *tin = &req->topics.v[i];
        kfk__delete_records_response_topic_result *to = &resp->topics.v[i];
        kfk__btopic *t = kfk__cluster_topic(r->c, tin->name.ptr, tin->name.len);
        int32_t np = tin->partitions.n > 0 ? tin->partitions.n : 0;
        to->name = tin->name;
        KFK__ARR(r, to->partitions, kfk__delete_records_response_partition_result, np);
        if (np && !to->partitions.v)
            return KFK_ERR__NOMEM;
        for (int32_t k = 0; k < np; k++) {
            kfk__delete_records_request_partition *in = &tin->partitions.v[k];
            kfk__delete_records_response_partition_result *o = &to->partitions.v[k];
            o->partition_index = in->partition_index;
            o->low_watermark = -1;
            int e;
            kfk__bpart *p = kfk__breq_leader_part(r, t, in->partition_index, &e);
            if (!e)
                e = kfk__partition_delete_records(p, in->offset, &o->low_watermark);
            o->error_code = (int16_t)e;
        }
    }
    return 0;
}
