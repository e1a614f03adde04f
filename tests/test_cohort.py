"""Cohorts: reproducibility across chunkings, exactness against simulate, summaries and bad input."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest

import bmdsim
from bmdsim import _data, crossing
from bmdsim.cohort import TruncatedNormal, Variability, default_population, fraction_by
from bmdsim.model import PatientState, SiteModel

AI = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
AI_ZOL = bmdsim.Regimen(
    [bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5), bmdsim.Exposure("zoledronic_acid", start=0, stop=5)]
)
THRESHOLDS = (-1.0, -2.0, -2.5)


def cohort(n=5000, regimen=AI, **kwargs):
    kwargs.setdefault("years", 15)
    kwargs.setdefault("seed", 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        return bmdsim.simulate_cohort(n=n, regimen=regimen, **kwargs)


@pytest.mark.parametrize("variability", [None, Variability(cv=0.3, correlation=0.6)])
def test_same_seed_same_answer_for_any_chunk_size_and_thread_count(variability):
    runs = [
        cohort(20_000, chunk_size=size, workers=workers, variability=variability).crossing_times(THRESHOLDS)
        for size, workers in ((100_000, 1), (1000, 1), (7777, 2), (2**16 + 3, 2))
    ]
    for other in runs[1:]:
        for key, value in runs[0].items():
            np.testing.assert_array_equal(other[key], value)


def test_patients_are_a_function_of_their_index_only():
    small = cohort(1000, chunk_size=300)
    large = cohort(200_000, chunk_size=99_999)
    p_small, m_small = small.patients()
    p_large, m_large = large.patients(0, 1000)
    np.testing.assert_array_equal(p_small.age, p_large.age)
    for s in bmdsim.SITES:
        np.testing.assert_array_equal(p_small.t_score[s], p_large.t_score[s])
        np.testing.assert_array_equal(m_small[s], m_large[s])
    p_block, _ = large.patients(2**16 - 5, 2**16 + 5)  # straddles a random-number block
    p_all, _ = large.patients(0, 2**16 + 5)
    np.testing.assert_array_equal(p_block.age, p_all.age[-10:])


AT_SCAN = bmdsim.AtThreshold("femoral_neck", -2.0, scan_interval=1.0)
EVENT_ZOL = bmdsim.Regimen(
    [bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5), bmdsim.Exposure("zoledronic_acid", AT_SCAN, duration=5)]
)
AT_ONCE = bmdsim.AtThreshold("femoral_neck", -2.0)  # seen the moment it happens: per-patient start times
EVENT_ZOL_AT_ONCE = bmdsim.Regimen(
    [bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5), bmdsim.Exposure("zoledronic_acid", AT_ONCE, duration=5)]
)


@pytest.mark.parametrize(
    ("n", "sizes", "kwargs"),
    [
        # The default: natural loss smooth in age ("trials"), the default between-patient spread.
        (20_000, (1000, 7000, 20_000), {}),
        (20_000, (1000, 7000, 20_000), {"variability": Variability()}),
        (20_000, (1000, 7000, 20_000), {"params": "consensus"}),  # one curve for every woman
        (1500, (500, 700, 1500), {"regimen": EVENT_ZOL, "years": 10}),  # therapy started at a scan
        (2000, (700, 2000), {"regimen": EVENT_ZOL_AT_ONCE, "years": 10}),  # started at the crossing itself
        (2001, (1000, 2001), {}),  # a last chunk of one patient
    ],
)
def test_crossing_times_are_bit_identical_for_any_chunk_size(n, sizes, kwargs):
    """README: the same seed gives the same answer for any chunk_size, to the last bit (np.array_equal)."""
    kwargs = {"years": 20, "seed": 11} | kwargs
    runs = [cohort(n, chunk_size=size, **kwargs).crossing_times(THRESHOLDS) for size in sizes]
    for other in runs[1:]:
        for key, value in runs[0].items():
            assert np.array_equal(other[key], value), key


def test_patient_draws_do_not_depend_on_how_many_are_drawn_at_once():
    """A patient's draws are the same drawn alone, in odd-sized groups or with all others (no BLAS in the way)."""
    result = cohort(3000, chunk_size=3000)
    whole, m_whole = result.patients()
    for size in (1, 2, 3, 5, 8, 13, 1000):
        stop = min(3000, 200 * size)
        parts = [result.patients(a, min(a + size, stop)) for a in range(0, stop, size)]
        np.testing.assert_array_equal(np.concatenate([p.age for p, _ in parts]), whole.age[:stop])
        for s in bmdsim.SITES:
            np.testing.assert_array_equal(np.concatenate([p.t_score[s] for p, _ in parts]), whole.t_score[s][:stop])
            np.testing.assert_array_equal(np.concatenate([m[s] for _, m in parts]), m_whole[s][:stop])


