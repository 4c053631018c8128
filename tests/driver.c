/* driver.c - runs data-driven test cases (tests/cases/NAME.test, format in
 * case.h) through the handlers in tests/handlers/ and prints
 * "N passed, N failed". Usage: casedriver [-v] [-k SUBSTRING] FILE... */
#include "case.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define X(name) CASE_HANDLER(name);
#include "case_handlers.h"
#undef X

typedef int (*handler_fn)(const tc_case *, tc_buf *);
static const struct {
    const char *name;
    handler_fn fn;
} handlers[] = {
#define X(name) {#name, case_##name},
#include "case_handlers.h"
#undef X
    {NULL, NULL},
};

static int n_file_params;
static const char *file_key[CASE_MAX_PARAMS], *file_val[CASE_MAX_PARAMS];

const char *case_param(const tc_case *c, const char *key)
{
    for (int i = c->n_params; i-- > 0;)
        if (strcmp(c->param_key[i], key) == 0)
            return c->param_val[i];
    for (int i = n_file_params; i-- > 0;)
        if (strcmp(file_key[i], key) == 0)
            return file_val[i];
    return NULL;
}

const char *case_data_path(const char *rel)
{
    static char path[4096];
    const char *dir = getenv("TC_DATA");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tests/data", rel);
    return path;
}

char *case_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    tc_buf b;
    buf_init(&b, 0);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_append(&b, tmp, n);
    fclose(f);
    if (len)
        *len = b.len;
    return buf_detach(&b);
}

/* Trims trailing white space of every line and trailing blank lines. */
static void normalize(tc_buf *dst, const char *s)
{
    buf_reset(dst);
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        size_t m = n;
        while (m > 0 && (s[m - 1] == ' ' || s[m - 1] == '\t' || s[m - 1] == '\r'))
            m--;
        buf_append(dst, s, m);
        buf_putc(dst, '\n');
        s += n + (nl ? 1 : 0);
    }
    while (dst->len > 0 && dst->ptr[dst->len - 1] == '\n')
        dst->ptr[--dst->len] = '\0';
}

static handler_fn find_handler(const char *kind)
{
    for (int i = 0; handlers[i].name; i++)
        if (strcmp(handlers[i].name, kind) == 0)
            return handlers[i].fn;
    return NULL;
}

static int verbose;
static const char *filter;
static int passed, failed;

static void run_case(tc_case *c, const char *expected)
{
    if (filter && !strstr(c->name, filter) && !strstr(c->kind, filter))
        return;
    handler_fn fn = find_handler(c->kind);
    tc_buf out, got, want;
    buf_init(&out, 0);
    buf_init(&got, 0);
    buf_init(&want, 0);
    bool ok;
    const char *why = "";
    if (!fn) {
        ok = false;
        why = "no handler for this kind";
    } else {
        int rc = fn(c, &out);
        bool want_fail = strncmp(expected, "%%FAIL", 6) == 0;
        if (want_fail) {
            const char *msg = expected + 6;
            while (*msg == ' ')
                msg++;
            normalize(&want, msg);
            normalize(&got, buf_str(&out));
            ok = rc != 0 && strcmp(got.ptr ? got.ptr : "", want.ptr ? want.ptr : "") == 0;
            if (!rc)
                why = "expected an error, got success";
        } else {
            normalize(&want, expected);
            normalize(&got, buf_str(&out));
            ok = rc == 0 && strcmp(buf_str(&got), buf_str(&want)) == 0;
            if (rc)
                why = "unexpected error";
        }
    }
    if (ok) {
        passed++;
        if (verbose)
            printf("ok   %s:%d %s: %s\n", c->file, c->line, c->kind, c->name);
    } else {
        failed++;
        printf("FAIL %s:%d %s: %s %s\n", c->file, c->line, c->kind, c->name, why);
        printf("  input:    %s\n", c->input);
        printf("  expected:\n%s\n  got:\n%s\n", buf_str(&want), buf_str(&got));
    }
    buf_free(&out);
    buf_free(&got);
    buf_free(&want);
}

static void run_file(const char *path)
{
    size_t len;
    char *text = case_read_file(path, &len);
    if (!text) {
        printf("FAIL %s: cannot read\n", path);
        failed++;
        return;
    }
    n_file_params = 0;
    tc_case c;
    memset(&c, 0, sizeof c);
    tc_buf input, expected;
    buf_init(&input, 0);
    buf_init(&expected, 0);
    enum { OUTSIDE, PARAMS, INPUT, EXPECTED } st = OUTSIDE;
    char *save = NULL;
    int lineno = 0;
    /* split keeping empty lines */
    char *p = text;
    for (;;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *line = p;
        lineno++;
        bool eof = !nl && !*line;
        if (eof || strncmp(line, "### ", 4) == 0) {
            if (st != OUTSIDE) {
                while (input.len && input.ptr[input.len - 1] == '\n')
                    input.ptr[--input.len] = '\0';
                c.input = buf_str(&input);
                if (st != EXPECTED) {
                    printf("FAIL %s:%d: case without '---'\n", path, c.line);
                    failed++;
                } else {
                    run_case(&c, buf_str(&expected));
                }
            }
            if (eof)
                break;
            memset(&c, 0, sizeof c);
            c.file = path;
            c.line = lineno;
            char *kind = line + 4;
            char *colon = strchr(kind, ':');
            if (colon) {
                *colon = '\0';
                c.name = colon + 1 + (colon[1] == ' ');
            } else {
                c.name = "";
            }
            c.kind = kind;
            buf_reset(&input);
            buf_reset(&expected);
            st = PARAMS;
        } else if (st == OUTSIDE) {
            if (line[0] == '@' && n_file_params < CASE_MAX_PARAMS) {
                char *sp = strchr(line, ' ');
                if (sp)
                    *sp = '\0';
                file_key[n_file_params] = line + 1;
                file_val[n_file_params++] = sp ? sp + 1 : "";
            }
        } else if ((st == PARAMS || st == EXPECTED) && line[0] == '#' && line[1] == ' ') {
            /* a comment: before a case's input, or among its expected lines */
        } else if (st == PARAMS && line[0] == '@' && c.n_params < CASE_MAX_PARAMS) {
            char *sp = strchr(line, ' ');
            if (sp)
                *sp = '\0';
            c.param_key[c.n_params] = line + 1;
            c.param_val[c.n_params++] = sp ? sp + 1 : "";
        } else if (st != EXPECTED && strcmp(line, "---") == 0) {
            st = EXPECTED;
        } else if (st == EXPECTED) {
            buf_puts(&expected, line);
            buf_putc(&expected, '\n');
        } else {
            st = INPUT;
            buf_puts(&input, line);
            buf_putc(&input, '\n');
        }
        if (!nl)
            p = line + strlen(line);
        else
            p = nl + 1;
    }
    (void)save;
    buf_free(&input);
    buf_free(&expected);
    free(text);
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc)
            filter = argv[++i];
    }
    for (; i < argc; i++)
        run_file(argv[i]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
