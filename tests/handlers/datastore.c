/* datastore.c - case handler for DataStore resources as sources: loads the
 * case's YAML, reads its DataStore with source_config_load (environment
 * from @env NAME=VALUE parameters, nothing from the process) and prints
 * source_config_dump, or the error as "LINE:COL: message". */
#include "case.h"
#include "resource/resource.h"
#include "source/source.h"

#include <stdio.h>
#include <string.h>

static const char *case_env(void *user, const char *name)
{
    const char *env = case_param((const tc_case *)user, "env"); /* "A=1 B=2" */
    size_t nl = strlen(name);
    for (const char *p = env; p && *p;) {
        while (*p == ' ')
            p++;
        const char *end = p + strcspn(p, " ");
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            static char v[256];
            snprintf(v, sizeof v, "%.*s", (int)(end - p - nl - 1), p + nl + 1);
            return v;
        }
        p = end;
    }
    return NULL;
}

CASE_HANDLER(datastore)
{
    res_file *f = NULL;
    tc_error e;
    memset(&e, 0, sizeof e);
    if (res_load_buffer("case.yaml", c->input, strlen(c->input), &f, &e)) {
        buf_printf(out, "%d:%d: %s", e.line, e.col, e.msg);
        return 1;
    }
    int rc = 1;
    arena *a = arena_new(0);
    for (size_t i = 0; i < f->n_items; i++) {
        if (f->items[i].kind != RES_DATASTORE)
            continue;
        source_config *cfg = NULL;
        rc = source_config_load(f->items[i].u.datastore, "case.yaml", case_env, (void *)c, a, &cfg, &e);
        if (rc)
            buf_printf(out, "%d:%d: %s", e.line, e.col, e.msg);
        else
            rc = source_config_dump(cfg, a, out);
        break;
    }
    arena_free(&a);
    res_file_free(&f);
    return rc;
}
