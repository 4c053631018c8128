/* store.h - the run history of `tracecheck serve`: versioned resources
 * (Test, TestSuite, VariableSet, PollingProfile and DataStore documents, as
 * given) and runs (state timeline, summary, JSON documents, the trace),
 * behind one interface with two back-ends chosen by the URL store_open
 * gets: SQLite (a file) or PostgreSQL (libpq). docs/store.md has the schema.
 *
 * Errors: every function returns 0 or a code, fills e (may be NULL) on
 * failure and writes its out-parameters only on success:
 *   TC_ERR_IO            the database is unavailable or failed (connection
 *                        lost, disk error, lock wait timed out): not the
 *                        request's fault, a later retry may succeed
 *                        (store_unavailable(); a server answers 503)
 *   STORE_ERR_NOT_FOUND  no such resource, version or run
 *   STORE_ERR_CONFLICT   the run has already ended
 *   TC_ERR_INPUT         a bad argument: an unknown kind or state, an
 *                        empty id, a bad cursor, a document that is not
 *                        JSON, a malformed database URL
 *   TC_ERR_LIMIT         an id, document or trace over its size limit
 *   TC_ERR_UNSUPPORTED   store_open: an unknown URL scheme, or a database
 *                        whose schema is newer than this binary
 *   TC_ERR_NOMEM
 *
 * Threading: a handle holds one database connection and a mutex; every
 * function may be called from any thread and the calls on one handle run
 * one at a time. For parallel access open a handle per thread: SQLite (WAL)
 * runs readers beside the one writer, waiting up to STORE_BUSY_TIMEOUT_MS
 * for the write lock; PostgreSQL gives each handle its own session.
 *
 * PostgreSQL connection loss: the call that finds the connection broken
 * fails with TC_ERR_IO; each later call first reconnects (failing with
 * TC_ERR_IO while the server is down), so a handle outlives a restart of
 * the server. The store never repeats a call by itself: a write cut off at
 * COMMIT may or may not have happened.
 *
 * Ownership: arguments are copied; what a get or list returns lives in one
 * arena, freed by the matching *_free (which accepts NULL and sets the
 * pointer to NULL). Times are Unix nanoseconds (CLOCK_REALTIME). */
#ifndef TC_STORE_H
#define TC_STORE_H

#include "core/error.h"
#include "resource/resource.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_MAX_SERVER_ID 255
#define STORE_SCHEMA_VERSION 2               /* the newest migration this binary knows */
#define STORE_MAX_ID 256                     /* bytes of a resource id */
#define STORE_MAX_NAME 1024                  /* bytes of a resource name or trace id */
#define STORE_MAX_ERROR ((size_t)64 << 10)   /* a run's error message */
#define STORE_MAX_DOCUMENT ((size_t)4 << 20) /* a resource document */
#define STORE_MAX_JSON ((size_t)64 << 20)    /* each JSON document of a run */
#define STORE_MAX_TRACE ((size_t)128 << 20)  /* a run's trace, uncompressed */
#define STORE_PAGE_DEFAULT 50u
#define STORE_PAGE_MAX 500u
#define STORE_BUSY_TIMEOUT_MS 5000 /* SQLite: wait for another writer's lock */
#define STORE_CONNECT_TIMEOUT_S 5  /* PostgreSQL, unless the URL sets connect_timeout */

/* Codes beyond core/error.h's. */
enum {
    STORE_ERR_NOT_FOUND = 32,
    STORE_ERR_CONFLICT = 33,
};

typedef struct store store;
struct arena;

/* ---- the handle ---- */

/* Opens the store named by url: "postgres://..." or "postgresql://..." (a
 * libpq URL) for PostgreSQL, "sqlite:PATH" or a plain PATH for SQLite (the
 * file is created when missing). Applies the pending migrations in one
 * transaction. Fails with TC_ERR_IO when the database cannot be reached or
 * opened, TC_ERR_UNSUPPORTED for another "scheme://" or when the database's
 * schema is newer than STORE_SCHEMA_VERSION ("database schema version 7 is
 * newer than this tracecheck (5): upgrade tracecheck"). */
int store_open(const char *url, store **out, tc_error *e);

/* Closes the connection and frees the handle; no other thread may be using
 * it. Accepts NULL; sets *s to NULL. */
void store_close(store **s);

/* "sqlite" or "postgresql". */
const char *store_backend(const store *s);

/* True for the codes that mean "the database is unavailable, retry later"
 * rather than a fault of the request. */
bool store_unavailable(int rc);

/* Replaces the clock the store stamps times with (default CLOCK_REALTIME);
 * now_ns(user) must be safe to call from any thread. For tests and replays. */
void store_set_clock(store *s, int64_t (*now_ns)(void *user), void *user);

/* ---- resources ---- */

