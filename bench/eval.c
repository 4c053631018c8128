/* eval.c - the assertion engine's speed: one synthetic trace of N spans
 * (gen.h's spans, all under one root) and a test of 20 specs with 3
 * assertions each — attribute equality on span and resource attributes,
 * contains, descendant selectors, pseudo-classes, unions, duration and
 * count comparisons — plus a json_path over a 100 KB JSON body. Times
 * spec_evaluate (selector and expression parsing, selection, evaluation)
 * cold (no span attribute cached) and warm, best of 3, for 10k, 100k and
 * 1M spans (or the sizes given as arguments), and prints what it selected and how many assertions failed so
 * the work is visible. The trace is evaluated as a run gets it: encoded as
 * OTLP protobuf and decoded into a fresh trace set (BUILT=1 in the
 * environment evaluates the generator's trace itself). NOASSERT=1 times
 * selection alone; "cpu ms" is the
 * best processor time of one evaluation, all threads together (steadier
 * than the clock on a shared machine). REPS=N
 * repeats each size N times instead of 3 (for profiling). THREADS=N
 * evaluates with N threads (default: the processors online). */
#include "codec/codec.h"
#include "core/spec.h"
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const specs_src[][4] = {
    {"span[tracetest.span.type=\"http\" kind=\"server\"]", "attr:tracetest.span.duration < 1s",
     "attr:http.request.method = \"GET\"", "attr:tracetest.selected_spans.count > 0"},
    {"span[tracetest.span.type=\"database\"]", "attr:db.system = \"postgresql\"",
     "attr:tracetest.span.duration < 10ms", "attr:db.statement contains \"SELECT\""},
    {"span[service.name=\"service-03\"]", "attr:telemetry.sdk.language = \"nodejs\"",
     "attr:tracetest.span.duration <= 5ms", "attr:service.version = \"1.4.2\""},
    {"span[service.name=\"service-07\" tracetest.span.type=\"http\"]", "attr:http.response.status_code = 200",
     "attr:server.port = 8080", "attr:tracetest.span.duration > 0ns"},
    {"span[db.statement contains \"FROM orders\"]", "attr:db.name = \"shop\"", "attr:net.peer.port = 5432",
     "attr:db.user = \"app\""},
    {"span[name=\"GET /api/v1/orders/:id\"]", "attr:url.full contains \"shop.example.com\"",
     "attr:tracetest.span.duration < 500ms", "attr:http.request.method = \"GET\""},
    {"span[kind=\"server\"] span[tracetest.span.type=\"database\"]:first", "attr:db.system = \"postgresql\"",
     "attr:tracetest.span.duration < 5s", "attr:tracetest.selected_spans.count >= 1"},
    {"span[tracetest.span.type=\"database\"]:last", "attr:db.statement contains \"$1\"",
     "attr:tracetest.span.duration < 1s", "attr:tracetest.selected_spans.count = 1"},
    {"span[tracetest.span.type=\"http\"]:nth_child(10)", "attr:http.request.method = \"GET\"",
     "attr:tracetest.selected_spans.count = 1", "attr:user_agent.original contains \"Linux\""},
    {"span[service.name=\"service-01\"], span[service.name=\"service-02\"]",
     "attr:deployment.environment = \"production\"", "attr:host.arch = \"amd64\"",
     "attr:tracetest.span.duration < 10s"},
    {"span[http.response.status_code=500]", "attr:http.response.status_code = 500",
     "attr:tracetest.span.type = \"http\"", "attr:tracetest.selected_spans.count > 10"},
    {"span[host.name contains \"eu-west-1\" service.name=\"service-12\"]", "attr:process.runtime.name = \"nodejs\"",
     "attr:tracetest.span.duration < 6ms", "attr:host.arch = \"amd64\""},
    {"span[net.peer.name=\"db.internal\"]", "attr:net.peer.port = 5432", "attr:db.system = \"postgresql\"",
     "attr:tracetest.span.duration < 2ms"},
    {"span[name contains \"carts\"]", "attr:tracetest.span.duration < 3s", "attr:tracetest.selected_spans.count > 0",
     "attr:tracetest.span.name contains \"carts\""},
    {"span[service.name=\"service-09\"] span[]", "attr:tracetest.span.duration < 1s",
     "attr:telemetry.sdk.name = \"opentelemetry\"", "attr:tracetest.selected_spans.count > 0"},
    {"span[tracetest.span.type=\"general\"]", "attr:tracetest.selected_spans.count = 0",
     "attr:tracetest.selected_spans.count < 1", "attr:tracetest.selected_spans.count >= 0"},
    {"span[url.full contains \"/payments/\"]", "attr:http.request.method = \"GET\"",
     "attr:network.protocol.version = \"1.1\"", "attr:tracetest.span.duration < 5s"},
    {"span[db.statement contains \"users\" db.statement contains \"email\"]", "attr:db.name = \"shop\"",
     "attr:tracetest.span.duration > 1us", "attr:db.statement contains \"users\""},
    {"span[service.name=\"service-15\"]:first", "attr:tracetest.span.duration < 100ms",
     "attr:service.name = \"service-15\"", "attr:tracetest.selected_spans.count = 1"},
    {"span[name=\"root\"]", "attr:http.response.body | json_path '$.items[?(@.id == 42)].name' = \"item-42\"",
     "attr:http.response.body | json_path '$.items[*].id' contains 999",
     "attr:http.response.body | json_path '$.total' = 1500"},
};
#define N_SPECS (sizeof specs_src / sizeof specs_src[0])

