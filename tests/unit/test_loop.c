/*
 * test_loop.c: the event loop of src/net/loop.h. Every connection, timeout
 * and cross-thread request in kfk rides on it, so the timer heap is checked
 * against a sorted list with random delays, deletions and re-arms; removal
 * of ios and timers is tried inside callbacks and from a second thread
 * under the lock hooks (meant to run under ASan, where a dangling event
 * would show); and the wakeup and the embedding accessors are checked
 * against a real clock, with every wait bounded.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "common/alloc.h"
#include "net/loop.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- timers: order --------------------------------------------------- */

/* One timer and what the test knows about it: its due time lies between
 * due_lo and due_hi (the clock read just before and after arming it). */
typedef struct tmr {
    kfk__timer *t;
    int id;
    int ms;
    int64_t due_lo, due_hi;
    int64_t fired_us;
    int fired;
    bool deleted;
} tmr;

typedef struct order_log {
    tmr **fired;
    size_t n;
} order_log;

static order_log olog;

static void order_cb(kfk__timer *t, void *arg)
{
    tmr *m = arg;
    ck_assert_ptr_eq(t, m->t);
    m->fired++;
    m->fired_us = kfk__now_us();
    olog.fired[olog.n++] = m;
}

static void arm(kfk__loop *loop, tmr *m, int ms)
{
    m->ms = ms;
    m->due_lo = kfk__now_us() + (int64_t)ms * 1000;
    m->t = kfk__timer_add(loop, ms, order_cb, m);
    m->due_hi = kfk__now_us() + (int64_t)ms * 1000;
    ck_assert_ptr_nonnull(m->t);
}

static void rearm(tmr *m, int ms)
{
    m->ms = ms;
    m->due_lo = kfk__now_us() + (int64_t)ms * 1000;
    ck_assert_int_eq(kfk__timer_again(m->t, ms), 0);
    m->due_hi = kfk__now_us() + (int64_t)ms * 1000;
}

/* Consecutive firings never go backwards in due time. */
static void check_fire_order(void)
{
    for (size_t i = 1; i < olog.n; i++) {
        tmr *a = olog.fired[i - 1], *b = olog.fired[i];
        ck_assert_msg(b->due_hi >= a->due_lo,
                      "timer %d (%d ms) fired after timer %d (%d ms)", b->id,
                      b->ms, a->id, a->ms);
    }
}

static int cmp_ms(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

START_TEST(timers_fire_in_due_order)
{
    kfk__loop *loop = kfk__loop_new(NULL, NULL);
    ck_assert_ptr_nonnull(loop);
    static const int delays[] = {30, 10, 20, 0, 25, 5};
    tmr m[COUNT(delays)];
    tmr *fired[COUNT(delays)];
    olog = (order_log){fired, 0};
    memset(m, 0, sizeof(m));
    int64_t t0 = kfk__now_us();
    for (size_t i = 0; i < COUNT(delays); i++) {
        m[i].id = (int)i;
        arm(loop, &m[i], delays[i]);
    }
    int64_t armed_us = kfk__now_us() - t0;
    int64_t end = kfk__now_ms() + 2000;
    while (olog.n < COUNT(delays) && kfk__now_ms() < end)
        kfk__loop_run_once(loop, -1);
    ck_assert_uint_eq(olog.n, COUNT(delays));
    check_fire_order();
    /* Unless arming was preempted for longer than the smallest gap, due
     * order is delay order. */
    static const int want[] = {0, 5, 10, 20, 25, 30};
    for (size_t i = 0; i < COUNT(want); i++) {
        if (armed_us < 5000)
            ck_assert_int_eq(olog.fired[i]->ms, want[i]);
        ck_assert_int_eq(olog.fired[i]->fired, 1);
        /* Never early. */
        ck_assert_int_ge(olog.fired[i]->fired_us, olog.fired[i]->due_lo);
    }
    ck_assert_int_eq(kfk__loop_timeout(loop), -1);
    for (size_t i = 0; i < COUNT(delays); i++)
        kfk__timer_del(m[i].t);
    kfk__loop_free(loop);
}
END_TEST

/* The heap alone: many timers with random delays (many ties), a quarter
 * deleted and a quarter re-armed while pending, all due by the time the
 * loop runs, so one turn must pop them in sorted order. */
START_TEST(timer_heap_random)
{
    enum { N = 1500, STEP = 5, STEPS = 11 };
    kfk__loop *loop = kfk__loop_new(NULL, NULL);
    ck_assert_ptr_nonnull(loop);
    tmr *m = calloc(N, sizeof(*m));
    tmr **fired = calloc(N, sizeof(*fired));
    int *sorted = calloc(N, sizeof(*sorted));
    olog = (order_log){fired, 0};
    srand(12345);
    int64_t t0 = kfk__now_us();
    for (int i = 0; i < N; i++) {
        m[i].id = i;
        arm(loop, &m[i], STEP * (rand() % STEPS));
    }
    for (int i = 0; i < N; i++) {
        int r = rand() % 4;
        if (r == 0) {
            kfk__timer_del(m[i].t);
            m[i].t = NULL;
            m[i].deleted = true;
        } else if (r == 1) {
            rearm(&m[i], STEP * (rand() % STEPS));
        }
    }
    int64_t armed_us = kfk__now_us() - t0;
    int live = 0;
    for (int i = 0; i < N; i++)
        if (!m[i].deleted)
            sorted[live++] = m[i].ms;
    qsort(sorted, (size_t)live, sizeof(*sorted), cmp_ms);

    sleep_ms(STEP * STEPS + 5);
    ck_assert_int_eq(kfk__loop_timeout(loop), 0);
    ck_assert_int_eq(kfk__loop_run_once(loop, 0), live);
    ck_assert_int_eq((int)olog.n, live);
    check_fire_order();
    /* Arming took far less than a step, so due order is delay order. */
    if (armed_us < STEP * 1000)
        for (int i = 0; i < live; i++)
            ck_assert_msg(olog.fired[i]->ms == sorted[i],
                          "pop %d: %d ms, sorted list has %d ms", i,
                          olog.fired[i]->ms, sorted[i]);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(m[i].fired, m[i].deleted ? 0 : 1);
        kfk__timer_del(m[i].t);
    }
    ck_assert_int_eq(kfk__loop_timeout(loop), -1);
    ck_assert_int_eq(kfk__loop_run_once(loop, 0), 0);
    kfk__loop_free(loop);
    free(m);
    free(fired);
    free(sorted);
}
END_TEST

