/* search_json.c - decodes Elasticsearch/OpenSearch _search responses whose
 * hits are spans (Data Prepper's OTel span documents; Elastic APM
 * transactions and spans) into the trace model, and builds the _search
 * bodies that page through one trace with search_after (search_json.h). */
#include "codec/search_json.h"
#include "codec/jdom.h"
#include "codec/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sctx {
    jdom_ctx d;
    const trace_resource *last_res; /* the previous document's, shared when equal */
} sctx;

typedef int (*doc_decoder)(sctx *c, const json_t *src);

/* ---- shared pieces ---- */

typedef struct alist {
    tc_attr *a;
    uint32_t n, cap;
} alist;

static int alist_init(sctx *c, alist *l, size_t cap, const char *field)
{
    memset(l, 0, sizeof *l);
    if (cap > CODEC_MAX_ATTRS)
        return jdom_fail(&c->d, TC_ERR_LIMIT, field, "more than %d attributes", CODEC_MAX_ATTRS);
    if (!cap)
        return 0;
    if (!(l->a = arena_calloc(c->d.a, cap, sizeof *l->a)))
        return jdom_fail(&c->d, TC_ERR_NOMEM, field, "out of memory");
    l->cap = (uint32_t)cap;
    return 0;
}

/* A JSON value as a typed value: strings, integers, reals, booleans; arrays
 * and objects as array and kvlist values (at most CODEC_MAX_DEPTH deep);
 * null as the empty value. */
static int to_value(sctx *c, const json_t *j, int depth, const char *field, tc_value *v)
{
    jdom_ctx *d = &c->d;
    memset(v, 0, sizeof *v);
    switch (json_typeof(j)) {
    case JSON_STRING:
        v->type = TC_V_STRING;
        v->len = (uint32_t)json_string_length(j);
        return jdom_str(d, j, field, &v->u.str);
    case JSON_INTEGER:
        v->type = TC_V_INT;
        v->u.i = (int64_t)json_integer_value(j);
        return 0;
    case JSON_REAL:
        v->type = TC_V_DOUBLE;
        v->u.d = json_real_value(j);
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        v->type = TC_V_BOOL;
        v->u.b = json_is_true(j);
        return 0;
    case JSON_NULL:
        return 0;
    case JSON_ARRAY:
    case JSON_OBJECT:
        break;
    }
    if (depth >= CODEC_MAX_DEPTH)
        return jdom_fail(d, TC_ERR_LIMIT, field, "values nested deeper than %d levels", CODEC_MAX_DEPTH);
    size_t n = json_is_array(j) ? json_array_size(j) : json_object_size(j);
    if (n > CODEC_MAX_ITEMS)
        return jdom_fail(d, TC_ERR_LIMIT, field, "more than %d items in a value", CODEC_MAX_ITEMS);
    v->len = (uint32_t)n;
    if (json_is_array(j)) {
        v->type = TC_V_ARRAY;
        if (!(v->u.arr = arena_calloc(d->a, n ? n : 1, sizeof *v->u.arr)))
            return jdom_fail(d, TC_ERR_NOMEM, field, "out of memory");
        for (size_t i = 0; i < n; i++) {
            int rc = to_value(c, json_array_get(j, i), depth + 1, field, &v->u.arr[i]);
            if (rc)
                return rc;
        }
        return 0;
    }
    v->type = TC_V_KVLIST;
    if (!(v->u.kv = arena_calloc(d->a, n ? n : 1, sizeof *v->u.kv)))
        return jdom_fail(d, TC_ERR_NOMEM, field, "out of memory");
    const char *key;
    json_t *val;
    uint32_t i = 0;
    json_object_foreach((json_t *)j, key, val)
    {
        tc_attr *a = &v->u.kv[i++];
        size_t klen = strlen(key);
        if (!(a->key = arena_strndup(d->a, key, klen)))
            return jdom_fail(d, TC_ERR_NOMEM, field, "out of memory");
        a->key_len = (uint32_t)klen;
        int rc = to_value(c, val, depth + 1, field, &a->value);
        if (rc)
            return rc;
    }
    return 0;
}

/* Appends attribute key[0..klen) (with '@' read as '.' when at_to_dot) = val;
 * a null value is no attribute. `field` names it in errors. */
static int add_attr(sctx *c, alist *l, const char *key, size_t klen, bool at_to_dot, const json_t *val,
                    const char *field)
{
    jdom_ctx *d = &c->d;
    if (!val || json_is_null(val))
        return 0;
    if (l->n >= l->cap)
        return jdom_fail(d, TC_ERR_LIMIT, field, "more than %d attributes", CODEC_MAX_ATTRS);
    if (klen > CODEC_MAX_STRING)
        return jdom_fail(d, TC_ERR_LIMIT, field, "key of %zu bytes is over the limit of %zu", klen,
                         CODEC_MAX_STRING);
    tc_attr *a = &l->a[l->n];
    char *k = arena_strndup(d->a, key, klen);
    if (!k)
        return jdom_fail(d, TC_ERR_NOMEM, field, "out of memory");
    for (size_t i = 0; at_to_dot && i < klen; i++)
        if (k[i] == '@')
            k[i] = '.';
    a->key = k;
    a->key_len = (uint32_t)klen;
    int rc = to_value(c, val, 0, field, &a->value);
    if (rc)
        return rc;
    l->n++;
    return 0;
}

/* Appends every member of an object as an attribute. */
static int add_object(sctx *c, alist *l, const json_t *obj, bool at_to_dot, const char *field)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        char f[96];
        snprintf(f, sizeof f, "%s.%.60s", field, key);
        int rc = add_attr(c, l, key, strlen(key), at_to_dot, val, f);
        if (rc)
            return rc;
    }
    return 0;
}

