/*
 * test_buf.c: the byte cursors of src/proto/buf.h. Every decoder trusts
 * them to stop at the end of the input and to leave the cursor alone on
 * failure, and every encoder trusts the sticky error, so each read is tried
 * on exact, short and malformed input, each varint against known encodings
 * at its boundaries, and the write buffer against its cap and a failing
 * allocator.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "common/alloc.h"
#include "proto/buf.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixed-size reads ------------------------------------------------- */

/* One wrapper per read so a table can drive them; each returns the read's
 * result and stores what it read (sign-extended) in *out. */
static int read_i8(kfk__rbuf *r, int64_t *out)
{
    int8_t v = 0;
    int err = kfk__rd_i8(r, &v);
    *out = v;
    return err;
}

static int read_i16(kfk__rbuf *r, int64_t *out)
{
    int16_t v = 0;
    int err = kfk__rd_i16(r, &v);
    *out = v;
    return err;
}

static int read_i32(kfk__rbuf *r, int64_t *out)
{
    int32_t v = 0;
    int err = kfk__rd_i32(r, &v);
    *out = v;
    return err;
}

static int read_i64(kfk__rbuf *r, int64_t *out)
{
    return kfk__rd_i64(r, out);
}

static const struct {
    const char *name;
    int (*read)(kfk__rbuf *r, int64_t *out);
    size_t size;
    uint8_t bytes[8];
    int64_t value;
} fixed[] = {
    {"i8 positive", read_i8, 1, {0x7f}, 127},
    {"i8 negative", read_i8, 1, {0x80}, -128},
    {"i16 -2", read_i16, 2, {0xff, 0xfe}, -2},
    {"i16 big-endian", read_i16, 2, {0x01, 0x02}, 0x0102},
    {"i32 big-endian", read_i32, 4, {0x01, 0x02, 0x03, 0x04}, 0x01020304},
    {"i32 min", read_i32, 4, {0x80, 0, 0, 0}, INT32_MIN},
    {"i64 big-endian",
     read_i64,
     8,
     {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08},
     0x0102030405060708},
    {"i64 min", read_i64, 8, {0x80, 0, 0, 0, 0, 0, 0, 0}, INT64_MIN},
    {"i64 -1",
     read_i64,
     8,
     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     -1},
};

START_TEST(fixed_exact)
{
    for (size_t i = 0; i < COUNT(fixed); i++) {
        kfk__rbuf r;
        int64_t v = 0;
        kfk__rbuf_init(&r, fixed[i].bytes, fixed[i].size);
        ck_assert_msg(fixed[i].read(&r, &v) == 0, "%s", fixed[i].name);
        ck_assert_msg(v == fixed[i].value, "%s", fixed[i].name);
        ck_assert_uint_eq(kfk__rbuf_left(&r), 0);
        ck_assert_uint_eq(kfk__rbuf_offset(&r), fixed[i].size);
    }
}
END_TEST

/* One byte more than needed: the read takes only its own bytes. */
START_TEST(fixed_longer)
{
    for (size_t i = 0; i < COUNT(fixed); i++) {
        uint8_t in[9];
        kfk__rbuf r;
        int64_t v = 0;
        memcpy(in, fixed[i].bytes, fixed[i].size);
        in[fixed[i].size] = 0xaa;
        kfk__rbuf_init(&r, in, fixed[i].size + 1);
        ck_assert_msg(fixed[i].read(&r, &v) == 0, "%s", fixed[i].name);
        ck_assert_msg(v == fixed[i].value, "%s", fixed[i].name);
        ck_assert_uint_eq(kfk__rbuf_left(&r), 1);
    }
}
END_TEST

/* Every shorter input, the empty one included, is TRUNCATED and leaves the
 * cursor where it was. */
START_TEST(fixed_short)
{
    for (size_t i = 0; i < COUNT(fixed); i++) {
        for (size_t len = 0; len < fixed[i].size; len++) {
            kfk__rbuf r;
            int64_t v = 0;
            kfk__rbuf_init(&r, fixed[i].bytes, len);
            ck_assert_msg(fixed[i].read(&r, &v) == KFK_ERR__TRUNCATED,
                          "%s, %zu bytes", fixed[i].name, len);
            ck_assert_msg(r.p == fixed[i].bytes, "%s moved", fixed[i].name);
            ck_assert_uint_eq(kfk__rbuf_left(&r), len);
        }
    }
}
END_TEST

