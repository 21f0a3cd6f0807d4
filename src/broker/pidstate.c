/*
 * pidstate.c: idempotent-producer state of one partition (see pidstate.h
 * for the rules).
 *
 * It exists so the Produce handler can ask one question per batch ("new,
 * duplicate, or rejected?") without knowing Kafka's sequence arithmetic.
 * Producers live in an open-addressing table keyed by producer id with
 * their five-batch window inline, so a check is one probe and no
 * allocation once the table has room; deletion shifts entries back
 * instead of leaving tombstones, so expiry keeps the table tight.
 */
#include "broker/pidstate.h"

#include <string.h>

#include "common/alloc.h"

typedef struct pid_batch {
    int32_t first_seq, last_seq;
    int64_t first_offset, last_offset;
    int64_t timestamp;
} pid_batch;

typedef struct pid_entry {
    int64_t pid; /* -1: free slot */
    int16_t epoch;
    uint8_t n, head; /* window: n batches, oldest at head */
    int64_t last_active_ms;
    pid_batch win[KFK__PIDSTATE_WINDOW];
} pid_entry;

struct kfk__pidstate {
    pid_entry *v;
    size_t cap, n; /* cap: 0 or a power of two, at most half full */
};

/* ---- sequence arithmetic ---------------------------------------------- */

/* seq + n, wrapping past INT32_MAX to 0 (Kafka's incrementSequence). */
static int32_t seq_add(int32_t seq, int32_t n)
{
    if (seq > INT32_MAX - n)
        return n - (INT32_MAX - seq) - 1;
    return seq + n;
}

static bool in_sequence(int32_t last, int32_t next)
{
    return last == INT32_MAX ? next == 0 : next == last + 1;
}

/* ---- the table -------------------------------------------------------- */

static size_t home(const kfk__pidstate *ps, int64_t pid)
{
    return (size_t)(((uint64_t)pid * 0x9e3779b97f4a7c15ULL) >> 17) &
           (ps->cap - 1);
}

static pid_entry *slot(const kfk__pidstate *ps, int64_t pid)
{
    size_t i = home(ps, pid);
    while (ps->v[i].pid >= 0 && ps->v[i].pid != pid)
        i = (i + 1) & (ps->cap - 1);
    return &ps->v[i];
}

static pid_entry *find(const kfk__pidstate *ps, int64_t pid)
{
    if (!ps->cap)
        return NULL;
    pid_entry *e = slot(ps, pid);
    return e->pid == pid ? e : NULL;
}

/* Room for one more producer. */
static int reserve(kfk__pidstate *ps)
{
    if ((ps->n + 1) * 2 <= ps->cap)
        return 0;
    size_t cap = ps->cap ? ps->cap * 2 : 16;
    pid_entry *v = kfk__malloc(cap * sizeof(*v)), *old = ps->v;
    size_t oldcap = ps->cap;
    if (!v)
        return KFK_ERR__NOMEM;
    for (size_t i = 0; i < cap; i++)
        v[i].pid = -1;
    ps->v = v;
    ps->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].pid >= 0)
            *slot(ps, old[i].pid) = old[i];
    kfk__free(old);
    return 0;
}

/* The entry for pid, created (with epoch) if missing; NULL on NOMEM. */
static pid_entry *find_or_add(kfk__pidstate *ps, int64_t pid, int16_t epoch)
{
    pid_entry *e = find(ps, pid);
    if (e)
        return e;
    if (reserve(ps))
        return NULL;
    e = slot(ps, pid);
    memset(e, 0, sizeof(*e));
    e->pid = pid;
    e->epoch = epoch;
    ps->n++;
    return e;
}

/* Removes the entry at i, shifting later entries of its probe run back. */
static void erase(kfk__pidstate *ps, size_t i)
{
    size_t mask = ps->cap - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (ps->v[j].pid < 0)
            break;
        size_t k = home(ps, ps->v[j].pid);
        /* j stays if its home lies cyclically in (i, j] */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            ps->v[i] = ps->v[j];
            i = j;
        }
    }
    ps->v[i].pid = -1;
    ps->n--;
}

