/* inline.c - the files a test names put into its document before it goes
 * to a server, as Tracetest's CLI does: an http body, a GraphQL query or a
 * gRPC protobufFile that names a file next to the test becomes that file's
 * text. A server reads no file of its own (its runs have no folder), so a
 * test runs there as it runs here. */
#include "cli/cli.h"

#include "core/arena.h"
#include "core/buf.h"
#include "resource/resource.h"
#include "trigger/grpc.h"
#include "trigger/protodyn.h"
#include "trigger/trigger.h"

#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

#define INLINE_MAX_TARGETS 256

typedef struct target {
    int doc, line, col;   /* where the file name is (1-based) */
    const char *name;     /* the file name as written */
    const char *text;     /* the file's text (in the arena) */
    bool done;
} target;

typedef struct targets {
    target v[INLINE_MAX_TARGETS];
    size_t n;
} targets;

/* Whether p[0..n) is UTF-8 text without NUL (YAML can carry it). */
static bool is_text(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 9;
        if (c == 0 || k == 9 || i + k >= n + (k == 0))
            return false;
        for (size_t j = 1; j <= k; j++)
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

static int add(targets *ts, int doc, const res_str *s, const char *base_dir, size_t max, arena *a,
               const char *path, tc_error *e)
{
    if (!s->s)
        return 0;
    const char *text = trigger_file_text(base_dir, s->s, max, a, NULL);
    if (!text)
        return 0; /* the value is text already */
    if (!is_text(text, strlen(text)) || strlen(text) == 0) {
        tc_error_set(e, TC_ERR_INPUT, "%s names the file \"%s\", which is not UTF-8 text: it cannot be sent to the server",
                     path, s->s);
        e->line = s->line;
        e->col = s->col;
        return TC_ERR_INPUT;
    }
    if (ts->n == INLINE_MAX_TARGETS)
        return tc_error_set(e, TC_ERR_LIMIT, "more than %d files named by the tests of one file", INLINE_MAX_TARGETS);
    ts->v[ts->n++] = (target){doc, s->line, s->col, s->s, text, false};
    return 0;
}

/* Replaces the scalar values of the document's mappings that stand where
 * a target of document d is. Returns 0, or -1 when libfyaml fails. */
static int replace(struct fy_document *fyd, struct fy_node *n, targets *ts, int d)
{
    if (fy_node_is_sequence(n)) {
        void *it = NULL;
        struct fy_node *x;
        while ((x = fy_node_sequence_iterate(n, &it)))
            if (replace(fyd, x, ts, d))
                return -1;
        return 0;
    }
    if (!fy_node_is_mapping(n))
        return 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(n, &it))) {
        struct fy_node *v = fy_node_pair_value(p);
        if (!v)
            continue;
        if (!fy_node_is_scalar(v)) {
            if (replace(fyd, v, ts, d))
                return -1;
            continue;
        }
        struct fy_token *tok = fy_node_get_scalar_token(v);
        const struct fy_mark *m = tok ? fy_token_start_mark(tok) : NULL;
        for (size_t i = 0; m && i < ts->n; i++) {
            target *t = &ts->v[i];
            if (t->doc != d || t->done || t->line != m->line + 1 || t->col != m->column + 1)
                continue;
            struct fy_node *nv = fy_node_create_scalar_copy(fyd, t->text, strlen(t->text));
            if (!nv || fy_node_pair_set_value(p, nv))
                return -1;
            t->done = true;
            break;
        }
    }
    return 0;
}

int cli_inline_files(const res_file *rf, const char *text, size_t len, char **out, size_t *out_len, tc_error *e)
{
    *out = NULL;
    *out_len = 0;
    arena *a = arena_new(0);
    targets *ts = calloc(1, sizeof *ts);
    int rc = 0;
    if (!a || !ts) {
        rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; !rc && i < rf->n_items; i++) {
        const res_resource *r = &rf->items[i];
        if (r->kind != RES_TEST || !r->u.test)
            continue;
        const res_trigger *tr = &r->u.test->trigger;
        if (tr->type == RES_TRIG_HTTP)
            rc = add(ts, r->doc, &tr->http.body, rf->base_dir, TRIGGER_MAX_BODY, a, rf->name, e);
        else if (tr->type == RES_TRIG_GRAPHQL)
            rc = add(ts, r->doc, &tr->graphql.query, rf->base_dir, TRIGGER_MAX_BODY, a, rf->name, e);
        else if (tr->type == RES_TRIG_GRPC && !(tr->grpc.protobuf_file.s && strchr(tr->grpc.protobuf_file.s, ';')))
            rc = add(ts, r->doc, &tr->grpc.protobuf_file, rf->base_dir, PROTODYN_MAX_TEXT, a, rf->name, e);
    }
    if (rc || ts->n == 0)
        goto done;

    /* every document again, the named files' text in place of their names */
    struct fy_parse_cfg pc = {.flags = FYPCF_QUIET};
    struct fy_parser *fyp = fy_parser_create(&pc);
    if (!fyp || fy_parser_set_string(fyp, text, len)) {
        fy_parser_destroy(fyp);
        rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        goto done;
    }
    tc_buf b;
    buf_init(&b, RES_MAX_FILE);
    struct fy_document *fyd;
    for (int d = 0; !rc && (fyd = fy_parse_load_document(fyp)); d++) {
        struct fy_node *root = fy_document_root(fyd);
        char *s = NULL;
        if (root && replace(fyd, root, ts, d) == 0)
            s = fy_emit_document_to_string(fyd, FYECF_MODE_BLOCK | FYECF_WIDTH_INF | FYECF_NO_ENDING_NEWLINE);
        if (!s)
            rc = tc_error_set(e, TC_ERR_INPUT, "document %d cannot be written back as YAML", d + 1);
        else {
            if (d)
                buf_puts(&b, "\n---\n");
            buf_puts(&b, s);
            buf_putc(&b, '\n');
            free(s);
        }
        fy_parse_document_destroy(fyp, fyd);
    }
    fy_parser_destroy(fyp);
    for (size_t i = 0; !rc && i < ts->n; i++)
        if (!ts->v[i].done)
            rc = tc_error_set(e, TC_ERR_INPUT, "%s:%d:%d: the file \"%s\" could not be put into the document", rf->name,
                              ts->v[i].line, ts->v[i].col, ts->v[i].name);
    if (!rc && b.failed)
        rc = tc_error_set(e, TC_ERR_LIMIT, "%s with the files it names is larger than %zu bytes", rf->name, (size_t)RES_MAX_FILE);
    if (!rc) {
        *out_len = b.len;
        *out = buf_detach(&b);
        if (!*out)
            rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    }
    buf_free(&b);
done:
    free(ts);
    arena_free(&a);
    return rc;
}
