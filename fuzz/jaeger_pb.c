/* jaeger_pb.c - fuzz harness: feeds the input to the Jaeger api_v2
 * protobuf decoder (one SpansResponseChunk) on a fresh trace set and dumps
 * what decoded. */
#include "codec/jaeger_pb.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace_set *ts = trace_set_new((size_t)64 << 20);
    tc_error e;
    tc_buf out;
    buf_init(&out, 0);
    if (ts && jaeger_pb_decode_chunk(ts, data, size, &e) == 0)
        trace_dump(ts, &out);
    buf_free(&out);
    trace_set_free(&ts);
    return 0;
}
