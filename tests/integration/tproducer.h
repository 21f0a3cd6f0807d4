/*
 * tproducer.h: what the producer integration tests share: a tracker of
 * delivery reports per record, a producer on the test cluster, and a
 * check that reads every partition back and finds each record exactly
 * once, in key order.
 */
#ifndef KFK_TESTS_TPRODUCER_H
#define KFK_TESTS_TPRODUCER_H

#include <stdbool.h>

#include <kfk/broker.h>
#include <kfk/producer.h>

#define TP_N 3000

typedef struct tracker {
    int reports[TP_N];
    int32_t partition[TP_N];
    int64_t offset[TP_N];
    int errors;
    kfk_err_t last_err;
    kfk_err_t err[TP_N];
} tracker;

/* A producer on cl with linger.ms 2, retry.backoff.ms 10, the extra
 * name/value pairs (NULL-terminated), and reports counted in t. */
kfk_t *tp_producer(kfk_cluster_t *cl, tracker *t, const char *const *extra);

/* The same for a conf the test set up (callbacks, say); destroys conf. */
kfk_t *tp_producer_conf(kfk_cluster_t *cl, kfk_conf_t *conf, tracker *t,
                        const char *const *extra);

/* Produces records from..to-1: value "value-i", opaque i, key "key-(i%50)"
 * if keyed. */
void tp_produce_range(kfk_t *k, const char *topic, int from, int to, bool keyed);

/* Every record 0..TP_N-1 reported once and stored once, in key order. */
void tp_check_exactly_once(kfk_cluster_t *cl, const char *topic, int partitions,
                           tracker *t);

/* How many times each record 0..TP_N-1 is stored (seen[i]); returns the
 * record count. Checks key order. */
int tp_count_stored(kfk_cluster_t *cl, const char *topic, int partitions, int *seen);

#endif
