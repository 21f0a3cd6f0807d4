/*
 * test_assignors.c: the partition assignors of src/consumer/ and the
 * consumer protocol bytes they travel in.
 *
 * Known answers come from the Java client's documentation (RangeAssignor,
 * RoundRobinAssignor and StickyAssignor javadoc). Properties are checked
 * over a few thousand seeded random groups: every subscribed partition
 * assigned once and only to a subscriber, balance, stickiness, and for
 * cooperative-sticky a simulation of successive two-phase rebalances in
 * which no partition may ever be given to a member while another owns it.
 * The protocol bytes are checked against golden bytes worked out by hand
 * from the message definitions, in the layout a Java client writes.
 */
#include <check.h>
#include <kfk/error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "common/alloc.h"
#include "consumer/assignor.h"

/* Check records every passing ck_assert (a write per call in fork mode);
 * the property loops make millions of checks, so they fail through these
 * and pass silently. */
#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            ck_abort_msg("check failed: %s", #c);                              \
    } while (0)
#define CHECK_MSG(c, ...)                                                      \
    do {                                                                       \
        if (!(c))                                                              \
            ck_abort_msg(__VA_ARGS__);                                         \
    } while (0)
#define CHECK_CMP(a, op, b)                                                    \
    do {                                                                       \
        long long a_ = (a), b_ = (b);                                          \
        if (!(a_ op b_))                                                       \
            ck_abort_msg("check failed: %s %s %s (%lld, %lld)", #a, #op, #b,   \
                         a_, b_);                                              \
    } while (0)
#define CHECK_CMP_eq(a, b) CHECK_CMP(a, ==, b)
#define CHECK_CMP_lt(a, b) CHECK_CMP(a, <, b)
#define CHECK_CMP_ge(a, b) CHECK_CMP(a, >=, b)

/* ---- building groups ----------------------------------------------------- */

#define MAXM 64
#define MAXT 16

/* A member as the test keeps it: owned partitions as a bitmap per topic. */
typedef struct tmember {
    char id[32];
    char inst[32];
    bool is_static;
    int ntopics;
    const char *topics[MAXT + 1];
    int32_t generation;
    uint64_t owned[MAXT]; /* bit p: owns partition p of topic rank */
    int rack;             /* client.rack: 0 none, k rack_names[k - 1] */
} tmember;

typedef struct tgroup {
    int nt;
    int nmeta;  /* when > 0, only the first nmeta topics are in metadata */
    bool racks; /* partitions carry replica racks: */
    uint8_t prack[MAXT][64]; /* bit k: a replica in rack "r<k>" */
    char tname[MAXT][16];
    int32_t tcnt[MAXT];
    int nm;
    tmember m[MAXM];
} tgroup;

/* Storage for one call: the kfk__ structs pointing into a tgroup. */
typedef struct call {
    kfk__assign_member members[MAXM];
    kfk__assign_topic topics[MAXT];
    kfk__assign_tp owned[MAXM][MAXT];
    int32_t parts[MAXM][MAXT][64];
    kfk__wbuf ud[MAXM];
    kfk__assign_group g;
    kfk__arena arena;
    kfk__member_assignment out[MAXM];
    const char *rlist[MAXT][64][9];
    const char *const *rparts[MAXT][64];
} call;

static const char *const rack_names[] = {"r0", "r1", "r2", "r3",
                                         "r4", "r5", "r6", "r7"};

static int trank(const tgroup *tg, const char *name)
{
    for (int t = 0; t < tg->nt; t++)
        if (strcmp(tg->tname[t], name) == 0)
            return t;
    return -1;
}

/* Fills c from tg for assignor a: owned partitions go in the subscription
 * (cooperative) or through the assignor's user data (eager sticky). */
static void call_init(call *c, const tgroup *tg, const kfk__assignor *a)
{
    memset(c, 0, sizeof(*c));
    for (int t = 0; t < tg->nt; t++) {
        c->topics[t] = (kfk__assign_topic){tg->tname[t], tg->tcnt[t], NULL};
        for (int p = 0; tg->racks && p < tg->tcnt[t] && p < 64; p++) {
            int n = 0;
            for (int k = 0; k < 8; k++)
                if (tg->prack[t][p] >> k & 1)
                    c->rlist[t][p][n++] = rack_names[k];
            c->rparts[t][p] = c->rlist[t][p];
        }
        if (tg->racks)
            c->topics[t].racks = c->rparts[t];
    }
    for (int i = 0; i < tg->nm; i++) {
        const tmember *tm = &tg->m[i];
        kfk__assign_member *m = &c->members[i];
        int no = 0;
        for (int t = 0; t < tg->nt; t++) {
            if (!tm->owned[t])
                continue;
            int n = 0;
            for (int p = 0; p < 64; p++)
                if (tm->owned[t] >> p & 1)
                    c->parts[i][t][n++] = p;
            c->owned[i][no++] =
                (kfk__assign_tp){tg->tname[t], c->parts[i][t], n};
        }
        m->member_id = tm->id;
        m->instance_id = tm->is_static ? tm->inst : NULL;
        m->rack = tm->rack ? rack_names[tm->rack - 1] : NULL;
        m->topics = tm->topics;
        m->ntopics = tm->ntopics;
        m->generation = tm->generation;
        kfk__wbuf_init(&c->ud[i], 0);
        if (a->user_data) {
            CHECK_CMP_eq(
                a->user_data(a, c->owned[i], no, tm->generation, &c->ud[i]), 0);
            if (c->ud[i].len) {
                m->user_data = c->ud[i].data;
                m->user_data_len = (int32_t)c->ud[i].len;
            }
        }
        if (a->protocol == KFK__REBALANCE_COOPERATIVE) {
            m->owned = c->owned[i];
            m->nowned = no;
        }
    }
    c->g = (kfk__assign_group){c->members, tg->nm, c->topics,
                               tg->nmeta ? tg->nmeta : tg->nt};
    kfk__arena_init(&c->arena, 0);
}

static void call_free(call *c, int nm)
{
    for (int i = 0; i < nm; i++)
        kfk__wbuf_free(&c->ud[i]);
    kfk__arena_free(&c->arena);
}

/* Runs a over tg; the result as bitmaps per member and topic. */
static int run(const kfk__assignor *a, const tgroup *tg,
               uint64_t res[MAXM][MAXT])
{
    static call c;
    call_init(&c, tg, a);
    int err = a->assign(a, &c.g, &c.arena, c.out);
    if (!err) {
        memset(res, 0, sizeof(uint64_t) * MAXM * MAXT);
        for (int i = 0; i < tg->nm; i++) {
            const kfk__member_assignment *o = &c.out[i];
            for (int k = 0; k < o->ntopics; k++) {
                if (k)
                    CHECK_CMP_lt(
                        strcmp(o->topics[k - 1].topic, o->topics[k].topic), 0);
                int t = trank(tg, o->topics[k].topic);
                CHECK_CMP_ge(t, 0);
                for (int j = 0; j < o->topics[k].n; j++) {
                    int32_t p = o->topics[k].partitions[j];
                    if (j)
                        CHECK_CMP_lt(o->topics[k].partitions[j - 1], p);
                    CHECK(p >= 0 && p < tg->tcnt[t]);
                    res[i][t] |= 1ull << p;
                }
            }
        }
    }
    call_free(&c, tg->nm);
    return err;
}

/* "t0:0,1;t1:2" for member i of a result. */
static const char *fmt(const tgroup *tg, uint64_t res[MAXM][MAXT], int i)
{
    static char buf[1024];
    size_t n = 0;
    buf[0] = '\0';
    for (int t = 0; t < tg->nt; t++) {
        if (!res[i][t])
            continue;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s:", n ? ";" : "",
                              tg->tname[t]);
        bool first = true;
        for (int p = 0; p < 64; p++)
            if (res[i][t] >> p & 1) {
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%d",
                                      first ? "" : ",", p);
                first = false;
            }
    }
    return buf;
}

