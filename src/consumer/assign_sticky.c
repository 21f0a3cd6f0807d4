/*
 * assign_sticky.c: the "sticky" and "cooperative-sticky" assignors.
 *
 * Both aim for what Java's AbstractStickyAssignor aims for: an assignment
 * as balanced as the subscriptions allow that moves as few partitions as
 * possible. The algorithm is our own, in three steps:
 *
 *   1. keep: every partition stays with its previous owner if that member
 *      is still here and still subscribed. When several members claim a
 *      partition, the claim with the highest generation wins; two claims
 *      at the same highest generation cancel out (neither can be trusted).
 *   2. fill: partitions nobody kept go, those with the fewest possible
 *      consumers first, to the eligible member with the fewest partitions.
 *   3. balance: while some member could pass a partition along a chain of
 *      members (each giving one and taking one) to a member with at least
 *      two fewer, do so, starting from the most loaded, and moving as few
 *      partitions their holders kept as possible. Each such path lowers
 *      the sum of squared counts, so this ends, and when no path is left
 *      the counts are as even as the subscriptions allow. With equal
 *      subscriptions they differ by at most one, reached with the fewest
 *      moves of kept partitions.
 *
 * The two differ in where the previous owners come from and in one rule:
 *
 *   "sticky" (EAGER) members revoke everything before they rejoin, so the
 *   previous assignment travels in the subscription's user data, Java's
 *   StickyAssignorUserData: v0 is an array of (topic string, int32 array),
 *   v1 appends an int32 generation. We write v1 and read either.
 *
 *   "cooperative-sticky" (COOPERATIVE, KIP-429) members keep their
 *   partitions while they rejoin and list them in the subscription's
 *   OwnedPartitions; the generation comes from the subscription (v2+) or
 *   from the 4-byte user data Java writes for older leaders. A partition
 *   that steps 1-3 give to a member that does not own it yet, while
 *   another member still claims it, is withheld this round: the claimant
 *   sees it missing from its new assignment, revokes it and rejoins, and
 *   the follow-up rebalance hands it on. So no partition ever has two
 *   owners. Claims that lost on generation count too, which is stricter
 *   than Java's assignor (it hands those over at once) and what Java's
 *   leader-side check of cooperative assignments asks for.
 */
#include "consumer/assign_int.h"

#include <kfk/error.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

typedef struct plist {
    int32_t *v;
    int32_t n, cap;
} plist;

/* Partitions are numbered across topics: partition k of topic rank t is
 * pid base[t] + k. Topics nobody subscribes to get no pids. */
typedef struct sticky {
    kfk__asg_prep p;
    bool cooperative;
    int32_t np;
    int32_t *base;     /* [nt + 1] */
    int32_t *ptopic;   /* pid -> topic rank */
    int32_t *owner;    /* pid -> member rank or -1 */
    int32_t *pos;      /* pid -> index in its owner's plist */
    int32_t *prev;     /* pid -> winning previous owner, -1 none, -2 tie */
    int32_t *prev_gen; /* pid -> generation of that claim */
    int32_t *claim;    /* pid -> the one claimant, -1 none, -2 several */
    plist *parts;      /* member rank -> its partitions */
    bool *able;        /* member rank -> can take any partition at all */
    int32_t *hist;     /* count -> able members with that many partitions */
    int32_t min;       /* fewest partitions an able member has */
} sticky;

#define NONE (-1)
#define MANY (-2)

static int32_t cnt(const sticky *s, int32_t m)
{
    return s->parts[m].n;
}

static int give(sticky *s, int32_t pid, int32_t m)
{
    plist *l = &s->parts[m];
    if (l->n == l->cap) {
        int32_t cap = l->cap ? l->cap * 2 : 8;
        int32_t *v = kfk__realloc(l->v, (size_t)cap * sizeof(*v));
        if (!v)
            return KFK_ERR__NOMEM;
        l->v = v;
        l->cap = cap;
    }
    if (s->able[m]) {
        s->hist[l->n]--;
        s->hist[l->n + 1]++;
        while (s->hist[s->min] == 0)
            s->min++;
    }
    s->pos[pid] = l->n;
    l->v[l->n++] = pid;
    s->owner[pid] = m;
    return 0;
}

