/* store.c - the run history's logic and SQL, shared by both back-ends
 * (see store.h; the back-ends are store_sqlite.c and store_pg.c). */
#include "store_int.h"

#include "core/arena.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* ---- the SQL: one text for both back-ends unless a row-lock differs ---- */

typedef struct sql_text {
    const char *both;
    const char *sqlite, *pg; /* when the back-ends differ; NULL: the back-end needs no statement */
    bool binary;
} sql_text;

/* SQLite's BEGIN IMMEDIATE already holds the one write lock */
#define LOCKED(sql) .sqlite = sql, .pg = sql " FOR UPDATE"

#define RUN_COLS                                                                                             \
    "id, kind, resource_id, resource_version, state, created_at, updated_at, finished_at, passed, failed, "  \
    "result, trace_id, error"
#define RUN_N_COLS 13
/* keyset pagination, newest first: rows before ($2, $3), the cursor's (created_at, id) or the end of
 * the time range, whichever comes first (one upper bound, so the index seeks to it) */
#define RUN_LIST_FROM "SELECT " RUN_COLS " FROM runs WHERE created_at >= $1 AND (created_at, id) < ($2, $3)"
#define RUN_LIST_ORDER " ORDER BY created_at DESC, id DESC LIMIT $4"
#define RES_JOIN "FROM resources r JOIN resource_versions v ON v.kind = r.kind AND v.id = r.id"
#define RES_COLS                                                                                             \
    "SELECT v.version, v.name, v.document, v.created_at, r.updated_at, r.latest_version, "                   \
    "CASE WHEN r.deleted_at IS NULL THEN 0 ELSE 1 END "

/* why an interrupted run ended: $4 names the stop, by the state it was in */
#define INTERRUPT_WHY                                                                                        \
    "CASE WHEN state = 'QUEUED' THEN 'interrupted: ' || $4 || ' before the run started' "                   \
    "ELSE 'interrupted: ' || $4 || ' during the run' END"

