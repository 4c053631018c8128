/* server.c - the server's life: checking the addresses, opening the store,
 * starting the receivers, the workers, the span expiry and the API, and
 * stopping them in order (see server.h). */
#include "server_int.h"

#include "core/expr.h"
#include "core/sel.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

void srv_log(server *s, const char *fmt, ...)
{
    if (!s->o.log)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->o.log(s->o.log_user, line);
}

int64_t srv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *srv_time(int64_t ns, char out[32])
{
    time_t secs = (time_t)(ns / 1000000000);
    int ms = (int)((ns % 1000000000) / 1000000);
    if (ns < 0 && ns % 1000000000) {
        secs--;
        ms = (int)((1000000000 + ns % 1000000000) / 1000000);
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    char tmp[64]; /* room for any year gmtime gives */
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    memcpy(out, tmp, 31);
    out[31] = '\0';
    return out;
}

int srv_parse_time(const char *s, int64_t *ns)
{
    int y, mo, d, h, mi, sec, used = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 || used != 19)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
        return -1;
    const char *p = s + used;
    int64_t frac = 0, scale = 100000000;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59)
            return -1;
        offset = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    int64_t secs = (int64_t)t - offset;
    *ns = secs >= INT64_MAX / 1000000000 - 1 ? INT64_MAX
                                             : secs * 1000000000 + frac; /* past 2262: the end of time */
    return 0;
}

static uint32_t name_hash(res_kind kind, const char *id, int version)
{
    uint32_t h = 2166136261u ^ (uint32_t)kind ^ ((uint32_t)version << 8);
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % SRV_NAME_CACHE;
}

const char *srv_resource_name(server *s, res_kind kind, const char *id, int version, char *buf, size_t n)
{
    uint32_t h = name_hash(kind, id, version);
    pthread_mutex_lock(&s->names_mu);
    srv_name *e = &s->names[h];
    bool hit = e->id && e->kind == kind && e->version == version && strcmp(e->id, id) == 0;
    if (hit)
        snprintf(buf, n, "%s", e->name);
    pthread_mutex_unlock(&s->names_mu);
    if (hit)
        return buf;
    store_resource *r = NULL;
    if (store_resource_get(s->api, kind, id, version, &r, NULL))
        return NULL;
    snprintf(buf, n, "%s", r->name);
    char *cid = strdup(id), *cname = strdup(r->name);
    store_resource_free(&r);
    pthread_mutex_lock(&s->names_mu);
    if (cid && cname) { /* versions never change: a cached name stays right */
        free(e->id);
        free(e->name);
        *e = (srv_name){kind, version, cid, cname};
        cid = cname = NULL;
    }
    pthread_mutex_unlock(&s->names_mu);
    free(cid);
    free(cname);
    return buf;
}

void server_add_varset(vars *v, const res_varset *vs, const char *origin)
{
    for (size_t i = 0; i < vs->n_values; i++) {
        const res_var *x = &vs->values[i];
        if (!x->key.s)
            continue;
        bool secret = x->secret.v || (x->type.s && strcmp(x->type.s, "secret") == 0);
        vars_set(v, x->key.s, x->value.s ? x->value.s : "", secret, origin);
    }
}

int srv_split_addr(const char *addr, char *host, size_t hn, char *port, size_t pn)
{
    const char *colon;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':' || (size_t)(close - addr - 1) >= hn)
            return -1;
        memcpy(host, addr + 1, (size_t)(close - addr - 1));
        host[close - addr - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= hn)
            return -1;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
        if (strchr(host, ':'))
            return -1;
    }
    if (!host[0])
        snprintf(host, hn, "127.0.0.1");
    if (!colon[1] || strlen(colon + 1) >= pn || strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return -1;
    snprintf(port, pn, "%s", colon + 1);
    return 0;
}

bool server_addr_is_loopback(const char *addr)
{
    char host[256], port[16];
    if (srv_split_addr(addr, host, sizeof host, port, sizeof port))
        return false;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return false;
    bool loop = true;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            const struct sockaddr_in *sa = (const struct sockaddr_in *)ai->ai_addr;
            loop = loop && (ntohl(sa->sin_addr.s_addr) >> 24) == 127;
        } else if (ai->ai_family == AF_INET6) {
            const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)ai->ai_addr;
            loop = loop && IN6_IS_ADDR_LOOPBACK(&sa->sin6_addr);
        } else {
            loop = false;
        }
    }
    freeaddrinfo(res);
    return loop;
}

