/* client.c - the HTTP client of `tracecheck serve`'s REST API (see
 * client.h): requests on one reused libcurl handle, error documents, the
 * event-stream reader and the conversion of a run back into a report. */
#include "client.h"

#include "cli.h"
#include "core/buf.h"
#include "core/trace.h"
#include "core/value.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CLIENT_MAX_TOKEN 4096
#define CLIENT_MAX_ERROR_BODY ((size_t)1 << 20) /* an error answer on an event stream */

struct client {
    CURL *h;
    char *url;   /* base URL, no trailing slash */
    char *token; /* NULL: none */
    char curl_err[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- settings ---- */

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

bool client_server_configured(const char *server_flag)
{
    return (server_flag && *server_flag) || env_nonempty("TRACECHECK_SERVER");
}

/* Trims ASCII whitespace at both ends, in place. */
static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static bool token_ok(const char *t)
{
    for (; *t; t++)
        if ((unsigned char)*t < 0x21 || *t == 0x7f)
            return false;
    return true;
}

/* The first line of a token file, trimmed. */
static int read_token_file(const char *cmd, const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_usage_error("%s: --token-file %s: %s", cmd, path, strerror(errno));
    char line[CLIENT_MAX_TOKEN + 2];
    size_t n = fread(line, 1, sizeof line - 1, f);
    bool err = ferror(f);
    fclose(f);
    if (err)
        return cli_usage_error("%s: --token-file %s: read error", cmd, path);
    line[n] = '\0';
    char *nl = strpbrk(line, "\r\n");
    if (nl)
        *nl = '\0';
    else if (n > CLIENT_MAX_TOKEN)
        return cli_usage_error("%s: --token-file %s: the token is longer than %d bytes", cmd, path,
                               CLIENT_MAX_TOKEN);
    char *t = trim(line);
    if (!*t)
        return cli_usage_error("%s: --token-file %s: the file holds no token", cmd, path);
    if (!token_ok(t))
        return cli_usage_error("%s: --token-file %s: the token has spaces or control characters", cmd, path);
    if (!(*out = strdup(t)))
        return cli_usage_error("out of memory");
    return 0;
}

int client_from_flags(const char *cmd, const char *server_flag, const char *token_file, client **out)
{
    const char *server = server_flag && *server_flag ? server_flag : env_nonempty("TRACECHECK_SERVER");
    if (!server)
        server = CLIENT_DEFAULT_SERVER;
    const char *scheme = strstr(server, "://");
    if (scheme && strncasecmp(server, "http://", 7) != 0 && strncasecmp(server, "https://", 8) != 0)
        return cli_usage_error("%s: the server URL must be http:// or https://, not '%s'", cmd, server);
    if (!*(scheme ? scheme + 3 : server) || strpbrk(server, " \t\r\n?#"))
        return cli_usage_error("%s: '%s' is not a server URL", cmd, server);
    char *token = NULL;
    if (token_file) {
        int rc = read_token_file(cmd, token_file, &token);
        if (rc)
            return rc;
    } else if (env_nonempty("TRACECHECK_TOKEN")) {
        char *t = strdup(getenv("TRACECHECK_TOKEN"));
        if (!t)
            return cli_usage_error("out of memory");
        char *tt = trim(t);
        if (*tt && !token_ok(tt)) {
            free(t);
            return cli_usage_error("%s: TRACECHECK_TOKEN has spaces or control characters", cmd);
        }
        if (strlen(tt) > CLIENT_MAX_TOKEN) {
            free(t);
            return cli_usage_error("%s: TRACECHECK_TOKEN is longer than %d bytes", cmd, CLIENT_MAX_TOKEN);
        }
        bool want = *tt != '\0';
        token = want ? strdup(tt) : NULL;
        free(t);
        if (want && !token)
            return cli_usage_error("out of memory");
    }
    pthread_once(&curl_once, curl_init_once);
    client *c = calloc(1, sizeof *c);
    tc_buf u;
    buf_init(&u, 8192);
    if (!scheme)
        buf_puts(&u, "http://");
    buf_puts(&u, server);
    while (u.len && u.ptr[u.len - 1] == '/')
        u.ptr[--u.len] = '\0';
    if (!c || u.failed || !(c->h = curl_easy_init())) {
        buf_free(&u);
        free(token);
        free(c);
        return cli_usage_error("%s: out of memory (or the server URL is too long)", cmd);
    }
    c->url = buf_detach(&u);
    c->token = token;
    *out = c;
    return 0;
}

void client_close(client **cp)
{
    client *c = cp ? *cp : NULL;
    if (!c)
        return;
    if (c->h)
        curl_easy_cleanup(c->h);
    free(c->url);
    if (c->token) {
        memset(c->token, 0, strlen(c->token));
        free(c->token);
    }
    free(c);
    *cp = NULL;
}

const char *client_url(const client *c)
{
    return c->url;
}

/* ---- one request ---- */

typedef struct sink {
    tc_buf body;
    char content_type[96];
} sink;

static size_t on_body(char *p, size_t sz, size_t n, void *user)
{
    sink *s = user;
    return buf_append(&s->body, p, sz * n) ? 0 : sz * n;
}

/* Keeps the Content-Type of the answer, without parameters. */
static void keep_content_type(char *dst, size_t cap, const char *p, size_t len)
{
    if (len < 13 || strncasecmp(p, "content-type:", 13) != 0)
        return;
    p += 13;
    len -= 13;
    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    size_t k = 0;
    while (k < len && k + 1 < cap && p[k] != ';' && p[k] != '\r' && p[k] != '\n' && p[k] != ' ') {
        dst[k] = (char)tolower((unsigned char)p[k]);
        k++;
    }
    dst[k] = '\0';
}

static size_t on_header(char *p, size_t sz, size_t n, void *user)
{
    sink *s = user;
    keep_content_type(s->content_type, sizeof s->content_type, p, sz * n);
    return sz * n;
}

/* The options every request shares; *hdrs gets the header list to free. */
static int setup(client *c, const char *method, const char *path, const char *content_type,
                 const char *accept, struct curl_slist **hdrs, tc_error *e)
{
    CURL *h = c->h;
    curl_easy_reset(h);
    tc_buf url;
    buf_init(&url, 65536);
    buf_puts(&url, c->url);
    buf_puts(&url, path);
    if (url.failed) {
        buf_free(&url);
        return tc_error_set(e, TC_ERR_LIMIT, "the request URL is too long");
    }
    curl_easy_setopt(h, CURLOPT_URL, buf_str(&url));
    buf_free(&url); /* libcurl copies it */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CLIENT_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tracecheck/" TRACECHECK_VERSION);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    c->curl_err[0] = '\0';
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    struct curl_slist *l = NULL, *t;
    char line[CLIENT_MAX_TOKEN + 64];
    bool ok = true;
    if (c->token) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", c->token);
        ok = ok && (t = curl_slist_append(l, line)) && (l = t);
    }
    if (content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        ok = ok && (t = curl_slist_append(l, line)) && (l = t);
    }
    if (accept) {
        snprintf(line, sizeof line, "Accept: %s", accept);
        ok = ok && (t = curl_slist_append(l, line)) && (l = t);
    }
    ok = ok && (t = curl_slist_append(l, "Expect:")) && (l = t);
    memset(line, 0, sizeof line);
    if (!ok) {
        curl_slist_free_all(l);
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
    *hdrs = l;
    return 0;
}

/* A failed transfer as a message: where, and curl's reason. */
static int transfer_error(client *c, CURLcode rc, tc_error *e)
{
    const char *why = c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        return tc_error_set(e, TC_ERR_IO, "cannot reach the server at %s: %s", c->url, why);
    case CURLE_OPERATION_TIMEDOUT:
        return tc_error_set(e, TC_ERR_IO, "the server at %s did not answer in time: %s", c->url, why);
    default: return tc_error_set(e, TC_ERR_IO, "the connection to the server at %s failed: %s", c->url, why);
    }
}

int client_request(client *c, const char *method, const char *path, const char *content_type,
                   const char *accept, const char *body, size_t len, client_response *out, tc_error *e)
{
    struct curl_slist *hdrs = NULL;
    int rc = setup(c, method, path, body ? content_type : NULL, accept, &hdrs, e);
    if (rc)
        return rc;
    sink s;
    memset(&s, 0, sizeof s);
    buf_init(&s.body, CLIENT_MAX_BODY);
    CURL *h = c->h;
    if (body || strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, CLIENT_REQUEST_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
    CURLcode cc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    if (cc == CURLE_WRITE_ERROR && s.body.failed) {
        buf_free(&s.body);
        return tc_error_set(e, TC_ERR_LIMIT, "the server's answer is larger than %zu MiB",
                            CLIENT_MAX_BODY >> 20);
    }
    if (cc != CURLE_OK) {
        buf_free(&s.body);
        return transfer_error(c, cc, e);
    }
    memset(out, 0, sizeof *out);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    out->len = s.body.len;
    out->body = s.body.len ? buf_detach(&s.body) : NULL;
    buf_free(&s.body);
    memcpy(out->content_type, s.content_type, sizeof out->content_type);
    return 0;
}

void client_response_free(client_response *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

json_t *client_response_json(const client_response *r)
{
    if (!r->body || !r->len)
        return NULL;
    return json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
}

/* ---- API errors ---- */

static const char *status_phrase(long st)
{
    switch (st) {
    case 400: return "bad request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 409: return "conflict";
    case 413: return "too large";
    case 415: return "unsupported media type";
    case 500: return "internal error";
    case 502: return "bad gateway";
    case 503: return "unavailable";
    case 504: return "gateway timeout";
    default: return "unexpected answer";
    }
}

static int json_int_field(const json_t *o, const char *k, int dflt)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

void client_api_error_of(const client_response *r, client_api_error *out)
{
    memset(out, 0, sizeof *out);
    out->document = -1;
    snprintf(out->code, sizeof out->code, "%s", status_phrase(r->status));
    json_t *j = client_response_json(r);
    const json_t *err = json_object_get(j, "error");
    const char *msg = json_string_value(json_object_get(err, "message"));
    const char *code = json_string_value(json_object_get(err, "code"));
    if (msg) {
        snprintf(out->message, sizeof out->message, "%s", msg);
        if (code)
            snprintf(out->code, sizeof out->code, "%s", code);
        out->line = json_int_field(err, "line", 0);
        out->col = json_int_field(err, "column", 0);
        out->document = json_int_field(err, "document", -1);
    } else { /* not an API error document (a proxy's page, say): its first line */
        size_t n = 0;
        while (r->body && n < r->len && n < 200 && r->body[n] != '\n' && r->body[n] != '\r')
            n++;
        if (n)
            snprintf(out->message, sizeof out->message, "HTTP %ld: %.*s", r->status, (int)n, r->body);
        else
            snprintf(out->message, sizeof out->message, "HTTP %ld", r->status);
    }
    json_decref(j);
}

int client_report_error(const client *c, const char *what, const client_response *r)
{
    client_api_error ae;
    client_api_error_of(r, &ae);
    if (r->status == 401) {
        if (c->token)
            fprintf(stderr,
                    "tracecheck: %s: the server at %s refused the token (%s); give the right one "
                    "with --token-file FILE or TRACECHECK_TOKEN\n",
                    what, c->url, ae.message);
        else
            fprintf(stderr,
                    "tracecheck: %s: the server at %s wants a token (%s); give it with "
                    "--token-file FILE or TRACECHECK_TOKEN\n",
                    what, c->url, ae.message);
        return EXIT_RUN;
    }
    if (r->status == 503) {
        fprintf(stderr, "tracecheck: %s: the server at %s is unavailable: %s\n", what, c->url, ae.message);
        return EXIT_RUN;
    }
    fprintf(stderr, "tracecheck: %s: %s (%ld %s)\n", what, ae.message, r->status, ae.code);
    return r->status == 403 || r->status >= 500 || r->status < 400 ? EXIT_RUN : EXIT_USAGE;
}

int client_report_failure(int rc, const tc_error *e)
{
    fprintf(stderr, "tracecheck: %s\n", e->msg);
    return rc == TC_ERR_LIMIT || rc == TC_ERR_INPUT ? EXIT_USAGE : EXIT_RUN;
}

int client_escape(tc_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
            buf_putc(b, (char)ch);
        else
            buf_printf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
    }
    return b->failed ? TC_ERR_LIMIT : 0;
}

/* ---- Server-Sent Events ---- */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

bool client_interrupted(void)
{
    return interrupted != 0;
}

typedef struct sse {
    client *c;
    tc_buf line;    /* the line being read */
    tc_buf data;    /* the event's data lines */
    char event[64]; /* the event's type, "" for "message" */
    bool cr;        /* the last byte was \r: a \n right after it ends no line */
    bool stopped;   /* on_event asked to stop */
    bool too_large; /* a line or an event past CLIENT_MAX_BODY */
    long status;    /* 0 until the first byte of the body */
    tc_buf err;     /* the body of an answer that is not 200 */
    char content_type[96];
    client_event_fn fn;
    void *user;
} sse;

static void sse_dispatch(sse *s)
{
    if (s->data.len) {
        s->data.ptr[--s->data.len] = '\0'; /* the last data line's \n */
        if (s->fn(s->user, s->event[0] ? s->event : "message", buf_str(&s->data), s->data.len))
            s->stopped = true;
    }
    buf_reset(&s->data);
    s->event[0] = '\0';
}

static void sse_line(sse *s, const char *p, size_t n)
{
    if (n == 0) {
        sse_dispatch(s);
        return;
    }
    if (p[0] == ':') /* a comment: keep-alive */
        return;
    const char *colon = memchr(p, ':', n);
    size_t fl = colon ? (size_t)(colon - p) : n;
    const char *v = colon ? colon + 1 : p + n;
    size_t vl = colon ? n - fl - 1 : 0;
    if (vl && *v == ' ') {
        v++;
        vl--;
    }
    if (fl == 5 && memcmp(p, "event", 5) == 0) {
        size_t k = vl < sizeof s->event - 1 ? vl : sizeof s->event - 1;
        memcpy(s->event, v, k);
        s->event[k] = '\0';
    } else if (fl == 4 && memcmp(p, "data", 4) == 0) {
        if (buf_append(&s->data, v, vl) || buf_putc(&s->data, '\n'))
            s->too_large = true;
    } /* id, retry and unknown fields: nothing to do */
}

static size_t on_stream(char *p, size_t sz, size_t n, void *user)
{
    sse *s = user;
    size_t len = sz * n;
    if (!s->status)
        curl_easy_getinfo(s->c->h, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status != 200) {
        buf_append(&s->err, p, len); /* capped: the rest is dropped */
        return len;
    }
    size_t i = 0;
    while (i < len && !s->stopped && !s->too_large) {
        if (s->cr && p[i] == '\n') {
            s->cr = false;
            i++;
            continue;
        }
        s->cr = false;
        size_t j = i;
        while (j < len && p[j] != '\n' && p[j] != '\r')
            j++;
        if (buf_append(&s->line, p + i, j - i)) {
            s->too_large = true;
            break;
        }
        if (j == len)
            break;
        s->cr = p[j] == '\r';
        sse_line(s, buf_str(&s->line), s->line.len);
        buf_reset(&s->line);
        i = j + 1;
    }
    return s->stopped || s->too_large ? 0 : len;
}

static size_t on_stream_header(char *p, size_t sz, size_t n, void *user)
{
    sse *s = user;
    keep_content_type(s->content_type, sizeof s->content_type, p, sz * n);
    return sz * n;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int client_events(client *c, const char *path, client_event_fn on_event, client_tick_fn tick, void *user,
                  client_response *err_body, tc_error *e)
{
    memset(err_body, 0, sizeof *err_body);
    struct curl_slist *hdrs = NULL;
    int rc = setup(c, "GET", path, NULL, "text/event-stream", &hdrs, e);
    if (rc)
        return rc;
    sse s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.fn = on_event;
    s.user = user;
    buf_init(&s.line, CLIENT_MAX_BODY);
    buf_init(&s.data, CLIENT_MAX_BODY);
    buf_init(&s.err, CLIENT_MAX_ERROR_BODY);
    CURL *h = c->h;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_stream_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, CLIENT_STREAM_IDLE_S);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL); /* events as they come, not compressed in blocks */

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &sa, &old);

