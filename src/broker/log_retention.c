/*
 * log_retention.c: everything that removes data from a partition log
 * except compaction: DeleteRecords, retention by time and size, and
 * truncation after an unclean leader change, plus the leader-epoch cache
 * that truncation and retention trim.
 *
 * Kafka's rules, as in UnifiedLog: only whole segments are deleted, oldest
 * first, only when all their data is below the high watermark; each rule
 * (time, size, log start) stops at the first segment it spares; the active
 * segment may go too, and a fresh empty one replaces it. The leader-epoch
 * cache follows LeaderEpochFileCache (assign, truncateFromStart,
 * truncateFromEnd, endOffsetFor).
 */
#include <string.h>

#include "broker/log_int.h"
#include "common/alloc.h"

/* ---- leader epochs ---------------------------------------------------- */

int kfk__plog_epochs_reserve(kfk__plog *log, size_t n)
{
    if (log->nepochs + n <= log->capepochs)
        return 0;
    size_t cap = log->capepochs ? log->capepochs * 2 : 8;
    while (cap < log->nepochs + n)
        cap *= 2;
    kfk__epoch_entry *v = kfk__realloc(log->epochs, cap * sizeof(*v));
    if (!v)
        return KFK_ERR__NOMEM;
    log->epochs = v;
    log->capepochs = cap;
    return 0;
}

void kfk__plog_epochs_push(kfk__plog *log, int32_t epoch, int64_t start)
{
    while (log->nepochs && (log->epochs[log->nepochs - 1].epoch >= epoch ||
                            log->epochs[log->nepochs - 1].start >= start))
        log->nepochs--;
    log->epochs[log->nepochs++] = (kfk__epoch_entry){epoch, start};
}

int32_t kfk__plog_latest_epoch(const kfk__plog *log)
{
    return log->nepochs ? log->epochs[log->nepochs - 1].epoch : -1;
}

void kfk__plog_epochs_trim_start(kfk__plog *log)
{
    size_t k = 0;
    while (k < log->nepochs && log->epochs[k].start <= log->start)
        k++;
    if (k == 0)
        return;
    log->epochs[k - 1].start = log->start;
    memmove(log->epochs, &log->epochs[k - 1],
            (log->nepochs - (k - 1)) * sizeof(*log->epochs));
    log->nepochs -= k - 1;
}

/* Entries starting at or after end go (Kafka's truncateFromEnd). */
static void epochs_trim_end(kfk__plog *log)
{
    while (log->nepochs && log->epochs[log->nepochs - 1].start >= log->end)
        log->nepochs--;
}

int kfk__plog_assign_epoch(kfk__plog *log, int32_t epoch)
{
    if (epoch < 0 || epoch <= kfk__plog_latest_epoch(log))
        return 0;
    int err = kfk__plog_epochs_reserve(log, 1);
    if (err)
        return err;
    kfk__plog_epochs_push(log, epoch, log->end);
    return log->dir ? kfk__plog_disk_checkpoint(log) : 0;
}

void kfk__plog_epoch_end(const kfk__plog *log, int32_t epoch,
                         int32_t *out_epoch, int64_t *end_offset)
{
    size_t higher = 0;
    *out_epoch = -1;
    *end_offset = -1;
    if (epoch < 0 || log->nepochs == 0)
        return;
    if (epoch == kfk__plog_latest_epoch(log)) {
        *out_epoch = epoch;
        *end_offset = log->end;
        return;
    }
    while (higher < log->nepochs && log->epochs[higher].epoch <= epoch)
        higher++;
    if (higher == log->nepochs)
        return;
    *out_epoch = higher ? log->epochs[higher - 1].epoch : epoch;
    *end_offset = log->epochs[higher].start;
}

/* ---- removing segments ------------------------------------------------ */

/* Deletes the first k segments (files too). */
static void drop_prefix(kfk__plog *log, size_t k)
{
    for (size_t i = 0; i < k; i++)
        kfk__seg_delete(log->segs[i]);
    memmove(log->segs, &log->segs[k], (log->nsegs - k) * sizeof(*log->segs));
    log->nsegs -= k;
}

/* Segments wholly below the log start (never the active one). */
static size_t count_below_start(const kfk__plog *log)
{
    size_t k = 0;
    while (k + 1 < log->nsegs && log->segs[k + 1]->base <= log->start)
        k++;
    return k;
}

int kfk__plog_delete_records(kfk__plog *log, int64_t offset, int64_t *low)
{
    if (offset < 0 || offset > log->end)
        return KFK_ERR_OFFSET_OUT_OF_RANGE;
    if (offset > log->start) {
        int64_t old = log->start;
        log->start = offset;
        int err = log->dir ? kfk__plog_disk_checkpoint(log) : 0;
        if (err) {
            log->start = old;
            return err;
        }
        kfk__plog_epochs_trim_start(log);
        drop_prefix(log, count_below_start(log));
    }
    if (low)
        *low = log->start;
    return 0;
}

/* ---- retention -------------------------------------------------------- */

