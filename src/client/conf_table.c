/*
 * conf_table.c: every configuration property kfk knows, in one table.
 *
 * The table is the single source for parsing and validation (conf.c), the
 * cross-property rules (conf_finalize.c), kfk_conf_dump() and the reference
 * page docs/CONFIGURATION.md (generated from it by tools/gen_conf_doc; a
 * test fails when the page is stale). A property is added here and nowhere
 * else, apart from its id in conf_int.h.
 *
 * Names, meanings and defaults are the Java client's (Apache Kafka 4.0), so
 * a Kafka user's knowledge and properties files carry over. A default that
 * differs from Java's must say why in .deviation (none does). Properties
 * the Java client lacks are marked KFK__CONF_F_KFK; most come from
 * librdkafka, whose users know them (sasl.username, ssl.ca.location,
 * debug, ...). Docs are written for kfk, in our own words.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "client/conf_int.h"
#include "proto/compress.h"

#define P KFK__CLIENT_PRODUCER
#define C KFK__CLIENT_CONSUMER
#define A KFK__CLIENT_ADMIN
#define ALL KFK__CLIENT_ALL

#define HIGH KFK__CONF_HIGH
#define MEDIUM KFK__CONF_MEDIUM
#define LOW KFK__CONF_LOW

#define T_STRING KFK__CONF_T_STRING
#define T_INT KFK__CONF_T_INT
#define T_LONG KFK__CONF_T_LONG
#define T_MS KFK__CONF_T_MS
#define T_BOOL KFK__CONF_T_BOOL
#define T_ENUM KFK__CONF_T_ENUM
#define T_LIST KFK__CONF_T_LIST
#define T_DOUBLE KFK__CONF_T_DOUBLE

#define SENSITIVE KFK__CONF_F_SENSITIVE
#define KFK_ONLY KFK__CONF_F_KFK

/* Integer ranges: Java's int properties stop at INT32_MAX, long ones at
 * INT64_MAX. */
#define INT_RANGE(lo) .min = (lo), .max = INT32_MAX
#define LONG_RANGE(lo) .min = (lo), .max = INT64_MAX

/* ---- enumerated values --------------------------------------------------- */

static const kfk__conf_enum acks_vals[] = {
    {"all", KFK__ACKS_ALL, 0},
    {"-1", KFK__ACKS_ALL, 0},
    {"0", KFK__ACKS_NONE, 0},
    {"1", KFK__ACKS_LEADER, 0},
    {NULL, 0, 0},
};

static const kfk__conf_enum offset_reset_vals[] = {
    {"latest", KFK__OFFSET_RESET_LATEST, 0},
    {"earliest", KFK__OFFSET_RESET_EARLIEST, 0},
    {"none", KFK__OFFSET_RESET_NONE, 0},
    /* A name ending in ':' takes a parameter (see conf.c). */
    {"by_duration:", KFK__OFFSET_RESET_BY_DURATION, 0},
    {NULL, 0, 0},
};

static const kfk__conf_enum dns_vals[] = {
    {"use_all_dns_ips", KFK__DNS_USE_ALL_DNS_IPS, 0},
    {"resolve_canonical_bootstrap_servers_only",
     KFK__DNS_RESOLVE_CANONICAL_BOOTSTRAP_ONLY, 0},
    {NULL, 0, 0},
};

static const kfk__conf_enum codec_vals[] = {
    {"none", KFK__CODEC_NONE, 0},     {"gzip", KFK__CODEC_GZIP, 0},
    {"snappy", KFK__CODEC_SNAPPY, 0}, {"lz4", KFK__CODEC_LZ4, 0},
    {"zstd", KFK__CODEC_ZSTD, 0},     {NULL, 0, 0},
};

static const kfk__conf_enum debug_vals[] = {
    {"generic", KFK__DEBUG_GENERIC, 0},   {"broker", KFK__DEBUG_BROKER, 0},
    {"protocol", KFK__DEBUG_PROTOCOL, 0}, {"metadata", KFK__DEBUG_METADATA, 0},
    {"producer", KFK__DEBUG_PRODUCER, 0}, {"consumer", KFK__DEBUG_CONSUMER, 0},
    {"fetch", KFK__DEBUG_FETCH, 0},       {"cgrp", KFK__DEBUG_CGRP, 0},
    {"eos", KFK__DEBUG_EOS, 0},           {"admin", KFK__DEBUG_ADMIN, 0},
    {"security", KFK__DEBUG_SECURITY, 0}, {"conf", KFK__DEBUG_CONF, 0},
    {"all", KFK__DEBUG_ALL, 0},           {NULL, 0, 0},
};

static const kfk__conf_enum group_protocol_vals[] = {
    {"classic", KFK__GROUP_PROTOCOL_CLASSIC, 0},
    {"consumer", KFK__GROUP_PROTOCOL_CONSUMER, 0},
    {NULL, 0, 0},
};

static const kfk__conf_enum isolation_vals[] = {
    {"read_uncommitted", KFK__ISOLATION_READ_UNCOMMITTED, 0},
    {"read_committed", KFK__ISOLATION_READ_COMMITTED, 0},
    {NULL, 0, 0},
};

static const kfk__conf_enum recovery_vals[] = {
    {"none", KFK__METADATA_RECOVERY_NONE, 0},
    {"rebootstrap", KFK__METADATA_RECOVERY_REBOOTSTRAP, 0},
    {NULL, 0, 0},
};

/* The Java class names are accepted so Java properties files work as they
 * are. */
static const kfk__conf_enum assignor_vals[] = {
    {"range", KFK__ASSIGNOR_RANGE, 0},
    {"roundrobin", KFK__ASSIGNOR_ROUNDROBIN, 0},
    {"sticky", KFK__ASSIGNOR_STICKY, 0},
    {"cooperative-sticky", KFK__ASSIGNOR_COOPERATIVE_STICKY, 0},
    {"org.apache.kafka.clients.consumer.RangeAssignor", KFK__ASSIGNOR_RANGE, 1},
    {"org.apache.kafka.clients.consumer.RoundRobinAssignor",
     KFK__ASSIGNOR_ROUNDROBIN, 1},
    {"org.apache.kafka.clients.consumer.StickyAssignor", KFK__ASSIGNOR_STICKY,
     1},
    {"org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
     KFK__ASSIGNOR_COOPERATIVE_STICKY, 1},
    {NULL, 0, 0},
};

