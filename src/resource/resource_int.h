/* resource_int.h - internals shared by the resource loader's files.
 *
 * Ownership: everything built here is allocated from the caller's arena. */
#ifndef TC_RESOURCE_INT_H
#define TC_RESOURCE_INT_H

#include "core/arena.h"
#include "resource/resource.h"

/* Parses every YAML document of text[0..len) into trees. On success
 * *stream is a RES_SEQ node whose items are the non-empty documents' roots.
 * Syntax errors come from libfyaml's diagnostics, located, never printed.
 * Returns 0 or TC_ERR_INPUT / TC_ERR_LIMIT / TC_ERR_NOMEM with e located. */
int res_yaml_parse(arena *a, const char *text, size_t len, res_node **stream, tc_error *e);

#endif
