/*
 * perf_cons.c: the client-independent half of a consumer benchmark run
 * (see perf_cons.h): flags, counting, the end condition, latency from the
 * send time in each value, CPU and memory accounting, and the report.
 */
#include "perf_cons.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- flags ------------------------------------------------------------- */

static void usage(FILE *out, const char *prog, const char *extra)
{
    fprintf(out,
            "usage: %s -b BOOTSTRAP -t TOPIC (-n COUNT | -e) [options]\n"
            "  -G GROUP        read in this consumer group (auto.offset.reset=earliest);\n"
            "                  default: assign every partition by hand, from the beginning\n"
            "  -n COUNT        stop after COUNT records\n"
            "  -e              stop when every partition is at its end (enable.partition.eof)\n"
            "  -X prop=value   any consumer property (repeatable)\n"
            "  --timeout SECS  give up (exit 1) after SECS without a record (default 30, 0: never)\n"
            "  --json          print the result as one JSON line on stdout\n"
            "                  (the summary goes to stderr)\n"
            "  -q              no progress line each second\n"
            "%s"
            "Throughput is over the time from the first record to the last; CPU (all\n"
            "threads) over the whole run. End-to-end latency is the time a poll returned\n"
            "a record minus the send time `kfk perf produce` wrote in its first 8 bytes\n"
            "(big-endian microseconds since the epoch): it means something only when\n"
            "kfk perf produce runs at the same time, on the same machine (clocks agree);\n"
            "for records produced earlier it is their age. The exit status is 1 after\n"
            "an error event or a timeout.\n",
            prog, extra ? extra : "");
}

static bool takes_value(const char *a)
{
    static const char *const flags[] = {"-b", "-t", "-G", "-n", "-X", "--timeout"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (!strcmp(a, flags[i]))
            return true;
    return false;
}

int perf_cparse(perf_copts *o, const char *prog, const char *extra_help, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->prog = prog;
    o->count = -1;
    o->timeout_s = 30;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout, prog, extra_help);
            return 0;
        }
        if (!strcmp(a, "--json") || !strcmp(a, "-q") || !strcmp(a, "-e")) {
            *(a[1] == '-' ? &o->json : a[1] == 'q' ? &o->quiet : &o->eof) = true;
            continue;
        }
        if (!takes_value(a)) {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
            usage(stderr, prog, extra_help);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\nRun '%s --help' for the options.\n", prog, a,
                    prog);
            return 2;
        }
        char *v = argv[++i];
        long long n;
        if (!strcmp(a, "--timeout")) {
            char *end;
            errno = 0;
            double t = strtod(v, &end);
            if (errno || end == v || *end || !(t >= 0) || !isfinite(t))
                return perf_bad_flag(prog, "wants seconds (0 = never)", a, v);
            o->timeout_s = t;
            continue;
        }
        switch (a[1]) {
        case 'b':
            o->bootstrap = v;
            break;
        case 't':
            if (!*v)
                return perf_bad_flag(prog, "wants a topic name", a, v);
            o->topic = v;
            break;
        case 'G':
            if (!*v)
                return perf_bad_flag(prog, "wants a group id", a, v);
            o->group = v;
            break;
        case 'n':
            if (!perf_parse_ll(v, 1, INT64_MAX / 2, &n))
                return perf_bad_flag(prog, "wants a record count of at least 1", a, v);
            o->count = n;
            break;
        case 'X':
            if (perf_add_prop(prog, a, v, o->props, &o->nprops))
                return 2;
            break;
        }
    }
    const char *missing = !o->bootstrap                 ? "-b BOOTSTRAP"
                          : !o->topic                   ? "-t TOPIC"
                          : o->count < 0 && !o->eof     ? "-n COUNT or -e"
                                                        : NULL;
    if (missing) {
        fprintf(stderr, "%s: %s is required\n", prog, missing);
        usage(stderr, prog, extra_help);
        return 2;
    }
    return -1;
}

/* ---- the run ------------------------------------------------------------- */

enum { P_ASSIGNED = 1, P_AT_END = 2 };

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void perf_crun_init(perf_crun *r, const perf_copts *o, const char *client, const char *version)
{
    memset(r, 0, sizeof(*r));
    r->o = o;
    r->client = client;
    r->version = version;
    snprintf(r->api, sizeof(r->api), "?");
}

void perf_crun_free(perf_crun *r)
{
    free(r->parts);
    r->parts = NULL;
}

void perf_cstart(perf_crun *r)
{
    getrusage(RUSAGE_SELF, &r->ru0);
    r->start_us = r->tick_us = r->idle_since_us = perf_now_us();
    r->next_tick_us = r->start_us + 1000000;
}

