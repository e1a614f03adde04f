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


def test_crossings_of_two_sites_stay_visible_and_zone_names_sit_in_the_margin(traj):
    """Two sites crossing together: hollow markers of distinct shapes; zone and threshold names right of the data."""
    from scipy.optimize import brentq

    def run(hip):
        p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5, "total_hip": hip})
        return bmdsim.simulate(p, traj.regimen, years=15, params="consensus")

    def apart(hip):  # the hip's crossing of -2 minus the femoral neck's
        t = run(hip)
        return t.crossing_time("total_hip", -2.0) - t.crossing_time("femoral_neck", -2.0)

    both = run(brentq(apart, -1.9, -1.1, xtol=1e-12))  # the hip's baseline at which both cross -2 together
    assert both.crossing_time("total_hip", -2.0) == pytest.approx(both.crossing_time("femoral_neck", -2.0), abs=1e-6)
    ax = plot.plot_trajectory(both)
    hip, neck = (_by_gid(ax, "crossing:")[f"crossing:{s}:-2"] for s in ("total_hip", "femoral_neck"))
    assert (hip.get_xdata()[0], hip.get_ydata()[0]) == pytest.approx((neck.get_xdata()[0], neck.get_ydata()[0]))
    assert hip.get_marker() != neck.get_marker()
    assert hip.get_markerfacecolor() == neck.get_markerfacecolor() == "none"  # hollow: neither hides the other
    legend = ax.get_legend()
    assert [h.get_marker() for h in legend.legend_handles] == [plot.SITE_MARKERS[s] for s in both.sites]
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    names = [t for t in ax.texts if (t.get_gid() or "").startswith(("zone_label:", "threshold_label:"))]
    assert {t.get_text() for t in names} == {"normal", "osteopenia", "osteoporosis", "T = -1", "T = -2", "T = -2.5"}
    for t in names:
        assert t.get_window_extent(renderer).x0 >= ax.bbox.x1  # outside the data area
        low, high = ax.get_ylim()
        assert low <= t.xy[1] <= high
    plot.remove_margin_labels(ax)
    assert not [t for t in ax.texts if (t.get_gid() or "").startswith(("zone_label:", "threshold_label:"))]


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
    texts = {t.get_gid(): t.get_text() for t in ax.texts}
    for site in traj.sites:
        assert markers[f"crossing:{site}:-1"].get_xdata()[0] == 0.0  # at or below -1 at baseline
        assert texts[f"crossing_label:{site}:-1"] == "T = -1: at baseline"
        tc = traj.crossing_time(site, -2.5)
        assert markers[f"crossing:{site}:-2.5"].get_xdata()[0] == tc
        assert texts[f"crossing_label:{site}:-2.5"] == f"T = -2.5: {tc:.2f} y"
        assert f"crossing:{site}:-4" not in markers
        assert texts[f"crossing_label:{site}:-4"] == "T = -4: not reached"
        assert markers[f"crossing:{site}:-1"].get_marker() == plot.SITE_MARKERS[site]  # the site's shape
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Lumbar spine", "Femoral neck", "Total hip"]
    assert ax.get_legend_handles_labels()[1] == ["Lumbar spine", "Femoral neck", "Total hip"]


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


# -- one style per regimen, cohorts in comparisons, legends, policies, footnotes -----------------------------------
def test_regimen_keys_and_styles():
    ai = bmdsim.Exposure("aromatase_inhibitor", 0, 5)
    assert plot.regimen_key(None) == plot.regimen_key(bmdsim.Regimen([])) == "natural_loss"
    assert plot.regimen_key(bmdsim.Regimen([ai])) == "ai"
    assert plot.regimen_key(bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 2.5)])) == "ai"
    tam = bmdsim.Exposure("tamoxifen", 0, 2.5)
    assert (
        plot.regimen_key(bmdsim.Regimen([tam, bmdsim.Exposure("aromatase_inhibitor", 2.5, 5)])) == "tamoxifen_then_ai"
    )
    assert plot.regimen_key(bmdsim.Regimen([bmdsim.Exposure("tamoxifen", 0, 5), ai])) is None  # together
    for therapy in ("zoledronic_acid", "denosumab", "oral_bisphosphonate"):
        regimen = bmdsim.Regimen([ai, bmdsim.Exposure(therapy, 0, 2)])
        assert plot.regimen_key(regimen) == f"ai+{therapy}"
        assert plot.regimen_style(regimen)["color"] == plot.AGENT_COLOURS[therapy]
    assert plot.regimen_key(bmdsim.Regimen([bmdsim.Exposure("vibration", 0, 1)])) is None
    styles = list(plot.REGIMEN_STYLES.values())
    assert len({s["color"] for s in styles}) == len({str(s["linestyle"]) for s in styles}) == len(styles)
    with pytest.raises(ValueError, match="unknown regimen style 'aii'; valid keys are: natural_loss, ai"):
        plot.regimen_style("aii")
    with pytest.raises(TypeError, match="regimen must be a bmdsim.Regimen"):
        plot.regimen_key(5)


