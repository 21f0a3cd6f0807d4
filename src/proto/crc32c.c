/*
 * crc32c.c: CRC-32C for record batches (see crc32c.h).
 *
 * Two implementations. The portable one is slicing-by-8: eight 256-entry
 * tables let it fold eight input bytes per step. The x86-64 one uses the
 * SSE4.2 crc32 instruction, 8 bytes at a time. That instruction has a
 * latency of three cycles but a throughput of one per cycle, so long inputs
 * are cut into three equal blocks whose CRCs run as three independent
 * chains, then combined: the CRC of A followed by B is CRC(A) "shifted"
 * over len(B) zero bytes, xored with B's CRC (computed from 0). The shift
 * is a linear map over GF(2); for the two block sizes used it is tabulated
 * byte by byte at start-up. The tables are built once, under pthread_once.
 */
#include "proto/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SSE42_PATH 1
#include <nmmintrin.h>
#else
#define HAVE_SSE42_PATH 0
#endif

#define POLY 0x82f63b78u /* Castagnoli, bit-reflected */

/* Block sizes for the three-way interleave: LONG for big inputs, SHORT
 * for what is left; the shift tables are for exactly these lengths. */
#define LONG 8192
#define SHORT 256

static uint32_t table[8][256];
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static int hw_ok;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ---- GF(2) helpers for the zero-byte shift operator ------------------- */

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
    uint32_t sum = 0;
    for (; vec; vec >>= 1, mat++)
        if (vec & 1)
            sum ^= *mat;
    return sum;
}

static void gf2_square(uint32_t *sq, const uint32_t *mat)
{
    for (int n = 0; n < 32; n++)
        sq[n] = gf2_times(mat, mat[n]);
}

/* Builds the operator that appends len zero bytes (len a power of two) to
 * a CRC, then tabulates it one input byte position at a time. */
static void build_shift(uint32_t tab[4][256], size_t len)
{
    uint32_t odd[32], even[32];

    odd[0] = POLY; /* one zero bit */
    for (int n = 1; n < 32; n++)
        odd[n] = 1u << (n - 1);
    gf2_square(even, odd); /* two zero bits */
    gf2_square(odd, even); /* four */
    gf2_square(even, odd); /* one zero byte */
    for (size_t bytes = 1; bytes < len; bytes <<= 1) {
        gf2_square(odd, even);
        memcpy(even, odd, sizeof(even));
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 0; k < 4; k++)
            tab[k][n] = gf2_times(even, n << (8 * k));
}

static void init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 1; k < 8; k++)
            table[k][n] =
                (table[k - 1][n] >> 8) ^ table[0][table[k - 1][n] & 0xff];
    build_shift(shift_long, LONG);
    build_shift(shift_short, SHORT);
#if HAVE_SSE42_PATH
    __builtin_cpu_init();
    hw_ok = __builtin_cpu_supports("sse4.2") != 0;
#endif
}

static uint32_t shift(uint32_t tab[4][256], uint32_t crc)
{
    return tab[0][crc & 0xff] ^ tab[1][(crc >> 8) & 0xff] ^
           tab[2][(crc >> 16) & 0xff] ^ tab[3][crc >> 24];
}

/* ---- portable: slicing-by-8 ------------------------------------------ */

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

uint32_t kfk__crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    pthread_once(&once, init);
    crc = ~crc;
    for (; len && ((uintptr_t)p & 7); len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    for (; len >= 8; len -= 8, p += 8) {
        uint64_t v = load_le64(p) ^ crc;
        /* paired so the eight lookups do not form one serial chain */
        crc = ((table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff]) ^
               (table[5][(v >> 16) & 0xff] ^ table[4][(v >> 24) & 0xff])) ^
              ((table[3][(v >> 32) & 0xff] ^ table[2][(v >> 40) & 0xff]) ^
               (table[1][(v >> 48) & 0xff] ^ table[0][v >> 56]));
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

/* ---- x86-64: SSE4.2, three interleaved chains ------------------------- */

#if HAVE_SSE42_PATH
/* The CRCs of three consecutive blocks of n bytes each, folded into crc. */
__attribute__((target("sse4.2"))) static uint64_t
three_way(uint64_t crc, const uint8_t *p, size_t n, uint32_t tab[4][256])
{
    uint64_t c1 = 0, c2 = 0;
    const uint8_t *end = p + n;
    for (; p < end; p += 8) {
        crc = _mm_crc32_u64(crc, load_le64(p));
        c1 = _mm_crc32_u64(c1, load_le64(p + n));
        c2 = _mm_crc32_u64(c2, load_le64(p + 2 * n));
    }
    crc = shift(tab, (uint32_t)crc) ^ c1;
    return shift(tab, (uint32_t)crc) ^ c2;
}

__attribute__((target("sse4.2"))) uint32_t
kfk__crc32c_hw(uint32_t crc32, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint64_t crc = ~crc32;

    pthread_once(&once, init);
    for (; len && ((uintptr_t)p & 7); len--)
        crc = _mm_crc32_u8((uint32_t)crc, *p++);
    for (; len >= 3 * LONG; len -= 3 * LONG, p += 3 * LONG)
        crc = three_way(crc, p, LONG, shift_long);
    for (; len >= 3 * SHORT; len -= 3 * SHORT, p += 3 * SHORT)
        crc = three_way(crc, p, SHORT, shift_short);
    for (; len >= 8; len -= 8, p += 8)
        crc = _mm_crc32_u64(crc, load_le64(p));
    for (; len; len--)
        crc = _mm_crc32_u8((uint32_t)crc, *p++);
    return ~(uint32_t)crc;
}
#else
uint32_t kfk__crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
    return kfk__crc32c_sw(crc, buf, len);
}
#endif

int kfk__crc32c_hw_available(void)
{
    pthread_once(&once, init);
    return hw_ok;
}

uint32_t kfk__crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&once, init);
    return hw_ok ? kfk__crc32c_hw(crc, buf, len)
                 : kfk__crc32c_sw(crc, buf, len);
}
