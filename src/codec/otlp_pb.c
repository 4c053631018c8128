/* otlp_pb.c - OTLP protobuf <-> trace model on protobuf-c (otlp_pb_decode,
 * otlp_pb_encode in codec.h).
 *
 * Decoding: a schema-aware wire scan first bounds the nesting of values (so
 * protobuf-c's recursive unpack cannot exhaust the stack) and reports wire
 * errors with a byte offset; then the outer levels (TracesData, ResourceSpans,
 * ScopeSpans) are walked here and protobuf-c unpacks one resource or scope
 * at a time into a small reused scratch area, from which the model copies
 * what it keeps into the set's arena. Spans, the bulk of a body, are decoded
 * from the wire straight into the model: protobuf-c's unpack and the copy
 * after it cost too much for the speed target. That hand-written wire code
 * goes against the rule of leaving a wire format to its library, so it is
 * kept narrow: whatever it is unsure of goes to the protobuf-c path, which
 * stays as the reference (otlp_pb_decode_reference), and a differential test
 * and the fuzz harness hold both to the same results. Spans are numbered from
 * 0 in body order in error messages. */
#include "codec/codec.h"
#include "codec/limits.h"
#include "codec/otlp_pb.h"
#include "codec/strshare.h"

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "opentelemetry/proto/trace/v1/trace.pb-c.h"

#include <stdio.h>
#include <string.h>

typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__ArrayValue pb_array;
typedef Opentelemetry__Proto__Common__V1__KeyValueList pb_kvlist;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Trace__V1__TracesData pb_traces;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans pb_rspans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans pb_sspans;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event pb_event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link pb_link;
typedef Opentelemetry__Proto__Trace__V1__Status pb_status;

/* ---- wire scan ---- */

typedef enum msg_kind {
    M_NONE,
    M_TRACES,
    M_RSPANS,
    M_RESOURCE,
    M_SSPANS,
    M_SCOPE,
    M_SPAN,
    M_EVENT,
    M_LINK,
    M_STATUS,
    M_KV,
    M_ANY,
    M_ARRAY,
    M_KVLIST,
} msg_kind;

static const char *const msg_names[] = {
    "", "TracesData", "ResourceSpans", "Resource", "ScopeSpans", "InstrumentationScope", "Span",
    "Span.Event", "Span.Link", "Status", "KeyValue", "AnyValue", "ArrayValue", "KeyValueList",
};

/* The message type of field f of message m, M_NONE for scalars. */
static msg_kind child_of(msg_kind m, uint32_t f)
{
    switch (m) {
    case M_TRACES: return f == 1 ? M_RSPANS : M_NONE;
    case M_RSPANS: return f == 1 ? M_RESOURCE : f == 2 ? M_SSPANS : M_NONE;
    case M_RESOURCE: return f == 1 ? M_KV : M_NONE;
    case M_SSPANS: return f == 1 ? M_SCOPE : f == 2 ? M_SPAN : M_NONE;
    case M_SCOPE: return f == 3 ? M_KV : M_NONE;
    case M_SPAN:
        return f == 9 ? M_KV : f == 11 ? M_EVENT : f == 13 ? M_LINK : f == 15 ? M_STATUS : M_NONE;
    case M_EVENT: return f == 3 ? M_KV : M_NONE;
    case M_LINK: return f == 4 ? M_KV : M_NONE;
    case M_KV: return f == 2 ? M_ANY : M_NONE;
    case M_ANY: return f == 5 ? M_ARRAY : f == 6 ? M_KVLIST : M_NONE;
    case M_ARRAY: return f == 1 ? M_ANY : M_NONE;
    case M_KVLIST: return f == 1 ? M_KV : M_NONE;
    default: return M_NONE;
    }
}

static int wire_error(tc_error *e, size_t off, const char *what)
{
    return tc_error_at(e, TC_ERR_INPUT, off, "malformed protobuf at byte %zu: %s", off, what);
}

/* Reads a varint at p[*i..n); returns -1 when truncated or too long. */
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

typedef struct scan_ctx {
    tc_error *e;
    bool spans;  /* descend into spans (else only their framing is checked) */
    bool nested; /* a Resource has a length-delimited field 2 */
} scan_ctx;

/* Checks the wire structure of message m in p[0..n) (at offset base of the
 * body), descending into the messages that can hold values; depth counts the
 * array/kvlist values around it. Sets c->nested when a Resource has a
 * length-delimited field 2: protobuf-c rejects it (field 2 is a varint), and
 * it is how a Tempo response (a ResourceSpans one level deeper) looks. */
static int scan(const uint8_t *p, size_t n, size_t base, msg_kind m, int depth, scan_ctx *c)
{
    tc_error *e = c->e;
    size_t i = 0;
    while (i < n) {
        size_t at = i;
        uint64_t tag, v;
        if (read_varint(p, n, &i, &tag))
            return wire_error(e, base + at, "truncated or overlong tag");
        uint32_t wt = (uint32_t)(tag & 7);
        uint64_t field = tag >> 3;
        if (field == 0 || field > 0x1fffffff)
            return wire_error(e, base + at, "invalid field number");
        msg_kind child = child_of(m, (uint32_t)field);
        if (child != M_NONE && wt != 2) {
            char msg[128];
            snprintf(msg, sizeof msg, "field %u of %s has wire type %u, want 2", (unsigned)field,
                     msg_names[m], wt);
            return wire_error(e, base + at, msg);
        }
        switch (wt) {
        case 0:
            if (read_varint(p, n, &i, &v))
                return wire_error(e, base + at, "truncated varint");
            break;
        case 1:
        case 5: {
            size_t w = wt == 1 ? 8 : 4;
            if (n - i < w)
                return wire_error(e, base + at, "truncated fixed-width field");
            i += w;
            break;
        }
        case 2: {
            if (read_varint(p, n, &i, &v))
                return wire_error(e, base + at, "truncated length");
            if (v > n - i) {
                char msg[128];
                snprintf(msg, sizeof msg, "length %llu of field %u runs past the end (%zu bytes left)",
                         (unsigned long long)v, (unsigned)field, n - i);
                return wire_error(e, base + at, msg);
            }
            size_t len = (size_t)v;
            if (m == M_RESOURCE && field == 2)
                c->nested = true;
            if (child != M_NONE) {
                int d = depth + (child == M_ARRAY || child == M_KVLIST);
                if (d > CODEC_MAX_DEPTH)
                    return tc_error_at(e, TC_ERR_LIMIT, base + at,
                                       "attribute value nested deeper than %d levels at byte %zu",
                                       CODEC_MAX_DEPTH, base + at);
                /* an array/kvlist level takes at least 4 bytes: a short
                 * key-value or value cannot reach the limit, so it needs no
                 * scan (protobuf-c still checks its wire form) */
                bool skip = (child >= M_KV && d + len / 4 + 1 <= CODEC_MAX_DEPTH) ||
                            (child == M_SPAN && !c->spans);
                if (!skip) {
                    int rc = scan(p + i, len, base + i, child, d, c);
                    if (rc)
                        return rc;
                }
            }
            i += len;
            break;
        }
        default: {
            char msg[64];
            snprintf(msg, sizeof msg, "invalid wire type %u", wt);
            return wire_error(e, base + at, msg);
        }
        }
    }
    return 0;
}

/* ---- memory ---- */

/* protobuf-c unpacks one message at a time (a resource, a scope or a span)
 * into a scratch area that is reset before the next one, so it stays in the
 * cache and costs no fresh pages. Its blocks are taken from the set's arena
 * once (so the arena's cap bounds them too) and reused; a message too big
 * for them gets a block of its own, kept for reuse. free is a no-op. */
#define SCRATCH_BLOCK ((size_t)64 << 10)

typedef struct scratch_block {
    struct scratch_block *next;
    size_t size; /* bytes after the header */
} scratch_block;

typedef struct scratch {
    arena *a;
    scratch_block *head, *cur;
    uint8_t *p, *end; /* free part of cur */
    bool failed;      /* an allocation failed: the arena is full */
} scratch;

_Static_assert(sizeof(scratch_block) % 8 == 0, "scratch data stays 8-aligned");

static void *scratch_slow(scratch *s, size_t size)
{
    while (s->cur && s->cur->next) {
        s->cur = s->cur->next;
        if (s->cur->size >= size) {
            uint8_t *data = (uint8_t *)(s->cur + 1);
            s->p = data + size;
            s->end = data + s->cur->size;
            return data;
        }
    }
    size_t bs = size > SCRATCH_BLOCK ? size : SCRATCH_BLOCK;
    scratch_block *b = arena_alloc(s->a, sizeof *b + bs);
    if (!b) {
        s->failed = true;
        return NULL;
    }
    b->next = NULL;
    b->size = bs;
    if (s->cur)
        s->cur->next = b;
    else
        s->head = b;
    s->cur = b;
    uint8_t *data = (uint8_t *)(b + 1);
    s->p = data + size;
    s->end = data + bs;
    return data;
}

