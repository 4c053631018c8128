/* transport.c - HTTP(S) and gRPC requests to trace backends, on one libcurl
 * handle per poller (connections are reused across polls). gRPC is HTTP/2
 * with `content-type: application/grpc`: prior knowledge on plaintext, ALPN
 * over TLS; messages are unframed from the body and the status read from
 * the trailers (or the headers of a trailers-only answer). */
#include "source_int.h"

#include "codec/codec.h"
#include "codec/limits.h"
#include "receiver/spanbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int source_open(const source_config *c, source **out, tc_error *e)
{
    if (c->type == SOURCE_RECEIVER)
        return tc_error_set(e, TC_ERR_UNSUPPORTED, "%s: spans come to the built-in receiver; nothing to poll",
                            c->type_name ? c->type_name : "receiver");
    pthread_once(&curl_once, curl_init_once);
    source *s = calloc(1, sizeof *s);
    if (!s)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    s->c = c;
    s->curl = curl_easy_init();
    if (!s->curl) {
        free(s);
        return tc_error_set(e, TC_ERR_NOMEM, "cannot create an HTTP client");
    }
    size_t max = SOURCE_MAX_BODY;
    const char *mb = getenv("TRACECHECK_MAX_BODY"); /* bytes, or with K, M, G */
    if (mb && *mb) {
        char *end;
        unsigned long long v = strtoull(mb, &end, 10);
        unsigned long long mul = *end == 'K' || *end == 'k' ? 1ull << 10
                                 : *end == 'M' || *end == 'm' ? 1ull << 20
                                 : *end == 'G' || *end == 'g' ? 1ull << 30
                                                              : 1;
        if (v > 0 && v * mul <= CODEC_MAX_BODY)
            max = (size_t)(v * mul);
    }
    buf_init(&s->body, max);
    s->grpc_status = -1;
    *out = s;
    return 0;
}

void source_close(source **sp)
{
    if (!sp || !*sp)
        return;
    source *s = *sp;
    curl_easy_cleanup(s->curl);
    buf_free(&s->body);
    free(s);
    *sp = NULL;
}

static size_t on_body(char *p, size_t sz, size_t n, void *user)
{
    source *s = user;
    if (buf_append(&s->body, p, sz * n))
        return 0; /* over the cap: curl ends the transfer with CURLE_WRITE_ERROR */
    return sz * n;
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

/* Copies a header's value (after "name:") into dst, trimmed. */
static void header_value(const char *p, size_t len, size_t name_len, char *dst, size_t cap)
{
    size_t i = name_len + 1;
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t end = len;
    while (end > i && (p[end - 1] == '\r' || p[end - 1] == '\n' || p[end - 1] == ' '))
        end--;
    size_t n = end - i < cap - 1 ? end - i : cap - 1;
    memcpy(dst, p + i, n);
    dst[n] = 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *user)
{
    source *s = user;
    size_t len = sz * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (after a redirect or 100) */
        s->content_type[0] = s->content_encoding[0] = 0;
        return len;
    }
    char tmp[16];
    if (len > 13 && strncasecmp(p, "content-type:", 13) == 0)
        header_value(p, len, 12, s->content_type, sizeof s->content_type);
    else if (len > 17 && strncasecmp(p, "content-encoding:", 17) == 0)
        header_value(p, len, 16, s->content_encoding, sizeof s->content_encoding);
    else if (len > 12 && strncasecmp(p, "grpc-status:", 12) == 0) {
        header_value(p, len, 11, tmp, sizeof tmp);
        s->grpc_status = atoi(tmp);
    } else if (len > 13 && strncasecmp(p, "grpc-message:", 13) == 0) {
        header_value(p, len, 12, s->grpc_message, sizeof s->grpc_message);
        percent_decode(s->grpc_message);
    }
    return len;
}

/* The first bytes of the body as printable text, for error messages. */
static const char *body_snippet(source *s, char *dst, size_t cap)
{
    size_t n = s->body.len < cap - 1 ? s->body.len : cap - 1;
    const char *b = buf_str(&s->body);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)b[i];
        dst[k++] = ch == '\n' || ch == '\r' || ch == '\t' ? ' ' : ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    while (k > 0 && dst[k - 1] == ' ')
        k--;
    dst[k] = 0;
    return dst;
}

