/* xray_json.c - decodes AWS X-Ray's BatchGetTraces response (segment
 * documents as JSON strings) into the trace model, mapping segment fields
 * to OTLP attributes the way the OpenTelemetry Collector's X-Ray receiver
 * does; also writes X-Ray trace ids and the BatchGetTraces request body. */
#include "codec/xray_json.h"
#include "codec/jdom.h"
#include "codec/limits.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Attributes a span may get besides its annotations and metadata. */
#define XRAY_SPAN_ATTRS 28
/* Attributes of a segment's resource. */
#define XRAY_RESOURCE_ATTRS 20
/* Hops from an independent subsegment up to an ancestor with a resource. */
#define XRAY_MAX_HOPS 64
/* Largest time in seconds whose nanoseconds fit in 64 bits. */
#define XRAY_MAX_SECONDS 18446744073.0

typedef struct pending {
    trace_span *span; /* an independent subsegment, waiting for its resource */
    struct pending *next;
} pending;

typedef struct xctx {
    jdom_ctx d;
    uint32_t doc_spans; /* spans of the current segment document */
    pending *pend;
} xctx;

typedef struct alist {
    tc_attr *a;
    uint32_t n, cap;
} alist;

static const char *const hexdig = "0123456789abcdef";

void xray_trace_id(const uint8_t tid[16], char out[36])
{
    char *p = out;
    *p++ = '1';
    *p++ = '-';
    for (int i = 0; i < 16; i++) {
        if (i == 4)
            *p++ = '-';
        *p++ = hexdig[tid[i] >> 4];
        *p++ = hexdig[tid[i] & 15];
    }
    *p = '\0';
}

int xray_parse_trace_id(const char *s, size_t n, uint8_t tid[16])
{
    if (n != XRAY_TRACE_ID_LEN || s[0] != '1' || s[1] != '-' || s[10] != '-')
        return -1;
    uint8_t out[TRACE_ID_LEN];
    if (hex_decode(s + 2, 8, out, 4) || hex_decode(s + 11, 24, out + 4, 12))
        return -1;
    memcpy(tid, out, TRACE_ID_LEN);
    return 0;
}

int xray_batch_get_body(const uint8_t tid[16], const char *next_token, tc_buf *out)
{
    char id[XRAY_TRACE_ID_LEN + 1];
    xray_trace_id(tid, id);
    int rc = buf_printf(out, "{\"TraceIds\":[\"%s\"]", id);
    if (!rc && next_token) {
        rc = buf_puts(out, ",\"NextToken\":");
        if (!rc)
            rc = buf_json_string(out, next_token, strlen(next_token));
    }
    if (!rc)
        rc = buf_putc(out, '}');
    return rc;
}

/* Appends to the error path; returns its old length for leave(). A path
 * that would not fit ends in ".(...)" instead. */
