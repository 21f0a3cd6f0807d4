/*
 * group.c: classic consumer group membership, on the I/O thread.
 *
 *   (subscribe) --> JOIN --JoinGroup--> (leader: assign) --SyncGroup-->
 *   STABLE --heartbeats every heartbeat.interval.ms--> ...
 *
 * A rebalance starts when the subscription or the matching topics
 * change, when a heartbeat says REBALANCE_IN_PROGRESS, or after errors.
 * Eager protocol: everything owned is revoked (the application's REVOKED
 * callback runs in its poll, after an auto-commit) before JoinGroup.
 * Cooperative protocol (KIP-429; chosen only when every configured
 * assignor is cooperative, as in Java): members keep their partitions
 * through JoinGroup; after SyncGroup only partitions that moved away are
 * revoked, and then the member joins again so they can be handed on, so
 * a partition never has two owners. UNKNOWN_MEMBER_ID or
 * ILLEGAL_GENERATION lose the partitions (LOST callback, no commit).
 * FENCED_INSTANCE_ID (another process took our group.instance.id) is
 * fatal.
 *
 * The application is waited for only where Kafka waits for it: the
 * revoke before a partition moves. If it does not poll within
 * max.poll.interval.ms, the member leaves the group and poll reports
 * KFK_ERR__MAX_POLL_EXCEEDED; the next poll rejoins.
 */
#include "consumer/consumer_int.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "consumer/assign_user.h"
#include "consumer/assignor.h"
#include "net/loop.h"
#include "proto/arena.h"
#include "proto/gen/all.h"

#define MAX_ASSIGNORS 8

enum {
    G_IDLE,     /* not subscribed, or left */
    G_JOIN,     /* should send JoinGroup when the coordinator is known */
    G_JOINING,  /* JoinGroup in flight */
    G_SYNCING,  /* SyncGroup in flight */
    G_REVOKING, /* waiting for the application's revoke */
    G_STABLE
};

typedef struct gtp {
    char *topic;
    int32_t partition;
} gtp;

typedef struct gset {
    gtp *v;
    int n, cap;
} gset;

struct kfk__group {
    kfk__consumer *cs;
    kfk__timer *timer;
    bool stopped;
    const kfk__assignor *assignors[MAX_ASSIGNORS];
    int nassignors;
    kfk__user_assignor user[4]; /* kfk_conf_add_assignor's, offered first */
    bool cooperative;
    int32_t session_ms, rebalance_ms, hb_ms;
    const char *instance_id;
    const char *rack;

    /* under cs->mu: the subscription, and identity for other threads */
    char **topics;
    int ntopics;
    regex_t *regexes;
    int nregexes;
    bool subscribed;
    bool sub_changed;
    int64_t subscribed_ms;
    char member_id[256];
    /* the id a queued LeaveGroup names: the request is built when it is
     * sent, after send_leave has cleared member_id */
    char leave_id[256];
    int32_t generation;
    bool poll_late; /* left for max.poll.interval.ms; a poll rejoins */

    /* I/O thread */
    int state;
    bool rejoin_after; /* cooperative: join again once the revoke is done */
    const kfk__assignor *selected;
    gset owned;
    gset last_assigned; /* the last SyncGroup's assignment, for sticky */
    int32_t last_generation;
    gset matched; /* the topics the subscription matches, with partition counts */
    gset group_topics; /* leader: every member's topics, with partition counts */
    bool leader;
    gset revoking;
    uint64_t rebalance_seq, waiting_id;
    bool revoke_lost; /* the pending revoke is a LOST */
    bool lost_pending; /* membership was lost during a revoke */
    bool leave_after_revoke; /* unsubscribed: LeaveGroup once revoked */
    int64_t next_hb_ms, last_hb_ok_ms;
    bool hb_inflight;
    int failures;
    int64_t retry_at;
    bool leaving, left;
};

#define LG(g) (&(g)->cs->k->log)

static void run(kfk__group *g);
static void send_leave(kfk__group *g);

/* ---- small sets ----------------------------------------------------------------- */

static void gset_clear(gset *s)
{
    for (int i = 0; i < s->n; i++)
        kfk__free(s->v[i].topic);
    s->n = 0;
}

static void gset_free(gset *s)
{
    gset_clear(s);
    kfk__free(s->v);
    s->v = NULL;
    s->cap = 0;
}

static bool gset_has(const gset *s, const char *topic, int32_t partition)
{
    for (int i = 0; i < s->n; i++)
        if (s->v[i].partition == partition && !strcmp(s->v[i].topic, topic))
            return true;
    return false;
}

static int gset_add(gset *s, const char *topic, int32_t partition)
{
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        gtp *v = kfk__realloc(s->v, (size_t)cap * sizeof(*v));
        if (!v)
            return KFK_ERR__NOMEM;
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n].topic = kfk__strndup(topic, strlen(topic))))
        return KFK_ERR__NOMEM;
    s->v[s->n++].partition = partition;
    return 0;
}

/* A partition list for an application event. */
static kfk_topic_partition_t *gset_parts(const gset *s)
{
    kfk_topic_partition_t *p = kfk__calloc((size_t)(s->n ? s->n : 1), sizeof(*p));
    for (int i = 0; p && i < s->n; i++) {
        p[i].topic = s->v[i].topic;
        p[i].partition = s->v[i].partition;
        p[i].offset = KFK_OFFSET_INVALID;
        p[i].leader_epoch = -1;
    }
    kfk_topic_partition_t *dup = p ? kfk__parts_dup(p, (size_t)s->n) : NULL;
    kfk__free(p);
    return dup;
}

/* ---- the application side of a rebalance ------------------------------------------- */

/* Queues a rebalance event (mu held). Returns its id. */
static uint64_t queue_rebalance(kfk__group *g, int ev, const gset *s)
{
    kfk__cevent *e = kfk__calloc(1, sizeof(*e));
    if (!e)
        return 0;
    e->type = CEV_REBALANCE;
    e->ev = ev;
    e->n = (size_t)s->n;
    e->parts = gset_parts(s);
    e->rebalance_id = ++g->rebalance_seq;
    if (!e->parts) {
        kfk__free(e);
        return 0;
    }
    kfk__cevent_queue(g->cs, e);
    return e->rebalance_id;
}