/* The same through real turns: random delays, the loop sleeping between
 * them; each fires once, never early, never out of order. */
START_TEST(timers_random_over_turns)
{
    enum { N = 300 };
    kfk__loop *loop = kfk__loop_new(NULL, NULL);
    tmr *m = calloc(N, sizeof(*m));
    tmr **fired = calloc(N, sizeof(*fired));
    olog = (order_log){fired, 0};
    srand(777);
    for (int i = 0; i < N; i++) {
        m[i].id = i;
        arm(loop, &m[i], rand() % 40);
    }
    int64_t end = kfk__now_ms() + 3000;
    int turns = 0;
    while (olog.n < N && kfk__now_ms() < end) {
        kfk__loop_run_once(loop, -1);
        turns++;
    }
    ck_assert_int_eq((int)olog.n, N);
    check_fire_order();
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(m[i].fired, 1);
        ck_assert_int_ge(m[i].fired_us, m[i].due_lo);
        kfk__timer_del(m[i].t);
    }
    /* The loop slept between timers rather than spinning. */
    ck_assert_int_le(turns, 200);
    kfk__loop_free(loop);
    free(m);
    free(fired);
}
END_TEST

/* ---- timers: again, del, add from callbacks -------------------------- */

typedef struct counter {
    int n;
    int turn;       /* test's turn number when it last fired */
    int rearm_left; /* re-arm itself this many more times */
    kfk__timer *victim[4];
    kfk__loop *loop;
} counter;

static int cur_turn;

static void count_cb(kfk__timer *t, void *arg)
{
    counter *c = arg;
    c->n++;
    c->turn = cur_turn;
    if (c->rearm_left > 0) {
        c->rearm_left--;
        ck_assert_int_eq(kfk__timer_again(t, 1), 0);
    }
}