/* Reads an optional object member (absent or null gives NULL). */
static int opt_object(sctx *c, const json_t *obj, const char *field, const json_t **out)
{
    const json_t *v = obj ? json_object_get(obj, field) : NULL;
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return jdom_fail(&c->d, TC_ERR_INPUT, field, "expected an object");
    *out = v;
    return 0;
}

/* Reads an optional count (absent or null: 0) into a uint32_t. */
static int opt_count(sctx *c, const json_t *obj, const char *field, uint32_t *out)
{
    const json_t *v = json_object_get(obj, field);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
        return jdom_fail(&c->d, TC_ERR_INPUT, field, "expected a non-negative integer");
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool num(const char *s, size_t n, size_t *i, int count, int *out)
{
    int v = 0;
    for (int k = 0; k < count; k++, (*i)++) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9')
            return false;
        v = v * 10 + (s[*i] - '0');
    }
    *out = v;
    return true;
}

/* Skips one of the characters of `any` at *i; false when another is there. */
static bool lit(const char *s, size_t n, size_t *i, const char *any)
{
    if (*i >= n || !strchr(any, s[*i]) || !s[*i])
        return false;
    (*i)++;
    return true;
}

/* Parses an ISO 8601 / RFC 3339 time, "2020-08-20T05:40:46.041011600Z"
 * (fraction of any length, nanoseconds kept; zone Z, +HH:MM, +HHMM or
 * none for UTC) into Unix nanoseconds. Returns 0, or -1 when it is not
 * such a time or lies outside 1970..2554. */
static int parse_iso_time(const char *s, size_t n, uint64_t *ns)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec;
    size_t i = 0;
    bool ok = num(s, n, &i, 4, &y) && lit(s, n, &i, "-") && num(s, n, &i, 2, &mo) && lit(s, n, &i, "-") &&
              num(s, n, &i, 2, &d) && lit(s, n, &i, "Tt ") && num(s, n, &i, 2, &h) && lit(s, n, &i, ":") &&
              num(s, n, &i, 2, &mi) && lit(s, n, &i, ":") && num(s, n, &i, 2, &sec);
    if (!ok)
        return -1;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 ||
        mi > 59 || sec > 60)
        return -1;
    uint64_t frac = 0;
    if (i < n && (s[i] == '.' || s[i] == ',')) {
        size_t start = ++i;
        uint64_t scale = 100000000;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
            frac += (uint64_t)(s[i] - '0') * scale; /* digits past the ninth add 0 */
        if (i == start)
            return -1;
    }
    int64_t off = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i++] == '-' ? -1 : 1, oh, om;
        if (!num(s, n, &i, 2, &oh))
            return -1;
        if (i < n && s[i] == ':')
            i++;
        if (!num(s, n, &i, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = sign * (int64_t)(oh * 3600 + om * 60);
    }
    if (i != n)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    if (secs < 0 || (uint64_t)secs > UINT64_MAX / 1000000000u - 1)
        return -1;
    *ns = (uint64_t)secs * 1000000000u + frac;
    return 0;
}

/* Reads an ISO 8601 time value; *present tells whether there was one. */
static int time_value(sctx *c, const json_t *v, const char *field, uint64_t *ns, bool *present)
{
    *present = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || parse_iso_time(json_string_value(v), json_string_length(v), ns))
        return jdom_fail(&c->d, TC_ERR_INPUT, field,
                         "expected an ISO 8601 time such as 2020-08-20T05:40:46.041011600Z");
    *present = true;
    return 0;
}

static bool attrs_equal(const tc_attr *a, uint32_t na, const tc_attr *b, uint32_t nb)
{
    if (na != nb)
        return false;
    for (uint32_t i = 0; i < na; i++)
        if (strcmp(a[i].key, b[i].key) != 0 || !value_equal(&a[i].value, &b[i].value))
            return false;
    return true;
}

/* The span's resource: the previous document's when the attributes are the
 * same (the documents of one service follow each other), else a new one. */
static int make_resource(sctx *c, const alist *l, const trace_resource **out)
{
    if (!l->n) {
        *out = trace_set_empty_resource(c->d.ts);
        return 0;
    }
    if (c->last_res && attrs_equal(c->last_res->attrs, c->last_res->n_attrs, l->a, l->n)) {
        *out = c->last_res;
        return 0;
    }
    trace_resource *r = arena_calloc(c->d.a, 1, sizeof *r);
    if (!r)
        return jdom_fail(&c->d, TC_ERR_NOMEM, NULL, "out of memory");
    r->attrs = l->a;
    r->n_attrs = l->n;
    r->schema_url = "";
    *out = c->last_res = r;
    return 0;
}

/* An Elasticsearch error body: {"error": {"type", "reason", ...}, "status"}
 * (or "error" as a string). */
static int search_error(sctx *c, const json_t *root)
{
    const json_t *err = json_object_get(root, "error");
    if (!err || json_is_null(err))
        return 0;
    const json_t *st = json_object_get(root, "status");
    char status[32] = "";
    if (json_is_integer(st))
        snprintf(status, sizeof status, " %lld", (long long)json_integer_value(st));
    if (json_is_string(err))
        return tc_error_set(c->d.e, TC_ERR_INPUT, "search error%s: %.200s", status, json_string_value(err));
    const json_t *type = json_object_get(err, "type");
    const json_t *reason = json_object_get(err, "reason");
    const char *t = json_is_string(type) ? json_string_value(type) : "unknown error";
    if (json_is_string(reason))
        return tc_error_set(c->d.e, TC_ERR_INPUT, "search error%s: %.64s: %.160s", status, t,
                            json_string_value(reason));
    return tc_error_set(c->d.e, TC_ERR_INPUT, "search error%s: %.64s", status, t);
}

