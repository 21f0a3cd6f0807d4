/*
 * perf_cons.h: one measured consumer run, shared by `kfk perf consume`
 * (tools/cmd_perf.c) and its librdkafka twin (bench/rdk_perf_consume.c), so
 * that the two parse the same flags, count, time and report alike and only
 * the calls into the client differ. The histogram, clocks and small helpers
 * come from perf_run.h (the producer's half).
 *
 * What is measured: records and bytes (key + value) handed to the
 * application; the time from the first record to the last (the throughput
 * is over it) and from the start (right before assign/subscribe) to the
 * end; CPU (getrusage, every thread) over that whole run; peak RSS; and the
 * end-to-end latency of each record: the wall clock when the poll that
 * returned it came back, minus the send time `kfk perf produce` wrote into
 * the value's first 8 bytes (big-endian microseconds since the epoch). The
 * clock is read once per poll call, not per record, so measuring costs both
 * clients the same; the latency only means something when the producer ran
 * at the same time (against records produced earlier it is their age).
 */
#ifndef KFK_TOOLS_PERF_CONS_H
#define KFK_TOOLS_PERF_CONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "perf_run.h"

/* What the flags asked for. Strings point into argv. */
typedef struct perf_copts {
    const char *prog; /* prefix of every message: "kfk perf consume" */
    const char *bootstrap, *topic;
    const char *group; /* -G, NULL = every partition assigned by hand */
    long long count;   /* -n, -1 = no limit (then -e is required) */
    bool eof;          /* -e: stop at the end of every partition */
    double timeout_s;  /* --timeout: give up after this long without a record */
    bool json, quiet;
    int nprops;
    const char *props[PERF_MAX_PROPS][2]; /* -X name=value, in order */
} perf_copts;

/* Parses argv (argv[0] is the command's name). Returns -1 when the run
 * should go on, else the exit status to return at once: 0 after --help,
 * 2 after a usage error (already explained on stderr). extra_help, if not
 * NULL, is printed after the common options. */
int perf_cparse(perf_copts *o, const char *prog, const char *extra_help, int argc, char **argv);

typedef struct perf_crun {
    const perf_copts *o;
    const char *client, *version;
    char api[32]; /* how the client reads: "kfk_consumer_poll_batch", ... */
    int64_t start_us, first_us, last_us, end_us, idle_since_us;
    int64_t batch_wall_us; /* the wall clock at the last poll's return */
    struct rusage ru0, ru1;
    long long records, bytes, unstamped, errors;
    bool timed_out;
    perf_hist lat;
    int nerr;
    char err_names[PERF_MAX_ERR_NAMES][48];
    /* Partitions of the topic: assigned, at their end (for -e). */
    unsigned char *parts;
    int32_t nparts_cap, nassigned, nat_end;
    int32_t most_assigned;
    int64_t next_tick_us, tick_us;
    long long tick_records, tick_bytes;
} perf_crun;

void perf_crun_init(perf_crun *r, const perf_copts *o, const char *client, const char *version);
void perf_crun_free(perf_crun *r);

/* Starts the clocks and the CPU count, right before assign/subscribe. */
void perf_cstart(perf_crun *r);

/* Partitions given to (assigned true) or taken from the consumer. Returns
 * 0, or -1 out of memory. */
int perf_cassign(perf_crun *r, const int32_t *partitions, size_t n, bool assigned);

/* How many records the next poll may return: max, or fewer when -n is
 * nearly reached. */
size_t perf_cpoll_max(const perf_crun *r, size_t max);

/* Call once after every poll that returned something, before handing
 * its records to perf_crecord: reads the wall clock for their latency. */
void perf_cbatch(perf_crun *r);

/* One record of partition handed to the application. */
void perf_crecord(perf_crun *r, int32_t partition, const void *value, size_t value_len,
                  size_t key_len);

/* The end of a partition (enable.partition.eof), or an error event. */
void perf_ceof(perf_crun *r, int32_t partition);
void perf_cerror(perf_crun *r, const char *err_name);

/* Whether the run is over: -n reached, or with -e every assigned
 * partition at its end, or --timeout without a record. Prints the progress
 * line once a second (unless -q) and notes a timeout. */
bool perf_cdone(perf_crun *r);

/* Stops the clocks and the CPU count. */
void perf_cstop(perf_crun *r);

/* Prints the summary (stdout, or stderr with --json) and the JSON line
 * (stdout, with --json). Returns the exit status: 1 after an error event
 * or a timeout, else 0. */
int perf_creport(perf_crun *r);

#endif