    CURLcode cc = CURLE_OK;
    CURLM *m = curl_multi_init();
    if (!m || curl_multi_add_handle(m, h) != CURLM_OK) {
        rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    } else {
        int running = 1;
        uint64_t last_tick = 0;
        while (running && !interrupted) {
            if (curl_multi_perform(m, &running) != CURLM_OK)
                break;
            if (!running)
                break;
            curl_multi_poll(m, NULL, 0, 100, NULL);
            uint64_t now = mono_ms();
            if (tick && now - last_tick >= 100) {
                tick(user);
                last_tick = now;
            }
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)))
            if (msg->msg == CURLMSG_DONE)
                cc = msg->data.result;
        curl_multi_remove_handle(m, h);
    }
    if (m)
        curl_multi_cleanup(m);
    sigaction(SIGINT, &old, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);

    if (!rc) {
        if (interrupted)
            rc = tc_error_set(e, TC_ERR_INPUT, "interrupted");
        else if (s.too_large)
            rc = tc_error_set(e, TC_ERR_LIMIT, "an event of the server is larger than %zu MiB",
                              CLIENT_MAX_BODY >> 20);
        else if (cc != CURLE_OK && !s.stopped)
            rc =
                cc == CURLE_OPERATION_TIMEDOUT
                    ? tc_error_set(e, TC_ERR_IO, "the event stream of the server at %s went silent for %ld s",
                                   c->url, CLIENT_STREAM_IDLE_S)
                    : transfer_error(c, cc, e);
    }
    if (!rc) {
        if (!s.stopped && s.line.len) /* a last line without its end */
            sse_line(&s, buf_str(&s.line), s.line.len);
        if (!s.status)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s.status);
        err_body->status = s.status;
        memcpy(err_body->content_type, s.content_type, sizeof err_body->content_type);
        if (s.status != 200 && s.err.len) {
            err_body->len = s.err.len;
            err_body->body = buf_detach(&s.err);
        }
    }
    buf_free(&s.line);
    buf_free(&s.data);
    buf_free(&s.err);
    return rc;
}

