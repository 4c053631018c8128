/* lint_fuzz.c - fuzz harness: a trace file in any format (sniffed), every
 * trace of it through the analyzer with every plugin, then the pretty and
 * JSON renderings of the result. */
#include "codec/codec.h"
#include "core/lint.h"
#include "report/report.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace_set *ts = trace_set_new(64u << 20);
    tc_error e;
    if (ts && tracefile_decode(ts, data, size, TF_AUTO, NULL, &e) == 0 && trace_set_index(ts) == 0) {
        for (uint32_t i = 0; i < trace_set_count(ts) && i < 8; i++) {
            arena *a = arena_new(64u << 20);
            lint_result *r = NULL;
            lint_config cfg = {50, NULL, 0, 2, 1};
            if (a && lint_run(i % 2 ? &cfg : NULL, trace_set_at(ts, i), a, &r, &e) == 0) {
                tc_buf b;
                buf_init(&b, 0);
                report_lint_pretty(&b, r, i % 2, "  ");
                report_lint_json(&b, r);
                buf_free(&b);
            }
            arena_free(&a);
        }
    }
    trace_set_free(&ts);
    return 0;
}