START_TEST(timer_again_fired_and_pending)
{
    kfk__loop *loop = kfk__loop_new(NULL, NULL);
    counter a = {0}, b = {0};
    kfk__timer *ta = kfk__timer_add(loop, 0, count_cb, &a);
    int64_t end = kfk__now_ms() + 1000;
    while (a.n < 1 && kfk__now_ms() < end)
        kfk__loop_run_once(loop, 10);
    ck_assert_int_eq(a.n, 1);
    /* Fired: nothing pending, but still allocated and re-armable. */
    ck_assert_int_eq(kfk__loop_timeout(loop), -1);
    ck_assert_int_eq(kfk__timer_again(ta, 5), 0);
    ck_assert_int_ge(kfk__loop_timeout(loop), 0);
    ck_assert_int_le(kfk__loop_timeout(loop), 5);
    end = kfk__now_ms() + 1000;
    while (a.n < 2 && kfk__now_ms() < end)
        kfk__loop_run_once(loop, 10);
    ck_assert_int_eq(a.n, 2);

    /* Pending far out, pulled in: fires now, and only once. */
    kfk__timer *tb = kfk__timer_add(loop, 60000, count_cb, &b);
    ck_assert_int_gt(kfk__loop_timeout(loop), 1000);
    int64_t t0 = kfk__now_ms();
    ck_assert_int_eq(kfk__timer_again(tb, 0), 0);
    while (b.n < 1 && kfk__now_ms() < t0 + 1000)
        kfk__loop_run_once(loop, 10);
    ck_assert_int_eq(b.n, 1);
    ck_assert_int_lt(kfk__now_ms() - t0, 500);
    /* Pending near, pushed out: does not fire at the old time. */
    ck_assert_int_eq(kfk__timer_again(tb, 0), 0);
    ck_assert_int_eq(kfk__timer_again(tb, 60000), 0);
    for (int i = 0; i < 3; i++)
        kfk__loop_run_once(loop, 10);
    ck_assert_int_eq(b.n, 1);
    ck_assert_int_gt(kfk__loop_timeout(loop), 1000);

    /* Re-armed from its own callback: a periodic timer. */
    a.rearm_left = 3;
    ck_assert_int_eq(kfk__timer_again(ta, 0), 0);
    end = kfk__now_ms() + 1000;
    while (a.n < 6 && kfk__now_ms() < end)
        kfk__loop_run_once(loop, 10);
    ck_assert_int_eq(a.n, 6);
    ck_assert_int_eq(a.rearm_left, 0);
    kfk__timer_del(ta);
    kfk__timer_del(tb);
    ck_assert_int_eq(kfk__loop_timeout(loop), -1);
    kfk__loop_free(loop);
}
END_TEST

static void del_self_cb(kfk__timer *t, void *arg)
{
    counter *c = arg;
    c->n++;
    kfk__timer_del(t);
}

START_TEST(timer_del_in_own_callback)
{
    kfk__loop *loop = kfk__loop_new(NULL, NULL);
    counter a = {0}, b = {0};
    ck_assert_ptr_nonnull(kfk__timer_add(loop, 0, del_self_cb, &a));
    ck_assert_ptr_nonnull(kfk__timer_add(loop, 1, del_self_cb, &b));
    int64_t end = kfk__now_ms() + 1000;
    while ((a.n < 1 || b.n < 1) && kfk__now_ms() < end)
        kfk__loop_run_once(loop, 10);
    ck_assert_int_eq(a.n, 1);
    ck_assert_int_eq(b.n, 1);
    ck_assert_int_eq(kfk__loop_timeout(loop), -1);
    ck_assert_int_eq(kfk__loop_run_once(loop, 0), 0);
    kfk__loop_free(loop);
}
END_TEST

static void del_others_cb(kfk__timer *t, void *arg)
{
    counter *c = arg;
    c->n++;
    for (size_t i = 0; i < COUNT(c->victim); i++) {
        kfk__timer_del(c->victim[i]);
        c->victim[i] = NULL;
    }
    kfk__timer_del(t);
}

/* A callback deletes timers that are due in the same turn and timers that
 * are pending for later; none of them fires. */
START_TEST(timer_del_other_pending)
{
    kfk__loop *loop = kfk__loop_new(NULL, NULL);
    counter k = {0}, v[4] = {{0}};
    ck_assert_ptr_nonnull(kfk__timer_add(loop, 0, del_others_cb, &k));
    k.victim[0] = kfk__timer_add(loop, 2, count_cb, &v[0]);
    k.victim[1] = kfk__timer_add(loop, 3, count_cb, &v[1]);
    k.victim[2] = kfk__timer_add(loop, 30, count_cb, &v[2]);
    k.victim[3] = kfk__timer_add(loop, 60000, count_cb, &v[3]);
    /* A bystander due in the same turn still fires. */
    counter by = {0};
    kfk__timer *tby = kfk__timer_add(loop, 4, count_cb, &by);
    sleep_ms(10); /* all but the last two are due in the first turn */
    ck_assert_int_eq(kfk__loop_run_once(loop, 0), 2);
    ck_assert_int_eq(k.n, 1);
    ck_assert_int_eq(by.n, 1);
    ck_assert_int_eq(kfk__loop_timeout(loop), -1);
    sleep_ms(35);
    ck_assert_int_eq(kfk__loop_run_once(loop, 0), 0);
    for (size_t i = 0; i < COUNT(v); i++)
        ck_assert_int_eq(v[i].n, 0);
    kfk__timer_del(tby);
    kfk__loop_free(loop);
}
END_TEST

/* Timers added by a callback: a 0 ms one runs on a later turn, not in the
 * turn that added it ("0 = on the next turn"), even when other due timers
 * keep that turn busy; one with a delay waits for it. */
typedef struct adder {
    kfk__loop *loop;
    counter child;
    counter later;
    kfk__timer *tchild, *tlater;
    int n;
} adder;

