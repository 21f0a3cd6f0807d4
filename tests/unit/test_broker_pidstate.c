/*
 * test_broker_pidstate.c: the idempotent-producer rules of the reference
 * broker (src/broker/pidstate.c): sequences, the five-batch dedup window,
 * epochs, wrap-around, expiry, and rebuilding from a reopened log.
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/log.h"
#include "broker/pidstate.h"
#include "check_main.h"
#include "common/alloc.h"
#include "proto/record.h"

#define NOW 1700000000000LL
#define PID 1000

static kfk__pidstate *new_ps(void)
{
    kfk__pidstate *ps;
    ck_assert_int_eq(kfk__pidstate_new(&ps), 0);
    return ps;
}

/* check + record as the Produce handler would, with offsets from *next.
 * Returns check's error; *dup tells whether it was a duplicate. */
static int produce(kfk__pidstate *ps, int64_t pid, int16_t epoch, int32_t seq,
                   int32_t count, int64_t *next, kfk__pid_dup *dup)
{
    int err = kfk__pidstate_check(ps, pid, epoch, seq, count, dup);
    if (err || dup->duplicate)
        return err;
    ck_assert_int_eq(
        kfk__pidstate_record(ps, pid, epoch, seq, count, *next, NOW, NOW), 0);
    *next += count;
    return 0;
}

START_TEST(test_non_idempotent_bypass)
{
    kfk__pidstate *ps = new_ps();
    kfk__pid_dup dup;
    ck_assert_int_eq(kfk__pidstate_check(ps, -1, -1, -1, 5, &dup), 0);
    ck_assert(!dup.duplicate);
    ck_assert_int_eq(kfk__pidstate_record(ps, -1, -1, -1, 5, 0, NOW, NOW), 0);
    ck_assert_int_eq(kfk__pidstate_count(ps), 0);
    kfk__pidstate_free(ps);
    kfk__pidstate_free(NULL);
}
END_TEST