/* ---- a run as a report ---- */

bool client_state_final(const char *st)
{
    static const char *const final[] = {"FINISHED",          "TRIGGER_FAILED", "TRACE_FAILED",
                                        "EVALUATION_FAILED", "INTERRUPTED",    "CANCELLED"};
    for (size_t i = 0; st && i < sizeof final / sizeof final[0]; i++)
        if (strcmp(st, final[i]) == 0)
            return true;
    return false;
}

/* A string field, copied into a; NULL when absent, null or (with
 * empty_null) "". */
static const char *str_field(arena *a, const json_t *o, const char *k, bool empty_null)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s || (empty_null && !*s))
        return NULL;
    return arena_strdup(a, s);
}

static bool bool_field(const json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k));
}

static double num_field(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : 0;
}

/* A span of a report: its id, name and service, all a report reads. */
static const trace_span *report_span(arena *a, const json_t *j)
{
    const char *id = json_string_value(json_object_get(j, "span_id"));
    if (!id)
        return NULL;
    trace_span *sp = arena_calloc(a, 1, sizeof *sp);
    trace_resource *res = arena_calloc(a, 1, sizeof *res);
    if (!sp || !res)
        return NULL;
    if (strlen(id) == 2 * SPAN_ID_LEN)
        hex_decode(id, 2 * SPAN_ID_LEN, sp->span_id, SPAN_ID_LEN);
    const char *name = str_field(a, j, "name", false);
    sp->name = name ? name : "";
    sp->trace_state = "";
    sp->status_message = "";
    const char *svc = str_field(a, j, "service", true);
    if (svc) {
        tc_attr *at = arena_calloc(a, 1, sizeof *at);
        if (!at)
            return NULL;
        at->key = "service.name";
        at->key_len = 12;
        at->value.type = TC_V_STRING;
        at->value.len = (uint32_t)strlen(svc);
        at->value.u.str = svc;
        res->attrs = at;
        res->n_attrs = 1;
    }
    sp->resource = res;
    return sp;
}