/* hits.total: a number (Elasticsearch 6) or {"value": N, "relation"}. */
static int hits_total(sctx *c, const json_t *hits, int64_t *total)
{
    const json_t *t = json_object_get(hits, "total");
    *total = -1;
    if (!t || json_is_null(t))
        return 0;
    if (json_is_object(t))
        t = json_object_get(t, "value");
    if (!json_is_integer(t) || json_integer_value(t) < 0)
        return jdom_fail(&c->d, TC_ERR_INPUT, "hits.total",
                         "expected a non-negative integer or {\"value\": N}");
    *total = (int64_t)json_integer_value(t);
    return 0;
}

static int decode_search(trace_set *ts, const char *buf, size_t len, search_page *page, tc_error *e,
                         doc_decoder decode_doc)
{
    json_t *root;
    int rc = jdom_load(buf, len, &root, e);
    if (rc)
        return rc;
    sctx c;
    memset(&c, 0, sizeof c);
    jdom_init(&c.d, ts, e);
    char *last_sort = NULL;
    int64_t total = -1;
    const json_t *hits, *arr = NULL;
    if (!json_is_object(root)) {
        rc = tc_error_set(e, TC_ERR_INPUT, "expected a JSON object (an _search response)");
        goto out;
    }
    if ((rc = search_error(&c, root)))
        goto out;
    hits = json_object_get(root, "hits");
    if (!hits) {
        rc = jdom_fail(&c.d, TC_ERR_INPUT, "hits", "missing (expected an _search response)");
        goto out;
    }
    if (!json_is_object(hits)) {
        rc = jdom_fail(&c.d, TC_ERR_INPUT, "hits", "expected an object");
        goto out;
    }
    if ((rc = hits_total(&c, hits, &total)))
        goto out;
    arr = json_object_get(hits, "hits");
    if (!json_is_array(arr)) {
        rc = jdom_fail(&c.d, TC_ERR_INPUT, "hits.hits", arr ? "expected an array" : "missing");
        goto out;
    }
    const json_t *sort = NULL;
    for (size_t i = 0; i < json_array_size(arr) && !rc; i++) {
        const json_t *hit = json_array_get(arr, i);
        snprintf(c.d.path, sizeof c.d.path, "hits.hits[%zu]", i);
        if (!json_is_object(hit)) {
            rc = jdom_fail(&c.d, TC_ERR_INPUT, NULL, "expected an object");
            break;
        }
        const json_t *src = json_object_get(hit, "_source");
        sort = json_object_get(hit, "sort");
        if (sort && json_is_null(sort))
            sort = NULL;
        if (sort && !json_is_array(sort))
            rc = jdom_fail(&c.d, TC_ERR_INPUT, "sort", "expected an array");
        else if (!json_is_object(src))
            rc = jdom_fail(&c.d, TC_ERR_INPUT, "_source", src ? "expected an object" : "missing");
        if (rc)
            break;
        snprintf(c.d.path, sizeof c.d.path, "hits.hits[%zu]._source", i);
        rc = decode_doc(&c, src);
    }
    if (rc)
        goto out;
    if (sort && !(last_sort = json_dumps(sort, JSON_COMPACT))) {
        rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (page) {
        page->hits = (uint32_t)json_array_size(arr);
        page->total = total;
        page->last_sort = last_sort;
        last_sort = NULL;
    }
out:
    free(last_sort);
    json_decref(root);
    return rc;
}

/* ---- OpenSearch: Data Prepper span documents ---- */

enum { OS_NONE, OS_SPAN, OS_RES, OS_SCOPE };

/* Which attributes a flat key holds: "span.attributes.K",
 * "resource.attributes.K" or "instrumentationScope.attributes.K" (also
 * with '@' after the prefix, as old documents have); *rest is K. */
static int os_class(const char *key, const char **rest)
{
    static const struct {
        const char *prefix;
        size_t n;
        int where;
    } pre[] = {{"span.attributes", 15, OS_SPAN},
               {"resource.attributes", 19, OS_RES},
               {"instrumentationScope.attributes", 31, OS_SCOPE}};
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
        if (strncmp(key, pre[i].prefix, pre[i].n) == 0 && (key[pre[i].n] == '.' || key[pre[i].n] == '@')) {
            *rest = key + pre[i].n + 1;
            return pre[i].where;
        }
    return OS_NONE;
}

/* An id: hex of 1..2n digits, or (old documents) base64 of n bytes. An
 * empty string is an absent id. */
static int os_id(sctx *c, const json_t *obj, const char *field, uint8_t *out, size_t n, bool required)
{
    const json_t *v = json_object_get(obj, field);
    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v) && !required)) {
        if (required)
            return jdom_fail(&c->d, TC_ERR_INPUT, NULL, "missing %s", field);
        return 0;
    }
    uint8_t id[TRACE_ID_LEN];
    if (jdom_hex_id(v, id, n)) {
        uint8_t raw[TRACE_ID_LEN + 2];
        size_t slen = json_is_string(v) ? json_string_length(v) : 0;
        if (slen != (n + 2) / 3 * 4 || base64_decode(json_string_value(v), slen, raw, sizeof raw) != (long)n)
            return jdom_fail(&c->d, TC_ERR_INPUT, field, "expected a string of 1 to %zu hex digits", 2 * n);
        memcpy(id, raw, n);
    }
    if (required && jdom_is_zero(id, n))
        return jdom_fail(&c->d, TC_ERR_INPUT, field, "id is all zeros");
    memcpy(out, id, n);
    return 0;
}

