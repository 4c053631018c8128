/* zipkin.c - Zipkin: GET {endpoint}/api/v2/trace/{id} (Zipkin v2 JSON). */
#include "source_int.h"

#include "codec/codec.h"

#include <stdio.h>

source_status src_zipkin_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    char hex[33], path[64];
    hex_encode(tid, 16, hex);
    snprintf(path, sizeof path, "api/v2/trace/%s", hex);
    tc_buf url;
    buf_init(&url, 1 << 16);
    src_url(s->c, s->c->endpoint, path, &url);
    src_request rq = {.method = "GET", .url = buf_str(&url), .accept = "application/json"};
    long status;
    source_status st = src_http(s, &rq, deadline_ns, &status, e);
    if (st == SOURCE_FOUND) {
        if (s->body.len <= 2 && buf_str(&s->body)[0] == '[') /* [] */
            st = SOURCE_NOT_FOUND;
        else
            st = src_decode_body(s, ts, TF_ZIPKIN_JSON, buf_str(&url), e);
    }
    buf_free(&url);
    return st;
}
