/*
 * perf_run.c: the client-independent half of a producer benchmark run
 * (see perf_run.h): flags, payload, pacing, latency histogram, CPU and
 * memory accounting, and the report.
 */
#include "perf_run.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- flags ------------------------------------------------------------- */

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s -b BOOTSTRAP -t TOPIC -n COUNT [options]\n"
            "  -s SIZE         value size in bytes, at least 8 (default 100)\n"
            "  -r RATE         at most RATE records/s, paced (default: as fast as possible)\n"
            "  -z CODEC        compression: none, gzip, snappy, lz4, zstd\n"
            "  -a ACKS         acks: all, 1 or 0\n"
            "  -X prop=value   any producer property (repeatable; applied after -z, -a)\n"
            "  --json          print the result as one JSON line on stdout\n"
            "                  (the summary goes to stderr)\n"
            "  -q              no progress line each second\n"
            "Each value starts with its send time: 8 bytes, big-endian microseconds\n"
            "since the Unix epoch. Latency is measured from the produce call to the\n"
            "delivery report. The exit status is 1 if any record failed.\n",
            prog);
}

int perf_bad_flag(const char *prog, const char *what, const char *flag, const char *v)
{
    fprintf(stderr, "%s: %s %s, got '%s'\nRun '%s --help' for the options.\n", prog, flag,
            what, v, prog);
    return 2;
}

int perf_add_prop(const char *prog, const char *flag, char *v,
                  const char *props[PERF_MAX_PROPS][2], int *nprops)
{
    char *eq = strchr(v, '=');
    if (!eq || eq == v)
        return perf_bad_flag(prog, "wants prop=value", flag, v);
    if (*nprops == PERF_MAX_PROPS) {
        fprintf(stderr, "%s: at most %d -X properties\n", prog, PERF_MAX_PROPS);
        return 2;
    }
    *eq = '\0';
    props[*nprops][0] = v;
    props[*nprops][1] = eq + 1;
    (*nprops)++;
    return 0;
}

void perf_note_error_name(char names[PERF_MAX_ERR_NAMES][48], int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(names[i], name))
            return;
    if (*n < PERF_MAX_ERR_NAMES)
        snprintf(names[(*n)++], 48, "%s", name);
}

bool perf_parse_ll(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int perf_parse(perf_opts *o, const char *prog, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->prog = prog;
    o->size = 100;
    o->count = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout, prog);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            o->json = true;
            continue;
        }
        if (!strcmp(a, "-q")) {
            o->quiet = true;
            continue;
        }
        if (strcmp(a, "-b") && strcmp(a, "-t") && strcmp(a, "-n") && strcmp(a, "-s") &&
            strcmp(a, "-r") && strcmp(a, "-z") && strcmp(a, "-a") && strcmp(a, "-X")) {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
            usage(stderr, prog);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\nRun '%s --help' for the options.\n", prog, a,
                    prog);
            return 2;
        }
        char *v = argv[++i];
        long long n;
        switch (a[1]) {
        case 'b':
            o->bootstrap = v;
            break;
        case 't':
            if (!*v)
                return perf_bad_flag(prog, "wants a topic name", a, v);
            o->topic = v;
            break;
        case 'n':
            if (!perf_parse_ll(v, 1, INT64_MAX / 2, &n))
                return perf_bad_flag(prog, "wants a record count of at least 1", a, v);
            o->count = n;
            break;
        case 's':
            if (!perf_parse_ll(v, 8, 1 << 30, &n))
                return perf_bad_flag(prog, "wants a value size from 8 (the send time) to 1073741824", a,
                           v);
            o->size = (long)n;
            break;
        case 'r': {
            char *end;
            errno = 0;
            double r = strtod(v, &end);
            if (errno || end == v || *end || !(r >= 0) || !isfinite(r))
                return perf_bad_flag(prog, "wants records per second (0 = unlimited)", a, v);
            o->rate = r;
            break;
        }
        case 'z':
            o->codec = v;
            break;
        case 'a':
            o->acks = v;
            break;
        case 'X':
            if (perf_add_prop(prog, a, v, o->props, &o->nprops))
                return 2;
            break;
        }
    }
    const char *missing = !o->bootstrap ? "-b BOOTSTRAP"
                          : !o->topic   ? "-t TOPIC"
                          : o->count < 0 ? "-n COUNT"
                                         : NULL;
    if (missing) {
        fprintf(stderr, "%s: %s is required\n", prog, missing);
        usage(stderr, prog);
        return 2;
    }
    return -1;
}

