"""Hostile input to the plotting, figure and export functions: a clear TypeError or ValueError, never a deep one.

Every public function of :mod:`bmdsim.plot`, :mod:`bmdsim.figures` and
:mod:`bmdsim.export` checks its arguments before it draws or writes: a bad
argument raises :class:`TypeError` or :class:`ValueError` whose message names
the argument (never a matplotlib error, a ``MemoryError`` or
``std::bad_alloc``), and nothing is written.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from fuzz_api import HOSTILE as FUZZ_HOSTILE  # noqa: E402  (tests/fuzz_api.py, beside this file)

import bmdsim  # noqa: E402
from bmdsim import export, figures, fracture, plot  # noqa: E402

#: Values put in place of one argument: the fuzz suite's pool, plus label-format and mathtext attacks.
HOSTILE = (*FUZZ_HOSTILE, "{threshold:>20000000}", "$\\frac$")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def traj():
    p = bmdsim.Patient(age=63, t_score={"lumbar_spine": -1.2, "femoral_neck": -1.5})
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    return bmdsim.simulate(p, r, years=10)


@pytest.fixture(scope="module")
def cohort():
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    return bmdsim.simulate_cohort(200, r, years=10, seed=1)


@pytest.fixture(scope="module")
def risks(cohort):
    return {"AI": fracture.cohort_relative_risk(cohort, "total_hip", np.linspace(0, 10, 11), "hip")}


@pytest.fixture(scope="module")
def policy_table():
    policies = [
        bmdsim.Policy("none", rule="none", scan_interval=None),
        bmdsim.Policy("scan", scan_interval=2.0),
        bmdsim.Policy("all", rule="treat_all", scan_interval=None),
    ]
    r = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    return bmdsim.compare_policies(policies, bmdsim.cohort.default_population(), r, 10, n=200, seed=1)


def _small_figure():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    return fig


def _targets(traj, cohort, risks, policy_table, tmp_path):
    """``(label, function, valid keyword arguments, arguments to fuzz)``."""
    reg = traj.regimen
    return [
        (
            "plot_trajectory",
            plot.plot_trajectory,
            {"traj": traj},
            ("traj", "sites", "kind", "thresholds", "patient", "ax", "zones", "crossings", "exposures", "labels"),
        ),
        (
            "plot_crossing_times",
            plot.plot_crossing_times,
            {"traj": traj},
            ("traj", "thresholds", "sites", "patient", "ax", "labels"),
        ),
        ("plot_regimen", plot.plot_regimen, {"regimen": reg}, ("regimen", "years", "patient", "ax", "labels")),
        (
            "plot_comparison",
            plot.plot_comparison,
            {"trajectories": {"a": traj}, "site": "femoral_neck"},
            ("trajectories", "site", "kind", "thresholds", "patient", "since", "ax", "zones", "labels", "percentiles"),
        ),
        (
            "plot_comparison (cohort)",
            plot.plot_comparison,
            {"trajectories": {"a": cohort, "b": traj}, "site": "femoral_neck"},
            ("kind", "percentiles"),
        ),
        (
            "plot_fraction_crossed",
            plot.plot_fraction_crossed,
            {"traj": cohort, "site": "femoral_neck", "times": [0.0, 5.0, 10.0]},
            ("traj", "site", "thresholds", "bands", "ax", "labels", "parameter_band", "times", "name"),
        ),
        (
            "plot_relative_risk",
            plot.plot_relative_risk,
            {"risks": risks},
            ("risks", "kind", "band", "note", "ax", "labels", "styles"),
        ),
        (
            "plot_policy_comparison",
            plot.plot_policy_comparison,
            {"table": policy_table},
            ("table", "column", "ax", "labels", "styles"),
        ),
        ("regimen_key", plot.regimen_key, {"regimen": reg}, ("regimen",)),
        ("regimen_style", plot.regimen_style, {"regimen": "ai"}, ("regimen",)),
        ("figure_legend", plot.figure_legend, {"fig": _small_figure()}, ("fig", "ncols", "fontsize")),
        ("remove_margin_labels", plot.remove_margin_labels, {"ax": _small_figure().axes[0]}, ("ax",)),
        (
            "add_footnote",
            plot.add_footnote,
            {"fig": _small_figure(), "note": "x"},
            ("fig", "note", "width", "fontsize", "max_lines"),
        ),
        ("labels_for", plot.labels_for, {}, ("labels",)),
        ("house_style", lambda **kw: plot.house_style(**kw).__enter__(), {}, ("rc",)),
        (
            "figure_bytes",
            lambda **kw: export.figure_bytes(_small_figure(), **kw),
            {"fmt": "png", "dpi": 50},
            ("fmt", "dpi"),
        ),
        (
            "export_figure",
            export.export_figure,
            {"fig": _small_figure(), "path_stem": tmp_path / "e" / "fig", "formats": ["png"], "dpi": 50},
            ("fig", "path_stem", "formats", "caption", "dpi"),
        ),
        (
            "save_figure",
            plot.save_figure,
            {"fig": _small_figure(), "path": str(tmp_path / "s" / "fig.png"), "dpi": 50},
            ("fig", "path", "dpi"),
        ),
        ("check_formats", export.check_formats, {"formats": ["png"]}, ("formats",)),
        ("csv_text", export.csv_text, {"header": ["a"], "rows": [[1.0]]}, ("header", "precision")),
        (
            "educator_figures",
            figures.educator_figures,
            {"names": ("crossing_times",)},
            ("labels", "rc", "scale", "names"),
        ),
        (
            "write_figures",
            figures.write_figures,
            {
                "figures": [figures.CaptionedFigure("f", _small_figure(), "c")],
                "out": tmp_path / "w",
                "formats": ["svg"],
            },
            ("figures", "out", "formats", "dpi", "manifest", "close"),
        ),
    ]


#: Other words that name an argument in an error message (its role or its type).
ALIASES = {
    "traj": ("Trajectory", "CohortResult"),
    "trajectories": ("Trajectory",),
    "regimen": ("Regimen",),
    "fmt": ("format",),
    "formats": ("format",),
    "risks": ("risk",),
    "figures": ("CaptionedFigure",),
    "table": ("compare_policies", "policy", "rule"),
    "styles": ("regimen",),
    "header": ("column",),
    "out": ("folder", "path"),
}


def test_every_hostile_argument_is_refused_clearly_or_drawn(traj, cohort, risks, policy_table, tmp_path, monkeypatch):
    """Replace one argument at a time by each hostile value: the call works, or raises naming the argument."""
    monkeypatch.chdir(tmp_path)  # a hostile string is also a valid relative path: files land here
    failures, cases = [], 0
    for label, func, base, fuzzed in _targets(traj, cohort, risks, policy_table, tmp_path):
        for arg in fuzzed:
            for value in HOSTILE:
                cases += 1
                kwargs = dict(base) | {arg: value}
                names = (arg, *ALIASES.get(arg, ()))
                try:
                    func(**kwargs)
                except (TypeError, ValueError) as exc:
                    if not any(n in str(exc) for n in names):
                        failures.append(f"{label}({arg}={value!r}): unclear: {type(exc).__name__}: {exc}"[:300])
                except Exception as exc:  # noqa: BLE001 - any other failure is the defect looked for
                    failures.append(f"{label}({arg}={value!r}): {type(exc).__name__}: {exc}"[:300])
                finally:
                    plt.close("all")
                    matplotlib.rcdefaults()
                    matplotlib.use("Agg")
    assert cases > 1500
    assert not failures, "\n".join(failures)


# -- the measured failures --------------------------------------------------------------------------------------
def test_a_single_threshold_is_one_threshold(traj):
    ax = plot.plot_trajectory(traj, thresholds=-2.5)
    assert "T = -2.5" in [t.get_text() for t in ax.texts]
    ax = plot.plot_crossing_times(traj, thresholds=-2.0)
    labels = [t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("crossing_label:")]
    assert len(labels) == len(traj.sites) and all(t.startswith("T = -2: ") for t in labels)
    assert plot.check_thresholds(np.float32(-1.5)) == (-1.5,)


@pytest.mark.parametrize(
    ("thresholds", "error", "message"),
    [
        ([], ValueError, "thresholds must hold at least one"),
        ([-2.5, math.nan], ValueError, "thresholds must be finite"),
        ([-25.0], ValueError, r"thresholds must lie in \[-6, 4\] SD, got -25 SD"),
        ([-2.5, -2.5], ValueError, "thresholds must list each T-score once"),
        (np.linspace(-3, 0, 13), ValueError, "at most 12"),
        ("-2.5", TypeError, "thresholds must be a real number"),
        ([[-2.5]], ValueError, "thresholds must be a scalar or a 1-D array"),
    ],
)
def test_bad_thresholds_are_named(traj, thresholds, error, message):
    with pytest.raises(error, match=message):
        plot.plot_crossing_times(traj, thresholds=thresholds)
    assert not plt.get_fignums()  # refused before a figure was made


def test_an_empty_threshold_list_draws_no_threshold_where_that_makes_sense(traj):
    ax = plot.plot_trajectory(traj, thresholds=[])
    assert not [t for t in ax.texts if t.get_text().startswith("T = ")]
    with pytest.raises(ValueError, match="thresholds must hold at least one"):
        plot.plot_fraction_crossed(traj, "femoral_neck", thresholds=())


@pytest.mark.parametrize(
    ("sites", "error", "message"),
    [
        ([], ValueError, "sites must name at least one site; simulated: lumbar_spine, femoral_neck"),
        (["hip"], ValueError, "unknown sites 'hip'; valid values are: lumbar_spine, femoral_neck, total_hip"),
        (["total_hip"], ValueError, "sites 'total_hip' was not simulated"),
        (["femoral_neck", "femoral_neck"], ValueError, "each site once"),
        (5, TypeError, "sites must be a site name or a sequence"),
        ([None], TypeError, "sites must be a string"),
    ],
)
def test_bad_sites_are_named(traj, sites, error, message):
    with pytest.raises(error, match=message):
        plot.plot_trajectory(traj, sites=sites)


def test_one_site_name_is_one_site(traj):
    ax = plot.plot_trajectory(traj, sites="femoral_neck")
    assert [line.get_gid() for line in ax.lines if (line.get_gid() or "").startswith("trajectory:")] == [
        "trajectory:femoral_neck"
    ]


def test_caption_must_be_text_and_nothing_is_written(tmp_path):
    fig = _small_figure()
    with pytest.raises(TypeError, match="caption must be a string, got 5 of type int"):
        export.export_figure(fig, tmp_path / "fig", caption=5)
    with pytest.raises(ValueError, match="caption must be at most 10000 characters long"):
        export.export_figure(fig, tmp_path / "fig", caption="x" * 10_001)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_huge_dpi_is_refused_before_any_allocation(tmp_path, fmt):
    fig = _small_figure()
    with pytest.raises(ValueError, match=r"dpi must lie in \[10, 2400\] dots per inch, got 1e\+06"):
        export.figure_bytes(fig, fmt, dpi=1e6)
    with pytest.raises(ValueError, match="dpi must be a finite number"):
        export.export_figure(fig, tmp_path / "fig", formats=[fmt], dpi=math.inf)
    with pytest.raises(TypeError, match="dpi must be a real number"):
        plot.save_figure(fig, str(tmp_path / f"fig.{fmt}"), dpi="300")
    assert list(tmp_path.iterdir()) == []


def test_a_raster_beyond_the_memory_limit_names_the_size_and_the_limit():
    fig = plt.figure(figsize=(40, 20))
    with pytest.raises(ValueError, match=r"a 96000 x 48000 pixel raster \(fig of 40 x 20 in at dpi=2400\) would need "):
        export.figure_bytes(fig, "png", dpi=2400)
    with pytest.raises(ValueError, match=r"limit 1 GiB per array\); lower dpi or make the figure smaller"):
        export.check_figure(fig, 1200)


def test_regimen_years_must_be_a_positive_horizon(traj):
    for years in (-5, 0, 1e300):
        with pytest.raises(ValueError, match="years must be positive and at most 60 years"):
            plot.plot_regimen(traj.regimen, years=years)
    with pytest.raises(TypeError, match="years must be a real number"):
        plot.plot_regimen(traj.regimen, years="10")
    ax = plot.plot_regimen(traj.regimen, years=7.5)
    assert ax.get_xlim() == (0.0, 7.5)


def test_ax_must_be_an_axes(traj):
    fig = plt.figure()
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes or None, got .*Figure"):
        plot.plot_trajectory(traj, ax=fig)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes or None, got 'x'"):
        plot.plot_regimen(traj, ax="x")
    assert plt.get_fignums() == [fig.number]  # nothing else was drawn


@pytest.mark.parametrize(
    ("formats", "error", "message"),
    [
        (["gif"], ValueError, "unknown figure format 'gif'; valid formats are: png, svg, pdf"),
        ([], ValueError, "formats must name at least one figure format"),
        (5, TypeError, "formats must be a sequence of format names"),
        ([None], TypeError, "figure format must be a string"),
        ({"png": 1}, TypeError, "formats must be a sequence"),
    ],
)
def test_formats_come_from_a_fixed_list(tmp_path, formats, error, message):
    with pytest.raises(error, match=message):
        export.export_figure(_small_figure(), tmp_path / "fig", formats=formats)
    assert list(tmp_path.iterdir()) == []


def test_flags_must_be_booleans(traj):
    with pytest.raises(TypeError, match="zones must be True or False, got 'no'"):
        plot.plot_trajectory(traj, zones="no")


def test_patient_must_be_an_index(traj):
    with pytest.raises(ValueError, match=r"patient must lie in \[0, 0\], got 1"):
        plot.plot_crossing_times(traj, patient=1)
    with pytest.raises(TypeError, match="patient must be an integer"):
        plot.plot_trajectory(traj, patient=0.0)
    with pytest.raises(ValueError, match="patient must be 0 for a bare Regimen"):
        plot.plot_regimen(traj.regimen, patient=3)


def test_comparison_checks_every_trajectory(traj):
    with pytest.raises(TypeError, match=r"trajectories\['b'\] must be a bmdsim.Trajectory"):
        plot.plot_comparison({"a": traj, "b": 1}, "femoral_neck")
    with pytest.raises(ValueError, match=r"site 'total_hip' was not simulated in trajectories\['a'\]"):
        plot.plot_comparison({"a": traj}, "total_hip")
    with pytest.raises(ValueError, match=r"since must lie in \[0, 10\) years"):
        plot.plot_comparison({"a": traj}, "femoral_neck", kind="percent_change", since=10)
    with pytest.raises(ValueError, match="at most 20 entries"):
        plot.plot_comparison({str(k): traj for k in range(21)}, "femoral_neck")


def test_cohort_times_must_increase_inside_the_horizon(cohort):
    with pytest.raises(ValueError, match="times must be strictly increasing"):
        plot.plot_fraction_crossed(cohort, "femoral_neck", times=[0.0, 5.0, 5.0])
    with pytest.raises(ValueError, match=r"times must lie in \[0, 10\] years"):
        plot.plot_fraction_crossed(cohort, "femoral_neck", times=[0.0, 11.0])
    with pytest.raises(ValueError, match="times must hold at least two times"):
        plot.plot_fraction_crossed(cohort, "femoral_neck", times=5.0)


def test_relative_risk_arrays_are_checked(risks):
    bad = {"AI": dict(risks["AI"], relative_incidence=risks["AI"]["relative_incidence"][:-1])}
    with pytest.raises(ValueError, match=r"risks\['AI'\]\['relative_incidence'\] has 10 values for 11 times"):
        plot.plot_relative_risk(bad)
    bad = {"AI": dict(risks["AI"], relative_incidence_ci=np.zeros((3, 11)))}
    with pytest.raises(ValueError, match=r"relative_incidence_ci'\] must be 2 rows"):
        plot.plot_relative_risk(bad)
    with pytest.raises(TypeError, match=r"risks\['AI'\] must be the dict"):
        plot.plot_relative_risk({"AI": 5})


# -- labels, styles, figure sets -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("labels", "error", "message"),
    [
        ({"time": 5}, TypeError, r"labels\['time'\] must be a string, got 5"),
        ({"time": "x" * 10_001}, ValueError, r"labels\['time'\] must be at most 10000 characters"),
        ({"time": "$\\frac$"}, ValueError, r"labels\['time'\] = '\$\\\\frac\$' is not valid matplotlib mathtext"),
        ({"threshold": "{threshold.__class__}"}, ValueError, r"may use only the fields \{threshold\}"),
        ({"threshold": "{threshold:>20000000}"}, ValueError, "asks for more than 50 characters"),
        ({"threshold": "T = {thr}"}, ValueError, r"may use only the fields \{threshold\}"),
        ({"threshold": "T = {threshold"}, ValueError, "is not a valid format string"),
        ({"threshold": "{threshold:d}"}, ValueError, "cannot be formatted"),
        ("time", TypeError, "labels must be a mapping"),
    ],
)
def test_label_texts_are_checked_before_drawing(traj, labels, error, message):
    with pytest.raises(error, match=message):
        plot.plot_trajectory(traj, labels=labels)
    assert not plt.get_fignums()


def test_labels_that_are_fine_stay_fine(traj):
    ax = plot.plot_trajectory(traj, labels={"threshold": "T ≤ {threshold:.1f} ($\\sigma$)", "time": "cost: 5 $"})
    assert "T ≤ -2.5 ($\\sigma$)" in [t.get_text() for t in ax.texts]
    ax.figure.canvas.draw()


def test_an_unknown_label_key_is_a_key_error_and_a_value_error(traj):
    with pytest.raises(ValueError, match="unknown label key 'tme'") as info:
        plot.plot_trajectory(traj, labels={"tme": "x"})
    assert isinstance(info.value, KeyError)
    assert str(info.value).startswith("unknown label key 'tme'; valid keys are:")
    with pytest.raises(KeyError, match="unknown label key 5"):
        figures.educator_figures(labels={5: "x"}, names=("crossing_times",))


@pytest.mark.parametrize(
    ("rc", "error", "message"),
    [
        ({"font.sise": 12}, ValueError, r"rc: 'font.sise' is not a matplotlib rcParam"),
        ({"font.size": "huge"}, ValueError, r"rc\['font.size'\] = 'huge' is not allowed"),
        ({"font.size": math.inf}, ValueError, r"rc\['font.size'\] must be finite"),
        ({"font.size": 1e6}, ValueError, r"rc\['font.size'\] must lie in \[-200, 200\] points"),
        ({"figure.figsize": (1e4, 3)}, ValueError, r"rc\['figure.figsize'\] must lie in \[1, 100\] in"),
        ({"backend": "pdf"}, ValueError, r"rc: 'backend' is not a style setting"),
        ([("font.size", 3)], TypeError, "rc must be a mapping of matplotlib rcParams"),
    ],
)
def test_style_overrides_are_checked(rc, error, message):
    with pytest.raises(error, match=message):
        plot.house_style(rc)
    with pytest.raises(error, match=message):
        figures.educator_figures(rc=rc, names=("crossing_times",))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"scale": 0.5}, ValueError, r"scale must lie in \[0.75, 10\], got 0.5"),
        ({"scale": 1e6}, ValueError, r"scale must lie in \[0.75, 10\], got 1e\+06"),
        ({"scale": math.nan}, ValueError, "scale must be a finite number"),
        ({"names": []}, ValueError, "names must name at least one figure"),
        ({"names": ("pie",)}, ValueError, "unknown figure 'pie' in names; valid figures are: ai_vs_natural"),
        ({"names": ("crossing_times", "crossing_times")}, ValueError, "each figure once"),
        ({"names": 5}, TypeError, "names must be a figure name or a sequence"),
        ({"labels": {"sources_prefix": 3}}, TypeError, r"labels\['sources_prefix'\] must be a string"),
    ],
)
def test_educator_set_arguments_are_checked_before_drawing(kwargs, error, message):
    with pytest.raises(error, match=message):
        figures.educator_figures(**kwargs)
    assert not plt.get_fignums()


def test_builder_size_is_checked():
    with pytest.raises(ValueError, match=r"size\[0\] \(width\) must lie in \[1, 100\] in, got 10000 in"):
        figures.crossing_times(size=(1e4, 5.0))
    with pytest.raises(TypeError, match=r"size must be \(width, height\) in inches"):
        figures.crossing_times(size=10)


def test_scenario_figure_stem_must_be_a_file_name():
    from bmdsim.scenario import load_builtin_scenario

    scenario = load_builtin_scenario("ai_withdrawal")
    for stem in ("../up", "a/b", ".hidden", ""):
        with pytest.raises((TypeError, ValueError), match="stem must"):
            figures.scenario_figures(scenario, stem=stem)
    with pytest.raises(TypeError, match="scenario must be a bmdsim.scenario.Scenario"):
        figures.scenario_figures("ai_withdrawal")


def test_write_figures_checks_names_and_captions(tmp_path):
    fig = _small_figure()
    with pytest.raises(ValueError, match="figure name must be a plain file name"):
        figures.write_figures([figures.CaptionedFigure("../x", fig, "c")], tmp_path)
    with pytest.raises(ValueError, match="figure name 'a' appears twice"):
        figures.write_figures([figures.CaptionedFigure("a", fig, "c")] * 2, tmp_path)
    with pytest.raises(TypeError, match="caption of a must be a string"):
        figures.write_figures([figures.CaptionedFigure("a", fig, None)], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_footnote_arguments_are_checked():
    fig = _small_figure()
    with pytest.raises(TypeError, match="note must be a string"):
        plot.add_footnote(fig, 5)
    with pytest.raises(ValueError, match=r"width must lie in \[10, 1000\], got 1"):
        plot.add_footnote(fig, "x", width=1)
    with pytest.raises(ValueError, match=r"fontsize must lie in \[1, 72\] points"):
        plot.add_footnote(fig, "x", fontsize=1e6)
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        plot.add_footnote(fig.axes[0], "x")


def test_save_figure_refuses_an_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"path must end in a figure format, .png, .svg or .pdf"):
        plot.save_figure(_small_figure(), str(tmp_path / "fig.xyz"))
    with pytest.raises(ValueError, match="path must end in a figure format"):
        plot.save_figure(_small_figure(), str(tmp_path / "fig"))
    assert list(tmp_path.iterdir()) == []


def test_a_footnote_taller_than_half_the_figure_is_refused():
    """Too tall a footnote collapses the layout, or makes its solver fail: refused, naming the note."""
    fig = plt.figure(figsize=(3, 1.2), layout="constrained")
    with pytest.raises(ValueError, match=r"note \(600 characters\) needs .* lines at 7.5 pt .* more than 50%"):
        plot.add_footnote(fig, "source " * 85 + "x" * 5)
    assert not fig.texts


def test_a_long_source_label_names_the_label_and_leaves_no_figure_open():
    with pytest.raises(ValueError, match=r"the footnote is labels\['sources_prefix'\], labels\['sources_full'\]"):
        figures.educator_figures(labels={"sources_prefix": "Quellen " * 1200}, names=("crossing_times",))
    assert not plt.get_fignums()


def test_scenario_names_are_drawn_as_written():
    import dataclasses

    from bmdsim.scenario import load_builtin_scenario

    scenario = dataclasses.replace(load_builtin_scenario("ai_withdrawal"), name="costs $\\frac$ and $5")
    (fig,) = figures.scenario_figures(scenario, stem="x")[:1]
    fig.figure.canvas.draw()  # no mathtext error: the title is not parsed as math
    assert fig.figure._suptitle.get_text() == "costs $\\frac$ and $5"


def test_write_figures_refuses_an_empty_folder_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="out must name a folder, got ''"):
        figures.write_figures([figures.CaptionedFigure("a", _small_figure(), "c")], "")
    assert list(tmp_path.iterdir()) == []


def test_text_that_is_not_unicode_is_refused_by_name(traj, tmp_path):
    """A lone surrogate makes matplotlib's font code fail deep inside a draw: refused up front."""
    with pytest.raises(ValueError, match=r"labels\['time'\] must be valid Unicode text"):
        plot.plot_trajectory(traj, labels={"time": "Zeit \ud800"})
    with pytest.raises(ValueError, match="caption must be valid Unicode text"):
        export.export_figure(_small_figure(), tmp_path / "fig", caption="\udfff")
    with pytest.raises(ValueError, match="trajectories label must be valid Unicode text"):
        plot.plot_comparison({"\ud800": traj}, "femoral_neck")
    assert list(tmp_path.iterdir()) == []


