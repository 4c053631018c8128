/* spec.c - evaluates specs and outputs on a trace (see spec.h). */
#include "spec.h"

#include "par.h"
#include "sel.h"
#include "spanattr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SELECTED_COUNT "tracetest.selected_spans.count"
#define DURATION "tracetest.span.duration"

/* Keys of the attr: references of one spec, resolved once for all its
 * spans (the expression passes the same name pointer every time). */
#define KEY_CACHE 16
typedef struct key_cache {
    uint32_t n;
    struct {
        const char *name;
        size_t len;
        spanattr_key k;
    } e[KEY_CACHE];
} key_cache;

static spanattr_key *find_key(key_cache *kc, const char *name, size_t n)
{
    for (uint32_t i = 0; kc && i < kc->n; i++)
        if (kc->e[i].name == name && kc->e[i].len == n)
            return &kc->e[i].k;
    return NULL;
}

static spanattr_key *cached_key(key_cache *kc, const char *name, size_t n)
{
    spanattr_key *k = find_key(kc, name, n);
    if (k || !kc || kc->n == KEY_CACHE)
        return k;
    kc->e[kc->n].name = name;
    kc->e[kc->n].len = n;
    spanattr_key_init(&kc->e[kc->n].k, name, n);
    return &kc->e[kc->n++].k;
}

/* What an attr: lookup sees: one span (or none) of a selection. */
typedef struct span_scope {
    arena *a;     /* the evaluation's arena: strings made for a lookup */
    arena *cache; /* the trace set's arena: span attribute caches */
    key_cache *keys;
    const spanattr_table *tb; /* NULL or the trace's attribute table */
    const trace_span *span;
    uint32_t n_selected;
    const char *count; /* n_selected as text, in the evaluation's arena */
    expr_cache *json;  /* NULL or the run's parsed JSON documents */
    bool ro;           /* another thread runs too: look up without writing caches */
} span_scope;

static int lookup_attr(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    span_scope *s = user;
    if (n == strlen(SELECTED_COUNT) && memcmp(name, SELECTED_COUNT, n) == 0) {
        *val = s->count;
        *len = strlen(s->count);
        return EXPR_FOUND;
    }
    if (!s->span)
        return EXPR_NO_SPAN;
    tc_value v;
    int rc;
    if (s->ro) { /* the keys were all added before the threads started */
        spanattr_key *k = find_key(s->keys, name, n), tmp;
        if (!k)
            spanattr_key_init(k = &tmp, name, n);
        rc = spanattr_get_key_ro(s->cache, s->span, k, s->tb, &v);
    } else {
        spanattr_key *k = cached_key(s->keys, name, n);
        rc = k ? spanattr_get_key_in(s->cache, s->span, k, s->tb, &v) : spanattr_get(s->cache, s->span, name, n, &v);
    }
    if (rc != 0)
        return EXPR_MISSING;
    if (v.type == TC_V_STRING) { /* in the trace set, which outlives the run */
        *val = v.u.str;
        *len = v.len;
        return EXPR_FOUND;
    }
    if (v.type == TC_V_INT) { /* as value_to_text writes it */
        char tmp[24], *e = tmp + sizeof tmp, *p = e;
        uint64_t u = v.u.i < 0 ? (uint64_t)0 - (uint64_t)v.u.i : (uint64_t)v.u.i;
        do {
            *--p = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (v.u.i < 0)
            *--p = '-';
        char *copy = arena_strndup(s->a, p, (size_t)(e - p));
        if (!copy)
            return EXPR_MISSING;
        *val = copy;
        *len = (size_t)(e - p);
        return EXPR_FOUND;
    }
    tc_buf b;
    buf_init(&b, 0);
    value_to_text(&b, &v);
    char *copy = arena_strndup(s->a, buf_str(&b), b.len);
    buf_free(&b);
    if (!copy)
        return EXPR_MISSING;
    *val = copy;
    *len = strlen(copy);
    return EXPR_FOUND;
}

static void make_ctx(expr_ctx *ctx, const spec_env *env, span_scope *scope)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->attr = lookup_attr;
    ctx->attr_stable = true; /* span attributes live in the trace set, the rest in the run's arena */
    ctx->cache = scope->json;
    ctx->user = scope;
    if (env) {
        ctx->var = env->var;
        ctx->env = env->env;
        ctx->now_ns = env->now_ns;
        ctx->random_u64 = env->random_u64;
        ctx->env_user = env->env_user;
    }
}