static void *scratch_alloc(void *data, size_t size)
{
    scratch *s = data;
    if (size > SIZE_MAX / 2) {
        s->failed = true;
        return NULL;
    }
    size = (size + 7) & ~(size_t)7;
    if (size <= (size_t)(s->end - s->p)) {
        void *r = s->p;
        s->p += size;
        return r;
    }
    return scratch_slow(s, size);
}

static void scratch_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

static void scratch_reset(scratch *s)
{
    s->cur = s->head;
    if (s->head) {
        s->p = (uint8_t *)(s->head + 1);
        s->end = s->p + s->head->size;
    }
}

/* The model (spans, attribute arrays, copied strings) is bump-allocated from
 * blocks of the set's arena: cheaper than one arena_alloc each, and strings
 * need no alignment. Large pieces go to the arena directly. */
#define MODEL_BLOCK ((size_t)256 << 10)

typedef struct model_mem {
    arena *a;
    uintptr_t cur, end; /* free part of the current block */
} model_mem;

static void *model_slow(model_mem *m, size_t size)
{
    if (size >= MODEL_BLOCK / 8)
        return arena_alloc(m->a, size);
    uint8_t *b = arena_alloc(m->a, MODEL_BLOCK);
    if (!b)
        return NULL;
    m->cur = (uintptr_t)(b + size);
    m->end = (uintptr_t)(b + MODEL_BLOCK);
    return b;
}

/* size bytes aligned to align (1 or 8); NULL when the arena is full. */
static inline void *model_alloc(model_mem *m, size_t size, size_t align)
{
    uintptr_t at = (m->cur + align - 1) & ~(uintptr_t)(align - 1);
    if (size < MODEL_BLOCK / 8 && at <= m->end && size <= m->end - at) {
        m->cur = at + size;
        return (void *)at;
    }
    return model_slow(m, size);
}

/* ---- protobuf message -> model ---- */

/* Attribute keys and short values repeat from span to span: small
 * two-way caches of the copies made so far (one for keys, one for values,
 * so that values seen once do not push keys out) let equal strings share
 * one copy. */
#define KEY_CACHE 2048
#define SHARED_MAX STRSHARE_MAX /* longer strings are not shared */

typedef struct dec {
    strshare_slot keys[KEY_CACHE];
    strshare_slot vals[KEY_CACHE];
    trace_set *ts;
    model_mem mm;
    scratch sc;
    ProtobufCAllocator alloc; /* over sc */
    tc_error *e;
    const uint8_t *body; /* for byte offsets */
    uint64_t span_no;    /* spans seen so far in the body */
    uint64_t ss_no;      /* ScopeSpans seen so far (from 1) */
    int failed;          /* first conversion error (in *e); nothing converts after it */
    uint64_t failed_ss;  /* the ScopeSpans whose span failed first (0: not a span) */
    bool wire_bad;       /* protobuf-c rejects the body: only framing is checked */
    bool direct;         /* spans decoded from the wire first (else: the reference path) */
} dec;

/* Prefixes e's message with a context ("span 3: "); returns code. */
static int with_context(tc_error *e, int code, const char *fmt, unsigned long long n)
{
    if (!e)
        return code;
    char inner[TC_ERROR_MSG_MAX], pre[64];
    snprintf(inner, sizeof inner, "%s", e->msg);
    snprintf(pre, sizeof pre, fmt, n);
    size_t off = e->offset;
    tc_error_set(e, code, "%s%s", pre, inner);
    e->offset = off;
    return code;
}

static int nomem(dec *d)
{
    return tc_error_set(d->e, TC_ERR_NOMEM, "out of memory");
}