static const sql_text SQL[Q_N] = {
    [Q_MIG_LOCK] = {.pg = "SELECT pg_advisory_xact_lock(CAST($1 AS BIGINT))"},
    [Q_MIG_VERSION] = {.both = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"},
    [Q_MIG_INSERT] = {.both = "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)"},
    [Q_RES_ENSURE] = {.both = "INSERT INTO resources (kind, id, latest_version, created_at, updated_at) "
                              "VALUES ($1, $2, 0, $3, $3) ON CONFLICT (kind, id) DO NOTHING"},
    [Q_RES_LOCK] = {LOCKED("SELECT latest_version, CASE WHEN deleted_at IS NULL THEN 0 ELSE 1 END "
                           "FROM resources WHERE kind = $1 AND id = $2")},
    [Q_RES_SAME] =
        {.both = "SELECT CASE WHEN name = $4 AND document = $5 THEN 1 ELSE 0 END FROM resource_versions "
                 "WHERE kind = $1 AND id = $2 AND version = $3"},
    [Q_RES_ADD_VERSION] =
        {.both = "INSERT INTO resource_versions (kind, id, version, name, document, created_at) "
                 "VALUES ($1, $2, $3, $4, $5, $6)"},
    [Q_RES_SET_LATEST] = {.both =
                              "UPDATE resources SET latest_version = $3, updated_at = $4, deleted_at = NULL "
                              "WHERE kind = $1 AND id = $2"},
    [Q_RES_GET_LATEST] = {.both =
                              RES_COLS RES_JOIN " AND v.version = r.latest_version "
                                                "WHERE r.kind = $1 AND r.id = $2 AND r.deleted_at IS NULL"},
    [Q_RES_GET_VERSION] = {.both = RES_COLS RES_JOIN " WHERE r.kind = $1 AND r.id = $2 AND v.version = $3"},
    [Q_RES_DELETE] = {.both = "UPDATE resources SET deleted_at = $3, updated_at = $3 "
                              "WHERE kind = $1 AND id = $2 AND deleted_at IS NULL"},
    [Q_RES_LIST] =
        {.both = "SELECT r.id, v.name, r.latest_version, v.created_at, r.updated_at " RES_JOIN
                 " AND v.version = r.latest_version WHERE r.kind = $1 AND r.deleted_at IS NULL AND r.id > $2 "
                 "ORDER BY r.id LIMIT $3"},
    [Q_RUN_VERSION] =
        {.both = "SELECT version FROM resource_versions WHERE kind = $1 AND id = $2 AND version = $3"},
    [Q_RUN_VERSION_LATEST] = {.both = "SELECT latest_version FROM resources "
                                      "WHERE kind = $1 AND id = $2 AND deleted_at IS NULL"},
    [Q_RUN_INSERT] =
        {.both = "INSERT INTO runs (kind, resource_kind, resource_id, resource_version, state, created_at, "
                 "updated_at, variables, server_id) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) RETURNING id"},
    [Q_STATE_ADD] = {.both = "INSERT INTO run_states (run_id, state, at) VALUES ($1, $2, $3)"},
    [Q_RUN_SET_STATE] =
        {.both = "UPDATE runs SET state = $2, updated_at = $3 WHERE id = $1 AND finished_at IS NULL"},
    [Q_RUN_LOCK] = {LOCKED("SELECT CASE WHEN finished_at IS NULL THEN 0 ELSE 1 END FROM runs WHERE id = $1")},
    [Q_TRACE_ADD] = {.both = "INSERT INTO run_traces (run_id, raw_size, data) VALUES ($1, $2, $3)"},
    [Q_RUN_END] =
        {.both = "UPDATE runs SET state = $2, updated_at = $3, finished_at = $3, passed = $4, failed = $5, "
                 "result = $6, trace_id = $7, error = $8, trigger_data = $9, results = $10, outputs = $11 "
                 "WHERE id = $1"},
    [Q_RUN_GET] =
        {.both = "SELECT " RUN_COLS ", variables, trigger_data, results, outputs, "
                 "(SELECT raw_size FROM run_traces t WHERE t.run_id = runs.id) FROM runs WHERE id = $1"},
    [Q_RUN_TIMELINE] = {.both = "SELECT state, at FROM run_states WHERE run_id = $1 ORDER BY id"},
    [Q_TRACE_GET] = {.both = "SELECT CAST(raw_size AS TEXT), data FROM run_traces WHERE run_id = $1",
                     .binary = true},
    [Q_INTERRUPT_RUNS] =
        {.both = "UPDATE runs SET state = $1, updated_at = $2, finished_at = $2, result = $3, error = " INTERRUPT_WHY
                 " WHERE finished_at IS NULL RETURNING id"},
    /* runs of this server ($5) or of none, when $7 = 1; runs of a server
       whose heartbeat stopped before $6 */
    [Q_INTERRUPT_ORPHANS] =
        {.both = "UPDATE runs SET state = $1, updated_at = $2, finished_at = $2, result = $3, error = " INTERRUPT_WHY
                 " WHERE finished_at IS NULL AND (($7 = 1 AND (server_id IS NULL OR server_id = $5)) OR "
                 "(server_id IS NOT NULL AND server_id <> $5 AND NOT EXISTS (SELECT 1 FROM servers sv "
                 "WHERE sv.id = runs.server_id AND sv.heartbeat_at >= $6))) RETURNING id"},
    [Q_SERVER_BEAT] = {.both = "INSERT INTO servers (id, started_at, heartbeat_at) VALUES ($1, $2, $2) "
                               "ON CONFLICT (id) DO UPDATE SET heartbeat_at = $2"},
    [Q_RUN_LIST] = {.both = RUN_LIST_FROM RUN_LIST_ORDER},
    [Q_RUN_LIST_RES] = {.both = RUN_LIST_FROM " AND resource_id = $5" RUN_LIST_ORDER},
    [Q_RUN_LIST_STATE] = {.both = RUN_LIST_FROM " AND state = $5" RUN_LIST_ORDER},
    [Q_RUN_LIST_RES_STATE] = {.both = RUN_LIST_FROM " AND resource_id = $5 AND state = $6" RUN_LIST_ORDER},
};

#define AI(v) ((db_arg){.type = DB_INT, .i = (int64_t)(v)})
#define AT(s) text_arg(s)
#define AB(ptr, len) ((db_arg){.type = DB_BLOB, .p = (ptr), .n = (len)})
#define NARGS(a) ((int)(sizeof(a) / sizeof *(a)))

static db_arg text_arg(const char *s)
{
    return (db_arg){.type = s ? DB_TEXT : DB_NULL, .p = s};
}

/* the key of PostgreSQL's advisory lock that serialises migrations ("tracechk") */
#define MIGRATION_LOCK_KEY 0x7472616365636b6bll

static int exec_q(store *s, int q, const db_arg *a, int n, db_row_fn fn, void *ctx, int64_t *changes,
                  tc_error *e)
{
    const sql_text *t = &SQL[q];
    db_query dq = {q, t->both ? t->both : s->ops->is_pg ? t->pg : t->sqlite, t->binary};
    if (!dq.sql) {
        if (changes)
            *changes = 0;
        return 0;
    }
    return s->ops->exec(s, &dq, a, n, fn, ctx, changes, e);
}

/* ---- small helpers ---- */

static int64_t parse_i64(const db_row *r, int col)
{
    if (col >= r->n || !r->c[col].p)
        return 0;
    return strtoll(r->c[col].p, NULL, 10);
}

typedef struct ints {
    bool found;
    int64_t v[4];
} ints;

/* Reads the first row's first columns as integers. */
static int row_ints(void *ctx, const db_row *r)
{
    ints *o = ctx;
    if (o->found)
        return 0;
    o->found = true;
    for (int i = 0; i < 4 && i < r->n; i++)
        o->v[i] = parse_i64(r, i);
    return 0;
}

static int64_t clock_realtime_ns(void *user)
{
    (void)user;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000ll + t.tv_nsec;
}

static int64_t now(store *s)
{
    return s->now_ns(s->now_user);
}

/* Takes the handle for one call and makes sure the connection is usable. */
static int enter(store *s, tc_error *e)
{
    pthread_mutex_lock(&s->mu);
    int rc = s->ops->ready(s, e);
    if (rc)
        pthread_mutex_unlock(&s->mu);
    return rc;
}

static void leave(store *s)
{
    pthread_mutex_unlock(&s->mu);
}

static int tx_begin(store *s, bool write, tc_error *e)
{
    return s->ops->script(s, write ? s->ops->begin_write : s->ops->begin_read, e);
}

/* Commits when rc is 0, else (or when COMMIT fails) rolls back. Returns the outcome. */
static int tx_end(store *s, int rc, tc_error *e)
{
    if (rc == 0) {
        rc = s->ops->script(s, "COMMIT", e);
        if (rc == 0)
            return 0;
    }
    if (s->ops->in_tx(s))
        s->ops->script(s, "ROLLBACK", NULL);
    return rc;
}

static char *dup_col(arena *a, const db_row *r, int col)
{
    if (col >= r->n || !r->c[col].p)
        return NULL;
    return arena_strndup(a, r->c[col].p, r->c[col].len);
}

/* ---- names ---- */

static const char *const state_names[STORE_RUN_N_STATES] = {
    [STORE_RUN_ANY] = "ANY",
    [STORE_RUN_QUEUED] = "QUEUED",
    [STORE_RUN_CREATED] = "CREATED",
    [STORE_RUN_TRIGGERING] = "TRIGGERING",
    [STORE_RUN_AWAITING_TRACE] = "AWAITING_TRACE",
    [STORE_RUN_EVALUATING] = "EVALUATING",
    [STORE_RUN_FINISHED] = "FINISHED",
    [STORE_RUN_TRIGGER_FAILED] = "TRIGGER_FAILED",
    [STORE_RUN_TRACE_FAILED] = "TRACE_FAILED",
    [STORE_RUN_EVALUATION_FAILED] = "EVALUATION_FAILED",
    [STORE_RUN_INTERRUPTED] = "INTERRUPTED",
    [STORE_RUN_CANCELLED] = "CANCELLED",
};

const char *store_run_state_name(store_run_state st)
{
    return (unsigned)st < STORE_RUN_N_STATES ? state_names[st] : "UNKNOWN";
}

int store_run_state_parse(const char *name, store_run_state *out)
{
    for (int i = STORE_RUN_QUEUED; name && i < STORE_RUN_N_STATES; i++)
        if (!strcmp(name, state_names[i])) {
            *out = (store_run_state)i;
            return 0;
        }
    return TC_ERR_INPUT;
}

bool store_run_state_final(store_run_state st)
{
    return st >= STORE_RUN_FINISHED && st < STORE_RUN_N_STATES;
}

const char *store_run_kind_name(store_run_kind k)
{
    return k == STORE_SUITE_RUN ? "suite" : "test";
}

static const char *const result_names[] = {"", "passed", "failed", "error"};

const char *store_result_name(store_result r)
{
    return (unsigned)r <= STORE_RESULT_ERROR ? result_names[r] : "";
}

static store_result parse_result(const char *s)
{
    for (int i = STORE_RESULT_PASSED; s && i <= STORE_RESULT_ERROR; i++)
        if (!strcmp(s, result_names[i]))
            return (store_result)i;
    return STORE_RESULT_NONE;
}

static bool storable_kind(res_kind k)
{
    return k == RES_TEST || k == RES_TESTSUITE || k == RES_VARSET || k == RES_POLLING || k == RES_DATASTORE;
}

/* ---- checks on arguments ---- */

static int check_text(const char *what, const char *s, size_t max, tc_error *e)
{
    if (!s || !*s)
        return tc_error_set(e, TC_ERR_INPUT, "store: empty %s", what);
    if (strlen(s) > max)
        return tc_error_set(e, TC_ERR_LIMIT, "store: %s longer than %zu bytes", what, max);
    return 0;
}

static int check_optional(const char *what, const char *s, size_t max, tc_error *e)
{
    if (s && strlen(s) > max)
        return tc_error_set(e, TC_ERR_LIMIT, "store: %s longer than %zu bytes", what, max);
    return 0;
}

static int check_kind(res_kind k, tc_error *e)
{
    if (!storable_kind(k))
        return tc_error_set(e, TC_ERR_INPUT, "store: resources of kind %s are not kept", res_kind_name(k));
    return 0;
}

/* ---- the handle ---- */

static int starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* Applies the pending migrations in one transaction (PostgreSQL: under an
 * advisory lock, so servers starting together migrate once). */
static int migrate(store *s, tc_error *e)
{
    int rc = tx_begin(s, true, e);
    if (rc)
        return rc;
    db_arg lock[] = {AI(MIGRATION_LOCK_KEY)};
    rc = exec_q(s, Q_MIG_LOCK, lock, NARGS(lock), NULL, NULL, NULL, e);
    if (!rc)
        rc = s->ops->script(s,
                            "CREATE TABLE IF NOT EXISTS schema_migrations "
                            "(version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
                            e);
    ints have = {0};
    if (!rc)
        rc = exec_q(s, Q_MIG_VERSION, NULL, 0, row_ints, &have, NULL, e);
    if (!rc && have.v[0] > STORE_SCHEMA_VERSION)
        rc = tc_error_set(e, TC_ERR_UNSUPPORTED,
                          "database schema version %" PRId64
                          " is newer than this tracecheck (%d): upgrade tracecheck",
                          have.v[0], STORE_SCHEMA_VERSION);
    for (int v = (int)have.v[0] + 1; !rc && v <= STORE_SCHEMA_VERSION; v++) {
        const char *script = s->ops->is_pg ? store_pg_migration(v) : store_sqlite_migration(v);
        rc = s->ops->script(s, script, e);
        db_arg a[] = {AI(v), AI(now(s))};
        if (!rc)
            rc = exec_q(s, Q_MIG_INSERT, a, NARGS(a), NULL, NULL, NULL, e);
        if (rc && rc != TC_ERR_NOMEM && e) {
            char msg[TC_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", e->msg);
            tc_error_set(e, rc, "migration %d: %s", v, msg);
        }
    }
    return tx_end(s, rc, e);
}

int store_open(const char *url, store **out, tc_error *e)
{
    if (!url || !*url)
        return tc_error_set(e, TC_ERR_INPUT, "store: no database URL");
    bool pg = starts(url, "postgres://") || starts(url, "postgresql://");
    const char *path = url;
    if (!pg) {
        if (starts(url, "sqlite:"))
            path = url + strlen("sqlite:");
        else if (strstr(url, "://"))
            return tc_error_set(
                e, TC_ERR_UNSUPPORTED,
                "store: unknown database URL scheme in \"%.64s\" (postgres://, postgresql://, "
                "sqlite:PATH or a file path)",
                url);
        if (!*path)
            return tc_error_set(e, TC_ERR_INPUT, "store: no SQLite file path in \"%s\"", url);
    }
    store *s = calloc(1, sizeof *s);
    if (!s)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    if (pthread_mutex_init(&s->mu, NULL)) {
        free(s);
        return tc_error_set(e, TC_ERR_NOMEM, "store: cannot make a mutex");
    }
    s->now_ns = clock_realtime_ns;
    int rc = pg ? store_pg_open(s, url, e) : store_sqlite_open(s, path, e);
    if (rc) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return rc;
    }
    rc = migrate(s, e);
    if (rc) {
        store_close(&s);
        return rc;
    }
    *out = s;
    return 0;
}

void store_close(store **sp)
{
    if (!sp || !*sp)
        return;
    store *s = *sp;
    if (s->ops)
        s->ops->close(s);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *sp = NULL;
}

const char *store_backend(const store *s)
{
    return s->ops->name;
}

bool store_unavailable(int rc)
{
    return rc == TC_ERR_IO;
}

void store_set_server(store *s, const char *server_id)
{
    pthread_mutex_lock(&s->mu);
    snprintf(s->server_id, sizeof s->server_id, "%s", server_id ? server_id : "");
    pthread_mutex_unlock(&s->mu);
}

int store_server_heartbeat(store *s, tc_error *e)
{
    int rc = enter(s, e);
    if (rc)
        return rc;
    if (s->server_id[0]) {
        db_arg a[] = {AT(s->server_id), AI(now(s))};
        rc = exec_q(s, Q_SERVER_BEAT, a, NARGS(a), NULL, NULL, NULL, e);
    }
    leave(s);
    return rc;
}

void store_set_clock(store *s, int64_t (*now_ns)(void *user), void *user)
{
    pthread_mutex_lock(&s->mu);
    s->now_ns = now_ns ? now_ns : clock_realtime_ns;
    s->now_user = now_ns ? user : NULL;
    pthread_mutex_unlock(&s->mu);
}

/* ---- cursors: hex, opaque to callers ---- */

static void hex_encode(char *dst, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[p[i] >> 4];
        dst[2 * i + 1] = digits[p[i] & 15];
    }
    dst[2 * n] = 0;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes hex text into dst (room for max bytes). Returns the byte count or -1. */
static long hex_decode(const char *s, unsigned char *dst, size_t max)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        dst[i] = (unsigned char)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static unsigned page_limit(unsigned limit)
{
    return limit == 0 ? STORE_PAGE_DEFAULT : limit > STORE_PAGE_MAX ? STORE_PAGE_MAX : limit;
}

/* ---- resources ---- */

static int check_put(const store_resource_in *in, tc_error *e)
{
    int rc = check_kind(in->kind, e);
    if (!rc)
        rc = check_text("resource id", in->id, STORE_MAX_ID, e);
    if (!rc)
        rc = check_text("resource name", in->name, STORE_MAX_NAME, e);
    if (!rc && !in->document)
        rc = tc_error_set(e, TC_ERR_INPUT, "store: no document");
    if (!rc)
        rc = check_optional("resource document", in->document, STORE_MAX_DOCUMENT, e);
    return rc;
}

/* One put inside the caller's write transaction. */
static int put_one(store *s, const store_resource_in *in, int64_t t, int *version, bool *created, tc_error *e)
{
    const char *k = res_kind_name(in->kind);
    ints cur = {0}, same = {0};
    int latest = 0;
    bool made = false;
    db_arg ensure[] = {AT(k), AT(in->id), AI(t)};
    int rc = exec_q(s, Q_RES_ENSURE, ensure, NARGS(ensure), NULL, NULL, NULL, e);
    db_arg key[] = {AT(k), AT(in->id)};
    if (!rc)
        rc = exec_q(s, Q_RES_LOCK, key, NARGS(key), row_ints, &cur, NULL, e);
    if (!rc && !cur.found)
        rc = tc_error_set(e, TC_ERR_IO, "store: the resource row vanished");
    latest = (int)cur.v[0];
    if (!rc && latest > 0) {
        db_arg a[] = {AT(k), AT(in->id), AI(latest), AT(in->name), AT(in->document)};
        rc = exec_q(s, Q_RES_SAME, a, NARGS(a), row_ints, &same, NULL, e);
    }
    if (!rc && !(same.found && same.v[0] == 1)) {
        latest++;
        made = true;
        db_arg a[] = {AT(k), AT(in->id), AI(latest), AT(in->name), AT(in->document), AI(t)};
        rc = exec_q(s, Q_RES_ADD_VERSION, a, NARGS(a), NULL, NULL, NULL, e);
    }
    if (!rc && (made || cur.v[1])) { /* a new version, or an unchanged one brought back */
        db_arg a[] = {AT(k), AT(in->id), AI(latest), AI(t)};
        rc = exec_q(s, Q_RES_SET_LATEST, a, NARGS(a), NULL, NULL, NULL, e);
    }
    if (!rc) {
        *version = latest;
        *created = made;
    }
    return rc;
}

int store_resource_put_many(store *s, const store_resource_in *in, size_t n, int *versions, bool *created,
                            size_t *failed, tc_error *e)
{
    if (failed)
        *failed = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = check_put(&in[i], e);
        if (rc) {
            if (failed)
                *failed = i;
            return rc;
        }
    }
    int rc = enter(s, e);
    if (rc)
        return rc;
    int64_t t = now(s);
    rc = tx_begin(s, true, e);
    for (size_t i = 0; !rc && i < n; i++) {
        int v = 0;
        bool c = false;
        rc = put_one(s, &in[i], t, &v, &c, e);
        if (rc && failed)
            *failed = i;
        if (!rc && versions)
            versions[i] = v;
        if (!rc && created)
            created[i] = c;
    }
    rc = tx_end(s, rc, e);
    leave(s);
    return rc;
}

