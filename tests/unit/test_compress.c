/*
 * test_compress.c: every codec round-trips every size; decompression
 * bombs stop at the cap without allocating past it; corrupt input is a
 * clean error; allocation failures are reported, never leaked; and the
 * bytes interoperate with the reference tools (gzip, lz4 and zstd CLIs,
 * python3-snappy) in both directions. A missing tool fails the test.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include "check_main.h"
#include "common/alloc.h"
#include "proto/compress.h"

#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)

enum { ZEROS, TEXT, RANDOM };

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Test data: zeros, repetitive text, or incompressible noise. */
static uint8_t *make_data(int kind, size_t n)
{
    static const char *words[] = {"kafka ",     "record ", "batch ", "offset ",
                                  "partition ", "topic ",  "leader "};
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n;) {
        if (kind == ZEROS) {
            p[i++] = 0;
        } else if (kind == RANDOM) {
            p[i++] = (uint8_t)next_rand();
        } else {
            const char *w = words[next_rand() % 7];
            for (; *w && i < n; w++)
                p[i++] = (uint8_t)*w;
        }
    }
    return p;
}

static void roundtrip(kfk__zctx *z, int codec, int level, const uint8_t *src,
                      size_t n)
{
    kfk__wbuf c, d;
    kfk__wbuf_init(&c, 0);
    kfk__wbuf_init(&d, 0);
    kfk__wr_raw(&c, "pre", 3); /* output is appended, not overwritten */
    ck_assert_int_eq(kfk__compress(z, codec, level, src, n, &c), 0);
    kfk__wr_raw(&d, "xy", 2);
    ck_assert_int_eq(kfk__decompress(z, codec, c.data + 3, c.len - 3, &d, n),
                     0);
    ck_assert_uint_eq(d.len, n + 2);
    ck_assert(!memcmp(d.data, "xy", 2));
    ck_assert(n == 0 || !memcmp(d.data + 2, src, n));
    if (n > 0) { /* one byte less room is too little */
        d.len = 2;
        ck_assert_int_eq(
            kfk__decompress(z, codec, c.data + 3, c.len - 3, &d, n - 1),
            KFK_ERR__TOO_LARGE);
        ck_assert_uint_eq(d.len, 2);
        ck_assert_int_eq(kfk__wbuf_err(&d), 0);
    }
    kfk__wbuf_free(&c);
    kfk__wbuf_free(&d);
}

static const size_t sizes[] = {0,     1,     2,         100,    4096, 32767,
                               32768, 32769, 65536 + 3, 200000, MiB};

START_TEST(roundtrip_all)
{
    int codec = _i;
    kfk__zctx *z;
    ck_assert_int_eq(kfk__zctx_new(&z), 0);
    for (int kind = ZEROS; kind <= RANDOM; kind++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            uint8_t *p = make_data(kind, sizes[i]);
            roundtrip(z, codec, KFK__LEVEL_DEFAULT, p, sizes[i]);
            roundtrip(NULL, codec, KFK__LEVEL_DEFAULT, p, sizes[i]);
            free(p);
        }
    }
    kfk__zctx_destroy(z);
}
END_TEST

