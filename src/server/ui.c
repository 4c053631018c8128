/* ui.c - the web UI's side of `tracecheck serve`: the files of ui/,
 * embedded at build time (scripts/embed-ui.sh writes the table), served at
 * /ui/PATH with their ETag (If-None-Match: 304), and ui/index.html for the
 * app's own URLs (every other path outside /api/). No token: they are
 * public static files; every answer carries the security headers. */
#include "server_int.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

/* One embedded file (the layout scripts/embed-ui.sh writes). */
typedef struct ui_asset {
    const char *path; /* relative to ui/, e.g. "vendor/preact.mjs" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted */
} ui_asset;

extern const ui_asset ui_assets[];
extern const size_t ui_assets_n;

#define UI_CSP                                                                                                \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "    \
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

static const ui_asset *ui_find(const char *path)
{
    for (size_t i = 0; i < ui_assets_n; i++)
        if (strcmp(ui_assets[i].path, path) == 0)
            return &ui_assets[i];
    return NULL;
}

/* Whether an If-None-Match value (a list of entity tags, or "*") names etag. */
static bool etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return false;
    size_t el = strlen(etag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        size_t n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == el && memcmp(p, etag, el) == 0)
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

static void security_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Security-Policy", UI_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static bool queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
    security_headers(r);
    bool ok = MHD_queue_response(c, status, r) == MHD_YES;
    MHD_destroy_response(r);
    return ok;
}

static bool error_answer(struct MHD_Connection *c, unsigned status, const char *code, const char *msg,
                         const char *allow)
{
    tc_buf b;
    buf_init(&b, 0);
    buf_printf(&b, "{\"error\":{\"code\":\"%s\",\"message\":", code);
    buf_json_string(&b, msg, strlen(msg));
    buf_puts(&b, "}}\n");
    size_t len = b.len;
    char *body = buf_detach(&b);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return false;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    return queue(c, status, r);
}

bool ui_answer(server *s, struct MHD_Connection *c, const char *method, const char *path)
{
    (void)s;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return error_answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                            "the web UI's files take GET and HEAD", "GET, HEAD");
    const ui_asset *a;
    if (strncmp(path, "/ui/", 4) == 0) {
        a = ui_find(path + 4);
        if (!a) {
            char msg[512];
            snprintf(msg, sizeof msg, "no file %.400s in the web UI", path);
            return error_answer(c, MHD_HTTP_NOT_FOUND, "not_found", msg, NULL);
        }
    } else {
        a = ui_find("index.html"); /* the app's URLs: the app finds its page */
        if (!a)
            return error_answer(c, MHD_HTTP_NOT_FOUND, "not_found", "this build has no web UI", NULL);
    }
    bool fresh = etag_matches(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH),
                              a->etag);
    struct MHD_Response *r = fresh ? MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT)
                                   : MHD_create_response_from_buffer(a->len, (void *)a->data,
                                                                     MHD_RESPMEM_PERSISTENT);
    if (!r)
        return false;
    if (!fresh)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a->etag);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return queue(c, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
}