static size_t enter(jdom_ctx *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t enter(jdom_ctx *d, const char *fmt, ...)
{
    static const char more[] = ".(...)";
    size_t len = strlen(d->path);
    char piece[48];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(piece, sizeof piece, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof piece && len + (size_t)n + sizeof more <= sizeof d->path)
        memcpy(d->path + len, piece, (size_t)n + 1);
    else if (len < sizeof more - 1 || strcmp(d->path + len - (sizeof more - 1), more) != 0)
        memcpy(d->path + len, more, sizeof more);
    return len;
}

static void leave(jdom_ctx *d, size_t len)
{
    d->path[len] = '\0';
}

static void add(alist *l, const char *key, tc_value v)
{
    if (l->n >= l->cap)
        return; /* cannot happen: capacities count every key added */
    tc_attr *a = &l->a[l->n++];
    a->key = key;
    a->key_len = (uint32_t)strlen(key);
    a->value = v;
}

static tc_value int_value(int64_t i)
{
    tc_value v;
    memset(&v, 0, sizeof v);
    v.type = TC_V_INT;
    v.u.i = i;
    return v;
}

static tc_value bool_value(bool b)
{
    tc_value v;
    memset(&v, 0, sizeof v);
    v.type = TC_V_BOOL;
    v.u.b = b;
    return v;
}

/* A string value copied from a JSON string (embedded NULs kept). */
static int str_value(jdom_ctx *d, const json_t *s, const char *field, tc_value *out)
{
    memset(out, 0, sizeof *out);
    out->type = TC_V_STRING;
    out->len = (uint32_t)json_string_length(s);
    return jdom_str(d, s, field, &out->u.str);
}

/* An optional object field: *out is NULL when absent or null. */
static int obj_field(jdom_ctx *d, const json_t *obj, const char *field, const json_t **out)
{
    const json_t *v = json_object_get(obj, field);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return jdom_fail(d, TC_ERR_INPUT, field, "expected an object");
    *out = v;
    return 0;
}

/* An optional boolean field (absent or null: false). */
static int bool_field(jdom_ctx *d, const json_t *obj, const char *field, bool *out)
{
    const json_t *v = json_object_get(obj, field);
    *out = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return jdom_fail(d, TC_ERR_INPUT, field, "expected true or false");
    *out = json_is_true(v);
    return 0;
}

/* Adds attribute key from an optional string field. */
static int str_attr(jdom_ctx *d, const json_t *obj, const char *field, alist *l, const char *key)
{
    const json_t *v = json_object_get(obj, field);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return jdom_fail(d, TC_ERR_INPUT, field, "expected a string");
    tc_value val;
    int rc = str_value(d, v, field, &val);
    if (!rc)
        add(l, key, val);
    return rc;
}

/* Adds attribute key from an optional integer field (also a decimal string,
 * as some SDKs send content lengths). */
static int int_attr(jdom_ctx *d, const json_t *obj, const char *field, alist *l, const char *key)
{
    const json_t *v = json_object_get(obj, field);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        add(l, key, int_value((int64_t)json_integer_value(v)));
        return 0;
    }
    if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= 18) {
        const char *s = json_string_value(v);
        int64_t i = 0;
        size_t k = 0;
        while (s[k] >= '0' && s[k] <= '9')
            i = i * 10 + (s[k++] - '0');
        if (k == json_string_length(v)) {
            add(l, key, int_value(i));
            return 0;
        }
    }
    return jdom_fail(d, TC_ERR_INPUT, field, "expected an integer");
}

/* A time in float seconds since the epoch, as nanoseconds rounded to the
 * microsecond. *present tells whether the field was there. */
static int time_field(jdom_ctx *d, const json_t *obj, const char *field, uint64_t *ns, bool *present)
{
    const json_t *v = json_object_get(obj, field);
    *ns = 0;
    *present = v && !json_is_null(v);
    if (!*present)
        return 0;
    if (!json_is_number(v))
        return jdom_fail(d, TC_ERR_INPUT, field, "expected a number (seconds since the epoch)");
    double t = json_number_value(v);
    if (!(t >= 0) || t > XRAY_MAX_SECONDS)
        return jdom_fail(d, TC_ERR_INPUT, field, "time out of range");
    double sec = floor(t);
    uint64_t us = (uint64_t)llround((t - sec) * 1e6);
    uint64_t whole = (uint64_t)sec * 1000000000u;
    if (us * 1000 > UINT64_MAX - whole)
        return jdom_fail(d, TC_ERR_INPUT, field, "time out of range");
    *ns = whole + us * 1000;
    return 0;
}

/* A required string field, copied into the arena. */
static int name_field(jdom_ctx *d, const json_t *obj, const char **out)
{
    const json_t *v = json_object_get(obj, "name");
    if (!v || json_is_null(v))
        return jdom_fail(d, TC_ERR_INPUT, NULL, "missing name");
    if (!json_is_string(v))
        return jdom_fail(d, TC_ERR_INPUT, "name", "expected a string");
    return jdom_str(d, v, "name", out);
}

/* Size of an optional object field that becomes attributes. */
static int attr_object(jdom_ctx *d, const json_t *obj, const char *field, const json_t **out, size_t *n)
{
    int rc = obj_field(d, obj, field, out);
    *n = *out ? json_object_size(*out) : 0;
    if (!rc && *n > CODEC_MAX_ATTRS)
        return jdom_fail(d, TC_ERR_LIMIT, field, "more than %d attributes", CODEC_MAX_ATTRS);
    return rc;
}

