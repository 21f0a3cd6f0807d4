/*
 * bench_accumulator.c: how fast the producer's record accumulator takes
 * records and hands out batches, without a network.
 *
 *   pipeline  N application threads append 100-byte records (no key, so
 *             the sticky partitioner chooses; or --explicit: each thread
 *             its own partition) while one thread plays the I/O thread
 *             (ready, drain, complete) and serves the delivery reports.
 *             Reported: appends/s over all threads.
 *   append    one thread appends into an accumulator large enough that
 *             nothing has to leave: the append path alone.
 *   drain     ready + drain + complete + reports of what append left:
 *             batches/s and MB/s of record batches (uncompressed MB).
 *
 *   bench_accumulator [--json] [--seconds S] [--value-size N]
 *                     [--partitions N] [--codec none|gzip|snappy|lz4|zstd]
 *                     [--explicit] [--threads N]
 *
 * --threads N runs the pipeline with N threads only (and nothing else).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "producer/accumulator.h"

typedef struct opts {
    bool json, explicit_part;
    double seconds;
    int value_size;
    int partitions;
    int codec;
    int threads; /* 0: 1 and 2 */
} opts;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t now_ms(void)
{
    return (int64_t)(now_s() * 1000);
}

static int32_t leader(void *arg, const char *topic, int32_t partition)
{
    (void)arg;
    (void)topic;
    return partition % 3; /* three brokers */
}

static uint8_t values[65536];

static kfk__accum *make(const opts *o, int64_t memory, kfk__accum_topic **t)
{
    kfk__accum_params p;
    kfk__accum_params_init(&p);
    p.codec = o->codec;
    p.buffer_memory = memory;
    p.delivery_timeout_ms = INT32_MAX;
    kfk__accum *acc;
    if (kfk__accum_new(&acc, &p) || kfk__accum_topic_get(acc, "bench", t) ||
        kfk__accum_topic_set_partitions(*t, o->partitions))
        abort();
    kfk__accum_set_producer(acc, 1, 0);
    return acc;
}

/* One I/O pass: what is ready is drained and completed at once. Returns
 * batches drained; adds their bytes to *bytes. */
static long io_pass(kfk__accum *acc, kfk__zctx *z, int64_t *log_end,
                    double *bytes)
{
    kfk__accum_readiness r;
    int64_t now = now_ms();
    long n = 0;
    kfk__accum_ready(acc, now, leader, NULL, &r);
    for (size_t i = 0; i < r.node_cnt; i++) {
        kfk__pbatch *l, *next;
        kfk__accum_drain_node(acc, r.nodes[i], 1 << 20, now, z, &l);
        for (; l; l = next) {
            next = l->next;
            *bytes += (double)l->size;
            int64_t base = log_end[l->partition];
            log_end[l->partition] += l->count;
            kfk__accum_complete_ok(acc, l, base, -1);
            n++;
        }
    }
    kfk__accum_poll(acc, 0, NULL, NULL);
    return n;
}

/* ---- pipeline ------------------------------------------------------------ */

typedef struct pipeline {
    const opts *o;
    kfk__accum *acc;
    kfk__accum_topic *t;
    atomic_bool stop;
    atomic_long appended;
} pipe_t;

typedef struct prod {
    pipe_t *p;
    int idx;
} prod;

static void *producer(void *arg)
{
    prod *a = arg;
    pipe_t *p = a->p;
    long n = 0;
    kfk__accum_rec r = {
        .key_len = -1, .value = values, .value_len = p->o->value_size};
    int32_t part =
        p->o->explicit_part ? a->idx % p->o->partitions : KFK__PARTITION_ANY;
    while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
        for (int i = 0; i < 256; i++) {
            kfk__accum_result res;
            r.timestamp = 1700000000000 + n;
            int err = kfk__accum_append(p->acc, p->t, part, &r, now_ms(), &res);
            if (err == KFK_ERR__QUEUE_FULL) {
                kfk__accum_wait_memory(p->acc, res.need, now_ms() + 100);
                continue;
            }
            if (err)
                abort();
            n++;
        }
    }
    atomic_fetch_add(&p->appended, n);
    return NULL;
}

static double run_pipeline(const opts *o, int threads)
{
    pipe_t p = {.o = o};
    p.acc = make(o, 32 << 20, &p.t);
    pthread_t th[16];
    prod a[16];
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        a[i] = (prod){&p, i};
        pthread_create(&th[i], NULL, producer, &a[i]);
    }
    kfk__zctx *z;
    kfk__zctx_new(&z);
    int64_t *log_end = calloc((size_t)o->partitions, sizeof(*log_end));
    double bytes = 0;
    while (now_s() - t0 < o->seconds) {
        if (!io_pass(p.acc, z, log_end, &bytes)) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
    atomic_store(&p.stop, true);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double t = now_s() - t0;
    kfk__accum_close(p.acc);
    while (kfk__accum_pending(p.acc) > 0)
        io_pass(p.acc, z, log_end, &bytes);
    kfk__zctx_destroy(z);
    free(log_end);
    kfk__accum_destroy(p.acc);
    return (double)atomic_load(&p.appended) / t;
}