static void adder_cb(kfk__timer *t, void *arg)
{
    adder *a = arg;
    a->n++;
    a->tchild = kfk__timer_add(a->loop, 0, count_cb, &a->child);
    ck_assert_ptr_nonnull(a->tchild);
    a->tlater = kfk__timer_add(a->loop, 5, count_cb, &a->later);
    ck_assert_ptr_nonnull(a->tlater);
    kfk__timer_del(t);
}

START_TEST(timers_added_from_callback)
{
    enum { N = 20, ROUNDS = 20 };
    for (int round = 0; round < ROUNDS; round++) {
        kfk__loop *loop = kfk__loop_new(NULL, NULL);
        adder a[N];
        memset(a, 0, sizeof(a));
        for (int i = 0; i < N; i++) {
            a[i].loop = loop;
            ck_assert_ptr_nonnull(kfk__timer_add(loop, 0, adder_cb, &a[i]));
        }
        sleep_ms(1);
        cur_turn = 1;
        int64_t t0 = kfk__now_ms();
        int ran = kfk__loop_run_once(loop, 0);
        for (int i = 0; i < N; i++) {
            ck_assert_int_eq(a[i].n, 1);
            ck_assert_msg(a[i].child.n == 0,
                          "round %d: a 0 ms timer added by callback %d ran "
                          "in the turn that added it",
                          round, i);
        }
        ck_assert_int_eq(ran, N);
        cur_turn = 2;
        int64_t end = t0 + 1000;
        bool all = false;
        while (!all && kfk__now_ms() < end) {
            kfk__loop_run_once(loop, 50);
            cur_turn++;
            all = true;
            for (int i = 0; i < N; i++)
                all = all && a[i].later.n == 1;
        }
        ck_assert(all);
        ck_assert_int_ge(kfk__now_ms() - t0, 4);
        for (int i = 0; i < N; i++) {
            ck_assert_int_eq(a[i].child.n, 1);
            ck_assert_int_le(a[i].child.turn, a[i].later.turn);
            kfk__timer_del(a[i].tchild);
            kfk__timer_del(a[i].tlater);
        }
        kfk__loop_free(loop);
    }
}
END_TEST

/* ---- io ---------------------------------------------------------------- */

typedef struct iorec {
    int n;
    int events;
    int fd;
    bool drain; /* read what is readable */
    kfk__io *other;
    bool del_self;
} iorec;

static void io_cb(kfk__io *io, int events, void *arg)
{
    iorec *r = arg;
    r->n++;
    r->events |= events;
    r->fd = kfk__io_fd(io);
    if (r->drain && (events & KFK__IO_READ)) {
        char buf[256];
        ssize_t got = read(r->fd, buf, sizeof(buf));
        (void)got;
    }
    if (r->other) {
        kfk__io_del(r->other);
        r->other = NULL;
    }
    if (r->del_self)
        kfk__io_del(io);
}

START_TEST(io_pipe_read_write)
{
    kfk__loop *loop = kfk__loop_new(NULL, NULL);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
    iorec rd = {.drain = true}, wr = {0};
    kfk__io *ird = kfk__io_add(loop, p[0], KFK__IO_READ, io_cb, &rd);
    kfk__io *iwr = kfk__io_add(loop, p[1], 0, io_cb, &wr);
    ck_assert_ptr_nonnull(ird);
    ck_assert_ptr_nonnull(iwr);
    ck_assert_int_eq(kfk__io_fd(ird), p[0]);
    ck_assert_int_eq(kfk__io_fd(iwr), p[1]);

    /* Nothing ready: the wait times out and runs nothing. */
    int64_t t0 = kfk__now_ms();
    ck_assert_int_eq(kfk__loop_run_once(loop, 20), 0);
    ck_assert_int_ge(kfk__now_ms() - t0, 15);

    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_int_eq(kfk__loop_run_once(loop, 1000), 1);
    ck_assert_int_eq(rd.n, 1);
    ck_assert_int_eq(rd.events, KFK__IO_READ);
    ck_assert_int_eq(rd.fd, p[0]);
    ck_assert_int_eq(wr.n, 0);

    /* Write interest on an empty pipe fires at once. */
    ck_assert_int_eq(kfk__io_set(iwr, KFK__IO_WRITE), 0);
    ck_assert_int_eq(kfk__loop_run_once(loop, 1000), 1);
    ck_assert_int_eq(wr.n, 1);
    ck_assert_int_eq(wr.events, KFK__IO_WRITE);
    ck_assert_int_eq(kfk__io_set(iwr, 0), 0);
    ck_assert_int_eq(kfk__io_set(iwr, 0), 0);

    /* Read interest off: readable data is not reported. */
    ck_assert_int_eq(kfk__io_set(ird, 0), 0);
    ck_assert_int_eq(write(p[1], "y", 1), 1);
    ck_assert_int_eq(kfk__loop_run_once(loop, 20), 0);
    ck_assert_int_eq(rd.n, 1);
    ck_assert_int_eq(kfk__io_set(ird, KFK__IO_READ), 0);
    ck_assert_int_eq(kfk__loop_run_once(loop, 1000), 1);
    ck_assert_int_eq(rd.n, 2);

    /* A hangup is reported as READ. */
    kfk__io_del(iwr);
    close(p[1]);
    rd.events = 0;
    ck_assert_int_eq(kfk__loop_run_once(loop, 1000), 1);
    ck_assert_int_eq(rd.events, KFK__IO_READ);
    kfk__io_del(ird);
    close(p[0]);
    kfk__loop_free(loop);
}
END_TEST

