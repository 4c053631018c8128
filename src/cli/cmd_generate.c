/* cmd_generate.c - `tracecheck generate TRACE`: writes a runnable Test
 * (Tracetest YAML) for a recorded trace, every selector and assertion
 * checked on that trace, and the YAML checked to load back. */
#include "cli.h"
#include "load.h"

#include "core/generate.h"
#include "resource/resource.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cmd_generate(int argc, char **argv);
void help_generate(FILE *out);

void help_generate(FILE *out)
{
    fputs("Usage: tracecheck generate [OPTIONS] TRACEFILE...\n\n"
          "Writes a Test (Tracetest YAML) for a recorded trace: one spec for each span\n"
          "that matters (the entry span, every outgoing call, database statement,\n"
          "message published or received, and error span; the trigger's response\n"
          "when the trace has the trigger span), identical spans in one spec with\n"
          "their count, and one counting the spans with an error status. Every\n"
          "selector is matched on the trace and picks exactly its spans; every\n"
          "assertion (status codes, database system and statement, messaging\n"
          "destination, errors, a duration bound with headroom) passes on it. The\n"
          "trigger comes from the entry span's HTTP or gRPC attributes when they\n"
          "are recorded, else it is a traceid trigger. TRACEFILE is any trace file\n"
          "tracecheck reads; the trace may have at most 100000 spans.\n\n"
          "Options:\n"
          "  --test-name NAME       the test's name (default: service and entry span)\n"
          "  --id ID                the test's id (default: generated-<trace id>)\n"
          "  --headroom F           duration bounds are F times the recorded ones,\n"
          "                         rounded up (default 2x; 1 to 1000)\n"
          "  --trigger auto|traceid where the trigger comes from (default auto)\n"
          "  --trace-id ID          the trace to use when the files hold several\n"
          "  -o, --output FILE      write the test to FILE (written whole or not at all;\n"
          "                         default or -: standard output)\n"
          "  -h, --help             show this help\n\n"
          "What was left out (a span no selector isolates, an assertion that does\n"
          "not hold) is said on standard error.\n\n"
          "Exit status: 0 written, 2 bad input or usage, 3 the test could not be\n"
          "written or does not load back.\n",
          out);
}

/* Loads the files and picks the trace (printing why not). */
static trace *pick(trace_set *ts, char **files, int n, const char *trace_id)
{
    if (cli_load_traces(ts, files, n, TF_AUTO) || trace_set_index(ts))
        return NULL;
    if (trace_id) {
        uint8_t id[TRACE_ID_LEN];
        if (strlen(trace_id) != 32 || hex_decode(trace_id, 32, id, TRACE_ID_LEN)) {
            cli_usage_error("generate: --trace-id must be 32 hex digits");
            return NULL;
        }
        trace *t = trace_set_find(ts, id);
        if (!t)
            cli_usage_error("generate: trace %s is not in the given files", trace_id);
        return t;
    }
    if (trace_set_count(ts) == 1)
        return trace_set_at(ts, 0);
    if (trace_set_count(ts) == 0)
        cli_usage_error("generate: the files hold no spans");
    else
        cli_usage_error("generate: the files hold %u traces: choose one with --trace-id",
                        trace_set_count(ts));
    return NULL;
}

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The YAML loads back with the resource loader into the same test. */
static int check_loads_back(const gen_test *g, const char *text, size_t len, tc_error *e)
{
    res_file *rf = NULL;
    int rc = res_load_buffer("generated.yaml", text, len, &rf, e);
    if (rc)
        return rc;
    rc = TC_ERR_INPUT;
    if (rf->n_items != 1 || rf->items[0].kind != RES_TEST) {
        tc_error_set(e, rc, "the generated YAML is not one Test");
        goto out;
    }
    const res_test *t = rf->items[0].u.test;
    bool ok = same(t->id.s, g->id) && same(t->name.s, g->name) && t->n_specs == g->n_specs;
    for (size_t i = 0; ok && i < t->n_specs; i++) {
        const res_spec *s = &t->specs[i];
        ok = same(s->name.s, g->specs[i].name) && same(s->selector.s, g->specs[i].selector) &&
             s->n_assertions == g->specs[i].n_assertions;
        for (size_t j = 0; ok && j < s->n_assertions; j++)
            ok = same(s->assertions[j].s, g->specs[i].assertions[j]);
    }
    if (ok && g->trigger.type == GEN_TRIG_HTTP)
        ok = same(t->trigger.http.url.s, g->trigger.url) && same(t->trigger.http.method.s, g->trigger.method);
    if (ok && g->trigger.type == GEN_TRIG_TRACEID)
        ok = t->trigger.type == RES_TRIG_TRACEID && same(t->trigger.traceid.id.s, g->trigger.trace_id);
    if (!ok) {
        tc_error_set(e, rc, "the generated YAML does not load back into the same test");
        goto out;
    }
    rc = 0;
out:
    res_file_free(&rf);
    return rc;
}

