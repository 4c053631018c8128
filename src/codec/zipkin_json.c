/* zipkin_json.c - decodes Zipkin v2 JSON (a list of spans, or a list of
 * such lists) into the trace model, mapping Zipkin's fields and tags to
 * OTLP the way the OpenTelemetry Collector's Zipkin receiver does. */
#include "codec/codec.h"
#include "codec/jdom.h"
#include "codec/limits.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct zctx {
    jdom_ctx d;
    json_t *svc_index;          /* service name -> index into res */
    const trace_resource **res; /* one resource per distinct service name */
    size_t n_res, cap_res;
} zctx;

/* Extra attributes a span may get beyond its tags: host ip and port, peer
 * service, ip and port, and the absent start time marker. */
#define ZIPKIN_EXTRA_ATTRS 6

static int service_resource(zctx *c, const char *name, const trace_resource **out)
{
    jdom_ctx *d = &c->d;
    if (!*name) {
        *out = trace_set_empty_resource(d->ts);
        return 0;
    }
    json_t *idx = json_object_get(c->svc_index, name);
    if (idx) {
        *out = c->res[json_integer_value(idx)];
        return 0;
    }
    trace_resource *r = arena_calloc(d->a, 1, sizeof *r);
    tc_attr *a = arena_calloc(d->a, 1, sizeof *a);
    if (!r || !a || c->n_res >= c->cap_res)
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    a->key = "service.name";
    a->key_len = 12;
    a->value = jdom_string_value(name);
    r->attrs = a;
    r->n_attrs = 1;
    r->schema_url = "";
    if (json_object_set_new(c->svc_index, name, json_integer((json_int_t)c->n_res)))
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    c->res[c->n_res++] = r;
    *out = r;
    return 0;
}

/* Reads an endpoint {"serviceName", "ipv4", "ipv6", "port"}; absent fields
 * give "" and 0. */
static int endpoint(zctx *c, const json_t *sp, const char *field, const char **svc, const char **ip,
                    json_int_t *port)
{
    jdom_ctx *d = &c->d;
    const json_t *ep = json_object_get(sp, field);
    *svc = *ip = "";
    *port = 0;
    if (!ep || json_is_null(ep))
        return 0;
    if (!json_is_object(ep))
        return jdom_fail(d, TC_ERR_INPUT, field, "expected an object");
    size_t plen = strlen(d->path);
    snprintf(d->path + plen, sizeof d->path - plen, ".%s", field);
    const char *v4, *v6;
    int rc = jdom_str_field(d, ep, "serviceName", "", svc);
    if (!rc)
        rc = jdom_str_field(d, ep, "ipv4", "", &v4);
    if (!rc)
        rc = jdom_str_field(d, ep, "ipv6", "", &v6);
    const json_t *p = json_object_get(ep, "port");
    if (!rc && p && !json_is_null(p)) {
        if (!json_is_integer(p) || json_integer_value(p) < 0 || json_integer_value(p) > 65535)
            rc = jdom_fail(d, TC_ERR_INPUT, "port", "expected an integer from 0 to 65535");
        else
            *port = json_integer_value(p);
    }
    d->path[plen] = '\0';
    if (!rc)
        *ip = *v6 ? v6 : v4;
    return rc;
}

static int span_tags(zctx *c, const json_t *sp, trace_span *s)
{
    jdom_ctx *d = &c->d;
    const json_t *tags = json_object_get(sp, "tags");
    size_t n = 0;
    if (tags && !json_is_null(tags)) {
        if (!json_is_object(tags))
            return jdom_fail(d, TC_ERR_INPUT, "tags", "expected an object");
        n = json_object_size(tags);
        if (n > CODEC_MAX_ATTRS)
            return jdom_fail(d, TC_ERR_LIMIT, "tags", "more than %d attributes", CODEC_MAX_ATTRS);
    }
    s->attrs = arena_calloc(d->a, n + ZIPKIN_EXTRA_ATTRS, sizeof *s->attrs);
    if (!s->attrs)
        return jdom_fail(d, TC_ERR_NOMEM, "tags", "out of memory");
    if (!n)
        return 0;
    const char *key;
    json_t *val;
    uint32_t i = 0;
    json_object_foreach((json_t *)tags, key, val)
    {
        char f[80];
        snprintf(f, sizeof f, "tags.%.60s", key);
        if (!json_is_string(val))
            return jdom_fail(d, TC_ERR_INPUT, f, "expected a string");
        tc_attr *a = &s->attrs[i++];
        size_t klen = strlen(key);
        if (klen > CODEC_MAX_STRING)
            return jdom_fail(d, TC_ERR_LIMIT, "tags", "key over the string limit");
        if (!(a->key = arena_strndup(d->a, key, klen)))
            return jdom_fail(d, TC_ERR_NOMEM, f, "out of memory");
        a->key_len = (uint32_t)klen;
        a->value.type = TC_V_STRING;
        a->value.len = (uint32_t)json_string_length(val);
        int rc = jdom_str(d, val, f, &a->value.u.str);
        if (rc)
            return rc;
    }
    s->n_attrs = i;
    return 0;
}