static void add_topic(tgroup *tg, const char *name, int32_t cnt)
{
    snprintf(tg->tname[tg->nt], sizeof(tg->tname[0]), "%s", name);
    tg->tcnt[tg->nt++] = cnt;
}

/* A member subscribed to the NULL-terminated topic list. */
static tmember *add_member(tgroup *tg, const char *id, ...)
{
    tmember *m = &tg->m[tg->nm++];
    memset(m, 0, sizeof(*m));
    snprintf(m->id, sizeof(m->id), "%s", id);
    m->generation = -1;
    va_list ap;
    va_start(ap, id);
    for (const char *t; (t = va_arg(ap, const char *));)
        m->topics[m->ntopics++] = t;
    va_end(ap);
    return m;
}

static void expect(const tgroup *tg, uint64_t res[MAXM][MAXT], int i,
                   const char *want)
{
    ck_assert_msg(strcmp(fmt(tg, res, i), want) == 0, "%s: got %s, want %s",
                  tg->m[i].id, fmt(tg, res, i), want);
}

/* The next generation: every member owns what res gave it. */
static void adopt(tgroup *tg, uint64_t res[MAXM][MAXT], int32_t gen)
{
    for (int i = 0; i < tg->nm; i++) {
        memcpy(tg->m[i].owned, res[i], sizeof(tg->m[i].owned));
        tg->m[i].generation = gen;
    }
}

static void remove_member(tgroup *tg, uint64_t res[MAXM][MAXT], int i)
{
    memmove(&tg->m[i], &tg->m[i + 1],
            sizeof(tg->m[0]) * (size_t)(tg->nm - i - 1));
    memmove(res[i], res[i + 1], sizeof(res[0]) * (size_t)(tg->nm - i - 1));
    tg->nm--;
}

static uint64_t res[MAXM][MAXT], res2[MAXM][MAXT];

/* ---- known answers ---------------------------------------------------------
 */

START_TEST(range_java_example)
{
    tgroup tg = {0};
    add_topic(&tg, "t0", 3);
    add_topic(&tg, "t1", 3);
    add_member(&tg, "C0", "t0", "t1", NULL);
    add_member(&tg, "C1", "t1", "t0", NULL);
    ck_assert_int_eq(run(&kfk__assignor_range, &tg, res), 0);
    expect(&tg, res, 0, "t0:0,1;t1:0,1");
    expect(&tg, res, 1, "t0:2;t1:2");
}
END_TEST

/* Static members come first, by group.instance.id, then dynamic ones by
 * member id (Java's MemberInfo order). */
START_TEST(range_static_members_first)
{
    tgroup tg = {0};
    add_topic(&tg, "t", 4);
    add_member(&tg, "a", "t", NULL)->is_static = true;
    strcpy(tg.m[0].inst, "z");
    add_member(&tg, "b", "t", NULL);
    add_member(&tg, "c", "t", NULL)->is_static = true;
    strcpy(tg.m[2].inst, "y");
    ck_assert_int_eq(run(&kfk__assignor_range, &tg, res), 0);
    expect(&tg, res, 2, "t:0,1");
    expect(&tg, res, 0, "t:2");
    expect(&tg, res, 1, "t:3");
}
END_TEST

START_TEST(range_unsubscribed_and_unknown_topics)
{
    tgroup tg = {0};
    add_topic(&tg, "t0", 5);
    add_topic(&tg, "t1", 2);
    add_topic(&tg, "unused", 4);
    add_member(&tg, "m1", "t0", "gone", NULL);
    add_member(&tg, "m2", "t0", "t1", NULL);
    add_member(&tg, "m3", NULL);
    ck_assert_int_eq(run(&kfk__assignor_range, &tg, res), 0);
    expect(&tg, res, 0, "t0:0,1,2");
    expect(&tg, res, 1, "t0:3,4;t1:0,1");
    expect(&tg, res, 2, "");
}
END_TEST

START_TEST(roundrobin_java_examples)
{
    tgroup tg = {0};
    add_topic(&tg, "t0", 3);
    add_topic(&tg, "t1", 3);
    add_member(&tg, "C0", "t0", "t1", NULL);
    add_member(&tg, "C1", "t0", "t1", NULL);
    ck_assert_int_eq(run(&kfk__assignor_roundrobin, &tg, res), 0);
    expect(&tg, res, 0, "t0:0,2;t1:1");
    expect(&tg, res, 1, "t0:1;t1:0,2");

    /* Unequal subscriptions: members not subscribed are skipped. */
    tgroup u = {0};
    add_topic(&u, "t0", 1);
    add_topic(&u, "t1", 2);
    add_topic(&u, "t2", 3);
    add_member(&u, "C0", "t0", NULL);
    add_member(&u, "C1", "t0", "t1", NULL);
    add_member(&u, "C2", "t0", "t1", "t2", NULL);
    ck_assert_int_eq(run(&kfk__assignor_roundrobin, &u, res), 0);
    expect(&u, res, 0, "t0:0");
    expect(&u, res, 1, "t1:0");
    expect(&u, res, 2, "t1:1;t2:0,1,2");
}
END_TEST

/* StickyAssignor javadoc, example 1: three members, four topics of two
 * partitions; C1 leaves and C0, C2 keep everything they had. */
static void sticky_example1(const kfk__assignor *a)
{
    tgroup tg = {0};
    for (int t = 0; t < 4; t++) {
        char n[8];
        snprintf(n, sizeof(n), "t%d", t);
        add_topic(&tg, n, 2);
    }
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "C%d", i);
        add_member(&tg, id, "t0", "t1", "t2", "t3", NULL);
    }
    ck_assert_int_eq(run(a, &tg, res), 0);
    expect(&tg, res, 0, "t0:0;t1:1;t3:0");
    expect(&tg, res, 1, "t0:1;t2:0;t3:1");
    expect(&tg, res, 2, "t1:0;t2:1");

    adopt(&tg, res, 1);
    remove_member(&tg, res, 1);
    ck_assert_int_eq(run(a, &tg, res2), 0);
    for (int i = 0; i < 2; i++)
        for (int t = 0; t < 4; t++)
            ck_assert((res2[i][t] & res[i][t]) == res[i][t]);
    /* The javadoc's result exactly. */
    expect(&tg, res2, 0, "t0:0;t1:1;t2:0;t3:0");
    expect(&tg, res2, 1, "t0:1;t1:0;t2:1;t3:1");
}

START_TEST(sticky_javadoc_example1)
{
    sticky_example1(&kfk__assignor_sticky);
    sticky_example1(&kfk__assignor_cooperative_sticky);
}
END_TEST

/* Example 2: unequal subscriptions (t0: 1, t1: 2, t2: 3 partitions), then
 * C0 leaves and only its partition moves. */
static void sticky_example2(const kfk__assignor *a)
{
    tgroup tg = {0};
    add_topic(&tg, "t0", 1);
    add_topic(&tg, "t1", 2);
    add_topic(&tg, "t2", 3);
    add_member(&tg, "C0", "t0", NULL);
    add_member(&tg, "C1", "t0", "t1", NULL);
    add_member(&tg, "C2", "t0", "t1", "t2", NULL);
    ck_assert_int_eq(run(a, &tg, res), 0);
    expect(&tg, res, 0, "t0:0");
    expect(&tg, res, 1, "t1:0,1");
    expect(&tg, res, 2, "t2:0,1,2");

    adopt(&tg, res, 3);
    remove_member(&tg, res, 0);
    ck_assert_int_eq(run(a, &tg, res2), 0);
    expect(&tg, res2, 0, "t0:0;t1:0,1");
    expect(&tg, res2, 1, "t2:0,1,2");
}

