/* mask.c - hiding secret values in results (see mask.h). */
#include "mask.h"

#include "core/buf.h"

#include <string.h>

const char *mask_text(const vars *v, const char *s, arena *a)
{
    if (!s)
        return s;
    const char *cur = s;
    for (size_t i = 0; i < v->n; i++) {
        const vars_entry *e = &v->items[i];
        size_t n = strlen(e->value);
        if (!e->secret || n < 3 || !strstr(cur, e->value))
            continue;
        tc_buf b;
        buf_init(&b, 0);
        const char *p = cur, *hit;
        while ((hit = strstr(p, e->value))) {
            buf_append(&b, p, (size_t)(hit - p));
            buf_puts(&b, MASK_TEXT);
            p = hit + n;
        }
        buf_puts(&b, p);
        const char *copy = b.failed ? NULL : arena_strndup(a, buf_str(&b), b.len);
        buf_free(&b);
        if (copy)
            cur = copy;
    }
    return cur;
}

void mask_spec_run(const vars *v, spec_run *r, arena *a)
{
    for (uint32_t s = 0; s < r->n_specs; s++) {
        spec_result *sr = &r->specs[s];
        sr->error = mask_text(v, sr->error, a);
        for (uint32_t k = 0; k < sr->n_spans; k++)
            for (uint32_t c = 0; c < sr->spans[k].n_checks; c++) {
                spec_check *ck = &sr->spans[k].checks[c];
                ck->observed = mask_text(v, ck->observed, a);
                ck->expected = mask_text(v, ck->expected, a);
                ck->error = mask_text(v, ck->error, a);
            }
    }
    for (uint32_t o = 0; o < r->n_outputs; o++) {
        r->outputs[o].value = mask_text(v, r->outputs[o].value, a);
        r->outputs[o].error = mask_text(v, r->outputs[o].error, a);
    }
}
