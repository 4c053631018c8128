/* sel.c - span selectors: lexer/parser into a small AST, and the matcher
 * over an indexed trace (see sel.h). */
#include "sel.h"

#include "spanattr.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { V_STRING, V_INT, V_FLOAT, V_BOOL } vkind;

typedef enum { P_ATTR, P_NAME, P_KIND } prop_kind;

typedef struct sel_filter {
    char *prop;
    bool contains; /* else "=" */
    vkind kind;
    char *text;    /* the value as text (strings unquoted) */
    size_t text_len;
    double num;    /* V_INT / V_FLOAT */
    prop_kind pk;
    spanattr_key key; /* P_ATTR: the property, resolved once (its memo is mutable) */
} sel_filter;

typedef enum { PS_NONE, PS_FIRST, PS_LAST, PS_NTH } pseudo_kind;

typedef struct sel_step {
    sel_filter *filters;
    uint32_t n_filters;
    pseudo_kind pseudo;
    long long nth;
} sel_step;

typedef struct sel_chain {
    sel_step *steps;
    uint32_t n_steps;
} sel_chain;

struct sel_query {
    arena *a;
    sel_chain *chains;
    uint32_t n_chains;
};

/* ---- parser ---- */

typedef struct parser {
    const char *s;
    size_t len, pos;
    arena *a;
    tc_error *e;
    uint32_t terms;
} parser;

static int fail(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(parser *p, size_t at, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tc_error_at(p->e, TC_ERR_INPUT, at, "column %zu: %s", at + 1, msg);
    if (p->e) {
        p->e->line = 1;
        p->e->col = (int)at + 1;
    }
    return TC_ERR_INPUT;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len && is_space(p->s[p->pos]))
        p->pos++;
}

static bool ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool ident_char(char c)
{
    return ident_start(c) || (c >= '0' && c <= '9') || c == '-';
}

static const char *near(parser *p, char *buf, size_t n)
{
    if (p->pos >= p->len)
        return "end of selector";
    size_t k = 0;
    buf[k++] = '"';
    for (size_t i = p->pos; i < p->len && k < n - 5 && !is_space(p->s[i]); i++)
        buf[k++] = p->s[i];
    buf[k++] = '"';
    buf[k] = '\0';
    return buf;
}

static int count_term(parser *p)
{
    if (++p->terms > SEL_MAX_TERMS) {
        tc_error_set(p->e, TC_ERR_LIMIT, "selector has more than %d terms", SEL_MAX_TERMS);
        return TC_ERR_LIMIT;
    }
    return 0;
}

/* Grows a typed array in the arena by one element. */
static void *push(arena *a, void *arr, uint32_t n, size_t size)
{
    void *p = arena_realloc(a, arr, n * size, (n + 1) * size);
    if (p)
        memset((char *)p + n * size, 0, size);
    return p;
}

static int parse_string(parser *p, sel_filter *f)
{
    char q = p->s[p->pos];
    size_t start = p->pos++;
    tc_buf b;
    buf_init(&b, SEL_MAX_LEN);
    while (p->pos < p->len && p->s[p->pos] != q) {
        char c = p->s[p->pos++];
        if (c == '\\' && p->pos < p->len) {
            char x = p->s[p->pos++];
            switch (x) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            default: c = x;
            }
        }
        buf_putc(&b, c);
    }
    if (p->pos >= p->len) {
        buf_free(&b);
        return fail(p, start, "unterminated string");
    }
    p->pos++;
    f->kind = V_STRING;
    f->text = arena_strndup(p->a, buf_str(&b), b.len);
    buf_free(&b);
    return f->text ? 0 : TC_ERR_NOMEM;
}

