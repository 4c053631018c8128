/* check.c - `tracecheck datastore check`: can tracecheck reach and read this
 * backend? Name resolution, a TCP connection, then one trace query for a
 * random id through the poller itself (TLS, authentication and the API in
 * one request: "not found" is success), with hints for the usual mistakes. */
#include "source_int.h"

#include "receiver/spanbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

/* host and port of the endpoint: "scheme://[user@]host[:port][/...]" or
 * "host:port"; [v6] brackets removed. */
static bool split_endpoint(const source_config *c, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *ep = c->endpoint ? c->endpoint : "";
    const char *p = strstr(ep, "://");
    bool https = strncasecmp(ep, "https://", 8) == 0;
    p = p ? p + 3 : ep;
    const char *at = strchr(p, '@'), *slash = strchr(p, '/');
    if (at && (!slash || at < slash))
        p = at + 1;
    const char *end = p + strcspn(p, "/?#");
    const char *colon = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb)
            return false;
        snprintf(host, hcap, "%.*s", (int)(rb - p - 1), p + 1);
        colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        snprintf(host, hcap, "%.*s", (int)((colon ? colon : end) - p), p);
    }
    if (colon)
        snprintf(port, pcap, "%.*s", (int)(end - colon - 1), colon + 1);
    else if (c->grpc && !strstr(ep, "://"))
        return false;
    else
        snprintf(port, pcap, "%s", https || (c->tls && !strstr(ep, "://")) ? "443" : "80");
    return host[0] != 0;
}

/* Connects to one address within ms milliseconds; 0 or an errno. */
static int try_connect(const struct addrinfo *ai, int ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return errno;
    int fl = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    int err = 0;
    if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        rc = poll(&pfd, 1, ms);
        if (rc == 0)
            err = ETIMEDOUT;
        else {
            socklen_t l = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
        }
    } else if (rc != 0) {
        err = errno;
    }
    close(fd);
    return err;
}

static const char *port_hint(const source_config *c, const char *port)
{
    bool url = c->endpoint && strstr(c->endpoint, "://");
    if (c->type == SOURCE_JAEGER && c->grpc && strcmp(port, "16686") == 0)
        return "16686 is Jaeger's HTTP (UI) port: use host:16685 for gRPC, or http://host:16686 for HTTP";
    if (c->type == SOURCE_JAEGER && !c->grpc && strcmp(port, "16685") == 0)
        return "16685 is Jaeger's gRPC port: write host:16685 without http://, or use http://host:16686";
    if (c->type == SOURCE_TEMPO && c->grpc && strcmp(port, "3200") == 0)
        return "3200 is Tempo's HTTP port: use tempo type http with http://host:3200, or the gRPC port (9095)";
    if (c->type == SOURCE_TEMPO && !c->grpc && strcmp(port, "9095") == 0)
        return "9095 is Tempo's gRPC port: use type grpc, or http://host:3200";
    if ((c->type == SOURCE_OPENSEARCH || c->type == SOURCE_ELASTICAPM) && url && strcmp(port, "5601") == 0)
        return "5601 is Kibana/Dashboards: point addresses at the search API (9200)";
    return NULL;
}

static source_check_step *add(source_check_step *steps, size_t *n, const char *what, bool ok, const char *detail,
                              const char *hint)
{
    steps[*n] = (source_check_step){what, ok, detail, hint};
    return &steps[(*n)++];
}

