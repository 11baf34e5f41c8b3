"""Where a sweep's points run: a Dask ``LocalCluster`` of single-threaded worker processes by default,
or an existing cluster given by its scheduler address."""

from __future__ import annotations

import os

from ..errors import NeuRRAMError
from .point import run_point
from .table import new_row

CONNECT_TIMEOUT_S = 30.0  # how long to wait for a scheduler to answer


class SweepError(NeuRRAMError, RuntimeError):
    """The sweep could not run: its Dask cluster could not be reached or started."""


def run_on_dask(plan, todo, rows: dict, workers=None, scheduler=None, on_row=None) -> str:
    """Run the points ``todo`` on Dask, putting each row into ``rows`` as it finishes; returns where they ran.

    Parameters
    ----------
    workers : int, optional
        Worker processes of a local cluster (one thread each); default the CPUs, at most ``len(todo)``.
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running scheduler instead.
    on_row : callable, optional
        Called with no argument after each finished point (the table is rewritten there).

    Raises
    ------
    SweepError
        The scheduler cannot be reached or the local cluster cannot start.
    """
    import logging

    import dask
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    # a killed worker's point: retried once; local workers (and their restarts) fork from a preloaded forkserver
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.worker.multiprocessing-method": "forkserver"}):
        try:
            if scheduler:
                client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
                where = scheduler
            else:
                n = max(1, min(int(workers or cpus()), len(todo)))
                preload_workers(todo[0].module)
                # no dashboard; the scheduler's small HTTP server on a free port (not 8787, maybe taken)
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                       silence_logs=logging.ERROR)
                client = Client(cluster)
                where = f"local, {n} worker{'s' * (n > 1)}"
        except (OSError, TimeoutError) as exc:
            if cluster is not None:
                cluster.close()
            raise SweepError(f"cannot reach the Dask scheduler {scheduler or '(local cluster)'}: {exc}") from exc
        futures: dict = {}  # in flight -> point
        pending = list(todo)
        done = as_completed()

        def top_up():
            # As many points in flight as the cluster has threads: a worker then holds only the point it
            # runs, so a worker that dies is blamed on that point alone (and workers that join get work).
            try:
                threads = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
            except Exception:  # noqa: BLE001 - the next completion tries again
                threads = 0
            while pending and len(futures) < max(1, threads):
                p = pending.pop(0)
                fut = client.submit(run_point, p, key=f"neurram-point-{p.key}-{os.urandom(3).hex()}", pure=False,
                                    retries=1)
                futures[fut] = p
                done.add(fut)

        try:
            top_up()
            for fut in done:
                p = futures.pop(fut)
                try:
                    row = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after its retry
                    row = new_row(p, error=f"{type(exc).__name__}: {str(exc).split('. ')[0]}", worker="")
                fut.release()  # its row is here: a worker that dies later must not recompute it
                rows[p.key] = row
                if on_row is not None:
                    on_row()
                top_up()
        except KeyboardInterrupt:
            for fut in futures:
                fut.cancel()
            raise
        finally:
            client.close()
            if cluster is not None:
                _close_local(cluster)
    return where


def _close_local(cluster) -> None:
    """Shut the local cluster down after its points are in. A nanny that is still restarting a killed
    worker at that moment makes ``distributed`` raise ``AssertionError("can only join a started
    process")`` from its close (seen in CI under load); the sweep's rows are all kept by then, so that
    teardown fault is logged, not raised over them."""
    import logging

    try:
        cluster.close()
    except AssertionError as exc:
        logging.getLogger(__name__).warning("local Dask cluster closed uncleanly: %s", exc)


# What a point imports (the experiment, HDF5, the twin, plotting): loaded once by the forkserver the
# local cluster's processes fork from, not by every worker at its first point.
_PRELOAD = ("h5py", "matplotlib.pyplot", "neurram_lab.sim_backend", "neurram_lab.sweep", "neurram_lab.runlog",
            "neurram_lab.program")


def preload_workers(module: str) -> None:
    """Have the forkserver local workers fork from import distributed and a point's modules first.

    Spawning each nanny and worker re-imports distributed and then, at its first
    point, the experiment's modules: on a 2-core machine that start-up is paid
    once per worker, on the cores the points need. Call it where dask's
    ``distributed.worker.multiprocessing-method`` is ``forkserver``.
    """
    from distributed.utils import get_mp_context

    get_mp_context().set_forkserver_preload(["distributed", *_PRELOAD, module])  # replaces distributed's own list


def cpus() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