/* Takes the partitions in s out of the assignment (mu held). */
static void unassign(kfk__group *g, const gset *s)
{
    kfk__consumer *cs = g->cs;
    for (int i = 0; i < s->n; i++) {
        kfk__toppar *tp = kfk__tp_find(cs, s->v[i].topic, s->v[i].partition);
        if (tp && tp->assigned) {
            tp->assigned = false;
            kfk__tp_start(cs, tp, KFK_OFFSET_STORED, -1);
        }
    }
}

/* Starts a revoke of s (mu held): the application sees REVOKED (or LOST)
 * in its poll, and the group goes on in rebalance_done. */
static void start_revoke(kfk__group *g, const gset *s, bool lost)
{
    gset_clear(&g->revoking);
    for (int i = 0; i < s->n; i++)
        gset_add(&g->revoking, s->v[i].topic, s->v[i].partition);
    g->revoke_lost = lost;
    g->state = G_REVOKING;
    g->waiting_id = queue_rebalance(g, lost ? KFK_REBALANCE_LOST : KFK_REBALANCE_REVOKED,
                                    &g->revoking);
    KFK__DBG(LG(g), KFK__DEBUG_CGRP, "group %s: %s %d partitions", g->cs->group_id,
             lost ? "lost" : "revoking", s->n);
    if (!g->waiting_id) /* out of memory: do not wait for a callback */
        kfk__group_rebalance_done(g, 0);
}

typedef struct ack {
    kfk__group *g;
    uint64_t id;
} ack;

static void finish_revoke(kfk__client *c, void *arg)
{
    ack *a = arg;
    kfk__group *g = a->g;
    kfk__consumer *cs = g->cs;
    (void)c;
    pthread_mutex_lock(&cs->mu);
    if (g->state == G_REVOKING && (a->id == g->waiting_id || a->id == 0)) {
        unassign(g, &g->revoking);
        gset keep = {0};
        for (int i = 0; i < g->owned.n; i++)
            if (!gset_has(&g->revoking, g->owned.v[i].topic, g->owned.v[i].partition))
                gset_add(&keep, g->owned.v[i].topic, g->owned.v[i].partition);
        gset_free(&g->owned);
        g->owned = keep;
        gset_clear(&g->revoking);
        g->state = g->leaving ? G_IDLE : G_JOIN;
        g->rejoin_after = false;
        if (g->leave_after_revoke) {
            g->leave_after_revoke = false;
            g->lost_pending = false;
            if (g->member_id[0])
                send_leave(g);
            g->state = G_IDLE;
        }
        if (g->lost_pending && !g->leaving) {
            g->lost_pending = false;
            if (g->owned.n) /* as Java: a member that lost its membership owns nothing */
                start_revoke(g, &g->owned, true);
        }
    }
    pthread_mutex_unlock(&cs->mu);
    kfk__free(a);
    if (!g->stopped)
        run(g);
}

void kfk__group_rebalance_done(kfk__group *g, uint64_t rebalance_id)
{
    ack *a = kfk__malloc(sizeof(*a));
    if (!a)
        return;
    a->g = g;
    a->id = rebalance_id;
    if (kfk__client_post(g->cs->k->client, finish_revoke, a))
        kfk__free(a);
}

/* ---- subscription --------------------------------------------------------------- */

static void free_subscription(kfk__group *g)
{
    for (int i = 0; i < g->ntopics; i++)
        kfk__free(g->topics[i]);
    kfk__free(g->topics);
    for (int i = 0; i < g->nregexes; i++)
        regfree(&g->regexes[i]);
    kfk__free(g->regexes);
    g->topics = NULL;
    g->regexes = NULL;
    g->ntopics = g->nregexes = 0;
}

int kfk__group_subscribe(kfk__group *g, const char *const *topics, size_t n)
{
    char **names = kfk__calloc(n, sizeof(*names));
    regex_t *res = kfk__calloc(n, sizeof(*res));
    int nn = 0, nr = 0, e = 0;
    for (size_t i = 0; names && res && i < n && !e; i++) {
        if (topics[i][0] == '^') {
            if (regcomp(&res[nr], topics[i], REG_EXTENDED | REG_NOSUB))
                e = KFK_ERR__INVALID_ARG;
            else
                nr++;
        } else if (!(names[nn++] = kfk__strndup(topics[i], strlen(topics[i])))) {
            e = KFK_ERR__NOMEM;
        }
    }
    if (!names || !res)
        e = KFK_ERR__NOMEM;
    kfk__consumer *cs = g->cs;
    if (!e) {
        pthread_mutex_lock(&cs->mu);
        free_subscription(g);
        g->topics = names;
        g->ntopics = nn;
        g->regexes = res;
        g->nregexes = nr;
        g->subscribed = true;
        g->sub_changed = true;
        g->subscribed_ms = kfk__now_ms();
        pthread_mutex_unlock(&cs->mu);
        for (int i = 0; i < nn; i++)
            kfk__client_want_topic(cs->k->client, names[i]);
        if (nr)
            kfk__client_want_all_topics(cs->k->client);
        kfk__client_metadata_refresh(cs->k->client);
        kfk__fetcher_wakeup(cs);
        return 0;
    }
    for (int i = 0; names && i < nn; i++)
        kfk__free(names[i]);
    for (int i = 0; res && i < nr; i++)
        regfree(&res[i]);
    kfk__free(names);
    kfk__free(res);
    return e;
}

void kfk__group_unsubscribe(kfk__group *g)
{
    pthread_mutex_lock(&g->cs->mu);
    free_subscription(g);
    g->subscribed = false;
    g->sub_changed = true;
    pthread_mutex_unlock(&g->cs->mu);
    kfk__fetcher_wakeup(g->cs);
}

/* The topics the subscription matches in the metadata now, sorted (mu
 * held). */
static int cmp_gtp(const void *x, const void *y)
{
    const gtp *a = x, *b = y;
    int c = strcmp(a->topic, b->topic);
    return c ? c : (a->partition > b->partition) - (a->partition < b->partition);
}

static bool gset_has_topic(const gset *s, const char *topic)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].topic, topic))
            return true;
    return false;
}

/* The topics the subscription matches, each with its partition count as
 * the metadata says now (0 unknown yet, negative an error), in the
 * partition field: a change of either means a rebalance. */
