/* cmd_diff.c - `tracecheck diff A B`: two traces (files, or run ids of a
 * server) compared by shape, attributes, status and duration
 * (core/diff.h); and the baselines of `tracecheck run --baseline DIR`. */
#include "cli.h"
#include "client.h"
#include "load.h"

#include "codec/limits.h"
#include "core/diff.h"
#include "report/report.h"
#include "run/mask.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DIFF_MAX_IGNORE 256

void help_diff(FILE *out)
{
    fputs("Usage: tracecheck diff [OPTIONS] A B\n\n"
          "Compares two traces by shape: spans are matched by their path of\n"
          "(service, name, kind) from the top of the trace, repeated siblings in\n"
          "start order; names are compared with ids replaced ({n}, {uuid}, {hex}),\n"
          "so GET /orders/42 and GET /orders/43 match. Prints the spans only in A\n"
          "or only in B, sibling counts that changed (an N+1 query appearing), and\n"
          "on matched spans the attributes added, removed or changed (ids, times\n"
          "and ports ignored by default), status changes and, with --slower,\n"
          "spans that got slower.\n\n"
          "A and B are trace files in any format tracecheck reads (one trace each),\n"
          "or with a server (--server, TRACECHECK_SERVER) run ids: the trace of\n"
          "GET /api/runs/{id}/trace.\n\n"
          "Options:\n"
          "  --format pretty|json   output format (default pretty)\n"
          "  --slower PCT           report spans more than PCT percent slower in B\n"
          "                         (e.g. 20%); durations are not compared without it\n"
          "  --slower-min DUR       ... and slower by at least DUR (default 1ms)\n"
          "  --ignore KEY           an attribute key not to compare; '*' matches any\n"
          "                         text (repeatable)\n"
          "  --no-default-ignores   compare ids, times and ports too\n"
          "  --exact-values         compare string values as they are (by default ids\n"
          "                         in them are replaced as in names)\n"
          "  --fail-on KINDS        exit 1 on these kinds of change: shape, attributes,\n"
          "                         duration, any, comma-separated (default shape)\n"
          "  --server URL           read run ids from this server\n"
          "  --token-file FILE      the server's bearer token (default: TRACECHECK_TOKEN)\n"
          "  -h, --help             show this help\n\n"
          "Exit status: 0 no change of the kinds --fail-on names, 1 such a change,\n"
          "2 bad input or usage, 3 the server could not be reached.\n",
          out);
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Reads one side: a file, or a run id from the server. Prints what went
 * wrong and returns an exit code. */
static int load_side(const char *arg, const char *server, const char *token_file, client **cl, trace_set *ts)
{
    struct stat st;
    bool is_file = strcmp(arg, "-") == 0 || stat(arg, &st) == 0;
    if (!is_file && all_digits(arg) && client_server_configured(server)) {
        int status = 0;
        if (!*cl && (status = client_from_flags("diff", server, token_file, cl)))
            return status;
        char path[64];
        snprintf(path, sizeof path, "/api/runs/%s/trace", arg);
        client_response r;
        memset(&r, 0, sizeof r);
        tc_error e;
        int rc = client_request(*cl, "GET", path, NULL, "application/x-protobuf", NULL, 0, &r, &e);
        if (rc)
            return client_report_failure(rc, &e);
        if (r.status != 200) {
            char what[96];
            snprintf(what, sizeof what, "diff: the trace of run %s", arg);
            status = client_report_error(*cl, what, &r);
        } else if (tracefile_decode(ts, (const uint8_t *)(r.body ? r.body : ""), r.len, TF_AUTO, NULL, &e)) {
            fprintf(stderr, "tracecheck: diff: the trace of run %s: %s\n", arg, e.msg);
            status = EXIT_RUN;
        }
        client_response_free(&r);
        return status;
    }
    if (!is_file) {
        if (all_digits(arg))
            return cli_usage_error("diff: %s: no such file (a run id needs --server or TRACECHECK_SERVER)",
                                   arg);
        return cli_usage_error("diff: %s: %s", arg, strerror(errno));
    }
    return cli_load_traces(ts, (char **)&arg, 1, TF_AUTO) ? EXIT_USAGE : 0;
}

/* The one trace of a set, or NULL after printing why. */
static trace *only_trace(trace_set *ts, const char *what)
{
    if (trace_set_index(ts)) {
        fprintf(stderr, "tracecheck: diff: out of memory\n");
        return NULL;
    }
    if (trace_set_count(ts) != 1) {
        cli_usage_error(trace_set_count(ts) ? "diff: %s holds %u traces; diff compares one trace with one"
                                            : "diff: %s holds no spans",
                        what, trace_set_count(ts));
        return NULL;
    }
    return trace_set_at(ts, 0);
}

/* "20%", "20", "12.5%" */
static int parse_pct(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || v > 1e6)
        return -1;
    if (*end == '%')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static void side_json(tc_buf *out, const char *source, const trace *t)
{
    char id[33];
    hex_encode(t->trace_id, TRACE_ID_LEN, id);
    buf_puts(out, "{\"source\":");
    buf_json_string(out, source, strlen(source));
    buf_printf(out, ",\"trace_id\":\"%s\"}", id);
}

int cmd_diff(int argc, char **argv)
{
    enum {
        O_SLOWER = 256,
        O_SLOWER_MIN,
        O_IGNORE,
        O_NO_DEFAULTS,
        O_EXACT,
        O_FAIL_ON,
        O_SERVER,
        O_TOKEN,
        O_FORMAT
    };
    static const struct option opts[] = {
        {"format", required_argument, NULL, O_FORMAT},
        {"slower", required_argument, NULL, O_SLOWER},
        {"slower-min", required_argument, NULL, O_SLOWER_MIN},
        {"ignore", required_argument, NULL, O_IGNORE},
        {"no-default-ignores", no_argument, NULL, O_NO_DEFAULTS},
        {"exact-values", no_argument, NULL, O_EXACT},
        {"fail-on", required_argument, NULL, O_FAIL_ON},
        {"server", required_argument, NULL, O_SERVER},
        {"token-file", required_argument, NULL, O_TOKEN},
        {NULL, 0, NULL, 0},
    };
    const char *ignore[DIFF_MAX_IGNORE];
    diff_opts o = {.ignore = ignore, .slower_pct = -1};
    const char *server = NULL, *token_file = NULL;
    bool json = false;
    int fail_on = DIFF_SHAPE;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_FORMAT:
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "pretty") != 0)
                return cli_usage_error("diff: --format must be pretty or json, not '%s'", optarg);
            break;
        case O_SLOWER:
            if (parse_pct(optarg, &o.slower_pct))
                return cli_usage_error("diff: --slower wants a percentage like 20%%, not '%s'", optarg);
            break;
        case O_SLOWER_MIN:
            if (cli_parse_duration(optarg, &o.slower_min_ns))
                return cli_usage_error("diff: --slower-min wants a duration like 1ms, not '%s'", optarg);
            break;
        case O_IGNORE:
            if (o.n_ignore == DIFF_MAX_IGNORE)
                return cli_usage_error("diff: more than %d --ignore flags", DIFF_MAX_IGNORE);
            ignore[o.n_ignore++] = optarg;
            break;
        case O_NO_DEFAULTS:
            o.no_default_ignores = true;
            break;
        case O_EXACT:
            o.exact_values = true;
            break;
        case O_FAIL_ON:
            if ((fail_on = diff_kinds_parse(optarg)) < 0)
                return cli_usage_error("diff: --fail-on wants shape, attributes, duration or any, not '%s'",
                                       optarg);
            break;
        case O_SERVER:
            server = optarg;
            break;
        case O_TOKEN:
            token_file = optarg;
            break;
        default:
            return cli_usage_error("diff: unknown option '%s' (see 'tracecheck diff --help')",
                                   argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("diff: want two traces, A and B (see 'tracecheck diff --help')");
    const char *name_a = argv[optind], *name_b = argv[optind + 1];
    int status = EXIT_USAGE;
    client *cl = NULL;
    trace_set *sa = trace_set_new(0), *sb = trace_set_new(0);
    arena *ar = arena_new(0);
    tc_buf out;
    buf_init(&out, 0);
    if (!sa || !sb || !ar) {
        fprintf(stderr, "tracecheck: diff: out of memory\n");
        goto done;
    }
    if ((status = load_side(name_a, server, token_file, &cl, sa)) ||
        (status = load_side(name_b, server, token_file, &cl, sb)))
        goto done;
    status = EXIT_USAGE;
    trace *ta = only_trace(sa, name_a), *tb = ta ? only_trace(sb, name_b) : NULL;
    if (!tb)
        goto done;
    diff_result d;
    tc_error e;
    if (diff_traces(ta, tb, &o, ar, &d, &e)) {
        fprintf(stderr, "tracecheck: %s\n", e.msg);
        status = EXIT_RUN;
        goto done;
    }
    if (json) {
        buf_puts(&out, "{\"a\":");
        side_json(&out, name_a, ta);
        buf_puts(&out, ",\"b\":");
        side_json(&out, name_b, tb);
        buf_puts(&out, ",\"diff\":");
        diff_write_json(&d, &out);
        buf_puts(&out, "}\n");
    } else {
        bool color = cli_color(stdout);
        char ida[33], idb[33];
        hex_encode(ta->trace_id, TRACE_ID_LEN, ida);
        hex_encode(tb->trace_id, TRACE_ID_LEN, idb);
        buf_printf(&out, "%s--- A %s  trace %s%s\n", color ? "\033[2m" : "", name_a, ida,
                   color ? "\033[0m" : "");
        buf_printf(&out, "%s+++ B %s  trace %s%s\n", color ? "\033[2m" : "", name_b, idb,
                   color ? "\033[0m" : "");
        diff_write_text(&d, &out, 0, color);
    }
    if (out.failed) {
        fprintf(stderr, "tracecheck: diff: out of memory\n");
        status = EXIT_RUN;
        goto done;
    }
    fwrite(buf_str(&out), 1, out.len, stdout);
    status = (diff_kinds(&d) & (unsigned)fail_on) ? EXIT_FAILED : EXIT_OK;
done:
    buf_free(&out);
    client_close(&cl);
    arena_free(&ar);
    trace_set_free(&sa);
    trace_set_free(&sb);
    return status;
}