typedef struct store_resource {
    res_kind kind;
    const char *id;
    const char *name; /* of this version (lists: of the latest) */
    int version;      /* this version (lists: the latest) */
    int latest_version;
    int64_t created_ns;   /* when this version was put (lists: the latest) */
    int64_t updated_ns;   /* the resource's last put or delete */
    bool deleted;         /* an explicit version of a deleted resource */
    const char *document; /* NULL in lists */
    size_t document_len;
    struct arena *a; /* owns everything (store_resource_get) */
} store_resource;

typedef struct store_resource_page {
    store_resource *items;
    size_t n;
    const char *next; /* cursor of the next page, NULL on the last */
    struct arena *a;
} store_resource_page;

/* Puts `document` (the resource file's text, as given) for kind + id with
 * its display name. When the document or name differs from the latest
 * version's, it becomes version N+1 (1 for a new id); an identical one
 * makes no version. Putting a deleted resource brings it back. *version
 * (may be NULL) gets the latest version, *created (may be NULL) whether
 * this call made it. TC_ERR_INPUT for RES_OTHER or an empty id or name,
 * TC_ERR_LIMIT past STORE_MAX_ID, STORE_MAX_NAME or STORE_MAX_DOCUMENT. */
int store_resource_put(store *s, res_kind kind, const char *id, const char *name, const char *document,
                       int *version, bool *created, tc_error *e);

/* One resource of store_resource_put_many. */
typedef struct store_resource_in {
    res_kind kind;
    const char *id, *name, *document;
} store_resource_in;

/* Puts n resources as store_resource_put does, all in one transaction:
 * all are stored or none. versions[i] and created[i] (each may be NULL)
 * as for one put; on failure *failed (may be NULL) is the index of the one
 * that failed. */
int store_resource_put_many(store *s, const store_resource_in *in, size_t n, int *versions, bool *created,
                            size_t *failed, tc_error *e);

/* The given version (0: the latest) of a resource, with its document.
 * The latest of a deleted resource is STORE_ERR_NOT_FOUND; its explicit
 * versions are still there (runs point at them), marked deleted. */
int store_resource_get(store *s, res_kind kind, const char *id, int version, store_resource **out,
                       tc_error *e);
void store_resource_free(store_resource **r);

/* Marks the resource deleted: it no longer lists and has no latest version;
 * its versions and the runs of them stay. STORE_ERR_NOT_FOUND when there is
 * no such live resource. */
int store_resource_delete(store *s, res_kind kind, const char *id, tc_error *e);

/* The live resources of a kind, by id, `limit` a page (0: STORE_PAGE_DEFAULT,
 * at most STORE_PAGE_MAX) after `cursor` (NULL: from the first; else the
 * previous page's next). Documents are not loaded. */
int store_resource_list(store *s, res_kind kind, const char *cursor, unsigned limit,
                        store_resource_page **out, tc_error *e);
void store_resource_page_free(store_resource_page **p);

/* ---- runs ---- */

/* The runner's states (src/run/runner.h: CREATED ... EVALUATION_FAILED)
 * under the same names, plus the server's: QUEUED (waiting for a worker),
 * INTERRUPTED (the server stopped during the run), CANCELLED. */
typedef enum store_run_state {
    STORE_RUN_ANY = 0, /* filters only */
    STORE_RUN_QUEUED,
    STORE_RUN_CREATED,
    STORE_RUN_TRIGGERING,
    STORE_RUN_AWAITING_TRACE,
    STORE_RUN_EVALUATING,
    STORE_RUN_FINISHED, /* final states from here */
    STORE_RUN_TRIGGER_FAILED,
    STORE_RUN_TRACE_FAILED,
    STORE_RUN_EVALUATION_FAILED,
    STORE_RUN_INTERRUPTED,
    STORE_RUN_CANCELLED,
    STORE_RUN_N_STATES,
} store_run_state;

typedef enum store_run_kind { STORE_TEST_RUN, STORE_SUITE_RUN } store_run_kind;

typedef enum store_result {
    STORE_RESULT_NONE, /* not ended */
    STORE_RESULT_PASSED,
    STORE_RESULT_FAILED,
    STORE_RESULT_ERROR,
} store_result;

typedef struct store_state_change {
    store_run_state state;
    int64_t at_ns;
} store_state_change;

typedef struct store_run {
    int64_t id; /* assigned by the store, increasing */
    store_run_kind kind;
    const char *resource_id; /* a Test's or TestSuite's id */
    int resource_version;
    store_run_state state;
    int64_t created_ns;
    int64_t updated_ns;      /* the last state change */
    int64_t finished_ns;     /* 0 until the run ends */
    uint32_t passed, failed; /* specs */
    store_result result;
    const char *trace_id; /* NULL when not recorded */
    const char *error;    /* why the run failed, or NULL */
    /* store_run_get only (NULL, 0 in lists): */
    const char *variables; /* JSON documents as given, or NULL */
    const char *trigger;
    const char *results;
    const char *outputs;
    size_t trace_len;                   /* uncompressed bytes of the stored trace, 0: none */
    const store_state_change *timeline; /* oldest first, the current state last */
    size_t n_timeline;
    struct arena *a; /* owns everything (store_run_get) */
} store_run;

