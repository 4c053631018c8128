/* cmd_lint.c - `tracecheck lint [--analyzer FILE] TRACE...` runs the trace
 * analyzer (core/lint.h) over every trace of the files and prints its
 * findings, score and gate (pretty, JSON or JUnit). */
#include "cmd_lint.h"

#include "cli.h"
#include "load.h"
#include "report/report.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

void help_lint(FILE *out)
{
    fputs("Usage: tracecheck lint [OPTIONS] TRACEFILE...\n\n"
          "Runs the trace analyzer over every trace of the files (OTLP JSON or\n"
          "protobuf, Jaeger, Zipkin, Tempo...): Tracetest's analyzer plugins\n"
          "(standards, common, security) brought up to today's OpenTelemetry\n"
          "semantic conventions, and tracecheck's structure plugin (N+1 queries,\n"
          "missing parents, clock skew, exceptions, span names holding ids...).\n"
          "Prints the findings grouped by rule, each pointing at a span, and\n"
          "the score: per plugin, the weight of its passing error-level rules\n"
          "out of all its error-level rules; in total, the mean of the plugins.\n\n"
          "Options:\n"
          "  --analyzer FILE     an Analyzer resource (Tracetest's YAML): its plugins,\n"
          "                      rules, weights, levels and minimumScore (default:\n"
          "                      every plugin and rule with its defaults, minimum 0)\n"
          "  --format FMT        pretty (default), json or junit\n"
          "  --min-score N       the minimum score (0..100; beats the file's)\n"
          "  --trace-id ID       lint only this trace of the files\n"
          "  --n-plus-one N      repeats of one statement under a parent that make\n"
          "                      an N+1 finding (default 5)\n"
          "  --skew DURATION     clock-skew tolerance (default 1ms)\n"
          "  -h, --help          show this help\n\n"
          "Exit status: 0 every trace passed the gate, 1 a score under the minimum\n"
          "or a failing rule of a required plugin, 2 bad input or usage.\n",
          out);
}

const res_analyzer *cli_find_analyzer(res_file *const *files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; files[i] && k < files[i]->n_items; k++)
            if (files[i]->items[k].kind == RES_OTHER && files[i]->items[k].u.analyzer)
                return files[i]->items[k].u.analyzer;
    return NULL;
}

int cli_lint_config(const res_analyzer *an, arena *a, lint_config *out)
{
    memset(out, 0, sizeof *out);
    out->minimum_score = (int)an->minimum_score;
    if (!an->plugins)
        return 0;
    lint_plugin_cfg *pl = arena_calloc(a, an->n_plugins ? an->n_plugins : 1, sizeof *pl);
    if (!pl)
        return TC_ERR_NOMEM;
    for (size_t i = 0; i < an->n_plugins; i++) {
        const res_analyzer_plugin *rp = &an->plugins[i];
        pl[i].id = rp->id.s;
        pl[i].enabled = rp->enabled.v;
        pl[i].required = rp->required.v;
        if (!rp->rules)
            continue;
        lint_rule_cfg *rules = arena_calloc(a, rp->n_rules ? rp->n_rules : 1, sizeof *rules);
        if (!rules)
            return TC_ERR_NOMEM;
        for (size_t k = 0; k < rp->n_rules; k++)
            rules[k] =
                (lint_rule_cfg){rp->rules[k].id.s, (int)rp->rules[k].weight, (lint_level)rp->rules[k].level};
        pl[i].rules = rules;
        pl[i].n_rules = rp->n_rules;
    }
    out->plugins = pl;
    out->n_plugins = an->n_plugins;
    return 0;
}

/* Loads the Analyzer of path into *cfg (allocated in a). Prints errors;
 * returns 0 or EXIT_USAGE. */
static int load_analyzer(const char *path, arena *a, res_file **rf, lint_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    tc_error e = {0};
    e.offset = (size_t)-1;
    if (cli_read_file(path, RES_MAX_FILE, &text, &len, &e)) {
        fprintf(stderr, "tracecheck: lint: %s\n", e.msg);
        return EXIT_USAGE;
    }
    int rc = res_load_buffer(path, text, len, rf, &e);
    if (rc) {
        cli_print_error(path, &e, text, len);
        free(text);
        return EXIT_USAGE;
    }
    free(text);
    for (size_t i = 0; i < (*rf)->n_warnings; i++)
        fprintf(stderr, "%s:%d:%d: warning: %s\n", path, (*rf)->warnings[i].line, (*rf)->warnings[i].col,
                (*rf)->warnings[i].msg);
    const res_analyzer *an = cli_find_analyzer(rf, 1);
    if (!an) {
        fprintf(stderr, "tracecheck: lint: %s holds no Analyzer resource\n", path);
        return EXIT_USAGE;
    }
    if (cli_lint_config(an, a, cfg)) {
        fprintf(stderr, "tracecheck: lint: out of memory\n");
        return EXIT_USAGE;
    }
    return 0;
}

enum { FMT_PRETTY, FMT_JSON, FMT_JUNIT };