static const kfk__conf_enum sasl_vals[] = {
    {"GSSAPI", KFK__SASL_GSSAPI, 0},
    {"PLAIN", KFK__SASL_PLAIN, 0},
    {"SCRAM-SHA-256", KFK__SASL_SCRAM_SHA_256, 0},
    {"SCRAM-SHA-512", KFK__SASL_SCRAM_SHA_512, 0},
    {NULL, 0, 0},
};

static const kfk__conf_enum security_vals[] = {
    {"PLAINTEXT", KFK__SECURITY_PLAINTEXT, 0},
    {"SSL", KFK__SECURITY_SSL, 0},
    {"SASL_PLAINTEXT", KFK__SECURITY_SASL_PLAINTEXT, 0},
    {"SASL_SSL", KFK__SECURITY_SASL_SSL, 0},
    {NULL, 0, 0},
};

/* Java turns host name checking off with an empty string; "none" is
 * librdkafka's spelling. */
static const kfk__conf_enum endpoint_id_vals[] = {
    {"https", KFK__SSL_ENDPOINT_ID_HTTPS, 0},
    {"none", KFK__SSL_ENDPOINT_ID_NONE, 0},
    {"", KFK__SSL_ENDPOINT_ID_NONE, 1},
    {NULL, 0, 0},
};

/* ---- extra checks -------------------------------------------------------- */

/* zlib: -1 is its default level (6), 0 would store without compressing,
 * which Java refuses too. */
static int check_gzip_level(const kfk__conf_val *v, char *why, size_t size)
{
    if (v->i == -1 || (v->i >= 1 && v->i <= 9))
        return 0;
    snprintf(why, size,
             "expected -1 (zlib's default) or an integer from 1 to 9");
    return -1;
}

/* Every item must be host:port, as the broker pool will split it. */
static int check_servers(const kfk__conf_val *v, char *why, size_t size)
{
    for (int i = 0; i < v->n; i++) {
        const char *host;
        size_t len;
        int port;
        if (kfk__conf_split_hostport(v->items[i], &host, &len, &port) != 0) {
            snprintf(why, size,
                     "\"%s\" is not host:port with a port from 1 to 65535 "
                     "(IPv6 hosts go in brackets: [::1]:9092)",
                     v->items[i]);
            return -1;
        }
    }
    return 0;
}

/* The broker refuses other characters and longer ids (Java checks it in
 * the client too). */
static int check_instance_id(const kfk__conf_val *v, char *why, size_t size)
{
    if (!v->s)
        return 0;
    size_t n = strlen(v->s);
    if (n > 249) {
        snprintf(why, size, "must be at most 249 characters");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = v->s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-')) {
            snprintf(why, size,
                     "may contain only ASCII letters, digits, '.', '_' and "
                     "'-'");
            return -1;
        }
    }
    return 0;
}

/* ---- the table ----------------------------------------------------------- */

