/* otlp_json.c - fuzz harness for the OTLP JSON codec: decode any bytes;
 * when they decode, encode and decode again, which must succeed. */
#include "codec/codec.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace_set *ts = trace_set_new((size_t)64 << 20);
    tc_error e;
    if (ts && otlp_json_decode(ts, (const char *)data, size, &e) == 0) {
        tc_buf b;
        buf_init(&b, 0);
        trace_set *again = trace_set_new(0);
        if (otlp_json_encode(ts, &b) == 0 && otlp_json_decode(again, buf_str(&b), b.len, &e) != 0)
            abort(); /* what we encode we must read back */
        trace_set_free(&again);
        buf_free(&b);
    }
    trace_set_free(&ts);
    return 0;
}
