/* diff.c - structural diff of two traces (see diff.h): keys per span,
 * sibling groups matched level by level in A's pre-order, then the
 * changes of matched pairs and the subtrees only one trace has. */
#include "diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define FLAG_REPEAT 1u /* an extra repetition of a group both traces have */
#define SMALL_ATTRS 32 /* up to this many attributes a span's are compared pairwise */
#define ICACHE_SLOTS 4096

typedef struct dkey {
    const char *svc;  /* service name, "" when none */
    const char *name; /* normalized name */
    uint32_t svc_len, name_len;
    uint32_t hash;
    uint8_t kind;
} dkey;

struct diff_side {
    const trace *t;
    dkey *key;         /* by span order (pre-order position) */
    uint32_t *partner; /* order of the partner in the other trace, NONE */
    uint32_t *occ;     /* 0-based rank among the siblings of the same key */
    uint8_t *flags;
};

typedef struct item {
    const dkey *k;
    uint32_t pos; /* position among the siblings (start order) */
    uint32_t ord; /* the span's order */
} item;

typedef struct icache_slot {
    const char *key;
    uint32_t len, hash;
    uint8_t used, ignored;
} icache_slot;

typedef struct ctx {
    const diff_opts *o;
    arena *ar;
    diff_result *d;
    uint32_t max_items;
    const char *const *pats; /* ignore patterns: defaults then the caller's */
    uint32_t n_pats;
    item *ia, *ib; /* scratch for one level */
    size_t cap_ia, cap_ib;
    diff_attr *attrs; /* scratch for one pair */
    size_t cap_attrs;
    struct aref *sa, *sb; /* scratch: attributes sorted by key */
    size_t cap_sa, cap_sb;
    tc_buf nbuf, vbuf; /* scratch for normalizing names and values */
    diff_count *counts;
    uint32_t n_counts, cap_counts;
    icache_slot *icache;
    uint32_t icache_n;
    bool nomem;
} ctx;

static const char *const default_ignores[] = {
    "*.id",
    "*_id",
    "*-id",
    "id",
    "*.uuid",
    "*uuid",
    "*time",
    "*time_*",
    "*.time.*",
    "*timestamp*",
    "*_at",
    "*.date",
    "date",
    "*.header.date",
    "*.header.etag",
    "*.header.last-modified",
    "*.header.x-request-id",
    "*.header.traceparent",
    "*.header.tracestate",
    "*.pid",
    "thread.*",
    "client.port",
    "network.peer.port",
    "net.peer.port",
    "net.sock.peer.port",
    "net.host.port",
    "network.local.port",
    "net.sock.host.port",
    "tracetest.response.headers",
    "tracetest.span.duration",
    NULL,
};

const char *const *diff_default_ignores(void)
{
    return default_ignores;
}

bool diff_glob(const char *p, const char *s, size_t n)
{
    /* iterative glob with one backtrack point: linear-ish, no recursion */
    size_t i = 0, star_p = (size_t)-1, star_i = 0;
    size_t pi = 0;
    while (i < n) {
        if (p[pi] == '*') {
            star_p = ++pi;
            star_i = i;
        } else if (p[pi] && p[pi] == s[i]) {
            pi++;
            i++;
        } else if (star_p != (size_t)-1) {
            pi = star_p;
            i = ++star_i;
        } else {
            return false;
        }
    }
    while (p[pi] == '*')
        pi++;
    return p[pi] == '\0';
}

/* ---- names ---- */

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}
static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_alnum(unsigned char c)
{
    return is_digit(c) || is_alpha(c);
}
static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool uuid_at(const char *s, size_t n)
{
    static const uint8_t groups[] = {8, 4, 4, 4, 12};
    if (n < 36)
        return false;
    size_t i = 0;
    for (int g = 0; g < 5; g++) {
        for (int k = 0; k < groups[g]; k++, i++)
            if (!is_hex((unsigned char)s[i]))
                return false;
        if (g < 4 && s[i++] != '-')
            return false;
    }
    return n == 36 || !is_alnum((unsigned char)s[36]);
}

/* Writes s normalized (diff.h) into b; false when nothing changes (b is
 * then not filled). */
static bool normalize_into(tc_buf *b, const char *s, size_t n)
{
    bool digit = false;
    for (size_t i = 0; i < n && !digit; i++)
        digit = is_digit((unsigned char)s[i]);
    if (!digit)
        return false;
    buf_reset(b);
    bool changed = false;
    size_t i = 0;
    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        bool prev_alnum = i > 0 && is_alnum((unsigned char)s[i - 1]);
        if (!prev_alnum && is_hex(ch)) {
            if (uuid_at(s + i, n - i)) {
                buf_puts(b, "{uuid}");
                i += 36;
                changed = true;
                continue;
            }
            size_t j = i;
            bool has_digit = false, all_digit = true;
            while (j < n && is_hex((unsigned char)s[j])) {
                bool d = is_digit((unsigned char)s[j]);
                has_digit |= d;
                all_digit &= d;
                j++;
            }
            if (j - i >= 8 && has_digit && !all_digit && (j == n || !is_alnum((unsigned char)s[j]))) {
                buf_puts(b, "{hex}");
                i = j;
                changed = true;
                continue;
            }
        }
        if (is_digit(ch) && !(i > 0 && is_alpha((unsigned char)s[i - 1]))) {
            size_t j = i;
            while (j < n && is_digit((unsigned char)s[j]))
                j++;
            if (j == n || !is_alpha((unsigned char)s[j])) {
                buf_puts(b, "{n}");
                changed = true;
            } else {
                buf_append(b, s + i, j - i);
            }
            i = j;
            continue;
        }
        buf_putc(b, (char)ch);
        i++;
    }
    return changed;
}

