/*
 * cmd_consume.c: `kfk consume`: records from topics to standard output,
 * with kcat's consumer flags where they overlap. Without -G it reads the
 * partitions of its topics by hand (all of them, or -p) from the offset
 * -o names; with -G it joins a consumer group and reads what the group
 * assigns, committing as the group's settings say. It prints poll errors
 * as they come, stops on the fatal ones (exit 1), and ends with a summary
 * on stderr. SIGINT and SIGTERM stop it cleanly: the consumer is closed,
 * which commits (a group with enable.auto.commit) and leaves the group.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kfk/consumer.h>
#include <kfk/kfk.h>

/* No public metadata call exists yet (the admin client will bring one):
 * the partition count of a manually assigned topic comes from the client
 * core, as the producer gets it. */
#include "client/client.h"
#include "client/handle.h"

#include "cmds.h"
#include "consume_out.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define MAX_TOPICS 64

/* Where manual assignment starts (-o). */
typedef enum start_kind {
    START_BEGINNING,
    START_END,
    START_STORED,
    START_OFFSET, /* an absolute offset, the same in every partition */
    START_TAIL,   /* -N: N records before each partition's end */
    START_TIME    /* @TS: the first record at or after a timestamp */
} start_kind;

/* A partition this process reads, and whether it is at its end (-e). */
typedef struct part {
    char *topic;
    int32_t partition;
    bool eof;
} part;

typedef struct opts {
    const char *topics[MAX_TOPICS];
    size_t ntopics;
    const char *group;
    int32_t partition; /* -1: every partition */
    start_kind start;
    bool start_given;
    int64_t start_value; /* START_OFFSET / _TAIL / _TIME */
    long long count;     /* -1: no limit */
    bool exit_eof, quiet, unbuffered;
    bool reset_given; /* -X auto.offset.reset was set */
    bool group_id_given;
    consume_out out;
    int metadata_timeout_ms;
} opts;

typedef struct state {
    const opts *o;
    part *parts;
    size_t nparts, cap;
    long long records, bytes, errors;
    bool fatal;
    int out_errno; /* writing stdout failed with this */
} state;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    /* A second signal while closing: the user does not want to wait. */
    if (stop_signal)
        _exit(128 + sig);
    stop_signal = sig;
}

static void consume_usage(FILE *out)
{
    fprintf(
        out,
        "usage: kfk consume -b BOOTSTRAP -t TOPIC [-t TOPIC ...] [options]\n"
        "  -G GROUP        join consumer group GROUP (subscribe; a topic "
        "starting\n"
        "                  with ^ is a regex); else read the topics' "
        "partitions by hand\n"
        "  -p N            only partition N (without -G)\n"
        "  -o OFFSET       where to start (default beginning): beginning, "
        "end,\n"
        "                  stored (the group's committed offset), N "
        "(absolute),\n"
        "                  -N (N before each partition's end), @TS or s@TS "
        "(first\n"
        "                  record at or after TS ms); with -G only "
        "beginning, end,\n"
        "                  stored (they set auto.offset.reset)\n"
        "  -c COUNT        exit after COUNT records\n"
        "  -e              exit when every assigned partition is at its end\n"
        "  -f FORMAT       print each record with FORMAT: %%t topic, %%p "
        "partition,\n"
        "                  %%o offset, %%k key, %%K key size, %%s value, %%S "
        "value size,\n"
        "                  %%R value size as 4 big-endian bytes, %%T "
        "timestamp (ms),\n"
        "                  %%h headers (k=v,...), %%%% a %%; \\n \\r \\t "
        "\\\\ \\xNN escapes\n"
        "  -J              print each record as a JSON object (topic, "
        "partition,\n"
        "                  offset, tstype, ts, key, payload, headers)\n"
        "  -K DELIM        print the key, DELIM, then the value\n"
        "  -D DELIM        end each record with DELIM (default \\n)\n"
        "  -Z              print null keys and values as NULL\n"
        "  -u              flush output after each batch of records\n"
        "  -q              quiet: no end-of-partition, rebalance or summary "
        "lines\n"
        "  -m SECONDS      wait this long for topic metadata (default 10)\n"
        "  -X prop=value   any consumer property (repeatable)\n"
        "Topics may also follow the options. SIGINT/SIGTERM stop cleanly "
        "(a group\n"
        "commits with enable.auto.commit). Exit status: 0 ok, 1 failed, 2 "
        "usage.\n");
}

