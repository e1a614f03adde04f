"""Parameter uncertainty: standard errors of the targets, the calibration draws, and cohort bands from them."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from scipy.special import ndtri

import bmdsim
from bmdsim import _data, calibration
from bmdsim.parameters import parameter_specs as _specs

SETS = bmdsim.available_parameter_sets()
UNCERTAINTY = _data.read_json("calibration_uncertainty.json")
Z95 = float(ndtri(0.975))
AI5 = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])


def _calibration_keys() -> set[str]:
    """Every observation some shipped set is fitted to, plus the ATAC figures behind the derived values."""
    keys = set()
    for name in SETS:
        cal = _data.read_json(f"parameters/{name}.json")["calibration"]
        if "targets" in cal:
            keys |= {
                f"{cal['targets']}:{o['id']}" for o in _data.read_json(f"targets/{cal['targets']}.json")["observations"]
            }
        for stage in cal.get("stages", []):
            keys |= {f"{f}:{o['id']}" for f, _, o in calibration.stage_observations(stage["observations"])}
    atac = _data.read_json("targets/atac_bone.json")
    keys |= {f"atac_bone:{i}" for i in atac["off_treatment"]["ids"]}
    keys |= {f"atac_bone:{i}" for i in atac["tamoxifen_on_treatment"]["ids"].values()}
    return keys


# -- the standard errors in data/ ------------------------------------------------------------------------------
def test_every_calibration_observation_has_a_standard_error_with_a_source():
    """Each fitted target has an SE entry with a known citation; only calibration targets are drawn."""
    citations = _data.read_json("citations.json")
    held = {k for k, e in UNCERTAINTY["observations"].items() if e.get("drawn", True) is False}
    profiles = {k for k in _calibration_keys() if "profile" in _data.read_json(f"targets/{k.split(':')[0]}.json")}
    assert profiles  # the patient profiles' calibration targets (bmdsim.profiles) are not drawn either
    assert held == {"atac_bone:atac_ls_off_12m", "atac_bone:atac_ls_off_24m"} | profiles
    assert all(UNCERTAINTY["observations"][k]["not_drawn_reason"].strip() for k in held)
    assert set(calibration.drawn_observations()) == _calibration_keys() - held
    for key, entry in UNCERTAINTY["observations"].items():
        assert entry["se_from"] in {"ci95", "reported_se", "p_value", "pooled_sd"}, key
        assert entry["citation"] in citations, key
        assert entry.get("where", "").strip(), key
        assert entry["verification"] in {"primary", "secondary", "inferred", "assumption"}, key
        for field in ("method_citation", "arms_source", "supporting_citation"):
            if field in entry:
                assert entry[field] in citations, (key, field)
        calibration.observed_value(key)  # every key resolves to a published value


def test_pooled_sd_by_hand():
    """s per site: SE of each CI over sqrt(1/n1 + 1/n2), pooled with weights n1 + n2 - 2; the femoral neck pools all."""

    def s(ci, n1, n2):
        return (ci[1] - ci[0]) / (2 * 1.959963984540054) / math.sqrt(1 / n1 + 1 / n2)

    ls = [(600, s((3.7, 5.0), 301, 301)), (1063, s((5.2, 6.1), 532, 533))]
    th = [(600, s((2.8, 3.8), 301, 301)), (1063, s((3.3, 4.0), 532, 533))]

    def pool(items):
        return math.sqrt(sum(d * v * v for d, v in items) / sum(d for d, _ in items))

    sd = calibration.pooled_sd()
    assert sd["lumbar_spine"] == pytest.approx(pool(ls), rel=1e-12)
    assert sd["total_hip"] == pytest.approx(pool(th), rel=1e-12)
    assert sd["femoral_neck"] == pytest.approx(pool(ls + th), rel=1e-12)
    assert 3.8 < sd["lumbar_spine"] < 3.9 and 2.9 < sd["total_hip"] < 3.1  # the shipped numbers, rounded


def test_standard_errors_of_each_kind():
    """CI half-width / 1.96, a reported SE, |value| / z(1 - p/2), s / sqrt(n) (x sqrt(pi/2) for a median)."""
    se = calibration.target_standard_errors()
    sd = calibration.pooled_sd()
    assert se["ies_2007:ies_ls_0_6m"] == pytest.approx(0.7 / Z95, rel=1e-12)
    assert se["zfast:zfast_th_12m"] == pytest.approx(0.5 / Z95, rel=1e-12)
    assert se["greenspan_2015:greenspan_ls_24m_diff"] == 0.7
    assert se["atac_bone:atac_ls_off_12m"] == pytest.approx(2.35 / ndtri(1 - 0.04 / 2), rel=1e-12)
    assert se["atac_bone:atac_ls_off_24m"] == pytest.approx(4.02 / ndtri(1 - 0.0004 / 2), rel=1e-12)
    assert se["brex_2024:brex_fn_withdrawal"] == pytest.approx(sd["femoral_neck"] / math.sqrt(186), rel=1e-12)
    assert se["halt_bc_2008:halt_ls_24m_diff"] == pytest.approx(sd["lumbar_spine"] * math.sqrt(1 / 127 + 1 / 125))
    assert se["atac_bone:atac_tam_th_60m"] == pytest.approx(sd["total_hip"] / math.sqrt(54) * math.sqrt(math.pi / 2))
    assert all(v > 0 for v in se.values())


def test_greenspan_plus_minus_reads_as_a_standard_error():
    """Read as SEs, Greenspan's +/- 0.7 and 0.5 agree within 15 % with the pooled s for about 55 women per arm."""
    se = calibration.target_standard_errors()
    sd = calibration.pooled_sd()
    arms = math.sqrt(1 / 55 + 1 / 54)  # 109 randomised
    assert se["greenspan_2015:greenspan_ls_24m_diff"] == pytest.approx(sd["lumbar_spine"] * arms, rel=0.15)
    assert se["greenspan_2015:greenspan_th_24m_diff"] == pytest.approx(sd["total_hip"] * arms, rel=0.15)


