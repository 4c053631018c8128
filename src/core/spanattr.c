/* spanattr.c - attributes of a span as specs see them (see spanattr.h). */
#include "spanattr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

enum {
    CA_NAME,
    CA_TYPE,
    CA_DURATION,
    CA_START,
    CA_END,
    CA_PARENT,
    CA_KIND,
    CA_STATUS,
    CA_STATUS_DESC,
    CA_EVENTS,
    CA_COUNT,
};

static const char *const computed_names[CA_COUNT] = {
    "tracetest.span.name",
    "tracetest.span.type",
    "tracetest.span.duration",
    "tracetest.span.start_time",
    "tracetest.span.end_time",
    "tracetest.span.parent_id",
    "tracetest.span.kind",
    "tracetest.span.status_code",
    "tracetest.span.status_description",
    "span.events",
};

typedef struct computed {
    uint64_t bloom[2]; /* a bit per key of the span's own attributes */
    bool bloom_done;
    tc_value v[CA_COUNT];
    unsigned char done[CA_COUNT]; /* v[k] was computed */
} computed;

static const unsigned char computed_len[CA_COUNT] = {19, 19, 23, 25, 23, 24, 19, 26, 33, 11};

static const char *const type_prefix[][2] = {
    {"http.", "http"},
    {"url.", "http"},
    {"db.", "database"},
    {"rpc.", "rpc"},
    {"messaging.", "messaging"},
    {"faas.", "faas"},
    {"exception.", "exception"},
    {"server.", "http"}, /* last: new conventions put server.* on db and rpc spans too */
};
#define N_PREFIX (sizeof type_prefix / sizeof type_prefix[0])
static const unsigned char type_prefix_len[N_PREFIX] = {5, 4, 3, 4, 10, 5, 10, 7};

#define CLASS_EVENT_TYPE 0x80 /* the key is event_type (browser spans) */

/* The index in type_prefix of the prefix key[0..kl) starts with (N_PREFIX
 * for none), or'ed with CLASS_EVENT_TYPE for event_type. */
static unsigned key_class(const char *k, uint32_t kl)
{
    if (kl == 10 && memcmp(k, "event_type", 10) == 0)
        return N_PREFIX | CLASS_EVENT_TYPE;
    if (kl < 3)
        return N_PREFIX;
    size_t p;
    switch (k[0]) { /* the prefixes all differ in their first byte */
    case 'h': p = 0; break;
    case 'u': p = 1; break;
    case 'd': p = 2; break;
    case 'r': p = 3; break;
    case 'm': p = 4; break;
    case 'f': p = 5; break;
    case 'e': p = 6; break;
    case 's': p = 7; break;
    default: return N_PREFIX;
    }
    size_t pl = type_prefix_len[p];
    return kl >= pl && memcmp(k, type_prefix[p][0], pl) == 0 ? (unsigned)p : N_PREFIX;
}

/* The type of the first prefix (in type_prefix order) that a key of
 * attrs[0..n) starts with, in one pass over the keys; NULL for none. */
static const char *type_of(const tc_attr *attrs, uint32_t n)
{
    unsigned best = N_PREFIX;
    for (uint32_t i = 0; i < n && best > 0; i++) {
        unsigned p = key_class(attrs[i].key, attrs[i].key_len) & ~CLASS_EVENT_TYPE;
        if (p < best)
            best = p;
    }
    return best < N_PREFIX ? type_prefix[best][1] : NULL;
}

/* The type of a span whose own attributes' best prefix is own (with
 * CLASS_EVENT_TYPE when it has event_type), its resource's res and its
 * scope's scope (N_PREFIX: none): the index of its prefix in type_prefix,
 * N_PREFIX for "general". */
static unsigned type_from(const trace_span *sp, unsigned own, unsigned res, unsigned scope)
{
    if ((own & CLASS_EVENT_TYPE) || (sp->name[0] == 'd' && strcmp(sp->name, "documentLoad") == 0))
        return N_PREFIX;
    own &= ~CLASS_EVENT_TYPE;
    return own < N_PREFIX ? own : res < N_PREFIX ? res : scope;
}

static const char *type_name(unsigned p)
{
    return p < N_PREFIX ? type_prefix[p][1] : "general";
}

const char *spanattr_type(const trace_span *sp)
{
    /* browser spans are general, as in Tracetest */
    if (attr_find(sp->attrs, sp->n_attrs, "event_type", 10) || strcmp(sp->name, "documentLoad") == 0)
        return "general";
    const char *t = type_of(sp->attrs, sp->n_attrs);
    if (!t)
        t = type_of(sp->resource->attrs, sp->resource->n_attrs);
    if (!t)
        t = type_of(sp->scope->attrs, sp->scope->n_attrs);
    return t ? t : "general";
}

