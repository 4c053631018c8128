/* store_test.c - the run-history store (src/store): the same tests against
 * SQLite (a file in a temporary directory) and, when TC_PG_URL names a
 * PostgreSQL database, against PostgreSQL (each test in a schema of its
 * own); without TC_PG_URL the PostgreSQL group is reported skipped.
 * Migrations (fresh, re-open, a newer schema refused, one transaction),
 * resource versions, delete, paging, runs and their timeline, finish in
 * one transaction, interrupting runs left open, run lists (filters, keyset
 * pages), the trace round trip, several threads at once.
 *
 * `store_test probe URL` opens a store and answers commands read from
 * stdin, one a line ("put ID", "get ID", "run ID", "quit"), with "ok",
 * "unavailable: MESSAGE", "not found: MESSAGE" or "error CODE: MESSAGE"
 * (after the open's own answer): tests/sh/store_pg.sh
 * stops and starts PostgreSQL under the open handle with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/store.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- one database per test ---- */

typedef struct fx {
    bool pg;
    char url[1200];
    char dir[512];   /* SQLite: the temporary directory */
    char path[600];  /* SQLite: the database file */
    char schema[64]; /* PostgreSQL: the test's schema */
} fx;

static const char *pg_url; /* TC_PG_URL */
static int n_schemas;

static int setup_sqlite(void **state)
{
    fx *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/store_test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/runs.db", f->dir);
    snprintf(f->url, sizeof f->url, "%s", f->path);
    *state = f;
    return 0;
}