def test_atac_figures_would_send_the_recovery_time_constant_to_its_bound():
    """Why the ATAC pair is not drawn: with their SEs, about 40 % of draws rise faster in year 7 than in year 6."""
    se = calibration.target_standard_errors()
    rng = np.random.default_rng(0)
    g1 = 2.35 + se["atac_bone:atac_ls_off_12m"] * rng.standard_normal(20_000)
    g2 = 4.02 + se["atac_bone:atac_ls_off_24m"] * rng.standard_normal(20_000)
    unbounded = np.log1p(g2 / 100) >= 2 * np.log1p(g1 / 100)  # no exponential approach fits: T at its bound
    assert 0.35 < unbounded.mean() < 0.45
    assert not {"atac_bone:atac_ls_off_12m", "atac_bone:atac_ls_off_24m"} & set(calibration.drawn_observations())


def test_perturbed_targets_are_seeded_normal_draws():
    """Draw k is reproducible, differs between k, and (value - published) / SE is standard normal over draws."""
    se = calibration.target_standard_errors()
    keys = calibration.drawn_observations()
    assert calibration.perturbed_targets(3, 7, se) == calibration.perturbed_targets(3, 7, se)
    z = np.array(
        [
            [(calibration.observed_value(k, docs) - calibration.observed_value(k)) / se[k] for k in keys]
            for docs in (calibration.perturbed_targets(d, 11, se) for d in range(300))
        ]
    )
    assert abs(z.mean()) < 0.05  # 300 x 39 values: SE of the mean 0.009
    assert z.std() == pytest.approx(1.0, abs=0.04)
    assert not np.allclose(z[0], z[1])
    unchanged = calibration.perturbed_targets(0, 11, {k: 0.0 for k in keys})
    assert all(calibration.observed_value(k, unchanged) == calibration.observed_value(k) for k in keys)
    with pytest.raises(ValueError, match="se lacks the standard errors of"):
        calibration.perturbed_targets(0, 11, {})


# -- the shipped draws -------------------------------------------------------------------------------------------
def _shipped(name: str) -> dict:
    return _data.read_json(f"parameter_draws/{name}.json")


@pytest.mark.parametrize("name", SETS)
def test_shipped_draw_files_record_their_settings(name):
    """Each draws file: the bootstrap settings of the data file, the current SEs and pooled SDs, all draws."""
    doc = _shipped(name)
    settings = UNCERTAINTY["bootstrap"]
    assert (doc["set"], doc["seed"], doc["count"], doc["first"]) == (name, settings["seed"], settings["draws"], 0)
    se = calibration.target_standard_errors()
    assert doc["target_se_pct"] == pytest.approx({k: se[k] for k in calibration.drawn_observations()}, rel=1e-9)
    assert doc["pooled_sd_pct"] == pytest.approx(calibration.pooled_sd(), rel=1e-9)
    point = _data.read_json(f"parameters/{name}.json")
    assert list(doc["parameters"]) == calibration.varied_parameters(point)
    assert all(len(v) == doc["count"] for v in doc["parameters"].values())


