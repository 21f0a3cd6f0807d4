/*
 * tclient.c: the blocking test client (see tclient.h).
 */
#include "tclient.h"

#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"

static int connect_to(tclient *t, const char *hostport, size_t n)
{
    char host[128], port[16];
    const char *colon = memrchr(hostport, ':', n);
    if (!colon)
        return -1;
    snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
    snprintf(port, sizeof(port), "%.*s", (int)(hostport + n - colon - 1), colon + 1);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, port, &hints, &ai))
        return -1;
    memset(t, 0, sizeof(*t));
    t->fd = socket(ai->ai_family, SOCK_STREAM, 0);
    int rc = t->fd >= 0 ? connect(t->fd, ai->ai_addr, ai->ai_addrlen) : -1;
    freeaddrinfo(ai);
    if (rc) {
        if (t->fd >= 0)
            close(t->fd);
        t->fd = -1;
        return -1;
    }
    kfk__arena_init(&t->arena, 0);
    return 0;
}

int tclient_connect_nth(tclient *t, const char *bootstrap, int nth)
{
    const char *p = bootstrap;
    for (int i = 1; i < nth && p; i++) {
        p = strchr(p, ',');
        if (p)
            p++;
    }
    if (!p)
        return -1;
    const char *end = strchr(p, ',');
    return connect_to(t, p, end ? (size_t)(end - p) : strlen(p));
}

int tclient_connect(tclient *t, const char *bootstrap)
{
    return tclient_connect_nth(t, bootstrap, 1);
}

void tclient_close(tclient *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    kfk__arena_free(&t->arena);
    free(t->frame);
    t->frame = NULL;
}

static int wait_readable(int fd, int ms)
{
    struct pollfd pf = {fd, POLLIN, 0};
    return poll(&pf, 1, ms);
}

static int read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (wait_readable(fd, 10000) <= 0)
            return -1;
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return r == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return 1;
}

long tclient_raw(tclient *t, const void *frame, size_t len, uint8_t **out)
{
    if (write(t->fd, frame, len) != (ssize_t)len)
        return 0;
    uint8_t hdr[4];
    int r = read_full(t->fd, hdr, 4);
    if (r <= 0)
        return r;
    uint32_t n = kfk__load_be32(hdr);
    free(t->frame);
    t->frame = malloc(n ? n : 1);
    if (!t->frame || read_full(t->fd, t->frame, n) <= 0)
        return 0;
    *out = t->frame;
    return (long)n;
}

int tclient_call(tclient *t, int16_t api_key, int16_t version, const void *body,
                 void **resp)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    int32_t corr = ++t->corr;
    kfk__codec_err cerr;
    int e = kfk__encode_request(&w, api_key, version, corr, "kfk-test", body, &cerr);
    if (e) {
        fprintf(stderr, "tclient: encode api %d v%d: %s at %s\n", api_key, version,
                kfk_err_name(e), cerr.path);
        kfk__wbuf_free(&w);
        return e;
    }
    uint8_t *frame;
    long n = tclient_raw(t, w.data, w.len, &frame);
    kfk__wbuf_free(&w);
    if (n <= 0)
        return KFK_ERR__TRANSPORT;
    kfk__arena_free(&t->arena);
    int32_t got;
    kfk__codec_err err;
    e = kfk__decode_response(api_key, version, frame, (size_t)n, &t->arena, &got, resp, &err);
    if (e) {
        fprintf(stderr, "tclient: decode api %d v%d: %s at %s\n", api_key, version,
                kfk_err_name(e), err.path);
        return e;
    }
    return got == corr ? 0 : KFK_ERR__MALFORMED;
}

bool tclient_closed(tclient *t, int ms)
{
    if (wait_readable(t->fd, ms) <= 0)
        return false;
    char b;
    return read(t->fd, &b, 1) == 0;
}

kfk__fetch_response *tclient_fetch(tclient *t, const char *topic, int32_t partition,
                                   int64_t offset, int32_t max_bytes)
{
    kfk__fetch_request rq;
    kfk__fetch_request_topic ft;
    kfk__fetch_request_partition fp;
    kfk__msg_init(&kfk__desc_fetch_request, &rq);
    kfk__struct_init(&kfk__fetch_request_topic_desc, &ft);
    kfk__struct_init(&kfk__fetch_request_partition_desc, &fp);
    fp.partition = partition;
    fp.fetch_offset = offset;
    fp.partition_max_bytes = max_bytes;
    ft.topic = kfk__str_c(topic);
    ft.partitions.v = &fp;
    ft.partitions.n = 1;
    rq.topics.v = &ft;
    rq.topics.n = 1;
    rq.replica_id = -1;
    rq.max_bytes = max_bytes;
    rq.session_epoch = -1;
    void *resp;
    return tclient_call(t, 1, 12, &rq, &resp) ? NULL : resp;
}

int tclient_each_record(kfk__bytes records, void (*fn)(const kfk__record *rec, void *arg),
                        void *arg)
{
    kfk__records_iter it;
    kfk__records_entry e;
    kfk__wbuf buf;
    int n = 0;
    kfk__wbuf_init(&buf, 0);
    kfk__records_iter_init(&it, records.ptr, records.len > 0 ? (size_t)records.len : 0);
    while (kfk__records_next(&it, &e) == 1) {
        kfk__batch b;
        kfk__rec_iter ri;
        kfk__record rec;
        if (kfk__batch_parse(e.data, e.size, &b) || kfk__batch_check_crc(&b) ||
            kfk__rec_iter_init(&ri, &b, NULL, &buf, 1 << 26)) {
            fprintf(stderr, "tclient: bad batch at offset %lld\n", (long long)e.offset);
            n = -1;
            break;
        }
        while (kfk__rec_iter_next(&ri, &rec) == 1) {
            fn(&rec, arg);
            n++;
        }
    }
    kfk__wbuf_free(&buf);
    return n;
}
