/*
 * conf.c: the configuration object: text in, typed values out.
 *
 * Applications speak configuration as name/value strings (that is what
 * properties files, command lines and language bindings have), while the
 * library wants an int64 for linger.ms and an enum for acks on paths that
 * run per record. So every value is parsed and checked once, when it is
 * set, into a typed slot indexed by property id (conf_int.h), driven by
 * the table in conf_table.c; reading is an array index. Mistakes are
 * reported at kfk_conf_set() with the property's name and what it allows,
 * and unknown names get a "did you mean" from the closest known name.
 *
 * Parsing is locale-independent (a German LC_NUMERIC must not turn 0.8
 * into an error), and every allocation goes through kfk__malloc so tests
 * can fail each one.
 */
/* strtod_l, newlocale and uselocale need _GNU_SOURCE (set by meson). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/conf_int.h"
#include "common/alloc.h"

#define NPROPS ((int)KFK__CONF__COUNT)

static void errset(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errset(char *errstr, size_t size, const char *fmt, ...)
{
    if (!errstr || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, size, fmt, ap);
    va_end(ap);
}

/* ---- lookup -------------------------------------------------------------- */

int kfk__conf_find(const char *name)
{
    int lo = 0, hi = NPROPS - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, kfk__conf_props[mid].name);
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

/* Optimal string alignment distance (Levenshtein plus adjacent swaps),
 * case-insensitive; stops counting at cap. Names are short, so three rows
 * on the stack are enough; longer input is simply not matched. */
#define DIST_MAX_LEN 96

static int edit_distance(const char *a, const char *b, int cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la >= DIST_MAX_LEN || lb >= DIST_MAX_LEN)
        return cap;
    int rows[3][DIST_MAX_LEN + 1];
    int *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        int best = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]);
            int cb = tolower((unsigned char)b[j - 1]);
            int d = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < d)
                d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < d)
                d = pp[j - 2] + 1;
            cur[j] = d;
            if (d < best)
                best = d;
        }
        if (best >= cap)
            return cap;
        int *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb] < cap ? prev[lb] : cap;
}

/* The closest of n candidate names to s, or NULL when none is close
 * enough to be a likely typo: at most 2 edits, or a quarter of the length
 * for long names. */
static const char *closest(const char *s, const char *const *names, size_t n)
{
    size_t len = strlen(s);
    int limit = (int)(len / 4 > 2 ? len / 4 : 2);
    const char *best = NULL;
    int best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        int d = edit_distance(s, names[i], best_d);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best;
}

/* Names other clients use, with what to do in kfk instead: the Java
 * client's class-based properties, and librdkafka's names where the Java
 * name is kfk's. */
static const struct {
    const char *name;
    const char *use;  /* a kfk property to suggest, or NULL */
    const char *note; /* or why there is none */
} foreign[] = {
    {"compression.codec", "compression.type", NULL},
    {"config.providers", NULL, "a Java client property with no kfk equivalent"},
    {"interceptor.classes", NULL, "Java interceptors have no kfk equivalent"},
    {"key.deserializer", NULL,
     "kfk hands keys and values over as bytes: deserialize them in the "
     "application"},
    {"key.serializer", NULL,
     "kfk takes keys and values as bytes: serialize them in the application"},
    {"max.in.flight", "max.in.flight.requests.per.connection", NULL},
    {"message.max.bytes", "max.request.size", NULL},
    {"message.timeout.ms", "delivery.timeout.ms", NULL},
    {"metadata.broker.list", "bootstrap.servers", NULL},
    {"metric.reporters", NULL,
     "Java metric reporters have no kfk equivalent; see "
     "statistics.interval.ms"},
    {"partitioner.class", NULL,
     "kfk's partitioner is the Java default one; see partitioner.ignore.keys"},
    {"queue.buffering.max.kbytes", "buffer.memory", NULL},
    {"queue.buffering.max.ms", "linger.ms", NULL},
    {"request.required.acks", "acks", NULL},
    {"sasl.jaas.config", NULL,
     "kfk has no JAAS: use sasl.username and sasl.password (PLAIN, SCRAM) "
     "or sasl.kerberos.* (GSSAPI)"},
    {"security.providers", NULL,
     "a Java client property with no kfk equivalent"},
    {"socket.timeout.ms", "request.timeout.ms", NULL},
    {"ssl.keystore.location", NULL,
     "kfk reads PEM files: use ssl.certificate.location and ssl.key.location"},
    {"ssl.truststore.location", NULL,
     "kfk reads PEM files: use ssl.ca.location"},
    {"topic.metadata.refresh.interval.ms", "metadata.max.age.ms", NULL},
    {"value.deserializer", NULL,
     "kfk hands keys and values over as bytes: deserialize them in the "
     "application"},
    {"value.serializer", NULL,
     "kfk takes keys and values as bytes: serialize them in the application"},
};

