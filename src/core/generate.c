/* generate.c - a runnable Test from a recorded trace (see generate.h):
 * picks the spans that matter, groups identical ones, finds a selector
 * that picks exactly each group (checked with sel_match), writes the
 * assertions a careful person would (checked with spec_evaluate), and
 * writes the result as Tracetest YAML. */
#include "generate.h"

#include "sel.h"
#include "spanattr.h"
#include "spec.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum role {
    ROLE_NONE = 0,
    ROLE_TRIGGER,  /* the runner's "Tracetest trigger" span: its response */
    ROLE_ENTRY,    /* the system's first span */
    ROLE_DB,       /* a database statement */
    ROLE_MSG_PUB,  /* a message published */
    ROLE_MSG_RECV, /* a message received */
    ROLE_CALL,     /* an outgoing call */
    ROLE_ERROR,    /* any other span with an error status */
};

static const char *const role_title[] = {
    [ROLE_NONE] = "",
    [ROLE_TRIGGER] = "Trigger response",
    [ROLE_ENTRY] = "Entry span",
    [ROLE_DB] = "Database statement",
    [ROLE_MSG_PUB] = "Message published",
    [ROLE_MSG_RECV] = "Message received",
    [ROLE_CALL] = "Outgoing call",
    [ROLE_ERROR] = "Error",
};

/* A span that matters, with what its spec would say. */
typedef struct cand {
    trace_span *sp;
    int role;
    const char **base; /* the selector's first filters */
    uint32_t n_base;
    const char **facts; /* assertions, without the count and duration bound */
    uint32_t n_facts;
    const char *sig; /* role, base and facts: equal signatures make one spec */
    uint64_t dur;
} cand;

typedef struct group {
    cand **m;
    uint32_t n;
    uint32_t first; /* preorder position of the first member */
    uint64_t max_dur;
} group;

typedef struct gctx {
    trace_set *ts;
    trace *t;
    arena *out;  /* the result's */
    arena *work; /* everything else; freed at the end */
    gen_test *g;
    double headroom;
    tc_buf tmp;
    uint8_t *mark; /* by preorder position: a member of the group at hand */
    const char **notes;
    int nomem;
    uint64_t visits; /* span visits of the selectors tried so far */
    bool work_out;   /* past GEN_MAX_WORK: no more tries */
} gctx;

/* ---- text helpers ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* True when a value can be written into a selector or an assertion as is:
 * non-empty valid UTF-8, no control character, no ${ (interpolation). */
static bool text_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            return false;
        if (ch == '$' && i + 1 < n && s[i + 1] == '{')
            return false;
        size_t l = utf8_len((const unsigned char *)s + i, n - i);
        if (!l)
            return false;
        i += l;
    }
    return true;
}

/* A copy of s[0..n) in a with invalid UTF-8 and control characters as '?'. */
static const char *clean_text(arena *a, const char *s, size_t n)
{
    char *d = arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        size_t l = utf8_len((const unsigned char *)s + i, n - i);
        if (!l || ch < 0x20 || ch == 0x7f) {
            d[j++] = '?';
            i++;
            continue;
        }
        memcpy(d + j, s + i, l);
        j += l;
        i += l;
    }
    d[j] = 0;
    return d;
}

static const char *fmt(gctx *c, arena *a, const char *f, ...) __attribute__((format(printf, 3, 4)));
static const char *fmt(gctx *c, arena *a, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, f, ap);
    va_end(ap);
    char *s = NULL;
    if (n >= 0) {
        s = arena_alloc(a, (size_t)n + 1);
        if (s)
            vsnprintf(s, (size_t)n + 1, f, ap2);
    }
    va_end(ap2);
    if (!s)
        c->nomem = 1;
    return s;
}

static void note(gctx *c, const char *msg)
{
    if (!msg)
        return;
    if (c->g->n_notes >= GEN_MAX_NOTES) {
        c->g->n_notes_dropped++;
        return;
    }
    c->notes[c->g->n_notes++] = msg;
}

/* The attribute as a spec sees it; text (in work) and value. NULL when absent. */
static const char *attr(gctx *c, const trace_span *sp, const char *key, tc_value *vout)
{
    tc_value v;
    if (spanattr_get(trace_set_arena(c->ts), sp, key, strlen(key), &v) != 0)
        return NULL;
    buf_reset(&c->tmp);
    if (value_to_text(&c->tmp, &v) != 0) {
        c->nomem = 1;
        return NULL;
    }
    char *s = arena_strndup(c->work, buf_str(&c->tmp), c->tmp.len);
    if (!s) {
        c->nomem = 1;
        return NULL;
    }
    if (vout)
        *vout = v;
    return s;
}

/* The first of keys the span has (NULL-terminated list); *which gets it. */
static const char *attr_any(gctx *c, const trace_span *sp, const char *const *keys, const char **which,
                            tc_value *v)
{
    for (; *keys; keys++) {
        const char *s = attr(c, sp, *keys, v);
        if (s) {
            if (which)
                *which = *keys;
            return s;
        }
    }
    return NULL;
}

static bool is_scalar(const tc_value *v)
{
    return v->type == TC_V_STRING || v->type == TC_V_INT || v->type == TC_V_DOUBLE || v->type == TC_V_BOOL;
}

/* A plain decimal number (what the expression language reads as a number). */
static bool is_number_text(const char *s)
{
    if (*s == '-')
        s++;
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9')
        s++;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == 0;
}

/* ---- selector filters ---- */

/* `key=value` for a selector; NULL when the value cannot be written. */
static const char *sel_filter(gctx *c, const char *key, const char *text, const tc_value *v, const char *op)
{
    if (!is_scalar(v) || !text_ok(text, strlen(text)) || strlen(text) > GEN_MAX_LITERAL)
        return NULL;
    if (v->type == TC_V_INT && strcmp(op, "=") == 0)
        return fmt(c, c->work, "%s=%s", key, text);
    tc_buf *b = &c->tmp;
    buf_reset(b);
    if (strcmp(op, "=") == 0)
        buf_printf(b, "%s=\"", key);
    else
        buf_printf(b, "%s %s \"", key, op);
    for (const char *p = text; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *p);
    }
    buf_putc(b, '"');
    if (b->failed) {
        c->nomem = 1;
        return NULL;
    }
    return arena_strndup(c->work, buf_str(b), b->len);
}

