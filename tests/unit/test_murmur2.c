/*
 * test_murmur2.c: the Java client's murmur2 test vectors (CLIENT-FACTS.md)
 * and the partitions they map to, so keyed records from kfk land where
 * records from a Java producer would.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "producer/murmur2.h"

static const struct {
    const char *key;
    int32_t hash;
} vectors[] = {
    {"21", -973932308},
    {"foobar", -790332482},
    {"a-little-bit-long-string", -985981536},
    {"a-little-bit-longer-string", -1486304829},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
    {"abc", 479470107},
};

#define N_VECTORS (sizeof(vectors) / sizeof(vectors[0]))

START_TEST(java_vectors)
{
    const char *key = vectors[_i].key;
    ck_assert_int_eq(kfk__murmur2(key, strlen(key)), vectors[_i].hash);
}
END_TEST

/* Expected partitions computed as (hash & 0x7fffffff) % n from the vectors
 * above; a negative hash must not give a negative partition. */
START_TEST(partition_mapping)
{
    static const struct {
        const char *key;
        int32_t cnt;
        int32_t partition;
    } cases[] = {
        {"21", 1, 0},
        {"21", 7, 3},
        {"21", 100, 40},
        {"foobar", 12, 6},
        {"foobar", 100, 66},
        {"a-little-bit-long-string", 3, 2},
        {"a-little-bit-long-string", 7, 1},
        {"a-little-bit-longer-string", 6, 5},
        {"a-little-bit-longer-string", 12, 11},
        {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 100, 77},
        {"abc", 6, 3},
        {"abc", 7, 4},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *key = cases[i].key;
        ck_assert_msg(kfk__murmur2_partition(key, strlen(key), cases[i].cnt) ==
                          cases[i].partition,
                      "key %s, %d partitions", key, (int)cases[i].cnt);
    }
}
END_TEST

START_TEST(partition_in_range)
{
    for (size_t i = 0; i < N_VECTORS; i++) {
        const char *key = vectors[i].key;
        for (int32_t n = 1; n <= 64; n++) {
            int32_t p = kfk__murmur2_partition(key, strlen(key), n);
            ck_assert_int_ge(p, 0);
            ck_assert_int_lt(p, n);
        }
    }
}
END_TEST

START_TEST(partition_bad_count)
{
    ck_assert_int_eq(kfk__murmur2_partition("abc", 3, 0), -1);
    ck_assert_int_eq(kfk__murmur2_partition("abc", 3, -5), -1);
}
END_TEST

/* The empty key hashes the length-0 array: seed ^ 0 through the finish
 * mix only (Java: Utils.murmur2(new byte[0]) == 275646681). A NULL pointer
 * with length 0 is the same key. */
START_TEST(empty_key)
{
    ck_assert_int_eq(kfk__murmur2("", 0), 275646681);
    ck_assert_int_eq(kfk__murmur2(NULL, 0), 275646681);
    ck_assert_int_eq(kfk__murmur2_partition(NULL, 0, 12), 9);
}
END_TEST

/* Only the len bytes count: the hash must not read past them. */
START_TEST(length_not_terminator)
{
    ck_assert_int_eq(kfk__murmur2("abcdef", 3), 479470107);
    ck_assert_int_eq(kfk__murmur2("21\0xyz", 2), -973932308);
}
END_TEST

static Suite *murmur2_suite(void)
{
    Suite *s = suite_create("murmur2");
    TCase *tc = tcase_create("murmur2");
    tcase_add_loop_test(tc, java_vectors, 0, (int)N_VECTORS);
    tcase_add_test(tc, partition_mapping);
    tcase_add_test(tc, partition_in_range);
    tcase_add_test(tc, partition_bad_count);
    tcase_add_test(tc, empty_key);
    tcase_add_test(tc, length_not_terminator);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(murmur2_suite)
