/* kafka.c - case handler for the Kafka trigger's request: `kafka_request`
 * loads the input as a Test, builds its kafka request with ${var:NAME}
 * taken from @var NAME=VALUE params, and prints trigger_kafka_describe, the
 * value and the security properties (or "LINE:COL: message"). */
#include "case.h"
#include "trigger/kafka.h"

#include <string.h>

CASE_HANDLER(kafka_request);

/* Replaces ${var:NAME} from the case's @var params; anything else is copied. */
static int case_interp(void *user, const char *s, arena *a, const char **out, tc_error *e)
{
    const tc_case *c = user;
    tc_buf b;
    buf_init(&b, 0);
    while (*s) {
        const char *start = strstr(s, "${var:");
        const char *end = start ? strchr(start, '}') : NULL;
        if (!end) {
            buf_puts(&b, s);
            break;
        }
        buf_append(&b, s, (size_t)(start - s));
        size_t n = (size_t)(end - start - 6);
        const char *val = NULL;
        for (int i = 0; i < c->n_params && !val; i++)
            if (strcmp(c->param_key[i], "var") == 0 && strncmp(c->param_val[i], start + 6, n) == 0 &&
                c->param_val[i][n] == '=')
                val = c->param_val[i] + n + 1;
        if (!val) {
            buf_free(&b);
            return tc_error_set(e, TC_ERR_INPUT, "variable \"%.*s\" not found", (int)n, start + 6);
        }
        buf_puts(&b, val);
        s = end + 1;
    }
    *out = arena_strdup(a, buf_str(&b));
    buf_free(&b);
    return *out ? 0 : tc_error_set(e, TC_ERR_NOMEM, "out of memory");
}

CASE_HANDLER(kafka_request)
{
    res_file *f = NULL;
    tc_error e = {0};
    int rc = res_load_buffer("case.yaml", c->input, strlen(c->input), &f, &e);
    if (rc) {
        buf_printf(out, "%d:%d: %s", e.line, e.col, e.msg);
        return 1;
    }
    if (!f->n_items || f->items[0].kind != RES_TEST) {
        res_file_free(&f);
        buf_puts(out, "not a Test");
        return 1;
    }
    arena *a = arena_new(0);
    trigger_kafka_request req;
    rc = trigger_kafka_from_test(f->items[0].u.test, case_interp, (void *)c, a, &req, &e);
    if (rc) {
        buf_printf(out, "%d:%d: %s", e.line, e.col, e.msg);
    } else {
        trigger_kafka_describe(&req, out);
        if (req.value)
            buf_printf(out, "\nvalue text: %s", req.value);
        trigger_kv sec[5];
        size_t n = trigger_kafka_security(&req, sec);
        for (size_t i = 0; i < n; i++)
            buf_printf(out, "\n%s=%s", sec[i].key, sec[i].value);
    }
    arena_free(&a);
    res_file_free(&f);
    return rc;
}
