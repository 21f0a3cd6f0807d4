/*
 * rdk_perf_consume.c: librdkafka's twin of `kfk perf consume`: the same
 * flags (-b -t -G -n -e -X --timeout --json -q), counting, measuring and
 * JSON fields (all in tools/perf_cons.c), with librdkafka's high-level
 * consumer doing the reading, so bench/compare_consumer.sh can run the two
 * alternately against one broker. Not a test.
 *
 * --api picks how it reads (the JSON's "api" field says which ran):
 *   batch (default)  rd_kafka_consume_batch_queue() on the consumer queue,
 *                    up to 500 messages a call, like kfk_consumer_poll_batch;
 *   poll             rd_kafka_consumer_poll(), one message a call (gathered
 *                    500 at a time, without waiting, so the clock is read
 *                    once per batch as for kfk).
 * batch read the fastest here (docs/PERFORMANCE.md). Either way the
 * partitions are assigned by hand with rd_kafka_assign() from the beginning
 * (group.id is set anyway, as librdkafka's high-level consumer wants one,
 * with enable.auto.commit=false unless -X says otherwise; kfk commits
 * nothing without a group either), or with -G subscribed in the group.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "perf_cons.h"

#define BATCH 500

static int set(const char *prog, rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    return 0;
}

static void note_parts(perf_crun *r, const rd_kafka_topic_partition_list_t *l, bool assigned)
{
    for (int i = 0; i < l->cnt; i++) {
        int32_t p = l->elems[i].partition;
        if (!strcmp(l->elems[i].topic, r->o->topic) && perf_cassign(r, &p, 1, assigned))
            perf_cerror(r, "_NOMEM");
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    bool coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
    note_parts(opaque, parts, assign);
    if (coop) {
        rd_kafka_error_t *e = assign ? rd_kafka_incremental_assign(rk, parts)
                                     : rd_kafka_incremental_unassign(rk, parts);
        if (e)
            rd_kafka_error_destroy(e);
    } else {
        rd_kafka_assign(rk, assign ? parts : NULL);
    }
}

/* Every partition of the topic from the beginning. Returns 0 or 1. */
static int assign_all(rd_kafka_t *rk, perf_crun *r)
{
    const char *prog = r->o->prog;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, r->o->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e =
        rkt ? rd_kafka_metadata(rk, 0, rkt, &md, 10000) : rd_kafka_last_error();
    int rc = 1;
    if (!e && (md->topic_cnt != 1 || md->topics[0].err))
        e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (e) {
        fprintf(stderr, "%s: %s: no metadata: %s (%s)\n", prog, r->o->topic,
                rd_kafka_err2name(e), rd_kafka_err2str(e));
        goto out;
    }
    int cnt = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(cnt);
    for (int i = 0; i < cnt; i++)
        rd_kafka_topic_partition_list_add(l, r->o->topic, md->topics[0].partitions[i].id)
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
    e = rd_kafka_assign(rk, l);
    if (e)
        fprintf(stderr, "%s: assign: %s\n", prog, rd_kafka_err2str(e));
    else
        note_parts(r, l, true);
    rc = e ? 1 : 0;
    rd_kafka_topic_partition_list_destroy(l);
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    return rc;
}

static void handle(perf_crun *r, const rd_kafka_message_t *m)
{
    if (!m->err) {
        perf_crecord(r, m->partition, m->payload, m->len, m->key_len);
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        perf_ceof(r, m->partition);
    } else {
        if (!r->o->quiet)
            fprintf(stderr, "%s: %s: %s\n", r->o->prog, rd_kafka_err2name(m->err),
                    rd_kafka_message_errstr(m));
        perf_cerror(r, rd_kafka_err2name(m->err));
    }
}

static void consume_loop(rd_kafka_t *rk, perf_crun *r, bool batch)
{
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
    rd_kafka_message_t *msgs[BATCH];
    while (!perf_cdone(r)) {
        size_t max = perf_cpoll_max(r, BATCH);
        ssize_t n = 0;
        if (batch) {
            n = rd_kafka_consume_batch_queue(q, 100, msgs, max);
        } else {
            while ((size_t)n < max) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, n ? 0 : 100);
                if (!m)
                    break;
                msgs[n++] = m;
            }
        }
        if (n <= 0)
            continue;
        perf_cbatch(r);
        for (ssize_t i = 0; i < n; i++) {
            handle(r, msgs[i]);
            rd_kafka_message_destroy(msgs[i]);
        }
    }
    rd_kafka_queue_destroy(q);
}

int main(int argc, char **argv)
{
    /* --api is this twin's own flag: take it out before the common ones. */
    bool batch = true;
    int n = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--api") && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "batch") && strcmp(v, "poll")) {
                fprintf(stderr, "rdk_perf_consume: --api wants batch or poll, got '%s'\n", v);
                return 2;
            }
            batch = !strcmp(v, "batch");
        } else {
            argv[n++] = argv[i];
        }
    }
    argc = n;
    perf_copts o;
    int rc = perf_cparse(&o, "rdk_perf_consume",
                         "  --api API       batch: rd_kafka_consume_batch_queue (default),\n"
                         "                  poll: rd_kafka_consumer_poll\n",
                         argc, argv);
    if (rc >= 0)
        return rc;
    perf_crun run;
    perf_crun_init(&run, &o, "librdkafka", rd_kafka_version_str());
    snprintf(run.api, sizeof(run.api), "%s",
             batch ? "rd_kafka_consume_batch_queue" : "rd_kafka_consumer_poll");
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    rc = 2;
    if (set(o.prog, conf, "bootstrap.servers", o.bootstrap) ||
        set(o.prog, conf, "group.id", o.group ? o.group : "rdk_perf_consume") ||
        (!o.group && set(o.prog, conf, "enable.auto.commit", "false")) ||
        set(o.prog, conf, "auto.offset.reset", "earliest") ||
        (o.eof && set(o.prog, conf, "enable.partition.eof", "true")))
        goto out;
    for (int i = 0; i < o.nprops; i++)
        if (set(o.prog, conf, o.props[i][0], o.props[i][1]))
            goto out;
    if (o.group)
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, &run);
    char err[512];
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
        fprintf(stderr, "%s: %s\n", o.prog, err);
        rc = 1;
        goto out;
    }
    conf = NULL; /* rd_kafka_new took it */
    rd_kafka_poll_set_consumer(rk);
    perf_cstart(&run);
    rc = 1;
    if (o.group) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, o.topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        if (e) {
            fprintf(stderr, "%s: subscribe: %s\n", o.prog, rd_kafka_err2str(e));
            goto out;
        }
    } else if (assign_all(rk, &run)) {
        goto out;
    }
    consume_loop(rk, &run, batch);
    perf_cstop(&run);
    rc = perf_creport(&run);
    rd_kafka_consumer_close(rk); /* not measured: a group leaves */
out:
    if (rk)
        rd_kafka_destroy(rk);
    if (conf)
        rd_kafka_conf_destroy(conf);
    perf_crun_free(&run);
    return rc;
}