static const char *sel_filter_key(gctx *c, const trace_span *sp, const char *key)
{
    tc_value v;
    const char *s = attr(c, sp, key, &v);
    return s ? sel_filter(c, key, s, &v, "=") : NULL;
}

/* The path of a URL (after scheme and authority, before the query). */
static const char *url_path(gctx *c, const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : (url[0] == '/' ? url : NULL);
    if (!p)
        return NULL;
    size_t n = strcspn(p, "?#");
    if (n <= 1)
        return NULL;
    return arena_strndup(c->work, p, n);
}

/* `url.full contains "/path"` (or http.url), for client spans whose URLs
 * differ only in their path. */
static const char *url_filter(gctx *c, const trace_span *sp)
{
    static const char *const keys[] = {"url.full", "http.url", NULL};
    const char *which;
    tc_value v;
    const char *u = attr_any(c, sp, keys, &which, &v);
    if (!u || v.type != TC_V_STRING)
        return NULL;
    const char *p = url_path(c, u);
    return p ? sel_filter(c, which, p, &v, "contains") : NULL;
}

static const char *step_text(gctx *c, const char *const *f, uint32_t n, const char *pseudo)
{
    tc_buf *b = &c->tmp;
    buf_reset(b);
    buf_puts(b, "span[");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            buf_putc(b, ' ');
        buf_puts(b, f[i]);
    }
    buf_putc(b, ']');
    if (pseudo)
        buf_puts(b, pseudo);
    if (b->failed) {
        c->nomem = 1;
        return NULL;
    }
    return arena_strndup(c->work, buf_str(b), b->len);
}

/* The filters every selector of a span starts with: its type (unless
 * general), its service and its name. */
static uint32_t base_filters(gctx *c, const trace_span *sp, const char **f)
{
    uint32_t n = 0;
    const char *type = spanattr_type(sp);
    if (strcmp(type, "general") != 0)
        f[n++] = fmt(c, c->work, "tracetest.span.type=\"%s\"", type);
    const char *s = sel_filter_key(c, sp, "service.name");
    if (s)
        f[n++] = s;
    s = sel_filter_key(c, sp, "name");
    if (s)
        f[n++] = s;
    return n;
}

/* ---- assertions ---- */

/* `attr:KEY OP "TEXT"` (single quotes when TEXT has a double quote), or
 * NULL when TEXT cannot be written as a string literal. */
static const char *quoted_fact(gctx *c, const char *key, const char *op, const char *s, size_t n)
{
    if (!text_ok(s, n) || s[n - 1] == '\\')
        return NULL;
    char q = '"';
    if (memchr(s, '"', n)) {
        if (memchr(s, '\'', n))
            return NULL;
        q = '\'';
    }
    return fmt(c, c->work, "attr:%s %s %c%.*s%c", key, op, q, (int)n, s, q);
}

/* `attr:KEY = VALUE` as recorded (long texts: `contains` their start);
 * NULL when the value cannot be written in the expression language. */
static const char *fact(gctx *c, const trace_span *sp, const char *key)
{
    tc_value v;
    const char *s = attr(c, sp, key, &v);
    if (!s || !is_scalar(&v))
        return NULL;
    if (v.type == TC_V_INT || (v.type == TC_V_DOUBLE && is_number_text(s)) ||
        (v.type == TC_V_STRING && is_number_text(s) && strlen(s) <= 15 &&
         (s[0] != '0' || !s[1] || s[1] == '.')))
        return fmt(c, c->work, "attr:%s = %s", key, s);
    size_t n = strlen(s);
    const char *op = "=";
    if (n > GEN_MAX_LITERAL) {
        size_t cut = 0;
        while (cut < n) {
            size_t l = utf8_len((const unsigned char *)s + cut, n - cut);
            if (!l || cut + l > GEN_MAX_LITERAL / 2)
                break;
            cut += l;
        }
        char *p = arena_strndup(c->work, s, cut);
        if (!p) {
            c->nomem = 1;
            return NULL;
        }
        s = p;
        n = cut;
        op = "contains";
    }
    return quoted_fact(c, key, op, s, n);
}

/* The first of keys the span has, as a fact. */
static const char *fact_any(gctx *c, const trace_span *sp, const char *const *keys)
{
    for (; *keys; keys++) {
        tc_value v;
        if (attr(c, sp, *keys, &v))
            return fact(c, sp, *keys);
    }
    return NULL;
}

static const char *const K_HTTP_METHOD[] = {"http.request.method", "http.method", NULL};
static const char *const K_HTTP_STATUS[] = {"http.response.status_code", "http.status_code", NULL};
static const char *const K_HTTP_ROUTE[] = {"http.route", NULL};
static const char *const K_DB_SYSTEM[] = {"db.system.name", "db.system", NULL};
static const char *const K_DB_STATEMENT[] = {"db.query.text", "db.statement", NULL};
static const char *const K_DB_OPERATION[] = {"db.operation.name", "db.operation", NULL};
static const char *const K_RPC_SYSTEM[] = {"rpc.system", NULL};
static const char *const K_RPC_SERVICE[] = {"rpc.service", NULL};
static const char *const K_RPC_METHOD[] = {"rpc.method", NULL};
static const char *const K_RPC_STATUS[] = {"rpc.grpc.status_code", NULL};
static const char *const K_MSG_SYSTEM[] = {"messaging.system", NULL};
static const char *const K_MSG_DEST[] = {"messaging.destination.name", "messaging.destination", NULL};
static const char *const K_MSG_OP[] = {"messaging.operation.type", "messaging.operation", NULL};
static const char *const K_RESPONSE[] = {"tracetest.response.status", NULL};

