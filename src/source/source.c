/* source.c - one poll of a backend: dispatches to the backend's file. */
#include "source_int.h"

#include <stdlib.h>
#include <string.h>

source_status source_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    memset(e, 0, sizeof *e);
    e->offset = (size_t)-1;
    switch (s->c->type) {
    case SOURCE_JAEGER: return src_jaeger_fetch(s, tid, ts, deadline_ns, e);
    case SOURCE_TEMPO: return src_tempo_fetch(s, tid, ts, deadline_ns, e);
    case SOURCE_ZIPKIN: return src_zipkin_fetch(s, tid, ts, deadline_ns, e);
    case SOURCE_OPENSEARCH:
    case SOURCE_ELASTICAPM: return src_search_fetch(s, tid, ts, deadline_ns, e);
    case SOURCE_XRAY: return src_xray_fetch(s, tid, ts, deadline_ns, e);
    case SOURCE_RECEIVER: break;
    }
    tc_error_set(e, TC_ERR_UNSUPPORTED, "%s: spans come to the built-in receiver; nothing to poll",
                 source_type_name(s->c->type));
    return SOURCE_FATAL;
}

const source_config *source_config_of(const source *s)
{
    return s->c;
}

uint32_t source_max_spans(void)
{
    const char *v = getenv("TRACECHECK_MAX_SPANS");
    if (v && *v) {
        char *end;
        unsigned long n = strtoul(v, &end, 10);
        if (!*end && n > 0 && n <= 100000000ul)
            return (uint32_t)n;
    }
    return SOURCE_MAX_SPANS;
}