START_TEST(levels)
{
    static const int gz[] = {0, 1, 9}, lz[] = {0, 1, 3, 9, 12, 17},
                     zs[] = {-5, 0, 1, 10, 19};
    uint8_t *p = make_data(TEXT, 300000);
    kfk__zctx *z;
    ck_assert_int_eq(kfk__zctx_new(&z), 0);
    for (size_t i = 0; i < 3; i++)
        roundtrip(z, KFK__CODEC_GZIP, gz[i], p, 300000);
    for (size_t i = 0; i < 6; i++)
        roundtrip(z, KFK__CODEC_LZ4, lz[i], p, 300000);
    for (size_t i = 0; i < 5; i++)
        roundtrip(z, KFK__CODEC_ZSTD, zs[i], p, 300000);
    /* bad levels and codecs */
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__compress(z, KFK__CODEC_GZIP, 10, p, 10, &w),
                     KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk__compress(z, KFK__CODEC_LZ4, 18, p, 10, &w),
                     KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk__compress(z, KFK__CODEC_ZSTD, 23, p, 10, &w),
                     KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk__compress(z, KFK__CODEC_SNAPPY, 1, p, 10, &w),
                     KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk__compress(z, 5, -1, p, 10, &w),
                     KFK_ERR__UNKNOWN_CODEC);
    ck_assert_int_eq(kfk__compress(z, -1, -1, p, 10, &w),
                     KFK_ERR__UNKNOWN_CODEC);
    ck_assert_int_eq(kfk__decompress(z, 7, p, 10, &w, 100),
                     KFK_ERR__UNKNOWN_CODEC);
    ck_assert_uint_eq(w.len, 0);
    kfk__wbuf_free(&w);
    kfk__zctx_destroy(z);
    free(p);
}
END_TEST

START_TEST(names)
{
    kfk__codec c;
    for (int i = 0; i < KFK__CODEC_COUNT; i++) {
        ck_assert_int_eq(kfk__codec_from_name(kfk__codec_name(i), &c), 0);
        ck_assert_int_eq((int)c, i);
    }
    ck_assert_str_eq(kfk__codec_name(KFK__CODEC_SNAPPY), "snappy");
    ck_assert_str_eq(kfk__codec_name(9), "unknown");
    ck_assert_int_eq(kfk__codec_from_name("brotli", &c),
                     KFK_ERR__UNKNOWN_CODEC);
    ck_assert_int_eq(kfk__codec_from_name(NULL, &c), KFK_ERR__UNKNOWN_CODEC);
}
END_TEST

/* ---- decompression bombs ---------------------------------------------- */

/* 1 GiB of zeros as one gzip member, built without compressing 1 GiB:
 * after a full flush deflate restarts from a clean state, so every further
 * 1 MiB chunk compresses to the same bytes; repeat them, then end with an
 * empty final block and the trailer for 1 GiB. chunks = 1024 gives 1 GiB. */
