/*
 * test_partitioner.c: the Java client's partition choice. Keyed records
 * must land where a Java producer puts them (murmur2 over all partitions);
 * records without a key stick to a partition for about batch.size bytes
 * (KIP-794), then switch at random among available partitions, weighted
 * towards short queues. Random numbers come from a seeded generator, so
 * the statistical checks are deterministic.
 */
#include <check.h>
#include <kfk/error.h>
#include <pthread.h>
#include <string.h>

#include "check_main.h"
#include "common/alloc.h"
#include "producer/murmur2.h"
#include "producer/partitioner.h"

static uint32_t lcg(void *state)
{
    uint64_t *s = state;
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 32);
}

static void seeded(kfk__partitioner *pt, uint64_t *state, uint64_t seed)
{
    kfk__partitioner_init(pt);
    *state = seed;
    pt->rng = lcg;
    pt->rng_state = state;
}

/* (hash & 0x7fffffff) % n from the Java hashes in CLIENT-FACTS.md. */
static int32_t java_partition(int32_t hash, int32_t n)
{
    return (int32_t)(((uint32_t)hash & 0x7fffffffu) % (uint32_t)n);
}

START_TEST(keyed_java_mapping)
{
    static const struct {
        const char *key;
        int32_t hash;
    } v[] = {
        {"21", -973932308},
        {"foobar", -790332482},
        {"a-little-bit-long-string", -985981536},
        {"a-little-bit-longer-string", -1486304829},
        {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
        {"abc", 479470107},
    };
    static const int32_t counts[] = {1, 2, 3, 5, 6, 7, 12, 100, 1000};
    kfk__partitioner pt;
    kfk__partitioner_init(&pt);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        for (size_t j = 0; j < sizeof(counts) / sizeof(counts[0]); j++) {
            int32_t p = -2;
            ck_assert_int_eq(kfk__partitioner_pick(&pt, "t", v[i].key,
                                                   (int32_t)strlen(v[i].key),
                                                   counts[j], &p),
                             0);
            ck_assert_msg(p == java_partition(v[i].hash, counts[j]),
                          "key %s, %d partitions: %d", v[i].key, (int)counts[j],
                          (int)p);
        }
    }
    /* spot values: "foobar" */
    int32_t p;
    kfk__partitioner_pick(&pt, "t", "foobar", 6, 12, &p);
    ck_assert_int_eq(p, 6);
    kfk__partitioner_pick(&pt, "t", "foobar", 6, 100, &p);
    ck_assert_int_eq(p, 66);
}
END_TEST

/* Keys hash over all partitions, whatever the sticky load says; the empty
 * key is a key; a null key and ignore.keys go sticky. */
START_TEST(keyed_all_partitions_and_null)
{
    kfk__partitioner pt;
    kfk__partitioner_init(&pt);
    int32_t p;
    ck_assert_int_eq(kfk__partitioner_pick(&pt, "t", "", 0, 7, &p), 0);
    ck_assert_int_eq(p, kfk__murmur2_partition("", 0, 7));
    ck_assert_int_eq(kfk__partitioner_pick(&pt, "t", NULL, -1, 7, &p), 0);
    ck_assert_int_eq(p, KFK__PARTITION_ANY);
    pt.ignore_keys = true;
    ck_assert_int_eq(kfk__partitioner_pick(&pt, "t", "abc", 3, 7, &p), 0);
    ck_assert_int_eq(p, KFK__PARTITION_ANY);
    ck_assert_int_eq(kfk__partitioner_pick(&pt, "t", "abc", 3, 0, &p),
                     KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk__partitioner_pick(&pt, "t", "abc", -2, 3, &p),
                     KFK_ERR__INVALID_ARG);
}
END_TEST

typedef struct cb_state {
    int32_t answer;
    int calls;
    const void *key;
    size_t key_len;
    int32_t cnt;
    const char *topic;
} cb_state;

static int32_t user_cb(const char *topic, const void *key, size_t key_len,
                       int32_t partition_cnt, void *opaque)
{
    cb_state *s = opaque;
    s->calls++;
    s->key = key;
    s->key_len = key_len;
    s->cnt = partition_cnt;
    s->topic = topic;
    return s->answer;
}