/* Whether segment i may go at all: its data is below hw, and it is not
 * the empty active segment. */
static bool deletable(const kfk__plog *log, size_t i, int64_t hw)
{
    bool last = i + 1 == log->nsegs;
    if (last && log->segs[i]->nbatches == 0)
        return false;
    return (last ? log->end : log->segs[i + 1]->base) <= hw;
}

static size_t count_by_time(const kfk__plog *log, int64_t now_ms, int64_t hw)
{
    size_t k = 0;
    for (; k < log->nsegs && deletable(log, k, hw); k++) {
        const kfk__segment *s = log->segs[k];
        int64_t ts = s->max_ts >= 0 ? s->max_ts : s->created_ms;
        if (!kfk__plog_older(ts, now_ms, log->conf.retention_ms))
            break;
    }
    return k;
}

static size_t count_by_size(const kfk__plog *log, int64_t hw)
{
    uint64_t size = kfk__plog_size(log),
             limit = (uint64_t)log->conf.retention_bytes;
    uint64_t over = size > limit ? size - limit : 0;
    size_t k = 0;
    for (; k < log->nsegs && deletable(log, k, hw); k++) {
        if (log->segs[k]->bytes > over)
            break;
        over -= log->segs[k]->bytes;
    }
    return k;
}

/* Deletes the first k segments, rolling a new active one first when all
 * go; the log start follows. */
static int delete_leading(kfk__plog *log, size_t k, int64_t now_ms)
{
    if (k == 0)
        return 0;
    if (k == log->nsegs) {
        int err = kfk__plog_add_segment(log, log->end, now_ms);
        if (err)
            return err;
    }
    drop_prefix(log, k);
    if (log->start < log->segs[0]->base) {
        log->start = log->segs[0]->base;
        kfk__plog_epochs_trim_start(log);
    }
    return 0;
}

int kfk__plog_enforce_retention(kfk__plog *log, int64_t now_ms, int64_t hw,
                                size_t *deleted)
{
    size_t total = 0, k;
    int err = 0;
    if (hw < 0 || hw > log->end)
        hw = log->end;
    if (log->conf.cleanup_delete && log->conf.retention_ms >= 0) {
        k = count_by_time(log, now_ms, hw);
        if (!(err = delete_leading(log, k, now_ms)))
            total += k;
    }
    if (!err && log->conf.cleanup_delete && log->conf.retention_bytes >= 0) {
        k = count_by_size(log, hw);
        if (!(err = delete_leading(log, k, now_ms)))
            total += k;
    }
    if (!err) {
        k = count_below_start(log);
        if (!(err = delete_leading(log, k, now_ms)))
            total += k;
    }
    if (deleted)
        *deleted = total;
    return err;
}

/* ---- truncation ------------------------------------------------------- */

/* Everything goes; the log restarts empty at offset (below the start). The
 * new segment is made first (under a temporary name on disk, as its name
 * may be taken), so a failure changes nothing. */
static int reset_at(kfk__plog *log, int64_t offset, int64_t now_ms)
{
    kfk__segment *s = NULL;
    char *final = log->dir ? kfk__seg_path(log->dir, offset, NULL) : NULL;
    int err = log->dir && !final ? KFK_ERR__NOMEM : 0;
    if (!err)
        err = log->dir
                  ? kfk__seg_create(log->dir, offset, ".cleaned",
                                    (size_t)log->conf.segment_bytes, now_ms, &s)
                  : kfk__seg_new_mem(offset, now_ms, &s);
    if (err) {
        kfk__free(final);
        return err;
    }
    for (size_t i = log->nsegs; i-- > 0;)
        kfk__seg_delete(log->segs[i]);
    log->segs[0] = s;
    log->nsegs = 1;
    log->start = log->end = offset;
    log->nepochs = 0;
    log->compact_done = -1;
    if (!log->dir)
        return 0;
    err = kfk__seg_rename(s, final);
    return err ? err : kfk__plog_disk_checkpoint(log);
}

int kfk__plog_truncate_to(kfk__plog *log, int64_t offset, int64_t *new_end)
{
    int err = 0;
    if (offset < 0)
        return KFK_ERR_OFFSET_OUT_OF_RANGE;
    if (offset < log->start) {
        err = reset_at(log, offset, log->segs[0]->created_ms);
    } else if (offset < log->end) {
        size_t i = log->nsegs - 1;
        while (i > 0 && log->segs[i]->base > offset)
            i--;
        for (size_t j = log->nsegs; j-- > i + 1;)
            kfk__seg_delete(log->segs[j]);
        log->nsegs = i + 1;
        kfk__seg_pos p;
        if (kfk__seg_seek(log->segs[i], offset, &p))
            err = kfk__seg_truncate(log->segs[i], p);
        log->end = log->segs[i]->next;
        log->compact_done = -1;
        epochs_trim_end(log);
        if (!err && log->dir)
            err = kfk__plog_disk_checkpoint(log);
    }
    if (new_end)
        *new_end = log->end;
    return err;
}
