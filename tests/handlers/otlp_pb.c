/* otlp_pb.c - case handler for the OTLP protobuf codec: decodes a body
 * (@file under tests/data, @skip N leading bytes, or @hex inline input;
 * the case input lines are hex too when neither is given) and prints
 * trace_dump. @wrap yes first wraps the body as Tempo's TraceByIDResponse
 * (field 1, plus an unknown string field). @roundtrip yes encodes and decodes again before dumping.
 * Every body is also decoded by the protobuf-c reference decoder, which
 * must agree. */
#include "case.h"
#include "codec/codec.h"
#include "codec/otlp_pb.h"

#include <stdlib.h>
#include <string.h>

/* Hex digits (white space ignored); "(HEX)*N" repeats HEX N times. */
static int hex_append(tc_buf *b, const char *s, size_t n)
{
    int hi = -1;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '(') {
            const char *close = memchr(s + i, ')', n - i);
            if (!close || close[1] != '*')
                return -1;
            char *end;
            unsigned long count = strtoul(close + 2, &end, 10);
            for (unsigned long k = 0; k < count; k++)
                if (hex_append(b, s + i + 1, (size_t)(close - s - i - 1)))
                    return -1;
            i = (size_t)(end - s) - 1;
            continue;
        }
        int v = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            char byte = (char)(hi << 4 | v);
            buf_append(b, &byte, 1);
            hi = -1;
        }
    }
    return hi < 0 ? 0 : -1;
}

static uint8_t *hex_input(const char *s, size_t *len)
{
    tc_buf b;
    buf_init(&b, 0);
    if (hex_append(&b, s, strlen(s))) {
        buf_free(&b);
        return NULL;
    }
    buf_putc(&b, 0); /* a valid pointer even for empty input */
    *len = b.len - 1;
    return (uint8_t *)buf_detach(&b);
}

/* Decodes with both decoders (the wire-level one and the protobuf-c
 * reference): a difference in result, error or dump fails the case. */
static int decode_dump(trace_set *ts, const uint8_t *body, size_t len, tc_buf *out)
{
    tc_error e, e2;
    int rc = otlp_pb_decode(ts, body, len, &e);
    trace_set *ref = trace_set_new(0);
    int rc2 = otlp_pb_decode_reference(ref, body, len, &e2);
    bool same = rc == rc2 && (!rc || (!strcmp(e.msg, e2.msg) && e.offset == e2.offset));
    if (same && !rc) {
        tc_buf a, b;
        buf_init(&a, 0);
        buf_init(&b, 0);
        trace_dump(ts, &a);
        trace_dump(ref, &b);
        same = a.len == b.len && (!a.len || !memcmp(a.ptr, b.ptr, a.len));
        buf_free(&a);
        buf_free(&b);
    }
    trace_set_free(&ref);
    if (!same) {
        buf_printf(out, "decoders differ: %d \"%s\" vs reference %d \"%s\"", rc,
                   rc ? e.msg : "", rc2, rc2 ? e2.msg : "");
        return 1;
    }
    if (rc) {
        buf_puts(out, e.msg);
        return 1;
    }
    return 0;
}

CASE_HANDLER(otlp_pb);
CASE_HANDLER(otlp_pb)
{
    const char *file = case_param(c, "file");
    const char *hex = case_param(c, "hex");
    const char *skip = case_param(c, "skip");
    const char *rt = case_param(c, "roundtrip");
    size_t len = 0;
    uint8_t *body;
    if (file) {
        body = (uint8_t *)case_read_file(case_data_path(file), &len);
        if (!body) {
            buf_printf(out, "cannot read %s", file);
            return 1;
        }
    } else {
        body = hex_input(hex ? hex : c->input, &len);
        if (!body) {
            buf_puts(out, "bad hex input");
            return 1;
        }
    }
    size_t off = skip ? (size_t)strtoul(skip, NULL, 10) : 0;
    if (off > len)
        off = len;
    const char *wrap = case_param(c, "wrap");
    if (wrap && strcmp(wrap, "yes") == 0) {
        tc_buf w;
        buf_init(&w, 0);
        buf_putc(&w, 0x0a);
        size_t n = len - off;
        for (; n >= 0x80; n >>= 7)
            buf_putc(&w, (char)((n & 0x7f) | 0x80));
        buf_putc(&w, (char)n);
        buf_append(&w, body + off, len - off);
        buf_append(&w, "\x22\x02ok", 4); /* field 4 "ok": unknown, skipped */
        free(body);
        len = w.len;
        off = 0;
        body = (uint8_t *)buf_detach(&w);
    }
    trace_set *ts = trace_set_new(0);
    int rc = decode_dump(ts, body + off, len - off, out);
    if (!rc && rt && strcmp(rt, "yes") == 0) {
        tc_buf enc;
        buf_init(&enc, 0);
        rc = otlp_pb_encode(ts, &enc);
        trace_set_free(&ts);
        ts = trace_set_new(0);
        if (rc)
            buf_puts(out, "encode failed");
        else
            rc = decode_dump(ts, (const uint8_t *)enc.ptr, enc.len, out);
        buf_free(&enc);
    }
    if (!rc)
        rc = trace_dump(ts, out);
    trace_set_free(&ts);
    free(body);
    return rc;
}
