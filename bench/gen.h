/* gen.h - deterministic synthetic trace sets for the benchmarks: 20 services
 * (each its own resource of ~10 attributes and its own scope), traces of a
 * few dozen spans in a parent/child tree, http server/client and db spans
 * with 10-30 attributes of mixed types, SQL statements of 60-120 characters
 * and a few events. Header-only: every bench program includes it.
 *
 * Ownership: everything lives in the returned set (trace_set_free). */
#ifndef TC_BENCH_GEN_H
#define TC_BENCH_GEN_H

#include "core/arena.h"
#include "core/trace.h"

#include <stdio.h>
#include <string.h>

#define GEN_SERVICES 20
#define GEN_SPANS_PER_TRACE 50

typedef struct gen_rng {
    uint64_t s;
} gen_rng;

/* splitmix64: small, fast, good enough for test data */
static inline uint64_t gen_next(gen_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint32_t gen_below(gen_rng *r, uint32_t n)
{
    return (uint32_t)(gen_next(r) % n);
}

static inline const char *gen_str(arena *a, const char *s)
{
    return arena_strdup(a, s);
}

static inline void gen_set_str(arena *a, tc_attr *at, const char *k, const char *v)
{
    at->key = gen_str(a, k);
    at->key_len = (uint32_t)strlen(k);
    at->value.type = TC_V_STRING;
    at->value.u.str = gen_str(a, v);
    at->value.len = (uint32_t)strlen(v);
}

static inline void gen_set_int(arena *a, tc_attr *at, const char *k, int64_t v)
{
    at->key = gen_str(a, k);
    at->key_len = (uint32_t)strlen(k);
    at->value.type = TC_V_INT;
    at->value.u.i = v;
}

static inline void gen_set_double(arena *a, tc_attr *at, const char *k, double v)
{
    at->key = gen_str(a, k);
    at->key_len = (uint32_t)strlen(k);
    at->value.type = TC_V_DOUBLE;
    at->value.u.d = v;
}

static inline void gen_set_bool(arena *a, tc_attr *at, const char *k, bool v)
{
    at->key = gen_str(a, k);
    at->key_len = (uint32_t)strlen(k);
    at->value.type = TC_V_BOOL;
    at->value.u.b = v;
}

static const char *const gen_words[] = {
    "id", "user_id", "created_at", "status", "amount", "currency", "order_id", "sku",
    "quantity", "price", "email", "name", "updated_at", "region", "tenant_id", "version",
};
static const char *const gen_tables[] = {"orders", "users", "payments", "inventory", "carts",
                                         "shipments", "invoices", "sessions"};

/* An SQL statement of 60-120 characters. */
static inline const char *gen_sql(arena *a, gen_rng *r)
{
    char sql[160];
    size_t want = 60 + gen_below(r, 61);
    int n = snprintf(sql, sizeof sql, "SELECT %s, %s FROM %s WHERE %s = $1",
                     gen_words[gen_below(r, 16)], gen_words[gen_below(r, 16)],
                     gen_tables[gen_below(r, 8)], gen_words[gen_below(r, 16)]);
    while ((size_t)n < want) {
        int m = snprintf(sql + n, sizeof sql - (size_t)n, " AND %s = $%u",
                         gen_words[gen_below(r, 16)], 2 + gen_below(r, 8));
        if (m <= 0 || (size_t)(n + m) >= sizeof sql)
            break;
        n += m;
    }
    if ((size_t)n > want)
        sql[want] = '\0';
    return gen_str(a, sql);
}

/* Builds a set of n_spans spans from seed. NULL when out of memory. */
static inline trace_set *gen_trace_set(uint32_t n_spans, uint64_t seed)
{
    trace_set *ts = trace_set_new(0);
    if (!ts)
        return NULL;
    arena *a = trace_set_arena(ts);
    gen_rng r = {seed};
    trace_resource *res[GEN_SERVICES];
    trace_scope *scope[GEN_SERVICES];
    char buf[128];
    for (int s = 0; s < GEN_SERVICES; s++) {
        res[s] = arena_calloc(a, 1, sizeof *res[s]);
        res[s]->schema_url = "";
        res[s]->n_attrs = 10;
        tc_attr *at = res[s]->attrs = arena_calloc(a, 10, sizeof *at);
        snprintf(buf, sizeof buf, "service-%02d", s);
        gen_set_str(a, &at[0], "service.name", buf);
        gen_set_str(a, &at[1], "service.version", "1.4.2");
        gen_set_str(a, &at[2], "deployment.environment", "production");
        snprintf(buf, sizeof buf, "host-%02d.eu-west-1.compute.internal", s);
        gen_set_str(a, &at[3], "host.name", buf);
        gen_set_str(a, &at[4], "host.arch", "amd64");
        gen_set_int(a, &at[5], "process.pid", 1000 + s * 7);
        gen_set_str(a, &at[6], "process.runtime.name", "nodejs");
        gen_set_str(a, &at[7], "telemetry.sdk.language", "nodejs");
        gen_set_str(a, &at[8], "telemetry.sdk.name", "opentelemetry");
        gen_set_str(a, &at[9], "telemetry.sdk.version", "2.12.0");
        scope[s] = arena_calloc(a, 1, sizeof *scope[s]);
        scope[s]->name = s % 3 ? "@opentelemetry/instrumentation-http"
                               : "@opentelemetry/instrumentation-pg";
        scope[s]->version = "0.223.0";
        scope[s]->schema_url = "";
    }
    trace_span *spans[GEN_SPANS_PER_TRACE];
    for (uint32_t i = 0; i < n_spans; i++) {
        uint32_t k = i % GEN_SPANS_PER_TRACE;
        trace_span *sp = arena_calloc(a, 1, sizeof *sp);
        if (!sp)
            break;
        uint64_t tid_hi = seed ^ (i / GEN_SPANS_PER_TRACE + 1);
        memcpy(sp->trace_id, &tid_hi, 8);
        uint64_t tid_lo = gen_next(&r) | 1;
        if (k)
            memcpy(sp->trace_id + 8, spans[0]->trace_id + 8, 8);
        else
            memcpy(sp->trace_id + 8, &tid_lo, 8);
        uint64_t sid = gen_next(&r) | 1;
        memcpy(sp->span_id, &sid, 8);
        trace_span *parent = k ? spans[gen_below(&r, k)] : NULL;
        if (parent)
            memcpy(sp->parent_id, parent->span_id, 8);
        spans[k] = sp;
        uint32_t svc = gen_below(&r, GEN_SERVICES);
        sp->resource = res[svc];
        sp->scope = scope[svc];
        sp->start_ns = 1700000000000000000ull + (uint64_t)i * 1000 + (parent ? 10 : 0);
        sp->end_ns = sp->start_ns + 1000 + gen_below(&r, 5000000);
        sp->flags = 0x101;
        bool db = svc % 3 == 0 && parent;
        uint32_t n_attrs = 10 + gen_below(&r, 21);
        tc_attr *at = sp->attrs = arena_calloc(a, n_attrs, sizeof *at);
        uint32_t j = 0;
        if (db) {
            sp->kind = TRACE_KIND_CLIENT;
            snprintf(buf, sizeof buf, "pg.query:SELECT %s", gen_tables[gen_below(&r, 8)]);
            sp->name = gen_str(a, buf);
            gen_set_str(a, &at[j++], "db.system", "postgresql");
            gen_set_str(a, &at[j++], "db.name", "shop");
            gen_set_str(a, &at[j++], "db.statement", gen_sql(a, &r));
            gen_set_str(a, &at[j++], "db.user", "app");
            gen_set_str(a, &at[j++], "net.peer.name", "db.internal");
            gen_set_int(a, &at[j++], "net.peer.port", 5432);
        } else {
            sp->kind = parent ? TRACE_KIND_CLIENT : TRACE_KIND_SERVER;
            snprintf(buf, sizeof buf, "GET /api/v1/%s/:id", gen_tables[gen_below(&r, 8)]);
            sp->name = gen_str(a, buf);
            gen_set_str(a, &at[j++], "http.request.method", "GET");
            snprintf(buf, sizeof buf, "https://shop.example.com/api/v1/%s/%u",
                     gen_tables[gen_below(&r, 8)], gen_below(&r, 100000));
            gen_set_str(a, &at[j++], "url.full", buf);
            gen_set_int(a, &at[j++], "http.response.status_code",
                        gen_below(&r, 20) ? 200 : 500);
            gen_set_str(a, &at[j++], "network.protocol.version", "1.1");
            gen_set_str(a, &at[j++], "user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)");
            gen_set_int(a, &at[j++], "server.port", 8080);
        }
        for (; j < n_attrs; j++) {
            snprintf(buf, sizeof buf, "app.%s.%u", gen_words[gen_below(&r, 16)], j);
            switch (gen_below(&r, 4)) {
            case 0: gen_set_int(a, &at[j], buf, (int64_t)gen_below(&r, 1000000)); break;
            case 1: gen_set_double(a, &at[j], buf, gen_below(&r, 100000) / 100.0); break;
            case 2: gen_set_bool(a, &at[j], buf, gen_below(&r, 2)); break;
            default: {
                char v[48];
                snprintf(v, sizeof v, "value-%08x", (unsigned)gen_next(&r));
                gen_set_str(a, &at[j], buf, v);
            }
            }
        }
        sp->n_attrs = n_attrs;
        if (gen_below(&r, 10) == 0) {
            sp->n_events = 1 + gen_below(&r, 2);
            sp->events = arena_calloc(a, sp->n_events, sizeof *sp->events);
            for (uint32_t e = 0; e < sp->n_events; e++) {
                sp->events[e].name = e ? "retry" : "exception";
                sp->events[e].time_ns = sp->start_ns + 500;
                sp->events[e].n_attrs = 2;
                tc_attr *ea = sp->events[e].attrs = arena_calloc(a, 2, sizeof *ea);
                gen_set_str(a, &ea[0], "exception.type", "TimeoutError");
                gen_set_str(a, &ea[1], "exception.message", "upstream request timed out");
            }
        }
        if (sp->attrs[2].value.type == TC_V_INT && sp->attrs[2].value.u.i == 500)
            sp->status_code = TRACE_STATUS_ERROR;
        if (trace_set_add_span(ts, sp, NULL))
            break;
    }
    return ts;
}

#endif
