/* cmd_run.c - `tracecheck run FILE... --trace TRACEFILE`: loads Tests,
 * TestSuites and VariableSets, evaluates every test's specs and outputs on
 * a saved trace, and reports (pretty, JSON, JUnit). */
#include "cli.h"
#include "client.h"
#include "datastore.h"
#include "load.h"

#include "codec/limits.h"
#include "core/diff.h"
#include "core/sel.h"
#include "core/spec.h"
#include "report/report.h"
#include "cmd_lint.h"
#include "resource/resource.h"
#include "receiver/otlp_grpc.h"
#include "receiver/otlp_http.h"
#include "run/mask.h"
#include "run/runner.h"
#include "run/vars.h"
#include "server/server.h"

#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

void help_run(FILE *out)
{
    fputs("Usage: tracecheck run [OPTIONS] FILE|DIR...\n\n"
          "Runs the tests in FILE(s): Tracetest resource files of type Test,\n"
          "TestSuite (or Transaction), VariableSet (or Environment) and\n"
          "PollingProfile, DataStore. Each test triggers the system (its http\n"
          "trigger, or the trace id of a traceid trigger), collects the trace\n"
          "through the built-in OTLP receiver, or by polling the backend a\n"
          "DataStore names, until it is complete, and evaluates the specs.\n"
          "A DIR stands for every *.yaml and *.yml file below it, in name order;\n"
          "a test found there that a suite of the run also runs runs in the suite.\n"
          "A suite runs its steps in order and stops when a step cannot run;\n"
          "outputs of a test become variables for the tests after it.\n\n"
          "Options:\n"
          "  --trace TRACEFILE      evaluate on a saved trace (any format tracecheck\n"
          "                         reads) instead of triggering the system\n"
          "  --var KEY=VALUE        set a variable (repeatable; wins over --vars)\n"
          "  --vars FILE            a VariableSet file\n"
          "  --timeout DUR          how long to wait for a trace (default 30s, or the\n"
          "                         test's PollingProfile timeout)\n"
          "  --quiet-window DUR     a trace is settled after no span for DUR (250ms)\n"
          "  --otlp-http ADDR       OTLP/HTTP receiver address (127.0.0.1:4318)\n"
          "  --otlp-grpc ADDR       OTLP/gRPC receiver address (127.0.0.1:4317)\n"
          "  --no-receiver          do not start the receivers\n"
          "  --datastore FILE       read traces from the backend of this DataStore\n"
          "                         (jaeger, tempo, zipkin, opensearch, elasticapm,\n"
          "                         awsxray); a DataStore among FILE(s) does the same\n"
          "                         (the one with default: true, or the only one);\n"
          "                         otlp and other collector-fed types: the receiver\n"
          "  --b3                   also send a b3 header with the trigger\n"
          "  --save-trace DIR       write each collected trace to DIR as OTLP JSON\n"
          "  --baseline DIR         keep each test's trace as DIR/<test id>.json the first\n"
          "                         time; afterwards report its diff against that file\n"
          "  --fail-on-diff KINDS   a diff of these kinds fails the test: shape,\n"
          "                         attributes, duration, any (comma-separated)\n"
          "  --format pretty|json   report format on stdout (default pretty)\n"
          "  --junit FILE           also write a JUnit XML report to FILE\n"
          "  --server URL           run on a tracecheck server instead (default: TRACECHECK_SERVER)\n"
          "  --token-file FILE      the server's bearer token (default: TRACECHECK_TOKEN)\n"
          "  --watch                run again each time a file of the tests changes\n"
          "                         (their folders are watched); Ctrl-C stops\n"
          "  -h, --help             show this help\n\n"
          "Environment: TRACECHECK_THREADS=N evaluates large traces with N threads\n"
          "(default: one per processor online, at most 8); TRACECHECK_MAX_BODY=N[K|M|G]\n"
          "caps one answer of a backend (default 256M), TRACECHECK_MAX_SPANS the spans\n"
          "of a polled trace (default 1000000).\n\n"
          "Exit status: 0 all passed, 1 a spec failed, 2 bad input or usage,\n"
          "3 run error (trigger failed, trace not found or incomplete).\n",
          out);
}