/* ---- latency histogram --------------------------------------------------- */

static size_t bucket_of(int64_t v)
{
    if (v < PERF_HIST_LINEAR)
        return v < 0 ? 0 : (size_t)v;
    int e = 63 - __builtin_clzll((unsigned long long)v); /* 8 and up */
    if (e > PERF_HIST_MAX_EXP)
        return PERF_HIST_BUCKETS - 1;
    /* The 8 bits below and including the leading one; drop the one. */
    size_t sub = (size_t)(v >> (e - 7)) & (PERF_HIST_SUB - 1);
    return PERF_HIST_LINEAR + (size_t)(e - 8) * PERF_HIST_SUB + sub;
}

/* The middle of bucket i. */
static double bucket_mid(size_t i)
{
    if (i < PERF_HIST_LINEAR)
        return (double)i;
    size_t k = i - PERF_HIST_LINEAR;
    int e = (int)(k / PERF_HIST_SUB) + 8;
    double width = ldexp(1.0, e - 7);
    double lo = (double)(PERF_HIST_SUB + k % PERF_HIST_SUB) * width;
    return lo + width / 2;
}

void perf_hist_add(perf_hist *h, int64_t us)
{
    h->b[bucket_of(us)]++;
    h->n++;
    if (us > h->max)
        h->max = us;
}

double perf_hist_quantile(const perf_hist *h, double q)
{
    if (!h->n)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->n);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < PERF_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            double v = bucket_mid(i);
            return v > (double)h->max ? (double)h->max : v;
        }
    }
    return (double)h->max;
}

/* ---- clocks, payload, pacing ----------------------------------------------- */

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t perf_now_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

/* Word-like text from a fixed generator: the same bytes on every run and
 * for both clients, compressible like ordinary log lines. */
static void fill_pool(char *p, size_t len)
{
    static const char *const words[] = {
        "kafka",  "record", "batch",   "offset",  "topic",   "leader",  "replica", "commit",
        "fetch",  "produce", "broker", "segment", "index",   "epoch",   "sequence", "producer",
        "the",    "a",      "of",      "to",      "and",     "in",      "is",      "on",
        "user",   "order",  "event",   "payment", "session", "click",   "error",   "info",
        "0",      "1",      "2",       "3",       "4",       "5",       "6",       "7",
        "8",      "9",      "42",      "1024",    "200",     "404",     "GET",     "POST",
        "id=",    "ts=",    "status=", "region=", "eu-west", "us-east", "ms",      "ok",
        "true",   "false",  "null",    "{",       "}",       ":",       ",",       "\"v\"",
    };
    uint64_t x = 0x9e3779b97f4a7c15ull;
    size_t i = 0;
    while (i < len) {
        x ^= x << 13; /* xorshift64 */
        x ^= x >> 7;
        x ^= x << 17;
        const char *w = words[x % (sizeof(words) / sizeof(words[0]))];
        for (; *w && i < len; w++)
            p[i++] = *w;
        if (i < len)
            p[i++] = (x >> 32) % 5 ? ' ' : '\n';
    }
}

#define POOL_BASE (1u << 20)

int perf_run_init(perf_run *r, const perf_opts *o, const char *client, const char *version)
{
    memset(r, 0, sizeof(*r));
    r->o = o;
    r->client = client;
    r->version = version;
    r->pool_len = POOL_BASE + (size_t)o->size;
    r->pool = malloc(r->pool_len);
    r->value = malloc((size_t)o->size);
    if (!r->pool || !r->value) {
        perf_run_free(r);
        return -1;
    }
    fill_pool(r->pool, r->pool_len);
    memcpy(r->value, r->pool, (size_t)o->size);
    return 0;
}

