/*
 * test_conf.c: the configuration object and its table (src/client/conf*.c).
 *
 * What a user relies on: every default is Apache Kafka 4.0's (checked
 * against a list written here independently of the table); every value is
 * parsed strictly, with messages that name the property and what it
 * allows; unknown names get a suggestion; dumps are sorted and hide
 * secrets; copies are independent; the cross-property rules decide as the
 * Java client does; and running out of memory anywhere is NOMEM without a
 * leak (the sanitizer build checks the leaks).
 */
#include <check.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "client/conf_int.h"
#include "common/alloc.h"
#include "proto/compress.h"

static char errstr[512];

static kfk_conf_t *conf_new(void)
{
    kfk_conf_t *c = kfk_conf_new();
    ck_assert_ptr_nonnull(c);
    return c;
}

/* Sets or fails the test with the message. */
static void set_ok(kfk_conf_t *c, const char *name, const char *value)
{
    errstr[0] = '\0';
    kfk_err_t err = kfk_conf_set(c, name, value, errstr, sizeof(errstr));
    ck_assert_msg(err == KFK_ERR_NONE, "set %s=%s: %s", name,
                  value ? value : "(null)", errstr);
}

/* Expects INVALID_CONFIG and every fragment (NULL-terminated) in the
 * message; the stored value must not change. */
static void set_bad(kfk_conf_t *c, const char *name, const char *value, ...)
{
    char before[512], after[512];
    size_t lb = sizeof(before), la = sizeof(after);
    int known = kfk__conf_find(name) >= 0;
    if (known)
        ck_assert_int_eq(kfk_conf_get(c, name, before, &lb), KFK_ERR_NONE);
    errstr[0] = '\0';
    kfk_err_t err = kfk_conf_set(c, name, value, errstr, sizeof(errstr));
    ck_assert_msg(err == KFK_ERR__INVALID_CONFIG, "set %s=%s gave %d", name,
                  value, (int)err);
    va_list ap;
    va_start(ap, value);
    for (const char *frag; (frag = va_arg(ap, const char *)) != NULL;)
        ck_assert_msg(strstr(errstr, frag), "set %s=%s: \"%s\" lacks \"%s\"",
                      name, value, errstr, frag);
    va_end(ap);
    if (known) {
        ck_assert_int_eq(kfk_conf_get(c, name, after, &la), KFK_ERR_NONE);
        ck_assert_str_eq(before, after);
    }
}

static const char *get(const kfk_conf_t *c, const char *name)
{
    static char buf[4096];
    size_t len = sizeof(buf);
    kfk_err_t err = kfk_conf_get(c, name, buf, &len);
    ck_assert_msg(err == KFK_ERR_NONE, "get %s: %d", name, (int)err);
    ck_assert_uint_eq(len, strlen(buf) + 1);
    return buf;
}

/* ---- the table ----------------------------------------------------------- */

START_TEST(table_is_sorted_and_complete)
{
    for (int id = 0; id < KFK__CONF__COUNT; id++) {
        const kfk__conf_prop *p = &kfk__conf_props[id];
        ck_assert_msg(p->name && p->def && p->doc, "entry %d incomplete", id);
        if (id > 0)
            ck_assert_msg(strcmp(kfk__conf_props[id - 1].name, p->name) < 0,
                          "%s before %s: ids must follow name order",
                          kfk__conf_props[id - 1].name, p->name);
        ck_assert_int_eq(kfk__conf_find(p->name), id);
        ck_assert_msg(p->clients && !(p->clients & ~KFK__CLIENT_ALL),
                      "%s: clients", p->name);
        size_t dl = strlen(p->doc);
        ck_assert_msg(dl > 40 && p->doc[dl - 1] == '.' && !strchr(p->doc, '\t'),
                      "%s: doc should be a sentence or more", p->name);
        ck_assert_msg(p->deviation == NULL,
                      "%s deviates from Kafka 4.0: the brief says none yet",
                      p->name);
        if (p->type == KFK__CONF_T_ENUM)
            ck_assert_msg(p->vals != NULL, "%s: enum without values", p->name);
        if (p->type == KFK__CONF_T_INT || p->type == KFK__CONF_T_LONG ||
            p->type == KFK__CONF_T_MS)
            ck_assert_msg(p->min <= p->max && p->max > 0, "%s: range", p->name);
        if (p->type == KFK__CONF_T_INT)
            ck_assert_msg(p->min >= INT32_MIN && p->max <= INT32_MAX,
                          "%s: int range beyond 32 bits", p->name);
        if (p->type == KFK__CONF_T_DOUBLE)
            ck_assert_msg(p->dmin < p->dmax, "%s: range", p->name);
        kfk__conf_val v;
        ck_assert_msg(kfk__conf_parse((kfk__conf_id)id, p->def, &v, errstr,
                                      sizeof(errstr)) == KFK_ERR_NONE,
                      "%s: default does not parse: %s", p->name, errstr);
        kfk__conf_val_clear(&v);
        if (p->alt_def) {
            ck_assert(p->alt_clients & p->clients);
            ck_assert_int_eq(
                kfk__conf_parse((kfk__conf_id)id, p->alt_def, &v, NULL, 0),
                KFK_ERR_NONE);
            kfk__conf_val_clear(&v);
        }
    }
    ck_assert_int_eq(kfk__conf_find("no.such.property"), -1);
    ck_assert_int_eq(kfk__conf_find(""), -1);
    ck_assert_int_eq(kfk__conf_find("LINGER.MS"), -1); /* case matters */
}
END_TEST

/* Apache Kafka 4.0's client defaults (ProducerConfig, ConsumerConfig,
 * AdminClientConfig, CommonClientConfigs, SaslConfigs, SslConfigs), and
 * librdkafka's for the kfk-only properties; "" for no value. */
static const struct {
    const char *name;
    const char *def;
} java_defaults[] = {
    {"acks", "all"},
    {"allow.auto.create.topics", "true"},
    {"auto.commit.interval.ms", "5000"},
    {"auto.offset.reset", "latest"},
    {"batch.size", "16384"},
    {"bootstrap.servers", ""},
    {"buffer.memory", "33554432"},
    {"check.crcs", "true"},
    {"client.dns.lookup", "use_all_dns_ips"},
    {"client.id", ""},
    {"client.rack", ""},
    {"compression.gzip.level", "-1"},
    {"compression.lz4.level", "9"},
    {"compression.type", "none"},
    {"compression.zstd.level", "3"},
    {"connections.max.idle.ms", "540000"},
    {"debug", ""},
    {"default.api.timeout.ms", "60000"},
    {"delivery.timeout.ms", "120000"},
    {"enable.auto.commit", "true"},
    {"enable.idempotence", "true"},
    {"enable.metrics.push", "true"},
    {"enable.partition.eof", "false"}, /* kfk only */
    {"exclude.internal.topics", "true"},
    {"fetch.max.bytes", "52428800"},
    {"fetch.max.wait.ms", "500"},
    {"fetch.min.bytes", "1"},
    {"group.id", ""},
    {"group.instance.id", ""},
    {"group.protocol", "classic"},
    {"group.remote.assignor", ""},
    {"heartbeat.interval.ms", "3000"},
    {"isolation.level", "read_uncommitted"},
    {"linger.ms", "5"},
    {"log.level", "6"},
    {"max.block.ms", "60000"},
    {"max.in.flight.requests.per.connection", "5"},
    {"max.partition.fetch.bytes", "1048576"},
    {"max.poll.interval.ms", "300000"},
    {"max.poll.records", "500"},
    {"max.request.size", "1048576"},
    {"metadata.max.age.ms", "300000"},
    {"metadata.max.idle.ms", "300000"},
    {"metadata.recovery.rebootstrap.trigger.ms", "300000"},
    {"metadata.recovery.strategy", "rebootstrap"},
    {"partition.assignment.strategy", "range,cooperative-sticky"},
    {"partitioner.adaptive.partitioning.enable", "true"},
    {"partitioner.availability.timeout.ms", "0"},
    {"partitioner.ignore.keys", "false"},
    {"receive.buffer.bytes", "65536"},
    {"reconnect.backoff.max.ms", "1000"},
    {"reconnect.backoff.ms", "50"},
    {"request.timeout.ms", "30000"},
    {"retries", "2147483647"},
    {"retry.backoff.max.ms", "1000"},
    {"retry.backoff.ms", "100"},
    {"sasl.kerberos.kinit.cmd", "/usr/bin/kinit"},
    {"sasl.kerberos.min.time.before.relogin", "60000"},
    {"sasl.kerberos.service.name", ""},
    {"sasl.kerberos.ticket.renew.jitter", "0.05"},
    {"sasl.kerberos.ticket.renew.window.factor", "0.8"},
    {"sasl.mechanism", "GSSAPI"},
    {"sasl.password", ""},
    {"sasl.username", ""},
    {"security.protocol", "PLAINTEXT"},
    {"send.buffer.bytes", "131072"},
    {"session.timeout.ms", "45000"},
    {"socket.connection.setup.timeout.max.ms", "30000"},
    {"socket.connection.setup.timeout.ms", "10000"},
    {"ssl.ca.location", ""},
    {"ssl.certificate.location", ""},
    {"ssl.endpoint.identification.algorithm", "https"},
    {"ssl.key.location", ""},
    {"ssl.key.password", ""},
    {"statistics.interval.ms", "0"},
    {"transaction.timeout.ms", "60000"},
    {"transactional.id", ""},
};

