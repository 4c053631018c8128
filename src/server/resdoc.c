/* resdoc.c - resource documents in request bodies: splitting a YAML
 * stream or a JSON array into documents, loading each with its errors at
 * the body's line and column, and writing a document as JSON (libfyaml)
 * with a VariableSet's secrets masked (jansson). */
#include "server_int.h"

#include "run/mask.h"

#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

static void position(const char *s, size_t upto, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < upto; i++) {
        if (s[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)s[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static int push(resdoc **docs, size_t *n, size_t *cap, resdoc d)
{
    if (*n == RES_MAX_DOCS)
        return TC_ERR_LIMIT;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        resdoc *nd = realloc(*docs, nc * sizeof *nd);
        if (!nd)
            return TC_ERR_NOMEM;
        *docs = nd;
        *cap = nc;
    }
    (*docs)[(*n)++] = d;
    return 0;
}

/* A line that is blank or a comment. */
static bool blank_line(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p == end || *p == '#';
}

/* "---" or "..." at the start of a line, followed by white space or the
 * end: a document marker (YAML forbids it inside any scalar). */
static bool marker(const char *p, const char *end, char ch)
{
    return end - p >= 3 && p[0] == ch && p[1] == ch && p[2] == ch &&
           (end - p == 3 || p[3] == ' ' || p[3] == '\t' || p[3] == '\r' || p[3] == '\n');
}

static int split_yaml(const char *body, size_t len, resdoc **docs, size_t *n, size_t *cap)
{
    const char *end = body + len, *p = body;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        body = p = p + 3;  /* a byte-order mark is not a column */
    const char *start = p; /* of the current document */
    bool content = false;
    for (;;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        bool dash = marker(p, line_end, '-');
        if (dash || marker(p, line_end, '.') || (p < line_end && *p == '%')) {
            if (content) {
                int line, col;
                position(body, (size_t)(start - body), &line, &col);
                int rc = push(docs, n, cap, (resdoc){start, (size_t)(p - start), line, col});
                if (rc)
                    return rc;
            }
            /* "--- {type: Test, ...}": the rest of the line belongs to the next document */
            content = dash && !blank_line(p + 3, line_end);
            start = content ? p + 3 : eol ? eol + 1 : end;
        } else if (!blank_line(p, line_end)) {
            content = true;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    if (content) {
        int line, col;
        position(body, (size_t)(start - body), &line, &col);
        return push(docs, n, cap, (resdoc){start, (size_t)(end - start), line, col});
    }
    return 0;
}

static int json_error(tc_error *e, const json_error_t *je)
{
    tc_error_set(e, TC_ERR_INPUT, "invalid JSON: %s", je->text);
    e->line = je->line > 0 ? je->line : 0;
    e->col = je->column > 0 ? je->column : 0;
    return TC_ERR_INPUT;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

static int split_json(const char *body, size_t len, resdoc **docs, size_t *n, size_t *cap, tc_error *e)
{
    json_error_t je;
    json_t *all = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
    if (!all)
        return json_error(e, &je);
    bool array = json_is_array(all);
    size_t count = array ? json_array_size(all) : 1;
    int bad = -1;
    for (size_t i = 0; i < count && bad < 0; i++)
        if (!json_is_object(array ? json_array_get(all, i) : all))
            bad = (int)i;
    json_decref(all);
    const char *end = body + len, *p = skip_ws(body, end);
    int line, col;
    if (bad >= 0) {
        position(body, (size_t)(p - body), &line, &col);
        tc_error_set(e, TC_ERR_INPUT,
                     array ? "item %d of the array is not a resource document (an object)"
                           : "expected a resource document (an object) or an array of them",
                     bad);
        e->line = line;
        e->col = col;
        return TC_ERR_INPUT;
    }
    if (!array) {
        position(body, (size_t)(p - body), &line, &col);
        return push(docs, n, cap, (resdoc){p, (size_t)(end - p), line, col});
    }
    p = skip_ws(p + 1, end); /* past '[' */
    for (size_t i = 0; i < count; i++) {
        /* one value from here: jansson says how many bytes it read */
        json_t *item =
            json_loadb(p, (size_t)(end - p), JSON_DISABLE_EOF_CHECK | JSON_DECODE_INT_AS_REAL, &je);
        if (!item)
            return json_error(e, &je);
        json_decref(item);
        position(body, (size_t)(p - body), &line, &col);
        int rc = push(docs, n, cap, (resdoc){p, je.position, line, col});
        if (rc)
            return rc;
        p = skip_ws(p + je.position, end);
        if (p < end && *p == ',')
            p = skip_ws(p + 1, end);
    }
    return 0;
}

int resdoc_split(const char *body, size_t len, bool json, resdoc **docs, size_t *n, tc_error *e)
{
    *docs = NULL;
    *n = 0;
    size_t cap = 0;
    int rc = json ? split_json(body, len, docs, n, &cap, e) : split_yaml(body, len, docs, n, &cap);
    if (rc == TC_ERR_LIMIT)
        tc_error_set(e, rc, "more than %d documents", RES_MAX_DOCS);
    else if (rc == TC_ERR_NOMEM)
        tc_error_set(e, rc, "out of memory");
    if (!rc && *n == 0) {
        rc = tc_error_set(e, TC_ERR_INPUT, "no resource document in the body");
        e->line = e->col = 1;
    }
    if (rc) {
        free(*docs);
        *docs = NULL;
        *n = 0;
    }
    return rc;
}

int resdoc_load(const resdoc *d, res_file **out, tc_error *e)
{
    /* the document where it was in the body: lines and columns count from there */
    size_t pad = (size_t)(d->line - 1) + (size_t)(d->col - 1);
    char *text = malloc(pad + d->len + 1);
    if (!text)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    memset(text, '\n', (size_t)(d->line - 1));
    memset(text + d->line - 1, ' ', (size_t)(d->col - 1));
    memcpy(text + pad, d->text, d->len);
    text[pad + d->len] = '\0';
    int rc = res_load_buffer("request", text, pad + d->len, out, e);
    free(text);
    return rc;
}

static void quiet_diag(struct fy_diag *d, void *user, const char *buf, size_t len)
{
    (void)d;
    (void)user;
    (void)buf;
    (void)len;
}

/* The document as one line of JSON (malloc'd), or NULL. */
static char *to_json_text(const char *text, size_t len)
{
    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = quiet_diag;
    dc.level = FYET_ERROR;
    struct fy_diag *diag = fy_diag_create(&dc);
    if (!diag)
        return NULL;
    struct fy_parse_cfg pc;
    memset(&pc, 0, sizeof pc);
    pc.flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT;
    pc.diag = diag;
    char *json = NULL;
    struct fy_document *fyd = fy_document_build_from_string(&pc, len ? text : "", len);
    if (fyd) {
        json = fy_emit_document_to_string(fyd, FYECF_MODE_JSON_ONELINE | FYECF_NO_ENDING_NEWLINE);
        fy_document_destroy(fyd);
    }
    fy_diag_destroy(diag);
    return json;
}

int resdoc_to_json(const char *text, size_t len, tc_buf *out, tc_error *e)
{
    char *json = to_json_text(text, len);
    json_error_t je;
    json_t *check = json ? json_loads(json, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je) : NULL;
    int rc = 0;
    if (!check)
        rc = tc_error_set(e, TC_ERR_INPUT,
                          "the document cannot be written as JSON (a key that is not a scalar?)");
    else if (buf_puts(out, json))
        rc = tc_error_set(e, TC_ERR_LIMIT, "the document is too large");
    json_decref(check);
    free(json);
    return rc;
}

json_t *resdoc_to_jansson(const char *text, size_t len)
{
    char *json = to_json_text(text, len);
    if (!json)
        return NULL;
    json_error_t je;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
    if (!v) /* an integer jansson cannot hold */
        v = json_loads(json, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
    free(json);
    return v;
}

/* The member of an object named key: exact, else ASCII case-insensitive
 * (as the resource loader reads keys). */
static json_t *member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v)
        return v;
    const char *k;
    json_object_foreach(obj, k, v)
    {
        if (strcasecmp(k, key) == 0)
            return v;
    }
    return NULL;
}

static bool truthy(json_t *v)
{
    return json_is_true(v) || (json_is_string(v) && strcasecmp(json_string_value(v), "true") == 0);
}

size_t resdoc_mask_varset(json_t *doc)
{
    json_t *values = member(member(doc, "spec"), "values");
    size_t n = 0, i;
    json_t *item;
    json_array_foreach(values, i, item)
    {
        json_t *type = member(item, "type");
        bool secret = truthy(member(item, "secret")) ||
                      (json_is_string(type) && strcmp(json_string_value(type), "secret") == 0);
        if (!secret)
            continue;
        const char *k;
        json_t *v;
        json_object_foreach(item, k, v)
        {
            if (strcasecmp(k, "value") == 0) {
                json_object_set_new(item, k, json_string(MASK_TEXT));
                n++;
                break;
            }
        }
    }
    return n;
}
