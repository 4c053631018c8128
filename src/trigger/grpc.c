/* grpc.c - the gRPC trigger: a test's grpc fields, and one call over HTTP/2
 * with libcurl (prior knowledge on plaintext, ALPN over TLS, a new
 * connection per call), its messages mapped through the test's .proto
 * (see grpc.h). */
#include "grpc.h"
#include "protodyn.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define GRPC_MAX_HEADERS 1000

/* ---- from a test ---- */

static int missing(const res_str *at, const res_trigger *tr, const char *name, tc_error *e)
{
    tc_error_set(e, TC_ERR_INPUT, "trigger %s: missing", name);
    e->line = at->s ? at->line : tr->type_name.line;
    e->col = at->s ? at->col : tr->type_name.col;
    return TC_ERR_INPUT;
}

/* protobufFile naming a readable regular file relative to base_dir: its
 * text, name (the last path element) and folder, in a. */
static bool proto_from_file(const char *base_dir, const char *pf, arena *a, trigger_grpc_request *out)
{
    if (pf && strchr(pf, ';'))
        return false; /* .proto text */
    const char *path = NULL;
    const char *text = trigger_file_text(base_dir, pf, PROTODYN_MAX_TEXT, a, &path);
    if (!text)
        return false;
    const char *slash = strrchr(path, '/');
    out->proto_text = text;
    out->proto_name = arena_strdup(a, slash ? slash + 1 : path);
    out->proto_dir = slash ? arena_strndup(a, path, (size_t)(slash == path ? 1 : slash - path)) : ".";
    return out->proto_name && out->proto_dir;
}

int trigger_grpc_from_test(const res_test *t, const char *base_dir, trigger_interp_fn interp, void *user,
                           arena *a, trigger_grpc_request *out, tc_error *e)
{
    memset(out, 0, sizeof *out);
    const res_trigger *tr = &t->trigger;
    const __typeof__(tr->grpc) *g = &tr->grpc;
    const char *pf = NULL;
    int rc;
    if ((rc = trigger_field(interp, user, a, &g->protobuf_file, "protobufFile", &pf, e)) ||
        (rc = trigger_field(interp, user, a, &g->address, "address", &out->address, e)) ||
        (rc = trigger_field(interp, user, a, &g->method, "method", &out->method, e)) ||
        (rc = trigger_field(interp, user, a, &g->request, "request", &out->request, e)))
        return rc;
    if (!out->address || !*out->address)
        return missing(&g->address, tr, "address", e);
    if (!out->method || !*out->method)
        return missing(&g->method, tr, "method", e);
    if (!pf || !*pf)
        return missing(&g->protobuf_file, tr, "protobufFile", e);
    if (!proto_from_file(base_dir, pf, a, out)) { /* the text itself, as Tracetest writes it to a file */
        out->proto_text = pf;
        out->proto_name = "protobufFile";
        out->proto_dir = !base_dir ? NULL : *base_dir ? base_dir : "."; /* NULL: no imports */
    }
    out->tls = strncasecmp(out->address, "https://", 8) == 0;
    out->metadata = arena_calloc(a, g->n_metadata + 1, sizeof *out->metadata);
    if (!out->metadata)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < g->n_metadata; i++) {
        trigger_kv *kv = &out->metadata[out->n_metadata];
        if ((rc = trigger_field(interp, user, a, &g->metadata[i].key, "metadata key", &kv->key, e)) ||
            (rc = trigger_field(interp, user, a, &g->metadata[i].value, "metadata value", &kv->value, e)))
            return rc;
        if (kv->key && *kv->key) /* Tracetest skips entries without a key */
            out->n_metadata++;
    }
    const res_auth *au = g->auth;
    if (au && au->type.s && *au->type.s) {
        if (strcasecmp(au->type.s, "basic") == 0) {
            out->auth = TRIGGER_AUTH_BASIC;
            if ((rc = trigger_field(interp, user, a, &au->username, "auth username", &out->user, e)) ||
                (rc = trigger_field(interp, user, a, &au->password, "auth password", &out->password, e)))
                return rc;
        } else if (strcasecmp(au->type.s, "bearer") == 0) {
            out->auth = TRIGGER_AUTH_BEARER;
            if ((rc = trigger_field(interp, user, a, &au->token, "auth token", &out->token, e)))
                return rc;
        } else if (strcasecmp(au->type.s, "apiKey") == 0) {
            out->auth = TRIGGER_AUTH_APIKEY;
            if ((rc = trigger_field(interp, user, a, &au->key, "auth key", &out->key, e)) ||
                (rc = trigger_field(interp, user, a, &au->value, "auth value", &out->value, e)))
                return rc;
        } else {
            tc_error_set(e, TC_ERR_INPUT, "trigger auth: unknown type \"%s\" (basic, bearer or apiKey)",
                         au->type.s);
            e->line = au->type.line;
            e->col = au->type.col;
            return TC_ERR_INPUT;
        }
    }
    return 0;
}

