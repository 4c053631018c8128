/* store_sqlite.c - the store's SQLite back-end: one connection in WAL mode
 * (readers run beside the one writer), synchronous=NORMAL (a commit is
 * durable once the WAL is checkpointed; a crash loses at most the last
 * commits, never consistency), foreign keys on, a busy timeout for the
 * write lock, and a cache of prepared statements (see store_int.h). */
#include "store_int.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

typedef struct sq {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt[Q_N];
} sq;

static int map_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
        return TC_ERR_INPUT;
    case SQLITE_TOOBIG:
        return TC_ERR_LIMIT;
    case SQLITE_NOMEM:
        return TC_ERR_NOMEM;
    default: /* busy, locked, I/O, full, corrupt...: the database's fault, not the request's */
        return TC_ERR_IO;
    }
}

static int fail(sq *d, int rc, tc_error *e)
{
    int code = map_code(rc);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return tc_error_set(e, code, "sqlite: refused: %s", sqlite3_errmsg(d->db));
    if ((rc & 0xff) == SQLITE_BUSY)
        return tc_error_set(e, code, "sqlite: %s: still locked by another writer after %d ms (%s)", d->path,
                            STORE_BUSY_TIMEOUT_MS, sqlite3_errmsg(d->db));
    return tc_error_set(e, code, "sqlite: %s: %s", d->path, sqlite3_errmsg(d->db));
}

/* The shared SQL numbers parameters $1, $2...; SQLite's numbered form is ?1, ?2... */
static char *sqlite_params(const char *sql)
{
    char *out = strdup(sql);
    if (!out)
        return NULL;
    for (char *p = out; *p; p++)
        if (p[0] == '$' && p[1] >= '0' && p[1] <= '9')
            *p = '?';
    return out;
}

static int sq_exec(store *s, const db_query *q, const db_arg *a, int n, db_row_fn fn, void *ctx,
                   int64_t *changes, tc_error *e)
{
    sq *d = s->db;
    sqlite3_stmt *st = d->stmt[q->id];
    if (!st) {
        char *sql = sqlite_params(q->sql);
        if (!sql)
            return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        int rc = sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        free(sql);
        if (rc != SQLITE_OK)
            return fail(d, rc, e);
        d->stmt[q->id] = st;
    }
    int rc = SQLITE_OK;
    for (int i = 0; i < n && rc == SQLITE_OK; i++) {
        switch (a[i].type) {
        case DB_INT:
            rc = sqlite3_bind_int64(st, i + 1, a[i].i);
            break;
        case DB_TEXT:
            rc = sqlite3_bind_text(st, i + 1, a[i].p, -1, SQLITE_STATIC);
            break;
        case DB_BLOB:
            rc = sqlite3_bind_blob64(st, i + 1, a[i].p, a[i].n, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(st, i + 1);
        }
    }
    int out = 0;
    if (rc != SQLITE_OK) {
        out = fail(d, rc, e);
        goto done;
    }
    for (;;) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            out = fail(d, rc, e);
            goto done;
        }
        if (!fn)
            continue;
        db_row row;
        row.n = sqlite3_column_count(st);
        if (row.n > DB_MAX_COLS)
            row.n = DB_MAX_COLS;
        for (int c = 0; c < row.n; c++) {
            int type = sqlite3_column_type(st, c);
            if (type == SQLITE_NULL) {
                row.c[c].p = NULL;
                row.c[c].len = 0;
                continue;
            }
            const char *p =
                type == SQLITE_BLOB ? sqlite3_column_blob(st, c) : (const char *)sqlite3_column_text(st, c);
            row.c[c].len = (size_t)sqlite3_column_bytes(st, c);
            row.c[c].p = p ? p : "";
        }
        if ((out = fn(ctx, &row)))
            goto done;
    }
    if (changes)
        *changes = sqlite3_changes64(d->db);
done:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return out;
}

static int sq_script(store *s, const char *sql, tc_error *e)
{
    sq *d = s->db;
    int rc = sqlite3_exec(d->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail(d, rc, e);
}

static int sq_ready(store *s, tc_error *e)
{
    (void)s;
    (void)e;
    return 0;
}

static bool sq_in_tx(store *s)
{
    sq *d = s->db;
    return !sqlite3_get_autocommit(d->db);
}

static void sq_close(store *s)
{
    sq *d = s->db;
    if (!d)
        return;
    for (int i = 0; i < Q_N; i++)
        sqlite3_finalize(d->stmt[i]);
    sqlite3_close(d->db);
    free(d->path);
    free(d);
    s->db = NULL;
}

static const store_ops sqlite_ops = {
    .name = "sqlite",
    .is_pg = false,
    .begin_write = "BEGIN IMMEDIATE", /* take the write lock first: no upgrade deadlock */
    .begin_read = "BEGIN",
    .exec = sq_exec,
    .script = sq_script,
    .ready = sq_ready,
    .in_tx = sq_in_tx,
    .close = sq_close,
};

int store_sqlite_open(store *s, const char *path, tc_error *e)
{
    sq *d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(path))) {
        free(d);
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    int rc = sqlite3_open_v2(path, &d->db, flags, NULL);
    if (rc != SQLITE_OK) {
        tc_error_set(e, TC_ERR_IO, "sqlite: cannot open %s: %s", path,
                     d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
        sqlite3_close(d->db);
        free(d->path);
        free(d);
        return TC_ERR_IO;
    }
    s->ops = &sqlite_ops;
    s->db = d;
    sqlite3_busy_timeout(d->db, STORE_BUSY_TIMEOUT_MS);
    /* fixed pragmas (no values from callers); journal_mode answers "memory" for ":memory:" */
    rc = sq_script(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", e);
    if (rc) {
        sq_close(s);
        s->ops = NULL;
        return rc;
    }
    return 0;
}
