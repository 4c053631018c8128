/* diff.c - the structural diff's speed: two traces of N spans each (gen.h's
 * spans hung under one root), B with a few changes (an N+1 of 9 extra
 * spans, spans dropped, attribute values and statuses changed, spans made
 * slower). Times diff_traces on the indexed traces (best of 3) and the
 * text and JSON output, and prints what was found so the work is
 * visible, with the diff arena's size and the process's peak RSS (the
 * two traces included); "cpu ms" is the processor time of the diff, steadier
 * than the clock on a shared machine. Sizes:
 * 10k, 100k and 1M spans, or the ones given as arguments. */
#include "core/diff.h"
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

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

/* One trace of n spans copied from src (which must outlive it): the top
 * spans of src's traces hung under one root. changed: B's edits. */
static trace_set *one_trace(trace_set *src, uint32_t n, bool changed)
{
    trace_set *ts = trace_set_new(0);
    arena *a = trace_set_arena(ts);
    trace_span *root = arena_calloc(a, 1, sizeof *root);
    root->trace_id[0] = changed ? 0xb : 0xa;
    root->span_id[0] = 0x01;
    root->name = "GET /api/v1/orders/42";
    root->kind = TRACE_KIND_SERVER;
    root->start_ns = 1700000000000000000ull;
    root->end_ns = root->start_ns + 900000000ull;
    trace_set_add_span(ts, root, NULL);
    uint32_t added = 1, extra = 0;
    for (uint32_t i = 0; i < trace_set_count(src) && added < n; i++) {
        trace *t = trace_set_at(src, i);
        for (uint32_t k = 0; k < t->n_spans && added < n; k++, added++) {
            const trace_span *o = t->spans[k];
            if (changed && added % 33331 == 11 && trace_span_has_parent(o))
                continue; /* dropped: its children hang on a missing parent */
            trace_span *sp = arena_alloc(a, sizeof *sp);
            *sp = *o;
            memcpy(sp->trace_id, root->trace_id, TRACE_ID_LEN);
            if (!trace_span_has_parent(sp))
                memcpy(sp->parent_id, root->span_id, SPAN_ID_LEN);
            if (changed && added % 10007 == 5 && sp->n_attrs) {
                tc_attr *at = arena_alloc(a, sp->n_attrs * sizeof *at);
                memcpy(at, sp->attrs, sp->n_attrs * sizeof *at);
                at[sp->n_attrs - 1].value = (tc_value){TC_V_BOOL, 0, {.b = true}};
                sp->attrs = at;
            }
            if (changed && added % 20011 == 7)
                sp->status_code = TRACE_STATUS_ERROR;
            if (changed && added % 25013 == 9)
                sp->end_ns = sp->start_ns + 3 * (sp->end_ns - sp->start_ns) + 2000000;
            trace_set_add_span(ts, sp, NULL);
            if (changed && added == n / 2 && trace_span_has_parent(o)) { /* an N+1: 9 more like it */
                for (int r = 0; r < 9; r++, extra++) {
                    trace_span *x = arena_alloc(a, sizeof *x);
                    *x = *sp;
                    x->span_id[0] ^= 0x5a;
                    x->span_id[1] = (uint8_t)r;
                    x->start_ns += (uint64_t)r + 1;
                    trace_set_add_span(ts, x, NULL);
                }
            }
        }
    }
    (void)extra;
    trace_set_index(ts);
    return ts;
}

int main(int argc, char **argv)
{
    uint32_t sizes[8] = {10000, 100000, 1000000};
    int n_sizes = 3;
    if (argc > 1) {
        n_sizes = 0;
        for (int i = 1; i < argc && n_sizes < 8; i++)
            sizes[n_sizes++] = (uint32_t)strtoul(argv[i], NULL, 10);
    }
    printf("%10s %10s %10s %10s %10s %8s %7s %7s %7s %7s %9s %9s\n", "spans A", "spans B", "diff ms",
           "cpu ms", "output ms", "matched", "only A", "only B", "counts", "changed", "arena MB", "peak MB");
    for (int s = 0; s < n_sizes; s++) {
        trace_set *src = gen_trace_set(sizes[s], 42);
        trace_set *sa = one_trace(src, sizes[s], false), *sb = one_trace(src, sizes[s], true);
        trace *ta = trace_set_at(sa, 0), *tb = trace_set_at(sb, 0);
        double best = 1e9, best_out = 1e9, best_cpu = 1e9;
        diff_result d;
        size_t arena_bytes = 0;
        for (int rep = 0; rep < 3; rep++) {
            arena *ar = arena_new(0);
            diff_opts o = {.slower_pct = 20};
            tc_error e;
            double t0 = now(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            if (diff_traces(ta, tb, &o, ar, &d, &e)) {
                fprintf(stderr, "diff: %s\n", e.msg);
                return 1;
            }
            double t1 = now(), c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            if (c1 - c0 < best_cpu)
                best_cpu = c1 - c0;
            tc_buf b;
            buf_init(&b, 0);
            diff_write_text(&d, &b, 0, false);
            diff_write_json(&d, &b);
            double t2 = now();
            buf_free(&b);
            if (t1 - t0 < best)
                best = t1 - t0;
            if (t2 - t1 < best_out)
                best_out = t2 - t1;
            arena_bytes = arena_reserved(ar);
            if (rep < 2)
                arena_free(&ar);
            else {
                printf("%10u %10u %10.1f %10.1f %10.1f %8u %7u %7u %7u %7u %9.1f", d.spans_a, d.spans_b,
                       best * 1e3, best_cpu * 1e3, best_out * 1e3, d.matched, d.spans_only_a, d.spans_only_b,
                       d.n_counts_total, d.n_changes_total, (double)arena_bytes / 1048576.0);
                arena_free(&ar);
            }
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf(" %9.1f\n", (double)ru.ru_maxrss / 1024.0);
        trace_set_free(&sa);
        trace_set_free(&sb);
        trace_set_free(&src);
    }
    return 0;
}
