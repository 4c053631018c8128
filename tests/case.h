/* case.h - data-driven test cases: the block format of tests/cases/NAME.test
 * and the handler interface the driver calls.
 *
 * A case file:
 *
 *     # comment (before the first case)
 *     @trace otlp/node-sdk-hello.json      file-wide parameter
 *
 *     ### selector: every span              "### KIND: NAME" starts a case
 *     @trace other.json                     per-case parameters first
 *     span[]                                input lines ...
 *     ---
 *     expected output lines ...             or "%%FAIL message"
 *
 * Lines starting with "# " are comments before the first case, between a
 * case's header and its input, and among its expected lines (so a comment
 * may stand just before the next case's header).
 *
 * A handler gets the case and a buffer; it returns 0 with the output in the
 * buffer, or non-zero with an error message in the buffer. The driver
 * compares the output (or, for %%FAIL, the message) with the expected text,
 * trailing white space of each line ignored. */
#ifndef TC_TEST_CASE_H
#define TC_TEST_CASE_H

#include "core/buf.h"

#define CASE_MAX_PARAMS 16

typedef struct tc_case {
    const char *file;  /* case file path */
    int line;          /* line of the ### header */
    const char *kind;  /* handler name */
    const char *name;
    const char *input; /* input lines joined with \n */
    int n_params;
    const char *param_key[CASE_MAX_PARAMS];
    const char *param_val[CASE_MAX_PARAMS];
} tc_case;

/* The value of @key for this case (case beats file), or NULL. */
const char *case_param(const tc_case *c, const char *key);

/* Path of a file under the test data folder (tests/data, or $TC_DATA).
 * Returns a static buffer, valid until the next call. */
const char *case_data_path(const char *rel);

/* Reads a whole file into a malloc'd buffer (NUL-terminated). NULL on error. */
char *case_read_file(const char *path, size_t *len);

#define CASE_HANDLER(name)                                                                       \
    int case_##name(const tc_case *c, tc_buf *out);                                              \
    int case_##name(const tc_case *c, tc_buf *out)

#endif