int store_resource_put(store *s, res_kind kind, const char *id, const char *name, const char *document,
                       int *version, bool *created, tc_error *e)
{
    store_resource_in in = {kind, id, name, document};
    int v = 0;
    bool c = false;
    int rc = store_resource_put_many(s, &in, 1, &v, &c, NULL, e);
    if (!rc) {
        if (version)
            *version = v;
        if (created)
            *created = c;
    }
    return rc;
}

typedef struct res_read {
    store_resource *r;
    int rc;
} res_read;

static int row_resource(void *ctx, const db_row *row)
{
    res_read *rr = ctx;
    store_resource *r = rr->r;
    r->version = (int)parse_i64(row, 0);
    r->name = dup_col(r->a, row, 1);
    r->document = dup_col(r->a, row, 2);
    r->document_len = row->c[2].len;
    r->created_ns = parse_i64(row, 3);
    r->updated_ns = parse_i64(row, 4);
    r->latest_version = (int)parse_i64(row, 5);
    r->deleted = parse_i64(row, 6) != 0;
    rr->rc = r->name && r->document ? 0 : TC_ERR_NOMEM;
    return 0;
}

int store_resource_get(store *s, res_kind kind, const char *id, int version, store_resource **out,
                       tc_error *e)
{
    int rc = check_kind(kind, e);
    if (!rc)
        rc = check_text("resource id", id, STORE_MAX_ID, e);
    if (!rc && version < 0)
        rc = tc_error_set(e, TC_ERR_INPUT, "store: version %d", version);
    if (rc)
        return rc;
    arena *a = arena_new(0);
    store_resource *r = a ? arena_calloc(a, 1, sizeof *r) : NULL;
    if (!r) {
        arena_free(&a);
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    }
    r->a = a;
    r->kind = kind;
    r->id = arena_strdup(a, id);
    res_read rr = {r, STORE_ERR_NOT_FOUND};
    if ((rc = enter(s, e))) {
        arena_free(&a);
        return rc;
    }
    db_arg args[] = {AT(res_kind_name(kind)), AT(id), AI(version)};
    rc = exec_q(s, version ? Q_RES_GET_VERSION : Q_RES_GET_LATEST, args, version ? 3 : 2, row_resource, &rr,
                NULL, e);
    leave(s);
    if (!rc && rr.rc == STORE_ERR_NOT_FOUND) {
        if (version)
            rc = tc_error_set(e, STORE_ERR_NOT_FOUND, "%s %s has no version %d", res_kind_name(kind), id,
                              version);
        else
            rc = tc_error_set(e, STORE_ERR_NOT_FOUND, "no %s %s", res_kind_name(kind), id);
    } else if (!rc && (rr.rc || !r->id)) {
        rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    }
    if (rc) {
        arena_free(&a);
        return rc;
    }
    *out = r;
    return 0;
}