const kfk__conf_prop kfk__conf_props[KFK__CONF__COUNT] = {
    [KFK__CONF_ACKS] =
        {.name = "acks",
         .type = T_ENUM,
         .clients = P,
         .importance = LOW,
         .def = "all",
         .vals = acks_vals,
         .doc = "How many replicas must have a batch before the leader "
                "answers a produce request. `all` (or `-1`): every in-sync "
                "replica, so an acknowledged record survives the loss of the "
                "leader; `1`: the leader alone; `0`: no answer at all, so the "
                "producer cannot know whether a record arrived and never "
                "retries it. The idempotent producer needs `all`."},
    [KFK__CONF_ALLOW_AUTO_CREATE_TOPICS] =
        {.name = "allow.auto.create.topics",
         .type = T_BOOL,
         .clients = C,
         .importance = MEDIUM,
         .def = "true",
         .doc = "Whether the consumer's metadata requests may create a topic "
                "it subscribes to or assigns itself that does not exist yet. "
                "The broker must allow it too (its "
                "`auto.create.topics.enable`)."},
    [KFK__CONF_AUTO_COMMIT_INTERVAL_MS] =
        {.name = "auto.commit.interval.ms",
         .type = T_MS,
         .clients = C,
         .importance = LOW,
         .def = "5000",
         INT_RANGE(0),
         .doc = "How often the consumer commits the offsets of the records "
                "it has returned, when `enable.auto.commit` is true. Offsets "
                "are also committed on close and before a rebalance takes "
                "partitions away."},
    [KFK__CONF_AUTO_OFFSET_RESET] =
        {.name = "auto.offset.reset",
         .type = T_ENUM,
         .clients = C,
         .importance = MEDIUM,
         .def = "latest",
         .vals = offset_reset_vals,
         .doc = "Where the consumer starts in a partition when the group has "
                "no committed offset for it, or the committed offset no "
                "longer exists (deleted by retention): `latest` at the end "
                "(only new records), `earliest` at the first record still "
                "kept, `none` fails the fetch with an error instead. "
                "`by_duration:<ISO-8601 duration>` (KIP-1106), for instance "
                "`by_duration:P1D` or `by_duration:PT6H30M`, starts at the "
                "first record written within that duration before now."},
    [KFK__CONF_BATCH_SIZE] =
        {.name = "batch.size",
         .type = T_INT,
         .clients = P,
         .importance = MEDIUM,
         .def = "16384",
         INT_RANGE(0),
         .doc = "The size in bytes the producer fills a partition's batch up "
                "to before it sends it without waiting for `linger.ms`. A "
                "single record larger than this gets a batch of its own. "
                "Bigger batches compress better and cost fewer requests; "
                "each partition being written holds one open batch buffer. "
                "Without keys, the sticky partitioner moves to another "
                "partition after about this many bytes. 0 turns batching "
                "off (one record per batch)."},
    [KFK__CONF_BOOTSTRAP_SERVERS] =
        {.name = "bootstrap.servers",
         .type = T_LIST,
         .clients = ALL,
         .importance = HIGH,
         .def = "",
         .check = check_servers,
         .allowed_doc = "`host:port` items",
         .doc = "The brokers a client asks first for the cluster's metadata, "
                "as `host:port` pairs separated by commas (IPv6 addresses in "
                "brackets: `[::1]:9092`; a `scheme://` prefix is ignored). "
                "The client learns the other brokers from the metadata, so a "
                "few reachable brokers are enough; list more than one to "
                "survive one being down. Required: a client cannot be "
                "created without it."},
    [KFK__CONF_BUFFER_MEMORY] =
        {.name = "buffer.memory",
         .type = T_LONG,
         .clients = P,
         .importance = HIGH,
         .def = "33554432",
         LONG_RANGE(0),
         .doc = "How many bytes of records the producer may hold waiting to "
                "be sent or acknowledged. When it is full, a produce call "
                "waits up to `max.block.ms` for space and then fails. The "
                "producer's total memory use is somewhat higher "
                "(compression buffers, requests in flight)."},
    [KFK__CONF_CHECK_CRCS] =
        {.name = "check.crcs",
         .type = T_BOOL,
         .clients = C,
         .importance = LOW,
         .def = "true",
         .doc = "Whether the consumer verifies the CRC-32C of every record "
                "batch it fetches, catching corruption on the wire or on "
                "disk. The check is cheap (hardware CRC instructions where "
                "the CPU has them)."},
    [KFK__CONF_CLIENT_DNS_LOOKUP] =
        {.name = "client.dns.lookup",
         .type = T_ENUM,
         .clients = ALL,
         .importance = MEDIUM,
         .def = "use_all_dns_ips",
         .vals = dns_vals,
         .doc = "How broker host names are resolved. `use_all_dns_ips`: try "
                "each address a name resolves to in turn until one "
                "connects, moving to the next after a disconnect. "
                "`resolve_canonical_bootstrap_servers_only`: resolve each "
                "bootstrap name to its canonical host names first (useful "
                "with Kerberos behind a DNS alias), then behave like "
                "`use_all_dns_ips`."},
    [KFK__CONF_CLIENT_ID] =
        {.name = "client.id",
         .type = T_STRING,
         .clients = ALL,
         .importance = MEDIUM,
         .def = "",
         .doc = "A name for this client, sent with every request so that "
                "broker logs, quotas and metrics can tell applications "
                "apart. When it is not set, the client makes one up "
                "(`producer-N`, `consumer-<group>-N`, `adminclient-N`, as "
                "the Java client does)."},
    [KFK__CONF_CLIENT_RACK] =
        {.name = "client.rack",
         .type = T_STRING,
         .clients = C,
         .importance = LOW,
         .def = "",
         .doc = "The rack (or availability zone) this consumer runs in, "
                "matched against the brokers' `broker.rack`. When set, the "
                "consumer sends it with fetches (KIP-392) so that a broker "
                "configured with a rack-aware replica selector can point it "
                "to a replica in the same rack, and the consumer group "
                "protocol can place partitions near it."},
    [KFK__CONF_COMPRESSION_GZIP_LEVEL] =
        {.name = "compression.gzip.level",
         .type = T_INT,
         .clients = P,
         .importance = MEDIUM,
         .def = "-1",
         .min = -1,
         .max = 9,
         .check = check_gzip_level,
         .allowed_doc = "-1, or 1 to 9",
         .doc = "The gzip level when `compression.type` is `gzip` (KIP-390): "
                "1 is fastest, 9 smallest, -1 zlib's default (6)."},
    [KFK__CONF_COMPRESSION_LZ4_LEVEL] =
        {.name = "compression.lz4.level",
         .type = T_INT,
         .clients = P,
         .importance = MEDIUM,
         .def = "9",
         .min = 1,
         .max = 17,
         .doc = "The lz4 level when `compression.type` is `lz4` (KIP-390): "
                "1 is fastest, 17 smallest; 9 matches the Java client."},
    [KFK__CONF_COMPRESSION_TYPE] =
        {.name = "compression.type",
         .type = T_ENUM,
         .clients = P,
         .importance = HIGH,
         .def = "none",
         .vals = codec_vals,
         .doc = "How the producer compresses record batches: `none`, `gzip`, "
                "`snappy`, `lz4` or `zstd`. A whole batch is compressed at "
                "once, so larger batches (`linger.ms`, `batch.size`) "
                "compress better. Brokers store batches as they arrive "
                "unless a topic's own `compression.type` says otherwise; "
                "consumers decompress any of them whatever this says."},
    [KFK__CONF_COMPRESSION_ZSTD_LEVEL] =
        {.name = "compression.zstd.level",
         .type = T_INT,
         .clients = P,
         .importance = MEDIUM,
         .def = "3",
         .min = -131072,
         .max = 22,
         .doc = "The zstd level when `compression.type` is `zstd` (KIP-390): "
                "negative levels trade ratio for speed, 22 is smallest, 3 "
                "is zstd's default."},
    [KFK__CONF_CONNECTIONS_MAX_IDLE_MS] =
        {.name = "connections.max.idle.ms",
         .type = T_MS,
         .clients = ALL,
         .importance = MEDIUM,
         .def = "540000",
         .alt_clients = A,
         .alt_def = "300000",
         LONG_RANGE(-1),
         .doc = "Connections to a broker that carried no request for this "
                "long are closed (and opened again when needed). The "
                "producer and consumer default stays below the broker's "
                "own idle limit (10 minutes), so that the client, not the "
                "broker, closes first. -1 keeps idle connections open."},
    [KFK__CONF_DEBUG] =
        {.name = "debug",
         .type = T_LIST,
         .clients = ALL,
         .importance = MEDIUM,
         .flags = KFK_ONLY,
         .def = "",
         .vals = debug_vals,
         .doc = "Debug logging contexts to turn on, separated by commas: "
                "`generic`, `broker` (connections, version negotiation, "
                "backoff), `protocol` (every request and response), "
                "`metadata`, `producer` (batching and sending), `consumer`, "
                "`fetch`, `cgrp` (group membership and assignment), `eos` "
                "(idempotence and transactions), `admin`, `security` (TLS "
                "and SASL), `conf`, or `all`. Messages of these contexts "
                "are logged at debug level (7) whatever `log.level` says. "
                "For diagnosis: `protocol` and `all` are verbose."},
    [KFK__CONF_DEFAULT_API_TIMEOUT_MS] =
        {.name = "default.api.timeout.ms",
         .type = T_MS,
         .clients = C | A,
         .importance = MEDIUM,
         .def = "60000",
         INT_RANGE(0),
         .doc = "How long a blocking consumer or admin call (committing "
                "synchronously, looking up offsets, listing topics, ...) "
                "waits for its result when the call is not given a "
                "timeout of its own."},
    [KFK__CONF_DELIVERY_TIMEOUT_MS] =
        {.name = "delivery.timeout.ms",
         .type = T_MS,
         .clients = P,
         .importance = MEDIUM,
         .def = "120000",
         INT_RANGE(0),
         .doc = "The upper bound on the time between a produce call "
                "returning and the record's delivery report: waiting in a "
                "batch, waiting for a leader, sending, and every retry. "
                "When it runs out the record fails with a timeout. It must "
                "be at least `linger.ms` + `request.timeout.ms`; when it is "
                "not set and smaller than that, it is raised to that sum "
                "(as in Java)."},
    [KFK__CONF_ENABLE_AUTO_COMMIT] =
        {.name = "enable.auto.commit",
         .type = T_BOOL,
         .clients = C,
         .importance = MEDIUM,
         .def = "true",
         .doc = "Whether the consumer commits offsets by itself: every "
                "`auto.commit.interval.ms` in the background, up to the "
                "records returned by earlier polls (a record counts as "
                "processed once the next poll begins: at-least-once), and "
                "the positions of partitions about to be revoked and at "
                "close. Without a `group.id` there is nowhere to commit: it "
                "is then off, and setting it to true is an error."},
    [KFK__CONF_ENABLE_IDEMPOTENCE] =
        {.name = "enable.idempotence",
         .type = T_BOOL,
         .clients = P,
         .importance = LOW,
         .def = "true",
         .doc = "Whether the producer writes each record exactly once and in "
                "order per partition, even when it retries (KIP-98): it "
                "gets a producer id and numbers its batches so that the "
                "broker drops duplicates. It needs `acks=all`, `retries` "
                "above 0 and `max.in.flight.requests.per.connection` at "
                "most 5. When this property is not set and the application "
                "sets `acks` or `retries` to a conflicting value, "
                "idempotence is turned off quietly; when it is set to true, "
                "a conflict is an error. A `max.in.flight` above 5 is an "
                "error unless this is set to false (Kafka 4.0 rules)."},
    [KFK__CONF_ENABLE_METRICS_PUSH] =
        {.name = "enable.metrics.push",
         .type = T_BOOL,
         .clients = ALL,
         .importance = LOW,
         .def = "true",
         .alt_clients = A,
         .alt_def = "false",
         .doc = "Whether the client sends its metrics to the cluster when "
                "the brokers have a client metrics subscription that "
                "matches it (KIP-714). On by default for producers and "
                "consumers, off for the admin client, as in Java."},
    [KFK__CONF_ENABLE_PARTITION_EOF] =
        {.name = "enable.partition.eof",
         .type = T_BOOL,
         .clients = C,
         .importance = LOW,
         .flags = KFK_ONLY,
         .def = "false",
         .doc = "Whether the consumer tells the application (an event with "
                "KFK_ERR__PARTITION_EOF from poll) each time it reaches the "
                "end of a partition, once per arrival there. `kfk consume "
                "-e` uses it to exit at the end."},
    [KFK__CONF_EXCLUDE_INTERNAL_TOPICS] =
        {.name = "exclude.internal.topics",
         .type = T_BOOL,
         .clients = C,
         .importance = MEDIUM,
         .def = "true",
         .doc = "Whether a pattern subscription leaves out internal topics "
                "such as `__consumer_offsets`. Subscribing to an internal "
                "topic by its exact name works either way."},
    [KFK__CONF_FETCH_MAX_BYTES] =
        {.name = "fetch.max.bytes",
         .type = T_INT,
         .clients = C,
         .importance = MEDIUM,
         .def = "52428800",
         INT_RANGE(0),
         .doc = "The most record data the consumer asks a broker for in one "
                "fetch, over all partitions. Not an absolute limit: when the "
                "first batch of the first non-empty partition is larger, "
                "the broker returns it anyway so the consumer can make "
                "progress. The broker has its own cap "
                "(`message.max.bytes`, `max.message.bytes` per topic)."},
    [KFK__CONF_FETCH_MAX_WAIT_MS] =
        {.name = "fetch.max.wait.ms",
         .type = T_MS,
         .clients = C,
         .importance = LOW,
         .def = "500",
         INT_RANGE(0),
         .doc = "How long the broker may hold a fetch when it has less than "
                "`fetch.min.bytes` to return, waiting for more data."},
    [KFK__CONF_FETCH_MIN_BYTES] =
        {.name = "fetch.min.bytes",
         .type = T_INT,
         .clients = C,
         .importance = HIGH,
         .def = "1",
         INT_RANGE(0),
         .doc = "The least data the broker should return for a fetch; it "
                "waits up to `fetch.max.wait.ms` for that much. 1 answers as "
                "soon as any data is there; larger values mean fewer, "
                "bigger fetches at some latency."},
    [KFK__CONF_GROUP_ID] =
        {.name = "group.id",
         .type = T_STRING,
         .clients = C,
         .importance = HIGH,
         .def = "",
         .doc = "The consumer group this consumer belongs to. Needed to "
                "subscribe to topics (the group shares their partitions "
                "out among its members) and to commit offsets. A consumer "
                "without one can only read partitions it assigns itself."},
    [KFK__CONF_GROUP_INSTANCE_ID] =
        {.name = "group.instance.id",
         .type = T_STRING,
         .clients = C,
         .importance = MEDIUM,
         .def = "",
         .check = check_instance_id,
         .allowed_doc = "letters, digits, `.`, `_`, `-`",
         .doc = "Makes this consumer a static member of its group (KIP-345): "
                "an id unique within the group that survives restarts. A "
                "static member that leaves and comes back within "
                "`session.timeout.ms` gets its partitions back without a "
                "rebalance; it does not leave the group when it closes. "
                "Letters, digits, `.`, `_` and `-`, at most 249."},
    [KFK__CONF_GROUP_PROTOCOL] =
        {.name = "group.protocol",
         .type = T_ENUM,
         .clients = C,
         .importance = HIGH,
         .def = "classic",
         .vals = group_protocol_vals,
         .doc = "Which group protocol the consumer speaks. `classic`: "
                "JoinGroup/SyncGroup, the group leader assigns partitions "
                "with `partition.assignment.strategy`, timeouts from "
                "`session.timeout.ms` and `heartbeat.interval.ms`. "
                "`consumer` (KIP-848, brokers 4.0 and later): the broker "
                "assigns and reconciles incrementally, and the session and "
                "heartbeat timings are the group's settings on the broker, "
                "so setting those three client properties is an error "
                "there."},
    [KFK__CONF_GROUP_REMOTE_ASSIGNOR] =
        {.name = "group.remote.assignor",
         .type = T_STRING,
         .clients = C,
         .importance = MEDIUM,
         .def = "",
         .doc = "With `group.protocol=consumer`: the name of the assignor the "
                "broker should use for this group (`uniform`, `range`, or "
                "one the broker has been given). Not set: the broker's "
                "default. An error with the classic protocol."},
    [KFK__CONF_HEARTBEAT_INTERVAL_MS] =
        {.name = "heartbeat.interval.ms",
         .type = T_MS,
         .clients = C,
         .importance = HIGH,
         .def = "3000",
         INT_RANGE(1),
         .doc = "With the classic group protocol: how often the consumer "
                "tells the group coordinator it is alive, which is also how "
                "soon it learns of a rebalance. Must be below "
                "`session.timeout.ms`, usually a third of it or less."},
    [KFK__CONF_ISOLATION_LEVEL] =
        {.name = "isolation.level",
         .type = T_ENUM,
         .clients = C,
         .importance = MEDIUM,
         .def = "read_uncommitted",
         .vals = isolation_vals,
         .doc = "Which transactional records the consumer returns. "
                "`read_uncommitted`: all of them, including those of "
                "transactions still open or later aborted. "
                "`read_committed`: only records of committed transactions "
                "(and all non-transactional ones); the consumer stops at "
                "the last stable offset, before the first open "
                "transaction, and drops aborted records."},
    [KFK__CONF_LINGER_MS] =
        {.name = "linger.ms",
         .type = T_MS,
         .clients = P,
         .importance = MEDIUM,
         .def = "5",
         LONG_RANGE(0),
         .doc = "How long the producer lets a batch wait for more records "
                "before sending it, unless it fills (`batch.size`) first. A "
                "few milliseconds buy larger batches, fewer requests and "
                "better compression for little latency; 0 sends as soon as "
                "possible. The default is 5 since Kafka 4.0 (KIP-1030)."},
    [KFK__CONF_LOG_LEVEL] =
        {.name = "log.level",
         .type = T_INT,
         .clients = ALL,
         .importance = LOW,
         .flags = KFK_ONLY,
         .def = "6",
         .min = 0,
         .max = 7,
         .doc = "The most detailed log level the client reports, in syslog "
                "numbers: 0 emergency, 3 error, 4 warning, 6 info, 7 debug. "
                "Debug messages also need their context turned on in "
                "`debug`."},
    [KFK__CONF_MAX_BLOCK_MS] =
        {.name = "max.block.ms",
         .type = T_MS,
         .clients = P,
         .importance = MEDIUM,
         .def = "60000",
         LONG_RANGE(0),
         .doc = "How long a producer call may block: a produce call waiting "
                "for buffer space (`buffer.memory`) or for the topic's "
                "metadata, and the transaction calls (init, commit, abort, "
                "send offsets) waiting for the coordinator. With 0, a call "
                "that would block fails at once."},
    [KFK__CONF_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION] =
        {.name = "max.in.flight.requests.per.connection",
         .type = T_INT,
         .clients = P,
         .importance = LOW,
         .def = "5",
         INT_RANGE(1),
         .doc = "How many produce requests the producer may have unanswered "
                "on one broker connection. More than one keeps the pipe "
                "full. Without idempotence, a retry may then reorder "
                "records; the idempotent producer keeps order for up to 5, "
                "the most a broker remembers per producer, so it allows no "
                "more."},
    [KFK__CONF_MAX_PARTITION_FETCH_BYTES] =
        {.name = "max.partition.fetch.bytes",
         .type = T_INT,
         .clients = C,
         .importance = HIGH,
         .def = "1048576",
         INT_RANGE(0),
         .doc = "The most record data the consumer asks for per partition in "
                "one fetch. Like `fetch.max.bytes` it is not absolute: a "
                "first batch larger than this is still returned whole."},
    [KFK__CONF_MAX_POLL_INTERVAL_MS] =
        {.name = "max.poll.interval.ms",
         .type = T_MS,
         .clients = C,
         .importance = MEDIUM,
         .def = "300000",
         INT_RANGE(1),
         .doc = "The longest the application may go between two polls of a "
                "subscribed consumer. After that the consumer counts as "
                "stuck: it leaves the group so its partitions go to "
                "others (a static member stops heartbeating instead and is "
                "dropped after `session.timeout.ms`)."},
    [KFK__CONF_MAX_POLL_RECORDS] =
        {.name = "max.poll.records",
         .type = T_INT,
         .clients = C,
         .importance = MEDIUM,
         .def = "500",
         INT_RANGE(1),
         .doc = "The most records one poll returns. It does not change what "
                "is fetched, only how it is handed out; lower it when "
                "processing a poll's worth of records takes too long for "
                "`max.poll.interval.ms`."},
    [KFK__CONF_MAX_REQUEST_SIZE] =
        {.name = "max.request.size",
         .type = T_INT,
         .clients = P,
         .importance = MEDIUM,
         .def = "1048576",
         INT_RANGE(0),
         .doc = "The largest produce request the producer sends, in bytes, "
                "and so the largest record it accepts (after compression it "
                "may be smaller, but the check is on the uncompressed "
                "size). Brokers have their own limit (`message.max.bytes`, "
                "per topic `max.message.bytes`)."},
    [KFK__CONF_METADATA_MAX_AGE_MS] =
        {.name = "metadata.max.age.ms",
         .type = T_MS,
         .clients = ALL,
         .importance = LOW,
         .def = "300000",
         LONG_RANGE(0),
         .doc = "How old the client's cluster metadata may get before it is "
                "refreshed even though nothing went wrong, so that new "
                "brokers and partitions are found."},
    [KFK__CONF_METADATA_MAX_IDLE_MS] =
        {.name = "metadata.max.idle.ms",
         .type = T_MS,
         .clients = P,
         .importance = LOW,
         .def = "300000",
         LONG_RANGE(5000),
         .doc = "A topic the producer has not written to for this long is "
                "dropped from its metadata and fetched again on the next "
                "write."},
    [KFK__CONF_METADATA_RECOVERY_REBOOTSTRAP_TRIGGER_MS] =
        {.name = "metadata.recovery.rebootstrap.trigger.ms",
         .type = T_MS,
         .clients = ALL,
         .importance = LOW,
         .def = "300000",
         LONG_RANGE(0),
         .doc = "With `metadata.recovery.strategy=rebootstrap`: when the "
                "client has gone this long without being able to fetch "
                "metadata, it starts over from `bootstrap.servers` "
                "(KIP-1102)."},
    [KFK__CONF_METADATA_RECOVERY_STRATEGY] =
        {.name = "metadata.recovery.strategy",
         .type = T_ENUM,
         .clients = ALL,
         .importance = LOW,
         .def = "rebootstrap",
         .vals = recovery_vals,
         .doc = "What the client does when it cannot reach any broker it "
                "knows, or a broker answers REBOOTSTRAP_REQUIRED. "
                "`rebootstrap`: resolve and contact `bootstrap.servers` "
                "again, as at start (KIP-899, KIP-1102), which helps when "
                "the whole set of brokers has been replaced. `none`: keep "
                "trying the known brokers."},
    [KFK__CONF_PARTITION_ASSIGNMENT_STRATEGY] =
        {.name = "partition.assignment.strategy",
         .type = T_LIST,
         .clients = C,
         .importance = MEDIUM,
         .def = "range,cooperative-sticky",
         .vals = assignor_vals,
         .doc = "With the classic group protocol: the assignors this consumer "
                "supports, in order of preference; the group uses the first "
                "one every member supports. `range` (per topic, contiguous "
                "ranges), `roundrobin` (all partitions dealt in turn), "
                "`sticky` (balanced, moving as few partitions as possible), "
                "`cooperative-sticky` (sticky, and only moved partitions "
                "are revoked, without stopping the others: KIP-429). The "
                "Java class names are accepted too. The default lets a "
                "group move from `range` to `cooperative-sticky` with "
                "rolling restarts. An error with `group.protocol=consumer` "
                "(use `group.remote.assignor`)."},
    [KFK__CONF_PARTITIONER_ADAPTIVE_PARTITIONING_ENABLE] =
        {.name = "partitioner.adaptive.partitioning.enable",
         .type = T_BOOL,
         .clients = P,
         .importance = LOW,
         .def = "true",
         .doc = "For records without a key: whether the sticky partitioner "
                "favours partitions whose brokers keep up, choosing the "
                "next partition with weights that shrink with the amount "
                "of data already queued for it (KIP-794). Off: every "
                "partition is equally likely."},
    [KFK__CONF_PARTITIONER_AVAILABILITY_TIMEOUT_MS] =
        {.name = "partitioner.availability.timeout.ms",
         .type = T_MS,
         .clients = P,
         .importance = LOW,
         .def = "0",
         LONG_RANGE(0),
         .doc = "With adaptive partitioning: a partition whose leader has "
                "not accepted a batch for this long is skipped by the "
                "sticky partitioner until it recovers. 0 never skips."},
    [KFK__CONF_PARTITIONER_IGNORE_KEYS] =
        {.name = "partitioner.ignore.keys",
         .type = T_BOOL,
         .clients = P,
         .importance = MEDIUM,
         .def = "false",
         .doc = "When true, the producer picks partitions as if no record "
                "had a key (sticky partitioning). When false, a record with "
                "a key goes to the partition of the key's murmur2 hash, as "
                "the Java client's (so both place a key alike)."},
    [KFK__CONF_RECEIVE_BUFFER_BYTES] =
        {.name = "receive.buffer.bytes",
         .type = T_INT,
         .clients = ALL,
         .importance = MEDIUM,
         .def = "65536",
         .alt_clients = P,
         .alt_def = "32768",
         INT_RANGE(-1),
         .doc = "The socket receive buffer (SO_RCVBUF) of broker "
                "connections; -1 leaves the operating system's default "
                "(and its auto-tuning). The producer, which mostly sends, "
                "defaults to a smaller one."},
    [KFK__CONF_RECONNECT_BACKOFF_MAX_MS] =
        {.name = "reconnect.backoff.max.ms",
         .type = T_MS,
         .clients = ALL,
         .importance = LOW,
         .def = "1000",
         LONG_RANGE(0),
         .doc = "The ceiling of the reconnect backoff: the wait after each "
                "failed connection to a broker doubles from "
                "`reconnect.backoff.ms` up to this, with 20% random jitter "
                "so that clients do not reconnect in step. When only "
                "`reconnect.backoff.ms` is set, this takes its value "
                "(constant backoff), as in Java."},
    [KFK__CONF_RECONNECT_BACKOFF_MS] =
        {.name = "reconnect.backoff.ms",
         .type = T_MS,
         .clients = ALL,
         .importance = LOW,
         .def = "50",
         LONG_RANGE(0),
         .doc = "The first wait before reconnecting to a broker after a "
                "connection failed; see `reconnect.backoff.max.ms`."},
    [KFK__CONF_REQUEST_TIMEOUT_MS] =
        {.name = "request.timeout.ms",
         .type = T_MS,
         .clients = ALL,
         .importance = MEDIUM,
         .def = "30000",
         INT_RANGE(0),
         .doc = "How long the client waits for a broker's answer to one "
                "request. On timeout the request fails and may be retried "
                "(the producer within `delivery.timeout.ms`), and the "
                "connection is closed, since its answers can no longer be "
                "trusted to come in order."},
    [KFK__CONF_RETRIES] =
        {.name = "retries",
         .type = T_INT,
         .clients = P | A,
         .importance = HIGH,
         .def = "2147483647",
         INT_RANGE(0),
         .doc = "How many times a request that failed with a retriable "
                "error is sent again. For the producer, "
                "`delivery.timeout.ms` is the better bound (it also ends "
                "retries), so this is normally left at its maximum. 0 "
                "reports the first error instead; it turns off "
                "idempotence unless `enable.idempotence` is set, in which "
                "case it is an error."},
    [KFK__CONF_RETRY_BACKOFF_MAX_MS] =
        {.name = "retry.backoff.max.ms",
         .type = T_MS,
         .clients = ALL,
         .importance = LOW,
         .def = "1000",
         LONG_RANGE(0),
         .doc = "The ceiling of the retry backoff (KIP-580): the wait before "
                "each retry of a failed request doubles from "
                "`retry.backoff.ms` up to this, with 20% random jitter. When "
                "`retry.backoff.ms` is larger, it is a constant backoff of "
                "this value."},
    [KFK__CONF_RETRY_BACKOFF_MS] =
        {.name = "retry.backoff.ms",
         .type = T_MS,
         .clients = ALL,
         .importance = LOW,
         .def = "100",
         LONG_RANGE(0),
         .doc = "The first wait before retrying a failed request (or "
                "refreshing metadata after an error); see "
                "`retry.backoff.max.ms`."},
    [KFK__CONF_SASL_KERBEROS_KINIT_CMD] =
        {.name = "sasl.kerberos.kinit.cmd",
         .type = T_STRING,
         .clients = ALL,
         .importance = LOW,
         .def = "/usr/bin/kinit",
         .doc = "With `sasl.mechanism=GSSAPI`: the command that renews the "
                "Kerberos ticket in the credential cache."},
    [KFK__CONF_SASL_KERBEROS_MIN_TIME_BEFORE_RELOGIN] =
        {.name = "sasl.kerberos.min.time.before.relogin",
         .type = T_MS,
         .clients = ALL,
         .importance = LOW,
         .def = "60000",
         LONG_RANGE(0),
         .doc = "With GSSAPI: the shortest time between two ticket "
                "renewals."},
    [KFK__CONF_SASL_KERBEROS_SERVICE_NAME] =
        {.name = "sasl.kerberos.service.name",
         .type = T_STRING,
         .clients = ALL,
         .importance = MEDIUM,
         .def = "",
         .doc = "With GSSAPI: the Kerberos principal name the brokers run "
                "as (the `kafka` of `kafka/broker1.example.com@REALM`). "
                "Required for GSSAPI."},
    [KFK__CONF_SASL_KERBEROS_TICKET_RENEW_JITTER] =
        {.name = "sasl.kerberos.ticket.renew.jitter",
         .type = T_DOUBLE,
         .clients = ALL,
         .importance = LOW,
         .def = "0.05",
         .dmin = 0.0,
         .dmax = 1.0,
         .doc = "With GSSAPI: a random fraction, up to this, added to the "
                "renewal time so that many clients do not renew at once."},
    [KFK__CONF_SASL_KERBEROS_TICKET_RENEW_WINDOW_FACTOR] =
        {.name = "sasl.kerberos.ticket.renew.window.factor",
         .type = T_DOUBLE,
         .clients = ALL,
         .importance = LOW,
         .def = "0.8",
         .dmin = 0.0,
         .dmax = 1.0,
         .doc = "With GSSAPI: the ticket is renewed once this fraction of "
                "its lifetime has passed."},
    [KFK__CONF_SASL_MECHANISM] =
        {.name = "sasl.mechanism",
         .type = T_ENUM,
         .clients = ALL,
         .importance = MEDIUM,
         .def = "GSSAPI",
         .vals = sasl_vals,
         .doc = "The SASL mechanism used when `security.protocol` is "
                "`SASL_PLAINTEXT` or `SASL_SSL`: `GSSAPI` (Kerberos), "
                "`PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`. PLAIN sends "
                "the password as it is, so use it only over TLS. Case does "
                "not matter."},
    [KFK__CONF_SASL_PASSWORD] =
        {.name = "sasl.password",
         .type = T_STRING,
         .clients = ALL,
         .importance = HIGH,
         .flags = SENSITIVE | KFK_ONLY,
         .def = "",
         .doc = "The password for PLAIN and SCRAM, which need it with "
                "`sasl.username`; Java clients put both in "
                "`sasl.jaas.config`, which kfk does not have. Kept as given "
                "(no whitespace is trimmed) and hidden in dumps."},
    [KFK__CONF_SASL_USERNAME] =
        {.name = "sasl.username",
         .type = T_STRING,
         .clients = ALL,
         .importance = HIGH,
         .flags = KFK_ONLY,
         .def = "",
         .doc = "The user name for PLAIN and SCRAM; those mechanisms need "
                "it and `sasl.password`."},
    [KFK__CONF_SECURITY_PROTOCOL] =
        {.name = "security.protocol",
         .type = T_ENUM,
         .clients = ALL,
         .importance = MEDIUM,
         .def = "PLAINTEXT",
         .vals = security_vals,
         .doc = "How the client talks to brokers: `PLAINTEXT` (plain TCP), "
                "`SSL` (TLS), `SASL_PLAINTEXT` (SASL authentication over "
                "plain TCP) or `SASL_SSL` (SASL over TLS). Case does not "
                "matter."},
    [KFK__CONF_SEND_BUFFER_BYTES] =
        {.name = "send.buffer.bytes",
         .type = T_INT,
         .clients = ALL,
         .importance = MEDIUM,
         .def = "131072",
         INT_RANGE(-1),
         .doc = "The socket send buffer (SO_SNDBUF) of broker connections; "
                "-1 leaves the operating system's default (and its "
                "auto-tuning)."},
    [KFK__CONF_SESSION_TIMEOUT_MS] =
        {.name = "session.timeout.ms",
         .type = T_MS,
         .clients = C,
         .importance = HIGH,
         .def = "45000",
         INT_RANGE(1),
         .doc = "With the classic group protocol: a consumer whose "
                "heartbeats stop for this long is dropped from the group "
                "and its partitions are given to others. Shorter finds dead "
                "consumers sooner; longer survives pauses (and restarts of "
                "static members). The broker bounds it "
                "(`group.min.session.timeout.ms`, "
                "`group.max.session.timeout.ms`)."},
    [KFK__CONF_SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS] =
        {.name = "socket.connection.setup.timeout.max.ms",
         .type = T_MS,
         .clients = ALL,
         .importance = MEDIUM,
         .def = "30000",
         LONG_RANGE(0),
         .doc = "The ceiling of the connection setup timeout: after each "
                "connection attempt to a broker that timed out, the next "
                "one may take twice as long, up to this, with 20% random "
                "jitter. When `socket.connection.setup.timeout.ms` is "
                "larger, it is a constant timeout of this value."},
    [KFK__CONF_SOCKET_CONNECTION_SETUP_TIMEOUT_MS] =
        {.name = "socket.connection.setup.timeout.ms",
         .type = T_MS,
         .clients = ALL,
         .importance = MEDIUM,
         .def = "10000",
         LONG_RANGE(0),
         .doc = "How long a connection to a broker may take to be "
                "established (TCP, and TLS and SASL where used) before the "
                "attempt is given up; see "
                "`socket.connection.setup.timeout.max.ms`."},
    [KFK__CONF_SSL_CA_LOCATION] =
        {.name = "ssl.ca.location",
         .type = T_STRING,
         .clients = ALL,
         .importance = HIGH,
         .flags = KFK_ONLY,
         .def = "",
         .doc = "A PEM file (or a directory of hashed PEM files) of the "
                "certificate authorities trusted to sign broker "
                "certificates; Java clients use `ssl.truststore.*` instead. "
                "Not set: the system's trust store."},
    [KFK__CONF_SSL_CERTIFICATE_LOCATION] =
        {.name = "ssl.certificate.location",
         .type = T_STRING,
         .clients = ALL,
         .importance = HIGH,
         .flags = KFK_ONLY,
         .def = "",
         .doc = "A PEM file with the client's certificate (and any "
                "intermediates), for brokers that authenticate clients by "
                "TLS certificate; goes with `ssl.key.location`. Java "
                "clients use `ssl.keystore.*` instead."},
    [KFK__CONF_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM] =
        {.name = "ssl.endpoint.identification.algorithm",
         .type = T_ENUM,
         .clients = ALL,
         .importance = LOW,
         .def = "https",
         .vals = endpoint_id_vals,
         .doc = "`https`: check that a broker's certificate names the host "
                "the client connected to (as a web browser does). `none` "
                "(or an empty value, Java's way): do not check, which lets "
                "anyone with a certificate from a trusted authority pose "
                "as a broker."},
    [KFK__CONF_SSL_KEY_LOCATION] =
        {.name = "ssl.key.location",
         .type = T_STRING,
         .clients = ALL,
         .importance = HIGH,
         .flags = KFK_ONLY,
         .def = "",
         .doc = "A PEM file with the private key of "
                "`ssl.certificate.location`, encrypted with "
                "`ssl.key.password` or not encrypted."},
    [KFK__CONF_SSL_KEY_PASSWORD] =
        {.name = "ssl.key.password",
         .type = T_STRING,
         .clients = ALL,
         .importance = HIGH,
         .flags = SENSITIVE,
         .def = "",
         .doc = "The password that decrypts the private key in "
                "`ssl.key.location`. Kept as given (no whitespace is "
                "trimmed) and hidden in dumps."},
    [KFK__CONF_STATISTICS_INTERVAL_MS] =
        {.name = "statistics.interval.ms",
         .type = T_MS,
         .clients = ALL,
         .importance = HIGH,
         .flags = KFK_ONLY,
         .def = "0",
         .min = 0,
         .max = 86400000,
         .doc = "How often the client hands the application a statistics "
                "report (brokers, request latencies, queues, partitions) "
                "through its poll call. 0 turns reports off."},
    [KFK__CONF_TRANSACTION_TIMEOUT_MS] =
        {.name = "transaction.timeout.ms",
         .type = T_MS,
         .clients = P,
         .importance = LOW,
         .def = "60000",
         INT_RANGE(1),
         .doc = "How long a transaction may stay open, counted from its "
                "first write, before the transaction coordinator aborts it. "
                "Sent to the coordinator when the producer initializes; it "
                "refuses values above its `transaction.max.timeout.ms`."},
    [KFK__CONF_TRANSACTIONAL_ID] =
        {.name = "transactional.id",
         .type = T_STRING,
         .clients = P,
         .importance = LOW,
         .def = "",
         .doc = "Enables transactions: an id, stable across restarts of the "
                "application instance, under which the producer writes "
                "atomically to several partitions and commits consumer "
                "offsets with them (exactly-once). A new producer with the "
                "same id fences the old one and finishes its open "
                "transaction. Needs idempotence (an error when "
                "`enable.idempotence` is false or turned off by a "
                "conflicting setting)."},
};