START_TEST(sticky_javadoc_example2)
{
    sticky_example2(&kfk__assignor_sticky);
    sticky_example2(&kfk__assignor_cooperative_sticky);
}
END_TEST

/* Two members claim t:0. The higher generation keeps it; equal generations
 * cancel out and t:0 is assigned afresh. */
START_TEST(sticky_generation_conflicts)
{
    const kfk__assignor *as[] = {&kfk__assignor_sticky,
                                 &kfk__assignor_cooperative_sticky};
    for (int k = 0; k < 2; k++) {
        for (int tie = 0; tie < 2; tie++) {
            tgroup tg = {0};
            add_topic(&tg, "t", 4);
            add_member(&tg, "A", "t", NULL);
            add_member(&tg, "B", "t", NULL);
            tg.m[0].owned[0] = 1; /* A: t:0 */
            tg.m[0].generation = tie ? 5 : 4;
            tg.m[1].owned[0] = 3; /* B: t:0,1 */
            tg.m[1].generation = 5;
            ck_assert_int_eq(run(as[k], &tg, res), 0);
            /* With cooperative-sticky B loses t:0 to A, which owns it too:
             * not a new owner, so A need not wait for B to revoke it. */
            expect(&tg, res, 0, tie ? "t:0,2" : "t:2,3");
            expect(&tg, res, 1, tie ? "t:1,3" : "t:0,1");
        }
    }
}
END_TEST

/* KIP-429 in two rounds: a new member gets what moves to it only after
 * the old owner gave it up. */
START_TEST(cooperative_two_phase)
{
    tgroup tg = {0};
    add_topic(&tg, "t", 4);
    add_member(&tg, "A", "t", NULL);
    add_member(&tg, "B", "t", NULL);
    tg.m[0].owned[0] = 0xf;
    tg.m[0].generation = 5;
    ck_assert_int_eq(run(&kfk__assignor_cooperative_sticky, &tg, res), 0);
    expect(&tg, res, 0, "t:1,2");
    expect(&tg, res, 1, "");
    adopt(&tg, res, 6);
    ck_assert_int_eq(run(&kfk__assignor_cooperative_sticky, &tg, res), 0);
    expect(&tg, res, 0, "t:1,2");
    expect(&tg, res, 1, "t:0,3");
    /* Eager sticky hands them over at once. */
    tg.m[0].owned[0] = 0xf;
    tg.m[1].owned[0] = 0;
    ck_assert_int_eq(run(&kfk__assignor_sticky, &tg, res), 0);
    expect(&tg, res, 0, "t:1,2");
    expect(&tg, res, 1, "t:0,3");
}
END_TEST

/* Topics that disappeared or shrank, members that stopped subscribing, a
 * member subscribed to nothing. */
START_TEST(sticky_gone_topics_and_empty_members)
{
    const kfk__assignor *as[] = {&kfk__assignor_sticky,
                                 &kfk__assignor_cooperative_sticky};
    for (int k = 0; k < 2; k++) {
        tgroup tg = {0};
        add_topic(&tg, "a", 2); /* had 4 */
        add_topic(&tg, "gone", 3);
        tg.nmeta = 1; /* "gone" was deleted */
        add_member(&tg, "M1", "a", NULL);
        add_member(&tg, "M2", "a", "gone", NULL);
        add_member(&tg, "M3", NULL);
        tg.m[0].owned[0] = 0x0c; /* a:2,3 no longer exist */
        tg.m[1].owned[0] = 0x01;
        tg.m[1].owned[1] = 0x07; /* gone:0,1,2 */
        for (int i = 0; i < 3; i++)
            tg.m[i].generation = 2;
        ck_assert_int_eq(run(as[k], &tg, res), 0);
        expect(&tg, res, 0, "a:1");
        expect(&tg, res, 1, "a:0");
        expect(&tg, res, 2, "");
    }
}
END_TEST

START_TEST(builtin_table_and_bad_input)
{
    ck_assert_ptr_eq(kfk__assignor_builtin("range"), &kfk__assignor_range);
    ck_assert_ptr_eq(kfk__assignor_builtin("roundrobin"),
                     &kfk__assignor_roundrobin);
    ck_assert_ptr_eq(kfk__assignor_builtin("sticky"), &kfk__assignor_sticky);
    ck_assert_ptr_eq(kfk__assignor_builtin("cooperative-sticky"),
                     &kfk__assignor_cooperative_sticky);
    ck_assert_ptr_null(kfk__assignor_builtin("Range"));
    ck_assert_ptr_null(kfk__assignor_builtin(NULL));
    ck_assert_int_eq(kfk__assignor_cooperative_sticky.protocol,
                     KFK__REBALANCE_COOPERATIVE);
    ck_assert_int_eq(kfk__assignor_sticky.protocol, KFK__REBALANCE_EAGER);

    const kfk__assignor *as[] = {
        &kfk__assignor_range, &kfk__assignor_roundrobin, &kfk__assignor_sticky,
        &kfk__assignor_cooperative_sticky};
    for (int k = 0; k < 4; k++) {
        tgroup tg = {0};
        add_topic(&tg, "t", 2);
        add_member(&tg, "A", "t", NULL);
        add_member(&tg, "A", "t", NULL);
        ck_assert_int_eq(run(as[k], &tg, res), KFK_ERR__INVALID_ARG);
        tg.nm = 1;
        add_topic(&tg, "t", 3);
        ck_assert_int_eq(run(as[k], &tg, res), KFK_ERR__INVALID_ARG);
        tg.nt = 0;
        ck_assert_int_eq(run(as[k], &tg, res), 0); /* nothing to assign */
        expect(&tg, res, 0, "");
        tg.nm = 0;
        ck_assert_int_eq(run(as[k], &tg, res), 0);

        /* Counts that promise arrays which are not there. */
        kfk__assign_tp bad = {"t", NULL, 2};
        kfk__assign_member m = {.member_id = "A", .ntopics = 1};
        kfk__assign_group g = {&m, 1, NULL, 0};
        kfk__member_assignment out;
        kfk__arena a;
        kfk__arena_init(&a, 0);
        ck_assert_int_eq(as[k]->assign(as[k], &g, &a, &out),
                         KFK_ERR__INVALID_ARG);
        m.ntopics = 0;
        m.owned = &bad;
        m.nowned = 1;
        ck_assert_int_eq(as[k]->assign(as[k], &g, &a, &out),
                         KFK_ERR__INVALID_ARG);
        g.ntopics = 1;
        ck_assert_int_eq(as[k]->assign(as[k], &g, &a, &out),
                         KFK_ERR__INVALID_ARG);
        kfk__arena_free(&a);
    }
}
END_TEST

/* ---- properties over random groups ----------------------------------------
 */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (uint32_t)((rng_state >> 11) % n) : 0;
}

static const char *const topic_names[] = {"a", "b", "c", "d",      "e",
                                          "f", "g", "h", "missing"};

/* Subscribes m to the topics of mask's bits. */
static void resubscribe(tmember *m, uint32_t mask)
{
    m->ntopics = 0;
    for (int t = 0; t < 8; t++)
        if (mask >> t & 1)
            m->topics[m->ntopics++] = topic_names[t];
}

/* A random group. equal: every member subscribes to the same topics. */
static void random_group(tgroup *tg, bool equal)
{
    memset(tg, 0, sizeof(*tg));
    int nt = 1 + (int)rnd(8);
    for (int t = 0; t < nt; t++)
        add_topic(tg, topic_names[t], (int32_t)rnd(13));
    int nm = 1 + (int)rnd(10);
    uint32_t common = 1 + rnd((1u << nt) - 1);
    for (int i = 0; i < nm; i++) {
        char id[16];
        snprintf(id, sizeof(id), "m%02u-%d", rnd(100), i);
        tmember *m = add_member(tg, id, NULL);
        if (rnd(4) == 0) {
            m->is_static = true;
            snprintf(m->inst, sizeof(m->inst), "i%d", (int)rnd(1000) * 64 + i);
        }
        resubscribe(m, equal ? common : rnd(1u << nt));
        if (!equal && rnd(5) == 0)
            m->topics[m->ntopics++] = "missing";
    }
}