/* A short read in the middle of an input fails at that position, not at
 * the start of the input. */
START_TEST(fixed_short_midway)
{
    const uint8_t in[] = {0x00, 0x01, 0x02, 0x03, 0x04};
    kfk__rbuf r;
    int16_t v16;
    int32_t v32;
    kfk__rbuf_init(&r, in, sizeof(in));
    ck_assert_int_eq(kfk__rd_i16(&r, &v16), 0);
    ck_assert_int_eq(v16, 1);
    ck_assert_int_eq(kfk__rd_i32(&r, &v32), KFK_ERR__TRUNCATED);
    ck_assert_uint_eq(kfk__rbuf_offset(&r), 2);
    ck_assert_int_eq(kfk__rd_i16(&r, &v16), 0);
    ck_assert_int_eq(v16, 0x0203);
    ck_assert_uint_eq(kfk__rbuf_left(&r), 1);
}
END_TEST

START_TEST(bytes_and_skip)
{
    const uint8_t in[] = {1, 2, 3, 4, 5};
    const uint8_t *out = NULL;
    kfk__rbuf r;

    kfk__rbuf_init(&r, in, sizeof(in));
    ck_assert_int_eq(kfk__rd_bytes(&r, 0, &out), 0);
    ck_assert_ptr_eq(out, in);
    ck_assert_int_eq(kfk__rd_bytes(&r, 2, &out), 0);
    ck_assert_ptr_eq(out, in); /* points into the input, no copy */
    ck_assert_int_eq(kfk__rd_bytes(&r, 4, &out), KFK_ERR__TRUNCATED);
    ck_assert_ptr_eq(out, in); /* untouched on failure */
    ck_assert_uint_eq(kfk__rbuf_offset(&r), 2);
    ck_assert_int_eq(kfk__rd_skip(&r, 4), KFK_ERR__TRUNCATED);
    ck_assert_uint_eq(kfk__rbuf_offset(&r), 2);
    ck_assert_int_eq(kfk__rd_skip(&r, 1), 0);
    ck_assert_int_eq(kfk__rd_bytes(&r, 2, &out), 0); /* exactly what is left */
    ck_assert_ptr_eq(out, in + 3);
    ck_assert_uint_eq(kfk__rbuf_left(&r), 0);
    ck_assert_int_eq(kfk__rd_bytes(&r, 1, &out), KFK_ERR__TRUNCATED);
    ck_assert_int_eq(kfk__rd_skip(&r, 1), KFK_ERR__TRUNCATED);
    ck_assert_int_eq(kfk__rd_skip(&r, 0), 0);
    ck_assert_int_eq(kfk__rd_bytes(&r, 0, &out), 0);
}
END_TEST

/* A length read from the wire can be anything; it must not wrap the
 * pointer arithmetic. */
START_TEST(bytes_huge_length)
{
    const uint8_t in[] = {1, 2, 3};
    const uint8_t *out = NULL;
    kfk__rbuf r;
    kfk__rbuf_init(&r, in, sizeof(in));
    ck_assert_int_eq(kfk__rd_bytes(&r, SIZE_MAX, &out), KFK_ERR__TRUNCATED);
    ck_assert_int_eq(kfk__rd_skip(&r, SIZE_MAX), KFK_ERR__TRUNCATED);
    ck_assert_int_eq(kfk__rd_skip(&r, (size_t)INT32_MAX + 1),
                     KFK_ERR__TRUNCATED);
    ck_assert_uint_eq(kfk__rbuf_offset(&r), 0);
}
END_TEST

/* An absent value (NULL, 0) is a normal input: a null bytes field, an
 * empty record. No read may succeed past it, and no arithmetic on the NULL
 * pointer may happen (NULL + 0 is undefined; clang's UBSan reports it). */
START_TEST(empty_null_slice)
{
    kfk__rbuf r;
    const uint8_t *out = NULL;
    int32_t v;
    kfk__rbuf_init(&r, NULL, 0);
    ck_assert_uint_eq(kfk__rbuf_left(&r), 0);
    ck_assert_int_eq(kfk__rd_i32(&r, &v), KFK_ERR__TRUNCATED);
    ck_assert_int_eq(kfk__rd_varint(&r, &v), KFK_ERR__TRUNCATED);
    ck_assert_int_eq(kfk__rd_bytes(&r, 0, &out), 0);
    ck_assert_int_eq(kfk__rd_skip(&r, 0), 0);

    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    kfk__wr_raw(&w, NULL, 0); /* nothing to copy into a buffer with none */
    ck_assert_int_eq(kfk__wbuf_err(&w), 0);
    ck_assert_uint_eq(w.len, 0);
    kfk__wbuf_free(&w);
}
END_TEST