void store_resource_free(store_resource **r)
{
    if (!r || !*r)
        return;
    arena *a = (*r)->a;
    arena_free(&a);
    *r = NULL;
}

int store_resource_delete(store *s, res_kind kind, const char *id, tc_error *e)
{
    int rc = check_kind(kind, e);
    if (!rc)
        rc = check_text("resource id", id, STORE_MAX_ID, e);
    if (rc || (rc = enter(s, e)))
        return rc;
    int64_t changed = 0;
    db_arg a[] = {AT(res_kind_name(kind)), AT(id), AI(now(s))};
    rc = exec_q(s, Q_RES_DELETE, a, NARGS(a), NULL, NULL, &changed, e);
    leave(s);
    if (!rc && changed == 0)
        rc = tc_error_set(e, STORE_ERR_NOT_FOUND, "no %s %s", res_kind_name(kind), id);
    return rc;
}

typedef struct res_list {
    store_resource_page *p;
    res_kind kind;
    size_t cap;
    bool more; /* the query's extra row came: there is a next page */
    int rc;
} res_list;

static int row_res_item(void *ctx, const db_row *row)
{
    res_list *l = ctx;
    if (l->p->n == l->cap) {
        l->more = true;
        return 0;
    }
    store_resource *r = &l->p->items[l->p->n++];
    r->kind = l->kind;
    r->id = dup_col(l->p->a, row, 0);
    r->name = dup_col(l->p->a, row, 1);
    r->version = r->latest_version = (int)parse_i64(row, 2);
    r->created_ns = parse_i64(row, 3);
    r->updated_ns = parse_i64(row, 4);
    if (!r->id || !r->name)
        l->rc = TC_ERR_NOMEM;
    return 0;
}