/* Copies an object key into the arena (prefix prepended) as an attribute key. */
static int attr_key(jdom_ctx *d, const char *prefix, const char *key, const char **out)
{
    size_t plen = strlen(prefix), klen = strlen(key);
    if (klen > CODEC_MAX_STRING)
        return jdom_fail(d, TC_ERR_LIMIT, NULL, "attribute key over the string limit");
    char *k = arena_alloc(d->a, plen + klen + 1);
    if (!k)
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    memcpy(k, prefix, plen);
    memcpy(k + plen, key, klen + 1);
    *out = k;
    return 0;
}

/* Annotations: string, number or boolean values, as typed attributes. */
static int annotations(jdom_ctx *d, const json_t *anns, alist *l)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)anns, key, val)
    {
        char f[80];
        snprintf(f, sizeof f, "annotations.%.60s", key);
        tc_value v;
        memset(&v, 0, sizeof v);
        int rc = 0;
        if (json_is_string(val))
            rc = str_value(d, val, f, &v);
        else if (json_is_boolean(val))
            v = bool_value(json_is_true(val));
        else if (json_is_integer(val))
            v = int_value((int64_t)json_integer_value(val));
        else if (json_is_real(val)) {
            v.type = TC_V_DOUBLE;
            v.u.d = json_real_value(val);
        } else
            return jdom_fail(d, TC_ERR_INPUT, f, "expected a string, number or boolean");
        const char *k;
        if (rc || (rc = attr_key(d, "", key, &k)))
            return rc;
        add(l, k, v);
    }
    return 0;
}

/* Metadata: one attribute aws.xray.metadata.NAMESPACE per namespace, its
 * value the namespace's JSON (compact, keys sorted). */
static int metadata(jdom_ctx *d, const json_t *meta, alist *l)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)meta, key, val)
    {
        char f[80];
        snprintf(f, sizeof f, "metadata.%.60s", key);
        char *js = json_dumps(val, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (!js)
            return jdom_fail(d, TC_ERR_NOMEM, f, "out of memory");
        size_t n = strlen(js);
        const char *k;
        int rc = 0;
        char *copy = NULL;
        if (n > CODEC_MAX_STRING)
            rc = jdom_fail(d, TC_ERR_LIMIT, f, "string of %zu bytes is over the limit of %zu", n,
                           CODEC_MAX_STRING);
        else if (!(copy = arena_strndup(d->a, js, n)))
            rc = jdom_fail(d, TC_ERR_NOMEM, f, "out of memory");
        free(js);
        if (rc || (rc = attr_key(d, "aws.xray.metadata.", key, &k)))
            return rc;
        tc_value v;
        memset(&v, 0, sizeof v);
        v.type = TC_V_STRING;
        v.len = (uint32_t)n;
        v.u.str = copy;
        add(l, k, v);
    }
    return 0;
}

static int http_attrs(jdom_ctx *d, const json_t *js, alist *l)
{
    const json_t *http, *req, *resp;
    int rc = obj_field(d, js, "http", &http);
    if (rc || !http)
        return rc;
    size_t p0 = enter(d, ".http");
    if (!(rc = obj_field(d, http, "request", &req)) && req) {
        size_t p1 = enter(d, ".request");
        if (!(rc = str_attr(d, req, "method", l, "http.method")) &&
            !(rc = str_attr(d, req, "url", l, "http.url")) &&
            !(rc = str_attr(d, req, "client_ip", l, "http.client_ip")))
            rc = str_attr(d, req, "user_agent", l, "http.user_agent");
        leave(d, p1);
    }
    if (!rc && !(rc = obj_field(d, http, "response", &resp)) && resp) {
        size_t p1 = enter(d, ".response");
        if (!(rc = int_attr(d, resp, "status", l, "http.status_code")))
            rc = int_attr(d, resp, "content_length", l, "http.response_content_length");
        leave(d, p1);
    }
    leave(d, p0);
    return rc;
}

