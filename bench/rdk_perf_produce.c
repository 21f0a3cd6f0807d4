/*
 * rdk_perf_produce.c: librdkafka's twin of `kfk perf produce`: the same
 * flags (-b -t -n -s -r -z -a -X --json -q), payload, pacing, measuring
 * and JSON fields (all in tools/perf_run.c), with librdkafka doing the
 * producing, so bench/compare_producer.sh can run the two alternately
 * against one broker and compare like with like. Not a test.
 *
 * It uses the classic rd_kafka_produce(): rd_kafka_producev's variadic
 * macros need GNU extensions that clang -Wpedantic rejects.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#include "perf_run.h"

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    perf_delivered(opaque, m->_private, m->err ? rd_kafka_err2name(m->err) : NULL);
}

static void poll_now(void *rk)
{
    rd_kafka_poll(rk, 0);
}

static int set(const perf_opts *o, rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s: %s\n", o->prog, err);
        return -1;
    }
    return 0;
}

static void get(const rd_kafka_conf_t *conf, const char *name, char *buf, size_t size)
{
    size_t len = size;
    if (rd_kafka_conf_get(conf, name, buf, &len) != RD_KAFKA_CONF_OK)
        snprintf(buf, size, "?");
}

int main(int argc, char **argv)
{
    perf_opts o;
    int rc = perf_parse(&o, "rdk_perf_produce", argc, argv);
    if (rc >= 0)
        return rc;
    perf_run run;
    if (perf_run_init(&run, &o, "librdkafka", rd_kafka_version_str())) {
        fprintf(stderr, "%s: out of memory\n", o.prog);
        return 1;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_t *rkt = NULL;
    rc = 2;
    if (set(&o, conf, "bootstrap.servers", o.bootstrap) ||
        (o.codec && set(&o, conf, "compression.codec", o.codec)) ||
        (o.acks && set(&o, conf, "acks", o.acks)))
        goto out;
    for (int i = 0; i < o.nprops; i++)
        if (set(&o, conf, o.props[i][0], o.props[i][1]))
            goto out;
    get(conf, "compression.codec", run.codec, sizeof(run.codec));
    /* acks is a topic property: read it from the default topic conf that
     * setting it made, or from a fresh one for librdkafka's default. */
    rd_kafka_topic_conf_t *tc = rd_kafka_conf_get_default_topic_conf(conf);
    rd_kafka_topic_conf_t *fresh = tc ? NULL : rd_kafka_topic_conf_new();
    size_t len = sizeof(run.acks);
    if (rd_kafka_topic_conf_get(tc ? tc : fresh, "acks", run.acks, &len) != RD_KAFKA_CONF_OK)
        snprintf(run.acks, sizeof(run.acks), "?");
    if (fresh)
        rd_kafka_topic_conf_destroy(fresh);
    if (!strcmp(run.acks, "-1")) /* spelled as kfk spells it */
        snprintf(run.acks, sizeof(run.acks), "all");
    get(conf, "linger.ms", run.linger_ms, sizeof(run.linger_ms));
    get(conf, "enable.idempotence", run.idempotence, sizeof(run.idempotence));
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &run);
    char err[512];
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
        fprintf(stderr, "%s: %s\n", o.prog, err);
        rc = 1;
        goto out;
    }
    conf = NULL; /* rd_kafka_new took it */
    if (!(rkt = rd_kafka_topic_new(rk, o.topic, NULL))) {
        fprintf(stderr, "%s: %s: %s\n", o.prog, o.topic, rd_kafka_err2str(rd_kafka_last_error()));
        rc = 1;
        goto out;
    }

    perf_start(&run);
    for (long long i = 0; i < o.count; i++) {
        int64_t now = perf_pace(&run, i, poll_now, rk);
        char *v = perf_next_value(&run, now);
        /* A full queue waits, serving reports, as kfk_produce waits for
         * buffer.memory; the record's time still counts from the first try. */
        while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, v,
                                (size_t)o.size, NULL, 0, perf_opaque(&run, now)) == -1) {
            rd_kafka_resp_err_t e = rd_kafka_last_error();
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                perf_refused(&run, rd_kafka_err2name(e));
                break;
            }
            rd_kafka_poll(rk, 10);
        }
        if ((i & 1023) == 0) {
            rd_kafka_poll(rk, 0);
            perf_tick(&run, now);
        }
    }
    while (rd_kafka_flush(rk, 1000) == RD_KAFKA_RESP_ERR__TIMED_OUT)
        perf_tick(&run, perf_now_us());
    perf_stop(&run);
    rc = perf_report(&run);
out:
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (rk)
        rd_kafka_destroy(rk);
    if (conf)
        rd_kafka_conf_destroy(conf);
    perf_run_free(&run);
    return rc;
}
