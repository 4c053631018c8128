/* index.c - bench: building the trace indexes (span by id, children by
 * start time, pre-order, roots, orphans) for 10k, 100k and 1M spans, in a
 * bushy tree and in a single deep chain. Prints ns per span: flat across
 * sizes means linear. */
#include "core/trace.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void put_id(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Adds n spans to one trace; chain: each span's parent is the previous one;
 * else a random earlier span (a bushy tree). Returns seconds to add+index. */
static double build(uint32_t n, int chain, double *index_s)
{
    trace_set *ts = trace_set_new(0);
    arena *a = trace_set_arena(ts);
    double t0 = now_s();
    for (uint32_t i = 0; i < n; i++) {
        trace_span *sp = arena_calloc(a, 1, sizeof *sp);
        sp->trace_id[0] = 1;
        put_id(sp->span_id, (uint64_t)i + 1);
        if (i > 0)
            put_id(sp->parent_id, chain ? i : next() % i + 1);
        sp->start_ns = 1000000000ull + (next() % 1000000);
        sp->end_ns = sp->start_ns + 1000;
        trace_set_add_span(ts, sp, NULL);
    }
    double t1 = now_s();
    trace_set_index(ts);
    double t2 = now_s();
    *index_s = t2 - t1;
    trace_set_free(&ts);
    return t2 - t0;
}

int main(void)
{
    printf("%-8s %10s %12s %12s %14s\n", "shape", "spans", "add+index", "index", "index ns/span");
    const uint32_t sizes[] = {10000, 100000, 1000000};
    for (int chain = 0; chain <= 1; chain++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            double best = 1e9, best_idx = 1e9;
            for (int r = 0; r < 3; r++) {
                double idx;
                double t = build(sizes[i], chain, &idx);
                if (t < best)
                    best = t;
                if (idx < best_idx)
                    best_idx = idx;
            }
            printf("%-8s %10u %10.1fms %10.1fms %14.1f\n", chain ? "chain" : "tree", sizes[i], best * 1e3,
                   best_idx * 1e3, best_idx * 1e9 / sizes[i]);
        }
    }
    return 0;
}
