/* main.c - the tracecheck command: dispatches to one file per command. */
#include "cli.h"
#include "client.h"
#include "cmd_lint.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cli_command commands[] = {
    {"run", "run tests (on a saved trace with --trace)", cmd_run, help_run},
    {"inspect", "print traces from files as a tree or JSON", cmd_inspect, help_inspect},
    {"select", "list the spans a selector picks in a trace file", cmd_select, help_select},
    {"eval", "print the value of an expression on a span of a trace file", cmd_eval, help_eval},
    {"lint", "analyze traces: semantic conventions, security, structure; a score", cmd_lint, help_lint},
    {"convert", "write traces in another format (OTLP JSON or protobuf)", cmd_convert, help_convert},
    {"diff", "compare two traces by shape, attributes, status and duration", cmd_diff, help_diff},
    {"generate", "write a Test (YAML) for a recorded trace, checked on it", cmd_generate, help_generate},
    {"fetch", "read one trace from a backend (DataStore) and write it as OTLP", cmd_fetch, help_fetch},
    {"datastore", "check that a DataStore's backend can be reached and read", cmd_datastore, help_datastore},
    {"serve", "run the server: REST API, run queue, receivers, run history", cmd_serve, help_serve},
    {"apply", "send resource files to a tracecheck server", cmd_apply, help_apply},
    {"list", "list the tests, suites or runs a server keeps", cmd_list, help_list},
    {"get", "show a test, suite or run a server keeps", cmd_get, help_get},
    {"export", "write a resource a server keeps as YAML", cmd_export, help_export},
    {"delete", "delete a resource from a server", cmd_delete, help_delete},
    {NULL, NULL, NULL, NULL},
};

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tracecheck: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

void cli_print_error(const char *file, const tc_error *e, const char *text, size_t len)
{
    if (e->line > 0)
        fprintf(stderr, "%s:%d:%d: %s\n", file, e->line, e->col, e->msg);
    else if (e->offset != (size_t)-1)
        fprintf(stderr, "%s: byte %zu: %s\n", file, e->offset, e->msg);
    else
        fprintf(stderr, "%s: %s\n", file, e->msg);
    if (!text || e->line <= 0)
        return;
    /* the start of the error's line: from the offset, else by counting lines */
    size_t start = 0;
    if (e->offset != (size_t)-1 && e->offset <= len) {
        start = e->offset;
        while (start > 0 && text[start - 1] != '\n')
            start--;
    } else {
        for (int l = 1; l < e->line && start < len; start++)
            if (text[start] == '\n')
                l++;
    }
    if (start > len)
        return;
    size_t end = start;
    while (end < len && text[end] != '\n')
        end++;
    size_t caret = e->offset != (size_t)-1 && e->offset >= start ? e->offset - start : (size_t)(e->col > 0 ? e->col - 1 : 0);
    if (end - start > 200) { /* a long line (one-line JSON): show a window around the error */
        size_t from = caret > 80 ? start + caret - 80 : start;
        size_t to = from + 160 < end ? from + 160 : end;
        fprintf(stderr, "  %.*s\n  %*s^\n", (int)(to - from), text + from, (int)(start + caret - from), "");
        return;
    }
    fprintf(stderr, "  %.*s\n  %*s^\n", (int)(end - start), text + start, (int)caret, "");
}

bool cli_color(FILE *f)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        return false;
    return isatty(fileno(f));
}

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

static void usage(FILE *out)
{
    fputs("tracecheck - trace-based testing\n\n"
          "Usage: tracecheck COMMAND [ARGS...]\n\nCommands:\n",
          out);
    for (const cli_command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fputs("  help       show help for a command\n\n"
          "Options:\n  --version  print the version\n  -h, --help show this help\n\n"
          "Run 'tracecheck help COMMAND' or 'tracecheck COMMAND --help' for details.\n",
          out);
}

static const cli_command *find(const char *name)
{
    for (const cli_command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (cli_is_help(cmd)) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("tracecheck %s\n", TRACECHECK_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return EXIT_OK;
        }
        const cli_command *c = find(argv[2]);
        if (!c)
            return cli_usage_error("unknown command '%s' (see 'tracecheck help')", argv[2]);
        c->help(stdout);
        return EXIT_OK;
    }
    const cli_command *c = find(cmd);
    if (!c)
        return cli_usage_error("unknown command '%s' (see 'tracecheck help')", cmd);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (cli_is_help(argv[i])) {
            c->help(stdout);
            return EXIT_OK;
        }
    }
    return c->run(argc - 1, argv + 1);
}