static int set(kfk_conf_t *conf, const char *name, const char *value)
{
    char err[512];
    if (kfk_conf_set(conf, name, value, err, sizeof(err))) {
        fprintf(stderr, "kfk consume: %s\n", err);
        return -1;
    }
    return 0;
}

/* ---- parsing ------------------------------------------------------------- */

/* A whole decimal number in [min, max]. */
static bool parse_ll(const char *s, long long min, long long max,
                     long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_offset(const char *v, opts *o)
{
    long long n;
    o->start_given = true;
    if (!strcmp(v, "beginning")) {
        o->start = START_BEGINNING;
    } else if (!strcmp(v, "end")) {
        o->start = START_END;
    } else if (!strcmp(v, "stored")) {
        o->start = START_STORED;
    } else if ((v[0] == '@' && parse_ll(v + 1, 0, INT64_MAX, &n)) ||
               (!strncmp(v, "s@", 2) && parse_ll(v + 2, 0, INT64_MAX, &n))) {
        o->start = START_TIME;
        o->start_value = n;
    } else if (v[0] == '-' && parse_ll(v + 1, 1, INT64_MAX, &n)) {
        o->start = START_TAIL;
        o->start_value = n;
    } else if (parse_ll(v, 0, INT64_MAX, &n)) {
        o->start = START_OFFSET;
        o->start_value = n;
    } else {
        return false;
    }
    return true;
}

/* Flags that take no value; the rest of the letters below take one. */
static const char bool_flags[] = "eJquZh";
static const char value_flags[] = "btGpocfKDXm";

/* Applies one flag. Returns 0, or the exit status to stop with. */
static int apply_flag(char f, char *v, opts *o, kfk_conf_t *conf)
{
    long long n;
    switch (f) {
    case 'e':
        o->exit_eof = true;
        return 0;
    case 'J':
        o->out.json = true;
        return 0;
    case 'q':
        o->quiet = true;
        return 0;
    case 'u':
        o->unbuffered = true;
        return 0;
    case 'Z':
        o->out.null_str = true;
        return 0;
    case 'b':
        return set(conf, "bootstrap.servers", v) ? EXIT_USAGE : 0;
    case 't':
        if (o->ntopics == MAX_TOPICS) {
            fprintf(stderr, "kfk consume: at most %d topics\n", MAX_TOPICS);
            return EXIT_USAGE;
        }
        if (!*v) {
            fprintf(stderr, "kfk consume: -t wants a topic name\n");
            return EXIT_USAGE;
        }
        o->topics[o->ntopics++] = v;
        return 0;
    case 'G':
        if (!*v) {
            fprintf(stderr, "kfk consume: -G wants a group id\n");
            return EXIT_USAGE;
        }
        o->group = v;
        return set(conf, "group.id", v) ? EXIT_USAGE : 0;
    case 'p':
        if (!parse_ll(v, 0, INT32_MAX, &n)) {
            fprintf(stderr,
                    "kfk consume: -p wants a partition number, not "
                    "'%s'\n",
                    v);
            return EXIT_USAGE;
        }
        o->partition = (int32_t)n;
        return 0;
    case 'o':
        if (!parse_offset(v, o)) {
            fprintf(stderr,
                    "kfk consume: -o wants beginning, end, stored, N, -N or "
                    "@TIMESTAMP_MS, not '%s'\n",
                    v);
            return EXIT_USAGE;
        }
        return 0;
    case 'c':
        if (!parse_ll(v, 1, INT64_MAX, &n)) {
            fprintf(stderr,
                    "kfk consume: -c wants a count above 0, not "
                    "'%s'\n",
                    v);
            return EXIT_USAGE;
        }
        o->count = n;
        return 0;
    case 'm':
        if (!parse_ll(v, 1, 3600, &n)) {
            fprintf(stderr,
                    "kfk consume: -m wants seconds (1-3600), not "
                    "'%s'\n",
                    v);
            return EXIT_USAGE;
        }
        o->metadata_timeout_ms = (int)n * 1000;
        return 0;
    case 'f':
        return consume_unescape(v, &o->out.fmt) ? EXIT_FAIL : 0;
    case 'K':
        return consume_unescape(v, &o->out.key_delim) ? EXIT_FAIL : 0;
    case 'D':
        return consume_unescape(v, &o->out.msg_delim) ? EXIT_FAIL : 0;
    case 'X': {
        char *eq = strchr(v, '=');
        if (!eq) {
            fprintf(stderr, "kfk consume: -X wants prop=value, not '%s'\n", v);
            return EXIT_USAGE;
        }
        *eq = '\0';
        if (!strcmp(v, "auto.offset.reset"))
            o->reset_given = true;
        if (!strcmp(v, "group.id"))
            o->group_id_given = *(eq + 1) != '\0';
        return set(conf, v, eq + 1) ? EXIT_USAGE : 0;
    }
    }
    return EXIT_USAGE; /* not reached: callers pass known flags */
}

/* getopt's rules without its global state: "-eq" is -e -q, "-K:" is -K
 * with ":", "-o -5" takes -5 as -o's value. Words that are not flags are
 * topics (kcat's -G takes its topics so). Returns 0, or the exit status. */
static int parse_args(int argc, char **argv, opts *o, kfk_conf_t *conf)
{
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            consume_usage(stdout);
            return -1;
        }
        if (a[0] != '-' || !a[1]) {
            int rc = apply_flag('t', a, o, conf);
            if (rc)
                return rc;
            continue;
        }
        if (a[1] == '-') {
            fprintf(stderr, "kfk consume: unknown option '%s'\n", a);
            return EXIT_USAGE;
        }
        for (char *c = a + 1; *c; c++) {
            if (*c == 'h') {
                consume_usage(stdout);
                return -1;
            }
            if (strchr(bool_flags, *c)) {
                int rc = apply_flag(*c, NULL, o, conf);
                if (rc)
                    return rc;
                continue;
            }
            if (!strchr(value_flags, *c)) {
                fprintf(stderr, "kfk consume: unknown option '-%c'\n", *c);
                return EXIT_USAGE;
            }
            char *v = c[1] ? c + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                fprintf(stderr, "kfk consume: -%c needs a value\n", *c);
                return EXIT_USAGE;
            }
            int rc = apply_flag(*c, v, o, conf);
            if (rc)
                return rc;
            break; /* the value took the rest of the word */
        }
    }
    return 0;
}

