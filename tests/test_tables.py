"""Tests of the tidy tables: every result's ``to_frame()`` and its HTML view (bmdsim.tables)."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import bmdsim
from bmdsim import tables
from bmdsim.calibration import Residual, brex_residuals, residuals_frame
from bmdsim.cohort import PARAMETER_INTERVAL, WHO_CATEGORIES, default_population
from bmdsim.fracture import cohort_relative_risk, compare_fracture_risk, relative_risk, relative_risk_frame
from bmdsim.summary import trajectory_columns, trajectory_frame
from bmdsim.validation import TransitionReport, therapy_checks, validation_report

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
N, YEARS, SEED = 2_000, 10.0, 7
SITE = "femoral_neck"


def assert_tidy(df: pd.DataFrame) -> None:
    """snake_case, unique column names, each documented in attrs["units"], and a title."""
    assert isinstance(df, pd.DataFrame)
    assert all(SNAKE_CASE.match(c) for c in df.columns), list(df.columns)
    assert len(set(df.columns)) == df.shape[1]
    units = df.attrs["units"]
    assert list(units) == list(df.columns)
    assert all(isinstance(u, str) and u for u in units.values())
    assert df.attrs["title"]
    assert isinstance(df.index, pd.RangeIndex)


def assert_string_column(df: pd.DataFrame, name: str) -> None:
    assert pd.api.types.is_string_dtype(df[name]), df[name].dtype


@pytest.fixture(scope="module")
def ai() -> bmdsim.Regimen:
    return bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])


@pytest.fixture(scope="module")
def group(ai) -> bmdsim.Trajectory:
    t_score = {"lumbar_spine": np.array([-0.5, -1.5, -2.7]), "femoral_neck": np.array([-1.2, -1.9, -2.2])}
    patient = bmdsim.Patient(age=np.array([58.0, 66.0, 74.0]), t_score=t_score)
    return bmdsim.simulate(patient, ai, years=YEARS, step=0.5, params="consensus")


@pytest.fixture(scope="module")
def one(ai) -> bmdsim.Trajectory:
    patient = bmdsim.Patient(age=63, t_score={"lumbar_spine": -1.2, "femoral_neck": -1.5})
    return bmdsim.simulate(patient, ai, years=YEARS, step=1.0, params="consensus")


@pytest.fixture(scope="module")
def cohort(ai) -> bmdsim.CohortResult:
    return bmdsim.simulate_cohort(N, ai, YEARS, seed=SEED, params="consensus")


@pytest.fixture(scope="module")
def drawn(ai) -> bmdsim.CohortResult:
    return bmdsim.simulate_cohort(N, ai, YEARS, seed=SEED, params="consensus", parameter_draws=3)


# -- the shared module ---------------------------------------------------------------------------------------------
def test_importing_bmdsim_does_not_import_pandas():
    code = "import sys, bmdsim, bmdsim.tables; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_frame_documents_every_column_and_refuses_undocumented_or_ragged_ones():
    df = tables.frame({"time_years": [0.0, 1.0], "t_score_sd": [-1.0, -1.2]}, "a title")
    assert_tidy(df)
    assert df.attrs["units"]["time_years"] == tables.UNITS["time_years"]
    with pytest.raises(ValueError, match="mystery"):
        tables.frame({"mystery": [1.0]}, "t")
    with pytest.raises(ValueError, match="differ in length"):
        tables.frame({"time_years": [0.0, 1.0], "t_score_sd": [1.0]}, "t")


def test_frame_makes_ordered_categories():
    df = tables.frame({"category": ["normal", "osteoporosis"]}, "t", categories={"category": WHO_CATEGORIES})
    assert isinstance(df["category"].dtype, pd.CategoricalDtype) and df["category"].cat.ordered
    assert list(df["category"].cat.categories) == list(WHO_CATEGORIES)
    assert df["category"].min() == "osteoporosis"


def test_html_escapes_text_truncates_rows_and_lists_units():
    rows = tables.HTML_MAX_ROWS * 3
    df = tables.frame({"time_years": np.arange(rows, dtype=float), "site": ["<b>"] * rows}, "A & B")
    out = tables.html(df)
    assert "A &amp; B" in out and "&lt;b&gt;" in out and "<b>" not in out
    assert out.count("<tr>") < rows  # head and tail only
    assert "time_years: years from baseline" in out
    assert tables.html(df, max_rows=rows).count("<tr>") >= rows


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (1.5, TypeError), (True, TypeError)])
def test_html_refuses_a_bad_max_rows_naming_it(value, error):
    df = tables.frame({"time_years": [0.0]}, "t")
    with pytest.raises(error, match="max_rows"):
        tables.html(df, max_rows=value)


def test_html_refuses_a_table_that_is_not_a_dataframe():
    with pytest.raises(TypeError, match="table"):
        tables.html_sections("t", [("", {"time_years": [0.0]}, False)])


# -- Trajectory ----------------------------------------------------------------------------------------------------
def test_trajectory_to_frame_is_tidy_and_equals_the_arrays(group):
    df = group.to_frame()
    assert_tidy(df)
    assert list(df.columns) == ["patient", "site", "time_years", "bmd_g_cm2", "t_score_sd"]
    assert df["patient"].dtype == np.int64
    assert_string_column(df, "site")
    assert len(df) == group.patient.n * len(group.sites) * group.time.size
    for site in group.sites:
        for i in range(group.patient.n):
            rows = df[(df["patient"] == i) & (df["site"] == site)]
            assert np.array_equal(rows["time_years"], group.time)
            assert np.array_equal(rows["bmd_g_cm2"], group.bmd(site)[i])
            assert np.array_equal(rows["t_score_sd"], group.t_score(site)[i])
    assert df.attrs["units"]["bmd_g_cm2"].startswith("g/cm2")


def test_trajectory_to_frame_of_a_scalar_patient_has_patient_zero(one):
    df = one.to_frame()
    assert set(df["patient"]) == {0}
    assert np.array_equal(df.loc[df["site"] == "lumbar_spine", "t_score_sd"], one.t_score("lumbar_spine"))


def test_crossing_frame_equals_crossing_time_with_inf_kept(group):
    thresholds = (-2.0, -2.5)
    df = group.crossing_frame(thresholds)
    assert_tidy(df)
    assert list(df.columns) == ["patient", "site", "threshold_t_score_sd", "crossing_time_years"]
    assert len(df) == group.patient.n * len(group.sites) * len(thresholds)
    for site in group.sites:
        for thr in thresholds:
            rows = df[(df["site"] == site) & (df["threshold_t_score_sd"] == thr)].sort_values("patient")
            assert np.array_equal(rows["crossing_time_years"], group.crossing_time(site, thr))
    assert np.isinf(df["crossing_time_years"]).any() and (df["crossing_time_years"] == 0).any()


@pytest.mark.parametrize(("thresholds", "error"), [("-2", TypeError), ([np.nan], ValueError), ([], ValueError)])
def test_crossing_frame_refuses_bad_thresholds_naming_them(group, thresholds, error):
    with pytest.raises(error, match="thresholds"):
        group.crossing_frame(thresholds)


def test_trajectory_html_shows_its_crossing_times_and_t_scores(one):
    out = one._repr_html_()
    assert "&lt;Trajectory: 1 patient(s)" in out
    crossing = one.crossing_time("femoral_neck", -2.0)
    assert np.isfinite(crossing)
    assert f"<td>{crossing:.{tables.HTML_DIGITS}g}</td>" in out
    last = one.t_score("femoral_neck")[-1]
    assert f"<td>{last:.{tables.HTML_DIGITS}g}</td>" in out


def test_trajectory_html_of_many_patients_shows_a_few(ai):
    many = bmdsim.simulate(bmdsim.Patient(age=np.full(50, 60.0), t_score={SITE: np.linspace(-2, 0, 50)}), ai, years=5)
    out = many._repr_html_()
    assert "patients 0-2 of 50" in out


def test_trajectory_frame_matches_trajectory_columns(group):
    header, rows = trajectory_columns(group)
    df = trajectory_frame(group)
    assert list(df.columns) == header
    assert df["patient"].dtype == np.int64
    assert np.array_equal(df.to_numpy(dtype=float), rows)
    assert list(df.attrs["units"]) == header and all(df.attrs["units"].values())


def test_trajectory_frame_refuses_what_is_not_a_trajectory():
    with pytest.raises(TypeError, match="traj"):
        trajectory_frame("not a trajectory")


# -- CohortResult --------------------------------------------------------------------------------------------------
def test_cohort_to_frame_equals_crossing_times(cohort):
    thresholds = (-2.0, -2.5)
    df = cohort.to_frame(thresholds, sites=[SITE, "total_hip"])
    assert_tidy(df)
    assert len(df) == N * 2 * len(thresholds)
    times = cohort.crossing_times(thresholds, [SITE, "total_hip"])
    for (site, thr), values in times.items():
        rows = df[(df["site"] == site) & (df["threshold_t_score_sd"] == thr)]
        assert np.array_equal(rows["patient"], np.arange(N))
        assert np.array_equal(rows["crossing_time_years"], values)


def test_cohort_to_frame_refuses_unknown_sites(cohort):
    with pytest.raises(ValueError, match="site"):
        cohort.to_frame(sites=["elbow"])


def test_cohort_html_shows_settings_without_simulating(ai):
    fresh = bmdsim.simulate_cohort(N, ai, YEARS, seed=SEED, params="consensus")
    out = fresh._repr_html_()
    assert not fresh._crossings
    assert f"<td>{N}</td>" in out and "consensus" in out and f"<td>{SEED}</td>" in out


def test_fraction_below_is_the_same_dict_with_a_tidy_frame(cohort):
    times = [0.0, 2.5, 5.0, 10.0]
    out = cohort.fraction_below(SITE, -2.0, times)
    assert isinstance(out, dict) and set(out) == {"time", "fraction", "low", "high"}
    df = out.to_frame()
    assert_tidy(df)
    assert list(df.columns) == [
        "site",
        "threshold_t_score_sd",
        "time_years",
        "fraction_below",
        "fraction_below_wilson_low",
        "fraction_below_wilson_high",
    ]
    assert (df["site"] == SITE).all() and (df["threshold_t_score_sd"] == -2.0).all()
    assert np.array_equal(df["time_years"], times)
    assert np.array_equal(df["fraction_below"], out["fraction"])
    assert np.array_equal(df["fraction_below_wilson_low"], out["low"])
    assert np.array_equal(df["fraction_below_wilson_high"], out["high"])
    assert f"{out['fraction'][-1]:.{tables.HTML_DIGITS}g}" in out._repr_html_()


def test_fraction_below_frame_with_parameter_draws_has_the_interval(drawn):
    out = drawn.fraction_below(SITE, -2.0, [5.0, 10.0])
    df = out.to_frame()
    assert_tidy(df)
    assert np.array_equal(df["fraction_below_param_low"], out["param_low"])
    assert np.array_equal(df["fraction_below_param_high"], out["param_high"])
    assert f"{PARAMETER_INTERVAL[0]:g}th" in df.attrs["units"]["fraction_below_param_low"]


def test_crossing_percentiles_keep_their_dict_and_give_a_frame(cohort):
    q = (10.0, 25.0, 50.0)
    out = cohort.crossing_percentiles(SITE, -2.0, q)
    expected = np.percentile(cohort.crossing_time(SITE, -2.0), q, method="inverted_cdf")
    assert out == dict(zip(q, expected, strict=True))
    df = out.to_frame()
    assert_tidy(df)
    assert list(df.columns) == ["site", "threshold_t_score_sd", "percentile", "crossing_time_years"]
    assert np.array_equal(df["percentile"], q) and np.array_equal(df["crossing_time_years"], expected)


def test_crossing_percentile_interval_frame(drawn):
    out = drawn.crossing_percentile_interval(SITE, -2.0, q=(10, 25))
    df = out.to_frame()
    assert_tidy(df)
    assert np.array_equal(df["crossing_time_years"], out["time"])
    assert np.array_equal(df["crossing_time_param_low_years"], out["param_low"])
    assert np.array_equal(df["crossing_time_param_high_years"], out["param_high"])


def test_t_score_percentiles_frame_has_one_row_per_time_and_percentile(cohort):
    times, q = [0.0, 5.0, 10.0], (10.0, 50.0)
    out = cohort.t_score_percentiles("lowest", times, q, measured=True)
    df = out.to_frame()
    assert_tidy(df)
    assert len(df) == len(times) * len(q) and df["measured"].all() and (df["site"] == "lowest").all()
    for j, t in enumerate(times):
        for i, p in enumerate(q):
            value = df.loc[(df["time_years"] == t) & (df["percentile"] == p), "t_score_sd"]
            assert value.item() == out["t_score"][i, j]


def test_category_shares_frame_is_ordered_and_sums_to_one(cohort):
    out = cohort.category_shares([0.0, 5.0])
    df = out.to_frame()
    assert_tidy(df)
    assert list(df["category"].cat.categories) == list(WHO_CATEGORIES) and df["category"].cat.ordered
    assert np.allclose(df.groupby("time_years")["fraction"].sum(), 1.0)
    wide = df.pivot(index="category", columns="time_years", values="fraction")
    assert np.array_equal(wide.to_numpy(), out["fraction"])


def test_transitions_frame_rebuilds_the_matrices(cohort):
    out = cohort.transitions(0.0, 5.0, site=SITE)
    df = out.to_frame()
    assert_tidy(df)
    assert df["count"].dtype == np.int64 and df["row_total"].dtype == np.int64
    assert (df["start_time_years"] == 0.0).all() and (df["stop_time_years"] == 5.0).all()
    count = df.pivot(index="from_category", columns="to_category", values="count")
    assert np.array_equal(count.to_numpy(), out["count"])
    share = df.pivot(index="from_category", columns="to_category", values="fraction_of_row")
    assert np.array_equal(share.to_numpy(), out["fraction_of_row"], equal_nan=True)
    assert df["count"].sum() == N


def test_result_dicts_pickle_and_serialise_as_before(cohort):
    out = cohort.fraction_below(SITE, -2.5, [1.0, 2.0])
    back = pickle.loads(pickle.dumps(out))
    assert type(back) is type(out) and back.site == SITE
    pd.testing.assert_frame_equal(back.to_frame(), out.to_frame())
    assert repr(out).startswith("{'time': array(")
    pct = cohort.crossing_percentiles(SITE, -2.5, (50.0,))
    assert json.loads(json.dumps(pct)) == {"50.0": pct[50.0]}


def test_compare_regimens_frame_is_tidy_and_equals_the_columns(ai):
    regimens = {"AI": ai, "nothing": bmdsim.Regimen([])}
    table = bmdsim.compare_regimens(regimens, N, YEARS, SEED, site=SITE, at_years=(5, 10), params="consensus")
    assert isinstance(table, dict) and table["regimen"] == ["AI", "nothing"]
    df = table.to_frame()
    assert_tidy(df)
    assert not any("-" in c for c in df.columns)
    assert len(df) == 2 * 2 * 2  # regimens x thresholds x times
    for r, name in enumerate(regimens):
        for thr in (-2.0, -2.5):
            for t in (5.0, 10.0):
                row = df[(df["regimen"] == name) & (df["threshold_t_score_sd"] == thr) & (df["time_years"] == t)]
                assert row["fraction_below"].item() == table[f"fraction_{thr:g}_by_{t:g}y"][r]
                assert row["median_crossing_time_years"].item() == table[f"median_years_to_{thr:g}"][r]
    assert "fraction_below" in table._repr_html_()


def test_compare_regimens_frame_with_parameter_draws(ai):
    table = bmdsim.compare_regimens({"AI": ai}, N, YEARS, SEED, at_years=(5,), params="consensus", parameter_draws=2)
    df = table.to_frame()
    assert_tidy(df)
    row = df[df["threshold_t_score_sd"] == -2.5]
    assert row["fraction_below_param_low"].item() == table["fraction_-2.5_by_5y_param_low"][0]
    assert row["median_crossing_time_param_high_years"].item() == table["median_years_to_-2.5_param_high"][0]


# -- policies ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def policies():
    return [
        bmdsim.Policy("yearly"),
        bmdsim.Policy("everyone", rule="treat_all", scan_interval=None),
        bmdsim.Policy("nobody", rule="none", scan_interval=None),
    ]


def test_policy_result_to_frame_equals_its_arrays(ai, policies):
    result = bmdsim.simulate_policy(policies[0], default_population(), ai, YEARS, n=500, seed=SEED)
    df = result.to_frame()
    assert_tidy(df)
    assert len(df) == result.n and (df["policy"] == "yearly").all()
    assert df["trigger_scan"].dtype == np.int64 and df["false_positive"].dtype == bool
    assert np.array_equal(df["therapy_start_years"], result.start)
    assert np.array_equal(df["crossing_time_years"], result.crossing, equal_nan=True)
    assert np.array_equal(df["detection_delay_years"], result.detection_delay, equal_nan=True)
    assert np.array_equal(df["years_below"], result.years_below)
    assert np.array_equal(df["treated"], result.treated)
    summary = result.summary()
    html = result._repr_html_()
    assert f"{summary['fraction_treated']:.{tables.HTML_DIGITS}g}" in html and "fraction_treated" in html


def test_compare_policies_frame_names_times_with_their_unit(ai, policies):
    table = bmdsim.compare_policies(policies, default_population(), ai, YEARS, n=500, seed=SEED)
    assert isinstance(table, dict) and table["policy"] == ["yearly", "everyone", "nobody"]
    df = table.to_frame()
    assert_tidy(df)
    assert "scan_interval_years" in df and "delay_p50_years" in df and "scan_interval" not in df
    assert df["scan_interval_years"].iloc[0] == 1.0 and df["scan_interval_years"].iloc[1:].isna().all()
    assert np.array_equal(df["fraction_treated"], table["fraction_treated"])
    assert np.array_equal(df["delay_mean_years"], table["delay_mean"], equal_nan=True)
    assert df["scans_total"].tolist() == table["scans_total"]


# -- fracture risk -------------------------------------------------------------------------------------------------
def test_relative_risk_frame_equals_relative_risk(group):
    df = relative_risk_frame(group, "lumbar_spine", "vertebral", bound="high")
    assert_tidy(df)
    rr = relative_risk(group, "lumbar_spine", "vertebral", bound="high")
    assert np.array_equal(df["relative_risk"], rr.reshape(-1))
    assert np.array_equal(df["time_years"], np.tile(group.time, group.patient.n))
    assert df.attrs["inputs"]["bound"] == "high"


def test_relative_risk_frame_refuses_bad_arguments_naming_them(group):
    with pytest.raises(ValueError, match="outcome"):
        relative_risk_frame(group, SITE, "wrist")
    with pytest.raises(TypeError, match="ai_multiplier"):
        relative_risk_frame(group, SITE, ai_multiplier="yes")


def test_cohort_relative_risk_frame_is_long_and_equals_the_arrays(cohort):
    times, q = [0.0, 5.0, 10.0], (50.0, 90.0)
    out = cohort_relative_risk(cohort, SITE, times, "hip", q=q)
    df = out.to_frame()
    assert_tidy(df)
    assert len(df) == len(times) * (2 + len(q))

    def rows(statistic, percentile=None):
        pick = df["statistic"] == statistic
        if percentile is not None:
            pick &= df["percentile"] == percentile
        return df[pick]

    assert np.array_equal(rows("relative_risk_mean")["value"], out["mean"])
    assert np.array_equal(rows("relative_risk_mean")["value_gradient_low"], out["mean_ci"][0])
    assert np.array_equal(rows("relative_incidence")["value"], out["relative_incidence"])
    assert np.array_equal(rows("relative_incidence")["value_gradient_high"], out["relative_incidence_ci"][1])
    assert np.array_equal(rows("relative_risk_percentile", 90.0)["value"], out["percentiles"][1])
    assert rows("relative_risk_percentile")["value_gradient_low"].isna().all()
    assert df.attrs["inputs"]["gradient"] == out["gradient"]


def test_compare_fracture_risk_frame_equals_the_columns(ai):
    table = compare_fracture_risk({"AI": ai}, N, YEARS, SEED, at_years=(5.0, 10.0), params="consensus")
    df = table.to_frame()
    assert_tidy(df)
    assert list(df["time_years"]) == [5.0, 10.0]
    assert list(df["relative_incidence"]) == [table["relative_incidence_5y"][0], table["relative_incidence_10y"][0]]
    assert df["median_relative_risk"].iloc[1] == table["median_rr_10y"][0]
    assert df["relative_incidence_gradient_low"].iloc[0] == table["relative_incidence_5y_gradient_low"][0]


# -- validation, calibration, parameters ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report():
    return validation_report(("consensus", "trials"))


def test_validation_report_to_frame_equals_its_arrays(report):
    df = report.to_frame()
    assert_tidy(df)
    assert len(df) == len(report.keys) * len(report.sets)
    for s in report.sets:
        rows = df[df["parameter_set"] == s]
        assert list(rows["observation"]) == list(report.keys)
        assert np.array_equal(rows["model_pct"], report.predicted[s])
        assert np.array_equal(rows["error_pct_points"], report.error(s))
        assert np.array_equal(rows["fitted"], report.fitted[s])
    assert np.array_equal(df["published_pct"].iloc[: len(report.keys)], report.observed)


def test_validation_mae_frame_equals_mae_and_bias(report):
    df = report.mae_frame()
    assert_tidy(df)
    for row in df.itertuples():
        assert row.mae_pct_points == report.mae(row.parameter_set, row.rows)
        assert row.bias_pct_points == report.bias(row.parameter_set, row.rows)
    html = report._repr_html_()
    assert f"{report.mae('trials'):.{tables.HTML_DIGITS}g}" in html


def test_transition_report_to_frame():
    tr = TransitionReport(
        ids=("a", "b"),
        descriptions=("first", "second"),
        citations=("c1", "c2"),
        published=np.array([10.0, 20.0]),
        predicted={"consensus": np.array([12.5, np.nan]), "trials": np.array([9.0, 21.0])},
    )
    df = tr.to_frame()
    assert_tidy(df)
    assert list(df["parameter_set"]) == ["consensus", "consensus", "trials", "trials"]
    assert np.array_equal(df["error_pct_points"], [2.5, np.nan, -1.0, 1.0], equal_nan=True)
    assert "12.5" in tr._repr_html_()


def test_therapy_check_frames():
    check = therapy_checks(("consensus",))
    df = check.to_frame()
    assert_tidy(df)
    assert np.array_equal(df["model_pct_points"], check.predicted["consensus"])
    assert np.array_equal(df["published_pct_points"], check.published)
    shares = check.suppression_frame()
    assert_tidy(shares)
    published = check.suppression(check.published)
    assert shares.loc[shares["source"] == "published", "share_removed"].tolist() == list(published.values())
    assert "Share of the excess removed" in check._repr_html_()


def test_residuals_frame_equals_the_residuals():
    residuals = brex_residuals(bmdsim.load_parameters("consensus"), "contrast")
    df = residuals_frame({"consensus": residuals})
    assert_tidy(df)
    assert list(df["target"]) == [r.target for r in residuals]
    assert np.array_equal(df["error_pct_points"], [r.error for r in residuals])
    alone = residuals_frame(residuals)
    assert (alone["parameter_set"] == "").all()


@pytest.mark.parametrize("bad", [42, "text", {"consensus": [1.0]}, {"consensus": 5}])
def test_residuals_frame_refuses_what_is_not_residuals(bad):
    with pytest.raises(TypeError, match="residuals"):
        residuals_frame(bad)


def test_residual_with_a_bad_item_is_named():
    with pytest.raises(TypeError, match=r"residuals\['x'\]\[1\]"):
        residuals_frame({"x": [Residual("t", 1.0, 2.0), "oops"]})


def test_parameter_set_to_frame_equals_its_values():
    params = bmdsim.load_parameters("trials")
    df = params.to_frame()
    assert_tidy(df)
    assert list(df["parameter"]) == sorted(params.values)
    for row in df.itertuples():
        value = params.values[row.parameter]
        if isinstance(value, tuple):
            assert row.value_list == value and np.isnan(row.value)
        elif value is None:
            assert np.isnan(row.value) and row.value_list is None
        else:
            assert row.value == value and row.value_list is None
        assert row.unit == params.metadata[row.parameter].get("unit", "")
    shared = df[df["parameter"] == "aromatase_inhibitor.recovery_time_constant_years"]
    assert shared["site"].isna().item() and shared["component"].item() == "aromatase_inhibitor"
    assert "recovery_time_constant_years" in params._repr_html_()
