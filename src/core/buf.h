/* buf.h - growable byte buffer with a cap, always NUL-terminated.
 *
 * Ownership: the buffer owns ptr (heap). buf_free releases it. An append
 * that would grow the buffer past `max` fails with TC_ERR_LIMIT and leaves
 * the contents as they were; after any failure `failed` is set so a long
 * sequence of appends can be checked once at the end. */
#ifndef TC_BUF_H
#define TC_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tc_buf {
    char *ptr;   /* NULL until the first append; NUL-terminated after */
    size_t len;
    size_t cap;  /* allocated bytes */
    size_t max;  /* cap on len */
    bool failed; /* an append failed */
} tc_buf;

#define BUF_DEFAULT_MAX ((size_t)1 << 30)

void buf_init(tc_buf *b, size_t max);                 /* max 0: BUF_DEFAULT_MAX */
int buf_append(tc_buf *b, const void *p, size_t n);   /* 0 or TC_ERR_* */
int buf_puts(tc_buf *b, const char *s);
int buf_putc(tc_buf *b, char c);
int buf_printf(tc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_json_string(tc_buf *b, const char *s, size_t n); /* quoted, escaped */
void buf_reset(tc_buf *b);                            /* len = 0, keeps memory */
const char *buf_str(const tc_buf *b);                 /* "" when empty */
/* Hands the string to the caller (free() it); the buffer is reset empty. */
char *buf_detach(tc_buf *b);
void buf_free(tc_buf *b);

#endif