/* ---- varints: known encodings ---------------------------------------- */

typedef struct {
    uint8_t len;
    uint8_t bytes[10];
} enc;

static const struct {
    uint64_t value;
    enc e;
} uvarints[] = {
    {0, {1, {0x00}}},
    {1, {1, {0x01}}},
    {127, {1, {0x7f}}},
    {128, {2, {0x80, 0x01}}},
    {300, {2, {0xac, 0x02}}},
    {16383, {2, {0xff, 0x7f}}},
    {16384, {3, {0x80, 0x80, 0x01}}},
    {(1u << 21) - 1, {3, {0xff, 0xff, 0x7f}}},
    {1u << 21, {4, {0x80, 0x80, 0x80, 0x01}}},
    {(1u << 28) - 1, {4, {0xff, 0xff, 0xff, 0x7f}}},
    {1u << 28, {5, {0x80, 0x80, 0x80, 0x80, 0x01}}},
    {INT32_MAX, {5, {0xff, 0xff, 0xff, 0xff, 0x07}}},
    {UINT32_MAX, {5, {0xff, 0xff, 0xff, 0xff, 0x0f}}},
    {(uint64_t)UINT32_MAX + 1, {5, {0x80, 0x80, 0x80, 0x80, 0x10}}},
    {(uint64_t)1 << 35, {6, {0x80, 0x80, 0x80, 0x80, 0x80, 0x01}}},
    {(uint64_t)1 << 63,
     {10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}}},
    {UINT64_MAX,
     {10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}}},
};

/* Signed (zig-zag) encodings: 0, -1, 1, -2 ... map to 0, 1, 2, 3 ... */
static const struct {
    int64_t value;
    enc e;
} varlongs[] = {
    {0, {1, {0x00}}},
    {-1, {1, {0x01}}},
    {1, {1, {0x02}}},
    {-2, {1, {0x03}}},
    {63, {1, {0x7e}}},
    {-64, {1, {0x7f}}},
    {64, {2, {0x80, 0x01}}},
    {-65, {2, {0x81, 0x01}}},
    {150, {2, {0xac, 0x02}}}, /* zigzag(150) = 300 */
    {INT32_MAX, {5, {0xfe, 0xff, 0xff, 0xff, 0x0f}}},
    {INT32_MIN, {5, {0xff, 0xff, 0xff, 0xff, 0x0f}}},
    {(int64_t)INT32_MAX + 1, {5, {0x80, 0x80, 0x80, 0x80, 0x10}}},
    {(int64_t)INT32_MIN - 1, {5, {0x81, 0x80, 0x80, 0x80, 0x10}}},
    {INT64_MAX,
     {10, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}}},
    {INT64_MIN,
     {10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}}},
};

static void assert_wrote(const kfk__wbuf *w, const enc *e, const char *what,
                         long long v)
{
    ck_assert_msg(kfk__wbuf_err(w) == 0, "%s %lld: error", what, v);
    ck_assert_msg(w->len == e->len, "%s %lld: %zu bytes, want %u", what, v,
                  w->len, (unsigned)e->len);
    ck_assert_msg(memcmp(w->data, e->bytes, e->len) == 0, "%s %lld: bytes",
                  what, v);
}