void perf_run_free(perf_run *r)
{
    free(r->pool);
    free(r->value);
    r->pool = r->value = NULL;
}

void perf_start(perf_run *r)
{
    r->wall0_us = clock_us(CLOCK_REALTIME);
    r->mono0_us = perf_now_us();
    getrusage(RUSAGE_SELF, &r->ru0);
    r->start_us = r->tick_us = r->mono0_us;
    r->next_tick_us = r->start_us + 1000000;
}

int64_t perf_pace(perf_run *r, long long i, perf_poll_fn *poll, void *client)
{
    int64_t now = perf_now_us();
    if (r->o->rate <= 0)
        return now;
    int64_t due = r->start_us + (int64_t)((double)i * 1e6 / r->o->rate);
    while (now < due) {
        poll(client);
        now = perf_now_us();
        if (now >= due)
            break;
        struct timespec ts = {(time_t)(due / 1000000), (long)(due % 1000000) * 1000};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        now = perf_now_us();
    }
    return now;
}

char *perf_next_value(perf_run *r, int64_t now_us)
{
    size_t size = (size_t)r->o->size;
    /* Successive values are successive stretches of the pool: no value
     * repeats within 1 MiB of records (so a bigger batch does not
     * compress better merely by repeating values), and reading it in
     * order keeps the copy cheap (prefetched) beside the client's own
     * memory traffic; a scattered walk cost ~0.1 us per record here. */
    memcpy(r->value, r->pool + r->pool_pos, size);
    r->pool_pos = (r->pool_pos + size) % POOL_BASE;
    uint64_t wall = (uint64_t)(r->wall0_us + (now_us - r->mono0_us));
    for (int b = 0; b < 8; b++)
        r->value[b] = (char)(wall >> (56 - 8 * b));
    r->sent++;
    return r->value;
}

static void note_error(perf_run *r, const char *name)
{
    perf_note_error_name(r->err_names, &r->nerr, name);
}

void perf_delivered(perf_run *r, const void *op, const char *err_name)
{
    int64_t sent = r->mono0_us + (int64_t)(uintptr_t)op;
    if (err_name) { /* a failure's latency says nothing about delivery */
        r->failed++;
        note_error(r, err_name);
    } else {
        perf_hist_add(&r->lat, perf_now_us() - sent);
        r->delivered++;
    }
}

void perf_refused(perf_run *r, const char *err_name)
{
    r->refused++;
    note_error(r, err_name);
}

void perf_tick(perf_run *r, int64_t now_us)
{
    if (now_us < r->next_tick_us)
        return;
    double secs = (double)(now_us - r->tick_us) / 1e6;
    long long done = r->delivered + r->failed;
    if (!r->o->quiet)
        fprintf(stderr,
                "%s: %lld sent, %lld delivered, %lld failed; last %.1f s: %.0f sent/s, "
                "%.0f delivered/s, %.1f MB/s\n",
                r->o->prog, r->sent, r->delivered, r->failed, secs,
                (double)(r->sent - r->tick_sent) / secs, (double)(done - r->tick_delivered) / secs,
                (double)(done - r->tick_delivered) * (double)r->o->size / secs / 1048576);
    r->tick_us = now_us;
    r->tick_sent = r->sent;
    r->tick_delivered = done;
    r->next_tick_us = now_us + 1000000;
}

void perf_stop(perf_run *r)
{
    r->end_us = perf_now_us();
    getrusage(RUSAGE_SELF, &r->ru1);
}

/* ---- report -------------------------------------------------------------- */

double perf_tv_secs(struct timeval a, struct timeval b)
{
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_usec - a.tv_usec) / 1e6;
}