int store_resource_list(store *s, res_kind kind, const char *cursor, unsigned limit,
                        store_resource_page **out, tc_error *e)
{
    int rc = check_kind(kind, e);
    if (rc)
        return rc;
    /* the cursor is the last id of the previous page, in hex */
    unsigned char after[STORE_MAX_ID + 1];
    long after_len = 0;
    if (cursor &&
        ((after_len = hex_decode(cursor, after, STORE_MAX_ID)) <= 0 || memchr(after, 0, (size_t)after_len)))
        return tc_error_set(e, TC_ERR_INPUT, "store: bad cursor");
    after[after_len] = 0;
    unsigned n = page_limit(limit);
    arena *a = arena_new(0);
    store_resource_page *p = a ? arena_calloc(a, 1, sizeof *p) : NULL;
    if (p)
        p->items = arena_calloc(a, n, sizeof *p->items);
    if (!p || !p->items) {
        arena_free(&a);
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    }
    p->a = a;
    res_list l = {p, kind, n, false, 0};
    if ((rc = enter(s, e))) {
        arena_free(&a);
        return rc;
    }
    db_arg args[] = {AT(res_kind_name(kind)), AT((const char *)after), AI(n + 1)};
    rc = exec_q(s, Q_RES_LIST, args, NARGS(args), row_res_item, &l, NULL, e);
    leave(s);
    if (!rc && l.rc)
        rc = tc_error_set(e, l.rc, "out of memory");
    if (!rc && l.more) {
        const char *last = p->items[n - 1].id;
        char *c = arena_alloc(a, 2 * strlen(last) + 1);
        if (c)
            hex_encode(c, (const unsigned char *)last, strlen(last));
        else
            rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        p->next = c;
    }
    if (rc) {
        arena_free(&a);
        return rc;
    }
    *out = p;
    return 0;
}

void store_resource_page_free(store_resource_page **p)
{
    if (!p || !*p)
        return;
    arena *a = (*p)->a;
    arena_free(&a);
    *p = NULL;
}

/* ---- runs ---- */

static const char *run_resource_kind(store_run_kind k)
{
    return res_kind_name(k == STORE_SUITE_RUN ? RES_TESTSUITE : RES_TEST);
}

int store_run_create(store *s, const store_run_new *in, int64_t *id, tc_error *e)
{
    if (!in || (in->kind != STORE_TEST_RUN && in->kind != STORE_SUITE_RUN))
        return tc_error_set(e, TC_ERR_INPUT, "store: a run is of a test or a suite");
    int rc = check_text("resource id", in->resource_id, STORE_MAX_ID, e);
    if (!rc && in->resource_version < 0)
        rc = tc_error_set(e, TC_ERR_INPUT, "store: version %d", in->resource_version);
    if (!rc)
        rc = check_optional("variables", in->variables, STORE_MAX_JSON, e);
    if (rc || (rc = enter(s, e)))
        return rc;
    const char *rk = run_resource_kind(in->kind);
    int64_t t = now(s);
    ints ver = {0}, made = {0};
    rc = tx_begin(s, true, e);
    if (rc)
        goto out;
    db_arg key[] = {AT(rk), AT(in->resource_id), AI(in->resource_version)};
    rc = exec_q(s, in->resource_version ? Q_RUN_VERSION : Q_RUN_VERSION_LATEST, key,
                in->resource_version ? 3 : 2, row_ints, &ver, NULL, e);
    if (!rc && !ver.found) {
        if (in->resource_version)
            rc = tc_error_set(e, STORE_ERR_NOT_FOUND, "%s %s has no version %d", rk, in->resource_id,
                              in->resource_version);
        else
            rc = tc_error_set(e, STORE_ERR_NOT_FOUND, "no %s %s", rk, in->resource_id);
    }
    const char *queued = state_names[STORE_RUN_QUEUED];
    if (!rc) {
        db_arg a[] = {AT(store_run_kind_name(in->kind)),
                      AT(rk),
                      AT(in->resource_id),
                      AI(ver.v[0]),
                      AT(queued),
                      AI(t),
                      AT(in->variables),
                      AT(s->server_id[0] ? s->server_id : NULL)};
        rc = exec_q(s, Q_RUN_INSERT, a, NARGS(a), row_ints, &made, NULL, e);
    }
    if (!rc && !made.found)
        rc = tc_error_set(e, TC_ERR_IO, "store: no id for the new run");
    if (!rc) {
        db_arg a[] = {AI(made.v[0]), AT(queued), AI(t)};
        rc = exec_q(s, Q_STATE_ADD, a, NARGS(a), NULL, NULL, NULL, e);
    }
    rc = tx_end(s, rc, e);
out:
    leave(s);
    if (!rc)
        *id = made.v[0];
    return rc;
}

