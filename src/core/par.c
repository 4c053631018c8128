/* par.c - a few jobs on threads (see par.h). */
#include "par.h"

#include <pthread.h>
#include <stdbool.h>

typedef struct par_arg {
    void (*fn)(void *job);
    void *job;
} par_arg;

static void *par_thread(void *p)
{
    par_arg *a = p;
    a->fn(a->job);
    return NULL;
}

void par_run(void (*fn)(void *job), void *jobs, size_t job_size, unsigned n)
{
    pthread_t tid[PAR_MAX];
    par_arg args[PAR_MAX];
    bool started[PAR_MAX] = {false};
    if (n > PAR_MAX)
        n = PAR_MAX;
    for (unsigned i = 1; i < n; i++) {
        args[i] = (par_arg){fn, (char *)jobs + i * job_size};
        started[i] = pthread_create(&tid[i], NULL, par_thread, &args[i]) == 0;
    }
    if (n)
        fn(jobs);
    for (unsigned i = 1; i < n; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            fn((char *)jobs + i * job_size);
    }
}
