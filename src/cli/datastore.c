/* datastore.c - finding and reading the DataStore of a command (see
 * datastore.h). */
#include "datastore.h"

#include "cli.h"
#include "load.h"

#include <stdlib.h>
#include <string.h>

static const char *env_lookup(void *user, const char *name)
{
    (void)user;
    return getenv(name);
}

static int read_one(const res_file *f, const res_resource *r, arena *a, source_config **out)
{
    tc_error e;
    memset(&e, 0, sizeof e);
    e.offset = (size_t)-1;
    int rc = source_config_load(r->u.datastore, f->name, env_lookup, NULL, a, out, &e);
    if (rc) {
        if (rc == TC_ERR_NOMEM)
            fprintf(stderr, "tracecheck: out of memory\n");
        else
            cli_print_error(f->name, &e, NULL, 0);
        return EXIT_USAGE;
    }
    return 0;
}

int cli_datastore_pick(res_file *const *files, size_t n, arena *a, source_config **out)
{
    *out = NULL;
    const res_file *pf = NULL, *df = NULL;
    const res_resource *pick = NULL, *dflt = NULL;
    size_t count = 0, defaults = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < files[i]->n_items; k++) {
            const res_resource *r = &files[i]->items[k];
            if (r->kind != RES_DATASTORE)
                continue;
            count++;
            pick = r;
            pf = files[i];
            if (r->u.datastore->is_default.v) {
                defaults++;
                if (!dflt) {
                    dflt = r;
                    df = files[i];
                }
            }
        }
    if (count == 0)
        return 0;
    if (dflt) {
        pick = dflt;
        pf = df;
    } else if (count > 1) {
        fprintf(stderr,
                "tracecheck: %zu DataStores among the files and none is marked `default: true`; mark one or pass "
                "--datastore FILE\n",
                count);
        return EXIT_USAGE;
    }
    (void)defaults;
    return read_one(pf, pick, a, out);
}

int cli_datastore_load(const char *path, arena *a, source_config **out)
{
    char *text = NULL;
    size_t len = 0;
    tc_error e;
    int rc = cli_read_file(path, RES_MAX_FILE, &text, &len, &e);
    if (rc) {
        cli_print_error(path, &e, NULL, 0);
        return EXIT_USAGE;
    }
    res_file *f = NULL;
    rc = res_load_buffer(path, text, len, &f, &e);
    if (rc) {
        cli_print_error(path, &e, text, len);
        free(text);
        return EXIT_USAGE;
    }
    free(text);
    for (size_t i = 0; i < f->n_warnings; i++)
        fprintf(stderr, "%s:%d:%d: warning: %s\n", path, f->warnings[i].line, f->warnings[i].col, f->warnings[i].msg);
    rc = cli_datastore_pick(&f, 1, a, out);
    if (!rc && !*out) {
        fprintf(stderr, "%s: no DataStore in this file\n", path);
        rc = EXIT_USAGE;
    }
    res_file_free(&f);
    return rc;
}