def test_age_band_curves_are_chosen_per_patient_not_per_chunk(age_set):
    """With natural loss in age bands, a woman whose horizon stays in one band shares its curve whatever her chunk."""
    pop = bmdsim.Population(
        age=TruncatedNormal(60, 8, 40, 80), t_score={"femoral_neck": TruncatedNormal(-1.5, 0.8, -4, 2)}
    )
    runs = [
        cohort(3000, chunk_size=size, years=5, population=pop, params=age_set, workers=1).crossing_time(
            "femoral_neck", -2.0
        )
        for size in (1, 7, 3000)
    ]
    assert np.isfinite(runs[0]).sum() > 300
    for other in runs[1:]:
        assert np.array_equal(other, runs[0])


def test_different_seeds_give_different_patients():
    a, _ = cohort(100, seed=1).patients()
    b, _ = cohort(100, seed=2).patients()
    assert not np.array_equal(a.age, b.age)


@pytest.mark.parametrize("regimen", [AI, AI_ZOL])
def test_crossing_times_equal_simulate_on_the_same_patients(regimen):
    result = cohort(3000, regimen=regimen, chunk_size=1000, variability=Variability())  # the mean patient's loss
    patient, multiplier = result.patients()
    assert all(np.all(m == 1.0) for m in multiplier.values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        traj = bmdsim.simulate(patient, regimen, years=15)
    for s in bmdsim.SITES:
        for t in THRESHOLDS:
            np.testing.assert_array_equal(result.crossing_time(s, t), traj.crossing_time(s, t))


def test_event_started_therapy_in_a_cohort_equals_simulate():
    trigger = bmdsim.AtThreshold("total_hip", -2.0, scan_interval=1)
    regimen = bmdsim.Regimen([AI.exposures[0], bmdsim.Exposure("zoledronic_acid", start=trigger, duration=5)])
    result = cohort(2000, regimen=regimen, chunk_size=700, variability=Variability())
    patient, _ = result.patients()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        traj = bmdsim.simulate(patient, regimen, years=15)
    for s in bmdsim.SITES:
        np.testing.assert_allclose(result.crossing_time(s, -2.5), traj.crossing_time(s, -2.5), rtol=0, atol=1e-12)


def test_with_variability_the_t_score_is_on_the_threshold_at_the_crossing():
    result = cohort(2000, variability=Variability(cv={"femoral_neck": 0.4}, correlation=0.5), chunk_size=2000)
    t = result.crossing_time("femoral_neck", -2.5)
    inside = np.nonzero(np.isfinite(t) & (t > 1e-3))[0]
    assert inside.size > 100
    traj = result._chunk(0, 2000)
    at = np.array([traj.scaled_t_score("femoral_neck", np.array([t[i]]))[i, 0] for i in inside[:50]])
    before = np.array([traj.scaled_t_score("femoral_neck", np.array([t[i] - 1e-6]))[i, 0] for i in inside[:50]])
    np.testing.assert_allclose(at, -2.5, atol=1e-9)
    assert np.all(before > -2.5)


def test_variability_off_is_identical_to_no_variability():
    base = cohort(5000, variability=Variability()).crossing_times(THRESHOLDS)
    for off in (Variability(cv=0.0, correlation=0.7), Variability(cv={"lumbar_spine": 0.0})):
        other = cohort(5000, variability=off).crossing_times(THRESHOLDS)
        for key in base:
            np.testing.assert_array_equal(other[key], base[key])


def test_multipliers_have_mean_one_and_the_requested_cv():
    _, m = cohort(200_000, variability=Variability(cv=0.25)).patients()
    for s in bmdsim.SITES:
        assert m[s].mean() == pytest.approx(1.0, abs=0.005)
        assert m[s].std() / m[s].mean() == pytest.approx(0.25, abs=0.005)


@pytest.mark.parametrize(
    ("params", "regimen"),
    [
        ("consensus", AI),
        ("trials", AI),
        ("brex", AI_ZOL),
        ("trials", bmdsim.Regimen([AI.exposures[0], bmdsim.Exposure("denosumab", start=1, stop=3)])),
    ],
)
def test_fast_shared_inversion_equals_root_finding(params, regimen):
    """The table-and-cubic path against the per-patient Illinois path, within 1e-9 years."""
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        p = bmdsim.load_parameters(params)
    for site in bmdsim.SITES:
        model = SiteModel(p, regimen, site)
        grid = np.linspace(0, 20, 2001)
        top = float(model.log_loss(grid, 60.0).max())
        # Just below and above the curve's maximum (exactly at it, the two paths may differ by rounding of L).
        target = np.concatenate((rng.uniform(1e-6, top * 1.05, 3000), [top * (1 - 1e-9), top * (1 + 1e-9)]))
        fast = crossing.first_crossing(model, PatientState(np.full(target.size, 60.0)), target, 20.0)
        slow = crossing._first_crossing_per_patient(model, PatientState(np.full(target.size, 60.0)), target, 20.0)
        np.testing.assert_array_equal(np.isfinite(fast), np.isfinite(slow))
        finite = np.isfinite(fast)
        np.testing.assert_allclose(fast[finite], slow[finite], rtol=0, atol=1e-9)
        assert np.all(model.log_loss(fast[finite], 60.0) >= target[finite])  # on the crossed side


def test_fraction_below_is_monotone_in_time_and_threshold():
    result = cohort(20_000, variability=Variability(cv=0.2))
    times = np.linspace(0, 15, 61)
    previous = None
    for thr in (-2.5, -2.0, -1.0):
        f = result.fraction_below("lumbar_spine", thr, times)
        assert np.all(np.diff(f["fraction"]) >= 0)
        assert np.all((f["low"] <= f["fraction"]) & (f["fraction"] <= f["high"]))
        if previous is not None:
            assert np.all(f["fraction"] >= previous)
        previous = f["fraction"]
    assert 0 < previous[0] < previous[-1] <= 1


def test_zoledronic_acid_never_raises_the_fraction_crossed():
    times = np.linspace(0, 15, 31)
    ai = cohort(10_000).fraction_below("femoral_neck", -2.0, times)["fraction"]
    zol = cohort(10_000, regimen=AI_ZOL).fraction_below("femoral_neck", -2.0, times)["fraction"]
    assert np.all(zol <= ai)
    assert zol[-1] < ai[-1]


def test_crossing_percentiles_agree_with_fraction_below():
    result = cohort(10_000)
    pct = result.crossing_percentiles("total_hip", -2.0, (10, 25, 50, 90))
    for q, t in pct.items():
        if math.isfinite(t):
            assert result.fraction_below("total_hip", -2.0, t)["fraction"][0] >= q / 100
            assert result.fraction_below("total_hip", -2.0, max(t - 1e-9, 0))["fraction"][0] < q / 100 or t == 0
        else:
            assert result.fraction_below("total_hip", -2.0, 15)["fraction"][0] < q / 100


def test_t_score_percentiles_within_one_bin_of_exact():
    result = cohort(4000, chunk_size=1500, variability=Variability(cv=0.3))
    times = np.array([0.0, 2.5, 5.0, 10.0, 15.0])
    got = result.t_score_percentiles("femoral_neck", times, q=(0, 10, 50, 90, 100))
    patient, m = result.patients()
    traj = result._chunk(0, 4000)
    exact = traj.scaled_t_score("femoral_neck", times)
    for i, q in enumerate((0, 10, 50, 90, 100)):
        low = np.percentile(exact, q, axis=0, method="lower")
        high = np.percentile(exact, q, axis=0, method="higher")
        assert np.all(got["t_score"][i] >= low - 1.001e-3)
        assert np.all(got["t_score"][i] <= high + 1.001e-3)
    np.testing.assert_allclose(got["t_score"][2, 0], np.median(patient.t_score["femoral_neck"]), atol=2e-3)


def test_compare_regimens_table():
    table = bmdsim.compare_regimens(
        {"AI alone": AI, "AI + zoledronic acid": AI_ZOL}, n=5000, years=15, seed=2, at_years=(5, 10)
    )
    assert table["regimen"] == ["AI alone", "AI + zoledronic acid"]
    assert set(table) >= {"median_years_to_-2", "median_years_to_-2.5", "fraction_-2_by_5y", "fraction_-2.5_by_10y"}
    assert all(len(v) == 2 for v in table.values())
    assert table["fraction_-2_by_10y"][1] < table["fraction_-2_by_10y"][0]


def test_acceptance_call_million_patients():
    result = bmdsim.simulate_cohort(n=1_000_000, regimen=AI, years=20, seed=1, chunk_size=100_000)
    t = result.crossing_time("femoral_neck", -2.5)
    assert t.shape == (1_000_000,)
    assert np.all((t >= 0) & ((t <= 20) | np.isinf(t)))


def test_default_population_is_documented():
    doc = _data.read_json("cohort_default_population.json")
    citations = _data.read_json("citations.json")
    entries = [doc["age_years"], *doc["t_score"].values(), *doc["correlation"]]
    for entry in entries:
        assert entry["verification"] in {"primary", "secondary", "assumption", "fitted"}
        assert entry["where"].strip()
        if "citation" in entry:
            assert entry["citation"] in citations
    pop = default_population()
    assert pop.sites == bmdsim.SITES
    # ABCSG-18: 1872 of 3420 had T >= -1.
    p, _ = cohort(200_000, population=pop).patients()
    assert np.mean(p.t_score["total_hip"] >= -1) == pytest.approx(1872 / 3420, abs=0.005)
    assert np.corrcoef(p.t_score["lumbar_spine"], p.t_score["total_hip"])[0, 1] == pytest.approx(0.70, abs=0.01)


def test_custom_population_sites_and_bounds():
    pop = bmdsim.Population(
        age=TruncatedNormal(70, 0, 50, 90),
        t_score={"femoral_neck": TruncatedNormal(-1.5, 0.5, -2.0, 0.0)},
    )
    result = cohort(3000, population=pop)
    p, _ = result.patients()
    assert result.sites == ("femoral_neck",)
    assert np.all(p.age == 70)
    assert p.t_score["femoral_neck"].min() >= -2.0 and p.t_score["femoral_neck"].max() <= 0.0
    with pytest.raises(ValueError, match="site 'lumbar_spine' was not simulated"):
        result.crossing_time("lumbar_spine", -2.0)


def _pop(**changes):
    t = {s: TruncatedNormal(-1.0, 1.0, -4.0, 3.0) for s in bmdsim.SITES}
    kwargs = {"age": TruncatedNormal(64, 9, 45, 90), "t_score": t, "correlation": 0.5} | changes
    return bmdsim.Population(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "n must be a positive integer"),
        ({"n": -5}, ValueError, "n must be a positive integer"),
        ({"n": 2.5}, TypeError, "n must be a positive integer"),
        ({"n": "100"}, TypeError, "n must be a positive integer"),
        ({"n": True}, TypeError, "n must be a positive integer"),
        ({"chunk_size": 0}, ValueError, "chunk_size must be a positive integer"),
        ({"chunk_size": 10.0}, TypeError, "chunk_size must be a positive integer"),
        ({"workers": 0}, ValueError, "workers must be a positive integer"),
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
        ({"years": 0}, ValueError, "years must be in"),
        ({"regimen": "AI"}, TypeError, "regimen must be a bmdsim.Regimen"),
        ({"population": "default"}, TypeError, "population must be a bmdsim.Population"),
        ({"n": 10**12}, ValueError, r"the crossing times of n = 1000000000000 patients .* would need 7.45e\+03 GiB"),
        ({"n": 2**63}, ValueError, r"n must be a positive integer, at most 9223372036854775807"),
        ({"n": 1e6}, TypeError, "n must be a positive integer, got 1000000.0 of type float"),
        ({"n": 10**8, "chunk_size": 10**9}, ValueError, r"chunk_size = 100000000 patients x 7 random draws would need"),
        ({"n": 10**7, "chunk_size": 1}, ValueError, r"chunk_size = 1 splits n = 10000000 .* use chunk_size >= 100"),
        ({"chunk_size": True}, TypeError, "chunk_size must be a positive integer"),
        ({"workers": 10**9}, ValueError, "workers must be a positive integer, at most 64"),
        ({"seed": 2**64}, ValueError, r"seed must be a non-negative integer, at most 2\*\*64 - 1"),
        ({"seed": 1.0}, TypeError, "seed must be a non-negative integer"),
        ({"seed": True}, TypeError, "seed must be a non-negative integer"),
        ({"seed": None}, TypeError, "seed must be a non-negative integer"),
        ({"years": math.nan}, ValueError, "years must be a finite number"),
        ({"years": 1e300}, ValueError, r"years must be in \(0, 60\]"),
        ({"years": "10"}, TypeError, "years must be a real number"),
        ({"parameter_draws": -1}, ValueError, "parameter_draws must be >= 0"),
        ({"parameter_draws": 10**9}, ValueError, r"count must be an integer in \[1, 100\]"),
        ({"measurement_error": {"femoral_neck": math.inf}}, ValueError, r"measurement_error\['femoral_neck'\]"),
    ],
)
def test_bad_cohort_arguments_name_the_field(kwargs, error, match):
    args = {"n": 10, "regimen": AI, "years": 10, "seed": 1} | kwargs
    with pytest.raises(error, match=match):
        bmdsim.simulate_cohort(**args)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"cv": -0.1},
            ValueError,
            r"variability.cv\['lumbar_spine'\] must be a coefficient of variation in the plausible range \[0, 3\]",
        ),
        ({"cv": 1e200}, ValueError, r"variability.cv\['lumbar_spine'\] .* got 1e\+200"),
        ({"cv": True}, TypeError, r"variability.cv\['lumbar_spine'\] must be a real number"),
        ({"cv": {"femoral_neck": "0.5"}}, TypeError, r"variability.cv\['femoral_neck'\] must be a real number"),
        ({"correlation": 1.5}, ValueError, "variability.correlation must lie in"),
        ({"correlation": math.nan}, ValueError, "variability.correlation must be a finite number"),
        ({"correlation": {("lumbar_spine", "knee"): 0.5}}, ValueError, "variability.correlation site"),
        ({"correlation": {"lumbar_spine": 0.5}}, TypeError, "variability.correlation keys must be"),
        ({"cv": {"knee": 0.1}}, ValueError, "variability.cv site"),
    ],
)
def test_bad_variability_is_refused_when_made(kwargs, error, match):
    """Variability checks its CVs (0-3, data/between_patient_spread.json) and correlations at construction."""
    with pytest.raises(error, match=match):
        Variability(**kwargs)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: _pop(age=TruncatedNormal(64, -1, 45, 90)), r"population.age.sd must be >= 0"),
        (lambda: _pop(age=TruncatedNormal(64, 9, 10, 90)), r"population.age.low must lie in"),
        (lambda: _pop(age=TruncatedNormal(64, 9, 80, 60)), r"population.age.low must be below"),
        (lambda: _pop(age=TruncatedNormal(float("nan"), 9, 45, 90)), r"population.age.mean must be a finite"),
        (
            lambda: _pop(t_score={"femoral_neck": TruncatedNormal(-1, -0.5, -4, 3)}),
            r"population.t_score\['femoral_neck'\].sd must be >= 0",
        ),
        (
            lambda: _pop(t_score={"femoral_neck": TruncatedNormal(-1, 1, -9, 3)}),
            r"population.t_score\['femoral_neck'\].low must lie in",
        ),
        (lambda: _pop(t_score={"knee": TruncatedNormal(-1, 1, -4, 3)}), "population.t_score site"),
        (lambda: _pop(correlation=1.2), r"population.correlation.* must lie in \[-1, 1\]"),
        (lambda: _pop(correlation=-0.9), "not positive semidefinite"),
        (
            lambda: _pop(
                correlation={
                    ("lumbar_spine", "femoral_neck"): 0.9,
                    ("lumbar_spine", "total_hip"): 0.9,
                    ("femoral_neck", "total_hip"): -0.9,
                }
            ),
            "not positive semidefinite",
        ),
        (lambda: _pop(correlation={("lumbar_spine", "knee"): 0.5}), "population.correlation site"),
        (lambda: _pop(t_score={}), "at least one site"),
        (lambda: _pop(age_correlation=-1.5), r"population.age_correlation\['lumbar_spine'\] must lie in \[-1, 1\]"),
        (lambda: _pop(age_correlation=float("inf")), r"population.age_correlation\['lumbar_spine'\] must be a finite"),
        (lambda: _pop(age_correlation=-0.9), "population.age_correlation .* not a correlation matrix"),
        (lambda: _pop(age_correlation={"knee": -0.2}), "population.age_correlation site"),
        (
            lambda: _pop(t_score={"femoral_neck": TruncatedNormal(-1, 1, -4, 3)}, age_correlation={"total_hip": -0.2}),
            "population.age_correlation names site 'total_hip', which is not among the simulated sites",
        ),
    ],
)
def test_bad_population_names_the_field(build, match):
    with pytest.raises((ValueError, TypeError), match=match):
        build()