def test_comparison_styles_each_regimen_the_same_way_in_any_order(traj):
    natural = bmdsim.simulate(traj.patient, None, years=15, params="consensus")
    a = _by_gid(plot.plot_comparison({"AI": traj, "natural": natural}, "femoral_neck"), "series:")
    b = _by_gid(plot.plot_comparison({"natural": natural, "AI": traj}, "femoral_neck"), "series:")
    for name in ("AI", "natural"):
        assert a[f"series:{name}"].get_color() == b[f"series:{name}"].get_color()
        assert a[f"series:{name}"].get_linestyle() == b[f"series:{name}"].get_linestyle()
    assert a["series:AI"].get_color() == plot.REGIMEN_STYLES["ai"]["color"]
    trials = bmdsim.simulate(traj.patient, traj.regimen, years=15, params="trials")  # the same regimen twice
    lines = _by_gid(plot.plot_comparison({"consensus": traj, "trials": trials}, "femoral_neck"), "series:")
    assert lines["series:consensus"].get_color() == lines["series:trials"].get_color()
    assert lines["series:consensus"].get_linestyle() != lines["series:trials"].get_linestyle()


@pytest.fixture(scope="module")
def cohorts():
    ai = bmdsim.Exposure("aromatase_inhibitor", 0, 5)
    return {
        "AI": bmdsim.simulate_cohort(2000, bmdsim.Regimen([ai]), 10, seed=3),
        "AI + zoledronic acid": bmdsim.simulate_cohort(
            2000, bmdsim.Regimen([ai, bmdsim.Exposure("zoledronic_acid", 0, 5)]), 10, seed=3
        ),
    }


def test_comparison_draws_a_cohort_as_its_median_and_band(cohorts, traj):
    cohort = cohorts["AI"]
    ax = plot.plot_comparison({"cohort": cohort, "one woman": traj}, "femoral_neck", percentiles=(10, 90))
    line = _by_gid(ax, "series:")["series:cohort"]
    t = line.get_xdata()
    assert t[0] == 0.0 and t[-1] == cohort.years and len(t) == 121  # monthly
    pct = cohort.t_score_percentiles("femoral_neck", t, q=(10, 50, 90))["t_score"]
    np.testing.assert_array_equal(line.get_ydata(), pct[1])
    band = _by_gid(ax, "series_band:")["series_band:cohort"].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(pct[0].min()) and band.max() == pytest.approx(pct[2].max())
    assert "10th-90th percentile of women" in [t.get_text() for t in ax.get_legend().get_texts()]
    bmd = _by_gid(plot.plot_comparison({"cohort": cohort}, "femoral_neck", kind="bmd"), "series:")["series:cohort"]
    np.testing.assert_allclose(bmd.get_ydata(), cohort.reference.bmd("femoral_neck", pct[1]))
    with pytest.raises(ValueError, match=r"kind 'percent_change' needs trajectories; trajectories\['c'\] is a cohort"):
        plot.plot_comparison({"c": cohort}, "femoral_neck", kind="percent_change")
    with pytest.raises(ValueError, match=r"percentiles must be \(low, high\) with low < high"):
        plot.plot_comparison({"c": cohort}, "femoral_neck", percentiles=(90, 10))


