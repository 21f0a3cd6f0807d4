/*
 * bench_producer.c: kfk's producer and librdkafka's, side by side, doing
 * the same work against the same in-process reference broker: N records
 * of 100-byte values, no keys, acks=all, idempotent, linger.ms 5, with a
 * given compression. Reports records/s, MB/s and process CPU seconds per
 * million records. The broker runs in the same process, so its CPU is in
 * both clients' numbers alike (it does the same work for either). Not a
 * test: numbers go to docs/PERFORMANCE.md.
 *
 *   bench_producer [--records N] [--compression none|lz4|...] [--only kfk|rdkafka]
 */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kfk/broker.h>
#include <kfk/producer.h>

#include "net/loop.h"

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct result {
    double secs, cpu;
    long failed;
} result;

static long kfk_failed;

static void kfk_dr(kfk_t *k, const kfk_delivery_t *d, void *opaque)
{
    (void)k;
    (void)opaque;
    if (d->err)
        kfk_failed++;
}

static result run_kfk(const char *bootstrap, long n, const char *codec)
{
    kfk_conf_t *conf = kfk_conf_new();
    char err[512];
    kfk_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    kfk_conf_set(conf, "linger.ms", "5", err, sizeof(err));
    kfk_conf_set(conf, "compression.type", codec, err, sizeof(err));
    kfk_conf_set_delivery_cb(conf, kfk_dr, NULL);
    kfk_t *k = kfk_producer_new(conf, err, sizeof(err));
    kfk_conf_destroy(conf);
    if (!k) {
        fprintf(stderr, "kfk: %s\n", err);
        exit(1);
    }
    char val[100];
    memset(val, 'x', sizeof(val));
    kfk_record_t r = {.topic = "bench", .partition = KFK_PARTITION_ANY, .value = val,
                      .value_len = sizeof(val)};
    kfk_failed = 0;
    double c0 = cpu_seconds();
    int64_t t0 = kfk__now_us();
    for (long i = 0; i < n; i++) {
        if (kfk_produce(k, &r, 0))
            kfk_failed++;
        if ((i & 4095) == 0)
            kfk_poll(k, 0);
    }
    kfk_flush(k, -1);
    result res = {(double)(kfk__now_us() - t0) / 1e6, cpu_seconds() - c0, kfk_failed};
    kfk_destroy(k);
    return res;
}

static long rd_failed;

static void rd_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        rd_failed++;
}

static result run_rdkafka(const char *bootstrap, long n, const char *codec)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof(err));
    rd_kafka_conf_set(conf, "acks", "all", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
    rd_kafka_conf_set(conf, "compression.codec", codec, err, sizeof(err));
    rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err, sizeof(err));
    rd_kafka_conf_set_dr_msg_cb(conf, rd_dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "librdkafka: %s\n", err);
        exit(1);
    }
    /* The classic API: rd_kafka_producev's macros need GNU extensions. */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, "bench", NULL);
    char val[100];
    memset(val, 'x', sizeof(val));
    rd_failed = 0;
    double c0 = cpu_seconds();
    int64_t t0 = kfk__now_us();
    for (long i = 0; i < n; i++) {
        while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, val,
                                sizeof(val), NULL, 0, NULL) == -1)
            rd_kafka_poll(rk, 10);
        if ((i & 4095) == 0)
            rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 600000);
    result res = {(double)(kfk__now_us() - t0) / 1e6, cpu_seconds() - c0, rd_failed};
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return res;
}

int main(int argc, char **argv)
{
    long n = 2000000;
    const char *codec = "none", *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--records") && i + 1 < argc)
            n = atol(argv[++i]);
        else if (!strcmp(argv[i], "--compression") && i + 1 < argc)
            codec = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_producer [--records N] [--compression C] "
                            "[--only kfk|rdkafka]\n");
            return 2;
        }
    }
    char err[256];
    static const char *const props[] = {"retention.bytes=-1", "log.level=3", NULL};
    kfk_cluster_t *c = kfk_cluster_new(props, err, sizeof(err));
    if (!c || kfk_cluster_create_topic(c, "bench", 6, 1)) {
        fprintf(stderr, "bench_producer: %s\n", err);
        return 1;
    }
    printf("%ld records x 100 B, acks=all, idempotent, linger.ms=5, compression=%s\n", n, codec);
    printf("client      records/s      MB/s   process CPU s/M records (incl. broker)  failed\n");
    if (!only || !strcmp(only, "kfk")) {
        result r = run_kfk(kfk_cluster_bootstrap(c), n, codec);
        printf("kfk       %11.0f  %8.1f   %8.2f  %ld\n", (double)n / r.secs,
               (double)n * 100 / r.secs / 1048576, r.cpu / ((double)n / 1e6), r.failed);
    }
    if (!only || !strcmp(only, "rdkafka")) {
        result r = run_rdkafka(kfk_cluster_bootstrap(c), n, codec);
        printf("librdkafka %10.0f  %8.1f   %8.2f  %ld\n", (double)n / r.secs,
               (double)n * 100 / r.secs / 1048576, r.cpu / ((double)n / 1e6), r.failed);
    }
    kfk_cluster_destroy(c);
    return 0;
}