static double clock_s(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* One trace of about n spans: gen.h's traces hung under a single root
 * that carries a 100 KB JSON body. src must outlive the result. */
static trace_set *one_trace(trace_set *src, uint32_t n)
{
    trace_set *ts = trace_set_new(0);
    arena *a = trace_set_arena(ts);
    trace_span *root = arena_calloc(a, 1, sizeof *root);
    root->trace_id[0] = 0x7c;
    root->span_id[0] = 0x01;
    root->name = "root";
    root->kind = TRACE_KIND_SERVER;
    root->start_ns = 1700000000000000000ull;
    root->end_ns = root->start_ns + 900000000ull;
    tc_buf body;
    buf_init(&body, 0);
    buf_puts(&body, "{\"total\": 1500, \"items\": [");
    for (int i = 0; i < 1500; i++)
        buf_printf(&body, "%s{\"id\": %d, \"name\": \"item-%d\", \"price\": %d.%02d, \"tags\": [\"a\", \"b\"]}",
                   i ? ", " : "", i, i, i % 100, i % 97);
    buf_puts(&body, "]}");
    tc_attr *at = arena_calloc(a, 1, sizeof *at);
    at->key = "http.response.body";
    at->key_len = 18;
    at->value = (tc_value){TC_V_STRING, (uint32_t)body.len, {.str = arena_strndup(a, buf_str(&body), body.len)}};
    root->attrs = at;
    root->n_attrs = 1;
    buf_free(&body);
    trace_set_add_span(ts, root, NULL);
    uint32_t added = 1;
    for (uint32_t i = 0; i < trace_set_count(src) && added < n; i++) {
        trace *t = trace_set_at(src, i);
        for (uint32_t k = 0; k < t->n_spans && added < n; k++, added++) {
            trace_span *sp = arena_alloc(a, sizeof *sp);
            *sp = *t->spans[k];
            memcpy(sp->trace_id, root->trace_id, TRACE_ID_LEN);
            if (!trace_span_has_parent(sp))
                memcpy(sp->parent_id, root->span_id, SPAN_ID_LEN);
            trace_set_add_span(ts, sp, NULL);
        }
    }
    trace_set_index(ts);
    if (getenv("BUILT"))
        return ts;
    /* as a run gets it: through the OTLP protobuf decoder */
    tc_buf pb;
    buf_init(&pb, 0);
    trace_set *dec = trace_set_new(0);
    tc_error e;
    if (!dec || otlp_pb_encode(ts, &pb) || otlp_pb_decode(dec, (const uint8_t *)pb.ptr, pb.len, &e) ||
        trace_set_index(dec)) {
        fprintf(stderr, "eval: cannot encode and decode the trace\n");
        exit(1);
    }
    buf_free(&pb);
    trace_set_free(&ts);
    return dec;
}

int main(int argc, char **argv)
{
    spec_def defs[N_SPECS];
    for (size_t i = 0; i < N_SPECS; i++)
        defs[i] = (spec_def){NULL, specs_src[i][0], &specs_src[i][1], getenv("NOASSERT") ? 0 : 3};
    uint32_t sizes[8] = {10000, 100000, 1000000};
    size_t n_sizes = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 2 : 3;
    if (argc > 1 && argv[1][0] >= '0' && argv[1][0] <= '9') /* sizes given: eval N... */
        for (n_sizes = 0; n_sizes < 8 && (int)n_sizes + 1 < argc; n_sizes++)
            sizes[n_sizes] = (uint32_t)strtoul(argv[n_sizes + 1], NULL, 10);
    int reps = getenv("REPS") ? atoi(getenv("REPS")) : 3;
    long threads = getenv("THREADS") ? atol(getenv("THREADS")) : sysconf(_SC_NPROCESSORS_ONLN);
    spec_env env = {0};
    env.threads = threads < 1 ? 1 : threads > 8 ? 8 : (unsigned)threads;
    if (reps < 1)
        reps = 1;
    printf("%d specs x 3 assertions, one json_path spec over a %s body, %u thread%s\n", (int)N_SPECS, "~100 KB",
           env.threads, env.threads > 1 ? "s" : "");
    printf("%10s %10s %10s %12s %10s %10s %12s\n", "spans", "cold ms", "warm ms", "ns/span", "cpu ms", "selected",
           "failed");
    for (size_t s = 0; s < n_sizes; s++) {
        trace_set *src = gen_trace_set(sizes[s], 7);
        trace_set *ts = one_trace(src, sizes[s]);
        trace *t = trace_set_at(ts, 0);
        double best_cold = 1e9, best_warm = 1e9, best_cpu = 1e9;
        uint64_t selected = 0, failed = 0;
        for (int rep = 0; rep < reps; rep++) {
            for (uint32_t i = 0; i < t->n_spans; i++)
                t->spans[i]->ext = NULL; /* cold: no cached attributes */
            for (int warm = 0; warm < 2; warm++) {
                arena *a = arena_new(0);
                spec_run run;
                double t0 = now(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
                spec_evaluate(ts, t, defs, N_SPECS, NULL, 0, &env, a, &run);
                double dt = now() - t0, dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
                best_cpu = dc < best_cpu ? dc : best_cpu;
                if (warm)
                    best_warm = dt < best_warm ? dt : best_warm;
                else
                    best_cold = dt < best_cold ? dt : best_cold;
                selected = failed = 0;
                for (uint32_t k = 0; k < run.n_specs; k++) {
                    selected += run.specs[k].n_selected;
                    for (uint32_t m = 0; m < run.specs[k].n_spans; m++)
                        for (uint32_t c = 0; c < run.specs[k].spans[m].n_checks; c++)
                            failed += !run.specs[k].spans[m].checks[c].passed;
                }
                arena_free(&a);
            }
        }
        printf("%10u %10.1f %10.1f %12.1f %10.1f %10llu %12llu\n", t->n_spans, best_cold * 1e3, best_warm * 1e3,
               best_cold * 1e9 / t->n_spans, best_cpu * 1e3, (unsigned long long)selected,
               (unsigned long long)failed);
        trace_set_free(&ts);
        trace_set_free(&src);
    }
    return 0;
}