static uint8_t *gzip_zeros(size_t chunks, size_t *len)
{
    static uint8_t zero[1 << 20];
    size_t cap = 4 * MiB, n = 0;
    uint8_t *out = malloc(cap), *rep = malloc(64 * 1024);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(
        deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    for (int i = 0; i < 2; i++) { /* header + chunk, then the repeat unit */
        zs.next_in = zero;
        zs.avail_in = sizeof(zero);
        zs.next_out = i ? rep : out;
        zs.avail_out = 64 * 1024;
        ck_assert_int_eq(deflate(&zs, Z_FULL_FLUSH), Z_OK);
        ck_assert_uint_eq(zs.avail_in, 0);
        if (!i)
            n = 64 * 1024 - zs.avail_out;
    }
    size_t unit = 64 * 1024 - zs.avail_out;
    deflateEnd(&zs);
    uLong crc = crc32(0, zero, sizeof(zero)), one = crc;
    for (size_t i = 1; i < chunks; i++) {
        memcpy(out + n, rep, unit);
        n += unit;
        crc = crc32_combine(crc, one, sizeof(zero));
        ck_assert_uint_lt(n + unit + 16, cap);
    }
    uint32_t size = (uint32_t)(chunks * sizeof(zero)); /* ISIZE: mod 2^32 */
    uint8_t tail[10] = {0x03, 0x00}; /* final fixed block, just EOB */
    for (int i = 0; i < 4; i++) {
        tail[2 + i] = (uint8_t)(crc >> (8 * i));
        tail[6 + i] = (uint8_t)(size >> (8 * i));
    }
    memcpy(out + n, tail, sizeof(tail));
    *len = n + sizeof(tail);
    free(rep);
    return out;
}

static uint8_t *lz4_zeros(size_t total, size_t *len)
{
    static uint8_t zero[1 << 20];
    LZ4F_preferences_t prefs = LZ4F_INIT_PREFERENCES;
    prefs.frameInfo.blockMode = LZ4F_blockLinked; /* as the lz4 CLI */
    prefs.frameInfo.blockSizeID = LZ4F_max4MB;
    size_t step = LZ4F_compressBound(sizeof(zero), &prefs), n = 0;
    size_t cap = 6 * MiB + step;
    uint8_t *out = malloc(cap);
    LZ4F_cctx *c;
    ck_assert(!LZ4F_isError(LZ4F_createCompressionContext(&c, LZ4F_VERSION)));
    n = LZ4F_compressBegin(c, out, cap, &prefs);
    for (size_t done = 0; done < total; done += sizeof(zero)) {
        size_t rc =
            LZ4F_compressUpdate(c, out + n, cap - n, zero, sizeof(zero), NULL);
        ck_assert(!LZ4F_isError(rc));
        n += rc;
        ck_assert_uint_lt(n + step, cap);
    }
    n += LZ4F_compressEnd(c, out + n, cap - n, NULL);
    LZ4F_freeCompressionContext(c);
    *len = n;
    return out;
}

/* Streaming, so the frame says nothing about its content size. */
static uint8_t *zstd_zeros(size_t total, size_t *len)
{
    static uint8_t zero[1 << 20];
    size_t cap = MiB, n = 0;
    uint8_t *out = malloc(cap);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_inBuffer in = {zero, sizeof(zero), 0};
    for (size_t done = 0; done < total; done += sizeof(zero)) {
        in.pos = 0;
        while (in.pos < in.size) {
            ZSTD_outBuffer o = {out, cap, n};
            ck_assert(!ZSTD_isError(
                ZSTD_compressStream2(c, &o, &in, ZSTD_e_continue)));
            n = o.pos;
        }
    }
    in.size = in.pos = 0;
    ZSTD_outBuffer o = {out, cap, n};
    ck_assert_uint_eq(ZSTD_compressStream2(c, &o, &in, ZSTD_e_end), 0);
    ZSTD_freeCCtx(c);
    *len = o.pos;
    return out;
}

static long max_rss_kib(void)
{
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss;
}

/* Decompressing with a 1 MiB cap must fail with TOO_LARGE, leave the
 * output no bigger than the cap, and not touch much memory on the way
 * (the process's peak resident size grows by less than 32 MiB: a codec
 * that inflated the bomb would need 1 GiB). */
static void expect_bomb(int codec, const uint8_t *p, size_t n)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    long before = max_rss_kib();
    ck_assert_int_eq(kfk__decompress(NULL, codec, p, n, &w, MiB),
                     KFK_ERR__TOO_LARGE);
    ck_assert_int_lt(max_rss_kib() - before, 32 * 1024);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_uint_le(w.cap, MiB);
    kfk__wbuf_free(&w);
}

START_TEST(gzip_builder_is_valid)
{
    size_t n, got = 0;
    uint8_t *p = gzip_zeros(4, &n);
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__decompress(NULL, KFK__CODEC_GZIP, p, n, &w, 4 * MiB),
                     0);
    ck_assert_uint_eq(w.len, 4 * MiB);
    for (size_t i = 0; i < w.len; i++)
        got |= w.data[i];
    ck_assert_uint_eq(got, 0);
    kfk__wbuf_free(&w);
    free(p);
}
END_TEST

START_TEST(bombs)
{
    size_t n;
    uint8_t *p = gzip_zeros(1024, &n);
    ck_assert_uint_lt(n, 2 * MiB);
    expect_bomb(KFK__CODEC_GZIP, p, n);
    free(p);

    p = lz4_zeros(GiB, &n);
    ck_assert_uint_lt(n, 6 * MiB);
    expect_bomb(KFK__CODEC_LZ4, p, n);
    free(p);

    p = zstd_zeros(GiB, &n);
    ck_assert_uint_lt(n, MiB);
    expect_bomb(KFK__CODEC_ZSTD, p, n);
    free(p);
}
END_TEST

