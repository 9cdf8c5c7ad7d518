/* tg_kernels.h: the whole C API of tinygrad_edu's kernels, one prototype per kernel.
 *
 * This header is also the cffi `cdef` (csrc/_build.py strips the preprocessor lines),
 * so it holds only plain C declarations. Python reaches it through
 * tinygrad_edu/backend/c.py and nowhere else.
 */

/* Thread count used by every parallel kernel (1 = run on the calling thread). */
void tg_set_num_threads(int n);
int tg_get_num_threads(void);