static int parse_value(parser *p, sel_filter *f)
{
    char nb[48];
    skip_ws(p);
    if (p->pos >= p->len)
        return fail(p, p->pos, "expected a value after \"%s\"", f->contains ? "contains" : "=");
    char c = p->s[p->pos];
    if (c == '"' || c == '\'')
        return parse_string(p, f);
    size_t start = p->pos;
    if (c == '-' || c == '+' || (c >= '0' && c <= '9') || c == '.') {
        size_t i = p->pos + (c == '-' || c == '+');
        bool dot = false, digits = false;
        while (i < p->len && ((p->s[i] >= '0' && p->s[i] <= '9') || (p->s[i] == '.' && !dot))) {
            if (p->s[i] == '.')
                dot = true;
            else
                digits = true;
            i++;
        }
        if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
            size_t j = i + 1;
            if (j < p->len && (p->s[j] == '-' || p->s[j] == '+'))
                j++;
            if (j < p->len && p->s[j] >= '0' && p->s[j] <= '9') {
                dot = true;
                i = j;
                while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
                    i++;
            }
        }
        if (!digits)
            return fail(p, start, "expected a value, got %s", near(p, nb, sizeof nb));
        if (i < p->len && ident_char(p->s[i]))
            return fail(p, start, "malformed number %s", near(p, nb, sizeof nb));
        f->text = arena_strndup(p->a, p->s + start, i - start);
        if (!f->text)
            return TC_ERR_NOMEM;
        errno = 0;
        f->num = strtod(f->text, NULL);
        f->kind = dot ? V_FLOAT : V_INT;
        if (!dot) { /* canonical integer text: no sign '+', no leading zeros */
            char tmp[48];
            snprintf(tmp, sizeof tmp, "%.0f", f->num);
            if (fabs(f->num) < 9e15)
                f->text = arena_strdup(p->a, tmp);
        }
        p->pos = i;
        return f->text ? 0 : TC_ERR_NOMEM;
    }
    if (ident_start(c)) {
        size_t i = p->pos;
        while (i < p->len && ident_char(p->s[i]))
            i++;
        if ((i - start == 4 && memcmp(p->s + start, "true", 4) == 0) ||
            (i - start == 5 && memcmp(p->s + start, "false", 5) == 0)) {
            f->kind = V_BOOL;
            f->text = arena_strndup(p->a, p->s + start, i - start);
            p->pos = i;
            return f->text ? 0 : TC_ERR_NOMEM;
        }
    }
    return fail(p, start, "expected a value (a quoted string, a number, true or false), got %s",
                near(p, nb, sizeof nb));
}

static int parse_filter(parser *p, sel_filter *f)
{
    char nb[48];
    size_t start = p->pos;
    if (p->pos >= p->len || !ident_start(p->s[p->pos]))
        return fail(p, p->pos, "expected an attribute name, got %s", near(p, nb, sizeof nb));
    for (;;) {
        while (p->pos < p->len && ident_char(p->s[p->pos]))
            p->pos++;
        if (p->pos + 1 < p->len && p->s[p->pos] == '.' && ident_char(p->s[p->pos + 1])) {
            p->pos++;
            continue;
        }
        break;
    }
    f->prop = arena_strndup(p->a, p->s + start, p->pos - start);
    if (!f->prop)
        return TC_ERR_NOMEM;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '=') {
        p->pos++;
    } else if (p->len - p->pos >= 8 && memcmp(p->s + p->pos, "contains", 8) == 0 &&
               (p->pos + 8 == p->len || !ident_char(p->s[p->pos + 8]))) {
        f->contains = true;
        p->pos += 8;
    } else {
        return fail(p, p->pos, "expected \"=\" or \"contains\" after \"%s\", got %s", f->prop,
                    near(p, nb, sizeof nb));
    }
    int rc = parse_value(p, f);
    if (rc)
        return rc;
    f->text_len = strlen(f->text);
    f->pk = strcmp(f->prop, "name") == 0 ? P_NAME : strcmp(f->prop, "kind") == 0 ? P_KIND : P_ATTR;
    spanattr_key_init(&f->key, f->prop, strlen(f->prop));
    return 0;
}

