/* jdom.c - shared helpers of the jansson-based trace decoders (see jdom.h). */
#include "codec/jdom.h"
#include "codec/limits.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void jdom_init(jdom_ctx *c, trace_set *ts, tc_error *e)
{
    memset(c, 0, sizeof *c);
    c->ts = ts;
    c->a = trace_set_arena(ts);
    c->e = e;
}

/* Finds the first container opened deeper than CODEC_MAX_JSON_DEPTH;
 * returns its offset or (size_t)-1. Strings are skipped, so brackets in them
 * do not count; malformed input is left to the parser. */
static size_t too_deep_at(const char *buf, size_t len)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char ch = buf[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > CODEC_MAX_JSON_DEPTH)
                return i;
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return (size_t)-1;
}

int jdom_load(const char *buf, size_t len, json_t **out, tc_error *e)
{
    if (len > CODEC_MAX_BODY)
        return tc_error_set(e, TC_ERR_LIMIT, "body of %zu bytes is over the limit of %zu", len,
                            CODEC_MAX_BODY);
    size_t deep = too_deep_at(buf, len);
    if (deep != (size_t)-1) {
        tc_error_at(e, TC_ERR_LIMIT, deep, "JSON nested deeper than %d levels", CODEC_MAX_JSON_DEPTH);
        tc_error_locate(e, buf, len);
        return TC_ERR_LIMIT;
    }
    json_error_t je;
    json_t *root = json_loadb(buf, len, 0, &je);
    if (!root) {
        size_t pos = je.position > 0 ? (size_t)je.position : 0;
        tc_error_at(e, TC_ERR_INPUT, pos, "invalid JSON: %s", je.text);
        if (e) {
            e->line = je.line > 0 ? je.line : 1;
            e->col = je.column > 0 ? je.column : 1;
        }
        return TC_ERR_INPUT;
    }
    *out = root;
    return 0;
}

int jdom_fail(jdom_ctx *c, int code, const char *field, const char *fmt, ...)
{
    char msg[TC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *dot = *c->path && field ? "." : "";
    return tc_error_set(c->e, code, "%s%s%s%s%s", c->path, dot, field ? field : "",
                        *c->path || field ? ": " : "", msg);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int jdom_hex_id(const json_t *s, uint8_t *out, size_t n)
{
    if (!json_is_string(s))
        return -1;
    const char *p = json_string_value(s);
    size_t len = json_string_length(s);
    if (len == 0 || len > 2 * n)
        return -1;
    uint8_t tmp[TRACE_ID_LEN] = {0};
    /* digit k from the right goes into byte n-1-k/2 */
    for (size_t k = 0; k < len; k++) {
        int v = hexval(p[len - 1 - k]);
        if (v < 0)
            return -1;
        tmp[n - 1 - k / 2] |= (uint8_t)(k % 2 ? v << 4 : v);
    }
    memcpy(out, tmp, n);
    return 0;
}

bool jdom_is_zero(const uint8_t *id, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (id[i])
            return false;
    return true;
}

int jdom_id_field(jdom_ctx *c, const json_t *obj, const char *field, uint8_t *out, size_t n, bool required,
                  bool zero_ok)
{
    const json_t *v = json_object_get(obj, field);
    if (!v || json_is_null(v)) {
        if (required)
            return jdom_fail(c, TC_ERR_INPUT, NULL, "missing %s", field);
        return 0;
    }
    uint8_t id[TRACE_ID_LEN];
    if (jdom_hex_id(v, id, n))
        return jdom_fail(c, TC_ERR_INPUT, field, "expected a string of 1 to %zu hex digits", 2 * n);
    if (!zero_ok && jdom_is_zero(id, n))
        return jdom_fail(c, TC_ERR_INPUT, field, "id is all zeros");
    memcpy(out, id, n);
    return 0;
}

int jdom_str(jdom_ctx *c, const json_t *s, const char *field, const char **out)
{
    size_t n = json_string_length(s);
    if (n > CODEC_MAX_STRING)
        return jdom_fail(c, TC_ERR_LIMIT, field, "string of %zu bytes is over the limit of %zu", n,
                         CODEC_MAX_STRING);
    char *p = arena_strndup(c->a, json_string_value(s), n);
    if (!p)
        return jdom_fail(c, TC_ERR_NOMEM, field, "out of memory");
    *out = p;
    return 0;
}

int jdom_str_field(jdom_ctx *c, const json_t *obj, const char *field, const char *def, const char **out)
{
    const json_t *v = json_object_get(obj, field);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_string(v))
        return jdom_fail(c, TC_ERR_INPUT, field, "expected a string");
    return jdom_str(c, v, field, out);
}

int jdom_micros_field(jdom_ctx *c, const json_t *obj, const char *field, uint64_t *ns)
{
    const json_t *v = json_object_get(obj, field);
    *ns = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return jdom_fail(c, TC_ERR_INPUT, field, "expected a non-negative integer (microseconds)");
    uint64_t us = (uint64_t)json_integer_value(v);
    if (us > UINT64_MAX / 1000)
        return jdom_fail(c, TC_ERR_INPUT, field, "time out of range");
    *ns = us * 1000;
    return 0;
}

bool jdom_take(tc_attr *attrs, uint32_t *n, const char *key, tc_value *out)
{
    bool found = false;
    uint32_t w = 0;
    for (uint32_t r = 0; r < *n; r++) {
        if (strcmp(attrs[r].key, key) == 0) {
            if (out)
                *out = attrs[r].value;
            found = true;
        } else {
            attrs[w++] = attrs[r];
        }
    }
    *n = w;
    return found;
}

void jdom_put(tc_attr *attrs, uint32_t *n, const char *key, tc_value v)
{
    for (uint32_t i = 0; i < *n; i++) {
        if (strcmp(attrs[i].key, key) == 0) {
            attrs[i].value = v;
            return;
        }
    }
    attrs[*n].key = key;
    attrs[*n].key_len = (uint32_t)strlen(key);
    attrs[*n].value = v;
    (*n)++;
}

tc_value jdom_string_value(const char *s)
{
    tc_value v;
    memset(&v, 0, sizeof v);
    v.type = TC_V_STRING;
    v.len = (uint32_t)strlen(s);
    v.u.str = s;
    return v;
}

const trace_scope *jdom_scope(jdom_ctx *c, const char *name, const char *version)
{
    if (!*name && !*version)
        return trace_set_empty_scope(c->ts);
    for (uint32_t i = 0; i < c->n_scopes; i++)
        if (strcmp(c->scopes[i]->name, name) == 0 && strcmp(c->scopes[i]->version, version) == 0)
            return c->scopes[i];
    trace_scope *sc = arena_calloc(c->a, 1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->name = name;
    sc->version = version;
    sc->schema_url = "";
    if (c->n_scopes < JDOM_SCOPE_CACHE)
        c->scopes[c->n_scopes++] = sc;
    return sc;
}
