/*
 * test_perf_run.c: the measuring half of `kfk perf produce`
 * (tools/perf_run.c): the latency histogram's percentiles are within 1%
 * of the exact ones, the flags parse or fail as documented, and each
 * value carries its send time in its first 8 bytes.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "perf_run.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(hist_small_values_exact)
{
    static perf_hist h;
    memset(&h, 0, sizeof(h));
    for (int64_t v = 1; v <= 100; v++)
        perf_hist_add(&h, v);
    ck_assert(perf_hist_quantile(&h, 0.50) == 50.0);
    ck_assert(perf_hist_quantile(&h, 0.99) == 99.0);
    ck_assert(perf_hist_quantile(&h, 1.0) == 100.0);
    ck_assert_int_eq(h.max, 100);
}
END_TEST

/* Log-uniform values from 1 us to 100 s: every quantile within 1%. */
START_TEST(hist_quantiles_within_one_percent)
{
    enum { N = 200000 };
    static perf_hist h;
    memset(&h, 0, sizeof(h));
    int64_t *v = malloc(N * sizeof(*v));
    ck_assert_ptr_nonnull(v);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v[i] = (int64_t)exp((double)(x % 1000000) / 1000000 * log(1e8));
        perf_hist_add(&h, v[i]);
    }
    qsort(v, N, sizeof(*v), cmp_i64);
    static const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0};
    double prev = 0;
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        double exact = (double)v[(size_t)ceil(qs[i] * N) - 1];
        double got = perf_hist_quantile(&h, qs[i]);
        ck_assert_msg(fabs(got - exact) <= exact / 100, "q %g: %g, exact %g", qs[i], got, exact);
        ck_assert_msg(got >= prev, "q %g: %g below the quantile before it (%g)", qs[i], got, prev);
        prev = got;
    }
    ck_assert(perf_hist_quantile(&h, 1.0) <= (double)v[N - 1]);
    ck_assert_int_eq(h.max, v[N - 1]);
    free(v);
}
END_TEST

START_TEST(hist_empty_and_huge)
{
    static perf_hist h;
    memset(&h, 0, sizeof(h));
    ck_assert(perf_hist_quantile(&h, 0.5) == 0);
    perf_hist_add(&h, INT64_MAX / 4); /* clamped into the last bucket */
    ck_assert(perf_hist_quantile(&h, 0.5) <= (double)(INT64_MAX / 4));
    ck_assert_int_eq(h.n, 1);
}
END_TEST

static int parse(perf_opts *o, const char *line)
{
    static char buf[512];
    static char *argv[32];
    snprintf(buf, sizeof(buf), "%s", line);
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 32; t = strtok(NULL, " "))
        argv[argc++] = t;
    return perf_parse(o, "test", argc, argv);
}

START_TEST(flags)
{
    perf_opts o;
    ck_assert_int_eq(parse(&o, "p -b h:1 -t t -n 5 -s 64 -r 1000.5 -z lz4 -a 1 -X a=b -X c=d=e "
                               "--json -q"),
                     -1);
    ck_assert_str_eq(o.bootstrap, "h:1");
    ck_assert_str_eq(o.topic, "t");
    ck_assert_int_eq(o.count, 5);
    ck_assert_int_eq(o.size, 64);
    ck_assert(o.rate == 1000.5);
    ck_assert_str_eq(o.codec, "lz4");
    ck_assert_str_eq(o.acks, "1");
    ck_assert_int_eq(o.nprops, 2);
    ck_assert_str_eq(o.props[1][0], "c");
    ck_assert_str_eq(o.props[1][1], "d=e");
    ck_assert(o.json && o.quiet);

    ck_assert_int_eq(parse(&o, "p -b h:1 -t t -n 5"), -1);
    ck_assert_int_eq(o.size, 100); /* the default */
    ck_assert(o.rate == 0 && !o.codec && !o.json);

    static const char *const bad[] = {
        "p -t t -n 5",          "p -b h:1 -n 5",      "p -b h:1 -t t",
        "p -b h:1 -t t -n 0",   "p -b h:1 -t t -n x", "p -b h:1 -t t -n 5 -s 7",
        "p -b h:1 -t t -n 5 -r -1", "p -b h:1 -t t -n 5 -X a", "p -b h:1 -t t -n 5 --x",
        "p -b h:1 -t t -n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(parse(&o, bad[i]) == 2, "%s", bad[i]);
    ck_assert_int_eq(parse(&o, "p --help"), 0);
}
END_TEST

START_TEST(value_carries_send_time)
{
    perf_opts o;
    ck_assert_int_eq(parse(&o, "p -b h:1 -t t -n 5 -s 50"), -1);
    perf_run r;
    ck_assert_int_eq(perf_run_init(&r, &o, "test", "0"), 0);
    perf_start(&r);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t wall = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    char first[50];
    memcpy(first, perf_next_value(&r, perf_now_us()), sizeof(first));
    uint64_t sent = 0;
    for (int b = 0; b < 8; b++)
        sent = sent << 8 | (unsigned char)first[b];
    ck_assert_msg(llabs((long long)sent - (long long)wall) < 5000000, "sent %llu, now %lld",
                  (unsigned long long)sent, (long long)wall);
    char *second = perf_next_value(&r, perf_now_us());
    ck_assert(memcmp(first + 8, second + 8, sizeof(first) - 8) != 0);
    ck_assert_int_eq(r.sent, 2);
    /* The opaque round trip: a report right away has a tiny latency. */
    perf_delivered(&r, perf_opaque(&r, perf_now_us()), NULL);
    perf_delivered(&r, perf_opaque(&r, perf_now_us()), "SOME_ERROR");
    ck_assert_int_eq(r.delivered, 1);
    ck_assert_int_eq(r.failed, 1);
    ck_assert_int_eq(r.lat.n, 1);
    ck_assert(r.lat.max < 1000000);
    ck_assert_str_eq(r.err_names[0], "SOME_ERROR");
    perf_run_free(&r);
}
END_TEST

static Suite *perf_run_suite(void)
{
    Suite *s = suite_create("perf_run");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, hist_small_values_exact);
    tcase_add_test(tc, hist_quantiles_within_one_percent);
    tcase_add_test(tc, hist_empty_and_huge);
    tcase_add_test(tc, flags);
    tcase_add_test(tc, value_carries_send_time);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(perf_run_suite)