size_t source_check(const source_config *c, arena *a, uint64_t deadline_ns, source_check_step **out)
{
    source_check_step *steps = arena_calloc(a, 8, sizeof *steps);
    size_t n = 0;
    *out = steps;
    if (!steps)
        return 0;
    char host[256] = "", port[16] = "", detail[600];
    if (c->type == SOURCE_RECEIVER) {
        snprintf(detail, sizeof detail,
                 "%s is fed by your collector: spans go to tracecheck's receiver (OTLP on 4317/4318); nothing to "
                 "poll",
                 c->type_name ? c->type_name : "otlp");
        add(steps, &n, "data store", true, arena_strdup(a, detail), NULL);
        return n;
    }
    if (!split_endpoint(c, host, sizeof host, port, sizeof port)) {
        snprintf(detail, sizeof detail, "\"%s\" is neither a URL nor host:port",
                 source_mask(c, c->endpoint ? c->endpoint : "", a));
        add(steps, &n, "endpoint", false, arena_strdup(a, detail),
            c->grpc ? "a gRPC endpoint is host:port (jaeger:16685)" : "write a URL like http://host:port");
        return n;
    }
    const char *hint = port_hint(c, port);
    /* name resolution */
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        snprintf(detail, sizeof detail, "%s: %s", host, gai_strerror(g));
        add(steps, &n, "name resolution", false, arena_strdup(a, detail),
            "is the host name right, and reachable from where tracecheck runs (a container name resolves only "
            "inside its network)?");
        return n;
    }
    char addr[NI_MAXHOST] = "";
    getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST);
    snprintf(detail, sizeof detail, "%s is %s", host, addr);
    add(steps, &n, "name resolution", true, arena_strdup(a, detail), NULL);
    /* connection */
    int err = ETIMEDOUT;
    uint64_t now = spanbuf_now_ns();
    int ms = deadline_ns > now ? (int)((deadline_ns - now) / 1000000ull) : 1;
    if (ms > 5000)
        ms = 5000;
    for (struct addrinfo *ai = res; ai && err; ai = ai->ai_next)
        err = try_connect(ai, ms);
    freeaddrinfo(res);
    snprintf(detail, sizeof detail, "%s port %s: %s", host, port, err ? strerror(err) : "open");
    add(steps, &n, "connection", err == 0, arena_strdup(a, detail),
        err ? (hint ? hint : "is the backend running, and is this its query port?") : NULL);
    if (err)
        return n;
    /* one query for a random trace id: TLS, authentication and the API */
    source *s = NULL;
    tc_error e;
    if (source_open(c, &s, &e)) {
        add(steps, &n, "trace query", false, arena_strdup(a, e.msg), NULL);
        return n;
    }
    uint8_t tid[16];
    if (getrandom(tid, sizeof tid, 0) != (ssize_t)sizeof tid)
        memset(tid, 0x5a, sizeof tid);
    trace_set *ts = trace_set_new(0);
    source_status st = ts ? source_fetch(s, tid, ts, deadline_ns, &e) : SOURCE_FATAL;
    if (!ts)
        tc_error_set(&e, TC_ERR_NOMEM, "out of memory");
    trace_set_free(&ts);
    bool tls_failed = strstr(e.msg, "TLS") != NULL || strstr(e.msg, "SSL") != NULL;
    bool auth_failed = strstr(e.msg, "HTTP 401") || strstr(e.msg, "HTTP 403") || s->grpc_status == 16 ||
                       s->grpc_status == 7;
    source_close(&s);
    const char *msg = source_mask(c, e.msg, a);
    if (c->tls) {
        add(steps, &n, "TLS", !tls_failed, tls_failed ? msg : "handshake and certificate accepted",
            tls_failed ? (strstr(e.msg, "wrong version number")
                              ? "the server speaks plain HTTP: use http:// (or tls.insecure: true)"
                              : "check tls.settings.cAFile / certificate, tls.serverName, or insecureSkipVerify for "
                                "a self-signed test server")
                       : NULL);
        if (tls_failed)
            return n;
    }
    if (auth_failed) {
        add(steps, &n, "authentication", false, msg,
            c->type == SOURCE_TEMPO ? "multi-tenant Tempo wants an X-Scope-OrgID header; Grafana Cloud wants "
                                      "Authorization: Basic base64(user:token) in the DataStore's headers"
                                    : "check the username/password, token or Authorization header of the DataStore");
        return n;
    }
    add(steps, &n, "authentication", true,
        c->username || c->n_headers || c->access_key ? "credentials accepted" : "none asked for", NULL);
    char hexid[33];
    hex_encode(tid, 16, hexid);
    bool ok = st == SOURCE_NOT_FOUND || st == SOURCE_FOUND;
    if (ok)
        snprintf(detail, sizeof detail, "asked for trace %s: %s (the API answers)", hexid,
                 st == SOURCE_FOUND ? "found" : "not found");
    else
        snprintf(detail, sizeof detail, "%s", msg);
    const char *qhint = NULL;
    if (!ok) {
        if (hint)
            qhint = hint;
        else if (strstr(e.msg, "gRPC endpoint"))
            qhint = c->type == SOURCE_JAEGER ? "Jaeger's gRPC query port is 16685; for HTTP write http://host:16686"
                                             : "is this the backend's gRPC port, and does it want TLS?";
        else if (strstr(e.msg, "HTTP 404") || strstr(e.msg, "cannot read"))
            qhint = "is the URL the query API's (no extra path), and is this the right kind of backend?";
        else if (!c->tls && strstr(e.msg, "Empty reply"))
            qhint = "the server may want TLS: use https:// (or tls.insecure: false)";
    }
    add(steps, &n, "trace query", ok, arena_strdup(a, detail), qhint);
    return n;
}