@pytest.mark.parametrize(("name", "first", "count"), [("consensus", 0, 2), ("trials", 0, 1)])
def test_refit_of_shipped_draws(name, first, count):
    """Refitting draws gives every recorded value back (rel 1e-6), or, on a ridge of the fit, the same predictions."""
    new = calibration.calibration_draws(name, count=count, first=first)
    shipped = _shipped(name)
    point = bmdsim.load_parameters(name)
    ridge = False
    for key, values in new["parameters"].items():
        got = np.array([np.nan if v is None else v for v in values], float)
        want = np.array([np.nan if v is None else v for v in shipped["parameters"][key][first : first + count]], float)
        if not np.allclose(got, want, rtol=1e-6, atol=0, equal_nan=True):
            # a value on a ridge of the fit (see tests/test_calibration.py): looser, and the predictions must agree
            np.testing.assert_allclose(got, want, rtol=0.1, atol=0, err_msg=key)
            ridge = True
    if ridge:
        for k in range(count):
            sets = [
                point.with_values({key: v[k] for key, v in doc["parameters"].items() if v[k] is not None})
                for doc in (
                    new,
                    {"parameters": {key: v[first : first + count] for key, v in shipped["parameters"].items()}},
                )
            ]
            for stage in _data.read_json(f"parameters/{name}.json")["calibration"].get("stages", []):
                for _, d, obs in calibration.stage_observations(stage["observations"]):
                    a, b = (calibration.observation_model(s, d, obs) for s in sets)
                    assert a == pytest.approx(b, abs=1e-2), obs["id"]  # 0.01 pp: far below the targets' SEs


def test_zero_standard_error_gives_no_spread():
    """BREX SEs at 0: consensus recovery fractions are the point values in a draw; all SEs at 0: every value is."""
    se = calibration.target_standard_errors()
    point = _data.read_json("parameters/consensus.json")["parameters"]
    fraction = "aromatase_inhibitor.femoral_neck.recovery_fraction"
    zf = "zoledronic_acid.lumbar_spine.late_gain_pct_per_year"
    no_brex = {k: (0.0 if k.startswith("brex_2024:") else v) for k, v in se.items()}
    some = calibration.calibration_draws("consensus", count=1, se=no_brex)["parameters"]
    assert some[fraction][0] == pytest.approx(point[fraction]["value"], rel=1e-9)
    assert some[zf][0] != pytest.approx(point[zf]["value"], rel=1e-3)  # other parameters still vary
    assert _shipped("consensus")["parameters"][fraction][0] != pytest.approx(point[fraction]["value"], rel=1e-3)
    none = calibration.calibration_draws("consensus", count=1, se={k: 0.0 for k in se})["parameters"]
    for key, values in none.items():
        np.testing.assert_allclose(np.ravel(np.array(values, float)), np.ravel([point[key]["value"]]), rtol=1e-6)


@pytest.mark.parametrize("name", SETS)
def test_draws_respect_bounds_and_keep_fixed_values(name):
    """Every draw is a valid ParameterSet inside each parameter's range; fixed values are the set's own."""
    point = bmdsim.load_parameters(name)
    draws = bmdsim.parameter_draws(name)
    assert len(draws) == UNCERTAINTY["bootstrap"]["draws"]
    specs = _specs()
    for key, spec in specs.items():
        values = [np.ravel(d[key]) for d in draws if d[key] is not None]
        if values:
            arr = np.concatenate(values)
            assert np.all((arr >= spec.low) & (arr <= spec.high)), key
        if point.metadata[key]["role"] == "fixed":
            assert all(d[key] == point[key] for d in draws), key
    for key in ("aromatase_inhibitor.recovery_time_constant_years", "denosumab.offset_time_constant_years"):
        assert all(d[key] == point[key] for d in draws), key  # inputs not drawn (see calibration_uncertainty.json)
    varying = [k for k in specs if point.metadata[k]["role"] == "fitted" and len({str(d[k]) for d in draws}) > 1]
    assert len(varying) >= 10