static void apply_common(source *s, uint64_t deadline_ns)
{
    const source_config *c = s->c;
    CURL *h = s->curl;
    curl_easy_reset(h);
    buf_reset(&s->body);
    s->errbuf[0] = 0;
    s->content_type[0] = s->content_encoding[0] = 0;
    s->grpc_status = -1;
    s->grpc_message[0] = 0;
    uint64_t now = spanbuf_now_ns();
    uint64_t left = deadline_ns > now ? deadline_ns - now : 1000000ull;
    if (left > SOURCE_REQUEST_TIMEOUT_NS)
        left = SOURCE_REQUEST_TIMEOUT_NS;
    long ms = (long)(left / 1000000ull);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 && ms < 10000 ? ms : 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tracecheck");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (c->skip_verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->ca_pem) {
        struct curl_blob blob = {(void *)c->ca_pem, strlen(c->ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (c->cert_file)
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
    if (c->key_file)
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
    if (c->username || c->password) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->username ? c->username : "");
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "");
    }
}

/* Adds the config's headers, then `extra`. NULL on allocation failure. */
static struct curl_slist *header_list(const source_config *c, const char *const *extra, size_t n_extra)
{
    struct curl_slist *l = NULL;
    tc_buf line;
    buf_init(&line, 1 << 20);
    for (size_t i = 0; i < c->n_headers + n_extra; i++) {
        buf_reset(&line);
        if (i < c->n_headers) {
            if (!c->headers[i].name || !c->headers[i].name[0])
                continue; /* Tracetest's files carry `"": ""` placeholders */
            buf_printf(&line, "%s: %s", c->headers[i].name, c->headers[i].value ? c->headers[i].value : "");
        } else {
            if (!extra[i - c->n_headers])
                continue;
            buf_puts(&line, extra[i - c->n_headers]);
        }
        struct curl_slist *nl = curl_slist_append(l, buf_str(&line));
        if (!nl) {
            curl_slist_free_all(l);
            buf_free(&line);
            return NULL;
        }
        l = nl;
    }
    if (!l) /* an empty list: give curl something harmless */
        l = curl_slist_append(NULL, "Accept-Charset: utf-8");
    buf_free(&line);
    return l;
}

/* Maps a curl failure to a status and a message naming the cause. */
static source_status curl_failure(source *s, CURLcode rc, const char *target, tc_error *e)
{
    const char *why = s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        tc_error_set(e, TC_ERR_IO, "cannot resolve the host of %s: %s", target, why);
        return SOURCE_FATAL;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        tc_error_set(e, TC_ERR_IO, "TLS with %s failed: %s", target, why);
        return SOURCE_FATAL;
    case CURLE_WRITE_ERROR:
        tc_error_set(e, TC_ERR_LIMIT, "the answer of %s is larger than the limit of %zu bytes (TRACECHECK_MAX_BODY)",
                     target, s->body.max);
        return SOURCE_FATAL;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        tc_error_set(e, TC_ERR_INPUT, "%s is not a URL tracecheck can use: %s", target, why);
        return SOURCE_FATAL;
    case CURLE_OPERATION_TIMEDOUT:
        tc_error_set(e, TC_ERR_IO, "%s did not answer in time: %s", target, why);
        return SOURCE_RETRY;
    case CURLE_COULDNT_CONNECT:
        tc_error_set(e, TC_ERR_IO, "cannot connect to %s: %s", target, why);
        return SOURCE_RETRY;
    default:
        tc_error_set(e, TC_ERR_IO, "%s: %s", target, why);
        return SOURCE_RETRY;
    }
}

/* Inflates a gzip body in place (s->body). */
static source_status maybe_inflate(source *s, const char *target, tc_error *e)
{
    if (!gzip_is_gzip((const uint8_t *)buf_str(&s->body), s->body.len))
        return SOURCE_FOUND;
    uint8_t *out = NULL;
    size_t n = 0;
    tc_error ge;
    if (gzip_inflate((const uint8_t *)buf_str(&s->body), s->body.len, s->body.max, &out, &n, &ge)) {
        tc_error_set(e, TC_ERR_INPUT, "the answer of %s: %s", target, ge.msg);
        return SOURCE_FATAL;
    }
    buf_reset(&s->body);
    int rc = buf_append(&s->body, out, n);
    free(out);
    if (rc) {
        tc_error_set(e, TC_ERR_LIMIT, "the answer of %s is larger than the limit of %zu bytes (TRACECHECK_MAX_BODY)",
                     target, s->body.max);
        return SOURCE_FATAL;
    }
    return SOURCE_FOUND;
}