START_TEST(user_callback)
{
    kfk__partitioner pt;
    kfk__partitioner_init(&pt);
    cb_state s = {.answer = 4};
    pt.cb = user_cb;
    pt.cb_opaque = &s;
    int32_t p;
    ck_assert_int_eq(kfk__partitioner_pick(&pt, "orders", "abc", 3, 9, &p), 0);
    ck_assert_int_eq(p, 4);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_str_eq(s.topic, "orders");
    ck_assert_int_eq(s.key_len, 3);
    ck_assert_int_eq(memcmp(s.key, "abc", 3), 0);
    ck_assert_int_eq(s.cnt, 9);

    /* -1: the default (key hash, or sticky without a key) */
    s.answer = -1;
    ck_assert_int_eq(kfk__partitioner_pick(&pt, "orders", "abc", 3, 9, &p), 0);
    ck_assert_int_eq(p, kfk__murmur2_partition("abc", 3, 9));
    ck_assert_int_eq(kfk__partitioner_pick(&pt, "orders", NULL, -1, 9, &p), 0);
    ck_assert_int_eq(p, KFK__PARTITION_ANY);
    ck_assert_ptr_null(s.key);
    ck_assert_int_eq(s.key_len, 0);

    /* the callback also decides for null keys */
    s.answer = 8;
    ck_assert_int_eq(kfk__partitioner_pick(&pt, "orders", NULL, -1, 9, &p), 0);
    ck_assert_int_eq(p, 8);

    /* out of range is the caller's error */
    s.answer = 9;
    ck_assert_int_eq(kfk__partitioner_pick(&pt, "orders", "abc", 3, 9, &p),
                     KFK_ERR__INVALID_ARG);
    s.answer = -5;
    ck_assert_int_eq(kfk__partitioner_pick(&pt, "orders", "abc", 3, 9, &p),
                     KFK_ERR__INVALID_ARG);
}
END_TEST

/* Sticky: stays until sticky_bytes were produced with switching enabled,
 * or twice that in any case; a stale token neither counts nor switches. */
START_TEST(sticky_switching)
{
    kfk__partitioner pt;
    uint64_t st;
    seeded(&pt, &st, 1);
    pt.sticky_bytes = 1000;
    kfk__sticky s;
    ck_assert_int_eq(kfk__sticky_init(&s), 0);

    for (int round = 0; round < 50; round++) {
        uint64_t tok = kfk__sticky_peek(&s, &pt, 10);
        int32_t p = kfk__sticky_partition(tok);
        ck_assert_int_ge(p, 0);
        ck_assert_int_lt(p, 10);
        int produced = 0;
        /* switching enabled: moves once 1000 bytes are in */
        while (!kfk__sticky_changed(&s, tok)) {
            ck_assert_uint_eq(kfk__sticky_peek(&s, &pt, 10), tok);
            kfk__sticky_update(&s, &pt, tok, 100, true, 10);
            produced += 100;
        }
        ck_assert_int_eq(produced, 1000);
    }
    for (int round = 0; round < 50; round++) {
        uint64_t tok = kfk__sticky_peek(&s, &pt, 10);
        int produced = 0;
        /* switching held back (batch not full): 2x forces it */
        while (!kfk__sticky_changed(&s, tok)) {
            kfk__sticky_update(&s, &pt, tok, 100, false, 10);
            produced += 100;
        }
        ck_assert_int_eq(produced, 2000);
    }
    /* a held-back switch completes with 0 bytes once enabled */
    uint64_t tok = kfk__sticky_peek(&s, &pt, 10);
    kfk__sticky_update(&s, &pt, tok, 1500, false, 10);
    ck_assert(!kfk__sticky_changed(&s, tok));
    kfk__sticky_update(&s, &pt, tok, 0, true, 10);
    ck_assert(kfk__sticky_changed(&s, tok));

    /* stale tokens are ignored */
    uint64_t cur = kfk__sticky_peek(&s, &pt, 10);
    kfk__sticky_update(&s, &pt, tok, 5000, true, 10);
    ck_assert_uint_eq(kfk__sticky_peek(&s, &pt, 10), cur);

    /* a partition no longer below the count is replaced */
    cur = kfk__sticky_peek(&s, &pt, 1);
    ck_assert_int_eq(kfk__sticky_partition(cur), 0);
    kfk__sticky_destroy(&s);
}
END_TEST

/* Counts the partitions n switches land on. */
static void sample(kfk__sticky *s, const kfk__partitioner *pt, int32_t cnt,
                   int n, int *hits)
{
    memset(hits, 0, sizeof(int) * (size_t)cnt);
    for (int i = 0; i < n; i++) {
        uint64_t tok = kfk__sticky_peek(s, pt, cnt);
        kfk__sticky_update(s, pt, tok, pt->sticky_bytes, true, cnt);
        hits[kfk__sticky_partition(kfk__sticky_peek(s, pt, cnt))]++;
    }
}

START_TEST(availability_skipping)
{
    kfk__partitioner pt;
    uint64_t st;
    seeded(&pt, &st, 7);
    kfk__sticky s;
    kfk__sticky_init(&s);
    int hits[8];
    /* only 1, 3 and 6 have a leader (and are not stuck) */
    int32_t ids[] = {1, 3, 6}, sizes[] = {2, 2, 2};
    ck_assert_int_eq(kfk__sticky_set_load(&s, &pt, ids, sizes, 3, 8), 0);
    sample(&s, &pt, 8, 3000, hits);
    for (int i = 0; i < 8; i++) {
        if (i == 1 || i == 3 || i == 6)
            ck_assert_int_gt(hits[i], 800); /* uniform: ~1000 each */
        else
            ck_assert_int_eq(hits[i], 0);
    }
    /* nothing available: uniform over all */
    ck_assert_int_eq(kfk__sticky_set_load(&s, &pt, NULL, NULL, 0, 8), 0);
    sample(&s, &pt, 8, 8000, hits);
    for (int i = 0; i < 8; i++)
        ck_assert_int_gt(hits[i], 800);
    kfk__sticky_destroy(&s);
}
END_TEST