/* ---- run --baseline DIR ---- */

/* DIR/<name>.json with the name's characters outside [A-Za-z0-9._-] as '_'. */
static void baseline_path(char *path, size_t n, const char *dir, const char *name)
{
    char safe[200];
    size_t k = 0;
    for (const char *s = name && *name ? name : "test"; *s && k < sizeof safe - 1; s++)
        safe[k++] = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                            *s == '.' || *s == '-' || *s == '_'
                        ? *s
                        : '_';
    safe[k] = '\0';
    if (safe[0] == '.')
        safe[0] = '_';
    snprintf(path, n, "%s%s%s.json", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", safe);
}

/* The trace t of ts alone, as OTLP JSON with secrets masked (in b). */
static int encode_masked(trace_set *ts, const trace *t, const vars *v, arena *a, tc_buf *b, const char **text)
{
    trace_set *one = trace_set_new(0);
    if (!one)
        return TC_ERR_NOMEM;
    int rc = 0;
    tc_error e;
    for (uint32_t i = 0; !rc && i < t->n_spans; i++)
        rc = trace_set_copy_span(one, t->spans[i], &e);
    if (!rc)
        rc = otlp_json_encode(one, b);
    trace_set_free(&one);
    (void)ts;
    if (rc)
        return rc;
    *text = v ? mask_text(v, buf_str(b), a) : buf_str(b);
    return *text ? 0 : TC_ERR_NOMEM;
}

static int write_atomic(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(text, f) < 0 || fputc('\n', f) == EOF || fclose(f) != 0) {
        int err = errno;
        if (f)
            remove(tmp);
        errno = err;
        return -1;
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        remove(tmp);
        errno = err;
        return -1;
    }
    return 0;
}

