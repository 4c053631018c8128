/* jaeger_zipkin.c - fuzz harness: feeds the input to the Jaeger and the
 * Zipkin JSON decoders, each on a fresh trace set, and dumps what decoded. */
#include "codec/codec.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int (*decoders[])(trace_set *, const char *, size_t, tc_error *) = {jaeger_json_decode,
                                                                        zipkin_json_decode};
    for (int i = 0; i < 2; i++) {
        trace_set *ts = trace_set_new((size_t)64 << 20);
        tc_error e;
        tc_buf out;
        buf_init(&out, 0);
        if (ts && decoders[i](ts, (const char *)data, size, &e) == 0)
            trace_dump(ts, &out);
        buf_free(&out);
        trace_set_free(&ts);
    }
    return 0;
}