const char *spanattr_kind(const trace_span *sp)
{
    static const char *const names[] = {"unespecified", "internal", "server",
                                        "client",       "producer", "consumer"};
    return sp->kind < 6 ? names[sp->kind] : names[0];
}

static const char *fmt_u64(arena *a, uint64_t v)
{
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return arena_strndup(a, p, (size_t)(e - p));
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* RFC 3339 in UTC with nanoseconds, trailing zeros dropped (Go's time JSON
 * form); time 0 is Go's zero time, as Tracetest leaves an unset event time. */
static void rfc3339(tc_buf *b, uint64_t ns)
{
    if (ns == 0) {
        buf_puts(b, "0001-01-01T00:00:00Z");
        return;
    }
    uint64_t secs = ns / 1000000000ull;
    unsigned frac = (unsigned)(ns % 1000000000ull);
    int64_t y;
    unsigned mo, d, sod = (unsigned)(secs % 86400);
    civil_from_days((int64_t)(secs / 86400), &y, &mo, &d);
    buf_printf(b, "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)y, mo, d, sod / 3600, sod / 60 % 60,
               sod % 60);
    if (frac) {
        char f[16];
        snprintf(f, sizeof f, "%09u", frac);
        size_t l = 9;
        while (l > 0 && f[l - 1] == '0')
            l--;
        buf_printf(b, ".%.*s", (int)l, f);
    }
    buf_putc(b, 'Z');
}

/* Orders attributes by key bytewise (Go sorts map keys so), then position. */
static int cmp_attr(const void *x, const void *y)
{
    const tc_attr *a = *(const tc_attr *const *)x, *b = *(const tc_attr *const *)y;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, n);
    if (c)
        return c;
    if (a->key_len != b->key_len)
        return a->key_len < b->key_len ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* Tracetest's span.events: [{"name","timestamp","attributes":{k: text}}],
 * attribute keys sorted, a repeated key's last value. */
static const char *events_json(arena *a, const trace_span *sp)
{
    tc_buf b, t;
    buf_init(&b, 0);
    buf_init(&t, 0);
    buf_putc(&b, '[');
    for (uint32_t i = 0; i < sp->n_events; i++) {
        const trace_event *ev = &sp->events[i];
        buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
        buf_json_string(&b, ev->name, strlen(ev->name));
        buf_puts(&b, ",\"timestamp\":\"");
        rfc3339(&b, ev->time_ns);
        buf_puts(&b, "\",\"attributes\":{");
        const tc_attr **order = ev->n_attrs ? malloc(ev->n_attrs * sizeof *order) : NULL;
        if (ev->n_attrs && !order) {
            b.failed = true;
            break;
        }
        for (uint32_t k = 0; k < ev->n_attrs; k++)
            order[k] = &ev->attrs[k];
        if (ev->n_attrs > 1)
            qsort(order, ev->n_attrs, sizeof *order, cmp_attr);
        bool first = true;
        for (uint32_t k = 0; k < ev->n_attrs; k++) {
            const tc_attr *at = order[k];
            if (k + 1 < ev->n_attrs && order[k + 1]->key_len == at->key_len &&
                memcmp(order[k + 1]->key, at->key, at->key_len) == 0)
                continue; /* a later one has the same key */
            if (!first)
                buf_putc(&b, ',');
            first = false;
            buf_json_string(&b, at->key, at->key_len);
            buf_putc(&b, ':');
            buf_reset(&t);
            value_to_text(&t, &at->value);
            buf_json_string(&b, buf_str(&t), t.len);
        }
        free(order);
        buf_puts(&b, "}}");
    }
    buf_putc(&b, ']');
    const char *s = b.failed || t.failed ? NULL : arena_strndup(a, buf_str(&b), b.len);
    buf_free(&b);
    buf_free(&t);
    return s;
}

static computed *get_cache(arena *a, const trace_span *csp)
{
    trace_span *sp = (trace_span *)csp; /* the cache lives on the span */
    if (!sp->ext)
        sp->ext = arena_calloc(a, 1, sizeof(computed));
    return sp->ext;
}

/* The computed value k of sp, built on first use. 0, 1 (absent) or
 * TC_ERR_NOMEM. */
/* Builds computed value k (not a direct one) of sp in a. NULL when out of
 * memory. */
static const char *computed_build(arena *a, const trace_span *sp, int k)
{
    char pid[17];
    switch (k) {
    case CA_TYPE:
        return spanattr_type(sp);
    case CA_DURATION:
        return fmt_u64(a, sp->end_ns > sp->start_ns ? sp->end_ns - sp->start_ns : 0);
    case CA_START:
        return fmt_u64(a, sp->start_ns);
    case CA_END:
        return fmt_u64(a, sp->end_ns);
    case CA_PARENT:
        hex_encode(sp->parent_id, SPAN_ID_LEN, pid);
        return arena_strdup(a, pid);
    default:
        return events_json(a, sp);
    }
}

/* The computed value k of sp: built on first use and cached on the span,
 * or, when ro, taken from the cache when there and else built in a anew
 * (nothing written: safe from several threads). 0, 1 (absent) or
 * TC_ERR_NOMEM. */
static int computed_value(arena *a, const trace_span *sp, int k, bool ro, tc_value *out)
{
    static const char *const status_names[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};
    const char *direct = NULL; /* values that need no building are not cached */
    switch (k) {
    case CA_NAME: direct = sp->name; break;
    case CA_KIND: direct = spanattr_kind(sp); break;
    case CA_STATUS: direct = status_names[sp->status_code < 3 ? sp->status_code : 0]; break;
    case CA_STATUS_DESC:
        if (!*sp->status_message)
            return 1;
        direct = sp->status_message;
        break;
    }
    if (direct) {
        *out = (tc_value){TC_V_STRING, (uint32_t)strlen(direct), {.str = direct}};
        return 0;
    }
    const computed *have = sp->ext;
    if (ro && !(have && have->done[k])) {
        const char *s = computed_build(a, sp, k);
        if (!s)
            return TC_ERR_NOMEM;
        *out = (tc_value){TC_V_STRING, (uint32_t)strlen(s), {.str = s}};
        return 0;
    }
    computed *c = ro ? (computed *)have : get_cache(a, sp);
    if (!c)
        return TC_ERR_NOMEM;
    if (!c->done[k]) {
        const char *s = computed_build(a, sp, k);
        if (!s)
            return TC_ERR_NOMEM;
        c->done[k] = 1;
        c->v[k] = (tc_value){TC_V_STRING, (uint32_t)strlen(s), {.str = s}};
    }
    *out = c->v[k];
    return 0;
}

/* The bit of a key in a 128-bit filter (FNV-1a). */
static void key_bit(const char *key, size_t n, uint64_t bit[2])
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    unsigned b = (unsigned)(h >> 57); /* 0..127 */
    bit[0] = b < 64 ? 1ull << b : 0;
    bit[1] = b >= 64 ? 1ull << (b - 64) : 0;
}