/* Snappy's best ratio is about 21:1, so an honest 1 GiB snappy bomb is
 * 48 MiB of input; what matters is that a block's stated size is checked
 * against the cap before anything is allocated, and that xerial blocks
 * stop at the cap. */
START_TEST(snappy_bombs)
{
    /* raw snappy whose preamble claims 1 GiB */
    uint8_t raw[64] = {0x80, 0x80, 0x80, 0x80, 0x04, 0x00};
    expect_bomb(KFK__CODEC_SNAPPY, raw, sizeof(raw));

    /* xerial with one block claiming 1 GiB */
    uint8_t xer[16 + 4 + 64] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
                                0,    0,   0,   1,   0,   0,   0,   1};
    xer[19] = 64;
    memcpy(xer + 20, raw, 64);
    expect_bomb(KFK__CODEC_SNAPPY, xer, sizeof(xer));

    /* xerial, 2 MiB of honest zero blocks */
    uint8_t *zero = make_data(ZEROS, 2 * MiB);
    kfk__wbuf c;
    kfk__wbuf_init(&c, 0);
    ck_assert_int_eq(
        kfk__compress(NULL, KFK__CODEC_SNAPPY, -1, zero, 2 * MiB, &c), 0);
    expect_bomb(KFK__CODEC_SNAPPY, c.data, c.len);
    kfk__wbuf_free(&c);
    free(zero);
}
END_TEST

/* The cap also holds when the output buffer already holds data, and a
 * buffer's own maximum is respected as TOO_LARGE. */
START_TEST(cap_with_prefix)
{
    uint8_t *p = make_data(TEXT, 100000);
    kfk__wbuf c, d;
    kfk__wbuf_init(&c, 0);
    kfk__wbuf_init(&d, 50000);
    kfk__wr_raw(&d, p, 1000);
    for (int codec = 0; codec < KFK__CODEC_COUNT; codec++) {
        c.len = 0;
        ck_assert_int_eq(kfk__compress(NULL, codec, -1, p, 100000, &c), 0);
        ck_assert_int_eq(kfk__decompress(NULL, codec, c.data, c.len, &d, MiB),
                         KFK_ERR__TOO_LARGE);
        ck_assert_uint_eq(d.len, 1000);
        ck_assert_uint_le(d.cap, 50000);
        ck_assert_uint_eq(d.max, 50000);
    }
    kfk__wbuf_free(&c);
    kfk__wbuf_free(&d);
    free(p);
}
END_TEST

/* ---- corrupt input ---------------------------------------------------- */

static void expect_clean(int codec, const uint8_t *p, size_t n, int must_fail)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    kfk__wr_raw(&w, "ab", 2);
    int err = kfk__decompress(NULL, codec, p, n, &w, 4 * MiB);
    if (must_fail)
        ck_assert_int_eq(err, KFK_ERR__COMPRESSION);
    ck_assert(err == 0 || err == KFK_ERR__COMPRESSION ||
              err == KFK_ERR__TOO_LARGE);
    if (err)
        ck_assert_uint_eq(w.len, 2);
    kfk__wbuf_free(&w);
}

START_TEST(corrupt)
{
    int codec = _i;
    uint8_t *p = make_data(TEXT, 60000);
    kfk__wbuf c;
    kfk__wbuf_init(&c, 0);
    ck_assert_int_eq(kfk__compress(NULL, codec, -1, p, 60000, &c), 0);

    expect_clean(codec, c.data, 0, 1); /* nothing is never valid */
    /* Every truncation fails, except snappy's xerial framing, which has
     * no end marker: a cut between blocks is a shorter valid stream. */
    for (size_t n = 1; n < c.len; n += 1 + n / 16)
        expect_clean(codec, c.data, n, codec != KFK__CODEC_SNAPPY);
    uint8_t *m = malloc(c.len);
    for (int i = 0; i < 1500; i++) {
        memcpy(m, c.data, c.len);
        for (int k = 0; k < 1 + i % 4; k++)
            m[next_rand() % c.len] ^= (uint8_t)(1 + next_rand() % 255);
        expect_clean(codec, m, c.len, 0);
    }
    uint8_t *junk = make_data(RANDOM, 5000);
    junk[0] = 0x10; /* a raw snappy preamble below the cap */
    expect_clean(codec, junk, 5000, 1);
    free(junk);
    free(m);
    free(p);
    kfk__wbuf_free(&c);
}
END_TEST