static int span_annotations(zctx *c, const json_t *sp, trace_span *s)
{
    jdom_ctx *d = &c->d;
    const json_t *anns = json_object_get(sp, "annotations");
    if (!anns || json_is_null(anns))
        return 0;
    if (!json_is_array(anns))
        return jdom_fail(d, TC_ERR_INPUT, "annotations", "expected an array");
    size_t n = json_array_size(anns);
    if (n > CODEC_MAX_EVENTS)
        return jdom_fail(d, TC_ERR_LIMIT, "annotations", "more than %d annotations", CODEC_MAX_EVENTS);
    trace_event *ev = arena_calloc(d->a, n ? n : 1, sizeof *ev);
    if (!ev)
        return jdom_fail(d, TC_ERR_NOMEM, "annotations", "out of memory");
    size_t plen = strlen(d->path);
    for (size_t i = 0; i < n; i++) {
        const json_t *an = json_array_get(anns, i);
        snprintf(d->path + plen, sizeof d->path - plen, ".annotations[%zu]", i);
        if (!json_is_object(an))
            return jdom_fail(d, TC_ERR_INPUT, NULL, "expected an object");
        const json_t *v = json_object_get(an, "value");
        if (!json_is_string(v))
            return jdom_fail(d, TC_ERR_INPUT, "value", v ? "expected a string" : "missing");
        int rc = jdom_micros_field(d, an, "timestamp", &ev[i].time_ns);
        if (rc || (rc = jdom_str(d, v, "value", &ev[i].name)))
            return rc;
    }
    d->path[plen] = '\0';
    s->events = ev;
    s->n_events = (uint32_t)n;
    return 0;
}

static const char *str_or_empty(const tc_value *v)
{
    return v->type == TC_V_STRING ? v->u.str : "";
}

static tc_value int_value(int64_t i)
{
    tc_value v;
    memset(&v, 0, sizeof v);
    v.type = TC_V_INT;
    v.u.i = i;
    return v;
}

/* Span status from tags: otel.status_code (+ otel.status_description),
 * then error="true", which wins. */
static void span_status(trace_span *s)
{
    tc_value v;
    if (jdom_take(s->attrs, &s->n_attrs, "otel.status_code", &v)) {
        int code = trace_status_parse(str_or_empty(&v), v.type == TC_V_STRING ? v.len : 0);
        s->status_code = (uint8_t)(code > 0 ? code : TRACE_STATUS_UNSET);
        if (jdom_take(s->attrs, &s->n_attrs, "otel.status_description", &v))
            s->status_message = str_or_empty(&v);
    }
    const tc_attr *err = attr_find(s->attrs, s->n_attrs, "error", 5);
    if (err && strcmp(str_or_empty(&err->value), "true") == 0) {
        s->status_code = TRACE_STATUS_ERROR;
        jdom_take(s->attrs, &s->n_attrs, "error", NULL);
    }
}

