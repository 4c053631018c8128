/* pending.c - backends whose decoders are not in yet. */
#include "source_int.h"

source_status src_jaeger_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    (void)s, (void)tid, (void)ts, (void)deadline_ns;
    tc_error_set(e, TC_ERR_UNSUPPORTED, "jaeger: not available yet");
    return SOURCE_FATAL;
}
source_status src_search_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    (void)s, (void)tid, (void)ts, (void)deadline_ns;
    tc_error_set(e, TC_ERR_UNSUPPORTED, "search: not available yet");
    return SOURCE_FATAL;
}
source_status src_xray_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    (void)s, (void)tid, (void)ts, (void)deadline_ns;
    tc_error_set(e, TC_ERR_UNSUPPORTED, "xray: not available yet");
    return SOURCE_FATAL;
}
