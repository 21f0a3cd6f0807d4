/*
 * bench_codec.c: how fast the descriptor-driven codec (src/proto/codec.c)
 * encodes and decodes the messages that dominate a client's traffic.
 *
 *   produce   Produce request v11: 1 topic x 10 partitions, each carrying
 *             one record batch of 1000 x 100-byte records (opaque bytes,
 *             so this measures the envelope plus copying the records)
 *   fetch     Fetch response v16: the same 10 batches
 *   metadata  Metadata response v12: 100 topics x 10 partitions,
 *             3 replicas each, 5 brokers (all structure, no payload)
 *
 * Encoding writes into a reused kfk__wbuf; decoding allocates from an arena
 * that is freed after every message, as a real caller does. Each case runs
 * --runs times for about --seconds each; the table shows the median run's
 * operations/s and MB/s (MB = 10^6 bytes of encoded message). Decoding
 * points records at the input instead of copying them, so for produce and
 * fetch the decode MB/s is the envelope's speed, not a copy bandwidth.
 *
 *   bench_codec [--json] [--seconds S] [--runs N]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/codec.h"
#include "proto/gen/all.h"

#define PARTITIONS 10
#define RECORDS 1000
#define VALUE_SIZE 100
#define MD_TOPICS 100
#define MD_PARTITIONS 10
#define MD_BROKERS 5

typedef struct opts {
    bool json;
    double seconds;
    int runs;
} opts;

typedef struct result {
    const char *name;
    size_t bytes;
    double enc_ops, dec_ops; /* medians */
} result;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "bench_codec: out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- test messages ------------------------------------------------------- */

