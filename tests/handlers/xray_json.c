/* xray_json.c - case handlers for AWS X-Ray: decode a BatchGetTraces
 * response (@file under tests/data, or the case's input) and print the next
 * token, the unprocessed flag and trace_dump, or the error ("LINE:COL:
 * message" when located); and turn a hex trace id (the input) into X-Ray's
 * id and request body (@next_token optional). */
#include "case.h"
#include "codec/codec.h"
#include "codec/xray_json.h"

#include <stdlib.h>
#include <string.h>

/* @big N: the input's first "$BIG" becomes N bytes of 'a' (for the string
 * limit). Returns a malloc'd text, or NULL. */
static char *expand_big(const tc_case *c, size_t *len)
{
    const char *big = case_param(c, "big");
    const char *at = strstr(c->input, "$BIG");
    size_t n = big ? strtoull(big, NULL, 10) : 0;
    size_t head = at ? (size_t)(at - c->input) : strlen(c->input);
    const char *tail = at ? at + 4 : "";
    *len = head + (at ? n : 0) + strlen(tail);
    char *s = malloc(*len + 1);
    if (!s)
        return NULL;
    memcpy(s, c->input, head);
    if (at)
        memset(s + head, 'a', n);
    strcpy(s + head + (at ? n : 0), tail);
    return s;
}

CASE_HANDLER(xray_json)
{
    const char *file = case_param(c, "file");
    size_t len;
    char *data = file ? case_read_file(case_data_path(file), &len) : expand_big(c, &len);
    if (!data) {
        buf_printf(out, "cannot read %s", file ? file : "the input");
        return 1;
    }
    trace_set *ts = trace_set_new(0);
    tc_error e;
    memset(&e, 0, sizeof e);
    char *tok = NULL;
    bool unprocessed = false;
    int rc = xray_json_decode(ts, data, len, &tok, &unprocessed, &e);
    if (rc) {
        if (e.line > 0)
            buf_printf(out, "%d:%d: %s", e.line, e.col, e.msg);
        else
            buf_puts(out, e.msg);
    } else {
        buf_printf(out, "next_token=%s unprocessed=%s\n", tok ? tok : "-", unprocessed ? "yes" : "no");
        rc = trace_dump(ts, out);
    }
    free(tok);
    trace_set_free(&ts);
    free(data);
    return rc;
}

CASE_HANDLER(xray_ids)
{
    uint8_t tid[TRACE_ID_LEN];
    if (hex_decode(c->input, strlen(c->input), tid, TRACE_ID_LEN)) {
        buf_puts(out, "input is not 32 hex digits");
        return 1;
    }
    char id[XRAY_TRACE_ID_LEN + 1];
    xray_trace_id(tid, id);
    uint8_t back[TRACE_ID_LEN];
    if (xray_parse_trace_id(id, strlen(id), back) || memcmp(back, tid, TRACE_ID_LEN)) {
        buf_printf(out, "%s does not parse back", id);
        return 1;
    }
    buf_printf(out, "%s\n", id);
    return xray_batch_get_body(tid, case_param(c, "next_token"), out);
}
