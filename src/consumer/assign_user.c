/*
 * assign_user.c: user assignors (kfk_conf_add_assignor): an adapter from
 * the internal assignor interface (assignor.h) to the public callback, and
 * kfk_assignment_add, which collects what the callback hands out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kfk/consumer.h>

#include "client/conf_int.h"
#include "common/alloc.h"
#include "consumer/assign_user.h"

kfk_err_t kfk_conf_add_assignor(kfk_conf_t *conf, const char *name, int cooperative,
                                kfk_assign_cb *cb, void *opaque)
{
    if (!conf || !name || !*name || strlen(name) >= sizeof(conf->cbs.assignors[0].name) || !cb ||
        kfk__assignor_builtin(name)) /* a built-in's name would be offered twice */
        return KFK_ERR__INVALID_ARG;
    for (int i = 0; i < conf->cbs.nassignors; i++)
        if (!strcmp(conf->cbs.assignors[i].name, name))
            return KFK_ERR__INVALID_ARG;
    if (conf->cbs.nassignors == 4)
        return KFK_ERR__QUEUE_FULL;
    int i = conf->cbs.nassignors++;
    strcpy(conf->cbs.assignors[i].name, name);
    conf->cbs.assignors[i].cooperative = cooperative != 0;
    conf->cbs.assignors[i].cb = (void (*)(void))cb;
    conf->cbs.assignors[i].opaque = opaque;
    return KFK_ERR_NONE;
}

typedef struct given {
    size_t member;
    int32_t topic; /* index in the group's topics */
    int32_t partition;
} given;

struct kfk_assignment {
    const kfk__assign_group *g;
    given *v;
    size_t n, cap;
    uint8_t **taken; /* per topic, per partition: given already */
};

kfk_err_t kfk_assignment_add(kfk_assignment_t *a, size_t member, const char *topic,
                             int32_t partition)
{
    if (!a || !topic || member >= (size_t)a->g->nmembers)
        return KFK_ERR__INVALID_ARG;
    int32_t t;
    for (t = 0; t < a->g->ntopics; t++)
        if (!strcmp(a->g->topics[t].name, topic))
            break;
    if (t == a->g->ntopics || partition < 0 || partition >= a->g->topics[t].partition_cnt ||
        a->taken[t][partition])
        return KFK_ERR__INVALID_ARG;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        given *v = kfk__realloc(a->v, cap * sizeof(*v));
        if (!v)
            return KFK_ERR__NOMEM;
        a->v = v;
        a->cap = cap;
    }
    a->taken[t][partition] = 1;
    a->v[a->n++] = (given){member, t, partition};
    return KFK_ERR_NONE;
}

/* By member, then topic name, then partition: the order the assignment
 * bytes want. */
static const kfk__assign_group *sort_group;

static int cmp_given(const void *x, const void *y)
{
    const given *a = x, *b = y;
    if (a->member != b->member)
        return a->member < b->member ? -1 : 1;
    int c = strcmp(sort_group->topics[a->topic].name, sort_group->topics[b->topic].name);
    if (c)
        return c;
    return (a->partition > b->partition) - (a->partition < b->partition);
}

/* The results into out[], allocated from arena. */
static int collect(kfk_assignment_t *a, kfk__arena *arena, kfk__member_assignment *out)
{
    sort_group = a->g;
    qsort(a->v, a->n, sizeof(*a->v), cmp_given);
    size_t i = 0;
    for (int32_t m = 0; m < a->g->nmembers; m++) {
        size_t start = i;
        int32_t ntopics = 0;
        for (; i < a->n && a->v[i].member == (size_t)m; i++)
            ntopics += i == start || a->v[i].topic != a->v[i - 1].topic;
        out[m].ntopics = ntopics;
        out[m].topics = ntopics ? kfk__arena_alloc(arena, (size_t)ntopics * sizeof(*out[m].topics))
                                : NULL;
        if (ntopics && !out[m].topics)
            return KFK_ERR__NOMEM;
        int32_t t = -1;
        for (size_t k = start; k < i; k++) {
            if (k == start || a->v[k].topic != a->v[k - 1].topic) {
                t++;
                size_t cnt = 0;
                while (k + cnt < i && a->v[k + cnt].topic == a->v[k].topic)
                    cnt++;
                out[m].topics[t].topic = a->g->topics[a->v[k].topic].name;
                out[m].topics[t].n = 0;
                out[m].topics[t].partitions = kfk__arena_alloc(arena, cnt * sizeof(int32_t));
                if (!out[m].topics[t].partitions)
                    return KFK_ERR__NOMEM;
            }
            out[m].topics[t].partitions[out[m].topics[t].n++] = a->v[k].partition;
        }
    }
    return 0;
}