/* tls.serverName: the URL names the server by that name (SNI and the
 * certificate check use it) while the connection goes to the real host
 * (CURLOPT_CONNECT_TO). Sets the URL on the handle; *ct and *u (freed by
 * the caller with curl_slist_free_all / curl_free) keep what it uses. */
static void set_url(source *s, const char *url, struct curl_slist **ct, char **u)
{
    *ct = NULL;
    *u = NULL;
    const char *sn = s->c->server_name;
    CURLU *h = sn && s->c->tls ? curl_url() : NULL;
    char *host = NULL, *port = NULL;
    if (h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl_url_set(h, CURLUPART_HOST, sn, 0) == CURLUE_OK && curl_url_get(h, CURLUPART_URL, u, 0) == CURLUE_OK) {
        char map[600];
        snprintf(map, sizeof map, "%s:%s:%s:%s", sn, port, host, port);
        *ct = curl_slist_append(NULL, map);
        curl_easy_setopt(s->curl, CURLOPT_CONNECT_TO, *ct);
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(h);
    curl_easy_setopt(s->curl, CURLOPT_URL, *u ? *u : url);
}

source_status src_http(source *s, const src_request *rq, uint64_t deadline_ns, long *status, tc_error *e)
{
    *status = 0;
    apply_common(s, deadline_ns);
    CURL *h = s->curl;
    const char *extra[8];
    size_t n_extra = 0;
    char ctype[160], ac[160];
    if (rq->content_type) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s", rq->content_type);
        extra[n_extra++] = ctype;
    }
    if (rq->accept) {
        snprintf(ac, sizeof ac, "Accept: %s", rq->accept);
        extra[n_extra++] = ac;
    }
    for (size_t i = 0; i < 4 && rq->extra[i]; i++)
        extra[n_extra++] = rq->extra[i];
    struct curl_slist *hl = header_list(s->c, extra, n_extra);
    if (!hl)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory"), SOURCE_FATAL;
    struct curl_slist *ct;
    char *u;
    set_url(s, rq->url, &ct, &u);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    /* HTTP/1.1 with keep-alive: libcurl up to 7.88 fails the second request
       of an easy handle on a reused HTTP/2 connection */
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    if (rq->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method ? rq->method : "GET");
    if (rq->aws_sigv4) { /* the keys sign the request (libcurl's SigV4) */
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, rq->aws_sigv4);
        curl_easy_setopt(h, CURLOPT_USERNAME, s->c->access_key ? s->c->access_key : "");
        curl_easy_setopt(h, CURLOPT_PASSWORD, s->c->secret_key ? s->c->secret_key : "");
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hl);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, NULL);
    curl_slist_free_all(ct);
    curl_free(u);
    if (rc != CURLE_OK)
        return curl_failure(s, rc, rq->url, e);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    char snip[200];
    long st = *status;
    if (st >= 200 && st < 300)
        return maybe_inflate(s, rq->url, e);
    if (st == 404) {
        tc_error_set(e, TC_ERR_IO, "HTTP 404 from %s", rq->url);
        return SOURCE_NOT_FOUND;
    }
    body_snippet(s, snip, sizeof snip);
    if (st == 401 || st == 403) {
        tc_error_set(e, TC_ERR_IO, "%s refused the credentials (HTTP %ld)%s%s", rq->url, st, snip[0] ? ": " : "",
                     snip);
        return SOURCE_FATAL;
    }
    tc_error_set(e, TC_ERR_IO, "HTTP %ld from %s%s%s", st, rq->url, snip[0] ? ": " : "", snip);
    return st >= 500 || st == 408 || st == 429 ? SOURCE_RETRY : SOURCE_FATAL;
}

static const char *grpc_code_name(int code)
{
    static const char *const names[] = {
        "OK",        "CANCELLED",         "UNKNOWN",        "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED",   "OUT_OF_RANGE",      "UNIMPLEMENTED",  "INTERNAL",         "UNAVAILABLE",
        "DATA_LOSS", "UNAUTHENTICATED",
    };
    return code >= 0 && code <= 16 ? names[code] : "UNKNOWN";
}

