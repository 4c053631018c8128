/* cmd_run.c - `tracecheck run FILE... --trace TRACEFILE`: loads Tests,
 * TestSuites and VariableSets, evaluates every test's specs and outputs on
 * a saved trace, and reports (pretty, JSON, JUnit). */
#include "cli.h"
#include "load.h"

#include "codec/limits.h"
#include "core/sel.h"
#include "core/spec.h"
#include "report/report.h"
#include "resource/resource.h"
#include "run/vars.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void help_run(FILE *out)
{
    fputs("Usage: tracecheck run [OPTIONS] FILE...\n\n"
          "Runs the tests in FILE(s): Tracetest resource files of type Test,\n"
          "TestSuite (or Transaction) and VariableSet (or Environment). Tests run in\n"
          "the order given; a suite runs its steps in order; outputs of a test\n"
          "become variables for the tests after it.\n\n"
          "Options:\n"
          "  --trace TRACEFILE      evaluate on a saved trace (any format tracecheck\n"
          "                         reads) instead of triggering the system\n"
          "  --var KEY=VALUE        set a variable (repeatable; wins over --vars)\n"
          "  --vars FILE            a VariableSet file\n"
          "  --format pretty|json   report format on stdout (default pretty)\n"
          "  --junit FILE           also write a JUnit XML report to FILE\n"
          "  -h, --help             show this help\n\n"
          "Exit status: 0 all passed, 1 a spec failed, 2 bad input or usage,\n"
          "3 run error (trigger failed, trace not found).\n",
          out);
}

/* One test to run, with where it came from. */
typedef struct planned {
    const res_test *test;
    const res_file *file;
} planned;

typedef struct plan {
    res_file **files; /* loaded files (owned) */
    size_t n_files, cap_files;
    planned *tests;
    size_t n_tests, cap_tests;
} plan;

static void plan_free(plan *p)
{
    for (size_t i = 0; i < p->n_files; i++)
        res_file_free(&p->files[i]);
    free(p->files);
    free(p->tests);
    memset(p, 0, sizeof *p);
}

/* ${NAME} in a resource file: the process environment; an unset name
 * becomes "" (as in Tracetest) with a warning naming it and its place. */
typedef struct subst_ctx {
    const char *path;
    const char *text;
    size_t len;
} subst_ctx;

