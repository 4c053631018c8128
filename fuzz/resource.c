/* resource.c - fuzz harness: load any bytes as a resource file, dump it,
 * read every DataStore in it as a source (source_config_load, with a fixed
 * environment), dump that too, free. */
#include "resource/resource.h"
#include "source/source.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fixed_env(void *user, const char *name)
{
    (void)user;
    return strcmp(name, "UNSET") == 0 ? NULL : "value";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    res_file *f = NULL;
    tc_error e;
    if (res_load_buffer("fuzz.yaml", (const char *)data, size, &f, &e) == 0) {
        tc_buf b;
        buf_init(&b, 0);
        res_dump(f, &b);
        arena *a = arena_new(0);
        for (size_t i = 0; a && i < f->n_items; i++) {
            source_config *c = NULL;
            if (f->items[i].kind == RES_DATASTORE &&
                source_config_load(f->items[i].u.datastore, "fuzz.yaml", fixed_env, NULL, a, &c, &e) == 0)
                source_config_dump(c, a, &b);
        }
        arena_free(&a);
        buf_free(&b);
        res_file_free(&f);
    }
    return 0;
}
