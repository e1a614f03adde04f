"""The interactive explorer (bmdsim.explorer, notebooks/00_explorer.ipynb): pure function, wiring, checks."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import bmdsim
from bmdsim import explorer
from bmdsim.explorer import FIRST_STATE, explore, explorer_widgets

ROOT = Path(__file__).resolve().parents[1]


def _direct(**changes):
    """The explorer's scenario simulated directly with the public API, without bmdsim.explorer."""
    state = FIRST_STATE | changes
    exposures = [bmdsim.Exposure("aromatase_inhibitor", start=state["ai_start"], stop=state["ai_stop"])]
    if state["therapy"] is not None:
        exposures.append(bmdsim.Exposure(state["therapy"], start=state["therapy_start"], stop=state["therapy_stop"]))
    patient = bmdsim.Patient(age=state["age"], t_score=state["t_scores"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        return bmdsim.simulate(patient, bmdsim.Regimen(exposures), years=state["years"], params=state["params"])


def _assert_table_is_crossing_time(table, traj, thresholds=bmdsim.DEFAULT_THRESHOLDS):
    assert list(table.columns) == ["site", "threshold_t_score_sd", "crossing_time_years"]
    expected = [(s, float(t)) for s in traj.sites for t in thresholds]
    assert list(zip(table["site"], table["threshold_t_score_sd"], strict=True)) == expected
    for site, thr, years in table.itertuples(index=False):
        assert years == traj.crossing_time(site, thr)  # exactly the library's number, not read off a grid


# --- import cost ---------------------------------------------------------------------------------------------------


def test_import_does_not_import_matplotlib_pandas_or_ipywidgets():
    code = (
        "import sys, bmdsim, bmdsim.explorer;"
        " loaded = [m for m in ('matplotlib', 'pandas', 'ipywidgets') if m in sys.modules];"
        " assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


# --- the pure function ---------------------------------------------------------------------------------------------


def test_first_state_table_equals_crossing_time():
    result = explore()
    traj = result.trajectory
    assert traj.sites == bmdsim.SITES and traj.years == 15.0 and traj.params.name == "trials"
    _assert_table_is_crossing_time(result.table, traj)
    assert result.table["threshold_t_score_sd"].dtype == float and result.table["crossing_time_years"].dtype == float
    assert set(result.table.attrs["units"]) == set(result.table.columns)
    assert result.notes == ()


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"therapy": None},
        {"therapy": "oral_bisphosphonate", "therapy_start": 1.0, "therapy_stop": 3.0},
        {"therapy": "denosumab", "therapy_stop": 2.5, "params": "consensus"},
        {"age": 75, "t_scores": {"femoral_neck": -2.3, "total_hip": -0.4}, "ai_start": 2, "ai_stop": 7, "years": 20},
        {"t_scores": {"lumbar_spine": -3.0}, "params": "brex", "years": 5},
    ],
)
def test_table_equals_a_direct_simulation(changes):
    """The explorer simulates exactly the scenario its inputs describe, and tabulates its exact crossing times."""
    result = explore(**changes)
    direct = _direct(**changes)
    _assert_table_is_crossing_time(result.table, direct)
    _assert_table_is_crossing_time(result.table, result.trajectory)
    for site in direct.sites:
        np.testing.assert_array_equal(result.trajectory.t_score(site), direct.t_score(site))


def test_positional_arguments_in_the_documented_order():
    t_scores = {"lumbar_spine": -1.0, "femoral_neck": -1.8, "total_hip": -1.6}
    result = explore(70, t_scores, 0, 5, "zoledronic_acid", 0, 3, "consensus", 12)
    _assert_table_is_crossing_time(result.table, result.trajectory)
    assert result.trajectory.params.name == "consensus" and result.trajectory.years == 12.0
    assert float(result.trajectory.patient.age[0]) == 70.0


def test_table_has_baseline_zero_and_inf_for_never():
    result = explore(t_scores={"femoral_neck": -2.2, "lumbar_spine": 1.0}, therapy=None)
    years = {(s, t): y for s, t, y in result.table.itertuples(index=False)}
    assert years[("femoral_neck", -1.0)] == 0.0 and years[("femoral_neck", -2.0)] == 0.0
    assert 0.0 < years[("femoral_neck", -2.5)] < 15.0
    assert years[("lumbar_spine", -2.5)] == math.inf


def test_custom_thresholds():
    result = explore(thresholds=[-1.5, -2.2])
    _assert_table_is_crossing_time(result.table, result.trajectory, thresholds=(-1.5, -2.2))


def test_figure_is_drawn_and_not_left_open_in_pyplot():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    before = plt.get_fignums()
    result = explore()
    assert isinstance(result.figure, Figure)
    trajectory_ax, strip = result.figure.axes
    assert "zoledronic acid 0-3 y" in trajectory_ax.get_title() and "trials" in trajectory_ax.get_title()
    assert {line.get_gid() for line in trajectory_ax.lines} >= {f"trajectory:{s}" for s in bmdsim.SITES}
    assert [t.get_text() for t in strip.get_yticklabels()] == ["Aromatase inhibitor", "Zoledronic acid"]
    assert plt.get_fignums() == before  # nothing to close: the explorer's figures are not pyplot's