/* The normalized name: s itself when nothing changes. */
static const char *normalize(ctx *c, const char *s, size_t n, uint32_t *out_len)
{
    *out_len = (uint32_t)n;
    if (!normalize_into(&c->nbuf, s, n))
        return s;
    char *r = c->nbuf.failed ? NULL : arena_strndup(c->ar, buf_str(&c->nbuf), c->nbuf.len);
    if (!r) {
        c->nomem = true;
        return s;
    }
    *out_len = (uint32_t)c->nbuf.len;
    return r;
}

/* Values equal, strings compared normalized unless exact_values. */
static bool values_same(ctx *c, const tc_value *x, const tc_value *y)
{
    if (value_equal(x, y))
        return true;
    if (c->o->exact_values || x->type != TC_V_STRING || y->type != TC_V_STRING)
        return false;
    bool cx = normalize_into(&c->nbuf, x->u.str, x->len), cy = normalize_into(&c->vbuf, y->u.str, y->len);
    if (!cx || !cy || c->nbuf.failed || c->vbuf.failed)
        return false; /* one side unchanged: they differed before, they differ now */
    return c->nbuf.len == c->vbuf.len && memcmp(c->nbuf.ptr, c->vbuf.ptr, c->nbuf.len) == 0;
}

static uint32_t fnv(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static int key_cmp(const dkey *x, const dkey *y)
{
    if (x == y)
        return 0;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->svc_len != y->svc_len)
        return x->svc_len < y->svc_len ? -1 : 1;
    if (x->name_len != y->name_len)
        return x->name_len < y->name_len ? -1 : 1;
    int r = memcmp(x->svc, y->svc, x->svc_len);
    return r ? r : memcmp(x->name, y->name, x->name_len);
}