START_TEST(io_socketpair_both_ways)
{
    kfk__loop *loop = kfk__loop_new(NULL, NULL);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    iorec a = {.drain = true}, b = {.drain = true};
    kfk__io *ia =
        kfk__io_add(loop, sv[0], KFK__IO_READ | KFK__IO_WRITE, io_cb, &a);
    kfk__io *ib = kfk__io_add(loop, sv[1], KFK__IO_READ, io_cb, &b);
    ck_assert_int_eq(kfk__loop_run_once(loop, 1000), 1);
    ck_assert_int_eq(a.events, KFK__IO_WRITE);
    ck_assert_int_eq(write(sv[0], "ping", 4), 4);
    ck_assert_int_eq(write(sv[1], "pong", 4), 4);
    a.events = 0;
    ck_assert_int_eq(kfk__loop_run_once(loop, 1000), 2);
    ck_assert_int_eq(a.events, KFK__IO_READ | KFK__IO_WRITE);
    ck_assert_int_eq(b.events, KFK__IO_READ);
    kfk__io_del(ia);
    kfk__io_del(ib);
    close(sv[0]);
    close(sv[1]);
    kfk__loop_free(loop);
}
END_TEST

/* Two ios ready in the same turn, each deleting the other from its
 * callback: whichever runs first, the other must not run (its event is
 * still in the batch; the io is freed only after the turn). Also an io
 * deleting itself. */
START_TEST(io_del_other_in_same_turn)
{
    for (int round = 0; round < 50; round++) {
        kfk__loop *loop = kfk__loop_new(NULL, NULL);
        int s1[2], s2[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s1), 0);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s2), 0);
        iorec r1 = {.drain = true}, r2 = {.drain = true};
        kfk__io *i1 = kfk__io_add(loop, s1[0], KFK__IO_READ, io_cb, &r1);
        kfk__io *i2 = kfk__io_add(loop, s2[0], KFK__IO_READ, io_cb, &r2);
        r1.other = i2;
        r2.other = i1;
        ck_assert_int_eq(write(s1[1], "a", 1), 1);
        ck_assert_int_eq(write(s2[1], "b", 1), 1);
        ck_assert_int_eq(kfk__loop_run_once(loop, 1000), 1);
        ck_assert_int_eq(r1.n + r2.n, 1);
        /* The survivor is gone as well (deleted by the one that ran). */
        ck_assert_int_eq(kfk__loop_run_once(loop, 0), 0);
        kfk__io *left = r1.n ? i1 : i2;
        kfk__io_del(left);
        close(s1[0]);
        close(s1[1]);
        close(s2[0]);
        close(s2[1]);
        kfk__loop_free(loop);
    }

    /* Self-deletion. */
    kfk__loop *loop = kfk__loop_new(NULL, NULL);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    iorec self = {.del_self = true};
    ck_assert_ptr_nonnull(kfk__io_add(loop, sv[0], KFK__IO_READ, io_cb, &self));
    ck_assert_int_eq(write(sv[1], "z", 1), 1);
    ck_assert_int_eq(kfk__loop_run_once(loop, 1000), 1);
    ck_assert_int_eq(kfk__loop_run_once(loop, 0), 0);
    ck_assert_int_eq(self.n, 1);
    kfk__io_del(NULL);
    close(sv[0]);
    close(sv[1]);
    kfk__loop_free(loop);
}
END_TEST

/* ---- wakeup ------------------------------------------------------------ */

static atomic_int wakeups;

static void wake_cb(void *arg)
{
    ck_assert_ptr_eq(arg, &wakeups);
    atomic_fetch_add(&wakeups, 1);
}

static void *waker(void *arg)
{
    sleep_ms(50);
    kfk__loop_wakeup(arg);
    return NULL;
}