def test_bad_queries_name_the_field():
    result = cohort(100)
    with pytest.raises(ValueError, match="unknown site"):
        result.crossing_time("knee", -2.0)
    with pytest.raises(ValueError, match="times must lie in"):
        result.fraction_below("femoral_neck", -2.0, [0, 16])
    with pytest.raises(ValueError, match="q must be percentiles"):
        result.crossing_percentiles("femoral_neck", -2.0, (50, 120))
    with pytest.raises(TypeError, match="threshold must be a real number"):
        result.crossing_time("femoral_neck", "-2")
    with pytest.raises(ValueError, match="need 0 <= start < stop"):
        result.patients(50, 500)


@pytest.mark.parametrize(
    ("query", "error", "match"),
    [
        (lambda r: r.crossing_time("femoral_neck", math.nan), ValueError, "threshold must be a finite number"),
        (lambda r: r.crossing_times([-2.0, math.inf]), ValueError, r"thresholds\[1\] must be a finite number"),
        (lambda r: r.crossing_times(np.linspace(-3, 0, 101)), ValueError, "thresholds must hold at most 100 values"),
        (lambda r: r.crossing_times(iter(range(-(10**9), 0))), ValueError, "thresholds must hold at most 100"),
        (lambda r: r.crossing_times([]), ValueError, "thresholds must not be empty"),
        (lambda r: r.crossing_times((-2.0,), ["femoral_neck", "knee"]), ValueError, "unknown site"),
        (lambda r: r.crossing_times(np.zeros((2, 2))), ValueError, "thresholds must be a scalar or a 1-D"),
        (lambda r: r.fraction_below("femoral_neck", -2.0, ["1", "2"]), TypeError, "times must be a real number"),
        (lambda r: r.fraction_below("femoral_neck", -2.0, [1.0, math.nan]), ValueError, "times must be finite"),
        (lambda r: r.fraction_below("femoral_neck", -2.0, []), ValueError, "times must not be empty"),
        (lambda r: r.fraction_below("femoral_neck", -2.0, [[1.0]]), ValueError, "times must be a scalar or a 1-D"),
        (lambda r: r.fraction_below("femoral_neck", -2.0, np.zeros(10**6)), ValueError, "at most 10000 times"),
        (lambda r: r.fraction_below("femoral_neck", -2.0, True), TypeError, "times must be a real number"),
        (lambda r: r.crossing_percentiles("femoral_neck", -2.0, ["50"]), TypeError, "q must be a real number"),
        (lambda r: r.crossing_percentiles("femoral_neck", -2.0, [math.nan]), ValueError, "q must be finite"),
        (lambda r: r.t_score_percentiles("femoral_neck", [1.0], q=(-1,)), ValueError, r"q must be percentiles"),
        (lambda r: r.t_scores("femoral_neck", [1.0], start=0.0, stop=5), TypeError, "start must be an integer"),
        (lambda r: r.t_scores("femoral_neck", [1.0], start=0, stop=10**9), ValueError, "need 0 <= start < stop"),
        (lambda r: r.patients(0, True), TypeError, "stop must be an integer patient index"),
        (lambda r: r.chunk_crossing_times(0, 500), ValueError, "chunk_crossing_times: need 0 <= start < stop"),
        (lambda r: r.transitions(math.nan, 5.0), ValueError, "start_time must be finite"),
        (lambda r: r.transitions(0.0, "5"), TypeError, "stop_time must be a real number"),
        (lambda r: r.transitions(0.0, [1.0, 2.0]), ValueError, "start_time and stop_time must be single times"),
        (lambda r: r.transitions(5.0, 1.0), ValueError, "start_time must be before stop_time"),
        (lambda r: r.category_shares([1.0], cuts=[-2.5, math.nan]), ValueError, r"cuts\[1\] must be a finite"),
        (lambda r: r.category_shares([1.0], cuts=list(range(10**6))), ValueError, "cuts must be 1 to 20"),
        (lambda r: r.category_shares([1.0], measured="yes"), TypeError, "measured must be True or False"),
    ],
)
def test_bad_cohort_queries_name_the_field(query, error, match):
    with pytest.raises(error, match=match):
        query(cohort(100))