/* Takes pid from its owner; the owner's last partition fills the gap. */
static void take(sticky *s, int32_t pid)
{
    int32_t m = s->owner[pid];
    plist *l = &s->parts[m];
    int32_t i = s->pos[pid], last = l->v[--l->n];
    l->v[i] = last;
    s->pos[last] = i;
    s->owner[pid] = NONE;
    if (s->able[m]) {
        s->hist[l->n + 1]--;
        s->hist[l->n]++;
        if (l->n < s->min)
            s->min = l->n;
    }
}

/* The subscriber of topic rank t with the fewest partitions (the lowest
 * rank among equals), if it has at most limit; else -1. */
static int32_t least_loaded(const sticky *s, int32_t t, int32_t limit)
{
    const kfk__asg_prep *p = &s->p;
    int32_t best = NONE;
    for (int32_t k = p->tsub_off[t]; k < p->tsub_off[t + 1]; k++) {
        int32_t m = p->tsub[k];
        if (cnt(s, m) <= limit && (best == NONE || cnt(s, m) < cnt(s, best))) {
            best = m;
            if (cnt(s, m) == s->min)
                break; /* nobody has fewer */
        }
    }
    return best;
}

/* ---- step 0: who owned what ------------------------------------------ */

static void add_claim(sticky *s, int32_t m, int32_t t, int32_t part,
                      int32_t gen)
{
    if (t < 0 || part < 0 || part >= s->base[t + 1] - s->base[t])
        return; /* topic gone, nobody subscribes, or partition gone */
    int32_t pid = s->base[t] + part;
    if (s->claim[pid] == NONE)
        s->claim[pid] = m;
    else if (s->claim[pid] != m)
        s->claim[pid] = MANY;
    if (s->prev[pid] == NONE || gen > s->prev_gen[pid]) {
        s->prev[pid] = m;
        s->prev_gen[pid] = gen;
    } else if (gen == s->prev_gen[pid] && s->prev[pid] != m) {
        s->prev[pid] = MANY;
    }
}

/*
 * Walks StickyAssignorUserData (v0: [topic, [partition]], v1: then an
 * int32 generation); with s set, claims each partition for member m at
 * generation gen. Returns the generation it holds (-1 for v0), or MANY
 * when the bytes are not user data of this shape; Java then ignores them.
 */
static int32_t walk_user_data(const uint8_t *ud, int32_t len, sticky *s,
                              int32_t m, int32_t gen)
{
    kfk__rbuf r;
    int32_t ntp, nparts, part = 0;
    int16_t tlen;
    const uint8_t *topic;
    kfk__rbuf_init(&r, ud, (size_t)len);
    if (kfk__rd_i32(&r, &ntp) || ntp < 0)
        return MANY;
    for (int32_t i = 0; i < ntp; i++) {
        if (kfk__rd_i16(&r, &tlen) || tlen < 0 ||
            kfk__rd_bytes(&r, (size_t)tlen, &topic) ||
            kfk__rd_i32(&r, &nparts) || nparts < 0 ||
            kfk__rbuf_left(&r) / 4 < (size_t)nparts)
            return MANY;
        int32_t t =
            s ? kfk__asg_topic_rank(&s->p, (const char *)topic, (size_t)tlen)
              : NONE;
        for (int32_t k = 0; k < nparts; k++) {
            kfk__rd_i32(&r, &part); /* length checked above */
            if (s)
                add_claim(s, m, t, part, gen);
        }
    }
    int32_t g;
    return kfk__rd_i32(&r, &g) ? -1 : g;
}

static void member_claims(sticky *s, int32_t m)
{
    const kfk__assign_member *mb = &s->p.g->members[s->p.m_idx[m]];
    const uint8_t *ud = mb->user_data;
    int32_t udlen = ud ? mb->user_data_len : 0;
    if (!s->cooperative) {
        int32_t gen = udlen > 0 ? walk_user_data(ud, udlen, NULL, m, 0) : MANY;
        if (gen != MANY)
            walk_user_data(ud, udlen, s, m, gen);
        return;
    }
    int32_t gen = mb->generation;
    if (gen < 0 && udlen >= 4)
        gen = (int32_t)kfk__load_be32(ud);
    for (int32_t i = 0; i < mb->nowned; i++) {
        const kfk__assign_tp *tp = &mb->owned[i];
        int32_t t = kfk__asg_topic_rank(&s->p, tp->topic, strlen(tp->topic));
        for (int32_t k = 0; k < tp->n; k++)
            add_claim(s, m, t, tp->partitions[k], gen);
    }
}