/* ---- allocation failures ---------------------------------------------- */

static void alloc_failures(int codec, int level, bool with_ctx)
{
    uint8_t *p = make_data(TEXT, 300000);
    kfk__wbuf c, d;
    int err = KFK_ERR__NOMEM;
    kfk__wbuf_init(&c, 0);
    kfk__wbuf_init(&d, 0);
    for (long n = 0; err; n++) {
        kfk__zctx *z = NULL;
        kfk__wbuf_free(&c);
        kfk__alloc_fail_after(n);
        err = with_ctx ? kfk__zctx_new(&z) : 0;
        if (!err)
            err = kfk__compress(z, codec, level, p, 300000, &c);
        kfk__alloc_fail_after(-1);
        ck_assert_msg(err == 0 || err == KFK_ERR__NOMEM, "n=%ld err=%d", n,
                      err);
        kfk__zctx_destroy(z);
        ck_assert_int_lt(n, 1000);
    }
    for (long n = 0, err2 = KFK_ERR__NOMEM; err2; n++) {
        kfk__zctx *z = NULL;
        kfk__wbuf_free(&d);
        kfk__alloc_fail_after(n);
        err2 = with_ctx ? kfk__zctx_new(&z) : 0;
        if (!err2)
            err2 = kfk__decompress(z, codec, c.data, c.len, &d, MiB);
        kfk__alloc_fail_after(-1);
        ck_assert_msg(err2 == 0 || err2 == KFK_ERR__NOMEM, "n=%ld err=%ld", n,
                      err2);
        if (!err2)
            ck_assert(d.len == 300000 && !memcmp(d.data, p, 300000));
        kfk__zctx_destroy(z);
        ck_assert_int_lt(n, 1000);
    }
    kfk__wbuf_free(&c);
    kfk__wbuf_free(&d);
    free(p);
}

START_TEST(nomem)
{
    int codec = _i;
    alloc_failures(codec, KFK__LEVEL_DEFAULT, true);
    alloc_failures(codec, KFK__LEVEL_DEFAULT, false);
    if (codec == KFK__CODEC_LZ4)
        alloc_failures(codec, 9, true); /* HC allocates its own state */
}
END_TEST

/* ---- lz4 in magic-0 messages ------------------------------------------ */

/* Reference XXH32 (seed 0), written from the spec, independent of the
 * library's short-input version. */