static size_t put_varint(uint8_t *p, int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    while (u >= 0x80) {
        p[n++] = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    p[n++] = (uint8_t)u;
    return n;
}

/* A magic-2 batch laid out like a producer's (CRC left zero: the codec
 * never looks inside). */
static kfk__bytes make_batch(uint8_t **mem)
{
    uint8_t *b = xcalloc(1, 61 + (size_t)RECORDS * (VALUE_SIZE + 16));
    size_t n = 61;
    for (int i = 0; i < RECORDS; i++) {
        uint8_t rec[VALUE_SIZE + 16];
        size_t r = 0;
        rec[r++] = 0;                     /* attributes */
        r += put_varint(rec + r, i);      /* timestamp delta */
        r += put_varint(rec + r, i);      /* offset delta */
        r += put_varint(rec + r, -1);     /* key: null */
        r += put_varint(rec + r, VALUE_SIZE);
        for (int k = 0; k < VALUE_SIZE; k++)
            rec[r++] = (uint8_t)('a' + (i + k) % 26);
        r += put_varint(rec + r, 0);      /* headers */
        n += put_varint(b + n, (int64_t)r);
        memcpy(b + n, rec, r);
        n += r;
    }
    kfk__store_be32(b + 8, (uint32_t)(n - 12));  /* batchLength */
    b[16] = 2;                                   /* magic */
    kfk__store_be32(b + 23, RECORDS - 1);        /* lastOffsetDelta */
    kfk__store_be32(b + 57, RECORDS);            /* record count */
    kfk__bytes out = {b, (int32_t)n};
    *mem = b;
    return out;
}

static void *make_produce(kfk__bytes batch)
{
    kfk__produce_request *rq = xcalloc(1, sizeof(*rq));
    kfk__msg_init(&kfk__desc_produce_request, rq);
    kfk__produce_request_topic_produce_data *t = xcalloc(1, sizeof(*t));
    kfk__produce_request_partition_produce_data *p = xcalloc(PARTITIONS, sizeof(*p));
    for (int i = 0; i < PARTITIONS; i++) {
        p[i].index = i;
        p[i].records = batch;
    }
    t->name = KFK__STR("bench-topic");
    t->partition_data.v = p;
    t->partition_data.n = PARTITIONS;
    rq->acks = -1;
    rq->timeout_ms = 30000;
    rq->topic_data.v = t;
    rq->topic_data.n = 1;
    return rq;
}

static void *make_fetch(kfk__bytes batch)
{
    kfk__fetch_response *rs = xcalloc(1, sizeof(*rs));
    kfk__msg_init(&kfk__desc_fetch_response, rs);
    kfk__fetch_response_fetchable_topic_response *t = xcalloc(1, sizeof(*t));
    kfk__struct_init(&kfk__fetch_response_fetchable_topic_response_desc, t);
    kfk__fetch_response_partition_data *p = xcalloc(PARTITIONS, sizeof(*p));
    for (int i = 0; i < PARTITIONS; i++) {
        kfk__struct_init(&kfk__fetch_response_partition_data_desc, &p[i]);
        p[i].partition_index = i;
        p[i].high_watermark = 1000000 + i;
        p[i].last_stable_offset = 1000000 + i;
        p[i].log_start_offset = 0;
        p[i].records = batch;
    }
    memset(t->topic_id.b, 0x42, sizeof(t->topic_id.b));
    t->partitions.v = p;
    t->partitions.n = PARTITIONS;
    rs->session_id = 12345;
    rs->responses.v = t;
    rs->responses.n = 1;
    return rs;
}

static void *make_metadata(void)
{
    static int32_t replicas[MD_BROKERS][3];
    kfk__metadata_response *rs = xcalloc(1, sizeof(*rs));
    kfk__msg_init(&kfk__desc_metadata_response, rs);
    kfk__metadata_response_broker *b = xcalloc(MD_BROKERS, sizeof(*b));
    for (int i = 0; i < MD_BROKERS; i++) {
        b[i].node_id = i;
        b[i].host = KFK__STR("broker-0.kafka.example.internal");
        b[i].port = 9092;
        b[i].rack = KFK__STR("rack-a");
        for (int k = 0; k < 3; k++)
            replicas[i][k] = (i + k) % MD_BROKERS;
    }
    kfk__metadata_response_topic *t = xcalloc(MD_TOPICS, sizeof(*t));
    for (int i = 0; i < MD_TOPICS; i++) {
        kfk__struct_init(&kfk__metadata_response_topic_desc, &t[i]);
        char *name = xcalloc(1, 32);
        int len = snprintf(name, 32, "service.events.topic-%03d", i);
        t[i].name.ptr = name;
        t[i].name.len = len;
        memset(t[i].topic_id.b, i + 1, sizeof(t[i].topic_id.b));
        kfk__metadata_response_partition *p = xcalloc(MD_PARTITIONS, sizeof(*p));
        for (int j = 0; j < MD_PARTITIONS; j++) {
            kfk__struct_init(&kfk__metadata_response_partition_desc, &p[j]);
            int lead = (i + j) % MD_BROKERS;
            p[j].partition_index = j;
            p[j].leader_id = lead;
            p[j].leader_epoch = 7;
            p[j].replica_nodes.v = replicas[lead];
            p[j].replica_nodes.n = 3;
            p[j].isr_nodes.v = replicas[lead];
            p[j].isr_nodes.n = 3;
        }
        t[i].partitions.v = p;
        t[i].partitions.n = MD_PARTITIONS;
    }
    rs->brokers.v = b;
    rs->brokers.n = MD_BROKERS;
    rs->cluster_id = KFK__STR("q1Sh-9_ISia_zwGINzRvyQ");
    rs->controller_id = 1;
    rs->topics.v = t;
    rs->topics.n = MD_TOPICS;
    return rs;
}

/* ---- timing -------------------------------------------------------------- */

typedef struct bench_case {
    const char *name;
    const kfk__msg_desc *d;
    int16_t version;
    const void *msg;
} bench_case;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, const bench_case *c, int rc)
{
    fprintf(stderr, "bench_codec: %s %s v%d failed: %d\n", what, c->name, c->version, rc);
    exit(1);
}

/* One run: as many operations as fit in `seconds`; returns ops/s. */
static double run_encode(const bench_case *c, kfk__wbuf *w, double seconds)
{
    long ops = 0;
    double start = now(), t;
    do {
        for (int i = 0; i < 16; i++) {
            kfk__wbuf_reset(w);
            int rc = kfk__encode(c->d, c->version, c->msg, w, NULL);
            if (rc)
                die("encode", c, rc);
        }
        ops += 16;
    } while ((t = now() - start) < seconds);
    return (double)ops / t;
}

