/* server_int.h - what the server's files share (see server.h): the server
 * state, the runs it has in hand, the request and answer of an API call,
 * and the helpers each file offers the others.
 *
 * Locking: s->mu guards the run registry, the queue and every srv_run
 * field marked (mu); s->changed is broadcast on any change a follower of a
 * run may wait for, s->work when the queue grows or the server stops. */
#ifndef TC_SERVER_INT_H
#define TC_SERVER_INT_H

#include "server/server.h"

#include "core/buf.h"
#include "receiver/otlp_grpc.h"
#include "receiver/otlp_http.h"
#include "receiver/spanbuf.h"
#include "store/store.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>

struct MHD_Daemon;
struct MHD_Connection;
struct MHD_Response;

/* ---- documents (resdoc.c) ---- */

/* One resource document of a request body: its text (pointing into the
 * body) and where it starts in the body (1-based). */
typedef struct resdoc {
    const char *text;
    size_t len;
    int line, col;
} resdoc;

/* Splits a PUT body into documents: a YAML stream at its `---` lines, or a
 * JSON object or array of objects. *docs is malloc'd (the caller frees
 * it); documents holding only comments are left out. TC_ERR_INPUT with e
 * located (line, col of the body) for JSON that does not parse or is not
 * an object or array of objects; TC_ERR_LIMIT past RES_MAX_DOCS. */
int resdoc_split(const char *body, size_t len, bool json, resdoc **docs, size_t *n, tc_error *e);

/* Loads one document as `tracecheck run` loads a file, with errors and
 * warnings at their line and column in the body. */
int resdoc_load(const resdoc *d, res_file **out, tc_error *e);

/* Appends the document (YAML or JSON text) as one line of JSON. TC_ERR_INPUT
 * when it cannot be written as JSON (a key that is not a scalar). */
int resdoc_to_json(const char *text, size_t len, tc_buf *out, tc_error *e);

/* The document as a jansson value (new reference), or NULL. */
json_t *resdoc_to_jansson(const char *text, size_t len);

/* Replaces the value of every secret entry of a VariableSet document (a
 * jansson object) with MASK_TEXT. Returns how many it replaced. */
size_t resdoc_mask_varset(json_t *doc);

/* ---- the server ---- */

typedef struct srv_job srv_job;

/* A run the server has in hand, from its creation to the end of its
 * worker's part (or its cancellation while queued). Shared by the API
 * threads that follow it; freed when the last reference goes. */
typedef struct srv_run {
    int64_t id;
    unsigned refs; /* (mu) */
    store_run_kind kind;
    char *resource_id;
    int version;
    store_run_state state;        /* (mu) the current state */
    store_state_change *timeline; /* (mu) oldest first, from QUEUED */
    size_t n_timeline, cap_timeline;
    uint32_t spans; /* (mu) spans received so far (the runner's count) */
    bool started;   /* (mu) a worker took it */
    bool done;      /* (mu) ended and its end is stored (or could not be) */
    bool cancelled; /* (mu) a cancel ended it; the worker's result is dropped */
    bool have_tid;  /* (mu) the trace id is known before the run ends */
    uint8_t tid[16];
    bool have_sid;  /* (mu) the trigger span's id is known (triggers that call the system) */
    uint8_t sid[8];
    bool trig_done, trig_ok; /* (mu) the trigger answered: its status and Unix times */
    int trig_status;
    uint64_t trig_start_ns, trig_end_ns;
    struct {
        uint64_t seq;                       /* bumped on every report while the run waits */
        uint64_t at_ns;                     /* monotonic: when it was reported */
        uint64_t quiet_ns, quiet_window_ns; /* at at_ns */
        bool checked;                       /* completeness was checked: missing, unmatched */
        uint32_t missing;
        char *unmatched; /* JSON array of selectors (malloc'd), or NULL */
    } wait; /* (mu) the wait for the trace, for `event: wait` */
    srv_job *job;          /* what the worker needs; owned by the run */
    struct srv_run *next;  /* (mu) the registry */
    struct srv_run *qnext; /* (mu) the queue */
    bool queued, listed;   /* (mu) in the queue, in the registry */
} srv_run;

