/*
 * cmd_broker.c: `kfk broker`, the reference broker as a one-command local
 * Kafka. It prints the bootstrap servers as its first line (and to
 * --port-file), then runs until SIGINT/SIGTERM. Lines on standard input
 * inject faults while it runs ("stop 2", "latency 1 200", "help"), so a
 * script or a person at the terminal can break things on purpose.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <kfk/broker.h>

#include "cmds.h"
#include "proto/codec.h"

static void broker_usage(FILE *out)
{
    fprintf(out,
            "usage: kfk broker [options]\n"
            "  --brokers N          brokers in the cluster (default 1)\n"
            "  --listen HOST:PORT   first broker's address (default 127.0.0.1:9092;\n"
            "                       port 0 = ephemeral); broker i uses PORT+i-1\n"
            "  --port-file FILE     also write the bootstrap servers to FILE\n"
            "  --data-dir DIR       keep logs in DIR (default: in memory)\n"
            "  --partitions N       partitions of auto-created topics (default 1)\n"
            "  --config KEY=VALUE   a broker or default topic config (repeatable)\n"
            "  --log-level N        0-7, stderr verbosity (default 5; 7 logs requests)\n"
            "Fault commands on standard input (one per line; 'help' lists them).\n");
}

static void control_help(void)
{
    fprintf(stderr,
            "commands: stop ID | start ID | pause ID | resume ID | latency ID MS |\n"
            "          drop ID N | error ID API_KEY ERROR_CODE COUNT [TOPIC [PARTITION]] |\n"
            "          leader TOPIC PARTITION ID | coordinator GROUP ID |\n"
            "          create TOPIC PARTITIONS [RF] |\n"
            "          offsets TOPIC PARTITION | clear | help   (ID -1 = every broker)\n");
}

/* One control line; answers "ok" or an error on stderr. */
static void control(kfk_cluster_t *c, char *line)
{
    char *argv[8];
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < 8; tok = strtok(NULL, " \t\r\n"))
        argv[argc++] = tok;
    if (argc == 0)
        return;
    kfk_err_t e = KFK_ERR__INVALID_ARG;
    const char *cmd = argv[0];
    int a1 = argc > 1 ? atoi(argv[1]) : 0;
    if (!strcmp(cmd, "help")) {
        control_help();
        return;
    } else if (!strcmp(cmd, "stop") && argc == 2) {
        e = kfk_cluster_broker_stop(c, a1);
    } else if (!strcmp(cmd, "start") && argc == 2) {
        e = kfk_cluster_broker_start(c, a1);
    } else if ((!strcmp(cmd, "pause") || !strcmp(cmd, "resume")) && argc == 2) {
        e = kfk_cluster_broker_pause(c, a1, !strcmp(cmd, "pause"));
    } else if (!strcmp(cmd, "latency") && argc == 3) {
        e = kfk_cluster_set_latency(c, a1, atoi(argv[2]));
    } else if (!strcmp(cmd, "drop") && argc == 3) {
        e = kfk_cluster_drop_after(c, a1, atoi(argv[2]));
    } else if (!strcmp(cmd, "error") && argc >= 5) {
        e = kfk_cluster_inject_error(c, a1, atoi(argv[2]), argc > 5 ? argv[5] : NULL,
                                     argc > 6 ? atoi(argv[6]) : -1,
                                     (kfk_err_t)atoi(argv[3]), atoi(argv[4]));
    } else if (!strcmp(cmd, "leader") && argc == 4) {
        e = kfk_cluster_move_leader(c, argv[1], atoi(argv[2]), atoi(argv[3]));
    } else if (!strcmp(cmd, "coordinator") && argc == 3) {
        e = kfk_cluster_move_coordinator(c, argv[1], atoi(argv[2]));
    } else if (!strcmp(cmd, "create") && argc >= 3) {
        e = kfk_cluster_create_topic(c, argv[1], atoi(argv[2]), argc > 3 ? atoi(argv[3]) : -1);
    } else if (!strcmp(cmd, "offsets") && argc == 3) {
        int64_t lo = 0, hi = 0;
        e = kfk_cluster_offsets(c, argv[1], atoi(argv[2]), &lo, &hi);
        if (!e)
            printf("%s [%s] start %lld end %lld\n", argv[1], argv[2], (long long)lo,
                   (long long)hi);
    } else if (!strcmp(cmd, "clear") && argc == 1) {
        kfk_cluster_clear_faults(c);
        e = KFK_ERR_NONE;
    } else {
        fprintf(stderr, "kfk broker: unknown or malformed command '%s'\n", cmd);
        control_help();
        return;
    }
    if (e)
        fprintf(stderr, "kfk broker: %s: %s\n", cmd, kfk_err_str(e));
    else
        fprintf(stderr, "kfk broker: %s: ok\n", cmd);
    fflush(stdout);
}