@pytest.mark.parametrize("name", SETS)
def test_draw_medians_sit_near_the_point_fit(name):
    """The draws' BREX contrasts centre on the point fit's (within 0.3 SE) and spread by about their SE."""
    se = calibration.target_standard_errors()
    point = {r.target: r.model for r in calibration.brex_residuals(bmdsim.load_parameters(name), mode="contrast")}
    contrasts: dict[str, list[float]] = {}
    for d in bmdsim.parameter_draws(name):
        for r in calibration.brex_residuals(d, mode="contrast"):
            contrasts.setdefault(r.target, []).append(r.model)
    for site, key in (("lumbar_spine", "brex_ls"), ("femoral_neck", "brex_fn")):
        values = np.array(contrasts[f"{site} withdrawal - no withdrawal"])
        se_contrast = math.hypot(se[f"brex_2024:{key}_withdrawal"], se[f"brex_2024:{key}_no_withdrawal"])
        assert np.median(values) == pytest.approx(point[f"{site} withdrawal - no withdrawal"], abs=0.3 * se_contrast)
        assert 0.5 * se_contrast < values.std() < 1.5 * se_contrast, (name, site)


# -- the API --------------------------------------------------------------------------------------------------------
def test_parameter_draws_api_and_errors():
    """Names, counts, the method on ParameterSet, and clear errors for modified sets and bad counts."""
    p = bmdsim.load_parameters("consensus")
    three = bmdsim.parameter_draws("consensus", count=3)
    assert [d.name for d in three] == ["consensus draw 0", "consensus draw 1", "consensus draw 2"]
    assert p.draws(3) == three
    assert bmdsim.parameter_draws(p)[:3] == three
    key = "aromatase_inhibitor.femoral_neck.recovery_fraction"
    assert three[0][key] == _shipped("consensus")["parameters"][key][0]
    assert three[0].metadata[key]["role"] == "calibration draw"
    modified = p.with_values({"natural.femoral_neck.rates_pct_per_year": [1.0]})
    with pytest.raises(ValueError, match=r"'consensus \(modified\)' has no calibration draws.*with_values"):
        modified.draws()
    with pytest.raises(ValueError, match=r"has no calibration draws"):
        bmdsim.parameter_draws(three[0])
    for bad in (0, 101, -1):
        with pytest.raises(ValueError, match=r"count must be an integer in \[1, 100\]"):
            bmdsim.parameter_draws("consensus", count=bad)
    for bad in (1.5, True, "3"):
        with pytest.raises(TypeError, match="count must be an integer"):
            bmdsim.parameter_draws("consensus", count=bad)
    with pytest.raises(ValueError, match="params"):
        bmdsim.parameter_draws("nope")


# -- cohorts --------------------------------------------------------------------------------------------------------
def test_fraction_below_with_draws_matches_one_cohort_per_draw():
    """Each draw's curve is the cohort simulated with that draw's parameters; the point curve is unchanged."""
    n, years, seed = 3000, 12.0, 5
    times = np.array([0.0, 2.0, 5.0, 7.5, 10.0, 12.0])
    res = bmdsim.simulate_cohort(n, AI5, years, seed, params="trials", parameter_draws=6, chunk_size=1000)
    plain = bmdsim.simulate_cohort(n, AI5, years, seed, params="trials")
    out = res.fraction_below("femoral_neck", -2.5, times)
    ref = plain.fraction_below("femoral_neck", -2.5, times)
    for k in ("time", "fraction", "low", "high"):
        np.testing.assert_array_equal(out[k], ref[k])
    assert out["draws"].shape == (6, times.size)
    for k, d in enumerate(res.parameter_draws):
        one = bmdsim.simulate_cohort(n, AI5, years, seed, params=d).fraction_below("femoral_neck", -2.5, times)
        np.testing.assert_array_equal(out["draws"][k], one["fraction"])
    np.testing.assert_array_equal(out["param_low"], np.min(out["draws"], axis=0))  # K = 6: 2.5 % is the minimum
    np.testing.assert_array_equal(out["param_high"], np.max(out["draws"], axis=0))
    assert np.all(np.diff(out["draws"], axis=1) >= 0)  # cumulative incidence never falls
    assert "6 parameter draws" in repr(res)


def test_draws_do_not_depend_on_chunks_or_threads_and_times_order():
    """The same patients and answers for any chunk_size and workers; times in any order."""
    kw = {"n": 5000, "regimen": AI5, "years": 10.0, "seed": 9, "parameter_draws": 4}
    a = bmdsim.simulate_cohort(chunk_size=5000, workers=1, **kw).fraction_below("lumbar_spine", -2.0, [1, 5, 10])
    b = bmdsim.simulate_cohort(chunk_size=777, workers=2, **kw).fraction_below("lumbar_spine", -2.0, [10, 1, 5])
    np.testing.assert_array_equal(a["draws"], b["draws"][:, [1, 2, 0]])
    np.testing.assert_array_equal(a["param_high"], b["param_high"][[1, 2, 0]])


