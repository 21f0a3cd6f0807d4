/*
 * conn.c: framed, non-blocking TCP connections (see conn.h).
 *
 * Reads land in a 64 KiB staging buffer; each complete frame is copied out
 * into an allocation of its own (the callee keeps it as long as it needs),
 * and a large frame that does not fit is read straight into its final
 * buffer. Writes go out with writev from a queue, and write interest is on
 * only while the queue is non-empty. A conn freed from inside one of its
 * callbacks is only marked; the dispatch loop frees it on the way out.
 */
#include "net/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <kfk/error.h>

#include "common/alloc.h"
#include "proto/buf.h"

#define STAGE_SIZE (64 * 1024)
#define MAX_IOV 64

typedef struct outbuf {
    struct outbuf *next;
    uint8_t *data;
    size_t len, off;
} outbuf;

struct kfk__conn {
    kfk__loop *loop;
    kfk__io *io;
    kfk__timer *soon; /* a deferred connect failure or post-resume drain */
    int fd;
    bool connecting, paused, closed, in_cb, freed;
    size_t max_frame;
    kfk__conn_cbs cbs;
    void *arg;
    /* reading */
    uint8_t *stage;
    size_t stage_len;
    uint8_t *big;    /* a frame larger than the stage, being filled */
    size_t big_len, big_have;
    /* writing */
    outbuf *out_head, *out_tail;
    size_t out_bytes;
    char peer[64];
};

static void set_events(kfk__conn *c)
{
    if (!c->io)
        return;
    int ev = 0;
    if (!c->paused && !c->connecting)
        ev |= KFK__IO_READ;
    if (c->connecting || c->out_head)
        ev |= KFK__IO_WRITE;
    kfk__io_set(c->io, ev);
}

static void destroy(kfk__conn *c)
{
    kfk__timer_del(c->soon);
    kfk__io_del(c->io);
    if (c->fd >= 0)
        close(c->fd);
    while (c->out_head) {
        outbuf *o = c->out_head;
        c->out_head = o->next;
        kfk__free(o->data);
        kfk__free(o);
    }
    kfk__free(c->stage);
    kfk__free(c->big);
    kfk__free(c);
}

void kfk__conn_free(kfk__conn *c)
{
    if (!c)
        return;
    if (c->in_cb) {
        c->freed = true;
        c->closed = true;
        return;
    }
    destroy(c);
}

/* Reports the failure once; the owner frees the conn from on_close. */
static void fail(kfk__conn *c, int err, const char *msg)
{
    if (c->closed)
        return;
    c->closed = true;
    kfk__io_del(c->io);
    c->io = NULL;
    if (c->cbs.on_close)
        c->cbs.on_close(c, err, msg, c->arg);
}

static void deliver(kfk__conn *c, uint8_t *frame, size_t len)
{
    if (c->cbs.on_frame)
        c->cbs.on_frame(c, frame, len, c->arg);
    else
        kfk__free(frame);
}

/* Hands out every complete frame in the stage; starts a big frame if the
 * next one cannot fit. */
static void drain_stage(kfk__conn *c)
{
    size_t off = 0;
    while (!c->closed && !c->paused && c->stage_len - off >= 4) {
        int32_t size = (int32_t)kfk__load_be32(c->stage + off);
        if (size < 0 || (size_t)size > c->max_frame) {
            char msg[96];
            snprintf(msg, sizeof(msg), "frame of %d bytes exceeds the %zu byte limit",
                     (int)size, c->max_frame);
            fail(c, size < 0 ? KFK_ERR__MALFORMED : KFK_ERR__TOO_LARGE, msg);
            return;
        }
        size_t have = c->stage_len - off - 4;
        uint8_t *frame = kfk__malloc((size_t)size);
        if (!frame) {
            fail(c, KFK_ERR__NOMEM, "out of memory for an incoming frame");
            return;
        }
        if (have < (size_t)size) {
            memcpy(frame, c->stage + off + 4, have);
            c->big = frame;
            c->big_len = (size_t)size;
            c->big_have = have;
            off = c->stage_len;
            break;
        }
        memcpy(frame, c->stage + off + 4, (size_t)size);
        off += 4 + (size_t)size;
        deliver(c, frame, (size_t)size);
    }
    memmove(c->stage, c->stage + off, c->stage_len - off);
    c->stage_len -= off;
}