static bool subscribes(const tmember *m, const char *topic)
{
    for (int k = 0; k < m->ntopics; k++)
        if (strcmp(m->topics[k], topic) == 0)
            return true;
    return false;
}

static int count(uint64_t r[MAXT])
{
    int n = 0;
    for (int t = 0; t < MAXT; t++)
        n += __builtin_popcountll(r[t]);
    return n;
}

/* Every partition at most once, only to subscribers; with complete, every
 * partition of a subscribed topic exactly once. */
static void check_valid(const tgroup *tg, uint64_t r[MAXM][MAXT], bool complete)
{
    for (int t = 0; t < tg->nt; t++) {
        uint64_t seen = 0, want = 0;
        bool anyone = false;
        for (int i = 0; i < tg->nm; i++) {
            CHECK_MSG((seen & r[i][t]) == 0, "%s assigned twice", tg->tname[t]);
            seen |= r[i][t];
            if (r[i][t])
                CHECK(subscribes(&tg->m[i], tg->tname[t]));
            anyone |= subscribes(&tg->m[i], tg->tname[t]);
        }
        if (anyone && tg->tcnt[t])
            want = tg->tcnt[t] == 64 ? ~0ull : (1ull << tg->tcnt[t]) - 1;
        CHECK((seen & ~want) == 0);
        if (complete)
            CHECK_MSG(seen == want, "%s: %llx of %llx assigned", tg->tname[t],
                      (unsigned long long)seen, (unsigned long long)want);
    }
}

/* As even as the subscriptions allow: no member can pass a partition
 * along a chain of members (each giving one of the topics the next one
 * subscribes to) to a member with at least two fewer. With equal
 * subscriptions that is max - min <= 1. */
static void check_balanced(const tgroup *tg, uint64_t r[MAXM][MAXT])
{
    bool edge[MAXM][MAXM] = {{false}}; /* x can give y something */
    for (int x = 0; x < tg->nm; x++)
        for (int y = 0; y < tg->nm; y++)
            for (int t = 0; t < tg->nt && x != y; t++)
                edge[x][y] |= r[x][t] && subscribes(&tg->m[y], tg->tname[t]);
    for (int k = 0; k < tg->nm; k++) /* transitive closure */
        for (int x = 0; x < tg->nm; x++)
            for (int y = 0; y < tg->nm; y++)
                edge[x][y] |= edge[x][k] && edge[k][y];
    for (int a = 0; a < tg->nm; a++)
        for (int b = 0; b < tg->nm; b++)
            CHECK_MSG(!edge[a][b] || count(r[a]) < count(r[b]) + 2,
                      "%s (%d) could pass a partition to %s (%d)", tg->m[a].id,
                      count(r[a]), tg->m[b].id, count(r[b]));
}

static bool same(const tgroup *tg, uint64_t x[MAXM][MAXT],
                 uint64_t y[MAXM][MAXT])
{
    for (int i = 0; i < tg->nm; i++)
        if (memcmp(x[i], y[i], sizeof(x[i])) != 0)
            return false;
    return true;
}

/* Java's MemberInfo order: static members by instance id, then dynamic
 * ones by member id. */
static int java_order(const void *x, const void *y)
{
    const tmember *a = *(const tmember *const *)x;
    const tmember *b = *(const tmember *const *)y;
    if (a->is_static != b->is_static)
        return a->is_static ? -1 : 1;
    return a->is_static ? strcmp(a->inst, b->inst) : strcmp(a->id, b->id);
}

/* The Java assignors' results, straight from their documentation, for
 * random_group's topics (already in name order). */
static void reference(const tgroup *tg, bool range, uint64_t r[MAXM][MAXT])
{
    const tmember *ord[MAXM];
    for (int i = 0; i < tg->nm; i++)
        ord[i] = &tg->m[i];
    qsort(ord, (size_t)tg->nm, sizeof(ord[0]), java_order);
    memset(r, 0, sizeof(uint64_t) * MAXM * MAXT);
    int next = 0;
    for (int t = 0; t < tg->nt; t++) {
        int subs[MAXM], ns = 0;
        for (int k = 0; k < tg->nm; k++)
            if (subscribes(ord[k], tg->tname[t]))
                subs[ns++] = (int)(ord[k] - tg->m);
        if (!ns)
            continue;
        for (int p = 0; p < tg->tcnt[t]; p++) {
            int who;
            if (range) { /* ranges of n / m, the first n % m one longer */
                int per = tg->tcnt[t] / ns, extra = tg->tcnt[t] % ns;
                who = p < extra * (per + 1)
                          ? p / (per + 1)
                          : extra + (p - extra * (per + 1)) / per;
                who = subs[who];
            } else { /* the circle moves on to the next subscriber */
                while (!subscribes(ord[next], tg->tname[t]))
                    next = (next + 1) % tg->nm;
                who = (int)(ord[next] - tg->m);
                next = (next + 1) % tg->nm;
            }
            r[who][t] |= 1ull << p;
        }
    }
}

/* Racks as assign_range.c promises them: the plain counts per member and
 * topic, and a member gets a partition outside its rack only when every
 * partition in its rack went, as a rack match, to a member before it. */
static void check_range_racks(const tgroup *tg, uint64_t r[MAXM][MAXT],
                              uint64_t plain[MAXM][MAXT])
{
    const tmember *ord[MAXM];
    for (int i = 0; i < tg->nm; i++)
        ord[i] = &tg->m[i];
    qsort(ord, (size_t)tg->nm, sizeof(ord[0]), java_order);
    for (int t = 0; t < tg->nt; t++)
        for (int k = 0; k < tg->nm; k++) {
            int i = (int)(ord[k] - tg->m);
            CHECK_CMP_eq(__builtin_popcountll(r[i][t]),
                         __builtin_popcountll(plain[i][t]));
            int rk = tg->m[i].rack - 1;
            uint64_t mine = 0, others = 0;
            for (int p = 0; rk >= 0 && p < tg->tcnt[t]; p++)
                if (tg->prack[t][p] >> rk & 1)
                    mine |= 1ull << p;
            if (rk < 0 || (r[i][t] & ~mine) == 0)
                continue;
            for (int j = 0; j < k; j++) { /* matches taken before i */
                int o = (int)(ord[j] - tg->m), ro = tg->m[o].rack - 1;
                for (int p = 0; ro >= 0 && p < tg->tcnt[t]; p++)
                    if ((r[o][t] >> p & 1) && (tg->prack[t][p] >> ro & 1))
                        others |= 1ull << p;
            }
            CHECK_MSG((mine & ~r[i][t] & ~others) == 0,
                      "%s got a partition outside its rack while one in it "
                      "was left",
                      tg->m[i].id);
        }
}

START_TEST(range_roundrobin_properties)
{
    rng_state = 0x9e3779b97f4a7c15ull;
    for (int n = 0; n < 2000; n++) {
        tgroup tg;
        bool equal = n % 2;
        random_group(&tg, equal);
        if (n % 4 >= 2) { /* racks r0..r2, some replicas unknown */
            tg.racks = true;
            for (int t = 0; t < tg.nt; t++)
                for (int p = 0; p < tg.tcnt[t]; p++)
                    tg.prack[t][p] = (uint8_t)rnd(8);
            for (int i = 0; i < tg.nm; i++)
                tg.m[i].rack = (int)rnd(4);
        }
        reference(&tg, true, res2);
        CHECK_CMP_eq(run(&kfk__assignor_range, &tg, res), 0);
        check_valid(&tg, res, true);
        if (tg.racks)
            check_range_racks(&tg, res, res2);
        else
            CHECK(same(&tg, res, res2));
        CHECK_CMP_eq(run(&kfk__assignor_roundrobin, &tg, res), 0);
        check_valid(&tg, res, true);
        reference(&tg, false, res2);
        CHECK(same(&tg, res, res2));
        if (equal)
            check_balanced(&tg, res);
    }
}
END_TEST