def test_parameter_interval_is_the_order_statistics_of_the_draws():
    """With 40 draws the 2.5th and 97.5th percentiles are the 1st and 39th smallest (inverted CDF)."""
    res = bmdsim.simulate_cohort(2000, AI5, 10.0, 1, parameter_draws=40)
    out = res.fraction_below("femoral_neck", -2.0, [5.0, 10.0])
    ordered = np.sort(out["draws"], axis=0)
    np.testing.assert_array_equal(out["param_low"], ordered[0])
    np.testing.assert_array_equal(out["param_high"], ordered[38])
    assert np.all(out["param_low"] <= out["param_high"])


def test_event_started_therapy_with_draws():
    """An AtThreshold start resolves per patient and per draw: each draw equals its own cohort."""
    za = bmdsim.Exposure("zoledronic_acid", start=bmdsim.AtThreshold("total_hip", -2.0, scan_interval=1.0), duration=5)
    regimen = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5), za])
    res = bmdsim.simulate_cohort(400, regimen, 10.0, 3, parameter_draws=3)
    out = res.fraction_below("femoral_neck", -2.0, [5.0, 10.0])
    for k, d in enumerate(res.parameter_draws):
        one = bmdsim.simulate_cohort(400, regimen, 10.0, 3, params=d).fraction_below("femoral_neck", -2.0, [5.0, 10.0])
        np.testing.assert_array_equal(out["draws"][k], one["fraction"])


def test_crossing_percentile_interval():
    """Per-draw percentiles equal each draw's own cohort; the point value is crossing_percentiles'."""
    res = bmdsim.simulate_cohort(3000, AI5, 15.0, 2, parameter_draws=5)
    out = res.crossing_percentile_interval("femoral_neck", -2.0, (25, 50))
    assert out["time"].tolist() == list(res.crossing_percentiles("femoral_neck", -2.0, (25, 50)).values())
    for k, d in enumerate(res.parameter_draws):
        one = bmdsim.simulate_cohort(3000, AI5, 15.0, 2, params=d).crossing_percentiles("femoral_neck", -2.0, (25, 50))
        assert out["draws"][k].tolist() == list(one.values())
    assert np.all(out["param_low"] <= out["param_high"])
    with pytest.raises(ValueError, match="needs parameter draws"):
        bmdsim.simulate_cohort(100, AI5, 5.0, 1).crossing_percentile_interval("femoral_neck", -2.0)


def test_compare_regimens_with_draws_adds_interval_columns():
    """Each column gets _param_low/_param_high; the point columns equal those without draws."""
    regimens = {"AI": AI5, "AI + ZA": bmdsim.Regimen([*AI5, bmdsim.Exposure("zoledronic_acid", 0, 5)])}
    kw = {"n": 2000, "years": 10.0, "seed": 4, "thresholds": (-2.0,), "at_years": (5.0, 10.0)}
    plain = bmdsim.compare_regimens(regimens, **kw)
    table = bmdsim.compare_regimens(regimens, parameter_draws=5, **kw)
    for column, values in plain.items():
        assert table[column] == values
        if column != "regimen":
            low, high = table[f"{column}_param_low"], table[f"{column}_param_high"]
            assert all(lo <= hi for lo, hi in zip(low, high, strict=True))
    res = bmdsim.simulate_cohort(2000, AI5, 10.0, 4, parameter_draws=5)
    frac = res.fraction_below("femoral_neck", -2.0, [5.0, 10.0])
    assert table["fraction_-2_by_10y_param_low"][0] == frac["param_low"][1]
    assert table["fraction_-2_by_5y_param_high"][0] == frac["param_high"][0]