/* False when the span's own attributes surely lack the key. */
static bool maybe_has(arena *a, const trace_span *sp, const spanattr_key *k)
{
    computed *c = get_cache(a, sp);
    if (!c)
        return true;
    if (!c->bloom_done) {
        for (uint32_t i = 0; i < sp->n_attrs; i++) {
            uint64_t bit[2];
            key_bit(sp->attrs[i].key, sp->attrs[i].key_len, bit);
            c->bloom[0] |= bit[0];
            c->bloom[1] |= bit[1];
        }
        c->bloom_done = true;
    }
    return (c->bloom[0] & k->bloom[0]) || (c->bloom[1] & k->bloom[1]);
}

void spanattr_key_init(spanattr_key *k, const char *key, size_t n)
{
    memset(k, 0, sizeof *k);
    k->key = key;
    k->n = n;
    k->computed = -1;
    k->col = -1;
    key_bit(key, n, k->bloom);
    if ((n > 15 && memcmp(key, "tracetest.span.", 15) == 0) ||
        (n == 11 && memcmp(key, "span.events", 11) == 0)) {
        for (int i = 0; i < CA_COUNT; i++)
            if (computed_len[i] == n && memcmp(computed_names[i], key, n) == 0)
                k->computed = i;
    }
}

/* The key's attribute among owner's, through the memo. */
static const tc_attr *memo_find(spanattr_key *k, const void *owner, const tc_attr *attrs, uint32_t count)
{
    if (!count)
        return NULL;
    unsigned slot =
        (unsigned)((((uint64_t)(uintptr_t)owner >> 4) * 0x9E3779B97F4A7C15ull) >> 58) % SPANATTR_MEMO;
    if (k->memo[slot].owner == owner)
        return k->memo[slot].hit;
    const tc_attr *hit = attr_find(attrs, count, k->key, k->n);
    k->memo[slot].owner = owner;
    k->memo[slot].hit = hit;
    return hit;
}

/* ---- key tables ---- */

