/*
 * crc32c.h: CRC-32C (Castagnoli), the checksum of every magic-2 record
 * batch. It runs over every byte a producer sends and a consumer reads, so
 * it uses the SSE4.2 crc32 instruction when the CPU has one and a
 * slicing-by-8 table otherwise. Pure functions; any thread.
 */
#ifndef KFK_PROTO_CRC32C_H
#define KFK_PROTO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over len bytes at buf and returns the new value,
 * so kfk__crc32c(kfk__crc32c(0, a, n), b, m) equals the CRC of a then b.
 * buf may be NULL when len is 0. Picks the fastest implementation this CPU
 * supports (decided once, thread-safely). */
uint32_t kfk__crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable slicing-by-8 implementation; same contract. */
uint32_t kfk__crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* The SSE4.2 implementation; same contract. Only call it when
 * kfk__crc32c_hw_available() says 1 (it would fault otherwise). */
uint32_t kfk__crc32c_hw(uint32_t crc, const void *buf, size_t len);

/* 1 if this CPU (and build) can run kfk__crc32c_hw, else 0. */
int kfk__crc32c_hw_available(void);

#endif
