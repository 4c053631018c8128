/* otlp_pb.c - fuzz harness for the OTLP protobuf decoder: decode, dump, free. */
#include "codec/codec.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace_set *ts = trace_set_new((size_t)64 << 20);
    tc_error e;
    if (ts && otlp_pb_decode(ts, data, size, &e) == 0) {
        tc_buf out;
        buf_init(&out, 0);
        trace_dump(ts, &out);
        buf_free(&out);
    }
    trace_set_free(&ts);
    return 0;
}
