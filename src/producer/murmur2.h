/*
 * murmur2.h: the hash behind the Java client's default partitioner.
 *
 * A keyed record must land on the same partition whichever client produced
 * it, or compacted topics and keyed consumers break when applications mix
 * clients. So this is bit-for-bit Kafka's Utils.murmur2() and
 * BuiltInPartitioner.partitionForKey(), not a "better" hash.
 */
#ifndef KFK_PRODUCER_MURMUR2_H
#define KFK_PRODUCER_MURMUR2_H

#include <stddef.h>
#include <stdint.h>

/* MurmurHash2 of len bytes at key, as Java's signed int. key may be NULL
 * when len is 0 (the empty key). Pure; any thread. */
int32_t kfk__murmur2(const void *key, size_t len);

/* The partition (0 .. partition_cnt-1) the Java client picks for this key:
 * (murmur2(key) & 0x7fffffff) % partition_cnt, over all partitions of the
 * topic. Returns -1 if partition_cnt <= 0. Pure; any thread. */
int32_t kfk__murmur2_partition(const void *key, size_t len,
                               int32_t partition_cnt);

#endif
