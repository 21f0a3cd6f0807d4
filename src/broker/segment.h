/*
 * segment.h: one segment of a partition log: a run of whole record
 * batches with increasing offsets, stored either in memory or in an
 * append-only file, plus a sparse offset index over it.
 *
 * Storage is a list of chunks, each a contiguous block that is never moved
 * or reallocated while the segment lives, so a pointer to a stored batch
 * stays valid across appends:
 *   - memory: malloc'd chunks that grow geometrically (64 KiB .. 8 MiB, or
 *     one chunk sized to a larger batch); a batch never straddles chunks;
 *   - file: exactly one chunk, a shared read-only mapping of the file that
 *     is at least as long as the file. Bytes go in with pwritev (which
 *     grows the file) and are read through the mapping.
 *
 * The sparse index has an entry for the first batch of every chunk and
 * then one per ~4 KiB of batches, so a lookup is a binary search plus a
 * short walk over batch headers.
 *
 * Only log.c and compact.c use this; it knows nothing about validation
 * rules, retention or compaction. Pure data structure: no clock, no
 * logging, single-threaded.
 */
#ifndef KFK_BROKER_SEGMENT_H
#define KFK_BROKER_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/record.h"

/* Returned by kfk__seg_reserve when a file segment's mapping cannot take
 * the bytes: the caller rolls a new segment. Not a kfk_err_t. */
#define KFK__SEG_FULL 1

typedef struct kfk__seg_chunk {
    uint8_t *data;
    size_t cap;
    size_t len;
} kfk__seg_chunk;

/* Where a batch sits: chunk index and byte position in that chunk. */
typedef struct kfk__seg_pos {
    uint32_t chunk;
    uint32_t pos;
} kfk__seg_pos;

typedef struct kfk__seg_idx {
    int64_t offset; /* base offset of the batch at pos */
    kfk__seg_pos at;
} kfk__seg_idx;

typedef struct kfk__segment {
    int64_t base; /* the segment's name; <= its first batch's base */
    int64_t next; /* last offset of the last batch + 1; base if empty */
    size_t bytes; /* bytes of all batches */
    size_t nbatches;
    int64_t max_ts;        /* largest batch maxTimestamp; -1 if none */
    int64_t max_ts_offset; /* base offset of the first batch with max_ts */
    int64_t created_ms;    /* when the segment was created or opened */
    int64_t horizon_ms;    /* compaction: tombstones go after this; -1 unset */

    kfk__seg_chunk *chunks;
    uint32_t nchunks, capchunks;
    kfk__seg_idx *idx;
    size_t nidx, capidx;
    size_t since_idx; /* batch bytes since the last index entry */

    int fd;     /* -1 in memory */
    char *path; /* the file, or NULL */
    bool dirty; /* written since the last fsync */
} kfk__segment;

/* A new, empty in-memory segment in *out (owned by the caller; free with
 * kfk__seg_free). Returns 0 or KFK_ERR__NOMEM. */
int kfk__seg_new_mem(int64_t base, int64_t now_ms, kfk__segment **out);

/* Creates (truncating any old file) dir/<base as 20 digits>.log plus
 * suffix (suffix may be NULL) and maps map_len bytes of it (at least one
 * page). Returns 0, KFK_ERR__NOMEM or KFK_ERR_KAFKA_STORAGE_ERROR. */
int kfk__seg_create(const char *dir, int64_t base, const char *suffix,
                    size_t map_len, int64_t now_ms, kfk__segment **out);

/* Opens the existing segment file path (named for base), maps
 * max(file size, map_len) bytes and recovers it: every batch is checked
 * (magic 2, lengths, CRC, offsets increasing and >= base) and the file is
 * truncated at the first one that is not whole and valid. *truncated
 * receives the bytes cut off (0 for a clean file). path is copied.
 * Returns 0, KFK_ERR__NOMEM or KFK_ERR_KAFKA_STORAGE_ERROR. */
int kfk__seg_recover(const char *path, int64_t base, size_t map_len,
                     int64_t now_ms, kfk__segment **out, size_t *truncated);

/* Frees the segment (unmaps and closes its file, which stays on disk).
 * NULL is fine. Pointers into it become invalid. */
void kfk__seg_free(kfk__segment *s);