/* What the spec of a span asserts besides its count and duration. */
static uint32_t span_facts(gctx *c, const trace_span *sp, int role, const char **f)
{
    uint32_t n = 0;
    const char *const *groups_http[] = {K_HTTP_METHOD, K_HTTP_ROUTE, K_HTTP_STATUS, NULL};
    const char *const *groups_db[] = {K_DB_SYSTEM, K_DB_OPERATION, K_DB_STATEMENT, NULL};
    const char *const *groups_rpc[] = {K_RPC_SYSTEM, K_RPC_SERVICE, K_RPC_METHOD, K_RPC_STATUS, NULL};
    const char *const *groups_msg[] = {K_MSG_SYSTEM, K_MSG_DEST, K_MSG_OP, NULL};
    const char *const *groups_trig[] = {K_RESPONSE, NULL};
    const char *type = spanattr_type(sp);
    const char *const *const *gs = NULL;
    if (role == ROLE_TRIGGER)
        gs = groups_trig;
    else if (strcmp(type, "http") == 0)
        gs = groups_http;
    else if (strcmp(type, "database") == 0)
        gs = groups_db;
    else if (strcmp(type, "rpc") == 0)
        gs = groups_rpc;
    else if (strcmp(type, "messaging") == 0)
        gs = groups_msg;
    for (; gs && *gs; gs++) {
        const char *s = fact_any(c, sp, *gs);
        if (s)
            f[n++] = s;
    }
    if (role == ROLE_TRIGGER)
        return n;
    if (sp->status_code == TRACE_STATUS_ERROR) {
        f[n++] = "attr:tracetest.span.status_code = \"STATUS_CODE_ERROR\"";
        if (sp->status_message[0]) {
            const char *s = fact(c, sp, "tracetest.span.status_description");
            if (s)
                f[n++] = s;
        }
    } else {
        f[n++] = "attr:tracetest.span.status_code != \"STATUS_CODE_ERROR\"";
    }
    return n;
}

/* ---- which spans matter ---- */

static bool is_trigger_span(gctx *c, const trace_span *sp)
{
    return !sp->parent && strcmp(sp->name, "Tracetest trigger") == 0 &&
           strcmp(trace_span_service(sp), "tracetest") == 0;
}

static bool has_any(gctx *c, const trace_span *sp, const char *const *keys)
{
    return attr_any(c, sp, keys, NULL, NULL) != NULL;
}

static int span_role(gctx *c, trace_span *sp, const trace_span *entry)
{
    if (is_trigger_span(c, sp))
        return has_any(c, sp, K_RESPONSE) ? ROLE_TRIGGER : ROLE_NONE;
    if (sp == entry)
        return ROLE_ENTRY;
    const char *type = spanattr_type(sp);
    if (strcmp(type, "database") == 0 && (has_any(c, sp, K_DB_STATEMENT) || has_any(c, sp, K_DB_OPERATION)))
        return ROLE_DB;
    bool msg = strcmp(type, "messaging") == 0;
    if (sp->kind == TRACE_KIND_PRODUCER || (msg && sp->kind == TRACE_KIND_CLIENT))
        return ROLE_MSG_PUB;
    if (sp->kind == TRACE_KIND_CONSUMER || (msg && sp->kind == TRACE_KIND_SERVER))
        return ROLE_MSG_RECV;
    if (sp->kind == TRACE_KIND_CLIENT && strcmp(type, "database") != 0)
        return ROLE_CALL;
    if (sp->status_code == TRACE_STATUS_ERROR)
        return ROLE_ERROR;
    return ROLE_NONE;
}

static uint64_t span_dur(const trace_span *sp)
{
    return sp->end_ns > sp->start_ns ? sp->end_ns - sp->start_ns : 0;
}

/* Database statements may differ within a group (the same query with
 * other literals, an N+1 pattern): one spec with their count. */
static bool is_statement(const char *fact)
{
    return strncmp(fact, "attr:db.query.text ", 19) == 0 || strncmp(fact, "attr:db.statement ", 18) == 0;
}