#define N_DEFAULTS (sizeof(java_defaults) / sizeof(java_defaults[0]))

START_TEST(defaults_are_kafka_4_0)
{
    ck_assert_int_eq(N_DEFAULTS, KFK__CONF__COUNT);
    kfk_conf_t *c = conf_new();
    for (size_t i = 0; i < N_DEFAULTS; i++) {
        ck_assert_msg(kfk__conf_find(java_defaults[i].name) >= 0, "%s missing",
                      java_defaults[i].name);
        ck_assert_msg(
            strcmp(get(c, java_defaults[i].name), java_defaults[i].def) == 0,
            "%s: default %s, expected %s", java_defaults[i].name,
            get(c, java_defaults[i].name), java_defaults[i].def);
        int id = kfk__conf_find(java_defaults[i].name);
        ck_assert_int_eq(kfk__conf_is_set(c, (kfk__conf_id)id), 0);
        /* Setting the default text reads back the same. */
        if (java_defaults[i].def[0]) {
            set_ok(c, java_defaults[i].name, java_defaults[i].def);
            ck_assert_str_eq(get(c, java_defaults[i].name),
                             java_defaults[i].def);
            ck_assert_int_eq(kfk__conf_is_set(c, (kfk__conf_id)id), 1);
        }
    }
    kfk_conf_destroy(c);
}
END_TEST

/* The typed slots the library reads hold the defaults too. */
START_TEST(typed_access)
{
    kfk_conf_t *c = conf_new();
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ACKS), KFK__ACKS_ALL);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_LINGER_MS), 5);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ENABLE_IDEMPOTENCE), 1);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_RETRIES), INT32_MAX);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_COMPRESSION_TYPE),
                     KFK__CODEC_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ISOLATION_LEVEL),
                     KFK__ISOLATION_READ_UNCOMMITTED);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_METADATA_RECOVERY_STRATEGY),
                     KFK__METADATA_RECOVERY_REBOOTSTRAP);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_PARTITION_ASSIGNMENT_STRATEGY),
                     KFK__ASSIGNOR_RANGE | KFK__ASSIGNOR_COOPERATIVE_STICKY);
    int n;
    char *const *items =
        kfk__conf_list(c, KFK__CONF_PARTITION_ASSIGNMENT_STRATEGY, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(items[0], "range");
    ck_assert_str_eq(items[1], "cooperative-sticky");
    ck_assert_ptr_null(items[2]);
    ck_assert_ptr_null(kfk__conf_list(c, KFK__CONF_BOOTSTRAP_SERVERS, &n));
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(kfk__conf_str(c, KFK__CONF_TRANSACTIONAL_ID));
    ck_assert_str_eq(kfk__conf_str(c, KFK__CONF_SASL_KERBEROS_KINIT_CMD),
                     "/usr/bin/kinit");
    ck_assert(kfk__conf_double(
                  c, KFK__CONF_SASL_KERBEROS_TICKET_RENEW_WINDOW_FACTOR) ==
              0.8);

    set_ok(c, "compression.type", "zstd");
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_COMPRESSION_TYPE),
                     KFK__CODEC_ZSTD);
    set_ok(c, "isolation.level", "read_committed");
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ISOLATION_LEVEL),
                     KFK__ISOLATION_READ_COMMITTED);
    set_ok(c, "acks", "1");
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ACKS), KFK__ACKS_LEADER);
    set_ok(c, "acks", "0");
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ACKS), KFK__ACKS_NONE);
    int64_t v;
    ck_assert_int_eq(
        kfk__conf_enum_value(KFK__CONF_COMPRESSION_TYPE, "LZ4", &v), 0);
    ck_assert_int_eq(v, KFK__CODEC_LZ4);
    ck_assert_int_eq(
        kfk__conf_enum_value(KFK__CONF_COMPRESSION_TYPE, "lz5", &v), -1);
    ck_assert_int_eq(kfk__conf_enum_value(KFK__CONF_LINGER_MS, "5", &v), -1);
    kfk_conf_destroy(c);
}
END_TEST

/* ---- get ----------------------------------------------------------------- */

START_TEST(get_sizes)
{
    kfk_conf_t *c = conf_new();
    size_t len = 0;
    ck_assert_int_eq(kfk_conf_get(c, "linger.ms", NULL, &len), KFK_ERR_NONE);
    ck_assert_uint_eq(len, 2);
    char buf[8];
    len = 1;
    memset(buf, 'x', sizeof(buf));
    ck_assert_int_eq(kfk_conf_get(c, "linger.ms", buf, &len),
                     KFK_ERR__TOO_LARGE);
    ck_assert_uint_eq(len, 2);
    ck_assert_int_eq(buf[0], 'x'); /* nothing copied */
    len = 2;
    ck_assert_int_eq(kfk_conf_get(c, "linger.ms", buf, &len), KFK_ERR_NONE);
    ck_assert_str_eq(buf, "5");
    len = sizeof(buf);
    ck_assert_int_eq(kfk_conf_get(c, "client.id", buf, &len), KFK_ERR_NONE);
    ck_assert_str_eq(buf, "");
    ck_assert_uint_eq(len, 1);
    len = sizeof(buf);
    ck_assert_int_eq(kfk_conf_get(c, "lingr.ms", buf, &len),
                     KFK_ERR__INVALID_CONFIG);
    ck_assert_int_eq(kfk_conf_get(NULL, "linger.ms", buf, &len),
                     KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_conf_get(c, NULL, buf, &len), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_conf_get(c, "linger.ms", buf, NULL),
                     KFK_ERR__INVALID_ARG);
    kfk_conf_destroy(c);
}
END_TEST

/* ---- parsing, per type --------------------------------------------------- */

