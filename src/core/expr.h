/* expr.h - the assertion and output-value expression language
 * (Tracetest-compatible): parse, evaluate, compare, interpolate.
 *
 * Ownership: a parsed expr owns one arena holding its AST; expr_free
 * releases it. Evaluation allocates every string and array it returns in
 * the caller's arena, so results live until that arena is freed. Callback
 * results (attribute and variable values) are copied before use; the callbacks
 * need only keep them valid for the duration of the call. */
#ifndef TC_EXPR_H
#define TC_EXPR_H

#include "arena.h"
#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXPR_MAX_LEN ((size_t)64 << 10)       /* bytes of one expression */
#define EXPR_MAX_DEPTH 32                     /* nesting of arrays, calls, interpolation, operators */
#define EXPR_MAX_ITEMS 10000                  /* items in one array value */
#define EXPR_MAX_JSON ((size_t)16 << 20)      /* bytes of a JSON input to json_path or contains */
#define EXPR_MAX_STRING ((size_t)16 << 20)    /* bytes of one string built by evaluation */
#define EXPR_REGEX_MATCH_LIMIT 1000000        /* PCRE2 match limit per match */

typedef enum expr_type {
    EXPR_NIL = 0,
    EXPR_STRING,
    EXPR_NUMBER,
    EXPR_DURATION,
    EXPR_JSON,
    EXPR_ARRAY,
} expr_type;

/* An evaluated value: a single typed item (text + type) or a list of
 * items (list = true, type EXPR_ARRAY), or nil. Durations keep their text as
 * written ("25ms") or as nanoseconds ("1000001"); numbers keep their text. */
typedef struct expr_value {
    expr_type type;
    bool list;                /* items[0..n) is meaningful */
    const char *text;         /* single item: NUL-terminated, never NULL */
    size_t len;
    struct expr_value *items; /* list items (never lists themselves) */
    size_t n;
} expr_value;

/* Result of a lookup callback. */
enum {
    EXPR_FOUND = 0,
    EXPR_MISSING = 1, /* no such name */
    EXPR_NO_SPAN = 2, /* attr only: there is no span to read it from */
};

/* Looks a name up; on EXPR_FOUND sets *val and *len (need not be NUL-terminated). */
typedef int (*expr_lookup_fn)(void *user, const char *name, size_t n, const char **val, size_t *len);

/* Parsed JSON documents shared by many evaluations (a response body read
 * by several json_path assertions is parsed once). Texts are known by
 * address and length: while a cache lives, the texts its evaluations read
 * (attribute values, the evaluation arena's strings) must not change or be
 * freed. Not thread-safe. */
typedef struct expr_cache expr_cache;

/* A new cache, or NULL when out of memory. */
expr_cache *expr_cache_new(void);

/* Frees a cache and its documents; sets *c to NULL. Accepts NULL. */
void expr_cache_free(expr_cache **c);

/* What an evaluation may read. Any callback may be NULL: lookups then report
 * "not found"; functions needing time or randomness fail. */
typedef struct expr_ctx {
    expr_lookup_fn attr; /* attr:X */
    expr_lookup_fn var;  /* var:X */
    expr_lookup_fn env;  /* env:X */
    void *user;          /* passed to the lookups */
    int64_t (*now_ns)(void *env_user); /* Unix time in ns (UTC) */
    uint64_t (*random_u64)(void *env_user);
    void *env_user;
    bool attr_stable; /* attr lookups return NUL-terminated text that outlives the
                         results in the evaluation arena: used in place, not copied */
    expr_cache *cache; /* NULL, or where parsed JSON documents are kept */
} expr_ctx;

typedef enum expr_cmp {
    EXPR_CMP_NONE = 0,
    EXPR_CMP_EQ,
    EXPR_CMP_NE,
    EXPR_CMP_LT,
    EXPR_CMP_LE,
    EXPR_CMP_GT,
    EXPR_CMP_GE,
    EXPR_CMP_CONTAINS,
    EXPR_CMP_NOT_CONTAINS,
} expr_cmp;

/* Outcome of an assertion. Strings live in the evaluation arena. */
typedef struct expr_result {
    bool passed;
    const char *observed; /* left value as shown to the user ("" on error) */
    const char *expected; /* right value as shown to the user */
    const char *error;    /* NULL unless evaluation or comparison failed */
} expr_result;

typedef struct expr expr;

typedef enum expr_mode {
    EXPR_PARSE_STATEMENT, /* expr COMPARATOR expr */
    EXPR_PARSE_EXPRESSION, /* a plain expression */
    EXPR_PARSE_ANY,       /* either */
} expr_mode;

/* Parses src[0..len). On success stores a new expr in *out (free it with
 * expr_free) and returns 0. On failure returns TC_ERR_INPUT or TC_ERR_LIMIT
 * (TC_ERR_NOMEM) with err set: message `invalid syntax "SRC": ...`, line 1
 * and the 1-based column of the offending token. */
