/* cmd_select.c - `tracecheck select SELECTOR TRACEFILE...` lists the spans a
 * selector picks, and `tracecheck eval EXPR TRACEFILE... [--span-id ID]`
 * prints the value of an expression: the tools for writing a test. */
#include "cli.h"
#include "load.h"

#include "core/expr.h"
#include "core/sel.h"
#include "core/spanattr.h"
#include "run/vars.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

void help_select(FILE *out)
{
    fputs("Usage: tracecheck select [OPTIONS] SELECTOR TRACEFILE...\n\n"
          "Lists the spans SELECTOR picks in the trace (span id, service, name),\n"
          "in the order specs see them. SELECTOR is written as in a test's\n"
          "`selector:`, e.g. 'span[tracetest.span.type=\"database\"]'.\n\n"
          "Options:\n"
          "  --trace-id ID   the trace to use when the files hold several\n"
          "  --attrs         also print every attribute a spec can see on each span\n"
          "  -h, --help      show this help\n\n"
          "Exit status: 0 at least one span selected, 1 none, 2 bad input.\n",
          out);
}

void help_eval(FILE *out)
{
    fputs("Usage: tracecheck eval [OPTIONS] EXPRESSION TRACEFILE...\n\n"
          "Prints the value of EXPRESSION (as in a test's assertion or output\n"
          "value) on a span of the trace: with --span-id that span, else the\n"
          "first span the --selector picks (default: the first span). A\n"
          "statement with a comparator (attr:x = 1) prints pass or fail with the\n"
          "observed and expected values.\n\n"
          "Options:\n"
          "  --span-id ID        the span to evaluate on\n"
          "  --selector SEL      pick the span with a selector (first match)\n"
          "  --trace-id ID       the trace to use when the files hold several\n"
          "  --var KEY=VALUE     set a variable (repeatable)\n"
          "  -h, --help          show this help\n\n"
          "Exit status: 0 evaluated (and passed), 1 a statement failed,\n"
          "2 bad input or an evaluation error.\n",
          out);
}

/* Loads the trace files and picks the trace. Returns NULL after printing. */
static trace *load_one(trace_set *ts, char **files, int n, const char *trace_id)
{
    if (cli_load_traces(ts, files, n, TF_AUTO) || trace_set_index(ts))
        return NULL;
    if (trace_id) {
        uint8_t id[TRACE_ID_LEN];
        if (strlen(trace_id) != 32 || hex_decode(trace_id, 32, id, TRACE_ID_LEN)) {
            cli_usage_error("--trace-id must be 32 hex digits");
            return NULL;
        }
        trace *t = trace_set_find(ts, id);
        if (!t)
            cli_usage_error("trace %s is not in the given files", trace_id);
        return t;
    }
    if (trace_set_count(ts) == 1)
        return trace_set_at(ts, 0);
    cli_usage_error(trace_set_count(ts) ? "the files hold %u traces: choose one with --trace-id"
                                        : "the files hold no spans (%u traces)",
                    trace_set_count(ts));
    return NULL;
}

static void print_attr(void *user, const char *key, const tc_value *v)
{
    tc_buf *out = user;
    buf_printf(out, "    %s = ", key);
    value_to_text(out, v);
    buf_putc(out, '\n');
}

int cmd_select(int argc, char **argv)
{
    static const struct option opts[] = {
        {"trace-id", required_argument, NULL, 't'},
        {"attrs", no_argument, NULL, 'a'},
        {NULL, 0, NULL, 0},
    };
    const char *trace_id = NULL;
    bool attrs = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 't')
            trace_id = optarg;
        else if (c == 'a')
            attrs = true;
        else
            return cli_usage_error("select: unknown option '%s' (see 'tracecheck select --help')",
                                   argv[optind - 1]);
    }
    if (argc - optind < 2)
        return cli_usage_error("select: want a selector and a trace file (see 'tracecheck select --help')");
    const char *src = argv[optind];
    sel_query *q = NULL;
    tc_error e;
    if (sel_parse(src, strlen(src), &q, &e)) {
        fprintf(stderr, "tracecheck: select: invalid selector: %s\n  %s\n  %*s^\n", e.msg, src,
                e.col > 0 ? e.col - 1 : 0, "");
        return EXIT_USAGE;
    }
    int status = EXIT_USAGE;
    trace_set *ts = trace_set_new(0);
    arena *a = arena_new(0);
    trace *t = ts && a ? load_one(ts, argv + optind + 1, argc - optind - 1, trace_id) : NULL;
    if (t) {
        trace_span **spans;
        uint32_t n;
        int rc = sel_match(q, ts, t, a, &spans, &n);
        if (rc)
            fprintf(stderr, "tracecheck: select: %s\n",
                    rc == TC_ERR_LIMIT ? "the selector needs too much work on this trace" : "out of memory");
        if (rc == 0) {
            tc_buf out;
            buf_init(&out, 0);
            for (uint32_t i = 0; i < n; i++) {
                char id[17];
                hex_encode(spans[i]->span_id, SPAN_ID_LEN, id);
                const char *svc = trace_span_service(spans[i]);
                buf_printf(&out, "%s  %s  %s\n", id, *svc ? svc : "?", spans[i]->name);
                if (attrs)
                    spanattr_each(trace_set_arena(ts), spans[i], print_attr, &out);
            }
            buf_printf(&out, "%u span%s selected\n", n, n == 1 ? "" : "s");
            fwrite(buf_str(&out), 1, out.len, stdout);
            buf_free(&out);
            status = n ? EXIT_OK : EXIT_FAILED;
        }
    }
    sel_free(&q);
    arena_free(&a);
    trace_set_free(&ts);
    return status;
}

