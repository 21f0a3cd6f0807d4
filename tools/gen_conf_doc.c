/*
 * gen_conf_doc.c: writes docs/CONFIGURATION.md from the configuration
 * table (src/client/conf_table.c).
 *
 * The reference page is generated so that it cannot drift from what the
 * library accepts: names, types, defaults, ranges and allowed values come
 * from the same table kfk_conf_set() checks against. The page is committed
 * (readers need no build); the meson test `conf_doc_check` runs this tool
 * with --check and fails when the committed page differs from the table.
 *
 * Usage: gen_conf_doc                 print the page
 *        gen_conf_doc --out FILE      write it to FILE
 *        gen_conf_doc --check FILE    exit 1 if FILE is not what it would
 *                                     write (0 if it is)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/conf_int.h"

static const char *type_name(kfk__conf_type t)
{
    switch (t) {
    case KFK__CONF_T_STRING:
        return "string";
    case KFK__CONF_T_INT:
        return "int";
    case KFK__CONF_T_LONG:
        return "long";
    case KFK__CONF_T_MS:
        return "ms";
    case KFK__CONF_T_BOOL:
        return "bool";
    case KFK__CONF_T_ENUM:
        return "enum";
    case KFK__CONF_T_LIST:
        return "list";
    case KFK__CONF_T_DOUBLE:
        return "double";
    }
    return "?";
}

static const char *importance_name(kfk__conf_importance i)
{
    return i == KFK__CONF_HIGH     ? "high"
           : i == KFK__CONF_MEDIUM ? "medium"
                                   : "low";
}

static void clients_text(unsigned clients, char *buf, size_t size)
{
    static const char *const names[] = {"producer", "consumer", "admin"};
    size_t off = 0;
    buf[0] = '\0';
    if (clients == KFK__CLIENT_ALL) {
        snprintf(buf, size, "all");
        return;
    }
    for (int i = 0; i < 3; i++) {
        if (!(clients & (1u << i)))
            continue;
        int w =
            snprintf(buf + off, size - off, "%s%s", off ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= size - off)
            return;
        off += (size_t)w;
    }
}

/* The default as shown: `text`, "(none)" for an unset string or empty
 * list, plus kind-specific defaults. */
static void default_text(const kfk__conf_prop *p, char *buf, size_t size)
{
    int n;
    if (p->def[0])
        n = snprintf(buf, size, "`%s`", p->def);
    else
        n = snprintf(buf, size, "(none)");
    if (p->alt_def && n >= 0 && (size_t)n < size) {
        char who[64];
        clients_text(p->alt_clients, who, sizeof(who));
        snprintf(buf + n, size - (size_t)n, " (%s: `%s`)", who, p->alt_def);
    }
}

static void range_text(const kfk__conf_prop *p, char *buf, size_t size)
{
    size_t off = 0;
    if (p->allowed_doc) {
        snprintf(buf, size, "%s", p->allowed_doc);
        return;
    }
    switch (p->type) {
    case KFK__CONF_T_INT:
    case KFK__CONF_T_LONG:
    case KFK__CONF_T_MS:
        if (p->max == INT64_MAX)
            snprintf(buf, size, ">= %" PRId64, p->min);
        else
            snprintf(buf, size, "%" PRId64 " to %" PRId64, p->min, p->max);
        return;
    case KFK__CONF_T_DOUBLE:
        snprintf(buf, size, "%g to %g", p->dmin, p->dmax);
        return;
    case KFK__CONF_T_BOOL:
        snprintf(buf, size, "`true`, `false`");
        return;
    case KFK__CONF_T_STRING:
        snprintf(buf, size, "any");
        return;
    case KFK__CONF_T_ENUM:
    case KFK__CONF_T_LIST:
        break;
    }
    if (!p->vals) {
        snprintf(buf, size, "any");
        return;
    }
    buf[0] = '\0';
    for (const kfk__conf_enum *v = p->vals; v->name; v++) {
        if (v->hidden)
            continue;
        size_t len = strlen(v->name);
        int w = snprintf(buf + off, size - off, "%s`%s%s`", off ? ", " : "",
                         v->name,
                         len && v->name[len - 1] == ':' ? "<duration>" : "");
        if (w < 0 || (size_t)w >= size - off)
            return;
        off += (size_t)w;
    }
}

