/* resource_yaml.c - YAML text to located res_node trees, from libfyaml's
 * event stream (depth, size and count limits; duplicate keys; aliases). */
#include "resource/resource_int.h"

#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANCHORS 1024

typedef struct frame {
    res_node *node;
    res_node *last;        /* last child */
    const res_node *key;   /* maps: key waiting for its value */
    const char *anchor;    /* anchor to register when the collection ends */
} frame;

typedef struct anchor {
    const char *name;
    const res_node *node;
} anchor;

typedef struct parser {
    arena *a;
    tc_error *e;
    size_t nodes;
    frame stack[RES_MAX_DEPTH + 2];
    int depth;
    anchor anchors[MAX_ANCHORS];
    int n_anchors;
    char diag[512]; /* libfyaml's first diagnostic lines */
    size_t diag_len;
} parser;

static int at(tc_error *e, int code, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int at(tc_error *e, int code, int line, int col, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->line = line;
        e->col = col;
        e->offset = (size_t)-1;
    }
    return code;
}

static void diag_out(struct fy_diag *d, void *user, const char *buf, size_t len)
{
    (void)d;
    parser *p = user;
    size_t room = sizeof p->diag - 1 - p->diag_len;
    if (len > room)
        len = room;
    memcpy(p->diag + p->diag_len, buf, len);
    p->diag_len += len;
    p->diag[p->diag_len] = '\0';
}

/* Turns "<input>:L:C: error: MESSAGE\n..." into a located error. */
static int diag_error(parser *p)
{
    const char *tag = strstr(p->diag, ": error: ");
    if (!tag)
        return at(p->e, TC_ERR_INPUT, 0, 0, "invalid YAML");
    const char *msg = tag + 9;
    size_t mlen = strcspn(msg, "\n");
    /* walk back over ":L:C" */
    const char *q = tag;
    int nums[2] = {0, 0};
    for (int k = 1; k >= 0; k--) {
        const char *end = q;
        while (q > p->diag && q[-1] >= '0' && q[-1] <= '9')
            q--;
        if (q == end || q == p->diag || q[-1] != ':')
            break;
        nums[k] = atoi(q);
        q--;
    }
    return at(p->e, TC_ERR_INPUT, nums[0], nums[1], "invalid YAML: %.*s", (int)mlen, msg);
}