static void match_topics(kfk__group *g, gset *out)
{
    kfk__mdcache *md = kfk__client_metadata(g->cs->k->client);
    for (int i = 0; i < g->ntopics; i++)
        gset_add(out, g->topics[i], kfk__mdcache_partition_count(md, g->topics[i]));
    if (g->nregexes) {
        pthread_rwlock_rdlock(&md->lock);
        for (int32_t t = 0; t < md->ntopics; t++) {
            const char *name = md->topics[t].name;
            if (md->topics[t].error || gset_has_topic(out, name))
                continue;
            for (int r = 0; r < g->nregexes; r++)
                if (regexec(&g->regexes[r], name, 0, NULL, 0) == 0) {
                    gset_add(out, name, md->topics[t].npart);
                    break;
                }
        }
        pthread_rwlock_unlock(&md->lock);
    }
    if (out->n > 1)
        qsort(out->v, (size_t)out->n, sizeof(*out->v), cmp_gtp);
}

static bool same_topics(const gset *a, const gset *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->v[i].topic, b->v[i].topic) || a->v[i].partition != b->v[i].partition)
            return false;
    return true;
}

/* The leader watches every member's topics, not only its own, as Java
 * does: a topic only another member subscribes to may appear, grow or
 * go. mu held. */
static bool group_topics_changed(kfk__group *g)
{
    kfk__mdcache *md = kfk__client_metadata(g->cs->k->client);
    for (int i = 0; i < g->group_topics.n; i++)
        if (kfk__mdcache_partition_count(md, g->group_topics.v[i].topic) !=
            g->group_topics.v[i].partition)
            return true;
    return false;
}

/* A first join waits a little for the subscribed topics' metadata, so
 * that it does not have to be followed at once by another. */
static bool metadata_pending(const kfk__group *g, int64_t now)
{
    if (now - g->subscribed_ms > 2000)
        return false;
    for (int i = 0; i < g->matched.n; i++)
        if (g->matched.v[i].partition == 0)
            return true;
    return false;
}

/* ---- requests ------------------------------------------------------------------------ */

static void identity(kfk__group *g, kfk__str *member, kfk__str *instance)
{
    *member = kfk__str_c(g->member_id);
    *instance = g->instance_id ? kfk__str_c(g->instance_id) : KFK__STR_NULL;
}

/* owned as the assignor interface wants it (arena). */
static kfk__assign_tp *owned_tps(const gset *s, kfk__arena *a, int32_t *n)
{
    *n = 0;
    kfk__assign_tp *v = kfk__arena_alloc(a, (size_t)(s->n ? s->n : 1) * sizeof(*v));
    if (!v)
        return NULL;
    for (int i = 0; i < s->n; i++) {
        int32_t k;
        for (k = 0; k < *n; k++)
            if (!strcmp(v[k].topic, s->v[i].topic))
                break;
        if (k == *n) {
            v[k].topic = s->v[i].topic;
            v[k].partitions = kfk__arena_alloc(a, (size_t)s->n * sizeof(int32_t));
            v[k].n = 0;
            if (!v[k].partitions)
                return NULL;
            (*n)++;
        }
        v[k].partitions[v[k].n++] = s->v[i].partition;
    }
    return v;
}

static void *build_join(int16_t version, kfk__arena *a, void *opaque)
{
    kfk__group *g = opaque;
    (void)version;
    kfk__join_group_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    const char **topics = kfk__arena_alloc(a, (size_t)(g->matched.n ? g->matched.n : 1) *
                                                  sizeof(*topics));
    if (!rq || !topics)
        return NULL;
    kfk__msg_init(&kfk__desc_join_group_request, rq);
    rq->group_id = kfk__str_c(g->cs->group_id);
    rq->session_timeout_ms = g->session_ms;
    rq->rebalance_timeout_ms = g->rebalance_ms;
    identity(g, &rq->member_id, &rq->group_instance_id);
    rq->protocol_type = kfk__str_c("consumer");
    rq->reason = kfk__str_c("");
    for (int i = 0; i < g->matched.n; i++)
        topics[i] = g->matched.v[i].topic;
    kfk__assign_member m = {.topics = topics,
                            .ntopics = g->matched.n,
                            .rack = g->rack,
                            .generation = g->last_generation};
    m.owned = owned_tps(&g->owned, a, &m.nowned);
    /* the sticky assignor's user data remembers the last assignment
     * whole, even after an eager revoke emptied owned */
    int32_t nlast = 0;
    kfk__assign_tp *last = owned_tps(&g->last_assigned, a, &nlast);
    rq->protocols.v = kfk__struct_array_new(a, &kfk__join_group_request_protocol_desc,
                                            g->nassignors);
    if (!m.owned || !rq->protocols.v)
        return NULL;
    for (int i = 0; i < g->nassignors; i++) {
        const kfk__assignor *as = g->assignors[i];
        kfk__wbuf ud, w;
        kfk__wbuf_init(&ud, 0);
        kfk__wbuf_init(&w, 0);
        int e = !last ? KFK_ERR__NOMEM
                : as->user_data ? as->user_data(as, last, nlast, g->last_generation, &ud)
                                : 0;
        m.user_data = ud.len ? ud.data : NULL;
        m.user_data_len = (int32_t)ud.len;
        if (!e)
            e = kfk__subscription_encode(&m, KFK__CONSUMER_PROTOCOL_VERSION, &w);
        uint8_t *copy = !e && w.len ? kfk__arena_alloc(a, w.len) : NULL;
        if (copy)
            memcpy(copy, w.data, w.len);
        size_t len = w.len;
        kfk__wbuf_free(&ud);
        kfk__wbuf_free(&w);
        if (e || !copy)
            return NULL;
        rq->protocols.v[i].name = kfk__str_c(as->name);
        rq->protocols.v[i].metadata = (kfk__bytes){copy, (int32_t)len};
    }
    rq->protocols.n = g->nassignors;
    return rq;
}

/* The leader's SyncGroup assignments, computed from JoinGroup's members. */
typedef struct sync_ctx {
    kfk__group *g;
    kfk__arena arena;
    kfk__str *members;
    kfk__bytes *assignments;
    int32_t n;
    int32_t generation;
    const char *protocol;
} sync_ctx;

static void *build_sync(int16_t version, kfk__arena *a, void *opaque)
{
    sync_ctx *s = opaque;
    kfk__group *g = s->g;
    (void)version;
    kfk__sync_group_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    if (!rq)
        return NULL;
    kfk__msg_init(&kfk__desc_sync_group_request, rq);
    rq->group_id = kfk__str_c(g->cs->group_id);
    rq->generation_id = s->generation;
    identity(g, &rq->member_id, &rq->group_instance_id);
    rq->protocol_type = kfk__str_c("consumer");
    rq->protocol_name = kfk__str_c(s->protocol);
    if (s->n) {
        rq->assignments.v = kfk__struct_array_new(a, &kfk__sync_group_request_assignment_desc,
                                                  s->n);
        if (!rq->assignments.v)
            return NULL;
        for (int32_t i = 0; i < s->n; i++) {
            rq->assignments.v[i].member_id = s->members[i];
            rq->assignments.v[i].assignment = s->assignments[i];
        }
        rq->assignments.n = s->n;
    }
    return rq;
}

