"""Fixed blocks of a twin call, run on a small thread pool.

A call's cells are cut into consecutive blocks of :data:`BLOCK` cells. The
cut depends only on the call's size, and each block draws its noise from its
own stream (:class:`~sim_backend.device.NoiseStream`), so the results do not
depend on how many threads run the blocks or in which order they finish.
numpy releases the GIL inside its loops, so blocks on different cores
overlap. :func:`threads` sets the number of threads for the calls made
inside it (a parameter: the sweep passes each point's), else
``NEURRAM_TWIN_THREADS`` does; by default the CPUs this process may use (at most 4), except while the machine is
already busier than its CPUs (1-minute load average above their number):
then a helper thread holding the GIL gets preempted by the other jobs and
stalls the caller (measured: 2 threads 24.5 s against 17.2 s on one at load
5 on 2 cores), so the blocks run inline. 1 runs everything inline.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from concurrent.futures import ThreadPoolExecutor

from neurram_lab.validate import integer

BLOCK = 32768  # cells per block: a block's temporaries stay in the CPU cache

_pool: ThreadPoolExecutor | None = None
_threads: int | None = None  # set inside threads(); None: the environment or the automatic choice


def _forget_pool() -> None:  # a forked child has none of the parent's threads
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def blocks(n: int) -> list[tuple[int, int]]:
    """(start, stop) of consecutive blocks of at most :data:`BLOCK` cells."""
    return [(a, min(a + BLOCK, n)) for a in range(0, n, BLOCK)]


@contextlib.contextmanager
def threads(n: int | None):
    """Run the twin's calls made inside on ``n`` threads (the caller included; ``None``: as outside).

    For the whole process (the twin's pool is shared), restored on exit. The
    results do not depend on it, only the wall time does.
    """
    global _threads
    before = _threads
    _threads = before if n is None else integer("threads", n, 1, None, "the twin's threads")
    try:
        yield
    finally:
        _threads = before


def n_threads() -> int:
    """Threads that run a call's blocks now (the caller included)."""
    if _threads is not None:
        return _threads
    env = os.environ.get("NEURRAM_TWIN_THREADS")
    if env:
        return max(1, int(env))
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0] > cpus + 0.25
    except OSError:  # pragma: no cover - no load average
        busy = False
    return 1 if busy else max(1, min(4, cpus))


def run_blocks(fn, n_blocks: int, parallel: bool = True) -> list:
    """``[fn(0), fn(1), ...]`` over ``n_blocks`` blocks; the calling thread works through them too.

    Blocks are handed out in order to whichever thread asks next, the caller
    included, and the caller never waits for a helper that has not started
    (it cancels it), so a helper the scheduler is slow to wake costs nothing.
    """
    global _pool
    if not parallel or n_blocks < 2:  # one block (a single-cell call): no thread count to look up
        return [fn(b) for b in range(n_blocks)]
    threads = n_threads()
    if threads < 2:
        return [fn(b) for b in range(n_blocks)]
    if _pool is None:  # helpers beyond those submitted below stay idle
        _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="twin")
    results = [None] * n_blocks
    order = itertools.count()  # next() on it is atomic: each block goes to exactly one thread
    stop = []

    def work():
        for i in order:
            if i >= n_blocks or stop:
                return
            results[i] = fn(i)

    helpers = [_pool.submit(work) for _ in range(min(threads - 1, n_blocks - 1, 8))]
    try:
        work()
    except BaseException:
        stop.append(True)
        raise
    finally:
        for f in helpers:
            if not f.cancel():  # started: it holds a block (or is about to see there are none)
                f.result()
    return results
