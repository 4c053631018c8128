/* jaeger_map.c - Jaeger tag conventions onto the trace model, shared by
 * both Jaeger decoders (see jaeger_map.h). */
#include "codec/jaeger_map.h"

#include "codec/jdom.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *jaeger_str_or_empty(const tc_value *v)
{
    return v->type == TC_V_STRING ? v->u.str : "";
}

/* Renames attribute `from` to `to` unless `to` is already there. */
void jaeger_rename_attr(tc_attr *attrs, uint32_t n, const char *from, const char *to)
{
    if (attr_find(attrs, n, to, strlen(to)))
        return;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(attrs[i].key, from) == 0) {
            attrs[i].key = to;
            attrs[i].key_len = (uint32_t)strlen(to);
        }
}

trace_kind jaeger_kind_of(const char *s)
{
    static const char *names[] = {"internal", "server", "client", "producer", "consumer"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return (trace_kind)(i + 1);
    return TRACE_KIND_UNSPECIFIED;
}

/* http.status_code as a number: from an int or a decimal string; -1 if neither. */
static long long jaeger_http_code(const tc_value *v)
{
    if (v->type == TC_V_INT)
        return v->u.i;
    if (v->type == TC_V_STRING && v->len > 0 && v->len < 12) {
        char *end;
        long long x = strtoll(v->u.str, &end, 10);
        if (!*end)
            return x;
    }
    return -1;
}

/* Span status from Jaeger's conventions: error=true wins; then
 * otel.status_code (+ otel.status_description); then an HTTP status code. */
void jaeger_span_status(trace_span *s)
{
    tc_value v;
    bool set = false;
    const tc_attr *err = attr_find(s->attrs, s->n_attrs, "error", 5);
    if (err && err->value.type == TC_V_BOOL && err->value.u.b) {
        jdom_take(s->attrs, &s->n_attrs, "error", NULL);
        s->status_code = TRACE_STATUS_ERROR;
        set = true;
        const tc_attr *m;
        if (jdom_take(s->attrs, &s->n_attrs, "otel.status_description", &v))
            s->status_message = jaeger_str_or_empty(&v);
        else if ((m = attr_find(s->attrs, s->n_attrs, "http.status_message", 19)))
            s->status_message = jaeger_str_or_empty(&m->value);
    }
    if (jdom_take(s->attrs, &s->n_attrs, "otel.status_code", &v)) {
        if (!set) {
            const char *code = jaeger_str_or_empty(&v);
            s->status_code = strcasecmp(code, "OK") == 0      ? TRACE_STATUS_OK
                             : strcasecmp(code, "ERROR") == 0 ? TRACE_STATUS_ERROR
                                                              : TRACE_STATUS_UNSET;
            if (jdom_take(s->attrs, &s->n_attrs, "otel.status_description", &v))
                s->status_message = jaeger_str_or_empty(&v);
        }
        return;
    }
    const tc_attr *hc = attr_find(s->attrs, s->n_attrs, "http.status_code", 16);
    if (set || !hc)
        return;
    long long code = jaeger_http_code(&hc->value);
    if (code < 0)
        return;
    bool error = code < 100 || code >= 399;
    if (code >= 400 && code < 500 && s->kind == TRACE_KIND_SERVER)
        error = false;
    if (error) {
        s->status_code = TRACE_STATUS_ERROR;
        const tc_attr *m = attr_find(s->attrs, s->n_attrs, "http.status_message", 19);
        if (m)
            s->status_message = jaeger_str_or_empty(&m->value);
    }
}
