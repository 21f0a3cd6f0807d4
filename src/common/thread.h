/*
 * thread.h: condition variables on the monotonic clock, so a deadline
 * taken from kfk__now_ms() is unaffected by wall-clock jumps.
 */
#ifndef KFK_COMMON_THREAD_H
#define KFK_COMMON_THREAD_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* pthread_cond_init with CLOCK_MONOTONIC. Returns 0 or an errno. */
static inline int kfk__cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a))
        return -1;
    int r = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    if (!r)
        r = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return r;
}

/* Waits on c (initialised by kfk__cond_init_mono, mu held) until
 * signalled or deadline_ms (monotonic ms; INT64_MAX: none). Returns 0 or
 * ETIMEDOUT. */
static inline int kfk__cond_wait_until(pthread_cond_t *c, pthread_mutex_t *mu,
                                       int64_t deadline_ms)
{
    if (deadline_ms == INT64_MAX)
        return pthread_cond_wait(c, mu);
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline_ms / 1000);
    ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
    return pthread_cond_timedwait(c, mu, &ts) == ETIMEDOUT ? ETIMEDOUT : 0;
}

#endif
