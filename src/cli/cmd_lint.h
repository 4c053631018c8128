/* cmd_lint.h - `tracecheck lint`, and the pieces `tracecheck run` shares
 * with it: finding the Analyzer among loaded resource files and turning it
 * into the analyzer's configuration. */
#ifndef TC_CLI_CMD_LINT_H
#define TC_CLI_CMD_LINT_H

#include "core/arena.h"
#include "core/lint.h"
#include "resource/resource.h"

#include <stdio.h>

int cmd_lint(int argc, char **argv);
void help_lint(FILE *out);

/* The first Analyzer (or Linter) resource of files[0..n), or NULL. */
const res_analyzer *cli_find_analyzer(res_file *const *files, size_t n);

/* Fills *out from an Analyzer resource (plugins and rules allocated in a;
 * an absent plugin list means every plugin with its defaults). Returns 0
 * or TC_ERR_NOMEM. */
int cli_lint_config(const res_analyzer *an, arena *a, lint_config *out);

#endif
