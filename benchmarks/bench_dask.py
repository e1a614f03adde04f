"""Benchmark: a cohort's crossing times on one machine against a local Dask cluster.

Prints, for ``bmdsim.simulate_cohort`` (default population with the default
between-patient spread, an AI for 5 years, 20-year horizon, chunks of
100,000) and the crossing times of 3 sites x thresholds -1.0, -2.0 and -2.5:

* on one machine, one thread: the wall time of ``crossing_times`` and the
  median time and minor page faults of one chunk
  (``chunk_crossing_times``);
* on a ``LocalCluster`` of worker processes (``--workers``, one thread
  each), started with Dask's default worker environment
  (``MALLOC_TRIM_THRESHOLD_=65536``) and again with
  :data:`bmdsim.distributed.WORKER_ENVIRONMENT` added: the median time and
  page faults of one chunk in a worker (one chunk at a time), and the wall time of
  :func:`bmdsim.distributed.crossing_times_dask`, whose answer must equal
  the local one bit for bit. The workers share this machine's cores, so the
  wall times show the overhead and the memory setting, not a speed-up;
* ``simulate_cohort(..., executor=client.get_executor())`` on the cluster
  (with the setting) against one local thread: the wall time of
  ``crossing_times`` for ``--n`` patients, and of ``fraction_below`` with
  ``--draws`` calibration draws of the trials set for ``--draw-n`` patients
  (one task per draw); both answers must equal the local ones bit for bit.

Run: ``python benchmarks/bench_dask.py [--n 1000000] [--workers 2] [--draws 20] [--draw-n 100000]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

import bmdsim
from bmdsim.distributed import WORKER_ENVIRONMENT, crossing_times_dask

THRESHOLDS = (-1.0, -2.0, -2.5)
YEARS = 20.0


def timed_chunk(result: bmdsim.CohortResult, start: int, stop: int) -> tuple[float, int]:
    """Seconds and minor page faults of one chunk's crossing times, on the calling thread."""
    faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    begin = time.perf_counter()
    result.chunk_crossing_times(start, stop, THRESHOLDS)
    return time.perf_counter() - begin, resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - faults


@contextlib.contextmanager
def local_cluster(workers: int, environment: dict[str, str]) -> Iterator[Any]:
    """A Client on a LocalCluster of ``workers`` one-thread processes started with ``environment``.

    The nanny writes its pre-spawn environment into this process too, so the
    caller's environment is restored on exit.
    """
    import dask
    from distributed import Client, LocalCluster

    saved = dict(os.environ)
    settings = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in environment.items()}
    try:
        with (
            dask.config.set(settings),
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
            Client(cluster) as client,
        ):
            yield client
    finally:
        os.environ.clear()
        os.environ.update(saved)


