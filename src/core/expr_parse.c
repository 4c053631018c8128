/* expr_parse.c - lexer and recursive-descent parser of expressions and
 * statements into an arena AST (see expr.h, expr_int.h). */
#include "expr_int.h"

#include <stdio.h>
#include <string.h>

enum tok {
    K_EOF,
    K_LP,
    K_RP,
    K_COMMA,
    K_PIPE,
    K_LB,
    K_RB,
    K_CMP,
    K_OP,
    K_DUR,
    K_NUM,
    K_ATTR,
    K_ENV,
    K_VAR,
    K_STR,
    K_IDENT,
    K_BAD,
};

typedef struct token {
    int kind;
    size_t off, len; /* whole token */
    expr_cmp cmp;
    char op;
    int64_t ns;      /* K_DUR */
    size_t nlen;     /* K_DUR: length of the number part */
} token;

typedef struct parser {
    arena *a;
    const char *s;
    size_t end;   /* lexing stops here (inner ${...} expressions) */
    size_t pos;
    token cur;
    int prev;     /* kind of the previous token, for negative numbers */
    int depth;
    tc_error *err;
    const char *top; /* the whole input, for messages */
    size_t toplen;
} parser;

static int is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_ident(int c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '_';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_name(int c)
{
    return is_ident(c) || c == '.' || c == '-';
}

static int fail(parser *p, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(parser *p, size_t off, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    tc_error where;
    where.offset = off;
    tc_error_locate(&where, p->top, p->toplen);
    int n = p->toplen > 80 ? 77 : (int)p->toplen;
    tc_error_at(p->err, TC_ERR_INPUT, off, "invalid syntax \"%.*s%s\": %d:%d: %s", n, p->top,
                p->toplen > 80 ? "..." : "", where.line, where.col, what);
    tc_error_locate(p->err, p->top, p->toplen);
    return TC_ERR_INPUT;
}

/* Number at s[i..]: digits, optional fraction. Returns its length or 0. */
static size_t scan_number(const char *s, size_t i, size_t end)
{
    size_t j = i;
    while (j < end && is_digit((unsigned char)s[j]))
        j++;
    if (j == i)
        return 0;
    if (j + 1 < end && s[j] == '.' && is_digit((unsigned char)s[j + 1])) {
        j++;
        while (j < end && is_digit((unsigned char)s[j]))
            j++;
    }
    return j - i;
}

/* Unit at s[i..] not followed by an identifier character. Returns its length. */
static size_t scan_unit(const char *s, size_t i, size_t end)
{
    static const char *units[] = {"ns", "us", "ms", "s", "m", "h"};
    for (size_t u = 0; u < 6; u++) {
        size_t n = strlen(units[u]);
        if (i + n <= end && memcmp(s + i, units[u], n) == 0 &&
            (i + n == end || !is_ident((unsigned char)s[i + n])))
            return n;
    }
    return 0;
}

static int lex(parser *p)
{
    const char *s = p->s;
    size_t i = p->pos, end = p->end;
    while (i < end && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    token t;
    memset(&t, 0, sizeof t);
    t.off = i;
    if (i >= end) {
        t.kind = K_EOF;
        p->cur = t;
        p->pos = i;
        return 0;
    }
    unsigned char c = (unsigned char)s[i];
    size_t n = 1;
    bool value_before = p->prev == K_NUM || p->prev == K_DUR || p->prev == K_STR || p->prev == K_ATTR ||
                        p->prev == K_ENV || p->prev == K_VAR || p->prev == K_RP || p->prev == K_RB;
    switch (c) {
    case '(': t.kind = K_LP; break;
    case ')': t.kind = K_RP; break;
    case ',': t.kind = K_COMMA; break;
    case '|': t.kind = K_PIPE; break;
    case '[': t.kind = K_LB; break;
    case ']': t.kind = K_RB; break;
    case '=': t.kind = K_CMP; t.cmp = EXPR_CMP_EQ; break;
    case '!':
        if (i + 1 < end && s[i + 1] == '=') {
            t.kind = K_CMP;
            t.cmp = EXPR_CMP_NE;
            n = 2;
        } else {
            t.kind = K_BAD;
        }
        break;
    case '<':
    case '>':
        t.kind = K_CMP;
        if (i + 1 < end && s[i + 1] == '=') {
            n = 2;
            t.cmp = c == '<' ? EXPR_CMP_LE : EXPR_CMP_GE;
        } else {
            t.cmp = c == '<' ? EXPR_CMP_LT : EXPR_CMP_GT;
        }
        break;
    case '+': case '*': case '/':
        t.kind = K_OP;
        t.op = (char)c;
        break;
    case '"':
    case '\'': {
        size_t j = i + 1;
        while (j < end && s[j] != (char)c) {
            if (s[j] == '\\' && j + 1 < end)
                j++;
            j++;
        }
        if (j >= end)
            return fail(p, i, "unterminated string");
        t.kind = K_STR;
        n = j + 1 - i;
        break;
    }
    default:
        if (c == '-' && !value_before && i + 1 < end && is_digit((unsigned char)s[i + 1])) {
            /* negative number or duration */
        } else if (c == '-') {
            t.kind = K_OP;
            t.op = '-';
            break;
        }
        if (is_digit(c) || c == '-') {
            size_t sign = c == '-';
            size_t m = scan_number(s, i + sign, end);
            size_t j = i + sign + m;
            size_t k = j;
            if (k < end && s[k] == ' ')
                k++;
            size_t u = scan_unit(s, k, end);
            if (u) {
                t.kind = K_DUR;
                t.nlen = j - i;
                n = k + u - i;
                /* duration_ns wants the unit too */
                char tmp[96];
                size_t nl = j - i, ul = u;
                if (nl + ul < sizeof tmp) {
                    memcpy(tmp, s + i, nl);
                    memcpy(tmp + nl, s + k, ul);
                    if (expr_duration_ns(tmp, nl + ul, &t.ns) != 0)
                        return fail(p, i, "duration out of range");
                } else {
                    return fail(p, i, "duration too long");
                }
            } else {
                t.kind = K_NUM;
                n = j - i;
            }
            break;
        }
        if (is_ident_start(c)) {
            size_t j = i;
            while (j < end && is_ident((unsigned char)s[j]))
                j++;
            size_t w = j - i;
            static const struct {
                const char *pfx;
                int kind;
            } refs[] = {{"attr:", K_ATTR}, {"env:", K_ENV}, {"var:", K_VAR}};
            for (size_t r = 0; r < 3; r++) {
                size_t pl = strlen(refs[r].pfx);
                if (i + pl < end && memcmp(s + i, refs[r].pfx, pl) == 0 &&
                    is_ident((unsigned char)s[i + pl])) {
                    size_t k = i + pl;
                    while (k < end && is_name((unsigned char)s[k]))
                        k++;
                    t.kind = refs[r].kind;
                    n = k - i;
                    goto done;
                }
            }
            if (w == 3 && memcmp(s + i, "not", 3) == 0 && j + 9 <= end && memcmp(s + j, "-contains", 9) == 0 &&
                (j + 9 == end || !is_ident((unsigned char)s[j + 9]))) {
                t.kind = K_CMP;
                t.cmp = EXPR_CMP_NOT_CONTAINS;
                n = 12;
            } else if (w == 8 && memcmp(s + i, "contains", 8) == 0) {
                t.kind = K_CMP;
                t.cmp = EXPR_CMP_CONTAINS;
                n = 8;
            } else {
                t.kind = K_IDENT;
                n = w;
            }
            break;
        }
        t.kind = K_BAD;
        if (c >= 0x80) {
            while (i + n < end && ((unsigned char)s[i + n] & 0xC0) == 0x80)
                n++;
        }
    }
done:
    t.len = n;
    p->cur = t;
    p->pos = i + n;
    if (t.kind == K_BAD)
        return fail(p, i, "unexpected character \"%.*s\"", (int)n, s + i);
    return 0;
}

static int next(parser *p)
{
    p->prev = p->cur.kind;
    return lex(p);
}

/* Kind of the token after the current one, without consuming. */
static int peek_kind(parser *p)
{
    parser save = *p;
    tc_error *e = p->err;
    p->err = NULL;
    int k = next(p) ? K_BAD : p->cur.kind;
    *p = save;
    p->err = e;
    return k;
}

static int unexpected(parser *p, const char *expected)
{
    if (p->cur.kind == K_EOF)
        return fail(p, p->cur.off, "unexpected end of input (expected %s)", expected);
    int n = p->cur.len > 40 ? 40 : (int)p->cur.len;
    return fail(p, p->cur.off, "unexpected token \"%.*s\" (expected %s)", n, p->s + p->cur.off, expected);
}

static void *nalloc(parser *p, size_t n)
{
    void *q = arena_calloc(p->a, 1, n);
    if (!q)
        tc_error_set(p->err, TC_ERR_NOMEM, "out of memory");
    return q;
}

static int parse_expr(parser *p, xexpr **out);
static int parse_term(parser *p, xterm **out);

static bool term_start(parser *p)
{
    switch (p->cur.kind) {
    case K_NUM: case K_DUR: case K_STR: case K_ATTR: case K_ENV: case K_VAR: case K_LB:
        return true;
    case K_IDENT:
        return peek_kind(p) == K_LP;
    default:
        return false;
    }
}

/* Growable pointer list in the arena, capped at EXPR_MAX_ITEMS. */
static int push(parser *p, void ***list, size_t *n, size_t *cap, void *item)
{
    if (*n >= EXPR_MAX_ITEMS) {
        tc_error_at(p->err, TC_ERR_LIMIT, p->cur.off, "too many items (limit %d)", EXPR_MAX_ITEMS);
        tc_error_locate(p->err, p->top, p->toplen);
        return TC_ERR_LIMIT;
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        void **q = arena_realloc(p->a, *list, *cap * sizeof **list, nc * sizeof **list);
        if (!q)
            return tc_error_set(p->err, TC_ERR_NOMEM, "out of memory");
        *list = q;
        *cap = nc;
    }
    (*list)[(*n)++] = item;
    return 0;
}

/* Finds the '}' closing a ${ at s[i] (i just after "${"), skipping quoted
 * strings. Returns its index or `end` when none. */
static size_t find_close(const char *s, size_t i, size_t end)
{
    while (i < end) {
        char c = s[i];
        if (c == '}')
            return i;
        if (c == '"' || c == '\'') {
            size_t j = i + 1;
            while (j < end && s[j] != c) {
                if (s[j] == '\\' && j + 1 < end)
                    j++;
                j++;
            }
            if (j >= end)
                return end;
            i = j + 1;
            continue;
        }
        i++;
    }
    return end;
}

/* Parses the interior s[b..e) of a string literal (quote q) or of a plain
 * interpolated string (q == 0: no escapes) into parts. */
static int parse_string_parts(parser *p, size_t b, size_t e, char q, xpart **parts, size_t *nparts)
{
    size_t cap = 0, n = 0;
    xpart *ps = NULL;
    char *lit = arena_alloc(p->a, e - b + 1);
    if (!lit)
        return tc_error_set(p->err, TC_ERR_NOMEM, "out of memory");
    size_t ll = 0;
    size_t i = b;
    for (;;) {
        bool at_end = i >= e;
        bool interp = !at_end && p->s[i] == '$' && i + 1 < e && p->s[i + 1] == '{';
        size_t close = interp ? find_close(p->s, i + 2, e) : e;
        if (interp && close >= e)
            interp = false; /* no closing brace: literal text */
        if (at_end || interp) {
            if (n + 2 > cap) {
                size_t nc = cap ? cap * 2 : 4;
                if (nc > 2 * EXPR_MAX_ITEMS)
                    return fail(p, i, "too many interpolations");
                xpart *np = arena_realloc(p->a, ps, cap * sizeof *ps, nc * sizeof *ps);
                if (!np)
                    return tc_error_set(p->err, TC_ERR_NOMEM, "out of memory");
                ps = np;
                cap = nc;
            }
            if (ll) {
                ps[n].lit = lit;
                ps[n].len = ll;
                ps[n].e = NULL;
                n++;
                lit += ll + 1;
                ll = 0;
            }
            if (at_end)
                break;
            /* inner expression */
            if (++p->depth > EXPR_MAX_DEPTH)
                return fail(p, i, "expression nested too deeply");
            parser save = *p;
            p->pos = i + 2;
            p->end = close;
            p->prev = K_EOF;
            xexpr *x = NULL;
            int rc = lex(p);
            if (!rc)
                rc = parse_expr(p, &x);
            if (!rc && p->cur.kind != K_EOF)
                rc = unexpected(p, "end of interpolated expression");
            if (rc)
                return rc;
            *p = save;
            p->depth--;
            ps[n].lit = NULL;
            ps[n].len = 0;
            ps[n].e = x;
            n++;
            i = close + 1;
            continue;
        }
        char c = p->s[i];
        if (q && c == '\\' && i + 1 < e && p->s[i + 1] == q) {
            lit[ll++] = q;
            i += 2;
            continue;
        }
        lit[ll++] = c;
        i++;
    }
    *parts = ps;
    *nparts = n;
    return 0;
}

static int parse_args(parser *p, int close, xterm ***args, size_t *nargs)
{
    size_t cap = 0;
    int rc;
    if ((rc = next(p)))
        return rc;
    if (p->cur.kind == close)
        return next(p);
    for (;;) {
        xterm *t;
        if ((rc = parse_term(p, &t)))
            return rc;
        if ((rc = push(p, (void ***)args, nargs, &cap, t)))
            return rc;
        if (p->cur.kind == K_COMMA) {
            if ((rc = next(p)))
                return rc;
            continue;
        }
        if (p->cur.kind == close)
            return next(p);
        return unexpected(p, close == K_RP ? "\",\" or \")\"" : "\",\" or \"]\"");
    }
}

static int parse_term(parser *p, xterm **out)
{
    token t = p->cur;
    xterm *x = nalloc(p, sizeof *x);
    if (!x)
        return TC_ERR_NOMEM;
    x->off = t.off;
    const char *s = p->s + t.off;
    int rc;
    if (++p->depth > EXPR_MAX_DEPTH)
        return fail(p, t.off, "expression nested too deeply");
    switch (t.kind) {
    case K_NUM:
        x->kind = XT_NUMBER;
        x->text = arena_strndup(p->a, s, t.len);
        x->len = t.len;
        break;
    case K_DUR: {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%lld", (long long)t.ns);
        x->kind = XT_DURATION;
        x->text = arena_strndup(p->a, buf, (size_t)n);
        x->len = (size_t)n;
        break;
    }
    case K_ATTR:
    case K_ENV:
    case K_VAR: {
        size_t pl = t.kind == K_ATTR ? 5 : 4;
        x->kind = t.kind == K_ATTR ? XT_ATTR : t.kind == K_ENV ? XT_ENV : XT_VAR;
        x->text = arena_strndup(p->a, s + pl, t.len - pl);
        x->len = t.len - pl;
        break;
    }
    case K_STR:
        x->kind = XT_STRING;
        if ((rc = parse_string_parts(p, t.off + 1, t.off + t.len - 1, s[0], &x->parts, &x->nparts)))
            return rc;
        break;
    case K_LB:
        x->kind = XT_ARRAY;
        if ((rc = parse_args(p, K_RB, &x->args, &x->nargs)))
            return rc;
        p->depth--;
        *out = x;
        return 0;
    case K_IDENT:
        if (peek_kind(p) != K_LP) {
            if ((rc = next(p)))
                return rc;
            return unexpected(p, "\"(\"");
        }
        x->kind = XT_CALL;
        x->text = arena_strndup(p->a, s, t.len);
        x->len = t.len;
        if ((rc = next(p)))
            return rc;
        if ((rc = parse_args(p, K_RP, &x->args, &x->nargs)))
            return rc;
        p->depth--;
        *out = x;
        return 0;
    default:
        return unexpected(p, "a value");
    }
    if ((x->kind != XT_STRING && !x->text))
        return tc_error_set(p->err, TC_ERR_NOMEM, "out of memory");
    p->depth--;
    *out = x;
    return next(p);
}

static int leaf(parser *p, xexpr **out)
{
    xexpr *e = nalloc(p, sizeof *e);
    if (!e)
        return TC_ERR_NOMEM;
    e->off = p->cur.off;
    *out = e;
    return parse_term(p, &e->t);
}

static int binop(parser *p, char op, xexpr *l, xexpr *r, xexpr **out)
{
    xexpr *e = nalloc(p, sizeof *e);
    if (!e)
        return TC_ERR_NOMEM;
    e->op = op;
    e->off = r->off;
    e->l = l;
    e->r = r;
    *out = e;
    return 0;
}

static int parse_product(parser *p, xexpr **out)
{
    xexpr *l = NULL;
    int rc = leaf(p, &l);
    while (!rc && p->cur.kind == K_OP && (p->cur.op == '*' || p->cur.op == '/')) {
        char op = p->cur.op;
        xexpr *r;
        if ((rc = next(p)) || (rc = leaf(p, &r)) || (rc = binop(p, op, l, r, &l)))
            return rc;
    }
    *out = l;
    return rc;
}

static int parse_expr(parser *p, xexpr **out)
{
    xexpr *l = NULL;
    int rc = parse_product(p, &l);
    while (!rc && p->cur.kind == K_OP) {
        char op = p->cur.op;
        xexpr *r;
        if ((rc = next(p)) || (rc = parse_product(p, &r)) || (rc = binop(p, op, l, r, &l)))
            return rc;
    }
    if (rc)
        return rc;
    size_t cap = 0;
    xfilter **fl = NULL;
    size_t nf = 0;
    while (p->cur.kind == K_PIPE) {
        if ((rc = next(p)))
            return rc;
        if (p->cur.kind != K_IDENT)
            return unexpected(p, "a filter name");
        xfilter *f = nalloc(p, sizeof *f);
        if (!f)
            return TC_ERR_NOMEM;
        f->off = p->cur.off;
        f->len = p->cur.len;
        f->name = arena_strndup(p->a, p->s + p->cur.off, p->cur.len);
        if (!f->name)
            return tc_error_set(p->err, TC_ERR_NOMEM, "out of memory");
        if ((rc = next(p)))
            return rc;
        size_t acap = 0;
        while (term_start(p)) {
            xterm *t;
            if ((rc = parse_term(p, &t)) || (rc = push(p, (void ***)&f->args, &f->nargs, &acap, t)))
                return rc;
        }
        if ((rc = push(p, (void ***)&fl, &nf, &cap, f)))
            return rc;
    }
    if (nf) {
        /* filters apply to the whole arithmetic result */
        if (l->op || l->filters) {
            xexpr *w = nalloc(p, sizeof *w);
            if (!w)
                return TC_ERR_NOMEM;
            *w = *l;
            l->op = 0;
            l->t = NULL;
            l->l = w;
            l->r = NULL;
            l->op = '(';
        }
        l->filters = arena_alloc(p->a, nf * sizeof *l->filters);
        if (!l->filters)
            return tc_error_set(p->err, TC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < nf; i++)
            l->filters[i] = *fl[i];
        l->nfilters = nf;
    }
    *out = l;
    return 0;
}

int expr_parse_into(arena *a, const char *src, size_t len, expr_mode mode, expr *out, tc_error *err)
{
    parser p;
    memset(&p, 0, sizeof p);
    p.a = a;
    p.s = src;
    p.end = len;
    p.err = err;
    p.top = src;
    p.toplen = len;
    p.prev = K_EOF;
    if (len > EXPR_MAX_LEN)
        return tc_error_set(err, TC_ERR_LIMIT, "expression too long (%zu bytes, limit %zu)", len, EXPR_MAX_LEN);
    if (memchr(src, '\0', len))
        return fail(&p, (size_t)((const char *)memchr(src, '\0', len) - src), "unexpected NUL byte");
    int rc = lex(&p);
    if (!rc)
        rc = parse_expr(&p, &out->left);
    if (rc)
        return rc;
    out->cmp = EXPR_CMP_NONE;
    out->right = NULL;
    if (p.cur.kind == K_CMP && mode != EXPR_PARSE_EXPRESSION) {
        out->cmp = p.cur.cmp;
        if ((rc = next(&p)) || (rc = parse_expr(&p, &out->right)))
            return rc;
    } else if (mode == EXPR_PARSE_STATEMENT) {
        return unexpected(&p, p.cur.kind == K_EOF ? "comparator" : "operator, filter or comparator");
    }
    if (p.cur.kind != K_EOF)
        return unexpected(&p, out->cmp ? "end of statement" : mode == EXPR_PARSE_EXPRESSION ? "end of expression" : "comparator");
    out->src = src;
    out->len = len;
    return 0;
}

int expr_parse_plain_string(arena *a, const char *s, size_t len, expr *out, tc_error *err)
{
    parser p;
    memset(&p, 0, sizeof p);
    p.a = a;
    p.s = s;
    p.end = len;
    p.err = err;
    p.top = s;
    p.toplen = len;
    p.prev = K_EOF;
    xterm *t = nalloc(&p, sizeof *t);
    xexpr *e = t ? nalloc(&p, sizeof *e) : NULL;
    if (!e)
        return TC_ERR_NOMEM;
    t->kind = XT_STRING;
    int rc = parse_string_parts(&p, 0, len, 0, &t->parts, &t->nparts);
    if (rc)
        return rc;
    e->t = t;
    out->left = e;
    out->cmp = EXPR_CMP_NONE;
    out->src = s;
    out->len = len;
    return 0;
}

int expr_parse(const char *src, size_t len, expr_mode mode, expr **out, tc_error *err)
{
    arena *a = arena_new((size_t)64 << 20);
    if (!a)
        return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
    expr *e = arena_calloc(a, 1, sizeof *e);
    char *copy = e ? arena_strndup(a, src, len) : NULL;
    if (!copy) {
        arena_free(&a);
        return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
    }
    int rc = expr_parse_into(a, copy, len, mode, e, err);
    if (rc) {
        if (err && err->line == 0 && err->col == 0)
            err->line = 1;
        arena_free(&a);
        return rc;
    }
    e->a = a;
    e->home = a;
    *out = e;
    return 0;
}

int expr_parse_in(arena *a, const char *src, size_t len, expr_mode mode, expr **out, tc_error *err)
{
    expr *e = arena_calloc(a, 1, sizeof *e);
    char *copy = e ? arena_strndup(a, src, len) : NULL;
    if (!copy)
        return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
    int rc = expr_parse_into(a, copy, len, mode, e, err);
    if (rc) {
        if (err && err->line == 0 && err->col == 0)
            err->line = 1;
        return rc;
    }
    e->a = NULL;
    e->home = a;
    *out = e;
    return 0;
}

void expr_free(expr **e)
{
    if (!e || !*e)
        return;
    arena *a = (*e)->a;
    if (a)
        arena_free(&a);
    *e = NULL;
}

static void each_attr_x(const xexpr *e, void (*fn)(void *, const char *, size_t), void *user);

static void each_attr_t(const xterm *t, void (*fn)(void *, const char *, size_t), void *user)
{
    if (!t)
        return;
    if (t->kind == XT_ATTR)
        fn(user, t->text, t->len);
    for (size_t i = 0; i < t->nparts; i++)
        each_attr_x(t->parts[i].e, fn, user);
    for (size_t i = 0; i < t->nargs; i++)
        each_attr_t(t->args[i], fn, user);
}

static void each_attr_x(const xexpr *e, void (*fn)(void *, const char *, size_t), void *user)
{
    if (!e)
        return;
    each_attr_t(e->t, fn, user);
    each_attr_x(e->l, fn, user);
    each_attr_x(e->r, fn, user);
    for (size_t i = 0; i < e->nfilters; i++)
        for (size_t k = 0; k < e->filters[i].nargs; k++)
            each_attr_t(e->filters[i].args[k], fn, user);
}

void expr_each_attr(const expr *e, void (*fn)(void *user, const char *name, size_t n), void *user)
{
    each_attr_x(e->left, fn, user);
    each_attr_x(e->right, fn, user);
}

static bool pure_x(const xexpr *e);

static bool pure_t(const xterm *t)
{
    if (!t)
        return true;
    if (t->kind == XT_VAR || t->kind == XT_ENV || t->kind == XT_CALL)
        return false;
    for (size_t i = 0; i < t->nparts; i++)
        if (!pure_x(t->parts[i].e))
            return false;
    for (size_t i = 0; i < t->nargs; i++)
        if (!pure_t(t->args[i]))
            return false;
    return true;
}

static bool pure_x(const xexpr *e)
{
    if (!e)
        return true;
    if (!pure_t(e->t) || !pure_x(e->l) || !pure_x(e->r))
        return false;
    for (size_t i = 0; i < e->nfilters; i++)
        for (size_t k = 0; k < e->filters[i].nargs; k++)
            if (!pure_t(e->filters[i].args[k]))
                return false;
    return true;
}

bool expr_is_pure(const expr *e)
{
    return pure_x(e->left) && pure_x(e->right);
}

bool expr_duration_cmp(const expr *e, const char **name, size_t *n, int64_t *ns)
{
    const xexpr *l = e->left, *r = e->right;
    if (!l || !r || e->cmp < EXPR_CMP_EQ || e->cmp > EXPR_CMP_GE)
        return false;
    if (l->op || l->nfilters || !l->t || l->t->kind != XT_ATTR)
        return false;
    if (r->op || r->nfilters || !r->t || r->t->kind != XT_DURATION || expr_duration_ns(r->t->text, r->t->len, ns))
        return false;
    *name = l->t->text;
    *n = l->t->len;
    return true;
}

bool expr_text_cmp(const expr *e, const char **name, size_t *n, const char **lit, size_t *lit_len)
{
    const xexpr *l = e->left, *r = e->right;
    if (!l || !r || (e->cmp != EXPR_CMP_EQ && e->cmp != EXPR_CMP_NE && e->cmp != EXPR_CMP_CONTAINS &&
                     e->cmp != EXPR_CMP_NOT_CONTAINS))
        return false;
    if (l->op || l->nfilters || !l->t || l->t->kind != XT_ATTR)
        return false;
    if (r->op || r->nfilters || !r->t || r->t->kind != XT_STRING || r->t->nparts > 1 ||
        (r->t->nparts == 1 && !r->t->parts[0].lit))
        return false;
    const char *s = r->t->nparts ? r->t->parts[0].lit : "";
    size_t len = r->t->nparts ? r->t->parts[0].len : 0;
    if (memchr(s, '\\', len) || memchr(s, '\0', len) || expr_infer_type(s, len) != EXPR_STRING)
        return false;
    *name = l->t->text;
    *n = l->t->len;
    *lit = s;
    *lit_len = len;
    return true;
}

expr_cmp expr_comparator(const expr *e)
{
    return e->cmp;
}

const char *expr_cmp_name(expr_cmp c)
{
    static const char *names[] = {"", "=", "!=", "<", "<=", ">", ">=", "contains", "not-contains"};
    return (unsigned)c < sizeof names / sizeof *names ? names[c] : "";
}