START_TEST(parse_integers)
{
    kfk_conf_t *c = conf_new();
    static const struct {
        const char *name, *in, *out;
    } good[] = {
        {"linger.ms", "0", "0"},
        {"linger.ms", "+7", "7"},
        {"linger.ms", " 42\t\n", "42"},
        {"linger.ms", "-0", "0"},
        {"linger.ms", "007", "7"},
        {"linger.ms", "9223372036854775807", "9223372036854775807"},
        {"batch.size", "2147483647", "2147483647"},
        {"batch.size", "0", "0"},
        {"receive.buffer.bytes", "-1", "-1"},
        {"send.buffer.bytes", "-1", "-1"},
        {"connections.max.idle.ms", "-1", "-1"},
        {"compression.zstd.level", "-131072", "-131072"},
        {"compression.zstd.level", "22", "22"},
        {"compression.lz4.level", "1", "1"},
        {"compression.lz4.level", "17", "17"},
        {"compression.gzip.level", "-1", "-1"},
        {"compression.gzip.level", "1", "1"},
        {"compression.gzip.level", "9", "9"},
        {"buffer.memory", "9223372036854775807", "9223372036854775807"},
        {"log.level", "7", "7"},
        {"statistics.interval.ms", "86400000", "86400000"},
        {"metadata.max.idle.ms", "5000", "5000"},
        {"retries", "0", "0"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        set_ok(c, good[i].name, good[i].in);
        ck_assert_str_eq(get(c, good[i].name), good[i].out);
    }
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_LINGER_MS), INT64_MAX);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_COMPRESSION_GZIP_LEVEL), 9);

    /* Not numbers: trailing garbage, other bases, floats, empty. */
    static const char *const junk[] = {"",     " ",   "5ms",  "5.0",
                                       "0x10", "1e3", "--1",  "+",
                                       "-",    "5 5", "five", "\x01"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        set_bad(c, "linger.ms", junk[i], "\"linger.ms\"",
                "expected a duration in milliseconds of at least 0", NULL);
    set_bad(c, "batch.size", "abc", "Invalid value \"abc\"",
            "configuration property \"batch.size\"",
            "expected an integer of at least 0", NULL);
    /* Overflow and range. */
    set_bad(c, "linger.ms", "9223372036854775808", "at least 0", NULL);
    set_bad(c, "linger.ms", "99999999999999999999999", "at least 0", NULL);
    set_bad(c, "linger.ms", "-1", "at least 0", NULL);
    set_bad(c, "batch.size", "2147483648", "at most 2147483647", NULL);
    set_bad(c, "batch.size", "-1", "at least 0", NULL);
    set_bad(c, "receive.buffer.bytes", "-2", "at least -1", NULL);
    set_bad(c, "compression.zstd.level", "23", "from -131072 to 22", NULL);
    set_bad(c, "compression.zstd.level", "-131073", "from -131072 to 22", NULL);
    set_bad(c, "compression.lz4.level", "0", "from 1 to 17", NULL);
    set_bad(c, "compression.lz4.level", "18", "from 1 to 17", NULL);
    set_bad(c, "compression.gzip.level", "0",
            "-1 (zlib's default) or an integer from 1 to 9", NULL);
    set_bad(c, "compression.gzip.level", "10", "from -1 to 9", NULL);
    set_bad(c, "compression.gzip.level", "-2", "from -1 to 9", NULL);
    set_bad(c, "log.level", "8", "from 0 to 7", NULL);
    set_bad(c, "metadata.max.idle.ms", "4999", "at least 5000", NULL);
    set_bad(c, "max.poll.records", "0", "at least 1", NULL);
    set_bad(c, "max.in.flight.requests.per.connection", "0", "at least 1",
            NULL);
    set_bad(c, "statistics.interval.ms", "86400001", "from 0 to 86400000",
            NULL);
    kfk_conf_destroy(c);
}
END_TEST

START_TEST(parse_booleans)
{
    kfk_conf_t *c = conf_new();
    static const struct {
        const char *in, *out;
    } good[] = {{"true", "true"},   {"false", "false"}, {"TRUE", "true"},
                {"False", "false"}, {" true ", "true"}, {"fAlSe", "false"}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        set_ok(c, "check.crcs", good[i].in);
        ck_assert_str_eq(get(c, "check.crcs"), good[i].out);
        ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_CHECK_CRCS),
                         good[i].out[0] == 't');
    }
    static const char *const bad[] = {"1",  "0",     "yes",   "no",
                                      "on", "off",   "t",     "f",
                                      "",   "truee", "true1", "tru e"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        set_bad(c, "check.crcs", bad[i], "\"check.crcs\"",
                "expected true or false", NULL);
    kfk_conf_destroy(c);
}
END_TEST

START_TEST(parse_doubles)
{
    kfk_conf_t *c = conf_new();
    const char *name = "sasl.kerberos.ticket.renew.window.factor";
    static const struct {
        const char *in, *out;
    } good[] = {{"0.5", "0.5"},  {"1", "1"},      {"0", "0"},
                {".25", "0.25"}, {"1e-1", "0.1"}, {" 0.75 ", "0.75"},
                {"1.0", "1"},    {"0.3", "0.3"},  {"+0.5", "0.5"}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        set_ok(c, name, good[i].in);
        ck_assert_str_eq(get(c, name), good[i].out);
    }
    static const char *const bad[] = {"1.5",   "-0.1", "nan", "NaN",
                                      "inf",   "-inf", "",    "0.5x",
                                      "1e999", "0,5",  "x",   "0.5 0.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        set_bad(c, name, bad[i], "expected a number from 0 to 1", NULL);
    set_ok(c, "sasl.kerberos.ticket.renew.jitter", "0.125");
    ck_assert(kfk__conf_double(
                  c, KFK__CONF_SASL_KERBEROS_TICKET_RENEW_JITTER) == 0.125);

    /* A locale with a decimal comma changes neither parsing nor printing
     * (skipped where no such locale is installed). */
    static const char *const comma_locales[] = {"de_DE.UTF-8", "de_DE.utf8",
                                                "fr_FR.UTF-8", "C.UTF-8"};
    for (size_t i = 0; i < sizeof(comma_locales) / sizeof(comma_locales[0]);
         i++) {
        if (!setlocale(LC_NUMERIC, comma_locales[i]))
            continue;
        set_ok(c, name, "0.6");
        ck_assert_str_eq(get(c, name), "0.6");
        setlocale(LC_NUMERIC, "C");
    }
    kfk_conf_destroy(c);
}
END_TEST

/* Every visible value of every enum, in several spellings. */
START_TEST(parse_every_enum_value)
{
    kfk_conf_t *c = conf_new();
    for (int id = 0; id < KFK__CONF__COUNT; id++) {
        const kfk__conf_prop *p = &kfk__conf_props[id];
        if (p->type != KFK__CONF_T_ENUM)
            continue;
        for (const kfk__conf_enum *v = p->vals; v->name; v++) {
            size_t n = strlen(v->name);
            if (n && v->name[n - 1] == ':')
                continue; /* parameterized: see offset_reset_by_duration */
            /* Canonical spelling: the first entry with this value. */
            const char *canon = NULL;
            for (const kfk__conf_enum *w = p->vals; w->name; w++)
                if (w->value == v->value) {
                    canon = w->name;
                    break;
                }
            set_ok(c, p->name, v->name);
            ck_assert_str_eq(get(c, p->name), canon);
            ck_assert_int_eq(kfk__conf_int(c, (kfk__conf_id)id), v->value);
            /* Any case. */
            char up[128];
            for (size_t k = 0; k <= n; k++)
                up[k] = (char)((v->name[k] >= 'a' && v->name[k] <= 'z')
                                   ? v->name[k] - 32
                                   : v->name[k]);
            set_ok(c, p->name, up);
            ck_assert_str_eq(get(c, p->name), canon);
        }
        set_bad(c, p->name, "no-such-value", p->name, "expected one of", NULL);
    }
    /* Aliases read back canonically. */
    set_ok(c, "acks", "-1");
    ck_assert_str_eq(get(c, "acks"), "all");
    set_ok(c, "ssl.endpoint.identification.algorithm", "");
    ck_assert_str_eq(get(c, "ssl.endpoint.identification.algorithm"), "none");
    set_ok(c, "security.protocol", "sasl_ssl");
    ck_assert_str_eq(get(c, "security.protocol"), "SASL_SSL");
    set_ok(c, "sasl.mechanism", "scram-sha-512");
    ck_assert_str_eq(get(c, "sasl.mechanism"), "SCRAM-SHA-512");
    /* Messages list the values and suggest a near one. */
    set_bad(c, "compression.type", "snapy",
            "Invalid value \"snapy\" for configuration property "
            "\"compression.type\": expected one of none, gzip, snappy, lz4, "
            "zstd (did you mean \"snappy\"?)",
            NULL);
    set_bad(c, "acks", "2", "expected one of all, -1, 0, 1", NULL);
    set_bad(c, "acks", "", "expected one of all, -1, 0, 1", NULL);
    set_bad(c, "isolation.level", "read_comitted",
            "did you mean \"read_committed\"", NULL);
    set_bad(c, "sasl.mechanism", "OAUTHBEARER",
            "GSSAPI, PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", NULL);
    set_bad(c, "auto.offset.reset", "smallest",
            "latest, earliest, none, by_duration:<ISO-8601 duration>", NULL);
    kfk_conf_destroy(c);
}
END_TEST

START_TEST(offset_reset_by_duration)
{
    kfk_conf_t *c = conf_new();
    static const struct {
        const char *in, *out;
        int64_t ms;
    } good[] = {
        {"by_duration:P1D", "by_duration:P1D", 86400000},
        {"BY_DURATION:pt1h30m", "by_duration:pt1h30m", 5400000},
        {" by_duration:PT0.5S ", "by_duration:PT0.5S", 500},
        {"by_duration:P2DT3H4M5.006S", "by_duration:P2DT3H4M5.006S",
         2 * 86400000LL + 3 * 3600000LL + 4 * 60000LL + 5006},
        {"by_duration:PT0S", "by_duration:PT0S", 0},
        {"by_duration:PT1,25S", "by_duration:PT1,25S", 1250},
        {"by_duration:PT1.000999999S", "by_duration:PT1.000999999S", 1000},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        set_ok(c, "auto.offset.reset", good[i].in);
        ck_assert_str_eq(get(c, "auto.offset.reset"), good[i].out);
        ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_AUTO_OFFSET_RESET),
                         KFK__OFFSET_RESET_BY_DURATION);
        ck_assert_int_eq(kfk__conf_arg(c, KFK__CONF_AUTO_OFFSET_RESET),
                         good[i].ms);
    }
    static const char *const bad[] = {
        "by_duration:",
        "by_duration:1D",
        "by_duration:P",
        "by_duration:PT",
        "by_duration:P1H",
        "by_duration:PT1D",
        "by_duration:-PT1H",
        "by_duration:P-1D",
        "by_duration:PT1S1M",
        "by_duration:P1DT",
        "by_duration:PT1.5M",
        "by_duration:PT1.S",
        "by_duration:PT1.0000000001S",
        "by_duration:P1W",
        "by_duration:PT1H x",
        "by_duration:P99999999999999999D",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        set_bad(c, "auto.offset.reset", bad[i], "ISO-8601 duration", NULL);
    /* Back to a plain value: the duration text is gone. */
    set_ok(c, "auto.offset.reset", "earliest");
    ck_assert_str_eq(get(c, "auto.offset.reset"), "earliest");
    ck_assert_ptr_null(kfk__conf_str(c, KFK__CONF_AUTO_OFFSET_RESET));
    kfk_conf_destroy(c);
}
END_TEST