START_TEST(wakeup_from_thread)
{
    atomic_store(&wakeups, 0);
    kfk__loop *loop = kfk__loop_new(wake_cb, &wakeups);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, waker, loop), 0);
    int64_t t0 = kfk__now_ms();
    int ran = 0, turns = 0;
    /* -1 blocks with no timers; a safety timer bounds the test if the
     * wakeup is lost. */
    counter guard = {0};
    kfk__timer *g = kfk__timer_add(loop, 3000, count_cb, &guard);
    while (atomic_load(&wakeups) == 0 && guard.n == 0) {
        ran += kfk__loop_run_once(loop, -1);
        turns++;
    }
    int64_t took = kfk__now_ms() - t0;
    pthread_join(th, NULL);
    ck_assert_int_eq(atomic_load(&wakeups), 1);
    ck_assert_int_eq(guard.n, 0);
    ck_assert_int_eq(ran, 1);
    ck_assert_int_eq(turns, 1); /* it blocked until woken, no spinning */
    ck_assert_int_lt(took, 1500);

    /* Several wakeups before a turn coalesce into one callback, and the
     * eventfd is drained. */
    kfk__loop_wakeup(loop);
    kfk__loop_wakeup(loop);
    kfk__loop_wakeup(loop);
    ck_assert_int_eq(kfk__loop_run_once(loop, 1000), 1);
    ck_assert_int_eq(atomic_load(&wakeups), 2);
    ck_assert_int_eq(kfk__loop_run_once(loop, 0), 0);
    kfk__timer_del(g);
    kfk__loop_free(loop);

    /* Without a callback the wakeup still returns the wait. */
    loop = kfk__loop_new(NULL, NULL);
    ck_assert_int_eq(pthread_create(&th, NULL, waker, loop), 0);
    t0 = kfk__now_ms();
    ck_assert_int_eq(kfk__loop_run_once(loop, 3000), 1);
    ck_assert_int_lt(kfk__now_ms() - t0, 1500);
    pthread_join(th, NULL);
    ck_assert_int_eq(kfk__loop_run_once(loop, 0), 0);
    kfk__loop_free(loop);
}
END_TEST

static kfk__loop *sig_loop;

static void on_sigusr1(int sig)
{
    (void)sig;
    kfk__loop_wakeup(sig_loop);
}

START_TEST(wakeup_from_signal_handler)
{
    atomic_store(&wakeups, 0);
    sig_loop = kfk__loop_new(wake_cb, &wakeups);
    struct sigaction sa = {0};
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    ck_assert_int_eq(raise(SIGUSR1), 0);
    ck_assert_int_eq(kfk__loop_run_once(sig_loop, 1000), 1);
    ck_assert_int_eq(atomic_load(&wakeups), 1);
    kfk__loop_free(sig_loop);
}
END_TEST

/* ---- lock hooks -------------------------------------------------------- */

typedef struct lockst {
    pthread_mutex_t mu;
    atomic_int waiting; /* the loop thread is between unlock and lock */
    atomic_int locking; /* the loop thread is inside lock() */
    int nlock, nunlock;
    kfk__loop *loop;
    kfk__io *victim;
    int wfd;
    bool deleted;
    bool event_pending; /* the loop held the io's event when it was deleted */
    kfk__timer *added;
    counter tcount;
} lockst;

static void lk(void *arg)
{
    lockst *s = arg;
    atomic_store(&s->locking, 1);
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->locking, 0);
    atomic_store(&s->waiting, 0);
    s->nlock++;
}

static void ulk(void *arg)
{
    lockst *s = arg;
    s->nunlock++;
    atomic_store(&s->waiting, 1);
    pthread_mutex_unlock(&s->mu);
}

static bool wait_waiting(lockst *s)
{
    int64_t end = kfk__now_ms() + 2000;
    while (!atomic_load(&s->waiting) && kfk__now_ms() < end)
        sleep_ms(1);
    return atomic_load(&s->waiting);
}

/* While the loop waits: make the io ready, wait until epoll_wait has
 * returned with its event (the loop thread is then blocked in lock()),
 * and delete the io under the lock. The event must be dropped, not
 * dispatched to the freed io. */