/* Writes text as paragraph lines of at most 78 columns. */
static void wrap(FILE *out, const char *text)
{
    const char *s = text;
    size_t col = 0;
    while (*s) {
        const char *sp = strchr(s, ' ');
        size_t w = sp ? (size_t)(sp - s) : strlen(s);
        if (col > 0 && col + 1 + w > 78) {
            fputc('\n', out);
            col = 0;
        } else if (col > 0) {
            fputc(' ', out);
            col++;
        }
        fwrite(s, 1, w, out);
        col += w;
        s += w;
        while (*s == ' ')
            s++;
    }
    fputc('\n', out);
}

static void entry(FILE *out, const kfk__conf_prop *p)
{
    char clients[64], def[160], range[640];
    clients_text(p->clients, clients, sizeof(clients));
    default_text(p, def, sizeof(def));
    range_text(p, range, sizeof(range));
    fprintf(out, "### `%s`\n\n", p->name);
    fprintf(out, "| Type | Default | Allowed | Clients | Importance |\n");
    fprintf(out, "|---|---|---|---|---|\n");
    fprintf(out, "| %s%s | %s | %s | %s | %s |\n\n", type_name(p->type),
            p->flags & KFK__CONF_F_SENSITIVE ? " (sensitive)" : "", def, range,
            clients, importance_name(p->importance));
    wrap(out, p->doc);
    if (p->flags & KFK__CONF_F_KFK)
        fprintf(out, "\n*kfk only: the Java client has no such property.*\n");
    if (p->deviation) {
        fprintf(out, "\n**Differs from Kafka 4.0's default:** ");
        wrap(out, p->deviation);
    }
    fputc('\n', out);
}

static const struct {
    unsigned clients;
    const char *title;
} sections[] = {
    {KFK__CLIENT_ALL, "All clients"},
    {KFK__CLIENT_PRODUCER, "Producer"},
    {KFK__CLIENT_CONSUMER, "Consumer"},
    {KFK__CLIENT_ADMIN, "Admin client"},
    {KFK__CLIENT_PRODUCER | KFK__CLIENT_ADMIN, "Producer and admin client"},
    {KFK__CLIENT_CONSUMER | KFK__CLIENT_ADMIN, "Consumer and admin client"},
    {KFK__CLIENT_PRODUCER | KFK__CLIENT_CONSUMER, "Producer and consumer"},
};

/* The anchor GitHub gives the heading "### `name`": dots dropped. */
static const char *anchor(const char *name)
{
    static char buf[128];
    size_t n = 0;
    for (const char *s = name; *s && n + 1 < sizeof(buf); s++)
        if (*s != '.')
            buf[n++] = *s;
    buf[n] = '\0';
    return buf;
}