static void unknown_name(const char *name, char *errstr, size_t size)
{
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        if (strcmp(name, foreign[i].name) != 0)
            continue;
        if (foreign[i].use)
            errset(errstr, size,
                   "Unknown configuration property \"%s\" (did you mean "
                   "\"%s\"?)",
                   name, foreign[i].use);
        else
            errset(errstr, size, "Unknown configuration property \"%s\": %s",
                   name, foreign[i].note);
        return;
    }
    const char *names[KFK__CONF__COUNT];
    for (int i = 0; i < NPROPS; i++)
        names[i] = kfk__conf_props[i].name;
    const char *best = closest(name, names, (size_t)NPROPS);
    if (best)
        errset(errstr, size,
               "Unknown configuration property \"%s\" (did you mean \"%s\"?)",
               name, best);
    else
        errset(errstr, size, "Unknown configuration property \"%s\"", name);
}

/* ---- parsing ------------------------------------------------------------- */

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' ||
           ch == '\v';
}

/* [*b, *e) loses surrounding whitespace. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_space(**b))
        (*b)++;
    while (*e > *b && is_space((*e)[-1]))
        (*e)--;
}

/* Decimal integer, optional sign, nothing else. 0 or -1 (not a number or
 * beyond int64). */
static int parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return -1;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* A finite double in the C locale's notation, whatever the process locale
 * is. The C locale object is static in glibc: newlocale does not allocate
 * for it. */
static int parse_double(const char *s, double *out)
{
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    char *end;
    errno = 0;
    double d = c ? strtod_l(s, &end, c) : strtod(s, &end);
    if (c)
        freelocale(c);
    if (end == s || *end != '\0' || !isfinite(d) ||
        (errno == ERANGE && fabs(d) == HUGE_VAL))
        return -1;
    *out = d;
    return 0;
}

/* The shortest text that reads back as d (C locale). */
static size_t format_double(double d, char *buf, size_t size)
{
    char tmp[40];
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t old = c ? uselocale(c) : (locale_t)0;
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    if (c) {
        uselocale(old);
        freelocale(c);
    }
    return (size_t)snprintf(buf, size, "%s", tmp);
}

/* ISO-8601 duration as java.time.Duration writes it, without signs:
 * P[nD][T[nH][nM][n[.fff]S]], letters in either case, at least one part.
 * Milliseconds into *ms; 0 or -1. */
static int parse_iso_duration(const char *s, const char *end, int64_t *ms)
{
    static const int64_t unit_ms[] = {86400000, 3600000, 60000, 1000};
    static const char units[] = "DHMS";
    const char *p = s;
    int64_t total = 0;
    int parts = 0, in_time = 0, next_unit = 0;
    if (p == end || toupper((unsigned char)*p) != 'P')
        return -1;
    p++;
    while (p < end) {
        if (toupper((unsigned char)*p) == 'T') {
            if (in_time)
                return -1;
            in_time = 1;
            next_unit = 1;
            p++;
            if (p == end)
                return -1; /* "PT" names no part */
            continue;
        }
        if (*p < '0' || *p > '9')
            return -1;
        int64_t n = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (n > (INT64_MAX - 9) / 10)
                return -1;
            n = n * 10 + (*p++ - '0');
        }
        int64_t frac_ms = 0;
        if (p < end && (*p == '.' || *p == ',')) {
            p++;
            int digits = 0;
            while (p < end && *p >= '0' && *p <= '9') {
                if (digits < 3)
                    frac_ms = frac_ms * 10 + (*p - '0');
                digits++;
                p++;
            }
            if (digits == 0 || digits > 9 || p == end ||
                toupper((unsigned char)*p) != 'S')
                return -1;
            for (int k = digits; k < 3; k++)
                frac_ms *= 10;
        }
        if (p == end || *p == '\0')
            return -1;
        const char *u = strchr(units, toupper((unsigned char)*p));
        if (!u)
            return -1;
        int idx = (int)(u - units);
        /* Days only before T, hours/minutes/seconds only after, in order. */
        if ((idx == 0) == in_time || idx < next_unit)
            return -1;
        next_unit = idx + 1;
        if (n > (INT64_MAX - total - frac_ms) / unit_ms[idx])
            return -1;
        total += n * unit_ms[idx] + frac_ms;
        parts++;
        p++;
    }
    if (!parts)
        return -1;
    *ms = total;
    return 0;
}