static void on_readable(kfk__conn *c)
{
    for (int rounds = 0; rounds < 16 && !c->closed && !c->paused; rounds++) {
        ssize_t n;
        if (c->big) {
            n = read(c->fd, c->big + c->big_have, c->big_len - c->big_have);
        } else {
            n = read(c->fd, c->stage + c->stage_len, STAGE_SIZE - c->stage_len);
        }
        if (n == 0) {
            fail(c, KFK_ERR__TRANSPORT, "connection closed by peer");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            fail(c, KFK_ERR__TRANSPORT, strerror(errno));
            return;
        }
        if (c->big) {
            c->big_have += (size_t)n;
            if (c->big_have == c->big_len) {
                uint8_t *f = c->big;
                c->big = NULL;
                deliver(c, f, c->big_len);
            }
            continue;
        }
        c->stage_len += (size_t)n;
        drain_stage(c);
    }
}

static void flush_out(kfk__conn *c)
{
    while (c->out_head && !c->closed) {
        struct iovec iov[MAX_IOV];
        int k = 0;
        for (outbuf *o = c->out_head; o && k < MAX_IOV; o = o->next, k++) {
            iov[k].iov_base = o->data + o->off;
            iov[k].iov_len = o->len - o->off;
        }
        ssize_t n = writev(c->fd, iov, k);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            fail(c, KFK_ERR__TRANSPORT, strerror(errno));
            return;
        }
        size_t left = (size_t)n;
        c->out_bytes -= left;
        while (left && c->out_head) {
            outbuf *o = c->out_head;
            size_t take = o->len - o->off;
            if (take > left) {
                o->off += left;
                break;
            }
            left -= take;
            c->out_head = o->next;
            kfk__free(o->data);
            kfk__free(o);
        }
        if (!c->out_head)
            c->out_tail = NULL;
    }
    if (!c->closed)
        set_events(c);
}

static void finish_connect(kfk__conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        char msg[128];
        snprintf(msg, sizeof(msg), "connect to %s failed: %s", c->peer, strerror(err));
        fail(c, KFK_ERR__TRANSPORT, msg);
        return;
    }
    c->connecting = false;
    set_events(c);
    if (c->cbs.on_connect)
        c->cbs.on_connect(c, c->arg);
}

static void on_io(kfk__io *io, int events, void *arg)
{
    kfk__conn *c = arg;
    (void)io;
    c->in_cb = true;
    if (c->connecting) {
        if (events & (KFK__IO_WRITE | KFK__IO_READ))
            finish_connect(c);
    } else if (c->paused && (events & KFK__IO_READ)) {
        /* Not watching input, so this is an error or hangup (epoll always
         * reports those): the connection is gone. */
        fail(c, KFK_ERR__TRANSPORT, "connection reset while paused");
    } else {
        if (events & KFK__IO_READ)
            on_readable(c);
        if (!c->closed && (events & KFK__IO_WRITE))
            flush_out(c);
    }
    c->in_cb = false;
    if (c->freed)
        destroy(c);
}

static kfk__conn *conn_new(kfk__loop *loop, size_t max_frame,
                           const kfk__conn_cbs *cbs, void *arg)
{
    kfk__conn *c = kfk__calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->stage = kfk__malloc(STAGE_SIZE);
    if (!c->stage) {
        kfk__free(c);
        return NULL;
    }
    c->loop = loop;
    c->fd = -1;
    c->max_frame = max_frame;
    c->cbs = *cbs;
    c->arg = arg;
    return c;
}