def test_two_cohorts_on_one_axes_have_no_identical_legend_entries(cohorts):
    fig, ax = plt.subplots()
    for cohort in cohorts.values():  # unnamed: the second cohort's entries repeat the first's, shown once
        plot.plot_fraction_crossed(cohort, "femoral_neck", thresholds=(-2.0, -2.5), ax=ax, times=[0, 5, 10])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["T = -2", "T = -2.5", "95 % interval (group size)"]
    fig, ax = plt.subplots()
    for name, cohort in cohorts.items():
        plot.plot_fraction_crossed(cohort, "femoral_neck", -2.5, ax=ax, times=[0, 5, 10], name=name)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["AI: T = -2.5", "95 % interval (group size)", "AI + zoledronic acid: T = -2.5"]
    lines = _by_gid(ax, "fraction:")
    assert lines["fraction:femoral_neck:-2.5:AI"].get_color() == plot.REGIMEN_STYLES["ai"]["color"]
    assert (
        lines["fraction:femoral_neck:-2.5:AI + zoledronic acid"].get_color()
        == plot.REGIMEN_STYLES["ai+zoledronic_acid"]["color"]
    )


def test_figure_legend_is_one_legend_under_the_axes_above_the_footnote(traj):
    natural = bmdsim.simulate(traj.patient, None, years=15, params="consensus")
    fig, axes = plt.subplots(1, 2, figsize=(10, 5), layout="constrained")
    for ax, site in zip(axes, ("lumbar_spine", "femoral_neck"), strict=True):
        plot.plot_comparison({"AI": traj, "natural": natural}, site, ax=ax)
    note = plot.add_footnote(fig, "Sources: x", max_lines=1)
    legend = plot.figure_legend(fig)
    assert not any(ax.get_legend() for ax in axes)
    assert [t.get_text() for t in legend.get_texts()] == ["AI", "natural"]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    assert box.y0 >= note.get_window_extent(renderer).y1 - 1
    for ax in axes:
        assert ax.get_tightbbox(renderer).y0 >= box.y1 - 1
    assert plot.figure_legend(plt.figure()) is None


def test_policy_comparison_draws_the_table(traj):
    pop = bmdsim.cohort.default_population()
    ai = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)])
    policies = [
        bmdsim.Policy("none", rule="none", scan_interval=None),
        bmdsim.Policy("scan 2 y", scan_interval=2.0),
        bmdsim.Policy("all", rule="treat_all", scan_interval=None),
    ]
    table = bmdsim.compare_policies(policies, pop, ai, 10, n=500, seed=1)
    ax = plot.plot_policy_comparison(table, styles={"all": "ai+zoledronic_acid"})
    bars = {p.get_gid(): p for p in ax.patches if p.get_gid()}
    for name, value in zip(table["policy"], table["fraction_patient_years_below"], strict=True):
        assert bars[f"policy:{name}"].get_width() == pytest.approx(100 * value)
    texts = {t.get_gid(): t.get_text() for t in ax.texts}
    assert texts["policy_value:none"] == f"{100 * table['fraction_patient_years_below'][0]:.1f} %"
    assert bars["policy:scan 2 y"].get_hatch() == "//"
    assert tuple(bars["policy:none"].get_facecolor()[:3]) == pytest.approx(
        matplotlib.colors.to_rgb(plot.REGIMEN_STYLES["ai"]["color"])
    )
    assert tuple(bars["policy:all"].get_facecolor()[:3]) == pytest.approx(
        matplotlib.colors.to_rgb(plot.REGIMEN_STYLES["ai+zoledronic_acid"]["color"])
    )
    assert ax.get_xlabel() == plot.LABELS["policy:fraction_patient_years_below"]
    scans = plot.plot_policy_comparison(table, "scans_per_patient")
    assert {t.get_gid(): t.get_text() for t in scans.texts}["policy_value:scan 2 y"] == "6"
    delay = plot.plot_policy_comparison(table, "delay_p50")
    assert {t.get_gid(): t.get_text() for t in delay.texts}["policy_value:none"] == "no data"  # NaN: no bar
    with pytest.raises(ValueError, match="column must be one of"):
        plot.plot_policy_comparison(table, "policy")
    with pytest.raises(ValueError, match="styles has the label 'x'"):
        plot.plot_policy_comparison(table, styles={"x": "ai"})


def test_a_footnote_can_be_held_to_one_line():
    fig = plt.figure(figsize=(4, 3), layout="constrained")
    note = plot.add_footnote(fig, "Sources: short", max_lines=1)
    assert "\n" not in note.get_text()
    with pytest.raises(ValueError, match="needs 3 lines at 4 in wide, more than max_lines = 1"):
        plot.add_footnote(plt.figure(figsize=(4, 3)), "source " * 20, max_lines=1)