static void *build_heartbeat(int16_t version, kfk__arena *a, void *opaque)
{
    kfk__group *g = opaque;
    (void)version;
    kfk__heartbeat_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    if (!rq)
        return NULL;
    kfk__msg_init(&kfk__desc_heartbeat_request, rq);
    rq->group_id = kfk__str_c(g->cs->group_id);
    rq->generation_id = g->generation;
    identity(g, &rq->member_id, &rq->group_instance_id);
    return rq;
}

static void *build_leave(int16_t version, kfk__arena *a, void *opaque)
{
    kfk__group *g = opaque;
    kfk__leave_group_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    if (!rq)
        return NULL;
    kfk__msg_init(&kfk__desc_leave_group_request, rq);
    rq->group_id = kfk__str_c(g->cs->group_id);
    if (version < 3) {
        rq->member_id = kfk__str_c(g->leave_id);
        return rq;
    }
    rq->members.v = kfk__struct_array_new(a, &kfk__leave_group_request_member_identity_desc, 1);
    if (!rq->members.v)
        return NULL;
    rq->members.n = 1;
    rq->members.v[0].member_id = kfk__str_c(g->leave_id);
    rq->members.v[0].group_instance_id = KFK__STR_NULL; /* static members do not leave */
    rq->members.v[0].reason = kfk__str_c("the consumer is closing");
    return rq;
}

/* ---- responses ------------------------------------------------------------------------- */

/* An error that ends our membership (UNKNOWN_MEMBER_ID,
 * ILLEGAL_GENERATION): the partitions are lost. mu held. */
static void lose_membership(kfk__group *g, int err)
{
    KFK__LOG(LG(g), KFK__LOG_INFO, KFK__DEBUG_CGRP, "group %s: %s: rejoining",
             g->cs->group_id, kfk_err_name((kfk_err_t)err));
    if (err == KFK_ERR_UNKNOWN_MEMBER_ID || err == KFK_ERR_FENCED_MEMBER_EPOCH)
        g->member_id[0] = '\0';
    g->generation = -1;
    if (g->state == G_REVOKING) {
        g->lost_pending = true; /* the rest is lost once this revoke is done */
        return;
    }
    if (g->owned.n)
        start_revoke(g, &g->owned, true);
    else
        g->state = G_JOIN;
}

/* Handles an error common to every group request; returns true if it
 * was one (mu held). */
static bool common_error(kfk__group *g, int err)
{
    if (kfk__coord_error(err)) {
        kfk__coord_dead(g->cs);
        g->retry_at = kfk__now_ms() + 50;
        return true;
    }
    if (err == KFK_ERR_FENCED_INSTANCE_ID) {
        kfk__handle_set_fatal(g->cs->k, KFK_ERR_FENCED_INSTANCE_ID,
                              "group %s: another consumer uses group.instance.id %s",
                              g->cs->group_id, g->instance_id ? g->instance_id : "");
        /* the partitions are someone else's now: stop reading them */
        if (g->owned.n) {
            unassign(g, &g->owned);
            queue_rebalance(g, KFK_REBALANCE_LOST, &g->owned);
            gset_clear(&g->owned);
        }
        kfk__tp_event(g->cs, NULL, KFK_ERR__FATAL, -1,
                      "group %s: fenced: another consumer joined with group.instance.id %s",
                      g->cs->group_id, g->instance_id ? g->instance_id : "");
        g->state = G_IDLE;
        return true;
    }
    if (err == KFK_ERR_UNKNOWN_MEMBER_ID || err == KFK_ERR_ILLEGAL_GENERATION) {
        lose_membership(g, err);
        return true;
    }
    return false;
}

/* Applies our SyncGroup assignment (mu held). */
static void apply_assignment(kfk__group *g, const kfk__member_assignment *ma)
{
    kfk__consumer *cs = g->cs;
    gset next = {0}, added = {0}, removed = {0};
    for (int32_t t = 0; t < ma->ntopics; t++)
        for (int32_t p = 0; p < ma->topics[t].n; p++)
            gset_add(&next, ma->topics[t].topic, ma->topics[t].partitions[p]);
    for (int i = 0; i < next.n; i++)
        if (!gset_has(&g->owned, next.v[i].topic, next.v[i].partition))
            gset_add(&added, next.v[i].topic, next.v[i].partition);
    gset_clear(&g->last_assigned);
    for (int i = 0; i < next.n; i++)
        gset_add(&g->last_assigned, next.v[i].topic, next.v[i].partition);
    g->last_generation = g->generation;
    for (int i = 0; i < g->owned.n; i++)
        if (!gset_has(&next, g->owned.v[i].topic, g->owned.v[i].partition))
            gset_add(&removed, g->owned.v[i].topic, g->owned.v[i].partition);
    for (int i = 0; i < added.n; i++) {
        kfk__toppar *tp = kfk__tp_get(cs, added.v[i].topic, added.v[i].partition);
        if (!tp)
            continue;
        /* newer than any revoke queued so far (kfk__consumer_stop_reading) */
        tp->assigned_seq = g->rebalance_seq + 1;
        tp->assigned = true;
        tp->paused = false;
        kfk__tp_start(cs, tp, KFK_OFFSET_STORED, -1);
        gset_add(&g->owned, added.v[i].topic, added.v[i].partition);
        kfk__client_want_topic(cs->k->client, added.v[i].topic);
    }
    KFK__LOG(LG(g), KFK__LOG_INFO, KFK__DEBUG_CGRP,
             "group %s: generation %d: %d partitions (%d new, %d to revoke)", cs->group_id,
             (int)g->generation, next.n, added.n, removed.n);
    if (added.n || g->cooperative || !removed.n)
        queue_rebalance(g, KFK_REBALANCE_ASSIGNED, &added);
    g->state = G_STABLE;
    g->next_hb_ms = kfk__now_ms() + g->hb_ms;
    g->last_hb_ok_ms = kfk__now_ms();
    if (removed.n) /* cooperative: give them up, then join again */
        start_revoke(g, &removed, false);
    gset_free(&next);
    gset_free(&added);
    gset_free(&removed);
}