static int parse_step(parser *p, sel_step *st)
{
    char nb[48];
    int rc;
    if (p->len - p->pos < 5 || memcmp(p->s + p->pos, "span[", 5) != 0)
        return fail(p, p->pos, "expected \"span[\", got %s", near(p, nb, sizeof nb));
    p->pos += 5;
    skip_ws(p);
    while (p->pos < p->len && p->s[p->pos] != ']') {
        if ((rc = count_term(p)))
            return rc;
        sel_filter *fs = push(p->a, st->filters, st->n_filters, sizeof *fs);
        if (!fs)
            return TC_ERR_NOMEM;
        st->filters = fs;
        if ((rc = parse_filter(p, &st->filters[st->n_filters])))
            return rc;
        st->n_filters++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ']')
                return fail(p, p->pos, "expected a filter after \",\"");
        }
    }
    if (p->pos >= p->len)
        return fail(p, p->pos, "expected \"]\" to close \"span[\"");
    p->pos++;
    if (p->pos < p->len && p->s[p->pos] == ':') {
        size_t at = p->pos++;
        size_t i = p->pos;
        while (i < p->len && ident_char(p->s[i]))
            i++;
        size_t n = i - p->pos;
        if (n == 5 && memcmp(p->s + p->pos, "first", 5) == 0) {
            st->pseudo = PS_FIRST;
        } else if (n == 4 && memcmp(p->s + p->pos, "last", 4) == 0) {
            st->pseudo = PS_LAST;
        } else if (n == 9 && memcmp(p->s + p->pos, "nth_child", 9) == 0) {
            st->pseudo = PS_NTH;
            p->pos = i;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '(')
                return fail(p, p->pos, "expected \"(\" after \":nth_child\"");
            p->pos++;
            skip_ws(p);
            size_t d = p->pos;
            while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
                p->pos++;
            if (d == p->pos || p->pos - d > 9)
                return fail(p, d, "expected a position (1, 2, ...) in \":nth_child()\"");
            st->nth = 0;
            for (size_t k = d; k < p->pos; k++) /* the input is not NUL-terminated */
                st->nth = st->nth * 10 + (p->s[k] - '0');
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ')')
                return fail(p, p->pos, "expected \")\" to close \":nth_child(\"");
            p->pos++;
            return 0;
        } else {
            return fail(p, at, "unknown pseudo-class \":%.*s\" (use :first, :last or :nth_child(n))",
                        (int)(n > 40 ? 40 : n), p->s + p->pos);
        }
        p->pos = i;
    }
    return 0;
}

static int parse_chain(parser *p, sel_chain *ch)
{
    int rc;
    for (;;) {
        if ((rc = count_term(p)))
            return rc;
        sel_step *ss = push(p->a, ch->steps, ch->n_steps, sizeof *ss);
        if (!ss)
            return TC_ERR_NOMEM;
        ch->steps = ss;
        if ((rc = parse_step(p, &ch->steps[ch->n_steps])))
            return rc;
        ch->n_steps++;
        size_t before = p->pos;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] == ',')
            return 0;
        if (p->pos == before) {
            char nb[48];
            return fail(p, p->pos, "expected a space, \",\" or the end after \"]\", got %s",
                        near(p, nb, sizeof nb));
        }
    }
}

int sel_parse(const char *src, size_t len, sel_query **out, tc_error *e)
{
    if (len > SEL_MAX_LEN)
        return tc_error_set(e, TC_ERR_LIMIT, "selector longer than %zu bytes", (size_t)SEL_MAX_LEN);
    sel_query *q = calloc(1, sizeof *q);
    arena *a = q ? arena_new(16u << 20) : NULL;
    if (!a) {
        free(q);
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    }
    q->a = a;
    parser p = {src, len, 0, a, e, 0};
    int rc = 0;
    skip_ws(&p);
    while (p.pos < p.len) {
        sel_chain *cs = push(a, q->chains, q->n_chains, sizeof *cs);
        if (!cs) {
            rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
            break;
        }
        q->chains = cs;
        if ((rc = parse_chain(&p, &q->chains[q->n_chains])))
            break;
        q->n_chains++;
        skip_ws(&p);
        if (p.pos < p.len) { /* a comma */
            p.pos++;
            skip_ws(&p);
            if (p.pos >= p.len) {
                rc = fail(&p, p.pos, "expected a selector after \",\"");
                break;
            }
        }
    }
    if (rc) {
        sel_free(&q);
        return rc;
    }
    *out = q;
    return 0;
}