START_TEST(uvarint_encodings)
{
    for (size_t i = 0; i < COUNT(uvarints); i++) {
        uint64_t v = uvarints[i].value;
        const enc *e = &uvarints[i].e;
        uint8_t tmp[10];
        kfk__wbuf w;

        ck_assert_uint_eq(kfk__uvarlong_size(v), e->len);
        ck_assert_uint_eq(kfk__uvarlong_enc(tmp, v), e->len);
        ck_assert(memcmp(tmp, e->bytes, e->len) == 0);

        kfk__wbuf_init(&w, 0);
        kfk__wr_uvarint(&w, v);
        assert_wrote(&w, e, "uvarint", (long long)v);
        kfk__wbuf_free(&w);

        kfk__rbuf r;
        uint64_t got64 = 0;
        kfk__rbuf_init(&r, e->bytes, e->len);
        ck_assert_int_eq(kfk__rd_uvarlong(&r, &got64), 0);
        ck_assert(got64 == v);
        ck_assert_uint_eq(kfk__rbuf_left(&r), 0);

        /* The 32-bit reader takes what fits and refuses the rest. */
        uint32_t got32 = 0;
        kfk__rbuf_init(&r, e->bytes, e->len);
        if (v <= UINT32_MAX) {
            ck_assert_int_eq(kfk__rd_uvarint(&r, &got32), 0);
            ck_assert(got32 == v);
            ck_assert_uint_eq(kfk__rbuf_left(&r), 0);
        } else {
            ck_assert_int_eq(kfk__rd_uvarint(&r, &got32), KFK_ERR__MALFORMED);
            ck_assert_uint_eq(kfk__rbuf_offset(&r), 0);
        }
    }
}
END_TEST

START_TEST(varlong_encodings)
{
    for (size_t i = 0; i < COUNT(varlongs); i++) {
        int64_t v = varlongs[i].value;
        const enc *e = &varlongs[i].e;
        kfk__wbuf w;

        ck_assert_uint_eq(kfk__varlong_size(v), e->len);
        kfk__wbuf_init(&w, 0);
        kfk__wr_varlong(&w, v);
        assert_wrote(&w, e, "varlong", (long long)v);
        kfk__wbuf_free(&w);

        kfk__rbuf r;
        int64_t got64 = 0;
        kfk__rbuf_init(&r, e->bytes, e->len);
        ck_assert_int_eq(kfk__rd_varlong(&r, &got64), 0);
        ck_assert(got64 == v);
        ck_assert_uint_eq(kfk__rbuf_left(&r), 0);

        int32_t got32 = 0;
        kfk__rbuf_init(&r, e->bytes, e->len);
        if (v >= INT32_MIN && v <= INT32_MAX) {
            ck_assert_int_eq(kfk__rd_varint(&r, &got32), 0);
            ck_assert(got32 == v);
        } else {
            ck_assert_int_eq(kfk__rd_varint(&r, &got32), KFK_ERR__MALFORMED);
            ck_assert_uint_eq(kfk__rbuf_offset(&r), 0);
        }
    }
}
END_TEST

START_TEST(zigzag_known)
{
    ck_assert(kfk__zigzag64(0) == 0);
    ck_assert(kfk__zigzag64(-1) == 1);
    ck_assert(kfk__zigzag64(1) == 2);
    ck_assert(kfk__zigzag64(-2) == 3);
    ck_assert(kfk__zigzag64(INT64_MAX) == UINT64_MAX - 1);
    ck_assert(kfk__zigzag64(INT64_MIN) == UINT64_MAX);
}
END_TEST

/* Every strict prefix of a valid varint is TRUNCATED, never a value. */
START_TEST(varint_truncated)
{
    for (size_t i = 0; i < COUNT(uvarints); i++) {
        const enc *e = &uvarints[i].e;
        for (size_t len = 0; len < e->len; len++) {
            kfk__rbuf r;
            uint32_t u32;
            uint64_t u64;
            int32_t s32;
            int64_t s64;

            kfk__rbuf_init(&r, e->bytes, len);
            ck_assert_int_eq(kfk__rd_uvarlong(&r, &u64), KFK_ERR__TRUNCATED);
            ck_assert_ptr_eq(r.p, e->bytes);
            ck_assert_int_eq(kfk__rd_varlong(&r, &s64), KFK_ERR__TRUNCATED);
            ck_assert_ptr_eq(r.p, e->bytes);
            if (len < 5) {
                ck_assert_int_eq(kfk__rd_uvarint(&r, &u32), KFK_ERR__TRUNCATED);
                ck_assert_ptr_eq(r.p, e->bytes);
                ck_assert_int_eq(kfk__rd_varint(&r, &s32), KFK_ERR__TRUNCATED);
                ck_assert_ptr_eq(r.p, e->bytes);
            }
        }
    }
}
END_TEST

/* Too many bytes, or high bits that do not fit the type: MALFORMED, and
 * the cursor stays on the first byte of the bad value. */
