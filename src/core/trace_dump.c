/* trace_dump.c - canonical text dump of a trace set (see trace_dump in
 * trace.h), the common currency of codec tests. */
#include "trace.h"

#include <string.h>

static void dump_value(tc_buf *out, const tc_value *v)
{
    buf_puts(out, value_type_name((tc_vtype)v->type));
    buf_putc(out, ':');
    value_to_json(out, v);
}

static void dump_attrs(tc_buf *out, const char *indent, const char *what, const tc_attr *attrs,
                       uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        buf_printf(out, "%s%s %s=", indent, what, attrs[i].key);
        dump_value(out, &attrs[i].value);
        buf_putc(out, '\n');
    }
}

static void dump_span(tc_buf *out, const trace_span *sp)
{
    char id[17], pid[17];
    hex_encode(sp->span_id, SPAN_ID_LEN, id);
    hex_encode(sp->parent_id, SPAN_ID_LEN, pid);
    buf_printf(out, "%*sspan %s parent=%s name=", (int)sp->depth * 2, "", id,
               trace_span_has_parent(sp) ? pid : "-");
    buf_json_string(out, sp->name, strlen(sp->name));
    buf_printf(out, " kind=%s start=%llu end=%llu status=%s", trace_kind_name(sp->kind),
               (unsigned long long)sp->start_ns, (unsigned long long)sp->end_ns,
               trace_status_name(sp->status_code));
    if (*sp->status_message) {
        buf_puts(out, " message=");
        buf_json_string(out, sp->status_message, strlen(sp->status_message));
    }
    if (sp->flags)
        buf_printf(out, " flags=0x%x", sp->flags);
    if (*sp->trace_state)
        buf_printf(out, " tracestate=%s", sp->trace_state);
    buf_putc(out, '\n');
    const char *in = "    ";
    dump_attrs(out, in, "resource", sp->resource->attrs, sp->resource->n_attrs);
    if (*sp->scope->name || *sp->scope->version)
        buf_printf(out, "%sscope %s %s\n", in, sp->scope->name, sp->scope->version);
    dump_attrs(out, in, "scope-attr", sp->scope->attrs, sp->scope->n_attrs);
    dump_attrs(out, in, "attr", sp->attrs, sp->n_attrs);
    for (uint32_t i = 0; i < sp->n_events; i++) {
        buf_printf(out, "%sevent %llu ", in, (unsigned long long)sp->events[i].time_ns);
        buf_json_string(out, sp->events[i].name, strlen(sp->events[i].name));
        buf_putc(out, '\n');
        dump_attrs(out, "      ", "attr", sp->events[i].attrs, sp->events[i].n_attrs);
    }
    for (uint32_t i = 0; i < sp->n_links; i++) {
        char lt[33], ls[17];
        hex_encode(sp->links[i].trace_id, TRACE_ID_LEN, lt);
        hex_encode(sp->links[i].span_id, SPAN_ID_LEN, ls);
        buf_printf(out, "%slink %s %s\n", in, lt, ls);
        dump_attrs(out, "      ", "attr", sp->links[i].attrs, sp->links[i].n_attrs);
    }
    if (sp->dropped_attrs || sp->dropped_events || sp->dropped_links)
        buf_printf(out, "%sdropped attrs=%u events=%u links=%u\n", in, sp->dropped_attrs,
                   sp->dropped_events, sp->dropped_links);
}

int trace_dump(trace_set *ts, tc_buf *out)
{
    int rc = trace_set_index(ts);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < trace_set_count(ts); i++) {
        trace *t = trace_set_at(ts, i);
        char tid[33];
        hex_encode(t->trace_id, TRACE_ID_LEN, tid);
        buf_printf(out, "trace %s spans=%u roots=%u orphans=%u\n", tid, t->n_spans, t->n_roots,
                   t->n_orphans);
        for (uint32_t k = 0; k < t->n_spans; k++)
            dump_span(out, t->preorder[k]);
    }
    return out->failed ? TC_ERR_NOMEM : 0;
}
