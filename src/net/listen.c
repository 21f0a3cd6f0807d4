/*
 * listen.c: the accepting side of src/net (see listen.h).
 */
#include "net/listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"

struct kfk__listener {
    kfk__loop *loop;
    kfk__io *io;
    int fd;
    int port;
    kfk__accept_cb *cb;
    void *arg;
    bool in_cb, freed;
};

static void on_accept(kfk__io *io, int events, void *arg)
{
    kfk__listener *l = arg;
    (void)io;
    (void)events;
    l->in_cb = true;
    for (int i = 0; i < 64 && !l->freed; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break; /* EAGAIN, or a transient error (EMFILE): retry later */
        l->cb(l, fd, l->arg);
    }
    l->in_cb = false;
    if (l->freed)
        kfk__listener_free(l);
}

kfk__listener *kfk__listen(kfk__loop *loop, const char *host, int port,
                           kfk__accept_cb *cb, void *arg, char *errbuf,
                           size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char serv[16];
    snprintf(serv, sizeof(serv), "%d", port);
    if (!host || !*host)
        host = "127.0.0.1";
    int gai = getaddrinfo(host, serv, &hints, &ai);
    if (gai) {
        snprintf(errbuf, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return NULL;
    }
    kfk__listener *l = kfk__calloc(1, sizeof(*l));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (!l || fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 512) < 0)
        goto fail;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    l->loop = loop;
    l->fd = fd;
    l->cb = cb;
    l->arg = arg;
    l->io = kfk__io_add(loop, fd, KFK__IO_READ, on_accept, l);
    if (!l->io)
        goto fail;
    freeaddrinfo(ai);
    return l;
fail:
    snprintf(errbuf, errlen, "cannot listen on %s:%d: %s", host, port,
             errno ? strerror(errno) : "out of memory");
    if (fd >= 0)
        close(fd);
    kfk__free(l);
    freeaddrinfo(ai);
    return NULL;
}

int kfk__listener_port(const kfk__listener *l)
{
    return l->port;
}

void kfk__listener_pause(kfk__listener *l, int pause)
{
    kfk__io_set(l->io, pause ? 0 : KFK__IO_READ);
}

void kfk__listener_free(kfk__listener *l)
{
    if (!l)
        return;
    if (l->in_cb) { /* inside on_accept: it frees us on the way out */
        l->freed = true;
        return;
    }
    kfk__io_del(l->io);
    close(l->fd);
    kfk__free(l);
}