START_TEST(varint_malformed)
{
    static const enc bad32[] = {
        {5, {0x80, 0x80, 0x80, 0x80, 0x80}},       /* 5th byte continues */
        {6, {0x80, 0x80, 0x80, 0x80, 0x80, 0x00}}, /* over-long */
        {5, {0xff, 0xff, 0xff, 0xff, 0x10}},       /* 33rd bit */
        {5, {0xff, 0xff, 0xff, 0xff, 0x7f}},
        {10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    };
    static const enc bad64[] = {
        {10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}},
        {10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}},
        {10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}},
    };
    uint8_t in[11];

    for (size_t i = 0; i < COUNT(bad32); i++) {
        kfk__rbuf r;
        uint32_t u;
        int32_t s;
        /* A leading good byte: failure must leave the cursor after it. */
        in[0] = 0x05;
        memcpy(in + 1, bad32[i].bytes, bad32[i].len);
        kfk__rbuf_init(&r, in, 1u + bad32[i].len);
        ck_assert_int_eq(kfk__rd_uvarint(&r, &u), 0);
        ck_assert_uint_eq(u, 5);
        ck_assert_int_eq(kfk__rd_uvarint(&r, &u), KFK_ERR__MALFORMED);
        ck_assert_uint_eq(kfk__rbuf_offset(&r), 1);
        ck_assert_int_eq(kfk__rd_varint(&r, &s), KFK_ERR__MALFORMED);
        ck_assert_uint_eq(kfk__rbuf_offset(&r), 1);
    }
    for (size_t i = 0; i < COUNT(bad64); i++) {
        kfk__rbuf r;
        uint64_t u;
        int64_t s;
        in[0] = 0x05;
        memcpy(in + 1, bad64[i].bytes, bad64[i].len);
        kfk__rbuf_init(&r, in, 1u + bad64[i].len);
        ck_assert_int_eq(kfk__rd_uvarlong(&r, &u), 0);
        ck_assert_int_eq(kfk__rd_uvarlong(&r, &u), KFK_ERR__MALFORMED);
        ck_assert_uint_eq(kfk__rbuf_offset(&r), 1);
        ck_assert_int_eq(kfk__rd_varlong(&r, &s), KFK_ERR__MALFORMED);
        ck_assert_uint_eq(kfk__rbuf_offset(&r), 1);
    }

    /* Eleven continuation bytes, with and without an end. */
    memset(in, 0x80, sizeof(in));
    {
        kfk__rbuf r;
        uint64_t u;
        kfk__rbuf_init(&r, in, sizeof(in));
        ck_assert_int_eq(kfk__rd_uvarlong(&r, &u), KFK_ERR__MALFORMED);
        ck_assert_uint_eq(kfk__rbuf_offset(&r), 0);
    }
}
END_TEST

/* uint64_t to int64_t by two's complement, without the
 * implementation-defined conversion. */
static int64_t as_signed(uint64_t u)
{
    return u <= INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
}

/* Round trips over every power of two and its neighbours, both signs. */
START_TEST(varint_round_trip)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    for (int bit = 0; bit < 64; bit++) {
        uint64_t base = (uint64_t)1 << bit;
        uint64_t vals[] = {base - 1, base, base + 1};
        for (size_t j = 0; j < COUNT(vals); j++) {
            uint64_t u = vals[j];
            int64_t svals[] = {as_signed(u), as_signed(0 - u), as_signed(~u)};
            kfk__wbuf_reset(&w);
            kfk__wr_uvarint(&w, u);
            for (size_t k = 0; k < COUNT(svals); k++)
                kfk__wr_varlong(&w, svals[k]);
            ck_assert_int_eq(kfk__wbuf_err(&w), 0);

            kfk__rbuf r;
            uint64_t got_u;
            kfk__rbuf_init(&r, w.data, w.len);
            ck_assert_int_eq(kfk__rd_uvarlong(&r, &got_u), 0);
            ck_assert(got_u == u);
            ck_assert_uint_eq(kfk__rbuf_offset(&r), kfk__uvarlong_size(u));
            for (size_t k = 0; k < COUNT(svals); k++) {
                const uint8_t *at = r.p;
                int64_t got_s;
                ck_assert_int_eq(kfk__rd_varlong(&r, &got_s), 0);
                ck_assert(got_s == svals[k]);
                ck_assert_uint_eq((size_t)(r.p - at),
                                  kfk__varlong_size(svals[k]));
                if (svals[k] >= INT32_MIN && svals[k] <= INT32_MAX) {
                    kfk__rbuf r32 = {w.data, at, w.data + w.len};
                    int32_t got32;
                    ck_assert_int_eq(kfk__rd_varint(&r32, &got32), 0);
                    ck_assert(got32 == svals[k]);
                    ck_assert_ptr_eq(r32.p, r.p);
                }
            }
            ck_assert_uint_eq(kfk__rbuf_left(&r), 0);
        }
    }
    kfk__wbuf_free(&w);
}
END_TEST