/* Two racks, partitions alternating between them: each member takes the
 * ones in its rack. Without rack information, or with every partition in
 * every rack, the plain ranges. A member without a rack gets what is
 * left. */
START_TEST(range_racks)
{
    tgroup tg = {0};
    add_topic(&tg, "t", 4);
    add_member(&tg, "C0", "t", NULL)->rack = 1;
    add_member(&tg, "C1", "t", NULL)->rack = 2;
    ck_assert_int_eq(run(&kfk__assignor_range, &tg, res), 0);
    expect(&tg, res, 0, "t:0,1");
    tg.racks = true;
    for (int p = 0; p < 4; p++)
        tg.prack[0][p] = p % 2 ? 2 : 1; /* r1 for odd, r0 for even */
    ck_assert_int_eq(run(&kfk__assignor_range, &tg, res), 0);
    expect(&tg, res, 0, "t:0,2");
    expect(&tg, res, 1, "t:1,3");
    for (int p = 0; p < 4; p++)
        tg.prack[0][p] = 3;
    ck_assert_int_eq(run(&kfk__assignor_range, &tg, res), 0);
    expect(&tg, res, 0, "t:0,1");
    expect(&tg, res, 1, "t:2,3");

    tgroup u = {0};
    add_topic(&u, "t", 3);
    add_member(&u, "C0", "t", NULL);
    add_member(&u, "C1", "t", NULL)->rack = 2;
    u.racks = true;
    u.prack[0][0] = 1;
    u.prack[0][1] = 2;
    u.prack[0][2] = 2;
    ck_assert_int_eq(run(&kfk__assignor_range, &u, res), 0);
    expect(&u, res, 0, "t:0,2");
    expect(&u, res, 1, "t:1");
}
END_TEST

/* Random previous ownership: some partitions owned by one member, some by
 * two (different or equal generations), some by nobody. */
static void random_ownership(tgroup *tg)
{
    for (int t = 0; t < tg->nt; t++)
        for (int p = 0; p < tg->tcnt[t] + 2; p++) {
            int claims = (int)rnd(5) == 0 ? 2 : (int)rnd(4) != 0;
            for (int k = 0; k < claims && tg->nm; k++)
                tg->m[rnd((uint32_t)tg->nm)].owned[t] |= 1ull << p;
        }
    for (int i = 0; i < tg->nm; i++)
        tg->m[i].generation = (int32_t)rnd(3) + 1;
}

/* For equal subscriptions, the fewest partitions that must move: members
 * holding more than their share give up the excess, and the r members
 * allowed one extra are those that hold the most. */
static int min_moves(const tgroup *tg, const int *kept, int total)
{
    int f = total / tg->nm, r = total % tg->nm, over = 0, excess = 0;
    for (int i = 0; i < tg->nm; i++)
        if (kept[i] > f) {
            over++;
            excess += kept[i] - f;
        }
    return excess - (over < r ? over : r);
}

/* What each member validly keeps from tg's ownership (the winning claim,
 * still subscribed, partition still there), as bitmaps. */
static void valid_kept(const tgroup *tg, uint64_t kept[MAXM][MAXT])
{
    memset(kept, 0, sizeof(uint64_t) * MAXM * MAXT);
    for (int t = 0; t < tg->nt; t++)
        for (int p = 0; p < tg->tcnt[t]; p++) {
            int best = -1, bestgen = -1000;
            bool tie = false;
            for (int i = 0; i < tg->nm; i++) {
                if (!(tg->m[i].owned[t] >> p & 1))
                    continue;
                if (tg->m[i].generation > bestgen) {
                    best = i;
                    bestgen = tg->m[i].generation;
                    tie = false;
                } else if (tg->m[i].generation == bestgen) {
                    tie = true;
                }
            }
            if (best >= 0 && !tie && subscribes(&tg->m[best], tg->tname[t]))
                kept[best][t] |= 1ull << p;
        }
}

START_TEST(sticky_properties)
{
    rng_state = 0x1234567887654321ull;
    static uint64_t kept[MAXM][MAXT];
    for (int n = 0; n < 3000; n++) {
        tgroup tg;
        bool equal = n % 2;
        random_group(&tg, equal);
        random_ownership(&tg);
        CHECK_CMP_eq(run(&kfk__assignor_sticky, &tg, res), 0);
        check_valid(&tg, res, true);
        check_balanced(&tg, res);

        /* As sticky as balance allows: with equal subscriptions exactly the
         * minimum of valid previous ownership moves. */
        valid_kept(&tg, kept);
        int keptn[MAXM], moved = 0, total = 0;
        for (int i = 0; i < tg.nm; i++) {
            keptn[i] = count(kept[i]);
            for (int t = 0; t < tg.nt; t++)
                moved += __builtin_popcountll(kept[i][t] & ~res[i][t]);
        }
        for (int t = 0; t < tg.nt; t++)
            if (subscribes(&tg.m[0], tg.tname[t]))
                total += tg.tcnt[t];
        if (equal)
            CHECK_CMP_eq(moved, min_moves(&tg, keptn, total));

        /* A balanced assignment and the same members: nothing moves. */
        adopt(&tg, res, 10);
        CHECK_CMP_eq(run(&kfk__assignor_sticky, &tg, res2), 0);
        CHECK(same(&tg, res, res2));
        CHECK_CMP_eq(run(&kfk__assignor_cooperative_sticky, &tg, res2), 0);
        CHECK(same(&tg, res, res2));
    }
}
END_TEST

/* True if some member other than i owns partition p of topic t. */
static bool owned_elsewhere(const tgroup *tg, int i, int t, int p)
{
    for (int j = 0; j < tg->nm; j++)
        if (j != i && (tg->m[j].owned[t] >> p & 1))
            return true;
    return false;
}

/* One cooperative rebalance: assign, check KIP-429's rule against what
 * members own right now, then let each member revoke what it lost and
 * take what it gained. */
static void coop_rebalance(tgroup *tg, int32_t gen)
{
    CHECK_CMP_eq(run(&kfk__assignor_cooperative_sticky, tg, res), 0);
    check_valid(tg, res, false);
    for (int i = 0; i < tg->nm; i++)
        for (int t = 0; t < tg->nt; t++)
            for (int p = 0; p < 64; p++)
                if ((res[i][t] & ~tg->m[i].owned[t]) >> p & 1)
                    CHECK_MSG(!owned_elsewhere(tg, i, t, p),
                              "%s:%d given to %s while owned elsewhere",
                              tg->tname[t], p, tg->m[i].id);
    adopt(tg, res, gen);
}