/* Optional object of attributes whose keys have '@' for '.'. */
static int os_attr_object(sctx *c, const json_t *obj, tc_attr **out, uint32_t *n)
{
    const json_t *attrs;
    alist l;
    int rc = opt_object(c, obj, "attributes", &attrs);
    if (rc || !attrs || (rc = alist_init(c, &l, json_object_size(attrs), "attributes")) ||
        (rc = add_object(c, &l, attrs, true, "attributes")))
        return rc;
    *out = l.a;
    *n = l.n;
    return 0;
}

static int os_events(sctx *c, const json_t *doc, trace_span *s)
{
    jdom_ctx *d = &c->d;
    const json_t *arr = json_object_get(doc, "events");
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return jdom_fail(d, TC_ERR_INPUT, "events", "expected an array");
    size_t n = json_array_size(arr);
    if (n > CODEC_MAX_EVENTS)
        return jdom_fail(d, TC_ERR_LIMIT, "events", "more than %d events", CODEC_MAX_EVENTS);
    trace_event *ev = arena_calloc(d->a, n ? n : 1, sizeof *ev);
    if (!ev)
        return jdom_fail(d, TC_ERR_NOMEM, "events", "out of memory");
    size_t plen = strlen(d->path);
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(arr, i);
        snprintf(d->path + plen, sizeof d->path - plen, ".events[%zu]", i);
        if (!json_is_object(o))
            return jdom_fail(d, TC_ERR_INPUT, NULL, "expected an object");
        bool has_time;
        int rc = jdom_str_field(d, o, "name", "", &ev[i].name);
        if (rc || (rc = time_value(c, json_object_get(o, "time"), "time", &ev[i].time_ns, &has_time)) ||
            (rc = os_attr_object(c, o, &ev[i].attrs, &ev[i].n_attrs)) ||
            (rc = opt_count(c, o, "droppedAttributesCount", &ev[i].dropped_attrs)))
            return rc;
    }
    d->path[plen] = '\0';
    s->events = ev;
    s->n_events = (uint32_t)n;
    return 0;
}

static int os_links(sctx *c, const json_t *doc, trace_span *s)
{
    jdom_ctx *d = &c->d;
    const json_t *arr = json_object_get(doc, "links");
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return jdom_fail(d, TC_ERR_INPUT, "links", "expected an array");
    size_t n = json_array_size(arr);
    if (n > CODEC_MAX_LINKS)
        return jdom_fail(d, TC_ERR_LIMIT, "links", "more than %d links", CODEC_MAX_LINKS);
    trace_link *lk = arena_calloc(d->a, n ? n : 1, sizeof *lk);
    if (!lk)
        return jdom_fail(d, TC_ERR_NOMEM, "links", "out of memory");
    size_t plen = strlen(d->path);
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(arr, i);
        snprintf(d->path + plen, sizeof d->path - plen, ".links[%zu]", i);
        if (!json_is_object(o))
            return jdom_fail(d, TC_ERR_INPUT, NULL, "expected an object");
        int rc = os_id(c, o, "traceId", lk[i].trace_id, TRACE_ID_LEN, true);
        if (rc || (rc = os_id(c, o, "spanId", lk[i].span_id, SPAN_ID_LEN, true)) ||
            (rc = jdom_str_field(d, o, "traceState", "", &lk[i].trace_state)) ||
            (rc = os_attr_object(c, o, &lk[i].attrs, &lk[i].n_attrs)) ||
            (rc = opt_count(c, o, "droppedAttributesCount", &lk[i].dropped_attrs)))
            return rc;
    }
    d->path[plen] = '\0';
    s->links = lk;
    s->n_links = (uint32_t)n;
    return 0;
}

/* status {"code", "message"} or flat "status.code" / "status.message".
 * Code 0 is unset, 1 ok, 2 error; any other code (old documents carried
 * gRPC-style codes, where non-zero is a failure) is an error. */
static int os_status(sctx *c, const json_t *doc, trace_span *s)
{
    jdom_ctx *d = &c->d;
    const json_t *st;
    int rc = opt_object(c, doc, "status", &st);
    if (rc)
        return rc;
    const json_t *code = st ? json_object_get(st, "code") : NULL;
    const json_t *msg = st ? json_object_get(st, "message") : NULL;
    if (!code || json_is_null(code))
        code = json_object_get(doc, "status.code");
    if (!msg || json_is_null(msg))
        msg = json_object_get(doc, "status.message");
    if (code && !json_is_null(code)) {
        if (json_is_integer(code) && json_integer_value(code) >= 0) {
            json_int_t k = json_integer_value(code);
            s->status_code = k == 0 ? TRACE_STATUS_UNSET : k == 1 ? TRACE_STATUS_OK : TRACE_STATUS_ERROR;
        } else if (json_is_string(code)) {
            int k = trace_status_parse(json_string_value(code), json_string_length(code));
            if (k < 0)
                return jdom_fail(d, TC_ERR_INPUT, "status.code", "unknown status code \"%.32s\"",
                                 json_string_value(code));
            s->status_code = (uint8_t)k;
        } else {
            return jdom_fail(d, TC_ERR_INPUT, "status.code", "expected a non-negative integer");
        }
    }
    if (msg && !json_is_null(msg)) {
        if (!json_is_string(msg))
            return jdom_fail(d, TC_ERR_INPUT, "status.message", "expected a string");
        return jdom_str(d, msg, "status.message", &s->status_message);
    }
    return 0;
}