/* Removes every entry drop() selects. */
static size_t erase_if(kfk__pidstate *ps,
                       bool (*drop)(const pid_entry *e, int64_t a, int64_t b),
                       int64_t a, int64_t b)
{
    size_t removed = 0;
    for (size_t i = 0; i < ps->cap;) {
        if (ps->v[i].pid >= 0 && drop(&ps->v[i], a, b)) {
            erase(ps, i); /* slot i may now hold a shifted entry */
            removed++;
        } else {
            i++;
        }
    }
    return removed;
}

static const pid_batch *newest(const pid_entry *e)
{
    if (!e->n)
        return NULL;
    return &e->win[(e->head + e->n - 1) % KFK__PIDSTATE_WINDOW];
}

/* ---- life cycle ------------------------------------------------------- */

int kfk__pidstate_new(kfk__pidstate **out)
{
    *out = kfk__calloc(1, sizeof(**out));
    return *out ? 0 : KFK_ERR__NOMEM;
}

void kfk__pidstate_free(kfk__pidstate *ps)
{
    if (!ps)
        return;
    kfk__free(ps->v);
    kfk__free(ps);
}

/* ---- checking and recording ------------------------------------------- */

static bool find_dup(const pid_entry *e, int32_t first, int32_t last,
                     kfk__pid_dup *dup)
{
    for (int i = 0; i < e->n; i++) {
        const pid_batch *b = &e->win[(e->head + i) % KFK__PIDSTATE_WINDOW];
        if (b->first_seq == first && b->last_seq == last) {
            dup->duplicate = true;
            dup->base_offset = b->first_offset;
            dup->last_offset = b->last_offset;
            dup->timestamp = b->timestamp;
            return true;
        }
    }
    return false;
}

int kfk__pidstate_check(kfk__pidstate *ps, int64_t pid, int16_t epoch,
                        int32_t base_seq, int32_t count, kfk__pid_dup *dup)
{
    memset(dup, 0, sizeof(*dup));
    dup->base_offset = dup->last_offset = dup->timestamp = -1;
    if (pid < 0)
        return 0;
    if (count < 1)
        return KFK_ERR_INVALID_RECORD;
    const pid_entry *e = find(ps, pid);
    if (!e) {
        if (reserve(ps))
            return KFK_ERR__NOMEM;
        return base_seq == 0 ? 0 : KFK_ERR_UNKNOWN_PRODUCER_ID;
    }
    if (epoch < e->epoch)
        return KFK_ERR_INVALID_PRODUCER_EPOCH;
    if (epoch > e->epoch)
        return base_seq == 0 ? 0 : KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    if (base_seq >= 0 &&
        find_dup(e, base_seq, seq_add(base_seq, count - 1), dup))
        return 0;
    const pid_batch *last = newest(e);
    bool ok = last ? in_sequence(last->last_seq, base_seq) : base_seq == 0;
    return ok ? 0 : KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
}

/* Moves e to epoch (a change forgets the window). */
static void set_epoch(pid_entry *e, int16_t epoch)
{
    if (epoch != e->epoch) {
        e->epoch = epoch;
        e->n = e->head = 0;
    }
}

int kfk__pidstate_record(kfk__pidstate *ps, int64_t pid, int16_t epoch,
                         int32_t base_seq, int32_t count, int64_t base_offset,
                         int64_t timestamp, int64_t now_ms)
{
    if (pid < 0 || count < 1)
        return 0;
    pid_entry *e = find_or_add(ps, pid, epoch);
    if (!e)
        return KFK_ERR__NOMEM;
    set_epoch(e, epoch);
    pid_batch b = {base_seq, seq_add(base_seq, count - 1), base_offset,
                   base_offset + (count - 1), timestamp};
    if (e->n == KFK__PIDSTATE_WINDOW) {
        e->win[e->head] = b; /* the oldest slot becomes the newest */
        e->head = (uint8_t)((e->head + 1) % KFK__PIDSTATE_WINDOW);
    } else {
        e->win[(e->head + e->n) % KFK__PIDSTATE_WINDOW] = b;
        e->n++;
    }
    e->last_active_ms = now_ms;
    return 0;
}