/* Runs until a signal, reading control lines from stdin until EOF. */
static int serve(kfk_cluster_t *c, int sfd, bool stdin_open)
{
    char line[512];
    size_t have = 0;
    for (;;) {
        struct pollfd pf[2] = {{sfd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
        if (poll(pf, stdin_open ? 2 : 1, -1) < 0 && errno != EINTR)
            return 1;
        if (pf[0].revents & POLLIN)
            return 0;
        if (!stdin_open)
            continue;
        if (pf[1].revents & (POLLNVAL | POLLERR)) {
            stdin_open = false;
            continue;
        }
        if (!(pf[1].revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = read(STDIN_FILENO, line + have, sizeof(line) - 1 - have);
        if (n <= 0) {
            stdin_open = false;
            continue;
        }
        have += (size_t)n;
        char *nl;
        while ((nl = memchr(line, '\n', have))) {
            *nl = '\0';
            control(c, line);
            size_t used = (size_t)(nl - line) + 1;
            memmove(line, nl + 1, have - used);
            have -= used;
        }
        if (have == sizeof(line) - 1)
            have = 0; /* an overlong line is dropped */
    }
}

int kfk_cmd_broker(int argc, char **argv)
{
    const char *props[64];
    char owned[64][320];
    int np = 0;
    const char *port_file = NULL;
    bool listen_set = false;
    int log_level = 5;
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char *key = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            broker_usage(stdout);
            return 0;
        }
        if (!v || np >= 60) {
            fprintf(stderr, "kfk broker: %s needs a value\n", a);
            broker_usage(stderr);
            return 2;
        }
        if (!strcmp(a, "--brokers"))
            key = "brokers";
        else if (!strcmp(a, "--listen"))
            key = "listen", listen_set = true;
        else if (!strcmp(a, "--data-dir"))
            key = "data.dir";
        else if (!strcmp(a, "--partitions"))
            key = "num.partitions";
        else if (!strcmp(a, "--log-level"))
            log_level = atoi(v);
        else if (!strcmp(a, "--port-file"))
            port_file = v;
        else if (!strcmp(a, "--config"))
            key = "";
        else {
            fprintf(stderr, "kfk broker: unknown option %s\n", a);
            broker_usage(stderr);
            return 2;
        }
        if (key && *key)
            snprintf(owned[np], sizeof(owned[np]), "%s=%s", key, v);
        else if (key)
            snprintf(owned[np], sizeof(owned[np]), "%s", v);
        if (key)
            props[np] = owned[np], np++;
    }
    if (!listen_set)
        props[np++] = "listen=127.0.0.1:9092";
    snprintf(owned[np], sizeof(owned[np]), "log.level=%d", log_level);
    props[np] = owned[np];
    np++;
    props[np] = NULL;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the broker thread inherits it */
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    /* Control lines come from stdin only if it was open when we started
     * (a closed fd 0 would soon be one of the broker's own sockets). */
    bool stdin_open = fcntl(STDIN_FILENO, F_GETFD) != -1;
    char err[512];
    kfk_cluster_t *c = kfk_cluster_new(props, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "kfk broker: %s\n", err);
        return 1;
    }
    /* The port file first: whoever reads our first line may look for it. */
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (!f || fprintf(f, "%s\n", kfk_cluster_bootstrap(c)) < 0 || fclose(f)) {
            fprintf(stderr, "kfk broker: cannot write %s: %s\n", port_file, strerror(errno));
            kfk_cluster_destroy(c);
            return 1;
        }
    }
    printf("%s\n", kfk_cluster_bootstrap(c));
    fflush(stdout);
    int rc = serve(c, sfd, stdin_open);
    fprintf(stderr, "kfk broker: shutting down\n");
    kfk_cluster_destroy(c);
    close(sfd);
    return rc;
}