/* The first string of obj.a.b (nested) or obj["a.b"] (flat) or, failing
 * both, obj["c.b"] for the legacy field name; "" when none. */
static int os_scope_str(sctx *c, const json_t *nested, const json_t *doc, const char *member,
                        const char **out)
{
    jdom_ctx *d = &c->d;
    char flat[64], legacy[64];
    snprintf(flat, sizeof flat, "instrumentationScope.%s", member);
    snprintf(legacy, sizeof legacy, "instrumentationLibrary.%s", member);
    const json_t *v = nested ? json_object_get(nested, member) : NULL;
    const char *field = flat;
    if (!v || json_is_null(v))
        v = json_object_get(doc, flat);
    if (!v || json_is_null(v)) {
        v = json_object_get(doc, legacy);
        field = legacy;
    }
    *out = "";
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return jdom_fail(d, TC_ERR_INPUT, field, "expected a string");
    return jdom_str(d, v, field, out);
}

static int os_scope(sctx *c, const json_t *doc, const json_t *nested, const alist *attrs, trace_span *s)
{
    const char *name, *version;
    int rc = os_scope_str(c, nested, doc, "name", &name);
    if (rc || (rc = os_scope_str(c, nested, doc, "version", &version)))
        return rc;
    if (!attrs->n) {
        if (!(s->scope = jdom_scope(&c->d, name, version)))
            return jdom_fail(&c->d, TC_ERR_NOMEM, NULL, "out of memory");
        return 0;
    }
    trace_scope *sc = arena_calloc(c->d.a, 1, sizeof *sc);
    if (!sc)
        return jdom_fail(&c->d, TC_ERR_NOMEM, NULL, "out of memory");
    sc->name = name;
    sc->version = version;
    sc->attrs = attrs->a;
    sc->n_attrs = attrs->n;
    sc->schema_url = "";
    s->scope = sc;
    return 0;
}

/* Span, resource and scope attributes: flat prefixed keys, the nested
 * "attributes" object (prefixed keys or plain span attributes), the
 * "resource": {"attributes"} and "instrumentationScope": {"attributes"}
 * objects; then serviceName as service.name when the resource lacks it. */
static int os_attrs(sctx *c, const json_t *doc, const json_t *scope_obj, alist *span, alist *res,
                    alist *scope)
{
    const json_t *attrs, *res_obj, *res_attrs = NULL, *scope_attrs = NULL;
    int rc = opt_object(c, doc, "attributes", &attrs);
    if (rc || (rc = opt_object(c, doc, "resource", &res_obj)) ||
        (rc = opt_object(c, res_obj, "attributes", &res_attrs)) ||
        (rc = opt_object(c, scope_obj, "attributes", &scope_attrs)))
        return rc;
    const char *svc;
    if ((rc = jdom_str_field(&c->d, doc, "serviceName", "", &svc)))
        return rc;
    size_t count[4] = {0, 0, 0, 0};
    const char *key, *rest;
    json_t *val;
    json_object_foreach((json_t *)doc, key, val)
    {
        count[os_class(key, &rest)]++;
    }
    if (attrs)
        json_object_foreach((json_t *)attrs, key, val)
        {
            int w = os_class(key, &rest);
            count[w == OS_NONE ? OS_SPAN : w]++;
        }
    count[OS_RES] += (res_attrs ? json_object_size(res_attrs) : 0) + 1;
    count[OS_SCOPE] += scope_attrs ? json_object_size(scope_attrs) : 0;
    if ((rc = alist_init(c, span, count[OS_SPAN], "span.attributes")) ||
        (rc = alist_init(c, res, count[OS_RES], "resource.attributes")) ||
        (rc = alist_init(c, scope, count[OS_SCOPE], "instrumentationScope.attributes")))
        return rc;
    alist *lists[4] = {NULL, span, res, scope};
    json_object_foreach((json_t *)doc, key, val)
    {
        int w = os_class(key, &rest);
        if (w != OS_NONE && (rc = add_attr(c, lists[w], rest, strlen(rest), true, val, key)))
            return rc;
    }
    if (attrs)
        json_object_foreach((json_t *)attrs, key, val)
        {
            char f[96];
            int w = os_class(key, &rest);
            snprintf(f, sizeof f, "attributes.%.60s", key);
            if (w == OS_NONE)
                rc = add_attr(c, span, key, strlen(key), false, val, f);
            else
                rc = add_attr(c, lists[w], rest, strlen(rest), true, val, f);
            if (rc)
                return rc;
        }
    if ((res_attrs && (rc = add_object(c, res, res_attrs, false, "resource.attributes"))) ||
        (scope_attrs && (rc = add_object(c, scope, scope_attrs, false, "instrumentationScope.attributes"))))
        return rc;
    if (*svc && !attr_find(res->a, res->n, "service.name", 12)) {
        memmove(res->a + 1, res->a, res->n * sizeof *res->a);
        res->a[0].key = "service.name";
        res->a[0].key_len = 12;
        res->a[0].value = jdom_string_value(svc);
        res->n++;
    }
    return 0;
}