int kfk__pidstate_record_marker(kfk__pidstate *ps, int64_t pid, int16_t epoch,
                                int64_t now_ms)
{
    if (pid < 0)
        return 0;
    pid_entry *e = find_or_add(ps, pid, epoch);
    if (!e)
        return KFK_ERR__NOMEM;
    if (epoch > e->epoch)
        set_epoch(e, epoch);
    e->last_active_ms = now_ms;
    return 0;
}

/* ---- removal ---------------------------------------------------------- */

static bool idle(const pid_entry *e, int64_t now_ms, int64_t expiration_ms)
{
    int64_t d;
    if (__builtin_sub_overflow(now_ms, e->last_active_ms, &d))
        return e->last_active_ms < 0;
    return d >= expiration_ms;
}

size_t kfk__pidstate_expire(kfk__pidstate *ps, int64_t now_ms,
                            int64_t expiration_ms)
{
    return erase_if(ps, idle, now_ms, expiration_ms);
}

static bool below(const pid_entry *e, int64_t log_start, int64_t unused)
{
    (void)unused;
    const pid_batch *b = newest(e);
    return !b || b->last_offset < log_start;
}

size_t kfk__pidstate_truncate_head(kfk__pidstate *ps, int64_t log_start)
{
    return erase_if(ps, below, log_start, 0);
}

static void clear(kfk__pidstate *ps)
{
    for (size_t i = 0; i < ps->cap; i++)
        ps->v[i].pid = -1;
    ps->n = 0;
}

int kfk__pidstate_rebuild(kfk__pidstate *ps, const kfk__plog *log,
                          int64_t now_ms)
{
    kfk__plog_iter it;
    kfk__batch b;
    int err = 0;
    clear(ps);
    kfk__plog_iter_init(&it, log, kfk__plog_start_offset(log));
    while (!err && kfk__plog_iter_next(&it, &b)) {
        const kfk__batch_hdr *h = &b.h;
        if (h->producer_id < 0)
            continue;
        if (kfk__batch_is_control(&b))
            err = kfk__pidstate_record_marker(ps, h->producer_id,
                                              h->producer_epoch, now_ms);
        else
            err =
                kfk__pidstate_record(ps, h->producer_id, h->producer_epoch,
                                     h->base_sequence, h->last_offset_delta + 1,
                                     h->base_offset, h->max_timestamp, now_ms);
    }
    if (err)
        clear(ps);
    return err;
}

/* ---- queries ---------------------------------------------------------- */

size_t kfk__pidstate_count(const kfk__pidstate *ps)
{
    return ps->n;
}

static void describe(const pid_entry *e, kfk__pid_info *info)
{
    const pid_batch *b = newest(e);
    info->producer_id = e->pid;
    info->epoch = e->epoch;
    info->last_seq = b ? b->last_seq : -1;
    info->last_offset = b ? b->last_offset : -1;
    info->last_timestamp = b ? b->timestamp : -1;
    info->last_active_ms = e->last_active_ms;
    info->nbatches = e->n;
}

bool kfk__pidstate_get(const kfk__pidstate *ps, int64_t pid,
                       kfk__pid_info *info)
{
    const pid_entry *e = pid >= 0 ? find(ps, pid) : NULL;
    if (e)
        describe(e, info);
    return e != NULL;
}

void kfk__pidstate_foreach(const kfk__pidstate *ps,
                           void (*fn)(const kfk__pid_info *info, void *arg),
                           void *arg)
{
    kfk__pid_info info;
    for (size_t i = 0; i < ps->cap; i++) {
        if (ps->v[i].pid >= 0) {
            describe(&ps->v[i], &info);
            fn(&info, arg);
        }
    }
}
