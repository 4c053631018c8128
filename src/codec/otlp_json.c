/* otlp_json.c - OTLP JSON (the OTLP/HTTP JSON mapping and the variants real
 * producers send) to and from the trace model. Decoding is streaming: a
 * yajl event parser drives a small state machine that builds spans directly
 * in the trace set's arena, with no document tree. */
#include "codec/codec.h"
#include "codec/limits.h"
#include "codec/strshare.h"

#include <yajl/yajl_parse.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Field names                                                         */
/* ------------------------------------------------------------------ */

/* Every field name the decoder knows. Lookup is exact first, then ignoring
 * case and underscores, so snake_case (trace_id) matches lowerCamelCase. */
enum field {
    K_UNKNOWN = 0,
    K_RESOURCE_SPANS,
    K_BATCHES,
    K_TRACE,
    K_RESULT,
    K_RESOURCE,
    K_SCOPE_SPANS,
    K_IL_SPANS,
    K_SCOPE,
    K_IL,
    K_SPANS,
    K_SCHEMA_URL,
    K_ATTRIBUTES,
    K_DROPPED_ATTRS,
    K_NAME,
    K_VERSION,
    K_TRACE_ID,
    K_SPAN_ID,
    K_PARENT_SPAN_ID,
    K_TRACE_STATE,
    K_KIND,
    K_START,
    K_END,
    K_EVENTS,
    K_DROPPED_EVENTS,
    K_LINKS,
    K_DROPPED_LINKS,
    K_STATUS,
    K_FLAGS,
    K_CODE,
    K_MESSAGE,
    K_TIME,
    K_KEY,
    K_VALUE,
    K_STRING_VALUE,
    K_BOOL_VALUE,
    K_INT_VALUE,
    K_DOUBLE_VALUE,
    K_BYTES_VALUE,
    K_ARRAY_VALUE,
    K_KVLIST_VALUE,
    K_VALUES,
};

typedef struct fname {
    const char *name;
    unsigned char len;
    unsigned char id;
} fname;

#define F(s, id) {s, sizeof(s) - 1, id}
static const fname top_fields[] = {F("resourceSpans", K_RESOURCE_SPANS), F("batches", K_BATCHES),
                                   F("trace", K_TRACE), F("result", K_RESULT), {NULL, 0, 0}};
static const fname rs_fields[] = {F("resource", K_RESOURCE), F("scopeSpans", K_SCOPE_SPANS),
                                  F("instrumentationLibrarySpans", K_IL_SPANS),
                                  F("schemaUrl", K_SCHEMA_URL), {NULL, 0, 0}};
static const fname res_fields[] = {F("attributes", K_ATTRIBUTES),
                                   F("droppedAttributesCount", K_DROPPED_ATTRS), {NULL, 0, 0}};
static const fname ss_fields[] = {F("spans", K_SPANS), F("scope", K_SCOPE),
                                  F("instrumentationLibrary", K_IL), F("schemaUrl", K_SCHEMA_URL),
                                  {NULL, 0, 0}};
static const fname scope_fields[] = {F("name", K_NAME), F("version", K_VERSION),
                                     F("attributes", K_ATTRIBUTES),
                                     F("droppedAttributesCount", K_DROPPED_ATTRS), {NULL, 0, 0}};
static const fname span_fields[] = {
    F("traceId", K_TRACE_ID),           F("spanId", K_SPAN_ID),
    F("parentSpanId", K_PARENT_SPAN_ID), F("name", K_NAME),
    F("kind", K_KIND),                  F("startTimeUnixNano", K_START),
    F("endTimeUnixNano", K_END),        F("attributes", K_ATTRIBUTES),
    F("status", K_STATUS),              F("events", K_EVENTS),
    F("links", K_LINKS),                F("flags", K_FLAGS),
    F("traceState", K_TRACE_STATE),     F("droppedAttributesCount", K_DROPPED_ATTRS),
    F("droppedEventsCount", K_DROPPED_EVENTS), F("droppedLinksCount", K_DROPPED_LINKS),
    {NULL, 0, 0}};
static const fname status_fields[] = {F("code", K_CODE), F("message", K_MESSAGE), {NULL, 0, 0}};
static const fname event_fields[] = {F("timeUnixNano", K_TIME), F("name", K_NAME),
                                     F("attributes", K_ATTRIBUTES),
                                     F("droppedAttributesCount", K_DROPPED_ATTRS), {NULL, 0, 0}};
static const fname link_fields[] = {F("traceId", K_TRACE_ID), F("spanId", K_SPAN_ID),
                                    F("traceState", K_TRACE_STATE), F("attributes", K_ATTRIBUTES),
                                    F("flags", K_FLAGS),
                                    F("droppedAttributesCount", K_DROPPED_ATTRS), {NULL, 0, 0}};
static const fname kv_fields[] = {F("key", K_KEY), F("value", K_VALUE), {NULL, 0, 0}};
static const fname any_fields[] = {
    F("stringValue", K_STRING_VALUE), F("intValue", K_INT_VALUE),
    F("boolValue", K_BOOL_VALUE),     F("doubleValue", K_DOUBLE_VALUE),
    F("arrayValue", K_ARRAY_VALUE),   F("kvlistValue", K_KVLIST_VALUE),
    F("bytesValue", K_BYTES_VALUE),   {NULL, 0, 0}};
static const fname values_fields[] = {F("values", K_VALUES), {NULL, 0, 0}};
#undef F

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Equal ignoring ASCII case and underscores. */
static int loose_equal(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < an && a[i] == '_')
            i++;
        while (j < bn && b[j] == '_')
            j++;
        if (i == an || j == bn)
            return i == an && j == bn;
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[j]))
            return 0;
        i++;
        j++;
    }
}

static int field_lookup(const fname *t, const char *s, size_t n)
{
    for (const fname *f = t; f->name; f++)
        if (f->len == n && f->name[0] == s[0] && memcmp(f->name, s, n) == 0)
            return f->id;
    for (const fname *f = t; f->name; f++)
        if (loose_equal(f->name, f->len, s, n))
            return f->id;
    return K_UNKNOWN;
}

/* ------------------------------------------------------------------ */
/* Decoder state                                                       */
/* ------------------------------------------------------------------ */

/* What the innermost open JSON container is. */
enum ftype {
    T_ROOT = 0, /* before the top-level value */
    T_TOP,      /* {resourceSpans | batches | trace | result} */
    T_RS_ARRAY,
    T_RS,
    T_RESOURCE,
    T_SS_ARRAY,
    T_SS,
    T_SCOPE,
    T_SPAN_ARRAY,
    T_SPAN,
    T_STATUS,
    T_EVENT_ARRAY,
    T_EVENT,
    T_LINK_ARRAY,
    T_LINK,
    T_ATTR_ARRAY, /* attributes, or the values of a kvlistValue */
    T_KV,
    T_ANY,        /* an AnyValue object */
    T_ARRVAL,     /* {values: [...]} of an arrayValue */
    T_KVLVAL,     /* {values: [...]} of a kvlistValue */
    T_VAL_ARRAY,  /* the values of an arrayValue */
    T_SKIP,       /* an unknown field's subtree */
};