/* A row entry (valid once the span is recorded: types[order] != 0): 0 the
 * span lacks the key; else where the winning attribute sits (resource >
 * scope > the span's own, as lookups resolve it): source in the top two
 * bits, 1 + index in the rest. TABLE_SCAN: look up by scanning. */
#define TABLE_NONE 0
#define TABLE_SCAN 0xFFFF
#define TABLE_OWN 0x0000
#define TABLE_RES 0x4000
#define TABLE_SCOPE 0x8000
#define TABLE_INDEX 0x3FFF
#define TABLE_MAX_ATTRS 0x3FFE /* more attributes in a group: not recorded */

typedef struct table_slot {
    const char *key; /* NULL: empty */
    uint32_t len;
    uint32_t col;
} table_slot;

typedef struct owner_row {
    const void *owner; /* a resource or scope; NULL: empty */
    uint16_t *row;     /* where its attributes have each key (0: absent) */
    unsigned cls;      /* the best type prefix among its keys (N_PREFIX: none) */
} owner_row;

/* What a key (by address: decoders share one copy of a repeated key) is to
 * the table: its column and its class (key_class). Direct-mapped; a miss
 * looks the text up. */
#define KEY_SLOTS 4096
typedef struct key_slot {
    const char *key; /* NULL: empty */
    uint32_t len;
    int32_t col; /* -1: not a column */
    unsigned cls;
} key_slot;

/* What filling rows writes besides the rows: one per thread. */
struct spanattr_filler {
    key_slot *keys;    /* KEY_SLOTS, allocated on first use */
    const void *last_res, *last_scope;      /* the previous span's, whose rows follow */
    const uint16_t *last_rr, *last_sr;
    unsigned last_rcls, last_scls;
    owner_row *owners; /* resources' and scopes' rows, open addressing */
    uint32_t owner_cap, n_owners;
    bool failed;       /* out of memory: spans stay unrecorded */
};

struct spanattr_table {
    table_slot *slots; /* keys, open addressing, cap a power of two */
    uint32_t cap, n_cols;
    uint64_t lens;     /* bit l: a key of length l (l < 63), bit 63: a longer one */
    const trace *t;   /* the trace the rows are for; NULL until begun */
    uint16_t *rows;   /* [order * n_cols + col] */
    uint32_t n_rows;
    uint8_t *types;   /* [order]: 1 + the span's type (type_from), 0: not recorded */
    spanattr_filler fill; /* for spanattr_table_fill_span */
};

/* A cheap hash of a key: length and three of its bytes (no loop). */
static inline uint32_t table_hash(const char *key, uint32_t len)
{
    uint32_t h = len * 0x9E3779B1u;
    if (len) {
        h ^= (uint32_t)(unsigned char)key[len - 1] * 0x85EBCA6Bu;
        h ^= (uint32_t)(unsigned char)key[len / 2] * 0xC2B2AE35u;
        h ^= (uint32_t)(unsigned char)key[0] * 0x27D4EB2Fu;
    }
    return h ^ (h >> 15);
}

spanattr_table *spanattr_table_new(void)
{
    return calloc(1, sizeof(spanattr_table));
}

static void free_owners(spanattr_filler *f)
{
    for (uint32_t i = 0; i < f->owner_cap; i++)
        free(f->owners[i].row);
    free(f->owners);
    f->owners = NULL;
    f->owner_cap = f->n_owners = 0;
    f->failed = false;
    f->last_res = f->last_scope = NULL;
}

spanattr_filler *spanattr_filler_new(void)
{
    return calloc(1, sizeof(spanattr_filler));
}

void spanattr_filler_free(spanattr_filler **f)
{
    if (!f || !*f)
        return;
    free_owners(*f);
    free((*f)->keys);
    free(*f);
    *f = NULL;
}

void spanattr_table_free(spanattr_table **tb)
{
    if (!tb || !*tb)
        return;
    free_owners(&(*tb)->fill);
    free((*tb)->fill.keys);
    free((*tb)->slots);
    free((*tb)->rows);
    free((*tb)->types);
    free(*tb);
    *tb = NULL;
}

static table_slot *table_find(table_slot *slots, uint32_t cap, const char *key, uint32_t len)
{
    for (uint32_t i = table_hash(key, len) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!slots[i].key || (slots[i].len == len && memcmp(slots[i].key, key, len) == 0))
            return &slots[i];
}