/* Copies the C string s (n bytes) into the set; "" needs no copy. */
static const char *copy_n(dec *d, const char *s, size_t n)
{
    if (n == 0)
        return "";
    char *p = model_alloc(&d->mm, n + 1, 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* *out = a copy of s ("" when NULL). 0 or TC_ERR_NOMEM. */
static int copy_str(dec *d, const char **out, const char *s)
{
    if (!s || !*s) {
        *out = "";
        return 0;
    }
    if (!(*out = copy_n(d, s, strlen(s))))
        return nomem(d);
    return 0;
}

/* Copies an attribute key or a short string value, sharing the copy of an
 * equal string seen before. */
static int copy_shared_n(dec *d, bool key, const char **out, uint32_t *len, const char *s, size_t n,
                         const char *what)
{
    if (n > CODEC_MAX_STRING)
        return tc_error_set(d->e, TC_ERR_LIMIT, "%s has %zu bytes, limit %zu", what, n,
                            CODEC_MAX_STRING);
    *len = (uint32_t)n;
    if (n > SHARED_MAX) {
        if (!(*out = copy_n(d, s, n)))
            return nomem(d);
        return 0;
    }
    strshare_slot *put;
    if ((*out = strshare_find(key ? d->keys : d->vals, KEY_CACHE, s, n, &put)))
        return 0;
    if (!(*out = copy_n(d, s, n)))
        return nomem(d);
    strshare_put(put, *out, n);
    return 0;
}

static int copy_shared(dec *d, bool key, const char **out, uint32_t *len, const char *s, const char *what)
{
    return copy_shared_n(d, key, out, len, s, strlen(s), what);
}

static int conv_kvs(dec *d, tc_attr **out, uint32_t *n_out, pb_kv *const *kvs, size_t n,
                    int depth, size_t max);

static int conv_value(dec *d, tc_value *out, const pb_any *v, int depth)
{
    memset(out, 0, sizeof *out);
    if (!v)
        return 0;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        out->type = TC_V_STRING;
        return copy_shared(d, false, &out->u.str, &out->len, v->string_value, "string value");
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        out->type = TC_V_BOOL;
        out->u.b = v->bool_value != 0;
        return 0;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        out->type = TC_V_INT;
        out->u.i = v->int_value;
        return 0;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        out->type = TC_V_DOUBLE;
        out->u.d = v->double_value;
        return 0;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE: {
        size_t n = v->bytes_value.len;
        if (n > CODEC_MAX_STRING)
            return tc_error_set(d->e, TC_ERR_LIMIT, "bytes value has %zu bytes, limit %zu", n,
                                CODEC_MAX_STRING);
        out->type = TC_V_BYTES;
        out->len = (uint32_t)n;
        out->u.bytes = (const uint8_t *)"";
        if (n) {
            uint8_t *p = model_alloc(&d->mm, n, 1);
            if (!p)
                return nomem(d);
            memcpy(p, v->bytes_value.data, n);
            out->u.bytes = p;
        }
        return 0;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
        if (depth + 1 > CODEC_MAX_DEPTH)
            return tc_error_set(d->e, TC_ERR_LIMIT, "value nested deeper than %d levels",
                                CODEC_MAX_DEPTH);
        const pb_array *arr = v->array_value;
        size_t n = arr ? arr->n_values : 0;
        if (n > CODEC_MAX_ITEMS)
            return tc_error_set(d->e, TC_ERR_LIMIT, "array of %zu items, limit %d", n,
                                CODEC_MAX_ITEMS);
        out->type = TC_V_ARRAY;
        out->len = (uint32_t)n;
        if (!n)
            return 0;
        tc_value *items = model_alloc(&d->mm, n * sizeof *items, 8);
        if (!items)
            return nomem(d);
        out->u.arr = items;
        for (size_t i = 0; i < n; i++) {
            int rc = conv_value(d, &items[i], arr->values[i], depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        if (depth + 1 > CODEC_MAX_DEPTH)
            return tc_error_set(d->e, TC_ERR_LIMIT, "value nested deeper than %d levels",
                                CODEC_MAX_DEPTH);
        const pb_kvlist *kl = v->kvlist_value;
        out->type = TC_V_KVLIST;
        if (!kl)
            return 0;
        return conv_kvs(d, &out->u.kv, &out->len, kl->values, kl->n_values, depth + 1,
                        CODEC_MAX_ITEMS);
    }
    default:
        return 0; /* not set (or a kind from a newer schema): empty */
    }
}

/* Converts n key-values (at value depth `depth`) into one model array. */
static int conv_kvs(dec *d, tc_attr **out, uint32_t *n_out, pb_kv *const *kvs, size_t n,
                    int depth, size_t max)
{
    *out = NULL;
    *n_out = 0;
    if (n > max)
        return tc_error_set(d->e, TC_ERR_LIMIT, "%zu attributes, limit %zu", n, max);
    if (!n)
        return 0;
    tc_attr *attrs = model_alloc(&d->mm, n * sizeof *attrs, 8);
    if (!attrs)
        return nomem(d);
    for (size_t i = 0; i < n; i++) {
        const pb_kv *kv = kvs[i];
        int rc = copy_shared(d, true, &attrs[i].key, &attrs[i].key_len, kv->key, "attribute key");
        if (!rc)
            rc = conv_value(d, &attrs[i].value, kv->value, depth);
        if (rc) {
            if (rc == TC_ERR_NOMEM)
                return rc;
            char key[64];
            snprintf(key, sizeof key, "%.40s%s", kv->key, strlen(kv->key) > 40 ? "..." : "");
            char inner[TC_ERROR_MSG_MAX];
            snprintf(inner, sizeof inner, "%s", d->e ? d->e->msg : "");
            return tc_error_set(d->e, rc, "attribute \"%s\": %s", key, inner);
        }
    }
    *out = attrs;
    *n_out = (uint32_t)n;
    return 0;
}

static int conv_attrs(dec *d, tc_attr **out, uint32_t *n_out, pb_kv *const *kvs, size_t n)
{
    return conv_kvs(d, out, n_out, kvs, n, 0, CODEC_MAX_ATTRS);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Checks an id field: `want` bytes, not all zero; optional ids may be empty. */
static int check_id(dec *d, const ProtobufCBinaryData *id, size_t want, const char *what,
                    bool optional)
{
    if (optional && id->len == 0)
        return 0;
    if (id->len != want)
        return tc_error_set(d->e, TC_ERR_INPUT, "%s has %zu bytes, want %zu", what, id->len, want);
    if (all_zero(id->data, want))
        return tc_error_set(d->e, TC_ERR_INPUT, "%s is all zero", what);
    return 0;
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static int conv_span(dec *d, trace_span *sp, const pb_span *s, const trace_resource *res,
                     const trace_scope *scope)
{
    int rc;
    if ((rc = check_id(d, &s->trace_id, TRACE_ID_LEN, "trace_id", false)) ||
        (rc = check_id(d, &s->span_id, SPAN_ID_LEN, "span_id", false)))
        return rc;
    if (s->parent_span_id.len != 0 && s->parent_span_id.len != SPAN_ID_LEN)
        return tc_error_set(d->e, TC_ERR_INPUT, "parent_span_id has %zu bytes, want 0 or 8",
                            s->parent_span_id.len);
    memcpy(sp->trace_id, s->trace_id.data, TRACE_ID_LEN);
    memcpy(sp->span_id, s->span_id.data, SPAN_ID_LEN);
    if (s->parent_span_id.len)
        memcpy(sp->parent_id, s->parent_span_id.data, SPAN_ID_LEN);
    if ((rc = copy_str(d, &sp->name, s->name)) ||
        (rc = copy_str(d, &sp->trace_state, s->trace_state)))
        return rc;
    sp->start_ns = s->start_time_unix_nano;
    sp->end_ns = s->end_time_unix_nano;
    sp->flags = s->flags;
    sp->kind = (unsigned)s->kind <= TRACE_KIND_CONSUMER ? (uint8_t)s->kind : 0;
    sp->status_message = "";
    if (s->status) {
        if ((rc = copy_str(d, &sp->status_message, s->status->message)))
            return rc;
        sp->status_code =
            (unsigned)s->status->code <= TRACE_STATUS_ERROR ? (uint8_t)s->status->code : 0;
    }
    sp->dropped_attrs = s->dropped_attributes_count;
    sp->dropped_events = s->dropped_events_count;
    sp->dropped_links = s->dropped_links_count;
    sp->resource = res;
    sp->scope = scope;
    if ((rc = conv_attrs(d, &sp->attrs, &sp->n_attrs, s->attributes, s->n_attributes)))
        return rc;

    if (s->n_events > CODEC_MAX_EVENTS)
        return tc_error_set(d->e, TC_ERR_LIMIT, "%zu events, limit %d", s->n_events,
                            CODEC_MAX_EVENTS);
    if (s->n_events) {
        sp->events = model_alloc(&d->mm, s->n_events * sizeof *sp->events, 8);
        if (!sp->events)
            return nomem(d);
        for (size_t i = 0; i < s->n_events; i++) {
            const pb_event *ev = s->events[i];
            trace_event *te = &sp->events[i];
            te->time_ns = ev->time_unix_nano;
            te->dropped_attrs = ev->dropped_attributes_count;
            if ((rc = copy_str(d, &te->name, ev->name)))
                return rc;
            if ((rc = conv_attrs(d, &te->attrs, &te->n_attrs, ev->attributes, ev->n_attributes)))
                return with_context(d->e, rc, "event %llu: ", i);
        }
        sp->n_events = (uint32_t)s->n_events;
    }

    if (s->n_links > CODEC_MAX_LINKS)
        return tc_error_set(d->e, TC_ERR_LIMIT, "%zu links, limit %d", s->n_links,
                            CODEC_MAX_LINKS);
    if (s->n_links) {
        sp->links = model_alloc(&d->mm, s->n_links * sizeof *sp->links, 8);
        if (!sp->links)
            return nomem(d);
        for (size_t i = 0; i < s->n_links; i++) {
            const pb_link *lk = s->links[i];
            trace_link *tl = &sp->links[i];
            if ((rc = check_id(d, &lk->trace_id, TRACE_ID_LEN, "trace_id", false)) ||
                (rc = check_id(d, &lk->span_id, SPAN_ID_LEN, "span_id", false)))
                return with_context(d->e, rc, "link %llu: ", i);
            memcpy(tl->trace_id, lk->trace_id.data, TRACE_ID_LEN);
            memcpy(tl->span_id, lk->span_id.data, SPAN_ID_LEN);
            tl->dropped_attrs = lk->dropped_attributes_count;
            tl->flags = lk->flags;
            if ((rc = copy_str(d, &tl->trace_state, lk->trace_state)))
                return rc;
            if ((rc = conv_attrs(d, &tl->attrs, &tl->n_attrs, lk->attributes, lk->n_attributes)))
                return with_context(d->e, rc, "link %llu: ", i);
        }
        sp->n_links = (uint32_t)s->n_links;
    }
    return 0;
}

/* ---- spans straight from the wire ---- */

/* Spans are decoded here from their wire bytes into the model, without
 * protobuf-c: unpacking each span into C structs and copying them again was
 * the largest cost of decoding. This is the one place that reads the wire
 * format by hand, and it only takes what it is sure of: anything protobuf-c
 * or scan() might treat otherwise (a framing error, a tag or length prefix
 * over 5 bytes, a known field with the wrong wire type, a message field or
 * oneof given twice, which protobuf-c merges, a failed check or limit, no
 * memory) makes it give up on the span (DS_BAIL), which the reference path
 * (scan, protobuf-c unpack, conv_span) then decodes, so results and errors
 * stay protobuf-c's. A differential test over test bodies and their
 * mutations, and the fuzz harness, hold the two paths equal. */
#define DS_BAIL (-1)
/* protobuf-c rejects a message of more than ~134M fields (2+ bytes each):
 * messages this long are left to it */
#define DS_MAX_MSG ((size_t)128 << 20)

typedef struct wfield {
    uint32_t num, wt;
    const uint8_t *raw, *end; /* the field after its tag */
    const uint8_t *data;      /* payload of a length-delimited field */
    size_t len;
    uint64_t v; /* value of a varint or fixed-width field */
} wfield;

/* A varint of at most max bytes, with protobuf-c's value. 0 or -1. */
static inline int wire_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out, unsigned max)
{
    const uint8_t *p = *pp;
    if (p < end && !(*p & 0x80)) {
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned k = 0; k < max && p < end; k++) {
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << (7 * k);
        if (!(b & 0x80)) {
            *out = v;
            *pp = p;
            return 0;
        }
    }
    return -1;
}

static inline uint64_t wire_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned k = n; k-- > 0;)
        v = v << 8 | p[k];
    return v;
}

/* The next field at *pp (< end): 1, 0 at the end, DS_BAIL when unsure. */
static inline int wire_next(const uint8_t **pp, const uint8_t *end, wfield *f)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return 0;
    uint64_t tag, n;
    if (wire_varint(&p, end, &tag, 5))
        return DS_BAIL;
    f->num = (uint32_t)(tag >> 3);
    f->wt = (uint32_t)(tag & 7);
    if (f->num == 0 || f->num > 0x1fffffff)
        return DS_BAIL;
    f->raw = p;
    switch (f->wt) {
    case 0:
        if (wire_varint(&p, end, &f->v, 10))
            return DS_BAIL;
        break;
    case 1:
    case 5: {
        unsigned w = f->wt == 1 ? 8 : 4;
        if ((size_t)(end - p) < w)
            return DS_BAIL;
        f->v = wire_le(p, w);
        p += w;
        break;
    }
    case 2:
        if (wire_varint(&p, end, &n, 5) || n > (uint64_t)(end - p))
            return DS_BAIL;
        f->data = p;
        f->len = (size_t)n;
        p += n;
        break;
    default:
        return DS_BAIL;
    }
    *pp = f->end = p;
    return 1;
}

/* protobuf-c's string: the bytes up to the first NUL. */
static inline size_t wire_strlen(const uint8_t *s, size_t n)
{
    const uint8_t *z = n ? memchr(s, 0, n) : NULL;
    return z ? (size_t)(z - s) : n;
}

/* *out = a copy of string field f ("" when absent). 0 or DS_BAIL. */
static int ds_str(dec *d, const char **out, const uint8_t *s, size_t n)
{
    n = s ? wire_strlen(s, n) : 0;
    if (!n) {
        *out = "";
        return 0;
    }
    return (*out = copy_n(d, (const char *)s, n)) ? 0 : DS_BAIL;
}

/* Counts the fields num of message p[0..n) (all of wire type 2) and checks
 * the framing of all of its fields. */
static int ds_count(const uint8_t *p, size_t n, uint32_t num, size_t *count)
{
    const uint8_t *end = p + n;
    wfield f;
    int r;
    size_t k = 0;
    if (n >= DS_MAX_MSG)
        return DS_BAIL;
    while ((r = wire_next(&p, end, &f)) == 1) {
        if (f.num == num) {
            if (f.wt != 2)
                return DS_BAIL;
            k++;
        }
    }
    *count = k;
    return r;
}

static int ds_kvs(dec *d, tc_attr **out, uint32_t *n_out, const uint8_t *p, size_t n,
                  uint32_t num, size_t count, int depth, size_t max);

static int ds_value(dec *d, tc_value *out, const uint8_t *p, size_t n, int depth)
{
    memset(out, 0, sizeof *out);
    if (n >= DS_MAX_MSG)
        return DS_BAIL;
    const uint8_t *end = p + n;
    wfield f, v = {0};
    int r;
    unsigned seen = 0;
    while ((r = wire_next(&p, end, &f)) == 1) {
        if (f.num > 7)
            continue;
        if (seen++)
            return DS_BAIL; /* a second member of the oneof */
        if (f.num == 3 ? f.wt != 0 : f.num == 4 ? f.wt != 1 : f.num != 2 && f.wt != 2)
            return DS_BAIL;
        v = f;
    }
    if (r || !seen)
        return r;
    size_t k;
    switch (v.num) {
    case 1:
        k = wire_strlen(v.data, v.len);
        if (k > CODEC_MAX_STRING)
            return DS_BAIL;
        out->type = TC_V_STRING;
        return copy_shared_n(d, false, &out->u.str, &out->len, (const char *)v.data, k, "string value")
                   ? DS_BAIL
                   : 0;
    case 2: /* protobuf-c: any payload bit of the field, whatever its wire type */
        out->type = TC_V_BOOL;
        for (const uint8_t *q = v.raw; q < v.end; q++)
            if (*q & 0x7f)
                out->u.b = true;
        return 0;
    case 3:
        out->type = TC_V_INT;
        out->u.i = (int64_t)v.v;
        return 0;
    case 4:
        out->type = TC_V_DOUBLE;
        memcpy(&out->u.d, &v.v, sizeof out->u.d);
        return 0;
    case 7:
        if (v.len > CODEC_MAX_STRING)
            return DS_BAIL;
        out->type = TC_V_BYTES;
        out->len = (uint32_t)v.len;
        out->u.bytes = (const uint8_t *)"";
        if (v.len) {
            uint8_t *b = model_alloc(&d->mm, v.len, 1);
            if (!b)
                return DS_BAIL;
            memcpy(b, v.data, v.len);
            out->u.bytes = b;
        }
        return 0;
    case 5: {
        if (depth + 1 > CODEC_MAX_DEPTH || ds_count(v.data, v.len, 1, &k) || k > CODEC_MAX_ITEMS)
            return DS_BAIL;
        out->type = TC_V_ARRAY;
        out->len = (uint32_t)k;
        if (!k)
            return 0;
        tc_value *items = model_alloc(&d->mm, k * sizeof *items, 8);
        if (!items)
            return DS_BAIL;
        out->u.arr = items;
        p = v.data;
        end = p + v.len;
        for (size_t i = 0; i < k && wire_next(&p, end, &f) == 1;)
            if (f.num == 1 && ds_value(d, &items[i++], f.data, f.len, depth + 1))
                return DS_BAIL;
        return 0;
    }
    case 6:
        if (depth + 1 > CODEC_MAX_DEPTH || ds_count(v.data, v.len, 1, &k))
            return DS_BAIL;
        out->type = TC_V_KVLIST;
        return ds_kvs(d, &out->u.kv, &out->len, v.data, v.len, 1, k, depth + 1, CODEC_MAX_ITEMS);
    default:
        return 0;
    }
}

static int ds_kv(dec *d, tc_attr *a, const uint8_t *p, size_t n, int depth)
{
    if (n >= DS_MAX_MSG)
        return DS_BAIL;
    const uint8_t *end = p + n, *key = (const uint8_t *)"", *val = NULL;
    size_t key_len = 0, val_len = 0;
    wfield f;
    int r;
    while ((r = wire_next(&p, end, &f)) == 1) {
        if (f.num == 1) {
            if (f.wt != 2)
                return DS_BAIL;
            key = f.data;
            key_len = f.len;
        } else if (f.num == 2) {
            if (f.wt != 2 || val)
                return DS_BAIL; /* given twice: protobuf-c merges */
            val = f.data;
            val_len = f.len;
        }
    }
    if (r)
        return r;
    key_len = wire_strlen(key, key_len);
    if (key_len > CODEC_MAX_STRING ||
        copy_shared_n(d, true, &a->key, &a->key_len, (const char *)key, key_len, "attribute key"))
        return DS_BAIL;
    if (!val) {
        memset(&a->value, 0, sizeof a->value);
        return 0;
    }
    return ds_value(d, &a->value, val, val_len, depth);
}

/* The count fields num of message p[0..n) as key-values at value depth
 * depth, into one model array. */
static int ds_kvs(dec *d, tc_attr **out, uint32_t *n_out, const uint8_t *p, size_t n,
                  uint32_t num, size_t count, int depth, size_t max)
{
    *out = NULL;
    *n_out = 0;
    if (count > max)
        return DS_BAIL;
    if (!count)
        return 0;
    tc_attr *attrs = model_alloc(&d->mm, count * sizeof *attrs, 8);
    if (!attrs)
        return DS_BAIL;
    const uint8_t *end = p + n;
    wfield f;
    for (size_t i = 0; i < count && wire_next(&p, end, &f) == 1;)
        if (f.num == num && ds_kv(d, &attrs[i++], f.data, f.len, depth))
            return DS_BAIL;
    *out = attrs;
    *n_out = (uint32_t)count;
    return 0;
}

static bool ds_id(const wfield *f, size_t want)
{
    return f->data && f->len == want && !all_zero(f->data, want);
}

static int ds_event(dec *d, trace_event *te, const uint8_t *p, size_t n)
{
    memset(te, 0, sizeof *te);
    if (n >= DS_MAX_MSG)
        return DS_BAIL;
    const uint8_t *q = p, *end = p + n, *name = NULL;
    size_t name_len = 0, n_attrs = 0;
    wfield f;
    int r;
    while ((r = wire_next(&q, end, &f)) == 1) {
        switch (f.num) {
        case 1:
            if (f.wt != 1)
                return DS_BAIL;
            te->time_ns = f.v;
            break;
        case 2:
            if (f.wt != 2)
                return DS_BAIL;
            name = f.data;
            name_len = f.len;
            break;
        case 3:
            if (f.wt != 2)
                return DS_BAIL;
            n_attrs++;
            break;
        case 4:
            if (f.wt != 0)
                return DS_BAIL;
            te->dropped_attrs = (uint32_t)f.v;
            break;
        default: break;
        }
    }
    if (r || ds_str(d, &te->name, name, name_len))
        return DS_BAIL;
    return ds_kvs(d, &te->attrs, &te->n_attrs, p, n, 3, n_attrs, 0, CODEC_MAX_ATTRS);
}

static int ds_link(dec *d, trace_link *tl, const uint8_t *p, size_t n)
{
    memset(tl, 0, sizeof *tl);
    if (n >= DS_MAX_MSG)
        return DS_BAIL;
    const uint8_t *q = p, *end = p + n;
    wfield f, tid = {0}, sid = {0}, ts = {0};
    size_t n_attrs = 0;
    int r;
    while ((r = wire_next(&q, end, &f)) == 1) {
        switch (f.num) {
        case 1:
        case 2:
        case 3:
        case 4:
            if (f.wt != 2)
                return DS_BAIL;
            if (f.num == 1)
                tid = f;
            else if (f.num == 2)
                sid = f;
            else if (f.num == 3)
                ts = f;
            else
                n_attrs++;
            break;
        case 5:
            if (f.wt != 0)
                return DS_BAIL;
            tl->dropped_attrs = (uint32_t)f.v;
            break;
        case 6:
            if (f.wt != 5)
                return DS_BAIL;
            tl->flags = (uint32_t)f.v;
            break;
        default: break;
        }
    }
    if (r || !ds_id(&tid, TRACE_ID_LEN) || !ds_id(&sid, SPAN_ID_LEN))
        return DS_BAIL;
    memcpy(tl->trace_id, tid.data, TRACE_ID_LEN);
    memcpy(tl->span_id, sid.data, SPAN_ID_LEN);
    if (ds_str(d, &tl->trace_state, ts.data, ts.len))
        return DS_BAIL;
    return ds_kvs(d, &tl->attrs, &tl->n_attrs, p, n, 4, n_attrs, 0, CODEC_MAX_ATTRS);
}

static int ds_status(dec *d, trace_span *sp, const uint8_t *p, size_t n)
{
    if (n >= DS_MAX_MSG)
        return DS_BAIL;
    const uint8_t *end = p + n, *msg = NULL;
    size_t msg_len = 0;
    uint32_t code = 0;
    wfield f;
    int r;
    while ((r = wire_next(&p, end, &f)) == 1) {
        if (f.num == 2) {
            if (f.wt != 2)
                return DS_BAIL;
            msg = f.data;
            msg_len = f.len;
        } else if (f.num == 3) {
            if (f.wt != 0)
                return DS_BAIL;
            code = (uint32_t)f.v;
        }
    }
    if (r || ds_str(d, &sp->status_message, msg, msg_len))
        return DS_BAIL;
    sp->status_code = code <= TRACE_STATUS_ERROR ? (uint8_t)code : 0;
    return 0;
}

/* Decodes span message p[0..n) into *sp (zeroed). 0, or DS_BAIL: the
 * reference path decides. */
static int ds_span(dec *d, trace_span *sp, const uint8_t *p, size_t n)
{
    if (n >= DS_MAX_MSG)
        return DS_BAIL;
    const uint8_t *q = p, *end = p + n;
    wfield f, tid = {0}, sid = {0}, pid = {0}, ts = {0}, name = {0}, st = {0};
    size_t n_attrs = 0, n_events = 0, n_links = 0;
    int r;
    while ((r = wire_next(&q, end, &f)) == 1) {
        switch (f.num) {
        case 1:
        case 2:
        case 3:
        case 4:
        case 5:
        case 9:
        case 11:
        case 13:
        case 15:
            if (f.wt != 2)
                return DS_BAIL;
            switch (f.num) {
            case 1: tid = f; break;
            case 2: sid = f; break;
            case 3: ts = f; break;
            case 4: pid = f; break;
            case 5: name = f; break;
            case 9: n_attrs++; break;
            case 11: n_events++; break;
            case 13: n_links++; break;
            default:
                if (st.data)
                    return DS_BAIL; /* given twice: protobuf-c merges */
                st = f;
                break;
            }
            break;
        case 6:
        case 10:
        case 12:
        case 14:
            if (f.wt != 0)
                return DS_BAIL;
            if (f.num == 6)
                sp->kind = (uint32_t)f.v <= TRACE_KIND_CONSUMER ? (uint8_t)f.v : 0;
            else if (f.num == 10)
                sp->dropped_attrs = (uint32_t)f.v;
            else if (f.num == 12)
                sp->dropped_events = (uint32_t)f.v;
            else
                sp->dropped_links = (uint32_t)f.v;
            break;
        case 7:
        case 8:
            if (f.wt != 1)
                return DS_BAIL;
            if (f.num == 7)
                sp->start_ns = f.v;
            else
                sp->end_ns = f.v;
            break;
        case 16:
            if (f.wt != 5)
                return DS_BAIL;
            sp->flags = (uint32_t)f.v;
            break;
        default: break;
        }
    }
    if (r || !ds_id(&tid, TRACE_ID_LEN) || !ds_id(&sid, SPAN_ID_LEN) ||
        (pid.len != 0 && pid.len != SPAN_ID_LEN))
        return DS_BAIL;
    memcpy(sp->trace_id, tid.data, TRACE_ID_LEN);
    memcpy(sp->span_id, sid.data, SPAN_ID_LEN);
    if (pid.len)
        memcpy(sp->parent_id, pid.data, SPAN_ID_LEN);
    sp->status_message = "";
    if (ds_str(d, &sp->name, name.data, name.len) ||
        ds_str(d, &sp->trace_state, ts.data, ts.len) ||
        (st.data && ds_status(d, sp, st.data, st.len)) ||
        n_events > CODEC_MAX_EVENTS || n_links > CODEC_MAX_LINKS ||
        ds_kvs(d, &sp->attrs, &sp->n_attrs, p, n, 9, n_attrs, 0, CODEC_MAX_ATTRS))
        return DS_BAIL;
    if (n_events && !(sp->events = model_alloc(&d->mm, n_events * sizeof *sp->events, 8)))
        return DS_BAIL;
    if (n_links && !(sp->links = model_alloc(&d->mm, n_links * sizeof *sp->links, 8)))
        return DS_BAIL;
    if (n_events || n_links) {
        q = p;
        while (wire_next(&q, end, &f) == 1) {
            if (f.num == 11 && ds_event(d, &sp->events[sp->n_events++], f.data, f.len))
                return DS_BAIL;
            if (f.num == 13 && ds_link(d, &sp->links[sp->n_links++], f.data, f.len))
                return DS_BAIL;
        }
    }
    return 0;
}

/* ---- walking the outer levels ---- */

/* TracesData, ResourceSpans and ScopeSpans are walked here, after scan()
 * checked their framing (and all of every resource and scope); each span is
 * scanned just before protobuf-c unpacks it, so the first framing error in
 * body order is still the one reported. protobuf-c unpacks each Resource,
 * InstrumentationScope and Span. A message field given more than once
 * merges: its occurrences are joined and unpacked as one. After the first
 * conversion error, or a message protobuf-c rejects, the rest of the body is
 * still checked without converting, so that the error reported is the one
 * a whole-body unpack gives: a framing error first, then a rejected message,
 * then the first conversion error (resource, scope, then its spans). */

typedef struct field {
    uint32_t num, wt;
    const uint8_t *data; /* payload of a length-delimited field */
    size_t len;
    bool reject; /* protobuf-c rejects it: tag or length prefix over 5 bytes */
} field;

/* Reads the next field at p[*i..n) of a message whose framing scan()
 * checked. Returns 1, or 0 at the end. */
static int next_field(const uint8_t *p, size_t n, size_t *i, field *f)
{
    if (*i >= n)
        return 0;
    size_t at = *i;
    uint64_t tag = 0, v = 0;
    (void)read_varint(p, n, i, &tag);
    f->reject = *i - at > 5;
    f->num = (uint32_t)(tag >> 3);
    f->wt = (uint32_t)(tag & 7);
    f->data = NULL;
    f->len = 0;
    switch (f->wt) {
    case 0: (void)read_varint(p, n, i, &v); break;
    case 1: *i += 8; break;
    case 5: *i += 4; break;
    default:
        at = *i;
        (void)read_varint(p, n, i, &v);
        f->reject |= *i - at > 5;
        f->data = p + *i;
        f->len = (size_t)v;
        *i += (size_t)v;
        break;
    }
    return 1;
}

/* A message field's occurrences (joined when more than one) and the last
 * schema_url of a ResourceSpans or ScopeSpans. */
typedef struct outer {
    const uint8_t *msg;
    size_t msg_len;
    unsigned msg_count;
    const uint8_t *url;
    size_t url_len;
} outer;

/* Notes field f (1: the message, 3: schema_url) of a ResourceSpans or
 * ScopeSpans; false when protobuf-c rejects it. */
static bool outer_note(outer *o, const field *f)
{
    if (f->reject)
        return false;
    if (f->num == 1) {
        if (!o->msg_count++)
            o->msg = f->data;
        o->msg_len += f->len;
    } else if (f->num == 3) {
        if (f->wt != 2)
            return false;
        o->url = f->data;
        o->url_len = f->len;
    }
    return true;
}

/* Joins the occurrences of field 1 of p[0..n) into scratch when there are
 * several. false when out of memory. */
static bool outer_join(scratch *sc, const uint8_t *p, size_t n, outer *o)
{
    if (o->msg_count < 2)
        return true;
    uint8_t *joined = scratch_alloc(sc, o->msg_len ? o->msg_len : 1);
    if (!joined)
        return false;
    size_t at = 0, i = 0;
    field f;
    while (next_field(p, n, &i, &f)) {
        if (f.num == 1) {
            memcpy(joined + at, f.data, f.len);
            at += f.len;
        }
    }
    o->msg = joined;
    return true;
}

/* protobuf-c's schema_url: the bytes up to the first NUL, copied. */
static int copy_url(dec *d, const char **out, const outer *o)
{
    *out = "";
    if (!o->url_len)
        return 0;
    const char *s = (const char *)o->url;
    size_t n = strnlen(s, o->url_len);
    char *p = model_alloc(&d->mm, n + 1, 1);
    if (!p)
        return nomem(d);
    memcpy(p, s, n);
    p[n] = '\0';
    *out = p;
    return 0;
}

/* protobuf-c rejected a message (or scratch memory ran out: the arena is
 * full, which ends the walk). */
static int reject(dec *d)
{
    if (d->sc.failed)
        return tc_error_set(d->e, TC_ERR_NOMEM, "out of memory (trace arena full)");
    d->wire_bad = true;
    return 0;
}

/* Converts (lazily, at the end of its ScopeSpans: spans point to it) a
 * scope from the unpacked pb scope (or none). */
static int conv_scope(dec *d, trace_scope *scope, const pb_scope *ps, const outer *o, size_t k)
{
    memset(scope, 0, sizeof *scope);
    scope->name = "";
    scope->version = "";
    int rc = copy_url(d, &scope->schema_url, o);
    if (rc || !ps)
        return rc;
    scope->dropped_attrs = ps->dropped_attributes_count;
    if ((rc = copy_str(d, &scope->name, ps->name)) ||
        (rc = copy_str(d, &scope->version, ps->version)))
        return rc;
    if ((rc = conv_attrs(d, &scope->attrs, &scope->n_attrs, ps->attributes, ps->n_attributes)))
        return with_context(d->e, rc, "scope %llu: ", k);
    return 0;
}

static int walk_span(dec *d, const field *f, const trace_resource *res, const trace_scope *scope,
                     uint64_t ss_no)
{
    int rc;
    if (d->direct && !d->wire_bad && !d->failed) {
        trace_span *sp = model_alloc(&d->mm, sizeof *sp, 8);
        if (sp) {
            memset(sp, 0, sizeof *sp);
            if (ds_span(d, sp, f->data, f->len) == 0) {
                sp->resource = res;
                sp->scope = scope;
                if ((rc = trace_set_add_span(d->ts, sp, d->e))) {
                    d->failed = rc;
                    d->failed_ss = ss_no;
                }
                return 0;
            }
        }
    }
    scan_ctx c = {d->e, true, false};
    rc = scan(f->data, f->len, (size_t)(f->data - d->body), M_SPAN, 0, &c);
    if (rc)
        return rc;
    if (d->wire_bad)
        return 0; /* only framing errors matter now */
    scratch_reset(&d->sc);
    pb_span *s = opentelemetry__proto__trace__v1__span__unpack(&d->alloc, f->len, f->data);
    if (!s)
        return reject(d);
    if (d->failed)
        return 0;
    trace_span *sp = model_alloc(&d->mm, sizeof *sp, 8);
    if (!sp)
        rc = nomem(d);
    else {
        memset(sp, 0, sizeof *sp);
        if ((rc = conv_span(d, sp, s, res, scope)))
            rc = with_context(d->e, rc, "span %llu: ", d->span_no);
        else
            rc = trace_set_add_span(d->ts, sp, d->e);
    }
    if (rc) {
        d->failed = rc;
        d->failed_ss = ss_no;
    }
    return 0;
}

static int walk_sspans(dec *d, const uint8_t *p, size_t n, const trace_resource *res, size_t k)
{
    uint64_t ss_no = ++d->ss_no;
    outer o;
    memset(&o, 0, sizeof o);
    trace_scope *scope = NULL;
    if (!d->failed) {
        scope = model_alloc(&d->mm, sizeof *scope, 8);
        if (!scope) {
            d->failed = nomem(d);
            d->failed_ss = 0;
        } else {
            conv_scope(d, scope, NULL, &o, k); /* empty until its end */
        }
    }
    size_t i = 0;
    field f;
    int rc;
    while (next_field(p, n, &i, &f)) {
        if (!outer_note(&o, &f))
            d->wire_bad = true;
        if (f.num == 2) {
            rc = walk_span(d, &f, res, scope, ss_no);
            d->span_no++;
            if (rc)
                return rc;
        }
    }
    if (d->wire_bad)
        return 0;
    /* the scope converts before its spans: its error comes first */
    bool convert = scope && (!d->failed || d->failed_ss == ss_no);
    scratch_reset(&d->sc);
    const pb_scope *ps = NULL;
    if (o.msg_count) {
        if (!outer_join(&d->sc, p, n, &o))
            return reject(d);
        ps = opentelemetry__proto__common__v1__instrumentation_scope__unpack(&d->alloc, o.msg_len,
                                                                             o.msg);
        if (!ps)
            return reject(d);
    }
    if (convert && (rc = conv_scope(d, scope, ps, &o, k))) {
        d->failed = rc;
        d->failed_ss = 0;
    }
    return 0;
}

static int walk_rspans(dec *d, const uint8_t *p, size_t n, size_t r_no)
{
    outer o;
    memset(&o, 0, sizeof o);
    size_t i = 0;
    field f;
    while (next_field(p, n, &i, &f))
        if (!outer_note(&o, &f))
            d->wire_bad = true;
    trace_resource *res = NULL;
    if (!d->wire_bad) {
        scratch_reset(&d->sc);
        const pb_resource *pr = NULL;
        if (o.msg_count) {
            if (!outer_join(&d->sc, p, n, &o))
                return reject(d);
            pr = opentelemetry__proto__resource__v1__resource__unpack(&d->alloc, o.msg_len, o.msg);
            if (!pr)
                return reject(d);
        }
        if (!d->failed) {
            int rc = 0;
            res = model_alloc(&d->mm, sizeof *res, 8);
            if (!res)
                rc = nomem(d);
            else {
                memset(res, 0, sizeof *res);
                rc = copy_url(d, &res->schema_url, &o);
            }
            if (!rc && pr) {
                res->dropped_attrs = pr->dropped_attributes_count;
                if ((rc = conv_attrs(d, &res->attrs, &res->n_attrs, pr->attributes,
                                     pr->n_attributes)))
                    rc = with_context(d->e, rc, "resource %llu: ", r_no);
            }
            if (rc) {
                d->failed = rc;
                d->failed_ss = 0;
            }
        }
    }
    size_t k = 0;
    i = 0;
    while (next_field(p, n, &i, &f)) {
        if (f.num != 2)
            continue;
        int rc = walk_sspans(d, f.data, f.len, res, k++);
        if (rc)
            return rc;
    }
    return 0;
}

/* Decodes p[0..n) as TracesData. *wire_ok tells whether the wire form was
 * accepted (a later failure is about the content); *n_spans counts the
 * spans found. */
static int decode_traces(trace_set *ts, const uint8_t *p, size_t n, bool direct, bool *wire_ok,
                         uint64_t *n_spans, tc_error *e)
{
    *n_spans = 0;
    *wire_ok = false;
    scan_ctx c = {e, false, false};
    int rc = scan(p, n, 0, M_TRACES, 0, &c);
    if (rc || c.nested) {
        /* the first framing error in body order, spans included; a nested
         * resource is rejected by protobuf-c, before any span is added (a
         * Tempo response is tried next) */
        c.spans = true;
        if ((rc = scan(p, n, 0, M_TRACES, 0, &c)))
            return rc;
        return tc_error_set(e, TC_ERR_INPUT,
                            "malformed protobuf: not an OTLP TracesData message");
    }
    dec d;
    memset(&d, 0, sizeof d);
    d.ts = ts;
    d.body = p;
    d.mm.a = d.sc.a = trace_set_arena(ts);
    d.alloc = (ProtobufCAllocator){scratch_alloc, scratch_free, &d.sc};
    d.e = e;
    d.direct = direct;
    size_t i = 0, r_no = 0;
    field f;
    while (next_field(p, n, &i, &f)) {
        if (f.reject)
            d.wire_bad = true;
        else if (f.num == 1 && (rc = walk_rspans(&d, f.data, f.len, r_no++)))
            return rc;
    }
    if (d.wire_bad)
        return tc_error_set(e, TC_ERR_INPUT,
                            "malformed protobuf: not an OTLP TracesData message");
    *wire_ok = true;
    *n_spans = d.span_no;
    return d.failed;
}

/* Finds the payload of field 1 (length-delimited) of a wrapper message;
 * several occurrences merge, so they are joined. 0 or -1. */
static int unwrap(arena *a, const uint8_t *p, size_t n, const uint8_t **out, size_t *out_len)
{
    const uint8_t *first = NULL;
    size_t total = 0, i = 0, count = 0;
    uint8_t *joined = NULL;
    for (int pass = 0; pass < 2; pass++) {
        i = 0;
        size_t at = 0;
        while (i < n) {
            uint64_t tag, v;
            if (read_varint(p, n, &i, &tag))
                return -1;
            uint32_t wt = (uint32_t)(tag & 7);
            if (wt == 0) {
                if (read_varint(p, n, &i, &v))
                    return -1;
            } else if (wt == 1 || wt == 5) {
                size_t w = wt == 1 ? 8 : 4;
                if (n - i < w)
                    return -1;
                i += w;
            } else if (wt == 2) {
                if (read_varint(p, n, &i, &v) || v > n - i)
                    return -1;
                if (tag >> 3 == 1) {
                    if (pass == 0) {
                        first = p + i;
                        total += (size_t)v;
                        count++;
                    } else {
                        memcpy(joined + at, p + i, (size_t)v);
                        at += (size_t)v;
                    }
                }
                i += (size_t)v;
            } else {
                return -1;
            }
        }
        if (count == 0)
            return -1;
        if (count == 1) {
            *out = first;
            *out_len = total;
            return 0;
        }
        if (pass == 0 && !(joined = arena_alloc(a, total)))
            return -1;
    }
    *out = joined;
    *out_len = total;
    return 0;
}

static int decode(trace_set *ts, const uint8_t *buf, size_t len, bool direct, tc_error *e)
{
    if (len > CODEC_MAX_BODY)
        return tc_error_set(e, TC_ERR_LIMIT, "protobuf body of %zu bytes, limit %zu", len,
                            CODEC_MAX_BODY);
    if (len == 0)
        return 0;
    tc_error first;
    bool wire_ok;
    uint64_t n_spans;
    int rc = decode_traces(ts, buf, len, direct, &wire_ok, &n_spans, &first);
    if (rc == 0)
        return 0;
    if (rc == TC_ERR_INPUT && !wire_ok) {
        /* Tempo's TraceByIDResponse: field 1 is a Trace, whose field 1 is
         * the repeated ResourceSpans of a TracesData. Taken only when it
         * holds spans: a malformed TracesData often parses as an empty one. */
        const uint8_t *inner;
        size_t inner_len;
        if (unwrap(trace_set_arena(ts), buf, len, &inner, &inner_len) == 0) {
            tc_error second;
            int rc2 = decode_traces(ts, inner, inner_len, direct, &wire_ok, &n_spans, &second);
            if (rc2 == 0 && n_spans > 0)
                return 0;
        }
    }
    if (e)
        *e = first;
    return rc;
}

int otlp_pb_decode(trace_set *ts, const uint8_t *buf, size_t len, tc_error *e)
{
    return decode(ts, buf, len, true, e);
}

int otlp_pb_decode_reference(trace_set *ts, const uint8_t *buf, size_t len, tc_error *e)
{
    return decode(ts, buf, len, false, e);
}

/* ---- encode ---- */

typedef struct enc {
    arena *a;
    int rc;
} enc;

static void *enc_alloc(enc *x, size_t n)
{
    void *p = arena_alloc(x->a, n ? n : 1);
    if (!p)
        x->rc = TC_ERR_NOMEM;
    return p;
}

static pb_kv **enc_kvs(enc *x, const tc_attr *attrs, uint32_t n, int depth);

static void enc_value(enc *x, pb_any *out, const tc_value *v, int depth)
{
    *out = (pb_any)OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    switch ((tc_vtype)v->type) {
    case TC_V_STRING:
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        out->string_value = (char *)(v->u.str ? v->u.str : "");
        break;
    case TC_V_BOOL:
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        out->bool_value = v->u.b;
        break;
    case TC_V_INT:
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        out->int_value = v->u.i;
        break;
    case TC_V_DOUBLE:
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        out->double_value = v->u.d;
        break;
    case TC_V_BYTES:
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
        out->bytes_value.len = v->len;
        out->bytes_value.data = (uint8_t *)v->u.bytes;
        break;
    case TC_V_ARRAY: {
        if (depth >= CODEC_MAX_DEPTH) {
            x->rc = TC_ERR_LIMIT;
            return;
        }
        pb_array *arr = enc_alloc(x, sizeof *arr);
        pb_any **items = enc_alloc(x, v->len * sizeof *items);
        pb_any *vals = enc_alloc(x, v->len * sizeof *vals);
        if (x->rc)
            return;
        *arr = (pb_array)OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
        for (uint32_t i = 0; i < v->len; i++) {
            enc_value(x, &vals[i], &v->u.arr[i], depth + 1);
            items[i] = &vals[i];
        }
        arr->n_values = v->len;
        arr->values = items;
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        out->array_value = arr;
        break;
    }
    case TC_V_KVLIST: {
        if (depth >= CODEC_MAX_DEPTH) {
            x->rc = TC_ERR_LIMIT;
            return;
        }
        pb_kvlist *kl = enc_alloc(x, sizeof *kl);
        if (!kl)
            return;
        *kl = (pb_kvlist)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
        kl->n_values = v->len;
        kl->values = enc_kvs(x, v->u.kv, v->len, depth + 1);
        out->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
        out->kvlist_value = kl;
        break;
    }
    default:
        break; /* empty: nothing set */
    }
}

/* n KeyValues, their AnyValues and the pointer array, in three allocations. */
static pb_kv **enc_kvs(enc *x, const tc_attr *attrs, uint32_t n, int depth)
{
    if (!n)
        return NULL;
    pb_kv **ptrs = enc_alloc(x, n * sizeof *ptrs);
    pb_kv *kvs = enc_alloc(x, n * sizeof *kvs);
    pb_any *vals = enc_alloc(x, n * sizeof *vals);
    if (x->rc)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        kvs[i] = (pb_kv)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
        kvs[i].key = (char *)(attrs[i].key ? attrs[i].key : "");
        enc_value(x, &vals[i], &attrs[i].value, depth);
        kvs[i].value = &vals[i];
        ptrs[i] = &kvs[i];
    }
    return ptrs;
}