static int decode_span(zctx *c, const json_t *sp)
{
    jdom_ctx *d = &c->d;
    if (!json_is_object(sp))
        return jdom_fail(d, TC_ERR_INPUT, NULL, "expected a span object");
    trace_span *s = arena_calloc(d->a, 1, sizeof *s);
    if (!s)
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    uint64_t dur;
    const char *kind, *lsvc, *lip, *rsvc, *rip;
    json_int_t lport, rport;
    int rc;
    if ((rc = jdom_id_field(d, sp, "traceId", s->trace_id, TRACE_ID_LEN, true, false)) ||
        (rc = jdom_id_field(d, sp, "id", s->span_id, SPAN_ID_LEN, true, false)) ||
        (rc = jdom_id_field(d, sp, "parentId", s->parent_id, SPAN_ID_LEN, false, true)) ||
        (rc = jdom_str_field(d, sp, "name", "", &s->name)) ||
        (rc = jdom_str_field(d, sp, "kind", "", &kind)) ||
        (rc = jdom_micros_field(d, sp, "timestamp", &s->start_ns)) ||
        (rc = jdom_micros_field(d, sp, "duration", &dur)) ||
        (rc = endpoint(c, sp, "localEndpoint", &lsvc, &lip, &lport)) ||
        (rc = endpoint(c, sp, "remoteEndpoint", &rsvc, &rip, &rport)) || (rc = span_tags(c, sp, s)) ||
        (rc = span_annotations(c, sp, s)))
        return rc;
    if (memcmp(s->parent_id, s->span_id, SPAN_ID_LEN) == 0)
        memset(s->parent_id, 0, SPAN_ID_LEN); /* a span that is its own parent is a root */
    if (dur > UINT64_MAX - s->start_ns)
        return jdom_fail(d, TC_ERR_INPUT, "duration", "end time out of range");
    s->end_ns = s->start_ns + dur;

    tc_value v, ver;
    if (jdom_take(s->attrs, &s->n_attrs, "w3c.tracestate", &v))
        s->trace_state = str_or_empty(&v);
    static const char *kinds[] = {"SERVER", "CLIENT", "PRODUCER", "CONSUMER"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(kind, kinds[i]) == 0)
            s->kind = (uint8_t)(TRACE_KIND_SERVER + i);
    if (*kind && !s->kind)
        return jdom_fail(d, TC_ERR_INPUT, "kind", "expected CLIENT, SERVER, PRODUCER or CONSUMER");
    if (!*kind && jdom_take(s->attrs, &s->n_attrs, "span.kind", &v))
        s->kind = strcmp(str_or_empty(&v), "internal") == 0 ? TRACE_KIND_INTERNAL : TRACE_KIND_UNSPECIFIED;
    span_status(s);
    const char *scope_name = "", *scope_version = "";
    bool sn = jdom_take(s->attrs, &s->n_attrs, "otel.scope.name", &v);
    if (jdom_take(s->attrs, &s->n_attrs, "otel.library.name", sn ? NULL : &v) || sn)
        scope_name = str_or_empty(&v);
    bool sv = jdom_take(s->attrs, &s->n_attrs, "otel.scope.version", &ver);
    if (jdom_take(s->attrs, &s->n_attrs, "otel.library.version", sv ? NULL : &ver) || sv)
        scope_version = str_or_empty(&ver);
    if (!(s->scope = jdom_scope(d, scope_name, scope_version)))
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");

    if (*lip)
        jdom_put(s->attrs, &s->n_attrs, "net.host.ip", jdom_string_value(lip));
    if (lport > 0)
        jdom_put(s->attrs, &s->n_attrs, "net.host.port", int_value(lport));
    if (*rsvc)
        jdom_put(s->attrs, &s->n_attrs, "peer.service", jdom_string_value(rsvc));
    if (*rip)
        jdom_put(s->attrs, &s->n_attrs, "net.peer.ip", jdom_string_value(rip));
    if (rport > 0)
        jdom_put(s->attrs, &s->n_attrs, "net.peer.port", int_value(rport));
    if (!s->start_ns) {
        tc_value t;
        memset(&t, 0, sizeof t);
        t.type = TC_V_BOOL;
        t.u.b = true;
        jdom_put(s->attrs, &s->n_attrs, "otel.zipkin.absentField.startTime", t);
    }
    if ((rc = service_resource(c, lsvc, &s->resource)))
        return rc;
    return trace_set_add_span(d->ts, s, d->e);
}

int zipkin_json_decode(trace_set *ts, const char *buf, size_t len, tc_error *e)
{
    json_t *root;
    int rc = jdom_load(buf, len, &root, e);
    if (rc)
        return rc;
    zctx c;
    memset(&c, 0, sizeof c);
    jdom_init(&c.d, ts, e);
    c.svc_index = json_object();
    if (!c.svc_index) {
        rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!json_is_array(root)) {
        rc = tc_error_set(e, TC_ERR_INPUT, "expected a JSON array of Zipkin spans");
        goto out;
    }
    /* at most one resource per span */
    for (size_t i = 0; i < json_array_size(root); i++) {
        const json_t *el = json_array_get(root, i);
        c.cap_res += json_is_array(el) ? json_array_size(el) : 1;
    }
    c.res = arena_calloc(c.d.a, c.cap_res ? c.cap_res : 1, sizeof *c.res);
    if (!c.res) {
        rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(root) && !rc; i++) {
        const json_t *el = json_array_get(root, i);
        if (!json_is_array(el)) {
            snprintf(c.d.path, sizeof c.d.path, "[%zu]", i);
            rc = decode_span(&c, el);
            continue;
        }
        /* a list of traces (GET /api/v2/traces): each a list of spans */
        for (size_t k = 0; k < json_array_size(el) && !rc; k++) {
            snprintf(c.d.path, sizeof c.d.path, "[%zu][%zu]", i, k);
            rc = decode_span(&c, json_array_get(el, k));
        }
    }
out:
    json_decref(c.svc_index);
    json_decref(root);
    return rc;
}
