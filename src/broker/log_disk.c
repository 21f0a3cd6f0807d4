/*
 * log_disk.c: what a durable partition log does with its directory apart
 * from appending: opening (and recovering) it, and the small checkpoint
 * file for what the segment files cannot say themselves.
 *
 * The segment files are the truth. Opening finishes or discards an
 * interrupted compaction swap, then recovers every <base>.log in order;
 * the first file cut short by recovery ends the log (later files are
 * deleted, as Kafka does, so offsets stay dense). kfk-log.checkpoint
 * holds the log start offset (DeleteRecords may put it inside a segment)
 * and the leader-epoch cache (an epoch may start at the log end with no
 * batch yet); it is replaced atomically (write, fsync, rename).
 *
 * A compaction swap is committed by renaming its output to
 * <base>.log.swap.<end>: the inputs were every segment with a base in
 * [base, end). Recovery deletes those and renames the output to
 * <base>.log, so a crash at any point leaves either the old segments or
 * the new one, never both.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log_int.h"
#include "common/alloc.h"

#define CHECKPOINT "kfk-log.checkpoint"
#define CHECKPOINT_TMP "kfk-log.checkpoint.tmp"
#define CHECKPOINT_MAX (1 << 20)
#define DIGITS 20

/* ---- paths ------------------------------------------------------------ */

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = kfk__malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char *p = kfk__strndup(dir, strlen(dir));
    int err = 0;
    if (!p)
        return KFK_ERR__NOMEM;
    for (char *s = p + 1; !err; s++) {
        if (*s != '/' && *s)
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) && errno != EEXIST)
            err = KFK_ERR_KAFKA_STORAGE_ERROR;
        *s = c;
        if (!c)
            break;
    }
    kfk__free(p);
    return err;
}

/* Parses DIGITS decimal digits at s. */
static bool parse_base(const char *s, int64_t *base)
{
    int64_t v = 0;
    for (int i = 0; i < DIGITS; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *base = v;
    return true;
}

/* ---- the checkpoint --------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void format_checkpoint(const kfk__plog *log, kfk__wbuf *w)
{
    char line[80];
    int n = snprintf(line, sizeof(line), "kfk-log 1\nstart %" PRId64 "\n",
                     log->start);
    kfk__wr_raw(w, line, (size_t)n);
    for (size_t i = 0; i < log->nepochs; i++) {
        n = snprintf(line, sizeof(line), "epoch %" PRId32 " %" PRId64 "\n",
                     log->epochs[i].epoch, log->epochs[i].start);
        kfk__wr_raw(w, line, (size_t)n);
    }
}

static int write_file(const char *path, const kfk__wbuf *w)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return KFK_ERR_KAFKA_STORAGE_ERROR;
    int bad = write_all(fd, w->data, w->len) || fdatasync(fd);
    bad |= close(fd) != 0;
    return bad ? KFK_ERR_KAFKA_STORAGE_ERROR : 0;
}

int kfk__plog_disk_checkpoint(const kfk__plog *log)
{
    kfk__wbuf w;
    char *tmp = join(log->dir, CHECKPOINT_TMP);
    char *path = join(log->dir, CHECKPOINT);
    int err = tmp && path ? 0 : KFK_ERR__NOMEM;
    kfk__wbuf_init(&w, CHECKPOINT_MAX);
    if (!err)
        format_checkpoint(log, &w);
    if (!err && kfk__wbuf_err(&w))
        err = kfk__wbuf_err(&w);
    if (!err)
        err = write_file(tmp, &w);
    if (!err && rename(tmp, path))
        err = KFK_ERR_KAFKA_STORAGE_ERROR;
    if (!err)
        err = kfk__plog_disk_sync_dir(log);
    kfk__wbuf_free(&w);
    kfk__free(tmp);
    kfk__free(path);
    return err;
}

int kfk__plog_disk_sync_dir(const kfk__plog *log)
{
    int fd = open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return KFK_ERR_KAFKA_STORAGE_ERROR;
    int bad = fsync(fd);
    close(fd);
    return bad ? KFK_ERR_KAFKA_STORAGE_ERROR : 0;
}

/* Reads the checkpoint into *start and log->epochs; a missing or
 * unreadable file means start 0 and no epochs. */
static int read_checkpoint(kfk__plog *log, int64_t *start)
{
    char *path = join(log->dir, CHECKPOINT);
    FILE *f = path ? fopen(path, "re") : NULL;
    char line[128];
    int err = path ? 0 : KFK_ERR__NOMEM;
    *start = 0;
    while (!err && f && fgets(line, sizeof(line), f)) {
        long long a, b;
        int e;
        if (sscanf(line, "start %lld", &a) == 1 && a >= 0)
            *start = a;
        else if (sscanf(line, "epoch %d %lld", &e, &b) == 2 && e >= 0 &&
                 b >= 0 && e > kfk__plog_latest_epoch(log) &&
                 !(err = kfk__plog_epochs_reserve(log, 1)))
            kfk__plog_epochs_push(log, e, b);
    }
    if (f)
        fclose(f);
    kfk__free(path);
    return err;
}

/* ---- the directory listing -------------------------------------------- */

typedef struct listing {
    int64_t *v; /* segment bases, then pairs (base, end) of swaps */
    size_t n, cap;
    int64_t *swaps;
    size_t nswaps, capswaps;
} listing;

static int push64(int64_t **v, size_t *n, size_t *cap, int64_t x)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        int64_t *p = kfk__realloc(*v, c * sizeof(*p));
        if (!p)
            return KFK_ERR__NOMEM;
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = x;
    return 0;
}

