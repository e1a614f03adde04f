"""Tampered data files: every problem is a ValueError naming the file, the key and what is allowed.

Each test copies the shipped ``data/`` folder, damages one value of the copy
and points bmdsim at it (``bmdsim._data.data_dir`` is monkeypatched); the
shipped files are never touched.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import bmdsim
from bmdsim import _data, measurement, parameters, policy, spread
from bmdsim.cohort import default_population

AI = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
AI_LATE = "aromatase_inhibitor.lumbar_spine.late_excess_pct_per_year"
SHIPPED = _data.data_dir()


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the data folder that bmdsim reads instead of the shipped one."""
    copy = tmp_path / "data"
    shutil.copytree(SHIPPED, copy)
    monkeypatch.setattr(_data, "data_dir", lambda: copy)
    return copy


def edit(folder: Path, relative: str, change: Callable[[Any], None]) -> None:
    """Apply ``change`` to the parsed JSON file and write it back."""
    path = folder / relative
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")


def write_text(folder: Path, relative: str, text: str) -> None:
    (folder / relative).write_text(text, encoding="utf-8")


def test_the_copy_is_read_and_the_shipped_files_are_untouched(data):
    edit(data, "parameters/consensus.json", lambda d: d["parameters"][AI_LATE].update(value=2.0))
    assert bmdsim.load_parameters("consensus")[AI_LATE] == 2.0
    assert json.loads((SHIPPED / "parameters/consensus.json").read_text())["parameters"][AI_LATE]["value"] == 1.0


# -- any file: not JSON, too large, NaN -----------------------------------------------------------------------------


def test_truncated_json_names_the_file_line_and_column(data):
    path = data / "parameters/consensus.json"
    path.write_text(path.read_text()[:5000])
    with pytest.raises(ValueError, match=r"data/parameters/consensus.json: is not valid JSON: .* line \d+, column \d+"):
        bmdsim.load_parameters("consensus")


