/* threads.c: the one thread-count setting shared by every kernel, and the runner of parallel regions.
 *
 * The runner is a small persistent pool: tg_set_num_threads(n) with n > 1 lets the first region
 * start n − 1 workers, which then live on. A region publishes (task, ctx, parts); the caller and
 * any worker that is awake claim parts with one compare-exchange each, so every part runs once,
 * and a part that no worker has claimed yet runs on the caller: a worker late to wake makes a
 * region no slower than the 1-thread run (one descheduled in the middle of its part still makes
 * it wait). Workspaces are indexed by part, never by thread, so any thread may run any part. After a region a worker
 * spins for the spin window, 2 ms unless tg_set_pool_spin_us says otherwise (pause for the first
 * TG_POOL_PAUSE_NS, then sched_yield between checks, which gives the core to any other runnable
 * thread), then blocks on a futex.
 *
 * Why (measured on a 2-vCPU Zen 3 KVM guest, session 24, /work/scratch/s24/pool/bench_wake.c: a
 * region of 2 parts of 100 µs each after `gap` µs of busy work on the calling thread; median time
 * beyond one part, so 0 is a perfect split and ~100 µs is no gain; quiet machine):
 *   fork-join (the runner before: pthread_create + join per region): 72-156 µs for gaps of
 *     0-10 ms, often slower than one thread (an empty region alone: 32 µs back to back, 87 µs after
 *     2 ms, 159 µs after 10 ms: an idle vCPU is slow to wake);
 *   a worker blocked on a futex: 10-13 µs after 20-100 µs, 44-52 µs after 0.5-2 ms, 111 µs after
 *     10 ms (the caller's wake-up system call alone: 2-4 µs);
 *   a worker still spinning: 0.4-8 µs for gaps of 20 µs-2 ms; after 10 ms (it blocked) 82 µs.
 * A training step runs Python between its products, so the worker must still be spinning when
 * the next region comes: 2 ms is longer than a whole MLP step of bench_train (0.9 ms), so it
 * bridges the Python between that step's products and between steps. Session 25 set the window at
 * run time (bench_train's steps, 2 threads against 1 in one process, windows interleaved; three or four
 * runs each): quiet, 2 ms gave MLP 1.14-1.51×, LeNet 1.19-1.26×, LSTM 1.10-1.21×, within a few
 * per cent of 10 ms and above 0 (1.04-1.38×, 1.05-1.24×, 0.97-1.16×) and 200 µs; with another
 * process holding a core, 2 ms 0.92-1.00×, 10 ms down to 0.63×, 0 0.88-1.10×. Hence 2 ms by
 * default and 0 (tg_set_pool_spin_us) where the cores are shared.
 * The price, where another process wants the core: a spinning worker that yields, and a region
 * that never waits for a worker that has not started its part. With a compiler holding one core:
 * the pool as fast as one thread for gaps up to 2 ms (1.16× slower after 10 ms), fork-join
 * 1.12-1.28× slower (its 90th percentile up to 7×). A pool that spins without blocking and waits
 * for every part (OpenMP's default, OpenBLAS, PyTorch) is what collapses by 10-300× on a shared
 * machine (PERF-NOTES §0).
 *
 * A region that finds the pool busy (a region started inside a part, or another Python thread's
 * region: cffi releases the GIL) runs all its parts on the calling thread. A child made by fork()
 * starts its own workers (pthread_atfork). The default is 1 thread: no worker exists then.
 */
#define _GNU_SOURCE /* syscall(), sched_yield(), clock_gettime() under -std=c11 */
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "tg_internal.h"
#include "tg_kernels.h"

#if defined(_WIN32)
#define TG_HAVE_PTHREADS 0
#else
#define TG_HAVE_PTHREADS 1
#include <pthread.h>
#include <sched.h>
#include <time.h>
#endif
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define tg_cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define tg_cpu_relax() __asm__ __volatile__("yield")
#else
#define tg_cpu_relax() ((void)0)
#endif

enum { TG_MAX_THREADS = 256 };

static int tg_num_threads = 1;

int tg_get_num_threads(void) { return tg_num_threads; }

/* The spin window, read by each worker when it starts waiting: 2 ms by default (see the header). */
static _Atomic int64_t pool_spin_ns = 2000000;

void tg_set_pool_spin_us(int64_t us)
{
    us = us < 0 ? 0 : us > TG_POOL_MAX_SPIN_US ? TG_POOL_MAX_SPIN_US : us;
    atomic_store_explicit(&pool_spin_ns, us * 1000, memory_order_relaxed);
}

