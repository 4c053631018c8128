/* otlp_json.c - case handler for the OTLP JSON codec: decodes @file (under
 * the test data folder) or the inline input and prints the trace dump, or
 * the error as "LINE:COL: message". "@roundtrip yes" decodes, encodes,
 * decodes again and dumps the second set; "@encode yes" prints the
 * encoded JSON instead of the dump. */
#include "case.h"
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

static int put_error(tc_buf *out, const tc_error *e)
{
    if (e->line)
        buf_printf(out, "%d:%d: ", e->line, e->col);
    buf_puts(out, e->msg);
    return 1;
}

CASE_HANDLER(otlp_json);
CASE_HANDLER(otlp_json)
{
    const char *file = case_param(c, "file");
    const char *rt = case_param(c, "roundtrip");
    char *data = NULL;
    size_t len;
    if (file) {
        data = case_read_file(case_data_path(file), &len);
        if (!data) {
            buf_printf(out, "cannot read %s", file);
            return 1;
        }
    } else {
        len = strlen(c->input);
        data = malloc(len + 1);
        if (!data)
            return 1;
        memcpy(data, c->input, len + 1);
    }
    int rc = 0;
    tc_error e = {0};
    trace_set *ts = trace_set_new(0);
    if (otlp_json_decode(ts, data, len, &e)) {
        rc = put_error(out, &e);
        goto out;
    }
    const char *enc_only = case_param(c, "encode");
    if (enc_only && strcmp(enc_only, "yes") == 0) {
        if (otlp_json_encode(ts, out))
            rc = 1;
        goto out;
    }
    if (rt && strcmp(rt, "yes") == 0) {
        tc_buf enc;
        buf_init(&enc, 0);
        if (otlp_json_encode(ts, &enc)) {
            buf_puts(out, "encode failed");
            buf_free(&enc);
            rc = 1;
            goto out;
        }
        trace_set_free(&ts);
        ts = trace_set_new(0);
        if (otlp_json_decode(ts, buf_str(&enc), enc.len, &e)) {
            buf_puts(out, "re-decode: ");
            rc = put_error(out, &e);
            buf_puts(out, "\n");
            buf_puts(out, buf_str(&enc));
            buf_free(&enc);
            goto out;
        }
        buf_free(&enc);
    }
    if (trace_dump(ts, out))
        rc = 1;
out:
    trace_set_free(&ts);
    free(data);
    return rc;
}
