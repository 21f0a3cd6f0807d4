/*
 * log_int.h: the partition log's insides, shared by log.c (appends,
 * reads, retention, recovery) and compact.c (the cleaner). Nothing else
 * includes it; the API is log.h.
 */
#ifndef KFK_BROKER_LOG_INT_H
#define KFK_BROKER_LOG_INT_H

#include "broker/log.h"
#include "broker/segment.h"

typedef struct kfk__epoch_entry {
    int32_t epoch;
    int64_t start; /* first offset written in this epoch */
} kfk__epoch_entry;

struct kfk__plog {
    kfk__plog_conf conf;
    char *dir; /* NULL: memory only */

    /* Ordered by base offset; never empty; the last one is active. */
    kfk__segment **segs;
    size_t nsegs, capsegs;

    int64_t start; /* log start offset */
    int64_t end;   /* log end offset: the next offset to assign */

    kfk__epoch_entry *epochs; /* ascending epochs and start offsets */
    size_t nepochs, capepochs;

    /* Compaction: where the cleanable part ended at the last run, and the
     * earliest tombstone horizon still ahead (INT64_MAX: none). */
    int64_t compact_done;
    int64_t horizon_min;
};

/* Appends a new, empty active segment at base (sealing the previous one).
 * Returns 0, KFK_ERR__NOMEM or KFK_ERR_KAFKA_STORAGE_ERROR. (log.c) */
int kfk__plog_add_segment(kfk__plog *log, int64_t base, int64_t now_ms);

/* Replaces segs[first .. first+count) by with (which takes their place in
 * the array). Does not free the old segments. */
void kfk__plog_splice(kfk__plog *log, size_t first, size_t count,
                      kfk__segment *with);

/* Room for n more epoch entries. Returns 0 or KFK_ERR__NOMEM.
 * (log_retention.c) */
int kfk__plog_epochs_reserve(kfk__plog *log, size_t n);
/* Appends (epoch, start) after dropping entries starting at or after
 * start; room must have been reserved. */
void kfk__plog_epochs_push(kfk__plog *log, int32_t epoch, int64_t start);

/* Drops epoch entries wholly below the log start and moves the first
 * remaining one up to it (Kafka's truncateFromStart). */
void kfk__plog_epochs_trim_start(kfk__plog *log);

/* Recovers log->dir into the segments, start, end and epochs (creating an
 * empty segment if there is none). Returns 0, KFK_ERR__NOMEM or
 * KFK_ERR_KAFKA_STORAGE_ERROR. (log_disk.c) */
int kfk__plog_disk_load(kfk__plog *log, int64_t now_ms);
/* Writes kfk-log.checkpoint (start and epochs) atomically and durably.
 * Returns 0, KFK_ERR__NOMEM or KFK_ERR_KAFKA_STORAGE_ERROR. */
int kfk__plog_disk_checkpoint(const kfk__plog *log);
/* fsyncs the directory. Returns 0 or KFK_ERR_KAFKA_STORAGE_ERROR. */
int kfk__plog_disk_sync_dir(const kfk__plog *log);

/* now - then > age, without overflow for any values. */
static inline bool kfk__plog_older(int64_t then, int64_t now, int64_t age)
{
    int64_t d;
    if (__builtin_sub_overflow(now, then, &d))
        return then < 0; /* now far above then: older */
    return d > age;
}

#endif