static void tune_socket(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

kfk__conn *kfk__conn_accept(kfk__loop *loop, int fd, size_t max_frame,
                            const kfk__conn_cbs *cbs, void *arg)
{
    kfk__conn *c = conn_new(loop, max_frame, cbs, arg);
    if (!c) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    tune_socket(fd);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[48] = "?", serv[16] = "?";
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv,
                    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(c->peer, sizeof(c->peer), "%s:%s", host, serv);
    c->io = kfk__io_add(loop, fd, KFK__IO_READ, on_io, c);
    if (!c->io) {
        destroy(c);
        return NULL;
    }
    return c;
}

/* Connect failures are reported from the loop, never inside this call. */
static void on_connect_failed_timer(kfk__timer *t, void *arg)
{
    kfk__conn *c = arg;
    kfk__timer_del(t);
    c->soon = NULL;
    c->in_cb = true;
    fail(c, KFK_ERR__TRANSPORT, c->peer[0] ? c->peer : "connect failed");
    c->in_cb = false;
    if (c->freed)
        destroy(c);
}

kfk__conn *kfk__conn_connect(kfk__loop *loop, const char *host, int port,
                             size_t max_frame, const kfk__conn_cbs *cbs,
                             void *arg)
{
    kfk__conn *c = conn_new(loop, max_frame, cbs, arg);
    if (!c)
        return NULL;
    c->connecting = true;
    snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
    char serv[16];
    snprintf(serv, sizeof(serv), "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(host, serv, &hints, &ai);
    if (gai == 0) {
        c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd >= 0) {
            tune_socket(c->fd);
            if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
                close(c->fd);
                c->fd = -1;
            }
        }
        freeaddrinfo(ai);
    }
    if (c->fd >= 0)
        c->io = kfk__io_add(loop, c->fd, KFK__IO_WRITE, on_io, c);
    if (!c->io && !(c->soon = kfk__timer_add(loop, 0, on_connect_failed_timer, c))) {
        destroy(c);
        return NULL;
    }
    return c;
}

int kfk__conn_send(kfk__conn *c, uint8_t *buf, size_t len)
{
    if (c->closed) {
        kfk__free(buf);
        return KFK_ERR__TRANSPORT;
    }
    if (len == 0) { /* nothing to write; an empty entry would stall writev */
        kfk__free(buf);
        return 0;
    }
    outbuf *o = kfk__malloc(sizeof(*o));
    if (!o) {
        kfk__free(buf);
        return KFK_ERR__NOMEM;
    }
    o->next = NULL;
    o->data = buf;
    o->len = len;
    o->off = 0;
    if (c->out_tail)
        c->out_tail->next = o;
    else
        c->out_head = o;
    c->out_tail = o;
    c->out_bytes += len;
    if (!c->connecting)
        set_events(c);
    return 0;
}

/* Hands out frames staged while the conn was paused (no new bytes may
 * arrive to trigger a read). */
static void on_drain_timer(kfk__timer *t, void *arg)
{
    kfk__conn *c = arg;
    kfk__timer_del(t);
    c->soon = NULL;
    c->in_cb = true;
    if (!c->closed && !c->paused && !c->big)
        drain_stage(c);
    c->in_cb = false;
    if (c->freed)
        destroy(c);
}

void kfk__conn_pause_read(kfk__conn *c, bool pause)
{
    if (c->paused == pause || c->closed)
        return;
    c->paused = pause;
    set_events(c);
    /* Staged frames go out from the loop, never inside this call. */
    if (!pause && c->stage_len >= 4 && !c->soon)
        c->soon = kfk__timer_add(c->loop, 0, on_drain_timer, c);
}

size_t kfk__conn_out_bytes(const kfk__conn *c)
{
    return c->out_bytes;
}

const char *kfk__conn_peer(const kfk__conn *c)
{
    return c->peer;
}
