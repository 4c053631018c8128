/* http.c - the HTTP trigger: one call with libcurl carrying W3C trace
 * context (see trigger.h). */
#include "trigger.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void trigger_curl_init(void)
{
    pthread_once(&curl_once, curl_init_once);
}

uint64_t trigger_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct sink {
    trigger_result *r;
    tc_buf body;
    size_t cap_headers;
    bool oom;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    sink *s = user;
    size_t len = size * n;
    size_t room = TRIGGER_MAX_BODY - s->body.len;
    if (len > room) {
        s->r->truncated = true;
        if (room)
            buf_append(&s->body, p, room);
        return len; /* read and drop the rest */
    }
    buf_append(&s->body, p, len);
    return len;
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

static size_t on_header(char *p, size_t size, size_t n, void *user)
{
    sink *s = user;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new response (after a redirect): start over */
        for (size_t i = 0; i < s->r->n_headers; i++) {
            free((char *)s->r->headers[i].key);
            free((char *)s->r->headers[i].value);
        }
        s->r->n_headers = 0;
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon || s->r->n_headers >= 1000)
        return len;
    if (s->r->n_headers == s->cap_headers) {
        size_t cap = s->cap_headers ? s->cap_headers * 2 : 16;
        trigger_kv *h = realloc(s->r->headers, cap * sizeof *h);
        if (!h) {
            s->oom = true;
            return len;
        }
        s->r->headers = h;
        s->cap_headers = cap;
    }
    char *k = dup_trim(p, (size_t)(colon - p));
    char *v = dup_trim(colon + 1, len - (size_t)(colon - p) - 1);
    if (!k || !v) {
        free(k);
        free(v);
        s->oom = true;
        return len;
    }
    s->r->headers[s->r->n_headers++] = (trigger_kv){k, v};
    return len;
}

static void fail(trigger_result *r, const char *fmt, const char *a, const char *b)
{
    char msg[CURL_ERROR_SIZE + 256];
    snprintf(msg, sizeof msg, fmt, a, b);
    r->ok = false;
    r->error = strdup(msg);
}

void trigger_http_run(const trigger_http_request *req, const uint8_t trace_id[TRACE_ID_LEN],
                      const uint8_t span_id[SPAN_ID_LEN], bool b3, trigger_result *out)
{
    memset(out, 0, sizeof *out);
    trigger_curl_init();
    out->start_ns = trigger_unix_ns();
    CURL *c = curl_easy_init();
    if (!c) {
        fail(out, "%s%s", "cannot start an HTTP client", "");
        out->end_ns = trigger_unix_ns();
        return;
    }
    char tid[33], sid[17], hdr[128], errbuf[CURL_ERROR_SIZE] = "";
    hex_encode(trace_id, TRACE_ID_LEN, tid);
    hex_encode(span_id, SPAN_ID_LEN, sid);
    struct curl_slist *headers = NULL;
    snprintf(hdr, sizeof hdr, "traceparent: 00-%s-%s-01", tid, sid);
    headers = curl_slist_append(headers, hdr);
    if (b3) {
        snprintf(hdr, sizeof hdr, "b3: %s-%s-1", tid, sid);
        headers = curl_slist_append(headers, hdr);
    }
    tc_buf line;
    buf_init(&line, 1 << 20);
    for (size_t i = 0; i < req->n_headers; i++) {
        buf_reset(&line);
        if (req->headers[i].value && *req->headers[i].value)
            buf_printf(&line, "%s: %s", req->headers[i].key, req->headers[i].value);
        else
            buf_printf(&line, "%s;", req->headers[i].key); /* curl's way to send an empty header */
        headers = curl_slist_append(headers, buf_str(&line));
    }
    tc_buf url;
    buf_init(&url, 1 << 20);
    buf_puts(&url, req->url);
    switch (req->auth) {
    case TRIGGER_AUTH_BASIC:
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, req->user ? req->user : "");
        curl_easy_setopt(c, CURLOPT_PASSWORD, req->password ? req->password : "");
        break;
    case TRIGGER_AUTH_BEARER:
        buf_reset(&line);
        /* the token as written, as Tracetest sends it (users write "Bearer x") */
        buf_printf(&line, "Authorization: %s", req->token ? req->token : "");
        headers = curl_slist_append(headers, buf_str(&line));
        break;
    case TRIGGER_AUTH_APIKEY:
        if (req->key_in_query) {
            char *k = curl_easy_escape(c, req->key ? req->key : "", 0);
            char *v = curl_easy_escape(c, req->value ? req->value : "", 0);
            buf_printf(&url, "%s%s=%s", strchr(req->url, '?') ? "&" : "?", k ? k : "", v ? v : "");
            curl_free(k);
            curl_free(v);
        } else {
            buf_reset(&line);
            buf_printf(&line, "%s: %s", req->key ? req->key : "", req->value ? req->value : "");
            headers = curl_slist_append(headers, buf_str(&line));
        }
        break;
    default:
        break;
    }
    buf_free(&line);

    sink s = {out, {0}, 0, false};
    buf_init(&s.body, TRIGGER_MAX_BODY);
    curl_easy_setopt(c, CURLOPT_URL, buf_str(&url));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method ? req->method : "GET");
    if (req->method && strcasecmp(req->method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (req->body && *req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req->body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L); /* as Go's client in Tracetest: up to 10 */
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : (long)TRIGGER_DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)TRIGGER_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "tracecheck");
    if (!req->ssl_verification) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = curl_easy_perform(c);
    out->end_ns = trigger_unix_ns();
    if (rc != CURLE_OK) {
        /* curl's detailed message when it has one, else the code's text */
        fail(out, "%s%s", *errbuf ? errbuf : curl_easy_strerror(rc), "");
    } else if (s.oom) {
        fail(out, "%s%s", "out of memory reading the response", "");
    } else {
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        out->ok = true;
        out->status = (int)status;
    }
    out->body_len = s.body.len;
    out->body = buf_detach(&s.body);
    buf_free(&s.body);
    buf_free(&url);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
}