static void on_sync(kfk__cbroker *b, int err, int16_t version, void *resp, void *opaque)
{
    sync_ctx *s = opaque;
    kfk__group *g = s->g;
    kfk__sync_group_response *r = resp;
    (void)b;
    (void)version;
    int e = err ? err : r ? r->error_code : KFK_ERR__MALFORMED;
    pthread_mutex_lock(&g->cs->mu);
    if (g->state == G_SYNCING) {
        if (e == KFK_ERR_REBALANCE_IN_PROGRESS) {
            g->state = G_JOIN;
        } else if (e && common_error(g, e)) {
            if (g->state == G_SYNCING) /* coordinator errors: join again */
                g->state = G_JOIN;
        } else if (e) {
            KFK__LOG(LG(g), KFK__LOG_WARNING, KFK__DEBUG_CGRP, "group %s: SyncGroup failed: %s",
                     g->cs->group_id, kfk_err_str((kfk_err_t)e));
            g->state = G_JOIN;
            g->retry_at = kfk__now_ms() + 100 * (++g->failures < 20 ? g->failures : 20);
        } else if (!e) {
            kfk__arena a;
            kfk__arena_init(&a, 0);
            kfk__member_assignment ma = {0};
            int de = r->assignment.len > 0 ? kfk__assignment_decode(r->assignment.ptr,
                                                                   (size_t)r->assignment.len,
                                                                   &a, &ma)
                                           : 0;
            if (de) {
                KFK__LOG(LG(g), KFK__LOG_WARNING, KFK__DEBUG_CGRP,
                         "group %s: undecodable assignment: %s", g->cs->group_id,
                         kfk_err_str((kfk_err_t)de));
                g->state = G_JOIN;
                g->retry_at = kfk__now_ms() + 1000;
            } else {
                g->failures = 0;
                apply_assignment(g, &ma);
            }
            kfk__arena_free(&a);
        }
    }
    pthread_mutex_unlock(&g->cs->mu);
    kfk__arena_free(&s->arena);
    kfk__free(s);
    if (!g->stopped)
        run(g);
}

/* The leader's job: run the selected assignor over the members. */
static int assign_group(kfk__group *g, const kfk__join_group_response *r, sync_ctx *s)
{
    const kfk__assignor *as = NULL;
    for (int i = 0; i < g->nassignors; i++)
        if (kfk__str_eq(r->protocol_name, g->assignors[i]->name))
            as = g->assignors[i];
    if (!as)
        return KFK_ERR_INCONSISTENT_GROUP_PROTOCOL;
    kfk__arena *a = &s->arena;
    int32_t n = r->members.n;
    kfk__assign_member *ms = kfk__arena_alloc(a, (size_t)(n ? n : 1) * sizeof(*ms));
    kfk__assign_member *ms_ok = ms;
    if (!ms)
        return KFK_ERR__NOMEM;
    int32_t nm = 0;
    for (int32_t i = 0; i < n; i++) {
        const kfk__join_group_response_member *jm = &r->members.v[i];
        kfk__assign_member m = {0};
        if (jm->metadata.len < 0 ||
            kfk__subscription_decode(jm->metadata.ptr, (size_t)jm->metadata.len, a, &m)) {
            KFK__LOG(LG(g), KFK__LOG_WARNING, KFK__DEBUG_CGRP,
                     "group %s: member %.*s sent an undecodable subscription: ignored",
                     g->cs->group_id, (int)jm->member_id.len, jm->member_id.ptr);
            continue;
        }
        char *id = kfk__arena_alloc(a, (size_t)jm->member_id.len + 1);
        if (!id)
            return KFK_ERR__NOMEM;
        memcpy(id, jm->member_id.ptr, (size_t)jm->member_id.len);
        id[jm->member_id.len] = '\0';
        m.member_id = id;
        if (jm->group_instance_id.len >= 0) {
            char *inst = kfk__arena_alloc(a, (size_t)jm->group_instance_id.len + 1);
            if (!inst)
                return KFK_ERR__NOMEM;
            memcpy(inst, jm->group_instance_id.ptr, (size_t)jm->group_instance_id.len);
            inst[jm->group_instance_id.len] = '\0';
            m.instance_id = inst;
        }
        ms_ok[nm++] = m;
    }
    /* every topic any member subscribes to, with its partition count */
    int32_t cap = 0;
    for (int32_t i = 0; i < nm; i++)
        cap += ms[i].ntopics;
    kfk__assign_topic *ts = kfk__arena_alloc(a, (size_t)(cap ? cap : 1) * sizeof(*ts));
    if (!ts)
        return KFK_ERR__NOMEM;
    int32_t nt = 0;
    kfk__mdcache *md = kfk__client_metadata(g->cs->k->client);
    gset_clear(&g->group_topics);
    for (int32_t i = 0; i < nm; i++)
        for (int32_t k = 0; k < ms[i].ntopics; k++) {
            const char *name = ms[i].topics[k];
            int32_t t;
            for (t = 0; t < nt; t++)
                if (!strcmp(ts[t].name, name))
                    break;
            if (t < nt)
                continue;
            int32_t cnt = kfk__mdcache_partition_count(md, name);
            if (!gset_has_topic(&g->group_topics, name))
                gset_add(&g->group_topics, name, cnt);
            if (cnt <= 0) {
                kfk__client_want_topic(g->cs->k->client, name);
                continue;
            }
            ts[nt].name = name;
            ts[nt].partition_cnt = cnt;
            ts[nt].racks = NULL;
            nt++;
        }
    kfk__assign_group grp = {ms, nm, ts, nt};
    kfk__member_assignment *out = kfk__arena_alloc(a, (size_t)(nm ? nm : 1) * sizeof(*out));
    s->members = kfk__arena_alloc(a, (size_t)(nm ? nm : 1) * sizeof(*s->members));
    s->assignments = kfk__arena_alloc(a, (size_t)(nm ? nm : 1) * sizeof(*s->assignments));
    if (!out || !s->members || !s->assignments)
        return KFK_ERR__NOMEM;
    memset(out, 0, (size_t)(nm ? nm : 1) * sizeof(*out));
    int e = as->assign(as, &grp, a, out);
    if (e)
        return e;
    for (int32_t i = 0; i < nm; i++) {
        kfk__wbuf w;
        kfk__wbuf_init(&w, 0);
        e = kfk__assignment_encode(&out[i], KFK__CONSUMER_PROTOCOL_VERSION, &w);
        uint8_t *copy = !e ? kfk__arena_alloc(a, w.len ? w.len : 1) : NULL;
        if (copy)
            memcpy(copy, w.data, w.len);
        size_t len = w.len;
        kfk__wbuf_free(&w);
        if (!copy)
            return e ? e : KFK_ERR__NOMEM;
        s->members[i] = kfk__str_c(ms[i].member_id);
        s->assignments[i] = (kfk__bytes){copy, (int32_t)len};
    }
    s->n = nm;
    KFK__LOG(LG(g), KFK__LOG_INFO, KFK__DEBUG_CGRP,
             "group %s: leader of generation %d: assigned %d topics to %d members with %s",
             g->cs->group_id, (int)r->generation_id, (int)nt, (int)nm, as->name);
    return 0;
}

