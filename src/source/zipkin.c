/* zipkin.c - Zipkin: GET {endpoint}/api/v2/trace/{id} (Zipkin v2 JSON). */
#include "source_int.h"

#include "codec/codec.h"

source_status src_zipkin_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    return src_get_trace(s, "api/v2/trace/", "application/json", TF_ZIPKIN_JSON, tid, ts, deadline_ns, e);
}