/* expr callbacks share one `user`: wrap var/env so they get env->user while
 * attr gets the span scope. */
typedef struct both {
    span_scope scope;
    const spec_env *env;
} both;

static int both_attr(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    return lookup_attr(&((both *)user)->scope, name, n, val, len);
}

static int both_var(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    const spec_env *env = ((both *)user)->env;
    return env && env->var ? env->var(env->user, name, n, val, len) : EXPR_MISSING;
}

static int both_env(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    const spec_env *env = ((both *)user)->env;
    return env && env->env ? env->env(env->user, name, n, val, len) : EXPR_MISSING;
}

static void make_both_ctx(expr_ctx *ctx, both *b)
{
    make_ctx(ctx, b->env, &b->scope);
    ctx->attr = both_attr;
    ctx->var = both_var;
    ctx->env = both_env;
    ctx->user = b;
}

/* Selects spans; on a selector syntax error returns 1 with *err set. */
static int select_spans(trace_set *ts, trace *t, const char *selector, arena *a, trace_span ***spans,
                        uint32_t *n, const char **err, int *err_col)
{
    *spans = NULL;
    *n = 0;
    sel_query *q = NULL;
    tc_error e;
    const char *src = selector ? selector : "";
    if (sel_parse(src, strlen(src), &q, &e) != 0) {
        *err = arena_strdup(a, e.msg);
        *err_col = e.col;
        return 1;
    }
    int rc = 0;
    if (t)
        rc = sel_match(q, ts, t, a, spans, n);
    sel_free(&q);
    if (rc == TC_ERR_LIMIT) {
        *err = "the selector needs too much work on this trace (a pseudo-class after the first step "
               "on a deep trace)";
        *err_col = 0;
        return 1;
    }
    return rc ? -1 : 0;
}

/* The results of one assertion by the value of its only attr: reference
 * (for assertions whose value depends on nothing else: expr_is_pure). Many
 * spans share values (a resource's attributes, a status code, a method), so
 * most checks become a lookup. Values are keyed as the span has them (no
 * text is made for a lookup): short strings by content, longer ones and
 * arrays by address, numbers and booleans by their bits. */
#define AMEMO_SLOTS 64

typedef struct amemo_slot {
    bool used;
    tc_vkey key;
    spec_check res;
} amemo_slot;

typedef struct amemo {
    spanattr_key *k; /* the attr: reference; NULL: none, or the selected count (constant) */
    /* `attr:tracetest.span.duration CMP DURATION`: checked without the evaluator */
    bool duration;
    expr_cmp cmp;
    int64_t ns;
    const char *expected;
    /* `attr:X CMP "TEXT"` (expr_text_cmp): checked without the evaluator on
       texts that allow it; expected is then TEXT */
    bool text;
    amemo_slot slot[AMEMO_SLOTS];
} amemo;

typedef struct ref_count {
    const char *name;
    size_t n;
    int distinct; /* attr: references with distinct names, up to 2 */
} ref_count;

static void count_ref(void *user, const char *name, size_t n)
{
    ref_count *rc = user;
    if (rc->distinct == 0 || (rc->distinct == 1 && (rc->n != n || memcmp(rc->name, name, n) != 0))) {
        if (rc->distinct == 0) {
            rc->name = name;
            rc->n = n;
        }
        rc->distinct++;
    }
}

