/* server.h - `tracecheck serve`: one process that keeps tests and their
 * runs in the store (src/store), runs them on demand with the runner
 * `tracecheck run` uses, and answers the REST API of docs/api.md. It holds
 * the OTLP receivers (always on, spans of traces nobody waits for kept for
 * a while), the REST API (libmicrohttpd, a thread per connection), a run
 * queue served by N worker threads, and the store handles (one for the API,
 * one per worker). docs/architecture.md ("serve") has the design.
 *
 * Security: the API and the receivers listen on loopback addresses unless
 * told otherwise; server_start refuses another address for the API or a
 * receiver without a token or `insecure`. With a token, the API checks it
 * on every request but health, and the receivers on every export. Secret variables (VariableSet values marked secret)
 * are masked in everything the server answers, stores or logs.
 *
 * Ownership: server_start copies what it needs from the options; the
 * server is freed by server_stop. Threading: start and stop from one
 * thread; the server runs on its own threads. */
#ifndef TC_SERVER_H
#define TC_SERVER_H

#include "core/error.h"
#include "resource/resource.h"
#include "run/vars.h"

#include <stdbool.h>
#include <stdint.h>

#define SERVER_DEFAULT_LISTEN "127.0.0.1:11633"
#define SERVER_DEFAULT_DB "tracecheck.db"
#define SERVER_DEFAULT_WORKERS 4
#define SERVER_MAX_WORKERS 256
#define SERVER_DEFAULT_KEEP_NS (10ull * 60 * 1000000000ull) /* spans nobody waits for: 10 min */
#define SERVER_DEFAULT_GRACE_NS (10ull * 1000000000ull)     /* stop: running runs may finish in */
#define SERVER_MAX_BODY ((size_t)4 << 20)                   /* a request body */
#define SERVER_MAX_QUEUE 10000                              /* runs waiting for a worker */
#define SERVER_MAX_CONNECTIONS 512                          /* API connections at once */

#define SERVER_DEFAULT_REPLICA_TIMEOUT_NS (30ull * 1000000000ull)

typedef struct server server;

typedef struct server_opts {
    const char *listen;         /* API address "host:port" ("[v6]:port"); NULL: SERVER_DEFAULT_LISTEN */
    const char *otlp_http;      /* OTLP/HTTP receiver address; NULL: no receiver */
    const char *otlp_grpc;      /* OTLP/gRPC receiver address; NULL: no receiver */
    const char *db;             /* store URL (docs/store.md); NULL: SERVER_DEFAULT_DB */
    unsigned workers;           /* 0: SERVER_DEFAULT_WORKERS */
    uint64_t keep_unwatched_ns; /* spans of traces nobody waits for live this long (0: until the
                                   span buffer needs room) */
    uint64_t timeout_ns;        /* a run's trace timeout; 0: the test's PollingProfile, else 30 s */
    uint64_t quiet_ns;          /* quiet window; 0: the PollingProfile's, else 250 ms */
    uint64_t grace_ns;          /* stop: how long running runs may take to finish; 0: default */
    const char *server_id;      /* this server among replicas sharing a database; NULL: the host
                                   name and the listen address ("build-7:127.0.0.1:11633") */
    uint64_t replica_timeout_ns; /* a replica silent this long is gone and its runs INTERRUPTED;
                                    0: SERVER_DEFAULT_REPLICA_TIMEOUT_NS */
    const char *token;          /* bearer token every API request but health needs, or NULL */
    bool insecure;              /* allow non-loopback addresses without a token */
    const char *cors_origin;    /* Access-Control-Allow-Origin, or NULL: no CORS headers */
    const char *version;        /* tracecheck's version, for /api/health (kept, not copied) */
    /* One line per event worth a log (start, runs, store failures), never
     * with a secret; called from any thread. NULL: silent. */
    void (*log)(void *user, const char *line);
    void *log_user;
} server_opts;

/* Opens the store (migrating it) and ends the runs a previous process of
 * this server left open, and those of replicas that stopped beating
 * (INTERRUPTED; a thread keeps the heartbeat and repeats the sweep), starts the receivers, the workers and the API. Fails
 * with TC_ERR_INPUT (a bad or refused address: e->msg says why, e.g. that
 * a non-loopback --listen needs --token-file or --insecure), TC_ERR_IO
 * (cannot listen; the store cannot be opened) or the store's code. */
int server_start(const server_opts *o, server **out, tc_error *e);

/* The port the API listens on (useful with port 0), and the receivers'
 * (0 when not started). */
int server_api_port(const server *s);
int server_otlp_http_port(const server *s);
int server_otlp_grpc_port(const server *s);

/* Stops gracefully: takes no more runs, ends the queued ones as
 * INTERRUPTED, lets the running ones finish within the grace period and
 * ends those still running as INTERRUPTED, stops the API and the
 * receivers, closes the store. Returns true when everything was freed;
 * false when a worker was still inside a run after the grace period: the
 * server is then left to the process's exit (the caller should _exit). */
bool server_stop(server **s);

/* True when every address host (or "[v6]") names resolves to is a loopback
 * address (127.0.0.0/8, ::1); an empty host is 127.0.0.1. */
bool server_addr_is_loopback(const char *addr);

/* ---- shared with `tracecheck run` ---- */

/* Adds a VariableSet's values to v: `secret: true` or `type: secret`
 * marks a value secret (masked in reports). origin is kept, not copied. */
void server_add_varset(vars *v, const res_varset *vs, const char *origin);

/* What does not parse in a test: fn(user, where, what, src, e) for every
 * selector, assertion and output value of t that does not (what:
 * "invalid selector", "invalid assertion", "invalid output value"; src the
 * text, e the parser's error, its column within src). Such a test still
 * runs and the spec fails, as in Tracetest. Returns how many it found. */
typedef void (*server_check_fn)(void *user, const res_str *where, const char *what, const char *src,
                                const tc_error *e);
int server_check_test(const res_test *t, server_check_fn fn, void *user);

#endif
