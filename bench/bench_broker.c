/*
 * bench_broker.c: how fast the reference broker moves record batches over
 * loopback, so we know it is not the bottleneck of client benchmarks.
 *
 * One in-process cluster (1 broker). A producer thread pipelines Produce
 * requests (acks=all, one batch of RECORDS x 100-byte records each, up to
 * 5 in flight) for a fixed volume; then a consumer thread fetches it all
 * back (1 MiB per request). Both directions report MB/s of record batches
 * and records/s. Not a test: numbers go to docs/PERFORMANCE.md.
 *
 *   bench_broker [--mb N] [--records-per-batch N] [--json]
 */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <kfk/broker.h>

#include "net/loop.h"
#include "proto/codec.h"
#include "proto/gen/all.h"
#include "proto/record.h"

static int dial(const char *bootstrap)
{
    char host[64];
    int port;
    if (sscanf(bootstrap, "%63[^:]:%d", host, &port) != 2)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
        return -1;
    return fd;
}

static int read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Reads one response frame into *buf (grown as needed); returns its size. */
static long read_frame(int fd, uint8_t **buf, size_t *cap)
{
    uint8_t h[4];
    if (read_full(fd, h, 4))
        return -1;
    size_t n = kfk__load_be32(h);
    if (n > *cap) {
        *buf = realloc(*buf, n);
        *cap = n;
    }
    return read_full(fd, *buf, n) ? -1 : (long)n;
}

static kfk__wbuf produce_frame(int records)
{
    kfk__wbuf batch, w;
    kfk__batch_writer bw;
    kfk__wbuf_init(&batch, 0);
    kfk__batch_begin(&bw, &batch, NULL);
    char val[100];
    memset(val, 'x', sizeof(val));
    for (int i = 0; i < records; i++)
        kfk__batch_append(&bw, kfk__wall_ms(), NULL, -1, val, 100, NULL, 0);
    kfk__batch_finish(&bw, NULL);
    kfk__produce_request rq;
    kfk__produce_request_topic_produce_data td;
    kfk__produce_request_partition_produce_data pd;
    kfk__msg_init(&kfk__desc_produce_request, &rq);
    kfk__struct_init(&kfk__produce_request_topic_produce_data_desc, &td);
    kfk__struct_init(&kfk__produce_request_partition_produce_data_desc, &pd);
    pd.records.ptr = batch.data;
    pd.records.len = (int32_t)batch.len;
    td.name = KFK__STR("bench");
    td.partition_data.v = &pd;
    td.partition_data.n = 1;
    rq.topic_data.v = &td;
    rq.topic_data.n = 1;
    rq.acks = -1;
    rq.timeout_ms = 30000;
    rq.transactional_id = KFK__STR_NULL;
    kfk__wbuf_init(&w, 0);
    kfk__encode_request(&w, 0, 9, 1, "bench", &rq, NULL);
    kfk__wbuf_free(&batch);
    return w;
}

static kfk__wbuf fetch_frame(int64_t offset)
{
    kfk__fetch_request rq;
    kfk__fetch_request_topic ft;
    kfk__fetch_request_partition fp;
    kfk__msg_init(&kfk__desc_fetch_request, &rq);
    kfk__struct_init(&kfk__fetch_request_topic_desc, &ft);
    kfk__struct_init(&kfk__fetch_request_partition_desc, &fp);
    fp.fetch_offset = offset;
    fp.partition_max_bytes = 1 << 20;
    ft.topic = KFK__STR("bench");
    ft.partitions.v = &fp;
    ft.partitions.n = 1;
    rq.topics.v = &ft;
    rq.topics.n = 1;
    rq.replica_id = -1;
    rq.max_bytes = 1 << 20;
    rq.min_bytes = 1;
    rq.session_epoch = -1;
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    kfk__encode_request(&w, 1, 12, 2, "bench", &rq, NULL);
    return w;
}