def on_cluster(result: bmdsim.CohortResult, workers: int, environment: dict[str, str], local: dict) -> tuple:
    """Median chunk time and faults in the workers, and the wall time of crossing_times_dask."""
    with local_cluster(workers, environment) as client:
        seen = client.run(lambda: {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")})
        remote = client.scatter(result, broadcast=True)
        spans = result.chunks()
        client.gather(client.map(timed_chunk, [remote] * workers, *zip(*spans[:workers], strict=True)))  # warm
        # one chunk at a time, so that the workers do not compete for the cores while a chunk is timed
        runs = [client.submit(timed_chunk, remote, a, b, pure=False).result() for a, b in spans]
        begin = time.perf_counter()
        times = crossing_times_dask(result, client, THRESHOLDS)
        wall = time.perf_counter() - begin
    for key, value in local.items():
        assert np.array_equal(times[key], value), f"cluster and local answers differ at {key}"
    seconds, faults = zip(*runs, strict=True)
    settings = ", ".join(f"{k}={v}" for k, v in next(iter(seen.values())).items() if v is not None)
    return float(np.median(seconds)), int(np.median(faults)), wall, settings


def with_executor(args: argparse.Namespace, regimen: bmdsim.Regimen, local: dict) -> None:
    """Local (one thread) against simulate_cohort(executor=...) on a cluster: crossings, then parameter draws."""

    times = [1.0, 2.0, 5.0, 10.0, 20.0]
    kwargs = {"regimen": regimen, "years": YEARS, "seed": 1, "chunk_size": 100_000}
    draws = {**kwargs, "n": args.draw_n, "parameter_draws": args.draws}
    begin = time.perf_counter()
    band = bmdsim.simulate_cohort(**draws, workers=1).fraction_below("femoral_neck", -2.0, times)
    draws_local = time.perf_counter() - begin
    with local_cluster(args.workers, WORKER_ENVIRONMENT) as client:
        executor = client.get_executor()
        begin = time.perf_counter()
        remote = bmdsim.simulate_cohort(**kwargs, n=args.n, executor=executor).crossing_times(THRESHOLDS)
        crossings = time.perf_counter() - begin
        begin = time.perf_counter()
        remote_band = bmdsim.simulate_cohort(**draws, executor=executor).fraction_below("femoral_neck", -2.0, times)
        draws_remote = time.perf_counter() - begin
    for key, value in local.items():
        assert np.array_equal(remote[key], value), f"executor and local answers differ at {key}"
    for key in ("fraction", "param_low", "param_high", "draws"):
        assert np.array_equal(remote_band[key], band[key]), f"executor and local parameter bands differ ({key})"
    print(f"  simulate_cohort(executor=client.get_executor()), {args.workers} workers with WORKER_ENVIRONMENT:")
    print(f"    crossing_times, {args.n:,} patients: {crossings:6.2f} s")
    print(
        f"    fraction_below with {args.draws} parameter draws, {args.draw_n:,} patients: local 1 thread "
        f"{draws_local:6.2f} s, executor {draws_remote:6.2f} s ({draws_local / draws_remote:.2f} x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="patients in the cohort")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster")
    parser.add_argument("--draws", type=int, default=20, help="calibration draws in the parameter-band run")
    parser.add_argument("--draw-n", type=int, default=100_000, help="patients in the parameter-band run")
    args = parser.parse_args()

    regimen = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    result = bmdsim.simulate_cohort(n=args.n, regimen=regimen, years=YEARS, seed=1, chunk_size=100_000, workers=1)
    chunks = len(result.chunks())
    print(
        f"bmdsim {bmdsim.__version__}: crossing times on one machine and on a local Dask cluster, {args.n:,} "
        f"patients x {len(result.sites)} sites x thresholds {', '.join(f'{t:g}' for t in THRESHOLDS)}, "
        f"{chunks} chunks of 100,000"
    )
    fresh = bmdsim.simulate_cohort(n=args.n, regimen=regimen, years=YEARS, seed=1, chunk_size=100_000, workers=1)
    fresh.chunk_crossing_times(0, min(args.n, 100_000), THRESHOLDS)  # warm-up: tables, data files
    begin = time.perf_counter()
    local = result.crossing_times(THRESHOLDS)
    local_wall = time.perf_counter() - begin
    runs = [timed_chunk(fresh, a, b) for a, b in fresh.chunks()]
    seconds, faults = zip(*runs, strict=True)
    print("  one machine, 1 thread:")
    print(
        f"    {1e3 * np.median(seconds):6.0f} ms per chunk, {int(np.median(faults)):6d} page faults per chunk; "
        f"crossing_times {local_wall:6.2f} s"
    )
    for label, environment in (
        ("Dask default worker environment", {}),
        ("with WORKER_ENVIRONMENT", WORKER_ENVIRONMENT),
    ):
        per_chunk, per_chunk_faults, wall, seen = on_cluster(result, args.workers, environment, local)
        print(f"  {args.workers} workers, {label} ({seen}):")
        print(
            f"    {1e3 * per_chunk:6.0f} ms per chunk ({per_chunk / np.median(seconds):.2f} x one machine), "
            f"{per_chunk_faults:6d} page faults per chunk; crossing_times_dask {wall:6.2f} s"
        )
    with_executor(args, regimen, local)
    print("  cluster answers equal the local ones bit for bit")


if __name__ == "__main__":
    main()