static int item_cmp(const void *p, const void *q)
{
    const item *x = p, *y = q;
    int r = key_cmp(x->k, y->k);
    if (r)
        return r;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static struct diff_side *side_new(ctx *c, const trace *t)
{
    uint32_t n = t->n_spans;
    struct diff_side *s = arena_calloc(c->ar, 1, sizeof *s);
    if (!s)
        return NULL;
    s->t = t;
    s->key = arena_alloc(c->ar, (size_t)n * sizeof *s->key);
    s->partner = arena_alloc(c->ar, (size_t)n * sizeof *s->partner);
    s->occ = arena_calloc(c->ar, n, sizeof *s->occ);
    s->flags = arena_calloc(c->ar, n, 1);
    if (!s->key || !s->partner || !s->occ || !s->flags)
        return NULL;
    const trace_resource *last_res = NULL;
    const char *svc = "";
    uint32_t svc_len = 0;
    for (uint32_t i = 0; i < n; i++) {
        const trace_span *sp = t->preorder[i];
        dkey *k = &s->key[i];
        if (sp->resource != last_res || !last_res) { /* spans of a batch share their resource */
            last_res = sp->resource;
            svc = trace_span_service(sp);
            svc_len = (uint32_t)strlen(svc);
        }
        k->svc = svc;
        k->svc_len = svc_len;
        k->name = normalize(c, sp->name, strlen(sp->name), &k->name_len);
        k->kind = sp->kind;
        uint32_t h = fnv(2166136261u, k->svc, k->svc_len);
        h = fnv(h ^ 0xff, k->name, k->name_len);
        k->hash = h ^ k->kind;
        s->partner[i] = NONE;
    }
    return c->nomem ? NULL : s;
}

/* ---- matching ---- */

static bool grow(void **p, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap)
        return true;
    size_t n = *cap ? *cap : 16;
    while (n < want)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

/* Fills items from up to two lists of sibling spans. */
static bool gather(ctx *c, item **out, size_t *cap, const struct diff_side *s, trace_span *const *l1,
                   uint32_t n1, trace_span *const *l2, uint32_t n2)
{
    if (!grow((void **)out, cap, (size_t)n1 + n2, sizeof **out))
        return false;
    item *it = *out;
    uint32_t k = 0;
    for (uint32_t i = 0; i < n1; i++, k++)
        it[k] = (item){&s->key[l1[i]->order], k, l1[i]->order};
    for (uint32_t i = 0; i < n2; i++, k++)
        it[k] = (item){&s->key[l2[i]->order], k, l2[i]->order};
    if (k > 1)
        qsort(it, k, sizeof *it, item_cmp);
    return true;
}

static void add_count(ctx *c, uint32_t oa, uint32_t ob, uint32_t ca, uint32_t cb, uint32_t xa, uint32_t xb)
{
    c->d->n_counts_total++;
    if (c->n_counts >= c->max_items) {
        c->d->truncated = true;
        return;
    }
    if (c->n_counts == c->cap_counts) {
        size_t cap = c->cap_counts;
        if (!grow((void **)&c->counts, &cap, (size_t)c->n_counts + 1, sizeof *c->counts)) {
            c->nomem = true;
            return;
        }
        c->cap_counts = (uint32_t)cap;
    }
    c->counts[c->n_counts++] =
        (diff_count){c->d->side[0]->t->preorder[oa], c->d->side[1]->t->preorder[ob], ca, cb, xa, xb};
}

/* Matches two sibling lists: groups of equal keys, paired in start order. */
static void match_level(ctx *c, trace_span *const *a1, uint32_t na1, trace_span *const *a2, uint32_t na2,
                        trace_span *const *b1, uint32_t nb1, trace_span *const *b2, uint32_t nb2)
{
    struct diff_side *A = c->d->side[0], *B = c->d->side[1];
    if (!gather(c, &c->ia, &c->cap_ia, A, a1, na1, a2, na2) ||
        !gather(c, &c->ib, &c->cap_ib, B, b1, nb1, b2, nb2)) {
        c->nomem = true;
        return;
    }
    uint32_t na = na1 + na2, nb = nb1 + nb2, i = 0, j = 0;
    const item *ia = c->ia, *ib = c->ib;
    while (i < na || j < nb) {
        int r = i == na ? 1 : j == nb ? -1 : key_cmp(ia[i].k, ib[j].k);
        uint32_t i2 = i, j2 = j;
        if (r <= 0)
            while (i2 < na && key_cmp(ia[i2].k, ia[i].k) == 0)
                i2++;
        if (r >= 0)
            while (j2 < nb && key_cmp(ib[j2].k, ib[j].k) == 0)
                j2++;
        uint32_t ca = i2 - i, cb = j2 - j, m = ca < cb ? ca : cb;
        for (uint32_t k = 0; k < ca; k++)
            A->occ[ia[i + k].ord] = k;
        for (uint32_t k = 0; k < cb; k++)
            B->occ[ib[j + k].ord] = k;
        for (uint32_t k = 0; k < m; k++) {
            A->partner[ia[i + k].ord] = ib[j + k].ord;
            B->partner[ib[j + k].ord] = ia[i + k].ord;
        }
        if (ca && cb && ca != cb) {
            for (uint32_t k = m; k < ca; k++)
                A->flags[ia[i + k].ord] |= FLAG_REPEAT;
            for (uint32_t k = m; k < cb; k++)
                B->flags[ib[j + k].ord] |= FLAG_REPEAT;
            uint32_t xa = 0, xb = 0;
            for (uint32_t k = m; k < ca; k++)
                xa += A->t->preorder[ia[i + k].ord]->subtree + 1;
            for (uint32_t k = m; k < cb; k++)
                xb += B->t->preorder[ib[j + k].ord]->subtree + 1;
            add_count(c, ia[i].ord, ib[j].ord, ca, cb, xa, xb);
        }
        i = i2;
        j = j2;
    }
}

/* ---- attributes ---- */

static bool ignored(ctx *c, const char *key, uint32_t len)
{
    if (!c->n_pats)
        return false;
    uint32_t h = fnv(2166136261u, key, len);
    uint32_t slot = h & (ICACHE_SLOTS - 1);
    if (c->icache) {
        for (uint32_t probe = 0; probe < ICACHE_SLOTS; probe++) {
            icache_slot *e = &c->icache[(slot + probe) & (ICACHE_SLOTS - 1)];
            if (!e->used)
                break;
            if (e->hash == h && e->len == len && (e->key == key || memcmp(e->key, key, len) == 0))
                return e->ignored;
        }
    }
    bool ign = false;
    for (uint32_t p = 0; p < c->n_pats && !ign; p++)
        ign = diff_glob(c->pats[p], key, len);
    if (c->icache && c->icache_n < ICACHE_SLOTS * 3 / 4) {
        while (c->icache[slot].used)
            slot = (slot + 1) & (ICACHE_SLOTS - 1);
        c->icache[slot] = (icache_slot){key, len, h, 1, ign};
        c->icache_n++;
    }
    return ign;
}

static bool same_key(const tc_attr *x, const tc_attr *y)
{
    return x->key_len == y->key_len && (x->key == y->key || memcmp(x->key, y->key, x->key_len) == 0);
}

static void put_attr(ctx *c, size_t *n, const char *key, diff_attr_kind kind, const tc_value *a,
                     const tc_value *b)
{
    if (!grow((void **)&c->attrs, &c->cap_attrs, *n + 1, sizeof *c->attrs)) {
        c->nomem = true;
        return;
    }
    c->attrs[(*n)++] = (diff_attr){key, (uint8_t)kind, a, b};
}

typedef struct aref {
    const tc_attr *at;
    uint32_t idx;
} aref;

static int key_order(const tc_attr *x, const tc_attr *y)
{
    size_t m = x->key_len < y->key_len ? x->key_len : y->key_len;
    int r = memcmp(x->key, y->key, m);
    if (!r && x->key_len != y->key_len)
        r = x->key_len < y->key_len ? -1 : 1;
    return r;
}

static int aref_cmp(const void *p, const void *q)
{
    const aref *x = p, *y = q;
    int r = key_order(x->at, y->at);
    return r ? r : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

/* The attributes sorted by key, a repeated key kept once (its last copy,
 * as attr_find). Returns the count kept. */
static uint32_t sort_attrs(ctx *c, const tc_attr *at, uint32_t n, aref **v, size_t *cap)
{
    if (!grow((void **)v, cap, n ? n : 1, sizeof **v)) {
        c->nomem = true;
        return 0;
    }
    aref *r = *v;
    for (uint32_t i = 0; i < n; i++)
        r[i] = (aref){&at[i], i};
    qsort(r, n, sizeof *r, aref_cmp);
    uint32_t w = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i + 1 < n && same_key(r[i].at, r[i + 1].at))
            continue;
        r[w++] = r[i];
    }
    return w;
}

