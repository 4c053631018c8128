/* tracefile.c - fuzz harness: any bytes through format sniffing, gzip and
 * every decoder, then indexing and the canonical dump. */
#include "codec/codec.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace_set *ts = trace_set_new(64u << 20);
    if (!ts)
        return 0;
    tc_error e;
    if (tracefile_decode(ts, data, size, TF_AUTO, NULL, &e) == 0) {
        tc_buf b;
        buf_init(&b, 0);
        trace_dump(ts, &b);
        buf_free(&b);
    }
    trace_set_free(&ts);
    return 0;
}
