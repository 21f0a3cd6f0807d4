/*
 * test_crc32c.c: CRC-32C known answers, and the SSE4.2 path against the
 * table path on random data of every small length, many large ones and
 * every alignment.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "proto/crc32c.h"

/* Deterministic xorshift so failures reproduce. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)next_rand();
}

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static void check_vectors(crc_fn f)
{
    uint8_t buf[32];

    ck_assert_uint_eq(f(0, "Some String", 11), 608512271u); /* Kafka */
    ck_assert_uint_eq(f(0, "123456789", 9), 0xe3069283u);   /* check value */
    ck_assert_uint_eq(f(0, NULL, 0), 0);
    ck_assert_uint_eq(f(0, "a", 1), 0xc1d04330u);
    /* RFC 3720 (iSCSI), appendix B.4 */
    memset(buf, 0, sizeof(buf));
    ck_assert_uint_eq(f(0, buf, 32), 0x8a9136aau);
    memset(buf, 0xff, sizeof(buf));
    ck_assert_uint_eq(f(0, buf, 32), 0x62a8ab43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    ck_assert_uint_eq(f(0, buf, 32), 0x46dd794eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    ck_assert_uint_eq(f(0, buf, 32), 0x113fdb5cu);
}

START_TEST(vectors_dispatch)
{
    check_vectors(kfk__crc32c);
}
END_TEST

START_TEST(vectors_sw)
{
    check_vectors(kfk__crc32c_sw);
}
END_TEST

START_TEST(vectors_hw)
{
    if (!kfk__crc32c_hw_available())
        return; /* this CPU has no SSE4.2: the sw tests cover dispatch */
    check_vectors(kfk__crc32c_hw);
}
END_TEST

/* The same bytes must give the same CRC whatever the split. */
static void check_incremental(crc_fn f, const uint8_t *p, size_t n)
{
    uint32_t whole = f(0, p, n);
    for (size_t cut = 0; cut <= n; cut += 1 + cut / 3)
        ck_assert_uint_eq(f(f(0, p, cut), p + cut, n - cut), whole);
}

START_TEST(incremental)
{
    size_t n = 3 * 8192 * 2 + 1000;
    uint8_t *p = malloc(n);
    fill_random(p, n);
    check_incremental(kfk__crc32c_sw, p, n);
    check_incremental(kfk__crc32c, p, n);
    if (kfk__crc32c_hw_available())
        check_incremental(kfk__crc32c_hw, p, n);
    free(p);
}
END_TEST

/* Lengths around each code path's boundaries: the byte loops, 8-byte
 * steps, 3 x 256 and 3 x 8192 interleaved blocks. */
static const size_t big_lens[] = {
    767,   768,   769,   775,   776,    1535,   1536,        1543,
    24575, 24576, 24577, 24583, 24584,  25344,  49151,       49152,
    49153, 65536, 73728, 99999, 100000, 262144, 1048576 + 13};

START_TEST(hw_matches_sw)
{
    if (!kfk__crc32c_hw_available())
        return;
    size_t max = 1048576 + 64;
    uint8_t *p = malloc(max + 8);
    fill_random(p, max + 8);
    for (size_t align = 0; align < 8; align++) {
        for (size_t n = 0; n <= 1100; n++) {
            uint32_t seed = (uint32_t)next_rand();
            ck_assert_uint_eq(kfk__crc32c_hw(seed, p + align, n),
                              kfk__crc32c_sw(seed, p + align, n));
        }
        for (size_t i = 0; i < sizeof(big_lens) / sizeof(big_lens[0]); i++) {
            size_t n = big_lens[i];
            ck_assert_uint_eq(kfk__crc32c_hw(0, p + align, n),
                              kfk__crc32c_sw(0, p + align, n));
        }
    }
    for (int i = 0; i < 300; i++) {
        size_t n = next_rand() % max, off = next_rand() % 8;
        uint32_t seed = (uint32_t)next_rand();
        ck_assert_uint_eq(kfk__crc32c_hw(seed, p + off, n),
                          kfk__crc32c_sw(seed, p + off, n));
    }
    free(p);
}
END_TEST

START_TEST(dispatch_matches_sw)
{
    uint8_t p[5000];
    fill_random(p, sizeof(p));
    for (size_t n = 0; n < sizeof(p); n += 7)
        ck_assert_uint_eq(kfk__crc32c(1, p, n), kfk__crc32c_sw(1, p, n));
}
END_TEST

static Suite *crc32c_suite(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120); /* sanitizer builds are slow */
    tcase_add_test(tc, vectors_dispatch);
    tcase_add_test(tc, vectors_sw);
    tcase_add_test(tc, vectors_hw);
    tcase_add_test(tc, incremental);
    tcase_add_test(tc, hw_matches_sw);
    tcase_add_test(tc, dispatch_matches_sw);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(crc32c_suite)