/* The memo key of span sp (NULL: an empty selection) for memo m. */
static int amemo_key_of(arena *cache, bool ro, const amemo *m, const spanattr_table *tb, const trace_span *sp,
                        tc_vkey *key, tc_value *v)
{
    v->type = TC_V_EMPTY;
    if (!m->k || !sp) { /* a constant, or no span to look up */
        value_key_other(m->k ? 1 : 0, key);
        return 0;
    }
    int rc = ro ? spanattr_get_key_ro(cache, sp, m->k, tb, v) : spanattr_get_key_in(cache, sp, m->k, tb, v);
    if (rc == TC_ERR_NOMEM)
        return rc;
    if (rc == 0) {
        value_key(v, key);
    } else {
        value_key_other(2, key); /* absent */
        v->type = TC_V_EMPTY;
    }
    return 0;
}

/* `attr:X CMP "TEXT"` on a string value, as expr_text_cmp describes. 1 when
 * the value does not allow it (the evaluator decides), else 0. */
static int check_text(const amemo *m, const tc_value *v, spec_check *ck)
{
    if (v->type != TC_V_STRING || v->len > EXPR_MAX_STRING || v->u.str[v->len] != '\0')
        return 1;
    const char *t = v->u.str;
    if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z')) || memchr(t, '\\', v->len))
        return 1;
    bool pass;
    switch (m->cmp) {
    case EXPR_CMP_EQ: pass = strcmp(t, m->expected) == 0; break;
    case EXPR_CMP_NE: pass = strcmp(t, m->expected) != 0; break;
    case EXPR_CMP_CONTAINS: pass = strstr(t, m->expected) != NULL; break;
    default: pass = strstr(t, m->expected) == NULL; break;
    }
    ck->passed = pass;
    ck->observed = t;
    ck->expected = m->expected;
    ck->error = NULL;
    return 0;
}

/* One spec on its way through spec_evaluate. */
typedef struct spec_work {
    amemo **memo; /* per assertion, NULL when its result cannot be reused */
    const char *count; /* the number of spans selected, as text */
    sel_query *q;
    expr **parsed;   /* its assertions, parsed; NULL when r->error is set */
    key_cache *keys; /* its attr: keys */
    trace_span **spans;
    uint32_t n;
    spec_check *checks; /* its results' checks, n_assertions per span */
} spec_work;

/* Parses spec d's selector and assertions into w; a syntax error becomes the
 * spec's result (r->error). 0 or TC_ERR_NOMEM. */
static int prepare_spec(const spec_def *d, arena *a, spec_work *w, spec_result *r)
{
    memset(r, 0, sizeof *r);
    r->name = d->name;
    r->selector = d->selector;
    tc_error e;
    const char *src = d->selector ? d->selector : "";
    if (sel_parse(src, strlen(src), &w->q, &e) != 0) {
        r->error = arena_strdup(a, e.msg);
        r->error_col = e.col;
        return r->error ? 0 : TC_ERR_NOMEM;
    }
    w->parsed = arena_calloc(a, d->n_assertions ? d->n_assertions : 1, sizeof *w->parsed);
    w->memo = arena_calloc(a, d->n_assertions ? d->n_assertions : 1, sizeof *w->memo);
    w->keys = arena_calloc(a, 1, sizeof *w->keys);
    if (!w->parsed || !w->memo || !w->keys)
        return TC_ERR_NOMEM;
    for (uint32_t i = 0; i < d->n_assertions; i++) {
        const char *asrc = d->assertions[i] ? d->assertions[i] : "";
        if (expr_parse_in(a, asrc, strlen(asrc), EXPR_PARSE_STATEMENT, &w->parsed[i], &e) != 0) {
            char *msg = arena_alloc(a, strlen(asrc) + sizeof e.msg + 32);
            if (msg)
                sprintf(msg, "assertion %u: %s", i + 1, e.msg);
            r->error = msg ? msg : "invalid assertion";
            r->error_col = e.col;
            return 0;
        }
        ref_count refs = {NULL, 0, 0};
        expr_each_attr(w->parsed[i], count_ref, &refs);
        if (refs.distinct <= 1 && expr_is_pure(w->parsed[i])) {
            amemo *m = w->memo[i] = arena_calloc(a, 1, sizeof *w->memo[i]);
            if (!m)
                return TC_ERR_NOMEM;
            if (refs.name && !(refs.n == strlen(SELECTED_COUNT) && memcmp(refs.name, SELECTED_COUNT, refs.n) == 0) &&
                !(m->k = cached_key(w->keys, refs.name, refs.n))) {
                w->memo[i] = NULL; /* too many keys: evaluated every time */
                continue;
            }
            const char *name, *lit;
            size_t n, lit_len;
            if (m->k && expr_text_cmp(w->parsed[i], &name, &n, &lit, &lit_len)) {
                m->text = true;
                m->cmp = expr_comparator(w->parsed[i]);
                if (!(m->expected = arena_strndup(a, lit, lit_len)))
                    return TC_ERR_NOMEM;
            }
            if (m->k && m->k->computed >= 0 && expr_duration_cmp(w->parsed[i], &name, &n, &m->ns) &&
                n == strlen(DURATION) && memcmp(name, DURATION, n) == 0) {
                char buf[40];
                m->duration = true;
                m->cmp = expr_comparator(w->parsed[i]);
                if (!(m->expected = arena_strdup(a, expr_format_duration(m->ns, buf))))
                    return TC_ERR_NOMEM;
            }
        }
    }
    return 0;
}

