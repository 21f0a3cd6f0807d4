/*
 * assign_range.c: the "range" assignor, with the Java RangeAssignor's
 * results. Each topic is split on its own: its subscribers in MemberInfo
 * order (static members by group.instance.id first), its partitions in
 * contiguous ranges, the first (partitions % subscribers) members one
 * longer. Members subscribed to the same topics therefore get the same
 * partition numbers of each, which is what joins over co-partitioned
 * topics want.
 *
 * Rack awareness (our own take on KIP-881; Java's differs in detail):
 * when the topic's partitions carry replica racks and its subscribers
 * racks, each member still gets as many partitions as above, but first
 * takes, in member order, the lowest partitions with a replica in its
 * rack, and only then fills up with the lowest ones left. When every
 * partition has a replica in every member's rack, or racks are missing,
 * that is exactly the plain ranges. Topics with the same subscribers,
 * partition count and rack layout still get the same split.
 */
#include "consumer/assign_int.h"

#include <kfk/error.h>
#include <string.h>

#include "common/alloc.h"

/* The plain split: contiguous ranges, the first `extra` one longer. */
static int split_ranges(const int32_t *subs, int32_t nsubs, int32_t t,
                        int32_t cnt, kfk__asg_list *lists)
{
    int32_t per = cnt / nsubs, extra = cnt % nsubs, next = 0;
    int err = 0;
    for (int32_t i = 0; i < nsubs && !err; i++) {
        int32_t len = per + (i < extra);
        for (int32_t k = 0; k < len && !err; k++)
            err = kfk__asg_push(&lists[subs[i]], kfk__asg_key(t, next + k));
        next += len;
    }
    return err;
}

static bool has_rack(const char *const *replica_racks, const char *rack)
{
    for (; replica_racks && *replica_racks; replica_racks++)
        if (strcmp(*replica_racks, rack) == 0)
            return true;
    return false;
}

/* The same counts per member, rack-matched partitions first. */
static int split_by_rack(const kfk__asg_prep *p, const int32_t *subs,
                         int32_t nsubs, int32_t t, kfk__asg_list *lists)
{
    const kfk__assign_topic *tp = &p->g->topics[p->t_idx[t]];
    int32_t cnt = p->t_cnt[t], per = cnt / nsubs, extra = cnt % nsubs;
    bool *taken = kfk__calloc(cnt ? (size_t)cnt : 1, sizeof(bool));
    int32_t *got = kfk__calloc((size_t)nsubs, sizeof(int32_t));
    int err = taken && got ? 0 : KFK_ERR__NOMEM;
    for (int pass = 0; pass < 2 && !err; pass++) {
        int32_t lowest = 0; /* pass 1: below it everything is taken */
        for (int32_t i = 0; i < nsubs && !err; i++) {
            const char *rack = p->g->members[p->m_idx[subs[i]]].rack;
            if (pass == 0 && !rack)
                continue;
            int32_t quota = per + (i < extra);
            for (int32_t part = pass ? lowest : 0;
                 part < cnt && got[i] < quota && !err; part++) {
                if (taken[part] ||
                    (pass == 0 && !has_rack(tp->racks[part], rack)))
                    continue;
                taken[part] = true;
                got[i]++;
                err = kfk__asg_push(&lists[subs[i]], kfk__asg_key(t, part));
            }
            while (pass && lowest < cnt && taken[lowest])
                lowest++;
        }
    }
    kfk__free(taken);
    kfk__free(got);
    return err;
}

/* Racks matter when the topic has them and some subscriber has a rack
 * that some partition has no replica in. */
static bool racks_matter(const kfk__asg_prep *p, const int32_t *subs,
                         int32_t nsubs, int32_t t)
{
    const kfk__assign_topic *tp = &p->g->topics[p->t_idx[t]];
    if (!tp->racks)
        return false;
    for (int32_t i = 0; i < nsubs; i++) {
        const char *rack = p->g->members[p->m_idx[subs[i]]].rack;
        for (int32_t part = 0; rack && part < p->t_cnt[t]; part++)
            if (!has_rack(tp->racks[part], rack))
                return true;
    }
    return false;
}

static int range_assign(const kfk__assignor *self, const kfk__assign_group *g,
                        kfk__arena *arena, kfk__member_assignment *out)
{
    (void)self;
    kfk__asg_prep p;
    int err = kfk__asg_prep_init(&p, g);
    if (err)
        return err;
    kfk__asg_list *lists = kfk__calloc(p.nm ? (size_t)p.nm : 1, sizeof(*lists));
    if (!lists) {
        err = KFK_ERR__NOMEM;
        goto done;
    }
    for (int32_t t = 0; t < p.nt && !err; t++) {
        const int32_t *subs = p.tsub + p.tsub_off[t];
        int32_t nsubs = p.tsub_off[t + 1] - p.tsub_off[t];
        if (nsubs == 0)
            continue;
        err = racks_matter(&p, subs, nsubs, t)
                  ? split_by_rack(&p, subs, nsubs, t, lists)
                  : split_ranges(subs, nsubs, t, p.t_cnt[t], lists);
    }
    if (!err)
        err = kfk__asg_emit(&p, lists, arena, out);
done:
    kfk__asg_lists_free(lists, p.nm);
    kfk__asg_prep_free(&p);
    return err;
}

const kfk__assignor kfk__assignor_range = {
    .name = "range",
    .protocol = KFK__REBALANCE_EAGER,
    .assign = range_assign,
};
