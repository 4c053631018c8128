/* cmd_datastore.c - `tracecheck datastore check FILE`: can tracecheck reach
 * and read the backend this DataStore names? One line a step, ✔ or ✘, with
 * a hint for the usual mistakes. */
#include "cli.h"
#include "datastore.h"

#include "receiver/spanbuf.h"

#include <string.h>

void help_datastore(FILE *out)
{
    fputs("Usage: tracecheck datastore check FILE\n"
          "       tracecheck datastore show FILE\n\n"
          "show prints what tracecheck reads from the DataStore in FILE (the\n"
          "backend, protocol, endpoint, headers; secrets masked) without\n"
          "connecting.\n\n"
          "Checks the DataStore in FILE (Tracetest's format): resolves the\n"
          "backend's host, connects, and asks for a random trace id through\n"
          "the same client runs use (TLS, authentication and the query API in\n"
          "one request; \"not found\" is success). Prints one line a step and a\n"
          "hint for the usual mistakes (16686 vs 16685, http vs https, a\n"
          "missing tenant header).\n\n"
          "Exit status: 0 the backend can be read, 2 bad input or usage, 3 a\n"
          "step failed.\n",
          out);
}

int cmd_datastore(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("datastore: say what to do: datastore check FILE (see 'tracecheck datastore --help')");
    bool show = strcmp(argv[1], "show") == 0;
    if (strcmp(argv[1], "check") != 0 && !show)
        return cli_usage_error("datastore: unknown subcommand '%s' (datastore check FILE, datastore show FILE)",
                               argv[1]);
    if (argc != 3)
        return cli_usage_error("datastore %s: give one DataStore file", argv[1]);
    arena *a = arena_new(0);
    if (!a)
        return EXIT_RUN;
    source_config *cfg = NULL;
    int status = cli_datastore_load(argv[2], a, &cfg);
    if (status) {
        arena_free(&a);
        return status;
    }
    if (show) {
        tc_buf out;
        buf_init(&out, 0);
        source_config_dump(cfg, a, &out);
        fwrite(buf_str(&out), 1, out.len, stdout);
        buf_free(&out);
        arena_free(&a);
        return EXIT_OK;
    }
    bool color = cli_color(stdout);
    const char *ok = color ? "\033[32m✔\033[0m" : "✔", *bad = color ? "\033[31m✘\033[0m" : "✘";
    printf("%s (%s) at %s\n", cfg->name ? cfg->name : argv[2], cfg->type_name, source_endpoint_label(cfg, a));
    source_check_step *steps;
    size_t n = source_check(cfg, a, spanbuf_now_ns() + 15000000000ull, &steps);
    status = EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        printf("%s %-16s %s\n", steps[i].ok ? ok : bad, steps[i].what, steps[i].detail ? steps[i].detail : "");
        if (steps[i].hint)
            printf("  hint: %s\n", steps[i].hint);
        if (!steps[i].ok)
            status = EXIT_RUN;
    }
    if (n == 0)
        status = EXIT_RUN;
    arena_free(&a);
    return status;
}
