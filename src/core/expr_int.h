/* expr_int.h - internals shared by the expr_*.c files: the AST and the
 * evaluation state. Not part of the public interface (see expr.h).
 *
 * Ownership: AST nodes live in the parsed expression's arena; evaluation
 * state points at the caller's arena. */
#ifndef TC_EXPR_INT_H
#define TC_EXPR_INT_H

#include "buf.h"
#include "expr.h"

#include <stdarg.h>

typedef enum xterm_kind {
    XT_NUMBER,
    XT_DURATION, /* text holds nanoseconds */
    XT_STRING,
    XT_ATTR,
    XT_VAR,
    XT_ENV,
    XT_CALL,
    XT_ARRAY,
} xterm_kind;

typedef struct xexpr xexpr;

typedef struct xpart { /* piece of a string literal */
    const char *lit;   /* literal text (escapes resolved), or NULL */
    size_t len;
    xexpr *e;          /* ${...} expression, or NULL */
} xpart;

typedef struct xterm {
    xterm_kind kind;
    size_t off;        /* byte offset in the source */
    const char *text;  /* number / duration ns / reference name / function name */
    size_t len;
    xpart *parts;      /* XT_STRING */
    size_t nparts;
    struct xterm **args; /* XT_CALL arguments, XT_ARRAY items */
    size_t nargs;
} xterm;

typedef struct xfilter {
    const char *name;
    size_t len, off;
    xterm **args;
    size_t nargs;
} xfilter;

struct xexpr {
    char op;           /* 0: leaf term; '+', '-', '*', '/' */
    size_t off;
    xterm *t;
    xexpr *l, *r;
    xfilter *filters;  /* applied to the arithmetic result, in order */
    size_t nfilters;
};

struct expr {
    arena *a;          /* owned (expr_parse), or NULL (expr_parse_in) */
    arena *home;       /* where the AST lives */
    const char *src;
    size_t len;
    xexpr *left;
    expr_cmp cmp;
    xexpr *right;
};

/* Parses src as an expression (mode PARSE_EXPRESSION) into arena a. */
int expr_parse_into(arena *a, const char *src, size_t len, expr_mode mode, expr *out, tc_error *err);

/* Parses s[0..len) as the inside of a string literal without escapes (text
 * with ${...} expressions) into out->left, in arena a. */
int expr_parse_plain_string(arena *a, const char *s, size_t len, expr *out, tc_error *err);

typedef struct xeval {
    arena *a;
    bool borrow;      /* the AST lives in `a`: literal texts are used in place */
    const expr_ctx *ctx;
    int depth;
    bool resolution;  /* the error is a resolution error */
    size_t off;       /* where the error happened */
    char msg[TC_ERROR_MSG_MAX];
} xeval;

/* Sets the evaluation error; returns TC_ERR_INPUT. */
int xev_fail(xeval *ev, bool resolution, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int xev_expr(xeval *ev, const xexpr *e, expr_value *out);

/* A parsed JSON document of s[0..n) (any top-level value), from the
 * context's cache when it has one: a new reference (json_decref it), or
 * NULL with the parser's message in err[0..err_size) (may be NULL). */
struct json_t;
struct json_t *xjson_load(xeval *ev, const char *s, size_t n, char *err, size_t err_size);

/* expr_infer_type, through the context's cache for long texts; s must be
 * stable (see expr_cache). */
expr_type xv_infer(xeval *ev, const char *s, size_t len);

/* A single item of the given text (copied) and inferred type. */
int xv_from_string(xeval *ev, const char *s, size_t len, expr_value *out);
/* A single item of the given text (copied) and type. */
int xv_typed(xeval *ev, expr_type t, const char *s, size_t len, expr_value *out);
/* Text without backslash escapes of quotes (Tracetest's UnescappedString). */
const char *xv_unescaped(xeval *ev, const expr_value *v);

/* Applies a filter to in. */
int xev_filter(xeval *ev, const char *name, size_t nlen, const char **args, size_t nargs,
               const expr_value *in, expr_value *out);

/* Calls a built-in function. */
int xev_function(xeval *ev, const char *name, size_t nlen, const expr_value *args, size_t nargs,
                 expr_value *out);

/* JSON containment of `sub` in `sup` (both JSON text). 0 match, 1 no
 * match, -1 error (message in ev). */
int xjson_contains(xeval *ev, const char *sup, const char *sub);

/* Shortest text of a double that reads back the same ("2.5", "38"). */
void xfmt_double(double d, char *buf, size_t n);

#endif