def test_error_messages_about_long_texts_stay_short(traj):
    with pytest.raises(ValueError, match="is not valid matplotlib mathtext") as info:
        plot.plot_trajectory(traj, labels={"time": "$" + "\\left(" * 400 + "$"})
    assert len(str(info.value)) < 600


def test_mathtext_is_checked_line_by_line_as_matplotlib_draws_it(traj):
    """Each line is math if it has an even number of $: a bad formula on one line is found, a lone $ is text."""
    with pytest.raises(ValueError, match="is not valid matplotlib mathtext"):
        plot.plot_trajectory(traj, labels={"time": "$\\frac$\nyears $"})
    ax = plot.plot_trajectory(traj, labels={"time": "costs $5\nor $\\frac{1}{2}$ of it"})
    ax.figure.canvas.draw()


def test_policy_tables_are_checked(policy_table):
    with pytest.raises(TypeError, match="table must be the dict of columns bmdsim.compare_policies returns"):
        plot.plot_policy_comparison([1, 2])
    with pytest.raises(ValueError, match=r"table is missing the column\(s\) rule"):
        plot.plot_policy_comparison({k: v for k, v in policy_table.items() if k != "rule"})
    bad = dict(policy_table, fraction_treated=[0.5, "x", 1.0])
    with pytest.raises(TypeError, match=r"table\['fraction_treated'\]\[1\] must be a number"):
        plot.plot_policy_comparison(bad, "fraction_treated")
    bad = dict(policy_table, fraction_treated=[0.5, math.inf, 1.0])
    with pytest.raises(ValueError, match=r"table\['fraction_treated'\] must hold finite numbers"):
        plot.plot_policy_comparison(bad, "fraction_treated")
    with pytest.raises(ValueError, match=r"table\['policy'\] must name each policy once"):
        plot.plot_policy_comparison(dict(policy_table, policy=["a", "a", "b"]))
    with pytest.raises(ValueError, match="unknown regimen style 'x'"):
        plot.plot_policy_comparison(policy_table, styles={"none": "x"})
    assert not plt.get_fignums()


def test_a_figure_label_template_may_use_only_its_fields():
    with pytest.raises(ValueError, match=r"labels\['regimen:ai'\] may use only the fields \{years\}"):
        figures.educator_figures(labels={"regimen:ai": "AI {n}"}, names=("bone_protection",))
    with pytest.raises(ValueError, match=r"labels\['policy:scan'\] may use only the fields"):
        figures.educator_figures(labels={"policy:scan": "{interval.__class__}"}, names=("monitoring_policies",))
    assert not plt.get_fignums()