static void free_work(const spec_def *d, spec_work *w)
{
    sel_free(&w->q);
    for (uint32_t i = 0; w->parsed && i < d->n_assertions; i++)
        expr_free(&w->parsed[i]);
}

typedef struct key_add {
    key_cache *keys;
    spanattr_table *tb;
    int rc;
} key_add;

static void add_key(void *user, const char *name, size_t n)
{
    key_add *ka = user;
    spanattr_key *k = cached_key(ka->keys, name, n);
    if (k && k->col < 0 && spanattr_table_add(ka->tb, k))
        ka->rc = TC_ERR_NOMEM;
}

/* Sets up spec r's per-span results for the spans w selected. */
static int alloc_results(const spec_def *d, spec_work *w, arena *a, spec_result *r)
{
    char tmp[16];
    snprintf(tmp, sizeof tmp, "%u", w->n);
    if (!(w->count = arena_strdup(a, tmp)))
        return TC_ERR_NOMEM;
    r->n_selected = w->n;
    r->n_spans = w->n ? w->n : 1;
    r->spans = arena_alloc(a, (size_t)r->n_spans * sizeof *r->spans);
    /* not cleared: every span result and check is written by check_span (in
       the thread that checks the span, which also takes the first touch of
       its pages) */
    size_t n_checks = (size_t)r->n_spans * (d->n_assertions ? d->n_assertions : 1);
    spec_check *checks = n_checks <= SIZE_MAX / sizeof *checks ? arena_alloc(a, n_checks * sizeof *checks) : NULL;
    if (!r->spans || !checks)
        return TC_ERR_NOMEM;
    r->passed = true;
    w->checks = checks; /* each span's result is set up where it is checked */
    return 0;
}

static bool cmp_ns(expr_cmp c, int64_t a, int64_t b)
{
    switch (c) {
    case EXPR_CMP_EQ: return a == b;
    case EXPR_CMP_NE: return a != b;
    case EXPR_CMP_LT: return a < b;
    case EXPR_CMP_LE: return a <= b;
    case EXPR_CMP_GT: return a > b;
    default: return a >= b;
    }
}

/* A span's duration checked as expr_duration_cmp describes. 1 when the
 * duration is out of that range (the evaluator decides), 0 or
 * TC_ERR_NOMEM. */
static int check_duration(const amemo *m, const trace_span *sp, arena *a, spec_check *ck)
{
    uint64_t d = sp->end_ns > sp->start_ns ? sp->end_ns - sp->start_ns : 0;
    if (d >= 1000000000000000000ull) /* more than 18 digits */
        return 1;
    char buf[40];
    const char *obs = arena_strdup(a, expr_format_duration((int64_t)d, buf));
    if (!obs)
        return TC_ERR_NOMEM;
    ck->passed = cmp_ns(m->cmp, (int64_t)d, m->ns);
    ck->observed = obs;
    ck->expected = m->expected;
    ck->error = NULL;
    return 0;
}

