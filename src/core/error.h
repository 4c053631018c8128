/* error.h - a located error: what went wrong and where in the input.
 *
 * Parsers and decoders fill a caller-owned tc_error on failure; on success
 * they leave it untouched. line/col are 1-based, 0 when unknown; offset is a
 * byte offset into the input, (size_t)-1 when unknown. */
#ifndef TC_ERROR_H
#define TC_ERROR_H

#include <stddef.h>

#define TC_ERROR_MSG_MAX 256

typedef struct tc_error {
    int line;   /* 1-based, 0 = unknown */
    int col;    /* 1-based, 0 = unknown */
    size_t offset; /* byte offset, (size_t)-1 = unknown */
    char msg[TC_ERROR_MSG_MAX];
} tc_error;

/* Status codes returned across the project (0 = ok). */
enum {
    TC_OK = 0,
    TC_ERR_INPUT = 1,  /* malformed input */
    TC_ERR_LIMIT = 2,  /* a size, count or depth limit was exceeded */
    TC_ERR_NOMEM = 3,  /* allocation failed (or an arena cap was reached) */
    TC_ERR_IO = 4,     /* reading or writing failed (adapters only) */
    TC_ERR_UNSUPPORTED = 5,
};

/* Sets e's message (printf-style) and clears its location. e may be NULL.
 * Returns `code` so callers can write `return tc_error_set(e, TC_ERR_INPUT, ...)`. */
int tc_error_set(tc_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As tc_error_set, with a byte offset into the input. */
int tc_error_at(tc_error *e, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills line/col from e->offset by counting newlines in input[0..len). */
void tc_error_locate(tc_error *e, const char *input, size_t len);

#endif