typedef struct store_run_new {
    store_run_kind kind;
    const char *resource_id;
    int resource_version;  /* 0: the latest (the resource must be live) */
    const char *variables; /* JSON with secrets already masked, or NULL */
} store_run_new;

typedef struct store_run_end {
    store_run_state state; /* a final state */
    uint32_t passed, failed;
    store_result result;  /* not NONE */
    const char *trace_id; /* or NULL */
    const char *error;    /* or NULL */
    const char *trigger;  /* JSON: the trigger's request and response, or NULL */
    const char *results;  /* JSON, or NULL */
    const char *outputs;  /* JSON, or NULL */
    const void *trace;    /* OTLP protobuf bytes, or NULL */
    size_t trace_len;     /* at most STORE_MAX_TRACE; 0: no trace */
} store_run_end;

typedef struct store_run_filter {
    const char *resource_id; /* NULL: any */
    store_run_state state;   /* STORE_RUN_ANY: any */
    int64_t from_ns, to_ns;  /* created in [from_ns, to_ns); 0: unbounded */
    const char *cursor;      /* NULL: from the newest; else the previous page's next */
    unsigned limit;          /* 0: STORE_PAGE_DEFAULT; at most STORE_PAGE_MAX */
} store_run_filter;

typedef struct store_run_page {
    store_run *runs; /* newest first: by created time, then id */
    size_t n;
    const char *next; /* cursor of the next page, NULL on the last */
    struct arena *a;
} store_run_page;

/* A new run, QUEUED, of a version of a Test (STORE_TEST_RUN) or TestSuite.
 * *id gets its id. STORE_ERR_NOT_FOUND when the version does not exist (or,
 * for version 0, the resource is deleted). */
int store_run_create(store *s, const store_run_new *in, int64_t *id, tc_error *e);

/* Moves a run to a state that is not final, appending it to the timeline.
 * STORE_ERR_CONFLICT when the run has ended, TC_ERR_INPUT for a final state
 * (runs end with store_run_finish). */
int store_run_set_state(store *s, int64_t id, store_run_state state, tc_error *e);

/* Ends a run: its final state (on the timeline), summary, documents and
 * trace (compressed with zlib), committed in one transaction: on any
 * failure nothing of it is written. STORE_ERR_CONFLICT when the run has
 * already ended, TC_ERR_LIMIT for a trace over STORE_MAX_TRACE or a
 * document over STORE_MAX_JSON, TC_ERR_INPUT for a document that is not
 * JSON or a state that is not final. */
int store_run_finish(store *s, int64_t id, const store_run_end *end, tc_error *e);

/* For a server starting: every run left in a state that is not final
 * becomes INTERRUPTED (ended now, result error, on the timeline). *count
 * (may be NULL) gets how many. One transaction. */
int store_runs_interrupt_running(store *s, uint64_t *count, tc_error *e);

/* Servers sharing one database (replicas). store_set_server names the
 * server this handle works for (at most STORE_MAX_SERVER_ID bytes): the
 * runs it creates belong to it. store_server_heartbeat records that the
 * server is alive (now). store_runs_interrupt_orphans ends as INTERRUPTED
 * the unfinished runs of servers whose last heartbeat is older than
 * stale_before_ns (a replica that died), and with `own` also those of this
 * server and of none (a server starting again: what its previous process
 * left). One transaction; *count (may be NULL) gets how many. */
void store_set_server(store *s, const char *server_id);
int store_server_heartbeat(store *s, tc_error *e);
int store_runs_interrupt_orphans(store *s, bool own, int64_t stale_before_ns, uint64_t *count, tc_error *e);

/* A run with its documents and timeline (not its trace). */
int store_run_get(store *s, int64_t id, store_run **out, tc_error *e);
void store_run_free(store_run **r);

/* The run's trace as it was given (decompressed) into *data (malloc'd: the
 * caller frees it) and *len. STORE_ERR_NOT_FOUND when the run or its trace
 * does not exist. */
int store_run_trace(store *s, int64_t id, uint8_t **data, size_t *len, tc_error *e);

/* A page of runs matching f (NULL: all), newest first: keyset pagination
 * on (created time, id), so runs added between pages neither repeat nor
 * shift a page. Documents and timelines are not loaded. TC_ERR_INPUT for a
 * malformed cursor. */
int store_run_list(store *s, const store_run_filter *f, store_run_page **out, tc_error *e);
void store_run_page_free(store_run_page **p);

/* ---- names ---- */

/* "QUEUED", "TRIGGERING", ...; "ANY" for STORE_RUN_ANY. */
const char *store_run_state_name(store_run_state st);
/* The state named (exact, upper case). Returns 0 or TC_ERR_INPUT. */
int store_run_state_parse(const char *name, store_run_state *out);
bool store_run_state_final(store_run_state st);
/* "test", "suite". */
const char *store_run_kind_name(store_run_kind k);
/* "", "passed", "failed", "error". */
const char *store_result_name(store_result r);

#endif