START_TEST(parse_lists)
{
    kfk_conf_t *c = conf_new();
    int n;
    char *const *items;

    set_ok(c, "bootstrap.servers", " a:1 ,\tb.example.com:9092 ,[::1]:9093");
    ck_assert_str_eq(get(c, "bootstrap.servers"),
                     "a:1,b.example.com:9092,[::1]:9093");
    items = kfk__conf_list(c, KFK__CONF_BOOTSTRAP_SERVERS, &n);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(items[0], "a:1");
    ck_assert_str_eq(items[1], "b.example.com:9092");
    ck_assert_str_eq(items[2], "[::1]:9093");
    ck_assert_ptr_null(items[3]);
    set_ok(c, "bootstrap.servers", "PLAINTEXT://broker:9092");
    set_ok(c, "bootstrap.servers", "localhost:65535");
    set_ok(c, "bootstrap.servers", "  ");
    ck_assert_str_eq(get(c, "bootstrap.servers"), "");
    ck_assert_ptr_null(kfk__conf_list(c, KFK__CONF_BOOTSTRAP_SERVERS, &n));
    ck_assert_int_eq(n, 0);

    set_bad(c, "bootstrap.servers", "a:1,,b:2", "empty item", NULL);
    set_bad(c, "bootstrap.servers", "a:1,", "empty item", NULL);
    set_bad(c, "bootstrap.servers", ",a:1", "empty item", NULL);
    static const char *const bad_hosts[] = {
        "noport",    "host:",    ":9092",  "host:0",  "host:65536",
        "host:x",    "::1:9092", "[::1]",  "[]:9092", "host:+1",
        "[::1:9092", "host:-1",  "ho[st:1"};
    for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++)
        set_bad(c, "bootstrap.servers", bad_hosts[i], "is not host:port",
                "bootstrap.servers", NULL);

    const char *host;
    size_t hl;
    int port;
    ck_assert_int_eq(
        kfk__conf_split_hostport("[fe80::1]:9092", &host, &hl, &port), 0);
    ck_assert_int_eq((int)hl, 7);
    ck_assert_int_eq(strncmp(host, "fe80::1", hl), 0);
    ck_assert_int_eq(port, 9092);
    ck_assert_int_eq(
        kfk__conf_split_hostport("SASL_SSL://k1:19092", &host, &hl, &port), 0);
    ck_assert_int_eq(strncmp(host, "k1", hl), 0);
    ck_assert_int_eq(port, 19092);

    /* Lists of fixed items: canonical names, order kept, bits ORed. */
    set_ok(c, "partition.assignment.strategy",
           " roundrobin,org.apache.kafka.clients.consumer.StickyAssignor ");
    ck_assert_str_eq(get(c, "partition.assignment.strategy"),
                     "roundrobin,sticky");
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_PARTITION_ASSIGNMENT_STRATEGY),
                     KFK__ASSIGNOR_ROUNDROBIN | KFK__ASSIGNOR_STICKY);
    set_ok(c, "partition.assignment.strategy", "COOPERATIVE-STICKY");
    ck_assert_str_eq(get(c, "partition.assignment.strategy"),
                     "cooperative-sticky");
    set_bad(c, "partition.assignment.strategy", "range,range",
            "\"range\" is listed twice", NULL);
    set_bad(c, "partition.assignment.strategy",
            "range,org.apache.kafka.clients.consumer.RangeAssignor",
            "listed twice", NULL);
    set_bad(c, "partition.assignment.strategy", "range,fair",
            "\"fair\" in the list",
            "range, roundrobin, sticky, cooperative-sticky", NULL);
    set_ok(c, "partition.assignment.strategy", "");
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_PARTITION_ASSIGNMENT_STRATEGY),
                     0);

    set_ok(c, "debug", "broker, protocol");
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_DEBUG),
                     KFK__DEBUG_BROKER | KFK__DEBUG_PROTOCOL);
    set_ok(c, "debug", "all");
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_DEBUG), KFK__DEBUG_ALL);
    ck_assert_str_eq(get(c, "debug"), "all");
    set_bad(c, "debug", "brokers", "\"brokers\" in the list", NULL);

    /* Too many items for the parser's fixed arrays. */
    char big[300 * 4 + 1];
    size_t off = 0;
    for (int i = 0; i < 300; i++)
        off += (size_t)snprintf(big + off, sizeof(big) - off, "%sa:1",
                                i ? "," : "");
    set_bad(c, "bootstrap.servers", big, "more than", NULL);
    kfk_conf_destroy(c);
}
END_TEST