static void enc_span(enc *x, pb_span *s, const trace_span *sp)
{
    *s = (pb_span)OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    s->trace_id.len = TRACE_ID_LEN;
    s->trace_id.data = (uint8_t *)sp->trace_id;
    s->span_id.len = SPAN_ID_LEN;
    s->span_id.data = (uint8_t *)sp->span_id;
    if (trace_span_has_parent(sp)) {
        s->parent_span_id.len = SPAN_ID_LEN;
        s->parent_span_id.data = (uint8_t *)sp->parent_id;
    }
    s->trace_state = (char *)str_or_empty(sp->trace_state);
    s->flags = sp->flags;
    s->name = (char *)str_or_empty(sp->name);
    s->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)sp->kind;
    s->start_time_unix_nano = sp->start_ns;
    s->end_time_unix_nano = sp->end_ns;
    s->n_attributes = sp->n_attrs;
    s->attributes = enc_kvs(x, sp->attrs, sp->n_attrs, 0);
    s->dropped_attributes_count = sp->dropped_attrs;
    s->dropped_events_count = sp->dropped_events;
    s->dropped_links_count = sp->dropped_links;
    if (sp->n_events) {
        pb_event **ptrs = enc_alloc(x, sp->n_events * sizeof *ptrs);
        pb_event *evs = enc_alloc(x, sp->n_events * sizeof *evs);
        if (x->rc)
            return;
        for (uint32_t i = 0; i < sp->n_events; i++) {
            const trace_event *te = &sp->events[i];
            evs[i] = (pb_event)OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
            evs[i].time_unix_nano = te->time_ns;
            evs[i].name = (char *)str_or_empty(te->name);
            evs[i].n_attributes = te->n_attrs;
            evs[i].attributes = enc_kvs(x, te->attrs, te->n_attrs, 0);
            evs[i].dropped_attributes_count = te->dropped_attrs;
            ptrs[i] = &evs[i];
        }
        s->n_events = sp->n_events;
        s->events = ptrs;
    }
    if (sp->n_links) {
        pb_link **ptrs = enc_alloc(x, sp->n_links * sizeof *ptrs);
        pb_link *lks = enc_alloc(x, sp->n_links * sizeof *lks);
        if (x->rc)
            return;
        for (uint32_t i = 0; i < sp->n_links; i++) {
            const trace_link *tl = &sp->links[i];
            lks[i] = (pb_link)OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
            lks[i].trace_id.len = TRACE_ID_LEN;
            lks[i].trace_id.data = (uint8_t *)tl->trace_id;
            lks[i].span_id.len = SPAN_ID_LEN;
            lks[i].span_id.data = (uint8_t *)tl->span_id;
            lks[i].trace_state = (char *)str_or_empty(tl->trace_state);
            lks[i].n_attributes = tl->n_attrs;
            lks[i].attributes = enc_kvs(x, tl->attrs, tl->n_attrs, 0);
            lks[i].dropped_attributes_count = tl->dropped_attrs;
            lks[i].flags = tl->flags;
            ptrs[i] = &lks[i];
        }
        s->n_links = sp->n_links;
        s->links = ptrs;
    }
    if (sp->status_code || (sp->status_message && *sp->status_message)) {
        pb_status *st = enc_alloc(x, sizeof *st);
        if (!st)
            return;
        *st = (pb_status)OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
        st->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)sp->status_code;
        st->message = (char *)str_or_empty(sp->status_message);
        s->status = st;
    }
}