/* True when every member of the group has the fact. */
static bool common_fact(const group *gr, const char *fact)
{
    for (uint32_t i = 1; i < gr->n; i++) {
        bool found = false;
        for (uint32_t j = 0; j < gr->m[i]->n_facts && !found; j++)
            found = strcmp(gr->m[i]->facts[j], fact) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* For a group whose statements differ: `contains` their common start (to
 * a word boundary, at least 8 bytes), or NULL. */
static const char *statement_prefix(gctx *c, const group *gr)
{
    const char *key = NULL;
    const char *first = attr_any(c, gr->m[0]->sp, K_DB_STATEMENT, &key, NULL);
    if (!first)
        return NULL;
    size_t n = strlen(first);
    bool differ = false;
    for (uint32_t i = 1; i < gr->n && n; i++) {
        const char *s = attr(c, gr->m[i]->sp, key, NULL);
        if (!s)
            return NULL;
        size_t j = 0;
        while (j < n && s[j] == first[j])
            j++;
        if (j != n || s[j])
            differ = true;
        n = j;
    }
    if (!differ)
        return NULL;
    while (n > 0 && first[n - 1] != ' ')
        n--;
    while (n > 0 && first[n - 1] == ' ')
        n--;
    if (n < 8)
        return NULL;
    if (n > GEN_MAX_LITERAL / 2)
        n = GEN_MAX_LITERAL / 2;
    while (n > 0 && ((unsigned char)first[n] & 0xc0) == 0x80)
        n--;
    return quoted_fact(c, key, "contains", first, n);
}

static const char *join_sig(gctx *c, const cand *k)
{
    tc_buf *b = &c->tmp;
    buf_reset(b);
    buf_printf(b, "%d", k->role);
    for (uint32_t i = 0; i < k->n_base; i++)
        buf_printf(b, "\x1f%s", k->base[i]);
    buf_puts(b, "\x1e");
    for (uint32_t i = 0; i < k->n_facts; i++)
        if (!is_statement(k->facts[i]))
            buf_printf(b, "\x1f%s", k->facts[i]);
    if (b->failed) {
        c->nomem = 1;
        return NULL;
    }
    return arena_strndup(c->work, buf_str(b), b->len);
}

static int cmp_sig(const void *x, const void *y)
{
    const cand *a = *(const cand *const *)x, *b = *(const cand *const *)y;
    int r = strcmp(a->sig, b->sig);
    if (r)
        return r;
    return a->sp->order < b->sp->order ? -1 : a->sp->order > b->sp->order;
}

static int cmp_group(const void *x, const void *y)
{
    const group *a = x, *b = y;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* ---- checking selectors ---- */

/* Matches text on the trace: *n spans picked, *in of them marked.
 * Returns 0, or -1 when it does not parse or match (then not usable). */
static int sel_try(gctx *c, const char *text, uint32_t *n, uint32_t *in, trace_span ***picked, arena *keep)
{
    sel_query *q = NULL;
    tc_error e;
    if (!text || c->work_out)
        return -1;
    uint64_t steps = 1;
    for (const char *p = text; (p = strstr(p, "] span[")); p++)
        steps++;
    if (c->visits + steps * c->t->n_spans > GEN_MAX_WORK) {
        c->work_out = true;
        return -1;
    }
    c->visits += steps * c->t->n_spans;
    if (sel_parse(text, strlen(text), &q, &e) != 0)
        return -1;
    arena *a = keep ? keep : arena_new(0);
    trace_span **spans = NULL;
    uint32_t m = 0;
    int rc = a ? sel_match(q, c->ts, c->t, a, &spans, &m) : TC_ERR_NOMEM;
    sel_free(&q);
    if (rc == TC_ERR_NOMEM)
        c->nomem = 1;
    if (rc == 0) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < m; i++)
            if (spans[i]->order < c->t->n_spans && c->mark[spans[i]->order])
                k++;
        *n = m;
        *in = k;
        if (picked)
            *picked = spans;
    }
    if (!keep)
        arena_free(&a);
    return rc ? -1 : 0;
}

/* What a group's first filters alone pick: n spans, in of them its own. */
typedef struct prematch {
    bool known;
    uint32_t n, in;
} prematch;

/* prematch of each of groups[0..ng), for all of them in one pass over the
 * spans. */
static void precheck(gctx *c, const group *groups, uint32_t ng, prematch *pm)
{
    uint32_t *owner = calloc(c->t->n_spans + 1, sizeof *owner);
    sel_query **qs = calloc((size_t)ng + 1, sizeof *qs);
    trace_span ***outs = calloc((size_t)ng + 1, sizeof *outs);
    uint32_t *ns = calloc((size_t)ng + 1, sizeof *ns);
    int *rcs = calloc((size_t)ng + 1, sizeof *rcs);
    arena *a = arena_new(0);
    if (!owner || !qs || !outs || !ns || !rcs || !a)
        goto out;
    for (uint32_t i = 0; i < ng; i++) {
        const cand *k = groups[i].m[0];
        const char *text = step_text(c, k->base, k->n_base, NULL);
        tc_error e;
        if (text && sel_parse(text, strlen(text), &qs[i], &e) != 0)
            qs[i] = NULL;
        for (uint32_t j = 0; j < groups[i].n; j++)
            owner[groups[i].m[j]->sp->order] = i + 1;
    }
    if (sel_match_all((const sel_query *const *)qs, ng, c->ts, c->t, NULL, a, outs, ns, rcs) != 0)
        goto out;
    for (uint32_t i = 0; i < ng; i++) {
        if (!qs[i] || rcs[i] != 0 || !outs[i])
            continue;
        uint32_t in = 0;
        for (uint32_t j = 0; j < ns[i]; j++)
            if (outs[i][j]->order < c->t->n_spans && owner[outs[i][j]->order] == i + 1)
                in++;
        pm[i] = (prematch){true, ns[i], in};
    }
out:
    for (uint32_t i = 0; qs && i < ng; i++)
        sel_free(&qs[i]);
    arena_free(&a);
    free(owner);
    free(qs);
    free(outs);
    free(ns);
    free(rcs);
}

/* A selector that picks exactly the group's spans, or NULL. pm (may be
 * NULL): what its first filters pick, when known. */
static const char *group_selector(gctx *c, const group *gr, const prematch *pm)
{
    const cand *k = gr->m[0];
    const trace_span *sp = k->sp;
    const char *f[64];
    uint32_t nf = 0;
    for (uint32_t i = 0; i < k->n_base && nf < 32; i++)
        f[nf++] = k->base[i];
    const char *text = step_text(c, f, nf, NULL);
    uint32_t n = 0, in = 0;
    if (pm && pm->known)
        n = pm->n, in = pm->in;
    else if (sel_try(c, text, &n, &in, NULL, NULL) != 0)
        return NULL;
    if (in != gr->n)
        return NULL;
    if (n == gr->n)
        return text;

    /* more filters, each kept when it narrows the selection */
    static const char *const refine[] = {
        "kind",
        "http.route",
        "http.request.method",
        "http.method",
        "",
        "url.path",
        "http.target",
        "db.system.name",
        "db.system",
        "db.operation.name",
        "db.operation",
        "db.query.text",
        "db.statement",
        "rpc.service",
        "rpc.method",
        "messaging.destination.name",
        "messaging.destination",
        "messaging.operation.type",
        "messaging.operation",
        "http.response.status_code",
        "http.status_code",
        "rpc.grpc.status_code",
        "tracetest.span.status_code",
        NULL,
    };
    for (const char *const *r = refine; *r && n != gr->n && nf < 48; r++) {
        const char *flt = **r ? sel_filter_key(c, sp, *r) : url_filter(c, sp);
        if (!flt)
            continue;
        /* every member must have the same filter */
        bool same = true;
        for (uint32_t i = 1; i < gr->n && same; i++) {
            const char *o = **r ? sel_filter_key(c, gr->m[i]->sp, *r) : url_filter(c, gr->m[i]->sp);
            same = o && strcmp(o, flt) == 0;
        }
        if (!same)
            continue;
        f[nf] = flt;
        const char *t2 = step_text(c, f, nf + 1, NULL);
        uint32_t n2, in2;
        if (sel_try(c, t2, &n2, &in2, NULL, NULL) == 0 && in2 == gr->n && n2 < n) {
            nf++;
            text = t2;
            n = n2;
        }
    }
    if (n == gr->n)
        return text;

    /* an ancestor step: the nearest one (of the first member) that isolates */
    uint32_t best_n = n;
    uint32_t depth = 0;
    for (const trace_span *p = sp->parent; p && depth < 32; p = p->parent, depth++) {
        const char *af[4];
        uint32_t na = base_filters(c, p, af);
        const char *anc = step_text(c, af, na, NULL);
        const char *t2 = anc ? fmt(c, c->work, "%s %s", anc, text) : NULL;
        uint32_t n2, in2;
        if (sel_try(c, t2, &n2, &in2, NULL, NULL) == 0 && in2 == gr->n && n2 < best_n) {
            best_n = n2;
            if (n2 == gr->n)
                return t2;
        }
    }

    /* last resort for one span: its position among what the selector picks */
    if (gr->n == 1) {
        arena *a = arena_new(0);
        trace_span **picked = NULL;
        uint32_t n2 = 0, in2 = 0;
        const char *found = NULL;
        if (a && sel_try(c, text, &n2, &in2, &picked, a) == 0) {
            for (uint32_t i = 0; i < n2; i++)
                if (picked[i] == sp) {
                    const char *t2 = step_text(c, f, nf, fmt(c, c->work, ":nth_child(%u)", i + 1));
                    uint32_t n3, in3;
                    if (sel_try(c, t2, &n3, &in3, NULL, NULL) == 0 && n3 == 1 && in3 == 1)
                        found = t2;
                    break;
                }
        }
        arena_free(&a);
        if (found)
            return found;
    }
    return NULL;
}

/* ---- durations ---- */

/* "< BOUND" with BOUND = observed x headroom, rounded up to two
 * significant digits of its unit, at least 1ms. */
static const char *duration_bound(gctx *c, uint64_t dur)
{
    double ns = (double)dur * c->headroom;
    if (ns < 1e6)
        ns = 1e6;
    static const struct {
        double ns;
        const char *unit;
    } units[] = {{3600e9, "h"}, {60e9, "m"}, {1e9, "s"}, {1e6, "ms"}};
    size_t u = 0;
    while (u + 1 < sizeof units / sizeof units[0] && ns < units[u].ns)
        u++;
    double v = ns / units[u].ns;
    double mag = pow(10, floor(log10(v)) - 1);
    double r = ceil(v / mag - 1e-9) * mag;
    if (r * units[u].ns <= (double)dur)
        r += mag;
    char num[64];
    if (mag < 1)
        snprintf(num, sizeof num, "%.1f", r);
    else
        snprintf(num, sizeof num, "%.0f", r);
    size_t l = strlen(num);
    if (l > 2 && strcmp(num + l - 2, ".0") == 0)
        num[l - 2] = 0;
    return fmt(c, c->work, "attr:tracetest.span.duration < %s%s", num, units[u].unit);
}

/* ---- checking assertions ---- */

/* Which of as[0..n) pass on every span the selector picks: ok[i]. */
static void check_assertions(gctx *c, const char *selector, const char **as, uint32_t n, bool *ok,
                             bool may_be_empty)
{
    spec_env env;
    memset(&env, 0, sizeof env);
    arena *a = arena_new(0);
    spec_def d = {.name = "", .selector = selector, .assertions = as, .n_assertions = n};
    spec_run run;
    bool batch = false;
    if (a && spec_evaluate(c->ts, c->t, &d, 1, NULL, 0, &env, a, &run) == 0 && run.n_specs == 1 &&
        !run.specs[0].error && (run.specs[0].n_selected > 0 || may_be_empty)) {
        batch = true;
        const spec_result *r = &run.specs[0];
        for (uint32_t j = 0; j < n; j++)
            ok[j] = true;
        for (uint32_t i = 0; i < r->n_spans; i++) {
            if (r->spans[i].n_checks != n) {
                batch = false;
                break;
            }
            for (uint32_t j = 0; j < n; j++)
                if (!r->spans[i].checks[j].passed)
                    ok[j] = false;
        }
    }
    arena_free(&a);
    if (batch)
        return;
    /* one at a time (one does not parse, say) */
    for (uint32_t j = 0; j < n; j++) {
        ok[j] = false;
        a = arena_new(0);
        d.assertions = &as[j];
        d.n_assertions = 1;
        if (a && spec_evaluate(c->ts, c->t, &d, 1, NULL, 0, &env, a, &run) == 0 && run.n_specs == 1)
            ok[j] = run.specs[0].passed && (run.specs[0].n_selected > 0 || may_be_empty);
        else if (!a)
            c->nomem = 1;
        arena_free(&a);
    }
}

/* A spec before its assertions are checked. */
#define DRAFT_MAX 24
typedef struct draft {
    const char *name;
    const char *selector;
    const char *as[DRAFT_MAX];
    bool ok[DRAFT_MAX];
    uint32_t na;
    uint32_t n_spans;
    bool may_be_empty; /* the selection may be empty (a count of 0) */
} draft;

/* Checks every draft's assertions in one evaluation of them all (one pass
 * over the spans); a draft whose result is not one check per assertion on
 * every span (an assertion that does not parse, say) is checked alone. */
static void check_drafts(gctx *c, draft *d, uint32_t n)
{
    spec_def *defs = arena_alloc(c->work, ((size_t)n + 1) * sizeof *defs);
    arena *a = arena_new(0);
    spec_env env;
    memset(&env, 0, sizeof env);
    spec_run run;
    bool batch = defs && a;
    for (uint32_t i = 0; batch && i < n; i++)
        defs[i] = (spec_def){"", d[i].selector, d[i].as, d[i].na};
    if (batch && (spec_evaluate(c->ts, c->t, defs, n, NULL, 0, &env, a, &run) != 0 || run.n_specs != n))
        batch = false;
    for (uint32_t i = 0; i < n; i++) {
        const spec_result *r = batch ? &run.specs[i] : NULL;
        bool alone = !r || r->error || (r->n_selected == 0 && !d[i].may_be_empty);
        for (uint32_t j = 0; j < d[i].na; j++)
            d[i].ok[j] = true;
        for (uint32_t k = 0; !alone && k < r->n_spans; k++) {
            if (r->spans[k].n_checks != d[i].na) {
                alone = true;
                break;
            }
            for (uint32_t j = 0; j < d[i].na; j++)
                if (!r->spans[k].checks[j].passed)
                    d[i].ok[j] = false;
        }
        if (alone)
            check_assertions(c, d[i].selector, d[i].as, d[i].na, d[i].ok, d[i].may_be_empty);
    }
    arena_free(&a);
}

/* ---- the trigger ---- */

static void make_trigger(gctx *c, const trace_span *entry, gen_trigger_mode mode, gen_trigger *tr)
{
    char hex[2 * TRACE_ID_LEN + 1];
    hex_encode(c->t->trace_id, TRACE_ID_LEN, hex);
    tr->type = GEN_TRIG_TRACEID;
    tr->trace_id = arena_strdup(c->out, hex);
    if (mode == GEN_TRIGGER_TRACEID || !entry)
        return;
    const char *method = attr_any(c, entry, K_HTTP_METHOD, NULL, NULL);
    if (method && text_ok(method, strlen(method)) &&
        strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(method)) {
        static const char *const k_full[] = {"url.full", "http.url", NULL};
        static const char *const k_scheme[] = {"url.scheme", "http.scheme", NULL};
        static const char *const k_host[] = {"server.address", "net.host.name", "http.host", NULL};
        static const char *const k_port[] = {"server.port", "net.host.port", NULL};
        static const char *const k_target[] = {"http.target", "url.path", NULL};
        const char *url = attr_any(c, entry, k_full, NULL, NULL);
        if (!url || !strstr(url, "://")) {
            const char *scheme = attr_any(c, entry, k_scheme, NULL, NULL);
            const char *host = attr_any(c, entry, k_host, NULL, NULL);
            const char *port = attr_any(c, entry, k_port, NULL, NULL);
            const char *target = attr_any(c, entry, k_target, NULL, NULL);
            const char *query = attr(c, entry, "url.query", NULL);
            url = NULL;
            if (host && target && target[0] == '/') {
                bool host_has_port = strchr(host, ':') && host[0] != '[';
                url =
                    fmt(c, c->work, "%s://%s%s%s%s%s%s", scheme ? scheme : "http", host,
                        port && !host_has_port ? ":" : "", port && !host_has_port ? port : "", target,
                        query && !strchr(target, '?') ? "?" : "", query && !strchr(target, '?') ? query : "");
            }
        }
        if (url && text_ok(url, strlen(url)) && !strpbrk(url, " \"'<>\\") && strlen(url) <= 2048) {
            tr->type = GEN_TRIG_HTTP;
            tr->method = arena_strdup(c->out, method);
            tr->url = arena_strdup(c->out, url);
            return;
        }
    }
    const char *sys = attr(c, entry, "rpc.system", NULL);
    const char *svc = attr(c, entry, "rpc.service", NULL);
    const char *m = attr(c, entry, "rpc.method", NULL);
    static const char *const k_addr[] = {"server.address", "net.host.name", NULL};
    static const char *const k_aport[] = {"server.port", "net.host.port", NULL};
    const char *host = attr_any(c, entry, k_addr, NULL, NULL);
    const char *port = attr_any(c, entry, k_aport, NULL, NULL);
    if (sys && strcmp(sys, "grpc") == 0 && svc && m && host && port && text_ok(svc, strlen(svc)) &&
        text_ok(m, strlen(m)) && text_ok(host, strlen(host)) && text_ok(port, strlen(port))) {
        tr->type = GEN_TRIG_GRPC;
        tr->method = fmt(c, c->out, "%s.%s", svc, m);
        tr->address = fmt(c, c->out, "%s:%s", host, port);
    }
}

/* ---- the whole ---- */

int gen_parse_headroom(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return -1;
    if (*end == 'x' || *end == 'X')
        end++;
    if (*end || !(v >= 1 && v <= 1000))
        return -1;
    *out = v;
    return 0;
}

int gen_generate(trace_set *ts, trace *t, const gen_opts *o, arena *a, gen_test *out, tc_error *e)
{
    gen_opts defaults;
    memset(&defaults, 0, sizeof defaults);
    if (!o)
        o = &defaults;
    if (!t || t->n_spans == 0)
        return tc_error_set(e, TC_ERR_INPUT, "the trace has no spans");
    if (t->n_spans > GEN_MAX_SPANS)
        return tc_error_set(e, TC_ERR_LIMIT, "the trace has %u spans; generate reads at most %u", t->n_spans,
                            GEN_MAX_SPANS);
    if (o->headroom != 0 && !(o->headroom >= 1 && o->headroom <= 1000))
        return tc_error_set(e, TC_ERR_INPUT, "the headroom must be between 1 and 1000");
    if (!t->indexed && trace_index(ts, t) != 0)
        return TC_ERR_NOMEM;

    gen_test g;
    memset(&g, 0, sizeof g);
    gctx c;
    memset(&c, 0, sizeof c);
    c.ts = ts;
    c.t = t;
    c.out = a;
    c.g = &g;
    c.headroom = o->headroom != 0 ? o->headroom : 2;
    c.work = arena_new(0);
    buf_init(&c.tmp, (size_t)16 << 20);
    int rc = TC_ERR_NOMEM;
    uint32_t max_specs = o->max_specs ? o->max_specs : GEN_MAX_SPECS;
    cand *cands = NULL;
    cand **order = NULL;
    group *groups = NULL;
    uint32_t n_groups = 0, nc = 0;
    c.notes = arena_alloc(a, GEN_MAX_NOTES * sizeof *c.notes);
    c.mark = c.work ? arena_calloc(c.work, t->n_spans, 1) : NULL;
    if (!c.work || !c.notes || !c.mark)
        goto out;

    /* the entry span: the first top-level span (below the trigger span) */
    trace_span *entry = t->preorder[0];
    if (is_trigger_span(&c, entry))
        entry = entry->n_children ? entry->children[0] : NULL;

    /* the spans that matter, with their filters and facts */
    cands = arena_alloc(c.work, (size_t)t->n_spans * sizeof *cands);
    if (!cands)
        goto out;
    for (uint32_t i = 0; i < t->n_spans && !c.nomem; i++) {
        trace_span *sp = t->preorder[i];
        int role = span_role(&c, sp, entry);
        if (role == ROLE_NONE)
            continue;
        cand *k = &cands[nc];
        k->sp = sp;
        k->role = role;
        const char *bf[4], *ff[16];
        k->n_base = base_filters(&c, sp, bf);
        k->n_facts = span_facts(&c, sp, role, ff);
        k->base = arena_alloc(c.work, (k->n_base + 1) * sizeof *k->base);
        k->facts = arena_alloc(c.work, (k->n_facts + 1) * sizeof *k->facts);
        if (!k->base || !k->facts) {
            c.nomem = 1;
            break;
        }
        uint32_t nb = 0, nf = 0;
        for (uint32_t j = 0; j < k->n_base; j++)
            if (bf[j])
                k->base[nb++] = bf[j];
        for (uint32_t j = 0; j < k->n_facts; j++)
            if (ff[j])
                k->facts[nf++] = ff[j];
        k->n_base = nb;
        k->n_facts = nf;
        k->dur = span_dur(sp);
        k->sig = join_sig(&c, k);
        nc++;
    }
    if (c.nomem)
        goto out;

    /* identical spans make one spec */
    order = arena_alloc(c.work, ((size_t)nc + 1) * sizeof *order);
    groups = arena_alloc(c.work, ((size_t)nc + 1) * sizeof *groups);
    if (!order || !groups)
        goto out;
    for (uint32_t i = 0; i < nc; i++)
        order[i] = &cands[i];
    qsort(order, nc, sizeof *order, cmp_sig);
    for (uint32_t i = 0; i < nc;) {
        uint32_t j = i + 1;
        while (j < nc && strcmp(order[j]->sig, order[i]->sig) == 0)
            j++;
        group *gr = &groups[n_groups++];
        gr->m = &order[i];
        gr->n = j - i;
        gr->first = order[i]->sp->order;
        gr->max_dur = 0;
        for (uint32_t k = i; k < j; k++)
            if (order[k]->dur > gr->max_dur)
                gr->max_dur = order[k]->dur;
        i = j;
    }
    qsort(groups, n_groups, sizeof *groups, cmp_group);

    g.specs = arena_calloc(a, (size_t)(n_groups < max_specs ? n_groups : max_specs) + 2, sizeof *g.specs);
    if (!g.specs)
        goto out;
    uint32_t skipped = 0;
    /* a selector and assertions for each group (checked below, all at once) */
    uint32_t n_drafts = 0, cap_drafts = (n_groups < max_specs ? n_groups : max_specs) + 1;
    draft *drafts = arena_calloc(c.work, cap_drafts, sizeof *drafts);
    if (!drafts)
        goto out;
    uint32_t n_pre = n_groups < 2 * max_specs ? n_groups : 2 * max_specs;
    prematch *pre = arena_calloc(c.work, (size_t)n_pre + 1, sizeof *pre);
    if (!pre)
        goto out;
    precheck(&c, groups, n_pre, pre);
    for (uint32_t gi = 0; gi < n_groups && !c.nomem; gi++) {
        group *gr = &groups[gi];
        if (n_drafts >= max_specs) {
            skipped += gr->n;
            continue;
        }
        const trace_span *sp = gr->m[0]->sp;
        const char *svc = trace_span_service(sp);
        const char *title =
            gr->m[0]->role == ROLE_TRIGGER
                ? role_title[ROLE_TRIGGER]
                : fmt(&c, c.work, "%s: %s%s%s", role_title[gr->m[0]->role], svc, *svc ? " " : "", sp->name);
        if (title && gr->m[0]->role == ROLE_CALL && strcmp(spanattr_type(sp), "http") == 0) {
            static const char *const keys[] = {"url.full", "http.url", NULL};
            const char *u = attr_any(&c, sp, keys, NULL, NULL);
            const char *p = u ? url_path(&c, u) : NULL;
            if (p && !strstr(sp->name, p))
                title = fmt(&c, c.work, "%s %s", title, p);
        }
        if (gr->n > 1)
            title = fmt(&c, c.work, "%s (%u spans)", title, gr->n);
        title = title ? clean_text(a, title, strlen(title)) : NULL;
        for (uint32_t i = 0; i < gr->n; i++)
            c.mark[gr->m[i]->sp->order] = 1;
        const char *selector = group_selector(&c, gr, gi < n_pre ? &pre[gi] : NULL);
        for (uint32_t i = 0; i < gr->n; i++)
            c.mark[gr->m[i]->sp->order] = 0;
        if (!selector) {
            note(&c, fmt(&c, a, "left out \"%s\": no selector picks exactly %s", title ? title : "",
                         gr->n > 1 ? "these spans" : "this span"));
            continue;
        }
        draft *d = &drafts[n_drafts++];
        d->name = title;
        d->selector = selector;
        d->n_spans = gr->n;
        d->as[d->na++] = fmt(&c, c.work, "attr:tracetest.selected_spans.count = %u", gr->n);
        for (uint32_t i = 0; i < gr->m[0]->n_facts && d->na < DRAFT_MAX - 2; i++)
            if (common_fact(gr, gr->m[0]->facts[i]))
                d->as[d->na++] = gr->m[0]->facts[i];
        const char *prefix = gr->n > 1 ? statement_prefix(&c, gr) : NULL;
        if (prefix)
            d->as[d->na++] = prefix;
        d->as[d->na++] = duration_bound(&c, gr->max_dur);
    }
    if (skipped)
        note(&c,
             fmt(&c, a, "%u more spans that matter were left out (at most %u specs)", skipped, max_specs));
    if (c.work_out)
        note(&c, "finding selectors took too much work on this trace: some spans were left out");

    /* errors anywhere: as many as recorded (none, usually) */
    uint32_t n_err = 0;
    for (uint32_t i = 0; i < t->n_spans; i++)
        if (t->spans[i]->status_code == TRACE_STATUS_ERROR)
            n_err++;
    draft *de = &drafts[n_drafts++];
    de->name = n_err ? fmt(&c, a, "Spans with an error status: %u", n_err) : "No span has an error status";
    de->selector = "span[tracetest.span.status_code=\"STATUS_CODE_ERROR\"]";
    de->as[de->na++] = fmt(&c, c.work, "attr:tracetest.selected_spans.count = %u", n_err);
    de->n_spans = n_err;
    de->may_be_empty = true;
    for (uint32_t i = 0; i < n_drafts; i++)
        for (uint32_t j = 0; j < drafts[i].na; j++)
            if (!drafts[i].as[j])
                c.nomem = 1;
    if (c.nomem)
        goto out;

    /* names said twice get their rank: "... (2)" */
    for (uint32_t i = n_drafts; i-- > 1;) { /* from the end: names before i are still as made */
        uint32_t rank = 1;
        for (uint32_t j = 0; j < i && drafts[i].name; j++)
            if (drafts[j].name && strcmp(drafts[j].name, drafts[i].name) == 0)
                rank++;
        if (rank > 1)
            drafts[i].name = fmt(&c, a, "%s (%u)", drafts[i].name, rank);
    }
    check_drafts(&c, drafts, n_drafts);
    for (uint32_t i = 0; i < n_drafts && !c.nomem; i++) {
        draft *d = &drafts[i];
        if (!d->ok[0]) { /* the selector does not pick what it should: no spec */
            if (!d->may_be_empty)
                note(&c, fmt(&c, a, "left out \"%s\": its selector does not pick its spans",
                             d->name ? d->name : ""));
            continue;
        }
        gen_spec *s = &g.specs[g.n_specs++];
        s->name = d->name;
        s->selector = arena_strdup(a, d->selector);
        s->n_spans = d->n_spans;
        s->assertions = arena_alloc(a, (d->na + 1) * sizeof *s->assertions);
        if (!s->assertions || !s->selector)
            goto out;
        for (uint32_t j = 0; j < d->na; j++) {
            if (d->ok[j])
                s->assertions[s->n_assertions++] = arena_strdup(a, d->as[j]);
            else
                note(&c, fmt(&c, a, "\"%s\": left out the assertion %s (it does not hold on the trace)",
                             d->name ? d->name : "", d->as[j]));
        }
    }
    if (c.nomem)
        goto out;

    /* names, trigger */
    char hex[2 * TRACE_ID_LEN + 1];
    hex_encode(t->trace_id, TRACE_ID_LEN, hex);
    if (o->test_id)
        g.id = arena_strdup(a, o->test_id);
    else
        g.id = fmt(&c, a, "generated-%.16s", hex);
    if (o->test_name)
        g.name = clean_text(a, o->test_name, strlen(o->test_name));
    else if (entry) {
        const char *svc = trace_span_service(entry);
        const char *nm = fmt(&c, c.work, "%s%s%s", svc, *svc ? " " : "", entry->name);
        g.name = nm ? clean_text(a, nm, strlen(nm)) : NULL;
    } else
        g.name = fmt(&c, a, "Trace %s", hex);
    g.description =
        fmt(&c, a, "Generated from trace %s (%u span%s).", hex, t->n_spans, t->n_spans == 1 ? "" : "s");
    make_trigger(&c, entry, o->trigger, &g.trigger);
    if (c.nomem || !g.id || !g.name || !g.description || !g.trigger.trace_id)
        goto out;
    g.notes = c.notes;
    *out = g;
    rc = 0;
out:
    buf_free(&c.tmp);
    arena_free(&c.work);
    if (rc == TC_ERR_NOMEM)
        tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    return rc;
}

/* ---- YAML ---- */

/* True when YAML reads s back unchanged as a plain scalar (a conservative
 * test: printable ASCII, no indicator first, nothing YAML would read as
 * a number, bool or null, no ": " or " #"). */
static bool yaml_plain_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 1024)
        return false;
    if (strchr("-?:,[]{}#&*!|>'\"%@` .+0123456789~", s[0]))
        return false;
    if (s[n - 1] == ' ' || s[n - 1] == ':')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch >= 0x7f)
            return false;
        if (ch == ':' && s[i + 1] == ' ')
            return false;
        if (ch == ' ' && s[i + 1] == '#')
            return false;
        if (ch == '$' && s[i + 1] == '{')
            return false;
    }
    static const char *const special[] = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", NULL};
    for (const char *const *w = special; *w; w++)
        if (strcasecmp(s, *w) == 0)
            return false;
    return true;
}