def test_extrapolation_is_warned_and_returned_as_a_note():
    with pytest.warns(bmdsim.ExtrapolationWarning, match="oral_bisphosphonate"):
        result = explore(therapy="oral_bisphosphonate", therapy_stop=5.0)
    assert len(result.notes) == 1 and "oral_bisphosphonate is given for 5 years" in result.notes[0]


def test_no_therapy_ignores_the_order_of_therapy_times():
    """A disabled therapy slider may hold start == stop; with no therapy that is not an error."""
    result = explore(therapy=None, therapy_start=2.0, therapy_stop=2.0)
    assert [e.agent for e in result.trajectory.regimen] == ["aromatase_inhibitor"]


# --- bad input -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"age": 30}, ValueError, r"age must lie in \[40, 90\] years"),
        ({"age": 95.0}, ValueError, "age"),
        ({"age": True}, TypeError, "age"),
        ({"age": "63"}, TypeError, "age"),
        ({"age": math.nan}, ValueError, "age"),
        ({"t_scores": [-1.0, -1.5]}, TypeError, "t_scores must be a mapping"),
        ({"t_scores": {}}, ValueError, "t_scores must give"),
        ({"t_scores": {"hip": -1.0}}, ValueError, "t_scores site"),
        ({"t_scores": {"femoral_neck": -4.5}}, ValueError, r"t_scores\['femoral_neck'\] must lie in \[-4, 2\] SD"),
        ({"t_scores": {"femoral_neck": "-1.5"}}, TypeError, r"t_scores\['femoral_neck'\]"),
        ({"t_scores": {"total_hip": math.inf}}, ValueError, r"t_scores\['total_hip'\]"),
        ({"ai_start": 3.0, "ai_stop": 2.0}, ValueError, r"ai_stop \(2 years\) must come after ai_start \(3 years\)"),
        ({"ai_start": 2.0, "ai_stop": 2.0}, ValueError, "ai_stop"),
        ({"ai_start": -1.0}, ValueError, r"ai_start must lie in \[0, 30\] years"),
        ({"ai_stop": 31.0}, ValueError, "ai_stop"),
        ({"ai_stop": None}, TypeError, "ai_stop"),
        ({"therapy": "vibration"}, ValueError, "unknown therapy 'vibration'.*None for the AI alone"),
        ({"therapy": "none"}, ValueError, "therapy"),
        ({"therapy": 1}, TypeError, "therapy"),
        ({"therapy_start": 3.0, "therapy_stop": 1.0}, ValueError, "therapy_stop .* must come after therapy_start"),
        ({"therapy": None, "therapy_start": -2.0}, ValueError, "therapy_start"),
        ({"params": "textbook"}, ValueError, "unknown params 'textbook'"),
        ({"params": None}, TypeError, "params"),
        ({"years": 0.5}, ValueError, r"years must lie in \[1, 30\] years"),
        ({"years": 45}, ValueError, "years"),
        ({"years": np.array([10.0])}, TypeError, "years"),
        ({"thresholds": []}, ValueError, "thresholds"),
    ],
)
def test_bad_input_names_the_field(changes, error, match):
    with pytest.raises(error, match=match):
        explore(**changes)


def test_crossing_frame_needs_one_scalar_patient():
    many = bmdsim.Patient(age=np.array([60.0, 70.0]), t_score={"femoral_neck": np.array([-1.0, -2.0])})
    with pytest.raises(ValueError, match="one patient"):
        explorer.crossing_frame(bmdsim.simulate(many, years=5))
    with pytest.raises(TypeError, match="traj must be a bmdsim.Trajectory"):
        explorer.crossing_frame("trajectory")


def test_table_html_shows_baseline_and_not_reached():
    text = explorer.table_html(explore(t_scores={"femoral_neck": -2.2, "lumbar_spine": 1.0}, therapy=None).table)
    assert "0.00 (at baseline)" in text and "not reached" in text and "Femoral neck" in text


# --- the widgets ---------------------------------------------------------------------------------------------------


@pytest.fixture
def ui():
    pytest.importorskip("ipywidgets")
    return explorer_widgets()


def _years(table, site, threshold):
    row = table[(table["site"] == site) & (table["threshold_t_score_sd"] == threshold)]
    assert len(row) == 1
    return float(row["crossing_time_years"].iloc[0])


def test_first_state_is_explore_defaults(ui):
    assert ui.values() == FIRST_STATE
    first = explore()
    assert ui.result.table.equals(first.table)
    _assert_table_is_crossing_time(ui.result.table, ui.result.trajectory)
    assert bytes(ui.figure_view.value).startswith(b"\x89PNG") and ui.figure_view.layout.display is None
    assert "Femoral neck" in ui.table_view.value and ui.message.value == ""
    assert set(ui.controls) == {
        "age",
        *bmdsim.SITES,
        "ai_years",
        "therapy",
        "therapy_years",
        "params",
        "years",
    }