/* The attribute changes of a pair into c->attrs; returns how many. */
static size_t compare_attrs(ctx *c, const trace_span *a, const trace_span *b)
{
    size_t n = 0;
    bool aligned = a->n_attrs == b->n_attrs;
    for (uint32_t i = 0; aligned && i < a->n_attrs; i++)
        aligned = same_key(&a->attrs[i], &b->attrs[i]);
    if (aligned) { /* the same keys in the same order (the usual case): position by position */
        for (uint32_t i = 0; i < a->n_attrs; i++) {
            const tc_attr *x = &a->attrs[i], *y = &b->attrs[i];
            if (!values_same(c, &x->value, &y->value) && !ignored(c, x->key, x->key_len))
                put_attr(c, &n, x->key, DIFF_ATTR_CHANGED, &x->value, &y->value);
        }
        return n;
    }
    if (a->n_attrs <= SMALL_ATTRS && b->n_attrs <= SMALL_ATTRS) {
        for (uint32_t i = 0; i < a->n_attrs; i++) {
            const tc_attr *x = &a->attrs[i];
            bool later = false;
            for (uint32_t k = i + 1; k < a->n_attrs && !later; k++)
                later = same_key(x, &a->attrs[k]);
            if (later)
                continue;
            const tc_attr *y = attr_find(b->attrs, b->n_attrs, x->key, x->key_len);
            if ((!y || !values_same(c, &x->value, &y->value)) && !ignored(c, x->key, x->key_len))
                put_attr(c, &n, x->key, y ? DIFF_ATTR_CHANGED : DIFF_ATTR_REMOVED, &x->value,
                         y ? &y->value : NULL);
        }
        for (uint32_t i = 0; i < b->n_attrs; i++) {
            const tc_attr *y = &b->attrs[i];
            bool later = false;
            for (uint32_t k = i + 1; k < b->n_attrs && !later; k++)
                later = same_key(y, &b->attrs[k]);
            if (later)
                continue;
            if (!attr_find(a->attrs, a->n_attrs, y->key, y->key_len) && !ignored(c, y->key, y->key_len))
                put_attr(c, &n, y->key, DIFF_ATTR_ADDED, NULL, &y->value);
        }
        return n;
    }
    /* many attributes: merge the two lists sorted by key */
    uint32_t na = sort_attrs(c, a->attrs, a->n_attrs, &c->sa, &c->cap_sa);
    uint32_t nb = sort_attrs(c, b->attrs, b->n_attrs, &c->sb, &c->cap_sb);
    uint32_t i = 0, j = 0;
    while (!c->nomem && (i < na || j < nb)) {
        const tc_attr *x = i < na ? c->sa[i].at : NULL, *y = j < nb ? c->sb[j].at : NULL;
        int r = !x ? 1 : !y ? -1 : key_order(x, y);
        if (r < 0) {
            if (!ignored(c, x->key, x->key_len))
                put_attr(c, &n, x->key, DIFF_ATTR_REMOVED, &x->value, NULL);
            i++;
        } else if (r > 0) {
            if (!ignored(c, y->key, y->key_len))
                put_attr(c, &n, y->key, DIFF_ATTR_ADDED, NULL, &y->value);
            j++;
        } else {
            if (!values_same(c, &x->value, &y->value) && !ignored(c, x->key, x->key_len))
                put_attr(c, &n, x->key, DIFF_ATTR_CHANGED, &x->value, &y->value);
            i++;
            j++;
        }
    }
    return n;
}

static uint64_t dur(const trace_span *sp)
{
    return sp->end_ns > sp->start_ns ? sp->end_ns - sp->start_ns : 0;
}

static bool is_slower(ctx *c, const trace_span *a, const trace_span *b)
{
    if (c->o->slower_pct < 0)
        return false;
    uint64_t da = dur(a), db = dur(b);
    uint64_t min = c->o->slower_min_ns ? c->o->slower_min_ns : DIFF_DEFAULT_SLOWER_MIN_NS;
    if (db <= da || db - da < min)
        return false;
    return (double)db > (double)da * (1.0 + c->o->slower_pct / 100.0);
}

static void add_only(ctx *c, diff_only **list, uint32_t *n, uint32_t *total, const trace_span *sp,
                     bool repeat)
{
    (*total)++;
    if (*n >= c->max_items) {
        c->d->truncated = true;
        return;
    }
    (*list)[(*n)++] = (diff_only){sp, sp->subtree + 1, repeat};
}

/* The subtrees one trace has alone, in its pre-order. */
static int collect_only(ctx *c, int side)
{
    const struct diff_side *s = c->d->side[side];
    const struct diff_side *o = c->d->side[!side];
    const trace *t = s->t;
    uint32_t cap = t->n_spans < c->max_items ? t->n_spans : c->max_items;
    diff_only *list = arena_alloc(c->ar, (size_t)(cap ? cap : 1) * sizeof *list);
    if (!list)
        return TC_ERR_NOMEM;
    uint32_t n = 0, total = 0, spans = 0, repeats = 0;
    for (uint32_t i = 0; i < t->n_spans; i++) {
        const trace_span *sp = t->preorder[i];
        if (s->partner[i] != NONE)
            continue;
        if (sp->parent && s->partner[sp->parent->order] == NONE)
            continue; /* inside a subtree already counted */
        bool repeat = s->flags[i] & FLAG_REPEAT;
        add_only(c, &list, &n, &total, sp, repeat);
        spans += sp->subtree + 1;
        if (repeat)
            repeats += sp->subtree + 1;
    }
    (void)o;
    if (side == 0) {
        c->d->only_a = list, c->d->n_only_a = n, c->d->n_only_a_total = total, c->d->spans_only_a = spans;
        c->d->spans_repeat_a = repeats;
    } else {
        c->d->only_b = list, c->d->n_only_b = n, c->d->n_only_b_total = total, c->d->spans_only_b = spans;
        c->d->spans_repeat_b = repeats;
    }
    return 0;
}

static int order_cmp(const void *p, const void *q)
{
    const diff_count *x = p, *y = q;
    return x->a->order < y->a->order ? -1 : x->a->order > y->a->order;
}