static int teardown_sqlite(void **state)
{
    fx *f = *state;
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void quiet(void *arg, const char *message)
{
    (void)arg; /* "drop cascades to ..." */
    (void)message;
}

static PGconn *pg_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

static int admin_exec(const char *sql)
{
    PGconn *c = pg_connect(pg_url);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

static int setup_pg(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->pg = true;
    snprintf(f->schema, sizeof f->schema, "store_test_%d_%d", (int)getpid(), ++n_schemas);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", f->schema);
    if (admin_exec(sql)) {
        free(f);
        return -1;
    }
    snprintf(f->url, sizeof f->url, "%s%coptions=-csearch_path%%3D%s", pg_url,
             strchr(pg_url, '?') ? '&' : '?', f->schema);
    *state = f;
    return 0;
}

static int teardown_pg(void **state)
{
    fx *f = *state;
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", f->schema);
    admin_exec(sql);
    free(f);
    return 0;
}

/* SQL on the test's database beside the store, as another program would run it. */
static int raw_exec(fx *f, const char *sql)
{
    int ok;
    if (f->pg) {
        PGconn *c = pg_connect(f->url);
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db;
        ok = sqlite3_open(f->path, &db) == SQLITE_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
        sqlite3_close(db);
    }
    return ok ? 0 : -1;
}

/* The first column of the first row as text (into out), or -1 when the query fails or has no row. */
static int raw_text(fx *f, const char *sql, char *out, size_t cap)
{
    int rc = -1;
    out[0] = 0;
    if (f->pg) {
        PGconn *c = pg_connect(f->url);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
            snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
            rc = 0;
        }
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db;
        sqlite3_stmt *st = NULL;
        if (sqlite3_open(f->path, &db) == SQLITE_OK &&
            sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(out, cap, "%s", t ? (const char *)t : "");
            rc = 0;
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    return rc;
}

static long long raw_int(fx *f, const char *sql)
{
    char t[64];
    return raw_text(f, sql, t, sizeof t) ? -1 : atoll(t);
}

/* ---- helpers ---- */

static store *open_url(const char *url)
{
    store *s = NULL;
    tc_error e = {0};
    int rc = store_open(url, &s, &e);
    if (rc)
        print_message("store_open(%s): %d %s\n", url, rc, e.msg);
    assert_int_equal(rc, 0);
    assert_non_null(s);
    return s;
}

static store *open_ok(fx *f)
{
    return open_url(f->url);
}

static void expect_rc(int rc, int want, const tc_error *e)
{
    if (rc != want)
        print_message("got %d (%s), wanted %d\n", rc, e ? e->msg : "", want);
    assert_int_equal(rc, want);
}

static int put_test(store *s, const char *id, const char *doc, bool *created)
{
    int v = -1;
    tc_error e = {0};
    expect_rc(store_resource_put(s, RES_TEST, id, id, doc, &v, created, &e), 0, &e);
    return v;
}

static int64_t new_run(store *s, const char *resource_id, int version)
{
    int64_t id = 0;
    tc_error e = {0};
    store_run_new in = {STORE_TEST_RUN, resource_id, version, "{\"ENV\":\"test\"}"};
    expect_rc(store_run_create(s, &in, &id, &e), 0, &e);
    assert_true(id > 0);
    return id;
}

static void set_state(store *s, int64_t id, store_run_state st)
{
    tc_error e = {0};
    expect_rc(store_run_set_state(s, id, st, &e), 0, &e);
}

static store_run *get_run(store *s, int64_t id)
{
    store_run *r = NULL;
    tc_error e = {0};
    expect_rc(store_run_get(s, id, &r, &e), 0, &e);
    return r;
}

static void finish(store *s, int64_t id, store_run_state st, store_result res)
{
    tc_error e = {0};
    store_run_end end = {.state = st, .passed = 2, .failed = res == STORE_RESULT_FAILED, .result = res};
    expect_rc(store_run_finish(s, id, &end, &e), 0, &e);
}

/* A clock the test sets: each reading returns t and adds step. */
typedef struct tclock {
    _Atomic int64_t t;
    int64_t step;
} tclock;

static int64_t tclock_now(void *user)
{
    tclock *c = user;
    return atomic_fetch_add(&c->t, c->step);
}

#define T0 1700000000000000000ll

static const char *DOC_A1 = "type: Test\nspec:\n  id: a\n  name: A\n  trigger:\n    type: http\n";
static const char *DOC_A2 = "type: Test\nspec:\n  id: a\n  name: A\n  trigger:\n    type: grpc\n";

/* ---- migrations ---- */

static void test_migrations(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    assert_string_equal(store_backend(s), f->pg ? "postgresql" : "sqlite");
    put_test(s, "a", DOC_A1, NULL);
    store_close(&s);
    assert_null(s);
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM schema_migrations"), STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(f, "SELECT MAX(version) FROM schema_migrations"), STORE_SCHEMA_VERSION);
    long long applied = raw_int(f, "SELECT applied_at FROM schema_migrations WHERE version = 1");
    assert_true(applied > 0);
    if (!f->pg) {
        char mode[32];
        assert_int_equal(raw_text(f, "PRAGMA journal_mode", mode, sizeof mode), 0);
        assert_string_equal(mode, "wal");
    }

    /* re-open (SQLite: by its sqlite: URL): nothing applied again, the data kept */
    char url[1300];
    snprintf(url, sizeof url, "%s%s", f->pg ? "" : "sqlite:", f->url);
    s = open_url(url);
    store_resource *r = NULL;
    tc_error e = {0};
    expect_rc(store_resource_get(s, RES_TEST, "a", 0, &r, &e), 0, &e);
    assert_string_equal(r->document, DOC_A1);
    store_resource_free(&r);
    assert_null(r);
    store_close(&s);
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM schema_migrations"), STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(f, "SELECT applied_at FROM schema_migrations WHERE version = 1"), applied);

    /* a database a newer tracecheck migrated */
    assert_int_equal(raw_exec(f, "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 1)"), 0);
    s = NULL;
    expect_rc(store_open(f->url, &s, &e), TC_ERR_UNSUPPORTED, &e);
    assert_null(s);
    char want[200];
    snprintf(want, sizeof want,
             "database schema version 99 is newer than this tracecheck (%d): upgrade tracecheck",
             STORE_SCHEMA_VERSION);
    assert_string_equal(e.msg, want);
}

/* Every table of a migration, or none: a migration that fails half-way
 * (a table of its name already there) leaves nothing behind. */
static void test_migration_is_one_transaction(void **state)
{
    fx *f = *state;
    assert_int_equal(raw_exec(f, "CREATE TABLE run_traces (x INTEGER)"), 0);
    store *s = NULL;
    tc_error e = {0};
    int rc = store_open(f->url, &s, &e);
    assert_int_not_equal(rc, 0);
    assert_null(s);
    assert_non_null(strstr(e.msg, "migration 1"));
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM resources"), -1); /* made before run_traces, undone */
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM runs"), -1);
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM schema_migrations"), -1);
    assert_int_equal(raw_exec(f, "DROP TABLE run_traces"), 0);
    s = open_ok(f);
    store_close(&s);
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM run_traces"), 0);
}

/* Servers starting together on one fresh database: every open succeeds,
 * the migration is applied once. */
typedef struct opener {
    const char *url;
    pthread_barrier_t *go;
    int rc;
    char msg[TC_ERROR_MSG_MAX];
} opener;

static void *open_at_once(void *arg)
{
    opener *o = arg;
    store *s = NULL;
    tc_error e = {0};
    pthread_barrier_wait(o->go);
    o->rc = store_open(o->url, &s, &e);
    if (o->rc)
        snprintf(o->msg, sizeof o->msg, "%s", e.msg);
    else
        o->rc = store_resource_put(s, RES_TEST, "a", "a", DOC_A1, NULL, NULL, &e);
    store_close(&s);
    return NULL;
}

static void test_migration_concurrent_opens(void **state)
{
    fx *f = *state;
    enum { N = 6 };
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    opener o[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        o[i] = (opener){f->url, &go, -1, ""};
        assert_int_equal(pthread_create(&th[i], NULL, open_at_once, &o[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (o[i].rc)
            print_message("open %d: %d %s\n", i, o[i].rc, o[i].msg);
        assert_int_equal(o[i].rc, 0);
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM schema_migrations"), STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM resource_versions"), 1);
}

/* ---- resources ---- */

static void test_resource_versions(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    tclock clk = {T0, 1000};
    store_set_clock(s, tclock_now, &clk);
    bool created = false;
    assert_int_equal(put_test(s, "a", DOC_A1, &created), 1);
    assert_true(created);
    assert_int_equal(put_test(s, "a", DOC_A1, &created), 1); /* the same document: no version */
    assert_false(created);
    assert_int_equal(put_test(s, "a", DOC_A2, &created), 2);
    assert_true(created);
    assert_int_equal(put_test(s, "a", DOC_A2, &created), 2);
    assert_false(created);
    /* the same id in another kind is another resource */
    int v = 0;
    tc_error e = {0};
    expect_rc(store_resource_put(s, RES_VARSET, "a", "vars", "type: VariableSet\n", &v, &created, &e), 0, &e);
    assert_int_equal(v, 1);

    store_resource *r = NULL;
    expect_rc(store_resource_get(s, RES_TEST, "a", 0, &r, &e), 0, &e);
    assert_int_equal(r->version, 2);
    assert_int_equal(r->latest_version, 2);
    assert_string_equal(r->document, DOC_A2);
    assert_int_equal(r->document_len, strlen(DOC_A2));
    assert_string_equal(r->id, "a");
    assert_string_equal(r->name, "a");
    assert_false(r->deleted);
    int64_t v2_created = r->created_ns;
    store_resource_free(&r);
    expect_rc(store_resource_get(s, RES_TEST, "a", 1, &r, &e), 0, &e);
    assert_int_equal(r->version, 1);
    assert_int_equal(r->latest_version, 2);
    assert_string_equal(r->document, DOC_A1);
    assert_true(r->created_ns < v2_created);
    store_resource_free(&r);
    expect_rc(store_resource_get(s, RES_TEST, "a", 3, &r, &e), STORE_ERR_NOT_FOUND, &e);
    assert_null(r);
    expect_rc(store_resource_get(s, RES_TEST, "zz", 0, &r, &e), STORE_ERR_NOT_FOUND, &e);
    expect_rc(store_resource_get(s, RES_DATASTORE, "a", 0, &r, &e), STORE_ERR_NOT_FOUND, &e);

    /* a new name alone is a change too */
    expect_rc(store_resource_put(s, RES_TEST, "a", "renamed", DOC_A2, &v, &created, &e), 0, &e);
    assert_int_equal(v, 3);

    store_resource_page *p = NULL;
    expect_rc(store_resource_list(s, RES_TEST, NULL, 0, &p, &e), 0, &e);
    assert_int_equal(p->n, 1);
    assert_string_equal(p->items[0].id, "a");
    assert_string_equal(p->items[0].name, "renamed");
    assert_int_equal(p->items[0].latest_version, 3);
    assert_null(p->items[0].document);
    assert_true(p->items[0].updated_ns > v2_created);
    assert_null(p->next);
    store_resource_page_free(&p);
    assert_null(p);
    expect_rc(store_resource_list(s, RES_POLLING, NULL, 0, &p, &e), 0, &e);
    assert_int_equal(p->n, 0);
    store_resource_page_free(&p);
    store_close(&s);
}

static void test_resource_delete(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    tc_error e = {0};
    put_test(s, "a", DOC_A1, NULL);
    put_test(s, "b", DOC_A1, NULL);
    int64_t run = new_run(s, "a", 0);
    put_test(s, "a", DOC_A2, NULL);
    expect_rc(store_resource_delete(s, RES_TEST, "a", &e), 0, &e);
    expect_rc(store_resource_delete(s, RES_TEST, "a", &e), STORE_ERR_NOT_FOUND, &e);
    expect_rc(store_resource_delete(s, RES_TEST, "nope", &e), STORE_ERR_NOT_FOUND, &e);

    store_resource_page *p = NULL;
    expect_rc(store_resource_list(s, RES_TEST, NULL, 0, &p, &e), 0, &e);
    assert_int_equal(p->n, 1);
    assert_string_equal(p->items[0].id, "b");
    store_resource_page_free(&p);
    store_resource *r = NULL;
    expect_rc(store_resource_get(s, RES_TEST, "a", 0, &r, &e), STORE_ERR_NOT_FOUND, &e);
    /* what runs point at is still there */
    expect_rc(store_resource_get(s, RES_TEST, "a", 1, &r, &e), 0, &e);
    assert_true(r->deleted);
    assert_string_equal(r->document, DOC_A1);
    store_resource_free(&r);
    store_run *run_r = get_run(s, run);
    assert_string_equal(run_r->resource_id, "a");
    assert_int_equal(run_r->resource_version, 1);
    store_run_free(&run_r);
    /* no new run of its latest version; an explicit version still runs */
    int64_t id = 0;
    store_run_new in = {STORE_TEST_RUN, "a", 0, NULL};
    expect_rc(store_run_create(s, &in, &id, &e), STORE_ERR_NOT_FOUND, &e);
    in.resource_version = 2;
    expect_rc(store_run_create(s, &in, &id, &e), 0, &e);

    /* putting it again brings it back; unchanged, it keeps its version */
    bool created = true;
    assert_int_equal(put_test(s, "a", DOC_A2, &created), 2);
    assert_false(created);
    expect_rc(store_resource_get(s, RES_TEST, "a", 0, &r, &e), 0, &e);
    assert_false(r->deleted);
    assert_int_equal(r->version, 2);
    store_resource_free(&r);
    expect_rc(store_resource_list(s, RES_TEST, NULL, 0, &p, &e), 0, &e);
    assert_int_equal(p->n, 2);
    store_resource_page_free(&p);
    store_close(&s);
}

static void test_resource_pages(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    tc_error e = {0};
    const char *ids[] = {"g", "a", "e", "c", "b", "f", "d"};
    for (int i = 0; i < 7; i++)
        put_test(s, ids[i], DOC_A1, NULL);
    expect_rc(store_resource_delete(s, RES_TEST, "c", &e), 0, &e);
    char seen[16] = "";
    const char *cursor = NULL;
    store_resource_page *p = NULL, *prev = NULL;
    int pages = 0;
    do {
        expect_rc(store_resource_list(s, RES_TEST, cursor, 2, &p, &e), 0, &e);
        assert_true(p->n <= 2);
        for (size_t i = 0; i < p->n; i++)
            strcat(seen, p->items[i].id);
        pages++;
        store_resource_page_free(&prev);
        prev = p;
        cursor = p->next;
    } while (cursor);
    store_resource_page_free(&prev);
    assert_string_equal(seen, "abdefg");
    assert_int_equal(pages, 3);
    expect_rc(store_resource_list(s, RES_TEST, "not hex", 2, &p, &e), TC_ERR_INPUT, &e);
    expect_rc(store_resource_list(s, RES_TEST, "", 2, &p, &e), TC_ERR_INPUT, &e);
    store_close(&s);
}

static void test_bad_arguments(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    tc_error e = {0};
    expect_rc(store_resource_put(s, RES_OTHER, "a", "a", "x", NULL, NULL, &e), TC_ERR_INPUT, &e);
    expect_rc(store_resource_put(s, RES_TEST, "", "a", "x", NULL, NULL, &e), TC_ERR_INPUT, &e);
    expect_rc(store_resource_put(s, RES_TEST, "a", "a", NULL, NULL, NULL, &e), TC_ERR_INPUT, &e);
    char *big = malloc(STORE_MAX_DOCUMENT + 2);
    memset(big, 'x', STORE_MAX_DOCUMENT + 1);
    big[STORE_MAX_DOCUMENT + 1] = 0;
    expect_rc(store_resource_put(s, RES_TEST, "a", "a", big, NULL, NULL, &e), TC_ERR_LIMIT, &e);
    big[STORE_MAX_ID + 1] = 0;
    expect_rc(store_resource_put(s, RES_TEST, big, "a", "x", NULL, NULL, &e), TC_ERR_LIMIT, &e);
    free(big);
    int64_t id = 0;
    store_run_new in = {STORE_TEST_RUN, "missing", 0, NULL};
    expect_rc(store_run_create(s, &in, &id, &e), STORE_ERR_NOT_FOUND, &e);
    put_test(s, "a", DOC_A1, NULL);
    in.resource_id = "a";
    in.resource_version = 7;
    expect_rc(store_run_create(s, &in, &id, &e), STORE_ERR_NOT_FOUND, &e);
    in.resource_version = 1;
    in.kind = STORE_SUITE_RUN; /* a Test "a" is no TestSuite "a" */
    expect_rc(store_run_create(s, &in, &id, &e), STORE_ERR_NOT_FOUND, &e);
    in.kind = STORE_TEST_RUN;
    in.variables = "{not json";
    expect_rc(store_run_create(s, &in, &id, &e), TC_ERR_INPUT, &e);
    assert_false(store_unavailable(TC_ERR_INPUT));
    store_run *r = NULL;
    expect_rc(store_run_get(s, 424242, &r, &e), STORE_ERR_NOT_FOUND, &e);
    assert_null(r);
    expect_rc(store_run_set_state(s, 424242, STORE_RUN_TRIGGERING, &e), STORE_ERR_NOT_FOUND, &e);
    store_run_end end = {.state = STORE_RUN_FINISHED, .result = STORE_RESULT_PASSED};
    expect_rc(store_run_finish(s, 424242, &end, &e), STORE_ERR_NOT_FOUND, &e);
    uint8_t *data = NULL;
    size_t len = 0;
    expect_rc(store_run_trace(s, 424242, &data, &len, &e), STORE_ERR_NOT_FOUND, &e);
    store_run_filter flt = {.state = STORE_RUN_N_STATES};
    store_run_page *p = NULL;
    expect_rc(store_run_list(s, &flt, &p, &e), TC_ERR_INPUT, &e);
    store_close(&s);

    /* unknown schemes; databases that cannot be reached are "unavailable" */
    expect_rc(store_open("mysql://localhost/x", &s, &e), TC_ERR_UNSUPPORTED, &e);
    expect_rc(store_open("sqlite:", &s, &e), TC_ERR_INPUT, &e);
    expect_rc(store_open("postgresql://localhost/x?no_such_parameter=1", &s, &e), TC_ERR_INPUT, &e);
    char path[700];
    snprintf(path, sizeof path, "%s/no/such/dir/x.db", f->pg ? "/nonexistent" : f->dir);
    int rc = store_open(path, &s, &e);
    expect_rc(rc, TC_ERR_IO, &e);
    assert_true(store_unavailable(rc));
    rc = store_open("postgresql://127.0.0.1:1/none?connect_timeout=2", &s, &e);
    expect_rc(rc, TC_ERR_IO, &e);
    assert_non_null(strstr(e.msg, "unavailable"));
    assert_null(s);
}

/* ---- runs ---- */

static void test_run_lifecycle(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    tclock clk = {T0, 1000};
    store_set_clock(s, tclock_now, &clk);
    tc_error e = {0};
    put_test(s, "a", DOC_A1, NULL);
    put_test(s, "a", DOC_A2, NULL);
    int64_t id = new_run(s, "a", 0);
    int64_t id2 = new_run(s, "a", 1);
    assert_true(id2 > id);
    store_run *r = get_run(s, id);
    assert_int_equal(r->state, STORE_RUN_QUEUED);
    assert_int_equal(r->kind, STORE_TEST_RUN);
    assert_int_equal(r->resource_version, 2);
    assert_int_equal(r->finished_ns, 0);
    assert_int_equal(r->result, STORE_RESULT_NONE);
    assert_string_equal(r->variables, "{\"ENV\":\"test\"}");
    assert_null(r->results);
    assert_int_equal(r->n_timeline, 1);
    assert_int_equal(r->timeline[0].state, STORE_RUN_QUEUED);
    assert_int_equal(r->timeline[0].at_ns, r->created_ns);
    store_run_free(&r);
    assert_null(r);

    set_state(s, id, STORE_RUN_TRIGGERING);
    set_state(s, id, STORE_RUN_AWAITING_TRACE);
    set_state(s, id, STORE_RUN_EVALUATING);
    expect_rc(store_run_set_state(s, id, STORE_RUN_FINISHED, &e), TC_ERR_INPUT, &e);
    expect_rc(store_run_set_state(s, id, STORE_RUN_ANY, &e), TC_ERR_INPUT, &e);
    store_run_end bad = {.state = STORE_RUN_EVALUATING, .result = STORE_RESULT_PASSED};
    expect_rc(store_run_finish(s, id, &bad, &e), TC_ERR_INPUT, &e);
    bad.state = STORE_RUN_FINISHED;
    bad.result = STORE_RESULT_NONE;
    expect_rc(store_run_finish(s, id, &bad, &e), TC_ERR_INPUT, &e);

    const char *trigger = "{\"request\":{\"method\":\"GET\"},\"response\":{\"status\":200}}";
    const char *results = "{\"specs\":[{\"name\":\"ok\",\"passed\":true}]}";
    const char *outputs = "{\"ORDER_ID\":\"42\"}";
    store_run_end end = {
        .state = STORE_RUN_FINISHED,
        .passed = 3,
        .failed = 1,
        .result = STORE_RESULT_FAILED,
        .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
        .trigger = trigger,
        .results = results,
        .outputs = outputs,
    };
    expect_rc(store_run_finish(s, id, &end, &e), 0, &e);
    r = get_run(s, id);
    assert_int_equal(r->state, STORE_RUN_FINISHED);
    assert_int_equal(r->passed, 3);
    assert_int_equal(r->failed, 1);
    assert_int_equal(r->result, STORE_RESULT_FAILED);
    assert_string_equal(r->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_null(r->error);
    assert_string_equal(r->trigger, trigger);
    assert_string_equal(r->results, results);
    assert_string_equal(r->outputs, outputs);
    assert_int_equal(r->trace_len, 0);
    assert_true(r->finished_ns > r->created_ns);
    assert_int_equal(r->updated_ns, r->finished_ns);
    store_run_state want[] = {STORE_RUN_QUEUED, STORE_RUN_TRIGGERING, STORE_RUN_AWAITING_TRACE,
                              STORE_RUN_EVALUATING, STORE_RUN_FINISHED};
    assert_int_equal(r->n_timeline, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(r->timeline[i].state, want[i]);
        if (i)
            assert_true(r->timeline[i].at_ns > r->timeline[i - 1].at_ns);
    }
    assert_int_equal(r->timeline[4].at_ns, r->finished_ns);
    store_run_free(&r);

    /* an ended run does not change again */
    expect_rc(store_run_set_state(s, id, STORE_RUN_TRIGGERING, &e), STORE_ERR_CONFLICT, &e);
    expect_rc(store_run_finish(s, id, &end, &e), STORE_ERR_CONFLICT, &e);
    r = get_run(s, id);
    assert_int_equal(r->n_timeline, 5);
    store_run_free(&r);

    /* failures and cancellation end runs too */
    finish(s, id2, STORE_RUN_CANCELLED, STORE_RESULT_ERROR);
    r = get_run(s, id2);
    assert_int_equal(r->state, STORE_RUN_CANCELLED);
    assert_int_equal(r->result, STORE_RESULT_ERROR);
    assert_int_equal(r->n_timeline, 2);
    store_run_free(&r);
    int64_t id3 = new_run(s, "a", 0);
    set_state(s, id3, STORE_RUN_TRIGGERING);
    store_run_end tf = {
        .state = STORE_RUN_TRIGGER_FAILED, .result = STORE_RESULT_ERROR, .error = "connection refused"};
    expect_rc(store_run_finish(s, id3, &tf, &e), 0, &e);
    r = get_run(s, id3);
    assert_string_equal(r->error, "connection refused");
    assert_int_equal(r->state, STORE_RUN_TRIGGER_FAILED);
    store_run_free(&r);
    store_close(&s);
}

static void test_state_names(void **state)
{
    (void)state;
    for (int i = STORE_RUN_QUEUED; i < STORE_RUN_N_STATES; i++) {
        store_run_state st;
        assert_int_equal(store_run_state_parse(store_run_state_name((store_run_state)i), &st), 0);
        assert_int_equal(st, i);
    }
    store_run_state st = STORE_RUN_ANY;
    assert_int_equal(store_run_state_parse("FAILED", &st), TC_ERR_INPUT);
    assert_int_equal(store_run_state_parse("ANY", &st), TC_ERR_INPUT);
    assert_string_equal(store_run_state_name(STORE_RUN_AWAITING_TRACE), "AWAITING_TRACE");
    assert_string_equal(store_run_state_name(STORE_RUN_EVALUATION_FAILED), "EVALUATION_FAILED");
    assert_false(store_run_state_final(STORE_RUN_EVALUATING));
    assert_true(store_run_state_final(STORE_RUN_FINISHED));
    assert_true(store_run_state_final(STORE_RUN_CANCELLED));
    assert_false(store_run_state_final(STORE_RUN_ANY));
    assert_string_equal(store_result_name(STORE_RESULT_ERROR), "error");
    assert_string_equal(store_run_kind_name(STORE_SUITE_RUN), "suite");
}

/* The run's state, timeline length, end time and whether it has a trace. */
static void expect_unfinished(store *s, int64_t id, store_run_state st, size_t n_timeline)
{
    store_run *r = get_run(s, id);
    assert_int_equal(r->state, st);
    assert_int_equal(r->n_timeline, n_timeline);
    assert_int_equal(r->finished_ns, 0);
    assert_int_equal(r->result, STORE_RESULT_NONE);
    assert_null(r->results);
    assert_null(r->trace_id);
    assert_int_equal(r->trace_len, 0);
    store_run_free(&r);
    uint8_t *data = NULL;
    size_t len = 0;
    tc_error e = {0};
    expect_rc(store_run_trace(s, id, &data, &len, &e), STORE_ERR_NOT_FOUND, &e);
}

static void test_finish_is_one_transaction(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    tc_error e = {0};
    put_test(s, "a", DOC_A1, NULL);
    int64_t id = new_run(s, "a", 0);
    set_state(s, id, STORE_RUN_AWAITING_TRACE);
    uint8_t trace[4096];
    for (size_t i = 0; i < sizeof trace; i++)
        trace[i] = (uint8_t)(i * 7);
    store_run_end end = {
        .state = STORE_RUN_FINISHED,
        .passed = 1,
        .result = STORE_RESULT_PASSED,
        .trace_id = "0123456789abcdef0123456789abcdef",
        .results = "{\"specs\":[]}",
        .outputs =
            "{\"broken\": ", /* the database refuses it: after the timeline entry and the trace are written */
        .trace = trace,
        .trace_len = sizeof trace,
    };
    expect_rc(store_run_finish(s, id, &end, &e), TC_ERR_INPUT, &e);
    expect_unfinished(s, id, STORE_RUN_AWAITING_TRACE, 2);

    /* a trace over the limit: refused, nothing written */
    end.outputs = "{}";
    end.trace_len = STORE_MAX_TRACE + 1;
    expect_rc(store_run_finish(s, id, &end, &e), TC_ERR_LIMIT, &e);
    expect_unfinished(s, id, STORE_RUN_AWAITING_TRACE, 2);

    end.trace_len = sizeof trace;
    expect_rc(store_run_finish(s, id, &end, &e), 0, &e);
    store_run *r = get_run(s, id);
    assert_int_equal(r->state, STORE_RUN_FINISHED);
    assert_int_equal(r->n_timeline, 3);
    assert_int_equal(r->trace_len, sizeof trace);
    assert_string_equal(r->outputs, "{}");
    store_run_free(&r);
    store_close(&s);
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM run_traces"), 1);
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM run_states"), 3);
}

/* Several resources in one put: all stored, or none — also when the
 * database refuses one after the first was written. */
static void test_put_many_is_one_transaction(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    tc_error e = {0};
    store_resource_in two[] = {{RES_TEST, "a", "a", DOC_A1}, {RES_TEST, "b", "b", DOC_A2}};
    int v[2] = {0};
    bool made[2] = {false};
    size_t failed = 99;
    expect_rc(store_resource_put_many(s, two, 2, v, made, &failed, &e), 0, &e);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[1], 1);
    assert_true(made[0] && made[1]);
    /* a refusal found before writing: the index, nothing written */
    store_resource_in bad[] = {{RES_TEST, "c", "c", DOC_A1}, {RES_TEST, "", "d", DOC_A1}};
    expect_rc(store_resource_put_many(s, bad, 2, NULL, NULL, &failed, &e), TC_ERR_INPUT, &e);
    assert_int_equal(failed, 1);
    /* the database refuses the second insert: the first is undone */
    if (f->pg)
        assert_int_equal(raw_exec(f, "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.id = 'boom' THEN "
                                     "RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; "
                                     "CREATE TRIGGER boom BEFORE INSERT ON resource_versions FOR EACH ROW "
                                     "EXECUTE FUNCTION boom()"),
                         0);
    else
        assert_int_equal(raw_exec(f, "CREATE TRIGGER boom BEFORE INSERT ON resource_versions WHEN NEW.id = 'boom' "
                                     "BEGIN SELECT RAISE(ABORT, 'boom'); END"),
                         0);
    store_resource_in three[] = {{RES_TEST, "a", "a", DOC_A2}, {RES_TEST, "e", "e", DOC_A1}, {RES_TEST, "boom", "x", DOC_A1}};
    int rc = store_resource_put_many(s, three, 3, NULL, NULL, &failed, &e);
    assert_int_not_equal(rc, 0);
    assert_int_equal(failed, 2);
    store_resource *r = NULL;
    expect_rc(store_resource_get(s, RES_TEST, "a", 0, &r, &e), 0, &e);
    assert_int_equal(r->version, 1); /* not 2 */
    store_resource_free(&r);
    assert_int_equal(store_resource_get(s, RES_TEST, "e", 0, &r, &e), STORE_ERR_NOT_FOUND);
    store_close(&s);
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM resource_versions"), 2);
}

/* Replicas on one database: a server starting again ends what its
 * previous process left, not the runs of another live server; the runs of
 * a server whose heartbeat stopped are ended by the others. */
static void test_replicas(void **state)
{
    fx *f = *state;
    store *a = open_ok(f), *b = open_ok(f);
    tclock ca = {1000, 0}, cb = {1000, 0};
    store_set_clock(a, tclock_now, &ca);
    store_set_clock(b, tclock_now, &cb);
    store_set_server(a, "host-a:11633");
    store_set_server(b, "host-b:11633");
    tc_error e = {0};
    put_test(a, "t", DOC_A1, NULL);
    expect_rc(store_server_heartbeat(a, &e), 0, &e);
    expect_rc(store_server_heartbeat(b, &e), 0, &e);
    int64_t ra = new_run(a, "t", 0), rb = new_run(b, "t", 0), rnone;
    store_set_server(a, NULL);
    rnone = new_run(a, "t", 0); /* a run of no server (made before servers had ids) */
    store_set_server(a, "host-a:11633");
    uint64_t n = 99;
    /* a sweep while both beat: nothing */
    expect_rc(store_runs_interrupt_orphans(b, false, 500, &n, &e), 0, &e);
    assert_int_equal(n, 0);
    /* a starts again: its own run and the one of no server end; b's stays */
    expect_rc(store_runs_interrupt_orphans(a, true, 500, &n, &e), 0, &e);
    assert_int_equal(n, 2);
    store_run *r = get_run(a, ra);
    assert_int_equal(r->state, STORE_RUN_INTERRUPTED);
    assert_string_equal(r->error, "interrupted: the server stopped before the run started"); /* it was QUEUED */
    store_run_free(&r);
    r = get_run(a, rnone);
    assert_int_equal(r->state, STORE_RUN_INTERRUPTED);
    store_run_free(&r);
    expect_unfinished(a, rb, STORE_RUN_QUEUED, 1);
    /* b stops beating (last at 1000): a's sweep with a later bound ends its run */
    ca.t = 5000;
    expect_rc(store_server_heartbeat(a, &e), 0, &e);
    expect_rc(store_runs_interrupt_orphans(a, false, 1000, &n, &e), 0, &e);
    assert_int_equal(n, 0); /* beat at 1000 is not before 1000 */
    expect_rc(store_runs_interrupt_orphans(a, false, 1001, &n, &e), 0, &e);
    assert_int_equal(n, 1);
    r = get_run(a, rb);
    assert_int_equal(r->state, STORE_RUN_INTERRUPTED);
    assert_int_equal(r->n_timeline, 2);
    assert_string_equal(r->error, "interrupted: the replica running it stopped before the run started");
    store_run_free(&r);
    /* and a's own runs are never ended by its own sweep */
    int64_t ra2 = new_run(a, "t", 0);
    expect_rc(store_runs_interrupt_orphans(a, false, 100000, &n, &e), 0, &e);
    assert_int_equal(n, 0);
    expect_unfinished(a, ra2, STORE_RUN_QUEUED, 1);
    store_close(&a);
    store_close(&b);
}

static void test_interrupt_running(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    tc_error e = {0};
    put_test(s, "a", DOC_A1, NULL);
    int64_t done = new_run(s, "a", 0);
    finish(s, done, STORE_RUN_FINISHED, STORE_RESULT_PASSED);
    int64_t queued = new_run(s, "a", 0);
    int64_t triggering = new_run(s, "a", 0);
    set_state(s, triggering, STORE_RUN_TRIGGERING);
    int64_t awaiting = new_run(s, "a", 0);
    set_state(s, awaiting, STORE_RUN_TRIGGERING);
    set_state(s, awaiting, STORE_RUN_AWAITING_TRACE);
    int64_t failed = new_run(s, "a", 0);
    finish(s, failed, STORE_RUN_TRACE_FAILED, STORE_RESULT_ERROR);
    store_close(&s);

    s = open_ok(f); /* as a server starting again */
    uint64_t n = 99;
    expect_rc(store_runs_interrupt_running(s, &n, &e), 0, &e);
    assert_int_equal(n, 3);
    int64_t open_runs[] = {queued, triggering, awaiting};
    size_t before[] = {1, 2, 3};
    for (int i = 0; i < 3; i++) {
        store_run *r = get_run(s, open_runs[i]);
        assert_int_equal(r->state, STORE_RUN_INTERRUPTED);
        assert_int_equal(r->result, STORE_RESULT_ERROR);
        assert_true(r->finished_ns > 0);
        assert_non_null(r->error);
        assert_int_equal(r->n_timeline, before[i] + 1);
        assert_int_equal(r->timeline[r->n_timeline - 1].state, STORE_RUN_INTERRUPTED);
        assert_int_equal(r->timeline[r->n_timeline - 1].at_ns, r->finished_ns);
        store_run_free(&r);
    }
    store_run *r = get_run(s, done);
    assert_int_equal(r->state, STORE_RUN_FINISHED);
    assert_int_equal(r->n_timeline, 2);
    store_run_free(&r);
    r = get_run(s, failed);
    assert_int_equal(r->state, STORE_RUN_TRACE_FAILED);
    store_run_free(&r);
    expect_rc(store_runs_interrupt_running(s, &n, &e), 0, &e);
    assert_int_equal(n, 0);
    expect_rc(store_run_set_state(s, awaiting, STORE_RUN_EVALUATING, &e), STORE_ERR_CONFLICT, &e);
    store_close(&s);
}

/* ---- listing runs ---- */

#define N_RUNS 120

typedef struct expected_run {
    int64_t id, created;
    const char *resource;
    store_run_state state;
} expected_run;

/* Newest first: created time, then id. */
static int newest_first(const void *a, const void *b)
{
    const expected_run *x = a, *y = b;
    if (x->created != y->created)
        return x->created < y->created ? 1 : -1;
    return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

static bool matches(const expected_run *x, const store_run_filter *f)
{
    return (!f->resource_id || !strcmp(x->resource, f->resource_id)) &&
           (f->state == STORE_RUN_ANY || x->state == f->state) && (!f->from_ns || x->created >= f->from_ns) &&
           (!f->to_ns || x->created < f->to_ns);
}

/* Lists every page of f and checks it is the expected runs, in order, each once. */
static void check_listing(store *s, store_run_filter f, const expected_run *all, size_t n_all, size_t *n_seen)
{
    const expected_run *want[N_RUNS];
    size_t n_want = 0;
    for (size_t i = 0; i < n_all; i++)
        if (matches(&all[i], &f))
            want[n_want++] = &all[i];
    size_t got = 0, pages = 0;
    store_run_page *p = NULL, *prev = NULL;
    tc_error e = {0};
    f.cursor = NULL;
    do {
        expect_rc(store_run_list(s, &f, &p, &e), 0, &e);
        pages++;
        assert_true(p->n <= f.limit);
        for (size_t i = 0; i < p->n; i++, got++) {
            assert_true(got < n_want);
            assert_int_equal(p->runs[i].id, want[got]->id);
            assert_int_equal(p->runs[i].created_ns, want[got]->created);
            assert_int_equal(p->runs[i].state, want[got]->state);
            assert_string_equal(p->runs[i].resource_id, want[got]->resource);
            assert_null(p->runs[i].timeline);
        }
        if (p->next)
            assert_int_equal(p->n, f.limit); /* only a full page has a next */
        store_run_page_free(&prev);
        prev = p;
        f.cursor = p->next;
    } while (f.cursor);
    store_run_page_free(&prev);
    assert_int_equal(got, n_want);
    assert_int_equal(pages, n_want ? (n_want + f.limit - 1) / f.limit : 1); /* no empty last page */
    *n_seen = got;
}

static void test_run_list(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    tclock clk = {T0, 0}; /* the test moves it: four runs share each time */
    store_set_clock(s, tclock_now, &clk);
    const char *res[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        put_test(s, res[i], DOC_A1, NULL);
    expected_run all[N_RUNS];
    for (int i = 0; i < N_RUNS; i++) {
        /* not in id order: groups of four created at the same time, every fifth group back in time */
        int group = i / 4;
        int64_t t = T0 + (group % 5 == 4 ? group - 20 : group) * 1000;
        atomic_store(&clk.t, t);
        all[i].resource = res[i % 3];
        all[i].id = new_run(s, all[i].resource, 0);
        all[i].created = t;
        all[i].state = STORE_RUN_QUEUED;
        if (i % 5 == 1) {
            set_state(s, all[i].id, STORE_RUN_TRIGGERING);
            all[i].state = STORE_RUN_TRIGGERING;
        } else if (i % 5 == 2) {
            finish(s, all[i].id, STORE_RUN_FINISHED, STORE_RESULT_PASSED);
            all[i].state = STORE_RUN_FINISHED;
        }
    }
    qsort(all, N_RUNS, sizeof *all, newest_first);
    size_t n;
    check_listing(s, (store_run_filter){.limit = 7}, all, N_RUNS, &n);
    assert_int_equal(n, N_RUNS);
    check_listing(s, (store_run_filter){.limit = 1}, all, N_RUNS, &n);
    check_listing(s, (store_run_filter){.limit = 40}, all, N_RUNS, &n); /* pages end where the runs do */
    check_listing(s, (store_run_filter){.resource_id = "b", .limit = 6}, all, N_RUNS, &n);
    assert_int_equal(n, N_RUNS / 3);
    check_listing(s, (store_run_filter){.state = STORE_RUN_FINISHED, .limit = 5}, all, N_RUNS, &n);
    assert_int_equal(n, N_RUNS / 5);
    check_listing(s, (store_run_filter){.resource_id = "c", .state = STORE_RUN_TRIGGERING, .limit = 3}, all,
                  N_RUNS, &n);
    assert_int_equal(n, 8);
    check_listing(s, (store_run_filter){.from_ns = T0 + 5000, .to_ns = T0 + 10000, .limit = 3}, all, N_RUNS,
                  &n);
    assert_int_equal(n, 20); /* groups 5..8, and 29 went back to 9 (9 itself went back to -11) */
    check_listing(s, (store_run_filter){.from_ns = T0 + 7000, .state = STORE_RUN_QUEUED, .limit = 4}, all,
                  N_RUNS, &n);
    check_listing(s, (store_run_filter){.resource_id = "none", .limit = 4}, all, N_RUNS, &n);
    assert_int_equal(n, 0);

    /* a run added between two pages neither repeats nor shifts the next page */
    tc_error e = {0};
    store_run_page *p1 = NULL, *p2 = NULL;
    store_run_filter flt = {.limit = 10};
    expect_rc(store_run_list(s, &flt, &p1, &e), 0, &e);
    atomic_store(&clk.t, T0 + 1000000);
    new_run(s, "a", 0);
    flt.cursor = p1->next;
    expect_rc(store_run_list(s, &flt, &p2, &e), 0, &e);
    assert_int_equal(p2->n, 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(p2->runs[i].id, all[10 + i].id);
    store_run_page_free(&p1);
    store_run_page_free(&p2);

    flt.cursor = "00ff";
    expect_rc(store_run_list(s, &flt, &p1, &e), TC_ERR_INPUT, &e);
    flt.cursor = "0123456789abcdef0123456789abcdeg";
    expect_rc(store_run_list(s, &flt, &p1, &e), TC_ERR_INPUT, &e);
    assert_null(p1);
    store_close(&s);
}

static void test_run_page_size(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    tc_error e = {0};
    put_test(s, "a", DOC_A1, NULL);
    for (unsigned i = 0; i < STORE_PAGE_MAX + 1; i++)
        new_run(s, "a", 0);
    store_run_page *p = NULL;
    store_run_filter flt = {0};
    expect_rc(store_run_list(s, &flt, &p, &e), 0, &e);
    assert_int_equal(p->n, STORE_PAGE_DEFAULT);
    assert_non_null(p->next);
    store_run_page_free(&p);
    flt.limit = 100000;
    expect_rc(store_run_list(s, &flt, &p, &e), 0, &e);
    assert_int_equal(p->n, STORE_PAGE_MAX);
    assert_non_null(p->next);
    store_run_page *last = NULL;
    flt.cursor = p->next;
    expect_rc(store_run_list(s, &flt, &last, &e), 0, &e);
    assert_int_equal(last->n, 1);
    assert_null(last->next);
    assert_true(last->runs[0].id < p->runs[STORE_PAGE_MAX - 1].id);
    store_run_page_free(&last);
    store_run_page_free(&p);
    expect_rc(store_run_list(s, NULL, &p, &e), 0, &e);
    assert_int_equal(p->n, STORE_PAGE_DEFAULT);
    store_run_page_free(&p);
    store_close(&s);
}

/* ---- the trace ---- */

static void test_trace_round_trip(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    tc_error e = {0};
    put_test(s, "a", DOC_A1, NULL);
    /* 1 MiB shaped like protobuf: repeated field tags and names, random ids */
    size_t len = 1 << 20;
    uint8_t *trace = malloc(len);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        trace[i] = i % 64 < 16 ? (uint8_t)x : (uint8_t) "\x0a\x10service.name\x12\x08checkout"[i % 24];
    }
    int64_t id = new_run(s, "a", 0);
    store_run_end end = {
        .state = STORE_RUN_FINISHED, .result = STORE_RESULT_PASSED, .trace = trace, .trace_len = len};
    expect_rc(store_run_finish(s, id, &end, &e), 0, &e);
    uint8_t *back = NULL;
    size_t back_len = 0;
    expect_rc(store_run_trace(s, id, &back, &back_len, &e), 0, &e);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, trace, len);
    free(back);
    store_run *r = get_run(s, id);
    assert_int_equal(r->trace_len, len);
    store_run_free(&r);
    /* a run without a trace has none */
    int64_t bare = new_run(s, "a", 0);
    finish(s, bare, STORE_RUN_FINISHED, STORE_RESULT_PASSED);
    expect_rc(store_run_trace(s, bare, &back, &back_len, &e), STORE_ERR_NOT_FOUND, &e);
    store_close(&s);
    /* kept compressed */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s(data) FROM run_traces WHERE run_id = %lld",
             f->pg ? "octet_length" : "length", (long long)id);
    long long stored = raw_int(f, sql);
    assert_true(stored > 0);
    assert_true(stored < (long long)len / 2);
    free(trace);
}

/* ---- threads ---- */

#define WORKER_RUNS 25

typedef struct worker {
    const char *url;
    store *shared; /* NULL: open a handle of its own */
    int64_t ids[WORKER_RUNS];
    int n, failures;
    char first_failure[TC_ERROR_MSG_MAX + 64];
} worker;

static void worker_fail(worker *w, const char *what, const tc_error *e)
{
    if (!w->failures++)
        snprintf(w->first_failure, sizeof w->first_failure, "%s: %s", what, e->msg);
}

static void *work(void *arg)
{
    worker *w = arg;
    tc_error e = {0};
    store *s = w->shared;
    if (!s && store_open(w->url, &s, &e)) {
        worker_fail(w, "open", &e);
        return NULL;
    }
    uint8_t trace[256];
    memset(trace, 7, sizeof trace);
    for (int i = 0; i < WORKER_RUNS; i++) {
        int64_t id = 0;
        store_run_new in = {STORE_TEST_RUN, "a", 0, "{}"};
        if (store_run_create(s, &in, &id, &e)) {
            worker_fail(w, "create", &e);
            continue;
        }
        w->ids[w->n++] = id;
        if (store_run_set_state(s, id, STORE_RUN_TRIGGERING, &e) ||
            store_run_set_state(s, id, STORE_RUN_AWAITING_TRACE, &e))
            worker_fail(w, "set_state", &e);
        store_run_end end = {.state = STORE_RUN_FINISHED,
                             .passed = 1,
                             .result = STORE_RESULT_PASSED,
                             .results = "{}",
                             .trace = trace,
                             .trace_len = sizeof trace};
        if (store_run_finish(s, id, &end, &e))
            worker_fail(w, "finish", &e);
        store_run *r = NULL;
        if (store_run_get(s, id, &r, &e))
            worker_fail(w, "get", &e);
        else if (r->state != STORE_RUN_FINISHED || r->n_timeline != 4)
            worker_fail(w, "get: not finished", &e);
        store_run_free(&r);
        store_resource_page *p = NULL;
        if (store_resource_list(s, RES_TEST, NULL, 0, &p, &e))
            worker_fail(w, "list", &e);
        store_resource_page_free(&p);
    }
    if (!w->shared)
        store_close(&s);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_threads(void **state)
{
    fx *f = *state;
    store *s = open_ok(f);
    put_test(s, "a", DOC_A1, NULL);
    enum { N = 6 };
    worker w[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].url = f->url;
        w[i].shared = i < 4 ? s : NULL; /* four threads on one handle, two with their own */
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    int64_t ids[N * WORKER_RUNS];
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (w[i].failures)
            print_message("worker %d: %d failures, first %s\n", i, w[i].failures, w[i].first_failure);
        assert_int_equal(w[i].failures, 0);
        assert_int_equal(w[i].n, WORKER_RUNS);
        memcpy(ids + n, w[i].ids, WORKER_RUNS * sizeof *ids);
        n += WORKER_RUNS;
    }
    qsort(ids, n, sizeof *ids, cmp_i64);
    for (size_t i = 1; i < n; i++)
        assert_true(ids[i] > ids[i - 1]); /* every id once */
    size_t listed = 0;
    store_run_filter flt = {.resource_id = "a", .state = STORE_RUN_FINISHED, .limit = 64};
    store_run_page *p = NULL;
    tc_error e = {0};
    for (;;) {
        expect_rc(store_run_list(s, &flt, &p, &e), 0, &e);
        listed += p->n;
        if (!p->next)
            break;
        static char cursor[64];
        snprintf(cursor, sizeof cursor, "%s", p->next);
        flt.cursor = cursor;
        store_run_page_free(&p);
    }
    store_run_page_free(&p);
    assert_int_equal(listed, N * WORKER_RUNS);
    store_close(&s);
}

/* ---- the probe for tests/sh/store_pg.sh ---- */

static int probe(const char *url)
{
    store *s = NULL;
    tc_error e = {0};
    int rc = store_open(url, &s, &e);
    printf(rc ? "error %d: %s\n" : "ok\n", rc, e.msg);
    fflush(stdout);
    if (rc)
        return 1;
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        char *id = strchr(line, ' ');
        if (!strcmp(line, "quit"))
            break;
        if (!id || !id[1]) {
            printf("error %d: no id\n", TC_ERR_INPUT);
            fflush(stdout);
            continue;
        }
        *id++ = 0;
        char doc[600];
        snprintf(doc, sizeof doc, "type: Test\nspec:\n  id: %s\n  name: %s\n", id, id);
        if (!strcmp(line, "put")) {
            rc = store_resource_put(s, RES_TEST, id, id, doc, NULL, NULL, &e);
        } else if (!strcmp(line, "get")) {
            store_resource *r = NULL;
            rc = store_resource_get(s, RES_TEST, id, 0, &r, &e);
            store_resource_free(&r);
        } else if (!strcmp(line, "run")) {
            int64_t run = 0;
            store_run_new in = {STORE_TEST_RUN, id, 0, NULL};
            rc = store_run_create(s, &in, &run, &e);
        } else {
            rc = tc_error_set(&e, TC_ERR_INPUT, "unknown command %s", line);
        }
        if (!rc)
            printf("ok\n");
        else if (store_unavailable(rc))
            printf("unavailable: %s\n", e.msg);
        else if (rc == STORE_ERR_NOT_FOUND)
            printf("not found: %s\n", e.msg);
        else
            printf("error %d: %s\n", rc, e.msg);
        fflush(stdout);
    }
    store_close(&s);
    return 0;
}

#define STORE_TESTS(X)                                                                                       \
    X(test_migrations)                                                                                       \
    X(test_migration_is_one_transaction)                                                                     \
    X(test_migration_concurrent_opens)                                                                       \
    X(test_resource_versions)                                                                                \
    X(test_resource_delete)                                                                                  \
    X(test_resource_pages)                                                                                   \
    X(test_bad_arguments)                                                                                    \
    X(test_run_lifecycle)                                                                                    \
    X(test_finish_is_one_transaction)                                                                        \
    X(test_put_many_is_one_transaction)                                                                      \
    X(test_replicas)                                                                                         \
    X(test_interrupt_running)                                                                                \
    X(test_run_list)                                                                                         \
    X(test_run_page_size)                                                                                    \
    X(test_trace_round_trip)                                                                                 \
    X(test_threads)

#define ON_SQLITE(t) {"sqlite: " #t, t, setup_sqlite, teardown_sqlite, NULL},
#define ON_PG(t) {"postgresql: " #t, t, setup_pg, teardown_pg, NULL},

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "probe"))
        return probe(argv[2]);
    const struct CMUnitTest common[] = {cmocka_unit_test(test_state_names)};
    const struct CMUnitTest sqlite_tests[] = {STORE_TESTS(ON_SQLITE)};
    const struct CMUnitTest pg_tests[] = {STORE_TESTS(ON_PG)};
    int failed = cmocka_run_group_tests_name("store", common, NULL, NULL);
    failed += cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
    pg_url = getenv("TC_PG_URL");
    if (pg_url && *pg_url) {
        failed += cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
    } else {
        printf(
            "# SKIP postgresql: %zu tests not run (TC_PG_URL is not set; tests/sh/store_pg.sh runs them)\n",
            sizeof pg_tests / sizeof *pg_tests);
    }
    return failed;
}