/* Open-addressing map from a (resource, scope) pointer pair to a group
 * number; scope NULL keys the resource itself. */
typedef struct pmap {
    const void **k1, **k2;
    uint32_t *val; /* index + 1; 0 = empty */
    size_t mask;
} pmap;

static uint32_t pmap_get(pmap *m, const void *a, const void *b, uint32_t *next)
{
    uintptr_t h = ((uintptr_t)a * 0x9E3779B97F4A7C15ull) ^ ((uintptr_t)b * 0xC2B2AE3D27D4EB4Full);
    size_t i = (size_t)(h ^ (h >> 29)) & m->mask;
    while (m->val[i]) {
        if (m->k1[i] == a && m->k2[i] == b)
            return m->val[i] - 1;
        i = (i + 1) & m->mask;
    }
    m->k1[i] = a;
    m->k2[i] = b;
    m->val[i] = ++*next;
    return *next - 1;
}

static int encode_all(enc *x, trace_set *ts, tc_buf *out)
{
    size_t n = 0;
    for (uint32_t t = 0; t < trace_set_count(ts); t++)
        n += trace_set_at(ts, t)->n_spans;
    size_t slots = 16;
    while (slots < 2 * (n + 1))
        slots *= 2;
    pmap rmap = {0}, gmap = {0};
    rmap.k1 = enc_alloc(x, slots * sizeof(void *));
    rmap.k2 = enc_alloc(x, slots * sizeof(void *));
    rmap.val = enc_alloc(x, slots * sizeof(uint32_t));
    gmap.k1 = enc_alloc(x, slots * sizeof(void *));
    gmap.k2 = enc_alloc(x, slots * sizeof(void *));
    gmap.val = enc_alloc(x, slots * sizeof(uint32_t));
    const trace_span **spans = enc_alloc(x, (n + 1) * sizeof *spans);
    uint32_t *span_grp = enc_alloc(x, (n + 1) * sizeof *span_grp);
    uint32_t *grp_res = enc_alloc(x, (n + 1) * sizeof *grp_res);
    uint32_t *grp_count = enc_alloc(x, (n + 1) * sizeof *grp_count);
    uint32_t *res_groups = enc_alloc(x, (n + 1) * sizeof *res_groups);
    const trace_scope **grp_scope = enc_alloc(x, (n + 1) * sizeof *grp_scope);
    const trace_resource **res_ptr = enc_alloc(x, (n + 1) * sizeof *res_ptr);
    if (x->rc)
        return x->rc;
    memset(rmap.val, 0, slots * sizeof(uint32_t));
    memset(gmap.val, 0, slots * sizeof(uint32_t));
    rmap.mask = gmap.mask = slots - 1;

    uint32_t n_res = 0, n_grp = 0;
    size_t k = 0;
    for (uint32_t t = 0; t < trace_set_count(ts); t++) {
        trace *tr = trace_set_at(ts, t);
        for (uint32_t i = 0; i < tr->n_spans; i++, k++) {
            const trace_span *sp = tr->spans[i];
            uint32_t before = n_res;
            uint32_t rid = pmap_get(&rmap, sp->resource, NULL, &n_res);
            if (n_res != before) {
                res_ptr[rid] = sp->resource;
                res_groups[rid] = 0;
            }
            before = n_grp;
            uint32_t gid = pmap_get(&gmap, sp->resource, sp->scope, &n_grp);
            if (n_grp != before) {
                grp_res[gid] = rid;
                grp_scope[gid] = sp->scope;
                grp_count[gid] = 0;
                res_groups[rid]++;
            }
            grp_count[gid]++;
            spans[k] = sp;
            span_grp[k] = gid;
        }
    }

    pb_traces td = OPENTELEMETRY__PROTO__TRACE__V1__TRACES_DATA__INIT;
    pb_rspans **rs_ptrs = enc_alloc(x, n_res * sizeof *rs_ptrs);
    pb_rspans *rss = enc_alloc(x, n_res * sizeof *rss);
    pb_resource *resources = enc_alloc(x, n_res * sizeof *resources);
    pb_sspans *sss = enc_alloc(x, n_grp * sizeof *sss);
    pb_scope *scopes = enc_alloc(x, n_grp * sizeof *scopes);
    pb_span *pspans = enc_alloc(x, (n + 1) * sizeof *pspans);
    if (x->rc)
        return x->rc;
    for (uint32_t r = 0; r < n_res; r++) {
        const trace_resource *res = res_ptr[r];
        rss[r] = (pb_rspans)OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
        resources[r] = (pb_resource)OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
        resources[r].n_attributes = res->n_attrs;
        resources[r].attributes = enc_kvs(x, res->attrs, res->n_attrs, 0);
        resources[r].dropped_attributes_count = res->dropped_attrs;
        rss[r].resource = &resources[r];
        rss[r].schema_url = (char *)str_or_empty(res->schema_url);
        rss[r].scope_spans = enc_alloc(x, res_groups[r] * sizeof *rss[r].scope_spans);
        rs_ptrs[r] = &rss[r];
    }
    for (uint32_t g = 0; g < n_grp; g++) {
        const trace_scope *sc = grp_scope[g];
        sss[g] = (pb_sspans)OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
        scopes[g] = (pb_scope)OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
        scopes[g].name = (char *)str_or_empty(sc->name);
        scopes[g].version = (char *)str_or_empty(sc->version);
        scopes[g].n_attributes = sc->n_attrs;
        scopes[g].attributes = enc_kvs(x, sc->attrs, sc->n_attrs, 0);
        scopes[g].dropped_attributes_count = sc->dropped_attrs;
        sss[g].scope = &scopes[g];
        sss[g].schema_url = (char *)str_or_empty(sc->schema_url);
        sss[g].spans = enc_alloc(x, grp_count[g] * sizeof *sss[g].spans);
        if (x->rc)
            return x->rc;
        pb_rspans *rs = &rss[grp_res[g]];
        rs->scope_spans[rs->n_scope_spans++] = &sss[g];
    }
    for (size_t i = 0; i < n; i++) {
        enc_span(x, &pspans[i], spans[i]);
        if (x->rc)
            return x->rc;
        pb_sspans *ss = &sss[span_grp[i]];
        ss->spans[ss->n_spans++] = &pspans[i];
    }
    td.n_resource_spans = n_res;
    td.resource_spans = rs_ptrs;

    size_t size = opentelemetry__proto__trace__v1__traces_data__get_packed_size(&td);
    uint8_t *mem = enc_alloc(x, size);
    if (x->rc)
        return x->rc;
    size_t got = opentelemetry__proto__trace__v1__traces_data__pack(&td, mem);
    return buf_append(out, mem, got);
}

int otlp_pb_encode(trace_set *ts, tc_buf *out)
{
    enc x = {arena_new(0), 0};
    if (!x.a)
        return TC_ERR_NOMEM;
    int rc = encode_all(&x, ts, out);
    arena_free(&x.a);
    return rc;
}