def test_histograms_beyond_the_memory_limit_name_the_times(monkeypatch):
    result = cohort(100)
    monkeypatch.setattr(bmdsim._validation, "MAX_ARRAY_BYTES", 2**20)
    with pytest.raises(ValueError, match=r"T-score histograms of 10 times x 20000 bins would need"):
        result.t_score_percentiles("femoral_neck", np.linspace(0, 10, 10))


def test_kept_crossing_times_stay_within_the_memory_limit(monkeypatch):
    """Crossing times are kept for later queries only while they fit in one array's worth of memory."""
    result = cohort(1000)
    monkeypatch.setattr(bmdsim.limits, "MAX_ARRAY_BYTES", 5 * 8 * 1000)  # room for five arrays of n floats
    for k in range(12):
        result.crossing_time("femoral_neck", -1.0 - k / 10)
    assert len(result._crossings) <= 5
    again = result.crossing_time("femoral_neck", -1.0)  # recomputed: the same answer
    np.testing.assert_array_equal(again, cohort(1000).crossing_time("femoral_neck", -1.0))


def test_bad_compare_regimens_arguments():
    with pytest.raises(TypeError, match="regimens name must be a string"):
        bmdsim.compare_regimens({1: AI}, n=100, years=10, seed=1)
    with pytest.raises(ValueError, match="regimens name must be at most"):
        bmdsim.compare_regimens({"x" * 20_000: AI}, n=100, years=10, seed=1)
    with pytest.raises(ValueError, match=r"at_years must lie in \[0, 10\] years"):
        bmdsim.compare_regimens({"AI": AI}, n=100, years=10, seed=1, at_years=(5, 20))
    with pytest.raises(ValueError, match=r"thresholds\[0\] must be a finite number"):
        bmdsim.compare_regimens({"AI": AI}, n=100, years=10, seed=1, thresholds=(math.nan,))
    table = bmdsim.compare_regimens({"AI": AI}, n=100, years=10, seed=1, thresholds=iter([-2.0, -2.5]))
    assert "fraction_-2.5_by_5y" in table