static int os_doc(sctx *c, const json_t *doc)
{
    jdom_ctx *d = &c->d;
    trace_span *s = arena_calloc(d->a, 1, sizeof *s);
    if (!s)
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    const json_t *kind = json_object_get(doc, "kind"), *scope_obj,
                 *dur = json_object_get(doc, "durationInNanos");
    bool has_start, has_end;
    int rc;
    if ((rc = os_id(c, doc, "traceId", s->trace_id, TRACE_ID_LEN, true)) ||
        (rc = os_id(c, doc, "spanId", s->span_id, SPAN_ID_LEN, true)) ||
        (rc = os_id(c, doc, "parentSpanId", s->parent_id, SPAN_ID_LEN, false)) ||
        (rc = jdom_str_field(d, doc, "name", "", &s->name)) ||
        (rc = jdom_str_field(d, doc, "traceState", "", &s->trace_state)) ||
        (rc = time_value(c, json_object_get(doc, "startTime"), "startTime", &s->start_ns, &has_start)) ||
        (rc = time_value(c, json_object_get(doc, "endTime"), "endTime", &s->end_ns, &has_end)) ||
        (rc = opt_count(c, doc, "flags", &s->flags)) ||
        (rc = opt_count(c, doc, "droppedAttributesCount", &s->dropped_attrs)) ||
        (rc = opt_count(c, doc, "droppedEventsCount", &s->dropped_events)) ||
        (rc = opt_count(c, doc, "droppedLinksCount", &s->dropped_links)) || (rc = os_status(c, doc, s)) ||
        (rc = opt_object(c, doc, "instrumentationScope", &scope_obj)))
        return rc;
    if (dur && !json_is_null(dur) && (!json_is_integer(dur) || json_integer_value(dur) < 0))
        return jdom_fail(d, TC_ERR_INPUT, "durationInNanos", "expected a non-negative integer");
    if (!has_end && json_is_integer(dur)) {
        uint64_t ns = (uint64_t)json_integer_value(dur);
        if (ns > UINT64_MAX - s->start_ns)
            return jdom_fail(d, TC_ERR_INPUT, "durationInNanos", "end time out of range");
        s->end_ns = s->start_ns + ns;
    }
    if (kind && !json_is_null(kind)) {
        if (!json_is_string(kind))
            return jdom_fail(d, TC_ERR_INPUT, "kind", "expected a string");
        int k = trace_kind_parse(json_string_value(kind), json_string_length(kind));
        if (k < 0)
            return jdom_fail(d, TC_ERR_INPUT, "kind", "unknown span kind \"%.32s\"", json_string_value(kind));
        s->kind = (uint8_t)k;
    }
    alist span, res, scope;
    if ((rc = os_attrs(c, doc, scope_obj, &span, &res, &scope)) ||
        (rc = os_scope(c, doc, scope_obj, &scope, s)) || (rc = make_resource(c, &res, &s->resource)) ||
        (rc = os_events(c, doc, s)) || (rc = os_links(c, doc, s)))
        return rc;
    s->attrs = span.a;
    s->n_attrs = span.n;
    return trace_set_add_span(d->ts, s, d->e);
}

int opensearch_json_decode(trace_set *ts, const char *buf, size_t len, search_page *page, tc_error *e)
{
    return decode_search(ts, buf, len, page, e, os_doc);
}

/* ---- Elastic APM: transaction and span documents ---- */

/* A member by dotted path, nested ({"span": {"db": {...}}}), flat
 * ({"span.db.statement": ...}) or mixed; NULL when absent or null. */
static const json_t *es_get(const json_t *obj, const char *path)
{
    if (!json_is_object(obj))
        return NULL;
    const json_t *v = json_object_get(obj, path);
    if (v)
        return json_is_null(v) ? NULL : v;
    for (const char *dot = strchr(path, '.'); dot; dot = strchr(dot + 1, '.')) {
        const json_t *child = json_object_getn(obj, path, (size_t)(dot - path));
        if (child && (v = es_get(child, dot + 1)))
            return v;
    }
    return NULL;
}

static int es_str(sctx *c, const json_t *doc, const char *path, const char **out)
{
    const json_t *v = es_get(doc, path);
    *out = "";
    if (!v)
        return 0;
    if (!json_is_string(v))
        return jdom_fail(&c->d, TC_ERR_INPUT, path, "expected a string");
    return jdom_str(&c->d, v, path, out);
}

static int es_id(sctx *c, const json_t *doc, const char *path, uint8_t *out, size_t n, bool required)
{
    const json_t *v = es_get(doc, path);
    uint8_t id[TRACE_ID_LEN];
    if (!v) {
        if (required)
            return jdom_fail(&c->d, TC_ERR_INPUT, NULL, "missing %s", path);
        return 0;
    }
    if (jdom_hex_id(v, id, n))
        return jdom_fail(&c->d, TC_ERR_INPUT, path, "expected a string of 1 to %zu hex digits", 2 * n);
    if (required && jdom_is_zero(id, n))
        return jdom_fail(&c->d, TC_ERR_INPUT, path, "id is all zeros");
    memcpy(out, id, n);
    return 0;
}

static int es_micros(sctx *c, const json_t *doc, const char *path, uint64_t *ns, bool *present)
{
    const json_t *v = es_get(doc, path);
    *present = v != NULL;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return jdom_fail(&c->d, TC_ERR_INPUT, path, "expected a non-negative integer (microseconds)");
    uint64_t us = (uint64_t)json_integer_value(v);
    if (us > UINT64_MAX / 1000)
        return jdom_fail(&c->d, TC_ERR_INPUT, path, "time out of range");
    *ns = us * 1000;
    return 0;
}

enum { ES_TX = 1, ES_SPAN = 2, ES_ANY = 3 };

/* Resource attributes: Elastic's own field names. */
static const char *const es_res_fields[] = {
    "service.name", "service.version", "service.environment", "service.node.name", "service.language.name",
    "agent.name",   "agent.version",   "host.hostname",       "host.name",         "container.id",
};

