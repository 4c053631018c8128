/* otlp_pb.c - fuzz harness for the OTLP protobuf decoder: decode, dump,
 * free; the wire-level span decoder and the protobuf-c reference must agree
 * (same success or failure, error and dump), else it aborts. */
#include "codec/codec.h"
#include "codec/otlp_pb.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(int (*dec)(trace_set *, const uint8_t *, size_t, tc_error *), const uint8_t *data,
               size_t size, tc_error *e, tc_buf *out)
{
    trace_set *ts = trace_set_new((size_t)64 << 20);
    if (!ts)
        abort();
    memset(e, 0, sizeof *e);
    int rc = dec(ts, data, size, e);
    if (rc == 0)
        trace_dump(ts, out);
    trace_set_free(&ts);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_error e1, e2;
    tc_buf d1, d2;
    buf_init(&d1, 0);
    buf_init(&d2, 0);
    int rc1 = run(otlp_pb_decode, data, size, &e1, &d1);
    int rc2 = run(otlp_pb_decode_reference, data, size, &e2, &d2);
    bool same = rc1 == rc2 && d1.len == d2.len && (!d1.len || !memcmp(d1.ptr, d2.ptr, d1.len));
    if (rc1 && same)
        same = rc1 == TC_ERR_NOMEM || (!strcmp(e1.msg, e2.msg) && e1.offset == e2.offset);
    if (!same) {
        fprintf(stderr, "decoders differ: direct %d \"%s\", reference %d \"%s\"\n", rc1,
                rc1 ? e1.msg : "", rc2, rc2 ? e2.msg : "");
        abort();
    }
    buf_free(&d1);
    buf_free(&d2);
    return 0;
}
