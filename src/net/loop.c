/*
 * loop.c: epoll + a binary min-heap of timers + an eventfd wakeup (see
 * loop.h). Removal during a turn is deferred: a deleted io is marked dead
 * and freed after the turn, so a callback may delete any io, including one
 * whose event is still pending in this turn's batch.
 */
#include "net/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"

struct kfk__io {
    kfk__loop *loop;
    int fd;
    int events;
    bool dead;
    kfk__io_cb *cb;
    void *arg;
    kfk__io *next_dead;
};

struct kfk__timer {
    kfk__loop *loop;
    int64_t due_us;
    size_t slot; /* index in the heap, or SIZE_MAX when not queued */
    kfk__timer_cb *cb;
    void *arg;
};

struct kfk__loop {
    int epfd;
    int wakefd;
    kfk__wakeup_cb *wakeup_cb;
    void *wakeup_arg;
    kfk__timer **heap;
    size_t nheap, capheap;
    kfk__io *dead; /* ios deleted during this turn */
    int in_turn;
    void (*lock)(void *);
    void (*unlock)(void *);
    void *lock_arg;
};

int64_t kfk__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t kfk__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kfk__now_ms(void)
{
    return kfk__now_us() / 1000;
}

kfk__loop *kfk__loop_new(kfk__wakeup_cb *wakeup_cb, void *arg)
{
    kfk__loop *l = kfk__calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epfd < 0 || l->wakefd < 0)
        goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0)
        goto fail;
    l->wakeup_cb = wakeup_cb;
    l->wakeup_arg = arg;
    return l;
fail:
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->wakefd >= 0)
        close(l->wakefd);
    kfk__free(l);
    return NULL;
}

static void free_dead(kfk__loop *l)
{
    while (l->dead) {
        kfk__io *io = l->dead;
        l->dead = io->next_dead;
        kfk__free(io);
    }
}

void kfk__loop_free(kfk__loop *l)
{
    if (!l)
        return;
    free_dead(l);
    close(l->epfd);
    close(l->wakefd);
    kfk__free(l->heap);
    kfk__free(l);
}

static uint32_t to_epoll(int events)
{
    return (events & KFK__IO_READ ? EPOLLIN : 0) |
           (events & KFK__IO_WRITE ? EPOLLOUT : 0);
}

kfk__io *kfk__io_add(kfk__loop *l, int fd, int events, kfk__io_cb *cb, void *arg)
{
    kfk__io *io = kfk__calloc(1, sizeof(*io));
    if (!io)
        return NULL;
    io->loop = l;
    io->fd = fd;
    io->events = events;
    io->cb = cb;
    io->arg = arg;
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = io};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        kfk__free(io);
        return NULL;
    }
    return io;
}

