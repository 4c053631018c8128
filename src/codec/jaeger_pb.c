/* jaeger_pb.c - decodes Jaeger's gRPC query API responses (jaeger.api_v2
 * SpansResponseChunk, protobuf) into the trace model with the same mapping
 * as jaeger_json.c (which reads the same spans as JSON), and encodes the
 * GetTraceRequest.
 *
 * A schema-aware wire scan of the whole body comes first: it reports
 * framing errors and wrong wire types with a byte offset and bounds every
 * string, so protobuf-c's unpack cannot fail after it on anything but
 * memory. Then each span is unpacked by protobuf-c on its own (so memory
 * stays one span's worth), converted, and freed. Spans are numbered from 0
 * in body order in error messages. */
#include "codec/jaeger_pb.h"
#include "codec/jaeger_map.h"
#include "codec/jdom.h"
#include "codec/limits.h"
#include "codec/strshare.h"

#include "jaeger/api_v2/query.pb-c.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef Jaeger__ApiV2__Span pb_span;
typedef Jaeger__ApiV2__SpanRef pb_ref;
typedef Jaeger__ApiV2__KeyValue pb_kv;
typedef Jaeger__ApiV2__Log pb_log;
typedef Jaeger__ApiV2__Process pb_process;

/* ---- wire scan ---- */

typedef enum pmsg { P_NONE, P_CHUNK, P_SPAN, P_REF, P_KV, P_LOG, P_PROCESS, P_TIMESTAMP, P_DURATION } pmsg;

static const char *const pmsg_names[] = {
    "", "SpansResponseChunk", "Span", "SpanRef", "KeyValue", "Log", "Process", "Timestamp", "Duration",
};

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* The wire type field f of message m must have (-1: an unknown field, any
 * type); *child is its message type (P_NONE for scalars) and *text is true
 * for string and bytes fields. */
static int field_spec(pmsg m, uint64_t f, pmsg *child, bool *text)
{
    *child = P_NONE;
    *text = false;
    switch (m) {
    case P_CHUNK:
        if (f != 1)
            return -1;
        *child = P_SPAN;
        return WT_LEN;
    case P_SPAN:
        switch (f) {
        case 1:
        case 2:
        case 3:
        case 11:
        case 12:
            *text = true;
            return WT_LEN;
        case 4:
            *child = P_REF;
            return WT_LEN;
        case 5:
            return WT_VARINT;
        case 6:
            *child = P_TIMESTAMP;
            return WT_LEN;
        case 7:
            *child = P_DURATION;
            return WT_LEN;
        case 8:
            *child = P_KV;
            return WT_LEN;
        case 9:
            *child = P_LOG;
            return WT_LEN;
        case 10:
            *child = P_PROCESS;
            return WT_LEN;
        default:
            return -1;
        }
    case P_REF:
        *text = f <= 2;
        return f <= 2 ? WT_LEN : f == 3 ? WT_VARINT : -1;
    case P_KV:
        switch (f) {
        case 1:
        case 3:
        case 7:
            *text = true;
            return WT_LEN;
        case 2:
        case 4:
        case 5:
            return WT_VARINT;
        case 6:
            return WT_I64;
        default:
            return -1;
        }
    case P_LOG:
        *child = f == 1 ? P_TIMESTAMP : f == 2 ? P_KV : P_NONE;
        return f <= 2 ? WT_LEN : -1;
    case P_PROCESS:
        *text = f == 1;
        *child = f == 2 ? P_KV : P_NONE;
        return f <= 2 ? WT_LEN : -1;
    case P_TIMESTAMP:
    case P_DURATION:
        return f <= 2 ? WT_VARINT : -1;
    default:
        return -1;
    }
}

