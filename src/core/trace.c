/* trace.c - trace model, merging and indexes (see trace.h). */
#include "trace.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct trace_set {
    arena *arena;
    trace **traces; /* heap array of arena-allocated traces */
    uint32_t n_traces, cap_traces;
    uint32_t *slots; /* hash: trace id -> index+1 */
    uint32_t n_slots;
    uint64_t n_spans;
    trace_resource empty_resource;
    trace_scope empty_scope;
};

static const uint8_t zero_id[TRACE_ID_LEN];

/* Hash of an id: every byte matters (splitmix64 finaliser per word), since
 * ids from some producers differ only in their last bytes. */
static uint64_t mix(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = 0;
        memcpy(&w, p + i, n - i < 8 ? n - i : 8);
        h ^= w;
        h ^= h >> 30;
        h *= 0xBF58476D1CE4E5B9ull;
        h ^= h >> 27;
        h *= 0x94D049BB133111EBull;
        h ^= h >> 31;
    }
    return h;
}

trace_set *trace_set_new(size_t arena_cap)
{
    trace_set *ts = calloc(1, sizeof *ts);
    if (!ts)
        return NULL;
    ts->arena = arena_new(arena_cap);
    if (!ts->arena) {
        free(ts);
        return NULL;
    }
    ts->empty_scope.name = "";
    ts->empty_scope.version = "";
    ts->empty_scope.schema_url = "";
    ts->empty_resource.schema_url = "";
    return ts;
}

void trace_set_free(trace_set **tsp)
{
    if (!tsp || !*tsp)
        return;
    trace_set *ts = *tsp;
    for (uint32_t i = 0; i < ts->n_traces; i++) {
        free(ts->traces[i]->spans);
        free(ts->traces[i]->slots);
        free(ts->traces[i]->dups);
    }
    free(ts->traces);
    free(ts->slots);
    arena_free(&ts->arena);
    free(ts);
    *tsp = NULL;
}

arena *trace_set_arena(trace_set *ts)
{
    return ts->arena;
}

const trace_resource *trace_set_empty_resource(trace_set *ts)
{
    return &ts->empty_resource;
}

const trace_scope *trace_set_empty_scope(trace_set *ts)
{
    return &ts->empty_scope;
}

uint32_t trace_set_count(const trace_set *ts)
{
    return ts->n_traces;
}

uint64_t trace_set_span_count(const trace_set *ts)
{
    return ts->n_spans;
}

trace *trace_set_at(trace_set *ts, uint32_t i)
{
    return i < ts->n_traces ? ts->traces[i] : NULL;
}

/* Open-addressing lookup shared by both hashes: returns the slot index
 * holding `id` (slots[i] != 0) or the empty slot where it would go. */
#define TRACE_SLOT_FIND(slots, n_slots, id, idlen, key_of)                  \
    do {                                                                    \
        size_t mask_ = (n_slots) - 1;                                       \
        size_t i_ = (size_t)mix((id), (idlen)) & mask_;                     \
        while ((slots)[i_] && memcmp(key_of((slots)[i_] - 1), (id), (idlen)) != 0) \
            i_ = (i_ + 1) & mask_;                                          \
        slot_ = i_;                                                         \
    } while (0)

static int grow_trace_slots(trace_set *ts)
{
    uint32_t n = ts->n_slots ? ts->n_slots * 2 : 16;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s)
        return TC_ERR_NOMEM;
    for (uint32_t k = 0; k < ts->n_traces; k++) {
        size_t i = (size_t)mix(ts->traces[k]->trace_id, TRACE_ID_LEN) & (n - 1);
        while (s[i])
            i = (i + 1) & (n - 1);
        s[i] = k + 1;
    }
    free(ts->slots);
    ts->slots = s;
    ts->n_slots = n;
    return 0;
}

#define TRACE_KEY(idx) (ts->traces[(idx)]->trace_id)