int spanattr_table_add(spanattr_table *tb, spanattr_key *k)
{
    if (k->computed >= 0 || k->n > UINT32_MAX || tb->t)
        return 0;
    if (4 * (tb->n_cols + 1) > tb->cap) { /* at most a quarter full: short probes */
        uint32_t cap = tb->cap ? tb->cap * 2 : 64;
        table_slot *ns = calloc(cap, sizeof *ns);
        if (!ns)
            return TC_ERR_NOMEM;
        for (uint32_t i = 0; i < tb->cap; i++)
            if (tb->slots[i].key)
                *table_find(ns, cap, tb->slots[i].key, tb->slots[i].len) = tb->slots[i];
        free(tb->slots);
        tb->slots = ns;
        tb->cap = cap;
    }
    table_slot *sl = table_find(tb->slots, tb->cap, k->key, (uint32_t)k->n);
    if (!sl->key)
        *sl = (table_slot){k->key, (uint32_t)k->n, tb->n_cols++};
    tb->lens |= 1ull << (k->n < 63 ? k->n : 63);
    k->col = (int)sl->col;
    return 0;
}

int spanattr_table_begin(spanattr_table *tb, const trace *t)
{
    free(tb->rows);
    free(tb->types);
    free_owners(&tb->fill);
    tb->rows = NULL;
    tb->types = NULL;
    tb->t = NULL;
    tb->n_rows = 0;
    if (!t->indexed)
        return 0;
    size_t cols = tb->n_cols ? tb->n_cols : 1;
    if ((size_t)t->n_spans > SPANATTR_TABLE_MAX / sizeof *tb->rows / cols)
        return TC_ERR_LIMIT;
    tb->rows = malloc(((size_t)t->n_spans * tb->n_cols + 1) * sizeof *tb->rows);
    tb->types = calloc((size_t)t->n_spans + 1, 1);
    if (!tb->rows || !tb->types) {
        free(tb->rows);
        free(tb->types);
        tb->rows = NULL;
        tb->types = NULL;
        return TC_ERR_NOMEM;
    }
    tb->t = t;
    tb->n_rows = t->n_spans;
    return 0;
}

/* Records in row[col] = tag | (1 + index) where attrs[] has each column's
 * key (the last of a repeated key). Returns the best type prefix among the
 * keys (N_PREFIX: none), or'ed with CLASS_EVENT_TYPE when one is
 * event_type. */
static unsigned scan_into(const spanattr_table *tb, spanattr_filler *f, const tc_attr *attrs, uint32_t n,
                          uint16_t tag, uint16_t *row)
{
    unsigned best = N_PREFIX, ev = 0;
    for (uint32_t j = 0; j < n; j++) {
        const char *key = attrs[j].key;
        uint32_t kl = attrs[j].key_len;
        key_slot *ks = &f->keys[(((uint64_t)(uintptr_t)key >> 3) * 0x9E3779B97F4A7C15ull) >> 52];
        if (ks->key != key || ks->len != kl) {
            table_slot *sl = NULL;
            if (tb->cap && (tb->lens & (1ull << (kl < 63 ? kl : 63)))) /* else no key of this length */
                sl = table_find(tb->slots, tb->cap, key, kl);
            *ks = (key_slot){key, kl, sl && sl->key ? (int32_t)sl->col : -1, key_class(key, kl)};
        }
        if (ks->col >= 0)
            row[ks->col] = (uint16_t)(tag | (j + 1));
        unsigned p = ks->cls & ~CLASS_EVENT_TYPE;
        best = p < best ? p : best;
        ev |= ks->cls & CLASS_EVENT_TYPE;
    }
    return best | ev;
}

/* The row of a resource's or scope's attributes, built on first use; NULL
 * when out of memory. */
static const owner_row *owner_row_of(const spanattr_table *tb, spanattr_filler *f, const void *owner,
                                     const tc_attr *attrs, uint32_t n, uint16_t tag)
{
    if (f->owner_cap) {
        uint32_t i = (uint32_t)((((uint64_t)(uintptr_t)owner >> 4) * 0x9E3779B97F4A7C15ull) >> 32) &
                     (f->owner_cap - 1);
        for (;; i = (i + 1) & (f->owner_cap - 1)) {
            if (f->owners[i].owner == owner)
                return &f->owners[i];
            if (!f->owners[i].owner)
                break;
        }
    }
    if (2 * (f->n_owners + 1) > f->owner_cap) {
        uint32_t cap = f->owner_cap ? f->owner_cap * 2 : 64;
        owner_row *no = calloc(cap, sizeof *no);
        if (!no)
            return NULL;
        for (uint32_t i = 0; i < f->owner_cap; i++) {
            if (!f->owners[i].owner)
                continue;
            uint32_t k = (uint32_t)((((uint64_t)(uintptr_t)f->owners[i].owner >> 4) * 0x9E3779B97F4A7C15ull) >>
                                    32) &
                         (cap - 1);
            while (no[k].owner)
                k = (k + 1) & (cap - 1);
            no[k] = f->owners[i];
        }
        free(f->owners);
        f->owners = no;
        f->owner_cap = cap;
    }
    uint16_t *row = calloc(tb->n_cols ? tb->n_cols : 1, sizeof *row);
    if (!row)
        return NULL;
    unsigned cls = scan_into(tb, f, attrs, n, tag, row) & ~CLASS_EVENT_TYPE;
    uint32_t i = (uint32_t)((((uint64_t)(uintptr_t)owner >> 4) * 0x9E3779B97F4A7C15ull) >> 32) & (f->owner_cap - 1);
    while (f->owners[i].owner)
        i = (i + 1) & (f->owner_cap - 1);
    f->owners[i] = (owner_row){owner, row, cls};
    f->n_owners++;
    return &f->owners[i];
}