static int aws_attrs(jdom_ctx *d, const json_t *aws, alist *l)
{
    if (!aws)
        return 0;
    size_t p0 = enter(d, ".aws");
    int rc;
    if (!(rc = str_attr(d, aws, "operation", l, "aws.operation")) &&
        !(rc = str_attr(d, aws, "region", l, "aws.region")) &&
        !(rc = str_attr(d, aws, "request_id", l, "aws.request_id")) &&
        !(rc = str_attr(d, aws, "queue_url", l, "aws.queue_url")) &&
        !(rc = str_attr(d, aws, "table_name", l, "aws.table_name")) &&
        !(rc = str_attr(d, aws, "account_id", l, "aws.account_id")))
        rc = int_attr(d, aws, "retries", l, "aws.retries");
    leave(d, p0);
    return rc;
}

/* The database name is the URL's last path segment (before any query):
 * "jdbc:postgresql://host:5432/ebdb?x=y" gives "jdbc:postgresql://host:5432"
 * and "ebdb", as the Collector's X-Ray receiver splits it. */
static int sql_url(jdom_ctx *d, const json_t *sql, alist *l)
{
    const json_t *u = json_object_get(sql, "url");
    if (!u || json_is_null(u))
        return 0;
    if (!json_is_string(u))
        return jdom_fail(d, TC_ERR_INPUT, "url", "expected a string");
    tc_value v;
    int rc = str_value(d, u, "url", &v);
    if (rc)
        return rc;
    const char *s = v.u.str;
    size_t end = strcspn(s, "?");
    const char *sl = strstr(s, "//");
    const char *db = NULL;
    if (sl && sl > s && (size_t)(sl - s) + 3 < end)
        for (const char *p = s + end - 1; p > sl + 2; p--)
            if (*p == '/') {
                db = p + 1 < s + end ? p : NULL;
                break;
            }
    if (!db) {
        add(l, "db.connection_string", v);
        return 0;
    }
    char *conn = arena_strndup(d->a, s, (size_t)(db - s));
    char *name = arena_strndup(d->a, db + 1, (size_t)(s + end - db - 1));
    if (!conn || !name)
        return jdom_fail(d, TC_ERR_NOMEM, "url", "out of memory");
    add(l, "db.connection_string", jdom_string_value(conn));
    add(l, "db.name", jdom_string_value(name));
    return 0;
}

static int sql_attrs(jdom_ctx *d, const json_t *js, alist *l)
{
    const json_t *sql;
    int rc = obj_field(d, js, "sql", &sql);
    if (rc || !sql)
        return rc;
    size_t p0 = enter(d, ".sql");
    if (!(rc = sql_url(d, sql, l)) && !(rc = str_attr(d, sql, "database_type", l, "db.system")) &&
        !(rc = str_attr(d, sql, "sanitized_query", l, "db.statement")))
        rc = str_attr(d, sql, "user", l, "db.user");
    leave(d, p0);
    return rc;
}

/* cause: an object with "exceptions" (each an "exception" event at the
 * span's end, with exception.type and exception.message), or a string (the
 * id of an exception recorded elsewhere). *msg gets the first exception's
 * message, or "". */
static int cause(jdom_ctx *d, const json_t *js, trace_span *s, const char **msg)
{
    const json_t *c = json_object_get(js, "cause");
    *msg = "";
    if (!c || json_is_null(c) || json_is_string(c))
        return 0;
    if (!json_is_object(c))
        return jdom_fail(d, TC_ERR_INPUT, "cause", "expected an object or a string");
    const json_t *exs = json_object_get(c, "exceptions");
    if (!exs || json_is_null(exs))
        return 0;
    if (!json_is_array(exs))
        return jdom_fail(d, TC_ERR_INPUT, "cause.exceptions", "expected an array");
    size_t n = json_array_size(exs);
    if (n > CODEC_MAX_EVENTS)
        return jdom_fail(d, TC_ERR_LIMIT, "cause.exceptions", "more than %d exceptions", CODEC_MAX_EVENTS);
    if (!n)
        return 0;
    trace_event *ev = arena_calloc(d->a, n, sizeof *ev);
    tc_attr *attrs = arena_calloc(d->a, 2 * n, sizeof *attrs);
    if (!ev || !attrs)
        return jdom_fail(d, TC_ERR_NOMEM, "cause", "out of memory");
    int rc = 0;
    size_t p0 = strlen(d->path);
    for (size_t i = 0; i < n && !rc; i++) {
        const json_t *ex = json_array_get(exs, i);
        leave(d, p0);
        enter(d, ".cause.exceptions[%zu]", i);
        if (!json_is_object(ex)) {
            rc = jdom_fail(d, TC_ERR_INPUT, NULL, "expected an object");
            break;
        }
        alist l = {attrs + 2 * i, 0, 2};
        if (!(rc = str_attr(d, ex, "type", &l, "exception.type")))
            rc = str_attr(d, ex, "message", &l, "exception.message");
        ev[i].name = "exception";
        ev[i].time_ns = s->end_ns;
        ev[i].attrs = l.a;
        ev[i].n_attrs = l.n;
        if (i == 0 && l.n && strcmp(l.a[l.n - 1].key, "exception.message") == 0)
            *msg = l.a[l.n - 1].value.u.str;
    }
    leave(d, p0);
    if (rc)
        return rc;
    s->events = ev;
    s->n_events = (uint32_t)n;
    return 0;
}