int server_check_test(const res_test *t, server_check_fn fn, void *user)
{
    int errors = 0;
    for (size_t k = 0; k < t->n_specs + t->n_outputs; k++) {
        bool is_spec = k < t->n_specs;
        const res_str *sel = is_spec ? &t->specs[k].selector : &t->outputs[k - t->n_specs].selector;
        tc_error e;
        sel_query *q = NULL;
        const char *src = sel->s ? sel->s : "";
        if (sel_parse(src, strlen(src), &q, &e)) {
            fn(user, sel, "invalid selector", src, &e);
            errors++;
        }
        sel_free(&q);
        size_t n_expr = is_spec ? t->specs[k].n_assertions : 1;
        for (size_t m = 0; m < n_expr; m++) {
            const res_str *x = is_spec ? &t->specs[k].assertions[m] : &t->outputs[k - t->n_specs].value;
            const char *xs = x->s ? x->s : "";
            expr *ex = NULL;
            if (expr_parse(xs, strlen(xs), is_spec ? EXPR_PARSE_STATEMENT : EXPR_PARSE_EXPRESSION, &ex, &e)) {
                fn(user, x, is_spec ? "invalid assertion" : "invalid output value", xs, &e);
                errors++;
            }
            expr_free(&ex);
        }
    }
    return errors;
}

#define SERVER_TRIM_NS (5ull * 1000000000ull) /* freed memory given back at least this often */

/* The replicas' bookkeeping: a heartbeat every sixth of the replica
 * timeout, and every third of it the runs of replicas that went silent
 * ended as INTERRUPTED. */
static void replica_tick(server *s, uint64_t now, uint64_t *beat_at, uint64_t *sweep_at)
{
    uint64_t to = s->o.replica_timeout_ns;
    tc_error e;
    if (now >= *beat_at) {
        *beat_at = now + (to / 6 > 1000000000ull ? to / 6 : 1000000000ull);
        int rc = store_server_heartbeat(s->api, &e);
        if (rc && !store_unavailable(rc))
            srv_log(s, "heartbeat not stored: %s", e.msg);
    }
    if (now >= *sweep_at) {
        *sweep_at = now + (to / 3 > 1000000000ull ? to / 3 : 1000000000ull);
        uint64_t n = 0;
        int64_t stale = srv_now_ns() - (int64_t)to;
        if (store_runs_interrupt_orphans(s->api, false, stale, &n, &e) == 0 && n)
            srv_log(s, "%llu run%s of a replica that stopped: INTERRUPTED", (unsigned long long)n,
                    n == 1 ? "" : "s");
    }
}

/* Every second: drops the spans of traces nobody waits for that are older
 * than --keep-unwatched; keeps the heartbeat and sweeps (replica_tick). */
static void *expirer(void *arg)
{
    server *s = arg;
    uint64_t next = spanbuf_now_ns() + 1000000000ull;
    uint64_t beat_at = 0, sweep_at = spanbuf_now_ns() + s->o.replica_timeout_ns / 3;
    uint64_t trim_at = spanbuf_now_ns() + SERVER_TRIM_NS;
    pthread_mutex_lock(&s->mu);
    while (!s->closing) {
        struct timespec until = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};
        pthread_cond_timedwait(&s->changed, &s->mu, &until);
        uint64_t now = spanbuf_now_ns();
        if (s->closing || now < next)
            continue;
        next = now + 1000000000ull;
        pthread_mutex_unlock(&s->mu);
        uint32_t expired = 0;
        if (s->o.keep_unwatched_ns && now > s->o.keep_unwatched_ns)
            expired = spanbuf_expire(s->buf, now - s->o.keep_unwatched_ns);
        replica_tick(s, now, &beat_at, &sweep_at);
        if (expired || now >= trim_at) { /* what runs and expired traces freed goes back to the system */
            malloc_trim(0);
            trim_at = now + SERVER_TRIM_NS;
        }
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static char *dup_or_null(const char *s, bool *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = true;
    return d;
}

static void free_server(server *s)
{
    store_close(&s->api);
    for (unsigned i = 0; s->wstore && i < s->o.workers; i++)
        store_close(&s->wstore[i]);
    free(s->wstore);
    spanbuf_free(&s->buf);
    for (size_t i = 0; i < SRV_NAME_CACHE; i++) {
        free(s->names[i].id);
        free(s->names[i].name);
    }
    free(s->threads);
    free(s->s_listen);
    free(s->s_http);
    free(s->s_grpc);
    free(s->s_db);
    free(s->s_token);
    free(s->s_cors);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->names_mu);
    pthread_cond_destroy(&s->changed);
    pthread_cond_destroy(&s->work);
    free(s);
}