START_TEST(cooperative_sticky_simulation)
{
    rng_state = 0x0badc0ffee0ddf00ull;
    int next_id = 0;
    for (int n = 0; n < 400; n++) {
        tgroup tg;
        bool equal = n % 2;
        random_group(&tg, equal);
        int32_t gen = 1;
        for (int step = 0; step < 12; step++) {
            int what = (int)rnd(5);
            if (what == 0 && tg.nm > 1) { /* a member leaves */
                remove_member(&tg, res, (int)rnd((uint32_t)tg.nm));
            } else if (what == 1 && tg.nm < MAXM) { /* one joins */
                char id[16];
                snprintf(id, sizeof(id), "new%d", next_id++);
                tmember *m = add_member(&tg, id, NULL);
                *m = tg.m[rnd((uint32_t)tg.nm - 1)];
                snprintf(m->id, sizeof(m->id), "new%d", next_id);
                m->is_static = false;
                memset(m->owned, 0, sizeof(m->owned));
                m->generation = -1;
            } else if (what == 2) { /* a topic grows, or loses all */
                int t = (int)rnd((uint32_t)tg.nt);
                if (rnd(8) == 0)
                    tg.tcnt[t] = 0;
                else if (tg.tcnt[t] < 60)
                    tg.tcnt[t] += (int32_t)rnd(3);
            } else if (what == 3) { /* subscriptions change */
                uint32_t mask = 1 + rnd((1u << tg.nt) - 1);
                int who = (int)rnd((uint32_t)tg.nm);
                for (int i = 0; i < tg.nm; i++)
                    if (equal || i == who)
                        resubscribe(&tg.m[i], mask);
            }
            coop_rebalance(&tg, ++gen);
        }
        /* Membership stopped changing with the last rebalance; one more
         * hands on what was revoked, and then the group is settled. */
        coop_rebalance(&tg, ++gen);
        check_valid(&tg, res, true);
        check_balanced(&tg, res);
        memcpy(res2, res, sizeof(res));
        coop_rebalance(&tg, ++gen);
        CHECK(same(&tg, res, res2));
    }
}
END_TEST

/* Eager sticky over successive rebalances: always complete and balanced,
 * and a quiet round changes nothing. */
START_TEST(sticky_successive_rebalances)
{
    rng_state = 0x5eed5eed5eed5eedull;
    for (int n = 0; n < 300; n++) {
        tgroup tg;
        random_group(&tg, n % 2);
        for (int32_t gen = 1; gen < 10; gen++) {
            if (rnd(3) == 0 && tg.nm > 1)
                remove_member(&tg, res, (int)rnd((uint32_t)tg.nm));
            CHECK_CMP_eq(run(&kfk__assignor_sticky, &tg, res), 0);
            check_valid(&tg, res, true);
            check_balanced(&tg, res);
            adopt(&tg, res, gen);
        }
        CHECK_CMP_eq(run(&kfk__assignor_sticky, &tg, res2), 0);
        CHECK(same(&tg, res, res2));
    }
}
END_TEST

/* Each allocation in turn fails: the assignors report NOMEM and leak
 * nothing (the sanitizer build checks the leaks). */
START_TEST(allocation_failures)
{
    const kfk__assignor *as[] = {
        &kfk__assignor_range, &kfk__assignor_roundrobin, &kfk__assignor_sticky,
        &kfk__assignor_cooperative_sticky};
    rng_state = 77;
    tgroup tg;
    do
        random_group(&tg, false);
    while (tg.nm < 4);
    random_ownership(&tg);
    tg.racks = true; /* so that range's rack path runs too */
    for (int t = 0; t < tg.nt; t++)
        for (int p = 0; p < tg.tcnt[t]; p++)
            tg.prack[t][p] = (uint8_t)(1 + p % 2);
    for (int i = 0; i < tg.nm; i++)
        tg.m[i].rack = 1 + i % 2;
    for (int k = 0; k < 4; k++) {
        static call c;
        int err = -1;
        for (long fail = 0; err != 0; fail++) {
            call_init(&c, &tg, as[k]);
            kfk__alloc_fail_after(fail);
            err = as[k]->assign(as[k], &c.g, &c.arena, c.out);
            kfk__alloc_fail_after(-1);
            ck_assert(err == 0 || err == KFK_ERR__NOMEM);
            call_free(&c, tg.nm);
            ck_assert_int_lt(fail, 10000);
        }
    }
}
END_TEST

/* ---- protocol bytes ---------------------------------------------------------
 */

static void check_bytes(const kfk__wbuf *w, const uint8_t *want, size_t n)
{
    ck_assert_uint_eq(w->len, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(w->data[i] == want[i], "byte %zu: %02x, want %02x", i,
                      w->data[i], want[i]);
}

/* Subscription v3 as a Java client writes it: topics ["t0"], null user
 * data, owned t0:[0,1], generation 7, rack "r1". */
static const uint8_t sub_v3[] = {
    0,    3,                                /* version */
    0,    0,    0,    1,    0, 2, 't', '0', /* Topics */
    0xff, 0xff, 0xff, 0xff,                 /* UserData: null */
    0,    0,    0,    1,    0, 2, 't', '0', /* OwnedPartitions: t0 */
    0,    0,    0,    2,    0, 0, 0,   0,   0, 0, 0, 1, /* [0, 1] */
    0,    0,    0,    7,                                /* GenerationId */
    0,    2,    'r',  '1',                              /* RackId */
};

/* Subscription v0: topics ["a", "b"], user data "xyz". */
static const uint8_t sub_v0[] = {
    0, 0, 0, 0, 0, 2, 0, 1, 'a', 0, 1, 'b', 0, 0, 0, 3, 'x', 'y', 'z',
};

START_TEST(subscription_golden)
{
    kfk__arena a;
    kfk__wbuf w;
    kfk__assign_member m;
    kfk__arena_init(&a, 0);
    kfk__wbuf_init(&w, 0);

    ck_assert_int_eq(kfk__subscription_decode(sub_v3, sizeof(sub_v3), &a, &m),
                     0);
    ck_assert_int_eq(m.ntopics, 1);
    ck_assert_str_eq(m.topics[0], "t0");
    ck_assert_ptr_null(m.user_data);
    ck_assert_int_eq(m.nowned, 1);
    ck_assert_str_eq(m.owned[0].topic, "t0");
    ck_assert_int_eq(m.owned[0].n, 2);
    ck_assert_int_eq(m.owned[0].partitions[1], 1);
    ck_assert_int_eq(m.generation, 7);
    ck_assert_str_eq(m.rack, "r1");
    ck_assert_ptr_null(m.member_id);
    ck_assert_int_eq(kfk__subscription_encode(&m, 3, &w), 0);
    check_bytes(&w, sub_v3, sizeof(sub_v3));

    ck_assert_int_eq(kfk__subscription_decode(sub_v0, sizeof(sub_v0), &a, &m),
                     0);
    ck_assert_int_eq(m.ntopics, 2);
    ck_assert_str_eq(m.topics[1], "b");
    ck_assert_int_eq(m.user_data_len, 3);
    ck_assert(memcmp(m.user_data, "xyz", 3) == 0);
    ck_assert_int_eq(m.nowned, 0);
    ck_assert_int_eq(m.generation, -1);
    ck_assert_ptr_null(m.rack);
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__subscription_encode(&m, 0, &w), 0);
    check_bytes(&w, sub_v0, sizeof(sub_v0));

    /* A newer version with a field we do not know: read as v3. */
    uint8_t v9[sizeof(sub_v3) + 5];
    memcpy(v9, sub_v3, sizeof(sub_v3));
    v9[1] = 9;
    memcpy(v9 + sizeof(sub_v3), "\0\0\0\1z", 5);
    ck_assert_int_eq(kfk__subscription_decode(v9, sizeof(v9), &a, &m), 0);
    ck_assert_int_eq(m.generation, 7);
    ck_assert_str_eq(m.rack, "r1");

    /* Truncated anywhere, or a negative version: an error. */
    for (size_t n = 0; n < sizeof(sub_v3); n++)
        ck_assert_int_eq(kfk__subscription_decode(sub_v3, n, &a, &m),
                         KFK_ERR__TRUNCATED);
    uint8_t neg[sizeof(sub_v0)];
    memcpy(neg, sub_v0, sizeof(neg));
    neg[0] = 0xff;
    ck_assert_int_eq(kfk__subscription_decode(neg, sizeof(neg), &a, &m),
                     KFK_ERR__MALFORMED);
    /* A NUL inside a topic name cannot become a C string. */
    memcpy(neg, sub_v0, sizeof(neg));
    neg[8] = 0;
    ck_assert_int_eq(kfk__subscription_decode(neg, sizeof(neg), &a, &m),
                     KFK_ERR__MALFORMED);

    kfk__wbuf_free(&w);
    kfk__arena_free(&a);
}
END_TEST