/* The resource of a segment: service.name and the host facts of "aws",
 * named as the OpenTelemetry semantic conventions name them. */
static int segment_resource(xctx *c, const json_t *js, const trace_resource **out)
{
    jdom_ctx *d = &c->d;
    trace_resource *r = arena_calloc(d->a, 1, sizeof *r);
    alist l = {arena_calloc(d->a, XRAY_RESOURCE_ATTRS, sizeof(tc_attr)), 0, XRAY_RESOURCE_ATTRS};
    if (!r || !l.a)
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    const char *name;
    const json_t *aws, *o;
    int rc;
    if ((rc = name_field(d, js, &name)) || (rc = obj_field(d, js, "aws", &aws)))
        return rc;
    add(&l, "service.name", jdom_string_value(name));
    if ((rc = str_attr(d, js, "origin", &l, "aws.xray.origin")))
        return rc;
    size_t p0 = enter(d, ".aws");
    if (aws && !(rc = obj_field(d, aws, "ec2", &o)) && o) {
        size_t p1 = enter(d, ".ec2");
        if (!(rc = str_attr(d, o, "availability_zone", &l, "cloud.availability_zone")) &&
            !(rc = str_attr(d, o, "instance_id", &l, "host.id")) &&
            !(rc = str_attr(d, o, "instance_size", &l, "host.type")))
            rc = str_attr(d, o, "ami_id", &l, "host.image.id");
        leave(d, p1);
    }
    if (aws && !rc && !(rc = obj_field(d, aws, "ecs", &o)) && o) {
        size_t p1 = enter(d, ".ecs");
        if (!(rc = str_attr(d, o, "container", &l, "container.name")))
            rc = str_attr(d, o, "container_id", &l, "container.id");
        leave(d, p1);
    }
    if (aws && !rc && !(rc = obj_field(d, aws, "elastic_beanstalk", &o)) && o) {
        size_t p1 = enter(d, ".elastic_beanstalk");
        if (!(rc = str_attr(d, o, "environment_name", &l, "service.namespace")) &&
            !(rc = int_attr(d, o, "deployment_id", &l, "service.instance.id")))
            rc = str_attr(d, o, "version_label", &l, "service.version");
        leave(d, p1);
    }
    if (aws && !rc && !(rc = obj_field(d, aws, "eks", &o)) && o) {
        size_t p1 = enter(d, ".eks");
        if (!(rc = str_attr(d, o, "cluster_name", &l, "k8s.cluster.name")) &&
            !(rc = str_attr(d, o, "pod", &l, "k8s.pod.name")))
            rc = str_attr(d, o, "container_id", &l, "container.id");
        leave(d, p1);
    }
    if (aws && !rc && !(rc = obj_field(d, aws, "xray", &o)) && o) {
        size_t p1 = enter(d, ".xray");
        if (!(rc = str_attr(d, o, "sdk", &l, "telemetry.sdk.name")))
            rc = str_attr(d, o, "sdk_version", &l, "telemetry.sdk.version");
        leave(d, p1);
    }
    leave(d, p0);
    r->attrs = l.a;
    r->n_attrs = l.n;
    r->schema_url = "";
    *out = r;
    return rc;
}