int64_t tg_get_pool_spin_us(void) { return atomic_load_explicit(&pool_spin_ns, memory_order_relaxed) / 1000; }

#if !TG_HAVE_PTHREADS
void tg_set_num_threads(int n) { tg_num_threads = n < 1 ? 1 : n > TG_MAX_THREADS ? TG_MAX_THREADS : n; }

void tg_parallel_run(int parts, tg_task task, void *ctx)
{
    for (int i = 0; i < parts; i++)
        task(ctx, i, parts);
}
#else

#define TG_POOL_PAUSE_NS 20000 /* a region's parts usually end within this of each other */

/* ---- waiting on a 32-bit word: futex on Linux, a mutex and condition variable elsewhere ---- */

#if defined(__linux__)
static void word_block(atomic_uint *word, unsigned value)
{
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void word_wake(atomic_uint *word) { syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0); }
#else
static pthread_mutex_t word_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t word_cond = PTHREAD_COND_INITIALIZER;

static void word_block(atomic_uint *word, unsigned value)
{
    pthread_mutex_lock(&word_mutex);
    while (atomic_load(word) == value)
        pthread_cond_wait(&word_cond, &word_mutex);
    pthread_mutex_unlock(&word_mutex);
}

static void word_wake(atomic_uint *word)
{
    (void)word;
    pthread_mutex_lock(&word_mutex); /* a waiter is either before its check or inside cond_wait */
    pthread_cond_broadcast(&word_cond);
    pthread_mutex_unlock(&word_mutex);
}
#endif

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Wait until *word differs from value: spin for spin_ns (pause only for the first
 * TG_POOL_PAUSE_NS, then yielding the core to any other runnable thread between checks), then
 * block. *sleepers counts the blocked, so that a waker skips the system call when nobody sleeps. */
static unsigned word_wait(atomic_uint *word, unsigned value, int64_t spin_ns, atomic_int *sleepers)
{
    unsigned now = atomic_load_explicit(word, memory_order_acquire);
    if (now != value)
        return now;
    const int64_t start = now_ns();
    for (int64_t spun = 0; spun < spin_ns; spun = now_ns() - start) {
        for (int i = 0; i < 32; i++) {
            tg_cpu_relax();
            if ((now = atomic_load_explicit(word, memory_order_acquire)) != value)
                return now;
        }
        if (spun > TG_POOL_PAUSE_NS)
            sched_yield();
    }
    atomic_fetch_add(sleepers, 1); /* seq_cst, paired with the waker's store then load */
    while ((now = atomic_load(word)) == value)
        word_block(word, value);
    atomic_fetch_sub(sleepers, 1);
    return now;
}

static void word_set(atomic_uint *word, unsigned value, atomic_int *sleepers)
{
    atomic_store(word, value);
    if (atomic_load(sleepers))
        word_wake(word);
}

/* ---- the pool ---- */

/* The region in flight. `ticket` holds its generation (bits 32-63), its part count (16-31) and
 * the next unclaimed part (0-15): claiming is one compare-exchange that fails once a newer
 * region replaced it, so a worker that wakes late never runs a part of the wrong region. */
static struct {
    atomic_flag busy;            /* a region owns the pool (try-lock; losers run alone) */
    int workers;                 /* worker threads started, indices 0 … workers-1 */
    pthread_t ids[TG_MAX_THREADS];
    unsigned born[TG_MAX_THREADS]; /* the generation when each worker was created */
    atomic_int quit_from;        /* workers with an index ≥ this leave their loop */
    tg_task task;
    void *ctx;
    _Atomic uint64_t ticket;
    atomic_uint generation;      /* futex word: the generation of the last published region */
    atomic_uint done;            /* futex word: parts of the current region finished */
    atomic_int worker_sleepers, caller_sleepers;
} pool = {.busy = ATOMIC_FLAG_INIT};

/* Claim and run parts of region `generation` until none is left. */
static void run_parts(unsigned generation)
{
    uint64_t t = atomic_load_explicit(&pool.ticket, memory_order_acquire);
    for (;;) {
        const unsigned parts = (unsigned)(t >> 16) & 0xffff, part = (unsigned)t & 0xffff;
        if ((unsigned)(t >> 32) != generation || part >= parts)
            return;
        if (!atomic_compare_exchange_weak_explicit(&pool.ticket, &t, t + 1, memory_order_acquire,
                                                   memory_order_acquire))
            continue;
        pool.task(pool.ctx, (int)part, (int)parts); /* stable: the region waits for this part */
        if (atomic_fetch_add(&pool.done, 1) + 1 == parts && atomic_load(&pool.caller_sleepers))
            word_wake(&pool.done);
        t = atomic_load_explicit(&pool.ticket, memory_order_acquire);
    }
}

