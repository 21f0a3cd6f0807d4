/*
 * murmur2.c: Java-compatible MurmurHash2 for keyed partitioning (see
 * murmur2.h). All arithmetic is on uint32_t so the wrap-around that Java's
 * int gets for free is defined behaviour here; the result is converted to
 * int32_t only at the end.
 */
#include "producer/murmur2.h"

#define SEED 0x9747b28cu
#define M 0x5bd1e995u
#define R 24

int32_t kfk__murmur2(const void *key, size_t len)
{
    const uint8_t *p = key;
    /* Java hashes a byte[] whose length is an int: the seed mixes in the
     * low 32 bits of the length. */
    uint32_t h = SEED ^ (uint32_t)len;

    for (size_t i = 0; i + 4 <= len; i += 4) {
        /* Little-endian chunks whatever the host order, like Java. */
        uint32_t k = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 |
                     (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24;
        k *= M;
        k ^= k >> R;
        k *= M;
        h *= M;
        h ^= k;
    }

    /* The 1-3 byte tail; Java's switch falls through from case 3 to 1. */
    size_t tail = len & 3;
    if (tail) {
        const uint8_t *t = p + (len & ~(size_t)3);
        if (tail == 3)
            h ^= (uint32_t)t[2] << 16;
        if (tail >= 2)
            h ^= (uint32_t)t[1] << 8;
        h ^= t[0];
        h *= M;
    }

    h ^= h >> 13;
    h *= M;
    h ^= h >> 15;
    /* Two's-complement reinterpretation, spelled so it is not
     * implementation-defined. */
    return h <= INT32_MAX ? (int32_t)h
                          : (int32_t)(h - INT32_MAX - 1) + INT32_MIN;
}

int32_t kfk__murmur2_partition(const void *key, size_t len,
                               int32_t partition_cnt)
{
    if (partition_cnt <= 0)
        return -1;
    /* Java's Utils.toPositive(): clear the sign bit rather than abs(),
     * which would overflow on INT32_MIN. */
    uint32_t positive = (uint32_t)kfk__murmur2(key, len) & 0x7fffffffu;
    return (int32_t)(positive % (uint32_t)partition_cnt);
}