static void note_error(perf_crun *r, const char *name)
{
    r->errors++;
    perf_note_error_name(r->err_names, &r->nerr, name);
}

int perf_cassign(perf_crun *r, const int32_t *partitions, size_t n, bool assigned)
{
    for (size_t i = 0; i < n; i++) {
        int32_t p = partitions[i];
        if (p < 0)
            continue;
        if (p >= r->nparts_cap) {
            int32_t cap = r->nparts_cap ? r->nparts_cap : 16;
            while (cap <= p)
                cap *= 2;
            unsigned char *np = realloc(r->parts, (size_t)cap);
            if (!np)
                return -1;
            memset(np + r->nparts_cap, 0, (size_t)(cap - r->nparts_cap));
            r->parts = np;
            r->nparts_cap = cap;
        }
        unsigned char *s = &r->parts[p];
        if (assigned && !(*s & P_ASSIGNED)) {
            *s = P_ASSIGNED;
            r->nassigned++;
        } else if (!assigned && (*s & P_ASSIGNED)) {
            r->nat_end -= (*s & P_AT_END) != 0;
            *s = 0;
            r->nassigned--;
        }
    }
    if (r->nassigned > r->most_assigned)
        r->most_assigned = r->nassigned;
    return 0;
}

size_t perf_cpoll_max(const perf_crun *r, size_t max)
{
    long long left = r->o->count - r->records;
    if (r->o->count >= 0 && left < (long long)max)
        return left > 0 ? (size_t)left : 0;
    return max;
}

void perf_cbatch(perf_crun *r)
{
    r->batch_wall_us = wall_us();
    r->idle_since_us = perf_now_us();
}

void perf_crecord(perf_crun *r, int32_t partition, const void *value, size_t value_len,
                  size_t key_len)
{
    if (!r->records)
        r->first_us = r->idle_since_us;
    r->last_us = r->idle_since_us;
    r->records++;
    r->bytes += (long long)(value_len + key_len);
    if (value && value_len >= 8) {
        const unsigned char *v = value;
        uint64_t sent = 0;
        for (int b = 0; b < 8; b++)
            sent = sent << 8 | v[b];
        perf_hist_add(&r->lat, r->batch_wall_us - (int64_t)sent);
    } else {
        r->unstamped++;
    }
    if (partition >= 0 && partition < r->nparts_cap && (r->parts[partition] & P_AT_END)) {
        r->parts[partition] &= (unsigned char)~P_AT_END;
        r->nat_end--;
    }
}

void perf_ceof(perf_crun *r, int32_t partition)
{
    if (partition >= 0 && partition < r->nparts_cap && r->parts[partition] == P_ASSIGNED) {
        r->parts[partition] |= P_AT_END;
        r->nat_end++;
    }
}

void perf_cerror(perf_crun *r, const char *err_name)
{
    note_error(r, err_name);
}

static void tick(perf_crun *r, int64_t now)
{
    double secs = (double)(now - r->tick_us) / 1e6;
    if (!r->o->quiet)
        fprintf(stderr,
                "%s: %lld records, %d/%d partitions at their end; last %.1f s: %.0f records/s, "
                "%.1f MB/s\n",
                r->o->prog, r->records, (int)r->nat_end, (int)r->nassigned, secs,
                (double)(r->records - r->tick_records) / secs,
                (double)(r->bytes - r->tick_bytes) / secs / 1048576);
    r->tick_us = now;
    r->tick_records = r->records;
    r->tick_bytes = r->bytes;
    r->next_tick_us = now + 1000000;
}

bool perf_cdone(perf_crun *r)
{
    const perf_copts *o = r->o;
    if (o->count >= 0 && r->records >= o->count)
        return true;
    if (o->eof && r->nassigned > 0 && r->nat_end == r->nassigned)
        return true;
    int64_t now = perf_now_us();
    if (now >= r->next_tick_us)
        tick(r, now);
    if (o->timeout_s > 0 && (double)(now - r->idle_since_us) > o->timeout_s * 1e6) {
        fprintf(stderr, "%s: no record for %g s: giving up\n", o->prog, o->timeout_s);
        r->timed_out = true;
        note_error(r, "_TIMED_OUT");
        return true;
    }
    return false;
}

void perf_cstop(perf_crun *r)
{
    r->end_us = perf_now_us();
    getrusage(RUSAGE_SELF, &r->ru1);
}

/* ---- report -------------------------------------------------------------- */

