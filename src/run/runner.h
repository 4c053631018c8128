/* runner.h - one live run of a test: trigger the system, wait for its trace
 * in the built-in receiver's span store until the trace is complete, then
 * evaluate the specs. The run moves through named states and records when
 * each began:
 *
 *   CREATED -> TRIGGERING -> AWAITING_TRACE -> EVALUATING -> FINISHED
 *   failures: TRIGGER_FAILED, TRACE_FAILED, EVALUATION_FAILED
 *
 * The trace comes from the built-in receiver's span store, or, with
 * runner_opts.src, from polling the team's backend (src/source): the first
 * poll 100 ms after the trigger, then again a quiet window after a poll that
 * saw new spans, and at intervals growing by half up to the retry delay (a
 * ceiling) otherwise; "quiet" means two polls in a row returned the same
 * spans. Not found and transient failures are retried within the timeout;
 * a fatal one (authentication, TLS, name resolution) ends the wait at once.
 *
 * A trace is complete (docs/architecture.md) when at least one span besides
 * the trigger span arrived, every span's parent is present (the trigger
 * span counts), no span arrived for a quiet window, and every spec selector
 * matches a span — or, when one does not, after selector_match_retries more
 * quiet windows. The timeout ends the wait as TRACE_FAILED, keeping what
 * arrived and naming the missing parents.
 *
 * Ownership: a run_result owns its arena and trace set; free it with
 * run_result_free. */
#ifndef TC_RUN_RUNNER_H
#define TC_RUN_RUNNER_H

#include "core/spec.h"
#include "receiver/spanbuf.h"
#include "resource/resource.h"
#include "run/vars.h"
#include "source/source.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum run_state {
    RUN_CREATED,
    RUN_TRIGGERING,
    RUN_AWAITING_TRACE,
    RUN_EVALUATING,
    RUN_FINISHED,
    RUN_TRIGGER_FAILED,
    RUN_TRACE_FAILED,
    RUN_EVALUATION_FAILED,
    RUN_N_STATES,
} run_state;

#define RUN_DEFAULT_TIMEOUT_NS (30ull * 1000000000ull)
#define RUN_DEFAULT_QUIET_NS (250ull * 1000000ull)
#define RUN_DEFAULT_SELECTOR_RETRIES 3
#define RUN_DEFAULT_RETRY_DELAY_NS (5ull * 1000000000ull) /* the ceiling of the poll interval */
#define RUN_FIRST_POLL_NS (100ull * 1000000ull)           /* first poll after the trigger */

/* What a run reports as it goes (runner_opts.progress): on every state
 * change, and while it waits for its trace at least every
 * RUN_PROGRESS_NS. Pointers are valid during the call only. */
typedef struct run_progress {
    run_state state;
    const char *trace_id;       /* 32 hex digits once the run has one, else "" */
    const char *span_id;        /* the trigger span's 16 hex digits, "" without one */
    const struct trigger_result *trigger; /* the trigger's answer once it came, else NULL */
    uint32_t spans;             /* spans so far, the trigger span included */
    uint64_t quiet_ns;          /* since the newest span arrived (0: none yet) */
    uint64_t quiet_window_ns;   /* the quiet window the run waits for */
    bool checked;               /* completeness was checked: the three below say how it went */
    uint32_t missing_parents;   /* parents named by spans and not received */
    uint32_t n_unmatched;       /* spec selectors that matched no span */
    const char *const *unmatched;
} run_progress;

#define RUN_PROGRESS_NS (250ull * 1000000ull)

/* Returns true to cancel the run: its wait for the trace ends at once (a
 * trigger call in progress goes on to its end first); the run ends
 * TRIGGER_FAILED or TRACE_FAILED with run_result.cancelled set. Called
 * on the runner's thread. */
typedef bool (*run_progress_fn)(void *user, const run_progress *p);

typedef struct runner_opts {
    spanbuf *buf;                    /* where the receiver puts spans */
    uint64_t timeout_ns;             /* 0: the test's polling profile, else RUN_DEFAULT_TIMEOUT_NS */
    uint64_t quiet_ns;               /* 0: the profile's quietWindow, else RUN_DEFAULT_QUIET_NS */
    int selector_match_retries;      /* < 0: the profile's, else RUN_DEFAULT_SELECTOR_RETRIES */
    bool b3;                         /* also send a b3 header */
    FILE *status;                    /* a terminal for the live status line, or NULL */
    const res_polling *polling;      /* the test's PollingProfile, or NULL */
    const char *file;                /* the test's file, for error locations (may be NULL) */
    source *src;                     /* poll this backend for the trace; NULL: the receiver's buf */
    uint64_t retry_delay_ns;         /* 0: the profile's retryDelay, else RUN_DEFAULT_RETRY_DELAY_NS */
    run_progress_fn progress;        /* NULL: none */
    void *progress_user;
} runner_opts;

typedef struct run_result {
    run_state state;
    uint64_t state_ns[RUN_N_STATES]; /* CLOCK_MONOTONIC when each state began, 0 = never */
    char trace_id[33];
    const char *error;               /* why the run failed (in the arena) */
    const char *missing_parents;     /* TRACE_FAILED: "id, id" of absent parents, or NULL */
    uint32_t n_spans;                /* spans collected, trigger span included */
    uint32_t polls;                  /* requests made to the backend (0 with the receiver) */
    const char *poll_log;            /* backend: spans seen per poll, "0,0,3,7,7", or NULL */
    trace_set *ts;                   /* the collected trace, trigger span included */
    trace *t;
    spec_run specs;                  /* valid when state is FINISHED */
    bool cancelled;                  /* the progress callback asked to stop */
    arena *a;
} run_result;

/* The specs and outputs of a loaded test as the evaluator takes them,
 * allocated from a. Returns 0 or TC_ERR_NOMEM. */
int runner_test_defs(const res_test *t, arena *a, spec_def **specs, output_def **outputs);

/* Runs test t (from a file whose directory is base_dir; NULL: a test with
 * no folder, whose trigger reads no file) with variables v.
 * Always fills *out (free with run_result_free); failures of the system
 * under test are states, not errors. Returns 0, or TC_ERR_NOMEM. */
int runner_run_test(const runner_opts *o, const res_test *t, const char *base_dir, vars *v, run_result *out);

void run_result_free(run_result *r);

/* The clock (CLOCK_REALTIME, ns) and random source expression functions
 * such as date() and uuid() use in runs (spec_env callbacks). */
int64_t runner_now_unix_ns(void *user);
uint64_t runner_random(void *user);

/* Threads a test's evaluation may use (spec_env.threads): the processors
 * online, at most 8; TRACECHECK_THREADS in the environment overrides it
 * (1: evaluate in one thread). */
unsigned runner_eval_threads(void);

/* "CREATED", "TRIGGERING", ... */
const char *run_state_name(run_state s);

#endif