static res_node *new_node(parser *p, res_node_kind kind, const struct fy_mark *m)
{
    if (++p->nodes > RES_MAX_NODES) {
        at(p->e, TC_ERR_LIMIT, m ? m->line + 1 : 0, m ? m->column + 1 : 0,
           "too many YAML nodes (limit %d)", RES_MAX_NODES);
        return NULL;
    }
    res_node *n = arena_calloc(p->a, 1, sizeof *n);
    if (!n) {
        at(p->e, TC_ERR_NOMEM, 0, 0, "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->str = "";
    if (m) {
        n->line = m->line + 1;
        n->col = m->column + 1;
    }
    return n;
}

/* Deep copy of a complete node (for an alias), counted against the limit. */
static res_node *copy_node(parser *p, const res_node *src, int line, int col)
{
    res_node *n = new_node(p, src->kind, NULL);
    if (!n)
        return NULL;
    *n = *src;
    n->line = line;
    n->col = col;
    n->key = NULL;
    n->next = NULL;
    n->first = NULL;
    res_node *last = NULL;
    for (const res_node *c = src->first; c; c = c->next) {
        res_node *k = copy_node(p, c, c->line, c->col);
        if (!k)
            return NULL;
        k->key = c->key;
        k->key_line = c->key_line;
        k->key_col = c->key_col;
        if (last)
            last->next = k;
        else
            n->first = k;
        last = k;
    }
    return n;
}

static const char *anchor_name(parser *p, struct fy_token *tok)
{
    size_t len;
    const char *s = fy_token_get_text(tok, &len);
    return arena_strndup(p->a, s ? s : "", s ? len : 0);
}

static int add_anchor(parser *p, const char *name, const res_node *n)
{
    if (!name)
        return 0;
    if (p->n_anchors >= MAX_ANCHORS)
        return at(p->e, TC_ERR_LIMIT, n->line, n->col, "too many YAML anchors (limit %d)",
                  MAX_ANCHORS);
    p->anchors[p->n_anchors].name = name;
    p->anchors[p->n_anchors++].node = n;
    return 0;
}

static const char *key_text(const res_node *k)
{
    return k->str;
}

/* Adds a finished-or-started node to the current container. */
static int attach(parser *p, res_node *n)
{
    frame *f = &p->stack[p->depth];
    res_node *parent = f->node;
    if (parent->kind == RES_MAP) {
        if (!f->key) {
            if (n->kind != RES_SCALAR)
                return at(p->e, TC_ERR_INPUT, n->line, n->col,
                          "a mapping key must be a plain string");
            f->key = n;
            return 0;
        }
        if (parent->n >= RES_MAX_MAP_KEYS)
            return at(p->e, TC_ERR_LIMIT, f->key->line, f->key->col,
                      "too many keys in one mapping (limit %d)", RES_MAX_MAP_KEYS);
        for (const res_node *c = parent->first; c; c = c->next)
            if (strcmp(c->key, key_text(f->key)) == 0)
                return at(p->e, TC_ERR_INPUT, f->key->line, f->key->col,
                          "duplicate key \"%s\" (first at %d:%d)", c->key, c->key_line,
                          c->key_col);
        n->key = key_text(f->key);
        n->key_line = f->key->line;
        n->key_col = f->key->col;
        f->key = NULL;
    } else if (parent->n >= RES_MAX_ITEMS) {
        return at(p->e, TC_ERR_LIMIT, n->line, n->col, "too many items in one list (limit %d)",
                  RES_MAX_ITEMS);
    }
    if (f->last)
        f->last->next = n;
    else
        parent->first = n;
    f->last = n;
    parent->n++;
    return 0;
}

static int on_event(parser *p, struct fy_event *ev)
{
    const struct fy_mark *m = fy_event_start_mark(ev);
    switch (ev->type) {
    case FYET_DOCUMENT_START:
        p->n_anchors = 0;
        return 0;
    case FYET_SCALAR: {
        res_node *n = new_node(p, RES_SCALAR, m);
        if (!n)
            return p->nodes > RES_MAX_NODES ? TC_ERR_LIMIT : TC_ERR_NOMEM;
        size_t len = 0;
        const char *s = fy_token_get_text(ev->scalar.value, &len);
        n->str = arena_strndup(p->a, s ? s : "", s ? len : 0);
        if (!n->str)
            return at(p->e, TC_ERR_NOMEM, 0, 0, "out of memory");
        n->len = s ? len : 0;
        n->quoted = fy_token_scalar_style(ev->scalar.value) != FYSS_PLAIN;
        const char *an = ev->scalar.anchor ? anchor_name(p, ev->scalar.anchor) : NULL;
        if (ev->scalar.anchor && !an)
            return at(p->e, TC_ERR_NOMEM, 0, 0, "out of memory");
        int rc = add_anchor(p, an, n);
        return rc ? rc : attach(p, n);
    }
    case FYET_ALIAS: {
        size_t len;
        const char *s = fy_token_get_text(ev->alias.anchor, &len);
        int line = m ? m->line + 1 : 0, col = m ? m->column + 1 : 0;
        for (int i = p->n_anchors; i-- > 0;) {
            if (strlen(p->anchors[i].name) == len && memcmp(p->anchors[i].name, s, len) == 0) {
                res_node *n = copy_node(p, p->anchors[i].node, line, col);
                if (!n)
                    return p->nodes > RES_MAX_NODES ? TC_ERR_LIMIT : TC_ERR_NOMEM;
                return attach(p, n);
            }
        }
        return at(p->e, TC_ERR_INPUT, line, col, "unknown YAML anchor \"%.*s\"",
                  (int)(len > 64 ? 64 : len), s ? s : "");
    }
    case FYET_MAPPING_START:
    case FYET_SEQUENCE_START: {
        bool map = ev->type == FYET_MAPPING_START;
        if (p->depth >= RES_MAX_DEPTH)
            return at(p->e, TC_ERR_LIMIT, m ? m->line + 1 : 0, m ? m->column + 1 : 0,
                      "YAML nested too deeply (limit %d)", RES_MAX_DEPTH);
        res_node *n = new_node(p, map ? RES_MAP : RES_SEQ, m);
        if (!n)
            return p->nodes > RES_MAX_NODES ? TC_ERR_LIMIT : TC_ERR_NOMEM;
        int rc = attach(p, n);
        if (rc)
            return rc;
        frame *f = &p->stack[++p->depth];
        f->node = n;
        f->last = NULL;
        f->key = NULL;
        struct fy_token *tok = map ? ev->mapping_start.anchor : ev->sequence_start.anchor;
        f->anchor = tok ? anchor_name(p, tok) : NULL;
        if (tok && !f->anchor)
            return at(p->e, TC_ERR_NOMEM, 0, 0, "out of memory");
        return 0;
    }
    case FYET_MAPPING_END:
    case FYET_SEQUENCE_END: {
        frame *f = &p->stack[p->depth];
        p->depth--;
        return add_anchor(p, f->anchor, f->node);
    }
    default:
        return 0;
    }
}

/* YAML text must be valid UTF-8 (and libfyaml loops forever on some invalid
 * bytes): returns the offset of the first bad sequence, or len. */
static size_t utf8_check(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned min;
        if (c < 0x80) {
            if (c == 0)
                return i;
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return i;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
                return i;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return i;
        i += n + 1;
    }
    return len;
}

int res_yaml_parse(arena *a, const char *text, size_t len, res_node **stream, tc_error *e)
{
    size_t bad = utf8_check((const unsigned char *)text, len);
    if (bad < len) {
        tc_error_at(e, TC_ERR_INPUT, bad, "invalid YAML: %s",
                    text[bad] ? "invalid UTF-8" : "NUL byte");
        tc_error_locate(e, text, len);
        return TC_ERR_INPUT;
    }
    parser *p = calloc(1, sizeof *p);
    if (!p)
        return at(e, TC_ERR_NOMEM, 0, 0, "out of memory");
    p->a = a;
    p->e = e;
    int rc = 0;
    struct fy_diag *diag = NULL;
    struct fy_parser *fyp = NULL;
    res_node *root = new_node(p, RES_SEQ, NULL);
    if (!root) {
        rc = TC_ERR_NOMEM;
        goto out;
    }
    root->line = root->col = 1;
    p->stack[0].node = root;

    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = diag_out;
    dc.user = p;
    dc.level = FYET_ERROR;
    dc.colorize = false;
    dc.show_source = false;
    diag = fy_diag_create(&dc);
    struct fy_parse_cfg pc;
    memset(&pc, 0, sizeof pc);
    pc.flags = FYPCF_QUIET | FYPCF_JSON_NONE | FYPCF_DISABLE_BUFFERING;
    pc.diag = diag;
    fyp = diag ? fy_parser_create(&pc) : NULL;
    if (!fyp || fy_parser_set_string(fyp, len ? text : "", len) != 0) {
        rc = at(e, TC_ERR_NOMEM, 0, 0, "out of memory");
        goto out;
    }
    struct fy_event *ev;
    int docs = 0;
    while ((ev = fy_parser_parse(fyp)) != NULL) {
        if (ev->type == FYET_DOCUMENT_START && ++docs > RES_MAX_DOCS) {
            const struct fy_mark *m = fy_event_start_mark(ev);
            rc = at(e, TC_ERR_LIMIT, m ? m->line + 1 : 0, m ? m->column + 1 : 0,
                    "too many documents (limit %d)", RES_MAX_DOCS);
        } else {
            rc = on_event(p, ev);
        }
        fy_parser_event_free(fyp, ev);
        if (rc)
            goto out;
    }
    if (fy_parser_get_stream_error(fyp)) {
        rc = diag_error(p);
        goto out;
    }
    *stream = root;
out:
    if (fyp)
        fy_parser_destroy(fyp);
    if (diag)
        fy_diag_destroy(diag);
    free(p);
    return rc;
}