/* The public view of the members (owned partitions flattened). */
static kfk_group_member_t *members_view(const kfk__assign_group *g, kfk_topic_partition_t **owned)
{
    size_t nowned = 0;
    for (int32_t m = 0; m < g->nmembers; m++)
        for (int32_t t = 0; t < g->members[m].nowned; t++)
            nowned += (size_t)g->members[m].owned[t].n;
    kfk_group_member_t *ms = kfk__calloc((size_t)(g->nmembers ? g->nmembers : 1), sizeof(*ms));
    *owned = kfk__calloc(nowned ? nowned : 1, sizeof(**owned));
    if (!ms || !*owned) {
        kfk__free(ms);
        kfk__free(*owned);
        return NULL;
    }
    size_t k = 0;
    for (int32_t m = 0; m < g->nmembers; m++) {
        const kfk__assign_member *im = &g->members[m];
        ms[m] = (kfk_group_member_t){.member_id = im->member_id,
                                     .instance_id = im->instance_id,
                                     .rack = im->rack,
                                     .topics = im->topics,
                                     .topic_count = (size_t)im->ntopics,
                                     .owned = *owned + k,
                                     .generation = im->generation};
        for (int32_t t = 0; t < im->nowned; t++)
            for (int32_t p = 0; p < im->owned[t].n; p++)
                (*owned)[k++] = (kfk_topic_partition_t){.topic = im->owned[t].topic,
                                                        .partition = im->owned[t].partitions[p],
                                                        .offset = KFK_OFFSET_INVALID,
                                                        .leader_epoch = -1};
        ms[m].owned_count = (size_t)(*owned + k - ms[m].owned);
    }
    return ms;
}

static int user_assign(const kfk__assignor *self, const kfk__assign_group *g, kfk__arena *arena,
                       kfk__member_assignment *out)
{
    const kfk__user_assignor *ua = self->opaque;
    kfk_topic_partition_t *owned = NULL;
    kfk_group_member_t *ms = members_view(g, &owned);
    kfk_group_topic_t *ts = kfk__calloc((size_t)(g->ntopics ? g->ntopics : 1), sizeof(*ts));
    kfk_assignment_t a = {.g = g};
    a.taken = kfk__calloc((size_t)(g->ntopics ? g->ntopics : 1), sizeof(*a.taken));
    int e = ms && ts && a.taken ? 0 : KFK_ERR__NOMEM;
    for (int32_t t = 0; !e && t < g->ntopics; t++) {
        ts[t] = (kfk_group_topic_t){g->topics[t].name, g->topics[t].partition_cnt};
        int32_t cnt = g->topics[t].partition_cnt > 0 ? g->topics[t].partition_cnt : 1;
        if (!(a.taken[t] = kfk__calloc((size_t)cnt, 1)))
            e = KFK_ERR__NOMEM;
    }
    if (!e)
        e = ((kfk_assign_cb *)ua->cb)(ms, (size_t)g->nmembers, ts, (size_t)g->ntopics, &a,
                                      ua->opaque);
    if (!e)
        e = collect(&a, arena, out);
    for (int32_t t = 0; a.taken && t < g->ntopics; t++)
        kfk__free(a.taken[t]);
    kfk__free(a.taken);
    kfk__free(a.v);
    kfk__free(ts);
    kfk__free(ms);
    kfk__free(owned);
    return e;
}

void kfk__user_assignor_init(kfk__user_assignor *ua, const char *name, int cooperative,
                             void (*cb)(void), void *opaque)
{
    memset(ua, 0, sizeof(*ua));
    snprintf(ua->name, sizeof(ua->name), "%s", name);
    ua->cb = cb;
    ua->opaque = opaque;
    ua->as.name = ua->name;
    ua->as.protocol = cooperative ? KFK__REBALANCE_COOPERATIVE : KFK__REBALANCE_EAGER;
    ua->as.assign = user_assign;
    ua->as.user_data = NULL;
    ua->as.opaque = ua;
}