/* Within a transaction: STORE_ERR_NOT_FOUND or STORE_ERR_CONFLICT for a run
 * that cannot change; 0 (the row locked) for one that has not ended. */
static int lock_open_run(store *s, int64_t id, tc_error *e)
{
    ints st = {0};
    db_arg a[] = {AI(id)};
    int rc = exec_q(s, Q_RUN_LOCK, a, NARGS(a), row_ints, &st, NULL, e);
    if (rc)
        return rc;
    if (!st.found)
        return tc_error_set(e, STORE_ERR_NOT_FOUND, "no run %" PRId64, id);
    if (st.v[0])
        return tc_error_set(e, STORE_ERR_CONFLICT, "run %" PRId64 " has already ended", id);
    return 0;
}

int store_run_set_state(store *s, int64_t id, store_run_state state, tc_error *e)
{
    if (store_run_state_final(state))
        return tc_error_set(e, TC_ERR_INPUT, "store: %s ends a run: use store_run_finish",
                            store_run_state_name(state));
    if (state < STORE_RUN_QUEUED || state >= STORE_RUN_N_STATES)
        return tc_error_set(e, TC_ERR_INPUT, "store: unknown run state %d", (int)state);
    int rc = enter(s, e);
    if (rc)
        return rc;
    int64_t t = now(s), changed = 0;
    rc = tx_begin(s, true, e);
    if (rc)
        goto out;
    db_arg a[] = {AI(id), AT(state_names[state]), AI(t)};
    rc = exec_q(s, Q_RUN_SET_STATE, a, NARGS(a), NULL, NULL, &changed, e);
    if (!rc && changed == 0) {
        rc = lock_open_run(s, id, e);
        if (!rc) /* not possible in one transaction; say so rather than pass */
            rc = tc_error_set(e, TC_ERR_IO, "store: run %" PRId64 " did not change", id);
    }
    if (!rc)
        rc = exec_q(s, Q_STATE_ADD, a, NARGS(a), NULL, NULL, NULL, e);
    rc = tx_end(s, rc, e);
out:
    leave(s);
    return rc;
}

static int check_end(const store_run_end *end, tc_error *e)
{
    if (!end || !store_run_state_final(end->state))
        return tc_error_set(e, TC_ERR_INPUT, "store: a run ends in a final state, not %s",
                            end ? store_run_state_name(end->state) : "none");
    if (end->result < STORE_RESULT_PASSED || end->result > STORE_RESULT_ERROR)
        return tc_error_set(e, TC_ERR_INPUT, "store: an ended run needs a result (passed, failed, error)");
    if (end->trace_len > STORE_MAX_TRACE)
        return tc_error_set(e, TC_ERR_LIMIT, "store: trace of %zu bytes, over the limit of %zu",
                            end->trace_len, STORE_MAX_TRACE);
    if (end->trace_len && !end->trace)
        return tc_error_set(e, TC_ERR_INPUT, "store: trace length without bytes");
    int rc = check_optional("trace id", end->trace_id, STORE_MAX_NAME, e);
    if (!rc)
        rc = check_optional("run error", end->error, STORE_MAX_ERROR, e);
    if (!rc)
        rc = check_optional("trigger document", end->trigger, STORE_MAX_JSON, e);
    if (!rc)
        rc = check_optional("results document", end->results, STORE_MAX_JSON, e);
    if (!rc)
        rc = check_optional("outputs document", end->outputs, STORE_MAX_JSON, e);
    return rc;
}

int store_run_finish(store *s, int64_t id, const store_run_end *end, tc_error *e)
{
    int rc = check_end(end, e);
    if (rc)
        return rc;
    /* compressed before taking the handle: other threads' calls go on meanwhile */
    Bytef *z = NULL;
    uLongf zlen = 0;
    if (end->trace_len) {
        zlen = compressBound((uLong)end->trace_len);
        z = malloc(zlen);
        if (!z)
            return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        if (compress2(z, &zlen, end->trace, (uLong)end->trace_len, Z_DEFAULT_COMPRESSION) != Z_OK) {
            free(z);
            return tc_error_set(e, TC_ERR_NOMEM, "store: cannot compress the trace");
        }
    }
    if ((rc = enter(s, e))) {
        free(z);
        return rc;
    }
    int64_t t = now(s);
    rc = tx_begin(s, true, e);
    if (rc)
        goto out;
    /* the run row last: every write before it is undone when it is refused */
    rc = lock_open_run(s, id, e);
    if (!rc) {
        db_arg a[] = {AI(id), AT(state_names[end->state]), AI(t)};
        rc = exec_q(s, Q_STATE_ADD, a, NARGS(a), NULL, NULL, NULL, e);
    }
    if (!rc && z) {
        db_arg a[] = {AI(id), AI(end->trace_len), AB(z, zlen)};
        rc = exec_q(s, Q_TRACE_ADD, a, NARGS(a), NULL, NULL, NULL, e);
    }
    if (!rc) {
        db_arg a[] = {AI(id),
                      AT(state_names[end->state]),
                      AI(t),
                      AI(end->passed),
                      AI(end->failed),
                      AT(result_names[end->result]),
                      AT(end->trace_id),
                      AT(end->error),
                      AT(end->trigger),
                      AT(end->results),
                      AT(end->outputs)};
        rc = exec_q(s, Q_RUN_END, a, NARGS(a), NULL, NULL, NULL, e);
    }
    rc = tx_end(s, rc, e);
out:
    leave(s);
    free(z);
    return rc;
}