static int remove_name(const kfk__plog *log, const char *name)
{
    char *p = join(log->dir, name);
    if (!p)
        return KFK_ERR__NOMEM;
    unlink(p);
    kfk__free(p);
    return 0;
}

static int remove_segment_file(const kfk__plog *log, int64_t base,
                               const char *suffix)
{
    char *p = kfk__seg_path(log->dir, base, suffix);
    if (!p)
        return KFK_ERR__NOMEM;
    unlink(p);
    kfk__free(p);
    return 0;
}

/* Sorts one directory entry: a segment, a swap, or debris to remove. */
static int list_entry(const kfk__plog *log, listing *l, const char *name)
{
    int64_t base, end;
    if (strlen(name) < DIGITS + 4 || !parse_base(name, &base) ||
        strncmp(name + DIGITS, ".log", 4))
        return strcmp(name, CHECKPOINT_TMP) ? 0 : remove_name(log, name);
    const char *rest = name + DIGITS + 4;
    if (!*rest)
        return push64(&l->v, &l->n, &l->cap, base);
    if (!strncmp(rest, ".swap.", 6) && strlen(rest) == 6 + DIGITS &&
        parse_base(rest + 6, &end)) {
        int err = push64(&l->swaps, &l->nswaps, &l->capswaps, base);
        return err ? err : push64(&l->swaps, &l->nswaps, &l->capswaps, end);
    }
    return remove_name(log, name); /* .cleaned: an unfinished compaction */
}

static int scan_dir(const kfk__plog *log, listing *l)
{
    DIR *d = opendir(log->dir);
    struct dirent *e;
    int err = 0;
    if (!d)
        return KFK_ERR_KAFKA_STORAGE_ERROR;
    while (!err && (e = readdir(d)))
        err = list_entry(log, l, e->d_name);
    closedir(d);
    return err;
}

/* Completes a committed swap: the inputs [base, end) go, the output
 * becomes <base>.log. */