static void send_sync(kfk__group *g, const kfk__join_group_response *r)
{
    sync_ctx *s = kfk__calloc(1, sizeof(*s));
    kfk__cbroker *b = kfk__coord_get(g->cs);
    if (!s || !b) {
        kfk__free(s);
        g->state = G_JOIN;
        return;
    }
    s->g = g;
    kfk__arena_init(&s->arena, 0);
    s->generation = r->generation_id;
    char *proto = kfk__arena_alloc(&s->arena, (size_t)(r->protocol_name.len > 0 ? r->protocol_name.len : 0) + 1);
    if (proto) {
        if (r->protocol_name.len > 0)
            memcpy(proto, r->protocol_name.ptr, (size_t)r->protocol_name.len);
        proto[r->protocol_name.len > 0 ? r->protocol_name.len : 0] = '\0';
    }
    s->protocol = proto ? proto : "";
    bool leader = kfk__str_eq(r->leader, g->member_id);
    int e = leader ? assign_group(g, r, s) : 0;
    if (e) {
        KFK__LOG(LG(g), KFK__LOG_WARNING, KFK__DEBUG_CGRP, "group %s: assignment failed: %s",
                 g->cs->group_id, kfk_err_str((kfk_err_t)e));
        s->n = 0; /* sync anyway: an empty assignment beats a stuck group */
    }
    if (kfk__cbroker_request_timeout(b, 14, 0, 5, build_sync, on_sync, s,
                                     (int64_t)g->rebalance_ms + 5000)) {
        kfk__arena_free(&s->arena);
        kfk__free(s);
        g->state = G_JOIN;
        return;
    }
    g->state = G_SYNCING;
}

static void on_join(kfk__cbroker *b, int err, int16_t version, void *resp, void *opaque)
{
    kfk__group *g = opaque;
    kfk__join_group_response *r = resp;
    (void)b;
    (void)version;
    int e = err ? err : r ? r->error_code : KFK_ERR__MALFORMED;
    pthread_mutex_lock(&g->cs->mu);
    if (g->state != G_JOINING) {
        /* left or restarted meanwhile */
    } else if (e == KFK_ERR_MEMBER_ID_REQUIRED) {
        snprintf(g->member_id, sizeof(g->member_id), "%.*s", (int)r->member_id.len,
                 r->member_id.ptr ? r->member_id.ptr : "");
        g->state = G_JOIN;
    } else if (e == KFK_ERR_REBALANCE_IN_PROGRESS) {
        g->state = G_JOIN;
    } else if (e && common_error(g, e)) {
        if (g->state == G_JOINING)
            g->state = G_JOIN;
    } else if (e) {
        KFK__LOG(LG(g), KFK__LOG_WARNING, KFK__DEBUG_CGRP, "group %s: JoinGroup failed: %s",
                 g->cs->group_id, kfk_err_str((kfk_err_t)e));
        if (!kfk_err_is_retriable((kfk_err_t)e) && g->failures == 0)
            kfk__tp_event(g->cs, NULL, e, -1, "group %s: cannot join: %s (retrying)",
                          g->cs->group_id, kfk_err_str((kfk_err_t)e));
        g->state = G_JOIN;
        g->retry_at = kfk__now_ms() + 100 * (++g->failures < 50 ? g->failures : 50);
    } else {
        snprintf(g->member_id, sizeof(g->member_id), "%.*s", (int)r->member_id.len,
                 r->member_id.ptr ? r->member_id.ptr : "");
        g->generation = r->generation_id;
        g->leader = kfk__str_eq(r->leader, g->member_id);
        if (!g->leader)
            gset_clear(&g->group_topics);
        KFK__DBG(LG(g), KFK__DEBUG_CGRP, "group %s: joined generation %d as %s%s",
                 g->cs->group_id, (int)r->generation_id, g->member_id,
                 kfk__str_eq(r->leader, g->member_id) ? " (leader)" : "");
        send_sync(g, r);
    }
    pthread_mutex_unlock(&g->cs->mu);
    if (!g->stopped)
        run(g);
}

static void on_heartbeat(kfk__cbroker *b, int err, int16_t version, void *resp, void *opaque)
{
    kfk__group *g = opaque;
    kfk__heartbeat_response *r = resp;
    (void)b;
    (void)version;
    g->hb_inflight = false;
    int e = err ? err : r ? r->error_code : KFK_ERR__MALFORMED;
    pthread_mutex_lock(&g->cs->mu);
    if (!e) {
        g->last_hb_ok_ms = kfk__now_ms();
    } else if (g->state != G_STABLE && g->state != G_REVOKING) {
        /* a stale answer */
    } else if (e == KFK_ERR_REBALANCE_IN_PROGRESS) {
        KFK__DBG(LG(g), KFK__DEBUG_CGRP, "group %s: rebalance in progress", g->cs->group_id);
        if (g->state == G_STABLE)
            g->state = G_JOIN;
        else
            g->rejoin_after = true;
    } else if (!common_error(g, e)) {
        KFK__LOG(LG(g), KFK__LOG_WARNING, KFK__DEBUG_CGRP, "group %s: heartbeat failed: %s",
                 g->cs->group_id, kfk_err_str((kfk_err_t)e));
    }
    pthread_mutex_unlock(&g->cs->mu);
    if (!g->stopped)
        run(g);
}