static const char *env_lookup(void *user, const char *name)
{
    const char *v = getenv(name);
    if (v)
        return v;
    const subst_ctx *sc = user;
    char ref[300];
    snprintf(ref, sizeof ref, "${%s}", name);
    const char *at = memmem(sc->text, sc->len, ref, strlen(ref));
    int line = 1, col = 1;
    for (const char *q = sc->text; at && q < at; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    fprintf(stderr, "%s:%d:%d: warning: environment variable \"%s\" is not set; using \"\"\n", sc->path, line, col,
            name);
    return "";
}

/* Loads one resource file, with ${NAME} replaced from the environment. */
static int load_resource(plan *p, const char *path, res_file **out)
{
    char *text = NULL;
    size_t len = 0;
    tc_error e;
    int rc = cli_read_file(path, RES_MAX_FILE, &text, &len, &e);
    if (rc) {
        cli_print_error(path, &e, NULL, 0);
        return rc;
    }
    tc_buf subst;
    buf_init(&subst, RES_MAX_FILE);
    subst_ctx sc = {path, text, len};
    rc = res_subst_env(text, len, env_lookup, &sc, &subst, &e);
    if (rc) {
        tc_error_locate(&e, text, len);
        cli_print_error(path, &e, text, len);
    } else {
        rc = res_load_buffer(path, buf_str(&subst), subst.len, out, &e);
        if (rc)
            cli_print_error(path, &e, buf_str(&subst), subst.len);
    }
    if (!rc) {
        for (size_t i = 0; i < (*out)->n_warnings; i++)
            fprintf(stderr, "%s:%d:%d: warning: %s\n", path, (*out)->warnings[i].line,
                    (*out)->warnings[i].col, (*out)->warnings[i].msg);
        if (p->n_files == p->cap_files) {
            size_t cap = p->cap_files ? p->cap_files * 2 : 8;
            res_file **f = realloc(p->files, cap * sizeof *f);
            if (!f) {
                res_file_free(out);
                rc = TC_ERR_NOMEM;
            } else {
                p->files = f;
                p->cap_files = cap;
            }
        }
        if (!rc)
            p->files[p->n_files++] = *out;
    }
    buf_free(&subst);
    free(text);
    return rc;
}

static int add_test(plan *p, const res_test *t, const res_file *f)
{
    if (p->n_tests == p->cap_tests) {
        size_t cap = p->cap_tests ? p->cap_tests * 2 : 16;
        planned *n = realloc(p->tests, cap * sizeof *n);
        if (!n)
            return TC_ERR_NOMEM;
        p->tests = n;
        p->cap_tests = cap;
    }
    p->tests[p->n_tests++] = (planned){t, f};
    return 0;
}

static const res_test *find_test_by_id(const plan *p, const char *id)
{
    for (size_t i = 0; i < p->n_files; i++)
        for (size_t k = 0; k < p->files[i]->n_items; k++) {
            const res_resource *r = &p->files[i]->items[k];
            if (r->kind == RES_TEST && r->u.test->id.s && strcmp(r->u.test->id.s, id) == 0)
                return r->u.test;
        }
    return NULL;
}

static const char *join_path(char *buf, size_t n, const char *base, const char *rel)
{
    if (rel[0] == '/' || !base || strcmp(base, ".") == 0)
        snprintf(buf, n, "%s", rel);
    else
        snprintf(buf, n, "%s/%s", base, rel);
    return buf;
}

/* Adds a suite's steps: a step is a test id (of a file already loaded) or
 * a path relative to the suite's file. */
static int add_suite(plan *p, const res_suite *s, const res_file *f, vars *v, int depth)
{
    for (size_t i = 0; i < s->n_steps; i++) {
        const char *step = s->steps[i].s;
        const res_test *t = find_test_by_id(p, step);
        if (t) {
            if (add_test(p, t, f))
                return TC_ERR_NOMEM;
            continue;
        }
        char path[4096];
        join_path(path, sizeof path, f->base_dir, step);
        if (access(path, R_OK) != 0) {
            fprintf(stderr, "%s:%d:%d: suite step '%s' is neither a loaded test id nor a readable file\n",
                    f->name, s->steps[i].line, s->steps[i].col, step);
            return TC_ERR_INPUT;
        }
        res_file *sf = NULL;
        if (load_resource(p, path, &sf))
            return TC_ERR_INPUT;
        for (size_t k = 0; k < sf->n_items; k++) {
            const res_resource *r = &sf->items[k];
            if (r->kind == RES_TEST && add_test(p, r->u.test, sf))
                return TC_ERR_NOMEM;
            if (r->kind == RES_TESTSUITE) {
                if (depth > 8) {
                    fprintf(stderr, "%s: suites nested more than 8 deep\n", sf->name);
                    return TC_ERR_LIMIT;
                }
                if (add_suite(p, r->u.suite, sf, v, depth + 1))
                    return TC_ERR_INPUT;
            }
        }
    }
    return 0;
}

static void add_varset(vars *v, const res_varset *vs, const char *origin)
{
    for (size_t i = 0; i < vs->n_values; i++) {
        const res_var *x = &vs->values[i];
        if (!x->key.s)
            continue;
        bool secret = x->secret.v || (x->type.s && strcmp(x->type.s, "secret") == 0);
        vars_set(v, x->key.s, x->value.s ? x->value.s : "", secret, origin);
    }
}

static int64_t clock_now(void *user)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t random_next(void *user)
{
    static uint64_t s;
    (void)user;
    if (!s) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ull;
    }
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Prints "FILE:LINE:COL: what: message" for an error inside a YAML value,
 * with the value and a caret under the error's column. */
static void value_error(const char *file, const res_str *where, const char *what, const char *src,
                        const tc_error *e)
{
    int col = where->col + (e->col > 0 ? e->col - 1 : 0);
    const char *msg = e->msg;
    if (strncmp(msg, "column ", 7) == 0 && strstr(msg, ": ")) /* the column is in the location */
        msg = strstr(msg, ": ") + 2;
    fprintf(stderr, "%s:%d:%d: warning: %s (the spec fails): %s\n  %s\n  %*s^\n", file, where->line, col,
            what, msg, src,
            e->col > 0 ? e->col - 1 : 0, "");
}

/* Parses every selector, assertion and output value of the planned tests
 * up front, so a typo is reported with its place in the file before
 * anything runs. Tracetest runs such a test and fails the spec; so do we
 * (real-world files have them), after this warning. Returns the number of
 * problems. */
static int validate(const plan *p)
{
    int errors = 0;
    for (size_t i = 0; i < p->n_tests; i++) {
        const res_test *t = p->tests[i].test;
        const char *file = p->tests[i].file->name;
        for (size_t k = 0; k < t->n_specs + t->n_outputs; k++) {
            bool is_spec = k < t->n_specs;
            const res_str *sel = is_spec ? &t->specs[k].selector : &t->outputs[k - t->n_specs].selector;
            tc_error e;
            sel_query *q = NULL;
            const char *src = sel->s ? sel->s : "";
            if (sel_parse(src, strlen(src), &q, &e)) {
                value_error(file, sel, "invalid selector", src, &e);
                errors++;
            }
            sel_free(&q);
            size_t n_expr = is_spec ? t->specs[k].n_assertions : 1;
            for (size_t m = 0; m < n_expr; m++) {
                const res_str *x = is_spec ? &t->specs[k].assertions[m] : &t->outputs[k - t->n_specs].value;
                const char *xs = x->s ? x->s : "";
                expr *ex = NULL;
                if (expr_parse(xs, strlen(xs), is_spec ? EXPR_PARSE_STATEMENT : EXPR_PARSE_EXPRESSION, &ex, &e)) {
                    value_error(file, x, is_spec ? "invalid assertion" : "invalid output value", xs, &e);
                    errors++;
                }
                expr_free(&ex);
            }
        }
    }
    return errors;
}

/* Chooses the trace a test is evaluated on: the one its traceid trigger
 * names, else the only trace in the file. */
static trace *pick_trace(trace_set *ts, const res_test *t, const spec_env *env, arena *a,
                         const char **why)
{
    if (t->trigger.type == RES_TRIG_TRACEID && t->trigger.traceid.id.s) {
        expr_ctx ctx = {.var = env->var, .env = env->env, .user = env->user};
        const char *id = NULL;
        tc_error e;
        const char *src = t->trigger.traceid.id.s;
        if (expr_interpolate(src, strlen(src), &ctx, a, &id, &e) == 0) {
            uint8_t tid[TRACE_ID_LEN];
            if (strlen(id) == 32 && hex_decode(id, 32, tid, TRACE_ID_LEN) == 0) {
                trace *tr = trace_set_find(ts, tid);
                if (tr)
                    return tr;
                *why = "the trace id of the test's traceid trigger is not in the trace file";
                return NULL;
            }
        }
    }
    if (trace_set_count(ts) == 1)
        return trace_set_at(ts, 0);
    *why = trace_set_count(ts) == 0 ? "the trace file has no spans"
                                     : "the trace file has several traces and the test names none "
                                       "(use a traceid trigger)";
    return NULL;
}

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"trace", required_argument, NULL, 't'}, {"var", required_argument, NULL, 'v'},
        {"vars", required_argument, NULL, 'V'},  {"format", required_argument, NULL, 'f'},
        {"junit", required_argument, NULL, 'j'}, {NULL, 0, NULL, 0},
    };
    const char *trace_file = NULL, *junit = NULL;
    bool json = false;
    const char *var_args[256];
    int n_var_args = 0;
    const char *vars_files[64];
    int n_vars_files = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            trace_file = optarg;
            break;
        case 'v':
            if (n_var_args == 256)
                return cli_usage_error("run: more than 256 --var flags");
            var_args[n_var_args++] = optarg;
            break;
        case 'V':
            if (n_vars_files == 64)
                return cli_usage_error("run: more than 64 --vars files");
            vars_files[n_vars_files++] = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "pretty") != 0)
                return cli_usage_error("run: --format must be pretty or json, not '%s'", optarg);
            break;
        case 'j':
            junit = optarg;
            break;
        default:
            return cli_usage_error("run: unknown option '%s' (see 'tracecheck run --help')", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("run: no test file given (see 'tracecheck run --help')");
    if (!trace_file)
        return cli_usage_error("run: live runs (trigger + trace collection) are not available yet; "
                               "evaluate on a saved trace with --trace TRACEFILE");

    int status = EXIT_USAGE;
    plan p;
    memset(&p, 0, sizeof p);
    vars v;
    vars_init(&v);
    trace_set *ts = NULL;
    arena *a = NULL;
    report_test *reports = NULL;
    spec_run *runs = NULL;

    /* variables: --vars files, then the VariableSets among FILEs, then --var */
    for (int i = 0; i < n_vars_files; i++) {
        res_file *f = NULL;
        if (load_resource(&p, vars_files[i], &f))
            goto out;
        bool any = false;
        for (size_t k = 0; k < f->n_items; k++)
            if (f->items[k].kind == RES_VARSET) {
                add_varset(&v, f->items[k].u.varset, vars_files[i]);
                any = true;
            }
        if (!any) {
            fprintf(stderr, "%s: no VariableSet in this file\n", vars_files[i]);
            goto out;
        }
    }
    size_t first_file = p.n_files;
    for (int i = optind; i < argc; i++) {
        res_file *f = NULL;
        if (load_resource(&p, argv[i], &f))
            goto out;
    }
    for (size_t i = first_file; i < p.n_files; i++)
        for (size_t k = 0; k < p.files[i]->n_items; k++)
            if (p.files[i]->items[k].kind == RES_VARSET)
                add_varset(&v, p.files[i]->items[k].u.varset, p.files[i]->name);
    for (int i = 0; i < n_var_args; i++) {
        tc_error e;
        if (vars_set_assignment(&v, var_args[i], "--var", &e)) {
            cli_usage_error("run: --var: %s", e.msg);
            goto out;
        }
    }
    size_t n_given = p.n_files;
    for (size_t i = first_file; i < n_given; i++) {
        res_file *f = p.files[i];
        for (size_t k = 0; k < f->n_items; k++) {
            const res_resource *r = &f->items[k];
            if (r->kind == RES_TEST && add_test(&p, r->u.test, f))
                goto out;
            if (r->kind == RES_TESTSUITE && add_suite(&p, r->u.suite, f, &v, 0))
                goto out;
        }
    }
    if (p.n_tests == 0) {
        cli_usage_error("run: no Test or TestSuite in the given files");
        goto out;
    }
    validate(&p);

    ts = trace_set_new(0);
    a = arena_new(0);
    if (!ts || !a || cli_load_traces(ts, (char **)&trace_file, 1, TF_AUTO) || trace_set_index(ts))
        goto out;

    reports = calloc(p.n_tests, sizeof *reports);
    runs = calloc(p.n_tests, sizeof *runs);
    if (!reports || !runs)
        goto out;
    spec_env env = {vars_lookup_var, vars_lookup_env, &v, clock_now, random_next, NULL};
    for (size_t i = 0; i < p.n_tests; i++) {
        const res_test *t = p.tests[i].test;
        report_test *rt = &reports[i];
        uint64_t t0 = mono_ns();
        rt->name = t->name.s ? t->name.s : t->id.s;
        rt->id = t->id.s;
        rt->file = p.tests[i].file->name;
        const char *why = NULL;
        trace *tr = pick_trace(ts, t, &env, a, &why);
        if (!tr) {
            rt->state = "TRACE_FAILED";
            rt->error = why;
            rt->duration_ns = mono_ns() - t0;
            continue;
        }
        char *tid = arena_alloc(a, 33);
        hex_encode(tr->trace_id, TRACE_ID_LEN, tid);
        rt->trace_id = tid;
        spec_def *defs = arena_calloc(a, t->n_specs ? t->n_specs : 1, sizeof *defs);
        output_def *outs = arena_calloc(a, t->n_outputs ? t->n_outputs : 1, sizeof *outs);
        for (size_t k = 0; k < t->n_specs; k++) {
            const res_spec *s = &t->specs[k];
            const char **as = arena_calloc(a, s->n_assertions ? s->n_assertions : 1, sizeof *as);
            for (size_t m = 0; m < s->n_assertions; m++)
                as[m] = s->assertions[m].s ? s->assertions[m].s : "";
            defs[k] = (spec_def){s->name.s, s->selector.s, as, (uint32_t)s->n_assertions};
        }
        for (size_t k = 0; k < t->n_outputs; k++)
            outs[k] = (output_def){t->outputs[k].name.s, t->outputs[k].selector.s, t->outputs[k].value.s};
        if (spec_evaluate(ts, tr, defs, (uint32_t)t->n_specs, outs, (uint32_t)t->n_outputs, &env, a, &runs[i])) {
            cli_usage_error("out of memory");
            goto out;
        }
        rt->state = "FINISHED";
        rt->run = &runs[i];
        for (uint32_t k = 0; k < runs[i].n_outputs; k++)
            if (runs[i].outputs[k].value && runs[i].outputs[k].name)
                vars_set(&v, runs[i].outputs[k].name, runs[i].outputs[k].value, false, "output");
        rt->duration_ns = mono_ns() - t0;
    }

    tc_buf out;
    buf_init(&out, 0);
    if (json)
        report_json(&out, reports, p.n_tests);
    else
        report_pretty(&out, reports, p.n_tests, cli_color(stdout));
    fwrite(buf_str(&out), 1, out.len, stdout);
    fflush(stdout);
    status = EXIT_OK;
    if (junit) {
        buf_reset(&out);
        report_junit(&out, reports, p.n_tests);
        FILE *jf = fopen(junit, "w");
        if (!jf || fwrite(buf_str(&out), 1, out.len, jf) != out.len) {
            fprintf(stderr, "tracecheck: cannot write %s\n", junit);
            status = EXIT_USAGE;
        }
        if (jf && fclose(jf) != 0)
            status = EXIT_USAGE;
    }
    buf_free(&out);
    if (status == EXIT_OK) {
        report_summary s;
        report_summarize(reports, p.n_tests, &s);
        status = s.errors ? EXIT_RUN : s.failed ? EXIT_FAILED : EXIT_OK;
    }
out:
    free(reports);
    free(runs);
    arena_free(&a);
    trace_set_free(&ts);
    vars_free(&v);
    plan_free(&p);
    return status;
}
