/* generate_fuzz.c - fuzz harness: any bytes as a trace file; for its
 * first trace, the generated test must pass on that trace and its YAML
 * must load back into the same test. */
#include "codec/codec.h"
#include "core/generate.h"
#include "core/spec.h"
#include "resource/resource.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace_set *ts = trace_set_new((size_t)256 << 20);
    arena *a = arena_new((size_t)256 << 20);
    tc_error e;
    if (!ts || !a || tracefile_decode(ts, data, size, TF_AUTO, NULL, &e) != 0 || trace_set_count(ts) == 0 ||
        trace_set_index(ts) != 0 || trace_set_at(ts, 0)->n_spans > 2000)
        goto out;
    trace *t = trace_set_at(ts, 0);
    gen_test g;
    if (gen_generate(ts, t, NULL, a, &g, &e) != 0)
        goto out;

    /* every spec passes on the trace */
    spec_def *defs = calloc(g.n_specs + 1, sizeof *defs);
    if (!defs)
        goto out;
    for (uint32_t i = 0; i < g.n_specs; i++)
        defs[i] =
            (spec_def){g.specs[i].name, g.specs[i].selector, g.specs[i].assertions, g.specs[i].n_assertions};
    spec_env env;
    memset(&env, 0, sizeof env);
    spec_run run;
    if (spec_evaluate(ts, t, defs, g.n_specs, NULL, 0, &env, a, &run) == 0 && !run.passed)
        abort();
    free(defs);

    /* the YAML loads back unchanged */
    tc_buf b;
    buf_init(&b, 0);
    if (gen_write_yaml(&g, &b) == 0) {
        res_file *rf = NULL;
        if (res_load_buffer("fuzz.yaml", buf_str(&b), b.len, &rf, &e) != 0)
            abort();
        const res_test *rt = rf->items[0].u.test;
        if (rf->n_items != 1 || rf->items[0].kind != RES_TEST || !same(rt->name.s, g.name) ||
            rt->n_specs != g.n_specs)
            abort();
        for (uint32_t i = 0; i < g.n_specs; i++) {
            if (!same(rt->specs[i].name.s, g.specs[i].name) ||
                !same(rt->specs[i].selector.s, g.specs[i].selector) ||
                rt->specs[i].n_assertions != g.specs[i].n_assertions)
                abort();
            for (uint32_t j = 0; j < g.specs[i].n_assertions; j++)
                if (!same(rt->specs[i].assertions[j].s, g.specs[i].assertions[j]))
                    abort();
        }
        res_file_free(&rf);
    }
    buf_free(&b);
out:
    arena_free(&a);
    trace_set_free(&ts);
    return 0;
}