static uint32_t rotl(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint32_t xxh32(const uint8_t *p, size_t len)
{
    const uint32_t P1 = 2654435761u, P2 = 2246822519u, P3 = 3266489917u,
                   P4 = 668265263u, P5 = 374761393u;
    const uint8_t *end = p + len;
    uint32_t h;
    if (len >= 16) {
        uint32_t v[4] = {P1 + P2, P2, 0, 0u - P1};
        for (; end - p >= 16; p += 16)
            for (int i = 0; i < 4; i++)
                v[i] = rotl(v[i] + rd32(p + 4 * i) * P2, 13) * P1;
        h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
    } else {
        h = P5;
    }
    h += (uint32_t)len;
    for (; end - p >= 4; p += 4)
        h = rotl(h + rd32(p) * P3, 17) * P4;
    for (; p < end; p++)
        h = rotl(h + *p * P5, 11) * P1;
    h ^= h >> 15;
    h *= P2;
    h ^= h >> 13;
    h *= P3;
    return h ^ (h >> 16);
}

START_TEST(xxh32_reference)
{
    ck_assert_uint_eq(xxh32((const uint8_t *)"", 0), 0x02cc5d05u);
    ck_assert_uint_eq(xxh32((const uint8_t *)"abc", 3), 0x32d153ffu);
}
END_TEST

START_TEST(lz4_legacy_checksum)
{
    uint8_t *p = make_data(TEXT, 100000);
    kfk__wbuf c, d;
    kfk__wbuf_init(&c, 0);
    kfk__wbuf_init(&d, 0);
    ck_assert_int_eq(kfk__compress(NULL, KFK__CODEC_LZ4, -1, p, 100000, &c), 0);
    /* a correct header is fine either way */
    ck_assert_int_eq(kfk__decompress_lz4_legacy(NULL, c.data, c.len, &d, MiB),
                     0);
    ck_assert(d.len == 100000 && !memcmp(d.data, p, 100000));
    /* Kafka 0.8-0.9 hashed the magic number too */
    ck_assert_uint_eq(c.data[4] & 0x09, 0); /* no content size, no dict */
    ck_assert_uint_eq(c.data[6], (xxh32(c.data + 4, 2) >> 8) & 0xff);
    c.data[6] = (uint8_t)(xxh32(c.data, 6) >> 8);
    ck_assert_uint_ne(c.data[6], (xxh32(c.data + 4, 2) >> 8) & 0xff);
    d.len = 0;
    ck_assert_int_eq(
        kfk__decompress(NULL, KFK__CODEC_LZ4, c.data, c.len, &d, MiB),
        KFK_ERR__COMPRESSION);
    ck_assert_int_eq(kfk__decompress_lz4_legacy(NULL, c.data, c.len, &d, MiB),
                     0);
    ck_assert(d.len == 100000 && !memcmp(d.data, p, 100000));
    d.len = 0;
    ck_assert_int_eq(kfk__decompress_lz4_legacy(NULL, c.data, 6, &d, MiB),
                     KFK_ERR__COMPRESSION);
    ck_assert_int_eq(kfk__decompress_lz4_legacy(NULL, c.data, 7, &d, MiB),
                     KFK_ERR__COMPRESSION);
    ck_assert_int_eq(kfk__decompress_lz4_legacy(NULL, "garbage!", 8, &d, MiB),
                     KFK_ERR__COMPRESSION);
    ck_assert_int_eq(kfk__decompress_lz4_legacy(NULL, c.data, c.len, &d, 99999),
                     KFK_ERR__TOO_LARGE);
    kfk__wbuf_free(&c);
    kfk__wbuf_free(&d);
    free(p);
}
END_TEST

/* ---- interop with the reference tools --------------------------------- */

static char tmpdir[64];

static void tmp_setup(void)
{
    strcpy(tmpdir, "/tmp/kfk-compress-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    (void)!system(cmd);
}

/* Runs a shell command (printf-style, in tmpdir); fails the test unless
 * it exits 0, so a missing tool is a failure, not a skip. */
__attribute__((format(printf, 1, 2))) static void sh(const char *fmt, ...)
{
    char cmd[1024], full[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "cd '%s' && %s", tmpdir, cmd);
    int st = system(full);
    ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "command failed (status %d): %s", st, cmd);
}

static void write_file(const char *name, const void *p, size_t n)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

static uint8_t *read_file(const char *name, size_t *n)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "no %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)len + 1);
    ck_assert_uint_eq(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* Decompresses file name with codec; it must equal want. */
static void expect_file_decodes(int codec, const char *name,
                                const uint8_t *want, size_t n)
{
    size_t len;
    uint8_t *p = read_file(name, &len);
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_msg(kfk__decompress(NULL, codec, p, len, &w, 16 * MiB) == 0,
                  "%s does not decode", name);
    ck_assert_msg(w.len == n && !memcmp(w.data, want, n), "%s differs", name);
    kfk__wbuf_free(&w);
    free(p);
}

/* Two inputs: mostly text (as records are), and a mix with noise. */
static uint8_t *interop_input(size_t *n)
{
    *n = 3 * MiB + 12345;
    uint8_t *p = make_data(TEXT, *n);
    uint8_t *noise = make_data(RANDOM, 300000);
    memcpy(p + MiB, noise, 300000);
    free(noise);
    write_file("in", p, *n);
    return p;
}

/* Our output, written to name, for the tools to read. */
static void write_ours(int codec, int level, const char *name, const uint8_t *p,
                       size_t n)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__compress(NULL, codec, level, p, n, &w), 0);
    write_file(name, w.data, w.len);
    kfk__wbuf_free(&w);
}

