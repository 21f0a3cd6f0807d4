/*
 * listen.h: a listening TCP socket on a kfk__loop that hands each accepted
 * socket to a callback (the reference broker's front door).
 */
#ifndef KFK_NET_LISTEN_H
#define KFK_NET_LISTEN_H

#include <stddef.h>

#include "net/loop.h"

typedef struct kfk__listener kfk__listener;

/* fd is a connected, accepted socket now owned by the callee. */
typedef void(kfk__accept_cb)(kfk__listener *l, int fd, void *arg);

/* Listens on host:port (port 0 = an ephemeral port; host NULL or "" =
 * 127.0.0.1). Returns NULL and sets *errmsg (static or in errbuf) on
 * failure. */
kfk__listener *kfk__listen(kfk__loop *loop, const char *host, int port,
                           kfk__accept_cb *cb, void *arg, char *errbuf,
                           size_t errlen);
/* The port actually bound. */
int kfk__listener_port(const kfk__listener *l);
/* Stops accepting (for "broker stop") without closing the socket, or
 * resumes. Connections still queue in the backlog while stopped. */
void kfk__listener_pause(kfk__listener *l, int pause);
/* Closes the socket and frees the listener. NULL is ok; safe inside the
 * accept callback. */
void kfk__listener_free(kfk__listener *l);

#endif
