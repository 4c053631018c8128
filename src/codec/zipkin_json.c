/* zipkin_json.c - decodes Zipkin v2 JSON spans into the trace model. */
#include "codec/codec.h"

int zipkin_json_decode(trace_set *ts, const char *buf, size_t len, tc_error *e)
{
    return tc_error_set(e, TC_ERR_UNSUPPORTED, "todo");
}