static void baseline_result(report_test *rt, arena *a, const char *path, const char *what, const char *detail,
                            bool failed)
{
    tc_buf j;
    buf_init(&j, 4096);
    buf_puts(&j, "{\"file\":");
    buf_json_string(&j, path, strlen(path));
    buf_printf(&j, ",\"%s\":", what);
    if (strcmp(what, "saved") == 0)
        buf_puts(&j, "true");
    else
        buf_json_string(&j, detail, strlen(detail));
    buf_putc(&j, '}');
    rt->baseline = j.failed ? NULL : arena_strdup(a, buf_str(&j));
    buf_free(&j);
    char line[4400];
    if (strcmp(what, "saved") == 0)
        snprintf(line, sizeof line, "baseline saved: %s\n", path);
    else
        snprintf(line, sizeof line, "baseline %s: %s\n", path, detail);
    rt->baseline_text = arena_strdup(a, line);
    rt->baseline_failed = failed;
}

int cli_baseline_check(const char *dir, const char *test, trace_set *ts, const trace *t, unsigned fail_on,
                       const vars *v, arena *a, report_test *rt)
{
    char path[4096];
    baseline_path(path, sizeof path, dir, test);
    tc_buf cur;
    buf_init(&cur, CODEC_MAX_BODY);
    const char *text = NULL;
    int rc = encode_masked(ts, t, v, a, &cur, &text);
    if (rc) {
        buf_free(&cur);
        return rc;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        if (write_atomic(path, text))
            baseline_result(rt, a, path, "error", strerror(errno), true);
        else
            baseline_result(rt, a, path, "saved", NULL, false);
        buf_free(&cur);
        return 0;
    }
    /* compare the trace as it would be saved (masked) with the baseline */
    trace_set *now = trace_set_new(0), *base = trace_set_new(0);
    char *data = NULL;
    size_t len = 0;
    tc_error e;
    rc = now && base ? 0 : TC_ERR_NOMEM;
    if (!rc && (otlp_json_decode(now, text, strlen(text), &e) || trace_set_index(now)))
        rc = TC_ERR_NOMEM;
    if (!rc) {
        const char *why = NULL;
        char msg[TC_ERROR_MSG_MAX + 32];
        if (cli_read_file(path, CODEC_MAX_BODY, &data, &len, &e) == 0 &&
            tracefile_decode(base, (const uint8_t *)data, len, TF_AUTO, NULL, &e) == 0 &&
            trace_set_index(base) == 0) {
            if (trace_set_count(base) != 1)
                why = "the baseline does not hold exactly one trace";
        } else {
            if (e.line > 0)
                snprintf(msg, sizeof msg, "%d:%d: %s", e.line, e.col, e.msg);
            else
                snprintf(msg, sizeof msg, "%s", e.msg);
            why = msg;
        }
        if (why) {
            baseline_result(rt, a, path, "error", why, true);
        } else {
            diff_opts o = {.slower_pct = (fail_on & DIFF_DURATION) ? 20 : -1};
            diff_result d;
            rc = diff_traces(trace_set_at(base, 0), trace_set_at(now, 0), &o, a, &d, &e);
            tc_buf j, txt;
            buf_init(&j, 0);
            buf_init(&txt, 0);
            if (!rc) {
                buf_puts(&j, "{\"file\":");
                buf_json_string(&j, path, strlen(path));
                buf_puts(&j, ",\"diff\":");
                diff_write_json(&d, &j);
                buf_putc(&j, '}');
                tc_buf body;
                buf_init(&body, 0);
                diff_write_text(&d, &body, 3, false);
                unsigned k = diff_kinds(&d);
                buf_printf(&txt, "baseline %s: %s\n", path, k ? "differences" : "no differences");
                if (k) { /* the diff's lines but its first (the counts), indented */
                    const char *s = strchr(buf_str(&body), '\n');
                    for (s = s ? s + 1 : ""; *s;) {
                        const char *nl = strchr(s, '\n');
                        size_t n = nl ? (size_t)(nl - s) : strlen(s);
                        if (n)
                            buf_printf(&txt, "    %.*s\n", (int)n, s);
                        s += n + (nl ? 1 : 0);
                    }
                }
                buf_free(&body);
                rt->baseline = j.failed ? NULL : arena_strdup(a, buf_str(&j));
                rt->baseline_text = txt.failed ? NULL : arena_strdup(a, buf_str(&txt));
                rt->baseline_failed = (k & fail_on) != 0;
                if (!rt->baseline || !rt->baseline_text)
                    rc = TC_ERR_NOMEM;
            }
            buf_free(&j);
            buf_free(&txt);
        }
    }
    free(data);
    trace_set_free(&now);
    trace_set_free(&base);
    buf_free(&cur);
    return rc;
}