/* Decodes a segment or subsegment and, depth first, its subsegments. parent
 * is the enclosing (sub)segment's id, NULL at the top of a document (then
 * "parent_id" gives the parent); sub tells a subsegment. */
static int decode_span(xctx *c, const json_t *js, const uint8_t *tid, const uint8_t *parent,
                       const trace_resource *res, bool sub, int depth, trace_span **out)
{
    jdom_ctx *d = &c->d;
    if (!json_is_object(js))
        return jdom_fail(d, TC_ERR_INPUT, NULL, "expected an object");
    if (++c->doc_spans > XRAY_MAX_DOC_SPANS)
        return jdom_fail(d, TC_ERR_LIMIT, NULL, "more than %d segments and subsegments in one document",
                         XRAY_MAX_DOC_SPANS);
    trace_span *s = arena_calloc(d->a, 1, sizeof *s);
    if (!s)
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    memcpy(s->trace_id, tid, TRACE_ID_LEN);
    const char *ns;
    const json_t *anns, *meta, *aws, *subs;
    size_t n_anns, n_meta;
    bool has_start, has_end, in_progress, inferred, fault, error, throttle;
    int rc;
    if ((rc = jdom_id_field(d, js, "id", s->span_id, SPAN_ID_LEN, true, false)) ||
        (!parent && (rc = jdom_id_field(d, js, "parent_id", s->parent_id, SPAN_ID_LEN, false, true))) ||
        (rc = name_field(d, js, &s->name)) ||
        (rc = time_field(d, js, "start_time", &s->start_ns, &has_start)) ||
        (rc = time_field(d, js, "end_time", &s->end_ns, &has_end)) ||
        (rc = bool_field(d, js, "in_progress", &in_progress)) ||
        (rc = bool_field(d, js, "inferred", &inferred)) || (rc = bool_field(d, js, "fault", &fault)) ||
        (rc = bool_field(d, js, "error", &error)) || (rc = bool_field(d, js, "throttle", &throttle)) ||
        (rc = jdom_str_field(d, js, "namespace", "", &ns)) ||
        (rc = attr_object(d, js, "annotations", &anns, &n_anns)) ||
        (rc = attr_object(d, js, "metadata", &meta, &n_meta)) || (rc = obj_field(d, js, "aws", &aws)))
        return rc;
    if (parent)
        memcpy(s->parent_id, parent, SPAN_ID_LEN);
    if (!has_start)
        return jdom_fail(d, TC_ERR_INPUT, NULL, "missing start_time");
    if (in_progress || !has_end)
        s->end_ns = s->start_ns;
    else if (s->end_ns < s->start_ns)
        return jdom_fail(d, TC_ERR_INPUT, "end_time", "before start_time");

    bool remote = strcmp(ns, "aws") == 0 || strcmp(ns, "remote") == 0;
    s->kind = !sub ? TRACE_KIND_SERVER : remote ? TRACE_KIND_CLIENT : TRACE_KIND_INTERNAL;
    alist l = {arena_calloc(d->a, XRAY_SPAN_ATTRS + n_anns + n_meta, sizeof(tc_attr)), 0,
               (uint32_t)(XRAY_SPAN_ATTRS + n_anns + n_meta)};
    if (!l.a)
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    if (strcmp(ns, "aws") == 0)
        add(&l, "aws.service", jdom_string_value(s->name));
    const char *msg;
    if ((rc = http_attrs(d, js, &l)) || (rc = aws_attrs(d, aws, &l)) || (rc = sql_attrs(d, js, &l)) ||
        (rc = str_attr(d, js, "user", &l, "enduser.id")) ||
        (sub && !parent && (rc = str_attr(d, js, "origin", &l, "aws.xray.origin"))) ||
        (rc = cause(d, js, s, &msg)))
        return rc;
    static const char *const flag_keys[] = {"aws.xray.inprogress", "aws.xray.inferred", "aws.xray.fault",
                                            "aws.xray.error", "aws.xray.throttle"};
    bool flags[] = {in_progress, inferred, fault, error, throttle};
    for (int i = 0; i < 5; i++)
        if (flags[i])
            add(&l, flag_keys[i], bool_value(true));
    if ((anns && (rc = annotations(d, anns, &l))) || (meta && (rc = metadata(d, meta, &l))))
        return rc;
    s->attrs = l.a;
    s->n_attrs = l.n;
    if (fault || error) {
        s->status_code = TRACE_STATUS_ERROR;
        s->status_message = msg;
    }
    s->resource = res;
    if ((rc = trace_set_add_span(d->ts, s, d->e)))
        return rc;
    if (out)
        *out = s;

    subs = json_object_get(js, "subsegments");
    if (!subs || json_is_null(subs))
        return 0;
    if (!json_is_array(subs))
        return jdom_fail(d, TC_ERR_INPUT, "subsegments", "expected an array");
    if (json_array_size(subs) && depth + 1 > XRAY_MAX_DEPTH)
        return jdom_fail(d, TC_ERR_LIMIT, "subsegments", "nested deeper than %d levels", XRAY_MAX_DEPTH);
    size_t p0 = strlen(d->path);
    for (size_t i = 0; i < json_array_size(subs) && !rc; i++) {
        leave(d, p0);
        enter(d, ".subsegments[%zu]", i);
        rc = decode_span(c, json_array_get(subs, i), tid, s->span_id, res, true, depth + 1, NULL);
    }
    if (!rc)
        leave(d, p0);
    return rc;
}

