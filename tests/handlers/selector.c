/* selector.c - case handlers for the selector language and span attributes:
 *   selector_parse  input: a selector; output: its canonical form, or the
 *                   error "column N: message"
 *   selector        @trace FILE (under tests/data); input: a selector;
 *                   output: the selected spans' names, one a line, in order
 *   spanattr        @trace FILE; input: "SPAN NAME | ATTRIBUTE"; output:
 *                   the value as text, or "(absent)" */
#include "case.h"
#include "codec/codec.h"
#include "core/sel.h"
#include "core/spanattr.h"

#include <stdlib.h>
#include <string.h>

static trace_set *load(const tc_case *c, tc_buf *out)
{
    const char *file = case_param(c, "trace");
    if (!file) {
        buf_puts(out, "missing @trace");
        return NULL;
    }
    size_t len;
    char *data = case_read_file(case_data_path(file), &len);
    if (!data) {
        buf_printf(out, "cannot read %s", file);
        return NULL;
    }
    trace_set *ts = trace_set_new(0);
    tc_error e;
    if (tracefile_decode(ts, (const uint8_t *)data, len, TF_AUTO, NULL, &e) || trace_set_index(ts) ||
        trace_set_count(ts) != 1) {
        buf_printf(out, "%s: %s", file, trace_set_count(ts) != 1 ? "want exactly one trace" : e.msg);
        trace_set_free(&ts);
    }
    free(data);
    return ts;
}

CASE_HANDLER(selector_parse)
{
    sel_query *q = NULL;
    tc_error e;
    if (sel_parse(c->input, strlen(c->input), &q, &e)) {
        buf_puts(out, e.msg);
        return 1;
    }
    int rc = sel_print(q, out);
    sel_free(&q);
    return rc;
}

CASE_HANDLER(selector)
{
    trace_set *ts = load(c, out);
    if (!ts)
        return 1;
    sel_query *q = NULL;
    tc_error e;
    int rc = sel_parse(c->input, strlen(c->input), &q, &e);
    if (rc) {
        buf_puts(out, e.msg);
    } else {
        arena *a = arena_new(0);
        trace_span **spans;
        uint32_t n;
        rc = sel_match(q, ts, trace_set_at(ts, 0), a, &spans, &n);
        for (uint32_t i = 0; !rc && i < n; i++)
            buf_printf(out, "%s\n", spans[i]->name);
        if (!rc && n == 0)
            buf_puts(out, "(none)");
        arena_free(&a);
    }
    sel_free(&q);
    trace_set_free(&ts);
    return rc;
}

CASE_HANDLER(spanattr)
{
    const char *bar = strstr(c->input, " | ");
    if (!bar) {
        buf_puts(out, "input must be 'SPAN NAME | ATTRIBUTE'");
        return 1;
    }
    trace_set *ts = load(c, out);
    if (!ts)
        return 1;
    trace *t = trace_set_at(ts, 0);
    size_t nl = (size_t)(bar - c->input);
    const char *key = bar + 3;
    int rc = 1;
    for (uint32_t i = 0; i < t->n_spans; i++) {
        trace_span *sp = t->preorder[i];
        if (strlen(sp->name) != nl || memcmp(sp->name, c->input, nl) != 0)
            continue;
        tc_value v;
        int r = spanattr_get(trace_set_arena(ts), sp, key, strlen(key), &v);
        if (r == 0)
            rc = value_to_text(out, &v);
        else if (r == 1)
            rc = buf_puts(out, "(absent)");
        break;
    }
    if (rc == 1)
        buf_puts(out, "no span of that name");
    trace_set_free(&ts);
    return rc;
}
