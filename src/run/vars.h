/* vars.h - the variables a run sees: from VariableSet files, --var flags
 * and test outputs, later values replacing earlier ones; some secret (their
 * values are masked in reports).
 *
 * Ownership: a vars table copies every name and value it is given (heap)
 * and frees them in vars_free. Returned strings stay valid until the name
 * is set again or the table is freed. */
#ifndef TC_RUN_VARS_H
#define TC_RUN_VARS_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>

#define VARS_MAX 10000          /* variables in one table */
#define VARS_MAX_VALUE (1u << 24) /* bytes of one value */

typedef struct vars_entry {
    char *name;
    char *value;
    bool secret;
    const char *origin; /* "file:line" or "--var", static or owned by the caller */
} vars_entry;

typedef struct vars {
    vars_entry *items;
    size_t n, cap;
    bool env_fallback; /* env:X falls back to the process environment */
} vars;

void vars_init(vars *v);
void vars_free(vars *v);

/* Sets name to value (copied). Returns 0, TC_ERR_LIMIT or TC_ERR_NOMEM. */
int vars_set(vars *v, const char *name, const char *value, bool secret, const char *origin);

/* Parses "KEY=VALUE" and sets it. TC_ERR_INPUT with a message when there
 * is no '=' or the key is empty. */
int vars_set_assignment(vars *v, const char *kv, const char *origin, tc_error *e);

/* The entry for name (length n), or NULL. */
const vars_entry *vars_get(const vars *v, const char *name, size_t n);

/* Lookup callbacks for expr_ctx/spec_env: `user` is a vars *. var: reads
 * the table; env: reads the table, then (when env_fallback) the process
 * environment. Return EXPR_FOUND or EXPR_MISSING. */
int vars_lookup_var(void *user, const char *name, size_t n, const char **val, size_t *len);
int vars_lookup_env(void *user, const char *name, size_t n, const char **val, size_t *len);

#endif
