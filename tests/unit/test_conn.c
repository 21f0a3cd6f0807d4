/*
 * test_conn.c: framed TCP connections (src/net/conn.h) and the listener
 * (src/net/listen.h), over loopback only. Frames cross the 64 KiB staging
 * buffer at every interesting size, arrive coalesced and split byte by byte
 * (a raw socket on the far side controls the boundaries), and break every
 * rule a peer can break; connect failures must arrive from the loop, and a
 * conn freed inside its own callbacks must stay silent. Run under ASan, the
 * same tests show use-after-free and leaks; fds are counted as well.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <unistd.h>

#include <kfk/error.h>

#include "check_main.h"
#include "common/alloc.h"
#include "net/conn.h"
#include "net/listen.h"
#include "net/loop.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define KiB 1024
#define MiB (1024 * 1024)
#define MAX_FRAME (16 * MiB)

static kfk__loop *loop;
static bool in_connect_call; /* set around kfk__conn_connect */

/* Runs turns until cond holds or ms pass; every wait in this file is one. */
#define RUN_UNTIL(cond, ms)                                                    \
    do {                                                                       \
        int64_t end_ = kfk__now_ms() + (ms);                                   \
        while (!(cond) && kfk__now_ms() < end_)                                \
            kfk__loop_run_once(loop, 5);                                       \
    } while (0)

/* Runs turns for ms, whatever happens. */
static void run_for(int ms)
{
    int64_t end = kfk__now_ms() + ms;
    while (kfk__now_ms() < end)
        kfk__loop_run_once(loop, 5);
}

static int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

static bool fd_is_closed(int fd)
{
    return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

/* ---- frames ------------------------------------------------------------ */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint8_t pat(size_t seed, size_t i)
{
    return (uint8_t)(i * 131 + seed * 7 + (i >> 9) + (seed >> 2));
}

/* A kfk__malloc'd frame with its size prefix, body from pat(seed). */
static uint8_t *frame_new(size_t len, size_t seed)
{
    uint8_t *b = kfk__malloc(4 + len);
    ck_assert_ptr_nonnull(b);
    put_be32(b, (uint32_t)len);
    for (size_t i = 0; i < len; i++)
        b[4 + i] = pat(seed, i);
    return b;
}

/* Appends a frame to a plain byte string (for raw writes). */
static size_t frame_put(uint8_t *out, size_t len, size_t seed)
{
    put_be32(out, (uint32_t)len);
    for (size_t i = 0; i < len; i++)
        out[4 + i] = pat(seed, i);
    return 4 + len;
}

static bool body_ok(const uint8_t *f, size_t len, size_t seed)
{
    for (size_t i = 0; i < len; i++)
        if (f[i] != pat(seed, i))
            return false;
    return true;
}

/* ---- one end of a connection, as a test sees it ------------------------ */

typedef struct peer {
    const char *name;
    kfk__conn *c;
    uint8_t **frames;
    size_t *lens;
    size_t nframes, cap;
    int connected;
    int closed, close_err;
    char close_msg[160];
    bool freed; /* kfk__conn_free was called */
    /* behaviour */
    bool echo;
    size_t free_at, pause_at; /* 1-based frame number, 0 = never */
    bool free_on_connect;
    bool send_in_close, send_after_free;
    int send_rc;
} peer;

static void peer_reset(peer *p)
{
    for (size_t i = 0; i < p->nframes; i++)
        kfk__free(p->frames[i]);
    free(p->frames);
    free(p->lens);
    memset(p, 0, sizeof(*p));
}

static void on_frame(kfk__conn *c, uint8_t *f, size_t len, void *arg)
{
    peer *p = arg;
    ck_assert_msg(!p->freed, "%s: on_frame after kfk__conn_free", p->name);
    ck_assert_msg(!p->closed, "%s: on_frame after on_close", p->name);
    ck_assert_ptr_eq(c, p->c);
    if (p->nframes == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->frames = realloc(p->frames, p->cap * sizeof(*p->frames));
        p->lens = realloc(p->lens, p->cap * sizeof(*p->lens));
    }
    p->frames[p->nframes] = f;
    p->lens[p->nframes++] = len;
    if (p->echo) {
        uint8_t *e = kfk__malloc(4 + len);
        put_be32(e, (uint32_t)len);
        memcpy(e + 4, f, len);
        ck_assert_int_eq(kfk__conn_send(c, e, 4 + len), 0);
    }
    if (p->pause_at == p->nframes)
        kfk__conn_pause_read(c, true);
    if (p->free_at == p->nframes) {
        kfk__conn_free(c);
        p->freed = true;
        if (p->send_after_free)
            p->send_rc = kfk__conn_send(c, frame_new(10, 1), 14);
    }
}

static void on_connect(kfk__conn *c, void *arg)
{
    peer *p = arg;
    ck_assert_msg(!in_connect_call, "on_connect inside kfk__conn_connect");
    ck_assert_msg(!p->freed && !p->closed, "%s: on_connect too late", p->name);
    ck_assert_ptr_eq(c, p->c);
    p->connected++;
    if (p->free_on_connect) {
        kfk__conn_free(c);
        p->freed = true;
    }
}

static void on_close(kfk__conn *c, int err, const char *msg, void *arg)
{
    peer *p = arg;
    ck_assert_msg(!in_connect_call, "on_close inside kfk__conn_connect");
    ck_assert_msg(!p->freed, "%s: on_close after kfk__conn_free", p->name);
    ck_assert_msg(!p->closed, "%s: second on_close", p->name);
    ck_assert_ptr_eq(c, p->c);
    ck_assert_ptr_nonnull(msg);
    p->closed++;
    p->close_err = err;
    snprintf(p->close_msg, sizeof(p->close_msg), "%s", msg);
    if (p->send_in_close)
        p->send_rc = kfk__conn_send(c, frame_new(100, 2), 104);
    kfk__conn_free(c);
    p->freed = true;
}

static const kfk__conn_cbs cbs = {on_frame, on_connect, on_close};

/* Frees a conn the test still owns (not closed, not freed). */
static void peer_free_conn(peer *p)
{
    if (!p->freed) {
        kfk__conn_free(p->c);
        p->freed = true;
    }
}

static kfk__conn *connect_to(peer *p, const char *host, int port)
{
    in_connect_call = true;
    p->c = kfk__conn_connect(loop, host, port, MAX_FRAME, &cbs, p);
    in_connect_call = false;
    return p->c;
}

/* ---- a listener whose accepted conns are test peers --------------------- */

#define NSRV 32
static peer srv[NSRV];
static int nsrv;
static bool srv_echo;
static long srv_fail_after = -1; /* alloc failure inside the accept */

static void on_accept(kfk__listener *l, int fd, void *arg)
{
    (void)l;
    (void)arg;
    ck_assert_int_lt(nsrv, NSRV);
    peer *p = &srv[nsrv];
    p->name = "server";
    p->echo = srv_echo;
    if (srv_fail_after >= 0)
        kfk__alloc_fail_after(srv_fail_after);
    p->c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, p);
    kfk__alloc_fail_after(-1);
    if (p->c)
        nsrv++;
}