void spanattr_table_fill_span_by(const spanattr_table *ctb, spanattr_filler *f, const trace_span *sp)
{
    spanattr_table *tb = (spanattr_table *)ctb; /* writes only the span's own row */
    if (!tb->t || sp->order >= tb->n_rows || tb->t->preorder[sp->order] != sp)
        return;
    uint16_t *row = tb->rows + (size_t)sp->order * tb->n_cols;
    if (sp->n_attrs > TABLE_MAX_ATTRS || sp->resource->n_attrs > TABLE_MAX_ATTRS ||
        sp->scope->n_attrs > TABLE_MAX_ATTRS || f->failed)
        return; /* not recorded: lookups scan */
    if (!f->keys && !(f->keys = calloc(KEY_SLOTS, sizeof *f->keys))) {
        f->failed = true;
        return;
    }
    if (sp->resource != f->last_res || sp->scope != f->last_scope) { /* spans of a batch share them */
        /* an owner's entry moves when another is added: copy it first */
        const owner_row *ro = owner_row_of(tb, f, sp->resource, sp->resource->attrs, sp->resource->n_attrs, TABLE_RES);
        const uint16_t *rr = ro ? ro->row : NULL;
        unsigned rcls = ro ? ro->cls : N_PREFIX;
        const owner_row *so = ro ? owner_row_of(tb, f, sp->scope, sp->scope->attrs, sp->scope->n_attrs, TABLE_SCOPE) : NULL;
        if (!ro || !so) {
            f->failed = true;
            return;
        }
        f->last_res = sp->resource;
        f->last_scope = sp->scope;
        f->last_rr = rr;
        f->last_rcls = rcls;
        f->last_sr = so->row;
        f->last_scls = so->cls;
    }
    const uint16_t *rr = f->last_rr, *sr = f->last_sr;
    unsigned rcls = f->last_rcls, scls = f->last_scls;
    memset(row, 0, tb->n_cols * sizeof *row);
    unsigned own = scan_into(tb, f, sp->attrs, sp->n_attrs, TABLE_OWN, row);
    for (uint32_t c = 0; c < tb->n_cols; c++) /* resource > scope > own */
        if (rr[c] || sr[c])
            row[c] = rr[c] ? rr[c] : sr[c];
    tb->types[sp->order] = (uint8_t)(1 + type_from(sp, own, rcls, scls));
}

void spanattr_table_fill_span(spanattr_table *tb, const trace_span *sp)
{
    spanattr_table_fill_span_by(tb, &tb->fill, sp);
}

void spanattr_table_prefetch(const spanattr_table *tb, const trace_span *sp, int stage)
{
    if (!tb || !tb->t || sp->order >= tb->n_rows)
        return;
    const uint16_t *row = tb->rows + (size_t)sp->order * tb->n_cols;
    if (stage == 1 && !tb->types[sp->order])
        return; /* not recorded */
    if (stage == 0) {
        PREFETCH(row);
        return;
    }
    for (uint32_t c = 0; c < tb->n_cols; c++) {
        uint16_t e = row[c];
        if (e == TABLE_NONE || e == TABLE_SCAN)
            continue;
        uint32_t idx = (e & TABLE_INDEX) - 1u;
        if ((e & ~TABLE_INDEX) == TABLE_OWN && idx < sp->n_attrs)
            PREFETCH(&sp->attrs[idx]);
    }
}