START_TEST(test_sequences)
{
    kfk__pidstate *ps = new_ps();
    kfk__pid_dup dup;
    int64_t next = 0;
    /* no state: must start at 0 */
    ck_assert_int_eq(produce(ps, PID, 0, 5, 1, &next, &dup),
                     KFK_ERR_UNKNOWN_PRODUCER_ID);
    ck_assert_int_eq(kfk__pidstate_count(ps), 0);
    ck_assert_int_eq(produce(ps, PID, 0, 0, 3, &next, &dup), 0); /* 0..2 */
    ck_assert_int_eq(produce(ps, PID, 0, 3, 2, &next, &dup), 0); /* 3..4 */
    ck_assert(!dup.duplicate);
    /* a gap, a step back */
    ck_assert_int_eq(produce(ps, PID, 0, 6, 1, &next, &dup),
                     KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(ps, PID, 0, 4, 1, &next, &dup),
                     KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* an overlapping batch that is not an exact duplicate */
    ck_assert_int_eq(produce(ps, PID, 0, 3, 1, &next, &dup),
                     KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(ps, PID, 0, 5, 0, &next, &dup),
                     KFK_ERR_INVALID_RECORD);
    kfk__pid_info info;
    ck_assert(kfk__pidstate_get(ps, PID, &info));
    ck_assert_int_eq(info.epoch, 0);
    ck_assert_int_eq(info.last_seq, 4);
    ck_assert_int_eq(info.last_offset, 4);
    ck_assert_int_eq(info.nbatches, 2);
    ck_assert(!kfk__pidstate_get(ps, PID + 1, &info));
    /* producers are independent */
    ck_assert_int_eq(produce(ps, PID + 1, 0, 0, 1, &next, &dup), 0);
    ck_assert_int_eq(produce(ps, PID, 0, 5, 1, &next, &dup), 0);
    ck_assert_int_eq(kfk__pidstate_count(ps), 2);
    kfk__pidstate_free(ps);
}
END_TEST

START_TEST(test_dedup_window)
{
    kfk__pidstate *ps = new_ps();
    kfk__pid_dup dup;
    int64_t next = 100;
    for (int i = 0; i < 6; i++) /* batches seq 0-1, 2-3, ..., 10-11 */
        ck_assert_int_eq(produce(ps, PID, 2, 2 * i, 2, &next, &dup), 0);
    /* the last five are duplicates, answered with their first offsets */
    for (int i = 1; i < 6; i++) {
        ck_assert_int_eq(kfk__pidstate_check(ps, PID, 2, 2 * i, 2, &dup), 0);
        ck_assert(dup.duplicate);
        ck_assert_int_eq(dup.base_offset, 100 + 2 * i);
        ck_assert_int_eq(dup.last_offset, 101 + 2 * i);
        ck_assert_int_eq(dup.timestamp, NOW);
    }
    /* the sixth-oldest fell out of the window */
    ck_assert_int_eq(kfk__pidstate_check(ps, PID, 2, 0, 2, &dup),
                     KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert(!dup.duplicate);
    /* a duplicate needs the same epoch */
    ck_assert_int_eq(kfk__pidstate_check(ps, PID, 1, 10, 2, &dup),
                     KFK_ERR_INVALID_PRODUCER_EPOCH);
    /* and the same range */
    ck_assert_int_eq(kfk__pidstate_check(ps, PID, 2, 10, 1, &dup),
                     KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* the next one in order is new */
    ck_assert_int_eq(kfk__pidstate_check(ps, PID, 2, 12, 2, &dup), 0);
    ck_assert(!dup.duplicate);
    kfk__pidstate_free(ps);
}
END_TEST

START_TEST(test_epochs)
{
    kfk__pidstate *ps = new_ps();
    kfk__pid_dup dup;
    int64_t next = 0;
    ck_assert_int_eq(produce(ps, PID, 3, 0, 5, &next, &dup), 0);
    ck_assert_int_eq(produce(ps, PID, 3, 5, 5, &next, &dup), 0);
    /* fenced: an older epoch */
    ck_assert_int_eq(produce(ps, PID, 2, 10, 1, &next, &dup),
                     KFK_ERR_INVALID_PRODUCER_EPOCH);
    /* a newer epoch must restart at 0 */
    ck_assert_int_eq(produce(ps, PID, 4, 10, 1, &next, &dup),
                     KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(ps, PID, 4, 0, 2, &next, &dup), 0);
    kfk__pid_info info;
    ck_assert(kfk__pidstate_get(ps, PID, &info));
    ck_assert_int_eq(info.epoch, 4);
    ck_assert_int_eq(info.nbatches, 1); /* the old epoch's window is gone */
    ck_assert_int_eq(info.last_seq, 1);
    /* the old epoch's batches are no duplicates any more */
    ck_assert_int_eq(kfk__pidstate_check(ps, PID, 3, 5, 5, &dup),
                     KFK_ERR_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(produce(ps, PID, 4, 2, 1, &next, &dup), 0);
    /* a marker with a newer epoch bumps it too */
    ck_assert_int_eq(kfk__pidstate_record_marker(ps, PID, 5, NOW), 0);
    ck_assert(kfk__pidstate_get(ps, PID, &info));
    ck_assert_int_eq(info.epoch, 5);
    ck_assert_int_eq(info.last_seq, -1);
    ck_assert_int_eq(produce(ps, PID, 5, 3, 1, &next, &dup),
                     KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(ps, PID, 5, 0, 1, &next, &dup), 0);
    kfk__pidstate_free(ps);
}
END_TEST

START_TEST(test_wrap_around)
{
    kfk__pidstate *ps = new_ps();
    kfk__pid_dup dup;
    int64_t next = 0;
    ck_assert_int_eq(produce(ps, PID, 0, 0, 1, &next, &dup), 0);
    /* jump the state close to the end (as a long-lived producer gets) */
    ck_assert_int_eq(
        kfk__pidstate_record(ps, PID, 0, INT32_MAX - 3, 2, next, NOW, NOW),
        0); /* seq MAX-3 .. MAX-2 */
    next += 2;
    /* MAX-1, MAX, 0, 1: a batch crossing the wrap */
    ck_assert_int_eq(produce(ps, PID, 0, INT32_MAX - 1, 4, &next, &dup), 0);
    kfk__pid_info info;
    ck_assert(kfk__pidstate_get(ps, PID, &info));
    ck_assert_int_eq(info.last_seq, 1);
    ck_assert_int_eq(kfk__pidstate_check(ps, PID, 0, INT32_MAX - 1, 4, &dup),
                     0);
    ck_assert(dup.duplicate);
    ck_assert_int_eq(produce(ps, PID, 0, 3, 1, &next, &dup),
                     KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(ps, PID, 0, 2, 1, &next, &dup), 0);
    /* a batch ending exactly at INT32_MAX is followed by 0 */
    kfk__pidstate *ps2 = new_ps();
    next = 0;
    ck_assert_int_eq(produce(ps2, PID, 0, 0, 1, &next, &dup), 0);
    kfk__pidstate_record(ps2, PID, 0, INT32_MAX, 1, next++, NOW, NOW);
    ck_assert_int_eq(produce(ps2, PID, 0, 1, 1, &next, &dup),
                     KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(ps2, PID, 0, 0, 1, &next, &dup), 0);
    kfk__pidstate_free(ps);
    kfk__pidstate_free(ps2);
}
END_TEST

typedef struct seen {
    int n;
    int64_t sum;
} seen;

static void count_cb(const kfk__pid_info *info, void *arg)
{
    seen *s = arg;
    s->n++;
    s->sum += info->producer_id;
}

START_TEST(test_many_producers_expiry)
{
    kfk__pidstate *ps = new_ps();
    kfk__pid_dup dup;
    for (int64_t pid = 0; pid < 3000; pid++) {
        ck_assert_int_eq(kfk__pidstate_check(ps, pid, 0, 0, 1, &dup), 0);
        /* even producers were last active long ago */
        int64_t t = pid % 2 ? NOW : NOW - 2 * KFK__PIDSTATE_EXPIRATION_MS;
        ck_assert_int_eq(kfk__pidstate_record(ps, pid, 0, 0, 1, pid, t, t), 0);
    }
    ck_assert_int_eq(kfk__pidstate_count(ps), 3000);
    ck_assert_int_eq(kfk__pidstate_expire(ps, NOW, KFK__PIDSTATE_EXPIRATION_MS),
                     1500);
    ck_assert_int_eq(kfk__pidstate_count(ps), 1500);
    kfk__pid_info info;
    for (int64_t pid = 0; pid < 3000; pid++) {
        ck_assert(kfk__pidstate_get(ps, pid, &info) == (pid % 2 == 1));
        if (pid % 2)
            ck_assert_int_eq(info.last_offset, pid);
    }
    /* an expired producer has no state: sequence 1 is unknown now */
    ck_assert_int_eq(kfk__pidstate_check(ps, 2, 0, 1, 1, &dup),
                     KFK_ERR_UNKNOWN_PRODUCER_ID);
    ck_assert_int_eq(kfk__pidstate_check(ps, 3, 0, 1, 1, &dup), 0);

    /* producers whose last batch is below the log start go */
    ck_assert_int_eq(kfk__pidstate_truncate_head(ps, 1001), 500);
    seen s = {0, 0};
    kfk__pidstate_foreach(ps, count_cb, &s);
    ck_assert_int_eq(s.n, 1000);
    ck_assert(!kfk__pidstate_get(ps, 999, &info));
    ck_assert(kfk__pidstate_get(ps, 1001, &info));
    ck_assert_int_eq(kfk__pidstate_expire(ps, NOW * 2, 0), 1000);
    ck_assert_int_eq(kfk__pidstate_count(ps), 0);
    kfk__pidstate_free(ps);
}
END_TEST

START_TEST(test_nomem)
{
    kfk__pidstate *ps = new_ps();
    kfk__pid_dup dup;
    kfk__alloc_fail_after(0);
    ck_assert_int_eq(kfk__pidstate_check(ps, PID, 0, 0, 1, &dup),
                     KFK_ERR__NOMEM);
    kfk__alloc_fail_after(-1);
    /* after a successful check, record cannot fail */
    ck_assert_int_eq(kfk__pidstate_check(ps, PID, 0, 0, 1, &dup), 0);
    kfk__alloc_fail_after(0);
    ck_assert_int_eq(kfk__pidstate_record(ps, PID, 0, 0, 1, 0, NOW, NOW), 0);
    kfk__alloc_fail_after(-1);
    ck_assert_int_eq(kfk__pidstate_count(ps), 1);
    kfk__pidstate_free(ps);
}
END_TEST

/* ---- rebuilding from the log ------------------------------------------ */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

/* Appends an idempotent batch of count records to log and records it,
 * as the Produce path does. Returns check's error. */
static int produce_log(kfk__plog *log, kfk__pidstate *ps, int64_t pid,
                       int16_t epoch, int32_t seq, int32_t count,
                       kfk__pid_dup *dup)
{
    kfk__batch_opts o;
    kfk__batch_writer bw;
    kfk__wbuf w;
    kfk__plog_append_info ai;
    int err = kfk__pidstate_check(ps, pid, epoch, seq, count, dup);
    if (err || dup->duplicate)
        return err;
    kfk__batch_opts_init(&o);
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    kfk__wbuf_init(&w, 0);
    kfk__batch_begin(&bw, &w, &o);
    for (int i = 0; i < count; i++)
        kfk__batch_append(&bw, NOW, "k", 1, "v", 1, NULL, 0);
    ck_assert_int_eq(kfk__batch_finish(&bw, NULL), 0);
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, w.len, 0, KFK__PLOG_CLIENT, NOW, &ai), 0);
    kfk__wbuf_free(&w);
    ck_assert_int_eq(kfk__pidstate_record(ps, pid, epoch, seq, count,
                                          ai.base_offset, ai.max_timestamp,
                                          NOW),
                     0);
    return 0;
}

START_TEST(test_rebuild_after_restart)
{
    char tmp[64], dir[80];
    strcpy(tmp, "/tmp/kfk-test-pid-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(dir, sizeof(dir), "%s/t-0", tmp);
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.segment_bytes = 400;
    kfk__plog *log;
    ck_assert_int_eq(kfk__plog_open(dir, &conf, NOW, &log), 0);
    kfk__pidstate *ps = new_ps();
    kfk__pid_dup dup;
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(produce_log(log, ps, PID, 1, 3 * i, 3, &dup), 0);
        ck_assert_int_eq(produce_log(log, ps, PID + 1, 0, i, 1, &dup), 0);
    }
    /* a marker bumps PID + 2's epoch; it wrote nothing else */
    kfk__batch_opts o;
    kfk__wbuf w;
    kfk__batch_opts_init(&o);
    o.producer_id = PID + 2;
    o.producer_epoch = 7;
    kfk__wbuf_init(&w, 0);
    kfk__batch_write_marker(&w, &o, NOW, KFK__CONTROL_ABORT, 0);
    ck_assert_int_eq(kfk__plog_append(log, w.data, w.len, 0,
                                      KFK__PLOG_COORDINATOR, NOW, NULL),
                     0);
    kfk__wbuf_free(&w);
    kfk__plog_close(log);
    kfk__pidstate_free(ps);

    ck_assert_int_eq(kfk__plog_open(dir, &conf, NOW, &log), 0);
    ps = new_ps();
    ck_assert_int_eq(kfk__pidstate_rebuild(ps, log, NOW + 5), 0);
    ck_assert_int_eq(kfk__pidstate_count(ps), 3);
    kfk__pid_info info;
    ck_assert(kfk__pidstate_get(ps, PID, &info));
    ck_assert_int_eq(info.epoch, 1);
    ck_assert_int_eq(info.last_seq, 23);
    ck_assert_int_eq(info.nbatches, 5);
    ck_assert_int_eq(info.last_active_ms, NOW + 5);
    ck_assert(kfk__pidstate_get(ps, PID + 2, &info));
    ck_assert_int_eq(info.epoch, 7);
    /* a retried batch is still recognised, with its original offsets */
    ck_assert_int_eq(kfk__pidstate_check(ps, PID, 1, 21, 3, &dup), 0);
    ck_assert(dup.duplicate);
    ck_assert_int_eq(dup.base_offset, 28);
    ck_assert_int_eq(kfk__pidstate_check(ps, PID, 1, 6, 3, &dup),
                     KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce_log(log, ps, PID, 1, 24, 1, &dup), 0);
    ck_assert_int_eq(produce_log(log, ps, PID + 1, 0, 8, 1, &dup), 0);

    /* after a truncation the rebuild forgets the lost batches */
    ck_assert_int_eq(kfk__plog_truncate_to(log, 28, NULL), 0);
    ck_assert_int_eq(kfk__pidstate_rebuild(ps, log, NOW), 0);
    ck_assert(kfk__pidstate_get(ps, PID, &info));
    ck_assert_int_eq(info.last_seq, 20);
    ck_assert(!kfk__pidstate_get(ps, PID + 2, &info));
    /* and one from the log start on */
    ck_assert_int_eq(kfk__plog_delete_records(log, 27, NULL), 0);
    ck_assert_int_eq(kfk__pidstate_rebuild(ps, log, NOW), 0);
    ck_assert_int_eq(kfk__pidstate_count(ps), 1);
    ck_assert(kfk__pidstate_get(ps, PID + 1, &info));
    ck_assert_int_eq(info.last_seq, 6);

    kfk__pidstate_free(ps);
    kfk__plog_close(log);
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

static Suite *pidstate_suite(void)
{
    Suite *s = suite_create("broker_pidstate");
    TCase *tc = tcase_create("pidstate");
    tcase_add_test(tc, test_non_idempotent_bypass);
    tcase_add_test(tc, test_sequences);
    tcase_add_test(tc, test_dedup_window);
    tcase_add_test(tc, test_epochs);
    tcase_add_test(tc, test_wrap_around);
    tcase_add_test(tc, test_many_producers_expiry);
    tcase_add_test(tc, test_nomem);
    tcase_add_test(tc, test_rebuild_after_restart);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(pidstate_suite)
