"""Headless tests of bmdsim.plot: what is drawn (lines, zones, labels, markers), not only that nothing raised."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import bmdsim  # noqa: E402
from bmdsim import plot  # noqa: E402
from bmdsim.summary import fraction_crossed, wilson_interval  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def traj(ai_then_stop):
    p = bmdsim.Patient(age=63, t_score={"lumbar_spine": -1.2, "femoral_neck": -1.5, "total_hip": -1.3})
    return bmdsim.simulate(p, ai_then_stop, years=15, params="consensus")


def _by_gid(ax, prefix):
    artists = list(ax.lines) + list(ax.patches) + list(ax.collections)
    return {a.get_gid(): a for a in artists if (a.get_gid() or "").startswith(prefix)}


def test_trajectory_draws_each_site_zones_and_exact_crossings(traj):
    ax = plot.plot_trajectory(traj)
    lines = _by_gid(ax, "trajectory:")
    assert set(lines) == {f"trajectory:{s}" for s in traj.sites}
    y = lines["trajectory:femoral_neck"].get_ydata()
    assert np.array_equal(y, traj.t_score("femoral_neck"))
    assert set(_by_gid(ax, "zone:")) == {"zone:normal", "zone:osteopenia", "zone:osteoporosis"}
    texts = {t.get_text() for t in ax.texts}
    assert {"normal", "osteopenia", "osteoporosis", "T = -2.5", "Aromatase inhibitor"} <= texts
    markers = _by_gid(ax, "crossing:")
    for site in traj.sites:
        for thr in bmdsim.DEFAULT_THRESHOLDS:
            tc = traj.crossing_time(site, thr)
            key = f"crossing:{site}:{thr:g}"
            if 0 < tc < np.inf:
                assert markers[key].get_xdata()[0] == tc and markers[key].get_ydata()[0] == thr
            else:
                assert key not in markers
    assert ax.get_xlabel() == "Time from baseline [years]" and ax.get_ylabel() == "T-score [SD]"


def test_trajectory_bmd_kind_and_labels_override(traj):
    ax = plot.plot_trajectory(traj, kind="bmd", labels={"time": "Zeit [Jahre]", "femoral_neck": "Schenkelhals"})
    assert ax.get_xlabel() == "Zeit [Jahre]"
    assert "[g/cm" in ax.get_ylabel()
    assert "Schenkelhals" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert not _by_gid(ax, "zone:")


def test_unknown_label_key_is_an_error(traj):
    with pytest.raises(KeyError, match="unknown label key 'tme'"):
        plot.plot_trajectory(traj, labels={"tme": "x"})


def test_crossing_time_plot_marks_exact_times_and_not_reached(traj):
    ax = plot.plot_crossing_times(traj, thresholds=(-1.0, -2.5, -4.0))
    markers = _by_gid(ax, "crossing:")
    for site in traj.sites:
        assert markers[f"crossing:{site}:-1"].get_xdata()[0] == 0.0  # at or below -1 at baseline
        assert markers[f"crossing:{site}:-2.5"].get_xdata()[0] == traj.crossing_time(site, -2.5)
        assert f"crossing:{site}:-4" not in markers
    assert [t.get_text() for t in ax.texts].count("not reached") == len(traj.sites)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Lumbar spine", "Femoral neck", "Total hip"]
    assert "T = -2.5" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_regimen_strip_draws_one_bar_per_course():
    regimen = bmdsim.Regimen([bmdsim.Exposure("tamoxifen", 0, 2.5), bmdsim.Exposure("aromatase_inhibitor", 2.5, None)])
    ax = plot.plot_regimen(regimen, years=10)
    bars = _by_gid(ax, "exposure:")
    assert bars["exposure:tamoxifen:0"].get_x() == 0 and bars["exposure:tamoxifen:0"].get_width() == 2.5
    ai = bars["exposure:aromatase_inhibitor:2.5"]
    assert ai.get_x() == 2.5 and ai.get_width() == pytest.approx(7.5)  # open-ended course cut at the horizon
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Tamoxifen", "Aromatase inhibitor"]
    empty = plot.plot_regimen(bmdsim.Regimen([]), years=10)
    assert "natural loss only" in [t.get_text() for t in empty.texts]


def test_comparison_draws_each_scenario_in_its_own_style(traj):
    natural = bmdsim.simulate(traj.patient, None, years=15, params="consensus")
    ax = plot.plot_comparison({"AI": traj, "natural": natural}, "femoral_neck")
    lines = _by_gid(ax, "series:")
    assert np.array_equal(lines["series:natural"].get_ydata(), natural.t_score("femoral_neck"))
    assert lines["series:AI"].get_color() != lines["series:natural"].get_color()
    assert lines["series:AI"].get_linestyle() != lines["series:natural"].get_linestyle()
    ax = plot.plot_comparison({"AI": traj}, "lumbar_spine", kind="percent_change", since=5)
    line = _by_gid(ax, "series:")["series:AI"]
    assert line.get_xdata()[0] == 5.0 and line.get_ydata()[0] == pytest.approx(0.0, abs=1e-12)
    assert line.get_ydata()[60] == pytest.approx(traj.percent_change("lumbar_spine", 5, 10))
    assert ax.get_ylabel() == "BMD change since year 5 [%]"
    with pytest.raises(ValueError, match="kind"):
        plot.plot_comparison({"AI": traj}, "lumbar_spine", kind="z")


def test_fraction_crossed_plot_draws_the_summary_numbers(ai_then_stop):
    rng = np.random.default_rng(0)
    group = bmdsim.Patient(age=np.full(40, 63.0), t_score={"femoral_neck": rng.normal(-1.5, 0.5, 40)})
    traj = bmdsim.simulate(group, ai_then_stop, years=15, params="consensus")
    ax = plot.plot_fraction_crossed(traj, "femoral_neck", thresholds=(-2.0, -2.5))
    lines = _by_gid(ax, "fraction:")
    expected = 100 * fraction_crossed(traj, "femoral_neck", -2.5)
    assert np.array_equal(lines["fraction:femoral_neck:-2.5"].get_ydata(), expected)
    assert len(ax.collections) >= 2  # one band per threshold
    lo, hi = wilson_interval(expected / 100, 40)
    band = ax.collections[1].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(100 * lo.min()) and band.max() == pytest.approx(100 * hi.max())
    assert ax.get_ylim() == (0.0, 100.0)


def test_footnote_is_drawn_under_the_axes_and_reserves_room(traj):
    fig, ax = plt.subplots(layout="constrained")
    plot.plot_trajectory(traj, ax=ax)
    note = plot.add_footnote(fig, "Sources: " + "x " * 200)
    assert note.get_gid() == "footnote" and note.get_text().count("\n") >= 2
    fig.canvas.draw()
    assert ax.get_position().y0 > note.get_window_extent().transformed(fig.transFigure.inverted()).y1 - 0.01


def test_house_style_sets_and_restores_fonts():
    before = matplotlib.rcParams["font.size"]
    with plot.house_style({"font.size": 17}):
        assert matplotlib.rcParams["font.size"] == 17
        assert matplotlib.rcParams["axes.titlesize"] == plot.HOUSE_STYLE["axes.titlesize"]
    assert matplotlib.rcParams["font.size"] == before


def test_palette_is_okabe_ito():
    for colour in list(plot.SITE_COLOURS.values()) + list(plot.AGENT_COLOURS.values()):
        assert colour in plot.OKABE_ITO


def test_event_started_course_is_drawn_at_each_patients_start():
    """A course started by AtThreshold is drawn from the chosen patient's resolved start, in both plots."""
    p = bmdsim.Patient(age=[63, 63], t_score={"femoral_neck": [-1.5, -1.8]})
    zol = bmdsim.Exposure(
        "zoledronic_acid", start=bmdsim.AtThreshold("femoral_neck", -2.0, scan_interval=1), duration=2
    )
    ai = bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)
    traj = bmdsim.simulate(p, bmdsim.Regimen([ai, zol]), years=10, params="consensus")
    starts = traj.exposure_times(zol)[0]
    assert np.all(np.isfinite(starts)) and starts[0] != starts[1]
    for patient in (0, 1):
        ax = plot.plot_regimen(traj, patient=patient)
        bars = [b for b in ax.patches if (b.get_gid() or "").startswith("exposure:zoledronic_acid")]
        assert len(bars) == 1 and bars[0].get_x() == pytest.approx(starts[patient])
        assert bars[0].get_width() == pytest.approx(2.0)
        ax = plot.plot_trajectory(traj, patient=patient)
        band = [t for t in ax.texts if t.get_text() == plot.labels_for()["zoledronic_acid"]]
        assert len(band) == 1 and band[0].get_position()[0] == pytest.approx(starts[patient] + 1.0)
    bare = plot.plot_regimen(bmdsim.Regimen([ai, zol]))
    assert [b.get_gid() for b in bare.patches if b.get_gid()] == ["exposure:aromatase_inhibitor:0"]