/* ---- fixed-size writes ----------------------------------------------- */

START_TEST(write_fixed)
{
    static const uint8_t want[] = {
        0x80,                                           /* i8 -128 */
        0xff, 0xfe,                                     /* i16 -2 */
        0x01, 0x02, 0x03, 0x04,                         /* i32 */
        0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* i64 min */
        'a',  'b',  'c',                                /* raw */
    };
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    kfk__wr_i8(&w, -128);
    kfk__wr_i16(&w, -2);
    kfk__wr_i32(&w, 0x01020304);
    kfk__wr_i64(&w, INT64_MIN);
    kfk__wr_raw(&w, "abc", 3);
    kfk__wr_raw(&w, "xyz", 0);
    ck_assert_int_eq(kfk__wbuf_err(&w), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert(memcmp(w.data, want, sizeof(want)) == 0);

    kfk__rbuf r;
    int8_t v8;
    int16_t v16;
    int32_t v32;
    int64_t v64;
    kfk__rbuf_init(&r, w.data, w.len);
    ck_assert_int_eq(kfk__rd_i8(&r, &v8), 0);
    ck_assert_int_eq(v8, -128);
    ck_assert_int_eq(kfk__rd_i16(&r, &v16), 0);
    ck_assert_int_eq(v16, -2);
    ck_assert_int_eq(kfk__rd_i32(&r, &v32), 0);
    ck_assert_int_eq(v32, 0x01020304);
    ck_assert_int_eq(kfk__rd_i64(&r, &v64), 0);
    ck_assert(v64 == INT64_MIN);
    ck_assert_uint_eq(kfk__rbuf_left(&r), 3);
    kfk__wbuf_free(&w);
}
END_TEST

/* wr_space hands back the spot so a length can be patched in later. */
START_TEST(write_backpatch)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    kfk__wr_i8(&w, 7);
    size_t at = w.len;
    ck_assert_ptr_nonnull(kfk__wr_space(&w, 4));
    for (int i = 0; i < 1000; i++) /* forces growth: pointers move */
        kfk__wr_i8(&w, (int8_t)i);
    kfk__store_be32(w.data + at, (uint32_t)(w.len - at - 4));
    ck_assert_uint_eq(kfk__load_be32(w.data + at), 1000);
    ck_assert_uint_eq(w.data[0], 7);
    kfk__wbuf_free(&w);
}
END_TEST

/* ---- wbuf lifecycle --------------------------------------------------- */

START_TEST(wbuf_init_lazy)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_ptr_null(w.data);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_uint_eq(w.cap, 0);
    ck_assert_uint_eq(w.max, KFK__WBUF_DEFAULT_MAX);
    ck_assert_int_eq(kfk__wbuf_err(&w), 0);
    kfk__wbuf_free(&w);
    kfk__wbuf_init(&w, 123);
    ck_assert_uint_eq(w.max, 123);
    kfk__wbuf_free(&w);
}
END_TEST

START_TEST(wbuf_growth)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    size_t last_cap = 0;
    int grew = 0;
    for (uint32_t i = 0; i < 100000; i++) {
        kfk__wr_i32(&w, (int32_t)i);
        ck_assert_uint_ge(w.cap, w.len);
        if (w.cap != last_cap) {
            grew++;
            last_cap = w.cap;
        }
    }
    ck_assert_int_eq(kfk__wbuf_err(&w), 0);
    ck_assert_uint_eq(w.len, 400000);
    /* Geometric growth: a handful of reallocations, not one per write. */
    ck_assert_int_lt(grew, 20);
    for (uint32_t i = 0; i < 100000; i += 997)
        ck_assert_uint_eq(kfk__load_be32(w.data + 4 * i), i);
    kfk__wbuf_free(&w);
}
END_TEST

START_TEST(wbuf_reserve)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__wbuf_reserve(&w, 5000), 0);
    ck_assert_uint_ge(w.cap, 5000);
    ck_assert_uint_eq(w.len, 0);
    uint8_t *before = w.data;
    for (int i = 0; i < 5000; i++)
        kfk__wr_i8(&w, 1);
    ck_assert_ptr_eq(w.data, before); /* reserved: no reallocation */
    kfk__wbuf_free(&w);
}
END_TEST

