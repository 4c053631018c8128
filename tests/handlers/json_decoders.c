/* json_decoders.c - case handlers for the Jaeger and Zipkin JSON decoders:
 * decode @file (under tests/data) or the case's input and print
 * trace_dump, or the error as "LINE:COL: message" when it is located. */
#include "case.h"
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

typedef int (*json_decoder)(trace_set *, const char *, size_t, tc_error *);

static int decode_case(const tc_case *c, tc_buf *out, json_decoder decode)
{
    const char *file = case_param(c, "file");
    char *data = NULL;
    size_t len = strlen(c->input);
    const char *buf = c->input;
    if (file) {
        data = case_read_file(case_data_path(file), &len);
        if (!data) {
            buf_printf(out, "cannot read %s", file);
            return 1;
        }
        buf = data;
    }
    trace_set *ts = trace_set_new(0);
    tc_error e;
    memset(&e, 0, sizeof e);
    int rc = decode(ts, buf, len, &e);
    if (rc) {
        if (e.line > 0)
            buf_printf(out, "%d:%d: %s", e.line, e.col, e.msg);
        else
            buf_puts(out, e.msg);
    } else {
        rc = trace_dump(ts, out);
    }
    trace_set_free(&ts);
    free(data);
    return rc;
}

CASE_HANDLER(jaeger_json)
{
    return decode_case(c, out, jaeger_json_decode);
}

CASE_HANDLER(zipkin_json)
{
    return decode_case(c, out, zipkin_json_decode);
}
