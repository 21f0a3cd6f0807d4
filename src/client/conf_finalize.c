/*
 * conf_finalize.c: the rules that involve more than one property.
 *
 * kfk_conf_set() checks each value on its own; whether acks=1 may go with
 * enable.idempotence, or heartbeat.interval.ms with session.timeout.ms,
 * depends on the whole configuration and on which client it is for, so it
 * is decided here, when a client is created. The rules are the Java
 * client's (Kafka 4.0: ProducerConfig, ConsumerConfig, CommonClientConfigs
 * and KafkaProducer), including its habit of adjusting a value the
 * application did not set rather than failing: a Java user moving to kfk
 * must get the same answer for the same properties. Each error names every
 * property involved and says how to resolve the conflict.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "client/conf_int.h"

static kfk_err_t fail(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static kfk_err_t fail(char *errstr, size_t size, const char *fmt, ...)
{
    if (errstr && size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, size, fmt, ap);
        va_end(ap);
    }
    return KFK_ERR__INVALID_CONFIG;
}

#define I(id) kfk__conf_int(conf, KFK__CONF_##id)
#define SET(id) kfk__conf_is_set(conf, KFK__CONF_##id)
#define STR(id) kfk__conf_str(conf, KFK__CONF_##id)

/* Defaults that differ by client kind, for properties left unset. */
static kfk_err_t kind_defaults(kfk_conf_t *conf, kfk__client_kind kind)
{
    for (int id = 0; id < (int)KFK__CONF__COUNT; id++) {
        const kfk__conf_prop *p = &kfk__conf_props[id];
        if (!p->alt_def || !(p->alt_clients & kind) || conf->set[id])
            continue;
        kfk__conf_val v;
        kfk_err_t err =
            kfk__conf_parse((kfk__conf_id)id, p->alt_def, &v, NULL, 0);
        if (err != KFK_ERR_NONE)
            return err;
        kfk__conf_val_clear(&conf->v[id]);
        conf->v[id] = v;
    }
    return KFK_ERR_NONE;
}

static kfk_err_t common_rules(kfk_conf_t *conf, char *errstr, size_t size)
{
    if (kfk__conf_list(conf, KFK__CONF_BOOTSTRAP_SERVERS, NULL) == NULL)
        return fail(errstr, size,
                    "bootstrap.servers is required: set it to one or more "
                    "brokers to start from, as host:port[,host:port...]");

    int64_t proto = I(SECURITY_PROTOCOL);
    if (proto == KFK__SECURITY_SASL_PLAINTEXT ||
        proto == KFK__SECURITY_SASL_SSL) {
        int64_t mech = I(SASL_MECHANISM);
        if (mech == KFK__SASL_GSSAPI && !STR(SASL_KERBEROS_SERVICE_NAME))
            return fail(errstr, size,
                        "sasl.mechanism=GSSAPI (the default) needs "
                        "sasl.kerberos.service.name, the brokers' Kerberos "
                        "principal name (such as \"kafka\"); for user names "
                        "and passwords set sasl.mechanism to PLAIN or "
                        "SCRAM-SHA-256/512");
        if (mech != KFK__SASL_GSSAPI &&
            (!STR(SASL_USERNAME) || !STR(SASL_PASSWORD))) {
            char name[32];
            kfk__conf_format(conf, KFK__CONF_SASL_MECHANISM, name,
                             sizeof(name));
            return fail(errstr, size,
                        "sasl.mechanism=%s needs both sasl.username and "
                        "sasl.password",
                        name);
        }
    }
    if (proto == KFK__SECURITY_SSL || proto == KFK__SECURITY_SASL_SSL) {
        if (!STR(SSL_CERTIFICATE_LOCATION) != !STR(SSL_KEY_LOCATION))
            return fail(errstr, size,
                        "ssl.certificate.location and ssl.key.location go "
                        "together: set both (client certificate "
                        "authentication) or neither");
    }

    /* Java: an explicit reconnect.backoff.ms without a maximum means a
     * constant backoff. */
    if (SET(RECONNECT_BACKOFF_MS) && !SET(RECONNECT_BACKOFF_MAX_MS))
        conf->v[KFK__CONF_RECONNECT_BACKOFF_MAX_MS].i = I(RECONNECT_BACKOFF_MS);
    return KFK_ERR_NONE;
}

/* ProducerConfig.postProcessAndValidateIdempotenceConfigs (Kafka 4.0). */
static kfk_err_t idempotence_rules(kfk_conf_t *conf, char *errstr, size_t size)
{
    int explicit_idem = SET(ENABLE_IDEMPOTENCE);
    int idem = I(ENABLE_IDEMPOTENCE) != 0;
    const char *off = NULL; /* why idempotence was turned off */

    if (idem) {
        if (I(RETRIES) == 0) {
            if (explicit_idem)
                return fail(errstr, size,
                            "enable.idempotence=true conflicts with "
                            "retries=0: the idempotent producer must be "
                            "able to retry; set retries above 0 or "
                            "enable.idempotence=false");
            off = "retries=0";
        }
        if (I(ACKS) != KFK__ACKS_ALL) {
            if (explicit_idem)
                return fail(errstr, size,
                            "enable.idempotence=true conflicts with "
                            "acks=%" PRId64 ": the idempotent producer needs "
                            "acks=all; set acks=all or "
                            "enable.idempotence=false",
                            I(ACKS));
            off = I(ACKS) == 0 ? "acks=0" : "acks=1";
        }
        /* Since 4.0 an error even when idempotence is only the default
         * (KAFKA-17927): the broker remembers 5 batches per producer. */
        if (I(MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION) > 5)
            return fail(errstr, size,
                        "max.in.flight.requests.per.connection=%" PRId64
                        " conflicts with enable.idempotence=true%s: the "
                        "idempotent producer allows at most 5; set it to 5 "
                        "or less, or set enable.idempotence=false",
                        I(MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION),
                        explicit_idem ? "" : " (the default)");
    }
    if (off) {
        conf->v[KFK__CONF_ENABLE_IDEMPOTENCE].i = 0;
        idem = 0;
    }
    if (STR(TRANSACTIONAL_ID) && !idem) {
        if (off)
            return fail(errstr, size,
                        "transactional.id needs the idempotent producer, "
                        "which %s rules out; change %s or remove "
                        "transactional.id",
                        off, off);
        return fail(errstr, size,
                    "transactional.id conflicts with "
                    "enable.idempotence=false: transactions need the "
                    "idempotent producer");
    }
    return KFK_ERR_NONE;
}

