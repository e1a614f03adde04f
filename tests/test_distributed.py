"""The Dask path: a CohortResult on a two-worker LocalCluster gives the local crossing times to the last bit."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import bmdsim

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

from bmdsim.distributed import WORKER_ENVIRONMENT, crossing_times_dask  # noqa: E402

AT_SCAN = bmdsim.AtThreshold("femoral_neck", -2.0, scan_interval=1.0)
EVENT_ZOL = bmdsim.Regimen(
    [bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5), bmdsim.Exposure("zoledronic_acid", AT_SCAN, duration=5)]
)
THRESHOLDS = (-1.0, -2.0, -2.5)


def cohort(n, regimen, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        return bmdsim.simulate_cohort(n=n, regimen=regimen, years=15, seed=5, **kwargs)


@pytest.fixture(scope="module")
def client():
    """Two worker processes, started with the documented worker environment (restored here afterwards)."""
    saved = dict(os.environ)  # the nanny writes its pre-spawn environment into this process too
    settings = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ENVIRONMENT.items()}
    try:
        with (
            dask.config.set(settings),
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            distributed.Client(cluster) as c,
        ):
            yield c
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_crossing_times_on_a_cluster_are_the_local_ones(client):
    """Chunks computed in worker processes, put together in order, equal crossing_times on one machine."""
    result = cohort(9000, EVENT_ZOL, chunk_size=1700, params="consensus", parameter_draws=2)
    remote = crossing_times_dask(result, client, THRESHOLDS, sites=["femoral_neck", "total_hip"])
    local = result.crossing_times(THRESHOLDS, ["femoral_neck", "total_hip"])
    assert list(remote) == list(local)
    for key, value in local.items():
        np.testing.assert_array_equal(remote[key], value)
    default = cohort(3000, bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)]), chunk_size=1000)
    every = crossing_times_dask(default, client, iter([-2.5]))
    for key, value in default.crossing_times([-2.5]).items():
        np.testing.assert_array_equal(every[key], value)


def test_the_chunk_method_maps_directly_and_workers_get_the_memory_setting(client):
    """client.map over the bound method works (a result pickles), and workers see WORKER_ENVIRONMENT."""
    result = cohort(4000, EVENT_ZOL, chunk_size=1500, params="consensus")
    starts, stops = zip(*result.chunks(), strict=True)
    pieces = client.gather(client.map(result.chunk_crossing_times, starts, stops))
    local = result.crossing_times()
    for key, value in local.items():
        np.testing.assert_array_equal(np.concatenate([piece[key] for piece in pieces]), value)
    seen = client.run(lambda: {key: os.environ.get(key) for key in WORKER_ENVIRONMENT})
    assert list(seen.values()) == [WORKER_ENVIRONMENT] * 2


def test_bad_arguments_are_refused_before_any_task(client):
    result = cohort(1000, EVENT_ZOL, params="consensus")
    with pytest.raises(ValueError, match="site 'elbow'"):
        crossing_times_dask(result, client, sites=["elbow"])
    with pytest.raises(ValueError, match=r"thresholds\[0\] must be a finite number"):
        crossing_times_dask(result, client, [float("nan")])
    with pytest.raises(TypeError, match="client must be a distributed.Client"):
        crossing_times_dask(result, "tcp://localhost:8786")
    with pytest.raises(TypeError, match="result must be a bmdsim.CohortResult"):
        crossing_times_dask(result.patients(0, 10), client)


def test_threads_in_this_process_give_the_same_bits():
    """Workers that are threads of this process (processes=False) share nothing that changes the answer."""
    result = cohort(5000, EVENT_ZOL, chunk_size=900, params="consensus")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as c,
    ):
        remote = crossing_times_dask(result, c, THRESHOLDS)
    for key, value in result.crossing_times(THRESHOLDS).items():
        np.testing.assert_array_equal(remote[key], value)


def test_simulate_cohort_on_a_cluster_executor_gives_the_local_bits(client):
    """simulate_cohort(executor=client.get_executor()): every chunk on the two workers, the local answer."""
    result = cohort(6000, EVENT_ZOL, chunk_size=1100, params="consensus", executor=client.get_executor())
    remote = result.crossing_times(THRESHOLDS)
    local = cohort(6000, EVENT_ZOL, chunk_size=2500, params="consensus", workers=1).crossing_times(THRESHOLDS)
    assert list(remote) == list(local)
    for key, value in local.items():
        np.testing.assert_array_equal(remote[key], value)