source_status src_grpc(source *s, const char *path, const void *req, size_t len, uint64_t deadline_ns,
                       const uint8_t ***msgs, size_t **lens, size_t *n, tc_error *e)
{
    *n = 0;
    apply_common(s, deadline_ns);
    CURL *h = s->curl;
    const source_config *c = s->c;
    tc_buf url, frame;
    buf_init(&url, 1 << 16);
    buf_init(&frame, s->body.max);
    const char *ep = c->endpoint ? c->endpoint : "";
    if (strstr(ep, "://"))
        buf_printf(&url, "%s%s", ep, path);
    else
        buf_printf(&url, "%s://%s%s", c->tls ? "https" : "http", ep, path);
    uint8_t hdr[5] = {0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    buf_append(&frame, hdr, 5);
    buf_append(&frame, req, len);
    uint64_t now = spanbuf_now_ns();
    uint64_t left = deadline_ns > now ? deadline_ns - now : 1000000ull;
    if (left > SOURCE_REQUEST_TIMEOUT_NS)
        left = SOURCE_REQUEST_TIMEOUT_NS;
    char tmo[64];
    snprintf(tmo, sizeof tmo, "grpc-timeout: %llum", (unsigned long long)(left / 1000000ull + 1));
    const char *extra[] = {"Content-Type: application/grpc", "TE: trailers", "grpc-accept-encoding: identity",
                           tmo};
    struct curl_slist *hl = header_list(c, extra, 4);
    if (!hl) {
        buf_free(&url);
        buf_free(&frame);
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory"), SOURCE_FATAL;
    }
    struct curl_slist *ct;
    char *u;
    set_url(s, buf_str(&url), &ct, &u);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                     c->tls ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    /* a new connection per call: libcurl up to 7.88 fails the second
       request of an easy handle on a reused HTTP/2 connection */
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, buf_str(&frame));
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)frame.len);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hl);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, NULL);
    curl_slist_free_all(ct);
    curl_free(u);
    source_status st = SOURCE_FOUND;
    char target[300];
    snprintf(target, sizeof target, "%s (gRPC %s)", ep, path);
    long http = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
    if (rc != CURLE_OK && s->grpc_status < 0) {
        st = curl_failure(s, rc, target, e);
        if (rc == CURLE_HTTP2 || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_WEIRD_SERVER_REPLY)
            snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg),
                     " (is %s a gRPC endpoint%s?)", ep, c->tls ? "" : " without TLS");
        goto out;
    }
    if (s->grpc_status < 0) {
        char snip[120];
        tc_error_set(e, TC_ERR_IO, "%s answered HTTP %ld without a gRPC status%s%s (is it a gRPC endpoint?)", target,
                     http, s->body.len ? ": " : "", body_snippet(s, snip, sizeof snip));
        st = http == 401 || http == 403 ? SOURCE_FATAL : http >= 500 ? SOURCE_RETRY : SOURCE_FATAL;
        goto out;
    }
    if (s->grpc_status != 0) {
        int code = s->grpc_status;
        tc_error_set(e, TC_ERR_IO, "%s: %s (%d)%s%s", target, grpc_code_name(code), code, s->grpc_message[0] ? ": " : "",
                     s->grpc_message);
        st = code == 5    ? SOURCE_NOT_FOUND
             : code == 14 || code == 4 || code == 8 || code == 10 || code == 13 || code == 1
                 ? SOURCE_RETRY
                 : SOURCE_FATAL;
        goto out;
    }
    /* unframe: flag byte, 4-byte big-endian length, message */
    {
        const uint8_t *b = (const uint8_t *)buf_str(&s->body);
        size_t blen = s->body.len, cnt = 0;
        for (size_t off = 0; off + 5 <= blen;) {
            size_t m = (size_t)b[off + 1] << 24 | (size_t)b[off + 2] << 16 | (size_t)b[off + 3] << 8 | b[off + 4];
            if (m > blen - off - 5)
                break;
            cnt++;
            off += 5 + m;
        }
        const uint8_t **ms = NULL;
        size_t *ls = NULL;
        if (cnt) {
            ms = calloc(cnt, sizeof *ms);
            ls = calloc(cnt, sizeof *ls);
            if (!ms || !ls) {
                free(ms);
                free(ls);
                st = SOURCE_FATAL;
                tc_error_set(e, TC_ERR_NOMEM, "out of memory");
                goto out;
            }
        }
        size_t off = 0, k = 0;
        for (; off + 5 <= blen && k < cnt; k++) {
            size_t m = (size_t)b[off + 1] << 24 | (size_t)b[off + 2] << 16 | (size_t)b[off + 3] << 8 | b[off + 4];
            if (b[off] & 1) { /* compressed: we asked for identity */
                free(ms);
                free(ls);
                tc_error_set(e, TC_ERR_UNSUPPORTED, "%s sent a compressed gRPC message; tracecheck asks for identity",
                             target);
                st = SOURCE_FATAL;
                goto out;
            }
            ms[k] = b + off + 5;
            ls[k] = m;
            off += 5 + m;
        }
        if (off != blen) {
            free(ms);
            free(ls);
            tc_error_set(e, TC_ERR_INPUT, "%s: the gRPC answer ends inside a message (%zu of %zu bytes framed)", target,
                         off, blen);
            st = SOURCE_FATAL;
            goto out;
        }
        *msgs = ms;
        *lens = ls;
        *n = cnt;
    }
