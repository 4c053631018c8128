/* equiv.c - case handler: the same trace in several formats must give the
 * same model. Input: one file per line (relative to the test data folder).
 * Output: a format-neutral dump of the first file, then "FILE: same" for
 * each other file, or "FILE: differs" and the first differing line. The
 * neutral dump shows attribute values as text (Zipkin tags are strings)
 * and leaves out what a format cannot carry (scope attributes, flags). */
#include "case.h"
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

CASE_HANDLER(equiv);

static int cmp_attr(const void *a, const void *b)
{
    return strcmp(((const tc_attr *)a)->key, ((const tc_attr *)b)->key);
}

static int neutral_dump(const char *rel, tc_buf *out, tc_buf *err)
{
    size_t len;
    char *data = case_read_file(case_data_path(rel), &len);
    if (!data) {
        buf_printf(err, "%s: cannot read", rel);
        return 1;
    }
    trace_set *ts = trace_set_new(0);
    tc_error e;
    int rc = tracefile_decode(ts, (const uint8_t *)data, len, TF_AUTO, NULL, &e);
    free(data);
    if (rc || trace_set_index(ts)) {
        buf_printf(err, "%s: %s", rel, e.msg);
        trace_set_free(&ts);
        return 1;
    }
    for (uint32_t i = 0; i < trace_set_count(ts); i++) {
        trace *t = trace_set_at(ts, i);
        char tid[33];
        hex_encode(t->trace_id, TRACE_ID_LEN, tid);
        buf_printf(out, "trace %s\n", tid);
        for (uint32_t k = 0; k < t->n_spans; k++) {
            trace_span *sp = t->preorder[k];
            char id[17], pid[17];
            hex_encode(sp->span_id, SPAN_ID_LEN, id);
            hex_encode(sp->parent_id, SPAN_ID_LEN, pid);
            buf_printf(out, "%*s%s parent=%s %s service=%s kind=%s %llu..%llu status=%s", (int)sp->depth * 2,
                       "", id, trace_span_has_parent(sp) ? pid : "-", sp->name, trace_span_service(sp),
                       trace_kind_name(sp->kind), (unsigned long long)sp->start_ns,
                       (unsigned long long)sp->end_ns, trace_status_name(sp->status_code));
            if (*sp->status_message)
                buf_printf(out, " (%s)", sp->status_message);
            buf_printf(out, " scope=%s\n", sp->scope->name);
            tc_attr *attrs = malloc((sp->n_attrs + 1) * sizeof *attrs);
            memcpy(attrs, sp->attrs, sp->n_attrs * sizeof *attrs);
            qsort(attrs, sp->n_attrs, sizeof *attrs, cmp_attr);
            for (uint32_t a = 0; a < sp->n_attrs; a++) {
                buf_printf(out, "%*s  %s=", (int)sp->depth * 2, "", attrs[a].key);
                value_to_text(out, &attrs[a].value);
                buf_putc(out, '\n');
            }
            free(attrs);
        }
    }
    trace_set_free(&ts);
    return 0;
}

CASE_HANDLER(equiv)
{
    tc_buf first, other;
    buf_init(&first, 0);
    buf_init(&other, 0);
    int rc = 0;
    char *files = strdup(c->input);
    char *save = NULL;
    int n = 0;
    for (char *f = strtok_r(files, "\n", &save); f && !rc; f = strtok_r(NULL, "\n", &save), n++) {
        if (n == 0) {
            rc = neutral_dump(f, &first, out);
            buf_append(out, buf_str(&first), first.len);
            continue;
        }
        buf_reset(&other);
        rc = neutral_dump(f, &other, out);
        if (rc)
            break;
        if (strcmp(buf_str(&first), buf_str(&other)) == 0) {
            buf_printf(out, "%s: same\n", f);
            continue;
        }
        const char *a = buf_str(&first), *b = buf_str(&other);
        while (*a && *a == *b)
            a++, b++;
        while (a > buf_str(&first) && a[-1] != '\n')
            a--, b--;
        buf_printf(out, "%s: differs\n  want: %.*s\n  got:  %.*s\n", f, (int)strcspn(a, "\n"), a,
                   (int)strcspn(b, "\n"), b);
    }
    free(files);
    buf_free(&first);
    buf_free(&other);
    return rc;
}
