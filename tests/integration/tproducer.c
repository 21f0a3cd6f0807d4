/*
 * tproducer.c: shared producer test helpers (see tproducer.h).
 */
#include "tproducer.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/record.h"
#include "tclient.h"

static void on_dr(kfk_t *k, const kfk_delivery_t *d, void *opaque)
{
    tracker *t = opaque;
    (void)k;
    intptr_t i = (intptr_t)d->opaque;
    ck_assert(i >= 0 && i < TP_N);
    t->reports[i]++;
    t->partition[i] = d->partition;
    t->offset[i] = d->offset;
    t->err[i] = d->err;
    if (d->err) {
        t->errors++;
        t->last_err = d->err;
    }
}

kfk_t *tp_producer_conf(kfk_cluster_t *cl, kfk_conf_t *conf, tracker *t,
                        const char *const *extra)
{
    char err[512];
    ck_assert_int_eq(kfk_conf_set(conf, "bootstrap.servers", kfk_cluster_bootstrap(cl), err,
                                  sizeof(err)),
                     0);
    ck_assert_int_eq(kfk_conf_set(conf, "linger.ms", "2", err, sizeof(err)), 0);
    ck_assert_int_eq(kfk_conf_set(conf, "retry.backoff.ms", "10", err, sizeof(err)), 0);
    for (int i = 0; extra && extra[i]; i += 2)
        ck_assert_msg(kfk_conf_set(conf, extra[i], extra[i + 1], err, sizeof(err)) == 0, "%s",
                      err);
    kfk_conf_set_delivery_cb(conf, on_dr, t);
    kfk_t *k = kfk_producer_new(conf, err, sizeof(err));
    kfk_conf_destroy(conf);
    ck_assert_msg(k, "%s", err);
    return k;
}

kfk_t *tp_producer(kfk_cluster_t *cl, tracker *t, const char *const *extra)
{
    return tp_producer_conf(cl, kfk_conf_new(), t, extra);
}

void tp_produce_range(kfk_t *k, const char *topic, int from, int to, bool keyed)
{
    for (int i = from; i < to; i++) {
        char key[16], val[32];
        snprintf(key, sizeof(key), "key-%d", i % 50);
        snprintf(val, sizeof(val), "value-%d", i);
        kfk_record_t r = {.topic = topic, .partition = KFK_PARTITION_ANY,
                          .key = keyed ? key : NULL, .key_len = strlen(key),
                          .value = val, .value_len = strlen(val),
                          .opaque = (void *)(intptr_t)i};
        kfk_err_t e = kfk_produce(k, &r, 0);
        ck_assert_msg(e == 0, "produce %d: %s", i, kfk_err_name(e));
        if (i % 500 == 0)
            kfk_poll(k, 0);
    }
}

typedef struct log_check {
    int *seen;
    int last_per_key[50];
    int64_t next_offset;
    int count;
} log_check;

static void check_record(const kfk__record *rec, void *arg)
{
    log_check *lc = arg;
    if (rec->offset < lc->next_offset)
        return; /* the head of a batch fetched from its middle */
    int i = atoi((const char *)rec->value + 6);
    ck_assert(i >= 0 && i < TP_N);
    lc->seen[i]++;
    if (rec->key_len > 0) {
        int key = atoi((const char *)rec->key + 4);
        ck_assert_msg(i > lc->last_per_key[key], "key %d out of order", key);
        lc->last_per_key[key] = i;
    }
    lc->next_offset = rec->offset + 1;
    lc->count++;
}

/* Reads a whole partition back into seen[]. Returns the record count. */
static int check_log(kfk_cluster_t *cl, const char *topic, int32_t partition, int *seen)
{
    tclient t;
    ck_assert_int_eq(tclient_connect_nth(&t, kfk_cluster_bootstrap(cl),
                                         kfk_cluster_leader(cl, topic, partition)),
                     0);
    int64_t end = 0;
    kfk_cluster_offsets(cl, topic, partition, NULL, &end);
    log_check lc = {.seen = seen};
    for (int i = 0; i < 50; i++)
        lc.last_per_key[i] = -1;
    while (lc.next_offset < end) {
        int64_t before = lc.next_offset;
        kfk__fetch_response *r = tclient_fetch(&t, topic, partition, lc.next_offset, 1 << 20);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(r->responses.v[0].partitions.v[0].error_code, 0);
        ck_assert_int_ge(
            tclient_each_record(r->responses.v[0].partitions.v[0].records, check_record, &lc), 0);
        ck_assert_int_gt(lc.next_offset, before);
    }
    tclient_close(&t);
    return lc.count;
}

int tp_count_stored(kfk_cluster_t *cl, const char *topic, int partitions, int *seen)
{
    memset(seen, 0, TP_N * sizeof(*seen));
    int total = 0;
    for (int p = 0; p < partitions; p++)
        total += check_log(cl, topic, p, seen);
    return total;
}

void tp_check_exactly_once(kfk_cluster_t *cl, const char *topic, int partitions, tracker *t)
{
    static int seen[TP_N];
    ck_assert_int_eq(tp_count_stored(cl, topic, partitions, seen), TP_N);
    for (int i = 0; i < TP_N; i++) {
        ck_assert_msg(t->reports[i] == 1, "record %d reported %d times", i, t->reports[i]);
        ck_assert_msg(seen[i] == 1, "record %d stored %d times", i, seen[i]);
    }
}