int diff_traces(const trace *ta, const trace *tb, const diff_opts *o, arena *ar, diff_result *out,
                tc_error *e)
{
    static const diff_opts dflt = {NULL, 0, false, false, -1, 0, 0};
    if (!o)
        o = &dflt;
    if (!ta->indexed || !tb->indexed)
        return tc_error_set(e, TC_ERR_INPUT, "diff: the traces are not indexed");
    diff_result d;
    memset(&d, 0, sizeof d);
    ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.ar = ar;
    c.d = &d;
    c.max_items = o->max_items ? o->max_items : DIFF_DEFAULT_MAX_ITEMS;
    buf_init(&c.nbuf, 0);
    buf_init(&c.vbuf, 0);
    int rc = TC_ERR_NOMEM;
    uint32_t n_def = 0;
    if (!o->no_default_ignores)
        while (default_ignores[n_def])
            n_def++;
    const char **pats = arena_alloc(ar, ((size_t)n_def + o->n_ignore + 1) * sizeof *pats);
    if (!pats)
        goto out;
    for (uint32_t i = 0; i < n_def; i++)
        pats[c.n_pats++] = default_ignores[i];
    for (uint32_t i = 0; i < o->n_ignore; i++)
        if (o->ignore[i])
            pats[c.n_pats++] = o->ignore[i];
    c.pats = pats;
    c.icache = calloc(ICACHE_SLOTS, sizeof *c.icache); /* NULL: no cache, still correct */
    d.slower_pct = o->slower_pct;
    d.max_items = c.max_items;
    d.spans_a = ta->n_spans;
    d.spans_b = tb->n_spans;
    if (!(d.side[0] = side_new(&c, ta)) || !(d.side[1] = side_new(&c, tb)))
        goto out;

    /* level by level: the tops, then the children of each matched pair in
     * A's pre-order (a parent comes before its children, so its partner is
     * known when its turn comes) */
    match_level(&c, ta->roots, ta->n_roots, ta->orphans, ta->n_orphans, tb->roots, tb->n_roots, tb->orphans,
                tb->n_orphans);
    for (uint32_t i = 0; i < ta->n_spans && !c.nomem; i++) {
        uint32_t p = d.side[0]->partner[i];
        if (p == NONE)
            continue;
        const trace_span *a = ta->preorder[i], *b = tb->preorder[p];
        d.matched++;
        if (a->n_children || b->n_children)
            match_level(&c, a->children, a->n_children, NULL, 0, b->children, b->n_children, NULL, 0);
    }
    if (c.nomem)
        goto out;

    /* count changes, in A's pre-order */
    if (c.n_counts) {
        qsort(c.counts, c.n_counts, sizeof *c.counts, order_cmp);
        d.counts = arena_alloc(ar, (size_t)c.n_counts * sizeof *d.counts);
        if (!d.counts)
            goto out;
        memcpy(d.counts, c.counts, (size_t)c.n_counts * sizeof *d.counts);
        d.n_counts = c.n_counts;
    }

    /* changes of the matched pairs */
    uint32_t cap_changes = d.matched < c.max_items ? d.matched : c.max_items;
    d.changes = arena_alloc(ar, (size_t)(cap_changes ? cap_changes : 1) * sizeof *d.changes);
    if (!d.changes)
        goto out;
    for (uint32_t i = 0; i < ta->n_spans && !c.nomem; i++) {
        uint32_t p = d.side[0]->partner[i];
        if (p == NONE)
            continue;
        const trace_span *a = ta->preorder[i], *b = tb->preorder[p];
        size_t n_attrs = compare_attrs(&c, a, b);
        bool status = a->status_code != b->status_code;
        bool slower = is_slower(&c, a, b);
        if (!n_attrs && !status && !slower)
            continue;
        d.n_attr_changes += (uint32_t)n_attrs;
        d.n_status_changes += status;
        d.n_slower += slower;
        d.n_changes_total++;
        if (d.n_changes >= c.max_items) {
            d.truncated = true;
            continue;
        }
        diff_attr *attrs = NULL;
        if (n_attrs && !(attrs = arena_alloc(ar, n_attrs * sizeof *attrs)))
            goto out;
        if (n_attrs)
            memcpy(attrs, c.attrs, n_attrs * sizeof *attrs);
        d.changes[d.n_changes++] = (diff_change){a, b, attrs, (uint32_t)n_attrs, status, slower};
    }
    if (c.nomem || collect_only(&c, 0) || collect_only(&c, 1))
        goto out;
    rc = 0;
    *out = d;
out:
    if (rc)
        tc_error_set(e, rc, "diff: out of memory (the arena's cap was reached)");
    buf_free(&c.nbuf);
    buf_free(&c.vbuf);
    free(c.ia);
    free(c.ib);
    free(c.attrs);
    free(c.sa);
    free(c.sb);
    free(c.counts);
    free(c.icache);
    return rc;
}

unsigned diff_kinds(const diff_result *d)
{
    unsigned k = 0;
    if (d->n_only_a_total || d->n_only_b_total || d->n_counts_total)
        k |= DIFF_SHAPE;
    if (d->n_attr_changes || d->n_status_changes)
        k |= DIFF_ATTRIBUTES;
    if (d->n_slower)
        k |= DIFF_DURATION;
    return k;
}