def test_empty_and_binary_files_name_the_file(data):
    write_text(data, "guidelines.json", "")
    with pytest.raises(ValueError, match=r"data/guidelines.json: is not valid JSON: .* line 1, column 1"):
        policy.hadji_2017()
    (data / "guidelines.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(ValueError, match=r"data/guidelines.json: is not UTF-8 text"):
        policy.hadji_2017()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_refused(data, literal):
    path = data / "guidelines.json"
    path.write_text(path.read_text().replace('"no_risk_factor": -2.0', f'"no_risk_factor": {literal}'))
    with pytest.raises(ValueError, match=rf"data/guidelines.json: .*{literal} is not a number"):
        policy.hadji_2017()


def test_an_oversized_file_is_refused_before_it_is_read(data, monkeypatch):
    monkeypatch.setattr(_data, "MAX_DATA_FILE_BYTES", 1000)
    with pytest.raises(ValueError, match=r"data/guidelines.json: is .* MiB, more than the"):
        policy.hadji_2017()


def test_deep_nesting_is_a_clear_error(data):
    write_text(data, "guidelines.json", "[" * 200_000 + "]" * 200_000)
    with pytest.raises(ValueError, match=r"data/guidelines.json: (nests|is not valid)"):
        policy.hadji_2017()


def test_a_huge_integer_is_a_clear_error(data):
    write_text(data, "dxa_precision.json", '{"default_cv_percent": ' + "9" * 6000 + "}")
    with pytest.raises(ValueError, match=r"data/dxa_precision.json: is not valid data"):
        measurement.dxa_precision()


# -- guidelines.json -------------------------------------------------------------------------------------------------

THRESHOLD = ("hadji_2017", "threshold_t_score")


def _set(path: tuple, value: Any) -> Callable[[Any], None]:
    def change(doc: Any) -> None:
        for key in path[:-1]:
            doc = doc[key]
        doc[path[-1]] = value

    return change


def _delete(path: tuple) -> Callable[[Any], None]:
    def change(doc: Any) -> None:
        for key in path[:-1]:
            doc = doc[key]
        del doc[path[-1]]

    return change


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            _set((*THRESHOLD, "no_risk_factor"), "nan"),
            r"threshold_t_score.no_risk_factor must be a number SD, got 'nan'",
        ),
        (_set((*THRESHOLD, "no_risk_factor"), None), r"threshold_t_score.no_risk_factor must be a number SD, got None"),
        (_set((*THRESHOLD, "no_risk_factor"), True), r"threshold_t_score.no_risk_factor must be a number SD, got True"),
        (
            _set((*THRESHOLD, "one_risk_factor"), -25.0),
            r"one_risk_factor must be a finite number in \[-6, 4\] SD, got -25",
        ),
        (_set((*THRESHOLD, "one_risk_factor"), -2.5), r"one_risk_factor \(-2.5\) must not be below no_risk_factor"),
        (_delete((*THRESHOLD, "one_risk_factor")), r"missing key 'hadji_2017.threshold_t_score.one_risk_factor'"),
        (_set((*THRESHOLD, "two_risk_factors"), -1.0), r"threshold_t_score has unknown key\(s\) 'two_risk_factors'"),
        (_set((*THRESHOLD, "comparison"), "below-ish"), r"comparison must be one of strictly_below, at_or_below"),
        (_set(("hadji_2017", "threshold_t_score"), [-2.0, -1.5]), r"hadji_2017.threshold_t_score must be an object"),
        (_set(("hadji_2017", "treat_all_from_risk_factors", "count"), 2.5), r"count must be an integer in \[1, 2\]"),
        (_set(("hadji_2017", "treat_all_from_risk_factors", "count"), True), r"count must be an integer .* got True"),
        (_set(("hadji_2017", "treat_all_from_risk_factors", "count"), 3), r"count must be an integer in \[1, 2\]"),
        (_set(("hadji_2017", "monitoring_interval_years", "low"), 0.0), r"monitoring_interval_years must have 0 < low"),
        (_set(("hadji_2017", "monitoring_interval_years", "high"), 1e9), r"high must be a finite number in \[0, 60\]"),
        (_set(("hadji_2017", "risk_factors", "age_years_above"), -65), r"age_years_above must be a finite number in"),
        (_delete(("hadji_2017", "risk_factors", "names", "age_over_65")), r"names must include 'age_over_65'"),
        (
            _set(("hadji_2017", "risk_factors", "names"), ["smoking"]),
            r"risk_factors.names must be an object, got \['smoking'\]",
        ),
        (_set(("hadji_2018",), {}), r"the top level has unknown key\(s\) 'hadji_2018'"),
        (_delete(("hadji_2017",)), r"missing key 'hadji_2017'"),
    ],
)
def test_tampered_guidelines_are_refused_naming_file_and_key(data, change, match):
    edit(data, "guidelines.json", change)
    with pytest.raises(ValueError, match=r"^data/guidelines.json: .*" + match):
        policy.hadji_2017()
    patients = bmdsim.Patient(age=np.array([60.0, 70.0]), t_score={"femoral_neck": np.array([-1.0, -2.2])})
    with pytest.raises(ValueError, match="data/guidelines.json"):
        bmdsim.simulate_policy(bmdsim.Policy("p"), patients, AI, 5, measurement_error=None)


def test_a_threshold_beyond_the_float_range_is_not_finite(data):
    path = data / "guidelines.json"
    path.write_text(path.read_text().replace('"no_risk_factor": -2.0', '"no_risk_factor": -1e999'))
    with pytest.raises(ValueError, match=r"no_risk_factor must be a finite number in \[-6, 4\] SD, got -inf"):
        policy.hadji_2017()


def test_nan_threshold_no_longer_means_nobody_is_treated(data):
    """The measured failure: a NaN threshold used to be accepted and nobody was treated; now it is refused."""
    path = data / "guidelines.json"
    path.write_text(path.read_text().replace('"one_risk_factor": -1.5', '"one_risk_factor": NaN'))
    patients = bmdsim.Patient(age=np.array([60.0, 70.0]), t_score={"femoral_neck": np.array([-1.0, -2.2])})
    with pytest.raises(ValueError, match="data/guidelines.json"):
        bmdsim.simulate_policy(bmdsim.Policy("p"), patients, AI, 5, measurement_error=None)