trace *trace_set_find(trace_set *ts, const uint8_t id[TRACE_ID_LEN])
{
    if (!ts->n_slots)
        return NULL;
    size_t slot_;
    TRACE_SLOT_FIND(ts->slots, ts->n_slots, id, TRACE_ID_LEN, TRACE_KEY);
    return ts->slots[slot_] ? ts->traces[ts->slots[slot_] - 1] : NULL;
}

static trace *get_or_create(trace_set *ts, const uint8_t id[TRACE_ID_LEN])
{
    trace *t = trace_set_find(ts, id);
    if (t)
        return t;
    if ((ts->n_traces + 1) * 2 > ts->n_slots && grow_trace_slots(ts))
        return NULL;
    if (ts->n_traces == ts->cap_traces) {
        uint32_t cap = ts->cap_traces ? ts->cap_traces * 2 : 4;
        trace **p = realloc(ts->traces, cap * sizeof *p);
        if (!p)
            return NULL;
        ts->traces = p;
        ts->cap_traces = cap;
    }
    t = arena_calloc(ts->arena, 1, sizeof *t);
    if (!t)
        return NULL;
    memcpy(t->trace_id, id, TRACE_ID_LEN);
    size_t slot_;
    TRACE_SLOT_FIND(ts->slots, ts->n_slots, id, TRACE_ID_LEN, TRACE_KEY);
    ts->traces[ts->n_traces++] = t;
    ts->slots[slot_] = ts->n_traces;
    return t;
}

#define SPAN_KEY(idx) (t->spans[(idx)]->span_id)

trace_span *trace_find_span(const trace *t, const uint8_t id[SPAN_ID_LEN])
{
    if (!t->n_slots)
        return NULL;
    size_t slot_;
    TRACE_SLOT_FIND(t->slots, t->n_slots, id, SPAN_ID_LEN, SPAN_KEY);
    return t->slots[slot_] ? t->spans[t->slots[slot_] - 1] : NULL;
}

static int grow_span_slots(trace *t)
{
    uint32_t n = t->n_slots ? t->n_slots * 2 : 16;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s)
        return TC_ERR_NOMEM;
    for (uint32_t k = 0; k < t->n_spans; k++) {
        size_t i = (size_t)mix(t->spans[k]->span_id, SPAN_ID_LEN) & (n - 1);
        while (s[i])
            i = (i + 1) & (n - 1);
        s[i] = k + 1;
    }
    free(t->slots);
    t->slots = s;
    t->n_slots = n;
    return 0;
}

int trace_set_add_span(trace_set *ts, trace_span *sp, tc_error *e)
{
    if (ts->n_spans >= TRACE_MAX_SPANS_PER_SET)
        return tc_error_set(e, TC_ERR_LIMIT, "more than %u spans", TRACE_MAX_SPANS_PER_SET);
    if (!sp->name)
        sp->name = "";
    if (!sp->trace_state)
        sp->trace_state = "";
    if (!sp->status_message)
        sp->status_message = "";
    if (!sp->resource)
        sp->resource = &ts->empty_resource;
    if (!sp->scope)
        sp->scope = &ts->empty_scope;
    trace *t = get_or_create(ts, sp->trace_id);
    if (!t)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    t->indexed = false;
    size_t slot_ = 0;
    if (t->n_slots) {
        TRACE_SLOT_FIND(t->slots, t->n_slots, sp->span_id, SPAN_ID_LEN, SPAN_KEY);
        if (t->slots[slot_]) {
            trace_span **old = &t->spans[t->slots[slot_] - 1];
            if ((*old)->start_ns != sp->start_ns || strcmp((*old)->name, sp->name) != 0) {
                t->n_dups_all++; /* not a retry: another span with that id */
                if (t->n_dups < TRACE_MAX_DUPS) {
                    trace_span **d = realloc(t->dups, (t->n_dups + 1) * sizeof *d);
                    if (!d)
                        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
                    t->dups = d;
                    t->dups[t->n_dups++] = *old;
                }
            }
            *old = sp; /* the later copy (a retried export: the same) */
            return 0;
        }
    }
    if ((t->n_spans + 1) * 2 > t->n_slots) {
        if (grow_span_slots(t))
            return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        TRACE_SLOT_FIND(t->slots, t->n_slots, sp->span_id, SPAN_ID_LEN, SPAN_KEY);
    }
    if (t->n_spans == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 8;
        trace_span **p = realloc(t->spans, cap * sizeof *p);
        if (!p)
            return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        t->spans = p;
        t->cap = cap;
    }
    t->spans[t->n_spans++] = sp;
    t->slots[slot_] = t->n_spans;
    ts->n_spans++;
    return 0;
}

