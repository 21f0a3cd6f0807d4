/*
 * evq.h: a handle's event queue, and the one place an application thread
 * sleeps in kfk_poll.
 *
 * The I/O thread (and any thread that logs) pushes events (log lines,
 * statistics, errors) here; kfk_poll serves them on the application's
 * thread, so user callbacks never run on the I/O thread. Other sources
 * of work for poll (the producer's delivery reports, later the
 * consumer's messages) call kfk__evq_wake so that one wait covers them
 * all: take kfk__evq_gen before looking at the sources, then
 * kfk__evq_wait with it, and no wakeup is lost in between.
 *
 * The queue is bounded: beyond max events, log lines are dropped and
 * counted (the next served log line says how many), statistics replace
 * the oldest undelivered statistics, and errors are always kept.
 */
#ifndef KFK_CLIENT_EVQ_H
#define KFK_CLIENT_EVQ_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum { KFK__EV_LOG = 1, KFK__EV_STATS, KFK__EV_ERROR };

typedef struct kfk__event {
    struct kfk__event *next;
    int type;
    int level;    /* LOG: syslog level */
    uint32_t ctx; /* LOG: KFK__DEBUG_* context bit, 0 for none */
    int err;      /* ERROR: the kfk_err_t */
    size_t len;   /* of text, without the NUL */
    char text[];  /* NUL-terminated */
} kfk__event;

typedef struct kfk__evq {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    kfk__event *head, *tail;
    size_t n, max;
    uint64_t dropped; /* log lines dropped since the last one served */
    uint64_t gen;     /* bumped by every push and wake */
} kfk__evq;

/* max: events held before dropping (0: 10000). Returns 0 or
 * KFK_ERR__SYSTEM. */
int kfk__evq_init(kfk__evq *q, size_t max);

/* Frees what is still queued. */
void kfk__evq_destroy(kfk__evq *q);

/* Copies text (len bytes) into a new event and queues it. Any thread.
 * Returns 0, or KFK_ERR__NOMEM / KFK_ERR__QUEUE_FULL (a log line was
 * dropped and counted). */
int kfk__evq_push(kfk__evq *q, int type, int level, uint32_t ctx, int err,
                  const char *text, size_t len);

/* Takes every queued event (a list through next, oldest first; the
 * caller frees each with kfk__free) and the count of log lines dropped
 * since the last take. Any thread. */
kfk__event *kfk__evq_take(kfk__evq *q, uint64_t *dropped);

/* Wakes a kfk__evq_wait (another source of work has something). */
void kfk__evq_wake(kfk__evq *q);

/* The wake generation: read it before looking for work. */
uint64_t kfk__evq_gen(kfk__evq *q);

/* Sleeps until the generation moves past gen or deadline_ms (monotonic;
 * INT64_MAX: no deadline) passes. */
void kfk__evq_wait(kfk__evq *q, uint64_t gen, int64_t deadline_ms);

#endif