/* A name ending in ':' takes a parameter after it. */
static int takes_param(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && name[n - 1] == ':';
}

/* The table entry for text [b, e) (case-insensitive), or NULL; *param is
 * set to the text after a parameterized prefix. */
static const kfk__conf_enum *enum_find(const kfk__conf_enum *vals,
                                       const char *b, size_t n,
                                       const char **param)
{
    for (const kfk__conf_enum *v = vals; v->name; v++) {
        size_t vn = strlen(v->name);
        if (takes_param(v->name)) {
            if (n >= vn && strncasecmp(b, v->name, vn) == 0) {
                *param = b + vn;
                return v;
            }
        } else if (vn == n && strncasecmp(b, v->name, n) == 0) {
            *param = NULL;
            return v;
        }
    }
    return NULL;
}

/* The canonical name of an enum value: the first entry that has it. */
static const char *enum_name(const kfk__conf_enum *vals, int64_t value)
{
    for (const kfk__conf_enum *v = vals; v->name; v++)
        if (v->value == value)
            return v->name;
    return "?";
}

int kfk__conf_enum_value(kfk__conf_id id, const char *name, int64_t *value)
{
    const kfk__conf_enum *vals = kfk__conf_props[id].vals;
    const char *param;
    if (!vals)
        return -1;
    const kfk__conf_enum *v = enum_find(vals, name, strlen(name), &param);
    if (!v || takes_param(v->name))
        return -1;
    *value = v->value;
    return 0;
}

/* "one of a, b, c" listing the visible names, into buf. */
static void enum_list(const kfk__conf_enum *vals, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (const kfk__conf_enum *v = vals; v->name; v++) {
        if (v->hidden)
            continue;
        int w =
            snprintf(buf + off, size - off, "%s%s%s", off ? ", " : "", v->name,
                     takes_param(v->name) ? "<ISO-8601 duration>" : "");
        if (w < 0 || (size_t)w >= size - off)
            return;
        off += (size_t)w;
    }
}

/* What a property accepts, for messages: "an integer from 0 to 22". */
static void describe(const kfk__conf_prop *p, char *buf, size_t size)
{
    const char *what =
        p->type == KFK__CONF_T_MS ? "a duration in milliseconds" : "an integer";
    char list[512];
    switch (p->type) {
    case KFK__CONF_T_INT:
    case KFK__CONF_T_LONG:
    case KFK__CONF_T_MS:
        if (p->max == INT64_MAX)
            snprintf(buf, size, "%s of at least %" PRId64, what, p->min);
        else if (p->max == INT32_MAX)
            snprintf(buf, size,
                     "%s of at least %" PRId64 " (at most %" PRId64 ")", what,
                     p->min, p->max);
        else
            snprintf(buf, size, "%s from %" PRId64 " to %" PRId64, what, p->min,
                     p->max);
        break;
    case KFK__CONF_T_DOUBLE: {
        char lo[40], hi[40];
        format_double(p->dmin, lo, sizeof(lo));
        format_double(p->dmax, hi, sizeof(hi));
        snprintf(buf, size, "a number from %s to %s", lo, hi);
        break;
    }
    case KFK__CONF_T_BOOL:
        snprintf(buf, size, "true or false");
        break;
    case KFK__CONF_T_ENUM:
        enum_list(p->vals, list, sizeof(list));
        snprintf(buf, size, "one of %s", list);
        break;
    case KFK__CONF_T_LIST:
        if (p->vals) {
            enum_list(p->vals, list, sizeof(list));
            snprintf(buf, size, "a comma-separated list of %s", list);
        } else {
            snprintf(buf, size, "a comma-separated list");
        }
        break;
    case KFK__CONF_T_STRING:
        snprintf(buf, size, "a string");
        break;
    }
}