static void yaml_scalar(tc_buf *b, const char *s)
{
    if (!s)
        s = "";
    if (yaml_plain_ok(s)) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '"');
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)ch);
            i++;
        } else if (ch == '\n') {
            buf_puts(b, "\\n");
            i++;
        } else if (ch == '\t') {
            buf_puts(b, "\\t");
            i++;
        } else if (ch < 0x20 || ch == 0x7f) {
            buf_printf(b, "\\x%02x", ch);
            i++;
        } else if (ch == '{' && i > 0 && s[i - 1] == '$') {
            buf_puts(b, "\\x7b"); /* so ${NAME} substitution before parsing leaves it */
            i++;
        } else {
            size_t l = utf8_len((const unsigned char *)s + i, n - i);
            if (!l) {
                buf_puts(b, "\\uFFFD");
                i++;
            } else {
                buf_append(b, s + i, l);
                i += l;
            }
        }
    }
    buf_putc(b, '"');
}

static void yaml_kv(tc_buf *b, int indent, const char *key, const char *val)
{
    buf_printf(b, "%*s%s: ", indent, "", key);
    yaml_scalar(b, val);
    buf_putc(b, '\n');
}

int gen_write_yaml(const gen_test *g, tc_buf *b)
{
    buf_puts(b, "type: Test\nspec:\n");
    yaml_kv(b, 2, "id", g->id);
    yaml_kv(b, 2, "name", g->name);
    if (g->description)
        yaml_kv(b, 2, "description", g->description);
    buf_puts(b, "  trigger:\n");
    switch (g->trigger.type) {
    case GEN_TRIG_HTTP:
        buf_puts(b, "    type: http\n    httpRequest:\n");
        yaml_kv(b, 6, "method", g->trigger.method);
        yaml_kv(b, 6, "url", g->trigger.url);
        buf_puts(b, "      # the request's headers and body are not in the trace: add them here\n");
        break;
    case GEN_TRIG_GRPC:
        buf_puts(b, "    type: grpc\n    grpc:\n");
        yaml_kv(b, 6, "address", g->trigger.address);
        yaml_kv(b, 6, "method", g->trigger.method);
        buf_puts(b, "      # protobufFile and request are not in the trace: add them here\n");
        break;
    default:
        buf_puts(b, "    type: traceid\n    traceid:\n");
        yaml_kv(b, 6, "id", g->trigger.trace_id);
        break;
    }
    buf_puts(b, g->n_specs ? "  specs:\n" : "  specs: []\n");
    for (uint32_t i = 0; i < g->n_specs; i++) {
        const gen_spec *s = &g->specs[i];
        buf_printf(b, "    - name: ");
        yaml_scalar(b, s->name);
        buf_putc(b, '\n');
        yaml_kv(b, 6, "selector", s->selector);
        buf_puts(b, s->n_assertions ? "      assertions:\n" : "      assertions: []\n");
        for (uint32_t j = 0; j < s->n_assertions; j++) {
            buf_puts(b, "        - ");
            yaml_scalar(b, s->assertions[j]);
            buf_putc(b, '\n');
        }
    }
    return b->failed ? TC_ERR_NOMEM : 0;
}