START_TEST(subscription_roundtrip_all_versions)
{
    int32_t p0[] = {3, 1}, p1[] = {0};
    kfk__assign_tp owned[] = {{"x", p0, 2}, {"y", p1, 1}};
    const char *topics[] = {"x", "y", "z"};
    const uint8_t ud[] = {1, 2, 3, 4};
    kfk__assign_member in = {.member_id = "ignored",
                             .rack = "rack-a",
                             .topics = topics,
                             .ntopics = 3,
                             .owned = owned,
                             .nowned = 2,
                             .generation = 42,
                             .user_data = ud,
                             .user_data_len = 4};
    for (int16_t v = 0; v <= KFK__CONSUMER_PROTOCOL_VERSION; v++) {
        kfk__arena a;
        kfk__wbuf w;
        kfk__assign_member m;
        kfk__arena_init(&a, 0);
        kfk__wbuf_init(&w, 0);
        ck_assert_int_eq(kfk__subscription_encode(&in, v, &w), 0);
        ck_assert_int_eq(kfk__subscription_decode(w.data, w.len, &a, &m), 0);
        kfk__wbuf_free(&w); /* the decoded member must not need the bytes */
        ck_assert_int_eq(m.ntopics, 3);
        ck_assert_str_eq(m.topics[2], "z");
        ck_assert_int_eq(m.user_data_len, 4);
        ck_assert_int_eq(m.user_data[3], 4);
        ck_assert_int_eq(m.nowned, v >= 1 ? 2 : 0);
        if (v >= 1) {
            ck_assert_str_eq(m.owned[1].topic, "y");
            ck_assert_int_eq(m.owned[0].partitions[0], 3);
        }
        ck_assert_int_eq(m.generation, v >= 2 ? 42 : -1);
        if (v >= 3)
            ck_assert_str_eq(m.rack, "rack-a");
        else
            ck_assert_ptr_null(m.rack);
        kfk__arena_free(&a);
    }
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__subscription_encode(&in, -1, &w),
                     KFK_ERR__INVALID_ARG);
    kfk__wbuf_free(&w);
}
END_TEST

/* Assignment v0 and v3 differ only in the version: t0:[0,1], t1:[2], null
 * user data. */
static const uint8_t asg_v3[] = {
    0, 3, 0, 0, 0, 2,   0,   2, 't', '0', 0, 0, 0, 2, 0, 0,    0,    0,    0,
    0, 0, 1, 0, 2, 't', '1', 0, 0,   0,   1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff,
};

START_TEST(assignment_golden_and_roundtrip)
{
    kfk__arena a;
    kfk__wbuf w;
    kfk__member_assignment m;
    kfk__arena_init(&a, 0);
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__assignment_decode(asg_v3, sizeof(asg_v3), &a, &m), 0);
    ck_assert_int_eq(m.ntopics, 2);
    ck_assert_str_eq(m.topics[1].topic, "t1");
    ck_assert_int_eq(m.topics[1].partitions[0], 2);
    ck_assert_int_eq(m.topics[0].n, 2);
    ck_assert_ptr_null(m.user_data);
    for (int16_t v = 0; v <= 3; v += 3) {
        kfk__wbuf_reset(&w);
        ck_assert_int_eq(kfk__assignment_encode(&m, v, &w), 0);
        ck_assert_uint_eq(w.len, sizeof(asg_v3));
        ck_assert_int_eq(w.data[1], v);
        ck_assert(memcmp(w.data + 2, asg_v3 + 2, sizeof(asg_v3) - 2) == 0);
    }
    /* With user data; an empty assignment. */
    const uint8_t ud[] = {9};
    kfk__member_assignment e = {.user_data = ud, .user_data_len = 1};
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__assignment_encode(&e, 1, &w), 0);
    const uint8_t want[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9};
    check_bytes(&w, want, sizeof(want));
    ck_assert_int_eq(kfk__assignment_decode(w.data, w.len, &a, &m), 0);
    ck_assert_int_eq(m.ntopics, 0);
    ck_assert_int_eq(m.user_data_len, 1);
    ck_assert_int_eq(m.user_data[0], 9);
    for (size_t n = 0; n < sizeof(asg_v3); n++)
        ck_assert_int_eq(kfk__assignment_decode(asg_v3, n, &a, &m),
                         KFK_ERR__TRUNCATED);
    kfk__wbuf_free(&w);
    kfk__arena_free(&a);
}
END_TEST

/* The assignors' user data, in the Java layouts: StickyAssignorUserData v1
 * (sticky) and a bare int32 generation (cooperative-sticky). A v0 user
 * data (no generation) still carries the previous assignment. */
START_TEST(sticky_user_data_golden)
{
    int32_t parts[] = {2};
    kfk__assign_tp owned[] = {{"t0", parts, 1}};
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    const kfk__assignor *s = &kfk__assignor_sticky;
    ck_assert_int_eq(s->user_data(s, owned, 1, 5, &w), 0);
    const uint8_t v1[] = {0, 0, 0, 1, 0, 2, 't', '0', 0, 0,
                          0, 1, 0, 0, 0, 2, 0,   0,   0, 5};
    check_bytes(&w, v1, sizeof(v1));
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(s->user_data(s, NULL, 0, -1, &w), 0);
    ck_assert_uint_eq(w.len, 0); /* first join: null */

    const kfk__assignor *c = &kfk__assignor_cooperative_sticky;
    ck_assert_int_eq(c->user_data(c, owned, 1, 5, &w), 0);
    const uint8_t gen[] = {0, 0, 0, 5};
    check_bytes(&w, gen, sizeof(gen));
    kfk__wbuf_free(&w);

    /* v0 user data from an old member: it keeps t0:2. */
    const char *topics[] = {"t0"};
    kfk__assign_member mm[2] = {
        {.member_id = "A",
         .topics = topics,
         .ntopics = 1,
         .generation = -1,
         .user_data = v1,
         .user_data_len = 16},
        {.member_id = "B", .topics = topics, .ntopics = 1, .generation = -1},
    };
    kfk__assign_topic t = {"t0", 4, NULL};
    kfk__assign_group g = {mm, 2, &t, 1};
    kfk__member_assignment out[2];
    kfk__arena a;
    kfk__arena_init(&a, 0);
    ck_assert_int_eq(s->assign(s, &g, &a, out), 0);
    ck_assert_int_eq(out[0].ntopics, 1);
    ck_assert_int_eq(out[0].topics[0].n, 2);
    ck_assert(out[0].topics[0].partitions[0] == 2 ||
              out[0].topics[0].partitions[1] == 2);
    /* Garbage user data is ignored, as Java ignores it. */
    mm[0].user_data_len = 7;
    ck_assert_int_eq(s->assign(s, &g, &a, out), 0);
    ck_assert_int_eq(out[0].topics[0].n + out[1].topics[0].n, 4);
    /* cooperative-sticky reads the generation from user data when the
     * subscription has none (v0/v1). */
    int32_t p1[] = {1};
    kfk__assign_tp o1[] = {{"t0", p1, 1}};
    mm[0] = (kfk__assign_member){.member_id = "A",
                                 .topics = topics,
                                 .ntopics = 1,
                                 .generation = -1,
                                 .owned = o1,
                                 .nowned = 1,
                                 .user_data = gen,
                                 .user_data_len = 4};
    mm[1] = (kfk__assign_member){.member_id = "B",
                                 .topics = topics,
                                 .ntopics = 1,
                                 .generation = 4,
                                 .owned = o1,
                                 .nowned = 1};
    ck_assert_int_eq(c->assign(c, &g, &a, out), 0);
    /* A (generation 5 from its user data) beats B (4) for t0:1. */
    bool a_has_1 = false;
    for (int32_t k = 0; k < out[0].topics[0].n; k++)
        a_has_1 |= out[0].topics[0].partitions[k] == 1;
    ck_assert(a_has_1);
    kfk__arena_free(&a);
}
END_TEST

