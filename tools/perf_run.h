/*
 * perf_run.h: one measured producer run, shared by `kfk perf produce`
 * (tools/cmd_perf.c) and its librdkafka twin (bench/rdk_perf_produce.c) so
 * that the two parse the same flags, send the same payload at the same
 * pace, measure latency and CPU the same way and print the same summary
 * and JSON fields. Only the calls into the client differ.
 *
 * The payload: each value is SIZE bytes of word-like text (compressible
 * about as well as log lines, so compression runs mean something) whose
 * first 8 bytes are the time it was sent, in microseconds since the Unix
 * epoch, big-endian. A consumer on the same machine can subtract that from
 * its own wall clock for the end-to-end latency.
 *
 * Latency is measured per record, from the produce call to its delivery
 * report, on the monotonic clock. The send time travels in the record's
 * opaque (microseconds since the run started, as an integer in the
 * pointer), so nothing is allocated per record; the latencies go into a
 * log-linear histogram whose buckets are at most 1/128 of their value
 * wide, so the percentiles reported (bucket midpoints) are within 0.4%.
 */
#ifndef KFK_TOOLS_PERF_RUN_H
#define KFK_TOOLS_PERF_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

#define PERF_MAX_PROPS 64
#define PERF_MAX_ERR_NAMES 5

/* What the flags asked for. Strings point into argv. */
typedef struct perf_opts {
    const char *prog; /* prefix of every message: "kfk perf produce" */
    const char *bootstrap, *topic;
    const char *codec; /* -z, NULL = the client's default */
    const char *acks;  /* -a, NULL = the client's default */
    long long count;   /* -n */
    long size;         /* -s, at least 8 (the send time) */
    double rate;       /* -r records/s, 0 = as fast as possible */
    bool json, quiet;
    int nprops;
    const char *props[PERF_MAX_PROPS][2]; /* -X name=value, in order */
} perf_opts;

/* Parses argv (argv[0] is the command's own name). Returns -1 when the run
 * should go on, else the exit status to return at once: 0 after --help,
 * 2 after a usage error (already explained on stderr). */
int perf_parse(perf_opts *o, const char *prog, int argc, char **argv);

/* A whole number in [lo, hi], nothing else, into *out. */
bool perf_parse_ll(const char *s, long long lo, long long hi, long long *out);

/* For the option parsers: "PROG: FLAG WHAT, got 'V'" and a hint; returns
 * 2, the exit status for bad flags. */
int perf_bad_flag(const char *prog, const char *what, const char *flag, const char *v);

/* -X prop=value into props (v is split in place). Returns 0 or 2 with a
 * message. */
int perf_add_prop(const char *prog, const char *flag, char *v,
                  const char *props[PERF_MAX_PROPS][2], int *nprops);

/* Remembers an error name (the first PERF_MAX_ERR_NAMES distinct ones). */
void perf_note_error_name(char names[PERF_MAX_ERR_NAMES][48], int *n, const char *name);

/* Seconds from a to b. */
double perf_tv_secs(struct timeval a, struct timeval b);
/* v rounded to `digits` decimals, so the JSON does not carry float noise. */
double perf_rnd(double v, int digits);

/* Latencies in microseconds, log-linear: values below PERF_HIST_LINEAR
 * exactly, above it PERF_HIST_SUB buckets per power of two. */
#define PERF_HIST_LINEAR 256
#define PERF_HIST_SUB 128
#define PERF_HIST_MAX_EXP 40 /* 2^41 us = 25 days: anything above is clamped */
#define PERF_HIST_BUCKETS (PERF_HIST_LINEAR + (PERF_HIST_MAX_EXP - 7) * PERF_HIST_SUB)

typedef struct perf_hist {
    uint64_t n;
    int64_t max;
    uint64_t b[PERF_HIST_BUCKETS];
} perf_hist;

void perf_hist_add(perf_hist *h, int64_t us);
/* The q-quantile (0 < q <= 1) in microseconds; 0 when empty. Never above
 * the exact maximum, and monotonic in q. */
double perf_hist_quantile(const perf_hist *h, double q);

typedef struct perf_run {
    const perf_opts *o;
    const char *client, *version; /* "kfk" / "librdkafka" and its version */
    /* The settings in force, as the client's configuration reads them
     * (filled in by the caller; "" when unknown). */
    char codec[16], acks[8], linger_ms[16], idempotence[8];
    char *pool;   /* payload text the values are cut from */
    size_t pool_len, pool_pos;
    char *value;  /* the current value, o->size bytes */
    int64_t mono0_us, wall0_us; /* one reading of both clocks */
    int64_t start_us, end_us;
    struct rusage ru0, ru1;
    long long sent, delivered, failed, refused;
    perf_hist lat;
    int nerr;
    char err_names[PERF_MAX_ERR_NAMES][48];
    int64_t next_tick_us, tick_us;
    long long tick_sent, tick_delivered;
} perf_run;

/* Monotonic microseconds. */
int64_t perf_now_us(void);

/* Sets up r for o (which must outlive r). Returns 0, or -1 out of memory. */
int perf_run_init(perf_run *r, const perf_opts *o, const char *client, const char *version);
void perf_run_free(perf_run *r);

/* Starts the clock and the CPU count, right before the first record. */
void perf_start(perf_run *r);

/* Waits until record i is due at the -r rate (at once without one),
 * calling poll(client) to serve delivery reports before each sleep so
 * they are not held back by the pacing. Returns the monotonic time now. */
typedef void perf_poll_fn(void *client);
int64_t perf_pace(perf_run *r, long long i, perf_poll_fn *poll, void *client);

/* The next value (o->size bytes, valid until the next call) stamped with
 * the wall-clock time matching monotonic now_us. */
char *perf_next_value(perf_run *r, int64_t now_us);

/* The opaque that carries a record's send time, and back. */
static inline void *perf_opaque(const perf_run *r, int64_t now_us)
{
    return (void *)(uintptr_t)(now_us - r->mono0_us);
}

/* A delivery report for the record whose opaque was op: err_name NULL on
 * success, else the error's name. */
void perf_delivered(perf_run *r, const void *op, const char *err_name);
/* A produce call that failed, so no report will come. */
void perf_refused(perf_run *r, const char *err_name);

/* Prints a progress line once a second (unless -q). */
void perf_tick(perf_run *r, int64_t now_us);

/* Stops the clock and the CPU count, once every report has been served. */
void perf_stop(perf_run *r);

/* Prints the summary (stdout, or stderr with --json) and the JSON line
 * (stdout, with --json). Returns the exit status: 1 if any record failed,
 * else 0. */
int perf_report(perf_run *r);

#endif