static void *deleter(void *arg)
{
    lockst *s = arg;
    if (!wait_waiting(s))
        return NULL;
    pthread_mutex_lock(&s->mu);
    ssize_t w = write(s->wfd, "k", 1);
    (void)w;
    int64_t end = kfk__now_ms() + 2000;
    while (!atomic_load(&s->locking) && kfk__now_ms() < end)
        sleep_ms(1);
    s->event_pending = atomic_load(&s->locking);
    kfk__io_del(s->victim);
    s->deleted = true;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void *timer_adder(void *arg)
{
    lockst *s = arg;
    if (!wait_waiting(s))
        return NULL;
    pthread_mutex_lock(&s->mu);
    s->added = kfk__timer_add(s->loop, 0, count_cb, &s->tcount);
    kfk__loop_wakeup(s->loop);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

START_TEST(lock_hooks_delete_from_thread)
{
    lockst s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    s.loop = kfk__loop_new(NULL, NULL);
    kfk__loop_set_lock(s.loop, lk, ulk, &s);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    iorec r = {0};
    s.victim = kfk__io_add(s.loop, sv[0], KFK__IO_READ, io_cb, &r);
    s.wfd = sv[1];
    counter guard = {0};
    pthread_mutex_lock(&s.mu);
    kfk__timer *g = kfk__timer_add(s.loop, 3000, count_cb, &guard);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, deleter, &s), 0);
    int64_t t0 = kfk__now_ms();
    int ran = kfk__loop_run_once(s.loop, 3000);
    int64_t took = kfk__now_ms() - t0;
    bool deleted = s.deleted;
    pthread_mutex_unlock(&s.mu);
    pthread_join(th, NULL);
    ck_assert(deleted);
    ck_assert(s.event_pending);
    ck_assert_int_eq(ran, 0);
    ck_assert_int_eq(r.n, 0);
    ck_assert_int_lt(took, 1500);
    ck_assert_int_eq(s.nlock, 1);
    ck_assert_int_eq(s.nunlock, 1);

    /* A timer added from another thread under the lock, plus a wakeup, is
     * picked up by the blocked loop. */
    pthread_mutex_lock(&s.mu);
    ck_assert_int_eq(pthread_create(&th, NULL, timer_adder, &s), 0);
    t0 = kfk__now_ms();
    while (s.tcount.n == 0 && guard.n == 0)
        kfk__loop_run_once(s.loop, -1);
    took = kfk__now_ms() - t0;
    pthread_mutex_unlock(&s.mu);
    pthread_join(th, NULL);
    ck_assert_int_eq(s.tcount.n, 1);
    ck_assert_int_eq(guard.n, 0);
    ck_assert_int_lt(took, 1500);
    ck_assert_int_eq(s.nlock, s.nunlock);

    kfk__timer_del(s.added);
    kfk__timer_del(g);
    close(sv[0]);
    close(sv[1]);
    kfk__loop_free(s.loop);
}
END_TEST

/* ---- embedding ----------------------------------------------------------- */

START_TEST(loop_timeout_and_fd)
{
    kfk__loop *loop = kfk__loop_new(NULL, NULL);
    int efd = kfk__loop_fd(loop);
    ck_assert_int_ge(efd, 0);
    ck_assert_int_eq(kfk__loop_timeout(loop), -1);

    counter c = {0};
    kfk__timer *t = kfk__timer_add(loop, 100, count_cb, &c);
    int to = kfk__loop_timeout(loop);
    ck_assert_int_gt(to, 50);
    ck_assert_int_le(to, 100);
    /* Rounded up: a 1 ms timer is never reported as 0 before it is due. */
    kfk__timer *t1 = kfk__timer_add(loop, 1, count_cb, &c);
    to = kfk__loop_timeout(loop);
    ck_assert_int_ge(to, 0);
    ck_assert_int_le(to, 1);
    kfk__timer_del(t1);
    /* Capped at a minute. */
    ck_assert_int_eq(kfk__timer_again(t, 3600 * 1000), 0);
    ck_assert_int_eq(kfk__loop_timeout(loop), 60000);
    /* Due: 0. */
    ck_assert_int_eq(kfk__timer_again(t, 0), 0);
    sleep_ms(1);
    ck_assert_int_eq(kfk__loop_timeout(loop), 0);

    /* Driving the loop from poll() on its fd, as an embedder would. */
    struct pollfd pfd = {.fd = efd, .events = POLLIN};
    ck_assert_int_eq(kfk__timer_again(t, 30), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    iorec r = {.drain = true};
    kfk__io *io = kfk__io_add(loop, p[0], KFK__IO_READ, io_cb, &r);
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);
    ck_assert_int_eq(write(p[1], "e", 1), 1);
    ck_assert_int_eq(poll(&pfd, 1, 1000), 1);
    ck_assert_int_eq(kfk__loop_run_once(loop, 0), 1);
    ck_assert_int_eq(r.n, 1);
    ck_assert_int_eq(c.n, 0);
    int64_t t0 = kfk__now_ms();
    int64_t end = t0 + 1000;
    while (c.n == 0 && kfk__now_ms() < end) {
        poll(&pfd, 1, kfk__loop_timeout(loop));
        kfk__loop_run_once(loop, 0);
    }
    ck_assert_int_eq(c.n, 1);
    ck_assert_int_ge(kfk__now_ms() - t0, 20);
    ck_assert_int_eq(kfk__loop_timeout(loop), -1);
    kfk__io_del(io);
    close(p[0]);
    close(p[1]);
    kfk__timer_del(t);
    kfk__loop_free(loop);
}
END_TEST

