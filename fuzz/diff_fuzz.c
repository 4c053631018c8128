/* diff_fuzz.c - fuzz harness: two traces from one input (split at the
 * first NUL byte, else in the middle), each through format sniffing and
 * the decoders, then the structural diff both ways and its text and JSON. */
#include "codec/codec.h"
#include "core/diff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static trace *first_trace(trace_set *ts, const uint8_t *p, size_t n)
{
    tc_error e;
    if (tracefile_decode(ts, p, n, TF_AUTO, NULL, &e) || trace_set_index(ts) || !trace_set_count(ts))
        return NULL;
    return trace_set_at(ts, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t cut = nul ? (size_t)(nul - data) : size / 2;
    size_t rest = nul ? cut + 1 : cut;
    trace_set *sa = trace_set_new(64u << 20), *sb = trace_set_new(64u << 20);
    trace *ta = sa ? first_trace(sa, data, cut) : NULL;
    trace *tb = sb ? first_trace(sb, data + rest, size - rest) : NULL;
    if (ta && tb) {
        static const char *const ignore[] = {"app.*", "*.x"};
        diff_opts o = {
            .ignore = ignore, .n_ignore = 2, .slower_pct = 10, .slower_min_ns = 1, .max_items = 64};
        for (int way = 0; way < 2; way++) {
            arena *ar = arena_new(256u << 20);
            diff_result d;
            tc_error e;
            if (ar && diff_traces(way ? tb : ta, way ? ta : tb, &o, ar, &d, &e) == 0) {
                tc_buf b;
                buf_init(&b, 0);
                diff_write_text(&d, &b, 5, way == 1);
                diff_write_json(&d, &b);
                diff_kinds(&d);
                buf_free(&b);
            }
            arena_free(&ar);
            o.exact_values = true;
            o.no_default_ignores = true;
        }
    }
    trace_set_free(&sa);
    trace_set_free(&sb);
    return 0;
}