/* ---- set-up ---------------------------------------------------------- */

static int32_t *alloc_fill(size_t n, int32_t v)
{
    int32_t *a = kfk__malloc((n ? n : 1) * sizeof(int32_t));
    for (size_t i = 0; a && i < n; i++)
        a[i] = v;
    return a;
}

static void sticky_free(sticky *s)
{
    kfk__free(s->base);
    kfk__free(s->ptopic);
    kfk__free(s->owner);
    kfk__free(s->pos);
    kfk__free(s->prev);
    kfk__free(s->prev_gen);
    kfk__free(s->claim);
    kfk__free(s->able);
    kfk__free(s->hist);
    for (int32_t m = 0; s->parts && m < s->p.nm; m++)
        kfk__free(s->parts[m].v);
    kfk__free(s->parts);
    kfk__asg_prep_free(&s->p);
}

static int sticky_init(sticky *s, const kfk__assign_group *g, bool coop)
{
    memset(s, 0, sizeof(*s));
    s->cooperative = coop;
    int err = kfk__asg_prep_init(&s->p, g);
    if (err)
        return err;
    const kfk__asg_prep *p = &s->p;
    if (!(s->base = alloc_fill((size_t)p->nt + 1, 0)))
        return KFK_ERR__NOMEM;
    int64_t np = 0;
    for (int32_t t = 0; t < p->nt; t++) {
        s->base[t] = (int32_t)np;
        if (p->tsub_off[t + 1] > p->tsub_off[t])
            np += p->t_cnt[t];
        if (np > INT32_MAX / 2)
            return KFK_ERR__INVALID_ARG;
    }
    s->base[p->nt] = (int32_t)np;
    s->np = (int32_t)np;
    size_t n = (size_t)np, nm = (size_t)p->nm;
    s->ptopic = alloc_fill(n, 0);
    s->owner = alloc_fill(n, NONE);
    s->pos = alloc_fill(n, 0);
    s->prev = alloc_fill(n, NONE);
    s->prev_gen = alloc_fill(n, 0);
    s->claim = alloc_fill(n, NONE);
    s->hist = alloc_fill(n + 2, 0);
    s->able = kfk__calloc(nm ? nm : 1, sizeof(bool));
    s->parts = kfk__calloc(nm ? nm : 1, sizeof(plist));
    if (!s->ptopic || !s->owner || !s->pos || !s->prev || !s->prev_gen ||
        !s->claim || !s->hist || !s->able || !s->parts)
        return KFK_ERR__NOMEM;
    for (int32_t t = 0; t < p->nt; t++)
        for (int32_t pid = s->base[t]; pid < s->base[t + 1]; pid++)
            s->ptopic[pid] = t;
    for (int32_t m = 0; m < p->nm; m++) {
        for (int32_t k = p->sub_off[m]; k < p->sub_off[m + 1]; k++)
            s->able[m] |= p->t_cnt[p->sub[k]] > 0;
        s->hist[0] += s->able[m];
    }
    for (int32_t m = 0; m < p->nm; m++)
        member_claims(s, m);
    return 0;
}

/* ---- steps 1-3 ------------------------------------------------------- */

static int keep(sticky *s)
{
    for (int32_t pid = 0; pid < s->np; pid++) {
        int32_t m = s->prev[pid];
        int err;
        if (m >= 0 && kfk__asg_subscribed(&s->p, m, s->ptopic[pid]) &&
            (err = give(s, pid, m)))
            return err;
    }
    return 0;
}

static int fill(sticky *s)
{
    const kfk__asg_prep *p = &s->p;
    size_t n = 0;
    for (int32_t pid = 0; pid < s->np; pid++)
        n += s->owner[pid] == NONE;
    if (!n)
        return 0;
    uint64_t *order = kfk__malloc(n * sizeof(*order));
    if (!order)
        return KFK_ERR__NOMEM;
    n = 0;
    for (int32_t pid = 0; pid < s->np; pid++) {
        int32_t t = s->ptopic[pid];
        if (s->owner[pid] == NONE)
            order[n++] = (uint64_t)(p->tsub_off[t + 1] - p->tsub_off[t]) << 32 |
                         (uint32_t)pid;
    }
    qsort(order, n, sizeof(*order), kfk__asg_cmp_u64);
    int err = 0;
    for (size_t i = 0; i < n && !err; i++) {
        int32_t pid = (int32_t)(uint32_t)order[i];
        err = give(s, pid, least_loaded(s, s->ptopic[pid], INT32_MAX));
    }
    kfk__free(order);
    return err;
}

