/* jaeger_pb.c - case handlers for the Jaeger gRPC (api_v2 protobuf) codec:
 *
 *   jaeger_pb          decodes @file (a SpansResponseChunk under tests/data;
 *                      several files, space-separated, are chunks of one
 *                      stream) or the case input as hex (white space
 *                      ignored, "(HEX)*N" repeats HEX N times) and prints
 *                      trace_dump, or the error message.
 *   jaeger_pb_equiv    decodes @json with jaeger_json_decode and @pb (files
 *                      as above) with jaeger_pb_decode_chunk, and prints
 *                      "same" or "differs" with the first differing lines.
 *                      @micros yes first cuts the protobuf times to whole
 *                      microseconds, as Jaeger does when it writes JSON.
 *   jaeger_pb_request  prints the GetTraceRequest for the trace id given
 *                      as input (32 hex digits) as hex. */
#include "case.h"
#include "codec/codec.h"
#include "codec/jaeger_pb.h"

#include <stdlib.h>
#include <string.h>

static int hex_digit(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* Appends the bytes of hex text s[0..n) to b; -1 on an odd digit count or
 * a bad repeat. */
static int hex_append(tc_buf *b, const char *s, size_t n)
{
    int hi = -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '(') {
            const char *close = memchr(s + i, ')', n - i);
            if (!close || close[1] != '*' || hi >= 0)
                return -1;
            tc_buf unit;
            buf_init(&unit, 0);
            int rc = hex_append(&unit, s + i + 1, (size_t)(close - s - i - 1));
            char *end;
            unsigned long count = strtoul(close + 2, &end, 10);
            for (unsigned long k = 0; k < count && !rc; k++)
                rc = buf_append(b, unit.ptr, unit.len);
            buf_free(&unit);
            if (rc)
                return -1;
            i = (size_t)(end - s) - 1;
            continue;
        }
        int v = hex_digit(s[i]);
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

/* Decodes every chunk named in `files` (space-separated, under the test
 * data folder) into ts; on failure the message is in out. */
static int decode_files(trace_set *ts, const char *files, tc_buf *out)
{
    char *list = strdup(files), *save = NULL;
    int rc = 0;
    for (char *f = strtok_r(list, " ", &save); f && !rc; f = strtok_r(NULL, " ", &save)) {
        size_t len;
        char *data = case_read_file(case_data_path(f), &len);
        if (!data) {
            buf_printf(out, "cannot read %s", f);
            rc = 1;
            break;
        }
        tc_error e;
        memset(&e, 0, sizeof e);
        rc = jaeger_pb_decode_chunk(ts, (const uint8_t *)data, len, &e);
        if (rc)
            buf_printf(out, "%s", e.msg);
        free(data);
    }
    free(list);
    return rc;
}

CASE_HANDLER(jaeger_pb)
{
    trace_set *ts = trace_set_new(0);
    const char *files = case_param(c, "file");
    int rc;
    if (files) {
        rc = decode_files(ts, files, out);
    } else {
        tc_buf body;
        buf_init(&body, 0);
        rc = hex_append(&body, c->input, strlen(c->input));
        if (rc) {
            buf_puts(out, "bad hex input");
        } else {
            tc_error e;
            memset(&e, 0, sizeof e);
            rc = jaeger_pb_decode_chunk(ts, (const uint8_t *)body.ptr, body.len, &e);
            if (rc)
                buf_puts(out, e.msg);
        }
        buf_free(&body);
    }
    if (!rc)
        rc = trace_dump(ts, out);
    trace_set_free(&ts);
    return rc;
}

/* Cuts span and event times to whole microseconds (start, then duration). */
static void to_micros(trace_set *ts)
{
    for (uint32_t i = 0; i < trace_set_count(ts); i++) {
        trace *t = trace_set_at(ts, i);
        for (uint32_t k = 0; k < t->n_spans; k++) {
            trace_span *sp = t->spans[k];
            uint64_t dur = (sp->end_ns - sp->start_ns) / 1000 * 1000;
            sp->start_ns = sp->start_ns / 1000 * 1000;
            sp->end_ns = sp->start_ns + dur;
            for (uint32_t j = 0; j < sp->n_events; j++)
                sp->events[j].time_ns = sp->events[j].time_ns / 1000 * 1000;
        }
    }
}

CASE_HANDLER(jaeger_pb_equiv)
{
    const char *json = case_param(c, "json"), *pb = case_param(c, "pb");
    const char *micros = case_param(c, "micros");
    if (!json || !pb) {
        buf_puts(out, "jaeger_pb_equiv needs @json and @pb");
        return 1;
    }
    size_t len;
    char *data = case_read_file(case_data_path(json), &len);
    if (!data) {
        buf_printf(out, "cannot read %s", json);
        return 1;
    }
    trace_set *tj = trace_set_new(0), *tp = trace_set_new(0);
    tc_buf dj, dp;
    buf_init(&dj, 0);
    buf_init(&dp, 0);
    tc_error e;
    memset(&e, 0, sizeof e);
    int rc = jaeger_json_decode(tj, data, len, &e);
    free(data);
    if (rc)
        buf_printf(out, "%s: %s", json, e.msg);
    else if (!(rc = decode_files(tp, pb, out))) {
        if (micros && strcmp(micros, "yes") == 0)
            to_micros(tp);
        rc = trace_dump(tj, &dj);
        if (!rc)
            rc = trace_dump(tp, &dp);
    }
    if (!rc && strcmp(buf_str(&dj), buf_str(&dp)) == 0) {
        buf_puts(out, "same\n");
    } else if (!rc) {
        const char *a = buf_str(&dj), *b = buf_str(&dp);
        while (*a && *a == *b)
            a++, b++;
        while (a > buf_str(&dj) && a[-1] != '\n')
            a--, b--;
        buf_printf(out, "differs\n  json: %.*s\n  pb:   %.*s\n", (int)strcspn(a, "\n"), a,
                   (int)strcspn(b, "\n"), b);
    }
    buf_free(&dj);
    buf_free(&dp);
    trace_set_free(&tj);
    trace_set_free(&tp);
    return rc;
}

CASE_HANDLER(jaeger_pb_request)
{
    uint8_t tid[TRACE_ID_LEN];
    const char *s = c->input;
    size_t n = strcspn(s, " \n");
    if (hex_decode(s, n, tid, TRACE_ID_LEN)) {
        buf_puts(out, "input: expected 32 hex digits");
        return 1;
    }
    tc_buf req;
    buf_init(&req, 0);
    int rc = jaeger_pb_get_trace_request(tid, &req);
    if (rc) {
        buf_puts(out, "jaeger_pb_get_trace_request failed");
    } else {
        char hex[3];
        for (size_t i = 0; i < req.len; i++) {
            hex_encode((const uint8_t *)req.ptr + i, 1, hex);
            buf_puts(out, hex);
        }
        buf_putc(out, '\n');
    }
    buf_free(&req);
    return rc;
}