static const char *const frame_names[] = {
    [T_ROOT] = "document",      [T_TOP] = "document",       [T_RS_ARRAY] = "resourceSpans",
    [T_RS] = "resourceSpans",   [T_RESOURCE] = "resource",  [T_SS_ARRAY] = "scopeSpans",
    [T_SS] = "scopeSpans",      [T_SCOPE] = "scope",        [T_SPAN_ARRAY] = "spans",
    [T_SPAN] = "span",          [T_STATUS] = "span.status", [T_EVENT_ARRAY] = "events",
    [T_EVENT] = "event",        [T_LINK_ARRAY] = "links",   [T_LINK] = "link",
    [T_ATTR_ARRAY] = "attributes", [T_KV] = "attribute",    [T_ANY] = "value",
    [T_ARRVAL] = "arrayValue",  [T_KVLVAL] = "kvlistValue", [T_VAL_ARRAY] = "arrayValue.values",
    [T_SKIP] = "",
};

typedef struct frame {
    unsigned char type;  /* enum ftype */
    unsigned char field; /* for objects: the field whose value comes next */
    unsigned char owner; /* for attribute arrays: enum ftype of the owner */
    uint32_t base;       /* for arrays: first scratch slot of this array */
    tc_attr kv;          /* T_KV: the attribute being built (key NULL until seen) */
    tc_value v;          /* T_ANY / T_ARRVAL / T_KVLVAL: the value being built */
} frame;

#define MAX_FRAMES (CODEC_MAX_JSON_DEPTH + 2)

typedef struct scratch {
    void *p;
    uint32_t n, cap;
} scratch;

/* Attribute keys repeat from span to span: a small two-way cache of the
 * copies made so far lets equal keys share one copy (evaluation then
 * recognises a key by its address). */
#define KEY_SLOTS 1024

typedef struct dec {
    strshare_slot keys[KEY_SLOTS];
    trace_set *ts;
    arena *a;
    tc_error *e;
    int rc;        /* error code once a callback failed */
    int depth;     /* open frames (frames[0] is T_ROOT) */
    int vdepth;    /* open AnyValue objects */
    frame frames[MAX_FRAMES];

    trace_resource *res; /* of the open resourceSpans entry */
    trace_scope *scope;  /* of the open scopeSpans entry */
    trace_span *span;    /* the open span */
    trace_event ev;      /* the open event */
    trace_link link;     /* the open link */
    unsigned char span_seen; /* bit 1: traceId, bit 2: spanId */
    unsigned char link_seen;

    scratch attrs;  /* tc_attr of the open attribute arrays, nested */
    scratch vals;   /* tc_value of the open array values, nested */
    scratch events; /* trace_event of the open span */
    scratch links;  /* trace_link of the open span */

    const char *key; /* last field name, as written (for messages) */
    size_t key_len;
    yajl_handle h;
    size_t span_off; /* offset of the open span's '{' */
    size_t link_off; /* offset of the open link's '{' */
    size_t err_off;  /* where a failure points; (size_t)-1: the current token */
} dec;

static frame *top(dec *d)
{
    return &d->frames[d->depth - 1];
}

/* Grows a scratch vector to hold one more element of size sz. */
static void *scratch_push(dec *d, scratch *s, size_t sz)
{
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 64;
        void *p = realloc(s->p, (size_t)cap * sz);
        if (!p) {
            d->rc = tc_error_set(d->e, TC_ERR_NOMEM, "out of memory");
            return NULL;
        }
        s->p = p;
        s->cap = cap;
    }
    return (char *)s->p + (size_t)s->n++ * sz;
}