/* A max-heap of members by load: key = count << 32 | ~rank, so the most
 * loaded member, the lowest rank among equals, comes out first. Entries
 * go stale when a count changes; pop skips those. */
typedef struct heap {
    uint64_t *v;
    size_t n, cap;
} heap;

static uint64_t hkey(const sticky *s, int32_t m)
{
    return (uint64_t)(uint32_t)cnt(s, m) << 32 | (uint32_t) ~(uint32_t)m;
}

static int heap_push(heap *h, uint64_t k)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        uint64_t *v = kfk__realloc(h->v, cap * sizeof(*v));
        if (!v)
            return KFK_ERR__NOMEM;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    for (; i && h->v[(i - 1) / 2] < k; i = (i - 1) / 2)
        h->v[i] = h->v[(i - 1) / 2];
    h->v[i] = k;
    return 0;
}

static uint64_t heap_pop(heap *h)
{
    uint64_t top = h->v[0], k = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->v[c + 1] > h->v[c])
            c++;
        if (h->v[c] <= k)
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = k;
    return top;
}

/*
 * Step 3 searches for improving paths: member a gives a partition to x1,
 * x1 gives one to x2, ..., and the last member, which has at least two
 * fewer than a, keeps it. Only the two ends change counts. A single move
 * is the one-hop case; longer paths matter when subscriptions differ, and
 * an assignment without any improving path is as balanced as the
 * subscriptions allow (it minimises every convex measure of imbalance at
 * once: the classic result on semi-matchings, Harvey et al., 2003).
 * A move of a partition its holder kept from the previous assignment
 * costs 1, any other move 0, and the search finds a cheapest path.
 */
typedef struct search {
    int32_t *lvl;  /* member -> cost of the best path found to it */
    int32_t *par;  /* member -> who gives to it on that path */
    int32_t *via;  /* member -> the partition it gets */
    int32_t *seen; /* member -> stamp: reached in this search */
    int32_t *done; /* member -> stamp: cheapest path known */
    int32_t *dead; /* member -> pass: no improving path from or via it */
    int32_t *cur, *next;
    int32_t *tdone; /* topic rank -> expansion that covered it */
    int32_t stamp, expansion, pass;
} search;

/* Offers member y's partitions of cost c (0: not kept by y, 1: kept) to
 * every other subscriber of their topics. */
static void expand(sticky *s, search *q, int32_t y, int c, int32_t *ncur,
                   int32_t *nnext)
{
    const kfk__asg_prep *p = &s->p;
    int32_t cost = q->lvl[y] + c;
    const plist *l = &s->parts[y];
    for (int32_t i = 0; i < l->n; i++) {
        int32_t pid = l->v[i], t = s->ptopic[pid];
        if ((s->prev[pid] == y) != (c == 1) || q->tdone[t] == q->expansion)
            continue;
        q->tdone[t] = q->expansion;
        for (int32_t k = p->tsub_off[t]; k < p->tsub_off[t + 1]; k++) {
            int32_t x = p->tsub[k];
            if (x == y || q->dead[x] == q->pass ||
                (q->seen[x] == q->stamp && q->lvl[x] <= cost))
                continue;
            bool again = q->seen[x] == q->stamp;
            q->seen[x] = q->stamp;
            q->lvl[x] = cost;
            q->par[x] = y;
            q->via[x] = pid;
            if (c == 0)
                q->cur[(*ncur)++] = x;
            else if (!again)
                q->next[(*nnext)++] = x;
        }
    }
}

/*
 * Looks for a cheapest improving path from a, allowing kept partitions to
 * move if max_cost is 1, and applies it. Returns the member at its end,
 * NONE, or MANY on NOMEM. When there is none, no member a reached can
 * have one either while nothing changes (what it reaches, a reaches, and
 * all of that has at least count(a) - 1), so they are marked dead for
 * the pass; a pass that changes nothing is therefore exact.
 */
