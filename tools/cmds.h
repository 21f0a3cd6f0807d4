/*
 * cmds.h: the subcommands of the kfk CLI, each in its own tools/cmd_*.c.
 * Each takes argv with its own name as argv[0] and returns the exit code
 * (0 ok, 1 failed, 2 usage).
 */
#ifndef KFK_TOOLS_CMDS_H
#define KFK_TOOLS_CMDS_H

int kfk_cmd_broker(int argc, char **argv);
int kfk_cmd_produce(int argc, char **argv);
int kfk_cmd_consume(int argc, char **argv);
int kfk_cmd_perf(int argc, char **argv);

#endif