/* Reads a field holding an X-Ray trace id. Returns 0 with *found telling
 * whether it was there, or TC_ERR_INPUT. */
static int trace_id_field(jdom_ctx *d, const json_t *obj, const char *field, uint8_t tid[16], bool *found)
{
    const json_t *v = json_object_get(obj, field);
    *found = v && !json_is_null(v);
    if (!*found)
        return 0;
    if (!json_is_string(v) || xray_parse_trace_id(json_string_value(v), json_string_length(v), tid))
        return jdom_fail(d, TC_ERR_INPUT, field,
                         "expected an X-Ray trace id like 1-5759e988-bd862e3fe1be46a994272793");
    if (jdom_is_zero(tid, TRACE_ID_LEN))
        return jdom_fail(d, TC_ERR_INPUT, field, "id is all zeros");
    return 0;
}

/* Decodes one segment document (a JSON string); env_tid is the trace's
 * "Id", used when the document has no trace_id (NULL when absent). */
static int decode_document(xctx *c, const json_t *seg, const uint8_t *env_tid)
{
    jdom_ctx *d = &c->d;
    const json_t *doc = json_object_get(seg, "Document");
    if (!doc || json_is_null(doc))
        return jdom_fail(d, TC_ERR_INPUT, NULL, "missing Document");
    if (!json_is_string(doc))
        return jdom_fail(d, TC_ERR_INPUT, "Document", "expected a string");
    json_t *js;
    tc_error de;
    memset(&de, 0, sizeof de);
    int rc = jdom_load(json_string_value(doc), json_string_length(doc), &js, &de);
    if (rc)
        return de.line > 0 ? jdom_fail(d, rc, "Document", "%d:%d: %s", de.line, de.col, de.msg)
                           : jdom_fail(d, rc, "Document", "%s", de.msg);
    enter(d, ".Document");
    uint8_t tid[TRACE_ID_LEN];
    bool found;
    const char *type;
    const trace_resource *res = NULL;
    trace_span *s = NULL;
    if (!json_is_object(js)) {
        rc = jdom_fail(d, TC_ERR_INPUT, NULL, "expected a segment object");
        goto out;
    }
    if ((rc = trace_id_field(d, js, "trace_id", tid, &found)) ||
        (rc = jdom_str_field(d, js, "type", "", &type)))
        goto out;
    if (!found && !env_tid) {
        rc = jdom_fail(d, TC_ERR_INPUT, NULL, "missing trace_id");
        goto out;
    }
    if (!found)
        memcpy(tid, env_tid, TRACE_ID_LEN);
    bool sub = strcmp(type, "subsegment") == 0;
    if (!sub && (rc = segment_resource(c, js, &res)))
        goto out;
    c->doc_spans = 0;
    if ((rc = decode_span(c, js, tid, NULL, res, sub, 0, &s)))
        goto out;
    if (sub) {
        pending *p = arena_calloc(d->a, 1, sizeof *p);
        if (!p) {
            rc = jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
            goto out;
        }
        p->span = s;
        p->next = c->pend;
        c->pend = p;
    }
out:
    json_decref(js);
    return rc;
}