def _count_calls(monkeypatch, owner, name):
    """Wrap ``owner.name`` to record its calls: ``(start, stop)`` of a CohortResult method, else the first argument."""
    calls = []
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(args[1:3] if isinstance(args[0], bmdsim.CohortResult) else args[:1])
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


@pytest.mark.parametrize(("regimen", "params"), [(AI, "trials"), (EVENT_ZOL, "consensus")], ids=["ai", "scan_started"])
def test_repeated_and_per_draw_queries_draw_the_patients_once(monkeypatch, regimen, params):
    """Single calls and parameter draws reuse the drawn patients and solved crossings, bit-identical to fresh runs."""
    kw = {"chunk_size": 1500, "parameter_draws": 2, "workers": 2, "regimen": regimen, "params": params}
    fresh = cohort(4000, **kw).crossing_times(THRESHOLDS)
    result = cohort(4000, **kw)
    drawn = _count_calls(monkeypatch, bmdsim.CohortResult, "patients")
    singles = {(s, t): result.crossing_time(s, t) for s in result.sites for t in THRESHOLDS}
    assert sorted(drawn) == [(a, b) for a, b in result.chunks()]  # each chunk drawn once for nine queries
    for key, value in fresh.items():
        np.testing.assert_array_equal(singles[key], value)
        assert not singles[key].flags.writeable  # kept arrays cannot be changed by a caller
    first = result.fraction_below("femoral_neck", -2.5, [1.0, 5.0, 10.0])
    solved = _count_calls(monkeypatch, bmdsim.cohort, "first_crossing")
    again = result.fraction_below("femoral_neck", -2.5, [1.0, 5.0, 10.0])
    assert len(drawn) == len(result.chunks()) and not solved  # no patient redrawn, no crossing solved again
    np.testing.assert_array_equal(first["draws"], again["draws"])
    other = cohort(4000, **kw)
    for k in range(2):  # each draw on a fresh result, without anything kept
        np.testing.assert_array_equal(
            result.draw_crossing_time(k, "femoral_neck", -2.5), other.draw_crossing_time(k, "femoral_neck", -2.5)
        )
    np.testing.assert_array_equal(
        first["draws"][1],
        fraction_by(other.draw_crossing_time(1, "femoral_neck", -2.5), np.array([1.0, 5.0, 10.0])),
    )