/* Writes data to path through a temporary file and a rename, so a failure
 * leaves no half-written file; a path that is not a regular file (a
 * terminal, a pipe, /dev/stdout) is written in place. */
static int write_file(const char *path, const char *data, size_t len)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        FILE *f = fopen(path, "wb");
        if (!f)
            return -1;
        bool ok = fwrite(data, 1, len, f) == len;
        return fclose(f) == 0 && ok ? 0 : -1;
    }
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return -1;
    snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    FILE *f = fdopen(fd, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f)
        ok = fclose(f) == 0 && ok;
    else
        close(fd);
    if (ok && rename(tmp, path) == 0) {
        free(tmp);
        return 0;
    }
    remove(tmp);
    free(tmp);
    return -1;
}

int cmd_generate(int argc, char **argv)
{
    enum { O_NAME = 256, O_ID, O_HEADROOM, O_TRIGGER, O_TRACE_ID };
    static const struct option opts[] = {
        {"test-name", required_argument, NULL, O_NAME},
        {"id", required_argument, NULL, O_ID},
        {"headroom", required_argument, NULL, O_HEADROOM},
        {"trigger", required_argument, NULL, O_TRIGGER},
        {"trace-id", required_argument, NULL, O_TRACE_ID},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    gen_opts go;
    memset(&go, 0, sizeof go);
    const char *trace_id = NULL, *outfile = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case O_NAME:
            go.test_name = optarg;
            break;
        case O_ID:
            if (!*optarg)
                return cli_usage_error("generate: --id must not be empty");
            go.test_id = optarg;
            break;
        case O_HEADROOM:
            if (gen_parse_headroom(optarg, &go.headroom))
                return cli_usage_error(
                    "generate: --headroom wants a factor from 1 to 1000, like 2x (got '%s')", optarg);
            break;
        case O_TRIGGER:
            if (strcmp(optarg, "auto") == 0)
                go.trigger = GEN_TRIGGER_AUTO;
            else if (strcmp(optarg, "traceid") == 0)
                go.trigger = GEN_TRIGGER_TRACEID;
            else
                return cli_usage_error("generate: --trigger is auto or traceid (got '%s')", optarg);
            break;
        case O_TRACE_ID:
            trace_id = optarg;
            break;
        case 'o':
            outfile = optarg;
            break;
        default:
            return cli_usage_error(
                "generate: unknown option or missing value '%s' (see 'tracecheck generate --help')",
                argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("generate: want a trace file (see 'tracecheck generate --help')");

    int status = EXIT_USAGE;
    trace_set *ts = trace_set_new(0);
    arena *a = arena_new(0);
    tc_buf out;
    buf_init(&out, 0);
    trace *t = ts && a ? pick(ts, argv + optind, argc - optind, trace_id) : NULL;
    if (!t)
        goto done;
    gen_test g;
    tc_error e;
    int rc = gen_generate(ts, t, &go, a, &g, &e);
    if (rc) {
        fprintf(stderr, "tracecheck: generate: %s\n", e.msg);
        status = rc == TC_ERR_NOMEM ? EXIT_RUN : EXIT_USAGE;
        goto done;
    }
    for (uint32_t i = 0; i < g.n_notes; i++)
        fprintf(stderr, "tracecheck: generate: note: %s\n", g.notes[i]);
    if (g.n_notes_dropped)
        fprintf(stderr, "tracecheck: generate: note: %u more notes\n", g.n_notes_dropped);
    status = EXIT_RUN;
    if (gen_write_yaml(&g, &out)) {
        fprintf(stderr, "tracecheck: generate: out of memory\n");
        goto done;
    }
    if (check_loads_back(&g, buf_str(&out), out.len, &e)) {
        if (e.line > 0)
            fprintf(stderr, "tracecheck: generate: the generated YAML, line %d:%d: %s\n", e.line, e.col,
                    e.msg);
        else
            fprintf(stderr, "tracecheck: generate: %s\n", e.msg);
        goto done;
    }
    if (outfile && strcmp(outfile, "-") != 0) {
        if (write_file(outfile, buf_str(&out), out.len)) {
            fprintf(stderr, "tracecheck: generate: cannot write %s\n", outfile);
            goto done;
        }
    } else if (fwrite(buf_str(&out), 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        fprintf(stderr, "tracecheck: generate: cannot write the test\n");
        goto done;
    }
    status = EXIT_OK;
done:
    buf_free(&out);
    arena_free(&a);
    trace_set_free(&ts);
    return status;
}