/* Exactly max bytes fit; one more is TOO_LARGE, and the error sticks. */
START_TEST(wbuf_max_sticky)
{
    static const size_t maxes[] = {1, 10, 256, 300, 1000};
    for (size_t m = 0; m < COUNT(maxes); m++) {
        size_t max = maxes[m];
        kfk__wbuf w;
        kfk__wbuf_init(&w, max);
        for (size_t i = 0; i < max; i++)
            kfk__wr_i8(&w, (int8_t)i);
        ck_assert_int_eq(kfk__wbuf_err(&w), 0);
        ck_assert_uint_eq(w.len, max);

        kfk__wr_i8(&w, 1);
        ck_assert_int_eq(kfk__wbuf_err(&w), KFK_ERR__TOO_LARGE);
        ck_assert_uint_eq(w.len, max);

        /* Later writes are no-ops, even ones that would fit. */
        kfk__wr_raw(&w, "", 0);
        ck_assert_ptr_null(kfk__wr_space(&w, 0));
        kfk__wr_i64(&w, 1);
        kfk__wr_uvarint(&w, 1);
        ck_assert_int_eq(kfk__wbuf_reserve(&w, 0), KFK_ERR__TOO_LARGE);
        ck_assert_int_eq(kfk__wbuf_err(&w), KFK_ERR__TOO_LARGE);
        ck_assert_uint_eq(w.len, max);

        size_t len = 99;
        ck_assert_ptr_null(kfk__wbuf_take(&w, &len));
        ck_assert_uint_eq(len, 0);

        /* reset clears the error and keeps the storage. */
        uint8_t *data = w.data;
        kfk__wbuf_reset(&w);
        ck_assert_int_eq(kfk__wbuf_err(&w), 0);
        ck_assert_uint_eq(w.len, 0);
        ck_assert_ptr_eq(w.data, data);
        kfk__wr_i8(&w, 42);
        ck_assert_int_eq(kfk__wbuf_err(&w), 0);
        ck_assert_uint_eq(w.data[0], 42);
        kfk__wbuf_free(&w);
    }
}
END_TEST

/* A single write bigger than the cap fails at once, without allocating
 * and without wrapping size arithmetic. */
START_TEST(wbuf_max_big_write)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 64);
    kfk__wr_i32(&w, 1);
    ck_assert_ptr_null(kfk__wr_space(&w, 61));
    ck_assert_int_eq(kfk__wbuf_err(&w), KFK_ERR__TOO_LARGE);
    ck_assert_uint_eq(w.len, 4);
    kfk__wbuf_free(&w);

    kfk__wbuf_init(&w, 0);
    kfk__wr_i8(&w, 1);
    ck_assert_int_eq(kfk__wbuf_reserve(&w, SIZE_MAX), KFK_ERR__TOO_LARGE);
    ck_assert_uint_eq(w.len, 1);
    kfk__wbuf_free(&w);

    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__wbuf_reserve(&w, KFK__WBUF_DEFAULT_MAX + 1),
                     KFK_ERR__TOO_LARGE);
    ck_assert_ptr_null(w.data);
    kfk__wbuf_free(&w);
}
END_TEST

START_TEST(wbuf_nomem_first)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    kfk__alloc_fail_after(0);
    kfk__wr_i32(&w, 1);
    kfk__alloc_fail_after(-1);
    ck_assert_int_eq(kfk__wbuf_err(&w), KFK_ERR__NOMEM);
    ck_assert_ptr_null(w.data);
    ck_assert_uint_eq(w.len, 0);

    /* Sticky although allocation works again. */
    kfk__wr_i32(&w, 2);
    ck_assert_int_eq(kfk__wbuf_err(&w), KFK_ERR__NOMEM);
    ck_assert_uint_eq(w.len, 0);
    size_t len = 99;
    ck_assert_ptr_null(kfk__wbuf_take(&w, &len));
    ck_assert_uint_eq(len, 0);

    kfk__wbuf_reset(&w);
    kfk__wr_i32(&w, 3);
    ck_assert_int_eq(kfk__wbuf_err(&w), 0);
    ck_assert_uint_eq(kfk__load_be32(w.data), 3);
    kfk__wbuf_free(&w);
}
END_TEST