static int srv_open(void)
{
    int n = 0;
    for (int i = 0; i < nsrv; i++)
        n += !srv[i].freed;
    return n;
}

static void srv_reset(void)
{
    for (int i = 0; i < NSRV; i++) {
        peer_free_conn(&srv[i]);
        peer_reset(&srv[i]);
    }
    nsrv = 0;
    srv_echo = false;
    srv_fail_after = -1;
}

static kfk__listener *listen_any(void)
{
    char err[128] = "";
    kfk__listener *l =
        kfk__listen(loop, NULL, 0, on_accept, NULL, err, sizeof(err));
    ck_assert_msg(l != NULL, "listen: %s", err);
    ck_assert_int_gt(kfk__listener_port(l), 0);
    return l;
}

/* ---- raw sockets: the far side under the test's byte-level control ----- */

/* A connected loopback pair: *raw stays with the test (blocking), *fd is
 * for kfk__conn_accept. Optional buffer sizes keep the pipe narrow. */
static void tcp_pair(int *raw, int *fd, int fd_sndbuf, int raw_rcvbuf)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(ls, 1), 0);
    ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&a, &al), 0);
    *raw = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (raw_rcvbuf)
        setsockopt(*raw, SOL_SOCKET, SO_RCVBUF, &raw_rcvbuf,
                   sizeof(raw_rcvbuf));
    int one = 1;
    setsockopt(*raw, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ck_assert_int_eq(connect(*raw, (struct sockaddr *)&a, sizeof(a)), 0);
    *fd = accept(ls, NULL, NULL);
    ck_assert_int_ge(*fd, 0);
    if (fd_sndbuf)
        setsockopt(*fd, SOL_SOCKET, SO_SNDBUF, &fd_sndbuf, sizeof(fd_sndbuf));
    close(ls);
}

/* Sends all of buf from the raw side, running the loop while the socket
 * is full so the conn keeps reading. */
static void raw_send(int raw, const void *buf, size_t len)
{
    size_t off = 0;
    int64_t end = kfk__now_ms() + 5000;
    while (off < len && kfk__now_ms() < end) {
        ssize_t n = send(raw, (const uint8_t *)buf + off, len - off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && (errno == EAGAIN || errno == EINTR))
            kfk__loop_run_once(loop, 5);
        else
            break;
    }
    ck_assert_uint_eq(off, len);
}

static int sock_queue(int fd, unsigned long req)
{
    int n = 0;
    if (ioctl(fd, req, &n) < 0)
        return 0;
    return n;
}

/* Runs the loop until everything the raw side wrote has been read by the
 * conn: nothing unacknowledged on the raw side, nothing unread on the
 * conn's socket. */
static void settle(int raw, int fd)
{
    int64_t end = kfk__now_ms() + 2000;
    do
        kfk__loop_run_once(loop, 1);
    while ((sock_queue(raw, SIOCOUTQ) > 0 || sock_queue(fd, SIOCINQ) > 0) &&
           kfk__now_ms() < end);
}

