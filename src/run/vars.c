/* vars.c - the variable table of a run (see vars.h). */
#include "vars.h"

#include "core/expr.h"

#include <stdlib.h>
#include <string.h>

void vars_init(vars *v)
{
    memset(v, 0, sizeof *v);
    v->env_fallback = true;
}

void vars_free(vars *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->items[i].name);
        free(v->items[i].value);
    }
    free(v->items);
    memset(v, 0, sizeof *v);
}

const vars_entry *vars_get(const vars *v, const char *name, size_t n)
{
    for (size_t i = v->n; i-- > 0;)
        if (strlen(v->items[i].name) == n && memcmp(v->items[i].name, name, n) == 0)
            return &v->items[i];
    return NULL;
}

int vars_set(vars *v, const char *name, const char *value, bool secret, const char *origin)
{
    if (strlen(value) > VARS_MAX_VALUE)
        return TC_ERR_LIMIT;
    char *val = strdup(value);
    if (!val)
        return TC_ERR_NOMEM;
    vars_entry *e = (vars_entry *)vars_get(v, name, strlen(name));
    if (e) {
        free(e->value);
        e->value = val;
        e->secret = e->secret || secret;
        e->origin = origin;
        return 0;
    }
    if (v->n >= VARS_MAX) {
        free(val);
        return TC_ERR_LIMIT;
    }
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        vars_entry *p = realloc(v->items, cap * sizeof *p);
        if (!p) {
            free(val);
            return TC_ERR_NOMEM;
        }
        v->items = p;
        v->cap = cap;
    }
    char *nm = strdup(name);
    if (!nm) {
        free(val);
        return TC_ERR_NOMEM;
    }
    v->items[v->n++] = (vars_entry){nm, val, secret, origin};
    return 0;
}

int vars_set_assignment(vars *v, const char *kv, const char *origin, tc_error *e)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return tc_error_set(e, TC_ERR_INPUT, "expected KEY=VALUE, got '%s'", kv);
    char *name = strndup(kv, (size_t)(eq - kv));
    if (!name)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    int rc = vars_set(v, name, eq + 1, false, origin);
    free(name);
    return rc ? tc_error_set(e, rc, "cannot set variable '%s'", kv) : 0;
}

int vars_lookup_var(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    const vars_entry *e = vars_get(user, name, n);
    if (!e)
        return EXPR_MISSING;
    *val = e->value;
    *len = strlen(e->value);
    return EXPR_FOUND;
}

int vars_lookup_env(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    const vars *v = user;
    if (vars_lookup_var(user, name, n, val, len) == EXPR_FOUND)
        return EXPR_FOUND;
    if (!v->env_fallback || n > 256)
        return EXPR_MISSING;
    char key[257];
    memcpy(key, name, n);
    key[n] = '\0';
    const char *s = getenv(key);
    if (!s)
        return EXPR_MISSING;
    *val = s;
    *len = strlen(s);
    return EXPR_FOUND;
}