typedef struct eval_scope {
    arena *a;
    const trace_span *span;
    uint32_t n_selected;
    char count[16];
} eval_scope;

static int eval_attr(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    eval_scope *s = user;
    if (n == 30 && memcmp(name, "tracetest.selected_spans.count", 30) == 0) {
        snprintf(s->count, sizeof s->count, "%u", s->n_selected);
        *val = s->count;
        *len = strlen(s->count);
        return EXPR_FOUND;
    }
    if (!s->span)
        return EXPR_NO_SPAN;
    tc_value v;
    if (spanattr_get(s->a, s->span, name, n, &v))
        return EXPR_MISSING;
    tc_buf b;
    buf_init(&b, 0);
    value_to_text(&b, &v);
    *val = arena_strndup(s->a, buf_str(&b), b.len);
    *len = b.len;
    buf_free(&b);
    return *val ? EXPR_FOUND : EXPR_MISSING;
}

typedef struct eval_user {
    eval_scope scope;
    vars *v;
} eval_user;

static int eval_attr_u(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    return eval_attr(&((eval_user *)user)->scope, name, n, val, len);
}

static int eval_var_u(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    return vars_lookup_var(((eval_user *)user)->v, name, n, val, len);
}

static int eval_env_u(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    return vars_lookup_env(((eval_user *)user)->v, name, n, val, len);
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"span-id", required_argument, NULL, 's'},
        {"selector", required_argument, NULL, 'S'},
        {"trace-id", required_argument, NULL, 't'},
        {"var", required_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    const char *span_id = NULL, *selector = NULL, *trace_id = NULL;
    vars v;
    vars_init(&v);
    int c, status = EXIT_USAGE;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        tc_error ve;
        switch (c) {
        case 's': span_id = optarg; break;
        case 'S': selector = optarg; break;
        case 't': trace_id = optarg; break;
        case 'v':
            if (vars_set_assignment(&v, optarg, "--var", &ve)) {
                vars_free(&v);
                return cli_usage_error("eval: --var: %s", ve.msg);
            }
            break;
        default:
            vars_free(&v);
            return cli_usage_error("eval: unknown option '%s' (see 'tracecheck eval --help')", argv[optind - 1]);
        }
    }
    if (argc - optind < 2) {
        vars_free(&v);
        return cli_usage_error("eval: want an expression and a trace file (see 'tracecheck eval --help')");
    }
    const char *src = argv[optind];
    expr *x = NULL;
    tc_error e;
    if (expr_parse(src, strlen(src), EXPR_PARSE_ANY, &x, &e)) {
        fprintf(stderr, "tracecheck: eval: %s\n  %s\n  %*s^\n", e.msg, src, e.col > 0 ? e.col - 1 : 0, "");
        vars_free(&v);
        return EXIT_USAGE;
    }
    trace_set *ts = trace_set_new(0);
    arena *a = arena_new(0);
    sel_query *q = NULL;
    trace *t = ts && a ? load_one(ts, argv + optind + 1, argc - optind - 1, trace_id) : NULL;
    if (!t)
        goto out;
    eval_user u = {{trace_set_arena(ts), NULL, 0, {0}}, &v};
    if (span_id) {
        uint8_t id[SPAN_ID_LEN];
        if (strlen(span_id) != 16 || hex_decode(span_id, 16, id, SPAN_ID_LEN)) {
            cli_usage_error("eval: --span-id must be 16 hex digits");
            goto out;
        }
        u.scope.span = trace_find_span(t, id);
        if (!u.scope.span) {
            cli_usage_error("eval: span %s is not in the trace", span_id);
            goto out;
        }
        u.scope.n_selected = 1;
    } else {
        const char *s = selector ? selector : "";
        if (sel_parse(s, strlen(s), &q, &e)) {
            fprintf(stderr, "tracecheck: eval: invalid selector: %s\n", e.msg);
            goto out;
        }
        trace_span **spans;
        uint32_t n;
        if (sel_match(q, ts, t, a, &spans, &n))
            goto out;
        u.scope.span = n ? spans[0] : NULL;
        u.scope.n_selected = n;
    }
    expr_ctx ctx = {.attr = eval_attr_u, .var = eval_var_u, .env = eval_env_u, .user = &u};
    if (expr_comparator(x) != EXPR_CMP_NONE) {
        expr_result r;
        if (expr_eval_statement(x, &ctx, a, &r))
            goto out;
        if (r.error) {
            fprintf(stderr, "tracecheck: eval: %s\n", r.error);
            goto out;
        }
        printf("%s: observed %s, expected %s\n", r.passed ? "pass" : "fail", r.observed, r.expected);
        status = r.passed ? EXIT_OK : EXIT_FAILED;
    } else {
        expr_value val;
        if (expr_eval(x, &ctx, a, &val, &e)) {
            fprintf(stderr, "tracecheck: eval: %s\n", e.msg);
            goto out;
        }
        printf("%s\n", expr_value_text(&val, a));
        status = EXIT_OK;
    }
out:
    sel_free(&q);
    expr_free(&x);
    arena_free(&a);
    trace_set_free(&ts);
    vars_free(&v);
    return status;
}
