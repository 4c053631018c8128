/* client.h - the CLI's side of the REST API of `tracecheck serve`
 * (docs/api.md): where the server is and the token (flags, then the
 * environment), one request at a time over libcurl, the API's error
 * documents, a run's event stream (Server-Sent Events), and a finished
 * run's results turned back into a report_test for src/report.
 *
 * Ownership: a client owns its curl handle and copies of the URL and the
 * token; a client_response owns its body (client_response_free). What
 * client_report_from_run makes lives in the arena it is given. Every
 * function that fails writes a message for people into its tc_error. */
#ifndef TC_CLI_CLIENT_H
#define TC_CLI_CLIENT_H

#include "core/arena.h"
#include "core/error.h"
#include "report/report.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLIENT_MAX_BODY ((size_t)512 << 20) /* bytes of one answer, or one event */
#define CLIENT_CONNECT_TIMEOUT_MS 5000L     /* to open a connection */
#define CLIENT_REQUEST_TIMEOUT_MS 120000L   /* one request and its answer */
#define CLIENT_STREAM_IDLE_S 45L            /* silent this long, an event stream is dead */

typedef struct client client;

#define CLIENT_DEFAULT_SERVER "http://127.0.0.1:11633" /* where `tracecheck serve` listens by default */

/* Where the server is and how to authenticate: `server_flag` (--server),
 * else TRACECHECK_SERVER, else CLIENT_DEFAULT_SERVER; the token from
 * `token_file` (--token-file, its first line), else TRACECHECK_TOKEN,
 * else none. A URL without a scheme gets http://. Returns 0 and a client
 * (free with client_close), or EXIT_USAGE after printing why (a URL that
 * is not http(s), an unreadable token file). `cmd` names the command in
 * messages. */
int client_from_flags(const char *cmd, const char *server_flag, const char *token_file, client **out);

/* True when a server is configured (--server given or TRACECHECK_SERVER
 * set and not empty). */
bool client_server_configured(const char *server_flag);

void client_close(client **c);

/* The server's base URL as given (no trailing slash). */
const char *client_url(const client *c);

typedef struct client_response {
    long status; /* HTTP status */
    char *body;  /* NUL-terminated; NULL when empty */
    size_t len;
    char content_type[96]; /* without parameters, "" when absent */
} client_response;

/* Sends `method path` (path starts with /api/, query included) with an
 * optional body (content_type given) and Accept header. Returns 0 when the
 * server answered, whatever the status; TC_ERR_IO when it could not be
 * reached or the answer was cut (e: "cannot reach the server at URL:
 * reason"), TC_ERR_LIMIT past CLIENT_MAX_BODY, TC_ERR_NOMEM. *out is
 * written only on success. */
int client_request(client *c, const char *method, const char *path, const char *content_type,
                   const char *accept, const char *body, size_t len, client_response *out, tc_error *e);

/* Frees the body; accepts a zeroed response. */
void client_response_free(client_response *r);

/* The answer's body as JSON (NULL when it is not; caller json_decref's). */
json_t *client_response_json(const client_response *r);

/* The error of an answer that is not 2xx (docs/api.md: {"error":{"code",
 * "message"}}, plus "line"/"column" and "document" when the server says
 * where), or a description made from the status when the body is not one. */
typedef struct client_api_error {
    char code[48];
    char message[1024];
    int line, col; /* 0: unknown */
    int document;  /* 0-based document of a request body, -1 unknown */
} client_api_error;
void client_api_error_of(const client_response *r, client_api_error *out);

/* Prints "tracecheck: <what>: <message>" for an answer that is not 2xx (a
 * hint about the token for 401) and returns the exit code it stands for:
 * EXIT_RUN for 401/403, 5xx and anything the server could not do, else
 * EXIT_USAGE (a bad request, an unknown id). */
int client_report_error(const client *c, const char *what, const client_response *r);

/* Prints "tracecheck: <message>" for a failed client_request or
 * client_events and returns EXIT_RUN (EXIT_USAGE for TC_ERR_LIMIT, an
 * answer too large, and TC_ERR_INPUT). */
int client_report_failure(int rc, const tc_error *e);

/* One event of a stream: its type ("message" when none was named) and its
 * data (the data lines joined by \n, NUL-terminated). Return non-zero to
 * stop reading. */
typedef int (*client_event_fn)(void *user, const char *event, const char *data, size_t len);

/* Called about every 100 ms while a stream is open (a progress line). */
typedef void (*client_tick_fn)(void *user);

/* Reads the Server-Sent Events of GET path until the server closes the
 * stream or on_event returns non-zero. Comments (keep-alives) are skipped.
 * Returns 0 after a complete stream (or a stop), with err_body->status the
 * HTTP status and, when it is not 200, the answer's body in *err_body
 * (free it; zeroed when the call fails). SIGINT is caught meanwhile (see
 * client_interrupted). TC_ERR_IO when the connection failed or went
 * silent for CLIENT_STREAM_IDLE_S; TC_ERR_LIMIT for an event past
 * CLIENT_MAX_BODY; TC_ERR_INPUT when interrupted by SIGINT. */
int client_events(client *c, const char *path, client_event_fn on_event, client_tick_fn tick, void *user,
                  client_response *err_body, tc_error *e);

/* While client_events runs, SIGINT stops it instead of ending the process
 * (the caller can cancel the run first); this tells whether that happened
 * in the last client_events call. */
bool client_interrupted(void);

/* Appends s to b percent-encoded for a URL path segment or query value. */
int client_escape(tc_buf *b, const char *s);

/* Turns a run (the body of GET /api/runs/{id}, or the data of its
 * `result` event) into a report test: name, id, trace id, state, error,
 * duration, timeline and source, and the specs and outputs of its
 * `results` (docs/report-json.md), spans rebuilt with their id, name and
 * service. `file` (may be NULL) names the test's file as a local run does.
 * Everything is allocated from a. Returns 0, TC_ERR_INPUT when the
 * document is not a run, or TC_ERR_NOMEM. */
int client_report_from_run(const json_t *run, const char *file, arena *a, report_test *out, tc_error *e);

/* True for the run states that are final (docs/api.md). */
bool client_state_final(const char *state);

/* Runs tests on the server (`tracecheck run --server`, cmd_client.c;
 * docs/cli.md): applies the files, starts each Test and TestSuite, follows
 * each run's events, prints the reports. `files` are the FILE|DIR
 * arguments; vars_files and var_args as `run` takes them. Returns the exit
 * code `run` has for the same results. */
typedef struct client_run_opts {
    const char *server;     /* --server, or NULL */
    const char *token_file; /* --token-file, or NULL */
    const char *const *files;
    int n_files;
    const char *const *vars_files;
    int n_vars_files;
    const char *const *var_args;
    int n_var_args;
    bool json;         /* --format json */
    const char *junit; /* --junit FILE, or NULL */
} client_run_opts;
int client_run(const client_run_opts *o);

/* The client commands (cmd_client.c), for the command table. */
int cmd_apply(int argc, char **argv);
void help_apply(FILE *out);
int cmd_list(int argc, char **argv);
void help_list(FILE *out);
int cmd_get(int argc, char **argv);
void help_get(FILE *out);
int cmd_delete(int argc, char **argv);
void help_delete(FILE *out);
int cmd_export(int argc, char **argv);
void help_export(FILE *out);

#endif