/* "Invalid value ... : <why>"; why NULL says what the property expects. */
static kfk_err_t bad_value(const kfk__conf_prop *p, const char *b, size_t n,
                           const char *why, char *errstr, size_t size)
{
    char desc[640];
    if (!why) {
        describe(p, desc, sizeof(desc));
        errset(errstr, size,
               "Invalid value \"%.*s\" for configuration property \"%s\": "
               "expected %s",
               (int)(n > 200 ? 200 : n), b, p->name, desc);
    } else {
        errset(errstr, size,
               "Invalid value \"%.*s\" for configuration property \"%s\": "
               "%s",
               (int)(n > 200 ? 200 : n), b, p->name, why);
    }
    return KFK_ERR__INVALID_CONFIG;
}

/* Builds a list value from n items (ib[i], in[i] bytes long): one
 * allocation holding the item pointers, the canonical text "a,b" and the
 * NUL-terminated items. */
static kfk_err_t list_build(kfk__conf_val *out, const char *const *ib,
                            const size_t *in, int n)
{
    size_t text = 0;
    for (int i = 0; i < n; i++)
        text += in[i] + 1;
    size_t ptrs = ((size_t)n + 1) * sizeof(char *);
    char *block = kfk__malloc(ptrs + 2 * text);
    if (!block)
        return KFK_ERR__NOMEM;
    char **items = (char **)(void *)block;
    char *joined = block + ptrs, *split = joined + text;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        memcpy(joined + off, ib[i], in[i]);
        joined[off + in[i]] = ',';
        memcpy(split + off, ib[i], in[i]);
        split[off + in[i]] = '\0';
        items[i] = split + off;
        off += in[i] + 1;
    }
    joined[text - 1] = '\0';
    items[n] = NULL;
    out->items = items;
    out->s = joined;
    out->n = n;
    return KFK_ERR_NONE;
}

#define LIST_MAX_ITEMS 256

static kfk_err_t parse_list(const kfk__conf_prop *p, const char *b,
                            const char *e, kfk__conf_val *out, char *errstr,
                            size_t size)
{
    const char *ib[LIST_MAX_ITEMS];
    size_t in[LIST_MAX_ITEMS];
    int n = 0;
    out->i = 0;
    if (b == e)
        return KFK_ERR_NONE; /* empty list */
    for (const char *s = b;;) {
        const char *comma = memchr(s, ',', (size_t)(e - s));
        const char *ie = comma ? comma : e, *is = s;
        trim(&is, &ie);
        if (is == ie) {
            errset(errstr, size,
                   "Invalid value \"%.*s\" for configuration property "
                   "\"%s\": empty item in the list",
                   (int)(e - b > 200 ? 200 : e - b), b, p->name);
            return KFK_ERR__INVALID_CONFIG;
        }
        if (n == LIST_MAX_ITEMS) {
            errset(errstr, size,
                   "Invalid value for configuration property \"%s\": more "
                   "than %d items",
                   p->name, LIST_MAX_ITEMS);
            return KFK_ERR__INVALID_CONFIG;
        }
        if (p->vals) {
            const char *param;
            const kfk__conf_enum *v =
                enum_find(p->vals, is, (size_t)(ie - is), &param);
            if (!v) {
                char desc[640];
                describe(p, desc, sizeof(desc));
                errset(errstr, size,
                       "Invalid value \"%.*s\" in the list for configuration "
                       "property \"%s\": expected %s",
                       (int)(ie - is > 200 ? 200 : ie - is), is, p->name, desc);
                return KFK_ERR__INVALID_CONFIG;
            }
            for (int k = 0; k < n; k++) {
                if (strcmp(ib[k], enum_name(p->vals, v->value)) == 0) {
                    errset(errstr, size,
                           "Invalid value for configuration property "
                           "\"%s\": \"%s\" is listed twice",
                           p->name, ib[k]);
                    return KFK_ERR__INVALID_CONFIG;
                }
            }
            out->i |= v->value;
            ib[n] = enum_name(p->vals, v->value);
            in[n] = strlen(ib[n]);
        } else {
            ib[n] = is;
            in[n] = (size_t)(ie - is);
        }
        n++;
        if (!comma)
            break;
        s = comma + 1;
    }
    return list_build(out, ib, in, n);
}