static void generate(FILE *out)
{
    int n = (int)KFK__CONF__COUNT;
    fprintf(out,
            "<!-- Generated by tools/gen_conf_doc.c from "
            "src/client/conf_table.c. Do not edit:\n"
            "     run `build/tools/gen_conf_doc --out docs/CONFIGURATION.md`. "
            "-->\n\n");
    fprintf(out, "# Configuration properties\n\n");
    wrap(out,
         "A kfk client is configured with name/value strings, set one at a "
         "time with `kfk_conf_set()` on a `kfk_conf_t` (include/kfk/conf.h) "
         "and handed to the client when it is created. The names, meanings "
         "and defaults are those of the Java client of Apache Kafka 4.0, so "
         "existing properties files and knowledge carry over; the few "
         "properties the Java client does not have are marked *kfk only* "
         "(most come from librdkafka, where users know them). A value is "
         "checked when it is set: an unknown name or a bad value is refused "
         "at once with a message that says what is allowed. Rules that "
         "involve several properties are checked when a client is created.");
    fputc('\n', out);
    wrap(out,
         "Types: `string` is text (an empty value means not set); `int` a "
         "32-bit and `long` a 64-bit decimal integer; `ms` a duration in "
         "milliseconds (an integer); `bool` is `true` or `false` (any "
         "case); `enum` one of the listed names (any case); `list` a "
         "comma-separated list, whitespace around items ignored; `double` a "
         "decimal number. Surrounding whitespace is ignored except in "
         "sensitive values, which dumps show as `[hidden]`.");
    fputc('\n', out);

    fprintf(out, "## Defaults that differ from Apache Kafka 4.0\n\n");
    int deviations = 0;
    for (int i = 0; i < n; i++) {
        const kfk__conf_prop *p = &kfk__conf_props[i];
        if (p->deviation && !(p->flags & KFK__CONF_F_KFK)) {
            fprintf(out, "- `%s`: ", p->name);
            wrap(out, p->deviation);
            deviations++;
        }
    }
    if (!deviations)
        fprintf(out, "None. Every default is the Java client's.\n");
    fputc('\n', out);

    fprintf(out, "## kfk-only properties\n\n");
    wrap(out, "These have no Java client equivalent (the Java client "
              "configures TLS with key stores, SASL with JAAS, and logging "
              "and metrics with Java libraries):");
    fputc('\n', out);
    for (int i = 0; i < n; i++)
        if (kfk__conf_props[i].flags & KFK__CONF_F_KFK)
            fprintf(out, "- [`%s`](#%s)\n", kfk__conf_props[i].name,
                    anchor(kfk__conf_props[i].name));
    fputc('\n', out);

    fprintf(out, "## Index\n\n");
    fprintf(out, "| Property | Clients | Type | Default |\n");
    fprintf(out, "|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        const kfk__conf_prop *p = &kfk__conf_props[i];
        char clients[64], def[160];
        clients_text(p->clients, clients, sizeof(clients));
        default_text(p, def, sizeof(def));
        fprintf(out, "| [`%s`](#%s) | %s | %s | %s |\n", p->name,
                anchor(p->name), clients, type_name(p->type), def);
    }
    fputc('\n', out);

    for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
        int any = 0;
        for (int i = 0; i < n; i++)
            any |= kfk__conf_props[i].clients == sections[s].clients;
        if (!any)
            continue;
        fprintf(out, "## %s\n\n", sections[s].title);
        for (int i = 0; i < n; i++)
            if (kfk__conf_props[i].clients == sections[s].clients)
                entry(out, &kfk__conf_props[i]);
    }
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *nb = realloc(buf, cap *= 2);
        if (!nb)
            free(buf);
        buf = nb;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    char *page = NULL;
    size_t page_len = 0;
    FILE *mem = open_memstream(&page, &page_len);
    if (!mem)
        return 2;
    generate(mem);
    fclose(mem);

    int status = 0;
    if (argc == 1) {
        fwrite(page, 1, page_len, stdout);
    } else if (argc == 3 && strcmp(argv[1], "--out") == 0) {
        FILE *f = fopen(argv[2], "wb");
        if (!f || fwrite(page, 1, page_len, f) != page_len || fclose(f)) {
            perror(argv[2]);
            status = 2;
        }
    } else if (argc == 3 && strcmp(argv[1], "--check") == 0) {
        size_t len = 0;
        char *have = read_file(argv[2], &len);
        if (!have || len != page_len || memcmp(have, page, len) != 0) {
            fprintf(stderr,
                    "%s is stale: run  gen_conf_doc --out %s  (from the "
                    "build directory: tools/gen_conf_doc) and commit it\n",
                    argv[2], argv[2]);
            status = 1;
        }
        free(have);
    } else {
        fprintf(stderr, "usage: gen_conf_doc [--out FILE | --check FILE]\n");
        status = 2;
    }
    free(page);
    return status;
}
