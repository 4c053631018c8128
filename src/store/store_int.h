/* store_int.h - what the store's common part (store.c) asks of a database
 * back-end (store_sqlite.c, store_pg.c): run one prepared statement with
 * bound parameters, run a fixed script, report a lost connection.
 *
 * The SQL lives in store.c, written once for both back-ends where they
 * agree: parameters are $1, $2... (the SQLite back-end reads them as ?1,
 * ?2...), values are bound, never formatted into the text. */
#ifndef TC_STORE_INT_H
#define TC_STORE_INT_H

#include "store.h"

#include <pthread.h>

enum { DB_NULL, DB_INT, DB_TEXT, DB_BLOB };

typedef struct db_arg {
    int type;
    int64_t i;     /* DB_INT */
    const void *p; /* DB_TEXT (NUL-terminated), DB_BLOB */
    size_t n;      /* DB_BLOB */
} db_arg;

#define DB_MAX_ARGS 16
#define DB_MAX_COLS 24

/* One row of a result, valid during the row callback only. */
typedef struct db_row {
    int n;
    struct {
        const char *p; /* NULL for SQL NULL; text is NUL-terminated */
        size_t len;
    } c[DB_MAX_COLS];
} db_row;

/* Called for each row; a non-zero return stops the statement and is
 * returned by exec (the callback fills the error). */
typedef int (*db_row_fn)(void *ctx, const db_row *r);

typedef struct db_query {
    int id; /* index of the statement cache */
    const char *sql;
    bool binary; /* PostgreSQL: rows in binary format (for bytea; text columns come as their bytes) */
} db_query;

enum {
    Q_MIG_LOCK,
    Q_MIG_VERSION,
    Q_MIG_INSERT,
    Q_RES_ENSURE,
    Q_RES_LOCK,
    Q_RES_SAME,
    Q_RES_ADD_VERSION,
    Q_RES_SET_LATEST,
    Q_RES_GET_LATEST,
    Q_RES_GET_VERSION,
    Q_RES_DELETE,
    Q_RES_LIST,
    Q_RUN_VERSION,
    Q_RUN_VERSION_LATEST,
    Q_RUN_INSERT,
    Q_STATE_ADD,
    Q_RUN_SET_STATE,
    Q_RUN_LOCK,
    Q_TRACE_ADD,
    Q_RUN_END,
    Q_RUN_GET,
    Q_RUN_TIMELINE,
    Q_TRACE_GET,
    Q_INTERRUPT_STATES,
    Q_INTERRUPT_RUNS,
    Q_INTERRUPT_ORPHANS,
    Q_SERVER_BEAT,
    Q_RUN_LIST,
    Q_RUN_LIST_RES,
    Q_RUN_LIST_STATE,
    Q_RUN_LIST_RES_STATE,
    Q_N,
};

typedef struct store_ops {
    const char *name; /* "sqlite", "postgresql" */
    bool is_pg;
    const char *begin_write; /* starts a transaction that will write */
    const char *begin_read;  /* starts a transaction that reads a consistent snapshot */
    /* Runs q with args; fn (may be NULL) gets each row; *changes (may be
     * NULL) the rows an INSERT/UPDATE/DELETE touched. A NULL q->sql is a
     * statement this back-end does without: 0 at once. */
    int (*exec)(store *s, const db_query *q, const db_arg *args, int nargs, db_row_fn fn, void *ctx,
                int64_t *changes, tc_error *e);
    /* Runs fixed SQL without parameters (DDL, BEGIN, COMMIT...). */
    int (*script)(store *s, const char *sql, tc_error *e);
    /* Before each call: PostgreSQL reconnects a broken connection. */
    int (*ready)(store *s, tc_error *e);
    /* Whether a transaction is open (after a failure: whether to roll back). */
    bool (*in_tx)(store *s);
    void (*close)(store *s);
} store_ops;

struct store {
    const store_ops *ops;
    void *db;           /* the back-end's connection state */
    pthread_mutex_t mu; /* one call at a time */
    int64_t (*now_ns)(void *user);
    void *now_user;
    char server_id[STORE_MAX_SERVER_ID + 1]; /* runs created here belong to it ("": none) */
};

/* Back-end openers: fill s->ops and s->db, or fail (TC_ERR_IO when the
 * database cannot be opened or reached). */
int store_sqlite_open(store *s, const char *path, tc_error *e);
int store_pg_open(store *s, const char *url, tc_error *e);

/* Migration scripts of a back-end, by version (1..STORE_SCHEMA_VERSION). */
const char *store_sqlite_migration(int version);
const char *store_pg_migration(int version);

#endif