typedef struct id_list {
    int64_t *v;
    size_t n, cap;
    bool nomem;
} id_list;

static int row_collect_id(void *ctx, const db_row *r)
{
    id_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        int64_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->nomem = true;
            return TC_ERR_NOMEM;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = parse_i64(r, 0);
    return 0;
}

/* all: every unfinished run; else those of interrupt_orphans */
static int interrupt(store *s, bool all, bool own, int64_t stale_before_ns, uint64_t *count, tc_error *e)
{
    int rc = enter(s, e);
    if (rc)
        return rc;
    int64_t t = now(s);
    id_list ids = {0};
    const char *st = state_names[STORE_RUN_INTERRUPTED];
    rc = tx_begin(s, true, e);
    if (rc)
        goto out;
    if (all) {
        db_arg a[] = {AT(st), AI(t), AT(result_names[STORE_RESULT_ERROR]),
                      AT("the server stopped")};
        rc = exec_q(s, Q_INTERRUPT_RUNS, a, NARGS(a), row_collect_id, &ids, NULL, e);
    } else {
        db_arg a[] = {AT(st),
                      AI(t),
                      AT(result_names[STORE_RESULT_ERROR]),
                      AT(own ? "the server stopped" : "the replica running it stopped"),
                      AT(s->server_id),
                      AI(stale_before_ns),
                      AI(own ? 1 : 0)};
        rc = exec_q(s, Q_INTERRUPT_ORPHANS, a, NARGS(a), row_collect_id, &ids, NULL, e);
    }
    if (rc == TC_ERR_NOMEM && ids.nomem)
        tc_error_set(e, rc, "out of memory");
    for (size_t i = 0; !rc && i < ids.n; i++) {
        db_arg sa[] = {AI(ids.v[i]), AT(st), AI(t)};
        rc = exec_q(s, Q_STATE_ADD, sa, NARGS(sa), NULL, NULL, NULL, e);
    }
    rc = tx_end(s, rc, e);
out:
    leave(s);
    free(ids.v);
    if (!rc && count)
        *count = ids.n;
    return rc;
}

int store_runs_interrupt_running(store *s, uint64_t *count, tc_error *e)
{
    return interrupt(s, true, true, 0, count, e);
}

int store_runs_interrupt_orphans(store *s, bool own, int64_t stale_before_ns, uint64_t *count, tc_error *e)
{
    return interrupt(s, false, own, stale_before_ns, count, e);
}

/* Fills the RUN_COLS of a row. Returns 0 or TC_ERR_NOMEM. */
static int fill_run(store_run *r, arena *a, const db_row *row)
{
    r->id = parse_i64(row, 0);
    r->kind = row->c[1].p && !strcmp(row->c[1].p, "suite") ? STORE_SUITE_RUN : STORE_TEST_RUN;
    r->resource_id = dup_col(a, row, 2);
    r->resource_version = (int)parse_i64(row, 3);
    if (store_run_state_parse(row->c[4].p, &r->state))
        r->state = STORE_RUN_ANY; /* not a name this binary knows */
    r->created_ns = parse_i64(row, 5);
    r->updated_ns = parse_i64(row, 6);
    r->finished_ns = parse_i64(row, 7);
    r->passed = (uint32_t)parse_i64(row, 8);
    r->failed = (uint32_t)parse_i64(row, 9);
    r->result = parse_result(row->c[10].p);
    r->trace_id = dup_col(a, row, 11);
    r->error = dup_col(a, row, 12);
    if (!r->resource_id || (row->c[11].p && !r->trace_id) || (row->c[12].p && !r->error))
        return TC_ERR_NOMEM;
    return 0;
}

typedef struct run_read {
    store_run *r;
    bool found;
    int rc;
} run_read;

static int row_run_full(void *ctx, const db_row *row)
{
    run_read *rr = ctx;
    store_run *r = rr->r;
    rr->found = true;
    rr->rc = fill_run(r, r->a, row);
    const char **docs[] = {&r->variables, &r->trigger, &r->results, &r->outputs};
    for (int i = 0; i < 4; i++) {
        *docs[i] = dup_col(r->a, row, RUN_N_COLS + i);
        if (row->c[RUN_N_COLS + i].p && !*docs[i])
            rr->rc = TC_ERR_NOMEM;
    }
    r->trace_len = (size_t)parse_i64(row, RUN_N_COLS + 4);
    return 0;
}

typedef struct timeline_read {
    store_run *r;
    size_t cap;
    int rc;
} timeline_read;

static int row_state_change(void *ctx, const db_row *row)
{
    timeline_read *t = ctx;
    store_run *r = t->r;
    if (r->n_timeline == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        store_state_change *v = arena_realloc(r->a, (void *)r->timeline, t->cap * sizeof *v, cap * sizeof *v);
        if (!v) {
            t->rc = TC_ERR_NOMEM;
            return TC_ERR_NOMEM;
        }
        r->timeline = v;
        t->cap = cap;
    }
    store_state_change *c = (store_state_change *)&r->timeline[r->n_timeline++];
    if (store_run_state_parse(row->c[0].p, &c->state))
        c->state = STORE_RUN_ANY;
    c->at_ns = parse_i64(row, 1);
    return 0;
}

int store_run_get(store *s, int64_t id, store_run **out, tc_error *e)
{
    arena *a = arena_new(0);
    store_run *r = a ? arena_calloc(a, 1, sizeof *r) : NULL;
    if (!r) {
        arena_free(&a);
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    }
    r->a = a;
    int rc = enter(s, e);
    if (rc) {
        arena_free(&a);
        return rc;
    }
    run_read rr = {r, false, 0};
    timeline_read tl = {r, 0, 0};
    db_arg args[] = {AI(id)};
    rc = tx_begin(s, false, e); /* one snapshot for the row and its timeline */
    if (!rc) {
        rc = exec_q(s, Q_RUN_GET, args, NARGS(args), row_run_full, &rr, NULL, e);
        if (!rc && rr.found && !rr.rc)
            rc = exec_q(s, Q_RUN_TIMELINE, args, NARGS(args), row_state_change, &tl, NULL, e);
        if (rc == TC_ERR_NOMEM && tl.rc)
            tc_error_set(e, rc, "out of memory");
        rc = tx_end(s, rc, e);
    }
    leave(s);
    if (!rc && !rr.found)
        rc = tc_error_set(e, STORE_ERR_NOT_FOUND, "no run %" PRId64, id);
    else if (!rc && rr.rc)
        rc = tc_error_set(e, rr.rc, "out of memory");
    if (rc) {
        arena_free(&a);
        return rc;
    }
    *out = r;
    return 0;
}