/* Waits (bounded) until the raw side sees EOF or a reset from the conn. */
static bool raw_sees_close(int raw)
{
    int64_t end = kfk__now_ms() + 2000;
    uint8_t buf[4096];
    while (kfk__now_ms() < end) {
        ssize_t n = recv(raw, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return true;
        if (n < 0)
            kfk__loop_run_once(loop, 5);
    }
    return false;
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
    close(s);
    return ntohs(a.sin_port);
}

/* No DNS round trip: glibc rejects the name before any query. */
#define BAD_HOST "invalid host name!"

/* ---- fixture ------------------------------------------------------------ */

static int fds_at_start;

static void setup(void)
{
    fds_at_start = count_fds();
    loop = kfk__loop_new(NULL, NULL);
    ck_assert_ptr_nonnull(loop);
}

static void teardown(void)
{
    srv_reset();
    /* A test that left a timer or io behind would leak it here; ASan
     * reports it. */
    kfk__loop_free(loop);
    loop = NULL;
    ck_assert_int_eq(count_fds(), fds_at_start);
}

/* ---- echo through a real connect/accept -------------------------------- */

static const size_t echo_sizes[] = {0,        1,       4 * KiB, 64 * KiB - 4,
                                    64 * KiB, 1 * MiB, 10 * MiB};

START_TEST(echo_all_sizes)
{
    kfk__listener *l = listen_any();
    int port = kfk__listener_port(l);
    srv_echo = true;
    peer cli = {.name = "client"};
    ck_assert_ptr_nonnull(connect_to(&cli, "127.0.0.1", port));
    char want_peer[32];
    snprintf(want_peer, sizeof(want_peer), "127.0.0.1:%d", port);
    ck_assert_str_eq(kfk__conn_peer(cli.c), want_peer);

    /* Queued while still connecting: goes out once connected. */
    size_t total = 0;
    for (size_t i = 0; i < COUNT(echo_sizes); i++) {
        ck_assert_int_eq(kfk__conn_send(cli.c, frame_new(echo_sizes[i], i),
                                        4 + echo_sizes[i]),
                         0);
        total += 4 + echo_sizes[i];
        ck_assert_uint_eq(kfk__conn_out_bytes(cli.c), total);
    }
    ck_assert_int_eq(cli.connected, 0);
    RUN_UNTIL(cli.nframes == COUNT(echo_sizes) || cli.closed, 5000);
    ck_assert_msg(!cli.closed, "client closed: %s", cli.close_msg);
    ck_assert_int_eq(cli.connected, 1);
    ck_assert_uint_eq(cli.nframes, COUNT(echo_sizes));
    for (size_t i = 0; i < COUNT(echo_sizes); i++) {
        ck_assert_uint_eq(cli.lens[i], echo_sizes[i]);
        ck_assert_msg(body_ok(cli.frames[i], cli.lens[i], i),
                      "frame %zu (%zu bytes) corrupted", i, echo_sizes[i]);
    }
    ck_assert_uint_eq(kfk__conn_out_bytes(cli.c), 0);
    ck_assert_int_eq(nsrv, 1);
    ck_assert_uint_eq(srv[0].nframes, COUNT(echo_sizes));
    RUN_UNTIL(kfk__conn_out_bytes(srv[0].c) == 0, 1000);
    ck_assert_uint_eq(kfk__conn_out_bytes(srv[0].c), 0);
    ck_assert(strncmp(kfk__conn_peer(srv[0].c), "127.0.0.1:", 10) == 0);

    /* The client goes away: the server hears of it once, as TRANSPORT. */
    peer_free_conn(&cli);
    RUN_UNTIL(srv[0].closed, 2000);
    ck_assert_int_eq(srv[0].closed, 1);
    ck_assert_int_eq(srv[0].close_err, KFK_ERR__TRANSPORT);
    peer_reset(&cli);
    kfk__listener_free(l);
}
END_TEST

/* ---- byte boundaries from a raw peer ----------------------------------- */

/* Thousands of frames written as one stream: many per read, and some
 * straddling the end of the 64 KiB stage, including sizes at its edges. */
START_TEST(coalesced_frames)
{
    int raw, fd;
    tcp_pair(&raw, &fd, 0, 0);
    peer p = {.name = "conn"};
    p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
    ck_assert_ptr_nonnull(p.c);
    enum { N = 3000 };
    static const size_t edges[] = {64 * KiB - 5, 64 * KiB - 4, 64 * KiB - 3,
                                   64 * KiB,     64 * KiB + 1, 0,
                                   70000};
    size_t lens[N];
    size_t cap = 0;
    for (int i = 0; i < N; i++) {
        lens[i] = (i % 500 == 499) ? edges[(i / 500) % COUNT(edges)]
                                   : (size_t)(i * 37) % 251;
        cap += 4 + lens[i];
    }
    uint8_t *buf = malloc(cap);
    size_t off = 0;
    for (int i = 0; i < N; i++)
        off += frame_put(buf + off, lens[i], (size_t)i);
    raw_send(raw, buf, off);
    RUN_UNTIL(p.nframes == N || p.closed, 3000);
    ck_assert_msg(!p.closed, "closed: %s", p.close_msg);
    ck_assert_uint_eq(p.nframes, N);
    for (int i = 0; i < N; i++) {
        ck_assert_uint_eq(p.lens[i], lens[i]);
        ck_assert_msg(body_ok(p.frames[i], lens[i], (size_t)i),
                      "frame %d corrupted", i);
    }
    free(buf);
    peer_free_conn(&p);
    peer_reset(&p);
    close(raw);
}
END_TEST

/* Frames dribbled in chunks of 1..7 bytes (headers split too), then a
 * large one: after each chunk is consumed exactly the frames whose last
 * byte has been written are delivered. */
START_TEST(split_tiny_writes)
{
    int raw, fd;
    tcp_pair(&raw, &fd, 0, 0);
    peer p = {.name = "conn"};
    p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
    static const size_t sizes[] = {0, 1, 3, 4, 5, 0, 100, 2, 300, 0, 200 * KiB};
    size_t total = 0;
    for (size_t i = 0; i < COUNT(sizes); i++)
        total += 4 + sizes[i];
    uint8_t *buf = malloc(total);
    size_t ends[COUNT(sizes)], off = 0;
    for (size_t i = 0; i < COUNT(sizes); i++) {
        off += frame_put(buf + off, sizes[i], i);
        ends[i] = off;
    }
    static const size_t chunks[] = {1, 2, 3, 1, 4, 7, 5, 1, 1, 6};
    size_t sent = 0;
    for (size_t k = 0; sent < total; k++) {
        size_t n = chunks[k % COUNT(chunks)];
        /* The big frame's body goes in larger pieces after its header. */
        if (sent >= ends[COUNT(sizes) - 2] + 6)
            n = 8191;
        if (n > total - sent)
            n = total - sent;
        raw_send(raw, buf + sent, n);
        sent += n;
        settle(raw, fd);
        size_t complete = 0;
        while (complete < COUNT(sizes) && ends[complete] <= sent)
            complete++;
        ck_assert_msg(p.nframes == complete,
                      "after %zu bytes: %zu frames delivered, %zu complete",
                      sent, p.nframes, complete);
    }
    ck_assert_int_eq(p.closed, 0);
    for (size_t i = 0; i < COUNT(sizes); i++) {
        ck_assert_uint_eq(p.lens[i], sizes[i]);
        ck_assert(body_ok(p.frames[i], sizes[i], i));
    }
    free(buf);
    peer_free_conn(&p);
    peer_reset(&p);
    close(raw);
}
END_TEST

/* ---- a peer breaking the rules ------------------------------------------ */

/* Opens a raw pair with a conn capped at max_frame, writes bytes, runs
 * until on_close, and leaves the result in *p. */
static void feed_and_close(peer *p, size_t max_frame, const uint8_t *bytes,
                           size_t len)
{
    int raw, fd;
    tcp_pair(&raw, &fd, 0, 0);
    p->name = "conn";
    p->c = kfk__conn_accept(loop, fd, max_frame, &cbs, p);
    ck_assert_ptr_nonnull(p->c);
    raw_send(raw, bytes, len);
    RUN_UNTIL(p->closed, 2000);
    ck_assert_int_eq(p->closed, 1);
    /* The conn closed its socket when freed. */
    ck_assert(raw_sees_close(raw));
    close(raw);
}

START_TEST(frame_over_max)
{
    uint8_t b[4 + 1000 + 4 + 16];
    size_t n = frame_put(b, 1000, 0); /* exactly max: fine */
    n += frame_put(b + n, 16, 1);
    put_be32(b + n - 20, 1001); /* then one over max */
    peer p = {0};
    feed_and_close(&p, 1000, b, n);
    ck_assert_uint_eq(p.nframes, 1);
    ck_assert_uint_eq(p.lens[0], 1000);
    ck_assert_int_eq(p.close_err, KFK_ERR__TOO_LARGE);
    peer_reset(&p);

    /* A header alone is enough: no waiting for (or allocating) a body. */
    uint8_t h[4];
    put_be32(h, 0x7fffffff);
    feed_and_close(&p, MAX_FRAME, h, 4);
    ck_assert_uint_eq(p.nframes, 0);
    ck_assert_int_eq(p.close_err, KFK_ERR__TOO_LARGE);
    peer_reset(&p);
}
END_TEST

START_TEST(frame_negative_size)
{
    static const uint32_t bad[] = {0xffffffffu, 0x80000000u};
    for (size_t i = 0; i < COUNT(bad); i++) {
        uint8_t b[4 + 3 + 4];
        size_t n = frame_put(b, 3, 0);
        put_be32(b + n, bad[i]);
        peer p = {0};
        feed_and_close(&p, MAX_FRAME, b, n + 4);
        ck_assert_uint_eq(p.nframes, 1);
        ck_assert_int_eq(p.close_err, KFK_ERR__MALFORMED);
        peer_reset(&p);
    }
}
END_TEST

/* The peer closes after a whole frame, inside a header, inside a body
 * being read into its own buffer, and with a reset. */
START_TEST(peer_close)
{
    enum { CLEAN, MID_HEADER, MID_SMALL, MID_BIG, RESET, NCASES };
    for (int k = 0; k < NCASES; k++) {
        int raw, fd;
        tcp_pair(&raw, &fd, 0, 0);
        peer p = {.name = "conn"};
        p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
        uint8_t *b = malloc(4 + 10 + 4 + 300 * KiB);
        size_t n = frame_put(b, 10, 0);
        frame_put(b + n, 300 * KiB, 1);
        size_t upto = k == CLEAN        ? n
                      : k == MID_HEADER ? n + 2
                      : k == MID_SMALL  ? 7
                      : k == MID_BIG    ? n + 100 * KiB
                                        : n;
        raw_send(raw, b, upto);
        settle(raw, fd);
        if (k == RESET) {
            struct linger lg = {1, 0};
            setsockopt(raw, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        close(raw);
        RUN_UNTIL(p.closed, 2000);
        ck_assert_msg(p.closed == 1, "case %d: no on_close", k);
        ck_assert_int_eq(p.close_err, KFK_ERR__TRANSPORT);
        ck_assert(p.close_msg[0] != '\0');
        ck_assert_uint_eq(p.nframes, k == MID_SMALL ? 0 : 1);
        peer_reset(&p);
        free(b);
    }
}
END_TEST

/* ---- connect failures ---------------------------------------------------- */

START_TEST(connect_refused)
{
    peer p = {.name = "client"};
    int port = closed_port();
    ck_assert_ptr_nonnull(connect_to(&p, "127.0.0.1", port));
    ck_assert_int_eq(p.closed, 0); /* not from inside the call */
    /* Sends while connecting are accepted, then dropped with the conn. */
    ck_assert_int_eq(kfk__conn_send(p.c, frame_new(5, 0), 9), 0);
    RUN_UNTIL(p.closed, 2000);
    ck_assert_int_eq(p.closed, 1);
    ck_assert_int_eq(p.connected, 0);
    ck_assert_int_eq(p.close_err, KFK_ERR__TRANSPORT);
    ck_assert(p.close_msg[0] != '\0');
    peer_reset(&p);
}
END_TEST

START_TEST(connect_unresolvable)
{
    peer p = {.name = "client"};
    ck_assert_ptr_nonnull(connect_to(&p, BAD_HOST, 9092));
    ck_assert_int_eq(p.closed, 0);
    ck_assert_str_eq(kfk__conn_peer(p.c), BAD_HOST ":9092");
    RUN_UNTIL(p.closed, 2000);
    ck_assert_int_eq(p.closed, 1);
    ck_assert_int_eq(p.connected, 0);
    ck_assert_int_eq(p.close_err, KFK_ERR__TRANSPORT);
    peer_reset(&p);
}
END_TEST

/* Regression (was a bug): kfk__conn_connect reports an early failure (unresolvable host, no
 * socket, io registration failed) through a 0 ms timer whose arg is the
 * conn, but the conn does not remember that timer. Freeing the conn before
 * the loop runs (a client giving up on a broker, shutdown) leaves the
 * timer armed: it fires on freed memory (heap-use-after-free under ASan)
 * and calls on_close after kfk__conn_free, which conn.h rules out. */
START_TEST(free_before_connect_failure_reported)
{
    peer p = {.name = "client"};
    ck_assert_ptr_nonnull(connect_to(&p, BAD_HOST, 9092));
    kfk__conn_free(p.c);
    p.freed = true;
    run_for(30);
    ck_assert_int_eq(p.closed, 0);
    ck_assert_int_eq(kfk__loop_timeout(loop), -1);
    peer_reset(&p);
}
END_TEST

/* Same, but the failure is still inside the kernel's connect: fine. */
START_TEST(free_while_connecting)
{
    kfk__listener *l = listen_any();
    int ports[2] = {closed_port(), kfk__listener_port(l)};
    for (int i = 0; i < 2; i++) {
        peer p = {.name = "client"};
        ck_assert_ptr_nonnull(connect_to(&p, "127.0.0.1", ports[i]));
        ck_assert_int_eq(kfk__conn_send(p.c, frame_new(5, 0), 9), 0);
        kfk__conn_free(p.c);
        p.freed = true;
        run_for(30);
        ck_assert_int_eq(p.closed + p.connected, 0);
        peer_reset(&p);
    }
    RUN_UNTIL(srv_open() == 0, 1000);
    ck_assert_int_eq(srv_open(), 0);
    kfk__listener_free(l);
}
END_TEST

/* ---- freeing from inside callbacks --------------------------------------- */

/* More frames are staged (and a big frame half read) when on_frame frees
 * the conn: no further callbacks, the socket is closed, nothing leaks. */
START_TEST(free_inside_on_frame)
{
    for (int k = 0; k < 3; k++) {
        int raw, fd;
        tcp_pair(&raw, &fd, 0, 0);
        peer p = {.name = "conn"};
        p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
        p.free_at = k == 2 ? 3 : 1;
        p.send_after_free = true;
        uint8_t *b = malloc(20 * 14 + 8 + 300 * KiB);
        size_t n = 0;
        if (k == 1) /* a big frame first, completed in the big path */
            n += frame_put(b, 100 * KiB, 99);
        for (int i = 0; i < 20; i++)
            n += frame_put(b + n, 10, (size_t)i);
        n += frame_put(b + n, 200 * KiB, 7); /* started, never finished */
        raw_send(raw, b, n - 1000);
        RUN_UNTIL(p.freed, 2000);
        ck_assert(p.freed);
        ck_assert_uint_eq(p.nframes, p.free_at);
        ck_assert_int_eq(p.send_rc, KFK_ERR__TRANSPORT);
        run_for(20);
        ck_assert_uint_eq(p.nframes, p.free_at);
        ck_assert_int_eq(p.closed, 0);
        ck_assert(raw_sees_close(raw));
        ck_assert(fd_is_closed(fd));
        close(raw);
        free(b);
        peer_reset(&p);
    }
}
END_TEST

START_TEST(free_inside_on_connect)
{
    kfk__listener *l = listen_any();
    peer p = {.name = "client", .free_on_connect = true};
    ck_assert_ptr_nonnull(connect_to(&p, "127.0.0.1", kfk__listener_port(l)));
    ck_assert_int_eq(kfk__conn_send(p.c, frame_new(5, 0), 9), 0);
    RUN_UNTIL(p.freed, 2000);
    ck_assert_int_eq(p.connected, 1);
    run_for(20);
    ck_assert_int_eq(p.closed, 0);
    RUN_UNTIL(srv_open() == 0, 1000);
    ck_assert_int_eq(srv_open(), 0);
    peer_reset(&p);
    kfk__listener_free(l);
}
END_TEST

/* ---- pause / resume -------------------------------------------------- */

START_TEST(pause_in_on_frame_then_resume)
{
    int raw, fd;
    tcp_pair(&raw, &fd, 0, 0);
    peer p = {.name = "conn", .pause_at = 1};
    p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
    uint8_t b[5 * 24];
    size_t n = 0;
    for (int i = 0; i < 5; i++)
        n += frame_put(b + n, 20, (size_t)i);
    raw_send(raw, b, n); /* one write: all five land in one read */
    settle(raw, fd);
    ck_assert_uint_eq(p.nframes, 1);
    run_for(30);
    ck_assert_uint_eq(p.nframes, 1);
    /* No more bytes will arrive; the four staged frames must still come. */
    kfk__conn_pause_read(p.c, false);
    RUN_UNTIL(p.nframes == 5, 1000);
    ck_assert_uint_eq(p.nframes, 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert(body_ok(p.frames[i], 20, i));
    /* And reading goes on afterwards. */
    n = frame_put(b, 20, 5);
    raw_send(raw, b, n);
    RUN_UNTIL(p.nframes == 6, 1000);
    ck_assert_uint_eq(p.nframes, 6);
    ck_assert_int_eq(p.closed, 0);
    peer_free_conn(&p);
    peer_reset(&p);
    close(raw);
}
END_TEST

START_TEST(pause_before_data)
{
    int raw, fd;
    tcp_pair(&raw, &fd, 0, 0);
    peer p = {.name = "conn"};
    p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
    kfk__conn_pause_read(p.c, true);
    kfk__conn_pause_read(p.c, true);
    uint8_t b[3 * 14];
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        n += frame_put(b + n, 10, (size_t)i);
    raw_send(raw, b, n);
    run_for(30);
    ck_assert_uint_eq(p.nframes, 0);
    kfk__conn_pause_read(p.c, false);
    RUN_UNTIL(p.nframes == 3, 1000);
    ck_assert_uint_eq(p.nframes, 3);
    /* A paused conn still notices nothing of a FIN until resumed. */
    kfk__conn_pause_read(p.c, true);
    shutdown(raw, SHUT_WR);
    run_for(20);
    ck_assert_int_eq(p.closed, 0);
    kfk__conn_pause_read(p.c, false);
    RUN_UNTIL(p.closed, 1000);
    ck_assert_int_eq(p.close_err, KFK_ERR__TRANSPORT);
    peer_reset(&p);
    close(raw);
}
END_TEST

/* Regression (was a bug): a paused conn asks epoll for no events, but epoll always reports
 * EPOLLERR/EPOLLHUP, which the loop passes on as READ; on_io() then does
 * nothing because the conn is paused, and the level-triggered event fires
 * again at once. A paused conn whose peer resets spins its loop thread at
 * 100% CPU until it is resumed. */
START_TEST(paused_conn_peer_reset_does_not_spin)
{
    int raw, fd;
    tcp_pair(&raw, &fd, 0, 0);
    peer p = {.name = "conn"};
    p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
    kfk__conn_pause_read(p.c, true);
    struct linger lg = {1, 0};
    setsockopt(raw, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(raw);
    int ran = 0;
    int64_t end = kfk__now_ms() + 50;
    while (kfk__now_ms() < end && !p.closed)
        ran += kfk__loop_run_once(loop, 5);
    ck_assert_msg(p.closed || ran <= 3,
                  "%d callbacks in 50 ms for a paused, reset conn", ran);
    if (!p.closed) {
        kfk__conn_pause_read(p.c, false);
        RUN_UNTIL(p.closed, 1000);
    }
    ck_assert_int_eq(p.close_err, KFK_ERR__TRANSPORT);
    peer_reset(&p);
}
END_TEST

/* Regression (was a bug): kfk__conn_pause_read(c, false) hands out staged frames by turning
 * on write interest and waiting for the socket to be writable. When the
 * conn's own output is stuck (the peer is not reading), no event comes and
 * the staged frames wait for the peer to read, though no byte is missing
 * (conn.c, kfk__conn_pause_read and on_io). */
START_TEST(resume_with_blocked_output)
{
    int raw, fd;
    tcp_pair(&raw, &fd, 4096, 4096);
    peer p = {.name = "conn", .pause_at = 1};
    p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
    ck_assert_int_eq(kfk__conn_send(p.c, frame_new(2 * MiB, 0), 4 + 2 * MiB),
                     0);
    run_for(20);
    ck_assert_uint_gt(kfk__conn_out_bytes(p.c), 0);
    uint8_t b[3 * 24];
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        n += frame_put(b + n, 20, (size_t)i);
    raw_send(raw, b, n);
    settle(raw, fd);
    ck_assert_uint_eq(p.nframes, 1);
    /* Still stuck: the socket is full, so it is not writable either. */
    ck_assert_uint_gt(kfk__conn_out_bytes(p.c), 0);
    kfk__conn_pause_read(p.c, false);
    RUN_UNTIL(p.nframes == 3, 300);
    ck_assert_msg(p.nframes == 3, "%zu of 3 frames after resume", p.nframes);
    peer_free_conn(&p);
    peer_reset(&p);
    close(raw);
}
END_TEST

static void resume_cb(kfk__timer *t, void *arg)
{
    peer *p = arg;
    kfk__conn_pause_read(p->c, false);
    kfk__timer_del(t);
}

/* Resumed from a timer callback (another callback on the same loop). */
START_TEST(resume_from_timer)
{
    int raw, fd;
    tcp_pair(&raw, &fd, 0, 0);
    peer p = {.name = "conn", .pause_at = 2};
    p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
    uint8_t b[4 * 104];
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        n += frame_put(b + n, 100, (size_t)i);
    raw_send(raw, b, n);
    RUN_UNTIL(p.nframes == 2, 1000);
    ck_assert_ptr_nonnull(kfk__timer_add(loop, 10, resume_cb, &p));
    RUN_UNTIL(p.nframes == 4, 1000);
    ck_assert_uint_eq(p.nframes, 4);
    peer_free_conn(&p);
    peer_reset(&p);
    close(raw);
}
END_TEST

/* ---- sending ------------------------------------------------------------- */

START_TEST(send_after_close)
{
    int raw, fd;
    tcp_pair(&raw, &fd, 0, 0);
    peer p = {.name = "conn", .send_in_close = true, .send_rc = 12345};
    p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
    close(raw);
    RUN_UNTIL(p.closed, 2000);
    ck_assert_int_eq(p.closed, 1);
    /* The buffer was freed (ASan would report a leak otherwise). */
    ck_assert_int_eq(p.send_rc, KFK_ERR__TRANSPORT);
    peer_reset(&p);
}
END_TEST

/* The far side reads slowly through narrow buffers: out_bytes starts at
 * the total, only goes down, reaches 0, and the bytes arrive intact and in
 * order across more buffers than one writev takes. */
START_TEST(out_bytes_accounting)
{
    int raw, fd;
    tcp_pair(&raw, &fd, 4096, 4096);
    peer p = {.name = "conn"};
    p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
    enum { N = 300 };
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        size_t len = (size_t)(i * 97) % 8000;
        ck_assert_int_eq(
            kfk__conn_send(p.c, frame_new(len, (size_t)i), 4 + len), 0);
        total += 4 + len;
        ck_assert_uint_eq(kfk__conn_out_bytes(p.c), total);
    }
    uint8_t *got = malloc(total);
    size_t have = 0, last = total;
    bool partial = false;
    int64_t end = kfk__now_ms() + 5000;
    while (have < total && kfk__now_ms() < end) {
        kfk__loop_run_once(loop, 1);
        size_t ob = kfk__conn_out_bytes(p.c);
        ck_assert_uint_le(ob, last);
        last = ob;
        partial = partial || (ob > 0 && ob < total);
        ssize_t r = recv(raw, got + have, total - have, MSG_DONTWAIT);
        if (r > 0)
            have += (size_t)r;
        /* Everything not yet received is either queued or in flight. */
        ck_assert_uint_le(ob, total - have);
    }
    ck_assert_uint_eq(have, total);
    ck_assert(partial);
    RUN_UNTIL(kfk__conn_out_bytes(p.c) == 0, 1000);
    ck_assert_uint_eq(kfk__conn_out_bytes(p.c), 0);
    size_t off = 0;
    for (int i = 0; i < N; i++) {
        size_t len = (size_t)(i * 97) % 8000;
        ck_assert_uint_eq((size_t)got[off] << 24 | (size_t)got[off + 1] << 16 |
                              (size_t)got[off + 2] << 8 | got[off + 3],
                          len);
        ck_assert_msg(body_ok(got + off + 4, len, (size_t)i), "buffer %d", i);
        off += 4 + len;
    }
    free(got);
    /* Freed with output still queued: dropped without a leak. */
    ck_assert_int_eq(kfk__conn_send(p.c, frame_new(64 * KiB, 0), 4 + 64 * KiB),
                     0);
    peer_free_conn(&p);
    peer_reset(&p);
    close(raw);
}
END_TEST

/* Regression (was a bug): a zero-length buffer passed to kfk__conn_send never leaves the
 * queue: writev() returns 0 for it, flush_out() neither removes it nor
 * breaks out, and the loop thread spins forever inside flush_out. The
 * tcase timeout turns the hang into a failure. */
START_TEST(send_empty_buffer)
{
    int raw, fd;
    tcp_pair(&raw, &fd, 0, 0);
    peer p = {.name = "conn"};
    p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
    ck_assert_int_eq(kfk__conn_send(p.c, frame_new(3, 0), 7), 0);
    ck_assert_int_eq(kfk__conn_send(p.c, kfk__malloc(1), 0), 0);
    RUN_UNTIL(kfk__conn_out_bytes(p.c) == 0, 200);
    ck_assert_int_eq(kfk__conn_send(p.c, frame_new(3, 1), 7), 0);
    RUN_UNTIL(kfk__conn_out_bytes(p.c) == 0, 1000);
    ck_assert_uint_eq(kfk__conn_out_bytes(p.c), 0);
    uint8_t got[14];
    size_t have = 0;
    int64_t end = kfk__now_ms() + 1000;
    while (have < sizeof(got) && kfk__now_ms() < end) {
        ssize_t r = recv(raw, got + have, sizeof(got) - have, MSG_DONTWAIT);
        if (r > 0)
            have += (size_t)r;
        kfk__loop_run_once(loop, 1);
    }
    ck_assert_uint_eq(have, sizeof(got));
    peer_free_conn(&p);
    peer_reset(&p);
    close(raw);
}
END_TEST

/* ---- allocation failures --------------------------------------------- */

START_TEST(alloc_fail_accept)
{
    int ok_at = -1;
    for (int n = 0; n < 10 && ok_at < 0; n++) {
        int raw, fd;
        tcp_pair(&raw, &fd, 0, 0);
        peer p = {.name = "conn"};
        kfk__alloc_fail_after(n);
        p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
        kfk__alloc_fail_after(-1);
        if (!p.c) {
            /* Failure: the conn closed the fd it was given. */
            ck_assert(fd_is_closed(fd));
            ck_assert(raw_sees_close(raw));
        } else {
            ok_at = n;
            uint8_t b[14];
            raw_send(raw, b, frame_put(b, 10, 0));
            RUN_UNTIL(p.nframes == 1, 1000);
            ck_assert_uint_eq(p.nframes, 1);
            peer_free_conn(&p);
        }
        close(raw);
        peer_reset(&p);
    }
    ck_assert_int_gt(ok_at, 0);
}
END_TEST

/* Failures at every allocation of a connect, to a live listener and to an
 * unresolvable host; and inside the listener's accept. */
START_TEST(alloc_fail_connect)
{
    kfk__listener *l = listen_any();
    int port = kfk__listener_port(l);
    const char *hosts[] = {"127.0.0.1", BAD_HOST};
    for (size_t h = 0; h < COUNT(hosts); h++) {
        int ok_at = -1;
        for (int n = 0; n < 10 && ok_at < 0; n++) {
            peer p = {.name = "client"};
            kfk__alloc_fail_after(n);
            connect_to(&p, hosts[h], port);
            kfk__alloc_fail_after(-1);
            if (!p.c)
                continue;
            ok_at = n;
            RUN_UNTIL(p.connected || p.closed, 2000);
            ck_assert_int_eq(p.connected + p.closed, 1);
            ck_assert_int_eq(p.connected, h == 0);
            peer_free_conn(&p);
            peer_reset(&p);
        }
        ck_assert_int_gt(ok_at, 0);
        RUN_UNTIL(srv_open() == 0, 1000);
        ck_assert_int_eq(srv_open(), 0);
    }

    /* The accept side failing: the client sees the socket closed. */
    for (long n = 0; n < 2; n++) {
        srv_fail_after = n;
        int before = nsrv;
        peer p = {.name = "client"};
        connect_to(&p, "127.0.0.1", port);
        RUN_UNTIL(p.closed, 2000);
        ck_assert_int_eq(p.closed, 1);
        ck_assert_int_eq(p.close_err, KFK_ERR__TRANSPORT);
        ck_assert_int_eq(nsrv, before);
        peer_reset(&p);
    }
    srv_fail_after = -1;
    kfk__listener_free(l);
}
END_TEST

/* Allocating an incoming frame fails: on_close with NOMEM, nothing leaks,
 * for a frame copied out of the stage and one started as a big frame. */
START_TEST(alloc_fail_frame)
{
    static const size_t sizes[] = {10, 200 * KiB};
    for (size_t i = 0; i < COUNT(sizes); i++) {
        int raw, fd;
        tcp_pair(&raw, &fd, 0, 0);
        peer p = {.name = "conn"};
        p.c = kfk__conn_accept(loop, fd, MAX_FRAME, &cbs, &p);
        uint8_t b[64];
        size_t n = frame_put(b, 10, 0);
        if (sizes[i] > 10) /* a big frame's header and 10 body bytes */
            put_be32(b, (uint32_t)sizes[i]);
        raw_send(raw, b, n);
        kfk__alloc_fail_after(0);
        RUN_UNTIL(p.closed, 2000);
        kfk__alloc_fail_after(-1);
        ck_assert_int_eq(p.closed, 1);
        ck_assert_int_eq(p.close_err, KFK_ERR__NOMEM);
        ck_assert_uint_eq(p.nframes, 0);
        peer_reset(&p);
        close(raw);
    }
}
END_TEST

/* ---- the listener ---------------------------------------------------- */

START_TEST(listener_pause_and_errors)
{
    kfk__listener *l = listen_any();
    int port = kfk__listener_port(l);
    kfk__listener_pause(l, 1);
    peer p = {.name = "client"};
    connect_to(&p, "127.0.0.1", port);
    /* The kernel completes the handshake from the backlog... */
    RUN_UNTIL(p.connected, 2000);
    ck_assert_int_eq(p.connected, 1);
    run_for(20);
    /* ...but nothing is accepted until resumed. */
    ck_assert_int_eq(nsrv, 0);
    kfk__listener_pause(l, 0);
    RUN_UNTIL(nsrv == 1, 1000);
    ck_assert_int_eq(nsrv, 1);
    peer_free_conn(&p);
    peer_reset(&p);

    /* The port is taken. */
    char err[128] = "";
    ck_assert_ptr_null(kfk__listen(loop, "127.0.0.1", port, on_accept, NULL,
                                   err, sizeof(err)));
    ck_assert(err[0] != '\0');
    /* The host does not resolve. */
    err[0] = '\0';
    ck_assert_ptr_null(
        kfk__listen(loop, BAD_HOST, 0, on_accept, NULL, err, sizeof(err)));
    ck_assert(err[0] != '\0');
    /* Out of memory, at each allocation. */
    for (int n = 0; n < 2; n++) {
        err[0] = '\0';
        kfk__alloc_fail_after(n);
        kfk__listener *x =
            kfk__listen(loop, NULL, 0, on_accept, NULL, err, sizeof(err));
        kfk__alloc_fail_after(-1);
        ck_assert_ptr_null(x);
        ck_assert(err[0] != '\0');
    }
    kfk__listener_free(NULL);
    kfk__listener_free(l);
}
END_TEST

static void accept_once_cb(kfk__listener *l, int fd, void *arg)
{
    int *n = arg;
    (*n)++;
    close(fd);
    kfk__listener_free(l);
}

/* Regression (was a bug): on_accept() keeps looping over accept4(l->fd) after calling the
 * accept callback, so a callback that frees the listener (accept one
 * connection and stop; broker shutdown) makes it read freed memory
 * (heap-use-after-free under ASan). kfk__io_del is safe inside callbacks;
 * kfk__listener_free is not. */
START_TEST(listener_free_in_accept_cb)
{
    int accepted = 0;
    char err[128];
    kfk__listener *l =
        kfk__listen(loop, NULL, 0, accept_once_cb, &accepted, err, sizeof(err));
    ck_assert_ptr_nonnull(l);
    int port = kfk__listener_port(l);
    peer a = {.name = "a"}, b = {.name = "b"};
    connect_to(&a, "127.0.0.1", port);
    connect_to(&b, "127.0.0.1", port);
    RUN_UNTIL(accepted > 0, 2000);
    run_for(30);
    ck_assert_int_eq(accepted, 1);
    peer_free_conn(&a);
    peer_free_conn(&b);
    peer_reset(&a);
    peer_reset(&b);
}
END_TEST

static Suite *conn_suite(void)
{
    Suite *s = suite_create("conn");
    TCase *tc = tcase_create("frames");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, echo_all_sizes);
    tcase_add_test(tc, coalesced_frames);
    tcase_add_test(tc, split_tiny_writes);
    tcase_add_test(tc, frame_over_max);
    tcase_add_test(tc, frame_negative_size);
    tcase_add_test(tc, peer_close);
    suite_add_tcase(s, tc);

    tc = tcase_create("connect");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, connect_refused);
    tcase_add_test(tc, connect_unresolvable);
    tcase_add_test(tc, free_before_connect_failure_reported);
    tcase_add_test(tc, free_while_connecting);
    suite_add_tcase(s, tc);

    tc = tcase_create("callbacks");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, free_inside_on_frame);
    tcase_add_test(tc, free_inside_on_connect);
    tcase_add_test(tc, pause_in_on_frame_then_resume);
    tcase_add_test(tc, pause_before_data);
    tcase_add_test(tc, resume_from_timer);
    tcase_add_test(tc, paused_conn_peer_reset_does_not_spin);
    tcase_add_test(tc, resume_with_blocked_output);
    tcase_add_test(tc, send_after_close);
    tcase_add_test(tc, out_bytes_accounting);
    suite_add_tcase(s, tc);

    /* A hang here is the bug; fail it fast. */
    tc = tcase_create("send_empty");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 1);
    tcase_add_test(tc, send_empty_buffer);
    suite_add_tcase(s, tc);

    tc = tcase_create("alloc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, alloc_fail_accept);
    tcase_add_test(tc, alloc_fail_connect);
    tcase_add_test(tc, alloc_fail_frame);
    suite_add_tcase(s, tc);

    tc = tcase_create("listener");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, listener_pause_and_errors);
    tcase_add_test(tc, listener_free_in_accept_cb);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(conn_suite)