static int specs_from_json(arena *a, const json_t *results, spec_run *run)
{
    const json_t *specs = json_object_get(results, "specs");
    size_t n = json_array_size(specs);
    run->specs = arena_calloc(a, n ? n : 1, sizeof *run->specs);
    if (!run->specs)
        return TC_ERR_NOMEM;
    run->n_specs = (uint32_t)n;
    bool all = true;
    for (size_t i = 0; i < n; i++) {
        const json_t *js = json_array_get(specs, i);
        spec_result *r = &run->specs[i];
        r->name = str_field(a, js, "name", false);
        r->selector = str_field(a, js, "selector", false);
        r->passed = bool_field(js, "passed");
        r->error = str_field(a, js, "error", false);
        r->n_selected = (uint32_t)num_field(js, "selected_spans");
        const json_t *spans = json_object_get(js, "spans");
        size_t ns = json_array_size(spans);
        r->spans = arena_calloc(a, ns ? ns : 1, sizeof *r->spans);
        if (!r->spans)
            return TC_ERR_NOMEM;
        r->n_spans = (uint32_t)ns;
        for (size_t k = 0; k < ns; k++) {
            const json_t *jsp = json_array_get(spans, k);
            spec_span_result *sr = &r->spans[k];
            sr->span = report_span(a, jsp);
            sr->passed = bool_field(jsp, "passed");
            const json_t *checks = json_object_get(jsp, "assertions");
            size_t nc = json_array_size(checks);
            sr->checks = arena_calloc(a, nc ? nc : 1, sizeof *sr->checks);
            if (!sr->checks)
                return TC_ERR_NOMEM;
            sr->n_checks = (uint32_t)nc;
            for (size_t m = 0; m < nc; m++) {
                const json_t *jc = json_array_get(checks, m);
                spec_check *ck = &sr->checks[m];
                ck->assertion = str_field(a, jc, "assertion", false);
                ck->passed = bool_field(jc, "passed");
                ck->observed = str_field(a, jc, "observed", false);
                ck->expected = str_field(a, jc, "expected", false);
                ck->error = str_field(a, jc, "error", false);
            }
        }
        if (!r->passed) {
            run->n_failed++;
            all = false;
        }
    }
    const json_t *outs = json_object_get(results, "outputs");
    size_t no = json_array_size(outs);
    run->outputs = arena_calloc(a, no ? no : 1, sizeof *run->outputs);
    if (!run->outputs)
        return TC_ERR_NOMEM;
    run->n_outputs = (uint32_t)no;
    for (size_t i = 0; i < no; i++) {
        const json_t *jo = json_array_get(outs, i);
        run->outputs[i].name = str_field(a, jo, "name", false);
        run->outputs[i].value = str_field(a, jo, "value", false);
        run->outputs[i].error = str_field(a, jo, "error", false);
        if (run->outputs[i].error)
            all = false;
    }
    const json_t *p = json_object_get(results, "passed");
    run->passed = json_is_boolean(p) ? json_is_true(p) : all;
    return 0;
}

