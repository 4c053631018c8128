/* jaeger_json.c - decodes the Jaeger query service's JSON traces
 * (GET /api/traces/{id}) into the trace model, mapping Jaeger's tag
 * conventions to OTLP fields the way the OpenTelemetry Collector does. */
#include "codec/codec.h"
#include "codec/jdom.h"
#include "codec/jaeger_map.h"
#include "codec/limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct jctx {
    jdom_ctx d;
    const json_t *processes;    /* the trace's "processes" object, or NULL */
    json_t *res_index;          /* process id -> index into res */
    const trace_resource **res; /* one resource per process, built on first use */
    size_t n_res;
} jctx;

/* Reads one typed value {"key", "type", "value"} (a span or process tag or a
 * log field); `where` names it in errors, e.g. "tags[2]". */
static int typed_value(jctx *c, const json_t *kv, const char *where, tc_attr *out)
{
    jdom_ctx *d = &c->d;
    char f[64];
    if (!json_is_object(kv))
        return jdom_fail(d, TC_ERR_INPUT, where, "expected an object");
    const json_t *key = json_object_get(kv, "key");
    if (!json_is_string(key)) {
        snprintf(f, sizeof f, "%s.key", where);
        return jdom_fail(d, TC_ERR_INPUT, f, key ? "expected a string" : "missing");
    }
    const json_t *val = json_object_get(kv, "value");
    const json_t *type = json_object_get(kv, "type");
    snprintf(f, sizeof f, "%s.value", where);
    if (!val)
        return jdom_fail(d, TC_ERR_INPUT, f, "missing");
    const char *tn = json_is_string(type) ? json_string_value(type) : NULL;
    if (type && !json_is_null(type) && !tn) {
        snprintf(f, sizeof f, "%s.type", where);
        return jdom_fail(d, TC_ERR_INPUT, f, "expected a string");
    }
    if (!tn) /* no type: take the JSON type */
        tn = json_is_string(val)    ? "string"
             : json_is_boolean(val) ? "bool"
             : json_is_integer(val) ? "int64"
             : json_is_real(val)    ? "float64"
                                    : "?";
    int rc = jdom_str(d, key, where, &out->key);
    if (rc)
        return rc;
    out->key_len = (uint32_t)json_string_length(key);
    tc_value *v = &out->value;
    memset(v, 0, sizeof *v);
    if (strcasecmp(tn, "string") == 0) {
        if (!json_is_string(val))
            return jdom_fail(d, TC_ERR_INPUT, f, "expected a string");
        v->type = TC_V_STRING;
        v->len = (uint32_t)json_string_length(val);
        return jdom_str(d, val, f, &v->u.str);
    }
    if (strcasecmp(tn, "bool") == 0) {
        v->type = TC_V_BOOL;
        if (json_is_boolean(val))
            v->u.b = json_is_true(val);
        else if (json_is_string(val) && (strcmp(json_string_value(val), "true") == 0 ||
                                         strcmp(json_string_value(val), "false") == 0))
            v->u.b = json_string_value(val)[0] == 't';
        else
            return jdom_fail(d, TC_ERR_INPUT, f, "expected true or false");
        return 0;
    }
    if (strcasecmp(tn, "int64") == 0) {
        v->type = TC_V_INT;
        if (json_is_integer(val)) {
            v->u.i = (int64_t)json_integer_value(val);
            return 0;
        }
        if (json_is_string(val)) { /* int64 sent as a string to keep precision */
            const char *s = json_string_value(val);
            char *end;
            errno = 0;
            long long x = strtoll(s, &end, 10);
            if (*s && !*end && !errno) {
                v->u.i = x;
                return 0;
            }
        }
        return jdom_fail(d, TC_ERR_INPUT, f, "expected an integer");
    }
    if (strcasecmp(tn, "float64") == 0) {
        v->type = TC_V_DOUBLE;
        if (!json_is_number(val))
            return jdom_fail(d, TC_ERR_INPUT, f, "expected a number");
        v->u.d = json_number_value(val);
        return 0;
    }
    if (strcasecmp(tn, "binary") == 0) {
        if (!json_is_string(val))
            return jdom_fail(d, TC_ERR_INPUT, f, "expected a base64 string");
        size_t n = json_string_length(val);
        if (n > CODEC_MAX_STRING)
            return jdom_fail(d, TC_ERR_LIMIT, f, "string of %zu bytes is over the limit of %zu", n,
                             CODEC_MAX_STRING);
        uint8_t *p = arena_alloc(d->a, n / 4 * 3 + 3);
        if (!p)
            return jdom_fail(d, TC_ERR_NOMEM, f, "out of memory");
        long got = base64_decode(json_string_value(val), n, p, n / 4 * 3 + 3);
        if (got < 0)
            return jdom_fail(d, TC_ERR_INPUT, f, "invalid base64");
        v->type = TC_V_BYTES;
        v->len = (uint32_t)got;
        v->u.bytes = p;
        return 0;
    }
    snprintf(f, sizeof f, "%s.type", where);
    if (json_is_string(type))
        return jdom_fail(d, TC_ERR_INPUT, f, "unknown type \"%.32s\"", json_string_value(type));
    return jdom_fail(d, TC_ERR_INPUT, f, "cannot infer the type of the value");
}

