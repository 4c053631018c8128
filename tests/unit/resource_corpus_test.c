/* resource_corpus_test.c - every resource file of Tracetest's public
 * repository (tests/data/tracetest-resources) loads without error; every
 * Test has a trigger; per-kind, spec and assertion counts are printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "resource/resource.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct counts {
    int files, failed, warnings;
    int kinds[RES_OTHER + 1];
    int tests_without_trigger;
    long specs, assertions, outputs;
    int trig[RES_TRIG_ARTILLERY + 1];
} counts;

static int is_yaml(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) || (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static void load_one(const char *path, counts *k)
{
    res_file *f = NULL;
    tc_error e = {0};
    k->files++;
    if (res_load_file(path, &f, &e) != 0) {
        k->failed++;
        printf("# FAILED %s:%d:%d: %s\n", path, e.line, e.col, e.msg);
        return;
    }
    k->warnings += (int)f->n_warnings;
    for (size_t i = 0; i < f->n_warnings; i++)
        printf("# warning %s:%d:%d: %s\n", path, f->warnings[i].line, f->warnings[i].col,
               f->warnings[i].msg);
    for (size_t i = 0; i < f->n_items; i++) {
        const res_resource *r = &f->items[i];
        k->kinds[r->kind]++;
        if (r->kind != RES_TEST)
            continue;
        const res_test *t = r->u.test;
        if (t->trigger.type == RES_TRIG_NONE) {
            k->tests_without_trigger++;
            printf("# no trigger: %s\n", path);
        }
        k->trig[t->trigger.type]++;
        k->specs += (long)t->n_specs;
        k->outputs += (long)t->n_outputs;
        for (size_t s = 0; s < t->n_specs; s++)
            k->assertions += (long)t->specs[s].n_assertions;
    }
    res_file_free(&f);
}

static void walk(const char *dir, counts *k)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            walk(path, k);
        else if (is_yaml(de->d_name))
            load_one(path, k);
    }
    closedir(d);
}

static void test_corpus(void **state)
{
    (void)state;
    const char *data = getenv("TC_DATA");
    char root[4096];
    snprintf(root, sizeof root, "%s/tracetest-resources", data && *data ? data : "tests/data");
    counts k;
    memset(&k, 0, sizeof k);
    walk(root, &k);
    printf("# %d files, %d failed, %d warnings\n", k.files, k.failed, k.warnings);
    for (int i = 0; i <= RES_OTHER; i++)
        printf("# %s: %d\n", res_kind_name((res_kind)i), k.kinds[i]);
    for (int i = 1; i <= RES_TRIG_ARTILLERY; i++)
        if (k.trig[i])
            printf("# trigger %s: %d\n", res_trigger_type_name((res_trigger_type)i), k.trig[i]);
    printf("# specs: %ld, assertions: %ld, outputs: %ld\n", k.specs, k.assertions, k.outputs);
    assert_int_equal(k.failed, 0);
    assert_int_equal(k.tests_without_trigger, 0);
    assert_true(k.files >= 260);
    assert_int_equal(k.kinds[RES_TEST], 163);
    assert_true(k.assertions > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