const void *spanattr_table_shared(const spanattr_table *tb, const trace_span *sp, const spanattr_key *k)
{
    if (!tb || !tb->t || sp->order >= tb->n_rows || !tb->types[sp->order] || tb->t->preorder[sp->order] != sp)
        return NULL;
    if (k->computed == CA_TYPE)
        return type_name(tb->types[sp->order] - 1u);
    if (k->col < 0 || (uint32_t)k->col >= tb->n_cols)
        return NULL;
    uint16_t e = tb->rows[(size_t)sp->order * tb->n_cols + (uint32_t)k->col];
    uint32_t idx = (e & TABLE_INDEX) - 1u;
    if (e == TABLE_NONE || (e & ~TABLE_INDEX) == TABLE_OWN)
        return NULL;
    return (e & ~TABLE_INDEX) == TABLE_RES ? (const void *)&sp->resource->attrs[idx] : (const void *)&sp->scope->attrs[idx];
}

void spanattr_prefetch_span(const trace_span *sp)
{
    const char *p = (const char *)sp;
    for (size_t off = 0; off < sizeof *sp; off += 64)
        PREFETCH(p + off);
    PREFETCH(p + sizeof *sp - 1);
}

void spanattr_table_prefetch_key(const spanattr_table *tb, const trace_span *sp, const spanattr_key *k, int stage)
{
    if (!tb || !tb->t || sp->order >= tb->n_rows || k->col < 0 || (uint32_t)k->col >= tb->n_cols ||
        !tb->types[sp->order])
        return;
    uint16_t e = tb->rows[(size_t)sp->order * tb->n_cols + (uint32_t)k->col];
    uint32_t idx = (e & TABLE_INDEX) - 1u;
    if (e == TABLE_NONE || (e & ~TABLE_INDEX) != TABLE_OWN || idx >= sp->n_attrs)
        return;
    const tc_attr *at = &sp->attrs[idx];
    if (stage == 0) {
        PREFETCH(at);
    } else if (at->value.type == TC_V_STRING) { /* its text: both ends */
        PREFETCH(at->value.u.str);
        PREFETCH(at->value.u.str + at->value.len);
    }
}

int spanattr_table_fill(spanattr_table *tb, const trace *t)
{
    int rc = spanattr_table_begin(tb, t);
    if (rc || !tb->t)
        return rc;
    for (uint32_t i = 0; i < t->n_spans; i++) {
        /* in arrival order, which is usually the order in memory */
        if (i + 8 < t->n_spans)
            PREFETCH(t->spans[i + 8]);
        if (i + 4 < t->n_spans)
            PREFETCH(t->spans[i + 4]->attrs);
        spanattr_table_fill_span(tb, t->spans[i]);
    }
    return 0;
}

int spanattr_get_key(arena *a, const trace_span *sp, spanattr_key *k, tc_value *out)
{
    return spanattr_get_key_in(a, sp, k, NULL, out);
}

/* spanattr_get_key_in; when ro, writes no cache (see spanattr_get_key_ro). */
static int get_key(arena *a, const trace_span *sp, spanattr_key *k, const spanattr_table *tb, bool ro,
                   tc_value *out)
{
    if (k->computed == CA_TYPE && tb && tb->t && sp->order < tb->n_rows && tb->types[sp->order] &&
        tb->t->preorder[sp->order] == sp) {
        const char *s = type_name(tb->types[sp->order] - 1u);
        *out = (tc_value){TC_V_STRING, (uint32_t)strlen(s), {.str = s}};
        return 0;
    }
    if (k->computed >= 0)
        return computed_value(a, sp, k->computed, ro, out);
    uint16_t e = TABLE_SCAN;
    if (tb && tb->t && k->col >= 0 && (uint32_t)k->col < tb->n_cols && sp->order < tb->n_rows &&
        tb->types[sp->order] && tb->t->preorder[sp->order] == sp)
        e = tb->rows[(size_t)sp->order * tb->n_cols + (uint32_t)k->col];
    const tc_attr *at = NULL;
    if (e != TABLE_SCAN) {
        uint32_t idx = (e & TABLE_INDEX) - 1u;
        if (e == TABLE_NONE)
            at = NULL;
        else if ((e & ~TABLE_INDEX) == TABLE_RES)
            at = &sp->resource->attrs[idx];
        else if ((e & ~TABLE_INDEX) == TABLE_SCOPE)
            at = &sp->scope->attrs[idx];
        else
            at = &sp->attrs[idx];
    } else if (ro) {
        at = attr_find(sp->resource->attrs, sp->resource->n_attrs, k->key, k->n);
        if (!at)
            at = attr_find(sp->scope->attrs, sp->scope->n_attrs, k->key, k->n);
        if (!at)
            at = attr_find(sp->attrs, sp->n_attrs, k->key, k->n);
    } else {
        at = memo_find(k, sp->resource, sp->resource->attrs, sp->resource->n_attrs);
        if (!at)
            at = memo_find(k, sp->scope, sp->scope->attrs, sp->scope->n_attrs);
        if (!at && (sp->n_attrs <= 4 || maybe_has(a, sp, k)))
            at = attr_find(sp->attrs, sp->n_attrs, k->key, k->n);
    }
    if (at) {
        *out = at->value;
        return 0;
    }
    const char *key = k->key;
    size_t n = k->n;
    if (n == 12 && memcmp(key, "service.name", 12) == 0 && *sp->scope->name) {
        /* Tracetest names the service after the scope when the resource does not */
        *out = (tc_value){TC_V_STRING, (uint32_t)strlen(sp->scope->name), {.str = sp->scope->name}};
        return 0;
    }
    if (n == 4 && memcmp(key, "name", 4) == 0) {
        *out = (tc_value){TC_V_STRING, (uint32_t)strlen(sp->name), {.str = sp->name}};
        return 0;
    }
    if (n == 4 && memcmp(key, "kind", 4) == 0) {
        const char *kd = spanattr_kind(sp);
        *out = (tc_value){TC_V_STRING, (uint32_t)strlen(kd), {.str = kd}};
        return 0;
    }
    return 1;
}