/* Reads an optional array of typed values into an arena array with `extra`
 * free slots at the end. */
static int typed_list(jctx *c, const json_t *obj, const char *field, uint32_t extra, tc_attr **out,
                      uint32_t *n)
{
    const json_t *arr = json_object_get(obj, field);
    *out = NULL;
    *n = 0;
    if (!arr || json_is_null(arr)) {
        if (!extra)
            return 0;
    } else if (!json_is_array(arr)) {
        return jdom_fail(&c->d, TC_ERR_INPUT, field, "expected an array");
    } else if (json_array_size(arr) > CODEC_MAX_ATTRS) {
        return jdom_fail(&c->d, TC_ERR_LIMIT, field, "more than %d attributes", CODEC_MAX_ATTRS);
    }
    size_t count = json_array_size(arr); /* 0 when not an array */
    tc_attr *attrs = arena_calloc(c->d.a, count + extra, sizeof *attrs);
    if (!attrs)
        return jdom_fail(&c->d, TC_ERR_NOMEM, field, "out of memory");
    for (size_t i = 0; i < count; i++) {
        char where[48];
        snprintf(where, sizeof where, "%s[%zu]", field, i);
        int rc = typed_value(c, json_array_get(arr, i), where, &attrs[i]);
        if (rc)
            return rc;
    }
    *out = attrs;
    *n = (uint32_t)count;
    return 0;
}

/* A process object {"serviceName", "tags"} as a resource. */
static int process_resource(jctx *c, const json_t *proc, const trace_resource **out)
{
    jdom_ctx *d = &c->d;
    if (!json_is_object(proc))
        return jdom_fail(d, TC_ERR_INPUT, NULL, "expected an object");
    const char *svc;
    int rc = jdom_str_field(d, proc, "serviceName", "", &svc);
    tc_attr *attrs;
    uint32_t n;
    if (rc || (rc = typed_list(c, proc, "tags", 1, &attrs, &n)))
        return rc;
    if (*svc) { /* service.name first */
        memmove(attrs + 1, attrs, n * sizeof *attrs);
        attrs[0].key = "service.name";
        attrs[0].key_len = 12;
        attrs[0].value = jdom_string_value(svc);
        n++;
    }
    jaeger_rename_attr(attrs, n, "hostname", "host.name");
    tc_value ver;
    if (!attr_find(attrs, n, "opencensus.exporterversion", 26) &&
        jdom_take(attrs, &n, "jaeger.version", &ver)) {
        char *s = arena_alloc(d->a, strlen(jaeger_str_or_empty(&ver)) + 8);
        if (!s)
            return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
        sprintf(s, "Jaeger-%s", jaeger_str_or_empty(&ver));
        jdom_put(attrs, &n, "opencensus.exporterversion", jdom_string_value(s));
    }
    trace_resource *r = arena_calloc(d->a, 1, sizeof *r);
    if (!r)
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    r->attrs = attrs;
    r->n_attrs = n;
    r->schema_url = "";
    *out = r;
    return 0;
}

/* The span's resource: its own "process" object, or the trace's process
 * named by "processID" (built once per trace). */