static int32_t improve_from(sticky *s, search *q, int32_t a, int max_cost)
{
    q->stamp++;
    q->seen[a] = q->stamp;
    q->lvl[a] = 0;
    q->cur[0] = a;
    int32_t ncur = 1, nnext = 0, found = NONE;
    for (int32_t level = 0; ncur; level++) {
        /* Everything this level reaches at no further cost; of the
         * members that could take a partition, the least loaded. */
        for (int32_t i = 0; i < ncur; i++) {
            int32_t y = q->cur[i];
            if (q->done[y] == q->stamp || q->lvl[y] != level)
                continue; /* finished, or reached more cheaply */
            q->done[y] = q->stamp;
            if (y != a && cnt(s, y) <= cnt(s, a) - 2) {
                if (found == NONE || cnt(s, y) < cnt(s, found) ||
                    (cnt(s, y) == cnt(s, found) && y < found))
                    found = y;
                continue;
            }
            q->expansion++;
            expand(s, q, y, 0, &ncur, &nnext);
        }
        if (found != NONE || max_cost == 0)
            break;
        /* None: the next level moves one more kept partition. */
        for (int32_t i = 0; i < ncur; i++) {
            int32_t y = q->cur[i];
            if (q->lvl[y] == level && q->done[y] == q->stamp) {
                q->expansion++;
                expand(s, q, y, 1, &ncur, &nnext);
            }
        }
        int32_t *t = q->cur;
        q->cur = q->next;
        q->next = t;
        ncur = nnext;
        nnext = 0;
    }
    if (found == NONE) {
        for (int32_t m = 0; m < s->p.nm; m++)
            if (q->seen[m] == q->stamp)
                q->dead[m] = q->pass;
        return NONE;
    }
    for (int32_t x = found; x != a; x = q->par[x]) {
        take(s, q->via[x]);
        if (give(s, q->via[x], x))
            return MANY;
    }
    return found;
}
static int search_init(search *q, int32_t nm, int32_t nt)
{
    size_t n = nm ? (size_t)nm : 1;
    memset(q, 0, sizeof(*q));
    int32_t **all[] = {&q->lvl,  &q->par,  &q->via, &q->seen,
                       &q->done, &q->dead, &q->cur, &q->next};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (!(*all[i] = kfk__calloc(n, sizeof(int32_t))))
            return KFK_ERR__NOMEM;
    q->tdone = kfk__calloc(nt ? (size_t)nt : 1, sizeof(int32_t));
    return q->tdone ? 0 : KFK_ERR__NOMEM;
}

static void search_free(search *q)
{
    int32_t *all[] = {q->lvl,  q->par, q->via,  q->seen, q->done,
                      q->dead, q->cur, q->next, q->tdone};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        kfk__free(all[i]);
}

/*
 * Step 3: improving paths from the most loaded members first, in two
 * stages: first moving only partitions their holders did not keep, then
 * any. The first stage makes a rebalance that follows a cooperative one
 * hand the withheld partitions out without moving anything else (the
 * previous target is reachable that way, so no cheaper-to-find path can
 * move a kept partition); the second moves kept partitions only where
 * balance needs it, one per path, which keeps the number of moves minimal
 * with equal subscriptions. Passes repeat until one changes nothing.
 */
static int balance(sticky *s)
{
    search q;
    heap h = {0};
    int err = search_init(&q, s->p.nm, s->p.nt);
    for (int max_cost = 0; max_cost <= 1 && !err; max_cost++) {
        for (bool moved = true; moved && !err;) {
            moved = false;
            q.pass++;
            h.n = 0;
            for (int32_t m = 0; m < s->p.nm && !err; m++)
                if (s->able[m])
                    err = heap_push(&h, hkey(s, m));
            while (h.n && !err) {
                uint64_t k = heap_pop(&h);
                int32_t a = (int32_t) ~(uint32_t)k;
                if (k != hkey(s, a) || q.dead[a] == q.pass ||
                    cnt(s, a) - s->min < 2)
                    continue; /* stale, or nothing to find */
                int32_t b = improve_from(s, &q, a, max_cost);
                if (b == MANY) {
                    err = KFK_ERR__NOMEM;
                } else if (b != NONE) {
                    moved = true;
                    err = heap_push(&h, hkey(s, a));
                    if (!err)
                        err = heap_push(&h, hkey(s, b));
                }
            }
        }
    }
    search_free(&q);
    kfk__free(h.v);
    return err;
}