static kfk_err_t parse_enum(const kfk__conf_prop *p, const char *b,
                            const char *e, kfk__conf_val *out, char *errstr,
                            size_t size)
{
    const char *param;
    size_t n = (size_t)(e - b);
    const kfk__conf_enum *v = enum_find(p->vals, b, n, &param);
    if (!v) {
        /* A near miss gets a suggestion, like unknown names do. */
        const char *names[32];
        size_t k = 0;
        for (const kfk__conf_enum *x = p->vals; x->name && k < 32; x++)
            if (!x->hidden && !takes_param(x->name))
                names[k++] = x->name;
        char word[DIST_MAX_LEN];
        const char *best = NULL;
        if (n < sizeof(word)) {
            memcpy(word, b, n);
            word[n] = '\0';
            best = closest(word, names, k);
        }
        char desc[640];
        describe(p, desc, sizeof(desc));
        if (best)
            errset(errstr, size,
                   "Invalid value \"%.*s\" for configuration property \"%s\": "
                   "expected %s (did you mean \"%s\"?)",
                   (int)(n > 200 ? 200 : n), b, p->name, desc, best);
        else
            bad_value(p, b, n, NULL, errstr, size);
        return KFK_ERR__INVALID_CONFIG;
    }
    out->i = v->value;
    if (!param)
        return KFK_ERR_NONE;
    /* by_duration:<ISO-8601>: keep the text for get, the ms for use. */
    if (parse_iso_duration(param, e, &out->arg) != 0) {
        errset(errstr, size,
               "Invalid value \"%.*s\" for configuration property \"%s\": "
               "expected %s followed by an ISO-8601 duration such as P1D, "
               "PT12H or PT1H30M",
               (int)(n > 200 ? 200 : n), b, p->name, v->name);
        return KFK_ERR__INVALID_CONFIG;
    }
    size_t pn = strlen(v->name), an = (size_t)(e - param);
    out->s = kfk__malloc(pn + an + 1);
    if (!out->s)
        return KFK_ERR__NOMEM;
    memcpy(out->s, v->name, pn);
    memcpy(out->s + pn, param, an);
    out->s[pn + an] = '\0';
    return KFK_ERR_NONE;
}

static kfk_err_t parse_typed(const kfk__conf_prop *p, const char *b,
                             const char *e, kfk__conf_val *out, char *errstr,
                             size_t size)
{
    size_t n = (size_t)(e - b);
    switch (p->type) {
    case KFK__CONF_T_STRING:
        if (n == 0)
            return KFK_ERR_NONE; /* "" = not set */
        out->s = kfk__strndup(b, n);
        return out->s ? KFK_ERR_NONE : KFK_ERR__NOMEM;
    case KFK__CONF_T_INT:
    case KFK__CONF_T_LONG:
    case KFK__CONF_T_MS:
        if (parse_i64(b, n, &out->i) != 0 || out->i < p->min || out->i > p->max)
            return bad_value(p, b, n, NULL, errstr, size);
        return KFK_ERR_NONE;
    case KFK__CONF_T_BOOL:
        if (n == 4 && strncasecmp(b, "true", 4) == 0)
            out->i = 1;
        else if (n == 5 && strncasecmp(b, "false", 5) == 0)
            out->i = 0;
        else
            return bad_value(p, b, n, NULL, errstr, size);
        return KFK_ERR_NONE;
    case KFK__CONF_T_DOUBLE: {
        char num[64];
        if (n == 0 || n >= sizeof(num))
            return bad_value(p, b, n, NULL, errstr, size);
        memcpy(num, b, n);
        num[n] = '\0';
        if (parse_double(num, &out->d) != 0 || !(out->d >= p->dmin) ||
            !(out->d <= p->dmax))
            return bad_value(p, b, n, NULL, errstr, size);
        return KFK_ERR_NONE;
    }
    case KFK__CONF_T_ENUM:
        return parse_enum(p, b, e, out, errstr, size);
    case KFK__CONF_T_LIST:
        return parse_list(p, b, e, out, errstr, size);
    }
    return KFK_ERR__INVALID_CONFIG;
}

void kfk__conf_val_clear(kfk__conf_val *v)
{
    /* A list's text and items share one block, which starts at items. */
    kfk__free(v->items ? (void *)v->items : (void *)v->s);
    memset(v, 0, sizeof(*v));
}

