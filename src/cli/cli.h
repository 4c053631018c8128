/* cli.h - shared pieces of the command-line tool: the command table,
 * exit codes, and small helpers for reading inputs and printing errors. */
#ifndef TC_CLI_H
#define TC_CLI_H

#include "core/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define TRACECHECK_VERSION "0.1.0"

/* Exit codes of every command. */
enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1, /* a spec failed */
    EXIT_USAGE = 2,  /* bad input or usage */
    EXIT_RUN = 3,    /* trigger failed, trace not found, backend unreachable */
};

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    void (*help)(FILE *out);
} cli_command;

/* The commands, one file each (cmd_NAME.c). */
int cmd_inspect(int argc, char **argv);
void help_inspect(FILE *out);
int cmd_convert(int argc, char **argv);
void help_convert(FILE *out);
int cmd_run(int argc, char **argv);
void help_run(FILE *out);
int cmd_select(int argc, char **argv);
void help_select(FILE *out);
int cmd_eval(int argc, char **argv);
void help_eval(FILE *out);
int cmd_fetch(int argc, char **argv);
void help_fetch(FILE *out);
int cmd_datastore(int argc, char **argv);
void help_datastore(FILE *out);
int cmd_diff(int argc, char **argv);
void help_diff(FILE *out);
int cmd_generate(int argc, char **argv);
void help_generate(FILE *out);

/* `run --baseline DIR` (cmd_diff.c): saves trace t of ts, secrets masked
 * by v, as DIR/<test>.json (OTLP JSON, atomically) when it is missing,
 * else diffs it against that file; fills rt's baseline fields (a change of
 * a kind in fail_on, DIFF_* bits, fails the test). Returns 0 or
 * TC_ERR_NOMEM; other problems are the test's result. */
struct report_test;
struct arena;
struct trace;
struct trace_set;
struct vars;
int cli_baseline_check(const char *dir, const char *test, struct trace_set *ts, const struct trace *t,
                       unsigned fail_on, const struct vars *v, struct arena *a, struct report_test *rt);

int cmd_serve(int argc, char **argv);
void help_serve(FILE *out);

/* Parses a duration flag: "30s", "250ms", "2m", or plain milliseconds.
 * Returns 0 with *ns set, or -1 (a zero or negative duration too). */
int cli_parse_duration(const char *s, uint64_t *ns);

/* Prints "tracecheck: <fmt>" to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "FILE:LINE:COL: message" (or "FILE: message" when the location is
 * unknown) to stderr, with the source line and a caret when `text` is given. */
void cli_print_error(const char *file, const tc_error *e, const char *text, size_t len);

/* True when stdout is a terminal and NO_COLOR is unset. */
bool cli_color(FILE *f);

/* True when argv[i] is -h or --help. */
bool cli_is_help(const char *arg);

/* A list of paths (malloc'd strings). */
typedef struct cli_path_list {
    char **v;
    size_t n, cap;
} cli_path_list;

/* Appends every *.yaml and *.yml below dir to out, in name order, skipping
 * hidden entries and node_modules (at most 10,000 files, 16 levels deep).
 * Prints what went wrong; returns 0, TC_ERR_IO, TC_ERR_LIMIT or
 * TC_ERR_NOMEM. Call with depth 0. */
int cli_collect_yaml(const char *dir, int depth, cli_path_list *out);
void cli_path_list_free(cli_path_list *l);

/* ${NAME} in a resource file (res_subst_env's lookup): the process
 * environment; an unset name becomes "" (as in Tracetest) with a warning
 * naming it and its place in the file. user is a cli_subst_ctx. */
typedef struct cli_subst_ctx {
    const char *path;
    const char *text;
    size_t len;
} cli_subst_ctx;
const char *cli_env_lookup(void *user, const char *name);

/* The files the tests of rf name (an http body, a GraphQL query, a gRPC
 * protobufFile next to the test, as `tracecheck run` would read them) put
 * into the file's text in place of their names, for a server, which reads
 * no file (inline.c). *out is the new text (malloc'd), or NULL when no test
 * names a file. TC_ERR_INPUT (e located) for a file that is not UTF-8
 * text. */
struct res_file;
int cli_inline_files(const struct res_file *rf, const char *text, size_t len, char **out, size_t *out_len,
                     tc_error *e);

/* `run --watch` (watch.c): whether --watch is among the arguments, and
 * the loop: run (argv without --watch) in a child process, then again on
 * each change of the files the tests come from, until SIGINT or SIGTERM
 * (then 130). */
bool cli_watch_requested(int argc, char **argv);
int cli_watch(int argc, char **argv, int (*run)(int, char **));

#endif
