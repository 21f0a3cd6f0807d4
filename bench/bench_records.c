/*
 * bench_records.c: how fast the record layer encodes and decodes a
 * typical batch (1000 records, 8-byte-ish keys, 100-byte values) with
 * each codec, plus CRC-32C on its own. Decoding includes the CRC check and
 * touches every record, as a consumer does. MB/s counts the uncompressed
 * batch bytes (MB = 10^6 bytes).
 *
 *   bench_records [--json] [--records N] [--value-size N] [--seconds S]
 *                 [--random]
 *
 * Values are word salad (compressible like real text payloads); --random
 * makes them incompressible.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/compress.h"
#include "proto/crc32c.h"
#include "proto/record.h"

typedef struct opts {
    bool json;
    bool random;
    int records;
    int value_size;
    double seconds;
} opts;

typedef struct result {
    const char *name;
    double enc_mbs, enc_rps, dec_mbs, dec_rps;
    size_t plain, wire;
} result;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint8_t *make_values(const opts *o)
{
    static const char *words[] = {
        "user", "id", "event", "click", "page", "2024",  "ok",   "session",
        "{",    "}",  ":",     "\"",    ",",    "value", "true", "null"};
    size_t n = (size_t)o->records * (size_t)o->value_size;
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n;) {
        if (o->random) {
            p[i++] = (uint8_t)next_rand();
            continue;
        }
        const char *w = words[next_rand() % 16];
        for (; *w && i < n; w++)
            p[i++] = (uint8_t)*w;
    }
    return p;
}

static int encode(kfk__wbuf *w, kfk__zctx *z, int codec, const opts *o,
                  const uint8_t *values, char keys[][16])
{
    kfk__batch_writer bw;
    kfk__batch_opts bo;
    kfk__batch_opts_init(&bo);
    bo.codec = codec;
    kfk__wbuf_reset(w);
    int err = kfk__batch_begin(&bw, w, &bo);
    for (int i = 0; !err && i < o->records; i++)
        err = kfk__batch_append(
            &bw, 1700000000000LL + i, keys[i], (int32_t)strlen(keys[i]),
            values + (size_t)i * (size_t)o->value_size, o->value_size, NULL, 0);
    return err ? err : kfk__batch_finish(&bw, z);
}

/* Parses, checks the CRC, iterates every record; returns the sum of the
 * value lengths (so the work cannot be optimised away) or -1. */
static long decode(const kfk__wbuf *w, kfk__zctx *z, kfk__wbuf *buf)
{
    kfk__batch b;
    kfk__rec_iter it;
    kfk__record r;
    long sum = 0;
    if (kfk__batch_parse(w->data, w->len, &b) || kfk__batch_check_crc(&b) ||
        kfk__rec_iter_init(&it, &b, z, buf, (size_t)64 << 20))
        return -1;
    int rc;
    while ((rc = kfk__rec_iter_next(&it, &r)) == 1)
        sum += r.value_len + r.key_len;
    return rc ? -1 : sum;
}

static void run_codec(int codec, const opts *o, const uint8_t *values,
                      char keys[][16], result *res)
{
    kfk__zctx *z;
    kfk__wbuf w, buf;
    long iters = 0;
    kfk__zctx_new(&z);
    kfk__wbuf_init(&w, 0);
    kfk__wbuf_init(&buf, 0);
    res->name = kfk__codec_name(codec);

    /* the uncompressed size, for MB/s */
    if (encode(&w, z, KFK__CODEC_NONE, o, values, keys))
        abort();
    res->plain = w.len;

    double t0 = now(), t;
    do {
        if (encode(&w, z, codec, o, values, keys))
            abort();
        iters++;
    } while ((t = now() - t0) < o->seconds);
    res->wire = w.len;
    res->enc_mbs = (double)res->plain * (double)iters / t / 1e6;
    res->enc_rps = (double)o->records * (double)iters / t;

    iters = 0;
    t0 = now();
    do {
        if (decode(&w, z, &buf) < 0)
            abort();
        iters++;
    } while ((t = now() - t0) < o->seconds);
    res->dec_mbs = (double)res->plain * (double)iters / t / 1e6;
    res->dec_rps = (double)o->records * (double)iters / t;

    kfk__wbuf_free(&w);
    kfk__wbuf_free(&buf);
    kfk__zctx_destroy(z);
}