/* ---- deep copy ---- */

static int copy_value(arena *a, tc_value *dst, const tc_value *src, int depth);

static tc_attr *copy_attrs(arena *a, const tc_attr *src, uint32_t n, int depth)
{
    if (!n)
        return NULL;
    tc_attr *dst = arena_alloc(a, n * sizeof *dst);
    if (!dst)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        dst[i].key = arena_strndup(a, src[i].key, src[i].key_len);
        dst[i].key_len = src[i].key_len;
        if (!dst[i].key || copy_value(a, &dst[i].value, &src[i].value, depth + 1))
            return NULL;
    }
    return dst;
}

static int copy_value(arena *a, tc_value *dst, const tc_value *src, int depth)
{
    *dst = *src;
    if (depth > 128)
        return TC_ERR_LIMIT;
    switch ((tc_vtype)src->type) {
    case TC_V_STRING:
    case TC_V_BYTES:
        dst->u.str = arena_strndup(a, src->u.str, src->len);
        return dst->u.str ? 0 : TC_ERR_NOMEM;
    case TC_V_ARRAY:
        if (!src->len)
            return 0;
        dst->u.arr = arena_alloc(a, src->len * sizeof *dst->u.arr);
        if (!dst->u.arr)
            return TC_ERR_NOMEM;
        for (uint32_t i = 0; i < src->len; i++)
            if (copy_value(a, &dst->u.arr[i], &src->u.arr[i], depth + 1))
                return TC_ERR_NOMEM;
        return 0;
    case TC_V_KVLIST:
        if (!src->len)
            return 0;
        dst->u.kv = copy_attrs(a, src->u.kv, src->len, depth);
        return dst->u.kv ? 0 : TC_ERR_NOMEM;
    default:
        return 0;
    }
}

#define COPY_ATTRS(dst, src)                                                  \
    ((dst)->attrs = copy_attrs(a, (src)->attrs, (src)->n_attrs, 0),           \
     (src)->n_attrs && !(dst)->attrs)

int trace_set_copy_span(trace_set *ts, const trace_span *src, tc_error *e)
{
    arena *a = ts->arena;
    trace_span *sp = arena_alloc(a, sizeof *sp);
    trace_resource *res = arena_alloc(a, sizeof *res);
    trace_scope *sc = arena_alloc(a, sizeof *sc);
    if (!sp || !res || !sc)
        goto nomem;
    *sp = *src;
    *res = *src->resource;
    *sc = *src->scope;
    sp->parent = NULL;
    sp->children = NULL;
    sp->n_children = 0;
    sp->ext = NULL;
    sp->name = arena_strdup(a, src->name);
    sp->trace_state = arena_strdup(a, src->trace_state);
    sp->status_message = arena_strdup(a, src->status_message);
    res->schema_url = arena_strdup(a, src->resource->schema_url ? src->resource->schema_url : "");
    sc->name = arena_strdup(a, src->scope->name ? src->scope->name : "");
    sc->version = arena_strdup(a, src->scope->version ? src->scope->version : "");
    sc->schema_url = arena_strdup(a, src->scope->schema_url ? src->scope->schema_url : "");
    if (!sp->name || !sp->trace_state || !sp->status_message || !res->schema_url || !sc->name ||
        !sc->version || !sc->schema_url)
        goto nomem;
    if (COPY_ATTRS(sp, src) || COPY_ATTRS(res, src->resource) || COPY_ATTRS(sc, src->scope))
        goto nomem;
    sp->events = src->n_events ? arena_alloc(a, src->n_events * sizeof *sp->events) : NULL;
    sp->links = src->n_links ? arena_alloc(a, src->n_links * sizeof *sp->links) : NULL;
    if ((src->n_events && !sp->events) || (src->n_links && !sp->links))
        goto nomem;
    for (uint32_t i = 0; i < src->n_events; i++) {
        sp->events[i] = src->events[i];
        sp->events[i].name = arena_strdup(a, src->events[i].name ? src->events[i].name : "");
        if (!sp->events[i].name || COPY_ATTRS(&sp->events[i], &src->events[i]))
            goto nomem;
    }
    for (uint32_t i = 0; i < src->n_links; i++) {
        sp->links[i] = src->links[i];
        sp->links[i].trace_state =
            arena_strdup(a, src->links[i].trace_state ? src->links[i].trace_state : "");
        if (!sp->links[i].trace_state || COPY_ATTRS(&sp->links[i], &src->links[i]))
            goto nomem;
    }
    sp->resource = res;
    sp->scope = sc;
    return trace_set_add_span(ts, sp, e);
nomem:
    return tc_error_set(e, TC_ERR_NOMEM, "out of memory copying a span");
}