out:
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_NONE);
    buf_free(&url);
    buf_free(&frame);
    return st;
}

int src_url_escape(tc_buf *b, const char *s)
{
    buf_reset(b);
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            if (buf_putc(b, (char)*p))
                return TC_ERR_NOMEM;
        } else if (buf_putc(b, '%') || buf_putc(b, hex[*p >> 4]) || buf_putc(b, hex[*p & 15])) {
            return TC_ERR_NOMEM;
        }
    }
    return 0;
}

int src_url(const source_config *c, const char *base, const char *suffix, tc_buf *out)
{
    (void)c;
    buf_reset(out);
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (buf_append(out, base, n))
        return TC_ERR_NOMEM;
    if (suffix[0] != '/' && buf_putc(out, '/'))
        return TC_ERR_NOMEM;
    return buf_puts(out, suffix);
}

source_status src_decode_body(source *s, trace_set *ts, int fmt, const char *what, tc_error *e)
{
    tc_error de;
    memset(&de, 0, sizeof de);
    if (tracefile_decode(ts, (const uint8_t *)buf_str(&s->body), s->body.len, (tracefile_format)fmt, NULL, &de)) {
        tc_error_set(e, TC_ERR_INPUT, "%s: cannot read the answer (%s%s%zu bytes): %s", what,
                     s->content_type[0] ? s->content_type : "", s->content_type[0] ? ", " : "", s->body.len, de.msg);
        return SOURCE_FATAL;
    }
    return SOURCE_FOUND;
}

const char *source_status_name(source_status st)
{
    switch (st) {
    case SOURCE_FOUND: return "found";
    case SOURCE_NOT_FOUND: return "not found";
    case SOURCE_RETRY: return "retry";
    case SOURCE_FATAL: return "fatal";
    }
    return "?";
}

source_status src_get_trace(source *s, const char *path, const char *accept, int fmt, const uint8_t tid[16],
                            trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    char hex[33], suffix[300];
    hex_encode(tid, 16, hex);
    snprintf(suffix, sizeof suffix, "%s%s", path, hex);
    tc_buf url;
    buf_init(&url, 1 << 16);
    src_url(s->c, s->c->endpoint, suffix, &url);
    src_request rq = {.method = "GET", .url = buf_str(&url), .accept = accept};
    long status;
    source_status st = src_http(s, &rq, deadline_ns, &status, e);
    if (st == SOURCE_FOUND) {
        if (fmt < 0)
            fmt = strstr(s->content_type, "json") ? TF_AUTO : TF_OTLP_PROTO;
        st = src_decode_body(s, ts, fmt, buf_str(&url), e);
        if (st == SOURCE_FOUND && !trace_set_find(ts, tid)) {
            tc_error_set(e, TC_ERR_IO, "%s: the trace is not there yet (no span in the answer)", buf_str(&url));
            st = SOURCE_NOT_FOUND;
        }
    }
    buf_free(&url);
    return st;
}

source_status src_grpc_trace(source *s, const char *method, const void *req, size_t len, src_msg_decoder decode,
                             const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    const uint8_t **msgs = NULL;
    size_t *lens = NULL, n = 0;
    source_status st = src_grpc(s, method, req, len, deadline_ns, &msgs, &lens, &n, e);
    for (size_t i = 0; st == SOURCE_FOUND && i < n; i++) {
        tc_error de;
        if (decode(ts, msgs[i], lens[i], &de)) {
            tc_error_set(e, TC_ERR_INPUT, "%s (gRPC %s): cannot read message %zu of the answer: %s", s->c->endpoint,
                         method, i + 1, de.msg);
            st = SOURCE_FATAL;
        }
    }
    if (st == SOURCE_FOUND && !trace_set_find(ts, tid)) {
        tc_error_set(e, TC_ERR_IO, "%s: the trace is not there yet (no span in the answer)", s->c->endpoint);
        st = SOURCE_NOT_FOUND;
    }
    free(msgs);
    free(lens);
    return st;
}