int main(int argc, char **argv)
{
    long mb = 1024;
    int per_batch = 1000;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mb") && i + 1 < argc)
            mb = atol(argv[++i]);
        else if (!strcmp(argv[i], "--records-per-batch") && i + 1 < argc)
            per_batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr, "usage: bench_broker [--mb N] [--records-per-batch N] [--json]\n");
            return 2;
        }
    }
    static const char *const props[] = {"retention.bytes=-1", NULL};
    char err[256];
    kfk_cluster_t *c = kfk_cluster_new(props, err, sizeof(err));
    if (!c || kfk_cluster_create_topic(c, "bench", 1, 1)) {
        fprintf(stderr, "bench_broker: %s\n", err);
        return 1;
    }
    int fd = dial(kfk_cluster_bootstrap(c));
    kfk__wbuf req = produce_frame(per_batch);
    size_t batch_bytes = req.len; /* close enough: the envelope is ~100 bytes */
    long nreq = (long)((mb << 20) / batch_bytes);
    uint8_t *buf = NULL;
    size_t cap = 0;
    int64_t t0 = kfk__now_us();
    long sent = 0, acked = 0;
    while (acked < nreq) {
        while (sent < nreq && sent - acked < 5) {
            if (write(fd, req.data, req.len) != (ssize_t)req.len)
                return 1;
            sent++;
        }
        if (read_frame(fd, &buf, &cap) < 0)
            return 1;
        acked++;
    }
    double ps = (double)(kfk__now_us() - t0) / 1e6;
    double produced_mb = (double)nreq * (double)batch_bytes / 1048576.0;
    /* Fetch it all back. */
    int64_t offset = 0, end = (int64_t)nreq * per_batch;
    size_t fetched = 0;
    t0 = kfk__now_us();
    while (offset < end) {
        kfk__wbuf f = fetch_frame(offset);
        if (write(fd, f.data, f.len) != (ssize_t)f.len)
            return 1;
        kfk__wbuf_free(&f);
        long n = read_frame(fd, &buf, &cap);
        if (n < 0)
            return 1;
        kfk__arena a;
        kfk__arena_init(&a, 0);
        int32_t corr;
        kfk__fetch_response *r;
        if (kfk__decode_response(1, 12, buf, (size_t)n, &a, &corr, (void **)&r, NULL) ||
            r->responses.n != 1) {
            fprintf(stderr, "bench_broker: bad fetch response\n");
            return 1;
        }
        kfk__bytes recs = r->responses.v[0].partitions.v[0].records;
        int64_t before = offset;
        kfk__records_iter it;
        kfk__records_entry e;
        kfk__records_iter_init(&it, recs.ptr, (size_t)(recs.len > 0 ? recs.len : 0));
        while (kfk__records_next(&it, &e) == 1) {
            kfk__batch b;
            if (kfk__batch_parse(e.data, e.size, &b) == 0)
                offset = kfk__batch_last_offset(&b) + 1;
            fetched += e.size;
        }
        if (offset == before) {
            fprintf(stderr, "bench_broker: fetch at %lld made no progress (error %d, %d bytes, hw %lld)\n",
                    (long long)offset, r->responses.v[0].partitions.v[0].error_code, (int)recs.len,
                    (long long)r->responses.v[0].partitions.v[0].high_watermark);
            return 1;
        }
        kfk__arena_free(&a);
    }
    double fs = (double)(kfk__now_us() - t0) / 1e6;
    double fetched_mb = (double)fetched / 1048576.0;
    double recs = (double)end;
    if (json)
        printf("{\"produce_MBps\":%.1f,\"produce_recps\":%.0f,\"fetch_MBps\":%.1f,"
               "\"fetch_recps\":%.0f,\"batch_bytes\":%zu}\n",
               produced_mb / ps, recs / ps, fetched_mb / fs, recs / fs, batch_bytes);
    else
        printf("broker over loopback, %d x 100-byte records per batch (%zu bytes)\n"
               "  produce acks=all, 5 in flight: %8.1f MB/s %12.0f records/s (%.0f MB)\n"
               "  fetch 1 MiB per request:       %8.1f MB/s %12.0f records/s\n",
               per_batch, batch_bytes, produced_mb / ps, recs / ps, produced_mb,
               fetched_mb / fs, recs / fs);
    free(buf);
    kfk__wbuf_free(&req);
    close(fd);
    kfk_cluster_destroy(c);
    return 0;
}
