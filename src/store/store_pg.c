/* store_pg.c - the store's PostgreSQL back-end (libpq): one session, the
 * shared SQL prepared by name on first use in the session, parameters sent
 * apart from the statement (text, bytea in binary). A broken connection
 * fails the call that meets it with TC_ERR_IO; the next call resets the
 * connection (and prepares the statements again in the new session). */
#include "store_int.h"

#include <libpq-fe.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pg {
    PGconn *conn;
    bool prepared[Q_N]; /* in the current session */
} pg;

static void quiet_notices(void *arg, const char *message)
{
    (void)arg; /* "relation ... already exists, skipping" and the like */
    (void)message;
}

/* The first line of libpq's message, without its "FATAL:  " or "ERROR:  ". */
static void first_line(char *dst, size_t cap, const char *msg)
{
    if (!msg || !*msg)
        msg = "no message";
    if (!strncmp(msg, "FATAL:  ", 8) || !strncmp(msg, "ERROR:  ", 8))
        msg += 8;
    size_t n = strcspn(msg, "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, msg, n);
    dst[n] = 0;
}

static int unavailable(pg *d, tc_error *e)
{
    char msg[200];
    first_line(msg, sizeof msg, PQerrorMessage(d->conn));
    return tc_error_set(e, TC_ERR_IO, "postgresql unavailable: %s", msg);
}

/* Maps a failed result (r may be NULL) to a code by SQLSTATE class. */
static int fail(pg *d, PGresult *r, tc_error *e)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (PQstatus(d->conn) != CONNECTION_OK || !state || !strncmp(state, "08", 2) ||
        !strncmp(state, "57", 2)) {
        if (primary) { /* e.g. 57P01 terminating connection due to administrator command */
            char msg[200];
            first_line(msg, sizeof msg, primary);
            return tc_error_set(e, TC_ERR_IO, "postgresql unavailable: %s", msg);
        }
        return unavailable(d, e);
    }
    char msg[200];
    first_line(msg, sizeof msg, primary ? primary : PQerrorMessage(d->conn));
    if (!strncmp(state, "22", 2) || !strncmp(state, "23", 2)) /* data exception, integrity constraint */
        return tc_error_set(e, TC_ERR_INPUT, "postgresql: refused: %s", msg);
    if (!strncmp(state, "54", 2)) /* program limit exceeded */
        return tc_error_set(e, TC_ERR_LIMIT, "postgresql: %s", msg);
    /* 40 (serialization, deadlock), 53 (resources), 58, XX, 42 (a schema not as expected)... */
    return tc_error_set(e, TC_ERR_IO, "postgresql: %s (SQLSTATE %s)", msg, state);
}

static int pg_exec(store *s, const db_query *q, const db_arg *a, int n, db_row_fn fn, void *ctx,
                   int64_t *changes, tc_error *e)
{
    pg *d = s->db;
    char name[16];
    snprintf(name, sizeof name, "tc_q%d", q->id);
    if (!d->prepared[q->id]) {
        PGresult *r = PQprepare(d->conn, name, q->sql, 0, NULL);
        int rc = r && PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : fail(d, r, e);
        PQclear(r);
        if (rc)
            return rc;
        d->prepared[q->id] = true;
    }
    if (n > DB_MAX_ARGS)
        return tc_error_set(e, TC_ERR_INPUT, "store: %d parameters", n);
    const char *values[DB_MAX_ARGS];
    int lengths[DB_MAX_ARGS], formats[DB_MAX_ARGS];
    char ints[DB_MAX_ARGS][24];
    for (int i = 0; i < n; i++) {
        lengths[i] = 0;
        formats[i] = 0;
        switch (a[i].type) {
        case DB_INT:
            snprintf(ints[i], sizeof ints[i], "%" PRId64, a[i].i);
            values[i] = ints[i];
            break;
        case DB_TEXT:
            values[i] = a[i].p;
            break;
        case DB_BLOB:
            if (a[i].n > (size_t)INT32_MAX)
                return tc_error_set(e, TC_ERR_LIMIT, "store: %zu bytes in one value", a[i].n);
            values[i] = a[i].p;
            lengths[i] = (int)a[i].n;
            formats[i] = 1;
            break;
        default:
            values[i] = NULL;
        }
    }
    PGresult *r = PQexecPrepared(d->conn, name, n, values, lengths, formats, q->binary ? 1 : 0);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int rc = fail(d, r, e);
        PQclear(r);
        return rc;
    }
    int out = 0;
    int rows = PQntuples(r), cols = PQnfields(r);
    if (cols > DB_MAX_COLS)
        cols = DB_MAX_COLS;
    for (int i = 0; fn && i < rows && !out; i++) {
        db_row row;
        row.n = cols;
        for (int c = 0; c < cols; c++) {
            bool null = PQgetisnull(r, i, c);
            row.c[c].p = null ? NULL : PQgetvalue(r, i, c);
            row.c[c].len = null ? 0 : (size_t)PQgetlength(r, i, c);
        }
        out = fn(ctx, &row);
    }
    if (!out && changes) {
        const char *t = PQcmdTuples(r);
        *changes = *t ? strtoll(t, NULL, 10) : 0;
    }
    PQclear(r);
    return out;
}

static int pg_script(store *s, const char *sql, tc_error *e)
{
    pg *d = s->db;
    PGresult *r = PQexec(d->conn, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : fail(d, r, e);
    PQclear(r);
    return rc;
}

static int pg_ready(store *s, tc_error *e)
{
    pg *d = s->db;
    if (PQstatus(d->conn) == CONNECTION_OK)
        return 0;
    PQreset(d->conn); /* the same parameters, a new session */
    memset(d->prepared, 0, sizeof d->prepared);
    if (PQstatus(d->conn) != CONNECTION_OK)
        return unavailable(d, e);
    return 0;
}

static bool pg_in_tx(store *s)
{
    pg *d = s->db;
    PGTransactionStatusType t = PQtransactionStatus(d->conn);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

static void pg_close(store *s)
{
    pg *d = s->db;
    if (!d)
        return;
    PQfinish(d->conn);
    free(d);
    s->db = NULL;
}

static const store_ops pg_ops = {
    .name = "postgresql",
    .is_pg = true,
    .begin_write = "BEGIN",
    .begin_read = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    .exec = pg_exec,
    .script = pg_script,
    .ready = pg_ready,
    .in_tx = pg_in_tx,
    .close = pg_close,
};

int store_pg_open(store *s, const char *url, tc_error *e)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    if (!opts) {
        char msg[200];
        first_line(msg, sizeof msg, err ? err : "out of memory");
        PQfreemem(err);
        return tc_error_set(e, TC_ERR_INPUT, "postgresql: bad URL: %s", msg);
    }
    PQconninfoFree(opts);
    pg *d = calloc(1, sizeof *d);
    if (!d)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", STORE_CONNECT_TIMEOUT_S);
    /* entries before dbname are defaults the URL may override */
    const char *const keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname", NULL};
    const char *const vals[] = {timeout, "tracecheck", "UTF8", url, NULL};
    d->conn = PQconnectdbParams(keys, vals, 1);
    if (!d->conn) {
        free(d);
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    }
    PQsetNoticeProcessor(d->conn, quiet_notices, NULL);
    if (PQstatus(d->conn) != CONNECTION_OK) {
        int rc = unavailable(d, e);
        PQfinish(d->conn);
        free(d);
        return rc;
    }
    s->ops = &pg_ops;
    s->db = d;
    return 0;
}