static int span_resource(jctx *c, const json_t *sp, const trace_resource **out)
{
    jdom_ctx *d = &c->d;
    const json_t *proc = json_object_get(sp, "process");
    const json_t *pid = json_object_get(sp, "processID");
    size_t plen = strlen(d->path);
    int rc;
    if (proc && !json_is_null(proc)) {
        snprintf(d->path + plen, sizeof d->path - plen, ".process");
        rc = process_resource(c, proc, out);
        d->path[plen] = '\0';
        return rc;
    }
    if (!pid || json_is_null(pid)) {
        *out = trace_set_empty_resource(d->ts);
        return 0;
    }
    if (!json_is_string(pid))
        return jdom_fail(d, TC_ERR_INPUT, "processID", "expected a string");
    const char *key = json_string_value(pid);
    json_t *idx = json_object_get(c->res_index, key);
    if (idx) {
        *out = c->res[json_integer_value(idx)];
        return 0;
    }
    proc = c->processes ? json_object_get(c->processes, key) : NULL;
    if (!proc)
        return jdom_fail(d, TC_ERR_INPUT, "processID", "\"%.40s\" is not in processes", key);
    if (c->n_res >= json_object_size(c->processes)) /* cannot happen: one per key */
        return jdom_fail(d, TC_ERR_INPUT, "processID", "too many processes");
    snprintf(d->path + plen, sizeof d->path - plen, ".processes.%.20s", key);
    rc = process_resource(c, proc, out);
    d->path[plen] = '\0';
    if (rc)
        return rc;
    if (json_object_set_new(c->res_index, key, json_integer((json_int_t)c->n_res)))
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    c->res[c->n_res++] = *out;
    return 0;
}

static int span_references(jctx *c, const json_t *sp, trace_span *s)
{
    jdom_ctx *d = &c->d;
    const json_t *refs = json_object_get(sp, "references");
    if (!refs || json_is_null(refs))
        return 0;
    if (!json_is_array(refs))
        return jdom_fail(d, TC_ERR_INPUT, "references", "expected an array");
    size_t n = json_array_size(refs);
    if (n > CODEC_MAX_LINKS)
        return jdom_fail(d, TC_ERR_LIMIT, "references", "more than %d references", CODEC_MAX_LINKS);
    trace_link *links = arena_calloc(d->a, n ? n : 1, sizeof *links);
    bool *child = arena_calloc(d->a, n ? n : 1, sizeof *child);
    if (!links || !child)
        return jdom_fail(d, TC_ERR_NOMEM, "references", "out of memory");
    /* parent: the first CHILD_OF in the same trace, else the first FOLLOWS_FROM */
    int parent = -1, follows = -1;
    size_t plen = strlen(d->path);
    for (size_t i = 0; i < n; i++) {
        const json_t *ref = json_array_get(refs, i);
        snprintf(d->path + plen, sizeof d->path - plen, ".references[%zu]", i);
        if (!json_is_object(ref))
            return jdom_fail(d, TC_ERR_INPUT, NULL, "expected an object");
        const json_t *rt = json_object_get(ref, "refType");
        const char *t = json_is_string(rt) ? json_string_value(rt) : "";
        if (strcmp(t, "CHILD_OF") == 0)
            child[i] = true;
        else if (strcmp(t, "FOLLOWS_FROM") != 0)
            return jdom_fail(d, TC_ERR_INPUT, "refType", "expected CHILD_OF or FOLLOWS_FROM");
        int rc = jdom_id_field(d, ref, "traceID", links[i].trace_id, TRACE_ID_LEN, true, false);
        if (rc || (rc = jdom_id_field(d, ref, "spanID", links[i].span_id, SPAN_ID_LEN, true, false)))
            return rc;
        links[i].trace_state = "";
        if (memcmp(links[i].trace_id, s->trace_id, TRACE_ID_LEN) == 0) {
            if (child[i] && parent < 0)
                parent = (int)i;
            if (!child[i] && follows < 0)
                follows = (int)i;
        }
    }
    d->path[plen] = '\0';
    if (parent < 0)
        parent = follows;
    if (parent >= 0)
        memcpy(s->parent_id, links[parent].span_id, SPAN_ID_LEN);
    /* every other reference is a link (a CHILD_OF to the parent is not) */
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (parent >= 0 && child[i] && memcmp(links[i].span_id, s->parent_id, SPAN_ID_LEN) == 0)
            continue;
        links[k] = links[i];
        tc_attr *a = arena_calloc(d->a, 1, sizeof *a);
        if (!a)
            return jdom_fail(d, TC_ERR_NOMEM, "references", "out of memory");
        a->key = "opentracing.ref_type";
        a->key_len = 20;
        a->value = jdom_string_value(child[i] ? "child_of" : "follows_from");
        links[k].attrs = a;
        links[k].n_attrs = 1;
        k++;
    }
    s->links = links;
    s->n_links = k;
    return 0;
}