void sel_free(sel_query **q)
{
    if (!q || !*q)
        return;
    arena_free(&(*q)->a);
    free(*q);
    *q = NULL;
}

/* ---- printer ---- */

int sel_print(const sel_query *q, tc_buf *out)
{
    for (uint32_t c = 0; c < q->n_chains; c++) {
        if (c)
            buf_puts(out, ", ");
        const sel_chain *ch = &q->chains[c];
        for (uint32_t s = 0; s < ch->n_steps; s++) {
            const sel_step *st = &ch->steps[s];
            buf_puts(out, s ? " span[" : "span[");
            for (uint32_t f = 0; f < st->n_filters; f++) {
                const sel_filter *fl = &st->filters[f];
                buf_printf(out, "%s%s%s", f ? " " : "", fl->prop, fl->contains ? " contains " : "=");
                if (fl->kind == V_STRING)
                    buf_json_string(out, fl->text, strlen(fl->text));
                else
                    buf_puts(out, fl->text);
            }
            buf_putc(out, ']');
            if (st->pseudo == PS_FIRST)
                buf_puts(out, ":first");
            else if (st->pseudo == PS_LAST)
                buf_puts(out, ":last");
            else if (st->pseudo == PS_NTH)
                buf_printf(out, ":nth_child(%lld)", st->nth);
        }
    }
    return out->failed ? TC_ERR_NOMEM : 0;
}

/* ---- matcher ---- */

typedef struct matcher {
    arena *a;       /* results */
    arena *cache;   /* computed attributes (the set's arena) */
    trace *t;
    uint32_t *mark; /* per pre-order position: generation that saw it */
    uint32_t gen;
    int nomem;
} matcher;

typedef struct list {
    trace_span **v;
    uint32_t n, cap;
} list;

static void list_push(matcher *m, list *l, trace_span *sp)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 16;
        trace_span **v = arena_realloc(m->a, l->v, l->cap * sizeof *v, cap * sizeof *v);
        if (!v) {
            m->nomem = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = sp;
}

/* Parses s as a whole number (no trailing text). */
static bool as_number(const char *s, size_t n, double *out)
{
    if (n == 0 || n > 64)
        return false;
    char tmp[72];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    *out = strtod(tmp, &end);
    return end == tmp + n && !is_space(tmp[0]);
}

static bool filter_matches(matcher *m, sel_filter *f, const trace_span *sp)
{
    const char *text = "";
    size_t tn = 0;
    char numbuf[64];
    if (f->pk == P_NAME) {
        text = sp->name;
        tn = strlen(text);
    } else if (f->pk == P_KIND) {
        text = spanattr_kind(sp);
        tn = strlen(text);
    } else {
        tc_value v;
        int rc = spanattr_get_key(m->cache, sp, &f->key, &v);
        if (rc == TC_ERR_NOMEM)
            m->nomem = 1;
        if (rc == 0) {
            if (v.type == TC_V_STRING) {
                text = v.u.str;
                tn = v.len;
            } else if (v.type == TC_V_INT && !f->contains && (f->kind == V_INT || f->kind == V_FLOAT)) {
                return (double)v.u.i == f->num;
            } else if (v.type == TC_V_INT) {
                tn = (size_t)snprintf(numbuf, sizeof numbuf, "%lld", (long long)v.u.i);
                text = numbuf;
            } else {
                tc_buf tb;
                buf_init(&tb, 0);
                value_to_text(&tb, &v);
                bool ok = false;
                if (f->contains) {
                    ok = memmem(buf_str(&tb), tb.len, f->text, f->text_len) != NULL || !f->text_len;
                } else if (f->kind == V_INT || f->kind == V_FLOAT) {
                    double d;
                    ok = as_number(buf_str(&tb), tb.len, &d) ? d == f->num
                                                             : (tb.len == f->text_len && memcmp(buf_str(&tb), f->text, tb.len) == 0);
                } else {
                    ok = tb.len == f->text_len && memcmp(buf_str(&tb), f->text, tb.len) == 0;
                }
                buf_free(&tb);
                return ok;
            }
        }
    }
    if (f->contains)
        return !f->text_len || memmem(text, tn, f->text, f->text_len) != NULL;
    if (f->kind == V_INT || f->kind == V_FLOAT) {
        double d;
        return as_number(text, tn, &d) ? d == f->num : (tn == f->text_len && memcmp(text, f->text, tn) == 0);
    }
    return tn == f->text_len && memcmp(text, f->text, tn) == 0;
}