/* A failed growth keeps what was written and frees it at the end (the
 * sanitizer build checks for the leak). */
START_TEST(wbuf_nomem_growing)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    kfk__wr_i8(&w, 9);
    size_t cap = w.cap;
    for (size_t i = 1; i < cap; i++)
        kfk__wr_i8(&w, 9);
    ck_assert_uint_eq(w.len, cap);
    kfk__alloc_fail_after(0);
    kfk__wr_i16(&w, 1);
    kfk__alloc_fail_after(-1);
    ck_assert_int_eq(kfk__wbuf_err(&w), KFK_ERR__NOMEM);
    ck_assert_uint_eq(w.len, cap);
    ck_assert_uint_eq(w.cap, cap);
    ck_assert_uint_eq(w.data[cap - 1], 9);
    ck_assert_int_eq(kfk__wbuf_reserve(&w, 1), KFK_ERR__NOMEM);
    kfk__wbuf_free(&w);
    ck_assert_ptr_null(w.data);
    ck_assert_int_eq(kfk__wbuf_err(&w), 0);
}
END_TEST

START_TEST(wbuf_take)
{
    kfk__wbuf w;
    size_t len = 99;
    kfk__wbuf_init(&w, 0);
    kfk__wr_raw(&w, "hello", 5);
    uint8_t *d = kfk__wbuf_take(&w, &len);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(len, 5);
    ck_assert(memcmp(d, "hello", 5) == 0);
    ck_assert_ptr_null(w.data);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_uint_eq(w.cap, 0);

    /* The emptied buffer is usable again and owns new storage. */
    kfk__wr_raw(&w, "bye", 3);
    ck_assert_int_eq(kfk__wbuf_err(&w), 0);
    ck_assert_ptr_ne(w.data, d);
    ck_assert(memcmp(w.data, "bye", 3) == 0);
    kfk__free(d);
    kfk__wbuf_free(&w);

    /* Taking from an untouched buffer gives nothing to free. */
    kfk__wbuf_init(&w, 0);
    len = 99;
    d = kfk__wbuf_take(&w, &len);
    ck_assert_uint_eq(len, 0);
    kfk__free(d);
    kfk__wbuf_free(&w);
}
END_TEST

START_TEST(wbuf_free_null_and_twice)
{
    kfk__wbuf_free(NULL);
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    kfk__wr_i64(&w, 1);
    kfk__wbuf_free(&w);
    kfk__wbuf_free(&w); /* the freed buffer is empty, not dangling */
    ck_assert_ptr_null(w.data);
    kfk__wbuf_init(&w, 16);
    kfk__wr_i64(&w, 2);
    ck_assert_int_eq(kfk__wbuf_err(&w), 0);
    kfk__wbuf_free(&w);
}
END_TEST

/* ---- suite ----------------------------------------------------------- */

static Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *rd = tcase_create("read");
    tcase_add_test(rd, fixed_exact);
    tcase_add_test(rd, fixed_longer);
    tcase_add_test(rd, fixed_short);
    tcase_add_test(rd, fixed_short_midway);
    tcase_add_test(rd, bytes_and_skip);
    tcase_add_test(rd, bytes_huge_length);
    tcase_add_test(rd, empty_null_slice);
    suite_add_tcase(s, rd);

    TCase *vi = tcase_create("varint");
    tcase_add_test(vi, uvarint_encodings);
    tcase_add_test(vi, varlong_encodings);
    tcase_add_test(vi, zigzag_known);
    tcase_add_test(vi, varint_truncated);
    tcase_add_test(vi, varint_malformed);
    tcase_add_test(vi, varint_round_trip);
    suite_add_tcase(s, vi);

    TCase *wr = tcase_create("write");
    tcase_add_test(wr, write_fixed);
    tcase_add_test(wr, write_backpatch);
    tcase_add_test(wr, wbuf_init_lazy);
    tcase_add_test(wr, wbuf_growth);
    tcase_add_test(wr, wbuf_reserve);
    tcase_add_test(wr, wbuf_max_sticky);
    tcase_add_test(wr, wbuf_max_big_write);
    tcase_add_test(wr, wbuf_nomem_first);
    tcase_add_test(wr, wbuf_nomem_growing);
    tcase_add_test(wr, wbuf_take);
    tcase_add_test(wr, wbuf_free_null_and_twice);
    suite_add_tcase(s, wr);
    return s;
}

KFK_CHECK_MAIN(buf_suite)