static double crc_mbs(uint32_t (*f)(uint32_t, const void *, size_t),
                      const uint8_t *p, size_t n, double seconds)
{
    long iters = 0;
    uint32_t acc = 0;
    double t0 = now(), t;
    do {
        acc ^= f(acc, p, n);
        iters++;
    } while ((t = now() - t0) < seconds);
    if (acc == 0x12345678u) /* keep acc alive */
        puts("");
    return (double)n * (double)iters / t / 1e6;
}

static void parse_args(int argc, char **argv, opts *o)
{
    o->json = o->random = false;
    o->records = 1000;
    o->value_size = 100;
    o->seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            o->json = true;
        else if (!strcmp(argv[i], "--random"))
            o->random = true;
        else if (!strcmp(argv[i], "--records") && i + 1 < argc)
            o->records = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--value-size") && i + 1 < argc)
            o->value_size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            o->seconds = atof(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--json] [--records N] [--value-size N] "
                    "[--seconds S] [--random]\n",
                    argv[0]);
            exit(2);
        }
    }
    if (o->records < 1 || o->value_size < 0 || o->seconds <= 0) {
        fprintf(stderr, "%s: bad arguments\n", argv[0]);
        exit(2);
    }
}

static void print_results(const opts *o, const result *res, double hw,
                          double sw)
{
    if (o->json) {
        printf("{\"records\": %d, \"value_size\": %d, \"random\": %s, "
               "\"crc32c_hw_MBps\": %.0f, \"crc32c_sw_MBps\": %.0f, "
               "\"codecs\": [",
               o->records, o->value_size, o->random ? "true" : "false", hw, sw);
        for (int c = 0; c < KFK__CODEC_COUNT; c++)
            printf("%s{\"codec\": \"%s\", \"batch_bytes\": %zu, "
                   "\"wire_bytes\": %zu, \"encode_MBps\": %.1f, "
                   "\"encode_records_per_s\": %.0f, \"decode_MBps\": %.1f, "
                   "\"decode_records_per_s\": %.0f}",
                   c ? ", " : "", res[c].name, res[c].plain, res[c].wire,
                   res[c].enc_mbs, res[c].enc_rps, res[c].dec_mbs,
                   res[c].dec_rps);
        printf("]}\n");
        return;
    }
    printf("%d records x %d-byte values (%s), batch %zu bytes\n", o->records,
           o->value_size, o->random ? "random" : "text", res[0].plain);
    printf("CRC-32C: %.0f MB/s (SSE4.2), %.0f MB/s (tables)\n\n", hw, sw);
    printf("%-7s %10s %11s %13s %11s %13s\n", "codec", "wire B", "enc MB/s",
           "enc rec/s", "dec MB/s", "dec rec/s");
    for (int c = 0; c < KFK__CODEC_COUNT; c++)
        printf("%-7s %10zu %11.1f %13.0f %11.1f %13.0f\n", res[c].name,
               res[c].wire, res[c].enc_mbs, res[c].enc_rps, res[c].dec_mbs,
               res[c].dec_rps);
}

int main(int argc, char **argv)
{
    opts o;
    result res[KFK__CODEC_COUNT];
    parse_args(argc, argv, &o);
    uint8_t *values = make_values(&o);
    char(*keys)[16] = malloc((size_t)o.records * sizeof(*keys));
    for (int i = 0; i < o.records; i++)
        snprintf(keys[i], sizeof(keys[i]), "key-%d", i);

    for (int c = 0; c < KFK__CODEC_COUNT; c++)
        run_codec(c, &o, values, keys, &res[c]);
    double hw =
        kfk__crc32c_hw_available()
            ? crc_mbs(kfk__crc32c_hw, values,
                      (size_t)o.records * (size_t)o.value_size, o.seconds)
            : 0;
    double sw = crc_mbs(kfk__crc32c_sw, values,
                        (size_t)o.records * (size_t)o.value_size, o.seconds);
    print_results(&o, res, hw, sw);
    free(keys);
    free(values);
    return 0;
}
