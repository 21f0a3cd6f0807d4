/*
 * assign_roundrobin.c: the "roundrobin" assignor, with the Java
 * RoundRobinAssignor's results. Every subscribed partition, topics in name
 * order and partitions ascending, goes to the next member in MemberInfo
 * order (a circle), skipping members not subscribed to its topic. With
 * equal subscriptions the counts differ by at most one; with unequal ones
 * they can be far apart (the sticky assignors balance those).
 */
#include "consumer/assign_int.h"

#include <kfk/error.h>

#include "common/alloc.h"

static int roundrobin_assign(const kfk__assignor *self,
                             const kfk__assign_group *g, kfk__arena *arena,
                             kfk__member_assignment *out)
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
    int32_t next = 0; /* member rank the circle points at */
    for (int32_t t = 0; t < p.nt && !err; t++) {
        if (p.tsub_off[t] == p.tsub_off[t + 1])
            continue; /* nobody subscribes: the loop below would not end */
        for (int32_t part = 0; part < p.t_cnt[t] && !err; part++) {
            while (!kfk__asg_subscribed(&p, next, t))
                next = (next + 1) % p.nm;
            err = kfk__asg_push(&lists[next], kfk__asg_key(t, part));
            next = (next + 1) % p.nm;
        }
    }
    if (!err)
        err = kfk__asg_emit(&p, lists, arena, out);
done:
    kfk__asg_lists_free(lists, p.nm);
    kfk__asg_prep_free(&p);
    return err;
}

const kfk__assignor kfk__assignor_roundrobin = {
    .name = "roundrobin",
    .protocol = KFK__REBALANCE_EAGER,
    .assign = roundrobin_assign,
};
