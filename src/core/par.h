/* par.h - runs a handful of jobs at once: job 0 on the calling thread, the
 * others on threads of their own, joined before returning. The jobs must
 * not share anything they write.
 *
 * Ownership: the jobs array stays the caller's; nothing is allocated that
 * outlives the call. */
#ifndef TC_PAR_H
#define TC_PAR_H

#include <stddef.h>

#define PAR_MAX 8 /* jobs at most */

/* Calls fn(jobs + i * job_size) for i in [0, n) (n <= PAR_MAX), in
 * parallel; a job whose thread cannot be started runs on the calling
 * thread after job 0. Returns when every job has returned. */
void par_run(void (*fn)(void *job), void *jobs, size_t job_size, unsigned n);

#endif
