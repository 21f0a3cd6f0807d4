/*
 * assign_range.c: the "range" assignor, with the Java RangeAssignor's
 * results. Each topic is split on its own: its subscribers in MemberInfo
 * order (static members by group.instance.id first), its partitions in
 * contiguous ranges, the first (partitions % subscribers) members one
 * longer. Members subscribed to the same topics therefore get the same
 * partition numbers of each, which is what joins over co-partitioned
 * topics want. Java's rack-aware variant (used only when members and
 * partitions both carry racks) is not implemented.
 */
#include "consumer/assign_int.h"

#include <kfk/error.h>

#include "common/alloc.h"

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
        int32_t per = p.t_cnt[t] / nsubs, extra = p.t_cnt[t] % nsubs;
        int32_t next = 0;
        for (int32_t i = 0; i < nsubs && !err; i++) {
            int32_t len = per + (i < extra);
            for (int32_t k = 0; k < len && !err; k++)
                err = kfk__asg_push(&lists[subs[i]], kfk__asg_key(t, next + k));
            next += len;
        }
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
