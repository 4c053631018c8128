/* lint.c - the analyzer's speed: one trace of N spans (gen.h's spans hung
 * under one server root: http and db spans with 10-30 attributes), every
 * plugin and rule with its defaults. Times lint_run on the indexed trace
 * (best of 3) and the JSON rendering, and prints the score, the findings
 * and the result arena's size so the work is visible, with the process's
 * peak RSS. Sizes: 10k and 100k spans, or the ones given as arguments. */
#include "core/lint.h"
#include "gen.h"
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* processor time of the process: steadier than the wall clock on a shared machine */
static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One trace of n spans copied from src (which must outlive it). */
static trace_set *one_trace(trace_set *src, uint32_t n)
{
    trace_set *ts = trace_set_new(0);
    arena *a = trace_set_arena(ts);
    trace_span *root = arena_calloc(a, 1, sizeof *root);
    root->trace_id[0] = 0xa;
    root->span_id[0] = 0x01;
    root->name = "GET /api/v1/orders";
    root->kind = TRACE_KIND_SERVER;
    root->start_ns = 1700000000000000000ull;
    root->end_ns = root->start_ns + 900000000ull;
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
    return ts;
}

int main(int argc, char **argv)
{
    uint32_t sizes[8] = {10000, 100000};
    int n_sizes = 2;
    if (argc > 1) {
        n_sizes = 0;
        for (int i = 1; i < argc && n_sizes < 8; i++)
            sizes[n_sizes++] = (uint32_t)strtoul(argv[i], NULL, 10);
    }
    printf("%-9s %10s %10s %12s %7s %10s %10s %12s %10s\n", "spans", "lint ms", "cpu ms", "spans/s(cpu)",
           "score", "findings", "json ms", "result KiB", "RSS MiB");
    for (int s = 0; s < n_sizes; s++) {
        trace_set *src = gen_trace_set(sizes[s], 42);
        trace_set *ts = one_trace(src, sizes[s]);
        trace *t = trace_set_at(ts, 0);
        double best = 1e9, best_cpu = 1e9;
        lint_result *r = NULL;
        arena *keep = NULL;
        for (int rep = 0; rep < 3; rep++) {
            arena *a = arena_new(0);
            tc_error e;
            double t0 = now(), c0 = cpu();
            if (lint_run(NULL, t, a, &r, &e)) {
                fprintf(stderr, "lint: %s\n", e.msg);
                return 1;
            }
            double dt = now() - t0, dc = cpu() - c0;
            if (dt < best)
                best = dt;
            if (dc < best_cpu)
                best_cpu = dc;
            arena_free(&keep);
            keep = a;
        }
        uint64_t findings = 0;
        for (size_t i = 0; i < r->n_plugins; i++)
            for (size_t k = 0; k < r->plugins[i].n_rules; k++)
                findings += r->plugins[i].rules[k].n_findings;
        tc_buf b;
        buf_init(&b, 0);
        double t0 = now();
        report_lint_json(&b, r);
        double json = now() - t0;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("%-9u %10.1f %10.1f %12.0f %7d %10llu %10.2f %12zu %10.0f\n", t->n_spans, best * 1e3,
               best_cpu * 1e3, t->n_spans / best_cpu, r->score, (unsigned long long)findings, json * 1e3,
               arena_used(keep) / 1024, (double)ru.ru_maxrss / 1024);
        buf_free(&b);
        arena_free(&keep);
        trace_set_free(&ts);
        trace_set_free(&src);
    }
    return 0;
}