/* Names of resource versions (immutable), for run lists. */
#define SRV_NAME_CACHE 1024
typedef struct srv_name {
    res_kind kind;
    int version;
    char *id, *name;
} srv_name;

struct server {
    server_opts o; /* strings point at the copies below */
    char *s_listen, *s_http, *s_grpc, *s_db, *s_token, *s_cors;
    char server_id[STORE_MAX_SERVER_ID + 1];
    store *api;     /* the API threads' handle */
    store **wstore; /* one a worker */
    spanbuf *buf;
    recv_http *rh;
    recv_grpc *rg;
    struct MHD_Daemon *mhd;
    int api_port;

    pthread_mutex_t mu;
    pthread_cond_t changed; /* monotonic clock */
    pthread_cond_t work;
    srv_run *runs;            /* (mu) registry */
    srv_run *q_head, *q_tail; /* (mu) queue */
    size_t q_len;
    bool stopping; /* (mu) no new runs */
    bool closing;  /* (mu) event streams end */
    unsigned busy; /* (mu) workers inside a run */
    pthread_t *threads;
    unsigned n_threads;
    pthread_t expirer;
    bool expirer_started;

    pthread_mutex_t names_mu;
    srv_name names[SRV_NAME_CACHE];
};

void srv_log(server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Splits "host:port" / "[v6]:port" / ":port" into host (an empty one is
 * 127.0.0.1) and port. Returns 0 or -1. */
int srv_split_addr(const char *addr, char *host, size_t hn, char *port, size_t pn);

/* CLOCK_REALTIME in ns, and a time as RFC 3339 UTC with milliseconds
 * ("2026-12-03T12:00:00.123Z"; out holds 32 bytes). */
int64_t srv_now_ns(void);
const char *srv_time(int64_t ns, char out[32]);
/* Parses RFC 3339 ("2026-12-03T12:00:00Z", fractions, offsets). 0 or -1. */
int srv_parse_time(const char *s, int64_t *ns);

/* The name of a resource version (cached), or NULL when it cannot be read. */
const char *srv_resource_name(server *s, res_kind kind, const char *id, int version, char *buf, size_t n);

/* ---- API requests and answers (http.c) ---- */

typedef struct srv_req {
    server *s;
    struct MHD_Connection *c;
    const char *method;
    const char *path;
    const char *body;
    size_t body_len;
} srv_req;

typedef struct srv_resp {
    unsigned status;
    const char *content_type; /* static */
    tc_buf body;
    const char *allow;           /* 405: the methods allowed */
    bool retry_after;            /* 503 */
    struct MHD_Response *stream; /* a streamed answer (events), or NULL */
} srv_resp;

/* A header of the request, or NULL; a query argument, or NULL. */
const char *srv_header(const srv_req *rq, const char *name);
const char *srv_arg(const srv_req *rq, const char *name);

/* Sets an error answer: {"error":{"code","message"}} (and "line",
 * "column" when > 0). Always returns -1. */
int srv_fail(srv_resp *rs, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int srv_fail_at(srv_resp *rs, unsigned status, const char *code, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* The answer for a store failure rc (503 with Retry-After when the
 * database is unavailable, 404, 409, 400, 413, 500). Returns -1. */
int srv_fail_store(srv_resp *rs, int rc, const tc_error *e);
/* A JSON answer: status and the body appended by the caller to rs->body. */
void srv_json(srv_resp *rs, unsigned status);

/* Parses a JSON request body into an object (NULL body: an empty object)
 * and checks its keys against allowed (NULL-terminated): 400 bad_request
 * or unknown_field on failure (returns NULL, rs set). */
json_t *srv_body_object(const srv_req *rq, srv_resp *rs, const char *const *allowed);

int srv_http_start(server *s, const char *addr, tc_error *e);
void srv_http_stop(server *s);

/* ---- handlers (api_res.c, api_runs.c) ---- */

void api_resources_put(srv_req *rq, srv_resp *rs);
void api_resource_list(srv_req *rq, srv_resp *rs, res_kind kind);
void api_resource_get(srv_req *rq, srv_resp *rs, res_kind kind, const char *id);
void api_resource_delete(srv_req *rq, srv_resp *rs, res_kind kind, const char *id);

void api_run_start(srv_req *rq, srv_resp *rs, store_run_kind kind, const char *id);
void api_run_list(srv_req *rq, srv_resp *rs);
void api_run_get(srv_req *rq, srv_resp *rs, int64_t id);
void api_run_trace(srv_req *rq, srv_resp *rs, int64_t id);
void api_run_cancel(srv_req *rq, srv_resp *rs, int64_t id);
void api_run_events(srv_req *rq, srv_resp *rs, int64_t id);
void api_select(srv_req *rq, srv_resp *rs);
void api_eval(srv_req *rq, srv_resp *rs);
void api_health(srv_req *rq, srv_resp *rs);
void api_openapi(srv_req *rq, srv_resp *rs);

/* ---- the web UI (ui.c) ---- */

/* Answers a request outside /api/ with a file of ui/ (/ui/PATH) or
 * ui/index.html (any other path): GET and HEAD, ETag and 304, the security
 * headers; 404 for an unknown /ui/ file, 405 for another method. No token.
 * Returns false when the answer could not be queued. */
bool ui_answer(server *s, struct MHD_Connection *c, const char *method, const char *path);

/* ---- runs: JSON (runjson.c) ---- */

/* Appends a run's summary fields (no braces) / its whole GET body. */
void runjson_summary(server *s, tc_buf *out, const store_run *r);
void runjson_full(server *s, tc_buf *out, const store_run *r, const srv_run *live);

/* ---- runs: queue, registry, workers (runs.c) ---- */

/* Prepares a run of the test or suite `id` (version, variables and
 * variable sets from the request body), stores it QUEUED and queues it.
 * Answers 202 with its id, or the error. */
void runs_create(server *s, store_run_kind kind, const char *id, json_t *body, srv_resp *rs);

/* The run in hand with this id, with a reference (runs_put releases it),
 * or NULL when the server does not hold it (it ended before, or never
 * was). */
srv_run *runs_get(server *s, int64_t id);
void runs_put(server *s, srv_run *r);

/* Cancels run id: 202, 409 when it has ended, 404, 503. */
void runs_cancel(server *s, int64_t id, srv_resp *rs);

int runs_start_workers(server *s, tc_error *e);
/* Ends the queued runs as INTERRUPTED, waits up to grace for the running
 * ones and ends those still running as INTERRUPTED. Returns true when no
 * worker is inside a run any more. */
bool runs_drain(server *s, uint64_t grace_ns);
void runs_join_workers(server *s);
void runs_free_all(server *s);

/* Appends a state change to a run in hand and wakes its followers (mu held). */
void runs_push_state_locked(server *s, srv_run *r, store_run_state st, int64_t at_ns);

/* ---- executing a run (exec.c) ---- */

/* What a worker needs: the variables and the loaded documents, prepared
 * when the run is created. */
struct srv_job {
    vars v;
    arena *a;         /* the DataStore's config */
    res_file **files; /* the suite, variable sets, profiles, DataStores read */
    size_t n_files;
    const res_suite *suite_res; /* suite runs: the suite */
    res_file **tests;           /* each step's file (a test run: one step) */
    const res_test **steps;
    char **step_ids;
    int *step_versions;
    const res_polling **polling; /* each step's PollingProfile, or NULL */
    size_t n_steps;
    struct source_config *scfg; /* the backend to poll, or NULL: the receiver */
};

void job_free(srv_job **j);

/* Runs r on the worker's store handle st: trigger, wait, evaluate, store
 * the end (retrying while the database is unavailable). */
void exec_run(server *s, store *st, srv_run *r);

#endif
