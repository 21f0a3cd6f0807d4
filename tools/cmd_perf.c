/*
 * cmd_perf.c: `kfk perf`, load generators that measure a client from the
 * outside. `kfk perf produce` sends COUNT records of SIZE bytes as fast as
 * it can (or at a fixed rate with -r) and reports throughput, latency
 * percentiles, the client's CPU per million records and its peak memory.
 * bench/rdk_perf_produce.c does the same with librdkafka; the measuring,
 * payload and report are shared (perf_run.c) so their numbers compare.
 * `kfk perf consume` reads a topic from the beginning (every partition by
 * hand, or in a group) and reports throughput, CPU, memory and end-to-end
 * latency; bench/rdk_perf_consume.c is its twin, sharing perf_cons.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kfk/consumer.h>
#include <kfk/kfk.h>
#include <kfk/producer.h>

/* No public metadata call exists yet (the admin client will bring one):
 * the partition count of a topic assigned by hand comes from the client
 * core, as `kfk consume` gets it. */
#include "client/client.h"
#include "client/handle.h"

#include "cmds.h"
#include "perf_cons.h"
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

static int set(const char *prog, kfk_conf_t *conf, const char *name, const char *value)
{
    char err[512];
    if (kfk_conf_set(conf, name, value, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
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
    if (!conf || set(o.prog, conf, "bootstrap.servers", o.bootstrap) ||
        (o.codec && set(o.prog, conf, "compression.type", o.codec)) ||
        (o.acks && set(o.prog, conf, "acks", o.acks)))
        goto out;
    for (int i = 0; i < o.nprops; i++)
        if (set(o.prog, conf, o.props[i][0], o.props[i][1]))
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

/* ---- consume ------------------------------------------------------------ */

static void on_rebalance(kfk_t *k, kfk_rebalance_event_t ev, const kfk_topic_partition_t *parts,
                         size_t n, void *opaque)
{
    (void)k;
    perf_crun *r = opaque;
    for (size_t i = 0; i < n; i++) {
        int32_t p = parts[i].partition;
        if (!strcmp(parts[i].topic, r->o->topic) &&
            perf_cassign(r, &p, 1, ev == KFK_REBALANCE_ASSIGNED)) {
            perf_cerror(r, "_NOMEM");
            return;
        }
    }
}

/* Every partition of the topic from the beginning. Returns 0 or 1. */
static int assign_all(kfk_t *k, perf_crun *r)
{
    const char *topic = r->o->topic;
    int32_t cnt = kfk__client_metadata_wait(k->client, topic, 10000);
    if (cnt <= 0) {
        kfk_err_t e = cnt == KFK_ERR__TIMED_OUT ? KFK_ERR__TIMED_OUT : (kfk_err_t)-cnt;
        fprintf(stderr, "%s: %s: no metadata: %s (%s)\n", r->o->prog, topic, kfk_err_name(e),
                kfk_err_str(e));
        return 1;
    }
    kfk_topic_partition_t *tps = calloc((size_t)cnt, sizeof(*tps));
    int32_t *ps = calloc((size_t)cnt, sizeof(*ps));
    int rc = 1;
    if (!tps || !ps) {
        fprintf(stderr, "%s: out of memory\n", r->o->prog);
        goto out;
    }
    for (int32_t p = 0; p < cnt; p++) {
        tps[p] = (kfk_topic_partition_t){
            .topic = topic, .partition = p, .offset = KFK_OFFSET_BEGINNING, .leader_epoch = -1};
        ps[p] = p;
    }
    kfk_err_t e = kfk_consumer_assign(k, tps, (size_t)cnt);
    if (e)
        fprintf(stderr, "%s: assign: %s\n", r->o->prog, kfk_err_str(e));
    else if (perf_cassign(r, ps, (size_t)cnt, true))
        fprintf(stderr, "%s: out of memory\n", r->o->prog);
    else
        rc = 0;
out:
    free(tps);
    free(ps);
    return rc;
}

static void consume_loop(kfk_t *k, perf_crun *r)
{
    const kfk_message_t *msgs[500];
    while (!perf_cdone(r)) {
        size_t n = kfk_consumer_poll_batch(k, 100, msgs, perf_cpoll_max(r, 500));
        if (!n) {
            char why[512];
            kfk_err_t fe = kfk_fatal_error(k, why, sizeof(why));
            if (fe) {
                fprintf(stderr, "%s: fatal: %s: %s\n", r->o->prog, kfk_err_name(fe), why);
                perf_cerror(r, kfk_err_name(fe));
                return;
            }
            continue;
        }
        perf_cbatch(r);
        for (size_t i = 0; i < n; i++) {
            const kfk_message_t *m = msgs[i];
            if (!m->err) {
                perf_crecord(r, m->partition, m->value, m->value_len, m->key_len);
            } else if (m->err == KFK_ERR__PARTITION_EOF) {
                perf_ceof(r, m->partition);
            } else {
                if (!r->o->quiet)
                    fprintf(stderr, "%s: %s: %s\n", r->o->prog, kfk_err_name(m->err),
                            m->errstr ? m->errstr : kfk_err_str(m->err));
                perf_cerror(r, kfk_err_name(m->err));
            }
        }
    }
}

static int perf_consume(int argc, char **argv)
{
    perf_copts o;
    int rc = perf_cparse(&o, "kfk perf consume", NULL, argc, argv);
    if (rc >= 0)
        return rc;
    perf_crun run;
    perf_crun_init(&run, &o, "kfk", kfk_version());
    snprintf(run.api, sizeof(run.api), "kfk_consumer_poll_batch");
    kfk_conf_t *conf = kfk_conf_new();
    kfk_t *k = NULL;
    rc = 2; /* a setting the configuration refuses is a usage error */
    if (!conf || set(o.prog, conf, "bootstrap.servers", o.bootstrap) ||
        (o.group && set(o.prog, conf, "group.id", o.group)) ||
        set(o.prog, conf, "auto.offset.reset", "earliest") ||
        (o.eof && set(o.prog, conf, "enable.partition.eof", "true")))
        goto out;
    for (int i = 0; i < o.nprops; i++)
        if (set(o.prog, conf, o.props[i][0], o.props[i][1]))
            goto out;
    kfk_conf_set_rebalance_cb(conf, on_rebalance, &run);
    char err[512];
    if (!(k = kfk_consumer_new(conf, err, sizeof(err)))) {
        fprintf(stderr, "%s: %s\n", o.prog, err);
        rc = 1;
        goto out;
    }
    perf_cstart(&run);
    if (o.group) {
        const char *topics[] = {o.topic};
        kfk_err_t e = kfk_consumer_subscribe(k, topics, 1);
        if (e) {
            fprintf(stderr, "%s: subscribe: %s\n", o.prog, kfk_err_str(e));
            rc = 1;
            goto out;
        }
    } else if ((rc = assign_all(k, &run))) {
        goto out;
    }
    consume_loop(k, &run);
    perf_cstop(&run);
    rc = perf_creport(&run);
    kfk_err_t e = kfk_consumer_close(k, 10000); /* not measured: a group leaves */
    if (e)
        fprintf(stderr, "%s: close: %s\n", o.prog, kfk_err_str(e));
out:
    kfk_destroy(k);
    kfk_conf_destroy(conf);
    perf_crun_free(&run);
    return rc;
}

static void perf_usage(FILE *out)
{
    fprintf(out, "usage: kfk perf produce [options]   (kfk perf produce --help for them)\n"
                 "       kfk perf consume [options]   (kfk perf consume --help for them)\n");
}

int kfk_cmd_perf(int argc, char **argv)
{
    if (argc < 2) {
        perf_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "produce"))
        return perf_produce(argc - 1, argv + 1);
    if (!strcmp(argv[1], "consume"))
        return perf_consume(argc - 1, argv + 1);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        perf_usage(stdout);
        return 0;
    }
    fprintf(stderr, "kfk perf: unknown mode '%s'\n", argv[1]);
    perf_usage(stderr);
    return 2;
}