static int span_logs(jctx *c, const json_t *sp, trace_span *s)
{
    jdom_ctx *d = &c->d;
    const json_t *logs = json_object_get(sp, "logs");
    if (!logs || json_is_null(logs))
        return 0;
    if (!json_is_array(logs))
        return jdom_fail(d, TC_ERR_INPUT, "logs", "expected an array");
    size_t n = json_array_size(logs);
    if (n > CODEC_MAX_EVENTS)
        return jdom_fail(d, TC_ERR_LIMIT, "logs", "more than %d logs", CODEC_MAX_EVENTS);
    trace_event *ev = arena_calloc(d->a, n ? n : 1, sizeof *ev);
    if (!ev)
        return jdom_fail(d, TC_ERR_NOMEM, "logs", "out of memory");
    size_t plen = strlen(d->path);
    for (size_t i = 0; i < n; i++) {
        const json_t *log = json_array_get(logs, i);
        snprintf(d->path + plen, sizeof d->path - plen, ".logs[%zu]", i);
        if (!json_is_object(log))
            return jdom_fail(d, TC_ERR_INPUT, NULL, "expected an object");
        int rc = jdom_micros_field(d, log, "timestamp", &ev[i].time_ns);
        if (rc || (rc = typed_list(c, log, "fields", 0, &ev[i].attrs, &ev[i].n_attrs)))
            return rc;
        tc_value name;
        ev[i].name = jdom_take(ev[i].attrs, &ev[i].n_attrs, "event", &name) ? jaeger_str_or_empty(&name) : "";
    }
    d->path[plen] = '\0';
    s->events = ev;
    s->n_events = (uint32_t)n;
    return 0;
}


static int decode_span(jctx *c, const json_t *sp)
{
    jdom_ctx *d = &c->d;
    if (!json_is_object(sp))
        return jdom_fail(d, TC_ERR_INPUT, NULL, "expected an object");
    trace_span *s = arena_calloc(d->a, 1, sizeof *s);
    if (!s)
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    uint64_t dur;
    int rc;
    if ((rc = jdom_id_field(d, sp, "traceID", s->trace_id, TRACE_ID_LEN, true, false)) ||
        (rc = jdom_id_field(d, sp, "spanID", s->span_id, SPAN_ID_LEN, true, false)) ||
        (rc = jdom_str_field(d, sp, "operationName", "", &s->name)) ||
        (rc = jdom_micros_field(d, sp, "startTime", &s->start_ns)) ||
        (rc = jdom_micros_field(d, sp, "duration", &dur)))
        return rc;
    if (dur > UINT64_MAX - s->start_ns)
        return jdom_fail(d, TC_ERR_INPUT, "duration", "end time out of range");
    s->end_ns = s->start_ns + dur;
    if ((rc = span_references(c, sp, s)) || (rc = typed_list(c, sp, "tags", 0, &s->attrs, &s->n_attrs)))
        return rc;
    tc_value v, ver;
    const char *scope_name = "", *scope_version = "";
    if (jdom_take(s->attrs, &s->n_attrs, "otel.scope.name", &v) ||
        jdom_take(s->attrs, &s->n_attrs, "otel.library.name", &v)) {
        scope_name = jaeger_str_or_empty(&v);
        if (jdom_take(s->attrs, &s->n_attrs, "otel.scope.version", &ver) ||
            jdom_take(s->attrs, &s->n_attrs, "otel.library.version", &ver))
            scope_version = jaeger_str_or_empty(&ver);
    }
    if (!(s->scope = jdom_scope(d, scope_name, scope_version)))
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    if (jdom_take(s->attrs, &s->n_attrs, "span.kind", &v))
        s->kind = (uint8_t)jaeger_kind_of(jaeger_str_or_empty(&v));
    jaeger_span_status(s);
    if (jdom_take(s->attrs, &s->n_attrs, "w3c.tracestate", &v))
        s->trace_state = jaeger_str_or_empty(&v);
    if ((rc = span_logs(c, sp, s)) || (rc = span_resource(c, sp, &s->resource)))
        return rc;
    return trace_set_add_span(d->ts, s, d->e);
}