kfk_err_t kfk__conf_parse(kfk__conf_id id, const char *text, kfk__conf_val *out,
                          char *errstr, size_t errstr_size)
{
    const kfk__conf_prop *p = &kfk__conf_props[id];
    const char *b = text, *e = text + strlen(text);
    if (!(p->flags & KFK__CONF_F_SENSITIVE))
        trim(&b, &e);
    memset(out, 0, sizeof(*out));
    kfk_err_t err = parse_typed(p, b, e, out, errstr, errstr_size);
    if (err == KFK_ERR_NONE && p->check) {
        char why[256];
        if (p->check(out, why, sizeof(why)) != 0)
            err = bad_value(p, b, (size_t)(e - b), why, errstr, errstr_size);
    }
    if (err != KFK_ERR_NONE)
        kfk__conf_val_clear(out);
    return err;
}

int kfk__conf_split_hostport(const char *item, const char **host,
                             size_t *host_len, int *port)
{
    const char *s = strstr(item, "://");
    s = s ? s + 3 : item;
    const char *colon = strrchr(s, ':');
    if (!colon)
        return -1;
    const char *hb = s, *he = colon;
    if (*hb == '[') {
        if (he - hb < 3 || he[-1] != ']')
            return -1;
        hb++;
        he--;
    } else if (memchr(hb, ':', (size_t)(he - hb))) {
        return -1; /* a bare IPv6 address is ambiguous */
    }
    if (hb == he || memchr(hb, '[', (size_t)(he - hb)) ||
        memchr(hb, ']', (size_t)(he - hb)))
        return -1;
    int64_t p;
    if (parse_i64(colon + 1, strlen(colon + 1), &p) != 0 || p < 1 ||
        p > 65535 || colon[1] == '+' || colon[1] == '-')
        return -1;
    *host = hb;
    *host_len = (size_t)(he - hb);
    *port = (int)p;
    return 0;
}

/* ---- the object ---------------------------------------------------------- */

kfk_conf_t *kfk_conf_new(void)
{
    kfk_conf_t *c = kfk__calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    for (int id = 0; id < NPROPS; id++) {
        if (kfk__conf_parse((kfk__conf_id)id, kfk__conf_props[id].def,
                            &c->v[id], NULL, 0) != KFK_ERR_NONE) {
            kfk_conf_destroy(c);
            return NULL;
        }
    }
    return c;
}

void kfk_conf_destroy(kfk_conf_t *conf)
{
    if (!conf)
        return;
    for (int id = 0; id < NPROPS; id++)
        kfk__conf_val_clear(&conf->v[id]);
    kfk__free(conf);
}

kfk_conf_t *kfk_conf_dup(const kfk_conf_t *conf)
{
    if (!conf)
        return NULL;
    kfk_conf_t *c = kfk__calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    memcpy(c->set, conf->set, sizeof(c->set));
    c->cbs = conf->cbs;
    for (int id = 0; id < NPROPS; id++) {
        const kfk__conf_val *src = &conf->v[id];
        if (!src->s) {
            c->v[id] = *src;
            continue;
        }
        /* The stored text is canonical: parsing it gives the same value
         * in fresh memory. */
        if (kfk__conf_parse((kfk__conf_id)id, src->s, &c->v[id], NULL, 0) !=
            KFK_ERR_NONE) {
            kfk_conf_destroy(c);
            return NULL;
        }
        c->v[id].i = src->i; /* values finalize changed stay changed */
        c->v[id].d = src->d;
    }
    return c;
}

kfk_err_t kfk_conf_set(kfk_conf_t *conf, const char *name, const char *value,
                       char *errstr, size_t errstr_size)
{
    if (!conf || !name) {
        errset(errstr, errstr_size, "kfk_conf_set: conf and name are required");
        return KFK_ERR__INVALID_ARG;
    }
    int id = kfk__conf_find(name);
    if (id < 0) {
        unknown_name(name, errstr, errstr_size);
        return KFK_ERR__INVALID_CONFIG;
    }
    const kfk__conf_prop *p = &kfk__conf_props[id];
    kfk__conf_val v;
    kfk_err_t err = kfk__conf_parse((kfk__conf_id)id, value ? value : p->def,
                                    &v, errstr, errstr_size);
    if (err == KFK_ERR__NOMEM)
        errset(errstr, errstr_size, "Out of memory setting \"%s\"", name);
    if (err != KFK_ERR_NONE)
        return err;
    kfk__conf_val_clear(&conf->v[id]);
    conf->v[id] = v;
    conf->set[id] = value != NULL;
    return KFK_ERR_NONE;
}