/* RFC 3339 UTC ("2026-12-03T12:00:00.123Z") to Unix milliseconds; -1 when
 * it is not one. */
static int64_t rfc3339_ms(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int frac = 0, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    const char *p = s + n;
    if (*p == '.') {
        int digits = 0;
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
        for (; digits < 3; digits++)
            frac *= 10;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + frac;
}

/* The report's timeline, {"STATE": ms after CREATED}: the results' own,
 * else made from the run's timeline [{"state","at"}]. */
static const char *timeline_of(arena *a, const json_t *results, const json_t *run)
{
    tc_buf b;
    buf_init(&b, 1 << 16);
    const json_t *tl = json_object_get(results, "timeline");
    if (json_is_object(tl)) {
        const char *k;
        const json_t *v;
        buf_putc(&b, '{');
        json_object_foreach((json_t *)tl, k, v)
        {
            buf_puts(&b, b.len > 1 ? "," : "");
            buf_json_string(&b, k, strlen(k));
            buf_printf(&b, ":%.3f", json_is_number(v) ? json_number_value(v) : 0.0);
        }
        buf_putc(&b, '}');
    } else {
        tl = json_object_get(run, "timeline");
        size_t n = json_array_size(tl);
        int64_t t0 = -1;
        for (size_t i = 0; i < n && t0 < 0; i++) {
            const json_t *x = json_array_get(tl, i);
            const char *st = json_string_value(json_object_get(x, "state"));
            if (st && strcmp(st, "CREATED") == 0)
                t0 = rfc3339_ms(json_string_value(json_object_get(x, "at")));
        }
        if (t0 < 0 || n == 0) {
            buf_free(&b);
            return NULL;
        }
        buf_putc(&b, '{');
        bool after = false;
        for (size_t i = 0; i < n; i++) {
            const json_t *x = json_array_get(tl, i);
            const char *st = json_string_value(json_object_get(x, "state"));
            int64_t at = rfc3339_ms(json_string_value(json_object_get(x, "at")));
            if (!st || at < 0)
                continue;
            if (after) {
                buf_puts(&b, b.len > 1 ? "," : "");
                buf_json_string(&b, st, strlen(st));
                buf_printf(&b, ":%.3f", (double)(at - t0));
            }
            after = after || strcmp(st, "CREATED") == 0;
        }
        buf_putc(&b, '}');
    }
    const char *s = b.failed ? NULL : arena_strdup(a, buf_str(&b));
    buf_free(&b);
    return s;
}

int client_report_from_run(const json_t *run, const char *file, arena *a, report_test *out, tc_error *e)
{
    if (!json_is_object(run))
        return tc_error_set(e, TC_ERR_INPUT, "the server's run is not a JSON object");
    const json_t *results = json_object_get(run, "results");
    if (!json_is_object(results))
        results = NULL;
    report_test t;
    memset(&t, 0, sizeof t);
    t.name = str_field(a, results, "name", true);
    if (!t.name)
        t.name = str_field(a, run, "test_name", true);
    t.id = str_field(a, results, "id", true);
    if (!t.id)
        t.id = str_field(a, run, "test_id", true);
    if (!t.name)
        t.name = t.id;
    t.file = file ? arena_strdup(a, file) : str_field(a, results, "file", true);
    t.trace_id = str_field(a, results, "trace_id", true);
    if (!t.trace_id)
        t.trace_id = str_field(a, run, "trace_id", true);
    const char *run_state = str_field(a, run, "state", true);
    t.state = str_field(a, results, "state", true);
    if (!t.state || (run_state && client_state_final(run_state) && strcmp(run_state, "FINISHED") != 0))
        t.state = run_state; /* INTERRUPTED, CANCELLED: the run's word */
    if (!t.state)
        return tc_error_set(e, TC_ERR_INPUT, "the server's run has no state");
    t.skipped = strcmp(t.state, "SKIPPED") == 0;
    t.error = str_field(a, results, "error", true);
    if (!t.error)
        t.error = str_field(a, run, "error", true);
    double ms = results && json_is_number(json_object_get(results, "duration_ms"))
                    ? num_field(results, "duration_ms")
                    : num_field(run, "duration_ms");
    t.duration_ns = ms > 0 ? (uint64_t)(ms * 1e6) : 0;
    t.timeline = timeline_of(a, results, run);
    const json_t *src = json_object_get(results, "source");
    if (json_is_object(src)) {
        char *s = json_dumps(src, JSON_COMPACT);
        t.source = s ? arena_strdup(a, s) : NULL;
        free(s);
    }
    if (strcmp(t.state, "FINISHED") == 0 && results) {
        spec_run *sr = arena_calloc(a, 1, sizeof *sr);
        if (!sr || specs_from_json(a, results, sr))
            return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        t.run = sr;
        t.error = NULL;
    } else if (!t.skipped && !t.error) {
        t.error = t.state;
    }
    *out = t;
    return 0;
}