static void *worker_main(void *arg)
{
    const int index = (int)(intptr_t)arg;
    unsigned seen = pool.born[index]; /* not the generation now: the thread may start late */
    for (;;) {
        seen = word_wait(&pool.generation, seen, atomic_load_explicit(&pool_spin_ns, memory_order_relaxed),
                         &pool.worker_sleepers);
        if (index >= atomic_load(&pool.quit_from))
            return NULL;
        run_parts(seen);
    }
}

/* Wake every worker without giving it work (the ticket's part count stays 0). */
static void publish(unsigned parts)
{
    const unsigned generation = (unsigned)(atomic_load(&pool.ticket) >> 32) + 1;
    atomic_store(&pool.done, 0);
    atomic_store_explicit(&pool.ticket, (uint64_t)generation << 32 | (uint64_t)parts << 16, memory_order_release);
    word_set(&pool.generation, generation, &pool.worker_sleepers);
}

/* In a child created by fork() only the forking thread exists: forget the parent's workers. */
static void forget_workers_after_fork(void)
{
    pool.workers = 0;
    atomic_flag_clear(&pool.busy);
    atomic_store(&pool.worker_sleepers, 0);
    atomic_store(&pool.caller_sleepers, 0);
#if !defined(__linux__)
    pthread_mutex_init(&word_mutex, NULL); /* a parent's thread may have held it */
    pthread_cond_init(&word_cond, NULL);
#endif
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void register_atfork(void) { pthread_atfork(NULL, NULL, forget_workers_after_fork); }

/* Make the pool hold `wanted` workers, fewer if threads cannot be created (the caller owns
 * pool.busy; parts no worker claims run on the caller). */
static void resize(int wanted)
{
    if (pool.workers > wanted) {
        atomic_store(&pool.quit_from, wanted);
        publish(0);
        for (int i = wanted; i < pool.workers; i++)
            pthread_join(pool.ids[i], NULL);
        pool.workers = wanted;
    }
    atomic_store(&pool.quit_from, TG_MAX_THREADS);
    pthread_once(&atfork_once, register_atfork);
    for (; pool.workers < wanted; pool.workers++) {
        pool.born[pool.workers] = atomic_load(&pool.generation);
        if (pthread_create(&pool.ids[pool.workers], NULL, worker_main, (void *)(intptr_t)pool.workers))
            break;
    }
}

void tg_set_num_threads(int n)
{
    tg_num_threads = n < 1 ? 1 : n > TG_MAX_THREADS ? TG_MAX_THREADS : n;
    if (!atomic_flag_test_and_set(&pool.busy)) { /* else the next region resizes */
        if (pool.workers > tg_num_threads - 1)
            resize(tg_num_threads - 1);
        atomic_flag_clear(&pool.busy);
    }
}

void tg_parallel_run(int parts, tg_task task, void *ctx)
{
    if (parts > 0xffff)
        parts = 0xffff;
    /* One part, or the pool is in use (a region inside a part, or another Python thread's
     * region): run every part here. */
    if (parts <= 1 || atomic_flag_test_and_set(&pool.busy)) {
        for (int i = 0; i < parts; i++)
            task(ctx, i, parts);
        return;
    }
    if (pool.workers != tg_num_threads - 1)
        resize(tg_num_threads - 1);
    pool.task = task;
    pool.ctx = ctx;
    publish((unsigned)parts);
    const unsigned generation = atomic_load(&pool.generation);
    run_parts(generation); /* parts no worker has claimed yet run here: a late worker costs no wait */
    unsigned done;
    while ((done = atomic_load(&pool.done)) != (unsigned)parts)
        word_wait(&pool.done, done, TG_POOL_PAUSE_NS, &pool.caller_sleepers);
    atomic_flag_clear(&pool.busy);
}
#endif

struct probe {
    int32_t *runs;
    int64_t work;
};

static void probe_part(void *ctx, int part, int parts)
{
    (void)parts;
    const struct probe *p = ctx;
    volatile double x = 1.0; /* volatile: the loop must not be folded away */
    for (int64_t i = 0; i < p->work; i++)
        x = x * 1.0000001 + 1e-9;
    p->runs[part] += 1;
}

void tg_parallel_probe(int parts, int32_t *runs, int64_t work)
{
    struct probe p = {runs, work};
    tg_parallel_run(parts, probe_part, &p);
}