int cmd_lint(int argc, char **argv)
{
    static const struct option opts[] = {
        {"analyzer", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, 'f'},
        {"min-score", required_argument, NULL, 'm'},
        {"trace-id", required_argument, NULL, 't'},
        {"n-plus-one", required_argument, NULL, 'n'},
        {"skew", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const char *analyzer = NULL, *trace_id = NULL;
    int format = FMT_PRETTY;
    long min_score = -1, n_plus_one = 0;
    uint64_t skew = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'a':
            analyzer = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "pretty") == 0)
                format = FMT_PRETTY;
            else if (strcmp(optarg, "json") == 0)
                format = FMT_JSON;
            else if (strcmp(optarg, "junit") == 0)
                format = FMT_JUNIT;
            else
                return cli_usage_error("lint: --format must be pretty, json or junit");
            break;
        case 'm':
            min_score = strtol(optarg, &end, 10);
            if (end == optarg || *end || min_score < 0 || min_score > 100)
                return cli_usage_error("lint: --min-score must be a whole number from 0 to 100");
            break;
        case 'n':
            n_plus_one = strtol(optarg, &end, 10);
            if (end == optarg || *end || n_plus_one < 2 || n_plus_one > 1000000)
                return cli_usage_error("lint: --n-plus-one must be a whole number from 2 to 1000000");
            break;
        case 's':
            if (cli_parse_duration(optarg, &skew))
                return cli_usage_error("lint: --skew must be a duration such as 1ms or 250us");
            break;
        case 't':
            trace_id = optarg;
            break;
        default:
            return cli_usage_error("lint: unknown option '%s' (see 'tracecheck lint --help')",
                                   argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("lint: want at least one trace file (see 'tracecheck lint --help')");
    uint8_t want_id[TRACE_ID_LEN];
    if (trace_id && (strlen(trace_id) != 32 || hex_decode(trace_id, 32, want_id, TRACE_ID_LEN)))
        return cli_usage_error("lint: --trace-id must be 32 hex digits");

    int status = EXIT_USAGE;
    arena *a = arena_new(0);
    trace_set *ts = trace_set_new(0);
    res_file *rf = NULL;
    report_test *items = NULL;
    lint_config cfg;
    memset(&cfg, 0, sizeof cfg);
    tc_buf out;
    buf_init(&out, 0);
    if (!a || !ts)
        goto out;
    if (analyzer && load_analyzer(analyzer, a, &rf, &cfg))
        goto out;
    if (min_score >= 0)
        cfg.minimum_score = (int)min_score;
    cfg.n_plus_one = (uint32_t)n_plus_one;
    cfg.skew_ns = skew;
    if (cli_load_traces(ts, argv + optind, argc - optind, TF_AUTO) || trace_set_index(ts))
        goto out;
    uint32_t nt = trace_set_count(ts);
    if (trace_id && !trace_set_find(ts, want_id)) {
        cli_usage_error("lint: trace %s is not in the given files", trace_id);
        goto out;
    }
    if (nt == 0) {
        cli_usage_error("lint: the files hold no spans");
        goto out;
    }
    items = calloc(nt, sizeof *items);
    if (!items)
        goto out;
    size_t n = 0;
    bool all_passed = true;
    for (uint32_t i = 0; i < nt; i++) {
        trace *t = trace_set_at(ts, i);
        if (trace_id && memcmp(t->trace_id, want_id, TRACE_ID_LEN) != 0)
            continue;
        lint_result *lr = NULL;
        tc_error e;
        if (lint_run(&cfg, t, a, &lr, &e)) {
            fprintf(stderr, "tracecheck: lint: %s\n", e.msg);
            goto out;
        }
        char *hex = arena_alloc(a, 33);
        if (!hex)
            goto out;
        hex_encode(t->trace_id, TRACE_ID_LEN, hex);
        items[n].trace_id = hex;
        items[n].lint = lr;
        all_passed = all_passed && lr->passed;
        n++;
    }
    bool color = cli_color(stdout);
    if (format == FMT_JSON) {
        buf_puts(&out, "{\"traces\":[");
        for (size_t i = 0; i < n; i++) {
            buf_printf(&out, "%s\n{\"trace_id\":\"%s\",\"analyzer\":", i ? "," : "", items[i].trace_id);
            report_lint_json(&out, items[i].lint);
            buf_putc(&out, '}');
        }
        buf_printf(&out, "\n],\"passed\":%s}\n", all_passed ? "true" : "false");
    } else if (format == FMT_JUNIT) {
        uint32_t cases = 0, failures = 0;
        for (size_t i = 0; i < n; i++)
            report_lint_junit_counts(items[i].lint, &cases, &failures);
        buf_printf(
            &out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tracecheck lint\" tests=\"%u\" "
            "failures=\"%u\" errors=\"0\" skipped=\"0\" time=\"0\">\n",
            cases, failures);
        for (size_t i = 0; i < n; i++) {
            char name[48];
            snprintf(name, sizeof name, "trace %s", items[i].trace_id);
            report_lint_junit(&out, items[i].lint, name, items[i].trace_id);
        }
        buf_puts(&out, "</testsuites>\n");
    } else {
        uint32_t failed = 0;
        for (size_t i = 0; i < n; i++) {
            buf_printf(&out, "%strace %s%s  %s(%u span%s)%s\n", color ? "\033[1m" : "", items[i].trace_id,
                       color ? "\033[0m" : "", color ? "\033[2m" : "", items[i].lint->n_spans,
                       items[i].lint->n_spans == 1 ? "" : "s", color ? "\033[0m" : "");
            report_lint_pretty(&out, items[i].lint, color, "  ");
            failed += !items[i].lint->passed;
        }
        buf_printf(&out, "\n%zu trace%s: %zu passed, %u failed\n", n, n == 1 ? "" : "s", n - failed, failed);
    }
    if (out.failed) {
        fprintf(stderr, "tracecheck: lint: out of memory\n");
        goto out;
    }
    fwrite(buf_str(&out), 1, out.len, stdout);
    status = all_passed ? EXIT_OK : EXIT_FAILED;
out:
    buf_free(&out);
    free(items);
    res_file_free(&rf);
    trace_set_free(&ts);
    arena_free(&a);
    return status;
}