/* Java's weights: max queue + 1 - queue. Queues 0,5,10,2 give 11,6,1,9. */
START_TEST(adaptive_weighting)
{
    kfk__partitioner pt;
    uint64_t st;
    seeded(&pt, &st, 42);
    kfk__sticky s;
    kfk__sticky_init(&s);
    int32_t ids[] = {0, 1, 2, 3}, sizes[] = {0, 5, 10, 2};
    const double w[] = {11, 6, 1, 9};
    ck_assert_int_eq(kfk__sticky_set_load(&s, &pt, ids, sizes, 4, 4), 0);
    const int n = 27000;
    int hits[4];
    sample(&s, &pt, 4, n, hits);
    double chi2 = 0;
    for (int i = 0; i < 4; i++) {
        double e = n * w[i] / 27.0;
        chi2 += (hits[i] - e) * (hits[i] - e) / e;
    }
    /* 3 degrees of freedom: p = 1e-6 is about 30.7 */
    ck_assert_msg(chi2 < 30.7, "chi2 %.1f: %d %d %d %d", chi2, hits[0], hits[1],
                  hits[2], hits[3]);
    ck_assert_int_gt(hits[0], hits[3]);
    ck_assert_int_gt(hits[3], hits[1]);
    ck_assert_int_gt(hits[1], hits[2]);

    /* adaptive off: uniform over the available ones */
    pt.adaptive = false;
    ck_assert_int_eq(kfk__sticky_set_load(&s, &pt, ids, sizes, 4, 4), 0);
    sample(&s, &pt, 4, 8000, hits);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(hits[i] > 1700 && hits[i] < 2300, "%d: %d", i, hits[i]);
    /* equal queues: uniform too */
    pt.adaptive = true;
    int32_t eq[] = {3, 3, 3, 3};
    ck_assert_int_eq(kfk__sticky_set_load(&s, &pt, ids, eq, 4, 4), 0);
    sample(&s, &pt, 4, 8000, hits);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(hits[i] > 1700 && hits[i] < 2300, "%d: %d", i, hits[i]);
    kfk__sticky_destroy(&s);
}
END_TEST

START_TEST(set_load_nomem)
{
    kfk__partitioner pt;
    uint64_t st;
    seeded(&pt, &st, 3);
    kfk__sticky s;
    kfk__sticky_init(&s);
    int32_t ids[] = {2}, sizes[] = {0};
    kfk__alloc_fail_after(0);
    int err = kfk__sticky_set_load(&s, &pt, ids, sizes, 1, 4);
    kfk__alloc_fail_after(-1);
    ck_assert_int_eq(err, KFK_ERR__NOMEM);
    int hits[4];
    sample(&s, &pt, 4, 400, hits); /* forgot the load: uniform over all */
    for (int i = 0; i < 4; i++)
        ck_assert_int_gt(hits[i], 50);
    kfk__sticky_destroy(&s);
}
END_TEST

/* Many threads peeking and counting with the built-in generator: every
 * choice is in range and the switches follow the bytes. */
typedef struct thr_arg {
    kfk__sticky *s;
    const kfk__partitioner *pt;
} thr_arg;

static void *hammer(void *arg)
{
    thr_arg *a = arg;
    for (int i = 0; i < 20000; i++) {
        uint64_t tok = kfk__sticky_peek(a->s, a->pt, 16);
        int32_t p = kfk__sticky_partition(tok);
        if (p < 0 || p >= 16)
            return NULL;
        kfk__sticky_update(a->s, a->pt, tok, 10, true, 16);
    }
    return a;
}

START_TEST(threads)
{
    kfk__partitioner pt;
    kfk__partitioner_init(&pt);
    pt.sticky_bytes = 1000;
    kfk__sticky s;
    kfk__sticky_init(&s);
    pthread_t th[4];
    thr_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (thr_arg){&s, &pt};
        pthread_create(&th[i], NULL, hammer, &a[i]);
    }
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_ptr_nonnull(r);
    }
    /* 800000 bytes at 1000 a partition: at most 800 switches (the first
     * choice is generation 1); fewer when bytes counted against a token
     * that just went stale are dropped, but never many fewer */
    uint64_t gens = atomic_load(&s.cur) >> 32;
    ck_assert_uint_le(gens, 801);
    ck_assert_uint_ge(gens, 200);
    kfk__sticky_destroy(&s);
}
END_TEST

static Suite *partitioner_suite(void)
{
    Suite *s = suite_create("partitioner");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, keyed_java_mapping);
    tcase_add_test(tc, keyed_all_partitions_and_null);
    tcase_add_test(tc, user_callback);
    tcase_add_test(tc, sticky_switching);
    tcase_add_test(tc, availability_skipping);
    tcase_add_test(tc, adaptive_weighting);
    tcase_add_test(tc, set_load_nomem);
    tcase_add_test(tc, threads);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(partitioner_suite)