/* ---- indexes ---- */

bool trace_span_has_parent(const trace_span *sp)
{
    return memcmp(sp->parent_id, zero_id, SPAN_ID_LEN) != 0;
}

static int by_start(const void *pa, const void *pb)
{
    const trace_span *a = *(trace_span *const *)pa, *b = *(trace_span *const *)pb;
    if (a->start_ns != b->start_ns)
        return a->start_ns < b->start_ns ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order; /* arrival order */
}

#define UNVISITED UINT32_MAX

int trace_index(trace_set *ts, trace *t)
{
    arena *a = ts->arena;
    uint32_t n = t->n_spans;
    trace_span **kids = arena_alloc(a, (size_t)n * sizeof *kids);
    trace_span **top = arena_alloc(a, (size_t)n * sizeof *top);
    t->preorder = arena_alloc(a, (size_t)n * sizeof *t->preorder);
    /* stack of (span, next child) for the iterative depth-first walk */
    struct frame { trace_span *sp; uint32_t next; } *stack = malloc((size_t)(n ? n : 1) * sizeof *stack);
    if (!kids || !top || !t->preorder || !stack) {
        free(stack);
        return TC_ERR_NOMEM;
    }

    uint32_t n_roots = 0, n_orphans = 0;
    t->start_ns = UINT64_MAX;
    t->end_ns = 0;
    for (uint32_t i = 0; i < n; i++) {
        trace_span *sp = t->spans[i];
        sp->order = i; /* arrival, for stable sibling order */
        sp->depth = UNVISITED;
        sp->n_children = 0;
        sp->children = NULL;
        sp->parent = NULL;
        if (sp->start_ns < t->start_ns)
            t->start_ns = sp->start_ns;
        if (sp->end_ns > t->end_ns)
            t->end_ns = sp->end_ns;
    }
    if (!n)
        t->start_ns = 0;
    for (uint32_t i = 0; i < n; i++) {
        trace_span *sp = t->spans[i];
        if (!trace_span_has_parent(sp)) {
            n_roots++;
            continue;
        }
        trace_span *p = trace_find_span(t, sp->parent_id);
        if (p && p != sp) {
            sp->parent = p;
            p->n_children++;
        } else {
            n_orphans++;
        }
    }
    /* carve the children arrays out of one block */
    uint32_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        trace_span *sp = t->spans[i];
        sp->children = kids + off;
        off += sp->n_children;
        sp->n_children = 0;
    }
    t->roots = top;
    t->orphans = top + n_roots;
    t->n_roots = 0;
    t->n_orphans = 0;
    for (uint32_t i = 0; i < n; i++) {
        trace_span *sp = t->spans[i];
        if (sp->parent)
            sp->parent->children[sp->parent->n_children++] = sp;
        else if (!trace_span_has_parent(sp))
            t->roots[t->n_roots++] = sp;
        else
            t->orphans[t->n_orphans++] = sp;
    }
    for (uint32_t i = 0; i < n; i++) {
        trace_span *sp = t->spans[i];
        if (sp->n_children > 1)
            qsort(sp->children, sp->n_children, sizeof *sp->children, by_start);
    }
    qsort(t->roots, t->n_roots, sizeof *t->roots, by_start);
    qsort(t->orphans, t->n_orphans, sizeof *t->orphans, by_start);

    /* Depth-first from the roots, then the orphans, then whatever a parent
     * cycle left unreached (each such span is cut from its parent and
     * becomes an orphan). */
    uint32_t pos = 0;
    uint32_t next_top = 0, cycle_scan = 0;
    for (;;) {
        trace_span *start = NULL;
        if (next_top < t->n_roots + t->n_orphans) {
            start = top[next_top++];
        } else {
            while (cycle_scan < n && t->spans[cycle_scan]->depth != UNVISITED)
                cycle_scan++;
            if (cycle_scan == n)
                break;
            start = t->spans[cycle_scan];
            trace_span *p = start->parent;
            for (uint32_t k = 0; k < p->n_children; k++) {
                if (p->children[k] == start) {
                    memmove(p->children + k, p->children + k + 1,
                            (p->n_children - k - 1) * sizeof *p->children);
                    p->n_children--;
                    break;
                }
            }
            start->parent = NULL;
            t->orphans[t->n_orphans++] = start;
            next_top++;
        }
        uint32_t sp_top = 0;
        start->depth = 0;
        start->order = pos;
        t->preorder[pos++] = start;
        stack[sp_top++] = (struct frame){start, 0};
        while (sp_top) {
            struct frame *f = &stack[sp_top - 1];
            if (f->next < f->sp->n_children) {
                trace_span *c = f->sp->children[f->next++];
                c->depth = f->sp->depth + 1;
                c->order = pos;
                t->preorder[pos++] = c;
                stack[sp_top++] = (struct frame){c, 0};
            } else {
                f->sp->subtree = pos - f->sp->order - 1;
                sp_top--;
            }
        }
    }
    free(stack);
    t->indexed = true;
    return 0;
}

