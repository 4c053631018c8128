/* value.c - typed attribute values (see value.h). */
#include "value.h"

#include "error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const tc_attr *attr_find(const tc_attr *attrs, uint32_t count, const char *key, size_t n)
{
    if (n == 0) {
        for (uint32_t i = count; i-- > 0;)
            if (attrs[i].key_len == 0)
                return &attrs[i];
        return NULL;
    }
    /* length, then the last byte (keys often share a prefix such as
       "http." or "app."), then the whole key */
    const char last = key[n - 1];
    for (uint32_t i = count; i-- > 0;) {
        if (attrs[i].key_len == n && attrs[i].key[n - 1] == last && memcmp(attrs[i].key, key, n) == 0)
            return &attrs[i];
    }
    return NULL;
}

static int double_text(tc_buf *out, double d)
{
    if (isnan(d))
        return buf_puts(out, "NaN");
    if (isinf(d))
        return buf_puts(out, d > 0 ? "+Inf" : "-Inf");
    if (d == floor(d) && fabs(d) < 1e15)
        return buf_printf(out, "%.0f", d);
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    return buf_puts(out, tmp);
}

int base64_encode(tc_buf *out, const uint8_t *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63],
                     i + 1 < n ? tbl[(v >> 6) & 63] : '=', i + 2 < n ? tbl[v & 63] : '='};
        rc = buf_append(out, q, 4);
    }
    return rc;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

long base64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    size_t olen = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (olen > cap)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int hex_decode(const char *s, size_t slen, uint8_t *out, size_t n)
{
    if (slen != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void hex_encode(const uint8_t *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int value_to_json(tc_buf *out, const tc_value *v)
{
    int rc = 0;
    switch ((tc_vtype)v->type) {
    case TC_V_EMPTY:
        return buf_puts(out, "null");
    case TC_V_STRING:
        return buf_json_string(out, v->u.str, v->len);
    case TC_V_BOOL:
        return buf_puts(out, v->u.b ? "true" : "false");
    case TC_V_INT:
        return buf_printf(out, "%lld", (long long)v->u.i);
    case TC_V_DOUBLE:
        if (isnan(v->u.d) || isinf(v->u.d)) {
            buf_putc(out, '"');
            double_text(out, v->u.d);
            return buf_putc(out, '"');
        }
        return double_text(out, v->u.d);
    case TC_V_BYTES:
        buf_putc(out, '"');
        base64_encode(out, v->u.bytes, v->len);
        return buf_putc(out, '"');
    case TC_V_ARRAY:
        rc = buf_putc(out, '[');
        for (uint32_t i = 0; i < v->len && !rc; i++) {
            if (i)
                buf_putc(out, ',');
            rc = value_to_json(out, &v->u.arr[i]);
        }
        return rc ? rc : buf_putc(out, ']');
    case TC_V_KVLIST:
        rc = buf_putc(out, '{');
        for (uint32_t i = 0; i < v->len && !rc; i++) {
            if (i)
                buf_putc(out, ',');
            buf_json_string(out, v->u.kv[i].key, v->u.kv[i].key_len);
            buf_putc(out, ':');
            rc = value_to_json(out, &v->u.kv[i].value);
        }
        return rc ? rc : buf_putc(out, '}');
    }
    return TC_ERR_INPUT;
}

int value_to_text(tc_buf *out, const tc_value *v)
{
    switch ((tc_vtype)v->type) {
    case TC_V_EMPTY:
        return 0;
    case TC_V_STRING:
        return buf_append(out, v->u.str, v->len);
    case TC_V_DOUBLE:
        return double_text(out, v->u.d);
    case TC_V_BYTES:
        return base64_encode(out, v->u.bytes, v->len);
    default:
        return value_to_json(out, v);
    }
}

bool value_equal(const tc_value *a, const tc_value *b)
{
    if (a->type == TC_V_INT && b->type == TC_V_DOUBLE)
        return (double)a->u.i == b->u.d;
    if (a->type == TC_V_DOUBLE && b->type == TC_V_INT)
        return a->u.d == (double)b->u.i;
    if (a->type != b->type)
        return false;
    switch ((tc_vtype)a->type) {
    case TC_V_EMPTY:
        return true;
    case TC_V_STRING:
    case TC_V_BYTES:
        return a->len == b->len && (a->len == 0 || memcmp(a->u.str, b->u.str, a->len) == 0);
    case TC_V_BOOL:
        return a->u.b == b->u.b;
    case TC_V_INT:
        return a->u.i == b->u.i;
    case TC_V_DOUBLE:
        return a->u.d == b->u.d;
    case TC_V_ARRAY:
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++)
            if (!value_equal(&a->u.arr[i], &b->u.arr[i]))
                return false;
        return true;
    case TC_V_KVLIST:
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++) {
            const tc_attr *o = attr_find(b->u.kv, b->len, a->u.kv[i].key, a->u.kv[i].key_len);
            if (!o || !value_equal(&a->u.kv[i].value, &o->value))
                return false;
        }
        return true;
    }
    return false;
}

const char *value_type_name(tc_vtype t)
{
    static const char *names[] = {"empty", "string", "bool", "int", "double", "bytes", "array", "kvlist"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

void value_key(const tc_value *v, tc_vkey *k)
{
    k->type = v->type;
    k->len = v->len;
    switch (v->type) {
    case TC_V_BOOL: k->bits = v->u.b; break;
    case TC_V_INT: k->bits = (uint64_t)v->u.i; break;
    case TC_V_DOUBLE: memcpy(&k->bits, &v->u.d, sizeof k->bits); break;
    case TC_V_EMPTY: k->bits = 0; break;
    default: k->bits = (uint64_t)(uintptr_t)v->u.str; break;
    }
}

void value_key_other(uint32_t n, tc_vkey *k)
{
    k->type = VALUE_KEY_OTHER + n;
    k->len = 0;
    k->bits = 0;
}

static bool key_is_text(const tc_vkey *k)
{
    return k->type == TC_V_STRING && k->len <= VALUE_KEY_TEXT;
}

static uint64_t load_u64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

uint32_t value_key_hash(const tc_vkey *k)
{
    uint64_t h = ((uint64_t)k->type << 40) ^ k->len;
    if (key_is_text(k)) {
        const char *s = (const char *)(uintptr_t)k->bits;
        if (k->len >= 8) {
            h ^= load_u64(s) * 0xC2B2AE3D27D4EB4Full;
            h ^= load_u64(s + k->len - 8) * 0x165667B19E3779F9ull;
        } else {
            uint64_t v = 0;
            memcpy(&v, s, k->len);
            h ^= v * 0xC2B2AE3D27D4EB4Full;
        }
    } else {
        h ^= k->bits * 0x9E3779B97F4A7C15ull;
    }
    h ^= h >> 33; /* products only carry upwards: fold the top bits down */
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    return (uint32_t)h;
}

bool value_key_same(const tc_vkey *a, const tc_vkey *b)
{
    if (a->type != b->type || a->len != b->len)
        return false;
    if (a->bits == b->bits)
        return true;
    return key_is_text(a) &&
           memcmp((const char *)(uintptr_t)a->bits, (const char *)(uintptr_t)b->bits, a->len) == 0;
}