int kfk__io_set(kfk__io *io, int events)
{
    if (io->events == events)
        return 0;
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = io};
    if (epoll_ctl(io->loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
        return -1;
    io->events = events;
    return 0;
}

int kfk__io_fd(const kfk__io *io)
{
    return io->fd;
}

void kfk__io_del(kfk__io *io)
{
    if (!io || io->dead)
        return;
    epoll_ctl(io->loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->dead = true;
    io->next_dead = io->loop->dead;
    io->loop->dead = io;
    if (!io->loop->in_turn)
        free_dead(io->loop);
}

/* ---- timers: binary min-heap on due time ------------------------------- */

static void heap_swap(kfk__loop *l, size_t a, size_t b)
{
    kfk__timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->slot = a;
    l->heap[b]->slot = b;
}

static void heap_up(kfk__loop *l, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (l->heap[p]->due_us <= l->heap[i]->due_us)
            break;
        heap_swap(l, p, i);
        i = p;
    }
}

static void heap_down(kfk__loop *l, size_t i)
{
    for (;;) {
        size_t a = 2 * i + 1, b = a + 1, m = i;
        if (a < l->nheap && l->heap[a]->due_us < l->heap[m]->due_us)
            m = a;
        if (b < l->nheap && l->heap[b]->due_us < l->heap[m]->due_us)
            m = b;
        if (m == i)
            return;
        heap_swap(l, i, m);
        i = m;
    }
}

static void heap_remove(kfk__loop *l, kfk__timer *t)
{
    size_t i = t->slot;
    if (i == SIZE_MAX)
        return;
    t->slot = SIZE_MAX;
    l->nheap--;
    if (i == l->nheap)
        return;
    l->heap[i] = l->heap[l->nheap];
    l->heap[i]->slot = i;
    heap_down(l, i);
    heap_up(l, i);
}

static int heap_push(kfk__loop *l, kfk__timer *t)
{
    if (l->nheap == l->capheap) {
        size_t cap = l->capheap ? l->capheap * 2 : 16;
        kfk__timer **h = kfk__realloc(l->heap, cap * sizeof(*h));
        if (!h)
            return -1;
        l->heap = h;
        l->capheap = cap;
    }
    t->slot = l->nheap;
    l->heap[l->nheap++] = t;
    heap_up(l, t->slot);
    return 0;
}

kfk__timer *kfk__timer_add(kfk__loop *l, int64_t ms, kfk__timer_cb *cb, void *arg)
{
    kfk__timer *t = kfk__calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->loop = l;
    t->cb = cb;
    t->arg = arg;
    t->due_us = kfk__now_us() + ms * 1000;
    if (heap_push(l, t)) {
        kfk__free(t);
        return NULL;
    }
    return t;
}

int kfk__timer_again(kfk__timer *t, int64_t ms)
{
    kfk__loop *l = t->loop;
    heap_remove(l, t);
    t->due_us = kfk__now_us() + ms * 1000;
    return heap_push(l, t);
}

void kfk__timer_del(kfk__timer *t)
{
    if (!t)
        return;
    heap_remove(t->loop, t);
    kfk__free(t);
}

/* ---- running ------------------------------------------------------------ */

void kfk__loop_wakeup(kfk__loop *l)
{
    uint64_t one = 1;
    ssize_t r = write(l->wakefd, &one, sizeof(one));
    (void)r; /* EAGAIN: the counter is already non-zero, wakeup pending */
}

int kfk__loop_fd(const kfk__loop *l)
{
    return l->epfd;
}

int kfk__loop_timeout(const kfk__loop *l)
{
    if (!l->nheap)
        return -1;
    int64_t d = l->heap[0]->due_us - kfk__now_us();
    if (d <= 0)
        return 0;
    return d / 1000 > 60000 ? 60000 : (int)((d + 999) / 1000);
}

static int run_timers(kfk__loop *l)
{
    int n = 0;
    int64_t now = kfk__now_us();
    /* Timers re-armed for "now" inside a callback wait for the next turn. */
    for (int budget = (int)l->nheap; budget > 0 && l->nheap; budget--) {
        kfk__timer *t = l->heap[0];
        if (t->due_us > now)
            break;
        heap_remove(l, t);
        t->cb(t, t->arg);
        n++;
    }
    return n;
}

void kfk__loop_set_lock(kfk__loop *l, void (*lock)(void *),
                        void (*unlock)(void *), void *arg)
{
    l->lock = lock;
    l->unlock = unlock;
    l->lock_arg = arg;
}

int kfk__loop_run_once(kfk__loop *l, int timeout_ms)
{
    struct epoll_event evs[64];
    int tt = kfk__loop_timeout(l);
    if (tt >= 0 && (timeout_ms < 0 || tt < timeout_ms))
        timeout_ms = tt;
    /* Deletions by other threads while we wait are deferred like those
     * made by callbacks, so the events we get back never dangle. */
    l->in_turn++;
    if (l->unlock)
        l->unlock(l->lock_arg);
    int n = epoll_wait(l->epfd, evs, 64, timeout_ms);
    if (l->lock)
        l->lock(l->lock_arg);
    if (n < 0) {
        int e = errno;
        if (--l->in_turn == 0)
            free_dead(l);
        return e == EINTR ? 0 : -1;
    }
    int ran = 0;
    for (int i = 0; i < n; i++) {
        kfk__io *io = evs[i].data.ptr;
        if (!io) {
            uint64_t v;
            ssize_t r = read(l->wakefd, &v, sizeof(v));
            (void)r;
            if (l->wakeup_cb)
                l->wakeup_cb(l->wakeup_arg);
            ran++;
            continue;
        }
        if (io->dead)
            continue;
        uint32_t e = evs[i].events;
        int events = (e & (EPOLLIN | EPOLLERR | EPOLLHUP) ? KFK__IO_READ : 0) |
                     (e & EPOLLOUT ? KFK__IO_WRITE : 0);
        io->cb(io, events, io->arg);
        ran++;
    }
    ran += run_timers(l);
    if (--l->in_turn == 0)
        free_dead(l);
    return ran;
}