def test_kept_patients_and_draws_stay_within_their_budgets(monkeypatch):
    """Only the chunks within KEPT_PATIENT_BYTES are kept, and draws' crossing times within KEPT_DRAW_BYTES."""
    monkeypatch.setattr(bmdsim.cohort, "KEPT_PATIENT_BYTES", 2 * 1000 * 80)  # two chunks of 1000 women, three sites
    monkeypatch.setattr(bmdsim.cohort, "KEPT_DRAW_BYTES", 2 * 8 * 5000)  # two draws' crossing times
    result = cohort(5000, chunk_size=1000, parameter_draws=4)
    result.crossing_times(THRESHOLDS)
    result.fraction_below("total_hip", -2.0, [5.0])
    assert sorted(result._kept) == [0, 1]
    assert sum(1 for key in result._crossings if len(key) == 3) == 2
    monkeypatch.setattr(bmdsim.cohort, "KEPT_PATIENT_BYTES", 0)
    none_kept = cohort(5000, chunk_size=1000, parameter_draws=4)
    np.testing.assert_array_equal(
        none_kept.fraction_below("total_hip", -2.0, [5.0])["draws"],
        result.fraction_below("total_hip", -2.0, [5.0])["draws"],
    )
    assert not none_kept._kept
    for key, value in none_kept.crossing_times(THRESHOLDS).items():
        np.testing.assert_array_equal(value, result.crossing_time(*key))