/* Flags that only make sense together, and the properties they imply. */
static int check_opts(opts *o, kfk_conf_t *conf)
{
    size_t len = 0; /* the size the value needs: 1 when empty */
    if (kfk_conf_get(conf, "bootstrap.servers", NULL, &len) || len <= 1) {
        fprintf(stderr, "kfk consume: -b BOOTSTRAP is required\n");
        return EXIT_USAGE;
    }
    if (!o->ntopics) {
        fprintf(stderr, "kfk consume: -t TOPIC is required\n");
        return EXIT_USAGE;
    }
    if (o->out.json && o->out.fmt.p) {
        fprintf(stderr, "kfk consume: -J and -f are two output formats: "
                        "pick one\n");
        return EXIT_USAGE;
    }
    if (o->group) {
        if (o->partition >= 0) {
            fprintf(stderr, "kfk consume: -p reads a partition by hand; with "
                            "-G the group assigns them\n");
            return EXIT_USAGE;
        }
        if (o->start_given && o->start != START_BEGINNING &&
            o->start != START_END && o->start != START_STORED) {
            fprintf(stderr,
                    "kfk consume: with -G, -o is beginning, end or stored "
                    "(where a partition without a committed offset starts)\n");
            return EXIT_USAGE;
        }
        /* -o says where partitions without a committed offset start,
         * unless -X said it already. */
        if (o->start_given && o->start != START_STORED && !o->reset_given &&
            set(conf, "auto.offset.reset",
                o->start == START_BEGINNING ? "earliest" : "latest"))
            return EXIT_USAGE;
        return 0;
    }
    for (size_t i = 0; i < o->ntopics; i++)
        if (o->topics[i][0] == '^') {
            fprintf(stderr,
                    "kfk consume: %s: a regex subscription needs a group "
                    "(-G)\n",
                    o->topics[i]);
            return EXIT_USAGE;
        }
    if (o->start == START_STORED && !o->group_id_given) {
        fprintf(stderr, "kfk consume: -o stored reads a group's committed "
                        "offsets: give -G or -X group.id\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- the partitions read ------------------------------------------------- */

static part *find_part(state *st, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < st->nparts; i++)
        if (st->parts[i].partition == partition &&
            !strcmp(st->parts[i].topic, topic))
            return &st->parts[i];
    return NULL;
}

static int add_part(state *st, const char *topic, int32_t partition)
{
    part *p = find_part(st, topic, partition);
    if (p) {
        p->eof = false;
        return 0;
    }
    if (st->nparts == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        part *np = realloc(st->parts, cap * sizeof(*np));
        if (!np)
            return -1;
        st->parts = np;
        st->cap = cap;
    }
    char *t = strdup(topic);
    if (!t)
        return -1;
    st->parts[st->nparts++] = (part){t, partition, false};
    return 0;
}

static void remove_part(state *st, const char *topic, int32_t partition)
{
    part *p = find_part(st, topic, partition);
    if (!p)
        return;
    free(p->topic);
    *p = st->parts[--st->nparts];
}

static bool all_at_end(const state *st)
{
    if (!st->nparts)
        return false; /* a group that assigned nothing yet */
    for (size_t i = 0; i < st->nparts; i++)
        if (!st->parts[i].eof)
            return false;
    return true;
}

static void print_parts(const char *what, const kfk_topic_partition_t *parts,
                        size_t n)
{
    fprintf(stderr, "kfk consume: %s", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%s [%d]", i ? ", " : " ", parts[i].topic,
                (int)parts[i].partition);
    fprintf(stderr, "%s\n", n ? "" : " nothing");
}

/* The group's changes are tracked for -e, and told on stderr (tests and
 * users learn the assignment from it). */
static void on_rebalance(kfk_t *k, kfk_rebalance_event_t ev,
                         const kfk_topic_partition_t *parts, size_t n,
                         void *opaque)
{
    state *st = opaque;
    (void)k;
    for (size_t i = 0; i < n; i++) {
        if (ev == KFK_REBALANCE_ASSIGNED) {
            if (add_part(st, parts[i].topic, parts[i].partition)) {
                fprintf(stderr, "kfk consume: out of memory\n");
                st->fatal = true;
            }
        } else {
            remove_part(st, parts[i].topic, parts[i].partition);
        }
    }
    if (!st->o->quiet)
        print_parts(ev == KFK_REBALANCE_ASSIGNED  ? "assigned"
                    : ev == KFK_REBALANCE_REVOKED ? "revoked"
                                                  : "lost",
                    parts, n);
}

static void on_error(kfk_t *k, kfk_err_t err, const char *reason, void *opaque)
{
    state *st = opaque;
    (void)k;
    fprintf(stderr, "kfk consume: %s: %s\n", kfk_err_name(err), reason);
    if (err == KFK_ERR__FATAL)
        st->fatal = true;
}

/* ---- manual assignment --------------------------------------------------- */

/* The partitions of every topic (or -p), with where each starts. Returns
 * 0 or an exit status. */
static int manual_assign(kfk_t *k, state *st)
{
    const opts *o = st->o;
    size_t n = 0, cap = 0;
    kfk_topic_partition_t *tps = NULL;
    int rc = EXIT_FAIL;
    for (size_t i = 0; i < o->ntopics; i++) {
        const char *t = o->topics[i];
        int32_t cnt =
            kfk__client_metadata_wait(k->client, t, o->metadata_timeout_ms);
        if (cnt <= 0) {
            kfk_err_t e = cnt == KFK_ERR__TIMED_OUT ? KFK_ERR__TIMED_OUT
                                                    : (kfk_err_t)-cnt;
            fprintf(stderr, "kfk consume: %s: no metadata: %s (%s)\n", t,
                    kfk_err_name(e), kfk_err_str(e));
            goto out;
        }
        if (o->partition >= cnt) {
            fprintf(stderr,
                    "kfk consume: %s has %d partitions: there is no "
                    "partition %d\n",
                    t, (int)cnt, (int)o->partition);
            goto out;
        }
        int32_t first = o->partition >= 0 ? o->partition : 0;
        int32_t last = o->partition >= 0 ? o->partition : cnt - 1;
        for (int32_t p = first; p <= last; p++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                kfk_topic_partition_t *nt = realloc(tps, cap * sizeof(*nt));
                if (!nt)
                    goto nomem;
                tps = nt;
            }
            tps[n++] = (kfk_topic_partition_t){
                .topic = t, .partition = p, .leader_epoch = -1};
        }
    }
    for (size_t i = 0; i < n; i++) {
        kfk_topic_partition_t *tp = &tps[i];
        if (o->start == START_BEGINNING) {
            tp->offset = KFK_OFFSET_BEGINNING;
        } else if (o->start == START_END) {
            tp->offset = KFK_OFFSET_END;
        } else if (o->start == START_STORED) {
            tp->offset = KFK_OFFSET_STORED;
        } else if (o->start == START_OFFSET) {
            tp->offset = o->start_value;
        } else if (o->start == START_TAIL) {
            int64_t lo, hi;
            kfk_err_t e = kfk_consumer_watermarks(
                k, tp->topic, tp->partition, &lo, &hi, o->metadata_timeout_ms);
            if (e) {
                fprintf(stderr, "kfk consume: %s [%d]: watermarks: %s (%s)\n",
                        tp->topic, (int)tp->partition, kfk_err_name(e),
                        kfk_err_str(e));
                goto out;
            }
            tp->offset = hi - o->start_value > lo ? hi - o->start_value : lo;
        } else { /* START_TIME: one lookup for all, below */
            tp->offset = o->start_value;
        }
    }
    if (o->start == START_TIME && n) {
        kfk_err_t e =
            kfk_consumer_offsets_for_times(k, tps, n, o->metadata_timeout_ms);
        for (size_t i = 0; i < n; i++) {
            kfk_err_t pe = tps[i].err ? tps[i].err : e;
            if (pe) {
                fprintf(stderr,
                        "kfk consume: %s [%d]: offset for time %" PRId64
                        ": %s (%s)\n",
                        tps[i].topic, (int)tps[i].partition, o->start_value,
                        kfk_err_name(pe), kfk_err_str(pe));
                goto out;
            }
            if (tps[i].offset < 0) /* nothing that late: only new records */
                tps[i].offset = KFK_OFFSET_END;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (add_part(st, tps[i].topic, tps[i].partition))
            goto nomem;
    kfk_err_t e = kfk_consumer_assign(k, tps, n);
    if (e) {
        fprintf(stderr, "kfk consume: assign: %s (%s)\n", kfk_err_name(e),
                kfk_err_str(e));
        goto out;
    }
    rc = 0;
    goto out;
nomem:
    fprintf(stderr, "kfk consume: out of memory\n");
out:
    free(tps);
    return rc;
}

/* ---- the loop ------------------------------------------------------------ */

/* Errors after which reading cannot go on as asked. */
static bool is_fatal(kfk_err_t e)
{
    switch (e) {
    case KFK_ERR__NO_OFFSET: /* auto.offset.reset=none */
    case KFK_ERR__BAD_CRC:   /* the partition stopped there */
    case KFK_ERR__MALFORMED: /* likewise */
    case KFK_ERR__FATAL:
    case KFK_ERR_TOPIC_AUTHORIZATION_FAILED:
    case KFK_ERR_GROUP_AUTHORIZATION_FAILED:
    case KFK_ERR_CLUSTER_AUTHORIZATION_FAILED:
    /* the group refuses this member as configured: retrying cannot help
     * (the Java consumer throws these from poll too) */
    case KFK_ERR_INVALID_SESSION_TIMEOUT:
    case KFK_ERR_INCONSISTENT_GROUP_PROTOCOL:
    case KFK_ERR_INVALID_GROUP_ID:
    case KFK_ERR_GROUP_MAX_SIZE_REACHED:
    case KFK_ERR_FENCED_INSTANCE_ID:
    case KFK_ERR_UNSUPPORTED_ASSIGNOR:
        return true;
    default:
        return false;
    }
}

static void on_message(state *st, const kfk_message_t *m)
{
    const opts *o = st->o;
    if (m->err == KFK_ERR__PARTITION_EOF) {
        part *p = m->topic ? find_part(st, m->topic, m->partition) : NULL;
        if (p)
            p->eof = true;
        if (!o->quiet)
            fprintf(stderr,
                    "kfk consume: reached the end of %s [%d] at offset "
                    "%" PRId64 "%s\n",
                    m->topic, (int)m->partition, m->offset,
                    o->exit_eof && all_at_end(st) ? ": exiting" : "");
        return;
    }
    if (m->err) {
        st->errors++;
        if (m->errstr && *m->errstr) /* it names the partition */
            fprintf(stderr, "kfk consume: %s: %s\n", kfk_err_name(m->err),
                    m->errstr);
        else if (m->topic)
            fprintf(stderr, "kfk consume: %s [%d]: %s: %s\n", m->topic,
                    (int)m->partition, kfk_err_name(m->err),
                    m->errstr ? m->errstr : kfk_err_str(m->err));
        else
            fprintf(stderr, "kfk consume: %s: %s\n", kfk_err_name(m->err),
                    m->errstr ? m->errstr : kfk_err_str(m->err));
        if (is_fatal(m->err))
            st->fatal = true;
        return;
    }
    part *p = find_part(st, m->topic, m->partition);
    if (p)
        p->eof = false;
    st->records++;
    st->bytes += (long long)(m->key_len + m->value_len);
    if (consume_put(&st->o->out, m)) {
        fprintf(stderr, "kfk consume: out of memory\n");
        st->fatal = true;
    }
    if (ferror(stdout) && !st->out_errno)
        st->out_errno = errno ? errno : EIO; /* the failed write's */
}

/* Polls until -c, -e, a signal, a fatal error or a closed output. */
static void consume_loop(kfk_t *k, state *st)
{
    const opts *o = st->o;
    const kfk_message_t *msgs[500];
    while (!stop_signal && !st->fatal) {
        size_t max = sizeof(msgs) / sizeof(msgs[0]);
        /* no more than -c wants: what poll hands out counts as consumed
         * (its position is what a commit stores) */
        if (o->count >= 0 && (long long)max > o->count - st->records)
            max = (size_t)(o->count - st->records);
        size_t n = kfk_consumer_poll_batch(k, 200, msgs, max);
        for (size_t i = 0; i < n && !st->fatal && !st->out_errno; i++)
            on_message(st, msgs[i]);
        if (o->unbuffered && fflush(stdout) && !st->out_errno)
            st->out_errno = errno;
        if (st->out_errno) {
            /* A reader that went away (| head) had what it wanted: stop
             * as cleanly as for a signal. Anything else is a failure. */
            if (st->out_errno != EPIPE) {
                fprintf(stderr, "kfk consume: writing output: %s\n",
                        strerror(st->out_errno));
                st->fatal = true;
            }
            __fpurge(stdout); /* nothing more can be written */
            clearerr(stdout);
            return;
        }
        char why[512];
        kfk_err_t fe = kfk_fatal_error(k, why, sizeof(why));
        if (fe) {
            fprintf(stderr, "kfk consume: fatal: %s: %s\n", kfk_err_name(fe),
                    why);
            st->fatal = true;
        }
        if (o->count >= 0 && st->records >= o->count)
            return;
        if (o->exit_eof && all_at_end(st))
            return;
    }
}

static int run(opts *o, kfk_conf_t *conf)
{
    state st = {.o = o};
    kfk_conf_set_error_cb(conf, on_error, &st);
    if (o->group)
        kfk_conf_set_rebalance_cb(conf, on_rebalance, &st);
    if (o->exit_eof && set(conf, "enable.partition.eof", "true"))
        return EXIT_USAGE;
    char err[512];
    kfk_t *k = kfk_consumer_new(conf, err, sizeof(err));
    if (!k) {
        fprintf(stderr, "kfk consume: %s\n", err);
        return EXIT_USAGE; /* only a bad configuration fails here */
    }
    int rc = EXIT_OK;
    if (o->group) {
        kfk_err_t e = kfk_consumer_subscribe(k, o->topics, o->ntopics);
        if (e) {
            fprintf(stderr, "kfk consume: subscribe: %s (%s)\n",
                    kfk_err_name(e), kfk_err_str(e));
            rc = e == KFK_ERR__INVALID_ARG ? EXIT_USAGE : EXIT_FAIL;
        }
    } else {
        rc = manual_assign(k, &st);
    }
    if (!rc)
        consume_loop(k, &st);
    if (stop_signal && !o->quiet)
        fprintf(stderr, "kfk consume: %s: stopping\n",
                stop_signal == SIGINT ? "interrupted" : "terminated");
    /* Closing commits (a group with enable.auto.commit) and leaves the
     * group, so the other members take over at once. */
    kfk_err_t ce = kfk_consumer_close(k, -1);
    if (ce) {
        fprintf(stderr, "kfk consume: close: committing failed: %s (%s)\n",
                kfk_err_name(ce), kfk_err_str(ce));
        if (!rc)
            rc = EXIT_FAIL;
    }
    kfk_destroy(k);
    if (st.fatal && !rc)
        rc = EXIT_FAIL;
    if (!o->quiet)
        fprintf(stderr,
                "kfk consume: %lld records (%lld bytes), %lld errors%s%s\n",
                st.records, st.bytes, st.errors,
                st.fatal ? ", stopped by a fatal error" : "",
                st.out_errno == EPIPE ? ", output closed" : "");
    for (size_t i = 0; i < st.nparts; i++)
        free(st.parts[i].topic);
    free(st.parts);
    return rc;
}

int kfk_cmd_consume(int argc, char **argv)
{
    opts o = {.partition = -1,
              .start = START_BEGINNING,
              .count = -1,
              .metadata_timeout_ms = 10000};
    kfk_conf_t *conf = kfk_conf_new();
    if (!conf)
        return EXIT_FAIL;
    int rc = parse_args(argc, argv, &o, conf);
    if (rc < 0) { /* --help */
        rc = EXIT_OK;
        goto out;
    }
    if (!rc && !o.out.msg_delim.p && consume_unescape("\\n", &o.out.msg_delim))
        rc = EXIT_FAIL;
    if (!rc)
        rc = check_opts(&o, conf);
    if (rc) {
        if (rc == EXIT_USAGE)
            fprintf(stderr, "Run 'kfk consume --help' for the options.\n");
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* the loop sees it within a poll (200 ms) */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A reader that goes away (| head) ends the loop through EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    rc = run(&o, conf);
out:
    consume_out_free(&o.out);
    kfk_conf_destroy(conf);
    return rc;
}