/* ---- the call ---- */

typedef struct call {
    trigger_result *r;
    protodyn *pd;
    const char *method;
    bool stream;
    tc_buf raw;  /* bytes of the message being received */
    tc_buf json; /* the body */
    size_t n_msgs;
    size_t cap_headers;
    int grpc_status; /* -1 until seen */
    char grpc_message[512];
    char *error; /* why the answer could not be read (heap) */
} call;

static void call_fail(call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void call_fail(call *c, const char *fmt, ...)
{
    if (c->error)
        return;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->error = strdup(msg);
}

/* Appends a message as JSON to the body: the body itself for a unary
 * call, an element of the array (opened later) for a stream. Past
 * TRIGGER_MAX_BODY only whole messages are kept. */
static void add_message(call *c, const uint8_t *m, size_t n)
{
    tc_buf one;
    tc_error e;
    buf_init(&one, TRIGGER_MAX_BODY);
    int rc = protodyn_decode_response(c->pd, c->method, m, n, &one, &e);
    if (rc == TC_ERR_LIMIT) {
        c->r->truncated = true;
    } else if (rc) {
        call_fail(c, "cannot read response message %zu: %s", c->n_msgs + 1, e.msg);
    } else {
        size_t mark = c->json.len;
        if (!c->stream) {
            buf_reset(&c->json);
            buf_append(&c->json, one.ptr, one.len);
        } else {
            buf_puts(&c->json, c->n_msgs ? ",\n  " : "\n  ");
            for (const char *p = buf_str(&one); *p; p++)
                if (*p == '\n')
                    buf_puts(&c->json, "\n  ");
                else
                    buf_putc(&c->json, *p);
        }
        if (c->json.failed) {
            c->json.failed = false;
            c->json.len = c->stream ? mark : 0;
            if (c->json.ptr)
                c->json.ptr[c->json.len] = 0;
            c->r->truncated = true;
        }
    }
    c->n_msgs++;
    buf_free(&one);
}

/* The body arrives framed: a flag byte, a 4-byte big-endian length, the
 * message. Whole messages are decoded as they complete. */
static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    call *c = user;
    size_t len = size * n;
    if (c->error)
        return 0;
    if (buf_append(&c->raw, p, len)) {
        call_fail(c, "a response message is larger than %zu bytes", TRIGGER_MAX_BODY);
        return 0;
    }
    size_t off = 0;
    const uint8_t *b = (const uint8_t *)c->raw.ptr;
    while (c->raw.len - off >= 5) {
        size_t m = (size_t)b[off + 1] << 24 | (size_t)b[off + 2] << 16 | (size_t)b[off + 3] << 8 | b[off + 4];
        if (b[off] & 1) {
            call_fail(c, "the server sent a compressed message (tracecheck asks for identity)");
            return 0;
        }
        if (m > TRIGGER_MAX_BODY) {
            call_fail(c, "a response message is larger than %zu bytes", TRIGGER_MAX_BODY);
            return 0;
        }
        if (c->raw.len - off - 5 < m)
            break;
        if (!c->r->truncated)
            add_message(c, b + off + 5, m);
        else
            c->n_msgs++; /* read and dropped */
        off += 5 + m;
    }
    if (off) {
        memmove(c->raw.ptr, c->raw.ptr + off, c->raw.len - off);
        c->raw.len -= off;
        c->raw.ptr[c->raw.len] = 0;
    }
    return c->error ? 0 : len;
}

static char *dup_trim(const char *p, size_t n)
{
    while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    return strndup(p, n);
}

static void percent_decode(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
            char hx[3] = {r[1], r[2], 0};
            *w++ = (char)strtol(hx, NULL, 16);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
}