/* What checking needs besides the spec: shared by the checks of one
 * thread. */
typedef struct check_ctx {
    trace_set *ts;
    const spanattr_table *tb;
    expr_cache *json; /* the thread's parsed JSON documents */
    const spec_env *env;
    arena *a;  /* where results are made (the run's, or the thread's) */
    bool ro;   /* other threads check too: no cache of the trace set is written */
} check_ctx;

/* Checks spec d's assertions on the k-th span of its result (the spec's
 * own `passed` is set by the caller, from its spans'). */
static int check_span(const check_ctx *c, const spec_def *d, const spec_work *w, spec_result *r, uint32_t k)
{
    spec_span_result *sr = &r->spans[k];
    sr->span = w->n ? w->spans[k] : NULL;
    sr->passed = true;
    sr->n_checks = d->n_assertions;
    sr->checks = w->checks + (size_t)k * d->n_assertions;
    arena *cache = c->ro ? c->a : trace_set_arena(c->ts); /* computed values: cached, or made per use */
    both b;
    expr_ctx ctx;
    bool have_ctx = false;
    for (uint32_t i = 0; i < d->n_assertions; i++) {
        spec_check *ck = &sr->checks[i];
        amemo *m = w->memo[i];
        amemo_slot *sl = NULL;
        ck->assertion = d->assertions[i];
        if (m && m->duration && sr->span) {
            int rc = check_duration(m, sr->span, c->a, ck);
            if (rc == TC_ERR_NOMEM)
                return rc;
            if (rc == 0) {
                if (!ck->passed)
                    sr->passed = false;
                continue;
            }
        } else if (m) { /* the same value as before: the same result */
            tc_vkey key;
            tc_value v = {TC_V_EMPTY, 0, {.str = NULL}}; /* read unless shared */
            const void *shared = m->k && sr->span ? spanattr_table_shared(c->tb, sr->span, m->k) : NULL;
            if (shared) { /* a value many spans share: known by its address */
                value_key_other(3, &key);
                key.bits = (uint64_t)(uintptr_t)shared;
            } else if (amemo_key_of(cache, c->ro, m, c->tb, sr->span, &key, &v)) {
                return TC_ERR_NOMEM;
            }
            sl = &m->slot[value_key_hash(&key) % AMEMO_SLOTS];
            if (sl->used && value_key_same(&sl->key, &key)) {
                *ck = sl->res;
                if (!ck->passed)
                    sr->passed = false;
                continue;
            }
            sl->used = false;
            sl->key = key;
            if (m->text && check_text(m, &v, ck) == 0) {
                sl->res = *ck;
                sl->used = true;
                if (!ck->passed)
                    sr->passed = false;
                continue;
            }
        }
        if (!have_ctx) {
            b = (both){{c->a, cache, w->keys, c->tb, sr->span, w->n, w->count, c->json, c->ro}, c->env};
            make_both_ctx(&ctx, &b);
            have_ctx = true;
        }
        expr_result res;
        if (expr_eval_statement(w->parsed[i], &ctx, c->a, &res) != 0)
            return TC_ERR_NOMEM;
        ck->passed = res.passed && !res.error;
        ck->observed = res.observed;
        ck->expected = res.expected;
        ck->error = res.error;
        if (sl) {
            sl->res = *ck;
            sl->used = true;
        }
        if (!ck->passed)
            sr->passed = false;
    }
    return 0;
}

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* One thread's share of the checks: pairs[lo..hi) (spec << 32 | k). */
typedef struct check_job {
    check_ctx c;
    const spec_def *specs;
    const spec_work *w; /* the thread's own copy when ro (its own reuse memos) */
    spec_run *out;
    const uint64_t *pairs;
    size_t lo, hi;
    int rc;
} check_job;