def test_memory_holds_one_draw_at_a_time():
    """Peak allocation of a curve does not grow with the number of draws (never n x K floats held)."""
    n = 100_000
    peaks = {}
    for k in (2, 20):
        res = bmdsim.simulate_cohort(n, AI5, 10.0, 1, parameter_draws=k, chunk_size=20_000, workers=1)
        res.fraction_below("femoral_neck", -2.5, [5.0])  # warm-up: crossing tables and point crossings
        tracemalloc.start()
        res.fraction_below("femoral_neck", -2.5, [5.0, 10.0])
        peaks[k] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[20] - peaks[2] < n * 8, f"peaks {peaks}"  # 18 more draws add less than one n-array


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (-1, ValueError, "parameter_draws must be >= 0"),
        (True, TypeError, "parameter_draws must be a number of draws"),
        ("5", TypeError, "parameter_draws must be a number of draws"),
        ([], ValueError, "at least one ParameterSet"),
        ([1, 2], TypeError, r"parameter_draws\[0\] must be a bmdsim.ParameterSet"),
        (101, ValueError, r"count must be an integer in \[1, 100\]"),
    ],
)
def test_bad_parameter_draws(value, error, match):
    with pytest.raises(error, match=match):
        bmdsim.simulate_cohort(100, AI5, 5.0, 1, parameter_draws=value)


def test_modified_set_needs_its_own_draws():
    """A modified set cannot borrow the shipped draws by count; its modified draws can be passed directly."""
    change = {"natural.femoral_neck.rates_pct_per_year": [1.0]}
    modified = bmdsim.load_parameters("consensus").with_values(change)
    with pytest.raises(ValueError, match="has no calibration draws"):
        bmdsim.simulate_cohort(100, AI5, 5.0, 1, params=modified, parameter_draws=3)
    mine = [d.with_values(change) for d in bmdsim.parameter_draws("consensus", 3)]
    res = bmdsim.simulate_cohort(500, AI5, 10.0, 1, params=modified, parameter_draws=mine)
    assert res.fraction_below("femoral_neck", -2.0, [10.0])["draws"].shape == (3, 1)


def test_calibration_cli_draws_prints_and_writes_nothing(capsys):
    """`python -m bmdsim.calibration --draws --count 1` prints the SEs and one draw per set, writes nothing."""
    folder = _data.data_dir() / "parameter_draws"
    before = {p.name: p.read_bytes() for p in folder.glob("*.json")}
    assert calibration.main(["--draws", "--count", "1"]) == 0
    out = capsys.readouterr().out
    assert "pooled SD of one woman's percent change" in out
    for name in SETS:
        assert f"{name}: 1 draws in" in out
    assert {p.name: p.read_bytes() for p in folder.glob("*.json")} == before


# -- plot ---------------------------------------------------------------------------------------------------------
def test_fraction_crossed_plot_draws_the_parameter_band_of_a_cohort():
    """A cohort with draws: the point curve, the sampling band, and a hatched parameter band with its own label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bmdsim import plot

    res = bmdsim.simulate_cohort(2000, AI5, 10.0, 1, parameter_draws=5)
    times = np.linspace(0.0, 10.0, 11)
    try:
        ax = plot.plot_fraction_crossed(res, "femoral_neck", thresholds=(-2.5,), times=times)
        curve = res.fraction_below("femoral_neck", -2.5, times)
        artists = {a.get_gid(): a for a in list(ax.lines) + list(ax.collections) if a.get_gid()}
        assert np.array_equal(artists["fraction:femoral_neck:-2.5"].get_ydata(), 100 * curve["fraction"])
        band = artists["parameter_band:femoral_neck:-2.5"].get_paths()[0].vertices[:, 1]
        assert band.min() == pytest.approx(100 * curve["param_low"].min())
        assert band.max() == pytest.approx(100 * curve["param_high"].max())
        labels = ax.get_legend_handles_labels()[1]
        assert "95 % interval (parameter uncertainty, 5 calibration draws)" in labels
        assert "95 % interval (group size)" in labels
        fig, ax3 = plt.subplots()
        plot.plot_fraction_crossed(
            res, "femoral_neck", (-2.5,), ax=ax3, labels={"parameter_band": "Parameter ({count})"}
        )
        assert "Parameter (5)" in ax3.get_legend_handles_labels()[1]
        off = plot.plot_fraction_crossed(res, "femoral_neck", thresholds=(-2.5,), times=times, parameter_band=False)
        assert not [a for a in off.collections if (a.get_gid() or "").startswith("parameter_band")]
        plain = bmdsim.simulate_cohort(2000, AI5, 10.0, 1)
        ax2 = plot.plot_fraction_crossed(plain, "femoral_neck", thresholds=(-2.5,))  # monthly by default
        assert ax2.lines[0].get_xdata().size == 121
        assert not [a for a in ax2.collections if (a.get_gid() or "").startswith("parameter_band")]
    finally:
        plt.close("all")