/* Response headers and trailers (libcurl hands both here). */
static size_t on_header(char *p, size_t size, size_t n, void *user)
{
    call *c = user;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        return len;
    const char *colon = memchr(p, ':', len);
    if (!colon || colon == p || c->r->n_headers >= GRPC_MAX_HEADERS)
        return len;
    if (c->r->n_headers == c->cap_headers) {
        size_t cap = c->cap_headers ? c->cap_headers * 2 : 16;
        trigger_kv *h = realloc(c->r->headers, cap * sizeof *h);
        if (!h) {
            call_fail(c, "out of memory reading the response");
            return 0;
        }
        c->r->headers = h;
        c->cap_headers = cap;
    }
    char *k = dup_trim(p, (size_t)(colon - p));
    char *v = dup_trim(colon + 1, len - (size_t)(colon - p) - 1);
    if (!k || !v) {
        free(k);
        free(v);
        call_fail(c, "out of memory reading the response");
        return 0;
    }
    for (char *q = k; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    if (strcmp(k, "grpc-status") == 0) {
        char *end;
        long st = strtol(v, &end, 10);
        c->grpc_status = *v && !*end && st >= 0 && st < 1000 ? (int)st : 2; /* unreadable: UNKNOWN */
    } else if (strcmp(k, "grpc-message") == 0) {
        snprintf(c->grpc_message, sizeof c->grpc_message, "%s", v);
        percent_decode(c->grpc_message);
        percent_decode(v);
    }
    c->r->headers[c->r->n_headers++] = (trigger_kv){k, v};
    return len;
}

static const char *code_name(int code)
{
    static const char *const names[] = {
        "OK",        "CANCELLED",       "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS",  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED",   "OUT_OF_RANGE",    "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
        "DATA_LOSS", "UNAUTHENTICATED",
    };
    return code >= 0 && code <= 16 ? names[code] : "UNKNOWN";
}

static void result_fail(trigger_result *r, const char *msg)
{
    r->ok = false;
    r->status = 0;
    free(r->error);
    r->error = strdup(msg);
}

static int add_attr(trigger_result *r, const char *k, const char *v)
{
    trigger_kv *a = realloc(r->attrs, (r->n_attrs + 1) * sizeof *a);
    if (!a)
        return TC_ERR_NOMEM;
    r->attrs = a;
    char *kk = strdup(k), *vv = strdup(v);
    if (!kk || !vv) {
        free(kk);
        free(vv);
        return TC_ERR_NOMEM;
    }
    r->attrs[r->n_attrs++] = (trigger_kv){kk, vv};
    return 0;
}

/* Appends "name: value" to the list; false when out of memory. */
static bool add_line(struct curl_slist **l, tc_buf *line, const char *k, const char *v)
{
    buf_reset(line);
    if (v && *v)
        buf_printf(line, "%s: %s", k, v);
    else
        buf_printf(line, "%s;", k); /* curl's way to send an empty value */
    struct curl_slist *nl = curl_slist_append(*l, buf_str(line));
    if (!nl)
        return false;
    *l = nl;
    return true;
}

/* host:port (or a URL) of the address without a scheme, into b. */
static const char *authority(const char *address, tc_buf *b)
{
    const char *s = strstr(address, "://");
    s = s ? s + 3 : address;
    size_t n = strcspn(s, "/");
    buf_append(b, s, n);
    return buf_str(b);
}

static void run_call(const trigger_grpc_request *req, protodyn *pd, const char *path, bool stream,
                     const uint8_t trace_id[TRACE_ID_LEN], const uint8_t span_id[SPAN_ID_LEN], bool b3,
                     const tc_buf *frame, trigger_result *out)
{
    char tid[33], sid[17], val[128], errbuf[CURL_ERROR_SIZE] = "", msg[1024];
    hex_encode(trace_id, TRACE_ID_LEN, tid);
    hex_encode(span_id, SPAN_ID_LEN, sid);
    tc_buf line, url, auth;
    buf_init(&line, 1 << 20);
    buf_init(&url, 1 << 16);
    buf_init(&auth, 1 << 16);
    const char *host = authority(req->address, &auth);
    buf_printf(&url, "%s://%s%s", req->tls ? "https" : "http", host, path);
    struct curl_slist *hl = NULL;
    bool ok = add_line(&hl, &line, "Content-Type", "application/grpc") &&
              add_line(&hl, &line, "TE", "trailers") &&
              add_line(&hl, &line, "grpc-accept-encoding", "identity");
    snprintf(val, sizeof val, "00-%s-%s-01", tid, sid);
    ok = ok && add_line(&hl, &line, "traceparent", val);
    if (b3) {
        snprintf(val, sizeof val, "%s-%s-1", tid, sid);
        ok = ok && add_line(&hl, &line, "b3", val);
    }
    for (size_t i = 0; ok && i < req->n_metadata; i++)
        ok = add_line(&hl, &line, req->metadata[i].key, req->metadata[i].value);
    tc_buf cred;
    buf_init(&cred, 1 << 16);
    switch (req->auth) {
    case TRIGGER_AUTH_BASIC: {
        tc_buf up;
        buf_init(&up, 1 << 16);
        buf_printf(&up, "%s:%s", req->user ? req->user : "", req->password ? req->password : "");
        static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *s = (const unsigned char *)buf_str(&up);
        buf_puts(&cred, "Basic ");
        for (size_t i = 0; i < up.len; i += 3) {
            uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < up.len ? (uint32_t)s[i + 1] << 8 : 0) |
                         (i + 2 < up.len ? s[i + 2] : 0);
            buf_putc(&cred, b64[v >> 18 & 63]);
            buf_putc(&cred, b64[v >> 12 & 63]);
            buf_putc(&cred, i + 1 < up.len ? b64[v >> 6 & 63] : '=');
            buf_putc(&cred, i + 2 < up.len ? b64[v & 63] : '=');
        }
        buf_free(&up);
        ok = ok && add_line(&hl, &line, "authorization", buf_str(&cred));
        break;
    }
    case TRIGGER_AUTH_BEARER:
        ok = ok && add_line(&hl, &line, "authorization", req->token ? req->token : "");
        break;
    case TRIGGER_AUTH_APIKEY:
        if (req->key && *req->key)
            ok = ok && add_line(&hl, &line, req->key, req->value);
        break;
    default:
        break;
    }
    buf_free(&cred);
    buf_free(&line);

    call c = {.r = out, .pd = pd, .method = req->method, .stream = stream, .grpc_status = -1};
    buf_init(&c.raw, TRIGGER_MAX_BODY + 5);
    buf_init(&c.json, TRIGGER_MAX_BODY);
    CURL *h = ok ? curl_easy_init() : NULL;
    if (h) {
        long timeout = req->timeout_ms > 0 ? req->timeout_ms : (long)TRIGGER_DEFAULT_TIMEOUT_MS;
        curl_easy_setopt(h, CURLOPT_URL, buf_str(&url));
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                         req->tls ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
        /* a new connection per call: libcurl up to 7.88 fails the second
           request of an easy handle on a reused HTTP/2 connection */
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, frame->ptr);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)frame->len);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         timeout < TRIGGER_CONNECT_TIMEOUT_MS ? timeout : (long)TRIGGER_CONNECT_TIMEOUT_MS);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "tracecheck");
        if (!req->ssl_verification) {
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        CURLcode rc = curl_easy_perform(h);
        out->end_ns = trigger_unix_ns();
        long http = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
        curl_easy_cleanup(h);
        const char *why = *errbuf ? errbuf : curl_easy_strerror(rc);
        if (c.error) {
            snprintf(msg, sizeof msg, "gRPC %s at %s: %s", path, host, c.error);
        } else if (rc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(msg, sizeof msg, "gRPC %s at %s: timed out after %ld ms (%s)", path, host, timeout, why);
        } else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
            snprintf(msg, sizeof msg, "gRPC %s: cannot connect to %s: %s", path, host, why);
        } else if (rc != CURLE_OK && c.grpc_status < 0) {
            bool proto = rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM || rc == CURLE_RECV_ERROR ||
                         rc == CURLE_GOT_NOTHING || rc == CURLE_WEIRD_SERVER_REPLY;
            snprintf(msg, sizeof msg, "gRPC %s at %s: %s%s", path, host, why,
                     !proto     ? ""
                     : req->tls ? " (is it a gRPC server with TLS?)"
                                : " (is it a gRPC server without TLS?)");
        } else if (c.grpc_status < 0) {
            snprintf(msg, sizeof msg, "gRPC %s at %s: HTTP %ld without a gRPC status (is it a gRPC server?)",
                     path, host, http);
        } else if (c.raw.len && c.grpc_status == 0) {
            snprintf(msg, sizeof msg, "gRPC %s at %s: the answer ends inside a message (%zu bytes left)",
                     path, host, c.raw.len);
        } else {
            char code[16];
            snprintf(code, sizeof code, "%d", c.grpc_status);
            out->ok = true;
            out->status = c.grpc_status;
            msg[0] = 0;
            if (add_attr(out, "tracetest.run.trigger.grpc.response_status_code", code) ||
                add_attr(out, "tracetest.run.trigger.grpc.response_status", code_name(c.grpc_status)))
                snprintf(msg, sizeof msg, "out of memory");
        }
        if (msg[0])
            result_fail(out, msg);
    } else {
        result_fail(out, ok ? "cannot start an HTTP/2 client" : "out of memory");
    }
    if (stream && (c.n_msgs || (out->ok && out->status == 0))) { /* the array of the stream's messages */
        tc_buf arr;
        buf_init(&arr, TRIGGER_MAX_BODY + 8);
        buf_puts(&arr, c.n_msgs ? "[" : "[]");
        buf_append(&arr, buf_str(&c.json), c.json.len);
        if (c.n_msgs)
            buf_puts(&arr, "\n]");
        buf_free(&c.json);
        c.json = arr;
    }
    out->body_len = c.json.len;
    out->body = buf_detach(&c.json);
    buf_free(&c.json);
    buf_free(&c.raw);
    free(c.error);
    curl_slist_free_all(hl);
    buf_free(&url);
    buf_free(&auth);
}