void store_run_free(store_run **r)
{
    if (!r || !*r)
        return;
    arena *a = (*r)->a;
    arena_free(&a);
    *r = NULL;
}

typedef struct trace_read {
    int64_t run;
    uint8_t *data;
    size_t len;
    bool found;
    tc_error *e;
} trace_read;

static int row_trace(void *ctx, const db_row *row)
{
    trace_read *t = ctx;
    t->found = true;
    int64_t raw = parse_i64(row, 0);
    if (raw <= 0 || (uint64_t)raw > STORE_MAX_TRACE || !row->c[1].p)
        return tc_error_set(t->e, TC_ERR_IO,
                            "store: run %" PRId64 ": the stored trace is damaged (size %" PRId64 ")", t->run,
                            raw);
    t->data = malloc((size_t)raw);
    if (!t->data)
        return tc_error_set(t->e, TC_ERR_NOMEM, "out of memory");
    uLongf n = (uLongf)raw;
    if (uncompress(t->data, &n, (const Bytef *)row->c[1].p, (uLong)row->c[1].len) != Z_OK ||
        n != (uLongf)raw) {
        free(t->data);
        t->data = NULL;
        return tc_error_set(t->e, TC_ERR_IO, "store: run %" PRId64 ": the stored trace is damaged", t->run);
    }
    t->len = (size_t)raw;
    return 0;
}

int store_run_trace(store *s, int64_t id, uint8_t **data, size_t *len, tc_error *e)
{
    int rc = enter(s, e);
    if (rc)
        return rc;
    trace_read t = {id, NULL, 0, false, e};
    db_arg args[] = {AI(id)};
    rc = exec_q(s, Q_TRACE_GET, args, NARGS(args), row_trace, &t, NULL, e);
    leave(s);
    if (!rc && !t.found)
        rc = tc_error_set(e, STORE_ERR_NOT_FOUND, "run %" PRId64 " has no trace", id);
    if (rc) {
        free(t.data);
        return rc;
    }
    *data = t.data;
    *len = t.len;
    return 0;
}

typedef struct run_list {
    store_run_page *p;
    size_t cap;
    bool more;
    int rc;
} run_list;

static int row_run_item(void *ctx, const db_row *row)
{
    run_list *l = ctx;
    if (l->p->n == l->cap) {
        l->more = true;
        return 0;
    }
    store_run *r = &l->p->runs[l->p->n++];
    if (fill_run(r, l->p->a, row))
        l->rc = TC_ERR_NOMEM;
    return 0;
}

#define RUN_CURSOR_BYTES 16 /* created_at, id: big-endian */

int store_run_list(store *s, const store_run_filter *f, store_run_page **out, tc_error *e)
{
    static const store_run_filter all = {0};
    if (!f)
        f = &all;
    if (f->state < STORE_RUN_ANY || f->state >= STORE_RUN_N_STATES)
        return tc_error_set(e, TC_ERR_INPUT, "store: unknown run state %d", (int)f->state);
    int rc = check_optional("resource id", f->resource_id, STORE_MAX_ID, e);
    if (rc)
        return rc;
    int64_t before_created = INT64_MAX, before_id = INT64_MAX;
    if (f->cursor) {
        unsigned char c[RUN_CURSOR_BYTES];
        if (hex_decode(f->cursor, c, sizeof c) != RUN_CURSOR_BYTES)
            return tc_error_set(e, TC_ERR_INPUT, "store: bad cursor");
        before_created = (int64_t)get_u64(c);
        before_id = (int64_t)get_u64(c + 8);
    }
    if (f->to_ns && f->to_ns <= before_created) { /* created_at < to_ns is (created_at, id) < (to_ns, min) */
        before_created = f->to_ns;
        before_id = INT64_MIN;
    }
    unsigned n = page_limit(f->limit);
    arena *a = arena_new(0);
    store_run_page *p = a ? arena_calloc(a, 1, sizeof *p) : NULL;
    if (p)
        p->runs = arena_calloc(a, n, sizeof *p->runs);
    if (!p || !p->runs) {
        arena_free(&a);
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    }
    p->a = a;
    db_arg args[6] = {AI(f->from_ns ? f->from_ns : INT64_MIN), AI(before_created), AI(before_id), AI(n + 1)};
    int nargs = 4, q = Q_RUN_LIST;
    if (f->resource_id) {
        args[nargs++] = AT(f->resource_id);
        q = Q_RUN_LIST_RES;
    }
    if (f->state != STORE_RUN_ANY) {
        args[nargs++] = AT(state_names[f->state]);
        q = f->resource_id ? Q_RUN_LIST_RES_STATE : Q_RUN_LIST_STATE;
    }
    run_list l = {p, n, false, 0};
    if ((rc = enter(s, e))) {
        arena_free(&a);
        return rc;
    }
    rc = exec_q(s, q, args, nargs, row_run_item, &l, NULL, e);
    leave(s);
    if (!rc && l.rc)
        rc = tc_error_set(e, l.rc, "out of memory");
    if (!rc && l.more) {
        unsigned char c[RUN_CURSOR_BYTES];
        put_u64(c, (uint64_t)p->runs[n - 1].created_ns);
        put_u64(c + 8, (uint64_t)p->runs[n - 1].id);
        char *next = arena_alloc(a, 2 * RUN_CURSOR_BYTES + 1);
        if (next)
            hex_encode(next, c, sizeof c);
        else
            rc = tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        p->next = next;
    }
    if (rc) {
        arena_free(&a);
        return rc;
    }
    *out = p;
    return 0;
}

void store_run_page_free(store_run_page **p)
{
    if (!p || !*p)
        return;
    arena *a = (*p)->a;
    arena_free(&a);
    *p = NULL;
}
