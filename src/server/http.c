/* http.c - the REST API's HTTP side (libmicrohttpd, a thread per
 * connection, so an event stream may wait on a condition variable):
 * bounded bodies, the bearer token, CORS, routing to the handlers of
 * api_res.c and api_runs.c, and JSON error answers. */
#include "server_int.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_CONN_TIMEOUT_S 120 /* an idle connection is closed */

/* One request in progress. */
typedef struct pending {
    tc_buf body;
    bool too_large;
    bool answered; /* an answer was queued before the body was read */
} pending;

const char *srv_header(const srv_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->c, MHD_HEADER_KIND, name);
}

const char *srv_arg(const srv_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->c, MHD_GET_ARGUMENT_KIND, name);
}

static int fail_v(srv_resp *rs, unsigned status, const char *code, int line, int col, const char *fmt,
                  va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    buf_reset(&rs->body);
    buf_printf(&rs->body, "{\"error\":{\"code\":\"%s\",\"message\":", code);
    buf_json_string(&rs->body, msg, strlen(msg));
    if (line > 0)
        buf_printf(&rs->body, ",\"line\":%d", line);
    if (col > 0)
        buf_printf(&rs->body, ",\"column\":%d", col);
    buf_puts(&rs->body, "}}\n");
    rs->status = status;
    rs->content_type = "application/json";
    if (rs->stream) {
        MHD_destroy_response(rs->stream);
        rs->stream = NULL;
    }
    return -1;
}

int srv_fail(srv_resp *rs, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(rs, status, code, 0, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int srv_fail_at(srv_resp *rs, unsigned status, const char *code, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(rs, status, code, line, col, fmt, ap);
    va_end(ap);
    return -1;
}

int srv_fail_store(srv_resp *rs, int rc, const tc_error *e)
{
    const char *msg = e && e->msg[0] ? e->msg : "the store failed";
    if (store_unavailable(rc)) {
        rs->retry_after = true;
        return srv_fail(rs, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "the database is unavailable: %s",
                        msg);
    }
    switch (rc) {
    case STORE_ERR_NOT_FOUND:
        return srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "%s", msg);
    case STORE_ERR_CONFLICT:
        return srv_fail(rs, MHD_HTTP_CONFLICT, "conflict", "%s", msg);
    case TC_ERR_INPUT:
        return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "%s", msg);
    case TC_ERR_LIMIT:
        return srv_fail(rs, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "%s", msg);
    default:
        return srv_fail(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "%s", msg);
    }
}

void srv_json(srv_resp *rs, unsigned status)
{
    rs->status = status;
    rs->content_type = "application/json";
}

/* The media type of a Content-Type value, without parameters, lower case. */
static void media_type(const char *v, char *out, size_t n)
{
    size_t i = 0;
    for (; v && v[i] && v[i] != ';' && i + 1 < n; i++)
        out[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]);
    while (i > 0 && (out[i - 1] == ' ' || out[i - 1] == '\t'))
        i--;
    out[i] = '\0';
}

json_t *srv_body_object(const srv_req *rq, srv_resp *rs, const char *const *allowed)
{
    if (rq->body_len == 0)
        return json_object();
    char mt[128];
    media_type(srv_header(rq, MHD_HTTP_HEADER_CONTENT_TYPE), mt, sizeof mt);
    if (mt[0] && strcmp(mt, "application/json") != 0) {
        srv_fail(rs, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                 "the body must be JSON (Content-Type: application/json), not %s", mt);
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        srv_fail_at(rs, MHD_HTTP_BAD_REQUEST, "bad_request", je.line, je.column, "invalid JSON: %s", je.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "the body must be a JSON object");
        return NULL;
    }
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        bool ok = false;
        for (size_t i = 0; allowed && allowed[i] && !ok; i++)
            ok = strcmp(k, allowed[i]) == 0;
        if (!ok) {
            tc_buf known;
            buf_init(&known, 4096);
            for (size_t i = 0; allowed && allowed[i]; i++)
                buf_printf(&known, "%s\"%s\"", i ? ", " : "", allowed[i]);
            srv_fail(rs, MHD_HTTP_BAD_REQUEST, "unknown_field", "unknown field \"%s\" (known: %s)", k,
                     known.len ? buf_str(&known) : "none");
            buf_free(&known);
            json_decref(v);
            return NULL;
        }
    }
    return v;
}

/* ---- the bearer token ---- */

static bool token_ok(const server *s, const char *auth)
{
    const char *tok = s->o.token;
    size_t tl = strlen(tok);
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *got = auth + 7;
    while (*got == ' ')
        got++;
    size_t gl = strlen(got);
    /* constant time in the token: every byte of it is compared */
    unsigned char diff = (unsigned char)(gl != tl);
    for (size_t i = 0; i < tl; i++)
        diff |= (unsigned char)(tok[i] ^ (i < gl ? got[i] : 0));
    return diff == 0;
}