static void on_leave(kfk__cbroker *b, int err, int16_t version, void *resp, void *opaque)
{
    kfk__group *g = opaque;
    (void)b;
    (void)version;
    (void)resp;
    KFK__DBG(LG(g), KFK__DEBUG_CGRP, "group %s: left (%s)", g->cs->group_id,
             kfk_err_name((kfk_err_t)err));
    pthread_mutex_lock(&g->cs->mu);
    g->left = true;
    pthread_mutex_unlock(&g->cs->mu);
    kfk__evq_wake(&g->cs->k->evq);
}

/* ---- the state machine ------------------------------------------------------------------ */

/* Sends LeaveGroup (not for static members, who keep their assignment
 * for session.timeout.ms across restarts). mu held. */
static void send_leave(kfk__group *g)
{
    kfk__cbroker *b = g->member_id[0] && !g->instance_id ? kfk__coord_get(g->cs) : NULL;
    memcpy(g->leave_id, g->member_id, sizeof(g->leave_id));
    if (!b || kfk__cbroker_request(b, 13, 0, 5, build_leave, on_leave, g))
        g->left = true;
    g->member_id[0] = '\0';
    g->generation = -1;
}

static void check_poll_interval(kfk__group *g, int64_t now)
{
    kfk__consumer *cs = g->cs;
    if (g->state == G_IDLE || g->poll_late)
        return;
    int64_t last = atomic_load(&cs->last_poll_ms);
    if (now - last <= cs->max_poll_interval_ms)
        return;
    KFK__LOG(LG(g), KFK__LOG_WARNING, KFK__DEBUG_CGRP,
             "group %s: no poll for %lld ms (max.poll.interval.ms %lld): leaving the group",
             cs->group_id, (long long)(now - last), (long long)cs->max_poll_interval_ms);
    g->poll_late = true;
    if (g->owned.n) {
        unassign(g, &g->owned);
        queue_rebalance(g, KFK_REBALANCE_LOST, &g->owned);
        gset_clear(&g->owned);
    }
    kfk__tp_event(cs, NULL, KFK_ERR__MAX_POLL_EXCEEDED, -1,
                  "group %s: no poll within max.poll.interval.ms (%lld ms): left the group; "
                  "the next poll rejoins",
                  cs->group_id, (long long)cs->max_poll_interval_ms);
    send_leave(g);
    g->state = G_IDLE;
}

void kfk__group_poll_seen(kfk__group *g)
{
    pthread_mutex_lock(&g->cs->mu);
    bool late = g->poll_late;
    g->poll_late = false;
    if (late && g->subscribed)
        g->sub_changed = true; /* rejoin */
    pthread_mutex_unlock(&g->cs->mu);
    if (late)
        kfk__fetcher_wakeup(g->cs);
}

static void run(kfk__group *g)
{
    kfk__consumer *cs = g->cs;
    int64_t now = kfk__now_ms();
    int64_t next = now + 100;
    pthread_mutex_lock(&cs->mu);
    if (kfk__handle_fatal(cs->k) || g->leaving) {
        pthread_mutex_unlock(&cs->mu);
        kfk__timer_again(g->timer, 100);
        return;
    }
    check_poll_interval(g, now);
    /* the subscription or the topics it matches changed: rebalance */
    gset m = {0};
    if (g->subscribed)
        match_topics(g, &m);
    bool changed = g->sub_changed || (g->subscribed && !same_topics(&m, &g->matched));
    if (changed && !g->poll_late) {
        g->sub_changed = false;
        gset_free(&g->matched);
        g->matched = m;
        m = (gset){0};
        if (!g->subscribed) {
            /* as Java: revoke (the application commits in its callback
             * while still a member), then leave */
            g->leave_after_revoke = true;
            if (g->owned.n && g->state != G_REVOKING)
                start_revoke(g, &g->owned, false);
            if (g->state != G_REVOKING) {
                g->leave_after_revoke = false;
                if (g->member_id[0])
                    send_leave(g);
                g->state = G_IDLE;
            }
        } else if (g->state == G_IDLE || g->state == G_STABLE || g->state == G_JOIN) {
            g->state = G_JOIN;
        } else {
            g->rejoin_after = true;
        }
    }
    gset_free(&m);
    if (g->state == G_STABLE && g->leader && group_topics_changed(g)) {
        KFK__DBG(LG(g), KFK__DEBUG_CGRP,
                 "group %s: the members' topics changed: rebalancing as the leader",
                 cs->group_id);
        g->rejoin_after = true;
    }
    if (g->state == G_STABLE && g->rejoin_after) {
        g->rejoin_after = false;
        g->state = G_JOIN;
    }
    /* eager: revoke everything before joining */
    if (g->state == G_JOIN && !g->cooperative && g->owned.n)
        start_revoke(g, &g->owned, false);
    if (g->state == G_JOIN && now >= g->retry_at && !metadata_pending(g, now)) {
        kfk__cbroker *b = kfk__coord_get(cs);
        if (b && !kfk__cbroker_request_timeout(b, 11, 0, 9, build_join, on_join, g,
                                               (int64_t)g->rebalance_ms + 5000))
            g->state = G_JOINING;
    }
    /* heartbeats while we have a generation */
    /* heartbeats while we have a generation, revoking included: an eager
     * member waiting for its application's revoke gets
     * REBALANCE_IN_PROGRESS, which keeps its session alive until it
     * rejoins within the rebalance timeout */
    bool in_generation = g->state == G_STABLE || g->state == G_REVOKING;
    if (in_generation && g->generation >= 0 && !g->hb_inflight && now >= g->next_hb_ms) {
        kfk__cbroker *b = kfk__coord_get(cs);
        if (b && !kfk__cbroker_request(b, 12, 0, 4, build_heartbeat, on_heartbeat, g)) {
            g->hb_inflight = true;
            g->next_hb_ms = now + g->hb_ms;
        }
        if (now - g->last_hb_ok_ms > g->session_ms)
            kfk__coord_dead(cs); /* the coordinator went quiet: find it again */
    }
    if (g->next_hb_ms > now && g->next_hb_ms < next)
        next = g->next_hb_ms;
    pthread_mutex_unlock(&cs->mu);
    kfk__timer_again(g->timer, next - now);
}

/* ---- identity for commits and the application ------------------------------------------ */

int32_t kfk__group_generation(kfk__group *g, const char **member_id, const char **instance_id)
{
    *instance_id = g->instance_id;
    if (g->state != G_STABLE && g->state != G_REVOKING) {
        *member_id = "";
        return -1;
    }
    *member_id = g->member_id;
    return g->generation;
}