# -- parameter sets and their draws ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d["parameters"][AI_LATE].pop("value"), rf"parameters\['{AI_LATE}'\] has no 'value' \(it has: unit"),
        (lambda d: d["parameters"][AI_LATE].update(value="1.0"), rf"parameter {AI_LATE} must be a number .*'1.0'"),
        (lambda d: d["parameters"][AI_LATE].update(value=None), rf"parameter {AI_LATE} must be given"),
        (lambda d: d["parameters"][AI_LATE].update(value=-3), rf"{AI_LATE} must lie in \[0, 20\] %/yr, got -3"),
        (lambda d: d["parameters"][AI_LATE].update(value=[1.0]), rf"{AI_LATE} must be a number"),
        (lambda d: d["parameters"].update({AI_LATE: 1.0}), rf"parameters\['{AI_LATE}'\] must be an object"),
        (
            lambda d: d["parameters"]["natural.femoral_neck.rates_pct_per_year"].update(value=["1.5"]),
            r"natural.femoral_neck.rates_pct_per_year must be a number",
        ),
        (
            lambda d: d["parameters"]["natural.femoral_neck.rates_pct_per_year"].update(value=[1.5] * 1000),
            r"rates_pct_per_year must hold at most 100 numbers",
        ),
        (lambda d: d["parameters"].pop(AI_LATE), rf"lacks parameters: {AI_LATE}"),
        (lambda d: d["parameters"].update({"made.up": {"value": 1}}), r"unknown parameters: made.up"),
        (lambda d: d.pop("parameters"), r"missing key 'parameters'"),
        (lambda d: d.update(parameters=[]), r"parameters must be an object, got \[\]"),
        (lambda d: d.update(title=7), r"title must be a string, got 7"),
    ],
)
def test_tampered_parameter_sets_are_refused_naming_file_and_key(data, change, match):
    edit(data, "parameters/consensus.json", change)
    with pytest.raises(ValueError, match=r"^data/parameters/consensus.json: .*" + match):
        bmdsim.load_parameters("consensus")
    patient = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5})
    with pytest.raises(ValueError, match=r"data/parameters/consensus.json"):
        bmdsim.simulate(patient, AI, years=5, params="consensus")


def test_a_missing_value_is_no_longer_a_bare_key_error(data):
    edit(data, "parameters/trials.json", lambda d: d["parameters"][AI_LATE].pop("value"))
    with pytest.raises(ValueError, match=r"data/parameters/trials.json: parameters\[.*\] has no 'value'"):
        bmdsim.simulate_cohort(10, AI, 5, seed=1)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.update(count=101), r"parameters\['.*'\] must hold count = 101 draws, got 100"),
        (lambda d: d.update(count="100"), r"count must be an integer in \[1, 10000\], got '100'"),
        (lambda d: d.update(count=0), r"count must be an integer in \[1, 10000\], got 0"),
        (lambda d: d.update(first=-1), r"first must be an integer in \[0, 10000\], got -1"),
        (lambda d: d["parameters"].update({"made.up": [1.0] * 100}), r"names unknown parameters: made.up"),
        (lambda d: next(iter(d["parameters"].values())).__setitem__(3, -50.0), r"draw 3: parameter .* must lie in"),
        (lambda d: next(iter(d["parameters"].values())).__setitem__(5, "x"), r"draw 5: parameter .* must be a"),
        (lambda d: d.pop("parameters"), r"missing key 'parameters'"),
    ],
)
def test_tampered_draws_are_refused_naming_file_and_key(data, change, match):
    edit(data, "parameter_draws/consensus.json", change)
    with pytest.raises(ValueError, match=r"^data/parameter_draws/consensus.json: .*" + match):
        bmdsim.parameter_draws("consensus", count=5)