/* Span attributes: the first field present of `from` becomes `key`. */
static const struct {
    const char *key;
    int docs;
    const char *from[3];
} es_span_fields[] = {
    {"transaction.type", ES_TX, {"transaction.type"}},
    {"transaction.result", ES_TX, {"transaction.result"}},
    {"span.type", ES_SPAN, {"span.type"}},
    {"span.subtype", ES_SPAN, {"span.subtype"}},
    {"span.action", ES_SPAN, {"span.action"}},
    {"event.outcome", ES_ANY, {"event.outcome"}},
    {"http.method", ES_ANY, {"http.request.method", "span.http.method"}},
    {"http.status_code", ES_ANY, {"http.response.status_code", "span.http.response.status_code"}},
    {"http.url", ES_ANY, {"url.full", "url.original", "span.http.url.original"}},
    {"db.statement", ES_SPAN, {"span.db.statement"}},
    {"db.name", ES_SPAN, {"span.db.instance"}},
    {"db.user", ES_SPAN, {"span.db.user.name"}},
    {"span.destination.service.resource", ES_SPAN, {"span.destination.service.resource"}},
    {"net.peer.name", ES_SPAN, {"destination.address"}},
    {"net.peer.port", ES_SPAN, {"destination.port"}},
    {"messaging.destination.name", ES_SPAN, {"span.message.queue.name"}},
};

#define ES_SPAN_FIELDS (sizeof es_span_fields / sizeof es_span_fields[0])
#define ES_EXTRA_ATTRS 1 /* db.system */

/* labels.K and numeric_labels.K, typed as the JSON value. */
static int es_labels(sctx *c, const json_t *doc, const char *field, alist *l)
{
    const json_t *obj = es_get(doc, field);
    if (!obj)
        return 0;
    if (!json_is_object(obj))
        return jdom_fail(&c->d, TC_ERR_INPUT, field, "expected an object");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        char f[96];
        snprintf(f, sizeof f, "%s.%.60s", field, key);
        size_t klen = strlen(field) + 1 + strlen(key);
        char *k = arena_alloc(c->d.a, klen + 1);
        if (!k)
            return jdom_fail(&c->d, TC_ERR_NOMEM, f, "out of memory");
        snprintf(k, klen + 1, "%s.%s", field, key);
        int rc = add_attr(c, l, k, klen, false, val, f);
        if (rc)
            return rc;
    }
    return 0;
}

static size_t es_size(const json_t *doc, const char *field)
{
    const json_t *o = es_get(doc, field);
    return json_is_object(o) ? json_object_size(o) : 0;
}

static trace_kind es_kind(bool tx, const char *tx_type, const char *span_type)
{
    if (tx)
        return strcmp(tx_type, "messaging") == 0 ? TRACE_KIND_CONSUMER : TRACE_KIND_SERVER;
    size_t n = strcspn(span_type, ".");
    if ((n == 8 && strncmp(span_type, "external", 8) == 0) || (n == 2 && strncmp(span_type, "db", 2) == 0) ||
        (n == 9 && strncmp(span_type, "messaging", 9) == 0))
        return TRACE_KIND_CLIENT;
    return TRACE_KIND_INTERNAL;
}

static int es_doc(sctx *c, const json_t *doc)
{
    jdom_ctx *d = &c->d;
    const char *event, *tx_type, *span_type, *subtype, *outcome;
    int rc = es_str(c, doc, "processor.event", &event);
    if (rc)
        return rc;
    bool tx = strcmp(event, "transaction") == 0;
    if (!*event) /* no processor.event: a span has span.name or span.duration */
        tx = !es_get(doc, "span.name") && !es_get(doc, "span.duration.us");
    else if (!tx && strcmp(event, "span") != 0)
        return 0; /* an error, metric or log document */
    trace_span *s = arena_calloc(d->a, 1, sizeof *s);
    if (!s)
        return jdom_fail(d, TC_ERR_NOMEM, NULL, "out of memory");
    uint64_t dur = 0;
    bool has_ts, has_dur;
    if ((rc = es_id(c, doc, "trace.id", s->trace_id, TRACE_ID_LEN, true)) ||
        (rc = es_id(c, doc, tx ? "transaction.id" : "span.id", s->span_id, SPAN_ID_LEN, true)) ||
        (rc = es_id(c, doc, "parent.id", s->parent_id, SPAN_ID_LEN, false)) ||
        (!tx && !es_get(doc, "parent.id") &&
         (rc = es_id(c, doc, "transaction.id", s->parent_id, SPAN_ID_LEN, false))) ||
        (rc = es_str(c, doc, tx ? "transaction.name" : "span.name", &s->name)) ||
        (rc = es_micros(c, doc, "timestamp.us", &s->start_ns, &has_ts)) ||
        (rc = es_micros(c, doc, tx ? "transaction.duration.us" : "span.duration.us", &dur, &has_dur)) ||
        (rc = es_str(c, doc, "transaction.type", &tx_type)) ||
        (rc = es_str(c, doc, "span.type", &span_type)) || (rc = es_str(c, doc, "span.subtype", &subtype)) ||
        (rc = es_str(c, doc, "event.outcome", &outcome)))
        return rc;
    if (!has_ts && (rc = time_value(c, es_get(doc, "@timestamp"), "@timestamp", &s->start_ns, &has_ts)))
        return rc;
    if (dur > UINT64_MAX - s->start_ns)
        return jdom_fail(d, TC_ERR_INPUT, tx ? "transaction.duration.us" : "span.duration.us",
                         "end time out of range");
    s->end_ns = s->start_ns + dur;
    if (memcmp(s->parent_id, s->span_id, SPAN_ID_LEN) == 0)
        memset(s->parent_id, 0, SPAN_ID_LEN);
    s->kind = (uint8_t)es_kind(tx, tx_type, span_type);
    const json_t *sk = tx ? NULL : es_get(doc, "span.kind");
    int k = json_is_string(sk) ? trace_kind_parse(json_string_value(sk), json_string_length(sk)) : -1;
    if (k > 0)
        s->kind = (uint8_t)k;
    s->status_code = strcmp(outcome, "failure") == 0   ? TRACE_STATUS_ERROR
                     : strcmp(outcome, "success") == 0 ? TRACE_STATUS_OK
                                                       : TRACE_STATUS_UNSET;

    alist res, span;
    size_t n_res = sizeof es_res_fields / sizeof es_res_fields[0];
    if ((rc = alist_init(c, &res, n_res, "service")) ||
        (rc = alist_init(c, &span,
                         ES_SPAN_FIELDS + ES_EXTRA_ATTRS + es_size(doc, "labels") +
                             es_size(doc, "numeric_labels"),
                         "labels")))
        return rc;
    for (size_t i = 0; i < n_res; i++)
        if ((rc = add_attr(c, &res, es_res_fields[i], strlen(es_res_fields[i]), false,
                           es_get(doc, es_res_fields[i]), es_res_fields[i])))
            return rc;
    for (size_t i = 0; i < ES_SPAN_FIELDS; i++) {
        if (!(es_span_fields[i].docs & (tx ? ES_TX : ES_SPAN)))
            continue;
        for (int j = 0; j < 3 && es_span_fields[i].from[j]; j++) {
            const json_t *v = es_get(doc, es_span_fields[i].from[j]);
            if (!v)
                continue;
            if ((rc = add_attr(c, &span, es_span_fields[i].key, strlen(es_span_fields[i].key), false, v,
                               es_span_fields[i].from[j])))
                return rc;
            break;
        }
    }
    if (!tx && *subtype && strcspn(span_type, ".") == 2 && strncmp(span_type, "db", 2) == 0)
        jdom_put(span.a, &span.n, "db.system", jdom_string_value(subtype));
    if ((rc = es_labels(c, doc, "labels", &span)) || (rc = es_labels(c, doc, "numeric_labels", &span)) ||
        (rc = make_resource(c, &res, &s->resource)))
        return rc;
    s->attrs = span.a;
    s->n_attrs = span.n;
    s->scope = trace_set_empty_scope(d->ts);
    return trace_set_add_span(d->ts, s, d->e);
}

