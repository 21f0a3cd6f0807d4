/*
 * kfk.c: the `kfk` command-line tool. One binary with subcommands (like
 * git) so a user installs one thing and finds every tool with `kfk help`.
 *
 * This file only dispatches: each subcommand is one row in the table below
 * and lives in its own tools/cmd_<name>.c once written. A row without a
 * function is a planned subcommand, listed in help so users can see what
 * is coming, and refused when run.
 */
#include <stdio.h>
#include <string.h>

#include <kfk/kfk.h>

#include "cmds.h"

/* Exit codes: 0 success, 1 the command ran and failed, 2 usage error. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef int (*cmd_fn)(int argc, char **argv);

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct cmd {
    const char *name;
    cmd_fn run; /* NULL: planned, not written yet */
    const char *summary;
} cmds[] = {
    {"produce", kfk_cmd_produce, "write records to a topic"},
    {"consume", kfk_cmd_consume, "read records from topics, alone or in a group"},
    {"topics", NULL, "list, describe, create and delete topics"},
    {"groups", NULL, "list, describe and reset consumer groups"},
    {"configs", NULL, "describe and alter broker and topic configs"},
    {"acls", NULL, "list, create and delete ACLs"},
    {"perf", kfk_cmd_perf, "measure produce (and later consume) throughput and latency"},
    {"broker", kfk_cmd_broker, "run the reference broker: a local Kafka cluster"},
    {"version", cmd_version, "print the kfk version"},
    {"help", cmd_help, "show this help, or help on one command"},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < NCMDS; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: kfk <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < NCMDS; i++)
        fprintf(out, "  %-9s %s%s\n", cmds[i].name, cmds[i].summary,
                cmds[i].run ? "" : " (not yet available)");
    fprintf(out, "\nRun 'kfk help <command>' for one command.\n");
}

static int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "kfk version: takes no arguments\n");
        return EXIT_USAGE;
    }
    printf("kfk %s\n", kfk_version());
    return EXIT_OK;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return EXIT_OK;
    }
    const struct cmd *c = find_cmd(argv[1]);
    if (!c) {
        fprintf(stderr, "kfk help: unknown command '%s'\n", argv[1]);
        return EXIT_USAGE;
    }
    printf("kfk %s: %s%s\n", c->name, c->summary,
           c->run ? "" : " (not yet available)");
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    else if (strcmp(name, "--version") == 0)
        name = "version";

    const struct cmd *c = find_cmd(name);
    if (!c) {
        fprintf(stderr,
                "kfk: unknown command '%s'\nRun 'kfk help' for the list of "
                "commands.\n",
                argv[1]);
        return EXIT_USAGE;
    }
    if (!c->run) {
        fprintf(stderr, "kfk: '%s' is not available yet in kfk %s\n", c->name,
                kfk_version());
        return EXIT_FAIL;
    }
    /* The subcommand sees itself as argv[0], as if run on its own. */
    int rc = c->run(argc - 1, argv + 1);
    if (fflush(stdout) != 0) {
        perror("kfk: writing output");
        return EXIT_FAIL;
    }
    return rc;
}