int spanattr_get_key_in(arena *a, const trace_span *sp, spanattr_key *k, const spanattr_table *tb,
                        tc_value *out)
{
    return get_key(a, sp, k, tb, false, out);
}

int spanattr_get_key_ro(arena *scratch, const trace_span *sp, const spanattr_key *k, const spanattr_table *tb,
                        tc_value *out)
{
    return get_key(scratch, sp, (spanattr_key *)k, tb, true, out); /* ro: k's memo is not touched */
}

int spanattr_get(arena *a, const trace_span *sp, const char *key, size_t n, tc_value *out)
{
    spanattr_key k;
    spanattr_key_init(&k, key, n);
    return spanattr_get_key(a, sp, &k, out);
}

typedef struct each_slot {
    const char *key; /* NULL: empty */
    uint32_t len;
    int group;    /* -1: a computed value */
    uint32_t idx; /* the key's last position in its group */
} each_slot;

static each_slot *each_find(each_slot *tab, size_t cap, const char *key, uint32_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    for (size_t i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!tab[i].key || (tab[i].len == len && memcmp(tab[i].key, key, len) == 0))
            return &tab[i];
}

int spanattr_each(arena *a, const trace_span *sp, void (*fn)(void *user, const char *key, const tc_value *v),
                  void *user)
{
    const struct {
        const tc_attr *attrs;
        uint32_t n;
    } groups[3] = {{sp->resource->attrs, sp->resource->n_attrs},
                   {sp->scope->attrs, sp->scope->n_attrs},
                   {sp->attrs, sp->n_attrs}}; /* in order of precedence */
    size_t total = (size_t)groups[0].n + groups[1].n + groups[2].n + CA_COUNT + 1, cap = 16;
    while (cap < 2 * total)
        cap *= 2;
    each_slot *tab = calloc(cap, sizeof *tab);
    if (!tab)
        return TC_ERR_NOMEM;
    for (int k = 0; k < CA_COUNT; k++) {
        tc_value v;
        int rc = computed_value(a, sp, k, false, &v);
        if (rc == TC_ERR_NOMEM) {
            free(tab);
            return rc;
        }
        *each_find(tab, cap, computed_names[k], computed_len[k]) =
            (each_slot){computed_names[k], computed_len[k], -1, 0};
        if (rc == 0)
            fn(user, computed_names[k], &v);
    }
    for (int g = 0; g < 3; g++) {
        for (uint32_t i = 0; i < groups[g].n; i++) { /* a key repeated in a group: the last wins */
            const tc_attr *at = &groups[g].attrs[i];
            each_slot *sl = each_find(tab, cap, at->key, at->key_len);
            if (!sl->key)
                *sl = (each_slot){at->key, at->key_len, g, i};
            else if (sl->group == g)
                sl->idx = i;
        }
        for (uint32_t i = 0; i < groups[g].n; i++) {
            const tc_attr *at = &groups[g].attrs[i];
            each_slot *sl = each_find(tab, cap, at->key, at->key_len);
            if (sl->group == g && sl->idx == i)
                fn(user, at->key, &at->value);
        }
    }
    if (!each_find(tab, cap, "service.name", 12)->key && *sp->scope->name) {
        tc_value v = {TC_V_STRING, (uint32_t)strlen(sp->scope->name), {.str = sp->scope->name}};
        fn(user, "service.name", &v);
    }
    free(tab);
    return 0;
}