START_TEST(parse_strings)
{
    kfk_conf_t *c = conf_new();
    set_ok(c, "client.id", "  my-app  ");
    ck_assert_str_eq(get(c, "client.id"), "my-app");
    ck_assert_str_eq(kfk__conf_str(c, KFK__CONF_CLIENT_ID), "my-app");
    set_ok(c, "client.id", "");
    ck_assert_str_eq(get(c, "client.id"), "");
    ck_assert_ptr_null(kfk__conf_str(c, KFK__CONF_CLIENT_ID));
    ck_assert_int_eq(kfk__conf_is_set(c, KFK__CONF_CLIENT_ID), 1);
    /* Secrets are kept exactly. */
    set_ok(c, "sasl.password", " pa ss ");
    ck_assert_str_eq(get(c, "sasl.password"), " pa ss ");
    set_ok(c, "ssl.key.password", "\tx");
    ck_assert_str_eq(get(c, "ssl.key.password"), "\tx");

    set_ok(c, "group.instance.id", "host-1.a_b");
    set_bad(c, "group.instance.id", "host 1",
            "may contain only ASCII letters, digits", NULL);
    set_bad(c, "group.instance.id", "h\xc3\xa9", "may contain only", NULL);
    char longid[251];
    memset(longid, 'a', 250);
    longid[250] = '\0';
    set_bad(c, "group.instance.id", longid, "at most 249", NULL);
    longid[249] = '\0';
    set_ok(c, "group.instance.id", longid);
    kfk_conf_destroy(c);
}
END_TEST

/* ---- names --------------------------------------------------------------- */

START_TEST(unknown_names)
{
    kfk_conf_t *c = conf_new();
    set_bad(c, "lingr.ms", "5",
            "Unknown configuration property \"lingr.ms\" (did you mean "
            "\"linger.ms\"?)",
            NULL);
    ck_assert_str_eq(errstr, "Unknown configuration property \"lingr.ms\" "
                             "(did you mean \"linger.ms\"?)");
    set_bad(c, "Linger.MS", "5", "did you mean \"linger.ms\"", NULL);
    set_bad(c, "boostrap.servers", "a:1", "did you mean \"bootstrap.servers\"",
            NULL);
    set_bad(c, "sasl.mechanisms", "PLAIN", "did you mean \"sasl.mechanism\"",
            NULL);
    set_bad(c, "enable.idempotency", "true",
            "did you mean \"enable.idempotence\"", NULL);
    set_bad(c, "request.timout.ms", "1", "did you mean \"request.timeout.ms\"",
            NULL);
    set_bad(c, "xyzzy", "1", NULL);
    ck_assert_str_eq(errstr, "Unknown configuration property \"xyzzy\"");
    set_bad(c, "", "1", "Unknown configuration property \"\"", NULL);
    /* Other clients' names. */
    set_bad(c, "queue.buffering.max.ms", "5", "did you mean \"linger.ms\"",
            NULL);
    set_bad(c, "metadata.broker.list", "a:1",
            "did you mean \"bootstrap.servers\"", NULL);
    set_bad(c, "key.serializer", "x", "serialize them in the application",
            NULL);
    set_bad(c, "sasl.jaas.config", "x", "sasl.username and sasl.password",
            NULL);
    set_bad(c, "ssl.truststore.location", "x", "ssl.ca.location", NULL);
    /* A very long name is refused without a suggestion and without
     * overflowing anything. */
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    set_bad(c, longname, "1", "Unknown configuration property", NULL);

    /* errstr is optional, and truncated to its size. */
    ck_assert_int_eq(kfk_conf_set(c, "lingr.ms", "1", NULL, 0),
                     KFK_ERR__INVALID_CONFIG);
    char tiny[8];
    memset(tiny, 'x', sizeof(tiny));
    ck_assert_int_eq(kfk_conf_set(c, "lingr.ms", "1", tiny, 5),
                     KFK_ERR__INVALID_CONFIG);
    ck_assert_str_eq(tiny, "Unkn");
    ck_assert_int_eq(tiny[5], 'x');
    /* Success leaves errstr alone. */
    strcpy(errstr, "untouched");
    ck_assert_int_eq(kfk_conf_set(c, "linger.ms", "1", errstr, sizeof(errstr)),
                     KFK_ERR_NONE);
    ck_assert_str_eq(errstr, "untouched");
    /* Caller mistakes. */
    ck_assert_int_eq(kfk_conf_set(NULL, "linger.ms", "1", NULL, 0),
                     KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_conf_set(c, NULL, "1", NULL, 0), KFK_ERR__INVALID_ARG);
    kfk_conf_destroy(c);
}
END_TEST

/* ---- reset, dup, dump ---------------------------------------------------- */

START_TEST(reset_with_null)
{
    kfk_conf_t *c = conf_new();
    for (size_t i = 0; i < N_DEFAULTS; i++) {
        int id = kfk__conf_find(java_defaults[i].name);
        ck_assert_int_eq(kfk_conf_set(c, java_defaults[i].name, NULL, errstr,
                                      sizeof(errstr)),
                         KFK_ERR_NONE);
        ck_assert_str_eq(get(c, java_defaults[i].name), java_defaults[i].def);
        ck_assert_int_eq(kfk__conf_is_set(c, (kfk__conf_id)id), 0);
    }
    set_ok(c, "client.id", "x");
    set_ok(c, "bootstrap.servers", "a:1,b:2");
    set_ok(c, "linger.ms", "100");
    set_ok(c, "auto.offset.reset", "by_duration:P1D");
    set_ok(c, "client.id", NULL);
    set_ok(c, "bootstrap.servers", NULL);
    set_ok(c, "linger.ms", NULL);
    set_ok(c, "auto.offset.reset", NULL);
    ck_assert_str_eq(get(c, "client.id"), "");
    ck_assert_str_eq(get(c, "bootstrap.servers"), "");
    ck_assert_str_eq(get(c, "linger.ms"), "5");
    ck_assert_str_eq(get(c, "auto.offset.reset"), "latest");
    ck_assert_int_eq(kfk__conf_is_set(c, KFK__CONF_LINGER_MS), 0);
    ck_assert_int_eq(kfk__conf_is_set(c, KFK__CONF_CLIENT_ID), 0);
    kfk_conf_destroy(c);
}
END_TEST

