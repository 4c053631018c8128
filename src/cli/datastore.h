/* datastore.h - the DataStore a command reads traces from: from a
 * --datastore file, or among the resource files given (the one marked
 * `default: true`, or the only one). Errors are printed with FILE:LINE:COL. */
#ifndef TC_CLI_DATASTORE_H
#define TC_CLI_DATASTORE_H

#include "core/arena.h"
#include "resource/resource.h"
#include "source/source.h"

/* Loads `path` (${NAME} replaced from the environment) and reads its
 * DataStore into *out (allocated from a). Returns 0, or an exit code
 * (EXIT_USAGE for bad input or an unsupported type) after printing why. */
int cli_datastore_load(const char *path, arena *a, source_config **out);

/* Picks the DataStore among loaded files: the one with `default: true`, or
 * the only one. *out is NULL when there is none. Returns 0 or EXIT_USAGE
 * (several and none marked default, or a bad one) after printing why. */
int cli_datastore_pick(res_file *const *files, size_t n, arena *a, source_config **out);

#endif