def test_setting_a_slider_updates_table_plot_and_html(ui):
    first_html, first_png = ui.table_view.value, ui.figure_view.value
    assert _years(ui.result.table, "femoral_neck", -2.5) == math.inf
    ui.controls["femoral_neck"].value = -2.3
    expected = explore(t_scores=FIRST_STATE["t_scores"] | {"femoral_neck": -2.3})
    assert ui.result.table.equals(expected.table)
    assert 0.0 < _years(ui.result.table, "femoral_neck", -2.5) < 15.0
    _assert_table_is_crossing_time(ui.result.table, ui.result.trajectory)
    assert ui.table_view.value != first_html and ui.figure_view.value != first_png


def test_range_slider_and_dropdowns_update_the_result(ui):
    ui.controls["ai_years"].value = (1.0, 8.0)
    ui.controls["params"].value = "consensus"
    ui.controls["years"].value = 20.0
    ui.controls["age"].value = 71.0
    traj = ui.result.trajectory
    assert traj.params.name == "consensus" and traj.years == 20.0 and float(traj.patient.age[0]) == 71.0
    ai = [e for e in traj.regimen if e.agent == "aromatase_inhibitor"]
    assert [(e.start, e.stop) for e in ai] == [(1.0, 8.0)]
    assert ui.result.table.equals(explore(ai_start=1, ai_stop=8, params="consensus", years=20, age=71).table)


def test_choosing_no_therapy_drops_it_and_disables_its_slider(ui):
    ui.controls["therapy"].value = explorer.NO_THERAPY
    assert ui.controls["therapy_years"].disabled
    assert [e.agent for e in ui.result.trajectory.regimen] == ["aromatase_inhibitor"]
    assert ui.result.table.equals(explore(therapy=None).table)
    ui.controls["therapy"].value = "denosumab"
    assert not ui.controls["therapy_years"].disabled
    assert {e.agent for e in ui.result.trajectory.regimen} == {"aromatase_inhibitor", "denosumab"}


def test_the_callback_called_directly_reads_the_controls(ui):
    ui.controls["total_hip"].unobserve(ui.update, names="value")
    ui.controls["total_hip"].value = -2.6  # not yet seen: the callback is not wired to this slider any more
    assert _years(ui.result.table, "total_hip", -2.5) == math.inf
    result = ui.update()
    assert result is ui.result and _years(result.table, "total_hip", -2.5) == 0.0


def test_bad_widget_state_is_shown_not_raised_and_recovers(ui):
    ui.controls["therapy_years"].value = (2.0, 2.0)
    assert ui.result is None and ui.table_view.value == "" and ui.figure_view.layout.display == "none"
    assert "therapy_stop (2 years) must come after therapy_start (2 years)" in ui.message.value
    ui.controls["therapy_years"].value = (2.0, 4.0)
    assert ui.result is not None and ui.figure_view.layout.display is None and ui.message.value == ""
    assert ui.result.table.equals(explore(therapy_start=2, therapy_stop=4).table)


def test_extrapolation_note_is_shown_without_a_warning(ui):
    ui.controls["therapy"].value = "oral_bisphosphonate"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the explorer shows the note; nothing reaches stderr
        ui.controls["therapy_years"].value = (0.0, 5.0)
    assert "Note:" in ui.message.value and "calibrating trials" in ui.message.value
    with pytest.warns(bmdsim.ExtrapolationWarning):
        expected = explore(therapy="oral_bisphosphonate", therapy_stop=5)
    assert ui.result.notes == expected.notes and ui.result.table.equals(expected.table)


def test_displaying_the_explorer_shows_its_widget(ui):
    bundle = ui._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ui.widget.model_id


def test_first_state_can_be_chosen_and_is_checked_not_clipped():
    pytest.importorskip("ipywidgets")
    custom = explorer_widgets(age=72, therapy=None, params="brex")
    assert custom.values()["age"] == 72.0 and custom.values()["therapy"] is None
    assert custom.controls["therapy"].value == explorer.NO_THERAPY and custom.controls["therapy_years"].disabled
    assert custom.result.table.equals(explore(age=72, therapy=None, params="brex").table)
    with pytest.raises(ValueError, match="age must lie in"):
        explorer_widgets(age=120)  # a slider would silently clip it to 90
    with pytest.raises(TypeError, match="unknown field 'sex'"):
        explorer_widgets(sex="F")
    with pytest.raises(ValueError, match="missing 'total_hip'"):
        explorer_widgets(t_scores={"lumbar_spine": -1.0, "femoral_neck": -1.0})
    with pytest.raises(ValueError, match="thresholds"):
        explorer_widgets(thresholds=[-1.0, -1.0])