START_TEST(dup_is_independent)
{
    ck_assert_ptr_null(kfk_conf_dup(NULL));
    kfk_conf_destroy(NULL);

    kfk_conf_t *a = conf_new();
    set_ok(a, "bootstrap.servers", "a:1,b:2");
    set_ok(a, "client.id", "one");
    set_ok(a, "linger.ms", "50");
    set_ok(a, "sasl.password", " secret ");
    set_ok(a, "partition.assignment.strategy", "sticky,range");
    set_ok(a, "auto.offset.reset", "by_duration:PT2H");
    set_ok(a, "sasl.kerberos.ticket.renew.jitter", "0.2");
    static int b_marker[1];
    a->cbs.delivery_opaque = (void *)a;
    a->cbs.log_opaque = (void *)b_marker;

    kfk_conf_t *b = kfk_conf_dup(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_eq(b->cbs.delivery_opaque, (void *)a);
    ck_assert_ptr_eq(b->cbs.log_opaque, (void *)b_marker);
    for (size_t i = 0; i < N_DEFAULTS; i++) {
        const char *name = java_defaults[i].name;
        char va[512];
        snprintf(va, sizeof(va), "%s", get(a, name));
        ck_assert_str_eq(get(b, name), va);
        int id = kfk__conf_find(name);
        ck_assert_int_eq(kfk__conf_is_set(a, (kfk__conf_id)id),
                         kfk__conf_is_set(b, (kfk__conf_id)id));
        const kfk__conf_val *x = &a->v[id], *y = &b->v[id];
        ck_assert(x->i == y->i && x->d == y->d && x->n == y->n &&
                  x->arg == y->arg);
        if (x->s)
            ck_assert_ptr_ne(x->s, y->s); /* deep copy */
    }
    ck_assert_str_eq(get(b, "sasl.password"), " secret ");
    ck_assert_int_eq(kfk__conf_arg(b, KFK__CONF_AUTO_OFFSET_RESET), 7200000);

    /* Changing one leaves the other alone, both ways. */
    set_ok(a, "bootstrap.servers", "c:3");
    set_ok(a, "client.id", NULL);
    set_ok(b, "linger.ms", "7");
    ck_assert_str_eq(get(b, "bootstrap.servers"), "a:1,b:2");
    ck_assert_str_eq(get(b, "client.id"), "one");
    ck_assert_int_eq(kfk__conf_is_set(b, KFK__CONF_CLIENT_ID), 1);
    ck_assert_str_eq(get(a, "linger.ms"), "50");
    kfk_conf_destroy(a);
    ck_assert_str_eq(get(b, "partition.assignment.strategy"), "sticky,range");
    kfk_conf_destroy(b);
}
END_TEST

/* A value finalize adjusted survives a copy (the client dups its own). */
START_TEST(dup_keeps_adjusted_values)
{
    kfk_conf_t *a = conf_new();
    set_ok(a, "bootstrap.servers", "a:1");
    set_ok(a, "acks", "1");
    ck_assert_int_eq(
        kfk__conf_finalize(a, KFK__CLIENT_PRODUCER, errstr, sizeof(errstr)),
        KFK_ERR_NONE);
    kfk_conf_t *b = kfk_conf_dup(a);
    ck_assert_int_eq(kfk__conf_int(b, KFK__CONF_ENABLE_IDEMPOTENCE), 0);
    ck_assert_int_eq(kfk__conf_int(b, KFK__CONF_RECEIVE_BUFFER_BYTES), 32768);
    kfk_conf_destroy(a);
    kfk_conf_destroy(b);
}
END_TEST

START_TEST(dump_sorted_and_masked)
{
    kfk_conf_t *c = conf_new();
    set_ok(c, "sasl.password", "hunter2");
    set_ok(c, "linger.ms", "20");
    set_ok(c, "acks", "-1");
    kfk_conf_entry_t **e;
    size_t n;
    ck_assert_int_eq(kfk_conf_dump(c, &e, &n), KFK_ERR_NONE);
    ck_assert_uint_eq(n, KFK__CONF__COUNT);
    ck_assert_ptr_null(e[n]);
    int seen_password = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            ck_assert_msg(strcmp(e[i - 1]->name, e[i]->name) < 0,
                          "dump not sorted at %s", e[i]->name);
        ck_assert_ptr_nonnull(e[i]->value);
        ck_assert_ptr_nonnull(e[i]->default_value);
        ck_assert(e[i]->is_set == 0 || e[i]->is_set == 1);
        ck_assert_msg(strstr(e[i]->value, "hunter2") == NULL,
                      "%s shows the password", e[i]->name);
        if (strcmp(e[i]->name, "sasl.password") == 0) {
            seen_password = 1;
            ck_assert_str_eq(e[i]->value, "[hidden]");
            ck_assert_int_eq(e[i]->is_set, 1);
            ck_assert_int_eq(e[i]->is_sensitive, 1);
        } else if (strcmp(e[i]->name, "ssl.key.password") == 0) {
            ck_assert_str_eq(e[i]->value, ""); /* nothing to hide */
            ck_assert_int_eq(e[i]->is_sensitive, 1);
            ck_assert_int_eq(e[i]->is_set, 0);
        } else {
            ck_assert_str_eq(e[i]->value, get(c, e[i]->name));
            ck_assert_int_eq(e[i]->is_sensitive, 0);
        }
        int set = strcmp(e[i]->name, "sasl.password") == 0 ||
                  strcmp(e[i]->name, "linger.ms") == 0 ||
                  strcmp(e[i]->name, "acks") == 0;
        ck_assert_int_eq(e[i]->is_set, set);
        ck_assert_str_eq(e[i]->default_value,
                         java_defaults[i].def); /* same order, same text */
    }
    ck_assert(seen_password);
    /* The dump does not refer to conf. */
    kfk_conf_destroy(c);
    ck_assert_str_eq(e[0]->name, "acks");
    ck_assert_str_eq(e[0]->value, "all");
    kfk_conf_dump_free(e);
    kfk_conf_dump_free(NULL);
    ck_assert_int_eq(kfk_conf_dump(NULL, &e, &n), KFK_ERR__INVALID_ARG);
}
END_TEST

/* ---- cross-property rules ------------------------------------------------ */

/* A conf with bootstrap.servers and the given name=value pairs (NULL
 * terminated), finalized for kind; returns the error, message in errstr. */
static kfk_err_t finalize(kfk_conf_t **out, kfk__client_kind kind, ...)
{
    kfk_conf_t *c = conf_new();
    set_ok(c, "bootstrap.servers", "localhost:9092");
    va_list ap;
    va_start(ap, kind);
    for (const char *name; (name = va_arg(ap, const char *)) != NULL;)
        set_ok(c, name, va_arg(ap, const char *));
    va_end(ap);
    errstr[0] = '\0';
    kfk_err_t err = kfk__conf_finalize(c, kind, errstr, sizeof(errstr));
    if (out)
        *out = c;
    else
        kfk_conf_destroy(c);
    return err;
}

#define P KFK__CLIENT_PRODUCER
#define C KFK__CLIENT_CONSUMER
#define A KFK__CLIENT_ADMIN

static void expect_fail(kfk_err_t err, const char *a, const char *b)
{
    ck_assert_msg(err == KFK_ERR__INVALID_CONFIG, "expected a conflict (%s)",
                  a);
    ck_assert_msg(strstr(errstr, a), "\"%s\" lacks \"%s\"", errstr, a);
    if (b)
        ck_assert_msg(strstr(errstr, b), "\"%s\" lacks \"%s\"", errstr, b);
}

START_TEST(finalize_common)
{
    kfk_conf_t *c = conf_new();
    expect_fail(kfk__conf_finalize(c, P, errstr, sizeof(errstr)),
                "bootstrap.servers is required", NULL);
    ck_assert_int_eq(kfk__conf_finalize(c, A, NULL, 0),
                     KFK_ERR__INVALID_CONFIG);
    kfk_conf_destroy(c);

    /* Defaults finalize cleanly for every kind. */
    ck_assert_int_eq(finalize(NULL, P, NULL), KFK_ERR_NONE);
    ck_assert_int_eq(finalize(NULL, C, NULL), KFK_ERR_NONE);
    ck_assert_int_eq(finalize(NULL, A, NULL), KFK_ERR_NONE);

    /* Kind-specific defaults, unless set. */
    ck_assert_int_eq(finalize(&c, P, NULL), KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_RECEIVE_BUFFER_BYTES), 32768);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_CONNECTIONS_MAX_IDLE_MS),
                     540000);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ENABLE_METRICS_PUSH), 1);
    kfk_conf_destroy(c);
    ck_assert_int_eq(finalize(&c, C, NULL), KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_RECEIVE_BUFFER_BYTES), 65536);
    kfk_conf_destroy(c);
    ck_assert_int_eq(finalize(&c, A, NULL), KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_CONNECTIONS_MAX_IDLE_MS),
                     300000);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ENABLE_METRICS_PUSH), 0);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_RECEIVE_BUFFER_BYTES), 65536);
    kfk_conf_destroy(c);
    ck_assert_int_eq(finalize(&c, P, "receive.buffer.bytes", "65536", NULL),
                     KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_RECEIVE_BUFFER_BYTES), 65536);
    kfk_conf_destroy(c);
    ck_assert_int_eq(finalize(&c, A, "enable.metrics.push", "true", NULL),
                     KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ENABLE_METRICS_PUSH), 1);
    kfk_conf_destroy(c);

    /* reconnect.backoff.ms alone means constant backoff (Java). */
    ck_assert_int_eq(finalize(&c, C, "reconnect.backoff.ms", "200", NULL),
                     KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_RECONNECT_BACKOFF_MAX_MS), 200);
    kfk_conf_destroy(c);
    ck_assert_int_eq(finalize(&c, C, "reconnect.backoff.ms", "200",
                              "reconnect.backoff.max.ms", "5000", NULL),
                     KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_RECONNECT_BACKOFF_MAX_MS),
                     5000);
    kfk_conf_destroy(c);

    /* SASL and TLS. */
    expect_fail(finalize(NULL, A, "security.protocol", "SASL_SSL", NULL),
                "sasl.mechanism=GSSAPI", "sasl.kerberos.service.name");
    ck_assert_int_eq(finalize(NULL, A, "security.protocol", "SASL_SSL",
                              "sasl.kerberos.service.name", "kafka", NULL),
                     KFK_ERR_NONE);
    expect_fail(finalize(NULL, P, "security.protocol", "SASL_PLAINTEXT",
                         "sasl.mechanism", "PLAIN", "sasl.username", "u", NULL),
                "sasl.mechanism=PLAIN", "sasl.password");
    expect_fail(finalize(NULL, P, "security.protocol", "SASL_PLAINTEXT",
                         "sasl.mechanism", "SCRAM-SHA-256", "sasl.password",
                         "p", NULL),
                "sasl.mechanism=SCRAM-SHA-256", "sasl.username");
    ck_assert_int_eq(finalize(NULL, P, "security.protocol", "SASL_SSL",
                              "sasl.mechanism", "SCRAM-SHA-512",
                              "sasl.username", "u", "sasl.password", "p", NULL),
                     KFK_ERR_NONE);
    /* SASL settings without a SASL protocol are ignored, as in Java. */
    ck_assert_int_eq(finalize(NULL, P, "sasl.mechanism", "PLAIN", NULL),
                     KFK_ERR_NONE);
    expect_fail(finalize(NULL, C, "security.protocol", "SSL",
                         "ssl.certificate.location", "/c.pem", NULL),
                "ssl.certificate.location", "ssl.key.location");
    expect_fail(finalize(NULL, C, "security.protocol", "SASL_SSL",
                         "sasl.mechanism", "PLAIN", "sasl.username", "u",
                         "sasl.password", "p", "ssl.key.location", "/k.pem",
                         NULL),
                "ssl.certificate.location", "ssl.key.location");
    ck_assert_int_eq(finalize(NULL, C, "security.protocol", "SSL",
                              "ssl.certificate.location", "/c.pem",
                              "ssl.key.location", "/k.pem", NULL),
                     KFK_ERR_NONE);
}
END_TEST