static int finish_swap(const kfk__plog *log, listing *l, int64_t base,
                       int64_t end)
{
    char suffix[8 + DIGITS];
    snprintf(suffix, sizeof(suffix), ".swap.%020" PRId64, end);
    char *from = kfk__seg_path(log->dir, base, suffix);
    char *to = kfk__seg_path(log->dir, base, NULL);
    int err = from && to ? 0 : KFK_ERR__NOMEM;
    for (size_t i = 0; !err && i < l->n; i++) {
        if (l->v[i] >= base && l->v[i] < end) {
            err = remove_segment_file(log, l->v[i], NULL);
            l->v[i] = -1;
        }
    }
    if (!err && rename(from, to))
        err = KFK_ERR_KAFKA_STORAGE_ERROR;
    if (!err)
        err = push64(&l->v, &l->n, &l->cap, base);
    kfk__free(from);
    kfk__free(to);
    return err;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* ---- recovery --------------------------------------------------------- */

static int push_segment(kfk__plog *log, kfk__segment *s)
{
    if (log->nsegs == log->capsegs) {
        size_t cap = log->capsegs ? log->capsegs * 2 : 8;
        kfk__segment **v = kfk__realloc(log->segs, cap * sizeof(*v));
        if (!v)
            return KFK_ERR__NOMEM;
        log->segs = v;
        log->capsegs = cap;
    }
    log->segs[log->nsegs++] = s;
    return 0;
}

/* Recovers the sorted segment files; the first one cut short ends the
 * log. A file starting below the previous one's end is debris (a swap
 * input) and goes. */
static int recover_all(kfk__plog *log, const listing *l, int64_t now_ms)
{
    for (size_t i = 0; i < l->n; i++) {
        int64_t base = l->v[i];
        kfk__segment *s;
        size_t cut;
        if (base < 0)
            continue;
        if (log->nsegs && base < log->segs[log->nsegs - 1]->next) {
            if (remove_segment_file(log, base, NULL))
                return KFK_ERR__NOMEM;
            continue;
        }
        char *path = kfk__seg_path(log->dir, base, NULL);
        int err = path ? kfk__seg_recover(path, base, 0, now_ms, &s, &cut)
                       : KFK_ERR__NOMEM;
        kfk__free(path);
        if (!err && (err = push_segment(log, s)))
            kfk__seg_free(s);
        if (err)
            return err;
        for (size_t j = i + 1; cut && j < l->n; j++)
            if (l->v[j] >= 0 && remove_segment_file(log, l->v[j], NULL))
                return KFK_ERR__NOMEM;
        if (cut)
            break;
    }
    return 0;
}

/* Epochs: checkpoint entries past the end go (Kafka's truncateFromEnd);
 * epochs seen in batches but not in the checkpoint are added. */
static int recover_epochs(kfk__plog *log)
{
    kfk__plog_iter it;
    kfk__batch b;
    while (log->nepochs && log->epochs[log->nepochs - 1].start >= log->end)
        log->nepochs--;
    kfk__plog_iter_init(&it, log, 0);
    while (kfk__plog_iter_next(&it, &b)) {
        if (b.h.leader_epoch <= kfk__plog_latest_epoch(log))
            continue;
        int err = kfk__plog_epochs_reserve(log, 1);
        if (err)
            return err;
        kfk__plog_epochs_push(log, b.h.leader_epoch, b.h.base_offset);
    }
    kfk__plog_epochs_trim_start(log);
    return 0;
}

static int load_segments(kfk__plog *log, listing *l, int64_t now_ms)
{
    int err = scan_dir(log, l);
    for (size_t i = 0; !err && i + 1 < l->nswaps; i += 2)
        err = finish_swap(log, l, l->swaps[i], l->swaps[i + 1]);
    if (err)
        return err;
    if (l->n)
        qsort(l->v, l->n, sizeof(*l->v), cmp64);
    return recover_all(log, l, now_ms);
}

int kfk__plog_disk_load(kfk__plog *log, int64_t now_ms)
{
    listing l = {0};
    int64_t start = 0;
    int err = make_dirs(log->dir);
    if (!err)
        err = read_checkpoint(log, &start);
    if (!err)
        err = load_segments(log, &l, now_ms);
    kfk__free(l.v);
    kfk__free(l.swaps);
    if (!err && !log->nsegs)
        err = kfk__plog_add_segment(log, start, now_ms);
    if (err)
        return err;
    kfk__segment *last = log->segs[log->nsegs - 1];
    if ((err = kfk__seg_remap(last, (size_t)log->conf.segment_bytes)))
        return err;
    log->end = last->next;
    log->start = start > log->segs[0]->base ? start : log->segs[0]->base;
    if (log->start > log->end)
        log->start = log->end;
    return recover_epochs(log);
}
