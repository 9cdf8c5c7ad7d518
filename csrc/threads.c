/* threads.c: the one thread-count setting shared by every kernel. */
#include "tg_kernels.h"

static int tg_num_threads = 1;

void tg_set_num_threads(int n) { tg_num_threads = n < 1 ? 1 : n; }

int tg_get_num_threads(void) { return tg_num_threads; }