/* One element of "data": {"traceID", "spans": [...], "processes": {...}}. */
static int decode_trace(jctx *c, const json_t *t, const char *prefix)
{
    jdom_ctx *d = &c->d;
    snprintf(d->path, sizeof d->path, "%s", prefix);
    if (!json_is_object(t))
        return jdom_fail(d, TC_ERR_INPUT, NULL, "expected a trace object");
    const json_t *spans = json_object_get(t, "spans");
    if (!json_is_array(spans))
        return jdom_fail(d, TC_ERR_INPUT, "spans", spans ? "expected an array" : "missing");
    const json_t *procs = json_object_get(t, "processes");
    if (procs && !json_is_null(procs) && !json_is_object(procs))
        return jdom_fail(d, TC_ERR_INPUT, "processes", "expected an object");
    c->processes = json_is_object(procs) ? procs : NULL;
    size_t np = c->processes ? json_object_size(procs) : 0;
    c->res = arena_calloc(d->a, np ? np : 1, sizeof *c->res);
    c->n_res = 0;
    json_object_clear(c->res_index);
    if (!c->res)
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    for (size_t i = 0; i < json_array_size(spans); i++) {
        snprintf(d->path, sizeof d->path, "%s%sspans[%zu]", prefix, *prefix ? "." : "", i);
        int rc = decode_span(c, json_array_get(spans, i));
        if (rc)
            return rc;
    }
    return 0;
}

/* The message of the first entry of the response's "errors", if any. */
static int response_errors(jctx *c, const json_t *root)
{
    const json_t *errs = json_object_get(root, "errors");
    if (!json_is_array(errs) || json_array_size(errs) == 0)
        return 0;
    const json_t *e0 = json_array_get(errs, 0);
    const json_t *msg = json_object_get(e0, "msg");
    const json_t *code = json_object_get(e0, "code");
    return tc_error_set(c->d.e, TC_ERR_INPUT, "Jaeger error %lld: %.200s",
                        json_is_integer(code) ? (long long)json_integer_value(code) : 0LL,
                        json_is_string(msg) ? json_string_value(msg) : "(no message)");
}

int jaeger_json_decode(trace_set *ts, const char *buf, size_t len, tc_error *e)
{
    json_t *root;
    int rc = jdom_load(buf, len, &root, e);
    if (rc)
        return rc;
    jctx c;
    memset(&c, 0, sizeof c);
    jdom_init(&c.d, ts, e);
    c.res_index = json_object();
    if (!c.res_index) {
        rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!json_is_object(root)) {
        rc = tc_error_set(e, TC_ERR_INPUT, "expected a JSON object {\"data\": [...]}");
        goto out;
    }
    const json_t *data = json_object_get(root, "data");
    if ((rc = response_errors(&c, root)))
        goto out;
    if (!data && json_object_get(root, "spans")) { /* one trace without the envelope */
        rc = decode_trace(&c, root, "");
        goto out;
    }
    if (!data) {
        rc = tc_error_set(e, TC_ERR_INPUT, "missing \"data\" (expected {\"data\": [...]})");
        goto out;
    }
    if (json_is_null(data))
        goto out;
    if (!json_is_array(data)) {
        rc = tc_error_set(e, TC_ERR_INPUT, "data: expected an array of traces");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(data) && !rc; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "data[%zu]", i);
        rc = decode_trace(&c, json_array_get(data, i), prefix);
    }
out:
    json_decref(c.res_index);
    json_decref(root);
    return rc;
}
