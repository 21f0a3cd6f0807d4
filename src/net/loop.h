/*
 * loop.h: the event loop every kfk thread that does I/O runs: epoll over
 * file descriptors, a timer heap, and a wakeup so other threads can poke it.
 *
 * One loop serves one thread. Only kfk__loop_wakeup() may be called from
 * another thread. Callbacks run inside kfk__loop_run_once() on the loop's
 * thread. The loop exposes its epoll fd and next timeout so an application
 * could drive it from its own loop later.
 */
#ifndef KFK_NET_LOOP_H
#define KFK_NET_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct kfk__loop kfk__loop;
typedef struct kfk__io kfk__io;
typedef struct kfk__timer kfk__timer;

enum { KFK__IO_READ = 1, KFK__IO_WRITE = 2 };

/* Called with the events that fired (KFK__IO_READ / WRITE; errors and
 * hangups are reported as READ so the reader sees them). */
typedef void(kfk__io_cb)(kfk__io *io, int events, void *arg);
typedef void(kfk__timer_cb)(kfk__timer *t, void *arg);
typedef void(kfk__wakeup_cb)(void *arg);

/* Monotonic clock in milliseconds / microseconds. */
int64_t kfk__now_ms(void);
int64_t kfk__now_us(void);
/* Wall-clock time in milliseconds since the epoch (record timestamps). */
int64_t kfk__wall_ms(void);

/* A new loop, or NULL (errno set). wakeup_cb, if set, runs on the loop's
 * thread after kfk__loop_wakeup() was called from anywhere. */
kfk__loop *kfk__loop_new(kfk__wakeup_cb *wakeup_cb, void *arg);
/* Frees the loop. Every io and timer must have been removed. NULL is ok. */
void kfk__loop_free(kfk__loop *loop);

/* Watches fd for events. The loop does not own fd. Returns NULL on error. */
kfk__io *kfk__io_add(kfk__loop *loop, int fd, int events, kfk__io_cb *cb,
                     void *arg);
/* Changes the events watched. Returns 0 or -1 (errno). */
int kfk__io_set(kfk__io *io, int events);
int kfk__io_fd(const kfk__io *io);
/* Stops watching and frees io (not the fd). Safe inside io's own callback
 * and for any io during a loop turn. NULL is ok. */
void kfk__io_del(kfk__io *io);

/* A timer firing once after ms milliseconds (0 = on the next turn). */
kfk__timer *kfk__timer_add(kfk__loop *loop, int64_t ms, kfk__timer_cb *cb,
                           void *arg);
/* Re-arms a timer (fired or pending) to fire ms from now. A fired timer
 * stays allocated until kfk__timer_del. Returns 0, or -1 when out of memory
 * (the timer is then not queued). */
int kfk__timer_again(kfk__timer *t, int64_t ms);
/* Cancels and frees the timer; safe inside its own callback. NULL is ok. */
void kfk__timer_del(kfk__timer *t);

/* Any thread: makes the loop's current or next wait return and run the
 * wakeup callback. Async-signal-safe. */
void kfk__loop_wakeup(kfk__loop *loop);

/* For a loop whose state is shared under a lock: the thread running the
 * loop holds the lock except while it waits in epoll, when it calls
 * unlock(arg) and then lock(arg) again. Other threads may then change
 * anything (under the lock), including deleting ios: those are freed after
 * the turn. They should kfk__loop_wakeup() after adding timers. */
void kfk__loop_set_lock(kfk__loop *loop, void (*lock)(void *),
                        void (*unlock)(void *), void *arg);

/* Waits up to timeout_ms (-1 = until something happens, capped by the next
 * timer) and runs what is ready. Returns the number of callbacks run, or -1
 * on a fatal epoll error. */
int kfk__loop_run_once(kfk__loop *loop, int timeout_ms);

/* The epoll fd and milliseconds until the next timer (-1 = none), for
 * embedding. */
int kfk__loop_fd(const kfk__loop *loop);
int kfk__loop_timeout(const kfk__loop *loop);

#endif