int diff_kinds_parse(const char *s)
{
    int k = 0;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        if (n == 5 && memcmp(s, "shape", 5) == 0)
            k |= DIFF_SHAPE;
        else if (n == 10 && memcmp(s, "attributes", 10) == 0)
            k |= DIFF_ATTRIBUTES;
        else if (n == 8 && memcmp(s, "duration", 8) == 0)
            k |= DIFF_DURATION;
        else if (n == 3 && memcmp(s, "any", 3) == 0)
            k |= DIFF_SHAPE | DIFF_ATTRIBUTES | DIFF_DURATION;
        else
            return -1;
        s += n;
        if (*s == ',' && *++s == '\0')
            return -1;
    }
    return k ? k : -1;
}

const trace_span *diff_partner(const diff_result *d, int side, const trace_span *sp)
{
    const struct diff_side *s = d->side[side ? 1 : 0];
    if (!s || sp->order >= s->t->n_spans || s->t->preorder[sp->order] != sp)
        return NULL;
    uint32_t p = s->partner[sp->order];
    return p == NONE ? NULL : d->side[side ? 0 : 1]->t->preorder[p];
}

/* ---- output ---- */

static void segment(tc_buf *out, const struct diff_side *s, const trace_span *sp, bool occ)
{
    const dkey *k = &s->key[sp->order];
    buf_append(out, k->name, k->name_len);
    buf_puts(out, " (");
    if (k->svc_len)
        buf_append(out, k->svc, k->svc_len);
    else
        buf_putc(out, '?');
    buf_printf(out, ", %s)", trace_kind_name(sp->kind));
    if (occ && s->occ[sp->order])
        buf_printf(out, " #%u", s->occ[sp->order] + 1);
}

static int path_of(const diff_result *d, int side, const trace_span *sp, unsigned max, bool occ_last,
                   tc_buf *out)
{
    const struct diff_side *s = d->side[side ? 1 : 0];
    if (!max)
        max = 8;
    if (max > 64)
        max = 64;
    const trace_span *chain[64];
    unsigned n = 0;
    for (const trace_span *p = sp; p && n < max; p = p->parent)
        chain[n++] = p;
    if (chain[n - 1]->parent)
        buf_puts(out, "… > ");
    else if (trace_span_has_parent(chain[n - 1]))
        buf_puts(out, "(orphan) > ");
    for (unsigned i = n; i-- > 0;) {
        segment(out, s, chain[i], i > 0 || occ_last);
        if (i)
            buf_puts(out, " > ");
    }
    return out->failed ? TC_ERR_NOMEM : 0;
}

int diff_path(const diff_result *d, int side, const trace_span *sp, unsigned max_segments, tc_buf *out)
{
    return path_of(d, side, sp, max_segments, true, out);
}

static void value_text(tc_buf *out, const tc_value *v)
{
    tc_buf t;
    buf_init(&t, 1 << 20);
    value_to_json(&t, v);
    if (t.len > 120) {
        size_t cut = 117;
        while (cut > 0 && ((unsigned char)t.ptr[cut] & 0xC0) == 0x80) /* not inside a UTF-8 sequence */
            cut--;
        buf_append(out, t.ptr, cut);
        buf_puts(out, "…");
    } else {
        buf_append(out, buf_str(&t), t.len);
    }
    buf_free(&t);
}

static void fmt_dur(tc_buf *out, uint64_t ns)
{
    if (ns < 1000000)
        buf_printf(out, "%.0fµs", (double)ns / 1e3);
    else if (ns < 1000000000)
        buf_printf(out, "%.2fms", (double)ns / 1e6);
    else
        buf_printf(out, "%.3fs", (double)ns / 1e9);
}

static const char *plural(uint32_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static bool same_group(const diff_result *d, int side, const diff_only *x, const diff_only *y)
{
    const struct diff_side *s = d->side[side];
    return x->span->parent == y->span->parent && x->repeat == y->repeat &&
           key_cmp(&s->key[x->span->order], &s->key[y->span->order]) == 0;
}

static void write_only(const diff_result *d, int side, tc_buf *out, unsigned max_lines, const char *mark,
                       const char *col, const char *dim, const char *reset)
{
    const diff_only *l = side ? d->only_b : d->only_a;
    uint32_t n = side ? d->n_only_b : d->n_only_a;
    uint32_t spans = side ? d->spans_only_b - d->spans_repeat_b : d->spans_only_a - d->spans_repeat_a;
    if (!spans)
        return;
    buf_printf(out, "only in %s (%u %s)\n", side ? "B" : "A", spans, plural(spans, "span", "spans"));
    unsigned lines = 0;
    uint32_t shown = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (l[i].repeat)
            continue;
        uint32_t j = i + 1, sub = l[i].n_spans;
        while (j < n && same_group(d, side, &l[i], &l[j]))
            sub += l[j++].n_spans;
        if (lines < max_lines) {
            buf_printf(out, "  %s%s%s ", col, mark, reset);
            path_of(d, side, l[i].span, 4, j - i == 1, out);
            if (j - i > 1)
                buf_printf(out, " ×%u", j - i);
            if (sub > j - i)
                buf_printf(out, "  %s(%u spans)%s", dim, sub, reset);
            buf_putc(out, '\n');
            shown += sub;
        }
        lines++;
        i = j - 1;
    }
    if (lines > max_lines || shown < spans)
        buf_printf(out, "  %s… %u more %s%s\n", dim, spans - shown, plural(spans - shown, "span", "spans"),
                   reset);
}