START_TEST(interop_gzip)
{
    size_t n;
    uint8_t *p = interop_input(&n);
    sh("gzip -c in > a.gz && gzip -1 -c in > b.gz && gzip -9 -c in > c.gz");
    expect_file_decodes(KFK__CODEC_GZIP, "a.gz", p, n);
    expect_file_decodes(KFK__CODEC_GZIP, "b.gz", p, n);
    expect_file_decodes(KFK__CODEC_GZIP, "c.gz", p, n);
    /* concatenated members, as Java's GZIPInputStream reads them */
    sh("head -c 1000 in | gzip -c > d.gz && tail -c +1001 in | gzip -c >> "
       "d.gz");
    expect_file_decodes(KFK__CODEC_GZIP, "d.gz", p, n);
    /* and the tool reads ours */
    write_ours(KFK__CODEC_GZIP, -1, "ours.gz", p, n);
    sh("gzip -dc ours.gz > ours.out && cmp ours.out in");
    free(p);
}
END_TEST

START_TEST(interop_lz4)
{
    size_t n;
    uint8_t *p = interop_input(&n);
    /* CLI default: 4 MiB linked blocks, content checksum; then variants */
    sh("lz4 -q -c in > a.lz4 && lz4 -q -c -B4 -BI in > b.lz4 && "
       "lz4 -q -c -9 --content-size -BX in > c.lz4 && "
       "cat in | lz4 -q -c -B5 > d.lz4");
    expect_file_decodes(KFK__CODEC_LZ4, "a.lz4", p, n);
    expect_file_decodes(KFK__CODEC_LZ4, "b.lz4", p, n);
    expect_file_decodes(KFK__CODEC_LZ4, "c.lz4", p, n);
    expect_file_decodes(KFK__CODEC_LZ4, "d.lz4", p, n);
    sh("head -c 5000 in | lz4 -q -c > e.lz4 && tail -c +5001 in | lz4 -q -c "
       ">> e.lz4");
    expect_file_decodes(KFK__CODEC_LZ4, "e.lz4", p, n);
    write_ours(KFK__CODEC_LZ4, -1, "ours.lz4", p, n);
    sh("lz4 -q -dc ours.lz4 > ours.out && cmp ours.out in");
    write_ours(KFK__CODEC_LZ4, 9, "ours9.lz4", p, n);
    sh("lz4 -q -dc ours9.lz4 > ours9.out && cmp ours9.out in");
    free(p);
}
END_TEST

START_TEST(interop_zstd)
{
    size_t n;
    uint8_t *p = interop_input(&n);
    /* a file gives a content size; a pipe does not */
    sh("zstd -q -c in > a.zst && cat in | zstd -q -c -12 > b.zst && "
       "zstd -q -c --no-check --long=27 in > c.zst && "
       "cat in | zstd -q -c -1 --no-content-size > d.zst");
    expect_file_decodes(KFK__CODEC_ZSTD, "a.zst", p, n);
    expect_file_decodes(KFK__CODEC_ZSTD, "b.zst", p, n);
    expect_file_decodes(KFK__CODEC_ZSTD, "c.zst", p, n);
    expect_file_decodes(KFK__CODEC_ZSTD, "d.zst", p, n);
    sh("head -c 7000 in | zstd -q -c > e.zst && tail -c +7001 in | zstd -q "
       "-c >> e.zst");
    expect_file_decodes(KFK__CODEC_ZSTD, "e.zst", p, n);
    write_ours(KFK__CODEC_ZSTD, -1, "ours.zst", p, n);
    sh("zstd -q -dc ours.zst > ours.out && cmp ours.out in");
    free(p);
}
END_TEST

