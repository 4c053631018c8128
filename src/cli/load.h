/* load.h - reading command inputs: files (or "-" for stdin) and trace files
 * in any format, with errors printed as FILE:LINE:COL. */
#ifndef TC_CLI_LOAD_H
#define TC_CLI_LOAD_H

#include "cli.h"
#include "codec/codec.h"

/* Reads a whole file ("-": standard input) of at most max bytes into a
 * malloc'd, NUL-terminated buffer. Returns 0 or TC_ERR_IO/TC_ERR_LIMIT. */
int cli_read_file(const char *path, size_t max, char **out, size_t *out_len, tc_error *e);

/* Decodes every file into ts (spans of one trace merge across files).
 * Prints a located error to stderr and returns non-zero on the first bad
 * file; a file of zero bytes is one ("FILE: empty file, no trace"), a body
 * that holds no spans is not. */
int cli_load_traces(trace_set *ts, char **files, int n_files, tracefile_format fmt);

#endif