static bool step_matches(matcher *m, const sel_step *st, const trace_span *sp)
{
    for (uint32_t i = 0; i < st->n_filters; i++)
        if (!filter_matches(m, &st->filters[i], sp))
            return false;
    return true;
}

/* Removes repeated spans (keeping the first) and applies the pseudo-class. */
static void finish(matcher *m, list *l, pseudo_kind ps, long long nth)
{
    uint32_t gen = ++m->gen, k = 0;
    for (uint32_t i = 0; i < l->n; i++) {
        if (m->mark[l->v[i]->order] == gen)
            continue;
        m->mark[l->v[i]->order] = gen;
        l->v[k++] = l->v[i];
    }
    l->n = k;
    if (ps == PS_FIRST && l->n > 1)
        l->n = 1;
    else if (ps == PS_LAST && l->n > 0) {
        l->v[0] = l->v[l->n - 1];
        l->n = 1;
    } else if (ps == PS_NTH) {
        if (nth < 1 || nth > (long long)l->n) {
            l->n = 0;
        } else {
            l->v[0] = l->v[nth - 1];
            l->n = 1;
        }
    }
}

/* Spans selected by steps[0..n) over pre-order positions [lo, hi). */
static list match_steps(matcher *m, const sel_step *steps, uint32_t n, uint32_t lo, uint32_t hi)
{
    list out = {0};
    for (uint32_t i = lo; i < hi && !m->nomem; i++) {
        trace_span *sp = m->t->preorder[i];
        if (!step_matches(m, &steps[0], sp))
            continue;
        if (n == 1) {
            list_push(m, &out, sp);
            continue;
        }
        list sub = match_steps(m, steps + 1, n - 1, sp->order + 1, sp->order + 1 + sp->subtree);
        for (uint32_t k = 0; k < sub.n; k++)
            list_push(m, &out, sub.v[k]);
    }
    finish(m, &out, steps[0].pseudo, steps[0].nth);
    return out;
}

int sel_match(const sel_query *q, trace_set *ts, trace *t, arena *a, trace_span ***out, uint32_t *n)
{
    *out = NULL;
    *n = 0;
    if (!t->indexed && trace_index(ts, t))
        return TC_ERR_NOMEM;
    matcher m = {a, trace_set_arena(ts), t, NULL, 0, 0};
    m.mark = arena_calloc(a, t->n_spans ? t->n_spans : 1, sizeof *m.mark);
    if (!m.mark)
        return TC_ERR_NOMEM;
    list all = {0};
    if (q->n_chains == 0) {
        for (uint32_t i = 0; i < t->n_spans; i++)
            list_push(&m, &all, t->preorder[i]);
    }
    for (uint32_t c = 0; c < q->n_chains && !m.nomem; c++) {
        list part = match_steps(&m, q->chains[c].steps, q->chains[c].n_steps, 0, t->n_spans);
        for (uint32_t k = 0; k < part.n; k++)
            list_push(&m, &all, part.v[k]);
    }
    if (m.nomem)
        return TC_ERR_NOMEM;
    if (q->n_chains > 1)
        finish(&m, &all, PS_NONE, 0);
    *out = all.v;
    *n = all.n;
    return 0;
}