/* Copies scratch elements [base, n) to the arena and pops them. */
static void *scratch_pop(dec *d, scratch *s, uint32_t base, size_t sz, uint32_t *count)
{
    uint32_t n = s->n - base;
    *count = n;
    s->n = base;
    if (!n)
        return NULL;
    void *p = arena_alloc(d->a, (size_t)n * sz);
    if (!p) {
        d->rc = tc_error_set(d->e, TC_ERR_NOMEM, "out of memory (trace arena full)");
        return NULL;
    }
    memcpy(p, (char *)s->p + (size_t)base * sz, (size_t)n * sz);
    return p;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* What a JSON token looked like, for "got ..." in messages. */
typedef struct got {
    int kind; /* 0 string, 1 number, 2 bool, 3 object, 4 array */
    const char *s;
    size_t n;
} got;

static void got_text(char *out, size_t cap, const got *g)
{
    switch (g->kind) {
    case 3:
        snprintf(out, cap, "an object");
        return;
    case 4:
        snprintf(out, cap, "an array");
        return;
    default:
        break;
    }
    size_t o = 0, max = 40;
    if (g->kind == 0)
        out[o++] = '"';
    for (size_t i = 0; i < g->n && o + 8 < cap; i++) {
        if (i == max) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)g->s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    if (g->kind == 0)
        out[o++] = '"';
    out[o] = '\0';
}

/* The name of the object holding the current field, for messages. */
static void where(dec *d, char *out, size_t cap)
{
    frame *f = top(d);
    if (f->type == T_ANY && d->depth >= 2 && d->frames[d->depth - 2].type == T_KV &&
        d->frames[d->depth - 2].kv.key) {
        const tc_attr *kv = &d->frames[d->depth - 2].kv;
        snprintf(out, cap, "attribute \"%.*s\"", (int)(kv->key_len > 60 ? 60 : kv->key_len),
                 kv->key);
        return;
    }
    snprintf(out, cap, "%s", frame_names[f->type]);
}

/* Fails the current field: "<object>.<field>: expected <what>, got <got>". */
static int fail_field(dec *d, int code, const char *what, const got *g)
{
    char w[96], gt[64];
    where(d, w, sizeof w);
    got_text(gt, sizeof gt, g);
    if (top(d)->type == T_VAL_ARRAY || top(d)->type == T_ATTR_ARRAY ||
        top(d)->type == T_RS_ARRAY || top(d)->type == T_SS_ARRAY ||
        top(d)->type == T_SPAN_ARRAY || top(d)->type == T_EVENT_ARRAY ||
        top(d)->type == T_LINK_ARRAY || top(d)->type == T_ROOT)
        d->rc = tc_error_set(d->e, code, "%s: expected %s, got %s", w, what, gt);
    else
        d->rc = tc_error_set(d->e, code, "%s.%.*s: expected %s, got %s", w,
                             (int)(d->key_len > 60 ? 60 : d->key_len), d->key, what, gt);
    return 0;
}

static int fail(dec *d, int code, const char *fmt, const char *arg)
{
    d->rc = tc_error_set(d->e, code, fmt, arg);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Scalars                                                             */
/* ------------------------------------------------------------------ */

static const char *dupstr(dec *d, const char *s, size_t n)
{
    char *p = arena_alloc(d->a, n + 1);
    if (!p) {
        d->rc = tc_error_set(d->e, TC_ERR_NOMEM, "out of memory (trace arena full)");
        return NULL;
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* dupstr for an attribute key, sharing the copy of an equal key. */
static const char *dupkey(dec *d, const char *s, size_t n)
{
    if (n > STRSHARE_MAX)
        return dupstr(d, s, n);
    strshare_slot *put;
    const char *c = strshare_find(d->keys, KEY_SLOTS, s, n, &put);
    if (!c && (c = dupstr(d, s, n)))
        strshare_put(put, c, n);
    return c;
}

/* Parses an unsigned decimal (no sign, no fraction). 0 or -1. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i] - '0';
        if (c > 9)
            return -1;
        if (v > (UINT64_MAX - c) / 10)
            return -1;
        v = v * 10 + c;
    }
    *out = v;
    return 0;
}

static int parse_i64(const char *s, size_t n, int64_t *out)
{
    int neg = n > 0 && s[0] == '-';
    uint64_t u;
    if (parse_u64(s + neg, n - (size_t)neg, &u))
        return -1;
    if (neg) {
        if (u > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = (int64_t)(0 - u);
    } else {
        if (u > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)u;
    }
    return 0;
}

static int parse_double(const char *s, size_t n, double *out)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (strcmp(tmp, "NaN") == 0) {
        *out = NAN;
        return 0;
    }
    if (strcmp(tmp, "Infinity") == 0 || strcmp(tmp, "+Infinity") == 0) {
        *out = INFINITY;
        return 0;
    }
    if (strcmp(tmp, "-Infinity") == 0) {
        *out = -INFINITY;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end != tmp + n || tmp[0] == ' ' || (errno == ERANGE && isinf(v)))
        return -1;
    /* strtod also takes "inf", "nan", hex floats: only JSON numbers here */
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", tmp[i]))
            return -1;
    *out = v;
    return 0;
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f')))
            return 0;
    }
    return 1;
}

/* Decodes an id of n bytes given as 2n hex digits or base64. 0 or -1. */
static int parse_id(const char *s, size_t len, uint8_t *out, size_t n)
{
    if (len == 2 * n && is_hex(s, len))
        return hex_decode(s, len, out, n);
    uint8_t tmp[TRACE_ID_LEN];
    if (len > 4 * n)
        return -1;
    long got_n = base64_decode(s, len, tmp, sizeof tmp);
    if (got_n != (long)n)
        return -1;
    memcpy(out, tmp, n);
    return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* An id field: traceId / spanId / parentSpanId of a span or a link. */
static int set_id(dec *d, uint8_t *dst, size_t n, int may_be_empty, const got *g)
{
    if (g->kind != 0 && g->kind != 1) {
        char what[64];
        snprintf(what, sizeof what, "%zu hex digits or base64 of %zu bytes", 2 * n, n);
        return fail_field(d, TC_ERR_INPUT, what, g);
    }
    if (g->n == 0 && may_be_empty) {
        memset(dst, 0, n);
        return 1;
    }
    if (g->kind != 0 || parse_id(g->s, g->n, dst, n)) {
        char what[64];
        snprintf(what, sizeof what, "%zu hex digits or base64 of %zu bytes", 2 * n, n);
        return fail_field(d, TC_ERR_INPUT, what, g);
    }
    if (!may_be_empty && all_zero(dst, n))
        return fail_field(d, TC_ERR_INPUT, "a non-zero id", g);
    return 1;
}

static int set_u64(dec *d, uint64_t *dst, const got *g)
{
    if ((g->kind == 0 || g->kind == 1) && parse_u64(g->s, g->n, dst) == 0)
        return 1;
    return fail_field(d, TC_ERR_INPUT, "an unsigned 64-bit integer", g);
}

static int set_u32(dec *d, uint32_t *dst, const got *g)
{
    uint64_t v;
    if ((g->kind == 0 || g->kind == 1) && parse_u64(g->s, g->n, &v) == 0 && v <= UINT32_MAX) {
        *dst = (uint32_t)v;
        return 1;
    }
    return fail_field(d, TC_ERR_INPUT, "an unsigned 32-bit integer", g);
}

static int set_str(dec *d, const char **dst, const got *g)
{
    if (g->kind != 0)
        return fail_field(d, TC_ERR_INPUT, "a string", g);
    const char *s = dupstr(d, g->s, g->n);
    if (!s)
        return 0;
    *dst = s;
    return 1;
}

/* kind / status code: a number or an enum name. */
static int set_enum(dec *d, uint8_t *dst, const got *g, int is_kind)
{
    uint64_t v;
    int r = -1;
    if (g->kind == 1 && parse_u64(g->s, g->n, &v) == 0)
        r = v <= (is_kind ? 5u : 2u) ? (int)v : -1;
    else if (g->kind == 0)
        r = is_kind ? trace_kind_parse(g->s, g->n) : trace_status_parse(g->s, g->n);
    if (r < 0)
        return fail_field(d, TC_ERR_INPUT,
                          is_kind ? "a span kind (0-5 or SPAN_KIND_...)"
                                  : "a status code (0-2 or STATUS_CODE_...)",
                          g);
    *dst = (uint8_t)r;
    return 1;
}

/* A scalar (or null: kind -1) arrives for the current field of the top frame. */
static int on_scalar(dec *d, const got *g)
{
    frame *f = top(d);
    int k = f->field;
    if (g->kind < 0) /* null: as absent */
        return 1;
    switch (f->type) {
    case T_ROOT:
        return fail_field(d, TC_ERR_INPUT, "a JSON object", g);
    case T_TOP:
    case T_RS:
    case T_SS:
        if (k == K_SCHEMA_URL && f->type == T_RS)
            return set_str(d, &d->res->schema_url, g);
        if (k == K_SCHEMA_URL && f->type == T_SS)
            return set_str(d, &d->scope->schema_url, g);
        if (k == K_UNKNOWN)
            return 1;
        return fail_field(d, TC_ERR_INPUT,
                          k == K_RESOURCE || k == K_SCOPE || k == K_IL || k == K_TRACE ||
                                  k == K_RESULT
                              ? "an object"
                              : "an array",
                          g);
    case T_RESOURCE:
        if (k == K_DROPPED_ATTRS)
            return set_u32(d, &d->res->dropped_attrs, g);
        if (k == K_ATTRIBUTES)
            return fail_field(d, TC_ERR_INPUT, "an array", g);
        return 1;
    case T_SCOPE:
        switch (k) {
        case K_NAME:
            return set_str(d, &d->scope->name, g);
        case K_VERSION:
            return set_str(d, &d->scope->version, g);
        case K_DROPPED_ATTRS:
            return set_u32(d, &d->scope->dropped_attrs, g);
        case K_ATTRIBUTES:
            return fail_field(d, TC_ERR_INPUT, "an array", g);
        }
        return 1;
    case T_SPAN: {
        trace_span *sp = d->span;
        switch (k) {
        case K_TRACE_ID:
            d->span_seen |= 1;
            return set_id(d, sp->trace_id, TRACE_ID_LEN, 0, g);
        case K_SPAN_ID:
            d->span_seen |= 2;
            return set_id(d, sp->span_id, SPAN_ID_LEN, 0, g);
        case K_PARENT_SPAN_ID:
            return set_id(d, sp->parent_id, SPAN_ID_LEN, 1, g);
        case K_NAME:
            return set_str(d, &sp->name, g);
        case K_TRACE_STATE:
            return set_str(d, &sp->trace_state, g);
        case K_KIND:
            return set_enum(d, &sp->kind, g, 1);
        case K_START:
            return set_u64(d, &sp->start_ns, g);
        case K_END:
            return set_u64(d, &sp->end_ns, g);
        case K_FLAGS:
            return set_u32(d, &sp->flags, g);
        case K_DROPPED_ATTRS:
            return set_u32(d, &sp->dropped_attrs, g);
        case K_DROPPED_EVENTS:
            return set_u32(d, &sp->dropped_events, g);
        case K_DROPPED_LINKS:
            return set_u32(d, &sp->dropped_links, g);
        case K_ATTRIBUTES:
        case K_EVENTS:
        case K_LINKS:
            return fail_field(d, TC_ERR_INPUT, "an array", g);
        case K_STATUS:
            return fail_field(d, TC_ERR_INPUT, "an object", g);
        }
        return 1;
    }
    case T_STATUS:
        if (k == K_CODE)
            return set_enum(d, &d->span->status_code, g, 0);
        if (k == K_MESSAGE)
            return set_str(d, &d->span->status_message, g);
        return 1;
    case T_EVENT:
        switch (k) {
        case K_TIME:
            return set_u64(d, &d->ev.time_ns, g);
        case K_NAME:
            return set_str(d, &d->ev.name, g);
        case K_DROPPED_ATTRS:
            return set_u32(d, &d->ev.dropped_attrs, g);
        case K_ATTRIBUTES:
            return fail_field(d, TC_ERR_INPUT, "an array", g);
        }
        return 1;
    case T_LINK:
        switch (k) {
        case K_TRACE_ID:
            d->link_seen |= 1;
            return set_id(d, d->link.trace_id, TRACE_ID_LEN, 0, g);
        case K_SPAN_ID:
            d->link_seen |= 2;
            return set_id(d, d->link.span_id, SPAN_ID_LEN, 0, g);
        case K_TRACE_STATE:
            return set_str(d, &d->link.trace_state, g);
        case K_FLAGS:
            return set_u32(d, &d->link.flags, g);
        case K_DROPPED_ATTRS:
            return set_u32(d, &d->link.dropped_attrs, g);
        case K_ATTRIBUTES:
            return fail_field(d, TC_ERR_INPUT, "an array", g);
        }
        return 1;
    case T_KV:
        if (k == K_KEY) {
            if (g->kind != 0)
                return fail_field(d, TC_ERR_INPUT, "a string", g);
            const char *s = dupkey(d, g->s, g->n);
            if (!s)
                return 0;
            f->kv.key = s;
            f->kv.key_len = (uint32_t)g->n;
            return 1;
        }
        if (k == K_VALUE)
            return fail_field(d, TC_ERR_INPUT, "an object (AnyValue)", g);
        return 1;
    case T_ANY: {
        tc_value *v = &f->v;
        switch (k) {
        case K_STRING_VALUE:
            if (g->kind != 0)
                return fail_field(d, TC_ERR_INPUT, "a string", g);
            v->u.str = dupstr(d, g->s, g->n);
            if (!v->u.str)
                return 0;
            v->type = TC_V_STRING;
            v->len = (uint32_t)g->n;
            return 1;
        case K_INT_VALUE:
            if ((g->kind != 0 && g->kind != 1) || parse_i64(g->s, g->n, &v->u.i))
                return fail_field(d, TC_ERR_INPUT, "a 64-bit integer", g);
            v->type = TC_V_INT;
            v->len = 0;
            return 1;
        case K_DOUBLE_VALUE:
            if ((g->kind != 0 && g->kind != 1) || parse_double(g->s, g->n, &v->u.d))
                return fail_field(d, TC_ERR_INPUT, "a number", g);
            v->type = TC_V_DOUBLE;
            v->len = 0;
            return 1;
        case K_BOOL_VALUE:
            if (g->kind == 2 || (g->kind == 0 && (g->n == 4 || g->n == 5) &&
                                 (memcmp(g->s, "true", g->n) == 0 ||
                                  memcmp(g->s, "false", g->n) == 0))) {
                v->type = TC_V_BOOL;
                v->len = 0;
                v->u.b = g->s[0] == 't';
                return 1;
            }
            return fail_field(d, TC_ERR_INPUT, "a boolean", g);
        case K_BYTES_VALUE: {
            if (g->kind != 0)
                return fail_field(d, TC_ERR_INPUT, "a base64 string", g);
            size_t cap = g->n / 4 * 3 + 3;
            uint8_t *p = arena_alloc(d->a, cap + 1);
            if (!p) {
                d->rc = tc_error_set(d->e, TC_ERR_NOMEM, "out of memory (trace arena full)");
                return 0;
            }
            long n = base64_decode(g->s, g->n, p, cap);
            if (n < 0)
                return fail_field(d, TC_ERR_INPUT, "a base64 string", g);
            p[n] = 0;
            v->type = TC_V_BYTES;
            v->len = (uint32_t)n;
            v->u.bytes = p;
            return 1;
        }
        case K_ARRAY_VALUE:
        case K_KVLIST_VALUE:
            return fail_field(d, TC_ERR_INPUT, "an object", g);
        }
        return 1;
    }
    case T_ARRVAL:
    case T_KVLVAL:
        if (k == K_VALUES)
            return fail_field(d, TC_ERR_INPUT, "an array", g);
        return 1;
    case T_RS_ARRAY:
    case T_SS_ARRAY:
    case T_SPAN_ARRAY:
    case T_EVENT_ARRAY:
    case T_LINK_ARRAY:
    case T_ATTR_ARRAY:
    case T_VAL_ARRAY:
        return fail_field(d, TC_ERR_INPUT, "an object", g);
    case T_SKIP:
        return 1;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Containers                                                          */
/* ------------------------------------------------------------------ */

static frame *push(dec *d, int type)
{
    if (d->depth >= MAX_FRAMES - 1) {
        d->rc = tc_error_set(d->e, TC_ERR_LIMIT, "JSON nesting deeper than %d",
                             CODEC_MAX_JSON_DEPTH);
        return NULL;
    }
    frame *f = &d->frames[d->depth++];
    f->type = (unsigned char)type;
    f->field = K_UNKNOWN;
    return f;
}

static frame *push_array(dec *d, int type, scratch *s)
{
    frame *f = push(d, type);
    if (f)
        f->base = s ? s->n : 0;
    return f;
}

/* Opens an AnyValue object. */
static int open_any(dec *d)
{
    if (d->vdepth >= CODEC_MAX_DEPTH)
        return fail(d, TC_ERR_LIMIT, "attribute value nesting deeper than %s", "32");
    frame *f = push(d, T_ANY);
    if (!f)
        return 0;
    d->vdepth++;
    memset(&f->v, 0, sizeof f->v);
    return 1;
}

static int open_attrs(dec *d, int owner)
{
    frame *f = push_array(d, T_ATTR_ARRAY, &d->attrs);
    if (!f)
        return 0;
    f->owner = (unsigned char)owner;
    return 1;
}

/* A container starts (is_array) as the value of the top frame's field. */
static int on_open(dec *d, int is_array)
{
    frame *f = top(d);
    int k = f->field;
    got g = {is_array ? 4 : 3, NULL, 0};
    if (f->type == T_SKIP)
        return push(d, T_SKIP) != NULL;
#define WANT_ARRAY() \
    if (!is_array)   \
    return fail_field(d, TC_ERR_INPUT, "an array", &g)
#define WANT_OBJECT() \
    if (is_array)     \
    return fail_field(d, TC_ERR_INPUT, "an object", &g)
    switch (f->type) {
    case T_ROOT:
        if (is_array)
            return fail_field(d, TC_ERR_INPUT, "a JSON object", &g);
        return push(d, T_TOP) != NULL;
    case T_TOP:
        if (k == K_RESOURCE_SPANS || k == K_BATCHES) {
            WANT_ARRAY();
            return push(d, T_RS_ARRAY) != NULL;
        }
        if (k == K_TRACE || k == K_RESULT) {
            WANT_OBJECT();
            return push(d, T_TOP) != NULL;
        }
        break;
    case T_RS_ARRAY: {
        WANT_OBJECT();
        trace_resource *r = arena_calloc(d->a, 1, sizeof *r);
        if (!r)
            return fail(d, TC_ERR_NOMEM, "%s", "out of memory (trace arena full)");
        d->res = r;
        return push(d, T_RS) != NULL;
    }
    case T_RS:
        if (k == K_RESOURCE) {
            WANT_OBJECT();
            return push(d, T_RESOURCE) != NULL;
        }
        if (k == K_SCOPE_SPANS || k == K_IL_SPANS) {
            WANT_ARRAY();
            return push(d, T_SS_ARRAY) != NULL;
        }
        break;
    case T_RESOURCE:
    case T_SCOPE:
    case T_EVENT:
    case T_LINK:
        if (k == K_ATTRIBUTES) {
            WANT_ARRAY();
            return open_attrs(d, f->type);
        }
        break;
    case T_SS_ARRAY: {
        WANT_OBJECT();
        trace_scope *s = arena_calloc(d->a, 1, sizeof *s);
        if (!s)
            return fail(d, TC_ERR_NOMEM, "%s", "out of memory (trace arena full)");
        s->name = s->version = "";
        d->scope = s;
        return push(d, T_SS) != NULL;
    }
    case T_SS:
        if (k == K_SCOPE || k == K_IL) {
            WANT_OBJECT();
            return push(d, T_SCOPE) != NULL;
        }
        if (k == K_SPANS) {
            WANT_ARRAY();
            return push(d, T_SPAN_ARRAY) != NULL;
        }
        break;
    case T_SPAN_ARRAY: {
        WANT_OBJECT();
        trace_span *sp = arena_calloc(d->a, 1, sizeof *sp);
        if (!sp)
            return fail(d, TC_ERR_NOMEM, "%s", "out of memory (trace arena full)");
        sp->resource = d->res;
        sp->scope = d->scope;
        d->span = sp;
        d->span_seen = 0;
        d->span_off = yajl_get_bytes_consumed(d->h) - 1;
        return push(d, T_SPAN) != NULL;
    }
    case T_SPAN:
        switch (k) {
        case K_ATTRIBUTES:
            WANT_ARRAY();
            return open_attrs(d, T_SPAN);
        case K_EVENTS:
            WANT_ARRAY();
            return push_array(d, T_EVENT_ARRAY, &d->events) != NULL;
        case K_LINKS:
            WANT_ARRAY();
            return push_array(d, T_LINK_ARRAY, &d->links) != NULL;
        case K_STATUS:
            WANT_OBJECT();
            return push(d, T_STATUS) != NULL;
        }
        break;
    case T_EVENT_ARRAY:
        WANT_OBJECT();
        if (d->events.n >= CODEC_MAX_EVENTS)
            return fail(d, TC_ERR_LIMIT, "span.events: more than %s events", "65536");
        memset(&d->ev, 0, sizeof d->ev);
        return push(d, T_EVENT) != NULL;
    case T_LINK_ARRAY:
        WANT_OBJECT();
        if (d->links.n >= CODEC_MAX_LINKS)
            return fail(d, TC_ERR_LIMIT, "span.links: more than %s links", "65536");
        memset(&d->link, 0, sizeof d->link);
        d->link_seen = 0;
        d->link_off = yajl_get_bytes_consumed(d->h) - 1;
        return push(d, T_LINK) != NULL;
    case T_ATTR_ARRAY: {
        WANT_OBJECT();
        uint32_t max = f->owner == T_KVLVAL ? CODEC_MAX_ITEMS : CODEC_MAX_ATTRS;
        if (d->attrs.n - f->base >= max) {
            char m[64];
            snprintf(m, sizeof m, "%u", max);
            return fail(d, TC_ERR_LIMIT,
                        f->owner == T_KVLVAL ? "kvlistValue: more than %s items"
                                             : "attributes: more than %s attributes",
                        m);
        }
        frame *n = push(d, T_KV);
        if (!n)
            return 0;
        memset(&n->kv, 0, sizeof n->kv);
        return 1;
    }
    case T_KV:
        if (k == K_VALUE) {
            WANT_OBJECT();
            return open_any(d);
        }
        break;
    case T_ANY:
        if (k == K_ARRAY_VALUE || k == K_KVLIST_VALUE) {
            WANT_OBJECT();
            frame *n = push(d, k == K_ARRAY_VALUE ? T_ARRVAL : T_KVLVAL);
            if (!n)
                return 0;
            memset(&n->v, 0, sizeof n->v);
            n->v.type = k == K_ARRAY_VALUE ? TC_V_ARRAY : TC_V_KVLIST;
            return 1;
        }
        if (k != K_UNKNOWN) {
            const char *want = "a string";
            if (k == K_INT_VALUE)
                want = "a 64-bit integer";
            else if (k == K_DOUBLE_VALUE)
                want = "a number";
            else if (k == K_BOOL_VALUE)
                want = "a boolean";
            else if (k == K_BYTES_VALUE)
                want = "a base64 string";
            return fail_field(d, TC_ERR_INPUT, want, &g);
        }
        break;
    case T_ARRVAL:
        if (k == K_VALUES) {
            WANT_ARRAY();
            return push_array(d, T_VAL_ARRAY, &d->vals) != NULL;
        }
        break;
    case T_KVLVAL:
        if (k == K_VALUES) {
            WANT_ARRAY();
            return open_attrs(d, T_KVLVAL);
        }
        break;
    case T_VAL_ARRAY:
        WANT_OBJECT();
        if (d->vals.n - f->base >= CODEC_MAX_ITEMS)
            return fail(d, TC_ERR_LIMIT, "arrayValue: more than %s items", "1048576");
        return open_any(d);
    case T_STATUS:
    case T_SKIP:
        break;
    }
#undef WANT_ARRAY
#undef WANT_OBJECT
    if (k != K_UNKNOWN && f->type != T_STATUS) {
        /* a known scalar field holding a container */
        return on_scalar(d, &g);
    }
    if (f->type == T_STATUS && k != K_UNKNOWN)
        return fail_field(d, TC_ERR_INPUT, k == K_CODE ? "a status code" : "a string", &g);
    return push(d, T_SKIP) != NULL;
}

/* Hands a finished attribute array to its owner (the frame below it). */
static int close_attrs(dec *d, frame *f)
{
    uint32_t n;
    tc_attr *a = scratch_pop(d, &d->attrs, f->base, sizeof(tc_attr), &n);
    if (n && !a)
        return 0;
    frame *o = &d->frames[d->depth - 1]; /* already popped: the owner */
    switch (o->type) {
    case T_RESOURCE:
        d->res->attrs = a;
        d->res->n_attrs = n;
        break;
    case T_SCOPE:
        d->scope->attrs = a;
        d->scope->n_attrs = n;
        break;
    case T_SPAN:
        d->span->attrs = a;
        d->span->n_attrs = n;
        break;
    case T_EVENT:
        d->ev.attrs = a;
        d->ev.n_attrs = n;
        break;
    case T_LINK:
        d->link.attrs = a;
        d->link.n_attrs = n;
        break;
    case T_KVLVAL:
        o->v.u.kv = a;
        o->v.len = n;
        break;
    }
    return 1;
}

/* The top container ends. */
static int on_close(dec *d)
{
    frame *f = &d->frames[--d->depth];
    frame *o = top(d); /* the container it belongs to */
    switch (f->type) {
    case T_SPAN: {
        d->err_off = d->span_off;
        if (!(d->span_seen & 1))
            return fail(d, TC_ERR_INPUT, "span: missing %s", "traceId");
        if (!(d->span_seen & 2))
            return fail(d, TC_ERR_INPUT, "span: missing %s", "spanId");
        d->err_off = (size_t)-1;
        int rc = trace_set_add_span(d->ts, d->span, d->e);
        if (rc) {
            d->rc = rc;
            return 0;
        }
        d->span = NULL;
        return 1;
    }
    case T_EVENT_ARRAY: {
        uint32_t n;
        trace_event *ev = scratch_pop(d, &d->events, f->base, sizeof *ev, &n);
        if (n && !ev)
            return 0;
        d->span->events = ev;
        d->span->n_events = n;
        return 1;
    }
    case T_LINK_ARRAY: {
        uint32_t n;
        trace_link *l = scratch_pop(d, &d->links, f->base, sizeof *l, &n);
        if (n && !l)
            return 0;
        d->span->links = l;
        d->span->n_links = n;
        return 1;
    }
    case T_EVENT: {
        if (!d->ev.name)
            d->ev.name = "";
        trace_event *p = scratch_push(d, &d->events, sizeof *p);
        if (!p)
            return 0;
        *p = d->ev;
        return 1;
    }
    case T_LINK: {
        d->err_off = d->link_off;
        if (!(d->link_seen & 1))
            return fail(d, TC_ERR_INPUT, "link: missing %s", "traceId");
        if (!(d->link_seen & 2))
            return fail(d, TC_ERR_INPUT, "link: missing %s", "spanId");
        d->err_off = (size_t)-1;
        if (!d->link.trace_state)
            d->link.trace_state = "";
        trace_link *p = scratch_push(d, &d->links, sizeof *p);
        if (!p)
            return 0;
        *p = d->link;
        return 1;
    }
    case T_ATTR_ARRAY:
        return close_attrs(d, f);
    case T_KV: {
        if (!f->kv.key) {
            f->kv.key = "";
            f->kv.key_len = 0;
        }
        tc_attr *p = scratch_push(d, &d->attrs, sizeof *p);
        if (!p)
            return 0;
        *p = f->kv;
        return 1;
    }
    case T_ANY:
        d->vdepth--;
        if (o->type == T_KV) {
            o->kv.value = f->v;
        } else { /* T_VAL_ARRAY */
            tc_value *p = scratch_push(d, &d->vals, sizeof *p);
            if (!p)
                return 0;
            *p = f->v;
        }
        return 1;
    case T_ARRVAL:
    case T_KVLVAL:
        o->v = f->v; /* o is the T_ANY */
        return 1;
    case T_VAL_ARRAY: {
        uint32_t n;
        tc_value *v = scratch_pop(d, &d->vals, f->base, sizeof *v, &n);
        if (n && !v)
            return 0;
        o->v.u.arr = v;
        o->v.len = n;
        return 1;
    }
    default:
        return 1;
    }
}

/* ------------------------------------------------------------------ */
/* yajl callbacks                                                      */
/* ------------------------------------------------------------------ */

static int cb_null(void *ctx)
{
    got g = {-1, "null", 4};
    return on_scalar(ctx, &g);
}

static int cb_bool(void *ctx, int b)
{
    got g = {2, b ? "true" : "false", b ? 4u : 5u};
    return on_scalar(ctx, &g);
}

static int cb_number(void *ctx, const char *s, size_t n)
{
    got g = {1, s, n};
    return on_scalar(ctx, &g);
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
    dec *d = ctx;
    if (n > CODEC_MAX_STRING)
        return fail(d, TC_ERR_LIMIT, "string longer than %s bytes", "67108864");
    got g = {0, (const char *)s, n};
    return on_scalar(d, &g);
}

static int cb_start_map(void *ctx)
{
    return on_open(ctx, 0);
}

static int cb_start_array(void *ctx)
{
    return on_open(ctx, 1);
}

static int cb_end(void *ctx)
{
    return on_close(ctx);
}

static const fname *const frame_fields[T_SKIP + 1] = {
    [T_TOP] = top_fields,     [T_RS] = rs_fields,       [T_RESOURCE] = res_fields,
    [T_SS] = ss_fields,       [T_SCOPE] = scope_fields, [T_SPAN] = span_fields,
    [T_STATUS] = status_fields, [T_EVENT] = event_fields, [T_LINK] = link_fields,
    [T_KV] = kv_fields,       [T_ANY] = any_fields,     [T_ARRVAL] = values_fields,
    [T_KVLVAL] = values_fields,
};

static int cb_map_key(void *ctx, const unsigned char *s, size_t n)
{
    dec *d = ctx;
    frame *f = top(d);
    d->key = (const char *)s;
    d->key_len = n;
    if (f->type == T_SKIP)
        return 1;
    const fname *t = frame_fields[f->type];
    f->field = t ? (unsigned char)field_lookup(t, (const char *)s, n) : K_UNKNOWN;
    return 1;
}

static const yajl_callbacks callbacks = {
    cb_null, cb_bool, NULL, NULL, cb_number, cb_string, cb_start_map, cb_map_key, cb_end,
    cb_start_array, cb_end,
};

/* Copies yajl's error text as one line without trailing white space. */
static void yajl_message(yajl_handle h, const char *buf, size_t len, tc_error *e, size_t off)
{
    unsigned char *m = yajl_get_error(h, 0, (const unsigned char *)buf, len);
    char tmp[TC_ERROR_MSG_MAX];
    snprintf(tmp, sizeof tmp, "%s", m ? (const char *)m : "JSON parse error");
    if (m)
        yajl_free_error(h, m);
    for (char *p = tmp; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    size_t n = strlen(tmp);
    while (n && (tmp[n - 1] == ' ' || tmp[n - 1] == '.'))
        tmp[--n] = '\0';
    tc_error_at(e, TC_ERR_INPUT, off, "%s", tmp);
}

/* The start of the token that ends just before `end` (a string, number,
 * literal or bracket), so errors point at the offending value. */
static size_t token_start(const char *buf, size_t end)
{
    if (end == 0)
        return 0;
    size_t i = end - 1;
    if (buf[i] == '"') {
        while (i > 0) {
            i--;
            if (buf[i] != '"')
                continue;
            size_t bs = 0;
            while (i >= bs + 1 && buf[i - bs - 1] == '\\')
                bs++;
            if (bs % 2 == 0)
                return i;
        }
        return i;
    }
    if (buf[i] == '{' || buf[i] == '[' || buf[i] == '}' || buf[i] == ']')
        return i;
    while (i > 0 && buf[i - 1] && strchr("0123456789+-.eEtrufalsn", buf[i - 1]))
        i--;
    return i;
}

int otlp_json_decode(trace_set *ts, const char *buf, size_t len, tc_error *e)
{
    if (len > CODEC_MAX_BODY)
        return tc_error_set(e, TC_ERR_LIMIT, "body larger than %zu bytes", CODEC_MAX_BODY);
    dec *d = calloc(1, sizeof *d);
    if (!d)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    tc_error scratch_err;
    d->ts = ts;
    d->a = trace_set_arena(ts);
    d->e = &scratch_err;
    d->depth = 1;
    d->frames[0].type = T_ROOT;
    d->err_off = (size_t)-1;
    int rc = 0;
    yajl_handle h = yajl_alloc(&callbacks, NULL, d);
    if (!h) {
        free(d);
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    }
    d->h = h;
    yajl_status st = yajl_parse(h, (const unsigned char *)buf, len);
    size_t off = yajl_get_bytes_consumed(h);
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
        off = len;
    } else if (st == yajl_status_error && off > 0) {
        off--; /* yajl counts the offending byte as consumed */
    }
    if (st == yajl_status_client_canceled || d->rc) {
        rc = d->rc ? d->rc : TC_ERR_INPUT;
        if (e) {
            *e = scratch_err;
            e->offset = d->err_off != (size_t)-1 ? d->err_off : token_start(buf, off);
            tc_error_locate(e, buf, len);
        }
    } else if (st != yajl_status_ok) {
        rc = TC_ERR_INPUT;
        if (e) {
            yajl_message(h, buf, len, e, off);
            tc_error_locate(e, buf, len);
        }
    }
    yajl_free(h);
    free(d->attrs.p);
    free(d->vals.p);
    free(d->events.p);
    free(d->links.p);
    free(d);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Encoder                                                             */
/* ------------------------------------------------------------------ */

/* Appends an unsigned decimal, quoted when `quote` (int64 per the mapping). */
static void put_u64(tc_buf *b, uint64_t v, int quote)
{
    char tmp[24], *p = tmp + sizeof tmp;
    if (quote)
        *--p = '"';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (quote)
        *--p = '"';
    buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

static void put_i64(tc_buf *b, int64_t v)
{
    if (v < 0) {
        buf_puts(b, "\"-");
        put_u64(b, 0 - (uint64_t)v, 0);
        buf_putc(b, '"');
    } else {
        put_u64(b, (uint64_t)v, 1);
    }
}

/* Shortest text that reads back as the same double; NaN and infinities as
 * the strings the mapping uses. */
static void put_double(tc_buf *b, double v)
{
    if (isnan(v)) {
        buf_puts(b, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        buf_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    buf_puts(b, tmp);
}

static void put_str(tc_buf *b, const char *s)
{
    buf_json_string(b, s, strlen(s));
}

static void put_id(tc_buf *b, const uint8_t *id, size_t n)
{
    char hex[2 * TRACE_ID_LEN + 3];
    hex[0] = '"';
    hex_encode(id, n, hex + 1);
    hex[2 * n + 1] = '"';
    buf_append(b, hex, 2 * n + 2);
}

static void put_attrs(tc_buf *b, const tc_attr *a, uint32_t n, int depth);

static void put_value(tc_buf *b, const tc_value *v, int depth)
{
    if (depth > 2 * CODEC_MAX_DEPTH + 64) {
        b->failed = true; /* deeper than any decoder produces */
        return;
    }
    switch ((tc_vtype)v->type) {
    case TC_V_STRING:
        buf_puts(b, "{\"stringValue\":");
        buf_json_string(b, v->u.str, v->len);
        break;
    case TC_V_BOOL:
        buf_puts(b, v->u.b ? "{\"boolValue\":true" : "{\"boolValue\":false");
        break;
    case TC_V_INT:
        buf_puts(b, "{\"intValue\":");
        put_i64(b, v->u.i);
        break;
    case TC_V_DOUBLE:
        buf_puts(b, "{\"doubleValue\":");
        put_double(b, v->u.d);
        break;
    case TC_V_BYTES:
        buf_puts(b, "{\"bytesValue\":\"");
        base64_encode(b, v->u.bytes, v->len);
        buf_putc(b, '"');
        break;
    case TC_V_ARRAY:
        buf_puts(b, "{\"arrayValue\":{\"values\":[");
        for (uint32_t i = 0; i < v->len; i++) {
            if (i)
                buf_putc(b, ',');
            put_value(b, &v->u.arr[i], depth + 1);
        }
        buf_puts(b, "]}");
        break;
    case TC_V_KVLIST:
        buf_puts(b, "{\"kvlistValue\":{\"values\":");
        put_attrs(b, v->u.kv, v->len, depth + 1);
        buf_putc(b, '}');
        break;
    default:
        buf_putc(b, '{');
        break;
    }
    buf_putc(b, '}');
}

static void put_attrs(tc_buf *b, const tc_attr *a, uint32_t n, int depth)
{
    buf_putc(b, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            buf_putc(b, ',');
        buf_puts(b, "{\"key\":");
        buf_json_string(b, a[i].key, a[i].key_len);
        buf_puts(b, ",\"value\":");
        put_value(b, &a[i].value, depth);
        buf_putc(b, '}');
    }
    buf_putc(b, ']');
}

/* ,"attributes":[...] and ,"droppedAttributesCount":N when not empty. */
static void put_attr_fields(tc_buf *b, const tc_attr *a, uint32_t n, uint32_t dropped)
{
    if (n) {
        buf_puts(b, ",\"attributes\":");
        put_attrs(b, a, n, 0);
    }
    if (dropped) {
        buf_puts(b, ",\"droppedAttributesCount\":");
        put_u64(b, dropped, 0);
    }
}

static void put_span(tc_buf *b, const trace_span *sp)
{
    buf_puts(b, "{\"traceId\":");
    put_id(b, sp->trace_id, TRACE_ID_LEN);
    buf_puts(b, ",\"spanId\":");
    put_id(b, sp->span_id, SPAN_ID_LEN);
    if (trace_span_has_parent(sp)) {
        buf_puts(b, ",\"parentSpanId\":");
        put_id(b, sp->parent_id, SPAN_ID_LEN);
    }
    if (*sp->trace_state) {
        buf_puts(b, ",\"traceState\":");
        put_str(b, sp->trace_state);
    }
    if (sp->flags) {
        buf_puts(b, ",\"flags\":");
        put_u64(b, sp->flags, 0);
    }
    buf_puts(b, ",\"name\":");
    put_str(b, sp->name);
    buf_puts(b, ",\"kind\":");
    put_u64(b, sp->kind, 0);
    buf_puts(b, ",\"startTimeUnixNano\":");
    put_u64(b, sp->start_ns, 1);
    buf_puts(b, ",\"endTimeUnixNano\":");
    put_u64(b, sp->end_ns, 1);
    put_attr_fields(b, sp->attrs, sp->n_attrs, sp->dropped_attrs);
    if (sp->n_events) {
        buf_puts(b, ",\"events\":[");
        for (uint32_t i = 0; i < sp->n_events; i++) {
            const trace_event *ev = &sp->events[i];
            buf_puts(b, i ? ",{\"timeUnixNano\":" : "{\"timeUnixNano\":");
            put_u64(b, ev->time_ns, 1);
            buf_puts(b, ",\"name\":");
            put_str(b, ev->name ? ev->name : "");
            put_attr_fields(b, ev->attrs, ev->n_attrs, ev->dropped_attrs);
            buf_putc(b, '}');
        }
        buf_putc(b, ']');
    }
    if (sp->dropped_events) {
        buf_puts(b, ",\"droppedEventsCount\":");
        put_u64(b, sp->dropped_events, 0);
    }
    if (sp->n_links) {
        buf_puts(b, ",\"links\":[");
        for (uint32_t i = 0; i < sp->n_links; i++) {
            const trace_link *l = &sp->links[i];
            buf_puts(b, i ? ",{\"traceId\":" : "{\"traceId\":");
            put_id(b, l->trace_id, TRACE_ID_LEN);
            buf_puts(b, ",\"spanId\":");
            put_id(b, l->span_id, SPAN_ID_LEN);
            if (l->trace_state && *l->trace_state) {
                buf_puts(b, ",\"traceState\":");
                put_str(b, l->trace_state);
            }
            if (l->flags) {
                buf_puts(b, ",\"flags\":");
                put_u64(b, l->flags, 0);
            }
            put_attr_fields(b, l->attrs, l->n_attrs, l->dropped_attrs);
            buf_putc(b, '}');
        }
        buf_putc(b, ']');
    }
    if (sp->dropped_links) {
        buf_puts(b, ",\"droppedLinksCount\":");
        put_u64(b, sp->dropped_links, 0);
    }
    buf_puts(b, ",\"status\":{");
    if (sp->status_code) {
        buf_puts(b, "\"code\":");
        put_u64(b, sp->status_code, 0);
    }
    if (*sp->status_message) {
        buf_puts(b, sp->status_code ? ",\"message\":" : "\"message\":");
        put_str(b, sp->status_message);
    }
    buf_puts(b, "}}");
}

/* A span with the first-appearance rank of its resource and scope. */
typedef struct enc_item {
    const trace_span *sp;
    uint32_t res, scope, pos;
} enc_item;

/* Open-addressing map from (pointer, tag) to a first-appearance rank. */
typedef struct enc_map {
    const void **key;
    uint32_t *tag, *val;
    size_t n_slots, count;
} enc_map;

static uint32_t enc_rank(enc_map *m, const void *p, uint32_t tag)
{
    size_t h = ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull + tag * 0x85EBCA6Bu;
    size_t i = (h ^ (h >> 29)) & (m->n_slots - 1);
    while (m->key[i]) {
        if (m->key[i] == p && m->tag[i] == tag)
            return m->val[i];
        i = (i + 1) & (m->n_slots - 1);
    }
    m->key[i] = p;
    m->tag[i] = tag;
    return m->val[i] = (uint32_t)m->count++;
}

static int enc_cmp(const void *pa, const void *pb)
{
    const enc_item *a = pa, *b = pb;
    if (a->res != b->res)
        return a->res < b->res ? -1 : 1;
    if (a->scope != b->scope)
        return a->scope < b->scope ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

int otlp_json_encode(trace_set *ts, tc_buf *out)
{
    size_t n = 0;
    for (uint32_t i = 0; i < trace_set_count(ts); i++)
        n += trace_set_at(ts, i)->n_spans;
    enc_item *items = malloc((n ? n : 1) * sizeof *items);
    enc_map m = {0};
    m.n_slots = 16;
    while (m.n_slots < 4 * n)
        m.n_slots *= 2;
    m.key = calloc(m.n_slots, sizeof *m.key);
    m.tag = calloc(m.n_slots, sizeof *m.tag);
    m.val = calloc(m.n_slots, sizeof *m.val);
    int rc = 0;
    if (!items || !m.key || !m.tag || !m.val) {
        rc = TC_ERR_NOMEM;
        goto out;
    }
    size_t k = 0;
    for (uint32_t i = 0; i < trace_set_count(ts); i++) {
        trace *t = trace_set_at(ts, i);
        for (uint32_t j = 0; j < t->n_spans; j++, k++) {
            const trace_span *sp = t->spans[j];
            items[k].sp = sp;
            items[k].pos = (uint32_t)k;
            items[k].res = enc_rank(&m, sp->resource, UINT32_MAX);
            items[k].scope = enc_rank(&m, sp->scope, items[k].res);
        }
    }
    qsort(items, n, sizeof *items, enc_cmp);
    buf_puts(out, "{\"resourceSpans\":[");
    for (size_t i = 0; i < n; i++) {
        const trace_span *sp = items[i].sp;
        int new_res = i == 0 || items[i].res != items[i - 1].res;
        int new_scope = new_res || items[i].scope != items[i - 1].scope;
        if (new_scope && i > 0)
            buf_puts(out, "]}");
        if (new_res) {
            const trace_resource *r = sp->resource;
            buf_puts(out, i ? "]},{\"resource\":{" : "{\"resource\":{");
            buf_puts(out, "\"attributes\":");
            put_attrs(out, r->attrs, r->n_attrs, 0);
            if (r->dropped_attrs) {
                buf_puts(out, ",\"droppedAttributesCount\":");
                put_u64(out, r->dropped_attrs, 0);
            }
            buf_putc(out, '}');
            if (r->schema_url && *r->schema_url) {
                buf_puts(out, ",\"schemaUrl\":");
                put_str(out, r->schema_url);
            }
            buf_puts(out, ",\"scopeSpans\":[");
        }
        if (new_scope) {
            const trace_scope *s = sp->scope;
            buf_puts(out, new_res ? "{\"scope\":{\"name\":" : ",{\"scope\":{\"name\":");
            put_str(out, s->name ? s->name : "");
            if (s->version && *s->version) {
                buf_puts(out, ",\"version\":");
                put_str(out, s->version);
            }
            put_attr_fields(out, s->attrs, s->n_attrs, s->dropped_attrs);
            buf_putc(out, '}');
            if (s->schema_url && *s->schema_url) {
                buf_puts(out, ",\"schemaUrl\":");
                put_str(out, s->schema_url);
            }
            buf_puts(out, ",\"spans\":[");
        } else {
            buf_putc(out, ',');
        }
        put_span(out, sp);
    }
    if (n)
        buf_puts(out, "]}]}");
    buf_puts(out, "]}");
    if (out->failed)
        rc = out->len + 64 >= out->max ? TC_ERR_LIMIT : TC_ERR_NOMEM;
out:
    free(items);
    free(m.key);
    free(m.tag);
    free(m.val);
    return rc;
}