/* Damaged bytes: every decoder answers with a value or an error, never
 * reads outside its input (the sanitizer build checks), and the sticky
 * assignors treat damaged user data as no previous assignment. */
START_TEST(hostile_bytes)
{
    static const struct {
        const uint8_t *b;
        size_t n;
    } seeds[] = {{sub_v3, sizeof(sub_v3)},
                 {sub_v0, sizeof(sub_v0)},
                 {asg_v3, sizeof(asg_v3)}};
    rng_state = 0xfeedfacecafebeefull;
    for (int n = 0; n < 3000; n++) {
        uint8_t buf[64];
        size_t k = rnd(3), len = seeds[k].n;
        memcpy(buf, seeds[k].b, len);
        for (int f = 1 + (int)rnd(3); f > 0; f--)
            buf[rnd((uint32_t)len)] = (uint8_t)rnd(256);
        if (rnd(2))
            len = rnd((uint32_t)len + 1);
        kfk__arena a;
        kfk__arena_init(&a, 1 << 20);
        kfk__assign_member m;
        kfk__member_assignment ma;
        int err = kfk__subscription_decode(buf, len, &a, &m);
        CHECK(err == 0 || err == KFK_ERR__TRUNCATED ||
              err == KFK_ERR__MALFORMED || err == KFK_ERR__TOO_LARGE);
        err = kfk__assignment_decode(buf, len, &a, &ma);
        CHECK(err == 0 || err == KFK_ERR__TRUNCATED ||
              err == KFK_ERR__MALFORMED || err == KFK_ERR__TOO_LARGE);

        /* The same bytes as user data for both sticky assignors. */
        const char *topics[] = {"t0"};
        kfk__assign_member mm[2] = {
            {.member_id = "A",
             .topics = topics,
             .ntopics = 1,
             .generation = -1,
             .user_data = buf,
             .user_data_len = (int32_t)len},
            {.member_id = "B",
             .topics = topics,
             .ntopics = 1,
             .generation = -1},
        };
        kfk__assign_topic t = {"t0", 3, NULL};
        kfk__assign_group g = {mm, 2, &t, 1};
        kfk__member_assignment out[2];
        for (int s = 0; s < 2; s++) {
            const kfk__assignor *as =
                s ? &kfk__assignor_cooperative_sticky : &kfk__assignor_sticky;
            CHECK(as->assign(as, &g, &a, out) == 0);
            int32_t total = 0;
            for (int i = 0; i < 2; i++)
                for (int32_t j = 0; j < out[i].ntopics; j++)
                    total += out[i].topics[j].n;
            CHECK(total == 3);
        }
        kfk__arena_free(&a);
    }
}
END_TEST

/* ---- timing
 * ------------------------------------------------------------------ */

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Partitions member i got, and the smallest and largest count of any. */
static int32_t total_of(const kfk__member_assignment *out, int32_t n,
                        int32_t *lo, int32_t *hi)
{
    int32_t total = 0;
    *lo = INT32_MAX;
    *hi = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t c = 0;
        for (int32_t k = 0; k < out[i].ntopics; k++)
            c += out[i].topics[k].n;
        *lo = c < *lo ? c : *lo;
        *hi = c > *hi ? c : *hi;
        total += c;
    }
    return total;
}

/* 1000 members x 1000 topics x 10 partitions with cooperative-sticky: a
 * fresh assignment, the rebalance after one member left, and the two
 * after it came back (its partitions are withheld in the first). Prints
 * the times; asserts only the results. */
START_TEST(sticky_large_group_timing)
{
    enum { NM = 1000, NT = 1000, NP = 10 };
    static char tnames[NT][8], mids[NM][8];
    static const char *topics[NT];
    static kfk__assign_topic tmeta[NT];
    static kfk__assign_member mm[NM];
    static kfk__member_assignment out[4][NM];
    for (int t = 0; t < NT; t++) {
        snprintf(tnames[t], sizeof(tnames[t]), "t%03d", t);
        topics[t] = tnames[t];
        tmeta[t] = (kfk__assign_topic){tnames[t], NP, NULL};
    }
    for (int i = 0; i < NM; i++) {
        snprintf(mids[i], sizeof(mids[i]), "m%03d", i);
        mm[i] = (kfk__assign_member){.member_id = mids[i],
                                     .topics = topics,
                                     .ntopics = NT,
                                     .generation = -1};
    }
    const kfk__assignor *c = &kfk__assignor_cooperative_sticky;
    kfk__arena a;
    kfk__arena_init(&a, 0);
    double ms[4];
    int32_t lo, hi;
    struct timespec t0;
    for (int round = 0; round < 4; round++) {
        /* Round 1: m000 left. Rounds 2, 3: it is back, owning nothing. */
        kfk__assign_group g = {mm + (round == 1), NM - (round == 1), tmeta, NT};
        if (round > 0)
            for (int i = 0; i < NM; i++) {
                /* out[1] lacks m000, so its members sit one lower. */
                const kfk__member_assignment *o = round != 2
                                                      ? &out[round - 1][i]
                                                  : i > 0 ? &out[1][i - 1]
                                                          : NULL;
                mm[i].owned = o ? o->topics : NULL;
                mm[i].nowned = o ? o->ntopics : 0;
                mm[i].generation = round;
            }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ck_assert_int_eq(c->assign(c, &g, &a, out[round]), 0);
        ms[round] = ms_since(&t0);
        int32_t total = total_of(out[round], g.nmembers, &lo, &hi);
        if (round == 2) { /* m000's ten are withheld from it */
            ck_assert_int_eq(total, NT * NP - 10);
            ck_assert_int_eq(total_of(out[2], 1, &lo, &hi), 0);
        } else {
            ck_assert_int_eq(total, NT * NP);
            ck_assert_int_le(hi - lo, 1);
        }
    }
    fprintf(stderr,
            "cooperative-sticky %dx%dx%d: fresh %.1f ms, one member left "
            "%.1f ms, it rejoined %.1f + %.1f ms\n",
            NM, NT, NP, ms[0], ms[1], ms[2], ms[3]);
    kfk__arena_free(&a);
}
END_TEST

static Suite *assignors_suite(void)
{
    Suite *s = suite_create("assignors");
    TCase *tc = tcase_create("known answers");
    tcase_add_test(tc, range_java_example);
    tcase_add_test(tc, range_static_members_first);
    tcase_add_test(tc, range_unsubscribed_and_unknown_topics);
    tcase_add_test(tc, range_racks);
    tcase_add_test(tc, roundrobin_java_examples);
    tcase_add_test(tc, sticky_javadoc_example1);
    tcase_add_test(tc, sticky_javadoc_example2);
    tcase_add_test(tc, sticky_generation_conflicts);
    tcase_add_test(tc, cooperative_two_phase);
    tcase_add_test(tc, sticky_gone_topics_and_empty_members);
    tcase_add_test(tc, builtin_table_and_bad_input);
    suite_add_tcase(s, tc);
    tc = tcase_create("properties");
    tcase_add_test(tc, range_roundrobin_properties);
    tcase_add_test(tc, sticky_properties);
    tcase_add_test(tc, cooperative_sticky_simulation);
    tcase_add_test(tc, sticky_successive_rebalances);
    tcase_add_test(tc, allocation_failures);
    tcase_add_test(tc, sticky_large_group_timing);
    suite_add_tcase(s, tc);
    tc = tcase_create("protocol bytes");
    tcase_add_test(tc, subscription_golden);
    tcase_add_test(tc, subscription_roundtrip_all_versions);
    tcase_add_test(tc, assignment_golden_and_roundtrip);
    tcase_add_test(tc, sticky_user_data_golden);
    tcase_add_test(tc, hostile_bytes);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(assignors_suite)
