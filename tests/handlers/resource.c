/* resource.c - case handlers for the resource loader: `resource` loads the
 * input as a YAML file and prints res_dump (or "LINE:COL: message");
 * `resource_subst` runs ${NAME} substitution with @env NAME=VALUE params. */
#include "case.h"
#include "resource/resource.h"

#include <string.h>

CASE_HANDLER(resource);
CASE_HANDLER(resource_subst);

/* The case format ends an input at a "---" line, so inputs write the YAML
 * document separator as "%---". */
static void unescape_separators(tc_buf *b, const char *s)
{
    while (*s) {
        size_t n = strcspn(s, "\n");
        if (n == 4 && strncmp(s, "%---", 4) == 0)
            buf_puts(b, "---");
        else
            buf_append(b, s, n);
        s += n;
        if (*s == '\n') {
            buf_putc(b, '\n');
            s++;
        }
    }
}

CASE_HANDLER(resource)
{
    const char *name = case_param(c, "name");
    res_file *f = NULL;
    tc_error e = {0};
    tc_buf in;
    buf_init(&in, 0);
    unescape_separators(&in, c->input);
    int rc = res_load_buffer(name ? name : "case.yaml", buf_str(&in), in.len, &f, &e);
    buf_free(&in);
    if (rc) {
        buf_printf(out, "%d:%d: %s", e.line, e.col, e.msg);
        return 1;
    }
    if (case_param(c, "base"))
        buf_printf(out, "base: %s\n", f->base_dir);
    res_dump(f, out);
    res_file_free(&f);
    return 0;
}

static const char *case_env(void *user, const char *name)
{
    const tc_case *c = user;
    size_t n = strlen(name);
    for (int i = 0; i < c->n_params; i++)
        if (strcmp(c->param_key[i], "env") == 0 && strncmp(c->param_val[i], name, n) == 0 &&
            c->param_val[i][n] == '=')
            return c->param_val[i] + n + 1;
    return NULL;
}

CASE_HANDLER(resource_subst)
{
    tc_error e = {0};
    int rc = res_subst_env(c->input, strlen(c->input), case_env, (void *)c, out, &e);
    if (rc) {
        buf_reset(out);
        buf_printf(out, "%d:%d: %s", e.line, e.col, e.msg);
    }
    return rc;
}