/* python3-snappy writes raw blocks, but not xerial framing; the xerial
 * wrapper is a few lines of Python around its raw blocks (as snappy-java's
 * SnappyOutputStream: 32 KiB blocks). Its framing-format writer
 * (snappy.stream_compress) crashes on Debian 12's Python 3.11, so the one
 * framing-format chunk (stream identifier, compressed chunk, CRC left 0:
 * we reject the format before any CRC) is written by hand too. */
static const char py_snappy[] =
    "import snappy, struct, sys\n"
    "src = open('in', 'rb').read()\n"
    "open('raw.snappy', 'wb').write(snappy.compress(src))\n"
    "x = b'\\x82SNAPPY\\x00' + struct.pack('>ii', 1, 1)\n"
    "for i in range(0, len(src), 32768):\n"
    "    b = snappy.compress(src[i:i + 32768])\n"
    "    x += struct.pack('>i', len(b)) + b\n"
    "open('xerial.snappy', 'wb').write(x)\n"
    "b = snappy.compress(src[:65536])\n"
    "open('framed.snappy', 'wb').write(b'\\xff\\x06\\x00\\x00sNaPpY' +\n"
    "    bytes([0]) + struct.pack('<i', len(b) + 4)[:3] + bytes(4) + b)\n"
    "ours = open('ours.snappy', 'rb').read()\n"
    "assert ours[:16] == x[:16], 'xerial header'\n"
    "out, i = b'', 16\n"
    "while i < len(ours):\n"
    "    n, = struct.unpack('>i', ours[i:i + 4])\n"
    "    out += snappy.decompress(ours[i + 4:i + 4 + n])\n"
    "    i += 4 + n\n"
    "assert out == src, 'our xerial stream'\n";

START_TEST(interop_snappy)
{
    size_t n;
    uint8_t *p = interop_input(&n);
    write_ours(KFK__CODEC_SNAPPY, -1, "ours.snappy", p, n);
    write_file("gen_snappy.py", py_snappy, sizeof(py_snappy) - 1);
    sh("/usr/bin/python3 gen_snappy.py");
    expect_file_decodes(KFK__CODEC_SNAPPY, "raw.snappy", p, n);
    expect_file_decodes(KFK__CODEC_SNAPPY, "xerial.snappy", p, n);
    /* snappy's framing format is not Kafka's: a clean error */
    size_t len;
    uint8_t *f = read_file("framed.snappy", &len);
    expect_clean(KFK__CODEC_SNAPPY, f, len, 1);
    free(f);
    free(p);
}
END_TEST

static Suite *compress_suite(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120); /* sanitizer builds are slow */
    tcase_add_loop_test(tc, roundtrip_all, 0, KFK__CODEC_COUNT);
    tcase_add_test(tc, levels);
    tcase_add_test(tc, names);
    tcase_add_test(tc, cap_with_prefix);
    tcase_add_loop_test(tc, corrupt, 1, KFK__CODEC_COUNT);
    tcase_add_loop_test(tc, nomem, 0, KFK__CODEC_COUNT);
    tcase_add_test(tc, xxh32_reference);
    tcase_add_test(tc, lz4_legacy_checksum);
    suite_add_tcase(s, tc);

    tc = tcase_create("bombs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, gzip_builder_is_valid);
    tcase_add_test(tc, bombs);
    tcase_add_test(tc, snappy_bombs);
    suite_add_tcase(s, tc);

    tc = tcase_create("interop");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, interop_gzip);
    tcase_add_test(tc, interop_lz4);
    tcase_add_test(tc, interop_zstd);
    tcase_add_test(tc, interop_snappy);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(compress_suite)