int perf_creport(perf_crun *r)
{
    const perf_copts *o = r->o;
    double secs = (double)(r->last_us - r->first_us) / 1e6;
    if (secs <= 0)
        secs = 1e-6;
    double total = (double)(r->end_us - r->start_us) / 1e6;
    double user = perf_tv_secs(r->ru0.ru_utime, r->ru1.ru_utime);
    double sys = perf_tv_secs(r->ru0.ru_stime, r->ru1.ru_stime);
    double cpu = user + sys;
    double cpu_per_m = r->records ? cpu / ((double)r->records / 1e6) : 0;
    double rps = r->records ? (double)r->records / secs : 0;
    double mbps = r->records ? (double)r->bytes / secs / 1048576 : 0;
    double p50 = perf_hist_quantile(&r->lat, 0.50) / 1000;
    double p99 = perf_hist_quantile(&r->lat, 0.99) / 1000;
    double p999 = perf_hist_quantile(&r->lat, 0.999) / 1000;
    double max = r->lat.n ? (double)r->lat.max / 1000 : 0;

    FILE *out = o->json ? stderr : stdout;
    fprintf(out, "%s: %s %s, topic %s, %s%s, %d partitions, %s\n", o->prog, r->client,
            r->version, o->topic, o->group ? "group " : "assigned by hand",
            o->group ? o->group : "", (int)r->most_assigned, r->api);
    fprintf(out,
            "  %lld records, %lld B in %.3f s (first to last; %.3f s in all): "
            "%.0f records/s, %.2f MB/s\n",
            r->records, r->bytes, secs, total, rps, mbps);
    fprintf(out,
            "  end-to-end latency ms (send time in the value to poll; only meaningful "
            "while producing):\n    p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f%s\n",
            p50, p99, p999, max, r->unstamped ? " (some values under 8 bytes: not counted)" : "");
    fprintf(out,
            "  client CPU: %.2f s (user %.2f, sys %.2f), %.3f s per million records; "
            "peak RSS %.1f MiB\n",
            cpu, user, sys, cpu_per_m, (double)r->ru1.ru_maxrss / 1024);
    fprintf(out, "  errors: %lld", r->errors);
    for (int i = 0; i < r->nerr; i++)
        fprintf(out, "%s%s", i ? ", " : " (", r->err_names[i]);
    fprintf(out, "%s\n", r->nerr ? ")" : "");

    if (o->json) {
        json_t *j = json_object();
        json_t *names = json_array();
        for (int i = 0; i < r->nerr; i++)
            json_array_append_new(names, json_string(r->err_names[i]));
        json_object_set_new(j, "client", json_string(r->client));
        json_object_set_new(j, "version", json_string(r->version));
        json_object_set_new(j, "topic", json_string(o->topic));
        json_object_set_new(j, "group", o->group ? json_string(o->group) : json_null());
        json_object_set_new(j, "api", json_string(r->api));
        json_object_set_new(j, "partitions", json_integer(r->most_assigned));
        json_object_set_new(j, "count_limit", o->count >= 0 ? json_integer(o->count)
                                                            : json_null());
        json_object_set_new(j, "until_eof", json_boolean(o->eof));
        json_object_set_new(j, "records", json_integer(r->records));
        json_object_set_new(j, "bytes", json_integer(r->bytes));
        json_object_set_new(j, "elapsed_s", json_real(perf_rnd(secs, 6)));
        json_object_set_new(j, "elapsed_total_s", json_real(perf_rnd(total, 6)));
        json_object_set_new(j, "msgs_per_s", json_real(perf_rnd(rps, 1)));
        json_object_set_new(j, "mb_per_s", json_real(perf_rnd(mbps, 3)));
        json_object_set_new(j, "latency_p50_ms", json_real(perf_rnd(p50, 3)));
        json_object_set_new(j, "latency_p99_ms", json_real(perf_rnd(p99, 3)));
        json_object_set_new(j, "latency_p999_ms", json_real(perf_rnd(p999, 3)));
        json_object_set_new(j, "latency_max_ms", json_real(perf_rnd(max, 3)));
        json_object_set_new(j, "unstamped", json_integer(r->unstamped));
        json_object_set_new(j, "cpu_user_s", json_real(perf_rnd(user, 3)));
        json_object_set_new(j, "cpu_sys_s", json_real(perf_rnd(sys, 3)));
        json_object_set_new(j, "cpu_s", json_real(perf_rnd(cpu, 3)));
        json_object_set_new(j, "cpu_s_per_m", json_real(perf_rnd(cpu_per_m, 4)));
        json_object_set_new(j, "max_rss_kb", json_integer(r->ru1.ru_maxrss));
        json_object_set_new(j, "errors", json_integer(r->errors));
        json_object_set_new(j, "error_names", names);
        char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(j);
    }
    return r->errors ? 1 : 0;
}