/* Gives each independent subsegment its nearest ancestor's resource. */
static void resolve_pending(xctx *c)
{
    const trace_resource *empty = trace_set_empty_resource(c->d.ts);
    for (pending *p = c->pend; p; p = p->next) {
        const trace_span *cur = p->span;
        trace *t = trace_set_find(c->d.ts, cur->trace_id);
        for (int hop = 0; t && hop < XRAY_MAX_HOPS && trace_span_has_parent(cur); hop++) {
            cur = trace_find_span(t, cur->parent_id);
            if (!cur)
                break;
            if (cur->resource != empty) {
                p->span->resource = cur->resource;
                break;
            }
        }
    }
}

static int decode_traces(xctx *c, const json_t *traces)
{
    jdom_ctx *d = &c->d;
    if (!traces || json_is_null(traces))
        return 0;
    if (!json_is_array(traces))
        return jdom_fail(d, TC_ERR_INPUT, "Traces", "expected an array");
    int rc = 0;
    for (size_t i = 0; i < json_array_size(traces) && !rc; i++) {
        const json_t *t = json_array_get(traces, i);
        snprintf(d->path, sizeof d->path, "Traces[%zu]", i);
        if (!json_is_object(t))
            return jdom_fail(d, TC_ERR_INPUT, NULL, "expected an object");
        uint8_t tid[TRACE_ID_LEN];
        bool found;
        const json_t *segs = json_object_get(t, "Segments");
        if ((rc = trace_id_field(d, t, "Id", tid, &found)))
            return rc;
        if (!segs || json_is_null(segs))
            continue;
        if (!json_is_array(segs))
            return jdom_fail(d, TC_ERR_INPUT, "Segments", "expected an array");
        for (size_t k = 0; k < json_array_size(segs) && !rc; k++) {
            const json_t *seg = json_array_get(segs, k);
            snprintf(d->path, sizeof d->path, "Traces[%zu].Segments[%zu]", i, k);
            if (!json_is_object(seg))
                return jdom_fail(d, TC_ERR_INPUT, NULL, "expected an object");
            rc = decode_document(c, seg, found ? tid : NULL);
        }
    }
    d->path[0] = '\0';
    return rc;
}

int xray_json_decode(trace_set *ts, const char *buf, size_t len, char **next_token, bool *unprocessed,
                     tc_error *e)
{
    json_t *root;
    int rc = jdom_load(buf, len, &root, e);
    if (rc)
        return rc;
    xctx c;
    memset(&c, 0, sizeof c);
    jdom_init(&c.d, ts, e);
    char *tok = NULL;
    const json_t *un, *nt;
    if (!json_is_object(root)) {
        rc = tc_error_set(e, TC_ERR_INPUT, "expected a BatchGetTraces response object");
        goto out;
    }
    if ((rc = decode_traces(&c, json_object_get(root, "Traces"))))
        goto out;
    un = json_object_get(root, "UnprocessedTraceIds");
    if (un && !json_is_null(un)) {
        if (!json_is_array(un)) {
            rc = jdom_fail(&c.d, TC_ERR_INPUT, "UnprocessedTraceIds", "expected an array");
            goto out;
        }
        for (size_t i = 0; i < json_array_size(un); i++) {
            if (!json_is_string(json_array_get(un, i))) {
                rc = tc_error_set(e, TC_ERR_INPUT, "UnprocessedTraceIds[%zu]: expected a string", i);
                goto out;
            }
        }
    }
    nt = json_object_get(root, "NextToken");
    if (nt && !json_is_null(nt)) {
        if (!json_is_string(nt)) {
            rc = jdom_fail(&c.d, TC_ERR_INPUT, "NextToken", "expected a string");
            goto out;
        }
        if (!(tok = strdup(json_string_value(nt)))) {
            rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    resolve_pending(&c);
    *next_token = tok;
    *unprocessed = json_array_size(un) > 0;
out:
    json_decref(root);
    return rc;
}