/* KafkaProducer.configureDeliveryTimeout (Kafka 4.0). */
static kfk_err_t delivery_timeout_rule(kfk_conf_t *conf, char *errstr,
                                       size_t size)
{
    int64_t linger = I(LINGER_MS) > INT32_MAX ? INT32_MAX : I(LINGER_MS);
    int64_t floor = linger + I(REQUEST_TIMEOUT_MS);
    if (floor > INT32_MAX)
        floor = INT32_MAX;
    if (I(DELIVERY_TIMEOUT_MS) >= floor)
        return KFK_ERR_NONE;
    if (SET(DELIVERY_TIMEOUT_MS))
        return fail(errstr, size,
                    "delivery.timeout.ms=%" PRId64 " must be at least "
                    "linger.ms + request.timeout.ms (%" PRId64 " + %" PRId64
                    " = %" PRId64 ")",
                    I(DELIVERY_TIMEOUT_MS), I(LINGER_MS), I(REQUEST_TIMEOUT_MS),
                    floor);
    conf->v[KFK__CONF_DELIVERY_TIMEOUT_MS].i = floor;
    return KFK_ERR_NONE;
}

static kfk_err_t consumer_rules(kfk_conf_t *conf, char *errstr, size_t size)
{
    if (I(GROUP_PROTOCOL) == KFK__GROUP_PROTOCOL_CONSUMER) {
        /* KIP-848: the broker decides these (KAFKA-17338, KAFKA-18156). */
        static const struct {
            kfk__conf_id id;
            const char *instead;
        } classic_only[] = {
            {KFK__CONF_PARTITION_ASSIGNMENT_STRATEGY,
             "use group.remote.assignor to choose the broker's assignor"},
            {KFK__CONF_SESSION_TIMEOUT_MS,
             "the broker's group.consumer.session.timeout.ms applies"},
            {KFK__CONF_HEARTBEAT_INTERVAL_MS,
             "the broker's group.consumer.heartbeat.interval.ms applies"},
        };
        for (size_t i = 0; i < sizeof(classic_only) / sizeof(classic_only[0]);
             i++)
            if (kfk__conf_is_set(conf, classic_only[i].id))
                return fail(errstr, size,
                            "%s cannot be set when group.protocol=consumer: "
                            "%s",
                            kfk__conf_props[classic_only[i].id].name,
                            classic_only[i].instead);
    } else if (STR(GROUP_REMOTE_ASSIGNOR)) {
        return fail(errstr, size,
                    "group.remote.assignor cannot be set when "
                    "group.protocol=classic: it is for "
                    "group.protocol=consumer");
    }

    if (!STR(GROUP_ID)) {
        if (SET(ENABLE_AUTO_COMMIT) && I(ENABLE_AUTO_COMMIT))
            return fail(errstr, size,
                        "enable.auto.commit=true needs a group.id: without "
                        "a group there is nowhere to commit offsets");
        conf->v[KFK__CONF_ENABLE_AUTO_COMMIT].i = 0;
    } else if (I(GROUP_PROTOCOL) == KFK__GROUP_PROTOCOL_CLASSIC &&
               I(HEARTBEAT_INTERVAL_MS) >= I(SESSION_TIMEOUT_MS)) {
        return fail(errstr, size,
                    "heartbeat.interval.ms (%" PRId64 ") must be lower than "
                    "session.timeout.ms (%" PRId64 ")",
                    I(HEARTBEAT_INTERVAL_MS), I(SESSION_TIMEOUT_MS));
    }
    return KFK_ERR_NONE;
}

kfk_err_t kfk__conf_finalize(kfk_conf_t *conf, kfk__client_kind kind,
                             char *errstr, size_t errstr_size)
{
    kfk_err_t err = kind_defaults(conf, kind);
    if (err != KFK_ERR_NONE)
        return err;
    err = common_rules(conf, errstr, errstr_size);
    if (err == KFK_ERR_NONE && kind == KFK__CLIENT_PRODUCER) {
        err = idempotence_rules(conf, errstr, errstr_size);
        if (err == KFK_ERR_NONE)
            err = delivery_timeout_rule(conf, errstr, errstr_size);
    }
    if (err == KFK_ERR_NONE && kind == KFK__CLIENT_CONSUMER)
        err = consumer_rules(conf, errstr, errstr_size);
    return err;
}