/* One test to run, with where it came from. */
typedef struct planned {
    const res_test *test;
    const res_file *file; /* where the test is (base_dir for bodies) */
    int suite;            /* index of the suite run it belongs to, -1 when alone */
    const char *suite_name;
} planned;

typedef struct plan {
    res_file **files; /* loaded files (owned) */
    size_t n_files, cap_files;
    planned *tests;
    size_t n_tests, cap_tests;
    int n_suites;
} plan;

static void plan_free(plan *p)
{
    for (size_t i = 0; i < p->n_files; i++)
        res_file_free(&p->files[i]);
    free(p->files);
    free(p->tests);
    memset(p, 0, sizeof *p);
}

/* ---- a directory among FILEs: every *.yaml / *.yml below it, sorted ---- */
#define RUN_MAX_DIR_FILES 10000
#define RUN_MAX_DIR_DEPTH 16

static int path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_collect_yaml(const char *dir, int depth, cli_path_list *out)
{
    if (depth > RUN_MAX_DIR_DEPTH)
        return 0;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: cannot read the directory\n", dir);
        return TC_ERR_IO;
    }
    cli_path_list here = {0};
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "node_modules") == 0)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        size_t nl = strlen(de->d_name);
        bool yaml = (nl > 5 && strcmp(de->d_name + nl - 5, ".yaml") == 0) ||
                    (nl > 4 && strcmp(de->d_name + nl - 4, ".yml") == 0);
        if (!S_ISDIR(st.st_mode) && !(S_ISREG(st.st_mode) && yaml))
            continue;
        if (here.n == here.cap) {
            size_t cap = here.cap ? here.cap * 2 : 16;
            char **nv = realloc(here.v, cap * sizeof *nv);
            if (!nv) {
                rc = TC_ERR_NOMEM;
                break;
            }
            here.v = nv;
            here.cap = cap;
        }
        if (!(here.v[here.n] = strdup(path)))
            rc = TC_ERR_NOMEM;
        else
            here.n++;
    }
    closedir(d);
    if (here.n)
        qsort(here.v, here.n, sizeof *here.v, path_cmp);
    for (size_t i = 0; i < here.n; i++) {
        struct stat st;
        if (!rc && stat(here.v[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = cli_collect_yaml(here.v[i], depth + 1, out);
        } else if (!rc) {
            if (out->n == RUN_MAX_DIR_FILES) {
                fprintf(stderr, "%s: more than %d YAML files below it\n", dir, RUN_MAX_DIR_FILES);
                rc = TC_ERR_LIMIT;
            } else if (out->n == out->cap) {
                size_t cap = out->cap ? out->cap * 2 : 64;
                char **nv = realloc(out->v, cap * sizeof *nv);
                if (!nv)
                    rc = TC_ERR_NOMEM;
                else {
                    out->v = nv;
                    out->cap = cap;
                }
            }
            if (!rc) {
                out->v[out->n++] = here.v[i];
                here.v[i] = NULL;
            }
        }
        free(here.v[i]);
    }
    free(here.v);
    return rc;
}

void cli_path_list_free(cli_path_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Same test: the same resource, or the same id (else name) in the same file. */
static bool same_test(const planned *a, const planned *b)
{
    if (a->test == b->test)
        return true;
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!realpath(a->file->name, ra) || !realpath(b->file->name, rb) || strcmp(ra, rb) != 0)
        return false;
    const char *ia = a->test->id.s ? a->test->id.s : a->test->name.s;
    const char *ib = b->test->id.s ? b->test->id.s : b->test->name.s;
    return ia && ib && strcmp(ia, ib) == 0;
}

const char *cli_env_lookup(void *user, const char *name)
{
    const char *v = getenv(name);
    if (v)
        return v;
    const cli_subst_ctx *sc = user;
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
    cli_subst_ctx sc = {path, text, len};
    rc = res_subst_env(text, len, cli_env_lookup, &sc, &subst, &e);
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

static int add_test(plan *p, const res_test *t, const res_file *f, int suite, const char *suite_name)
{
    if (p->n_tests == p->cap_tests) {
        size_t cap = p->cap_tests ? p->cap_tests * 2 : 16;
        planned *n = realloc(p->tests, cap * sizeof *n);
        if (!n)
            return TC_ERR_NOMEM;
        p->tests = n;
        p->cap_tests = cap;
    }
    p->tests[p->n_tests++] = (planned){t, f, suite, suite_name};
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
static int add_suite(plan *p, const res_suite *s, const res_file *f, vars *v, int depth, int suite)
{
    const char *sname = s->name.s ? s->name.s : s->id.s;
    for (size_t i = 0; i < s->n_steps; i++) {
        const char *step = s->steps[i].s;
        const res_test *t = find_test_by_id(p, step);
        if (t) {
            if (add_test(p, t, f, suite, sname))
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
            if (r->kind == RES_TEST && add_test(p, r->u.test, sf, suite, sname))
                return TC_ERR_NOMEM;
            if (r->kind == RES_TESTSUITE) {
                if (depth > 8) {
                    fprintf(stderr, "%s: suites nested more than 8 deep\n", sf->name);
                    return TC_ERR_LIMIT;
                }
                if (add_suite(p, r->u.suite, sf, v, depth + 1, suite))
                    return TC_ERR_INPUT;
            }
        }
    }
    return 0;
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

static void report_invalid(void *user, const res_str *where, const char *what, const char *src, const tc_error *e)
{
    value_error(user, where, what, src, e);
}

/* Parses every selector, assertion and output value of the planned tests
 * up front, so a typo is reported with its place in the file before
 * anything runs. Tracetest runs such a test and fails the spec; so do we
 * (real-world files have them), after this warning. Returns the number of
 * problems. */
static int validate(const plan *p)
{
    int errors = 0;
    for (size_t i = 0; i < p->n_tests; i++)
        errors += server_check_test(p->tests[i].test, report_invalid, (void *)p->tests[i].file->name);
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

/* Evaluates a test's specs and outputs on a saved trace. */
static int evaluate_offline(trace_set *ts, trace *tr, const res_test *t, const spec_env *env, arena *a,
                            spec_run *out)
{
    spec_def *defs;
    output_def *outs;
    if (runner_test_defs(t, a, &defs, &outs))
        return TC_ERR_NOMEM;
    return spec_evaluate(ts, tr, defs, (uint32_t)t->n_specs, outs, (uint32_t)t->n_outputs, env, a, out);
}

int cli_parse_duration(const char *s, uint64_t *ns)
{
    int64_t v;
    char *end;
    long long ms = strtoll(s, &end, 10);
    if (*s && !*end && ms > 0) {
        *ns = (uint64_t)ms * 1000000ull;
        return 0;
    }
    if (expr_duration_ns(s, strlen(s), &v) || v <= 0)
        return -1;
    *ns = (uint64_t)v;
    return 0;
}

/* The PollingProfile a test names (by id), or the default one among the
 * loaded files, or NULL. */
static const res_polling *find_polling(const plan *p, const res_test *t)
{
    const res_polling *dflt = NULL;
    for (size_t i = 0; i < p->n_files; i++)
        for (size_t k = 0; k < p->files[i]->n_items; k++) {
            const res_resource *r = &p->files[i]->items[k];
            if (r->kind != RES_POLLING)
                continue;
            if (t->polling_profile.s && r->u.polling->id.s && strcmp(t->polling_profile.s, r->u.polling->id.s) == 0)
                return r->u.polling;
            if (r->u.polling->is_default.v || !dflt)
                dflt = r->u.polling;
        }
    return dflt;
}

/* Writes the collected trace as OTLP JSON into dir, secrets masked, via a
 * temporary file and rename. */
static void save_trace(const char *dir, const run_result *rr, const char *test_id, const vars *v)
{
    if (!rr->ts || !rr->trace_id[0])
        return;
    tc_buf b;
    buf_init(&b, 0);
    if (otlp_json_encode(rr->ts, &b) == 0) {
        arena *a = arena_new(0);
        const char *masked = a ? mask_text(v, buf_str(&b), a) : buf_str(&b);
        char path[4096], tmp[4200];
        snprintf(path, sizeof path, "%s/%s%s%s.json", dir, test_id ? test_id : "", test_id ? "-" : "", rr->trace_id);
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        FILE *f = fopen(tmp, "w");
        if (!f || fputs(masked, f) < 0 || fputc('\n', f) == EOF || fclose(f) != 0 || rename(tmp, path) != 0) {
            fprintf(stderr, "tracecheck: cannot save the trace to %s\n", path);
            remove(tmp);
        }
        arena_free(&a);
    }
    buf_free(&b);
}

int cmd_run(int argc, char **argv)
{
    if (cli_watch_requested(argc, argv))
        return cli_watch(argc, argv, cmd_run);
    enum { O_TIMEOUT = 256, O_QUIET, O_HTTP, O_GRPC, O_NO_RECV, O_B3, O_SAVE, O_DATASTORE, O_SERVER, O_TOKEN };
    static const struct option opts[] = {
        {"trace", required_argument, NULL, 't'},      {"var", required_argument, NULL, 'v'},
        {"vars", required_argument, NULL, 'V'},       {"format", required_argument, NULL, 'f'},
        {"junit", required_argument, NULL, 'j'},      {"timeout", required_argument, NULL, O_TIMEOUT},
        {"quiet-window", required_argument, NULL, O_QUIET}, {"otlp-http", required_argument, NULL, O_HTTP},
        {"otlp-grpc", required_argument, NULL, O_GRPC}, {"no-receiver", no_argument, NULL, O_NO_RECV},
        {"b3", no_argument, NULL, O_B3},              {"save-trace", required_argument, NULL, O_SAVE},
        {"datastore", required_argument, NULL, O_DATASTORE},
        {"baseline", required_argument, NULL, 'B'},   {"fail-on-diff", required_argument, NULL, 'F'},
        {"server", required_argument, NULL, O_SERVER}, {"token-file", required_argument, NULL, O_TOKEN},
        {NULL, 0, NULL, 0},
    };
    const char *trace_file = NULL, *junit = NULL, *save_dir = NULL, *datastore_file = NULL;
    const char *baseline_dir = NULL; /* --baseline */
    int fail_on_diff = 0;            /* --fail-on-diff: DIFF_* bits */
    const char *server_url = NULL, *token_file = NULL; /* --server: see client.h */
    const char *http_addr = "127.0.0.1:4318", *grpc_addr = "127.0.0.1:4317";
    bool json = false, no_receiver = false, b3 = false;
    uint64_t timeout_ns = 0, quiet_ns = 0;
    const char *var_args[256];
    int n_var_args = 0;
    const char *vars_files[64];
    int n_vars_files = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': trace_file = optarg; break;
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
        case 'j': junit = optarg; break;
        case O_TIMEOUT:
            if (cli_parse_duration(optarg, &timeout_ns))
                return cli_usage_error("run: --timeout wants a duration like 30s or 500ms, not '%s'", optarg);
            break;
        case O_QUIET:
            if (cli_parse_duration(optarg, &quiet_ns))
                return cli_usage_error("run: --quiet-window wants a duration like 250ms, not '%s'", optarg);
            break;
        case O_HTTP: http_addr = optarg; break;
        case O_GRPC: grpc_addr = optarg; break;
        case O_NO_RECV: no_receiver = true; break;
        case O_B3: b3 = true; break;
        case O_SAVE: save_dir = optarg; break;
        case 'B': baseline_dir = optarg; break;
        case 'F':
            if ((fail_on_diff = diff_kinds_parse(optarg)) < 0)
                return cli_usage_error("run: --fail-on-diff wants shape, attributes, duration or any, not '%s'",
                                       optarg);
            break;
        case O_DATASTORE: datastore_file = optarg; break;
        case O_SERVER: server_url = optarg; break;
        case O_TOKEN: token_file = optarg; break;
        default:
            return cli_usage_error("run: unknown option '%s' (see 'tracecheck run --help')", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("run: no test file given (see 'tracecheck run --help')");
    if (client_server_configured(server_url)) { /* the server runs the tests: cmd_client.c */
        const char *local = trace_file       ? "--trace"
                            : save_dir       ? "--save-trace"
                            : baseline_dir   ? "--baseline"
                            : datastore_file ? "--datastore"
                            : no_receiver    ? "--no-receiver"
                            : b3             ? "--b3"
                            : timeout_ns     ? "--timeout"
                            : quiet_ns       ? "--quiet-window"
                            : strcmp(http_addr, "127.0.0.1:4318") || strcmp(grpc_addr, "127.0.0.1:4317")
                                ? "--otlp-http/--otlp-grpc"
                                : NULL;
        if (local)
            return cli_usage_error("run: %s is for local runs, not with a server (--server or TRACECHECK_SERVER)",
                                   local);
        client_run_opts co = {server_url, token_file, (const char *const *)argv + optind, argc - optind,
                              vars_files, n_vars_files, var_args,   n_var_args,    json, junit};
        return client_run(&co);
    }
    if (baseline_dir) { /* run --baseline: cmd_diff.c */
        struct stat st;
        if (stat(baseline_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return cli_usage_error("run: --baseline: %s is not a directory", baseline_dir);
    }
    if (save_dir) {
        struct stat st;
        if (stat(save_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return cli_usage_error("run: --save-trace: %s is not a directory", save_dir);
    }

    int status = EXIT_USAGE;
    plan p;
    memset(&p, 0, sizeof p);
    vars v;
    vars_init(&v);
    trace_set *ts = NULL;
    arena *a = NULL;
    report_test *reports = NULL;
    run_result *results = NULL;
    spanbuf *buf = NULL;
    recv_http *rh = NULL;
    recv_grpc *rg = NULL;
    source *src = NULL;
    source_config *scfg = NULL;
    const res_file *from_dir[RUN_MAX_DIR_FILES]; /* files found in a directory among FILEs */
    size_t n_from_dir = 0;
    const res_analyzer *lint_an = NULL; /* an enabled Analyzer among FILEs: its gate joins the specs' */
    lint_config lint_cfg;
    arena *cfg_arena = arena_new(0);
    if (!cfg_arena)
        goto out;

    /* variables: --vars files, then the VariableSets among FILEs, then --var */
    for (int i = 0; i < n_vars_files; i++) {
        res_file *f = NULL;
        if (load_resource(&p, vars_files[i], &f))
            goto out;
        bool any = false;
        for (size_t k = 0; k < f->n_items; k++)
            if (f->items[k].kind == RES_VARSET) {
                server_add_varset(&v, f->items[k].u.varset, vars_files[i]);
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
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) { /* every YAML file below it */
            cli_path_list pl = {0};
            int drc = cli_collect_yaml(argv[i], 0, &pl);
            for (size_t k = 0; !drc && k < pl.n; k++) {
                if ((drc = load_resource(&p, pl.v[k], &f)))
                    break;
                if (n_from_dir < sizeof from_dir / sizeof from_dir[0])
                    from_dir[n_from_dir++] = f;
            }
            cli_path_list_free(&pl);
            if (drc)
                goto out;
            continue;
        }
        if (load_resource(&p, argv[i], &f))
            goto out;
    }
    for (size_t i = first_file; i < p.n_files; i++)
        for (size_t k = 0; k < p.files[i]->n_items; k++)
            if (p.files[i]->items[k].kind == RES_VARSET)
                server_add_varset(&v, p.files[i]->items[k].u.varset, p.files[i]->name);
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
            if (r->kind == RES_TEST && add_test(&p, r->u.test, f, -1, NULL))
                goto out;
            if (r->kind == RES_TESTSUITE && add_suite(&p, r->u.suite, f, &v, 0, p.n_suites++))
                goto out;
        }
    }
    /* a test found in a directory that a suite of the run also runs: run it in the suite only */
    for (size_t i = 0, w = 0, n = p.n_tests; i < n; i++) {
        bool drop = false;
        for (size_t d = 0; p.tests[i].suite < 0 && d < n_from_dir && !drop; d++)
            if (p.tests[i].file == from_dir[d])
                for (size_t k = 0; k < n && !drop; k++)
                    drop = p.tests[k].suite >= 0 && same_test(&p.tests[i], &p.tests[k]);
        if (!drop)
            p.tests[w++] = p.tests[i];
        if (i == n - 1)
            p.n_tests = w;
    }
    if (p.n_tests == 0) {
        cli_usage_error("run: no Test or TestSuite in the given files");
        goto out;
    }
    validate(&p);
    lint_an = cli_find_analyzer(p.files + first_file, n_given - first_file);
    if (lint_an && (!lint_an->enabled.v || cli_lint_config(lint_an, cfg_arena, &lint_cfg)))
        lint_an = NULL;

    reports = calloc(p.n_tests, sizeof *reports);
    results = calloc(p.n_tests, sizeof *results);
    a = arena_new(0);
    if (!reports || !results || !a)
        goto out;

    /* where traces come from: --datastore, else a DataStore among FILEs */
    if (!trace_file) {
        int drc = datastore_file ? cli_datastore_load(datastore_file, cfg_arena, &scfg)
                                 : cli_datastore_pick(p.files + first_file, n_given - first_file, cfg_arena, &scfg);
        if (drc) {
            status = drc;
            goto out;
        }
        if (scfg && scfg->type != SOURCE_RECEIVER) {
            tc_error e;
            if (source_open(scfg, &src, &e)) {
                fprintf(stderr, "tracecheck: %s\n", e.msg);
                goto out;
            }
            no_receiver = true; /* the system's collector sends spans to the backend */
        }
    }

    if (trace_file) {
        ts = trace_set_new(0);
        if (!ts || cli_load_traces(ts, (char **)&trace_file, 1, TF_AUTO) || trace_set_index(ts))
            goto out;
    } else {
        buf = spanbuf_new(0);
        if (!buf)
            goto out;
        tc_error e;
        if (!no_receiver) {
            rh = recv_http_start(http_addr, buf, NULL, &e);
            if (!rh) {
                fprintf(stderr, "tracecheck: OTLP/HTTP receiver on %s: %s\n", http_addr, e.msg);
                status = e.msg[0] && strncmp(e.msg, "bad address", 11) == 0 ? EXIT_USAGE : EXIT_RUN;
                goto out;
            }
            rg = recv_grpc_start(grpc_addr, buf, NULL, &e);
            if (!rg) {
                fprintf(stderr, "tracecheck: OTLP/gRPC receiver on %s: %s\n", grpc_addr, e.msg);
                status = EXIT_RUN;
                goto out;
            }
        }
    }

    spec_env env = {vars_lookup_var, vars_lookup_env, &v, runner_now_unix_ns, runner_random, NULL,
                    runner_eval_threads()};
    int stopped_suite = -1; /* a suite that stopped: its later steps are skipped */
    for (size_t i = 0; i < p.n_tests; i++) {
        const res_test *t = p.tests[i].test;
        report_test *rt = &reports[i];
        run_result *rr = &results[i];
        rt->name = t->name.s ? t->name.s : t->id.s;
        rt->id = t->id.s;
        rt->file = p.tests[i].file->name;
        if (p.tests[i].suite >= 0 && p.tests[i].suite == stopped_suite) {
            rt->skipped = true;
            rt->error = "an earlier step of the suite could not run";
            continue;
        }
        uint64_t t0 = spanbuf_now_ns();
        const trace *lint_t = NULL;
        if (trace_file) {
            const char *why = NULL;
            trace *tr = pick_trace(ts, t, &env, a, &why);
            if (!tr) {
                rt->state = "TRACE_FAILED";
                rt->error = why;
            } else {
                hex_encode(tr->trace_id, TRACE_ID_LEN, rr->trace_id);
                rt->trace_id = rr->trace_id;
                if (evaluate_offline(ts, tr, t, &env, a, &rr->specs)) {
                    cli_usage_error("out of memory");
                    goto out;
                }
                rt->state = "FINISHED";
                rt->run = &rr->specs;
                lint_t = tr;
            }
        } else {
            runner_opts ro = {buf, timeout_ns, quiet_ns, -1, b3, cli_color(stderr) ? stderr : NULL,
                              find_polling(&p, t), p.tests[i].file->name, src, 0, NULL, NULL};
            if (runner_run_test(&ro, t, p.tests[i].file->base_dir, &v, rr)) {
                cli_usage_error("out of memory");
                goto out;
            }
            if (report_from_run(rt, rr, src, a)) {
                cli_usage_error("out of memory");
                goto out;
            }
            if (save_dir)
                save_trace(save_dir, rr, t->id.s, &v);
            lint_t = rr->t;
        }
        tc_error lint_e;
        if (lint_an && lint_t && rt->run && !rt->error &&
            lint_run(&lint_cfg, lint_t, a, (lint_result **)&rt->lint, &lint_e)) {
            cli_usage_error("run: analyzer: %s", lint_e.msg);
            goto out;
        }
        if (baseline_dir && rt->run && !rt->error) { /* run --baseline: cmd_diff.c */
            uint8_t bid[TRACE_ID_LEN];
            const trace *bt = !trace_file ? rr->t
                              : hex_decode(rr->trace_id, 32, bid, TRACE_ID_LEN) == 0 ? trace_set_find(ts, bid)
                                                                                      : NULL;
            if (bt && cli_baseline_check(baseline_dir, t->id.s ? t->id.s : rt->name, trace_file ? ts : rr->ts, bt,
                                         (unsigned)fail_on_diff, &v, a, rt)) {
                cli_usage_error("out of memory");
                goto out;
            }
        }
        rt->duration_ns = spanbuf_now_ns() - t0;
        if (rt->run)
            for (uint32_t k = 0; k < rt->run->n_outputs; k++)
                if (rt->run->outputs[k].value && rt->run->outputs[k].name)
                    vars_set(&v, rt->run->outputs[k].name, rt->run->outputs[k].value, false, "output");
        if (rt->run)
            mask_spec_run(&v, (spec_run *)rt->run, a);
        if (rt->error && p.tests[i].suite >= 0)
            stopped_suite = p.tests[i].suite;
    }
    recv_http_stop(&rh);
    recv_grpc_stop(&rg);

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
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", junit);
        FILE *jf = fopen(tmp, "w");
        if (!jf || fwrite(buf_str(&out), 1, out.len, jf) != out.len || fclose(jf) != 0 || rename(tmp, junit) != 0) {
            fprintf(stderr, "tracecheck: cannot write %s\n", junit);
            remove(tmp);
            status = EXIT_USAGE;
        }
    }
    buf_free(&out);
    if (status == EXIT_OK) {
        report_summary s;
        report_summarize(reports, p.n_tests, &s);
        status = s.errors || s.skipped ? EXIT_RUN : s.failed ? EXIT_FAILED : EXIT_OK;
    }
out:
    recv_http_stop(&rh);
    recv_grpc_stop(&rg);
    for (size_t i = 0; results && i < p.n_tests; i++)
        run_result_free(&results[i]);
    free(reports);
    free(results);
    arena_free(&a);
    spanbuf_free(&buf);
    source_close(&src);
    arena_free(&cfg_arena);
    trace_set_free(&ts);
    vars_free(&v);
    plan_free(&p);
    return status;
}