size_t kfk__conf_format(const kfk_conf_t *c, kfk__conf_id id, char *buf,
                        size_t size)
{
    const kfk__conf_prop *p = &kfk__conf_props[id];
    const kfk__conf_val *v = &c->v[id];
    switch (p->type) {
    case KFK__CONF_T_INT:
    case KFK__CONF_T_LONG:
    case KFK__CONF_T_MS:
        return (size_t)snprintf(buf, size, "%" PRId64, v->i);
    case KFK__CONF_T_BOOL:
        return (size_t)snprintf(buf, size, "%s", v->i ? "true" : "false");
    case KFK__CONF_T_DOUBLE:
        return format_double(v->d, buf, size);
    case KFK__CONF_T_ENUM:
        if (!v->s)
            return (size_t)snprintf(buf, size, "%s", enum_name(p->vals, v->i));
        break;
    case KFK__CONF_T_STRING:
    case KFK__CONF_T_LIST:
        break;
    }
    return (size_t)snprintf(buf, size, "%s", v->s ? v->s : "");
}

kfk_err_t kfk_conf_get(const kfk_conf_t *conf, const char *name, char *buf,
                       size_t *len)
{
    if (!conf || !name || !len)
        return KFK_ERR__INVALID_ARG;
    int id = kfk__conf_find(name);
    if (id < 0)
        return KFK_ERR__INVALID_CONFIG;
    size_t need = kfk__conf_format(conf, (kfk__conf_id)id, NULL, 0) + 1;
    size_t have = *len;
    *len = need;
    if (!buf)
        return KFK_ERR_NONE;
    if (have < need)
        return KFK_ERR__TOO_LARGE;
    kfk__conf_format(conf, (kfk__conf_id)id, buf, have);
    return KFK_ERR_NONE;
}

#define HIDDEN "[hidden]"

static int masked(const kfk_conf_t *c, int id)
{
    return (kfk__conf_props[id].flags & KFK__CONF_F_SENSITIVE) && c->v[id].s;
}

kfk_err_t kfk_conf_dump(const kfk_conf_t *conf, kfk_conf_entry_t ***entriesp,
                        size_t *cntp)
{
    if (!conf || !entriesp || !cntp)
        return KFK_ERR__INVALID_ARG;
    *entriesp = NULL;
    *cntp = 0;
    /* One block: pointers, entries, then the value and default texts. */
    size_t ptrs = ((size_t)NPROPS + 1) * sizeof(kfk_conf_entry_t *);
    size_t structs = (size_t)NPROPS * sizeof(kfk_conf_entry_t);
    size_t text = 0;
    for (int id = 0; id < NPROPS; id++) {
        text += masked(conf, id)
                    ? sizeof(HIDDEN)
                    : kfk__conf_format(conf, (kfk__conf_id)id, NULL, 0) + 1;
        text += strlen(kfk__conf_props[id].def) + 1;
    }
    char *block = kfk__malloc(ptrs + structs + text);
    if (!block)
        return KFK_ERR__NOMEM;
    kfk_conf_entry_t **list = (kfk_conf_entry_t **)(void *)block;
    kfk_conf_entry_t *ent = (kfk_conf_entry_t *)(void *)(block + ptrs);
    char *t = block + ptrs + structs, *end = block + ptrs + structs + text;
    /* Ids are in name order, so the dump is sorted as it is. */
    for (int id = 0; id < NPROPS; id++) {
        const kfk__conf_prop *p = &kfk__conf_props[id];
        kfk_conf_entry_t *e = &ent[id];
        e->name = p->name;
        e->value = t;
        if (masked(conf, id))
            t += snprintf(t, (size_t)(end - t), "%s", HIDDEN) + 1;
        else
            t +=
                kfk__conf_format(conf, (kfk__conf_id)id, t, (size_t)(end - t)) +
                1;
        e->default_value = t;
        t += snprintf(t, (size_t)(end - t), "%s", p->def) + 1;
        e->is_set = conf->set[id];
        e->is_sensitive = (p->flags & KFK__CONF_F_SENSITIVE) != 0;
        list[id] = e;
    }
    list[NPROPS] = NULL;
    *entriesp = list;
    *cntp = (size_t)NPROPS;
    return KFK_ERR_NONE;
}

void kfk_conf_dump_free(kfk_conf_entry_t **entries)
{
    kfk__free(entries);
}