START_TEST(clocks)
{
    int64_t a = kfk__now_us(), ms = kfk__now_ms();
    sleep_ms(5);
    int64_t b = kfk__now_us();
    ck_assert_int_ge(b - a, 4000);
    ck_assert_int_ge(kfk__now_ms(), ms + 4);
    int64_t wall = kfk__wall_ms();
    int64_t now_s = (int64_t)time(NULL);
    ck_assert_int_ge(wall / 1000, now_s - 2);
    ck_assert_int_le(wall / 1000, now_s + 2);
}
END_TEST

/* ---- allocation failures and bad input ------------------------------- */

static int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

START_TEST(alloc_failures)
{
    int fds = count_fds();
    kfk__alloc_fail_after(0);
    kfk__loop *loop = kfk__loop_new(NULL, NULL);
    kfk__alloc_fail_after(-1);
    ck_assert_ptr_null(loop);
    ck_assert_int_eq(count_fds(), fds);
    kfk__loop_free(NULL);
    kfk__timer_del(NULL);

    loop = kfk__loop_new(NULL, NULL);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    iorec r = {0};
    kfk__alloc_fail_after(0);
    ck_assert_ptr_null(kfk__io_add(loop, p[0], KFK__IO_READ, io_cb, &r));
    kfk__alloc_fail_after(-1);
    /* A bad fd fails in epoll_ctl; nothing leaks. */
    ck_assert_ptr_null(kfk__io_add(loop, -1, KFK__IO_READ, io_cb, &r));
    /* The fd was not left registered by the failed add. */
    kfk__io *io = kfk__io_add(loop, p[0], KFK__IO_READ, io_cb, &r);
    ck_assert_ptr_nonnull(io);
    kfk__io_del(io);

    /* The timer itself fails, then the heap's first growth fails. */
    counter c = {0};
    kfk__alloc_fail_after(0);
    ck_assert_ptr_null(kfk__timer_add(loop, 0, count_cb, &c));
    kfk__alloc_fail_after(1);
    ck_assert_ptr_null(kfk__timer_add(loop, 0, count_cb, &c));
    kfk__alloc_fail_after(-1);
    ck_assert_int_eq(kfk__loop_timeout(loop), -1);

    /* Fill the heap to its capacity with pending timers, fire one more,
     * and make re-arming it need a growth that fails: -1, not queued. */
    kfk__timer *fired = kfk__timer_add(loop, 0, count_cb, &c);
    int64_t end = kfk__now_ms() + 1000;
    while (c.n == 0 && kfk__now_ms() < end)
        kfk__loop_run_once(loop, 10);
    ck_assert_int_eq(c.n, 1);
    kfk__timer *pend[16];
    for (size_t i = 0; i < COUNT(pend); i++)
        pend[i] = kfk__timer_add(loop, 60000, count_cb, &c);
    kfk__alloc_fail_after(0);
    int rc = kfk__timer_again(fired, 0);
    kfk__alloc_fail_after(-1);
    ck_assert_int_eq(rc, -1);
    for (size_t i = 0; i < COUNT(pend); i++)
        kfk__timer_del(pend[i]);
    ck_assert_int_eq(kfk__loop_timeout(loop), -1);
    ck_assert_int_eq(kfk__loop_run_once(loop, 0), 0);
    ck_assert_int_eq(c.n, 1);
    kfk__timer_del(fired);
    close(p[0]);
    close(p[1]);
    kfk__loop_free(loop);
    ck_assert_int_eq(count_fds(), fds);
}
END_TEST

static Suite *loop_suite(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("timers");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, timers_fire_in_due_order);
    tcase_add_test(tc, timer_heap_random);
    tcase_add_test(tc, timers_random_over_turns);
    tcase_add_test(tc, timer_again_fired_and_pending);
    tcase_add_test(tc, timer_del_in_own_callback);
    tcase_add_test(tc, timer_del_other_pending);
    tcase_add_test(tc, timers_added_from_callback);
    suite_add_tcase(s, tc);

    tc = tcase_create("io");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, io_pipe_read_write);
    tcase_add_test(tc, io_socketpair_both_ways);
    tcase_add_test(tc, io_del_other_in_same_turn);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, wakeup_from_thread);
    tcase_add_test(tc, wakeup_from_signal_handler);
    tcase_add_test(tc, lock_hooks_delete_from_thread);
    suite_add_tcase(s, tc);

    tc = tcase_create("misc");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, loop_timeout_and_fd);
    tcase_add_test(tc, clocks);
    tcase_add_test(tc, alloc_failures);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(loop_suite)
