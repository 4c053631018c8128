/* mask.h - hides secret values (VariableSet values marked `secret: true`)
 * in run results before they are reported or saved. */
#ifndef TC_RUN_MASK_H
#define TC_RUN_MASK_H

#include "core/arena.h"
#include "core/spec.h"
#include "run/vars.h"

#define MASK_TEXT "****"

/* Returns s with every occurrence of a secret value of v replaced by
 * MASK_TEXT (a copy in a), or s itself when it holds none. Values shorter
 * than 3 bytes are not masked (they would hide unrelated text). */
const char *mask_text(const vars *v, const char *s, arena *a);

/* Masks every observed/expected/error string and output value of r. */
void mask_spec_run(const vars *v, spec_run *r, arena *a);

#endif