int diff_write_text(const diff_result *d, tc_buf *out, unsigned max_lines, bool color)
{
    const char *red = color ? "\033[31m" : "", *green = color ? "\033[32m" : "",
               *yellow = color ? "\033[33m" : "";
    const char *dim = color ? "\033[2m" : "", *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
    if (!max_lines)
        max_lines = 50;
    unsigned k = diff_kinds(d);
    buf_printf(out, "A %u %s, B %u %s, %u matched\n", d->spans_a, plural(d->spans_a, "span", "spans"),
               d->spans_b, plural(d->spans_b, "span", "spans"), d->matched);
    if (!k) {
        buf_printf(out, "%sno differences%s\n", green, reset);
        return out->failed ? TC_ERR_NOMEM : 0;
    }
    if (k & DIFF_SHAPE) {
        buf_printf(out, "%sshape:%s", bold, reset);
        const char *sep = " ";
        if (d->n_counts_total) {
            buf_printf(out, "%s%u sibling %s changed", sep, d->n_counts_total,
                       plural(d->n_counts_total, "count", "counts"));
            sep = ", ";
        }
        uint32_t oa = d->spans_only_a - d->spans_repeat_a, ob = d->spans_only_b - d->spans_repeat_b;
        if (oa) {
            buf_printf(out, "%s%u %s only in A", sep, oa, plural(oa, "span", "spans"));
            sep = ", ";
        }
        if (ob)
            buf_printf(out, "%s%u %s only in B", sep, ob, plural(ob, "span", "spans"));
        buf_putc(out, '\n');
    }
    if (k & DIFF_ATTRIBUTES) {
        buf_printf(out, "%sattributes:%s", bold, reset);
        if (d->n_attr_changes)
            buf_printf(out, " %u attribute %s", d->n_attr_changes,
                       plural(d->n_attr_changes, "change", "changes"));
        if (d->n_status_changes)
            buf_printf(out, "%s%u status %s", d->n_attr_changes ? ", " : " ", d->n_status_changes,
                       plural(d->n_status_changes, "change", "changes"));
        buf_putc(out, '\n');
    }
    if (k & DIFF_DURATION)
        buf_printf(out, "%sduration:%s %u %s slower by more than %g%%\n", bold, reset, d->n_slower,
                   plural(d->n_slower, "span", "spans"), d->slower_pct);
    if (d->n_counts) {
        buf_puts(out, "\nsibling counts\n");
        for (uint32_t i = 0; i < d->n_counts && i < max_lines; i++) {
            const diff_count *c = &d->counts[i];
            buf_printf(out, "  %s~%s ", yellow, reset);
            path_of(d, 0, c->a, 4, false, out);
            buf_printf(out, "  %s%u → %u%s", bold, c->count_a, c->count_b, reset);
            uint32_t extra = c->extra_a ? c->extra_a : c->extra_b,
                     diff = c->count_a > c->count_b ? c->count_a - c->count_b : c->count_b - c->count_a;
            if (extra != diff)
                buf_printf(out, "  %s(%s%u spans)%s", dim, c->extra_a ? "−" : "+", extra, reset);
            buf_putc(out, '\n');
        }
        uint32_t shown = d->n_counts < max_lines ? d->n_counts : max_lines;
        if (d->n_counts_total > shown)
            buf_printf(out, "  %s… %u more%s\n", dim, d->n_counts_total - shown, reset);
    }
    if (d->spans_only_a > d->spans_repeat_a || d->spans_only_b > d->spans_repeat_b)
        buf_putc(out, '\n');
    write_only(d, 0, out, max_lines, "-", red, dim, reset);
    write_only(d, 1, out, max_lines, "+", green, dim, reset);
    if (d->n_changes) {
        buf_puts(out, "\nchanged spans\n");
        uint32_t lines = 0;
        for (uint32_t i = 0; i < d->n_changes && lines < max_lines; i++) {
            const diff_change *c = &d->changes[i];
            buf_printf(out, "  %s~%s ", yellow, reset);
            path_of(d, 0, c->a, 4, true, out);
            buf_putc(out, '\n');
            lines++;
            for (uint32_t k2 = 0; k2 < c->n_attrs; k2++) {
                const diff_attr *at = &c->attrs[k2];
                if (at->kind == DIFF_ATTR_ADDED) {
                    buf_printf(out, "      %s+ %s%s = ", green, at->key, reset);
                    value_text(out, at->b);
                } else if (at->kind == DIFF_ATTR_REMOVED) {
                    buf_printf(out, "      %s- %s%s = ", red, at->key, reset);
                    value_text(out, at->a);
                } else {
                    buf_printf(out, "      %s~ %s%s: ", yellow, at->key, reset);
                    value_text(out, at->a);
                    buf_puts(out, " → ");
                    value_text(out, at->b);
                }
                buf_putc(out, '\n');
            }
            if (c->status) {
                buf_printf(out, "      %s~ status%s: %s → %s", yellow, reset,
                           trace_status_name(c->a->status_code), trace_status_name(c->b->status_code));
                const char *msg = *c->b->status_message ? c->b->status_message : c->a->status_message;
                if (*msg) {
                    buf_putc(out, ' ');
                    buf_json_string(out, msg, strlen(msg) > 120 ? 120 : strlen(msg));
                }
                buf_putc(out, '\n');
            }
            if (c->slower) {
                uint64_t da = dur(c->a), db = dur(c->b);
                buf_printf(out, "      %s~ duration%s: ", yellow, reset);
                fmt_dur(out, da);
                buf_puts(out, " → ");
                fmt_dur(out, db);
                if (da)
                    buf_printf(out, " (+%.0f%%)", ((double)db - (double)da) * 100.0 / (double)da);
                buf_putc(out, '\n');
            }
        }
        if (d->n_changes_total > lines)
            buf_printf(out, "  %s… %u more changed %s%s\n", dim, d->n_changes_total - lines,
                       plural(d->n_changes_total - lines, "span", "spans"), reset);
    }
    if (d->truncated)
        buf_printf(out, "%s(lists cut to %u %s each; the counts above are complete)%s\n", dim, d->max_items,
                   plural(d->max_items, "entry", "entries"), reset);
    return out->failed ? TC_ERR_NOMEM : 0;
}

