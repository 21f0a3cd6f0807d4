/*
 * assignor.c: the table of built-in assignors and the input view they
 * share (assign_int.h). The assignors themselves live in assign_range.c,
 * assign_roundrobin.c and assign_sticky.c; the subscription and assignment
 * bytes in assign_codec.c.
 */
#include "consumer/assign_int.h"

#include <kfk/error.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

const kfk__assignor *kfk__assignor_builtin(const char *name)
{
    static const kfk__assignor *const all[] = {
        &kfk__assignor_range,
        &kfk__assignor_roundrobin,
        &kfk__assignor_sticky,
        &kfk__assignor_cooperative_sticky,
    };
    for (size_t i = 0; name && i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

/* ---- sorting --------------------------------------------------------- */

typedef struct named {
    const char *a, *b; /* sort keys; a NULL sorts after any string */
    int32_t idx;
} named;

static int cmp_opt(const char *x, const char *y)
{
    if (x && y)
        return strcmp(x, y);
    return x ? -1 : y ? 1 : 0;
}

static int cmp_named(const void *x, const void *y)
{
    const named *p = x, *q = y;
    int c = cmp_opt(p->a, q->a);
    if (!c)
        c = strcmp(p->b, q->b);
    if (!c)
        c = p->idx < q->idx ? -1 : p->idx > q->idx;
    return c;
}

/* Sorts n names, writes the original indices in order to ord; fails on
 * two equal keys (they would make the order depend on input order). */
static int sort_named(named *v, int32_t n, int32_t *ord)
{
    if (n > 1)
        qsort(v, (size_t)n, sizeof(*v), cmp_named);
    for (int32_t i = 0; i < n; i++) {
        if (i && cmp_opt(v[i - 1].a, v[i].a) == 0 &&
            strcmp(v[i - 1].b, v[i].b) == 0)
            return KFK_ERR__INVALID_ARG;
        ord[i] = v[i].idx;
    }
    return 0;
}

static int cmp_i32(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return a < b ? -1 : a > b;
}

/* ---- the shared view ------------------------------------------------- */

static int32_t *alloc_i32(size_t n)
{
    return kfk__malloc((n ? n : 1) * sizeof(int32_t));
}

/* FNV-1a: names are looked up once per subscribed topic per member and
 * per owned topic, a million times in a large group. */
static uint32_t name_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

int32_t kfk__asg_topic_rank(const kfk__asg_prep *p, const char *name,
                            size_t len)
{
    for (uint32_t i = name_hash(name, len) & p->t_mask; p->t_hash[i];
         i = (i + 1) & p->t_mask) {
        const char *t = p->g->topics[p->t_idx[p->t_hash[i] - 1]].name;
        if (strlen(t) == len && memcmp(t, name, len) == 0)
            return p->t_hash[i] - 1;
    }
    return -1;
}

static int hash_topics(kfk__asg_prep *p)
{
    size_t slots = 8;
    while (slots < 2 * (size_t)p->nt)
        slots *= 2;
    p->t_mask = (uint32_t)(slots - 1);
    p->t_hash = kfk__calloc(slots, sizeof(int32_t));
    if (!p->t_hash)
        return KFK_ERR__NOMEM;
    for (int32_t t = 0; t < p->nt; t++) {
        const char *name = p->g->topics[p->t_idx[t]].name;
        uint32_t i = name_hash(name, strlen(name)) & p->t_mask;
        while (p->t_hash[i])
            i = (i + 1) & p->t_mask;
        p->t_hash[i] = t + 1;
    }
    return 0;
}

bool kfk__asg_subscribed(const kfk__asg_prep *p, int32_t m, int32_t t)
{
    const int32_t *s = p->sub + p->sub_off[m];
    return bsearch(&t, s, (size_t)(p->sub_off[m + 1] - p->sub_off[m]),
                   sizeof(*s), cmp_i32) != NULL;
}

static int sort_topics(kfk__asg_prep *p)
{
    const kfk__assign_group *g = p->g;
    named *v = kfk__malloc((g->ntopics ? (size_t)g->ntopics : 1) * sizeof(*v));
    if (!v)
        return KFK_ERR__NOMEM;
    int err = 0;
    for (int32_t i = 0; i < g->ntopics && !err; i++) {
        if (!g->topics[i].name || g->topics[i].partition_cnt < 0)
            err = KFK_ERR__INVALID_ARG;
        v[i] = (named){NULL, g->topics[i].name, i};
    }
    if (!err)
        err = sort_named(v, g->ntopics, p->t_idx);
    for (int32_t i = 0; i < g->ntopics && !err; i++)
        p->t_cnt[i] = g->topics[p->t_idx[i]].partition_cnt;
    kfk__free(v);
    return err;
}

/* Counts and pointers agree, so no assignor has to check them again. */
static bool member_ok(const kfk__assign_member *m)
{
    if (!m->member_id || m->ntopics < 0 || m->nowned < 0 ||
        (m->ntopics && !m->topics) || (m->nowned && !m->owned))
        return false;
    for (int32_t i = 0; i < m->nowned; i++)
        if (!m->owned[i].topic || m->owned[i].n < 0 ||
            (m->owned[i].n && !m->owned[i].partitions))
            return false;
    return true;
}

static int sort_members(kfk__asg_prep *p)
{
    const kfk__assign_group *g = p->g;
    named *v =
        kfk__malloc((g->nmembers ? (size_t)g->nmembers : 1) * sizeof(*v));
    if (!v)
        return KFK_ERR__NOMEM;
    int err = 0;
    for (int32_t i = 0; i < g->nmembers && !err; i++) {
        const kfk__assign_member *m = &g->members[i];
        if (!member_ok(m))
            err = KFK_ERR__INVALID_ARG;
        v[i] = (named){m->instance_id, m->member_id, i};
    }
    if (!err)
        err = sort_named(v, g->nmembers, p->m_idx);
    /* Member ids are unique, static or not. */
    for (int32_t i = 0; i < g->nmembers && !err; i++)
        v[i] = (named){NULL, g->members[i].member_id, i};
    if (!err && g->nmembers > 1) {
        qsort(v, (size_t)g->nmembers, sizeof(*v), cmp_named);
        for (int32_t i = 1; i < g->nmembers && !err; i++)
            if (strcmp(v[i - 1].b, v[i].b) == 0)
                err = KFK_ERR__INVALID_ARG;
    }
    kfk__free(v);
    return err;
}

/* Member subscriptions as sorted topic ranks, and the transpose. */
static int index_subscriptions(kfk__asg_prep *p)
{
    const kfk__assign_group *g = p->g;
    size_t total = 0;
    for (int32_t i = 0; i < g->nmembers; i++)
        total += (size_t)g->members[i].ntopics;
    p->sub = alloc_i32(total);
    p->tsub = alloc_i32(total);
    if (!p->sub || !p->tsub)
        return KFK_ERR__NOMEM;

    int32_t n = 0;
    for (int32_t r = 0; r < p->nm; r++) {
        const kfk__assign_member *m = &g->members[p->m_idx[r]];
        p->sub_off[r] = n;
        int32_t start = n;
        for (int32_t k = 0; k < m->ntopics; k++) {
            if (!m->topics[k])
                return KFK_ERR__INVALID_ARG;
            int32_t t =
                kfk__asg_topic_rank(p, m->topics[k], strlen(m->topics[k]));
            if (t >= 0)
                p->sub[n++] = t;
        }
        qsort(p->sub + start, (size_t)(n - start), sizeof(int32_t), cmp_i32);
        int32_t w = start; /* drop duplicates */
        for (int32_t k = start; k < n; k++)
            if (k == start || p->sub[k] != p->sub[w - 1])
                p->sub[w++] = p->sub[k];
        n = w;
    }
    p->sub_off[p->nm] = n;

    /* Counting sort by topic keeps members ascending within each topic. */
    memset(p->tsub_off, 0, ((size_t)p->nt + 1) * sizeof(int32_t));
    for (int32_t k = 0; k < n; k++)
        p->tsub_off[p->sub[k] + 1]++;
    for (int32_t t = 0; t < p->nt; t++)
        p->tsub_off[t + 1] += p->tsub_off[t];
    int32_t *fill = alloc_i32((size_t)p->nt);
    if (!fill)
        return KFK_ERR__NOMEM;
    memcpy(fill, p->tsub_off, (size_t)p->nt * sizeof(int32_t));
    for (int32_t r = 0; r < p->nm; r++)
        for (int32_t k = p->sub_off[r]; k < p->sub_off[r + 1]; k++)
            p->tsub[fill[p->sub[k]]++] = r;
    kfk__free(fill);
    return 0;
}

int kfk__asg_prep_init(kfk__asg_prep *p, const kfk__assign_group *g)
{
    memset(p, 0, sizeof(*p));
    p->g = g;
    if (g->nmembers < 0 || g->ntopics < 0 || (g->nmembers && !g->members) ||
        (g->ntopics && !g->topics))
        return KFK_ERR__INVALID_ARG;
    p->nt = g->ntopics;
    p->nm = g->nmembers;
    p->t_idx = alloc_i32((size_t)p->nt);
    p->t_cnt = alloc_i32((size_t)p->nt);
    p->tsub_off = alloc_i32((size_t)p->nt + 1);
    p->m_idx = alloc_i32((size_t)p->nm);
    p->sub_off = alloc_i32((size_t)p->nm + 1);
    int err = KFK_ERR__NOMEM;
    if (!p->t_idx || !p->t_cnt || !p->tsub_off || !p->m_idx || !p->sub_off)
        goto fail;
    if ((err = sort_topics(p)) || (err = hash_topics(p)) ||
        (err = sort_members(p)) || (err = index_subscriptions(p)))
        goto fail;
    return 0;
fail:
    kfk__asg_prep_free(p);
    return err;
}

void kfk__asg_prep_free(kfk__asg_prep *p)
{
    if (!p)
        return;
    kfk__free(p->t_idx);
    kfk__free(p->t_cnt);
    kfk__free(p->t_hash);
    kfk__free(p->m_idx);
    kfk__free(p->sub_off);
    kfk__free(p->sub);
    kfk__free(p->tsub_off);
    kfk__free(p->tsub);
    memset(p, 0, sizeof(*p));
}

/* ---- output ---------------------------------------------------------- */

int kfk__asg_push(kfk__asg_list *l, uint64_t key)
{
    if (l->n == l->cap) {
        int32_t cap = l->cap ? l->cap * 2 : 8;
        uint64_t *v = kfk__realloc(l->v, (size_t)cap * sizeof(*v));
        if (!v)
            return KFK_ERR__NOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = key;
    return 0;
}

void kfk__asg_lists_free(kfk__asg_list *lists, int32_t nm)
{
    if (!lists)
        return;
    for (int32_t i = 0; i < nm; i++)
        kfk__free(lists[i].v);
    kfk__free(lists);
}

int kfk__asg_cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

int kfk__asg_arena_err(const kfk__arena *a, size_t n)
{
    return kfk__arena_over_cap(a, n) ? KFK_ERR__TOO_LARGE : KFK_ERR__NOMEM;
}

/* One member's sorted keys as topics with partition arrays. */
static int emit_one(const kfk__asg_prep *p, kfk__asg_list *l, kfk__arena *a,
                    kfk__member_assignment *out)
{
    memset(out, 0, sizeof(*out));
    if (l->n == 0)
        return 0;
    qsort(l->v, (size_t)l->n, sizeof(uint64_t), kfk__asg_cmp_u64);
    int32_t nt = 0;
    for (int32_t k = 0; k < l->n; k++)
        nt += k == 0 || (l->v[k] >> 32) != (l->v[k - 1] >> 32);
    size_t sz = (size_t)nt * sizeof(kfk__assign_tp);
    kfk__assign_tp *tps = kfk__arena_alloc(a, sz);
    if (!tps)
        return kfk__asg_arena_err(a, sz);
    sz = (size_t)l->n * sizeof(int32_t);
    int32_t *parts = kfk__arena_alloc(a, sz);
    if (!parts)
        return kfk__asg_arena_err(a, sz);
    int32_t t = -1;
    for (int32_t k = 0; k < l->n; k++) {
        if (k == 0 || (l->v[k] >> 32) != (l->v[k - 1] >> 32)) {
            t++;
            int32_t rank = (int32_t)(l->v[k] >> 32);
            tps[t].topic = p->g->topics[p->t_idx[rank]].name;
            tps[t].partitions = parts + k;
        }
        parts[k] = (int32_t)(uint32_t)l->v[k];
        tps[t].n++;
    }
    out->topics = tps;
    out->ntopics = nt;
    return 0;
}

int kfk__asg_emit(const kfk__asg_prep *p, kfk__asg_list *lists,
                  kfk__arena *arena, kfk__member_assignment *out)
{
    for (int32_t r = 0; r < p->nm; r++) {
        int err = emit_one(p, &lists[r], arena, &out[p->m_idx[r]]);
        if (err)
            return err;
    }
    return 0;
}