int expr_parse(const char *src, size_t len, expr_mode mode, expr **out, tc_error *err);

/* As expr_parse, with the expression allocated in the caller's arena `a`
 * (expr_free then releases nothing). Evaluating it with the same arena uses
 * its literal texts in place instead of copying them per evaluation. */
int expr_parse_in(arena *a, const char *src, size_t len, expr_mode mode, expr **out, tc_error *err);

/* Frees a parsed expression and sets *e to NULL. Accepts NULL. */
void expr_free(expr **e);

/* Calls fn for every attr: reference of e (name[0..n) lives as long as
 * e; the same pointer is passed to the attr lookup when evaluating). */
void expr_each_attr(const expr *e, void (*fn)(void *user, const char *name, size_t n), void *user);

/* True when e's value depends on nothing but the texts of its attr:
 * references (no var:, env: or function: functions may read the clock or
 * randomness). Filters are pure. */
bool expr_is_pure(const expr *e);

/* True when e is a statement `attr:NAME CMP DURATION`: a bare attribute
 * reference on the left, a duration literal ("1s", "500ms") on the right,
 * CMP one of = != < <= > >=. Then *name and *n give the reference (as
 * expr_each_attr passes it) and *ns the literal in nanoseconds. Evaluated
 * on an attribute whose text is a decimal integer V with no sign and at
 * most 18 digits, such a statement passes exactly when V CMP *ns, with
 * observed expr_format_duration(V), expected expr_format_duration(*ns) and
 * no error: span durations can be checked without the evaluator. */
bool expr_duration_cmp(const expr *e, const char **name, size_t *n, int64_t *ns);

/* True when e is a statement `attr:NAME CMP "TEXT"`: a bare attribute
 * reference on the left, a string literal without ${...} on the right
 * (*lit, *lit_len: its text, escapes resolved; not NUL-terminated), whose
 * text is typed a string and has no backslash or NUL, CMP one of = !=
 * contains not-contains. Evaluated on an attribute whose text T starts
 * with an ASCII letter, has no backslash and at most EXPR_MAX_STRING bytes,
 * such a statement gives no error, observed T, expected TEXT, and passes
 * exactly when strcmp(T, TEXT) == 0 (=), != 0 (!=), strstr(T, TEXT) is
 * not NULL (contains) or is NULL (not-contains). */
bool expr_text_cmp(const expr *e, const char **name, size_t *n, const char **lit, size_t *lit_len);

/* The comparator of a statement, EXPR_CMP_NONE for a plain expression. */
expr_cmp expr_comparator(const expr *e);

/* Spelling of a comparator ("=", "not-contains", ...). */
const char *expr_cmp_name(expr_cmp c);

/* Evaluates a statement. Always fills *out (a failed lookup or a bad
 * comparison is a result with out->error set) and returns 0, except
 * TC_ERR_NOMEM when the arena is exhausted and TC_ERR_INPUT when e is not
 * a statement. */
int expr_eval_statement(const expr *e, const expr_ctx *ctx, arena *a, expr_result *out);

/* Evaluates a plain expression (or the left side of a statement) into
 * *out. Returns 0, or non-zero with err->msg set (Tracetest wording, e.g.
 * `resolution error: attribute "x" not found`) and err->col at the term. */
int expr_eval(const expr *e, const expr_ctx *ctx, arena *a, expr_value *out, tc_error *err);

/* Replaces every ${expression} in s[0..len) by its value's text; the rest
 * is copied unchanged. On success *out is a NUL-terminated string in `a`.
 * Returns non-zero with err set when an expression fails to parse or
 * evaluate (err->col is the column in s). */
int expr_interpolate(const char *s, size_t len, const expr_ctx *ctx, arena *a, const char **out,
                     tc_error *err);

/* The value as text (Tracetest's String()): a single item's text; a list as
 * `[a, "b"]` (string items quoted); nil as "". NULL when out of memory. */
const char *expr_value_text(const expr_value *v, arena *a);

/* Name of a type: string, number, duration, json, array, nil. */
const char *expr_type_name(expr_type t);

/* Type of a raw string: digits (optional '-' and fraction) -> number;
 * number + unit -> duration; a JSON object -> json; "[...]" -> array (json
 * when a JSON array of objects); else string. */
expr_type expr_infer_type(const char *s, size_t len);

/* Parses a duration ("1.5s", "25ms", "120ns", or plain nanoseconds) into
 * *ns exactly (fractions of a nanosecond are dropped). Returns 0, or -1
 * when s is not a duration or overflows. */
int expr_duration_ns(const char *s, size_t len, int64_t *ns);

/* Writes ns the way durations are shown: "0ns", "38ns", "93us", "27ms",
 * "1.2s", "27.5m", "2.5h" (negative values get a leading '-'). buf must hold
 * at least 32 bytes. Returns buf. */
char *expr_format_duration(int64_t ns, char *buf);

#endif