/* ---- append alone, then drain alone -------------------------------------- */

typedef struct split {
    double append_rps;
    double drain_bps; /* batches/s */
    double drain_mbs;
    double drain_rps;
} split;

static void run_split(const opts *o, split *s)
{
    double app_t = 0, drain_t = 0, bytes = 0, recs = 0;
    long batches = 0;
    kfk__zctx *z;
    kfk__zctx_new(&z);
    int64_t *log_end = calloc((size_t)o->partitions, sizeof(*log_end));
    double start = now_s();
    while (now_s() - start < o->seconds) {
        kfk__accum_topic *t;
        kfk__accum *acc = make(o, (int64_t)1 << 30, &t);
        kfk__accum_rec r = {
            .key_len = -1, .value = values, .value_len = o->value_size};
        long n = 0;
        int64_t ms = now_ms();
        double t0 = now_s();
        for (int k = 0; k < 200000; k++) {
            r.timestamp = 1700000000000 + k;
            if (kfk__accum_append(acc, t, KFK__PARTITION_ANY, &r, ms, NULL))
                abort();
            n++;
        }
        double t1 = now_s();
        kfk__accum_flush_begin(acc);
        long b;
        while ((b = io_pass(acc, z, log_end, &bytes)))
            batches += b;
        double t2 = now_s();
        app_t += t1 - t0;
        drain_t += t2 - t1;
        recs += (double)n;
        kfk__accum_destroy(acc);
    }
    kfk__zctx_destroy(z);
    free(log_end);
    s->append_rps = recs / app_t;
    s->drain_bps = (double)batches / drain_t;
    s->drain_mbs = bytes / drain_t / 1e6;
    s->drain_rps = recs / drain_t;
}

static void parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof(*o));
    o->seconds = 1.0;
    o->value_size = 100;
    o->partitions = 6;
    o->codec = KFK__CODEC_NONE;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            o->json = true;
        } else if (!strcmp(argv[i], "--explicit")) {
            o->explicit_part = true;
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            o->seconds = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--value-size") && i + 1 < argc) {
            o->value_size = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            o->threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--partitions") && i + 1 < argc) {
            o->partitions = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--codec") && i + 1 < argc) {
            kfk__codec c;
            if (kfk__codec_from_name(argv[++i], &c))
                goto usage;
            o->codec = c;
        } else {
            goto usage;
        }
    }
    if (o->seconds <= 0 || o->value_size < 0 || o->threads < 0 ||
        o->threads > 16 || o->value_size > (int)sizeof(values) ||
        o->partitions < 1)
        goto usage;
    return;
usage:
    fprintf(stderr,
            "usage: %s [--json] [--seconds S] [--value-size N] "
            "[--partitions N] [--codec NAME] [--explicit] [--threads N]\n",
            argv[0]);
    exit(2);
}

int main(int argc, char **argv)
{
    opts o;
    parse_args(argc, argv, &o);
    for (size_t i = 0; i < sizeof(values); i++)
        values[i] = (uint8_t) "kafka accumulator bench "[i % 24];
    if (o.threads) {
        double r = run_pipeline(&o, o.threads);
        printf(o.json ? "{\"pipeline_%d_threads_rps\": %.0f}\n"
                      : "pipeline, %d threads: %.0f appends/s\n",
               o.threads, r);
        return 0;
    }
    double one = run_pipeline(&o, 1);
    double two = run_pipeline(&o, 2);
    split s;
    run_split(&o, &s);
    if (o.json) {
        printf("{\"value_size\": %d, \"partitions\": %d, \"codec\": \"%s\", "
               "\"explicit\": %s, \"pipeline_1_thread_rps\": %.0f, "
               "\"pipeline_2_threads_rps\": %.0f, \"append_rps\": %.0f, "
               "\"drain_batches_ps\": %.0f, \"drain_MBps\": %.1f, "
               "\"drain_rps\": %.0f}\n",
               o.value_size, o.partitions, kfk__codec_name(o.codec),
               o.explicit_part ? "true" : "false", one, two, s.append_rps,
               s.drain_bps, s.drain_mbs, s.drain_rps);
        return 0;
    }
    printf("accumulator: %d-byte values, %d partitions, %s, %s\n", o.value_size,
           o.partitions, kfk__codec_name(o.codec),
           o.explicit_part ? "one partition per thread" : "sticky partitioner");
    printf("  pipeline, 1 thread    %12.0f appends/s\n", one);
    printf("  pipeline, 2 threads   %12.0f appends/s\n", two);
    printf("  append alone          %12.0f appends/s\n", s.append_rps);
    printf("  drain alone           %12.0f batches/s  %8.1f MB/s  %12.0f "
           "records/s\n",
           s.drain_bps, s.drain_mbs, s.drain_rps);
    return 0;
}
