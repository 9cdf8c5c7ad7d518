/* threads.c: the one thread-count setting shared by every kernel, and a fork-join runner.
 *
 * Why not OpenMP or a persistent pool: this library runs on machines that are shared
 * (PERF-NOTES §0). A pool whose idle threads spin-wait (OpenMP's default, OpenBLAS,
 * PyTorch) collapses by 10–300× as soon as another process holds a core, because the
 * spinning threads steal the time slices the working thread needs. Here every parallel
 * region creates its threads and joins them (a few tens of µs), nothing waits by
 * spinning, and kernels only go parallel above a size threshold where that cost is below
 * a few percent. The default is 1 thread (TINYGRAD_EDU_NUM_THREADS or set_num_threads
 * change it); the 1-thread speed is the reliable one on a shared machine.
 */
#include <stdlib.h>

#include "tg_internal.h"
#include "tg_kernels.h"

#if defined(_WIN32)
#define TG_HAVE_PTHREADS 0
#else
#define TG_HAVE_PTHREADS 1
#include <pthread.h>
#endif

enum { TG_MAX_THREADS = 256 };

static int tg_num_threads = 1;

void tg_set_num_threads(int n) { tg_num_threads = n < 1 ? 1 : n > TG_MAX_THREADS ? TG_MAX_THREADS : n; }

int tg_get_num_threads(void) { return tg_num_threads; }

#if TG_HAVE_PTHREADS
struct tg_part {
    tg_task task;
    void *ctx;
    int part, parts;
};

static void *tg_run_part(void *arg)
{
    struct tg_part *p = arg;
    p->task(p->ctx, p->part, p->parts);
    return NULL;
}
#endif

void tg_parallel_run(int parts, tg_task task, void *ctx)
{
#if TG_HAVE_PTHREADS
    if (parts > TG_MAX_THREADS)
        parts = TG_MAX_THREADS;
    struct tg_part desc[TG_MAX_THREADS];
    pthread_t ids[TG_MAX_THREADS];
    int started[TG_MAX_THREADS] = {0};
    for (int i = 1; i < parts; i++) {
        desc[i] = (struct tg_part){task, ctx, i, parts};
        started[i] = pthread_create(&ids[i], NULL, tg_run_part, &desc[i]) == 0;
    }
    task(ctx, 0, parts);
    for (int i = 1; i < parts; i++) {
        if (started[i])
            pthread_join(ids[i], NULL);
        else /* no thread could be created: run that part here */
            task(ctx, i, parts);
    }
#else
    for (int i = 0; i < parts; i++)
        task(ctx, i, parts);
#endif
}