double perf_rnd(double v, int digits)
{
    double m = pow(10, digits);
    return round(v * m) / m;
}

int perf_report(perf_run *r)
{
    const perf_opts *o = r->o;
    double secs = (double)(r->end_us - r->start_us) / 1e6;
    if (secs <= 0)
        secs = 1e-6;
    long long records = r->sent;
    long long bytes = records * o->size;
    double user = perf_tv_secs(r->ru0.ru_utime, r->ru1.ru_utime);
    double sys = perf_tv_secs(r->ru0.ru_stime, r->ru1.ru_stime);
    double cpu = user + sys;
    double cpu_per_m = records ? cpu / ((double)records / 1e6) : 0;
    double p50 = perf_hist_quantile(&r->lat, 0.50) / 1000;
    double p99 = perf_hist_quantile(&r->lat, 0.99) / 1000;
    double p999 = perf_hist_quantile(&r->lat, 0.999) / 1000;
    double max = (double)r->lat.max / 1000;
    long long errors = r->failed + r->refused;

    FILE *out = o->json ? stderr : stdout;
    fprintf(out, "%s: %s %s, topic %s, compression %s, acks %s, linger.ms %s, idempotence %s\n",
            o->prog, r->client, r->version, o->topic, r->codec, r->acks, r->linger_ms,
            r->idempotence);
    fprintf(out, "  %lld records x %ld B (%lld B) in %.3f s: %.0f records/s, %.2f MB/s%s\n",
            records, o->size, bytes, secs, (double)records / secs,
            (double)bytes / secs / 1048576, o->rate > 0 ? " (paced)" : "");
    fprintf(out, "  latency ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", p50, p99, p999,
            max);
    fprintf(out, "  client CPU: %.2f s (user %.2f, sys %.2f), %.3f s per million records; "
                 "peak RSS %.1f MiB\n",
            cpu, user, sys, cpu_per_m, (double)r->ru1.ru_maxrss / 1024);
    fprintf(out, "  delivery errors: %lld", errors);
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
        json_object_set_new(j, "compression", json_string(r->codec));
        json_object_set_new(j, "acks", json_string(r->acks));
        json_object_set_new(j, "linger_ms", json_string(r->linger_ms));
        json_object_set_new(j, "idempotence", json_string(r->idempotence));
        json_object_set_new(j, "rate_limit", json_real(o->rate));
        json_object_set_new(j, "records", json_integer(records));
        json_object_set_new(j, "record_size", json_integer(o->size));
        json_object_set_new(j, "bytes", json_integer(bytes));
        json_object_set_new(j, "elapsed_s", json_real(perf_rnd(secs, 6)));
        json_object_set_new(j, "msgs_per_s", json_real(perf_rnd((double)records / secs, 1)));
        json_object_set_new(j, "mb_per_s", json_real(perf_rnd((double)bytes / secs / 1048576, 3)));
        json_object_set_new(j, "latency_p50_ms", json_real(perf_rnd(p50, 3)));
        json_object_set_new(j, "latency_p99_ms", json_real(perf_rnd(p99, 3)));
        json_object_set_new(j, "latency_p999_ms", json_real(perf_rnd(p999, 3)));
        json_object_set_new(j, "latency_max_ms", json_real(perf_rnd(max, 3)));
        json_object_set_new(j, "cpu_user_s", json_real(perf_rnd(user, 3)));
        json_object_set_new(j, "cpu_sys_s", json_real(perf_rnd(sys, 3)));
        json_object_set_new(j, "cpu_s", json_real(perf_rnd(cpu, 3)));
        json_object_set_new(j, "cpu_s_per_m", json_real(perf_rnd(cpu_per_m, 4)));
        json_object_set_new(j, "max_rss_kb", json_integer(r->ru1.ru_maxrss));
        json_object_set_new(j, "delivered", json_integer(r->delivered));
        json_object_set_new(j, "errors", json_integer(errors));
        json_object_set_new(j, "error_names", names);
        char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(j);
    }
    return errors ? 1 : 0;
}