void trigger_grpc_run(const trigger_grpc_request *req, const uint8_t trace_id[TRACE_ID_LEN],
                      const uint8_t span_id[SPAN_ID_LEN], bool b3, trigger_result *out)
{
    memset(out, 0, sizeof *out);
    trigger_curl_init();
    out->start_ns = trigger_unix_ns();
    protodyn *pd = NULL;
    char *path = NULL;
    bool server_streaming = false, client_streaming = false;
    tc_error e;
    tc_buf frame;
    buf_init(&frame, TRIGGER_MAX_BODY);
    char msg[TC_ERROR_MSG_MAX + 64];
    buf_append(&frame, "\0\0\0\0\0", 5);
    const char *rq = req->request ? req->request : "";
    if (!req->address || !*req->address) {
        result_fail(out, "gRPC trigger: no address");
    } else if (protodyn_load(req->proto_name, req->proto_text, req->proto_dir, &pd, &e)) {
        snprintf(msg, sizeof msg, "cannot read the .proto: %s", e.msg);
        result_fail(out, msg);
    } else if (protodyn_method(pd, req->method, &path, &server_streaming, &client_streaming, &e)) {
        result_fail(out, e.msg);
    } else if (client_streaming) {
        snprintf(msg, sizeof msg, "gRPC %s: client-streaming methods are not supported (one request message)",
                 path);
        result_fail(out, msg);
    } else if (protodyn_encode_request(pd, req->method, rq, strlen(rq), &frame, &e)) {
        result_fail(out, e.msg);
    } else {
        size_t n = frame.len - 5;
        frame.ptr[1] = (char)(n >> 24);
        frame.ptr[2] = (char)(n >> 16);
        frame.ptr[3] = (char)(n >> 8);
        frame.ptr[4] = (char)n;
        run_call(req, pd, path, server_streaming, trace_id, span_id, b3, &frame, out);
    }
    if (!out->end_ns)
        out->end_ns = trigger_unix_ns();
    if (!out->body)
        out->body = strdup("");
    if (!out->ok && !out->error)
        out->error = strdup("gRPC trigger: out of memory");
    buf_free(&frame);
    free(path);
    protodyn_free(&pd);
}