START_TEST(finalize_idempotence)
{
    kfk_conf_t *c;
    /* Defaults: idempotent. */
    ck_assert_int_eq(finalize(&c, P, NULL), KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ENABLE_IDEMPOTENCE), 1);
    kfk_conf_destroy(c);

    /* A conflicting setting without enable.idempotence turns it off... */
    ck_assert_int_eq(finalize(&c, P, "acks", "1", NULL), KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ENABLE_IDEMPOTENCE), 0);
    ck_assert_int_eq(kfk__conf_is_set(c, KFK__CONF_ENABLE_IDEMPOTENCE), 0);
    kfk_conf_destroy(c);
    ck_assert_int_eq(finalize(&c, P, "acks", "0", NULL), KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ENABLE_IDEMPOTENCE), 0);
    kfk_conf_destroy(c);
    ck_assert_int_eq(finalize(&c, P, "retries", "0", NULL), KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ENABLE_IDEMPOTENCE), 0);
    kfk_conf_destroy(c);
    /* ...and compatible explicit values keep it. */
    ck_assert_int_eq(finalize(&c, P, "acks", "all", "retries", "1",
                              "max.in.flight.requests.per.connection", "5",
                              NULL),
                     KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ENABLE_IDEMPOTENCE), 1);
    kfk_conf_destroy(c);

    /* With enable.idempotence=true set, a conflict is an error naming both. */
    expect_fail(
        finalize(NULL, P, "enable.idempotence", "true", "acks", "1", NULL),
        "enable.idempotence=true", "acks=1");
    expect_fail(
        finalize(NULL, P, "enable.idempotence", "true", "acks", "0", NULL),
        "enable.idempotence=true", "acks=0");
    expect_fail(
        finalize(NULL, P, "enable.idempotence", "true", "retries", "0", NULL),
        "enable.idempotence=true", "retries=0");
    expect_fail(finalize(NULL, P, "enable.idempotence", "true",
                         "max.in.flight.requests.per.connection", "6", NULL),
                "max.in.flight.requests.per.connection=6",
                "enable.idempotence=true");
    /* Kafka 4.0: more than 5 in flight is an error even when idempotence
     * is only the default (and even next to acks=1), unless it is off. */
    expect_fail(
        finalize(NULL, P, "max.in.flight.requests.per.connection", "10", NULL),
        "max.in.flight.requests.per.connection=10",
        "enable.idempotence=true (the default)");
    expect_fail(finalize(NULL, P, "acks", "1",
                         "max.in.flight.requests.per.connection", "10", NULL),
                "max.in.flight.requests.per.connection=10",
                "enable.idempotence=false");
    ck_assert_int_eq(
        finalize(&c, P, "enable.idempotence", "false", "acks", "1", "retries",
                 "0", "max.in.flight.requests.per.connection", "10", NULL),
        KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ENABLE_IDEMPOTENCE), 0);
    kfk_conf_destroy(c);

    /* Transactions need idempotence. */
    ck_assert_int_eq(finalize(NULL, P, "transactional.id", "tx-1", NULL),
                     KFK_ERR_NONE);
    expect_fail(finalize(NULL, P, "transactional.id", "tx-1",
                         "enable.idempotence", "false", NULL),
                "transactional.id", "enable.idempotence=false");
    expect_fail(
        finalize(NULL, P, "transactional.id", "tx-1", "acks", "1", NULL),
        "transactional.id", "acks=1");
    expect_fail(
        finalize(NULL, P, "transactional.id", "tx-1", "retries", "0", NULL),
        "transactional.id", "retries=0");
    /* An empty transactional.id is no transactional.id. */
    ck_assert_int_eq(finalize(NULL, P, "transactional.id", "",
                              "enable.idempotence", "false", NULL),
                     KFK_ERR_NONE);

    /* Producer rules do not apply to other clients. */
    ck_assert_int_eq(
        finalize(NULL, C, "enable.idempotence", "true", "acks", "1", NULL),
        KFK_ERR_NONE);
}
END_TEST

START_TEST(finalize_delivery_timeout)
{
    kfk_conf_t *c;
    /* Exactly linger + request timeout is fine. */
    ck_assert_int_eq(finalize(&c, P, "delivery.timeout.ms", "30005", NULL),
                     KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_DELIVERY_TIMEOUT_MS), 30005);
    kfk_conf_destroy(c);
    expect_fail(finalize(NULL, P, "delivery.timeout.ms", "30004", NULL),
                "delivery.timeout.ms=30004",
                "linger.ms + request.timeout.ms (5 + 30000 = 30005)");
    expect_fail(finalize(NULL, P, "linger.ms", "100000", "delivery.timeout.ms",
                         "120000", NULL),
                "delivery.timeout.ms=120000", "linger.ms + request.timeout.ms");
    /* Not set: raised to the sum, as Java does. */
    ck_assert_int_eq(finalize(&c, P, "linger.ms", "100000", NULL),
                     KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_DELIVERY_TIMEOUT_MS), 130000);
    ck_assert_int_eq(kfk__conf_is_set(c, KFK__CONF_DELIVERY_TIMEOUT_MS), 0);
    kfk_conf_destroy(c);
    ck_assert_int_eq(finalize(&c, P, "request.timeout.ms", "200000", NULL),
                     KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_DELIVERY_TIMEOUT_MS), 200005);
    kfk_conf_destroy(c);
    /* The sum saturates at INT32_MAX instead of overflowing. */
    ck_assert_int_eq(finalize(&c, P, "linger.ms", "9223372036854775807", NULL),
                     KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_DELIVERY_TIMEOUT_MS),
                     INT32_MAX);
    kfk_conf_destroy(c);
    ck_assert_int_eq(finalize(NULL, P, "linger.ms", "9223372036854775807",
                              "delivery.timeout.ms", "2147483647", NULL),
                     KFK_ERR_NONE);
}
END_TEST