/* ---- routing ---- */

static bool method_is(const srv_req *rq, const char *m)
{
    return strcmp(rq->method, m) == 0 || (strcmp(m, "GET") == 0 && strcmp(rq->method, "HEAD") == 0);
}

static int not_allowed(srv_resp *rs, const char *allow)
{
    rs->allow = allow;
    return srv_fail(rs, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "this endpoint takes %s", allow);
}

static const struct {
    const char *plural;
    res_kind kind;
} kinds[] = {
    {"tests", RES_TEST},           {"testsuites", RES_TESTSUITE},
    {"variablesets", RES_VARSET},  {"pollingprofiles", RES_POLLING},
    {"datastores", RES_DATASTORE},
};

static bool parse_run_id(const char *s, int64_t *id)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v <= 0)
        return false;
    *id = v;
    return true;
}

static void route(srv_req *rq, srv_resp *rs)
{
    const char *path = rq->path;
    if (strncmp(path, "/api/", 5) != 0) {
        srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint: %s (the API is under /api/)", path);
        return;
    }
    /* the path's segments after /api/ */
    char copy[2048];
    if (strlen(path + 5) >= sizeof copy) {
        srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint");
        return;
    }
    snprintf(copy, sizeof copy, "%s", path + 5);
    char *seg[5] = {0};
    int n = 0;
    for (char *p = copy; n < 5;) {
        seg[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    if (n > 0 && !seg[n - 1][0]) /* a trailing slash */
        n--;
    if (n >= 5 || n == 0) {
        srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint: %s", path);
        return;
    }
    if (n == 1 && strcmp(seg[0], "health") == 0) {
        method_is(rq, "GET") ? api_health(rq, rs) : (void)not_allowed(rs, "GET");
        return;
    }
    if (n == 1 && strcmp(seg[0], "openapi.json") == 0) {
        method_is(rq, "GET") ? api_openapi(rq, rs) : (void)not_allowed(rs, "GET");
        return;
    }
    if (n == 1 && strcmp(seg[0], "resources") == 0) {
        method_is(rq, "PUT") ? api_resources_put(rq, rs) : (void)not_allowed(rs, "PUT");
        return;
    }
    if (n == 1 && strcmp(seg[0], "select") == 0) {
        method_is(rq, "POST") ? api_select(rq, rs) : (void)not_allowed(rs, "POST");
        return;
    }
    if (n == 1 && strcmp(seg[0], "eval") == 0) {
        method_is(rq, "POST") ? api_eval(rq, rs) : (void)not_allowed(rs, "POST");
        return;
    }
    if (strcmp(seg[0], "runs") == 0) {
        if (n == 1) {
            method_is(rq, "GET") ? api_run_list(rq, rs) : (void)not_allowed(rs, "GET");
            return;
        }
        int64_t id;
        if (!parse_run_id(seg[1], &id)) {
            srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no run \"%s\" (run ids are positive integers)",
                     seg[1]);
            return;
        }
        if (n == 2) {
            method_is(rq, "GET") ? api_run_get(rq, rs, id) : (void)not_allowed(rs, "GET");
        } else if (n == 3 && strcmp(seg[2], "trace") == 0) {
            method_is(rq, "GET") ? api_run_trace(rq, rs, id) : (void)not_allowed(rs, "GET");
        } else if (n == 3 && strcmp(seg[2], "cancel") == 0) {
            method_is(rq, "POST") ? api_run_cancel(rq, rs, id) : (void)not_allowed(rs, "POST");
        } else if (n == 3 && strcmp(seg[2], "events") == 0) {
            method_is(rq, "GET") ? api_run_events(rq, rs, id) : (void)not_allowed(rs, "GET");
        } else {
            srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint: %s", path);
        }
        return;
    }
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (strcmp(seg[0], kinds[k].plural) != 0)
            continue;
        if (n == 1) {
            method_is(rq, "GET") ? api_resource_list(rq, rs, kinds[k].kind) : (void)not_allowed(rs, "GET");
        } else if (n == 2) {
            if (method_is(rq, "GET"))
                api_resource_get(rq, rs, kinds[k].kind, seg[1]);
            else if (method_is(rq, "DELETE"))
                api_resource_delete(rq, rs, kinds[k].kind, seg[1]);
            else
                not_allowed(rs, "GET, DELETE");
        } else if (n == 3 && strcmp(seg[2], "run") == 0 &&
                   (kinds[k].kind == RES_TEST || kinds[k].kind == RES_TESTSUITE)) {
            method_is(rq, "POST")
                ? api_run_start(rq, rs, kinds[k].kind == RES_TEST ? STORE_TEST_RUN : STORE_SUITE_RUN, seg[1])
                : (void)not_allowed(rs, "POST");
        } else {
            srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint: %s", path);
        }
        return;
    }
    srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint: %s", path);
}