int trigger_grpc_describe(const trigger_grpc_request *req, tc_buf *out)
{
    buf_printf(out, "gRPC %s %s", req->address ? req->address : "", req->method ? req->method : "");
    for (size_t i = 0; i < req->n_metadata; i++) {
        const char *k = req->metadata[i].key;
        bool secret = strcasecmp(k, "authorization") == 0 || strcasecmp(k, "x-api-key") == 0 ||
                      strcasecmp(k, "api-key") == 0 || strcasecmp(k, "cookie") == 0 ||
                      (req->auth == TRIGGER_AUTH_APIKEY && req->key && strcasecmp(k, req->key) == 0);
        buf_printf(out, "\n%s: %s", k,
                   secret                   ? "****"
                   : req->metadata[i].value ? req->metadata[i].value
                                            : "");
    }
    switch (req->auth) {
    case TRIGGER_AUTH_BASIC:
        buf_printf(out, "\nauth: basic %s:****", req->user ? req->user : "");
        break;
    case TRIGGER_AUTH_BEARER:
        buf_puts(out, "\nauth: bearer ****");
        break;
    case TRIGGER_AUTH_APIKEY:
        buf_printf(out, "\nauth: apiKey %s=****", req->key ? req->key : "");
        break;
    default:
        break;
    }
    if (req->request && *req->request)
        buf_printf(out, "\n\n%s", req->request);
    return out->failed ? TC_ERR_NOMEM : 0;
}
