/*
 * cmd_produce.c: `kfk produce`: lines from standard input (or a file) to a
 * topic, with kcat's flags where they overlap. It prints failures as they
 * are reported and a summary at the end, and exits 1 if any record failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kfk/kfk.h>
#include <kfk/producer.h>

#include "cmds.h"

typedef struct stats {
    long ok, failed;
} stats;

static void on_delivery(kfk_t *k, const kfk_delivery_t *d, void *opaque)
{
    stats *st = opaque;
    (void)k;
    if (d->err) {
        st->failed++;
        fprintf(stderr, "kfk produce: %s: delivery failed: %s\n", d->topic, kfk_err_str(d->err));
    } else {
        st->ok++;
    }
}

static void produce_usage(FILE *out)
{
    fprintf(out,
            "usage: kfk produce -b BOOTSTRAP -t TOPIC [options]\n"
            "  -p N            partition (default: the partitioner picks)\n"
            "  -K DELIM        split each line into key DELIM value\n"
            "  -H key=value    add a header (repeatable)\n"
            "  -z CODEC        compression: none, gzip, snappy, lz4, zstd\n"
            "  -l, --file F    read lines from F instead of standard input\n"
            "  -X prop=value   any producer property (repeatable)\n");
}

static int set(kfk_conf_t *conf, const char *name, const char *value)
{
    char err[512];
    if (kfk_conf_set(conf, name, value, err, sizeof(err))) {
        fprintf(stderr, "kfk produce: %s\n", err);
        return -1;
    }
    return 0;
}

int kfk_cmd_produce(int argc, char **argv)
{
    const char *topic = NULL, *delim = NULL, *file = NULL;
    int32_t partition = KFK_PARTITION_ANY;
    kfk_header_t headers[64];
    size_t nh = 0;
    kfk_conf_t *conf = kfk_conf_new();
    if (!conf)
        return 1;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        char flag[3] = {0};
        char *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            produce_usage(stdout);
            rc = 0;
            goto out;
        }
        if (a[0] == '-' && a[1] && a[1] != '-' && a[2]) { /* kcat style: -K: */
            flag[0] = '-';
            flag[1] = a[1];
            v = a + 2;
            a = flag;
        } else {
            v = i + 1 < argc ? argv[++i] : NULL;
        }
        if (!v) {
            fprintf(stderr, "kfk produce: %s needs a value\n", a);
            goto usage;
        }
        if (!strcmp(a, "-b")) {
            if (set(conf, "bootstrap.servers", v))
                goto out;
        } else if (!strcmp(a, "-t")) {
            topic = v;
        } else if (!strcmp(a, "-p")) {
            partition = (int32_t)atoi(v);
        } else if (!strcmp(a, "-K")) {
            delim = v;
        } else if (!strcmp(a, "-z")) {
            if (set(conf, "compression.type", v))
                goto out;
        } else if (!strcmp(a, "-l") || !strcmp(a, "--file")) {
            file = v;
        } else if (!strcmp(a, "-H")) {
            char *eq = strchr(v, '=');
            if (!eq || nh == 64) {
                fprintf(stderr, "kfk produce: -H wants key=value (at most 64)\n");
                goto usage;
            }
            *eq = '\0';
            headers[nh].key = v;
            headers[nh].value = eq + 1;
            headers[nh].value_len = strlen(eq + 1);
            nh++;
        } else if (!strcmp(a, "-X")) {
            char *eq = strchr(v, '=');
            if (!eq) {
                fprintf(stderr, "kfk produce: -X wants prop=value\n");
                goto usage;
            }
            *eq = '\0';
            if (set(conf, v, eq + 1))
                goto out;
        } else {
            fprintf(stderr, "kfk produce: unknown option %s\n", a);
            goto usage;
        }
    }
    if (!topic) {
        fprintf(stderr, "kfk produce: -t TOPIC is required\n");
        goto usage;
    }
    FILE *in = file ? fopen(file, "r") : stdin;
    if (!in) {
        fprintf(stderr, "kfk produce: %s: %s\n", file, strerror(errno));
        rc = 1;
        goto out;
    }
    stats st = {0, 0};
    kfk_conf_set_delivery_cb(conf, on_delivery, &st);
    char err[512];
    kfk_t *k = kfk_producer_new(conf, err, sizeof(err));
    if (!k) {
        fprintf(stderr, "kfk produce: %s\n", err);
        if (file)
            fclose(in);
        rc = 1;
        goto out;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long refused = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        kfk_record_t rec = {.topic = topic, .partition = partition, .value = line,
                            .value_len = (size_t)n, .headers = nh ? headers : NULL,
                            .header_count = nh};
        char *sep = delim ? strstr(line, delim) : NULL;
        if (sep) {
            rec.key = line;
            rec.key_len = (size_t)(sep - line);
            rec.value = sep + strlen(delim);
            rec.value_len = (size_t)(n - (sep - line) - (ssize_t)strlen(delim));
        }
        kfk_err_t e = kfk_produce(k, &rec, 0);
        if (e) {
            refused++;
            fprintf(stderr, "kfk produce: %s: %s\n", topic, kfk_err_str(e));
        }
        kfk_poll(k, 0);
    }
    free(line);
    if (file)
        fclose(in);
    kfk_err_t fe = kfk_close(k, 60000);
    kfk_destroy(k);
    fprintf(stderr, "kfk produce: %ld delivered, %ld failed, %ld refused%s\n", st.ok, st.failed,
            refused, fe ? " (flush timed out)" : "");
    rc = st.failed || refused || fe ? 1 : 0;
    goto out;
usage:
    produce_usage(stderr);
    rc = 2;
out:
    kfk_conf_destroy(conf);
    return rc;
}