/* True if member m lists pid among its owned partitions. */
static bool owns(const sticky *s, int32_t m, int32_t pid)
{
    const kfk__assign_member *mb = &s->p.g->members[s->p.m_idx[m]];
    int32_t t = s->ptopic[pid], part = pid - s->base[t];
    const char *name = s->p.g->topics[s->p.t_idx[t]].name;
    for (int32_t i = 0; i < mb->nowned; i++) {
        if (strcmp(mb->owned[i].topic, name) != 0)
            continue;
        for (int32_t k = 0; k < mb->owned[i].n; k++)
            if (mb->owned[i].partitions[k] == part)
                return true;
    }
    return false;
}

/* KIP-429: a member gets a partition it does not own yet only when no
 * other member claims it any more (Java's leader checks the same). */
static void withhold(sticky *s)
{
    for (int32_t pid = 0; pid < s->np; pid++) {
        int32_t m = s->owner[pid], c = s->claim[pid];
        if (m < 0 || c == NONE || c == m)
            continue;
        if (c != MANY || !owns(s, m, pid)) /* several claims: rare, look */
            take(s, pid);
    }
}

static int emit(sticky *s, kfk__arena *arena, kfk__member_assignment *out)
{
    int32_t nm = s->p.nm;
    kfk__asg_list *lists = kfk__calloc(nm ? (size_t)nm : 1, sizeof(*lists));
    if (!lists)
        return KFK_ERR__NOMEM;
    int err = 0;
    for (int32_t pid = 0; pid < s->np && !err; pid++) {
        int32_t m = s->owner[pid], t = s->ptopic[pid];
        if (m >= 0)
            err = kfk__asg_push(&lists[m], kfk__asg_key(t, pid - s->base[t]));
    }
    if (!err)
        err = kfk__asg_emit(&s->p, lists, arena, out);
    kfk__asg_lists_free(lists, nm);
    return err;
}

static int run(const kfk__assign_group *g, bool coop, kfk__arena *arena,
               kfk__member_assignment *out)
{
    sticky s;
    int err = sticky_init(&s, g, coop);
    if (!err)
        err = keep(&s);
    if (!err)
        err = fill(&s);
    if (!err)
        err = balance(&s);
    if (!err && coop)
        withhold(&s);
    if (!err)
        err = emit(&s, arena, out);
    sticky_free(&s);
    return err;
}

static int sticky_assign(const kfk__assignor *self, const kfk__assign_group *g,
                         kfk__arena *arena, kfk__member_assignment *out)
{
    return run(g, self->protocol == KFK__REBALANCE_COOPERATIVE, arena, out);
}

/* ---- subscription user data ------------------------------------------ */

static int sticky_user_data(const kfk__assignor *self,
                            const kfk__assign_tp *owned, int32_t nowned,
                            int32_t generation, kfk__wbuf *w)
{
    (void)self;
    if (nowned == 0 && generation < 0)
        return 0; /* nothing to remember yet: null, as Java sends */
    kfk__wr_i32(w, nowned);
    for (int32_t i = 0; i < nowned; i++) {
        size_t len = strlen(owned[i].topic);
        if (len > INT16_MAX)
            return KFK_ERR__INVALID_ARG;
        kfk__wr_i16(w, (int16_t)len);
        kfk__wr_raw(w, owned[i].topic, len);
        kfk__wr_i32(w, owned[i].n);
        for (int32_t k = 0; k < owned[i].n; k++)
            kfk__wr_i32(w, owned[i].partitions[k]);
    }
    kfk__wr_i32(w, generation);
    return kfk__wbuf_err(w);
}

/* Java's CooperativeStickyAssignor sends its generation here too, for
 * leaders that read Subscription v0/v1 only. */
static int coop_user_data(const kfk__assignor *self,
                          const kfk__assign_tp *owned, int32_t nowned,
                          int32_t generation, kfk__wbuf *w)
{
    (void)self;
    (void)owned;
    (void)nowned;
    kfk__wr_i32(w, generation);
    return kfk__wbuf_err(w);
}

const kfk__assignor kfk__assignor_sticky = {
    .name = "sticky",
    .protocol = KFK__REBALANCE_EAGER,
    .assign = sticky_assign,
    .user_data = sticky_user_data,
};

const kfk__assignor kfk__assignor_cooperative_sticky = {
    .name = "cooperative-sticky",
    .protocol = KFK__REBALANCE_COOPERATIVE,
    .assign = sticky_assign,
    .user_data = coop_user_data,
};
