/* sel.c - span selectors: lexer/parser into a small AST, and the matcher
 * over an indexed trace (see sel.h). */
#include "sel.h"

#include "spanattr.h"

#include <errno.h>
#include "par.h"

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
    char *text; /* the value as text (strings unquoted) */
    size_t text_len;
    double num;     /* V_INT / V_FLOAT */
    long long inum; /* V_INT, exact when int_exact */
    bool int_exact; /* the integer fits in 64 bits */
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
        fail(p, p->pos, "selector has more than %d terms", SEL_MAX_TERMS);
        if (p->e)
            p->e->offset = p->pos;
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
        if (c == '\0') {
            buf_free(&b);
            return fail(p, p->pos - 1, "NUL byte in a string");
        }
        if (c == '\\' && p->pos < p->len) {
            char x = p->s[p->pos++];
            switch (x) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'u': { /* \uXXXX, as UTF-8 (surrogates and bad digits: an error) */
                uint8_t h[2];
                if (p->len - p->pos < 4 || hex_decode(p->s + p->pos, 4, h, 2) != 0)
                    return buf_free(&b), fail(p, p->pos - 2, "\\u needs four hex digits");
                unsigned cp = (unsigned)h[0] << 8 | h[1];
                if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                    return buf_free(&b),
                           fail(p, p->pos - 2, "\\u%.4s is not allowed (NUL or a UTF-16 surrogate)",
                                p->s + p->pos);
                p->pos += 4;
                if (cp < 0x80) {
                    c = (char)cp;
                } else {
                    if (cp < 0x800) {
                        buf_putc(&b, (char)(0xC0 | cp >> 6));
                    } else {
                        buf_putc(&b, (char)(0xE0 | cp >> 12));
                        buf_putc(&b, (char)(0x80 | (cp >> 6 & 0x3F)));
                    }
                    c = (char)(0x80 | (cp & 0x3F));
                }
                break;
            }
            default:
                c = x;
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
        f->num = strtod(f->text, NULL);
        f->kind = dot ? V_FLOAT : V_INT;
        if (!dot) { /* canonical integer text: no sign '+', no leading zeros */
            errno = 0;
            char *end;
            f->inum = strtoll(f->text, &end, 10);
            f->int_exact = errno == 0 && *end == '\0';
            char tmp[48];
            snprintf(tmp, sizeof tmp, "%lld", f->inum);
            if (f->int_exact) /* else the source spelling stays */
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

/* ---- matcher ----
 *
 * R(k, range) = the spans steps k.. select within a range of pre-order
 * positions (the whole trace for step 0, the strict descendants of one span
 * matching step k-1 after that): for each span in the range matching step
 * k, in pre-order, its own result R(k+1, its descendants) (or itself at the
 * last step); repeated spans dropped; then step k's pseudo-class.
 *
 * When no step after k has a pseudo-class, R(k, range) is computed by one
 * sweep over the range (cost: range x steps) instead of by recursion, which
 * could cost range^2 per step on a deep trace: a span is selected when it
 * matches the last step and lies under a chain of matches of the earlier
 * ones. Recursion (a pseudo-class after the first step) is bounded by
 * SEL_MAX_WORK span visits. Filter results are memoised per step and span. */

typedef struct matcher {
    arena *cache; /* computed attributes (the set's arena); with ro: a thread's scratch */
    bool ro;      /* look attributes up without writing caches (spanattr_get_key_ro) */
    spanattr_table *tb; /* NULL or where the spans have each key (filled in the first pass) */
    trace *t;
    uint32_t *mark; /* per pre-order position: generation that saw it */
    uint32_t gen;
    uint8_t *memo;  /* [step * n + order]: 0 unknown, 1 no, 2 yes; NULL = none */
    bool full;      /* memo is prefilled: no entry is unknown */
    uint32_t *next; /* last step with a pseudo-class: next[i] = first match at >= i (n: none) */
    uint32_t *prev; /* and prev[i] = last match at <= i (UINT32_MAX: none) */
    uint64_t work;
    int err; /* TC_ERR_NOMEM or TC_ERR_LIMIT once failed */
} matcher;

typedef struct list {
    trace_span **v; /* malloc'd */
    uint32_t n, cap;
} list;

static void list_push(matcher *m, list *l, trace_span *sp)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 16;
        trace_span **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) {
            m->err = TC_ERR_NOMEM;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = sp;
}

/* Parses s[0..n) as a plain decimal number: [-+]digits[.digits][e[-+]digits]
 * (no hex, inf, nan or white space). *is_int when it has no '.' or exponent
 * and fits in 64 bits (then *i holds it). */
static bool as_number(const char *s, size_t n, double *d, long long *i, bool *is_int)
{
    if (n == 0 || n > 64)
        return false;
    size_t k = 0, digits = 0;
    bool frac = false;
    if (s[k] == '-' || s[k] == '+')
        k++;
    for (; k < n && s[k] >= '0' && s[k] <= '9'; k++)
        digits++;
    if (k < n && s[k] == '.') {
        frac = true;
        for (k++; k < n && s[k] >= '0' && s[k] <= '9'; k++)
            digits++;
    }
    if (!digits)
        return false;
    if (k < n && (s[k] == 'e' || s[k] == 'E')) {
        frac = true;
        k++;
        if (k < n && (s[k] == '-' || s[k] == '+'))
            k++;
        size_t e0 = k;
        for (; k < n && s[k] >= '0' && s[k] <= '9'; k++)
            ;
        if (k == e0)
            return false;
    }
    if (k != n)
        return false;
    char tmp[72];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *d = strtod(tmp, NULL);
    *is_int = false;
    if (!frac) {
        errno = 0;
        *i = strtoll(tmp, NULL, 10);
        *is_int = errno == 0;
    }
    return true;
}

/* "=" against a number: numerically when the text is a number (integers
 * exactly), else as text. */
static bool num_equal(const sel_filter *f, const char *text, size_t tn)
{
    double d;
    long long i;
    bool is_int;
    if (!as_number(text, tn, &d, &i, &is_int))
        return tn == f->text_len && memcmp(text, f->text, tn) == 0;
    if (f->kind == V_INT && f->int_exact && is_int)
        return i == f->inum;
    return d == f->num;
}

/* Does an attribute's value (found: rc 0, else absent: "") match filter f? */
static bool value_matches(const sel_filter *f, int rc, const tc_value *v)
{
    const char *text = "";
    size_t tn = 0;
    char numbuf[32];
    tc_buf tb;
    bool own_buf = false;
    if (rc == 0) {
        if (v->type == TC_V_STRING) {
            text = v->u.str;
            tn = v->len;
        } else if (v->type == TC_V_INT) {
            if (!f->contains && f->kind == V_INT && f->int_exact)
                return v->u.i == f->inum;
            tn = (size_t)snprintf(numbuf, sizeof numbuf, "%lld", (long long)v->u.i);
            text = numbuf;
        } else {
            buf_init(&tb, 0);
            own_buf = true;
            value_to_text(&tb, v);
            text = buf_str(&tb);
            tn = tb.len;
        }
    }
    bool ok;
    if (f->contains)
        ok = !f->text_len || memmem(text, tn, f->text, f->text_len) != NULL;
    else if (f->kind == V_INT || f->kind == V_FLOAT)
        ok = num_equal(f, text, tn);
    else
        ok = tn == f->text_len && memcmp(text, f->text, tn) == 0;
    if (own_buf)
        buf_free(&tb);
    return ok;
}

static bool text_matches(const sel_filter *f, const char *text, size_t tn)
{
    if (f->contains)
        return !f->text_len || memmem(text, tn, f->text, f->text_len) != NULL;
    if (f->kind == V_INT || f->kind == V_FLOAT)
        return num_equal(f, text, tn);
    return tn == f->text_len && memcmp(text, f->text, tn) == 0;
}

/* The value of attribute filter f's key on sp (spanattr_get_key_in). */
static int lookup(matcher *m, sel_filter *f, const trace_span *sp, tc_value *v)
{
    return m->ro ? spanattr_get_key_ro(m->cache, sp, &f->key, m->tb, v)
                 : spanattr_get_key_in(m->cache, sp, &f->key, m->tb, v);
}

static bool filter_matches(matcher *m, const sel_filter *cf, const trace_span *sp)
{
    sel_filter *f = (sel_filter *)cf; /* its key's memo is a cache */
    if (f->pk == P_NAME) {
        /* "=" on text needs no more than one byte past the value's length */
        const char *text = sp->name;
        size_t tn = !f->contains && f->kind == V_STRING ? strnlen(text, f->text_len + 1) : strlen(text);
        return text_matches(f, text, tn);
    }
    if (f->pk == P_KIND) {
        const char *text = spanattr_kind(sp);
        return text_matches(f, text, strlen(text));
    }
    tc_value v;
    int rc = lookup(m, f, sp, &v);
    if (rc == TC_ERR_NOMEM)
        m->err = TC_ERR_NOMEM;
    return value_matches(f, rc, &v);
}

/* Does the span at pre-order position i match step s (index in the chain)? */
static bool step_matches(matcher *m, const sel_step *steps, uint32_t s, uint32_t i)
{
    uint8_t *memo = m->memo ? &m->memo[(size_t)s * m->t->n_spans + i] : NULL;
    if (memo && *memo)
        return *memo == 2;
    const sel_step *st = &steps[s];
    const trace_span *sp = m->t->preorder[i];
    bool ok = true;
    for (uint32_t k = 0; ok && k < st->n_filters; k++)
        ok = filter_matches(m, &st->filters[k], sp);
    if (memo)
        *memo = ok ? 2 : 1;
    return ok;
}

static bool spend(matcher *m, uint64_t n)
{
    m->work += n;
    if (m->work > SEL_MAX_WORK && !m->err)
        m->err = TC_ERR_LIMIT;
    return !m->err;
}

/* Removes repeated spans (keeping the first; when l may have any) and
 * applies the pseudo-class. */
static void finish(matcher *m, list *l, pseudo_kind ps, long long nth, bool repeats)
{
    uint32_t gen = ++m->gen, k = repeats ? 0 : l->n;
    for (uint32_t i = 0; repeats && i < l->n; i++) {
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

/* Steps k..n-1 over [lo, hi) when none after k has a pseudo-class: one
 * sweep. cover[s] is the end of the last-seen subtree of a span matching
 * step s under a chain of the earlier steps (pre-order subtrees nest, so
 * one bound per step suffices). Result in pre-order. */
static void sweep(matcher *m, const sel_step *steps, uint32_t k, uint32_t n, uint32_t lo, uint32_t hi,
                  uint32_t *cover, list *out)
{
    for (uint32_t s = k; s < n; s++)
        cover[s] = lo;
    if (k == n - 1 && m->full) { /* one step, its results known: a scan */
        if (!spend(m, hi - lo))
            return;
        const uint8_t *mm = m->memo + (size_t)k * m->t->n_spans;
        for (uint32_t i = lo; i < hi && !m->err; i++)
            if (mm[i] == 2)
                list_push(m, out, m->t->preorder[i]);
        return;
    }
    for (uint32_t i = lo; i < hi && !m->err; i++) {
        if (!spend(m, n - k))
            break;
        const trace_span *sp = m->t->preorder[i];
        /* deepest step first, so a step's bound only counts strict ancestors */
        for (uint32_t s = n; s-- > k;) {
            if (s > k && i >= cover[s - 1])
                continue;
            if (!step_matches(m, steps, s, i))
                continue;
            if (s == n - 1)
                list_push(m, out, (trace_span *)sp);
            else if (sp->order + 1 + sp->subtree > cover[s])
                cover[s] = sp->order + 1 + sp->subtree;
        }
    }
}

/* R(k, [lo, hi)) into *out (see the top of this section). */
static void match_steps(matcher *m, const sel_step *steps, uint32_t k, uint32_t n, uint32_t lo, uint32_t hi,
                        const bool *tail_free, uint32_t *cover, list *out)
{
    if (k == n - 1 && m->next && lo < hi) { /* the last step's pseudo-class, from the tables */
        uint32_t j = steps[k].pseudo == PS_LAST ? m->prev[hi - 1] : m->next[lo];
        if (steps[k].pseudo == PS_NTH)
            for (long long c = 1; c < steps[k].nth && j < hi && spend(m, 1); c++)
                j = m->next[j + 1];
        if (j >= lo && j < hi && spend(m, 1))
            list_push(m, out, m->t->preorder[j]);
        return;
    }
    if (k == n - 1 && m->full && steps[k].pseudo != PS_NONE && lo < hi) {
        /* one step left, its results known: find the one span */
        if (!spend(m, hi - lo))
            return;
        const uint8_t *mm = m->memo + (size_t)k * m->t->n_spans;
        uint32_t j = UINT32_MAX;
        if (steps[k].pseudo == PS_LAST) {
            for (uint32_t i = hi; i-- > lo;)
                if (mm[i] == 2) {
                    j = i;
                    break;
                }
        } else {
            long long c = 0, want = steps[k].pseudo == PS_FIRST ? 1 : steps[k].nth;
            for (uint32_t i = lo; i < hi && want >= 1; i++)
                if (mm[i] == 2 && ++c == want) {
                    j = i;
                    break;
                }
        }
        if (j != UINT32_MAX)
            list_push(m, out, m->t->preorder[j]);
        return;
    }
    if (tail_free[k]) {
        sweep(m, steps, k, n, lo, hi, cover, out);
    } else {
        for (uint32_t i = lo; i < hi && !m->err; i++) {
            if (!spend(m, 1) || !step_matches(m, steps, k, i))
                continue;
            trace_span *sp = m->t->preorder[i];
            list sub = {0};
            match_steps(m, steps, k + 1, n, i + 1, i + 1 + sp->subtree, tail_free, cover, &sub);
            for (uint32_t j = 0; j < sub.n; j++)
                list_push(m, out, sub.v[j]);
            free(sub.v);
        }
    }
    finish(m, out, steps[k].pseudo, steps[k].nth, !tail_free[k]); /* a sweep finds each span once */
}

/* Matches one chain into *out. memo, when given, holds every step's filter
 * result for every span (prefilled); else the chain memoises its own. */
static void match_chain(matcher *m, const sel_chain *ch, uint8_t *memo, list *out)
{
    uint32_t n = ch->n_steps;
    bool *tail_free = malloc(n * sizeof *tail_free);
    uint32_t *cover = malloc(n * sizeof *cover);
    size_t spans = m->t->n_spans;
    for (uint32_t s = n; s-- > 0;)
        tail_free[s] = s + 1 == n || (tail_free[s + 1] && ch->steps[s + 1].pseudo == PS_NONE);
    bool need_memo = !memo && n > 1 && spans && (size_t)n <= SEL_MAX_MEMO / spans && !tail_free[0];
    m->memo = memo ? memo : need_memo ? calloc((size_t)n * spans, 1) : NULL;
    m->full = memo != NULL;
    if (n > 1 && ch->steps[n - 1].pseudo != PS_NONE) {
        m->next = malloc((spans + 1) * sizeof *m->next);
        m->prev = malloc((spans + 1) * sizeof *m->prev);
        if (m->next && m->prev) {
            m->next[spans] = (uint32_t)spans;
            for (size_t i = spans; i-- > 0;)
                m->next[i] = step_matches(m, ch->steps, n - 1, (uint32_t)i) ? (uint32_t)i : m->next[i + 1];
            for (size_t i = 0; i < spans; i++)
                m->prev[i] = m->next[i] == i ? (uint32_t)i : i ? m->prev[i - 1] : UINT32_MAX;
            spend(m, spans);
        }
    }
    if (!tail_free || !cover || (need_memo && !m->memo) ||
        (n > 1 && ch->steps[n - 1].pseudo != PS_NONE && (!m->next || !m->prev)))
        m->err = TC_ERR_NOMEM;
    else if (!m->err)
        match_steps(m, ch->steps, 0, n, 0, m->t->n_spans, tail_free, cover, out);
    if (!memo)
        free(m->memo);
    m->full = false;
    free(m->next);
    free(m->prev);
    m->memo = NULL;
    m->next = m->prev = NULL;
    free(tail_free);
    free(cover);
}

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* Two filters that always agree (same property, operator and value). */
static bool same_filter(const sel_filter *a, const sel_filter *b)
{
    return a->pk == b->pk && a->contains == b->contains && a->kind == b->kind &&
           a->text_len == b->text_len && memcmp(a->text, b->text, a->text_len) == 0 &&
           strcmp(a->prop, b->prop) == 0;
}

/* One thread's share of the pass over the spans: spans lo..hi-1 in arrival
 * order. Each job has its own matcher copy, filter memos and, when there
 * are several, its own filler and scratch arena (lookups then write no
 * cache); the rows and memo entries it writes are its spans' own. */
typedef struct prefill_job {
    matcher m;
    const sel_step **step;
    size_t steps;
    sel_filter **uniq;
    size_t nu;
    const uint32_t *fidx;
    const uint32_t *ugroup; /* per unique filter: its group (filters on one key) */
    const uint32_t *gfirst, *gcount, *gmem; /* per group: its filters, gmem[gfirst .. +gcount) */
    size_t ng;
    uint8_t *memo;
    size_t n, lo, hi;
    spanattr_filler *filler; /* NULL: the table's own */
    int err;
} prefill_job;

/* The filters of a group read one key: its value is looked up once per
 * span, and all of them are evaluated once per distinct value (results as
 * a bit mask, GROUP_MAX filters at most). */
#define GROUP_MAX 64
#define GMEMO_SLOTS 64
typedef struct gmemo_slot {
    tc_vkey key;
    uint64_t mask; /* bit k: filter k of the group matches */
    bool used;
} gmemo_slot;

/* Sets known[] for every filter of group g on sp. */
static void eval_group(prefill_job *j, uint32_t g, gmemo_slot *memo, const trace_span *sp, uint8_t *known)
{
    matcher *m = &j->m;
    const uint32_t *mem = j->gmem + j->gfirst[g];
    uint32_t cnt = j->gcount[g];
    sel_filter *f0 = j->uniq[mem[0]];
    uint64_t mask = 0;
    if (f0->pk != P_ATTR) { /* name or kind: names repeat from span to span */
        tc_vkey key;
        if (f0->pk == P_NAME) {
            tc_value v = {TC_V_STRING, (uint32_t)strlen(sp->name), {.str = sp->name}};
            value_key(&v, &key);
        } else {
            value_key_other(2, &key);
            key.bits = sp->kind;
        }
        gmemo_slot *sl = &memo[value_key_hash(&key) % GMEMO_SLOTS];
        if (sl->used && value_key_same(&sl->key, &key)) {
            mask = sl->mask;
        } else {
            for (uint32_t k = 0; k < cnt; k++)
                if (filter_matches(m, j->uniq[mem[k]], sp))
                    mask |= 1ull << k;
            *sl = (gmemo_slot){key, mask, true};
        }
    } else {
        tc_vkey key;
        tc_value v;
        int rc = -1; /* not looked up yet */
        const void *shared = spanattr_table_shared(m->tb, sp, &f0->key);
        if (shared) { /* a value many spans share: known by its address, not read */
            value_key_other(1, &key);
            key.bits = (uint64_t)(uintptr_t)shared;
        } else if ((rc = lookup(m, f0, sp, &v)) == 0) {
            value_key(&v, &key);
        } else {
            value_key_other(0, &key); /* absent (or out of memory, below) */
        }
        gmemo_slot *sl = &memo[value_key_hash(&key) % GMEMO_SLOTS];
        if (rc != TC_ERR_NOMEM && sl->used && value_key_same(&sl->key, &key)) {
            mask = sl->mask;
        } else {
            if (rc == -1)
                rc = lookup(m, f0, sp, &v);
            if (rc == TC_ERR_NOMEM) {
                m->err = TC_ERR_NOMEM;
                return;
            }
            for (uint32_t k = 0; k < cnt; k++)
                if (value_matches(j->uniq[mem[k]], rc, &v))
                    mask |= 1ull << k;
            *sl = (gmemo_slot){key, mask, true};
        }
    }
    for (uint32_t k = 0; k < cnt; k++)
        known[mem[k]] = mask >> k & 1 ? 2 : 1;
}

static void prefill_range(prefill_job *j)
{
    matcher *m = &j->m;
    if (j->err)
        return;
    const trace *t = m->t;
    uint8_t *known = malloc(j->nu ? j->nu : 1);
    gmemo_slot *gmemo = calloc((j->ng ? j->ng : 1) * GMEMO_SLOTS, sizeof *gmemo);
    if (!known || !gmemo) {
        free(known);
        free(gmemo);
        j->err = TC_ERR_NOMEM;
        return;
    }
    for (size_t i = j->lo; i < j->hi && !m->err; i++) {
        /* in arrival order, which is usually the order in memory */
        if (i + 16 < j->hi)
            spanattr_prefetch_span(t->spans[i + 16]);
        if (i + 8 < j->hi) { /* the span loaded above, by now */
            const trace_span *ahead = t->spans[i + 8];
            for (uint32_t k = 0; k < ahead->n_attrs; k += 2) /* 64-byte lines of 32-byte attributes */
                PREFETCH(&ahead->attrs[k]);
        }
        const trace_span *sp = t->spans[i];
        size_t o = sp->order;
        if (m->tb && j->filler)
            spanattr_table_fill_span_by(m->tb, j->filler, sp);
        else if (m->tb)
            spanattr_table_fill_span(m->tb, sp);
        memset(known, 0, j->nu);
        size_t nf = 0;
        for (size_t s = 0; s < j->steps; s++) {
            bool ok = true;
            for (uint32_t f = 0; f < j->step[s]->n_filters; f++, nf++) {
                if (!ok)
                    continue;
                uint32_t u = j->fidx[nf];
                if (!known[u])
                    eval_group(j, j->ugroup[u], gmemo + (size_t)j->ugroup[u] * GMEMO_SLOTS, sp, known);
                ok = known[u] == 2;
            }
            j->memo[s * j->n + o] = ok ? 2 : 1;
        }
    }
    if (m->err)
        j->err = m->err;
    free(known);
    free(gmemo);
}

static void prefill_job_run(void *job)
{
    prefill_range(job);
}

/* Runs jobs[0..nt) in parallel, each with a filler and a scratch arena of
 * its own when there are several. */
static void run_jobs(prefill_job *jobs, unsigned nt)
{
    arena *scratch[SEL_MAX_THREADS] = {NULL};
    for (unsigned j = 0; nt > 1 && j < nt; j++) {
        jobs[j].filler = spanattr_filler_new();
        scratch[j] = arena_new(0);
        if (!jobs[j].filler || !scratch[j]) {
            jobs[j].err = TC_ERR_NOMEM;
        }
        jobs[j].m.ro = true;
        jobs[j].m.cache = scratch[j];
    }
    par_run(prefill_job_run, jobs, sizeof *jobs, nt);
    for (unsigned j = 0; nt > 1 && j < nt; j++) {
        spanattr_filler_free(&jobs[j].filler);
        arena_free(&scratch[j]);
    }
}

/* The filter results of every step of every chain of qs, for every span, in
 * one pass over the trace (each span is loaded once for all of them, a
 * filter repeated in several steps is evaluated once per span, filters on
 * one key as a group): memo[(first step of chain) * n + step * n + i] = 1
 * (no) or 2 (yes). The spans are shared by up to `threads` jobs on a large
 * trace. NULL when out of memory (m->err set) or over SEL_MAX_MEMO;
 * *chain_base[c] then is unset. */
static uint8_t *prefill(matcher *m, const sel_query *const *qs, uint32_t nq, unsigned threads,
                        size_t **chain_base)
{
    size_t n = m->t->n_spans, steps = 0, chains = 0, filters = 0;
    *chain_base = NULL;
    for (uint32_t q = 0; q < nq; q++) {
        for (uint32_t c = 0; qs[q] && c < qs[q]->n_chains; c++) {
            chains++;
            steps += qs[q]->chains[c].n_steps;
            for (uint32_t s = 0; s < qs[q]->chains[c].n_steps; s++)
                filters += qs[q]->chains[c].steps[s].n_filters;
        }
    }
    if (!n || !steps || steps > SEL_MAX_MEMO / n)
        return NULL;
    uint8_t *memo = malloc(steps * n);
    size_t *base = malloc(chains * sizeof *base);
    const sel_step **step = malloc(steps * sizeof *step);
    sel_filter **uniq = malloc((filters ? filters : 1) * sizeof *uniq);
    uint32_t *fidx = malloc((filters ? filters : 1) * sizeof *fidx); /* per filter in step order */
    if (!memo || !base || !step || !uniq || !fidx) {
        free(memo);
        free(base);
        memo = NULL;
        goto out;
    }
    size_t k = 0, ch = 0, nf = 0, nu = 0;
    for (uint32_t q = 0; q < nq; q++) {
        for (uint32_t c = 0; qs[q] && c < qs[q]->n_chains; c++) {
            base[ch++] = k * n;
            for (uint32_t s = 0; s < qs[q]->chains[c].n_steps; s++) {
                const sel_step *st = &qs[q]->chains[c].steps[s];
                step[k++] = st;
                for (uint32_t f = 0; f < st->n_filters; f++) {
                    size_t u = 0;
                    while (u < nu && !same_filter(uniq[u], &st->filters[f]))
                        u++;
                    if (u == nu)
                        uniq[nu++] = &st->filters[f];
                    fidx[nf++] = (uint32_t)u;
                }
            }
        }
    }
    /* group the unique filters by the key they read */
    uint32_t *ugroup = malloc((nu ? nu : 1) * sizeof *ugroup), *gfirst = malloc((nu ? nu : 1) * sizeof *gfirst);
    uint32_t *gcount = calloc(nu ? nu : 1, sizeof *gcount), *gmem = malloc((nu ? nu : 1) * sizeof *gmem);
    size_t ng = 0;
    if (!ugroup || !gfirst || !gcount || !gmem) {
        free(ugroup);
        free(gfirst);
        free(gcount);
        free(gmem);
        free(base);
        m->err = TC_ERR_NOMEM;
        goto out;
    }
    for (size_t u = 0; u < nu; u++) {
        size_t g = 0;
        for (; g < ng; g++) {
            const sel_filter *a = uniq[gmem[gfirst[g]]], *b = uniq[u];
            if (gcount[g] < GROUP_MAX && a->pk == b->pk && (a->pk != P_ATTR || strcmp(a->prop, b->prop) == 0))
                break;
        }
        if (g == ng) { /* members of a group are placed after all groups are known */
            gfirst[ng++] = (uint32_t)u; /* its first member, for now */
            gmem[u] = (uint32_t)u;
        }
        ugroup[u] = (uint32_t)g;
        gcount[g]++;
    }
    for (size_t g = 0, at = 0; g < ng; g++) { /* place the members */
        size_t first = at;
        for (size_t u = 0; u < nu; u++)
            if (ugroup[u] == g)
                gmem[at++] = (uint32_t)u;
        gfirst[g] = (uint32_t)first;
    }
    prefill_job jobs[SEL_MAX_THREADS];
    unsigned nt = threads > SEL_MAX_THREADS ? SEL_MAX_THREADS : threads ? threads : 1;
    if (n < SEL_THREAD_MIN_SPANS)
        nt = 1;
    for (unsigned j = 0; j < nt; j++)
        jobs[j] = (prefill_job){*m,     step,  steps, uniq,       nu,         fidx,
                                ugroup, gfirst, gcount, gmem, ng, memo, n, n * j / nt, n * (j + 1) / nt, NULL, 0};
    run_jobs(jobs, nt);
    for (unsigned j = 0; j < nt; j++)
        if (jobs[j].err && !m->err)
            m->err = jobs[j].err;
    free(ugroup);
    free(gfirst);
    free(gcount);
    free(gmem);
    if (m->err) {
        free(base);
        goto out;
    }
    *chain_base = base;
out:
    free(step);
    free(uniq);
    free(fidx);
    if (!*chain_base) {
        free(memo);
        memo = NULL;
    }
    return memo;
}

/* One thread's share of matching the queries from the prefilled results:
 * queries j, j + nt, j + 2nt, ... with its own matcher (marks) and
 * arena. */
typedef struct match_job {
    matcher m;
    const sel_query *const *qs;
    uint32_t nq;
    uint8_t *memo;       /* NULL: none (then one job evaluates filters itself) */
    const size_t *base;  /* per chain: its steps' results in memo */
    const size_t *ch0;   /* per query: its first chain */
    unsigned j, nt;
    arena *a;
    trace_span ***outs;
    uint32_t *ns;
    int *rcs;
    int rc; /* TC_ERR_NOMEM */
} match_job;

static void match_job_run(void *job)
{
    match_job *jb = job;
    matcher *m = &jb->m;
    const trace *t = m->t;
    for (uint32_t qi = jb->j; qi < jb->nq && !jb->rc; qi += jb->nt) {
        const sel_query *q = jb->qs[qi];
        if (!q)
            continue;
        m->err = 0;
        m->work = 0;
        list all = {0};
        if (q->n_chains == 0) {
            for (uint32_t i = 0; i < t->n_spans; i++)
                list_push(m, &all, t->preorder[i]);
        }
        for (uint32_t c = 0; c < q->n_chains; c++) {
            if (m->err)
                continue;
            list part = {0};
            match_chain(m, &q->chains[c], jb->memo ? jb->memo + jb->base[jb->ch0[qi] + c] : NULL, &part);
            if (q->n_chains == 1) { /* the whole result */
                all = part;
                continue;
            }
            for (uint32_t k = 0; k < part.n; k++)
                list_push(m, &all, part.v[k]);
            free(part.v);
        }
        if (!m->err && q->n_chains > 1)
            finish(m, &all, PS_NONE, 0, true);
        trace_span **res = NULL;
        if (!m->err) {
            res = arena_alloc(jb->a, (all.n ? all.n : 1) * sizeof *res);
            if (!res)
                m->err = TC_ERR_NOMEM;
            else if (all.n)
                memcpy(res, all.v, all.n * sizeof *res);
        }
        free(all.v);
        if (m->err == TC_ERR_NOMEM) {
            jb->rc = TC_ERR_NOMEM;
        } else if (m->err) {
            jb->rcs[qi] = m->err;
        } else {
            jb->outs[qi] = res;
            jb->ns[qi] = all.n;
        }
    }
}

int sel_add_keys(sel_query *q, spanattr_table *tb)
{
    for (uint32_t c = 0; c < q->n_chains; c++)
        for (uint32_t s = 0; s < q->chains[c].n_steps; s++)
            for (uint32_t f = 0; f < q->chains[c].steps[s].n_filters; f++) {
                sel_filter *fl = &q->chains[c].steps[s].filters[f];
                if (fl->pk == P_ATTR && spanattr_table_add(tb, &fl->key))
                    return TC_ERR_NOMEM;
            }
    return 0;
}

int sel_match_all(const sel_query *const *qs, uint32_t nq, trace_set *ts, trace *t, spanattr_table *tb,
                  arena *a, trace_span ***outs, uint32_t *ns, int *rcs)
{
    return sel_match_all_mt(qs, nq, ts, t, tb, 1, a, outs, ns, rcs);
}

int sel_match_all_mt(const sel_query *const *qs, uint32_t nq, trace_set *ts, trace *t, spanattr_table *tb,
                     unsigned threads, arena *a, trace_span ***outs, uint32_t *ns, int *rcs)
{
    for (uint32_t q = 0; q < nq; q++) {
        outs[q] = NULL;
        ns[q] = 0;
        rcs[q] = 0;
    }
    if (!t->indexed && trace_index(ts, t))
        return TC_ERR_NOMEM;
    matcher m = {trace_set_arena(ts), false, tb, t, NULL, 0, NULL, false, NULL, NULL, 0, 0};
    m.mark = calloc(t->n_spans ? t->n_spans : 1, sizeof *m.mark);
    if (!m.mark)
        return TC_ERR_NOMEM;
    size_t *base = NULL;
    uint8_t *memo = prefill(&m, qs, nq, threads, &base);
    if (m.err == TC_ERR_NOMEM) {
        free(memo);
        free(base);
        free(m.mark);
        return TC_ERR_NOMEM;
    }
    /* then each query from those results: several threads take every
       nt-th query when the results are all known (nothing is evaluated) */
    size_t *ch0 = malloc((nq ? nq : 1) * sizeof *ch0); /* each query's first chain */
    int rc = ch0 ? 0 : TC_ERR_NOMEM;
    for (uint32_t qi = 0, ch = 0; ch0 && qi < nq; qi++) {
        ch0[qi] = ch;
        ch += qs[qi] ? qs[qi]->n_chains : 0;
    }
    unsigned nt = threads > SEL_MAX_THREADS ? SEL_MAX_THREADS : threads ? threads : 1;
    if (!memo || t->n_spans < SEL_THREAD_MIN_SPANS || nq < 2)
        nt = 1;
    if (nt > nq)
        nt = nq;
    match_job jobs[SEL_MAX_THREADS];
    for (unsigned j = 0; !rc && j < nt; j++) {
        jobs[j] = (match_job){m, qs, nq, memo, base, ch0, j, nt, a, outs, ns, rcs, 0};
        if (j == 0)
            continue;
        jobs[j].m.mark = calloc(t->n_spans ? t->n_spans : 1, sizeof *jobs[j].m.mark);
        jobs[j].a = arena_new(0);
        if (!jobs[j].m.mark || !jobs[j].a)
            jobs[j].rc = TC_ERR_NOMEM;
    }
    if (!rc)
        par_run(match_job_run, jobs, sizeof *jobs, nt);
    for (unsigned j = 0; !rc && j < nt; j++) {
        if (jobs[j].rc)
            rc = jobs[j].rc;
        if (j > 0) {
            free(jobs[j].m.mark);
            arena_adopt(a, &jobs[j].a); /* the results are in it */
        }
    }
    free(ch0);
    free(memo);
    free(base);
    free(m.mark);
    if (rc) {
        for (uint32_t q = 0; q < nq; q++) {
            outs[q] = NULL;
            ns[q] = 0;
        }
    }
    return rc;
}

int sel_match(const sel_query *q, trace_set *ts, trace *t, arena *a, trace_span ***out, uint32_t *n)
{
    int rc1 = 0;
    int rc = sel_match_all(&q, 1, ts, t, NULL, a, out, n, &rc1);
    return rc ? rc : rc1;
}
