/* buf.c - growable byte buffer with a cap (see buf.h). */
#include "buf.h"

#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(tc_buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : BUF_DEFAULT_MAX;
    b->failed = false;
}

static int reserve(tc_buf *b, size_t n)
{
    if (n > b->max - b->len) {
        b->failed = true;
        return TC_ERR_LIMIT;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->ptr, cap);
    if (!p) {
        b->failed = true;
        return TC_ERR_NOMEM;
    }
    b->ptr = p;
    b->cap = cap;
    return 0;
}

int buf_append(tc_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return 0;
}

int buf_puts(tc_buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_putc(tc_buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_printf(tc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return TC_ERR_INPUT;
    }
    if ((size_t)n < sizeof small)
        return buf_append(b, small, (size_t)n);
    int rc = reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int buf_json_string(tc_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
                u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = '\0';
                esc = u;
            }
        }
        if (esc) {
            if (run)
                rc = buf_append(b, s + i - run, run);
            run = 0;
            if (!rc)
                rc = buf_puts(b, esc);
        } else {
            run++;
        }
    }
    if (!rc && run)
        rc = buf_append(b, s + n - run, run);
    if (!rc)
        rc = buf_putc(b, '"');
    return rc;
}

void buf_reset(tc_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
    b->failed = false;
}

const char *buf_str(const tc_buf *b)
{
    return b->ptr ? b->ptr : "";
}

char *buf_detach(tc_buf *b)
{
    char *p = b->ptr;
    if (!p)
        p = calloc(1, 1);
    size_t max = b->max;
    buf_init(b, max);
    return p;
}

void buf_free(tc_buf *b)
{
    free(b->ptr);
    buf_init(b, b->max);
}