static void check_range(check_job *j)
{
    const uint64_t *pairs = j->pairs;
    const spec_work *w = j->w;
    const spanattr_table *tb = j->c.tb;
    for (size_t p = j->lo; p < j->hi && !j->rc; p++) {
        /* load ahead: the span, then its row of the key table, then the
           attributes the row points to */
        if (p + 16 < j->hi)
            spanattr_prefetch_span(w[pairs[p + 16] >> 32].spans[(uint32_t)pairs[p + 16]]);
        if (p + 10 < j->hi) /* reads the span loaded above */
            spanattr_table_prefetch(tb, w[pairs[p + 10] >> 32].spans[(uint32_t)pairs[p + 10]], 0);
        for (int stage = 0; stage < 2; stage++) { /* the attributes its assertions read, then their texts */
            size_t q = p + (stage ? 2 : 5);
            if (q >= j->hi)
                continue;
            const spec_work *wq = &w[pairs[q] >> 32];
            const trace_span *sq = wq->spans[(uint32_t)pairs[q]];
            for (uint32_t a = 0; a < j->specs[pairs[q] >> 32].n_assertions; a++)
                if (wq->memo && wq->memo[a] && wq->memo[a]->k)
                    spanattr_table_prefetch_key(tb, sq, wq->memo[a]->k, stage);
        }
        uint32_t i = (uint32_t)(pairs[p] >> 32), k = (uint32_t)pairs[p];
        j->rc = check_span(&j->c, &j->specs[i], &w[i], &j->out->specs[i], k);
    }
}

static void check_job_run(void *job)
{
    check_job *j = job;
    if (j->rc)
        return;
    bool own_json = !j->c.json; /* the first job uses the run's */
    if (own_json && !(j->c.json = expr_cache_new()))
        j->rc = TC_ERR_NOMEM;
    else
        check_range(j);
    if (own_json)
        expr_cache_free(&j->c.json);
}

/* A copy of the specs' work whose reuse memos are new (empty), for a
 * thread of its own; in a. NULL when out of memory. */
static spec_work *own_work(const spec_def *specs, uint32_t n_specs, const spec_work *w, arena *a)
{
    spec_work *cw = arena_alloc(a, (n_specs ? n_specs : 1) * sizeof *cw);
    for (uint32_t i = 0; cw && i < n_specs; i++) {
        cw[i] = w[i];
        if (!w[i].memo)
            continue;
        if (!(cw[i].memo = arena_calloc(a, specs[i].n_assertions ? specs[i].n_assertions : 1, sizeof *cw[i].memo)))
            return NULL;
        for (uint32_t k = 0; k < specs[i].n_assertions; k++) {
            if (!w[i].memo[k])
                continue;
            amemo *m = arena_alloc(a, sizeof *m);
            if (!m)
                return NULL;
            *m = *w[i].memo[k];
            memset(m->slot, 0, sizeof m->slot);
            cw[i].memo[k] = m;
        }
    }
    return cw;
}

/* True when checking may use several threads: the assertions read nothing
 * but span attributes (no variable, environment or function, whose
 * callbacks may not be thread-safe). */
static bool threads_allowed(const spec_def *specs, uint32_t n_specs, const spec_work *w, const spec_run *out)
{
    for (uint32_t i = 0; i < n_specs; i++)
        for (uint32_t k = 0; !out->specs[i].error && k < specs[i].n_assertions; k++)
            if (!expr_is_pure(w[i].parsed[k]))
                return false;
    return true;
}

#define CHECK_THREAD_MIN_PAIRS 8192 /* fewer checks: one thread */

/* Checks every spec's assertions on every span it selected, spec by spec
 * in the order of its results (results are written in order; spans, their
 * rows of the key table and their attributes are loaded ahead), shared by
 * up to `threads` threads, then the specs with no span. */