/* ---- answering ---- */

static enum MHD_Result answer(server *s, struct MHD_Connection *c, srv_resp *rs)
{
    struct MHD_Response *r = rs->stream;
    rs->stream = NULL;
    if (!r) {
        size_t len = rs->body.len;
        char *body = len ? buf_detach(&rs->body) : NULL;
        r = MHD_create_response_from_buffer(len, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!r) {
            free(body);
            return MHD_NO;
        }
        if (len || rs->status != MHD_HTTP_NO_CONTENT)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                    rs->content_type ? rs->content_type : "application/json");
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (rs->allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rs->allow);
    if (rs->retry_after)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (rs->status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (s->o.cors_origin) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, s->o.cors_origin);
        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
    }
    enum MHD_Result ok = MHD_queue_response(c, rs->status ? rs->status : MHD_HTTP_INTERNAL_SERVER_ERROR, r);
    MHD_destroy_response(r);
    buf_free(&rs->body);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size,
                                  void **con_cls)
{
    (void)version;
    server *s = cls;
    pending *pd = *con_cls;
    srv_resp rs;
    memset(&rs, 0, sizeof rs);
    buf_init(&rs.body, 0);
    srv_req rq = {s, c, method, url, NULL, 0};
    if (!pd) {
        pd = calloc(1, sizeof *pd);
        if (!pd)
            return MHD_NO;
        buf_init(&pd->body, SERVER_MAX_BODY);
        *con_cls = pd;
        bool preflight = strcmp(method, "OPTIONS") == 0;
        if (preflight && s->o.cors_origin) {
            pd->answered = true;
            rs.status = MHD_HTTP_NO_CONTENT;
            struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
            if (!r)
                return MHD_NO;
            MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS,
                                    "GET, PUT, POST, DELETE, OPTIONS");
            MHD_add_response_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type, Accept");
            MHD_add_response_header(r, "Access-Control-Max-Age", "600");
            rs.stream = r;
            return answer(s, c, &rs);
        }
        if (strncmp(url, "/api/", 5) != 0 && strcmp(url, "/api") != 0) { /* the web UI: ui.c */
            pd->answered = true;
            return ui_answer(s, c, method, url) ? MHD_YES : MHD_NO;
        }
        bool health =
            strcmp(url, "/api/health") == 0 && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0);
        if (s->o.token && !health && !token_ok(s, srv_header(&rq, MHD_HTTP_HEADER_AUTHORIZATION))) {
            pd->answered = true;
            srv_fail(&rs, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                     "this server needs a token: send Authorization: Bearer TOKEN");
            return answer(s, c, &rs);
        }
        const char *cl = srv_header(&rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > SERVER_MAX_BODY) {
            pd->answered = true;
            srv_fail(&rs, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "the body is larger than %zu bytes",
                     (size_t)SERVER_MAX_BODY);
            return answer(s, c, &rs);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!pd->answered && !pd->too_large && buf_append(&pd->body, upload, *upload_size))
            pd->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    if (pd->answered)
        return MHD_YES;
    pd->answered = true;
    if (pd->too_large) {
        srv_fail(&rs, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "the body is larger than %zu bytes",
                 (size_t)SERVER_MAX_BODY);
        return answer(s, c, &rs);
    }
    rq.body = buf_str(&pd->body);
    rq.body_len = pd->body.len;
    route(&rq, &rs);
    return answer(s, c, &rs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    pending *pd = *con_cls;
    if (pd) {
        buf_free(&pd->body);
        free(pd);
        *con_cls = NULL;
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    server *s = cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    srv_log(s, "http: %s", line);
}

int srv_http_start(server *s, const char *addr, tc_error *e)
{
    char host[256], port[16];
    if (srv_split_addr(addr, host, sizeof host, port, sizeof port))
        return tc_error_set(e, TC_ERR_INPUT, "bad address \"%s\" (want HOST:PORT)", addr);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE},
                    *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai)
        return tc_error_set(e, TC_ERR_INPUT, "cannot resolve %s: %s", host, gai_strerror(gai));
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return tc_error_set(e, TC_ERR_IO, "cannot listen on %s: %s", addr, strerror(err));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        s->api_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
    s->mhd = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC, 0,
        NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)SERVER_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)HTTP_CONN_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (!s->mhd) {
        close(fd);
        return tc_error_set(e, TC_ERR_IO, "cannot start the HTTP server on %s", addr);
    }
    return 0;
}

void srv_http_stop(server *s)
{
    if (!s->mhd)
        return;
    MHD_socket fd = MHD_quiesce_daemon(s->mhd);
    MHD_stop_daemon(s->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    s->mhd = NULL;
}