int elasticapm_json_decode(trace_set *ts, const char *buf, size_t len, search_page *page, tc_error *e)
{
    return decode_search(ts, buf, len, page, e, es_doc);
}

/* ---- request bodies ---- */

/* Checks a body's parameters: the trace id in lower case into id[33], and
 * after (when not NULL) re-encoded compactly into *text (caller frees). */
static int body_params(const char *trace_id_hex, uint32_t n, const char *after, char *id, char **text)
{
    *text = NULL;
    if (!trace_id_hex || strlen(trace_id_hex) != 2 * TRACE_ID_LEN || n == 0 || n > SEARCH_MAX_PAGE)
        return TC_ERR_INPUT;
    for (size_t i = 0; i < 2 * TRACE_ID_LEN; i++) {
        char ch = trace_id_hex[i];
        if (ch >= 'A' && ch <= 'F')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return TC_ERR_INPUT;
        id[i] = ch;
    }
    id[2 * TRACE_ID_LEN] = '\0';
    if (!after)
        return 0;
    json_error_t je;
    json_t *a = json_loads(after, 0, &je);
    if (!json_is_array(a)) {
        json_decref(a);
        return TC_ERR_INPUT;
    }
    *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return *text ? 0 : TC_ERR_NOMEM;
}

/* Appends the search_after member (when there is one) and the closing brace. */
static int body_end(int rc, char *text, tc_buf *out)
{
    if (!rc && text)
        rc = buf_printf(out, ",\"search_after\":%s", text);
    if (!rc)
        rc = buf_putc(out, '}');
    free(text);
    return rc;
}

int opensearch_search_body(const char *trace_id_hex, uint32_t n, const char *after, tc_buf *out)
{
    char id[2 * TRACE_ID_LEN + 1], *text;
    int rc = body_params(trace_id_hex, n, after, id, &text);
    if (rc)
        return rc;
    rc = buf_printf(out,
                    "{\"size\":%u,\"track_total_hits\":true,\"query\":{\"term\":{\"traceId\":\"%s\"}},"
                    "\"sort\":[{\"startTime\":\"asc\"},{\"spanId\":\"asc\"}]",
                    n, id);
    return body_end(rc, text, out);
}

int elasticapm_search_body(const char *trace_id_hex, uint32_t n, const char *after, tc_buf *out)
{
    char id[2 * TRACE_ID_LEN + 1], *text;
    int rc = body_params(trace_id_hex, n, after, id, &text);
    if (rc)
        return rc;
    rc = buf_printf(out,
                    "{\"size\":%u,\"track_total_hits\":true,\"query\":{\"bool\":{\"filter\":["
                    "{\"term\":{\"trace.id\":\"%s\"}},"
                    "{\"terms\":{\"processor.event\":[\"transaction\",\"span\"]}}]}},"
                    "\"sort\":[{\"timestamp.us\":\"asc\"},"
                    "{\"span.id\":{\"order\":\"asc\",\"missing\":\"_first\",\"unmapped_type\":\"keyword\"}},"
                    "{\"transaction.id\":{\"order\":\"asc\",\"missing\":\"_first\","
                    "\"unmapped_type\":\"keyword\"}}]",
                    n, id);
    return body_end(rc, text, out);
}