static int check_all(trace_set *ts, const spec_def *specs, uint32_t n_specs, const spec_work *w,
                     const spanattr_table *tb, expr_cache *json, const spec_env *env, arena *a, spec_run *out)
{
    size_t total = 0;
    for (uint32_t i = 0; i < n_specs; i++)
        if (!out->specs[i].error)
            total += w[i].n;
    uint64_t *pairs = total ? malloc(total * sizeof *pairs) : NULL;
    if (total && !pairs)
        return TC_ERR_NOMEM;
    size_t np = 0;
    for (uint32_t i = 0; i < n_specs; i++)
        for (uint32_t k = 0; !out->specs[i].error && k < w[i].n; k++)
            pairs[np++] = (uint64_t)i << 32 | k;
    unsigned nt = env && env->threads > 1 ? env->threads : 1;
    if (nt > SEL_MAX_THREADS)
        nt = SEL_MAX_THREADS;
    if (total < CHECK_THREAD_MIN_PAIRS || !threads_allowed(specs, n_specs, w, out))
        nt = 1;
    check_job jobs[SEL_MAX_THREADS];
    int rc = 0;
    for (unsigned j = 0; j < nt; j++) {
        jobs[j] = (check_job){{ts, tb, j ? NULL : json, env, a, nt > 1}, specs, w, out, pairs, total * j / nt,
                              total * (j + 1) / nt, 0};
        if (j == 0)
            continue;
        /* the others: an arena, reuse memos and parsed documents of their own */
        if (!(jobs[j].c.a = arena_new(0)) || !(jobs[j].w = own_work(specs, n_specs, w, jobs[j].c.a)))
            rc = jobs[j].rc = TC_ERR_NOMEM;
    }
    if (!rc)
        par_run(check_job_run, jobs, sizeof *jobs, nt);
    for (unsigned j = 0; j < nt; j++) {
        if (!rc)
            rc = jobs[j].rc;
        if (j > 0)
            arena_adopt(a, &jobs[j].c.a); /* results point into it */
    }
    jobs[0].c.ro = false;
    for (uint32_t i = 0; i < n_specs && !rc; i++)
        if (!out->specs[i].error && w[i].n == 0)
            rc = check_span(&jobs[0].c, &specs[i], &w[i], &out->specs[i], 0);
    for (uint32_t i = 0; i < n_specs; i++) /* a spec passes when every span passed */
        for (uint32_t k = 0; !out->specs[i].error && k < out->specs[i].n_spans; k++)
            if (!out->specs[i].spans[k].passed)
                out->specs[i].passed = false;
    free(pairs);
    return rc;
}

static int eval_output(trace_set *ts, trace *t, const output_def *d, const spec_env *env, arena *a,
                       output_result *r)
{
    memset(r, 0, sizeof *r);
    r->name = d->name;
    trace_span **spans = NULL;
    uint32_t n = 0;
    const char *err = NULL;
    int col = 0;
    int rc = select_spans(ts, t, d->selector, a, &spans, &n, &err, &col);
    if (rc < 0)
        return TC_ERR_NOMEM;
    if (rc > 0) {
        r->error = err;
        return 0;
    }
    expr *e = NULL;
    tc_error pe;
    const char *src = d->value ? d->value : "";
    if (expr_parse(src, strlen(src), EXPR_PARSE_EXPRESSION, &e, &pe) != 0) {
        r->error = arena_strdup(a, pe.msg);
        return 0;
    }
    key_cache kc = {0};
    char cnt[16];
    snprintf(cnt, sizeof cnt, "%u", n);
    const char *count = arena_strdup(a, cnt);
    if (!count) {
        expr_free(&e);
        return TC_ERR_NOMEM;
    }
    both b = {{a, trace_set_arena(ts), &kc, NULL, n ? spans[0] : NULL, n, count, NULL, false}, env};
    expr_ctx ctx;
    make_both_ctx(&ctx, &b);
    expr_value v;
    tc_error ee;
    if (expr_eval(e, &ctx, a, &v, &ee) != 0) {
        r->error = arena_strdup(a, ee.msg);
    } else {
        const char *text = expr_value_text(&v, a);
        r->value = text ? arena_strdup(a, text) : NULL; /* its own copy: outputs become variables */
        if (!r->value)
            rc = -1;
    }
    expr_free(&e);
    return rc < 0 ? TC_ERR_NOMEM : 0;
}

