"""A cohort's crossing times on a Dask cluster, bit-identical to one machine.

:func:`crossing_times_dask` sends a :class:`bmdsim.CohortResult` (its inputs
only, a few kilobytes whatever ``n``) to every worker once, maps
:meth:`~bmdsim.CohortResult.chunk_crossing_times` over
:meth:`~bmdsim.CohortResult.chunks` and puts the pieces together in chunk
order. Every patient's numbers depend on her own random draws only (see
:mod:`bmdsim.cohort`), so the result equals
:meth:`~bmdsim.CohortResult.crossing_times` on one machine to the last bit,
however many workers there are and wherever each chunk runs. Dask is
imported only when the function is called: ``pip install "bmdsim[dask]"``.

Without this module, ``simulate_cohort(..., executor=client.get_executor())``
(or any ``concurrent.futures.Executor``) runs the chunks of every
:meth:`~bmdsim.CohortResult.crossing_times` query on the cluster, with the
same bits; the worker memory setting below applies to it as well.

Worker memory setting
---------------------
Dask's nanny starts worker processes with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``), so that workers hand freed
memory back to the system at once. Setting that variable also switches off
glibc's adaptive ``mmap`` threshold, which then stays at 128 KiB: every
array above it, which is every per-patient array of a chunk (100,000
patients x 8 bytes is 800 KB), is mapped fresh from the kernel and unmapped
when freed, and the small ones that remain give back the top of the heap
as soon as 64 KiB of it are free. Each fresh page costs a page fault on
first touch: about 57,000 faults (220 MB of zeroed pages) per chunk of
100,000 patients x 3 sites x 3 thresholds, against almost none in a plain
process, and a chunk takes 1.7-2 times as long (210-240 ms against 120 ms
here, ``benchmarks/bench_dask.py``). Workers started with
:data:`WORKER_ENVIRONMENT` (an ``mmap`` threshold of 32 MiB and a trim
threshold of 256 MiB) reuse that memory and take about as long per chunk as
one machine; freed memory beyond 256 MiB still goes back to the system::

    import dask
    from bmdsim.distributed import WORKER_ENVIRONMENT

    dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ENVIRONMENT.items()})
    # ... then start the cluster (LocalCluster, dask-jobqueue, ...) from this process

A variable already set in the environment of the process that starts the
workers takes precedence over the Dask config (and the nanny writes its
settings into that process's environment). Workers that are threads of the
client's process (``LocalCluster(processes=False)``) use the process's own
setting and need nothing.

Custom agents
-------------
A worker unpickles the result with its own :data:`bmdsim.AGENTS`: an agent
registered with :func:`bmdsim.register_agent` in the client only must be
registered on the workers too (e.g. in a module they import, or
``client.run(bmdsim.register_agent, model)``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import numpy as np

from ._validation import check_allocation
from .cohort import MAX_THRESHOLDS, CohortResult
from .simulation import DEFAULT_THRESHOLDS

#: glibc's ``mmap`` threshold [bytes] for Dask workers: arrays up to this size come from the heap and are reused.
#: 32 MiB is the largest value glibc's own adaptive threshold reaches on 64-bit systems; a chunk's arrays are
#: far below it at the default ``chunk_size``.
MMAP_THRESHOLD_BYTES = 32 * 2**20
#: glibc's trim threshold [bytes] for Dask workers: free memory at the top of the heap beyond it goes back to the
#: system. Above the temporaries of a chunk of 100,000 patients, so that they are not given back and re-faulted.
TRIM_THRESHOLD_BYTES = 256 * 2**20
#: Environment variables for Dask worker processes (see the module notes): add them to the Dask config key
#: ``distributed.nanny.pre-spawn-environ`` before the cluster starts.
WORKER_ENVIRONMENT: dict[str, str] = {
    "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD_BYTES),
    "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD_BYTES),
}


def _chunk_task(
    result: CohortResult, start: int, stop: int, thresholds: tuple[float, ...], sites: tuple[str, ...]
) -> dict[tuple[str, float], np.ndarray]:
    """One task: the crossing times of patients ``start..stop-1`` (runs on a worker)."""
    return result.chunk_crossing_times(start, stop, thresholds, sites)


def _listed(values: object) -> object:
    """``values`` with an iterator read into a list (at most one item more than allowed), so it can be sent."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        return values
    return list(itertools.islice(iter(values), MAX_THRESHOLDS + 1))


def crossing_times_dask(
    result: CohortResult,
    client: Any,
    thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
    sites: Iterable[str] | None = None,
) -> dict[tuple[str, float], np.ndarray]:
    """Exact crossing times [years] of every patient, computed chunk by chunk on a Dask cluster.

    Parameters
    ----------
    result : CohortResult
        A cohort from :func:`bmdsim.simulate_cohort`; its ``chunk_size``
        sets the size of each task.
    client : distributed.Client
        A connected client. Every worker needs bmdsim (and any custom agent
        the regimen uses, see the module notes).
    thresholds : float or sequence of float
        T-score thresholds [SD] (at most :data:`bmdsim.cohort.MAX_THRESHOLDS`).
    sites : str or sequence of str, optional
        Simulated sites; every one if None.

    Returns
    -------
    dict of (site, threshold) -> ndarray
        ``(n,)`` crossing times per pair, in the order of
        :meth:`CohortResult.crossing_times`, equal to its arrays to the last
        bit (``0.0`` at or below at baseline, ``inf`` not within the
        horizon). The result's own kept crossing times are not changed.

    Raises
    ------
    ImportError
        If ``dask.distributed`` is not installed.
    TypeError
        If ``result`` is not a CohortResult or ``client`` not a ``distributed.Client``.
    ValueError
        As :meth:`CohortResult.crossing_times`: unknown sites, bad
        thresholds, or more output than :data:`bmdsim.limits.MAX_ARRAY_BYTES`.

    Notes
    -----
    The result is sent to each worker once (``client.scatter(...,
    broadcast=True)``); each task sends back its chunk's arrays, which are
    copied into the output as they arrive, so the client holds the output
    and at most the pieces not yet copied. Parameter draws are not
    distributed by this function.
    """
    if not isinstance(result, CohortResult):
        raise TypeError(f"result must be a bmdsim.CohortResult, got {type(result).__name__}")
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - the test skips without distributed
        raise ImportError(
            'crossing_times_dask needs dask.distributed: pip install "bmdsim[dask]" (or "dask[distributed]")'
        ) from exc
    if not isinstance(client, Client):
        raise TypeError(f"client must be a distributed.Client, got {type(client).__name__}")
    pairs = result.pairs(_listed(thresholds), None if sites is None else _listed(sites))
    check_allocation(
        f"crossing times of n = {result.n} patients x {len(pairs)} (site, threshold) pairs",
        result.n * len(pairs),
        hint="ask for fewer sites and thresholds at once",
    )
    site_list = tuple(dict.fromkeys(s for s, _ in pairs))
    threshold_list = tuple(dict.fromkeys(t for _, t in pairs))
    out = {key: np.empty(result.n) for key in pairs}
    remote = client.scatter(result, broadcast=True, hash=False)
    futures = {}
    try:
        for start, stop in result.chunks():
            task = client.submit(_chunk_task, remote, start, stop, threshold_list, site_list, pure=False)
            futures[task] = (start, stop)
        for task, piece in as_completed(futures, with_results=True):
            start, stop = futures.pop(task)
            for key in pairs:
                out[key][start:stop] = piece[key]
    finally:
        if futures:  # a task failed: the others are not needed
            client.cancel(list(futures))
        remote.release()
    return out