/* Reads a varint at p[*i..n); -1 when truncated or longer than 10 bytes. */
static int read_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*i >= n)
            return -1;
        uint8_t b = p[(*i)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

typedef struct pfield {
    uint64_t num;
    uint32_t wt;
    uint64_t len;       /* the length a length-delimited field declares */
    const uint8_t *val; /* its bytes */
} pfield;

static const char bad_wire_type[] = "invalid wire type";

/* Reads the field at p[*i..n) without checking that a declared length
 * fits; returns NULL or what is wrong with it (bad_wire_type for a wire
 * type protobuf does not use: groups and unknown ones). */
static const char *read_field(const uint8_t *p, size_t n, size_t *i, pfield *f)
{
    uint64_t tag, v;
    if (read_varint(p, n, i, &tag))
        return "truncated or overlong tag";
    f->wt = (uint32_t)(tag & 7);
    f->num = tag >> 3;
    f->len = 0;
    f->val = NULL;
    if (f->num == 0 || f->num > 0x1fffffff)
        return "invalid field number";
    switch (f->wt) {
    case WT_VARINT:
        return read_varint(p, n, i, &v) ? "truncated varint" : NULL;
    case WT_I64:
    case WT_I32: {
        size_t w = f->wt == WT_I64 ? 8 : 4;
        if (n - *i < w)
            return "truncated fixed-width field";
        *i += w;
        return NULL;
    }
    case WT_LEN:
        if (read_varint(p, n, i, &f->len))
            return "truncated length";
        f->val = p + *i;
        return NULL;
    default:
        return bad_wire_type;
    }
}

static int wire_error(tc_error *e, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int wire_error(tc_error *e, size_t off, const char *fmt, ...)
{
    char msg[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tc_error_at(e, TC_ERR_INPUT, off, "malformed protobuf at byte %zu: %s", off, msg);
}

/* Checks the wire form of message m in p[0..n) (at offset base of the
 * body) and of every message in it; the schema is four levels deep at
 * most, so the recursion is bounded. */
static int scan(tc_error *e, const uint8_t *p, size_t n, size_t base, pmsg m)
{
    size_t i = 0;
    while (i < n) {
        size_t at = i;
        pfield f;
        const char *bad = read_field(p, n, &i, &f);
        if (bad == bad_wire_type)
            return wire_error(e, base + at, "invalid wire type %u", f.wt);
        if (bad)
            return wire_error(e, base + at, "%s", bad);
        pmsg child;
        bool text;
        int want = field_spec(m, f.num, &child, &text);
        if (want >= 0 && (uint32_t)want != f.wt)
            return wire_error(e, base + at, "field %u of %s has wire type %u, want %d", (unsigned)f.num,
                              pmsg_names[m], f.wt, want);
        if (f.wt != WT_LEN)
            continue;
        if (text && f.len > CODEC_MAX_STRING)
            return tc_error_at(e, TC_ERR_LIMIT, base + at,
                               "field %u of %s at byte %zu: string of %llu bytes is over the limit of %zu",
                               (unsigned)f.num, pmsg_names[m], base + at, (unsigned long long)f.len,
                               CODEC_MAX_STRING);
        if (f.len > n - i)
            return wire_error(e, base + at, "length %llu of field %u runs past the end (%zu bytes left)",
                              (unsigned long long)f.len, (unsigned)f.num, n - i);
        if (child != P_NONE) {
            int rc = scan(e, p + i, (size_t)f.len, base + i, child);
            if (rc)
                return rc;
        }
        i += (size_t)f.len;
    }
    return 0;
}

/* ---- protobuf message -> model ---- */

#define KEY_CACHE 1024   /* shared copies of attribute keys */
#define PROCESS_CACHE 16 /* resources of the processes seen last, by wire bytes */

typedef struct pctx {
    jdom_ctx d; /* arena, set, error and the scope cache */
    uint32_t span_no;
    size_t span_off; /* byte offset of the span's field in the body */
    strshare_slot keys[KEY_CACHE];
    struct {
        const uint8_t *wire; /* the Process message's bytes in the body */
        size_t len;
        const trace_resource *res;
    } procs[PROCESS_CACHE];
    unsigned n_procs, next_proc;
} pctx;

/* Sets the error "spans[I] at byte N: FIELD: message" (FIELD may be NULL)
 * and returns code. */
static int fail(pctx *c, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(pctx *c, int code, const char *field, const char *fmt, ...)
{
    char msg[TC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tc_error_at(c->d.e, code, c->span_off, "spans[%u] at byte %zu: %s%s%s", c->span_no, c->span_off,
                       field ? field : "", field ? ": " : "", msg);
}

static int nomem(pctx *c)
{
    return tc_error_set(c->d.e, TC_ERR_NOMEM, "out of memory");
}

/* A copy of the C string s in the set ("" needs none). */
static const char *copy_str(pctx *c, const char *s)
{
    return *s ? arena_strndup(c->d.a, s, strlen(s)) : "";
}

/* The shared copy of an attribute key. */
static const char *copy_key(pctx *c, const char *s, size_t n)
{
    if (n > STRSHARE_MAX)
        return arena_strndup(c->d.a, s, n);
    strshare_slot *put;
    const char *k = strshare_find(c->keys, KEY_CACHE, s, n, &put);
    if (k)
        return k;
    char *copy = arena_strndup(c->d.a, s, n);
    if (copy)
        strshare_put(put, copy, n);
    return copy;
}

/* One KeyValue as an attribute; `where` names it in errors ("tags[2]"). */
static int kv_attr(pctx *c, const pb_kv *kv, const char *where, tc_attr *out)
{
    size_t kn = strlen(kv->key);
    if (!(out->key = copy_key(c, kv->key, kn)))
        return nomem(c);
    out->key_len = (uint32_t)kn;
    tc_value *v = &out->value;
    memset(v, 0, sizeof *v);
    switch (kv->v_type) {
    case JAEGER__API_V2__VALUE_TYPE__STRING:
        v->type = TC_V_STRING;
        v->len = (uint32_t)strlen(kv->v_str);
        if (!(v->u.str = copy_str(c, kv->v_str)))
            return nomem(c);
        return 0;
    case JAEGER__API_V2__VALUE_TYPE__BOOL:
        v->type = TC_V_BOOL;
        v->u.b = kv->v_bool != 0;
        return 0;
    case JAEGER__API_V2__VALUE_TYPE__INT64:
        v->type = TC_V_INT;
        v->u.i = kv->v_int64;
        return 0;
    case JAEGER__API_V2__VALUE_TYPE__FLOAT64:
        v->type = TC_V_DOUBLE;
        v->u.d = kv->v_float64;
        return 0;
    case JAEGER__API_V2__VALUE_TYPE__BINARY: {
        size_t n = kv->v_binary.len;
        uint8_t *p = arena_alloc(c->d.a, n ? n : 1);
        if (!p)
            return nomem(c);
        if (n)
            memcpy(p, kv->v_binary.data, n);
        v->type = TC_V_BYTES;
        v->len = (uint32_t)n;
        v->u.bytes = p;
        return 0;
    }
    default: {
        char f[96];
        snprintf(f, sizeof f, "%s.v_type", where);
        return fail(c, TC_ERR_INPUT, f, "unknown type %d", (int)kv->v_type);
    }
    }
}

/* n KeyValues as an arena array with `extra` free slots at the end;
 * `field` names the list in errors ("tags", "logs[1].fields"). */
static int kv_list(pctx *c, pb_kv *const *kvs, size_t n, const char *field, uint32_t extra, tc_attr **out,
                   uint32_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (n > CODEC_MAX_ATTRS)
        return fail(c, TC_ERR_LIMIT, field, "more than %d attributes", CODEC_MAX_ATTRS);
    if (!n && !extra)
        return 0;
    tc_attr *attrs = arena_calloc(c->d.a, n + extra, sizeof *attrs);
    if (!attrs)
        return nomem(c);
    for (size_t i = 0; i < n; i++) {
        char where[64];
        snprintf(where, sizeof where, "%s[%zu]", field, i);
        int rc = kv_attr(c, kvs[i], where, &attrs[i]);
        if (rc)
            return rc;
    }
    *out = attrs;
    *n_out = (uint32_t)n;
    return 0;
}

/* A Process as a resource: service.name first, then its tags (hostname
 * as host.name, jaeger.version as opencensus.exporterversion). */
static int process_resource(pctx *c, const pb_process *proc, const trace_resource **out)
{
    tc_attr *attrs;
    uint32_t n;
    int rc = kv_list(c, proc->tags, proc->n_tags, "process.tags", 1, &attrs, &n);
    if (rc)
        return rc;
    if (*proc->service_name) {
        const char *svc = copy_str(c, proc->service_name);
        if (!svc)
            return nomem(c);
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
        char *s = arena_alloc(c->d.a, strlen(jaeger_str_or_empty(&ver)) + 8);
        if (!s)
            return nomem(c);
        sprintf(s, "Jaeger-%s", jaeger_str_or_empty(&ver));
        jdom_put(attrs, &n, "opencensus.exporterversion", jdom_string_value(s));
    }
    trace_resource *r = arena_calloc(c->d.a, 1, sizeof *r);
    if (!r)
        return nomem(c);
    r->attrs = attrs;
    r->n_attrs = n;
    r->schema_url = "";
    *out = r;
    return 0;
}

/* The bytes of the span's one Process field (field 10); false when it has
 * none or several (protobuf merges those; they are not cached). */
static bool process_wire(const uint8_t *p, size_t n, const uint8_t **wire, size_t *len)
{
    int count = 0;
    size_t i = 0;
    while (i < n) {
        pfield f;
        if (read_field(p, n, &i, &f))
            return false; /* cannot happen after the scan */
        if (f.wt != WT_LEN)
            continue;
        if (f.num == 10) {
            *wire = f.val;
            *len = (size_t)f.len;
            count++;
        }
        i += (size_t)f.len;
    }
    return count == 1;
}

/* The span's resource: its process's (shared with the earlier spans of an
 * identical process), or the empty one when it has no process. */
static int span_resource(pctx *c, const pb_span *s, const uint8_t *wire, size_t n, const trace_resource **out)
{
    if (!s->process) {
        *out = trace_set_empty_resource(c->d.ts);
        return 0;
    }
    const uint8_t *pw = NULL;
    size_t plen = 0;
    bool cacheable = process_wire(wire, n, &pw, &plen);
    if (cacheable)
        for (unsigned k = 0; k < c->n_procs; k++)
            if (c->procs[k].len == plen && memcmp(c->procs[k].wire, pw, plen) == 0) {
                *out = c->procs[k].res;
                return 0;
            }
    int rc = process_resource(c, s->process, out);
    if (rc || !cacheable)
        return rc;
    unsigned k = c->n_procs < PROCESS_CACHE ? c->n_procs++ : c->next_proc++ % PROCESS_CACHE;
    c->procs[k].wire = pw;
    c->procs[k].len = plen;
    c->procs[k].res = *out;
    return 0;
}

static bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Checks an id: exactly `want` bytes, not all zero. */
static int check_id(pctx *c, const ProtobufCBinaryData *id, size_t want, const char *field)
{
    if (id->len == 0)
        return fail(c, TC_ERR_INPUT, NULL, "missing %s", field);
    if (id->len != want)
        return fail(c, TC_ERR_INPUT, field, "expected %zu bytes, got %zu", want, id->len);
    if (is_zero(id->data, want))
        return fail(c, TC_ERR_INPUT, field, "id is all zeros");
    return 0;
}

/* A Timestamp or Duration (absent: 0) as non-negative nanoseconds. */
static int pb_nanos(pctx *c, const char *field, bool present, int64_t sec, int32_t nanos, uint64_t *ns)
{
    *ns = 0;
    if (!present)
        return 0;
    if (sec < 0 || nanos < 0)
        return fail(c, TC_ERR_INPUT, field, "expected a non-negative time");
    if (nanos > 999999999)
        return fail(c, TC_ERR_INPUT, field, "nanos out of range");
    if ((uint64_t)sec > (UINT64_MAX - (uint64_t)nanos) / 1000000000u)
        return fail(c, TC_ERR_INPUT, field, "time out of range");
    *ns = (uint64_t)sec * 1000000000u + (uint64_t)nanos;
    return 0;
}

static int span_references(pctx *c, const pb_span *ps, trace_span *s)
{
    size_t n = ps->n_references;
    if (n == 0)
        return 0;
    if (n > CODEC_MAX_LINKS)
        return fail(c, TC_ERR_LIMIT, "references", "more than %d references", CODEC_MAX_LINKS);
    trace_link *links = arena_calloc(c->d.a, n, sizeof *links);
    bool *child = arena_calloc(c->d.a, n, sizeof *child);
    if (!links || !child)
        return nomem(c);
    /* parent: the first CHILD_OF in the same trace, else the first FOLLOWS_FROM */
    int parent = -1, follows = -1;
    for (size_t i = 0; i < n; i++) {
        const pb_ref *ref = ps->references[i];
        char f[48];
        snprintf(f, sizeof f, "references[%zu].ref_type", i);
        if (ref->ref_type == JAEGER__API_V2__SPAN_REF_TYPE__CHILD_OF)
            child[i] = true;
        else if (ref->ref_type != JAEGER__API_V2__SPAN_REF_TYPE__FOLLOWS_FROM)
            return fail(c, TC_ERR_INPUT, f, "expected CHILD_OF or FOLLOWS_FROM");
        snprintf(f, sizeof f, "references[%zu].trace_id", i);
        int rc = check_id(c, &ref->trace_id, TRACE_ID_LEN, f);
        if (rc)
            return rc;
        snprintf(f, sizeof f, "references[%zu].span_id", i);
        if ((rc = check_id(c, &ref->span_id, SPAN_ID_LEN, f)))
            return rc;
        memcpy(links[i].trace_id, ref->trace_id.data, TRACE_ID_LEN);
        memcpy(links[i].span_id, ref->span_id.data, SPAN_ID_LEN);
        links[i].trace_state = "";
        if (memcmp(links[i].trace_id, s->trace_id, TRACE_ID_LEN) == 0) {
            if (child[i] && parent < 0)
                parent = (int)i;
            if (!child[i] && follows < 0)
                follows = (int)i;
        }
    }
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
        tc_attr *a = arena_calloc(c->d.a, 1, sizeof *a);
        if (!a)
            return nomem(c);
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

static int span_logs(pctx *c, const pb_span *ps, trace_span *s)
{
    size_t n = ps->n_logs;
    if (n == 0)
        return 0;
    if (n > CODEC_MAX_EVENTS)
        return fail(c, TC_ERR_LIMIT, "logs", "more than %d logs", CODEC_MAX_EVENTS);
    trace_event *ev = arena_calloc(c->d.a, n, sizeof *ev);
    if (!ev)
        return nomem(c);
    for (size_t i = 0; i < n; i++) {
        const pb_log *log = ps->logs[i];
        char f[48];
        snprintf(f, sizeof f, "logs[%zu].timestamp", i);
        int rc = pb_nanos(c, f, log->timestamp != NULL, log->timestamp ? log->timestamp->seconds : 0,
                          log->timestamp ? log->timestamp->nanos : 0, &ev[i].time_ns);
        snprintf(f, sizeof f, "logs[%zu].fields", i);
        if (rc || (rc = kv_list(c, log->fields, log->n_fields, f, 0, &ev[i].attrs, &ev[i].n_attrs)))
            return rc;
        tc_value name;
        ev[i].name = jdom_take(ev[i].attrs, &ev[i].n_attrs, "event", &name) ? jaeger_str_or_empty(&name) : "";
    }
    s->events = ev;
    s->n_events = (uint32_t)n;
    return 0;
}


static int convert_span(pctx *c, const pb_span *ps, const uint8_t *wire, size_t n)
{
    trace_span *s = arena_calloc(c->d.a, 1, sizeof *s);
    if (!s)
        return nomem(c);
    uint64_t dur;
    int rc;
    if ((rc = check_id(c, &ps->trace_id, TRACE_ID_LEN, "trace_id")) ||
        (rc = check_id(c, &ps->span_id, SPAN_ID_LEN, "span_id")))
        return rc;
    memcpy(s->trace_id, ps->trace_id.data, TRACE_ID_LEN);
    memcpy(s->span_id, ps->span_id.data, SPAN_ID_LEN);
    if (!(s->name = copy_str(c, ps->operation_name)))
        return nomem(c);
    const Tracecheck__Wkt__Timestamp *st = ps->start_time;
    const Tracecheck__Wkt__Duration *du = ps->duration;
    if ((rc =
             pb_nanos(c, "start_time", st != NULL, st ? st->seconds : 0, st ? st->nanos : 0, &s->start_ns)) ||
        (rc = pb_nanos(c, "duration", du != NULL, du ? du->seconds : 0, du ? du->nanos : 0, &dur)))
        return rc;
    if (dur > UINT64_MAX - s->start_ns)
        return fail(c, TC_ERR_INPUT, "duration", "end time out of range");
    s->end_ns = s->start_ns + dur;
    if ((rc = span_references(c, ps, s)) ||
        (rc = kv_list(c, ps->tags, ps->n_tags, "tags", 0, &s->attrs, &s->n_attrs)))
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
    if (!(s->scope = jdom_scope(&c->d, scope_name, scope_version)))
        return nomem(c);
    if (jdom_take(s->attrs, &s->n_attrs, "span.kind", &v))
        s->kind = (uint8_t)jaeger_kind_of(jaeger_str_or_empty(&v));
    jaeger_span_status(s);
    if (jdom_take(s->attrs, &s->n_attrs, "w3c.tracestate", &v))
        s->trace_state = jaeger_str_or_empty(&v);
    if ((rc = span_logs(c, ps, s)) || (rc = span_resource(c, ps, wire, n, &s->resource)))
        return rc;
    return trace_set_add_span(c->d.ts, s, c->d.e);
}

/* Unpacks the span in wire[0..n) (checked by the scan), converts it, frees it. */
static int decode_span(pctx *c, const uint8_t *wire, size_t n)
{
    pb_span *ps = jaeger__api_v2__span__unpack(NULL, n, wire);
    if (!ps) /* the scan leaves protobuf-c nothing to refuse but memory */
        return fail(c, TC_ERR_NOMEM, NULL, "protobuf-c cannot unpack the span (out of memory)");
    int rc = convert_span(c, ps, wire, n);
    jaeger__api_v2__span__free_unpacked(ps, NULL);
    return rc;
}

int jaeger_pb_decode_chunk(trace_set *ts, const uint8_t *buf, size_t len, tc_error *e)
{
    if (len > CODEC_MAX_BODY)
        return tc_error_set(e, TC_ERR_LIMIT, "body of %zu bytes is over the limit of %zu", len,
                            CODEC_MAX_BODY);
    if (len == 0)
        return 0;
    int rc = scan(e, buf, len, 0, P_CHUNK);
    if (rc)
        return rc;
    pctx *c = calloc(1, sizeof *c);
    if (!c)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    jdom_init(&c->d, ts, e);
    size_t i = 0;
    uint32_t no = 0;
    while (i < len && !rc) {
        size_t at = i;
        pfield f;
        read_field(buf, len, &i, &f); /* checked by the scan */
        if (f.wt != WT_LEN)
            continue;
        i += (size_t)f.len;
        if (f.num != 1)
            continue;
        c->span_no = no++;
        c->span_off = at;
        rc = decode_span(c, f.val, (size_t)f.len);
    }
    free(c);
    return rc;
}

int jaeger_pb_get_trace_request(const uint8_t tid[16], tc_buf *out)
{
    Jaeger__ApiV2__GetTraceRequest req = JAEGER__API_V2__GET_TRACE_REQUEST__INIT;
    req.trace_id.data = (uint8_t *)tid;
    req.trace_id.len = TRACE_ID_LEN;
    uint8_t wire[64];
    size_t n = jaeger__api_v2__get_trace_request__get_packed_size(&req);
    if (n > sizeof wire) /* cannot happen: 18 bytes */
        return TC_ERR_LIMIT;
    jaeger__api_v2__get_trace_request__pack(&req, wire);
    return buf_append(out, wire, n);
}