START_TEST(finalize_consumer)
{
    kfk_conf_t *c;
    /* Heartbeat below the session timeout, when there is a group. */
    expect_fail(finalize(NULL, C, "group.id", "g", "heartbeat.interval.ms",
                         "45000", NULL),
                "heartbeat.interval.ms (45000)", "session.timeout.ms (45000)");
    expect_fail(
        finalize(NULL, C, "group.id", "g", "session.timeout.ms", "2000", NULL),
        "heartbeat.interval.ms (3000)", "session.timeout.ms (2000)");
    ck_assert_int_eq(finalize(NULL, C, "group.id", "g", "heartbeat.interval.ms",
                              "44999", NULL),
                     KFK_ERR_NONE);
    ck_assert_int_eq(finalize(NULL, C, "heartbeat.interval.ms", "45000", NULL),
                     KFK_ERR_NONE);

    /* The consumer group protocol refuses the classic-only settings. */
    ck_assert_int_eq(finalize(NULL, C, "group.id", "g", "group.protocol",
                              "consumer", "group.remote.assignor", "uniform",
                              NULL),
                     KFK_ERR_NONE);
    expect_fail(finalize(NULL, C, "group.id", "g", "group.protocol", "consumer",
                         "session.timeout.ms", "45000", NULL),
                "session.timeout.ms cannot be set", "group.protocol=consumer");
    expect_fail(finalize(NULL, C, "group.id", "g", "group.protocol", "consumer",
                         "heartbeat.interval.ms", "1000", NULL),
                "heartbeat.interval.ms cannot be set",
                "group.protocol=consumer");
    expect_fail(finalize(NULL, C, "group.id", "g", "group.protocol", "consumer",
                         "partition.assignment.strategy", "range", NULL),
                "partition.assignment.strategy cannot be set",
                "group.remote.assignor");
    expect_fail(finalize(NULL, C, "group.id", "g", "group.remote.assignor",
                         "uniform", NULL),
                "group.remote.assignor cannot be set",
                "group.protocol=classic");

    /* Auto commit needs a group. */
    ck_assert_int_eq(finalize(&c, C, NULL), KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ENABLE_AUTO_COMMIT), 0);
    kfk_conf_destroy(c);
    ck_assert_int_eq(finalize(&c, C, "group.id", "g", NULL), KFK_ERR_NONE);
    ck_assert_int_eq(kfk__conf_int(c, KFK__CONF_ENABLE_AUTO_COMMIT), 1);
    kfk_conf_destroy(c);
    expect_fail(finalize(NULL, C, "enable.auto.commit", "true", NULL),
                "enable.auto.commit=true", "group.id");
    ck_assert_int_eq(finalize(NULL, C, "enable.auto.commit", "false", NULL),
                     KFK_ERR_NONE);

    /* Consumer rules do not apply to the producer. */
    ck_assert_int_eq(
        finalize(NULL, P, "group.id", "g", "session.timeout.ms", "1000", NULL),
        KFK_ERR_NONE);
}
END_TEST

/* ---- allocation failures ------------------------------------------------- */

START_TEST(nomem_new)
{
    for (long n = 0;; n++) {
        kfk__alloc_fail_after(n);
        kfk_conf_t *c = kfk_conf_new();
        kfk__alloc_fail_after(-1);
        if (c) {
            ck_assert_int_gt(n, 0);
            ck_assert_str_eq(get(c, "partition.assignment.strategy"),
                             "range,cooperative-sticky");
            kfk_conf_destroy(c);
            break;
        }
        ck_assert_int_lt(n, 100);
    }
}
END_TEST

START_TEST(nomem_set)
{
    static const struct {
        const char *name, *value;
    } cases[] = {
        {"client.id", "app"},
        {"bootstrap.servers", "a:1,b:2"},
        {"partition.assignment.strategy", "sticky"},
        {"auto.offset.reset", "by_duration:P1D"},
        {"sasl.password", "x"},
        {"client.id", NULL}, /* reset to a default that allocates nothing */
        {"sasl.kerberos.kinit.cmd", NULL}, /* ... and to one that does */
    };
    kfk_conf_t *c = conf_new();
    set_ok(c, "client.id", "before");
    set_ok(c, "sasl.kerberos.kinit.cmd", "/bin/kinit");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (long n = 0;; n++) {
            char before[256];
            snprintf(before, sizeof(before), "%s", get(c, cases[i].name));
            kfk__alloc_fail_after(n);
            kfk_err_t err = kfk_conf_set(c, cases[i].name, cases[i].value,
                                         errstr, sizeof(errstr));
            kfk__alloc_fail_after(-1);
            if (err == KFK_ERR_NONE)
                break;
            ck_assert_int_eq(err, KFK_ERR__NOMEM);
            ck_assert_msg(strstr(errstr, cases[i].name), "%s", errstr);
            ck_assert_str_eq(get(c, cases[i].name), before); /* unchanged */
            ck_assert_int_lt(n, 10);
        }
    }
    ck_assert_str_eq(get(c, "auto.offset.reset"), "by_duration:P1D");
    ck_assert_str_eq(get(c, "sasl.kerberos.kinit.cmd"), "/usr/bin/kinit");
    kfk_conf_destroy(c);
}
END_TEST

START_TEST(nomem_dup_and_dump)
{
    kfk_conf_t *c = conf_new();
    set_ok(c, "bootstrap.servers", "a:1,b:2");
    set_ok(c, "client.id", "x");
    set_ok(c, "transactional.id", "t");
    set_ok(c, "auto.offset.reset", "by_duration:PT1M");
    for (long n = 0;; n++) {
        kfk__alloc_fail_after(n);
        kfk_conf_t *d = kfk_conf_dup(c);
        kfk__alloc_fail_after(-1);
        if (d) {
            ck_assert_int_ge(n, 5);
            ck_assert_str_eq(get(d, "transactional.id"), "t");
            kfk_conf_destroy(d);
            break;
        }
        ck_assert_int_lt(n, 100);
    }
    kfk__alloc_fail_after(0);
    kfk_conf_entry_t **e = (kfk_conf_entry_t **)1;
    size_t cnt = 99;
    kfk_err_t err = kfk_conf_dump(c, &e, &cnt);
    kfk__alloc_fail_after(-1);
    ck_assert_int_eq(err, KFK_ERR__NOMEM);
    ck_assert_ptr_null(e);
    ck_assert_uint_eq(cnt, 0);
    ck_assert_int_eq(kfk_conf_dump(c, &e, &cnt), KFK_ERR_NONE);
    kfk_conf_dump_free(e);
    kfk_conf_destroy(c);
}
END_TEST

static Suite *conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *t = tcase_create("table");
    tcase_add_test(t, table_is_sorted_and_complete);
    tcase_add_test(t, defaults_are_kafka_4_0);
    tcase_add_test(t, typed_access);
    tcase_add_test(t, get_sizes);
    suite_add_tcase(s, t);

    t = tcase_create("parse");
    tcase_add_test(t, parse_integers);
    tcase_add_test(t, parse_booleans);
    tcase_add_test(t, parse_doubles);
    tcase_add_test(t, parse_every_enum_value);
    tcase_add_test(t, offset_reset_by_duration);
    tcase_add_test(t, parse_lists);
    tcase_add_test(t, parse_strings);
    tcase_add_test(t, unknown_names);
    suite_add_tcase(s, t);

    t = tcase_create("object");
    tcase_add_test(t, reset_with_null);
    tcase_add_test(t, dup_is_independent);
    tcase_add_test(t, dup_keeps_adjusted_values);
    tcase_add_test(t, dump_sorted_and_masked);
    suite_add_tcase(s, t);

    t = tcase_create("finalize");
    tcase_add_test(t, finalize_common);
    tcase_add_test(t, finalize_idempotence);
    tcase_add_test(t, finalize_delivery_timeout);
    tcase_add_test(t, finalize_consumer);
    suite_add_tcase(s, t);

    t = tcase_create("nomem");
    tcase_add_test(t, nomem_new);
    tcase_add_test(t, nomem_set);
    tcase_add_test(t, nomem_dup_and_dump);
    suite_add_tcase(s, t);
    return s;
}

KFK_CHECK_MAIN(conf_suite)