int spec_evaluate(trace_set *ts, trace *t, const spec_def *specs, uint32_t n_specs,
                  const output_def *outputs, uint32_t n_outputs, const spec_env *env, arena *a,
                  spec_run *out)
{
    memset(out, 0, sizeof *out);
    out->specs = arena_calloc(a, n_specs ? n_specs : 1, sizeof *out->specs);
    out->outputs = arena_calloc(a, n_outputs ? n_outputs : 1, sizeof *out->outputs);
    if (!out->specs || !out->outputs)
        return TC_ERR_NOMEM;
    out->passed = true;
    /* parse everything, find the attribute keys, fill the table of the spans'
       own attributes and select for all specs in one pass each, then check */
    spec_work *w = arena_calloc(a, n_specs ? n_specs : 1, sizeof *w);
    const sel_query **qs = arena_calloc(a, n_specs ? n_specs : 1, sizeof *qs);
    trace_span ***sel = arena_calloc(a, n_specs ? n_specs : 1, sizeof *sel);
    uint32_t *ns = arena_calloc(a, n_specs ? n_specs : 1, sizeof *ns);
    int *rcs = arena_calloc(a, n_specs ? n_specs : 1, sizeof *rcs);
    spanattr_table *tb = spanattr_table_new();
    int rc = !w || !qs || !sel || !ns || !rcs || !tb ? TC_ERR_NOMEM : 0;
    for (uint32_t i = 0; i < n_specs && !rc; i++) {
        rc = prepare_spec(&specs[i], a, &w[i], &out->specs[i]);
        if (!rc && !out->specs[i].error) {
            qs[i] = w[i].q;
            key_add ka = {w[i].keys, tb, 0};
            for (uint32_t k = 0; k < specs[i].n_assertions; k++)
                expr_each_attr(w[i].parsed[k], add_key, &ka);
            rc = ka.rc ? ka.rc : sel_add_keys(w[i].q, tb);
        }
    }
    spanattr_table *use_tb = tb;
    if (!rc && t) {
        if (!t->indexed && trace_index(ts, t))
            rc = TC_ERR_NOMEM;
        int frc = rc ? 0 : spanattr_table_begin(tb, t); /* the selection pass fills it */
        if (frc == TC_ERR_NOMEM)
            rc = frc;
        else if (frc)
            use_tb = NULL; /* too large: lookups scan */
    }
    if (!rc && t)
        rc = sel_match_all_mt(qs, n_specs, ts, t, use_tb, env ? env->threads : 1, a, sel, ns, rcs);
    for (uint32_t i = 0; i < n_specs && !rc; i++) {
        spec_result *r = &out->specs[i];
        if (r->error)
            continue;
        if (rcs[i] == TC_ERR_LIMIT) {
            r->error = "the selector needs too much work on this trace (a pseudo-class after the first "
                       "step on a deep trace)";
            r->error_col = 0;
            continue;
        }
        w[i].spans = sel[i];
        w[i].n = ns[i];
        rc = alloc_results(&specs[i], &w[i], a, r);
    }
    if (!rc) {
        expr_cache *json = expr_cache_new(); /* without one, each evaluation parses */
        rc = check_all(ts, specs, n_specs, w, use_tb, json, env, a, out);
        expr_cache_free(&json);
    }
    for (uint32_t i = 0; w && i < n_specs; i++)
        free_work(&specs[i], &w[i]);
    spanattr_table_free(&tb);
    if (rc)
        return TC_ERR_NOMEM;
    for (uint32_t i = 0; i < n_specs; i++) {
        out->n_specs++;
        if (!out->specs[i].passed) {
            out->n_failed++;
            out->passed = false;
        }
    }
    for (uint32_t i = 0; i < n_outputs; i++) {
        if (eval_output(ts, t, &outputs[i], env, a, &out->outputs[i]))
            return TC_ERR_NOMEM;
        out->n_outputs++;
        if (out->outputs[i].error)
            out->passed = false;
    }
    return 0;
}
