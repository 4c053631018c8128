/* expr.c - fuzz harness: parses and evaluates an expression or statement
 * with fixed lookups, clock and random source; then again as spec
 * evaluation does it (parsed into the evaluation arena, attribute texts
 * used in place, parsed JSON shared through a cache, evaluated twice). */
#include "core/expr.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lookup(void *u, const char *name, size_t n, const char **val, size_t *len)
{
    (void)u;
    if (n == 0 || name[0] == 'x')
        return EXPR_MISSING;
    /* a body long enough for the JSON cache */
    static const char body[] = "{\"a\":[1,2,{\"b\":\"c\"}],\"items\":[{\"id\":1,\"name\":\"one\"},"
                               "{\"id\":2,\"name\":\"two\"},{\"id\":3,\"name\":\"three\"},{\"id\":4,"
                               "\"name\":\"four\"},{\"id\":5,\"name\":\"five\"},{\"id\":6,\"name\":"
                               "\"six\"},{\"id\":7,\"name\":\"seven\"},{\"id\":8,\"name\":\"eight\"},"
                               "{\"id\":9,\"name\":\"nine\"},{\"id\":10,\"name\":\"ten\"}],\"total\":10}";
    *val = n % 3 == 0 ? body : n % 3 == 1 ? "25ms" : "200";
    *len = strlen(*val);
    return EXPR_FOUND;
}

static int64_t now(void *u) { (void)u; return 1709647629000000000LL; }
static uint64_t rnd(void *u) { (void)u; return 0x9E3779B97F4A7C15ULL; }

/* Evaluates e as a statement or a plain expression. */
static void evaluate(const expr *e, const expr_ctx *ctx, arena *a)
{
    expr_result r;
    expr_value v;
    tc_error err;
    if (expr_comparator(e) != EXPR_CMP_NONE)
        expr_eval_statement(e, ctx, a, &r);
    else if (expr_eval(e, ctx, a, &v, &err) == 0)
        expr_value_text(&v, a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    expr_ctx ctx = {lookup, lookup, lookup, NULL, now, rnd, NULL, false, NULL};
    arena *a = arena_new((size_t)64 << 20);
    expr *e = NULL;
    tc_error err;
    if (a && expr_parse((const char *)data, size, EXPR_PARSE_ANY, &e, &err) == 0)
        evaluate(e, &ctx, a);
    const char *s;
    if (a)
        expr_interpolate((const char *)data, size, &ctx, a, &s, &err);
    expr_free(&e);
    arena_free(&a);

    a = arena_new((size_t)64 << 20);
    ctx.attr_stable = true;
    ctx.cache = expr_cache_new();
    if (a && ctx.cache && expr_parse_in(a, (const char *)data, size, EXPR_PARSE_ANY, &e, &err) == 0) {
        for (int round = 0; round < 2; round++)
            evaluate(e, &ctx, a);
        expr_free(&e);
    }
    expr_cache_free(&ctx.cache);
    arena_free(&a);
    return 0;
}