int trace_set_index(trace_set *ts)
{
    for (uint32_t i = 0; i < ts->n_traces; i++) {
        if (!ts->traces[i]->indexed) {
            int rc = trace_index(ts, ts->traces[i]);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- lookups ---- */

const tc_value *trace_span_attr(const trace_span *sp, const char *key, size_t n)
{
    const tc_attr *a = attr_find(sp->attrs, sp->n_attrs, key, n);
    if (!a && sp->resource)
        a = attr_find(sp->resource->attrs, sp->resource->n_attrs, key, n);
    if (!a && sp->scope)
        a = attr_find(sp->scope->attrs, sp->scope->n_attrs, key, n);
    return a ? &a->value : NULL;
}

const char *trace_span_service(const trace_span *sp)
{
    const tc_attr *a =
        sp->resource ? attr_find(sp->resource->attrs, sp->resource->n_attrs, "service.name", 12) : NULL;
    return a && a->value.type == TC_V_STRING ? a->value.u.str : "";
}

static const char *kind_names[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};
static const char *status_names[] = {"unset", "ok", "error"};

const char *trace_kind_name(unsigned kind)
{
    return kind < 6 ? kind_names[kind] : "unspecified";
}

const char *trace_status_name(unsigned status)
{
    return status < 3 ? status_names[status] : "unset";
}

static int parse_name(const char *s, size_t n, const char *prefix, const char **names, int count)
{
    size_t pl = strlen(prefix);
    if (n > pl && strncasecmp(s, prefix, pl) == 0) {
        s += pl;
        n -= pl;
    }
    for (int i = 0; i < count; i++)
        if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
            return i;
    return -1;
}

int trace_kind_parse(const char *s, size_t n)
{
    return parse_name(s, n, "SPAN_KIND_", kind_names, 6);
}

int trace_status_parse(const char *s, size_t n)
{
    return parse_name(s, n, "STATUS_CODE_", status_names, 3);
}