/* Like kfk__seg_free, and removes the file. NULL is fine. */
void kfk__seg_delete(kfk__segment *s);

/* Makes room for n more contiguous bytes holding nbatches batches, so that
 * the following kfk__seg_write and kfk__seg_add_batch calls cannot fail
 * for lack of memory. hint is how many bytes the segment may still grow
 * (sizes the next memory chunk). Returns 0, KFK_ERR__NOMEM,
 * KFK_ERR_KAFKA_STORAGE_ERROR (remapping failed) or KFK__SEG_FULL (file
 * segment whose mapping is too short: roll). */
int kfk__seg_reserve(kfk__segment *s, size_t n, size_t nbatches, size_t hint);

/* One piece of bytes to store. */
typedef struct kfk__seg_iov {
    const void *data;
    size_t len;
} kfk__seg_iov;

/* Stores the n pieces back to back (after kfk__seg_reserve for their
 * total) and sets *where to them in the segment. Does not index them.
 * A file segment gets them with one pwritev: stored bytes are never
 * written through the mapping (on some VMs that costs several times the
 * copy). Returns 0, or KFK_ERR_KAFKA_STORAGE_ERROR when the file write
 * failed (the file is cut back; nothing changed). */
int kfk__seg_writev(kfk__segment *s, const kfk__seg_iov *v, size_t n,
                    uint8_t **where);

/* kfk__seg_writev of one piece. */
int kfk__seg_write(kfk__segment *s, const void *data, size_t n,
                   uint8_t **where);

/* Accounts one stored batch (in the order written): offsets, timestamps,
 * index. b must describe bytes written by the last kfk__seg_write. */
void kfk__seg_add_batch(kfk__segment *s, const kfk__batch *b);

/* Positions *pos at the first batch whose last offset is >= offset.
 * Returns false when there is none. */
bool kfk__seg_seek(const kfk__segment *s, int64_t offset, kfk__seg_pos *pos);

/* Positions *pos at the first batch. Returns false if the segment is
 * empty. */
bool kfk__seg_first(const kfk__segment *s, kfk__seg_pos *pos);

/* Parses the batch at *pos into *b and moves *pos past it. Returns false
 * at the end of the segment. */
bool kfk__seg_next(const kfk__segment *s, kfk__seg_pos *pos, kfk__batch *b);

/* Drops every batch from pos on (pos from seek/first/next) and recomputes
 * the segment's offsets, timestamps and index. Returns 0 or
 * KFK_ERR_KAFKA_STORAGE_ERROR (the file could not be cut; the segment is
 * unchanged). */
int kfk__seg_truncate(kfk__segment *s, kfk__seg_pos pos);

/* Maps map_len bytes (at least the file) of a file segment afresh, so an
 * active segment reopened after a restart can grow to segment.bytes. Only
 * while nobody holds pointers into the segment (the log's open). Returns 0
 * or KFK_ERR_KAFKA_STORAGE_ERROR (the old mapping stays). */
int kfk__seg_remap(kfk__segment *s, size_t map_len);

/* A file segment that will not grow any more gives back the unused part
 * of its mapping (the addresses of stored bytes do not change). */
void kfk__seg_seal(kfk__segment *s);

/* fsyncs a file segment that was written since the last flush. Returns 0
 * or KFK_ERR_KAFKA_STORAGE_ERROR. */
int kfk__seg_flush(kfk__segment *s);

/* Renames the segment's file to path, which it takes ownership of in every
 * case (kfk__malloc'd), replacing what is there. Cannot fail for lack of
 * memory, so a caller can prepare the name before a step that must not
 * be followed by an allocation. Returns 0 or KFK_ERR_KAFKA_STORAGE_ERROR
 * (the segment keeps its old name). */
int kfk__seg_rename(kfk__segment *s, char *path);

/* Renames the segment's file to dir/<base>.log plus suffix (may be NULL),
 * replacing what is there; the segment keeps its mapping. Returns 0,
 * KFK_ERR__NOMEM or KFK_ERR_KAFKA_STORAGE_ERROR. */
int kfk__seg_publish(kfk__segment *s, const char *dir, const char *suffix);

/* dir/<base as 20 digits>.log plus suffix, kfk__malloc'd (caller frees),
 * or NULL on NOMEM. */
char *kfk__seg_path(const char *dir, int64_t base, const char *suffix);

#endif