static double run_decode(const bench_case *c, const kfk__wbuf *w, double seconds)
{
    long ops = 0;
    kfk__arena a;
    kfk__arena_init(&a, 0);
    double start = now(), t;
    do {
        for (int i = 0; i < 16; i++) {
            void *out;
            int rc = kfk__decode(c->d, c->version, w->data, w->len, &a, &out, NULL, NULL);
            if (rc)
                die("decode", c, rc);
            kfk__arena_free(&a);
        }
        ops += 16;
    } while ((t = now() - start) < seconds);
    return (double)ops / t;
}

static result measure(const bench_case *c, const opts *o)
{
    result r = {c->name, 0, 0, 0};
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    int rc = kfk__encode(c->d, c->version, c->msg, &w, NULL);
    if (rc)
        die("encode", c, rc);
    r.bytes = w.len;
    double *enc = xcalloc((size_t)o->runs, sizeof(double));
    double *dec = xcalloc((size_t)o->runs, sizeof(double));
    run_encode(c, &w, o->seconds / 4); /* warm up */
    run_decode(c, &w, o->seconds / 4);
    for (int i = 0; i < o->runs; i++) {
        enc[i] = run_encode(c, &w, o->seconds);
        dec[i] = run_decode(c, &w, o->seconds);
    }
    /* run_encode left w holding the message again. */
    r.enc_ops = median(enc, o->runs);
    r.dec_ops = median(dec, o->runs);
    free(enc);
    free(dec);
    kfk__wbuf_free(&w);
    return r;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_codec [--json] [--seconds S] [--runs N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    opts o = {false, 0.3, 7};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            o.json = true;
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            o.seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            o.runs = atoi(argv[++i]);
        else
            usage();
    }
    if (o.seconds <= 0 || o.runs < 1)
        usage();

    uint8_t *batch_mem;
    kfk__bytes batch = make_batch(&batch_mem);
    const bench_case cases[] = {
        {"produce_v11", &kfk__desc_produce_request, 11, make_produce(batch)},
        {"fetch_v16", &kfk__desc_fetch_response, 16, make_fetch(batch)},
        {"metadata_v12", &kfk__desc_metadata_response, 12, make_metadata()},
    };
    enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
    result res[NCASES];
    for (int i = 0; i < NCASES; i++)
        res[i] = measure(&cases[i], &o);

    if (o.json) {
        printf("{\"bench\": \"codec\", \"runs\": %d, \"seconds\": %g, \"results\": [", o.runs,
               o.seconds);
        for (int i = 0; i < NCASES; i++)
            printf("%s\n  {\"name\": \"%s\", \"bytes\": %zu, \"encode_ops\": %.1f, "
                   "\"encode_mbs\": %.1f, \"decode_ops\": %.1f, \"decode_mbs\": %.1f}",
                   i ? "," : "", res[i].name, res[i].bytes, res[i].enc_ops,
                   res[i].enc_ops * (double)res[i].bytes / 1e6, res[i].dec_ops,
                   res[i].dec_ops * (double)res[i].bytes / 1e6);
        printf("\n]}\n");
    } else {
        printf("codec throughput, median of %d runs of %.2fs (batch: %d records x %d B)\n",
               o.runs, o.seconds, RECORDS, VALUE_SIZE);
        printf("%-14s %10s %12s %10s %12s %10s\n", "message", "bytes", "encode/s", "enc MB/s",
               "decode/s", "dec MB/s");
        for (int i = 0; i < NCASES; i++)
            printf("%-14s %10zu %12.0f %10.1f %12.0f %10.1f\n", res[i].name, res[i].bytes,
                   res[i].enc_ops, res[i].enc_ops * (double)res[i].bytes / 1e6,
                   res[i].dec_ops, res[i].dec_ops * (double)res[i].bytes / 1e6);
        printf("(decode references record bytes in place: its MB/s for produce/fetch is "
               "envelope speed)\n");
    }
    free(batch_mem);
    return 0;
}
