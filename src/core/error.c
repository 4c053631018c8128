/* error.c - located errors (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static void vset(tc_error *e, size_t offset, const char *fmt, va_list ap)
{
    e->line = 0;
    e->col = 0;
    e->offset = offset;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

int tc_error_set(tc_error *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vset(e, (size_t)-1, fmt, ap);
        va_end(ap);
    }
    return code;
}

int tc_error_at(tc_error *e, int code, size_t offset, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vset(e, offset, fmt, ap);
        va_end(ap);
    }
    return code;
}

void tc_error_locate(tc_error *e, const char *input, size_t len)
{
    if (!e || e->offset == (size_t)-1 || !input)
        return;
    size_t end = e->offset < len ? e->offset : len;
    int line = 1, col = 1;
    for (size_t i = 0; i < end; i++) {
        if (input[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)input[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    e->line = line;
    e->col = col;
}