static int refuse(tc_error *e, const char *what, const char *addr, const char *why)
{
    return tc_error_set(e, TC_ERR_INPUT, "%s %s is not a loopback address: %s", what, addr, why);
}

int server_start(const server_opts *o, server **out, tc_error *e)
{
    server *s = calloc(1, sizeof *s);
    if (!s)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    s->o = *o;
    bool fail = false;
    s->s_listen = dup_or_null(o->listen ? o->listen : SERVER_DEFAULT_LISTEN, &fail);
    s->s_http = dup_or_null(o->otlp_http, &fail);
    s->s_grpc = dup_or_null(o->otlp_grpc, &fail);
    s->s_db = dup_or_null(o->db ? o->db : SERVER_DEFAULT_DB, &fail);
    s->s_token = dup_or_null(o->token, &fail);
    s->s_cors = dup_or_null(o->cors_origin, &fail);
    s->o.listen = s->s_listen;
    s->o.otlp_http = s->s_http;
    s->o.otlp_grpc = s->s_grpc;
    s->o.db = s->s_db;
    s->o.token = s->s_token;
    s->o.cors_origin = s->s_cors;
    if (!s->o.workers)
        s->o.workers = SERVER_DEFAULT_WORKERS;
    if (!s->o.grace_ns)
        s->o.grace_ns = SERVER_DEFAULT_GRACE_NS;
    if (!s->o.replica_timeout_ns)
        s->o.replica_timeout_ns = SERVER_DEFAULT_REPLICA_TIMEOUT_NS;
    if (o->server_id)
        snprintf(s->server_id, sizeof s->server_id, "%s", o->server_id);
    s->o.server_id = NULL; /* the copy is s->server_id */
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->names_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->changed, &ca);
    pthread_cond_init(&s->work, &ca);
    pthread_condattr_destroy(&ca);
    int rc = 0;
    if (fail) {
        rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (s->o.workers > SERVER_MAX_WORKERS) {
        rc = tc_error_set(e, TC_ERR_INPUT, "at most %d workers", SERVER_MAX_WORKERS);
        goto fail;
    }

    /* loopback unless told otherwise */
    char host[256], port[16];
    if (srv_split_addr(s->o.listen, host, sizeof host, port, sizeof port)) {
        rc = tc_error_set(e, TC_ERR_INPUT, "bad address \"%s\" (want HOST:PORT)", s->o.listen);
        goto fail;
    }
    if (!server_addr_is_loopback(s->o.listen) && !s->o.token && !s->o.insecure) {
        rc = refuse(e, "--listen", s->o.listen,
                    "anyone who reaches it could run tests and read results; give --token-file FILE "
                    "(clients then send Authorization: Bearer TOKEN) or, on a network you trust, --insecure");
        goto fail;
    }
    const char *recv[2] = {s->o.otlp_http, s->o.otlp_grpc};
    const char *flag[2] = {"--otlp-http", "--otlp-grpc"};
    for (int i = 0; i < 2; i++)
        if (recv[i] && !server_addr_is_loopback(recv[i]) && !s->o.token && !s->o.insecure) {
            rc = refuse(e, flag[i], recv[i],
                        "anyone who reaches it could send spans; give --token-file FILE (exporters then "
                        "send Authorization: Bearer TOKEN) or, on a network you trust, --insecure");
            goto fail;
        }

    /* the store: open, migrate, end what a previous process left open */
    rc = store_open(s->o.db, &s->api, e);
    if (rc)
        goto fail;
    /* who this server is among replicas; what its previous process and
       silent replicas left open ends now */
    if (!s->server_id[0]) {
        char me[256] = "";
        if (gethostname(me, sizeof me - 1) != 0 || !me[0])
            snprintf(me, sizeof me, "localhost");
        snprintf(s->server_id, sizeof s->server_id, "%s:%s", me, s->o.listen);
    }
    store_set_server(s->api, s->server_id);
    if ((rc = store_server_heartbeat(s->api, e)))
        goto fail;
    uint64_t interrupted = 0;
    if (strcmp(store_backend(s->api), "sqlite") == 0) /* a SQLite database has one server */
        rc = store_runs_interrupt_running(s->api, &interrupted, e);
    else
        rc = store_runs_interrupt_orphans(s->api, true, srv_now_ns() - (int64_t)s->o.replica_timeout_ns,
                                          &interrupted, e);
    if (rc)
        goto fail;
    if (interrupted)
        srv_log(s, "%llu run%s left open by a previous process: INTERRUPTED",
                (unsigned long long)interrupted, interrupted == 1 ? "" : "s");
    s->wstore = calloc(s->o.workers, sizeof *s->wstore);
    if (!s->wstore) {
        rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < s->o.workers; i++) {
        if ((rc = store_open(s->o.db, &s->wstore[i], e)))
            goto fail;
        store_set_server(s->wstore[i], s->server_id);
    }

    /* the receivers, always on */
    s->buf = spanbuf_new(0);
    if (!s->buf) {
        rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    /* with a token, the receivers check it too */
    if (s->o.otlp_http) {
        tc_error re;
        recv_http_opts ho = {.token = s->o.token};
        s->rh = recv_http_start(s->o.otlp_http, s->buf, &ho, &re);
        if (!s->rh) {
            rc = tc_error_set(e, TC_ERR_IO, "OTLP/HTTP receiver on %s: %s", s->o.otlp_http, re.msg);
            goto fail;
        }
    }
    if (s->o.otlp_grpc) {
        tc_error re;
        recv_grpc_opts go = {.token = s->o.token};
        s->rg = recv_grpc_start(s->o.otlp_grpc, s->buf, &go, &re);
        if (!s->rg) {
            rc = tc_error_set(e, TC_ERR_IO, "OTLP/gRPC receiver on %s: %s", s->o.otlp_grpc, re.msg);
            goto fail;
        }
    }

    if ((rc = runs_start_workers(s, e)))
        goto fail;
    if (pthread_create(&s->expirer, NULL, expirer, s) != 0) {
        rc = tc_error_set(e, TC_ERR_IO, "cannot start a thread");
        goto fail;
    }
    s->expirer_started = true;
    if ((rc = srv_http_start(s, s->o.listen, e)))
        goto fail;
    srv_log(s, "API on http://%s%s%s:%d/api (%s), store %s (%s), %u worker%s%s%s%s%s",
            strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", s->api_port,
            s->o.token ? "token required" : "no token", store_backend(s->api), s->o.db, s->o.workers,
            s->o.workers == 1 ? "" : "s", s->rh ? ", OTLP/HTTP on " : "", s->rh ? s->o.otlp_http : "",
            s->rg ? ", OTLP/gRPC on " : "", s->rg ? s->o.otlp_grpc : "");
    *out = s;
    return 0;
fail:
    pthread_mutex_lock(&s->mu);
    s->stopping = s->closing = true;
    pthread_cond_broadcast(&s->changed);
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
    srv_http_stop(s);
    if (s->expirer_started)
        pthread_join(s->expirer, NULL);
    runs_join_workers(s);
    recv_http_stop(&s->rh);
    recv_grpc_stop(&s->rg);
    runs_free_all(s);
    free_server(s);
    return rc ? rc : TC_ERR_IO;
}

int server_api_port(const server *s)
{
    return s->api_port;
}

int server_otlp_http_port(const server *s)
{
    return s->rh ? recv_http_port(s->rh) : 0;
}

int server_otlp_grpc_port(const server *s)
{
    return s->rg ? recv_grpc_port(s->rg) : 0;
}

bool server_stop(server **sp)
{
    server *s = sp ? *sp : NULL;
    if (!s)
        return true;
    *sp = NULL;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
    srv_log(s, "stopping: no new runs");
    bool idle = runs_drain(s, s->o.grace_ns);
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
    srv_http_stop(s);
    if (s->expirer_started)
        pthread_join(s->expirer, NULL);
    s->expirer_started = false;
    if (!idle) {
        srv_log(s, "stopped; a worker is still inside a run (ended as INTERRUPTED)");
        return false; /* the workers still use the spans and the store: left to the exit */
    }
    runs_join_workers(s);
    recv_http_stop(&s->rh);
    recv_grpc_stop(&s->rg);
    runs_free_all(s);
    srv_log(s, "stopped");
    free_server(s);
    return true;
}