int32_t kfk__group_member_id(kfk__group *g, char *buf, size_t size)
{
    pthread_mutex_lock(&g->cs->mu);
    if (buf && size)
        snprintf(buf, size, "%s", g->member_id);
    int32_t gen = g->generation;
    pthread_mutex_unlock(&g->cs->mu);
    return gen;
}

/* ---- close -------------------------------------------------------------------------- */

static void do_leave(kfk__client *c, void *arg)
{
    kfk__group *g = arg;
    (void)c;
    pthread_mutex_lock(&g->cs->mu);
    g->leaving = true;
    g->subscribed = false;
    if (g->owned.n)
        unassign(g, &g->owned);
    gset_clear(&g->owned);
    if (g->member_id[0])
        send_leave(g);
    else
        g->left = true;
    g->state = G_IDLE;
    pthread_mutex_unlock(&g->cs->mu);
    kfk__evq_wake(&g->cs->k->evq);
}

void kfk__group_leave(kfk__group *g, int64_t deadline_ms)
{
    kfk__consumer *cs = g->cs;
    /* revoke on the application's thread: this is its close call */
    pthread_mutex_lock(&cs->mu);
    gset owned = {0};
    for (int i = 0; i < g->owned.n; i++) {
        /* not those whose REVOKED the application has already seen (the
         * group forgets them only when the I/O thread hears of it) */
        kfk__toppar *tp = kfk__tp_find(cs, g->owned.v[i].topic, g->owned.v[i].partition);
        if (tp && tp->assigned)
            gset_add(&owned, g->owned.v[i].topic, g->owned.v[i].partition);
    }
    pthread_mutex_unlock(&cs->mu);
    if (owned.n && cs->rebalance_cb) {
        kfk_topic_partition_t *parts = gset_parts(&owned);
        if (parts)
            cs->rebalance_cb(cs->k, KFK_REBALANCE_REVOKED, parts, (size_t)owned.n,
                             cs->rebalance_opaque);
        kfk_topic_partitions_free(parts, (size_t)owned.n);
    }
    gset_free(&owned);
    if (kfk__client_post(cs->k->client, do_leave, g))
        return;
    for (;;) {
        uint64_t gen = kfk__evq_gen(&cs->k->evq);
        pthread_mutex_lock(&cs->mu);
        bool left = g->left;
        pthread_mutex_unlock(&cs->mu);
        if (left || kfk__now_ms() >= deadline_ms)
            break;
        kfk__evq_wait(&cs->k->evq, gen, deadline_ms);
    }
}

/* ---- life cycle --------------------------------------------------------------------- */

static void on_timer(kfk__timer *t, void *arg)
{
    (void)t;
    run(arg);
}

static void start(kfk__client *c, void *arg)
{
    kfk__group *g = arg;
    g->timer = kfk__timer_add(kfk__client_loop(c), 0, on_timer, g);
}

static void stop(kfk__client *c, void *arg)
{
    kfk__group *g = arg;
    (void)c;
    g->stopped = true;
    kfk__timer_del(g->timer);
    g->timer = NULL;
}

static const kfk__assignor *assignor_for(int bit)
{
    switch (bit) {
    case KFK__ASSIGNOR_RANGE:
        return &kfk__assignor_range;
    case KFK__ASSIGNOR_ROUNDROBIN:
        return &kfk__assignor_roundrobin;
    case KFK__ASSIGNOR_STICKY:
        return &kfk__assignor_sticky;
    default:
        return &kfk__assignor_cooperative_sticky;
    }
}

int kfk__group_new(kfk__consumer *cs, kfk__group **out)
{
    kfk__group *g = kfk__calloc(1, sizeof(*g));
    if (!g)
        return KFK_ERR__NOMEM;
    const kfk_conf_t *c = cs->k->conf;
    g->cs = cs;
    g->generation = -1;
    g->last_generation = -1;
    g->session_ms = (int32_t)kfk__conf_int(c, KFK__CONF_SESSION_TIMEOUT_MS);
    g->rebalance_ms = (int32_t)kfk__conf_int(c, KFK__CONF_MAX_POLL_INTERVAL_MS);
    g->hb_ms = (int32_t)kfk__conf_int(c, KFK__CONF_HEARTBEAT_INTERVAL_MS);
    const char *inst = kfk__conf_str(c, KFK__CONF_GROUP_INSTANCE_ID);
    g->instance_id = inst && *inst ? inst : NULL;
    const char *rack = kfk__conf_str(c, KFK__CONF_CLIENT_RACK);
    g->rack = rack && *rack ? rack : NULL;
    int n = 0;
    char *const *names = kfk__conf_list(c, KFK__CONF_PARTITION_ASSIGNMENT_STRATEGY, &n);
    g->cooperative = n > 0 || c->cbs.nassignors > 0;
    for (int i = 0; i < c->cbs.nassignors && i < 4; i++) {
        kfk__user_assignor_init(&g->user[i], c->cbs.assignors[i].name,
                                c->cbs.assignors[i].cooperative, c->cbs.assignors[i].cb,
                                c->cbs.assignors[i].opaque);
        g->assignors[g->nassignors++] = &g->user[i].as;
        if (!c->cbs.assignors[i].cooperative)
            g->cooperative = false;
    }
    for (int i = 0; i < n && g->nassignors < MAX_ASSIGNORS; i++) {
        const kfk__assignor *as = kfk__assignor_builtin(names[i]);
        if (!as)
            continue;
        g->assignors[g->nassignors++] = as;
        if (as->protocol != KFK__REBALANCE_COOPERATIVE)
            g->cooperative = false;
    }
    if (!g->nassignors) {
        g->assignors[g->nassignors++] = assignor_for(KFK__ASSIGNOR_RANGE);
        g->cooperative = false;
    }
    g->last_hb_ok_ms = kfk__now_ms();
    cs->coord_id = -1;
    int e = kfk__client_post(cs->k->client, start, g);
    if (e) {
        kfk__free(g);
        return e;
    }
    *out = g;
    return 0;
}

void kfk__group_free(kfk__group *g)
{
    if (!g)
        return;
    free_subscription(g);
    gset_free(&g->owned);
    gset_free(&g->last_assigned);
    gset_free(&g->matched);
    gset_free(&g->group_topics);
    gset_free(&g->revoking);
    kfk__free(g);
}

void kfk__group_stop(kfk__group *g)
{
    if (g)
        kfk__client_post(g->cs->k->client, stop, g);
}
