/*
 * conn.h: a Kafka-framed TCP connection on a kfk__loop, used by the client
 * and the reference broker alike: int32 size-prefixed frames in, a queue of
 * buffers out, non-blocking connect, and a hard cap on incoming frame size.
 *
 * All functions run on the loop's thread. Callbacks never run inside the
 * call that caused them except on_frame/on_close, which run from the loop.
 */
#ifndef KFK_NET_CONN_H
#define KFK_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/loop.h"

typedef struct kfk__conn kfk__conn;

typedef struct kfk__conn_cbs {
    /* A complete frame without its size prefix. The callee owns frame and
     * frees it with kfk__free. */
    void (*on_frame)(kfk__conn *c, uint8_t *frame, size_t len, void *arg);
    /* The connection is established (outgoing connections only). */
    void (*on_connect)(kfk__conn *c, void *arg);
    /* The connection failed or the peer closed it; err is a kfk_err_t
     * (KFK_ERR__TRANSPORT, __TOO_LARGE for an oversized frame) and msg says
     * why. The callee must call kfk__conn_free; no callback follows. */
    void (*on_close)(kfk__conn *c, int err, const char *msg, void *arg);
} kfk__conn_cbs;

/* Wraps an accepted, connected socket (made non-blocking here); the conn
 * owns fd. NULL on allocation failure (fd is closed). */
kfk__conn *kfk__conn_accept(kfk__loop *loop, int fd, size_t max_frame,
                            const kfk__conn_cbs *cbs, void *arg);

/* Starts connecting to host:port. Returns NULL only on allocation failure;
 * resolution and connect failures arrive through on_close. */
kfk__conn *kfk__conn_connect(kfk__loop *loop, const char *host, int port,
                             size_t max_frame, const kfk__conn_cbs *cbs,
                             void *arg);

/* Queues buf[0..len) (a complete frame including its size prefix) for
 * sending; takes ownership of buf (kfk__malloc'd) in every case. Returns 0,
 * or KFK_ERR__TRANSPORT once the connection is closing. */
int kfk__conn_send(kfk__conn *c, uint8_t *buf, size_t len);

/* Stops or resumes reading frames (back-pressure, fault injection). */
void kfk__conn_pause_read(kfk__conn *c, bool pause);

/* Bytes queued but not yet written. */
size_t kfk__conn_out_bytes(const kfk__conn *c);

/* Peer "host:port" for logs. */
const char *kfk__conn_peer(const kfk__conn *c);

/* Closes the socket, drops queued output and frees the conn. No callback
 * runs afterwards. Safe inside the conn's own callbacks. NULL is ok. */
void kfk__conn_free(kfk__conn *c);

#endif