def test_a_result_pickles_as_its_inputs_and_answers_the_same():
    """Pickling sends the inputs only (no thread-local state, caches or tables); the copy gives the same bits."""
    result = cohort(6000, chunk_size=2000, parameter_draws=1, regimen=EVENT_ZOL, params="consensus")
    before = result.crossing_times(THRESHOLDS)
    result.draw_crossing_time(0, "total_hip", -2.0)
    data = pickle.dumps(result)
    assert len(data) < 100_000  # kilobytes, whatever n and whatever was kept
    copy = pickle.loads(data)
    assert not copy._crossings and not copy._kept and copy.reference == result.reference
    for key, value in copy.crossing_times(THRESHOLDS).items():
        np.testing.assert_array_equal(value, before[key])
    np.testing.assert_array_equal(
        copy.draw_crossing_time(0, "total_hip", -2.0), result.draw_crossing_time(0, "total_hip", -2.0)
    )
    start, stop = result.chunks()[1]
    piece = copy.chunk_crossing_times(start, stop, THRESHOLDS)
    for key, value in piece.items():
        np.testing.assert_array_equal(value, before[key][start:stop])


def test_an_executor_gives_the_local_bits():
    """simulate_cohort(executor=...): chunks on a process pool (plain pickled inputs) or a thread pool, same bits."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    event = bmdsim.Regimen(
        [
            bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5),
            bmdsim.Exposure("zoledronic_acid", bmdsim.AtThreshold("femoral_neck", -2.0, scan_interval=1.0), duration=5),
        ]
    )
    for regimen, params in ((AI, "trials"), (event, "consensus")):
        local = cohort(6000, regimen, chunk_size=1300, params=params, workers=1).crossing_times(THRESHOLDS)
        with ProcessPoolExecutor(2) as pool:
            result = cohort(6000, regimen, chunk_size=1300, params=params, executor=pool)
            remote = result.crossing_times(THRESHOLDS)
            single = result.crossing_time("total_hip", -1.5)  # a later query uses the pool too
            assert pickle.loads(pickle.dumps(result)).executor is None  # the executor is not sent
        with ThreadPoolExecutor(2) as pool:
            threaded = cohort(6000, regimen, chunk_size=1300, params=params, executor=pool).crossing_times(THRESHOLDS)
        assert list(remote) == list(local)
        for key, value in local.items():
            assert np.array_equal(remote[key], value), key
            assert np.array_equal(threaded[key], value), key
        assert np.array_equal(single, cohort(6000, regimen, params=params).crossing_time("total_hip", -1.5))
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor"):
        cohort(100, executor="tcp://localhost:8786")


def test_parameter_draws_on_an_executor_give_the_local_bits(monkeypatch):
    """With an executor, each parameter draw is one task; bands, percentile intervals and comparisons are unchanged."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    times = [1.0, 5.0, 10.0]
    local = cohort(3000, chunk_size=1100, parameter_draws=3, workers=1)
    want = local.fraction_below("femoral_neck", -2.0, times)
    want_q = local.crossing_percentile_interval("lumbar_spine", -1.0)
    with ProcessPoolExecutor(2) as pool:
        remote = cohort(3000, chunk_size=1100, parameter_draws=3, executor=pool)
        got = remote.fraction_below("femoral_neck", -2.0, times)
        got_q = remote.crossing_percentile_interval("lumbar_spine", -1.0)
        table = bmdsim.compare_regimens(
            {"AI": AI}, n=3000, years=20.0, seed=7, parameter_draws=3, chunk_size=1100, executor=pool
        )
    want_table = bmdsim.compare_regimens({"AI": AI}, n=3000, years=20.0, seed=7, parameter_draws=3, chunk_size=1100)
    for key in ("fraction", "param_low", "param_high", "draws"):
        np.testing.assert_array_equal(got[key], want[key])
    for key in ("param_low", "param_high", "draws"):
        np.testing.assert_array_equal(got_q[key], want_q[key])
    assert dict(table) == dict(want_table)
    # The work happens in the executor's tasks, one per draw, not in the calling process.
    calls = []
    with ThreadPoolExecutor(2) as pool:
        threaded = cohort(3000, chunk_size=1100, parameter_draws=3, executor=pool)
        real = pool.submit
        monkeypatch.setattr(pool, "submit", lambda fn, *a: calls.append(fn.__name__) or real(fn, *a))
        np.testing.assert_array_equal(threaded.fraction_below("femoral_neck", -2.0, times)["draws"], want["draws"])
    assert calls.count("_executor_draw") == 3


def test_a_single_crossing_time_call_also_solves_the_who_thresholds_at_its_site():
    ai = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    result = bmdsim.simulate_cohort(3000, ai, years=15, seed=4, chunk_size=1000)
    first = result.crossing_time("femoral_neck", -2.3)
    kept = {key for key in result._crossings if key[0] == "femoral_neck"}
    assert kept == {("femoral_neck", t) for t in (-2.3, *bmdsim.DEFAULT_THRESHOLDS)}
    fresh = bmdsim.simulate_cohort(3000, ai, years=15, seed=4, chunk_size=3000)
    batch = fresh.crossing_times((-2.3, *bmdsim.DEFAULT_THRESHOLDS), ("femoral_neck",))
    assert np.array_equal(first, batch["femoral_neck", -2.3])
    for t in bmdsim.DEFAULT_THRESHOLDS:  # answered from the first call's pass, to the last bit
        assert np.array_equal(result.crossing_time("femoral_neck", t), batch["femoral_neck", t])
    assert not any(key[0] == "lumbar_spine" for key in result._crossings)  # other sites untouched