# -- DXA precision, between-patient spread, default population -------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            _set(("default_cv_percent", "femoral_neck"), -1.97),
            r"default_cv_percent.femoral_neck must be a finite number",
        ),
        (_set(("default_cv_percent", "femoral_neck"), "1.97"), r"default_cv_percent.femoral_neck must be a number"),
        (_delete(("default_cv_percent", "total_hip")), r"default_cv_percent has no value for total_hip"),
        (_set(("default_cv_percent", "wrist"), 1.0), r"default_cv_percent has unknown site\(s\) 'wrist'"),
        (_set(("validated_range", "cv_percent"), [10.0, 0.0]), r"validated_range.cv_percent must have low < high"),
        (_set(("validated_range", "cv_percent"), [0.0]), r"validated_range.cv_percent must hold 2 numbers, got 1"),
    ],
)
def test_tampered_dxa_precision_is_refused(data, change, match):
    edit(data, "dxa_precision.json", change)
    with pytest.raises(ValueError, match=r"^data/dxa_precision.json: .*" + match):
        measurement.dxa_precision()
    with pytest.raises(ValueError, match=r"data/dxa_precision.json"):
        bmdsim.simulate_cohort(10, AI, 5, seed=1)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            _set(("plausible_range", "cv"), [0.0, 1e200]),
            r"plausible_range.cv\[1\] must be a finite number in \[0, 10\]",
        ),
        (_set(("plausible_range", "cv"), [3.0, 0.0]), r"plausible_range.cv must have low < high"),
        (_set(("fitted", "cv", "femoral_neck"), 30.0), r"fitted.cv.femoral_neck must be a finite number in \[0, 3\]"),
        (_set(("fitted", "cv", "femoral_neck"), "1.2"), r"fitted.cv.femoral_neck must be a number"),
        (_delete(("fitted", "cv", "total_hip")), r"missing key 'fitted.cv.total_hip'"),
        (
            _set(("fitted", "correlation_of_log_multipliers", "lumbar_spine|total_hip"), 1.5),
            r"correlation_of_log_multipliers\['lumbar_spine\|total_hip'\] must be a finite number in \[-1, 1\]",
        ),
        (
            _set(("fitted", "correlation_of_log_multipliers", "lumbar_spine|knee"), 0.5),
            r"keys must be two different sites joined by '\|'",
        ),
        (
            _set(("fitted", "correlation_of_log_multipliers", "femoral_neck|total_hip"), -0.9),
            r"correlation_of_log_multipliers: .*not positive semidefinite",
        ),
    ],
)
def test_tampered_spread_is_refused(data, change, match):
    edit(data, "between_patient_spread.json", change)
    with pytest.raises(ValueError, match=r"^data/between_patient_spread.json: .*" + match):
        spread.default_variability()
    with pytest.raises(ValueError, match=r"data/between_patient_spread.json"):
        bmdsim.simulate_cohort(10, AI, 5, seed=1)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda d: d["rows"][0].update(rule="median"),
            r"rows\[0\] \('pouilles_1993_ls'\) has an unknown rule 'median'",
        ),
        (lambda d: d["rows"][0].pop("annual_rate_sd"), r"missing key 'annual_rate_sd'"),
        (lambda d: d["rows"][2].update(share=1.5), r"rows\[2\].share must be a finite number in \[0, 1\]"),
        (lambda d: d["rows"][4].update(range_pct=[5.0, -5.0]), r"rows\[4\].range_pct must have low < high"),
        (lambda d: d["rows"][0].update(site="knee"), r"site must be one of lumbar_spine"),
        (lambda d: d["rows"][0].update(n=0), r"rows\[0\].n must be a finite number in \[1, 1e\+07\]"),
    ],
)
def test_tampered_spread_rows_are_refused(data, change, match):
    edit(data, "between_patient_spread.json", change)
    with pytest.raises(ValueError, match=r"^data/between_patient_spread.json: .*" + match):
        spread.fit_spread()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (_set(("age_years", "mean"), "64"), r"age_years.mean must be a number, got '64'"),
        (_set(("age_years", "low"), 5.0), r"population.age.low must lie in \[18, 100\] years, got 5"),
        (_set(("age_years", "sd"), -1.0), r"population.age.sd must be >= 0"),
        (_delete(("age_years", "high")), r"missing key 'age_years.high'"),
        (_set(("t_score", "wrist"), {"mean": 0, "sd": 1, "low": -3, "high": 3}), r"t_score has the unknown site"),
        (
            lambda d: d["correlation"][0].update(value=2.0),
            r"correlation\[0\].value must be a finite number in \[-1, 1\]",
        ),
        (lambda d: d["correlation"][0].update(sites=["lumbar_spine"]), r"correlation\[0\].sites must be two site"),
        (lambda d: d["correlation"][2].update(value=-0.9), r"not positive semidefinite"),
        (_set(("age_t_score_correlation", "value"), math.pi), r"age_t_score_correlation.value must be a finite number"),
    ],
)
def test_tampered_default_population_is_refused(data, change, match):
    edit(data, "cohort_default_population.json", change)
    with pytest.raises(ValueError, match=r"^data/cohort_default_population.json: .*" + match):
        default_population()


def test_draws_are_read_again_when_their_file_changes(data):
    """The draws cache follows the file: a rewritten file is checked again, not served from memory."""
    assert len(bmdsim.parameter_draws("consensus", count=2)) == 2
    edit(data, "parameter_draws/consensus.json", lambda d: d.update(count=0))
    with pytest.raises(ValueError, match=r"data/parameter_draws/consensus.json: count must be"):
        parameters.parameter_draws("consensus", count=2)
