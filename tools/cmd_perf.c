/*
 * cmd_perf.c: `kfk perf`, load generators that measure a client from the
 * outside. `kfk perf produce` sends COUNT records of SIZE bytes as fast as
 * it can (or at a fixed rate with -r) and reports throughput, latency
 * percentiles, the client's CPU per million records and its peak memory.
 * bench/rdk_perf_produce.c does the same with librdkafka; the measuring,
 * payload and report are shared (perf_run.c) so their numbers compare.
 * `kfk perf consume` comes with the consumer.
 */
#include <stdio.h>
#include <string.h>

#include <kfk/kfk.h>
#include <kfk/producer.h>

#include "cmds.h"
#include "perf_run.h"

static void on_delivery(kfk_t *k, const kfk_delivery_t *d, void *opaque)
{
    (void)k;
    perf_delivered(opaque, d->opaque, d->err ? kfk_err_name(d->err) : NULL);
}

static void poll_now(void *k)
{
    kfk_poll(k, 0);
}

static int set(const perf_opts *o, kfk_conf_t *conf, const char *name, const char *value)
{
    char err[512];
    if (kfk_conf_set(conf, name, value, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", o->prog, err);
        return -1;
    }
    return 0;
}

/* The setting as the configuration reads it, for the report. */
static void get(const kfk_conf_t *conf, const char *name, char *buf, size_t size)
{
    size_t len = size;
    if (kfk_conf_get(conf, name, buf, &len))
        snprintf(buf, size, "?");
}

static int perf_produce(int argc, char **argv)
{
    perf_opts o;
    int rc = perf_parse(&o, "kfk perf produce", argc, argv);
    if (rc >= 0)
        return rc;
    perf_run run;
    if (perf_run_init(&run, &o, "kfk", kfk_version())) {
        fprintf(stderr, "%s: out of memory\n", o.prog);
        return 1;
    }
    kfk_conf_t *conf = kfk_conf_new();
    kfk_t *k = NULL;
    rc = 2; /* a setting the configuration refuses is a usage error */
    if (!conf || set(&o, conf, "bootstrap.servers", o.bootstrap) ||
        (o.codec && set(&o, conf, "compression.type", o.codec)) ||
        (o.acks && set(&o, conf, "acks", o.acks)))
        goto out;
    for (int i = 0; i < o.nprops; i++)
        if (set(&o, conf, o.props[i][0], o.props[i][1]))
            goto out;
    get(conf, "compression.type", run.codec, sizeof(run.codec));
    get(conf, "acks", run.acks, sizeof(run.acks));
    get(conf, "linger.ms", run.linger_ms, sizeof(run.linger_ms));
    get(conf, "enable.idempotence", run.idempotence, sizeof(run.idempotence));
    kfk_conf_set_delivery_cb(conf, on_delivery, &run);
    char err[512];
    if (!(k = kfk_producer_new(conf, err, sizeof(err)))) {
        fprintf(stderr, "%s: %s\n", o.prog, err);
        rc = 1;
        goto out;
    }

    kfk_record_t rec = {.topic = o.topic, .partition = KFK_PARTITION_ANY,
                        .value_len = (size_t)o.size};
    perf_start(&run);
    for (long long i = 0; i < o.count; i++) {
        int64_t now = perf_pace(&run, i, poll_now, k);
        rec.value = perf_next_value(&run, now);
        rec.opaque = perf_opaque(&run, now);
        /* Blocks while buffer.memory is full, as an application would. */
        kfk_err_t e = kfk_produce(k, &rec, 0);
        if (e)
            perf_refused(&run, kfk_err_name(e));
        if ((i & 1023) == 0) {
            kfk_poll(k, 0);
            perf_tick(&run, now);
        }
    }
    /* In one-second slices, so the progress line goes on while it drains;
     * delivery.timeout.ms bounds how long that can take. */
    while (kfk_flush(k, 1000) == KFK_ERR__TIMED_OUT)
        perf_tick(&run, perf_now_us());
    perf_stop(&run);
    rc = perf_report(&run);
out:
    kfk_destroy(k);
    kfk_conf_destroy(conf);
    perf_run_free(&run);
    return rc;
}

static void perf_usage(FILE *out)
{
    fprintf(out, "usage: kfk perf produce [options]   (kfk perf produce --help for them)\n"
                 "       kfk perf consume             (not available yet)\n");
}

int kfk_cmd_perf(int argc, char **argv)
{
    if (argc < 2) {
        perf_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "produce"))
        return perf_produce(argc - 1, argv + 1);
    if (!strcmp(argv[1], "consume")) {
        fprintf(stderr, "kfk perf consume: not available yet in kfk %s (it comes with the "
                        "consumer); kfk perf produce is\n",
                kfk_version());
        return 1;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        perf_usage(stdout);
        return 0;
    }
    fprintf(stderr, "kfk perf: unknown mode '%s'\n", argv[1]);
    perf_usage(stderr);
    return 2;
}