static void json_span(tc_buf *out, const diff_result *d, int side, const trace_span *sp)
{
    char id[17];
    hex_encode(sp->span_id, SPAN_ID_LEN, id);
    buf_printf(out, "{\"span_id\":\"%s\",\"name\":", id);
    buf_json_string(out, sp->name, strlen(sp->name));
    const char *svc = trace_span_service(sp);
    buf_puts(out, ",\"service\":");
    buf_json_string(out, svc, strlen(svc));
    buf_printf(out, ",\"kind\":\"%s\",\"path\":", trace_kind_name(sp->kind));
    tc_buf p;
    buf_init(&p, 0);
    path_of(d, side, sp, 16, true, &p);
    buf_json_string(out, buf_str(&p), p.len);
    buf_free(&p);
    buf_putc(out, '}');
}

static void json_only(tc_buf *out, const diff_result *d, int side)
{
    const diff_only *l = side ? d->only_b : d->only_a;
    uint32_t n = side ? d->n_only_b : d->n_only_a;
    buf_puts(out, "[");
    for (uint32_t i = 0; i < n; i++) {
        buf_puts(out, i ? ",{\"span\":" : "{\"span\":");
        json_span(out, d, side, l[i].span);
        buf_printf(out, ",\"spans\":%u,\"repeat\":%s}", l[i].n_spans, l[i].repeat ? "true" : "false");
    }
    buf_puts(out, "]");
}

int diff_write_json(const diff_result *d, tc_buf *out)
{
    unsigned k = diff_kinds(d);
    buf_printf(out, "{\"spans_a\":%u,\"spans_b\":%u,\"matched\":%u,\"kinds\":[", d->spans_a, d->spans_b,
               d->matched);
    const char *sep = "";
    if (k & DIFF_SHAPE)
        buf_puts(out, "\"shape\""), sep = ",";
    if (k & DIFF_ATTRIBUTES)
        buf_printf(out, "%s\"attributes\"", sep), sep = ",";
    if (k & DIFF_DURATION)
        buf_printf(out, "%s\"duration\"", sep);
    buf_printf(out,
               "],\"summary\":{\"spans_only_a\":%u,\"spans_only_b\":%u,\"count_changes\":%u,"
               "\"attribute_changes\":%u,\"status_changes\":%u,\"slower\":%u,\"changed_spans\":%u},",
               d->spans_only_a, d->spans_only_b, d->n_counts_total, d->n_attr_changes, d->n_status_changes,
               d->n_slower, d->n_changes_total);
    buf_puts(out, "\"count_changes\":[");
    for (uint32_t i = 0; i < d->n_counts; i++) {
        const diff_count *c = &d->counts[i];
        tc_buf p;
        buf_init(&p, 0);
        path_of(d, 0, c->a, 16, false, &p);
        buf_puts(out, i ? ",{\"path\":" : "{\"path\":");
        buf_json_string(out, buf_str(&p), p.len);
        buf_free(&p);
        buf_printf(out, ",\"a\":%u,\"b\":%u,\"extra_spans_a\":%u,\"extra_spans_b\":%u}", c->count_a,
                   c->count_b, c->extra_a, c->extra_b);
    }
    buf_puts(out, "],\"only_in_a\":");
    json_only(out, d, 0);
    buf_puts(out, ",\"only_in_b\":");
    json_only(out, d, 1);
    buf_puts(out, ",\"changes\":[");
    for (uint32_t i = 0; i < d->n_changes; i++) {
        const diff_change *c = &d->changes[i];
        buf_puts(out, i ? ",{\"a\":" : "{\"a\":");
        json_span(out, d, 0, c->a);
        buf_puts(out, ",\"b\":");
        json_span(out, d, 1, c->b);
        buf_puts(out, ",\"attributes\":[");
        for (uint32_t j = 0; j < c->n_attrs; j++) {
            const diff_attr *at = &c->attrs[j];
            static const char *const kinds[] = {"added", "removed", "changed"};
            buf_puts(out, j ? ",{\"key\":" : "{\"key\":");
            buf_json_string(out, at->key, strlen(at->key));
            buf_printf(out, ",\"change\":\"%s\",\"a\":", kinds[at->kind]);
            if (at->a)
                value_to_json(out, at->a);
            else
                buf_puts(out, "null");
            buf_puts(out, ",\"b\":");
            if (at->b)
                value_to_json(out, at->b);
            else
                buf_puts(out, "null");
            buf_putc(out, '}');
        }
        buf_puts(out, "]");
        if (c->status) {
            buf_printf(out, ",\"status\":{\"a\":\"%s\",\"b\":\"%s\",\"message_a\":",
                       trace_status_name(c->a->status_code), trace_status_name(c->b->status_code));
            buf_json_string(out, c->a->status_message, strlen(c->a->status_message));
            buf_puts(out, ",\"message_b\":");
            buf_json_string(out, c->b->status_message, strlen(c->b->status_message));
            buf_putc(out, '}');
        }
        if (c->slower)
            buf_printf(out, ",\"duration_ms\":{\"a\":%.3f,\"b\":%.3f}", (double)dur(c->a) / 1e6,
                       (double)dur(c->b) / 1e6);
        buf_putc(out, '}');
    }
    buf_printf(out, "],\"truncated\":%s}", d->truncated ? "true" : "false");
    return out->failed ? TC_ERR_NOMEM : 0;
}
